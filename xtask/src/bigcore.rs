//! `cargo xtask bigcore`: large cores for the benchmarks (not committed).
//!
//! Builds `testdata/programs/bigcore` with the newest Go release and runs it once per
//! workload in `target/bigcore/<workload>/`, where it writes `truth.json` (exact
//! counts of what it built, and `runtime.MemStats` after a last GC) and dies with a
//! core (`GOTRACEBACK=crash`, `ulimit -c unlimited`). Each directory then holds
//! `core`, the executable `bigcore`, `truth.json`, `traceback.txt` and `case.json`.

use crate::tools;
use crate::util::{self, describe_status, kill_and_reap, read_lossy, tail, wait_timeout};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The workloads, in the order `--workload all` makes them.
pub const WORKLOADS: &[(&str, &str)] = &[
    (
        "b6",
        "~6 M live objects, ~600 MiB: 5 M 96-byte structs chained from one global, a 2 M-entry map[int]*T, 1 M strings",
    ),
    (
        "b20",
        "~20 M objects, ~2 GiB: records in slices, a map[string]*T, interfaces, 10 000 goroutines",
    ),
    ("wide", "one pointer array of 1.04 GiB over 1 M leaves"),
    ("deep", "a 10 M-long linked list"),
];

/// b6's scales for the growth curve (`--workload curve`): 1.2 M to 20 M objects.
const CURVE: &[&str] = &["0.2", "0.5", "2", "3.3"];

/// Where the big cores live by default.
pub fn default_dir() -> PathBuf {
    util::workspace_root().join("target").join("bigcore")
}

/// The directory name of a workload at a scale.
pub fn dir_name(workload: &str, scale: Option<&str>) -> String {
    match scale {
        Some(s) => format!("{workload}-x{s}"),
        None => workload.to_string(),
    }
}

pub fn cmd_bigcore(args: &[String]) -> Result<()> {
    let mut workloads: Vec<String> = vec!["b6".into()];
    let mut curve = false;
    let mut out = default_dir();
    let mut scale: Option<String> = None;
    let mut timeout = 900u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .with_context(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--workload" => {
                let v = val()?;
                workloads = v.split(',').map(str::to_string).collect();
                curve = workloads.iter().any(|w| w == "curve" || w == "all");
                if workloads.iter().any(|w| w == "all") {
                    workloads = WORKLOADS.iter().map(|w| w.0.to_string()).collect();
                }
                workloads.retain(|w| w != "curve");
            }
            "--out" => out = PathBuf::from(val()?),
            "--scale" => scale = Some(val()?),
            "--timeout" => timeout = val()?.parse().context("--timeout needs seconds")?,
            other => bail!("unknown option {other:?} (see cargo xtask help)"),
        }
    }
    for w in &workloads {
        if !WORKLOADS.iter().any(|k| k.0 == w) {
            bail!("unknown workload {w:?} (b6, b20, wide, deep, curve, all)");
        }
    }
    if let Some(s) = &scale {
        let ok = s.parse::<f64>().is_ok_and(|f| f > 0.0 && f <= 4.0);
        if !ok {
            bail!("--scale must be a number in (0, 4], not {s:?}");
        }
        if workloads.iter().any(|w| w != "b6") {
            bail!("--scale applies to b6 only");
        }
    }
    let out = if out.is_absolute() {
        out
    } else {
        std::env::current_dir()?.join(out)
    };
    fs::create_dir_all(&out)?;
    let exe = build(&out)?;
    let mut runs: Vec<(String, Option<String>)> = workloads
        .iter()
        .map(|w| (w.clone(), scale.clone()))
        .collect();
    if curve {
        for s in CURVE {
            runs.push(("b6".into(), Some(s.to_string())));
        }
    }
    for (w, scale) in &runs {
        let dir = out.join(dir_name(w, scale.as_deref()));
        let t = Instant::now();
        let meta = run(
            &exe,
            w,
            scale.as_deref(),
            &dir,
            Duration::from_secs(timeout),
        )?;
        println!(
            "{w}: core {} in {}, {} heap objects (MemStats.HeapObjects), {:.1}s",
            util::human(meta["core"]["size"].as_u64().unwrap_or(0)),
            dir.display(),
            meta["heap_objects"],
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Builds the fixture with the newest release into `out/build/bigcore`.
fn build(out: &Path) -> Result<PathBuf> {
    let cache = util::cache_dir()?;
    let go = tools::ensure_toolchain(&cache, tools::NEWEST)?;
    let src = util::workspace_root()
        .join("testdata")
        .join("programs")
        .join("bigcore");
    let bdir = out.join("build");
    fs::create_dir_all(&bdir)?;
    let exe = bdir.join("bigcore");
    let mut c = Command::new(&go);
    c.args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(&src)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", cache.join("go-build"))
        .env_remove("GOEXPERIMENT");
    let o = util::run_output(&mut c, Duration::from_secs(600), "go build of bigcore")?;
    if !o.status.success() {
        bail!(
            "go build of bigcore failed ({}):\n{}",
            describe_status(&o.status),
            tail(&o.stderr, 30)
        );
    }
    println!("built {} with Go {}", exe.display(), tools::NEWEST);
    Ok(exe)
}

/// Runs one workload in `dir` (replaced) and leaves its core there.
fn run(
    exe: &Path,
    workload: &str,
    scale: Option<&str>,
    dir: &Path,
    timeout: Duration,
) -> Result<Value> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(dir)?;
    let run_exe = dir.join("bigcore");
    fs::copy(exe, &run_exe)?;
    let stderr_path = dir.join("traceback.txt");
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg("ulimit -c unlimited; exec ./bigcore")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GOTRACEBACK", "crash")
        .env("GOMAXPROCS", "2")
        .env("GOCORE_WORKLOAD", workload)
        .env("GOCORE_TRUTH", dir.join("truth.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(fs::File::create(&stderr_path)?));
    if let Some(s) = scale {
        cmd.env("GOCORE_SCALE", s);
    }
    let t = Instant::now();
    let mut child = cmd.spawn().context("starting bigcore")?;
    let pid = child.id();
    let status = match wait_timeout(&mut child, timeout)? {
        Some(s) => s,
        None => {
            kill_and_reap(&mut child);
            bail!(
                "bigcore {workload} did not finish within {}s",
                timeout.as_secs()
            );
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let core = [dir.join(format!("core.{pid}")), dir.join("core")]
        .into_iter()
        .find(|p| p.exists());
    let Some(core) = core else {
        bail!(
            "bigcore {workload}: no core in {} (process {}); /proc/sys/kernel/core_pattern is {:?} and must be \
             a plain file name such as `core`; stderr tail:\n{}",
            dir.display(),
            describe_status(&status),
            fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default().trim(),
            tail(&read_lossy(&stderr_path), 15)
        );
    };
    if core != dir.join("core") {
        fs::rename(&core, dir.join("core"))?;
    }
    let truth: Value = serde_json::from_slice(
        &fs::read(dir.join("truth.json")).context("bigcore wrote no truth.json")?,
    )
    .context("truth.json does not parse")?;
    let size = fs::metadata(dir.join("core"))?.len();
    let meta = json!({
        "workload": workload,
        "description": WORKLOADS.iter().find(|w| w.0 == workload).map(|w| w.1),
        "scale": scale,
        "go_version": truth["go_version"],
        "pid": pid,
        "status": describe_status(&status),
        "run_secs": (secs * 10.0).round() / 10.0,
        "core": {"file": "core", "size": size},
        "exe": "bigcore",
        "heap_objects": truth["memstats"]["HeapObjects"],
        "generated": util::utc_now(),
        "generator": "cargo xtask bigcore",
    });
    fs::write(
        dir.join("case.json"),
        serde_json::to_string_pretty(&meta)? + "\n",
    )?;
    Ok(meta)
}
