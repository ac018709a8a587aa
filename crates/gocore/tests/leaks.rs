//! Retained sizes, paths and leak suspects against what the fixtures recorded, on
//! every corpus core whose heap can be located:
//!
//! * **zoo** (counts and sizes as the truth's `type_counts` records them):
//!   `list_head` retains exactly its 1000 `main.ListNode`s × 48 B;
//!   `tree_root` its 255 `main.TreeNode`s × 24 B; `cycle_a` the 3 cycle nodes;
//!   the pointer arrays their own slot plus one 16-byte pointee per element
//!   (16, 300, 10000); `mid_struct_slice` its slot plus 40 `main.MidSliceTarget`s;
//!   `interior_obj` only itself. The shortest path to each of these objects is one
//!   hop from the global that holds it (same address as the truth's `globals`);
//!   the path to the list's last node has 1000 hops, of which the middle 936 are
//!   left out of the labelled path; with a threshold of 3% of the live heap outside
//!   user arena chunks (the whole heap but on `exp-arenas` cases, whose 16 MiB of
//!   chunks dwarf zoo's ~2 MB) the list is a leak suspect accumulating at its head.
//! * **leak**: the sessions map (the truth's `maps[sessions].addr`) dominates every
//!   `main.Session` except those the leaked goroutines' requests also hold, each
//!   with its 1024-byte payload; `gocore leaks`' top suspect accumulates in or at
//!   that map, its path starts at the global `main.gServer` and goes through the
//!   map, and with types the suspect is the map header itself, names the 1500
//!   `main.Session`s and holds exactly those the leaked requests do not share; the leaked goroutines
//!   form one group of exactly the truth's ids, parked in `main.awaitReply`, and
//!   each retains its `main.Request` (80 B) and its 256-byte body.
//! * with DWARF, the path to `session_0_payload` is labelled `.sessions`, the map
//!   key `["sess-000000"]` and `.Payload`; stack-only objects (`stack_held`,
//!   `sent_item`, `leaked_request_0`) start at their goroutine's frame variable
//!   (`main.chanReceiver held`, `main.chanSender item`, `main.awaitReply req`).
//!
//! With `GOCORE_CORPUS` pointing at a directory of the 21 leak matrix cases (7
//! releases × default, nodwarf, stripped; crash) the leak test passes on all of them.

use std::collections::HashSet;

use corefile::{Core, OpenOptions};
use gocore::{
    Dominators, Heap, LeakOptions, LeakReport, NodeId, ObjectGraph, PathLabeler, Process,
    RootGroup, RootSet, Typing,
};
use serde_json::Value;

fn named(truth: &Value, name: &str) -> Option<u64> {
    truth["named_objects"]
        .as_array()?
        .iter()
        .find(|o| o["name"] == name)?["addr"]
        .as_u64()
}

/// Slot size of the object at `addr`.
fn slot(heap: &Heap<'_>, addr: u64) -> u64 {
    let (id, _) = heap.find_object(addr).expect("object");
    let o = heap.object(id).unwrap();
    o.size + (o.addr - o.slot)
}

fn node(heap: &Heap<'_>, g: &ObjectGraph, addr: u64) -> NodeId {
    g.object_node(heap.find_object(addr).expect("object").0)
}

struct Loaded {
    core: Core,
}

fn load(case: &testkit::Case) -> Loaded {
    Loaded {
        core: Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name)),
    }
}

/// Runs `f` on every case of `program` whose heap can be located.
fn each_case(
    program: &str,
    mut f: impl FnMut(&testkit::Case, &Process<'_>, &Heap<'_>, &RootSet, &ObjectGraph, &Dominators),
) -> usize {
    let mut n = 0;
    // A matrix chunk may hold no case of this program: then the committed ones.
    let mut cases: Vec<testkit::Case> = testkit::cases()
        .into_iter()
        .filter(|c| c.program() == program)
        .collect();
    if cases.is_empty() {
        cases = testkit::committed_cases()
            .into_iter()
            .filter(|c| c.program() == program)
            .collect();
    }
    for case in cases {
        let l = load(&case);
        let proc = Process::new(&l.core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = match Heap::new(&proc) {
            Ok(h) => h,
            Err(e) => panic!("{}: {e}", case.name),
        };
        let roots = RootSet::collect(&proc, &heap).unwrap();
        let g = ObjectGraph::build(&heap, &roots).unwrap();
        let dom = Dominators::compute(&g, &heap);
        f(&case, &proc, &heap, &roots, &g, &dom);
        n += 1;
    }
    n
}

#[test]
fn zoo_retained_sizes_and_paths() {
    let n = each_case("zoo", |case, _proc, heap, roots, g, dom| {
        let truth = case.truth();
        let addr = |name: &str| named(&truth, name).unwrap_or_else(|| panic!("{name}"));
        let retained = |name: &str| dom.retained(node(heap, g, addr(name)));
        let c = &case.name;
        // count × size of a type the truth counts (`type_counts`).
        let counted = |ty: &str| {
            let t = &truth["type_counts"][ty];
            let n = t["count"].as_u64().unwrap_or_else(|| panic!("{c}: {ty}"));
            (
                n,
                n * t["size"].as_u64().unwrap_or_else(|| panic!("{c}: {ty}")),
            )
        };
        assert_eq!(retained("list_head"), 1000 * 48, "{c}: list_head");
        assert_eq!(retained("list_head"), counted("main.ListNode").1, "{c}");
        assert_eq!(retained("tree_root"), 255 * 24, "{c}: tree_root");
        assert_eq!(retained("tree_root"), counted("main.TreeNode").1, "{c}");
        assert_eq!(retained("cycle_a"), 3 * 16, "{c}: cycle_a");
        assert_eq!(retained("cycle_a"), counted("main.CycleNode").1, "{c}");
        for (arr, n, elem) in [
            ("small_ptr_array", 16, "main.SmallArrElem"),
            ("mid_ptr_array", 300, "main.MidArrElem"),
            ("large_ptr_array", 10000, "main.LargeArrElem"),
            ("mid_struct_slice", 40, "main.MidSliceTarget"),
        ] {
            assert_eq!(
                retained(arr),
                slot(heap, addr(arr)) + n * 16,
                "{c}: {arr} retains itself and {n} 16-byte pointees"
            );
            assert_eq!(counted(elem), (n, n * 16), "{c}: the truth counts {elem}");
        }
        assert_eq!(
            retained("interior_obj"),
            slot(heap, addr("interior_obj")),
            "{c}: interior_obj"
        );
        // Shortest paths: one hop from the holding global.
        let labeler = PathLabeler::new(_proc, heap, roots, None);
        for (obj, global) in [
            ("list_head", "main.gList"),
            ("tree_root", "main.gTree"),
            ("cycle_a", "main.gCycle"),
            ("small_ptr_array", "main.gSmallArr"),
            ("mid_ptr_array", "main.gMidArr"),
            ("large_ptr_array", "main.gLargeArr"),
            ("interior_obj", "main.gInteriorPtr"),
            ("any_slice", "main.gAny"),
            ("iface_holder", "main.gHolder"),
            ("finalized", "main.gFinalized"),
        ] {
            let gaddr = truth["globals"][global].as_u64().unwrap();
            let paths = gocore::paths_to(g, node(heap, g, addr(obj)), 50);
            assert!(!paths.is_empty(), "{c}: no path to {obj}");
            let hit = paths
                .iter()
                .map(|p| labeler.label(g, p))
                .find(|lp| matches!(lp.root, RootGroup::Global { addr, .. } if addr == gaddr));
            let hit = hit.unwrap_or_else(|| panic!("{c}: no path to {obj} from {global}"));
            assert_eq!(hit.steps.len(), 1, "{c}: {obj} one hop from {global}");
            assert_eq!(paths[0].len(), 2, "{c}: shortest path to {obj} is one hop");
            if case.mode() != "stripped" {
                assert_eq!(hit.root_label, global, "{c}: {obj}");
            }
        }
        // Objects only stacks hold: the frame variable, named from DWARF.
        if !matches!(case.mode().as_str(), "nodwarf" | "stripped") {
            for (obj, func, var) in [
                ("stack_held", "main.chanReceiver", "held"),
                ("sent_item", "main.chanSender", "item"),
            ] {
                let p = gocore::paths_to(g, node(heap, g, addr(obj)), 1);
                let lp = labeler.label(g, &p[0]);
                assert!(
                    matches!(lp.root, RootGroup::Goroutine { .. })
                        && lp.root_label.ends_with(&format!("{func} {var}")),
                    "{c}: {obj} held by {func}'s {var}: {lp}"
                );
            }
        }
        // The list's last node: 1000 hops from main.gList, the middle left out.
        let mut last = addr("list_head");
        for _ in 0..999 {
            last = _proc.read_ptr(last).unwrap(); // ListNode.Next at offset 0
        }
        let p = gocore::paths_to(g, node(heap, g, last), 1);
        assert_eq!(p[0].len(), 1001, "{c}: root + 1000 list nodes");
        let lp = labeler.label(g, &p[0]);
        assert_eq!(lp.steps.len() as u64 + lp.elided, 1000, "{c}");
        assert_eq!((lp.steps.len(), lp.elided_after), (64, 32), "{c}");
        assert_eq!(lp.steps.last().unwrap().addr, last, "{c}");
        assert_eq!(lp.steps[0].addr, addr("list_head"), "{c}");
        // A linked list as a suspect accumulates at its head, not down the chain.
        // Its threshold is 3% of the live heap outside user arena chunks (exp-arenas
        // cases hold 16 MiB of chunks, mostly not yet allocated, beside ~2 MB of
        // everything else: the list is ~0.3% of all), as a share of the whole.
        let live = dom.retained(g.super_root());
        let arena: u64 = heap
            .objects()
            .filter(|o| heap.span(o).user_arena && dom.is_reachable(g.object_node(o.id)))
            .map(|o| o.size)
            .sum();
        let min_share = 0.03 * live.saturating_sub(arena) as f64 / live.max(1) as f64;
        let opts = LeakOptions {
            min_share,
            ..Default::default()
        };
        let r = LeakReport::compute(_proc, heap, roots, g, dom, None, &opts);
        assert_eq!(r.live_bytes, live, "{c}: live bytes");
        println!(
            "{c}: list threshold {:.2}% of {live} live B ({arena} B in user arena chunks)",
            min_share * 100.0
        );
        let head = node(heap, g, addr("list_head"));
        assert!(
            r.suspects.iter().any(|s| s.accumulation == head),
            "{c}: the list (48000 B) is a suspect at its head: {:?}",
            r.suspects
                .iter()
                .map(|s| g.describe(s.accumulation, heap))
                .collect::<Vec<_>>()
        );
        // Interior pointer: the path lands 40 bytes into main.Interior.
        let p = gocore::paths_to(g, node(heap, g, addr("interior_obj")), 1);
        let lp = labeler.label(g, &p[0]);
        assert_eq!(
            lp.steps[0].offset, 40,
            "{c}: gInteriorPtr points at field Mid"
        );
    });
    assert!(n > 0, "no zoo case ran");
}

#[test]
fn leak_suspects_retained_sizes_and_paths() {
    let n = each_case("leak", |case, proc, heap, roots, g, dom| {
        let truth = case.truth();
        let c = &case.name;
        let typing = Typing::compute(proc, heap).ok();
        let map = truth["maps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "sessions")
            .unwrap()["addr"]
            .as_u64()
            .unwrap();
        let map_node = node(heap, g, map);
        let gserver = truth["globals"]["main.gServer"].as_u64().unwrap();
        let leaked = truth["goroutines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["role"] == "leaked")
            .unwrap();
        // Sessions the leaked requests also hold (Request.Session at offset 64).
        let shared: HashSet<u64> = leaked["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| proc.read_ptr(r.as_u64().unwrap() + 64).unwrap())
            .collect();
        let sessions = truth["leak"]["sessions"].as_u64().unwrap();
        let payload = truth["leak"]["payload_size"].as_u64().unwrap();

        // Retained sizes: with types, every main.Session is either dominated by
        // the map (with its payload) or held by a leaked request.
        if let Some(t) = &typing {
            let mut under_map = 0u64;
            let mut min_bytes = 0u64;
            for o in heap.objects() {
                if t.object_type_name(o.id).as_deref() != Some("main.Session") {
                    continue;
                }
                let n = g.object_node(o.id);
                if !dom.is_reachable(n) {
                    continue;
                }
                if shared.contains(&o.addr) {
                    assert!(
                        !dom.dominates(map_node, n),
                        "{c}: session {:#x} is also held by a leaked request",
                        o.addr
                    );
                    continue;
                }
                assert!(
                    dom.dominates(map_node, n),
                    "{c}: session {:#x} dominated by the map",
                    o.addr
                );
                assert!(
                    dom.retained(n) >= slot(heap, o.addr) + payload,
                    "{c}: session {:#x} retains its payload",
                    o.addr
                );
                under_map += 1;
                min_bytes += slot(heap, o.addr) + payload;
            }
            assert_eq!(
                under_map,
                sessions - shared.len() as u64,
                "{c}: sessions the map alone holds"
            );
            assert!(dom.retained(map_node) >= min_bytes, "{c}: map retains them");
        }

        // The top suspect.
        let report = LeakReport::compute(
            proc,
            heap,
            roots,
            g,
            dom,
            typing.as_ref(),
            &LeakOptions::default(),
        );
        let top = report
            .suspects
            .first()
            .unwrap_or_else(|| panic!("{c}: no suspect"));
        assert!(
            dom.dominates(map_node, top.accumulation),
            "{c}: top suspect accumulates at {} — not in the sessions map",
            g.describe(top.accumulation, heap)
        );
        let path = top.path.as_ref().expect("path to the accumulation point");
        let labeler = PathLabeler::new(proc, heap, roots, typing.as_ref());
        let lp = labeler.label(g, path);
        assert!(
            matches!(lp.root, RootGroup::Global { addr, .. } if addr == gserver),
            "{c}: top suspect's path starts at {} not main.gServer",
            lp.root
        );
        assert!(
            lp.steps.iter().any(|s| s.addr == map),
            "{c}: path goes through the sessions map: {lp}"
        );
        if typing.is_some() {
            assert!(
                top.groups
                    .iter()
                    .any(|gr| gr.type_name == "main.Session" && gr.count == sessions),
                "{c}: top suspect names the {sessions} main.Session: {:?}",
                top.groups
            );
            assert!(
                lp.steps.iter().any(|s| s.via == ".sessions"),
                "{c}: path labelled .sessions: {lp}"
            );
            assert_eq!(
                top.accumulation,
                map_node,
                "{c}: the accumulation point is the sessions map header, not {}",
                g.describe(top.accumulation, heap)
            );
            let held = top
                .contents
                .iter()
                .find(|x| x.type_name == "main.Session")
                .unwrap_or_else(|| panic!("{c}: contents {:?}", top.contents));
            assert_eq!(
                held.count,
                sessions - shared.len() as u64,
                "{c}: the map alone holds every session but those of leaked requests"
            );
        }
        assert!(top.share > 0.5, "{c}: share {}", top.share);

        // Goroutine leak.
        let want: HashSet<u64> = leaked["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let grp = report
            .goroutines
            .iter()
            .find(|x| x.function == "main.awaitReply")
            .unwrap_or_else(|| panic!("{c}: no awaitReply group: {:?}", report.goroutines));
        assert_eq!(grp.count, want.len(), "{c}: leaked goroutines");
        assert_eq!(grp.ids.iter().copied().collect::<HashSet<_>>(), want, "{c}");
        let body = truth["leak"]["request_body_size"].as_u64().unwrap();
        assert!(
            grp.retained >= want.len() as u64 * (80 + body),
            "{c}: leaked goroutines retain their requests and bodies: {}",
            grp.retained
        );

        // A leaked request: held by its goroutine's `req`.
        if case.mode() == "default" {
            let r = named(&truth, "leaked_request_0").unwrap();
            let p = gocore::paths_to(g, node(heap, g, r), 1);
            let lp = labeler.label(g, &p[0]);
            assert!(
                lp.root_label.ends_with("main.awaitReply req"),
                "{c}: leaked request held by awaitReply's req: {lp}"
            );
        }
        // Labels along the path to a session's payload.
        if typing.is_some() {
            let p = named(&truth, "session_0_payload").unwrap();
            let paths = gocore::paths_to(g, node(heap, g, p), 1);
            let lp = labeler.label(g, &paths[0]);
            let vias: Vec<&str> = lp.steps.iter().map(|s| s.via.as_str()).collect();
            assert!(vias.contains(&".Payload"), "{c}: {lp}");
            assert!(
                vias.iter()
                    .any(|v| v.ends_with("[\"sess-000000\"]") || v.contains("[\"sess-000000\"]")),
                "{c}: map key in {lp}"
            );
        }
        println!("{c}: top suspect {:.1}% — {lp}", top.share * 100.0);
    });
    assert!(n > 0, "no leak case ran");
}

/// `shortest_paths` (what `leaks` labels): on every zoo and leak case, for every
/// 37th object and the first root nodes, a path exists exactly when the object is
/// reachable, starts at a root node, follows the graph's edges, ends at the target
/// and is as long as the backward search's (`paths_to`); read again from the core
/// (the forward edges freed, as `leaks` runs it) it is the same path. And
/// `paths_to_releasing` gives `paths_to`'s paths.
#[test]
fn shortest_paths_forward_and_read_again() {
    let mut checked = 0usize;
    for program in ["zoo", "leak"] {
        let n = each_case(program, |case, _proc, heap, roots, g, dom| {
            let c = &case.name;
            let mut targets: Vec<NodeId> = (0..g.object_count()).step_by(37).map(NodeId).collect();
            targets.extend((0..g.root_groups().len().min(5) as u32).map(|i| g.root_node(i)));
            let fwd = gocore::shortest_paths(heap, roots, g, &targets);
            assert_eq!(fwd.len(), targets.len());
            for (t, p) in targets.iter().zip(&fwd) {
                let back = gocore::paths_to(g, *t, 1);
                assert_eq!(p.is_some(), dom.is_reachable(*t), "{c}: {t:?} reachable?");
                let Some(p) = p else {
                    assert!(back.is_empty(), "{c}: backward path to unreached {t:?}");
                    continue;
                };
                assert!(
                    g.root_group(p[0]).is_some(),
                    "{c}: {t:?}'s path starts at {:?}",
                    p[0]
                );
                assert_eq!(p.last(), Some(t), "{c}");
                for w in p.windows(2) {
                    assert!(
                        g.successors(w[0]).contains(&w[1].0),
                        "{c}: {:?} -> {:?} is no edge",
                        w[0],
                        w[1]
                    );
                }
                assert_eq!(Some(p.len()), back.first().map(Vec::len), "{c}: {t:?}");
                checked += 1;
            }
            let mut released = ObjectGraph::build(heap, roots).unwrap();
            // `paths_to_releasing` (what `gocore path` runs) gives `paths_to`'s
            // paths, tracing them after the reverse edges are freed.
            for t in targets.iter().step_by(11) {
                let want = gocore::paths_to(g, *t, 10);
                assert_eq!(
                    gocore::paths_to_releasing(&mut released, *t, 10),
                    want,
                    "{c}: {t:?}"
                );
            }
            released.release_successors();
            assert!(!released.has_successors());
            let again = gocore::shortest_paths(heap, roots, &released, &targets);
            assert!(again == fwd, "{c}: paths read again from the core differ");
        });
        assert!(n > 0, "no {program} case");
    }
    assert!(checked > 1000, "only {checked} paths checked");
}
