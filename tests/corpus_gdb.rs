//! Every memory mapping of every corpus core against gdb's own reading of the same
//! core, made now: `maintenance info sections` lists each `PT_LOAD` segment of a
//! core as `loadN` (split into `loadNa` and `loadNb` when only a prefix of it is
//! stored), with its range, where it lies in the core file (`LOAD HAS_CONTENTS`)
//! and its permissions (`READONLY` unless writable, `CODE` when executable).
//!
//! tests/corpus.rs compares the file-backed mappings (`info proc mappings`, which
//! shows only those: one to three per core of a static Go program, none for
//! qemu's cores) and the registers; this covers the anonymous mappings too — the
//! Go heap, goroutine stacks, the runtime's off-heap memory.
//!
//! Skipped (with a message) when gdb is not installed; `gdb-multiarch` reads the
//! arm64 cores.

use std::collections::BTreeMap;
use std::process::Command;

use corefile::{Core, OpenOptions};

/// One `PT_LOAD` segment as gdb shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Segment {
    start: u64,
    end: u64,
    write: bool,
    exec: bool,
    /// Bytes stored in the core file.
    in_core: u64,
}

/// Parses the core file part of `maintenance info sections`:
/// ` [36]     0x00400000->0x00401000 at 0x0001b000: load1a ALLOC LOAD READONLY CODE HAS_CONTENTS`.
fn parse_sections(text: &str) -> Vec<Segment> {
    let mut by_number: BTreeMap<u64, Segment> = BTreeMap::new();
    let mut in_core_file = false;
    for line in text.lines() {
        if line.starts_with("Core file:") {
            in_core_file = true;
            continue;
        }
        if line.starts_with("Exec file:") || line.starts_with("Object file:") {
            in_core_file = false;
        }
        if !in_core_file {
            continue;
        }
        let Some((range, rest)) = line.split_once(" at ") else {
            continue;
        };
        let Some((_, rest)) = rest.split_once(": ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Some(name) = words.next() else { continue };
        let Some(number) = name.strip_prefix("load") else {
            continue;
        };
        let number: u64 = number
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .parse()
            .unwrap_or_else(|_| panic!("section name {name:?}"));
        let flags: Vec<&str> = words.collect();
        let Some((s, e)) = range.trim().rsplit(' ').next().unwrap().split_once("->") else {
            panic!("range in {line:?}");
        };
        let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
        let (start, end) = (hex(s), hex(e));
        let piece = Segment {
            start,
            end,
            write: !flags.contains(&"READONLY"),
            exec: flags.contains(&"CODE"),
            in_core: if flags.contains(&"HAS_CONTENTS") {
                end - start
            } else {
                0
            },
        };
        by_number
            .entry(number)
            .and_modify(|seg| {
                assert_eq!(
                    (seg.write, seg.exec),
                    (piece.write, piece.exec),
                    "pieces of load{number}"
                );
                seg.start = seg.start.min(piece.start);
                seg.end = seg.end.max(piece.end);
                seg.in_core += piece.in_core;
            })
            .or_insert(piece);
    }
    let mut out: Vec<Segment> = by_number.into_values().collect();
    out.sort();
    out
}

/// gdb's reading of `core`, or None when the gdb for `arch` is not installed.
fn gdb_sections(arch: &str, core: &std::path::Path) -> Option<String> {
    let (gdb, pre): (&str, &[&str]) = match arch {
        "arm64" => ("gdb-multiarch", &["-ex", "set architecture aarch64"]),
        _ => ("gdb", &[]),
    };
    let out = match Command::new(gdb)
        .args(["-batch", "-nx"])
        .args(pre)
        .arg("-c")
        .arg(core)
        .args(["-ex", "maintenance info sections"])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skip: cannot run {gdb}: {e}");
            return None;
        }
    };
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The same segments as gdb, each with the same range, permissions and number of
/// bytes stored in the core.
#[test]
fn every_mapping_agrees_with_gdb() {
    let cases = testkit::cases();
    assert!(!cases.is_empty(), "no corpus cases");
    let mut compared = 0;
    for case in cases {
        let core_path = case.core_path();
        let Some(text) = gdb_sections(&case.arch(), &core_path) else {
            continue;
        };
        let theirs = parse_sections(&text);
        assert!(
            theirs.len() > 5,
            "{}: gdb listed {} segments:\n{text}",
            case.name,
            theirs.len()
        );
        let core = Core::open_with(&core_path, &OpenOptions::new().executable(case.exe_path()))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        // gdb's file mappings (`info proc mappings`, recorded with the case).
        let files: Vec<(u64, u64)> = case
            .gdb_mappings()
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|g| Some((g["start"].as_u64()?, g["end"].as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut ours: Vec<Segment> = Vec::new();
        let mut file_only = 0;
        for m in core.mappings() {
            let seg = Segment {
                start: m.start(),
                end: m.end(),
                write: m.perms().write,
                exec: m.perms().exec,
                in_core: m.bytes_in_core(),
            };
            if theirs.iter().any(|t| t.start == seg.start) {
                ours.push(seg);
                continue;
            }
            // A mapping no PT_LOAD covers (gdb's gcore leaves read-only file
            // mappings out): read-only, nothing in the core, inside a file
            // mapping that gdb lists.
            assert!(
                seg.in_core == 0 && !seg.write && !seg.exec && m.path().is_some(),
                "{}: {seg:x?} ({:?}) is not a segment of gdb's",
                case.name,
                m.path()
            );
            assert!(
                files.iter().any(|&(s, e)| s <= seg.start && seg.end <= e),
                "{}: file-only mapping {seg:x?} is in no file mapping of gdb's",
                case.name
            );
            file_only += 1;
        }
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{}: segment {i} (ours, gdb's)", case.name);
        }
        assert_eq!(ours.len(), theirs.len(), "{}: segment count", case.name);
        compared += ours.len();
        println!(
            "{}: {} segments agree with gdb ({} bytes in the core), {file_only} file-only mappings inside gdb's file mappings",
            case.name,
            ours.len(),
            ours.iter().map(|s| s.in_core).sum::<u64>()
        );
    }
    println!("{compared} segments compared");
}

#[test]
fn parses_gdb_sections() {
    let text = "Exec file: `zoo', file type elf64-x86-64.\n [2]      0x00401000->0x004b0231 at 0x00001000: .text ALLOC LOAD READONLY CODE HAS_CONTENTS\nCore file: `core', file type elf64-x86-64.\n [0]      0x00000000->0x0001a740 at 0x00000708: note0 READONLY HAS_CONTENTS\n [36]     0x00400000->0x00401000 at 0x0001b000: load1a ALLOC LOAD READONLY CODE HAS_CONTENTS\n [37]     0x00401000->0x004b1000 at 0x0001c000: load1b ALLOC READONLY CODE\n [38]     0x004b1000->0x0059d000 at 0x0001c000: load2 ALLOC READONLY\n [39]     0x0059d000->0x005a9000 at 0x0001c000: load3 ALLOC LOAD HAS_CONTENTS\n";
    assert_eq!(
        parse_sections(text),
        vec![
            Segment {
                start: 0x400000,
                end: 0x4b1000,
                write: false,
                exec: true,
                in_core: 0x1000
            },
            Segment {
                start: 0x4b1000,
                end: 0x59d000,
                write: false,
                exec: false,
                in_core: 0
            },
            Segment {
                start: 0x59d000,
                end: 0x5a9000,
                write: true,
                exec: false,
                in_core: 0xc000
            },
        ]
    );
}
