//! See `gocore_fuzz::gobinary_patch` and docs/robustness.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gocore_fuzz::targets::gobinary_patch(data));
