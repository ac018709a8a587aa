//! The object graph against the heap it was built from, on every corpus core whose
//! heap can be located:
//!
//! * each object's successors are exactly the objects its pointer slots
//!   ([`Heap::pointers`]) land in — by [`Heap::find_object`], plus objects whose
//!   malloc header a slot points into (which the GC also counts);
//! * each root group's successors are the objects its roots land in, and every
//!   root of the [`RootSet`] belongs to exactly one group;
//! * the reverse edges are the forward edges turned around (same count, each
//!   referrer lists the node);
//! * the super-root points at every root group and nothing else.

use std::collections::BTreeSet;

use corefile::{Core, OpenOptions};
use gocore::{Heap, NodeId, NodeKind, ObjectGraph, Process, RootSet};

/// The object `addr` lands in, counting a malloc header as its object's.
fn lands(heap: &Heap<'_>, addr: u64) -> Option<u32> {
    if let Some((id, _)) = heap.find_object(addr) {
        return Some(id.0);
    }
    // In a header? The object found from the end of the slot starts after addr.
    let s = heap.span_of(addr)?;
    if s.elemsize == 0 || addr < s.base {
        return None;
    }
    let slot = s.base + (addr - s.base) / s.elemsize * s.elemsize;
    let (id, _) = heap.find_object(slot + s.elemsize - 1)?;
    let o = heap.object(id)?;
    (o.slot <= addr && addr < o.addr).then_some(id.0)
}

#[test]
fn graph_matches_heap_and_roots() {
    let mut cases = 0;
    for case in testkit::cases() {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let proc = Process::new(&core).unwrap();
        let heap = match Heap::new(&proc) {
            Ok(h) => h,
            Err(e) => panic!("{}: {e}", case.name),
        };
        cases += 1;
        let c = &case.name;
        let roots = RootSet::collect(&proc, &heap).unwrap();
        let g = ObjectGraph::build(&heap, &roots).unwrap();
        assert!(g.warnings().is_empty(), "{c}: {:?}", g.warnings());
        assert_eq!(u64::from(g.object_count()), heap.object_count(), "{c}");
        let mut edges = 0usize;
        for obj in heap.objects() {
            let want: BTreeSet<u32> = heap
                .pointers(&obj)
                .map(|p| p.unwrap())
                .filter(|p| p.target != 0)
                .filter_map(|p| lands(&heap, p.target))
                .collect();
            let got: Vec<u32> = g.successors(g.object_node(obj.id)).to_vec();
            assert_eq!(
                got,
                want.into_iter().collect::<Vec<_>>(),
                "{c}: successors of {:#x}",
                obj.addr
            );
            edges += got.len();
        }
        // Root groups.
        let all = roots.roots().as_slice();
        let mut seen = vec![0u32; all.len()];
        for i in 0..g.root_groups().len() as u32 {
            let n = g.root_node(i);
            assert_eq!(g.kind(n), NodeKind::Root(i));
            let mut want = BTreeSet::new();
            for &ri in g.root_members(i) {
                seen[ri as usize] += 1;
                if let Some(t) = lands(&heap, all[ri as usize].target) {
                    want.insert(t);
                }
            }
            assert_eq!(
                g.successors(n).to_vec(),
                want.into_iter().collect::<Vec<_>>(),
                "{c}: root group {}",
                g.root_groups()[i as usize]
            );
            edges += g.successors(n).len();
        }
        assert!(seen.iter().all(|&k| k == 1), "{c}: every root in one group");
        let sup: Vec<u32> = (0..g.root_groups().len() as u32)
            .map(|i| g.root_node(i).0)
            .collect();
        assert_eq!(g.successors(g.super_root()).to_vec(), sup, "{c}");
        edges += sup.len();
        assert_eq!(g.edge_count(), edges, "{c}: edge count");
        // Reverse edges.
        let mut rev = 0usize;
        for v in 0..g.node_count() as u32 {
            for r in g.referrers(NodeId(v)) {
                assert!(
                    g.successors(r).binary_search(&v).is_ok(),
                    "{c}: {r:?} listed as referrer of {v} without the edge"
                );
                rev += 1;
            }
        }
        assert_eq!(rev, g.edge_count(), "{c}: reverse edge count");
        println!(
            "{c}: {} objects, {} root groups, {} edges",
            g.object_count(),
            g.root_groups().len(),
            g.edge_count()
        );
    }
    assert!(cases > 0);
}
