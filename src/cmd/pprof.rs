//! `gocore pprof -o heap.pb.gz CORE [--json]`: the live heap as a pprof profile whose
//! stacks are retention paths — the root outermost, then the types (and fields)
//! along the shortest path from the roots, the object's type as the leaf — with
//! sample types `objects`, `space` and `retained` ([`gocore::pprof::heap_profile`]).
//! `go tool pprof -top|-tree|-http` reads it. With `--dominators` the stacks are
//! dominator chains instead ([`gocore::pprof::dominator_profile`]): cumulative values
//! are retained sizes.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args as ClapArgs;
use gocore::{Dominators, ObjectGraph, Process, RootSet, Typing};
use serde_json::json;

use crate::cli::CoreArgs;
use crate::output::{human_bytes, print_json};

/// Options of `gocore pprof`.
#[derive(Debug, ClapArgs)]
pub struct PprofArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Where to write the gzip-compressed profile.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Leave out the `retained` sample type (no dominator tree: faster).
    #[arg(long)]
    pub no_retained: bool,
    /// Stacks are dominator chains instead of shortest paths: a frame's cumulative
    /// value is then what it retains, and the flame graph is the dominator tree.
    #[arg(long, conflicts_with = "no_retained")]
    pub dominators: bool,
}

pub fn run(a: &PprofArgs) -> anyhow::Result<ExitCode> {
    super::objects::with_heap(&a.core, |proc: &Process<'_>, heap| {
        // Typing on a thread of its own beside roots, graph and dominators.
        let typing_of = || match Typing::compute(proc, heap) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("gocore: warning: types only from allocation headers: {e}");
                None
            }
        };
        let stages: &[gocore::Stage] = if a.no_retained {
            &[gocore::Stage::Typing]
        } else {
            &[
                gocore::Stage::Typing,
                gocore::Stage::Graph,
                gocore::Stage::Dominators,
            ]
        };
        let phase = crate::progress::phase_over(
            "typing objects, building the object graph and retained sizes",
            heap.progress(),
            stages,
        );
        let (typing, rest) = super::top::beside(typing_of, || {
            let roots = RootSet::collect(proc, heap).context("collecting roots")?;
            for w in roots.warnings() {
                eprintln!("gocore: warning: roots: {w}");
            }
            let dom = if a.no_retained {
                None
            } else {
                match ObjectGraph::build(heap, &roots) {
                    Ok(mut graph) => {
                        // Neither profile reads the graph's edges afterwards, and
                        // the default one only the retained sizes of the tree.
                        let dom = Dominators::compute_releasing(&mut graph, heap);
                        let dom = if a.dominators {
                            Tree::Whole(dom)
                        } else {
                            Tree::Sizes(dom.into_retained())
                        };
                        Some((graph, dom))
                    }
                    Err(e) => {
                        eprintln!("gocore: warning: no retained sizes (object graph: {e})");
                        None
                    }
                }
            };
            anyhow::Ok((roots, dom))
        });
        drop(phase);
        let (roots, dom) = rest?;
        let retained = dom.as_ref().map(|(g, d)| {
            move |id: gocore::ObjId| match d {
                Tree::Whole(d) => d.retained(g.object_node(id)),
                Tree::Sizes(s) => s.retained(g.object_node(id)),
            }
        });
        let phase = crate::progress::phase("walking the heap for the profile");
        let p = match (&dom, a.dominators) {
            (Some((g, Tree::Whole(d))), true) => {
                gocore::pprof::dominator_profile(proc, heap, g, d, typing.as_ref())
            }
            (_, true) => anyhow::bail!("--dominators needs the object graph"),
            _ => gocore::pprof::heap_profile(
                proc,
                heap,
                &roots,
                typing.as_ref(),
                retained
                    .as_ref()
                    .map(|f| f as &(dyn Fn(gocore::ObjId) -> u64 + Sync)),
            ),
        };
        drop(phase);
        for w in &p.warnings {
            eprintln!("gocore: warning: {w}");
        }
        let f =
            File::create(&a.output).with_context(|| format!("creating {}", a.output.display()))?;
        p.profile
            .write_gzip(BufWriter::new(f))
            .with_context(|| format!("writing {}", a.output.display()))?;
        let samples = p.profile.samples().count();
        if a.core.json {
            print_json(&json!({
                "output": a.output.display().to_string(),
                "objects": p.objects,
                "bytes": p.bytes,
                "samples": samples,
                "stacks": if a.dominators { "dominator chains" } else { "shortest paths" },
                "sample_types": if dom.is_some() && !a.dominators {
                    vec!["objects/count", "space/bytes", "retained/bytes"]
                } else {
                    vec!["objects/count", "space/bytes"]
                },
                "default_sample_type": "space",
            }))?;
        } else {
            println!(
                "wrote {}: {} live objects, {} in {samples} {}",
                a.output.display(),
                p.objects,
                human_bytes(p.bytes),
                if a.dominators {
                    "dominator chains"
                } else {
                    "retention paths"
                }
            );
            println!(
                "  go tool pprof -top -sample_index=space {}",
                a.output.display()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The dominator tree, or only its retained sizes when the profile needs nothing
/// else (8 bytes per node less while the heap is walked).
enum Tree {
    Whole(Dominators),
    Sizes(gocore::RetainedSizes),
}
