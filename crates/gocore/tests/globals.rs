//! Locating runtime globals without symbols.
//!
//! * On every corpus case with a symbol table, each structural signature alone finds
//!   exactly the symbol's address (and fails when the release has no such symbol),
//!   and on cases with DWARF the DWARF variable agrees too.
//! * On stripped cases (`-ldflags=-s -w`), the chain locates every global the model
//!   uses, and the heap and the goroutine list work: every goroutine id of the case's
//!   own truth file is listed. Every signature's answer on the stripped core is the
//!   address the symbol table of the `nodwarf` build of the same program, release and
//!   architecture gives (the two builds differ only by `-s`), and a global that build
//!   lacks is not found.
//! * A stripped core read with that `nodwarf` executable instead (same addresses, plus
//!   symbols) gives the same global addresses, goroutines, heap objects, roots by kind
//!   and live objects as with its own stripped executable.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use corefile::{Core, OpenOptions};
use gocore::{signature_globals, Heap, Method, Process, Reachability, RootSet};

/// Globals the runtime model reads today (`runtime.gcCleanups` from Go 1.25).
const USED: &[&str] = &[
    "runtime.mheap_",
    "runtime.allgs",
    "runtime.waitReasonStrings",
    "runtime.buildVersion",
    "runtime.gcController",
    "runtime.memstats",
    "runtime.allm",
    "runtime.allfin",
    "runtime.gcCleanups",
];

/// The `nodwarf` build of `case`'s program, release and architecture in the same
/// corpus directory as `case`, if there is one: the same executable as the stripped
/// one but for `-s`. Only a twin built with it (same machine, same checkout path) is
/// comparable: a build elsewhere embeds other source paths, so its data sections
/// can differ in more than a uniform shift. (`cargo xtask matrix` puts a stripped
/// case's twin in every chunk of cases it tests the case in.)
fn nodwarf_twin(case: &testkit::Case) -> Option<testkit::Case> {
    let same = |c: &testkit::Case| {
        c.mode() == "nodwarf"
            && c.program() == case.program()
            && c.go_version() == case.go_version()
            && c.arch() == case.arch()
            && c.dir.parent() == case.dir.parent()
    };
    let mut twins: Vec<testkit::Case> = testkit::cases()
        .into_iter()
        .chain(testkit::committed_cases())
        .filter(same)
        .collect();
    // A crash core first: the smallest to unpack.
    twins.sort_by_key(|c| (c.producer() != "crash", c.name.clone()));
    twins.into_iter().next()
}

/// Start address of every named section of an ELF executable.
fn section_starts(bytes: &[u8]) -> BTreeMap<String, u64> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).unwrap_or_else(|e| panic!("executable: {e}"));
    file.sections()
        .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
        .filter(|(n, a)| !n.is_empty() && *a != 0)
        .collect()
}

/// Maps an address of the twin executable to the stripped one: the same offset from
/// the start of the same-named section. The `-s` build can place every data section a
/// few bytes apart from the `-w` build (its build settings string, `-ldflags="-s -w"`,
/// is longer), but a global keeps its offset within its section.
fn to_stripped(
    addr: u64,
    twin: &BTreeMap<String, u64>,
    stripped: &BTreeMap<String, u64>,
) -> Option<u64> {
    let (name, start) = twin
        .iter()
        .filter(|(_, &a)| a <= addr)
        .max_by_key(|(_, &a)| a)?;
    Some(addr - start + stripped.get(name)?)
}

/// The symbol addresses of every signature global in the executable of the `nodwarf`
/// build of `case`'s program, release and architecture, if the corpus has one,
/// translated to the stripped executable's section layout ([`to_stripped`]).
fn nodwarf_symbols(case: &testkit::Case) -> Option<(String, BTreeMap<&'static str, u64>)> {
    let twin = nodwarf_twin(case)?;
    let bytes =
        std::fs::read(twin.exe_path()).unwrap_or_else(|e| panic!("{}: executable: {e}", twin.name));
    let own =
        std::fs::read(case.exe_path()).unwrap_or_else(|e| panic!("{}: executable: {e}", case.name));
    let (twin_sections, own_sections) = (section_starts(&bytes), section_starts(&own));
    let bin = gobinary::GoBinary::parse(&bytes)
        .unwrap_or_else(|e| panic!("{}: executable: {e}", twin.name));
    assert!(bin.has_symbols(), "{}: no symbol table", twin.name);
    let syms = signature_globals()
        .iter()
        .filter_map(|(name, _)| {
            let a = bin.symbol(name)?.address;
            Some((*name, to_stripped(a, &twin_sections, &own_sections)?))
        })
        .collect();
    Some((twin.name, syms))
}

/// Whether the stripped executable's sections start where the twin's do (then the
/// twin's executable can stand in for it when reading the stripped core).
fn same_layout(case: &testkit::Case, twin: &testkit::Case) -> bool {
    let read = |c: &testkit::Case| {
        std::fs::read(c.exe_path()).unwrap_or_else(|e| panic!("{}: executable: {e}", c.name))
    };
    section_starts(&read(case)) == section_starts(&read(twin))
}

fn open(case: &testkit::Case) -> Core {
    Core::open_with(
        case.core_path(),
        &OpenOptions::new().executable(case.exe_path()),
    )
    .unwrap_or_else(|e| panic!("{}: open: {e}", case.name))
}

#[test]
fn signatures_find_the_symbol_address() {
    let cases = testkit::cases_where(|c| c.mode() != "stripped");
    assert!(
        !cases.is_empty(),
        "no corpus at {}",
        testkit::corpus_dir().display()
    );
    let (mut pass, mut absent, mut dwarf_pass, mut slowest) = (0, 0, 0, (0u128, String::new()));
    let (mut failures, mut refused) = (Vec::new(), Vec::new());
    for case in &cases {
        let core = open(case);
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let has_dwarf = !matches!(case.mode().as_str(), "nodwarf");
        let t0 = Instant::now();
        for (name, _) in signature_globals() {
            let sym = proc
                .binary()
                .symbol(name)
                .map(|s| s.address + proc.load_bias());
            let sig = proc.locate_by_signature(name);
            match (sym, &sig) {
                (Some(a), Ok(b)) if a == *b => pass += 1,
                (None, Err(_)) => absent += 1,
                // Never a wrong answer; refusing is accepted for globals the model
                // does not read (runtime.allm when sched.midle points at the same m).
                (Some(_), Err(e))
                    if !USED.contains(name) && e.to_string().contains("refusing to guess") =>
                {
                    refused.push(format!("{}: {name}", case.name))
                }
                _ => failures.push(format!(
                    "{}: {name}: symbol {:x?}, signature {:x?}",
                    case.name,
                    sym,
                    sig.as_ref().map_err(ToString::to_string)
                )),
            }
            if has_dwarf {
                if let Some(a) = sym {
                    match proc.locate_by_dwarf(name) {
                        Ok(b) if a == b => dwarf_pass += 1,
                        other => failures.push(format!(
                            "{}: {name}: symbol {a:#x}, DWARF {:x?}",
                            case.name,
                            other.map_err(|e| e.to_string())
                        )),
                    }
                }
            }
        }
        let ms = t0.elapsed().as_millis();
        if ms > slowest.0 {
            slowest = (ms, case.name.clone());
        }
        // With a symbol table, the chain answers from it.
        for name in USED {
            if proc.binary().symbol(name).is_none() {
                continue;
            }
            let at = proc
                .locate_global(name)
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(at.method, Method::Symbol, "{}: {name}", case.name);
        }
    }
    eprintln!(
        "signatures: {} cases, {pass} agree with the symbol, {absent} absent in both, \
         {} refused (ambiguous), {dwarf_pass} DWARF agree, {} failures; slowest {} ms ({})",
        cases.len(),
        refused.len(),
        failures.len(),
        slowest.0,
        slowest.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn stripped_cores_give_goroutines_and_heap() {
    let cases = testkit::cases_where(|c| c.mode() == "stripped");
    let mut failures = Vec::new();
    let mut checked = 0;
    // Per global: stripped cases where the signature gave the nodwarf build's symbol
    // address, where both say the release has no such global, and cases with no
    // nodwarf twin in the corpus (located, not compared).
    let mut agree: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for case in &cases {
        let core = open(case);
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(!proc.binary().has_symbols(), "{}: not stripped", case.name);
        let twin = nodwarf_symbols(case);
        for (name, _) in signature_globals() {
            let got = proc.locate_global(name);
            if let Ok(at) = &got {
                assert_eq!(at.method, Method::Signature, "{}: {name}", case.name);
            }
            let e = agree.entry(name).or_default();
            match (&twin, got) {
                (Some((twin, syms)), got) => match (syms.get(name), got) {
                    (Some(&a), Ok(at)) if a + proc.load_bias() == at.addr => e.0 += 1,
                    (None, Err(_)) => e.1 += 1,
                    (want, got) => failures.push(format!(
                        "{}: {name}: symbol of {twin} {want:x?}, signature {:x?}",
                        case.name,
                        got.map(|l| l.addr).map_err(|e| e.to_string())
                    )),
                },
                (None, Ok(_)) => e.2 += 1,
                (None, Err(err)) => {
                    // No twin to ask: a global the model uses must be found unless the
                    // release lacks it (gcCleanups before Go 1.25).
                    let absent = *name == "runtime.gcCleanups"
                        && proc
                            .layouts()
                            .offset("runtime.cleanupQueue", "all")
                            .is_err();
                    if USED.contains(name) && !absent {
                        failures.push(format!("{}: {err}", case.name));
                    }
                }
            }
        }
        let ids: BTreeSet<u64> = match proc.goroutines() {
            Ok(gs) => gs.filter_map(Result::ok).map(|g| g.id).collect(),
            Err(e) => {
                failures.push(format!("{}: goroutines: {e}", case.name));
                continue;
            }
        };
        let truth = case.truth();
        let want: BTreeSet<u64> = truth["goroutines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["id"].as_u64())
            .collect();
        let missing: Vec<_> = want.difference(&ids).collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{}: truth goroutines missing: {missing:?}",
                case.name
            ));
        }
        match Heap::new(&proc) {
            Ok(heap) => {
                let n = heap.objects().count() as u64;
                let truth_n = truth["memstats"]["HeapObjects"].as_u64().unwrap_or(0);
                // Same tolerance as the heap test on cases with symbols.
                if n + 16 < truth_n || n > truth_n + 64 {
                    failures.push(format!(
                        "{}: {n} objects, memstats HeapObjects {truth_n}",
                        case.name
                    ));
                }
                // The queues of finalizers and cleanups are roots as with symbols:
                // the root set reads them without a complaint.
                let (mut finq, mut cleanups) = (0, 0);
                match RootSet::collect(&proc, &heap) {
                    Ok(roots) => {
                        for w in roots.warnings() {
                            if w.starts_with("finq") || w.starts_with("cleanup queue") {
                                failures.push(format!("{}: roots: {w}", case.name));
                            }
                        }
                        let c = roots.counts();
                        finq = c.get("finq").copied().unwrap_or(0);
                        cleanups = c.get("cleanup-queue").copied().unwrap_or(0);
                    }
                    Err(e) => failures.push(format!("{}: roots: {e}", case.name)),
                }
                eprintln!(
                    "{}: {} goroutines ({} in truth), {n} objects (HeapObjects {truth_n}), \
                     {finq} queued-finalizer and {cleanups} queued-cleanup roots",
                    case.name,
                    ids.len(),
                    want.len()
                );
            }
            Err(e) => failures.push(format!("{}: heap: {e}", case.name)),
        }
        checked += 1;
    }
    for (name, (same, absent, unchecked)) in &agree {
        eprintln!(
            "stripped: {name}: nodwarf symbol address on {same}, absent in both on {absent}, \
             located without a twin to compare on {unchecked} of {} cases",
            cases.len()
        );
    }
    eprintln!(
        "stripped: {checked} of {} cases checked, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What a core reads as: goroutine ids, heap objects, root counts by kind, live objects.
#[derive(Debug, PartialEq)]
struct Reading {
    goroutines: Vec<u64>,
    objects: u64,
    roots: BTreeMap<&'static str, u64>,
    live: u64,
}

fn read_core(core: &Core) -> Result<Reading, String> {
    let proc = Process::new(core).map_err(|e| e.to_string())?;
    let mut goroutines: Vec<u64> = proc
        .goroutines()
        .map_err(|e| format!("goroutines: {e}"))?
        .filter_map(Result::ok)
        .map(|g| g.id)
        .collect();
    goroutines.sort_unstable();
    let heap = Heap::new(&proc).map_err(|e| format!("heap: {e}"))?;
    let roots = RootSet::collect(&proc, &heap).map_err(|e| format!("roots: {e}"))?;
    let reach = Reachability::compute(&proc, &heap, roots.roots())
        .map_err(|e| format!("reachability: {e}"))?;
    Ok(Reading {
        goroutines,
        objects: heap.object_count(),
        roots: roots.counts(),
        live: reach.live_count(),
    })
}

/// The ground truth for a stripped core: the same core read with the `nodwarf` build's
/// executable (identical but for the symbol table). Every global the model uses is at
/// the same address, and goroutines, objects, roots by kind and live objects are the
/// same.
#[test]
fn stripped_core_reads_as_with_symbols() {
    let cases = testkit::cases_where(|c| c.mode() == "stripped");
    let (mut compared, mut shifted, mut failures) = compare_with_twins(&cases);
    if compared == 0 && shifted > 0 {
        // Every stripped case here has a shifted layout (a chunk of the matrix holds
        // only a few): compare the committed corpus's stripped cases instead.
        eprintln!("nothing compared here: the committed corpus's stripped cases instead");
        let committed: Vec<_> = testkit::committed_cases()
            .into_iter()
            .filter(|c| c.mode() == "stripped")
            .collect();
        let (c, s, f) = compare_with_twins(&committed);
        (compared, shifted, failures) = (c, shifted + s, [failures, f].concat());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        compared > 0 || shifted == 0,
        "every stripped case has a shifted layout: nothing compared"
    );
}

/// Reads each stripped case with its own executable and with its `nodwarf` twin's
/// (when the twin's sections start at the same addresses). Returns how many were
/// compared, how many had a shifted layout, and the failures.
fn compare_with_twins(cases: &[testkit::Case]) -> (usize, usize, Vec<String>) {
    let (mut compared, mut shifted, mut failures) = (0, 0, Vec::new());
    for case in cases {
        let Some(twin) = nodwarf_twin(case) else {
            eprintln!(
                "{}: no nodwarf build in the corpus to compare with",
                case.name
            );
            continue;
        };
        if !same_layout(case, &twin) {
            // The `-s` build's sections start elsewhere: the twin's executable cannot
            // stand in (its globals are at other addresses). The signatures are still
            // checked against its symbols, section-relative, by
            // `stripped_cores_give_goroutines_and_heap`.
            eprintln!(
                "{}: sections start elsewhere than in {}: not read with its executable",
                case.name, twin.name
            );
            shifted += 1;
            continue;
        }
        let stripped = open(case);
        let symbols = Core::open_with(
            case.core_path(),
            &OpenOptions::new()
                .executable(twin.exe_path())
                .allow_mismatch(true),
        )
        .unwrap_or_else(|e| panic!("{} with {}'s executable: {e}", case.name, twin.name));
        let (a, b) = (
            Process::new(&stripped).unwrap_or_else(|e| panic!("{}: {e}", case.name)),
            Process::new(&symbols).unwrap_or_else(|e| panic!("{}: {e}", case.name)),
        );
        assert!(b.binary().has_symbols(), "{}: twin stripped", twin.name);
        for name in USED {
            let (x, y) = (a.locate_global(name), b.locate_global(name));
            match (&x, &y) {
                (Ok(x), Ok(y)) if x.addr == y.addr => {}
                (Err(_), Err(_)) => {}
                _ => failures.push(format!(
                    "{}: {name}: stripped {:x?}, with symbols {:x?}",
                    case.name,
                    x.map(|l| l.addr).map_err(|e| e.to_string()),
                    y.map(|l| l.addr).map_err(|e| e.to_string())
                )),
            }
        }
        match (read_core(&stripped), read_core(&symbols)) {
            (Ok(x), Ok(y)) if x == y => {
                eprintln!(
                    "{}: as with {}'s symbols: {} goroutines, {} objects, {} live, roots {:?}",
                    case.name,
                    twin.name,
                    x.goroutines.len(),
                    x.objects,
                    x.live,
                    x.roots
                );
                compared += 1;
            }
            (x, y) => failures.push(format!(
                "{}: stripped {:?}\n  with symbols {:?}",
                case.name,
                x.map(|r| (r.goroutines.len(), r.objects, r.live, r.roots)),
                y.map(|r| (r.goroutines.len(), r.objects, r.live, r.roots))
            )),
        }
    }
    eprintln!(
        "stripped vs symbols: {compared} of {} stripped cases read the same, {shifted} with \
         a shifted layout not compared, {} failures",
        cases.len(),
        failures.len()
    );
    (compared, shifted, failures)
}

#[test]
fn missing_globals_say_why() {
    let Some(case) = testkit::cases()
        .into_iter()
        .find(|c| c.mode() == "stripped")
    else {
        return;
    };
    let core = open(&case);
    let proc = Process::new(&core).expect("process");
    let err = proc
        .locate_global("runtime.finq")
        .expect_err("finq has no signature");
    let msg = err.to_string();
    assert!(msg.contains("no structural signature"), "{msg}");
    // Cached: the same answer again.
    assert_eq!(
        proc.locate_global("runtime.finq")
            .map_err(|e| e.to_string()),
        Err(msg)
    );
}
