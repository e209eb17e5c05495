//! The line splitter and classifier on one arbitrary line, decoded and as Fluent Bit escapes it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetwatch::fuzzing::check_line(data));
