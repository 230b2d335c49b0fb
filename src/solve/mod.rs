//! The exact solves every stage shares, over HiGHS (through `good_lp`):
//! the 0/1 selection of the road portfolio, its frontier and the parcels
//! (`select`, proven within a tolerance in a bounded time), the plain
//! HiGHS 0/1 MIP it is tested against (`knapsack`), and the linear
//! programmes of the conservation funding and the capital stack (`Lp`).
//! Money is scaled to keep the models well conditioned (each caller says
//! its unit), every solve has a time limit, and a solver failure names the
//! model it was solving.

pub mod select;

use good_lp::solvers::highs::HighsSolution;
use good_lp::solvers::SolutionStatus;
use good_lp::{
    constraint, default_solver, variable, Constraint, ProblemVariables, ResolutionError, Solution,
    SolverModel,
};

pub use good_lp::{constraint as lp_constraint, Expression, Variable};

use crate::error::{Error, Result};

/// The longest any LP or the road portfolio's MIP may run, s. Each of
/// them solves in well under a second on the landscapes we know; one that
/// does not finish within this is an error naming the model (the parcel
/// selection has its own limit, `transitions.selection_time_limit_s`, and
/// reports its gap instead).
pub const SOLVE_SECONDS: f64 = 120.0;

/// Where a long solve says how far it is: one line for the running stage
/// to show (the pipeline puts it on the stage's spinner), none by default.
type Watcher = Box<dyn Fn(&str) + Send>;
static WATCH: std::sync::Mutex<Option<Watcher>> = std::sync::Mutex::new(None);

/// Show each long solve's progress through `f` (until `unwatch`).
pub fn watch(f: impl Fn(&str) + Send + 'static) {
    *WATCH.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
}

/// Stop showing solves' progress.
pub fn unwatch() {
    *WATCH.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Say how far a solve is to whoever watches.
pub(crate) fn report(line: &str) {
    if let Some(f) = WATCH.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        f(line);
    }
}

/// A linear programme built variable by variable and constraint by
/// constraint, in the order they are added (the order HiGHS sees them).
pub struct Lp {
    vars: ProblemVariables,
    constraints: Vec<Constraint>,
    seconds: f64,
}

impl Default for Lp {
    fn default() -> Self {
        Lp::new()
    }
}

impl Lp {
    pub fn new() -> Lp {
        Lp {
            vars: ProblemVariables::new(),
            constraints: Vec::new(),
            seconds: SOLVE_SECONDS,
        }
    }

    /// Stop after `seconds` (an error), instead of `SOLVE_SECONDS`.
    pub fn within(mut self, seconds: f64) -> Lp {
        self.seconds = seconds;
        self
    }

    /// A continuous variable at least `min`.
    pub fn var(&mut self, min: f64) -> Variable {
        self.vars.add(variable().min(min))
    }

    /// Add a constraint (made with `lp_constraint!`).
    pub fn with(&mut self, c: Constraint) {
        self.constraints.push(c);
    }

    /// Maximise `objective`; `what` names the model in a solver error
    /// ("the conservation funding LP").
    pub fn maximise(self, objective: Expression, what: &str) -> Result<LpSolution> {
        let mut model = self
            .vars
            .maximise(objective)
            .using(default_solver)
            .set_time_limit(self.seconds);
        for c in self.constraints {
            model = model.with(c);
        }
        let sol = model.solve().map_err(|e| {
            Error::Usage(format!(
                "{what} failed (time limit {} s): {e}",
                self.seconds
            ))
        })?;
        if matches!(sol.status(), SolutionStatus::TimeLimit) {
            return Err(Error::Usage(format!(
                "{what} did not finish within {} s; its answer would not be the optimum",
                self.seconds
            )));
        }
        Ok(LpSolution(sol))
    }
}

/// The optimum of an `Lp`.
pub struct LpSolution(HighsSolution);

impl LpSolution {
    /// The variable's value at the optimum.
    pub fn value(&self, v: Variable) -> f64 {
        self.0.value(v)
    }
}

/// A cap a 0/1 choice must keep by the letter: `weights`·x <= `limit`.
/// `floor` is the smallest scale the cap is measured on (a tolerance of
/// 1e-12 of the larger of the limit and it), `step` the least a cap is
/// lowered by after an overshoot (the solver's feasibility tolerance on
/// the scale the model is written in, or the next solve returns the same
/// set).
struct Cap<'a> {
    name: &'a str,
    weights: &'a [f64],
    limit: f64,
    floor: f64,
    step: f64,
}

/// Solves with every cap a hair below its limit (HiGHS's primal
/// feasibility tolerance is 1e-7 of a row's scale, so one solve normally
/// lands within it), and again with a cap lowered by its overshoot while
/// the choice exceeds one: a choice is never "fixed" by dropping a whole
/// item, which loses optimality. `solve` gets the caps to write into the
/// model and returns the choice with whatever else it reports, or None.
/// A choice whose weights sum to a hair above a limit in floating point
/// (a frontier budget that is a fraction of the candidates' total) is
/// rounding, not an overshoot.
fn keeping_caps<T>(
    caps: &[Cap],
    what: &str,
    mut solve: impl FnMut(&[f64]) -> Result<Option<(Vec<bool>, T)>>,
) -> Result<Option<(Vec<bool>, T)>> {
    let mut at: Vec<f64> = caps
        .iter()
        .map(|c| c.limit - 1e-7 * c.limit.abs())
        .collect();
    let mut last = 0;
    for _ in 0..6 {
        let Some((chosen, extra)) = solve(&at)? else {
            return Ok(None);
        };
        let mut fine = true;
        for (k, c) in caps.iter().enumerate() {
            let sum: f64 = (0..chosen.len())
                .filter(|i| chosen[*i])
                .map(|i| c.weights[i])
                .sum();
            let over = sum - c.limit;
            let scale = c.limit.abs().max(c.floor);
            if over > 1e-12 * scale {
                fine = false;
                last = k;
                at[k] -= over + c.step + 1e-9 * scale;
            }
        }
        if fine {
            return Ok(Some((chosen, extra)));
        }
    }
    Err(Error::Usage(format!(
        "{what}: the solver kept exceeding {} of {} by its tolerance; please report it with the landscape",
        caps[last].name, caps[last].limit
    )))
}

/// The budget as a cap: money is written in US$ millions, so the
/// solver's tolerance is about US$1.
fn budget_cap<'a>(costs: &'a [f64], budget: f64) -> Cap<'a> {
    Cap {
        name: "the budget",
        weights: costs,
        limit: budget,
        floor: 1.0,
        step: 1.0,
    }
}

/// The exact 0/1 selection shared by the road portfolio and the parcel
/// selection: maximise `values`·x with `costs`·x <= `budget` and, when
/// given, `areas`·x >= `target`. HiGHS stops within an absolute gap of
/// `abs_gap` US$ or a relative gap of `rel_gap` (both 0 for the road
/// portfolio; prioritizr's HiGHS default is a 10% relative gap). The
/// budget is kept by the letter (`keeping_caps`). None when infeasible.
pub fn knapsack(
    values: &[f64],
    costs: &[f64],
    budget: f64,
    cover: Option<(&[f64], f64)>,
    (abs_gap, rel_gap): (f64, f64),
    seconds: f64,
    what: &str,
) -> Result<Option<Vec<bool>>> {
    let n = values.len();
    // The solver cannot take NaN or infinite coefficients (it errors with
    // no key, or loops); the settings' ranges keep them finite, and this
    // names the item if a stage still produced one.
    let no_area = vec![0.0; n];
    let (areas, target) = cover.unwrap_or((&no_area, 0.0));
    select::check(values, costs, areas, budget, target, what)?;
    let found = keeping_caps(&[budget_cap(costs, budget)], what, |at| {
        // Money in US$ millions and areas in thousands keep the model scaled.
        let mut vars = ProblemVariables::new();
        let x: Vec<_> = (0..n).map(|_| vars.add(variable().binary())).collect();
        let obj: Expression = (0..n).map(|i| values[i] / 1e6 * x[i]).sum();
        let spend: Expression = (0..n).map(|i| costs[i] / 1e6 * x[i]).sum();
        let mut model = vars
            .maximise(obj)
            .using(default_solver)
            .with(constraint!(spend <= at[0] / 1e6));
        if let Some((areas, target)) = cover {
            let area: Expression = (0..n).map(|i| areas[i] / 1e3 * x[i]).sum();
            model = model.with(constraint!(area >= target / 1e3));
        }
        let model = model
            .set_mip_rel_gap(rel_gap as f32)
            .and_then(|m| m.set_mip_abs_gap((abs_gap / 1e6) as f32))
            .map_err(|e| Error::Usage(format!("{what} MIP: {e:?}")))?
            .set_threads(1)
            .set_time_limit(seconds);
        match model.solve() {
            Ok(sol) if matches!(sol.status(), SolutionStatus::TimeLimit) => Err(Error::Usage(format!(
                "{what} MIP found no proven optimum within {seconds} s ({n} candidates); fewer, longer candidates make it smaller"
            ))),
            Ok(sol) => Ok(Some(((0..n).map(|i| sol.value(x[i]) > 0.5).collect(), ()))),
            Err(ResolutionError::Infeasible) => Ok(None),
            Err(e) => Err(Error::Usage(format!(
                "{what} MIP failed (time limit {seconds} s): {e}"
            ))),
        }
    })?;
    Ok(found.map(|(chosen, ())| chosen))
}

/// A 0/1 choice maximising `values`·x with two caps: `costs`·x <= `budget`
/// and `weights`·x <= `cap` (the road frontier's budget and forest-loss
/// cap), by HiGHS within US$1 or 1e-9 of the value. Whether the optimum was
/// proven: false when the solve reached `seconds` (the best choice found is
/// returned). Both caps are kept by the letter (`keeping_caps`).
pub fn knapsack_two_caps(
    values: &[f64],
    costs: &[f64],
    budget: f64,
    weights: &[f64],
    cap: f64,
    seconds: f64,
    what: &str,
) -> Result<(Vec<bool>, bool)> {
    let n = values.len();
    let no_area = vec![0.0; n];
    select::check(values, costs, &no_area, budget, 0.0, what)?;
    select::check(values, weights, &no_area, cap, 0.0, what)?;
    if n == 0 {
        // (HiGHS refuses an empty model.)
        return Ok((Vec::new(), true));
    }
    // Scaled: money in US$ millions, the capped quantity by its own size.
    let wscale = weights.iter().fold(0.0f64, |a, w| a.max(w.abs())).max(1e-9);
    let caps = [
        budget_cap(costs, budget),
        Cap {
            name: "the second cap",
            weights,
            limit: cap,
            floor: 1e-9,
            step: 1e-6 * wscale,
        },
    ];
    let found = keeping_caps(&caps, what, |at| {
        let mut vars = ProblemVariables::new();
        let x: Vec<_> = (0..n).map(|_| vars.add(variable().binary())).collect();
        let obj: Expression = (0..n).map(|i| values[i] / 1e6 * x[i]).sum();
        let spend: Expression = (0..n).map(|i| costs[i] / 1e6 * x[i]).sum();
        let load: Expression = (0..n).map(|i| weights[i] / wscale * x[i]).sum();
        let model = vars
            .maximise(obj)
            .using(default_solver)
            .with(constraint!(spend <= at[0] / 1e6))
            .with(constraint!(load <= at[1] / wscale))
            .set_mip_rel_gap(1e-9)
            .and_then(|m| m.set_mip_abs_gap(1e-6))
            .map_err(|e| Error::Usage(format!("{what} MIP: {e:?}")))?
            .set_threads(1)
            .set_time_limit(seconds);
        match model.solve() {
            Ok(sol) => Ok(Some((
                (0..n).map(|i| sol.value(x[i]) > 0.5).collect(),
                !matches!(sol.status(), SolutionStatus::TimeLimit),
            ))),
            // Choosing nothing is always feasible (caps >= 0, checked).
            Err(ResolutionError::Infeasible) => Ok(Some((vec![false; n], true))),
            Err(e) => Err(Error::Usage(format!(
                "{what} MIP failed (time limit {seconds} s): {e}"
            ))),
        }
    })?;
    // (never None: the closure answers every solve)
    Ok(found.unwrap_or((vec![false; n], true)))
}

/// The best maximal 0/1 choice other than the `known` ones: maximise
/// `values`·x with `costs`·x <= `budget`, x differing from each known
/// choice in at least one item (a no-good cut), and maximal (every item
/// left out costs more than what the choice leaves of the budget, so a
/// choice is never a known one less an item it could still afford). By
/// HiGHS within US$1 or 1e-9 of the value; whether the optimum was proven
/// (false when the solve reached `seconds`); None when no such choice is
/// left. Items with a value <= 0, or costing more than the budget, are
/// never chosen (the caller passes candidates only).
pub fn next_best_maximal(
    values: &[f64],
    costs: &[f64],
    budget: f64,
    known: &[Vec<bool>],
    seconds: f64,
    what: &str,
) -> Result<Option<(Vec<bool>, bool)>> {
    let n = values.len();
    let no_area = vec![0.0; n];
    select::check(values, costs, &no_area, budget, 0.0, what)?;
    if n == 0 {
        return Ok(None);
    }
    keeping_caps(&[budget_cap(costs, budget)], what, |at| {
        let mut vars = ProblemVariables::new();
        let x: Vec<_> = (0..n).map(|_| vars.add(variable().binary())).collect();
        let obj: Expression = (0..n).map(|i| values[i] / 1e6 * x[i]).sum();
        let spend = || -> Expression { (0..n).map(|i| costs[i] / 1e6 * x[i]).sum() };
        let mut model = vars
            .maximise(obj)
            .using(default_solver)
            .with(constraint!(spend() <= at[0] / 1e6));
        for i in 0..n {
            if values[i] <= 0.0 || costs[i] > budget {
                model = model.with(constraint!(x[i] <= 0.0));
                continue;
            }
            // Left out only when it no longer fits: spend > budget - cost
            // (by US$1), unless chosen.
            let floor = (budget - costs[i] + 1.0) / 1e6;
            if floor > 0.0 {
                model = model.with(constraint!(spend() + floor * x[i] >= floor));
            }
        }
        for k in known {
            let size = k.iter().filter(|b| **b).count() as f64;
            let differ: Expression = (0..n)
                .map(|i| if k[i] { -1.0 * x[i] } else { 1.0 * x[i] })
                .sum();
            model = model.with(constraint!(differ >= 1.0 - size));
        }
        let model = model
            .set_mip_rel_gap(1e-9)
            .and_then(|m| m.set_mip_abs_gap(1e-6))
            .map_err(|e| Error::Usage(format!("{what} MIP: {e:?}")))?
            .set_threads(1)
            .set_time_limit(seconds);
        match model.solve() {
            Ok(sol) => Ok(Some((
                (0..n).map(|i| sol.value(x[i]) > 0.5).collect(),
                !matches!(sol.status(), SolutionStatus::TimeLimit),
            ))),
            Err(ResolutionError::Infeasible) => Ok(None),
            Err(e) => Err(Error::Usage(format!(
                "{what} MIP failed (time limit {seconds} s): {e}"
            ))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-cap choice equals brute force on random small cases, the
    /// caps binding alone, together or not at all.
    #[test]
    fn two_caps_equal_brute_force() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for case in 0..40 {
            let n = if case == 0 { 0 } else { rng.gen_range(1..12) };
            let values: Vec<f64> = (0..n).map(|_| rng.gen_range(1e4..5e6)).collect();
            let costs: Vec<f64> = (0..n).map(|_| rng.gen_range(1e5..3e6)).collect();
            let loss: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..40.0)).collect();
            let budget = rng.gen_range(0.0..1.5e7);
            let cap = rng.gen_range(0.0..200.0);
            let (got, proven) =
                knapsack_two_caps(&values, &costs, budget, &loss, cap, 10.0, "test").unwrap();
            assert!(proven);
            let pick =
                |x: &[bool], w: &[f64]| -> f64 { (0..n).filter(|i| x[*i]).map(|i| w[i]).sum() };
            assert!(pick(&got, &costs) <= budget + 1e-6 && pick(&got, &loss) <= cap + 1e-9);
            // The loss cap as a cover the enumeration knows: -loss >= -cap.
            let minus: Vec<f64> = loss.iter().map(|l| -l).collect();
            let best = select::best_by_enumeration(&values, &costs, &minus, budget, -cap).unwrap();
            assert!(
                (pick(&got, &values) - best).abs() <= 1.0 + 1e-9 * best,
                "case {case}"
            );
        }
    }

    /// The next best maximal choices, in order, equal brute force: each
    /// the best maximal choice not listed before it.
    #[test]
    fn next_best_maximal_choices_equal_brute_force() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(33);
        for case in 0..25 {
            let n = rng.gen_range(1..11);
            let values: Vec<f64> = (0..n).map(|_| rng.gen_range(-1e6..5e6)).collect();
            let costs: Vec<f64> = (0..n).map(|_| rng.gen_range(1e5..3e6)).collect();
            let budget = rng.gen_range(0.0..1.2e7);
            // Every maximal choice of candidates, by value.
            let cand = |i: usize| values[i] > 0.0 && costs[i] <= budget;
            let mut all: Vec<(f64, u32)> = Vec::new();
            for mask in 0u32..(1 << n) {
                let on = |i: usize| mask & (1 << i) != 0;
                if (0..n).any(|i| on(i) && !cand(i)) {
                    continue;
                }
                let c: f64 = (0..n).filter(|&i| on(i)).map(|i| costs[i]).sum();
                let v: f64 = (0..n).filter(|&i| on(i)).map(|i| values[i]).sum();
                let maximal = (0..n).all(|i| on(i) || !cand(i) || c + costs[i] > budget);
                if c <= budget && maximal {
                    all.push((v, mask));
                }
            }
            all.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut known: Vec<Vec<bool>> = Vec::new();
            for (k, want) in all.iter().take(4).enumerate() {
                let (got, proven) =
                    next_best_maximal(&values, &costs, budget, &known, 10.0, "test")
                        .unwrap()
                        .unwrap_or_else(|| panic!("case {case}: choice {k} missing"));
                assert!(proven);
                let v: f64 = (0..n).filter(|&i| got[i]).map(|i| values[i]).sum();
                assert!(
                    (v - want.0).abs() <= 1.0 + 1e-9 * want.0.abs(),
                    "case {case} #{k}: {v} vs {}",
                    want.0
                );
                assert!(!known.contains(&got), "case {case}: repeated");
                known.push(got);
            }
            if all.len() <= 4 {
                assert!(
                    next_best_maximal(&values, &costs, budget, &known, 10.0, "test")
                        .unwrap()
                        .is_none(),
                    "case {case}: more than the {} maximal choices",
                    all.len()
                );
            }
        }
    }

    /// A budget equal to the candidates' total, summed in another order, can
    /// fall a hair below the sum the check adds up: the whole set is still
    /// affordable (it failed with "kept exceeding the budget" once, on a
    /// frontier step).
    #[test]
    fn a_budget_equal_to_the_total_up_to_rounding_buys_everything() {
        let mut found = 0;
        for k in 1..2000u32 {
            let costs = [
                1.0e6 / (3.0 + k as f64),
                2.0e6 / (7.0 + k as f64),
                3.0e6 / (11.0 + k as f64),
            ];
            let forward: f64 = costs.iter().sum();
            let backward = costs[2] + costs[1] + costs[0];
            if backward >= forward {
                continue;
            }
            found += 1;
            let got = knapsack(
                &[1.0, 1.0, 1.0],
                &costs,
                backward,
                None,
                (0.0, 0.0),
                SOLVE_SECONDS,
                "test",
            )
            .unwrap()
            .unwrap();
            assert_eq!(got, vec![true, true, true], "case {k}");
        }
        assert!(found > 0, "no case where the two sums differ");
    }

    /// No solve runs unbounded: past its limit the MIP and the LP are
    /// errors that say so (they ran without a limit before).
    #[test]
    fn a_solve_past_its_time_limit_is_an_error_naming_the_model() {
        // A subset-sum: value equals cost, so every choice near the budget
        // ties with many others.
        let costs: Vec<f64> = (0..400u64)
            .map(|i| 1e6 + ((i * 7919 + 13) % 997) as f64 * 1013.0)
            .collect();
        let budget = costs.iter().sum::<f64>() * 0.5 + 0.5;
        let err = knapsack(
            &costs,
            &costs,
            budget,
            None,
            (0.0, 0.0),
            0.0,
            "the test portfolio",
        )
        .expect_err("a zero time limit cannot prove an optimum");
        let msg = err.to_string();
        assert!(
            msg.contains("the test portfolio") && msg.contains("0 s"),
            "{msg}"
        );
        let mut lp = Lp::new().within(0.0);
        let x = lp.var(0.0);
        let y = lp.var(0.0);
        lp.with(lp_constraint!(x + 2.0 * y <= 4.0));
        lp.with(lp_constraint!(3.0 * x + y <= 6.0));
        let err = lp
            .maximise(Expression::from(x) + y, "the test LP")
            .err()
            .expect("a zero time limit");
        let msg = err.to_string();
        assert!(msg.contains("the test LP") && msg.contains("0 s"), "{msg}");
    }

    /// Over a real budget cut, the choice stays within it.
    #[test]
    fn the_choice_stays_within_the_budget() {
        let costs = [400_000.5, 300_000.25, 300_000.25];
        let got = knapsack(
            &[3.0, 2.0, 2.0],
            &costs,
            700_000.0,
            None,
            (0.0, 0.0),
            SOLVE_SECONDS,
            "test",
        )
        .unwrap()
        .unwrap();
        let spent: f64 = costs
            .iter()
            .zip(&got)
            .filter(|(_, c)| **c)
            .map(|(v, _)| v)
            .sum();
        assert!(spent <= 700_000.0, "{got:?}");
        assert_eq!(got, vec![false, true, true]);
    }
}
