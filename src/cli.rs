//! Command-line arguments. Every command on a core has the shape
//! `gocore COMMAND CORE [ARGS…] [--exe PATH] [--json]`; binary-only commands are
//! `gocore bin SUBCOMMAND BINARY`.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

/// The exit codes, as `gocore --help` lists them (see `main.rs`).
const EXIT_CODES: &str = "Exit codes:
  0  success (warnings about damaged or missing input, if any, on stderr)
  1  the query found nothing (e.g. no heap object at the address)
  2  usage error
  3  the input could not be read or analysed (the message names the file,
     the structure or address, and the Go version when known)
  4  with --strict: partial result (warnings were printed)";

/// Inspect Go core dumps and binaries.
#[derive(Debug, Parser)]
#[command(name = "gocore", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
    /// Exit with code 4 when the result is partial (warnings were printed).
    #[arg(long, global = true)]
    pub strict: bool,
    /// No progress spinner on the terminal during long phases.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Worker threads (default: one per core; `RAYON_NUM_THREADS` also sets it). With
    /// one, typing runs after the object graph and the dominator tree instead of
    /// beside them: slower, and the retention commands need less memory at their
    /// peak. The results are the same for any number.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// Options shared by every command that opens a core.
#[derive(Debug, ClapArgs)]
pub struct CoreArgs {
    /// The core file (may be compressed: .zst, .gz).
    pub core: PathBuf,
    /// The executable that produced the core (default: found from the core).
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,
    /// Directory to search for the executable and shared libraries (repeatable).
    #[arg(long = "search-path", value_name = "DIR")]
    pub search_paths: Vec<PathBuf>,
    /// Prefix for absolute library paths recorded in the core.
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Use the executable even if it does not match the core.
    #[arg(long)]
    pub force_exe: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Architecture, executable, Go version, signal, threads and mappings at a glance.
    Overview(CoreArgs),
    /// Every memory mapping and where its bytes come from.
    Mappings(CoreArgs),
    /// Every thread with its registers.
    Threads(CoreArgs),
    /// Every goroutine: id, state or wait reason, thread, start function, where it is.
    Goroutines(crate::cmd::goroutines::GoroutinesArgs),
    /// Every allocated heap object: address, size, size class, type when recorded.
    Objects(CoreArgs),
    /// Heap objects by type (where recorded) or size class: count and bytes
    /// (`--live`: only objects reachable from the roots).
    Histogram(crate::cmd::histogram::HistogramArgs),
    /// GC roots: counts per kind (globals, frames, specials, queues) and the first N.
    Roots(crate::cmd::roots::RootsArgs),
    /// Where every mapped byte goes (heap, stacks, metadata, files), checked against
    /// the runtime's own counters.
    Breakdown(CoreArgs),
    /// Hex dump of process memory.
    Read(ReadArgs),
    /// The heap object containing an address: its type and fields with values
    /// (untyped: its words, pointer slots and targets).
    Object(crate::cmd::object::ObjectArgs),
    /// Package variables: address, size, type and value (DWARF; else the symbol table).
    Globals(crate::cmd::globals::GlobalsArgs),
    /// What grew between two cores: live objects by type, by retainer path, and
    /// goroutines by site.
    Diff(crate::cmd::diff::DiffArgs),
    /// Largest retainers by retained size (dominator tree), by object, type and root;
    /// `--drill ADDR` lists what a node dominates.
    Top(crate::cmd::top::TopArgs),
    /// Why an object is alive: a shortest path from each distinct root.
    Path(crate::cmd::path::PathArgs),
    /// Who points at an object: heap objects and roots.
    Referrers(crate::cmd::referrers::ReferrersArgs),
    /// Leak suspects: big retainers, type groups with their accumulation point and
    /// root path, goroutines parked by the dozen.
    Leaks(crate::cmd::leaks::LeaksArgs),
    /// The live heap as a pprof profile: retention paths from the roots as stacks,
    /// sample types objects, space and retained (`go tool pprof` reads it).
    Pprof(crate::cmd::pprof::PprofArgs),
    /// Graphviz DOT of an object's neighbourhood (referrers and referents) or of a
    /// retainer's dominator subtree, bounded in size.
    Graph(crate::cmd::graph::GraphArgs),
    /// Commands on a Go binary alone (no core needed).
    #[command(subcommand)]
    Bin(BinCommand),
}

#[derive(Debug, Subcommand)]
pub enum BinCommand {
    /// Build information, as `go version -m` prints it.
    Info(BinArgs),
    /// Functions from the pclntab: entry, end, name, package, file:start line.
    Funcs(BinFuncsArgs),
    /// Function and file:line at each PC, inlined frames first (like `go tool addr2line`).
    Lines(BinLinesArgs),
    /// Runtime type descriptors: address, kind, size, pointer bytes, name.
    Types(BinTypesArgs),
    /// The vulncheck view: symbols present (inlined ones too) by module and package.
    Symbols(BinArgs),
}

/// Options of `gocore bin …`.
#[derive(Debug, ClapArgs)]
pub struct BinArgs {
    /// The Go binary (ELF, PE or Mach-O).
    pub binary: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `gocore bin funcs`.
#[derive(Debug, ClapArgs)]
pub struct BinFuncsArgs {
    #[command(flatten)]
    pub bin: BinArgs,
    /// Also list the functions inlined into each function.
    #[arg(long)]
    pub inlined: bool,
}

/// Options of `gocore bin lines`.
#[derive(Debug, ClapArgs)]
pub struct BinLinesArgs {
    #[command(flatten)]
    pub bin: BinArgs,
    /// Program counters (hex, with or without 0x).
    #[arg(required = true, value_parser = parse_pc)]
    pub pcs: Vec<u64>,
}

/// Options of `gocore bin types`.
#[derive(Debug, ClapArgs)]
pub struct BinTypesArgs {
    #[command(flatten)]
    pub bin: BinArgs,
    /// Show the fields of struct types.
    #[arg(long)]
    pub fields: bool,
}

/// Options of `gocore read`.
#[derive(Debug, ClapArgs)]
pub struct ReadArgs {
    #[command(flatten)]
    pub core: CoreArgs,
    /// Address (hex, `0x` optional).
    #[arg(value_parser = parse_pc)]
    pub addr: u64,
    /// Bytes to dump (decimal, or hex with `0x`).
    #[arg(default_value = "256", value_parser = parse_len)]
    pub len: u64,
}

/// A length: decimal, or hexadecimal with `0x`.
fn parse_len(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("not a length: {s}: {e}"))
}

/// A PC as `go tool addr2line` takes it: hexadecimal, `0x` optional.
fn parse_pc(s: &str) -> Result<u64, String> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(digits, 16).map_err(|e| format!("not a hex PC: {s}: {e}"))
}
