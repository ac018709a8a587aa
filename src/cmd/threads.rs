//! `gocore threads CORE`: thread ids, PC, SP and all registers.

use std::process::ExitCode;

use serde_json::{json, Map, Value};

use crate::cli::CoreArgs;
use crate::output::{hex, print_json};

pub fn run(a: &CoreArgs) -> anyhow::Result<ExitCode> {
    let core = super::open_core(a)?;
    let syms = super::Symbolizer::new(&core);
    if a.json {
        let threads: Vec<Value> = core
            .threads()
            .iter()
            .map(|t| thread_json(t, &syms))
            .collect();
        print_json(&Value::Array(threads))?;
        return Ok(ExitCode::SUCCESS);
    }
    for (i, t) in core.threads().iter().enumerate() {
        let r = &t.registers;
        let func = syms
            .name(r.pc())
            .map(|f| format!(" in {f}"))
            .unwrap_or_default();
        let sig = if t.signal != 0 {
            format!(" signal {}", t.signal)
        } else {
            String::new()
        };
        println!(
            "thread {} tid {} pc {} sp {}{func}{sig}",
            i + 1,
            t.tid,
            hex(r.pc()),
            hex(r.sp())
        );
        let regs: Vec<String> = r.iter().map(|(n, v)| format!("{n}={v:#x}")).collect();
        for line in regs.chunks(4) {
            println!("    {}", line.join(" "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One thread as JSON; shared with `overview --json`.
pub fn thread_json(t: &corefile::Thread, syms: &super::Symbolizer) -> Value {
    let regs: Map<String, Value> = t
        .registers
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    json!({
        "tid": t.tid,
        "signal": t.signal,
        "pc": t.registers.pc(),
        "sp": t.registers.sp(),
        "function": syms.name(t.registers.pc()),
        "registers": regs,
    })
}
