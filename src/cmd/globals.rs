//! `gocore globals CORE [--filter PKG_OR_NAME] [--json]`: package variables with
//! their address, size, type and a one-line value summary, from DWARF
//! ([`gocore::Decoder::globals`]); without DWARF, names, addresses and sizes from
//! the symbol table with the pointer words of the data/bss GC masks.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args as ClapArgs;
use gocore::{Decoder, Heap, Limits, Process, Typing};
use serde_json::json;

use crate::cli::CoreArgs;
use crate::output::print_json;

/// Options of `gocore globals`.
#[derive(Debug, ClapArgs)]
pub struct GlobalsArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Only variables whose name contains this (a package, `main.`, or a name).
    #[arg(long, value_name = "PKG_OR_NAME")]
    pub filter: Option<String>,
    /// Nesting levels of values expanded in `--json`.
    #[arg(long, default_value_t = 2)]
    pub depth: u32,
}

pub fn run(a: &GlobalsArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(&a.core)?;
    let proc = Process::new(&core).context("reading the Go runtime model")?;
    for w in proc.warnings() {
        eprintln!("gocore: warning: {w}");
    }
    let heap = match Heap::new(&proc) {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("gocore: warning: no heap (pointer targets not named): {e}");
            None
        }
    };
    let typing = heap.as_ref().and_then(|h| Typing::compute(&proc, h).ok());
    let dec = Decoder::new(&proc, heap.as_ref(), typing.as_ref()).with_limits(Limits {
        depth: a.depth,
        elems: 8,
        string_bytes: 128,
        values: 512,
    });
    if let Some(why) = dec.dwarf_error() {
        eprintln!("gocore: warning: {why}: names and sizes from the symbol table, no types");
    }
    let all = dec.globals();
    let vars: Vec<_> = all
        .iter()
        .filter(|g| {
            a.filter
                .as_ref()
                .is_none_or(|f| g.name.contains(f.as_str()))
        })
        .collect();
    if a.core.json {
        let v: Vec<_> = vars
            .iter()
            .map(|g| {
                json!({
                    "name": g.name,
                    "address": g.addr,
                    "size": g.size,
                    "type": g.type_name,
                    "value": g.value.as_ref().map(super::object::value_json),
                    "pointer_words": g.pointer_words,
                    "note": g.note,
                })
            })
            .collect();
        print_json(&json!({
            "dwarf": dec.has_dwarf(),
            "count": v.len(),
            "globals": v,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        println!("no globals: the executable has neither DWARF nor a symbol table");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>18} {:>8}  {:<40} {:<28} VALUE",
        "ADDRESS", "SIZE", "NAME", "TYPE"
    );
    for g in &vars {
        let value = match &g.value {
            Some(v) => super::object::summary(v, 100),
            None if !g.pointer_words.is_empty() => {
                format!("pointer words at +{:?}", g.pointer_words)
            }
            None => String::new(),
        };
        println!(
            "{:>#18x} {:>8}  {:<40} {:<28} {value}",
            g.addr.unwrap_or(0),
            g.size,
            g.name,
            g.type_name.as_deref().unwrap_or("?"),
        );
    }
    println!("{} of {} globals", vars.len(), all.len());
    Ok(ExitCode::SUCCESS)
}
