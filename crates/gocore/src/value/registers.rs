//! Register values of goroutine frames, for variables whose DWARF location is a
//! register.
//!
//! Go has no callee-saved registers, so a register's value is known only where
//! something recorded it at the frame's PC:
//!
//! * the innermost frame of a goroutine running on a thread: the thread's registers
//!   in the core when the thread is executing the goroutine's code, or — the usual
//!   case in a `GOTRACEBACK=crash` dump, where every thread is in a signal handler —
//!   the interrupted context the kernel saved in the signal frame on the thread's
//!   signal stack (`ucontext.uc_mcontext`, found by its PC and SP, which are those
//!   the unwinder started the goroutine's stack from);
//! * the frame `runtime.asyncPreempt` interrupted: asyncPreempt saves the
//!   general-purpose registers on its own frame before calling `asyncPreempt2`
//!   (`runtime/preempt_amd64.s`, `preempt_arm64.s`; the same offsets in Go 1.21
//!   to 1.27, checked against the sources by a test). A goroutine stopped at
//!   asyncPreempt's first instruction has not saved anything yet: the interrupted
//!   frame then takes the innermost frame's registers (all but SP, PC and LR).
//!
//! DWARF register numbers come from gimli's `X86_64` and `AArch64`. Floating-point
//! registers (the low 8 bytes of `xmm0…15` / `v0…31`) are known from a signal
//! context (amd64: the `fxsave` area `uc_mcontext.fpstate` points to; arm64: the
//! `fpsimd_context` record in `__reserved`) and from asyncPreempt frames up to
//! Go 1.25 (`MOVUPS X0, 112(SP)` …, `FSTPD (F0, F1), 232(RSP)` …; Go 1.26+ saves
//! them outside the stack, and its smaller frame is how they are told apart), not
//! from a thread's own registers (the core's `NT_PRFPREG` is not read).

use corefile::Arch;
use gimli::{AArch64, Register, X86_64};

use crate::goroutine::{Frame, Goroutine, Status};
use crate::process::Process;

/// Where a frame's register values come from.
///
/// ```
/// assert_eq!(gocore::RegisterSource::Signal.name(), "signal context");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterSource {
    /// The thread's registers in the core (it was executing the goroutine).
    Thread,
    /// The context the kernel saved when a signal interrupted the goroutine.
    Signal,
    /// The registers `runtime.asyncPreempt` saved when it preempted the frame.
    AsyncPreempt,
}

impl RegisterSource {
    /// `thread registers`, `signal context` or `saved by asyncPreempt`.
    ///
    /// ```
    /// assert_eq!(gocore::RegisterSource::Thread.name(), "thread registers");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            RegisterSource::Thread => "thread registers",
            RegisterSource::Signal => "signal context",
            RegisterSource::AsyncPreempt => "saved by asyncPreempt",
        }
    }
}

/// The general-purpose register values known for one physical frame (and the
/// calls inlined into it), by DWARF register number; see
/// [`crate::Decoder::stack_registers`].
///
/// ```no_run
/// # fn f(r: &gocore::FrameRegisters) {
/// for (name, value) in r.iter() { println!("{name} {value:#x}"); }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRegisters {
    source: RegisterSource,
    arch: Arch,
    pc: u64,
    sp: u64,
    values: Vec<(u16, u64)>,
}

impl FrameRegisters {
    /// Where the values come from.
    ///
    /// ```no_run
    /// # fn f(r: &gocore::FrameRegisters) {
    /// println!("{}", r.source().name());
    /// # }
    /// ```
    pub fn source(&self) -> RegisterSource {
        self.source
    }

    /// The PC the values hold at (the frame's PC).
    ///
    /// ```no_run
    /// # fn f(r: &gocore::FrameRegisters) { println!("{:#x}", r.pc()); }
    /// ```
    pub fn pc(&self) -> u64 {
        self.pc
    }

    /// The frame's stack pointer.
    ///
    /// ```no_run
    /// # fn f(r: &gocore::FrameRegisters) { println!("{:#x}", r.sp()); }
    /// ```
    pub fn sp(&self) -> u64 {
        self.sp
    }

    /// The value of DWARF register `reg`, if recorded.
    ///
    /// ```no_run
    /// # fn f(r: &gocore::FrameRegisters) {
    /// let rax = r.get(0); // DWARF register 0: rax on amd64, x0 on arm64
    /// # }
    /// ```
    pub fn get(&self, reg: u16) -> Option<u64> {
        self.values.iter().find(|v| v.0 == reg).map(|v| v.1)
    }

    /// The recorded registers as (name, value), names in lower case as the
    /// kernel and gdb spell them (`rax`, `x0`).
    ///
    /// ```no_run
    /// # fn f(r: &gocore::FrameRegisters) {
    /// let n = r.iter().count();
    /// # }
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        self.values
            .iter()
            .map(|&(r, v)| (register_name(self.arch, r), v))
    }
}

/// The lower-case name of DWARF register `reg` (`rax`, `x0`), or `r<N>`.
pub(crate) fn register_name(arch: Arch, reg: u16) -> String {
    let n = match arch {
        Arch::Amd64 => X86_64::register_name(Register(reg)),
        Arch::Arm64 => AArch64::register_name(Register(reg)),
        _ => None,
    };
    n.map_or_else(|| format!("r{reg}"), str::to_ascii_lowercase)
}

/// Offsets in the kernel's `struct sigcontext` (`uc_mcontext`) of the
/// general-purpose registers: amd64 `r8 … r15, rdi, rsi, rbp, rbx, rdx, rax, rcx,
/// rsp, rip`; arm64 `fault_address, regs[31], sp, pc`.
fn sigcontext_layout(arch: Arch) -> (Vec<(Register, u64)>, u64, u64) {
    match arch {
        Arch::Amd64 => {
            let order = [
                X86_64::R8,
                X86_64::R9,
                X86_64::R10,
                X86_64::R11,
                X86_64::R12,
                X86_64::R13,
                X86_64::R14,
                X86_64::R15,
                X86_64::RDI,
                X86_64::RSI,
                X86_64::RBP,
                X86_64::RBX,
                X86_64::RDX,
                X86_64::RAX,
                X86_64::RCX,
                X86_64::RSP,
            ];
            let regs = order.iter().zip(0u64..).map(|(&r, i)| (r, 8 * i)).collect();
            (regs, 15 * 8, 16 * 8)
        }
        Arch::Arm64 => {
            let mut regs: Vec<(Register, u64)> = (0u16..=30)
                .map(|i| (Register(i), 8 + 8 * u64::from(i)))
                .collect();
            regs.push((AArch64::SP, 8 + 31 * 8));
            (regs, 8 + 31 * 8, 8 + 32 * 8)
        }
        _ => (Vec::new(), 0, 0),
    }
}

/// Offsets from `runtime.asyncPreempt`'s SP (at its call of `asyncPreempt2`) of the
/// registers it saved. amd64: `MOVQ AX, 0(SP)` … `MOVQ R15, 104(SP)`; arm64:
/// `STP (R0, R1), 8(RSP)` … `STP (R16, R17), 136(RSP)`, `STP (R19, R20), 152(RSP)`
/// … `STP (R25, R26), 200(RSP)` (R18 is the platform register, R27 the assembler's
/// temporary, R28 g).
pub(crate) fn async_preempt_layout(arch: Arch) -> Vec<(Register, u64)> {
    match arch {
        Arch::Amd64 => [
            X86_64::RAX,
            X86_64::RCX,
            X86_64::RDX,
            X86_64::RBX,
            X86_64::RSI,
            X86_64::RDI,
            X86_64::R8,
            X86_64::R9,
            X86_64::R10,
            X86_64::R11,
            X86_64::R12,
            X86_64::R13,
            X86_64::R14,
            X86_64::R15,
        ]
        .iter()
        .zip(0u64..)
        .map(|(&r, i)| (r, 8 * i))
        .collect(),
        Arch::Arm64 => (0u16..=17)
            .map(|i| (Register(i), 8 + 8 * u64::from(i)))
            .chain((19u16..=26).map(|i| (Register(i), 152 + 8 * u64::from(i - 19))))
            .collect(),
        _ => Vec::new(),
    }
}

/// The floating-point/vector registers Go passes values in, by DWARF number
/// (`xmm0…15`, `v0…31`, named as gimli names them).
fn float_regs(arch: Arch) -> Vec<Register> {
    match arch {
        Arch::Amd64 => (0..16)
            .filter_map(|i| X86_64::name_to_register(&format!("xmm{i}")))
            .collect(),
        Arch::Arm64 => (0..32)
            .filter_map(|i| AArch64::name_to_register(&format!("V{i}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// Floating-point registers asyncPreempt saved on its frame, when its frame holds
/// them (Go 1.21–1.25: amd64 `MOVUPS Xi, 112+16i(SP)` in a 368-byte area, arm64
/// `FSTPD (F2i, F2i+1), 232+16i(RSP)` in a 496-byte frame): (register, offset from
/// the frame's SP). `frame` is `fp - sp` of the asyncPreempt frame.
pub(crate) fn async_preempt_floats(arch: Arch, frame: u64) -> Vec<(Register, u64)> {
    // amd64: return address, BP and flags above the saved area.
    let (base, stride, area) = match arch {
        Arch::Amd64 => (112, 16, frame.saturating_sub(24)),
        Arch::Arm64 => (232, 8, frame),
        _ => return Vec::new(),
    };
    let regs = float_regs(arch);
    // All of them or none: Go 1.26+ frames end before where the first would be.
    let end = base + stride * regs.len() as u64;
    if end > area {
        return Vec::new();
    }
    regs.into_iter()
        .zip(0u64..)
        .map(|(r, i)| (r, base + stride * i))
        .collect()
}

/// Floating-point registers of a signal context at `mcontext` (the kernel's
/// `struct sigcontext`).
fn signal_floats(proc: &Process<'_>, arch: Arch, mcontext: u64) -> Vec<(u16, u64)> {
    let core = proc.core();
    let at = |base: u64, stride: u64| -> Vec<(u16, u64)> {
        float_regs(arch)
            .into_iter()
            .zip(0u64..)
            .filter_map(|(r, i)| Some((r.0, core.read_u64(base + stride * i).ok()?)))
            .collect()
    };
    match arch {
        // `fpstate` (after rip, eflags, cs/gs/fs/ss, err, trapno, oldmask, cr2)
        // points to the fxsave image; xmm0 is 160 bytes in.
        Arch::Amd64 => match core.read_u64(mcontext + 23 * 8) {
            Ok(fp) if fp != 0 => at(fp + 160, 16),
            _ => Vec::new(),
        },
        // `__reserved` (16-aligned, after pstate) starts with the fpsimd_context:
        // magic 0x46508001, size, fpsr, fpcr, then vregs[32] of 16 bytes.
        Arch::Arm64 => match core.read_u32(mcontext + 288) {
            Ok(0x4650_8001) => at(mcontext + 288 + 16, 16),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Most bytes of a signal stack searched for the signal frame.
const MAX_SIGNAL_STACK: u64 = 1 << 20;

/// Register values per logical frame of a goroutine's stack (parallel to
/// `frames`, innermost first); see [`crate::Decoder::stack_registers`].
pub(crate) fn stack_registers(
    proc: &Process<'_>,
    g: &Goroutine,
    frames: &[Frame],
) -> Vec<Option<FrameRegisters>> {
    let mut out = vec![None; frames.len()];
    let arch = proc.core().arch();
    // Logical frames of the physical frame at `i` (its inlined calls come first
    // and share its pc and sp).
    let physical = |i: usize| -> std::ops::Range<usize> {
        let Some(f) = frames.get(i) else {
            return i..i;
        };
        let mut lo = i;
        while lo > 0 && frames[lo - 1].pc == f.pc && frames[lo - 1].sp == f.sp {
            lo -= 1;
        }
        let mut hi = i;
        while hi < frames.len() && frames[hi].inlined {
            hi += 1;
        }
        lo..(hi + 1).min(frames.len())
    };
    if let Some(regs) = frames.first().and_then(|f0| innermost(proc, g, f0, arch)) {
        let range = physical(0);
        let top = range.clone().last().and_then(|i| frames.get(i));
        // Stopped at the first instruction of asyncPreempt (the call the signal
        // handler injected has not run yet): every register but the SP, PC and (on
        // arm64) the LR still holds the interrupted frame's value.
        if top.is_some_and(|f| f.function == "runtime.asyncPreempt" && f.pc == f.entry) {
            let next = physical(range.end);
            if let Some(caller) = next.clone().last().and_then(|j| frames.get(j)) {
                let keep = |r: u16| match arch {
                    Arch::Amd64 => r != X86_64::RSP.0,
                    _ => r != AArch64::SP.0 && r != AArch64::X30.0,
                };
                let inherited = FrameRegisters {
                    source: regs.source,
                    arch,
                    pc: caller.pc,
                    sp: caller.sp,
                    values: regs.values.iter().copied().filter(|v| keep(v.0)).collect(),
                };
                for j in next {
                    out[j] = Some(inherited.clone());
                }
            }
        }
        for i in range {
            out[i] = Some(regs.clone());
        }
    }
    for (i, f) in frames.iter().enumerate() {
        // A completed asyncPreempt frame (at its return from asyncPreempt2).
        if f.inlined || f.trap || f.function != "runtime.asyncPreempt" {
            continue;
        }
        let range = physical(i + 1);
        let Some(caller) = range.clone().last().and_then(|j| frames.get(j)) else {
            continue;
        };
        let mut values = Vec::new();
        let floats = async_preempt_floats(arch, f.fp.wrapping_sub(f.sp));
        for (r, off) in async_preempt_layout(arch).into_iter().chain(floats) {
            if let Ok(v) = proc.core().read_u64(f.sp.wrapping_add(off)) {
                values.push((r.0, v));
            }
        }
        if values.is_empty() {
            continue;
        }
        let regs = FrameRegisters {
            source: RegisterSource::AsyncPreempt,
            arch,
            pc: caller.pc,
            sp: caller.sp,
            values,
        };
        for j in range {
            out[j] = Some(regs.clone());
        }
    }
    out
}

/// The registers of a running goroutine's innermost frame `f0`: the thread's, or
/// the signal frame's on its signal stack whose PC and SP are `f0`'s.
fn innermost(proc: &Process<'_>, g: &Goroutine, f0: &Frame, arch: Arch) -> Option<FrameRegisters> {
    if g.status != Status::Running || g.syscall_sp != 0 || !f0.trap {
        return None;
    }
    let tid = g.thread?;
    let thread = proc
        .core()
        .threads()
        .iter()
        .find(|t| u64::from(t.tid) == tid)?;
    let tr = &thread.registers;
    if tr.pc() == f0.pc && tr.sp() == f0.sp {
        // The general-purpose registers (those the signal context has too).
        let values = sigcontext_layout(arch)
            .0
            .into_iter()
            .filter_map(|(r, _)| Some((r.0, tr.get(&register_name(arch, r.0))?)))
            .collect();
        return Some(FrameRegisters {
            source: RegisterSource::Thread,
            arch,
            pc: f0.pc,
            sp: f0.sp,
            values,
        });
    }
    // In a signal handler: the kernel's signal frame lies on the signal stack above
    // the thread's SP; the one that interrupted this frame holds its PC and SP.
    let m = proc.region(g.m_addr, "runtime.m");
    let gs = m.field("gsignal").ok()?.deref().ok()?;
    let lo = gs.field("stack.lo").ok()?.uint().ok()?;
    let hi = gs.field("stack.hi").ok()?.uint().ok()?;
    let from = tr.sp().max(lo);
    if from >= hi || hi - from > MAX_SIGNAL_STACK {
        return None;
    }
    let bytes = proc.core().read(from, (hi - from) as usize).ok()?;
    let word = |o: u64| -> Option<u64> {
        let o = usize::try_from(o).ok()?;
        let b = bytes.get(o..o.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    };
    let (layout, sp_off, pc_off) = sigcontext_layout(arch);
    if layout.is_empty() {
        return None;
    }
    let mut base = 0u64;
    while base.saturating_add(pc_off) + 8 <= hi - from {
        if word(base + sp_off) == Some(f0.sp) && word(base + pc_off) == Some(f0.pc) {
            let mut values: Vec<(u16, u64)> = layout
                .iter()
                .filter_map(|&(r, off)| Some((r.0, word(base + off)?)))
                .collect();
            values.extend(signal_floats(proc, arch, from + base));
            return Some(FrameRegisters {
                source: RegisterSource::Signal,
                arch,
                pc: f0.pc,
                sp: f0.sp,
                values,
            });
        }
        base += 8;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The asyncPreempt layout against each installed toolchain's
    /// `runtime/preempt_{amd64,arm64}.s` (skipped for toolchains not installed).
    #[test]
    fn async_preempt_layout_matches_the_runtime_sources() {
        let Some(home) = std::env::var_os("HOME") else {
            return;
        };
        let root = std::path::Path::new(&home).join(".cache/gocore/toolchains");
        let Ok(dirs) = std::fs::read_dir(&root) else {
            return;
        };
        let mut checked = 0;
        for d in dirs.flatten() {
            for (arch, file) in [(Arch::Amd64, "amd64"), (Arch::Arm64, "arm64")] {
                let candidates = [
                    d.path().join(format!("src/runtime/preempt_{file}.s")),
                    d.path().join(format!(
                        "lib/python3.11/site-packages/go/src/runtime/preempt_{file}.s"
                    )),
                ];
                let Some(text) = candidates
                    .iter()
                    .find_map(|p| std::fs::read_to_string(p).ok())
                else {
                    continue;
                };
                // Saved registers as the source writes them, up to the call, and
                // the frame size (amd64: ADJSP plus BP, flags and the return
                // address; arm64: the SUB from RSP).
                let mut saved: Vec<(String, u64)> = Vec::new();
                let mut frame = 0u64;
                for line in text.lines().map(str::trim) {
                    if line.starts_with("CALL") {
                        break;
                    }
                    let off = |s: &str| -> Option<u64> {
                        s.trim().split('(').next()?.trim().parse().ok()
                    };
                    let num =
                        |s: &str| -> u64 { s.trim().trim_start_matches('$').parse().unwrap_or(0) };
                    if let Some(n) = line.strip_prefix("ADJSP ") {
                        frame = num(n) + 24;
                    } else if let Some(n) = line
                        .strip_prefix("SUB ")
                        .and_then(|r| r.strip_suffix(", RSP"))
                    {
                        frame = num(n);
                    } else if let Some(rest) = line.strip_prefix("MOVUPS ") {
                        if let Some((r, m)) = rest.split_once(", ") {
                            if m.ends_with("(SP)") {
                                if let Some(o) = off(m) {
                                    saved.push((r.to_string(), o));
                                }
                            }
                        }
                    } else if let Some(rest) = line.strip_prefix("FSTPD (") {
                        if let Some((pair, m)) = rest.split_once("), ") {
                            if let (Some((a, b)), Some(o)) = (pair.split_once(", "), off(m)) {
                                saved.push((a.to_string(), o));
                                saved.push((b.to_string(), o + 8));
                            }
                        }
                    } else if let Some(rest) = line.strip_prefix("MOVQ ") {
                        if let Some((r, m)) = rest.split_once(", ") {
                            if m.ends_with("(SP)") && !r.contains('(') {
                                if let Some(o) = off(m) {
                                    saved.push((r.to_string(), o));
                                }
                            }
                        }
                    } else if let Some(rest) = line.strip_prefix("STP (") {
                        if let Some((pair, m)) = rest.split_once("), ") {
                            if let (Some((a, b)), Some(o)) = (pair.split_once(", "), off(m)) {
                                saved.push((a.to_string(), o));
                                saved.push((b.to_string(), o + 8));
                            }
                        }
                    }
                }
                for (r, off) in async_preempt_layout(arch) {
                    let name = register_name(arch, r.0);
                    // DWARF's names (rax, r8, x0) as the Go assembler spells them
                    // (AX, R8, R0).
                    let rest = &name[1..];
                    let src = match arch {
                        Arch::Amd64 if rest.parse::<u32>().is_ok() => name.to_ascii_uppercase(),
                        Arch::Amd64 => rest.to_ascii_uppercase(),
                        Arch::Arm64 => format!("R{rest}"),
                        _ => continue,
                    };
                    let found = saved.iter().find(|(n, _)| *n == src).map(|x| x.1);
                    assert_eq!(
                        found,
                        Some(off),
                        "{}: preempt_{file}.s saves {src} at {found:?}, the table says {off}",
                        d.path().display()
                    );
                    checked += 1;
                }
                // Floating-point registers: exactly those the source saves on the
                // stack, at the same offsets, for a frame of this size.
                let floats = async_preempt_floats(arch, frame);
                let src_floats: Vec<(String, u64)> = saved
                    .iter()
                    .filter(|(n, _)| n.starts_with('X') || n.starts_with('F'))
                    .cloned()
                    .collect();
                let ours: Vec<(String, u64)> = floats
                    .iter()
                    .map(|&(r, off)| {
                        let name = register_name(arch, r.0);
                        let n = match arch {
                            Arch::Amd64 => format!("X{}", name.trim_start_matches("xmm")),
                            _ => format!("F{}", name.trim_start_matches('v')),
                        };
                        (n, off)
                    })
                    .collect();
                assert_eq!(
                    ours,
                    src_floats,
                    "{}: preempt_{file}.s (frame {frame}) floating-point saves",
                    d.path().display()
                );
                checked += ours.len();
            }
        }
        assert!(
            checked > 0 || !root.exists(),
            "no preempt_*.s found under {}",
            root.display()
        );
        println!("{checked} saved registers checked against preempt_*.s");
    }
}
