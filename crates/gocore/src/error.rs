//! The error type of the runtime model.

use crate::layout::LayoutError;

/// An error reading the Go runtime's state from a core.
///
/// Every variant says what was being read; memory errors carry the address.
///
/// ```
/// let e = gocore::Error::Nil { what: "*runtime.g".into() };
/// assert_eq!(e.to_string(), "nil pointer dereferenced: *runtime.g");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading process memory failed.
    #[error("reading {what}: {source}")]
    Memory {
        /// What was being read (`runtime.g.sched.sp at 0xc000…`).
        what: String,
        /// The underlying error (it names the address).
        #[source]
        source: corefile::Error,
    },
    /// A layout question could not be answered for this Go release.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The executable could not be read.
    #[error("executable: {0}")]
    Binary(#[from] gobinary::Error),
    /// The core has no executable to read the Go runtime's metadata from.
    #[error("the executable that produced the core was not found (pass it explicitly)")]
    NoExecutable,
    /// A runtime global could not be located.
    #[error("cannot locate {name}: {reason}")]
    NoGlobal {
        /// Symbol name, e.g. `runtime.mheap_`.
        name: String,
        /// Why.
        reason: String,
    },
    /// A nil pointer was dereferenced.
    #[error("nil pointer dereferenced: {what}")]
    Nil {
        /// The pointer's type.
        what: String,
    },
    /// A region was used as a type it does not have (e.g. `index` on a struct).
    #[error("{op} on a value of type {ty}")]
    WrongType {
        /// The operation.
        op: &'static str,
        /// The region's type.
        ty: String,
    },
    /// An index or length is out of range or implausible.
    #[error("{what}: {value} out of range (limit {limit})")]
    OutOfRange {
        /// What was indexed or measured.
        what: String,
        /// The value found.
        value: u64,
        /// The limit.
        limit: u64,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
