//! `gocore top CORE [--by object|type|root] [--limit N] [--drill ADDR] [--json]`:
//! the largest retainers by retained size (the bytes that would be freed if the
//! object, every object of the type, or the root were gone), from the dominator
//! tree of the live heap ([`gocore::Dominators`]). `--drill ADDR` lists what one
//! object (or `root:N`, `all`) immediately dominates.
//!
//! JSON (`--json`): `{"live_bytes", "live_objects", "objects": [NODE], "types":
//! [{"type", "count", "shallow", "retained", "share"}], "roots": [NODE]}` (only the
//! tables `--by` selects), where NODE is `{"node": "object", "addr", "type", "size",
//! "retained", "share"}`, `{"node": "root", "root", "index", "retained", "share"}`
//! or `{"node": "all", …}`; `--drill`: `{"node": NODE, "shallow", "dominators":
//! [NODE, nearest first], "children_total", "children": [NODE]}`. Addresses are
//! `0x…` strings, sizes bytes (whole slots).
//!
//! Also home of [`with_analysis`], the loader the analysis commands share.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args as ClapArgs;
use gocore::{Dominators, Heap, NodeId, NodeKind, ObjId, ObjectGraph, Process, RootSet, Typing};
use serde_json::{json, Value};

use crate::cli::CoreArgs;
use crate::output::{hex, human_bytes, print_json};

/// Everything the analysis commands need, built once.
pub struct Analysis<'p, 'a> {
    pub proc: &'p Process<'a>,
    pub heap: &'p Heap<'a>,
    pub roots: RootSet,
    pub typing: Option<Typing>,
    pub graph: ObjectGraph,
    pub dom: Dominators,
}

impl Analysis<'_, '_> {
    /// The object's type name: from [`Typing`], the allocation header, or its size
    /// class.
    pub fn type_name(&self, id: ObjId) -> String {
        if let Some(t) = self.typing.as_ref().and_then(|t| t.object_type_name(id)) {
            return t;
        }
        match self.heap.object(id) {
            Some(o) => super::objects::type_label(self.heap, &o),
            None => "?".into(),
        }
    }

    /// A cheap key with the same grouping as [`Analysis::type_name`]: the typing's
    /// type and element count, the header type, or the span's size class.
    pub fn type_key(&self, id: ObjId) -> (u8, u64, u64) {
        if let Some(t) = self.typing.as_ref().and_then(|t| t.object_type(id)) {
            return (0, u64::from(t.ty.0), t.elems.max(1));
        }
        match self.heap.object(id) {
            Some(o) => match self.heap.object_type(&o) {
                Some(t) => (1, t.addr, 0),
                None => {
                    let s = self.heap.span(&o);
                    (2, s.elemsize, u64::from(s.spanclass))
                }
            },
            None => (3, 0, 0),
        }
    }

    /// A node as JSON: object address, type, size, retained; or the root.
    pub fn node_json(&self, n: NodeId) -> Value {
        let retained = self.dom.retained(n);
        let live = self.dom.retained(self.graph.super_root()).max(1);
        let share = retained as f64 / live as f64;
        match self.graph.kind(n) {
            NodeKind::Object(id) => {
                let (addr, size) = self
                    .heap
                    .object(id)
                    .map_or((0, 0), |o| (o.addr, o.size + (o.addr - o.slot)));
                json!({"node": "object", "addr": hex(addr), "type": self.type_name(id),
                       "size": size, "retained": retained, "share": share})
            }
            NodeKind::Root(i) => {
                let g = &self.graph.root_groups()[i as usize];
                json!({"node": "root", "root": g.to_string(), "index": i,
                       "retained": retained, "share": share})
            }
            NodeKind::SuperRoot => json!({"node": "all", "retained": retained, "share": 1.0}),
        }
    }

    /// A node as text: `0xADDR main.T (96 B)` or the root.
    pub fn node_text(&self, n: NodeId) -> String {
        match self.graph.kind(n) {
            NodeKind::Object(id) => match self.heap.object(id) {
                Some(o) => format!("{} {}", hex(o.addr), self.type_name(id)),
                None => format!("object #{}", id.0),
            },
            _ => self.graph.describe(n, self.heap),
        }
    }

    /// Resolves `ADDR` (any address inside an object), `root:N` or `all`.
    pub fn resolve(&self, what: &str) -> anyhow::Result<NodeId> {
        resolve(self.heap, &self.graph, what)
    }
}

/// [`Analysis::resolve`] with only the heap and the graph (before the dominator
/// tree exists).
pub fn resolve(heap: &Heap<'_>, graph: &ObjectGraph, what: &str) -> anyhow::Result<NodeId> {
    if what == "all" {
        return Ok(graph.super_root());
    }
    if let Some(i) = what.strip_prefix("root:") {
        let i: u32 = i.parse().context("root:N needs a number")?;
        if (i as usize) >= graph.root_groups().len() {
            bail!("no root group {i} ({} roots)", graph.root_groups().len());
        }
        return Ok(graph.root_node(i));
    }
    let digits = what
        .strip_prefix("0x")
        .or_else(|| what.strip_prefix("0X"))
        .unwrap_or(what);
    let addr =
        u64::from_str_radix(digits, 16).with_context(|| format!("not a hex address: {what}"))?;
    match heap.find_object(addr) {
        Some((id, _)) => Ok(graph.object_node(id)),
        None => bail!("{addr:#x} is not inside an allocated heap object"),
    }
}

/// Which edges of the object graph a command reads once the dominator tree is
/// built: the others are freed before the tree's largest step (lower peak memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edges {
    /// Neither ([`ObjectGraph::successors`] and [`ObjectGraph::predecessors`] are
    /// empty): `top`, `pprof`, `path` (its paths are searched before the tree,
    /// [`with_analysis_early`]) and `leaks` (its paths are searched forward,
    /// the rows read again from the core: [`gocore::shortest_paths`]).
    None,
    /// The reverse edges (referrers): `referrers`.
    Referrers,
    /// Both directions: `graph`.
    Both,
}

/// Opens the core and builds heap, roots, types, object graph (keeping `edges`) and
/// dominators, with warnings on stderr; then runs `f`.
pub fn with_analysis<R>(
    a: &CoreArgs,
    edges: Edges,
    f: impl FnOnce(&Analysis<'_, '_>) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    with_analysis_opts(a, true, edges, f)
}

/// [`with_analysis`], with type propagation ([`Typing`]) only when `types` (else
/// types come from allocation headers, and objects without one are named by size
/// class).
pub fn with_analysis_opts<R>(
    a: &CoreArgs,
    types: bool,
    edges: Edges,
    f: impl FnOnce(&Analysis<'_, '_>) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    with_analysis_early(a, types, edges, |_, _| Ok(()), |an, ()| f(an))
}

/// [`with_analysis_opts`] with a step `early` that runs on the object graph before
/// the dominator tree is built (all its edges there; the reverse ones, if it builds
/// them, are freed after it unless `edges` keeps them, or by itself): what it gives is passed to
/// `f`. An error from it ends the analysis there.
pub fn with_analysis_early<E, R>(
    a: &CoreArgs,
    types: bool,
    edges: Edges,
    early: impl FnOnce(&Heap<'_>, &mut ObjectGraph) -> anyhow::Result<E>,
    f: impl FnOnce(&Analysis<'_, '_>, E) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let timing = std::env::var_os("GOCORE_TIMING").is_some();
    let t0 = std::time::Instant::now();
    let lap = |what: &str| {
        if timing {
            eprintln!("gocore: timing: {what} at {:?}{}", t0.elapsed(), rss_anon());
        }
    };
    super::objects::with_heap(a, |proc, heap| {
        lap("heap");
        // Typing needs only the heap; roots, the object graph and the dominator tree
        // are built beside it, on the other threads (the graph scan is parallel
        // too). One spinner for all (two would draw over each other).
        let stages: &[gocore::Stage] = if types {
            &[
                gocore::Stage::Typing,
                gocore::Stage::Graph,
                gocore::Stage::Dominators,
            ]
        } else {
            &[gocore::Stage::Graph, gocore::Stage::Dominators]
        };
        let phase = crate::progress::phase_over(
            if types {
                "typing objects, collecting roots, building the object graph and retained sizes"
            } else {
                "collecting roots, building the object graph and retained sizes"
            },
            heap.progress(),
            stages,
        );
        let typing_of = || {
            if !types {
                return None;
            }
            let t = Typing::compute(proc, heap);
            lap("typing");
            match t {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("gocore: warning: types only from allocation headers: {e}");
                    None
                }
            }
        };
        let (typing, rest) = beside(typing_of, || {
            let roots = RootSet::collect(proc, heap).context("collecting roots")?;
            for w in roots.warnings() {
                eprintln!("gocore: warning: roots: {w}");
            }
            lap("roots");
            let mut graph =
                ObjectGraph::build(heap, &roots).context("building the object graph")?;
            for w in graph.warnings() {
                eprintln!("gocore: warning: graph: {w}");
            }
            lap("graph");
            let early = early(heap, &mut graph)?;
            lap("early");
            let dom = match edges {
                Edges::Both => Dominators::compute(&graph, heap),
                Edges::Referrers => {
                    // Built from the forward edges, kept when those are freed.
                    let _ = graph.predecessors(graph.super_root());
                    lap("referrers");
                    Dominators::compute_releasing(&mut graph, heap)
                }
                Edges::None => {
                    graph.release_predecessors();
                    Dominators::compute_releasing(&mut graph, heap)
                }
            };
            lap("dominators");
            anyhow::Ok((roots, graph, dom, early))
        });
        drop(phase);
        let (roots, graph, dom, early) = rest?;
        let r = f(
            &Analysis {
                proc,
                heap,
                roots,
                typing,
                graph,
                dom,
            },
            early,
        );
        lap("report");
        r
    })
}

/// `, RssAnon N kB` from `/proc/self/status` (Linux), for `GOCORE_TIMING`: the
/// anonymous memory held after a phase; empty where there is no such file.
pub fn rss_anon() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .map(|l| format!(", {}", l.split_whitespace().collect::<Vec<_>>().join(" ")))
        })
        .unwrap_or_default()
}

/// Runs `a` on a thread of its own beside `b` (typing beside roots, marking or the
/// object graph: they only share the heap), or `b` then `a` when the library's
/// thread pool has one thread (`--threads 1`, `RAYON_NUM_THREADS=1`, one core) —
/// `b` first, so that its scratch memory (the dominator tree's) is freed before
/// `a`'s result (the typing record) is allocated. A panic in `a` gives
/// `A::default()`.
pub fn beside<A: Send + Default, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    if rayon::current_num_threads() == 1 {
        let b = b();
        return (a(), b);
    }
    std::thread::scope(|s| {
        let a = s.spawn(a);
        let b = b();
        (a.join().unwrap_or_default(), b)
    })
}

/// Options of `gocore top`.
#[derive(Debug, ClapArgs)]
pub struct TopArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Group by: object, type, root, or all three (default).
    #[arg(long, value_parser = ["object", "type", "root", "all"], default_value = "all")]
    pub by: String,
    /// Rows per table.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// List what this node immediately dominates: an address inside an object,
    /// `root:N` (a root group, as numbered in `--by root --json`), or `all`.
    #[arg(long, value_name = "ADDR")]
    pub drill: Option<String>,
    /// Skip type propagation (faster on big heaps): types only from allocation
    /// headers, other objects named by size class.
    #[arg(long)]
    pub no_types: bool,
}

pub fn run(a: &TopArgs) -> anyhow::Result<ExitCode> {
    with_analysis_opts(&a.core, !a.no_types, Edges::None, |an| {
        if let Some(d) = &a.drill {
            return drill(an, a, d);
        }
        let live = an.dom.retained(an.graph.super_root());
        let live_objects = (0..an.graph.object_count())
            .filter(|&i| an.dom.is_reachable(NodeId(i)))
            .count();
        let want = |k: &str| a.by == "all" || a.by == k;
        let objects = want("object").then(|| an.dom.top_objects(&an.graph, a.limit));
        let types = want("type").then(|| {
            let mut rows = an.dom.group_by(&an.graph, |id| Some(an.type_key(id)));
            rows.truncate(a.limit);
            rows.into_iter()
                .map(|r| gocore::GroupRetained {
                    key: an.type_name(r.first),
                    first: r.first,
                    count: r.count,
                    shallow: r.shallow,
                    retained: r.retained,
                })
                .collect::<Vec<_>>()
        });
        let roots = want("root").then(|| {
            let mut r = an.dom.top_roots(&an.graph);
            r.truncate(a.limit);
            r
        });
        if a.core.json {
            let mut v = json!({"live_bytes": live, "live_objects": live_objects});
            if let Some(o) = &objects {
                v["objects"] = o.iter().map(|&(n, _)| an.node_json(n)).collect();
            }
            if let Some(t) = &types {
                v["types"] = t
                    .iter()
                    .map(|r| {
                        json!({"type": r.key, "count": r.count, "shallow": r.shallow,
                                    "retained": r.retained,
                                    "share": r.retained as f64 / live.max(1) as f64})
                    })
                    .collect();
            }
            if let Some(r) = &roots {
                v["roots"] = r.iter().map(|&(n, _)| an.node_json(n)).collect();
            }
            print_json(&v)?;
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "live heap: {} in {live_objects} objects (retained sizes are whole slots)",
            human_bytes(live)
        );
        let pct = |b: u64| 100.0 * b as f64 / live.max(1) as f64;
        if let Some(o) = &objects {
            println!("\nBy object:");
            println!(
                "{:>12} {:>6} {:>10}  {:<18} TYPE",
                "RETAINED", "%", "SIZE", "ADDRESS"
            );
            for &(n, r) in o {
                let id = ObjId(n.0);
                let (addr, size) = an
                    .heap
                    .object(id)
                    .map_or((0, 0), |o| (o.addr, o.size + (o.addr - o.slot)));
                println!(
                    "{r:>12} {:>5.1}% {size:>10}  {:<18} {}",
                    pct(r),
                    hex(addr),
                    an.type_name(id)
                );
            }
        }
        if let Some(t) = &types {
            println!("\nBy type (instances nested in one of their own type counted once):");
            println!(
                "{:>12} {:>6} {:>10} {:>12}  TYPE",
                "RETAINED", "%", "COUNT", "SHALLOW"
            );
            for r in t {
                println!(
                    "{:>12} {:>5.1}% {:>10} {:>12}  {}",
                    r.retained,
                    pct(r.retained),
                    r.count,
                    r.shallow,
                    r.key
                );
            }
        }
        if let Some(r) = &roots {
            println!("\nBy root:");
            println!("{:>12} {:>6} {:>6}  ROOT", "RETAINED", "%", "#");
            for &(n, b) in r {
                let i = match an.graph.kind(n) {
                    NodeKind::Root(i) => i,
                    _ => 0,
                };
                println!(
                    "{b:>12} {:>5.1}% {:>6}  {}",
                    pct(b),
                    format!("root:{i}"),
                    an.graph.describe(n, an.heap)
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn drill(an: &Analysis<'_, '_>, a: &TopArgs, what: &str) -> anyhow::Result<ExitCode> {
    let n = an.resolve(what)?;
    if !an.dom.is_reachable(n) {
        bail!(
            "{} is not reachable from the roots (garbage)",
            an.node_text(n)
        );
    }
    let kids = an.dom.children(n);
    let chain = an.dom.dominator_chain(n);
    if a.core.json {
        let v = json!({
            "node": an.node_json(n),
            "shallow": an.dom.shallow(n),
            "dominators": chain.iter().rev().skip(1).map(|&d| an.node_json(d)).collect::<Vec<_>>(),
            "children_total": kids.len(),
            "children": kids.iter().take(a.limit).map(|&c| an.node_json(NodeId(c))).collect::<Vec<_>>(),
        });
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: retains {} ({} own), {} dominated children",
        an.node_text(n),
        human_bytes(an.dom.retained(n)),
        an.dom.shallow(n),
        kids.len()
    );
    if chain.len() > 1 {
        let up: Vec<String> = chain
            .iter()
            .rev()
            .skip(1)
            .take(6)
            .map(|&d| an.node_text(d))
            .collect();
        println!("dominated by: {}", up.join(" ← "));
    }
    println!("{:>12} {:>10}  NODE", "RETAINED", "SIZE");
    for &c in kids.iter().take(a.limit) {
        let c = NodeId(c);
        println!(
            "{:>12} {:>10}  {}",
            an.dom.retained(c),
            an.dom.shallow(c),
            an.node_text(c)
        );
    }
    if kids.len() > a.limit {
        println!("… {} more (--limit)", kids.len() - a.limit);
    }
    Ok(ExitCode::SUCCESS)
}
