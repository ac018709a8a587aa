//! `gocore path CORE ADDR [--limit N] [--json]`: why an object is alive — a
//! shortest path to it from each distinct root (a global variable, a goroutine, a
//! finalizer …), nearest roots first, each hop named by field, index or map key
//! where types are known ([`gocore::paths_to`], [`gocore::PathLabeler`]).
//!
//! JSON: `{"target": NODE (see `top`), "reachable", "paths": [PATH]}`, PATH being
//! `{"root", "root_kind", "root_label", "root_slot", "goroutine", "function",
//! "text", "elided", "elided_after", "steps": [{"addr", "offset", "via", "type",
//! "size"}]}`.

use std::process::ExitCode;

use clap::Args as ClapArgs;
use gocore::{LabelledPath, PathLabeler, RootKind};
use serde_json::{json, Value};

use super::top::{resolve, with_analysis_early, Analysis, Edges};
use crate::cli::CoreArgs;
use crate::output::{hex, human_bytes, print_json};

/// Options of `gocore path`.
#[derive(Debug, ClapArgs)]
pub struct PathArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// An address inside the object (hex, `0x` optional).
    pub addr: String,
    /// Most paths (one per distinct root).
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
}

/// A labelled path as JSON (shared with `leaks`).
pub fn path_json(p: &LabelledPath) -> Value {
    let root_kind = p.root_slot.as_ref().map(|r| r.kind.name());
    let (goroutine, function) = match p.root_slot.as_ref().map(|r| &r.kind) {
        Some(RootKind::Frame {
            goroutine,
            function,
            ..
        })
        | Some(RootKind::StackObject {
            goroutine,
            function,
            ..
        }) => (Some(*goroutine), Some(function.clone())),
        _ => (None, None),
    };
    json!({
        "root": p.root.to_string(),
        "root_kind": root_kind,
        "root_label": p.root_label,
        "root_slot": p.root_slot.as_ref().map(|r| hex(r.slot)),
        "goroutine": goroutine,
        "function": function,
        "text": p.to_string(),
        "elided": p.elided,
        "elided_after": p.elided_after,
        "steps": p.steps.iter().map(|s| json!({
            "addr": hex(s.addr),
            "offset": s.offset,
            "via": s.via,
            "type": s.type_name,
            "size": s.size,
        })).collect::<Vec<_>>(),
    })
}

/// A labelled path as indented text lines.
pub fn print_path(p: &LabelledPath, indent: &str) {
    println!("{indent}{}", p.root_label);
    for (i, s) in p.steps.iter().enumerate() {
        if p.elided > 0 && i as u64 == p.elided_after {
            println!("{indent}  … {} hops left out …", p.elided);
        }
        let off = if s.offset != 0 {
            format!("+{}", s.offset)
        } else {
            String::new()
        };
        let via = if s.via.is_empty() { "" } else { s.via.as_str() };
        println!(
            "{indent}  {via:<24} → {}{off} {} ({} B)",
            hex(s.addr),
            s.type_name.as_deref().unwrap_or("?"),
            s.size
        );
    }
}

pub fn run(a: &PathArgs) -> anyhow::Result<ExitCode> {
    // The paths are searched before the dominator tree is built, so that the
    // reverse edges they need are freed before it (lower peak memory) — and
    // before the paths are traced (one may be millions of nodes long).
    let early = |heap: &gocore::Heap<'_>, graph: &mut gocore::ObjectGraph| {
        let n = resolve(heap, graph, &a.addr)?;
        anyhow::Ok((n, gocore::paths_to_releasing(graph, n, a.limit)))
    };
    with_analysis_early(
        &a.core,
        true,
        Edges::None,
        early,
        |an: &Analysis<'_, '_>, (n, found)| {
            let labeler = PathLabeler::new(an.proc, an.heap, &an.roots, an.typing.as_ref());
            let paths: Vec<LabelledPath> =
                found.iter().map(|p| labeler.label(&an.graph, p)).collect();
            let reachable = an.dom.is_reachable(n);
            if a.core.json {
                print_json(&json!({
                    "target": an.node_json(n),
                    "reachable": reachable,
                    "paths": paths.iter().map(path_json).collect::<Vec<_>>(),
                }))?;
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{}: retains {}{}",
                an.node_text(n),
                human_bytes(an.dom.retained(n)),
                if reachable {
                    ""
                } else {
                    " — not reachable from any root (garbage)"
                }
            );
            for (i, p) in paths.iter().enumerate() {
                println!(
                    "\npath {} ({} hops) from {}:",
                    i + 1,
                    p.steps.len() as u64 + p.elided,
                    p.root
                );
                print_path(p, "  ");
            }
            if paths.len() == a.limit {
                println!("\n(more roots may reach it: --limit)");
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}
