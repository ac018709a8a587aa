//! See `gocore_fuzz::corefile_bytes` and docs/robustness.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gocore_fuzz::targets::corefile_bytes(data));
