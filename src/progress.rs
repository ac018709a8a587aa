//! Progress for long phases on stderr: a spinner with the phase's name and elapsed
//! time and, for the phases over a heap, a bar per stage (typing, marking, object
//! graph, dominator tree) from the library's counters ([`gocore::Progress`]).
//! Drawn only when stderr is a terminal and `--quiet` was not given, and cleared
//! when the phase ends (before the command prints its result).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gocore::{Progress, Stage};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no progress at all.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A running phase; what it draws goes away when it is dropped.
pub struct Phase {
    spinner: Option<ProgressBar>,
    /// The stage bars' poller: its stop flag and thread.
    poll: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

fn drawn() -> bool {
    !QUIET.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

fn spinner(what: &'static str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        pb.set_style(style);
    }
    pb.set_message(what);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Starts a phase named `what` ("indexing the heap"): a spinner.
pub fn phase(what: &'static str) -> Phase {
    Phase {
        spinner: drawn().then(|| spinner(what)),
        poll: None,
    }
}

/// Starts a phase named `what` that runs `stages` over a heap: the spinner, and
/// under it a bar per stage, filled from `progress` ([`gocore::Heap::progress`])
/// ten times a second.
pub fn phase_over(what: &'static str, progress: Arc<Progress>, stages: &[Stage]) -> Phase {
    if !drawn() {
        return Phase {
            spinner: None,
            poll: None,
        };
    }
    let multi = MultiProgress::new();
    let head = multi.add(spinner(what));
    let style = ProgressStyle::with_template("  {prefix:<15} [{bar:32}] {percent:>3}%")
        .ok()
        .map(|s| s.progress_chars("=> "));
    let bars: Vec<(Stage, ProgressBar)> = stages
        .iter()
        .map(|&s| {
            let b = multi.add(ProgressBar::new(1));
            if let Some(style) = style.clone() {
                b.set_style(style);
            }
            b.set_prefix(s.name());
            (s, b)
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let poll = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            loop {
                for (s, b) in &bars {
                    let (done, total) = progress.get(*s);
                    if total > 0 {
                        b.set_length(total);
                        b.set_position(done);
                    }
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            for (_, b) in bars {
                b.finish_and_clear();
            }
            let _ = multi.clear();
        })
    };
    Phase {
        spinner: Some(head),
        poll: Some((stop, poll)),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some((stop, poll)) = self.poll.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = poll.join();
        }
        if let Some(pb) = self.spinner.take() {
            pb.finish_and_clear();
        }
    }
}
