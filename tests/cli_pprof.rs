//! `gocore pprof -o FILE CORE` read back by the real `go tool pprof` (the newest
//! installed toolchain under `~/.cache/gocore/toolchains`, else `go` on `PATH`; the
//! tests say so and pass when there is none):
//!
//! * on every corpus core, `go tool pprof -top` runs cleanly for each sample type
//!   (`objects`, `space`, `retained`), and the totals it prints for `objects` and
//!   `space` are the live object count and live bytes of gocore's own
//!   [`gocore::Reachability`] for that core (computed here through the library);
//! * on the leak fixture, the retention paths name the leak: `-traces` shows the
//!   session payloads under `main.gServer` → `main.Server.sessions`, and the
//!   leaked requests under the goroutine frame `main.awaitReply`, with its file and
//!   line; `-tree` runs on it; `-sample_index=retained -top` puts `main.Server` first
//!   among the program's own types.
//! * with `--dominators` (dominator chains as stacks) the cumulative bytes of
//!   `main.Server` are the library's retained size of the truth's `server` object,
//!   and the total is the live heap, on every leak case.

use std::path::PathBuf;
use std::process::Command;

use testkit::Case;

/// The `go` command to run `go tool pprof` with, if any is installed.
fn go_tool() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let dir = home.join(".cache/gocore/toolchains");
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let ver: Vec<u32> = name
                .strip_prefix("go")?
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let go = e.path().join("bin/go");
            go.is_file().then_some((ver, go))
        })
        .collect();
    found.sort();
    if let Some((_, go)) = found.pop() {
        return Some(go);
    }
    Command::new("go")
        .arg("version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("go"))
}

fn pprof(go: &PathBuf, args: &[&str], file: &std::path::Path) -> String {
    let out = Command::new(go)
        .args(["tool", "pprof"])
        .args(args)
        .arg(file)
        .env("GOTOOLCHAIN", "local")
        .env("PPROF_TMPDIR", std::env::temp_dir())
        .output()
        .expect("run go tool pprof");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "go tool pprof {args:?} {}: {stderr}",
        file.display()
    );
    assert!(
        !stderr.to_lowercase().contains("error") && !stderr.contains("warning"),
        "go tool pprof {args:?} complained: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `N` of the `-top` header `Showing nodes accounting for X, P% of N total`.
fn total(top: &str) -> u64 {
    let line = top
        .lines()
        .find(|l| l.starts_with("Showing nodes accounting for"))
        .unwrap_or_else(|| panic!("no total in:\n{top}"));
    let t = line
        .rsplit(" of ")
        .next()
        .and_then(|s| s.strip_suffix(" total"))
        .unwrap_or_else(|| panic!("unexpected header {line:?}"));
    t.trim_end_matches('B')
        .parse()
        .unwrap_or_else(|e| panic!("{t:?} in {line:?}: {e}"))
}

fn write_profile(case: &Case, out: &std::path::Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .arg("pprof")
        .arg("-o")
        .arg(out)
        .arg(case.core_path())
        .arg("--exe")
        .arg(case.exe_path())
        .arg("--json")
        .output()
        .expect("run gocore pprof");
    assert!(
        o.status.success(),
        "{}: gocore pprof: {}",
        case.name,
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("pprof --json");
    assert_eq!(v["sample_types"][2], "retained/bytes", "{}", case.name);
}

/// Live objects and bytes by the library's own marking.
fn live(case: &Case) -> Option<(u64, u64)> {
    let core = corefile::Core::open_with(
        case.core_path(),
        &corefile::OpenOptions::new().executable(case.exe_path()),
    )
    .ok()?;
    let proc = gocore::Process::new(&core).ok()?;
    let heap = gocore::Heap::new(&proc).ok()?;
    let roots = gocore::RootSet::collect(&proc, &heap).ok()?;
    let r = gocore::Reachability::compute(&proc, &heap, roots.roots()).ok()?;
    Some((r.live_count(), r.live_bytes()))
}

#[test]
fn go_tool_pprof_reads_the_profile_and_its_totals_are_the_live_heap() {
    let Some(go) = go_tool() else {
        println!("SKIPPED: no Go toolchain installed (~/.cache/gocore/toolchains or PATH)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut checked = 0;
    for case in testkit::cases() {
        let Some((count, bytes)) = live(&case) else {
            println!("{}: heap not readable, skipped", case.name);
            continue;
        };
        let file = dir.path().join(format!("{}.pb.gz", case.name));
        write_profile(&case, &file);
        let objects = pprof(&go, &["-top", "-sample_index=objects"], &file);
        let space = pprof(&go, &["-top", "-unit=B", "-sample_index=space"], &file);
        let retained = pprof(&go, &["-top", "-sample_index=retained"], &file);
        assert_eq!(total(&objects), count, "{}: objects total", case.name);
        assert_eq!(total(&space), bytes, "{}: space total", case.name);
        assert!(retained.contains("Type: retained"), "{}", case.name);
        println!(
            "{}: go tool pprof totals {count} objects, {bytes} bytes = live heap",
            case.name
        );
        checked += 1;
    }
    assert!(checked > 0, "no corpus case checked");
}

#[test]
fn leak_profile_names_the_retention_paths() {
    let Some(go) = go_tool() else {
        println!("SKIPPED: no Go toolchain installed (~/.cache/gocore/toolchains or PATH)");
        return;
    };
    let case = testkit::find_case(|c| {
        c.program() == "leak" && c.mode() == "default" && c.meta["variant"].is_null()
    })
    .expect("a leak case");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("leak.pb.gz");
    write_profile(&case, &file);

    // -traces prints each sample's stack, leaf first.
    let traces = pprof(&go, &["-traces", "-sample_index=space"], &file);
    let blocks: Vec<Vec<&str>> = traces
        .split("-----------+")
        .map(|b| {
            b.lines()
                .map(|l| {
                    // "   1.46MB   [1024]uint8" then "            main.Session" …
                    let l = l.trim();
                    match l.split_once("   ") {
                        Some((v, f)) if v.ends_with('B') || v.parse::<f64>().is_ok() => f.trim(),
                        _ => l,
                    }
                })
                .filter(|l| !l.is_empty() && !l.starts_with('-'))
                .collect()
        })
        .collect();
    let payload_via_server = blocks.iter().any(|b| {
        b.first() == Some(&"[1024]uint8")
            && b.contains(&"main.Server.sessions")
            && b.last() == Some(&"main.gServer")
    });
    assert!(
        payload_via_server,
        "no [1024]uint8 ← … main.Server.sessions … ← main.gServer trace in:\n{traces}"
    );
    let request_via_goroutine = blocks
        .iter()
        .any(|b| b.first() == Some(&"main.Request") && b.last() == Some(&"main.awaitReply"));
    assert!(
        request_via_goroutine,
        "no main.Request ← main.awaitReply trace in:\n{traces}"
    );

    // -tree (callers and callees of every frame) reads it too.
    let tree = pprof(&go, &["-tree", "-sample_index=space"], &file);
    assert!(
        tree.contains("main.gServer") && tree.contains("main.Server.sessions"),
        "{tree}"
    );

    // The root frame of a goroutine carries the line of the call.
    let list = pprof(
        &go,
        &["-list", "main.awaitReply", "-sample_index=objects"],
        &file,
    );
    assert!(list.contains("main.go"), "{list}");

    // Retained: among the program's types, main.Server retains the most.
    let top = pprof(&go, &["-top", "-sample_index=retained"], &file);
    let first_main = top
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .find(|f| f.starts_with("main.") && !f.contains(".g"))
        .unwrap_or("");
    assert_eq!(first_main, "main.Server", "{top}");
}

/// `gocore pprof --dominators`: stacks are dominator chains, so the cumulative
/// bytes `go tool pprof` shows for a frame are what it retains — for the leak
/// fixture's `main.Server` exactly the library's `Dominators::retained` of the
/// truth's `server` object — and the totals are still the live heap.
#[test]
fn dominator_profile_cumulative_bytes_are_retained_sizes() {
    let Some(go) = go_tool() else {
        println!("SKIPPED: no Go toolchain installed (~/.cache/gocore/toolchains or PATH)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let leak: Vec<Case> = testkit::cases()
        .into_iter()
        .filter(|c| c.program() == "leak")
        .collect();
    assert!(!leak.is_empty(), "no leak case");
    for case in leak {
        let name = &case.name;
        let file = dir.path().join(format!("{name}.dom.pb.gz"));
        let o = Command::new(env!("CARGO_BIN_EXE_gocore"))
            .arg("pprof")
            .arg("--dominators")
            .arg("-o")
            .arg(&file)
            .arg(case.core_path())
            .arg("--exe")
            .arg(case.exe_path())
            .output()
            .expect("run gocore pprof --dominators");
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );

        // The library's view: live heap and the server's retained size.
        let core = corefile::Core::open_with(
            case.core_path(),
            &corefile::OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap();
        let proc = gocore::Process::new(&core).unwrap();
        let heap = gocore::Heap::new(&proc).unwrap();
        let roots = gocore::RootSet::collect(&proc, &heap).unwrap();
        let graph = gocore::ObjectGraph::build(&heap, &roots).unwrap();
        let dom = gocore::Dominators::compute(&graph, &heap);
        let addr = case.truth()["named_objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "server")
            .and_then(|o| o["addr"].as_u64())
            .expect("truth names the server");
        let (id, _) = heap.find_object(addr).expect("server object");
        let server_retained = dom.retained(graph.object_node(id));

        let top = pprof(
            &go,
            &["-top", "-cum", "-unit=B", "-sample_index=space"],
            &file,
        );
        assert_eq!(
            total(&top),
            dom.retained(graph.super_root()),
            "{name}: total = live bytes"
        );
        let cum = top
            .lines()
            .find(|l| l.split_whitespace().last() == Some("main.Server"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|c| c.trim_end_matches('B').parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name}: no main.Server row in\n{top}"));
        assert_eq!(cum, server_retained, "{name}: cum of main.Server\n{top}");
        println!("{name}: main.Server cum {cum} = retained {server_retained}");
    }
}
