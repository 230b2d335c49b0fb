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
pub mod compare;
pub mod config;
pub mod conservation;
pub mod error;
pub mod finance;
pub mod fmt;
pub mod grid;
pub mod halo;
pub mod inputs;
pub mod io;
pub mod kernels;
pub mod outputs;
pub mod parcels;
pub mod progress;
pub mod provenance;
pub mod report;
pub mod risk;
pub mod roads;
pub mod solve;
pub mod stopwatch;
pub mod survey;
pub mod synth;
pub mod tools;

use std::path::{Path, PathBuf};

pub use config::Landscape;
pub use error::{Error, Result};
pub use progress::Progress;
pub use stopwatch::{process_usage, Lap};

use stopwatch::{timed, Stopwatch};

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

/// How far the pipeline goes: `roads` stops after the roads stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Upto {
    Roads,
    #[default]
    All,
}

/// How a run treats its output folder, and the settings changed for it.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Replace an existing non-empty output folder greenhalo did not write
    /// (never one that is or holds an input of the landscape).
    pub force: bool,
    /// How far the pipeline goes.
    pub upto: Upto,
    /// `--set section.key=value` overrides, applied before validation.
    pub overrides: Vec<String>,
}

/// `greenhalo run`: the whole pipeline for one landscape into `out`.
pub fn run(landscape: &Path, out: &Path, progress: &Progress) -> Result<RunReport> {
    pipeline(landscape, out, progress, RunOptions::default())
}

/// The pipeline: load -> access (and the halo) -> risk -> roads ->
/// parcels -> conservation -> finance -> outputs, all written into a
/// staging folder moved into place at the end.
pub fn pipeline(
    landscape: &Path,
    out: &Path,
    progress: &Progress,
    opts: RunOptions,
) -> Result<RunReport> {
    let started = provenance::started_utc();
    let mut clock = Stopwatch::new();
    let ls = Landscape::load_with(landscape, &opts.overrides)?;
    // Never write over the inputs; clean what killed runs left, before any work.
    io::outdir::prepare(out, &provenance::input_files(&ls))?;
    let (inputs, problems) = inputs::load_checked(&ls, progress)?;
    // Each stage's warnings, said on the terminal as they are found.
    let mut warnings = progress.warnings();
    warnings.add(problems.list.iter().map(|p| p.to_string()));
    let cfg = &ls.cfg;
    clock.lap("inputs");

    // The halo needs neither travel times nor risk: drawn on the other
    // core while accessibility is solved (one Dijkstra, one core).
    let step = progress.bar(0, "accessibility");
    let (access, (halo, halo_secs)) = rayon::join(
        || access::Access::compute_with(&inputs, &cfg.access, &cfg.landcover, &step),
        || timed(|| halo::compute(&inputs, &cfg.halo)),
    );
    let access = access?;
    clock.lap("access");

    // The roads stage's gate needs only the travel times: computed on the
    // other core while the risk model is fitted.
    let step = progress.bar(0, "deforestation risk");
    let (risk, gate) = rayon::join(
        || risk::compute_with(&inputs, &access.travel_min, &cfg.risk, cfg.seed, &step),
        || roads::gate_for(&inputs, &access, &cfg.road_upgrades, &cfg.access),
    );
    let risk = risk?;
    warnings.add_warnings(&risk.model.warnings);
    clock.lap("risk");
    let halo = halo?;
    clock.beside("halo", halo_secs);

    let bar = progress.bar(0, "road segments");
    let appraiser =
        roads::Appraiser::for_landscape_with_gate(&inputs, &access, &risk, &halo, cfg, gate);
    let roads = roads::score(&appraiser, &bar)?;
    bar.finish_and_clear();
    warnings.add(roads.warnings.iter().cloned());
    clock.lap("roads");

    let plan = match opts.upto {
        Upto::All => Some(farmland_plan(
            &inputs, &access, &risk, &halo, &roads, cfg, progress, &mut clock,
        )?),
        Upto::Roads => None,
    };
    if let Some((p, c, ..)) = &plan {
        warnings.add(p.unreachable_warning());
        warnings.add_warnings(&c.warnings);
    }
    let staging = io::outdir::Staging::new(out, opts.force)?;
    let (hash, run) = provenance::record(&ls, &opts, started, &warnings.list)?;
    staging.mark(&hash)?;
    let decisions = outputs::Decisions {
        landscape_file: landscape,
        landscape: &ls,
        inputs_hash: &hash,
        inputs: &inputs,
        problems: &problems,
        access: &access,
        risk: &risk,
        halo: &halo,
        roads: &roads,
        bar: &progress.bar(0, "writing outputs"),
        plan: plan
            .as_ref()
            .map(|(p, c, f, pilot)| (p, c, f, pilot.as_slice())),
        run: &run,
    };
    let summary = outputs::write_all(staging.path(), &decisions)?;
    clock.lap("finance+outputs");
    let (log, total) = (staging.file("run_log.txt"), clock.total());
    outputs::write_run_log(&log, &ls, &hash, &run, &clock.laps, total)?;
    Ok(RunReport {
        out_dir: staging.commit()?,
        warnings: warnings.list,
        total_seconds: clock.total(),
        stages: clock.laps,
        summary,
    })
}

/// The parcel selection (with each parcel's establishment year), the
/// conservation funding and the plan's finance; the parcels and the
/// conservation funding are laps of their own, the finance is timed with
/// the outputs.
///
/// (Parcels and conservation need no road figure, but run after the roads:
/// their HiGHS solves beside the roads' on another thread failed with
/// "HiGHS error while solving model", and at 30 m the roads keep both cores
/// busy.)
#[allow(clippy::too_many_arguments)]
fn farmland_plan(
    inputs: &inputs::Inputs,
    access: &access::Access,
    risk: &risk::Risk,
    halo: &halo::Halo,
    roads: &roads::RoadsResult,
    cfg: &config::LandscapeConfig,
    progress: &Progress,
    clock: &mut Stopwatch,
) -> Result<(
    parcels::ParcelsResult,
    conservation::FundingResult,
    finance::Finance,
    Vec<finance::PilotRow>,
)> {
    let step = progress.spinner("parcels and conservation funding");
    // A selection that needs its core MIP says how far it is.
    let shown = step.clone();
    solve::watch(move |line| shown.set_message(format!("parcel selection: {line}")));
    let p = parcels::run(
        inputs,
        risk,
        &access.travel_min,
        halo,
        &cfg.transitions,
        &cfg.economics,
        &cfg.finance,
    );
    solve::unwatch();
    let p = p?;
    clock.lap("parcels");
    let c = conservation::run(
        inputs,
        risk,
        &cfg.conservation_funding,
        &cfg.economics,
        cfg.conservation.min_share_in_aoi,
    )?;
    clock.lap("conservation");
    step.finish_and_clear();
    let fin = finance::run(
        &roads.portfolio,
        &p,
        &c,
        &cfg.conservation_funding.sources,
        &cfg.transitions,
        &cfg.finance,
        &cfg.economics,
        cfg.seed,
    )?;
    let pilot = finance::pilot_comparison(&fin, &p, &c, cfg);
    Ok((p, c, fin, pilot))
}

/// `greenhalo validate`: every problem of every layer, without writing.
pub fn validate(
    landscape: &Path,
    overrides: &[String],
    progress: &Progress,
) -> Result<inputs::Problems> {
    let ls = Landscape::load_with(landscape, overrides)?;
    let (inp, mut problems) = inputs::load(&ls, progress);
    // The forced road choices name segments, which exist once the layers
    // are read: an id that is none is found here, not after the run's
    // appraisal.
    let p = &ls.cfg.road_upgrades;
    if let Some(inp) = inp.filter(|_| !(p.force_in.is_empty() && p.force_out.is_empty())) {
        let (segs, _) = roads::segments_and_outside(&inp, p);
        let ids: Vec<&str> = segs.iter().map(|s| s.id.as_str()).collect();
        if let Err(e) = roads::Forced::from_ids(&p.force_in, &p.force_out, &ids) {
            problems.push(inputs::Problem {
                severity: inputs::Severity::Error,
                file: ls.file.clone(),
                layer: None,
                fid: None,
                field: None,
                message: e.to_string(),
            });
        }
    }
    Ok(problems)
}

/// The layers' problems of a landscape file that has problems of its own
/// (read as far as it could be, stand-ins for what is missing): `validate`
/// lists them beside the file's, so one round of fixes covers both.
/// Problems of the stand-ins themselves (an absent layer) are left out.
pub fn validate_layers_anyway(
    landscape: &Path,
    overrides: &[String],
    progress: &Progress,
) -> Option<inputs::Problems> {
    let (ls, _) = Landscape::load_lenient(landscape, overrides).ok()?;
    let ls = ls?;
    let (_, mut problems) = inputs::load(&ls, progress);
    // A stand-in layer's path is empty: resolved, the landscape's folder.
    problems.list.retain(|p| p.file != ls.dir);
    Some(problems)
}

/// `greenhalo init`: write a commented landscape-file template into `dir`.
pub fn init(dir: &Path, force: bool) -> Result<PathBuf> {
    config::write_new_landscape(dir, force, &config::template())
}
