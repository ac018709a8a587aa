//! The heap index on every corpus core: the fixture's named objects are found where
//! the program saw them, with the size class the allocator must have chosen; their
//! pointer slots are all there (arrays tiled across header slots included) and
//! land in allocated objects; the object count agrees with `runtime.MemStats`.
//!
//! Stripped executables are checked like the others (their globals are located by
//! signatures, `gocore::globals`).

use corefile::{Core, OpenOptions};
use gocore::{Heap, PointerLayout, Process, SpanState};

/// The size the allocator gives a request of `size` bytes: the smallest size class
/// that fits (plus the malloc header for pointerful objects over 512 bytes when
/// the heap has them), or whole pages for large objects.
fn expected_slot(size: u64, scan: bool, headers: bool, classes: &[u64]) -> u64 {
    let max_small = classes.last().copied().unwrap_or(32768);
    let needed = if scan && headers && size > 512 && size <= max_small - 8 {
        size + 8
    } else {
        size
    };
    if !scan && size < 16 {
        return 16; // tiny allocator block
    }
    if needed <= max_small {
        classes
            .iter()
            .copied()
            .find(|&c| c >= needed)
            .unwrap_or(max_small)
    } else {
        needed.div_ceil(8192) * 8192
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    named: usize,
    bad_targets_total: u64,
}

#[test]
fn heap_objects_and_pointers_match_the_truth() {
    let mut t = Tally::default();
    let mut summary = Vec::new();
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
        t.cases += 1;
        for w in heap.warnings() {
            println!("{}: warning: {w}", case.name);
        }
        // The in-use pages cross-check (damaged span metadata) never fires on an
        // undamaged core.
        assert!(
            !heap
                .warnings()
                .iter()
                .any(|w| w.contains("mheap_.pagesInUse")),
            "{}: in-use spans disagree with mheap_.pagesInUse: {:?}",
            case.name,
            heap.warnings()
        );
        let truth = case.truth();
        let headers = matches!(heap.layout(), PointerLayout::AllocHeaders { .. });
        let classes: Vec<u64> = truth["memstats"]["BySize"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["Size"].as_u64())
            .filter(|&s| s > 0)
            .collect();

        // Every named object is found, at offset 0 unless it is an interior
        // pointer or a tiny allocation, with the size class the allocator chose.
        for o in truth["named_objects"].as_array().unwrap() {
            let name = o["name"].as_str().unwrap();
            let addr = o["addr"].as_u64().unwrap();
            let size = o["size"].as_u64().unwrap();
            let note = o["note"].as_str().unwrap_or("");
            let (id, off) = heap
                .find_object(addr)
                .unwrap_or_else(|| panic!("{}: {name} at {addr:#x} not found", case.name));
            let obj = heap.object(id).unwrap();
            let span = heap.span(&obj);
            t.named += 1;
            let interior = note.contains("interior") || note.contains("inside");
            if interior {
                continue;
            }
            let tiny = span.tiny && size < 16;
            if !tiny {
                assert_eq!(
                    off, 0,
                    "{}: {name} at {addr:#x} is {off} bytes into object {:#x}",
                    case.name, obj.addr
                );
            }
            assert!(
                obj.size >= size,
                "{}: {name}: object size {} < {size}",
                case.name,
                obj.size
            );
            if size > 0 {
                let want = expected_slot(size, !span.noscan(), headers, &classes);
                assert_eq!(
                    span.elemsize,
                    want,
                    "{}: {name} ({size} B, scan {}) in a {}-byte slot",
                    case.name,
                    !span.noscan(),
                    span.elemsize
                );
            }
            // Its pointers land in allocated objects (or outside heap spans).
            if off == 0 {
                for p in heap.pointers(&obj) {
                    let p = p.unwrap();
                    if p.target == 0 || p.offset >= size {
                        continue;
                    }
                    if heap
                        .span_of(p.target)
                        .is_some_and(|s| s.state == SpanState::InUse)
                    {
                        assert!(
                            heap.find_object(p.target).is_some(),
                            "{}: {name}+{} -> {:#x}: not an allocated object",
                            case.name,
                            p.offset,
                            p.target
                        );
                    }
                }
            }
        }

        // Pointer arrays: every element slot is a pointer (to an allocated object
        // unless `may_be_nil`). The struct slices check that a header type's mask
        // is tiled across the whole slot, not applied once.
        for (name, n, may_be_nil) in [
            ("small_ptr_array", 16u64, false),
            ("mid_ptr_array", 300, false),
            ("large_ptr_array", 10000, false),
            ("mid_struct_slice", 40, false),
            ("shared_backing", 64, true),
        ] {
            let Some(o) = truth["named_objects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == name)
            else {
                continue;
            };
            let addr = o["addr"].as_u64().unwrap();
            let size = o["size"].as_u64().unwrap();
            let (id, _) = heap.find_object(addr).unwrap();
            let obj = heap.object(id).unwrap();
            let mut slots = 0;
            for p in heap.pointers(&obj) {
                let p = p.unwrap();
                if p.offset >= size {
                    assert_eq!(
                        p.target, 0,
                        "{}: {name}: slack slot +{}",
                        case.name, p.offset
                    );
                    continue;
                }
                slots += 1;
                if may_be_nil && p.target == 0 {
                    continue;
                }
                assert!(
                    heap.find_object(p.target).is_some(),
                    "{}: {name}[{}] -> {:#x} not an allocated object",
                    case.name,
                    p.offset / 8,
                    p.target
                );
            }
            assert_eq!(slots, n, "{}: {name}: pointer slots", case.name);
        }

        // Census over every allocated object: pointers into in-use spans that miss
        // every allocated object.
        // Pointers into stack spans (sudog.elem, …) and outside the heap (globals,
        // off-heap runtime memory) are counted apart.
        let (mut ptrs, mut bad, mut errors) = (0u64, 0u64, 0u64);
        let (mut to_stack, mut outside) = (0u64, 0u64);
        for obj in heap.objects() {
            for p in heap.pointers(&obj) {
                match p {
                    Ok(p) if p.target != 0 => {
                        ptrs += 1;
                        match heap.span_of(p.target).map(|s| s.state) {
                            Some(SpanState::InUse) => {
                                if heap.find_object(p.target).is_none() {
                                    bad += 1;
                                }
                            }
                            Some(_) => to_stack += 1,
                            None => outside += 1,
                        }
                    }
                    Ok(_) => {}
                    Err(_) => errors += 1,
                }
            }
        }
        assert_eq!(errors, 0, "{}: unreadable objects", case.name);
        t.bad_targets_total += bad;
        // 0 on every matrix case: after a GC every allocated object is live or newer,
        // so no pointer slot may land in a free slot.
        assert_eq!(bad, 0, "{}: pointers into free slots", case.name);

        // Object count against MemStats.HeapObjects (taken after a GC, before the
        // crash path allocates a little; tiny allocations count once per request in
        // MemStats but share 16-byte blocks here).
        let want = truth["memstats"]["HeapObjects"].as_u64().unwrap();
        let got = heap.object_count();
        let ids_ok = heap.objects().enumerate().all(|(i, o)| o.id.index() == i);
        assert!(ids_ok, "{}: ids not dense", case.name);
        let line = format!(
            "{}: {:?}: {got} objects (HeapObjects {want}, {:+}), {ptrs} non-nil pointers, {bad} into free slots, {to_stack} into stack spans, {outside} outside the heap",
            case.name,
            heap.layout(),
            got as i64 - want as i64
        );
        println!("{line}");
        summary.push(line);
        // Observed over the 196 matrix cases (1.21-1.27, amd64/arm64, every mode
        // and producer): 1 to 9 objects more than HeapObjects, never fewer.
        assert!(
            got + 16 >= want && got <= want + 64,
            "{}: {got} objects vs HeapObjects {want} (allowed: -16 … +64)",
            case.name
        );
    }
    println!(
        "heap: {} cases checked, {} named objects, {} pointers into free slots in total",
        t.cases, t.named, t.bad_targets_total
    );
}

#[test]
fn find_object_and_object_agree() {
    for case in testkit::cases().into_iter().take(4) {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap();
        let Ok(heap) = Heap::new(&proc) else { continue };
        for (i, obj) in heap.objects().enumerate().step_by(7) {
            assert_eq!(heap.object(obj.id), Some(obj), "{}: object {i}", case.name);
            assert_eq!(heap.find_object(obj.addr), Some((obj.id, 0)));
            assert_eq!(
                heap.find_object(obj.addr + obj.size - 1),
                Some((obj.id, obj.size - 1))
            );
        }
        assert_eq!(heap.object(gocore::ObjId(u32::MAX)), None);
        assert_eq!(heap.find_object(0), None);
    }
}
