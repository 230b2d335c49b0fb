//! Farmland transitions: parcels.geojson / .csv and their summary section.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::io::qml;

use super::{product_features, row, tidy};
use crate::io::geojson_out::OutFeature;

/// The parcels' features (geometry in the grid CRS and row) for
/// parcels.geojson, parcels.csv and the GeoPackage, their rows made on
/// every core.
pub fn parcel_features(
    inp: &Inputs,
    res: &crate::parcels::ParcelsResult,
) -> Result<Vec<OutFeature>> {
    use rayon::prelude::*;
    let rows: Vec<Map<String, Value>> = res
        .parcels
        .par_iter()
        .map(|p| {
            let mut m = row(p);
            m.insert("eligible".into(), json!(p.eligible.join(";")));
            m
        })
        .collect();
    product_features(
        inp.parcels
            .iter()
            .map(|p| geo::Geometry::MultiPolygon(p.geom.clone())),
        rows,
        ("parcels", "parcel", "id"),
        // travel_min is null where no market can be reached (not applicable,
        // reported as a warning and counted in the summary); the earnings
        // multiple where the current use earns nothing.
        &[
            "private_irr",
            "phase",
            "establishment_year",
            "instrument",
            "transition",
            "travel_min",
            "earnings_multiple",
        ],
    )
}

/// parcels.qml.
pub fn write_parcel_style(dir: &Path, catalogue: &[crate::config::Transition]) -> Result<()> {
    // What the plan decided: a selected parcel in its transition's colour
    // (as in the report), every parcel left as it is in one grey entry,
    // none outlined (25,000 outlines are a grey smear at landscape scale).
    let mut cats: Vec<(String, String, qml::Symbol)> = catalogue
        .iter()
        .map(|t| {
            let (r, g, b) = crate::parcels::transition_rgb(catalogue, &t.name);
            let rgb = format!("{r},{g},{b}");
            let sym = qml::Symbol::fill(&format!("{rgb},220"), Some((&format!("{rgb},255"), 0.1)));
            (t.name.clone(), label(&t.name), sym)
        })
        .collect();
    let (r, g, b) = crate::parcels::KEEP_CURRENT_USE_RGB;
    cats.push((
        NOT_SELECTED.into(),
        "Not selected (keeps its current use)".into(),
        qml::Symbol::fill(&format!("{r},{g},{b},140"), None),
    ));
    let cats: Vec<(&str, &str, qml::Symbol)> = cats
        .iter()
        .map(|(v, l, c)| (v.as_str(), l.as_str(), c.clone()))
        .collect();
    let style = qml::categorized(PARCEL_CLASS, &cats);
    let style = qml::with_fields(&style, qml::PARCEL_ALIASES);
    std::fs::write(dir.join("parcels.qml"), style).map_err(|e| Error::io(dir, e))
}

/// The QGIS expression the parcels are styled by: the transition of a
/// selected parcel, `NOT_SELECTED` for every other.
pub const PARCEL_CLASS: &str = r#"if("selected", "transition", 'not_selected')"#;
pub const NOT_SELECTED: &str = "not_selected";

/// "cocoa_agroforestry" -> "Cocoa agroforestry".
fn label(name: &str) -> String {
    crate::fmt::sentence_case(&name.replace('_', " "))
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
        "schedule_rounds": res.schedule_rounds,
        "schedule_settled": res.schedule_settled,
        "schedule_note": res.schedule_note,
        "importance": serde_json::to_value(&res.importance).unwrap_or(Value::Null),
        "selection_value_usd": res.proof.value_usd,
        "selection_bound_usd": res.proof.bound_usd,
        "selection_gap_usd": res.proof.gap_usd(),
        "selection_tolerance_usd": res.proof.tolerance_usd,
        "selection_proven": res.proof.proven(),
        "selection_method": res.proof.method,
        "selection_core_parcels": res.proof.core_parcels,
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
