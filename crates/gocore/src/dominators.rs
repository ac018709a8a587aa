//! The dominator tree of the object graph and retained sizes.
//!
//! Node `d` *dominates* `n` when every path from the super-root to `n` passes
//! through `d`; the *immediate* dominator of `n` is its closest strict dominator, and
//! these edges form the dominator tree, rooted at the super-root with the root groups
//! (globals, goroutines, specials, queues) as its first level. The *retained size* of
//! a node is the bytes that would be freed if it were gone: its own size plus the
//! retained sizes of its children in the tree. Sizes are whole slots
//! (`mspan.elemsize`), so the super-root retains exactly the live heap bytes
//! ([`Reachability::live_bytes`](crate::Reachability::live_bytes)).
//!
//! [`Dominators::compute`] uses the Semi-NCA algorithm (Lengauer–Tarjan's
//! semidominators with path compression, then nearest common ancestors in the DFS
//! tree), every step iterative: a 10-million-node list does not recurse. Memory is
//! a few `u32` per node while computing (state read in order, such as the DFS path
//! and parents, in a byte code of about a byte a node; the forward edges can be
//! freed first, [`Dominators::compute_releasing`]); the result keeps one `u32` per node
//! (immediate dominator), one per reachable node (the dominator tree in preorder),
//! the retained bytes as one `u32` per node in units of 8 bytes (`u64` past 32 GiB
//! retained), and the tree's children on first use.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let roots = gocore::RootSet::collect(&proc, &heap)?;
//! let graph = gocore::ObjectGraph::build(&heap, &roots)?;
//! let dom = gocore::Dominators::compute(&graph, &heap);
//! println!("live heap: {} bytes", dom.retained(graph.super_root()));
//! for (node, bytes) in dom.top_objects(&graph, 10) {
//!     println!("{bytes:>12} {}", graph.describe(node, &heap));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::OnceLock;

use crate::graph::{NodeId, ObjectGraph};
use crate::heap::Heap;
use crate::progress::{Progress, Stage, STEP};

/// No node (unreachable, or the super-root's parent).
const NONE: u32 = u32::MAX;

/// Consumed reverse-edge pairs freed at a time by the semidominator pass (1 MiB).
const PAIRS_FREED: usize = 1 << 17;

/// The dominator tree and retained sizes. See the [module documentation](self).
#[derive(Debug)]
pub struct Dominators {
    /// Immediate dominator per node (`NONE` for the super-root and unreachable
    /// nodes).
    idom: Vec<u32>,
    /// Retained bytes per node (0 for unreachable nodes).
    retained: Retained,
    /// Reachable nodes in a preorder of the dominator tree: a node's dominators
    /// come before it, and the nodes it dominates right after it, as one interval.
    order: Vec<u32>,
    reachable: u32,
    children: OnceLock<(Vec<u32>, Vec<u32>)>,
}

impl Dominators {
    /// Computes the dominator tree of `graph` from its super-root, and retained sizes
    /// with each object's slot size from `heap` (root nodes and the super-root weigh
    /// nothing themselves).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// # let graph = gocore::ObjectGraph::build(&heap, &roots)?;
    /// let dom = gocore::Dominators::compute(&graph, &heap);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compute(graph: &ObjectGraph, heap: &Heap<'_>) -> Dominators {
        let p = Some(heap.counters());
        Dominators::finish(Dfs::new(graph, p), object_sizes(heap), p)
    }

    /// [`Dominators::compute`], freeing the graph's forward edges
    /// ([`ObjectGraph::release_successors`]) as soon as the tree no longer needs
    /// them, before its largest step: for callers that need no
    /// [`ObjectGraph::successors`] afterwards (the peak memory is lower by 4 bytes
    /// per node and per edge). Reverse edges built before
    /// ([`ObjectGraph::predecessors`]) are kept.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let mut graph = gocore::ObjectGraph::build(&heap, &roots)?;
    /// let dom = gocore::Dominators::compute_releasing(&mut graph, &heap);
    /// assert!(!graph.has_successors());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compute_releasing(graph: &mut ObjectGraph, heap: &Heap<'_>) -> Dominators {
        let p = Some(heap.counters());
        let dfs = Dfs::new(graph, p);
        graph.release_successors();
        Dominators::finish(dfs, object_sizes(heap), p)
    }

    /// [`Dominators::compute`] with explicit node sizes (`sizes[node]`; missing
    /// entries weigh 0) — for graphs built with [`ObjectGraph::from_edges`].
    ///
    /// ```
    /// // super-root -> root -> 0 -> {1, 2}; 1 -> 2
    /// let g = gocore::ObjectGraph::from_edges(3, &[(0, 1), (0, 2), (1, 2)], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![10, 20, 30]);
    /// assert_eq!(dom.idom(gocore::NodeId(2)), Some(gocore::NodeId(0)));
    /// assert_eq!(dom.retained(gocore::NodeId(0)), 60);
    /// assert_eq!(dom.retained(gocore::NodeId(1)), 20);
    /// ```
    pub fn with_sizes(graph: &ObjectGraph, sizes: Vec<u64>) -> Dominators {
        Dominators::finish(Dfs::new(graph, None), explicit_sizes(sizes), None)
    }

    /// Semi-NCA, then retained sizes from `sizes`, which calls its argument with
    /// (node, size) for every node that weighs something.
    ///
    /// Memory, for `n` nodes, `k` reachable ones and `e'` edges between reachable
    /// nodes that are not DFS tree edges: beside the forward edges the DFS keeps
    /// `pre` (4n), the parents and the path from the super-root (byte codes, see
    /// `Deltas`: about a byte a node where the tree is a chain), and the reverse
    /// edges by preorder number without the tree edges (collected as it goes
    /// while e' ≤ k, in runs by source, 1–5 bytes a pair; else a CSR, 4k + 4e',
    /// built after it); here (the forward edges released or not) the runs become
    /// sorted pairs (8e', the runs freed as they are read), `order` (4k) is built
    /// from its inverse `pre`, `pre` dropped, then the 8-byte forest records
    /// (resident only as the sweep reaches them, while the consumed pairs are
    /// freed) and the semidominators
    /// that are not the DFS parent (a bit per node, 4 bytes each); then the
    /// immediate dominators by preorder number (4k), turned into a byte code for
    /// the dominator tree's preorder (two arrays of 4k beside `order`, see
    /// `tree_preorder`), then the results: the tree's preorder (4k), immediate
    /// dominators (4n) and retained sizes (4n in units; 8n only past 2^32 units).
    /// Three arrays of 4k at most beside the byte codes after the DFS.
    fn finish(
        dfs: Dfs,
        sizes: impl Fn(&mut dyn FnMut(usize, u64)),
        progress: Option<&Progress>,
    ) -> Dominators {
        let Dfs {
            nodes,
            root,
            k,
            pre,
            parents,
            rev,
        } = dfs;
        let rev = match rev {
            Rev::Runs(r) => Rev::Pairs(r.into_sorted_pairs()),
            rev => rev,
        };
        // Preorder number -> node, from its inverse (the graph's forward edges, if
        // released, are gone by now: the two maps are never held beside them).
        let mut order = vec![NONE; k];
        for (v, &p) in pre.iter().enumerate() {
            if let Some(o) = order.get_mut(p as usize) {
                *o = v as u32;
            }
        }
        drop(pre);
        // 2. Semidominators (by preorder numbers), in reverse preorder, with `eval`'s
        // iterative path compression over the forest of processed nodes. `eval`
        // needs only the smallest semidominator on a node's compressed path, not
        // the node that has it (Lengauer–Tarjan's label): each node keeps that
        // value beside its forest ancestor, an 8-byte record, and a path step reads
        // one record instead of a label's semidominator elsewhere too.
        let mut f = Forest::new(k);
        // The semidominator is kept only where it is not the DFS parent (then the
        // parent is the immediate dominator, and step 3 has nothing to do): a bit
        // per node, and the values in reverse preorder.
        let mut differs = vec![0u64; k.div_ceil(64)];
        let mut semis: Vec<u32> = Vec::new();
        let mut path: Vec<u32> = Vec::new();
        // Pairs are consumed from the end (targets descending, as w).
        let mut rev = rev;
        let mut end = match &rev {
            Rev::Pairs(p) => p.len(),
            Rev::Csr(..) | Rev::Runs(_) => 0,
        };
        // The parents, read from the last.
        let mut back = parents.iter();
        for w in (1..k).rev() {
            if w as u64 % STEP == 0 {
                if let Some(pr) = progress {
                    pr.add(Stage::Dominators, STEP);
                }
            }
            let p = back.next_back().map_or(0, |d| back_from(w, d) as u32);
            let mut s = p;
            let sources: &[u32] = match &rev {
                Rev::Csr(roff, redges) => redges
                    .get(roff[w] as usize..roff[w + 1] as usize)
                    .unwrap_or(&[]),
                Rev::Pairs(_) | Rev::Runs(_) => &[],
            };
            for &v in sources {
                s = s.min(eval(v, &mut f, &mut path));
            }
            if let Rev::Pairs(pairs) = &mut rev {
                while let Some(&e) = end.checked_sub(1).and_then(|i| pairs.get(i)) {
                    if (e >> 32) as usize != w {
                        break;
                    }
                    end -= 1;
                    s = s.min(eval(e as u32, &mut f, &mut path));
                }
                // Give back the consumed pairs as the forest grows.
                if pairs.len() - end >= PAIRS_FREED {
                    pairs.truncate(end);
                    pairs.shrink_to_fit();
                }
            }
            if s != p {
                differs[w / 64] |= 1 << (w % 64);
                semis.push(s);
            }
            f.set(w as u32, p, s);
        }
        drop(path);
        drop(rev);
        drop(f);
        // 3. Immediate dominators: nearest common ancestor of parent and semi, in
        // preorder (the semidominators kept are read back from the end).
        let mut idom_pre = vec![NONE; k];
        for (w, d) in (1..k).zip(parents.iter()) {
            let mut d = back_from(w, d) as u32;
            if differs[w / 64] >> (w % 64) & 1 != 0 {
                let Some(s) = semis.pop() else { break };
                while d != NONE && d > s {
                    d = idom_pre.get(d as usize).copied().unwrap_or(NONE);
                }
            }
            idom_pre[w] = d;
        }
        drop(parents);
        drop(semis);
        drop(differs);
        // 4. A preorder of the dominator tree, with the immediate dominators read
        // in order from a byte code (`idom_pre` freed: three arrays of 4k).
        let back = || {
            idom_pre
                .iter()
                .enumerate()
                .skip(1)
                .map(|(w, &d)| back_to(w, d))
        };
        let mut dominators = Deltas::with_capacity(back().map(Deltas::len_of).sum());
        for d in back() {
            dominators.push(d);
        }
        drop(idom_pre);
        let numbers = tree_preorder(&dominators, k);
        // Back to node ids: the tree's preorder, then (its numbers freed) the
        // immediate dominators.
        let mut tree_order = vec![NONE; k];
        for (&p, &v) in numbers.iter().zip(&order) {
            if let Some(t) = tree_order.get_mut(p as usize) {
                *t = v;
            }
        }
        drop(numbers);
        let mut idom = vec![NONE; nodes];
        for ((w, d), &v) in (1..k).zip(dominators.iter()).zip(order.iter().skip(1)) {
            let d = order.get(back_from(w, d)).copied().unwrap_or(NONE);
            if let Some(i) = idom.get_mut(v as usize) {
                *i = d;
            }
        }
        drop(dominators);
        drop(order);
        let order = tree_order;
        // Retained bytes (unreachable nodes weigh nothing), straight into the
        // packed form (see `Retained`): no 8-byte vector of sizes is held beside
        // the 4-byte result (the sizes are read a second time only when they do
        // not fit it).
        let reachable = |v: usize| v as u32 == root || idom.get(v).is_some_and(|&d| d != NONE);
        // Each size as a `u32` first (read once), then in units.
        let (mut common, mut total, mut fits) = (0u64, 0u64, true);
        let mut v = vec![0u32; nodes];
        sizes(&mut |i, size| {
            if let (true, Some(r)) = (reachable(i), v.get_mut(i)) {
                common |= size;
                total = total.saturating_add(size);
                fits &= size <= u64::from(u32::MAX);
                *r = size as u32;
            }
        });
        // Every retained size is a sum of reachable sizes, and some node's has
        // exactly their common power of two (one whose own size has it: its
        // descendants' sums are multiples of twice that, or a smaller one exists).
        let shift = common.trailing_zeros().min(16);
        let retained = if fits && total >> shift <= u64::from(u32::MAX) {
            for r in &mut v {
                *r >>= shift;
            }
            accumulate(&mut v, &order, &idom);
            Retained::Units { shift, v }
        } else {
            drop(v);
            let mut v = vec![0u64; nodes];
            sizes(&mut |i, size| {
                if let (true, Some(r)) = (reachable(i), v.get_mut(i)) {
                    *r = size;
                }
            });
            accumulate(&mut v, &order, &idom);
            Retained::Bytes(v)
        };
        if let Some(pr) = progress {
            pr.finish(Stage::Dominators);
        }
        Dominators {
            idom,
            retained,
            reachable: k as u32,
            order,
            children: OnceLock::new(),
        }
    }

    /// The immediate dominator of `n` (`None` for the super-root and unreachable
    /// nodes).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(1, &[], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![8]);
    /// assert_eq!(dom.idom(gocore::NodeId(0)), Some(gocore::NodeId(1))); // its root
    /// assert_eq!(dom.idom(g.super_root()), None);
    /// ```
    pub fn idom(&self, n: NodeId) -> Option<NodeId> {
        match self.idom.get(n.index()) {
            Some(&d) if d != NONE => Some(NodeId(d)),
            _ => None,
        }
    }

    /// Whether the super-root reaches `n` (live objects, and every root node).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![8, 8]);
    /// assert!(dom.is_reachable(gocore::NodeId(0)) && !dom.is_reachable(gocore::NodeId(1)));
    /// ```
    pub fn is_reachable(&self, n: NodeId) -> bool {
        self.idom.get(n.index()).is_some_and(|&d| d != NONE) || self.order.first() == Some(&n.0)
    }

    /// Number of reachable nodes (the super-root and root nodes included).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[vec![0]]);
    /// assert_eq!(gocore::Dominators::with_sizes(&g, vec![]).reachable_count(), 3);
    /// ```
    pub fn reachable_count(&self) -> u32 {
        self.reachable
    }

    /// Keeps only the retained sizes, freeing the tree (immediate dominators, the
    /// preorder: 8 bytes per node) — for callers that need nothing else, as a heap
    /// profile with retained bytes per object.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// let sizes = gocore::Dominators::with_sizes(&g, vec![16, 32]).into_retained();
    /// assert_eq!(sizes.retained(gocore::NodeId(0)), 48);
    /// ```
    pub fn into_retained(self) -> RetainedSizes {
        RetainedSizes(self.retained)
    }

    /// Bytes retained by `n`: its own size and everything it dominates (0 when
    /// unreachable).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![16, 32]);
    /// assert_eq!(dom.retained(g.super_root()), 48);
    /// ```
    pub fn retained(&self, n: NodeId) -> u64 {
        self.retained.get(n.index())
    }

    /// Reachable nodes in a preorder of the dominator tree: every node comes after
    /// all its dominators, and the nodes a node dominates (its subtree) follow it
    /// as one interval. Among siblings, the one dominating the most nodes comes
    /// first (the first reached among equals), then the others in the order in
    /// which a depth-first search of the graph from the super-root reached them.
    ///
    /// ```
    /// // super-root 7 -> root 6 -> 0 -> {1, 2}; 1 -> 3; 2 -> {3, 4, 5}:
    /// // 0 dominates 1, 2 and 3; 2 dominates 4 and 5.
    /// let edges = [(0, 1), (0, 2), (1, 3), (2, 3), (2, 4), (2, 5)];
    /// let g = gocore::ObjectGraph::from_edges(6, &edges, &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![]);
    /// // The depth-first search reached 7 6 0 1 3 2 4 5; 2 has the largest subtree.
    /// assert_eq!(dom.preorder(), &[7, 6, 0, 2, 4, 5, 1, 3]);
    /// ```
    pub fn preorder(&self) -> &[u32] {
        &self.order
    }

    /// The nodes `n` immediately dominates, largest retained size first (ties by
    /// node id). The tree's child lists are built on the first call.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(3, &[(0, 1), (0, 2)], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![1, 5, 9]);
    /// assert_eq!(dom.children(gocore::NodeId(0)), &[2, 1]);
    /// ```
    pub fn children(&self, n: NodeId) -> &[u32] {
        let (off, kids) = self.children.get_or_init(|| self.build_children());
        let i = n.index();
        match (off.get(i), off.get(i + 1)) {
            (Some(&a), Some(&b)) => kids.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn build_children(&self) -> (Vec<u32>, Vec<u32>) {
        let nodes = self.idom.len();
        let mut off = vec![0u32; nodes + 1];
        for &d in &self.idom {
            if d != NONE {
                off[d as usize + 1] += 1;
            }
        }
        for i in 0..nodes {
            off[i + 1] += off[i];
        }
        // off[d] is row d's fill cursor, then shifted back to the row starts (no
        // second per-node array).
        let mut kids = vec![0u32; off[nodes] as usize];
        for (v, &d) in self.idom.iter().enumerate() {
            if d != NONE {
                kids[off[d as usize] as usize] = v as u32;
                off[d as usize] += 1;
            }
        }
        for i in (1..=nodes).rev() {
            off[i] = off[i - 1];
        }
        off[0] = 0;
        for i in 0..nodes {
            let row = &mut kids[off[i] as usize..off[i + 1] as usize];
            if row.len() > 1 {
                row.sort_unstable_by(|&a, &b| {
                    self.retained
                        .get(b as usize)
                        .cmp(&self.retained.get(a as usize))
                        .then(a.cmp(&b))
                });
            }
        }
        (off, kids)
    }

    /// Whether `a` dominates `b` (every node dominates itself). Walks `b`'s
    /// dominator chain: as deep as the tree.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![]);
    /// assert!(dom.dominates(gocore::NodeId(0), gocore::NodeId(1)));
    /// assert!(!dom.dominates(gocore::NodeId(1), gocore::NodeId(0)));
    /// ```
    pub fn dominates(&self, a: NodeId, b: NodeId) -> bool {
        let mut x = b;
        loop {
            if x == a {
                return true;
            }
            match self.idom(x) {
                Some(d) => x = d,
                None => return false,
            }
        }
    }

    /// The `limit` objects with the largest retained sizes, largest first (ties by
    /// node id). Objects nested in one another are all listed (a list's head and its
    /// second node both appear): see [`Dominators::children`] for the tree.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![16, 32]);
    /// assert_eq!(dom.top_objects(&g, 1), vec![(gocore::NodeId(0), 48)]);
    /// ```
    pub fn top_objects(&self, graph: &ObjectGraph, limit: usize) -> Vec<(NodeId, u64)> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        if limit == 0 {
            return Vec::new();
        }
        // A min-heap of the best `limit` (retained, Reverse(node)) seen so far.
        let mut best: BinaryHeap<Reverse<(u64, Reverse<u32>)>> =
            BinaryHeap::with_capacity(limit + 1);
        for &n in &self.order {
            if n >= graph.object_count() {
                continue;
            }
            let item = Reverse((self.retained.get(n as usize), Reverse(n)));
            if best.len() < limit {
                best.push(item);
            } else if best.peek().is_some_and(|top| item < *top) {
                best.pop();
                best.push(item);
            }
        }
        let mut v: Vec<(NodeId, u64)> = best
            .into_iter()
            .map(|Reverse((r, Reverse(n)))| (NodeId(n), r))
            .collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// The root groups by retained size, largest first: what each global,
    /// goroutine, special or queue alone keeps alive.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[vec![0], vec![0, 1]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![16, 32]);
    /// // Object 0 is held by both roots: only the second root retains object 1.
    /// assert_eq!(dom.top_roots(&g), vec![(g.root_node(1), 32), (g.root_node(0), 0)]);
    /// ```
    pub fn top_roots(&self, graph: &ObjectGraph) -> Vec<(NodeId, u64)> {
        let mut v: Vec<(NodeId, u64)> = (0..graph.root_groups().len() as u32)
            .map(|i| {
                let n = graph.root_node(i);
                (n, self.retained(n))
            })
            .collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Retained bytes grouped by a key per object (its type, say): for each key, the
    /// number of reachable objects, their own bytes, and the bytes retained by the
    /// objects of that key that no other object of the same key dominates (so a
    /// list of N nodes counts once, not N times). Objects for which `key` returns
    /// `None` are left out. Sorted by retained bytes, largest first.
    ///
    /// ```
    /// // Two lists 0 -> 1 and 2 -> 3; even nodes are "A", odd "B".
    /// let g = gocore::ObjectGraph::from_edges(4, &[(0, 1), (2, 3)], &[vec![0, 2]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![8, 8, 8, 8]);
    /// let rows = dom.group_by(&g, |o| Some(if o.0 % 2 == 0 { "A" } else { "B" }));
    /// assert_eq!(rows[0].key, "A");
    /// assert_eq!((rows[0].count, rows[0].shallow, rows[0].retained), (2, 16, 32));
    /// ```
    pub fn group_by<K: Clone + Eq + std::hash::Hash + Ord>(
        &self,
        graph: &ObjectGraph,
        key: impl Fn(crate::ObjId) -> Option<K>,
    ) -> Vec<GroupRetained<K>> {
        // Keys are interned to dense ids (first come, in `order`), but not stored
        // per object: `key` is asked again where needed (4 bytes an object less at
        // the peak of `top` and `leaks`). Runs of one key are common (a list's
        // nodes): the last key's id is reused without hashing.
        let nobj = graph.object_count() as usize;
        let mut ids: crate::fx::FxMap<K, u32> = crate::fx::FxMap::default();
        let mut keys: Vec<(K, u32)> = Vec::new();
        let mut last: Option<(K, u32)> = None;
        let mut id_of = |n: u32, keys: &mut Vec<(K, u32)>| -> u32 {
            if n as usize >= nobj {
                return NONE;
            }
            let Some(k) = key(crate::ObjId(n)) else {
                return NONE;
            };
            match &last {
                Some((lk, id)) if *lk == k => *id,
                _ => {
                    let next = keys.len() as u32;
                    let id = *ids.entry(k.clone()).or_insert(next);
                    if id == next {
                        keys.push((k.clone(), n));
                    }
                    last = Some((k, id));
                    id
                }
            }
        };
        // Retained: the nodes of a key that no other node of the key dominates.
        // `order` is a preorder of the dominator tree: visited in that order, the
        // nodes dominating the current one are the path from the super-root to it,
        // kept as runs of consecutive preorder numbers (a few: see
        // `tree_preorder`). A node of key k is dominated by another node of k
        // exactly when an outermost node of k (no other node of k dominates it) is
        // open, still on the path. The open ones are a stack ordered by preorder
        // number, popped as the path shrinks below them: no per-node scratch.
        let order = &self.order;
        // The path as (first number, length) runs; the open nodes as (preorder
        // number, key id).
        let mut path: Vec<(u32, u32)> = Vec::new();
        let mut open: Vec<(u32, u32)> = Vec::new();
        // Rows and whether the key has an open node, by key id (keys are interned
        // in `order`: `first` is the first there).
        let mut rows: Vec<GroupRetained<K>> = Vec::new();
        let mut is_open: Vec<bool> = Vec::new();
        // Own bytes: a node's retained bytes less its children's, summed per key.
        // A node's immediate dominator comes before it here and is most often the
        // node just before it (a list) or the one before that's (siblings): its key
        // id is remembered, not asked again.
        let mut prev: [(u32, u32); 2] = [(NONE, NONE); 2];
        for (pre, &v) in order.iter().enumerate() {
            let pre = pre as u32;
            let r = self.retained.get(v as usize);
            let d = self.idom.get(v as usize).copied().unwrap_or(NONE);
            // The path down to `d` (all of it goes for the super-root).
            while let Some(last) = path.last_mut() {
                if order.get((last.0 + last.1 - 1) as usize) == Some(&d) {
                    break;
                }
                last.1 -= 1;
                if last.1 == 0 {
                    path.pop();
                }
            }
            let top = path.last().map(|&(a, l)| a + l - 1);
            while let Some(&(p, kid)) = open.last() {
                if top.is_some_and(|t| p <= t) {
                    break;
                }
                open.pop();
                if let Some(o) = is_open.get_mut(kid as usize) {
                    *o = false;
                }
            }
            match path.last_mut() {
                Some(last) if last.0 + last.1 == pre => last.1 += 1,
                _ => path.push((pre, 1)),
            }
            if d != NONE {
                let kd = match prev.iter().find(|p| p.0 == d) {
                    Some(p) => p.1,
                    None => id_of(d, &mut keys),
                };
                prev[1] = (d, kd);
                if let Some(row) = rows.get_mut(kd as usize) {
                    row.shallow = row.shallow.saturating_sub(r);
                }
            }
            let kv = id_of(v, &mut keys);
            prev[0] = (v, kv);
            // (A node's immediate dominator comes before it: its key has a row.)
            for (key, first) in keys.get(rows.len()..).unwrap_or(&[]) {
                rows.push(GroupRetained {
                    key: key.clone(),
                    first: crate::ObjId(*first),
                    count: 0,
                    shallow: 0,
                    retained: 0,
                });
                is_open.push(false);
            }
            let Some(row) = rows.get_mut(kv as usize) else {
                continue;
            };
            row.count += 1;
            row.shallow += r;
            if !is_open[kv as usize] {
                row.retained += r;
                is_open[kv as usize] = true;
                open.push((pre, kv));
            }
        }
        rows.sort_by(|a, b| {
            b.retained
                .cmp(&a.retained)
                .then(b.shallow.cmp(&a.shallow))
                .then_with(|| a.key.cmp(&b.key))
        });
        rows
    }

    /// The chain of dominators from the super-root down to `n` (both included), or
    /// empty when `n` is unreachable.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![]);
    /// let chain: Vec<u32> = dom.dominator_chain(gocore::NodeId(1)).iter().map(|n| n.0).collect();
    /// assert_eq!(chain, vec![3, 2, 0, 1]);
    /// ```
    pub fn dominator_chain(&self, n: NodeId) -> Vec<NodeId> {
        if !self.is_reachable(n) {
            return Vec::new();
        }
        let mut v = vec![n];
        let mut x = n;
        while let Some(d) = self.idom(x) {
            v.push(d);
            x = d;
        }
        v.reverse();
        v
    }

    /// A node's own bytes: its retained size less its dominator-tree children's.
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[(0, 1)], &[vec![0]]);
    /// let dom = gocore::Dominators::with_sizes(&g, vec![16, 32]);
    /// assert_eq!(dom.shallow(gocore::NodeId(0)), 16);
    /// ```
    pub fn shallow(&self, n: NodeId) -> u64 {
        let kids: u64 = self
            .children(n)
            .iter()
            .map(|&c| self.retained.get(c as usize))
            .sum();
        self.retained(n).saturating_sub(kids)
    }

    /// Each node's subtree as its interval of [`Dominators::preorder`], to walk a
    /// node's children without the children lists: 4 bytes a node against the
    /// lists' 8 (what `leaks` needs of the tree; see [`Subtrees`]).
    pub(crate) fn subtrees(&self) -> Subtrees<'_> {
        let mut count = vec![0u32; self.idom.len()];
        // Reverse preorder: a node's subtree is counted before its dominator's.
        for &v in self.order.iter().rev() {
            let Some(c) = count.get_mut(v as usize) else {
                continue;
            };
            *c += 1;
            let c = *c;
            if let Some(d) = self
                .idom
                .get(v as usize)
                .and_then(|&d| count.get_mut(d as usize))
            {
                *d += c;
            }
        }
        Subtrees {
            order: &self.order,
            count,
        }
    }
}

/// The dominator tree as intervals of its preorder: the subtree of the node at
/// position `p` is `p .. p + count[node]`, its first child at `p + 1`, each next
/// child right after the previous child's subtree. Built by
/// [`Dominators::subtrees`].
pub(crate) struct Subtrees<'d> {
    order: &'d [u32],
    /// Nodes in each node's subtree, itself included (0 when unreachable).
    count: Vec<u32>,
}

impl Subtrees<'_> {
    /// Where `n` is in the preorder (a linear search: for a few nodes).
    pub(crate) fn position(&self, n: NodeId) -> Option<usize> {
        self.order.iter().position(|&v| v == n.0)
    }

    /// The children of the node at preorder position `p`, as (position, node), in
    /// preorder.
    pub(crate) fn children(&self, p: usize) -> impl Iterator<Item = (usize, u32)> + '_ {
        let size = |v: u32| self.count.get(v as usize).map_or(1, |&c| c.max(1) as usize);
        let end = self.order.get(p).map_or(p, |&v| p + size(v));
        let mut q = p + 1;
        std::iter::from_fn(move || {
            if q >= end {
                return None;
            }
            let c = *self.order.get(q)?;
            let at = q;
            q += size(c);
            Some((at, c))
        })
    }
}

/// Step 1 of [`Dominators`]: DFS preorder, parents, and the reverse edges the
/// semidominator pass needs — everything that reads the graph's forward edges.
struct Dfs {
    nodes: usize,
    root: u32,
    /// Nodes numbered (reachable from the super-root).
    k: usize,
    /// Node -> preorder number (`NONE` when unreachable).
    pre: Vec<u32>,
    /// DFS tree parents, for preorder numbers 1.., as the distance back to them.
    parents: Deltas,
    /// Reverse edges by preorder number without tree edges.
    rev: Rev,
}

/// Calls its argument with (target, source), by preorder number, for every edge of
/// the semidominator pass (see [`Dfs::csr`]).
type EdgeRows<'a> = dyn Fn(&mut dyn FnMut(usize, u32)) + 'a;

/// The semidominator pass's reverse edges (by preorder number, tree edges left
/// out): a CSR, or pairs when there are fewer edges than nodes.
enum Rev {
    /// Row offsets (`k + 1`) and sources.
    Csr(Vec<u32>, Vec<u32>),
    /// Pairs as the DFS found them; turned into `Pairs` once the forward edges
    /// may have been freed.
    Runs(Runs),
    /// `target << 32 | source`, ascending.
    Pairs(Vec<u64>),
}

/// Bytes of one chunk of [`Runs`]: each its own allocation, freed as soon as it
/// is decoded (above the CLI's 1 MiB mmap threshold, so freeing returns it).
const RUN_CHUNK: usize = 4 << 20;

/// (target, source) pairs by preorder number as the DFS finds them, in runs by
/// source: a byte code (LEB128, 7 bits a byte, low first) in chunks of
/// [`RUN_CHUNK`] bytes, where a run starts with a 0 value and its source (the
/// zigzag difference to the previous run's source), then each target as the
/// zigzag difference to the one before it (the first: to the source), plus one.
/// The DFS finds the non-tree edges of a node one after another, and a node's
/// successors are sorted, so most differences are small: on a 19 M-object heap
/// 15 M pairs took 2.6 bytes each instead of the 4.3 of 32-bit words (and 8 of
/// pairs) while the forward edges are still held. [`Runs::into_sorted_pairs`]
/// turns the code into sorted 8-byte pairs, freeing each chunk once read.
#[derive(Default)]
struct Runs {
    chunks: Vec<Vec<u8>>,
    /// Pairs (targets) written.
    pairs: usize,
    /// Whether a run is open, and its source.
    open: Option<u32>,
    /// The previous target of the open run (its source before the first).
    prev: u32,
    /// The source of the last run opened (0 before the first).
    last_source: u32,
}

impl Runs {
    /// Appends `x` (LEB128), in a new chunk when the last one may not hold it.
    fn put(&mut self, mut x: u64) {
        if self.chunks.last().is_none_or(|c| c.len() + 10 > RUN_CHUNK) {
            self.chunks.push(Vec::with_capacity(RUN_CHUNK));
        }
        if let Some(c) = self.chunks.last_mut() {
            while x >= 0x80 {
                c.push(x as u8 | 0x80);
                x >>= 7;
            }
            c.push(x as u8);
        }
    }

    fn push(&mut self, source: u32, target: u32) {
        if self.open != Some(source) {
            self.put(0);
            self.put(u64::from(zigzag(source.wrapping_sub(self.last_source))));
            (self.open, self.prev, self.last_source) = (Some(source), source, source);
        }
        self.put(u64::from(zigzag(target.wrapping_sub(self.prev))) + 1);
        self.prev = target;
        self.pairs += 1;
    }

    /// The pairs as `target << 32 | source`, ascending. The chunks are read in
    /// order and each is freed once read, while the pairs' array is written (its
    /// pages backed as it fills): the two together stay within the larger of them
    /// plus a chunk.
    fn into_sorted_pairs(self) -> Vec<u64> {
        let mut out = vec![0u64; self.pairs];
        let mut j = 0usize;
        let (mut source, mut prev) = (0u32, 0u32);
        let mut source_next = false;
        for chunk in self.chunks {
            let (mut x, mut shift) = (0u64, 0u32);
            for &b in &chunk {
                if shift < 64 {
                    x |= u64::from(b & 0x7f) << shift;
                }
                if b & 0x80 != 0 {
                    shift += 7;
                    continue;
                }
                if source_next {
                    source = source.wrapping_add(unzigzag(x as u32));
                    prev = source;
                    source_next = false;
                } else if x == 0 {
                    source_next = true;
                } else {
                    prev = prev.wrapping_add(unzigzag((x - 1) as u32));
                    if let Some(e) = out.get_mut(j) {
                        *e = u64::from(prev) << 32 | u64::from(source);
                        j += 1;
                    }
                }
                (x, shift) = (0, 0);
            }
        }
        // On all cores (the rest of the tree is one thread); the order is total,
        // so the result is the same on any number of threads.
        rayon::slice::ParallelSliceMut::par_sort_unstable(&mut out[..]);
        out
    }
}

impl Dfs {
    fn new(graph: &ObjectGraph, progress: Option<&Progress>) -> Dfs {
        let nodes = graph.node_count();
        let root = graph.super_root().0;
        // Two units a node: numbered here, given a semidominator in `finish`.
        if let Some(p) = progress {
            p.start(Stage::Dominators, 2 * nodes as u64);
        }

        // 1. DFS preorder from the super-root. The path from the super-root to
        // the current node is a stack of node ids, each stored as the difference
        // to the one below it (`Deltas`, zigzag: a list's next node is mostly the
        // next or previous node id, one byte); when a node's successors are done,
        // its parent, popped, resumes after the edge to it (rows are sorted and
        // deduplicated, so a binary search finds it). Each node's parent is
        // written as it is numbered, as the distance back to it by preorder
        // number (a chain's parent is the node before: one byte). Every edge is
        // looked at once: one to a node already numbered is not a DFS tree edge,
        // and goes to the semidominator pass's reverse edges (step 2) as a
        // (target, source) pair — while there are no more of them than nodes.
        // Node -> preorder number.
        let mut pre = vec![NONE; nodes];
        // Reserved whole up front (pages are backed only once written): grown by
        // doubling, each reallocation could copy and briefly hold the old and
        // the new buffer (glibc keeps allocations below its adaptive mmap
        // threshold, up to 32 MiB, on the heap, where realloc copies).
        let mut parents = Deltas::with_capacity(Deltas::MAX_LEN * nodes);
        let mut path = Deltas::with_capacity(Deltas::MAX_LEN * nodes);
        // The non-tree edges as found, in runs by source (see `Runs`), while
        // there are no more of them than nodes.
        let mut runs = Some(Runs::default());
        let mut k = 0u32;
        if let Some(p) = pre.get_mut(root as usize) {
            *p = 0;
            k = 1;
            // The current node, its preorder number, the next successor to look
            // at, and the node id on top of `path`.
            let (mut v, mut pv, mut i, mut top) = (root, 0u32, 0usize, 0u32);
            loop {
                let succ = graph.successors(NodeId(v));
                if let Some(&w) = succ.get(i) {
                    i += 1;
                    if let Some(p) = pre.get_mut(w as usize) {
                        if *p == NONE {
                            *p = k;
                            parents.push(k - pv);
                            path.push(zigzag(v.wrapping_sub(top)));
                            (top, v, pv, i) = (v, w, k, 0);
                            k += 1;
                            if u64::from(pv) % STEP == 0 {
                                if let Some(pr) = progress {
                                    pr.add(Stage::Dominators, STEP);
                                }
                            }
                        } else if let Some(r) = &mut runs {
                            if r.pairs < nodes {
                                r.push(pv, *p);
                            } else {
                                runs = None;
                            }
                        }
                    }
                    continue;
                }
                let Some(d) = path.pop() else { break };
                let u = top;
                top = u.wrapping_sub(unzigzag(d));
                let s = graph.successors(NodeId(u));
                i = match s.binary_search(&v) {
                    Ok(j) => j + 1,
                    Err(_) => s.iter().position(|&x| x == v).map_or(s.len(), |j| j + 1),
                };
                v = u;
                pv = pre.get(u as usize).copied().unwrap_or(0);
            }
        }
        drop(path);
        let k = k as usize;
        parents.0.shrink_to_fit();
        // 2. Reverse edges by preorder number, for reachable nodes: the runs while
        // there are no more non-tree edges than reachable nodes, else a CSR
        // (sources in node order: a row's order changes nothing but the order of
        // `eval`'s calls). A tree edge parent(w) -> w is left out (it need not be:
        // its semidominator candidate is always parent(w), an unprocessed node
        // evaluating to itself, which is where w's semidominator starts).
        let rev = match runs.filter(|r| r.pairs <= k) {
            Some(r) => Rev::Runs(r),
            None => {
                // The parents by preorder number, while the CSR is built.
                let mut parent = vec![NONE; k];
                for (w, d) in (1..k).zip(parents.iter()) {
                    parent[w] = back_from(w, d) as u32;
                }
                let rows = |f: &mut dyn FnMut(usize, u32)| {
                    for (v, &pv) in pre.iter().enumerate() {
                        if pv == NONE {
                            continue;
                        }
                        for &w in graph.successors(NodeId(v as u32)) {
                            if let Some(&pw) = pre.get(w as usize) {
                                if pw != NONE && parent.get(pw as usize) != Some(&pv) {
                                    f(pw as usize, pv);
                                }
                            }
                        }
                    }
                };
                Dfs::csr(k, &rows)
            }
        };
        Dfs {
            nodes,
            root,
            k,
            pre,
            parents,
            rev,
        }
    }

    /// The reverse edges as a CSR over `k` reachable nodes, from `rows`, which
    /// calls its argument with (target, source) for each (twice: counts, then
    /// fill).
    fn csr(k: usize, rows: &EdgeRows<'_>) -> Rev {
        let mut roff = vec![0u32; k + 1];
        rows(&mut |pw, _| roff[pw + 1] += 1);
        for i in 0..k {
            roff[i + 1] += roff[i];
        }
        let mut redges = vec![0u32; roff[k] as usize];
        // roff[w] is the fill cursor of row w, then shifted back to the row
        // starts.
        rows(&mut |pw, pv| {
            redges[roff[pw] as usize] = pv;
            roff[pw] += 1;
        });
        for i in (1..=k).rev() {
            roff[i] = roff[i - 1];
        }
        roff[0] = 0;
        Rev::Csr(roff, redges)
    }
}

/// A preorder of the dominator tree, as node ids, from the immediate dominators
/// (`idom_pre`) by DFS preorder number and that preorder (`order`, number -> node):
/// a node's subtree follows it as one interval, its child with the most nodes in
/// its subtree first (the first in DFS preorder among equals), then the others in
/// DFS preorder. Heaviest child first, any path from the root crosses at most
/// log2(k) edges to a child that is not first, so the path is a few runs of
/// consecutive numbers ([`Dominators::group_by`] keeps it so).
///
/// Numbered without children lists, in two passes over `k` numbers: subtree
/// sizes and each node's heaviest child bottom-up (in reverse DFS preorder every
/// node comes after its immediate dominator), then each node, in DFS preorder,
/// takes its number: the one after its immediate dominator's when it is the
/// heaviest child, else the next free one in the dominator's interval after the
/// heaviest child's. `at[w]` holds w's subtree size, then the next free number in
/// its interval; `buf[w]` w's heaviest child, then that child's subtree size, then
/// w's number (a bit per node says which nodes are a heaviest child). The numbers
/// are turned into the order at the end, once `at` is freed: two arrays of `k`
/// beside the inputs at any time. Every reachable node but the root has an
/// earlier immediate dominator; the root's interval takes any other.
fn tree_preorder(dominators: &Deltas, k: usize) -> Vec<u32> {
    // Node `w`'s immediate dominator, from the distance back to it.
    let up = |w: usize, d: Option<u32>| match d.map(|d| back_from(w, d)) {
        Some(x) if x < w => x,
        _ => 0,
    };
    // Subtree sizes in `at`, each node's heaviest child in `buf`.
    let mut at = vec![1u32; k];
    let mut buf = vec![NONE; k];
    let mut back = dominators.iter();
    for w in (1..k).rev() {
        // `at[w]` is complete: w's subtree has higher numbers. Among equal
        // subtrees the last seen here, the first in DFS preorder, wins.
        let d = up(w, back.next_back());
        at[d] += at[w];
        if buf[d] == NONE || at[w] >= at[buf[d] as usize] {
            buf[d] = w as u32;
        }
    }
    // A bit per heaviest child; `buf[d]` becomes the size of d's heaviest child
    // (0: none), then, once d is numbered, d's number.
    let mut heavy = vec![0u64; k.div_ceil(64)];
    for b in buf.iter_mut() {
        let h = *b;
        *b = match at.get(h as usize) {
            Some(&size) => {
                heavy[h as usize / 64] |= 1 << (h % 64);
                size
            }
            None => 0,
        };
    }
    // `w`, numbered `p`: its heaviest child is numbered p + 1, the others follow
    // that child's interval (`at[w]` becomes the next free number there).
    let mut next = dominators.iter();
    for w in 0..k {
        let p = if w == 0 {
            0
        } else {
            let d = up(w, next.next());
            if heavy[w / 64] >> (w % 64) & 1 != 0 {
                buf[d] + 1
            } else {
                let p = at[d];
                at[d] += at[w];
                p
            }
        };
        at[w] = p + 1 + buf[w];
        buf[w] = p;
    }
    buf
}

/// `w`'s distance back to `d`, an earlier preorder number (`w` itself, read
/// back as the root, when `d` is not earlier).
fn back_to(w: usize, d: u32) -> u32 {
    match (d as usize) < w {
        true => (w - d as usize) as u32,
        false => w as u32,
    }
}

/// The preorder number `d` back from `w` (the root when there is none).
fn back_from(w: usize, d: u32) -> usize {
    w.saturating_sub(d as usize)
}

/// Unsigned integers in a byte code read from either end: 7 bits a byte, low
/// bits first, the first byte of each value with its top bit set (one byte below
/// 128, [`Deltas::MAX_LEN`] at most). The DFS tree's parents and the immediate
/// dominators as the distance back to them by preorder number, and the DFS
/// path's node ids as the difference to the one below: mostly one or two bytes
/// where an array takes four.
#[derive(Default)]
struct Deltas(Vec<u8>);

impl Deltas {
    /// Bytes of the longest value.
    const MAX_LEN: usize = 5;

    fn with_capacity(bytes: usize) -> Deltas {
        Deltas(Vec::with_capacity(bytes))
    }

    /// Bytes `x` takes.
    fn len_of(x: u32) -> usize {
        match x {
            0..0x80 => 1,
            0x80..0x4000 => 2,
            0x4000..0x20_0000 => 3,
            0x20_0000..0x1000_0000 => 4,
            _ => 5,
        }
    }

    fn push(&mut self, mut x: u32) {
        self.0.push(0x80 | (x & 0x7f) as u8);
        x >>= 7;
        while x != 0 {
            self.0.push((x & 0x7f) as u8);
            x >>= 7;
        }
    }

    /// Removes the last value.
    #[inline]
    fn pop(&mut self) -> Option<u32> {
        // Most values take one byte.
        let &last = self.0.last()?;
        if last & 0x80 != 0 {
            self.0.pop();
            return Some(u32::from(last & 0x7f));
        }
        let start = self.0.iter().rposition(|&b| b & 0x80 != 0)?;
        let x = decode(self.0.get(start..).unwrap_or(&[]));
        self.0.truncate(start);
        Some(x)
    }

    /// The values, from either end.
    fn iter(&self) -> DeltaIter<'_> {
        DeltaIter(&self.0)
    }
}

/// One value of [`Deltas`]' code.
fn decode(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(Deltas::MAX_LEN)
        .enumerate()
        .fold(0, |x, (i, &b)| x | u32::from(b & 0x7f) << (7 * i))
}

/// [`Deltas::iter`].
struct DeltaIter<'a>(&'a [u8]);

impl Iterator for DeltaIter<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let rest = self.0.get(1..)?;
        let n = rest
            .iter()
            .position(|&b| b & 0x80 != 0)
            .unwrap_or(rest.len());
        let (this, next) = self.0.split_at(n + 1);
        self.0 = next;
        Some(decode(this))
    }
}

impl DoubleEndedIterator for DeltaIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<u32> {
        if let Some((&last, rest)) = self.0.split_last() {
            if last & 0x80 != 0 {
                self.0 = rest;
                return Some(u32::from(last & 0x7f));
            }
        }
        let start = self.0.iter().rposition(|&b| b & 0x80 != 0)?;
        let (rest, this) = self.0.split_at(start);
        self.0 = rest;
        Some(decode(this))
    }
}

/// A wrapping difference of node ids as an unsigned number, small either way.
fn zigzag(d: u32) -> u32 {
    let d = d as i32;
    ((d << 1) ^ (d >> 31)) as u32
}

/// The inverse of [`zigzag`].
fn unzigzag(z: u32) -> u32 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

/// Calls its argument with (node, slot size) for each of `heap`'s objects (read
/// once the tree is known: lower peak).
fn object_sizes<'h>(heap: &'h Heap<'_>) -> impl Fn(&mut dyn FnMut(usize, u64)) + 'h {
    move |f| {
        for obj in heap.objects() {
            f(obj.id.index(), obj.size + obj.addr.saturating_sub(obj.slot));
        }
    }
}

/// Explicit sizes by node (missing entries weigh nothing).
fn explicit_sizes(sizes: Vec<u64>) -> impl Fn(&mut dyn FnMut(usize, u64)) {
    move |f| {
        for (i, &s) in sizes.iter().enumerate() {
            f(i, s);
        }
    }
}

/// Adds each node's retained size to its immediate dominator's, bottom-up
/// (`order` is a preorder of the dominator tree).
fn accumulate<T: Copy + std::ops::AddAssign>(retained: &mut [T], order: &[u32], idom: &[u32]) {
    for &v in order.iter().skip(1).rev() {
        let (Some(&d), Some(&r)) = (idom.get(v as usize), retained.get(v as usize)) else {
            continue;
        };
        if let Some(rd) = retained.get_mut(d as usize) {
            *rd += r;
        }
    }
}

/// One row of [`Dominators::group_by`].
///
/// ```
/// let r = gocore::GroupRetained { key: "main.T", first: gocore::ObjId(3), count: 2, shallow: 96, retained: 4096 };
/// assert!(r.retained >= r.shallow);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRetained<K> {
    /// The key (a type name, say).
    pub key: K,
    /// The first object with this key in dominator-tree preorder (to name the key
    /// by, say).
    pub first: crate::ObjId,
    /// Reachable objects with this key.
    pub count: u64,
    /// Their own bytes.
    pub shallow: u64,
    /// Bytes they retain (objects dominated by another object of the same key
    /// counted once).
    pub retained: u64,
}

/// Retained bytes per node, without the dominator tree
/// ([`Dominators::into_retained`]).
///
/// ```
/// let g = gocore::ObjectGraph::from_edges(1, &[], &[vec![0]]);
/// let sizes = gocore::Dominators::with_sizes(&g, vec![8]).into_retained();
/// assert_eq!(sizes.retained(g.super_root()), 8);
/// ```
#[derive(Debug)]
pub struct RetainedSizes(Retained);

impl RetainedSizes {
    /// Bytes retained by `n` ([`Dominators::retained`]).
    ///
    /// ```
    /// let g = gocore::ObjectGraph::from_edges(2, &[], &[vec![0]]);
    /// let sizes = gocore::Dominators::with_sizes(&g, vec![8, 8]).into_retained();
    /// assert_eq!(sizes.retained(gocore::NodeId(1)), 0); // unreachable
    /// ```
    pub fn retained(&self, n: NodeId) -> u64 {
        self.0.get(n.index())
    }
}

/// Retained bytes per node: `u32` in units of the sizes' largest common power of
/// two (8 for heap slots) when the largest (the super-root's) fits, else `u64`.
#[derive(Debug)]
enum Retained {
    Units { shift: u32, v: Vec<u32> },
    Bytes(Vec<u64>),
}

impl Retained {
    /// The retained bytes of node `i` (0 out of range).
    fn get(&self, i: usize) -> u64 {
        match self {
            Retained::Units { shift, v } => v.get(i).map_or(0, |&u| u64::from(u) << shift),
            Retained::Bytes(v) => v.get(i).copied().unwrap_or(0),
        }
    }
}

/// Lengauer–Tarjan `EVAL` with path compression, iteratively: the smallest
/// semidominator on the compressed path from `v` to (not including) its forest
/// root; `v` itself (its preorder number, its semidominator until processed) when
/// `v` is not in the forest yet.
fn eval(v: u32, f: &mut Forest, path: &mut Vec<u32>) -> u32 {
    let Some((ancestor, best)) = f.get(v) else {
        return v;
    };
    if ancestor == NONE {
        return best;
    }
    // Collect the path up to the node whose ancestor is a forest root.
    path.clear();
    let mut x = v;
    while let Some((a, _)) = f.get(x) {
        match f.get(a) {
            Some((aa, _)) if aa != NONE => {
                path.push(x);
                x = a;
            }
            _ => break,
        }
    }
    // Compress from the top down.
    while let Some(y) = path.pop() {
        if let Some((a, best)) = f.get(y) {
            if let Some((aa, abest)) = f.get(a) {
                f.set(y, aa, best.min(abest));
            }
        }
    }
    f.get(v).map_or(v, |(_, best)| best)
}

/// Semi-NCA's per-node state while computing semidominators (by preorder number):
/// the forest ancestor (`NONE` until the node is processed) and the smallest
/// semidominator on the compressed path to it (the node itself until processed).
///
/// 8 bytes a node, stored so that the initial state is all zero bits (entry `i`
/// is `(ancestor ^ NONE) << 32 | (best ^ i)`): the vector is allocated zeroed and
/// never written before use, so a large one stays unbacked by memory until the
/// reverse-preorder sweep reaches its nodes, while the reverse edges it consumes
/// are freed.
struct Forest(Vec<u64>);

impl Forest {
    fn new(k: usize) -> Forest {
        Forest(vec![0u64; k])
    }

    /// (ancestor, best) of node `i`.
    #[inline]
    fn get(&self, i: u32) -> Option<(u32, u32)> {
        let e = *self.0.get(i as usize)?;
        Some(((e >> 32) as u32 ^ NONE, e as u32 ^ i))
    }

    #[inline]
    fn set(&mut self, i: u32, ancestor: u32, best: u32) {
        if let Some(e) = self.0.get_mut(i as usize) {
            *e = u64::from(ancestor ^ NONE) << 32 | u64::from(best ^ i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The previous numbering (three arrays), against which the one above is checked.
    fn tree_preorder_reference(idom_pre: &[u32], order: &[u32]) -> Vec<u32> {
        const GIVEN: u32 = 1 << 31;
        let k = order.len();
        let up = |w: usize| match idom_pre.get(w) {
            Some(&d) if (d as usize) < w => d as usize,
            _ => 0,
        };
        let mut at = vec![1u32; k];
        let mut heavy = vec![NONE; k];
        for w in (1..k).rev() {
            // `at[w]` is complete: w's subtree has higher numbers. Among equal
            // subtrees the last seen here, the first in DFS preorder, wins.
            let d = up(w);
            at[d] += at[w];
            if heavy[d] == NONE || at[w] >= at[heavy[d] as usize] {
                heavy[d] = w as u32;
            }
        }
        let mut tree_order = vec![NONE; k];
        // `w`, numbered `p`: its heaviest child is numbered p + 1, the others follow
        // that child's interval.
        let open = |w: usize, p: u32, at: &mut [u32]| match heavy[w] {
            NONE => at[w] = p + 1,
            h => {
                at[w] = p + 1 + at[h as usize];
                at[h as usize] = (p + 1) | GIVEN;
            }
        };
        if k > 0 {
            tree_order[0] = order[0];
            open(0, 0, &mut at);
        }
        for w in 1..k {
            let p = if at[w] & GIVEN != 0 {
                at[w] & !GIVEN
            } else {
                let d = up(w);
                let p = at[d];
                at[d] += at[w];
                p
            };
            if let Some(t) = tree_order.get_mut(p as usize) {
                *t = order[w];
            }
            open(w, p, &mut at);
        }
        tree_order
    }

    /// A xorshift generator seeded with `seed` (made odd).
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed | 1;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// A pseudo-random graph: `n` objects, `m` random edges, a few roots.
    fn graph(n: u32, m: u32, seed: u64) -> (ObjectGraph, Vec<u64>) {
        let mut next = xorshift(seed);
        let edges: Vec<(u32, u32)> = (0..m)
            .map(|_| {
                (
                    (next() % u64::from(n)) as u32,
                    (next() % u64::from(n)) as u32,
                )
            })
            .collect();
        let roots: Vec<Vec<u32>> = (0..3)
            .map(|_| (0..2).map(|_| (next() % u64::from(n)) as u32).collect())
            .collect();
        let sizes = (0..n).map(|_| 8 * (1 + next() % 64)).collect();
        (ObjectGraph::from_edges(n, &edges, &roots), sizes)
    }

    #[test]
    fn deltas_read_back_from_either_end() {
        let values = [
            0u32,
            1,
            127,
            128,
            0x3fff,
            0x4000,
            0x1f_ffff,
            0x20_0000,
            0xfff_ffff,
            0x1000_0000,
            u32::MAX,
            5,
        ];
        let mut d = Deltas::default();
        for &x in &values {
            d.push(x);
        }
        let len: usize = values.iter().map(|&x| Deltas::len_of(x)).sum();
        assert_eq!(d.0.len(), len);
        assert!(d.iter().eq(values.iter().copied()));
        assert!(d.iter().rev().eq(values.iter().rev().copied()));
        // From both ends at once.
        let mut it = d.iter();
        assert_eq!(it.next(), Some(0));
        assert_eq!(it.next_back(), Some(5));
        assert_eq!(it.next_back(), Some(u32::MAX));
        assert!(it.eq(values[1..10].iter().copied()));
        // As a stack.
        for &x in values.iter().rev() {
            assert_eq!(d.pop(), Some(x));
        }
        assert_eq!(d.pop(), None);
        assert!(d.0.is_empty());
    }

    #[test]
    fn zigzag_is_its_inverse() {
        for d in [0u32, 1, u32::MAX, 2, u32::MAX - 1, 1 << 31, (1 << 31) - 1] {
            assert_eq!(unzigzag(zigzag(d)), d);
        }
        // Small differences either way stay small.
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(u32::MAX), 1);
    }

    #[test]
    fn runs_give_the_pairs_sorted() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        // The last: differences of up to 2^32 (five bytes each), over a chunk.
        for (n, span) in [
            (0usize, 100_000u64),
            (1, 100_000),
            (2, 100_000),
            (3, 100_000),
            (10, 100_000),
            (1000, 100_000),
            (5000, 100_000),
            (RUN_CHUNK / 4, 1 << 32),
        ] {
            let mut runs = Runs::default();
            let mut want = Vec::new();
            let mut source = 0u32;
            for _ in 0..n {
                // Runs of a few targets, a source sometimes coming back.
                if next() % 4 == 0 {
                    source = (next() % span.min(50).max(span >> 20)) as u32;
                }
                let target = (next() % span) as u32;
                runs.push(source, target);
                want.push(u64::from(target) << 32 | u64::from(source));
            }
            want.sort_unstable();
            assert!(n < RUN_CHUNK / 5 || runs.chunks.len() > 1, "n {n}");
            assert_eq!(runs.into_sorted_pairs(), want, "n {n}");
        }
    }

    #[test]
    fn tree_preorder_is_the_reference_numbering() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        for (k, fan) in [
            (0usize, 1u64),
            (1, 1),
            (2, 1),
            (7, 2),
            (300, 3),
            (5000, 40),
            (5000, 2),
            (20_000, 5000),
        ] {
            // A random tree by preorder number (each node's dominator earlier;
            // small fan-outs make equal subtrees, to exercise the ties), and a
            // random order.
            let idom: Vec<u32> = (0..k)
                .map(|w| match w {
                    0 => NONE,
                    _ => (w as u64 - 1 - next() % fan.min(w as u64)) as u32,
                })
                .collect();
            let order: Vec<u32> = (0..k as u32)
                .map(|w| w.wrapping_mul(2_654_435_761) % (4 * k as u32 + 1))
                .collect();
            let mut dominators = Deltas::default();
            for (w, &d) in idom.iter().enumerate().skip(1) {
                dominators.push(back_to(w, d));
            }
            let numbers = tree_preorder(&dominators, k);
            let mut tree_order = vec![NONE; k];
            for (&p, &v) in numbers.iter().zip(&order) {
                tree_order[p as usize] = v;
            }
            assert_eq!(
                tree_order,
                tree_preorder_reference(&idom, &order),
                "k {k} fan {fan}"
            );
        }
    }

    #[test]
    fn releasing_the_edges_gives_the_same_tree() {
        // Dense graphs take the reverse edges' CSR, sparse ones the pairs.
        for (n, m, seed) in [
            (1, 3, 1),
            (10, 30, 2),
            (200, 600, 3),
            (5000, 15000, 4),
            (5000, 4000, 5),
            (5000, 6000, 6),
        ] {
            let (mut g, sizes) = graph(n, m, seed);
            let want = Dominators::with_sizes(&g, sizes.clone());
            let dfs = Dfs::new(&g, None);
            g.release_successors();
            assert!(g.successors(g.super_root()).is_empty());
            let got = Dominators::finish(dfs, explicit_sizes(sizes), None);
            assert_eq!(got.idom, want.idom, "n={n}");
            for v in 0..g.node_count() {
                assert_eq!(got.retained.get(v), want.retained.get(v), "n={n}");
            }
            assert_eq!(got.order, want.order, "n={n}");
            assert_eq!(got.reachable, want.reachable, "n={n}");
        }
    }

    /// `preorder` is a preorder of the dominator tree: each node's subtree is the
    /// interval that starts at it, and every node in it has the node as dominator.
    #[test]
    fn preorder_is_the_dominator_trees() {
        for (n, m, seed) in [(1, 3, 1), (300, 200, 7), (300, 900, 8), (5000, 6000, 6)] {
            let (g, sizes) = graph(n, m, seed);
            let dom = Dominators::with_sizes(&g, sizes);
            let order = dom.preorder();
            assert_eq!(order.len(), dom.reachable_count() as usize);
            let mut seen = vec![false; g.node_count()];
            let mut size = vec![0usize; g.node_count()];
            for &v in order.iter().rev() {
                assert!(!seen[v as usize], "n={n}: {v} twice");
                seen[v as usize] = true;
                size[v as usize] += 1;
                if let Some(d) = dom.idom(NodeId(v)) {
                    size[d.index()] += size[v as usize];
                }
            }
            for (p, &v) in order.iter().enumerate() {
                let end = p + size[v as usize];
                assert!(end <= order.len());
                for &w in &order[p..end] {
                    assert!(dom.dominates(NodeId(v), NodeId(w)), "n={n}: {v} over {w}");
                }
                if let Some(&next) = order.get(end) {
                    assert!(!dom.dominates(NodeId(v), NodeId(next)), "n={n}");
                }
                // The child with the largest subtree comes first.
                let mut c = p + 1;
                while c < end {
                    let first = order[p + 1] as usize;
                    assert!(size[first] >= size[order[c] as usize], "n={n}: under {v}");
                    c += size[order[c] as usize];
                }
            }
        }
    }

    /// `Subtrees` finds each node's position and walks exactly its children (the
    /// nodes it immediately dominates), as the children lists do.
    #[test]
    fn subtrees_walk_the_children_lists() {
        for (n, m, seed) in [(1, 3, 1), (300, 200, 7), (300, 900, 8), (5000, 6000, 6)] {
            let (g, sizes) = graph(n, m, seed);
            let dom = Dominators::with_sizes(&g, sizes);
            let sub = dom.subtrees();
            let mut walked = 0;
            for v in 0..g.node_count() as u32 {
                let Some(p) = sub.position(NodeId(v)) else {
                    assert!(!dom.is_reachable(NodeId(v)), "n={n}: {v} not found");
                    assert!(dom.children(NodeId(v)).is_empty());
                    continue;
                };
                assert_eq!(dom.preorder()[p], v);
                let mut got: Vec<u32> = sub
                    .children(p)
                    .map(|(q, c)| {
                        assert_eq!(dom.preorder()[q], c);
                        c
                    })
                    .collect();
                let mut want = dom.children(NodeId(v)).to_vec();
                got.sort_unstable();
                want.sort_unstable();
                assert_eq!(got, want, "n={n}: children of {v}");
                walked += got.len();
            }
            // Every reachable node but the super-root is somebody's child.
            assert_eq!(walked + 1, dom.reachable_count() as usize, "n={n}");
        }
    }

    /// `group_by` against its definition: per key, count, own bytes, and the
    /// retained bytes of the objects no other object of the key dominates.
    #[test]
    fn group_by_matches_its_definition() {
        for (n, m, seed) in [
            (300, 200, 7),
            (300, 900, 8),
            (4000, 3000, 9),
            (20000, 19000, 10),
        ] {
            let (g, sizes) = graph(n, m, seed);
            let dom = Dominators::with_sizes(&g, sizes);
            let key = |o: crate::ObjId| (o.0 % 3 != 0).then_some(o.0 % 5);
            let rows = dom.group_by(&g, key);
            for r in &rows {
                let mut want = (0u64, 0u64, 0u64);
                for o in 0..n {
                    let v = NodeId(o);
                    if !dom.is_reachable(v) || key(crate::ObjId(o)) != Some(r.key) {
                        continue;
                    }
                    want.0 += 1;
                    want.1 += dom.shallow(v);
                    let mut up = dom.idom(v);
                    let mut nested = false;
                    while let Some(d) = up {
                        nested |= d.0 < n && key(crate::ObjId(d.0)) == Some(r.key);
                        up = dom.idom(d);
                    }
                    if !nested {
                        want.2 += dom.retained(v);
                    }
                }
                assert_eq!((r.count, r.shallow, r.retained), want, "key {}", r.key);
            }
        }
    }
}
