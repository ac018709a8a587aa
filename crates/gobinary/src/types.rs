//! Runtime type descriptors (`internal/abi.Type` and its kind-specific extensions),
//! read from the binary without DWARF. Go 1.21 and later.

use crate::bytes::{uvarint, Encoding};
use crate::moduledata::Moduledata;
use crate::{Error, GoBinary, GoVersion, Location, Result};

/// A type's kind (`abi.Kind`).
///
/// ```
/// assert_eq!(gobinary::Kind::from_raw(25), gobinary::Kind::Struct);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Kind {
    Invalid,
    Bool,
    Int,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Uintptr,
    Float32,
    Float64,
    Complex64,
    Complex128,
    Array,
    Chan,
    Func,
    Interface,
    Map,
    Pointer,
    Slice,
    String,
    Struct,
    UnsafePointer,
}

impl Kind {
    /// The kind for the low five bits of `Kind_`.
    ///
    /// ```
    /// assert_eq!(gobinary::Kind::from_raw(22 | 0x20), gobinary::Kind::Pointer);
    /// ```
    pub fn from_raw(raw: u8) -> Kind {
        use Kind::*;
        const ALL: [Kind; 27] = [
            Invalid,
            Bool,
            Int,
            Int8,
            Int16,
            Int32,
            Int64,
            Uint,
            Uint8,
            Uint16,
            Uint32,
            Uint64,
            Uintptr,
            Float32,
            Float64,
            Complex64,
            Complex128,
            Array,
            Chan,
            Func,
            Interface,
            Map,
            Pointer,
            Slice,
            String,
            Struct,
            UnsafePointer,
        ];
        ALL.get(usize::from(raw & 0x1f)).copied().unwrap_or(Invalid)
    }
}

/// A struct field of a type descriptor.
///
/// ```no_run
/// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
/// for field in r.fields(t)? { println!("{} +{}", field.name, field.offset); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructField {
    /// Field name.
    pub name: String,
    /// Address of the field's type descriptor.
    pub typ: u64,
    /// Byte offset in the struct.
    pub offset: u64,
    /// Whether the field is embedded.
    pub embedded: bool,
}

/// A method of a named type (from its uncommon section).
///
/// ```no_run
/// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
/// for m in r.methods(t)? { println!("{}", m.name); }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// Method name.
    pub name: String,
    /// Offset of the method's func type from `moduledata.types` (-1 if unreachable).
    pub mtyp: i32,
    /// Offset of the interface-call entry from `moduledata.text` (-1 if unreachable).
    pub ifn: i32,
    /// Offset of the direct-call entry from `moduledata.text` (-1 if unreachable).
    pub tfn: i32,
}

/// The common header of a type descriptor.
///
/// ```no_run
/// # fn f(r: &gobinary::TypeReader<'_, '_>) -> gobinary::Result<()> {
/// for addr in r.typelinks()? {
///     let t = r.type_at(addr)?;
///     println!("{} {:?} size {}", t.name, t.kind, t.size);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDesc {
    /// Address of the descriptor.
    pub address: u64,
    /// `Size_`.
    pub size: u64,
    /// `PtrBytes`: prefix of the type that can hold pointers.
    pub ptr_bytes: u64,
    /// `Hash`.
    pub hash: u32,
    /// `TFlag`.
    pub tflag: u8,
    /// `Align_`.
    pub align: u8,
    /// `FieldAlign_`.
    pub field_align: u8,
    /// The kind.
    pub kind: Kind,
    /// `Kind_` as stored (with direct-iface and GC-program bits before 1.26).
    pub raw_kind: u8,
    /// `GCData`: pointer mask, GC program or on-demand slot (see `tflag`).
    pub gcdata: u64,
    /// The type's string (`*main.T`, `map[string]int`), with package *names*.
    pub name: String,
    /// `PtrToThis` offset (0 if none).
    pub ptr_to_this: i32,
}

/// Reads type descriptors relative to a module's `types` base.
///
/// ```no_run
/// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
/// let md = bin.moduledata()?;
/// let reader = bin.type_reader(&md)?;
/// let n = reader.typelinks()?.len();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TypeReader<'a, 'data> {
    bin: &'a GoBinary<'data>,
    types: u64,
    etypes: u64,
    typelinks: Option<crate::GoSlice>,
    enc: Encoding,
    minor: u32,
    swiss: bool,
}

/// Cap on struct fields, methods and typelinks read.
const MAX_ITEMS: u64 = 1 << 20;

impl<'data> GoBinary<'data> {
    /// A type-descriptor reader for the module described by `md` (Go 1.21+).
    ///
    /// ```no_run
    /// # fn f(bin: &gobinary::GoBinary<'_>) -> gobinary::Result<()> {
    /// let md = bin.moduledata()?;
    /// let reader = bin.type_reader(&md)?;
    /// # Ok(()) }
    /// ```
    pub fn type_reader(&self, md: &Moduledata<'_>) -> Result<TypeReader<'_, 'data>> {
        let v = self
            .build_info()
            .ok()
            .and_then(|b| GoVersion::parse(&b.go_version))
            .ok_or_else(|| Error::not_found("Go version (build info)"))?;
        if !v.at_least(1, 21) {
            return Err(Error::Unsupported {
                structure: "type descriptors",
                go_version: Some(v.raw),
                reason: "only Go 1.21 and later".into(),
            });
        }
        let (types, etypes) = md.types_range();
        Ok(TypeReader {
            bin: self,
            types,
            etypes,
            typelinks: md.typelinks(),
            enc: self.encoding(),
            minor: v.minor,
            swiss: v.at_least(1, 24) && !v.has_experiment("noswissmap"),
        })
    }
}

impl TypeReader<'_, '_> {
    fn p(&self) -> u64 {
        u64::from(self.enc.ptr_size)
    }

    fn header_size(&self) -> u64 {
        4 * self.p() + 16
    }

    fn bad(&self, addr: u64, reason: &str) -> Error {
        Error::malformed("type descriptor", Location::Address(addr), reason)
    }

    fn ptr(&self, addr: u64) -> Result<u64> {
        self.bin.read_ptr(addr)
    }

    fn u32_at(&self, addr: u64) -> Result<u32> {
        let b = self.bin.read_at(addr, 4)?;
        self.enc
            .read_u32(b, 0)
            .ok_or_else(|| self.bad(addr, "short"))
    }

    /// Addresses of the type descriptors listed in `moduledata.typelinks`
    /// (Go 1.21–1.26; 1.27 dropped the list).
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>) -> gobinary::Result<()> {
    /// let all = r.typelinks()?;
    /// # Ok(()) }
    /// ```
    pub fn typelinks(&self) -> Result<Vec<u64>> {
        let tl = self.typelinks.ok_or_else(|| Error::Unsupported {
            structure: "typelinks",
            go_version: Some(format!("go1.{}", self.minor)),
            reason: "moduledata has no typelinks in this release".into(),
        })?;
        let n = tl.len.min(MAX_ITEMS);
        let bytes = self.bin.read_at(tl.ptr, n.saturating_mul(4))?;
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            let off = self
                .enc
                .read_u32(bytes, i.saturating_mul(4))
                .ok_or_else(|| self.bad(tl.ptr, "short typelinks"))?;
            out.push(self.types.wrapping_add(u64::from(off)));
        }
        Ok(out)
    }

    /// Reads a name (`abi.Name`) at `addr`: (name, tag, has pkgpath, embedded).
    fn name(&self, addr: u64) -> Result<(String, u8, u64)> {
        let rest = self.bin.read_from(addr)?;
        let flag = *rest.first().ok_or_else(|| self.bad(addr, "empty name"))?;
        let (len, n) = uvarint(rest.get(1..).unwrap_or(&[]))
            .ok_or_else(|| self.bad(addr, "bad name length"))?;
        let start = 1usize.saturating_add(n);
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .ok_or_else(|| self.bad(addr, "name too long"))?;
        let bytes = rest
            .get(start..end)
            .ok_or_else(|| self.bad(addr, "name runs past its section"))?;
        Ok((
            String::from_utf8_lossy(bytes).into_owned(),
            flag,
            end as u64,
        ))
    }

    fn name_off(&self, off: i32) -> Result<String> {
        let addr = self.types.wrapping_add(off as i64 as u64);
        Ok(self.name(addr)?.0)
    }

    /// Reads the descriptor at `addr`.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>) -> gobinary::Result<()> {
    /// let t = r.type_at(0x4a1000)?;
    /// # Ok(()) }
    /// ```
    pub fn type_at(&self, addr: u64) -> Result<TypeDesc> {
        if addr < self.types || addr >= self.etypes {
            return Err(self.bad(addr, "outside moduledata.types"));
        }
        let p = self.p() as usize;
        let h = self.bin.read_at(addr, self.header_size())?;
        let short = || self.bad(addr, "short header");
        let e = self.enc;
        let tflag = *h.get(2 * p + 4).ok_or_else(short)?;
        let raw_kind = *h.get(2 * p + 7).ok_or_else(short)?;
        let str_off = e.read_u32(h, 4 * p + 8).ok_or_else(short)? as i32;
        let mut name = self.name_off(str_off)?;
        if tflag & 2 != 0 {
            if let Some(n) = name.strip_prefix('*') {
                name = n.to_string();
            }
        }
        Ok(TypeDesc {
            address: addr,
            size: e.read_ptr(h, 0).ok_or_else(short)?,
            ptr_bytes: e.read_ptr(h, p).ok_or_else(short)?,
            hash: e.read_u32(h, 2 * p).ok_or_else(short)?,
            tflag,
            align: *h.get(2 * p + 5).ok_or_else(short)?,
            field_align: *h.get(2 * p + 6).ok_or_else(short)?,
            kind: Kind::from_raw(raw_kind),
            raw_kind,
            gcdata: e.read_ptr(h, 3 * p + 8).ok_or_else(short)?,
            name,
            ptr_to_this: e.read_u32(h, 4 * p + 12).ok_or_else(short)? as i32,
        })
    }

    /// The element type of an array, chan, pointer, slice or map.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// if let Some(e) = r.elem(t)? { println!("{}", r.type_at(e)?.name); }
    /// # Ok(()) }
    /// ```
    pub fn elem(&self, t: &TypeDesc) -> Result<Option<u64>> {
        let base = t.address.wrapping_add(self.header_size());
        match t.kind {
            Kind::Array | Kind::Chan | Kind::Pointer | Kind::Slice => self.ptr(base).map(Some),
            Kind::Map => self.ptr(base.wrapping_add(self.p())).map(Some),
            _ => Ok(None),
        }
    }

    /// The key type of a map.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let key = r.key(t)?;
    /// # Ok(()) }
    /// ```
    pub fn key(&self, t: &TypeDesc) -> Result<Option<u64>> {
        match t.kind {
            Kind::Map => self
                .ptr(t.address.wrapping_add(self.header_size()))
                .map(Some),
            _ => Ok(None),
        }
    }

    /// The length of an array type.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let n = r.array_len(t)?;
    /// # Ok(()) }
    /// ```
    pub fn array_len(&self, t: &TypeDesc) -> Result<Option<u64>> {
        match t.kind {
            Kind::Array => self
                .ptr(t.address.wrapping_add(self.header_size() + 2 * self.p()))
                .map(Some),
            _ => Ok(None),
        }
    }

    /// The fields of a struct type (empty for other kinds).
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let fields = r.fields(t)?;
    /// # Ok(()) }
    /// ```
    pub fn fields(&self, t: &TypeDesc) -> Result<Vec<StructField>> {
        if t.kind != Kind::Struct {
            return Ok(Vec::new());
        }
        let p = self.p();
        let s = t.address.wrapping_add(self.header_size() + p);
        let ptr = self.ptr(s)?;
        let len = self.ptr(s.wrapping_add(p))?;
        if len > MAX_ITEMS {
            return Err(self.bad(t.address, "implausible field count"));
        }
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            let f = ptr.wrapping_add(i.wrapping_mul(3 * p));
            let name_ptr = self.ptr(f)?;
            let (name, flag, _) = self.name(name_ptr)?;
            out.push(StructField {
                name,
                typ: self.ptr(f.wrapping_add(p))?,
                offset: self.ptr(f.wrapping_add(2 * p))?,
                embedded: flag & 8 != 0,
            });
        }
        Ok(out)
    }

    /// Size of the kind-specific struct (header included) that an uncommon section follows.
    fn kind_struct_size(&self, kind: Kind) -> u64 {
        let (p, h) = (self.p(), self.header_size());
        let map = if self.minor >= 27 {
            (10 * p + 4).div_ceil(p) * p
        } else if self.swiss {
            (7 * p + 4).div_ceil(p) * p
        } else {
            4 * p + 8
        };
        h + match kind {
            Kind::Array => 3 * p,
            Kind::Chan => 2 * p,
            Kind::Func => 4u64.div_ceil(p) * p,
            Kind::Interface | Kind::Struct => 4 * p,
            Kind::Map => map,
            Kind::Pointer | Kind::Slice => p,
            _ => 0,
        }
    }

    /// The methods of a type with an uncommon section (named types), in the order
    /// the linker sorted them.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let names: Vec<_> = r.methods(t)?.into_iter().map(|m| m.name).collect();
    /// # Ok(()) }
    /// ```
    pub fn methods(&self, t: &TypeDesc) -> Result<Vec<Method>> {
        if t.tflag & 1 == 0 {
            return Ok(Vec::new());
        }
        let u = t.address.wrapping_add(self.kind_struct_size(t.kind));
        let b = self.bin.read_at(u, 16)?;
        let short = || self.bad(u, "short uncommon type");
        let mcount = self.enc.read_u16(b, 4).ok_or_else(short)?;
        let moff = self.enc.read_u32(b, 8).ok_or_else(short)?;
        let mut out = Vec::with_capacity(usize::from(mcount));
        for i in 0..u64::from(mcount) {
            let m = u.wrapping_add(u64::from(moff)).wrapping_add(i * 16);
            let name_off = self.u32_at(m)? as i32;
            out.push(Method {
                name: self.name_off(name_off)?,
                mtyp: self.u32_at(m + 4)? as i32,
                ifn: self.u32_at(m + 8)? as i32,
                tfn: self.u32_at(m + 12)? as i32,
            });
        }
        Ok(out)
    }

    /// The package path of a named type (from its uncommon section).
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let pkg = r.pkg_path(t)?;
    /// # Ok(()) }
    /// ```
    pub fn pkg_path(&self, t: &TypeDesc) -> Result<Option<String>> {
        if t.tflag & 1 == 0 {
            return Ok(None);
        }
        let u = t.address.wrapping_add(self.kind_struct_size(t.kind));
        let off = self.u32_at(u)? as i32;
        if off == 0 {
            return Ok(None);
        }
        self.name_off(off).map(Some)
    }

    /// The pointer mask of a type: one bit per word of its first `ptr_bytes`,
    /// when `GCData` holds a plain mask (not a GC program before 1.24, not an
    /// unfilled on-demand slot from 1.24).
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let mask = r.gc_mask(t)?;
    /// # Ok(()) }
    /// ```
    pub fn gc_mask(&self, t: &TypeDesc) -> Result<Vec<u8>> {
        let gc_prog = self.minor < 24 && t.raw_kind & 0x40 != 0;
        let on_demand = self.minor >= 24 && t.tflag & 0x10 != 0;
        if gc_prog || on_demand {
            return Err(Error::Unsupported {
                structure: "type GC mask",
                go_version: Some(format!("go1.{}", self.minor)),
                reason: if gc_prog {
                    "type uses a GC program".into()
                } else {
                    "mask is computed on demand at run time".into()
                },
            });
        }
        let words = t.ptr_bytes / self.p();
        self.bin
            .read_at(t.gcdata, words.div_ceil(8))
            .map(<[u8]>::to_vec)
    }
}
