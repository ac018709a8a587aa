//! Source B: the generated, version-keyed tables and how one is chosen.

use super::{generated, Field, LayoutData};

/// Bound on `base` chains (generated chains are at most 3 long).
const MAX_CHAIN: usize = 8;

/// One generated table: the catalogued items of one reference build, for one
/// (minor release, experiments, arch). To stay small, a table may list only how it
/// differs from `base`: entries here override or add, `removed_*` drop.
#[derive(Debug)]
pub(crate) struct Table {
    /// Go version of the reference build (`go1.24.11`).
    pub(crate) reference: &'static str,
    /// Minor release (24 for go1.24.x).
    pub(crate) minor: u32,
    /// Non-default experiments of the build, sorted (`["noswissmap"]`).
    pub(crate) experiments: &'static [&'static str],
    /// GOARCH.
    pub(crate) arch: &'static str,
    /// Table this one is a difference from.
    pub(crate) base: Option<&'static Table>,
    /// Type sizes.
    pub(crate) sizes: &'static [(&'static str, u64)],
    /// (type, field path, offset, size, field type name).
    pub(crate) fields: &'static [(&'static str, &'static str, u64, u64, &'static str)],
    /// Constant values.
    pub(crate) consts: &'static [(&'static str, i64)],
    /// Sizes of `base` absent here.
    pub(crate) removed_sizes: &'static [&'static str],
    /// Fields of `base` absent here.
    pub(crate) removed_fields: &'static [(&'static str, &'static str)],
    /// Constants of `base` absent here.
    pub(crate) removed_consts: &'static [&'static str],
}

impl Table {
    /// `go1.24 X:noswissmap linux/amd64`.
    pub(crate) fn name(&self) -> String {
        let mut s = format!("go1.{}", self.minor);
        if !self.experiments.is_empty() {
            s.push_str(" X:");
            s.push_str(&self.experiments.join(","));
        }
        s.push_str(" linux/");
        s.push_str(self.arch);
        s
    }

    /// The full data, bases applied.
    pub(crate) fn resolve(&self) -> LayoutData {
        let mut chain = vec![self];
        let mut t = self;
        while let Some(b) = t.base {
            if chain.len() >= MAX_CHAIN {
                break;
            }
            chain.push(b);
            t = b;
        }
        let mut d = LayoutData::default();
        for t in chain.into_iter().rev() {
            for k in t.removed_sizes {
                d.sizes.remove(*k);
            }
            for (ty, f) in t.removed_fields {
                d.fields.remove(&(ty.to_string(), f.to_string()));
            }
            for k in t.removed_consts {
                d.consts.remove(*k);
            }
            for (k, v) in t.sizes {
                d.sizes.insert(k.to_string(), *v);
            }
            for (ty, path, offset, size, tn) in t.fields {
                let f = Field {
                    offset: *offset,
                    size: *size,
                    type_name: tn.to_string(),
                };
                d.fields.insert((ty.to_string(), path.to_string()), f);
            }
            for (k, v) in t.consts {
                d.consts.insert(k.to_string(), *v);
            }
        }
        d
    }
}

/// Every generated table.
pub(crate) fn all() -> &'static [&'static Table] {
    generated::TABLES
}

/// The experiments that select a different table for `minor` (those some table of
/// that release was generated with).
pub(crate) fn layout_experiments(minor: u32) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = all()
        .iter()
        .filter(|t| t.minor == minor)
        .flat_map(|t| t.experiments.iter().copied())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The newest and oldest minor releases with tables.
pub(crate) fn minor_range() -> Option<(u32, u32)> {
    let min = all().iter().map(|t| t.minor).min()?;
    let max = all().iter().map(|t| t.minor).max()?;
    Some((min, max))
}

/// The table for exactly (minor, experiments, arch); `experiments` sorted.
pub(crate) fn find(minor: u32, experiments: &[&str], arch: &str) -> Option<&'static Table> {
    all()
        .iter()
        .copied()
        .find(|t| t.minor == minor && t.arch == arch && t.experiments == experiments)
}
