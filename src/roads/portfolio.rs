//! The budgeted portfolio: the exact 0/1 choice on the segments' single
//! NPV_net, then re-checked with the chosen upgrades together (each
//! chosen segment's value replaced by its marginal value given the rest)
//! while a re-selection raises the set's joint value.

use std::collections::HashMap;

use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;

use super::*;
use crate::config::ImportanceMethod;
use crate::error::Result;
use crate::solve::next_best_maximal;
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
    /// Economic NPV (before the carbon cost) of the chosen set upgraded
    /// together: the frontier's axis, for the set as it will be built.
    pub npv_econ_joint_usd: f64,
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
    /// Every segment worth improving (class improve or improve with
    /// safeguards) that is not funded, by rank, with why.
    pub left_out: Vec<LeftOut>,
    /// What the portfolio changes in the way to market.
    pub access: AccessChange,
    /// The choices the landscape file forces (`road_upgrades.force_in`,
    /// `force_out`) and what they cost against the free optimum; absent
    /// when nothing is forced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forced: Option<ForcedReport>,
    /// What forbidding each funded segment in turn loses (roads.csv
    /// `importance_usd`, `firmness`); absent under
    /// `road_upgrades.importance = "none"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
    /// The portfolio's near-optimal alternatives; absent under
    /// `road_upgrades.alternatives = 0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Alternatives>,
}

/// Segments the portfolio must fund or leave out, by index in `scored`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Forced {
    pub inn: Vec<usize>,
    pub out: Vec<usize>,
}

impl Forced {
    /// The ids of `road_upgrades.force_in` and `force_out` among the
    /// appraised segments' ids (`ids`, in the segments' order); an id that is not one, or is in both lists, is
    /// an error naming the setting and the nearest ids.
    pub fn from_ids(force_in: &[String], force_out: &[String], ids: &[&str]) -> Result<Forced> {
        let find = |key: &str, id: &str| -> Result<usize> {
            ids.iter().position(|s| *s == id).ok_or_else(|| {
                let mut near: Vec<(usize, &str)> = ids
                    .iter()
                    .map(|s| (strsim::damerau_levenshtein(id, s), *s))
                    .collect();
                near.sort();
                let near: Vec<String> = near.iter().take(3).map(|(_, n)| format!("'{n}'")).collect();
                crate::error::Error::Usage(format!(
                    "road_upgrades.{key}: '{id}' is not a segment appraised in this landscape (ids are those of roads.csv, inside the AOI; nearest: {})",
                    near.join(", ")
                ))
            })
        };
        let mut f = Forced::default();
        for id in force_in {
            f.inn.push(find("force_in", id)?);
        }
        for id in force_out {
            let i = find("force_out", id)?;
            if f.inn.contains(&i) {
                return Err(crate::error::Error::Usage(format!(
                    "road_upgrades.force_in and force_out both hold '{id}': a segment cannot be forced in and out"
                )));
            }
            f.out.push(i);
        }
        f.inn.sort_unstable();
        f.inn.dedup();
        f.out.sort_unstable();
        f.out.dedup();
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.inn.is_empty() && self.out.is_empty()
    }

    /// Each forced choice alone: (index, forced in?).
    pub fn each(&self) -> Vec<(usize, bool)> {
        self.inn
            .iter()
            .map(|&i| (i, true))
            .chain(self.out.iter().map(|&i| (i, false)))
            .collect()
    }
}

/// What forcing costs: the free optimum's value, and the loss of the
/// portfolio's net NPV (built together) that all the forced choices and
/// each alone bring against it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ForcedReport {
    pub force_in: Vec<String>,
    pub force_out: Vec<String>,
    /// The portfolio chosen with nothing forced: its segments and net NPV
    /// built together.
    pub free_segments: Vec<String>,
    pub free_npv_net_joint_usd: f64,
    /// The free optimum's net NPV minus this portfolio's (both built
    /// together): what the forced choices cost.
    pub cost_usd: f64,
    /// Each forced choice alone.
    pub each: Vec<ForcedCost>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ForcedCost {
    pub id: String,
    /// "in" or "out".
    pub forced: &'static str,
    pub cost_usd: f64,
}

/// How the portfolio changes the way to market for the people of the AOI
/// (the chosen upgrades together).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AccessChange {
    /// People in the AOI (the population raster's, or the farmland's).
    pub people: f64,
    /// Travel-time thresholds, minutes.
    pub within_min: Vec<f64>,
    /// People within each threshold of a market today and with the
    /// portfolio built.
    pub people_within_before: Vec<f64>,
    pub people_within_after: Vec<f64>,
    /// People whose trip to market gets faster, and the minutes a trip
    /// saves them on average.
    pub people_served: f64,
    pub minutes_saved_per_person_served: f64,
}

/// The thresholds of `AccessChange`, minutes.
pub const ACCESS_THRESHOLDS_MIN: [f64; 3] = [60.0, 120.0, 240.0];

/// `AccessChange` of the cells `faster` (their new times) with the set's
/// joint `eff`ects.
fn access_change(a: &Appraiser, faster: &[(u32, f32)], eff: &Effects) -> AccessChange {
    let (inp, t0) = (a.inp, &a.access.travel_min);
    let th = ACCESS_THRESHOLDS_MIN;
    let mut before = vec![0.0; th.len()];
    let mut people = 0.0;
    for i in 0..t0.len() {
        if inp.aoi_mask[i] == 0 {
            continue;
        }
        let p = a.cells.people(inp, i) as f64;
        people += p;
        for (k, t) in th.iter().enumerate() {
            if (t0[i] as f64) <= *t {
                before[k] += p;
            }
        }
    }
    let mut after = before.clone();
    for &(c, t1) in faster {
        let i = c as usize;
        if inp.aoi_mask[i] == 0 || t1 >= t0[i] {
            continue;
        }
        let p = a.cells.people(inp, i) as f64;
        for (k, t) in th.iter().enumerate() {
            let was_within = (t0[i] as f64) <= *t;
            if (t1 as f64) <= *t && !was_within {
                after[k] += p;
            }
        }
    }
    AccessChange {
        people,
        within_min: th.to_vec(),
        people_within_before: before,
        people_within_after: after,
        people_served: eff.people_served,
        minutes_saved_per_person_served: if eff.people_served > 0.0 {
            60.0 * eff.people_hours_saved / eff.people_served
        } else {
            0.0
        },
    }
}

/// Why a segment worth improving is not funded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeftOut {
    pub id: String,
    pub cost_usd: f64,
    /// The value the choice gave it: its own NPV_net, or its marginal value
    /// beside the segments it was chosen with in a re-check.
    pub value_usd: f64,
    /// Its NPV_net appraised alone.
    pub npv_net_alone_usd: f64,
    /// The chosen segments it would displace in the best budgeted set that
    /// funds it (empty when it is no candidate at all).
    pub displaced: Vec<String>,
    /// How much less that best set is worth than the chosen one, on the
    /// values of the choice (none when it is no candidate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortfall_usd: Option<f64>,
    pub why: String,
}

/// Seconds the best set that funds one left-out segment may take.
const LEFT_OUT_SECONDS: f64 = 1.0;

/// Why each eligible segment left out of `chosen` is: for a candidate, the
/// best budgeted set that funds it (solved exactly with it forced in, on the
/// choice's `values`), the chosen segments it would displace and what the
/// exchange loses.
/// Each segment's id, rank and NPV_net alone, as `left_out` reads them.
struct Seg<'a> {
    id: &'a str,
    rank: u32,
    npv_net_usd: f64,
}

fn left_out(
    scored: &[Seg],
    eligible: &[bool],
    values: &[f64],
    costs: &[f64],
    chosen: &[bool],
    budget: f64,
) -> Result<Vec<LeftOut>> {
    let money = crate::fmt::money;
    let chosen_value: f64 = (0..scored.len())
        .filter(|&i| chosen[i])
        .map(|i| values[i])
        .sum();
    let spent: f64 = (0..scored.len())
        .filter(|&i| chosen[i])
        .map(|i| costs[i])
        .sum();
    let mut order: Vec<usize> = (0..scored.len())
        .filter(|&i| eligible[i] && !chosen[i])
        .collect();
    order.sort_by_key(|&i| scored[i].rank);
    let mut out = Vec::with_capacity(order.len());
    for i in order {
        let s = &scored[i];
        let mut item = LeftOut {
            id: s.id.to_string(),
            cost_usd: costs[i],
            value_usd: values[i],
            npv_net_alone_usd: s.npv_net_usd,
            displaced: Vec::new(),
            shortfall_usd: None,
            why: String::new(),
        };
        let revalued = (values[i] - s.npv_net_usd).abs() > 1e-9 * s.npv_net_usd.abs().max(1.0);
        if values[i] <= 0.0 {
            item.why = if revalued {
                format!(
                    "Beside the chosen segments it adds {} net (alone it is worth {}): the roads it would serve are already served.",
                    money(values[i]),
                    money(s.npv_net_usd)
                )
            } else {
                format!(
                    "Its NPV net of carbon cost is {}: the forest loss it invites costs more than its economic benefit.",
                    money(values[i])
                )
            };
            out.push(item);
            continue;
        }
        if costs[i] > budget {
            item.why = format!(
                "It costs {}, more than the whole road budget of {}.",
                money(costs[i]),
                money(budget)
            );
            out.push(item);
            continue;
        }
        // The best set that funds it: it, plus the best of the rest within
        // what its cost leaves of the budget.
        let mut rest = values.to_vec();
        rest[i] = 0.0;
        let with = select_within_budget(&rest, costs, budget - costs[i], LEFT_OUT_SECONDS)?;
        let with_value = values[i]
            + (0..scored.len())
                .filter(|&j| with.chosen[j])
                .map(|j| values[j])
                .sum::<f64>();
        let shortfall = (chosen_value - with_value).max(0.0);
        let dropped: Vec<usize> = (0..scored.len())
            .filter(|&j| chosen[j] && !with.chosen[j])
            .collect();
        item.displaced = dropped.iter().map(|&j| scored[j].id.to_string()).collect();
        let worth_it = if revalued {
            format!(
                "it adds {} beside the chosen segments (alone it is worth {})",
                money(values[i]),
                money(s.npv_net_usd)
            )
        } else {
            format!("it is worth {} net", money(values[i]))
        };
        let room = if costs[i] > budget - spent {
            format!(
                "it costs {} and {} of the budget is left",
                money(costs[i]),
                money((budget - spent).max(0.0))
            )
        } else {
            format!("it costs {}", money(costs[i]))
        };
        let bound = if with.gap_usd > 0.0 {
            format!(" (within {} of the best such set)", money(with.gap_usd))
        } else {
            String::new()
        };
        let verdict = if shortfall < 1.0 {
            "worth as much as the chosen set: a tie, broken the other way".to_string()
        } else {
            format!("{} less in all", money(shortfall))
        };
        item.why = if item.displaced.is_empty() {
            crate::fmt::sentence_case(&format!(
                "{room}, {worth_it}; the best set that funds it is {verdict}{bound}."
            ))
        } else {
            let worth = |js: &[usize]| js.iter().map(|&j| values[j]).sum::<f64>();
            let ids = |js: &[usize]| {
                js.iter()
                    .map(|&j| scored[j].id)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let added: Vec<usize> = (0..scored.len())
                .filter(|&j| with.chosen[j] && !chosen[j])
                .collect();
            let adds = if added.is_empty() {
                String::new()
            } else {
                format!(" and adds {} ({})", ids(&added), money(worth(&added)))
            };
            crate::fmt::sentence_case(&format!(
                "{room}, {worth_i}; to fund it the best set drops {} ({}){adds}: {verdict}{bound}.",
                ids(&dropped),
                money(worth(&dropped)),
                worth_i = worth_it,
            ))
        };
        item.shortfall_usd = Some(shortfall);
        out.push(item);
    }
    Ok(out)
}

/// The portfolio's choices, sharing what their joint re-checks computed:
/// the portfolio, the free optimum and each forced choice, and every
/// funded segment's importance are chosen the same way (`settle`), so
/// a set met again, or a segment's marginal value that a swap elsewhere
/// leaves as it was, costs nothing the second time (`LooMemo`; both are
/// bit for bit what a computation from scratch gives, so a choice does not
/// depend on what was chosen before it).
pub(super) struct Chooser<'c, 'a> {
    a: &'c Appraiser<'a>,
    jobs: &'c [(Vec<u32>, f64)],
    bar: &'c ProgressBar,
    memo: LooMemo,
    /// Sets upgraded together from scratch (`upgrade_together`), with
    /// their effects.
    joints: HashMap<Vec<usize>, Effects>,
    /// Whether the re-checks count on the bar (not while the importance's
    /// re-solves count there).
    show: bool,
}

/// Where one choice settles.
struct Settled {
    chosen: Vec<bool>,
    /// The values the last selection was made on (single NPV_net, or a
    /// chosen segment's marginal value beside the rest).
    values: Vec<f64>,
    eligible: Vec<bool>,
    costs: Vec<f64>,
    forced_cost: f64,
    first_solve: f64,
    iterations: u32,
    gap_usd: f64,
    note: String,
    set: Vec<usize>,
    /// The set's effects upgraded together, and its NPV_net so.
    eff: Effects,
    net: f64,
}

impl<'c, 'a> Chooser<'c, 'a> {
    pub(super) fn new(
        a: &'c Appraiser<'a>,
        scored: &[ScoredSegment],
        jobs: &'c [(Vec<u32>, f64)],
        bar: &'c ProgressBar,
    ) -> Chooser<'c, 'a> {
        let mut memo = LooMemo {
            bar: Some(bar.clone()),
            ..LooMemo::default()
        };
        for (i, s) in scored.iter().enumerate() {
            memo.expect(i, s.effects.cells_improved);
        }
        Chooser {
            a,
            jobs,
            bar,
            memo,
            joints: HashMap::new(),
            show: true,
        }
    }

    /// `set` upgraded together (from scratch, once per set).
    fn joint(&mut self, set: &[usize]) -> Effects {
        if let Some(e) = self.joints.get(set) {
            return *e;
        }
        let e = self.a.effects(&upgrade_together(self.a, set, self.jobs));
        self.joints.insert(set.to_vec(), e);
        e
    }

    /// Each of `sets` upgraded together (`joint`), side by side, each once;
    /// with `tick`, one step on the bar for each.
    fn joint_many(&mut self, sets: &[Vec<usize>], tick: bool) {
        let mut need: Vec<&Vec<usize>> = sets
            .iter()
            .filter(|s| !s.is_empty() && !self.joints.contains_key(*s))
            .collect();
        need.sort();
        need.dedup();
        let (a, jobs, bar) = (self.a, self.jobs, self.bar);
        let effs: Vec<Effects> = need
            .par_iter()
            .map(|s| {
                let e = a.effects(&upgrade_together(a, s, jobs));
                if tick {
                    bar.inc(1);
                }
                e
            })
            .collect();
        for (s, e) in need.into_iter().zip(effs) {
            self.joints.insert(s.clone(), e);
        }
    }

    /// NPV_net of `set` built together (0 for none).
    fn net_together(&mut self, scored: &[ScoredSegment], set: &[usize]) -> f64 {
        if set.is_empty() {
            return 0.0;
        }
        let e = self.joint(set);
        self.net_of(scored, set, &e)
    }

    /// NPV_net of `set` with joint effects `eff`.
    fn net_of(&self, scored: &[ScoredSegment], set: &[usize], eff: &Effects) -> f64 {
        let (a, e) = (self.a, self.a.econ);
        let cost: f64 = set.iter().map(|&i| scored[i].cost_usd).sum();
        let maint: f64 = set
            .iter()
            .map(|&i| scored[i].extra_maintenance_usd_per_year)
            .sum();
        red::appraise(
            cost,
            annual_benefit(scored, set, eff),
            a.p.traffic_growth,
            maint,
            e.horizon_years,
            e.discount_rate,
        )
        .npv_usd
            - eff.carbon_cost_pv_usd
    }

    /// Budgeted selection among `improve` and `improve_with_safeguards`
    /// segments (and those `forced` in; none `forced` out), then a joint
    /// re-check. When upgrades interact (two parallel roads serve the same
    /// people, so their benefits do not add up), each chosen segment's
    /// value is replaced by its marginal value given the rest of the set
    /// (leave-one-out), and the choice is solved again. The new set is
    /// taken only if, upgraded together, it is worth more than the one it
    /// replaces (one joint solve, no leave-one-out); this repeats until the
    /// set no longer changes, a re-selection is worth no more, or 5 rounds.
    /// The joint NPV_net rises at each step taken, so the loop cannot
    /// cycle.
    fn settle(&mut self, scored: &[ScoredSegment], forced: &Forced) -> Result<Settled> {
        let a = self.a;
        let budget = a.p.road_budget_usd;
        // Forced in whatever its class; forced out whatever its worth.
        let eligible: Vec<bool> = scored
            .iter()
            .enumerate()
            .map(|(i, s)| (worth(s) || forced.inn.contains(&i)) && !forced.out.contains(&i))
            .collect();
        let costs: Vec<f64> = scored.iter().map(|s| s.cost_usd).collect();
        let forced_cost: f64 = forced.inn.iter().map(|&i| costs[i]).sum();
        if forced_cost > budget * (1.0 + 1e-12) {
            return Err(crate::error::Error::Usage(format!(
                "road_upgrades.force_in: the forced segments cost {}, more than the road budget of {} (road_upgrades.road_budget_usd)",
                crate::fmt::money(forced_cost),
                crate::fmt::money(budget)
            )));
        }
        // The budgeted choice with the forced segments in: the rest chosen
        // within what they leave of the budget.
        let select_forced = |values: &[f64]| -> Result<Choice> {
            let mut v = values.to_vec();
            for &i in &forced.inn {
                v[i] = 0.0;
            }
            let mut c = select_within_budget(&v, &costs, budget - forced_cost, PORTFOLIO_SECONDS)?;
            for &i in &forced.inn {
                c.chosen[i] = true;
            }
            Ok(c)
        };
        let mut values: Vec<f64> = scored
            .iter()
            .zip(&eligible)
            .map(|(s, e)| if *e { s.npv_net_usd } else { 0.0 })
            .collect();
        let first = select_forced(&values)?;
        let mut gap_usd = first.gap_usd;
        let mut chosen = first.chosen;
        let first_solve: f64 = (0..scored.len())
            .filter(|i| chosen[*i])
            .map(|i| values[i])
            .sum();
        let mut iterations = 0;
        // The last set re-checked, with its joint effects.
        let mut last: Option<(Vec<usize>, Effects)> = None;
        let mut note =
            "the chosen segments do not interact: built together they are worth the sum of their single net NPVs".to_string();
        let set_of =
            |chosen: &[bool]| -> Vec<usize> { (0..scored.len()).filter(|i| chosen[*i]).collect() };
        // Whether a re-selection was turned down (its set worth less
        // together than the one it would replace), and the two sets' joint
        // NPV_net.
        let mut declined: Option<(Vec<usize>, f64, f64)> = None;
        loop {
            let set = set_of(&chosen);
            if set.len() < 2 || iterations >= 5 {
                break;
            }
            // The set's joint effects and each segment's marginal effects
            // in it (the latter used only when the upgrades interact),
            // counted on the bar segment by segment.
            if self.show {
                self.bar.reset();
                self.bar.set_length(set.len() as u64);
                self.bar.set_message(format!("re-check {}", iterations + 1));
            }
            let (eff, loo) = leave_one_out_with(a, &set, self.jobs, &mut self.memo);
            let joint_net = self.net_of(scored, &set, &eff);
            last = Some((set.clone(), eff));
            let singles: f64 = set.iter().map(|&i| scored[i].npv_net_usd).sum();
            if (joint_net - singles).abs() <= 1e-6 * singles.abs().max(1.0) {
                break;
            }
            // Leave-one-out marginal values for the chosen set.
            let mut changed = false;
            for (k, &i) in set.iter().enumerate() {
                let marginal = self.net_of(scored, &[i], &loo[k]);
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
            let next = select_forced(&values)?;
            if next.chosen == chosen {
                gap_usd = next.gap_usd;
                break;
            }
            // A re-selection is taken only when its set, upgraded
            // together, is worth more than the set it replaces: each step
            // raises the joint NPV_net, so the loop cannot cycle and never
            // ends on a worse set than one it has seen. (One joint solve,
            // not a leave-one-out.)
            let next_set = set_of(&next.chosen);
            let next_net = if next_set.is_empty() {
                0.0
            } else {
                let eff = self.joint(&next_set);
                self.net_of(scored, &next_set, &eff)
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
        let set = set_of(&chosen);
        let eff = match last {
            _ if set.is_empty() => Effects::default(),
            Some((s, eff)) if s == set => eff,
            _ => self.joint(&set),
        };
        let net = if set.is_empty() {
            0.0
        } else {
            self.net_of(scored, &set, &eff)
        };
        Ok(Settled {
            chosen,
            values,
            eligible,
            costs,
            forced_cost,
            first_solve,
            iterations,
            gap_usd,
            note,
            set,
            eff,
            net,
        })
    }

    /// NPV_net built together of the portfolio chosen the same way with
    /// `forced`.
    pub(super) fn value_with(
        &mut self,
        scored: &[ScoredSegment],
        forced: &Forced,
    ) -> Result<(Vec<String>, f64)> {
        let s = self.settle(scored, forced)?;
        Ok((s.set.iter().map(|&i| scored[i].id.clone()).collect(), s.net))
    }

    /// The portfolio chosen with `forced` (see `settle`), with why each
    /// segment worth improving is left out and what it changes in the way
    /// to market; `scored[..].in_portfolio` marks it. With `explain`, each
    /// funded segment's importance and the near-optimal alternatives too
    /// (`importance`, `alternatives`).
    pub(super) fn portfolio(
        &mut self,
        scored: &mut [ScoredSegment],
        forced: &Forced,
        explain: bool,
    ) -> Result<Portfolio> {
        let a = self.a;
        let budget = a.p.road_budget_usd;
        let Settled {
            chosen,
            values,
            eligible,
            costs,
            forced_cost,
            first_solve,
            iterations,
            gap_usd,
            note,
            set,
            eff,
            net,
        } = self.settle(scored, forced)?;
        let annual = annual_benefit(scored, &set, &eff);
        let (tco2_by_year, access) = if set.is_empty() {
            (Vec::new(), access_change(a, &[], &eff))
        } else {
            let faster = self
                .memo
                .faster_than_today(a, &set)
                .unwrap_or_else(|| upgrade_together(a, &set, self.jobs));
            (a.tco2_by_year(&faster), access_change(a, &faster, &eff))
        };
        let segs: Vec<Seg> = scored
            .iter()
            .map(|s| Seg {
                id: &s.id,
                rank: s.rank,
                npv_net_usd: s.npv_net_usd,
            })
            .collect();
        // (explained on the free part of the choice: the forced segments
        // and what they cost set aside)
        let (mut free_values, mut free_chosen) = (values.clone(), chosen.clone());
        for &i in &forced.inn {
            free_values[i] = 0.0;
            free_chosen[i] = false;
        }
        let mut left_out = left_out(
            &segs,
            &eligible,
            &free_values,
            &costs,
            &free_chosen,
            budget - forced_cost,
        )?;
        // Segments worth improving that the landscape file leaves out.
        for &i in &forced.out {
            let s = &scored[i];
            if worth(s) {
                left_out.push(LeftOut {
                    id: s.id.clone(),
                    cost_usd: s.cost_usd,
                    value_usd: s.npv_net_usd,
                    npv_net_alone_usd: s.npv_net_usd,
                    displaced: Vec::new(),
                    shortfall_usd: None,
                    why: "The landscape file leaves it out (road_upgrades.force_out).".into(),
                });
            }
        }
        let rank_of: HashMap<&str, u32> = scored.iter().map(|s| (s.id.as_str(), s.rank)).collect();
        left_out.sort_by_key(|l| rank_of.get(l.id.as_str()).copied().unwrap_or(u32::MAX));
        let portfolio = Portfolio {
            forced: None,
            left_out,
            access,
            budget_usd: budget,
            npv_net_first_solve_usd: first_solve,
            segments: set.iter().map(|&i| scored[i].id.clone()).collect(),
            cost_usd: set.iter().map(|&i| scored[i].cost_usd).sum(),
            npv_net_sum_of_singles_usd: set.iter().map(|&i| scored[i].npv_net_usd).sum(),
            npv_net_joint_usd: net,
            npv_econ_joint_usd: if set.is_empty() {
                0.0
            } else {
                net + eff.carbon_cost_pv_usd
            },
            annual_benefit_sum_of_singles_usd: set
                .iter()
                .map(|&i| scored[i].annual_benefit_usd)
                .sum(),
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
            importance: None,
            alternatives: None,
        };
        for (i, s) in scored.iter_mut().enumerate() {
            s.in_portfolio = false;
            s.value_in_choice_usd = eligible[i].then_some(values[i]);
        }
        for &i in &set {
            scored[i].in_portfolio = true;
        }
        let mut portfolio = portfolio;
        if explain && a.p.importance != ImportanceMethod::None {
            portfolio.importance = Some(self.importance(
                scored,
                forced,
                a.p.importance,
                &set,
                &values,
                &costs,
                forced_cost,
                net,
            )?);
        }
        if explain && a.p.alternatives > 0 {
            portfolio.alternatives =
                Some(self.alternatives(scored, forced, &set, &values, &eligible, forced_cost)?);
        }
        Ok(portfolio)
    }

    /// Each funded segment's replacement importance (prioritizr's, for a
    /// portfolio): the loss of net NPV built together when it is forbidden
    /// and the portfolio chosen again, against what it adds to the set
    /// (`values`, its value in the choice). By `method`: `Choice`
    /// re-chooses exactly on the choice's `values` (the forced choices kept)
    /// and values the new set built together (the sets upgraded side by
    /// side); `Full` makes the whole choice again (`settle`, joint re-check
    /// included: what a run with the segment forced out gives). A segment
    /// whose loss is at least `FIRM_SHARE` of what it adds is firm (nothing
    /// else makes up for it); below that it is interchangeable. Forced-in
    /// segments are not re-chosen. Sets `scored[..]`'s importance fields.
    #[allow(clippy::too_many_arguments)]
    fn importance(
        &mut self,
        scored: &mut [ScoredSegment],
        forced: &Forced,
        method: ImportanceMethod,
        set: &[usize],
        values: &[f64],
        costs: &[f64],
        forced_cost: f64,
        net: f64,
    ) -> Result<Importance> {
        let todo: Vec<usize> = set
            .iter()
            .copied()
            .filter(|i| !forced.inn.contains(i))
            .collect();
        self.bar.reset();
        self.bar.set_length(todo.len() as u64);
        self.bar.set_message("importance");
        // Each segment's re-chosen set and its gap (proven within US$1 but
        // where the solver stopped at its limit).
        let mut again: Vec<(Vec<usize>, f64, f64)> = Vec::with_capacity(todo.len());
        match method {
            ImportanceMethod::None => return Ok(Importance::default()),
            ImportanceMethod::Full => {
                let (show, bar) = (self.show, self.memo.bar.take());
                self.show = false;
                let mut out = Ok(());
                for &i in &todo {
                    let mut f = forced.clone();
                    f.out.push(i);
                    f.out.sort_unstable();
                    match self.settle(scored, &f) {
                        Ok(s) => again.push((s.set, s.net, s.gap_usd)),
                        Err(e) => {
                            out = Err(e);
                            break;
                        }
                    }
                    self.bar.inc(1);
                }
                self.show = show;
                self.memo.bar = bar;
                out?;
            }
            ImportanceMethod::Choice => {
                let budget = self.a.p.road_budget_usd - forced_cost;
                let mut sets = Vec::with_capacity(todo.len());
                for &i in &todo {
                    let mut v = values.to_vec();
                    for &j in &forced.inn {
                        v[j] = 0.0;
                    }
                    v[i] = 0.0;
                    let mut c = select_within_budget(&v, costs, budget, PORTFOLIO_SECONDS)?;
                    for &j in &forced.inn {
                        c.chosen[j] = true;
                    }
                    let s: Vec<usize> = (0..scored.len()).filter(|&j| c.chosen[j]).collect();
                    sets.push((s, c.gap_usd));
                }
                let new: Vec<Vec<usize>> = sets.iter().map(|s| s.0.clone()).collect();
                self.joint_many(&new, true);
                for (s, gap) in sets {
                    let v = self.net_together(scored, &s);
                    again.push((s, v, gap));
                }
            }
        }
        let mut each = Vec::with_capacity(todo.len());
        for (&i, (s, v, gap)) in todo.iter().zip(again) {
            let loss = net - v;
            let adds = values[i];
            let share = if adds > 0.0 { loss / adds } else { 1.0 };
            let firm = if share >= FIRM_SHARE {
                "firm"
            } else {
                "interchangeable"
            };
            let seg = &mut scored[i];
            seg.importance_usd = Some(loss);
            seg.importance_share = Some(share);
            seg.firmness = Some(firm);
            let ids = |v: Vec<usize>| v.into_iter().map(|j| scored[j].id.clone()).collect();
            each.push(SegmentImportance {
                id: scored[i].id.clone(),
                loss_usd: loss,
                adds_usd: adds,
                share,
                firmness: firm,
                replaced_by: ids(s.iter().copied().filter(|j| !set.contains(j)).collect()),
                also_dropped: ids(set
                    .iter()
                    .copied()
                    .filter(|j| *j != i && !s.contains(j))
                    .collect()),
                gap_usd: gap,
            });
        }
        for &i in &forced.inn {
            scored[i].firmness = Some("forced");
        }
        let count = |f: &str| each.iter().filter(|e| e.firmness == f).count();
        let mut note = format!(
            "each funded segment was forbidden in turn and the portfolio chosen again ({}): {} firm (the portfolio loses at least half of what the segment adds), {} interchangeable (another set nearly makes up for it)",
            match method {
                ImportanceMethod::Full => "the whole choice, joint re-check included",
                _ => "exactly, on the values of the choice, the new set valued built together",
            },
            count("firm"),
            count("interchangeable")
        );
        let worse: Vec<&str> = each
            .iter()
            .filter(|e| e.loss_usd < -1.0)
            .map(|e| e.id.as_str())
            .collect();
        if !worse.is_empty() {
            note = format!(
                "{note}; forbidding {} gives a portfolio worth more built together than this one: the re-check, which re-values only the chosen segments, did not reach that set",
                worse.join(", ")
            );
        }
        Ok(Importance {
            method: method.as_str(),
            note,
            segments: each,
        })
    }
}

impl Chooser<'_, '_> {
    /// Near-optimal alternatives to the portfolio (`road_upgrades.
    /// alternatives`, `alternatives_gap`): on the values of the choice, the
    /// best maximal sets of the free candidates (the forced-in segments
    /// kept in each), in order, each distinct from the portfolio and the
    /// ones before it (`next_best_maximal`), while within the gap of the
    /// best; each valued built together. Sets `scored[..]
    /// .alternatives_share` for the candidates.
    fn alternatives(
        &mut self,
        scored: &mut [ScoredSegment],
        forced: &Forced,
        set: &[usize],
        values: &[f64],
        eligible: &[bool],
        forced_cost: f64,
    ) -> Result<Alternatives> {
        let p = self.a.p;
        let (asked, gap) = (p.alternatives, p.alternatives_gap);
        let budget = p.road_budget_usd - forced_cost;
        let cand: Vec<usize> = (0..scored.len())
            .filter(|&i| {
                eligible[i]
                    && !forced.inn.contains(&i)
                    && values[i] > 0.0
                    && scored[i].cost_usd <= budget
            })
            .collect();
        let v: Vec<f64> = cand.iter().map(|&i| values[i]).collect();
        let c: Vec<f64> = cand.iter().map(|&i| scored[i].cost_usd).collect();
        let what = format!(
            "the road portfolio's alternatives ({} candidate segments, budget US${} after the forced ones)",
            cand.len(),
            crate::fmt::fmt_int(budget)
        );
        let value_of = |x: &[bool]| -> f64 { (0..x.len()).filter(|k| x[*k]).map(|k| v[k]).sum() };
        let port: Vec<bool> = cand.iter().map(|i| set.contains(i)).collect();
        let mut listed: Vec<(Vec<bool>, bool)> = vec![(port.clone(), true)];
        let mut best = value_of(&port);
        let mut note = String::new();
        if asked > 0 && !cand.is_empty() {
            self.bar.reset();
            self.bar.set_length(asked as u64 + 1);
            self.bar.set_message("alternatives");
            if let Some((top, proven)) =
                next_best_maximal(&v, &c, budget, &[], ALTERNATIVE_SECONDS, &what)?
            {
                if proven {
                    best = best.max(value_of(&top));
                    // The best maximal set, when it is not the portfolio,
                    // is the first alternative (not solved again).
                    if top != port {
                        listed.push((top, true));
                    }
                }
            }
            self.bar.inc(1);
            while listed.len() <= asked as usize {
                let known: Vec<Vec<bool>> = listed.iter().map(|l| l.0.clone()).collect();
                let Some((next, proven)) =
                    next_best_maximal(&v, &c, budget, &known, ALTERNATIVE_SECONDS, &what)?
                else {
                    note = "no other set is left that funds what the budget allows".into();
                    break;
                };
                self.bar.inc(1);
                if value_of(&next) < best * (1.0 - gap) - 1.0 {
                    break;
                }
                listed.push((next, proven));
                if !proven {
                    note = format!(
                        "the search stopped at the solver's limit of {ALTERNATIVE_SECONDS} s a set: the last listed is within the gap but may not be the next best"
                    );
                    break;
                }
            }
        }
        // As sets of segments, the forced-in ones with each.
        let sets: Vec<Vec<usize>> = listed
            .iter()
            .map(|(x, _)| {
                let mut s: Vec<usize> = (0..cand.len())
                    .filter(|&k| x[k])
                    .map(|k| cand[k])
                    .chain(forced.inn.iter().copied())
                    .collect();
                s.sort_unstable();
                s
            })
            .collect();
        self.joint_many(&sets[1..], false);
        let ids = |it: &mut dyn Iterator<Item = usize>| -> Vec<String> {
            it.map(|i| scored[i].id.clone()).collect()
        };
        let mut out = Vec::with_capacity(sets.len());
        for (k, s) in sets.iter().enumerate() {
            let x = &listed[k].0;
            let value = value_of(x);
            out.push(Alternative {
                rank: k as u32,
                segments: ids(&mut s.iter().copied()),
                cost_usd: s.iter().map(|&i| scored[i].cost_usd).sum(),
                value_in_choice_usd: value,
                below_best_usd: (best - value).max(0.0),
                npv_net_joint_usd: self.net_together(scored, s),
                adds: ids(&mut s.iter().copied().filter(|i| !set.contains(i))),
                drops: ids(&mut set.iter().copied().filter(|i| !s.contains(i))),
                proven: listed[k].1,
            });
        }
        for (k, &i) in cand.iter().enumerate() {
            let n = listed.iter().filter(|l| l.0[k]).count();
            scored[i].alternatives_share = Some(n as f64 / listed.len() as f64);
        }
        for &i in &forced.inn {
            scored[i].alternatives_share = Some(1.0);
        }
        Ok(Alternatives {
            asked,
            gap,
            best_value_in_choice_usd: best,
            note,
            sets: out,
        })
    }
}

/// Seconds each alternative's solve may take.
pub const ALTERNATIVE_SECONDS: f64 = 5.0;

/// The portfolio and its near-optimal alternatives (see
/// `Chooser::alternatives`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alternatives {
    /// `road_upgrades.alternatives`, `alternatives_gap`.
    pub asked: u32,
    pub gap: f64,
    /// The best value on the values of the choice (the free candidates').
    pub best_value_in_choice_usd: f64,
    /// Why the list ended early, if it did for another reason than the gap.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The portfolio first (rank 0), then the alternatives.
    pub sets: Vec<Alternative>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alternative {
    pub rank: u32,
    pub segments: Vec<String>,
    pub cost_usd: f64,
    /// Its free segments' values in the choice, added up.
    pub value_in_choice_usd: f64,
    pub below_best_usd: f64,
    pub npv_net_joint_usd: f64,
    /// Segments it funds that the portfolio does not, and the reverse.
    pub adds: Vec<String>,
    pub drops: Vec<String>,
    /// Proven the best set left (false: the solve reached its limit).
    pub proven: bool,
}

/// Each funded segment's importance (see `Chooser::importance`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Importance {
    /// `road_upgrades.importance`.
    pub method: &'static str,
    pub note: String,
    pub segments: Vec<SegmentImportance>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentImportance {
    pub id: String,
    /// Net NPV built together lost without it.
    pub loss_usd: f64,
    /// What it adds in the choice (its value there).
    pub adds_usd: f64,
    /// `loss_usd / adds_usd`.
    pub share: f64,
    pub firmness: &'static str,
    /// The segments the portfolio chosen without it funds instead, and
    /// the other chosen ones it leaves out.
    pub replaced_by: Vec<String>,
    pub also_dropped: Vec<String>,
    /// How far below the best that re-choice may be (0: proven).
    pub gap_usd: f64,
}

/// The share of what a funded segment adds that the portfolio must lose
/// without it for the segment to be firm.
pub const FIRM_SHARE: f64 = 0.5;

/// Whether a segment is worth improving (a candidate unless forced out).
fn worth(s: &ScoredSegment) -> bool {
    matches!(
        s.class,
        SegmentClass::Improve | SegmentClass::ImproveWithSafeguards
    )
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

    /// Every eligible segment left out is explained; for a candidate, the
    /// best set that funds it is worth what brute force finds, and the
    /// segments it drops are chosen ones.
    #[test]
    fn every_left_out_segment_gets_the_best_set_that_funds_it() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for case in 0..30 {
            let n = rng.gen_range(2..12);
            let values: Vec<f64> = (0..n).map(|_| rng.gen_range(-1e6..5e6)).collect();
            let costs: Vec<f64> = (0..n).map(|_| rng.gen_range(1e5..4e6)).collect();
            let eligible: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.85)).collect();
            let budget = rng.gen_range(1e6..1.2e7);
            let vals: Vec<f64> = (0..n)
                .map(|i| if eligible[i] { values[i] } else { 0.0 })
                .collect();
            let chosen = select_within_budget(&vals, &costs, budget, 10.0)
                .unwrap()
                .chosen;
            let ids: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
            let segs: Vec<Seg> = (0..n)
                .map(|i| Seg {
                    id: &ids[i],
                    rank: (n - i) as u32,
                    npv_net_usd: vals[i],
                })
                .collect();
            let out = left_out(&segs, &eligible, &vals, &costs, &chosen, budget).unwrap();
            let want: Vec<usize> = (0..n).filter(|&i| eligible[i] && !chosen[i]).collect();
            assert_eq!(out.len(), want.len(), "case {case}");
            let best: f64 = (0..n).filter(|&i| chosen[i]).map(|i| vals[i]).sum();
            for o in &out {
                let i: usize = o.id[1..].parse().unwrap();
                assert!(!o.why.is_empty());
                match o.shortfall_usd {
                    None => assert!(vals[i] <= 0.0 || costs[i] > budget, "case {case} {}", o.id),
                    Some(short) => {
                        // It, and the best of the rest in what it leaves
                        // of the budget (itself again at no value).
                        let mut rest = vals.clone();
                        rest[i] = 0.0;
                        let no_area = vec![0.0; n];
                        let with_i = vals[i]
                            + crate::solve::select::best_by_enumeration(
                                &rest,
                                &costs,
                                &no_area,
                                budget - costs[i],
                                0.0,
                            )
                            .unwrap();
                        assert!(
                            (short - (best - with_i).max(0.0)).abs() < 1.0 + 1e-9 * best,
                            "case {case} {}: {short} vs {}",
                            o.id,
                            best - with_i
                        );
                        for d in &o.displaced {
                            let j: usize = d[1..].parse().unwrap();
                            assert!(chosen[j], "case {case}: {d} was not chosen");
                        }
                    }
                }
            }
        }
    }

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
