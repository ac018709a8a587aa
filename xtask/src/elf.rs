//! Just enough ELF reading to check how an executable was linked.

use anyhow::{bail, Context, Result};
use std::path::Path;

fn u16le(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32le(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64le(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

pub struct ElfInfo {
    /// e_type: 2 = EXEC, 3 = DYN (PIE)
    pub e_type: u16,
    pub e_machine: u16,
    /// PT_INTERP contents, when dynamically linked.
    pub interp: Option<String>,
}

pub fn read_elf_info(path: &Path) -> Result<ElfInfo> {
    let b = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        bail!("{} is not a little-endian ELF64 file", path.display());
    }
    let bad = || anyhow::anyhow!("{}: truncated ELF header", path.display());
    let e_type = u16le(&b, 0x10).ok_or_else(bad)?;
    let e_machine = u16le(&b, 0x12).ok_or_else(bad)?;
    let phoff = u64le(&b, 0x20).ok_or_else(bad)? as usize;
    let phentsize = u16le(&b, 0x36).ok_or_else(bad)? as usize;
    let phnum = u16le(&b, 0x38).ok_or_else(bad)? as usize;
    let mut interp = None;
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if u32le(&b, o).ok_or_else(bad)? == 3 {
            let off = u64le(&b, o + 8).ok_or_else(bad)? as usize;
            let sz = u64le(&b, o + 32).ok_or_else(bad)? as usize;
            let s = b.get(off..off + sz).ok_or_else(bad)?;
            interp = Some(
                String::from_utf8_lossy(s)
                    .trim_end_matches('\0')
                    .to_string(),
            );
        }
    }
    Ok(ElfInfo {
        e_type,
        e_machine,
        interp,
    })
}
