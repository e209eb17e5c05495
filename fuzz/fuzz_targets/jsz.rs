//! The `/jsz` document reader and the storage tracking on arbitrary bytes, in every record shape.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetwatch::fuzzing::check_jsz(data));
