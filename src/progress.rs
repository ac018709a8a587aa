//! Progress for long phases: a spinner with the phase's name and elapsed time on
//! stderr, drawn only when stderr is a terminal and `--quiet` was not given, and
//! cleared when the phase ends (before the command prints its result).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no progress at all.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A running phase; the spinner goes away when it is dropped.
pub struct Phase(Option<ProgressBar>);

/// Starts a phase named `what` ("typing objects").
pub fn phase(what: &'static str) -> Phase {
    if QUIET.load(Ordering::Relaxed) || !std::io::stderr().is_terminal() {
        return Phase(None);
    }
    let pb = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        pb.set_style(style);
    }
    pb.set_message(what);
    pb.enable_steady_tick(Duration::from_millis(120));
    Phase(Some(pb))
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(pb) = self.0.take() {
            pb.finish_and_clear();
        }
    }
}
