//! Fuzz targets for gocore's readers (see docs/robustness.md). The target logic
//! lives in [`targets`], a plain module with no fuzzer dependency, so that the main
//! workspace's `tests/fuzz_regressions.rs` replays `fuzz/regressions/` through the
//! very same code under `cargo test`.
#![forbid(unsafe_code)]

pub mod targets;
