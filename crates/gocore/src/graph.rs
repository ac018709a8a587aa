//! The object graph: every heap object and every GC root as a node, every pointer as
//! an edge — the input of [dominators](crate::Dominators), [paths](crate::paths_to)
//! and [leak suspects](crate::LeakReport).
//!
//! Nodes are dense `u32` ids ([`NodeId`]):
//!
//! * `0 .. object_count` — the heap objects, with the same numbers as [`ObjId`];
//! * then one **root node** per root *group* ([`RootGroup`]): all words of one global
//!   variable (by symbol; data words without a symbol one by one), everything one
//!   goroutine holds (frame slots, stack objects, registers, `sched.ctxt`, defers),
//!   each finalizer/cleanup/weak special, the finalizer queue, the cleanup queue;
//! * last, a virtual **super-root** with an edge to every root node.
//!
//! Edges are stored once, forward, in compressed sparse rows (`u32` targets, 4 bytes
//! an edge; row starts in about 2 bytes a node), deduplicated per source — an object of
//! more than 4 MiB whose pointers come from its type (a malloc header or
//! `largeType`) is scanned in parts on all cores, its targets merged in a bitset, so
//! a pointer array of 140 M slots over 1 M objects holds 1 M edges even while it is
//! scanned. A pointer lands
//! on an object as the runtime's `findObject` says: anywhere inside it, or in its
//! malloc header. Pointers to free slots, stacks or outside the heap make no edge.
//! Reverse edges ([`ObjectGraph::referrers`]) are built on first use; the forward
//! ones can be freed once nothing needs them ([`ObjectGraph::release_successors`],
//! [`Dominators::compute_releasing`](crate::Dominators::compute_releasing)).
//!
//! Every allocated object is a node, live or not; what the roots reach is what
//! [`Dominators`](crate::Dominators) reports as reachable.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let roots = gocore::RootSet::collect(&proc, &heap)?;
//! let graph = gocore::ObjectGraph::build(&heap, &roots)?;
//! println!("{} nodes, {} edges", graph.node_count(), graph.edge_count());
//! if let Some((id, _)) = heap.find_object(0xc000010000) {
//!     for r in graph.referrers(graph.object_node(id)) {
//!         println!("held by {}", graph.describe(r, &heap));
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::heap::{Heap, ObjId};
use crate::roots::{land, Landing, Root, RootKind, RootSet};

mod starts;
use starts::RowStarts;

/// Most warnings kept.
const MAX_WARNINGS: usize = 100;

/// A node of the [`ObjectGraph`]: an object, a root group or the super-root.
///
/// ```
/// let n = gocore::NodeId(3);
/// assert_eq!(n.index(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node vectors.
    ///
    /// ```
    /// assert_eq!(gocore::NodeId(7).index(), 7);
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a [`NodeId`] stands for.
///
/// ```
/// let k = gocore::NodeKind::Object(gocore::ObjId(1));
/// assert!(matches!(k, gocore::NodeKind::Object(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A heap object.
    Object(ObjId),
    /// A root group: index into [`ObjectGraph::root_groups`].
    Root(u32),
    /// The virtual node above every root.
    SuperRoot,
}

/// A group of roots that is one node of the graph: what a reader calls "a root".
///
/// ```
/// let g = gocore::RootGroup::Global { symbol: Some("main.gServer".into()), addr: 0x5000 };
/// assert_eq!(g.to_string(), "global main.gServer");
/// assert_eq!(gocore::RootGroup::Goroutine { id: 7 }.to_string(), "goroutine 7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RootGroup {
    /// A global variable (all its pointer words), or one data/bss word without a
    /// symbol.
    Global {
        /// The symbol, when known.
        symbol: Option<String>,
        /// Address of the variable (of the symbol's first pointer word seen, or the
        /// word itself without a symbol).
        addr: u64,
    },
    /// Everything a goroutine's stack and registers hold.
    Goroutine {
        /// Goroutine id.
        id: u64,
    },
    /// A span special (finalizer, cleanup, weak handle) of one object.
    Special {
        /// [`RootKind::name`] of its roots (`finalizer`, `cleanup`, …).
        kind: &'static str,
        /// The object the special is attached to.
        object: u64,
    },
    /// The finalizer queue or the cleanup queue.
    Queue {
        /// `finq` or `cleanup-queue`.
        kind: &'static str,
    },
}

impl fmt::Display for RootGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootGroup::Global {
                symbol: Some(s), ..
            } => write!(f, "global {s}"),
            RootGroup::Global { symbol: None, addr } => write!(f, "global word {addr:#x}"),
            RootGroup::Goroutine { id } => write!(f, "goroutine {id}"),
            RootGroup::Special { kind, object } => write!(f, "{kind} of {object:#x}"),
            RootGroup::Queue { kind } => write!(f, "{kind}"),
        }
    }
}

/// The group a root belongs to, and the key it is merged by.
fn group_of(r: &Root) -> RootGroup {
    match &r.kind {
        RootKind::Global {
            symbol: Some(s),
            offset,
        } => RootGroup::Global {
            symbol: Some(s.clone()),
            addr: r.slot.wrapping_sub(*offset),
        },
        RootKind::Global { symbol: None, .. } => RootGroup::Global {
            symbol: None,
            addr: r.slot,
        },
        RootKind::Frame { goroutine, .. }
        | RootKind::StackObject { goroutine, .. }
        | RootKind::Register { goroutine, .. }
        | RootKind::Context { goroutine }
        | RootKind::Defer { goroutine } => RootGroup::Goroutine { id: *goroutine },
        RootKind::Finalizer { object }
        | RootKind::FinalizerObjectField { object }
        | RootKind::Cleanup { object }
        | RootKind::WeakHandle { object } => RootGroup::Special {
            kind: r.kind.name(),
            object: *object,
        },
        other => RootGroup::Queue { kind: other.name() },
    }
}

/// The object graph. See the [module documentation](self).
#[derive(Debug)]
pub struct ObjectGraph {
    objects: u32,
    groups: Vec<RootGroup>,
    /// Per root group: indices into the root set's roots (CSR).
    member_off: Vec<u32>,
    members: Vec<u32>,
    /// Forward edges (CSR over all nodes; row starts in about 2 bytes a node).
    off: RowStarts,
    edges: Vec<u32>,
    reverse: OnceLock<(RowStarts, Vec<u32>)>,
    /// Edges counted when built ([`ObjectGraph::release_successors`] frees them).
    edge_count: usize,
    warnings: Vec<String>,
}

impl ObjectGraph {
    /// Builds the graph of `heap` and `roots`: scans every allocated object's pointer
    /// slots once ([`Heap::pointers`]). Unreadable object memory stops that object's
    /// scan with a [warning](ObjectGraph::warnings); more than `u32::MAX` nodes or
    /// edges is an error.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let graph = gocore::ObjectGraph::build(&heap, &roots)?;
    /// for w in graph.warnings() { eprintln!("warning: {w}"); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(heap: &Heap<'_>, roots: &RootSet) -> Result<ObjectGraph> {
        let too_many = |what: &str, value: u64| Error::OutOfRange {
            what: what.into(),
            value,
            limit: u64::from(u32::MAX - 1),
        };
        let n = heap.object_count();
        if n >= u64::from(u32::MAX) / 2 {
            return Err(too_many("heap objects in the graph", n));
        }
        let n = n as u32;
        let mut g = ObjectGraph {
            objects: n,
            groups: Vec::new(),
            member_off: Vec::new(),
            members: Vec::new(),
            off: RowStarts::with_capacity(n as usize + 2),
            edges: Vec::new(),
            reverse: OnceLock::new(),
            edge_count: 0,
            warnings: Vec::new(),
        };
        // Objects, in id order: batches of objects scanned in parallel, each
        // giving its rows in order.
        g.off.push(0);
        // A round holds its batches' objects (40 bytes each) and rows: a few
        // batches per thread keep that to a few MB.
        let par_batches = (4 * rayon::current_num_threads()).clamp(4, 256);
        let mut batch: Vec<crate::heap::Object> = Vec::with_capacity(BATCH);
        let mut batches: Vec<Vec<crate::heap::Object>> = Vec::new();
        let mut next = 0u32;
        let mut objects = heap.objects();
        // A bit per object for the huge objects' rows (made on the first).
        let mut seen: Vec<u64> = Vec::new();
        let progress = heap.counters();
        progress.start(crate::Stage::Graph, u64::from(n));
        loop {
            let obj = objects.next();
            let end = obj.is_none();
            // A huge object whose parts can be scanned apart is scanned alone, its
            // parts in parallel, after the objects before it.
            let mut huge = None;
            if let Some(obj) = obj {
                if obj.id.0 < n && obj.id.0 >= next {
                    next = obj.id.0 + 1;
                    // (The size first: most objects are far too small to ask.)
                    if obj.size > 8 * PART_WORDS
                        && heap
                            .splittable_words(&obj)
                            .is_some_and(|w| w > 2 * PART_WORDS)
                    {
                        huge = Some(obj);
                    } else {
                        batch.push(obj);
                    }
                }
                if batch.len() == BATCH || (huge.is_some() && !batch.is_empty()) {
                    batches.push(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            } else if !batch.is_empty() {
                batches.push(std::mem::take(&mut batch));
            }
            if batches.len() == par_batches || ((end || huge.is_some()) && !batches.is_empty()) {
                let rows: Vec<BatchRows> =
                    batches.par_iter().map(|b| scan_batch(heap, b)).collect();
                progress.add(
                    crate::Stage::Graph,
                    batches.iter().map(|b| b.len() as u64).sum(),
                );
                for (lens, edges, warnings) in rows {
                    for w in warnings {
                        g.warn(w);
                    }
                    let mut at = 0usize;
                    for (id, len) in lens {
                        let row = edges.get(at..at + len as usize).unwrap_or(&[]);
                        g.push_row(id, row)
                            .map_err(|e| too_many("edges in the graph", e))?;
                        at += len as usize;
                    }
                }
                batches.clear();
            }
            if let Some(obj) = huge {
                if seen.is_empty() {
                    seen = vec![0u64; (n as usize).div_ceil(64)];
                }
                // A few parts per thread at a time: each holds up to 1 MiB of
                // targets before they are merged.
                let par = (2 * rayon::current_num_threads()).clamp(2, 64);
                let (row, warning) = scan_huge(heap, &obj, &mut seen, par, PART_WORDS);
                if let Some(w) = warning {
                    g.warn(w);
                }
                g.push_row(obj.id.0, &row)
                    .map_err(|e| too_many("edges in the graph", e))?;
                progress.add(crate::Stage::Graph, 1);
            }
            if end {
                break;
            }
        }
        while (g.off.len() as u32) <= n {
            g.off.push(g.edges.len() as u32);
        }
        // Root groups, in order of first appearance.
        let all = roots.roots().as_slice();
        let mut index: HashMap<RootGroup, u32> = HashMap::new();
        let mut group_of_root: Vec<u32> = Vec::with_capacity(all.len());
        for r in all {
            let key = group_of(r);
            let next = g.groups.len() as u32;
            let gi = *index.entry(key.clone()).or_insert(next);
            if gi == next {
                g.groups.push(key);
            }
            group_of_root.push(gi);
        }
        let ng = g.groups.len();
        // Below 2^31 nodes: the dominator tree's numbering flags a number with the
        // top bit (`dominators::tree_preorder`).
        if ng as u64 + u64::from(n) + 1 >= u64::from(u32::MAX / 2) {
            return Err(Error::OutOfRange {
                what: "graph nodes".into(),
                value: ng as u64 + u64::from(n) + 1,
                limit: u64::from(u32::MAX / 2 - 1),
            });
        }
        // Members CSR (counting sort of roots by group).
        let mut counts = vec![0u32; ng + 1];
        for &gi in &group_of_root {
            counts[gi as usize + 1] += 1;
        }
        for i in 0..ng {
            counts[i + 1] += counts[i];
        }
        g.member_off = counts.clone();
        g.members = vec![0; all.len()];
        for (ri, &gi) in group_of_root.iter().enumerate() {
            let slot = &mut counts[gi as usize];
            g.members[*slot as usize] = ri as u32;
            *slot += 1;
        }
        // Root group edges.
        for gi in 0..ng {
            let (a, b) = (g.member_off[gi] as usize, g.member_off[gi + 1] as usize);
            root_row(heap, all, &g.members[a..b], &mut g.edges);
            g.off.push(g.edges.len() as u32);
        }
        // Super-root.
        for gi in 0..ng as u32 {
            g.edges.push(n + gi);
        }
        if g.edges.len() >= u32::MAX as usize {
            return Err(too_many("edges in the graph", g.edges.len() as u64));
        }
        g.off.push(g.edges.len() as u32);
        g.edges.shrink_to_fit();
        g.off.shrink_to_fit();
        g.edge_count = g.edges.len();
        progress.finish(crate::Stage::Graph);
        Ok(g)
    }

    /// Appends object `id`'s row (ids ascending; objects without a row before it
    /// get empty ones, keeping the CSR aligned). Errs with the edge count when it
    /// would pass `u32::MAX - 1`.
    fn push_row(&mut self, id: u32, row: &[u32]) -> std::result::Result<(), u64> {
        while (self.off.len() as u32) <= id {
            self.off.push(self.edges.len() as u32);
        }
        self.edges.extend_from_slice(row);
        if self.edges.len() >= u32::MAX as usize {
            return Err(self.edges.len() as u64);
        }
        self.off.push(self.edges.len() as u32);
        Ok(())
    }

    fn warn(&mut self, msg: String) {
        match self.warnings.len() {
            n if n < MAX_WARNINGS => self.warnings.push(msg),
            n if n == MAX_WARNINGS => self.warnings.push("further warnings suppressed".into()),
            _ => {}
        }
    }

    /// Builds a graph from explicit edges, for tests and for graphs that are not
    /// heaps: nodes `0..objects` are objects, each entry of `roots` is a root group
    /// (`RootGroup::Queue`) pointing at the listed objects, and the super-root points
    /// at every root group. Out-of-range targets are dropped.
    ///
    /// ```
    /// // 0 -> 1 -> 2, one root pointing at 0.
    /// let g = gocore::ObjectGraph::from_edges(3, &[(0, 1), (1, 2)], &[vec![0]]);
    /// assert_eq!(g.node_count(), 3 + 1 + 1);
    /// assert_eq!(g.successors(gocore::NodeId(0)), &[1]);
    /// ```
    pub fn from_edges(objects: u32, edges: &[(u32, u32)], roots: &[Vec<u32>]) -> ObjectGraph {
        let objects = objects.min(u32::MAX / 4);
        let ng = roots.len().min((u32::MAX / 4) as usize);
        let mut counts = vec![0u32; objects as usize + 1];
        let ok = |&&(a, b): &&(u32, u32)| a < objects && b < objects;
        for &(a, _) in edges.iter().filter(ok) {
            counts[a as usize + 1] += 1;
        }
        for i in 0..objects as usize {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut flat = vec![0u32; counts[objects as usize] as usize];
        for &(a, b) in edges.iter().filter(ok) {
            flat[fill[a as usize] as usize] = b;
            fill[a as usize] += 1;
        }
        let mut off = RowStarts::with_capacity(objects as usize + ng + 2);
        off.push(0);
        let mut out = Vec::with_capacity(flat.len());
        for i in 0..objects as usize {
            let start = out.len();
            out.extend_from_slice(&flat[counts[i] as usize..counts[i + 1] as usize]);
            dedup_tail(&mut out, start);
            off.push(out.len() as u32);
        }
        let mut groups = Vec::new();
        for r in roots.iter().take(ng) {
            let start = out.len();
            out.extend(r.iter().copied().filter(|&t| t < objects));
            dedup_tail(&mut out, start);
            off.push(out.len() as u32);
            groups.push(RootGroup::Queue { kind: "test" });
        }
        for gi in 0..ng as u32 {
            out.push(objects + gi);
        }
        off.push(out.len() as u32);
        ObjectGraph {
            objects,
            groups,
            member_off: vec![0; ng + 1],
            members: Vec::new(),
            off,
            edge_count: out.len(),
            edges: out,
            reverse: OnceLock::new(),
            warnings: Vec::new(),
        }
    }

    /// Number of nodes: objects + root groups + the super-root.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[]);
    /// assert_eq!(g.node_count(), 3);
    /// ```
    pub fn node_count(&self) -> usize {
        self.objects as usize + self.groups.len() + 1
    }

    /// Number of heap objects (nodes `0..object_count`).
    ///
    /// ```
    /// assert_eq!(gocore::ObjectGraph::from_edges(2, &[], &[]).object_count(), 2);
    /// ```
    pub fn object_count(&self) -> u32 {
        self.objects
    }

    /// Number of edges (deduplicated pointers between nodes, root and super-root
    /// edges included).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1), (0, 1)], &[vec![0]]);
    /// assert_eq!(g.edge_count(), 1 + 1 + 1);
    /// ```
    pub fn edge_count(&self) -> usize {
        self.edge_count
    }

    /// The super-root (the last node).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[vec![0]]);
    /// assert_eq!(g.super_root(), gocore::NodeId(3));
    /// ```
    pub fn super_root(&self) -> NodeId {
        NodeId(self.objects + self.groups.len() as u32)
    }

    /// The node of a heap object.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[]);
    /// assert_eq!(g.object_node(gocore::ObjId(1)), gocore::NodeId(1));
    /// ```
    pub fn object_node(&self, id: ObjId) -> NodeId {
        NodeId(id.0)
    }

    /// The node of root group `i` (index into [`ObjectGraph::root_groups`]).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[vec![0]]);
    /// assert_eq!(g.root_node(0), gocore::NodeId(2));
    /// ```
    pub fn root_node(&self, i: u32) -> NodeId {
        NodeId(self.objects + i)
    }

    /// What a node stands for.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(1, &[], &[vec![0]]);
    /// assert_eq!(g.kind(gocore::NodeId(0)), gocore::NodeKind::Object(gocore::ObjId(0)));
    /// assert_eq!(g.kind(gocore::NodeId(1)), gocore::NodeKind::Root(0));
    /// assert_eq!(g.kind(gocore::NodeId(2)), gocore::NodeKind::SuperRoot);
    /// ```
    pub fn kind(&self, n: NodeId) -> NodeKind {
        if n.0 < self.objects {
            NodeKind::Object(ObjId(n.0))
        } else if ((n.0 - self.objects) as usize) < self.groups.len() {
            NodeKind::Root(n.0 - self.objects)
        } else {
            NodeKind::SuperRoot
        }
    }

    /// The object a node stands for, if it is one.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(1, &[], &[vec![0]]);
    /// assert_eq!(g.object(gocore::NodeId(0)), Some(gocore::ObjId(0)));
    /// assert_eq!(g.object(gocore::NodeId(1)), None);
    /// ```
    pub fn object(&self, n: NodeId) -> Option<ObjId> {
        (n.0 < self.objects).then_some(ObjId(n.0))
    }

    /// Every root group, indexed as [`NodeKind::Root`].
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(1, &[], &[vec![0]]);
    /// assert_eq!(g.root_groups().len(), 1);
    /// ```
    pub fn root_groups(&self) -> &[RootGroup] {
        &self.groups
    }

    /// The root group of a node, if it is a root node.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(1, &[], &[vec![0]]);
    /// assert!(g.root_group(gocore::NodeId(1)).is_some());
    /// ```
    pub fn root_group(&self, n: NodeId) -> Option<&RootGroup> {
        match self.kind(n) {
            NodeKind::Root(i) => self.groups.get(i as usize),
            _ => None,
        }
    }

    /// The roots of root group `i`, as indices into the [`RootSet`] the graph was
    /// built from (`roots.roots().as_slice()[k]`).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(1, &[], &[vec![0]]);
    /// assert!(g.root_members(0).is_empty()); // built from edges: no RootSet
    /// ```
    pub fn root_members(&self, i: u32) -> &[u32] {
        let i = i as usize;
        match (self.member_off.get(i), self.member_off.get(i + 1)) {
            (Some(&a), Some(&b)) => self.members.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The nodes `n` points to (objects for objects and root nodes, root nodes for
    /// the super-root), ascending; empty after [`ObjectGraph::release_successors`].
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(3, &[(0, 2), (0, 1)], &[]);
    /// assert_eq!(g.successors(gocore::NodeId(0)), &[1, 2]);
    /// ```
    pub fn successors(&self, n: NodeId) -> &[u32] {
        let i = n.index();
        match (self.off.get(i), self.off.get(i + 1)) {
            (Some(a), Some(b)) => self.edges.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The nodes pointing at `n` (objects and root nodes; the super-root for a root
    /// node), ascending. The reverse edges are built on the first call (about 2 bytes
    /// per node and 4 per edge) from the forward ones: after
    /// [`ObjectGraph::release_successors`], only if they were built before.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(3, &[(0, 2), (1, 2)], &[vec![2]]);
    /// let who: Vec<u32> = g.referrers(gocore::NodeId(2)).map(|n| n.0).collect();
    /// assert_eq!(who, vec![0, 1, 3]);
    /// ```
    pub fn referrers(&self, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.predecessors(n).iter().map(|&p| NodeId(p))
    }

    /// [`ObjectGraph::referrers`] as a slice of raw node ids.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[]);
    /// assert_eq!(g.predecessors(gocore::NodeId(1)), &[0]);
    /// ```
    pub fn predecessors(&self, n: NodeId) -> &[u32] {
        let (off, edges) = self.reverse.get_or_init(|| self.build_reverse());
        let i = n.index();
        match (off.get(i), off.get(i + 1)) {
            (Some(a), Some(b)) => edges.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Frees the forward edges (about 2 bytes per node and 4 per edge) when nothing needs
    /// [`ObjectGraph::successors`] any more: it is then empty for every node, as is
    /// [`ObjectGraph::predecessors`] unless the reverse edges were built before
    /// (call it once first to keep them). Nodes, root groups, [`ObjectGraph::edge_count`]
    /// and the warnings stay. [`Dominators::compute_releasing`](crate::Dominators::compute_releasing)
    /// calls it as soon as the dominator tree no longer needs the edges.
    ///
    /// ```
    /// let mut g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// assert_eq!(g.predecessors(gocore::NodeId(1)), &[0]); // builds the reverse edges
    /// g.release_successors();
    /// assert!(!g.has_successors() && g.successors(gocore::NodeId(0)).is_empty());
    /// assert_eq!(g.predecessors(gocore::NodeId(1)), &[0]);
    /// assert_eq!(g.edge_count(), 3);
    /// ```
    pub fn release_successors(&mut self) {
        self.off = RowStarts::default();
        self.edges = Vec::new();
    }

    /// Frees the reverse edges built by [`ObjectGraph::predecessors`] (about 2
    /// bytes per node and 4 per edge); the next call builds them again from the forward edges
    /// (none after [`ObjectGraph::release_successors`]).
    ///
    /// ```
    /// let mut g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// assert_eq!(g.predecessors(gocore::NodeId(1)), &[0]);
    /// g.release_predecessors();
    /// assert_eq!(g.predecessors(gocore::NodeId(1)), &[0]); // built again
    /// ```
    pub fn release_predecessors(&mut self) {
        self.reverse = OnceLock::new();
    }

    /// Whether the forward edges are still there (see
    /// [`ObjectGraph::release_successors`]).
    ///
    /// ```
    /// assert!(gocore::ObjectGraph::from_edges(1, &[], &[]).has_successors());
    /// ```
    pub fn has_successors(&self) -> bool {
        !self.off.is_empty()
    }

    fn build_reverse(&self) -> (RowStarts, Vec<u32>) {
        let nodes = self.node_count();
        // Each row's length in 16 bits (what passes 65 535 in a map), kept as
        // `RowStarts`; then the same array is each row's fill count. 2 bytes a
        // node beside both edge directions, not 4.
        let mut cnt = vec![0u16; nodes];
        let mut more: HashMap<u32, u32> = HashMap::new();
        // Counts one more in row `t`; the count before.
        fn count(cnt: &mut [u16], more: &mut HashMap<u32, u32>, t: u32) -> Option<u32> {
            let c = cnt.get_mut(t as usize)?;
            if *c < u16::MAX {
                *c += 1;
                return Some(u32::from(*c - 1));
            }
            let m = more.entry(t).or_insert(0);
            *m += 1;
            Some(u32::from(u16::MAX).saturating_add(*m - 1))
        }
        for &t in &self.edges {
            count(&mut cnt, &mut more, t);
        }
        let mut off = RowStarts::with_capacity(nodes + 1);
        let mut start = 0u32;
        for (t, &c) in cnt.iter().enumerate() {
            off.push(start);
            let extra = match c {
                u16::MAX => more.get(&(t as u32)).copied().unwrap_or(0),
                _ => 0,
            };
            start = start.saturating_add(u32::from(c)).saturating_add(extra);
        }
        off.push(start);
        cnt.fill(0);
        more.clear();
        let mut rev = vec![0u32; self.edges.len()];
        // Sources in ascending order, so each reverse row is sorted.
        for src in 0..nodes {
            for &t in self.successors(NodeId(src as u32)) {
                let (Some(k), Some(s)) = (count(&mut cnt, &mut more, t), off.get(t as usize))
                else {
                    continue;
                };
                if let Some(slot) = rev.get_mut(s.saturating_add(k) as usize) {
                    *slot = src as u32;
                }
            }
        }
        (off, rev)
    }

    /// A short description of a node: `0xADDR` for an object, the root group, or
    /// `(all roots)`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let graph = gocore::ObjectGraph::build(&heap, &roots)?;
    /// println!("{}", graph.describe(graph.super_root(), &heap)); // (all roots)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn describe(&self, n: NodeId, heap: &Heap<'_>) -> String {
        match self.kind(n) {
            NodeKind::Object(id) => match heap.object(id) {
                Some(o) => format!("{:#x}", o.addr),
                None => format!("object #{}", id.0),
            },
            NodeKind::Root(i) => self
                .groups
                .get(i as usize)
                .map_or_else(|| "root".to_string(), |g| g.to_string()),
            NodeKind::SuperRoot => "(all roots)".to_string(),
        }
    }

    /// Non-fatal problems met while building.
    ///
    /// ```
    /// assert!(gocore::ObjectGraph::from_edges(1, &[], &[]).warnings().is_empty());
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Objects per parallel batch (a round has a few batches per thread).
const BATCH: usize = 1 << 12;

/// Appends the row of a root group whose roots are `members` (indices into `all`,
/// the root set's roots): the objects they land on, ascending, each once.
fn root_row(heap: &Heap<'_>, all: &[Root], members: &[u32], edges: &mut Vec<u32>) {
    let start = edges.len();
    for &ri in members {
        if let Some(Landing::Object(t, _)) = all.get(ri as usize).map(|r| land(heap, r.target)) {
            edges.push(t.0);
        }
    }
    dedup_tail(edges, start);
}

/// Reads rows of the graph again from the core, for a search that runs after
/// the forward edges were freed ([`crate::shortest_paths`]): the same rows
/// [`ObjectGraph::build`] made, without its warnings (it gave them).
pub(crate) struct RowReader<'g, 'h, 'a> {
    heap: &'h Heap<'a>,
    roots: &'g [Root],
    graph: &'g ObjectGraph,
    /// A bit per object for a huge object's row (made on the first).
    seen: Vec<u64>,
    /// A root group's row.
    row: Vec<u32>,
}

impl<'g, 'h, 'a> RowReader<'g, 'h, 'a> {
    /// A reader of `graph`'s rows; `roots` is the root set it was built from.
    pub(crate) fn new(heap: &'h Heap<'a>, roots: &'g RootSet, graph: &'g ObjectGraph) -> Self {
        RowReader {
            heap,
            roots: roots.roots().as_slice(),
            graph,
            seen: Vec::new(),
            row: Vec::new(),
        }
    }

    /// Calls `f(node, row)` for each of `nodes`, in their order, with the node's
    /// forward row (ascending): an object's from its pointers (scanned in batches,
    /// in parallel), a root group's from its roots, the super-root's the root
    /// nodes. A node past the graph has an empty row.
    pub(crate) fn rows(&mut self, nodes: &[u32], mut f: impl FnMut(u32, &[u32])) {
        let n = self.graph.object_count();
        let mut rest = nodes;
        while let Some(&v) = rest.first() {
            // A run of objects, scanned together.
            let run = rest.iter().take_while(|&&v| v < n).count();
            if run > 0 {
                let (objects, after) = rest.split_at(run);
                self.object_rows(objects, &mut f);
                rest = after;
                continue;
            }
            rest = rest.get(1..).unwrap_or(&[]);
            self.row.clear();
            match self.graph.kind(NodeId(v)) {
                NodeKind::Root(gi) => root_row(
                    self.heap,
                    self.roots,
                    self.graph.root_members(gi),
                    &mut self.row,
                ),
                NodeKind::SuperRoot => self
                    .row
                    .extend(n..n.saturating_add(self.graph.root_groups().len() as u32)),
                NodeKind::Object(_) => {}
            }
            f(v, &self.row);
        }
    }

    /// [`RowReader::rows`] for a run of object nodes.
    fn object_rows(&mut self, ids: &[u32], f: &mut impl FnMut(u32, &[u32])) {
        let heap = self.heap;
        let par_batches = (4 * rayon::current_num_threads()).clamp(4, 256);
        // Objects waiting for their scan, in batches of `BATCH`.
        let mut batch: Vec<crate::heap::Object> = Vec::new();
        let mut batches: Vec<Vec<crate::heap::Object>> = Vec::new();
        for &v in ids {
            let obj = heap.object(ObjId(v));
            let huge = obj.as_ref().is_some_and(|o| {
                o.size > 8 * PART_WORDS
                    && heap.splittable_words(o).is_some_and(|w| w > 2 * PART_WORDS)
            });
            match obj {
                Some(obj) if !huge => {
                    batch.push(obj);
                    if batch.len() == BATCH {
                        batches.push(std::mem::take(&mut batch));
                        if batches.len() == par_batches {
                            scan_batches(heap, &mut batches, f);
                        }
                    }
                    continue;
                }
                _ => {}
            }
            // Rows in order: the objects before this one first.
            if !batch.is_empty() {
                batches.push(std::mem::take(&mut batch));
            }
            scan_batches(heap, &mut batches, f);
            match obj {
                Some(obj) => {
                    if self.seen.is_empty() {
                        let n = usize::try_from(heap.object_count()).unwrap_or(0);
                        self.seen = vec![0u64; n.div_ceil(64)];
                    }
                    let par = (2 * rayon::current_num_threads()).clamp(2, 64);
                    let (row, _) = scan_huge(heap, &obj, &mut self.seen, par, PART_WORDS);
                    f(v, &row);
                }
                None => f(v, &[]),
            }
        }
        if !batch.is_empty() {
            batches.push(std::mem::take(&mut batch));
        }
        scan_batches(heap, &mut batches, f);
    }
}

/// Scans `batches` in parallel and calls `f(id, row)` for their objects in order;
/// empties `batches`.
fn scan_batches(
    heap: &Heap<'_>,
    batches: &mut Vec<Vec<crate::heap::Object>>,
    f: &mut impl FnMut(u32, &[u32]),
) {
    let rows: Vec<BatchRows> = batches.par_iter().map(|b| scan_batch(heap, b)).collect();
    for (lens, edges, _) in rows {
        // One entry per object of the batch, in order.
        let mut at = 0usize;
        for (id, len) in lens {
            f(id, edges.get(at..at + len as usize).unwrap_or(&[]));
            at += len as usize;
        }
    }
    batches.clear();
}

/// Per object of a batch (id, number of distinct targets), the targets, and
/// warnings.
type BatchRows = (Vec<(u32, u32)>, Vec<u32>, Vec<String>);

/// Scans a batch of objects.
fn scan_batch(heap: &Heap<'_>, batch: &[crate::heap::Object]) -> BatchRows {
    scan_batch_with(heap, batch, LOOKUP_MAX)
}

/// [`scan_batch`], an object's pointers looked up `lookup_max` at a time when it
/// has more (tests lower it).
fn scan_batch_with(heap: &Heap<'_>, batch: &[crate::heap::Object], lookup_max: usize) -> BatchRows {
    let mut sc = BatchScan::new(heap);
    sc.lens.reserve(batch.len());
    let mut warnings = Vec::new();
    let mut mem = crate::heap::SpanMemory::default();
    for obj in batch {
        sc.cur_from = sc.raw.len();
        sc.cur_start = None;
        let r = heap.scan_pointers_with(obj, 0..u64::MAX, &mut mem, |_, target| {
            sc.raw.push(target);
            if sc.raw.len() >= lookup_max {
                sc.flush_partial();
            }
        });
        if let Err(e) = r {
            if warnings.len() < MAX_WARNINGS {
                warnings.push(format!("object {:#x}: {e}", obj.addr));
            }
        }
        sc.end_object(obj.id.0);
    }
    sc.flush();
    (sc.lens, sc.edges, warnings)
}

/// Object words in one part of a huge object's scan (2 MiB on 64-bit): objects of
/// more than two parts are scanned in parts, in parallel ([`scan_huge`]).
const PART_WORDS: u64 = 1 << 18;

/// The row of a huge object (one whose scan can be split:
/// [`Heap::splittable_words`]): its parts of `part` words scanned in parallel, `par`
/// at a time, each target kept once (`seen`, a bit per object, all clear, and clear
/// again on return: a pointer array of a billion slots over a million objects keeps
/// a million edges, not a billion while it is scanned), sorted. The first error of a
/// part's scan is returned as a warning; the other parts are scanned all the same.
fn scan_huge(
    heap: &Heap<'_>,
    obj: &crate::heap::Object,
    seen: &mut [u64],
    par: usize,
    part: u64,
) -> (Vec<u32>, Option<String>) {
    let words = heap.splittable_words(obj).unwrap_or(0);
    let part = part.max(1);
    let parts: Vec<std::ops::Range<u64>> = (0..words.div_ceil(part))
        .map(|i| i * part..((i + 1) * part).min(words))
        .collect();
    let mut row = Vec::new();
    let mut warning = None;
    for round in parts.chunks(par.max(1)) {
        let found: Vec<(Vec<u32>, Option<String>)> = round
            .par_iter()
            .map(|r| scan_part(heap, obj, r.clone()))
            .collect();
        for (targets, w) in found {
            if warning.is_none() {
                warning = w;
            }
            row.extend(targets.into_iter().filter(|&t| first_sight(seen, t)));
        }
    }
    forget(seen, &row);
    row.sort_unstable();
    (row, warning)
}

/// The targets of the pointers in words `range` of `obj` (repeats included), looked
/// up [`LOOKUP`] at a time, and the scan's error as a warning.
fn scan_part(
    heap: &Heap<'_>,
    obj: &crate::heap::Object,
    range: std::ops::Range<u64>,
) -> (Vec<u32>, Option<String>) {
    let mut sc = BatchScan::new(heap);
    let r = heap.scan_pointers_in(obj, range, |_, target| {
        sc.raw.push(target);
        if sc.raw.len() >= LOOKUP {
            sc.look_up_raw();
        }
    });
    sc.look_up_raw();
    (
        sc.edges,
        r.err().map(|e| format!("object {:#x}: {e}", obj.addr)),
    )
}

/// Pointers whose targets are looked up together ([`Heap::find_objects`]: the
/// cache misses of different pointers overlap), gathered over several objects.
const LOOKUP: usize = 1024;
/// At most this many pointers of one object wait for their lookup (a 1 GiB
/// pointer array is looked up piecewise).
const LOOKUP_MAX: usize = 64 * LOOKUP;

/// [`scan_batch`]'s state: the pointers scanned and not looked up yet, by object.
struct BatchScan<'h, 'a> {
    heap: &'h Heap<'a>,
    /// Pointers not looked up yet: those of the `pending` objects, then the current
    /// object's from `cur_from`.
    raw: Vec<u64>,
    spans: Vec<Option<usize>>,
    ids: Vec<Option<u32>>,
    /// Objects scanned whose pointers wait in `raw` (id, pointer count).
    pending: Vec<(u32, u32)>,
    cur_from: usize,
    /// Where the current object's row starts in `edges` once part of it has been
    /// looked up (an object with more than `LOOKUP_MAX` pointers).
    cur_start: Option<usize>,
    lens: Vec<(u32, u32)>,
    edges: Vec<u32>,
    /// A bit per heap object, made when an object first has more than
    /// `LOOKUP_MAX` pointers: such a row keeps each target once as it grows (an
    /// object whose scan cannot be split, [`scan_huge`], may hold a billion
    /// pointers to a million objects), and its bits are cleared when it ends.
    seen: Vec<u64>,
}

impl<'h, 'a> BatchScan<'h, 'a> {
    fn new(heap: &'h Heap<'a>) -> Self {
        BatchScan {
            heap,
            raw: Vec::with_capacity(LOOKUP + 64),
            spans: Vec::new(),
            ids: Vec::new(),
            pending: Vec::new(),
            cur_from: 0,
            cur_start: None,
            lens: Vec::new(),
            edges: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Looks up every pointer in `raw` into `ids`.
    fn look_up(&mut self) {
        self.heap
            .find_objects(&self.raw, &mut self.spans, &mut self.ids);
    }

    /// The edge of the pointer at `i` of `raw` (after `look_up`), if it is one.
    fn target(&self, i: usize) -> Option<u32> {
        match self.ids.get(i).copied().flatten() {
            Some(id) => Some(id),
            // Not inside an object's own bytes: maybe in its malloc header (rare).
            None => match land(self.heap, *self.raw.get(i)?) {
                Landing::Object(t, _) => Some(t.0),
                _ => None,
            },
        }
    }

    /// Looks up every pointer in `raw` and appends the targets to `edges`, as they
    /// come (no rows: [`scan_part`]).
    fn look_up_raw(&mut self) {
        self.look_up();
        for i in 0..self.raw.len() {
            if let Some(t) = self.target(i) {
                self.edges.push(t);
            }
        }
        self.raw.clear();
    }

    /// Ends the rows of the pending objects (after `look_up`).
    fn finish_pending(&mut self) {
        let mut at = 0usize;
        for k in 0..self.pending.len() {
            let (id, n) = self.pending[k];
            let start = self.edges.len();
            for i in at..at + n as usize {
                if let Some(t) = self.target(i) {
                    self.edges.push(t);
                }
            }
            at += n as usize;
            dedup_tail(&mut self.edges, start);
            self.lens.push((id, (self.edges.len() - start) as u32));
        }
        self.pending.clear();
    }

    /// Looks up everything waiting, the current object's pointers so far included.
    fn flush_partial(&mut self) {
        self.look_up();
        self.finish_pending();
        self.cur_start.get_or_insert(self.edges.len());
        if self.seen.is_empty() {
            let n = usize::try_from(self.heap.object_count()).unwrap_or(0);
            self.seen = vec![0u64; n.div_ceil(64)];
        }
        for i in self.cur_from..self.raw.len() {
            if let Some(t) = self.target(i) {
                if first_sight(&mut self.seen, t) {
                    self.edges.push(t);
                }
            }
        }
        self.raw.clear();
        self.cur_from = 0;
    }

    /// The current object (`id`) is scanned.
    fn end_object(&mut self, id: u32) {
        if let Some(start) = self.cur_start {
            // Part of it was looked up: the rest now, and its row ends.
            self.flush_partial();
            forget(&mut self.seen, self.edges.get(start..).unwrap_or(&[]));
            dedup_tail(&mut self.edges, start);
            self.lens.push((id, (self.edges.len() - start) as u32));
            self.cur_start = None;
            return;
        }
        self.pending
            .push((id, (self.raw.len() - self.cur_from) as u32));
        if self.raw.len() >= LOOKUP {
            self.flush();
        }
    }

    /// Looks up every pending object's pointers and ends their rows.
    fn flush(&mut self) {
        self.look_up();
        self.finish_pending();
        self.raw.clear();
    }
}

/// Sets object `t`'s bit in `seen`; whether it was clear (an id past its end: false).
fn first_sight(seen: &mut [u64], t: u32) -> bool {
    let Some(word) = seen.get_mut(t as usize / 64) else {
        return false;
    };
    let bit = 1u64 << (t % 64);
    let new = *word & bit == 0;
    *word |= bit;
    new
}

/// Clears the bits of `row`'s objects in `seen` (the words holding them: `seen` is
/// clear outside one row).
fn forget(seen: &mut [u64], row: &[u32]) {
    for &t in row {
        if let Some(word) = seen.get_mut(t as usize / 64) {
            *word = 0;
        }
    }
}

/// Sorts and deduplicates `v[start..]` in place.
fn dedup_tail(v: &mut Vec<u32>, start: usize) {
    let Some(tail) = v.get_mut(start..) else {
        return;
    };
    if tail.len() < 2 {
        return;
    }
    tail.sort_unstable();
    let mut w = 1;
    for r in 1..tail.len() {
        if tail[r] != tail[w - 1] {
            tail[w] = tail[r];
            w += 1;
        }
    }
    v.truncate(start + w);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reverse edges against a naive transposition, with rows of more than
    /// 65 535 referrers (their counts pass the 16-bit array into its map).
    #[test]
    fn reverse_rows_past_16_bits() {
        let n = 70_000u32;
        let mut edges: Vec<(u32, u32)> = (1..n).map(|s| (s, 0)).collect();
        edges.extend((1..n).map(|s| (s, n - 1)));
        edges.extend((0..n).step_by(7).map(|s| (s, 5)));
        edges.push((3, 3));
        let g = ObjectGraph::from_edges(n, &edges, &[vec![0, 4], vec![n - 1]]);
        let mut want: Vec<Vec<u32>> = vec![Vec::new(); g.node_count()];
        for v in 0..g.node_count() as u32 {
            for &t in g.successors(NodeId(v)) {
                want[t as usize].push(v);
            }
        }
        for (t, w) in want.iter().enumerate() {
            assert_eq!(g.predecessors(NodeId(t as u32)), &w[..], "row {t}");
        }
        assert!(g.predecessors(NodeId(0)).len() > usize::from(u16::MAX));
    }

    /// Calls `f` with each corpus case's name and heap (cases whose heap cannot be
    /// read are skipped).
    fn each_heap(mut f: impl FnMut(&str, &Heap<'_>)) {
        use corefile::{Core, OpenOptions};
        for case in testkit::cases() {
            let core = Core::open_with(
                case.core_path(),
                &OpenOptions::new().executable(case.exe_path()),
            )
            .unwrap();
            let proc = crate::Process::new(&core).unwrap();
            if let Ok(heap) = Heap::new(&proc) {
                f(&case.name, &heap);
            }
        }
    }

    /// Every object whose scan can be split, scanned in parts of 1 to 3 words (so
    /// most are many parts, in rounds of 1 to 3), gives the row the batch scan gives
    /// — on every corpus core.
    #[test]
    fn huge_object_rows_in_parts() {
        let mut split = 0;
        let mut headers = false;
        each_heap(|name, heap| {
            headers |= heap.layout() != crate::PointerLayout::ArenaBitmap;
            let mut seen = vec![0u64; (heap.object_count() as usize).div_ceil(64)];
            for obj in heap.objects() {
                let Some(words) = heap.splittable_words(&obj) else {
                    continue;
                };
                let (_, want, warnings) = scan_batch(heap, std::slice::from_ref(&obj));
                for (par, part) in [(1, 1), (2, 3), (3, 2)] {
                    let (row, warning) = scan_huge(heap, &obj, &mut seen, par, part);
                    assert!(seen.iter().all(|&w| w == 0), "{name}: bits left set");
                    assert_eq!(row, want, "{name}: {:#x} in parts of {part}", obj.addr);
                    assert_eq!(warning.is_some(), !warnings.is_empty(), "{name}");
                }
                split += usize::from(words > 1);
            }
        });
        // The arena bitmap (Go 1.21, 1.22 with noallocheaders): nothing splits.
        assert!(split > 0 || !headers, "no object scanned in parts");
    }

    /// Objects looked up a few pointers at a time (their rows kept free of repeats
    /// by the bitset as they grow) give the rows of the usual batch scan, on every
    /// corpus core — whatever bitmap the release keeps.
    #[test]
    fn long_rows_looked_up_in_pieces() {
        let mut long = 0;
        each_heap(|name, heap| {
            let objects: Vec<crate::heap::Object> = heap.objects().collect();
            for batch in objects.chunks(BATCH) {
                let want = scan_batch(heap, batch);
                for lookup_max in [1, 3] {
                    let got = scan_batch_with(heap, batch, lookup_max);
                    assert_eq!(got.0, want.0, "{name}: rows, pieces of {lookup_max}");
                    assert_eq!(got.1, want.1, "{name}: targets, pieces of {lookup_max}");
                }
                long += want.0.iter().filter(|r| r.1 > 3).count();
            }
        });
        assert!(long > 0 || testkit::cases().is_empty());
    }

    #[test]
    fn dedup() {
        let mut v = vec![9, 3, 1, 3, 2, 1];
        dedup_tail(&mut v, 1);
        assert_eq!(v, vec![9, 1, 2, 3]);
    }
}
