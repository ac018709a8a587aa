//! Version-keyed layouts of `runtime.moduledata` — the only per-release offsets in
//! this crate.
//!
//! Each table is the field sequence of `type moduledata struct` in that release's
//! `runtime/symtab.go`, copied in order; byte offsets are derived from it with Go's
//! alignment rules for the target's pointer size (every field here is word-aligned
//! except `hasmain`/`bad`, single bytes). The tests compare the derived offsets with
//! the DWARF `runtime.moduledata` of a binary built by each release (amd64 and 386).
//!
//! New-release checklist: diff `type moduledata struct` against the previous
//! release; add a table if it changed; extend [`layout_for`]; run the DWARF test.

/// The shape of one moduledata field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A pointer or `uintptr` (one word).
    Word,
    /// A slice: pointer, length, capacity.
    Slice,
    /// A string: pointer, length.
    String,
    /// A `bitvector{n int32; bytedata *uint8}`.
    Bitvector,
    /// A single byte (`uint8`, `bool`).
    Byte,
}

use FieldKind::{Bitvector as BV, Byte as B, Slice as S, String as Str, Word as W};

/// Fields shared by the start of every layout (1.18+).
macro_rules! head {
    () => {
        [
            ("pcHeader", W),
            ("funcnametab", S),
            ("cutab", S),
            ("filetab", S),
            ("pctab", S),
            ("pclntable", S),
            ("ftab", S),
            ("findfunctab", W),
            ("minpc", W),
            ("maxpc", W),
            ("text", W),
            ("etext", W),
            ("noptrdata", W),
            ("enoptrdata", W),
            ("data", W),
            ("edata", W),
            ("bss", W),
            ("ebss", W),
            ("noptrbss", W),
            ("enoptrbss", W),
        ]
    };
}

/// A release range's moduledata layout.
#[derive(Debug)]
pub struct Layout {
    /// Releases it applies to, for messages (`"1.21-1.22"`).
    pub releases: &'static str,
    /// Oldest minor release it applies to.
    pub first_minor: u32,
    /// Fields in declaration order.
    pub fields: &'static [(&'static str, FieldKind)],
}

const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [(&'static str, FieldKind); A],
    b: [(&'static str, FieldKind); B],
) -> [(&'static str, FieldKind); N] {
    let mut out = [("", W); N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// Go 1.18–1.19 (checked against the 1.19 source).
static GO118: [(&str, FieldKind); 41] = concat::<20, 21, 41>(
    head!(),
    [
        ("end", W),
        ("gcdata", W),
        ("gcbss", W),
        ("types", W),
        ("etypes", W),
        ("rodata", W),
        ("gofunc", W),
        ("textsectmap", S),
        ("typelinks", S),
        ("itablinks", S),
        ("ptab", S),
        ("pluginpath", Str),
        ("pkghashes", S),
        ("modulename", Str),
        ("modulehashes", S),
        ("hasmain", B),
        ("gcdatamask", BV),
        ("gcbssmask", BV),
        ("typemap", W),
        ("bad", B),
        ("next", W),
    ],
);

/// Go 1.20: 1.18's layout plus coverage counters (covctrs, ecovctrs).
static GO120: [(&str, FieldKind); 43] = concat::<20, 23, 43>(
    head!(),
    [
        ("covctrs", W),
        ("ecovctrs", W),
        ("end", W),
        ("gcdata", W),
        ("gcbss", W),
        ("types", W),
        ("etypes", W),
        ("rodata", W),
        ("gofunc", W),
        ("textsectmap", S),
        ("typelinks", S),
        ("itablinks", S),
        ("ptab", S),
        ("pluginpath", Str),
        ("pkghashes", S),
        ("modulename", Str),
        ("modulehashes", S),
        ("hasmain", B),
        ("gcdatamask", BV),
        ("gcbssmask", BV),
        ("typemap", W),
        ("bad", B),
        ("next", W),
    ],
);

/// Go 1.21–1.22: adds inittasks.
static GO121: [(&str, FieldKind); 44] = concat::<20, 24, 44>(
    head!(),
    [
        ("covctrs", W),
        ("ecovctrs", W),
        ("end", W),
        ("gcdata", W),
        ("gcbss", W),
        ("types", W),
        ("etypes", W),
        ("rodata", W),
        ("gofunc", W),
        ("textsectmap", S),
        ("typelinks", S),
        ("itablinks", S),
        ("ptab", S),
        ("pluginpath", Str),
        ("pkghashes", S),
        ("inittasks", S),
        ("modulename", Str),
        ("modulehashes", S),
        ("hasmain", B),
        ("gcdatamask", BV),
        ("gcbssmask", BV),
        ("typemap", W),
        ("bad", B),
        ("next", W),
    ],
);

/// Go 1.23–1.25: `bad` moves next to `hasmain`.
static GO123: [(&str, FieldKind); 44] = concat::<20, 24, 44>(
    head!(),
    [
        ("covctrs", W),
        ("ecovctrs", W),
        ("end", W),
        ("gcdata", W),
        ("gcbss", W),
        ("types", W),
        ("etypes", W),
        ("rodata", W),
        ("gofunc", W),
        ("textsectmap", S),
        ("typelinks", S),
        ("itablinks", S),
        ("ptab", S),
        ("pluginpath", Str),
        ("pkghashes", S),
        ("inittasks", S),
        ("modulename", Str),
        ("modulehashes", S),
        ("hasmain", B),
        ("bad", B),
        ("gcdatamask", BV),
        ("gcbssmask", BV),
        ("typemap", W),
        ("next", W),
    ],
);

/// Go 1.26: adds epclntab after gofunc.
static GO126: [(&str, FieldKind); 45] = concat::<20, 25, 45>(
    head!(),
    [
        ("covctrs", W),
        ("ecovctrs", W),
        ("end", W),
        ("gcdata", W),
        ("gcbss", W),
        ("types", W),
        ("etypes", W),
        ("rodata", W),
        ("gofunc", W),
        ("epclntab", W),
        ("textsectmap", S),
        ("typelinks", S),
        ("itablinks", S),
        ("ptab", S),
        ("pluginpath", Str),
        ("pkghashes", S),
        ("inittasks", S),
        ("modulename", Str),
        ("modulehashes", S),
        ("hasmain", B),
        ("bad", B),
        ("gcdatamask", BV),
        ("gcbssmask", BV),
        ("typemap", W),
        ("next", W),
    ],
);

/// Go 1.27: typelinks/itablinks replaced by typedesclen, itaboffset, itabsize.
static GO127: [(&str, FieldKind); 46] = concat::<20, 26, 46>(
    head!(),
    [
        ("covctrs", W),
        ("ecovctrs", W),
        ("end", W),
        ("gcdata", W),
        ("gcbss", W),
        ("types", W),
        ("typedesclen", W),
        ("etypes", W),
        ("itaboffset", W),
        ("itabsize", W),
        ("rodata", W),
        ("gofunc", W),
        ("epclntab", W),
        ("textsectmap", S),
        ("ptab", S),
        ("pluginpath", Str),
        ("pkghashes", S),
        ("inittasks", S),
        ("modulename", Str),
        ("modulehashes", S),
        ("hasmain", B),
        ("bad", B),
        ("gcdatamask", BV),
        ("gcbssmask", BV),
        ("typemap", W),
        ("next", W),
    ],
);

/// All layouts, newest first.
pub static LAYOUTS: &[Layout] = &[
    Layout {
        releases: "1.27",
        first_minor: 27,
        fields: &GO127,
    },
    Layout {
        releases: "1.26",
        first_minor: 26,
        fields: &GO126,
    },
    Layout {
        releases: "1.23-1.25",
        first_minor: 23,
        fields: &GO123,
    },
    Layout {
        releases: "1.21-1.22",
        first_minor: 21,
        fields: &GO121,
    },
    Layout {
        releases: "1.20",
        first_minor: 20,
        fields: &GO120,
    },
    Layout {
        releases: "1.18-1.19",
        first_minor: 18,
        fields: &GO118,
    },
];

/// The layout for Go 1.`minor` (releases after the newest known use the newest).
pub fn layout_for(minor: u32) -> Option<&'static Layout> {
    LAYOUTS.iter().find(|l| minor >= l.first_minor)
}

impl Layout {
    /// Byte offset of every field for a pointer size, and the struct's total size.
    pub fn offsets(&self, ptr_size: u8) -> (Vec<(&'static str, FieldKind, u64)>, u64) {
        let p = u64::from(ptr_size);
        let mut off = 0u64;
        let mut out = Vec::with_capacity(self.fields.len());
        for &(name, kind) in self.fields {
            let (align, size) = match kind {
                W => (p, p),
                S => (p, 3 * p),
                Str => (p, 2 * p),
                BV => (p, 2 * p),
                B => (1, 1),
            };
            off = off.div_ceil(align) * align;
            out.push((name, kind, off));
            off += size;
        }
        (out, off.div_ceil(p) * p)
    }
}
