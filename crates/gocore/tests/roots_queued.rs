//! Queued finalizers and cleanups as GC roots, checked against zoo's `"queued"`
//! truth section (`testdata/programs/zoo/queued*.go`, testdata/README.md).
//!
//! The fixture blocks the finalizer goroutine (and, from Go 1.25, the cleanup
//! goroutine) in a finalizer (cleanup) that never returns, then makes objects with
//! finalizers — and objects with cleanups whose argument is a `*main.QueuedCleanArg`
//! — unreachable and runs `runtime.GC()`: their finalizers and cleanups are queued
//! and never run. The truth records the addresses (as `uintptr`, which keeps nothing
//! alive). On every zoo case whose truth has the section (older cases lack it: they
//! are printed and skipped), with DWARF, without, and stripped:
//!
//! * **finalizer queue** (`runtime.allfin`): the heap objects its roots point at
//!   are exactly the queued `main.QueuedFin`s, the blocking `main.FinBlocker` (its
//!   entry stays in its block while its finalizer runs: `runfinq` clears it after
//!   the call) and, on Go 1.24 only, one closure per queued cleanup (1.24 queues a
//!   cleanup there, `fn` a closure over the cleanup and its argument, `arg` nil) —
//!   each closure holding exactly one recorded argument. Each finalizer entry gives
//!   four roots (`fn`, `arg`, `fint`, `ot`, all non-nil), a 1.24 cleanup entry one
//!   (`fn`); the `arg` roots point at the objects themselves and each entry's `ot`
//!   word is the descriptor of `*T` (`*main.QueuedFin`, `*main.FinBlocker`);
//! * **cleanup queue** (`runtime.gcCleanups`, Go 1.25+): each queued argument is
//!   held (directly or through one box) by exactly one heap object its roots point
//!   at. Go 1.25 queues closures of `runtime.AddCleanup[…].func1` (one root each,
//!   holding a box with the argument: the runtime takes `&arg`; the blocking
//!   cleanup's entry stays while it runs). Go 1.26+ queues a `cleanupFn` {`call`,
//!   `fn`, `arg`} (three roots each; `arg` a box holding the argument, `call` a
//!   closure of `AddCleanup[…].func1` wrapping `callCleanup[S]`, holding nothing
//!   recorded; the runtime clears the blocking cleanup's entry *before* calling
//!   it, so that argument is not in the queue);
//! * every recorded object is live; with only the queue roots the queued ones are
//!   still live; without the queue roots they are garbage (nothing else holds
//!   them), while the blockers stay live through their blocked goroutine's frame;
//! * the recorded goroutines run `main.blockFinalizer` / `main.blockCleanup`;
//! * typing: every queued `main.QueuedFin` and the `main.FinBlocker` are typed
//!   as such, with DWARF and without (`Typing` reads each finalizer-queue entry's
//!   `ot`); no recorded object is typed as anything else (on Go 1.24 and 1.25 the
//!   cleanup arguments were once typed `uint8`, propagated from the closure's
//!   captured `&arg` of generic shape type `*go.shape.*uint8`). How many cleanup
//!   arguments are typed is printed, not asserted: nothing the runtime keeps names
//!   their type without DWARF.

use std::collections::{BTreeMap, BTreeSet};

use corefile::{Core, OpenOptions};
use gocore::{Heap, Process, Reachability, Root, RootKind, RootOptions, RootSet, Typing};
use serde_json::Value;

fn addrs(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn minor(version: &str) -> u32 {
    version
        .trim_start_matches("go")
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// The heap objects the roots point into: object address → roots pointing at it.
fn heap_targets<'r>(heap: &Heap<'_>, roots: impl Iterator<Item = &'r Root>) -> BTreeMap<u64, u64> {
    let mut m = BTreeMap::new();
    for r in roots {
        if let Some((o, _)) = heap.object_at(r.target) {
            *m.entry(o.addr).or_insert(0) += 1;
        }
    }
    m
}

/// The recorded addresses an object holds: among its pointer words, or those of the
/// objects they point at (a closure may capture its argument by reference: the
/// runtime's `AddCleanup` takes `&arg`, so the closure holds a box holding it).
fn held(heap: &Heap<'_>, obj: u64, wanted: &BTreeSet<u64>) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let words = |a: u64| -> Vec<u64> {
        heap.object_at(a)
            .map(|(o, _)| {
                heap.pointers(&o)
                    .filter_map(Result::ok)
                    .map(|p| p.target)
                    .filter(|&t| t != 0)
                    .collect()
            })
            .unwrap_or_default()
    };
    for t in words(obj) {
        if wanted.contains(&t) {
            out.insert(t);
        } else if heap.object_at(t).is_some() {
            out.extend(words(t).into_iter().filter(|t| wanted.contains(t)));
        }
    }
    out
}

/// Name of the function a funcval (closure) object's first word points into.
fn closure_fn(proc: &Process<'_>, obj: u64) -> String {
    proc.read_ptr(obj)
        .ok()
        .and_then(|pc| proc.func_for_pc(pc))
        .map(|f| f.name.to_string())
        .unwrap_or_default()
}

/// Checks the queue's heap targets: `holders` of them hold exactly one recorded
/// address each (all distinct), the others none and are closures of a function
/// whose name starts with `other_fn`; each holder is a closure of `holder_fn` if
/// given. Returns the recorded addresses held.
#[allow(clippy::too_many_arguments)]
fn check_holders(
    proc: &Process<'_>,
    heap: &Heap<'_>,
    targets: &BTreeMap<u64, u64>,
    wanted: &BTreeSet<u64>,
    holder_fn: Option<&str>,
    other_fn: Option<&str>,
    what: &str,
    fail: &mut Vec<String>,
) -> BTreeSet<u64> {
    let mut got = BTreeSet::new();
    for &t in targets.keys() {
        let h = held(heap, t, wanted);
        let f = closure_fn(proc, t);
        match h.len() {
            0 => match other_fn {
                Some(p) if f.starts_with(p) => {}
                _ => fail.push(format!(
                    "{what}: object {t:#x} (closure of {f:?}) holds none of the recorded addresses"
                )),
            },
            1 => {
                if let Some(p) = holder_fn {
                    if !f.starts_with(p) {
                        fail.push(format!(
                            "{what}: object {t:#x} is a closure of {f:?}, want {p}…"
                        ));
                    }
                }
            }
            _ => fail.push(format!("{what}: object {t:#x} holds {h:x?}")),
        }
        for a in h {
            if !got.insert(a) {
                fail.push(format!("{what}: {a:#x} held by more than one entry"));
            }
        }
    }
    got
}

#[test]
fn queued_finalizers_and_cleanups_are_roots() {
    let cases = testkit::cases_where(|c| c.program() == "zoo");
    let (mut checked, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    let mut typing_report = Vec::new();
    for case in &cases {
        let truth = case.truth();
        let q = &truth["queued"];
        if q.is_null() {
            println!(
                "{}: truth has no \"queued\" section (older case): skipped",
                case.name
            );
            skipped += 1;
            continue;
        }
        let name = &case.name;
        let mut fail = Vec::new();
        let v = minor(&case.go_version());
        let fin = &q["finalizers"];
        let cl = &q["cleanups"];
        let fins = addrs(&fin["objects"]);
        let fin_blocker = fin["blocker"].as_u64().unwrap_or(0);
        let args = addrs(&cl["args"]);
        let clean_blocker = cl["blocker_arg"].as_u64().unwrap_or(0);
        let queue = cl["queue"].as_str().unwrap_or("");
        assert!(
            !fins.is_empty() && fin_blocker != 0,
            "{name}: queued section incomplete"
        );
        assert_eq!(
            q["errors"].as_array().map_or(0, Vec::len),
            0,
            "{name}: fixture errors {}",
            q["errors"]
        );
        assert_eq!(
            fin["ran"].as_u64(),
            Some(0),
            "{name}: a queued finalizer ran"
        );
        assert!(
            cl.is_null() || cl["ran"].as_u64() == Some(0),
            "{name}: a queued cleanup ran"
        );
        assert_eq!(
            queue,
            match v {
                ..=23 => "",
                24 => "finq",
                _ => "cleanup-queue",
            },
            "{name}: cleanup queue"
        );

        let core = Core::open_with(
            case.core_path(),
            &OpenOptions::new().executable(case.exe_path()),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let proc = Process::new(&core).unwrap_or_else(|e| panic!("{name}: {e}"));
        let heap = Heap::new(&proc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let roots = RootSet::collect(&proc, &heap).unwrap_or_else(|e| panic!("{name}: {e}"));
        for w in roots.warnings() {
            if w.contains("finq") || w.contains("cleanup") || w.contains("finalizer") {
                fail.push(format!("roots warning: {w}"));
            }
        }

        // ---- the finalizer queue
        let finq: Vec<&Root> = roots
            .roots()
            .filter(|r| r.kind == RootKind::FinQueue)
            .collect();
        let targets = heap_targets(&heap, finq.iter().copied());
        let mut want: BTreeSet<u64> = fins.iter().copied().collect();
        want.insert(fin_blocker);
        for &a in &want {
            let n = finq.iter().filter(|r| r.target == a).count();
            if n != 1 {
                fail.push(format!(
                    "finq: {n} roots point at queued object {a:#x}, want 1 (its arg)"
                ));
            }
        }
        let extra: BTreeMap<u64, u64> = targets
            .iter()
            .filter(|(a, _)| !want.contains(a))
            .map(|(&a, &n)| (a, n))
            .collect();
        let n_clean_finq = if queue == "finq" { args.len() } else { 0 };
        if extra.len() != n_clean_finq {
            fail.push(format!(
                "finq: {} heap targets besides the queued objects, want {n_clean_finq}: {:x?}",
                extra.len(),
                extra.keys().collect::<Vec<_>>()
            ));
        }
        if queue == "finq" {
            let argset: BTreeSet<u64> = args.iter().copied().collect();
            let got = check_holders(
                &proc,
                &heap,
                &extra,
                &argset,
                Some("runtime.AddCleanup["),
                None,
                "finq cleanup closure",
                &mut fail,
            );
            if got != argset {
                fail.push(format!(
                    "finq: cleanup args held {} of {}",
                    got.len(),
                    argset.len()
                ));
            }
        }
        let want_roots = 4 * want.len() + n_clean_finq;
        if finq.len() != want_roots {
            fail.push(format!("finq: {} roots, want {want_roots}", finq.len()));
        }
        // Each finalizer entry's `ot` word (at the `arg` root's slot moved from
        // `finalizer.arg` to `finalizer.ot`) is the descriptor of `*T`.
        let l = proc.layouts();
        let reader = proc
            .binary()
            .moduledata()
            .ok()
            .and_then(|md| proc.binary().type_reader(&md).ok());
        let mut ot_names = BTreeMap::new();
        if let (Some(r), Ok(oa), Ok(oo)) = (
            &reader,
            l.offset("runtime.finalizer", "arg"),
            l.offset("runtime.finalizer", "ot"),
        ) {
            for a in finq.iter().filter(|r| want.contains(&r.target)) {
                let name = proc
                    .read_ptr(a.slot - oa + oo)
                    .ok()
                    .and_then(|ot| r.type_at(ot.wrapping_sub(proc.load_bias())).ok())
                    .map(|t| t.name);
                ot_names.insert(a.target, name);
            }
        }
        for &a in &want {
            let ty = if a == fin_blocker {
                "*main.FinBlocker"
            } else {
                "*main.QueuedFin"
            };
            match ot_names.get(&a) {
                Some(Some(n)) if n == ty => {}
                other => fail.push(format!("finq entry of {a:#x}: ot {other:?}, want {ty}")),
            }
        }

        // ---- the cleanup queue (Go 1.25+)
        let cq: Vec<&Root> = roots
            .roots()
            .filter(|r| r.kind == RootKind::CleanupQueue)
            .collect();
        let ctargets = heap_targets(&heap, cq.iter().copied());
        if queue == "cleanup-queue" {
            let mut argset: BTreeSet<u64> = args.iter().copied().collect();
            argset.insert(clean_blocker);
            // 1.25: closures of AddCleanup's func1 holding the argument's box; 1.26+:
            // `arg` boxes (not closures) and `call` closures (AddCleanup's func1
            // wrapping `callCleanup[S]`) holding nothing recorded.
            let (holder_fn, other_fn) = if v >= 26 {
                (None, Some("runtime.AddCleanup["))
            } else {
                (Some("runtime.AddCleanup["), None)
            };
            let got = check_holders(
                &proc,
                &heap,
                &ctargets,
                &argset,
                holder_fn,
                other_fn,
                "cleanup queue",
                &mut fail,
            );
            // 1.25 clears an entry after running it, 1.26+ before.
            let blocker_queued = v == 25;
            let mut want_got: BTreeSet<u64> = args.iter().copied().collect();
            if blocker_queued {
                want_got.insert(clean_blocker);
            }
            if got != want_got {
                fail.push(format!(
                    "cleanup queue: holds {} recorded args (blocker {}), want {} (blocker {blocker_queued})",
                    got.len(),
                    got.contains(&clean_blocker),
                    want_got.len()
                ));
            }
            let per_entry = if v >= 26 { 3 } else { 1 };
            if cq.len() != per_entry * want_got.len() {
                fail.push(format!(
                    "cleanup queue: {} roots, want {}",
                    cq.len(),
                    per_entry * want_got.len()
                ));
            }
        } else if !cq.is_empty() {
            fail.push(format!("{} cleanup-queue roots before Go 1.25", cq.len()));
        }

        // ---- liveness
        let queued: Vec<u64> = fins.iter().chain(&args).copied().collect();
        let blockers: Vec<u64> = [fin_blocker, clean_blocker]
            .into_iter()
            .filter(|&a| a != 0)
            .collect();
        let id = |a: u64| {
            heap.find_object(a)
                .filter(|&(_, off)| off == 0)
                .map(|(id, _)| id)
        };
        let all = Reachability::compute(&proc, &heap, roots.roots()).unwrap();
        let only_queues = Reachability::compute(
            &proc,
            &heap,
            roots
                .roots()
                .filter(|r| matches!(r.kind, RootKind::FinQueue | RootKind::CleanupQueue)),
        )
        .unwrap();
        let no_queues_roots = RootSet::collect_with(
            &proc,
            &heap,
            &RootOptions {
                queues: false,
                ..Default::default()
            },
        )
        .unwrap();
        let no_queues = Reachability::compute(&proc, &heap, no_queues_roots.roots()).unwrap();
        for &a in queued.iter().chain(&blockers) {
            let Some(o) = id(a) else {
                fail.push(format!("{a:#x}: not the start of an allocated object"));
                continue;
            };
            if !all.is_live(o) {
                fail.push(format!("{a:#x}: not live"));
            }
            let blocker = blockers.contains(&a);
            if !blocker && !only_queues.is_live(o) {
                fail.push(format!("{a:#x}: not live from the queue roots alone"));
            }
            if blocker != no_queues.is_live(o) {
                fail.push(format!(
                    "{a:#x}: live without the queue roots: {}, want {blocker}",
                    no_queues.is_live(o)
                ));
            }
        }

        // ---- the blocked goroutines
        let gs: BTreeMap<u64, gocore::Goroutine> = proc
            .goroutines()
            .map(|it| it.filter_map(Result::ok).map(|g| (g.id, g)).collect())
            .unwrap_or_default();
        for (g, func) in [
            (&fin["goroutine"], "main.blockFinalizer"),
            (&cl["goroutine"], "main.blockCleanup"),
        ] {
            let Some(gid) = g.as_u64().filter(|&g| g != 0) else {
                continue;
            };
            match gs.get(&gid) {
                Some(g) if g.stack(&proc).frames.iter().any(|f| f.function == func) => {}
                Some(_) => fail.push(format!("goroutine {gid}: no {func} frame")),
                None => fail.push(format!("goroutine {gid} ({func}) missing")),
            }
        }

        // ---- typing: the queued finalizers' objects typed from `ot`; never a wrong type
        match Typing::compute(&proc, &heap) {
            Ok(t) => {
                let mut typed = BTreeMap::<&str, (u32, u32)>::new();
                let groups: [(&str, Vec<u64>); 4] = [
                    ("main.QueuedFin", fins.clone()),
                    ("main.FinBlocker", vec![fin_blocker]),
                    ("main.QueuedCleanArg", args.clone()),
                    (
                        "main.CleanBlockerArg",
                        blockers
                            .iter()
                            .copied()
                            .filter(|&a| a == clean_blocker)
                            .collect(),
                    ),
                ];
                for (ty, objs) in &groups {
                    for &a in objs {
                        let Some(o) = id(a) else { continue };
                        let e = typed.entry(ty).or_default();
                        e.1 += 1;
                        match t.object_type_name(o) {
                            Some(n) if n == *ty => e.0 += 1,
                            Some(n) => fail.push(format!(
                                "{a:#x} typed {n} ({}), want {ty}",
                                t.object_type(o).map_or("?", |ot| ot.source.name())
                            )),
                            None if matches!(*ty, "main.QueuedFin" | "main.FinBlocker") => {
                                fail.push(format!("{a:#x} untyped, want {ty} (finalizer-queue ot)"))
                            }
                            None => {}
                        }
                    }
                }
                typing_report.push(format!(
                    "{name}: typed {}",
                    typed
                        .iter()
                        .map(|(k, (a, b))| format!("{k} {a}/{b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            Err(e) => fail.push(format!("typing: {e}")),
        }

        println!(
            "{name}: finq {} roots → {} queued objects + {} cleanup closures; cleanup queue {} roots → {} objects",
            finq.len(),
            want.len(),
            extra.len(),
            cq.len(),
            ctargets.len()
        );
        checked += 1;
        failures.extend(fail.into_iter().map(|f| format!("{name}: {f}")));
    }
    for t in &typing_report {
        println!("{t}");
    }
    println!("{checked} cases checked, {skipped} without the section skipped");
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
}
