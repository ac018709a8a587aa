//! `gocore diff OLD NEW [--json]`: what grew between two cores of one program —
//! live objects by type name, by retainer path (root and the types along the path),
//! the largest retained size on each path, and goroutines by site ([`gocore::SnapshotDiff`]). Names, not addresses, are
//! compared, so the cores may come from different builds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args as ClapArgs;
use gocore::{Change, Heap, Process, Snapshot, SnapshotDiff};
use serde_json::{json, Value};

use crate::cli::CoreArgs;
use crate::output::{human_bytes, print_json};

/// Options of `gocore diff`.
#[derive(Debug, ClapArgs)]
pub struct DiffArgs {
    /// The earlier core (may be compressed: .zst, .gz).
    pub old: PathBuf,
    /// The later core.
    pub new: PathBuf,
    /// The executable of the earlier core (default: found from the core).
    #[arg(long, value_name = "PATH")]
    pub old_exe: Option<PathBuf>,
    /// The executable of the later core (default: found from the core).
    #[arg(long, value_name = "PATH")]
    pub new_exe: Option<PathBuf>,
    /// Rows per section in text output (JSON lists every change).
    #[arg(long, default_value_t = 15)]
    pub limit: usize,
    /// Also list what shrank or stayed (text output lists growth only).
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn snapshot(core: &Path, exe: Option<&PathBuf>) -> anyhow::Result<Snapshot> {
    let args = CoreArgs {
        core: core.to_path_buf(),
        exe: exe.cloned(),
        search_paths: Vec::new(),
        sysroot: None,
        force_exe: false,
        json: false,
    };
    let core = super::open_core(&args)?;
    let proc = Process::new(&core).context("reading the Go runtime")?;
    let heap = Heap::new(&proc).context("indexing the heap")?;
    let snap = Snapshot::compute(&proc, &heap)
        .with_context(|| format!("summarising {}", args.core.display()))?;
    for w in snap.warnings.iter().chain(proc.warnings()) {
        eprintln!("gocore: warning: {}: {w}", args.core.display());
    }
    Ok(snap)
}

pub fn run(a: &DiffArgs) -> anyhow::Result<ExitCode> {
    let old = snapshot(&a.old, a.old_exe.as_ref())?;
    let new = snapshot(&a.new, a.new_exe.as_ref())?;
    let d = SnapshotDiff::new(&old, &new);
    if a.json {
        let list = |v: &[Change]| -> Vec<Value> { v.iter().map(change_json).collect() };
        print_json(&json!({
            "old": a.old.display().to_string(),
            "new": a.new.display().to_string(),
            "live": change_json(&d.live),
            "types": list(&d.types),
            "paths": list(&d.paths),
            "retainers": list(&d.retainers),
            "goroutine_sites": list(&d.sites),
            "warnings": {"old": old.warnings, "new": new.warnings},
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "live heap: {} objects, {} -> {} objects, {} ({:+} objects, {})",
        old.live.count,
        human_bytes(old.live.bytes),
        new.live.count,
        human_bytes(new.live.bytes),
        d.live.count_delta(),
        signed_bytes(d.live.bytes_delta()),
    );
    section("types", &d.types, a, true);
    section("retainer paths (live objects)", &d.paths, a, true);
    section(
        "retainers (largest retained size on each path)",
        &d.retainers,
        a,
        true,
    );
    section("goroutine sites", &d.sites, a, false);
    Ok(ExitCode::SUCCESS)
}

fn section(title: &str, v: &[Change], a: &DiffArgs, bytes: bool) {
    println!();
    let rows: Vec<&Change> = v
        .iter()
        .filter(|c| a.all || c.count_delta() > 0 || c.bytes_delta() > 0)
        .collect();
    if rows.is_empty() {
        println!("{title}: no {}", if a.all { "change" } else { "growth" });
        return;
    }
    if bytes {
        println!(
            "{title}:\n{:>9} {:>12} {:>9} {:>9}  NAME",
            "+COUNT", "+BYTES", "OLD", "NEW"
        );
    } else {
        println!("{title}:\n{:>9} {:>9} {:>9}  SITE", "+COUNT", "OLD", "NEW");
    }
    for c in rows.iter().take(a.limit) {
        if bytes {
            println!(
                "{:>+9} {:>12} {:>9} {:>9}  {}",
                c.count_delta(),
                signed_bytes(c.bytes_delta()),
                c.old.count,
                c.new.count,
                c.key
            );
        } else {
            println!(
                "{:>+9} {:>9} {:>9}  {}",
                c.count_delta(),
                c.old.count,
                c.new.count,
                c.key
            );
        }
    }
    if rows.len() > a.limit {
        println!("  … {} more (--limit, --json)", rows.len() - a.limit);
    }
}

fn signed_bytes(n: i64) -> String {
    let s = human_bytes(n.unsigned_abs());
    if n < 0 {
        format!("-{s}")
    } else {
        format!("+{s}")
    }
}

fn change_json(c: &Change) -> Value {
    json!({
        "key": c.key,
        "old": {"count": c.old.count, "bytes": c.old.bytes},
        "new": {"count": c.new.count, "bytes": c.new.bytes},
        "count_delta": c.count_delta(),
        "bytes_delta": c.bytes_delta(),
    })
}
