//! `corefile`: process memory, mappings, threads and registers of an ELF core
//! file, for amd64 and arm64 Linux processes.
//!
//! # Layers
//!
//! - **Input files** (`source`, `mmap`): the core, the executable and the
//!   libraries are memory-mapped; `.zst`/`.gz` inputs (recognised by their
//!   magic bytes) are first decompressed into an unlinked temporary file, so
//!   cores larger than memory work. The crate's only `unsafe` is the `mmap`
//!   call, in one module.
//! - **ELF structure** (`core`, `notes`): program headers and notes are read
//!   with `object`'s low-level ELF reader; the Linux note payloads
//!   (`NT_PRSTATUS`, `NT_PRPSINFO`, `NT_SIGINFO`, `NT_AUXV`, `NT_FILE`) are
//!   decoded with bounds-checked, endian-aware reads.
//! - **Files the core omits** (`exe`): the kernel leaves most file-backed
//!   memory (code, read-only data) out of cores. The executable is found
//!   (explicit path, the `NT_FILE` entry holding `AT_ENTRY`, or by name in
//!   the core's directory), checked against what the core does hold (entry
//!   point, program header address, build-ID note, read-only bytes) and its
//!   segments placed at the load bias `AT_ENTRY − e_entry`; libraries named in
//!   `NT_FILE` are found and checked the same way.
//! - **Address space** ([`Core`], [`Memory`]): a sorted list of pieces, each
//!   from the core, a file, known zeros (bss, beyond a file's end) or
//!   missing. Reads borrow when they fall within one piece and copy when
//!   they span several; missing or unmapped memory is an error carrying the
//!   address, never zeros.
//!
//! Nothing in this crate panics on malformed input: a truncated core opens
//! with a [`Warning::Truncated`] and reads of the lost part fail with
//! [`Missing::Truncated`]; garbage gives an [`Error`].
//!
//! ```no_run
//! use corefile::{Core, Memory, OpenOptions};
//!
//! let core = Core::open_with("testdata/core.zst", &OpenOptions::new().search_path("libs"))?;
//! for w in core.warnings() {
//!     eprintln!("warning: {w}");
//! }
//! for t in core.threads() {
//!     let regs = &t.registers;
//!     let ret = core.read_ptr(regs.sp())?;
//!     println!("{} pc={:#x} [sp]={ret:#x}", t.tid, regs.pc());
//! }
//! # Ok::<(), corefile::Error>(())
//! ```
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod arch;
mod core;
mod error;
mod exe;
#[allow(unsafe_code)]
mod mmap;
mod notes;
mod source;

use std::borrow::Cow;

pub use crate::arch::{Arch, Endian, Registers};
pub use crate::core::{Core, Mapping, OpenOptions, Perms, Thread};
pub use crate::error::{Error, Missing, Result, Warning};
pub use crate::exe::Executable;
pub use crate::notes::{ProcessInfo, SignalInfo};

/// A target's memory: implemented by [`Core`], and meant to be implemented
/// by other sources (a live process) so that analyses run on either.
///
/// Only [`arch`](Memory::arch), [`read`](Memory::read) and
/// [`read_exact`](Memory::read_exact) are required; the integer readers
/// decode in the target's byte order.
///
/// ```no_run
/// use corefile::{Core, Memory};
///
/// fn deref<M: Memory>(mem: &M, addr: u64) -> corefile::Result<u64> {
///     mem.read_ptr(addr)
/// }
/// let core = Core::open("core")?;
/// let v = deref(&core, core.threads()[0].registers.sp())?;
/// # Ok::<(), corefile::Error>(())
/// ```
pub trait Memory {
    /// The target architecture.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let ptr_size = Memory::arch(&core).ptr_size();
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn arch(&self) -> Arch;

    /// Reads `len` bytes at `addr`, borrowing when the source allows.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let bytes = Memory::read(&core, 0x400000, 4)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn read(&self, addr: u64, len: usize) -> Result<Cow<'_, [u8]>>;

    /// Fills `buf` with the bytes at `addr`.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let mut magic = [0u8; 4];
    /// Memory::read_exact(&core, 0x400000, &mut magic)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<()>;

    /// Reads a byte.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let b = Memory::read_u8(&core, 0x400000)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn read_u8(&self, addr: u64) -> Result<u8> {
        let mut b = [0; 1];
        self.read_exact(addr, &mut b)?;
        Ok(b[0])
    }

    /// Reads a target-endian `u16`.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let v = Memory::read_u16(&core, 0x400000)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn read_u16(&self, addr: u64) -> Result<u16> {
        let mut b = [0; 2];
        self.read_exact(addr, &mut b)?;
        Ok(self.arch().endian().read_u16(b))
    }

    /// Reads a target-endian `u32`.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let v = Memory::read_u32(&core, 0x400000)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn read_u32(&self, addr: u64) -> Result<u32> {
        let mut b = [0; 4];
        self.read_exact(addr, &mut b)?;
        Ok(self.arch().endian().read_u32(b))
    }

    /// Reads a target-endian `u64`.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let v = Memory::read_u64(&core, 0x400000)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn read_u64(&self, addr: u64) -> Result<u64> {
        let mut b = [0; 8];
        self.read_exact(addr, &mut b)?;
        Ok(self.arch().endian().read_u64(b))
    }

    /// Reads a pointer of the target's size.
    ///
    /// ```no_run
    /// # use corefile::Memory;
    /// # let core = corefile::Core::open("core")?;
    /// let p = Memory::read_ptr(&core, 0x400000)?;
    /// # Ok::<(), corefile::Error>(())
    /// ```
    fn read_ptr(&self, addr: u64) -> Result<u64> {
        match self.arch().ptr_size() {
            4 => self.read_u32(addr).map(u64::from),
            _ => self.read_u64(addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn core_is_send_sync() {
        assert_send_sync::<Core>();
    }
}
