//! The run's stopwatch: wall and CPU seconds and peak memory per stage,
//! from `getrusage`, for the run log and `scripts/bench.sh`.

/// One stage of a run: wall-clock seconds, CPU seconds of all the
/// process's threads over that time, and the process's peak resident
/// memory by the stage's end (None where the system does not tell, and
/// for a stage run beside another, whose CPU time that one's includes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lap {
    pub stage: &'static str,
    pub wall_s: f64,
    pub cpu_s: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
}

/// CPU seconds (user and system, all threads) the process has used so
/// far, and its peak resident memory in bytes (`getrusage`).
pub fn process_usage() -> Option<(f64, u64)> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
            return None;
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        // Kilobytes on Linux and the BSDs, bytes on macOS.
        let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
        Some((
            secs(ru.ru_utime) + secs(ru.ru_stime),
            (ru.ru_maxrss.max(0) as u64) * unit,
        ))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Time per stage. A stage run beside another (the halo beside
/// accessibility) is timed on its own, so the stages add up to more than
/// the run's wall time.
pub struct Stopwatch {
    start: std::time::Instant,
    at: std::time::Instant,
    cpu_at: Option<f64>,
    pub laps: Vec<Lap>,
}

impl Default for Stopwatch {
    fn default() -> Self {
        Stopwatch::new()
    }
}

impl Stopwatch {
    pub fn new() -> Self {
        let now = std::time::Instant::now();
        Stopwatch {
            start: now,
            at: now,
            cpu_at: process_usage().map(|u| u.0),
            laps: Vec::new(),
        }
    }

    pub fn lap(&mut self, stage: &'static str) {
        let now = std::time::Instant::now();
        let usage = process_usage();
        let cpu_now = usage.map(|u| u.0);
        self.laps.push(Lap {
            stage,
            wall_s: (now - self.at).as_secs_f64(),
            cpu_s: cpu_now.zip(self.cpu_at).map(|(b, a)| (b - a).max(0.0)),
            peak_rss_bytes: usage.map(|u| u.1),
        });
        self.at = now;
        self.cpu_at = cpu_now;
    }

    /// A stage that ran beside the others, `secs` long.
    pub fn beside(&mut self, stage: &'static str, secs: f64) {
        self.laps.push(Lap {
            stage,
            wall_s: secs,
            cpu_s: None,
            peak_rss_bytes: None,
        });
    }

    /// Seconds since the run started.
    pub fn total(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// `f`'s result and how many seconds it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = std::time::Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}
