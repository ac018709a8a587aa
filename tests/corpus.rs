//! Every corpus core, read by `corefile` and the CLI, checked against independent
//! witnesses of the same process: gdb's reading of the core, the fixture's own truth
//! file, and the executable's build info.
//!
//! The corpus is `$GOCORE_CORPUS` (the full matrix from `cargo xtask matrix`) or the
//! committed `testdata/corpus`.

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::process::Command;

use corefile::{Core, OpenOptions};
use serde_json::Value;
use testkit::Case;

fn corpus() -> Vec<Case> {
    let cases = testkit::cases();
    assert!(
        !cases.is_empty(),
        "no corpus cases under {} (run `cargo xtask corpus`)",
        testkit::corpus_dir().display()
    );
    cases
}

fn open(case: &Case) -> Core {
    Core::open_with(
        case.core_path(),
        &OpenOptions::new().executable(case.exe_path()),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.name))
}

/// A core path with the executable next to it, for the tests of finding it: the
/// compressed core as stored (the executable beside it is `<program>.zst`) — except
/// for gdb's cores, 1.2 GB of mostly zeros, where the unpacked copy is used (the
/// unpacked executable sits beside it under its own name).
fn discoverable_core(case: &Case) -> std::path::PathBuf {
    if case.producer() == "gcore" {
        case.exe_path();
        case.core_path()
    } else {
        case.core_zst()
    }
}

/// The binary's version string is the case's release, with the experiments the case
/// was built with as its ` X:`/`-X:` suffix (none for ordinary builds).
fn assert_version(found: &str, case: &Case) {
    let exps: Vec<&str> = case.meta["experiments"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let v = gobinary::GoVersion::parse(found)
        .unwrap_or_else(|| panic!("{}: version {found:?} does not parse", case.name));
    assert_eq!(
        format!("go{}.{}.{}", v.major, v.minor, v.patch),
        case.go_version(),
        "{}: version {found:?}",
        case.name
    );
    assert_eq!(
        v.experiments, exps,
        "{}: experiments in {found:?}",
        case.name
    );
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// The committed corpus holds every supported release in default mode.
#[test]
fn committed_corpus_covers_every_release() {
    if std::env::var_os("GOCORE_CORPUS").is_some() {
        return; // a matrix run brings its own set
    }
    for v in [
        "go1.21.13",
        "go1.22.10",
        "go1.23.9",
        "go1.24.11",
        "go1.25.5",
        "go1.26.6",
        "go1.27.3",
    ] {
        let name = format!("zoo-{v}-default-crash-amd64");
        assert!(
            testkit::corpus_dir().join(&name).join("core.zst").is_file(),
            "committed corpus lacks {name}"
        );
    }
}

/// Opening a core and its executable gives no warnings, finds the executable by
/// itself (next to the compressed core, as `<program>.zst`), and the build info
/// says the release the case was built with.
#[test]
fn executable_is_found_verified_and_versioned() {
    for case in corpus() {
        let core =
            Core::open(discoverable_core(&case)).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let warnings: Vec<String> = core.warnings().iter().map(|w| w.to_string()).collect();
        assert!(warnings.is_empty(), "{}: warnings {warnings:?}", case.name);
        let exe = core
            .executable()
            .unwrap_or_else(|| panic!("{}: executable not found", case.name));
        assert!(exe.verified(), "{}: executable not verified", case.name);
        let bin = gobinary::GoBinary::parse(exe.data()).unwrap();
        let info = bin.build_info().unwrap();
        assert_version(&info.go_version, &case);
        let pie = case.mode() == "pie";
        assert_eq!(
            exe.load_bias() != 0,
            pie,
            "{}: load bias {:#x}",
            case.name,
            exe.load_bias()
        );
    }
}

/// Every file-backed mapping gdb lists is a mapping of ours with the same range,
/// file offset and path, and nothing readable is missing: what the core omits comes
/// from the executable and libraries.
#[test]
fn mappings_agree_with_gdb() {
    for case in corpus() {
        let core = open(&case);
        let gdb = case.gdb_mappings();
        let gdb = gdb.as_array().expect("gdb-mappings.json is an array");
        for g in gdb {
            let (start, end, off) = (u64_of(&g["start"]), u64_of(&g["end"]), u64_of(&g["offset"]));
            let m = core
                .mappings()
                .iter()
                .find(|m| m.start() == start)
                .unwrap_or_else(|| panic!("{}: gdb mapping {start:#x} not found", case.name));
            assert_eq!(m.end(), end, "{}: end of {start:#x}", case.name);
            assert_eq!(
                m.file_offset(),
                Some(off),
                "{}: offset of {start:#x}",
                case.name
            );
            if let Some(obj) = g["objfile"].as_str() {
                assert_eq!(
                    m.path().map(|p| p.display().to_string()).as_deref(),
                    Some(obj),
                    "{}: file of {start:#x}",
                    case.name
                );
            }
            if let Some(perms) = g.get("perms").and_then(Value::as_str) {
                assert!(
                    perms.starts_with(&m.perms().to_string()),
                    "{}: perms of {start:#x}: gdb {perms}, ours {}",
                    case.name,
                    m.perms()
                );
            }
        }
        // Cores with an NT_FILE note (all but qemu's) list the executable's mappings.
        if case.arch() == "amd64" {
            assert!(
                !gdb.is_empty(),
                "{}: gdb listed no file mappings",
                case.name
            );
        }
        for m in core.mappings() {
            if m.perms().read {
                assert_eq!(
                    m.bytes_missing(),
                    0,
                    "{}: readable mapping {:#x}-{:#x} ({:?}) has missing bytes",
                    case.name,
                    m.start(),
                    m.end(),
                    m.path()
                );
            }
        }
    }
}

/// The same threads as gdb, and every register gdb shows has the same value.
#[test]
fn registers_agree_with_gdb() {
    for case in corpus() {
        let core = open(&case);
        let gdb = case.gdb_registers();
        let gdb = gdb.as_array().expect("gdb-registers.json is an array");
        let mut ours: Vec<u64> = core.threads().iter().map(|t| u64::from(t.tid)).collect();
        let mut theirs: Vec<u64> = gdb.iter().map(|t| u64_of(&t["lwp"])).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{}: thread ids", case.name);
        for g in gdb {
            let tid = u64_of(&g["lwp"]);
            let t = core
                .threads()
                .iter()
                .find(|t| u64::from(t.tid) == tid)
                .unwrap();
            let regs: BTreeMap<&str, u64> = t.registers.iter().collect();
            let mut compared = 0;
            for (name, value) in g["regs"].as_object().unwrap() {
                // gdb calls arm64's pstate cpsr and shows its low 32 bits.
                let (ours, mask) = match name.as_str() {
                    "cpsr" => (regs.get("pstate"), 0xffff_ffff),
                    n => (regs.get(n), u64::MAX),
                };
                if let Some(v) = ours {
                    assert_eq!(
                        v & mask,
                        u64_of(value) & mask,
                        "{}: thread {tid} register {name}",
                        case.name
                    );
                    compared += 1;
                }
            }
            assert!(
                compared >= 16,
                "{}: thread {tid}: only {compared} registers compared",
                case.name
            );
        }
    }
}

/// Every named object of the truth file is readable in the core, and the process id
/// and signal are what the run recorded.
#[test]
fn truth_objects_are_in_memory() {
    for case in corpus() {
        let core = open(&case);
        let truth = case.truth();
        if let Some(p) = core.process() {
            assert_eq!(
                u64::from(p.pid),
                u64_of(&truth["pid"]),
                "{}: pid",
                case.name
            );
        }
        let objs = truth["named_objects"].as_array().unwrap();
        assert!(!objs.is_empty(), "{}: no named objects", case.name);
        for o in objs {
            let addr = u64_of(&o["addr"]);
            let size = u64_of(&o["size"]).max(1) as usize;
            core.read(addr, size).unwrap_or_else(|e| {
                panic!("{}: named object {} unreadable: {e}", case.name, o["name"])
            });
        }
        for (name, addr) in truth["globals"].as_object().unwrap() {
            core.read_ptr(u64_of(addr))
                .unwrap_or_else(|e| panic!("{}: global {name} unreadable: {e}", case.name));
        }
        let sig = core.signal().map(|s| s.signo);
        match case.producer().as_str() {
            "crash" | "sigquit" => assert_eq!(sig, Some(6), "{}: SIGABRT expected", case.name),
            _ => {}
        }
    }
}

/// Truncated and garbled copies of a core open with warnings or fail with an error
/// naming the problem; reads never panic.
#[test]
fn damaged_cores_give_errors_not_panics() {
    // The smallest core the kernel wrote: gdb's cores end in section headers that a
    // cut can remove without touching any segment, and are 1.2 GB of mostly zeros.
    let cases = corpus();
    let case = cases
        .iter()
        .filter(|c| c.producer() != "gcore")
        .min_by_key(|c| {
            std::fs::metadata(c.core_zst())
                .map(|m| m.len())
                .unwrap_or(u64::MAX)
        })
        .unwrap_or(&cases[0]);
    let bytes = std::fs::read(case.core_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core");
    let (mut errors, mut partial) = (0, 0);
    let cuts = [
        0usize,
        1,
        16,
        63,
        64,
        100,
        1000,
        4096,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 1,
    ];
    for cut in cuts {
        std::fs::write(&path, &bytes[..cut.min(bytes.len())]).unwrap();
        match Core::open_with(&path, &OpenOptions::new().executable(case.exe_path())) {
            Err(e) => {
                assert!(!e.to_string().is_empty());
                errors += 1;
            }
            Ok(core) => {
                partial += 1;
                if cut > 64 && cut < bytes.len() {
                    assert!(
                        !core.warnings().is_empty() || cut >= bytes.len(),
                        "truncated at {cut}: no warning"
                    );
                }
                for m in core.mappings() {
                    let _ = core.read(m.start(), 64);
                    let _ = core.read(m.end().saturating_sub(8), 8);
                }
            }
        }
    }
    // Garble: flip bytes in the headers and notes (the first pages), patching one
    // full copy in place and restoring it after each try.
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let mut rng = 0x2545F4914F6CDD1Du64;
    for _ in 0..200 {
        let mut patched = Vec::new();
        for _ in 0..8 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = (rng as usize) % bytes.len().min(16384);
            let b = bytes[i] ^ ((rng >> 32) as u8 | 1);
            file.write_all_at(&[b], i as u64).unwrap();
            patched.push(i);
        }
        if let Ok(core) = Core::open_with(&path, &OpenOptions::new().executable(case.exe_path())) {
            for t in core.threads() {
                let _ = core.read_ptr(t.registers.sp());
            }
            for m in core.mappings() {
                let _ = core.read(m.start(), 16);
            }
        }
        for i in patched {
            file.write_all_at(&bytes[i..i + 1], i as u64).unwrap();
        }
    }
    assert!(errors > 0, "no truncated copy failed");
    assert!(partial > 0, "no truncated copy opened with warnings");
}

/// The CLI commands run on every core and agree with the library.
#[test]
fn cli_overview_mappings_threads() {
    let exe = env!("CARGO_BIN_EXE_gocore");
    for case in corpus() {
        // `overview` opens the compressed core and finds the executable next to it;
        // the others read the unpacked copy (decompressing is the slow part).
        let run = |cmd: &str| -> Value {
            let mut c = Command::new(exe);
            c.args([cmd, "--json"]);
            if cmd == "overview" {
                c.arg(discoverable_core(&case));
            } else {
                c.arg(case.core_path()).arg("--exe").arg(case.exe_path());
            }
            let out = c.output().unwrap();
            assert!(
                out.status.success(),
                "{}: gocore {cmd} failed: {}",
                case.name,
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let ov = run("overview");
        assert_version(ov["go_version"].as_str().unwrap_or_default(), &case);
        assert_eq!(ov["arch"], case.arch().as_str(), "{}", case.name);
        let core = open(&case);
        assert_eq!(ov["threads"], core.threads().len(), "{}", case.name);
        let maps = run("mappings");
        assert_eq!(
            maps.as_array().unwrap().len(),
            core.mappings().len(),
            "{}",
            case.name
        );
        let threads = run("threads");
        assert_eq!(
            threads.as_array().unwrap().len(),
            core.threads().len(),
            "{}",
            case.name
        );
    }
}

/// In a core the runtime dumped itself (crash, SIGQUIT), the thread that took the
/// signal stopped in the runtime's abort path, and after a panic the busy
/// goroutine's thread is in the fixture's spin loop.
#[test]
fn signalled_thread_is_in_the_abort_path() {
    let exe = env!("CARGO_BIN_EXE_gocore");
    const ABORT_PATH: [&str; 6] = [
        "runtime.raise",
        "runtime.raiseproc",
        "runtime.tgkill",
        "runtime.dieFromSignal",
        "runtime.crash",
        "runtime.abort",
    ];
    for case in corpus() {
        if !matches!(case.producer().as_str(), "crash" | "sigquit") {
            continue;
        }
        let out = Command::new(exe)
            .args(["threads", "--json"])
            .arg(case.core_path())
            .arg("--exe")
            .arg(case.exe_path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", case.name);
        let threads: Value = serde_json::from_slice(&out.stdout).unwrap();
        let threads = threads.as_array().unwrap();
        let core = open(&case);
        let tid = core
            .signal()
            .and_then(|s| s.tid)
            .or_else(|| core.threads().first().map(|t| t.tid))
            .unwrap();
        let t = threads
            .iter()
            .find(|t| t["tid"] == tid)
            .unwrap_or_else(|| panic!("{}: no thread {tid}", case.name));
        let func = t["function"].as_str().unwrap_or("?");
        assert!(
            ABORT_PATH.contains(&func),
            "{}: signalled thread {tid} stopped in {func}",
            case.name
        );
        // After a panic the runtime aborts from the panicking thread and leaves the
        // others running; on SIGQUIT every thread is in the signal handler instead.
        // The busy goroutine runs main.spinNosplit on its own thread: that thread
        // stopped there, or (arm64 under qemu-user, where the crash's SIGQUIT to
        // the other threads can still be in delivery when the core is written) in
        // the signal handler that interrupted it, and then the goroutine's
        // innermost frame, unwound from the signal context, is main.spinNosplit.
        if case.program() == "zoo" && case.producer() == "crash" {
            let out = Command::new(exe)
                .args(["goroutines", "--json"])
                .arg(case.core_path())
                .arg("--exe")
                .arg(case.exe_path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: goroutines", case.name);
            let gs: Value = serde_json::from_slice(&out.stdout).unwrap();
            let busy = gs
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["start_function"] == "main.busy")
                .unwrap_or_else(|| panic!("{}: no main.busy goroutine", case.name));
            assert_eq!(busy["status"], "running", "{}: main.busy", case.name);
            assert_eq!(
                busy["frames"][0]["function"], "main.spinNosplit",
                "{}: main.busy's innermost frame",
                case.name
            );
            let thread = threads
                .iter()
                .find(|t| t["tid"] == busy["thread"])
                .unwrap_or_else(|| panic!("{}: main.busy's thread not listed", case.name));
            let func = thread["function"].as_str().unwrap_or("?");
            const SIGNAL_PATH: [&str; 4] = [
                "runtime.sigtramp",
                "runtime.sigtrampgo",
                "runtime.sighandler",
                "runtime.cgoSigtramp",
            ];
            assert!(
                func == "main.spinNosplit" || SIGNAL_PATH.contains(&func),
                "{}: main.busy's thread {} stopped in {func}",
                case.name,
                busy["thread"]
            );
            if func != "main.spinNosplit" {
                eprintln!(
                    "{}: main.busy's thread {} in {func}, interrupted in main.spinNosplit",
                    case.name, busy["thread"]
                );
            }
        }
    }
}
