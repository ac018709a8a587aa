//! Code references: the data addresses a runtime function's machine code names.
//!
//! A stripped binary keeps its function table (pclntab), so `runtime.markroot` and
//! friends can still be found by name and their code read from the executable. Every
//! global a function reads or writes appears in its code as a PC-relative address:
//!
//! * amd64: an instruction whose ModRM byte selects `disp32(RIP)` (`MOVQ
//!   runtime.allfin(SB), AX` is `48 8b 05 <disp32>`); the target is the address of
//!   the next instruction plus `disp32`;
//! * arm64: `ADRP Rd, page` followed by `ADD Rd, Rd, #imm` or a load/store
//!   `[Rd, #imm]`; the target is the page plus the (scaled) immediate.
//!
//! The amd64 scan does not decode instruction boundaries: it tries every byte that
//! could be a known opcode followed by a RIP-relative ModRM, and keeps only targets
//! inside the executable's writable data. A stray match is possible but lands in data
//! with odds of about one in ten thousand; the signatures that use these references
//! intersect two functions' sets and validate the memory structurally as well.

use std::collections::BTreeMap;

use corefile::Arch;

use super::image::Image;
use crate::process::Process;

/// Largest function read (bytes).
const MAX_FUNC: u64 = 1 << 20;

/// How code uses an address: bit flags.
pub(crate) type Access = u8;
/// A whole-word (64-bit) load, store or read-modify-write of the address.
pub(crate) const WORD: Access = 1;
/// The address itself is computed (`LEAQ`, `ADRP`+`ADD`).
pub(crate) const ADDR: Access = 2;
/// Any other access (bytes, 32-bit words, vector loads).
pub(crate) const OTHER: Access = 4;

/// Run-time addresses inside the image's data/bss that function `name` refers to,
/// with how each is used (bits of [`Access`]).
pub(crate) fn refs(
    proc: &Process<'_>,
    img: &Image,
    name: &str,
) -> Result<BTreeMap<u64, Access>, String> {
    let tab = proc
        .pclntab()
        .ok_or("the executable's function table (pclntab) could not be read")?;
    let f = (0..tab.func_count())
        .filter_map(|i| tab.func(i).ok())
        .find(|f| f.name == name)
        .ok_or_else(|| format!("no function {name} in the pclntab"))?;
    let len = f.end.saturating_sub(f.entry);
    if len == 0 || len > MAX_FUNC {
        return Err(format!("{name}: {len} bytes of code"));
    }
    let code = proc
        .binary()
        .read_at(f.entry, len)
        .map_err(|e| format!("{name}: code: {e}"))?;
    let bias = proc.load_bias();
    let mut out = BTreeMap::new();
    let mut keep = |link: u64, access: Access| {
        let a = link.wrapping_add(bias);
        if img.range_of(a).is_some() {
            *out.entry(a).or_insert(0) |= access;
        }
    };
    match proc.core().arch() {
        Arch::Amd64 => amd64(code, f.entry, &mut keep),
        Arch::Arm64 => arm64(code, f.entry, &mut keep),
        other => return Err(format!("{name}: code references not decoded for {other:?}")),
    }
    Ok(out)
}

/// Immediate bytes after the ModRM/disp32 of a one-byte opcode taking ModRM, or
/// `None` for opcodes not considered.
fn imm_after(op: u8, modrm: u8) -> Option<u64> {
    match op {
        // ALU r/m,r and r,r/m; TEST; XCHG; MOV; LEA.
        0x01 | 0x03 | 0x09 | 0x0b | 0x21 | 0x23 | 0x29 | 0x2b | 0x31 | 0x33 | 0x38 | 0x39
        | 0x3a | 0x3b | 0x84 | 0x85 | 0x87 | 0x88 | 0x89 | 0x8a | 0x8b | 0x8d => Some(0),
        // Group 1 with imm8, MOV r/m8 imm8.
        0x80 | 0x83 | 0xc6 => Some(1),
        // Group 1 with imm32, MOV r/m imm32.
        0x81 | 0xc7 => Some(4),
        // TEST r/m, imm (only /0 has an immediate).
        0xf6 => Some(u64::from((modrm >> 3) & 7 == 0)),
        0xf7 => Some(if (modrm >> 3) & 7 == 0 { 4 } else { 0 }),
        // INC/DEC/PUSH r/m.
        0xfe | 0xff => Some(0),
        _ => None,
    }
}

/// Immediate bytes of a two-byte `0f xx` opcode taking ModRM.
fn imm_after_0f(op: u8) -> Option<u64> {
    match op {
        // MOVUPS/MOVSD, MOVAPS, prefetch, MOVD/MOVQ, CMPXCHG, XADD, MOVZX/MOVSX.
        0x10 | 0x11 | 0x18 | 0x28 | 0x29 | 0x6e | 0x6f | 0x7e | 0x7f | 0xb0 | 0xb1 | 0xb6
        | 0xb7 | 0xbe | 0xbf | 0xc0 | 0xc1 | 0xd6 => Some(0),
        // BT group with imm8.
        0xba => Some(1),
        _ => None,
    }
}

/// Whether `b` is a REX prefix with W set (64-bit operand).
fn rex_w(b: Option<&u8>) -> bool {
    b.is_some_and(|&b| b & 0xf8 == 0x48)
}

/// Whether a one-byte opcode with REX.W moves or compares a whole word.
fn word_op(op: u8) -> bool {
    matches!(
        op,
        0x39 | 0x3b | 0x81 | 0x83 | 0x85 | 0x87 | 0x89 | 0x8b | 0xc7
    )
}

fn amd64(code: &[u8], entry: u64, keep: &mut impl FnMut(u64, Access)) {
    // `j` is the ModRM byte's offset; the opcode is the byte (or two) before it.
    for j in 1..code.len() {
        let modrm = code[j];
        if modrm & 0xc7 != 0x05 {
            continue;
        }
        let Some(d) = code.get(j + 1..j + 5) else {
            break;
        };
        let disp = i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]));
        let op = code[j - 1];
        let at = |imm: u64| {
            entry
                .wrapping_add(j as u64)
                .wrapping_add(5)
                .wrapping_add(imm)
                .wrapping_add(disp as u64)
        };
        if let Some(imm) = imm_after(op, modrm) {
            let access = if op == 0x8d {
                ADDR
            } else if word_op(op) && rex_w(j.checked_sub(2).and_then(|k| code.get(k))) {
                WORD
            } else {
                OTHER
            };
            keep(at(imm), access);
        }
        if j >= 2 && code[j - 2] == 0x0f {
            if let Some(imm) = imm_after_0f(op) {
                let word = op == 0xb1 && rex_w(j.checked_sub(3).and_then(|k| code.get(k)));
                keep(at(imm), if word { WORD } else { OTHER });
            }
        }
    }
}

fn arm64(code: &[u8], entry: u64, keep: &mut impl FnMut(u64, Access)) {
    let insn = |i: usize| -> Option<u32> {
        let b = code.get(4 * i..4 * i + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let n = code.len() / 4;
    for i in 0..n {
        let Some(w) = insn(i) else { break };
        // ADRP Rd, label.
        if w & 0x9f00_0000 != 0x9000_0000 {
            continue;
        }
        let rd = w & 31;
        let immlo = u64::from((w >> 29) & 3);
        let immhi = u64::from((w >> 5) & 0x7_ffff);
        let imm = ((immhi << 2) | immlo) << 12;
        // Sign-extend the 33-bit page offset.
        let imm = ((imm << 31) as i64 >> 31) as u64;
        let pc = entry.wrapping_add(4 * i as u64);
        let page = (pc & !0xfff).wrapping_add(imm);
        // The instruction using it follows (Go emits the pair back to back).
        let Some(u) = insn(i + 1) else { break };
        let rn = (u >> 5) & 31;
        if rn != rd {
            continue;
        }
        let imm12 = u64::from((u >> 10) & 0xfff);
        if u & 0xff80_0000 == 0x9100_0000 {
            // ADD Xd, Xn, #imm12 (no shift).
            keep(page.wrapping_add(imm12), ADDR);
        } else if u & 0x3b00_0000 == 0x3900_0000 && u & (1 << 26) == 0 {
            // LDR/STR (unsigned offset), integer registers: imm12 scaled by size.
            let size = u >> 30;
            let access = if size == 3 { WORD } else { OTHER };
            keep(page.wrapping_add(imm12 << size), access);
        } else if u & 0x3b00_0000 == 0x3900_0000 {
            // LDR/STR (unsigned offset), FP/SIMD registers: scale from size and opc.
            let scale = (u >> 30) | (((u >> 23) & 1) << 2);
            if scale <= 4 {
                keep(page.wrapping_add(imm12 << scale), OTHER);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd64_rip_relative_load() {
        // 0x1000: 48 8b 05 10 00 00 00   MOVQ 0x1017(RIP), AX
        let code = [0x48, 0x8b, 0x05, 0x10, 0, 0, 0];
        let mut got = Vec::new();
        amd64(&code, 0x1000, &mut |a, k| got.push((a, k)));
        assert_eq!(got, vec![(0x1017, WORD)]);
        // 0x1000: 48 83 3d f8 ff ff ff 00   CMPQ -8(RIP), $0 -> 0x1008 - 8
        let code = [0x48, 0x83, 0x3d, 0xf8, 0xff, 0xff, 0xff, 0x00];
        let mut got = Vec::new();
        amd64(&code, 0x1000, &mut |a, k| got.push((a, k)));
        assert_eq!(got, vec![(0x1000, WORD)]);
        // 48 8d 0d 00 01 00 00   LEAQ 0x100(RIP), CX
        let code = [0x48, 0x8d, 0x0d, 0x00, 0x01, 0, 0];
        let mut got = Vec::new();
        amd64(&code, 0x1000, &mut |a, k| got.push((a, k)));
        assert_eq!(got, vec![(0x1107, ADDR)]);
    }

    #[test]
    fn arm64_adrp_pairs() {
        // 0x10000: ADRP X27, 0x20000 ; LDR X0, [X27, #0x18]
        let adrp = 0x9000_0000u32 | (0x10 << 5) | 27; // immhi = 0x10 -> 16 pages
        let ldr = 0xf940_0000u32 | (3 << 10) | (27 << 5); // imm12 = 3, scaled by 8
        let mut code = Vec::new();
        code.extend_from_slice(&adrp.to_le_bytes());
        code.extend_from_slice(&ldr.to_le_bytes());
        let mut got = Vec::new();
        arm64(&code, 0x10000, &mut |a, k| got.push((a, k)));
        // immhi=0x10, immlo=0 -> imm = 0x40 pages = 0x40000.
        assert_eq!(got, vec![(0x10000 + 0x40000 + 0x18, WORD)]);
        // ADD X1, X27, #0x20
        let add = 0x9100_0000u32 | (0x20 << 10) | (27 << 5) | 1;
        let mut code = Vec::new();
        code.extend_from_slice(&adrp.to_le_bytes());
        code.extend_from_slice(&add.to_le_bytes());
        let mut got = Vec::new();
        arm64(&code, 0x10000, &mut |a, k| got.push((a, k)));
        assert_eq!(got, vec![(0x10000 + 0x40000 + 0x20, ADDR)]);
    }
}
