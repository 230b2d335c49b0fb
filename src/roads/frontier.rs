//! The efficiency frontier of road portfolios by budget (Vilela et al.
//! 2020).

use serde::Serialize;

use super::*;
use crate::error::Result;

/// One point of the efficiency frontier (Vilela et al. 2020): the portfolio
/// with the largest economic NPV a budget buys, and the forest loss it
/// brings (sums of the segments appraised one by one).
#[derive(Debug, Clone, Serialize)]
pub struct FrontierPoint {
    pub budget_usd: f64,
    pub segments: usize,
    pub cost_usd: f64,
    pub npv_econ_usd: f64,
    pub forest_loss_ha: f64,
    /// Shares of the economic NPV and forest loss of every candidate.
    pub benefit_share: f64,
    pub loss_share: f64,
    /// How far below the best portfolio for this budget the point may be:
    /// 0 when proven within US$1, else the proven gap left when the step
    /// reached its time limit (`FRONTIER_SECONDS`).
    pub gap_usd: f64,
}

/// Seconds each frontier step may take.
pub const FRONTIER_SECONDS: f64 = 5.0;

/// Frontier points for budgets 0, 1/steps, ..., 1 of the cost of every
/// segment with positive economic NPV (segments through conservation areas
/// are never candidates).
pub fn frontier(scored: &[ScoredSegment], steps: usize) -> Result<Vec<FrontierPoint>> {
    let cand: Vec<&ScoredSegment> = scored
        .iter()
        .filter(|s| {
            s.npv_econ_usd > 0.0
                && matches!(
                    s.class,
                    SegmentClass::Improve | SegmentClass::ImproveWithSafeguards
                )
        })
        .collect();
    let values: Vec<f64> = cand.iter().map(|s| s.npv_econ_usd).collect();
    let costs: Vec<f64> = cand.iter().map(|s| s.cost_usd).collect();
    let total_cost: f64 = costs.iter().sum();
    let total_value: f64 = values.iter().sum();
    let total_loss: f64 = cand.iter().map(|s| s.effects.forest_loss_ha).sum();
    let share = |x: f64, t: f64| if t > 0.0 { x / t } else { 0.0 };
    let steps = steps.max(1);
    let mut out = Vec::with_capacity(steps + 1);
    for k in 0..=steps {
        let budget = total_cost * k as f64 / steps as f64;
        let (chosen, gap_usd) = if k == steps {
            (vec![true; cand.len()], 0.0)
        } else {
            let c = select_within_budget(&values, &costs, budget, FRONTIER_SECONDS)?;
            (c.chosen, c.gap_usd)
        };
        let pick = |f: &dyn Fn(&ScoredSegment) -> f64| -> f64 {
            cand.iter()
                .zip(&chosen)
                .filter(|(_, c)| **c)
                .map(|(s, _)| f(s))
                .sum()
        };
        let npv = pick(&|s| s.npv_econ_usd);
        let loss = pick(&|s| s.effects.forest_loss_ha);
        out.push(FrontierPoint {
            budget_usd: budget,
            segments: chosen.iter().filter(|c| **c).count(),
            cost_usd: pick(&|s| s.cost_usd),
            npv_econ_usd: npv,
            forest_loss_ha: loss,
            benefit_share: share(npv, total_value),
            loss_share: share(loss, total_loss),
            gap_usd,
        });
    }
    Ok(out)
}
