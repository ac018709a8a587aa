//! Decoding of the core-file notes (`NT_PRSTATUS`, `NT_PRPSINFO`,
//! `NT_SIGINFO`, `NT_AUXV`, `NT_FILE`) of 64-bit Linux targets.
//!
//! Every field is read through [`Desc`], which checks bounds and byte order;
//! nothing here can panic on malformed input.

use std::path::PathBuf;

use crate::arch::{Arch, Endian, Registers};

/// Bounds-checked, endian-aware reads from a note's descriptor.
#[derive(Clone, Copy)]
pub(crate) struct Desc<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) endian: Endian,
}

impl<'a> Desc<'a> {
    fn array<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        let end = off.checked_add(N)?;
        self.data.get(off..end)?.try_into().ok()
    }
    pub(crate) fn u16(&self, off: usize) -> Option<u16> {
        Some(self.endian.read_u16(self.array(off)?))
    }
    pub(crate) fn u32(&self, off: usize) -> Option<u32> {
        Some(self.endian.read_u32(self.array(off)?))
    }
    pub(crate) fn i32(&self, off: usize) -> Option<i32> {
        self.u32(off).map(|v| v as i32)
    }
    pub(crate) fn u64(&self, off: usize) -> Option<u64> {
        Some(self.endian.read_u64(self.array(off)?))
    }
    /// A NUL-terminated (or field-length) string in `len` bytes at `off`.
    fn cstr(&self, off: usize, len: usize) -> Option<String> {
        let end = off.checked_add(len)?;
        let field = self.data.get(off..end)?;
        let n = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        Some(String::from_utf8_lossy(field.get(..n)?).into_owned())
    }
}

/// One thread's `NT_PRSTATUS`.
#[derive(Clone, Debug)]
pub(crate) struct PrStatus {
    pub(crate) tid: u32,
    pub(crate) cursig: i32,
    pub(crate) signo: i32,
    pub(crate) code: i32,
    pub(crate) errno: i32,
    pub(crate) registers: Registers,
}

/// `offsetof(struct elf_prstatus, pr_reg)` on LP64 Linux targets.
const PR_REG: usize = 112;

pub(crate) fn prstatus(d: Desc<'_>, arch: Arch) -> Result<PrStatus, String> {
    let nregs = arch.register_names().len();
    let need = PR_REG + nregs * 8;
    if d.data.len() < need {
        return Err(format!(
            "{} bytes, need at least {need} for {arch}",
            d.data.len()
        ));
    }
    let mut values = Vec::with_capacity(nregs);
    for i in 0..nregs {
        values.push(d.u64(PR_REG + i * 8).ok_or("register out of range")?);
    }
    let short = || "too short".to_string();
    Ok(PrStatus {
        signo: d.i32(0).ok_or_else(short)?,
        code: d.i32(4).ok_or_else(short)?,
        errno: d.i32(8).ok_or_else(short)?,
        cursig: i32::from(d.u16(12).ok_or_else(short)? as i16),
        tid: d.u32(32).ok_or_else(short)?,
        registers: Registers::new(arch, &values),
    })
}

/// Process information from `NT_PRPSINFO`.
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// if let Some(p) = core.process() {
///     println!("pid {} ({}): {}", p.pid, p.fname, p.args);
/// }
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Process state letter (`R`, `S`, `D`, ...).
    pub state: char,
    /// Command name (at most 15 bytes, as the kernel truncates it).
    pub fname: String,
    /// Command line, arguments separated by spaces (at most 80 bytes).
    pub args: String,
}

pub(crate) fn prpsinfo(d: Desc<'_>) -> Result<ProcessInfo, String> {
    if d.data.len() < 136 {
        return Err(format!("{} bytes, need 136", d.data.len()));
    }
    let short = || "too short".to_string();
    Ok(ProcessInfo {
        state: char::from(*d.data.get(1).ok_or_else(short)?),
        uid: d.u32(16).ok_or_else(short)?,
        gid: d.u32(20).ok_or_else(short)?,
        pid: d.u32(24).ok_or_else(short)?,
        ppid: d.u32(28).ok_or_else(short)?,
        fname: d.cstr(40, 16).ok_or_else(short)?,
        args: d.cstr(56, 80).ok_or_else(short)?.trim_end().to_string(),
    })
}

/// The signal that killed the process.
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// if let Some(sig) = core.signal() {
///     println!("signal {} code {} addr {:?}", sig.signo, sig.code, sig.addr);
/// }
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignalInfo {
    /// Signal number (e.g. 6 for SIGABRT, 11 for SIGSEGV).
    pub signo: i32,
    /// `si_code`: how the signal was sent (> 0: by the kernel).
    pub code: i32,
    /// `si_errno`.
    pub errno: i32,
    /// Faulting address for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP raised
    /// by the kernel (`si_addr`); `None` when not known.
    pub addr: Option<u64>,
    /// Sending process for signals sent by a process (`si_pid`).
    pub sender_pid: Option<u32>,
    /// Thread that received the signal (the first thread of the core).
    pub tid: Option<u32>,
}

const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGBUS: i32 = 7;
const SIGFPE: i32 = 8;
const SIGSEGV: i32 = 11;

pub(crate) fn siginfo(d: Desc<'_>) -> Result<SignalInfo, String> {
    let short = || format!("{} bytes, too short", d.data.len());
    let signo = d.i32(0).ok_or_else(short)?;
    let errno = d.i32(4).ok_or_else(short)?;
    let code = d.i32(8).ok_or_else(short)?;
    let fault = matches!(signo, SIGILL | SIGTRAP | SIGBUS | SIGFPE | SIGSEGV);
    let (addr, sender_pid) = if code > 0 && fault {
        (d.u64(16), None)
    } else if code <= 0 {
        (None, d.u32(16))
    } else {
        (None, None)
    };
    Ok(SignalInfo {
        signo,
        code,
        errno,
        addr,
        sender_pid,
        tid: None,
    })
}

pub(crate) fn auxv(d: Desc<'_>) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    // Bounded by the descriptor length.
    for i in 0..d.data.len() / 16 {
        let (Some(k), Some(v)) = (d.u64(i * 16), d.u64(i * 16 + 8)) else {
            break;
        };
        if k == 0 {
            break;
        }
        out.push((k, v));
    }
    out
}

/// One entry of `NT_FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileEntry {
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// Offset in the file, in bytes.
    pub(crate) offset: u64,
    pub(crate) path: PathBuf,
}

pub(crate) fn nt_file(d: Desc<'_>) -> Result<Vec<FileEntry>, String> {
    let count = d.u64(0).ok_or("too short")?;
    let page = d.u64(8).ok_or("too short")?;
    let max = (d.data.len().saturating_sub(16) / 24) as u64;
    if count > max {
        return Err(format!(
            "{count} entries do not fit in {} bytes",
            d.data.len()
        ));
    }
    let count = count as usize;
    let mut names = d.data.get(16 + count * 24..).unwrap_or_default();
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = 16 + i * 24;
        let (Some(start), Some(end), Some(pgoff)) = (d.u64(at), d.u64(at + 8), d.u64(at + 16))
        else {
            return Err("truncated entry".into());
        };
        let offset = pgoff
            .checked_mul(page)
            .ok_or_else(|| format!("offset {pgoff:#x} pages of {page:#x} overflows"))?;
        let n = names
            .iter()
            .position(|&b| b == 0)
            .ok_or("file name not terminated")?;
        let name = names.get(..n).unwrap_or_default();
        names = names.get(n + 1..).unwrap_or_default();
        if end < start {
            return Err(format!("entry {start:#x}-{end:#x} ends before it starts"));
        }
        out.push(FileEntry {
            start,
            end,
            offset,
            path: path_from_bytes(name),
        });
    }
    Ok(out)
}

#[cfg(unix)]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn path_from_bytes(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(data: &[u8]) -> Desc<'_> {
        Desc {
            data,
            endian: Endian::Little,
        }
    }

    #[test]
    fn nt_file_rejects_huge_count() {
        let mut d = vec![0u8; 16];
        d[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(nt_file(le(&d)).is_err());
    }

    #[test]
    fn nt_file_parses() {
        let mut d = Vec::new();
        for v in [1u64, 4096, 0x1000, 0x2000, 3] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(b"/bin/x\0");
        let e = nt_file(le(&d)).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].offset, 3 * 4096);
        assert_eq!(e[0].path, PathBuf::from("/bin/x"));
        // Unterminated name.
        assert!(nt_file(le(&d[..d.len() - 1])).is_err());
    }

    #[test]
    fn short_notes_are_errors() {
        assert!(prstatus(le(&[0; 100]), Arch::Amd64).is_err());
        assert!(prstatus(le(&[0; 336]), Arch::Arm64).is_err());
        assert!(prstatus(le(&[0; 336]), Arch::Amd64).is_ok());
        assert!(prpsinfo(le(&[0; 135])).is_err());
        assert!(siginfo(le(&[0; 3])).is_err());
        assert_eq!(auxv(le(&[1; 15])), vec![]);
    }
}
