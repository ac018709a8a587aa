//! The memory breakdown on every corpus core:
//!
//! * the tree adds up exactly, node by node, to the total size of the core's
//!   mappings;
//! * every cross-check against the runtime's own counters in the core holds —
//!   in-use span bytes == `mheap_.pagesInUse` x page size == `gcController.heapInUse`
//!   == the consistent `heapStats.inHeap`; manual span bytes == `inStacks` +
//!   `inWorkBufs`; goroutine stacks <= `inStacks`; free pages == `HeapIdle`
//!   (except for gdb's `gcore`, which records `PROT_NONE` reservations as readable,
//!   so reserved arena space cannot be told from free pages); `mspan` counts against
//!   `spanalloc.inuse`;
//! * the counters could be read on every case, stripped ones included (their
//!   globals are located by signatures);
//! * the numbers agree with the `MemStats` the fixture read before crashing, within
//!   the tolerances below.

use corefile::{Core, OpenOptions};
use gocore::breakdown::names as n;
use gocore::{Breakdown, Heap, Process, Reachability, RootSet};

/// `HeapInuse` and `StackInuse` were read a moment before the core was written; the
/// crash path allocates a little. Observed on the 238 matrix cases (go1.21–1.27):
/// in-use spans at most one page (8 KiB) from `HeapInuse`, manual spans at most
/// 128 KiB from `StackInuse` (go1.21; 0–64 KiB on later releases).
const INUSE_SLACK: u64 = 256 << 10;
/// Object bytes (live + garbage, whole slots) against `HeapAlloc`: the allocations
/// of the crash path after the memstats were read (as in the reachability test).
const ALLOC_SLACK: u64 = 64 << 10;

#[test]
fn breakdown_adds_up_and_matches_the_runtime() {
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for case in testkit::cases() {
        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let heap = match Heap::new(&proc) {
            Ok(h) => h,
            Err(e) => panic!("{}: {e}", case.name),
        };
        let roots = RootSet::collect(&proc, &heap).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let reach = Reachability::compute(&proc, &heap, roots.roots())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let b = Breakdown::compute(&proc, &heap, Some(&reach));
        let name = &case.name;
        let mut fail = |m: String| failures.push(format!("{name}: {m}"));

        let total: u64 = core.mappings().iter().map(|m| m.len()).sum();
        if b.root.bytes != total {
            fail(format!("tree total {} != mapped {total}", b.root.bytes));
        }
        if !b.root.is_consistent() {
            fail("a node is not the sum of its parts".into());
        }
        for w in &b.warnings {
            println!("{name}: warning: {w}");
        }
        for c in &b.checks {
            if c.runtime.is_none() {
                fail(format!("counter not read for {}", c.name));
            }
            let gcore_idle = case.producer() == "gcore" && c.name.contains("HeapIdle");
            if !c.ok() && !gcore_idle {
                fail(format!(
                    "{}: ours {} runtime {:?}",
                    c.name, c.ours, c.runtime
                ));
            }
        }

        let get = |path: &str| {
            b.root
                .find(&format!("{}/{path}", n::TOTAL))
                .map(|x| x.bytes)
                .unwrap_or_else(|| panic!("{name}: no node {path}"))
        };
        let in_use = get(&format!("{}/{}", n::HEAP, n::IN_USE));
        let manual = get(&format!("{}/{}", n::HEAP, n::MANUAL));
        let live = get(&format!("{}/{}/{}", n::HEAP, n::IN_USE, n::LIVE));
        let garbage = get(&format!("{}/{}/{}", n::HEAP, n::IN_USE, n::GARBAGE));
        let stacks = get(&format!("{}/{}/{}", n::HEAP, n::MANUAL, n::STACKS));
        assert!(stacks > 0, "{name}: no goroutine stacks found");

        let ms = &case.truth()["memstats"];
        let field = |f: &str| {
            ms[f]
                .as_u64()
                .unwrap_or_else(|| panic!("{name}: memstats.{f}"))
        };
        let (heap_inuse, stack_inuse, heap_alloc) =
            (field("HeapInuse"), field("StackInuse"), field("HeapAlloc"));
        if in_use.abs_diff(heap_inuse) > INUSE_SLACK {
            fail(format!("in-use spans {in_use} vs HeapInuse {heap_inuse}"));
        }
        // Without work buffers at crash time, manual spans are the stacks.
        let work_bufs = b.counters.in_work_bufs.unwrap_or(0).max(0) as u64;
        if manual.saturating_sub(work_bufs).abs_diff(stack_inuse) > INUSE_SLACK {
            fail(format!("manual spans {manual} vs StackInuse {stack_inuse}"));
        }
        if (live + garbage).abs_diff(heap_alloc) > ALLOC_SLACK {
            fail(format!(
                "object bytes {} vs HeapAlloc {heap_alloc}",
                live + garbage
            ));
        }
        table.push(format!(
            "{name:45} mapped {total:>11} heap {:>9} in-use {in_use:>8} (HeapInuse {heap_inuse:>8}) \
             live {live:>8} garbage {garbage:>7} manual {manual:>8} (StackInuse {stack_inuse:>8}) \
             free {:>9} unattributed {:>10}",
            get(n::HEAP),
            get(&format!("{}/{}", n::HEAP, n::FREE_PAGES)),
            get(n::OTHER),
        ));
    }
    for t in &table {
        println!("{t}");
    }
    assert!(!table.is_empty(), "no corpus case was checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
