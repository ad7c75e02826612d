//! Fuzz target: [`lab::fuzz::config`] on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lab::fuzz::config(data));
