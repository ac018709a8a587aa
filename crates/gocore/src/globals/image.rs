//! A copy of the executable's writable data (data, bss, noptrdata, noptrbss and Go
//! 1.26+'s `.go.module`) as the
//! core holds it, read once and scanned by the signatures.

use corefile::Endian;

use crate::process::Process;

/// Largest section copied (larger ones are skipped with a note).
const MAX_RANGE: u64 = 256 << 20;

/// One section's bytes at its run-time address.
pub(crate) struct Range {
    /// `data`, `bss`, `noptrdata`, `noptrbss` or `go.module`.
    pub(crate) name: &'static str,
    /// Run-time start address.
    pub(crate) start: u64,
    /// The bytes, as the core holds them.
    pub(crate) bytes: Vec<u8>,
}

/// The writable data of the executable.
pub(crate) struct Image {
    pub(crate) ranges: Vec<Range>,
    pub(crate) endian: Endian,
    /// How the ranges were found (`moduledata` or `section headers`).
    pub(crate) source: &'static str,
}

impl Range {
    /// The word at byte offset `off`.
    pub(crate) fn word(&self, off: usize, endian: Endian) -> Option<u64> {
        let b = self.bytes.get(off..off.checked_add(8)?)?;
        Some(endian.read_u64(b.try_into().ok()?))
    }

    /// The `uint16` at byte offset `off`.
    pub(crate) fn u16(&self, off: usize, endian: Endian) -> Option<u16> {
        let b = self.bytes.get(off..off.checked_add(2)?)?;
        Some(endian.read_u16(b.try_into().ok()?))
    }
}

impl Image {
    /// Reads the ranges named by the run-time moduledata (or, failing that, the ELF
    /// section headers) from the core.
    pub(crate) fn read(proc: &Process<'_>) -> Result<Image, String> {
        let (spans, source) = match moduledata_ranges(proc) {
            Ok(s) => (s, "moduledata"),
            Err(md_err) => {
                let s = section_ranges(proc);
                if s.is_empty() {
                    return Err(format!(
                        "no data/bss ranges: moduledata: {md_err}; no .data/.bss section headers"
                    ));
                }
                (s, "section headers")
            }
        };
        // Go 1.26+ keeps the moduledata in a section of its own.
        let mut spans = spans;
        if let Some(s) = proc.binary().section(".go.module") {
            let a = s.address.wrapping_add(proc.load_bias());
            spans.push(("go.module", a, a.saturating_add(s.size)));
        }
        let core = proc.core();
        let mut ranges = Vec::new();
        let mut problems = Vec::new();
        for (name, start, end) in spans {
            let len = end.saturating_sub(start);
            if len == 0 {
                continue;
            }
            if len > MAX_RANGE {
                problems.push(format!("{name}: {len} bytes (limit {MAX_RANGE})"));
                continue;
            }
            match core.read(start, len as usize) {
                Ok(b) => ranges.push(Range {
                    name,
                    start,
                    bytes: b.into_owned(),
                }),
                Err(e) => problems.push(format!("{name}: {e}")),
            }
        }
        if ranges.is_empty() {
            return Err(format!("no data/bss readable: {}", problems.join("; ")));
        }
        Ok(Image {
            ranges,
            endian: core.arch().endian(),
            source,
        })
    }

    /// The word at run-time address `addr`, if inside the image.
    pub(crate) fn word(&self, addr: u64) -> Option<u64> {
        let r = self.range_of(addr)?;
        r.word(usize::try_from(addr - r.start).ok()?, self.endian)
    }

    /// The range holding `addr`.
    pub(crate) fn range_of(&self, addr: u64) -> Option<&Range> {
        self.ranges
            .iter()
            .find(|r| addr >= r.start && addr - r.start < r.bytes.len() as u64)
    }
}

/// `[data, edata)` and friends from the moduledata as the core holds it (relocated for
/// PIE), checked against the file's copy when the two differ only by the load bias.
fn moduledata_ranges(proc: &Process<'_>) -> Result<Vec<(&'static str, u64, u64)>, String> {
    let md = proc.binary().moduledata().map_err(|e| e.to_string())?;
    let bias = proc.load_bias();
    let base = md.address().wrapping_add(bias);
    let core = proc.core();
    let word = |name: &str| -> Result<u64, String> {
        let off = md
            .field_offset(name)
            .ok_or_else(|| format!("moduledata has no field {name}"))?;
        core.read_ptr(base.wrapping_add(off))
            .map_err(|e| format!("moduledata.{name}: {e}"))
    };
    let mut out = Vec::new();
    for (name, lo, hi) in [
        ("data", "data", "edata"),
        ("bss", "bss", "ebss"),
        ("noptrdata", "noptrdata", "enoptrdata"),
        ("noptrbss", "noptrbss", "enoptrbss"),
    ] {
        let (a, b) = (word(lo)?, word(hi)?);
        if a == 0 || b < a {
            return Err(format!("moduledata.{lo}..{hi} = {a:#x}..{b:#x}"));
        }
        out.push((name, a, b));
    }
    Ok(out)
}

fn section_ranges(proc: &Process<'_>) -> Vec<(&'static str, u64, u64)> {
    let bias = proc.load_bias();
    let bin = proc.binary();
    [
        ("data", ".data"),
        ("bss", ".bss"),
        ("noptrdata", ".noptrdata"),
        ("noptrbss", ".noptrbss"),
    ]
    .into_iter()
    .filter_map(|(name, sect)| {
        let s = bin.section(sect)?;
        let a = s.address.wrapping_add(bias);
        Some((name, a, a.saturating_add(s.size)))
    })
    .collect()
}
