//! The plan's finance: cash flows, capital stack, Monte Carlo.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::Result;

use super::{row, tidy, write_csv};

/// finance_cashflows.csv (one row a year), capital_stack.csv and the
/// finance section of summary.json.
pub fn write_finance(dir: &Path, f: &crate::finance::Finance) -> Result<Value> {
    let s = &f.streams;
    let h = s.roads_cost.len();
    let mut rows = Vec::new();
    let (cost, benefit) = (&f.cost, &f.benefit);
    let mut cumulative = 0.0;
    for t in 1..h {
        let net = benefit[t] - cost[t];
        cumulative += net;
        rows.push(row(&json!({
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
                "cost_usd": cost[t],
                "benefit_usd": benefit[t],
                "net_usd": net,
                "cumulative_net_usd": cumulative,
        })));
    }
    write_csv(&dir.join("finance_cashflows.csv"), &rows)?;
    let stack: Vec<Map<String, Value>> = f.capital_stack.iter().map(row).collect();
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
        "sensitivity": serde_json::to_value(&f.sensitivity).unwrap_or(Value::Null),
    })))
}
