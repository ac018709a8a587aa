//! `gocore graph CORE [ADDR] [--dominators] [--depth K] [--max-nodes N] [--fanout F]
//! [--json] > g.dot`: Graphviz DOT for a bounded piece of the object graph —
//!
//! * by default the **neighbourhood** of an object: what it points at and who points
//!   at it (objects and roots), breadth first in both directions to depth K;
//! * with `--dominators` the **dominator subtree** of a node: what it alone keeps
//!   alive, the largest children first, to depth K.
//!
//! ADDR is an address inside a heap object, `root:N` (a root group, numbered as in
//! `gocore top --by root --json`) or `all` (the super-root; dominator mode only);
//! without it, the object retaining the most. Nodes are labelled with type, address,
//! size and retained size; at most N nodes and F neighbours per node are drawn, and
//! each node whose neighbours were cut gets a `… M more` node.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args as ClapArgs;
use gocore::{NodeId, NodeKind};
use serde_json::{json, Value};

use super::top::{with_analysis, Analysis, Edges};
use crate::cli::CoreArgs;
use crate::output::{hex, human_bytes, print_json};

/// Options of `gocore graph`.
#[derive(Debug, ClapArgs)]
pub struct GraphArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// The focus: an address inside an object, `root:N`, or `all` (default: the
    /// object with the largest retained size).
    pub addr: Option<String>,
    /// Draw the dominator subtree of the focus instead of its neighbourhood.
    #[arg(long)]
    pub dominators: bool,
    /// How many hops from the focus.
    #[arg(long, default_value_t = 2)]
    pub depth: usize,
    /// Most nodes drawn (besides the `… more` nodes).
    #[arg(long, default_value_t = 60)]
    pub max_nodes: usize,
    /// Most neighbours (or dominated children) drawn per node.
    #[arg(long, default_value_t = 8)]
    pub fanout: usize,
}

/// A drawn subgraph: nodes in order of discovery, edges, and cut counts.
struct Drawing {
    nodes: Vec<NodeId>,
    index: HashMap<u32, usize>,
    edges: Vec<(usize, usize)>,
    /// Per node index: (direction label, how many neighbours were not drawn, their
    /// retained bytes in dominator mode).
    more: Vec<(usize, &'static str, u64, u64)>,
}

impl Drawing {
    fn new() -> Drawing {
        Drawing {
            nodes: Vec::new(),
            index: HashMap::new(),
            edges: Vec::new(),
            more: Vec::new(),
        }
    }

    /// Index of `n`, adding it if there is room.
    fn add(&mut self, n: NodeId, max: usize) -> Option<(usize, bool)> {
        if let Some(&i) = self.index.get(&n.0) {
            return Some((i, false));
        }
        if self.nodes.len() >= max {
            return None;
        }
        let i = self.nodes.len();
        self.nodes.push(n);
        self.index.insert(n.0, i);
        Some((i, true))
    }
}

pub fn run(a: &GraphArgs) -> anyhow::Result<ExitCode> {
    with_analysis(&a.core, Edges::Both, |an| {
        // An address in no object found nothing (exit code 1, as `gocore object`).
        if let Some(s) = a
            .addr
            .as_deref()
            .filter(|s| *s != "all" && !s.starts_with("root:"))
        {
            let digits = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s);
            if let Ok(addr) = u64::from_str_radix(digits, 16) {
                if an.heap.find_object(addr).is_none() {
                    eprintln!("gocore: {addr:#x} is not inside an allocated heap object");
                    return Ok(ExitCode::from(crate::exit::NOT_FOUND));
                }
            }
        }
        let focus = match &a.addr {
            Some(s) => an.resolve(s)?,
            None => match an.dom.top_objects(&an.graph, 1).first() {
                Some(&(n, _)) => n,
                None => bail!("no live heap object to draw"),
            },
        };
        if !a.dominators && focus == an.graph.super_root() {
            bail!("`all` has no neighbourhood to draw; use --dominators or an address");
        }
        let max = a.max_nodes.max(1);
        let d = if a.dominators {
            dominator_subtree(an, focus, a.depth, max, a.fanout)
        } else {
            neighbourhood(an, focus, a.depth, max, a.fanout)
        };
        if a.core.json {
            print_json(&to_json(an, &d, focus, a.dominators))?;
        } else {
            print!("{}", to_dot(an, &d, focus, a.dominators));
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn neighbourhood(
    an: &Analysis<'_, '_>,
    focus: NodeId,
    depth: usize,
    max: usize,
    fanout: usize,
) -> Drawing {
    let g = &an.graph;
    let sup = g.super_root();
    let mut d = Drawing::new();
    let mut queue = VecDeque::new();
    if let Some((i, _)) = d.add(focus, max) {
        queue.push_back((i, 0usize));
    }
    while let Some((i, k)) = queue.pop_front() {
        if k >= depth {
            continue;
        }
        let n = d.nodes[i];
        let out: Vec<NodeId> = g
            .successors(n)
            .iter()
            .map(|&x| NodeId(x))
            .filter(|&x| x != sup)
            .collect();
        let inn: Vec<NodeId> = g.referrers(n).filter(|&x| x != sup).collect();
        for (list, label) in [(out, "referents"), (inn, "referrers")] {
            let mut cut = 0u64;
            for (j, &m) in list.iter().enumerate() {
                let added = if j < fanout { d.add(m, max) } else { None };
                match added {
                    Some((mi, new)) => {
                        if new {
                            queue.push_back((mi, k + 1));
                        }
                    }
                    None => cut += 1,
                }
            }
            if cut > 0 {
                d.more.push((i, label, cut, 0));
            }
        }
    }
    // Every pointer between drawn nodes.
    for (i, &n) in d.nodes.iter().enumerate() {
        for &m in g.successors(n) {
            if let Some(&j) = d.index.get(&m) {
                d.edges.push((i, j));
            }
        }
    }
    d
}

fn dominator_subtree(
    an: &Analysis<'_, '_>,
    focus: NodeId,
    depth: usize,
    max: usize,
    fanout: usize,
) -> Drawing {
    let mut d = Drawing::new();
    let mut queue = VecDeque::new();
    if let Some((i, _)) = d.add(focus, max) {
        queue.push_back((i, 0usize));
    }
    while let Some((i, k)) = queue.pop_front() {
        let n = d.nodes[i];
        let children = an.dom.children(n);
        if k >= depth {
            if !children.is_empty() {
                let bytes = children.iter().map(|&c| an.dom.retained(NodeId(c))).sum();
                d.more.push((i, "dominated", children.len() as u64, bytes));
            }
            continue;
        }
        let (mut cut, mut cut_bytes) = (0u64, 0u64);
        for (j, &c) in children.iter().enumerate() {
            let c = NodeId(c);
            let added = if j < fanout { d.add(c, max) } else { None };
            match added {
                Some((ci, _)) => {
                    d.edges.push((i, ci));
                    queue.push_back((ci, k + 1));
                }
                None => {
                    cut += 1;
                    cut_bytes += an.dom.retained(c);
                }
            }
        }
        if cut > 0 {
            d.more.push((i, "dominated", cut, cut_bytes));
        }
    }
    d
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn label(an: &Analysis<'_, '_>, n: NodeId) -> String {
    let retained = an.dom.retained(n);
    match an.graph.kind(n) {
        NodeKind::Object(id) => {
            let (addr, size) = an
                .heap
                .object(id)
                .map_or((0, 0), |o| (o.addr, o.size + (o.addr - o.slot)));
            format!(
                "{}\n{}\n{} B, retains {}",
                an.type_name(id),
                hex(addr),
                size,
                human_bytes(retained)
            )
        }
        _ if retained == 0 => an.graph.describe(n, an.heap),
        _ => format!(
            "{}\nretains {}",
            an.graph.describe(n, an.heap),
            human_bytes(retained)
        ),
    }
}

fn to_dot(an: &Analysis<'_, '_>, d: &Drawing, focus: NodeId, dominators: bool) -> String {
    let mut s = String::new();
    let title = format!(
        "{} of {}",
        if dominators {
            "dominator subtree"
        } else {
            "neighbourhood"
        },
        an.node_text(focus)
    );
    let _ = writeln!(s, "digraph gocore {{");
    let _ = writeln!(
        s,
        "  graph [rankdir=LR, labelloc=t, label={}];",
        quote(&title)
    );
    let _ = writeln!(
        s,
        "  node [shape=box, fontname=\"monospace\", fontsize=10];"
    );
    for (i, &n) in d.nodes.iter().enumerate() {
        let mut attrs = format!("label={}", quote(&label(an, n)));
        if !matches!(an.graph.kind(n), NodeKind::Object(_)) {
            attrs.push_str(", shape=ellipse");
        }
        if n == focus {
            attrs.push_str(", style=\"filled,bold\", fillcolor=lightyellow");
        } else if !matches!(an.graph.kind(n), NodeKind::Object(_)) {
            attrs.push_str(", style=filled, fillcolor=lightgrey");
        }
        let _ = writeln!(s, "  n{i} [{attrs}];");
    }
    for &(i, j) in &d.edges {
        let _ = writeln!(s, "  n{i} -> n{j};");
    }
    for (k, &(i, what, count, bytes)) in d.more.iter().enumerate() {
        let text = if bytes > 0 {
            format!("… {count} more {what} ({})", human_bytes(bytes))
        } else {
            format!("… {count} more {what}")
        };
        let _ = writeln!(s, "  more{k} [label={}, shape=plaintext];", quote(&text));
        if what == "referrers" {
            let _ = writeln!(s, "  more{k} -> n{i} [style=dashed];");
        } else {
            let _ = writeln!(s, "  n{i} -> more{k} [style=dashed];");
        }
    }
    let _ = writeln!(s, "}}");
    s
}

fn to_json(an: &Analysis<'_, '_>, d: &Drawing, focus: NodeId, dominators: bool) -> Value {
    let nodes: Vec<Value> = d
        .nodes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut v = an.node_json(n);
            v["id"] = json!(i);
            v["focus"] = json!(n == focus);
            v
        })
        .collect();
    let edges: Vec<Value> = d.edges.iter().map(|&(i, j)| json!([i, j])).collect();
    let more: Vec<Value> = d
        .more
        .iter()
        .map(|&(i, what, count, bytes)| {
            json!({"node": i, "what": what, "count": count, "retained": bytes})
        })
        .collect();
    json!({
        "mode": if dominators { "dominators" } else { "neighbourhood" },
        "focus": an.node_json(focus),
        "nodes": nodes,
        "edges": edges,
        "more": more,
    })
}
