//! Finding a leak with the library: open a core, compute retained sizes (the
//! dominator tree of the live heap), and print the objects that retain the most,
//! each with a path from a GC root to it — in the memory a big core allows: the
//! graph's edges are freed while the dominator tree is built, and the paths are
//! searched afterwards, reading the pointers again from the core.
//!
//! ```sh
//! cargo run --example find_leak -- testdata/corpus/leak-go1.27.3-default-crash-amd64/core.zst
//! ```

use std::fmt::Write as _;

use corefile::{Core, OpenOptions};
use gocore::{
    shortest_paths, Dominators, Heap, ObjectGraph, PathLabeler, Process, RootSet, Typing,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: find_leak CORE [EXECUTABLE]")?;
    let mut options = OpenOptions::new();
    if let Some(exe) = std::env::args().nth(2) {
        options = options.executable(exe);
    }
    let core = Core::open_with(&path, &options)?;
    print!("{}", top_retainers(&core, 5)?);
    Ok(())
}

/// The `n` objects retaining the most, with the shortest path from a root to each.
fn top_retainers(core: &Core, n: usize) -> Result<String, Box<dyn std::error::Error>> {
    let proc = Process::new(core)?;
    let heap = Heap::new(&proc)?;
    let roots = RootSet::collect(&proc, &heap)?;
    let typing = Typing::compute(&proc, &heap).ok();
    let mut graph = ObjectGraph::build(&heap, &roots)?;
    // Frees the edges as soon as the tree no longer needs them.
    let dom = Dominators::compute_releasing(&mut graph, &heap);
    let labeler = PathLabeler::new(&proc, &heap, &roots, typing.as_ref());

    let live = dom.retained(graph.super_root());
    let mut out = String::new();
    writeln!(out, "live heap: {live} bytes")?;
    let top = dom.top_objects(&graph, n);
    // One forward search from the roots for all of them (no reverse edges).
    let nodes: Vec<_> = top.iter().map(|&(node, _)| node).collect();
    let paths = shortest_paths(&heap, &roots, &graph, &nodes);
    for (&(node, retained), path) in top.iter().zip(&paths) {
        let ty = graph
            .object(node)
            .and_then(|id| labeler.type_name(id))
            .unwrap_or_else(|| "?".into());
        let share = 100.0 * retained as f64 / live.max(1) as f64;
        writeln!(out, "{retained:>10} bytes ({share:4.1}%)  {ty}")?;
        if let Some(p) = path {
            writeln!(out, "    held by {}", labeler.label(&graph, p))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// On the leak fixture the top retainer is the server held by `main.gServer`, and
    /// its session map (`.sessions`) follows, retaining most of the heap.
    #[test]
    fn finds_the_session_cache() {
        let case = testkit::find_case(|c| c.name == "leak-go1.27.3-default-crash-amd64")
            .expect("committed corpus case leak-go1.27.3-default-crash-amd64");
        let core = corefile::Core::open_with(
            case.core_path(),
            &corefile::OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let text = super::top_retainers(&core, 5).unwrap();
        println!("{text}");
        let lines: Vec<&str> = text.lines().collect();
        // First retainer: the main.Server, held by main.gServer.
        assert!(lines[1].ends_with("main.Server"), "{text}");
        assert!(
            lines[2].trim().starts_with("held by main.gServer"),
            "{text}"
        );
        // Then the sessions map under it, reached through Server.sessions.
        assert!(lines[4].contains(".sessions"), "{text}");
        // Together they retain the sessions and payloads the truth counts.
        let t = case.truth();
        let sessions = t["leak"]["sessions"].as_u64().unwrap();
        let payload = t["leak"]["payload_size"].as_u64().unwrap();
        let top: u64 = lines[1].split_whitespace().next().unwrap().parse().unwrap();
        assert!(top >= sessions * payload, "{top} < {sessions} × {payload}");
    }
}
