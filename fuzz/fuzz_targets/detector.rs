//! The detector on a script of NATS lines and clock moves read from the input (see `check_detector`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetwatch::fuzzing::check_detector(data));
