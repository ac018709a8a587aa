//! How far the long computations over a heap have got, for a progress display.
//!
//! Each [`Heap`](crate::Heap) carries a [`Progress`]: counters that typing, marking,
//! the object graph and the dominator tree advance as they go (a relaxed atomic add
//! every few thousand objects: nothing measurable), and that another thread may read
//! at any time to draw a bar. The library draws nothing itself.
//!
//! ```no_run
//! let core = corefile::Core::open("core")?;
//! let proc = gocore::Process::new(&core)?;
//! let heap = gocore::Heap::new(&proc)?;
//! let progress = heap.progress();
//! std::thread::scope(|s| {
//!     let typing = s.spawn(|| gocore::Typing::compute(&proc, &heap));
//!     while !typing.is_finished() {
//!         let (done, total) = progress.get(gocore::Stage::Typing);
//!         eprint!("\rtyping {done}/{total}");
//!         std::thread::sleep(std::time::Duration::from_millis(100));
//!     }
//! });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A long computation over a heap, as [`Progress`] counts it.
///
/// ```
/// assert_eq!(gocore::Stage::ALL.len(), 4);
/// assert_eq!(gocore::Stage::Graph.name(), "object graph");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// [`Typing::compute`](crate::Typing::compute): values walked, against the
    /// number of objects (a walk may take more values than there are objects, or
    /// fewer: the count stops short of the total until it is done).
    Typing,
    /// [`Reachability::compute`](crate::Reachability::compute): objects marked and
    /// scanned, against the number of objects (the unreachable ones never are).
    Marking,
    /// [`ObjectGraph::build`](crate::ObjectGraph::build): objects scanned.
    Graph,
    /// [`Dominators::compute`](crate::Dominators::compute): nodes numbered by its
    /// depth-first search, then nodes given a semidominator — two per node.
    Dominators,
}

impl Stage {
    /// Every stage, in the order a full analysis starts them.
    pub const ALL: [Stage; 4] = [
        Stage::Typing,
        Stage::Marking,
        Stage::Graph,
        Stage::Dominators,
    ];

    /// A short name to show.
    ///
    /// ```
    /// assert_eq!(gocore::Stage::Dominators.name(), "dominator tree");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Stage::Typing => "typing",
            Stage::Marking => "marking",
            Stage::Graph => "object graph",
            Stage::Dominators => "dominator tree",
        }
    }
}

/// Work done and total work of each [`Stage`]; see the [module documentation](self).
///
/// ```
/// let p = gocore::Progress::default();
/// assert_eq!(p.get(gocore::Stage::Typing), (0, 0)); // not started
/// ```
#[derive(Debug, Default)]
pub struct Progress {
    done: [AtomicU64; 4],
    total: [AtomicU64; 4],
    finished: [AtomicBool; 4],
}

/// Units of work a stage adds to its count at once.
pub(crate) const STEP: u64 = 1 << 14;

impl Progress {
    /// `(done, total)` for `stage`: `(0, 0)` before it starts, `done == total` once
    /// it has finished (`done` never passes `total`).
    ///
    /// ```
    /// let p = gocore::Progress::default();
    /// let (done, total) = p.get(gocore::Stage::Graph);
    /// assert!(done <= total);
    /// ```
    pub fn get(&self, stage: Stage) -> (u64, u64) {
        let i = stage as usize;
        let total = self.total[i].load(Ordering::Relaxed);
        if self.finished[i].load(Ordering::Relaxed) {
            return (total, total);
        }
        let done = self.done[i].load(Ordering::Relaxed);
        (done.min(total.saturating_sub(1)), total)
    }

    /// `stage` starts with `total` units of work.
    pub(crate) fn start(&self, stage: Stage, total: u64) {
        let i = stage as usize;
        self.finished[i].store(false, Ordering::Relaxed);
        self.done[i].store(0, Ordering::Relaxed);
        self.total[i].store(total.max(1), Ordering::Relaxed);
    }

    /// `n` more units of `stage` are done (kept below the total until it finishes).
    pub(crate) fn add(&self, stage: Stage, n: u64) {
        self.done[stage as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// `stage` has finished.
    pub(crate) fn finish(&self, stage: Stage) {
        let i = stage as usize;
        let total = self.total[i].load(Ordering::Relaxed).max(1);
        self.total[i].store(total, Ordering::Relaxed);
        self.finished[i].store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stay_below_total_until_finished() {
        let p = Progress::default();
        assert_eq!(p.get(Stage::Marking), (0, 0));
        p.start(Stage::Marking, 10);
        p.add(Stage::Marking, 4);
        assert_eq!(p.get(Stage::Marking), (4, 10));
        p.add(Stage::Marking, 40);
        assert_eq!(p.get(Stage::Marking), (9, 10));
        p.finish(Stage::Marking);
        assert_eq!(p.get(Stage::Marking), (10, 10));
        assert_eq!(p.get(Stage::Graph), (0, 0));
    }
}
