//! `gobinary`: what a Go binary says about itself, with no core and no DWARF needed.
//!
//! The layers, bottom up:
//!
//! * [`GoBinary`] opens an ELF, PE or Mach-O (also universal) executable from bytes
//!   (or from a [`MappedFile`]) and reports its format, target, sections, symbols and
//!   build IDs. Every reader works on borrowed bytes, so the same code serves a
//!   memory-mapped file or a buffer handed in by another crate.
//! * [`BuildInfo`] (from [`GoBinary::build_info`]): Go version, modules and build
//!   settings, rendered exactly as `go version -m` prints them.
//! * [`Pclntab`] (from [`GoBinary::pclntab`]): the function table — names, entry and
//!   end PCs, file:line, frame sizes, pcdata/funcdata and inlined frames.
//! * [`Moduledata`] (from [`GoBinary::moduledata`]): `runtime.moduledata`, read with
//!   a per-release layout (the only version-keyed offsets in the crate live in one
//!   private module), and the data/bss pointer masks it leads to.
//! * [`TypeReader`] (from [`GoBinary::type_reader`]): runtime type descriptors
//!   (names, kinds, sizes, fields, methods, pointer masks), itabs, and every type
//!   reachable from them ([`TypeReader::all_types`]) — how types are known
//!   without DWARF.
//! * [`Vulncheck`] (from [`GoBinary::symbols_for_vulncheck`]): the packages and
//!   symbols present, inlined ones included, each with its module.
//!
//! Nothing here panics on malformed input: every read is bounds-checked, lengths
//! read from the file are capped and every loop has a bound. Errors are [`Error`]
//! values that say which structure failed, where, and (when known) for which Go
//! release.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod binary;
mod buildinfo;
mod bytes;
mod error;
mod layouts;
mod mmap;
mod moduledata;
mod pclntab;
mod quote;
mod types;
mod version;
mod vulncheck;

pub use binary::{Arch, Format, GoBinary, Os, Section, SectionKind, Symbol};
pub use buildinfo::{BuildInfo, BuildSetting, HeaderForm, Module};
pub use bytes::{Encoding, Endian};
pub use error::{Error, Location, Result};
pub use mmap::MappedFile;
pub use moduledata::{FoundBy, GoSlice, Moduledata, PointerMask};
pub use pclntab::{
    funcdata, package_of, pcdata, FileLine, Frame, Func, FuncFlags, InlinedFunc, Pclntab,
    PclntabVersion,
};
pub use types::{
    FuncSignature, InterfaceMethod, Itab, Kind, Method, StructField, TypeDesc, TypeReader,
};
pub use version::GoVersion;
pub use vulncheck::{module_of, vulncheck_name, VulnSymbol, Vulncheck};
