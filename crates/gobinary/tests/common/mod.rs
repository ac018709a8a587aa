//! Test helpers: Go toolchains on this machine, binaries built with them, and
//! the committed fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Releases whose toolchains the tests look for.
pub const RELEASES: &[&str] = &[
    "1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3",
];

/// A Go toolchain found on this machine.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub version: String,
    pub go: PathBuf,
}

impl Toolchain {
    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.go);
        c.env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off");
        c
    }

    /// Runs `go ARGS` and returns stdout (None on failure, with a printed reason).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Option<String> {
        use std::io::Write;
        let mut c = self.cmd();
        c.args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().ok()?;
        // Feed stdin from another thread: a tool answering line by line (addr2line)
        // fills the stdout pipe before a large input is all written.
        let writer = child.stdin.take().map(|mut pipe| {
            let input = stdin.unwrap_or_default().to_string();
            std::thread::spawn(move || pipe.write_all(input.as_bytes()))
        });
        let out = child.wait_with_output().ok()?;
        if let Some(w) = writer {
            w.join().ok()?.ok()?;
        }
        if !out.status.success() {
            eprintln!(
                "go {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        String::from_utf8(out.stdout).ok()
    }

    /// Builds tests/goprog for GOOS/GOARCH with `ldflags`, once per (release, target,
    /// flags, program source) for all test binaries of a run: the output lives in
    /// target/tmp under a name with a hash of the program's sources, and a lock per
    /// name keeps tests of one binary from building the same thing twice at once
    /// (different builds still run in parallel). Builds that keep DWARF keep it
    /// uncompressed (`-compressdwarf=false`) so that one build serves the DWARF
    /// checks and everything else.
    pub fn build(&self, goos: &str, goarch: &str, ldflags: &str) -> Option<PathBuf> {
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex};
        static LOCKS: Mutex<Option<HashMap<String, Arc<Mutex<()>>>>> = Mutex::new(None);
        let ldflags = if ldflags.contains("-w") {
            ldflags.to_string()
        } else {
            format!("-compressdwarf=false {ldflags}").trim().to_string()
        };
        let tag: String = ldflags
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let name = format!(
            "go{}-{goos}-{goarch}-{tag}-{:016x}",
            self.version,
            source_hash()
        );
        let lock = {
            let mut locks = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
            locks
                .get_or_insert_with(HashMap::new)
                .entry(name.clone())
                .or_default()
                .clone()
        };
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gobinary-go");
        std::fs::create_dir_all(&dir).ok()?;
        let out = dir.join(&name);
        if out.exists() {
            return Some(out);
        }
        let tmp = dir.join(format!("{name}.tmp{}", std::process::id()));
        let prog = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goprog");
        let status = self
            .cmd()
            .current_dir(&prog)
            .env("GOOS", goos)
            .env("GOARCH", goarch)
            .args(["build", "-buildvcs=false", "-ldflags", &ldflags, "-o"])
            .arg(&tmp)
            .arg(".")
            .status()
            .ok()?;
        if !status.success() {
            eprintln!("skip: go{} build {goos}/{goarch} failed", self.version);
            return None;
        }
        std::fs::rename(&tmp, &out).ok()?;
        Some(out)
    }
}

/// Runs a linux build of tests/goprog for `goarch` with `args`: amd64 and 386
/// natively, arm64 and arm under qemu-user. None (with a printed reason) when this
/// machine cannot run it.
pub fn run_linux(path: &Path, goarch: &str, args: &[&str]) -> Option<std::process::Output> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        eprintln!("skip: running linux/{goarch} programs needs a linux/amd64 host");
        return None;
    }
    let mut c = match goarch {
        "amd64" | "386" => Command::new(path),
        "arm64" | "arm" => {
            let qemu = if goarch == "arm64" {
                "qemu-aarch64"
            } else {
                "qemu-arm"
            };
            let mut c = Command::new(qemu);
            c.arg(path);
            c
        }
        _ => return None,
    };
    match c.args(args).output() {
        Ok(out) if out.status.success() => Some(out),
        Ok(out) => {
            eprintln!(
                "skip: {} linux/{goarch} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("skip: cannot run linux/{goarch} {}: {e}", path.display());
            None
        }
    }
}

/// FNV-1a over the names and contents of tests/goprog's files.
fn source_hash() -> u64 {
    static HASH: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *HASH.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/goprog");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut h: u64 = 0xcbf29ce484222325;
        for f in files {
            let rel = f
                .strip_prefix(&root)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            for b in rel.bytes().chain(std::fs::read(&f).unwrap_or_default()) {
                h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
            }
        }
        h
    })
}

/// The toolchains present on this machine (printing what is missing).
pub fn toolchains() -> Vec<Toolchain> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut out = Vec::new();
    for v in RELEASES {
        let go = home.join(format!(".cache/gocore/toolchains/go{v}/bin/go"));
        if go.exists() {
            out.push(Toolchain {
                version: v.to_string(),
                go,
            });
        } else {
            eprintln!("skip go{v}: no toolchain at {}", go.display());
        }
    }
    out
}

/// The toolchains plus Debian's golang-1.19 when installed (apt), for checks that
/// also cover the 1.18-1.19 formats.
pub fn toolchains_with_debian() -> Vec<Toolchain> {
    let mut out = Vec::new();
    let go = PathBuf::from("/usr/lib/go-1.19/bin/go");
    if go.exists() {
        out.push(Toolchain {
            version: "1.19".into(),
            go,
        });
    } else {
        eprintln!("skip go1.19: apt-get install golang-1.19-go to check it");
    }
    out.extend(toolchains());
    out
}

/// Whether a release is the oldest or newest tested: targets whose reading code
/// does not depend on the release (PE32, Mach-O amd64) are built only by these.
pub fn is_edge_release(version: &str) -> bool {
    RELEASES.first() == Some(&version) || RELEASES.last() == Some(&version)
}

/// The newest toolchain present.
pub fn newest() -> Option<Toolchain> {
    toolchains().pop()
}

/// One committed fixture: a stripped binary plus what the Go tools said about it.
pub struct Fixture {
    pub name: String,
    pub binary: Vec<u8>,
    dir: PathBuf,
}

impl Fixture {
    pub fn expected(&self, ext: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.{ext}", self.name)))
            .unwrap_or_else(|e| panic!("{}.{ext}: {e}", self.name))
    }
}

/// All committed fixtures.
pub fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/data")
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_suffix(".zst").map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let z = std::fs::read(dir.join(format!("{name}.zst"))).expect("fixture");
            let binary = zstd::decode_all(&z[..]).expect("zstd");
            Fixture {
                name,
                binary,
                dir: dir.clone(),
            }
        })
        .collect()
}
