//! Writing a run's outputs: the aligned input layers (GeoTIFFs on the grid,
//! vectors as RFC 7946 GeoJSON) and `summary.json`.

use std::collections::BTreeMap;
use std::path::Path;

use geo::{Area, Euclidean, Length};
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::error::{Error, Result};
use crate::inputs::{Inputs, Problems, Severity};
use crate::io::geojson_out::{self, OutFeature};
use crate::io::raster::{write_geotiff, Placement};
use crate::io::srs;
use crate::risk::Risk;

/// Round for JSON: figures a planner reads, not float noise.
pub fn r(v: f64, decimals: i32) -> f64 {
    let k = 10f64.powi(decimals);
    (v * k).round() / k
}

/// Statistics of a raster over the AOI: NaN cells are nodata.
pub fn raster_stats(data: &[f32], mask: &[u8]) -> Value {
    let mut n = 0usize;
    let mut missing = 0usize;
    let mut sum = 0f64;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (v, m) in data.iter().zip(mask) {
        if *m == 0 {
            continue;
        }
        if v.is_nan() {
            missing += 1;
            continue;
        }
        let v = *v as f64;
        n += 1;
        sum += v;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if n == 0 {
        return json!({ "cells": 0, "nodata_cells": missing });
    }
    json!({
        "cells": n,
        "nodata_cells": missing,
        "min": r(lo, 4),
        "max": r(hi, 4),
        "mean": r(sum / n as f64, 4),
        "sum": r(sum, 2),
    })
}

/// Write every aligned input into `dir/inputs/`.
pub fn write_inputs(dir: &Path, inp: &Inputs) -> Result<()> {
    let d = dir.join("inputs");
    std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
    let nan = Some(f64::NAN);
    write_geotiff(
        &d.join("forest.tif"),
        &at,
        &inp.forest,
        nan,
        "forest cover fraction",
    )?;
    write_geotiff(
        &d.join("elevation.tif"),
        &at,
        &inp.elevation,
        nan,
        "elevation (m)",
    )?;
    if let Some(v) = &inp.forest_loss {
        write_geotiff(
            &d.join("forest_loss.tif"),
            &at,
            v,
            nan,
            "historical forest loss",
        )?;
    }
    if let Some(v) = &inp.population {
        write_geotiff(&d.join("population.tif"), &at, v, nan, "people per cell")?;
    }
    if let Some(v) = &inp.landcover {
        write_geotiff(&d.join("landcover.tif"), &at, v, nan, "land-cover class")?;
    }
    if let Some(v) = &inp.carbon {
        write_geotiff(&d.join("carbon.tif"), &at, v, nan, "carbon (t C/ha)")?;
    }
    write_geotiff(
        &d.join("aoi_mask.tif"),
        &at,
        &inp.aoi_mask,
        None,
        "1 inside the AOI",
    )?;
    write_geotiff(
        &d.join("conservation_id.tif"),
        &at,
        &inp.conservation_id,
        Some(0.0),
        "1 + index of the conservation area",
    )?;

    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let mk = |g: geo::Geometry<f64>, props: Value| OutFeature {
        geom: g,
        props: match props {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    };
    let aoi = vec![mk(
        geo::Geometry::MultiPolygon(inp.aoi.clone()),
        json!({ "name": inp.name, "area_km2": r(inp.aoi.unsigned_area() / 1e6, 3) }),
    )];
    geojson_out::write(&d.join("aoi.geojson"), &grid_srs, &aoi)?;
    let roads: Vec<OutFeature> = inp
        .roads
        .iter()
        .map(|rd| {
            mk(
                geo::Geometry::MultiLineString(rd.geom.clone()),
                json!({
                    "source": rd.source, "fid": rd.fid, "class": rd.class.as_str(),
                    "surface": rd.surface, "aadt": rd.aadt,
                    "length_km": r(rd.geom.length::<Euclidean>() / 1000.0, 4),
                }),
            )
        })
        .collect();
    geojson_out::write(&d.join("roads.geojson"), &grid_srs, &roads)?;
    let markets: Vec<OutFeature> = inp
        .markets
        .iter()
        .map(|m| {
            mk(
                geo::Geometry::Point(m.point),
                json!({ "fid": m.fid, "name": m.name, "weight": m.weight }),
            )
        })
        .collect();
    geojson_out::write(&d.join("markets.geojson"), &grid_srs, &markets)?;
    let parcels: Vec<OutFeature> = inp
        .parcels
        .iter()
        .map(|p| {
            mk(
                geo::Geometry::MultiPolygon(p.geom.clone()),
                json!({
                    "fid": p.fid, "id": p.id, "use": p.land_use.as_str(),
                    "use_value": p.use_value, "area_ha": r(p.geom.unsigned_area() / 1e4, 4),
                }),
            )
        })
        .collect();
    geojson_out::write(&d.join("parcels.geojson"), &grid_srs, &parcels)?;
    let cons: Vec<OutFeature> = inp
        .conservation
        .iter()
        .map(|c| {
            mk(
                geo::Geometry::MultiPolygon(c.geom.clone()),
                json!({
                    "fid": c.fid, "name": c.name, "category": c.category,
                    "area_km2": r(c.geom.unsigned_area() / 1e6, 4),
                }),
            )
        })
        .collect();
    geojson_out::write(&d.join("conservation.geojson"), &grid_srs, &cons)?;
    Ok(())
}

/// `travel_time.tif` (minutes, NaN outside the AOI or unreachable) and
/// `nearest_market.tif` (the market's feature id, -1 for none).
pub fn write_access(dir: &Path, inp: &Inputs, a: &Access) -> Result<()> {
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
    let tt: Vec<f32> = a
        .travel_min
        .iter()
        .zip(&inp.aoi_mask)
        .map(|(t, m)| {
            if *m == 1 && t.is_finite() {
                *t
            } else {
                f32::NAN
            }
        })
        .collect();
    write_geotiff(
        &dir.join("travel_time.tif"),
        &at,
        &tt,
        Some(f64::NAN),
        "travel time to the nearest market (minutes)",
    )?;
    let nm: Vec<i32> = a
        .nearest_market
        .iter()
        .zip(&inp.aoi_mask)
        .map(|(k, m)| {
            if *m == 1 && *k != u16::MAX {
                inp.markets[*k as usize].fid as i32
            } else {
                -1
            }
        })
        .collect();
    write_geotiff(
        &dir.join("nearest_market.tif"),
        &at,
        &nm,
        Some(-1.0),
        "feature id of the nearest market",
    )?;
    Ok(())
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
            json!(r(
                times[((times.len() - 1) as f64 * p).round() as usize] as f64,
                2
            ))
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
        per_market.push(json!({ "fid": m.fid, "name": m.name, "catchment_km2": r(cells as f64 * inp.grid.cell_area_ha() / 100.0, 3) }));
    }
    json!({
        "markets_on_grid": a.sources.len(),
        "road_edges": a.roads.edges.len(),
        "travel_time_min": { "p10": q(0.1), "p50": q(0.5), "p90": q(0.9), "max": q(1.0) },
        "unreachable_cells": unreachable,
        "markets": per_market,
    })
}

/// `deforestation_risk.tif` (annual probability of loss, forest cells) and
/// `risk_model.json` (coefficients, standard errors, AUC, sample sizes).
pub fn write_risk(dir: &Path, inp: &Inputs, risk: &Risk) -> Result<()> {
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
    write_geotiff(
        &dir.join("deforestation_risk.tif"),
        &at,
        &risk.annual_p,
        Some(f64::NAN),
        "annual probability of forest loss",
    )?;
    let v = serde_json::to_value(&risk.model).map_err(|e| Error::output(dir, e))?;
    write_json(&dir.join("risk_model.json"), &v)?;
    if !risk.model.holdout.is_empty() {
        // The validation sample, so the AUC can be re-checked by anyone.
        let path = dir.join("risk_holdout.csv");
        let mut w = csv::Writer::from_path(&path).map_err(|e| Error::output(&path, e))?;
        w.write_record([
            "x",
            "y",
            "col",
            "row",
            "lost",
            "predicted_period_probability",
        ])
        .map_err(|e| Error::output(&path, e))?;
        for (cell, lost, p) in &risk.model.holdout {
            let (c, rr) = (cell % inp.grid.width, cell / inp.grid.width);
            let (x, y) = inp.grid.cell_center(c, rr);
            w.write_record([
                format!("{x:?}"),
                format!("{y:?}"),
                c.to_string(),
                rr.to_string(),
                (*lost as u8).to_string(),
                format!("{p:?}"),
            ])
            .map_err(|e| Error::output(&path, e))?;
        }
        w.flush().map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
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
        "mean_annual_probability": r(mean, 6),
        "expected_loss_ha_over_horizon": r(risk.expected_loss_ha(inp, horizon), 1),
        "horizon_years": horizon,
        "coefficients": m.table.iter().map(|c| (c.name.clone(), json!(r(c.estimate, 6)))).collect::<Map<_, _>>(),
        "warnings": m.warnings,
    })
}

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
            "aoi_area_km2": r(inp.aoi.unsigned_area() / 1e6, 3),
        },
        "layers": {
            "roads": {
                "features": inp.roads.len(),
                "length_km": r(road_km.values().sum::<f64>(), 3),
                "length_km_by_class": road_km.iter().map(|(k, v)| (k.to_string(), json!(r(*v, 3)))).collect::<Map<_, _>>(),
                "with_aadt": inp.roads.iter().filter(|r| r.aadt.is_some()).count(),
            },
            "markets": {
                "count": inp.markets.len(),
                "names": inp.markets.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
                "total_weight": inp.markets.iter().map(|m| m.weight).sum::<f64>(),
            },
            "parcels": {
                "count": inp.parcels.len(),
                "area_ha": r(use_ha.values().sum::<f64>(), 2),
                "area_ha_by_use": use_ha.iter().map(|(k, v)| (k.to_string(), json!(r(*v, 2)))).collect::<Map<_, _>>(),
                "count_by_use": use_n.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<Map<_, _>>(),
            },
            "conservation": {
                "count": inp.conservation.len(),
                "area_km2": r(inp.conservation.iter().map(|c| c.geom_in_aoi.unsigned_area()).sum::<f64>() / 1e6, 3),
                "legal_area_km2": r(inp.conservation.iter().map(|c| c.legal_area_km2).sum::<f64>(), 3),
                "names": inp.conservation.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            },
            "forest": raster_stats(&inp.forest, &inp.aoi_mask),
            "forest_area_km2": r(forest_ha / 100.0, 3),
            "elevation": raster_stats(&inp.elevation, &inp.aoi_mask),
            "forest_loss": opt(&inp.forest_loss),
            "population": opt(&inp.population),
            "landcover": opt(&inp.landcover),
            "carbon": opt(&inp.carbon),
        },
        "warnings": warnings,
    })
}

/// Write pretty JSON with a final newline.
/// `landscape.resolved.toml`: the run record, every setting as used with
/// the defaults filled in.
pub fn write_run_record(dir: &Path, landscape: &Path, ls: &crate::Landscape) -> Result<()> {
    let path = dir.join("landscape.resolved.toml");
    let resolved = toml::to_string(&ls.cfg).map_err(|e| Error::output(&path, e))?;
    let text = format!(
        "# The landscape file {} as greenhalo {} used it, every default filled in.\n# Layer paths are relative to {}.\n\n{resolved}",
        landscape.display(),
        env!("CARGO_PKG_VERSION"),
        ls.dir.display()
    );
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

pub fn write_json(path: &Path, v: &Value) -> Result<()> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Error::output(path, e))?;
    s.push('\n');
    std::fs::write(path, s).map_err(|e| Error::io(path, e))
}
