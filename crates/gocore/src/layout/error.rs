//! The layout module's error type.

/// Why a layout question could not be answered, or why no layouts could be chosen.
///
/// Every variant carries the Go version the answer was sought for (as the binary
/// states it, or `"unknown Go version"`), so a message read alone is enough to act.
///
/// ```
/// use gocore::layout::LayoutError;
/// let e = LayoutError::MissingField {
///     ty: "runtime.g".into(),
///     field: "syscallbp".into(),
///     version: "go1.22.10".into(),
///     source_desc: "DWARF".into(),
/// };
/// assert_eq!(
///     e.to_string(),
///     "runtime.g has no field syscallbp in go1.22.10 (according to DWARF)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The type does not exist in this release (or, with DWARF, in this binary).
    #[error("type {ty} does not exist in {version} (according to {source_desc})")]
    MissingType {
        /// Type name, e.g. `runtime.hmap`.
        ty: String,
        /// Go version.
        version: String,
        /// Which source answered: `DWARF` or a table name.
        source_desc: String,
    },
    /// The type exists but has no such field path in this release.
    #[error("{ty} has no field {field} in {version} (according to {source_desc})")]
    MissingField {
        /// Type name.
        ty: String,
        /// Field path, e.g. `sched.sp`.
        field: String,
        /// Go version.
        version: String,
        /// Which source answered.
        source_desc: String,
    },
    /// The constant does not exist in this release.
    #[error("constant {name} does not exist in {version} (according to {source_desc})")]
    MissingConstant {
        /// Constant name, e.g. `runtime.mallocHeaderSize`.
        name: String,
        /// Go version.
        version: String,
        /// Which source answered.
        source_desc: String,
    },
    /// The item is not in the catalog, so neither source knows it. Add it to
    /// `crates/gocore/src/layout/catalog.rs` and run `cargo xtask layouts`.
    #[error("{item} is not in the layout catalog (add it to layout/catalog.rs and run `cargo xtask layouts`)")]
    NotInCatalog {
        /// The item as asked (`runtime.g.foo`, `runtime.someConst`).
        item: String,
    },
    /// The binary could not be parsed.
    #[error("cannot read the binary: {reason}")]
    Binary {
        /// What failed.
        reason: String,
    },
    /// The binary has DWARF but it could not be read.
    #[error("cannot read the DWARF of a {version} binary: {reason}")]
    Dwarf {
        /// Go version.
        version: String,
        /// What failed.
        reason: String,
    },
    /// DWARF was required but the binary has none.
    #[error("the {version} binary has no DWARF")]
    NoDwarf {
        /// Go version.
        version: String,
    },
    /// The Go version could not be determined, so no table can be chosen.
    #[error("cannot tell the Go version of the binary ({reason}) and it has no usable DWARF")]
    UnknownVersion {
        /// What was tried.
        reason: String,
    },
    /// No generated table fits this release, architecture and experiments.
    #[error("no layout table for {version} on {arch}: {reason}")]
    NoTable {
        /// Go version.
        version: String,
        /// GOARCH.
        arch: String,
        /// Why (release too old or too new, experiment combination not generated, …).
        reason: String,
    },
}

/// `Result` with [`LayoutError`].
pub type Result<T, E = LayoutError> = std::result::Result<T, E>;
