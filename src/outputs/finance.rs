//! The plan's finance: cash flows, capital stack, Monte Carlo.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::Result;

use super::{row, tidy, write_csv};

/// finance_cashflows.csv (one row a year), capital_stack.csv and the
/// finance section of summary.json.
pub fn write_finance(
    dir: &Path,
    f: &crate::finance::Finance,
    portfolio: &crate::roads::Portfolio,
    pilot: &[crate::finance::PilotRow],
) -> Result<Value> {
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
                "roads_maintenance_cost_usd": s.roads_maintenance[t],
                "parcels_cost_usd": s.parcels_cost[t],
                "extension_cost_usd": s.extension_cost[t],
                "conservation_cost_usd": s.conservation_cost[t],
                "insurance_cost_usd": s.insurance_cost[t],
                "roads_benefit_usd": s.roads_benefit[t],
                "parcels_net_revenue_usd": s.parcels_revenue[t],
                "parcels_tco2": s.parcels_tco2[t],
                "parcels_avoided_tco2": s.parcels_avoided_tco2[t],
                "conservation_avoided_tco2": s.conservation_tco2[t],
                "roads_emitted_tco2": s.roads_tco2[t],
                "cost_usd": cost[t],
                "benefit_usd": benefit[t],
                "net_usd": net,
                "cumulative_net_usd": cumulative,
        })));
    }
    write_csv(&dir.join("finance_cashflows.csv"), &rows)?;
    write_csv(&dir.join("finance_ledger.csv"), &ledger(f))?;
    let stack: Vec<Map<String, Value>> = f.capital_stack.iter().map(row).collect();
    write_csv(&dir.join("capital_stack.csv"), &stack)?;
    let lines: Vec<Map<String, Value>> = f.capital_lines.iter().map(row).collect();
    write_csv(&dir.join("capital_lines.csv"), &lines)?;
    let hl = &f.headline;
    let (cash, non_cash) = f.returns_cash_and_not();
    let total = |v: &[f64]| v.iter().sum::<f64>();
    Ok(tidy(&json!({
        "investment_usd": hl.investment_usd,
        "returns_usd": hl.returns_usd,
        "returns_cash_usd": cash,
        "returns_non_cash_usd": non_cash,
        "return_multiple_cash": if hl.investment_usd > 0.0 { cash / hl.investment_usd } else { 0.0 },
        "carbon_tco2": {
            "sequestered_by_transitions": total(&s.parcels_tco2),
            "avoided_by_halo_transitions": total(&s.parcels_avoided_tco2),
            "avoided_by_conservation": total(&s.conservation_tco2),
            "emitted_by_road_induced_loss": total(&s.roads_tco2),
            // The road tonnes from roads.csv to the ledger: the portfolio's
            // segments one by one, plus what their losses add (or lose)
            // together, less what falls after the horizon.
            "road_emissions_reconciliation": {
                "sum_of_portfolio_segments": portfolio.tco2_sum_of_singles,
                "interaction": portfolio.tco2_joint - portfolio.tco2_sum_of_singles,
                "after_horizon": -s.roads_tco2_after_horizon,
                "in_plan": total(&s.roads_tco2),
            },
        },
        "return_multiple": hl.return_multiple,
        "npv_usd": hl.npv_usd,
        "irr": hl.irr,
        "irr_note": if hl.irr.is_none() { "undefined: the net flows never change sign" } else { "" },
        "bcr": hl.bcr,
        "payback_year": hl.payback_year,
        "investment_by_component_usd": f.by_component_usd.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>(),
        "capital_stack": stack,
        "capital_lines": lines,
        "pilot_comparison": serde_json::to_value(pilot).unwrap_or(Value::Null),
        "monte_carlo": serde_json::to_value(&f.monte_carlo).unwrap_or(Value::Null),
        "sensitivity": serde_json::to_value(&f.sensitivity).unwrap_or(Value::Null),
    })))
}

/// The yearly ledger, one row per year, component, line and capital: every
/// money figure of the plan at base values. Costs carry the capital that
/// pays them (for farm lines, in the shares the capital stack's LP gives
/// the line's phase); benefits carry none. Summing `cost_usd` and
/// `benefit_usd` by year gives finance_cashflows.csv.
pub fn ledger(f: &crate::finance::Finance) -> Vec<Map<String, Value>> {
    let s = &f.streams;
    let h = s.roads_cost.len() - 1;
    let carbon = f.carbon_price_usd_per_tco2;
    let mut rows = Vec::new();
    let mut push = |t: usize,
                    component: &str,
                    line: &str,
                    capital: &str,
                    cost: f64,
                    benefit: f64,
                    tco2: f64| {
        if cost != 0.0 || benefit != 0.0 || tco2 != 0.0 {
            rows.push(row(&json!({
                "year": t,
                "component": component,
                "line": line,
                "capital": capital,
                "cost_usd": cost,
                "benefit_usd": benefit,
                "tco2": tco2,
            })));
        }
    };
    for t in 1..=h {
        push(
            t,
            "road_capex",
            "portfolio",
            "public",
            s.roads_cost[t],
            0.0,
            0.0,
        );
        push(
            t,
            "road_maintenance",
            "portfolio",
            "public",
            s.roads_maintenance[t],
            0.0,
            0.0,
        );
        push(
            t,
            "road_benefit",
            "portfolio",
            "",
            0.0,
            s.roads_benefit[t],
            0.0,
        );
        for l in &s.parcel_lines {
            let c = l.cost_by_year[t];
            if c == 0.0 {
                continue;
            }
            let b = f
                .capital_lines
                .iter()
                .find(|x| x.phase == l.phase && x.line.name == l.transition)
                .map(|x| x.blend);
            let amount = b
                .map(|b| b.commercial_usd + b.concessional_usd + b.philanthropic_usd)
                .unwrap_or(0.0);
            let share = |v: f64| if amount > 0.0 { c * v / amount } else { 0.0 };
            match b {
                Some(b) if amount > 0.0 => {
                    push(
                        t,
                        "parcel_establishment",
                        &l.transition,
                        "private",
                        share(b.commercial_usd),
                        0.0,
                        0.0,
                    );
                    push(
                        t,
                        "parcel_establishment",
                        &l.transition,
                        "concessional",
                        share(b.concessional_usd),
                        0.0,
                        0.0,
                    );
                    push(
                        t,
                        "parcel_establishment",
                        &l.transition,
                        "philanthropic",
                        share(b.philanthropic_usd),
                        0.0,
                        0.0,
                    );
                }
                _ => push(
                    t,
                    "parcel_establishment",
                    &l.transition,
                    "philanthropic",
                    c,
                    0.0,
                    0.0,
                ),
            }
        }
        push(
            t,
            "parcel_net_revenue",
            "farmland",
            "",
            0.0,
            s.parcels_revenue[t],
            0.0,
        );
        push(
            t,
            "extension_technical_assistance",
            "farmland",
            "philanthropic",
            s.extension_cost[t],
            0.0,
            0.0,
        );
        push(
            t,
            "climate_risk_insurance",
            "farmland",
            "public",
            s.insurance_cost[t],
            0.0,
            0.0,
        );
        for (name, cap, v) in &s.conservation_by_source {
            let capital = match cap {
                crate::config::Capital::Philanthropic => "philanthropic",
                crate::config::Capital::Public => "public",
                crate::config::Capital::DevelopmentBankGuarantee => "concessional",
                crate::config::Capital::Private => "private",
            };
            push(t, "conservation_management", name, capital, v[t], 0.0, 0.0);
        }
        push(
            t,
            "carbon_sequestration",
            "farmland",
            "",
            0.0,
            carbon * s.parcels_tco2[t],
            s.parcels_tco2[t],
        );
        push(
            t,
            "carbon_avoided_loss",
            "farmland",
            "",
            0.0,
            carbon * s.parcels_avoided_tco2[t],
            s.parcels_avoided_tco2[t],
        );
        push(
            t,
            "carbon_avoided_loss",
            "conservation",
            "",
            0.0,
            carbon * s.conservation_tco2[t],
            s.conservation_tco2[t],
        );
        // The carbon the portfolio's roads emit through the forest loss
        // they invite: the plan's carbon account nets it out (negative
        // tonnes and value), so the investment stays the money spent.
        push(
            t,
            "carbon_road_induced_loss",
            "portfolio",
            "",
            0.0,
            -carbon * s.roads_tco2[t],
            -s.roads_tco2[t],
        );
    }
    rows
}
