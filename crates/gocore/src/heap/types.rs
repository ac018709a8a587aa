//! Allocation types found in the heap (malloc headers and `mspan.largeType`) and
//! their pointer masks.

use std::collections::HashMap;

use gobinary::{GoBinary, TypeReader};

use crate::process::Process;

/// Longest pointer mask read for one type, in bytes (a mask bit per word: this covers
/// types up to 2 GiB of pointer-bearing prefix).
const MAX_MASK_BYTES: u64 = 32 << 20;

/// An allocation type: the `*abi.Type` stored in a malloc header or in
/// `mspan.largeType`, with the pointer mask the garbage collector uses for it.
///
/// ```no_run
/// # let core = corefile::Core::open("core")?;
/// # let proc = gocore::Process::new(&core)?;
/// let heap = gocore::Heap::new(&proc)?;
/// for obj in heap.objects() {
///     if let Some(t) = heap.object_type(&obj) {
///         println!("{:#x} {} ({} pointer words per element)", obj.addr, t.display_name(), t.ptr_words());
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeInfo {
    /// Run-time address of the type descriptor.
    pub addr: u64,
    /// The type's name as the runtime prints it (`main.T`, `[16]*main.E`), when the
    /// descriptor lies in the executable; types built at run time (the runtime's
    /// dummy types for GC programs and user arenas, `reflect`-made types) have none.
    pub name: Option<String>,
    /// `Size_`: the stride at which the mask repeats across an object.
    pub size: u64,
    /// `PtrBytes`: the prefix of each element that can hold pointers.
    pub ptr_bytes: u64,
    /// One bit per word of the first `ptr_bytes`, least significant bit first.
    pub mask: Vec<u8>,
}

impl TypeInfo {
    /// The name, or `type@ADDR` when the descriptor has none.
    ///
    /// ```
    /// # let t = gocore::TypeInfo::unnamed(0x1000, 16, 8, vec![1]);
    /// assert_eq!(t.display_name(), "type@0x1000");
    /// ```
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("type@{:#x}", self.addr),
        }
    }

    /// Words of each element that may hold pointers (`ptr_bytes / 8` on 64-bit).
    ///
    /// ```
    /// # let t = gocore::TypeInfo::unnamed(0x1000, 24, 16, vec![0b11]);
    /// assert_eq!(t.ptr_words(), 2);
    /// ```
    pub fn ptr_words(&self) -> u64 {
        self.ptr_bytes / 8
    }

    /// A type without a name (for tests and tools that build masks themselves).
    ///
    /// ```
    /// let t = gocore::TypeInfo::unnamed(0x1000, 16, 8, vec![1]);
    /// assert!(t.name.is_none());
    /// ```
    pub fn unnamed(addr: u64, size: u64, ptr_bytes: u64, mask: Vec<u8>) -> TypeInfo {
        TypeInfo {
            addr,
            name: None,
            size,
            ptr_bytes,
            mask,
        }
    }

    /// Whether word `i` of an element (counted from the element's start) holds a
    /// pointer.
    pub(crate) fn bit(&self, i: u64) -> bool {
        self.mask
            .get((i / 8) as usize)
            .is_some_and(|b| b & (1 << (i % 8)) != 0)
    }
}

/// Reads type descriptors at run-time addresses: from the executable's type
/// section when they lie there (GC programs and on-demand masks handled by
/// [`gobinary`]), else from core memory.
pub(crate) struct TypeLoader<'p, 'a> {
    proc: &'p Process<'a>,
    reader: Option<TypeReader<'p, 'a>>,
    types: (u64, u64),
    gcprog_kind: Option<u64>,
    on_demand_tflag: Option<u64>,
}

impl<'p, 'a> TypeLoader<'p, 'a> {
    pub(crate) fn new(
        proc: &'p Process<'a>,
        md: Option<&'p gobinary::Moduledata<'a>>,
        warnings: &mut Vec<String>,
    ) -> TypeLoader<'p, 'a> {
        let bin: &'p GoBinary<'a> = proc.binary();
        let (reader, types) = match md {
            Some(md) => match bin.type_reader(md) {
                Ok(r) => (Some(r), md.types_range()),
                Err(e) => {
                    warnings.push(format!("type descriptors unreadable: {e}"));
                    (None, (0, 0))
                }
            },
            None => (None, (0, 0)),
        };
        let l = proc.layouts();
        TypeLoader {
            proc,
            reader,
            types,
            gcprog_kind: l.constant_u64("internal/abi.KindGCProg").ok(),
            on_demand_tflag: l.constant_u64("internal/abi.TFlagGCMaskOnDemand").ok(),
        }
    }

    /// Loads every type in `addrs`, keyed by run-time address; failures become
    /// warnings and the type is left out (its objects then have no pointers).
    pub(crate) fn load_all(
        &self,
        addrs: impl IntoIterator<Item = u64>,
        warnings: &mut Vec<String>,
    ) -> HashMap<u64, TypeInfo> {
        let mut out = HashMap::new();
        for addr in addrs {
            if addr == 0 || out.contains_key(&addr) {
                continue;
            }
            match self.load(addr) {
                Ok(t) => {
                    out.insert(addr, t);
                }
                Err(e) => warnings.push(format!("type at {addr:#x}: {e}")),
            }
        }
        out
    }

    fn load(&self, addr: u64) -> Result<TypeInfo, String> {
        let link = addr.wrapping_sub(self.proc.load_bias());
        if let Some(r) = &self.reader {
            if link >= self.types.0 && link < self.types.1 {
                let t = r.type_at(link).map_err(|e| e.to_string())?;
                let mask = r.gc_mask(&t).map_err(|e| e.to_string())?;
                return Ok(TypeInfo {
                    addr,
                    name: Some(t.name),
                    size: t.size,
                    ptr_bytes: t.ptr_bytes,
                    mask,
                });
            }
        }
        self.load_from_core(addr)
    }

    /// A descriptor built at run time: `Size_`, `PtrBytes`, `TFlag`, `Kind_` and
    /// `GCData` from the `abi.Type` header in memory.
    fn load_from_core(&self, addr: u64) -> Result<TypeInfo, String> {
        let core = self.proc.core();
        let h = core.read(addr, 48).map_err(|e| e.to_string())?;
        let word = |off: usize| -> u64 {
            h.get(off..off + 8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_le_bytes)
        };
        let size = word(0);
        let ptr_bytes = word(8);
        let tflag = u64::from(h.get(20).copied().unwrap_or(0));
        let kind = u64::from(h.get(23).copied().unwrap_or(0));
        let mut gcdata = word(32);
        if ptr_bytes > size || ptr_bytes % 8 != 0 {
            return Err(format!(
                "implausible descriptor (size {size}, ptrBytes {ptr_bytes})"
            ));
        }
        if self.gcprog_kind.is_some_and(|k| kind & k != 0) {
            return Err("run-time type with a GC program (not supported)".into());
        }
        if self.on_demand_tflag.is_some_and(|f| tflag & f != 0) {
            gcdata = core.read_u64(gcdata).map_err(|e| e.to_string())?;
            if gcdata == 0 {
                return Err("on-demand GC mask not built yet".into());
            }
        }
        let nbytes = (ptr_bytes / 8).div_ceil(8);
        if nbytes > MAX_MASK_BYTES {
            return Err(format!("pointer mask of {nbytes} bytes is implausible"));
        }
        let mask = if nbytes == 0 {
            Vec::new()
        } else {
            core.read(gcdata, nbytes as usize)
                .map_err(|e| e.to_string())?
                .into_owned()
        };
        Ok(TypeInfo {
            addr,
            name: None,
            size,
            ptr_bytes,
            mask,
        })
    }
}
