//! Case specs, building fixture programs, producing cores and writing case dirs.

use crate::elf;
use crate::gdb;
use crate::tools;
use crate::util::{self, describe_status, kill_and_reap, read_lossy, tail, wait_timeout};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Builds with a non-default `GOEXPERIMENT`: (mode name, `GOEXPERIMENT` value, minor
/// releases that accept it). Checked against each toolchain (`go build` rejects an
/// experiment a release does not know): 1.22 accepts noallocheaders (1.21 has no such
/// experiment, 1.23 and 1.24 reject it), 1.24–1.25 accept noswissmap (1.23, 1.26, 1.27
/// reject it), 1.25 has greenteagc as an experiment, 1.26–1.27 accept nogreenteagc;
/// every release 1.21–1.27 accepts arenas (user arenas, package `arena`: zoo's
/// `arena.go` is built only then).
/// The same sets as the layout tables (`layouts::EXPERIMENTS`, checked by a test),
/// apart from arenas, which changes no runtime layout (it adds package `arena` and
/// the code behind it; `mheap`/`mspan` carry the user-arena fields in every build).
/// These are made with the crash producer on amd64 only, with DWARF.
pub const EXPERIMENT_MODES: &[(&str, &str, &[u32])] = &[
    ("exp-noallocheaders", "noallocheaders", &[22]),
    ("exp-noswissmap", "noswissmap", &[24, 25]),
    ("exp-greenteagc", "greenteagc", &[25]),
    ("exp-noswissmap+greenteagc", "noswissmap,greenteagc", &[25]),
    ("exp-nogreenteagc", "nogreenteagc", &[26, 27]),
    ("exp-arenas", "arenas", &[21, 22, 23, 24, 25, 26, 27]),
];

/// Experiment modes made only when asked for by name (`--modes NAME`), not by
/// default nor by `--modes exp`. None at present: exp-arenas (zoo's user arenas,
/// `tests/arenas.rs`) was one until typing counted a user arena chunk by its typed
/// values and the leak test's list threshold left the chunks out.
pub const OPT_IN_MODES: &[&str] = &[];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Default,
    NoDwarf,
    Stripped,
    Pie,
    Cgo,
    /// A default build with `GOEXPERIMENT` set: index into [`EXPERIMENT_MODES`].
    Exp(u8),
}

impl Mode {
    /// The ordinary build modes (every release, every producer, amd64).
    pub const ALL: [Mode; 5] = [
        Mode::Default,
        Mode::NoDwarf,
        Mode::Stripped,
        Mode::Pie,
        Mode::Cgo,
    ];
    /// The experiment modes of the default matrix, in [`EXPERIMENT_MODES`] order
    /// (without [`OPT_IN_MODES`]).
    pub fn experiments_all() -> Vec<Mode> {
        (0..EXPERIMENT_MODES.len())
            .filter(|&i| !OPT_IN_MODES.contains(&EXPERIMENT_MODES[i].0))
            .map(|i| Mode::Exp(i as u8))
            .collect()
    }
    /// Every mode of the default matrix: [`Mode::ALL`] then the experiment modes.
    pub fn every() -> Vec<Mode> {
        let mut v = Mode::ALL.to_vec();
        v.extend(Mode::experiments_all());
        v
    }
    pub fn name(self) -> &'static str {
        match self {
            Mode::Default => "default",
            Mode::NoDwarf => "nodwarf",
            Mode::Stripped => "stripped",
            Mode::Pie => "pie",
            Mode::Cgo => "cgo",
            Mode::Exp(i) => EXPERIMENT_MODES[i as usize].0,
        }
    }
    /// The `GOEXPERIMENT` value of an experiment mode (`noswissmap,greenteagc`).
    pub fn goexperiment(self) -> Option<&'static str> {
        match self {
            Mode::Exp(i) => Some(EXPERIMENT_MODES[i as usize].1),
            _ => None,
        }
    }
    /// The experiments as a list (empty for ordinary modes).
    pub fn experiments(self) -> Vec<&'static str> {
        self.goexperiment()
            .map(|e| e.split(',').collect())
            .unwrap_or_default()
    }
    pub fn is_experiment(self) -> bool {
        matches!(self, Mode::Exp(_))
    }
    /// Whether this mode can be built with `release` (`1.25.5`).
    pub fn accepts_release(self, release: &str) -> bool {
        match self {
            Mode::Exp(i) => {
                let minor: Option<u32> = release.split('.').nth(1).and_then(|m| m.parse().ok());
                minor.is_some_and(|m| EXPERIMENT_MODES[i as usize].2.contains(&m))
            }
            _ => true,
        }
    }
    pub fn parse(s: &str) -> Result<Mode> {
        Mode::ALL
            .into_iter()
            .chain((0..EXPERIMENT_MODES.len()).map(|i| Mode::Exp(i as u8)))
            .find(|m| m.name() == s)
            .with_context(|| {
                format!(
                    "unknown build mode {s:?} (default, nodwarf, stripped, pie, cgo, exp, {})",
                    EXPERIMENT_MODES
                        .iter()
                        .map(|e| e.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
    /// One `--modes` item: a mode name, or `exp` for every experiment mode.
    pub fn parse_many(s: &str) -> Result<Vec<Mode>> {
        if s == "exp" {
            return Ok(Mode::experiments_all());
        }
        Ok(vec![Mode::parse(s)?])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Producer {
    Crash,
    Sigquit,
    Gcore,
}

impl Producer {
    pub const ALL: [Producer; 3] = [Producer::Crash, Producer::Sigquit, Producer::Gcore];
    pub fn name(self) -> &'static str {
        match self {
            Producer::Crash => "crash",
            Producer::Sigquit => "sigquit",
            Producer::Gcore => "gcore",
        }
    }
    pub fn parse(s: &str) -> Result<Producer> {
        Producer::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .with_context(|| format!("unknown producer {s:?} (crash, sigquit, gcore)"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuildKey {
    pub program: String,
    pub version: String,
    pub mode: Mode,
    pub arch: Arch,
}

impl BuildKey {
    pub fn name(&self) -> String {
        format!(
            "{}-go{}-{}-{}",
            self.program,
            self.version,
            self.mode.name(),
            self.arch.name()
        )
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    pub program: String,
    pub version: String,
    pub mode: Mode,
    pub producer: Producer,
    pub arch: Arch,
    /// A variant of the same build run with extra environment (e.g. `LEAK_ROUNDS`):
    /// its name is appended to the case name (`...-amd64-rounds1000`).
    pub variant: Option<Variant>,
}

/// A run of an ordinary build with extra environment variables.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Appended to the case name after a `-`.
    pub suffix: String,
    /// Set for the program's run (on top of the harness's own variables).
    pub env: Vec<(String, String)>,
}

impl Case {
    pub fn new(program: &str, version: &str, mode: Mode, producer: Producer, arch: Arch) -> Case {
        Case {
            program: program.into(),
            version: version.into(),
            mode,
            producer,
            arch,
            variant: None,
        }
    }
    /// The same case run with `env` set, named `<name>-<suffix>`; it shares the build.
    pub fn with_variant(mut self, suffix: &str, env: &[(&str, &str)]) -> Case {
        self.variant = Some(Variant {
            suffix: suffix.into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        self
    }
    /// `<program>-go<VER>-<mode>-<producer>-<arch>`, then `-<variant>` if any.
    pub fn name(&self) -> String {
        let mut n = format!(
            "{}-go{}-{}-{}-{}",
            self.program,
            self.version,
            self.mode.name(),
            self.producer.name(),
            self.arch.name()
        );
        if let Some(v) = &self.variant {
            n.push('-');
            n.push_str(&v.suffix);
        }
        n
    }
    pub fn build_key(&self) -> BuildKey {
        BuildKey {
            program: self.program.clone(),
            version: self.version.clone(),
            mode: self.mode,
            arch: self.arch,
        }
    }
}

/// Shared settings of one xtask run.
pub struct Ctx {
    pub root: PathBuf,
    pub cache: PathBuf,
    /// Scratch space (builds, run dirs); removed at the end.
    pub work: PathBuf,
    pub level: i32,
    pub run_timeout: Duration,
    pub generator: String,
    pub gdb_version: String,
    pub kernel: String,
}

impl Ctx {
    /// `testdata/programs`, or `$GOCORE_PROGRAMS_DIR` (for trying the harness on other programs).
    pub fn programs_root(&self) -> PathBuf {
        match std::env::var_os("GOCORE_PROGRAMS_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => self.root.join("testdata").join("programs"),
        }
    }
    pub fn program_dir(&self, program: &str) -> PathBuf {
        self.programs_root().join(program)
    }
}

/// A built executable and how it was built.
#[derive(Clone, Debug)]
pub struct Built {
    pub exe: PathBuf,
    /// The executable, zstd-compressed once per build (shared by its cases).
    pub exe_zst: PathBuf,
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub dir: PathBuf,
    pub go_version: String,
    pub interp: Option<String>,
    pub e_type: u16,
    pub ldd: Option<String>,
    pub note: Option<String>,
    /// The executable's Go version as `go version -m` prints it (` X:…`/`-X:…` suffix
    /// for non-default experiments).
    pub exe_version: String,
    /// Its `build GOEXPERIMENT=` setting, if any.
    pub exe_goexperiment: Option<String>,
}

/// How the fixture asks for cgo: Some(tag) when a file with `import "C"` is behind a
/// custom build tag, Some("") when a cgo file is always built with CGO_ENABLED=1,
/// None when the program has no cgo file.
fn cgo_tag(dir: &Path) -> Result<Option<String>> {
    let mut found: Option<String> = None;
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "go"))
        .collect();
    names.sort();
    const KNOWN: &[&str] = &["cgo", "linux", "amd64", "arm64", "unix", "gc", "ignore"];
    for p in names {
        let src = read_lossy(&p);
        if !src.lines().any(|l| l.trim() == "import \"C\"") {
            continue;
        }
        let tag = src
            .lines()
            .find_map(|l| l.trim().strip_prefix("//go:build "))
            .and_then(|expr| {
                expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                    .filter(|w| !w.is_empty() && !KNOWN.contains(w) && !w.starts_with("go1"))
                    .map(str::to_string)
                    .next()
            })
            .unwrap_or_default();
        if found.as_deref().is_none_or(|f| f.is_empty()) {
            found = Some(tag);
        }
    }
    Ok(found)
}

pub fn build(ctx: &Ctx, key: &BuildKey) -> Result<Built> {
    let dir = ctx.program_dir(&key.program);
    if !dir.join("go.mod").exists() {
        bail!(
            "fixture program {:?} not found: no go.mod in {}",
            key.program,
            dir.display()
        );
    }
    let go = tools::go_bin(&ctx.cache, &key.version);
    if !go.exists() {
        bail!(
            "Go {} is not installed at {} — run `cargo xtask toolchains` first",
            key.version,
            go.display()
        );
    }
    let out_dir = ctx.work.join("build").join(key.name());
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir)?;
    }
    fs::create_dir_all(&out_dir)?;
    let exe = out_dir.join(&key.program);

    let mut env = BTreeMap::new();
    for (k, v) in [
        ("GOTOOLCHAIN", "local"),
        ("GOFLAGS", "-mod=mod"),
        ("GOPROXY", "off"),
        ("GOWORK", "off"),
        ("GOENV", "off"),
        ("GOOS", "linux"),
        ("GOARCH", key.arch.name()),
        ("CGO_ENABLED", if key.mode == Mode::Cgo { "1" } else { "0" }),
    ] {
        env.insert(k.to_string(), v.to_string());
    }
    env.insert(
        "GOCACHE".into(),
        ctx.cache.join("go-build").display().to_string(),
    );
    if key.mode == Mode::Cgo {
        env.insert("CC".into(), "gcc".into());
    }
    if let Some(e) = key.mode.goexperiment() {
        env.insert("GOEXPERIMENT".into(), e.into());
    }
    let mut argv: Vec<String> = vec![
        go.display().to_string(),
        "build".into(),
        "-o".into(),
        exe.display().to_string(),
    ];
    let mut note = None;
    match key.mode {
        Mode::Default => {}
        Mode::NoDwarf => argv.push("-ldflags=-w".into()),
        Mode::Stripped => argv.push("-ldflags=-s -w".into()),
        Mode::Pie => argv.push("-buildmode=pie".into()),
        Mode::Exp(_) => {
            if key.arch != Arch::Amd64 {
                bail!("experiment builds are only made for amd64");
            }
        }
        Mode::Cgo => {
            if key.arch != Arch::Amd64 {
                bail!("cgo builds are only supported for amd64");
            }
            match cgo_tag(&dir)? {
                Some(tag) if !tag.is_empty() => {
                    argv.push("-tags".into());
                    argv.push(tag.clone());
                    note = Some(format!("fixture's cgo file enabled with -tags {tag}"));
                }
                Some(_) => {
                    note = Some("fixture has a cgo file built whenever CGO_ENABLED=1".into())
                }
                None => {
                    argv.push("-ldflags=-linkmode=external".into());
                    note = Some(
                        "fixture has no cgo file: external linking with gcc makes it link libc"
                            .into(),
                    );
                }
            }
        }
    }
    argv.push(".".into());

    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(&dir).envs(&env);
    if key.mode.goexperiment().is_none() {
        // Not from the caller's environment either: ordinary modes use the defaults.
        cmd.env_remove("GOEXPERIMENT");
    }
    let what = format!("go build of {}", key.name());
    let out = util::run_output(&mut cmd, Duration::from_secs(900), &what)?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n  command: {}\n{}",
            describe_status(&out.status),
            shell_words(&argv),
            tail(&out.stderr, 40)
        );
    }
    let info = elf::read_elf_info(&exe)?;
    let want_machine = match key.arch {
        Arch::Amd64 => 62,
        Arch::Arm64 => 183,
    };
    if info.e_machine != want_machine {
        bail!(
            "{what}: produced ELF machine {} instead of {}",
            info.e_machine,
            key.arch.name()
        );
    }
    let mut ldd = None;
    if key.mode == Mode::Cgo {
        if info.interp.is_none() {
            bail!("{what}: cgo build is not dynamically linked (no PT_INTERP)");
        }
        let mut c = Command::new("ldd");
        c.arg(&exe);
        let o = util::run_checked(&mut c, Duration::from_secs(60), "ldd")?;
        if !o.stdout.contains("libc.so") {
            bail!(
                "{what}: cgo build does not link libc; ldd says:\n{}",
                o.stdout
            );
        }
        ldd = Some(o.stdout.trim().to_string());
    }
    let go_version = tools::go_version(&go)?;
    let (exe_version, exe_goexperiment) = check_experiments(&go, &exe, key.mode)
        .with_context(|| format!("{what}: checking the experiments it was built with"))?;
    let exe_zst = out_dir.join(format!("{}.zst", key.program));
    util::compress_file(&exe, &exe_zst, ctx.level)?;
    Ok(Built {
        exe,
        exe_zst,
        argv,
        env,
        dir,
        go_version,
        interp: info.interp,
        e_type: info.e_type,
        ldd,
        note,
        exe_version,
        exe_goexperiment,
    })
}

/// Reads `go version -m EXE` and checks that the executable records exactly the
/// experiments of `mode`: the version line ends in ` X:a,b` (`-X:a,b` from Go 1.26)
/// listing each, and the `build GOEXPERIMENT=` setting names each; ordinary modes
/// must have neither. Returns the version (`go1.26.6-X:nogreenteagc`) and the
/// `GOEXPERIMENT` build setting (None if absent).
fn check_experiments(go: &Path, exe: &Path, mode: Mode) -> Result<(String, Option<String>)> {
    let mut c = Command::new(go);
    c.arg("version")
        .arg("-m")
        .arg(exe)
        .env("GOTOOLCHAIN", "local");
    let out = util::run_checked(&mut c, Duration::from_secs(60), "go version -m")?;
    let first = out.stdout.lines().next().unwrap_or("");
    let version = first
        .split_once(": ")
        .map(|(_, v)| v.trim().to_string())
        .with_context(|| format!("unexpected `go version -m` output {first:?}"))?;
    let suffix: Vec<&str> = version
        .find(" X:")
        .or_else(|| version.find("-X:"))
        .map(|i| version[i + 3..].split(',').map(str::trim).collect())
        .unwrap_or_default();
    let setting = out.stdout.lines().find_map(|l| {
        l.trim()
            .strip_prefix("build")
            .map(str::trim)
            .and_then(|l| l.strip_prefix("GOEXPERIMENT="))
            .map(str::to_string)
    });
    let want = mode.experiments();
    let listed: Vec<&str> = setting
        .as_deref()
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    for e in &want {
        if !suffix.contains(e) {
            bail!("the executable's Go version {version:?} does not list experiment {e} (X:...)");
        }
        if !listed.contains(e) {
            bail!("the executable's build settings do not list GOEXPERIMENT {e} ({setting:?})");
        }
    }
    if want.is_empty() && (!suffix.is_empty() || setting.is_some()) {
        bail!(
            "an ordinary build records non-default experiments: version {version:?}, GOEXPERIMENT {setting:?}"
        );
    }
    Ok((version, setting))
}

fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Result of one generated case.
#[derive(Clone, Debug)]
pub struct Done {
    pub name: String,
    pub core_size: u64,
    pub core_zst: u64,
    pub exe_zst: u64,
    pub dir_size: u64,
    pub secs: f64,
    pub warnings: Vec<String>,
}

fn core_pattern() -> String {
    fs::read_to_string("/proc/sys/kernel/core_pattern")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn no_core_error(run_dir: &Path, status: &str, stderr: &str) -> anyhow::Error {
    if status == "exit code 0" || status.starts_with("exit code ") {
        return anyhow::anyhow!(
            "no core: the program exited ({status}) instead of dying from SIGABRT — it should panic \
             (GOCORE_CRASH=panic) or die from SIGQUIT (GOCORE_CRASH=wait) under GOTRACEBACK=crash; run dir {}.\n  stderr tail:\n{}",
            run_dir.display(),
            stderr_tail(stderr)
        );
    }
    anyhow::anyhow!(
        "no core file was produced in {} (process {status}).\n  hint: the child runs under `ulimit -c unlimited`; \
         /proc/sys/kernel/core_pattern is {:?} — it must be a plain file name such as `core` \
         (a `|pipe` to systemd-coredump/apport takes the core away); also check the hard RLIMIT_CORE and that \
         the directory is writable.\n  stderr tail:\n{}",
        run_dir.display(),
        core_pattern(),
        stderr_tail(stderr)
    )
}

fn stderr_tail(s: &str) -> String {
    if s.trim().is_empty() {
        "    (stderr is empty)\n".into()
    } else {
        tail(s, 15).lines().map(|l| format!("    {l}\n")).collect()
    }
}

/// Waits until the threads of `pid` have settled: over five checks 20 ms apart
/// (`/proc/PID/task/*/stat`), every thread either slept (state `S`) at each check
/// without using CPU time in between, or ran at each (a goroutine spinning on its
/// own thread, like zoo's `main.busy`). False if that did not happen within `max`.
fn wait_until_quiet(pid: u32, max: Duration) -> bool {
    const WINDOW: usize = 5;
    let deadline = Instant::now() + max;
    let mut samples: Vec<BTreeMap<u32, (bool, u64)>> = Vec::new();
    while Instant::now() < deadline {
        let Some(s) = thread_states(pid) else {
            return false;
        };
        samples.push(s);
        if samples.len() > WINDOW {
            samples.remove(0);
        }
        if samples.len() == WINDOW && settled(&samples) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Whether the samples show the same threads, each asleep throughout with the same
/// CPU time, or running throughout.
fn settled(samples: &[BTreeMap<u32, (bool, u64)>]) -> bool {
    let first = &samples[0];
    !first.is_empty()
        && samples.iter().all(|s| {
            s.len() == first.len()
                && s.iter().all(|(tid, &(asleep, cpu))| match first.get(tid) {
                    Some(&(a0, c0)) if asleep && a0 => cpu == c0,
                    Some(&(a0, _)) => !asleep && !a0,
                    None => false,
                })
        })
}

/// Each thread of `pid`: whether it sleeps (state `S`) and its CPU time in ticks.
fn thread_states(pid: u32) -> Option<BTreeMap<u32, (bool, u64)>> {
    let mut out = BTreeMap::new();
    for t in fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        // A thread that exits meanwhile is left out (the next sample differs anyway).
        let Some(tid) = t.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        // `pid (comm) S ppid ...`: fields after the last `)`; utime and stime are the
        // 14th and 15th fields of the line, the 12th and 13th after the state.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let tick = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok());
        let (Some(u), Some(k)) = (tick(11), tick(12)) else {
            continue;
        };
        out.insert(tid, (rest.first() == Some(&"S"), u + k));
    }
    Some(out)
}

fn send_signal(pid: u32, sig: &str) -> Result<()> {
    let st = Command::new("bash")
        .arg("-c")
        .arg(format!("kill -{sig} {pid}"))
        .status()
        .context("running kill")?;
    if !st.success() {
        bail!("kill -{sig} {pid} failed ({})", describe_status(&st));
    }
    Ok(())
}

/// Generates one case into `out/<name>` (replacing it).
pub fn run_case(ctx: &Ctx, case: &Case, built: &Built, out: &Path) -> Result<Done> {
    let t0 = Instant::now();
    let name = case.name();
    let run_dir = ctx.work.join("run").join(&name);
    let aux_dir = ctx.work.join("aux").join(&name);
    for d in [&run_dir, &aux_dir] {
        if d.exists() {
            fs::remove_dir_all(d)?;
        }
        fs::create_dir_all(d)?;
    }
    let exe_name = case.program.clone();
    let exe = run_dir.join(&exe_name);
    fs::copy(&built.exe, &exe)
        .with_context(|| format!("copying executable to {}", exe.display()))?;
    let truth = run_dir.join("truth.json");
    let stderr_path = aux_dir.join("stderr.txt");
    let wait_mode = case.producer != Producer::Crash;
    let timeout = ctx.run_timeout;

    let inner = match case.arch {
        Arch::Amd64 => format!("ulimit -c unlimited; exec ./{exe_name}"),
        Arch::Arm64 => format!("ulimit -c unlimited; exec qemu-aarch64 ./{exe_name}"),
    };
    let mut env = BTreeMap::new();
    for k in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(k) {
            env.insert(k.to_string(), v);
        }
    }
    env.insert("GOTRACEBACK".into(), "crash".into());
    env.insert("GOMAXPROCS".into(), "4".into());
    env.insert("GOCORE_TRUTH".into(), truth.display().to_string());
    env.insert(
        "GOCORE_CRASH".into(),
        if wait_mode { "wait" } else { "panic" }.into(),
    );
    if let Some(v) = &case.variant {
        for (k, val) in &v.env {
            env.insert(k.clone(), val.clone());
        }
    }

    let run_argv = vec!["bash".to_string(), "-c".to_string(), inner.clone()];
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&inner)
        .current_dir(&run_dir)
        .env_clear()
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(fs::File::create(&stderr_path)?));
    let mut child = cmd
        .spawn()
        .context("starting the fixture program under bash")?;
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });

    let mut gcore_info = Value::Null;
    let gcore_path = aux_dir.join("gcore.core");
    if wait_mode {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.trim() == "READY" => break,
                Ok(_) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    kill_and_reap(&mut child);
                    bail!(
                        "READY never came: the program did not print READY within {}s (GOCORE_CRASH=wait); stderr tail:\n{}",
                        timeout.as_secs(),
                        stderr_tail(&read_lossy(&stderr_path))
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let st = wait_timeout(&mut child, Duration::from_secs(10))?;
                    if st.is_none() {
                        kill_and_reap(&mut child);
                    }
                    bail!(
                        "the program closed stdout / exited ({}) before printing READY; stderr tail:\n{}",
                        st.map(|s| describe_status(&s)).unwrap_or_else(|| "still running".into()),
                        stderr_tail(&read_lossy(&stderr_path))
                    );
                }
            }
        }
        if case.producer == Producer::Gcore {
            // The program printed READY just before parking its main goroutine, and
            // the runtime's background goroutines (sweeper, scavenger) may still be
            // finishing the last GC's work. gdb's core and the SIGQUIT traceback that
            // follows it are two snapshots: take the first only once every thread
            // sleeps, so that both show the same goroutines.
            if !wait_until_quiet(pid, Duration::from_secs(10)) {
                eprintln!(
                    "  note: {}: pid {pid} did not settle (some thread kept running) within 10s; taking the gcore anyway",
                    name
                );
            }
            let gargv = vec![
                "gdb".to_string(),
                "-batch".into(),
                "-nx".into(),
                "-p".into(),
                pid.to_string(),
                "-ex".into(),
                format!("gcore {}", gcore_path.display()),
            ];
            let mut c = Command::new(&gargv[0]);
            c.args(&gargv[1..]);
            let res = util::run_output(&mut c, Duration::from_secs(300), "gdb gcore");
            let ok = matches!(&res, Ok(o) if o.status.success()) && gcore_path.exists();
            if !ok {
                kill_and_reap(&mut child);
                let detail = match res {
                    Ok(o) => format!(
                        "{}\n{}{}",
                        describe_status(&o.status),
                        tail(&o.stdout, 10),
                        tail(&o.stderr, 10)
                    ),
                    Err(e) => format!("{e:#}"),
                };
                bail!("gdb gcore of pid {pid} failed: {detail}");
            }
            gcore_info = json!({ "command": gargv });
        }
        if let Err(e) = send_signal(pid, "QUIT") {
            kill_and_reap(&mut child);
            return Err(e);
        }
    }

    let status = match wait_timeout(&mut child, timeout)? {
        Some(st) => st,
        None => {
            kill_and_reap(&mut child);
            bail!(
                "timed out after {}s waiting for the program to {}; stderr tail:\n{}",
                timeout.as_secs(),
                if wait_mode {
                    "die from SIGQUIT"
                } else {
                    "crash"
                },
                stderr_tail(&read_lossy(&stderr_path))
            );
        }
    };
    let stdout_text = reader.join().unwrap_or_default();
    let stderr_text = read_lossy(&stderr_path);
    let status_text = describe_status(&status);

    // Find the core(s) in the run dir.
    let mut kernel_cores = Vec::new();
    let mut qemu_cores = Vec::new();
    for e in fs::read_dir(&run_dir)? {
        let e = e?;
        let n = e.file_name().to_string_lossy().into_owned();
        if n == "core" || (n.starts_with("core.") && n[5..].chars().all(|c| c.is_ascii_digit())) {
            kernel_cores.push(e.path());
        } else if n.starts_with("qemu_") && n.ends_with(".core") {
            qemu_cores.push(e.path());
        }
    }
    let core_path: PathBuf = match (case.producer, case.arch) {
        (Producer::Gcore, _) => gcore_path.clone(),
        (_, Arch::Arm64) => match qemu_cores.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(no_core_error(&run_dir, &status_text, &stderr_text)
                    .context("qemu-aarch64 wrote no guest core (qemu_<name>_<date>_<pid>.core)"))
            }
            _ => bail!("several qemu guest cores in {}", run_dir.display()),
        },
        (_, Arch::Amd64) => {
            let pref = run_dir.join(format!("core.{pid}"));
            if pref.exists() {
                pref
            } else if kernel_cores.len() == 1 {
                kernel_cores[0].clone()
            } else if kernel_cores.is_empty() {
                return Err(no_core_error(&run_dir, &status_text, &stderr_text));
            } else {
                bail!(
                    "several core files in {}: {:?}",
                    run_dir.display(),
                    kernel_cores
                );
            }
        }
    };
    let core_original_name = core_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // Discard the other cores (qemu's own host core; the SIGQUIT core after gcore).
    for k in kernel_cores.iter().chain(qemu_cores.iter()) {
        if *k != core_path {
            let _ = fs::remove_file(k);
        }
    }
    if !truth.exists() {
        bail!(
            "the program did not write its truth JSON to {} (GOCORE_TRUTH); process {status_text}; stderr tail:\n{}",
            truth.display(),
            stderr_tail(&stderr_text)
        );
    }
    let truth_bytes = fs::read(&truth)?;
    let truth_json = serde_json::from_slice::<Value>(&truth_bytes)
        .with_context(|| format!("truth JSON {} does not parse", truth.display()))?;

    let mut warnings = Vec::new();
    // The fixture's own checks (goroutines in their expected states before the dump).
    match truth_json.get("in_place_errors").and_then(Value::as_array) {
        Some(errs) if errs.is_empty() => {}
        Some(errs) => warnings.push(format!(
            "the fixture's in-place checks failed: {}",
            errs.iter()
                .map(|e| e
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string()))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        None => warnings.push("truth.json has no in_place_errors".to_string()),
    }
    if !stderr_text.contains("goroutine ") {
        warnings.push("traceback.txt contains no goroutine dump".to_string());
    }

    let t_run = t0.elapsed().as_secs_f64();
    // gdb's independent reading.
    let (gdb, pre): (&str, Vec<&str>) = match case.arch {
        Arch::Amd64 => ("gdb", vec![]),
        Arch::Arm64 => ("gdb-multiarch", vec!["-ex", "set architecture aarch64"]),
    };
    let mut gdb_argv: Vec<String> = vec![gdb.into(), "-batch".into(), "-nx".into()];
    gdb_argv.extend(pre.iter().map(|s| s.to_string()));
    for c in [
        "info proc mappings",
        "info threads",
        "thread apply all info registers",
        "thread apply all bt 3",
    ] {
        gdb_argv.push("-ex".into());
        gdb_argv.push(c.into());
    }
    gdb_argv.push(exe.display().to_string());
    gdb_argv.push(core_path.display().to_string());
    let gdb_txt_path = aux_dir.join("gdb.txt");
    {
        let f = fs::File::create(&gdb_txt_path)?;
        let mut c = Command::new(&gdb_argv[0]);
        c.args(&gdb_argv[1..])
            .current_dir(&run_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(f.try_clone()?))
            .stderr(Stdio::from(f));
        let mut ch = c.spawn().with_context(|| format!("starting {gdb}"))?;
        match wait_timeout(&mut ch, Duration::from_secs(600))? {
            Some(st) if st.success() => {}
            Some(st) => warnings.push(format!("{gdb} exited with {}", describe_status(&st))),
            None => {
                kill_and_reap(&mut ch);
                bail!("{gdb} timed out reading the core");
            }
        }
    }
    let gdb_txt = read_lossy(&gdb_txt_path);
    let mappings = gdb::parse_mappings(&gdb_txt);
    let regs = gdb::parse_registers(&gdb_txt);
    if regs.is_empty() {
        warnings.push("gdb showed no thread registers".into());
    }
    if mappings.is_empty() {
        warnings.push("gdb showed no file mappings".into());
    }

    let t_gdb = t0.elapsed().as_secs_f64() - t_run;
    // Stage the case dir, then swap it in.
    fs::create_dir_all(out)?;
    let stage = out.join(format!(".{name}.tmp"));
    if stage.exists() {
        fs::remove_dir_all(&stage)?;
    }
    fs::create_dir_all(&stage)?;
    let core_size = fs::metadata(&core_path)?.len();
    let core_zst = util::compress_file(&core_path, &stage.join("core.zst"), ctx.level)?;
    let _ = fs::remove_file(&core_path);
    let exe_size = fs::metadata(&exe)?.len();
    // Same bytes as `exe` (copied from the build); compressed once per build.
    let exe_zst = fs::copy(&built.exe_zst, stage.join(format!("{exe_name}.zst")))?;
    let t_pack = t0.elapsed().as_secs_f64() - t_run - t_gdb;
    fs::write(stage.join("truth.json"), &truth_bytes)?;
    fs::write(stage.join("traceback.txt"), &stderr_text)?;
    fs::write(stage.join("gdb.txt"), &gdb_txt)?;
    fs::write(
        stage.join("gdb-mappings.json"),
        serde_json::to_string_pretty(&mappings)? + "\n",
    )?;
    fs::write(
        stage.join("gdb-registers.json"),
        serde_json::to_string_pretty(&regs)? + "\n",
    )?;

    let meta = json!({
        "name": name,
        "program": case.program,
        "go_version": format!("go{}", case.version),
        "release": case.version,
        "go_version_output": built.go_version,
        "mode": case.mode.name(),
        "experiments": case.mode.experiments(),
        "producer": case.producer.name(),
        "arch": case.arch.name(),
        "variant": case.variant.as_ref().map(|v| json!({
            "suffix": v.suffix,
            "env": v.env.iter().cloned().collect::<BTreeMap<String, String>>(),
        })),
        "goos": "linux",
        "build": {
            "command": built.argv,
            "command_line": shell_words(&built.argv),
            "dir": built.dir.display().to_string(),
            "env": built.env,
            "elf_type": match built.e_type { 2 => "EXEC", 3 => "DYN", _ => "other" },
            "interp": built.interp,
            "ldd": built.ldd,
            "note": built.note,
            "goexperiment": case.mode.goexperiment(),
            "exe_go_version": built.exe_version,
            "exe_goexperiment_setting": built.exe_goexperiment,
        },
        "run": {
            "command": run_argv,
            "cwd": run_dir.display().to_string(),
            "env": env,
            "exe_path": exe.display().to_string(),
            "pid": pid,
            "status": status_text,
            "stdout": stdout_text,
            "timeout_secs": timeout.as_secs(),
            "coredump_filter": "kernel default (file-backed pages not dumped)",
            "gcore": gcore_info,
        },
        "core": {
            "file": "core.zst",
            "original_name": core_original_name,
            "size": core_size,
            "zst_size": core_zst,
        },
        "exe": {
            "file": format!("{exe_name}.zst"),
            "name": exe_name,
            "size": exe_size,
            "zst_size": exe_zst,
        },
        "zstd_level": ctx.level,
        "gdb": {
            "version": ctx.gdb_version,
            "command": gdb_argv,
            "threads": regs.len(),
            "mappings": mappings.len(),
        },
        "generated": util::utc_now(),
        "generator": ctx.generator,
        "host_kernel": ctx.kernel,
        "warnings": warnings,
        "timings_secs": { "run": round2(t_run), "gdb": round2(t_gdb), "compress": round2(t_pack) },
    });
    fs::write(
        stage.join("case.json"),
        serde_json::to_string_pretty(&meta)? + "\n",
    )?;
    let dir_size = util::dir_size(&stage);
    let final_dir = out.join(&name);
    if final_dir.exists() {
        fs::remove_dir_all(&final_dir)
            .with_context(|| format!("removing old {}", final_dir.display()))?;
    }
    fs::rename(&stage, &final_dir)?;
    let _ = fs::remove_dir_all(&run_dir);
    let _ = fs::remove_dir_all(&aux_dir);
    Ok(Done {
        name,
        core_size,
        core_zst,
        exe_zst,
        dir_size,
        secs: t0.elapsed().as_secs_f64(),
        warnings,
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn a_process_has_settled_when_its_threads_sleep_or_spin_throughout() {
        let s = |v: &[(u32, bool, u64)]| -> BTreeMap<u32, (bool, u64)> {
            v.iter().map(|&(t, a, c)| (t, (a, c))).collect()
        };
        // Thread 2 spins (always running, CPU time grows); 1 and 3 sleep.
        let quiet = [
            s(&[(1, true, 5), (2, false, 10), (3, true, 7)]),
            s(&[(1, true, 5), (2, false, 12), (3, true, 7)]),
        ];
        assert!(settled(&quiet));
        // Thread 3 slept at both checks but ran in between.
        let woke = [
            s(&[(1, true, 5), (3, true, 7)]),
            s(&[(1, true, 5), (3, true, 8)]),
        ];
        assert!(!settled(&woke));
        // Thread 1 went to sleep; a thread appeared.
        assert!(!settled(&[s(&[(1, false, 5)]), s(&[(1, true, 5)])]));
        assert!(!settled(&[
            s(&[(1, true, 5)]),
            s(&[(1, true, 5), (4, true, 0)])
        ]));
        assert!(!settled(&[s(&[]), s(&[])]));
        // This process has at least one thread, and it is running now.
        let me = thread_states(std::process::id()).unwrap();
        assert!(!me.is_empty());
        assert!(thread_states(u32::MAX).is_none());
    }

    /// The matrix's experiment builds cover exactly the (release, experiments) pairs
    /// the layout tables are generated for.
    #[test]
    fn experiment_modes_match_layout_experiments() {
        // Experiments that change no runtime layout (no table of their own).
        const NON_LAYOUT_EXPERIMENTS: &[&str] = &["arenas"];
        let canon = |e: &str| {
            let mut v: Vec<&str> = e.split(',').collect();
            v.sort();
            v.join(",")
        };
        let ours: BTreeSet<(u32, String)> = EXPERIMENT_MODES
            .iter()
            .filter(|(_, e, _)| !NON_LAYOUT_EXPERIMENTS.contains(e))
            .flat_map(|(_, e, minors)| minors.iter().map(move |m| (*m, canon(e))))
            .collect();
        let layouts: BTreeSet<(u32, String)> = crate::layouts::EXPERIMENTS
            .iter()
            .flat_map(|(m, es)| es.iter().map(move |e| (*m, canon(e))))
            .collect();
        assert_eq!(ours, layouts);
    }

    #[test]
    fn experiment_mode_names() {
        for m in Mode::every() {
            assert_eq!(Mode::parse(m.name()).unwrap(), m);
            assert!(
                !m.name().contains(','),
                "{} would break --modes lists",
                m.name()
            );
        }
        let arenas = Mode::parse("exp-arenas").unwrap();
        assert!(arenas.accepts_release("1.21.13") && Mode::every().contains(&arenas));
        let m = Mode::parse("exp-noswissmap").unwrap();
        assert_eq!(m.experiments(), ["noswissmap"]);
        assert!(m.accepts_release("1.24.11") && !m.accepts_release("1.26.6"));
        assert_eq!(
            Mode::parse_many("exp").unwrap().len(),
            EXPERIMENT_MODES.len() - OPT_IN_MODES.len()
        );
        let c = Case::new("zoo", "1.24.11", m, Producer::Crash, Arch::Amd64);
        assert_eq!(c.name(), "zoo-go1.24.11-exp-noswissmap-crash-amd64");
    }
}
