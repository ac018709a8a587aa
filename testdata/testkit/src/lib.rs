//! Test-only access to the gocore corpus: real Go core dumps with the truth about
//! what is inside them.
//!
//! The corpus directory is `$GOCORE_CORPUS` if set (the full matrix made by
//! `cargo xtask matrix`), otherwise the committed `testdata/corpus/`. Each case is a
//! directory `<program>-go<VER>-<mode>-<producer>-<arch>/` holding `core.zst`, the
//! executable `<program>.zst`, `truth.json`, `traceback.txt`, gdb's reading of the
//! core (`gdb-mappings.json`, `gdb-registers.json`) and `case.json`. Compressed files
//! are decompressed on demand into `target/testdata-cache/` (once, atomically, so
//! parallel tests can share them).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Root of the workspace (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The corpus directory in use.
pub fn corpus_dir() -> PathBuf {
    match std::env::var_os("GOCORE_CORPUS") {
        Some(dir) if !dir.is_empty() => {
            let p = PathBuf::from(dir);
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        }
        _ => workspace_root().join("testdata").join("corpus"),
    }
}

/// Every case of the corpus in use, sorted by name. Empty if the corpus is missing.
///
/// When the corpus in use is not the committed one (`GOCORE_CORPUS`, e.g. one chunk
/// of the matrix that `cargo xtask matrix` tests at a time) and holds no case of a
/// fixture program the committed corpus has, the committed cases of that program
/// are added, so that a test about one program never finds nothing to check.
pub fn cases() -> Vec<Case> {
    let dir = corpus_dir();
    let mut out = cases_in(&dir);
    let committed_dir = workspace_root().join("testdata").join("corpus");
    let same = match (dir.canonicalize(), committed_dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => dir == committed_dir,
    };
    if !same && !out.is_empty() {
        let committed = cases_in(&committed_dir);
        let missing: Vec<String> = committed
            .iter()
            .map(Case::program)
            .filter(|p| !out.iter().any(|c| &c.program() == p))
            .collect();
        out.extend(
            committed
                .into_iter()
                .filter(|c| missing.contains(&c.program())),
        );
        out.sort_by(|a, b| a.name.cmp(&b.name));
    }
    out
}

fn cases_in(dir: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.join("case.json").is_file() && path.join("core.zst").is_file() {
            if let Some(case) = Case::load(&path) {
                out.push(case);
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The first case (by name) of the corpus in use that satisfies `pred`, or else the
/// first such case of the committed corpus (`testdata/corpus`).
///
/// `cargo xtask matrix` tests the matrix in chunks when the disk is small, so a
/// chunk may lack the one kind of case a test needs; such tests fall back to the
/// committed corpus rather than fail for want of input.
pub fn find_case(pred: impl Fn(&Case) -> bool) -> Option<Case> {
    cases()
        .into_iter()
        .find(|c| pred(c))
        .or_else(|| committed_cases().into_iter().find(|c| pred(c)))
}

/// The cases of the corpus in use that satisfy `pred`; if it holds none, those of
/// the committed corpus (`testdata/corpus`).
///
/// For tests that need one kind of case (a crash core with DWARF, say): a chunk of
/// the matrix that `cargo xtask matrix` tests alone may hold none of that kind.
pub fn cases_where(pred: impl Fn(&Case) -> bool) -> Vec<Case> {
    let v: Vec<Case> = cases().into_iter().filter(|c| pred(c)).collect();
    if !v.is_empty() {
        return v;
    }
    committed_cases().into_iter().filter(|c| pred(c)).collect()
}

/// Every case of the committed corpus (`testdata/corpus`), whatever `GOCORE_CORPUS` says.
pub fn committed_cases() -> Vec<Case> {
    cases_in(&workspace_root().join("testdata").join("corpus"))
}

/// Cases whose name contains every one of `parts`.
pub fn cases_matching(parts: &[&str]) -> Vec<Case> {
    cases()
        .into_iter()
        .filter(|c| parts.iter().all(|p| c.name.contains(p)))
        .collect()
}

/// One corpus case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Directory name, e.g. `zoo-go1.27.3-default-crash-amd64`.
    pub name: String,
    /// The case directory.
    pub dir: PathBuf,
    /// `case.json`.
    pub meta: Value,
}

impl Case {
    fn load(dir: &Path) -> Option<Case> {
        let meta: Value = serde_json::from_slice(&fs::read(dir.join("case.json")).ok()?).ok()?;
        let name = dir.file_name()?.to_string_lossy().into_owned();
        Some(Case {
            name,
            dir: dir.to_path_buf(),
            meta,
        })
    }

    fn meta_str(&self, key: &str) -> String {
        self.meta
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// Fixture program name (`zoo`, `leak`).
    pub fn program(&self) -> String {
        self.meta_str("program")
    }
    /// Go version as `go1.27.3`.
    pub fn go_version(&self) -> String {
        self.meta_str("go_version")
    }
    /// Build mode: `default`, `nodwarf`, `stripped`, `pie`, `cgo`.
    pub fn mode(&self) -> String {
        self.meta_str("mode")
    }
    /// Core producer: `crash`, `sigquit`, `gcore`.
    pub fn producer(&self) -> String {
        self.meta_str("producer")
    }
    /// `amd64` or `arm64`.
    pub fn arch(&self) -> String {
        self.meta_str("arch")
    }

    /// Path of the compressed core as stored.
    pub fn core_zst(&self) -> PathBuf {
        self.dir.join("core.zst")
    }

    /// Path of the compressed executable as stored (`<program>.zst`).
    pub fn exe_zst(&self) -> PathBuf {
        self.dir.join(format!("{}.zst", self.program()))
    }

    /// The decompressed core (cached).
    pub fn core_path(&self) -> PathBuf {
        unpack(&self.core_zst(), &self.cache_dir().join("core"))
            .unwrap_or_else(|e| panic!("unpacking core of {}: {e}", self.name))
    }

    /// The decompressed executable (cached), named by its basename.
    pub fn exe_path(&self) -> PathBuf {
        unpack(&self.exe_zst(), &self.cache_dir().join(self.program()))
            .unwrap_or_else(|e| panic!("unpacking executable of {}: {e}", self.name))
    }

    fn cache_dir(&self) -> PathBuf {
        // Key by the corpus directory too, so the committed corpus and a matrix run
        // with the same case names never share cached files; and by the compressed
        // core's size and modification time, so a case regenerated under the same
        // name and directory (a new `cargo xtask matrix` run) is unpacked afresh.
        let stamp = fs::metadata(self.core_zst())
            .map(|m| {
                let t = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{}:{t}", m.len())
            })
            .unwrap_or_default();
        let mut h: u64 = 0xcbf29ce484222325;
        for b in self.dir.to_string_lossy().bytes().chain(stamp.bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
        workspace_root()
            .join("target")
            .join("testdata-cache")
            .join(format!("{}-{:08x}", self.name, h as u32))
    }

    /// `truth.json`, as written by the fixture before it died.
    pub fn truth(&self) -> Value {
        read_json(&self.dir.join("truth.json"))
    }

    /// The runtime's own goroutine dump (stderr of the run).
    pub fn traceback_text(&self) -> String {
        fs::read_to_string(self.dir.join("traceback.txt")).unwrap_or_default()
    }

    /// Goroutines as the runtime printed them.
    pub fn traceback(&self) -> Vec<TbGoroutine> {
        parse_traceback(&self.traceback_text())
    }

    /// gdb's `info proc mappings` of the core, as JSON records.
    pub fn gdb_mappings(&self) -> Value {
        read_json(&self.dir.join("gdb-mappings.json"))
    }

    /// gdb's `info registers` for every thread, as JSON records.
    pub fn gdb_registers(&self) -> Value {
        read_json(&self.dir.join("gdb-registers.json"))
    }
}

fn read_json(path: &Path) -> Value {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Decompresses `src` (zstd) to `dst` unless `dst` already exists; atomic via rename.
pub fn unpack(src: &Path, dst: &Path) -> io::Result<PathBuf> {
    if dst.is_file() {
        return Ok(dst.to_path_buf());
    }
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent)?;
    }
    // Unique per process and call: tests in one process unpack the same case at once.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dst.with_extension(format!("tmp{}-{seq}", std::process::id()));
    {
        let input = fs::File::open(src)?;
        let out = fs::File::create(&tmp)?;
        let mut dec = zstd::Decoder::new(input)?;
        dec.window_log_max(31)?;
        copy_sparse(&mut dec, out)?;
    }
    // Executables must stay executable (gdb and the CLI tests run nothing, but keep
    // the mode a user would expect).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755));
    }
    fs::rename(&tmp, dst)?;
    Ok(dst.to_path_buf())
}

/// Copies `input` to `out`, leaving all-zero pages as holes: cores hold gigabytes of
/// reserved zeros (gdb's `gcore` writes them out), which then cost no disk or time.
fn copy_sparse(input: &mut impl io::Read, mut out: fs::File) -> io::Result<()> {
    use io::{Seek, SeekFrom, Write};
    const PAGE: usize = 4096;
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    loop {
        // Fill the buffer completely (short reads are normal for decoders).
        let mut n = 0;
        while n < buf.len() {
            let k = input.read(&mut buf[n..])?;
            if k == 0 {
                break;
            }
            n += k;
        }
        if n == 0 {
            break;
        }
        for chunk in buf[..n].chunks(PAGE) {
            if chunk.iter().all(|&b| b == 0) {
                out.seek(SeekFrom::Current(chunk.len() as i64))?;
            } else {
                out.write_all(chunk)?;
            }
        }
        total += n as u64;
        if n < buf.len() {
            break;
        }
    }
    out.set_len(total)?;
    out.sync_all()
}

/// One goroutine of the runtime's traceback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TbGoroutine {
    /// Goroutine id.
    pub id: u64,
    /// The bracketed state up to the first comma: `running`, `chan receive`, `select`, …
    pub state: String,
    /// The whole bracketed text (with `2 minutes`, `locked to thread`, …).
    pub state_full: String,
    /// Function names of the frames, innermost first (inlined frames included, as printed).
    pub frames: Vec<String>,
    /// `created by F in goroutine N`: F.
    pub created_by: Option<String>,
    /// `created by … in goroutine N`: N.
    pub parent: Option<u64>,
}

/// Parses the goroutine sections of a Go traceback (`GOTRACEBACK=crash` output).
/// When a goroutine is printed twice (crash mode prints running goroutines again from
/// their own thread), the entry with more frames wins.
pub fn parse_traceback(text: &str) -> Vec<TbGoroutine> {
    let mut by_id: BTreeMap<u64, TbGoroutine> = BTreeMap::new();
    let mut cur: Option<TbGoroutine> = None;
    let flush = |cur: &mut Option<TbGoroutine>, by_id: &mut BTreeMap<u64, TbGoroutine>| {
        if let Some(g) = cur.take() {
            match by_id.get(&g.id) {
                Some(old) if old.frames.len() >= g.frames.len() => {}
                _ => {
                    by_id.insert(g.id, g);
                }
            }
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("goroutine ") {
            let id_str: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let (Ok(id), Some(open), Some(close)) =
                (id_str.parse::<u64>(), rest.find('['), rest.rfind("]:"))
            {
                if open < close {
                    flush(&mut cur, &mut by_id);
                    let state_full = rest[open + 1..close].to_string();
                    let state = state_full
                        .split(", ")
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    cur = Some(TbGoroutine {
                        id,
                        state,
                        state_full,
                        frames: Vec::new(),
                        created_by: None,
                        parent: None,
                    });
                    continue;
                }
            }
        }
        let Some(g) = cur.as_mut() else { continue };
        if line.is_empty() {
            flush(&mut cur, &mut by_id);
            continue;
        }
        if line.starts_with('\t') || line.starts_with(' ') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("created by ") {
            let (f, parent) = match rest.split_once(" in goroutine ") {
                Some((f, n)) => (f, n.trim().parse().ok()),
                None => (rest, None),
            };
            g.created_by = Some(f.trim().to_string());
            g.parent = parent;
            continue;
        }
        if line.starts_with("...") {
            continue;
        }
        if line.ends_with(')') || line.ends_with("...)") {
            if let Some(p) = line.rfind('(') {
                g.frames.push(line[..p].to_string());
            }
        }
    }
    flush(&mut cur, &mut by_id);
    by_id.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_copy_keeps_contents_and_length() {
        let mut data = vec![0u8; 3 * 4096 + 100];
        data[5000] = 7;
        data[3 * 4096 + 99] = 9;
        let dir = std::env::temp_dir().join(format!("testkit-sparse-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out");
        copy_sparse(&mut &data[..], fs::File::create(&path).unwrap()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), data);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn parses_goroutine_headers_frames_and_creators() {
        let text = "panic: boom\n\ngoroutine 1 gp=0xc000002380 m=0 mp=0x5a2d40 [running]:\n\
panic({0x4a0f40?, 0x4e7a30?})\n\t/go/src/runtime/panic.go:811 +0x168 fp=0xc fp=0x1\n\
main.main()\n\t/src/main.go:10 +0x25\n\n\
goroutine 18 gp=0xc000003dc0 m=nil [chan receive, 2 minutes]:\n\
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)\n\t/go/src/runtime/proc.go:435 +0xce\n\
main.(*T).wait(...)\n\t/src/main.go:20\n\
created by main.main in goroutine 1\n\t/src/main.go:9 +0x1a\n";
        let gs = parse_traceback(text);
        assert_eq!(gs.len(), 2);
        assert_eq!(gs[0].id, 1);
        assert_eq!(gs[0].state, "running");
        assert_eq!(gs[0].frames, vec!["panic", "main.main"]);
        assert_eq!(gs[1].id, 18);
        assert_eq!(gs[1].state, "chan receive");
        assert_eq!(gs[1].state_full, "chan receive, 2 minutes");
        assert_eq!(gs[1].frames, vec!["runtime.gopark", "main.(*T).wait"]);
        assert_eq!(gs[1].created_by.as_deref(), Some("main.main"));
        assert_eq!(gs[1].parent, Some(1));
    }
}
