//! Progress bars: drawn on a terminal, silent under `--quiet` or when stderr
//! is not a terminal (indicatif hides itself there). Under
//! `--progress-lines`, each bar is said instead as lines a program reads
//! (the QGIS plugin): `progress<TAB>step<TAB>done<TAB>total`, total 0 while
//! unknown, at most 4 a second, terminal or not.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub quiet: bool,
    /// Bars as lines for a program (`--progress-lines`).
    pub lines: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            lines: false,
        }
    }

    /// Progress said as lines a program reads, whether or not stderr is a
    /// terminal (quiet still wins).
    pub fn as_lines(self) -> Self {
        Progress {
            lines: true,
            ..self
        }
    }

    pub fn hidden() -> Self {
        Progress {
            quiet: true,
            lines: false,
        }
    }

    pub fn bar(&self, len: u64, message: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        if self.lines {
            return line_bar(Some(len), "{msg}\u{1f}{pos}\u{1f}{len}", message);
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
        if bar.is_hidden() || self.lines {
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
        if self.lines {
            let b = line_bar(None, "{msg}\u{1f}{pos}\u{1f}0", message);
            b.enable_steady_tick(std::time::Duration::from_millis(1000));
            return b;
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

/// A bar said as lines on stderr through `Lines`, in `template` (its
/// fields apart by U+001F: indicatif expands tabs to spaces).
fn line_bar(len: Option<u64>, template: &str, message: &str) -> ProgressBar {
    let target = ProgressDrawTarget::term_like_with_hz(Box::<Lines>::default(), 4);
    let b = ProgressBar::with_draw_target(len, target);
    b.set_style(ProgressStyle::with_template(template).expect("static template"));
    b.set_message(message.to_string());
    b
}

/// indicatif's "terminal" for `--progress-lines`: what a bar draws between
/// two flushes is one state; each state that differs from the last is
/// written to stderr as `progress<TAB>STATE` (cursor moves and clears mean
/// nothing on a pipe and are dropped).
#[derive(Debug, Default)]
struct Lines {
    drawn: Mutex<(String, String)>,
}

impl TermLike for Lines {
    fn width(&self) -> u16 {
        500
    }
    fn height(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        if let Ok(mut d) = self.drawn.lock() {
            d.0.push_str(s);
        }
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        let Ok(mut d) = self.drawn.lock() else {
            return Ok(());
        };
        let now = std::mem::take(&mut d.0);
        let now = now.trim_matches(|c: char| c == '\r' || c == ' ' || c == '\n');
        if now.contains('\u{1f}') && now != d.1 {
            let mut err = std::io::stderr().lock();
            writeln!(err, "progress\t{}", now.replace('\u{1f}', "\t"))?;
            d.1 = now.to_string();
        }
        Ok(())
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
