//! Typing evidence read from arm64 code (the counterpart of the amd64 reader in
//! `types/code.rs`). Not implemented yet: no facts are read on arm64.

use std::collections::HashMap;

use super::CodeFacts;

/// Reads the facts from an arm64 text `code` that starts at link address `base`
/// (same arguments as [`super::scan_amd64`]). Reads nothing yet.
pub(super) fn scan_arm64(
    _code: &[u8],
    _base: u64,
    _types: (u64, u64),
    _data: &[(u64, u64)],
    _funcs: &HashMap<&str, u64>,
) -> CodeFacts {
    CodeFacts::default()
}
