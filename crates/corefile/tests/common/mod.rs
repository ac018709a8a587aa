//! Shared test helpers: test data paths, and checking a [`Core`] against the
//! output of gdb (`info proc mappings`, `thread apply all info registers`,
//! `thread apply all x/Nxg ...`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use corefile::{Core, Error, Missing};

pub fn data_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Whether a program can be run (`prog --version` succeeds).
pub fn have(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[derive(Debug, Default)]
pub struct Gdb {
    /// (start, end, offset, path)
    pub mappings: Vec<(u64, u64, u64, String)>,
    /// tid → register name → value
    pub regs: BTreeMap<u32, BTreeMap<String, u64>>,
    /// (tid, address, 8-byte words)
    pub memory: Vec<(u32, u64, Vec<u64>)>,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

pub fn parse_gdb(text: &str) -> Gdb {
    let mut g = Gdb::default();
    let mut tid = None;
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("Thread ") {
            // Thread 1 (Thread 0x7f.. (LWP 9835)):  or  Thread 1 (LWP 9835):
            tid = line
                .split("LWP ")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|n| n.trim().parse().ok());
            continue;
        }
        if t.len() == 5 && t[0].starts_with("0x") && t[4].starts_with('/') {
            if let (Some(a), Some(b), Some(o)) = (hex(t[0]), hex(t[1]), hex(t[3])) {
                g.mappings.push((a, b, o, t[4].to_string()));
            }
            continue;
        }
        let Some(tid) = tid else { continue };
        if let Some((head, words)) = line.split_once(":\t") {
            let addr = head.split_whitespace().next().and_then(hex);
            let words: Option<Vec<u64>> = words.split_whitespace().map(hex).collect();
            if let (Some(a), Some(w)) = (addr, words) {
                g.memory.push((tid, a, w));
            }
            continue;
        }
        if t.len() >= 2 && t[0].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            if let Some(v) = hex(t[1]) {
                g.regs.entry(tid).or_default().insert(t[0].to_string(), v);
            }
        }
    }
    g
}

/// Runs gdb (or gdb-multiarch) on `exe` and `core` and returns its output.
pub fn run_gdb(gdb: &str, exe: &Path, core: &Path) -> String {
    let out = Command::new(gdb)
        .args(["-batch", "-nx"])
        .args(["-ex", "set auto-load off"])
        .args(["-ex", "info proc mappings"])
        .args(["-ex", "thread apply all info registers"])
        .args(["-ex", "thread apply all x/4xg $sp"])
        .args(["-ex", "thread apply all x/2xg $pc"])
        .arg(exe)
        .arg(core)
        .output()
        .expect("run gdb");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks mappings, every thread's registers and the memory words gdb printed.
/// Returns how many registers and memory words were compared.
pub fn check_against_gdb(core: &Core, g: &Gdb) -> (usize, usize) {
    // Mappings: gdb lists the file-backed ones (NT_FILE).
    let ours: Vec<_> = core
        .mappings()
        .iter()
        .filter(|m| m.path().is_some())
        .map(|m| {
            (
                m.start(),
                m.end(),
                m.file_offset().unwrap(),
                m.path().unwrap().display().to_string(),
            )
        })
        .collect();
    assert_eq!(ours, g.mappings, "file-backed mappings differ from gdb's");

    assert_eq!(
        core.threads().len(),
        g.regs.len(),
        "thread count differs from gdb's"
    );
    let mut nregs = 0;
    for (tid, regs) in &g.regs {
        let t = core
            .threads()
            .iter()
            .find(|t| t.tid == *tid)
            .unwrap_or_else(|| panic!("thread {tid} missing"));
        for (name, v) in regs {
            if let Some(ours) = t.registers.get(name) {
                // gdb shows arm64 cpsr as 32 bits.
                let ours = if name == "cpsr" {
                    ours & 0xffff_ffff
                } else {
                    ours
                };
                assert_eq!(ours, *v, "thread {tid} register {name}");
                nregs += 1;
            }
        }
    }
    let mut nwords = 0;
    for (tid, addr, words) in &g.memory {
        for (i, w) in words.iter().enumerate() {
            let a = addr + 8 * i as u64;
            match core.read_u64(a) {
                Ok(v) => {
                    assert_eq!(v, *w, "thread {tid}: word at {a:#x}");
                    nwords += 1;
                }
                Err(Error::Unavailable {
                    reason: Missing::FileMismatch(p) | Missing::FileNotFound(p),
                    ..
                }) => {
                    eprintln!(
                        "skipping {a:#x}: {} differs or is missing here",
                        p.display()
                    );
                }
                Err(e) => panic!("thread {tid}: reading {a:#x}: {e}"),
            }
        }
    }
    (nregs, nwords)
}
