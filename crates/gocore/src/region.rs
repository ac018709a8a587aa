//! [`Region`]: a typed view of process memory, for reading runtime structures by
//! field name. The runtime model is written on top of it, and it is public so that
//! other tools can walk runtime structures the model does not cover.
//!
//! Types are named as Go's DWARF spells them (`runtime.g`, `*runtime.mspan`,
//! `[]*runtime.g`, `[8]uint8`, `string`); the sizes and field offsets of named
//! runtime types come from the process's [`Layouts`](crate::layout::Layouts), so the
//! same code reads every supported Go release.

use crate::error::{Error, Result};
use crate::process::Process;

/// Longest string [`Region::string`] reads (longer lengths are reported as corrupt).
pub const MAX_STRING: u64 = 1 << 24;

/// Most elements an index may address in a slice or array (a sanity bound on
/// lengths read from a damaged core).
pub const MAX_ELEMS: u64 = 1 << 40;

/// A typed view of memory: an address, a Go type name and (when known) its size.
/// Every accessor returns a `Result`; nothing panics on bad memory.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// let allgs = proc.global("runtime.allgs", "[]*runtime.g")?;
/// for i in 0..allgs.slice_len()? {
///     let g = allgs.index(i)?.deref()?;
///     let id = g.field("goid")?.uint()?;
///     let pc = g.field("sched.pc")?.uint()?;
///     println!("goroutine {id} pc {pc:#x}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Region<'p> {
    proc: &'p Process<'p>,
    addr: u64,
    ty: String,
    size: Option<u64>,
}

impl std::fmt::Debug for Region<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Region({} at {:#x})", self.ty, self.addr)
    }
}

impl<'p> Region<'p> {
    pub(crate) fn new(proc: &'p Process<'p>, addr: u64, ty: &str) -> Region<'p> {
        Region {
            proc,
            addr,
            ty: ty.to_string(),
            size: None,
        }
    }

    /// The address.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let r = proc.region(0x1000, "runtime.g");
    /// assert_eq!(r.addr(), 0x1000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// The Go type name.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let sp = proc.region(0x1000, "runtime.g").field("sched.sp")?;
    /// assert_eq!(sp.type_name(), "uintptr");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn type_name(&self) -> &str {
        &self.ty
    }

    /// The size of the value, in bytes.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let n = proc.region(0x1000, "runtime.g").size()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size(&self) -> Result<u64> {
        match self.size {
            Some(s) => Ok(s),
            None => self.proc_size_of(&self.ty),
        }
    }

    /// Views the same memory as another type.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// // runtime.guintptr is a uintptr that holds a *runtime.g.
    /// let g = proc.region(0x1000, "runtime.m").field("curg")?.cast("*runtime.g").deref()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cast(&self, ty: &str) -> Region<'p> {
        Region {
            proc: self.proc,
            addr: self.addr,
            ty: ty.to_string(),
            size: None,
        }
    }

    /// A field (or nested field path, `"sched.sp"`) of a struct.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let lo = proc.region(0x1000, "runtime.g").field("stack.lo")?.uint()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn field(&self, path: &str) -> Result<Region<'p>> {
        let f = self.proc.layouts().field(&self.ty, path)?;
        Ok(Region {
            proc: self.proc,
            addr: self.addr.wrapping_add(f.offset),
            ty: f.type_name,
            size: Some(f.size),
        })
    }

    /// Follows a pointer (`*T` → `T`). A nil pointer is [`Error::Nil`].
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let m = proc.region(0x1000, "runtime.g").field("m")?.deref()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn deref(&self) -> Result<Region<'p>> {
        let Some(elem) = self.ty.strip_prefix('*') else {
            return Err(Error::WrongType {
                op: "deref",
                ty: self.ty.clone(),
            });
        };
        let p = self.ptr()?;
        if p == 0 {
            return Err(Error::Nil {
                what: self.ty.clone(),
            });
        }
        Ok(Region {
            proc: self.proc,
            addr: p,
            ty: elem.to_string(),
            size: None,
        })
    }

    /// The pointer-sized word at this address (for pointers, uintptrs and the data
    /// word of slices, strings and interfaces).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let raw = proc.region(0x1000, "*runtime.g").ptr()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ptr(&self) -> Result<u64> {
        self.read(self.addr, self.proc.ptr_size(), "pointer")
    }

    /// An unsigned integer of the value's own size (1, 2, 4 or 8 bytes): the same
    /// call reads a field whose width changed between Go releases.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let freeindex = proc.region(0x1000, "runtime.mspan").field("freeindex")?.uint()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn uint(&self) -> Result<u64> {
        let size = self.size()?;
        match size {
            1 | 2 | 4 | 8 => self.read(self.addr, size, "integer"),
            _ => Err(Error::WrongType {
                op: "uint",
                ty: format!("{} ({size} bytes)", self.ty),
            }),
        }
    }

    /// A signed integer of the value's own size, sign-extended.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let n = proc.region(0x1000, "runtime.p").field("status")?.int()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn int(&self) -> Result<i64> {
        let v = self.uint()?;
        let bits = self.size()? * 8;
        let shift = 64 - bits;
        Ok(((v << shift) as i64) >> shift)
    }

    /// A `bool`.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let ok = proc.region(0x1000, "bool").bool()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bool(&self) -> Result<bool> {
        Ok(self.read(self.addr, 1, "bool")? != 0)
    }

    /// 8 bytes as an unsigned integer, whatever the type.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let w = proc.region(0x1000, "uint64").u64()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn u64(&self) -> Result<u64> {
        self.read(self.addr, 8, "uint64")
    }

    /// 4 bytes as an unsigned integer, whatever the type.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let w = proc.region(0x1000, "uint32").u32()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn u32(&self) -> Result<u32> {
        Ok(self.read(self.addr, 4, "uint32")? as u32)
    }

    /// 2 bytes as an unsigned integer, whatever the type.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let w = proc.region(0x1000, "uint16").u16()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn u16(&self) -> Result<u16> {
        Ok(self.read(self.addr, 2, "uint16")? as u16)
    }

    /// 1 byte, whatever the type.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let b = proc.region(0x1000, "uint8").u8()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn u8(&self) -> Result<u8> {
        Ok(self.read(self.addr, 1, "uint8")? as u8)
    }

    /// Length of a slice (`[]T`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let n = proc.global("runtime.allgs", "[]*runtime.g")?.slice_len()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slice_len(&self) -> Result<u64> {
        self.slice_elem("slice_len")?;
        let ps = self.proc.ptr_size();
        self.read(self.addr.wrapping_add(ps), ps, "slice length")
    }

    /// Capacity of a slice (`[]T`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let c = proc.global("runtime.allgs", "[]*runtime.g")?.slice_cap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slice_cap(&self) -> Result<u64> {
        self.slice_elem("slice_cap")?;
        let ps = self.proc.ptr_size();
        self.read(self.addr.wrapping_add(2 * ps), ps, "slice capacity")
    }

    /// Length of an array type (`[N]T`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// assert_eq!(proc.region(0x1000, "[8]uint8").array_len()?, 8);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn array_len(&self) -> Result<u64> {
        parse_array(&self.ty)
            .map(|(n, _)| n)
            .ok_or_else(|| Error::WrongType {
                op: "array_len",
                ty: self.ty.clone(),
            })
    }

    /// Element `i` of a slice (`[]T`, bounds-checked against its length) or of an
    /// array (`[N]T`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let g0 = proc.global("runtime.allgs", "[]*runtime.g")?.index(0)?.deref()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn index(&self, i: u64) -> Result<Region<'p>> {
        let (base, len, elem) = if let Some((n, elem)) = parse_array(&self.ty) {
            (self.addr, n, elem.to_string())
        } else {
            let elem = self.slice_elem("index")?.to_string();
            (self.ptr()?, self.slice_len()?, elem)
        };
        if i >= len || len > MAX_ELEMS {
            return Err(Error::OutOfRange {
                what: format!("index into {} at {:#x}", self.ty, self.addr),
                value: i,
                limit: len.min(MAX_ELEMS),
            });
        }
        let esize = self.proc_size_of(&elem)?;
        let off = i.checked_mul(esize).ok_or_else(|| Error::OutOfRange {
            what: format!("offset of element {i} of {}", self.ty),
            value: i,
            limit: MAX_ELEMS,
        })?;
        Ok(Region {
            proc: self.proc,
            addr: base.wrapping_add(off),
            ty: elem,
            size: Some(esize),
        })
    }

    /// A Go `string` value (invalid UTF-8 is replaced; lengths over [`MAX_STRING`] are
    /// an error).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// let v = proc.global("runtime.buildVersion", "string")?.string()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn string(&self) -> Result<String> {
        if self.ty != "string" {
            return Err(Error::WrongType {
                op: "string",
                ty: self.ty.clone(),
            });
        }
        let ps = self.proc.ptr_size();
        let data = self.ptr()?;
        let len = self.read(self.addr.wrapping_add(ps), ps, "string length")?;
        if len > MAX_STRING {
            return Err(Error::OutOfRange {
                what: format!("string length at {:#x}", self.addr),
                value: len,
                limit: MAX_STRING,
            });
        }
        if len == 0 {
            return Ok(String::new());
        }
        let bytes = self
            .proc
            .core()
            .read(data, len as usize)
            .map_err(|source| Error::Memory {
                what: format!("string data of {} at {:#x}", self.ty, self.addr),
                source,
            })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn slice_elem(&self, op: &'static str) -> Result<&str> {
        self.ty.strip_prefix("[]").ok_or_else(|| Error::WrongType {
            op,
            ty: self.ty.clone(),
        })
    }

    fn read(&self, addr: u64, size: u64, what: &str) -> Result<u64> {
        let core = self.proc.core();
        let r = match size {
            1 => core.read_u8(addr).map(u64::from),
            2 => core.read_u16(addr).map(u64::from),
            4 => core.read_u32(addr).map(u64::from),
            _ => core.read_u64(addr),
        };
        r.map_err(|source| Error::Memory {
            what: format!("{what} of {} at {addr:#x}", self.ty),
            source,
        })
    }

    fn proc_size_of(&self, ty: &str) -> Result<u64> {
        size_of(self.proc, ty, 0)
    }
}

/// `[N]T` → `(N, T)`.
fn parse_array(ty: &str) -> Option<(u64, &str)> {
    let rest = ty.strip_prefix('[')?;
    let close = rest.find(']')?;
    let n = rest.get(..close)?.parse().ok()?;
    Some((n, rest.get(close + 1..)?))
}

/// Size of a Go type named as DWARF spells it: built-in and composite shapes by rule,
/// named types from the layouts.
fn size_of(proc: &Process<'_>, ty: &str, depth: u32) -> Result<u64> {
    let ps = proc.ptr_size();
    let word = |n: u64| Ok(n * ps);
    if depth > 16 {
        return Err(Error::WrongType {
            op: "size",
            ty: ty.to_string(),
        });
    }
    match ty {
        "bool" | "int8" | "uint8" | "byte" => return Ok(1),
        "int16" | "uint16" => return Ok(2),
        "int32" | "uint32" | "float32" | "rune" => return Ok(4),
        "int64" | "uint64" | "float64" | "complex64" => return Ok(8),
        "complex128" => return Ok(16),
        "int" | "uint" | "uintptr" | "unsafe.Pointer" => return word(1),
        "string" => return word(2),
        _ => {}
    }
    if ty.starts_with('*')
        || ty.starts_with("func(")
        || ty.starts_with("map[")
        || ty.starts_with("chan ")
        || ty.starts_with("<-chan ")
    {
        return word(1);
    }
    if ty.starts_with("[]") {
        return word(3);
    }
    if ty.starts_with("interface {") || ty == "error" {
        return word(2);
    }
    if let Some((n, elem)) = parse_array(ty) {
        let e = size_of(proc, elem, depth + 1)?;
        return n.checked_mul(e).ok_or_else(|| Error::OutOfRange {
            what: format!("size of {ty}"),
            value: n,
            limit: MAX_ELEMS,
        });
    }
    Ok(proc.layouts().size(ty)?)
}

#[cfg(test)]
mod tests {
    use super::parse_array;

    #[test]
    fn arrays() {
        assert_eq!(parse_array("[8]uint8"), Some((8, "uint8")));
        assert_eq!(parse_array("[2][3]*runtime.g"), Some((2, "[3]*runtime.g")));
        assert_eq!(parse_array("[]uint8"), None);
        assert_eq!(parse_array("[x]uint8"), None);
    }
}
