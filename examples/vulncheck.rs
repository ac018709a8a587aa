//! What `govulncheck -mode=binary` reads from a Go executable, with the `gobinary`
//! API only: the Go version, the modules it was built from, and every
//! `{package, symbol}` present — functions inlined into others included, since a
//! vulnerable function that the compiler inlined is still in the binary. Works on
//! stripped binaries (no symbol table or DWARF needed).
//!
//! ```sh
//! cargo run --example vulncheck -- /path/to/go-binary
//! ```
//!
//! Output: a `go` line, one `module` line per module (`main`, dependencies with
//! their `=> replacement`), a count, then one line per symbol:
//! `MODULE VERSION PACKAGE SYMBOL`, tab-separated, with a fifth column `inlined`
//! when the symbol exists only inlined into other functions. Symbols of the standard library belong to module
//! `stdlib` at the Go version, as in govulncheck.

use std::fmt::Write as _;

use gobinary::{GoBinary, MappedFile, Module};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: vulncheck GO-BINARY")?;
    let file = MappedFile::open(&path)?;
    let bin = file.parse()?;
    // write_all, not print!: a closed pipe (`| head`) is an error, not a panic.
    std::io::Write::write_all(&mut std::io::stdout().lock(), report(&bin)?.as_bytes())?;
    Ok(())
}

fn module_line(out: &mut String, role: &str, m: &Module) {
    let _ = write!(out, "module {role} {} {}", m.path, m.version);
    if let Some(r) = &m.replace {
        let _ = write!(out, " => {}", r.path);
        if !r.version.is_empty() {
            let _ = write!(out, " {}", r.version);
        }
    }
    out.push('\n');
}

/// The report for one binary (see the module docs for its lines).
fn report(bin: &GoBinary<'_>) -> Result<String, gobinary::Error> {
    let view = bin.symbols_for_vulncheck()?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "go {} ({}/{})",
        view.go_version,
        bin.os().goos(),
        bin.arch().goarch()
    );
    if let Some(m) = &view.main {
        module_line(&mut out, "main", m);
    }
    for m in &view.deps {
        module_line(&mut out, "dep", m);
    }
    let packages: std::collections::BTreeSet<&str> =
        view.symbols.iter().map(|s| s.package.as_str()).collect();
    let inlined = view.symbols.iter().filter(|s| s.inlined_only).count();
    let _ = writeln!(
        out,
        "symbols {} in {} packages, {inlined} present only inlined",
        view.symbols.len(),
        packages.len()
    );
    for s in &view.symbols {
        let or = |v: &str| if v.is_empty() { "?" } else { v }.to_string();
        let _ = write!(
            out,
            "{}\t{}\t{}\t{}",
            or(&s.module),
            or(&s.version),
            s.package,
            s.symbol
        );
        out.push_str(if s.inlined_only { "\tinlined\n" } else { "\n" });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// Every function the runtime's own crash traceback names (inlined frames,
    /// which the runtime prints too, and the `created by` functions), as
    /// `(package, symbol)`.
    fn traceback_functions(case: &testkit::Case) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for g in case.traceback() {
            for name in g.frames.iter().chain(&g.created_by) {
                if let Some(k) = gobinary::vulncheck_name(name) {
                    out.insert(k);
                }
            }
        }
        out
    }

    /// The `module` line of a fixture program's go.mod.
    fn module_path(program: &str) -> String {
        let gomod = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/programs")
            .join(program)
            .join("go.mod");
        std::fs::read_to_string(&gomod)
            .unwrap_or_else(|e| panic!("{}: {e}", gomod.display()))
            .lines()
            .find_map(|l| l.strip_prefix("module "))
            .expect("module line")
            .trim()
            .to_string()
    }

    /// Runs the report on the executables of the corpus's crash cores and checks
    /// it against what Go recorded: the version the program reported
    /// (`runtime.Version()` in truth.json), the module its go.mod declares, and
    /// every function named in the runtime's crash traceback (inlined frames
    /// included), each under its module.
    #[test]
    fn reports_a_corpus_binary() {
        let cases = testkit::cases_where(|c| c.producer() == "crash");
        assert!(!cases.is_empty(), "no crash cases in the corpus");
        for case in cases {
            let what = case.name.clone();
            let file = gobinary::MappedFile::open(case.exe_path()).unwrap();
            let bin = file.parse().unwrap();
            let text = super::report(&bin).unwrap();
            let mut lines = text.lines();

            // The Go version: the one the running program reported.
            let go = lines.next().unwrap();
            let reported = case.truth()["go_version"].as_str().unwrap().to_string();
            let ours = go.strip_prefix("go ").unwrap().split(" (").next().unwrap();
            let (a, b) = (
                gobinary::GoVersion::parse(ours).unwrap(),
                gobinary::GoVersion::parse(&reported).unwrap(),
            );
            assert_eq!(
                (a.major, a.minor, a.patch, &a.experiments),
                (b.major, b.minor, b.patch, &b.experiments),
                "{what}: {go} vs runtime.Version() {reported}"
            );
            assert!(
                go.ends_with(&format!("({}/{})", "linux", case.arch())),
                "{what}: {go}"
            );

            // The main module: the one the program's go.mod declares (the
            // fixtures use the standard library only).
            let module = module_path(&case.program());
            let main = lines.next().unwrap();
            assert!(
                main.starts_with(&format!("module main {module} ")),
                "{what}: {main}"
            );
            let count = lines.next().unwrap();
            assert!(count.starts_with("symbols "), "{what}: {count}");

            // The symbols, sorted and unique, each under its module.
            let mut symbols: BTreeMap<(String, String), (String, bool)> = BTreeMap::new();
            let mut prev = String::new();
            for l in lines {
                let f: Vec<&str> = l.split('\t').collect();
                assert!(
                    f.len() == 4 || (f.len() == 5 && f[4] == "inlined"),
                    "{what}: {l}"
                );
                assert!(*l > *prev.as_str(), "{what}: {l} after {prev}");
                prev = l.to_string();
                let (module, package) = (f[0], f[2]);
                if package == "main" || package.starts_with(&format!("{module}/")) {
                    assert_eq!(module, module_path(&case.program()), "{what}: {l}");
                } else if !package.split('/').next().unwrap().contains('.') {
                    assert_eq!(module, "stdlib", "{what}: {l}");
                    assert_eq!(f[1], a.raw, "{what}: {l}");
                }
                symbols.insert((package.into(), f[3].into()), (module.into(), f.len() == 5));
            }
            assert!(symbols.len() > 1000, "{what}: {} symbols", symbols.len());
            assert!(
                symbols.values().any(|(_, inlined)| *inlined),
                "{what}: no symbol present only inlined"
            );

            // Every function of the runtime's own traceback is there.
            let want = traceback_functions(&case);
            assert!(
                want.len() > 20,
                "{what}: {} traceback functions",
                want.len()
            );
            let missing: Vec<_> = want.iter().filter(|k| !symbols.contains_key(*k)).collect();
            assert!(
                missing.is_empty(),
                "{what}: in the traceback, not in the report: {missing:?}"
            );
            assert!(
                want.iter().any(|(p, _)| p == "main"),
                "{what}: no main function in the traceback"
            );
            println!(
                "{what}: {} symbols, all {} traceback functions present",
                symbols.len(),
                want.len()
            );
        }
    }
}
