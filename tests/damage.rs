//! Damage tests: every committed corpus core, damaged in the ways real cores are
//! damaged, through the whole runtime model (the fuzz targets' `analyze`: process,
//! goroutines and stacks, heap objects and pointers, roots, reachability, typing,
//! breakdown). Each damaged input must give an error or a (partial) result — never
//! a panic, and never take longer than a time bound (each runs on its own thread).
//!
//! Damage: truncation at points in the notes and in the memory segments; one
//! mapping removed (its program header turned into `PT_NULL`); random pages zeroed;
//! random bytes flipped in random pages; `runtime.mheap_` zeroed (goroutines must
//! still be listed); the executable of another release (refused, then forced); no
//! executable at all. The counts are printed (`--nocapture`) and recorded in
//! docs/robustness.md. Cases and points are sampled deterministically so that the
//! test stays around a minute in a debug build: every kind of damage on the
//! smallest core, and on each other core the heap-metadata check, the mismatched
//! executable and one kind of damage in rotation. `GOCORE_DAMAGE=all` tries every
//! kind on every core (several minutes); `GOCORE_DAMAGE_VERBOSE=1` prints each
//! input's outcome. gdb's core (1.2 GB) is held once in memory and damaged in place
//! by `gdb_core_damaged_in_place`, each damage undone before the next.
//!
//! The corpus tests (`tests/corpus.rs`, `crates/*/tests`) check that undamaged
//! cores still give exactly the truth.

#[allow(dead_code)]
#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use corefile::{Core, OpenOptions};
use targets::{analyze, Analysis};
use testkit::Case;

/// Longest one damaged input may take (debug build, shared machine).
const TIME_BOUND: Duration = Duration::from_secs(120);

#[derive(Default, Debug)]
struct Tally {
    tried: usize,
    /// The core could not be opened, or the runtime model could not start.
    errors: usize,
    /// Analysed, with warnings or failed stages.
    partial: usize,
    /// Fewer goroutines or objects than the undamaged core, yet no warning.
    silent: usize,
    /// Analysed with no warning and the undamaged core's counts (the damage hit
    /// nothing that was read, or nothing that changes the counts).
    clean: usize,
    slowest: Duration,
    /// The undamaged core's goroutine and object counts.
    base: Option<(usize, u64)>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.tried += other.tried;
        self.errors += other.errors;
        self.partial += other.partial;
        self.clean += other.clean;
        self.silent += other.silent;
        self.slowest = self.slowest.max(other.slowest);
    }
}

/// Opens `bytes` as a core of `case` and analyses it on a thread with a time bound.
/// Returns the open error or the analysis.
fn run(
    what: &str,
    bytes: Vec<u8>,
    path: std::path::PathBuf,
    opts: OpenOptions,
    tally: &mut Tally,
) -> Result<Analysis, String> {
    run_with(what, bytes, path, opts, tally, analyze)
}

/// Process, goroutines and stacks, and the heap only (for checks that need no more).
fn analyze_light(core: &Core) -> Analysis {
    let mut a = Analysis {
        warnings: core.warnings().len(),
        ..Analysis::default()
    };
    let proc = match gocore::Process::new(core) {
        Ok(p) => p,
        Err(e) => {
            a.error = Some(format!("process: {e}"));
            return a;
        }
    };
    match proc.goroutines() {
        Ok(gs) => {
            for g in gs {
                match g {
                    Ok(g) => {
                        a.goroutines += 1;
                        let _ = g.stack(&proc);
                    }
                    Err(_) => a.warnings += 1,
                }
            }
        }
        Err(e) => a.stage_errors.push(format!("goroutines: {e}")),
    }
    match gocore::Heap::new(&proc) {
        Ok(h) => {
            a.objects = h.object_count();
            a.warnings += h.warnings().len();
        }
        Err(e) => a.error = Some(format!("heap: {e}")),
    }
    a
}

fn run_with(
    what: &str,
    bytes: Vec<u8>,
    path: std::path::PathBuf,
    opts: OpenOptions,
    tally: &mut Tally,
    analyze: fn(&Core) -> Analysis,
) -> Result<Analysis, String> {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let label = what.to_string();
    std::thread::Builder::new()
        .name(label.clone())
        .spawn(move || {
            let r = std::panic::catch_unwind(|| match Core::from_bytes(&path, bytes, &opts) {
                Ok(core) => Ok(analyze(&core)),
                Err(e) => Err(e.to_string()),
            });
            let _ = tx.send(r);
        })
        .unwrap();
    let r = match rx.recv_timeout(TIME_BOUND) {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => panic!("{what}: panicked"),
        Err(_) => panic!("{what}: no result within {TIME_BOUND:?}"),
    };
    record(what, r, start, tally)
}

/// Counts one input's outcome in `tally`, checking that errors say something.
fn record(
    what: &str,
    r: Result<Analysis, String>,
    start: Instant,
    tally: &mut Tally,
) -> Result<Analysis, String> {
    tally.tried += 1;
    tally.slowest = tally.slowest.max(start.elapsed());
    if std::env::var_os("GOCORE_DAMAGE_VERBOSE").is_some() {
        println!("  {what}: {r:?}");
    }
    match &r {
        Err(e) => {
            assert!(
                e.contains("core") || e.contains('/') || e.contains("0x"),
                "{what}: the error names nothing: {e}"
            );
            tally.errors += 1;
        }
        Ok(a) if a.error.is_some() => {
            let e = a.error.as_deref().unwrap_or_default();
            assert!(e.len() > 10, "{what}: error without detail: {e}");
            tally.errors += 1;
        }
        Ok(a) if a.warnings > 0 || !a.stage_errors.is_empty() => tally.partial += 1,
        Ok(a)
            if tally
                .base
                .is_some_and(|(g, o)| a.goroutines < g || a.objects < o) =>
        {
            tally.silent += 1
        }
        Ok(_) => tally.clean += 1,
    }
    r
}

/// A small deterministic generator.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Program headers of a little-endian ELF64 core: (header offset, type, offset,
/// filesz, vaddr).
fn phdrs(b: &[u8]) -> Vec<(usize, u32, u64, u64, u64)> {
    let rd = |o: usize, n: usize| -> u64 {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&b[o..o + n]);
        u64::from_le_bytes(v)
    };
    let (phoff, phentsize, phnum) = (rd(0x20, 8) as usize, rd(0x36, 2) as usize, rd(0x38, 2));
    (0..phnum as usize)
        .map(|i| {
            let h = phoff + i * phentsize;
            (
                h,
                rd(h, 4) as u32,
                rd(h + 8, 8),
                rd(h + 32, 8),
                rd(h + 16, 8),
            )
        })
        .collect()
}

/// How much damage to try on a case.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Every kind, many points.
    Heavy,
    /// Every kind, a few points each.
    Full,
    /// The heap-metadata check, the mismatched executable refused, and one kind of
    /// damage chosen by `rotation`.
    Sample(usize),
}

/// The damage tried on one case.
fn damage_case(case: &Case, plan: Plan, other_exe: Option<&Case>) -> Tally {
    let mut t = Tally::default();
    let path = case.core_path();
    let exe = case.exe_path();
    let full = std::fs::read(&path).unwrap();
    let opts = || OpenOptions::new().executable(&exe);
    let name = &case.name;
    let heavy = plan == Plan::Heavy;
    let kind = |k: usize| match plan {
        Plan::Sample(r) => r % 6 == k,
        _ => true,
    };

    // The undamaged core, for reference.
    let base = run_with(
        &format!("{name}: undamaged"),
        full.clone(),
        path.clone(),
        opts(),
        &mut Tally::default(),
        analyze_light,
    )
    .unwrap_or_else(|e| panic!("{name}: undamaged core does not open: {e}"));
    assert!(base.error.is_none(), "{name}: {:?}", base.error);
    assert!(base.goroutines > 0 && base.objects > 0, "{name}: {base:?}");
    t.base = Some((base.goroutines, base.objects));

    let loads: Vec<_> = phdrs(&full).into_iter().filter(|p| p.1 == 1).collect();
    let notes_end = loads.first().map(|p| p.2 as usize).unwrap_or(4096);
    let mut rng = Lcg(name.bytes().fold(0x9e37u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    }));

    // Truncation: in the headers and notes, then at fractions of the file.
    if kind(0) {
        let mut cuts = vec![];
        let fractions: &[u64] = match plan {
            Plan::Heavy => {
                cuts.extend([0, 63, 64 + 56, notes_end / 2, notes_end]);
                &[1, 2, 3, 5, 7, 9, 11, 13, 15]
            }
            Plan::Full => {
                cuts.extend([63, notes_end / 2]);
                &[3, 8, 13]
            }
            Plan::Sample(_) => &[1 + rng.below(15)][..],
        };
        let fr: Vec<u64> = fractions.to_vec();
        cuts.extend(fr.iter().map(|k| (full.len() as u64 * k / 16) as usize));
        for cut in cuts {
            let r = run(
                &format!("{name}: cut at {cut:#x}"),
                full[..cut.min(full.len())].to_vec(),
                path.clone(),
                opts(),
                &mut t,
            );
            if cut < 64 {
                assert!(r.is_err(), "{name}: cut at {cut} opened");
            }
        }
    }

    // One mapping removed.
    if kind(1) {
        let picks: Vec<usize> = match plan {
            Plan::Heavy => (0..loads.len()).step_by(2).collect(),
            Plan::Full => (0..4)
                .map(|_| rng.below(loads.len() as u64) as usize)
                .collect(),
            Plan::Sample(_) => vec![rng.below(loads.len() as u64) as usize],
        };
        for i in picks {
            let (h, ..) = loads[i];
            let mut b = full.clone();
            b[h..h + 4].copy_from_slice(&0u32.to_le_bytes());
            let _ = run(
                &format!("{name}: mapping {:#x} removed", loads[i].4),
                b,
                path.clone(),
                opts(),
                &mut t,
            );
        }
    }

    // Pages zeroed (even rounds), or bytes flipped (odd rounds), among the pages of
    // the segments that hold data (most of a Go core is zeros).
    let pages: Vec<u64> = loads
        .iter()
        .flat_map(|&(_, _, off, size, _)| (off..off + size).step_by(4096))
        .filter(|&p| {
            let p = p as usize;
            full[p..(p + 4096).min(full.len())].iter().any(|&b| b != 0)
        })
        .collect();
    let rounds: Vec<usize> = match plan {
        Plan::Heavy => (0..16).collect(),
        Plan::Full => (0..6).collect(),
        Plan::Sample(r) if r % 6 == 2 => vec![0],
        Plan::Sample(r) if r % 6 == 3 => vec![1],
        Plan::Sample(_) => vec![],
    };
    for round in rounds {
        let mut b = full.clone();
        let n = 1 + rng.below(if round % 2 == 0 { 64 } else { 8 });
        for _ in 0..n {
            let p = pages[rng.below(pages.len() as u64) as usize] as usize;
            let end = (p + 4096).min(b.len());
            if round % 2 == 0 {
                b[p..end].fill(0);
            } else {
                for _ in 0..16 {
                    let i = p + rng.below((end - p) as u64) as usize;
                    b[i] ^= (rng.next() as u8) | 1;
                }
            }
        }
        let what = if round % 2 == 0 { "zeroed" } else { "flipped" };
        let _ = run(
            &format!("{name}: {n} pages {what} (round {round})"),
            b,
            path.clone(),
            opts(),
            &mut t,
        );
    }

    // Heap metadata destroyed: goroutines must still be listed.
    if let Some((off, end)) = mheap_range(case, &loads) {
        let mut b = full.clone();
        b[off..end].fill(0);
        let a = run_with(
            &format!("{name}: runtime.mheap_ zeroed"),
            b,
            path.clone(),
            opts(),
            &mut t,
            if heavy { analyze } else { analyze_light },
        )
        .unwrap_or_else(|e| panic!("{name}: mheap_ zeroed: core does not open: {e}"));
        assert_eq!(
            a.goroutines, base.goroutines,
            "{name}: goroutines lost when the heap metadata is damaged: {a:?}"
        );
        assert!(
            a.error.is_some() || a.warnings > 0,
            "{name}: zeroed mheap_ gave no warning: {a:?}"
        );
    }

    // The executable of another build: refused unless forced; forced, no panic.
    if let Some(other) = other_exe {
        let o = other.exe_path();
        let r = run(
            &format!("{name}: executable of {}", other.name),
            full.clone(),
            path.clone(),
            OpenOptions::new().executable(&o),
            &mut t,
        );
        match r {
            Err(e) => assert!(e.contains(&*o.to_string_lossy()), "{name}: {e}"),
            Ok(a) => panic!("{name}: executable of {} accepted: {a:?}", other.name),
        }
        if kind(4) {
            let _ = run(
                &format!("{name}: executable of {} forced", other.name),
                full.clone(),
                path.clone(),
                OpenOptions::new().executable(&o).allow_mismatch(true),
                &mut t,
            );
        }
    }

    // No executable: the core is opened from a directory without it.
    if kind(5) {
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            &format!("{name}: executable missing"),
            full,
            dir.path().join("core"),
            OpenOptions::new(),
            &mut t,
        );
        match r {
            Ok(a) => {
                let e = a.error.unwrap_or_default();
                assert!(e.contains("executable"), "{name}: no executable: {e}");
            }
            Err(e) => panic!("{name}: a core without its executable does not open: {e}"),
        }
    }
    t
}

/// File range of `runtime.mheap_` in the (undamaged) core (address from the
/// executable's symbols, size from the layouts).
fn mheap_range(case: &Case, loads: &[(usize, u32, u64, u64, u64)]) -> Option<(usize, usize)> {
    let core = Core::open_with(
        case.core_path(),
        &OpenOptions::new().executable(case.exe_path()),
    )
    .ok()?;
    let proc = gocore::Process::new(&core).ok()?;
    let mheap = proc.global("runtime.mheap_", "runtime.mheap").ok()?;
    let (addr, size) = (mheap.addr(), mheap.size().ok()?);
    loads
        .iter()
        .find(|&&(_, _, _, filesz, vaddr)| vaddr <= addr && addr + size <= vaddr + filesz)
        .map(|&(_, _, off, _, vaddr)| {
            let start = (off + (addr - vaddr)) as usize;
            (start, start + size as usize)
        })
}

#[test]
fn damaged_cores_never_panic_or_hang() {
    let start = Instant::now();
    // Every committed core but gdb's (1.2 GB, mostly zeros: a copy per input is too
    // much; `gdb_core_damaged_in_place` damages it in place).
    let mut cases: Vec<Case> = testkit::committed_cases()
        .into_iter()
        .filter(|c| c.producer() != "gcore")
        .collect();
    assert!(!cases.is_empty(), "no corpus");
    cases.sort_by_key(|c| {
        std::fs::metadata(c.core_zst())
            .map(|m| m.len())
            .unwrap_or(0)
    });
    // GOCORE_DAMAGE=all: every kind of damage on every case (several minutes).
    let all = std::env::var("GOCORE_DAMAGE").is_ok_and(|v| v == "all");
    let mut total = Tally::default();
    for (i, case) in cases.iter().enumerate() {
        // A different release's build of the same program, as a mismatched executable.
        let other = cases.iter().find(|o| {
            o.program() == case.program()
                && o.arch() == case.arch()
                && o.go_version() != case.go_version()
        });
        let plan = if i == 0 {
            Plan::Heavy
        } else if all {
            Plan::Full
        } else {
            Plan::Sample(i)
        };
        let t = damage_case(case, plan, other);
        println!(
            "{:<48} tried {:>3}  errors {:>3}  partial {:>3}  silent {:>3}  clean {:>3}  slowest {:.1?}",
            case.name, t.tried, t.errors, t.partial, t.silent, t.clean, t.slowest
        );
        total.add(&t);
    }
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!(
        "damage: {} cases, {} inputs tried: {} errors, {} partial results with warnings, {} silently smaller results, {} clean; slowest {:.1?}; {:.1?} in all; {hwm}",
        cases.len(),
        total.tried,
        total.errors,
        total.partial,
        total.silent,
        total.clean,
        total.slowest,
        start.elapsed()
    );
    assert!(total.errors > 0 && total.partial > 0, "{total:?}");
    // Fewer goroutines or objects always come with a warning: zeroed span metadata
    // is caught by the heap's cross-check with `mheap_.pagesInUse`, an emptied
    // `runtime.allgs` by the root set (GOCORE_DAMAGE=all: the arm64 core with 12
    // pages zeroed lost every goroutine, objects intact).
    assert_eq!(total.silent, 0, "silently smaller results: {total:?}");
}

/// The inputs that hung or misled the model before their fixes, replayed alone:
/// a PIE core forced onto another release's non-PIE executable (`allgs` read at a
/// wrong address: up to 2^40 nil slots walked; now an error saying its length does
/// not fit its mapping).
#[test]
fn damage_regressions() {
    let cases = testkit::committed_cases();
    let find = |n: &str| cases.iter().find(|c| c.name == n);
    let (Some(pie), Some(other)) = (
        find("zoo-go1.27.3-pie-crash-amd64"),
        find("zoo-go1.26.6-default-crash-amd64"),
    ) else {
        panic!("committed cases missing");
    };
    let mut t = Tally::default();
    let a = run(
        "PIE core, go1.26.6 executable forced",
        std::fs::read(pie.core_path()).unwrap(),
        pie.core_path(),
        OpenOptions::new()
            .executable(other.exe_path())
            .allow_mismatch(true),
        &mut t,
    )
    .unwrap();
    assert!(
        a.stage_errors
            .iter()
            .any(|e| e.contains("runtime.allgs") && e.contains("out of range")),
        "{a:?}"
    );
}

/// Opens `bytes` (moved in and handed back) as a core and analyses it on a thread
/// with a time bound; for cores too big to copy per input (gdb's). The bytes come
/// back unless the core did not open (then they were dropped with it).
fn run_in_place(
    what: &str,
    bytes: Vec<u8>,
    path: std::path::PathBuf,
    opts: OpenOptions,
    tally: &mut Tally,
    analyze: fn(&Core) -> Analysis,
) -> (Result<Analysis, String>, Option<Vec<u8>>) {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    std::thread::Builder::new()
        .name(what.to_string())
        .spawn(move || {
            let r = std::panic::catch_unwind(|| match Core::from_bytes(&path, bytes, &opts) {
                Ok(core) => {
                    let a = analyze(&core);
                    (Ok(a), core.into_bytes())
                }
                Err(e) => (Err(e.to_string()), None),
            });
            let _ = tx.send(r);
        })
        .unwrap();
    let (r, back) = match rx.recv_timeout(TIME_BOUND) {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => panic!("{what}: panicked"),
        Err(_) => panic!("{what}: no result within {TIME_BOUND:?}"),
    };
    (record(what, r, start, tally), back)
}

/// gdb's core (`gcore`: 1.2 GB, every mapping written, mostly zeros, section
/// headers at the end), which `damaged_cores_never_panic_or_hang` leaves out: held
/// once in memory and damaged in place, each damage undone before the next (a core
/// that does not open drops the bytes; they are read again). Truncated (in the notes,
/// at 1/2 and 15/16 of the file, by its last byte), two mappings removed, pages
/// zeroed and bytes flipped, `runtime.mheap_` zeroed (every goroutine still
/// listed, with a warning), another release's executable (refused naming it, then
/// forced) and no executable.
#[test]
fn gdb_core_damaged_in_place() {
    let start = Instant::now();
    let cases = testkit::committed_cases();
    let case = cases
        .iter()
        .find(|c| c.producer() == "gcore")
        .expect("the committed corpus has gdb's core");
    let other = cases
        .iter()
        .find(|o| {
            o.program() == case.program()
                && o.arch() == case.arch()
                && o.producer() != "gcore"
                && o.go_version() != case.go_version()
        })
        .expect("another release's build of the same program");
    let name = &case.name;
    let path = case.core_path();
    let exe = case.exe_path();
    let opts = || OpenOptions::new().executable(&exe);
    let read = || std::fs::read(&path).unwrap();
    let mut bytes = read();
    let len = bytes.len();
    let mut t = Tally::default();

    let (base, back) = run_in_place(
        &format!("{name}: undamaged"),
        bytes,
        path.clone(),
        opts(),
        &mut Tally::default(),
        analyze_light,
    );
    let base = base.unwrap_or_else(|e| panic!("{name}: undamaged core does not open: {e}"));
    assert!(base.error.is_none(), "{name}: {:?}", base.error);
    assert!(base.goroutines > 0 && base.objects > 0, "{name}: {base:?}");
    t.base = Some((base.goroutines, base.objects));
    bytes = back.expect("bytes back");

    let loads: Vec<_> = phdrs(&bytes).into_iter().filter(|p| p.1 == 1).collect();
    let notes_end = loads.first().map(|p| p.2 as usize).unwrap_or(4096);
    let mut rng = Lcg(0x67_636f_7265);

    // Truncation. A cut in the headers or notes is a small copy; a cut further on
    // moves the tail aside and puts it back.
    for cut in [63, notes_end / 2] {
        let _ = run_in_place(
            &format!("{name}: cut at {cut:#x}"),
            bytes[..cut].to_vec(),
            path.clone(),
            opts(),
            &mut t,
            analyze,
        );
    }
    for cut in [len / 2, len / 16 * 15, len - 1] {
        let tail = bytes.split_off(cut);
        let (_, back) = run_in_place(
            &format!("{name}: cut at {cut:#x}"),
            bytes,
            path.clone(),
            opts(),
            &mut t,
            analyze,
        );
        bytes = back.unwrap_or_else(|| read()[..cut].to_vec());
        bytes.extend_from_slice(&tail);
    }
    assert_eq!(bytes.len(), len);

    // Damage in place, undone afterwards: (file offset, original bytes) per patch.
    let patched = |bytes: Vec<u8>, what: String, saved: Vec<(usize, Vec<u8>)>, t: &mut Tally| {
        let (r, back) = run_in_place(&what, bytes, path.clone(), opts(), t, analyze);
        let mut b = back.unwrap_or_else(read);
        for (off, orig) in saved.into_iter().rev() {
            b[off..off + orig.len()].copy_from_slice(&orig);
        }
        (r, b)
    };

    // Two mappings removed (program header type made PT_NULL).
    for _ in 0..2 {
        let (h, _, _, _, vaddr) = loads[rng.below(loads.len() as u64) as usize];
        let saved = vec![(h, bytes[h..h + 4].to_vec())];
        bytes[h..h + 4].copy_from_slice(&0u32.to_le_bytes());
        bytes = patched(
            bytes,
            format!("{name}: mapping {vaddr:#x} removed"),
            saved,
            &mut t,
        )
        .1;
    }

    // Pages that hold data (8-byte words, to keep a debug build quick over 1.2 GB).
    let pages: Vec<usize> = loads
        .iter()
        .flat_map(|&(_, _, off, size, _)| (off..off + size).step_by(4096))
        .map(|p| p as usize)
        .filter(|&p| {
            bytes[p..(p + 4096).min(len)]
                .chunks_exact(8)
                .any(|w| w != [0u8; 8])
        })
        .collect();
    assert!(!pages.is_empty(), "{name}: no page holds data");
    for round in 0..4 {
        let n = 1 + rng.below(if round % 2 == 0 { 64 } else { 8 });
        let mut saved = Vec::new();
        for _ in 0..n {
            let p = pages[rng.below(pages.len() as u64) as usize];
            let end = (p + 4096).min(len);
            saved.push((p, bytes[p..end].to_vec()));
            if round % 2 == 0 {
                bytes[p..end].fill(0);
            } else {
                for _ in 0..16 {
                    let i = p + rng.below((end - p) as u64) as usize;
                    bytes[i] ^= (rng.next() as u8) | 1;
                }
            }
        }
        let what = if round % 2 == 0 { "zeroed" } else { "flipped" };
        let what = format!("{name}: {n} pages {what} (round {round})");
        bytes = patched(bytes, what, saved, &mut t).1;
    }

    // Heap metadata destroyed: every goroutine still listed, with a warning.
    let (off, end) = mheap_range(case, &loads).expect("runtime.mheap_ in the core");
    let saved = vec![(off, bytes[off..end].to_vec())];
    bytes[off..end].fill(0);
    let (r, b) = patched(
        bytes,
        format!("{name}: runtime.mheap_ zeroed"),
        saved,
        &mut t,
    );
    bytes = b;
    let a = r.unwrap_or_else(|e| panic!("{name}: mheap_ zeroed: core does not open: {e}"));
    assert_eq!(
        a.goroutines, base.goroutines,
        "{name}: goroutines lost when the heap metadata is damaged: {a:?}"
    );
    assert!(
        a.error.is_some() || a.warnings > 0,
        "{name}: zeroed mheap_ gave no warning: {a:?}"
    );

    // Another release's executable: refused naming it; forced, no panic or hang.
    let o = other.exe_path();
    let (r, back) = run_in_place(
        &format!("{name}: executable of {}", other.name),
        bytes,
        path.clone(),
        OpenOptions::new().executable(&o),
        &mut t,
        analyze,
    );
    match r {
        Err(e) => assert!(e.contains(&*o.to_string_lossy()), "{name}: {e}"),
        Ok(a) => panic!("{name}: executable of {} accepted: {a:?}", other.name),
    }
    bytes = back.unwrap_or_else(read);
    let (_, back) = run_in_place(
        &format!("{name}: executable of {} forced", other.name),
        bytes,
        path.clone(),
        OpenOptions::new().executable(&o).allow_mismatch(true),
        &mut t,
        analyze,
    );
    bytes = back.unwrap_or_else(read);

    // No executable beside the core.
    let dir = tempfile::tempdir().unwrap();
    let (r, _) = run_in_place(
        &format!("{name}: executable missing"),
        bytes,
        dir.path().join("core"),
        OpenOptions::new(),
        &mut t,
        analyze,
    );
    match r {
        Ok(a) => {
            let e = a.error.unwrap_or_default();
            assert!(e.contains("executable"), "{name}: no executable: {e}");
        }
        Err(e) => panic!("{name}: a core without its executable does not open: {e}"),
    }

    println!(
        "{name}: {} inputs tried: {} errors, {} partial results with warnings, {} silently smaller results, {} clean; slowest {:.1?}; {:.1?} in all",
        t.tried, t.errors, t.partial, t.silent, t.clean, t.slowest, start.elapsed()
    );
    assert!(t.errors > 0 && t.partial > 0, "{t:?}");
    assert_eq!(t.silent, 0, "{name}: silently smaller results: {t:?}");
}
