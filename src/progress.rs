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
            // left (from the recent rate); a bar whose length is not known
            // yet (made with 0, set later) shows the time only, never "0/0".
            ProgressStyle::with_template("{msg:>18} [{gauge}] {counts}")
                .expect("static template")
                .with_key("gauge", gauge)
                .with_key("counts", counts),
        );
        b.set_message(message.to_string());
        b
    }

    /// A run's list of warnings, each said on the terminal as it is added.
    pub fn warnings(&self) -> Warnings {
        Warnings {
            list: Vec::new(),
            quiet: self.quiet,
        }
    }

    /// One line of a long job's log (a landscape finished): above `bar` on
    /// a terminal; on stderr as it is where the bar is hidden (stderr is a
    /// log file, not a terminal); nothing under `--quiet`.
    pub fn say(&self, bar: &ProgressBar, line: &str) {
        if self.quiet {
            return;
        }
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
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

/// A run's warnings: each said on the terminal (stderr) when a stage adds
/// it, between the stages' bars, not after the work; nothing under
/// `--quiet`.
#[derive(Debug, Clone, Default)]
pub struct Warnings {
    pub list: Vec<String>,
    quiet: bool,
}

impl Warnings {
    pub fn add(&mut self, new: impl IntoIterator<Item = String>) {
        for w in new {
            if !self.quiet {
                eprintln!("{w}");
            }
            self.list.push(w);
        }
    }

    /// `add`, each line as "warning: LINE".
    pub fn add_warnings(&mut self, new: &[String]) {
        self.add(new.iter().map(|w| format!("warning: {w}")));
    }
}

/// The bar, 40 wide: `=` done, `>` the head; empty while the length is not
/// known (indicatif draws a bar of length 0 full).
fn gauge(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    const WIDTH: usize = 40;
    let frac = match state.len() {
        Some(len) if len > 0 => (state.pos() as f64 / len as f64).clamp(0.0, 1.0),
        _ => 0.0,
    };
    let done = (frac * WIDTH as f64) as usize;
    let head = usize::from(done < WIDTH && frac > 0.0);
    let _ = write!(
        w,
        "{}{}{}",
        "=".repeat(done),
        ">".repeat(head),
        " ".repeat(WIDTH - done - head)
    );
}

/// `pos/len (elapsed, about eta left)`, or `(elapsed)` while the length is
/// not known.
fn counts(state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write) {
    use indicatif::HumanDuration;
    // (`{:#}`: indicatif's own short form, "12s".)
    let elapsed = HumanDuration(state.elapsed());
    let _ = match state.len() {
        Some(len) if len > 0 => write!(
            w,
            "{}/{len} ({elapsed:#}, about {:#} left)",
            state.pos(),
            HumanDuration(state.eta())
        ),
        _ => write!(w, "({elapsed:#})"),
    };
}
