//! User arenas (`GOEXPERIMENT=arenas`, package `arena`) against the truth that zoo's
//! `arena.go` writes (the top-level `"arenas"` section of truth.json):
//!
//! * every value allocated in the live arena (the `main.ArenaItem` list, the
//!   `[]*main.ArenaHeapVal` and the `[]byte` made by `arena.MakeSlice`) lies inside
//!   one heap object that is a whole user-arena chunk (`SpanInfo::user_arena`, the
//!   chunk's base, `chunk_bytes` long), as the runtime tracks it; the chunk is live;
//! * the chunk's pointer slots are exactly the items' `Next`/`Val` fields and the
//!   slice's elements, holding what Go stored there (nothing in `ID`, in the byte
//!   slice, or in the chunk's not-yet-allocated middle `userArenaChunkFree`);
//! * the chunk's not yet allocated middle (`SpanInfo::user_arena_free`) ends where
//!   the last pointer-ful value ends and starts at the last pointer-free one, and the
//!   breakdown splits live objects into user arena chunks (with that middle) and
//!   the rest;
//! * the ordinary heap objects held only from arena memory are live (`live_vals`
//!   of them), their one referrer in the object graph is their chunk, which
//!   dominates them; the globals hold the arena addresses;
//! * of the freed arena, its first chunk (quarantined when freed, retired by the
//!   sweeper as nothing points into it) is no object, no chunk points to the heap
//!   objects only it held; its last chunk, on the runtime's reuse list, is still
//!   scanned by the GC: it is a live chunk object and its heap values are live;
//! * no pointer of a root or a live object lands in a free slot.
//!
//! Only `exp-arenas` cases have user arenas; the committed corpus has none (its size
//! budget is spent), so on it this test prints that and checks nothing. `exp-arenas`
//! is part of the default matrix; to make only its cases: `cargo xtask matrix
//! --programs zoo --modes exp-arenas --no-test --out /tmp/arenas-matrix`, then
//! `GOCORE_CORPUS=/tmp/arenas-matrix cargo test -p gocore --test arenas` (all seven
//! releases 1.21–1.27).

use std::collections::BTreeMap;

use corefile::{Core, OpenOptions};
use gocore::breakdown::names as n;
use gocore::{
    Breakdown, Dominators, Heap, NodeId, ObjId, Object, ObjectGraph, Process, Reachability, RootSet,
};
use serde_json::Value;

fn addrs(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The chunk object holding `addr`, checked to be a whole user-arena chunk.
fn chunk_of(heap: &Heap<'_>, addr: u64, chunk_bytes: u64, what: &str) -> (Object, u64) {
    let (obj, off) = heap
        .object_at(addr)
        .unwrap_or_else(|| panic!("{what} {addr:#x} is in no heap object"));
    let s = heap.span(&obj);
    assert!(
        s.user_arena,
        "{what} {addr:#x}: span {:#x} is not a user arena chunk",
        s.base
    );
    assert_eq!(
        obj.addr, s.base,
        "{what}: the chunk is one object from its base"
    );
    assert_eq!(s.bytes(), chunk_bytes, "{what}: chunk size");
    assert_eq!(s.base % chunk_bytes, 0, "{what}: chunk alignment");
    assert_eq!(s.size_class(), 0, "{what}: a chunk is a large object");
    (obj, off)
}

/// Offset in the chunk → target of every pointer slot (nil included).
fn slots(heap: &Heap<'_>, chunk: &Object) -> BTreeMap<u64, u64> {
    heap.pointers(chunk)
        .map(|p| p.expect("chunk pointers readable"))
        .map(|p| (chunk.addr + p.offset, p.target))
        .collect()
}

#[test]
fn user_arena_chunks_match_the_truth() {
    // Only zoo has user arenas (arena.go); leak built with GOEXPERIMENT=arenas has no
    // chunk at all.
    for case in testkit::cases_where(|c| c.mode() == "exp-arenas" && c.program() != "zoo") {
        if case.mode() != "exp-arenas" {
            continue;
        }
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = Heap::new(&proc).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let chunks = heap.spans().iter().filter(|s| s.user_arena).count();
        assert_eq!(chunks, 0, "{}: user arena chunks without arenas", case.name);
        println!(
            "{}: no user arena chunk (no arena in the program)",
            case.name
        );
    }
    let cases: Vec<_> = testkit::cases_where(|c| c.mode() == "exp-arenas" && c.program() == "zoo")
        .into_iter()
        .filter(|c| c.mode() == "exp-arenas" && c.program() == "zoo")
        .collect();
    if cases.is_empty() {
        println!(
            "no exp-arenas case in the corpus in use ({}): nothing checked; the committed \
             corpus has none, `cargo xtask matrix --programs zoo --modes exp-arenas` makes them",
            testkit::corpus_dir().display()
        );
        return;
    }
    for case in &cases {
        let name = &case.name;
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{name}: {e}"));
        let heap = Heap::new(&proc).unwrap_or_else(|e| panic!("{name}: {e}"));
        for w in heap.warnings() {
            println!("{name}: heap warning: {w}");
        }
        let roots = RootSet::collect(&proc, &heap).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = Reachability::compute(&proc, &heap, roots.roots()).unwrap();
        assert_eq!(
            r.root_edges.bad() + r.heap_edges.bad(),
            0,
            "{name}: pointers into free slots: {:x?}",
            r.bad
        );
        let graph = ObjectGraph::build(&heap, &roots).unwrap_or_else(|e| panic!("{name}: {e}"));
        let dom = Dominators::compute(&graph, &heap);
        // What only arena memory holds: the chunk is its one referrer and dominates it.
        let held_by = |v: u64, chunk: ObjId, what: &str| {
            let (id, _) = heap.find_object(v).unwrap();
            let node = graph.object_node(id);
            let who: Vec<NodeId> = graph.referrers(node).collect();
            let c = graph.object_node(chunk);
            assert_eq!(who, [c], "{name}: referrers of {what} {v:#x}");
            assert_eq!(
                dom.idom(node),
                Some(c),
                "{name}: dominator of {what} {v:#x}"
            );
        };
        let truth = case.truth();
        let a = &truth["arenas"];
        assert!(a.is_object(), "{name}: no \"arenas\" section in the truth");
        let chunk_bytes = a["chunk_bytes"].as_u64().unwrap();
        let live = &a["live"];
        let item_size = live["item_size"].as_u64().unwrap();
        let items = addrs(&live["items"]);
        let item_vals = addrs(&live["item_vals"]);
        let slice = live["slice"].as_u64().unwrap();
        let slice_vals = addrs(&live["slice_vals"]);
        let bytes = live["bytes"].as_u64().unwrap();
        let bytes_len = live["bytes_len"].as_u64().unwrap();
        assert!(
            !items.is_empty() && items.len() == item_vals.len(),
            "{name}"
        );

        // The live arena: one chunk holds everything, and it is live.
        let (chunk, _) = chunk_of(&heap, items[0], chunk_bytes, "live item");
        assert!(
            r.is_live(chunk.id),
            "{name}: the live arena's chunk is not live"
        );
        for (what, p, len) in [
            ("item", items[items.len() - 1], item_size),
            ("slice", slice, 8 * slice_vals.len() as u64),
            ("bytes", bytes, bytes_len),
        ] {
            let (obj, off) = chunk_of(&heap, p, chunk_bytes, what);
            assert_eq!(obj.id, chunk.id, "{name}: {what} in another chunk");
            assert!(
                off + len <= obj.size,
                "{name}: {what} past the chunk object"
            );
        }
        // Pointer-ful values are taken from the front of the chunk, pointer-free ones
        // from the back: the slice was the last of the first, the bytes the last
        // of the second, so the free middle lies exactly between them.
        let span = heap.span(&chunk);
        let free = span.user_arena_free;
        assert_eq!(
            free,
            Some((slice + 8 * slice_vals.len() as u64, bytes)),
            "{name}: userArenaChunkFree of the live chunk"
        );

        // The breakdown attributes the chunks' bytes.
        let b = Breakdown::compute(&proc, &heap, Some(&r));
        let node = |p: &str| {
            b.root
                .find(&format!(
                    "{}/{}/{}/{}/{p}",
                    n::TOTAL,
                    n::HEAP,
                    n::IN_USE,
                    n::LIVE
                ))
                .map(|x| x.bytes)
                .unwrap_or_else(|| panic!("{name}: no breakdown node {p}"))
        };
        let live_chunks: Vec<Object> = heap
            .objects()
            .filter(|o| heap.span(o).user_arena && r.is_live(o.id))
            .collect();
        let chunk_bytes_live: u64 = live_chunks.iter().map(|o| o.size).sum();
        let free_bytes: u64 = live_chunks
            .iter()
            .filter_map(|o| heap.span(o).user_arena_free)
            .map(|(lo, hi)| hi - lo)
            .sum();
        assert_eq!(node(n::USER_ARENA), chunk_bytes_live, "{name}: breakdown");
        assert_eq!(
            node(&format!("{}/{}", n::USER_ARENA, n::USER_ARENA_FREE)),
            free_bytes,
            "{name}: breakdown"
        );
        assert!(b.root.is_consistent(), "{name}: breakdown not consistent");

        // Pointer slots: exactly the items' Next and Val, and the slice's elements.
        let got = slots(&heap, &chunk);
        let mut want = BTreeMap::new();
        for (i, (&it, &v)) in items.iter().zip(&item_vals).enumerate() {
            want.insert(it, items.get(i + 1).copied().unwrap_or(0));
            want.insert(it + 8, v);
        }
        for (i, &v) in slice_vals.iter().enumerate() {
            want.insert(slice + 8 * i as u64, v);
        }
        assert_eq!(got, want, "{name}: pointer slots of the live chunk");

        // Heap values held only by arena memory are live.
        let mut live_vals = 0;
        for (what, v) in item_vals
            .iter()
            .map(|&v| ("item val", v))
            .chain(slice_vals.iter().map(|&v| ("slice val", v)))
        {
            let (id, off) = heap
                .find_object(v)
                .unwrap_or_else(|| panic!("{name}: {what} {v:#x} is no object"));
            assert_eq!(off, 0, "{name}: {what}");
            assert!(r.is_live(id), "{name}: {what} {v:#x} not live");
            held_by(v, chunk.id, what);
            live_vals += 1;
        }

        // Globals hold the arena's addresses.
        let g = &a["globals"];
        let word = |k: &str| {
            let at = g[k]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}: global {k}"));
            core.read_u64(at).unwrap()
        };
        assert_eq!(word("main.gArenaHead"), items[0], "{name}: main.gArenaHead");
        assert_eq!(word("main.gArenaSlice"), slice, "{name}: main.gArenaSlice");
        assert_eq!(word("main.gArenaBytes"), bytes, "{name}: main.gArenaBytes");

        // The freed arena.
        let freed = &a["freed"];
        let orphans = addrs(&freed["orphans"]);
        for &it in &addrs(&freed["items"]) {
            // Retired (no span) or still quarantined: in no object either way.
            assert!(
                heap.find_object(it).is_none(),
                "{name}: freed item {it:#x} is in an object"
            );
            if let Some(s) = heap.span_of(it) {
                assert!(s.user_arena && s.noscan(), "{name}: freed item {it:#x}");
            }
        }
        let tail_items = addrs(&freed["tail_items"]);
        let tail_vals = addrs(&freed["tail_vals"]);
        assert_eq!(tail_items.len(), tail_vals.len(), "{name}");
        let (reuse, _) = chunk_of(&heap, tail_items[0], chunk_bytes, "freed tail item");
        assert_ne!(reuse.id, chunk.id, "{name}");
        assert!(
            r.is_live(reuse.id),
            "{name}: the reuse-list chunk is not live"
        );
        let reuse_slots = slots(&heap, &reuse);
        for (&it, &v) in tail_items.iter().zip(&tail_vals) {
            assert_eq!(
                reuse_slots.get(&(it + 8)),
                Some(&v),
                "{name}: tail item Val"
            );
            let (id, _) = heap.find_object(v).unwrap();
            assert!(r.is_live(id), "{name}: tail val {v:#x} not live");
            held_by(v, reuse.id, "tail val");
            live_vals += 1;
        }
        // No chunk points to what only the retired chunk held.
        for obj in heap.objects().filter(|o| heap.span(o).user_arena) {
            for (at, t) in slots(&heap, &obj) {
                assert!(!orphans.contains(&t), "{name}: {at:#x} points to an orphan");
            }
        }
        assert_eq!(
            live_vals,
            a["live_vals"].as_u64().unwrap(),
            "{name}: live heap values held from arenas"
        );
        let chunks: Vec<_> = heap.spans().iter().filter(|s| s.user_arena).collect();
        println!(
            "{name}: {} user arena chunk spans, live chunk {:#x} with {} pointer slots, \
             reuse-list chunk {:#x}, {live_vals} heap values held from arenas live",
            chunks.len(),
            chunk.addr,
            got.len(),
            reuse.addr
        );
    }
}
