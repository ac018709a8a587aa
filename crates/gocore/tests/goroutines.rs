//! Goroutines, their ids, statuses, wait reasons and frame function names agree with
//! the runtime's own crash traceback (`GOTRACEBACK=crash` output stored with every
//! corpus case) for every goroutine it printed.
//!
//! Accepted differences, each checked precisely:
//!
//! * **Elided frames.** The runtime prints at most the innermost 50 and the
//!   outermost 50 logical frames of a stack, with `...N frames elided...` between
//!   them; then the first 50 and the last 50 of ours must match what it printed.
//! * **A running goroutine seen later than the runtime printed it.** The runtime
//!   prints the goroutine that panicked or threw from the PC/SP where the panic
//!   started (`fatalpanic`/`fatalthrow` pass their caller's), but the core is
//!   written afterwards, when that thread has gone on into `crash` → `raise`. Our
//!   stack, unwound from the thread's registers (or from `g.sched` if the thread is
//!   on `g0`), must then end with exactly the printed frames, and every extra inner
//!   frame must be a runtime function (`runtime.*`, `internal/*`).
//! * **`goroutine running on other thread; stack unavailable`.** The runtime printed
//!   no frames, so only the header is compared (we do unwind it, from its thread).
//! * **Wait time.** `, N minutes` in the header needs the time of the dump, which a
//!   core does not record: it is removed from the runtime's header before comparing
//!   with [`Goroutine::state_full`].
//! * **gcore: runtime goroutines move on.** With the `gcore` producer the core is
//!   taken by gdb first and the traceback printed afterwards (SIGQUIT), so a
//!   runtime-internal goroutine (started at a `runtime.*` function: the scavenger,
//!   sweeper, GC workers) may have changed state in between (seen: the scavenger
//!   `sleep` in the core, `GC scavenge wait` in the traceback). Such mismatches are
//!   counted and printed, not failed; program goroutines must agree.
//! * **Any producer: a runtime goroutine readied after the traceback.** `sysmon`
//!   is not frozen by the crash path (`freezetheworld` stops the Ps; sysmon runs
//!   without one), and it keeps waking the scavenger when asked
//!   (`scavenger.sysmonWake` → `scavenger.wake()` in `runtime.sysmon`), between
//!   the traceback and the core. Seen on a crash core (go1.24.11): the scavenger
//!   printed `[GC scavenge wait]`, `runnable` in the core. Accepted only for a
//!   goroutine started at a `runtime.*` function, printed waiting and `runnable`
//!   in the core; its frames (still those it parked with) must agree.
//! * **Any producer: a runtime goroutine that ran after the traceback.** The
//!   reverse race: `freezetheworld` is best-effort ("stopwait and preemption
//!   requests can be lost due to races with concurrently executing threads"), so
//!   a runtime goroutine printed `runnable` may still be picked up by an M before
//!   the kernel stops every thread, run, and park again. Seen on a crash core
//!   (go1.24.11, cgo): the scavenger printed `[runnable]`, `sleep` in the core.
//!   Accepted only for a goroutine started at a `runtime.*` function, printed
//!   `runnable` and waiting in the core; its frames must agree (it parks where it
//!   parked before).
//! * Goroutine 0 sections are thread (`g0`) stacks, not goroutines: skipped.

use std::collections::{BTreeMap, BTreeSet};

use corefile::{Core, OpenOptions};
use gocore::goroutine::{is_runtime_function, printed_name};
use gocore::{Goroutine, Process, Stack, Status};

/// Inner and outer frames the runtime prints before/after eliding (`tracebackInnerFrames`,
/// `tracebackOuterFrames`).
const TB_INNER: usize = 50;
const TB_OUTER: usize = 50;

/// Collapses generic instantiation brackets, which the runtime prints as `[...]`.
fn norm(name: &str) -> String {
    let name = printed_name(name);
    let mut out = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '[' => {
                if depth == 0 {
                    out.push_str("[...]");
                }
                depth += 1;
            }
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Goroutine ids whose printed stack had `...N frames elided...`.
fn elided_ids(text: &str) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let mut cur = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("goroutine ") {
            cur = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|s| s.parse::<u64>().ok());
        } else if line.starts_with("...") && line.contains("frames elided") {
            if let Some(id) = cur {
                out.insert(id);
            }
        }
    }
    out
}

fn strip_minutes(state_full: &str) -> String {
    state_full
        .split(", ")
        .filter(|p| !p.ends_with(" minutes") && !p.ends_with(" minute"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Default)]
struct Tally {
    cases: usize,
    goroutines: usize,
    frames_compared: usize,
    elided: usize,
    running_suffix: usize,
    unavailable: usize,
    gcore_moved: usize,
    readied: usize,
    by_key: BTreeMap<String, (usize, usize)>,
}

/// Compares one printed goroutine with ours; returns a description of the mismatch.
fn compare(
    tb: &testkit::TbGoroutine,
    g: &Goroutine,
    stack: &Stack,
    elided: bool,
    readied: bool,
    tally: &mut Tally,
) -> Option<String> {
    if !readied && tb.state != g.state() {
        return Some(format!("state {:?}, ours {:?}", tb.state, g.state()));
    }
    let want_full = strip_minutes(&tb.state_full);
    if !readied && want_full != g.state_full() {
        return Some(format!(
            "header {:?}, ours {:?}",
            tb.state_full,
            g.state_full()
        ));
    }
    if tb.frames.is_empty() {
        tally.unavailable += 1;
        return None;
    }
    let ours: Vec<String> = stack.frames.iter().map(|f| norm(&f.function)).collect();
    let want: Vec<String> = tb.frames.iter().map(|f| norm(f)).collect();
    let describe = || {
        format!(
            "frames differ{}:\n  runtime: {want:?}\n  ours:    {ours:?}",
            stack
                .error
                .as_ref()
                .map(|e| format!(" (ours stopped: {e})"))
                .unwrap_or_default()
        )
    };
    tally.frames_compared += 1;
    if elided {
        tally.elided += 1;
        let ok = want.len() == TB_INNER + TB_OUTER
            && ours.len() > want.len()
            && ours[..TB_INNER] == want[..TB_INNER]
            && ours[ours.len() - TB_OUTER..] == want[TB_INNER..];
        return (!ok).then(describe);
    }
    if ours == want {
        return None;
    }
    if g.status == Status::Running && ours.len() > want.len() {
        let extra = ours.len() - want.len();
        let raw_extra = &stack.frames[..extra];
        if ours[extra..] == want[..] && raw_extra.iter().all(|f| is_runtime_function(&f.function)) {
            tally.running_suffix += 1;
            return None;
        }
    }
    Some(describe())
}

#[test]
fn goroutines_agree_with_the_runtime_traceback() {
    let cases = testkit::cases();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for case in &cases {
        let key = format!(
            "{} {} {} {}",
            case.go_version(),
            case.arch(),
            case.producer(),
            case.mode()
        );
        let core = match Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        ) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: open: {e}", case.name));
                continue;
            }
        };
        let proc = match Process::new(&core) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: process: {e}", case.name));
                continue;
            }
        };
        let gs = match proc.goroutines() {
            Ok(gs) => gs,
            Err(e) => {
                failures.push(format!("{}: goroutines: {e}", case.name));
                continue;
            }
        };
        let mut ours = BTreeMap::new();
        for g in gs {
            match g {
                Ok(g) => {
                    ours.insert(g.id, g);
                }
                Err(e) => failures.push(format!("{}: reading a goroutine: {e}", case.name)),
            }
        }
        let elided = elided_ids(&case.traceback_text());
        let before = failures.len();
        for tb in case.traceback().iter().filter(|t| t.id != 0) {
            tally.goroutines += 1;
            let Some(g) = ours.get(&tb.id) else {
                failures.push(format!("{}: goroutine {} missing", case.name, tb.id));
                continue;
            };
            let stack = g.stack(&proc);
            let system = g
                .start_function
                .as_deref()
                .is_some_and(|f| f.starts_with("runtime."));
            // Printed waiting (a wait reason, not a status name), runnable now; or
            // printed runnable, waiting now (it ran after the traceback).
            let printed_waiting = !["running", "runnable", "syscall"].contains(&tb.state.as_str());
            let readied = system
                && tb.state != g.state()
                && ((g.status == Status::Runnable && printed_waiting)
                    || (g.status == Status::Waiting && tb.state == "runnable"));
            let eid = elided.contains(&tb.id);
            if let Some(why) = compare(tb, g, &stack, eid, readied, &mut tally) {
                if case.producer() == "gcore" && system {
                    tally.gcore_moved += 1;
                    eprintln!(
                        "{}: goroutine {} changed between gcore and the traceback: {why}",
                        case.name, tb.id
                    );
                    continue;
                }
                failures.push(format!(
                    "{}: goroutine {} [{}]: {why}",
                    case.name, tb.id, tb.state_full
                ));
            } else if readied {
                tally.readied += 1;
                eprintln!(
                    "{}: runtime goroutine {} ({}) moved on after the traceback: printed [{}], {:?} in the core",
                    case.name,
                    tb.id,
                    g.start_function.as_deref().unwrap_or("?"),
                    tb.state_full,
                    g.state()
                );
            }
        }
        tally.cases += 1;
        let e = tally.by_key.entry(key).or_default();
        e.0 += 1;
        if failures.len() == before {
            e.1 += 1;
        }
    }
    eprintln!(
        "{} cases, {} printed goroutines, {} stacks compared ({} elided, {} running with extra inner runtime frames), {} without printed frames, {} runtime goroutines changed after gcore, {} runtime goroutines moved on after the traceback",
        tally.cases,
        tally.goroutines,
        tally.frames_compared,
        tally.elided,
        tally.running_suffix,
        tally.unavailable,
        tally.gcore_moved,
        tally.readied
    );
    for (k, (n, ok)) in &tally.by_key {
        eprintln!("  {k}: {ok}/{n} cases agree");
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches; the first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(cases.is_empty() || tally.cases > 0);
}

#[test]
fn goroutine_fields_are_consistent() {
    for case in testkit::cases() {
        let Ok(core) = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        ) else {
            continue;
        };
        let Ok(proc) = Process::new(&core) else {
            continue;
        };
        let Ok(gs) = proc.goroutines() else { continue };
        for g in gs.flatten() {
            assert!(g.stack_lo < g.stack_hi, "{}: goroutine {}", case.name, g.id);
            // Goroutines of C threads calling into Go (cgo) have no `go` statement.
            if g.parent_id.is_some() {
                assert!(
                    g.created_by.is_some(),
                    "{}: goroutine {} has no creation site",
                    case.name,
                    g.id
                );
            }
            if g.status == Status::Waiting {
                assert!(g.wait_reason.is_some(), "{}: goroutine {}", case.name, g.id);
            }
            let again = proc.goroutine_at(g.addr).unwrap();
            assert_eq!(again, g);
            // Every frame lies on the goroutine's own stack.
            for f in g.stack(&proc).frames {
                assert!(
                    g.stack_lo <= f.sp && f.sp <= g.stack_hi,
                    "{}: goroutine {} frame {} sp {:#x}",
                    case.name,
                    g.id,
                    f.function,
                    f.sp
                );
            }
        }
    }
}
