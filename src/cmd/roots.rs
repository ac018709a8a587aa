//! `gocore roots CORE [--limit N] [--json]`: the GC roots — how many of each kind,
//! and the first N with their slot, target and what the target lands in.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args as ClapArgs;
use gocore::{Heap, Process, Root, RootKind, RootSet};
use serde_json::{json, Value};

use crate::cli::CoreArgs;
use crate::output::{hex, print_json};

/// Options of `gocore roots`.
#[derive(Debug, ClapArgs)]
pub struct RootsArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// How many roots to list after the counts.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

pub fn run(a: &RootsArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(&a.core)?;
    let proc = Process::new(&core).context("reading the Go runtime")?;
    for w in proc.warnings() {
        eprintln!("gocore: warning: {w}");
    }
    let heap = Heap::new(&proc).context("indexing the heap")?;
    let roots = RootSet::collect(&proc, &heap).context("collecting roots")?;
    for w in roots.warnings() {
        eprintln!("gocore: warning: {w}");
    }
    let lands = |r: &Root| -> Option<(u64, u64)> {
        let (id, off) = heap.find_object(r.target)?;
        Some((heap.object(id)?.addr, off))
    };
    if a.core.json {
        let counts: serde_json::Map<String, Value> = roots
            .counts()
            .into_iter()
            .map(|(k, n)| (k.to_string(), json!(n)))
            .collect();
        let list: Vec<Value> = roots
            .roots()
            .take(a.limit)
            .map(|r| {
                let mut v = kind_json(&r.kind);
                v["slot"] = json!(hex(r.slot));
                v["target"] = json!(hex(r.target));
                v["object"] = match lands(r) {
                    Some((obj, off)) => json!({"addr": hex(obj), "offset": off}),
                    None => Value::Null,
                };
                v
            })
            .collect();
        print_json(&json!({"total": roots.len(), "counts": counts, "roots": list}))?;
    } else {
        println!("{} roots", roots.len());
        for (k, n) in roots.counts() {
            println!("  {k:<24} {n:>9}");
        }
        if a.limit > 0 && !roots.is_empty() {
            println!();
            println!("{:<18} {:<18} {:<24} WHAT", "SLOT", "TARGET", "OBJECT");
            for r in roots.roots().take(a.limit) {
                let obj = match lands(r) {
                    Some((o, 0)) => hex(o),
                    Some((o, off)) => format!("{}+{off}", hex(o)),
                    None => "-".to_string(),
                };
                println!(
                    "{:<18} {:<18} {:<24} {}",
                    hex(r.slot),
                    hex(r.target),
                    obj,
                    r.kind
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn kind_json(k: &RootKind) -> Value {
    let mut v = json!({"kind": k.name()});
    match k {
        RootKind::Global { symbol, offset } => {
            v["symbol"] = json!(symbol);
            v["offset"] = json!(offset);
        }
        RootKind::Frame {
            goroutine,
            function,
            pc,
            offset,
            conservative,
        }
        | RootKind::StackObject {
            goroutine,
            function,
            pc,
            offset,
            conservative,
        } => {
            v["goroutine"] = json!(goroutine);
            v["function"] = json!(function);
            v["pc"] = json!(hex(*pc));
            v["varp_offset"] = json!(offset);
            v["conservative"] = json!(conservative);
        }
        RootKind::Register {
            goroutine,
            register,
        } => {
            v["goroutine"] = json!(goroutine);
            v["register"] = json!(register);
        }
        RootKind::Context { goroutine } | RootKind::Defer { goroutine } => {
            v["goroutine"] = json!(goroutine);
        }
        RootKind::Finalizer { object }
        | RootKind::FinalizerObjectField { object }
        | RootKind::Cleanup { object }
        | RootKind::WeakHandle { object } => {
            v["for_object"] = json!(hex(*object));
        }
        _ => {}
    }
    v
}
