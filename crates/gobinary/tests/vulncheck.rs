//! The vulncheck view on the committed fixtures (stripped binaries of tests/goprog).

mod common;

use gobinary::{vulncheck_name, GoBinary};

#[test]
fn fixtures_list_inlined_symbols_with_their_modules() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let view = bin
            .symbols_for_vulncheck()
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let find = |pkg: &str, sym: &str| {
            view.symbols
                .iter()
                .find(|s| s.package == pkg && s.symbol == sym)
                .unwrap_or_else(|| panic!("{}: no {pkg} {sym}", f.name))
        };
        // inl1 and inl2 exist only inlined into outer.
        let inl = find("main", "inl1");
        assert!(inl.inlined_only, "{}", f.name);
        assert_eq!(inl.module, "example.com/gobinarytest", "{}", f.name);
        assert!(find("main", "inl2").inlined_only, "{}", f.name);
        let outer = find("main", "outer");
        assert!(!outer.inlined_only, "{}", f.name);
        let callers = find("runtime", "Callers");
        assert_eq!(callers.module, "stdlib", "{}", f.name);
        assert_eq!(callers.version, view.go_version, "{}", f.name);
        // Every text symbol `go tool nm` lists is there, out of line.
        let mut checked = 0;
        for line in f.expected("nm").lines() {
            let Some((_, name)) = line.split_once(' ') else {
                continue;
            };
            // Section markers, not functions.
            if name == "runtime.text" || name.starts_with("runtime.etext") {
                continue;
            }
            // The symbol table marks assembly functions' ABI; the pclntab does not.
            let name = name.strip_suffix(".abi0").unwrap_or(name);
            let Some((pkg, sym)) = vulncheck_name(name) else {
                continue;
            };
            let s = find(&pkg, &sym);
            assert!(!s.inlined_only, "{}: {name}", f.name);
            checked += 1;
        }
        assert!(checked > 500, "{}: {checked}", f.name);
        // Sorted and unique.
        assert!(view.symbols.windows(2).all(|w| w[0] < w[1]), "{}", f.name);
        // Methods appear as Type.Method, without receiver punctuation or
        // instantiation arguments (closures of methods keep gosym's odd
        // `T).M.func1`, as govulncheck's do).
        for s in &view.symbols {
            assert!(
                !s.symbol.contains('[') && !s.symbol.starts_with(['(', '*']),
                "{}: {s:?}",
                f.name
            );
        }
        assert_eq!(
            find("runtime", "gcControllerState.findRunnableGCWorker").module,
            "stdlib"
        );
    }
}

/// A function of another module that exists only inlined (dep.Value, into main.inl2,
/// itself inlined into main.outer) is listed with its module, on builds by every
/// release.
#[test]
fn toolchain_builds_list_an_inlined_only_dependency() {
    for tc in common::toolchains() {
        let Some(path) = tc.build("linux", "amd64", "") else {
            continue;
        };
        let what = format!("go{}", tc.version);
        let file = gobinary::MappedFile::open(&path).unwrap();
        let bin = file.parse().unwrap();
        let view = bin.symbols_for_vulncheck().unwrap();
        let v = view
            .symbols
            .iter()
            .find(|s| s.package == "example.com/dep" && s.symbol == "Value")
            .unwrap_or_else(|| panic!("{what}: no dep.Value"));
        assert!(v.inlined_only, "{what}");
        assert_eq!(
            (v.module.as_str(), v.version.as_str()),
            ("example.com/dep", "v0.0.0"),
            "{what}"
        );
        assert!(
            bin.symbol("example.com/dep.Value").is_none(),
            "{what}: out-of-line copy"
        );
    }
}
