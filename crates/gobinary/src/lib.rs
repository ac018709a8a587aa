//! `gobinary`: what a Go binary says about itself, with no core and no DWARF needed.
#![forbid(unsafe_code)]
