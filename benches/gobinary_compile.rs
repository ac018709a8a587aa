//! Benchmark: load the Go toolchain's own `compile` binary (one of the largest Go
//! binaries on the machine, ~27 MiB, ~20 000 functions) with `gobinary` and resolve
//! every function: name, package, entry file:line, and the frames (inlined calls
//! expanded) at its midpoint.
//!
//! Run with `cargo bench --bench gobinary_compile`. The binary defaults to the
//! newest cached toolchain's (`cargo xtask toolchains`); set
//! `GOCORE_BENCH_BINARY=/path/to/a/go/binary` for another.
//!
//! Reports the best and median of several runs for each phase, plus functions per
//! second; no external harness (the phases are whole-binary operations, so plain
//! wall-clock repetitions are what matters).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gobinary::MappedFile;

const RUNS: usize = 7;

fn default_binary() -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let root = home.join(".cache/gocore/toolchains");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter_map(|t| {
            ["pkg/tool", "lib/python3.11/site-packages/go/pkg/tool"]
                .iter()
                .map(|p| t.join(p).join("linux_amd64/compile"))
                .find(|c| c.is_file())
        })
        .collect();
    // Newest release last (go1.9 < go1.27 by numeric components).
    found.sort_by_key(|p| {
        p.components()
            .find_map(|c| {
                let v = c.as_os_str().to_str()?.strip_prefix("go")?;
                v.starts_with(|ch: char| ch.is_ascii_digit())
                    .then(|| v.to_owned())
            })
            .map(|v| {
                v.split('.')
                    .map(|n| n.parse::<u32>().unwrap_or(0))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    found.pop()
}

fn stats(mut d: Vec<Duration>) -> (Duration, Duration) {
    d.sort();
    (d[0], d[d.len() / 2])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need.
    let path = match std::env::var_os("GOCORE_BENCH_BINARY") {
        Some(p) => PathBuf::from(p),
        None => match default_binary() {
            Some(p) => p,
            None => {
                eprintln!("skip: no Go toolchain cached (run `cargo xtask toolchains`) and no GOCORE_BENCH_BINARY");
                return Ok(());
            }
        },
    };
    let size = std::fs::metadata(&path)?.len();
    let (mut load, mut resolve, mut inline) = (Vec::new(), Vec::new(), Vec::new());
    let (mut funcs, mut lines, mut frames) = (0usize, 0usize, 0usize);
    for _ in 0..RUNS {
        // Load: map the file, parse the object format, find build info and pclntab.
        let t = Instant::now();
        let file = MappedFile::open(&path)?;
        let bin = file.parse()?;
        let tab = bin.pclntab()?;
        let version = bin.build_info().map(|b| b.go_version.clone()).ok();
        load.push(t.elapsed());

        // Resolve every function: name, package, entry file:line.
        let t = Instant::now();
        let (mut n, mut l) = (0, 0);
        for func in tab.funcs() {
            let func = func?;
            std::hint::black_box(func.package());
            if tab.func_file_line(&func, func.entry)?.is_some() {
                l += 1;
            }
            n += 1;
        }
        resolve.push(t.elapsed());

        // Frames at every function's midpoint: inlined calls expanded (the inline
        // tree walked), as a stack unwinder needs.
        let t = Instant::now();
        let mut f = 0;
        for func in tab.funcs() {
            let func = func?;
            let mid = func.entry + func.end.saturating_sub(func.entry) / 2;
            f += tab.frames(mid).map(|v| v.len()).unwrap_or(0);
        }
        inline.push(t.elapsed());
        (funcs, lines, frames) = (n, l, f);
        std::hint::black_box(version);
    }
    let (lb, lm) = stats(load);
    let (rb, rm) = stats(resolve);
    let (ib, im) = stats(inline);
    let per_s = |d: Duration| funcs as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "binary: {} ({:.1} MiB)",
        path.display(),
        size as f64 / (1 << 20) as f64
    );
    println!(
        "functions: {funcs} ({lines} with an entry file:line, \
         {frames} frames at midpoints, inlined included)"
    );
    println!("{RUNS} runs, best / median:");
    println!("  load (map, parse, build info, pclntab): {lb:?} / {lm:?}");
    println!(
        "  resolve all functions (name, package, file:line): {rb:?} / {rm:?} ({:.1} M functions/s)",
        per_s(rb) / 1e6
    );
    println!(
        "  frames at every midpoint (inline tree): {ib:?} / {im:?} ({:.1} M functions/s)",
        per_s(ib) / 1e6
    );
    Ok(())
}
