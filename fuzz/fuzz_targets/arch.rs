//! Fuzz target: [`lab::fuzz::arch`] on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lab::fuzz::arch(data));
