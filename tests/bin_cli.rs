//! `gocore bin …` on committed fixtures: the stripped test binaries of
//! crates/gobinary (tests/goprog built by Go 1.27 for linux/amd64 and by 1.22 for
//! linux/386), compared with what `go tool nm`, `go tool addr2line` and
//! `go version -m` said about them when they were made.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/gobinary/tests/data")
}

/// The fixture binary, unpacked once into target/tmp.
fn fixture(name: &str) -> PathBuf {
    let dst = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bin-cli")
        .join(name);
    testkit::unpack(&data().join(format!("{name}.zst")), &dst).expect("unpack fixture")
}

fn expected(name: &str, ext: &str) -> String {
    std::fs::read_to_string(data().join(format!("{name}.{ext}"))).expect("expected output")
}

fn gocore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gocore"))
        .args(args)
        .output()
        .expect("run gocore")
}

fn stdout_ok(args: &[&str]) -> String {
    let out = gocore(args);
    assert!(
        out.status.success(),
        "gocore {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&stdout_ok(args)).expect("JSON")
}

const FIXTURES: [&str; 2] = ["go1.27-linux-amd64", "go1.22-linux-386"];

#[test]
fn bin_funcs_lists_what_nm_lists() {
    for name in FIXTURES {
        let bin = fixture(name);
        let p = bin.to_str().unwrap();
        let j = json(&["bin", "funcs", p, "--json"]);
        let funcs = j.as_array().unwrap();
        let got: BTreeSet<(u64, String)> = funcs
            .iter()
            .map(|f| {
                let (entry, end) = (f["entry"].as_u64().unwrap(), f["end"].as_u64().unwrap());
                assert!(end > entry, "{name}: {f}");
                (entry, f["name"].as_str().unwrap().to_string())
            })
            .collect();
        let mut checked = 0;
        for line in expected(name, "nm").lines() {
            let (addr, sym) = line.split_once(' ').unwrap();
            let sym = sym.strip_suffix(".abi0").unwrap_or(sym);
            if sym == "runtime.text" || sym.starts_with("runtime.etext") {
                continue;
            }
            let addr = u64::from_str_radix(addr, 16).unwrap();
            assert!(
                got.contains(&(addr, sym.to_string())),
                "{name}: {addr:#x} {sym}"
            );
            checked += 1;
        }
        assert!(checked > 1000, "{name}: {checked}");
        // Text has one line per function, starting with the entry.
        let text = stdout_ok(&["bin", "funcs", p]);
        assert_eq!(text.lines().count(), funcs.len(), "{name}");
        let first = &funcs[0];
        let line = text.lines().next().unwrap();
        assert!(
            line.starts_with(&format!(
                "{:#x} {:#x} ",
                first["entry"].as_u64().unwrap(),
                first["end"].as_u64().unwrap()
            )),
            "{line}"
        );
        let outer = funcs.iter().find(|f| f["name"] == "main.outer").unwrap();
        assert_eq!(outer["package"], "main");
        assert!(outer["file"].as_str().unwrap().ends_with("main.go"));
        assert!(outer["start_line"].as_u64().unwrap() > 0);
    }
}

#[test]
fn bin_funcs_inlined_shows_inline_trees() {
    let bin = fixture("go1.27-linux-amd64");
    let out = stdout_ok(&["bin", "funcs", bin.to_str().unwrap(), "--inlined"]);
    let mut lines = out.lines().skip_while(|l| !l.contains(" main.outer "));
    assert!(lines.next().is_some(), "no main.outer");
    let inlined: Vec<&str> = lines
        .take_while(|l| l.starts_with("    inlined "))
        .collect();
    for f in ["inl1", "inl2"] {
        let l = inlined
            .iter()
            .find(|l| l.contains(&format!(" main.{f} main ")))
            .unwrap();
        assert!(l.contains("/main.go:"), "{inlined:?}");
    }
}

#[test]
fn bin_lines_match_addr2line() {
    for name in FIXTURES {
        let bin = fixture(name);
        let want: Vec<(String, String, String)> = expected(name, "addr2line")
            .lines()
            .take(200)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].to_string(), f[1].to_string(), f[2].to_string())
            })
            .collect();
        let mut args = vec!["bin", "lines", bin.to_str().unwrap(), "--json"];
        args.extend(want.iter().map(|w| w.0.as_str()));
        let j = json(&args);
        let got = j.as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        for ((pc, func, pos), g) in want.iter().zip(got) {
            let frames = g["frames"].as_array().unwrap();
            if func == "?" {
                assert!(frames.is_empty(), "{name} {pc}");
                continue;
            }
            if pos.starts_with('?') || pos == ":-1" {
                continue; // no line table (go:buildid and the like)
            }
            // addr2line names the physical function and the innermost position.
            let outer = frames.last().unwrap();
            assert_eq!(
                outer["function"].as_str(),
                Some(func.as_str()),
                "{name} {pc}"
            );
            assert_eq!(outer["inlined"], false);
            let inner = &frames[0];
            let at = format!("{}:{}", inner["file"].as_str().unwrap(), inner["line"]);
            assert!(at.ends_with(pos.as_str()), "{name} {pc}: {at} vs {pos}");
        }
    }
}

#[test]
fn bin_lines_shows_inlined_frames_first() {
    let bin = fixture("go1.27-linux-amd64");
    let p = bin.to_str().unwrap();
    let funcs = json(&["bin", "funcs", p, "--json", "--inlined"]);
    let outer = funcs
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "main.outer")
        .unwrap();
    // The call site of an inlined call of inl2 is a PC where inl1 is inlined.
    let inl2 = outer["inlined"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "main.inl2")
        .unwrap();
    let pc = format!("{:#x}", inl2["call_pc"].as_u64().unwrap());
    let text = stdout_ok(&["bin", "lines", p, &pc]);
    let names: Vec<&str> = text.lines().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(names, ["main.inl1", "main.outer"], "{text}");
    assert!(
        text.lines().next().unwrap().ends_with("(inlined)"),
        "{text}"
    );
}

#[test]
fn bin_types_lists_descriptors_with_fields() {
    for name in FIXTURES {
        let bin = fixture(name);
        let p = bin.to_str().unwrap();
        let ptr: u64 = if name.contains("386") { 4 } else { 8 };
        let j = json(&["bin", "types", p, "--fields", "--json"]);
        let types = j.as_array().unwrap();
        assert!(types.len() > 300, "{name}: {}", types.len());
        let frame = types
            .iter()
            .find(|t| t["name"] == "runtime.Frame")
            .unwrap_or_else(|| panic!("{name}: no runtime.Frame"));
        assert_eq!(frame["kind"], "struct");
        let fields = frame["fields"].as_array().unwrap();
        assert_eq!(fields[0]["name"], "PC");
        assert_eq!(fields[0]["type"], "uintptr");
        assert_eq!(fields[1]["name"], "Func");
        assert_eq!(fields[1]["offset"], ptr);
        assert_eq!(fields[1]["type"], "*runtime.Func");
        assert_eq!(frame["size"].as_u64().unwrap() % ptr, 0);
        let string = types.iter().find(|t| t["name"] == "string").unwrap();
        assert_eq!(
            (string["size"].as_u64(), string["ptrdata"].as_u64()),
            (Some(2 * ptr), Some(ptr))
        );
        // Text form: one line per type, fields indented.
        let text = stdout_ok(&["bin", "types", p, "--fields"]);
        assert_eq!(
            text.lines().filter(|l| l.starts_with("0x")).count(),
            types.len()
        );
        assert!(
            text.contains(&format!("struct size {} ", frame["size"])),
            "{name}"
        );
        assert!(
            text.contains(&format!("    +{ptr} Func *runtime.Func")),
            "{name}"
        );
    }
}

#[test]
fn bin_symbols_groups_by_module_and_package() {
    let bin = fixture("go1.27-linux-amd64");
    let p = bin.to_str().unwrap();
    let j = json(&["bin", "symbols", p, "--json"]);
    let modules = j["modules"].as_array().unwrap();
    let module = |m: &str| modules.iter().find(|x| x["module"] == m).unwrap();
    let symbols = |m: &Value, pkg: &str| -> Vec<(String, bool)> {
        m["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["package"] == pkg)
            .unwrap()["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["inlined_only"] == true,
                )
            })
            .collect()
    };
    let main = symbols(module("example.com/gobinarytest"), "main");
    assert!(main.contains(&("inl1".into(), true)), "{main:?}");
    assert!(main.contains(&("outer".into(), false)), "{main:?}");
    let std = module("stdlib");
    assert_eq!(std["version"], j["go_version"]);
    assert!(symbols(std, "runtime").contains(&("main".into(), false)));
    let text = stdout_ok(&["bin", "symbols", p]);
    assert!(
        text.contains("example.com/gobinarytest (devel)\n    main\n"),
        "{text}"
    );
    assert!(text.contains("        inl1 (inlined only)\n"));
}

#[test]
fn bin_info_matches_go_version_m() {
    let name = "go1.27-linux-amd64";
    let bin = fixture(name);
    let got = stdout_ok(&["bin", "info", bin.to_str().unwrap()]);
    let want = expected(name, "version-m");
    // The first line names the file as given.
    assert_eq!(
        got.lines().skip(1).collect::<Vec<_>>(),
        want.lines().skip(1).collect::<Vec<_>>()
    );
}

#[test]
fn bin_errors_are_reported() {
    let out = gocore(&["bin", "funcs", "/nonexistent/binary"]);
    assert_eq!(out.status.code(), Some(3), "unreadable input");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/binary"));
    let bin = fixture("go1.27-linux-amd64");
    let out = gocore(&["bin", "lines", bin.to_str().unwrap(), "xyz"]);
    assert_eq!(out.status.code(), Some(2), "a bad PC is a usage error");
    // Not a Go binary: this test's own executable.
    let me = std::env::current_exe().unwrap();
    let out = gocore(&["bin", "types", me.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "not a Go binary: invalid input");
}
