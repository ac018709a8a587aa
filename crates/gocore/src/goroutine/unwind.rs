//! Stack unwinding, mirroring the runtime's `unwinder` (`runtime/traceback.go`,
//! Go 1.21 and later: `initAt`, `resolveInternal`, `next`, `symPC`) in its
//! printing mode, plus the two stack switches a core needs that a live traceback
//! does not: from a signal handler to the interrupted context, and from `g0` back to
//! the goroutine.

use std::collections::VecDeque;

use corefile::Arch;
use gobinary::Func;

use super::{Goroutine, Status};
use crate::error::Error;
use crate::process::Process;

/// Most logical frames [`Frames`] yields before it stops with
/// [`UnwindError::TooManyFrames`].
pub const MAX_FRAMES: usize = 100_000;

/// Most frames walked on a signal stack while looking for `runtime.sigtramp`.
const MAX_SIGNAL_FRAMES: usize = 256;

/// Most context switches (signal handler → interrupted context) followed.
const MAX_SWITCHES: usize = 4;

/// Linux signal frame layout: what the kernel puts on the signal stack before
/// calling the handler (`struct rt_sigframe`, `struct ucontext`, `struct
/// sigcontext`; a stable kernel ABI, not a Go runtime layout).
#[derive(Debug, Clone, Copy)]
struct ArchInfo {
    uses_lr: bool,
    ptr: u64,
    /// `sys.MinFrameSize` rounded up to the stack alignment (injected calls on LR
    /// machines).
    injected_bump: u64,
    /// From the caller SP of `runtime.sigtramp`'s frame (the SP at handler entry,
    /// plus the return address on amd64) to the `ucontext`.
    uc_from_fp: u64,
    /// Offsets in the `ucontext` of the interrupted PC, SP and LR.
    uc_pc: u64,
    uc_sp: u64,
    uc_lr: Option<u64>,
}

impl ArchInfo {
    fn of(arch: Arch) -> UResult<ArchInfo> {
        Ok(match arch {
            // rt_sigframe { pretcode; ucontext uc; siginfo info }; ucontext {
            // uc_flags, uc_link, uc_stack (24 bytes), uc_mcontext = sigcontext {r8 …
            // r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, …}}.
            Arch::Amd64 => ArchInfo {
                uses_lr: false,
                ptr: 8,
                injected_bump: 0,
                uc_from_fp: 0,
                uc_pc: 40 + 16 * 8,
                uc_sp: 40 + 15 * 8,
                uc_lr: None,
            },
            // rt_sigframe { siginfo info (128 bytes); ucontext uc }; ucontext {
            // uc_flags, uc_link, uc_stack (24), uc_sigmask (8), pad to 168, then
            // uc_mcontext = sigcontext at 176 { fault_address, regs[31], sp, pc }}.
            Arch::Arm64 => ArchInfo {
                uses_lr: true,
                ptr: 8,
                injected_bump: 16,
                uc_from_fp: 128,
                uc_pc: 176 + 8 + 32 * 8,
                uc_sp: 176 + 8 + 31 * 8,
                uc_lr: Some(176 + 8 + 30 * 8),
            },
            other => {
                return Err(UnwindError::NoStart(format!(
                    "unwinding is not supported on {}",
                    other.name()
                )))
            }
        })
    }
}

/// One logical stack frame: a physical frame, or a call inlined into it (then `pc`,
/// `sp` and `fp` are those of the physical frame).
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let g = proc.goroutines()?.next().unwrap()?;
/// for f in g.frames(&proc).flatten() {
///     let inl = if f.inlined { " (inlined)" } else { "" };
///     println!("{}{inl}\n\t{}:{} pc={:#x} sp={:#x} fp={:#x}", f.function, f.file, f.line, f.pc, f.sp, f.fp);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame {
    /// The frame's PC (a return address for callers, run-time address).
    pub pc: u64,
    /// Stack pointer in the frame.
    pub sp: u64,
    /// The caller's stack pointer (the frame's upper end: locals lie below it).
    pub fp: u64,
    /// Function name (the inlined function for inlined frames).
    pub function: String,
    /// Source file.
    pub file: String,
    /// Line.
    pub line: i64,
    /// Whether this call was inlined into the next frame's function.
    pub inlined: bool,
    /// Entry of the physical function (run-time address).
    pub entry: u64,
    /// Whether the PC is where the frame was interrupted (signal, preemption),
    /// rather than a return address; file:line then describe `pc` itself.
    pub trap: bool,
}

/// A goroutine's frames and what stopped the unwinding, if it did not end at the
/// bottom of the stack; see [`Goroutine::stack`].
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let g = proc.goroutines()?.next().unwrap()?;
/// let s = g.stack(&proc);
/// println!("{} frames{}", s.frames.len(), if s.error.is_some() { " (incomplete)" } else { "" });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Stack {
    /// Frames, innermost first.
    pub frames: Vec<Frame>,
    /// The error that stopped the unwinding.
    pub error: Option<UnwindError>,
}

/// Why a stack could not be unwound (further).
///
/// ```
/// let e = gocore::UnwindError::UnknownPc { pc: 0x10, sp: 0x20 };
/// assert_eq!(e.to_string(), "no function at pc 0x10 (sp 0x20)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnwindError {
    /// No starting point (no thread for a running goroutine, no saved state, …).
    #[error("no place to start unwinding: {0}")]
    NoStart(String),
    /// A PC that no function contains.
    #[error("no function at pc {pc:#x} (sp {sp:#x})")]
    UnknownPc {
        /// The PC.
        pc: u64,
        /// The SP.
        sp: u64,
    },
    /// A return address that no function contains.
    #[error("unexpected return pc {lr:#x} for {function} (sp {sp:#x})")]
    UnexpectedReturn {
        /// The function returning.
        function: String,
        /// The return address.
        lr: u64,
        /// The SP of the returning frame.
        sp: u64,
    },
    /// The pcsp table has no value at the PC.
    #[error("no frame size for {function} at pc {pc:#x}")]
    NoFrameSize {
        /// The function.
        function: String,
        /// The PC.
        pc: u64,
    },
    /// A frame's SP is outside the stack being unwound.
    #[error("sp {sp:#x} outside the stack [{lo:#x}, {hi:#x}]")]
    OutsideStack {
        /// The SP.
        sp: u64,
        /// Stack lower bound.
        lo: u64,
        /// Stack upper bound.
        hi: u64,
    },
    /// The next frame is the same as the current one.
    #[error("unwinding stuck at pc {pc:#x} sp {sp:#x}")]
    Stuck {
        /// The PC.
        pc: u64,
        /// The SP.
        sp: u64,
    },
    /// More than [`MAX_FRAMES`] frames.
    #[error("more than {limit} frames; stopped")]
    TooManyFrames {
        /// The limit.
        limit: usize,
    },
    /// The executable has no function table.
    #[error("the executable has no function table")]
    NoPclntab,
    /// The function table could not be read.
    #[error("function table: {0}")]
    Pclntab(#[from] gobinary::Error),
    /// Memory or a runtime structure could not be read.
    #[error(transparent)]
    Read(#[from] Error),
}

type UResult<T> = std::result::Result<T, UnwindError>;

/// Iterator over a goroutine's frames; see [`Goroutine::frames`].
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// # let g = proc.goroutines()?.next().unwrap()?;
/// let top: Option<gocore::Frame> = g.frames(&proc).next().and_then(|f| f.ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Frames<'p> {
    unw: Option<Unwinder<'p>>,
    err: Option<UnwindError>,
    pending: VecDeque<Frame>,
    count: usize,
    done: bool,
}

impl std::fmt::Debug for Frames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frames")
            .field("count", &self.count)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'p> Frames<'p> {
    pub(super) fn new(proc: &'p Process<'p>, g: &Goroutine) -> Frames<'p> {
        let (unw, err) = match start(proc, g) {
            Ok(u) => (Some(u), None),
            Err(e) => (None, Some(e)),
        };
        Frames {
            unw,
            err,
            pending: VecDeque::new(),
            count: 0,
            done: false,
        }
    }
}

impl Iterator for Frames<'_> {
    type Item = UResult<Frame>;

    fn next(&mut self) -> Option<UResult<Frame>> {
        // Each turn either yields, or advances the unwinder by one physical frame
        // (which ends once the frame count passes MAX_FRAMES).
        loop {
            if self.done {
                return None;
            }
            if let Some(f) = self.pending.pop_front() {
                self.count += 1;
                if self.count > MAX_FRAMES {
                    self.done = true;
                    return Some(Err(UnwindError::TooManyFrames { limit: MAX_FRAMES }));
                }
                return Some(Ok(f));
            }
            if let Some(e) = self.err.take() {
                self.done = true;
                return Some(Err(e));
            }
            let Some(u) = self.unw.as_mut() else {
                self.done = true;
                return None;
            };
            if u.frame.is_none() {
                self.done = true;
                return None;
            }
            match u.logical_frames() {
                Ok(v) => self.pending.extend(v),
                Err(e) => {
                    self.err = Some(e);
                    continue;
                }
            }
            if let Err(e) = u.next() {
                self.err = Some(e);
            }
        }
    }
}

/// One physical frame being unwound.
#[derive(Clone)]
struct Phys<'a> {
    pc: u64,
    sp: u64,
    lr: u64,
    fp: u64,
    func: Func<'a>,
    /// `unwindTrap`: the PC is not a return address.
    trap: bool,
}

struct Unwinder<'p> {
    proc: &'p Process<'p>,
    arch: ArchInfo,
    bias: u64,
    lo: u64,
    hi: u64,
    frame: Option<Phys<'p>>,
}

impl<'p> Unwinder<'p> {
    /// `initAt`: positions the unwinder on the frame at `pc`/`sp`.
    fn init(
        proc: &'p Process<'p>,
        (lo, hi): (u64, u64),
        mut pc: u64,
        mut sp: u64,
        mut lr: u64,
        trap: bool,
        is_syscall: bool,
    ) -> UResult<Unwinder<'p>> {
        let arch = ArchInfo::of(proc.core().arch())?;
        if proc.pclntab().is_none() {
            return Err(UnwindError::NoPclntab);
        }
        // A zero PC is likely a nil function call: start in the caller's frame.
        if pc == 0 {
            pc = proc.read_ptr(sp)?;
            if arch.uses_lr {
                lr = 0;
            } else {
                sp = sp.wrapping_add(arch.ptr);
            }
        }
        let func = proc
            .func_for_pc(pc)
            .ok_or(UnwindError::UnknownPc { pc, sp })?;
        let mut u = Unwinder {
            proc,
            arch,
            bias: proc.load_bias(),
            lo,
            hi,
            frame: Some(Phys {
                pc,
                sp,
                lr: if arch.uses_lr { lr } else { 0 },
                fp: 0,
                func,
                trap,
            }),
        };
        u.check_bounds(sp)?;
        u.resolve(true, is_syscall)?;
        Ok(u)
    }

    fn check_bounds(&self, sp: u64) -> UResult<()> {
        if sp < self.lo || sp > self.hi {
            return Err(UnwindError::OutsideStack {
                sp,
                lo: self.lo,
                hi: self.hi,
            });
        }
        Ok(())
    }

    fn sp_delta(&self, func: &Func<'_>, pc: u64) -> UResult<u64> {
        let tab = self.proc.pclntab().ok_or(UnwindError::NoPclntab)?;
        match tab.sp_delta(func, pc.wrapping_sub(self.bias))? {
            Some(d) => Ok(d as i64 as u64),
            None => Err(UnwindError::NoFrameSize {
                function: func.name.to_string(),
                pc,
            }),
        }
    }

    /// `resolveInternal`: the caller's SP and the return address of the frame.
    fn resolve(&mut self, innermost: bool, is_syscall: bool) -> UResult<()> {
        let Some(mut fr) = self.frame.take() else {
            return Ok(());
        };
        if fr.func.pcsp == 0 {
            // No frame information (external code): the stack ends here, and the
            // runtime does not print this frame either.
            return Ok(());
        }
        let mut sp_write = fr.func.flags.sp_write();
        // cgocallback keeps both stacks unwindable; from the syscall PC/SP the SP
        // writes of the syscall function have not happened yet.
        if fr.func.name == "runtime.cgocallback" || is_syscall {
            sp_write = false;
        }
        let delta = self.sp_delta(&fr.func, fr.pc)?;
        fr.fp = fr.sp.wrapping_add(delta);
        if !self.arch.uses_lr {
            // The CALL pushed the return address.
            fr.fp = fr.fp.wrapping_add(self.arch.ptr);
        }
        if fr.func.flags.top_frame() || sp_write {
            // The top of the stack, or a function that switches stacks in a way
            // the tables do not describe: the printing traceback stops here.
            fr.lr = 0;
        } else if self.arch.uses_lr {
            if (innermost && fr.sp < fr.fp) || fr.lr == 0 {
                fr.lr = self.proc.read_ptr(fr.sp)?;
            }
        } else if fr.lr == 0 {
            fr.lr = self.proc.read_ptr(fr.fp.wrapping_sub(self.arch.ptr))?;
        }
        self.frame = Some(fr);
        Ok(())
    }

    /// `next`: moves to the caller's frame (or to the end).
    fn next(&mut self) -> UResult<()> {
        let Some(fr) = self.frame.take() else {
            return Ok(());
        };
        if fr.lr == 0 {
            return Ok(());
        }
        let Some(func) = self.proc.func_for_pc(fr.lr) else {
            return Err(UnwindError::UnexpectedReturn {
                function: fr.func.name.to_string(),
                lr: fr.lr,
                sp: fr.sp,
            });
        };
        if fr.pc == fr.lr && fr.sp == fr.fp {
            return Err(UnwindError::Stuck {
                pc: fr.pc,
                sp: fr.sp,
            });
        }
        let injected = matches!(
            fr.func.name,
            "runtime.sigpanic" | "runtime.asyncPreempt" | "runtime.debugCallV2"
        );
        let pc = fr.lr;
        let mut sp = fr.fp;
        let mut lr = 0;
        // On LR machines, sighandler saved the LR on the stack before faking the
        // call to the injected function.
        if self.arch.uses_lr && injected {
            let x = self.proc.read_ptr(sp)?;
            sp = sp.wrapping_add(self.arch.injected_bump);
            if self.sp_delta(&func, pc)? == 0 {
                lr = x;
            }
        }
        self.check_bounds(sp)?;
        self.frame = Some(Phys {
            pc,
            sp,
            lr,
            fp: 0,
            func,
            trap: injected,
        });
        self.resolve(false, false)
    }

    /// `symPC`: the PC to symbolize (inside the CALL for return addresses).
    fn sym_pc(&self, fr: &Phys<'_>) -> u64 {
        let entry = fr.func.entry.wrapping_add(self.bias);
        if !fr.trap && fr.pc > entry {
            fr.pc - 1
        } else {
            fr.pc
        }
    }

    /// The current physical frame as logical frames, inlined calls first.
    fn logical_frames(&self) -> UResult<Vec<Frame>> {
        let Some(fr) = &self.frame else {
            return Ok(Vec::new());
        };
        let tab = self.proc.pclntab().ok_or(UnwindError::NoPclntab)?;
        let sym = self.sym_pc(fr);
        let entry = fr.func.entry.wrapping_add(self.bias);
        let mut out: Vec<Frame> = tab
            .frames(sym.wrapping_sub(self.bias))?
            .into_iter()
            .map(|l| Frame {
                pc: fr.pc,
                sp: fr.sp,
                fp: fr.fp,
                function: l.function,
                file: l.file,
                line: i64::from(l.line),
                inlined: l.inlined,
                entry,
                trap: fr.trap,
            })
            .collect();
        if out.is_empty() {
            out.push(Frame {
                pc: fr.pc,
                sp: fr.sp,
                fp: fr.fp,
                function: fr.func.name.to_string(),
                file: String::new(),
                line: 0,
                inlined: false,
                entry,
                trap: fr.trap,
            });
        }
        Ok(out)
    }
}

/// Where the unwinding of `g` starts (`initAt` with the saved state, or the thread
/// of a running goroutine).
fn start<'p>(proc: &'p Process<'p>, g: &Goroutine) -> UResult<Unwinder<'p>> {
    let bounds = (g.stack_lo, g.stack_hi);
    if g.stack_lo == 0 || g.stack_hi <= g.stack_lo {
        return Err(UnwindError::NoStart(format!(
            "goroutine {} has no stack ({:#x}-{:#x})",
            g.id, g.stack_lo, g.stack_hi
        )));
    }
    if g.status == Status::Running && g.syscall_sp == 0 {
        return from_thread(proc, g);
    }
    if g.syscall_sp != 0 {
        return Unwinder::init(proc, bounds, g.syscall_pc, g.syscall_sp, 0, false, true);
    }
    if g.sched.sp == 0 {
        return Err(UnwindError::NoStart(format!(
            "goroutine {} ({}) has no saved registers",
            g.id, g.status
        )));
    }
    Unwinder::init(
        proc, bounds, g.sched.pc, g.sched.sp, g.sched.lr, false, false,
    )
}

fn stack_of(proc: &Process<'_>, m: u64, field: &str) -> Option<(u64, u64)> {
    let g = proc
        .region(m, "runtime.m")
        .field(field)
        .ok()?
        .deref()
        .ok()?;
    let lo = g.field("stack.lo").ok()?.uint().ok()?;
    let hi = g.field("stack.hi").ok()?.uint().ok()?;
    (lo != 0 && hi > lo).then_some((lo, hi))
}

/// A running goroutine: from the registers of its M's thread, through a signal
/// handler's frame or back from `g0` as needed.
fn from_thread<'p>(proc: &'p Process<'p>, g: &Goroutine) -> UResult<Unwinder<'p>> {
    let bounds = (g.stack_lo, g.stack_hi);
    let inside = |sp: u64, (lo, hi): (u64, u64)| lo <= sp && sp < hi;
    if g.m_addr == 0 {
        return Err(UnwindError::NoStart(format!(
            "goroutine {} is running but has no M",
            g.id
        )));
    }
    let m = proc.region(g.m_addr, "runtime.m");
    let read_m = |f: &str| m.field(f).and_then(|r| r.uint()).unwrap_or(0);
    // In a VDSO call the runtime recorded where the Go code left off.
    let (vdso_sp, vdso_pc) = (read_m("vdsoSP"), read_m("vdsoPC"));
    if vdso_sp != 0 && inside(vdso_sp, bounds) {
        return Unwinder::init(proc, bounds, vdso_pc, vdso_sp, 0, false, false);
    }
    let tid = g.thread.unwrap_or(0);
    let thread = proc
        .core()
        .threads()
        .iter()
        .find(|t| u64::from(t.tid) == tid)
        .ok_or_else(|| {
            UnwindError::NoStart(format!(
                "goroutine {} is running on M {:#x} (thread {tid}), which has no thread in the core",
                g.id, g.m_addr
            ))
        })?;
    let arch = ArchInfo::of(proc.core().arch())?;
    let regs = &thread.registers;
    let (mut pc, mut sp, mut lr) = (regs.pc(), regs.sp(), regs.lr().unwrap_or(0));
    let gsignal = stack_of(proc, g.m_addr, "gsignal");
    for _ in 0..MAX_SWITCHES {
        if inside(sp, bounds) {
            return Unwinder::init(proc, bounds, pc, sp, lr, true, false);
        }
        if let Some(sig) = gsignal.filter(|&s| inside(sp, s)) {
            (pc, sp, lr) = signal_context(proc, arch, sig, pc, sp, lr)?;
            continue;
        }
        // On g0 (systemstack, mcall, morestack) or in foreign code: the runtime
        // saved the goroutine's state in g.sched before switching.
        if inside(g.sched.sp, bounds) {
            return Unwinder::init(
                proc, bounds, g.sched.pc, g.sched.sp, g.sched.lr, false, false,
            );
        }
        return Err(UnwindError::NoStart(format!(
            "thread {tid} of running goroutine {} is at sp {sp:#x}, off its stack, and g.sched.sp {:#x} is not on it either",
            g.id, g.sched.sp
        )));
    }
    Err(UnwindError::NoStart(format!(
        "more than {MAX_SWITCHES} nested signal contexts on thread {tid}"
    )))
}

/// Unwinds a signal stack from `pc`/`sp` to `runtime.sigtramp` and returns the
/// interrupted PC, SP and LR from the kernel's signal frame above it.
fn signal_context<'p>(
    proc: &'p Process<'p>,
    arch: ArchInfo,
    stack: (u64, u64),
    pc: u64,
    sp: u64,
    lr: u64,
) -> UResult<(u64, u64, u64)> {
    let mut u = Unwinder::init(proc, stack, pc, sp, lr, true, false)?;
    for _ in 0..MAX_SIGNAL_FRAMES {
        let Some(fr) = u.frame.clone() else { break };
        if matches!(fr.func.name, "runtime.sigtramp" | "runtime.cgoSigtramp") {
            let uc = fr.fp.wrapping_add(arch.uc_from_fp);
            let pc = proc.read_ptr(uc.wrapping_add(arch.uc_pc))?;
            let sp = proc.read_ptr(uc.wrapping_add(arch.uc_sp))?;
            let lr = match arch.uc_lr {
                Some(off) => proc.read_ptr(uc.wrapping_add(off))?,
                None => 0,
            };
            return Ok((pc, sp, lr));
        }
        u.next()?;
    }
    Err(UnwindError::NoStart(format!(
        "no runtime.sigtramp frame on the signal stack above sp {sp:#x}"
    )))
}
