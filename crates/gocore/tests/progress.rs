//! The progress counters ([`Heap::progress`]): each stage starts at `(0, 0)`, and
//! once it has run its count is its whole total — the number of objects for
//! typing, marking and the object graph, two per node for the dominator tree — on
//! a few crash cores of the corpus (of whatever modes it holds). A display reading them in between is checked
//! by `Progress`'s own unit test (the count stays below the total until the end).

use corefile::{Core, OpenOptions};
use gocore::{Dominators, Heap, ObjectGraph, Process, Reachability, RootSet, Stage, Typing};

#[test]
fn every_stage_ends_at_its_total() {
    let mut checked = 0;
    // Crash cores of any mode (the matrix's chunks hold different ones), a few.
    let cases: Vec<testkit::Case> = testkit::cases_matching(&["crash"])
        .into_iter()
        .take(6)
        .collect();
    for case in &cases {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap();
        let Ok(heap) = Heap::new(&proc) else { continue };
        let c = &case.name;
        let progress = heap.progress();
        for s in Stage::ALL {
            assert_eq!(progress.get(s), (0, 0), "{c}: {s:?} before it starts");
        }
        let n = heap.object_count();
        if Typing::compute(&proc, &heap).is_ok() {
            assert_eq!(progress.get(Stage::Typing), (n, n), "{c}: typing");
        }
        let roots = RootSet::collect(&proc, &heap).unwrap();
        Reachability::compute(&proc, &heap, roots.roots()).unwrap();
        assert_eq!(progress.get(Stage::Marking), (n, n), "{c}: marking");
        let graph = ObjectGraph::build(&heap, &roots).unwrap();
        assert_eq!(progress.get(Stage::Graph), (n, n), "{c}: object graph");
        assert_eq!(progress.get(Stage::Dominators), (0, 0), "{c}");
        Dominators::compute(&graph, &heap);
        let two = 2 * graph.node_count() as u64;
        assert_eq!(
            progress.get(Stage::Dominators),
            (two, two),
            "{c}: dominators"
        );
        checked += 1;
    }
    assert!(checked > 0 || cases.is_empty(), "no corpus case checked");
}
