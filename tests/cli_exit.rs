//! Exit codes and error messages of the CLI (see `gocore --help`, README):
//! 0 success, 1 nothing found, 2 usage, 3 unreadable or unanalysable input,
//! 4 partial result under `--strict`.

use std::path::Path;
use std::process::{Command, Output};

fn gocore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gocore"))
        .args(args)
        .output()
        .expect("running gocore")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn case(name: &str) -> testkit::Case {
    testkit::committed_cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no committed case {name}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &["goroutines"],
        &["read", "core", "not-hex"],
    ] {
        let o = gocore(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    let o = gocore(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("--strict"),
        "{help}"
    );
}

#[test]
fn unreadable_input_exits_3_naming_the_file() {
    let o = gocore(&["goroutines", "/nonexistent/core"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("/nonexistent/core"), "{}", stderr(&o));

    // Not a core: a text file.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("notes.txt");
    std::fs::write(&junk, "not a core\n".repeat(100)).unwrap();
    let o = gocore(&["overview", s(&junk)]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains(s(&junk)), "{}", stderr(&o));

    // Not a Go binary.
    let o = gocore(&["bin", "info", s(&junk)]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains(s(&junk)), "{}", stderr(&o));
}

#[test]
fn wrong_or_missing_executable_exits_3() {
    let c = case("zoo-go1.27.3-default-crash-amd64");
    let other = case("zoo-go1.21.13-default-crash-amd64");
    let core = c.core_path();
    let wrong = other.exe_path();

    // Another release's build: refused, naming it and saying why.
    let o = gocore(&["goroutines", s(&core), "--exe", s(&wrong)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(s(&wrong)) && e.contains("does not match"), "{e}");

    // No executable next to the core, none given.
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("core");
    std::fs::copy(&core, &alone).unwrap();
    let o = gocore(&["goroutines", s(&alone)]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(e.contains("executable") && e.contains(s(&alone)), "{e}");
}

#[test]
fn errors_name_the_address_and_go_version() {
    let c = case("zoo-go1.27.3-default-crash-amd64");
    let o = gocore(&["read", s(&c.core_path()), "0x10", "16"]);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert!(e.contains("0x10"), "{e}");
    assert!(e.contains(&c.go_version()), "{e}");
    assert!(e.contains(s(&c.core_path())), "{e}");
}

#[test]
fn nothing_found_exits_1() {
    let c = case("zoo-go1.27.3-default-crash-amd64");
    let o = gocore(&["object", s(&c.core_path()), "0x10"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn partial_results_exit_4_only_under_strict() {
    let c = case("zoo-go1.27.3-default-crash-amd64");
    let core = c.core_path();
    // Undamaged: no warnings, 0 either way.
    for strict in [false, true] {
        let mut args = vec!["objects", s(&core)];
        if strict {
            args.push("--strict");
        }
        let o = gocore(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    }
    // Truncated in its memory (the last mappings lost): objects are still listed,
    // with warnings.
    let bytes = std::fs::read(&core).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("core");
    let exe = c.exe_path();
    let partial = [1u64, 2, 4, 8, 16, 32].into_iter().find_map(|k| {
        let n = bytes.len() - (bytes.len() as u64 * k / 100) as usize;
        std::fs::write(&cut, &bytes[..n]).unwrap();
        let o = gocore(&["objects", s(&cut), "--exe", s(&exe)]);
        (o.status.code() == Some(0)).then_some((n, o))
    });
    let (n, o) = partial.expect("no cut of the core gives a partial result");
    assert!(
        stderr(&o).contains("gocore: warning: core file is truncated"),
        "cut at {n}: {}",
        stderr(&o)
    );
    assert!(!o.stdout.is_empty());
    let o = gocore(&["--strict", "objects", s(&cut), "--exe", s(&exe)]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("partial result"), "{}", stderr(&o));
    // --strict is accepted after the command too.
    let o = gocore(&["goroutines", s(&cut), "--exe", s(&exe), "--strict"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
}
