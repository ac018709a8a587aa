//! `gocore goroutines CORE [--frames] [--json]`: every live goroutine with its status,
//! wait reason, start function and where it is; with `--frames` its stack as the
//! runtime prints it; with `--vars` (implies `--frames`) each physical frame's
//! parameters and locals with their types and values, from DWARF (variables in
//! registers decoded where the registers are recorded: the innermost frame of a
//! goroutine running on a thread, frames asyncPreempt interrupted; JSON frames
//! then carry `registers`).

use std::process::ExitCode;

use anyhow::Context;
use clap::Args as ClapArgs;
use gocore::goroutine::printed_name;
use gocore::{Decoder, Frame, FrameRegisters, Goroutine, Heap, Limits, Process, Stack, Typing};
use serde_json::{json, Value};

use crate::cli::CoreArgs;
use crate::output::{hex, print_json};

/// Options of `gocore goroutines`.
#[derive(Debug, ClapArgs)]
pub struct GoroutinesArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Print each goroutine's stack, as the Go runtime prints a traceback.
    #[arg(long)]
    pub frames: bool,
    /// Also print each frame's parameters and locals with types and values (from
    /// DWARF; implies --frames).
    #[arg(long)]
    pub vars: bool,
    /// Nesting levels of variable values expanded (with --vars).
    #[arg(long, default_value_t = 2)]
    pub depth: u32,
}

pub fn run(a: &GoroutinesArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(&a.core)?;
    let proc = Process::new(&core).context("reading the Go runtime")?;
    for w in proc.warnings() {
        eprintln!("gocore: warning: {w}");
    }
    let mut gs = Vec::new();
    let mut failed = 0usize;
    for g in proc.goroutines().context("listing goroutines")? {
        match g {
            Ok(g) => {
                let stack = g.stack(&proc);
                gs.push((g, stack));
            }
            Err(e) => {
                failed += 1;
                eprintln!("gocore: warning: unreadable goroutine: {e}");
            }
        }
    }
    let heap = if a.vars { Heap::new(&proc).ok() } else { None };
    let typing = heap.as_ref().and_then(|h| Typing::compute(&proc, h).ok());
    let dec = a.vars.then(|| {
        Decoder::new(&proc, heap.as_ref(), typing.as_ref()).with_limits(Limits {
            depth: a.depth,
            elems: 8,
            string_bytes: 128,
            values: 256,
        })
    });
    if let Some(why) = dec.as_ref().and_then(|d| d.dwarf_error()) {
        eprintln!("gocore: warning: no frame variables: {why}");
    }
    let dec = dec.filter(|d| d.has_dwarf());
    if a.core.json {
        let v: Vec<Value> = gs
            .iter()
            .map(|(g, s)| goroutine_json(g, s, dec.as_ref()))
            .collect();
        print_json(&Value::Array(v))?;
    } else if a.frames || a.vars {
        if a.vars && dec.is_none() {
            println!("(no DWARF: frame variables unavailable)");
        }
        for (i, (g, s)) in gs.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_traceback(g, s, dec.as_ref());
        }
    } else {
        print_table(&gs);
    }
    // Each unreadable goroutine was a warning: a partial result, exit code 4 under
    // --strict (see main.rs).
    let _ = failed;
    Ok(ExitCode::SUCCESS)
}

fn print_table(gs: &[(Goroutine, Stack)]) {
    println!(
        "{:>8}  {:<28}  {:>8}  {:<36}  WHERE",
        "ID", "STATE", "THREAD", "START"
    );
    for (g, s) in gs {
        let thread = match (g.status, g.thread) {
            (gocore::Status::Running | gocore::Status::Syscall, Some(t)) => t.to_string(),
            _ => "-".to_string(),
        };
        let start = g.start_function.as_deref().unwrap_or("?");
        let place = match Goroutine::top_user_frame(&s.frames).or(s.frames.first()) {
            Some(f) => format!(
                "{} ({}:{})",
                printed_name(&f.function),
                short(&f.file),
                f.line
            ),
            None => match &s.error {
                Some(e) => format!("? ({e})"),
                None => "?".to_string(),
            },
        };
        println!(
            "{:>8}  {:<28}  {:>8}  {:<36}  {place}",
            g.id,
            g.state_full(),
            thread,
            start
        );
    }
}

/// The last two components of a path.
fn short(path: &str) -> &str {
    let mut idx = path.len();
    for _ in 0..2 {
        match path.get(..idx).and_then(|p| p.rfind('/')) {
            Some(i) => idx = i,
            None => return path,
        }
    }
    path.get(idx + 1..).unwrap_or(path)
}

fn print_traceback(g: &Goroutine, s: &Stack, dec: Option<&Decoder<'_, '_>>) {
    println!(
        "goroutine {} gp={} [{}]:",
        g.id,
        hex(g.addr),
        g.state_full()
    );
    let regs = match dec {
        Some(d) => d.stack_registers(g, &s.frames),
        None => Vec::new(),
    };
    for (i, f) in s.frames.iter().enumerate() {
        let r = regs.get(i).and_then(Option::as_ref);
        println!(
            "{}({})",
            printed_name(&f.function),
            if f.inlined { "..." } else { "" }
        );
        if f.inlined {
            println!("\t{}:{}", f.file, f.line);
            if let Some(d) = dec {
                print_vars(d, f, r);
            }
        } else {
            println!(
                "\t{}:{} +{} fp={} sp={} pc={}",
                f.file,
                f.line,
                hex(f.pc.wrapping_sub(f.entry)),
                hex(f.fp),
                hex(f.sp),
                hex(f.pc)
            );
            if let Some(d) = dec {
                print_vars(d, f, r);
            }
        }
    }
    if let Some(e) = &s.error {
        println!("\t(unwinding stopped: {e})");
    }
    if let Some(c) = &g.created_by {
        if g.id != 1 {
            match g.parent_id {
                Some(p) => println!("created by {} in goroutine {p}", printed_name(&c.function)),
                None => println!("created by {}", printed_name(&c.function)),
            }
            println!("\t{}:{}", c.file, c.line);
        }
    }
}

/// A frame's variables, one per line (composite values expanded below); values in
/// registers come from `regs` (the frame's registers, when recorded).
fn print_vars(d: &Decoder<'_, '_>, f: &Frame, regs: Option<&FrameRegisters>) {
    let vars = match d.frame_variables_with(f, regs) {
        Ok(v) => v,
        Err(e) => {
            println!("\t\t(variables unavailable: {e})");
            return;
        }
    };
    for v in vars {
        let ty = v.type_name.as_deref().unwrap_or("?");
        let label = format!("{} {} {ty}", v.kind.name(), v.name);
        match &v.value {
            Some(x) => {
                let mut out = String::new();
                // Where a register value came from.
                let label = match (&v.note, v.addr) {
                    (Some(n), None) => format!("{label} [{n}]"),
                    _ => label,
                };
                super::object::write_value(&mut out, &label, x, 0, true);
                for line in out.lines() {
                    println!("\t\t{line}");
                }
            }
            None => println!("\t\t{label} ({})", v.note.as_deref().unwrap_or("no value")),
        }
    }
}

fn vars_json(d: &Decoder<'_, '_>, f: &Frame, regs: Option<&FrameRegisters>) -> Value {
    match d.frame_variables_with(f, regs) {
        Ok(vars) => vars
            .iter()
            .map(|v| {
                json!({
                    "name": v.name,
                    "kind": v.kind.name(),
                    "type": v.type_name,
                    "address": v.addr,
                    "size": v.size,
                    "value": v.value.as_ref().map(super::object::value_json),
                    "note": v.note,
                })
            })
            .collect(),
        Err(e) => json!({"error": e}),
    }
}

fn frame_json(f: &Frame, dec: Option<&Decoder<'_, '_>>, regs: Option<&FrameRegisters>) -> Value {
    let mut v = frame_json_plain(f);
    if let (Some(d), Value::Object(m)) = (dec, &mut v) {
        m.insert("vars".into(), vars_json(d, f, regs));
        m.insert(
            "registers".into(),
            match regs {
                Some(r) => json!({
                    "source": r.source().name(),
                    "values": r.iter().map(|(n, x)| (n, json!(x))).collect::<serde_json::Map<_, _>>(),
                }),
                None => Value::Null,
            },
        );
    }
    v
}

fn frame_json_plain(f: &Frame) -> Value {
    json!({
        "function": f.function,
        "file": f.file,
        "line": f.line,
        "inlined": f.inlined,
        "pc": f.pc,
        "sp": f.sp,
        "fp": f.fp,
        "entry": f.entry,
        "trap": f.trap,
    })
}

fn goroutine_json(g: &Goroutine, s: &Stack, dec: Option<&Decoder<'_, '_>>) -> Value {
    let regs = dec
        .map(|d| d.stack_registers(g, &s.frames))
        .unwrap_or_default();
    let frames: Vec<Value> = s
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| frame_json(f, dec, regs.get(i).and_then(Option::as_ref)))
        .collect();
    json!({
        "id": g.id,
        "addr": g.addr,
        "status": g.status.name(),
        "raw_status": g.raw_status,
        "scan": g.scan,
        "state": g.state(),
        "wait_reason": g.wait_reason,
        "wait_reason_code": g.wait_reason_code,
        "wait_since": g.wait_since,
        "parent_id": g.parent_id,
        "start_pc": g.start_pc,
        "start_function": g.start_function,
        "created_by": g.created_by.as_ref().map(|c| json!({
            "pc": c.pc, "function": c.function, "file": c.file, "line": c.line,
        })),
        "m": g.m_addr,
        "thread": g.thread,
        "locked_to_thread": g.locked_to_thread,
        "stack": {"lo": g.stack_lo, "hi": g.stack_hi},
        "sched": {"pc": g.sched.pc, "sp": g.sched.sp, "lr": g.sched.lr, "bp": g.sched.bp},
        "syscall": {"pc": g.syscall_pc, "sp": g.syscall_sp},
        "frames": frames,
        "unwind_error": s.error.as_ref().map(|e| e.to_string()),
        "warnings": g.warnings,
    })
}
