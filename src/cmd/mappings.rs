//! `gocore mappings CORE`: every mapping and where its bytes come from.

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::cli::CoreArgs;
use crate::output::{hex, human_bytes, print_json};

pub fn run(a: &CoreArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(a)?;
    if a.json {
        let maps: Vec<Value> = core.mappings().iter().map(mapping_json).collect();
        print_json(&Value::Array(maps))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>18} {:>18} {:>10} perm {:>10} {:>10} {:>10} {:>10} {:>10}  file",
        "start", "end", "size", "core", "from file", "zero", "reserved", "missing"
    );
    for m in core.mappings() {
        let file = match (m.path(), m.file_offset()) {
            (Some(p), Some(off)) => format!("{} @{off:#x}", p.display()),
            (Some(p), None) => p.display().to_string(),
            _ => String::new(),
        };
        println!(
            "{:>18} {:>18} {:>10} {}  {:>10} {:>10} {:>10} {:>10} {:>10}  {file}",
            hex(m.start()),
            hex(m.end()),
            human_bytes(m.len()),
            m.perms(),
            human_bytes(m.bytes_in_core()),
            human_bytes(m.bytes_from_file()),
            human_bytes(m.bytes_zero()),
            human_bytes(m.bytes_no_access()),
            human_bytes(m.bytes_missing()),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One mapping as JSON; shared with `overview --json`.
pub fn mapping_json(m: &corefile::Mapping) -> Value {
    json!({
        "start": m.start(),
        "end": m.end(),
        "size": m.len(),
        "perms": m.perms().to_string(),
        "path": m.path().map(|p| p.display().to_string()),
        "offset": m.file_offset(),
        "found_file": m.found_file().map(|p| p.display().to_string()),
        "bytes_in_core": m.bytes_in_core(),
        "bytes_from_file": m.bytes_from_file(),
        "bytes_zero": m.bytes_zero(),
        "bytes_no_access": m.bytes_no_access(),
        "bytes_missing": m.bytes_missing(),
    })
}
