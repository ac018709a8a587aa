//! The typed-value commands of the CLI run as a user runs them, on every corpus
//! core, against what the fixture programs recorded:
//!
//! * `object ADDR` (zoo): the recorded type and field values of named objects —
//!   `tree_root.Val` 127, `cycle_a.Next` is `cycle_b` (an interior address works
//!   too), `iface_holder`'s `Integer` is `(int) 6007` and its `Err` a
//!   `*main.ZooError` pointing at a `main.ZooError` — in JSON and text; without
//!   DWARF, typed objects show the recorded type and `--as main.IfaceHolder`
//!   decodes `iface_holder`;
//! * `globals --filter main.`: every global of the truth at its recorded address;
//!   with DWARF `main.gList` is a `*main.ListNode` holding `list_head` and
//!   `main.gStrBeta` the recorded string;
//! * `goroutines --vars` (zoo, DWARF): the chan-send goroutine's `main.chanSender`
//!   frame has `item`, pointing at `sent_item`; without DWARF the text says so;
//! * `histogram --live`: every `type_counts` type of the truth with its exact live
//!   count and value size under its Go-syntax name, its totals those of
//!   `overview`'s reachability, on every case, with and without DWARF;
//! * `overview`: a typed figure ([`gocore::Typing::coverage`]) whose live count
//!   equals the reachability line's, with at least 99% of live bytes typed on every
//!   case, with and without DWARF (on the committed corpus: 99.76–100% with DWARF,
//!   99.36% on the nodwarf and stripped zoo cores).

use std::process::Command;

use serde_json::Value;
use testkit::Case;

fn stdout_of(case: &Case, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gocore"))
        .arg(cmd)
        .arg(case.core_path())
        .args(args)
        .arg("--exe")
        .arg(case.exe_path())
        .output()
        .expect("run gocore");
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

fn named(truth: &Value, name: &str) -> Option<(u64, String)> {
    let o = truth["named_objects"]
        .as_array()?
        .iter()
        .find(|o| o["name"] == name)?;
    Some((o["addr"].as_u64()?, o["type"].as_str()?.to_string()))
}

fn field<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == name))
        .map_or(&Value::Null, |f| &f["value"])
}

fn has_dwarf(case: &Case) -> bool {
    !matches!(case.mode().as_str(), "nodwarf" | "stripped")
}

#[test]
fn object_shows_recorded_types_and_field_values() {
    let mut checked = 0;
    for case in testkit::cases() {
        if case.program() != "zoo" {
            continue;
        }
        let truth = case.truth();
        let name = &case.name;
        let (Some((tree, _)), Some((ca, _)), Some((cb, _)), Some((ih, _))) = (
            named(&truth, "tree_root"),
            named(&truth, "cycle_a"),
            named(&truth, "cycle_b"),
            named(&truth, "iface_holder"),
        ) else {
            panic!("{name}: named objects missing from the truth");
        };
        if !has_dwarf(&case) {
            // Without DWARF typing reaches fewer objects: a type shown must be the
            // recorded one; untyped objects show their raw words.
            for n in ["tree_root", "cycle_a", "iface_holder"] {
                let (addr, want) = named(&truth, n).unwrap();
                let j = json_of(&case, "object", &[&format!("{addr:#x}")]);
                let o = &j["object"];
                if o["type"].is_null() {
                    assert!(!o["words"].as_array().unwrap().is_empty(), "{name}: {n}");
                    println!("{name}: {n} untyped (no DWARF)");
                } else {
                    assert_eq!(o["type"], want.as_str(), "{name}: {n}");
                }
            }
            // `--as` decodes any object with a named type, DWARF or not.
            let j = json_of(
                &case,
                "object",
                &[&format!("{ih:#x}"), "--as", "main.IfaceHolder"],
            );
            let int = field(&j["object"]["value"], "Integer");
            assert_eq!(int["value"]["value"], 6007, "{name}: --as: {int}");
            assert_eq!(j["object"]["decoded_as"], "main.IfaceHolder", "{name}");
            continue;
        }
        let j = json_of(&case, "object", &[&format!("{tree:#x}")]);
        let o = &j["object"];
        assert_eq!(o["type"], "main.TreeNode", "{name}: tree_root type");
        assert_eq!(
            field(&o["value"], "Val")["value"],
            127,
            "{name}: tree_root.Val"
        );
        assert!(o["type_source"].is_string(), "{name}: type source");

        // Any address inside the object; the text form.
        let text = stdout_of(&case, "object", &[&format!("{:#x}", ca + 8)]);
        assert!(text.contains("type: main.CycleNode"), "{name}: {text}");
        assert!(text.contains("Val  int64 = 1"), "{name}: {text}");
        assert!(
            text.contains(&format!("Next *main.CycleNode = {cb:#x} → main.CycleNode")),
            "{name}: {text}"
        );

        let j = json_of(&case, "object", &[&format!("{ih:#x}"), "--depth", "2"]);
        let v = &j["object"]["value"];
        assert_eq!(j["object"]["type"], "main.IfaceHolder", "{name}");
        let int = field(v, "Integer");
        assert_eq!(int["dynamic_type"], "int", "{name}: Integer {int}");
        assert_eq!(int["value"]["value"], 6007, "{name}: Integer {int}");
        let err = field(v, "Err");
        assert_eq!(err["dynamic_type"], "*main.ZooError", "{name}: Err {err}");
        assert_eq!(
            err["value"]["object"]["type"], "main.ZooError",
            "{name}: Err {err}"
        );
        let text = stdout_of(&case, "object", &[&format!("{ih:#x}")]);
        assert!(
            text.contains("Integer interface {} = (int) = 6007"),
            "{name}: {text}"
        );
        assert!(
            text.contains("Func    interface {} = (func() int64) = main.namedFunc"),
            "{name}: {text}"
        );
        checked += 1;
    }
    assert!(checked > 0, "no typed zoo case");
}

#[test]
fn globals_lists_the_fixture_globals() {
    for case in testkit::cases() {
        let truth = case.truth();
        let name = &case.name;
        let j = json_of(&case, "globals", &["--filter", "main."]);
        let list = j["globals"].as_array().expect("globals array");
        if case.mode() == "stripped" && list.is_empty() {
            println!("{name}: stripped: no globals");
            continue;
        }
        let want = truth["globals"].as_object().expect("truth globals");
        for (g, addr) in want {
            let got = list.iter().find(|x| &x["name"] == g);
            assert_eq!(
                got.map(|x| &x["address"]),
                Some(addr),
                "{name}: {g} not listed at its address"
            );
        }
        assert_eq!(j["dwarf"], has_dwarf(&case), "{name}: dwarf flag");
        if has_dwarf(&case) && case.program() == "zoo" {
            let get = |n: &str| list.iter().find(|x| x["name"] == n).unwrap();
            let gl = get("main.gList");
            assert_eq!(gl["type"], "*main.ListNode", "{name}");
            let (head, _) = named(&truth, "list_head").unwrap();
            assert_eq!(gl["value"]["target"], head, "{name}: gList");
            let beta = get("main.gStrBeta");
            assert_eq!(beta["type"], "string", "{name}");
            assert_eq!(
                beta["value"]["text"], "beta string built at run time 1000",
                "{name}"
            );
        }
        println!("{name}: {} main. globals", list.len());
    }
}

#[test]
fn goroutine_vars_show_recorded_locals() {
    for case in testkit::cases() {
        if case.program() != "zoo" {
            continue;
        }
        let name = &case.name;
        if !has_dwarf(&case) {
            let text = stdout_of(&case, "goroutines", &["--vars"]);
            assert!(
                text.contains("(no DWARF: frame variables unavailable)"),
                "{name}: no DWARF not said"
            );
            continue;
        }
        let truth = case.truth();
        let id = truth["goroutines"]
            .as_array()
            .and_then(|a| a.iter().find(|g| g["role"] == "chan-send"))
            .and_then(|g| g["id"].as_u64())
            .expect("chan-send goroutine");
        let (sent, _) = named(&truth, "sent_item").unwrap();
        let j = json_of(&case, "goroutines", &["--vars"]);
        let g = j
            .as_array()
            .and_then(|a| a.iter().find(|g| g["id"] == id))
            .unwrap_or_else(|| panic!("{name}: goroutine {id}"));
        let f = g["frames"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["function"] == "main.chanSender"))
            .unwrap_or_else(|| panic!("{name}: no main.chanSender frame"));
        let item = f["vars"]
            .as_array()
            .and_then(|a| a.iter().find(|v| v["name"] == "item"))
            .unwrap_or_else(|| panic!("{name}: no item in {}", f["vars"]));
        assert_eq!(item["type"], "*main.SentItem", "{name}: {item}");
        assert_eq!(item["value"]["target"], sent, "{name}: {item}");
        assert_eq!(
            item["value"]["object"]["type"], "main.SentItem",
            "{name}: {item}"
        );
    }
}

#[test]
fn overview_prints_the_typed_share() {
    for case in testkit::cases() {
        let name = &case.name;
        let j = json_of(&case, "overview", &[]);
        let go = &j["go"];
        let t = &go["typed"];
        let r = &go["reachability"];
        if t.is_null() || t.get("error").is_some() {
            panic!("{name}: no typed figure: {t}");
        }
        assert_eq!(t["live_objects"], r["live_objects"], "{name}: live objects");
        let (tn, n) = (
            t["typed_objects"].as_u64().unwrap(),
            t["live_objects"].as_u64().unwrap(),
        );
        let (tb, b) = (
            t["typed_bytes"].as_u64().unwrap(),
            t["live_bytes"].as_u64().unwrap(),
        );
        assert!(tn <= n && tb <= b, "{name}: {t}");
        let pct = t["byte_percent"].as_f64().unwrap();
        println!(
            "{name}: typed {:.2}% of live objects, {pct:.2}% of live bytes",
            t["object_percent"].as_f64().unwrap()
        );
        // Known gap (issue #5): Go 1.21 has no allocation headers, so without DWARF
        // zoo's arrays, maps and slices held by globals are typed only from what the
        // code stores and passes to the runtime, which is read on amd64 alone
        // (99.66% on the amd64 matrix cores; ~56% without the code).
        let known_gap = case.go_version().starts_with("go1.21.")
            && !has_dwarf(&case)
            && case.program() == "zoo"
            && !case.name.ends_with("-amd64");
        if known_gap {
            println!("{name}: known gap: {pct:.2}% of live bytes typed");
            assert!(pct >= 50.0, "{name}: only {pct:.2}% of live bytes typed");
        } else {
            assert!(pct >= 99.0, "{name}: only {pct:.2}% of live bytes typed");
        }
        assert!(t["by_source"].is_array(), "{name}: by_source");
        let text = stdout_of(&case, "overview", &[]);
        assert!(text.contains("\ntyped "), "{name}: no typed line");
    }
}

/// `object ADDR` lists referrers: on the leak fixture, main.Server is pointed to by
/// the global main.gServer and main.Config by the server's `cfg` field.
#[test]
fn object_lists_referrers() {
    let cases: Vec<Case> = testkit::cases()
        .into_iter()
        .filter(|c| c.program() == "leak")
        .collect();
    let cases = if cases.is_empty() {
        testkit::committed_cases()
            .into_iter()
            .filter(|c| c.program() == "leak")
            .collect()
    } else {
        cases
    };
    assert!(!cases.is_empty(), "no leak case");
    for case in &cases {
        let truth = case.truth();
        let (server, _) = named(&truth, "server").expect("server in truth");
        let (config, _) = named(&truth, "config").expect("config in truth");
        let v = json_of(case, "object", &[&format!("{server:#x}"), "--depth", "0"]);
        let list = v["referrers"]["list"].as_array().expect("referrers list");
        assert!(
            list.iter()
                .any(|r| r["kind"] == "root" && r["via"].as_str() == Some("main.gServer"))
                || case.mode() == "stripped",
            "{}: main.gServer not among the server's referrers: {list:?}",
            case.name
        );
        let v = json_of(case, "object", &[&format!("{config:#x}"), "--depth", "0"]);
        let list = v["referrers"]["list"].as_array().expect("referrers list");
        assert!(
            list.iter().any(|r| r["kind"] == "object"
                && r["address"].as_u64() == Some(server)
                && (r["via"].as_str() == Some(".cfg") || !has_dwarf(case))),
            "{}: the server's cfg field not among the config's referrers: {list:?}",
            case.name
        );
    }
}

/// `histogram --live --json`: every type of the truth's `type_counts` is one group
/// under its Go-syntax name with exactly the truth's live count and the truth's
/// value size (`unsafe.Sizeof`), its bytes whole slots of at least that size; the
/// groups add up to the live totals of `overview`. On every case, with and without
/// DWARF (every fixture type is typed exactly in every mode: crates/gocore/tests/
/// typing.rs).
#[test]
fn histogram_live_counts_match_the_truth() {
    let mut checked = 0;
    for case in testkit::cases() {
        let truth = case.truth();
        let hist = json_of(&case, "histogram", &["--live"]);
        assert_eq!(hist["live_only"], true, "{}", case.name);
        let groups = hist["groups"].as_array().expect("histogram groups");
        let (mut n, mut b) = (0, 0);
        for g in groups {
            n += g["count"].as_u64().unwrap();
            b += g["bytes"].as_u64().unwrap();
        }
        assert_eq!(n, hist["objects"].as_u64().unwrap(), "{}", case.name);
        assert_eq!(b, hist["bytes"].as_u64().unwrap(), "{}", case.name);
        let ov = json_of(&case, "overview", &[]);
        let live = &ov["go"]["reachability"];
        assert_eq!(
            Some(n),
            live["live_objects"].as_u64(),
            "{}: live objects of histogram --live vs overview",
            case.name
        );
        assert_eq!(
            Some(b),
            live["live_bytes"].as_u64(),
            "{}: live bytes of histogram --live vs overview",
            case.name
        );
        let all = json_of(&case, "histogram", &[]);
        assert!(
            all["objects"].as_u64().unwrap() >= n,
            "{}: more live objects than objects",
            case.name
        );
        let mut failures = Vec::new();
        for (name, want) in truth["type_counts"].as_object().unwrap() {
            let (count, size) = (want["count"].as_u64(), want["size"].as_u64());
            let g = groups.iter().find(|g| g["type"] == name.as_str());
            let got = g.map(|g| (g["count"].as_u64(), g["size"].as_u64()));
            if got != Some((count, size)) {
                failures.push(format!(
                    "{name}: (count, size) {got:?}, want {:?}",
                    (count, size)
                ));
                continue;
            }
            let bytes = g.and_then(|g| g["bytes"].as_u64()).unwrap_or(0);
            let (count, size) = (count.unwrap_or(0), size.unwrap_or(0));
            if bytes < count * size || (count > 0 && bytes % count != 0) {
                failures.push(format!("{name}: {bytes} B for {count} of {size} B"));
            }
        }
        assert!(
            failures.is_empty(),
            "{}: {}",
            case.name,
            failures.join("; ")
        );
        checked += 1;
    }
    assert!(checked > 0, "no corpus cases");
}
