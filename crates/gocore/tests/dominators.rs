//! Dominators and retained sizes, checked against independent simple algorithms:
//!
//! * on randomized graphs (a small deterministic PRNG: sparse, dense, chains,
//!   diamonds, unreachable parts, self loops): every immediate dominator equals the
//!   one found by iterative dataflow (`dom(n) = {n} ∪ ⋂ dom(preds)`), and every
//!   retained size equals the bytes that become unreachable when the node is
//!   removed;
//! * on every corpus core, every node: its immediate dominator equals the one
//!   iterative dataflow over bitsets finds (in reverse postorder, itself checked
//!   against the plain dataflow on random graphs), and its retained size equals the
//!   sum of sizes over its subtree of that dataflow dominator tree;
//! * on every corpus core: the super-root retains exactly the live bytes
//!   [`Reachability`] marks, and for a deterministic sample of nodes the retained
//!   size equals "remove the node, mark again, count what became unreachable", and
//!   the immediate dominator is the closest strict dominator on the dominator chain
//!   of that same check;
//! * a 2-million-node list (no recursion: no stack overflow) retains all of it from
//!   its head;
//! * on the zoo cores: `main.gList` retains its 1000 `main.ListNode`s (48 B each)
//!   plus what hangs off them; on the leak cores, the sessions map retains each
//!   session it alone holds with its payload, ID, user and token.

use corefile::{Core, OpenOptions};
use gocore::{Dominators, Heap, NodeId, ObjectGraph, Process, Reachability, RootSet};

/// xorshift64*: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Reachable set from the super-root, skipping `removed`.
fn reach(g: &ObjectGraph, removed: Option<u32>) -> Vec<bool> {
    let mut seen = vec![false; g.node_count()];
    let root = g.super_root().0;
    if removed == Some(root) {
        return seen;
    }
    let mut stack = vec![root];
    seen[root as usize] = true;
    while let Some(v) = stack.pop() {
        for &w in g.successors(NodeId(v)) {
            if Some(w) != removed && !seen[w as usize] {
                seen[w as usize] = true;
                stack.push(w);
            }
        }
    }
    seen
}

/// Iterative dataflow dominator sets (bitsets), then the immediate dominator as the
/// strict dominator with the largest dominator set.
fn dataflow_idoms(g: &ObjectGraph) -> Vec<Option<u32>> {
    let n = g.node_count();
    let words = n.div_ceil(64);
    let reachable = reach(g, None);
    let root = g.super_root().index();
    let full = vec![!0u64; words];
    let mut dom: Vec<Vec<u64>> = (0..n)
        .map(|i| {
            if i == root {
                let mut v = vec![0u64; words];
                v[i / 64] |= 1 << (i % 64);
                v
            } else {
                full.clone()
            }
        })
        .collect();
    let preds: Vec<Vec<u32>> = (0..n)
        .map(|i| g.predecessors(NodeId(i as u32)).to_vec())
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..n {
            if i == root || !reachable[i] {
                continue;
            }
            let mut acc = full.clone();
            for &p in &preds[i] {
                if !reachable[p as usize] {
                    continue;
                }
                for (a, b) in acc.iter_mut().zip(&dom[p as usize]) {
                    *a &= *b;
                }
            }
            acc[i / 64] |= 1 << (i % 64);
            if acc != dom[i] {
                dom[i] = acc;
                changed = true;
            }
        }
    }
    let count = |v: &Vec<u64>| v.iter().map(|w| w.count_ones()).sum::<u32>();
    (0..n)
        .map(|i| {
            if i == root || !reachable[i] {
                return None;
            }
            // Strict dominators of i; the immediate one has the most dominators.
            (0..n)
                .filter(|&d| d != i && dom[i][d / 64] & (1 << (d % 64)) != 0)
                .max_by_key(|&d| count(&dom[d]))
                .map(|d| d as u32)
        })
        .collect()
}

fn random_graph(rng: &mut Rng, objects: u32, edges: u32, roots: u32) -> ObjectGraph {
    let mut e = Vec::new();
    for _ in 0..edges {
        let a = rng.below(u64::from(objects)) as u32;
        // Bias towards forward edges with some back edges: chains and cycles.
        let b = if rng.below(4) == 0 {
            rng.below(u64::from(objects)) as u32
        } else {
            (a + 1 + rng.below(3) as u32) % objects
        };
        e.push((a, b));
    }
    let r: Vec<Vec<u32>> = (0..roots)
        .map(|_| {
            (0..1 + rng.below(3))
                .map(|_| rng.below(u64::from(objects)) as u32)
                .collect()
        })
        .collect();
    ObjectGraph::from_edges(objects, &e, &r)
}

#[test]
fn random_graphs_match_dataflow_and_removal() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for round in 0..300 {
        let objects = 1 + rng.below(60) as u32;
        let edges = match round % 3 {
            0 => objects,                                  // sparse
            1 => objects * 3,                              // dense
            _ => rng.below(u64::from(objects) * 2) as u32, // anything
        };
        let roots = 1 + rng.below(4) as u32;
        let g = random_graph(&mut rng, objects, edges, roots);
        let sizes: Vec<u64> = (0..objects).map(|_| 1 + rng.below(100)).collect();
        let dom = Dominators::with_sizes(&g, sizes.clone());
        // top_objects is the head of the full sort.
        let mut all_objs: Vec<(NodeId, u64)> = (0..objects)
            .filter(|&i| dom.is_reachable(NodeId(i)))
            .map(|i| (NodeId(i), dom.retained(NodeId(i))))
            .collect();
        all_objs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all_objs.truncate(5);
        assert_eq!(
            dom.top_objects(&g, 5),
            all_objs,
            "round {round}: top_objects"
        );
        let want = dataflow_idoms(&g);
        let all = reach(&g, None);
        for i in 0..g.node_count() as u32 {
            assert_eq!(
                dom.idom(NodeId(i)).map(|n| n.0),
                want[i as usize],
                "round {round}: idom of {i}"
            );
            assert_eq!(dom.is_reachable(NodeId(i)), all[i as usize]);
            // Retained = bytes that become unreachable without i.
            let without = reach(&g, Some(i));
            let freed: u64 = (0..objects as usize)
                .filter(|&o| all[o] && !without[o])
                .map(|o| sizes[o])
                .sum();
            assert_eq!(
                dom.retained(NodeId(i)),
                freed,
                "round {round}: retained of {i}"
            );
            checked += 1;
        }
    }
    println!("{checked} nodes checked");
}

#[test]
fn long_list_does_not_recurse() {
    let n = 2_000_000u32;
    let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
    let g = ObjectGraph::from_edges(n, &edges, &[vec![0]]);
    let dom = Dominators::with_sizes(&g, vec![16; n as usize]);
    assert_eq!(dom.retained(NodeId(0)), 16 * u64::from(n));
    assert_eq!(dom.idom(NodeId(n - 1)), Some(NodeId(n - 2)));
    let paths = gocore::paths_to(&g, NodeId(n - 1), 5);
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].len(), n as usize + 1);
    // Grouping walks the tree iteratively too.
    let rows = dom.group_by(&g, |_| Some(()));
    assert_eq!(
        (rows[0].count, rows[0].retained),
        (u64::from(n), 16 * u64::from(n))
    );
}

/// Opens a case; `None` (with a note) when its heap cannot be located.
fn open(case: &testkit::Case) -> Option<Core> {
    Some(
        Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name)),
    )
}

#[test]
fn corpus_dominators_match_removal() {
    let mut cases = 0;
    for case in testkit::cases() {
        let Some(core) = open(&case) else { continue };
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = match Heap::new(&proc) {
            Ok(h) => h,
            Err(e) => panic!("{}: {e}", case.name),
        };
        cases += 1;
        let roots = RootSet::collect(&proc, &heap).unwrap();
        let t = std::time::Instant::now();
        let g = ObjectGraph::build(&heap, &roots).unwrap();
        let t_graph = t.elapsed();
        let t = std::time::Instant::now();
        let dom = Dominators::compute(&g, &heap);
        let t_dom = t.elapsed();
        let r = Reachability::compute(&proc, &heap, roots.roots()).unwrap();
        assert_eq!(
            dom.retained(g.super_root()),
            r.live_bytes(),
            "{}: super-root retains the live bytes",
            case.name
        );
        for id in 0..g.object_count() {
            assert_eq!(
                dom.is_reachable(NodeId(id)),
                r.is_live(gocore::ObjId(id)),
                "{}: reachability of object {id}",
                case.name
            );
        }
        // Sample: every root node and up to 40 objects spread over the id range,
        // biased to big retainers.
        let sizes: Vec<u64> = {
            let mut s = vec![0u64; g.node_count()];
            for o in heap.objects() {
                s[o.id.index()] = o.size + (o.addr - o.slot);
            }
            s
        };
        let all = reach(&g, None);
        let mut sample: Vec<u32> = dom
            .top_objects(&g, 15)
            .into_iter()
            .map(|(n, _)| n.0)
            .collect();
        sample.extend(dom.top_roots(&g).into_iter().take(10).map(|(n, _)| n.0));
        let mut rng = Rng(u64::from(g.object_count()) | 1);
        for _ in 0..25 {
            let id = rng.below(u64::from(g.object_count())) as u32;
            if all[id as usize] {
                sample.push(id);
            }
        }
        for &n in &sample {
            let without = reach(&g, Some(n));
            let freed: u64 = (0..g.node_count())
                .filter(|&o| all[o] && !without[o])
                .map(|o| sizes[o])
                .sum();
            assert_eq!(
                dom.retained(NodeId(n)),
                freed,
                "{}: retained size of node {n} ({})",
                case.name,
                g.describe(NodeId(n), &heap)
            );
            // Every node on the dominator chain (the nearest 8) dominates n: removing
            // it makes n unreachable; and the chain ends with n's immediate dominator.
            if let Some(d) = dom.idom(NodeId(n)) {
                let chain = dom.dominator_chain(NodeId(n));
                assert_eq!(chain[chain.len() - 2], d);
                for &x in chain.iter().rev().skip(1).take(8) {
                    if x != g.super_root() {
                        let w = reach(&g, Some(x.0));
                        assert!(
                            !w[n as usize],
                            "{}: {x:?} on the dominator chain of {n} does not dominate it",
                            case.name
                        );
                    }
                }
            }
        }
        println!(
            "{}: {} nodes, {} edges, {} reachable; graph {:?}, dominators {:?}; {} nodes checked by removal",
            case.name,
            g.node_count(),
            g.edge_count(),
            dom.reachable_count(),
            t_graph,
            t_dom,
            sample.len()
        );
    }
    assert!(cases > 0, "no corpus case ran");
}

/// Reachable nodes of `g` in reverse postorder of a depth-first search from the
/// super-root (iterative): every node comes after all its dominators.
fn reverse_postorder(g: &ObjectGraph) -> Vec<u32> {
    let root = g.super_root().0;
    let mut seen = vec![false; g.node_count()];
    let mut post = Vec::new();
    let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
    seen[root as usize] = true;
    while let Some(top) = stack.last_mut() {
        let (v, i) = *top;
        let succ = g.successors(NodeId(v));
        if i < succ.len() {
            top.1 += 1;
            let w = succ[i];
            if !seen[w as usize] {
                seen[w as usize] = true;
                stack.push((w, 0));
            }
        } else {
            post.push(v);
            stack.pop();
        }
    }
    post.reverse();
    post
}

/// Every reachable node's immediate dominator by iterative dataflow over bitsets
/// (`dom(n) = {n} ∪ ⋂ dom(preds)`), indexed by node; in reverse postorder a
/// node's strict dominators all come before it, so the immediate one is the latest.
fn dataflow_idoms_rpo(g: &ObjectGraph, rpo: &[u32]) -> Vec<Option<u32>> {
    let k = rpo.len();
    let words = k.div_ceil(64);
    let mut index = vec![u32::MAX; g.node_count()];
    for (i, &v) in rpo.iter().enumerate() {
        index[v as usize] = i as u32;
    }
    let mut dom = vec![!0u64; k * words];
    dom[..words].fill(0);
    dom[0] = 1;
    let mut acc = vec![0u64; words];
    let mut changed = true;
    while changed {
        changed = false;
        for i in 1..k {
            // Only bits up to i can be set: a reachable node has a predecessor
            // before it in reverse postorder (its DFS parent).
            let upto = i / 64 + 1;
            acc[..upto].fill(!0);
            for &p in g.predecessors(NodeId(rpo[i])) {
                let j = index[p as usize];
                if j == u32::MAX {
                    continue;
                }
                let row = &dom[j as usize * words..][..upto];
                for (a, b) in acc[..upto].iter_mut().zip(row) {
                    *a &= *b;
                }
            }
            // Bits above i (from "not yet computed" rows) are no dominators.
            acc[i / 64] &= if i % 64 == 63 {
                !0
            } else {
                (1u64 << (i % 64 + 1)) - 1
            };
            acc[i / 64] |= 1 << (i % 64);
            let row = &mut dom[i * words..][..words];
            if row[..upto] != acc[..upto] || row[upto..].iter().any(|&w| w != 0) {
                row[..upto].copy_from_slice(&acc[..upto]);
                row[upto..].fill(0);
                changed = true;
            }
        }
    }
    let mut idom = vec![None; g.node_count()];
    for i in 1..k {
        let row = &dom[i * words..][..words];
        // The highest set bit below i.
        let d = (0..i).rev().find(|&d| row[d / 64] & (1 << (d % 64)) != 0);
        idom[rpo[i] as usize] = d.map(|d| rpo[d]);
    }
    idom
}

/// On every corpus core, every node's immediate dominator equals the dataflow
/// algorithm's, and every node's retained size equals the sum of sizes over its
/// subtree of the dataflow dominator tree (the super-root's: the live bytes).
#[test]
fn corpus_dominators_match_dataflow_on_every_node() {
    let mut cases = 0;
    for case in testkit::cases() {
        let Some(core) = open(&case) else { continue };
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = Heap::new(&proc).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let roots = RootSet::collect(&proc, &heap).unwrap();
        let g = ObjectGraph::build(&heap, &roots).unwrap();
        let dom = Dominators::compute(&g, &heap);
        let t = std::time::Instant::now();
        let rpo = reverse_postorder(&g);
        let want = dataflow_idoms_rpo(&g, &rpo);
        let elapsed = t.elapsed();
        let mut sizes = vec![0u64; g.node_count()];
        for o in heap.objects() {
            sizes[o.id.index()] = o.size + (o.addr - o.slot);
        }
        // Retained sizes bottom-up over the dataflow tree.
        let mut retained = sizes.clone();
        for &v in rpo.iter().rev() {
            if let Some(d) = want[v as usize] {
                retained[d as usize] += retained[v as usize];
            }
        }
        assert_eq!(dom.reachable_count() as usize, rpo.len(), "{}", case.name);
        let mut reachable = vec![false; g.node_count()];
        for &v in &rpo {
            reachable[v as usize] = true;
        }
        for n in 0..g.node_count() {
            let id = NodeId(n as u32);
            assert_eq!(
                dom.idom(id).map(|d| d.0),
                want[n],
                "{}: idom of node {n} ({})",
                case.name,
                g.describe(id, &heap)
            );
            let r = if reachable[n] { retained[n] } else { 0 };
            assert_eq!(
                dom.retained(id),
                r,
                "{}: retained size of node {n} ({})",
                case.name,
                g.describe(id, &heap)
            );
        }
        println!(
            "{}: {} reachable nodes: every idom and retained size equal the dataflow's ({elapsed:?})",
            case.name,
            rpo.len()
        );
        cases += 1;
    }
    assert!(cases > 0, "no corpus case ran");
}

/// The reverse-postorder dataflow used on corpus cores agrees with the plain one
/// (and so with `Dominators`) on the randomized graphs.
#[test]
fn rpo_dataflow_matches_plain_dataflow() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..200 {
        let objects = 1 + rng.below(150) as u32;
        let edges = rng.below(u64::from(objects) * 3) as u32;
        let roots = 1 + rng.below(4) as u32;
        let g = random_graph(&mut rng, objects, edges, roots);
        let rpo = reverse_postorder(&g);
        assert_eq!(
            dataflow_idoms_rpo(&g, &rpo),
            dataflow_idoms(&g),
            "round {round}"
        );
        let dom = Dominators::with_sizes(&g, vec![1; objects as usize]);
        assert_eq!(dom.reachable_count() as usize, rpo.len(), "round {round}");
    }
}
