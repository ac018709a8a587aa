//! `gocore`: the Go runtime model over a core dump.
#![forbid(unsafe_code)]
