//! The efficiency frontier of road portfolios (Vilela et al. 2020): within
//! the road budget, the portfolios no other beats on both economic NPV and
//! forest loss, found by capping the forest loss (the epsilon-constraint
//! method) and solving each cap exactly. The landscape file's forced
//! choices hold at every point: a segment forced out is never in one, a
//! segment forced in is in every one (its cost, NPV and forest loss
//! counted), so the chosen portfolio and the frontier answer the same
//! question.

use serde::Serialize;

use super::*;
use crate::error::Result;
use crate::solve::knapsack_two_caps;

/// One portfolio of the efficiency frontier: the largest economic NPV the
/// road budget buys with at most `loss_cap_ha` of forest loss (sums of the
/// segments appraised one by one, as the ranking reads them).
#[derive(Debug, Clone, Serialize)]
pub struct FrontierPoint {
    pub loss_cap_ha: f64,
    pub segments: usize,
    pub cost_usd: f64,
    pub npv_econ_usd: f64,
    pub forest_loss_ha: f64,
    /// Shares of the frontier's last point (the largest economic NPV the
    /// budget buys, whatever its forest loss).
    pub benefit_share: f64,
    pub loss_share: f64,
    /// Whether the solve proved the point optimal for its cap (false: it
    /// reached `FRONTIER_SECONDS`, and the point is the best found).
    pub proven: bool,
    /// Whether this is the budgeted portfolio.
    pub chosen: bool,
    /// Its segments, ";"-separated, by rank.
    pub segment_ids: String,
}

/// Seconds each frontier point may take.
pub const FRONTIER_SECONDS: f64 = 5.0;

/// The frontier within `budget`: `steps` + 1 forest-loss caps from the
/// forced-in segments' loss to the loss of the largest economic NPV, and
/// the loss of the chosen portfolio (`scored[..].in_portfolio`), each
/// solved exactly over the segments worth improving with a positive
/// economic NPV that are not forced either way, beside the forced-in
/// ones; the points no other point beats on both counts, by forest loss
/// (so economic NPV rises strictly from point to point).
pub fn frontier(
    scored: &[ScoredSegment],
    budget: f64,
    steps: usize,
    forced: &portfolio::Forced,
) -> Result<Vec<FrontierPoint>> {
    let fixed = &forced.inn;
    let fixed_cost: f64 = fixed.iter().map(|&i| scored[i].cost_usd).sum();
    let fixed_npv: f64 = fixed.iter().map(|&i| scored[i].npv_econ_usd).sum();
    let fixed_loss: f64 = fixed
        .iter()
        .map(|&i| scored[i].effects.forest_loss_ha.max(0.0))
        .sum();
    // (the portfolio's choice refuses forced-in segments over the budget
    // before this runs)
    let budget = (budget - fixed_cost).max(0.0);
    let cand: Vec<usize> = (0..scored.len())
        .filter(|&i| {
            let s = &scored[i];
            s.npv_econ_usd > 0.0
                && s.cost_usd <= budget
                && !forced.inn.contains(&i)
                && !forced.out.contains(&i)
                && matches!(
                    s.class,
                    SegmentClass::Improve | SegmentClass::ImproveWithSafeguards
                )
        })
        .collect();
    let values: Vec<f64> = cand.iter().map(|&i| scored[i].npv_econ_usd).collect();
    let costs: Vec<f64> = cand.iter().map(|&i| scored[i].cost_usd).collect();
    let loss: Vec<f64> = cand
        .iter()
        .map(|&i| scored[i].effects.forest_loss_ha.max(0.0))
        .collect();
    let what = format!(
        "the road frontier ({} candidate segments, budget US${} beside the forced-in segments: road_upgrades.budget_usd)",
        cand.len(),
        crate::fmt::fmt_int(budget)
    );
    let solve =
        |cap: f64| knapsack_two_caps(&values, &costs, budget, &loss, cap, FRONTIER_SECONDS, &what);
    let sum = |x: &[bool], w: &[f64]| -> f64 { (0..x.len()).filter(|k| x[*k]).map(|k| w[k]).sum() };
    let total_loss: f64 = loss.iter().sum();
    let (top, _) = solve(total_loss)?;
    let loss_max = sum(&top, &loss);
    let chosen_loss: f64 = cand
        .iter()
        .zip(&loss)
        .filter(|(&i, _)| scored[i].in_portfolio)
        .map(|(_, l)| l)
        .sum();
    let steps = steps.max(1);
    let mut caps: Vec<f64> = (0..=steps)
        .map(|k| loss_max * k as f64 / steps as f64)
        .collect();
    // (the chosen portfolio's loss over the free candidates: its forced-in
    // segments are not candidates)
    caps.push(chosen_loss.min(loss_max));
    // From the largest cap down: the best choice under a larger cap that
    // also fits a smaller one is the best under it too (no solve).
    caps.sort_by(|a, b| b.total_cmp(a));
    let mut sets: Vec<(f64, Vec<bool>, bool)> = Vec::with_capacity(caps.len());
    let mut last: (Vec<bool>, bool) = (top.clone(), true);
    for cap in caps {
        if sum(&last.0, &loss) > cap {
            last = solve(cap)?;
        }
        sets.push((cap, last.0.clone(), last.1));
    }
    // By forest loss, the larger NPV first at equal loss; then only the
    // points that raise the NPV.
    sets.sort_by(|a, b| {
        sum(&a.1, &loss)
            .total_cmp(&sum(&b.1, &loss))
            .then(sum(&b.1, &values).total_cmp(&sum(&a.1, &values)))
    });
    let (npv_max, chosen_set): (f64, Vec<bool>) = (
        fixed_npv + sum(&top, &values),
        cand.iter().map(|&i| scored[i].in_portfolio).collect(),
    );
    let loss_all = fixed_loss + loss_max;
    let share = |x: f64, t: f64| if t > 0.0 { x / t } else { 0.0 };
    let mut out: Vec<FrontierPoint> = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for (cap, x, proven) in sets {
        let npv = fixed_npv + sum(&x, &values);
        if npv <= best + 1e-6 * npv.abs().max(1.0) && !out.is_empty() {
            continue;
        }
        best = npv;
        let mut ids: Vec<&ScoredSegment> = cand
            .iter()
            .zip(&x)
            .filter(|(_, c)| **c)
            .map(|(&i, _)| &scored[i])
            .chain(fixed.iter().map(|&i| &scored[i]))
            .collect();
        ids.sort_by_key(|s| s.rank);
        let l = fixed_loss + sum(&x, &loss);
        out.push(FrontierPoint {
            loss_cap_ha: fixed_loss + cap,
            segments: ids.len(),
            cost_usd: fixed_cost + sum(&x, &costs),
            npv_econ_usd: npv,
            forest_loss_ha: l,
            benefit_share: share(npv, npv_max),
            loss_share: share(l, loss_all),
            proven,
            chosen: x == chosen_set,
            segment_ids: ids
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        });
    }
    Ok(out)
}
