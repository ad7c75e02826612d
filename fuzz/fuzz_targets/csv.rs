//! Fuzz target: [`lab::fuzz::csv`] on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lab::fuzz::csv(data));
