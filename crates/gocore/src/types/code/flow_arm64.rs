//! Data flow inside arm64 functions: the counterpart of `code/flow.rs` (amd64),
//! giving the same facts (see the module docs of `types/code.rs`).
//!
//! A function is decoded word by word from its entry to its end; every encoding
//! class of the A64 instruction set is classified by what it may write (a general
//! register, the stack pointer, frame memory addressed off `RSP` or `R29`) and an
//! unallocated or unknown encoding (SVE, SME, tagged `ADDG`), an indirect `BR`
//! (jump table) or a text not a whole number of words gives the function up. Its
//! blocks are then run to a fixed point over a small lattice: each general
//! register and each 8-byte frame slot `d(RSP)` holds a *link address* (`ADRP`,
//! `ADD $lo` of one: a type descriptor when inside the type section), a *fresh
//! `*T`* (what `BL runtime.newobject` returns in `R0` when `R0` held `T`; Go 1.27's
//! `runtime.mallocgcSmallScan*` with `T` in `R1`; a call of a function whose every
//! return gives a fresh `*T`), or nothing known. Only exact copies keep a value:
//! `MOVD R1, R2` (`ORR Xd, ZR, Xm`), `MOVD R, d(RSP)` (`STR Xt, [RSP, #d]`) and its
//! reload; every other write of a register or a slot forgets it (stores off `RSP`
//! forget the bytes they may touch, all slots when the offset is a register;
//! stores off `R29` forget every slot). A call forgets every register (but for
//! `runtime.gcWriteBarrierN`, which returns in `R25` and keeps every register but
//! `R27`; `R16`, `R17` and `R30` are forgotten too) and the slots of the callee's
//! argument area (`8(RSP)` up to `8 + _func.args`), every slot for a callee that
//! is not a known function entry.
//!
//! Frame slots are read only between the prologue (`MOVD.W R30, -F(RSP)`, `SUB $F,
//! RSP, RSP`, or for large frames `SUB $F, RSP, R20; STP (R29, R30), -8(R20);
//! MOVD R20, RSP`) and the epilogue (`ADD $F, RSP, RSP` or `MOVD.P F(RSP), R30`);
//! any other write of `RSP` forgets them. They are read only below every address
//! the function takes of its frame (`ADD $x, RSP, Rd`: slots from `x - 7` up are
//! never tracked); `RSP` used as a value otherwise (but the stack check's `SUB $x,
//! RSP, R17` and `CMP`, the prologue's `SUB $8, RSP, R29`) or `R29` read as a value
//! or stored (but its save at `-8(RSP)` and the large prologue's `STP`) forgets
//! them all. Functions with a `deferreturn` are not analysed.
//!
//! Facts read at the fixed point: stores `ADRP; MOVD R, G(SB)` (any store `STR
//! Xt, [Rn, #off]` whose base holds a link address) of a fresh `*T`, the slots
//! holding a fresh `*T` at each call's return address, and functions whose every
//! `RET` returns a fresh `*T` in `R0` (a branch out of the function returns
//! something else).

use std::collections::HashMap;

use super::flow::{call_site, rounds, Env, Flow, MAX_INSNS, MAX_PASSES};

/// The frame pointer.
const FP: u8 = 29;
/// The link register.
const LR: u8 = 30;
/// Every general register.
const ALL: u32 = 0x7fff_ffff;

/// What a register or a slot holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Val {
    Unknown,
    /// A link address (`ADRP`, `ADD $lo`).
    Addr(u64),
    /// A fresh object of that type, pointed to at its start.
    Fresh(u64),
    /// `RSP - f` computed before the frame is set up (the large prologue).
    Below(i64),
}

/// Frame memory an instruction may write.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Write {
    None,
    /// Bytes `[lo, hi)` off `RSP`.
    Sp(i64, i64),
    /// Anywhere in the frame.
    Frame,
}

/// A decoded instruction's effect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    /// `BL target` or `BLR` (`None`).
    Call(Option<u64>),
    /// `B target`.
    Jmp(u64),
    /// `B.cond`, `CBZ`, `CBNZ`, `TBZ`, `TBNZ`.
    Jcc(u64),
    /// `RET`.
    Ret,
    /// `UDF`, `BRK`, `HLT`: no successor.
    Stop,
    /// `MOVD src, dst` (64-bit register copy).
    Mov { dst: u8, src: u8 },
    /// `MOVD d(RSP), dst` (64-bit integer load).
    Load { dst: u8, d: i64 },
    /// `MOVD src, d(RSP)` (64-bit integer store).
    Store { src: u8, d: i64 },
    /// `MOVD src, off(Rn)` (64-bit integer store, `Rn` not `RSP`).
    StoreAt {
        src: u8,
        base: u8,
        off: u64,
        at_fp: bool,
    },
    /// `ADRP page, dst`.
    Adrp { dst: u8, page: u64 },
    /// `ADD $imm, src, dst` (64-bit; neither is `RSP`).
    AddImm { dst: u8, src: u8, imm: u64 },
    /// `ADD $x, RSP, dst`: a frame address taken.
    Lea { dst: u8, x: i64 },
    /// `SUB $f, RSP, dst` (`dst` not `RSP`).
    Below { dst: u8, f: i64 },
    /// `MOVD src, RSP` (`ADD $0, src, RSP`).
    SetSp { src: u8 },
    /// The prologue's `RSP -= f` (`MOVD.W R30, -f(RSP)`, `SUB $f, RSP, RSP`),
    /// writing registers `regs`.
    SubSp(i64),
    /// The epilogue's `RSP += f` (`ADD $f, RSP, RSP`, `MOVD.P f(RSP), R30`),
    /// writing registers `regs`.
    AddSp(i64, u32),
    /// Anything else: registers it may write, frame memory it may write, `RSP`
    /// written otherwise, a frame address escaping (`RSP` or `R29` used as a
    /// value).
    Other {
        regs: u32,
        write: Write,
        sp: bool,
        esc: bool,
    },
}

fn other(regs: u32) -> Op {
    Op::Other {
        regs,
        write: Write::None,
        sp: false,
        esc: false,
    }
}

/// A register bit, none for `ZR` (31).
fn bit(r: u32) -> u32 {
    if r < 31 {
        1 << r
    } else {
        0
    }
}

/// Sign-extends the low `bits` of `v`.
fn sext(v: u32, bits: u32) -> i64 {
    let s = 64 - bits;
    (i64::from(v) << s) >> s
}

/// Decodes the instruction word `w` at link address `pc`. `None`: not known.
fn decode(w: u32, pc: u64) -> Option<Op> {
    let rd = w & 31;
    let rn = (w >> 5) & 31;
    let rt2 = (w >> 10) & 31;
    let rm = (w >> 16) & 31;
    let rel = |imm: i64| pc.wrapping_add((imm * 4) as u64);
    // Reserved (UDF, Go's padding).
    if w >> 16 == 0 {
        return Some(Op::Stop);
    }
    // Branches, exceptions, system.
    if (w >> 26) & 0x1f == 0b00101 {
        return Some(if w >> 31 == 1 {
            Op::Call(Some(rel(sext(w & 0x3ff_ffff, 26))))
        } else {
            Op::Jmp(rel(sext(w & 0x3ff_ffff, 26)))
        });
    }
    if w & 0xff00_0010 == 0x5400_0000 {
        return Some(Op::Jcc(rel(sext((w >> 5) & 0x7_ffff, 19))));
    }
    if w & 0x7e00_0000 == 0x3400_0000 {
        return Some(Op::Jcc(rel(sext((w >> 5) & 0x7_ffff, 19))));
    }
    if w & 0x7e00_0000 == 0x3600_0000 {
        return Some(Op::Jcc(rel(sext((w >> 5) & 0x3fff, 14))));
    }
    match w & 0xffff_fc1f {
        0xd61f_0000 => return None, // BR: a jump table or a tail call
        0xd63f_0000 => return Some(Op::Call(None)),
        0xd65f_0000 => return Some(Op::Ret),
        _ => {}
    }
    if w & 0xff00_0000 == 0xd400_0000 {
        // SVC and friends: anything; BRK, HLT: no successor.
        return Some(match (w >> 21) & 7 {
            0 => Op::Other {
                regs: ALL,
                write: Write::None,
                sp: false,
                esc: false,
            },
            _ => Op::Stop,
        });
    }
    if w & 0xffc0_0000 == 0xd500_0000 {
        // System: hints, barriers, MSR (nothing), MRS and SYSL (write Rt).
        let l = (w >> 21) & 1 == 1;
        return Some(other(if l { bit(rd) } else { 0 }));
    }
    if (w >> 26) & 7 == 0b101 {
        return None; // the rest of the branch class
    }
    // Loads and stores.
    if w & 0x0a00_0000 == 0x0800_0000 {
        return ldst(w);
    }
    // Data processing, immediate.
    if w & 0x1c00_0000 == 0x1000_0000 {
        let sf = w >> 31 == 1;
        match (w >> 23) & 7 {
            0 | 1 => {
                if w >> 31 == 1 {
                    let imm = ((w >> 5) & 0x7_ffff) << 2 | (w >> 29) & 3;
                    let page = (pc & !0xfff).wrapping_add((sext(imm, 21) << 12) as u64);
                    return Some(Op::Adrp {
                        dst: rd as u8,
                        page,
                    });
                }
                return Some(other(bit(rd)));
            }
            2 => {
                // ADD/SUB (immediate).
                let sub = (w >> 30) & 1 == 1;
                let s = (w >> 29) & 1 == 1;
                let imm = i64::from((w >> 10) & 0xfff) << if w & (1 << 22) != 0 { 12 } else { 0 };
                if s {
                    // ADDS/SUBS: Rd 31 is ZR (CMP/CMN); Rn 31 is RSP.
                    return Some(Op::Other {
                        regs: bit(rd),
                        write: Write::None,
                        sp: false,
                        esc: (rn == 31 && rd != 31) || rn == u32::from(FP),
                    });
                }
                return Some(match (rd == 31, rn == 31) {
                    (true, true) if sf && sub => Op::SubSp(imm),
                    (true, true) if sf => Op::AddSp(imm, 0),
                    (true, false) if sf && !sub && imm == 0 => Op::SetSp { src: rn as u8 },
                    (true, _) => Op::Other {
                        regs: 0,
                        write: Write::None,
                        sp: true,
                        esc: rn == u32::from(FP),
                    },
                    (false, true) if sf && sub => Op::Below {
                        dst: rd as u8,
                        f: imm,
                    },
                    (false, true) if sf => Op::Lea {
                        dst: rd as u8,
                        x: imm,
                    },
                    (false, true) => Op::Other {
                        regs: bit(rd),
                        write: Write::None,
                        sp: false,
                        esc: true,
                    },
                    (false, false) if sf && !sub => Op::AddImm {
                        dst: rd as u8,
                        src: rn as u8,
                        imm: imm as u64,
                    },
                    (false, false) => Op::Other {
                        regs: bit(rd),
                        write: Write::None,
                        sp: false,
                        esc: rn == u32::from(FP),
                    },
                });
            }
            3 => return None, // ADDG/SUBG
            4 => {
                // Logical (immediate): Rd 31 is RSP but for ANDS.
                let ands = (w >> 29) & 3 == 3;
                return Some(Op::Other {
                    regs: bit(rd),
                    write: Write::None,
                    sp: rd == 31 && !ands,
                    esc: rn == u32::from(FP),
                });
            }
            5 => return Some(other(bit(rd))), // move wide
            _ => {
                // Bitfield, extract.
                return Some(Op::Other {
                    regs: bit(rd),
                    write: Write::None,
                    sp: false,
                    esc: rn == u32::from(FP) || ((w >> 23) & 7 == 7 && rm == u32::from(FP)),
                });
            }
        }
    }
    // Data processing, register.
    if w & 0x0e00_0000 == 0x0a00_0000 {
        // MOVD Xm, Xd (ORR Xd, ZR, Xm).
        if w & 0xffe0_ffe0 == 0xaa00_03e0 {
            if rd == 31 {
                return Some(other(0));
            }
            return Some(Op::Mov {
                dst: rd as u8,
                src: rm as u8,
            });
        }
        // ADD/SUB (extended register): Rn 31 is RSP, and Rd 31 too without S.
        if w & 0x1f20_0000 == 0x0b20_0000 {
            let s = (w >> 29) & 1 == 1;
            return Some(Op::Other {
                regs: bit(rd),
                write: Write::None,
                sp: rd == 31 && !s,
                esc: (rn == 31 && !(s && rd == 31)) || rn == u32::from(FP) || rm == u32::from(FP),
            });
        }
        let three = (w >> 24) & 0x1f == 0x1b;
        return Some(Op::Other {
            regs: bit(rd),
            write: Write::None,
            sp: false,
            esc: rn == u32::from(FP) || rm == u32::from(FP) || (three && rt2 == u32::from(FP)),
        });
    }
    // SIMD and floating point: may write a general register Rd (FMOV, UMOV,
    // FCVTZS); reads one as Rn in the conversions from integer (FMOV, SCVTF),
    // DUP and INS (general).
    if w & 0x0e00_0000 == 0x0e00_0000 {
        let gpr_src = w & 0x5f20_fc00 == 0x1e20_0000
            || w & 0xbfe0_fc00 == 0x0e00_0c00
            || w & 0xffe0_fc00 == 0x4e00_1c00;
        return Some(Op::Other {
            regs: bit(rd),
            write: Write::None,
            sp: false,
            esc: gpr_src && rn == u32::from(FP),
        });
    }
    None
}

/// Loads and stores (bits 27 and 25 of `w` are 1 and 0).
fn ldst(w: u32) -> Option<Op> {
    let rt = w & 31;
    let rn = (w >> 5) & 31;
    let rt2 = (w >> 10) & 31;
    let rs = (w >> 16) & 31;
    let vector = (w >> 26) & 1 == 1;
    let gpr = |r: u32| if vector { 0 } else { bit(r) };
    let fp = u32::from(FP);
    let on_sp = rn == 31;
    // Exclusive and ordered (LDXR, STLR, CAS, …): Rt, Rt2, Rs may be written.
    if w & 0x3f00_0000 == 0x0800_0000 {
        return Some(Op::Other {
            regs: bit(rt) | bit(rt2) | bit(rs),
            write: if on_sp || rn == fp {
                Write::Frame
            } else {
                Write::None
            },
            sp: false,
            esc: rt == fp || rt2 == fp || rs == fp,
        });
    }
    // Load literal.
    if w & 0x3b00_0000 == 0x1800_0000 {
        return Some(other(gpr(rt)));
    }
    // SIMD structure loads/stores (LD1, ST1, …).
    if w & 0xbe00_0000 == 0x0c00_0000 {
        let load = (w >> 22) & 1 == 1;
        let wb = (w >> 23) & 1 == 1;
        return Some(Op::Other {
            regs: if wb { bit(rn) } else { 0 },
            write: if !load && (on_sp || rn == fp) {
                Write::Frame
            } else {
                Write::None
            },
            sp: wb && on_sp,
            esc: false,
        });
    }
    // Load/store pair.
    if w & 0x3a00_0000 == 0x2800_0000 {
        let opc = w >> 30;
        let elem: i64 = match (vector, opc) {
            (false, 0 | 1) | (true, 0) => 4,
            (false, 2) | (true, 1) => 8,
            (true, 2) => 16,
            _ => return None,
        };
        let load = (w >> 22) & 1 == 1;
        let index = (w >> 23) & 3;
        let imm = sext((w >> 15) & 0x7f, 7) * elem;
        let wb = index == 1 || index == 3;
        let off = if index == 1 { 0 } else { imm };
        let mut regs = if load { gpr(rt) | gpr(rt2) } else { 0 };
        if wb {
            regs |= bit(rn);
        }
        // The frame record's save (STP (R29, R30), -8(R20)).
        let save = !load && !vector && rt == fp && rt2 == u32::from(LR) && off == -8;
        let esc = !load && !vector && (rt == fp || rt2 == fp) && !save;
        if on_sp && wb {
            // STP.W (R29, R30), -F(RSP) / LDP.P F(RSP), (R29, R30).
            if !vector && elem == 8 && index == 3 && !load && imm < 0 && rt == fp && rt2 == 30 {
                return Some(Op::SubSp(-imm));
            }
            if !vector && elem == 8 && index == 1 && load && imm > 0 {
                return Some(Op::AddSp(imm, regs & !bit(31)));
            }
        }
        let write = if load {
            Write::None
        } else if on_sp {
            Write::Sp(off, off + 2 * elem)
        } else if rn == fp {
            Write::Frame
        } else {
            Write::None
        };
        return Some(Op::Other {
            regs,
            write,
            sp: on_sp && wb,
            esc,
        });
    }
    // Load/store register: unsigned offset.
    if w & 0x3b00_0000 == 0x3900_0000 {
        let opc = (w >> 22) & 3;
        let size = w >> 30;
        let scale = if vector && opc >= 2 { 4 } else { size };
        if vector && scale > 4 {
            return None;
        }
        if !vector && size == 3 && opc == 2 {
            return Some(other(0)); // PRFM
        }
        let store = if vector { opc & 1 == 0 } else { opc == 0 };
        let off = i64::from((w >> 10) & 0xfff) << scale;
        let width = 1i64 << scale;
        let x64 = !vector && size == 3;
        if store {
            if x64 && on_sp {
                return Some(Op::Store {
                    src: rt as u8,
                    d: off,
                });
            }
            if x64 {
                return Some(Op::StoreAt {
                    src: rt as u8,
                    base: rn as u8,
                    off: off as u64,
                    at_fp: rn == fp,
                });
            }
            return Some(Op::Other {
                regs: 0,
                write: if on_sp {
                    Write::Sp(off, off + width)
                } else if rn == fp {
                    Write::Frame
                } else {
                    Write::None
                },
                sp: false,
                esc: !vector && rt == fp,
            });
        }
        if x64 && opc == 1 && on_sp && rt != 31 {
            return Some(Op::Load {
                dst: rt as u8,
                d: off,
            });
        }
        return Some(other(gpr(rt)));
    }
    // Load/store register: unscaled, pre/post-indexed, register offset, atomic.
    if w & 0x3b00_0000 == 0x3800_0000 {
        let opc = (w >> 22) & 3;
        let size = w >> 30;
        let store = if vector { opc & 1 == 0 } else { opc == 0 };
        let prfm = !vector && size == 3 && opc == 2;
        let imm = sext((w >> 12) & 0x1ff, 9);
        let width = if vector && opc >= 2 { 16 } else { 1i64 << size };
        if (w >> 21) & 1 == 1 {
            if (w >> 10) & 3 == 0 {
                // Atomic memory operations: read-modify-write, Rt and Rs.
                return Some(Op::Other {
                    regs: bit(rt) | bit(rs),
                    write: if on_sp || rn == fp {
                        Write::Frame
                    } else {
                        Write::None
                    },
                    sp: false,
                    esc: rs == fp,
                });
            }
            if (w >> 10) & 3 != 2 {
                return None; // PAC loads
            }
            // Register offset.
            return Some(Op::Other {
                regs: if store || prfm { 0 } else { gpr(rt) },
                write: if store && (on_sp || rn == fp) {
                    Write::Frame
                } else {
                    Write::None
                },
                sp: false,
                esc: store && !vector && rt == fp,
            });
        }
        let index = (w >> 10) & 3;
        let wb = index == 1 || index == 3;
        let mut regs = if store || prfm { 0 } else { gpr(rt) };
        if wb {
            regs |= bit(rn);
        }
        if on_sp && wb && !vector && size == 3 && rt == u32::from(LR) {
            // MOVD.W R30, -F(RSP) / MOVD.P F(RSP), R30.
            if index == 3 && store && imm < 0 {
                return Some(Op::SubSp(-imm));
            }
            if index == 1 && opc == 1 && imm > 0 {
                return Some(Op::AddSp(imm, bit(rt)));
            }
        }
        let off = if index == 1 { 0 } else { imm };
        // The frame pointer's save at -8(RSP).
        let save = store && on_sp && !wb && off == -8 && size == 3;
        return Some(Op::Other {
            regs,
            write: if !store {
                Write::None
            } else if on_sp {
                Write::Sp(off, off + width)
            } else if rn == fp {
                Write::Frame
            } else {
                Write::None
            },
            sp: on_sp && wb,
            esc: store && !vector && rt == fp && !save,
        });
    }
    None
}

#[derive(Clone, Copy, Debug)]
struct Insn {
    /// Offset in the text.
    at: usize,
    op: Op,
}

/// One function's abstract state.
#[derive(Clone, PartialEq, Eq, Debug)]
struct State {
    regs: [Val; 32],
    /// Slots holding a known value (sorted by offset); only in the body.
    slots: Vec<(i64, Val)>,
    /// `Some(F)` between the prologue and the epilogue; `None` before.
    body: Option<i64>,
    /// `RSP` is something else.
    lost: bool,
}

impl State {
    fn entry() -> State {
        State {
            regs: [Val::Unknown; 32],
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
            changed |= !self.slots.is_empty();
            lose(self);
        }
        changed
    }

    fn forget_slots(&mut self, lo: i64, hi: i64) {
        self.slots.retain(|&(d, _)| d + 8 <= lo || d >= hi);
    }

    fn forget_regs(&mut self, regs: u32) {
        for r in 0..31 {
            if regs & (1 << r) != 0 {
                self.regs[r] = Val::Unknown;
            }
        }
    }
}

/// `RSP` no longer known: no slot is.
fn lose(s: &mut State) {
    s.body = None;
    s.lost = true;
    s.slots.clear();
}

/// Runs the arm64 analysis on the functions that call an allocator or a function
/// returning a fresh object (found round by round, as on amd64: [`rounds`]).
pub(super) fn analyze(env: &Env<'_>) -> Flow {
    rounds(env, &call_sites(env), function)
}

/// The word at byte offset `i` of the text.
fn word(code: &[u8], i: usize) -> Option<u32> {
    let b = code.get(i..i.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Every `BL` of the text to a function entry: (index in `env.funcs` of the
/// function holding it, target).
fn call_sites(env: &Env<'_>) -> Vec<(usize, u64)> {
    (0..env.code.len())
        .step_by(4)
        .filter_map(|i| {
            let w = word(env.code, i)?;
            if w & 0xfc00_0000 != 0x9400_0000 {
                return None;
            }
            let pc = env.base.wrapping_add(i as u64);
            let t = pc.wrapping_add((sext(w & 0x3ff_ffff, 26) * 4) as u64);
            call_site(env.funcs, pc, t)
        })
        .collect()
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
    if (hi - lo) % 4 != 0 || (hi - lo) / 4 > MAX_INSNS {
        return None;
    }
    let at = |i: usize| env.base.wrapping_add(i as u64);
    let mut insns = Vec::with_capacity((hi - lo) / 4);
    for i in (lo..hi).step_by(4) {
        let op = decode(word(env.code, i)?, at(i))?;
        insns.push(Insn { at: i, op });
    }
    let (flo, fhi) = (at(lo), at(hi));
    // Branch targets: inside the function, on a word.
    let target = |t: u64| -> Result<Option<usize>, ()> {
        if t < flo || t >= fhi {
            return Ok(None);
        }
        let d = t - flo;
        if d % 4 != 0 {
            return Err(());
        }
        Ok(Some((d / 4) as usize))
    };
    // Addresses taken of the frame: slots from the lowest up are never tracked.
    let mut floor = i64::MAX;
    for (k, n) in insns.iter().enumerate() {
        match n.op {
            Op::Lea { x, .. } => floor = floor.min(x),
            Op::Below { dst, f } => {
                // The stack check (SUB $x, RSP, R17; CMP R16, R17), the frame
                // pointer (SUB $8, RSP, R29), the large prologue (SUB $F, RSP,
                // R20; STP (R29, R30), -8(R20); MOVD R20, RSP).
                let ok = match dst {
                    17 => k < 4,
                    FP => f == 8,
                    20 => {
                        insns.get(k + 2).map(|m| m.op) == Some(Op::SetSp { src: 20 })
                            && word(env.code, n.at + 4) == Some(0xa93f_fa9d)
                    }
                    _ => false,
                };
                if !ok {
                    floor = i64::MIN;
                }
            }
            Op::Mov { src: FP, .. }
            | Op::Store { src: FP, .. }
            | Op::StoreAt { src: FP, .. }
            | Op::AddImm { src: FP, .. }
            | Op::Other { esc: true, .. } => floor = i64::MIN,
            Op::Jmp(t) | Op::Jcc(t) => {
                target(t).ok()?;
            }
            _ => {}
        }
    }
    // Blocks.
    let mut leader = vec![false; insns.len()];
    if insns.is_empty() {
        return None;
    }
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
    let ctx = Ctx {
        env,
        results,
        floor,
    };
    let mut states: Vec<Option<State>> = vec![None; insns.len()];
    states[0] = Some(State::entry());
    let mut work = vec![0usize];
    let mut passes = 0;
    while let Some(b) = work.pop() {
        passes += 1;
        if passes > MAX_PASSES * insns.len().max(1) / 4 + 64 {
            return None;
        }
        let mut s = states[b].clone()?;
        let mut k = b;
        loop {
            let n = insns[k];
            ctx.step(&mut s, &n, None);
            let mut next = Vec::new();
            match n.op {
                Op::Jmp(t) => next.extend(target(t).ok().flatten()),
                Op::Jcc(t) => {
                    next.extend(target(t).ok().flatten());
                    next.push(k + 1);
                }
                Op::Ret | Op::Stop => {}
                _ => next.push(k + 1),
            }
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
            Op::Ret => agree(s.regs[0]),
            // Falling off the end or branching out returns something else.
            Op::Jmp(t) | Op::Jcc(t) if target(t).ok().flatten().is_none() => agree(Val::Unknown),
            Op::StoreAt { src, base, off, .. } => {
                if let (Val::Fresh(t), Val::Addr(a)) =
                    (s.regs[usize::from(src)], s.regs[usize::from(base)])
                {
                    out.stores.push((n.at, a.wrapping_add(off), t));
                }
            }
            _ => {}
        }
        if k + 1 == insns.len() && !matches!(n.op, Op::Ret | Op::Stop | Op::Jmp(_)) {
            agree(Val::Unknown);
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
    /// Applies `n` to `s`. With `out`, records the slots holding a fresh object
    /// after a call.
    fn step(&self, s: &mut State, n: &Insn, out: Option<&mut Flow>) {
        let env = self.env;
        let tracked = |d: i64| d >= 0 && d.checked_add(8).is_some_and(|e| e <= self.floor);
        let reg = |s: &State, r: u8| -> Val {
            if r < 31 {
                s.regs[usize::from(r)]
            } else {
                Val::Unknown
            }
        };
        let set = |s: &mut State, r: u8, v: Val| {
            if r < 31 {
                s.regs[usize::from(r)] = v;
            }
        };
        match n.op {
            Op::Call(t) => {
                let before = s.regs;
                if t.is_some_and(|t| env.wb.contains(&t)) {
                    s.forget_regs(1 << 16 | 1 << 17 | 1 << 25 | 1 << 27 | 1 << LR);
                } else {
                    s.regs = [Val::Unknown; 32];
                    let desc = |v: Val| match v {
                        Val::Addr(a) if a >= env.types.0 && a < env.types.1 => Some(a),
                        _ => None,
                    };
                    let fresh = match t {
                        Some(t) if Some(t) == env.newobject => desc(before[0]),
                        Some(t) if env.malloc.contains(&t) => desc(before[1]),
                        Some(t) => self.results.get(&t).copied(),
                        None => None,
                    };
                    if let Some(ty) = fresh {
                        s.regs[0] = Val::Fresh(ty);
                    }
                    let callee = t.and_then(|t| {
                        let k = env.funcs.partition_point(|f| f.0 <= t);
                        k.checked_sub(1).map(|k| env.funcs[k]).filter(|f| f.0 == t)
                    });
                    // The callee's argument area: 8(RSP) up.
                    match callee {
                        Some((_, _, args, _)) => {
                            let a = i64::from(args);
                            s.forget_slots(i64::MIN, 8 + ((a + 7) & !7));
                        }
                        None => s.slots.clear(),
                    }
                }
                if let Some(out) = out {
                    let ret = env.base.wrapping_add(n.at as u64 + 4);
                    for &(d, v) in &s.slots {
                        if let Val::Fresh(ty) = v {
                            out.frames.push((ret, d, ty));
                        }
                    }
                }
            }
            Op::Jmp(_) | Op::Jcc(_) | Op::Ret | Op::Stop => {}
            Op::Mov { dst, src } => {
                let v = reg(s, src);
                set(s, dst, v);
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
                set(s, dst, v);
            }
            Op::Store { src, d } => {
                if s.body.is_some() {
                    s.forget_slots(d, d + 8);
                    let v = reg(s, src);
                    if tracked(d) && v != Val::Unknown && !matches!(v, Val::Below(_)) {
                        let k = s.slots.partition_point(|x| x.0 < d);
                        s.slots.insert(k, (d, v));
                    }
                }
            }
            Op::StoreAt { at_fp, .. } => {
                if at_fp {
                    s.slots.clear();
                }
            }
            Op::Adrp { dst, page } => set(s, dst, Val::Addr(page)),
            Op::AddImm { dst, src, imm } => {
                let v = match reg(s, src) {
                    Val::Addr(a) => Val::Addr(a.wrapping_add(imm)),
                    _ => Val::Unknown,
                };
                set(s, dst, v);
            }
            Op::Lea { dst, .. } => set(s, dst, Val::Unknown),
            Op::Below { dst, f } => {
                let v = if s.body.is_none() && !s.lost {
                    Val::Below(f)
                } else {
                    Val::Unknown
                };
                set(s, dst, v);
            }
            Op::SetSp { src } => match reg(s, src) {
                Val::Below(f) if s.body.is_none() && !s.lost && f > 0 => {
                    s.body = Some(f);
                    s.slots.clear();
                }
                _ => lose(s),
            },
            Op::SubSp(f) => {
                if s.body.is_none() && !s.lost && f > 0 {
                    s.body = Some(f);
                    s.slots.clear();
                } else {
                    lose(s);
                }
            }
            Op::AddSp(f, regs) => {
                s.forget_regs(regs);
                if s.body == Some(f) {
                    s.body = None;
                    s.lost = true;
                    s.slots.clear();
                } else {
                    lose(s);
                }
            }
            Op::Other {
                regs, write, sp, ..
            } => {
                s.forget_regs(regs);
                if sp {
                    lose(s);
                }
                match write {
                    Write::None => {}
                    Write::Sp(lo, hi) => s.forget_slots(lo, hi),
                    Write::Frame => s.slots.clear(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const BASE: u64 = 0x40_0000;
    const T: u64 = 0x50_0000;
    const G: u64 = 0x60_0200;
    const FLAG: u64 = 0x60_0100;
    const NEWOBJ: u64 = 0x41_0000;
    const WB: u64 = 0x41_1000;
    const OTHER: u64 = 0x41_2000;
    const BIG: u64 = 0x41_3000;

    /// A tiny assembler: words at link address `base + 4 * len`.
    struct Asm {
        base: u64,
        c: Vec<u32>,
    }

    impl Asm {
        fn new(base: u64) -> Asm {
            Asm {
                base,
                c: Vec::new(),
            }
        }
        fn pc(&self) -> u64 {
            self.base + 4 * self.c.len() as u64
        }
        fn w(&mut self, w: &[u32]) -> &mut Self {
            self.c.extend_from_slice(w);
            self
        }
        fn adrp(&mut self, d: u32, t: u64) -> &mut Self {
            let imm = ((t & !0xfff) as i64 - (self.pc() & !0xfff) as i64) >> 12;
            let imm = imm as u32 & 0x1f_ffff;
            self.w(&[0x9000_0000 | (imm & 3) << 29 | (imm >> 2) << 5 | d])
        }
        /// `ADRP+ADD t, Rd`.
        fn addr(&mut self, d: u32, t: u64) -> &mut Self {
            self.adrp(d, t)
                .w(&[0x9100_0000 | ((t & 0xfff) as u32) << 10 | d << 5 | d])
        }
        fn bl(&mut self, t: u64) -> &mut Self {
            let d = ((t as i64 - self.pc() as i64) / 4) as u32 & 0x3ff_ffff;
            self.w(&[0x9400_0000 | d])
        }
        /// `MOVD.W R30, -f(RSP); MOVD R29, -8(RSP); SUB $8, RSP, R29`.
        fn prologue(&mut self, f: u32) -> &mut Self {
            let imm = (-(f as i32)) as u32 & 0x1ff;
            self.w(&[0xf800_0c00 | imm << 12 | 0x3fe, 0xf81f_83fd, 0xd100_23fd])
        }
        /// `LDP -8(RSP), (R29, R30); ADD $f, RSP, RSP; RET`.
        fn epilogue(&mut self, f: u32) -> &mut Self {
            self.w(&[0xa97f_fbfd, 0x9100_03ff | f << 10, 0xd65f_03c0])
        }
        fn bytes(&self) -> Vec<u8> {
            self.c.iter().flat_map(|w| w.to_le_bytes()).collect()
        }
    }

    /// `STR Xt, [Xn, #off]`.
    fn str_x(t: u32, n: u32, off: u32) -> u32 {
        0xf900_0000 | (off / 8) << 10 | n << 5 | t
    }
    /// `LDR Xt, [Xn, #off]`.
    fn ldr_x(t: u32, n: u32, off: u32) -> u32 {
        0xf940_0000 | (off / 8) << 10 | n << 5 | t
    }

    fn run(code: &[u8], fns: &[(u64, u64, u32, bool)]) -> Flow {
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
            base: BASE,
            types: (0x50_0000, 0x50_1000),
            funcs: &all,
            newobject: Some(NEWOBJ),
            malloc: &malloc,
            wb: &wb,
        })
    }

    type Emit = dyn Fn(&mut Asm);

    /// Go 1.21's buildCycle on arm64: `a` spilled to 96(RSP), a second
    /// allocation, `mid`, the write-barrier check whose two paths both reload
    /// `a` into R5 (`CBNZW` to the slow path that calls the barrier), then
    /// `ADRP; MOVD R5, G(SB)`. Returns the code, the offset of the store, the end.
    fn spill(mid: &Emit) -> (Vec<u8>, usize, u64) {
        let mut a = Asm::new(BASE);
        a.prologue(112);
        a.addr(0, T).bl(NEWOBJ).w(&[str_x(0, 31, 96)]);
        a.addr(0, T).bl(NEWOBJ);
        mid(&mut a);
        a.adrp(27, FLAG)
            .w(&[0xb940_0361 | (((FLAG & 0xfff) as u32) / 4) << 10]);
        // CBNZW R1, +4; LDR R5, 96(RSP); LDR R9, 88(RSP); B L
        a.w(&[0x3500_0081, ldr_x(5, 31, 96), ldr_x(9, 31, 88), 0x1400_0005]);
        // slow: BL wb; LDR R5, 96(RSP); STR R5, (R25); STR R0, 8(R25)
        a.bl(WB)
            .w(&[ldr_x(5, 31, 96), str_x(5, 25, 0), str_x(0, 25, 8)]);
        // L: STR R0, 80(RSP); STR R5, (R0); ADRP; STR R5, G
        a.w(&[str_x(0, 31, 80), str_x(5, 0, 0)]);
        a.adrp(27, G);
        let store = a.c.len() * 4;
        a.w(&[str_x(5, 27, (G & 0xfff) as u32)]);
        a.bl(OTHER).epilogue(112);
        (a.bytes(), store, a.pc())
    }

    #[test]
    fn decodes_go_prologues_and_epilogues() {
        // From Go 1.21 and 1.27's objdump.
        assert_eq!(decode(0xf819_0ffe, 0), Some(Op::SubSp(112))); // MOVD.W R30, -112(RSP)
        assert_eq!(decode(0x9101_c3ff, 0), Some(Op::AddSp(112, 0))); // ADD $112, RSP, RSP
        assert_eq!(decode(0xf847_07fe, 0), Some(Op::AddSp(112, 1 << 30))); // MOVD.P 112(RSP), R30
        assert_eq!(decode(0xd100_23fd, 0), Some(Op::Below { dst: 29, f: 8 }));
        assert_eq!(decode(0x9100_029f, 0), Some(Op::SetSp { src: 20 }));
        assert_eq!(decode(0xf900_33e0, 0), Some(Op::Store { src: 0, d: 96 }));
        assert_eq!(decode(0xf940_33e5, 0), Some(Op::Load { dst: 5, d: 96 }));
        assert_eq!(decode(0xaa0a_03e0, 0), Some(Op::Mov { dst: 0, src: 10 }));
        // CMP R16, RSP compares only; MOVD $29, R6 reads no register.
        assert_eq!(decode(0xeb30_63ff, 0), Some(other(0)));
        assert_eq!(decode(0xd280_03a6, 0), Some(other(1 << 6)));
        // MOVD R29, -8(RSP) writes below the frame.
        assert!(matches!(
            decode(0xf81f_83fd, 0),
            Some(Op::Other {
                write: Write::Sp(-8, 0),
                esc: false,
                ..
            })
        ));
        // BR (a jump table) gives the function up; UDF stops.
        assert_eq!(decode(0xd61f_0020, 0), None);
        assert_eq!(decode(0, 0), Some(Op::Stop));
    }

    #[test]
    fn spilled_fresh_object_reloaded_and_stored_to_a_global() {
        let (code, store, end) = spill(&|_| {});
        let f = run(&code, &[(BASE, end, 0, false)]);
        assert_eq!(f.stores, vec![(store, G, T)]);
        // The whole scan: G only ever receives a fresh T.
        let funcs: HashMap<&str, u64> = [
            ("runtime.newobject", NEWOBJ),
            ("runtime.gcWriteBarrier2", WB),
        ]
        .into_iter()
        .collect();
        let fns = [
            (BASE, end, 0, false),
            (NEWOBJ, NEWOBJ + 16, 8, false),
            (WB, WB + 16, 0, false),
        ];
        let scan = |fns: &[(u64, u64, u32, bool)]| {
            super::super::arm64::scan_arm64(
                &code,
                BASE,
                (0x50_0000, 0x50_1000),
                &[(0x60_0000, 0x60_1000)],
                &funcs,
                fns,
            )
        };
        assert_eq!(scan(&fns).pointees, vec![(G, T)]);
        // Without the data flow the store is not recognized: G is not kept.
        assert!(scan(&[]).pointees.is_empty());
    }

    #[test]
    fn spill_slot_facts_need_every_write_to_agree() {
        let cases: [(&str, &Emit); 10] = [
            ("ADD $80, RSP, R2", &|a| {
                a.w(&[0x9101_43e2]);
            }),
            ("MOVD RSP, R2", &|a| {
                a.w(&[0x9100_03e2]);
            }),
            ("MOVD R29, R2", &|a| {
                a.w(&[0xaa1d_03e2]);
            }),
            ("MOVD R3, 96(RSP)", &|a| {
                a.w(&[str_x(3, 31, 96)]);
            }),
            ("STP (R3, R4), 88(RSP)", &|a| {
                a.w(&[0xa900_0000 | 11 << 15 | 4 << 10 | 31 << 5 | 3]);
            }),
            ("MOVW R3, 100(RSP)", &|a| {
                a.w(&[0xb900_0000 | 25 << 10 | 31 << 5 | 3]);
            }),
            ("CALL big", &|a| {
                a.bl(BIG);
            }),
            ("CALL unknown", &|a| {
                a.bl(0x41_4000);
            }),
            ("BLR R2", &|a| {
                a.w(&[0xd63f_0040]);
            }),
            ("MOVD R3, (R29)", &|a| {
                a.w(&[str_x(3, 29, 0)]);
            }),
        ];
        for (what, mid) in cases {
            let (code, _, end) = spill(mid);
            let f = run(&code, &[(BASE, end, 0, false)]);
            assert!(f.stores.is_empty(), "{what}: {:?}", f.stores);
        }
        // A call with a small argument area, a store elsewhere in the frame, an
        // address taken above the slot keep it.
        for mid in [
            &(|a: &mut Asm| {
                a.bl(OTHER);
            }) as &Emit,
            &|a| {
                a.w(&[str_x(3, 31, 104)]);
            },
            &|a| {
                a.w(&[0x9101_a3e2]); // ADD $104, RSP, R2
            },
        ] {
            let (code, store, end) = spill(mid);
            let f = run(&code, &[(BASE, end, 0, false)]);
            assert_eq!(f.stores, vec![(store, G, T)]);
        }
    }

    /// Code, functions (entry, end, args, defers), an entry, a return address.
    type Built = (Vec<u8>, Vec<(u64, u64, u32, bool)>, u64, u64);

    /// newStackHeld and chanReceiver: a function returning its fresh object from
    /// a spill slot; a caller keeping the result in a frame slot across calls.
    /// (code, functions, the result function's entry, the caller's return
    /// address of interest).
    fn result_and_caller(alt_return: bool, callee_args_cover: bool, large: bool) -> Built {
        let mut a = Asm::new(BASE);
        let f = a.pc();
        a.prologue(96);
        a.addr(0, T).bl(NEWOBJ).w(&[str_x(0, 31, 80)]);
        if alt_return {
            // CBZ R1, +5 (past MOVD ZR, R0; LDP; ADD; RET)
            a.w(&[0xb400_00a1, 0xaa1f_03e0]).epilogue(96);
        }
        a.bl(OTHER).w(&[ldr_x(0, 31, 80)]).epilogue(96);
        a.w(&[0, 0]);
        let fend = a.pc();
        let c = a.pc();
        if large {
            // SUB $0x200, RSP, R20; STP (R29, R30), -8(R20); MOVD R20, RSP;
            // SUB $8, RSP, R29
            a.w(&[0xd108_03f4, 0xa93f_fa9d, 0x9100_029f, 0xd100_23fd]);
        } else {
            a.prologue(80);
        }
        a.bl(f).w(&[str_x(0, 31, 64)]);
        a.bl(if callee_args_cover { BIG } else { OTHER });
        let ret = a.pc();
        if large {
            a.w(&[0xa97f_fbfd, 0x9108_03ff, 0xd65f_03c0]);
        } else {
            a.epilogue(80);
        }
        let cend = a.pc();
        (
            a.bytes(),
            vec![(f, fend, 8, false), (c, cend, 0, false)],
            f,
            ret,
        )
    }

    #[test]
    fn function_results_and_frame_slots() {
        for large in [false, true] {
            let (code, fns, f, ret) = result_and_caller(false, false, large);
            let fl = run(&code, &fns);
            assert_eq!(fl.results, vec![(f, T)]);
            assert!(fl.frames.contains(&(ret, 64, T)), "{:?}", fl.frames);
        }
        // Another return path: no result, no caller slot.
        let (code, fns, _, ret) = result_and_caller(true, false, false);
        let fl = run(&code, &fns);
        assert!(fl.results.is_empty());
        assert!(!fl.frames.iter().any(|x| x.0 == ret), "{:?}", fl.frames);
        // The function itself was analysed: its slot 80 is known in OTHER.
        assert!(fl.frames.iter().any(|x| x.1 == 80), "{:?}", fl.frames);
        // A function with a deferreturn is not analysed.
        let (code, mut fns, _, ret) = result_and_caller(false, false, false);
        fns[0].3 = true;
        let fl = run(&code, &fns);
        assert!(fl.results.is_empty());
        assert!(!fl.frames.iter().any(|x| x.0 == ret), "{:?}", fl.frames);
        // A callee whose argument area covers the slot.
        let (code, fns, _, ret) = result_and_caller(false, true, false);
        let fl = run(&code, &fns);
        assert!(!fl.frames.iter().any(|x| x.0 == ret), "{:?}", fl.frames);
    }

    #[test]
    fn arbitrary_words_never_panic() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut words = Vec::new();
        for k in 0..(1u32 << 14) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let r = x as u32;
            // Mixed with the classes read: loads/stores off RSP, ADD/SUB with
            // RSP, branches, BL.
            words.push(match k % 6 {
                0 => 0xf800_0000 | (r & 0x07ff_ffff) | 31 << 5,
                1 => 0x9100_0000 | (r & 0x40ff_ffff),
                2 => 0x5400_0000 | (r & 0x00ff_ffff),
                3 => 0x9400_0000 | (r & 0x0000_00ff),
                _ => r,
            });
            let _ = decode(r, BASE + 4 * u64::from(k));
        }
        let fns: Vec<(u64, u64, u32, bool)> = (0..64u64)
            .map(|k| {
                (
                    BASE + k * 256,
                    BASE + k * 256 + 256,
                    (k as u32) * 8,
                    k % 7 == 0,
                )
            })
            .collect();
        for k in 0..64usize {
            let mut a = Asm::new(BASE + k as u64 * 256);
            a.prologue(0x40).addr(0, T).bl(NEWOBJ);
            words[k * 64..k * 64 + a.c.len()].copy_from_slice(&a.c);
        }
        let mut code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let _ = run(&code, &fns);
        code.push(0x90);
        let _ = run(&code, &fns);
    }
}
