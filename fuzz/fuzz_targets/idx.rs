//! Fuzz target: [`lab::fuzz::idx`] on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lab::fuzz::idx(data));
