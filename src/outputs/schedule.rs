//! Every output of a run, in the order that keeps both cores busy: the
//! parcels' rows on every core; then the small layers, and the GeoPackage
//! (copied from the layers, the parcels' included) as soon as they are
//! kept, while the parcels' GeoJSON and CSV and the rasters are written
//! beside it, one job a file, the largest first; then the finance tables,
//! the report and summary.json.

use std::path::Path;

use serde_json::{json, Value};

use crate::access::Access;
use crate::config::Landscape;
use crate::conservation::FundingResult;
use crate::error::{Error, Result};
use crate::finance::{Finance, PilotRow};
use crate::halo::Halo;
use crate::inputs::{Inputs, Problems};
use crate::parcels::ParcelsResult;
use crate::risk::Risk;
use crate::roads::RoadsResult;

/// What a run decided, everything the outputs are written from.
pub struct Decisions<'a> {
    pub landscape_file: &'a Path,
    pub landscape: &'a Landscape,
    pub inputs_hash: &'a str,
    pub inputs: &'a Inputs,
    pub problems: &'a Problems,
    pub access: &'a Access,
    pub risk: &'a Risk,
    pub halo: &'a Halo,
    pub roads: &'a RoadsResult,
    /// Counts the files written (write_all sets its length and clears it).
    pub bar: &'a indicatif::ProgressBar,
    /// The parcels, the conservation funding and the plan's finance (not
    /// for `greenhalo roads`).
    pub plan: Option<(
        &'a ParcelsResult,
        &'a FundingResult,
        &'a Finance,
        &'a [PilotRow],
    )>,
    /// When, how and from which files the run was made, and its warnings.
    pub run: &'a crate::provenance::RunRecord,
}

/// Write every output of `d` into `dir` and return the summary.json
/// written.
pub fn write_all(dir: &Path, d: &Decisions) -> Result<Value> {
    let (inputs, access, risk, halo, roads) = (d.inputs, d.access, d.risk, d.halo, d.roads);
    // Refuse before writing when the outputs cannot fit.
    crate::io::space::check_room(dir, super::estimated_bytes(inputs, roads))?;
    let cfg = &d.landscape.cfg;
    let mut summary = super::summary(inputs, d.problems);
    summary["landscape_file"] = json!(d.landscape_file.display().to_string());
    summary["inputs_hash"] = json!(d.inputs_hash);
    summary["layers_hash"] = json!(crate::provenance::layers_hash(&d.run.inputs));
    summary["access"] = super::access_summary(inputs, access);
    summary["risk"] = super::risk_summary(inputs, risk, cfg.economics.horizon_years as f64);
    summary["roads"] = super::roads_summary(roads);
    super::make_inputs_dir(dir)?;
    {
        let kept = &super::Layers::new(dir);
        // The parcels' rows first, on every core: the GeoPackage, the
        // longest job, starts as soon as the small layers are kept, and
        // the parcels' own files are written beside it.
        let parcels = match d.plan {
            Some((p, ..)) => Some(kept.keep("parcels.geojson", super::parcel_features(inputs, p)?)),
            None => None,
        };
        let mut layers: Vec<Job> = Vec::new();
        if let Some((_, c, _, _)) = d.plan {
            layers.push(Box::new(move || {
                super::write_parcel_style(dir, &cfg.transitions.catalogue)
            }));
            layers.push(Box::new(move || {
                super::write_conservation(dir, inputs, c, kept)
            }));
        }
        layers.push(Box::new(move || super::write_input_layers(inputs, kept)));
        layers.push(Box::new(move || {
            super::write_roads(dir, inputs, roads, kept)
        }));
        layers.push(Box::new(move || {
            super::write_halo_layer(dir, inputs, halo, kept)
        }));
        let risk_max = risk
            .annual_p
            .iter()
            .filter(|v| !v.is_nan())
            .fold(0f32, |a, b| a.max(*b)) as f64;

        // Travel time inside the AOI, once, for the GeoTIFF and the
        // GeoPackage's raster table.
        let tt = super::rasters::travel_time_in_aoi(inputs, access);
        let tt = &tt;
        let with_parcels = d.plan.is_some();
        let project: Job = Box::new(move || {
            if with_parcels {
                let project = super::write_styles_and_project(dir, inputs, risk_max.max(1e-6))?;
                let at = crate::io::raster::Placement::of_grid(&inputs.grid, &inputs.grid_wkt);
                let rasters = [
                    crate::io::gpkg::RasterTable {
                        name: "travel_time",
                        title: "Travel time to market (min)",
                        at: &at,
                        data: tt,
                        description: "travel time to the nearest market (minutes)",
                        whole_units: false,
                    },
                    crate::io::gpkg::RasterTable {
                        name: "deforestation_risk",
                        title: "Deforestation risk (annual probability)",
                        at: &at,
                        data: &risk.annual_p,
                        description: "annual probability of forest loss",
                        whole_units: false,
                    },
                    // (under the stored project's hillshade)
                    crate::io::gpkg::RasterTable {
                        name: "elevation",
                        title: "Elevation (m)",
                        at: &at,
                        data: &inputs.elevation,
                        description: "elevation on the analysis grid (metres above sea level)",
                        whole_units: true,
                    },
                ];
                super::write_geopackage(dir, inputs, kept, &rasters, &project)?;
            }
            Ok(())
        });
        let mut files: Vec<Job> = Vec::new();
        if let Some(f) = parcels {
            let g = f.clone();
            files.push(Box::new(move || {
                let srs = crate::io::srs::parse(&inputs.grid_wkt)?;
                super::write_layer(&dir.join("parcels.geojson"), &srs, &f, None)
            }));
            files.push(Box::new(move || {
                super::write_layer_csv(&dir.join("parcels.csv"), &g)
            }));
        }
        files.push(Box::new(move || super::write_input_areas(dir, inputs)));
        files.push(Box::new(move || super::write_travel_time(dir, inputs, tt)));
        files.push(Box::new(move || super::write_risk(dir, inputs, risk)));
        files.extend(super::input_raster_jobs(dir, inputs));
        files.push(Box::new(move || {
            super::write_nearest_market(dir, inputs, access)
        }));
        files.push(Box::new(move || {
            super::write_halo_raster(dir, inputs, halo)
        }));
        // Each job, then the finance tables and report, and summary.json.
        d.bar
            .set_length((layers.len() + 1 + files.len() + 2) as u64);
        let done = || d.bar.inc(1);
        run_jobs_counted(layers, project, files, &done)?;
    }
    if let Some((p, c, fin, pilot)) = d.plan {
        summary["parcels"] = super::parcels_summary(p);
        if let Some(t) = &inputs.planning_units {
            summary["parcels"]["planning_units"] = serde_json::json!({
                "shape": t.shape.as_str(),
                "area_ha": t.area_ha,
                "min_farmland_share": t.min_farmland_share,
                "tiles_over_aoi": t.tiles,
                "units": t.units,
                "clipped_by_aoi": t.clipped,
            });
        }
        summary["conservation"] = super::conservation_summary(c);
        summary["finance"] = super::write_finance(dir, fin, &roads.portfolio, pilot)?;
        // The terrain under the report's maps.
        let (tw, th) = crate::report::terrain_size(inputs);
        let terrain = crate::io::raster::hillshade_png(
            &crate::io::raster::Placement::of_grid(&inputs.grid, &inputs.grid_wkt),
            &inputs.elevation,
            tw,
            th,
            crate::io::qml::HILLSHADE_OPACITY,
        )?;
        let page = crate::report::html(
            inputs,
            cfg,
            &summary,
            roads,
            (p, c, fin, pilot),
            &risk.model,
            d.run,
            &access.travel_min,
            &terrain,
        );
        std::fs::write(dir.join("report.html"), page).map_err(|e| Error::io(dir, e))?;
    }
    d.bar.inc(1);
    super::write_run_record(dir, d.landscape_file, d.landscape)?;
    super::guard_summary(&summary)?;
    super::write_json(&dir.join("summary.json"), &summary)?;
    d.bar.finish_and_clear();
    Ok(summary)
}

fn take_job<'a>(m: &std::sync::Mutex<Option<Job<'a>>>) -> Option<Job<'a>> {
    m.lock().ok().and_then(|mut j| j.take())
}

/// One piece of output work (a file or a few), run by `run_jobs`.
pub type Job<'a> = Box<dyn FnOnce() -> Result<()> + Send + 'a>;

/// Run `first`, then `after` once every job of `first` is done, and
/// `rest`, on every worker of the pool. Each worker takes the next job as
/// soon as it is free (those of `first`, then those of `rest`, in the order
/// given: put the longest first), and the one that finishes the last of
/// `first` runs `after` straight away; so no worker waits while another
/// has a queue. `after` is skipped when a job of `first` failed. The error
/// returned is the first in job order, whatever the timing.
pub fn run_jobs(first: Vec<Job<'_>>, after: Job<'_>, rest: Vec<Job<'_>>) -> Result<()> {
    run_jobs_counted(first, after, rest, &|| {})
}

/// `run_jobs`, calling `done` as each job (and `after`) finishes.
pub fn run_jobs_counted(
    first: Vec<Job<'_>>,
    after: Job<'_>,
    rest: Vec<Job<'_>>,
    done: &(dyn Fn() + Sync),
) -> Result<()> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let n_first = first.len();
    let mut jobs: Vec<Mutex<Option<Job>>> =
        first.into_iter().map(|j| Mutex::new(Some(j))).collect();
    jobs.extend(rest.into_iter().map(|j| Mutex::new(Some(j))));
    let after = Mutex::new(Some(after));
    let results: Vec<Mutex<Option<Result<()>>>> =
        (0..=jobs.len()).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let first_left = AtomicUsize::new(n_first);
    let first_failed = std::sync::atomic::AtomicBool::new(false);
    let put = |k: usize, r: Result<()>| {
        if let Ok(mut slot) = results[k].lock() {
            *slot = Some(r);
        }
    };
    let run_after = || {
        if !first_failed.load(Ordering::SeqCst) {
            if let Some(j) = take_job(&after) {
                put(n_first, j());
                done();
            }
        }
    };
    if n_first == 0 {
        run_after();
    }
    (0..rayon::current_num_threads().max(1))
        .into_par_iter()
        .with_max_len(1)
        .for_each(|_| loop {
            let k = next.fetch_add(1, Ordering::SeqCst);
            let Some(cell) = jobs.get(k) else { break };
            let Some(job) = take_job(cell) else { continue };
            let r = job();
            done();
            if k < n_first {
                if r.is_err() {
                    first_failed.store(true, Ordering::SeqCst);
                }
                put(k, r);
                if first_left.fetch_sub(1, Ordering::SeqCst) == 1 {
                    run_after();
                }
            } else {
                put(k + 1, r);
            }
        });
    for slot in results {
        if let Some(Err(e)) = slot.into_inner().ok().flatten() {
            return Err(e);
        }
    }
    Ok(())
}
