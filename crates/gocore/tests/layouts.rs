//! The generated layout tables against the DWARF of real binaries (the corpus), and
//! table selection for binaries without DWARF.
//!
//! Runs over `$GOCORE_CORPUS` (default `testdata/corpus`); with no corpus the corpus
//! tests pass vacuously and say so.

use std::collections::{BTreeMap, BTreeSet};

use gobinary::GoVersion;
use gocore::layout::{Item, LayoutError, Layouts, NewerRelease, Options, Source};

/// One executable per (program, version, mode, arch): producers share it.
fn exe_cases(modes: &[&str]) -> Vec<testkit::Case> {
    let mut seen = BTreeSet::new();
    testkit::cases()
        .into_iter()
        .filter(|c| {
            let m = c.mode();
            // `exp` stands for every GOEXPERIMENT mode (`exp-noswissmap`, …).
            modes.contains(&m.as_str()) || (modes.contains(&"exp") && m.starts_with("exp-"))
        })
        .filter(|c| seen.insert((c.program(), c.go_version(), c.mode(), c.arch())))
        .collect()
}

fn by_key(items: Vec<Item>) -> BTreeMap<String, Item> {
    items.into_iter().map(|i| (i.key(), i)).collect()
}

fn table_for(l: &Layouts) -> Layouts {
    let s = l.selection();
    let v = s
        .version
        .clone()
        .expect("corpus binaries have a Go version");
    Layouts::from_table(&v, &s.arch, &Options::default())
        .unwrap_or_else(|e| panic!("no table for {v} {}: {e}", s.arch))
}

/// (a) Every item of the table for the binary's release/arch/experiments equals what
/// its DWARF says; the DWARF has nothing catalogued the table lacks.
#[test]
fn tables_equal_dwarf_of_every_corpus_binary() {
    let cases = exe_cases(&["default", "pie", "cgo", "exp"]);
    if cases.is_empty() {
        eprintln!(
            "no corpus with DWARF at {}: nothing to check",
            testkit::corpus_dir().display()
        );
        return;
    }
    let mut failures = Vec::new();
    for case in &cases {
        let bytes = std::fs::read(case.exe_path()).expect("read exe");
        let dwarf =
            Layouts::from_dwarf(&bytes).unwrap_or_else(|e| panic!("{}: DWARF: {e}", case.name));
        let table = table_for(&dwarf);
        let d = by_key(dwarf.items());
        let t = by_key(table.items());
        let mut absent = Vec::new();
        for (k, ti) in &t {
            match d.get(k) {
                Some(di) if di == ti => {}
                Some(di) => {
                    failures.push(format!("{}: {k}: table {ti:?}, DWARF {di:?}", case.name))
                }
                None => absent.push(k.clone()),
            }
        }
        for k in d.keys().filter(|k| !t.contains_key(*k)) {
            failures.push(format!(
                "{}: {k} is in the DWARF but not in {}",
                case.name,
                table.selection().source
            ));
        }
        eprintln!(
            "{}: {} table items, {} equal in DWARF, {} not in this binary's DWARF{}",
            case.name,
            t.len(),
            t.len() - absent.len(),
            absent.len(),
            if absent.is_empty() {
                String::new()
            } else {
                format!(" ({})", absent.join(", "))
            }
        );
        // The fixture programs link less than the reference program, but the
        // runtime's core structures are always there.
        if absent.len() * 5 > t.len() {
            failures.push(format!(
                "{}: {} of {} table items missing from DWARF",
                case.name,
                absent.len(),
                t.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// (b) Binaries without DWARF get a table, which answers like the DWARF of the
/// default build of the same program, release and arch.
#[test]
fn binaries_without_dwarf_use_tables_that_match_dwarf() {
    let cases = exe_cases(&["nodwarf", "stripped"]);
    if cases.is_empty() {
        eprintln!(
            "no nodwarf/stripped corpus cases at {}",
            testkit::corpus_dir().display()
        );
        return;
    }
    let defaults = exe_cases(&["default"]);
    let mut compared = 0;
    for case in &cases {
        let bytes = std::fs::read(case.exe_path()).expect("read exe");
        let l = Layouts::for_binary(&bytes).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let s = l.selection();
        assert!(
            matches!(s.source, Source::Table { .. }),
            "{}: {s}",
            case.name
        );
        assert_eq!(s.arch, case.arch(), "{}", case.name);
        let v = s.version.as_ref().expect("version");
        assert_eq!(
            format!("go{}.{}.{}", v.major, v.minor, v.patch),
            case.go_version()
        );
        eprintln!("{}: {s}", case.name);
        let Some(def) = defaults.iter().find(|d| {
            d.program() == case.program()
                && d.go_version() == case.go_version()
                && d.arch() == case.arch()
        }) else {
            eprintln!("  (no default-mode case to compare with)");
            continue;
        };
        let dbytes = std::fs::read(def.exe_path()).expect("read exe");
        let dwarf = Layouts::from_dwarf(&dbytes).expect("DWARF of the default build");
        for item in dwarf.items() {
            match &item {
                Item::Size { ty, size } => {
                    assert_eq!(l.size(ty).as_ref(), Ok(size), "{}: {ty}", case.name)
                }
                Item::Field { ty, path, field } => {
                    assert_eq!(
                        l.field(ty, path).as_ref(),
                        Ok(field),
                        "{}: {ty}.{path}",
                        case.name
                    )
                }
                Item::Constant { name, value } => {
                    assert_eq!(
                        l.constant(name).as_ref(),
                        Ok(value),
                        "{}: {name}",
                        case.name
                    )
                }
            }
        }
        compared += 1;
    }
    eprintln!(
        "{compared} of {} binaries without DWARF compared with DWARF",
        cases.len()
    );
}

/// Binaries with DWARF are read from it, and forcing tables gives the same answers
/// for the core structures.
#[test]
fn for_binary_prefers_dwarf_and_tables_can_be_forced() {
    let Some(case) = exe_cases(&["default"]).into_iter().next() else {
        eprintln!("no corpus");
        return;
    };
    let bytes = std::fs::read(case.exe_path()).expect("read exe");
    let l = Layouts::for_binary(&bytes).expect("layouts");
    assert_eq!(l.selection().source, Source::Dwarf);
    let forced = Layouts::for_binary_with(
        &bytes,
        &Options {
            use_dwarf: false,
            ..Options::default()
        },
    )
    .expect("tables");
    assert!(matches!(forced.selection().source, Source::Table { .. }));
    for (ty, path) in [
        ("runtime.g", "sched.sp"),
        ("runtime.mspan", "freeindex"),
        ("runtime.g", "goid"),
    ] {
        assert_eq!(l.field(ty, path), forced.field(ty, path), "{ty}.{path}");
    }
}

/// (c) A release newer than the newest table is an error unless the caller opts
/// into the newest table, which is then reported as a warning.
#[test]
fn unknown_release_is_an_error_unless_newest_is_accepted() {
    let v = GoVersion::parse("go1.28.0").unwrap();
    let err = Layouts::from_table(&v, "amd64", &Options::default()).unwrap_err();
    assert!(matches!(err, LayoutError::NoTable { .. }), "{err}");
    assert!(err.to_string().contains("go1.28.0"), "{err}");
    let o = Options {
        newer_release: NewerRelease::UseNewest,
        ..Options::default()
    };
    let l = Layouts::from_table(&v, "amd64", &o).expect("newest table");
    assert!(
        l.selection().notes.iter().any(|n| n.contains("WARNING")),
        "{:?}",
        l.selection().notes
    );
    assert!(l.size("runtime.g").is_ok());

    let old = GoVersion::parse("go1.20.14").unwrap();
    assert!(matches!(
        Layouts::from_table(&old, "amd64", &o),
        Err(LayoutError::NoTable { .. })
    ));
    let v = GoVersion::parse("go1.24.1").unwrap();
    assert!(matches!(
        Layouts::from_table(&v, "riscv64", &Options::default()),
        Err(LayoutError::NoTable { .. })
    ));
}

#[test]
fn experiments_select_tables() {
    let opts = Options::default();
    let get = |s: &str| Layouts::from_table(&GoVersion::parse(s).unwrap(), "amd64", &opts).unwrap();
    // Swiss maps by default in 1.24, classic maps with noswissmap.
    assert!(get("go1.24.11").size("runtime.hmap").is_err());
    assert!(get("go1.24.11").size("internal/runtime/maps.Map").is_ok());
    assert!(get("go1.24.2 X:noswissmap").size("runtime.hmap").is_ok());
    // The 1.26+ `-X:` form.
    let l = get("go1.26.6-X:nogreenteagc");
    assert_eq!(l.selection().experiments, ["nogreenteagc"]);
    assert!(
        l.selection().source.to_string().contains("X:nogreenteagc"),
        "{}",
        l.selection()
    );
    // Allocation headers: 1.22 default has malloc headers, noallocheaders the bitmap.
    assert_eq!(
        get("go1.22.10")
            .constant("runtime.mallocHeaderSize")
            .unwrap(),
        8
    );
    assert!(get("go1.22.1 X:noallocheaders").has_field("runtime.heapArena", "bitmap"));
    assert!(!get("go1.22.1").has_field("runtime.heapArena", "bitmap"));
    // Experiments without tables are ignored with a note.
    let l = get("go1.23.4 X:loopvar");
    assert!(l.selection().notes.iter().any(|n| n.contains("loopvar")));
    // Combinations not generated are errors.
    let v = GoVersion::parse("go1.26.1 X:nogreenteagc,noswissmap").unwrap();
    assert!(
        Layouts::from_table(&v, "amd64", &opts).is_ok(),
        "noswissmap is unknown to 1.26: ignored"
    );
}

#[test]
fn every_table_has_the_core_items() {
    for t in gocore::layout::available_tables() {
        let v = GoVersion::parse(&format!(
            "go1.{}.0{}",
            t.minor,
            if t.experiments.is_empty() {
                String::new()
            } else {
                format!(" X:{}", t.experiments.join(","))
            }
        ))
        .unwrap();
        let l = Layouts::from_table(&v, &t.arch, &Options::default()).unwrap();
        assert_eq!(
            l.selection().source.to_string().split(" (").next().unwrap(),
            format!("table {}", t.name)
        );
        assert_eq!(l.size("internal/abi.Type").unwrap(), 48, "{}", t.name);
        assert_eq!(l.constant("runtime._Gscan").unwrap(), 0x1000, "{}", t.name);
        assert_eq!(
            l.constant("runtime.heapArenaBytes").unwrap(),
            64 << 20,
            "{}",
            t.name
        );
        assert_eq!(
            l.constant("internal/abi.PCDATA_StackMapIndex").unwrap(),
            1,
            "{}",
            t.name
        );
        for (ty, path) in [
            ("runtime.g", "sched.sp"),
            ("runtime.g", "goid"),
            ("runtime.g", "atomicstatus"),
            ("runtime.mspan", "freeindex"),
            ("runtime.mspan", "spanclass"),
            ("runtime.mheap", "arenas"),
            ("runtime.moduledata", "types"),
            ("runtime.hchan", "elemtype"),
        ] {
            assert!(l.field(ty, path).is_ok(), "{}: {ty}.{path}", t.name);
        }
        let base = if t.arch == "amd64" {
            0xffff800000000000u64
        } else {
            0
        };
        assert_eq!(
            l.constant_u64("runtime.arenaBaseOffsetUintptr").unwrap(),
            base,
            "{}",
            t.name
        );
    }
}

#[test]
fn errors_name_type_field_and_version() {
    let v = GoVersion::parse("go1.21.13").unwrap();
    let l = Layouts::from_table(&v, "amd64", &Options::default()).unwrap();
    let e = l.field("runtime.mspan", "largeType").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("runtime.mspan") && msg.contains("largeType") && msg.contains("go1.21.13"),
        "{msg}"
    );
    assert!(matches!(
        l.size("internal/abi.ITab"),
        Err(LayoutError::MissingType { .. })
    ));
    assert!(matches!(
        l.constant("runtime._KindSpecialCleanup"),
        Err(LayoutError::MissingConstant { .. })
    ));
    assert!(matches!(
        l.field("runtime.g", "nonexistent"),
        Err(LayoutError::NotInCatalog { .. })
    ));
    assert!(matches!(
        l.size("main.T"),
        Err(LayoutError::NotInCatalog { .. })
    ));
}

#[test]
fn garbage_input_is_an_error_not_a_panic() {
    assert!(Layouts::for_binary(&[]).is_err());
    assert!(Layouts::for_binary(&[0x7f, b'E', b'L', b'F', 2, 1, 1]).is_err());
    assert!(Layouts::from_dwarf(&[0u8; 4096]).is_err());
    // A real binary with its DWARF cut short.
    if let Some(case) = exe_cases(&["default"]).into_iter().next() {
        let bytes = std::fs::read(case.exe_path()).expect("read exe");
        for cut in [bytes.len() / 2, bytes.len() * 9 / 10, bytes.len() - 100] {
            let _ = Layouts::for_binary(&bytes[..cut]);
            let _ = Layouts::from_dwarf(&bytes[..cut]);
        }
        // Flipped bytes across the file.
        let mut b = bytes.clone();
        let step = (b.len() / 997).max(1);
        for i in (0..b.len()).step_by(step) {
            b[i] ^= 0x5a;
        }
        let _ = Layouts::for_binary(&b);
    }
}
