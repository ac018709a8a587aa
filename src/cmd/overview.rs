//! `gocore overview CORE`: the core at a glance, then the Go runtime's view of it
//! (layouts, goroutines by state, heap, roots, live and garbage objects).

use std::collections::BTreeMap;
use std::process::ExitCode;

use gocore::{Coverage, Heap, Process, Reachability, RootSet, Typing};
use serde_json::{json, Value};

use crate::cli::CoreArgs;
use crate::output::{hex, human_bytes, print_json};

pub fn run(a: &CoreArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(a)?;
    let syms = super::Symbolizer::new(&core);
    let build = super::build_info(&core);
    let (go_version, build_error) = match &build {
        Some(Ok(info)) => (Some(info.go_version.clone()), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let exe = core.executable();
    let maps = core.mappings();
    let sum = |f: fn(&corefile::Mapping) -> u64| maps.iter().map(f).sum::<u64>();
    let (total, in_core, from_file, zero, reserved, missing) = (
        sum(corefile::Mapping::len),
        sum(corefile::Mapping::bytes_in_core),
        sum(corefile::Mapping::bytes_from_file),
        sum(corefile::Mapping::bytes_zero),
        sum(corefile::Mapping::bytes_no_access),
        sum(corefile::Mapping::bytes_missing),
    );
    let crashed = core
        .threads()
        .iter()
        .find(|t| t.signal != 0)
        .or_else(|| core.threads().first());

    let go = go_view(&core);

    if a.json {
        let v = json!({
            "core": core.path().display().to_string(),
            "arch": core.arch().name(),
            "process": core.process().map(|p| json!({
                "pid": p.pid, "ppid": p.ppid, "command": p.fname, "args": p.args,
            })),
            "signal": core.signal().map(|s| json!({
                "signo": s.signo, "code": s.code, "addr": s.addr,
                "sender_pid": s.sender_pid, "tid": s.tid,
            })),
            "executable": exe.map(|e| json!({
                "path": e.path().display().to_string(),
                "path_in_core": e.core_path().map(|p| p.display().to_string()),
                "load_bias": e.load_bias(),
                "verified": e.verified(),
                "build_id": e.build_id().map(hex_bytes),
            })),
            "go_version": go_version,
            "build_info_error": build_error,
            "threads": core.threads().len(),
            "crashed_thread": crashed.map(|t| super::threads::thread_json(t, &syms)),
            "mappings": {
                "count": maps.len(),
                "bytes": total,
                "bytes_in_core": in_core,
                "bytes_from_file": from_file,
                "bytes_zero": zero,
                "bytes_no_access": reserved,
                "bytes_missing": missing,
            },
            "warnings": core.warnings().iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            "go": go.to_json(),
        });
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }

    println!("core          {}", core.path().display());
    println!("arch          {}", core.arch().name());
    if let Some(p) = core.process() {
        println!("process       pid {} ({}) {}", p.pid, p.fname, p.args);
    }
    match exe {
        Some(e) => {
            let bias = if e.load_bias() != 0 {
                format!(", load bias {}", hex(e.load_bias()))
            } else {
                String::new()
            };
            let checked = if e.verified() {
                "matches the core"
            } else {
                "NOT verified against the core"
            };
            println!("executable    {} ({checked}{bias})", e.path().display());
        }
        None => println!("executable    not found (use --exe PATH)"),
    }
    match (&go_version, &build_error) {
        (Some(v), _) => println!("go version    {v}"),
        (None, Some(e)) => println!("go version    unknown: {e}"),
        (None, None) => println!("go version    unknown (no executable)"),
    }
    if let Some(s) = core.signal() {
        let addr = s
            .addr
            .map(|a| format!(" addr {}", hex(a)))
            .unwrap_or_default();
        println!("signal        {} ({}){addr}", s.signo, signal_name(s.signo));
    }
    println!("threads       {}", core.threads().len());
    if let Some(t) = crashed {
        let f = syms
            .name(t.registers.pc())
            .map(|f| format!(" in {f}"))
            .unwrap_or_default();
        println!(
            "  signalled   tid {} pc {}{f}",
            t.tid,
            hex(t.registers.pc())
        );
    }
    println!(
        "mappings      {} covering {} ({} in core, {} from files, {} zero, {} reserved without access)",
        maps.len(),
        human_bytes(total),
        human_bytes(in_core),
        human_bytes(from_file),
        human_bytes(zero),
        human_bytes(reserved),
    );
    if missing > 0 {
        println!(
            "  MISSING     {} of readable memory is in neither the core nor a file found",
            human_bytes(missing)
        );
    }
    go.print_text();
    Ok(ExitCode::SUCCESS)
}

/// The Go runtime's view of the process: each stage (layouts, goroutines, heap,
/// roots, reachability) either answered or failed with its error, so that a broken
/// stage does not hide the others nor the core-level overview.
#[derive(Default)]
struct GoView {
    /// The runtime model could not be built at all.
    error: Option<String>,
    layouts: Option<String>,
    goroutines: Option<Result<BTreeMap<String, u64>, String>>,
    heap: Option<Result<(u64, u64), String>>,
    roots: Option<Result<usize, String>>,
    /// (live objects, live bytes, garbage objects, garbage bytes)
    reach: Option<Result<(u64, u64, u64, u64), String>>,
    /// How much of the live heap [`Typing`] types ([`Typing::coverage`]).
    typed: Option<Result<Coverage, String>>,
    /// `stage: warning`.
    warnings: Vec<String>,
}

/// Most warnings shown per stage.
const MAX_STAGE_WARNINGS: usize = 20;

fn go_view(core: &corefile::Core) -> GoView {
    let mut v = GoView::default();
    let proc = match Process::new(core) {
        Ok(p) => p,
        Err(e) => {
            v.error = Some(e.to_string());
            return v;
        }
    };
    let mut warn = |stage: &str, ws: &[String]| {
        for w in ws.iter().take(MAX_STAGE_WARNINGS) {
            v.warnings.push(format!("{stage}: {w}"));
        }
        if ws.len() > MAX_STAGE_WARNINGS {
            v.warnings
                .push(format!("{stage}: {} more", ws.len() - MAX_STAGE_WARNINGS));
        }
    };
    warn("process", proc.warnings());
    let mut gwarn = Vec::new();
    let goroutines = proc.goroutines().map(|gs| {
        let mut by_state = BTreeMap::new();
        for g in gs {
            match g {
                Ok(g) => *by_state.entry(g.status.name().to_string()).or_insert(0) += 1,
                Err(e) => gwarn.push(e.to_string()),
            }
        }
        by_state
    });
    warn("goroutines", &gwarn);
    v.layouts = Some(proc.layouts().selection().to_string());
    v.goroutines = Some(goroutines.map_err(|e| e.to_string()));
    let heap = match Heap::new(&proc) {
        Ok(h) => h,
        Err(e) => {
            v.heap = Some(Err(e.to_string()));
            return v;
        }
    };
    warn("heap", heap.warnings());
    let bytes = heap.objects().map(|o| heap.span(&o).elemsize).sum();
    v.heap = Some(Ok((heap.object_count(), bytes)));
    // Typing on a thread of its own beside roots and marking.
    let phase = crate::progress::phase_over(
        "typing and marking objects",
        heap.progress(),
        &[gocore::Stage::Typing, gocore::Stage::Marking],
    );
    let (typing, (roots, reach)) = super::top::beside(
        || Some(Typing::compute(&proc, &heap)),
        || match RootSet::collect(&proc, &heap) {
            Ok(r) => {
                let reach = Reachability::compute(&proc, &heap, r.roots());
                (Ok(r), Some(reach))
            }
            Err(e) => (Err(e), None),
        },
    );
    drop(phase);
    let roots = match roots {
        Ok(r) => r,
        Err(e) => {
            v.roots = Some(Err(e.to_string()));
            return v;
        }
    };
    warn("roots", roots.warnings());
    v.roots = Some(Ok(roots.len()));
    let reach = match reach.unwrap_or_else(|| Reachability::compute(&proc, &heap, roots.roots())) {
        Ok(r) => r,
        Err(e) => {
            v.reach = Some(Err(e.to_string()));
            return v;
        }
    };
    warn("reachability", reach.warnings());
    v.reach = Some(Ok((
        reach.live_count(),
        reach.live_bytes(),
        reach.garbage_count(),
        reach.garbage_bytes(),
    )));
    let typing = typing.unwrap_or_else(|| Typing::compute(&proc, &heap));
    v.typed = Some(match typing {
        Ok(t) => {
            warn("typing", t.warnings());
            Ok(t.coverage(&heap, roots.roots(), |id| reach.is_live(id)))
        }
        Err(e) => Err(e.to_string()),
    });
    v
}

/// Rounded down to one decimal, so that 99.96% does not print as 100.0%.
fn floor1(p: f64) -> f64 {
    (p * 10.0).floor() / 10.0
}

/// The first groups of untyped objects, as JSON.
fn groups_json(g: &[gocore::UntypedGroup]) -> Vec<Value> {
    g.iter()
        .take(10)
        .map(|g| json!({"key": g.key, "objects": g.count, "bytes": g.bytes}))
        .collect()
}

impl GoView {
    fn to_json(&self) -> Value {
        fn res<T>(r: &Option<Result<T, String>>, f: impl Fn(&T) -> Value) -> Value {
            match r {
                None => Value::Null,
                Some(Ok(t)) => f(t),
                Some(Err(e)) => json!({ "error": e }),
            }
        }
        json!({
            "error": self.error,
            "layouts": self.layouts,
            "goroutines": res(&self.goroutines, |m| json!({
                "total": m.values().sum::<u64>(),
                "by_state": m,
            })),
            "heap": res(&self.heap, |(n, b)| json!({"objects": n, "bytes": b})),
            "roots": res(&self.roots, |n| json!(n)),
            "reachability": res(&self.reach, |(ln, lb, gn, gb)| json!({
                "live_objects": ln, "live_bytes": lb,
                "garbage_objects": gn, "garbage_bytes": gb,
            })),
            "typed": res(&self.typed, |c| json!({
                "typed_objects": c.typed_objects, "typed_bytes": c.typed_bytes,
                "live_objects": c.objects, "live_bytes": c.bytes,
                "object_percent": c.object_percent(),
                "byte_percent": c.byte_percent(),
                "by_source": c.by_source.iter().map(|(s, n, b)| json!({
                    "source": s.name(), "objects": n, "bytes": b,
                })).collect::<Vec<_>>(),
                "untyped_by_size": groups_json(&c.untyped_by_size),
                "untyped_by_referrer": groups_json(&c.untyped_by_referrer),
            })),
            "warnings": self.warnings,
        })
    }

    fn print_text(&self) {
        if let Some(e) = &self.error {
            println!("go runtime    unavailable: {e}");
            return;
        }
        if let Some(l) = &self.layouts {
            println!("layouts       {l}");
        }
        match &self.goroutines {
            Some(Ok(m)) => {
                let parts: Vec<String> = m.iter().map(|(k, n)| format!("{n} {k}")).collect();
                println!(
                    "goroutines    {} ({})",
                    m.values().sum::<u64>(),
                    parts.join(", ")
                );
            }
            Some(Err(e)) => println!("goroutines    unavailable: {e}"),
            None => {}
        }
        match &self.heap {
            Some(Ok((n, b))) => println!("heap          {n} objects, {}", human_bytes(*b)),
            Some(Err(e)) => println!("heap          unavailable: {e}"),
            None => {}
        }
        match &self.roots {
            Some(Ok(n)) => println!("roots         {n}"),
            Some(Err(e)) => println!("roots         unavailable: {e}"),
            None => {}
        }
        match &self.reach {
            Some(Ok((ln, lb, gn, gb))) => println!(
                "reachability  {ln} live objects ({}), {gn} garbage ({})",
                human_bytes(*lb),
                human_bytes(*gb)
            ),
            Some(Err(e)) => println!("reachability  unavailable: {e}"),
            None => {}
        }
        match &self.typed {
            Some(Ok(c)) => {
                println!(
                    "typed         {:.1}% of live objects ({} of {}), {:.1}% of live bytes ({} of {})",
                    floor1(c.object_percent()),
                    c.typed_objects,
                    c.objects,
                    floor1(c.byte_percent()),
                    human_bytes(c.typed_bytes),
                    human_bytes(c.bytes)
                );
                let parts: Vec<String> = c
                    .by_source
                    .iter()
                    .map(|(s, n, _)| format!("{n} {}", s.name()))
                    .collect();
                if !parts.is_empty() {
                    println!("              by source: {}", parts.join(", "));
                }
                let untyped: Vec<String> = c
                    .untyped_by_referrer
                    .iter()
                    .take(3)
                    .map(|g| format!("{} ({} objects, {})", g.key, g.count, human_bytes(g.bytes)))
                    .collect();
                if !untyped.is_empty() {
                    println!(
                        "              untyped, reached from: {}",
                        untyped.join("; ")
                    );
                }
            }
            Some(Err(e)) => println!("typed         unavailable: {e}"),
            None => {}
        }
        for w in &self.warnings {
            println!("  warning     {w}");
        }
    }
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn signal_name(signo: i32) -> &'static str {
    match signo {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "?",
    }
}
