//! Record helpers and the JSON scanner on arbitrary bytes; an alert is only ever added as one member.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetwatch::fuzzing::check_record(data));
