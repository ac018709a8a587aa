//! Goroutines and their stacks.
//!
//! [`Process::goroutines`] walks `runtime.allgs` and gives each live goroutine's id,
//! status, wait reason (read from the binary's own `runtime.waitReasonStrings`),
//! creation site, start function, thread and stack bounds as a [`Goroutine`].
//! [`Goroutine::frames`] unwinds its stack into [`Frame`]s, inlined calls expanded,
//! the way the runtime's own traceback (`runtime/traceback.go`, the `unwinder` of Go
//! 1.21 and later) does:
//!
//! * a parked goroutine starts from `g.sched` (pc, sp, and lr on arm64), one in a
//!   system call (or cgo call) from `g.syscallpc`/`g.syscallsp`;
//! * a running goroutine starts from the registers of the thread whose id is
//!   `g.m.procid`. When that thread is in a signal handler (on `m.gsignal`'s stack,
//!   as every thread is in a `GOTRACEBACK=crash` dump), the signal stack is unwound to
//!   `runtime.sigtramp` and the interrupted context read from the kernel's signal
//!   frame; when it is on `m.g0`'s stack (`systemstack`, `mcall`, `morestack`), the
//!   goroutine's state is the one the runtime saved in `g.sched`;
//! * frame sizes come from the pcsp table; the return address is at `fp − 8` on amd64
//!   and in LR or at `*sp` on arm64; `TopFrame` and `SPWrite` functions end the stack,
//!   and frames called by `sigpanic`/`asyncPreempt` are symbolized at their PC.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! for g in proc.goroutines()? {
//!     let g = g?;
//!     println!("goroutine {} [{}]:", g.id, g.state());
//!     for frame in g.frames(&proc) {
//!         match frame {
//!             Ok(f) => println!("{}\n\t{}:{}", f.function, f.file, f.line),
//!             Err(e) => println!("\t(unwinding stopped: {e})"),
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod unwind;

use crate::error::{Error, Result};
use crate::process::Process;
use crate::region::Region;

pub use unwind::{Frame, Frames, Stack, UnwindError, MAX_FRAMES};

/// Most entries read from `runtime.waitReasonStrings` when its symbol has no size.
const MAX_WAIT_REASONS: u64 = 256;

/// A goroutine's scheduling status (`g.atomicstatus` with the `_Gscan` bit removed),
/// named after the runtime's `_G…` constants of the binary's Go release.
///
/// ```
/// use gocore::Status;
/// assert_eq!(Status::Waiting.name(), "waiting");
/// assert_eq!(Status::Unknown(77).name(), "???");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `_Gidle`: just allocated.
    Idle,
    /// `_Grunnable`: on a run queue.
    Runnable,
    /// `_Grunning`: running on an M.
    Running,
    /// `_Gsyscall`: in a system call (or cgo call).
    Syscall,
    /// `_Gwaiting`: blocked (see [`Goroutine::wait_reason`]).
    Waiting,
    /// `_Gdead`: unused (exited or not yet started).
    Dead,
    /// `_Gcopystack`: its stack is being moved.
    Copystack,
    /// `_Gpreempted`: stopped by asynchronous preemption.
    Preempted,
    /// `_Gleaked` (Go 1.26+): found leaked by the goroutine leak detector.
    Leaked,
    /// `_Gdeadextra` (Go 1.27+): an extra M's goroutine waiting for a cgo callback.
    DeadExtra,
    /// A value that matches none of the release's constants.
    Unknown(u32),
}

impl Status {
    /// The text the runtime prints for the status (`gStatusStrings`).
    ///
    /// ```
    /// assert_eq!(gocore::Status::Syscall.name(), "syscall");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Runnable => "runnable",
            Status::Running => "running",
            Status::Syscall => "syscall",
            Status::Waiting => "waiting",
            Status::Dead => "dead",
            Status::Copystack => "copystack",
            Status::Preempted => "preempted",
            Status::Leaked => "leaked",
            Status::DeadExtra => "waiting for cgo callback",
            Status::Unknown(_) => "???",
        }
    }

    fn from_raw(proc: &Process<'_>, raw: u32) -> Status {
        const NAMES: [(&str, Status); 10] = [
            ("runtime._Gidle", Status::Idle),
            ("runtime._Grunnable", Status::Runnable),
            ("runtime._Grunning", Status::Running),
            ("runtime._Gsyscall", Status::Syscall),
            ("runtime._Gwaiting", Status::Waiting),
            ("runtime._Gdead", Status::Dead),
            ("runtime._Gcopystack", Status::Copystack),
            ("runtime._Gpreempted", Status::Preempted),
            ("runtime._Gleaked", Status::Leaked),
            ("runtime._Gdeadextra", Status::DeadExtra),
        ];
        NAMES
            .iter()
            .find(|(name, _)| proc.layouts().constant_u64(name).ok() == Some(u64::from(raw)))
            .map_or(Status::Unknown(raw), |&(_, s)| s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A code location: a PC with its function and file:line.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let g = proc.goroutines()?.next().unwrap()?;
/// if let Some(site) = &g.created_by {
///     println!("created by {} at {}:{}", site.function, site.file, site.line);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The PC (run-time address).
    pub pc: u64,
    /// The function containing it (the physical function, as the runtime prints it
    /// in `created by`).
    pub function: String,
    /// Source file (empty when unknown).
    pub file: String,
    /// Line (0 when unknown).
    pub line: i64,
}

/// Saved registers of a goroutine (`g.sched`, a `runtime.gobuf`).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let g = proc.goroutines()?.next().unwrap()?;
/// println!("parked at pc {:#x} sp {:#x}", g.sched.pc, g.sched.sp);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SavedRegs {
    /// `pc`.
    pub pc: u64,
    /// `sp`.
    pub sp: u64,
    /// `lr` (0 on amd64).
    pub lr: u64,
    /// `bp` (frame pointer; 0 when the release has no such field).
    pub bp: u64,
}

/// One goroutine, as its `runtime.g` records it.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// for g in proc.goroutines()? {
///     let g = g?;
///     let start = g.start_function.as_deref().unwrap_or("?");
///     println!("{} {} {}", g.id, g.state(), start);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Goroutine {
    /// Address of the `runtime.g`.
    pub addr: u64,
    /// Goroutine id (`goid`).
    pub id: u64,
    /// Status, `_Gscan` removed.
    pub status: Status,
    /// `atomicstatus` as stored (with the scan bit, if set).
    pub raw_status: u32,
    /// Whether the `_Gscan` bit was set (the GC was scanning the stack).
    pub scan: bool,
    /// The wait reason code (`waitreason`).
    pub wait_reason_code: u8,
    /// The wait reason text from `runtime.waitReasonStrings` (`None` for
    /// `waitReasonZero`, or when it could not be read).
    pub wait_reason: Option<String>,
    /// `waitsince`: the runtime's `nanotime()` when the goroutine blocked (when set).
    pub wait_since: Option<i64>,
    /// Id of the goroutine that created it (`parentGoid`, Go 1.21+; `None` if 0).
    pub parent_id: Option<u64>,
    /// `startpc`: entry of the function the goroutine was started with.
    pub start_pc: u64,
    /// Name of the start function.
    pub start_function: Option<String>,
    /// `gopc`: where the `go` statement that created it is.
    pub created_by: Option<Location>,
    /// Address of the M running it (`g.m`; 0 if none).
    pub m_addr: u64,
    /// Thread id of that M (`m.procid`), when it has one.
    pub thread: Option<u64>,
    /// Whether it is locked to its thread (`lockedm` is set).
    pub locked_to_thread: bool,
    /// Stack bounds `[lo, hi)`.
    pub stack_lo: u64,
    /// Stack upper bound.
    pub stack_hi: u64,
    /// The saved scheduling registers.
    pub sched: SavedRegs,
    /// `syscallsp` (non-zero while in a system call).
    pub syscall_sp: u64,
    /// `syscallpc`.
    pub syscall_pc: u64,
    /// Problems met while reading optional fields.
    pub warnings: Vec<String>,
}

impl Goroutine {
    /// The status as the runtime prints it in a traceback header, up to the first
    /// comma: the wait reason for waiting goroutines, else the status name, with
    /// ` (leaked)` / ` (scan)` suffixes (`goroutineheader` in `runtime/traceback.go`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let g = proc.goroutines()?.next().unwrap()?;
    /// println!("goroutine {} [{}]:", g.id, g.state()); // e.g. "chan receive"
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state(&self) -> String {
        let mut s = match (&self.status, &self.wait_reason) {
            (Status::Waiting | Status::Leaked, Some(r)) if self.wait_reason_code != 0 => r.clone(),
            (st, _) => st.name().to_string(),
        };
        if self.status == Status::Leaked {
            s.push_str(" (leaked)");
        }
        if self.scan {
            s.push_str(" (scan)");
        }
        s
    }

    /// The whole bracketed header text the runtime would print, except for the
    /// `, N minutes` wait time (which needs the time of the dump): [`Goroutine::state`]
    /// followed by `, locked to thread` when it is.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let g = proc.goroutines()?.next().unwrap()?;
    /// println!("[{}]", g.state_full()); // e.g. "running, locked to thread"
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state_full(&self) -> String {
        let mut s = self.state();
        if self.locked_to_thread {
            s.push_str(", locked to thread");
        }
        s
    }

    /// The goroutine's stack frames, innermost first, inlined calls expanded. The
    /// iterator yields an error and stops when the stack cannot be unwound further.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let g = proc.goroutines()?.next().unwrap()?;
    /// let names: Vec<String> = g.frames(&proc).filter_map(|f| f.ok()).map(|f| f.function).collect();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn frames<'p>(&self, proc: &'p Process<'p>) -> Frames<'p> {
        Frames::new(proc, self)
    }

    /// All frames at once, with the error that stopped the unwinding (if any).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let g = proc.goroutines()?.next().unwrap()?;
    /// let stack = g.stack(&proc);
    /// if let Some(e) = &stack.error { eprintln!("goroutine {}: {e}", g.id); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stack(&self, proc: &Process<'_>) -> Stack {
        let mut frames = Vec::new();
        let mut error = None;
        for f in Frames::new(proc, self) {
            match f {
                Ok(f) => frames.push(f),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        Stack { frames, error }
    }

    /// The topmost frame outside the runtime (the first whose function is not in
    /// package `runtime` or `internal/…`), if any — what a goroutine "is doing".
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let g = proc.goroutines()?.next().unwrap()?;
    /// let stack = g.stack(&proc);
    /// if let Some(f) = gocore::Goroutine::top_user_frame(&stack.frames) { println!("{}", f.function); }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn top_user_frame(frames: &[Frame]) -> Option<&Frame> {
        frames.iter().find(|f| !is_runtime_function(&f.function))
    }
}

/// Whether a function belongs to the runtime (`runtime.…`, `internal/…`,
/// `runtime/internal/…`) rather than to the program.
///
/// ```
/// assert!(gocore::goroutine::is_runtime_function("runtime.gopark"));
/// assert!(gocore::goroutine::is_runtime_function("internal/runtime/syscall/linux.Syscall6"));
/// assert!(!gocore::goroutine::is_runtime_function("main.main"));
/// ```
pub fn is_runtime_function(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/") || name.starts_with("runtime/")
}

/// A function name as the runtime prints it in a traceback (`printFuncName`):
/// `runtime.gopanic` is `panic`, and generic type arguments become `[...]`.
///
/// ```
/// use gocore::goroutine::printed_name;
/// assert_eq!(printed_name("runtime.gopanic"), "panic");
/// assert_eq!(printed_name("main.Map[go.shape.int,go.shape.string]"), "main.Map[...]");
/// assert_eq!(printed_name("main.main"), "main.main");
/// ```
pub fn printed_name(name: &str) -> String {
    if name == "runtime.gopanic" {
        return "panic".to_string();
    }
    match (name.find('['), name.rfind(']')) {
        (Some(i), Some(j)) if j > i => {
            format!("{}[...]{}", &name[..i], &name[j + 1..])
        }
        _ => name.to_string(),
    }
}

impl<'a> Process<'a> {
    /// The live goroutines (every `runtime.allgs` entry that is not `_Gdead`), in
    /// `allgs` order. An entry that cannot be read is an `Err` item; iteration goes
    /// on with the next.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let proc = gocore::Process::new(&core)?;
    /// let n = proc.goroutines()?.filter(|g| g.is_ok()).count();
    /// println!("{n} goroutines");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn goroutines(&self) -> Result<Goroutines<'_>> {
        let allgs = self.global("runtime.allgs", "[]*runtime.g")?;
        let len = allgs.slice_len()?;
        // Every entry must lie in one mapping: a damaged (or mismatched) slice
        // header must not send the iterator over up to 2^40 nil slots.
        if len > 0 {
            let ps = self.ptr_size();
            let data = allgs.ptr()?;
            let room = self
                .core()
                .mapping_at(data)
                .map_or(0, |m| (m.end() - data) / ps);
            if len > room {
                return Err(Error::OutOfRange {
                    what: format!("length of runtime.allgs (array at {data:#x})"),
                    value: len,
                    limit: room,
                });
            }
        }
        let wait_reasons = WaitReasons::read(self);
        let scan = self
            .layouts()
            .constant_u64("runtime._Gscan")
            .unwrap_or(0x1000);
        Ok(Goroutines {
            proc: self,
            allgs,
            len,
            next: 0,
            wait_reasons,
            scan: scan as u32,
        })
    }

    /// The goroutine whose `runtime.g` is at `addr` (whatever its status).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let g = proc.goroutine_at(0xc000002380)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn goroutine_at(&self, addr: u64) -> Result<Goroutine> {
        let wr = WaitReasons::read(self);
        let scan = self
            .layouts()
            .constant_u64("runtime._Gscan")
            .unwrap_or(0x1000);
        read_goroutine(self, &self.region(addr, "runtime.g"), &wr, scan as u32)
    }
}

/// Iterator over the live goroutines; see [`Process::goroutines`].
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// let gs = proc.goroutines()?;
/// println!("allgs has {} entries", gs.allgs_len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Goroutines<'p> {
    proc: &'p Process<'p>,
    allgs: Region<'p>,
    len: u64,
    next: u64,
    wait_reasons: WaitReasons,
    scan: u32,
}

impl std::fmt::Debug for Goroutines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Goroutines")
            .field("len", &self.len)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Goroutines<'_> {
    /// Length of `runtime.allgs` (dead goroutines included).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let n = proc.goroutines()?.allgs_len();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allgs_len(&self) -> u64 {
        self.len
    }
}

impl Iterator for Goroutines<'_> {
    type Item = Result<Goroutine>;

    fn next(&mut self) -> Option<Result<Goroutine>> {
        // Bounded by allgs' length, itself bounded by Region::index.
        while self.next < self.len {
            let i = self.next;
            self.next += 1;
            let g = match self.allgs.index(i).and_then(|p| p.deref()) {
                Ok(g) => g,
                Err(Error::Nil { .. }) => continue,
                Err(e) => return Some(Err(e)),
            };
            match read_goroutine(self.proc, &g, &self.wait_reasons, self.scan) {
                Ok(g) if g.status == Status::Dead => continue,
                other => return Some(other),
            }
        }
        None
    }
}

/// `runtime.waitReasonStrings`, read once.
struct WaitReasons {
    strings: Vec<Option<String>>,
    error: Option<String>,
}

impl WaitReasons {
    fn read(proc: &Process<'_>) -> WaitReasons {
        const NAME: &str = "runtime.waitReasonStrings";
        let addr = match proc.global_addr(NAME) {
            Ok(a) => a,
            Err(e) => {
                return WaitReasons {
                    strings: Vec::new(),
                    error: Some(e.to_string()),
                }
            }
        };
        let ps = proc.ptr_size();
        let n = proc
            .binary()
            .symbol(NAME)
            .map(|s| s.size / (2 * ps))
            .filter(|&n| n > 0)
            .unwrap_or(MAX_WAIT_REASONS)
            .min(MAX_WAIT_REASONS);
        let arr = proc.region(addr, &format!("[{n}]string"));
        let strings = (0..n)
            .map(|i| arr.index(i).and_then(|s| s.string()).ok())
            .collect();
        WaitReasons {
            strings,
            error: None,
        }
    }

    fn get(&self, code: u8) -> std::result::Result<String, String> {
        if let Some(e) = &self.error {
            return Err(format!("wait reason {code}: {e}"));
        }
        match self.strings.get(usize::from(code)) {
            Some(Some(s)) => Ok(s.clone()),
            Some(None) => Err(format!("wait reason {code}: string unreadable")),
            // What waitReason.String() prints for a value past the table.
            None => Ok("unknown wait reason".to_string()),
        }
    }
}

fn read_goroutine(
    proc: &Process<'_>,
    g: &Region<'_>,
    wr: &WaitReasons,
    scan_bit: u32,
) -> Result<Goroutine> {
    let mut warnings = Vec::new();
    let raw_status = g.field("atomicstatus")?.uint()? as u32;
    let id = g.field("goid")?.uint()?;
    let status = Status::from_raw(proc, raw_status & !scan_bit);
    let mut opt = |path: &str| -> u64 {
        match g.field(path).and_then(|r| r.uint()) {
            Ok(v) => v,
            Err(Error::Layout(_)) => 0,
            Err(e) => {
                warnings.push(format!("{path}: {e}"));
                0
            }
        }
    };
    let wait_reason_code = opt("waitreason") as u8;
    let wait_since = opt("waitsince") as i64;
    let parent = opt("parentGoid");
    let start_pc = opt("startpc");
    let gopc = opt("gopc");
    let m_addr = opt("m");
    let lockedm = opt("lockedm");
    let stack_lo = opt("stack.lo");
    let stack_hi = opt("stack.hi");
    let sched = SavedRegs {
        pc: opt("sched.pc"),
        sp: opt("sched.sp"),
        lr: opt("sched.lr"),
        bp: opt("sched.bp"),
    };
    let syscall_sp = opt("syscallsp");
    let syscall_pc = opt("syscallpc");
    let thread = if m_addr != 0 {
        match proc
            .region(m_addr, "runtime.m")
            .field("procid")
            .and_then(|r| r.uint())
        {
            Ok(t) => Some(t),
            Err(e) => {
                warnings.push(format!("m.procid: {e}"));
                None
            }
        }
    } else {
        None
    };
    let wait_reason = if wait_reason_code == 0 {
        None
    } else {
        match wr.get(wait_reason_code) {
            Ok(s) => Some(s),
            Err(e) => {
                warnings.push(e);
                None
            }
        }
    };
    let start_function = (start_pc != 0)
        .then(|| proc.func_for_pc(start_pc).map(|f| f.name.to_string()))
        .flatten();
    let created_by = (gopc != 0).then(|| creation_site(proc, gopc)).flatten();
    Ok(Goroutine {
        addr: g.addr(),
        id,
        status,
        raw_status,
        scan: raw_status & scan_bit != 0,
        wait_reason_code,
        wait_reason,
        wait_since: (wait_since != 0).then_some(wait_since),
        parent_id: (parent != 0).then_some(parent),
        start_pc,
        start_function,
        created_by,
        m_addr,
        thread,
        locked_to_thread: lockedm != 0,
        stack_lo,
        stack_hi,
        sched,
        syscall_sp,
        syscall_pc,
        warnings,
    })
}

/// The `go` statement at `gopc` (a return address): its function and the line of
/// the call, as `printcreatedby1` prints them.
fn creation_site(proc: &Process<'_>, gopc: u64) -> Option<Location> {
    let func = proc.func_for_pc(gopc)?;
    let bias = proc.load_bias();
    let link_pc = gopc.wrapping_sub(bias);
    let quantum = u64::from(proc.binary().arch().pc_quantum());
    let tracepc = if link_pc > func.entry {
        link_pc - quantum
    } else {
        link_pc
    };
    let pos = proc
        .pclntab()
        .and_then(|t| t.func_file_line(&func, tracepc).ok().flatten());
    Some(Location {
        pc: gopc,
        function: func.name.to_string(),
        file: pos.as_ref().map(|p| p.file.clone()).unwrap_or_default(),
        line: pos.map_or(0, |p| i64::from(p.line)),
    })
}
