//! A heap summary from the public API only: walks `runtime.mheap_.allspans` by field
//! name with [`gocore::Region`] (span states, as the runtime keeps them), then uses
//! the heap index and reachability to count objects, live and garbage bytes and the
//! size classes holding the most bytes.
//!
//! ```sh
//! cargo run --example heap_summary -- testdata/corpus/zoo-go1.27.3-default-crash-amd64/core.zst
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use corefile::{Core, OpenOptions};
use gocore::{Heap, Process, Reachability, RootSet};

/// Most `allspans` entries walked (a bound on a length read from the core).
const MAX_SPANS: u64 = 1 << 24;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: heap_summary CORE [EXECUTABLE]")?;
    let mut options = OpenOptions::new();
    if let Some(exe) = std::env::args().nth(2) {
        options = options.executable(exe);
    }
    let core = Core::open_with(&path, &options)?;
    print!("{}", summary(&core)?);
    Ok(())
}

/// The summary of one core, as text.
fn summary(core: &Core) -> Result<String, Box<dyn std::error::Error>> {
    let proc = Process::new(core)?;
    let mut out = String::new();
    writeln!(out, "layouts: {}", proc.layouts().selection())?;

    // 1. The runtime's own span list, read field by field.
    let allspans = proc
        .global("runtime.mheap_", "runtime.mheap")?
        .field("allspans")?;
    let n = allspans.slice_len()?.min(MAX_SPANS);
    let mut states: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for i in 0..n {
        let span = allspans.index(i)?.deref()?;
        // `state` is an mSpanStateBox in every supported release.
        let state = span.field("state")?.field("s")?.uint()?;
        let pages = span.field("npages")?.uint()?;
        let e = states.entry(state).or_default();
        e.0 += 1;
        e.1 += pages;
    }
    let name = |s: u64| {
        let l = proc.layouts();
        [
            ("runtime.mSpanDead", "dead"),
            ("runtime.mSpanInUse", "in use"),
            ("runtime.mSpanManual", "manual"),
        ]
        .iter()
        .find(|(c, _)| l.constant_u64(c).ok() == Some(s))
        .map_or("other", |(_, n)| n)
    };
    writeln!(out, "mheap_.allspans: {n} spans")?;
    for (s, (count, pages)) in &states {
        writeln!(out, "  {:8} {count:>6} spans {pages:>8} pages", name(*s))?;
    }

    // 2. The heap index: objects, live and garbage, top size classes.
    let heap = Heap::new(&proc)?;
    let roots = RootSet::collect(&proc, &heap)?;
    let reach = Reachability::compute(&proc, &heap, roots.roots())?;
    writeln!(
        out,
        "objects: {} ({} live, {} bytes; {} garbage, {} bytes)",
        heap.object_count(),
        reach.live_count(),
        reach.live_bytes(),
        reach.garbage_count(),
        reach.garbage_bytes()
    )?;
    let mut classes: BTreeMap<(u8, u64), (u64, u64)> = BTreeMap::new();
    for obj in heap.objects() {
        let span = heap.span(&obj);
        let e = classes
            .entry((span.size_class(), span.elemsize))
            .or_default();
        e.0 += 1;
        e.1 += span.elemsize;
    }
    let mut top: Vec<_> = classes.into_iter().collect();
    top.sort_by_key(|e| std::cmp::Reverse(e.1 .1));
    writeln!(out, "top size classes by bytes:")?;
    for ((class, size), (count, bytes)) in top.into_iter().take(5) {
        let label = if class == 0 {
            format!("large ({size} B)")
        } else {
            format!("class {class} ({size} B)")
        };
        writeln!(out, "  {label:20} {count:>8} objects {bytes:>10} bytes")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Runs the summary on a committed corpus core and checks it against the truth.
    #[test]
    fn summarises_a_corpus_core() {
        let case = testkit::find_case(|c| c.name == "zoo-go1.27.3-default-crash-amd64")
            .expect("committed corpus case zoo-go1.27.3-default-crash-amd64");
        let core = corefile::Core::open_with(
            case.core_path(),
            &corefile::OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let text = super::summary(&core).unwrap();
        println!("{text}");
        assert!(text.contains("mheap_.allspans:"));
        assert!(text.contains("in use"));
        assert!(text.contains("top size classes by bytes:"));
        // The object count is near the runtime's own HeapObjects.
        let objects: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("objects: "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let truth = case.truth()["memstats"]["HeapObjects"].as_u64().unwrap();
        assert!(
            objects.abs_diff(truth) <= 64,
            "{objects} vs HeapObjects {truth}"
        );
    }
}
