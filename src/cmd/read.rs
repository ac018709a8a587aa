//! `gocore read CORE ADDR [LEN]`: a hex dump of process memory (`object` is in
//! `object.rs`).

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::cli::ReadArgs;
use crate::output::print_json;

/// Longest dump `read` prints.
const MAX_READ: u64 = 64 << 20;

pub fn run_read(a: &ReadArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(&a.core)?;
    let len = a.len.min(MAX_READ);
    let bytes = core
        .read(a.addr, len as usize)
        .with_context(|| format!("reading {len} bytes at {:#x}", a.addr))?;
    if a.core.json {
        let hexs: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        print_json(&json!({"address": a.addr, "length": len, "hex": hexs}))?;
        return Ok(ExitCode::SUCCESS);
    }
    for (i, line) in bytes.chunks(16).enumerate() {
        let at = a.addr + 16 * i as u64;
        let h: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let asc: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        println!("{at:016x}  {:<47}  |{asc}|", h.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}
