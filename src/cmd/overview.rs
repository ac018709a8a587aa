//! `gocore overview CORE`: the core at a glance.

use std::process::ExitCode;

use serde_json::json;

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
    Ok(ExitCode::SUCCESS)
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
