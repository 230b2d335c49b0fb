//! Conservation funding: conservation.geojson / .csv and its summary section.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::io::qml;

use super::{row, tidy, write_product};

/// conservation.geojson / .csv / .qml (graduated by the share funded).
pub fn write_conservation(
    dir: &Path,
    inp: &Inputs,
    res: &crate::conservation::FundingResult,
    layers: &super::Layers,
) -> Result<()> {
    let rows: Vec<Map<String, Value>> = res
        .areas
        .iter()
        .map(|a| {
            let mut m = row(a);
            m.remove("allocated_by_source");
            for (name, v) in &a.allocated_by_source {
                m.insert(format!("allocated_{name}"), tidy(&json!(v)));
            }
            m
        })
        .collect();
    write_product(
        layers,
        "conservation",
        inp,
        res.areas.iter().map(|a| {
            geo::Geometry::MultiPolygon(inp.conservation[a.needs.index].geom_in_aoi.clone())
        }),
        rows,
        ("conservation funding", "conservation area", "name"),
        &[],
    )?;
    // Classes by the share of its need an area gets (a gap relative to
    // the largest would put a small area with nothing among the funded).
    let fill = |rgba: &str| qml::Symbol::fill(rgba, Some(("60,60,60,200", 0.3)));
    let ranges = vec![
        (
            0.0,
            0.249999,
            "Under 25% funded".to_string(),
            fill("215,25,28,200"),
        ),
        (
            0.25,
            0.499999,
            "25–50% funded".to_string(),
            fill("253,174,97,200"),
        ),
        (
            0.5,
            0.749999,
            "50–75% funded".to_string(),
            fill("255,255,191,200"),
        ),
        (
            0.75,
            0.999999,
            "75–99% funded".to_string(),
            fill("166,217,106,200"),
        ),
        (1.0, 1.0, "Fully funded".to_string(), fill("26,150,65,200")),
    ];
    std::fs::write(
        dir.join("conservation.qml"),
        qml::with_fields(
            &qml::graduated("funded_share", &ranges),
            qml::CONSERVATION_ALIASES,
        ),
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
        "left_out_slivers": res.slivers,
    }))
}
