//! Locating runtime globals, with or without a symbol table.
//!
//! [`Process::locate_global`] answers "where is `runtime.mheap_`?" through a chain,
//! and says which link answered ([`Method`]):
//!
//! 1. **The symbol table** (`.symtab`), when the executable has one. It is then
//!    authoritative: a name it lacks does not exist in this release, and the chain
//!    stops there, so binaries with and without symbols behave alike.
//! 2. **DWARF**, when the executable has no symbol table but has debug info
//!    (`-ldflags=-s -w=0`, or a symbol table removed by a tool): the
//!    `DW_TAG_variable` of that name with a `DW_OP_addr` location.
//! 3. **A structural signature** (stripped binaries, `-ldflags=-s -w`): a scan of
//!    the executable's data and bss *as the core holds them* (one copy, read once per
//!    [`Process`]) for a structure that validates field by field — for
//!    `runtime.mheap_` the `central` array whose element `i` has span class `i`, for
//!    `runtime.allgs` a slice of goroutines whose saved context points back at them.
//!    Where memory alone cannot tell a global from its neighbours (`runtime.allfin` is
//!    often nil, like the words around it), the signature also reads the code of the
//!    runtime functions that use it — the function table survives stripping — and
//!    keeps only the addresses their PC-relative loads and stores name (`code.rs`).
//!    A signature answers only when exactly one place matches; otherwise it is an
//!    error that says how many did. [`signature_globals`] lists the globals that have
//!    one and what each checks; other globals are an error on stripped binaries.
//!
//! Answers (and failures) are cached per [`Process`].

mod code;
mod dwarf;
mod image;
mod signature;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::process::Process;

/// Which link of the chain located a global.
///
/// ```
/// assert_eq!(gocore::Method::Signature.to_string(), "structural signature");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// The executable's symbol table.
    Symbol,
    /// A DWARF `DW_TAG_variable` with a static address.
    Dwarf,
    /// A validated scan of the executable's data and bss in the core.
    Signature,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Symbol => "symbol table",
            Method::Dwarf => "DWARF",
            Method::Signature => "structural signature",
        })
    }
}

/// Where a runtime global is, and how that was found.
///
/// ```
/// let g = gocore::GlobalLocation { addr: 0x5a0000, size: Some(8), method: gocore::Method::Symbol };
/// assert_eq!(g.to_string(), "0x5a0000 (symbol table)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalLocation {
    /// Run-time address (load bias applied).
    pub addr: u64,
    /// Size in bytes, when the method knows it (symbol size; the type's size for
    /// most signatures; `None` for arrays whose length a signature cannot see).
    pub size: Option<u64>,
    /// Which link of the chain answered.
    pub method: Method,
}

impl fmt::Display for GlobalLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x} ({})", self.addr, self.method)
    }
}

/// The globals that have a structural signature, with what each checks.
///
/// ```
/// assert!(gocore::signature_globals().iter().any(|(name, _)| *name == "runtime.mheap_"));
/// ```
pub fn signature_globals() -> &'static [(&'static str, &'static str)] {
    signature::SIGNATURES
}

type Cached = std::result::Result<GlobalLocation, String>;

/// Per-[`Process`] state of the chain: answers so far, and the DWARF index and data
/// image, each built at most once.
#[derive(Default)]
pub(crate) struct Cache {
    located: Mutex<HashMap<String, Cached>>,
    dwarf: OnceLock<std::result::Result<dwarf::Variables, String>>,
    image: OnceLock<std::result::Result<image::Image, String>>,
}

fn no_global(name: &str, reason: String) -> Error {
    Error::NoGlobal {
        name: name.to_string(),
        reason,
    }
}

impl Process<'_> {
    /// Locates a runtime global through the chain symbol table → DWARF → structural
    /// signature (see [`Method`]); the answer is computed once per process.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let proc = gocore::Process::new(&core)?;
    /// let at = proc.locate_global("runtime.mheap_")?;
    /// println!("runtime.mheap_ at {:#x}, found by {}", at.addr, at.method);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn locate_global(&self, name: &str) -> Result<GlobalLocation> {
        let cache = self.globals_cache();
        if let Some(hit) = lock(&cache.located).get(name) {
            return hit.clone().map_err(|r| no_global(name, r));
        }
        // Not holding the lock: a signature may locate other globals first.
        let answer = self.locate_uncached(name);
        lock(&cache.located).insert(name.to_string(), answer.clone());
        answer.map_err(|r| no_global(name, r))
    }

    /// Locates a global by its structural signature alone, ignoring symbols and
    /// DWARF (not cached; the data image is). For checking signatures against the
    /// symbol table, and for diagnostics.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let proc = gocore::Process::new(&core)?;
    /// let sig = proc.locate_by_signature("runtime.allgs")?;
    /// assert_eq!(Some(sig), proc.binary().symbol("runtime.allgs").map(|s| s.address + proc.load_bias()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn locate_by_signature(&self, name: &str) -> Result<u64> {
        self.signature(name)
            .map(|l| l.addr)
            .map_err(|r| no_global(name, r))
    }

    /// Locates a global by the executable's DWARF alone (the variable's
    /// `DW_AT_location`), ignoring the symbol table.
    ///
    /// ```no_run
    /// let core = corefile::Core::open("core")?;
    /// let proc = gocore::Process::new(&core)?;
    /// let addr = proc.locate_by_dwarf("runtime.allgs")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn locate_by_dwarf(&self, name: &str) -> Result<u64> {
        self.dwarf_variable(name)
            .map(|l| l.addr)
            .map_err(|r| no_global(name, r))
    }

    fn locate_uncached(&self, name: &str) -> Cached {
        let bin = self.binary();
        if bin.has_symbols() {
            return match bin.symbol(name) {
                Some(sym) if sym.address != 0 => Ok(GlobalLocation {
                    addr: sym.address.wrapping_add(self.load_bias()),
                    size: Some(sym.size).filter(|&s| s > 0),
                    method: Method::Symbol,
                }),
                _ => Err("not in the symbol table".into()),
            };
        }
        let dwarf_err = match self.dwarf_variable(name) {
            Ok(l) => return Ok(l),
            Err(e) => e,
        };
        self.signature(name).map_err(|sig_err| {
            format!("the executable has no symbol table (stripped); DWARF: {dwarf_err}; signature: {sig_err}")
        })
    }

    fn dwarf_variable(&self, name: &str) -> Cached {
        let vars = self
            .globals_cache()
            .dwarf
            .get_or_init(|| dwarf::variables(self.binary().data()));
        match vars {
            Ok(v) => match v.get(name) {
                Some(&a) if a != 0 => Ok(GlobalLocation {
                    addr: a.wrapping_add(self.load_bias()),
                    size: None,
                    method: Method::Dwarf,
                }),
                _ => Err("no such variable in DWARF".into()),
            },
            Err(e) => Err(e.clone()),
        }
    }

    fn signature(&self, name: &str) -> Cached {
        let img = self
            .globals_cache()
            .image
            .get_or_init(|| image::Image::read(self));
        let img = img.as_ref().map_err(Clone::clone)?;
        signature::locate(self, img, name)
            .map(|f| GlobalLocation {
                addr: f.addr,
                size: f.size,
                method: Method::Signature,
            })
            .map_err(|e| match self.version() {
                Some(v) => format!("{e} ({v}, ranges from {})", img.source),
                None => format!("{e} (ranges from {})", img.source),
            })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
