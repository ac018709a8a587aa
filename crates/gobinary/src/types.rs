//! Runtime type descriptors (`internal/abi.Type` and its kind-specific extensions),
//! read from the binary without DWARF. Go 1.19 and later.
//!
//! Go 1.19 and 1.20 declare the descriptors in `runtime/type.go` (`_type`,
//! `uncommontype`, `structfield`, `name`, `itab`); Go 1.21 moved them to
//! `internal/abi` with the same field order, sizes, kind/tflag bits and name
//! encoding (embedded flag in the name's bit 3, field offsets unshifted since
//! 1.19), so one reader serves 1.19-1.26. Go 1.18 still packed the embedded flag
//! into `structfield.offsetAnon` and is refused (`MIN_MINOR`).

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

impl std::fmt::Display for Kind {
    /// The kind as Go's `reflect.Kind.String` spells it.
    ///
    /// ```
    /// assert_eq!(gobinary::Kind::Pointer.to_string(), "ptr");
    /// assert_eq!(gobinary::Kind::UnsafePointer.to_string(), "unsafe.Pointer");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Kind::*;
        f.write_str(match self {
            Invalid => "invalid",
            Bool => "bool",
            Int => "int",
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            Uint => "uint",
            Uint8 => "uint8",
            Uint16 => "uint16",
            Uint32 => "uint32",
            Uint64 => "uint64",
            Uintptr => "uintptr",
            Float32 => "float32",
            Float64 => "float64",
            Complex64 => "complex64",
            Complex128 => "complex128",
            Array => "array",
            Chan => "chan",
            Func => "func",
            Interface => "interface",
            Map => "map",
            Pointer => "ptr",
            Slice => "slice",
            String => "string",
            Struct => "struct",
            UnsafePointer => "unsafe.Pointer",
        })
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
    itablinks: Option<crate::GoSlice>,
    /// Go 1.27: `typedesclen`, `itaboffset`, `itabsize`.
    typedesclen: Option<u64>,
    itab_range: Option<(u64, u64)>,
    enc: Encoding,
    minor: u32,
    swiss: bool,
}

/// Cap on struct fields, methods and typelinks read.
const MAX_ITEMS: u64 = 1 << 20;

impl<'data> GoBinary<'data> {
    /// A type-descriptor reader for the module described by `md` (Go 1.19+).
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
        if !v.at_least(1, MIN_MINOR) {
            return Err(Error::Unsupported {
                structure: "type descriptors",
                go_version: Some(v.raw),
                reason: "only Go 1.19 and later".into(),
            });
        }
        let (types, etypes) = md.types_range();
        Ok(TypeReader {
            bin: self,
            types,
            etypes,
            typelinks: md.typelinks(),
            itablinks: md.itablinks(),
            typedesclen: md.word("typedesclen"),
            itab_range: md
                .word("itaboffset")
                .zip(md.word("itabsize"))
                .map(|(o, s)| (types.wrapping_add(o), s)),
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
    /// (Go 1.19–1.26; 1.27 dropped the list).
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

    /// The pointer mask of a type: one bit per word of its first `ptr_bytes`, least
    /// significant bit first, `ceil(ptr_bytes / ptr_size / 8)` bytes long.
    ///
    /// Works for every way a release stores it: a plain mask in `GCData`; a GC
    /// program (Go 1.19–1.23, `KindGCProg`), which is run; and, from Go 1.24, a type
    /// with `TFlagGCMaskOnDemand` (large arrays and structs), whose mask is built
    /// from its element or field types as the runtime's `buildGCMask` does.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let mask = r.gc_mask(t)?;
    /// let first_word_is_pointer = mask.first().is_some_and(|b| b & 1 != 0);
    /// # Ok(()) }
    /// ```
    pub fn gc_mask(&self, t: &TypeDesc) -> Result<Vec<u8>> {
        let words = t.ptr_bytes / self.p();
        if words > MAX_MASK_WORDS {
            return Err(self.bad(t.address, "implausibly large pointer mask"));
        }
        let nbytes = words.div_ceil(8);
        if self.minor < 24 && t.raw_kind & 0x40 != 0 {
            // GCData: uint32 length, then the program.
            let prog = self.bin.read_from(t.gcdata.wrapping_add(4))?;
            let (mut bits, _) = crate::moduledata::run_gc_prog(prog, words).ok_or_else(|| {
                Error::malformed(
                    "GC program",
                    Location::Address(t.gcdata),
                    "bad or overlong program",
                )
            })?;
            bits.resize(nbytes as usize, 0);
            return Ok(bits);
        }
        if self.minor >= 24 && t.tflag & TFLAG_GC_MASK_ON_DEMAND != 0 {
            return self.build_gc_mask(t, words);
        }
        self.bin.read_at(t.gcdata, nbytes).map(<[u8]>::to_vec)
    }

    /// `runtime.buildGCMask` without recursion: a work list of (type, first word,
    /// repeat count, stride in words), with a bound on the total work.
    fn build_gc_mask(&self, t: &TypeDesc, words: u64) -> Result<Vec<u8>> {
        let p = self.p();
        let mut out = vec![0u8; words.div_ceil(8) as usize];
        let mut budget = words.saturating_mul(4).saturating_add(1 << 20);
        let mut work: Vec<(TypeDesc, u64, u64, u64)> = vec![(t.clone(), 0, 1, 0)];
        while let Some((t, at, count, stride)) = work.pop() {
            if t.ptr_bytes == 0 {
                continue;
            }
            if t.tflag & TFLAG_GC_MASK_ON_DEMAND == 0 {
                let n = t.ptr_bytes / p;
                let src = self.bin.read_at(t.gcdata, n.div_ceil(8))?;
                for k in 0..count {
                    let base = at.saturating_add(k.saturating_mul(stride));
                    budget = budget
                        .checked_sub(n.max(1))
                        .ok_or_else(|| self.bad(t.address, "GC mask takes too long to build"))?;
                    for i in 0..n {
                        let bit = src
                            .get((i / 8) as usize)
                            .is_some_and(|b| b & (1 << (i % 8)) != 0);
                        if bit {
                            let w = base.saturating_add(i);
                            let byte = out
                                .get_mut((w / 8) as usize)
                                .ok_or_else(|| self.bad(t.address, "GC mask overflows its type"))?;
                            *byte |= 1 << (w % 8);
                        }
                    }
                }
                continue;
            }
            budget = budget
                .checked_sub(count)
                .ok_or_else(|| self.bad(t.address, "GC mask takes too long to build"))?;
            match t.kind {
                Kind::Array => {
                    let elem = self
                        .elem(&t)?
                        .ok_or_else(|| self.bad(t.address, "array without element"))?;
                    let elem = self.type_at(elem)?;
                    let len = self.array_len(&t)?.unwrap_or(0);
                    let estride = elem.size / p;
                    for k in 0..count {
                        let base = at.saturating_add(k.saturating_mul(stride));
                        work.push((elem.clone(), base, len, estride));
                    }
                }
                Kind::Struct => {
                    let fields = self.fields(&t)?;
                    for k in 0..count {
                        let base = at.saturating_add(k.saturating_mul(stride));
                        for f in &fields {
                            let ft = self.type_at(f.typ)?;
                            if ft.ptr_bytes > 0 {
                                work.push((ft, base.saturating_add(f.offset / p), 1, 0));
                            }
                        }
                    }
                }
                _ => return Err(self.bad(t.address, "on-demand GC mask on a non-aggregate")),
            }
            if work.len() as u64 > MAX_ITEMS {
                return Err(self.bad(t.address, "GC mask takes too long to build"));
            }
        }
        Ok(out)
    }

    /// The size of the whole descriptor in the binary: the kind-specific struct,
    /// the uncommon section, then the trailing arrays (func parameters, interface
    /// methods, struct fields, methods) — `abi.Type.DescriptorSize`.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let next = t.address + r.descriptor_size(t)?;
    /// # Ok(()) }
    /// ```
    pub fn descriptor_size(&self, t: &TypeDesc) -> Result<u64> {
        let p = self.p();
        let mut size = self.kind_struct_size(t.kind);
        let add = match t.kind {
            Kind::Func => {
                let (ins, outs) = self.func_counts(t)?;
                (ins + outs) * p
            }
            Kind::Interface => {
                self.slice_at(t.address.wrapping_add(self.header_size() + p))?
                    .1
                    * 8
            }
            Kind::Struct => {
                self.slice_at(t.address.wrapping_add(self.header_size() + p))?
                    .1
                    * 3
                    * p
            }
            Kind::Invalid => return Err(self.bad(t.address, "invalid kind")),
            _ => 0,
        };
        let mut mcount = 0;
        if t.tflag & 1 != 0 {
            size += 16;
            let u = t.address.wrapping_add(self.kind_struct_size(t.kind));
            let b = self.bin.read_at(u, 16)?;
            mcount = u64::from(self.enc.read_u16(b, 4).unwrap_or(0));
        }
        Ok(size + add + mcount * 16)
    }

    /// (pointer, length) of a slice header at `addr`, the length capped.
    fn slice_at(&self, addr: u64) -> Result<(u64, u64)> {
        let ptr = self.ptr(addr)?;
        let len = self.ptr(addr.wrapping_add(self.p()))?;
        if len > MAX_ITEMS {
            return Err(self.bad(addr, "implausible slice length"));
        }
        Ok((ptr, len))
    }

    fn func_counts(&self, t: &TypeDesc) -> Result<(u64, u64)> {
        let b = self
            .bin
            .read_at(t.address.wrapping_add(self.header_size()), 4)?;
        let short = || self.bad(t.address, "short func type");
        let ins = self.enc.read_u16(b, 0).ok_or_else(short)?;
        let outs = self.enc.read_u16(b, 2).ok_or_else(short)? & 0x7fff;
        Ok((u64::from(ins), u64::from(outs)))
    }

    /// The parameter and result types of a func type (empty for other kinds).
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let sig = r.func_signature(t)?;
    /// println!("{} in, {} out, variadic {}", sig.params.len(), sig.results.len(), sig.variadic);
    /// # Ok(()) }
    /// ```
    pub fn func_signature(&self, t: &TypeDesc) -> Result<FuncSignature> {
        if t.kind != Kind::Func {
            return Ok(FuncSignature::default());
        }
        let (ins, outs) = self.func_counts(t)?;
        let b = self
            .bin
            .read_at(t.address.wrapping_add(self.header_size() + 2), 2)?;
        let variadic = self.enc.read_u16(b, 0).unwrap_or(0) & 0x8000 != 0;
        let mut at = t.address.wrapping_add(self.kind_struct_size(Kind::Func));
        if t.tflag & 1 != 0 {
            at = at.wrapping_add(16);
        }
        let p = self.p();
        let mut all = Vec::with_capacity((ins + outs) as usize);
        for i in 0..ins + outs {
            all.push(self.ptr(at.wrapping_add(i * p))?);
        }
        let results = all.split_off(ins as usize);
        Ok(FuncSignature {
            params: all,
            results,
            variadic,
        })
    }

    /// The methods of an interface type (empty for other kinds).
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// for m in r.interface_methods(t)? { println!("{} {:#x}", m.name, m.typ); }
    /// # Ok(()) }
    /// ```
    pub fn interface_methods(&self, t: &TypeDesc) -> Result<Vec<InterfaceMethod>> {
        if t.kind != Kind::Interface {
            return Ok(Vec::new());
        }
        let (ptr, len) = self.slice_at(t.address.wrapping_add(self.header_size() + self.p()))?;
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            let m = ptr.wrapping_add(i * 8);
            let name = self.name_off(self.u32_at(m)? as i32)?;
            let off = self.u32_at(m.wrapping_add(4))? as i32;
            out.push(InterfaceMethod {
                name,
                typ: self.types.wrapping_add(off as i64 as u64),
            });
        }
        Ok(out)
    }

    /// The map's internal bucket (Go ≤1.23 or `noswissmap`) or slot-group (Swiss
    /// tables) type — what the runtime allocates to hold the entries.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// if let Some(g) = r.map_group(t)? { println!("{}", r.type_at(g)?.name); }
    /// # Ok(()) }
    /// ```
    pub fn map_group(&self, t: &TypeDesc) -> Result<Option<u64>> {
        match t.kind {
            Kind::Map => self
                .ptr(t.address.wrapping_add(self.header_size() + 2 * self.p()))
                .map(Some),
            _ => Ok(None),
        }
    }

    /// The type's name with its package *path* when it is a named type with one
    /// (`example.com/m/pkg.T` instead of `pkg.T`); otherwise the runtime string.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// println!("{}", r.qualified_name(t)?);
    /// # Ok(()) }
    /// ```
    pub fn qualified_name(&self, t: &TypeDesc) -> Result<String> {
        if t.tflag & 4 == 0 {
            return Ok(t.name.clone());
        }
        match (self.pkg_path(t)?, t.name.split_once('.')) {
            (Some(path), Some((_, rest))) if !path.is_empty() && !t.name.starts_with('[') => {
                Ok(format!("{path}.{rest}"))
            }
            _ => Ok(t.name.clone()),
        }
    }

    /// Addresses of the descriptors a type refers to directly: element, key, map
    /// group/bucket, struct field types, func parameters and results, interface
    /// method types, method types, and the pointer-to-this type.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>, t: &gobinary::TypeDesc) -> gobinary::Result<()> {
    /// let n = r.referenced_types(t)?.len();
    /// # Ok(()) }
    /// ```
    pub fn referenced_types(&self, t: &TypeDesc) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        out.extend(self.elem(t)?);
        out.extend(self.key(t)?);
        out.extend(self.map_group(t)?);
        out.extend(self.fields(t)?.into_iter().map(|f| f.typ));
        let sig = self.func_signature(t)?;
        out.extend(sig.params);
        out.extend(sig.results);
        out.extend(self.interface_methods(t)?.into_iter().map(|m| m.typ));
        for m in self.methods(t)? {
            if m.mtyp > 0 {
                out.push(self.types.wrapping_add(m.mtyp as u64));
            }
        }
        if t.ptr_to_this > 0 {
            out.push(self.types.wrapping_add(t.ptr_to_this as u64));
        }
        // Nil pointers (no group for some map types, unset elems) are not types.
        out.retain(|&a| a != 0);
        Ok(out)
    }

    /// The type descriptors the module lists for reflect: `typelinks` up to Go
    /// 1.26; from Go 1.27 (which has no typelinks) the descriptors the linker
    /// places first in the types section, `[types+ptrsize, types+typedesclen)`,
    /// walked descriptor after descriptor (each as long as
    /// `abi.Type.DescriptorSize` says) as the runtime's `moduleTypelinks` does.
    /// The other descriptors follow, mixed with name data, so they are reached
    /// through [`Self::all_types`] instead.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>) -> gobinary::Result<()> {
    /// let roots = r.listed_types()?;
    /// # Ok(()) }
    /// ```
    pub fn listed_types(&self) -> Result<Vec<u64>> {
        let Some(len) = self.typedesclen else {
            return self.typelinks();
        };
        let p = self.p();
        let end = self.types.saturating_add(len).min(self.etypes);
        let mut td = self.types.saturating_add(p);
        let mut out = Vec::new();
        while td < end {
            td = td.div_ceil(p).saturating_mul(p);
            if td >= end {
                break;
            }
            if out.len() as u64 >= MAX_TYPES {
                return Err(self.bad(td, "too many type descriptors"));
            }
            let t = self.type_at(td)?;
            if t.kind == Kind::Invalid {
                return Err(self.bad(td, "walked onto an invalid descriptor"));
            }
            let size = self.descriptor_size(&t)?;
            out.push(td);
            td = td.saturating_add(size);
        }
        Ok(out)
    }

    /// The module's precompiled itabs: from `itablinks` up to Go 1.26, from the
    /// `[types+itaboffset, +itabsize)` block in Go 1.27.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>) -> gobinary::Result<()> {
    /// for itab in r.itabs()? {
    ///     let (i, t) = (r.type_at(itab.interface)?, r.type_at(itab.typ)?);
    ///     println!("{} implements {} ({} methods)", t.name, i.name, itab.methods.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn itabs(&self) -> Result<Vec<Itab>> {
        let mut out = Vec::new();
        if let Some((start, size)) = self.itab_range {
            let end = start.saturating_add(size);
            let mut at = start;
            while at < end {
                if out.len() as u64 >= MAX_ITEMS {
                    return Err(self.bad(at, "too many itabs"));
                }
                let itab = self.itab_at(at)?;
                at = at.saturating_add(itab.size.max(1));
                out.push(itab);
            }
            return Ok(out);
        }
        let links = self.itablinks.ok_or_else(|| Error::Unsupported {
            structure: "itabs",
            go_version: Some(format!("go1.{}", self.minor)),
            reason: "moduledata lists no itabs".into(),
        })?;
        let p = self.p();
        for i in 0..links.len.min(MAX_ITEMS) {
            let addr = self.ptr(links.ptr.wrapping_add(i * p))?;
            out.push(self.itab_at(addr)?);
        }
        Ok(out)
    }

    /// Reads the itab at `addr`.
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>) -> gobinary::Result<()> {
    /// let itab = r.itab_at(0x4c2000)?;
    /// # Ok(()) }
    /// ```
    pub fn itab_at(&self, addr: u64) -> Result<Itab> {
        let p = self.p();
        let interface = self.ptr(addr)?;
        let typ = self.ptr(addr.wrapping_add(p))?;
        let hash = self.u32_at(addr.wrapping_add(2 * p))?;
        // Go 1.19-1.22: hash, [4]byte padding, fun; 1.23+ (abi.ITab): hash, fun.
        let fun = if self.minor < 23 {
            2 * p + 8
        } else {
            (2 * p + 4).div_ceil(p) * p
        };
        let first = self.ptr(addr.wrapping_add(fun))?;
        let it = self.type_at(interface)?;
        let n = if first == 0 {
            0
        } else {
            self.slice_at(it.address.wrapping_add(self.header_size() + p))?
                .1
        };
        let mut methods = Vec::with_capacity(n as usize);
        for i in 0..n {
            methods.push(self.ptr(addr.wrapping_add(fun + i * p))?);
        }
        Ok(Itab {
            address: addr,
            interface,
            typ,
            hash,
            methods,
            size: fun + n.max(1) * p,
        })
    }

    /// Every type descriptor reachable from the listed types ([`Self::listed_types`])
    /// and the itabs, following what each descriptor refers to
    /// ([`Self::referenced_types`]); deduplicated and sorted by address. Addresses
    /// outside `[types, etypes)` are skipped (not followed).
    ///
    /// ```no_run
    /// # fn f(r: &gobinary::TypeReader<'_, '_>) -> gobinary::Result<()> {
    /// for addr in r.all_types()? {
    ///     let t = r.type_at(addr)?;
    ///     println!("{:#x} {} {:?} {}", addr, r.qualified_name(&t)?, t.kind, t.size);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn all_types(&self) -> Result<Vec<u64>> {
        let mut seen = std::collections::HashSet::new();
        let mut work = self.listed_types()?;
        match self.itabs() {
            Ok(itabs) => {
                for i in itabs {
                    work.push(i.interface);
                    work.push(i.typ);
                }
            }
            Err(Error::Unsupported { .. }) => {}
            Err(e) => return Err(e),
        }
        while let Some(addr) = work.pop() {
            if addr < self.types || addr >= self.etypes || !seen.insert(addr) {
                continue;
            }
            if seen.len() as u64 > MAX_TYPES {
                return Err(self.bad(addr, "too many type descriptors"));
            }
            let t = self.type_at(addr)?;
            work.extend(self.referenced_types(&t)?);
        }
        let mut out: Vec<u64> = seen.into_iter().collect();
        out.sort_unstable();
        Ok(out)
    }
}

/// Oldest release read: Go 1.18's `structfield.offsetAnon` held `offset<<1 |
/// embedded`; from 1.19 the offset is plain and the embedded flag is in the name.
const MIN_MINOR: u32 = 19;
/// `TFlagGCMaskOnDemand` (Go 1.24+).
const TFLAG_GC_MASK_ON_DEMAND: u8 = 0x10;
/// Cap on descriptors walked or collected.
const MAX_TYPES: u64 = 1 << 22;
/// Cap on a type's pointer-mask words (2^31 words: a 16 GiB type on 64-bit).
const MAX_MASK_WORDS: u64 = 1 << 31;

/// The parameter and result types of a func type.
///
/// ```
/// let sig = gobinary::FuncSignature::default();
/// assert!(sig.params.is_empty() && !sig.variadic);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FuncSignature {
    /// Parameter type descriptors.
    pub params: Vec<u64>,
    /// Result type descriptors.
    pub results: Vec<u64>,
    /// Whether the last parameter is `...T`.
    pub variadic: bool,
}

/// A method of an interface type (`abi.Imethod`).
///
/// ```
/// let m = gobinary::InterfaceMethod { name: "Read".into(), typ: 0x4a0000 };
/// assert_eq!(m.name, "Read");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceMethod {
    /// Method name.
    pub name: String,
    /// Address of the method's func type.
    pub typ: u64,
}

/// A precompiled interface table (`abi.ITab`): a concrete type's methods for an
/// interface.
///
/// ```
/// let i = gobinary::Itab { address: 0, interface: 1, typ: 2, hash: 0, methods: vec![], size: 32 };
/// assert!(i.methods.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Itab {
    /// Address of the itab.
    pub address: u64,
    /// The interface type's descriptor.
    pub interface: u64,
    /// The concrete type's descriptor.
    pub typ: u64,
    /// Copy of the concrete type's hash.
    pub hash: u32,
    /// Code addresses of the methods, in the interface's method order (empty when
    /// the type does not implement the interface: `fun[0] == 0`).
    pub methods: Vec<u64>,
    /// Size of the itab in bytes.
    pub size: u64,
}
