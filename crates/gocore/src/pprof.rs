//! Writing profiles in pprof's format (`profile.proto`, gzip-compressed), which
//! `go tool pprof` reads.
//!
//! [`ProfileBuilder`] is a small, dependency-free encoder: named sample types, frames
//! (a function name with an optional file and line), stacks built as a prefix tree
//! from the outermost frame inwards, and per-stack values that add up. The encoded
//! message has the string table, one mapping (the main binary), functions, locations (one line each)
//! and one sample per stack with a non-zero value.
//!
//! [`heap_profile`] builds the retention profile of a heap: one sample per group of
//! live objects reached along the same path of types from the same root — the root as
//! the outermost frame, the types along the path, the object's type as the leaf.
//! [`dominator_profile`] uses dominator chains as stacks instead, so that cumulative
//! values are retained sizes.
//!
//! ```
//! let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count"), ("space", "bytes")]);
//! let root = b.frame("main.gServer", "", 0);
//! let leaf = b.frame("main.Session", "", 0);
//! let s = b.stack(None, root);
//! let s = b.stack(Some(s), leaf);
//! b.add(s, &[1, 96]);
//! b.add(s, &[1, 96]);
//! let bytes = b.encode();
//! assert!(!bytes.is_empty());
//! assert_eq!(b.totals(), vec![2, 192]);
//! ```

use std::collections::HashMap;
use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use gobinary::TypeReader;

use crate::diff::{slot_bytes, type_key, type_name, TypeKey};
use crate::dominators::Dominators;
use crate::graph::{NodeId, NodeKind, ObjectGraph, RootGroup};
use crate::heap::{Heap, ObjId, Object};
use crate::process::Process;
use crate::roots::{land, Landing, Root, RootKind, RootSet};
use crate::types::{ObjType, Typing};

/// A frame interned by [`ProfileBuilder::frame`] (a pprof location).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameId(u32);

/// A stack interned by [`ProfileBuilder::stack`]: a frame under a parent stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StackId(u32);

/// An in-memory profile; see the [module documentation](self).
///
/// ```
/// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
/// let f = b.frame("main.main", "/src/main.go", 12);
/// let s = b.stack(None, f);
/// b.add(s, &[3]);
/// let mut gz = Vec::new();
/// b.write_gzip(&mut gz)?;
/// assert_eq!(&gz[..2], &[0x1f, 0x8b]);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProfileBuilder {
    sample_types: Vec<(i64, i64)>,
    default_sample_type: i64,
    comments: Vec<i64>,
    main_binary: i64,
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    /// Per frame: (name, file, line) as string ids and line.
    frames: Vec<(i64, i64, i64)>,
    frame_ids: FxMap<(i64, i64, i64), u32>,
    /// Per stack: (parent stack + 1 or 0, frame).
    stacks: Vec<(u32, u32)>,
    stack_ids: FxMap<(u32, u32), u32>,
    /// Per stack: its number of frames.
    depths: Vec<u32>,
    /// Per stack: one value per sample type.
    values: Vec<i64>,
}

impl ProfileBuilder {
    /// A profile whose samples have these `(type, unit)` values, in this order
    /// (`("space", "bytes")`).
    ///
    /// ```
    /// let b = gocore::pprof::ProfileBuilder::new(&[("objects", "count"), ("space", "bytes")]);
    /// assert_eq!(b.totals(), vec![0, 0]);
    /// ```
    pub fn new(sample_types: &[(&str, &str)]) -> ProfileBuilder {
        let mut b = ProfileBuilder {
            sample_types: Vec::new(),
            default_sample_type: 0,
            comments: Vec::new(),
            main_binary: 0,
            strings: Vec::new(),
            string_ids: HashMap::new(),
            frames: Vec::new(),
            frame_ids: FxMap::default(),
            stacks: Vec::new(),
            stack_ids: FxMap::default(),
            depths: Vec::new(),
            values: Vec::new(),
        };
        b.string("");
        for (t, u) in sample_types {
            let st = (b.string(t), b.string(u));
            b.sample_types.push(st);
        }
        b
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.string_ids.get(s) {
            return i;
        }
        let i = self.strings.len() as i64;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), i);
        i
    }

    /// Which sample type `go tool pprof` shows unless told otherwise (`-sample_index`).
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count"), ("space", "bytes")]);
    /// b.set_default_sample_type("space");
    /// ```
    pub fn set_default_sample_type(&mut self, name: &str) {
        self.default_sample_type = self.string(name);
    }

    /// Names the main binary (`go tool pprof` prints it as `File:`).
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// b.set_main_binary("/usr/local/bin/server");
    /// ```
    pub fn set_main_binary(&mut self, path: &str) {
        self.main_binary = self.string(path);
    }

    /// Adds a comment (`go tool pprof -comments` prints them).
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// b.add_comment("written by gocore");
    /// ```
    pub fn add_comment(&mut self, text: &str) {
        let s = self.string(text);
        self.comments.push(s);
    }

    /// Interns a frame: a function name, its source file (may be empty) and line (0
    /// when unknown). The same triple gives the same id.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// assert_eq!(b.frame("main.T", "", 0), b.frame("main.T", "", 0));
    /// ```
    pub fn frame(&mut self, name: &str, file: &str, line: i64) -> FrameId {
        let key = (self.string(name), self.string(file), line);
        if let Some(&i) = self.frame_ids.get(&key) {
            return FrameId(i);
        }
        let i = self.frames.len() as u32;
        self.frames.push(key);
        self.frame_ids.insert(key, i);
        FrameId(i)
    }

    /// Interns the stack `frame` called from (nested in) `parent`; `None` starts a
    /// stack at its outermost frame.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let (r, t) = (b.frame("root", "", 0), b.frame("main.T", "", 0));
    /// let s = b.stack(None, r);
    /// let st = b.stack(Some(s), t);
    /// assert_eq!(b.stack(Some(s), t), st);
    /// assert_eq!(b.depth(st), 2);
    /// ```
    pub fn stack(&mut self, parent: Option<StackId>, frame: FrameId) -> StackId {
        let key = (parent.map_or(0, |p| p.0 + 1), frame.0);
        if let Some(&i) = self.stack_ids.get(&key) {
            return StackId(i);
        }
        let i = self.stacks.len() as u32;
        self.stacks.push(key);
        self.stack_ids.insert(key, i);
        let d = parent.map_or(0, |p| self.depth(p)) + 1;
        self.depths.push(d as u32);
        self.values
            .extend(std::iter::repeat_n(0, self.sample_types.len()));
        StackId(i)
    }

    /// The innermost frame of a stack.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let f = b.frame("main.T", "", 0);
    /// let s = b.stack(None, f);
    /// assert_eq!(b.leaf(s), f);
    /// ```
    pub fn leaf(&self, stack: StackId) -> FrameId {
        FrameId(self.stacks.get(stack.0 as usize).map_or(0, |s| s.1))
    }

    /// The stack a stack is nested in (`None` for an outermost frame).
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let f = b.frame("main.T", "", 0);
    /// let s = b.stack(None, f);
    /// assert_eq!(b.parent(s), None);
    /// ```
    pub fn parent(&self, stack: StackId) -> Option<StackId> {
        match self.stacks.get(stack.0 as usize)?.0 {
            0 => None,
            p => Some(StackId(p - 1)),
        }
    }

    /// Number of frames of a stack.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let f = b.frame("main.T", "", 0);
    /// let s = b.stack(None, f);
    /// assert_eq!(b.depth(s), 1);
    /// ```
    pub fn depth(&self, stack: StackId) -> usize {
        self.depths.get(stack.0 as usize).map_or(0, |&d| d as usize)
    }

    /// The name of a frame.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let f = b.frame("main.T", "", 0);
    /// assert_eq!(b.frame_name(f), "main.T");
    /// ```
    pub fn frame_name(&self, frame: FrameId) -> &str {
        self.frames
            .get(frame.0 as usize)
            .and_then(|f| self.strings.get(f.0 as usize))
            .map_or("", String::as_str)
    }

    /// Every stack with a non-zero value and its values (one per sample type).
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let f = b.frame("main.T", "", 0);
    /// let s = b.stack(None, f);
    /// b.add(s, &[2]);
    /// assert_eq!(b.samples().collect::<Vec<_>>(), vec![(s, &[2i64][..])]);
    /// ```
    pub fn samples(&self) -> impl Iterator<Item = (StackId, &[i64])> + '_ {
        let n = self.sample_types.len().max(1);
        self.values
            .chunks(n)
            .enumerate()
            .filter(|(_, v)| v.iter().any(|&x| x != 0))
            .map(|(i, v)| (StackId(i as u32), v))
    }

    /// The frames of a stack, outermost first.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let (r, t) = (b.frame("root", "", 0), b.frame("main.T", "", 0));
    /// let s = b.stack(None, r);
    /// let s = b.stack(Some(s), t);
    /// assert_eq!(b.frames_of(s), vec![r, t]);
    /// ```
    pub fn frames_of(&self, stack: StackId) -> Vec<FrameId> {
        let mut v = Vec::with_capacity(self.depth(stack));
        let mut s = Some(stack);
        while let Some(x) = s {
            v.push(self.leaf(x));
            s = self.parent(x);
            if v.len() > self.stacks.len() {
                break;
            }
        }
        v.reverse();
        v
    }

    /// Adds `values` (one per sample type; missing ones count as 0) to a stack's sample.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count"), ("space", "bytes")]);
    /// let f = b.frame("main.T", "", 0);
    /// let s = b.stack(None, f);
    /// b.add(s, &[1, 16]);
    /// b.add(s, &[1]);
    /// assert_eq!(b.totals(), vec![2, 16]);
    /// ```
    pub fn add(&mut self, stack: StackId, values: &[i64]) {
        let n = self.sample_types.len();
        let base = stack.0 as usize * n;
        for (i, v) in values.iter().take(n).enumerate() {
            if let Some(slot) = self.values.get_mut(base + i) {
                *slot = slot.saturating_add(*v);
            }
        }
    }

    /// The sum of each sample type over all samples (what `go tool pprof -top` calls
    /// the total).
    ///
    /// ```
    /// let b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// assert_eq!(b.totals(), vec![0]);
    /// ```
    pub fn totals(&self) -> Vec<i64> {
        let n = self.sample_types.len();
        let mut t = vec![0i64; n];
        for chunk in self.values.chunks(n.max(1)) {
            for (a, v) in t.iter_mut().zip(chunk) {
                *a = a.saturating_add(*v);
            }
        }
        t
    }

    /// The encoded `profile.proto` message (not compressed).
    ///
    /// ```
    /// let b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// assert!(!b.encode().is_empty());
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let n = self.sample_types.len();
        // 1: sample_type
        for &(t, u) in &self.sample_types {
            let mut m = Vec::new();
            put_int(&mut m, 1, t);
            put_int(&mut m, 2, u);
            put_bytes(&mut out, 1, &m);
        }
        // 2: sample, one per stack with a non-zero value
        let mut locs = Vec::new();
        let mut m = Vec::new();
        let mut packed = Vec::new();
        for (i, vals) in self.values.chunks(n.max(1)).enumerate() {
            if n == 0 || vals.iter().all(|&v| v == 0) {
                continue;
            }
            locs.clear();
            let mut s = Some(StackId(i as u32));
            while let Some(x) = s {
                locs.push(u64::from(self.leaf(x).0) + 1);
                s = self.parent(x);
                if locs.len() > self.stacks.len() {
                    break;
                }
            }
            m.clear();
            packed.clear();
            for &l in &locs {
                put_varint(&mut packed, l);
            }
            put_bytes(&mut m, 1, &packed);
            packed.clear();
            for &v in vals {
                put_varint(&mut packed, v as u64);
            }
            put_bytes(&mut m, 2, &packed);
            put_bytes(&mut out, 2, &m);
        }
        // 3: mapping: one, the main binary, whose functions are known
        m.clear();
        put_uint(&mut m, 1, 1);
        put_int(&mut m, 5, self.main_binary);
        for field in [7, 8, 9] {
            put_uint(&mut m, field, 1);
        }
        put_bytes(&mut out, 3, &m);
        // 4: location (id = frame + 1, one line calling function id = frame + 1)
        for (i, &(_, _, line)) in self.frames.iter().enumerate() {
            let id = i as u64 + 1;
            let mut l = Vec::new();
            put_uint(&mut l, 1, id);
            if line != 0 {
                put_int(&mut l, 2, line);
            }
            m.clear();
            put_uint(&mut m, 1, id);
            put_uint(&mut m, 2, 1);
            put_bytes(&mut m, 4, &l);
            put_bytes(&mut out, 4, &m);
        }
        // 5: function
        for (i, &(name, file, _)) in self.frames.iter().enumerate() {
            m.clear();
            put_uint(&mut m, 1, i as u64 + 1);
            put_int(&mut m, 2, name);
            put_int(&mut m, 3, name);
            put_int(&mut m, 4, file);
            put_bytes(&mut out, 5, &m);
        }
        // 6: string_table (the first string is always "")
        for s in &self.strings {
            put_bytes(&mut out, 6, s.as_bytes());
        }
        // 13: comment, 14: default_sample_type
        for &c in &self.comments {
            put_int(&mut out, 13, c);
        }
        put_int(&mut out, 14, self.default_sample_type);
        out
    }

    /// Writes the encoded profile gzip-compressed, as `go tool pprof` expects files.
    ///
    /// ```
    /// let b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let mut out = Vec::new();
    /// b.write_gzip(&mut out)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_gzip(&self, w: impl Write) -> io::Result<()> {
        let mut gz = GzEncoder::new(w, Compression::default());
        gz.write_all(&self.encode())?;
        gz.finish()?;
        Ok(())
    }
}

/// Deepest stack [`heap_profile`] makes before eliding the middle of a path (`…`).
pub const MAX_PATH_FRAMES: usize = 128;

/// The retention profile of a heap; see [`heap_profile`].
#[derive(Debug, Clone)]
pub struct HeapProfile {
    /// The profile: sample types `objects/count`, `space/bytes` and, when retained
    /// sizes were given, `retained/bytes`.
    pub profile: ProfileBuilder,
    /// Objects reached from the roots (every sample's objects added up).
    pub objects: u64,
    /// Their bytes (whole slots).
    pub bytes: u64,
    /// Problems met (unreadable objects).
    pub warnings: Vec<String>,
    /// Per object: the stack of its own sample (`u32::MAX` when not reached).
    own: Vec<u32>,
}

impl HeapProfile {
    /// The stack (retention path) an object is counted under, if it is live.
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let p = gocore::pprof::heap_profile(&proc, &heap, &roots, None, None);
    /// if let Some(s) = p.stack_of(gocore::ObjId(0)) {
    ///     println!("{}", p.path(s));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stack_of(&self, id: ObjId) -> Option<StackId> {
        match self.own.get(id.index()) {
            Some(&s) if s != u32::MAX => Some(StackId(s)),
            _ => None,
        }
    }

    /// A stack's frames, outermost first, joined with ` > `.
    ///
    /// ```
    /// let mut b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// let (r, t) = (b.frame("main.gList", "", 0), b.frame("main.Node", "", 0));
    /// let s = b.stack(None, r);
    /// let s = b.stack(Some(s), t);
    /// let p = gocore::pprof::HeapProfile::from_builder(b);
    /// assert_eq!(p.path(s), "main.gList > main.Node");
    /// ```
    pub fn path(&self, stack: StackId) -> String {
        let b = &self.profile;
        b.frames_of(stack)
            .into_iter()
            .map(|f| b.frame_name(f))
            .collect::<Vec<_>>()
            .join(" > ")
    }

    /// A profile with no objects around a builder (to name its stacks with
    /// [`HeapProfile::path`]).
    ///
    /// ```
    /// let b = gocore::pprof::ProfileBuilder::new(&[("objects", "count")]);
    /// assert_eq!(gocore::pprof::HeapProfile::from_builder(b).objects, 0);
    /// ```
    pub fn from_builder(profile: ProfileBuilder) -> HeapProfile {
        HeapProfile {
            profile,
            objects: 0,
            bytes: 0,
            warnings: Vec::new(),
            own: Vec::new(),
        }
    }

    /// Objects and bytes per retainer path, the frames joined with ` > `
    /// (`main.gServer > main.Server > main.Server.sessions > … > main.Session`).
    ///
    /// ```no_run
    /// # let core = corefile::Core::open("core")?;
    /// # let proc = gocore::Process::new(&core)?;
    /// # let heap = gocore::Heap::new(&proc)?;
    /// # let roots = gocore::RootSet::collect(&proc, &heap)?;
    /// let p = gocore::pprof::heap_profile(&proc, &heap, &roots, None, None);
    /// for (path, a) in p.paths().iter().take(3) {
    ///     println!("{:>8} {:>10} {path}", a.count, a.bytes);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn paths(&self) -> Vec<(String, crate::Amount)> {
        let b = &self.profile;
        let mut v: Vec<(String, crate::Amount)> = b
            .samples()
            .map(|(s, vals)| {
                let key = self.path(s);
                let amount = crate::Amount {
                    count: vals.first().copied().unwrap_or(0).max(0) as u64,
                    bytes: vals.get(1).copied().unwrap_or(0).max(0) as u64,
                };
                (key, amount)
            })
            .collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

use crate::fx::FxMap;

/// How an object appears on paths: the frame of its type, and for a map's internal
/// object the frame of its own samples (it is otherwise left out of paths).
#[derive(Debug, Clone, Copy)]
struct Kind {
    frame: FrameId,
    internal: Option<FrameId>,
}

/// Names frames of a heap profile, with caches (no string per object).
struct Namer<'p, 'a> {
    proc: &'p Process<'a>,
    heap: &'p Heap<'a>,
    typing: Option<&'p Typing>,
    reader: Option<TypeReader<'p, 'a>>,
    kinds: FxMap<TypeKey, Kind>,
    fields: FxMap<(u32, u64), Option<FrameId>>,
    ellipsis: Option<FrameId>,
}

impl Namer<'_, '_> {
    /// The frames of an object's type. A map's internal structure (Swiss `maps.Map`,
    /// directories, tables and groups; classic `hmap`, buckets) changes shape as the
    /// map grows, so it is transparent on paths; its own samples get the frame of its
    /// type with `[]` for an array length (`[]map.group[string]*main.Session`).
    fn kind(&mut self, b: &mut ProfileBuilder, obj: &Object) -> Kind {
        let key = type_key(self.heap, self.typing, obj);
        self.kind_keyed(b, obj, key)
    }

    /// [`Namer::kind`] of an object whose [`type_key`] is `key`.
    fn kind_keyed(&mut self, b: &mut ProfileBuilder, obj: &Object, key: TypeKey) -> Kind {
        if let Some(&k) = self.kinds.get(&key) {
            return k;
        }
        let name = type_name(self.heap, self.typing, obj);
        // `[N]T` arrays of groups or buckets: judged by T.
        let elem = match name.strip_prefix('[') {
            Some(rest) => rest
                .split_once(']')
                .filter(|(n, _)| n.bytes().all(|c| c.is_ascii_digit()))
                .map_or(name.as_str(), |(_, t)| t),
            None => name.as_str(),
        };
        let frame_name = if elem.len() < name.len() {
            format!("[]{elem}")
        } else {
            name.clone()
        };
        let elem = elem.trim_start_matches('*');
        let internal = elem.starts_with("maps.")
            || elem.starts_with("map.")
            || elem.starts_with("noswissmap.")
            || elem == "runtime.hmap"
            || elem == "runtime.bmap"
            || elem.starts_with("internal/runtime/maps.");
        let k = Kind {
            frame: b.frame(&name, "", 0),
            internal: internal.then(|| b.frame(&frame_name, "", 0)),
        };
        self.kinds.insert(key, k);
        k
    }

    /// `T.field` for the top-level field of a struct-typed object holding byte `off`;
    /// `ot` is the object's type.
    fn field_frame(
        &mut self,
        b: &mut ProfileBuilder,
        ot: Option<ObjType>,
        off: u64,
    ) -> Option<FrameId> {
        let typing = self.typing?;
        let ot = ot?;
        let entry = typing.type_entry(ot.ty)?;
        let rel = off.checked_sub(ot.offset)?;
        let within = rel % entry.size.max(1);
        if let Some(f) = self.fields.get(&(ot.ty.0, within)) {
            return *f;
        }
        let mut named = None;
        if !entry.name.starts_with("map.") && !entry.name.starts_with("noswissmap.") {
            if let Some(r) = &self.reader {
                if let Ok(desc) = r.type_at(entry.addr.wrapping_sub(self.proc.load_bias())) {
                    if let Ok(fields) = r.fields(&desc) {
                        let mut hit = None;
                        for f in &fields {
                            let size = r.type_at(f.typ).map_or(1, |t| t.size.max(1));
                            if within >= f.offset && within < f.offset + size {
                                hit = Some(f.name.clone());
                                break;
                            }
                        }
                        named = hit.map(|n| b.frame(&format!("{}.{n}", entry.name), "", 0));
                    }
                }
            }
        }
        self.fields.insert((ot.ty.0, within), named);
        named
    }

    fn root_frame(&self, b: &mut ProfileBuilder, r: &Root) -> FrameId {
        match &r.kind {
            RootKind::Global {
                symbol: Some(s), ..
            } => b.frame(s, "", 0),
            RootKind::Global { symbol: None, .. } => b.frame("data/bss word", "", 0),
            RootKind::Frame { function, pc, .. } | RootKind::StackObject { function, pc, .. } => {
                // A frame's PC is a return address except in the innermost frame: the
                // call is the instruction before it.
                let pos = self.proc.pclntab().and_then(|t| {
                    t.file_line(pc.wrapping_sub(1).wrapping_sub(self.proc.load_bias()))
                        .ok()
                        .flatten()
                });
                match pos {
                    Some(p) => b.frame(function, &p.file, i64::from(p.line)),
                    None => b.frame(function, "", 0),
                }
            }
            other => b.frame(&format!("{} root", other.name()), "", 0),
        }
    }

    fn ellipsis(&mut self, b: &mut ProfileBuilder) -> FrameId {
        *self.ellipsis.get_or_insert_with(|| b.frame("…", "", 0))
    }
}

/// The retention profile of a heap: one sample per group of live objects held along
/// the same path from the same root, the path being the shortest one from the roots
/// (breadth first from every root at once, roots in [`RootSet`] order):
///
/// * the outermost frame is the root: a global by name (`main.gServer`), a goroutine
///   frame by function with the file and line of its call (`main.awaitReply`,
///   `main.go:205`), or the root's kind (`finalizer root`, `data/bss word` for a
///   word without a symbol) — `go tool pprof` drops names in `<…>` or `(…)`;
/// * then, for each object along the path, its type (`main.Server`) and, when the
///   next pointer is in a named field of a typed struct, that field
///   (`main.Server.sessions`); a map's internal objects (Swiss tables and groups,
///   classic buckets), whose shape changes as it grows, are left out;
/// * the leaf is the object's own type ([`diff::type_name`](crate::diff::type_name)),
///   or for a map's internal object its type with `[]` for the array length.
///
/// A path that repeats its last hop (a linked list's `next`) stays at one stack, and
/// stacks deeper than [`MAX_PATH_FRAMES`] lose their middle (`…`). Sample types:
/// `objects/count` and `space/bytes` (whole slots, so the totals are
/// [`Reachability`](crate::Reachability)'s live count and bytes), and
/// `retained/bytes` when `retained` gives each object's retained size (from the
/// dominator tree; retained bytes nest, so only its per-frame *flat* values mean
/// something). The default sample type is `space`.
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// let proc = gocore::Process::new(&core)?;
/// let heap = gocore::Heap::new(&proc)?;
/// let roots = gocore::RootSet::collect(&proc, &heap)?;
/// let typing = gocore::Typing::compute(&proc, &heap).ok();
/// let p = gocore::pprof::heap_profile(&proc, &heap, &roots, typing.as_ref(), None);
/// p.profile.write_gzip(std::fs::File::create("heap.pb.gz")?)?;
/// println!("{} objects, {} bytes", p.objects, p.bytes);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn heap_profile(
    proc: &Process<'_>,
    heap: &Heap<'_>,
    roots: &RootSet,
    typing: Option<&Typing>,
    retained: Option<&(dyn Fn(ObjId) -> u64 + Sync)>,
) -> HeapProfile {
    let batch = Batch {
        chunk: BATCH_CHUNK,
        chunks: BATCH_CHUNKS,
        cap: CHILDREN_CAP,
        part: BIG_PART_WORDS,
        compact: 1 << 16,
    };
    walk_profile(proc, heap, roots, typing, retained, batch)
}

/// How many queued objects [`walk_profile`] prepares at a time: `chunks` tasks of
/// `chunk` objects, each stopping once it holds `cap` pointers (objects of more
/// than `cap` words are scanned in line).
#[derive(Debug, Clone, Copy)]
struct Batch {
    chunk: usize,
    chunks: usize,
    cap: usize,
    /// Object words per part when an object too big for `cap` is scanned in
    /// parts ([`scan_big`]).
    part: u64,
    /// The walked prefix of the queue is dropped once it is this long and a quarter
    /// of the queue.
    compact: usize,
}

/// [`heap_profile`], preparing queued objects in batches of `batch`.
fn walk_profile(
    proc: &Process<'_>,
    heap: &Heap<'_>,
    roots: &RootSet,
    typing: Option<&Typing>,
    retained: Option<&(dyn Fn(ObjId) -> u64 + Sync)>,
    batch: Batch,
) -> HeapProfile {
    let mut b = if retained.is_some() {
        ProfileBuilder::new(&[
            ("objects", "count"),
            ("space", "bytes"),
            ("retained", "bytes"),
        ])
    } else {
        ProfileBuilder::new(&[("objects", "count"), ("space", "bytes")])
    };
    b.set_default_sample_type("space");
    if let Some(exe) = proc.core().executable() {
        b.set_main_binary(&exe.path().display().to_string());
    }
    b.add_comment("gocore heap profile: stacks are retention paths from a GC root");
    let reader = typing.and_then(|_| {
        let md = proc.binary().moduledata().ok()?;
        proc.binary().type_reader(&md).ok()
    });
    let namer = Namer {
        proc,
        heap,
        typing,
        reader,
        kinds: FxMap::default(),
        fields: FxMap::default(),
        ellipsis: None,
    };
    let n = usize::try_from(heap.object_count()).unwrap_or(0);
    let mut w = Walk {
        b,
        namer,
        reached: vec![0u64; n.div_ceil(64)],
        leaf_of: vec![NONE; n],
        queue: Vec::new(),
        addrs: Vec::new(),
        addr_base: heap.spans().iter().map(|s| s.base).min().unwrap_or(0),
        stacks: StackRuns::default(),
    };
    for r in roots.roots() {
        let Landing::Object(id, _) = land(heap, r.target) else {
            continue;
        };
        if reached(&w.reached, id) {
            continue;
        }
        let Some(obj) = heap.object(id) else { continue };
        let rf = w.namer.root_frame(&mut w.b, r);
        let rs = w.b.stack(None, rf);
        let k = w.namer.kind(&mut w.b, &obj);
        w.leaf_of[id.index()] = k.internal.map_or(NONE, |f| f.0);
        let stack = match k.internal {
            Some(_) => rs.0,
            None => w.b.stack(Some(rs), k.frame).0,
        };
        w.reach(id, obj.addr, stack);
    }
    let (mut objects, mut bytes) = (0u64, 0u64);
    let mut warnings = Vec::new();
    let mut head = 0;
    // The walk goes breadth first, a batch of queued objects at a time: what each
    // object of the batch is, what it points to and what those targets are does not
    // depend on the walk's state, so it is looked up for the whole batch first (on
    // all cores when the batch is big enough), then applied in queue order — the
    // same stacks, frames and samples as one object at a time.
    let mut preps: Vec<Prep> = Vec::new();
    let (chunk, per_batch) = (batch.chunk.max(1), batch.chunks.max(1));
    let mut stacks = Vec::new();
    while head < w.queue.len() {
        let end = w.queue.len().min(head + chunk * per_batch);
        let ids = &w.queue[head..end];
        let addrs = w.addrs.get(head..end).unwrap_or(&[]);
        w.stacks.peek(ids.len(), &mut stacks);
        let chunks = ids.len().div_ceil(chunk);
        if preps.len() < chunks {
            preps.resize_with(chunks, Prep::default);
        }
        let ctx = PrepCtx {
            heap,
            typing,
            retained,
            reached: &w.reached,
            leaf_of: &w.leaf_of,
            cap: batch.cap.max(1),
            addr_base: w.addr_base,
        };
        if chunks > 1 && rayon::current_num_threads() > 1 {
            use rayon::prelude::*;
            ids.par_chunks(chunk)
                .zip(addrs.par_chunks(chunk))
                .zip(stacks.par_chunks(chunk))
                .zip(preps.par_iter_mut())
                .for_each(|(((ids, addrs), stacks), p)| ctx.prepare(ids, addrs, stacks, p));
        } else {
            let queued = ids.chunks(chunk).zip(addrs.chunks(chunk));
            for ((ids, addrs), (stacks, p)) in queued.zip(stacks.chunks(chunk).zip(&mut preps)) {
                ctx.prepare(ids, addrs, stacks, p);
            }
        }
        // Apply in queue order, up to the first chunk that stopped early (its
        // children buffer full); the objects after it are prepared again next time.
        let mut done = 0;
        for p in preps.iter_mut().take(chunks) {
            for item in p.items.drain(..) {
                done += 1;
                let id = item.id;
                let Some(obj) = item.obj else {
                    w.leaf_of[id.index()] = NONE;
                    continue;
                };
                // `through`: the stack of what this object holds; its own sample's
                // stack is the same, except for a map's internals, which are
                // transparent on paths.
                let through = StackId(item.stack);
                let internal = item.leaf != NONE;
                let own = if internal {
                    w.b.stack(Some(through), FrameId(item.leaf))
                } else {
                    through
                };
                let size = slot_bytes(&obj);
                objects += 1;
                bytes += size;
                w.b.add(own, &[1, size as i64, item.retained as i64]);
                // From here on `leaf_of` keeps the object's own stack.
                w.leaf_of[id.index()] = own.0;
                let parent = Parent {
                    through,
                    internal,
                    ot: item.ot,
                };
                let scanned = match item.children {
                    Some(range) => {
                        for c in p.children.get(range).unwrap_or(&[]) {
                            w.visit(&parent, c.offset, &c.obj, Some(c.key));
                        }
                        item.error.map_or(Ok(()), |e| Err(*e))
                    }
                    // Too big to buffer: scanned here.
                    None => scan_big(heap, &obj, &mut w, &parent, batch.part),
                };
                if let Err(e) = scanned {
                    if warnings.len() < 100 {
                        warnings.push(format!("object {:#x}: {e}", obj.addr));
                    }
                }
            }
            p.children.clear();
            if p.stopped {
                break;
            }
        }
        for p in preps.iter_mut() {
            p.items.clear();
            p.children.clear();
        }
        // The first object of a batch is always prepared: `done` ≥ 1.
        if done == 0 {
            break;
        }
        head += done;
        w.stacks.advance(done);
        // Drop the walked prefix once it is a quarter of the queue: the queue then
        // holds at most about 4/3 of the widest frontier, not every object.
        if head >= batch.compact && head * 4 >= w.queue.len() {
            w.queue.drain(..head);
            w.addrs.drain(..head);
            w.stacks.compact();
            head = 0;
        }
    }
    let Walk {
        b,
        reached: reached_bits,
        mut leaf_of,
        ..
    } = w;
    // Objects never reached keep their map-internal marker: clear them.
    for (i, l) in leaf_of.iter_mut().enumerate() {
        if !reached(&reached_bits, ObjId(i as u32)) {
            *l = NONE;
        }
    }
    HeapProfile {
        profile: b,
        objects,
        bytes,
        warnings,
        own: leaf_of,
    }
}

/// "Not yet reached" in [`heap_profile`]'s per-object arrays.
const NONE: u32 = u32::MAX;

/// The (offset, target) pointers of one part in [`scan_big`], and how its scan ended.
type PartTargets = (Vec<(u64, ObjId)>, crate::error::Result<()>);

/// Object words per part of [`scan_big`] (256 KiB on 64-bit; [`Batch::part`]).
const BIG_PART_WORDS: u64 = 1 << 15;

/// Visits the pointers of `obj`, an object too big to buffer, in slot order. When
/// its scan can be split ([`Heap::splittable_words`]) it goes in rounds of parts:
/// the targets of each round's parts not reached yet when it starts are found on
/// all cores, then visited in slot order (`visit` checks again) — the visits one
/// pointer at a time would make, and, if a part fails, its error once the pointers
/// before it are visited.
fn scan_big(
    heap: &Heap<'_>,
    obj: &Object,
    w: &mut Walk<'_, '_>,
    parent: &Parent,
    part: u64,
) -> crate::error::Result<()> {
    use rayon::prelude::*;
    let part = part.max(1);
    let Some(words) = heap.splittable_words(obj) else {
        return heap.scan_pointers_in(obj, 0..u64::MAX, |offset, target| {
            let Landing::Object(cid, _) = land(heap, target) else {
                return;
            };
            if reached(&w.reached, cid) {
                return;
            }
            if let Some(child) = heap.object(cid) {
                w.visit(parent, offset, &child, None);
            }
        });
    };
    let parts: Vec<std::ops::Range<u64>> = (0..words.div_ceil(part))
        .map(|i| i * part..((i + 1) * part).min(words))
        .collect();
    for round in parts.chunks(4 * rayon::current_num_threads()) {
        let reached_bits = &w.reached;
        let found: Vec<PartTargets> = round
            .par_iter()
            .map(|r| {
                let mut v = Vec::new();
                let res = heap.scan_pointers_in(obj, r.clone(), |offset, target| {
                    if let Landing::Object(cid, _) = land(heap, target) {
                        if !reached(reached_bits, cid) {
                            v.push((offset, cid));
                        }
                    }
                });
                (v, res)
            })
            .collect();
        for (v, res) in found {
            for (offset, cid) in v {
                if let Some(child) = heap.object(cid) {
                    w.visit(parent, offset, &child, None);
                }
            }
            res?;
        }
    }
    Ok(())
}

/// Queued objects [`heap_profile`] prepares per task.
const BATCH_CHUNK: usize = 512;
/// Tasks per batch.
const BATCH_CHUNKS: usize = 8;
/// A task stops before the object that would find its pointer buffer holding this
/// many pointers; objects with more words than this are scanned in line, not buffered.
const CHILDREN_CAP: usize = 16 * 1024;

/// The walk state of [`heap_profile`].
struct Walk<'p, 'a> {
    b: ProfileBuilder,
    namer: Namer<'p, 'a>,
    /// A bit per object: reached (its stack is in `stacks` while it is queued,
    /// then, when not a map's internal object, in `leaf_of`).
    reached: Vec<u64>,
    /// Per object: the frame of its own sample when it is a map's internal object,
    /// then (once walked) the stack of its own sample.
    leaf_of: Vec<u32>,
    /// Objects reached and not yet walked (from `head` in `walk_profile`), in order.
    queue: Vec<u32>,
    /// Their addresses (finding an object by address is cheaper than by id), as
    /// [`short_addr`]s from `addr_base`: the queue is as long as the widest
    /// breadth-first frontier (11 M objects on a 19 M-object heap).
    addrs: Vec<u32>,
    addr_base: u64,
    /// Their stacks: what each holds is reached through.
    stacks: StackRuns,
}

/// An address that [`short_addr`] cannot shorten: the object is found by id.
const FAR: u32 = u32::MAX;

/// `addr` as the number of 8-byte words from `base` when that fits in a `u32`
/// (heaps of up to 32 GiB from their lowest span), else [`FAR`].
fn short_addr(base: u64, addr: u64) -> u32 {
    addr.checked_sub(base)
        .filter(|d| d % 8 == 0)
        .and_then(|d| u32::try_from(d / 8).ok())
        .unwrap_or(FAR)
}

/// The stacks of the queued objects, run-length coded: the objects queued one
/// after another mostly share it (the elements of one array, map or slice), 4 M
/// runs for 19 M objects on a heap of records, maps and lists.
#[derive(Default)]
struct StackRuns {
    /// (stack, objects), in queue order.
    runs: Vec<(u32, u32)>,
    /// The first run with objects not walked yet, and how many of it are walked.
    first: usize,
    walked: u32,
}

impl StackRuns {
    fn push(&mut self, stack: u32) {
        match self.runs.last_mut() {
            Some((s, n)) if *s == stack && *n < u32::MAX => *n += 1,
            _ => self.runs.push((stack, 1)),
        }
    }

    /// The stacks of the next `len` objects not walked, into `out`.
    fn peek(&self, len: usize, out: &mut Vec<u32>) {
        out.clear();
        let mut skip = self.walked as usize;
        for &(s, n) in self.runs.get(self.first..).unwrap_or(&[]) {
            if out.len() >= len {
                break;
            }
            let take = (n as usize).saturating_sub(skip).min(len - out.len());
            out.extend(std::iter::repeat_n(s, take));
            skip = 0;
        }
    }

    /// `k` more objects are walked.
    fn advance(&mut self, mut k: usize) {
        while k > 0 {
            let Some(&(_, n)) = self.runs.get(self.first) else {
                break;
            };
            let left = n.saturating_sub(self.walked) as usize;
            if k < left {
                self.walked += k as u32;
                break;
            }
            k -= left;
            self.first += 1;
            self.walked = 0;
        }
    }

    /// Drops the walked runs.
    fn compact(&mut self) {
        self.runs.drain(..self.first);
        self.first = 0;
    }
}

/// The object being walked, as its pointers need it.
struct Parent {
    through: StackId,
    internal: bool,
    ot: Option<ObjType>,
}

impl Walk<'_, '_> {
    /// Reaches `child` through the pointer at `offset` of the parent (nothing if it
    /// was reached already). `key` is the child's [`type_key`], if known.
    fn visit(&mut self, parent: &Parent, offset: u64, child: &Object, key: Option<TypeKey>) {
        let cid = child.id;
        if reached(&self.reached, cid) {
            return;
        }
        let b = &mut self.b;
        let namer = &mut self.namer;
        let through = parent.through;
        let ff = if parent.internal {
            None
        } else {
            namer.field_frame(b, parent.ot, offset)
        };
        let k = match key {
            Some(key) => namer.kind_keyed(b, child, key),
            None => namer.kind(b, child),
        };
        self.leaf_of[cid.index()] = k.internal.map_or(NONE, |f| f.0);
        let cs = if k.internal.is_some() {
            match ff {
                Some(f) => b.stack(Some(through), f),
                None => through,
            }
        } else {
            let tf = k.frame;
            // A hop that repeats the one before it (list.next.next…) stays put.
            let repeats = b.leaf(through) == tf
                && match ff {
                    None => true,
                    Some(f) => b.parent(through).is_some_and(|q| b.leaf(q) == f),
                };
            if repeats {
                through
            } else {
                let mut base = through;
                if b.depth(through) >= MAX_PATH_FRAMES {
                    let e = namer.ellipsis(b);
                    // Reuse the `…` one or two frames up if there is one.
                    let up1 = b.parent(through);
                    let up2 = up1.and_then(|q| b.parent(q));
                    base = match (up1, up2) {
                        (Some(q), _) if b.leaf(q) == e => q,
                        (_, Some(q)) if b.leaf(q) == e => q,
                        _ => b.stack(Some(through), e),
                    };
                }
                if let Some(f) = ff {
                    base = b.stack(Some(base), f);
                }
                b.stack(Some(base), tf)
            }
        };
        self.reach(cid, child.addr, cs.0);
    }

    /// Marks `id` (at `addr`) reached through `stack` and queues it.
    fn reach(&mut self, id: ObjId, addr: u64, stack: u32) {
        if let Some(b) = self.reached.get_mut(id.index() / 64) {
            *b |= 1 << (id.index() % 64);
        }
        self.queue.push(id.0);
        self.addrs.push(short_addr(self.addr_base, addr));
        self.stacks.push(stack);
    }
}

/// Whether `id` is marked in `bits` (an object out of range counts as reached:
/// nothing is queued for it).
fn reached(bits: &[u64], id: ObjId) -> bool {
    bits.get(id.index() / 64)
        .is_none_or(|b| b >> (id.index() % 64) & 1 != 0)
}

/// One queued object, looked up ahead of the walk.
struct Item {
    id: ObjId,
    obj: Option<Object>,
    /// Its type (for the fields its pointers are in).
    ot: Option<ObjType>,
    retained: u64,
    /// Its stack and `leaf_of` entry (set when it was queued).
    stack: u32,
    leaf: u32,
    /// Its not yet reached targets in [`Prep::children`]; `None`: too big to buffer.
    children: Option<std::ops::Range<usize>>,
    /// What ended its scan early.
    error: Option<Box<crate::Error>>,
}

/// A pointer of a queued object to an object not reached before the batch.
struct Child {
    offset: u64,
    obj: Object,
    key: TypeKey,
}

/// One task's share of a batch.
#[derive(Default)]
struct Prep {
    items: Vec<Item>,
    /// Non-nil pointers of the items: (offset, target).
    raw: Vec<(u64, u64)>,
    children: Vec<Child>,
    /// It stopped before its last object (pointer buffer full).
    stopped: bool,
}

/// What preparing a batch reads (nothing it writes).
#[derive(Clone, Copy)]
struct PrepCtx<'p, 'a> {
    heap: &'p Heap<'a>,
    typing: Option<&'p Typing>,
    retained: Option<&'p (dyn Fn(ObjId) -> u64 + Sync)>,
    reached: &'p [u64],
    leaf_of: &'p [u32],
    /// [`Batch::cap`].
    cap: usize,
    /// [`Walk::addr_base`].
    addr_base: u64,
}

impl PrepCtx<'_, '_> {
    /// Looks up `ids` (queued objects, in order, at `addrs`, reached through
    /// `stacks`) into `p`, stopping
    /// before an object once the pointer buffer holds [`PrepCtx::cap`] pointers. Each step runs over the
    /// whole chunk before the next, so that the processor overlaps the cache misses
    /// of different objects.
    fn prepare(&self, ids: &[u32], addrs: &[u32], stacks: &[u32], p: &mut Prep) {
        let heap = self.heap;
        p.items.clear();
        p.raw.clear();
        p.children.clear();
        p.stopped = false;
        // The objects.
        p.items.extend(ids.iter().enumerate().map(|(i, &raw)| {
            let id = ObjId(raw);
            let addr = addrs.get(i).filter(|&&a| a != FAR);
            let obj = match addr
                .and_then(|&a| heap.object_at(self.addr_base.saturating_add(u64::from(a) * 8)))
            {
                Some((o, _)) if o.id == id => Some(o),
                _ => heap.object(id),
            };
            Item {
                id,
                obj,
                ot: None,
                retained: 0,
                stack: stacks.get(i).copied().unwrap_or(NONE),
                leaf: NONE,
                children: None,
                error: None,
            }
        }));
        // Their types, retained sizes and walk state.
        for item in &mut p.items {
            if item.obj.is_some() {
                item.leaf = self.leaf_of.get(item.id.index()).copied().unwrap_or(NONE);
                item.ot = self.typing.and_then(|t| t.object_type(item.id));
                item.retained = self.retained.map_or(0, |f| f(item.id));
            }
        }
        // Their pointers, up to the buffer's capacity.
        let mut kept = p.items.len();
        let mut mem = crate::heap::SpanMemory::default();
        for (i, item) in p.items.iter_mut().enumerate() {
            if p.raw.len() >= self.cap {
                kept = i;
                p.stopped = true;
                break;
            }
            let Some(obj) = &item.obj else { continue };
            if obj.size / 8 > self.cap as u64 {
                continue;
            }
            let start = p.raw.len();
            let r = heap.scan_pointers_with(obj, 0..u64::MAX, &mut mem, |offset, target| {
                p.raw.push((offset, target));
            });
            item.children = Some(start..p.raw.len());
            item.error = r.err().map(Box::new);
        }
        p.items.truncate(kept);
        // The objects they point to that were not reached before the batch.
        for item in &mut p.items {
            let Some(range) = item.children.clone() else {
                continue;
            };
            let start = p.children.len();
            for &(offset, target) in p.raw.get(range).unwrap_or(&[]) {
                let child = match heap.object_at(target) {
                    Some((c, _)) => c,
                    None => {
                        let Landing::Object(cid, _) = land(heap, target) else {
                            continue;
                        };
                        let Some(c) = heap.object(cid) else { continue };
                        c
                    }
                };
                p.children.push(Child {
                    offset,
                    obj: child,
                    key: TypeKey::Header(0),
                });
            }
            item.children = Some(start..p.children.len());
        }
        let mut w = 0;
        for item in &mut p.items {
            let Some(range) = item.children.clone() else {
                continue;
            };
            let start = w;
            for i in range {
                let Some(c) = p.children.get(i) else { break };
                if reached(self.reached, c.obj.id) {
                    continue;
                }
                let key = type_key(heap, self.typing, &c.obj);
                p.children.swap(w, i);
                if let Some(c) = p.children.get_mut(w) {
                    c.key = key;
                }
                w += 1;
            }
            item.children = Some(start..w);
        }
        p.children.truncate(w);
    }
}

/// The dominator tree of the live heap as a profile: each object's stack is its
/// chain of dominators — the root that alone keeps it alive outermost (a global by
/// name, a goroutine by its topmost frame outside the runtime with file and line,
/// `several roots` for objects no single root dominates), then the type of each
/// dominating object, the object's own type as the leaf. Sample types are
/// `objects/count` and `space/bytes` (own slot sizes), so a frame's *cumulative*
/// value is what the objects of that type on that chain retain: `go tool pprof
/// -top` shows retained sizes in its `cum` column and the flame graph is the
/// dominator tree. Map internals are transparent and repeated types collapse, as in
/// [`heap_profile`].
///
/// ```no_run
/// let core = corefile::Core::open("core")?;
/// let proc = gocore::Process::new(&core)?;
/// let heap = gocore::Heap::new(&proc)?;
/// let roots = gocore::RootSet::collect(&proc, &heap)?;
/// let graph = gocore::ObjectGraph::build(&heap, &roots)?;
/// let dom = gocore::Dominators::compute(&graph, &heap);
/// let p = gocore::pprof::dominator_profile(&proc, &heap, &graph, &dom, None);
/// assert_eq!(p.bytes, dom.retained(graph.super_root()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dominator_profile(
    proc: &Process<'_>,
    heap: &Heap<'_>,
    graph: &ObjectGraph,
    dom: &Dominators,
    typing: Option<&Typing>,
) -> HeapProfile {
    let mut b = ProfileBuilder::new(&[("objects", "count"), ("space", "bytes")]);
    b.set_default_sample_type("space");
    if let Some(exe) = proc.core().executable() {
        b.set_main_binary(&exe.path().display().to_string());
    }
    b.add_comment("gocore dominator profile: stacks are dominator chains; cum = retained");
    let mut namer = Namer {
        proc,
        heap,
        typing,
        reader: None,
        kinds: FxMap::default(),
        fields: FxMap::default(),
        ellipsis: None,
    };
    // Goroutines by id: their topmost frame outside the runtime.
    let mut gframe: HashMap<u64, FrameId> = HashMap::new();
    let mut warnings = Vec::new();
    match proc.goroutines() {
        Ok(gs) => {
            for g in gs.flatten() {
                let stack = g.stack(proc);
                let top = stack
                    .frames
                    .iter()
                    .find(|f| !crate::goroutine::is_runtime_function(&f.function))
                    .or(stack.frames.first());
                let f = match top {
                    Some(f) => b.frame(&f.function, &f.file, f.line),
                    None => b.frame("goroutine", "", 0),
                };
                gframe.insert(g.id, f);
            }
        }
        Err(e) => warnings.push(format!("no goroutines: {e}")),
    }
    const NONE: u32 = u32::MAX;
    let n = graph.node_count();
    let objects_n = graph.object_count() as usize;
    // Per node: the stack its dominated nodes hang from.
    let mut through: Vec<u32> = vec![NONE; n];
    let mut own: Vec<u32> = vec![NONE; objects_n];
    let several = b.frame("several roots", "", 0);
    let sup = graph.super_root();
    let (mut objects, mut bytes) = (0u64, 0u64);
    for &raw in dom.preorder() {
        let node = NodeId(raw);
        if node == sup {
            continue;
        }
        let parent = dom.idom(node).unwrap_or(sup);
        let base: Option<StackId> = if parent == sup {
            None
        } else {
            match through.get(parent.index()) {
                Some(&s) if s != NONE => Some(StackId(s)),
                _ => None,
            }
        };
        match graph.kind(node) {
            NodeKind::Root(_) => {
                let f = match graph.root_group(node) {
                    Some(RootGroup::Global {
                        symbol: Some(s), ..
                    }) => b.frame(s, "", 0),
                    Some(RootGroup::Global { symbol: None, .. }) => b.frame("data/bss word", "", 0),
                    Some(RootGroup::Goroutine { id }) => match gframe.get(id) {
                        Some(&f) => f,
                        None => b.frame("goroutine", "", 0),
                    },
                    Some(RootGroup::Special { kind, .. }) | Some(RootGroup::Queue { kind }) => {
                        b.frame(&format!("{kind} root"), "", 0)
                    }
                    None => b.frame("root", "", 0),
                };
                through[node.index()] = b.stack(None, f).0;
            }
            NodeKind::Object(id) => {
                let Some(obj) = heap.object(id) else { continue };
                let base = match base {
                    Some(s) => s,
                    None => b.stack(None, several),
                };
                let k = namer.kind(&mut b, &obj);
                let (thru, mine) = match k.internal {
                    Some(f) => (base, b.stack(Some(base), f)),
                    None if b.leaf(base) == k.frame => (base, base),
                    None => {
                        let mut at = base;
                        if b.depth(base) >= MAX_PATH_FRAMES {
                            let e = namer.ellipsis(&mut b);
                            at = match b.parent(base) {
                                _ if b.leaf(base) == e => base,
                                Some(q) if b.leaf(q) == e => q,
                                _ => b.stack(Some(base), e),
                            };
                        }
                        let s = b.stack(Some(at), k.frame);
                        (s, s)
                    }
                };
                through[node.index()] = thru.0;
                if let Some(o) = own.get_mut(id.index()) {
                    *o = mine.0;
                }
                let size = slot_bytes(&obj);
                objects += 1;
                bytes += size;
                b.add(mine, &[1, size as i64]);
            }
            NodeKind::SuperRoot => {}
        }
    }
    HeapProfile {
        profile: b,
        objects,
        bytes,
        warnings,
        own,
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// A varint field; zero (the proto3 default) is omitted.
fn put_uint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_key(out, field, 0);
        put_varint(out, v);
    }
}

fn put_int(out: &mut Vec<u8>, field: u32, v: i64) {
    put_uint(out, field, v as u64);
}

fn put_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        let mut v = Vec::new();
        put_varint(&mut v, 300);
        assert_eq!(v, [0xac, 0x02]);
        v.clear();
        put_varint(&mut v, u64::MAX);
        assert_eq!(v.len(), 10);
    }

    /// The batched walk gives the same profile, byte for byte, whatever the batch
    /// shape: one object at a time, small tasks that stop after a few pointers (and
    /// scan objects over 4 words in line), the default, and on 1 or 2 threads.
    #[test]
    fn batched_walk_is_the_one_object_at_a_time_walk() {
        use crate::{Dominators, ObjectGraph, Process, RootSet};
        use corefile::{Core, OpenOptions};
        let pool1 = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let pool2 = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mut checked = 0;
        for case in testkit::cases() {
            let core = Core::open_with(
                case.core_path(),
                &OpenOptions::new().executable(case.exe_path()),
            )
            .unwrap();
            let proc = Process::new(&core).unwrap();
            let Ok(heap) = crate::Heap::new(&proc) else {
                continue;
            };
            let Ok(roots) = RootSet::collect(&proc, &heap) else {
                continue;
            };
            let typing = Typing::compute(&proc, &heap).ok();
            let graph = ObjectGraph::build(&heap, &roots).ok();
            let dom = graph.as_ref().map(|g| Dominators::compute(g, &heap));
            let ret = graph
                .as_ref()
                .zip(dom.as_ref())
                .map(|(g, d)| move |id: ObjId| d.retained(g.object_node(id)));
            let ret = ret.as_ref().map(|f| f as &(dyn Fn(ObjId) -> u64 + Sync));
            let walk = |batch| walk_profile(&proc, &heap, &roots, typing.as_ref(), ret, batch);
            let one = pool1.install(|| {
                walk(Batch {
                    chunk: 1,
                    chunks: 1,
                    cap: usize::MAX,
                    part: BIG_PART_WORDS,
                    compact: usize::MAX,
                })
            });
            let want = one.profile.encode();
            assert!(one.objects > 0, "{}", case.name);
            let shapes = [
                Batch {
                    chunk: 3,
                    chunks: 4,
                    cap: 4,
                    part: 2,
                    compact: 8,
                },
                Batch {
                    chunk: BATCH_CHUNK,
                    chunks: BATCH_CHUNKS,
                    cap: CHILDREN_CAP,
                    part: BIG_PART_WORDS,
                    compact: 1 << 16,
                },
            ];
            for batch in shapes {
                for pool in [&pool1, &pool2] {
                    let got = pool.install(|| walk(batch));
                    assert!(got.profile.encode() == want, "{}: {batch:?}", case.name);
                    assert_eq!(got.own, one.own, "{}: {batch:?}", case.name);
                    assert_eq!(
                        (got.objects, got.bytes, &got.warnings),
                        (one.objects, one.bytes, &one.warnings),
                        "{}: {batch:?}",
                        case.name
                    );
                }
            }
            checked += 1;
        }
        assert!(checked > 0);
    }

    #[test]
    fn string_table_starts_empty_and_samples_sum() {
        let mut b = ProfileBuilder::new(&[("objects", "count"), ("space", "bytes")]);
        let r = b.frame("root", "", 0);
        let t = b.frame("main.T", "/x.go", 3);
        let s0 = b.stack(None, r);
        let s1 = b.stack(Some(s0), t);
        b.add(s1, &[2, 64]);
        b.add(s0, &[1, 8]);
        assert_eq!(b.totals(), vec![3, 72]);
        let p = b.encode();
        // The string table's first entry is the empty string: key 6<<3|2 then length 0.
        let first_string = p.windows(2).position(|w| w == [0x32, 0x00]);
        assert!(first_string.is_some());
    }
}
