//! Part 3: the pclntab, checked against `go tool nm`, `go tool addr2line` and
//! `runtime.CallersFrames`.

mod common;

use gobinary::{GoBinary, MappedFile, Pclntab};
use std::collections::{BTreeMap, BTreeSet};

/// nm symbols (T/t) that are not functions in the pclntab.
fn allowed_extra(name: &str) -> bool {
    matches!(
        name,
        "runtime.text" | "runtime.etext" | "go:buildid" | "go.buildid" | "runtime.etext.*"
    ) || name.starts_with("runtime.text.")
        || name.starts_with("go:textsectionmap")
}

/// The linker writes `[...]` for bracketed parts of names (generic instances,
/// array lengths) in the pclntab; nm shows them in full.
/// Old-style names use `·` where nm prints `.`.
fn elide_brackets(name: &str) -> String {
    let name = name.replace('·', ".");
    let mut out = String::new();
    let mut depth = 0;
    for c in name.chars() {
        match c {
            '[' => {
                if depth == 0 {
                    out.push_str("[...]");
                }
                depth += 1;
            }
            ']' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Compares every pclntab function with nm's text symbols (address -> name).
fn check_funcs(tab: &Pclntab<'_>, nm: &str, what: &str) {
    let mut want: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for line in nm.lines() {
        let Some((addr, name)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let addr = u64::from_str_radix(addr, 16).unwrap();
        // nm marks assembly (ABI0) symbols with a suffix the pclntab does not have.
        let name = name.strip_suffix(".abi0").unwrap_or(name);
        // Mach-O symbol tables give names without a package (go:buildid, cmpbody)
        // a C-style underscore.
        let set = want.entry(addr).or_default();
        if let Some(n) = name.strip_prefix('_') {
            set.insert(n.to_string());
        }
        set.insert(name.to_string());
    }
    let mut seen = BTreeSet::new();
    let mut prev_end = 0;
    for f in tab.funcs() {
        let f = f.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            f.entry < f.end && f.entry >= prev_end,
            "{what}: {} range",
            f.name
        );
        prev_end = f.end;
        let names = want
            .get(&f.entry)
            .unwrap_or_else(|| panic!("{what}: nm has nothing at {:#x} ({})", f.entry, f.name));
        assert!(
            names.contains(f.name)
                || names
                    .iter()
                    .any(|n| elide_brackets(n) == elide_brackets(f.name)),
            "{what}: {:#x} is {} in pclntab, {names:?} in nm",
            f.entry,
            f.name
        );
        seen.insert(f.name.to_string());
        seen.insert(elide_brackets(f.name));
        // Frame size at entry is zero (or there is no pcsp table, as for go:buildid).
        let sp = tab.sp_delta(&f, f.entry).unwrap();
        assert!(matches!(sp, None | Some(0)), "{what}: {} sp {sp:?}", f.name);
    }
    let (lo, hi) = (tab.func(0).unwrap().entry, prev_end);
    let extra: Vec<_> = want
        .range(lo..hi)
        .flat_map(|(_, n)| n.iter())
        .filter(|n| {
            let m = n.strip_prefix('_').unwrap_or(n);
            !seen.contains(*n)
                && !seen.contains(m)
                && !seen.contains(&format!("_{n}"))
                && !seen.contains(&elide_brackets(n))
                && !allowed_extra(n)
        })
        .collect();
    assert!(
        extra.is_empty(),
        "{what}: nm text symbols missing: {extra:?}"
    );
    assert!(seen.len() > 1000, "{what}: only {} functions", seen.len());
}

/// Compares func name and file:line at sampled PCs with addr2line output
/// (`pc<TAB>func<TAB>file:line`).
fn check_lines(tab: &Pclntab<'_>, addr2line: &str, what: &str) {
    let mut n = 0;
    for line in addr2line.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [pc, func, pos] = cols.as_slice() else {
            panic!("{what}: bad addr2line line {line:?}")
        };
        let pc = u64::from_str_radix(pc, 16).unwrap();
        if *func == "?" {
            assert!(tab.func_for_pc(pc).unwrap().is_none(), "{what}: {pc:#x}");
            continue;
        }
        let f = tab.func_for_pc(pc).unwrap().expect("function");
        assert_eq!(f.name, *func, "{what}: {pc:#x}");
        if f.pcln == 0 || f.pcfile == 0 {
            // No table (go:buildid, go:textfipsstart): the runtime reports nothing,
            // while debug/gosym decodes whatever starts the pc-value area.
            assert_eq!(tab.file_line(pc).unwrap(), None);
            continue;
        }
        let got = tab.file_line(pc).unwrap().map(|p| p.to_string());
        // addr2line prints ":-1" where a function has no line table.
        let want = (*pos != ":-1").then_some(*pos);
        assert_eq!(got.as_deref(), want, "{what}: {pc:#x} in {func}");
        n += 1;
    }
    assert!(n > 100, "{what}: only {n} PCs compared");
}

#[test]
fn fixtures_match_nm_and_addr2line() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let tab = bin.pclntab().unwrap();
        check_funcs(&tab, &f.expected("nm"), &f.name);
        check_lines(&tab, &f.expected("addr2line"), &f.name);
    }
}

/// nm output (`go tool nm -n`) reduced to text symbols: "addr name" lines.
fn nm_text(tc: &common::Toolchain, path: &str) -> Option<String> {
    let out = tc.run(&["tool", "nm", "-n", path], None)?;
    let mut s = String::new();
    for line in out.lines() {
        let t = line.trim_start();
        let Some((addr, rest)) = t.split_once(' ') else {
            continue;
        };
        if let Some(name) = rest.strip_prefix("T ").or_else(|| rest.strip_prefix("t ")) {
            s.push_str(addr);
            s.push(' ');
            s.push_str(name);
            s.push('\n');
        }
    }
    Some(s)
}

/// Runs addr2line on every function's entry and on sampled PCs inside functions
/// (the midpoint of every `step`-th function).
fn addr2line(tc: &common::Toolchain, path: &str, tab: &Pclntab<'_>, step: usize) -> String {
    let mut pcs = Vec::new();
    let q = u64::from(tab.quantum());
    for i in 0..tab.func_count() {
        let f = tab.func(i).unwrap();
        pcs.push(f.entry);
        if i % step == 0 {
            pcs.push(f.entry + (f.end - f.entry) / (2 * q) * q);
        }
    }
    let input: String = pcs.iter().map(|pc| format!("{pc:x}\n")).collect();
    let out = tc
        .run(&["tool", "addr2line", path], Some(&input))
        .expect("addr2line");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2 * pcs.len());
    pcs.iter()
        .zip(lines.chunks(2))
        .map(|(pc, l)| format!("{pc:x}\t{}\t{}\n", l[0], l[1]))
        .collect()
}

#[test]
fn toolchain_builds_match_nm_and_addr2line() {
    let targets = [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("linux", "386"),
        ("linux", "arm"),
        ("windows", "amd64"),
        ("darwin", "arm64"),
    ];
    // Debian's go1.19 too (when installed): 1.18's pclntab format.
    for tc in common::toolchains_with_debian() {
        for (goos, goarch) in targets {
            let Some(path) = tc.build(goos, goarch, "") else {
                continue;
            };
            let p = path.to_str().unwrap();
            let what = format!("go{} {goos}/{goarch}", tc.version);
            let file = MappedFile::open(&path).unwrap();
            let bin = file.parse().unwrap();
            let tab = bin.pclntab().unwrap();
            let nm = nm_text(&tc, p).unwrap();
            check_funcs(&tab, &nm, &what);
            let lines = addr2line(&tc, p, &tab, 5);
            assert!(
                lines.lines().count() > tab.func_count(),
                "{what}: every entry and sampled PCs"
            );
            check_lines(&tab, &lines, &what);
            // The stripped build (no symbols for nm) lays out text identically:
            // its table must give what nm and addr2line said of the full build.
            if (goos, goarch) == ("linux", "amd64") {
                let Some(stripped) = tc.build(goos, goarch, "-s -w") else {
                    continue;
                };
                let what = format!("{what} -s -w");
                let file = MappedFile::open(&stripped).unwrap();
                let bin = file.parse().unwrap();
                assert!(!bin.has_symbols(), "{what}: has symbols");
                let tab = bin.pclntab().unwrap();
                check_funcs(&tab, &nm, &what);
                check_lines(&tab, &lines, &what);
            }
        }
    }
}

/// The toolchain's own `compile` (large, shipped without DWARF).
#[test]
fn toolchain_compile_matches_nm_and_addr2line() {
    for tc in common::toolchains() {
        let Some(goroot) = tc.run(&["env", "GOROOT"], None) else {
            continue;
        };
        let path = std::path::Path::new(goroot.trim()).join("pkg/tool/linux_amd64/compile");
        if !path.exists() {
            eprintln!("skip: no {}", path.display());
            continue;
        }
        let p = path.to_str().unwrap();
        let what = format!("go{} compile", tc.version);
        let file = MappedFile::open(&path).unwrap();
        let bin = file.parse().unwrap();
        let tab = bin.pclntab().unwrap();
        match nm_text(&tc, p) {
            Some(nm) if !nm.is_empty() => check_funcs(&tab, &nm, &what),
            _ => eprintln!("{what}: no symbols for nm"),
        }
        check_lines(&tab, &addr2line(&tc, p, &tab, 37), &what);
    }
}

/// Runs a linux build of tests/goprog and compares our inlined frames with what
/// `runtime.CallersFrames` printed (false when this machine cannot run it).
fn check_inline(path: &std::path::Path, goarch: &str, what: &str) -> bool {
    let Some(out) = common::run_linux(path, goarch, &[]) else {
        return false;
    };
    let text = String::from_utf8(out.stdout).unwrap();
    let pcs: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("pc 0x"))
        .map(|h| u64::from_str_radix(h, 16).unwrap())
        .collect();
    let want: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("frame "))
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect();
    let file = MappedFile::open(path).unwrap();
    let bin = file.parse().unwrap();
    let tab = bin.pclntab().unwrap();
    // runtime.Callers lists one PC per logical frame (pc+1 of each inline-unwound
    // frame); the first PC of a physical function's run is its real return address.
    let mut got = Vec::new();
    let mut i = 0;
    while i < pcs.len() {
        let entry = tab.func_for_pc(pcs[i] - 1).unwrap().unwrap().entry;
        let mut j = i;
        while j + 1 < pcs.len() && tab.func_for_pc(pcs[j + 1] - 1).unwrap().unwrap().entry == entry
        {
            j += 1;
        }
        for fr in tab.frames(pcs[i] - 1).unwrap() {
            got.push(format!("{} {}:{}", fr.function, fr.file, fr.line));
        }
        i = j + 1;
    }
    assert_eq!(got, want, "{what}");
    assert!(
        want.iter().any(|w| w.starts_with("main.inl1 ")),
        "{what}: expected inlined frames in {want:?}"
    );
    true
}

#[test]
fn inlined_frames_match_callers_frames() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skip: needs linux/amd64 to run the test program");
        return;
    }
    // Every release, on each architecture this machine runs (arm64 and arm under
    // qemu-user).
    let mut checked = 0;
    for tc in common::toolchains() {
        for goarch in ["amd64", "386", "arm64", "arm"] {
            if let Some(path) = tc.build("linux", goarch, "") {
                let what = format!("go{} linux/{goarch}", tc.version);
                checked += usize::from(check_inline(&path, goarch, &what));
            }
        }
    }
    println!("{checked} toolchain builds compared with runtime.CallersFrames");
    // The committed stripped fixtures (found by section, moduledata by scan).
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gobinary-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    for f in common::fixtures() {
        if !f.name.contains("linux-amd64") {
            continue;
        }
        let path = dir.join(&f.name);
        let tmp = dir.join(format!("{}.{}", f.name, std::process::id()));
        std::fs::write(&tmp, &f.binary).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert!(check_inline(&path, "amd64", &f.name), "{}", f.name);
    }
}

#[test]
fn found_by_scanning_without_the_section() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let Some(sec) = bin
            .section(".gopclntab")
            .or_else(|| bin.section("__gopclntab"))
        else {
            continue; // PE: already found by scanning
        };
        let want: Vec<_> = bin
            .pclntab()
            .unwrap()
            .funcs()
            .map(|f| f.unwrap().entry)
            .collect();
        let name = sec.name.to_string();
        let mut bytes = f.binary.clone();
        let pos = bytes
            .windows(name.len() + 1)
            .position(|w| &w[..name.len()] == name.as_bytes() && w[name.len()] == 0)
            .unwrap();
        bytes[pos + 2] = b'X';
        let bin = GoBinary::parse(&bytes).unwrap();
        assert!(bin.section(&name).is_none());
        let tab = bin.pclntab().unwrap();
        let got: Vec<_> = tab.funcs().map(|f| f.unwrap().entry).collect();
        assert_eq!(got, want, "{}", f.name);
    }
}

#[test]
fn corrupted_tables_do_not_panic() {
    for f in common::fixtures() {
        let bin = GoBinary::parse(&f.binary).unwrap();
        let tab = bin.pclntab().unwrap();
        let (start, len) = {
            let s = bin.section_at(tab.address()).unwrap();
            (
                (s.file_offset.unwrap() + (tab.address() - s.address)) as usize,
                tab.data().len(),
            )
        };
        let mut bytes = f.binary.clone();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = start + 8 + (seed as usize % (len - 8));
            bytes[i] = (seed >> 32) as u8;
        }
        let bin = GoBinary::parse(&bytes).unwrap();
        if let Ok(tab) = bin.pclntab() {
            for func in tab.funcs().take(5000).flatten() {
                let _ = tab.frames(func.entry);
                let _ = tab.file_line(func.end.saturating_sub(1));
                let _ = tab.sp_delta(&func, func.entry + 1);
                for i in 0..func.nfuncdata {
                    let _ = tab.funcdata_address(&func, i);
                }
            }
        }
    }
}
