//! The 0/1 selection with a budget and an area to cover: maximise v·x with
//! c·x <= B and a·x >= T. Proven within a tolerance in a bounded time on
//! any input, whichever constraint binds:
//!
//! 1. The linear relaxation (HiGHS) gives the multipliers λ of the budget
//!    and μ of the area, every item's reduced value r = v - λc + μa, and
//!    the bound U = λB - μT + Σ max(0, r), which no selection exceeds
//!    (weak duality: it holds for any λ, μ >= 0).
//! 2. A selection: the items with r > 0, repaired to fit the budget and
//!    cover the area, then improved by exchanges (one item out or none, the
//!    most valuable that then fits in) among the items nearest r = 0. With
//!    thousands of parcels sharing one value per dollar, an exchange fills
//!    the budget to the dollar, which is what the bound asks.
//! 3. If the gap U - z is still above the tolerance: an item with r > U - z
//!    is in every better selection and one with r < -(U - z) in none
//!    (forcing it the other way costs more than the gap), and a MIP over
//!    the rest, the core, started from the selection, closes the gap or
//!    stops at the time limit with its proven bound.
//!
//! Every return carries its proven bound: a selection stopped by the time
//! limit says how far from the optimum it may be.

use std::time::Instant;

use good_lp::{
    constraint, default_solver, variable, DualValues, Expression, ProblemVariables,
    ResolutionError, SolutionWithDual, SolverModel,
};

use crate::error::{Error, Result};

/// How a selection's bound was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// Exchanges reached the linear relaxation's bound: no MIP was needed.
    Relaxation,
    /// A MIP over the core of items reduced costs could not fix closed the
    /// gap.
    Core,
    /// The time limit stopped the core MIP: the gap is the one proven.
    TimeLimit,
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Relaxation => "linear relaxation bound",
            Proof::Core => "branch and bound over the undecided core",
            Proof::TimeLimit => "time limit (gap as proven)",
        }
    }
}

/// A selection and what is proven of it.
#[derive(Clone, Debug)]
pub struct Selection {
    pub chosen: Vec<bool>,
    /// v·x of the chosen items.
    pub value: f64,
    /// No selection is worth more than this.
    pub bound: f64,
    /// Items left to the core MIP (0 when the relaxation's bound sufficed).
    pub core: usize,
    pub proof: Proof,
}

impl Selection {
    /// How far below the optimum the selection may be, at most.
    pub fn gap(&self) -> f64 {
        (self.bound - self.value).max(0.0)
    }
}

/// The tolerance and time bound of a selection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A gap up to max(abs_gap, rel_gap x bound) counts as proven.
    pub abs_gap: f64,
    pub rel_gap: f64,
    /// Wall seconds for the whole selection, the relaxation included.
    pub seconds: f64,
}

impl Limits {
    pub fn tolerance(&self, bound: f64) -> f64 {
        (self.rel_gap * bound.abs()).max(self.abs_gap)
    }
}

/// What every step works on: the items' values, costs and areas, the
/// budget and the area target (0: none).
#[derive(Clone, Copy)]
struct Items<'a> {
    values: &'a [f64],
    costs: &'a [f64],
    areas: &'a [f64],
    budget: f64,
    target: f64,
}

/// An exchange: up to two items out, up to two in, and what it gains.
type Move = (f64, [Option<usize>; 2], [Option<usize>; 2]);

/// What the core MIP ends with: its selection if it found one, its proven
/// bound on the core's value, and whether the time limit stopped it.
type CoreOutcome = (Option<Vec<bool>>, f64, bool);

/// Items considered for exchanges: those nearest r = 0.
const POOL: usize = 4096;
/// Exchanges at most before the core MIP takes over.
const MOVES: usize = 512;
/// Items considered for the exchanges that cover the area (each round
/// tries every pair).
const SWAP_POOL: usize = 400;

/// The selection (see the module). `what` names the model in errors. None:
/// no selection fits the budget and covers the area (proven).
pub fn select(
    values: &[f64],
    costs: &[f64],
    areas: &[f64],
    budget: f64,
    target: f64,
    lim: &Limits,
    what: &str,
) -> Result<Option<Selection>> {
    let n = values.len();
    check(values, costs, areas, budget, target, what)?;
    let started = Instant::now();
    // An area target equal to the candidates' total (a landscape smaller
    // than its target) sums a hair differently in another order: 1e-12 of
    // it is rounding, not a shortfall.
    let target = target.max(0.0) * (1.0 - 1e-12);
    let items = Items {
        values,
        costs,
        areas,
        budget,
        target,
    };
    let sum = |x: &[bool], w: &[f64]| -> f64 { (0..n).filter(|&i| x[i]).map(|i| w[i]).sum() };
    if n == 0 {
        return Ok((target <= 0.0).then(|| Selection {
            chosen: vec![],
            value: 0.0,
            bound: 0.0,
            core: 0,
            proof: Proof::Relaxation,
        }));
    }
    let Some((lambda, mu)) = relax(items, lim.seconds, what)? else {
        return Ok(None);
    };
    let r: Vec<f64> = (0..n)
        .map(|i| values[i] - lambda * costs[i] + mu * areas[i])
        .collect();
    let relaxed = lambda * budget - mu * target + r.iter().map(|x| x.max(0.0)).sum::<f64>();
    // Without the budget and the area the bound is every positive value.
    let everything: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let bound_lp = relaxed.min(everything);

    // The relaxation's whole items: reduced value above rounding. The
    // ties (r = 0 up to rounding: every parcel of the transition the
    // relaxation takes a fraction of) are left for the repair to add.
    let mut x: Vec<bool> = (0..n).map(|i| r[i] > tie(values, &r, i)).collect();
    let incumbent = repair(&mut x, items, &r).then(|| improve(&mut x, items, &r, bound_lp, lim));
    if incumbent.is_some() {
        let z = sum(&x, values);
        if bound_lp - z <= lim.tolerance(bound_lp) {
            return Ok(Some(Selection {
                chosen: x,
                value: z,
                bound: bound_lp.max(z),
                core: 0,
                proof: Proof::Relaxation,
            }));
        }
    }
    // The core: what reduced costs cannot fix against the selection (all
    // items when there is none).
    let gap = if incumbent.is_some() {
        bound_lp - sum(&x, values)
    } else {
        f64::INFINITY
    };
    let fixed_in: Vec<bool> = r.iter().map(|&ri| ri > gap).collect();
    let core: Vec<usize> = (0..n).filter(|&i| r[i].abs() <= gap).collect();
    // The budget alone over a small core: a depth-first branch and bound
    // with Dantzig's bound proves it in milliseconds where HiGHS took
    // seconds (98 parcels, 2 s, on a synth landscape).
    if target <= 0.0 && incumbent.is_some() && core.len() <= BB_CORE {
        let fixed_cost: f64 = (0..n).filter(|&i| fixed_in[i]).map(|i| costs[i]).sum();
        let z_core: f64 = core.iter().filter(|&&i| x[i]).map(|&i| values[i]).sum();
        // The tolerance of the selection's own value (at most that of any
        // better one, so value + tol is proven within tolerance).
        let tol = lim.tolerance(sum(&x, values));
        if let Some(picked) =
            branch_and_bound(&core, values, costs, budget - fixed_cost, z_core, tol)
        {
            // The selection holds every item fixed in and none fixed out.
            let mut chosen = x.clone();
            if let Some(p) = picked {
                for (&i, &b) in core.iter().zip(&p) {
                    chosen[i] = b;
                }
            }
            if sum(&chosen, costs) <= budget {
                let value = sum(&chosen, values);
                // Every pruned branch was within `tol` of the best found.
                let bound = bound_lp.min(value + tol);
                return Ok(Some(Selection {
                    chosen,
                    value,
                    bound: bound.max(value),
                    core: core.len(),
                    proof: Proof::Core,
                }));
            }
        }
    }
    let left = lim.seconds - started.elapsed().as_secs_f64();
    let start = incumbent.map(|_| x.clone());
    let solved = core_mip(
        items,
        &fixed_in,
        &core,
        start.as_deref(),
        lim,
        bound_lp,
        left.max(0.05),
        what,
    )?;
    let Some((mip_x, mip_bound, stopped)) = solved else {
        // Proven infeasible by the MIP (no selection was found above).
        return Ok(None);
    };
    let mut best = start;
    if let Some(mut m) = mip_x {
        // HiGHS may end a hair past the budget or short of the area (its
        // feasibility tolerance): repaired exactly, then kept if better.
        if repair(&mut m, items, &r) {
            improve(&mut m, items, &r, bound_lp, lim);
            let better = best
                .as_ref()
                .is_none_or(|b| sum(&m, values) > sum(b, values));
            if better {
                best = Some(m);
            }
        }
    }
    let Some(chosen) = best else {
        return Err(Error::Usage(format!(
            "{what}: no selection that fits the budget and covers the area target was found within {:.0} s (the time limit); raise it or lower the area target",
            lim.seconds
        )));
    };
    let value = sum(&chosen, values);
    let fixed_value: f64 = (0..n).filter(|&i| fixed_in[i]).map(|i| values[i]).sum();
    let bound = bound_lp.min(fixed_value + mip_bound).max(value);
    let proof = if !stopped || bound - value <= lim.tolerance(bound) {
        Proof::Core
    } else {
        Proof::TimeLimit
    };
    Ok(Some(Selection {
        chosen,
        value,
        bound,
        core: core.len(),
        proof,
    }))
}

/// The inputs a solver can take: finite values, costs and areas at least
/// 0, a finite budget at least 0 and a finite target.
pub(super) fn check(
    values: &[f64],
    costs: &[f64],
    areas: &[f64],
    budget: f64,
    target: f64,
    what: &str,
) -> Result<()> {
    let n = values.len();
    if costs.len() != n || areas.len() != n {
        return Err(Error::Usage(format!(
            "{what}: {n} values, {} costs and {} areas",
            costs.len(),
            areas.len()
        )));
    }
    let bad = (0..n).find(|&i| {
        !(values[i].is_finite() && costs[i].is_finite() && areas[i].is_finite())
            || costs[i] < 0.0
            || areas[i] < 0.0
    });
    if let Some(i) = bad {
        return Err(Error::Uncomputable {
            stage: what.into(),
            layer: "candidates".into(),
            feature: format!("#{i}"),
            field: "value, cost or area".into(),
            message: format!(
                "value {}, cost {} and area {} must be finite, the cost and area at least 0",
                values[i], costs[i], areas[i]
            ),
        });
    }
    if !budget.is_finite() || budget < 0.0 || !target.is_finite() {
        return Err(Error::Usage(format!(
            "{what}: the budget {budget} must be a finite number at least 0 and the area target {target} finite"
        )));
    }
    Ok(())
}

/// A scale that brings the largest of `xs` near 1 (1 when all are 0).
fn scale(xs: impl Iterator<Item = f64>) -> f64 {
    let m = xs.fold(0.0_f64, |m, x| m.max(x.abs()));
    if m > 0.0 && m.is_finite() {
        m
    } else {
        1.0
    }
}

/// The linear relaxation's multipliers (λ of the budget, μ of the area),
/// or None when even fractions of the items cannot cover the area within
/// the budget.
fn relax(it: Items, seconds: f64, what: &str) -> Result<Option<(f64, f64)>> {
    let Items {
        values,
        costs,
        areas,
        budget,
        target,
    } = it;
    let n = values.len();
    // Fractions of the items cover the area within the budget only if the
    // cheapest cover (most hectares per dollar first) fits it.
    let per_dollar = |i: usize| {
        if costs[i] > 0.0 {
            areas[i] / costs[i]
        } else {
            f64::INFINITY
        }
    };
    if target > 0.0 {
        let mut order: Vec<usize> = (0..n).filter(|&i| areas[i] > 0.0).collect();
        order.sort_by(|&a, &b| per_dollar(b).total_cmp(&per_dollar(a)).then(a.cmp(&b)));
        let (mut covered, mut cost) = (0.0, 0.0);
        for &i in &order {
            if covered >= target {
                break;
            }
            let f = ((target - covered) / areas[i]).min(1.0);
            covered += f * areas[i];
            cost += f * costs[i];
        }
        if covered < target * (1.0 - 1e-12) || cost > budget * (1.0 + 1e-12) {
            return Ok(None);
        }
    }
    // The budget alone: the relaxation takes items by value per dollar up to
    // the one that does not fit, whose ratio is λ (Dantzig). If that
    // covers the area too, μ = 0 and no solver is needed.
    let ratio = |i: usize| {
        if costs[i] > 0.0 {
            values[i] / costs[i]
        } else {
            f64::INFINITY
        }
    };
    let mut order: Vec<usize> = (0..n).filter(|&i| values[i] > 0.0).collect();
    order.sort_by(|&a, &b| ratio(b).total_cmp(&ratio(a)).then(a.cmp(&b)));
    let (mut left, mut covered, mut lambda) = (budget, 0.0, 0.0);
    for &i in &order {
        if costs[i] <= left {
            left -= costs[i];
            covered += areas[i];
        } else {
            covered += areas[i] * left / costs[i];
            lambda = ratio(i);
            break;
        }
    }
    if target <= 0.0 || covered >= target {
        return Ok(Some((lambda, 0.0)));
    }
    // Both rows bind: HiGHS's dual values.
    // Each row scaled to its largest coefficient keeps HiGHS's tolerances
    // meaningful for a budget of US$1,000 or US$1,000 M alike.
    let sv = scale(values.iter().copied());
    let sc = scale(costs.iter().copied().chain([budget]));
    let sa = scale(areas.iter().copied().chain([target]));
    let mut vars = ProblemVariables::new();
    let x: Vec<_> = (0..n)
        .map(|_| vars.add(variable().min(0.0).max(1.0)))
        .collect();
    let obj: Expression = (0..n).map(|i| values[i] / sv * x[i]).sum();
    let spend: Expression = (0..n).map(|i| costs[i] / sc * x[i]).sum();
    let mut model = vars
        .maximise(obj)
        .using(default_solver)
        .set_threads(1)
        .set_time_limit(seconds.max(0.05));
    let budget_row = model.add_constraint(constraint!(spend <= budget / sc));
    let area_row = (target > 0.0).then(|| {
        let area: Expression = (0..n).map(|i| areas[i] / sa * x[i]).sum();
        model.add_constraint(constraint!(area >= target / sa))
    });
    let mut sol = match model.solve() {
        Ok(s) => s,
        Err(ResolutionError::Infeasible) => return Ok(None),
        Err(e) => {
            return Err(Error::Usage(format!(
                "{what}: the linear relaxation failed: {e}"
            )))
        }
    };
    let duals = sol.compute_dual();
    // Any λ, μ >= 0 give a valid bound; HiGHS's signs follow its own
    // convention for a maximisation, so their size is what is taken.
    let lambda = duals.dual(budget_row).abs() * sv / sc;
    let mu = area_row.map_or(0.0, |row| duals.dual(row).abs() * sv / sa);
    Ok(Some((
        if lambda.is_finite() { lambda } else { 0.0 },
        if mu.is_finite() { mu } else { 0.0 },
    )))
}

/// The rounding below which item i's reduced value counts as 0.
/// (v - r = λc - μa: the size of the terms r is the difference of.)
fn tie(values: &[f64], r: &[f64], i: usize) -> f64 {
    1e-9 * (values[i].abs() + (values[i] - r[i]).abs())
}

/// The `k` of `items` nearest r = 0 (all when fewer), in index order.
fn nearest_break(mut items: Vec<usize>, r: &[f64], k: usize) -> Vec<usize> {
    if items.len() > k {
        items.select_nth_unstable_by(k, |&a, &b| {
            r[a].abs().total_cmp(&r[b].abs()).then(a.cmp(&b))
        });
        items.truncate(k);
    }
    items.sort_unstable();
    items
}

/// Make `x` fit the budget exactly and cover the area: drop the items that
/// lose least reduced value per dollar until it fits, add those that cost
/// least reduced value per hectare (then exchanges) until the area is
/// covered, and fill what budget is left by value per dollar. False when
/// the area cannot be covered this way.
fn repair(x: &mut [bool], it: Items, r: &[f64]) -> bool {
    let Items {
        values,
        costs,
        areas,
        budget,
        target,
    } = it;
    let n = x.len();
    let spent = |x: &[bool]| -> f64 { (0..n).filter(|&i| x[i]).map(|i| costs[i]).sum() };
    let area = |x: &[bool]| -> f64 { (0..n).filter(|&i| x[i]).map(|i| areas[i]).sum() };
    // Items with no value and no area are never worth holding.
    for i in 0..n {
        if x[i] && values[i] <= 0.0 && areas[i] <= 0.0 {
            x[i] = false;
        }
    }
    if spent(x) > budget {
        let mut inside: Vec<usize> = (0..n).filter(|&i| x[i] && costs[i] > 0.0).collect();
        inside.sort_by(|&a, &b| {
            (r[a] / costs[a])
                .total_cmp(&(r[b] / costs[b]))
                .then(a.cmp(&b))
        });
        let mut over = spent(x) - budget;
        for i in inside {
            if over <= 0.0 {
                break;
            }
            x[i] = false;
            over -= costs[i];
        }
        // The running difference may be off by rounding: the exact sum decides.
        while spent(x) > budget {
            match (0..n).filter(|&i| x[i] && costs[i] > 0.0).min_by(|&a, &b| {
                (r[a] / costs[a])
                    .total_cmp(&(r[b] / costs[b]))
                    .then(a.cmp(&b))
            }) {
                Some(i) => x[i] = false,
                None => return false,
            }
        }
    }
    if target > 0.0 && area(x) < target {
        // Least reduced value lost per hectare first (a tie loses none), and
        // among equal losses the most hectares per dollar.
        let mut outside: Vec<usize> = (0..n).filter(|&i| !x[i] && areas[i] > 0.0).collect();
        let scale_r = r.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let loss = |i: usize| {
            let l = (-r[i]).max(0.0);
            if l <= 1e-9 * scale_r {
                0.0
            } else {
                l / areas[i]
            }
        };
        let per_dollar = |i: usize| areas[i] / costs[i].max(f64::MIN_POSITIVE);
        outside.sort_by(|&a, &b| {
            loss(a)
                .total_cmp(&loss(b))
                .then(per_dollar(b).total_cmp(&per_dollar(a)))
                .then(a.cmp(&b))
        });
        let mut left = budget - spent(x);
        let mut covered = area(x);
        for &j in &outside {
            if covered >= target {
                break;
            }
            if costs[j] <= left {
                x[j] = true;
                left -= costs[j];
                covered += areas[j];
            }
        }
        // What additions cannot cover, exchanges do: one item out, one in
        // that fits in its place with more area, the least reduced value
        // lost per hectare gained, among the items nearest r = 0.
        let pool = nearest_break((0..n).collect(), r, SWAP_POOL);
        for _ in 0..MOVES {
            let covered = area(x);
            if covered >= target {
                break;
            }
            let left = budget - spent(x);
            let mut best: Option<(f64, usize, usize)> = None;
            for &i in pool.iter().filter(|&&i| x[i]) {
                for &j in pool.iter().filter(|&&j| !x[j]) {
                    let gain = areas[j] - areas[i];
                    if gain <= 0.0 || costs[j] > left + costs[i] {
                        continue;
                    }
                    let lost = (r[i] - r[j]).max(0.0) / gain.min(target - covered);
                    if best.is_none_or(|b| lost < b.0) {
                        best = Some((lost, i, j));
                    }
                }
            }
            let Some((_, i, j)) = best else { break };
            x[i] = false;
            x[j] = true;
        }
        if spent(x) > budget || area(x) < target {
            return false;
        }
    }
    // What budget is left buys the most valuable per dollar that still fit
    // (the ties the relaxation takes a fraction of among them).
    let mut left = budget - spent(x);
    let ratio = |i: usize| {
        if costs[i] > 0.0 {
            values[i] / costs[i]
        } else {
            f64::INFINITY
        }
    };
    let mut outside: Vec<usize> = (0..n).filter(|&i| !x[i] && values[i] > 0.0).collect();
    outside.sort_by(|&a, &b| ratio(b).total_cmp(&ratio(a)).then(a.cmp(&b)));
    for j in outside {
        if costs[j] <= left {
            x[j] = true;
            left -= costs[j];
        }
    }
    while spent(x) > budget {
        // Rounding of the running sum: the last added goes.
        match (0..n)
            .filter(|&i| x[i] && costs[i] > 0.0)
            .min_by(|&a, &b| ratio(a).total_cmp(&ratio(b)).then(a.cmp(&b)))
        {
            Some(i) => x[i] = false,
            None => return false,
        }
    }
    area(x) >= target
}

/// Exchanges that raise v·x while it fits the budget and covers the area,
/// among the items on the wrong side of the relaxation and the others
/// nearest r = 0 (the pool): each round the best of one out (or none) and
/// one in, one below the break out and two in, two out and one at or above
/// the break in, and when those stall two out and two in
/// (`pair_exchange`), until the bound is reached or no move gains.
fn improve(x: &mut [bool], it: Items, r: &[f64], bound: f64, lim: &Limits) {
    let Items {
        values,
        costs,
        areas,
        budget,
        target,
    } = it;
    let n = x.len();
    // The pool: every item on the wrong side of the relaxation (chosen
    // with r < 0, or left out with r > 0: each costs the gap its |r|),
    // then the items nearest r = 0.
    let wrong = |i: usize| (x[i] && r[i] < 0.0) || (!x[i] && r[i] > 0.0);
    let mut pool: Vec<usize> = (0..n).filter(|&i| wrong(i)).collect();
    if pool.len() > POOL {
        pool.select_nth_unstable_by(POOL, |&a, &b| {
            r[b].abs().total_cmp(&r[a].abs()).then(a.cmp(&b))
        });
        pool.truncate(POOL);
    }
    let rest = nearest_break(
        (0..n).filter(|&i| !wrong(i)).collect(),
        r,
        2 * POOL - pool.len(),
    );
    pool.extend(rest);
    pool.sort_unstable();
    let mut z: f64 = (0..n).filter(|&i| x[i]).map(|i| values[i]).sum();
    let mut spent: f64 = (0..n).filter(|&i| x[i]).map(|i| costs[i]).sum();
    let mut covered: f64 = (0..n).filter(|&i| x[i]).map(|i| areas[i]).sum();
    let aim = 0.25 * lim.tolerance(bound);
    for _ in 0..MOVES {
        if bound - z <= aim {
            break;
        }
        let left = budget - spent;
        let surplus = covered - target;
        // Outside items by cost, with the most valuable of every prefix.
        let mut outside: Vec<usize> = pool.iter().copied().filter(|&j| !x[j]).collect();
        if outside.is_empty() {
            break;
        }
        outside.sort_by(|&a, &b| costs[a].total_cmp(&costs[b]).then(a.cmp(&b)));
        let oc: Vec<f64> = outside.iter().map(|&j| costs[j]).collect();
        let mut best_upto: Vec<usize> = Vec::with_capacity(outside.len());
        for (k, &j) in outside.iter().enumerate() {
            let keep = k > 0 && values[best_upto[k - 1]] >= values[j];
            best_upto.push(if keep { best_upto[k - 1] } else { j });
        }
        // A move: up to two items out, up to two in, and its gain.
        let mut best: Option<Move> = None;
        let mut consider = |gain: f64, outs: [Option<usize>; 2], ins: [Option<usize>; 2]| {
            if gain > 0.0 && best.as_ref().is_none_or(|b| gain > b.0) {
                best = Some((gain, outs, ins));
            }
        };
        let covers = |d_area: f64| target <= 0.0 || d_area >= -surplus;
        let inside: Vec<usize> = pool.iter().copied().filter(|&i| x[i]).collect();
        // One out (or none), the most valuable that then fits in.
        for out in std::iter::once(None).chain(inside.iter().map(|&i| Some(i))) {
            let (c_out, v_out, a_out) =
                out.map_or((0.0, 0.0, 0.0), |i| (costs[i], values[i], areas[i]));
            let end = oc.partition_point(|c| *c <= c_out + left);
            if end == 0 {
                continue;
            }
            // The most valuable that fits, if it keeps the area covered;
            // else the most valuable of the few dearest that do.
            let mut j = best_upto[end - 1];
            if !covers(areas[j] - a_out) {
                let Some(k) = (end.saturating_sub(16)..end)
                    .map(|k| outside[k])
                    .filter(|&k| covers(areas[k] - a_out))
                    .max_by(|&a, &b| values[a].total_cmp(&values[b]).then(b.cmp(&a)))
                else {
                    continue;
                };
                j = k;
            }
            consider(values[j] - v_out, [out, None], [Some(j), None]);
        }
        // An item chosen below the relaxation's break (r < 0), or none, out
        // and the best pair that fits in its place (a budget no single item
        // fills).
        let below = inside.iter().copied().filter(|&i| r[i] < 0.0);
        for out in std::iter::once(None).chain(below.map(Some)) {
            let (c_out, v_out, a_out) =
                out.map_or((0.0, 0.0, 0.0), |i| (costs[i], values[i], areas[i]));
            let room = c_out + left;
            for (p, &j) in outside.iter().enumerate() {
                let rest = room - costs[j];
                if rest < 0.0 {
                    break;
                }
                let end = oc[..p].partition_point(|c| *c <= rest);
                if end == 0 {
                    continue;
                }
                let k = best_upto[end - 1];
                if covers(areas[j] + areas[k] - a_out) {
                    consider(
                        values[j] + values[k] - v_out,
                        [out, None],
                        [Some(j), Some(k)],
                    );
                }
            }
        }
        // An item left out at or above the break (r >= 0) in, and the pair
        // of chosen items of least value whose cost makes room for it (with
        // one of them below the break, this trades it for a tie that fills
        // the budget better).
        let above: Vec<usize> = outside
            .iter()
            .copied()
            .filter(|&j| r[j] >= -tie(values, r, j))
            .collect();
        if !above.is_empty() {
            let mut ins_by_cost = inside.clone();
            ins_by_cost.sort_by(|&a, &b| costs[a].total_cmp(&costs[b]).then(a.cmp(&b)));
            let ic: Vec<f64> = ins_by_cost.iter().map(|&i| costs[i]).collect();
            // The least valuable of every suffix.
            let mut least_from = vec![usize::MAX; ins_by_cost.len() + 1];
            for p in (0..ins_by_cost.len()).rev() {
                let i = ins_by_cost[p];
                let nx = least_from[p + 1];
                least_from[p] = if nx != usize::MAX && values[nx] <= values[i] {
                    nx
                } else {
                    i
                };
            }
            for &j in &above {
                let need = costs[j] - left;
                for (p, &o1) in ins_by_cost.iter().enumerate() {
                    let q = ic.partition_point(|c| *c < need - costs[o1]).max(p + 1);
                    let o2 = least_from[q];
                    if o2 == usize::MAX {
                        continue;
                    }
                    if covers(areas[j] - areas[o1] - areas[o2]) {
                        consider(
                            values[j] - values[o1] - values[o2],
                            [Some(o1), Some(o2)],
                            [Some(j), None],
                        );
                    }
                }
            }
        }
        // Stalled: two out and two in, among the items nearest the break
        // on each side (the last dollars of a budget that single and
        // paired moves cannot fill: thousands of pair sums on each side
        // leave a combination within cents of any amount).
        if best.is_none() {
            best = pair_exchange(x, &pool, it, r, left, surplus);
        }
        let Some((gain, outs, ins)) = best else { break };
        for i in outs.into_iter().flatten() {
            x[i] = false;
            spent -= costs[i];
            covered -= areas[i];
        }
        for j in ins.into_iter().flatten() {
            x[j] = true;
            spent += costs[j];
            covered += areas[j];
        }
        z += gain;
    }
    // The running sums may drift by rounding: the exact sums decide, and a
    // hair past the budget is repaired.
    let _ = repair(x, it, r);
}

/// The largest core the branch and bound takes, and its node limit.
const BB_CORE: usize = 400;
const BB_NODES: u64 = 2_000_000;

/// Depth-first branch and bound of the 0/1 knapsack over `core` with
/// `cap`: items by value per dollar, Dantzig's fractional bound, a branch
/// pruned when it cannot beat the best by more than `tol`. Starts from the
/// value `start` (the selection's). Some(None): nothing beats `start` by
/// more than `tol`; Some(Some(x)): the better choice found, within `tol`
/// of the optimum; None: the node limit was reached (no proof).
fn branch_and_bound(
    core: &[usize],
    values: &[f64],
    costs: &[f64],
    cap: f64,
    start: f64,
    tol: f64,
) -> Option<Option<Vec<bool>>> {
    let ratio = |i: usize| {
        if costs[i] > 0.0 {
            values[i] / costs[i]
        } else {
            f64::INFINITY
        }
    };
    let mut order: Vec<usize> = (0..core.len()).collect();
    order.sort_by(|&a, &b| ratio(core[b]).total_cmp(&ratio(core[a])).then(a.cmp(&b)));
    let v: Vec<f64> = order.iter().map(|&k| values[core[k]]).collect();
    let c: Vec<f64> = order.iter().map(|&k| costs[core[k]]).collect();
    let m = v.len();
    struct Search<'a> {
        v: &'a [f64],
        c: &'a [f64],
        tol: f64,
        best: f64,
        best_x: Option<Vec<bool>>,
        x: Vec<bool>,
        nodes: u64,
    }
    impl Search<'_> {
        fn bound(&self, k: usize, mut room: f64) -> f64 {
            let mut ub = 0.0;
            for j in k..self.v.len() {
                if self.v[j] <= 0.0 {
                    continue;
                }
                if self.c[j] <= room {
                    room -= self.c[j];
                    ub += self.v[j];
                } else {
                    ub += self.v[j] * room / self.c[j];
                    break;
                }
            }
            ub
        }
        fn go(&mut self, k: usize, room: f64, val: f64) -> bool {
            self.nodes += 1;
            if self.nodes > BB_NODES {
                return false;
            }
            if val > self.best + 1e-9 * self.best.abs() {
                self.best = val;
                self.best_x = Some(self.x.clone());
            }
            if k == self.v.len() || val + self.bound(k, room) <= self.best + self.tol {
                return true;
            }
            if self.v[k] > 0.0 && self.c[k] <= room {
                self.x[k] = true;
                if !self.go(k + 1, room - self.c[k], val + self.v[k]) {
                    return false;
                }
                self.x[k] = false;
            }
            self.go(k + 1, room, val)
        }
    }
    let mut s = Search {
        v: &v,
        c: &c,
        tol,
        best: start,
        best_x: None,
        x: vec![false; m],
        nodes: 0,
    };
    if !s.go(0, cap, 0.0) {
        return None;
    }
    Some(s.best_x.map(|bx| {
        let mut out = vec![false; core.len()];
        for (p, &k) in order.iter().enumerate() {
            out[k] = bx[p];
        }
        out
    }))
}

/// Items on each side of the pair exchange.
const PAIRS: usize = 160;

/// The best exchange of two chosen items for two others (see `improve`):
/// pair sums of the `PAIRS` chosen items of least r and the `PAIRS` others
/// of greatest r, the cheapest-in-value chosen pair whose cost makes room
/// for each other pair.
fn pair_exchange(
    x: &[bool],
    pool: &[usize],
    it: Items,
    r: &[f64],
    left: f64,
    surplus: f64,
) -> Option<Move> {
    let Items {
        values,
        costs,
        areas,
        target,
        ..
    } = it;
    let side = |chosen: bool| {
        let mut s: Vec<usize> = pool.iter().copied().filter(|&i| x[i] == chosen).collect();
        // Chosen: least r first; others: greatest r first.
        s.sort_by(|&a, &b| {
            let o = r[a].total_cmp(&r[b]);
            (if chosen { o } else { o.reverse() }).then(a.cmp(&b))
        });
        s.truncate(PAIRS);
        s
    };
    let (ins, outs) = (side(false), side(true));
    let pairs = |s: &[usize]| -> Vec<(f64, f64, f64, usize, usize)> {
        let mut p = Vec::with_capacity(s.len() * s.len() / 2);
        for (k, &a) in s.iter().enumerate() {
            for &b in &s[k + 1..] {
                p.push((
                    costs[a] + costs[b],
                    values[a] + values[b],
                    areas[a] + areas[b],
                    a,
                    b,
                ));
            }
        }
        p
    };
    let add = pairs(&ins);
    let mut drop = pairs(&outs);
    if add.is_empty() || drop.is_empty() {
        return None;
    }
    drop.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.3.cmp(&b.3)).then(a.4.cmp(&b.4)));
    // The least valuable chosen pair of every cost suffix.
    let mut least_from = vec![drop.len() - 1; drop.len()];
    for k in (0..drop.len() - 1).rev() {
        let nx = least_from[k + 1];
        least_from[k] = if drop[nx].1 <= drop[k].1 { nx } else { k };
    }
    let mut best: Option<Move> = None;
    for &(c, v, a, j, k) in &add {
        let q = drop.partition_point(|d| d.0 < c - left);
        if q == drop.len() {
            continue;
        }
        let d = drop[least_from[q]];
        if target > 0.0 && a - d.2 < -surplus {
            continue;
        }
        let gain = v - d.1;
        if gain > 0.0 && best.as_ref().is_none_or(|b| gain > b.0) {
            best = Some((gain, [Some(d.3), Some(d.4)], [Some(j), Some(k)]));
        }
    }
    best
}

/// The MIP over the core items (the others fixed: in when `fixed_in`, else
/// out), started from `start`. Returns the MIP's selection if it found one,
/// its proven bound on the core's value, and whether the time limit
/// stopped it; None when it proves no selection exists.
#[allow(clippy::too_many_arguments)]
fn core_mip(
    it: Items,
    fixed_in: &[bool],
    core: &[usize],
    start: Option<&[bool]>,
    lim: &Limits,
    bound: f64,
    seconds: f64,
    what: &str,
) -> Result<Option<CoreOutcome>> {
    let Items {
        values,
        costs,
        areas,
        budget,
        target,
    } = it;
    let n = values.len();
    let fixed_cost: f64 = (0..n).filter(|&i| fixed_in[i]).map(|i| costs[i]).sum();
    let fixed_area: f64 = (0..n).filter(|&i| fixed_in[i]).map(|i| areas[i]).sum();
    let sv = scale(core.iter().map(|&i| values[i]));
    let sc = scale(core.iter().map(|&i| costs[i]).chain([budget]));
    let sa = scale(core.iter().map(|&i| areas[i]).chain([target]));
    let mut vars = ProblemVariables::new();
    let y: Vec<_> = core.iter().map(|_| vars.add(variable().binary())).collect();
    let obj: Expression = core.iter().zip(&y).map(|(&i, &v)| values[i] / sv * v).sum();
    let spend: Expression = core.iter().zip(&y).map(|(&i, &v)| costs[i] / sc * v).sum();
    let mut problem = vars
        .maximise(obj)
        .using(default_solver)
        .with(constraint!(spend <= (budget - fixed_cost) / sc));
    if target > 0.0 {
        let area: Expression = core.iter().zip(&y).map(|(&i, &v)| areas[i] / sa * v).sum();
        problem = problem.with(constraint!(area >= (target - fixed_area) / sa));
    }
    let mut model = problem
        .try_into_inner()
        .map_err(|e| Error::Usage(format!("{what}: the core MIP could not be built: {e}")))?;
    let tol = lim.tolerance(bound) / sv;
    model.set_option("time_limit", seconds);
    model.set_option("threads", 1);
    model.set_option("mip_abs_gap", tol);
    model.set_option("mip_rel_gap", 0.0);
    // A selection a hair past the budget is repaired by dropping an item:
    // keep HiGHS's own overshoot far below any item's cost.
    model.set_option("mip_feasibility_tolerance", 1e-9);
    if let Some(s) = start {
        let cols: Vec<f64> = core.iter().map(|&i| if s[i] { 1.0 } else { 0.0 }).collect();
        model.set_solution(Some(&cols), None, None, None);
    }
    // HiGHS calls back as it goes: the gap so far, shown on the stage's
    // spinner (`solve::watch`), at most twice a second.
    let mut watch = MipWatch {
        scale: sv,
        items: core.len(),
        shown_at: f64::NEG_INFINITY,
    };
    // SAFETY: `watch` outlives the solve (the callback runs only inside
    // `try_solve` below, on this thread's call), and `on_mip` reads only
    // the fields HiGHS documents for these callback kinds.
    unsafe {
        let ptr = model.as_mut_ptr();
        highs_sys::Highs_setCallback(
            ptr,
            Some(on_mip),
            &mut watch as *mut MipWatch as *mut std::ffi::c_void,
        );
        highs_sys::Highs_startCallback(ptr, highs_sys::kHighsCallbackMipInterrupt);
        highs_sys::Highs_startCallback(ptr, highs_sys::kHighsCallbackMipImprovingSolution);
    }
    let solved = model
        .try_solve()
        .map_err(|e| Error::Usage(format!("{what}: the core MIP failed: {e:?}")))?;
    use highs::{HighsModelStatus as S, HighsSolutionStatus as P};
    let stopped = match solved.status() {
        S::Optimal | S::ObjectiveBound | S::ObjectiveTarget => false,
        S::ReachedTimeLimit | S::ReachedIterationLimit | S::ReachedSolutionLimit => true,
        S::Infeasible | S::UnboundedOrInfeasible => return Ok(None),
        other => {
            return Err(Error::Usage(format!(
                "{what}: the core MIP of {} items ended with HiGHS status {other:?}",
                core.len()
            )))
        }
    };
    let found = (solved.primal_solution_status() == P::Feasible).then(|| {
        let cols = solved.get_solution();
        let mut x: Vec<bool> = fixed_in.to_vec();
        for (k, &i) in core.iter().enumerate() {
            x[i] = cols.columns()[k] > 0.5;
        }
        x
    });
    // The MIP's bound on the core's value (its objective is maximised); a
    // stop before the root bound leaves the relaxation's.
    let core_bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite())
        .map_or(f64::INFINITY, |b| b * sv);
    Ok(Some((found, core_bound, stopped)))
}

/// What the core MIP's callback keeps: the objective's scale (US$ per
/// unit), the core's size, and when it last said how far it is.
struct MipWatch {
    scale: f64,
    items: usize,
    shown_at: f64,
}

/// HiGHS's MIP callback: the gap between the best selection found and the
/// bound, in US$, to `solve::report`. Never unwinds into HiGHS.
unsafe extern "C" fn on_mip(
    kind: std::ffi::c_int,
    _message: *const std::ffi::c_char,
    out: *const highs_sys::HighsCallbackDataOut,
    _input: *mut highs_sys::HighsCallbackDataIn,
    user: *mut std::ffi::c_void,
) {
    if out.is_null() || user.is_null() {
        return;
    }
    // SAFETY: HiGHS passes its output data and back the pointer given to
    // Highs_setCallback (a live MipWatch, see `core_mip`).
    let (o, w) = unsafe { (&*out, &mut *(user as *mut MipWatch)) };
    let improving = kind as highs_sys::HighsInt == highs_sys::kHighsCallbackMipImprovingSolution;
    if !improving && o.running_time < w.shown_at + 0.5 {
        return;
    }
    w.shown_at = o.running_time;
    let (found, bound) = (o.mip_primal_bound, o.mip_dual_bound);
    let line = if found.is_finite() && bound.is_finite() {
        format!(
            "core of {} items: gap US${} after {:.1} s",
            w.items,
            crate::fmt::fmt_int(((bound - found) * w.scale).abs()),
            o.running_time
        )
    } else {
        format!(
            "core of {} items: no selection yet after {:.1} s",
            w.items, o.running_time
        )
    };
    let _ = std::panic::catch_unwind(|| super::report(&line));
}

/// The optimum of a small case by trying every subset (tests only).
#[cfg(test)]
pub(crate) fn best_by_enumeration(
    v: &[f64],
    c: &[f64],
    a: &[f64],
    budget: f64,
    target: f64,
) -> Option<f64> {
    let n = v.len();
    let mut best: Option<f64> = None;
    for mask in 0u32..(1 << n) {
        let (mut cs, mut ar, mut vs) = (0.0, 0.0, 0.0);
        for i in (0..n).filter(|i| mask & (1 << i) != 0) {
            cs += c[i];
            ar += a[i];
            vs += v[i];
        }
        if cs <= budget && ar >= target && best.is_none_or(|b| vs > b) {
            best = Some(vs);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    const LIM: Limits = Limits {
        abs_gap: 1.0,
        rel_gap: 1e-7,
        seconds: 30.0,
    };

    /// Small random cases against every subset, whichever constraint
    /// binds, negative values included (worth taking only for the area).
    #[test]
    fn equals_brute_force_on_small_cases() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for case in 0..300 {
            let n = rng.gen_range(1..14);
            let v: Vec<f64> = (0..n).map(|_| rng.gen_range(-2e4..1e5)).collect();
            let c: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..5e4)).collect();
            let a: Vec<f64> = (0..n).map(|_| rng.gen_range(0.5..20.0)).collect();
            let budget = rng.gen_range(0.0..2e5);
            let target = if case % 3 == 0 {
                0.0
            } else {
                rng.gen_range(0.0..80.0)
            };
            let got = select(&v, &c, &a, budget, target, &LIM, "test").unwrap();
            match (got, best_by_enumeration(&v, &c, &a, budget, target)) {
                (None, None) => {}
                (Some(s), Some(b)) => {
                    let sum =
                        |w: &[f64]| -> f64 { (0..n).filter(|&i| s.chosen[i]).map(|i| w[i]).sum() };
                    assert!(sum(&c) <= budget && sum(&a) >= target, "case {case}");
                    assert!((sum(&v) - s.value).abs() < 1e-6, "case {case}");
                    assert!(s.value <= b + 1e-6, "case {case}: {} > {b}", s.value);
                    assert!(
                        b - s.value <= LIM.tolerance(b),
                        "case {case}: {} vs {b}",
                        s.value
                    );
                    assert!(
                        s.bound >= b - 1e-6,
                        "case {case}: bound {} below optimum {b}",
                        s.bound
                    );
                    assert_ne!(s.proof, Proof::TimeLimit);
                }
                other => panic!("case {case}: {other:?}"),
            }
        }
    }

    /// As on real landscapes: most parcels of a transition share one value
    /// per dollar and per hectare; the budget runs out, or the area binds,
    /// inside a large group of ties. Its bound never below HiGHS's answer on
    /// the whole MIP, never worse than that answer when proven, and proven
    /// unless both
    /// constraints bind inside two tie groups (a subset-sum in two
    /// dimensions: then the time limit ends it and the gap is reported).
    #[test]
    fn ties_are_proven_or_reported_and_never_worse_than_highs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let n = 3000;
        let areas: Vec<f64> = (0..n).map(|_| rng.gen_range(0.4..9.0)).collect();
        let group = |i: usize| i % 4;
        let costs: Vec<f64> = (0..n)
            .map(|i| areas[i] * [1500.0, 1500.0, 900.0, 2200.0][group(i)])
            .collect();
        let values: Vec<f64> = (0..n)
            .map(|i| match group(i) {
                0 | 1 => 3.8 * costs[i],
                2 => 2.1 * costs[i],
                _ => rng.gen_range(4.5..6.0) * costs[i],
            })
            .collect();
        let total_a: f64 = areas.iter().sum();
        let total_c: f64 = costs.iter().sum();
        let lim = Limits {
            seconds: 3.0,
            ..LIM
        };
        for (budget, target, proven) in [
            (0.3 * total_c, 0.0, true),
            (0.3 * total_c, 0.2 * total_a, true),
            (0.3 * total_c, 0.33 * total_a, false),
            (0.9 * total_c, 0.85 * total_a, false),
            (2.0 * total_c, 0.5 * total_a, true),
        ] {
            let t = std::time::Instant::now();
            let s = select(&values, &costs, &areas, budget, target, &lim, "test")
                .unwrap()
                .unwrap();
            assert!(t.elapsed().as_secs_f64() < 20.0, "the time limit holds");
            let sum = |w: &[f64]| -> f64 { (0..n).filter(|&i| s.chosen[i]).map(|i| w[i]).sum() };
            assert!(sum(&costs) <= budget && sum(&areas) >= target);
            let closed = s.gap() <= lim.tolerance(s.bound);
            assert_eq!(closed, s.proof != Proof::TimeLimit, "{budget} {target}");
            if proven {
                assert!(closed, "{budget} {target}: gap {}", s.gap());
            }
            let exact = crate::solve::knapsack(
                &values,
                &costs,
                budget,
                Some((&areas, target)),
                (0.0, 1e-6),
                crate::solve::SOLVE_SECONDS,
                "test",
            )
            .unwrap()
            .unwrap();
            let e: f64 = (0..n).filter(|&i| exact[i]).map(|i| values[i]).sum();
            assert!(e <= s.bound + 1e-6, "HiGHS {e} above the bound {}", s.bound);
            if closed {
                assert!(s.value >= e - lim.tolerance(e), "HiGHS {e} vs {}", s.value);
            }
        }
    }

    /// A target equal to the total area, summed in another order (a
    /// landscape smaller than its area target): everything is chosen (it
    /// failed with "no selection ... was found" on small synth landscapes).
    #[test]
    fn a_target_equal_to_the_total_area_up_to_rounding_takes_everything() {
        let mut found = 0;
        for k in 1..400u32 {
            let a = [
                0.1 * k as f64 / 3.0,
                7.0 / (k as f64 + 0.3),
                1.1 + 1.0 / 7.0,
            ];
            let backward = a[2] + a[1] + a[0];
            let forward: f64 = a.iter().sum();
            if backward <= forward {
                continue;
            }
            found += 1;
            let s = select(
                &[5.0, 6.0, 7.0],
                &[1.0, 1.0, 1.0],
                &a,
                10.0,
                backward,
                &LIM,
                "test",
            )
            .unwrap()
            .unwrap();
            assert_eq!(s.chosen, vec![true, true, true], "case {k}");
        }
        assert!(found > 0, "no case where the two sums differ");
    }

    /// An area no selection within the budget covers: None, as HiGHS says.
    #[test]
    fn an_area_the_budget_cannot_cover_is_none() {
        let v = [10.0, 20.0, 30.0];
        let c = [5.0, 5.0, 5.0];
        let a = [1.0, 1.0, 1.0];
        assert!(select(&v, &c, &a, 10.0, 2.5, &LIM, "test")
            .unwrap()
            .is_none());
        let s = select(&v, &c, &a, 10.0, 2.0, &LIM, "test")
            .unwrap()
            .unwrap();
        assert_eq!(s.chosen, vec![false, true, true]);
        assert_eq!(s.value, 50.0);
    }

    /// Strongly correlated values and costs with an area target, 400
    /// items: hard for a relaxation, so the core MIP is needed.
    fn hard_case() -> (Vec<f64>, Vec<f64>, Vec<f64>, f64, f64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let costs: Vec<f64> = (0..400).map(|_| rng.gen_range(1e3..1e4)).collect();
        let values: Vec<f64> = costs.iter().map(|c| c + 1000.0).collect();
        let areas: Vec<f64> = (0..400).map(|_| rng.gen_range(1.0..10.0)).collect();
        let budget = 0.5 * costs.iter().sum::<f64>() + 0.5;
        let target = 0.5 * areas.iter().sum::<f64>();
        (values, costs, areas, budget, target)
    }

    /// A time limit too short to prove anything still returns the best
    /// selection found, with a bound above it (never silence).
    #[test]
    fn a_selection_stopped_by_its_time_limit_reports_its_gap() {
        let (values, costs, areas, budget, target) = hard_case();
        let n = values.len();
        let lim = Limits {
            abs_gap: 0.0,
            rel_gap: 0.0,
            seconds: 0.05,
        };
        let s = select(&values, &costs, &areas, budget, target, &lim, "test")
            .unwrap()
            .unwrap();
        assert!(s.bound >= s.value);
        let sum = |w: &[f64]| -> f64 { (0..n).filter(|&i| s.chosen[i]).map(|i| w[i]).sum() };
        assert!(sum(&costs) <= budget && sum(&areas) >= target);
        if s.gap() > 0.0 {
            assert_eq!(s.proof, Proof::TimeLimit);
        }
    }

    /// The core MIP says how far it is while it runs (HiGHS's callback):
    /// the gap in US$ and the time, for the stage's spinner.
    #[test]
    fn the_core_mip_reports_its_gap_as_it_goes() {
        let (values, costs, areas, budget, target) = hard_case();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let keep = lines.clone();
        crate::solve::watch(move |l| keep.lock().unwrap().push(l.to_string()));
        let lim = Limits {
            abs_gap: 0.0,
            rel_gap: 0.0,
            seconds: 1.5,
        };
        let s = select(&values, &costs, &areas, budget, target, &lim, "test")
            .unwrap()
            .unwrap();
        crate::solve::unwatch();
        assert_ne!(s.proof, Proof::Relaxation, "the case needs its core MIP");
        let lines = lines.lock().unwrap();
        assert!(
            lines.iter().any(|l| l.starts_with("core of ")
                && (l.contains("gap US$") || l.contains("no selection yet"))),
            "{lines:?}"
        );
    }
}
