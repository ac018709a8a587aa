//! The runtime-model commands of the CLI (`goroutines`, `objects`, `histogram`,
//! `roots`, `breakdown`, `object`, `read`) run as a user runs them — the built
//! binary — on every corpus core, against the truth each fixture recorded:
//!
//! * every goroutine of the truth file (and of its groups) is listed by
//!   `goroutines --json`;
//! * every named object of the truth is an object of `objects --json` or lies in
//!   one, and `object ADDR` finds it (text and JSON);
//! * `histogram --json` counts and bytes sum to its totals, and its total is the
//!   number of objects `objects --json` lists;
//! * `roots --json` counts sum to its total, with globals and frames present;
//! * `breakdown --json` adds up to the total size of the mappings (`overview`), and
//!   its cross-checks against the runtime's counters hold;
//! * `read ADDR 8` of `main.gList` (zoo) is the address of `list_head`,
//!
//! and no command prints an error when its reader goes away (`| head`).

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::Value;
use testkit::Case;

/// `gocore CMD CORE [ARGS] --exe EXE`, which must succeed; its stdout.
fn stdout_of(case: &Case, cmd: &str, args: &[&str]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gocore"));
    c.arg(cmd)
        .arg(case.core_path())
        .args(args)
        .arg("--exe")
        .arg(case.exe_path());
    let out = c.output().expect("run gocore");
    assert!(
        out.status.success(),
        "{}: gocore {cmd} {args:?}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json_of(case: &Case, cmd: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let s = stdout_of(case, cmd, &a);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{}: gocore {cmd}: {e}", case.name))
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// Cases the heap model can read (stripped cores without `mheap_` are skipped by
/// the library tests; here every committed case is expected to work).
fn cases() -> Vec<Case> {
    let cases = testkit::cases();
    assert!(!cases.is_empty(), "no corpus cases");
    cases
}

#[test]
fn goroutines_objects_histogram_roots_match_the_truth() {
    for case in cases() {
        let name = &case.name;
        let truth = case.truth();

        let gs = json_of(&case, "goroutines", &[]);
        let ids: Vec<u64> = gs
            .as_array()
            .expect("goroutines array")
            .iter()
            .map(|g| u64_of(&g["id"]))
            .collect();
        // One goroutine (`id`) or a group of them (`ids`).
        for g in truth["goroutines"].as_array().into_iter().flatten() {
            let group: Vec<u64> = match g["ids"].as_array() {
                Some(a) => a.iter().map(u64_of).collect(),
                None => vec![u64_of(&g["id"])],
            };
            for id in group {
                assert!(
                    ids.contains(&id),
                    "{name}: goroutine {id} ({}) not listed",
                    g["role"]
                );
            }
        }

        let objects = json_of(&case, "objects", &[]);
        let objects = objects.as_array().expect("objects array");
        let mut spans: Vec<(u64, u64)> = objects
            .iter()
            .map(|o| (u64_of(&o["address"]), u64_of(&o["size"])))
            .collect();
        spans.sort_unstable();
        let containing = |addr: u64| {
            let i = spans.partition_point(|&(a, _)| a <= addr);
            i.checked_sub(1)
                .and_then(|i| spans.get(i))
                .filter(|&&(a, s)| addr < a + s.max(1))
                .copied()
        };

        let hist = json_of(&case, "histogram", &[]);
        let groups = hist["groups"].as_array().expect("histogram groups");
        let count: u64 = groups.iter().map(|g| u64_of(&g["count"])).sum();
        let bytes: u64 = groups.iter().map(|g| u64_of(&g["bytes"])).sum();
        assert_eq!(count, u64_of(&hist["objects"]), "{name}: histogram counts");
        assert_eq!(bytes, u64_of(&hist["bytes"]), "{name}: histogram bytes");
        assert_eq!(count, objects.len() as u64, "{name}: histogram vs objects");

        // Every named object lies in a listed object; `object ADDR` (which types the
        // heap and builds the object graph, ~1 s unoptimized) is run on a few of them
        // (tests/cli_typed.rs checks its typed output).
        for (i, o) in truth["named_objects"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let addr = u64_of(&o["addr"]);
            let what = o["name"].as_str().unwrap_or("?");
            assert!(
                containing(addr).is_some(),
                "{name}: named object {what} at {addr:#x} is in no listed object"
            );
            if i >= 3 {
                continue;
            }
            let text = stdout_of(
                &case,
                "object",
                &[&format!("{addr:#x}"), "--referrers", "0"],
            );
            assert!(
                text.contains("bytes into object"),
                "{name}: object {addr:#x} ({what}): {text}"
            );
            let j = json_of(
                &case,
                "object",
                &[&format!("{addr:#x}"), "--referrers", "0"],
            );
            let base = u64_of(&j["object"]["address"]);
            let off = u64_of(&j["object"]["offset"]);
            assert_eq!(base + off, addr, "{name}: object {what}");
        }

        let roots = json_of(&case, "roots", &["--limit", "5"]);
        let counts = roots["counts"].as_object().expect("root counts");
        let sum: u64 = counts.values().map(u64_of).sum();
        assert_eq!(sum, u64_of(&roots["total"]), "{name}: root counts");
        assert!(u64_of(&counts["global"]) > 0, "{name}: no global roots");
        assert!(u64_of(&counts["frame"]) > 0, "{name}: no frame roots");
        assert!(roots["roots"].as_array().is_some_and(|r| r.len() <= 5));

        // read: main.gList holds the list head's address.
        let head = truth["named_objects"]
            .as_array()
            .and_then(|a| a.iter().find(|o| o["name"] == "list_head"))
            .map(|o| u64_of(&o["addr"]));
        if let (Some(glist), Some(head)) = (truth["globals"]["main.gList"].as_u64(), head) {
            let r = json_of(&case, "read", &[&format!("{glist:#x}"), "8"]);
            assert_eq!(u64_of(&r["length"]), 8, "{name}: read length");
            let hex = r["hex"].as_str().expect("hex");
            let bytes: Vec<u8> = (0..8)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex byte"))
                .collect();
            let word = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
            assert_eq!(word, head, "{name}: main.gList -> list_head");
        }
    }
}

#[test]
fn breakdown_adds_up_to_the_mappings() {
    for case in cases() {
        let name = &case.name;
        let ov = json_of(&case, "overview", &[]);
        let mapped = u64_of(&ov["mappings"]["bytes"]);
        let b = json_of(&case, "breakdown", &[]);
        assert_eq!(u64_of(&b["total"]), mapped, "{name}: breakdown total");
        fn check(node: &Value, name: &str) {
            if let Some(children) = node["children"].as_array() {
                let sum: u64 = children.iter().map(|c| u64_of(&c["bytes"])).sum();
                assert_eq!(sum, u64_of(&node["bytes"]), "{name}: node {}", node["name"]);
                for c in children {
                    check(c, name);
                }
            }
        }
        check(&b["tree"], name);
        for c in b["checks"].as_array().expect("checks") {
            let gcore_idle = case.producer() == "gcore"
                && c["name"].as_str().is_some_and(|n| n.contains("HeapIdle"));
            assert!(
                c["ok"] == true || gcore_idle,
                "{name}: breakdown check failed: {c}"
            );
        }
        // The overview's Go section agrees with the other commands.
        let go = &ov["go"];
        assert!(
            go["error"].is_null(),
            "{name}: overview go error {}",
            go["error"]
        );
        assert!(
            u64_of(&go["goroutines"]["total"]) > 0,
            "{name}: overview goroutines"
        );
        assert!(u64_of(&go["heap"]["objects"]) > 0, "{name}: overview heap");
    }
}

/// `gocore CMD … | head -c 100`: the command stops early without an error message
/// and exits successfully.
#[test]
fn closed_pipe_is_not_an_error() {
    let case = testkit::find_case(|c| {
        c.name.starts_with("zoo-") && c.mode() == "default" && c.producer() == "crash"
    })
    .expect("a zoo crash case in the corpus in use or the committed one");
    for cmd in [
        &["objects"][..],
        &["objects", "--json"],
        &["histogram"],
        &["goroutines", "--frames"],
        &["goroutines", "--json"],
        &["roots", "--limit", "100000"],
        &["mappings"],
        &["threads", "--json"],
        &["breakdown"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gocore"))
            .arg(cmd[0])
            .arg(case.core_path())
            .args(&cmd[1..])
            .arg("--exe")
            .arg(case.exe_path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gocore");
        let mut buf = [0u8; 100];
        let mut stdout = child.stdout.take().expect("stdout");
        let _ = stdout.read(&mut buf).expect("read some output");
        drop(stdout);
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "gocore {cmd:?} | head: {err}"
        );
        assert!(
            out.status.success(),
            "gocore {cmd:?} | head: {:?}",
            out.status
        );
    }
}
