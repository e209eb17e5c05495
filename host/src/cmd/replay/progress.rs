//! The progress bar `resetwatch replay` draws on stderr.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a replay runs before the progress bar shows.
const PROGRESS_AFTER: Duration = Duration::from_millis(500);

/// A progress bar on stderr: hidden until the replay has taken
/// [`PROGRESS_AFTER`], and never drawn when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: std::cell::Cell<bool>,
    enabled: bool,
}

impl Progress {
    pub fn new(total: Option<u64>) -> Self {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::hidden()).with_style(
                ProgressStyle::with_template("{spinner} replay [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()).with_style(
                ProgressStyle::with_template("{spinner} replay {bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        Progress { bar, started: Instant::now(), shown: false.into(), enabled: std::io::stderr().is_terminal() }
    }

    pub fn update(&self, bytes: u64, lines: u64) {
        if self.enabled && !self.shown.get() && self.started.elapsed() >= PROGRESS_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown.set(true);
        }
        self.bar.set_position(bytes);
        self.bar.set_message(format!("{lines} lines"));
    }

    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
