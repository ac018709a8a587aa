//! The crate's error type.

use std::fmt;

/// Where in the binary a failure happened.
///
/// ```
/// use gobinary::Location;
/// assert_eq!(Location::Address(0x401000).to_string(), "address 0x401000");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A file offset.
    Offset(u64),
    /// A virtual address.
    Address(u64),
    /// An offset inside a named table (for example the pclntab).
    TableOffset(&'static str, u64),
    /// No particular place.
    Unknown,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Offset(o) => write!(f, "file offset {o:#x}"),
            Location::Address(a) => write!(f, "address {a:#x}"),
            Location::TableOffset(t, o) => write!(f, "{t} offset {o:#x}"),
            Location::Unknown => f.write_str("unknown location"),
        }
    }
}

/// Everything that can go wrong while reading a Go binary.
///
/// ```
/// use gobinary::{Error, GoBinary};
/// let err = GoBinary::parse(b"not an executable").unwrap_err();
/// assert!(matches!(err, Error::Format { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that was opened.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not an object file this crate understands.
    #[error("unrecognized object file: {reason}")]
    Format {
        /// What the object parser said.
        reason: String,
    },
    /// A structure the caller asked for is absent from the binary.
    #[error("{structure} not found{}", version_suffix(.go_version))]
    NotFound {
        /// The structure looked for (for example "build info").
        structure: &'static str,
        /// The Go version of the binary, when known.
        go_version: Option<String>,
    },
    /// A structure is present but cannot be read.
    #[error("malformed {structure} at {location}{}: {reason}", version_suffix(.go_version))]
    Malformed {
        /// The structure being read.
        structure: &'static str,
        /// Where it failed.
        location: Location,
        /// The Go version of the binary, when known.
        go_version: Option<String>,
        /// What was wrong.
        reason: String,
    },
    /// The binary was made by a Go release (or for a target) this crate has no layout for.
    #[error("unsupported {structure}{}: {reason}", version_suffix(.go_version))]
    Unsupported {
        /// The structure whose layout is unknown.
        structure: &'static str,
        /// The Go version of the binary, when known.
        go_version: Option<String>,
        /// Details.
        reason: String,
    },
}

fn version_suffix(v: &Option<String>) -> String {
    match v {
        Some(v) => format!(" (Go {v})"),
        None => String::new(),
    }
}

impl Error {
    pub(crate) fn malformed(
        structure: &'static str,
        location: Location,
        reason: impl Into<String>,
    ) -> Self {
        Error::Malformed {
            structure,
            location,
            go_version: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(structure: &'static str) -> Self {
        Error::NotFound {
            structure,
            go_version: None,
        }
    }

    /// Attaches a Go version to an error that has none yet.
    ///
    /// ```
    /// use gobinary::Error;
    /// let e = Error::NotFound { structure: "pclntab", go_version: None }.with_go_version(Some("go1.22.1"));
    /// assert_eq!(e.to_string(), "pclntab not found (Go go1.22.1)");
    /// ```
    pub fn with_go_version(mut self, version: Option<&str>) -> Self {
        if let Some(v) = version {
            match &mut self {
                Error::NotFound { go_version, .. }
                | Error::Malformed { go_version, .. }
                | Error::Unsupported { go_version, .. }
                    if go_version.is_none() =>
                {
                    *go_version = Some(v.to_string());
                }
                _ => {}
            }
        }
        self
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
