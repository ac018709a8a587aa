//! `gocore`: the Go runtime model over a core dump.
//!
//! * [`Process`]: a [`corefile::Core`] together with its executable's function table
//!   and the runtime layouts of the Go release that built it — the starting point.
//! * [`Region`]: a typed view of process memory (`field`, `deref`, `index`,
//!   `slice_len`, `string`, `uint` …) over which the runtime model is written.
//! * [`layout`]: sizes, field offsets and constants of runtime structures for the Go
//!   release (and experiments) that built a binary — from its DWARF, or from tables
//!   generated from reference builds.
//! * [`Typing`]: a type for each heap object, from malloc headers, DWARF-typed
//!   globals and frames, and propagation along typed pointers.
//!
//! ```no_run
//! let core = corefile::Core::open("core.zst")?;
//! let proc = gocore::Process::new(&core)?;
//! let version = proc.global("runtime.buildVersion", "string")?.string()?;
//! let allgs = proc.global("runtime.allgs", "[]*runtime.g")?;
//! println!("{version}: {} goroutines ever created", allgs.slice_len()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod breakdown;
pub mod diff;
mod dominators;
mod dwarf;
mod error;
mod fx;
mod globals;
pub mod goroutine;
mod graph;
mod heap;
pub mod layout;
mod leaks;
mod paths;
pub mod pprof;
mod process;
mod progress;
mod reach;
mod region;
mod roots;
mod types;
mod value;

pub use breakdown::{Breakdown, BreakdownCheck, BreakdownNode, RuntimeCounters};
pub use diff::{Amount, Change, Snapshot, SnapshotDiff};
pub use dominators::{Dominators, GroupRetained, RetainedSizes};
pub use error::{Error, Result};
pub use globals::{signature_globals, GlobalLocation, Method};
pub use goroutine::{
    Frame, Frames, Goroutine, Goroutines, Location, SavedRegs, Stack, Status, UnwindError,
};
pub use graph::{NodeId, NodeKind, ObjectGraph, RootGroup};
pub use heap::{
    Heap, ObjId, Object, Objects, Pointer, PointerLayout, Pointers, SpanInfo, SpanState, TypeInfo,
};
pub use leaks::{GoroutineLeak, LeakOptions, LeakReport, Suspect, TypeGroup};
pub use paths::{
    paths_to, paths_to_releasing, shortest_paths, LabelledPath, PathLabeler, PathStep, Referrer,
};
pub use process::Process;
pub use progress::{Progress, Stage};
pub use reach::{BadPointer, EdgeStats, ObjSet, Reachability};
pub use region::{Region, MAX_ELEMS, MAX_STRING};
pub use roots::{Root, RootKind, RootOptions, RootSet};
pub use types::{
    Coverage, EntryKind, ObjType, TypeCount, TypeEntry, TypeId, TypeSource, Typing, UntypedGroup,
};
pub use value::{
    Data, Decoder, Field, FrameRegisters, Limits, PointerTarget, RegisterSource, Value, VarKind,
    Variable,
};
