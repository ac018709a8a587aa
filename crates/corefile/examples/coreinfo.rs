//! Prints what `corefile` reads from a core: mappings, threads and
//! registers, process and signal information, the executable and warnings.
//!
//! Usage: `cargo run -p corefile --example coreinfo -- CORE [EXE]`

use std::process::ExitCode;

use corefile::{Core, OpenOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: coreinfo CORE [EXECUTABLE]");
        return ExitCode::from(2);
    };
    let mut opts = OpenOptions::new();
    if let Some(exe) = args.get(1) {
        opts = opts.executable(exe);
    }
    let core = match Core::open_with(path, &opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in core.warnings() {
        println!("warning: {w}");
    }
    println!("arch: {}", core.arch());
    if let Some(p) = core.process() {
        println!(
            "process: pid {} fname {:?} args {:?}",
            p.pid, p.fname, p.args
        );
    }
    if let Some(s) = core.signal() {
        println!(
            "signal: {} code {} addr {:?} sender {:?} tid {:?}",
            s.signo, s.code, s.addr, s.sender_pid, s.tid
        );
    }
    if let Some(e) = core.executable() {
        println!(
            "executable: {} (recorded {:?}) bias {:#x} verified {}",
            e.path().display(),
            e.core_path(),
            e.load_bias(),
            e.verified()
        );
    }
    println!("mappings:");
    for m in core.mappings() {
        println!(
            "  {:#018x} {:#018x} {:>10x} {} {:>8} core={:x} file={:x} zero={:x} missing={:x} {}",
            m.start(),
            m.end(),
            m.len(),
            m.perms(),
            m.file_offset()
                .map(|o| format!("{o:#x}"))
                .unwrap_or_default(),
            m.bytes_in_core(),
            m.bytes_from_file(),
            m.bytes_zero(),
            m.bytes_missing(),
            m.path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    for t in core.threads() {
        println!("thread {} signal {}:", t.tid, t.signal);
        for (name, v) in t.registers.iter() {
            println!("  {name:<10} {v:#x}");
        }
    }
    ExitCode::SUCCESS
}
