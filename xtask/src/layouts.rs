//! `cargo xtask layouts`: regenerate the version-keyed runtime layout tables of
//! `gocore::layout` (crates/gocore/src/layout/generated/).
//!
//! Builds the reference program `xtask/layouts-ref/` with every supported release
//! (`tools::RELEASES`), for linux/amd64 and linux/arm64, once with the default
//! experiments and once per non-default experiment set of [`EXPERIMENTS`]; then runs
//! the `layouts_gen` example of the gocore crate over the executables, which reads
//! their DWARF with the library's own extraction code and writes one Rust file per
//! (release, experiments) plus the index, which are then formatted with rustfmt.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::{tools, util};

/// Non-default `GOEXPERIMENT` sets that change runtime layouts, per minor release.
/// Checked against each toolchain (`go build` rejects experiments a release does not
/// know): 1.22 accepts noallocheaders (1.23 no longer does), 1.24–1.25 accept
/// noswissmap (1.26 no longer does), 1.25 accepts greenteagc, 1.26–1.27 accept
/// nogreenteagc.
pub const EXPERIMENTS: &[(u32, &[&str])] = &[
    (22, &["noallocheaders"]),
    (24, &["noswissmap"]),
    (25, &["noswissmap", "greenteagc", "noswissmap,greenteagc"]),
    (26, &["nogreenteagc"]),
    (27, &["nogreenteagc"]),
];

const ARCHES: &[&str] = &["amd64", "arm64"];

struct Job {
    release: &'static str,
    experiment: &'static str,
    arch: &'static str,
}

impl Job {
    fn name(&self) -> String {
        let e = if self.experiment.is_empty() {
            String::new()
        } else {
            format!("-{}", self.experiment.replace(',', "+"))
        };
        format!("layouts-ref-go{}{e}-{}", self.release, self.arch)
    }
}

fn minor_of(release: &str) -> Option<u32> {
    release.split('.').nth(1)?.parse().ok()
}

pub fn cmd_layouts(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        if a == "-h" || a == "--help" {
            println!("usage: cargo xtask layouts\n\nregenerate crates/gocore/src/layout/generated/ from reference builds");
            return Ok(());
        }
        bail!("layouts takes no options (got {a:?})");
    }
    let root = util::workspace_root();
    let cache = util::cache_dir()?;
    let src = root.join("xtask").join("layouts-ref");
    let out = root
        .join("crates")
        .join("gocore")
        .join("src")
        .join("layout")
        .join("generated");
    let work = std::env::temp_dir().join(format!("gocore-layouts-{}", std::process::id()));
    fs::create_dir_all(&work)?;

    let mut jobs = Vec::new();
    for &release in tools::RELEASES {
        let minor = minor_of(release).with_context(|| format!("bad release {release}"))?;
        let exps = EXPERIMENTS
            .iter()
            .find(|(m, _)| *m == minor)
            .map(|(_, e)| *e)
            .unwrap_or(&[]);
        for &arch in ARCHES {
            for &experiment in std::iter::once(&"").chain(exps.iter()) {
                jobs.push(Job {
                    release,
                    experiment,
                    arch,
                });
            }
        }
    }
    for &release in tools::RELEASES {
        let go = tools::go_bin(&cache, release);
        if !go.exists() {
            bail!(
                "{} is missing: run `cargo xtask toolchains --releases {release}`",
                go.display()
            );
        }
    }

    println!("building {} reference executables ...", jobs.len());
    let results: Mutex<Vec<(usize, Result<PathBuf>)>> = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(job) = jobs.get(i) else { break };
                let r = build(&cache, &src, &work, job);
                match &r {
                    Ok(_) => println!("  built {}", job.name()),
                    Err(e) => println!("  FAILED {}: {e:#}", job.name()),
                }
                results.lock().unwrap().push((i, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut exes = Vec::new();
    for (i, r) in results {
        exes.push(r.with_context(|| format!("building {}", jobs[i].name()))?);
    }

    println!("extracting layouts (cargo run -p gocore --example layouts_gen) ...");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args([
            "run",
            "-q",
            "-p",
            "gocore",
            "--example",
            "layouts_gen",
            "--",
        ])
        .arg(&out)
        .args(&exes)
        .current_dir(&root)
        .status()
        .context("running the layouts_gen example")?;
    if !status.success() {
        bail!("layouts_gen failed ({status})");
    }
    let mut files: Vec<PathBuf> = fs::read_dir(&out)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let status = Command::new("rustfmt")
        .args(["--edition", "2021"])
        .args(&files)
        .status()
        .context("running rustfmt on the generated files")?;
    if !status.success() {
        bail!("rustfmt failed ({status})");
    }
    let total: u64 = files
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "wrote {} files ({} bytes) into {}; now run `cargo test -p gocore`",
        files.len(),
        total,
        out.display()
    );
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

fn build(cache: &Path, src: &Path, work: &Path, job: &Job) -> Result<PathBuf> {
    let exe = work.join(job.name());
    let out = Command::new(tools::go_bin(cache, job.release))
        .args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(src)
        .env("GOOS", "linux")
        .env("GOARCH", job.arch)
        .env("CGO_ENABLED", "0")
        .env("GOEXPERIMENT", job.experiment)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("GOENV", "off")
        .env("GOCACHE", cache.join("go-build"))
        .output()
        .context("running go build")?;
    if !out.status.success() {
        bail!(
            "go build failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(exe)
}
