//! Leak suspects, in the manner of Eclipse MAT's "Leak Suspects" report.
//!
//! [`LeakReport::compute`] looks at the [dominator tree](crate::Dominators) for:
//!
//! * **big single retainers**: the topmost objects (those right under a root) that
//!   retain at least [`LeakOptions::min_share`] of the live heap. From each, the
//!   report descends while one child holds most (80%) of what its parent retains —
//!   `gServer` → the `Server` → its map — and stops where the memory spreads out
//!   among many children, or at the head of a chain of one type (a linked list):
//!   the **accumulation point**, typically the collection
//!   (map, slice backing array, list head) where objects pile up;
//! * **groups of one type** (other than maps' own storage) whose instances together
//!   retain at least `min_share`
//!   (each instance counted once even when nested in another of its type): their
//!   accumulation point is the deepest dominator holding 80% of what they retain
//!   (the map's buckets, say), or the super-root when they are spread over roots;
//! * **goroutine leaks**: at least [`LeakOptions::min_goroutines`] goroutines in the
//!   same state at the same place (top user frame, function and line, and start
//!   function), with what they retain together.
//!
//! An accumulation point inside a map's storage (buckets, Swiss groups, tables,
//! directory) is reported as the map header above it, and its contents are read
//! through that storage (the values the map holds). Suspects with the same
//! accumulation point are merged; they are sorted by what the accumulation point
//! retains. A suspect carries the nodes needed to print it — a shortest
//! path from a root to the accumulation point ([`shortest_paths`](crate::shortest_paths),
//! which reads the rows again from the core when the graph's edges were freed,
//! so the report needs no reverse edges) and what accumulates there by type —
//! and a reader labels them with
//! [`PathLabeler`](crate::PathLabeler).
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let roots = gocore::RootSet::collect(&proc, &heap)?;
//! let typing = gocore::Typing::compute(&proc, &heap).ok();
//! let graph = gocore::ObjectGraph::build(&heap, &roots)?;
//! let dom = gocore::Dominators::compute(&graph, &heap);
//! let report = gocore::LeakReport::compute(&proc, &heap, &roots, &graph, &dom, typing.as_ref(),
//!     &gocore::LeakOptions::default());
//! let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, typing.as_ref());
//! for s in &report.suspects {
//!     println!("{} bytes ({:.0}%) at {}", s.retained, s.share * 100.0,
//!         graph.describe(s.accumulation, &heap));
//!     if let Some(p) = &s.path { println!("  {}", labeler.label(&graph, p)); }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;

use crate::dominators::{Dominators, Subtrees};
use crate::graph::{NodeId, ObjectGraph, RootGroup};
use crate::heap::{Heap, ObjId};
use crate::paths::shortest_paths;
use crate::process::Process;
use crate::roots::RootSet;
use crate::types::Typing;

/// Share of a parent's retained bytes a child must hold to be descended into, and
/// share of a group's retained bytes its accumulation point must hold.
const DOMINANT: f64 = 0.8;
/// Deepest dominator chain walked up from a group's instance.
const MAX_CLIMB: usize = 256;
/// Rows of [`Suspect::contents`] kept.
const MAX_CONTENTS: usize = 8;
/// Goroutine ids kept per [`GoroutineLeak`].
const MAX_IDS: usize = 1000;

/// Thresholds of [`LeakReport::compute`].
///
/// ```
/// let o = gocore::LeakOptions { min_share: 0.2, ..Default::default() };
/// assert_eq!(o.min_goroutines, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakOptions {
    /// Least share of the live heap a suspect retains (default 0.10).
    pub min_share: f64,
    /// Least number of instances of a type group (default 10).
    pub min_instances: u64,
    /// Most suspects reported (default 10).
    pub max_suspects: usize,
    /// Least number of goroutines parked at the same place (default 10).
    pub min_goroutines: usize,
}

impl Default for LeakOptions {
    fn default() -> Self {
        LeakOptions {
            min_share: 0.10,
            min_instances: 10,
            max_suspects: 10,
            min_goroutines: 10,
        }
    }
}

/// A type group behind a suspect: `count` top-level instances of `type_name`
/// retaining `retained` bytes.
///
/// ```
/// let g = gocore::TypeGroup { type_name: "main.Session".into(), count: 1460, retained: 1_700_000 };
/// assert_eq!(g.count, 1460);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeGroup {
    /// The type.
    pub type_name: String,
    /// Instances (not nested in one another).
    pub count: u64,
    /// Bytes they retain.
    pub retained: u64,
}

/// One leak suspect. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    /// The topmost big object (right under a root) when the suspect comes from a
    /// single retainer.
    pub holder: Option<NodeId>,
    /// Bytes the holder retains.
    pub holder_retained: u64,
    /// Type groups accumulating at this point.
    pub groups: Vec<TypeGroup>,
    /// Where the memory piles up (an object, or a root node / the super-root when a
    /// group is spread over roots).
    pub accumulation: NodeId,
    /// Bytes the accumulation point retains (or, for a group spread over roots,
    /// what the group retains).
    pub retained: u64,
    /// `retained` over the live heap.
    pub share: f64,
    /// What the accumulation point dominates, by type: (type, objects, retained),
    /// largest first.
    pub contents: Vec<TypeGroup>,
    /// A shortest path from a root to the accumulation point (root node first) —
    /// or, when a group is spread over roots, to one of its instances
    /// ([`Suspect::example`]).
    pub path: Option<Vec<NodeId>>,
    /// For a group spread over roots (no object accumulation point), its first
    /// instance in dominator-tree preorder.
    pub example: Option<NodeId>,
}

/// Goroutines parked at the same place. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoroutineLeak {
    /// How many.
    pub count: usize,
    /// Their state (`chan receive`, …).
    pub state: String,
    /// The top user frame's function (the innermost non-runtime frame).
    pub function: String,
    /// Its file:line.
    pub location: String,
    /// The function each was started with.
    pub start_function: String,
    /// Their ids, ascending (at most 1000).
    pub ids: Vec<u64>,
    /// Bytes the goroutines retain together (each goroutine's stack roots as one
    /// root group).
    pub retained: u64,
}

/// The leak report. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct LeakReport {
    /// Live heap bytes (what the super-root retains).
    pub live_bytes: u64,
    /// Suspects, largest first.
    pub suspects: Vec<Suspect>,
    /// Goroutine groups, most goroutines first.
    pub goroutines: Vec<GoroutineLeak>,
    /// Problems met (unreadable goroutines).
    pub warnings: Vec<String>,
}

/// Type key of an object: the descriptor address, and how many values it holds
/// (slice backing arrays hold several).
type TypeKey = (u64, u64);

struct Types<'t, 'h, 'a> {
    heap: &'h Heap<'a>,
    typing: Option<&'t Typing>,
}

impl Types<'_, '_, '_> {
    fn key(&self, id: ObjId) -> Option<TypeKey> {
        if let Some(t) = self.typing.and_then(|t| t.object_type(id)) {
            let e = self.typing?.type_entry(t.ty)?;
            return Some((e.addr, t.elems.max(1)));
        }
        let obj = self.heap.object(id)?;
        self.heap.object_type(&obj).map(|t| (t.addr, 0))
    }

    /// Whether two objects have the same type (untyped ones: the same slot size).
    fn same(&self, a: ObjId, b: ObjId) -> bool {
        match (self.key(a), self.key(b)) {
            (Some(x), Some(y)) => x == y,
            (None, None) => {
                let size = |id| self.heap.object(id).map(|o| o.size + (o.addr - o.slot));
                size(a).is_some() && size(a) == size(b)
            }
            _ => false,
        }
    }

    fn name(&self, id: ObjId) -> String {
        if let Some(n) = self.typing.and_then(|t| t.object_type_name(id)) {
            return n;
        }
        match self.heap.object(id) {
            Some(o) => match self.heap.object_type(&o) {
                Some(t) => t.display_name(),
                None => format!("(untyped {} B)", o.size + (o.addr - o.slot)),
            },
            None => "(unknown)".into(),
        }
    }
}

impl LeakReport {
    /// Finds the suspects. `typing` names types (without it only objects whose
    /// allocation header records a type are grouped); `roots` is the root set
    /// `graph` was built from (the suspects' paths are searched forward from it).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let graph = gocore::ObjectGraph::build(&heap, &roots)?;
    /// # let dom = gocore::Dominators::compute(&graph, &heap);
    /// let r = gocore::LeakReport::compute(&proc, &heap, &roots, &graph, &dom, None, &Default::default());
    /// println!("{} suspects", r.suspects.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compute(
        proc: &Process<'_>,
        heap: &Heap<'_>,
        roots: &RootSet,
        graph: &ObjectGraph,
        dom: &Dominators,
        typing: Option<&Typing>,
        opts: &LeakOptions,
    ) -> LeakReport {
        let types = Types { heap, typing };
        let live = dom.retained(graph.super_root());
        let threshold = ((live as f64) * opts.min_share).ceil() as u64;
        let nobj = graph.object_count();
        let mut suspects: Vec<Suspect> = Vec::new();
        // Type groups for step 2, first: `group_by`'s scratch is freed before the
        // subtree counts exist.
        let rows = dom.group_by(graph, |id| types.key(id));
        // The tree's children, walked through its preorder (no children lists);
        // built when first needed (often never: a heap spread over many roots).
        let mut sub = None;

        // 1. Big single retainers: objects right under a root, descended to their
        // accumulation point.
        for (p, &n) in dom.preorder().iter().enumerate() {
            if n >= nobj || dom.retained(NodeId(n)) < threshold.max(1) {
                continue;
            }
            let top = NodeId(n);
            if dom.idom(top).is_some_and(|d| d.0 < nobj) {
                continue;
            }
            let acc = map_header(
                dom,
                &types,
                descend(
                    dom,
                    sub.get_or_insert_with(|| dom.subtrees()),
                    &types,
                    (top, p),
                    threshold.max(1),
                ),
                nobj,
            );
            merge(
                &mut suspects,
                Suspect {
                    holder: Some(top),
                    holder_retained: dom.retained(top),
                    groups: Vec::new(),
                    accumulation: acc,
                    retained: dom.retained(acc),
                    share: 0.0,
                    contents: Vec::new(),
                    path: None,
                    example: None,
                },
            );
        }

        // 2. Type groups.
        for row in rows.iter().take_while(|r| r.retained >= threshold.max(1)) {
            if row.count < opts.min_instances {
                continue;
            }
            let type_name = types.name(row.first);
            // A map's own storage is where values pile up, not what piles up.
            if is_map_internal(&type_name) || is_map_header(&type_name) {
                continue;
            }
            let (acc, acc_bytes) =
                group_accumulation(dom, graph, &|n| types.key(ObjId(n)) == Some(row.key));
            let acc = if acc.0 < nobj {
                map_header(dom, &types, acc, nobj)
            } else {
                acc
            };
            let group = TypeGroup {
                type_name,
                count: row.count,
                retained: row.retained,
            };
            let retained = if acc.0 < nobj {
                dom.retained(acc)
            } else {
                acc_bytes
            };
            merge(
                &mut suspects,
                Suspect {
                    holder: None,
                    holder_retained: 0,
                    groups: vec![group],
                    accumulation: acc,
                    retained,
                    share: 0.0,
                    contents: Vec::new(),
                    path: None,
                    example: (acc.0 >= nobj).then_some(NodeId(row.first.0)),
                },
            );
        }

        suspects.sort_by(|a, b| {
            b.retained
                .cmp(&a.retained)
                .then(a.accumulation.cmp(&b.accumulation))
        });
        suspects.truncate(opts.max_suspects);
        for s in suspects.iter_mut().filter(|s| s.accumulation.0 < nobj) {
            let sub = sub.get_or_insert_with(|| dom.subtrees());
            s.contents = contents(dom, sub, &types, s.accumulation);
        }
        // The paths' search keeps a word a node: not beside the subtree counts.
        drop(sub);
        let targets: Vec<NodeId> = suspects
            .iter()
            .map(|s| match s.example {
                _ if s.accumulation.0 < nobj => s.accumulation,
                Some(e) => e,
                None => graph.super_root(), // no path
            })
            .collect();
        let paths = shortest_paths(heap, roots, graph, &targets);
        for (s, path) in suspects.iter_mut().zip(paths) {
            s.path = path;
            s.share = if live == 0 {
                0.0
            } else {
                s.retained as f64 / live as f64
            };
        }

        let (goroutines, warnings) = goroutine_groups(proc, graph, dom, opts);
        LeakReport {
            live_bytes: live,
            suspects,
            goroutines,
            warnings,
        }
    }
}

/// Adds `s`, or merges it into a suspect with the same accumulation point.
fn merge(suspects: &mut Vec<Suspect>, s: Suspect) {
    if let Some(old) = suspects
        .iter_mut()
        .find(|o| o.accumulation == s.accumulation)
    {
        if old.holder.is_none() {
            old.holder = s.holder;
            old.holder_retained = s.holder_retained;
        }
        old.groups.extend(s.groups);
        old.retained = old.retained.max(s.retained);
        return;
    }
    suspects.push(s);
}

/// From the node `at` (with its preorder position), down the child holding most
/// of the parent's retained bytes while it holds at least [`DOMINANT`] of them and
/// `threshold` bytes — stopping at the head of a chain of one type (a linked list
/// is its head, not its last nodes).
fn descend(
    dom: &Dominators,
    sub: &Subtrees<'_>,
    types: &Types<'_, '_, '_>,
    at: (NodeId, usize),
    threshold: u64,
) -> NodeId {
    let (mut n, mut p) = at;
    loop {
        let r = dom.retained(n);
        // The child retaining most (the lowest node id among equals): the first of
        // `Dominators::children`.
        let Some((q, c)) = sub.children(p).max_by(|a, b| {
            let (ra, rb) = (dom.retained(NodeId(a.1)), dom.retained(NodeId(b.1)));
            ra.cmp(&rb).then(b.1.cmp(&a.1))
        }) else {
            return n;
        };
        let rc = dom.retained(NodeId(c));
        if r == 0 || (rc as f64) < DOMINANT * r as f64 || rc < threshold {
            return n;
        }
        if types.same(ObjId(n.0), ObjId(c)) {
            return n;
        }
        (n, p) = (NodeId(c), q);
    }
}

/// Calls `f` with each top-level instance of a group (the objects `is` accepts,
/// not dominated by another of them within [`MAX_CLIMB`] steps) and its position
/// in the preorder, in preorder.
fn instances(
    dom: &Dominators,
    nobj: u32,
    is: &impl Fn(u32) -> bool,
    mut f: impl FnMut(usize, NodeId),
) {
    for (p, &n) in dom.preorder().iter().enumerate() {
        if n >= nobj || !is(n) {
            continue;
        }
        // Nested in another instance? Walk up (bounded).
        let mut x = dom.idom(NodeId(n));
        let mut nested = false;
        let mut steps = 0;
        while let Some(d) = x {
            if d.0 >= nobj || steps > MAX_CLIMB {
                break;
            }
            if is(d.0) {
                nested = true;
                break;
            }
            x = dom.idom(d);
            steps += 1;
        }
        if !nested {
            f(p, NodeId(n));
        }
    }
}

/// The deepest dominator holding [`DOMINANT`] of what a group's instances retain
/// (the super-root when none below it does), and those bytes. A dominator's
/// share counts the instances at most `MAX_CLIMB + 1` steps below it.
///
/// Such a dominator holds more than half of the group's bytes, and its subtree is
/// an interval of the preorder the instances come in: so it dominates the
/// instance where their running sum passes half the total (the median). The
/// shares are summed only along the median's dominator chain — a difference
/// array over the chain, each instance adding to the part of it its climb
/// reaches — not for every dominator of every instance (a hash map of millions
/// of entries on B20, its peak).
fn group_accumulation(
    dom: &Dominators,
    graph: &ObjectGraph,
    is: &impl Fn(u32) -> bool,
) -> (NodeId, u64) {
    let nobj = graph.object_count();
    let order = dom.preorder();
    // The instances as a bit per preorder position (not a vector of ids: a map's
    // two million values would be 8 MB beside the subtree counts, at `leaks`'
    // peak), found once; the next two passes read the bits.
    let mut bits = vec![0u64; order.len().div_ceil(64)];
    let mut total = 0u64;
    instances(dom, nobj, is, |p, n| {
        if let Some(w) = bits.get_mut(p / 64) {
            *w |= 1 << (p % 64);
        }
        total = total.saturating_add(dom.retained(n));
    });
    let each = |f: &mut dyn FnMut(NodeId)| {
        for (wi, &w) in bits.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                let p = wi * 64 + w.trailing_zeros() as usize;
                w &= w - 1;
                if let Some(&n) = order.get(p) {
                    f(NodeId(n));
                }
            }
        }
    };
    // The median instance: the first whose running sum reaches half the total.
    let mut median = None;
    let mut sum = 0u128;
    each(&mut |n| {
        if median.is_none() {
            sum += u128::from(dom.retained(n));
            if 2 * sum >= u128::from(total) {
                median = Some(n);
            }
        }
    });
    let Some(median) = median else {
        return (graph.super_root(), total);
    };
    // Its chain, itself first; and the chain sorted, to find a node's place.
    let mut chain: Vec<u32> = vec![median.0];
    let mut x = dom.idom(median);
    while let Some(d) = x {
        if chain.len() > graph.node_count() {
            break;
        }
        chain.push(d.0);
        x = dom.idom(d);
    }
    let mut place: Vec<(u32, u32)> = chain
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, i as u32))
        .collect();
    place.sort_unstable();
    let find = |v: u32| {
        place
            .binary_search_by_key(&v, |&(n, _)| n)
            .ok()
            .and_then(|i| place.get(i))
            .map(|&(_, i)| i as usize)
    };
    // diff[i]: what starts (adds) or stops counting at chain position i.
    let mut diff = vec![0i128; chain.len() + 1];
    each(&mut |n| {
        let r = i128::from(dom.retained(n));
        let mut x = dom.idom(n);
        // Steps 1 ..= MAX_CLIMB + 1 up, as far as the chain is not reached.
        for step in 1..=MAX_CLIMB + 1 {
            let Some(d) = x else { break };
            if let Some(i) = find(d.0) {
                // The rest of the climb is the chain from i on.
                let end = (i + (MAX_CLIMB + 1 - step) + 1).min(chain.len());
                if let Some(a) = diff.get_mut(i) {
                    *a += r;
                }
                if let Some(e) = diff.get_mut(end) {
                    *e -= r;
                }
                break;
            }
            x = dom.idom(d);
        }
    });
    let need = DOMINANT * total as f64;
    let mut cands: Vec<(u32, u64)> = Vec::new();
    let mut run = 0i128;
    for (i, &v) in chain.iter().enumerate() {
        run += diff.get(i).copied().unwrap_or(0);
        let bytes = u64::try_from(run).unwrap_or(0);
        if (bytes as f64) >= need && v != graph.super_root().0 && run > 0 {
            cands.push((v, bytes));
        }
    }
    cands.sort_unstable();
    pick_deepest(dom, graph, &cands, total)
}

/// Of candidates that each hold most of a group, the deepest: the one all the
/// others are above, within `MAX_CLIMB + 2` steps (else the super-root and the
/// group's `total`).
fn pick_deepest(
    dom: &Dominators,
    graph: &ObjectGraph,
    cands: &[(u32, u64)],
    total: u64,
) -> (NodeId, u64) {
    // Each candidate holds over half the group, so they lie on one dominator chain,
    // at most MAX_CLIMB apart (an instance below the deeper one reached the other
    // within MAX_CLIMB steps). The deepest reaches every other one walking up.
    for &(c, bytes) in cands {
        let mut above = Vec::new();
        let mut x = dom.idom(NodeId(c));
        while let Some(d) = x {
            if above.len() > MAX_CLIMB + 1 {
                break;
            }
            above.push(d.0);
            x = dom.idom(d);
        }
        if cands.iter().all(|&(o, _)| o == c || above.contains(&o)) {
            return (NodeId(c), bytes);
        }
    }
    (graph.super_root(), total)
}

/// Whether a type name is a map's internal storage (classic buckets, Swiss groups,
/// tables and directories), an array of it or a pointer to it.
fn is_map_internal(name: &str) -> bool {
    let mut n = name;
    loop {
        if let Some(rest) = n.strip_prefix('*') {
            n = rest;
        } else if let (true, Some(i)) = (n.starts_with('['), n.find(']')) {
            n = &n[i + 1..];
        } else {
            break;
        }
    }
    n.starts_with("map.bucket[")
        || n.starts_with("map.group[")
        || n.starts_with("runtime.bmap")
        || n == "maps.table"
        || n == "internal/runtime/maps.table"
        || n == "runtime.mapextra"
}

/// Whether a type name is a map header.
fn is_map_header(name: &str) -> bool {
    matches!(
        name,
        "runtime.hmap" | "maps.Map" | "internal/runtime/maps.Map"
    )
}

/// When `n` is a map's internal storage, the map header dominating it (the map a
/// reader knows by name); else `n`.
fn map_header(dom: &Dominators, types: &Types<'_, '_, '_>, n: NodeId, nobj: u32) -> NodeId {
    let mut x = n;
    for _ in 0..8 {
        let name = types.name(ObjId(x.0));
        if is_map_header(&name) {
            return x;
        }
        if !is_map_internal(&name) {
            return n;
        }
        match dom.idom(x) {
            Some(d) if d.0 < nobj => x = d,
            _ => return n,
        }
    }
    n
}

/// What `n` dominates, grouped by type — looking through a map's internal
/// storage to the values stored in it.
fn contents(
    dom: &Dominators,
    sub: &Subtrees<'_>,
    types: &Types<'_, '_, '_>,
    n: NodeId,
) -> Vec<TypeGroup> {
    let mut m: HashMap<String, (u64, u64)> = HashMap::new();
    let mut stack: Vec<(NodeId, usize, u32)> = Vec::new();
    if let Some(p) = sub.position(n) {
        stack.push((n, p, 0));
    }
    while let Some((x, p, depth)) = stack.pop() {
        for (q, c) in sub.children(p) {
            let name = types.name(ObjId(c));
            if depth < 8 && (is_map_internal(&name) || (x == n && is_map_header(&name))) {
                stack.push((NodeId(c), q, depth + 1));
                continue;
            }
            let e = m.entry(name).or_default();
            e.0 += 1;
            e.1 += dom.retained(NodeId(c));
        }
    }
    let mut v: Vec<TypeGroup> = m
        .into_iter()
        .map(|(type_name, (count, retained))| TypeGroup {
            type_name,
            count,
            retained,
        })
        .collect();
    v.sort_by(|a, b| {
        b.retained
            .cmp(&a.retained)
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    v.truncate(MAX_CONTENTS);
    v
}

/// Goroutines grouped by (state, top user frame, start function).
fn goroutine_groups(
    proc: &Process<'_>,
    graph: &ObjectGraph,
    dom: &Dominators,
    opts: &LeakOptions,
) -> (Vec<GoroutineLeak>, Vec<String>) {
    let mut warnings = Vec::new();
    let gs = match proc.goroutines() {
        Ok(g) => g,
        Err(e) => {
            warnings.push(format!("goroutines not read: {e}"));
            return (Vec::new(), warnings);
        }
    };
    let mut root_of: HashMap<u64, NodeId> = HashMap::new();
    for (i, g) in graph.root_groups().iter().enumerate() {
        if let RootGroup::Goroutine { id } = g {
            root_of.insert(*id, graph.root_node(i as u32));
        }
    }
    type Key = (String, String, String, String);
    let mut groups: HashMap<Key, (Vec<u64>, usize, u64)> = HashMap::new();
    for g in gs {
        let g = match g {
            Ok(g) => g,
            Err(e) => {
                if warnings.len() < 20 {
                    warnings.push(format!("goroutine not read: {e}"));
                }
                continue;
            }
        };
        let stack = g.stack(proc);
        let (func, loc) = match crate::Goroutine::top_user_frame(&stack.frames)
            .or_else(|| stack.frames.first())
        {
            Some(f) => (f.function.clone(), format!("{}:{}", f.file, f.line)),
            None => (String::from("?"), String::new()),
        };
        let start = g.start_function.clone().unwrap_or_default();
        let e = groups
            .entry((g.state(), func, loc, start))
            .or_insert_with(|| (Vec::new(), 0, 0));
        e.1 += 1;
        if e.0.len() < MAX_IDS {
            e.0.push(g.id);
        }
        if let Some(&n) = root_of.get(&g.id) {
            e.2 += dom.retained(n);
        }
    }
    let mut out: Vec<GoroutineLeak> = groups
        .into_iter()
        .filter(|(_, (_, n, _))| *n >= opts.min_goroutines)
        .map(
            |((state, function, location, start_function), (mut ids, count, retained))| {
                ids.sort_unstable();
                GoroutineLeak {
                    count,
                    state,
                    function,
                    location,
                    start_function,
                    ids,
                    retained,
                }
            },
        )
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.retained.cmp(&a.retained))
            .then_with(|| a.function.cmp(&b.function))
    });
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition `group_accumulation` computes: every dominator within
    /// `MAX_CLIMB + 1` steps above each instance summed in a map.
    fn accumulation_by_definition(
        dom: &Dominators,
        graph: &ObjectGraph,
        is: &impl Fn(u32) -> bool,
    ) -> (NodeId, u64) {
        let mut total = 0u64;
        let mut acc: HashMap<u32, u64> = HashMap::new();
        instances(dom, graph.object_count(), is, |_, n| {
            let r = dom.retained(n);
            total += r;
            let mut x = dom.idom(n);
            let mut steps = 0;
            while let Some(d) = x {
                *acc.entry(d.0).or_insert(0) += r;
                steps += 1;
                if steps > MAX_CLIMB {
                    break;
                }
                x = dom.idom(d);
            }
        });
        let need = DOMINANT * total as f64;
        let mut cands: Vec<(u32, u64)> = acc
            .into_iter()
            .filter(|&(node, bytes)| (bytes as f64) >= need && node != graph.super_root().0)
            .collect();
        cands.sort_unstable();
        pick_deepest(dom, graph, &cands, total)
    }

    /// On random graphs — a long chain (deeper than `MAX_CLIMB`) under a few
    /// roots, with random extra edges and sizes — and groups of every third,
    /// fifth, … object, the median-chain sums give what the definition gives.
    #[test]
    fn group_accumulation_matches_its_definition() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut checked, mut inside) = (0, 0);
        for (n, chain, extra) in [
            (200u32, 0u32, 150usize),
            (2000, 700, 800),
            (5000, 1200, 6000),
            (3000, 2900, 50),
        ] {
            let mut edges: Vec<(u32, u32)> = (1..chain).map(|i| (i - 1, i)).collect();
            // Every other object hangs under a random earlier one (a tree), plus
            // random extra edges.
            for v in chain.max(1)..n {
                edges.push(((next() % u64::from(v)) as u32, v));
            }
            for _ in 0..extra {
                edges.push((
                    (next() % u64::from(n)) as u32,
                    (next() % u64::from(n)) as u32,
                ));
            }
            let roots = vec![vec![0], vec![(next() % u64::from(n)) as u32], vec![n / 2]];
            let g = ObjectGraph::from_edges(n, &edges, &roots);
            let sizes: Vec<u64> = (0..n).map(|_| 8 + next() % 4000).collect();
            let dom = Dominators::with_sizes(&g, sizes);
            for m in [2u32, 3, 5, 7, 11, 97, 1000] {
                for r in 0..m.min(3) {
                    let is = |v: u32| v % m == r;
                    let got = group_accumulation(&dom, &g, &is);
                    assert_eq!(
                        got,
                        accumulation_by_definition(&dom, &g, &is),
                        "n {n} chain {chain} m {m} r {r}"
                    );
                    checked += 1;
                    inside += usize::from(got.0 != g.super_root());
                }
            }
            // A group that is one subtree's objects only, and one object.
            let deep = |v: u32| v > chain / 2 && v < chain;
            assert_eq!(
                group_accumulation(&dom, &g, &deep),
                accumulation_by_definition(&dom, &g, &deep)
            );
            let one = |v: u32| v == n - 1;
            assert_eq!(
                group_accumulation(&dom, &g, &one),
                accumulation_by_definition(&dom, &g, &one)
            );
        }
        // Some groups accumulate under an object or a root node, not at the top.
        assert!(checked > 50 && inside >= 10, "{inside} of {checked}");

        // A hub at the end of a chain of 600 objects holds 1000 leaves; 100 more
        // leaves hang off a second root. The leaves accumulate at the hub, 600
        // steps below the chain's head (farther than one climb reaches).
        let (hub, leaves) = (600u32, 601u32..1601);
        let mut edges: Vec<(u32, u32)> = (1..=hub).map(|i| (i - 1, i)).collect();
        edges.extend(leaves.clone().map(|l| (hub, l)));
        edges.extend((1601..1701).map(|l| (1701, l)));
        let g = ObjectGraph::from_edges(1702, &edges, &[vec![0], vec![1701]]);
        let dom = Dominators::with_sizes(&g, vec![16; 1702]);
        let is = |v: u32| (601..1701).contains(&v);
        let want = (NodeId(hub), 16 * 1000);
        assert_eq!(accumulation_by_definition(&dom, &g, &is), want);
        assert_eq!(group_accumulation(&dom, &g, &is), want);

        // Object 0 holds 500 leaves and a chain of k objects holding 500 more: a
        // leaf k + 1 steps below 0 counts for 0 when k + 1 <= MAX_CLIMB + 1.
        for (k, want_top) in [(MAX_CLIMB as u32, true), (MAX_CLIMB as u32 + 1, false)] {
            let mut edges: Vec<(u32, u32)> = (1..=500).map(|l| (0, l)).collect();
            edges.push((0, 501));
            edges.extend((501..500 + k).map(|c| (c, c + 1)));
            let end = 500 + k;
            edges.extend((end + 1..=end + 500).map(|l| (end, l)));
            let n = end + 501;
            let g = ObjectGraph::from_edges(n, &edges, &[vec![0]]);
            let dom = Dominators::with_sizes(&g, vec![16; n as usize]);
            let is = |v: u32| (1..=500).contains(&v) || v > end;
            let want = if want_top {
                (NodeId(0), 16 * 1000)
            } else {
                (g.super_root(), 16 * 1000)
            };
            assert_eq!(accumulation_by_definition(&dom, &g, &is), want, "k {k}");
            assert_eq!(group_accumulation(&dom, &g, &is), want, "k {k}");
        }
    }
}
