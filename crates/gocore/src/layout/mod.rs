//! Go-version layouts of runtime structures and constants: the one place in `gocore`
//! that knows them.
//!
//! A [`Layouts`] value (one per binary) answers three questions, whatever Go release
//! built the binary:
//!
//! * the size of a runtime type ([`Layouts::size`]),
//! * the offset, size and type of a field path ([`Layouts::field`], e.g.
//!   `("runtime.g", "sched.sp")`),
//! * the value of a runtime constant ([`Layouts::constant`], e.g.
//!   `runtime.heapArenaBytes`).
//!
//! Analyses ask these questions and never which Go version they run on.
//!
//! # Where the answers come from
//!
//! 1. **The binary's DWARF**, when present (`.debug_info`, zlib-compressed or not,
//!    DWARF 4 or 5). Only the catalogued names are looked up.
//! 2. **Generated tables** otherwise (`-ldflags=-w`, `-s -w`, Go's own tools): one per
//!    (minor release, non-default experiments, arch), made by `cargo xtask layouts`
//!    from the DWARF of a reference program built with every supported release, by
//!    the same extraction code as (1). A binary of patch release go1.N.P uses the table
//!    of go1.N (layouts do not change within a minor release).
//!
//! Both sources answer exactly the items of the *catalog* (`layout/catalog.rs`): asking
//! for anything else is [`LayoutError::NotInCatalog`] even when DWARF could answer, so
//! code tested on binaries with DWARF behaves the same on binaries without. An item
//! the catalog has but the release lacks (a field added later) is
//! [`LayoutError::MissingField`] (or `MissingType`, `MissingConstant`), naming type,
//! field and Go version; callers then take another path.
//!
//! # Choosing, once, at load
//!
//! [`Layouts::for_binary`] detects the version (build info, then the
//! `runtime.buildVersion` string), uses DWARF when the binary has readable DWARF and
//! otherwise the table for the release, experiments and arch. [`Layouts::selection`]
//! says which source answered and why. Supported: go1.21 through go1.27 on linux/amd64
//! and linux/arm64, with the experiments each release accepts that change layouts
//! (`noallocheaders` on 1.22, `noswissmap` on 1.24–1.25, `greenteagc` on 1.25,
//! `nogreenteagc` on 1.26–1.27). Experiments that no table was generated for are
//! ignored with a note in the selection.
//!
//! **Releases newer than the newest table** (say go1.28 before its table exists) are an
//! error by default ([`LayoutError::NoTable`]): offsets that silently shifted would give
//! garbage rather than errors. [`Options::newer_release`] set to
//! [`NewerRelease::UseNewest`] opts into the newest table with a warning in
//! [`Selection::notes`]. Binaries with DWARF are read whatever their release.
//!
//! # When a new Go release ships
//!
//! See `crates/gocore/src/layout/README.md`: add the release to the xtask's list, run
//! `cargo xtask layouts`, run the tests, commit the generated files.
//!
//! ```no_run
//! use gocore::layout::Layouts;
//! let bytes = std::fs::read("server")?;
//! let layouts = Layouts::for_binary(&bytes)?;
//! println!("layouts from {}", layouts.selection());
//! let sp = layouts.offset("runtime.g", "sched.sp")?;
//! let arena = layouts.constant("runtime.heapArenaBytes")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod catalog;
mod dwarf;
mod error;
mod generated;
mod table;

use std::collections::BTreeMap;
use std::fmt;

use gobinary::{GoBinary, GoVersion};

pub use error::{LayoutError, Result};

/// Longest `runtime.buildVersion` string read.
const MAX_VERSION_LEN: u64 = 256;

/// A field's place in its type.
///
/// ```
/// let f = gocore::layout::Field { offset: 56, size: 8, type_name: "uintptr".into() };
/// assert_eq!(f.end(), 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// Offset from the start of the outermost type, in bytes.
    pub offset: u64,
    /// Size of the field, in bytes.
    pub size: u64,
    /// Go name of the field's type as DWARF spells it (`uintptr`, `*runtime.g`,
    /// `internal/runtime/atomic.Uint32`).
    pub type_name: String,
}

impl Field {
    /// The offset just past the field.
    ///
    /// ```
    /// let f = gocore::layout::Field { offset: 8, size: 2, type_name: "uint16".into() };
    /// assert_eq!(f.end(), 10);
    /// ```
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.size)
    }
}

/// Everything extracted for one binary or table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LayoutData {
    pub(crate) sizes: BTreeMap<String, u64>,
    pub(crate) fields: BTreeMap<(String, String), Field>,
    pub(crate) consts: BTreeMap<String, i64>,
}

/// One extracted item, as listed by [`Layouts::items`].
///
/// ```
/// use gocore::layout::Item;
/// let i = Item::Constant { name: "runtime._Gscan".into(), value: 0x1000 };
/// assert_eq!(i.key(), "const runtime._Gscan");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Item {
    /// The size of a type.
    Size {
        /// Type name.
        ty: String,
        /// Size in bytes.
        size: u64,
    },
    /// A field path of a type.
    Field {
        /// Type name.
        ty: String,
        /// Field path (`sched.sp`).
        path: String,
        /// Offset, size and type.
        field: Field,
    },
    /// A constant.
    Constant {
        /// Constant name.
        name: String,
        /// Value (unsigned constants above `i64::MAX` are stored as their bits).
        value: i64,
    },
}

impl Item {
    /// A stable key naming the item regardless of its value (`size runtime.g`,
    /// `field runtime.g sched.sp`, `const runtime._Gscan`).
    ///
    /// ```
    /// use gocore::layout::Item;
    /// let i = Item::Size { ty: "runtime.g".into(), size: 440 };
    /// assert_eq!(i.key(), "size runtime.g");
    /// ```
    pub fn key(&self) -> String {
        match self {
            Item::Size { ty, .. } => format!("size {ty}"),
            Item::Field { ty, path, .. } => format!("field {ty} {path}"),
            Item::Constant { name, .. } => format!("const {name}"),
        }
    }
}

/// How the Go version was found.
///
/// ```
/// use gocore::layout::VersionSource;
/// assert_eq!(VersionSource::BuildInfo.to_string(), "build info");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VersionSource {
    /// The build-info blob (`go version -m`).
    BuildInfo,
    /// The `runtime.buildVersion` string found through the symbol table.
    BuildVersionSymbol,
    /// Given by the caller ([`Layouts::from_table`]).
    Given,
    /// Not found.
    Unknown,
}

impl fmt::Display for VersionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VersionSource::BuildInfo => "build info",
            VersionSource::BuildVersionSymbol => "runtime.buildVersion",
            VersionSource::Given => "caller",
            VersionSource::Unknown => "unknown",
        })
    }
}

/// Which source answers a [`Layouts`]'s questions.
///
/// ```
/// use gocore::layout::Source;
/// assert_eq!(Source::Dwarf.to_string(), "DWARF");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// The binary's own DWARF.
    Dwarf,
    /// A generated table.
    Table {
        /// Table name: `go1.24 X:noswissmap linux/amd64`.
        name: String,
        /// Version of the reference build the table was made from (`go1.24.11`).
        reference: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Dwarf => f.write_str("DWARF"),
            Source::Table { name, reference } => {
                write!(f, "table {name} (generated from {reference})")
            }
        }
    }
}

/// What was chosen for a binary, and why.
///
/// ```no_run
/// # let bytes = std::fs::read("server")?;
/// let l = gocore::layout::Layouts::for_binary(&bytes)?;
/// let s = l.selection();
/// println!("{s}");
/// for note in &s.notes { println!("note: {note}"); }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The answering source.
    pub source: Source,
    /// The Go version, when known.
    pub version: Option<GoVersion>,
    /// Experiments (from the ` X:` or `-X:` suffix of the version string).
    pub experiments: Vec<String>,
    /// How the version was found.
    pub version_source: VersionSource,
    /// GOARCH of the binary.
    pub arch: String,
    /// Why this source was chosen, and warnings (ignored experiments, newer release).
    pub notes: Vec<String>,
}

impl Selection {
    fn version_label(&self) -> String {
        match &self.version {
            Some(v) => v.raw.clone(),
            None => "unknown Go version".into(),
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} for {} {} (version from {})",
            self.source,
            self.version_label(),
            self.arch,
            self.version_source
        )
    }
}

/// What to do with a release newer than the newest generated table.
///
/// ```
/// use gocore::layout::{NewerRelease, Options};
/// let o = Options { newer_release: NewerRelease::UseNewest, ..Options::default() };
/// assert!(o.use_dwarf);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NewerRelease {
    /// Fail with [`LayoutError::NoTable`] (the default).
    #[default]
    Error,
    /// Use the newest table and say so in [`Selection::notes`].
    UseNewest,
}

/// Options for [`Layouts::for_binary_with`] and [`Layouts::from_table`].
///
/// ```
/// let o = gocore::layout::Options::default();
/// assert!(o.use_dwarf);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Options {
    /// Use the binary's DWARF when present (default `true`); `false` forces tables.
    pub use_dwarf: bool,
    /// Releases newer than the newest table.
    pub newer_release: NewerRelease,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            use_dwarf: true,
            newer_release: NewerRelease::Error,
        }
    }
}

/// A generated table, as listed by [`available_tables`].
///
/// ```
/// for t in gocore::layout::available_tables() {
///     println!("{} (from {})", t.name, t.reference);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableInfo {
    /// `go1.24 X:noswissmap linux/amd64`.
    pub name: String,
    /// Minor release.
    pub minor: u32,
    /// Non-default experiments, sorted.
    pub experiments: Vec<String>,
    /// GOARCH.
    pub arch: String,
    /// Version of the reference build (`go1.24.11`).
    pub reference: String,
}

/// Every generated table.
///
/// ```
/// let tables = gocore::layout::available_tables();
/// assert!(tables.iter().any(|t| t.minor == 21 && t.arch == "amd64"));
/// ```
pub fn available_tables() -> Vec<TableInfo> {
    table::all()
        .iter()
        .map(|t| TableInfo {
            name: t.name(),
            minor: t.minor,
            experiments: t.experiments.iter().map(|s| s.to_string()).collect(),
            arch: t.arch.to_string(),
            reference: t.reference.to_string(),
        })
        .collect()
}

/// Runtime layouts of one binary: sizes, field offsets and constants.
///
/// ```
/// use gobinary::GoVersion;
/// use gocore::layout::{Layouts, Options};
/// let v = GoVersion::parse("go1.24.3 X:noswissmap").unwrap();
/// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
/// assert_eq!(l.constant("runtime._Gscan")?, 0x1000);
/// assert!(l.size("runtime.hmap")? > 0);
/// assert!(l.field("runtime.g", "sched.sp").is_ok());
/// # Ok::<(), gocore::layout::LayoutError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Layouts {
    data: LayoutData,
    selection: Selection,
}

/// The experiments of a version string: gobinary's parse of ` X:a,b`, or the `-X:a,b`
/// form Go 1.26+ writes (which `GoVersion::parse` does not split).
fn experiments_of(v: &GoVersion) -> Vec<String> {
    if !v.experiments.is_empty() {
        return v.experiments.clone();
    }
    match v.raw.split_once("-X:") {
        Some((_, e)) => e
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => Vec::new(),
    }
}

/// The version chain: build info, then the `runtime.buildVersion` string.
fn detect_version(
    bin: &GoBinary<'_>,
    notes: &mut Vec<String>,
) -> (Option<GoVersion>, VersionSource) {
    match bin.build_info() {
        Ok(info) => match GoVersion::parse(&info.go_version) {
            Some(v) => return (Some(v), VersionSource::BuildInfo),
            None => notes.push(format!(
                "build info version {:?} is not a Go release",
                info.go_version
            )),
        },
        Err(e) => notes.push(format!("no build info: {e}")),
    }
    match build_version_symbol(bin) {
        Ok(s) => match GoVersion::parse(&s) {
            Some(v) => return (Some(v), VersionSource::BuildVersionSymbol),
            None => notes.push(format!("runtime.buildVersion {s:?} is not a Go release")),
        },
        Err(e) => notes.push(format!("no runtime.buildVersion: {e}")),
    }
    (None, VersionSource::Unknown)
}

fn build_version_symbol(bin: &GoBinary<'_>) -> std::result::Result<String, String> {
    let sym = bin.symbol("runtime.buildVersion").ok_or("no such symbol")?;
    let ptr = bin.read_ptr(sym.address).map_err(|e| e.to_string())?;
    let len_at = sym.address.saturating_add(u64::from(bin.ptr_size()));
    let len = bin.read_ptr(len_at).map_err(|e| e.to_string())?;
    if len == 0 || len > MAX_VERSION_LEN {
        return Err(format!("implausible length {len}"));
    }
    let bytes = bin.read_at(ptr, len).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

impl Layouts {
    /// Chooses the layouts of a Go executable: its DWARF when present and readable,
    /// else the generated table for its release, experiments and arch. Releases newer
    /// than the newest table are an error (see [`Layouts::for_binary_with`]).
    ///
    /// ```no_run
    /// let bytes = std::fs::read("server")?;
    /// let l = gocore::layout::Layouts::for_binary(&bytes)?;
    /// println!("{}", l.selection());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_binary(data: &[u8]) -> Result<Layouts> {
        Self::for_binary_with(data, &Options::default())
    }

    /// [`Layouts::for_binary`] with options: force tables, or accept releases newer
    /// than the newest table.
    ///
    /// ```no_run
    /// use gocore::layout::{Layouts, Options};
    /// let bytes = std::fs::read("server")?;
    /// let tables_only = Options { use_dwarf: false, ..Options::default() };
    /// let l = Layouts::for_binary_with(&bytes, &tables_only)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_binary_with(data: &[u8], opts: &Options) -> Result<Layouts> {
        let bin = GoBinary::parse(data).map_err(|e| LayoutError::Binary {
            reason: e.to_string(),
        })?;
        let mut notes = Vec::new();
        let (version, version_source) = detect_version(&bin, &mut notes);
        let arch = bin.arch().goarch().to_string();
        if opts.use_dwarf {
            match dwarf_data(data) {
                Ok(Some(d)) => {
                    notes.push("the binary has DWARF".into());
                    let experiments = version.as_ref().map(experiments_of).unwrap_or_default();
                    return Ok(Layouts {
                        data: d,
                        selection: Selection {
                            source: Source::Dwarf,
                            version,
                            experiments,
                            version_source,
                            arch,
                            notes,
                        },
                    });
                }
                Ok(None) => notes.push("the binary has no DWARF".into()),
                Err(reason) => notes.push(format!("the binary's DWARF is unreadable: {reason}")),
            }
        } else {
            notes.push("DWARF not used (tables forced)".into());
        }
        let Some(v) = version else {
            let reason = notes.join("; ");
            return Err(LayoutError::UnknownVersion { reason });
        };
        Self::table_for(v, version_source, &arch, opts, notes)
    }

    /// Layouts from a binary's DWARF only: an error when it has none. This is what
    /// `cargo xtask layouts` runs over its reference builds.
    ///
    /// ```no_run
    /// let bytes = std::fs::read("server")?;
    /// let l = gocore::layout::Layouts::from_dwarf(&bytes)?;
    /// assert_eq!(l.selection().source, gocore::layout::Source::Dwarf);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_dwarf(data: &[u8]) -> Result<Layouts> {
        let bin = GoBinary::parse(data).map_err(|e| LayoutError::Binary {
            reason: e.to_string(),
        })?;
        let mut notes = Vec::new();
        let (version, version_source) = detect_version(&bin, &mut notes);
        let label = version
            .as_ref()
            .map_or_else(|| "unknown Go version".to_string(), |v| v.raw.clone());
        let d = match dwarf_data(data) {
            Ok(Some(d)) => d,
            Ok(None) => return Err(LayoutError::NoDwarf { version: label }),
            Err(reason) => {
                return Err(LayoutError::Dwarf {
                    version: label,
                    reason,
                })
            }
        };
        let experiments = version.as_ref().map(experiments_of).unwrap_or_default();
        Ok(Layouts {
            data: d,
            selection: Selection {
                source: Source::Dwarf,
                version,
                experiments,
                version_source,
                arch: bin.arch().goarch().to_string(),
                notes,
            },
        })
    }

    /// Layouts from the generated table for a version (its minor release and
    /// experiments) and GOARCH (`amd64`, `arm64`).
    ///
    /// ```
    /// use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.22.10 X:noallocheaders").unwrap();
    /// let l = Layouts::from_table(&v, "arm64", &Options::default())?;
    /// assert!(l.field("runtime.heapArena", "bitmap").is_ok());
    /// let v = gobinary::GoVersion::parse("go1.19.1").unwrap();
    /// assert!(Layouts::from_table(&v, "amd64", &Options::default()).is_err());
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn from_table(version: &GoVersion, arch: &str, opts: &Options) -> Result<Layouts> {
        Self::table_for(
            version.clone(),
            VersionSource::Given,
            arch,
            opts,
            Vec::new(),
        )
    }

    fn table_for(
        v: GoVersion,
        version_source: VersionSource,
        arch: &str,
        opts: &Options,
        mut notes: Vec<String>,
    ) -> Result<Layouts> {
        let no_table = |reason: String| LayoutError::NoTable {
            version: v.raw.clone(),
            arch: arch.to_string(),
            reason,
        };
        let Some((oldest, newest)) = table::minor_range() else {
            return Err(no_table("no tables were generated".into()));
        };
        if v.major != 1 || v.minor < oldest {
            return Err(no_table(format!(
                "releases before go1.{oldest} are not supported"
            )));
        }
        let mut minor = v.minor;
        if minor > newest {
            match opts.newer_release {
                NewerRelease::Error => {
                    return Err(no_table(format!(
                        "the newest table is for go1.{newest}; add the release to `cargo xtask layouts`, or opt into the newest table with NewerRelease::UseNewest"
                    )))
                }
                NewerRelease::UseNewest => {
                    notes.push(format!(
                        "WARNING: go1.{} is newer than the newest table; using go1.{newest}, offsets may be wrong",
                        v.minor
                    ));
                    minor = newest;
                }
            }
        }
        let experiments = experiments_of(&v);
        let known = table::layout_experiments(minor);
        let mut selected: Vec<&str> = Vec::new();
        for e in &experiments {
            match known.iter().find(|k| **k == e.as_str()) {
                Some(k) => selected.push(k),
                None => notes.push(format!(
                    "experiment {e} has no table of its own for go1.{minor}; assumed not to change layouts"
                )),
            }
        }
        selected.sort_unstable();
        selected.dedup();
        let t = table::find(minor, &selected, arch).ok_or_else(|| {
            no_table(format!(
                "no table for go1.{minor} with experiments [{}] on {arch}",
                selected.join(",")
            ))
        })?;
        notes.push(format!(
            "table chosen by minor release go1.{minor}, experiments [{}], arch {arch}",
            selected.join(",")
        ));
        Ok(Layouts {
            data: t.resolve(),
            selection: Selection {
                source: Source::Table {
                    name: t.name(),
                    reference: t.reference.to_string(),
                },
                version: Some(v),
                experiments,
                version_source,
                arch: arch.to_string(),
                notes,
            },
        })
    }

    /// Which source answers, for which version, and why.
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options, Source};
    /// let v = gobinary::GoVersion::parse("go1.27.3").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// assert!(matches!(l.selection().source, Source::Table { .. }));
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    fn source_desc(&self) -> String {
        self.selection.source.to_string()
    }

    /// The size of a catalogued type, in bytes.
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.24.11").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// assert_eq!(l.size("internal/abi.Type")?, 48);
    /// assert!(l.size("runtime.hmap").is_err()); // swiss maps only in a default 1.24
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn size(&self, ty: &str) -> Result<u64> {
        if !catalog::has_type(ty) {
            return Err(LayoutError::NotInCatalog {
                item: format!("type {ty}"),
            });
        }
        self.data
            .sizes
            .get(ty)
            .copied()
            .ok_or_else(|| LayoutError::MissingType {
                ty: ty.to_string(),
                version: self.selection.version_label(),
                source_desc: self.source_desc(),
            })
    }

    /// The offset, size and type of a catalogued field path (`"sched.sp"`).
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.22.10").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// let f = l.field("runtime.mspan", "freeindex")?;
    /// assert_eq!((f.size, f.type_name.as_str()), (2, "uint16"));
    /// let err = l.field("runtime.g", "syscallbp").unwrap_err(); // added in 1.23
    /// assert!(err.to_string().contains("go1.22.10"));
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn field(&self, ty: &str, path: &str) -> Result<Field> {
        if !catalog::has_field(ty, path) {
            return Err(LayoutError::NotInCatalog {
                item: format!("field {ty}.{path}"),
            });
        }
        if let Some(f) = self.data.fields.get(&(ty.to_string(), path.to_string())) {
            return Ok(f.clone());
        }
        if !self.data.sizes.contains_key(ty) {
            return Err(LayoutError::MissingType {
                ty: ty.to_string(),
                version: self.selection.version_label(),
                source_desc: self.source_desc(),
            });
        }
        Err(LayoutError::MissingField {
            ty: ty.to_string(),
            field: path.to_string(),
            version: self.selection.version_label(),
            source_desc: self.source_desc(),
        })
    }

    /// The offset of a catalogued field path: [`Layouts::field`]`.offset`.
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.21.13").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// assert_eq!(l.offset("runtime.g", "stack.hi")?, 8);
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn offset(&self, ty: &str, path: &str) -> Result<u64> {
        self.field(ty, path).map(|f| f.offset)
    }

    /// Whether the release has this catalogued field (a way to branch without
    /// matching on errors).
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.25.5").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// assert!(l.has_field("runtime.mspan", "largeType"));
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn has_field(&self, ty: &str, path: &str) -> bool {
        self.field(ty, path).is_ok()
    }

    /// The value of a catalogued constant. Unsigned constants above `i64::MAX` (such
    /// as `runtime.arenaBaseOffsetUintptr` on amd64) come back as their bits: use
    /// [`Layouts::constant_u64`] for those.
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.26.6").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// assert_eq!(l.constant("runtime.heapArenaBytes")?, 64 << 20);
    /// assert_eq!(l.constant("internal/abi.PCDATA_StackMapIndex")?, 1);
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn constant(&self, name: &str) -> Result<i64> {
        if !catalog::has_constant(name) {
            return Err(LayoutError::NotInCatalog {
                item: format!("constant {name}"),
            });
        }
        self.data
            .consts
            .get(name)
            .copied()
            .ok_or_else(|| LayoutError::MissingConstant {
                name: name.to_string(),
                version: self.selection.version_label(),
                source_desc: self.source_desc(),
            })
    }

    /// A constant's bits as `u64` (for unsigned constants such as addresses).
    ///
    /// The compiler records only typed constants and untyped ones that fit an `int`:
    /// on amd64 the untyped `runtime.arenaBaseOffset` (0xffff800000000000) is absent,
    /// ask for the typed `runtime.arenaBaseOffsetUintptr`.
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.26.6").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// assert_eq!(l.constant_u64("runtime.arenaBaseOffsetUintptr")?, 0xffff800000000000);
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn constant_u64(&self, name: &str) -> Result<u64> {
        self.constant(name).map(|v| v as u64)
    }

    /// The first of several names a constant had across releases
    /// (`runtime._PageShift` became `runtime.pageShift`).
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.23.9").unwrap();
    /// let l = Layouts::from_table(&v, "amd64", &Options::default())?;
    /// assert_eq!(l.constant_any(&["runtime._PageShift", "runtime.pageShift"])?, 13);
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn constant_any(&self, names: &[&str]) -> Result<i64> {
        let mut first_err = None;
        for n in names {
            match self.constant(n) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| LayoutError::NotInCatalog {
            item: "constant (no name given)".into(),
        }))
    }

    /// Every item known for this binary, sorted by [`Item::key`].
    ///
    /// ```
    /// # use gocore::layout::{Layouts, Options};
    /// let v = gobinary::GoVersion::parse("go1.27.3").unwrap();
    /// let l = Layouts::from_table(&v, "arm64", &Options::default())?;
    /// assert!(l.items().len() > 100);
    /// # Ok::<(), gocore::layout::LayoutError>(())
    /// ```
    pub fn items(&self) -> Vec<Item> {
        let mut v: Vec<Item> = Vec::new();
        for (ty, size) in &self.data.sizes {
            v.push(Item::Size {
                ty: ty.clone(),
                size: *size,
            });
        }
        for ((ty, path), field) in &self.data.fields {
            v.push(Item::Field {
                ty: ty.clone(),
                path: path.clone(),
                field: field.clone(),
            });
        }
        for (name, value) in &self.data.consts {
            v.push(Item::Constant {
                name: name.clone(),
                value: *value,
            });
        }
        v.sort_by_key(Item::key);
        v
    }
}

/// DWARF of `data`: `Ok(None)` if there is none.
fn dwarf_data(data: &[u8]) -> std::result::Result<Option<LayoutData>, String> {
    let file = object::File::parse(data).map_err(|e| e.to_string())?;
    if !dwarf::has_dwarf(&file) {
        return Ok(None);
    }
    dwarf::extract(&file).map(Some)
}
