//! `summary.json`: its sections for the inputs, accessibility and risk, the
//! guard that refuses a missing figure, and the run record.

use std::collections::BTreeMap;
use std::path::Path;

use geo::{Area, Euclidean, Length};
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::error::{Error, Result};
use crate::inputs::{Inputs, Problems, Severity};
use crate::risk::Risk;

use super::raster_stats;

/// `summary.json`'s grid and per-layer sections.
pub fn summary(inp: &Inputs, problems: &Problems) -> Value {
    let g = &inp.grid;
    let aoi_cells = inp.aoi_mask.iter().filter(|m| **m == 1).count();
    let mut road_km: BTreeMap<&str, f64> = BTreeMap::new();
    for rd in &inp.roads {
        *road_km.entry(rd.class.as_str()).or_insert(0.0) += rd.geom.length::<Euclidean>() / 1000.0;
    }
    let mut use_ha: BTreeMap<&str, f64> = BTreeMap::new();
    let mut use_n: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &inp.parcels {
        *use_ha.entry(p.land_use.as_str()).or_insert(0.0) += p.geom.unsigned_area() / 1e4;
        *use_n.entry(p.land_use.as_str()).or_insert(0) += 1;
    }
    let forest_ha: f64 = inp
        .forest
        .iter()
        .zip(&inp.aoi_mask)
        .filter(|(v, m)| **m == 1 && !v.is_nan())
        .map(|(v, _)| *v as f64)
        .sum::<f64>()
        * g.cell_area_ha();
    let opt = |v: &Option<Vec<f32>>| match v {
        Some(d) => raster_stats(d, &inp.aoi_mask),
        None => Value::Null,
    };
    let warnings: Vec<String> = problems
        .list
        .iter()
        .filter(|p| p.severity == Severity::Warning)
        .map(|p| p.to_string())
        .collect();
    json!({
        "greenhalo_version": env!("CARGO_PKG_VERSION"),
        "landscape": inp.name,
        "grid": {
            "crs": g.crs,
            "resolution_m": g.res,
            "x_min": g.x_min, "y_max": g.y_max,
            "width": g.width, "height": g.height,
            "cells": g.len(),
            "aoi_cells": aoi_cells,
            "aoi_area_km2": inp.aoi.unsigned_area() / 1e6,
        },
        "layers": {
            "roads": {
                "features": inp.roads.len(),
                "length_km": road_km.values().sum::<f64>(),
                "length_km_by_class": road_km.iter().map(|(k, v)| (k.to_string(), json!(*v))).collect::<Map<_, _>>(),
                "with_aadt": inp.roads.iter().filter(|r| r.aadt.is_some()).count(),
            },
            "markets": {
                "count": inp.markets.len(),
                "names": inp.markets.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
                "total_weight": inp.markets.iter().map(|m| m.weight).sum::<f64>(),
            },
            "parcels": {
                "count": inp.parcels.len(),
                "area_ha": use_ha.values().sum::<f64>(),
                "area_ha_by_use": use_ha.iter().map(|(k, v)| (k.to_string(), json!(*v))).collect::<Map<_, _>>(),
                "count_by_use": use_n.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
            },
            "conservation": {
                "count": inp.conservation.len(),
                "area_km2": inp.conservation.iter().map(|c| c.geom_in_aoi.unsigned_area()).sum::<f64>() / 1e6,
                "legal_area_km2": inp.conservation.iter().map(|c| c.legal_area_km2).sum::<f64>(),
                "names": inp.conservation.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            },
            "forest": raster_stats(&inp.forest, &inp.aoi_mask),
            "forest_area_km2": forest_ha / 100.0,
            "elevation": raster_stats(&inp.elevation, &inp.aoi_mask),
            "forest_loss": opt(&inp.forest_loss),
            "population": opt(&inp.population),
            "landcover": opt(&inp.landcover),
            "carbon": opt(&inp.carbon),
        },
        "warnings": warnings,
    })
}

/// The accessibility section of `summary.json`.
pub fn access_summary(inp: &Inputs, a: &Access) -> Value {
    let mut times: Vec<f32> = a
        .travel_min
        .iter()
        .zip(&inp.aoi_mask)
        .filter(|(t, m)| **m == 1 && t.is_finite())
        .map(|(t, _)| *t)
        .collect();
    let unreachable = inp.aoi_mask.iter().filter(|m| **m == 1).count() - times.len();
    times.sort_by(|x, y| x.total_cmp(y));
    let q = |p: f64| -> Value {
        if times.is_empty() {
            Value::Null
        } else {
            json!(times[((times.len() - 1) as f64 * p).round() as usize] as f64)
        }
    };
    let mut per_market: Vec<Value> = Vec::new();
    for (k, m) in inp.markets.iter().enumerate() {
        let cells = a
            .nearest_market
            .iter()
            .zip(&inp.aoi_mask)
            .filter(|(l, msk)| **msk == 1 && **l as usize == k)
            .count();
        per_market.push(json!({ "fid": m.fid, "name": m.name, "catchment_km2": cells as f64 * inp.grid.cell_area_ha() / 100.0 }));
    }
    json!({
        "markets_on_grid": a.sources.len(),
        "road_edges": a.roads.edges.len(),
        "travel_time_min": { "p10": q(0.1), "p50": q(0.5), "p90": q(0.9), "max": q(1.0) },
        "unreachable_cells": unreachable,
        "markets": per_market,
    })
}

/// The risk section of `summary.json`.
pub fn risk_summary(inp: &Inputs, risk: &Risk, horizon: f64) -> Value {
    let forest: Vec<f64> = risk
        .annual_p
        .iter()
        .filter(|p| !p.is_nan())
        .map(|p| *p as f64)
        .collect();
    let mean = if forest.is_empty() {
        0.0
    } else {
        forest.iter().sum::<f64>() / forest.len() as f64
    };
    let m = &risk.model;
    json!({
        "calibrated": m.calibrated,
        "note": if m.calibrated { "fitted on the forest_loss raster" } else { "not calibrated: default coefficients (add a forest_loss raster to fit them)" },
        "auc_holdout": m.auc_holdout,
        "period_years": m.period_years,
        "mean_annual_probability": mean,
        "expected_loss_ha_over_horizon": risk.expected_loss_ha(inp, horizon),
        "horizon_years": horizon,
        "coefficients": m.table.iter().map(|c| (c.name.clone(), json!(c.estimate))).collect::<Map<_, _>>(),
        "validation": m.validation.as_ref().map(|v| json!({
            "auc_block_cv": v.auc_block_cv,
            "auc_block_cv_min": v.auc_block_cv_folds.iter().copied().fold(f64::INFINITY, f64::min),
            "auc_block_cv_max": v.auc_block_cv_folds.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            "block_km": v.block_km,
            "folds": v.folds,
            "auc_near_roads": v.auc_near_roads,
            "near_road_km": v.near_road_km,
            "benchmark_auc_block_cv": v.benchmark_auc_block_cv,
            "benchmark_auc_near_roads": v.benchmark_auc_near_roads,
            "skill": v.skill,
            "forward": v.forward.as_ref().map(|f| json!({
                "fit_last_year": f.fit_last_year,
                "predicted_years": f.predicted_years,
                "cell_km": f.cell_km,
                "coarse_cells": f.coarse_cells,
                "predicted_ha": f.predicted_ha,
                "observed_ha": f.observed_ha,
                "total_error": f.total_error,
                "correlation": f.correlation,
                "mean_abs_error_ha": f.mean_abs_error_ha,
            })),
        })),
        "warnings": m.warnings,
    })
}

/// summary.json may hold null only where a figure is "not applicable" by
/// definition (an optional layer not given, an IRR without a sign change, a
/// payback that never comes); anything else null or non-finite is an error
/// naming its path.
pub fn guard_summary(v: &Value) -> Result<()> {
    const OPTIONAL: [&str; 20] = [
        // no selected parcel whose current use earns anything
        "earnings_multiple_mean",
        "earnings_multiple_max",
        "carbon",
        "population",
        "landcover",
        "forest_loss",
        "biodiversity",
        "irr",
        "payback_year",
        "auc_holdout",
        "eirr",
        "private_irr",
        "coefficients_se",
        "se",
        // no loss raster (default coefficients); a 0/1 raster or a short
        // span; too few cells near roads; no loss in the predicted years
        "validation",
        "forward",
        "auc_near_roads",
        "benchmark_auc_near_roads",
        "total_error",
        "correlation",
    ];
    fn walk(v: &Value, path: &str, key: &str, bad: &mut Vec<String>) {
        match v {
            Value::Null if !OPTIONAL.contains(&key) => bad.push(path.to_string()),
            Value::Number(n) if n.as_f64().is_some_and(|x| !x.is_finite()) => {
                bad.push(path.to_string())
            }
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, &format!("{path}.{k}"), k, bad);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), key, bad);
                }
            }
            _ => {}
        }
    }
    let mut bad = Vec::new();
    walk(v, "", "", &mut bad);
    if let Some(first) = bad.first() {
        return Err(Error::Uncomputable {
            stage: "summary".into(),
            layer: "summary.json".into(),
            feature: first.trim_start_matches('.').to_string(),
            field: first.rsplit('.').next().unwrap_or("").to_string(),
            message: format!(
                "NaN or missing{}; please report it with the landscape",
                if bad.len() > 1 {
                    format!(
                        " (also: {})",
                        bad[1..]
                            .iter()
                            .take(5)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    String::new()
                }
            ),
        });
    }
    Ok(())
}

/// Write pretty JSON with a final newline.
/// `landscape.resolved.toml`: the run record, every setting as used with
/// the defaults filled in.
/// `run_log.txt`: what happened in this run (version, start time, inputs
/// hash, seconds per stage, warnings). The one output that differs between
/// two runs of the same inputs: it records when and how fast.
pub fn write_run_log(
    path: &Path,
    ls: &crate::config::Landscape,
    inputs_hash: &str,
    run: &crate::provenance::RunRecord,
    stages: &[crate::stopwatch::Lap],
    total_secs: f64,
) -> Result<()> {
    let (started_utc, warnings) = (&run.started_utc, &run.warnings);
    let landscape = &ls.file;
    let set: String = ls.overrides.iter().map(|o| format!("set {o}\n")).collect();
    let mut t = format!(
        "greenhalo {}\nlandscape {}\n{set}started {started_utc}\ninputs_hash {inputs_hash}\n\nper stage: wall s, CPU s (all threads), peak resident MB by its end\n",
        env!("CARGO_PKG_VERSION"),
        landscape.display()
    );
    let line = |name: &str, wall: f64, cpu: Option<f64>, peak: Option<u64>| {
        let cpu = cpu.map_or("-".to_string(), |c| format!("{c:.2}"));
        let peak = peak.map_or("-".to_string(), |b| format!("{:.0}", b as f64 / 1048576.0));
        format!("  {name:<24} {wall:>8.2} {cpu:>8} {peak:>7}\n")
    };
    for l in stages {
        t.push_str(&line(l.stage, l.wall_s, l.cpu_s, l.peak_rss_bytes));
    }
    let usage = crate::stopwatch::process_usage();
    t.push_str(&line(
        "total",
        total_secs,
        usage.map(|u| u.0),
        usage.map(|u| u.1),
    ));
    t.push_str("(the halo runs beside access, whose CPU time includes it; total is the wall time and the process's CPU time)\n");
    t.push_str(&format!("\nwarnings: {}\n", warnings.len()));
    for w in warnings {
        t.push_str(&format!("  {w}\n"));
    }
    std::fs::write(path, t).map_err(|e| Error::io(path, e))
}

pub fn write_run_record(dir: &Path, landscape: &Path, ls: &crate::config::Landscape) -> Result<()> {
    let path = dir.join("landscape.resolved.toml");
    let resolved = toml::to_string(&ls.cfg).map_err(|e| Error::output(&path, e))?;
    let set: String = ls
        .overrides
        .iter()
        .map(|o| format!("# Changed for this run: --set {o}\n"))
        .collect();
    let text = format!(
        "# The landscape file {} as greenhalo {} used it, every default filled in.\n# Layer paths are relative to {}.\n{set}\n{resolved}",
        landscape.display(),
        env!("CARGO_PKG_VERSION"),
        ls.dir.display()
    );
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}
