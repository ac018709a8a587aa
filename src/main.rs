//! `gocore`: the command-line front end. A thin layer: arguments are parsed and
//! validated here, the work is done by the `corefile`, `gobinary` and `gocore` crates,
//! and the results are printed as text or JSON.
//!
//! Exit codes (see [`exit`]; also in `gocore --help` and the README): 0 success
//! (warnings about the input, if any, on stderr), 1 the query found nothing (no heap
//! object at the address), 2 usage error, 3 the input could not be read or
//! analysed, 4 partial result under `--strict` (warnings were printed).
//!
//! The one `unsafe` block is [`malloc_tuning`]'s call to glibc's `mallopt`.
#![deny(unsafe_code)]

/// Every line the commands print to stderr goes through [`output::stderr_line`],
/// which counts the `gocore: warning:` lines so that `--strict` can turn a partial
/// result into exit code 4, and never panics when stderr is closed. Defined before
/// the modules so that it shadows `std::eprintln!` in all of them.
macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::output::stderr_line(::std::format_args!($($arg)*))
    };
}

mod cli;
mod cmd;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// The exit codes, for scripts.
pub(crate) mod exit {
    /// The query found nothing (e.g. `gocore object CORE ADDR`: no heap object there).
    pub const NOT_FOUND: u8 = 1;
    /// Usage error (clap's own code).
    pub const USAGE: u8 = 2;
    /// The input could not be read or analysed: a file missing or unreadable, not a
    /// core or not a Go binary, the executable missing or not the one that made the
    /// core, runtime structures unreadable. The message names the file, the
    /// structure or address, and the Go version when known.
    pub const INPUT: u8 = 3;
    /// With `--strict`: the command printed a result, but warnings say it is partial
    /// (damaged or missing memory, unreadable goroutines, heap metadata …).
    pub const PARTIAL: u8 = 4;
}

/// Makes glibc's malloc memory-map every block of 1 MiB or more and unmap it when
/// freed, for the whole run.
///
/// By default glibc raises that threshold (up to 32 MiB) each time a mapped block
/// is freed, and the blocks below the new threshold then come from its heaps, which
/// keep freed memory resident. The analyses allocate and free per-object arrays of
/// a few MiB to a few tens of MiB one after another (the DFS, the semidominator
/// records, typing's work), so with the default the freed ones stayed resident
/// beside the next: on a 6 M-object core, `top` peaked at 255 MiB of anonymous
/// memory instead of 205, `leaks` 315 instead of 260 (docs/performance.md). A
/// threshold set by the user (`MALLOC_MMAP_THRESHOLD_`) is kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn malloc_tuning() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    // SAFETY: `mallopt` only sets one of malloc's tuning parameters (it takes
    // malloc's own lock); no memory is passed or returned.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn malloc_tuning() {}

fn main() -> ExitCode {
    malloc_tuning();
    let args = match cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    progress::set_quiet(args.quiet);
    if let Some(n) = args.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build_global()
        {
            eprintln!("gocore: warning: --threads {n}: {e}");
        }
    }
    match cmd::run(&args) {
        Ok(code) if code == ExitCode::SUCCESS && args.strict && output::warnings_printed() > 0 => {
            eprintln!(
                "gocore: {} warning(s): partial result (exit code {} under --strict)",
                output::warnings_printed(),
                exit::PARTIAL
            );
            ExitCode::from(exit::PARTIAL)
        }
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "gocore: error: {}{}",
                output::error_chain(&err),
                output::input_description(&err)
            );
            ExitCode::from(exit::INPUT)
        }
    }
}
