//! See `gocore_fuzz::gocore_patch` and docs/robustness.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gocore_fuzz::targets::gocore_patch(data));
