//! The one place where a file is memory-mapped (the crate's only `unsafe`).

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// A read-only memory map of a whole file (empty files are not mapped).
#[derive(Debug)]
pub(crate) struct Map {
    map: Option<memmap2::Mmap>,
}

impl Map {
    /// Maps `file` (opened from `path`, used for errors) read-only.
    pub(crate) fn new(file: &File, path: &Path) -> Result<Map> {
        let len = file
            .metadata()
            .map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?
            .len();
        if len == 0 {
            return Ok(Map { map: None });
        }
        // SAFETY: memmap2 requires that the file is not modified or truncated
        // while mapped, which we cannot enforce for files we do not own. Core
        // files, executables and libraries are normally never changed after
        // they are written, and decompressed inputs live in unlinked temporary
        // files that only this process can reach. If another process does
        // truncate a mapped file anyway, touching the lost pages raises SIGBUS
        // (the process dies; no memory unsafety is observable from safe code
        // beyond that), and a concurrent write changes the bytes we return.
        // This is the same trade-off ripgrep, gdb-like tools and object's
        // examples make to read large files without copying them.
        let map = unsafe { memmap2::Mmap::map(file) }.map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Map { map: Some(map) })
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.map {
            Some(m) => m,
            None => &[],
        }
    }
}
