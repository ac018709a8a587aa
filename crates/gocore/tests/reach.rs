//! Roots and reachability on every corpus core:
//!
//! * every named object of the truth file is live;
//! * `sent_item` and `stack_held`, reachable only from goroutine stacks, are live —
//!   and are not live when the stack roots are left out (so stack maps matter);
//! * no pointer of a root or a live object lands in a free slot or past a span's
//!   last slot;
//! * live bytes are close to `MemStats.HeapAlloc`, read right after a
//!   `runtime.GC()` (see `live_bytes_near_heap_alloc` for the tolerance);
//! * an object with a finalizer (`finalized`) is live through its global but not
//!   through its own special: with only the special roots it is not marked. The same
//!   holds for the cleanup (`cleaned`) and weak (`weak_target`) objects, while the
//!   weak handle cell itself is kept by its special.
//!
//! Stripped executables are checked like the others (their globals are located by
//! signatures, `gocore::globals`).

use corefile::{Core, OpenOptions};
use gocore::{Heap, Process, Reachability, RootKind, RootSet};

/// `HeapAlloc` is read right after the fixture's final `runtime.GC()`, so it is the
/// bytes that GC marked plus what was allocated since. Three checks follow:
///
/// * allocated bytes (live + garbage) equal `HeapAlloc` within `ALLOC_SLACK`: the
///   few small allocations of the crash path after the memstats were read;
/// * live bytes do not exceed `HeapAlloc` by more than `ALLOC_SLACK`;
/// * live bytes fall short of `HeapAlloc` by at most `DEAD_SLACK`: the truth writer's
///   256 KiB JSON buffer and its memstats field table are live when the GC runs and
///   dead once `(*truth).finish` calls `panic` (observed: 262–263 KB on every case,
///   no longer in any live stack slot — only in dead ones).
const ALLOC_SLACK: u64 = 64 << 10;
const DEAD_SLACK: u64 = 320 << 10;

#[test]
fn roots_and_reachability_match_the_truth() {
    let mut cases = 0;
    let mut table = Vec::new();
    let mut far = Vec::new();
    for case in testkit::cases() {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = match Heap::new(&proc) {
            Ok(h) => h,
            Err(e) => panic!("{}: {e}", case.name),
        };
        cases += 1;
        let truth = case.truth();
        let truth_addr = |_: &_, name: &str| {
            truth["named_objects"]
                .as_array()
                .and_then(|a| a.iter().find(|o| o["name"] == name))
                .and_then(|o| o["addr"].as_u64())
        };
        let roots = RootSet::collect(&proc, &heap).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        for w in roots.warnings() {
            println!("{}: roots warning: {w}", case.name);
        }
        let counts = roots.counts();
        assert!(
            counts.get("global").copied().unwrap_or(0) > 0,
            "{}: no global roots",
            case.name
        );
        assert!(
            counts.get("frame").copied().unwrap_or(0) > 0,
            "{}: no frame roots",
            case.name
        );
        let r = Reachability::compute(&proc, &heap, roots.roots()).unwrap();
        for w in r.warnings() {
            println!("{}: mark warning: {w}", case.name);
        }

        // Named objects are live.
        for o in truth["named_objects"].as_array().unwrap() {
            let name = o["name"].as_str().unwrap();
            let addr = o["addr"].as_u64().unwrap();
            let Some((id, _)) = heap.find_object(addr) else {
                continue;
            };
            assert!(
                r.is_live(id),
                "{}: {name} at {addr:#x} is not live",
                case.name
            );
        }

        // No bad pointers.
        assert_eq!(
            r.root_edges.bad() + r.heap_edges.bad(),
            0,
            "{}: bad pointers {:?} / {:?}: {:x?}",
            case.name,
            r.root_edges,
            r.heap_edges,
            r.bad
        );

        // Stack-only objects need the stack roots.
        let no_stack =
            Reachability::compute(&proc, &heap, roots.roots().filter(|r| !r.kind.is_stack()))
                .unwrap();
        for name in ["sent_item", "stack_held"] {
            let Some(addr) = truth_addr(&truth, name) else {
                continue;
            };
            let (id, _) = heap.find_object(addr).unwrap();
            assert!(r.is_live(id), "{}: {name} not live", case.name);
            assert!(
                !no_stack.is_live(id),
                "{}: {name} live without stack roots",
                case.name
            );
        }

        // Specials do not keep their own object alive.
        let special =
            Reachability::compute(&proc, &heap, roots.roots().filter(|r| r.kind.is_special()))
                .unwrap();
        for name in ["finalized", "cleaned", "weak_target"] {
            let Some(addr) = truth_addr(&truth, name) else {
                continue;
            };
            let (id, _) = heap.find_object(addr).unwrap();
            assert!(r.is_live(id), "{}: {name} not live", case.name);
            assert!(
                !special.is_live(id),
                "{}: {name} marked by its own special",
                case.name
            );
        }
        if let Some(addr) = truth_addr(&truth, "finalized") {
            assert!(
                roots
                    .roots()
                    .any(|r| matches!(r.kind, RootKind::Finalizer { object } if object == addr)),
                "{}: no finalizer root for finalized",
                case.name
            );
        }
        if let Some(addr) = truth_addr(&truth, "weak_handle") {
            let (id, _) = heap.find_object(addr).unwrap();
            assert!(
                special.is_live(id),
                "{}: weak handle cell not kept by its special",
                case.name
            );
        }

        // Live bytes vs HeapAlloc.
        let heap_alloc = truth["memstats"]["HeapAlloc"].as_u64().unwrap();
        let live = r.live_bytes();
        let allocated = live + r.garbage_bytes();
        let ok = allocated.abs_diff(heap_alloc) <= ALLOC_SLACK
            && live <= heap_alloc + ALLOC_SLACK
            && heap_alloc.saturating_sub(live) <= DEAD_SLACK;
        table.push(format!(
            "{:<48} roots {:>7} live {:>6} obj {:>9} B  garbage {:>6} obj {:>9} B  HeapAlloc {:>9} ({:+.1}%) HeapObjects {} edges hdr {} stack {} outside {}",
            case.name,
            roots.len(),
            r.live_count(),
            live,
            r.garbage_count(),
            r.garbage_bytes(),
            heap_alloc,
            (live as f64 - heap_alloc as f64) * 100.0 / heap_alloc.max(1) as f64,
            truth["memstats"]["HeapObjects"],
            r.root_edges.to_header + r.heap_edges.to_header,
            r.root_edges.to_stack + r.heap_edges.to_stack,
            r.root_edges.outside_heap + r.heap_edges.outside_heap,
        ));
        if !ok {
            far.push(format!(
                "{}: live {live} B vs HeapAlloc {heap_alloc} B",
                case.name
            ));
        }
    }
    for l in &table {
        println!("{l}");
    }
    assert!(far.is_empty(), "live bytes far from HeapAlloc: {far:#?}");
    println!("{cases} cases checked");
    assert!(cases > 0);
}
