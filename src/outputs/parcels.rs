//! Farmland transitions: parcels.geojson / .csv and their summary section.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::io::geojson_out::{self, OutFeature};
use crate::io::qml;
use crate::io::srs;

use super::{guard_figures, row, tidy, write_csv};

/// parcels.geojson / .csv / .qml.
pub fn write_parcels(dir: &Path, inp: &Inputs, res: &crate::parcels::ParcelsResult) -> Result<()> {
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let rows: Vec<Map<String, Value>> = res
        .parcels
        .iter()
        .map(|p| {
            let mut m = row(p);
            m.insert("eligible".into(), json!(p.eligible.join(";")));
            m
        })
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
    let style = qml::with_aliases(&style, qml::PARCEL_ALIASES);
    std::fs::write(dir.join("parcels.qml"), style).map_err(|e| Error::io(dir, e))
}

pub fn parcels_summary(res: &crate::parcels::ParcelsResult) -> Value {
    let sel: Vec<&crate::parcels::ParcelResult> =
        res.parcels.iter().filter(|p| p.selected).collect();
    let by_t = res.selected_by(|p| p.transition.clone());
    let by_phase = res.selected_by(|p| format!("phase_{}", p.phase.unwrap_or(0)));
    let by_inst = res.selected_by(|p| p.instrument.clone().unwrap_or_default());
    let mults: Vec<f64> = by_t
        .values()
        .flat_map(|g| g.earnings_multiples.iter().copied())
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
        "area_ha_by_transition": by_t.iter().map(|(k, g)| (k.clone(), json!(g.area_ha))).collect::<Map<_, _>>(),
        "parcels_by_transition": by_t.iter().map(|(k, g)| (k.clone(), json!(g.parcels))).collect::<Map<_, _>>(),
        "investment_usd_by_phase": by_phase.iter().map(|(k, g)| (k.clone(), json!(g.investment_usd))).collect::<Map<_, _>>(),
        "investment_usd_by_instrument": by_inst.iter().map(|(k, g)| (k.clone(), json!(g.investment_usd))).collect::<Map<_, _>>(),
        "earnings_multiple_mean": mean_mult,
        "earnings_multiple_max": if max_mult.is_nan() { Value::Null } else { json!(max_mult) },
    }))
}
