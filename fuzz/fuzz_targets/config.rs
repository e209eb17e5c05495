//! `Config::from_json` on arbitrary bytes; an accepted configuration runs a loop.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetwatch::fuzzing::check_config(data));
