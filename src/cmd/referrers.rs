//! `gocore referrers CORE ADDR [--limit N] [--json]`: who points at an object —
//! every heap object (live or garbage) with the slot holding the pointer, and every
//! root (global, goroutine slot, special) — from the object graph's reverse edges
//! ([`gocore::PathLabeler::referrers`]).
//!
//! JSON: `{"target": NODE, "total", "referrers": [NODE + {"via", "offset",
//! "live"}]}` (NODE as in `top`).

use std::process::ExitCode;

use clap::Args as ClapArgs;
use gocore::NodeKind;
use serde_json::json;

use super::top::{with_analysis, Analysis, Edges};
use crate::cli::CoreArgs;
use crate::output::print_json;

/// Options of `gocore referrers`.
#[derive(Debug, ClapArgs)]
pub struct ReferrersArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// An address inside the object (hex, `0x` optional).
    pub addr: String,
    /// Most referrers listed (text and JSON; the total is always given).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

pub fn run(a: &ReferrersArgs) -> anyhow::Result<ExitCode> {
    with_analysis(&a.core, Edges::Referrers, |an: &Analysis<'_, '_>| {
        let n = an.resolve(&a.addr)?;
        let labeler = gocore::PathLabeler::new(an.proc, an.heap, &an.roots, an.typing.as_ref());
        let refs = labeler.referrers(&an.graph, n);
        if a.core.json {
            let list: Vec<_> = refs
                .iter()
                .take(a.limit)
                .map(|r| {
                    let mut v = an.node_json(r.node);
                    v["via"] = json!(r.via);
                    v["offset"] = json!(r.offset);
                    v["live"] = json!(an.dom.is_reachable(r.node));
                    v
                })
                .collect();
            print_json(
                &json!({"target": an.node_json(n), "total": refs.len(), "referrers": list}),
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        println!("{}: {} referrers", an.node_text(n), refs.len());
        for r in refs.iter().take(a.limit) {
            let into = if r.offset != 0 {
                format!(" (→ +{})", r.offset)
            } else {
                String::new()
            };
            match an.graph.kind(r.node) {
                NodeKind::Object(_) => println!(
                    "  {}{}{into}{}",
                    an.node_text(r.node),
                    if r.via.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", r.via)
                    },
                    if an.dom.is_reachable(r.node) {
                        ""
                    } else {
                        "  [garbage]"
                    }
                ),
                _ => println!("  root {}: {}{into}", an.node_text(r.node), r.via),
            }
        }
        if refs.len() > a.limit {
            println!("  … {} more (--limit)", refs.len() - a.limit);
        }
        Ok(ExitCode::SUCCESS)
    })
}
