//! The retention commands of the CLI (`top`, `path`, `referrers`, `leaks`) run as a
//! user runs them — the built binary, `--json` — on the committed leak cores and
//! on zoo cores of the oldest and newest release and without DWARF:
//!
//! * `top`: objects, types and roots sorted by retained bytes, none above the live
//!   heap; `--drill` on the `server` object lists the sessions map among what it
//!   dominates;
//! * `path` to `list_head` (zoo) includes the one-hop path from `global main.gList`;
//! * `referrers` of `list_head` include the root `main.gList`; of
//!   `session_0_payload` (leak) the session, through `.Payload`;
//! * `leaks` (leak): the top suspect accumulates in the sessions map (the truth's
//!   `maps[sessions].addr`) and names the truth's 1500 `main.Session`; its path
//!   starts at `main.gServer` (the truth's address, also when stripped) and goes
//!   through the sessions map; the 40 leaked `main.awaitReply` goroutines are one
//!   group.

use std::process::Command;

use serde_json::Value;
use testkit::Case;

fn json_of(case: &Case, cmd: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .arg(cmd)
        .arg(case.core_path())
        .args(args)
        .arg("--exe")
        .arg(case.exe_path())
        .arg("--json")
        .output()
        .expect("run gocore");
    assert!(
        out.status.success(),
        "{}: gocore {cmd} {args:?}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {cmd}: {e}", case.name))
}

fn named(case: &Case, name: &str) -> String {
    let t = case.truth();
    let a = t["named_objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("{}: no {name}", case.name))["addr"]
        .as_u64()
        .unwrap();
    format!("{a:#x}")
}

fn cases() -> Vec<Case> {
    let mut all = testkit::cases();
    // A matrix chunk may lack the leak fixture: then the committed leak cases too.
    if !all.iter().any(|c| c.program() == "leak") {
        all.extend(
            testkit::committed_cases()
                .into_iter()
                .filter(|c| c.program() == "leak"),
        );
    }
    all.into_iter()
        .filter(|c| {
            c.program() == "leak"
                || c.name.starts_with("zoo-go1.21")
                || c.name == "zoo-go1.27.3-default-crash-amd64"
                || c.mode() == "nodwarf"
                || c.mode() == "stripped"
        })
        .collect()
}

fn sorted_desc(rows: &Value, key: &str) -> bool {
    let v: Vec<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_u64().unwrap())
        .collect();
    v.windows(2).all(|w| w[0] >= w[1])
}

#[test]
fn top_path_referrers_leaks() {
    let cases = cases();
    assert!(!cases.is_empty());
    for case in &cases {
        let c = &case.name;
        let top = json_of(case, "top", &["--limit", "10"]);
        let live = top["live_bytes"].as_u64().unwrap();
        assert!(live > 0, "{c}");
        for k in ["objects", "types", "roots"] {
            assert!(sorted_desc(&top[k], "retained"), "{c}: top {k} sorted");
            for r in top[k].as_array().unwrap() {
                assert!(r["retained"].as_u64().unwrap() <= live, "{c}: {r}");
            }
        }
        let stripped = case.mode() == "stripped";
        if case.program() == "zoo" {
            let head = named(case, "list_head");
            let p = json_of(case, "path", &[&head]);
            assert!(p["reachable"].as_bool().unwrap(), "{c}");
            if !stripped {
                assert!(
                    p["paths"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x["root"] == "global main.gList"
                            && x["steps"].as_array().unwrap().len() == 1),
                    "{c}: path from main.gList: {p}"
                );
                let r = json_of(case, "referrers", &[&head]);
                assert!(
                    r["referrers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x["root"] == "global main.gList"),
                    "{c}: referrers {r}"
                );
            }
            continue;
        }
        // leak
        let truth = case.truth();
        let map = truth["maps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "sessions")
            .unwrap()["addr"]
            .as_u64()
            .unwrap();
        let map = format!("{map:#x}");
        let drill = json_of(case, "top", &["--drill", &named(case, "server")]);
        assert!(
            drill["children"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["addr"] == map.as_str()),
            "{c}: server dominates the sessions map: {drill}"
        );
        let r = json_of(case, "referrers", &[&named(case, "session_0_payload")]);
        let session = named(case, "session_0");
        let hit = r["referrers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["addr"] == session.as_str())
            .unwrap_or_else(|| panic!("{c}: session_0 refers to its payload: {r}"));
        if case.mode() == "default" {
            assert_eq!(hit["via"], ".Payload", "{c}");
        }
        let l = json_of(case, "leaks", &[]);
        let s0 = &l["suspects"][0];
        let steps = s0["path"]["steps"].as_array().unwrap();
        assert!(
            steps.iter().any(|x| x["addr"] == map.as_str()),
            "{c}: top suspect's path goes through the sessions map: {s0}"
        );
        if !stripped {
            assert_eq!(s0["path"]["root"], "global main.gServer", "{c}");
        }
        // The root is the global the truth names, by address (stripped too).
        let gserver = truth["globals"]["main.gServer"].as_u64().unwrap();
        assert_eq!(
            s0["path"]["root_slot"],
            format!("{gserver:#x}").as_str(),
            "{c}: top suspect's root is main.gServer: {s0}"
        );
        // The leaking structure: the sessions map header accumulates the truth's
        // sessions, and the suspect names them by type and count.
        assert_eq!(
            s0["accumulation"]["addr"],
            map.as_str(),
            "{c}: top suspect accumulates in the sessions map: {s0}"
        );
        let sessions = truth["leak"]["sessions"].as_u64().unwrap();
        assert!(
            s0["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["type"] == "main.Session" && g["count"] == sessions),
            "{c}: top suspect names the {sessions} main.Session: {s0}"
        );
        let n = truth["leak"]["leaked_goroutines"].as_u64().unwrap();
        assert!(
            l["goroutines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["function"] == "main.awaitReply" && g["count"] == n),
            "{c}: {n} leaked goroutines: {}",
            l["goroutines"]
        );
    }
}

/// `--threads 1` (typing after the dominator tree, everything on one thread) and
/// `--threads 2` (typing beside it) give the same results; `--threads 0` is a usage
/// error.
#[test]
fn thread_count_changes_nothing_in_the_results() {
    let cases = cases();
    let case = cases
        .iter()
        .find(|c| c.program() == "leak")
        .expect("a leak case");
    for (cmd, args) in [
        ("top", &[][..]),
        ("leaks", &[][..]),
        ("histogram", &["--live"][..]),
        ("overview", &[][..]),
    ] {
        let one = json_of(case, cmd, &[args, &["--threads", "1"]].concat());
        let two = json_of(case, cmd, &[args, &["--threads", "2"]].concat());
        assert_eq!(one, two, "{}: gocore {cmd} {args:?}", case.name);
        assert!(!one.is_null(), "{}: gocore {cmd}: {one}", case.name);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .args(["--threads", "0", "top"])
        .arg(case.core_path())
        .output()
        .expect("run gocore");
    assert_eq!(out.status.code(), Some(2), "--threads 0 is a usage error");
}
