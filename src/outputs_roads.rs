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
/// A figure greenhalo cannot compute is an error, never a null: every
/// property of every feature must be a value, except the fields that are
/// "not applicable" by definition (`optional`: an IRR where cash flows never
/// change sign, a phase for a parcel not selected). A NaN reaching serde
/// becomes null, so this also catches NaN and infinities.
pub fn guard_figures(
    stage: &str,
    layer: &str,
    id_key: &str,
    rows: &[&Map<String, Value>],
    optional: &[&str],
) -> Result<()> {
    let mut bad: Vec<(String, String)> = Vec::new();
    for m in rows {
        for (k, v) in m.iter() {
            let missing = match v {
                Value::Null => !optional.contains(&k.as_str()),
                Value::Number(n) => n.as_f64().is_some_and(|x| !x.is_finite()),
                _ => false,
            };
            if missing {
                let id = m
                    .get(id_key)
                    .map(|v| v.to_string().trim_matches('"').to_string())
                    .unwrap_or_default();
                bad.push((id, k.clone()));
            }
        }
    }
    if let Some((feature, field)) = bad.first() {
        let more = if bad.len() > 1 {
            format!(
                "; {} more: {}",
                bad.len() - 1,
                bad.iter()
                    .skip(1)
                    .take(5)
                    .map(|(i, f)| format!("{i}/{f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        return Err(Error::Uncomputable {
            stage: stage.into(),
            layer: layer.into(),
            feature: format!("'{feature}'"),
            field: field.clone(),
            message: format!(
                "NaN or missing; this is a defect of greenhalo or of an input under this feature, please report it with the landscape{more}"
            ),
        });
    }
    Ok(())
}

/// summary.json may hold null only where a figure is "not applicable" by
/// definition (an optional layer not given, an IRR without a sign change, a
/// payback that never comes); anything else null or non-finite is an error
/// naming its path.
pub fn guard_summary(v: &Value) -> Result<()> {
    const OPTIONAL: [&str; 14] = [
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

/// Machine-readable figures keep full precision (rounding is for display
/// only, in the report); a negative zero is written as 0.
pub fn tidy(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() && n.as_f64() == Some(0.0) => json!(0.0),
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
    let all: Vec<&Map<String, Value>> = feats.iter().map(|f| &f.props).collect();
    guard_figures(
        "roads",
        "road segment",
        "id",
        &all,
        &["aadt", "eirr", "intensity_ha_per_musd", "surface", "name"],
    )?;
    geojson_out::write(&dir.join("roads.geojson"), &grid_srs, &feats)?;

    let rows: Vec<Map<String, Value>> = feats.iter().map(|f| f.props.clone()).collect();
    write_csv(&dir.join("roads.csv"), &rows)?;

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

/// Write one CSV from GeoJSON-like property maps, columns in the first
/// map's order.
pub fn write_csv(path: &Path, rows: &[Map<String, Value>]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::output(path, e))?;
    let header: Vec<String> = rows
        .first()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default();
    w.write_record(&header)
        .map_err(|e| Error::output(path, e))?;
    for f in rows {
        let row: Vec<String> = header
            .iter()
            .map(|k| match f.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            })
            .collect();
        w.write_record(&row).map_err(|e| Error::output(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// parcels.geojson / .csv / .qml.
pub fn write_parcels(dir: &Path, inp: &Inputs, res: &crate::parcels::ParcelsResult) -> Result<()> {
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let rows: Vec<Map<String, Value>> = res
        .parcels
        .iter()
        .map(
            |p| match tidy(&serde_json::to_value(p).unwrap_or(Value::Null)) {
                Value::Object(mut m) => {
                    m.insert("eligible".into(), json!(p.eligible.join(";")));
                    m
                }
                _ => Map::new(),
            },
        )
        .collect();
    let all: Vec<&Map<String, Value>> = rows.iter().collect();
    guard_figures(
        "parcels",
        "parcel",
        "id",
        &all,
        // travel_min is null where no market can be reached (not applicable,
        // reported as a warning and counted in the summary); the earnings
        // multiple where the current use earns nothing.
        &[
            "private_irr",
            "phase",
            "instrument",
            "transition",
            "travel_min",
            "earnings_multiple",
        ],
    )?;
    let feats: Vec<OutFeature> = inp
        .parcels
        .iter()
        .zip(&rows)
        .map(|(p, m)| OutFeature {
            geom: geo::Geometry::MultiPolygon(p.geom.clone()),
            props: m.clone(),
        })
        .collect();
    geojson_out::write(&dir.join("parcels.geojson"), &grid_srs, &feats)?;
    write_csv(&dir.join("parcels.csv"), &rows)?;
    let style = qml::categorized(
        "fill",
        "transition",
        &[
            ("cocoa_agroforestry", "Cocoa agroforestry", "140,81,10,200"),
            (
                "coffee_agroforestry",
                "Coffee agroforestry",
                "191,129,45,200",
            ),
            ("silvopasture", "Silvopasture", "199,234,229,200"),
            (
                "diversified_agroforestry",
                "Diversified agroforestry",
                "90,180,172,200",
            ),
            (
                "assisted_restoration",
                "Assisted restoration",
                "1,102,94,200",
            ),
            ("keep_current_use", "Keep current use", "220,220,220,160"),
        ],
        0.2,
        None,
    );
    std::fs::write(dir.join("parcels.qml"), style).map_err(|e| Error::io(dir, e))
}

pub fn parcels_summary(res: &crate::parcels::ParcelsResult) -> Value {
    let sel: Vec<&crate::parcels::ParcelResult> =
        res.parcels.iter().filter(|p| p.selected).collect();
    let mut by_t: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
    let mut by_phase: std::collections::BTreeMap<String, f64> = Default::default();
    let mut by_inst: std::collections::BTreeMap<String, f64> = Default::default();
    for p in &sel {
        let e = by_t.entry(p.transition.clone()).or_default();
        e.0 += p.stats.area_ha;
        e.1 += 1;
        *by_phase
            .entry(format!("phase_{}", p.phase.unwrap_or(0)))
            .or_default() += p.investment_usd;
        *by_inst
            .entry(p.instrument.clone().unwrap_or_default())
            .or_default() += p.investment_usd;
    }
    let mults: Vec<f64> = sel
        .iter()
        .filter_map(|p| p.earnings_multiple)
        .filter(|m| m.is_finite())
        .collect();
    let mean_mult = if mults.is_empty() {
        Value::Null
    } else {
        json!(mults.iter().sum::<f64>() / mults.len() as f64)
    };
    let max_mult = mults.iter().cloned().fold(f64::NAN, f64::max);
    tidy(&json!({
        "parcels": res.parcels.len(),
        "unreachable": res.parcels.iter().filter(|p| p.stats.travel_min.is_nan()).count(),
        "selected": sel.len(),
        "selected_ha": res.selected_ha,
        "selected_km2": res.selected_ha / 100.0,
        "target_ha": res.target_ha,
        "target_met": res.target_met,
        "note": res.note,
        "investment_usd": res.investment_usd,
        "total_npv_usd": sel.iter().map(|p| p.total_npv_usd).sum::<f64>(),
        "area_ha_by_transition": by_t.iter().map(|(k, v)| (k.clone(), json!(v.0))).collect::<Map<_, _>>(),
        "parcels_by_transition": by_t.iter().map(|(k, v)| (k.clone(), json!(v.1))).collect::<Map<_, _>>(),
        "investment_usd_by_phase": by_phase.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        "investment_usd_by_instrument": by_inst.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        "earnings_multiple_mean": mean_mult,
        "earnings_multiple_max": if max_mult.is_nan() { Value::Null } else { json!(max_mult) },
    }))
}

/// conservation.geojson / .csv / .qml (graduated by funding gap).
pub fn write_conservation(
    dir: &Path,
    inp: &Inputs,
    res: &crate::conservation::FundingResult,
) -> Result<()> {
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let rows: Vec<Map<String, Value>> = res
        .areas
        .iter()
        .map(|a| {
            let mut m = match tidy(&serde_json::to_value(a).unwrap_or(Value::Null)) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            m.remove("allocated_by_source");
            for (name, v) in &a.allocated_by_source {
                m.insert(format!("allocated_{name}"), tidy(&json!(v)));
            }
            m
        })
        .collect();
    let all: Vec<&Map<String, Value>> = rows.iter().collect();
    guard_figures(
        "conservation funding",
        "conservation area",
        "name",
        &all,
        &[],
    )?;
    let feats: Vec<OutFeature> = inp
        .conservation
        .iter()
        .zip(&rows)
        .map(|(c, m)| OutFeature {
            geom: geo::Geometry::MultiPolygon(c.geom_in_aoi.clone()),
            props: m.clone(),
        })
        .collect();
    geojson_out::write(&dir.join("conservation.geojson"), &grid_srs, &feats)?;
    write_csv(&dir.join("conservation.csv"), &rows)?;
    let max_gap = res
        .areas
        .iter()
        .map(|a| a.gap_usd_per_year)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let q = |k: f64| (max_gap * k).round();
    let ranges = vec![
        (0.0, 0.0, "fully funded".to_string(), "26,150,65,200"),
        (
            0.0,
            q(0.25),
            format!("gap up to US${:.0}/yr", q(0.25)),
            "166,217,106,200",
        ),
        (
            q(0.25),
            q(0.5),
            format!("US${:.0}-{:.0}/yr", q(0.25), q(0.5)),
            "255,255,191,200",
        ),
        (
            q(0.5),
            q(0.75),
            format!("US${:.0}-{:.0}/yr", q(0.5), q(0.75)),
            "253,174,97,200",
        ),
        (
            q(0.75),
            max_gap.ceil(),
            format!("US${:.0}-{:.0}/yr", q(0.75), max_gap.ceil()),
            "215,25,28,200",
        ),
    ];
    std::fs::write(
        dir.join("conservation.qml"),
        qml::graduated("fill", "gap_usd_per_year", &ranges),
    )
    .map_err(|e| Error::io(dir, e))
}

pub fn conservation_summary(res: &crate::conservation::FundingResult) -> Value {
    tidy(&json!({
        "areas": res.areas.len(),
        "area_km2": res.areas.iter().map(|a| a.needs.area_km2).sum::<f64>(),
        "forest_ha": res.areas.iter().map(|a| a.needs.forest_ha).sum::<f64>(),
        "threat_ha": res.areas.iter().map(|a| a.needs.threat_ha).sum::<f64>(),
        "required_usd_per_year": res.required_usd_per_year(),
        "allocated_usd_per_year": res.allocated_usd_per_year(),
        "gap_usd_per_year": res.areas.iter().map(|a| a.gap_usd_per_year).sum::<f64>(),
        "funded_share": res.funded_share(),
        "avoided_loss_ha": res.areas.iter().map(|a| a.avoided_loss_ha).sum::<f64>(),
        "avoided_tco2": res.areas.iter().map(|a| a.avoided_tco2).sum::<f64>(),
        "sources": res.sources.iter().map(|(n, avail, used)| json!({"name": n, "available_usd_per_year": avail, "allocated_usd_per_year": used})).collect::<Vec<_>>(),
        "warnings": res.warnings,
    }))
}

/// finance_cashflows.csv (one row a year), capital_stack.csv and the
/// finance section of summary.json.
pub fn write_finance(dir: &Path, f: &crate::finance::Finance) -> Result<Value> {
    let s = &f.streams;
    let h = s.roads_cost.len();
    let mut rows = Vec::new();
    for t in 1..h {
        rows.push(
            match tidy(&json!({
                "year": t,
                "roads_cost_usd": s.roads_cost[t],
                "parcels_cost_usd": s.parcels_cost[t],
                "extension_cost_usd": s.extension_cost[t],
                "conservation_cost_usd": s.conservation_cost[t],
                "insurance_cost_usd": s.insurance_cost[t],
                "roads_benefit_usd": s.roads_benefit[t],
                "parcels_net_revenue_usd": s.parcels_revenue[t],
                "parcels_tco2": s.parcels_tco2[t],
                "conservation_avoided_tco2": s.conservation_tco2[t],
            })) {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        );
    }
    write_csv(&dir.join("finance_cashflows.csv"), &rows)?;
    let stack: Vec<Map<String, Value>> = f
        .capital_stack
        .iter()
        .map(
            |p| match tidy(&serde_json::to_value(p).unwrap_or(Value::Null)) {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        )
        .collect();
    write_csv(&dir.join("capital_stack.csv"), &stack)?;
    let hl = &f.headline;
    Ok(tidy(&json!({
        "investment_usd": hl.investment_usd,
        "returns_usd": hl.returns_usd,
        "return_multiple": hl.return_multiple,
        "npv_usd": hl.npv_usd,
        "irr": hl.irr,
        "irr_note": if hl.irr.is_none() { "undefined: the net flows never change sign" } else { "" },
        "bcr": hl.bcr,
        "payback_year": hl.payback_year,
        "investment_by_component_usd": f.by_component_usd.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        "capital_stack": stack,
        "monte_carlo": serde_json::to_value(&f.monte_carlo).unwrap_or(Value::Null),
    })))
}

/// Raster styles beside travel_time.tif and deforestation_risk.tif, and the
/// QGIS project that opens every layer styled.
pub fn write_styles_and_project(
    dir: &Path,
    inp: &Inputs,
    risk_max: f64,
    travel_p90: f64,
) -> Result<()> {
    let tt = qml::raster_pseudocolor(
        &[
            (0.0, "0,104,55,255", "0 min"),
            (travel_p90 * 0.25, "102,189,99,255", "fast"),
            (travel_p90 * 0.5, "255,255,191,255", ""),
            (travel_p90, "244,109,67,255", "slow"),
            (travel_p90 * 1.5, "165,0,38,255", "remote"),
        ],
        0.0,
        travel_p90 * 1.5,
    );
    std::fs::write(dir.join("travel_time.qml"), &tt).map_err(|e| Error::io(dir, e))?;
    let rk = qml::raster_pseudocolor(
        &[
            (0.0, "255,255,204,255", "0"),
            (risk_max * 0.25, "254,217,118,255", ""),
            (risk_max * 0.5, "253,141,60,255", ""),
            (risk_max, "189,0,38,255", "high"),
        ],
        0.0,
        risk_max,
    );
    std::fs::write(dir.join("deforestation_risk.qml"), &rk).map_err(|e| Error::io(dir, e))?;
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| Error::io(dir.join(f), e));
    let (roads, parcels, cons, halo) = (
        read("roads.qml")?,
        read("parcels.qml")?,
        read("conservation.qml")?,
        read("halo.qml")?,
    );
    let wgs_wkt = srs::wgs84().to_wkt().map_err(|e| Error::output(dir, e))?;
    let grid_auth = inp.grid.crs.clone();
    let layers = [
        crate::io::qgs::ProjectLayer {
            id: "roads",
            name: "Road segments",
            file: "roads.geojson",
            kind: "vector",
            geometry: "Line",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &roads,
        },
        crate::io::qgs::ProjectLayer {
            id: "halo",
            name: "Green Halo",
            file: "halo.geojson",
            kind: "vector",
            geometry: "Polygon",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &halo,
        },
        crate::io::qgs::ProjectLayer {
            id: "conservation",
            name: "Conservation funding",
            file: "conservation.geojson",
            kind: "vector",
            geometry: "Polygon",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &cons,
        },
        crate::io::qgs::ProjectLayer {
            id: "parcels",
            name: "Farmland transitions",
            file: "parcels.geojson",
            kind: "vector",
            geometry: "Polygon",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &parcels,
        },
        crate::io::qgs::ProjectLayer {
            id: "deforestation_risk",
            name: "Deforestation risk (annual)",
            file: "deforestation_risk.tif",
            kind: "raster",
            geometry: "",
            crs_authid: &grid_auth,
            crs_wkt: &inp.grid_wkt,
            qml: &rk,
        },
        crate::io::qgs::ProjectLayer {
            id: "travel_time",
            name: "Travel time to market (min)",
            file: "travel_time.tif",
            kind: "raster",
            geometry: "",
            crs_authid: &grid_auth,
            crs_wkt: &inp.grid_wkt,
            qml: &tt,
        },
    ];
    let qgs = crate::io::qgs::project(&inp.name, &grid_auth, &inp.grid_wkt, &layers);
    std::fs::write(dir.join("greenhalo.qgs"), qgs).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_figure_is_an_error_naming_the_feature_and_field() {
        // serde writes NaN as null: the guard must catch it.
        let m = match json!({"id": "P00042", "elevation_m": f64::NAN, "private_irr": null}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let e = guard_figures("parcels", "parcel", "id", &[&m], &["private_irr"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("P00042") && e.contains("elevation_m"), "{e}");
        // Optional fields may be null ("not applicable").
        let ok = match json!({"id": "P1", "elevation_m": 812.0, "private_irr": null}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        assert!(guard_figures("parcels", "parcel", "id", &[&ok], &["private_irr"]).is_ok());
    }

    #[test]
    fn a_null_figure_in_the_summary_is_an_error_naming_its_path() {
        let s = json!({"conservation": {"forest_ha": null}, "layers": {"carbon": null}});
        let e = guard_summary(&s).unwrap_err().to_string();
        assert!(e.contains("conservation.forest_ha"), "{e}");
        assert!(
            guard_summary(&json!({"layers": {"carbon": null}, "finance": {"irr": null}})).is_ok()
        );
    }

    #[test]
    fn no_negative_zero_is_written() {
        assert_eq!(serde_json::to_string(&tidy(&json!(-0.0))).unwrap(), "0.0");
        assert_eq!(crate::report::fmt_int(-0.4), "0");
        assert_eq!(crate::report::nz(-0.004, 2).to_string(), "0");
    }
}
