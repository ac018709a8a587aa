//! `gocore graph`: DOT output that Graphviz's `dot` accepts (when `dot` is
//! installed; otherwise a structural check of the DOT: every edge joins declared
//! nodes, braces balance), bounded by `--max-nodes`, on every corpus core; and on the
//! leak fixture, against its truth:
//!
//! * the neighbourhood of the truth's `server` object (a `main.Server`) has the focus
//!   labelled `main.Server` and the root `global main.gServer` pointing at it (in a
//!   stripped binary the global word at the truth's address of `main.gServer`);
//! * the dominator subtree of the server reaches `main.Session`s, and along every
//!   drawn tree edge the child retains no more than its parent, the children drawn
//!   and cut off together retaining at most the parent's retained minus its size.

use std::collections::HashSet;
use std::process::{Command, Stdio};

use serde_json::Value;
use testkit::Case;

fn gocore(case: &Case, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .arg("graph")
        .arg(case.core_path())
        .args(args)
        .arg("--exe")
        .arg(case.exe_path())
        .output()
        .expect("run gocore graph");
    assert!(
        out.status.success(),
        "{}: gocore graph {args:?}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn have_dot() -> bool {
    Command::new("dot")
        .arg("-V")
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Checks DOT text; returns (object/root nodes, `… more` nodes, edges).
fn check_dot(name: &str, dot: &str, with_dot: bool) -> (usize, usize, usize) {
    assert!(dot.starts_with("digraph gocore {"), "{name}: {dot}");
    assert!(dot.trim_end().ends_with('}'), "{name}");
    let mut declared = HashSet::new();
    let (mut nodes, mut more, mut edges) = (0, 0, 0);
    for line in dot.lines().map(str::trim) {
        if let Some((lhs, _)) = line.split_once(" -> ") {
            let rhs = line
                .split(" -> ")
                .nth(1)
                .and_then(|r| r.split([';', ' ']).next())
                .unwrap_or("");
            assert!(declared.contains(lhs), "{name}: edge from undeclared {lhs}");
            assert!(declared.contains(rhs), "{name}: edge to undeclared {rhs}");
            edges += 1;
        } else if let Some((id, rest)) = line.split_once(" [") {
            if id == "graph" || id == "node" {
                continue;
            }
            assert!(rest.ends_with("];"), "{name}: {line}");
            assert!(rest.starts_with("label=\""), "{name}: {line}");
            declared.insert(id.to_string());
            if id.starts_with("more") {
                more += 1;
            } else {
                nodes += 1;
            }
        }
    }
    if with_dot {
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run dot");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{name}: dot rejected the graph: {}\n{dot}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (nodes, more, edges)
}

#[test]
fn dot_parses_and_is_bounded_on_every_core() {
    let with_dot = have_dot();
    if !with_dot {
        println!("graphviz `dot` not installed: structural checks only");
    }
    for case in testkit::cases() {
        for args in [
            &["--max-nodes", "25"][..],
            &["all", "--dominators", "--max-nodes", "25", "--depth", "3"][..],
        ] {
            let dot = gocore(&case, args);
            let (nodes, _, edges) = check_dot(&case.name, &dot, with_dot);
            assert!((1..=25).contains(&nodes), "{}: {nodes} nodes", case.name);
            assert!(edges > 0, "{}: no edges", case.name);
        }
    }
}

fn server(case: &Case) -> String {
    let t = case.truth();
    let addr = t["named_objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "server")
        .and_then(|o| o["addr"].as_u64())
        .expect("truth names the server");
    format!("{addr:#x}")
}

#[test]
fn leak_server_neighbourhood_and_dominator_subtree() {
    let with_dot = have_dot();
    let leak: Vec<Case> = testkit::cases()
        .into_iter()
        .filter(|c| c.program() == "leak")
        .collect();
    assert!(!leak.is_empty(), "no leak case");
    for case in leak {
        let name = &case.name;
        let addr = server(&case);

        let dot = gocore(&case, &[&addr]);
        check_dot(name, &dot, with_dot);
        let focus_line = dot
            .lines()
            .find(|l| l.contains("lightyellow"))
            .expect("focus node");
        assert!(focus_line.contains("main.Server"), "{name}: {focus_line}");
        assert!(focus_line.contains(&addr), "{name}: {focus_line}");
        let focus_id = focus_line.trim().split(' ').next().unwrap();
        // By name, or by address in a stripped binary (`global word 0x…`).
        let gserver_addr = case.truth()["globals"]["main.gServer"]
            .as_u64()
            .map(|a| format!("label=\"global word {a:#x}"));
        let gserver_id = dot
            .lines()
            .find(|l| {
                l.contains("label=\"global main.gServer")
                    || gserver_addr
                        .as_ref()
                        .is_some_and(|a| l.contains(a.as_str()))
            })
            .map(|l| l.trim().split(' ').next().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name}: no main.gServer root in\n{dot}"));
        assert!(
            dot.contains(&format!("{gserver_id} -> {focus_id};")),
            "{name}: main.gServer does not point at the server\n{dot}"
        );

        // Dominator subtree, as JSON to check the retained sizes.
        let js = gocore(
            &case,
            &[
                &addr,
                "--dominators",
                "--depth",
                "6",
                "--fanout",
                "3",
                "--json",
            ],
        );
        let v: Value = serde_json::from_str(&js).expect("graph --json");
        let nodes = v["nodes"].as_array().unwrap();
        let retained = |i: usize| nodes[i]["retained"].as_u64().unwrap();
        let size = |i: usize| nodes[i]["size"].as_u64().unwrap_or(0);
        assert!(
            nodes.iter().any(|n| n["type"] == "main.Session"),
            "{name}: no main.Session under the server: {js}"
        );
        let mut below = vec![0u64; nodes.len()];
        for e in v["edges"].as_array().unwrap() {
            let (p, c) = (
                e[0].as_u64().unwrap() as usize,
                e[1].as_u64().unwrap() as usize,
            );
            assert!(retained(c) <= retained(p), "{name}: edge {p}->{c}");
            below[p] += retained(c);
        }
        for m in v["more"].as_array().unwrap() {
            below[m["node"].as_u64().unwrap() as usize] += m["retained"].as_u64().unwrap();
        }
        for (i, b) in below.iter().enumerate() {
            assert!(
                *b + size(i) <= retained(i),
                "{name}: node {i}: children retain {b} + size {} > {}",
                size(i),
                retained(i)
            );
        }
        let dot = gocore(&case, &[&addr, "--dominators", "--depth", "6"]);
        check_dot(name, &dot, with_dot);
    }
}

#[test]
fn an_address_in_no_object_finds_nothing() {
    let case = testkit::find_case(|c| c.program() == "leak").expect("a leak case");
    let out = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .arg("graph")
        .arg(case.core_path())
        .arg("0x10")
        .arg("--exe")
        .arg(case.exe_path())
        .output()
        .expect("run gocore graph");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
}
