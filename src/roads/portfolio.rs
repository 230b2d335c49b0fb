//! The budgeted portfolio: the exact 0/1 choice on the segments' single
//! NPV_net, then re-checked with the chosen upgrades together (each
//! chosen segment's value replaced by its marginal value given the rest)
//! while a re-selection raises the set's joint value.

use serde::Serialize;

use super::*;
use crate::error::Result;
use crate::solve::select::{select, Limits, Proof};

/// Seconds one portfolio choice may take (the frontier's steps take
/// `FRONTIER_SECONDS`): past it, the best choice found is used and its
/// proven gap reported.
pub const PORTFOLIO_SECONDS: f64 = 10.0;

/// A budgeted choice: which candidates, and how far below the best choice
/// it may be (0 when proven within US$1 or 1e-9 of the value).
#[derive(Debug, Clone)]
pub struct Choice {
    pub chosen: Vec<bool>,
    pub gap_usd: f64,
}

/// The 0/1 selection maximising the sum of `values` within `budget` (items
/// with value <= 0 are never chosen), proven optimal within US$1 (or 1e-9
/// of the value) by the same selection as the parcels' (a relaxation bound,
/// exchanges, a core MIP only where needed): a plain MIP over 800 short
/// segments found no proven optimum in 120 s on a region-size landscape.
/// Past `seconds`, the best choice found comes with its proven gap.
pub fn select_within_budget(
    values: &[f64],
    costs: &[f64],
    budget: f64,
    seconds: f64,
) -> Result<Choice> {
    let cand: Vec<usize> = (0..values.len())
        .filter(|&i| values[i] > 0.0 && costs[i] <= budget)
        .collect();
    let mut chosen = vec![false; values.len()];
    if cand.is_empty() {
        return Ok(Choice {
            chosen,
            gap_usd: 0.0,
        });
    }
    let v: Vec<f64> = cand.iter().map(|&i| values[i]).collect();
    let c: Vec<f64> = cand.iter().map(|&i| costs[i]).collect();
    let no_area = vec![0.0; cand.len()];
    // A solver failure names the model's shape: its candidates and budget.
    let what = format!(
        "the road portfolio ({} candidate segments with a positive value, budget US${}: road_upgrades.budget_usd or a frontier step)",
        cand.len(),
        crate::fmt::fmt_int(budget)
    );
    let lim = Limits {
        abs_gap: 1.0,
        rel_gap: 1e-9,
        seconds,
    };
    let Some(sel) = select(&v, &c, &no_area, budget, 0.0, &lim, &what)? else {
        return Ok(Choice {
            chosen,
            gap_usd: 0.0,
        });
    };
    for (k, &i) in cand.iter().enumerate() {
        chosen[i] = sel.chosen[k];
    }
    Ok(Choice {
        chosen,
        gap_usd: if sel.proof == Proof::TimeLimit {
            sel.gap()
        } else {
            0.0
        },
    })
}

/// The portfolio and its joint re-check.
#[derive(Debug, Clone, Serialize)]
pub struct Portfolio {
    pub budget_usd: f64,
    /// Objective of the first exact 0/1 solve (sum of the eligible
    /// segments' single NPV_net), before any re-check of interactions.
    pub npv_net_first_solve_usd: f64,
    pub segments: Vec<String>,
    pub cost_usd: f64,
    /// Sum of the chosen segments' NPV_net as appraised one by one.
    pub npv_net_sum_of_singles_usd: f64,
    /// NPV_net of the chosen set upgraded together.
    pub npv_net_joint_usd: f64,
    /// The first year's road-user benefit (it grows with the traffic).
    pub annual_benefit_sum_of_singles_usd: f64,
    pub annual_benefit_joint_usd: f64,
    /// Extra yearly maintenance of the chosen segments' upgrades.
    pub extra_maintenance_usd_per_year: f64,
    pub forest_loss_joint_ha: f64,
    /// tCO2 the chosen set's extra forest loss emits over the horizon after
    /// the works.
    pub tco2_joint: f64,
    /// The chosen segments' own tCO2 (roads.csv `tco2`), added up: the
    /// joint figure differs by how their induced losses interact.
    pub tco2_sum_of_singles: f64,
    /// The same tonnes by year after the works (index 0: the first year),
    /// as the finance ledger places them.
    pub tco2_by_year_after_opening: Vec<f64>,
    /// Traffic, and so the benefit, grows by this a year.
    pub traffic_growth: f64,
    /// Re-selections made because upgrades interact.
    pub iterations: u32,
    /// How far below the best choice (on the values of the last solve) the
    /// chosen set may be: 0 when proven within US$1, else the proven gap
    /// left when the solve reached its time limit (`PORTFOLIO_SECONDS`).
    pub selection_gap_usd: f64,
    pub note: String,
}

/// Budgeted selection among `improve` and `improve_with_safeguards`
/// segments, then a joint re-check. When upgrades interact (two parallel
/// roads serve the same people, so their benefits do not add up), each
/// chosen segment's value is replaced by its marginal value given the rest
/// of the set (leave-one-out), and the choice is solved again. The new set
/// is taken only if, upgraded together, it is worth more than the one it
/// replaces (one joint solve, no leave-one-out); this repeats until the
/// set no longer changes, a re-selection is worth no more, or 5 rounds.
/// The joint NPV_net rises at each step taken, so the loop cannot cycle.
pub(super) fn choose_portfolio(
    a: &Appraiser,
    scored: &mut [ScoredSegment],
    jobs: &[(Vec<u32>, f64)],
    bar: &indicatif::ProgressBar,
) -> Result<Portfolio> {
    let budget = a.p.road_budget_usd;
    let eligible: Vec<bool> = scored
        .iter()
        .map(|s| {
            matches!(
                s.class,
                SegmentClass::Improve | SegmentClass::ImproveWithSafeguards
            )
        })
        .collect();
    let costs: Vec<f64> = scored.iter().map(|s| s.cost_usd).collect();
    let mut values: Vec<f64> = scored
        .iter()
        .zip(&eligible)
        .map(|(s, e)| if *e { s.npv_net_usd } else { 0.0 })
        .collect();
    let joint = |set: &[usize]| a.effects(&upgrade_together(a, set, jobs));
    let annual_of = |set: &[usize], eff: &Effects| annual_benefit(scored, set, eff);
    let net_of = |set: &[usize], eff: &Effects| -> f64 {
        let e = a.econ;
        let cost: f64 = set.iter().map(|&i| scored[i].cost_usd).sum();
        let maint: f64 = set
            .iter()
            .map(|&i| scored[i].extra_maintenance_usd_per_year)
            .sum();
        let growth = a.p.traffic_growth;
        red::appraise(
            cost,
            annual_of(set, eff),
            growth,
            maint,
            e.horizon_years,
            e.discount_rate,
        )
        .npv_usd
            - eff.carbon_cost_pv_usd
    };
    let first = select_within_budget(&values, &costs, budget, PORTFOLIO_SECONDS)?;
    let mut gap_usd = first.gap_usd;
    let mut chosen = first.chosen;
    let first_solve: f64 = (0..scored.len())
        .filter(|i| chosen[*i])
        .map(|i| values[i])
        .sum();
    let mut iterations = 0;
    // The last set re-checked, with its joint effects.
    let mut last: Option<(Vec<usize>, Effects)> = None;
    let mut memo = LooMemo {
        bar: Some(bar.clone()),
        ..LooMemo::default()
    };
    for (i, s) in scored.iter().enumerate() {
        memo.expect(i, s.effects.cells_improved);
    }
    let mut note =
        "the chosen segments do not interact: their joint NPV_net equals the sum of their single values".to_string();
    let set_of =
        |chosen: &[bool]| -> Vec<usize> { (0..scored.len()).filter(|i| chosen[*i]).collect() };
    // Whether a re-selection was turned down (its set worth less together
    // than the one it would replace), and the two sets' joint NPV_net.
    let mut declined: Option<(Vec<usize>, f64, f64)> = None;
    loop {
        let set = set_of(&chosen);
        if set.len() < 2 || iterations >= 5 {
            break;
        }
        // The set's joint effects and each segment's marginal effects in
        // it (the latter used only when the upgrades interact), counted
        // on the bar segment by segment.
        bar.reset();
        bar.set_length(set.len() as u64);
        bar.set_message(format!("re-check {}", iterations + 1));
        let (eff, loo) = leave_one_out_with(a, &set, jobs, &mut memo);
        let joint_net = net_of(&set, &eff);
        last = Some((set.clone(), eff));
        let singles: f64 = set.iter().map(|&i| scored[i].npv_net_usd).sum();
        if (joint_net - singles).abs() <= 1e-6 * singles.abs().max(1.0) {
            break;
        }
        // Leave-one-out marginal values for the chosen set.
        let mut changed = false;
        for (k, &i) in set.iter().enumerate() {
            let marginal = net_of(&[i], &loo[k]);
            if (marginal - values[i]).abs() > 1e-9 * values[i].abs().max(1.0) {
                values[i] = marginal;
                changed = true;
            }
        }
        iterations += 1;
        let diff = joint_net - singles;
        note = format!(
            "upgrades interact: together the chosen segments are worth US${} net, US${} {} than the sum of their single values; each was re-valued at its marginal worth and the choice re-solved {}",
            crate::fmt::fmt_int(joint_net),
            crate::fmt::fmt_int(diff.abs()),
            if diff < 0.0 { "less" } else { "more" },
            if iterations == 1 { "once".to_string() } else { format!("{iterations} times") }
        );
        if !changed {
            break;
        }
        let next = select_within_budget(&values, &costs, budget, PORTFOLIO_SECONDS)?;
        if next.chosen == chosen {
            gap_usd = next.gap_usd;
            break;
        }
        // A re-selection is taken only when its set, upgraded together, is
        // worth more than the set it replaces: each step raises the joint
        // NPV_net, so the loop cannot cycle and never ends on a worse set
        // than one it has seen. (One joint solve, not a leave-one-out.)
        let next_set = set_of(&next.chosen);
        let next_net = if next_set.is_empty() {
            0.0
        } else {
            net_of(&next_set, &joint(&next_set))
        };
        if next_net <= joint_net {
            declined = Some((next_set, next_net, joint_net));
            break;
        }
        gap_usd = next.gap_usd;
        chosen = next.chosen;
    }
    if let Some((other, other_net, kept_net)) = &declined {
        let set = set_of(&chosen);
        let ids = |a: &[usize], b: &[usize]| -> String {
            let v: Vec<&str> = a
                .iter()
                .filter(|i| !b.contains(i))
                .map(|&i| scored[i].id.as_str())
                .collect();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        note = format!(
            "{note}; the next re-selection (out: {}; in: {}) would be worth US${} net together, not more than the US${} of this set, so this set stands",
            ids(&set, other),
            ids(other, &set),
            crate::fmt::fmt_int(*other_net),
            crate::fmt::fmt_int(*kept_net)
        );
    }
    let set: Vec<usize> = (0..scored.len()).filter(|i| chosen[*i]).collect();
    let eff = match last {
        _ if set.is_empty() => Effects::default(),
        Some((s, eff)) if s == set => eff,
        _ => joint(&set),
    };
    let annual = annual_of(&set, &eff);
    let tco2_by_year = if set.is_empty() {
        Vec::new()
    } else {
        let faster = memo
            .faster_than_today(a, &set)
            .unwrap_or_else(|| upgrade_together(a, &set, jobs));
        a.tco2_by_year(&faster)
    };
    let portfolio = Portfolio {
        budget_usd: budget,
        npv_net_first_solve_usd: first_solve,
        segments: set.iter().map(|&i| scored[i].id.clone()).collect(),
        cost_usd: set.iter().map(|&i| scored[i].cost_usd).sum(),
        npv_net_sum_of_singles_usd: set.iter().map(|&i| scored[i].npv_net_usd).sum(),
        npv_net_joint_usd: if set.is_empty() {
            0.0
        } else {
            net_of(&set, &eff)
        },
        annual_benefit_sum_of_singles_usd: set.iter().map(|&i| scored[i].annual_benefit_usd).sum(),
        annual_benefit_joint_usd: annual,
        extra_maintenance_usd_per_year: set
            .iter()
            .map(|&i| scored[i].extra_maintenance_usd_per_year)
            .sum(),
        forest_loss_joint_ha: eff.forest_loss_ha,
        tco2_joint: eff.tco2,
        tco2_sum_of_singles: set.iter().map(|&i| scored[i].effects.tco2).sum(),
        tco2_by_year_after_opening: tco2_by_year,
        traffic_growth: a.p.traffic_growth,
        iterations,
        selection_gap_usd: gap_usd,
        note: if gap_usd > 0.0 {
            format!(
                "{note}; the choice is within US${} of the best (the solver stopped at its time limit of {PORTFOLIO_SECONDS} s)",
                crate::fmt::fmt_int(gap_usd)
            )
        } else {
            note
        },
    };
    for &i in &set {
        scored[i].in_portfolio = true;
    }
    Ok(portfolio)
}

/// The first year's road-user benefit of a set of upgrades with joint
/// `eff`ects: segments with counted traffic keep their own benefit (their
/// counted vehicles drive them whatever else is built); the hours the
/// modelled users save together are valued at the chosen segments' rates,
/// weighted by the hours each saves alone (one segment: its own rate, so a
/// set of one gives the segment's own figure).
pub(super) fn annual_benefit(scored: &[ScoredSegment], set: &[usize], eff: &Effects) -> f64 {
    let mut counted = 0.0;
    let (mut people_hours, mut tonne_hours) = (eff.people_hours_saved, eff.marketed_t_hours_saved);
    let (mut wp, mut ph) = (0.0, 0.0);
    let (mut wt, mut th) = (0.0, 0.0);
    let (mut rp, mut rt, mut n) = (0.0, 0.0, 0.0);
    for &i in set {
        let s = &scored[i];
        if s.aadt_source == red::TrafficSource::Counted {
            // Its whole figure (producer surplus included), and its own
            // hours taken out of what the modelled segments share.
            counted += s.annual_benefit_usd;
            people_hours -= s.effects.people_hours_saved;
            tonne_hours -= s.effects.marketed_t_hours_saved;
            continue;
        }
        wp += s.benefit_per_person_hour_usd * s.effects.people_hours_saved;
        ph += s.effects.people_hours_saved;
        wt += s.benefit_per_tonne_hour_usd * s.effects.marketed_t_hours_saved;
        th += s.effects.marketed_t_hours_saved;
        rp += s.benefit_per_person_hour_usd;
        rt += s.benefit_per_tonne_hour_usd;
        n += 1.0;
    }
    let rate = |w: f64, h: f64, plain: f64| {
        if h > 0.0 {
            w / h
        } else if n > 0.0 {
            plain / n
        } else {
            0.0
        }
    };
    let per_person = rate(wp, ph, rp);
    let per_tonne = rate(wt, th, rt);
    counted + per_person * people_hours.max(0.0) + per_tonne * tonne_hours.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn portfolio_equals_brute_force_and_stays_within_budget() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for case in 0..40 {
            let n = if case < 4 { 20 } else { rng.gen_range(1..14) };
            let values: Vec<f64> = (0..n).map(|_| rng.gen_range(-2e6..9e6)).collect();
            let costs: Vec<f64> = (0..n).map(|_| rng.gen_range(1e5..5e6)).collect();
            let budget = rng.gen_range(1e6..2e7);
            let got = select_within_budget(&values, &costs, budget, PORTFOLIO_SECONDS)
                .unwrap()
                .chosen;
            let spent: f64 = (0..n).filter(|i| got[*i]).map(|i| costs[i]).sum();
            assert!(spent <= budget + 1e-6);
            let value: f64 = (0..n).filter(|i| got[*i]).map(|i| values[i]).sum();
            let mut best = 0.0f64;
            for mask in 0u32..(1 << n) {
                let (mut c, mut v) = (0.0, 0.0);
                for i in 0..n {
                    if mask & (1 << i) != 0 {
                        c += costs[i];
                        v += values[i];
                    }
                }
                if c <= budget && v > best {
                    best = v;
                }
            }
            assert!(
                (value - best).abs() <= 1e-6 * best.max(1.0),
                "case {case}: {value} vs {best}"
            );
        }
    }
}
