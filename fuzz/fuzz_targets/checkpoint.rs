//! Fuzz target: [`lab::fuzz::checkpoint`] on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lab::fuzz::checkpoint(data));
