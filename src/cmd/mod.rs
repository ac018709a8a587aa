//! One module per command; `run` dispatches.

mod bin;
mod breakdown;
pub(crate) mod diff;
pub(crate) mod globals;
pub(crate) mod goroutines;
pub(crate) mod graph;
pub mod histogram;
pub(crate) mod leaks;
mod mappings;
pub(crate) mod object;
mod objects;
mod overview;
pub(crate) mod path;
pub(crate) mod pprof;
mod read;
pub(crate) mod referrers;
pub(crate) mod roots;
mod threads;
pub(crate) mod top;

use std::process::ExitCode;

use anyhow::Context;
use corefile::{Core, OpenOptions};

use crate::cli::{Args, Command, CoreArgs};

/// Runs the command and returns the process exit code. A reader that goes away
/// (`gocore objects CORE | head`) ends the command quietly and successfully,
/// whichever way the write failed.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    quiet_broken_pipe_panics();
    match dispatch(args) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        r => r,
    }
}

/// Whether an error is a write to a closed pipe (directly, or through serde_json).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// `println!` panics when stdout is a closed pipe (Rust ignores SIGPIPE): exit 0
/// instead of printing the panic. Other panics keep the default report.
fn quiet_broken_pipe_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn dispatch(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        Command::Overview(a) => overview::run(a),
        Command::Mappings(a) => mappings::run(a),
        Command::Threads(a) => threads::run(a),
        Command::Goroutines(a) => goroutines::run(a),
        Command::Objects(a) => objects::run(a),
        Command::Histogram(a) => histogram::run(a),
        Command::Roots(a) => roots::run(a),
        Command::Breakdown(a) => breakdown::run(a),
        Command::Read(a) => read::run_read(a),
        Command::Object(a) => object::run(a),
        Command::Globals(a) => globals::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Top(a) => top::run(a),
        Command::Path(a) => path::run(a),
        Command::Referrers(a) => referrers::run(a),
        Command::Leaks(a) => leaks::run(a),
        Command::Pprof(a) => pprof::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Bin(c) => bin::run(c),
    }
}

/// Opens the core named on the command line with the user's options, printing any
/// warnings to stderr.
pub fn open_core(a: &CoreArgs) -> anyhow::Result<Core> {
    let mut opts = OpenOptions::new().allow_mismatch(a.force_exe);
    if let Some(exe) = &a.exe {
        opts = opts.executable(exe);
    }
    for dir in &a.search_paths {
        opts = opts.search_path(dir);
    }
    if let Some(root) = &a.sysroot {
        opts = opts.sysroot(root);
    }
    crate::output::set_input(&a.core, a.exe.as_deref());
    let core = Core::open_with(&a.core, &opts)
        .with_context(|| format!("opening core {}", a.core.display()))?;
    crate::output::set_input(&a.core, core.executable().map(|e| e.path()));
    for w in core.warnings() {
        eprintln!("gocore: warning: {w}");
    }
    Ok(core)
}

/// Build info of the core's executable, when it is a Go binary we can read.
pub fn build_info(core: &Core) -> Option<Result<gobinary::BuildInfo, gobinary::Error>> {
    let exe = core.executable()?;
    Some(gobinary::GoBinary::parse(exe.data()).and_then(|b| b.build_info()))
}

/// Names the function (and file:line) containing a PC of the process, from the
/// executable's pclntab, undoing the PIE load bias.
pub struct Symbolizer<'a> {
    tab: Option<gobinary::Pclntab<'a>>,
    bias: u64,
}

impl<'a> Symbolizer<'a> {
    /// Reads the function table of the core's executable (none when the executable
    /// or its pclntab is unavailable: names are then simply not shown).
    pub fn new(core: &'a Core) -> Symbolizer<'a> {
        let Some(exe) = core.executable() else {
            return Symbolizer { tab: None, bias: 0 };
        };
        let tab = gobinary::GoBinary::parse(exe.data())
            .and_then(|b| b.pclntab())
            .map_err(|e| eprintln!("gocore: warning: no function names: {e}"))
            .ok();
        Symbolizer {
            tab,
            bias: exe.load_bias(),
        }
    }

    /// The function containing `pc`, if known.
    pub fn name(&self, pc: u64) -> Option<&'a str> {
        let tab = self.tab.as_ref()?;
        let f = tab.func_for_pc(pc.wrapping_sub(self.bias)).ok()??;
        Some(f.name)
    }
}
