//! `gocore diff OLD NEW` on two cores of the leak fixture taken at different times:
//! the same program and release run for fewer rounds (a corpus *variant*, e.g.
//! `leak-go1.27.3-default-crash-amd64-rounds1000`) and for the default number.
//!
//! Checked against the two truth files: the growth of every type the fixture counts
//! (`type_counts`) equals the difference of its counts — `main.Session` and
//! `main.Request` grow by exactly the leaked numbers, the well-behaved types do not
//! grow; the session payloads (`[1024]uint8`) and request bodies (`[256]uint8`) grow
//! by the truth's `payload_buffers` and `request_bodies` differences; the largest
//! growth in bytes is the payloads and the sessions; every type that grows by at
//! least one object per leaked goroutine is one the leak allocates; the leaked
//! goroutines' site grows by the difference of `leaked_goroutines`; the paths to
//! the sessions grow by the sessions' growth, most of it along
//! `main.gServer > main.Server > main.Server.sessions > main.Session`; what the
//! `main.Server` retains grows by at least the new unshared sessions with their
//! payloads (truth sizes).
//!
//! Cores of different builds of the leak fixture (another release, an experiment) are
//! compared by type name: the fixture's types change as their truth files say.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use testkit::Case;

fn diff_json(old: &Case, new: &Case) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .arg("diff")
        .arg(old.core_path())
        .arg(new.core_path())
        .arg("--old-exe")
        .arg(old.exe_path())
        .arg("--new-exe")
        .arg(new.exe_path())
        .arg("--json")
        .output()
        .expect("run gocore diff");
    assert!(
        out.status.success(),
        "gocore diff {} {}: {}",
        old.name,
        new.name,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("diff JSON")
}

/// (early variant, its full-length sibling) pairs of the leak fixture.
fn pairs() -> Vec<(Case, Case)> {
    let find = |cases: &[Case]| -> Vec<(Case, Case)> {
        cases
            .iter()
            .filter(|c| c.program() == "leak" && c.meta["variant"].is_object())
            .filter_map(|early| {
                let suffix = early.meta["variant"]["suffix"].as_str()?;
                let base = early.name.strip_suffix(&format!("-{suffix}"))?;
                let full = cases.iter().find(|c| c.name == base)?;
                Some((early.clone(), full.clone()))
            })
            .collect()
    };
    let v = find(&testkit::cases());
    if v.is_empty() {
        find(&testkit::committed_cases())
    } else {
        v
    }
}

fn leak_field(t: &Value, k: &str) -> i64 {
    t["leak"][k]
        .as_i64()
        .unwrap_or_else(|| panic!("truth leak.{k}"))
}

#[test]
fn diff_of_two_leak_snapshots_is_the_leak() {
    let pairs = pairs();
    assert!(!pairs.is_empty(), "no early/late pair of leak cores");
    for (early, late) in pairs {
        let name = format!("{} -> {}", early.name, late.name);
        let (t0, t1) = (early.truth(), late.truth());
        assert!(
            leak_field(&t1, "rounds") > leak_field(&t0, "rounds"),
            "{name}: the later case ran more rounds"
        );
        let d = diff_json(&early, &late);
        let types: BTreeMap<String, &Value> = d["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|c| (c["key"].as_str().unwrap().to_string(), c))
            .collect();
        let delta = |ty: &str| {
            types
                .get(ty)
                .map_or(0, |c| c["count_delta"].as_i64().unwrap())
        };

        // Every type the fixture counts grows by exactly the truth's difference.
        let counts = |t: &Value, ty: &str| t["type_counts"][ty]["count"].as_i64().unwrap_or(0);
        let tc = t1["type_counts"].as_object().expect("type_counts");
        for ty in tc.keys() {
            let want = counts(&t1, ty) - counts(&t0, ty);
            assert_eq!(delta(ty), want, "{name}: growth of {ty}");
        }
        assert!(delta("main.Session") > 0 && delta("main.Request") > 0);
        let d_payload = leak_field(&t1, "payload_buffers") - leak_field(&t0, "payload_buffers");
        let d_bodies = leak_field(&t1, "request_bodies") - leak_field(&t0, "request_bodies");
        let d_leaked = leak_field(&t1, "leaked_goroutines") - leak_field(&t0, "leaked_goroutines");
        assert_eq!(delta("[1024]uint8"), d_payload, "{name}: payload buffers");
        assert_eq!(delta("[256]uint8"), d_bodies, "{name}: request bodies");

        // The largest growth is the leak's: payloads, then the sessions.
        let top: Vec<&str> = d["types"]
            .as_array()
            .unwrap()
            .iter()
            .take(2)
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert_eq!(top, ["[1024]uint8", "main.Session"], "{name}");

        // Whatever grows by at least one object per leaked goroutine is allocated by
        // the leak: a session (with its payload and strings) per new session key, a
        // request (body, reply channel, the parked receiver's sudog) per leaked
        // goroutine, and the session map's groups.
        let leak_made = |ty: &str| {
            matches!(
                ty,
                "main.Session"
                    | "[1024]uint8"
                    | "string data"
                    | "main.Request"
                    | "[256]uint8"
                    | "runtime.hchan"
                    | "runtime.sudog"
                    | "runtime.g"
            ) || ty.contains("*main.Session")
                || ty.starts_with("class ")
        };
        for (ty, c) in &types {
            let n = c["count_delta"].as_i64().unwrap();
            if n >= d_leaked {
                assert!(leak_made(ty), "{name}: {ty} grew by {n}, not by the leak");
            }
        }

        // The leaked goroutines' site grows by the number leaked in between.
        let sites = d["goroutine_sites"].as_array().expect("sites");
        let await_site = sites
            .iter()
            .find(|c| c["key"].as_str().unwrap().contains("at main.awaitReply ("))
            .unwrap_or_else(|| panic!("{name}: no main.awaitReply site in {sites:#?}"));
        assert_eq!(await_site["count_delta"].as_i64(), Some(d_leaked), "{name}");

        // Totals: the live heap of each core.
        let live = &d["live"];
        assert!(live["new"]["bytes"].as_u64() > live["old"]["bytes"].as_u64());
        let sum = |side: &str| -> i64 {
            d["types"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[side]["count"].as_i64().unwrap())
                .sum()
        };
        // Unchanged types are not listed, so the listed ones sum to at most the total.
        assert!(sum("new") <= live["new"]["count"].as_i64().unwrap());

        // Retainer paths: every new session is on a path ending in main.Session;
        // most grow under main.gServer's Server.sessions (a session a leaked request
        // still points at is reached first through the goroutine holding it).
        let paths = d["paths"].as_array().expect("paths");
        let to_sessions: Vec<&Value> = paths
            .iter()
            .filter(|c| c["key"].as_str().unwrap().ends_with("> main.Session"))
            .collect();
        let total: i64 = to_sessions
            .iter()
            .map(|c| c["count_delta"].as_i64().unwrap())
            .sum();
        assert_eq!(total, delta("main.Session"), "{name}: {to_sessions:#?}");
        let top = to_sessions
            .iter()
            .max_by_key(|c| c["count_delta"].as_i64().unwrap())
            .unwrap();
        assert_eq!(
            top["key"].as_str().unwrap(),
            "main.gServer > main.Server > main.Server.sessions > main.Session",
            "{name}"
        );
        assert!(top["count_delta"].as_i64().unwrap() >= delta("main.Session") - d_leaked);

        // Retainers: what the server alone keeps alive grows by at least the new
        // sessions not shared with a leaked request, each with its payload.
        let server = d["retainers"]
            .as_array()
            .expect("retainers")
            .iter()
            .find(|c| c["key"] == "main.gServer > main.Server")
            .unwrap_or_else(|| panic!("{name}: no main.gServer > main.Server retainer"));
        let session_size = t1["type_counts"]["main.Session"]["size"].as_i64().unwrap();
        let payload_size = leak_field(&t1, "payload_size");
        let at_least = (delta("main.Session") - d_leaked) * (session_size + payload_size);
        assert!(
            server["bytes_delta"].as_i64().unwrap() >= at_least,
            "{name}: main.Server retains {} more, expected at least {at_least}",
            server["bytes_delta"]
        );
    }
}

#[test]
fn text_output_names_the_leak() {
    let Some((early, late)) = pairs().into_iter().next() else {
        panic!("no early/late pair of leak cores");
    };
    let out = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .arg("diff")
        .arg(early.core_path())
        .arg(late.core_path())
        .arg("--old-exe")
        .arg(early.exe_path())
        .arg("--new-exe")
        .arg(late.exe_path())
        .output()
        .expect("run gocore diff");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("live heap:"), "{text}");
    assert!(text.contains("main.Session"), "{text}");
    assert!(text.contains("main.awaitReply"), "{text}");
}

/// Cores of different builds (another release, an experiment) compare by type name:
/// the fixture's types change exactly as the two truth files say.
#[test]
fn diff_across_builds_compares_by_type_name() {
    let cases = testkit::cases();
    let leak: Vec<&Case> = cases
        .iter()
        .filter(|c| c.program() == "leak" && c.meta["variant"].is_null())
        .collect();
    let Some(base) = leak.iter().find(|c| c.mode() == "default") else {
        println!("no leak case: skipped");
        return;
    };
    let mut compared = 0;
    for other in leak.iter().filter(|c| c.name != base.name) {
        let name = format!("{} -> {}", base.name, other.name);
        let (t0, t1) = (base.truth(), other.truth());
        let d = diff_json(base, other);
        let delta = |ty: &str| -> i64 {
            d["types"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["key"] == ty)
                .map_or(0, |c| c["count_delta"].as_i64().unwrap())
        };
        let counts = |t: &Value, ty: &str| t["type_counts"][ty]["count"].as_i64().unwrap_or(0);
        for ty in t1["type_counts"].as_object().expect("type_counts").keys() {
            assert_eq!(
                delta(ty),
                counts(&t1, ty) - counts(&t0, ty),
                "{name}: growth of {ty}"
            );
        }
        let payloads = leak_field(&t1, "payload_buffers") - leak_field(&t0, "payload_buffers");
        assert_eq!(delta("[1024]uint8"), payloads, "{name}: payload buffers");
        compared += 1;
    }
    println!("compared {compared} other builds with {}", base.name);
}
