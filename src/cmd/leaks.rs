//! `gocore leaks CORE [--min-share F] [--json]`: leak suspects in the manner of
//! Eclipse MAT ([`gocore::LeakReport`]) — big retainers and groups of one type with
//! their accumulation point (the collection where they pile up) and the path from a
//! root to it; goroutines parked by the dozen at the same place with what they
//! retain.
//!
//! JSON: `{"live_bytes", "suspects": [{"accumulation": NODE, "retained", "share",
//! "holder": NODE|null, "groups": [{"type", "count", "retained"}], "contents":
//! [{"type", "count", "retained"}], "path": PATH|null, "example": NODE|null}],
//! "goroutines": [{"count", "state", "function", "location", "start_function",
//! "retained", "ids"}]}` (NODE as in `top`, PATH as in `path`).

use std::process::ExitCode;

use clap::Args as ClapArgs;
use gocore::{LeakOptions, LeakReport, PathLabeler};
use serde_json::json;

use super::path::{path_json, print_path};
use super::top::{with_analysis_opts, Analysis, Edges};
use crate::cli::CoreArgs;
use crate::output::{human_bytes, print_json};

/// Options of `gocore leaks`.
#[derive(Debug, ClapArgs)]
pub struct LeaksArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Least share of the live heap a suspect retains.
    #[arg(long, default_value_t = 0.10)]
    pub min_share: f64,
    /// Least number of goroutines parked at one place to report them.
    #[arg(long, default_value_t = 10)]
    pub min_goroutines: usize,
    /// Most suspects.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Skip type propagation (faster on big heaps): groups only of objects whose
    /// allocation header records a type.
    #[arg(long)]
    pub no_types: bool,
}

pub fn run(a: &LeaksArgs) -> anyhow::Result<ExitCode> {
    with_analysis_opts(
        &a.core,
        !a.no_types,
        Edges::None,
        |an: &Analysis<'_, '_>| {
            let opts = LeakOptions {
                min_share: a.min_share,
                min_goroutines: a.min_goroutines,
                max_suspects: a.limit,
                ..Default::default()
            };
            let report = LeakReport::compute(
                an.proc,
                an.heap,
                &an.roots,
                &an.graph,
                &an.dom,
                an.typing.as_ref(),
                &opts,
            );
            for w in &report.warnings {
                eprintln!("gocore: warning: {w}");
            }
            let labeler = PathLabeler::new(an.proc, an.heap, &an.roots, an.typing.as_ref());
            let paths: Vec<_> = report
                .suspects
                .iter()
                .map(|s| s.path.as_ref().map(|p| labeler.label(&an.graph, p)))
                .collect();
            if a.core.json {
                let suspects: Vec<_> = report
                    .suspects
                    .iter()
                    .zip(&paths)
                    .map(|(s, p)| {
                        json!({
                            "accumulation": an.node_json(s.accumulation),
                            "retained": s.retained,
                            "share": s.share,
                            "holder": s.holder.map(|h| an.node_json(h)),
                            "groups": s.groups.iter().map(|g| json!({
                                "type": g.type_name, "count": g.count, "retained": g.retained,
                            })).collect::<Vec<_>>(),
                            "contents": s.contents.iter().map(|g| json!({
                                "type": g.type_name, "count": g.count, "retained": g.retained,
                            })).collect::<Vec<_>>(),
                            "path": p.as_ref().map(path_json),
                            "example": s.example.map(|e| an.node_json(e)),
                        })
                    })
                    .collect();
                let goroutines: Vec<_> = report
                    .goroutines
                    .iter()
                    .map(|g| {
                        json!({
                            "count": g.count, "state": g.state, "function": g.function,
                            "location": g.location, "start_function": g.start_function,
                            "retained": g.retained, "ids": g.ids,
                        })
                    })
                    .collect();
                print_json(&json!({
                    "live_bytes": report.live_bytes,
                    "suspects": suspects,
                    "goroutines": goroutines,
                }))?;
                return Ok(ExitCode::SUCCESS);
            }
            println!("live heap: {}", human_bytes(report.live_bytes));
            if report.suspects.is_empty() {
                println!(
                    "\nno object or type retains {:.0}% of the live heap or more",
                    a.min_share * 100.0
                );
            }
            for (i, (s, p)) in report.suspects.iter().zip(&paths).enumerate() {
                println!(
                    "\nSuspect {}: {} ({:.1}% of the live heap) accumulated in {}",
                    i + 1,
                    human_bytes(s.retained),
                    s.share * 100.0,
                    an.node_text(s.accumulation)
                );
                for g in &s.groups {
                    println!(
                        "  {} instances of {} retain {}",
                        g.count,
                        g.type_name,
                        human_bytes(g.retained)
                    );
                }
                if let Some(h) = s.holder {
                    if h != s.accumulation {
                        println!(
                            "  held by {} retaining {}",
                            an.node_text(h),
                            human_bytes(s.holder_retained)
                        );
                    }
                }
                if !s.contents.is_empty() {
                    println!("  it holds:");
                    for c in &s.contents {
                        println!(
                            "    {:>8} × {:<40} {}",
                            c.count,
                            c.type_name,
                            human_bytes(c.retained)
                        );
                    }
                }
                if let Some(e) = s.example {
                    println!(
                        "  spread over several roots; one of them: {}",
                        an.node_text(e)
                    );
                }
                if let Some(p) = p {
                    println!("  path from a root:");
                    print_path(p, "    ");
                }
            }
            if !report.goroutines.is_empty() {
                println!(
                    "\nGoroutines parked at the same place (≥ {}):",
                    a.min_goroutines
                );
                for g in &report.goroutines {
                    println!(
                        "  {:>6} × [{}] in {} at {} (go {}), retaining {}",
                        g.count,
                        g.state,
                        g.function,
                        g.location,
                        g.start_function,
                        human_bytes(g.retained)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}
