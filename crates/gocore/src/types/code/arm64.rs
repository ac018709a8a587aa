//! Typing evidence read from arm64 code: the counterpart of the amd64 reader in
//! `types/code.rs`, giving the same [`CodeFacts`] with the same strictness (facts
//! only from exact instruction sequences; a global kept only when every instruction
//! of the text referring to it agrees).
//!
//! Instructions are fixed 32-bit little-endian words; Go's register ABI passes the
//! first argument in `R0`, the second in `R1`, the third in `R2`. Go's assembler
//! reaches a global or a type descriptor with a PC-relative pair whose second half
//! is the very next instruction (one relocation patches both): `ADRP sym, Rd`, then
//! `ADD $lo, Rd, Rd'` (the address, `MOVD $sym(SB), R`), or a load/store with
//! unsigned offset based on `Rd` (`MOVD sym(SB), R`, `MOVD R, sym(SB)`), or
//! `ADD $lo, Rd, R27` followed by a load/store (pair) based on `R27` (`STP (R2, R2),
//! sym+8(SB)` through the temporary register). The sequences read (as in Go 1.21 to
//! 1.27's output for `linux/arm64`):
//!
//! * **descriptors**: `ADRP+ADD type:T, R0` followed (after instructions that only
//!   set other argument registers: `MOVD $n, R1`, `MOVD R1, R2`, `ADD $d, RSP, R2`,
//!   `MOVD d(RSP), R2`, `NOP`) by `BL f` for a runtime function whose first
//!   parameter is a type (`super::TYPED_FUNCS`, the map functions); Go 1.27's
//!   `runtime.mallocgcSmallScan*` take `(size R0, type R1, needzero R2)`, so there
//!   it is `ADRP+ADD type:T, R1`.
//! * **pointees of globals**: after `BL runtime.newobject` (or the 1.27 allocators)
//!   and the fresh object's field initialization (stores based on `R0`, loads of
//!   frame slots and constants into other registers), the write-barrier check
//!   `ADRP+MOVWU runtime.writeBarrier, Rn; CBZW Rn, L`, whose skipped block only
//!   loads the old value into another register than `R0`, calls a
//!   `runtime.gcWriteBarrier*` and stores into the barrier buffer (`R25`), with `L:
//!   ADRP+MOVD R0, G(SB)`: the fresh `*T` goes unchanged into `G`. Kept (as on
//!   amd64) when every reference of the whole text to an address overlapping `G` is
//!   a load, a store of `ZR` (nil) at `G`, an address taken (also when the next
//!   instruction stores through it with a register offset: an element of a global
//!   array, like amd64's `LEAQ` then indexed `MOVQ`), or such a recognized store of
//!   the same `T`. A reference is the `ADRP` with the next instruction: a load or
//!   store (pair) based on it or on the address an `ADD` made from it, at the
//!   offset encoded; exclusive, ordered and atomic accesses touch the address
//!   itself (atomic read-modify-writes and store-releases are writes), stores with
//!   a 9-bit offset may write 256 bytes either side; an `ADRP` used any other way
//!   may write anywhere in its page.
//! * **slices held by globals**: the same after `BL runtime.makeslice` with the
//!   length and capacity set as constants before the call and stored, from
//!   registers holding constants, to `G+8` and `G+16` right after it (`STP` through
//!   `R27` on Go 1.27, two `MOVD`s before).
//! * **maps held by globals**: `ADRP+MOVD G, R1` right before `ADRP+ADD type:M, R0`,
//!   or right after it, then (other argument registers set in between) `BL` a map
//!   function: `G` holds a map of type `M` (kept when all such uses name one `M`).
//!
//! Cost: one pass over the text for the sequences and one for the references, a few
//! word comparisons per instruction.

use std::collections::{HashMap, HashSet};

use super::{Candidates, CodeFacts, Stores, Use, MAP_FUNCS, MAX_WB_SKIP, TYPED_FUNCS};

/// The zero register / stack pointer number.
const ZR: u32 = 31;
/// Go's write-barrier buffer register (`R25`).
const WB_BUF: u32 = 25;
/// Most instructions skipped while looking for the next one of a sequence.
const MAX_SKIP: usize = 8;

/// The instruction word at byte offset `i`.
fn word(code: &[u8], i: usize) -> Option<u32> {
    let b = code.get(i..i.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Sign-extends the low `bits` of `v`.
fn sext(v: u32, bits: u32) -> i64 {
    let s = 64 - bits;
    (i64::from(v) << s) >> s
}

/// `ADRP Rd, page`: (Rd, page) for the instruction at link address `pc`.
fn adrp(w: u32, pc: u64) -> Option<(u32, u64)> {
    if w & 0x9f00_0000 != 0x9000_0000 {
        return None;
    }
    let imm = ((w >> 5) & 0x7_ffff) << 2 | (w >> 29) & 3;
    let off = sext(imm, 21) << 12;
    Some((w & 31, (pc & !0xfff).wrapping_add(off as u64)))
}

/// `ADD Xd, Xn, #imm` (64-bit, optionally shifted by 12): (d, n, imm).
fn add_imm(w: u32) -> Option<(u32, u32, u64)> {
    if w & 0xff80_0000 != 0x9100_0000 {
        return None;
    }
    let imm = u64::from((w >> 10) & 0xfff) << if w & (1 << 22) != 0 { 12 } else { 0 };
    Some((w & 31, (w >> 5) & 31, imm))
}

/// A load or store of one register with unsigned offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LdSt {
    store: bool,
    /// SIMD/FP register.
    vector: bool,
    /// Bytes accessed.
    width: u64,
    rt: u32,
    rn: u32,
    off: u64,
}

/// `LDR`/`STR` (any size, integer or SIMD) with unsigned, scaled offset.
fn ldst(w: u32) -> Option<LdSt> {
    if w & 0x3b00_0000 != 0x3900_0000 {
        return None;
    }
    let vector = w & (1 << 26) != 0;
    let opc = (w >> 22) & 3;
    let size = w >> 30;
    let scale = if vector && opc >= 2 { 4 } else { size };
    if vector && scale > 4 {
        return None;
    }
    let store = if vector { opc & 1 == 0 } else { opc == 0 };
    Some(LdSt {
        store,
        vector,
        width: 1 << scale,
        rt: w & 31,
        rn: (w >> 5) & 31,
        off: u64::from((w >> 10) & 0xfff) << scale,
    })
}

/// A load or store of a register pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pair {
    store: bool,
    /// Bytes of each register.
    elem: u64,
    rt: u32,
    rt2: u32,
    rn: u32,
    /// Offset of the access from `rn` (0 for post-index).
    off: i64,
}

/// `LDP`/`STP` (any addressing form, integer or SIMD).
fn pair(w: u32) -> Option<Pair> {
    if (w >> 27) & 7 != 0b101 || w & (1 << 25) != 0 {
        return None;
    }
    let vector = w & (1 << 26) != 0;
    let opc = w >> 30;
    let elem = match (vector, opc) {
        (false, 0) => 4,
        (false, 1) => 4, // LDPSW
        (false, 2) => 8,
        (true, 0) => 4,
        (true, 1) => 8,
        (true, 2) => 16,
        _ => return None,
    };
    let index = (w >> 23) & 3;
    let imm = sext((w >> 15) & 0x7f, 7) * elem as i64;
    Some(Pair {
        store: w & (1 << 22) == 0,
        elem,
        rt: w & 31,
        rt2: (w >> 10) & 31,
        rn: (w >> 5) & 31,
        off: if index == 1 { 0 } else { imm },
    })
}

/// The base register of any load/store instruction (every form but PC-relative
/// literal loads): bits 27 and 25 of the encoding are 1 and 0.
fn mem_base(w: u32) -> Option<u32> {
    let literal = (w >> 27) & 7 == 0b011 && (w >> 24) & 3 == 0;
    (w & 0x0a00_0000 == 0x0800_0000 && !literal).then_some((w >> 5) & 31)
}

/// How a load/store that is neither [`ldst`] nor [`pair`] uses its base register's
/// address `A`: (use, first byte touched relative to `A`, bytes). Loads read only;
/// load-acquire/store-release and exclusive forms touch `A` itself (16 bytes at
/// most), atomic read-modify-writes are writes there; stores with an unscaled or
/// pre/post-indexed 9-bit offset may write within 256 bytes either side; a store
/// with a register offset (`MOVD R0, (R2)(R1<<3)`: an element of a global array
/// whose address was taken) is [`Use::Addr`], like amd64's `LEAQ` and indexed
/// `MOVQ` (assumed to store the element's static type).
fn other_access(w: u32) -> (Use, i64, u64) {
    let bit = |n: u32| (w >> n) & 1 == 1;
    const NEAR: (i64, u64) = (-256, 512 + 16);
    // Exclusive and ordered: LDAR, STLR, LDXR, STXR, LDAXP, CAS, ….
    if (w >> 24) & 0x3f == 0b00_1000 {
        let cas = bit(23) && bit(21);
        let u = if bit(22) && !cas {
            Use::Load
        } else {
            Use::Write
        };
        return (u, 0, 16);
    }
    // Load/store register (unscaled, pre/post-indexed, register offset) and atomic
    // memory operations.
    if (w >> 27) & 7 == 0b111 && (w >> 24) & 3 == 0 {
        let vector = bit(26);
        let opc = (w >> 22) & 3;
        if bit(21) && (w >> 10) & 3 == 0 {
            return (Use::Write, 0, 16); // LDADD, SWP, … (read-modify-write)
        }
        let store = if vector { opc & 1 == 0 } else { opc == 0 };
        if !store {
            return (Use::Load, 0, 16);
        }
        if bit(21) && (w >> 10) & 3 == 0b10 {
            return (Use::Addr, 0, 16);
        }
        return (Use::Write, NEAR.0, NEAR.1);
    }
    // SIMD structure loads/stores (LD1, ST1, …).
    if w & 0xbf00_0000 == 0x0c00_0000 {
        return (if bit(22) { Use::Load } else { Use::Write }, 0, 64);
    }
    (Use::Write, NEAR.0, NEAR.1)
}

/// `BL target`: the target for the instruction at `pc`.
fn bl(w: u32, pc: u64) -> Option<u64> {
    (w & 0xfc00_0000 == 0x9400_0000).then(|| pc.wrapping_add((sext(w & 0x3ff_ffff, 26) * 4) as u64))
}

/// `CBZ Wt/Xt, target` (not `CBNZ`): (t, target).
fn cbz(w: u32, pc: u64) -> Option<(u32, u64)> {
    (w & 0x7f00_0000 == 0x3400_0000).then(|| {
        (
            w & 31,
            pc.wrapping_add((sext((w >> 5) & 0x7_ffff, 19) * 4) as u64),
        )
    })
}

/// `NOP`.
const NOP: u32 = 0xd503_201f;

/// The register an instruction that only sets one register from constants, frame
/// slots or another register writes: `MOVZ`/`MOVN`/`MOVK`, `ORR Rd, ZR, #imm`,
/// `MOV Rd, Rm` (`ORR Rd, ZR, Rm`), `ADD Rd, RSP, #imm`, `LDR Rd, [RSP, #imm]`
/// (integer); `Some(None)` for `NOP`.
fn sets_one(w: u32) -> Option<Option<u32>> {
    if w == NOP {
        return Some(None);
    }
    let d = w & 31;
    // MOVN/MOVZ/MOVK (32/64-bit): x001_0010_1.
    if w & 0x1f80_0000 == 0x1280_0000 && (w >> 29) & 3 != 1 {
        return Some(Some(d));
    }
    // ORR (immediate) from ZR.
    if w & 0x7f80_0000 == 0x3200_0000 && (w >> 5) & 31 == ZR {
        return (d != ZR).then_some(Some(d));
    }
    // ORR (shifted register) Rd, ZR, Rm, no shift: MOV.
    if w & 0x7fe0_fc00 == 0x2a00_0000 && (w >> 5) & 31 == ZR {
        return Some(Some(d));
    }
    // ADD Xd, SP, #imm.
    if let Some((d, ZR, _)) = add_imm(w) {
        return (d != ZR).then_some(Some(d));
    }
    // LDR (integer) from the frame.
    if let Some(l) = ldst(w) {
        if !l.store && !l.vector && l.rn == ZR && l.rt != ZR {
            return Some(Some(l.rt));
        }
    }
    None
}

/// Reads the facts from an arm64 text `code` that starts at link address `base`
/// (same arguments as [`super::scan_amd64`]; the data flow inside functions is
/// `super::flow_arm64`).
pub(super) fn scan_arm64(
    code: &[u8],
    base: u64,
    types: (u64, u64),
    data: &[(u64, u64)],
    funcs: &HashMap<&str, u64>,
    fns: &[(u64, u64, u32, bool)],
) -> CodeFacts {
    Scan {
        fns,
        code,
        base,
        types,
        data,
        typed: entries(funcs, |n| TYPED_FUNCS.contains(&n)),
        maps: entries(funcs, |n| MAP_FUNCS.contains(&n)),
        wb: entries(funcs, |n| n.starts_with("runtime.gcWriteBarrier")),
        typed_malloc: entries(funcs, |n| n.starts_with("runtime.mallocgcSmallScan")),
        newobject: funcs.get("runtime.newobject").copied(),
        makeslice: funcs.get("runtime.makeslice").copied(),
    }
    .run()
}

fn entries(funcs: &HashMap<&str, u64>, f: impl Fn(&str) -> bool) -> HashSet<u64> {
    funcs
        .iter()
        .filter(|(n, _)| f(n))
        .map(|(_, &e)| e)
        .collect()
}

struct Scan<'a> {
    /// Every function (entry, end, args size, has a `deferreturn`), by entry.
    fns: &'a [(u64, u64, u32, bool)],
    code: &'a [u8],
    base: u64,
    types: (u64, u64),
    data: &'a [(u64, u64)],
    typed: HashSet<u64>,
    maps: HashSet<u64>,
    wb: HashSet<u64>,
    typed_malloc: HashSet<u64>,
    newobject: Option<u64>,
    makeslice: Option<u64>,
}

impl Scan<'_> {
    fn pc(&self, i: usize) -> u64 {
        self.base.wrapping_add(i as u64)
    }

    fn word(&self, i: usize) -> Option<u32> {
        word(self.code, i)
    }

    fn in_types(&self, a: u64) -> bool {
        a >= self.types.0 && a < self.types.1
    }

    fn in_data(&self, a: u64) -> bool {
        self.data.iter().any(|&(s, e)| a >= s && a < e)
    }

    /// `ADRP Rd; ADD Rd, Rd, #lo` at `i`: (d, address).
    fn addr_into(&self, i: usize) -> Option<(u32, u64)> {
        let (d, page) = adrp(self.word(i)?, self.pc(i))?;
        let (d2, n, lo) = add_imm(self.word(i + 4)?)?;
        (d2 == d && n == d).then(|| (d, page.wrapping_add(lo)))
    }

    /// `ADRP Rk; LDR Xt, [Rk, #lo]` (64-bit) at `i`: (t, address).
    fn load_from(&self, i: usize) -> Option<(u32, u64)> {
        let (k, page) = adrp(self.word(i)?, self.pc(i))?;
        let l = ldst(self.word(i + 4)?)?;
        (!l.store && !l.vector && l.width == 8 && l.rn == k && l.rt != ZR)
            .then(|| (l.rt, page.wrapping_add(l.off)))
    }

    /// `ADRP Rk; STR Xt, [Rk, #lo]` (64-bit) at `i`: (t, address).
    fn store_to(&self, i: usize) -> Option<(u32, u64)> {
        let (k, page) = adrp(self.word(i)?, self.pc(i))?;
        let l = ldst(self.word(i + 4)?)?;
        (l.store && !l.vector && l.width == 8 && l.rn == k)
            .then(|| (l.rt, page.wrapping_add(l.off)))
    }

    /// Past instructions that only set registers outside `keep` (a bit mask)
    /// from constants, frame slots or other registers (argument set-up between a
    /// type's load and the call).
    fn skip_args(&self, mut i: usize, keep: u32) -> usize {
        for _ in 0..MAX_SKIP {
            match self.word(i).and_then(sets_one) {
                Some(None) => {}
                Some(Some(d)) if keep & (1 << d) == 0 => {}
                _ => break,
            }
            i += 4;
        }
        i
    }

    /// `BL f` at `i`: `f`.
    fn call(&self, i: usize) -> Option<u64> {
        bl(self.word(i)?, self.pc(i))
    }

    /// Past the initialization of a fresh object (in `R0`) that may follow its
    /// allocation without changing `R0`: stores based on `R0` (`MOVD R3, 8(R0)`,
    /// `STP (ZR, ZR), 8(R0)`, no write-back), register set-up into other registers
    /// ([`sets_one`]).
    fn skip_init(&self, mut i: usize) -> usize {
        for _ in 0..MAX_SKIP {
            let Some(w) = self.word(i) else { break };
            let ok = match sets_one(w) {
                Some(None) => true,
                Some(Some(d)) => d != 0,
                None => {
                    ldst(w).is_some_and(|l| l.store && l.rn == 0)
                        || pair(w).is_some_and(|p| p.store && p.rn == 0 && (w >> 23) & 3 == 2)
                }
            };
            if !ok {
                break;
            }
            i += 4;
        }
        i
    }

    /// At `i`: `ADRP+MOVWU runtime.writeBarrier, Rn; CBZW Rn, L`, a skipped block
    /// that loads into other registers than `R0`, calls a write barrier (one of
    /// `wb`) and stores into the barrier buffer, and at `L`, `ADRP+MOVD R0, G`:
    /// (offset of the `STR`, `G`).
    fn wb_store(&self, i: usize) -> Option<(usize, u64)> {
        let (k, _) = adrp(self.word(i)?, self.pc(i))?;
        let flag = ldst(self.word(i + 4)?)?;
        if flag.store || flag.vector || flag.width != 4 || flag.rn != k {
            return None;
        }
        let c = i + 8;
        let (t, target) = cbz(self.word(c)?, self.pc(c))?;
        if t != flag.rt || self.word(c)? & (1 << 31) != 0 {
            return None;
        }
        let skip = target.checked_sub(self.pc(c))?;
        if skip <= 4 || skip > MAX_WB_SKIP {
            return None;
        }
        let l = c + skip as usize;
        let mut called = false;
        let mut j = c + 4;
        while j < l {
            let w = self.word(j)?;
            if let Some((d, _)) = adrp(w, self.pc(j)) {
                if d == 0 {
                    return None;
                }
            } else if let Some(f) = bl(w, self.pc(j)) {
                if !self.wb.contains(&f) {
                    return None;
                }
                called = true;
            } else if let Some(x) = ldst(w) {
                // Loads of the old value into another register; stores into the
                // barrier buffer.
                let ok = if x.store {
                    x.rn == WB_BUF
                } else {
                    x.rt != 0 || x.vector
                };
                if !ok {
                    return None;
                }
            } else if let Some(p) = pair(w) {
                if !p.store || p.rn != WB_BUF || (w >> 23) & 3 != 2 {
                    return None;
                }
            } else if w != NOP {
                return None;
            }
            j += 4;
        }
        if !called {
            return None;
        }
        let (r, g) = self.store_to(l)?;
        (r == 0).then_some((l + 4, g))
    }

    /// After `BL runtime.makeslice` (next instruction at `i`): constants into
    /// registers, then those registers stored to `G+8` and `G+16` (`ADRP; ADD $lo,
    /// R27; STP (Ra, Rb), (R27)`, or two `ADRP; MOVD Ra, sym(SB)`), then the
    /// barrier-checked store of `R0` into `G`: (offset of the `STR`, `G`).
    fn slice_store(&self, i: usize) -> Option<(usize, u64)> {
        let mut consts = 0u32;
        let mut k = i;
        for _ in 0..2 {
            let w = self.word(k)?;
            let Some(Some(d)) = sets_one(w) else { break };
            // Only constants (MOVZ/MOVN/ORR from ZR), not frame slots or registers.
            let movz_movn = w & 0x1f80_0000 == 0x1280_0000 && (w >> 29) & 1 == 0;
            if movz_movn || w & 0x7f80_0000 == 0x3200_0000 {
                consts |= 1 << d;
                k += 4;
            } else {
                break;
            }
        }
        let is_const = |r: u32| r != ZR && consts & (1 << r) != 0;
        let mut lens = Vec::new();
        if let (Some((t, page)), Some(w)) = (
            self.word(k).and_then(|w| adrp(w, self.pc(k))),
            self.word(k + 4),
        ) {
            if let (Some((d, n, lo)), Some(p)) = (add_imm(w), self.word(k + 8).and_then(pair)) {
                if n == t
                    && p.store
                    && p.rn == d
                    && p.elem == 8
                    && (self.word(k + 8)? >> 23) & 3 == 2
                    && is_const(p.rt)
                    && is_const(p.rt2)
                {
                    let a = page.wrapping_add(lo).wrapping_add(p.off as u64);
                    lens = vec![a, a.wrapping_add(8)];
                    k += 12;
                }
            }
        }
        if lens.is_empty() {
            for _ in 0..2 {
                let (r, a) = self.store_to(k)?;
                if !is_const(r) {
                    return None;
                }
                lens.push(a);
                k += 8;
            }
        }
        let (s, g) = self.wb_store(k)?;
        (lens == [g.wrapping_add(8), g.wrapping_add(16)]).then_some((s, g))
    }

    fn run(&self) -> CodeFacts {
        let code = self.code;
        let mut desc = HashSet::new();
        // Recognized stores: offset of the STR → (G, T, slice).
        let mut stores = Stores::new();
        let mut map_uses: HashMap<u64, HashSet<u64>> = HashMap::new();
        let mut i = 0;
        while i + 8 <= code.len() {
            let Some((d, t)) = self
                .addr_into(i)
                .filter(|&(d, t)| d <= 1 && self.in_types(t))
            else {
                i += 4;
                continue;
            };
            if d == 1 {
                // Go 1.27: ADRP+ADD type:T, R1; MOVD $1, R2; BL mallocgcSmallScan*.
                let a = self.skip_args(i + 8, 1 << 1);
                if self.call(a).is_some_and(|f| self.typed_malloc.contains(&f)) {
                    desc.insert(t);
                    if let Some((s, g)) = self.wb_store(self.skip_init(a + 4)) {
                        if self.in_data(g) {
                            stores.insert(s, (g, t, false));
                        }
                    }
                }
                i += 4;
                continue;
            }
            let a = self.skip_args(i + 8, 1);
            if let Some(f) = self.call(a) {
                if self.typed.contains(&f) || self.maps.contains(&f) {
                    desc.insert(t);
                }
                if Some(f) == self.newobject {
                    if let Some((s, g)) = self.wb_store(self.skip_init(a + 4)) {
                        if self.in_data(g) {
                            stores.insert(s, (g, t, false));
                        }
                    }
                }
                if Some(f) == self.makeslice {
                    if let Some((s, g)) = self.slice_store(a + 4) {
                        if self.in_data(g) {
                            stores.insert(s, (g, t, true));
                        }
                    }
                }
                // ADRP+MOVD G, R1 right before; the call after argument set-up
                // that leaves R0 and R1 alone.
                if self.maps.contains(&f) && self.skip_args(i + 8, 0b11) == a {
                    if let Some((1, g)) = i.checked_sub(8).and_then(|p| self.load_from(p)) {
                        if self.in_data(g) {
                            map_uses.entry(g).or_default().insert(t);
                        }
                    }
                }
            }
            // ADRP+ADD type:M, R0; ADRP+MOVD G, R1; BL map function.
            let m = self.skip_args(i + 8, 0b11);
            if let Some((1, g)) = self.load_from(m) {
                let c = self.skip_args(m + 8, 0b11);
                if self.call(c).is_some_and(|f| self.maps.contains(&f)) && self.in_data(g) {
                    desc.insert(t);
                    map_uses.entry(g).or_default().insert(t);
                }
            }
            i += 4;
        }
        // The data flow inside functions: stores of a fresh `*T` however it got
        // into the register, frame slots holding one across calls.
        let fl = super::flow_arm64::analyze(&super::flow::Env {
            code,
            base: self.base,
            types: self.types,
            funcs: self.fns,
            newobject: self.newobject,
            malloc: &self.typed_malloc,
            wb: &self.wb,
        });
        for &(s, g, t) in &fl.stores {
            if self.in_data(g) {
                stores.entry(s).or_insert((g, t, false));
            }
        }
        CodeFacts::assemble(desc, map_uses, &stores, fl.frames, |words, cand| {
            self.check_refs(words, &stores, cand);
        })
    }

    /// Drops every candidate word that some reference of the text (an `ADRP` and
    /// the instruction using it) may write otherwise than by a recognized store.
    fn check_refs(&self, words: &[u64], stores: &Stores, cand: &mut Candidates) {
        let mut i = 0;
        while i + 4 <= self.code.len() {
            let Some((k, page)) = self.word(i).and_then(|w| adrp(w, self.pc(i))) else {
                i += 4;
                continue;
            };
            let j = i + 4;
            let Some(w) = self.word(j) else { break };
            // (address, bytes, use)
            let access: Option<(u64, u64, Use)> = if let Some(l) = ldst(w).filter(|l| l.rn == k) {
                let a = page.wrapping_add(l.off);
                let u = if !l.store {
                    Use::Load
                } else if l.rt == ZR && !l.vector && l.width == 8 {
                    Use::StoreNil
                } else {
                    Use::Write
                };
                Some((a, l.width, u))
            } else if let Some((d, _, lo)) = add_imm(w).filter(|&(_, n, _)| n == k) {
                let a = page.wrapping_add(lo);
                // The address used right away by a load/store (pair) through it.
                let next = self.word(j + 4);
                if let Some(l) = next.and_then(ldst).filter(|l| l.rn == d) {
                    let u = if !l.store {
                        Use::Load
                    } else if l.rt == ZR && !l.vector && l.width == 8 {
                        Use::StoreNil
                    } else {
                        Use::Write
                    };
                    Some((a.wrapping_add(l.off), l.width, u))
                } else if let Some(p) = next.and_then(pair).filter(|p| p.rn == d) {
                    let u = if !p.store {
                        Use::Load
                    } else if p.rt == ZR && p.rt2 == ZR && p.elem == 8 {
                        Use::StoreNil
                    } else {
                        Use::Write
                    };
                    Some((a.wrapping_add(p.off as u64), 2 * p.elem, u))
                } else if let Some((u, lo, len)) =
                    next.filter(|&w| mem_base(w) == Some(d)).map(other_access)
                {
                    // Another access through it (exclusive, atomic, unscaled, …).
                    Some((a.wrapping_add(lo as u64), len, u))
                } else {
                    None // an address taken (assumed to store G's static type)
                }
            } else if mem_base(w) == Some(k) {
                match other_access(w) {
                    // Indexed from a page address: anywhere.
                    (Use::Addr, _, _) => Some((0, u64::MAX, Use::Write)),
                    (u, lo, len) => Some((page.wrapping_add(lo as u64), len, u)),
                }
            } else {
                // ADRP used otherwise: any word of its page may be written.
                Some((page, 4096, Use::Write))
            };
            i += 4;
            let Some((a, width, u)) = access else {
                continue;
            };
            // Bytes [a, end) may be touched (everything for a register offset).
            let (a, end) = if width > 1 << 40 {
                (0, u64::MAX)
            } else {
                (a, a.saturating_add(width))
            };
            if !self.data.iter().any(|&(s, e)| a < e && end > s) {
                continue;
            }
            let lo = a.saturating_sub(7);
            let s = words.partition_point(|&g| g < lo);
            for &g in words[s..].iter().take_while(|&&g| g < end) {
                let own = stores.get(&j).is_some_and(|&(sg, _, _)| sg == g && a == g);
                let ok = own
                    || match u {
                        Use::Load | Use::Addr => true,
                        // A nil store covering G exactly (STP (ZR, ZR): both words).
                        Use::StoreNil => g >= a && (g - a) % 8 == 0,
                        Use::Write => false,
                    };
                if !ok {
                    cand.insert(g, None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x40_0000;

    /// Assembles instruction words (little-endian).
    fn asm(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// `ADRP Rd, page(target)` at byte offset `at`.
    fn adrp_to(d: u32, at: usize, target: u64) -> u32 {
        let pc = BASE + at as u64;
        let imm = ((target & !0xfff) as i64 - (pc & !0xfff) as i64) >> 12;
        let imm = imm as u32 & 0x1f_ffff;
        0x9000_0000 | (imm & 3) << 29 | (imm >> 2) << 5 | d
    }
    /// `ADD Xd, Xn, #lo(target)`.
    fn add_lo(d: u32, n: u32, target: u64) -> u32 {
        0x9100_0000 | ((target & 0xfff) as u32) << 10 | n << 5 | d
    }
    /// `LDR Xt, [Xn, #lo(target)]` (64-bit, 8-aligned).
    fn ldr_lo(t: u32, n: u32, target: u64) -> u32 {
        0xf940_0000 | ((target & 0xfff) as u32 / 8) << 10 | n << 5 | t
    }
    /// `STR Xt, [Xn, #off]`.
    fn str_x(t: u32, n: u32, off: u64) -> u32 {
        0xf900_0000 | (off as u32 / 8) << 10 | n << 5 | t
    }
    /// `LDR Wt, [Xn, #off]`.
    fn ldr_w(t: u32, n: u32, off: u64) -> u32 {
        0xb940_0000 | (off as u32 / 4) << 10 | n << 5 | t
    }
    /// `BL target` at byte offset `at`.
    fn bl_to(at: usize, target: u64) -> u32 {
        0x9400_0000 | (((target as i64 - (BASE + at as u64) as i64) / 4) as u32 & 0x3ff_ffff)
    }
    /// `CBZ Wt, +n instructions`.
    fn cbzw(t: u32, n: u32) -> u32 {
        0x3400_0000 | (n & 0x7_ffff) << 5 | t
    }
    /// `MOVZ Xd, #imm`.
    fn movz(d: u32, imm: u32) -> u32 {
        0xd280_0000 | imm << 5 | d
    }
    /// `STP Xt, Xt2, [Xn, #off]` (signed offset).
    fn stp(t: u32, t2: u32, n: u32, off: i64) -> u32 {
        0xa900_0000 | ((off / 8) as u32 & 0x7f) << 15 | t2 << 10 | n << 5 | t
    }

    /// [`scan_arm64`] with the tests' type section 0x50_0000.. and data 0x60_0000..
    fn scan(code: &[u32], funcs: &HashMap<&str, u64>) -> CodeFacts {
        scan_arm64(
            &asm(code),
            BASE,
            (0x50_0000, 0x50_1000),
            &[(0x60_0000, 0x60_1000)],
            funcs,
            &[],
        )
    }

    const FLAG: u64 = 0x60_0910;
    const WB: u64 = 0x41_1000;

    /// Appends the Go 1.21 write-barrier check and the store of R0 to `g`:
    /// `ADRP+MOVWU flag, R1; CBZW R1, L; BL wb; MOVD R0, (R25); ADRP+MOVD g, R1;
    /// MOVD R1, 8(R25); L: ADRP+MOVD R0, g`.
    fn barrier_store(c: &mut Vec<u32>, g: u64) {
        let at = |c: &Vec<u32>| c.len() * 4;
        c.push(adrp_to(27, at(c), FLAG));
        c.push(ldr_w(1, 27, FLAG & 0xfff));
        c.push(cbzw(1, 6));
        c.push(bl_to(at(c), WB));
        c.push(str_x(0, 25, 0));
        c.push(adrp_to(27, at(c), g));
        c.push(ldr_lo(1, 27, g));
        c.push(str_x(1, 25, 8));
        c.push(adrp_to(27, at(c), g));
        c.push(str_x(0, 27, g & 0xfff));
    }

    /// `ADRP+ADD T, R0; BL newobject` then the barrier-checked store into `g`.
    fn alloc_store(t: u64, newobj: u64, g: u64) -> Vec<u32> {
        let mut c = vec![adrp_to(0, 0, t), add_lo(0, 0, t), bl_to(8, newobj)];
        barrier_store(&mut c, g);
        c
    }

    #[test]
    fn decodes_the_instructions_read() {
        // From Go 1.27's objdump: ADRP 884736(PC), R0 at 0xab660.
        assert_eq!(adrp(0x9000_06c0, 0xab660), Some((0, 0xab000 + 884736)));
        assert_eq!(add_imm(0x9138_0000), Some((0, 0, 3584)));
        // MOVWU 2320(R27), R1; MOVD R0, 2088(R27); MOVD 2088(R27), R3.
        let w = ldst(0xb949_1361).unwrap();
        assert_eq!(
            (w.store, w.width, w.rt, w.rn, w.off),
            (false, 4, 1, 27, 2320)
        );
        let s = ldst(0xf904_1760).unwrap();
        assert_eq!(
            (s.store, s.width, s.rt, s.rn, s.off),
            (true, 8, 0, 27, 2088)
        );
        assert!(!ldst(0xf944_1763).unwrap().store);
        // CALL at 0xab668 to runtime.newobject (-0x829d8 words → 0x28c00).
        assert_eq!(bl(0x97fd_f58a, 0xab668), Some(0xab668 - 4 * 0x20a76));
        // CBZW R1, 5(PC); STP (R0, R3), (R25); STP (R2, R2), (R27).
        assert_eq!(cbz(0x3400_00a1, 0x1000), Some((1, 0x1014)));
        let p = pair(0xa900_0f20).unwrap();
        assert_eq!(
            (p.store, p.elem, p.rt, p.rt2, p.rn, p.off),
            (true, 8, 0, 3, 25, 0)
        );
        assert_eq!(pair(0xa900_0b62).unwrap().rn, 27);
        // ORR $16, ZR, R0; MOVD $40, R1; MOVD R1, R2; ADD $104, RSP, R2;
        // MOVD 120(RSP), R1; MOVD R0, R1 — and not ADRP or a store.
        assert_eq!(sets_one(0xb27c_03e0), Some(Some(0)));
        assert_eq!(sets_one(0xd280_0501), Some(Some(1)));
        assert_eq!(sets_one(0xaa01_03e2), Some(Some(2)));
        assert_eq!(sets_one(0x9101_a3e2), Some(Some(2)));
        assert_eq!(sets_one(0xf940_3fe1), Some(Some(1)));
        assert_eq!(sets_one(0xaa00_03e1), Some(Some(1)));
        assert_eq!(sets_one(NOP), Some(None));
        assert_eq!(sets_one(0x9000_06c0), None);
        assert_eq!(sets_one(0xf900_0403), None);
        // Load/store base registers: STUR X1, [R27, #-8]; LDAR X1, [R27]; STP; not
        // an LDR literal, ADD or BL.
        assert_eq!(mem_base(0xf81f_8361), Some(27));
        assert_eq!(mem_base(0xc8df_ff61), Some(27));
        assert_eq!(mem_base(0xa900_0f20), Some(25));
        assert_eq!(mem_base(0x5800_0041), None);
        assert_eq!(mem_base(0x9138_0000), None);
        assert_eq!(mem_base(0x97fd_f58a), None);
        // LDAR X1, (R1) reads; STLR X0, (R1) and LDADDAL write where they point;
        // STUR within 256 bytes; STR X1, (R27)(R3<<3) anywhere; LDR with a
        // register offset reads.
        assert!(other_access(0xc8df_fc21) == (Use::Load, 0, 16));
        assert!(other_access(0xc89f_fc20) == (Use::Write, 0, 16));
        assert!(other_access(0xf8e0_0022) == (Use::Write, 0, 16));
        assert!(other_access(0xf81f_8361) == (Use::Write, -256, 528));
        assert!(other_access(0xf823_7b61) == (Use::Addr, 0, 16));
        assert!(other_access(0xf863_7b61).0 == Use::Load);
    }

    #[test]
    fn fresh_object_stored_to_a_global() {
        let (t, newobj, g) = (0x50_0000, 0x41_0000, 0x60_0200);
        let funcs: HashMap<&str, u64> = [
            ("runtime.newobject", newobj),
            ("runtime.gcWriteBarrier2", WB),
        ]
        .into_iter()
        .collect();
        let code = alloc_store(t, newobj, g);
        let f = scan(&code, &funcs);
        assert_eq!(f.descriptors, vec![t]);
        assert_eq!(f.pointees, vec![(g, t)]);
        assert!(f.slices.is_empty() && f.maps.is_empty());
        let with = |tail: &[u32]| {
            let mut c = code.clone();
            let at = c.len() * 4;
            c.push(adrp_to(27, at, g));
            c.extend(tail);
            scan(&c, &funcs).pointees
        };
        // Another store to G (MOVD R1, G) disqualifies it, as does one into the
        // middle of G (MOVW R1, G+4), a pair store over it and an ADRP whose page
        // is used otherwise.
        assert!(with(&[str_x(1, 27, g & 0xfff)]).is_empty());
        assert!(
            with(&[0xb900_0000 | (((g & 0xfff) as u32 + 4) / 4) << 10 | 27 << 5 | 1]).is_empty()
        );
        assert!(with(&[add_lo(27, 27, g - 8), stp(1, 2, 27, 0)]).is_empty());
        // STLR X1, (R27) at G; a store with a register offset from G's page
        // (not from an address taken: that is an element of another global).
        assert!(with(&[add_lo(27, 27, g), 0xc89f_ff61]).is_empty());
        assert!(with(&[0xf823_7b61]).is_empty());
        // STUR X1, [R27, #-8] right after the address of G+8 is taken.
        assert!(with(&[add_lo(27, 27, g + 8), 0xf81f_8361]).is_empty());
        // Nil (MOVD ZR, G; STP (ZR, ZR), G-8), a load, the address taken do not.
        assert_eq!(with(&[str_x(ZR, 27, g & 0xfff)]), vec![(g, t)]);
        assert_eq!(
            with(&[add_lo(27, 27, g - 8), stp(ZR, ZR, 27, 0)]),
            vec![(g, t)]
        );
        assert_eq!(with(&[ldr_lo(3, 27, g)]), vec![(g, t)]);
        // LDAR X1, (R27) at G; a load with a register offset; a store with a
        // register offset from the address of another global (an array element).
        assert_eq!(with(&[add_lo(27, 27, g), 0xc8df_ff61]), vec![(g, t)]);
        assert_eq!(with(&[0xf863_7b61]), vec![(g, t)]);
        assert_eq!(
            with(&[add_lo(27, 27, g - 0x100), 0xf823_7b61]),
            vec![(g, t)]
        );
        assert_eq!(with(&[add_lo(1, 27, g)]), vec![(g, t)]);
        // A store to another T disqualifies it.
        let mut c = code.clone();
        let t2 = t + 0x40;
        c.extend([adrp_to(0, c.len() * 4, t2), add_lo(0, 0, t2)]);
        c.push(bl_to(c.len() * 4, newobj));
        barrier_store(&mut c, g);
        assert!(scan(&c, &funcs).pointees.is_empty());
        // The block must call a write barrier: another call is not one.
        let mut c = code.clone();
        c[6] = bl_to(24, newobj);
        assert!(scan(&c, &funcs).pointees.is_empty());
        // R0 changed in the block: not the fresh object.
        let mut c = code.clone();
        c[9] = ldr_lo(0, 27, g);
        assert!(scan(&c, &funcs).pointees.is_empty());
    }

    #[test]
    fn specialized_allocator_with_field_init_and_go127_barrier() {
        // Go 1.27: ORR $16, ZR, R0; ADRP+ADD T, R1; ORR $1, ZR, R2; BL
        // mallocgcSmallScanNoHeaderSC2; ORR $6, ZR, R3; MOVD R3, 8(R0);
        // ADRP+MOVWU flag, R3; CBZW R3, 5(PC); ADRP+MOVD G, R4; BL wb;
        // STP (R0, R4), (R25); L: ADRP+MOVD R0, G.
        let (t, mk, g) = (0x50_0000u64, 0x41_0000u64, 0x60_07e0u64);
        let funcs: HashMap<&str, u64> = [
            ("runtime.mallocgcSmallScanNoHeaderSC2", mk),
            ("runtime.gcWriteBarrier2", WB),
        ]
        .into_iter()
        .collect();
        let mut c = vec![0xb27c_03e0, adrp_to(1, 4, t), add_lo(1, 1, t), 0xb240_03e2];
        c.push(bl_to(16, mk));
        c.extend([0xb27f_07e3, str_x(3, 0, 8)]);
        c.extend([
            adrp_to(27, 28, FLAG),
            ldr_w(3, 27, FLAG & 0xfff),
            cbzw(3, 5),
        ]);
        c.extend([
            adrp_to(27, 40, g),
            ldr_lo(4, 27, g),
            bl_to(48, WB),
            stp(0, 4, 25, 0),
        ]);
        c.extend([adrp_to(27, 56, g), str_x(0, 27, g & 0xfff)]);
        let f = scan(&c, &funcs);
        assert_eq!(f.descriptors, vec![t]);
        assert_eq!(f.pointees, vec![(g, t)]);
        // The type in R0 is the size's register there: nothing.
        let mut c2 = c.clone();
        c2[1] = adrp_to(0, 4, t);
        c2[2] = add_lo(0, 0, t);
        assert!(scan(&c2, &funcs).pointees.is_empty());
    }

    #[test]
    fn fresh_slice_stored_to_a_global() {
        let (t, mk, g) = (0x50_0000u64, 0x41_0000u64, 0x60_0c20u64);
        let funcs: HashMap<&str, u64> =
            [("runtime.makeslice", mk), ("runtime.gcWriteBarrier2", WB)]
                .into_iter()
                .collect();
        // ADRP+ADD T, R0; MOVD $40, R1; MOVD R1, R2; BL makeslice; MOVD $40, R2.
        let head = |c: &mut Vec<u32>| {
            c.extend([adrp_to(0, 0, t), add_lo(0, 0, t), movz(1, 40), 0xaa01_03e2]);
            c.push(bl_to(16, mk));
            c.push(movz(2, 40));
        };
        // Go 1.27: ADRP; ADD $lo(G+8), R27, R27; STP (R2, R2), (R27).
        let mut c = Vec::new();
        head(&mut c);
        c.extend([
            adrp_to(27, 24, g + 8),
            add_lo(27, 27, g + 8),
            stp(2, 2, 27, 0),
        ]);
        barrier_store(&mut c, g);
        let f = scan(&c, &funcs);
        assert_eq!(f.slices, vec![(g, t)]);
        assert!(f.pointees.is_empty());
        assert_eq!(f.descriptors, vec![t]);
        // Go 1.21: ADRP+MOVD R2, G+8; ADRP+MOVD R2, G+16.
        let mut c = Vec::new();
        head(&mut c);
        c.extend([adrp_to(27, 24, g + 8), str_x(2, 27, (g + 8) & 0xfff)]);
        c.extend([adrp_to(27, 32, g + 16), str_x(2, 27, (g + 16) & 0xfff)]);
        barrier_store(&mut c, g);
        assert_eq!(scan(&c, &funcs).slices, vec![(g, t)]);
        // Length stored elsewhere than G+8: nothing.
        let mut c2 = c.clone();
        c2[7] = str_x(2, 27, (g + 24) & 0xfff);
        assert!(scan(&c2, &funcs).slices.is_empty());
        // A length from a frame slot (not a constant): nothing.
        let mut c3 = c.clone();
        c3[5] = 0xf940_3fe2; // MOVD 120(RSP), R2
        assert!(scan(&c3, &funcs).slices.is_empty());
    }

    /// On the arm64 cases with DWARF, the object every global pointee and slice
    /// fact points to (the pointer starting an object) is typed by DWARF with that
    /// very `T`, and every map fact about a DWARF global names its DWARF type (the
    /// facts are applied only without DWARF, so DWARF is independent evidence).
    #[test]
    fn code_facts_agree_with_dwarf() {
        use crate::{Heap, Process, Typing};
        let cases = testkit::cases_where(|c| {
            c.name.ends_with("-arm64") && matches!(c.mode().as_ref(), "default" | "pie" | "cgo")
        });
        let (mut agree, mut failures) = (0, Vec::new());
        for case in cases {
            let core = corefile::Core::open_with(
                case.core_path(),
                &corefile::OpenOptions::new().executable(case.exe_path()),
            )
            .unwrap();
            let proc = Process::new(&core).unwrap();
            let heap = Heap::new(&proc).unwrap();
            let typing = Typing::compute(&proc, &heap).unwrap();
            let md = proc.binary().moduledata().unwrap();
            let f = super::super::read_facts(&proc, md.types_range()).unwrap();
            let bias = proc.load_bias();
            let reader = proc.binary().type_reader(&md).unwrap();
            // Closure contexts are left to the closure source (DWARF names them
            // by function).
            let closure = |t: u64| {
                reader
                    .type_at(t)
                    .is_ok_and(|d| d.name.starts_with("struct { F uintptr; "))
            };
            let mut held: Vec<(String, u64, u64)> = Vec::new();
            let globals = f.pointees.iter().map(|&(g, t)| ("global", g, t));
            for (what, g, t) in globals.chain(f.slices.iter().map(|&(g, t)| ("slice", g, t))) {
                if let Ok(w) = core.read_u64(g.wrapping_add(bias)) {
                    held.push((format!("{what} {g:#x}"), w, t));
                }
            }
            // The data flow's frame slots (`super::super::flow_arm64`): live
            // pointer slots of goroutine frames parked in those calls.
            let slots = super::super::frame_slots(&proc, &heap, &f.frames, bias);
            for &(slot, t) in &slots {
                if let Ok(w) = core.read_u64(slot) {
                    held.push((format!("frame slot {slot:#x}"), w, t));
                }
            }
            let mut n = 0;
            for (what, w, t) in held {
                if closure(t) {
                    continue;
                }
                let Some((id, 0)) = heap.find_object(w) else {
                    continue;
                };
                let Some(ty) = typing.object_type(id) else {
                    continue;
                };
                let e = typing.type_entry(ty.ty).unwrap();
                if e.addr == t.wrapping_add(bias) && ty.offset == 0 {
                    n += 1;
                } else {
                    failures.push(format!(
                        "{}: {what} holds {w:#x}, typed {} by DWARF, code says {t:#x}",
                        case.name, e.name
                    ));
                }
            }
            // A map fact at the start of a DWARF global: the global's type is the
            // map type the code names.
            let globals = crate::Decoder::new(&proc, Some(&heap), None).globals();
            let mut maps = 0;
            for &(g, m) in &f.maps {
                let Some(v) = globals
                    .iter()
                    .find(|v| v.addr == Some(g.wrapping_add(bias)))
                else {
                    continue;
                };
                let want = reader.type_at(m).map(|d| d.name.to_string()).ok();
                if v.type_name.is_some() && v.type_name == want {
                    maps += 1;
                } else {
                    failures.push(format!(
                        "{}: map global {} is {:?} by DWARF, code says {want:?}",
                        case.name, v.name, v.type_name
                    ));
                }
            }
            println!(
                "{}: {n} objects held by {} global, {} slice and {} frame slot facts ({} slots) agree with DWARF; {maps} of {} map facts name the global's DWARF type",
                case.name,
                f.pointees.len(),
                f.slices.len(),
                f.frames.len(),
                slots.len(),
                f.maps.len()
            );
            agree += n + maps;
        }
        assert!(failures.is_empty(), "{failures:#?}");
        assert!(agree > 0, "no fact checked");
    }

    #[test]
    fn arbitrary_words_never_panic() {
        // Pseudo-random words mixed with the opcodes read (ADRP, ADD, LDR/STR,
        // LDP/STP, BL, CBZ) and a text whose length is not a multiple of 4.
        let funcs: HashMap<&str, u64> = [
            ("runtime.newobject", 0x40_0100),
            ("runtime.makeslice", 0x40_0200),
            ("runtime.mapassign", 0x40_0300),
            ("runtime.gcWriteBarrier2", 0x40_0400),
        ]
        .into_iter()
        .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut code = Vec::new();
        for k in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let r = x as u32;
            let w = match k % 7 {
                0 => 0x9000_0000 | (r & 0x6fff_ffff),
                1 => 0x9100_0000 | (r & 0x007f_ffff),
                2 => 0x3900_0000 | (r & 0xc4ff_ffff),
                3 => 0x2800_0000 | (r & 0xc5ff_ffff),
                4 => 0x9400_0000 | (r & 0x03ff_ffff),
                5 => 0x3400_0000 | (r & 0x80ff_ffff),
                _ => r,
            };
            code.extend(w.to_le_bytes());
        }
        code.push(0x90);
        for base in [0, BASE, u64::MAX - 0x1000] {
            let _ = scan_arm64(&code, base, (0, u64::MAX), &[(0, u64::MAX)], &funcs, &[]);
        }
    }

    #[test]
    fn map_global_used_with_its_type() {
        let (m, assign, g) = (0x50_0040u64, 0x41_0000u64, 0x60_0810u64);
        let funcs: HashMap<&str, u64> = [("runtime.mapassign", assign)].into_iter().collect();
        // ADRP+MOVD G, R1; ADRP+ADD M, R0; ADD $104, RSP, R2; BL mapassign.
        let c = vec![
            adrp_to(27, 0, g),
            ldr_lo(1, 27, g),
            adrp_to(0, 8, m),
            add_lo(0, 0, m),
            0x9101_a3e2,
            bl_to(20, assign),
        ];
        let f = scan(&c, &funcs);
        assert_eq!(f.maps, vec![(g, m)]);
        assert_eq!(f.descriptors, vec![m]);
        // The other order: ADRP+ADD M, R0; ADRP+MOVD G, R1; BL.
        let c2 = vec![
            adrp_to(0, 0, m),
            add_lo(0, 0, m),
            adrp_to(27, 8, g),
            ldr_lo(1, 27, g),
            bl_to(16, assign),
        ];
        assert_eq!(scan(&c2, &funcs).maps, vec![(g, m)]);
        // R1 overwritten in between (MOVD R0, R1): not G.
        let mut c3 = c.clone();
        c3[4] = 0xaa00_03e1;
        assert!(scan(&c3, &funcs).maps.is_empty());
        // Two map types for one global: nothing.
        let mut c4 = c.clone();
        let m2 = m + 0x40;
        c4.extend([
            adrp_to(27, 24, g),
            ldr_lo(1, 27, g),
            adrp_to(0, 32, m2),
            add_lo(0, 0, m2),
        ]);
        c4.push(bl_to(40, assign));
        assert!(scan(&c4, &funcs).maps.is_empty());
    }
}
