//! Scale: marking gives the same result on one thread and on several, and the big
//! benchmark cores (`cargo xtask bigcore`, in `target/bigcore/`, not committed) are
//! read correctly — object counts against the fixture's own `MemStats.HeapObjects`,
//! `Heap::object`/`find_object`/`object_at` agreeing on every object, per-phase
//! timings printed.
//!
//! The big-core test runs on whatever workloads `target/bigcore/` holds
//! (`GOCORE_BIGCORE` names another directory; `GOCORE_BIGCORE_ONLY=b6,deep` picks
//! some) and says so when there are none.

use std::path::{Path, PathBuf};
use std::time::Instant;

use corefile::{Core, OpenOptions};
use gocore::{Error, Heap, ObjId, Process, Reachability, RootSet};

/// Marks with `threads` rayon threads.
fn mark(proc: &Process<'_>, heap: &Heap<'_>, roots: &RootSet, threads: usize) -> Reachability {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(|| Reachability::compute(proc, heap, roots.roots()).unwrap())
}

fn same(name: &str, a: &Reachability, b: &Reachability) {
    assert_eq!(a.live, b.live, "{name}: live sets differ");
    assert_eq!(a.live_bytes(), b.live_bytes(), "{name}: live bytes");
    assert_eq!(a.root_edges, b.root_edges, "{name}: root edges");
    assert_eq!(a.heap_edges, b.heap_edges, "{name}: heap edges");
    assert_eq!(a.bad, b.bad, "{name}: bad pointers");
    assert_eq!(a.warnings(), b.warnings(), "{name}: warnings");
}

#[test]
fn marking_is_the_same_on_one_and_on_four_threads() {
    let mut n = 0;
    for case in testkit::cases() {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = match Heap::new(&proc) {
            Ok(h) => h,
            Err(Error::NoGlobal { .. }) if case.mode() == "stripped" => continue,
            Err(e) => panic!("{}: {e}", case.name),
        };
        let roots = RootSet::collect(&proc, &heap).unwrap();
        let one = mark(&proc, &heap, &roots, 1);
        let four = mark(&proc, &heap, &roots, 4);
        same(&case.name, &one, &four);
        assert!(one.live_count() > 0, "{}: nothing live", case.name);
        n += 1;
    }
    assert!(n > 0, "no corpus case with a located heap");
    println!("{n} cases: the same live set, edges and bad pointers on 1 and 4 threads");
}

fn bigcore_dirs() -> Vec<PathBuf> {
    let root = std::env::var_os("GOCORE_BIGCORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/bigcore")
                .to_path_buf()
        });
    let only: Option<Vec<String>> = std::env::var("GOCORE_BIGCORE_ONLY")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("core").is_file() && p.join("truth.json").is_file())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            only.as_ref().is_none_or(|o| o.contains(&n))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn big_cores_match_their_truth() {
    let dirs = bigcore_dirs();
    if dirs.is_empty() {
        println!("no big cores (run `cargo xtask bigcore --workload all`): nothing checked");
        return;
    }
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("truth.json")).unwrap()).unwrap();
        let want = truth["memstats"]["HeapObjects"].as_u64().unwrap();
        let t = Instant::now();
        let core = Core::open_with(
            dir.join("core"),
            &OpenOptions::new().executable(dir.join("bigcore")),
        )
        .unwrap();
        let proc = Process::new(&core).unwrap();
        let t_open = t.elapsed();
        let t = Instant::now();
        let heap = Heap::new(&proc).unwrap();
        let t_heap = t.elapsed();
        let got = heap.object_count();
        assert!(
            got + 16 >= want && got <= want + 64,
            "{name}: {got} objects, HeapObjects {want}"
        );
        // Every object found again from its address, first byte and last.
        let t = Instant::now();
        let mut k = 0u64;
        for obj in heap.objects() {
            assert_eq!(obj.id, ObjId(k as u32), "{name}: ids in address order");
            k += 1;
            if k % 97 != 0 && k > 100_000 {
                continue;
            }
            assert_eq!(
                heap.object(obj.id),
                Some(obj),
                "{name}: object({})",
                obj.id.0
            );
            assert_eq!(heap.find_object(obj.addr), Some((obj.id, 0)));
            let last = obj.size.saturating_sub(1);
            assert_eq!(heap.object_at(obj.addr + last), Some((obj, last)));
        }
        assert_eq!(k, got);
        let t_walk = t.elapsed();
        let t = Instant::now();
        let roots = RootSet::collect(&proc, &heap).unwrap();
        let t_roots = t.elapsed();
        let t = Instant::now();
        let two = mark(&proc, &heap, &roots, 2);
        let t_mark2 = t.elapsed();
        let t = Instant::now();
        let one = mark(&proc, &heap, &roots, 1);
        let t_mark1 = t.elapsed();
        same(&name, &one, &two);
        // What the fixture built is live: all but the few objects its truth writer
        // dropped.
        assert!(
            two.live_count() + 64 >= want,
            "{name}: live {} of {want}",
            two.live_count()
        );
        assert_eq!(
            two.root_edges.bad() + two.heap_edges.bad(),
            0,
            "{name}: bad pointers"
        );
        println!(
            "{name}: {got} objects (HeapObjects {want}), live {}; open {:.2}s, heap index {:.2}s, \
             objects walk {:.2}s, roots {:.2}s, mark {:.2}s on 2 threads / {:.2}s on 1",
            two.live_count(),
            t_open.as_secs_f64(),
            t_heap.as_secs_f64(),
            t_walk.as_secs_f64(),
            t_roots.as_secs_f64(),
            t_mark2.as_secs_f64(),
            t_mark1.as_secs_f64(),
        );
    }
}
