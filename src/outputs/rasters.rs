//! The aligned inputs (GeoTIFFs on the analysis grid, vectors as RFC 7946
//! GeoJSON in `inputs/`), travel time and nearest market, deforestation risk.

use std::path::Path;

use geo::{Area, Euclidean, Length};
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::io::geojson_out::{self, OutFeature};
use crate::io::raster::{write_geotiff, Placement};
use crate::io::srs;
use crate::risk::Risk;

use super::write_json;

/// Make `dir/inputs/`, the folder of the copies of the inputs.
pub fn make_inputs_dir(dir: &Path) -> Result<()> {
    let d = dir.join("inputs");
    // create_dir, not create_dir_all: after an interrupt removed the
    // staging folder, a write must fail rather than re-create it.
    std::fs::create_dir(&d).map_err(|e| Error::io(&d, e))
}

/// The aligned input rasters in `dir/inputs/` (see `make_inputs_dir`), one
/// job a raster (see `super::run_jobs`), the largest first.
pub fn input_raster_jobs<'a>(dir: &'a Path, inp: &'a Inputs) -> Vec<super::Job<'a>> {
    let d = dir.join("inputs");
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
    let nan = Some(f64::NAN);
    let float: [(&str, Option<&'a Vec<f32>>, &str); 6] = [
        ("forest", Some(&inp.forest), "forest cover fraction"),
        ("elevation", Some(&*inp.elevation), "elevation (m)"),
        (
            "forest_loss",
            inp.forest_loss.as_ref(),
            "historical forest loss",
        ),
        ("population", inp.population.as_ref(), "people per cell"),
        ("landcover", inp.landcover.as_ref(), "land-cover class"),
        ("carbon", inp.carbon.as_ref(), "carbon (t C/ha)"),
    ];
    let mut jobs: Vec<super::Job<'a>> = Vec::new();
    for (stem, v, what) in float {
        if let Some(v) = v {
            let (d, at) = (d.clone(), at.clone());
            jobs.push(Box::new(move || {
                write_geotiff(&d.join(format!("{stem}.tif")), &at, v, nan, what)
            }));
        }
    }
    let (d2, at2) = (d.clone(), at.clone());
    jobs.push(Box::new(move || {
        write_geotiff(
            &d2.join("conservation_id.tif"),
            &at2,
            &inp.conservation_id,
            Some(0.0),
            "1 + index of the conservation area",
        )
    }));
    jobs.push(Box::new(move || {
        write_geotiff(
            &d.join("aoi_mask.tif"),
            &at,
            &inp.aoi_mask,
            None,
            "1 inside the AOI",
        )
    }));
    jobs
}

/// A feature of an input layer.
fn mk(geom: geo::Geometry<f64>, props: Value) -> OutFeature {
    OutFeature {
        geom,
        props: match props {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    }
}

/// The AOI, roads and markets, reprojected and cleaned, in `inputs/` of
/// the layers' folder (see `make_inputs_dir`), kept for the GeoPackage.
pub fn write_input_layers(inp: &Inputs, layers: &super::Layers) -> Result<()> {
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let aoi = vec![mk(
        geo::Geometry::MultiPolygon(inp.aoi.clone()),
        json!({ "name": inp.name, "area_km2": inp.aoi.unsigned_area() / 1e6 }),
    )];
    layers.write("inputs/aoi.geojson", &grid_srs, aoi, None)?;
    let roads: Vec<OutFeature> = inp
        .roads
        .iter()
        .map(|rd| {
            mk(
                geo::Geometry::MultiLineString(rd.geom.clone()),
                json!({
                    "source": rd.source, "fid": rd.fid, "class": rd.class.as_str(),
                    "surface": rd.surface, "aadt": rd.aadt,
                    "length_km": rd.geom.length::<Euclidean>() / 1000.0,
                }),
            )
        })
        .collect();
    layers.write("inputs/roads.geojson", &grid_srs, roads, None)?;
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
    layers.write("inputs/markets.geojson", &grid_srs, markets, None)
}

/// The input parcels and conservation areas, reprojected and cleaned, in
/// `dir/inputs/` (not in the GeoPackage: its layers are the decisions).
pub fn write_input_areas(dir: &Path, inp: &Inputs) -> Result<()> {
    let d = dir.join("inputs");
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let parcels: Vec<OutFeature> = inp
        .parcels
        .iter()
        .map(|p| {
            mk(
                geo::Geometry::MultiPolygon(p.geom.clone()),
                json!({
                    "fid": p.fid, "id": p.id, "use": p.land_use.as_str(),
                    "use_value": p.use_value, "area_ha": p.geom.unsigned_area() / 1e4,
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
                    "area_km2": c.geom.unsigned_area() / 1e6,
                }),
            )
        })
        .collect();
    geojson_out::write(&d.join("conservation.geojson"), &grid_srs, &cons)?;
    Ok(())
}

/// `travel_time.tif`: minutes, NaN outside the AOI or unreachable.
/// `travel_time.tif` from `travel_time_in_aoi`'s field.
pub fn write_travel_time(dir: &Path, inp: &Inputs, tt: &[f32]) -> Result<()> {
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
    write_geotiff(
        &dir.join("travel_time.tif"),
        &at,
        tt,
        Some(f64::NAN),
        "travel time to the nearest market (minutes)",
    )
}

/// Travel time to the nearest market inside the AOI (NaN outside it and
/// where no market can be reached).
pub fn travel_time_in_aoi(inp: &Inputs, a: &Access) -> Vec<f32> {
    a.travel_min
        .iter()
        .zip(&inp.aoi_mask)
        .map(|(t, m)| {
            if *m == 1 && t.is_finite() {
                *t
            } else {
                f32::NAN
            }
        })
        .collect()
}

/// `nearest_market.tif`: the market's feature id, -1 for none.
pub fn write_nearest_market(dir: &Path, inp: &Inputs, a: &Access) -> Result<()> {
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
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
    )
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
    if let Some(v) = &risk.model.validation {
        // The block cross-validation sample with its fold, drivers and
        // out-of-fold predictions, so the folds can be refitted elsewhere.
        let path = dir.join("risk_cv.csv");
        let mut w = csv::Writer::from_path(&path).map_err(|e| Error::output(&path, e))?;
        let mut head = vec!["x", "y", "col", "row", "fold", "lost"];
        head.extend(crate::risk::DRIVER_NAMES);
        head.extend(["model_probability", "benchmark_probability"]);
        w.write_record(&head).map_err(|e| Error::output(&path, e))?;
        for c in &v.cells {
            let (col, rr) = (c.cell % inp.grid.width, c.cell / inp.grid.width);
            let (x, y) = inp.grid.cell_center(col, rr);
            let mut rec = vec![
                format!("{x:?}"),
                format!("{y:?}"),
                col.to_string(),
                rr.to_string(),
                c.fold.to_string(),
                (c.lost as u8).to_string(),
            ];
            rec.extend(c.x.iter().map(|d| format!("{d:?}")));
            rec.push(format!("{:?}", c.model));
            rec.push(format!("{:?}", c.benchmark));
            w.write_record(&rec).map_err(|e| Error::output(&path, e))?;
        }
        w.flush().map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
