//! `gocore breakdown CORE [--json]`: where every mapped byte goes — live heap,
//! garbage, free slots and pages, stacks, runtime metadata, the executable, other
//! files, thread stacks — and how that agrees with the runtime's own counters.

use std::io::{self, Write};
use std::process::ExitCode;

use gocore::{Breakdown, BreakdownCheck, BreakdownNode, Reachability, RootSet};
use serde_json::{json, Value};

use crate::cli::CoreArgs;
use crate::output::{human_bytes, print_json};

pub fn run(a: &CoreArgs) -> anyhow::Result<ExitCode> {
    super::objects::with_heap(a, |proc, heap| {
        // Without reachability the objects are not split into live and garbage.
        let reach = match RootSet::collect(proc, heap)
            .and_then(|roots| Reachability::compute(proc, heap, roots.roots()))
        {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("gocore: warning: reachability: {e}");
                None
            }
        };
        let b = Breakdown::compute(proc, heap, reach.as_ref());
        for w in &b.warnings {
            eprintln!("gocore: warning: breakdown: {w}");
        }
        if a.json {
            print_json(&breakdown_json(&b))?;
        } else {
            print_text(&b)?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The breakdown as JSON: `{"total", "tree", "checks", "counters", "warnings"}`.
pub fn breakdown_json(b: &Breakdown) -> Value {
    let c = &b.counters;
    json!({
        "total": b.root.bytes,
        "tree": node_json(&b.root),
        "checks": b.checks.iter().map(check_json).collect::<Vec<_>>(),
        "counters": {
            "page_size": c.page_size,
            "pages_in_use": c.pages_in_use,
            "heap_in_use": c.heap_in_use,
            "heap_free": c.heap_free,
            "heap_released": c.heap_released,
            "mapped_ready": c.mapped_ready,
            "in_heap": c.in_heap,
            "in_stacks": c.in_stacks,
            "in_work_bufs": c.in_work_bufs,
            "in_ptr_scalar_bits": c.in_ptr_scalar_bits,
            "committed": c.committed,
            "off_heap": c.off_heap,
            "mspan_in_use": c.mspan_in_use,
            "mcache_in_use": c.mcache_in_use,
        },
        "warnings": b.warnings,
    })
}

fn node_json(n: &BreakdownNode) -> Value {
    let mut v = json!({"name": n.name, "bytes": n.bytes});
    if !n.children.is_empty() {
        v["children"] = Value::Array(n.children.iter().map(node_json).collect());
    }
    v
}

fn check_json(c: &BreakdownCheck) -> Value {
    json!({
        "name": c.name,
        "ours": c.ours,
        "runtime": c.runtime,
        "tolerance": c.tolerance,
        "at_most": c.at_most,
        "ok": c.ok(),
    })
}

fn print_text(b: &Breakdown) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let total = b.root.bytes.max(1);
    let mut rows = Vec::new();
    b.root.walk(&mut |depth, n| {
        // Empty leaves say nothing.
        if n.bytes == 0 && n.children.is_empty() && depth > 1 {
            return;
        }
        rows.push((depth, n.name.clone(), n.bytes));
    });
    writeln!(out, "{:>14} {:>10} {:>6}  what", "bytes", "", "%")?;
    for (depth, name, bytes) in rows {
        let pct = bytes as f64 * 100.0 / total as f64;
        writeln!(
            out,
            "{bytes:>14} {:>10} {pct:>6.2}  {:indent$}{name}",
            human_bytes(bytes),
            "",
            indent = 2 * depth
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "cross-checks against the runtime's counters in the core:"
    )?;
    for c in &b.checks {
        let (runtime, verdict) = match c.runtime {
            Some(r) => (r.to_string(), if c.ok() { "ok" } else { "MISMATCH" }),
            None => ("unreadable".to_string(), "-"),
        };
        writeln!(
            out,
            "  {verdict:>8}  {:>12} vs {runtime:>12}  {}",
            c.ours, c.name
        )?;
    }
    if !b.counters.off_heap.is_empty() {
        let parts: Vec<String> = b
            .counters
            .off_heap
            .iter()
            .map(|(k, v)| format!("{k} {}", human_bytes(*v)))
            .collect();
        writeln!(
            out,
            "runtime off-heap counters (part of the unattributed memory): {}",
            parts.join(", ")
        )?;
    }
    out.flush()
}
