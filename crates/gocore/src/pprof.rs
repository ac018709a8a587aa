//! Writing profiles in pprof's format (`profile.proto`, gzip-compressed), which
//! `go tool pprof` reads.
//!
//! [`ProfileBuilder`] is a small, dependency-free encoder: named sample types, frames
//! (a function name with an optional file and line), stacks built as a prefix tree
//! from the outermost frame inwards, and per-stack values that add up. The encoded
//! message has the string table, functions, locations (one line each, no mappings)
//! and one sample per stack with a non-zero value.
//!
//! [`heap_profile`] builds the retention profile of a heap: one sample per group of
//! live objects reached along the same path of types from the same root — the root as
//! the outermost frame, the types along the path, the object's type as the leaf.
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
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    /// Per frame: (name, file, line) as string ids and line.
    frames: Vec<(i64, i64, i64)>,
    frame_ids: HashMap<(i64, i64, i64), u32>,
    /// Per stack: (parent stack + 1 or 0, frame).
    stacks: Vec<(u32, u32)>,
    stack_ids: HashMap<(u32, u32), u32>,
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
            strings: Vec::new(),
            string_ids: HashMap::new(),
            frames: Vec::new(),
            frame_ids: HashMap::new(),
            stacks: Vec::new(),
            stack_ids: HashMap::new(),
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
    /// assert_eq!(b.stack(Some(s), t), b.stack(Some(s), t));
    /// assert_eq!(b.depth(b.stack(Some(s), t)), 2);
    /// ```
    pub fn stack(&mut self, parent: Option<StackId>, frame: FrameId) -> StackId {
        let key = (parent.map_or(0, |p| p.0 + 1), frame.0);
        if let Some(&i) = self.stack_ids.get(&key) {
            return StackId(i);
        }
        let i = self.stacks.len() as u32;
        self.stacks.push(key);
        self.stack_ids.insert(key, i);
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
        let mut n = 0;
        let mut s = Some(stack);
        while let Some(x) = s {
            n += 1;
            s = self.parent(x);
            if n > self.stacks.len() {
                break;
            }
        }
        n
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
