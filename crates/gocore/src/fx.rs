//! A fast, non-cryptographic hasher for the crate's hot integer-keyed maps
//! (FxHash's mixing, as rustc uses). The keys it hashes are the analysis's own
//! (type keys, frame ids), few and not chosen by the input, so hash flooding is
//! not a concern; `std`'s SipHash cost a fifth of `Dominators::group_by` on B20.

use std::collections::HashMap;

/// FxHash's state: one word, rotated, xored and multiplied per input word.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` hashed with [`Fx`].
pub(crate) type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn equal_keys_hash_equal_and_different_ones_mostly_differ() {
        let b = BuildHasherDefault::<Fx>::default();
        assert_eq!(b.hash_one((0u8, 7u64, 1u64)), b.hash_one((0u8, 7u64, 1u64)));
        assert_eq!(
            b.hash_one("main.Node"),
            b.hash_one(String::from("main.Node"))
        );
        let mut seen = std::collections::HashSet::new();
        for t in 0..1000u64 {
            seen.insert(b.hash_one((0u8, t, 1u64)));
        }
        assert_eq!(seen.len(), 1000);
        let mut m: FxMap<&str, u32> = FxMap::default();
        m.insert("a", 1);
        m.insert("b", 2);
        assert_eq!(
            (m.get("a"), m.get("b"), m.get("c")),
            (Some(&1), Some(&2), None)
        );
    }
}
