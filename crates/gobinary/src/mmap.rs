//! The one place this crate uses `unsafe`: memory-mapping a file.

use crate::{Error, GoBinary, Result};
use std::path::Path;

/// A file mapped read-only into memory.
///
/// # Safety assumptions
///
/// Mapping a file is only sound if no one truncates or rewrites it while the
/// map is alive: a truncated file makes later reads fault with `SIGBUS`, and a
/// rewritten file changes bytes that the parsers have already checked. Open only
/// files that are not being modified (a built binary, a core dump that has been
/// written completely). Use [`GoBinary::parse`] on bytes you read yourself when
/// that cannot be guaranteed.
///
/// ```no_run
/// let file = gobinary::MappedFile::open("/usr/local/go/bin/go")?;
/// let bin = file.parse()?;
/// println!("{:?}", bin.arch());
/// # Ok::<(), gobinary::Error>(())
/// ```
#[derive(Debug)]
pub struct MappedFile {
    map: memmap2::Mmap,
}

impl MappedFile {
    /// Maps the file at `path` read-only.
    ///
    /// ```no_run
    /// let file = gobinary::MappedFile::open("a.out")?;
    /// assert!(!file.bytes().is_empty());
    /// # Ok::<(), gobinary::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the mapping is private and read-only; see the type's documentation
        // for the assumption that the file is not truncated or modified meanwhile.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Ok(MappedFile { map })
    }

    /// The mapped bytes.
    ///
    /// ```no_run
    /// let file = gobinary::MappedFile::open("a.out")?;
    /// let magic = file.bytes().get(..4);
    /// # Ok::<(), gobinary::Error>(())
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Parses the mapped bytes as a Go binary.
    ///
    /// ```no_run
    /// let file = gobinary::MappedFile::open("a.out")?;
    /// let bin = file.parse()?;
    /// # Ok::<(), gobinary::Error>(())
    /// ```
    pub fn parse(&self) -> Result<GoBinary<'_>> {
        GoBinary::parse(self.bytes())
    }
}
