//! Bounds-checked, endian-aware reads from byte slices.

/// Byte order of the target.
///
/// ```
/// use gobinary::Endian;
/// assert_ne!(Endian::Little, Endian::Big);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (amd64, arm64, 386, arm, …).
    Little,
    /// Most significant byte first (s390x, ppc64, mips, …).
    Big,
}

/// Pointer size and byte order of a target: what every reader needs to decode words.
///
/// ```
/// use gobinary::{Encoding, Endian};
/// let enc = Encoding { endian: Endian::Little, ptr_size: 8 };
/// assert_eq!(enc.read_ptr(&[1, 0, 0, 0, 0, 0, 0, 0, 9], 0), Some(1));
/// assert_eq!(enc.read_ptr(&[1, 0, 0], 0), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Encoding {
    /// Byte order.
    pub endian: Endian,
    /// Pointer size in bytes: 4 or 8.
    pub ptr_size: u8,
}

impl Encoding {
    /// Reads a `u16` at `off`, or `None` when out of bounds.
    ///
    /// ```
    /// use gobinary::{Encoding, Endian};
    /// let enc = Encoding { endian: Endian::Big, ptr_size: 4 };
    /// assert_eq!(enc.read_u16(&[1, 2], 0), Some(0x102));
    /// ```
    pub fn read_u16(&self, data: &[u8], off: usize) -> Option<u16> {
        let b: [u8; 2] = data.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        })
    }

    /// Reads a `u32` at `off`, or `None` when out of bounds.
    ///
    /// ```
    /// use gobinary::{Encoding, Endian};
    /// let enc = Encoding { endian: Endian::Little, ptr_size: 4 };
    /// assert_eq!(enc.read_u32(&[1, 0, 0, 0], 0), Some(1));
    /// ```
    pub fn read_u32(&self, data: &[u8], off: usize) -> Option<u32> {
        let b: [u8; 4] = data.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        })
    }

    /// Reads a `u64` at `off`, or `None` when out of bounds.
    ///
    /// ```
    /// use gobinary::{Encoding, Endian};
    /// let enc = Encoding { endian: Endian::Little, ptr_size: 8 };
    /// assert_eq!(enc.read_u64(&[2, 0, 0, 0, 0, 0, 0, 0], 0), Some(2));
    /// ```
    pub fn read_u64(&self, data: &[u8], off: usize) -> Option<u64> {
        let b: [u8; 8] = data.get(off..off.checked_add(8)?)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        })
    }

    /// Reads a pointer-sized word at `off`, or `None` when out of bounds.
    ///
    /// ```
    /// use gobinary::{Encoding, Endian};
    /// let enc = Encoding { endian: Endian::Little, ptr_size: 4 };
    /// assert_eq!(enc.read_ptr(&[3, 0, 0, 0], 0), Some(3));
    /// ```
    pub fn read_ptr(&self, data: &[u8], off: usize) -> Option<u64> {
        if self.ptr_size == 4 {
            self.read_u32(data, off).map(u64::from)
        } else {
            self.read_u64(data, off)
        }
    }
}

/// Reads an unsigned LEB128 varint (Go's `binary.Uvarint`); returns value and length.
pub(crate) fn uvarint(data: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        let shift = u32::try_from(i).ok()?.checked_mul(7)?;
        if i == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b < 0x80 {
            return Some((v, i.checked_add(1)?));
        }
    }
    None
}

/// Position of `needle` in `hay`, searching from `from`.
pub(crate) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = hay.get(from..)?;
    if needle.is_empty() || rest.len() < needle.len() {
        return None;
    }
    let first = *needle.first()?;
    let mut i = 0usize;
    while let Some(pos) = rest.get(i..)?.iter().position(|&b| b == first) {
        let at = i.checked_add(pos)?;
        if rest.get(at..at.checked_add(needle.len())?) == Some(needle) {
            return from.checked_add(at);
        }
        i = at.checked_add(1)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_and_find() {
        assert_eq!(uvarint(&[0x96, 0x01]), Some((150, 2)));
        assert_eq!(uvarint(&[0x80]), None);
        assert_eq!(find(b"abcabd", b"abd", 0), Some(3));
        assert_eq!(find(b"abcabd", b"abd", 4), None);
    }
}
