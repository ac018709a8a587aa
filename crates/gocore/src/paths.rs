//! Paths from the roots to an object, labelled with what a Go programmer writes.
//!
//! [`paths_to`] searches the [`ObjectGraph`] breadth first *backwards* from the
//! target over its reverse edges, so the first time it meets a root group it has a
//! shortest path from that root; it goes on until `limit` distinct roots (globals,
//! goroutines, specials, queues) are found. Cost: one pass over at most the whole
//! graph, the breadth-first frontier, and per node the next node towards the target:
//! 2 bytes (its index in the node's forward row) while the graph has its forward
//! edges, else 4.
//!
//! [`PathLabeler`] turns a node path into a [`LabelledPath`]: the root slot (the
//! global's name and offset, the goroutine's frame function and slot), then for each
//! hop the pointer slot it goes through, named with field names, array and slice
//! indices, and map keys (`string` and integer keys) where the holder's type is known
//! ([`Typing`]; runtime type descriptors, no DWARF needed), and as a byte offset
//! (`+16`) otherwise.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let roots = gocore::RootSet::collect(&proc, &heap)?;
//! let typing = gocore::Typing::compute(&proc, &heap)?;
//! let graph = gocore::ObjectGraph::build(&heap, &roots)?;
//! let (id, _) = heap.find_object(0xc000010000).ok_or("no object there")?;
//! let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, Some(&typing));
//! for path in gocore::paths_to(&graph, graph.object_node(id), 10) {
//!     println!("{}", labeler.label(&graph, &path));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;

use gobinary::{Kind, TypeDesc, TypeReader};

use crate::graph::{NodeId, NodeKind, ObjectGraph, RootGroup, RowReader};
use crate::heap::{Heap, ObjId};
use crate::process::Process;
use crate::roots::{land, Landing, Root, RootKind, RootSet};
use crate::types::Typing;
use crate::value::Decoder;
use crate::Goroutine;

const NONE: u32 = u32::MAX;
/// Deepest type nesting followed when naming a slot.
const MAX_DEPTH: usize = 32;
/// Hops labelled in a long path (the first and last half of them).
const MAX_STEPS: usize = 64;
/// Longest map key string shown.
const MAX_KEY: usize = 64;

/// Shortest paths to `target` from up to `limit` distinct root groups, shortest
/// first. Each path is the node sequence root node, object, …, `target` (the
/// super-root is not included). A root node as `target` gives the one-node path;
/// an unreachable target gives none.
///
/// ```
/// // root 0 -> 0 -> 1 -> 2, root 1 -> 2
/// let g = gocore::ObjectGraph::from_edges(3, &[(0, 1), (1, 2)], &[vec![0], vec![2]]);
/// let paths = gocore::paths_to(&g, gocore::NodeId(2), 10);
/// let raw: Vec<Vec<u32>> = paths.iter().map(|p| p.iter().map(|n| n.0).collect()).collect();
/// assert_eq!(raw, vec![vec![4, 2], vec![3, 0, 1, 2]]);
/// ```
pub fn paths_to(graph: &ObjectGraph, target: NodeId, limit: usize) -> Vec<Vec<NodeId>> {
    let (next, roots) = search_back(graph, target, limit);
    trace_paths(graph, &next, target, &roots)
}

/// [`paths_to`], freeing the graph's reverse edges
/// ([`ObjectGraph::release_predecessors`]) once the search has found its roots
/// and before the paths are traced, so a path of millions of nodes is not held
/// beside them — as `gocore path` runs it before the dominator tree.
///
/// ```
/// // root 0 -> 0 -> 1 -> 2, root 1 -> 2
/// let mut g = gocore::ObjectGraph::from_edges(3, &[(0, 1), (1, 2)], &[vec![0], vec![2]]);
/// let paths = gocore::paths_to_releasing(&mut g, gocore::NodeId(2), 10);
/// assert_eq!(paths, gocore::paths_to(&g, gocore::NodeId(2), 10));
/// assert_eq!(paths.len(), 2);
/// ```
pub fn paths_to_releasing(
    graph: &mut ObjectGraph,
    target: NodeId,
    limit: usize,
) -> Vec<Vec<NodeId>> {
    let (next, roots) = search_back(graph, target, limit);
    graph.release_predecessors();
    trace_paths(graph, &next, target, &roots)
}

/// [`paths_to`]'s search: the next node towards `target` from each node reached,
/// and the root nodes met, in order (at most `limit`).
fn search_back(graph: &ObjectGraph, target: NodeId, limit: usize) -> (Next, Vec<u32>) {
    let nodes = graph.node_count();
    let mut found = Vec::new();
    if target.index() >= nodes || limit == 0 || target == graph.super_root() {
        return (Next::Ids(Vec::new()), found);
    }
    let mut next = Next::new(graph);
    next.set(graph, target.0, target.0);
    // Only the frontier is held (a 10 M-long list has a frontier of one).
    let mut queue: std::collections::VecDeque<u32> = [target.0].into();
    while let Some(v) = queue.pop_front() {
        if let NodeKind::Root(_) = graph.kind(NodeId(v)) {
            found.push(v);
            if found.len() >= limit {
                break;
            }
            continue;
        }
        for &p in graph.predecessors(NodeId(v)) {
            if p != graph.super_root().0 && !next.reached(p) && next.set(graph, p, v) {
                queue.push_back(p);
            }
        }
    }
    (next, found)
}

/// The paths from each of `roots` to `target` along `next` (which needs only the
/// forward edges, if any).
fn trace_paths(
    graph: &ObjectGraph,
    next: &Next,
    target: NodeId,
    roots: &[u32],
) -> Vec<Vec<NodeId>> {
    let nodes = graph.node_count();
    roots
        .iter()
        .map(|&v| {
            let mut path = vec![NodeId(v)];
            let mut x = v;
            while x != target.0 {
                match next.get(graph, x) {
                    Some(y) if path.len() <= nodes => x = y,
                    _ => break,
                }
                path.push(NodeId(x));
            }
            path
        })
        .collect()
}

/// Nodes whose rows [`shortest_paths`] reads at a time (their scans run in
/// parallel).
const SEARCH_CHUNK: usize = 1 << 15;

/// One level of [`shortest_paths`]' search: its nodes, as a list while it holds
/// fewer than one node in 32 (4 bytes each), else as a bit per node (a heap map's
/// two million values are one level: 0.125 bytes a node, not 1.3).
enum Level {
    List(Vec<u32>),
    Bits(Vec<u64>),
}

impl Level {
    fn is_empty(&self) -> bool {
        match self {
            Level::List(l) => l.is_empty(),
            Level::Bits(b) => b.iter().all(|&w| w == 0),
        }
    }

    /// Adds node `v` (not in it yet) of a graph of `nodes` nodes.
    fn push(&mut self, v: u32, nodes: usize) {
        match self {
            Level::List(l) => {
                l.push(v);
                if l.len() > nodes / 32 + 64 {
                    let mut bits = vec![0u64; nodes.div_ceil(64)];
                    for &x in l.iter() {
                        if let Some(w) = bits.get_mut(x as usize / 64) {
                            *w |= 1 << (x % 64);
                        }
                    }
                    *self = Level::Bits(bits);
                }
            }
            Level::Bits(b) => {
                if let Some(w) = b.get_mut(v as usize / 64) {
                    *w |= 1 << (v % 64);
                }
            }
        }
    }

    /// Appends up to `max` nodes from position `at` on (a list index, or a bit
    /// index) to `out`, ascending for a sorted list, and moves `at` past them.
    fn take(&self, at: &mut usize, max: usize, out: &mut Vec<u32>) {
        match self {
            Level::List(l) => {
                let end = l.len().min(at.saturating_add(max));
                out.extend_from_slice(l.get(*at..end).unwrap_or(&[]));
                *at = end.max(*at);
            }
            Level::Bits(b) => {
                while out.len() < max {
                    let Some(&w) = b.get(*at / 64) else {
                        return;
                    };
                    let w = w & (u64::MAX << (*at % 64));
                    if w == 0 {
                        *at = (*at / 64 + 1) * 64;
                        continue;
                    }
                    let bit = w.trailing_zeros() as usize;
                    let v = (*at / 64) * 64 + bit;
                    out.push(v as u32);
                    *at = v + 1;
                }
            }
        }
    }
}

/// A shortest path from a root to each of `targets`, in their order: the node
/// sequence root node, object, …, target (`None` for a target no root reaches or
/// the super-root; a root node gives the one-node path). One breadth-first search
/// forward from the super-root finds them all, level by level, each level's nodes
/// in ascending order: a node's predecessor on its path is the lowest-numbered
/// node of the level before that points to it, so the result does not depend on
/// the thread count. `roots` is the root set `graph` was built from.
///
/// It needs no reverse edges: it follows the graph's forward edges while the graph
/// has them, else reads each row again from the core
/// ([`ObjectGraph::release_successors`], as the retention commands do after the
/// dominator tree) — the heap's pointers scanned as [`ObjectGraph::build`] did,
/// on all cores, in address order. It keeps a node id per node and the search's
/// current and next level (a list, or a bit per node when a level is wide).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let heap = gocore::Heap::new(&proc)?;
/// # let roots = gocore::RootSet::collect(&proc, &heap)?;
/// let mut graph = gocore::ObjectGraph::build(&heap, &roots)?;
/// let dom = gocore::Dominators::compute_releasing(&mut graph, &heap);
/// let (id, _) = heap.find_object(0xc000010000).ok_or("no object there")?;
/// let paths = gocore::shortest_paths(&heap, &roots, &graph, &[graph.object_node(id)]);
/// if let Some(p) = &paths[0] {
///     println!("{} hops from {}", p.len() - 1, graph.describe(p[0], &heap));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn shortest_paths(
    heap: &Heap<'_>,
    roots: &RootSet,
    graph: &ObjectGraph,
    targets: &[NodeId],
) -> Vec<Option<Vec<NodeId>>> {
    let mut reader = None;
    search(graph, targets, |nodes, visit| {
        reader
            .get_or_insert_with(|| RowReader::new(heap, roots, graph))
            .rows(nodes, visit)
    })
}

/// [`shortest_paths`], reading rows with `read(nodes, visit)` (`visit(node, row)`
/// for each node, in order) when the graph has no forward edges.
fn search(
    graph: &ObjectGraph,
    targets: &[NodeId],
    mut read: impl FnMut(&[u32], &mut dyn FnMut(u32, &[u32])),
) -> Vec<Option<Vec<NodeId>>> {
    let nodes = graph.node_count();
    let sup = graph.super_root().0;
    let wanted = |t: &NodeId| t.index() < nodes && t.0 != sup;
    if !targets.iter().any(wanted) {
        return vec![None; targets.len()];
    }
    // The node each reached node was reached from (the super-root from itself).
    let mut from = vec![NONE; nodes];
    if let Some(x) = from.get_mut(sup as usize) {
        *x = sup;
    }
    let mut missing = targets.iter().filter(|t| wanted(t)).count();
    // Level by level, each in ascending node order (objects in address order).
    let mut level = Level::List(vec![sup]);
    let mut chunk: Vec<u32> = Vec::new();
    while missing > 0 && !level.is_empty() {
        let mut next = Level::List(Vec::new());
        let mut cursor = 0usize;
        loop {
            chunk.clear();
            level.take(&mut cursor, SEARCH_CHUNK, &mut chunk);
            if chunk.is_empty() {
                break;
            }
            let mut visit = |v: u32, row: &[u32]| {
                for &t in row {
                    if let Some(x) = from.get_mut(t as usize) {
                        if *x == NONE {
                            *x = v;
                            next.push(t, nodes);
                        }
                    }
                }
            };
            if graph.has_successors() {
                for &v in &chunk {
                    visit(v, graph.successors(NodeId(v)));
                }
            } else {
                read(&chunk, &mut visit);
            }
        }
        if let Level::List(l) = &mut next {
            l.sort_unstable();
        }
        level = next;
        missing = targets
            .iter()
            .filter(|t| wanted(t) && from.get(t.index()) == Some(&NONE))
            .count();
    }
    targets
        .iter()
        .map(|t| {
            if !wanted(t) || from.get(t.index()).is_none_or(|&x| x == NONE) {
                return None;
            }
            let mut path = vec![*t];
            let mut x = t.0;
            loop {
                let p = *from.get(x as usize)?;
                if p == sup {
                    break;
                }
                if path.len() > nodes {
                    return None;
                }
                path.push(NodeId(p));
                x = p;
            }
            path.reverse();
            Some(path)
        })
        .collect()
}

/// [`paths_to`]'s map from each node it reached to the next node towards the
/// target. While the graph has its forward edges, the next node is kept as its
/// index in the node's forward row: 2 bytes a node instead of 4 (an index of
/// 65 534 and more in a side map), beside both edge directions.
enum Next {
    /// Node ids (`NONE`: not reached).
    Ids(Vec<u32>),
    /// Indices into the forward rows (`FAR`: in `far`; `u16::MAX`: not reached).
    Index {
        at: Vec<u16>,
        far: HashMap<u32, u32>,
    },
}

/// Marks an index kept in [`Next::Index`]'s side map.
const FAR: u16 = u16::MAX - 1;

impl Next {
    fn new(graph: &ObjectGraph) -> Next {
        let nodes = graph.node_count();
        if graph.has_successors() {
            Next::Index {
                at: vec![u16::MAX; nodes],
                far: HashMap::new(),
            }
        } else {
            Next::Ids(vec![NONE; nodes])
        }
    }

    fn reached(&self, v: u32) -> bool {
        match self {
            Next::Ids(n) => n.get(v as usize).is_none_or(|&x| x != NONE),
            Next::Index { at, .. } => at.get(v as usize).is_none_or(|&x| x != u16::MAX),
        }
    }

    /// Records `to` as the next node from `v` (false: `to` is not among `v`'s
    /// forward edges, or `v` is out of range).
    fn set(&mut self, graph: &ObjectGraph, v: u32, to: u32) -> bool {
        match self {
            Next::Ids(n) => match n.get_mut(v as usize) {
                Some(x) => {
                    *x = to;
                    true
                }
                None => false,
            },
            Next::Index { at, far } => {
                let Some(x) = at.get_mut(v as usize) else {
                    return false;
                };
                if v == to {
                    // The target: never followed.
                    *x = 0;
                    return true;
                }
                let row = graph.successors(NodeId(v));
                let Some(i) = row
                    .binary_search(&to)
                    .ok()
                    .or_else(|| row.iter().position(|&y| y == to))
                else {
                    return false;
                };
                match u16::try_from(i) {
                    Ok(i) if i < FAR => *x = i,
                    _ => {
                        *x = FAR;
                        far.insert(v, i as u32);
                    }
                }
                true
            }
        }
    }

    fn get(&self, graph: &ObjectGraph, v: u32) -> Option<u32> {
        match self {
            Next::Ids(n) => n.get(v as usize).copied().filter(|&x| x != NONE),
            Next::Index { at, far } => {
                let i = match *at.get(v as usize)? {
                    u16::MAX => return None,
                    FAR => *far.get(&v)? as usize,
                    i => usize::from(i),
                };
                graph.successors(NodeId(v)).get(i).copied()
            }
        }
    }
}

/// One hop of a [`LabelledPath`]: the object reached and how.
///
/// ```
/// let s = gocore::PathStep { addr: 0xc000010000, offset: 0, via: ".next".into(), type_name: Some("main.ListNode".into()), size: 48 };
/// assert_eq!(s.via, ".next");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStep {
    /// The object's address.
    pub addr: u64,
    /// Where in the object the pointer lands (0 for its start).
    pub offset: u64,
    /// The slot of the previous object (or root) holding the pointer: `.field`,
    /// `[3]`, `["key"]`, `.f[2].g`, or `+16` when the holder's type is unknown.
    pub via: String,
    /// The object's type, when known.
    pub type_name: Option<String>,
    /// The object's size (whole slot).
    pub size: u64,
}

/// A path from a root to an object, labelled. See the [module documentation](self).
///
/// ```
/// let p = gocore::LabelledPath {
///     root: gocore::RootGroup::Global { symbol: Some("main.gList".into()), addr: 0x5000 },
///     root_slot: Some(gocore::Root { kind: gocore::RootKind::Global { symbol: Some("main.gList".into()), offset: 0 }, slot: 0x5000, target: 0xc000010000 }),
///     root_label: "main.gList".into(),
///     steps: vec![gocore::PathStep { addr: 0xc000010000, offset: 0, via: String::new(), type_name: Some("main.ListNode".into()), size: 48 }],
///     elided: 0,
///     elided_after: 0,
/// };
/// assert_eq!(p.to_string(), "main.gList → 0xc000010000 (main.ListNode)");
/// let mut q = p.clone();
/// q.steps.push(gocore::PathStep { addr: 0xc000010040, offset: 0, via: ".Next".into(), type_name: None, size: 48 });
/// assert_eq!(q.to_string(), "main.gList → 0xc000010000 (main.ListNode) .Next → 0xc000010040");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledPath {
    /// The root group the path starts from.
    pub root: RootGroup,
    /// The root slot holding the first pointer, when known.
    pub root_slot: Option<Root>,
    /// The root slot as text: `main.gServer`, `main.gServer+8`, `goroutine 18
    /// main.awaitReply varp-24`, `finalizer of 0x…` …
    pub root_label: String,
    /// The objects from the root's target to the path's target; in a path of
    /// more than 64 hops, only the first and last 32.
    pub steps: Vec<PathStep>,
    /// Hops left out of a long path (0 for most), after `elided_after` steps.
    pub elided: u64,
    /// How many of `steps` come before the left-out hops.
    pub elided_after: u64,
}

impl fmt::Display for LabelledPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root_label)?;
        for (i, s) in self.steps.iter().enumerate() {
            if self.elided > 0 && i as u64 == self.elided_after {
                write!(f, " → … {} hops …", self.elided)?;
            }
            if s.via.is_empty() {
                write!(f, " → {:#x}", s.addr)?;
            } else {
                write!(f, " {} → {:#x}", s.via, s.addr)?;
            }
            if s.offset != 0 {
                write!(f, "+{}", s.offset)?;
            }
            if let Some(t) = &s.type_name {
                write!(f, " ({t})")?;
            }
        }
        Ok(())
    }
}

/// One referrer of an object: see [`PathLabeler::referrers`].
///
/// ```
/// let r = gocore::Referrer { node: gocore::NodeId(4), via: ".next".into(), offset: 0, root_slot: None };
/// assert_eq!(r.via, ".next");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// The referring node (an object or a root group).
    pub node: NodeId,
    /// The slot holding the pointer: a field path or `+offset` in an object, the root
    /// slot's label for a root group.
    pub via: String,
    /// Where in the target the pointer lands.
    pub offset: u64,
    /// For a root group, the root slot.
    pub root_slot: Option<Root>,
}

/// Names the slots along paths. See the [module documentation](self).
pub struct PathLabeler<'p, 'a> {
    proc: &'p Process<'a>,
    heap: &'p Heap<'a>,
    roots: &'p [Root],
    typing: Option<&'p Typing>,
    reader: Option<TypeReader<'p, 'a>>,
    /// For naming frame slots (DWARF), built on first need.
    decoder: OnceCell<Decoder<'p, 'a>>,
    goroutines: OnceCell<HashMap<u64, Goroutine>>,
}

impl fmt::Debug for PathLabeler<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathLabeler")
            .field("typed", &self.typing.is_some())
            .finish_non_exhaustive()
    }
}

impl<'p, 'a> PathLabeler<'p, 'a> {
    /// A labeler over the same heap and roots the graph was built from; `typing`
    /// names fields (without it, slots are byte offsets).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        proc: &'p Process<'a>,
        heap: &'p Heap<'a>,
        roots: &'p RootSet,
        typing: Option<&'p Typing>,
    ) -> PathLabeler<'p, 'a> {
        let reader = typing.and_then(|_| {
            let md = proc.binary().moduledata().ok()?;
            proc.binary().type_reader(&md).ok()
        });
        PathLabeler {
            proc,
            heap,
            roots: roots.roots().as_slice(),
            typing,
            reader,
            decoder: OnceCell::new(),
            goroutines: OnceCell::new(),
        }
    }

    /// The type name of an object, when known.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, None);
    /// assert_eq!(labeler.type_name(gocore::ObjId(0)), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn type_name(&self, id: ObjId) -> Option<String> {
        if let Some(t) = self.typing.and_then(|t| t.object_type_name(id)) {
            return Some(t);
        }
        let obj = self.heap.object(id)?;
        self.heap.object_type(&obj).map(|t| t.display_name())
    }

    /// Labels a path from [`paths_to`] (root node first). Nodes that are not objects
    /// after the first are skipped.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let graph = gocore::ObjectGraph::build(&heap, &roots)?;
    /// let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, None);
    /// for p in gocore::paths_to(&graph, gocore::NodeId(0), 3) {
    ///     let lp = labeler.label(&graph, &p);
    ///     println!("{} hops from {}", lp.steps.len(), lp.root);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn label(&self, graph: &ObjectGraph, path: &[NodeId]) -> LabelledPath {
        let mut root = RootGroup::Queue { kind: "(none)" };
        let mut root_slot = None;
        // Long paths keep their first and last hops.
        let (head, elided) = if path.len() > MAX_STEPS + 1 {
            (MAX_STEPS / 2 + 1, path.len() - 1 - MAX_STEPS)
        } else {
            (path.len(), 0)
        };
        let mut steps: Vec<PathStep> = Vec::with_capacity(path.len().min(MAX_STEPS + 1));
        for (i, &n) in path.iter().enumerate() {
            if i >= head && i < head + elided {
                continue;
            }
            let prev = i.checked_sub(1).and_then(|j| path.get(j)).copied();
            match graph.kind(n) {
                NodeKind::Root(gi) if i == 0 => {
                    root = graph
                        .root_groups()
                        .get(gi as usize)
                        .cloned()
                        .unwrap_or(RootGroup::Queue { kind: "(none)" });
                }
                NodeKind::Object(id) => {
                    let Some(obj) = self.heap.object(id) else {
                        continue;
                    };
                    let (via, offset) = match prev.map(|p| graph.kind(p)) {
                        Some(NodeKind::Root(gi)) => {
                            let r = self.root_member_to(graph, gi, id);
                            let off = r.map_or(0, |r| r.target.wrapping_sub(obj.addr));
                            root_slot = r.cloned();
                            (String::new(), off)
                        }
                        Some(NodeKind::Object(from)) => self.edge_label(from, id),
                        _ => (String::new(), 0),
                    };
                    steps.push(PathStep {
                        addr: obj.addr,
                        offset: if offset < obj.size { offset } else { 0 },
                        via,
                        type_name: self.type_name(id),
                        size: obj.size + (obj.addr - obj.slot),
                    });
                }
                _ => {}
            }
        }
        let root_label = match &root_slot {
            Some(r) => self.root_label(r),
            None => root.to_string(),
        };
        LabelledPath {
            root,
            root_slot,
            root_label,
            steps,
            elided: elided as u64,
            elided_after: if elided > 0 { head as u64 - 1 } else { 0 },
        }
    }

    /// Who points at `target`: each referrer (object or root group) with the slot
    /// holding the pointer, objects first in address order. `live` (from
    /// [`Dominators::is_reachable`](crate::Dominators::is_reachable)) tells live
    /// referrers from garbage ones.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let graph = gocore::ObjectGraph::build(&heap, &roots)?;
    /// let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, None);
    /// for r in labeler.referrers(&graph, gocore::NodeId(0)) {
    ///     println!("{}{}", graph.describe(r.node, &heap), r.via);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn referrers(&self, graph: &ObjectGraph, target: NodeId) -> Vec<Referrer> {
        let Some(tid) = graph.object(target) else {
            return Vec::new();
        };
        graph
            .referrers(target)
            .map(|r| match graph.kind(r) {
                NodeKind::Object(from) => {
                    let (via, offset) = self.edge_label(from, tid);
                    Referrer {
                        node: r,
                        via,
                        offset,
                        root_slot: None,
                    }
                }
                NodeKind::Root(gi) => {
                    let slot = self.root_member_to(graph, gi, tid).cloned();
                    let offset = match (&slot, self.heap.object(tid)) {
                        (Some(s), Some(o)) => s.target.wrapping_sub(o.addr),
                        _ => 0,
                    };
                    Referrer {
                        node: r,
                        via: slot
                            .as_ref()
                            .map(|r| self.root_label(r))
                            .unwrap_or_default(),
                        offset,
                        root_slot: slot,
                    }
                }
                NodeKind::SuperRoot => Referrer {
                    node: r,
                    via: String::new(),
                    offset: 0,
                    root_slot: None,
                },
            })
            .collect()
    }

    /// A root slot as text: `main.gServer`, `main.gServer+8`, and for a goroutine
    /// frame slot the variable holding it when DWARF locates one (`goroutine 18
    /// main.awaitReply req`, `… r+8` inside it), else `varp±N`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, None);
    /// for r in roots.roots().take(3) { println!("{}", labeler.root_label(r)); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn root_label(&self, r: &Root) -> String {
        let (goroutine, function, pc) = match &r.kind {
            RootKind::Frame {
                goroutine,
                function,
                pc,
                ..
            }
            | RootKind::StackObject {
                goroutine,
                function,
                pc,
                ..
            } => (*goroutine, function, *pc),
            _ => return root_slot_label(r),
        };
        match self.frame_variable(goroutine, pc, r.slot) {
            Some((name, 0)) => format!("goroutine {goroutine} {function} {name}"),
            Some((name, off)) => format!("goroutine {goroutine} {function} {name}+{off}"),
            None => root_slot_label(r),
        }
    }

    /// The DWARF variable of goroutine `gid`'s physical frame at `pc` whose memory
    /// holds `slot`, and the slot's offset in it.
    fn frame_variable(&self, gid: u64, pc: u64, slot: u64) -> Option<(String, u64)> {
        let gs = self.goroutines.get_or_init(|| {
            self.proc
                .goroutines()
                .map(|it| it.filter_map(|g| g.ok()).map(|g| (g.id, g)).collect())
                .unwrap_or_default()
        });
        let g = gs.get(&gid)?;
        let dec = self
            .decoder
            .get_or_init(|| Decoder::new(self.proc, Some(self.heap), self.typing));
        let frame = g
            .frames(self.proc)
            .take(100_000)
            .map_while(Result::ok)
            .find(|f| f.pc == pc && !f.inlined)?;
        let vars = dec.frame_variables(&frame).ok()?;
        vars.into_iter().find_map(|v| {
            let a = v.addr?;
            (slot >= a && slot < a + v.size.max(1)).then(|| (v.name, slot - a))
        })
    }

    /// The first root of group `gi` whose pointer lands in `id`.
    fn root_member_to(&self, graph: &ObjectGraph, gi: u32, id: ObjId) -> Option<&'p Root> {
        graph.root_members(gi).iter().find_map(|&ri| {
            let r = self.roots.get(ri as usize)?;
            match land(self.heap, r.target) {
                Landing::Object(t, _) if t == id => Some(r),
                _ => None,
            }
        })
    }

    /// How object `from` points at `to`: the slot's name and the offset into `to`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let labeler = gocore::PathLabeler::new(&proc, &heap, &roots, None);
    /// let (via, off) = labeler.edge_label(gocore::ObjId(0), gocore::ObjId(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn edge_label(&self, from: ObjId, to: ObjId) -> (String, u64) {
        let Some(obj) = self.heap.object(from) else {
            return (String::new(), 0);
        };
        let Some(to_obj) = self.heap.object(to) else {
            return (String::new(), 0);
        };
        let slot = self.heap.pointers(&obj).find_map(|p| {
            let p = p.ok()?;
            if p.target == 0 {
                return None;
            }
            match land(self.heap, p.target) {
                Landing::Object(t, _) if t == to => Some(p),
                _ => None,
            }
        });
        let Some(p) = slot else {
            return (String::new(), 0);
        };
        let into = p.target.wrapping_sub(to_obj.addr);
        let into = if into < to_obj.size { into } else { 0 };
        let named = self.name_slot(from, obj.addr, p.offset);
        (named.unwrap_or_else(|| format!("+{}", p.offset)), into)
    }

    /// `.field[2].g` for byte `off` of object `id` at `addr`, from its type.
    fn name_slot(&self, id: ObjId, addr: u64, off: u64) -> Option<String> {
        let typing = self.typing?;
        let reader = self.reader.as_ref()?;
        let ot = typing.object_type(id)?;
        let entry = typing.type_entry(ot.ty)?;
        let rel = off.checked_sub(ot.offset)?;
        let size = entry.size.max(1);
        let desc = reader
            .type_at(entry.addr.wrapping_sub(self.proc.load_bias()))
            .ok()?;
        let mut out = String::new();
        let mut within = rel;
        if ot.elems > 1 || rel >= size {
            let i = rel / size;
            out.push_str(&format!("[{i}]"));
            within = rel % size;
        }
        let base = addr + ot.offset + (rel - within);
        self.name_in(reader, &desc, base, within, &mut out, 0);
        Some(out)
    }

    /// Appends the path to byte `off` of a value of type `t` stored at `addr`.
    fn name_in(
        &self,
        r: &TypeReader<'_, '_>,
        t: &TypeDesc,
        addr: u64,
        off: u64,
        out: &mut String,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        match t.kind {
            Kind::Struct => {
                let Ok(fields) = r.fields(t) else { return };
                let mut hit = None;
                for (i, f) in fields.iter().enumerate() {
                    let Ok(ft) = r.type_at(f.typ) else { continue };
                    if off >= f.offset && off < f.offset + ft.size.max(1) {
                        hit = Some((i, ft));
                        break;
                    }
                }
                let Some((i, ft)) = hit else { return };
                let f = &fields[i];
                // Map internals: classic bucket `elems[i]` / Swiss slot `elem`
                // named by the key next to it.
                if let Some(key) = self.map_key(r, &fields, f, &ft, addr, off) {
                    out.push_str(&key);
                    return;
                }
                out.push('.');
                out.push_str(&f.name);
                self.name_in(r, &ft, addr + f.offset, off - f.offset, out, depth + 1);
            }
            Kind::Array => {
                let Ok(Some(ea)) = r.elem(t) else { return };
                let Ok(et) = r.type_at(ea) else { return };
                let es = et.size.max(1);
                let i = off / es;
                out.push_str(&format!("[{i}]"));
                self.name_in(r, &et, addr + i * es, off % es, out, depth + 1);
            }
            _ => {}
        }
    }

    /// `["key"]` when field `f` of a map bucket or Swiss slot holds the elements and
    /// a sibling holds the keys.
    fn map_key(
        &self,
        r: &TypeReader<'_, '_>,
        fields: &[gobinary::StructField],
        f: &gobinary::StructField,
        ft: &TypeDesc,
        addr: u64,
        off: u64,
    ) -> Option<String> {
        let (key_field, index) = match f.name.as_str() {
            // Classic bucket: keys [8]K, elems [8]V.
            "elems" if ft.kind == Kind::Array => {
                let ea = r.elem(ft).ok()??;
                let es = r.type_at(ea).ok()?.size.max(1);
                (
                    fields.iter().find(|g| g.name == "keys")?,
                    Some((off - f.offset) / es),
                )
            }
            // Swiss slot: key K, elem V.
            "elem" => (fields.iter().find(|g| g.name == "key")?, None),
            _ => return None,
        };
        let kt = r.type_at(key_field.typ).ok()?;
        let (kt, kaddr) = match index {
            Some(i) => {
                let ea = r.elem(&kt).ok()??;
                let et = r.type_at(ea).ok()?;
                let a = addr + key_field.offset + i * et.size;
                (et, a)
            }
            None => (kt, addr + key_field.offset),
        };
        let v = self.render_key(&kt, kaddr)?;
        Some(format!("[{v}]"))
    }

    fn render_key(&self, kt: &TypeDesc, addr: u64) -> Option<String> {
        let core = self.proc.core();
        match kt.kind {
            Kind::String => {
                let p = core.read_ptr(addr).ok()?;
                let n = core.read_u64(addr + 8).ok()?;
                let shown = n.min(MAX_KEY as u64) as usize;
                let bytes = core.read(p, shown).ok()?;
                let s = String::from_utf8_lossy(&bytes);
                let more = if n > shown as u64 { "…" } else { "" };
                Some(format!("{:?}", format!("{s}{more}")))
            }
            Kind::Int | Kind::Int64 => Some((core.read_u64(addr).ok()? as i64).to_string()),
            Kind::Int32 => Some((core.read_u32(addr).ok()? as i32).to_string()),
            Kind::Uint | Kind::Uint64 | Kind::Uintptr => {
                Some(core.read_u64(addr).ok()?.to_string())
            }
            Kind::Uint32 => Some(core.read_u32(addr).ok()?.to_string()),
            Kind::Pointer => Some(format!("{:#x}", core.read_ptr(addr).ok()?)),
            _ => None,
        }
    }
}

/// `main.gServer`, `main.gServer+8`, `goroutine 18 main.awaitReply varp-24` …
fn root_slot_label(r: &Root) -> String {
    match &r.kind {
        RootKind::Global {
            symbol: Some(s),
            offset: 0,
        } => s.clone(),
        RootKind::Global {
            symbol: Some(s),
            offset,
        } => format!("{s}+{offset}"),
        RootKind::Global { symbol: None, .. } => format!("global word {:#x}", r.slot),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A level that outgrows its list becomes a bitset, and both give their nodes
    /// back in ascending order, chunk by chunk.
    #[test]
    fn levels_as_lists_and_bits() {
        let nodes = 64 * 100;
        let take_all = |l: &Level, max: usize| {
            let (mut at, mut all, mut chunk) = (0usize, Vec::new(), Vec::new());
            loop {
                chunk.clear();
                l.take(&mut at, max, &mut chunk);
                if chunk.is_empty() {
                    return all;
                }
                assert!(chunk.len() <= max);
                all.extend_from_slice(&chunk);
            }
        };
        let mut small = Level::List(Vec::new());
        for v in [5u32, 3, 4000] {
            small.push(v, nodes);
        }
        assert!(matches!(small, Level::List(_)));
        if let Level::List(l) = &mut small {
            l.sort_unstable();
        }
        assert_eq!(take_all(&small, 2), vec![3, 5, 4000]);
        let mut wide = Level::List(Vec::new());
        let want: Vec<u32> = (0..nodes as u32)
            .filter(|v| v % 3 == 0 || *v == 6399)
            .collect();
        for &v in want.iter().rev() {
            wide.push(v, nodes);
        }
        assert!(matches!(wide, Level::Bits(_)));
        assert!(!wide.is_empty());
        assert_eq!(take_all(&wide, 7), want);
        assert!(Level::Bits(vec![0; 4]).is_empty() && Level::List(vec![]).is_empty());
    }

    /// The forward search over a graph's edges: shortest paths, ties to the lower
    /// root node and the lower referrer, unreachable and out-of-range targets.
    #[test]
    fn forward_search_over_the_edges() {
        // root 0 -> 0 -> 1 -> 3; root 1 -> 2 -> 3; 4 unreachable; 2 -> 5, 1 -> 5.
        let g = ObjectGraph::from_edges(
            6,
            &[(0, 1), (1, 3), (2, 3), (2, 5), (1, 5)],
            &[vec![0], vec![2]],
        );
        let (r0, r1) = (6u32, 7u32);
        let targets = [3u32, 5, 4, 2, r1, 99, g.super_root().0, 1];
        let raw: Vec<Option<Vec<u32>>> = search_edges(&g, &targets)
            .into_iter()
            .map(|p| p.map(|p| p.iter().map(|x| x.0).collect()))
            .collect();
        assert_eq!(
            raw,
            vec![
                Some(vec![r1, 2, 3]),
                Some(vec![r1, 2, 5]),
                None,
                Some(vec![r1, 2]),
                Some(vec![r1]),
                None,
                None,
                Some(vec![r0, 0, 1]),
            ]
        );
        // No roots: nothing is reached.
        let rootless = ObjectGraph::from_edges(3, &[(0, 1)], &[]);
        assert_eq!(search_edges(&rootless, &[1, 0]), vec![None, None]);
        // Every path is as long as the backward search's.
        for &t in &[0u32, 1, 2, 3, 5] {
            let back = paths_to(&g, NodeId(t), 1);
            let fwd = search_edges(&g, &[t]);
            assert_eq!(
                fwd[0].as_ref().map(Vec::len),
                back.first().map(Vec::len),
                "{t}"
            );
        }
    }

    /// [`shortest_paths`] on a graph with its forward edges (no heap read).
    fn search_edges(g: &ObjectGraph, targets: &[u32]) -> Vec<Option<Vec<NodeId>>> {
        let t: Vec<NodeId> = targets.iter().map(|&x| NodeId(x)).collect();
        search(g, &t, |_, _| unreachable!("the graph has its edges"))
    }

    /// A target at an index past 16 bits in its holder's row (kept in the side
    /// map), and the same search once the forward edges are freed (node ids).
    #[test]
    fn far_row_indices_and_released_edges() {
        let n = 70_000u32;
        let edges: Vec<(u32, u32)> = (1..n).map(|t| (0, t)).collect();
        let mut g = ObjectGraph::from_edges(n, &edges, &[vec![0], vec![n - 2]]);
        let raw = |g: &ObjectGraph, t: u32| -> Vec<Vec<u32>> {
            paths_to(g, NodeId(t), 10)
                .iter()
                .map(|p| p.iter().map(|x| x.0).collect())
                .collect()
        };
        let (r0, r1) = (n, n + 1);
        let far = raw(&g, n - 1);
        assert_eq!(far, vec![vec![r0, 0, n - 1]]);
        assert_eq!(raw(&g, n - 2), vec![vec![r1, n - 2], vec![r0, 0, n - 2]]);
        assert_eq!(raw(&g, 0), vec![vec![r0, 0]]);
        g.release_successors();
        assert_eq!(raw(&g, n - 1), far);
        assert_eq!(raw(&g, n - 2), vec![vec![r1, n - 2], vec![r0, 0, n - 2]]);
    }
}
