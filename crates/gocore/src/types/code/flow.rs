//! Data flow inside amd64 functions: which registers and frame slots hold a fresh
//! `*T` where (see the module docs of `types/code.rs`).
//!
//! A function is decoded from its entry to its end, instruction by instruction (a
//! length decoder for the whole x86-64 encoding; an unknown or undecodable byte, an
//! indirect `JMP` (jump table) or a branch into the middle of an instruction gives
//! the function up). Its blocks are then run to a fixed point over a small lattice:
//! each of the 16 registers and each 8-byte frame slot `d(SP)` holds a *type
//! descriptor* `T` (`LEAQ type:T(SB), R`), a *fresh `*T`* (what `CALL
//! runtime.newobject` returns in `AX` when `AX` held `T`; Go 1.27's
//! `runtime.mallocgcSmallScan*` with `T` in `BX`; a call of a function whose every
//! return gives a fresh `*T`), or nothing known. Only exact copies keep a value:
//! `MOVQ R1, R2`, `MOVQ R, d(SP)`, `MOVQ d(SP), R`; every other instruction that may
//! write a register or a slot forgets it (an instruction not known to only read its
//! memory operand writes it; a call forgets every register but for
//! `runtime.gcWriteBarrierN`, which returns in `R11` and keeps the others, and every
//! slot below the callee's argument area (`_func.args`: its register spill space
//! and stack arguments live in the caller's frame), or every slot when the callee
//! is not a known function entry). Where paths meet, only values they agree on stay.
//!
//! Frame slots are read only between the prologue's `SUBQ $F, SP` and the
//! epilogue's `ADDQ $F, SP` (any other write to `SP` forgets them), and only below
//! every address the function takes of its frame (`LEAQ x(SP), R`: slots from `x -
//! 7` up are never tracked; copying `SP` or `BP` into a register, but the
//! prologue's `MOVQ SP, BP`, or a write through `BP` forgets them all) — the stack
//! check's `LEAQ -x(SP), R12; CMPQ R12, 16(R14)` only compares.
//!
//! Facts read at the fixed point: stores `MOVQ R, G(SB)` of a fresh `*T`, the slots
//! holding a fresh `*T` at each call's return address (what a goroutine frame
//! parked in that call holds there), and functions whose every `RET` returns a fresh
//! `*T` in `AX` (a jump out of the function returns something else).

use std::collections::{HashMap, HashSet};

/// Most instructions of one function analysed.
pub(super) const MAX_INSNS: usize = 1 << 16;
/// Most passes over a function's blocks.
pub(super) const MAX_PASSES: usize = 64;
/// Most rounds of finding result functions.
const MAX_ROUNDS: usize = 4;

const SP: u8 = 4;
const BP: u8 = 5;
const AX: u8 = 0;
const BX: u8 = 3;
const R11: u8 = 11;
const ALL: u16 = 0xffff;

/// What a register or a slot holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Val {
    Unknown,
    /// A type descriptor's link address.
    Desc(u64),
    /// A fresh object of that type, pointed to at its start.
    Fresh(u64),
}

/// A memory operand's base.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mem {
    /// `disp(SP)`.
    Sp(i64),
    /// SP or BP with an index, or BP.
    Frame,
    /// `disp(RIP)`: the absolute link address.
    Rip(u64),
    /// Any other.
    Other,
}

/// A decoded instruction's effect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    /// `CALL rel32` (link target) or an indirect call (`None`).
    Call(Option<u64>),
    /// `JMP rel`.
    Jmp(u64),
    /// `Jcc rel`.
    Jcc(u64),
    /// `RET`.
    Ret,
    /// `INT3`, `UD2`, `HLT`: no successor.
    Stop,
    /// `MOVQ src, dst` (64-bit register copy).
    Mov { dst: u8, src: u8 },
    /// `MOVQ d(SP), dst`.
    Load { dst: u8, d: i64 },
    /// `MOVQ src, d(SP)`.
    Store { src: u8, d: i64 },
    /// `LEAQ addr(SB), dst`.
    LeaRip { dst: u8, addr: u64 },
    /// `MOVQ src, addr(SB)`.
    StoreRip { src: u8, addr: u64 },
    /// `SUBQ $n, SP`.
    SubSp(i64),
    /// `ADDQ $n, SP`.
    AddSp(i64),
    /// `PUSHQ BP`.
    PushBp,
    /// Anything else: registers it may write, a frame memory operand it may write
    /// (`write`), an address of the frame taken (`lea`).
    Other {
        regs: u16,
        mem: Option<Mem>,
        write: bool,
        lea: bool,
        /// `SP` or `BP` used as a value (not as an address base): a frame
        /// address may be copied anywhere.
        esc: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Insn {
    /// Offset in the text.
    at: usize,
    len: usize,
    op: Op,
}

/// Decodes the instruction at `b` (`pc` is its link address). `None`: not decoded.
fn decode(b: &[u8], pc: u64) -> Option<(usize, Op)> {
    let mut i = 0;
    let (mut opsize16, mut rep) = (false, 0u8);
    while let Some(&p) = b.get(i) {
        match p {
            0x66 => opsize16 = true,
            0xf2 | 0xf3 => rep = p,
            0x67 | 0xf0 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 => {}
            _ => break,
        }
        i += 1;
        if i > 4 {
            return None;
        }
    }
    let mut rex = 0u8;
    if let Some(&r) = b.get(i) {
        if r & 0xf0 == 0x40 {
            rex = r;
            i += 1;
        }
    }
    let w = rex & 8 != 0;
    let (rr, rb) = ((rex >> 2) & 1, rex & 1);
    let op = *b.get(i)?;
    i += 1;
    let rel = |i: usize, n: usize| -> Option<u64> {
        let v = match n {
            1 => i64::from(*b.get(i)? as i8),
            _ => {
                let d = b.get(i..i + 4)?;
                i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))
            }
        };
        Some(pc.wrapping_add((i + n) as u64).wrapping_add(v as u64))
    };
    let imm_z = if opsize16 { 2 } else { 4 };
    // VEX/EVEX: length only, every register and the frame may change.
    if matches!(op, 0xc4 | 0xc5 | 0x62) && rex == 0 {
        let (pre, map) = match op {
            0xc5 => (1, 1),
            0xc4 => (2, *b.get(i)? & 0x1f),
            _ => (3, *b.get(i)? & 0x03),
        };
        let o = *b.get(i + pre)?;
        let (n, _) = modrm(b, i + pre + 1, 0, 0)?;
        let imm =
            usize::from(map == 3 || (map == 1 && matches!(o, 0x70..=0x73 | 0xc2 | 0xc4..=0xc6)));
        let len = i + pre + 1 + n + imm;
        return (len <= b.len()).then_some((len, other(ALL, Some(Mem::Frame), true)));
    }
    if op == 0x0f {
        return decode_0f(b, i, pc, rex, opsize16, rep);
    }
    // One-byte map.
    let reg_of = |m: u8| ((m >> 3) & 7) | (rr << 3);
    let rm_of = |m: u8| (m & 7) | (rb << 3);
    let with_modrm = |imm: usize, regs: fn(u8, u8, u8) -> u16, ro: bool| -> Option<(usize, Op)> {
        let m = *b.get(i)?;
        let (n, mem) = modrm(b, i, rex, pc)?;
        let len = i + n + imm;
        if len > b.len() {
            return None;
        }
        let mem = mem.map(|m| rip_fix(m, len, i + n));
        let r = regs(m, reg_of(m), rm_of(m));
        Some((
            len,
            with_esc(other(r, mem, !ro), esc_1(op, m, reg_of(m), rm_of(m))),
        ))
    };
    // Register masks by form: reg written; rm written when a register; both; none.
    fn reg_w(_: u8, reg: u8, _: u8) -> u16 {
        1 << reg
    }
    fn rm_w(m: u8, _: u8, rm: u8) -> u16 {
        if m >> 6 == 3 {
            1 << rm
        } else {
            0
        }
    }
    fn both_w(m: u8, reg: u8, rm: u8) -> u16 {
        reg_w(m, reg, rm) | rm_w(m, reg, rm)
    }
    fn none_w(_: u8, _: u8, _: u8) -> u16 {
        0
    }
    fn all_w(_: u8, _: u8, _: u8) -> u16 {
        ALL
    }
    match op {
        // ALU r/m, r (writes r/m) and r, r/m (writes r); CMP writes nothing.
        0x00 | 0x01 | 0x08 | 0x09 | 0x10 | 0x11 | 0x18 | 0x19 | 0x20 | 0x21 | 0x28 | 0x29
        | 0x30 | 0x31 => with_modrm(0, rm_w, false),
        0x02 | 0x03 | 0x0a | 0x0b | 0x12 | 0x13 | 0x1a | 0x1b | 0x22 | 0x23 | 0x2a | 0x2b
        | 0x32 | 0x33 => with_modrm(0, reg_w, true),
        0x38..=0x3b => with_modrm(0, none_w, true),
        0x04 | 0x0c | 0x14 | 0x1c | 0x24 | 0x2c | 0x34 => Some((i + 1, other(1, None, false))),
        0x05 | 0x0d | 0x15 | 0x1d | 0x25 | 0x2d | 0x35 => Some((i + imm_z, other(1, None, false))),
        0x3c => Some((i + 1, other(0, None, false))),
        0x3d => Some((i + imm_z, other(0, None, false))),
        0x50..=0x57 => {
            if op == 0x55 && rex == 0 {
                Some((i, Op::PushBp))
            } else {
                // PUSHQ SP copies a frame address.
                let e = rb == 0 && op == 0x54;
                Some((i, with_esc(other(1 << SP, None, false), e)))
            }
        }
        0x58..=0x5f => Some((i, other(1 << SP | 1 << ((op & 7) | (rb << 3)), None, false))),
        0x63 => with_modrm(0, reg_w, true),
        0x68 => Some((i + 4, other(1 << SP, None, false))),
        0x6a => Some((i + 1, other(1 << SP, None, false))),
        0x69 => with_modrm(imm_z, reg_w, true),
        0x6b => with_modrm(1, reg_w, true),
        0x70..=0x7f => Some((i + 1, Op::Jcc(rel(i, 1)?))),
        0x80 | 0x83 | 0x81 => {
            let m = *b.get(i)?;
            let imm = if op == 0x81 { imm_z } else { 1 };
            let (n, _) = modrm(b, i, rex, pc)?;
            // ADDQ/SUBQ $n, SP.
            if w && (m >> 6) == 3 && rm_of(m) == SP && (m >> 3) & 7 == 0 {
                let v = imm_val(b, i + n, imm)?;
                return Some((i + n + imm, Op::AddSp(v)));
            }
            if w && (m >> 6) == 3 && rm_of(m) == SP && (m >> 3) & 7 == 5 {
                let v = imm_val(b, i + n, imm)?;
                return Some((i + n + imm, Op::SubSp(v)));
            }
            if (m >> 3) & 7 == 7 {
                with_modrm(imm, none_w, true)
            } else {
                with_modrm(imm, rm_w, false)
            }
        }
        0x84 | 0x85 => with_modrm(0, none_w, true),
        0x86 | 0x87 => with_modrm(0, both_w, false),
        0x88 => with_modrm(0, rm_w, false),
        0x89 => {
            let m = *b.get(i)?;
            let (n, mem) = modrm(b, i, rex, pc)?;
            let (reg, rm) = (reg_of(m), rm_of(m));
            if w {
                if m >> 6 == 3 {
                    return Some((i + n, Op::Mov { dst: rm, src: reg }));
                }
                match mem.map(|x| rip_fix(x, i + n, i + n)) {
                    Some(Mem::Sp(d)) => return Some((i + n, Op::Store { src: reg, d })),
                    Some(Mem::Rip(a)) => return Some((i + n, Op::StoreRip { src: reg, addr: a })),
                    _ => {}
                }
            }
            with_modrm(0, rm_w, false)
        }
        0x8a => with_modrm(0, reg_w, true),
        0x8b => {
            let m = *b.get(i)?;
            let (n, mem) = modrm(b, i, rex, pc)?;
            let (reg, rm) = (reg_of(m), rm_of(m));
            if w {
                if m >> 6 == 3 {
                    return Some((i + n, Op::Mov { dst: reg, src: rm }));
                }
                if let Some(Mem::Sp(d)) = mem {
                    return Some((i + n, Op::Load { dst: reg, d }));
                }
            }
            with_modrm(0, reg_w, true)
        }
        0x8c | 0x8e => with_modrm(0, all_w, false),
        0x8d => {
            let m = *b.get(i)?;
            let (n, mem) = modrm(b, i, rex, pc)?;
            let reg = reg_of(m);
            match mem.map(|x| rip_fix(x, i + n, i + n)) {
                Some(Mem::Rip(a)) if w => Some((i + n, Op::LeaRip { dst: reg, addr: a })),
                Some(Mem::Rip(_) | Mem::Other) => Some((i + n, other(1 << reg, None, false))),
                mem => Some((
                    i + n,
                    Op::Other {
                        regs: 1 << reg,
                        mem,
                        write: false,
                        lea: true,
                        esc: false,
                    },
                )),
            }
        }
        0x8f => with_modrm(0, |m, r, rm| rm_w(m, r, rm) | 1 << SP, false),
        0x90 => {
            if rb == 0 {
                Some((i, other(0, None, false)))
            } else {
                Some((i, other(1 | 1 << 8, None, false)))
            }
        }
        0x91..=0x97 => {
            let r = (op & 7) | (rb << 3);
            let e = r == SP || r == BP;
            Some((i, with_esc(other(1 | 1 << r, None, false), e)))
        }
        0x98 => Some((i, other(1, None, false))),
        0x99 => Some((i, other(1 << 2, None, false))),
        0x9c | 0x9d => Some((i, other(1 << SP, None, false))),
        0x9e => Some((i, other(0, None, false))),
        0x9f => Some((i, other(1, None, false))),
        0xa8 => Some((i + 1, other(0, None, false))),
        0xa9 => Some((i + imm_z, other(0, None, false))),
        0xa4..=0xa7 | 0xaa..=0xaf => Some((i, other(ALL, Some(Mem::Frame), true))),
        0xb0..=0xb7 => Some((i + 1, other(1 << ((op & 7) | (rb << 3)), None, false))),
        0xb8..=0xbf => {
            let n = if w { 8 } else { imm_z };
            Some((i + n, other(1 << ((op & 7) | (rb << 3)), None, false)))
        }
        0xc0 | 0xc1 => with_modrm(1, rm_w, false),
        0xc2 => Some((i + 2, Op::Ret)),
        0xc3 => Some((i, Op::Ret)),
        0xc6 => with_modrm(1, rm_w, false),
        0xc7 => with_modrm(imm_z, rm_w, false),
        0xc9 => Some((i, other(1 << SP | 1 << BP, None, false))),
        0xcc | 0xf4 => Some((i, Op::Stop)),
        0xd0..=0xd3 => with_modrm(0, rm_w, false),
        0xd8..=0xdf => with_modrm(0, none_w, false),
        0xe8 => Some((i + 4, Op::Call(Some(rel(i, 4)?)))),
        0xe9 => Some((i + 4, Op::Jmp(rel(i, 4)?))),
        0xeb => Some((i + 1, Op::Jmp(rel(i, 1)?))),
        0xf5 | 0xf8..=0xfd => Some((i, other(0, None, false))),
        0xf6 | 0xf7 => {
            let m = *b.get(i)?;
            let r = (m >> 3) & 7;
            let imm = if r <= 1 {
                if op == 0xf6 {
                    1
                } else {
                    imm_z
                }
            } else {
                0
            };
            match r {
                0 | 1 => with_modrm(imm, none_w, true),
                2 | 3 => with_modrm(0, rm_w, false),
                // MUL, IMUL, DIV, IDIV: AX and DX.
                _ => with_modrm(0, |_, _, _| 1 | 1 << 2, true),
            }
        }
        0xfe => with_modrm(0, rm_w, false),
        0xff => {
            let m = *b.get(i)?;
            match (m >> 3) & 7 {
                0 | 1 => with_modrm(0, rm_w, false),
                2 => {
                    let (n, _) = modrm(b, i, rex, pc)?;
                    Some((i + n, Op::Call(None)))
                }
                // Indirect jumps (jump tables, tail calls) and far forms: give up.
                3..=5 => None,
                6 => with_modrm(0, |_, _, _| 1 << SP, true),
                _ => None,
            }
        }
        _ => None,
    }
    .filter(|&(len, _)| len <= b.len())
}

/// An `Op::Other`.
fn other(regs: u16, mem: Option<Mem>, write: bool) -> Op {
    Op::Other {
        regs,
        mem,
        write: write && mem.is_some(),
        lea: false,
        esc: false,
    }
}

/// `op` (an `Op::Other`) with its `esc` set.
fn with_esc(op: Op, e: bool) -> Op {
    match op {
        Op::Other {
            regs,
            mem,
            write,
            lea,
            ..
        } => Op::Other {
            regs,
            mem,
            write,
            lea,
            esc: e,
        },
        op => op,
    }
}

/// Whether one-byte opcode `op` with ModRM `m` (`reg`, `rm`: register numbers
/// with their REX bits) uses `SP` or `BP` as a value: as its `reg` operand (not
/// in group opcodes, whose `reg` field extends the opcode) or as a register `rm`
/// operand, other than to compare it.
fn esc_1(op: u8, m: u8, reg: u8, rm: u8) -> bool {
    let frame = |r: u8| r == SP || r == BP;
    let ext = (m >> 3) & 7;
    let cmp = matches!(op, 0x38..=0x3b | 0x84 | 0x85)
        || (matches!(op, 0x80..=0x83) && ext == 7)
        || (matches!(op, 0xf6 | 0xf7) && ext <= 1);
    let group = matches!(
        op,
        0x80..=0x83 | 0x8f | 0xc0 | 0xc1 | 0xc6 | 0xc7 | 0xd0..=0xd3 | 0xd8..=0xdf | 0xf6 | 0xf7 | 0xfe | 0xff
    );
    !cmp && ((!group && frame(reg)) || (m >> 6 == 3 && frame(rm)))
}

/// A RIP-relative displacement decoded as relative to the ModRM's end (`modrm`
/// does so) moved to the instruction's end: `end` the instruction's end, `at` the
/// end of its ModRM bytes.
fn rip_fix(m: Mem, end: usize, at: usize) -> Mem {
    match m {
        Mem::Rip(a) => Mem::Rip(a.wrapping_add((end - at) as u64)),
        m => m,
    }
}

/// Little-endian signed immediate of `n` (1, 2 or 4) bytes at `b[i..]`.
fn imm_val(b: &[u8], i: usize, n: usize) -> Option<i64> {
    Some(match n {
        1 => i64::from(*b.get(i)? as i8),
        2 => i64::from(i16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?])),
        _ => {
            let d = b.get(i..i + 4)?;
            i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))
        }
    })
}

/// Length of the ModRM bytes at `b[i]` (ModRM, SIB, displacement) and the memory
/// operand (`None`: a register). A RIP-relative address is computed relative to
/// the end of these bytes (`rip_fix` moves it past any immediate).
fn modrm(b: &[u8], i: usize, rex: u8, pc: u64) -> Option<(usize, Option<Mem>)> {
    let m = *b.get(i)?;
    let (md, rm) = (m >> 6, m & 7);
    if md == 3 {
        return Some((1, None));
    }
    let rb = rex & 1;
    let rx = (rex >> 1) & 1;
    let mut n = 1;
    let mut base = Some(rm | (rb << 3));
    let mut index = None;
    if rm == 4 {
        let s = *b.get(i + 1)?;
        n += 1;
        let idx = ((s >> 3) & 7) | (rx << 3);
        if idx != 4 {
            index = Some(idx);
        }
        base = Some((s & 7) | (rb << 3));
        if md == 0 && s & 7 == 5 {
            base = None;
            n += 4;
        }
    } else if md == 0 && rm == 5 {
        let d = b.get(i + 1..i + 5)?;
        let d = i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]));
        let end = i + 5;
        return Some((
            5,
            Some(Mem::Rip(pc.wrapping_add(end as u64).wrapping_add(d as u64))),
        ));
    }
    let disp = match md {
        1 => {
            let v = i64::from(*b.get(i + n)? as i8);
            n += 1;
            v
        }
        2 => {
            let v = imm_val(b, i + n, 4)?;
            n += 4;
            v
        }
        _ => 0,
    };
    if i + n > b.len() {
        return None;
    }
    let mem = match (base, index) {
        (Some(SP), None) => Mem::Sp(disp),
        (Some(SP | BP), _) => Mem::Frame,
        (_, Some(SP)) => Mem::Frame,
        _ => Mem::Other,
    };
    Some((n, Some(mem)))
}

/// The two-byte (`0F`) map; `i` is just past the `0F`.
fn decode_0f(b: &[u8], i: usize, pc: u64, rex: u8, opsize16: bool, rep: u8) -> Option<(usize, Op)> {
    let op = *b.get(i)?;
    let i = i + 1;
    let rr = (rex >> 2) & 1;
    let rb = rex & 1;
    let m = b.get(i).copied().unwrap_or(0);
    let esc = {
        let frame = |r: u8| r == SP || r == BP;
        let (reg_i, rm_i) = (((m >> 3) & 7) | (rr << 3), (m & 7) | (rb << 3));
        // Operands that are XMM registers, or (hint NOPs) none.
        let xmm_only = matches!(
            op,
            0x0d | 0x10..=0x17
                | 0x18..=0x1f
                | 0x28
                | 0x29
                | 0x2b
                | 0x2e
                | 0x2f
                | 0x51..=0x5f
                | 0x60..=0x6d
                | 0x6f..=0x76
                | 0x7f
                | 0xc2
                | 0xc6
                | 0xd1..=0xd6
                | 0xd8..=0xdf
                | 0xe0..=0xef
                | 0xf1..=0xf6
                | 0xf8..=0xfe
        );
        // Opcodes whose ModRM reg field is a general register.
        let gpr_reg = matches!(
            op,
            0x40..=0x4f | 0xa3..=0xa5 | 0xab..=0xad | 0xaf..=0xb1 | 0xb3 | 0xb6..=0xb8 | 0xbb..=0xbf | 0xc0 | 0xc1
        );
        matches!(op, 0x38 | 0x3a)
            || !xmm_only && ((m >> 6 == 3 && frame(rm_i)) || (gpr_reg && frame(reg_i)))
    };
    let gen = |extra: usize, imm: usize, regs: u16, ro: bool| -> Option<(usize, Op)> {
        let (n, mem) = modrm(b, i + extra, rex, pc)?;
        let len = i + extra + n + imm;
        (len <= b.len()).then_some((len, with_esc(other(regs, mem, !ro), esc)))
    };
    let reg = 1u16 << (((m >> 3) & 7) | (rr << 3));
    let rm = if m >> 6 == 3 {
        1u16 << ((m & 7) | (rb << 3))
    } else {
        0
    };
    let _ = opsize16;
    match op {
        0x05 | 0xa2 | 0x31 | 0x01 | 0x00 => {
            if op == 0x01 || op == 0x00 {
                gen(0, 0, ALL, false)
            } else {
                Some((i, other(ALL, None, false)))
            }
        }
        0x0b => Some((i, Op::Stop)),
        0x0d | 0x18..=0x1f => gen(0, 0, 0, true),
        // SSE loads and arithmetic into XMM registers (reg is an XMM register).
        0x10
        | 0x12
        | 0x14
        | 0x15
        | 0x16
        | 0x28
        | 0x2a
        | 0x51..=0x5f
        | 0x60..=0x6f
        | 0x74..=0x76
        | 0xd1..=0xd5
        | 0xd8..=0xdf
        | 0xe0..=0xe6
        | 0xe8..=0xef
        | 0xf1..=0xf6
        | 0xf8..=0xfe => gen(0, 0, 0, true),
        0x2e | 0x2f => gen(0, 0, 0, true),
        0x70 | 0xc2 | 0xc4 | 0xc6 => gen(0, 1, 0, true),
        0x71..=0x73 => gen(0, 1, 0, true),
        // SSE stores (reg is an XMM register; the r/m is written).
        0x11 | 0x13 | 0x17 | 0x29 | 0x2b | 0x7f | 0xe7 | 0xd6 => gen(0, 0, rm, false),
        0x7e => {
            if rep == 0xf3 {
                gen(0, 0, 0, true)
            } else {
                gen(0, 0, rm, false)
            }
        }
        // XMM to a general register (reg written).
        0x2c | 0x2d | 0x50 | 0xd7 => gen(0, 0, reg, true),
        0xc5 => gen(0, 1, reg, true),
        0x38 => {
            let (n, mem) = modrm(b, i + 1, rex, pc)?;
            let len = i + 1 + n;
            (len <= b.len()).then_some((len, with_esc(other(ALL, mem, true), true)))
        }
        0x3a => {
            let (n, mem) = modrm(b, i + 1, rex, pc)?;
            let len = i + 1 + n + 1;
            (len <= b.len()).then_some((len, with_esc(other(ALL, mem, true), true)))
        }
        0x40..=0x4f | 0xaf | 0xb6 | 0xb7 | 0xbc | 0xbd | 0xbe | 0xbf | 0xb8 => gen(0, 0, reg, true),
        0x80..=0x8f => {
            let d = b.get(i..i + 4)?;
            let v = i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]));
            Some((
                i + 4,
                Op::Jcc(pc.wrapping_add((i + 4) as u64).wrapping_add(v as u64)),
            ))
        }
        0x90..=0x9f => gen(0, 0, rm, false),
        0xa3 => gen(0, 0, 0, true),
        0xab | 0xb3 | 0xbb | 0xa5 | 0xad => gen(0, 0, rm, false),
        0xa4 | 0xac => gen(0, 1, rm, false),
        0xba => {
            if (m >> 3) & 7 == 4 {
                gen(0, 1, 0, true)
            } else {
                gen(0, 1, rm, false)
            }
        }
        0xb0 | 0xb1 => gen(0, 0, rm | 1, false),
        0xc0 | 0xc1 => gen(0, 0, rm | reg, false),
        0xc7 => gen(0, 0, ALL, false),
        0xc8..=0xcf => Some((i, other(1 << ((op & 7) | (rb << 3)), None, false))),
        0xae => gen(0, 0, ALL, false),
        _ => None,
    }
}

/// One function's abstract state.
#[derive(Clone, PartialEq, Eq, Debug)]
struct State {
    regs: [Val; 16],
    /// Slots holding a known value (sorted by offset); only in the body.
    slots: Vec<(i64, Val)>,
    /// `Some(F)` between `SUBQ $F, SP` and its `ADDQ`; `None` before.
    body: Option<i64>,
    /// SP is something else (`None` and `body` unknown).
    lost: bool,
}

impl State {
    fn entry() -> State {
        State {
            regs: [Val::Unknown; 16],
            slots: Vec::new(),
            body: None,
            lost: false,
        }
    }

    fn join(&mut self, o: &State) -> bool {
        let mut changed = false;
        for (a, b) in self.regs.iter_mut().zip(o.regs.iter()) {
            if a != b && *a != Val::Unknown {
                *a = Val::Unknown;
                changed = true;
            }
        }
        let n = self.slots.len();
        self.slots.retain(|s| o.slots.contains(s));
        changed |= self.slots.len() != n;
        if self.body != o.body || self.lost != o.lost {
            if !self.lost {
                changed = true;
            }
            self.lost = true;
            self.body = None;
            changed |= !self.slots.is_empty();
            self.slots.clear();
        }
        changed
    }

    fn forget_slots(&mut self, lo: i64, hi: i64) {
        self.slots.retain(|&(d, _)| d + 8 <= lo || d >= hi);
    }
}

/// What the analysis needs to know about the program.
pub(super) struct Env<'a> {
    /// The text and its link address.
    pub code: &'a [u8],
    pub base: u64,
    /// The type section.
    pub types: (u64, u64),
    /// Functions: (entry, end, args size, has a `deferreturn`), sorted by entry.
    /// A function with a `deferreturn` is not analysed: after a recovered panic
    /// it resumes there by a path the code does not show.
    pub funcs: &'a [(u64, u64, u32, bool)],
    /// `runtime.newobject` (type in the first argument register: AX, R0).
    pub newobject: Option<u64>,
    /// Go 1.27's `runtime.mallocgcSmallScan*` (type in the second argument
    /// register: BX, R1).
    pub malloc: &'a HashSet<u64>,
    /// `runtime.gcWriteBarrierN` (on amd64 they keep every register but R11).
    pub wb: &'a HashSet<u64>,
}

/// What the functions say.
#[derive(Default, Debug)]
pub(super) struct Flow {
    /// Stores of a fresh `*T` to a global: (offset of the instruction in the text,
    /// global's link address, `T`).
    pub stores: Vec<(usize, u64, u64)>,
    /// Frame slots holding a fresh `*T` at a call's return address: (return
    /// address, offset from SP, `T`), sorted.
    pub frames: Vec<(u64, i64, u64)>,
    /// Functions whose every return gives a fresh `*T` in AX: (entry, `T`).
    pub results: Vec<(u64, u64)>,
}

/// Runs the amd64 analysis on the functions that call an allocator or a function
/// returning a fresh object (found round by round).
pub(super) fn analyze(env: &Env<'_>) -> Flow {
    rounds(env, &call_sites(env), function)
}

/// One instruction set's analysis of the function at `code[lo..hi]`: adds its
/// facts to the [`Flow`] and returns the type of the fresh object every return
/// gives, if any (`results`: the functions known to return one).
pub(super) type Function = fn(&Env<'_>, usize, usize, &HashMap<u64, u64>, &mut Flow) -> Option<u64>;

/// The rounds of an analysis, for any instruction set: `sites` are the direct
/// calls (index in `env.funcs` of the caller, target); round one analyses the
/// callers of allocators, the next ones the callers of the functions found to
/// return a fresh object (their facts may grow), until none is new.
pub(super) fn rounds(env: &Env<'_>, sites: &[(usize, u64)], function: Function) -> Flow {
    let mut results: HashMap<u64, u64> = HashMap::new();
    // Each analysed function's facts and result, by entry.
    let mut each: HashMap<u64, (Flow, Option<u64>)> = HashMap::new();
    let mut sources: HashSet<u64> = env.malloc.clone();
    sources.extend(env.newobject);
    for _ in 0..MAX_ROUNDS {
        let callers: HashSet<usize> = sites
            .iter()
            .filter(|s| sources.contains(&s.1))
            .map(|s| s.0)
            .collect();
        for (k, &(entry, end, _, defers)) in env.funcs.iter().enumerate() {
            if defers || !callers.contains(&k) {
                continue;
            }
            let (Some(lo), Some(hi)) = (
                entry
                    .checked_sub(env.base)
                    .and_then(|v| usize::try_from(v).ok()),
                end.checked_sub(env.base)
                    .and_then(|v| usize::try_from(v).ok()),
            ) else {
                continue;
            };
            if lo >= hi || hi > env.code.len() {
                continue;
            }
            let mut flow = Flow::default();
            let t = function(env, lo, hi, &results, &mut flow);
            each.insert(entry, (flow, t));
        }
        let found: HashMap<u64, u64> = each
            .iter()
            .filter_map(|(&e, (_, t))| t.map(|t| (e, t)))
            .collect();
        if found == results {
            break;
        }
        sources = found.keys().copied().collect();
        results = found;
    }
    let mut out = Flow::default();
    for (f, _) in each.into_values() {
        out.stores.extend(f.stores);
        out.frames.extend(f.frames);
    }
    out.results = results.into_iter().collect();
    out.results.sort_unstable();
    out.frames.sort_unstable();
    out.stores.sort_unstable();
    out
}

/// Bytes reading as `CALL rel32` to a function entry, by one pass over the text:
/// (index in `env.funcs` of the function holding it, target). A false hit only
/// costs an analysis.
fn call_sites(env: &Env<'_>) -> Vec<(usize, u64)> {
    let c = env.code;
    let f = env.funcs;
    let mut out = Vec::new();
    for i in 0..c.len().saturating_sub(4) {
        if c[i] != 0xe8 {
            continue;
        }
        let d = i32::from_le_bytes([c[i + 1], c[i + 2], c[i + 3], c[i + 4]]);
        let at = env.base.wrapping_add(i as u64);
        let t = at.wrapping_add(5).wrapping_add(i64::from(d) as u64);
        out.extend(call_site(f, at, t));
    }
    out
}

/// A direct call at `at` to `t` as (index in `funcs` of the function holding it,
/// `t`), when `t` is a function entry.
pub(super) fn call_site(funcs: &[(u64, u64, u32, bool)], at: u64, t: u64) -> Option<(usize, u64)> {
    funcs.binary_search_by_key(&t, |x| x.0).ok()?;
    let k = funcs.partition_point(|x| x.0 <= at).checked_sub(1)?;
    (at < funcs[k].1).then_some((k, t))
}

/// Analyses the function at `code[lo..hi]`; adds its facts to `out` and returns
/// the type of the fresh object every return gives, if any.
fn function(
    env: &Env<'_>,
    lo: usize,
    hi: usize,
    results: &HashMap<u64, u64>,
    out: &mut Flow,
) -> Option<u64> {
    let at = |i: usize| env.base.wrapping_add(i as u64);
    // Decode.
    let mut insns = Vec::new();
    let mut i = lo;
    while i < hi {
        let (len, op) = decode(&env.code[i..hi], at(i))?;
        if len == 0 || len > hi - i {
            return None;
        }
        insns.push(Insn { at: i, len, op });
        i += len;
        if insns.len() > MAX_INSNS {
            return None;
        }
    }
    let (flo, fhi) = (at(lo), at(hi));
    let target = |t: u64| -> Result<Option<usize>, ()> {
        if t < flo || t >= fhi {
            return Ok(None);
        }
        insns
            .binary_search_by_key(&((t - env.base) as usize), |n| n.at)
            .map(Some)
            .map_err(|_| ())
    };
    // Addresses taken of the frame: slots from the lowest up are never tracked.
    let mut floor = i64::MAX;
    for (k, n) in insns.iter().enumerate() {
        match n.op {
            Op::Other { lea: true, mem, .. } => match mem {
                Some(Mem::Sp(d)) if d < 0 => {
                    // The stack check: LEAQ -x(SP), R12; CMPQ R12, 16(R14).
                    let next = insns.get(k + 1).map(|m| &env.code[m.at..m.at + m.len]);
                    if next != Some(&[0x4c, 0x3b, 0x66, 0x10][..])
                        && next != Some(&[0x4c, 0x3b, 0x6e, 0x10][..])
                    {
                        floor = i64::MIN;
                    }
                }
                Some(Mem::Sp(d)) => floor = floor.min(d),
                _ => floor = i64::MIN,
            },
            Op::Mov { src: SP, dst } if dst != BP || k > 4 => floor = i64::MIN,
            Op::PushBp if k > 3 => floor = i64::MIN,
            Op::Mov { src: BP, .. }
            | Op::Store { src: SP | BP, .. }
            | Op::StoreRip { src: SP | BP, .. }
            | Op::Other { esc: true, .. } => floor = i64::MIN,
            _ => {}
        }
        if let Op::Jmp(t) | Op::Jcc(t) = n.op {
            if target(t).is_err() {
                return None;
            }
        }
    }
    // Blocks: leaders are the entry, branch targets and what follows a branch.
    let mut leader = vec![false; insns.len()];
    leader[0] = true;
    for (k, n) in insns.iter().enumerate() {
        if let Op::Jmp(t) | Op::Jcc(t) = n.op {
            if let Ok(Some(j)) = target(t) {
                leader[j] = true;
            }
        }
        if matches!(n.op, Op::Jmp(_) | Op::Jcc(_) | Op::Ret | Op::Stop) && k + 1 < insns.len() {
            leader[k + 1] = true;
        }
    }
    let mut states: Vec<Option<State>> = vec![None; insns.len()];
    states[0] = Some(State::entry());
    let mut work = vec![0usize];
    let mut passes = 0;
    let ctx = Ctx {
        env,
        results,
        floor,
    };
    while let Some(b) = work.pop() {
        passes += 1;
        if passes > MAX_PASSES * insns.len().max(1) / 4 + 64 {
            return None;
        }
        let mut s = states[b].clone()?;
        let mut k = b;
        loop {
            let n = insns[k];
            let succ = ctx.step(&mut s, &n, None);
            let mut next = Vec::new();
            match n.op {
                Op::Jmp(t) => next.extend(target(t).ok().flatten()),
                Op::Jcc(t) => {
                    next.extend(target(t).ok().flatten());
                    next.push(k + 1);
                }
                Op::Ret | Op::Stop => {}
                _ => {
                    if succ {
                        next.push(k + 1);
                    }
                }
            }
            // Fall through within the block.
            if next.len() == 1 && next[0] == k + 1 && k + 1 < insns.len() && !leader[k + 1] {
                k += 1;
                continue;
            }
            for j in next {
                if j >= insns.len() {
                    continue;
                }
                let changed = match &mut states[j] {
                    Some(old) => old.join(&s),
                    none => {
                        *none = Some(s.clone());
                        true
                    }
                };
                if changed && !work.contains(&j) {
                    work.push(j);
                }
            }
            break;
        }
    }
    // Facts at the fixed point.
    let mut ret: Option<Option<u64>> = None;
    let mut agree = |v: Val| {
        let t = match v {
            Val::Fresh(t) => Some(t),
            _ => None,
        };
        ret = Some(match ret {
            None => t,
            Some(p) if p == t => t,
            Some(_) => None,
        });
    };
    let mut s = State::entry();
    let mut live = false;
    for (k, n) in insns.iter().enumerate() {
        if leader[k] {
            live = states[k].is_some();
            if let Some(st) = &states[k] {
                s = st.clone();
            }
        }
        if !live {
            continue;
        }
        match n.op {
            Op::Ret => agree(s.regs[AX as usize]),
            Op::Jmp(t) | Op::Jcc(t) if target(t).ok().flatten().is_none() => agree(Val::Unknown),
            Op::StoreRip { src, addr } => {
                if let Val::Fresh(t) = s.regs[src as usize] {
                    out.stores.push((n.at, addr, t));
                }
            }
            _ => {}
        }
        ctx.step(&mut s, n, Some(out));
    }
    ret.flatten()
}

struct Ctx<'a, 'e> {
    env: &'a Env<'e>,
    results: &'a HashMap<u64, u64>,
    floor: i64,
}

impl Ctx<'_, '_> {
    /// Applies `n` to `s`; whether execution may continue after it. With `out`,
    /// records the slots holding a fresh object after a call.
    fn step(&self, s: &mut State, n: &Insn, out: Option<&mut Flow>) -> bool {
        let env = self.env;
        let tracked = |d: i64| d + 8 <= self.floor;
        match n.op {
            Op::Call(t) => {
                let before = s.regs;
                let callee = t.and_then(|t| {
                    let k = env.funcs.partition_point(|f| f.0 <= t);
                    k.checked_sub(1).map(|k| env.funcs[k]).filter(|f| f.0 == t)
                });
                if t.is_some_and(|t| env.wb.contains(&t)) {
                    s.regs[R11 as usize] = Val::Unknown;
                } else {
                    s.regs = [Val::Unknown; 16];
                    let fresh = match t {
                        Some(t) if Some(t) == env.newobject => match before[AX as usize] {
                            Val::Desc(ty) => Some(ty),
                            _ => None,
                        },
                        Some(t) if env.malloc.contains(&t) => match before[BX as usize] {
                            Val::Desc(ty) => Some(ty),
                            _ => None,
                        },
                        Some(t) => self.results.get(&t).copied(),
                        None => None,
                    };
                    if let Some(ty) = fresh {
                        s.regs[AX as usize] = Val::Fresh(ty);
                    }
                    // The callee's argument area lies at the bottom of our frame.
                    match callee {
                        Some((_, _, args, _)) => {
                            let a = i64::from(args).max(0);
                            s.forget_slots(i64::MIN, (a + 7) & !7);
                        }
                        None => s.slots.clear(),
                    }
                }
                if let Some(out) = out {
                    let ret = env.base.wrapping_add((n.at + n.len) as u64);
                    for &(d, v) in &s.slots {
                        if let Val::Fresh(ty) = v {
                            out.frames.push((ret, d, ty));
                        }
                    }
                }
                true
            }
            Op::Jmp(_) | Op::Jcc(_) | Op::Ret | Op::Stop => true,
            Op::Mov { dst, src } => {
                s.regs[dst as usize] = s.regs[src as usize];
                if dst == SP {
                    lose(s);
                }
                true
            }
            Op::Load { dst, d } => {
                let v = if s.body.is_some() && tracked(d) {
                    s.slots
                        .iter()
                        .find(|x| x.0 == d)
                        .map_or(Val::Unknown, |x| x.1)
                } else {
                    Val::Unknown
                };
                s.regs[dst as usize] = v;
                if dst == SP {
                    lose(s);
                }
                true
            }
            Op::Store { src, d } => {
                if s.body.is_some() {
                    s.forget_slots(d, d + 8);
                    let v = s.regs[src as usize];
                    if tracked(d) && v != Val::Unknown {
                        let k = s.slots.partition_point(|x| x.0 < d);
                        s.slots.insert(k, (d, v));
                    }
                }
                true
            }
            Op::LeaRip { dst, addr } => {
                s.regs[dst as usize] = if addr >= env.types.0 && addr < env.types.1 {
                    Val::Desc(addr)
                } else {
                    Val::Unknown
                };
                true
            }
            Op::StoreRip { .. } => true,
            Op::SubSp(f) => {
                if s.body.is_none() && !s.lost && f > 0 {
                    s.body = Some(f);
                    s.slots.clear();
                } else {
                    lose(s);
                }
                true
            }
            Op::AddSp(f) => {
                if s.body == Some(f) {
                    s.body = None;
                    s.lost = true;
                    s.slots.clear();
                } else {
                    lose(s);
                }
                true
            }
            Op::PushBp => {
                if s.body.is_some() {
                    lose(s);
                }
                true
            }
            Op::Other {
                regs, mem, write, ..
            } => {
                for r in 0..16 {
                    if regs & (1 << r) != 0 {
                        s.regs[r] = Val::Unknown;
                    }
                }
                if regs & (1 << SP) != 0 {
                    lose(s);
                }
                if write {
                    match mem {
                        Some(Mem::Sp(d)) => s.forget_slots(d, d + 64),
                        Some(Mem::Frame) => s.slots.clear(),
                        _ => {}
                    }
                }
                true
            }
        }
    }
}

/// SP no longer known: no slot is.
fn lose(s: &mut State) {
    s.body = None;
    s.lost = true;
    s.slots.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny assembler: bytes at link address `base + len`.
    struct Asm {
        base: u64,
        c: Vec<u8>,
    }

    impl Asm {
        fn pc(&self) -> u64 {
            self.base + self.c.len() as u64
        }
        fn raw(&mut self, b: &[u8]) -> &mut Self {
            self.c.extend_from_slice(b);
            self
        }
        /// `op` then a RIP-relative disp32 to `t` (instruction ends after it).
        fn rip(&mut self, op: &[u8], t: u64) -> &mut Self {
            self.c.extend_from_slice(op);
            let end = self.pc() as i64 + 4;
            self.c.extend((t as i64 - end).to_le_bytes()[..4].iter());
            self
        }
        fn call(&mut self, t: u64) -> &mut Self {
            self.rip(&[0xe8], t)
        }
        fn prologue(&mut self, frame: u8) -> &mut Self {
            // PUSHQ BP; MOVQ SP, BP; SUBQ $frame, SP
            self.raw(&[0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, frame])
        }
        fn epilogue(&mut self, frame: u8) -> &mut Self {
            // ADDQ $frame, SP; POPQ BP; RET
            self.raw(&[0x48, 0x83, 0xc4, frame, 0x5d, 0xc3])
        }
    }

    const T: u64 = 0x50_0000;
    const G: u64 = 0x60_0200;
    const NEWOBJ: u64 = 0x41_0000;
    const WB: u64 = 0x41_1000;
    const OTHER: u64 = 0x41_2000;
    const BIG: u64 = 0x41_3000;

    fn run(code: &[u8], base: u64, fns: &[(u64, u64, u32, bool)]) -> Flow {
        let mut all = fns.to_vec();
        all.extend([
            (NEWOBJ, NEWOBJ + 16, 8, false),
            (WB, WB + 16, 0, false),
            (OTHER, OTHER + 16, 16, false),
            (BIG, BIG + 16, 0x60, false),
        ]);
        all.sort_unstable();
        let malloc = HashSet::new();
        let wb: HashSet<u64> = [WB].into_iter().collect();
        analyze(&Env {
            code,
            base,
            types: (0x50_0000, 0x50_1000),
            funcs: &all,
            newobject: Some(NEWOBJ),
            malloc: &malloc,
            wb: &wb,
        })
    }

    /// Emits instructions into an [`Asm`].
    type Emit = dyn Fn(&mut Asm);

    /// Code, functions (entry, end, args), the result function's entry, the
    /// caller's return address of interest.
    type Built = (Vec<u8>, Vec<(u64, u64, u32, bool)>, u64, u64);

    /// buildCycle's shape: `a` spilled to 0x58(SP), a second allocation, the
    /// write barrier check whose two paths both reload `a` into R8, `MOVQ R8,
    /// G(SB)`. `mid` goes between the spill and the check.
    fn spill(mid: &Emit) -> (Vec<u8>, usize, u64) {
        let base = 0x40_0000;
        let mut a = Asm {
            base,
            c: Vec::new(),
        };
        a.prologue(0x60);
        a.rip(&[0x48, 0x8d, 0x05], T).call(NEWOBJ); // LEAQ T, AX; CALL newobject
        a.raw(&[0x48, 0x89, 0x44, 0x24, 0x58]); // MOVQ AX, 0x58(SP)
        a.rip(&[0x48, 0x8d, 0x05], T).call(NEWOBJ);
        mid(&mut a);
        a.rip(&[0x83, 0x3d], 0x60_0100).raw(&[0]); // CMPL flag, $0
                                                   // JNE slow (skips MOVQ 0x58(SP), R8 (5) and JMP (2))
        a.raw(&[0x75, 7, 0x4c, 0x8b, 0x44, 0x24, 0x58, 0xeb, 13]);
        // slow: CALL wb; MOVQ 0x58(SP), R8; MOVQ R8, 0(R11)
        a.call(WB)
            .raw(&[0x4c, 0x8b, 0x44, 0x24, 0x58, 0x4d, 0x89, 0x03]);
        // L: MOVQ R8, 0(AX); MOVQ R8, G(SB)
        a.raw(&[0x4c, 0x89, 0x00]);
        let store = a.c.len();
        a.rip(&[0x4c, 0x89, 0x05], G);
        a.call(OTHER).epilogue(0x60);
        let end = a.pc();
        (a.c, store, end)
    }

    #[test]
    fn spilled_fresh_object_reloaded_and_stored_to_a_global() {
        let base = 0x40_0000;
        let (code, store, end) = spill(&|_| {});
        let f = run(&code, base, &[(base, end, 0, false)]);
        assert_eq!(f.stores, vec![(store, G, T)]);
        // The whole scan: G only ever receives a fresh T.
        let funcs: HashMap<&str, u64> = [
            ("runtime.newobject", NEWOBJ),
            ("runtime.gcWriteBarrier2", WB),
        ]
        .into_iter()
        .collect();
        let fns = [
            (base, end, 0, false),
            (NEWOBJ, NEWOBJ + 16, 8, false),
            (WB, WB + 16, 0, false),
        ];
        let all = super::super::scan_amd64(
            &code,
            base,
            (0x50_0000, 0x50_1000),
            &[(0x60_0000, 0x60_1000)],
            &funcs,
            &fns,
        );
        assert_eq!(all.pointees, vec![(G, T)]);
        // Without the data flow the store is an unknown write: G is not kept.
        let none = super::super::scan_amd64(
            &code,
            base,
            (0x50_0000, 0x50_1000),
            &[(0x60_0000, 0x60_1000)],
            &funcs,
            &[],
        );
        assert!(none.pointees.is_empty());
    }

    #[test]
    fn spill_slot_facts_need_every_write_to_agree() {
        let base = 0x40_0000;
        let cases: [(&str, &Emit); 9] = [
            // SP's value copied (ADDQ SP, DI; MOVQ SP, 8(AX); XCHGQ AX, BP).
            ("ADDQ SP, DI", &|a| {
                a.raw(&[0x48, 0x01, 0xe7]);
            }),
            ("MOVQ SP, 8(AX)", &|a| {
                a.raw(&[0x48, 0x89, 0x60, 0x08]);
            }),
            ("XCHGQ AX, BP", &|a| {
                a.raw(&[0x48, 0x95]);
            }),
            // Another value stored to the slot.
            ("MOVQ CX, 0x58(SP)", &|a| {
                a.raw(&[0x48, 0x89, 0x4c, 0x24, 0x58]);
            }),
            // An overlapping 16-byte store (MOVUPS X15, 0x50(SP)).
            ("MOVUPS X15, 0x50(SP)", &|a| {
                a.raw(&[0x44, 0x0f, 0x11, 0x7c, 0x24, 0x50]);
            }),
            // The frame's address taken below the slot.
            ("LEAQ 0x50(SP), DI", &|a| {
                a.raw(&[0x48, 0x8d, 0x7c, 0x24, 0x50]);
            }),
            // A call of a function whose argument area covers the slot.
            ("CALL big", &|a| {
                a.call(BIG);
            }),
            // A call of no known function.
            ("CALL unknown", &|a| {
                a.call(0x41_4000);
            }),
            // An indirect call.
            ("CALL (DX)", &|a| {
                a.raw(&[0xff, 0x12]);
            }),
        ];
        for (what, mid) in cases {
            let (code, _, end) = spill(mid);
            let f = run(&code, base, &[(base, end, 0, false)]);
            assert!(f.stores.is_empty(), "{what}: {:?}", f.stores);
        }
        // A call of a function with a small argument area keeps the slot.
        let (code, store, end) = spill(&|a| {
            a.call(OTHER);
        });
        let f = run(&code, base, &[(base, end, 0, false)]);
        assert_eq!(f.stores, vec![(store, G, T)]);
        // A register write between the reload and the store loses it.
        for xor in [true, false] {
            let mut a = Asm {
                base,
                c: Vec::new(),
            };
            a.prologue(0x60);
            a.rip(&[0x48, 0x8d, 0x05], T).call(NEWOBJ);
            a.raw(&[0x48, 0x89, 0x44, 0x24, 0x58, 0x4c, 0x8b, 0x44, 0x24, 0x58]);
            if xor {
                a.raw(&[0x45, 0x31, 0xc0]); // XORL R8, R8
            }
            a.rip(&[0x4c, 0x89, 0x05], G).epilogue(0x60);
            let end = a.pc();
            let f = run(&a.c, base, &[(base, end, 0, false)]);
            assert_eq!(f.stores.len(), usize::from(!xor), "XORL: {xor}");
        }
    }

    /// newStackHeld and chanReceiver: a function returning its fresh object from
    /// a spill slot; a caller keeping the result in a frame slot across calls.
    fn result_and_caller(alt_return: bool, callee_args_cover: bool) -> Built {
        let base = 0x40_0000u64;
        let mut a = Asm {
            base,
            c: Vec::new(),
        };
        let f = a.pc();
        a.prologue(0x50);
        a.rip(&[0x48, 0x8d, 0x05], T).call(NEWOBJ);
        a.raw(&[0x48, 0x89, 0x44, 0x24, 0x48]); // MOVQ AX, 0x48(SP)
        if alt_return {
            // TESTQ BX, BX; JNE +8: XORL AX, AX; ADDQ; POPQ BP; RET
            a.raw(&[0x48, 0x85, 0xdb, 0x75, 8, 0x31, 0xc0])
                .epilogue(0x50);
        }
        a.call(OTHER);
        a.raw(&[0x48, 0x8b, 0x44, 0x24, 0x48]); // MOVQ 0x48(SP), AX
        a.epilogue(0x50);
        a.raw(&[0xcc, 0xcc]);
        let fend = a.pc();
        let c = a.pc();
        a.prologue(0x40);
        a.call(f);
        a.raw(&[0x48, 0x89, 0x44, 0x24, 0x38]); // MOVQ AX, 0x38(SP)
        a.call(if callee_args_cover { BIG } else { OTHER });
        let ret = a.pc();
        a.epilogue(0x40);
        let cend = a.pc();
        (a.c, vec![(f, fend, 8, false), (c, cend, 0, false)], f, ret)
    }

    #[test]
    fn function_results_and_frame_slots() {
        let base = 0x40_0000;
        let (code, fns, f, ret) = result_and_caller(false, false);
        let fl = run(&code, base, &fns);
        assert_eq!(fl.results, vec![(f, T)]);
        // The caller's slot 0x38 holds the result while it is in its second call
        // (and the callee's slot 0x48 while the callee is in OTHER).
        assert!(fl.frames.contains(&(ret, 0x38, T)), "{:?}", fl.frames);
        // A return path with something else: no result, no caller slot.
        let (code, fns, _, ret) = result_and_caller(true, false);
        let fl = run(&code, base, &fns);
        assert!(fl.results.is_empty());
        assert!(!fl.frames.iter().any(|x| x.0 == ret), "{:?}", fl.frames);
        // (The function itself was analysed: its slot 0x48 is known in OTHER.)
        assert!(fl.frames.iter().any(|x| x.1 == 0x48), "{:?}", fl.frames);
        // A function with a deferreturn is not analysed (a recovered panic resumes
        // there): no result.
        let (code, mut fns, _, ret) = result_and_caller(false, false);
        fns[0].3 = true;
        let fl = run(&code, base, &fns);
        assert!(fl.results.is_empty());
        assert!(!fl.frames.iter().any(|x| x.0 == ret), "{:?}", fl.frames);
        // A callee whose argument area covers the slot.
        let (code, fns, _, ret) = result_and_caller(false, true);
        let fl = run(&code, base, &fns);
        assert!(!fl.frames.iter().any(|x| x.0 == ret), "{:?}", fl.frames);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut code = vec![0u8; 1 << 14];
        for b in &mut code {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        for i in 0..code.len() {
            let _ = decode(&code[i..], 0x40_0000 + i as u64);
        }
        // Functions of random bytes, some starting with an allocation.
        let base = 0x40_0000u64;
        let fns: Vec<(u64, u64, u32, bool)> = (0..64)
            .map(|k| {
                (
                    base + k * 256,
                    base + k * 256 + 256,
                    (k as u32) * 8,
                    k % 7 == 0,
                )
            })
            .collect();
        for k in 0..64usize {
            let mut a = Asm {
                base: base + k as u64 * 256,
                c: Vec::new(),
            };
            a.prologue(0x40).rip(&[0x48, 0x8d, 0x05], T).call(NEWOBJ);
            code[k * 256..k * 256 + a.c.len()].copy_from_slice(&a.c);
        }
        let _ = run(&code, base, &fns);
    }

    #[test]
    fn decodes_lengths() {
        // (bytes, length)
        let cases: &[(&[u8], usize)] = &[
            (&[0x49, 0x3b, 0x66, 0x10], 4),                // CMPQ SP, 16(R14)
            (&[0x0f, 0x86, 0, 0, 0, 0], 6),                // JBE rel32
            (&[0x48, 0xc7, 0x40, 0x08, 1, 0, 0, 0], 8),    // MOVQ $1, 8(AX)
            (&[0x41, 0xb9, 0x10, 0, 0, 0], 6),             // MOVL $16, R9
            (&[0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8], 10),   // MOVQ $imm64, AX
            (&[0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0], 9), // NOPW
            (&[0x44, 0x0f, 0x11, 0x7c, 0x24, 0x50], 6),    // MOVUPS X15, 0x50(SP)
            (&[0x48, 0x8d, 0x8c, 0x24, 0, 1, 0, 0], 8),    // LEAQ 0x100(SP), CX
            (&[0x66, 0x81, 0x38, 0x34, 0x12], 5),          // CMPW $0x1234, (AX)
            (&[0xf3, 0x48, 0x0f, 0xb8, 0xc1], 5),          // POPCNTQ CX, AX
            (&[0x66, 0x0f, 0x3a, 0x0f, 0xc1, 8], 6),       // PALIGNR $8, X1, X0
            (&[0xc5, 0xfe, 0x6f, 0x06], 4),                // VMOVDQU (SI), Y0
            (&[0xc4, 0xe3, 0x7d, 0x39, 0xc1, 1], 6),       // VEXTRACTI128
            (&[0x48, 0x8b, 0x04, 0xc8], 4),                // MOVQ (AX)(CX*8), AX
            (&[0x8b, 0x04, 0x25, 0, 0, 0, 0], 7),          // MOVL 0, AX (abs)
        ];
        for &(b, n) in cases {
            assert_eq!(decode(b, 0x1000).map(|d| d.0), Some(n), "{b:x?}");
        }
        // Indirect jumps give the function up.
        assert_eq!(decode(&[0xff, 0xe0], 0), None);
    }
}
