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
        rows,
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
            "value_in_choice_usd",
            "importance_usd",
            "importance_share",
            "firmness",
            "alternatives_share",
        ],
    )?;

    // Styled by what the plan decided: the funded portfolio first and
    // thickest, then what is worth improving but not funded, what is not,
    // and what to avoid; names as labels from 1:150,000 in.
    let line = |rgba: &str, w: f64, level: u32| qml::Symbol::line(rgba, w).on_level(level);
    let style = qml::categorized(
        ROAD_DECISION,
        &[
            ("funded", "Funded: improve", line("0,90,50,255", 1.8, 5)),
            (
                "funded_with_safeguards",
                "Funded: improve with safeguards",
                line("200,90,0,255", 1.8, 5),
            ),
            (
                "improve",
                "Worth improving, not funded",
                line("90,180,100,255", 0.9, 3).dashed(),
            ),
            (
                "improve_with_safeguards",
                "Worth improving with safeguards, not funded",
                line("245,160,80,255", 0.9, 3).dashed(),
            ),
            (
                "do_not_improve",
                "Do not improve",
                line("150,150,150,255", 0.4, 1),
            ),
            (
                "avoid",
                "Avoid (through a conservation area)",
                line("215,25,28,255", 1.0, 4),
            ),
        ],
    );
    let style = qml::with_labels(
        &style,
        "name",
        8.0,
        qml::LabelPlacement::AlongLine,
        Some(150_000.0),
    );
    let frontier: Vec<Map<String, Value>> = res.frontier.iter().map(row).collect();
    let rows: Vec<&Map<String, Value>> = frontier.iter().collect();
    guard_figures("roads", "frontier point", "loss_cap_ha", &rows, &[])?;
    write_csv(&dir.join("road_frontier.csv"), &frontier)?;
    if let Some(alt) = &res.portfolio.alternatives {
        let join = |v: &[String]| v.join(" ");
        let rows: Vec<Map<String, Value>> = alt
            .sets
            .iter()
            .map(|a| {
                let mut m = Map::new();
                m.insert("alternative".into(), json!(a.rank));
                m.insert(
                    "what".into(),
                    json!(if a.rank == 0 {
                        "the portfolio"
                    } else {
                        "alternative"
                    }),
                );
                m.insert("segments".into(), json!(a.segments.len()));
                m.insert("cost_usd".into(), json!(a.cost_usd));
                m.insert("value_in_choice_usd".into(), json!(a.value_in_choice_usd));
                m.insert("below_best_usd".into(), json!(a.below_best_usd));
                m.insert(
                    "below_best_pct".into(),
                    json!(if alt.best_value_in_choice_usd > 0.0 {
                        100.0 * a.below_best_usd / alt.best_value_in_choice_usd
                    } else {
                        0.0
                    }),
                );
                m.insert("npv_net_joint_usd".into(), json!(a.npv_net_joint_usd));
                m.insert("proven".into(), json!(a.proven));
                m.insert("adds".into(), json!(join(&a.adds)));
                m.insert("drops".into(), json!(join(&a.drops)));
                m.insert("ids".into(), json!(join(&a.segments)));
                m
            })
            .collect();
        let refs: Vec<&Map<String, Value>> = rows.iter().collect();
        guard_figures("roads", "alternative", "alternative", &refs, &[])?;
        write_csv(&dir.join("road_alternatives.csv"), &rows)?;
    }
    let style = qml::with_fields(&style, qml::ROAD_ALIASES);
    std::fs::write(dir.join("roads.qml"), style).map_err(|e| Error::io(dir, e))
}

/// The QGIS expression the road segments are styled by: `funded` or
/// `funded_with_safeguards` for the portfolio, else the class.
pub const ROAD_DECISION: &str = r#"CASE WHEN "in_portfolio" AND "class" = 'improve_with_safeguards' THEN 'funded_with_safeguards' WHEN "in_portfolio" THEN 'funded' ELSE "class" END"#;

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
