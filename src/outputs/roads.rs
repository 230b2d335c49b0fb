//! Road segments: roads.geojson / .csv and their summary section.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::io::qml;
use crate::roads::{RoadsResult, ScoredSegment};

use super::{guard_figures, row, tidy, write_csv, write_product, Layers};

pub fn write_roads(dir: &Path, inp: &Inputs, res: &RoadsResult, layers: &Layers) -> Result<()> {
    // Features in rank order.
    let mut order: Vec<usize> = (0..res.scored.len()).collect();
    order.sort_by_key(|i| res.scored[*i].rank);
    let rows: Vec<Map<String, Value>> = order.iter().map(|&i| row(&res.scored[i])).collect();
    write_product(
        layers,
        "roads",
        inp,
        order
            .iter()
            .map(|&i| geo::Geometry::LineString(res.segments[i].geom.clone())),
        &rows,
        ("roads", "road segment", "id"),
        &[
            "aadt",
            "eirr",
            "intensity_ha_per_musd",
            "surface",
            "name",
            "switch_cost_econ_pct",
            "switch_benefit_econ_pct",
            "switch_cost_net_pct",
            "switch_benefit_net_pct",
        ],
    )?;

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
    let frontier: Vec<Map<String, Value>> = res.frontier.iter().map(row).collect();
    let rows: Vec<&Map<String, Value>> = frontier.iter().collect();
    guard_figures("roads", "frontier point", "budget_usd", &rows, &[])?;
    write_csv(&dir.join("road_frontier.csv"), &frontier)?;
    let style = qml::with_aliases(&style, qml::ROAD_ALIASES);
    std::fs::write(dir.join("roads.qml"), style).map_err(|e| Error::io(dir, e))
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
        by_class.insert(c.into(), json!({ "segments": n, "km": km }));
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
    let mut v = json!({
        "segments": res.scored.len(),
        "by_class": by_class,
        "npv_econ_positive": res.scored.iter().filter(|s| s.npv_econ_usd > 0.0).count(),
        "top10": top,
        "portfolio": serde_json::to_value(&res.portfolio).unwrap_or(Value::Null),
    });
    if res.outside.segments > 0 {
        v["outside_aoi"] = json!({
            "segments": res.outside.segments,
            "km": res.outside.km,
            "features": res.outside.features,
        });
    }
    tidy(&v)
}
