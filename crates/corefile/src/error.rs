//! Errors and warnings.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the contents of a mapped address are not available.
///
/// ```
/// use corefile::Missing;
/// let reason = Missing::NotDumped;
/// assert_eq!(reason.to_string(), "not dumped in the core and not backed by a known file");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Missing {
    /// The kernel left the range out of the core (p_filesz < p_memsz) and no
    /// file is known to back it.
    NotDumped,
    /// The core file is shorter than its program headers say.
    Truncated,
    /// The range is backed by this file (path as recorded in the core), which
    /// was not found.
    FileNotFound(PathBuf),
    /// The range is backed by this file, but the file found does not match the
    /// one the process had mapped.
    FileMismatch(PathBuf),
    /// The file backing the range is shorter than its headers say.
    FileTruncated(PathBuf),
    /// The mapping has no access permissions (`---`): a reserved range the
    /// process itself could not read.
    NoAccess,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::NotDumped => {
                f.write_str("not dumped in the core and not backed by a known file")
            }
            Missing::Truncated => f.write_str("lost: the core file is truncated"),
            Missing::FileNotFound(p) => write!(f, "backing file {} not found", p.display()),
            Missing::FileMismatch(p) => {
                write!(f, "backing file {} does not match the core", p.display())
            }
            Missing::FileTruncated(p) => write!(f, "backing file {} is truncated", p.display()),
            Missing::NoAccess => f.write_str("mapped without access permissions (reserved)"),
        }
    }
}

/// An error opening a core or reading its memory.
///
/// ```no_run
/// match corefile::Core::open("core") {
///     Err(corefile::Error::Io { path, source }) => eprintln!("{}: {source}", path.display()),
///     Err(e) => eprintln!("{e}"),
///     Ok(core) => println!("{} threads", core.threads().len()),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a file (opening, mapping or decompressing it).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid ELF file, or a structure in it is malformed.
    #[error("{}: malformed {what}: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The structure being read (e.g. "ELF header", "program headers").
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The file is valid but of a kind this crate does not read.
    #[error("{}: unsupported: {what}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        what: String,
    },
    /// A read touched an address that no mapping of the core covers.
    #[error("address {addr:#x} is not mapped in the core")]
    Unmapped {
        /// The first unmapped address of the read.
        addr: u64,
    },
    /// A read touched an address that is mapped but whose contents are not
    /// available.
    #[error("address {addr:#x} is mapped but its contents are unavailable: {reason}")]
    Unavailable {
        /// The first unavailable address of the read.
        addr: u64,
        /// Why the contents are missing.
        reason: Missing,
    },
    /// A read's range wraps around the end of the address space.
    #[error("read of {len} bytes at {addr:#x} overflows the address space")]
    Overflow {
        /// Start of the read.
        addr: u64,
        /// Its length.
        len: u64,
    },
    /// The executable given explicitly does not belong to the core.
    #[error("executable {} does not match the core: {reason}", path.display())]
    ExecutableMismatch {
        /// The executable.
        path: PathBuf,
        /// How it differs.
        reason: String,
    },
}

impl Error {
    /// The address a memory read failed at, if this is a read error.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// if let Err(e) = core.read_u64(0) {
    ///     assert_eq!(e.addr(), Some(0));
    /// }
    /// # Ok::<(), corefile::Error>(())
    /// ```
    pub fn addr(&self) -> Option<u64> {
        match self {
            Error::Unmapped { addr }
            | Error::Unavailable { addr, .. }
            | Error::Overflow { addr, .. } => Some(*addr),
            _ => None,
        }
    }
}

/// A non-fatal problem found while opening a core.
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// for w in core.warnings() {
///     eprintln!("warning: {w}");
/// }
/// # Ok::<(), corefile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The core file is shorter than its program headers say; reads of the
    /// lost part fail with [`Missing::Truncated`].
    Truncated {
        /// Size the program headers imply.
        expected: u64,
        /// Actual size.
        actual: u64,
    },
    /// A note could not be decoded and was skipped.
    BadNote {
        /// The note (e.g. "NT_FILE").
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A program header was ignored (overlapping or out of range).
    BadSegment {
        /// Virtual address of the segment.
        vaddr: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// A file mapped by the process was not found; its omitted contents are
    /// unavailable.
    FileNotFound {
        /// The path recorded in the core.
        path: PathBuf,
        /// The places looked at.
        tried: Vec<PathBuf>,
    },
    /// A file was found but does not match what the process had mapped.
    FileMismatch {
        /// The path recorded in the core.
        path: PathBuf,
        /// The file found.
        found: PathBuf,
        /// How it differs.
        reason: String,
    },
    /// No executable matching the core was found.
    ExecutableNotFound {
        /// The places looked at.
        tried: Vec<PathBuf>,
    },
    /// An executable candidate was rejected (or, if forced, used) although it
    /// does not match the core.
    ExecutableMismatch {
        /// The candidate.
        path: PathBuf,
        /// How it differs.
        reason: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Truncated { expected, actual } => write!(
                f,
                "core file is truncated: {actual} bytes, program headers need {expected}"
            ),
            Warning::BadNote { what, detail } => write!(f, "ignored bad {what} note: {detail}"),
            Warning::BadSegment { vaddr, detail } => {
                write!(f, "ignored segment at {vaddr:#x}: {detail}")
            }
            Warning::FileNotFound { path, tried } => {
                write!(f, "mapped file {} not found (tried", path.display())?;
                for t in tried {
                    write!(f, " {}", t.display())?;
                }
                f.write_str(")")
            }
            Warning::FileMismatch {
                path,
                found,
                reason,
            } => write!(
                f,
                "{} does not match mapped file {}: {reason}",
                found.display(),
                path.display()
            ),
            Warning::ExecutableNotFound { tried } => {
                f.write_str("executable not found (tried")?;
                for t in tried {
                    write!(f, " {}", t.display())?;
                }
                f.write_str(")")
            }
            Warning::ExecutableMismatch { path, reason } => write!(
                f,
                "executable {} does not match the core: {reason}",
                path.display()
            ),
        }
    }
}
