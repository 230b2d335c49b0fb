//! Progress bars: drawn on a terminal, silent under `--quiet` or when stderr
//! is not a terminal (indicatif hides itself there).

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress { quiet }
    }

    pub fn hidden() -> Self {
        Progress { quiet: true }
    }

    pub fn bar(&self, len: u64, message: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let b = ProgressBar::new(len);
        b.set_style(
            // Counts, the time so far and indicatif's estimate of what is
            // left (from the recent rate).
            ProgressStyle::with_template(
                "{msg:>18} [{bar:40}] {pos}/{len} ({elapsed}, about {eta} left)",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        b.set_message(message.to_string());
        b
    }

    /// A spinner for a step of unknown length.
    pub fn spinner(&self, message: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("static template"),
        );
        b.set_message(message.to_string());
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    }
}
