#![allow(clippy::needless_range_loop)] // index loops read best in numeric kernels
//! greenhalo: Green Halo landscape planning.
//!
//! The pipeline, top to bottom: load and align the landscape on the analysis
//! grid, then (as the stages arrive) accessibility, deforestation risk, roads,
//! parcels, conservation and finance, then write everything into a staging
//! folder that is moved into place only when all of it succeeded.

pub mod access;
pub mod batch;
pub mod cashflow;
pub mod config;
pub mod conservation;
pub mod error;
pub mod finance;
pub mod grid;
pub mod halo;
pub mod inputs;
pub mod io;
pub mod kernels;
pub mod outputs;
pub mod parcels;
pub mod progress;
pub mod report;
pub mod risk;
pub mod roads;
pub mod synth;
pub mod tools;

use std::path::{Path, PathBuf};

pub use config::Landscape;
pub use error::{Error, Result};
pub use progress::Progress;

/// What a finished run reports back.
#[derive(Debug)]
pub struct RunReport {
    pub out_dir: PathBuf,
    pub warnings: Vec<String>,
    /// Each stage in pipeline order: wall and CPU seconds and the peak
    /// memory by its end (the halo runs beside accessibility: see
    /// `total_seconds`).
    pub stages: Vec<Lap>,
    /// Wall-clock seconds of the whole run.
    pub total_seconds: f64,
    /// The summary.json that was written.
    pub summary: serde_json::Value,
}

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
struct Stopwatch {
    start: std::time::Instant,
    at: std::time::Instant,
    cpu_at: Option<f64>,
    laps: Vec<Lap>,
}

impl Stopwatch {
    fn new() -> Self {
        let now = std::time::Instant::now();
        Stopwatch {
            start: now,
            at: now,
            cpu_at: process_usage().map(|u| u.0),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, stage: &'static str) {
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
    fn beside(&mut self, stage: &'static str, secs: f64) {
        self.laps.push(Lap {
            stage,
            wall_s: secs,
            cpu_s: None,
            peak_rss_bytes: None,
        });
    }

    /// Seconds since the run started.
    fn total(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// `f`'s result and how many seconds it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = std::time::Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

/// How far the pipeline goes: `roads` stops after the roads stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Upto {
    Roads,
    #[default]
    All,
}

/// How a run treats its output folder.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Replace an existing non-empty output folder greenhalo did not write
    /// (never one that is or holds an input of the landscape).
    pub force: bool,
    /// How far the pipeline goes.
    pub upto: Upto,
}

/// `greenhalo run`: the whole pipeline for one landscape into `out`.
pub fn run(landscape: &Path, out: &Path, progress: &Progress) -> Result<RunReport> {
    pipeline(landscape, out, progress, RunOptions::default())
}

/// The pipeline: load -> access -> risk -> halo -> roads -> (later stages)
/// -> write, all into a staging folder moved into place at the end.
pub fn pipeline(
    landscape: &Path,
    out: &Path,
    progress: &Progress,
    opts: RunOptions,
) -> Result<RunReport> {
    let upto = opts.upto;
    let started = chrono::Utc::now();
    let mut clock = Stopwatch::new();
    let ls = Landscape::load(landscape)?;
    // Never write over the inputs, before any work.
    io::outdir::check_not_over_inputs(out, &batch::input_files(&ls))?;
    let (inputs, problems) = inputs::load_checked(&ls, progress)?;
    let mut warnings: Vec<String> = problems.list.iter().map(|p| p.to_string()).collect();
    let cfg = &ls.cfg;
    clock.lap("inputs");

    // The halo needs neither travel times nor risk: drawn on the other
    // core while accessibility is solved (one Dijkstra, one core).
    let step = progress.spinner("accessibility");
    let (access, (halo, halo_secs)) = rayon::join(
        || access::Access::compute(&inputs, &cfg.access, &cfg.landcover),
        || timed(|| halo::compute(&inputs, &cfg.halo)),
    );
    let access = access?;
    step.finish_and_clear();
    clock.lap("access");

    let step = progress.spinner("deforestation risk");
    // The roads stage's gate needs only the travel times: computed on the
    // other core while the risk model is fitted.
    let (risk, gate) = rayon::join(
        || risk::compute(&inputs, &access.travel_min, &cfg.risk, cfg.seed),
        || roads::gate_for(&inputs, &access, &cfg.road_upgrades, &cfg.access),
    );
    let risk = risk?;
    step.finish_and_clear();
    clock.lap("risk");

    let halo = halo?;
    clock.beside("halo", halo_secs);

    let bar = progress.bar(0, "road segments");
    let appraiser =
        roads::Appraiser::for_landscape_with_gate(&inputs, &access, &risk, &halo, cfg, gate);
    let roads = roads::score(&appraiser, &bar)?;
    bar.finish_and_clear();
    clock.lap("roads");

    // (Parcels and conservation need no road figure, but run after the
    // roads: their HiGHS solves beside the roads' on another thread failed
    // with "HiGHS error while solving model", and at 30 m the roads keep
    // both cores busy anyway.)
    let parcels = if upto >= Upto::All {
        let step = progress.spinner("parcels and conservation funding");
        let mut p = parcels::run(
            &inputs,
            &risk,
            &access.travel_min,
            &halo,
            &cfg.transitions,
            &cfg.economics,
        )?;
        finance::establishment_years(&mut p, &cfg.finance, cfg.economics.horizon_years);
        clock.lap("parcels");
        let c = conservation::run(&inputs, &risk, &cfg.conservation_funding, &cfg.economics)?;
        clock.lap("conservation");
        warnings.extend(p.unreachable_warning());
        step.finish_and_clear();
        Some((p, c))
    } else {
        None
    };

    let staging = io::outdir::Staging::new(out, opts.force)?;
    let hash = batch::inputs_hash(&ls)?;
    staging.mark(&hash)?;
    let dir = staging.path();
    let mut summary = outputs::summary(&inputs, &problems);
    summary["landscape_file"] = serde_json::json!(landscape.display().to_string());
    summary["inputs_hash"] = serde_json::json!(hash);
    summary["access"] = outputs::access_summary(&inputs, &access);
    summary["risk"] = outputs::risk_summary(&inputs, &risk, cfg.economics.horizon_years as f64);
    summary["roads"] = outputs::roads_summary(&roads);
    outputs::make_inputs_dir(dir)?;
    // The layers first (the parcels, the largest, at the head), then the
    // styles, the project and the GeoPackage (copied from the layers) as
    // soon as the last layer is written, while the rasters are written
    // beside them, one job a raster, the largest first.
    {
        let kept = &outputs::Layers::new(dir);
        let (inputs, access, risk, halo, roads) = (&inputs, &access, &risk, &halo, &roads);
        let mut layers: Vec<outputs::Job> = Vec::new();
        if let Some((p, c)) = &parcels {
            layers.push(Box::new(move || {
                outputs::write_parcels(dir, inputs, p, &cfg.transitions.catalogue, kept)
            }));
            layers.push(Box::new(move || {
                outputs::write_conservation(dir, inputs, c, kept)
            }));
        }
        layers.push(Box::new(move || {
            outputs::write_input_layers(dir, inputs, kept)
        }));
        layers.push(Box::new(move || {
            outputs::write_roads(dir, inputs, roads, kept)
        }));
        layers.push(Box::new(move || {
            outputs::write_halo_layer(dir, inputs, halo, kept)
        }));
        let risk_max = risk
            .annual_p
            .iter()
            .filter(|v| !v.is_nan())
            .fold(0f32, |a, b| a.max(*b)) as f64;
        let p90 = summary["access"]["travel_time_min"]["p90"]
            .as_f64()
            .unwrap_or(600.0);
        let with_parcels = parcels.is_some();
        let project: outputs::Job = Box::new(move || {
            if with_parcels {
                outputs::write_styles_and_project(dir, inputs, risk_max.max(1e-6), p90.max(1.0))?;
                outputs::write_geopackage(dir, kept)?;
            }
            Ok(())
        });
        let mut rasters: Vec<outputs::Job> = vec![
            Box::new(move || outputs::write_travel_time(dir, inputs, access)),
            Box::new(move || outputs::write_risk(dir, inputs, risk)),
        ];
        rasters.extend(outputs::input_raster_jobs(dir, inputs));
        rasters.push(Box::new(move || {
            outputs::write_nearest_market(dir, inputs, access)
        }));
        rasters.push(Box::new(move || {
            outputs::write_halo_raster(dir, inputs, halo)
        }));
        outputs::run_jobs(layers, project, rasters)?;
    }
    if let Some((p, c)) = &parcels {
        summary["parcels"] = outputs::parcels_summary(p);
        summary["conservation"] = outputs::conservation_summary(c);
        let fin = finance::run(
            &roads.portfolio,
            p,
            c,
            &cfg.conservation_funding.sources,
            &cfg.transitions,
            &cfg.finance,
            &cfg.economics,
            cfg.seed,
        )?;
        let pilot = finance::pilot_comparison(&fin, p, c, cfg);
        summary["finance"] = outputs::write_finance(dir, &fin, &pilot)?;
        let page = report::html(&inputs, cfg, &summary, &roads, p, c, &fin, &pilot);
        std::fs::write(dir.join("report.html"), page).map_err(|e| Error::io(dir, e))?;
    }
    outputs::write_run_record(dir, landscape, &ls)?;
    outputs::guard_summary(&summary)?;
    outputs::write_json(&staging.file("summary.json"), &summary)?;
    clock.lap("finance+outputs");
    outputs::write_run_log(
        &staging.file("run_log.txt"),
        landscape,
        &hash,
        &started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        &clock.laps,
        clock.total(),
        &warnings,
    )?;
    let out_dir = staging.commit()?;

    Ok(RunReport {
        out_dir,
        warnings,
        total_seconds: clock.total(),
        stages: clock.laps,
        summary,
    })
}

/// `greenhalo validate`: every problem of every layer, without writing.
pub fn validate(landscape: &Path, progress: &Progress) -> Result<inputs::Problems> {
    let ls = Landscape::load(landscape)?;
    let (_, problems) = inputs::load(&ls, progress);
    Ok(problems)
}

/// `greenhalo init`: write a commented landscape-file template into `dir`.
pub fn init(dir: &Path, force: bool) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("landscape.toml");
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} exists already; use --force to overwrite it",
            path.display()
        )));
    }
    std::fs::write(&path, config::template()).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}
