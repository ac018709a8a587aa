//! `cargo xtask bench`: the benchmark harness over the big cores of
//! `cargo xtask bigcore`.
//!
//! For each workload directory (`target/bigcore/<w>/`, with `core`, `bigcore` and
//! `truth.json`) and each command, it runs the release `gocore` binary with the page
//! cache warm and measures wall time, peak RSS (`ru_maxrss` from `wait4`) and peak
//! anonymous memory (the largest `RssAnon` of `/proc/PID/status`, sampled every
//! 5 ms: everything but the memory-mapped input). Objects per second and anonymous
//! bytes per object are against the fixture's own `MemStats.HeapObjects`.
//!
//! Before timing, `gocore histogram --json` is checked against the truth: the object
//! total must equal `HeapObjects` (within the few objects the truth writer allocates
//! after reading it) and each type the fixture counted must have exactly its count.
//! A failed check fails the run (after the table is printed).
//!
//! Then `histogram` and `top` run on b20 with less memory than its core
//! ([`LIMITED`]: a memory cgroup, v1 or v2, the core evicted from the page cache
//! first) and must print what they print without the limit; where no cgroup can be
//! made (not root, no memory controller) the table says so (`--no-limited` skips
//! them).
//!
//! The table goes between the `bench:begin`/`bench:end` markers of
//! `docs/performance.md`, with the machine description.

use crate::bigcore;
use crate::util::{self, describe_status};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Commands measured, with their arguments (`{core}`, `{out}` substituted). A command
/// the binary does not have (`gocore help CMD` fails) is skipped and said so.
const COMMANDS: &[(&str, &[&str])] = &[
    ("overview", &["overview", "{core}"]),
    ("histogram", &["histogram", "{core}"]),
    ("top", &["top", "{core}"]),
    ("leaks", &["leaks", "{core}"]),
    ("path", &["path", "{core}", "{target}"]),
    ("pprof", &["pprof", "{core}", "-o", "{out}"]),
];

/// Commands run on the scale series of b6 (`b6-x<X>`).
const CURVE: &[&str] = &["histogram", "top"];

const BEGIN: &str = "<!-- bench:begin (written by `cargo xtask bench`; do not edit by hand) -->";
const END: &str = "<!-- bench:end -->";

/// One measured run.
#[derive(Debug, Clone, Default)]
struct Run {
    wall: f64,
    user: f64,
    sys: f64,
    max_rss: u64,
    peak_anon: u64,
    status: String,
    ok: bool,
}

struct Opts {
    dir: PathBuf,
    workloads: Option<Vec<String>>,
    commands: Option<Vec<String>>,
    repeat: usize,
    threads: Vec<usize>,
    write: bool,
    check: bool,
    limited: bool,
    timeout: Duration,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        dir: bigcore::default_dir(),
        workloads: None,
        commands: None,
        repeat: 3,
        threads: vec![2, 1],
        write: true,
        check: true,
        limited: true,
        timeout: Duration::from_secs(120),
    };
    let mut it = args.iter();
    let list = |s: String| -> Vec<String> {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    };
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .with_context(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--dir" => o.dir = PathBuf::from(val()?),
            "--workloads" => o.workloads = Some(list(val()?)),
            "--commands" => o.commands = Some(list(val()?)),
            "--repeat" => o.repeat = val()?.parse().context("--repeat needs a number")?,
            "--threads" => {
                o.threads = list(val()?)
                    .iter()
                    .map(|t| t.parse().context("--threads needs numbers"))
                    .collect::<Result<_>>()?
            }
            "--no-write" => o.write = false,
            "--no-check" => o.check = false,
            "--no-limited" => o.limited = false,
            "--timeout" => {
                o.timeout = Duration::from_secs(val()?.parse().context("--timeout needs seconds")?)
            }
            other => bail!("unknown option {other:?} (see cargo xtask help)"),
        }
    }
    if o.repeat == 0 || o.threads.is_empty() {
        bail!("--repeat and --threads need at least one");
    }
    Ok(o)
}

/// Workload directories present, b6's scale series by object count.
fn discover(dir: &Path) -> Vec<String> {
    let mut v: Vec<(u64, String)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("core").is_file() && e.path().join("truth.json").is_file())
        .map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let objs = read_truth(&e.path())
                .map(|t| t["memstats"]["HeapObjects"].as_u64().unwrap_or(0))
                .unwrap_or(0);
            let rank = bigcore::WORKLOADS
                .iter()
                .position(|w| n == w.0)
                .map_or(100, |p| p as u64);
            (rank * 1_000_000_000 + objs, n)
        })
        .collect();
    v.sort();
    v.into_iter().map(|x| x.1).collect()
}

fn read_truth(dir: &Path) -> Result<Value> {
    let p = dir.join("truth.json");
    serde_json::from_slice(&fs::read(&p).with_context(|| format!("reading {}", p.display()))?)
        .with_context(|| format!("parsing {}", p.display()))
}

/// Reads a `kB` field of `/proc/PID/status`, in bytes.
fn status_kb(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Runs `gocore` with `args`, measuring it. Stdout goes to `stdout` (or nowhere).
fn measure(
    gocore: &Path,
    args: &[String],
    threads: usize,
    stdout: Option<&Path>,
    timeout: Duration,
) -> Result<Run> {
    let mut c = Command::new(gocore);
    c.args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    match stdout {
        Some(p) => c.stdout(Stdio::from(fs::File::create(p)?)),
        None => c.stdout(Stdio::null()),
    };
    let t = Instant::now();
    let mut child = c
        .spawn()
        .with_context(|| format!("starting {}", gocore.display()))?;
    let pid = child.id() as i32;
    let stderr = child.stderr.take();
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = stderr {
            let _ = std::io::Read::read_to_string(&mut e, &mut s);
        }
        s
    });
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let path = format!("/proc/{pid}/status");
            let mut peak = 0u64;
            let t0 = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                if t0.elapsed() > timeout {
                    // SAFETY: a signal to our own child, not yet reaped (the main
                    // thread sets `stop` right after wait4 returns).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    break;
                }
                if let Ok(s) = fs::read_to_string(&path) {
                    if let Some(a) = status_kb(&s, "RssAnon:") {
                        peak = peak.max(a);
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        })
    };
    let mut status: libc::c_int = 0;
    // SAFETY: wait4 on our own child; `ru` is a plain C struct it fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let peak_anon = sampler.join().unwrap_or(0);
    let err_text = errs.join().unwrap_or_default();
    if r != pid {
        bail!("wait4 on {pid} failed: {}", std::io::Error::last_os_error());
    }
    // The child is reaped: keep std from waiting on it again.
    std::mem::forget(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let status_text = if libc::WIFEXITED(status) {
        format!("exit {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) && wall >= timeout.as_secs_f64() {
        format!("timed out after {}s", timeout.as_secs())
    } else if libc::WIFSIGNALED(status) {
        format!("signal {}", libc::WTERMSIG(status))
    } else {
        format!("status {status}")
    };
    if !ok {
        eprintln!(
            "  {} {}: {status_text}\n{}",
            gocore.display(),
            args.join(" "),
            util::tail(&err_text, 10)
        );
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Run {
        wall,
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        max_rss: ru.ru_maxrss as u64 * 1024,
        peak_anon,
        status: status_text,
        ok,
    })
}

fn warm(core: &Path) -> Result<()> {
    let mut f = fs::File::open(core)?;
    let mut buf = vec![0u8; 1 << 20];
    while std::io::Read::read(&mut f, &mut buf)? > 0 {}
    Ok(())
}

fn has_command(gocore: &Path, cmd: &str) -> bool {
    Command::new(gocore)
        .args(["help", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The machine, for the table's header.
fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "?".into());
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| status_kb(&s, "MemTotal:"))
        .unwrap_or(0);
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let out = |c: &str, a: &[&str]| {
        Command::new(c)
            .args(a)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{nproc} CPUs ({cpu}), {:.1} GiB RAM, Linux {}, {}, gocore {}; load average when it started: {}",
        mem as f64 / (1u64 << 30) as f64,
        out("uname", &["-r"]),
        out("rustc", &["--version"]),
        out("git", &["rev-parse", "--short", "HEAD"]),
        fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
    )
}

/// Checks `gocore histogram --json` against the truth; returns a one-line verdict
/// and whether it holds.
fn check(
    gocore: &Path,
    dir: &Path,
    truth: &Value,
    scratch: &Path,
    timeout: Duration,
) -> Result<(String, bool)> {
    let out = scratch.join("histogram.json");
    let core = dir.join("core").display().to_string();
    let r = measure(
        gocore,
        &["histogram".into(), core, "--json".into()],
        2,
        Some(&out),
        timeout,
    )?;
    if !r.ok {
        return Ok((format!("gocore histogram failed ({})", r.status), false));
    }
    let h: Value = serde_json::from_slice(&fs::read(&out)?).context("histogram --json output")?;
    let _ = fs::remove_file(&out);
    let want = truth["memstats"]["HeapObjects"].as_u64().unwrap_or(0);
    let got = h["objects"].as_u64().unwrap_or(0);
    let mut ok = got + 16 >= want && got <= want + 64;
    let mut msg = format!(
        "objects {got} (HeapObjects {want}, {:+})",
        got as i64 - want as i64
    );
    let groups: BTreeMap<&str, u64> = h["groups"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| Some((g["type"].as_str()?, g["count"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    if let Some(tc) = truth["type_counts"].as_object() {
        for (name, v) in tc {
            let want = v["count"].as_u64().unwrap_or(0);
            let got = groups.get(name.as_str()).copied().unwrap_or(0);
            // Fixture types (main.*) must match exactly. Strings and byte arrays are
            // also the runtime's, and their bytes are typed only where a typed
            // pointer reaches them: shown, not required.
            if !name.starts_with("main.") {
                let _ = write!(msg, "; {name} {got}/{want} (not required)");
                continue;
            }
            let good = got == want;
            ok &= good;
            let _ = write!(
                msg,
                "; {name} {got}/{want}{}",
                if good { "" } else { " MISMATCH" }
            );
        }
    }
    Ok((msg, ok))
}

fn human(n: u64) -> String {
    util::human(n)
}

pub fn cmd_bench(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let root = util::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("building the release gocore ...");
    let st = Command::new(&cargo)
        .args(["build", "--release", "--bin", "gocore"])
        .current_dir(&root)
        .status()
        .context("running cargo build --release")?;
    if !st.success() {
        bail!("cargo build --release failed ({})", describe_status(&st));
    }
    let gocore = root.join("target").join("release").join("gocore");
    let workloads = o.workloads.clone().unwrap_or_else(|| discover(&o.dir));
    if workloads.is_empty() {
        bail!(
            "no big cores in {} — run `cargo xtask bigcore --workload all` first",
            o.dir.display()
        );
    }
    let wanted: Vec<String> = o
        .commands
        .clone()
        .unwrap_or_else(|| COMMANDS.iter().map(|c| c.0.to_string()).collect());
    let mut commands = Vec::new();
    let mut skipped = Vec::new();
    for w in &wanted {
        let Some(spec) = COMMANDS.iter().find(|c| c.0 == w) else {
            bail!("unknown command {w:?}");
        };
        if has_command(&gocore, w) {
            commands.push(*spec);
        } else {
            skipped.push(w.clone());
        }
    }
    let machine = machine();
    let scratch = root.join("target").join("bench-scratch");
    fs::create_dir_all(&scratch)?;
    let mut rows = Vec::new();
    let mut checks = Vec::new();
    let mut all_ok = true;
    for w in &workloads {
        let dir = o.dir.join(w);
        let core = dir.join("core");
        if !core.is_file() {
            bail!(
                "{} has no core — run `cargo xtask bigcore --workload {w}`",
                dir.display()
            );
        }
        let truth = read_truth(&dir)?;
        let objects = truth["memstats"]["HeapObjects"].as_u64().unwrap_or(0);
        let core_size = fs::metadata(&core)?.len();
        println!(
            "{w}: core {}, {objects} objects; warming the page cache",
            human(core_size)
        );
        warm(&core)?;
        if o.check {
            let (msg, ok) = check(&gocore, &dir, &truth, &scratch, o.timeout)?;
            println!("  check: {} — {msg}", if ok { "ok" } else { "FAILED" });
            all_ok &= ok;
            checks.push((w.clone(), msg, ok));
        }
        let target = truth["path_target"].as_u64().filter(|&t| t != 0);
        // The scale series (b6-x<X>) is for the growth curve: histogram and top only.
        let curve = w.contains("-x");
        for (name, tmpl) in &commands {
            if curve && !CURVE.contains(name) {
                continue;
            }
            if target.is_none() && tmpl.contains(&"{target}") {
                println!("  {name}: skipped (truth.json names no path_target)");
                continue;
            }
            // 1 vs 2 threads on b6; the other workloads on the first count given.
            let counts = if w == "b6" {
                &o.threads[..]
            } else {
                &o.threads[..1]
            };
            for &threads in counts {
                let args: Vec<String> = tmpl
                    .iter()
                    .map(|a| {
                        a.replace("{core}", &core.display().to_string())
                            .replace("{out}", &scratch.join("out.pprof").display().to_string())
                            .replace("{target}", &format!("{:#x}", target.unwrap_or(0)))
                    })
                    .collect();
                let mut best: Option<Run> = None;
                let mut peak_anon = 0;
                let mut max_rss = 0;
                for _ in 0..o.repeat {
                    let r = measure(&gocore, &args, threads, None, o.timeout)?;
                    peak_anon = peak_anon.max(r.peak_anon);
                    max_rss = max_rss.max(r.max_rss);
                    if best.as_ref().is_none_or(|b| r.wall < b.wall) {
                        best = Some(r);
                    }
                }
                let mut r = best.unwrap_or_default();
                r.peak_anon = peak_anon;
                r.max_rss = max_rss;
                println!(
                    "  {name:<10} {threads} thr: {:>7.2}s (user {:.2} sys {:.2}) {:>6.1} M obj/s, RSS {}, anon {} ({:.1} B/obj) {}",
                    r.wall,
                    r.user,
                    r.sys,
                    objects as f64 / r.wall / 1e6,
                    human(r.max_rss),
                    human(r.peak_anon),
                    r.peak_anon as f64 / objects.max(1) as f64,
                    if r.ok { String::new() } else { format!("FAILED ({})", r.status) }
                );
                all_ok &= r.ok;
                rows.push((w.clone(), objects, core_size, name.to_string(), threads, r));
            }
        }
    }
    // Less memory than the core: on b20 (else the largest core measured).
    let mut limited = String::new();
    let big = workloads
        .iter()
        .find(|w| *w == "b20")
        .or_else(|| {
            workloads
                .iter()
                .max_by_key(|w| fs::metadata(o.dir.join(w).join("core")).map_or(0, |m| m.len()))
        })
        .filter(|_| o.limited);
    if let Some(w) = big {
        println!("{w}: with less memory than the core (a memory cgroup, page cache cold)");
        match limited_runs(&gocore, &o.dir.join(w), w, &scratch, o.timeout) {
            Ok(rows) => limited = rows,
            Err(e) if format!("{e:#}").contains("output differs") => {
                eprintln!("{e:#}");
                all_ok = false;
            }
            Err(e) => {
                println!("  not run: {e:#}");
                limited = format!("Not run here: {e:#}.\n");
            }
        }
    }
    let mut t = String::new();
    let _ = writeln!(t, "Machine: {machine}.  ");
    let _ = writeln!(
        t,
        "Generated {} by `cargo xtask bench{}` (best wall time of {} runs, page cache warm; peak RSS and anonymous memory are the largest seen).",
        util::utc_now(),
        if args.is_empty() { String::new() } else { format!(" {}", args.join(" ")) },
        o.repeat
    );
    if !skipped.is_empty() {
        let _ = writeln!(
            t,
            "\nNot measured (the `gocore` binary has no such command yet): {}.",
            skipped.join(", ")
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "| workload | objects | core | command | threads | wall s | user+sys s | M objects/s | peak RSS | peak anon | anon B/object |"
    );
    let _ = writeln!(t, "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (w, objects, core_size, name, threads, r) in &rows {
        let _ = writeln!(
            t,
            "| {w} | {objects} | {} | {name}{} | {threads} | {:.2} | {:.2} | {:.1} | {} | {} | {:.1} |",
            human(*core_size),
            if r.ok { "" } else { " (failed)" },
            r.wall,
            r.user + r.sys,
            *objects as f64 / r.wall / 1e6,
            human(r.max_rss),
            human(r.peak_anon),
            r.peak_anon as f64 / (*objects).max(1) as f64
        );
    }
    if !checks.is_empty() {
        let _ = writeln!(
            t,
            "\nCorrectness (`gocore histogram --json` against the fixture's truth.json):\n"
        );
        for (w, msg, ok) in &checks {
            let _ = writeln!(
                t,
                "- {w}: {} — {msg}",
                if *ok { "ok" } else { "**FAILED**" }
            );
        }
    }
    if !limited.is_empty() {
        let _ = writeln!(
            t,
            "\nWith less memory than the core (`histogram --json` and `top --json` in a memory cgroup limited below the core's size, the core evicted from the page cache first, so every page read is charged to the run and must be dropped again; 2 threads; the output compared with an unlimited run):\n"
        );
        t.push_str(&limited);
    }
    println!("\n{t}");
    if o.write {
        let doc = root.join("docs").join("performance.md");
        let text = fs::read_to_string(&doc).unwrap_or_default();
        let new = match (text.find(BEGIN), text.find(END)) {
            (Some(b), Some(e)) if e > b => format!("{}{BEGIN}\n{t}{}", &text[..b], &text[e..]),
            _ => format!("{text}\n{BEGIN}\n{t}{END}\n"),
        };
        fs::write(&doc, new)?;
        println!("wrote {}", doc.display());
    }
    if !all_ok {
        bail!("a check or a run failed (see above)");
    }
    Ok(())
}

/// Runs with less memory than the core: (command, memory limit). The core is
/// evicted from the page cache first (`POSIX_FADV_DONTNEED`), so every page the run
/// reads is charged to its cgroup and must be dropped again to stay under the limit.
const LIMITED: &[(&str, u64)] = &[("histogram", 640 << 20), ("top", 1 << 30)];

/// A memory cgroup of our own (v1 `memory.limit_in_bytes` or v2 `memory.max`), made
/// under the one this process is in; removed when dropped.
struct Cgroup {
    dir: PathBuf,
    limit_file: &'static str,
    peak_file: &'static str,
}

impl Cgroup {
    fn new(name: &str) -> Result<Cgroup> {
        let own = fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
        // cgroup v1's memory controller, else the v2 hierarchy with it enabled.
        let v1 = own.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctl, path) = (f.next()?, f.next()?, f.next()?);
            ctl.split(',')
                .any(|c| c == "memory")
                .then(|| path.to_string())
        });
        let (dir, limit_file, peak_file) = match v1 {
            Some(path) => (
                PathBuf::from(format!("/sys/fs/cgroup/memory{path}")).join(name),
                "memory.limit_in_bytes",
                "memory.max_usage_in_bytes",
            ),
            None => {
                let path = own
                    .lines()
                    .find_map(|l| l.strip_prefix("0::"))
                    .context("no memory cgroup (v1) and no cgroup v2 hierarchy")?;
                let parent = PathBuf::from(format!("/sys/fs/cgroup{path}"));
                let ctl =
                    fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
                if !ctl.split_whitespace().any(|c| c == "memory") {
                    bail!(
                        "the memory controller is not enabled below {}",
                        parent.display()
                    );
                }
                (parent.join(name), "memory.max", "memory.peak")
            }
        };
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Cgroup {
            dir,
            limit_file,
            peak_file,
        })
    }

    fn set_limit(&self, bytes: u64) -> Result<()> {
        let f = self.dir.join(self.limit_file);
        fs::write(&f, bytes.to_string()).with_context(|| format!("writing {}", f.display()))
    }

    /// The most memory (anonymous and page cache) charged to it at once.
    fn peak(&self) -> Option<u64> {
        fs::read_to_string(self.dir.join(self.peak_file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Drops `path`'s pages from the page cache (those nobody maps).
fn evict(path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let f = fs::File::open(path)?;
    // SAFETY: an advisory call on a descriptor we own; it reads no memory of ours.
    let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if r != 0 {
        bail!("posix_fadvise on {}: error {r}", path.display());
    }
    Ok(())
}

/// [`LIMITED`] on the workload `w`: each command with the page cache warm and no
/// limit, then in a memory cgroup below the core's size with the core evicted from
/// the page cache; its JSON output must be the same. The table's rows, or why
/// there are none.
fn limited_runs(
    gocore: &Path,
    dir: &Path,
    w: &str,
    scratch: &Path,
    timeout: Duration,
) -> Result<String> {
    let core = dir.join("core");
    let core_size = fs::metadata(&core)?.len();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| workload | core | command | memory limit | wall s (page cache cold) | peak RSS | peak anon | cgroup peak | output |"
    );
    let _ = writeln!(t, "|---|---:|---|---:|---:|---:|---:|---:|---|");
    for &(cmd, limit) in LIMITED {
        if limit >= core_size {
            continue;
        }
        let args: Vec<String> = vec![cmd.into(), core.display().to_string(), "--json".into()];
        let want = scratch.join(format!("{cmd}-unlimited.json"));
        let got = scratch.join(format!("{cmd}-limited.json"));
        warm(&core)?;
        let free = measure(gocore, &args, 2, Some(&want), timeout)?;
        // A cgroup per run: its peak is this run's.
        let cg = Cgroup::new(&format!("gocore-bench-{}-{cmd}", std::process::id()))?;
        evict(&core)?;
        cg.set_limit(limit)?;
        // The shell puts itself in the cgroup, then becomes gocore (same pid: the
        // measurement follows it).
        let procs = cg.dir.join("cgroup.procs");
        let mut wrapped = vec![
            "-c".to_string(),
            format!("echo $$ > '{}' && exec \"$0\" \"$@\"", procs.display()),
            gocore.display().to_string(),
        ];
        wrapped.extend(args.iter().cloned());
        let r = measure(Path::new("/bin/sh"), &wrapped, 2, Some(&got), timeout)?;
        let same = free.ok && r.ok && fs::read(&want)? == fs::read(&got)?;
        println!(
            "  {cmd} in {} of memory (core {}): {:.2}s, RSS {}, cgroup peak {}, output {}",
            human(limit),
            human(core_size),
            r.wall,
            human(r.max_rss),
            cg.peak().map_or("?".into(), human),
            if same { "the same" } else { "DIFFERENT" }
        );
        let _ = writeln!(
            t,
            "| {w} | {} | {cmd} --json | {} | {:.2} | {} | {} | {} | {} |",
            human(core_size),
            human(limit),
            r.wall,
            human(r.max_rss),
            human(r.peak_anon),
            cg.peak().map_or("?".into(), human),
            if same {
                "same as unlimited".to_string()
            } else {
                format!("**differs** ({})", r.status)
            }
        );
        let _ = fs::remove_file(&want);
        let _ = fs::remove_file(&got);
        if !same {
            bail!(
                "{cmd} on {w} under a {} memory limit: output differs or failed ({})\n{t}",
                human(limit),
                r.status
            );
        }
    }
    warm(&core)?;
    Ok(t)
}
