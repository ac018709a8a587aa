//! `gocore`: the Go runtime model over a core dump.
//!
//! * [`layout`]: sizes, field offsets and constants of runtime structures for the Go
//!   release (and experiments) that built a binary — from its DWARF, or from tables
//!   generated from reference builds.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod layout;
