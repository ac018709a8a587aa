//! Small formatting helpers shared by the commands, and what `main` needs to
//! choose the exit code and to say which input an error is about.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

static WARNINGS: AtomicUsize = AtomicUsize::new(0);

/// Writes one line to stderr (the crate's `eprintln!` expands to this), counting
/// `gocore: warning:` lines. A closed stderr is ignored rather than a panic.
pub fn stderr_line(args: fmt::Arguments<'_>) {
    let line = args.to_string();
    if line.starts_with("gocore: warning") {
        WARNINGS.fetch_add(1, Ordering::Relaxed);
    }
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// How many warnings were printed so far.
pub fn warnings_printed() -> usize {
    WARNINGS.load(Ordering::Relaxed)
}

/// The input files of the command, for error messages.
#[derive(Default)]
struct Input {
    core: Option<PathBuf>,
    exe: Option<PathBuf>,
}

static INPUT: Mutex<Input> = Mutex::new(Input {
    core: None,
    exe: None,
});

/// Records the core being analysed and the executable it was opened with, so that
/// an error can name them (and the Go version the executable was built with).
pub fn set_input(core: &Path, exe: Option<&Path>) {
    if let Ok(mut i) = INPUT.lock() {
        i.core = Some(core.to_owned());
        i.exe = exe.map(Path::to_owned);
    }
}

/// The error and its causes, `: `-separated, each cause left out when the text
/// before it already says it (many errors print their source in their message too).
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out
}

/// ` (core C, executable E, go1.N.M)`: what the error is about, leaving out what its
/// message already says; empty when no input was recorded.
pub fn input_description(err: &anyhow::Error) -> String {
    let msg = error_chain(err);
    let Ok(input) = INPUT.lock() else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(core) = &input.core {
        let c = core.display().to_string();
        if !msg.contains(&c) {
            parts.push(format!("core {c}"));
        }
    }
    if let Some(exe) = &input.exe {
        let e = exe.display().to_string();
        if !msg.contains(&e) {
            parts.push(format!("executable {e}"));
        }
        let version = gobinary::MappedFile::open(exe)
            .ok()
            .and_then(|f| f.parse().ok()?.build_info().ok())
            .map(|b| b.go_version);
        if let Some(v) = version.filter(|v| !msg.contains(v.as_str())) {
            parts.push(v);
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Prints `value` as pretty JSON followed by a newline.
pub fn print_json(value: &Value) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// `1.5 MiB`-style size.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `0x…` for an address.
pub fn hex(n: u64) -> String {
    format!("{n:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
