//! Writing the roads and halo stage outputs: roads.geojson / .csv / .qml,
//! halo.geojson / .tif / .qml, and their summary.json sections.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::halo::Halo;
use crate::inputs::Inputs;
use crate::io::geojson_out::{self, OutFeature};
use crate::io::qml;
use crate::io::raster::{write_geotiff, Placement};
use crate::io::srs;
use crate::outputs::r;
use crate::roads::{RoadsResult, ScoredSegment};

/// Round a figure for output: cents for money-sized numbers, six
/// significant digits for small ones.
pub fn tidy(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(0.0);
            let y = if x.abs() >= 1.0 {
                r(x, 2)
            } else if x == 0.0 {
                0.0
            } else {
                let d = 6 - (x.abs().log10().floor() as i32) - 1;
                r(x, d.clamp(0, 12))
            };
            json!(y)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), tidy(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(tidy).collect()),
        other => other.clone(),
    }
}

fn props(s: &ScoredSegment) -> Map<String, Value> {
    match tidy(&serde_json::to_value(s).unwrap_or(Value::Null)) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub fn write_roads(dir: &Path, inp: &Inputs, res: &RoadsResult) -> Result<()> {
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    // Features in rank order.
    let mut order: Vec<usize> = (0..res.scored.len()).collect();
    order.sort_by_key(|i| res.scored[*i].rank);
    let feats: Vec<OutFeature> = order
        .iter()
        .map(|&i| OutFeature {
            geom: geo::Geometry::LineString(res.segments[i].geom.clone()),
            props: props(&res.scored[i]),
        })
        .collect();
    geojson_out::write(&dir.join("roads.geojson"), &grid_srs, &feats)?;

    let path = dir.join("roads.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| Error::output(&path, e))?;
    let header: Vec<String> = feats
        .first()
        .map(|f| f.props.keys().cloned().collect())
        .unwrap_or_default();
    w.write_record(&header)
        .map_err(|e| Error::output(&path, e))?;
    for f in &feats {
        let row: Vec<String> = header
            .iter()
            .map(|k| match f.props.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            })
            .collect();
        w.write_record(&row).map_err(|e| Error::output(&path, e))?;
    }
    w.flush().map_err(|e| Error::io(&path, e))?;

    // Categorized by class, width by NPV_net.
    let max_npv = res
        .scored
        .iter()
        .map(|s| s.npv_net_usd)
        .fold(1.0f64, f64::max);
    let width = format!("scale_linear(\"npv_net_usd\", 0, {max_npv:.0}, 0.5, 2.6)");
    let style = qml::categorized(
        "line",
        "class",
        &[
            ("improve", "Improve", "26,150,65,255"),
            (
                "improve_with_safeguards",
                "Improve with safeguards",
                "253,174,97,255",
            ),
            ("do_not_improve", "Do not improve", "150,150,150,255"),
            (
                "avoid",
                "Avoid (through a conservation area)",
                "215,25,28,255",
            ),
        ],
        0.6,
        Some(&width),
    );
    std::fs::write(dir.join("roads.qml"), style).map_err(|e| Error::io(dir, e))
}

pub fn write_halo(dir: &Path, inp: &Inputs, halo: &Halo) -> Result<()> {
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let feats: Vec<OutFeature> = halo
        .rings
        .iter()
        .map(|(k, mp)| {
            use geo::Area;
            let c = &inp.conservation[*k];
            OutFeature {
                geom: geo::Geometry::MultiPolygon(mp.clone()),
                props: match json!({
                    "conservation_fid": c.fid,
                    "conservation_name": c.name,
                    "distance_km": halo.distance_m / 1000.0,
                    "area_km2": r(mp.unsigned_area() / 1e6, 3),
                }) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
            }
        })
        .collect();
    geojson_out::write(&dir.join("halo.geojson"), &grid_srs, &feats)?;
    std::fs::write(
        dir.join("halo.qml"),
        qml::single("fill", "255,200,80,90", 0.3),
    )
    .map_err(|e| Error::io(dir, e))?;
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
    write_geotiff(
        &dir.join("halo.tif"),
        &at,
        &halo.mask,
        None,
        "1 in the Green Halo ring",
    )?;
    Ok(())
}

pub fn roads_summary(res: &RoadsResult) -> Value {
    let mut by_class: Map<String, Value> = Map::new();
    for c in [
        "improve",
        "improve_with_safeguards",
        "do_not_improve",
        "avoid",
    ] {
        let n = res.scored.iter().filter(|s| s.class.as_str() == c).count();
        let km: f64 = res
            .scored
            .iter()
            .filter(|s| s.class.as_str() == c)
            .map(|s| s.length_km)
            .sum();
        by_class.insert(c.into(), json!({ "segments": n, "km": r(km, 2) }));
    }
    let mut order: Vec<&ScoredSegment> = res.scored.iter().collect();
    order.sort_by_key(|s| s.rank);
    let top: Vec<Value> = order
        .iter()
        .take(10)
        .map(|s| {
            tidy(&json!({
                "rank": s.rank, "id": s.id, "class": s.class.as_str(), "from": s.class_from.as_str(),
                "to": s.upgrade_to, "length_km": s.length_km, "npv_econ_usd": s.npv_econ_usd,
                "npv_net_usd": s.npv_net_usd, "forest_loss_ha": s.effects.forest_loss_ha,
                "pareto_layer": s.pareto_layer, "in_portfolio": s.in_portfolio,
            }))
        })
        .collect();
    tidy(&json!({
        "segments": res.scored.len(),
        "by_class": by_class,
        "npv_econ_positive": res.scored.iter().filter(|s| s.npv_econ_usd > 0.0).count(),
        "top10": top,
        "portfolio": serde_json::to_value(&res.portfolio).unwrap_or(Value::Null),
    }))
}
