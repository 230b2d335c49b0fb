//! SPEC section G, finance: the whole plan's yearly investment and returns
//! by component, its NPV, IRR, benefit-cost ratio, return multiple and
//! payback year, a capital stack per phase moving towards private capital,
//! and a seeded Monte Carlo of the return multiple and NPV.
//!
//! One yearly ledger (`Streams`) holds every money figure; the headline,
//! the Monte Carlo, the sensitivity, the capital stack and every output
//! are derived from it. Components and timing:
//! - roads: the portfolio's cost, spread evenly over phase 1; each year's
//!   tranche brings its share of the portfolio's joint road-user benefit
//!   (growing with the traffic), costs its share of the extra maintenance,
//!   and emits its share of the carbon of the forest loss the roads invite,
//!   each tonne in the year it is lost, from the next year on;
//! - parcels: each selected parcel is established in a year of its phase
//!   (spread evenly in priority order); from the next year it earns its
//!   transition's net revenue ramp above the baseline, and its carbon;
//! - extension / technical assistance: a share of parcel investment, paid
//!   with it;
//! - conservation: each funding source pays what the allocation gives it
//!   (a yearly average over the horizon) in its own years only, years 1 to
//!   its `years`; the emissions it avoids fall in the year the forest would
//!   have been lost, (1-p)^(t-1) p of each cell;
//! - climate-risk insurance: a yearly premium.
//!
//! Carbon is valued one way everywhere: each tonne at the carbon price,
//! discounted by the year it is emitted (a road's extra loss) or avoided
//! (a conservation area) or sequestered (a transition).
//!
//! The capital continuum: each phase's investment lines are funded by a
//! linear program (`blend`) that maximises commercial money subject to
//! each kind of capital's terms: philanthropic money asks for nothing,
//! public money funds what has a policy return (roads, insurance,
//! conservation sources declared public), concessional lenders want their
//! below-market rate, guarantors a fee on the first-loss cover they give,
//! and commercial investors their hurdle rate with at most a given chance
//! of earning less.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use rayon::prelude::*;
use serde::Serialize;

use crate::cashflow::{irr, npv};
use crate::config::{Capital, Economics, FinanceParams, FundingSource, TransitionParams};
use crate::conservation::FundingResult;
use crate::error::{Error, Result};
use crate::parcels::ParcelsResult;
use crate::roads::Portfolio;

/// Yearly streams, index = year (0 unused, 1..=H).
#[derive(Debug, Clone, Serialize)]
pub struct Streams {
    pub roads_cost: Vec<f64>,
    /// The portfolio's extra maintenance, from the year after each tranche.
    pub roads_maintenance: Vec<f64>,
    pub parcels_cost: Vec<f64>,
    pub extension_cost: Vec<f64>,
    pub conservation_cost: Vec<f64>,
    pub insurance_cost: Vec<f64>,
    pub roads_benefit: Vec<f64>,
    /// Net revenue above the baseline.
    pub parcels_revenue: Vec<f64>,
    /// tCO2 sequestered by transitions each year.
    pub parcels_tco2: Vec<f64>,
    /// tCO2 of forest loss avoided each year by transitions inside the
    /// Green Halo (pressure taken off the forest edge).
    pub parcels_avoided_tco2: Vec<f64>,
    /// tCO2 of avoided loss in conservation areas each year.
    pub conservation_tco2: Vec<f64>,
    /// tCO2 emitted each year by the extra forest loss the road portfolio
    /// invites: the plan's carbon is what transitions sequester and
    /// conservation avoids, less this (money spent stays the investment).
    pub roads_tco2: Vec<f64>,
    /// tCO2 the portfolio's induced loss emits after the horizon (the
    /// appraisal follows each tranche for the horizon's length after its
    /// works; the plan stops at its horizon).
    pub roads_tco2_after_horizon: f64,
    /// Conservation management money by source: name, capital, US$ each
    /// year (the sum over sources is `conservation_cost`).
    pub conservation_by_source: Vec<(String, Capital, Vec<f64>)>,
    /// Parcel establishment by phase and transition (the capital stack's
    /// investment lines).
    pub parcel_lines: Vec<ParcelLine>,
}

/// The selected parcels of one transition established in one phase.
#[derive(Debug, Clone, Serialize)]
pub struct ParcelLine {
    pub phase: u8,
    pub transition: String,
    /// Establishment cost by plan year.
    pub cost_by_year: Vec<f64>,
    /// Establishment cost of the whole line, US$.
    pub investment_usd: f64,
    /// The line's net revenue above the baseline by years since
    /// establishment (index 0 unused), over the horizon, at base prices:
    /// what an investor in the line is paid from.
    pub revenue_by_age: Vec<f64>,
}

impl Streams {
    fn new(h: usize) -> Streams {
        let z = vec![0.0; h + 1];
        Streams {
            roads_cost: z.clone(),
            roads_maintenance: z.clone(),
            parcels_cost: z.clone(),
            extension_cost: z.clone(),
            conservation_cost: z.clone(),
            insurance_cost: z.clone(),
            roads_benefit: z.clone(),
            parcels_revenue: z.clone(),
            parcels_tco2: z.clone(),
            parcels_avoided_tco2: z.clone(),
            roads_tco2: z.clone(),
            roads_tco2_after_horizon: 0.0,
            conservation_tco2: z,
            conservation_by_source: Vec::new(),
            parcel_lines: Vec::new(),
        }
    }

    /// Costs and benefits per year under multipliers.
    pub fn flows(&self, m: &Multipliers) -> (Vec<f64>, Vec<f64>) {
        let h = self.roads_cost.len();
        let cost: Vec<f64> = (0..h)
            .map(|t| {
                m.costs
                    * (self.roads_cost[t]
                        + self.roads_maintenance[t]
                        + self.parcels_cost[t]
                        + self.extension_cost[t]
                        + self.conservation_cost[t]
                        + self.insurance_cost[t])
            })
            .collect();
        let benefit: Vec<f64> = (0..h)
            .map(|t| {
                m.road_traffic * self.roads_benefit[t]
                    + m.prices * m.yields * self.parcels_revenue[t]
                    + m.carbon_price
                        * (self.parcels_tco2[t]
                            + self.parcels_avoided_tco2[t]
                            + self.conservation_tco2[t]
                            - self.roads_tco2[t])
            })
            .collect();
        (cost, benefit)
    }
}

/// Multipliers of one Monte Carlo draw (1 and the base rate and carbon
/// price for the deterministic run).
#[derive(Debug, Clone, Copy)]
pub struct Multipliers {
    pub prices: f64,
    pub yields: f64,
    pub costs: f64,
    /// US$ per tCO2.
    pub carbon_price: f64,
    pub discount_rate: f64,
    /// Road traffic, and so road-user benefits, x base.
    pub road_traffic: f64,
}

impl Multipliers {
    /// Every factor at its base value: the deterministic plan.
    pub fn base(e: &Economics) -> Multipliers {
        Multipliers {
            prices: 1.0,
            yields: 1.0,
            costs: 1.0,
            carbon_price: e.carbon_price_usd_per_tco2,
            discount_rate: e.discount_rate,
            road_traffic: 1.0,
        }
    }
}

/// Headline figures of a set of flows.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Headline {
    pub investment_usd: f64,
    pub returns_usd: f64,
    pub npv_usd: f64,
    /// None where the net flows never change sign.
    pub irr: Option<f64>,
    pub bcr: f64,
    pub return_multiple: f64,
    /// First year when cumulative net flow turns non-negative.
    pub payback_year: Option<u32>,
}

pub fn headline(cost: &[f64], benefit: &[f64], r: f64) -> Headline {
    let net: Vec<f64> = cost.iter().zip(benefit).map(|(c, b)| b - c).collect();
    let investment: f64 = cost.iter().sum();
    let returns: f64 = benefit.iter().sum();
    let pv_c = npv(cost, r);
    let pv_b = npv(benefit, r);
    let mut cum = 0.0;
    let mut payback = None;
    let mut was_negative = false;
    for (t, n) in net.iter().enumerate() {
        cum += n;
        if cum < 0.0 {
            was_negative = true;
            payback = None;
        } else if was_negative && payback.is_none() {
            payback = Some(t as u32);
        }
    }
    Headline {
        investment_usd: investment,
        returns_usd: returns,
        npv_usd: npv(&net, r),
        irr: irr(&net),
        bcr: if pv_c > 0.0 { pv_b / pv_c } else { 0.0 },
        return_multiple: if investment > 0.0 {
            returns / investment
        } else {
            0.0
        },
        payback_year: payback,
    }
}

/// Monte Carlo quantiles.
#[derive(Debug, Clone, Serialize)]
pub struct MonteCarlo {
    pub draws: usize,
    pub seed: u64,
    pub return_multiple_p10: f64,
    pub return_multiple_p50: f64,
    pub return_multiple_p90: f64,
    pub npv_usd_p10: f64,
    pub npv_usd_p50: f64,
    pub npv_usd_p90: f64,
    /// Share of draws whose NPV is below zero.
    pub p_npv_negative: f64,
    /// Every draw's return multiple, sorted (for the report's histogram).
    #[serde(skip)]
    pub return_multiples: Vec<f64>,
    /// Every draw's NPV, sorted.
    #[serde(skip)]
    pub npvs: Vec<f64>,
}

/// One bar of the tornado: the plan with one factor at the 10th and the
/// 90th percentile of its Monte Carlo distribution, every other at base.
#[derive(Debug, Clone, Serialize)]
pub struct Sensitivity {
    pub factor: &'static str,
    /// The factor's low and high values (multipliers of the base for
    /// prices, yields and costs; US$/tCO2; a rate per year).
    pub low: f64,
    pub high: f64,
    pub base: f64,
    pub unit: &'static str,
    pub return_multiple_low: f64,
    pub return_multiple_high: f64,
    pub npv_usd_low: f64,
    pub npv_usd_high: f64,
}

/// A factor of the tornado: name, unit, base value, (P10, P90), setter.
type Factor = (
    &'static str,
    &'static str,
    f64,
    (f64, f64),
    fn(&mut Multipliers, f64),
);

/// The 90th percentile of the standard normal.
const Z90: f64 = 1.281_551_565_544_600_4;

/// One-at-a-time sensitivity at the Monte Carlo spreads (P10 and P90 of
/// each factor), ordered by the NPV swing, widest first.
pub fn sensitivity(s: &Streams, fp: &FinanceParams, e: &Economics) -> Vec<Sensitivity> {
    let base = Multipliers::base(e);
    // Quantiles of the mean-one log-normal the Monte Carlo draws.
    let ln = |sd: f64| {
        (
            (-0.5 * sd * sd - Z90 * sd).exp(),
            (-0.5 * sd * sd + Z90 * sd).exp(),
        )
    };
    let cp = e.carbon_price_usd_per_tco2;
    let (cl, ch) = ln(fp.sd_carbon_price);
    let factors: [Factor; 6] = [
        ("prices", "x base", 1.0, ln(fp.sd_prices), |m, v| {
            m.prices = v
        }),
        ("yields", "x base", 1.0, ln(fp.sd_yields), |m, v| {
            m.yields = v
        }),
        ("costs", "x base", 1.0, ln(fp.sd_costs), |m, v| m.costs = v),
        (
            "road traffic",
            "x base",
            1.0,
            ln(fp.sd_road_traffic),
            |m, v| m.road_traffic = v,
        ),
        (
            "carbon price",
            "US$/tCO2",
            cp,
            (cp * cl, cp * ch),
            |m, v| m.carbon_price = v,
        ),
        (
            "discount rate",
            "per year",
            e.discount_rate,
            (
                (e.discount_rate - Z90 * fp.sd_discount_rate).max(0.0),
                e.discount_rate + Z90 * fp.sd_discount_rate,
            ),
            |m, v| m.discount_rate = v,
        ),
    ];
    let at = |set: fn(&mut Multipliers, f64), v: f64| {
        let mut m = base;
        set(&mut m, v);
        let (c, b) = s.flows(&m);
        headline(&c, &b, m.discount_rate)
    };
    let mut out: Vec<Sensitivity> = factors
        .into_iter()
        .map(|(factor, unit, b, (lo, hi), set)| {
            let (l, h) = (at(set, lo), at(set, hi));
            Sensitivity {
                factor,
                low: lo,
                high: hi,
                base: b,
                unit,
                return_multiple_low: l.return_multiple,
                return_multiple_high: h.return_multiple,
                npv_usd_low: l.npv_usd,
                npv_usd_high: h.npv_usd,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let w = |x: &Sensitivity| (x.npv_usd_high - x.npv_usd_low).abs();
        w(b).total_cmp(&w(a))
    });
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Finance {
    pub streams: Streams,
    /// Yearly costs and benefits at base values (index = year).
    pub cost: Vec<f64>,
    pub benefit: Vec<f64>,
    pub headline: Headline,
    pub by_component_usd: Vec<(String, f64)>,
    pub capital_stack: Vec<PhaseStack>,
    /// Each phase's farm investment lines and how the LP funds them.
    pub capital_lines: Vec<LineStack>,
    pub monte_carlo: MonteCarlo,
    pub sensitivity: Vec<Sensitivity>,
    /// US$ per tCO2 of the base run.
    pub carbon_price_usd_per_tco2: f64,
}

/// Yearly payments of each funding source: the allocation's yearly average
/// over the horizon, paid in the source's own years (1 to `years`).
pub fn source_payments(
    funding: &FundingResult,
    sources: &[FundingSource],
    h: usize,
) -> Vec<(String, Capital, Vec<f64>)> {
    funding
        .sources
        .iter()
        .map(|(name, _offered, used)| {
            let src = sources.iter().find(|s| &s.name == name);
            let n = src
                .map(|s| s.years as usize)
                .unwrap_or(h)
                .clamp(1, h.max(1));
            let cap = src.map(|s| s.capital).unwrap_or(Capital::Philanthropic);
            let mut v = vec![0.0; h + 1];
            for y in v.iter_mut().take(n + 1).skip(1) {
                *y = used * h as f64 / n as f64;
            }
            (name.clone(), cap, v)
        })
        .collect()
}

/// Build the ledger from the stages' results (parcels carry their
/// establishment year, see `parcels::run`).
pub fn streams(
    portfolio: &Portfolio,
    parcels: &ParcelsResult,
    funding: &FundingResult,
    sources: &[FundingSource],
    tp: &TransitionParams,
    fp: &FinanceParams,
    e: &Economics,
) -> Streams {
    let h = e.horizon_years as usize;
    let mut s = Streams::new(h);
    // Roads: phase 1, evenly; benefits and maintenance follow each tranche.
    let [p1, _, _] = crate::parcels::phase_years(fp, e.horizon_years);
    if !p1.is_empty() && portfolio.cost_usd > 0.0 {
        let share = 1.0 / p1.len() as f64;
        for &y in &p1 {
            s.roads_cost[y] += portfolio.cost_usd * share;
            let mut benefit = portfolio.annual_benefit_joint_usd * share;
            for t in y + 1..=h {
                s.roads_benefit[t] += benefit;
                benefit *= 1.0 + portfolio.traffic_growth;
                s.roads_maintenance[t] += portfolio.extra_maintenance_usd_per_year * share;
                // The forest the tranche's roads invite to be cleared, in
                // the year it is lost.
                if let Some(tco2) = portfolio.tco2_by_year_after_opening.get(t - y - 1) {
                    s.roads_tco2[t] += tco2 * share;
                }
            }
            let within = h.saturating_sub(y);
            s.roads_tco2_after_horizon += portfolio
                .tco2_by_year_after_opening
                .iter()
                .skip(within)
                .sum::<f64>()
                * share;
        }
    }
    // Parcels in their establishment years, by phase and transition line;
    // the same flows `parcels::in_plan` values them by.
    let avoided_tco2 = crate::parcels::avoided_tco2_per_halo_ha_year(tp, e);
    let mut lines: std::collections::BTreeMap<(u8, String), ParcelLine> = Default::default();
    for p in parcels.parcels.iter().filter(|p| p.selected) {
        let (Some(y), Some(phase)) = (p.establishment_year, p.phase) else {
            continue;
        };
        let Some(t) = tp.catalogue.iter().find(|t| t.name == p.transition) else {
            continue;
        };
        let y = y as usize;
        let a = p.stats.area_ha;
        let base = tp.baseline(p.current_use);
        let net = |age: usize| a * crate::parcels::net_revenue_per_ha(t, base, age);
        s.parcels_cost[y] += p.investment_usd;
        s.extension_cost[y] += p.investment_usd * fp.extension_share_of_parcels;
        for yr in y + 1..=h {
            s.parcels_revenue[yr] += net(yr - y);
            s.parcels_tco2[yr] += a * t.sequestration_tco2_per_ha_year;
            s.parcels_avoided_tco2[yr] += a * p.stats.halo_fraction.max(0.0) * avoided_tco2;
        }
        let line = lines
            .entry((phase, p.transition.clone()))
            .or_insert_with(|| ParcelLine {
                phase,
                transition: p.transition.clone(),
                cost_by_year: vec![0.0; h + 1],
                investment_usd: 0.0,
                revenue_by_age: vec![0.0; h + 1],
            });
        line.cost_by_year[y] += p.investment_usd;
        line.investment_usd += p.investment_usd;
        for age in 1..=h {
            line.revenue_by_age[age] += net(age);
        }
    }
    s.parcel_lines = lines.into_values().collect();
    // Conservation: each source in its own years; avoided emissions in the
    // year the loss would have happened.
    s.conservation_by_source = source_payments(funding, sources, h);
    for (_, _, v) in &s.conservation_by_source {
        for t in 1..=h {
            s.conservation_cost[t] += v[t];
        }
    }
    for a in &funding.areas {
        for (t, v) in a
            .avoided_tco2_by_year
            .iter()
            .enumerate()
            .take(h + 1)
            .skip(1)
        {
            s.conservation_tco2[t] += v;
        }
    }
    for t in 1..=h {
        s.insurance_cost[t] = fp.insurance_usd_per_year;
    }
    s
}

/// One investment line offered to the capital continuum.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub name: String,
    pub amount_usd: f64,
    /// Expected yearly return on the amount (the line's IRR at base
    /// prices; 0 when it has none).
    pub expected_return: f64,
    /// Chance the line earns less than the commercial hurdle rate (Monte
    /// Carlo).
    pub p_loss: f64,
    /// First-loss cover a commercial investor needs per dollar to keep
    /// its own chance of loss within its limit: the line's loss share at
    /// that quantile of the Monte Carlo.
    pub cover_per_dollar: f64,
}

/// What each kind of capital asks for.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    pub hurdle_rate: f64,
    pub concessional_rate: f64,
    pub guarantee_fee: f64,
}

/// How one line is funded.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Blend {
    pub commercial_usd: f64,
    pub concessional_usd: f64,
    pub philanthropic_usd: f64,
    pub guarantee_cover_usd: f64,
}

/// The capital continuum's linear program for one phase. For each line i
/// of amount A, expected return r, cover need q, choose commercial c,
/// concessional k, philanthropic g and guarantee cover G (all >= 0):
///
/// - c + k + g = A (the line is funded);
/// - hurdle x c + concessional rate x k + fee x G <= max(r, 0) x A (the
///   line's return pays each its terms; philanthropic money asks none);
/// - G >= q x c (a partial credit guarantee covers the first q of the
///   commercial money, so its chance of loss stays within its limit);
/// - sum k <= concessional capacity, sum G <= guarantee capacity.
///
/// First the commercial total is maximised; then, holding it, concessional
/// money is preferred to grants and as little guarantee used as possible.
pub fn blend(
    lines: &[Line],
    terms: &Terms,
    concessional_cap: f64,
    guarantee_cap: f64,
) -> Result<Vec<Blend>> {
    use crate::solve::{lp_constraint as constraint, Expression, Lp, Variable};
    let live: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].amount_usd > 0.0)
        .collect();
    let mut out = vec![Blend::default(); lines.len()];
    if live.is_empty() {
        return Ok(out);
    }
    // Money in US$ millions keeps the LP well scaled.
    let k = 1e6;
    let solve = |fixed: Option<&[[f64; 4]]>| -> Result<Vec<[f64; 4]>> {
        let mut m = Lp::new();
        let v: Vec<[Variable; 4]> = live.iter().map(|_| [(); 4].map(|_| m.var(0.0))).collect();
        let sum = |j: usize| -> Expression { v.iter().map(|x| Expression::from(x[j])).sum() };
        let objective = if fixed.is_none() {
            sum(0)
        } else {
            sum(1) - sum(3)
        };
        for (n, (x, &i)) in v.iter().zip(&live).enumerate() {
            let l = &lines[i];
            let a = l.amount_usd / k;
            m.with(constraint!(x[0] + x[1] + x[2] == a));
            m.with(constraint!(
                terms.hurdle_rate * x[0]
                    + terms.concessional_rate * x[1]
                    + terms.guarantee_fee * x[3]
                    <= l.expected_return.max(0.0) * a
            ));
            m.with(constraint!(x[3] >= l.cover_per_dollar * x[0]));
            if let Some(f) = fixed {
                m.with(constraint!(x[0] == f[n][0] / k));
            }
        }
        m.with(constraint!(sum(1) <= concessional_cap / k));
        m.with(constraint!(sum(3) <= guarantee_cap / k));
        let sol = m.maximise(objective, "the capital stack LP")?;
        Ok(v.iter()
            .zip(&live)
            .map(|(x, &i)| {
                // The solver's tolerance (1e-9 of a line) snapped to the
                // line's ends: no cents of concessional money from noise.
                let a = lines[i].amount_usd;
                x.map(|y| {
                    let y = sol.value(y) * k;
                    if y.abs() <= 1e-7 * a {
                        0.0
                    } else if (y - a).abs() <= 1e-7 * a {
                        a
                    } else {
                        y
                    }
                })
            })
            .collect())
    };
    // Most commercial money first; then, holding each line's commercial
    // money, concessional before grants and the least guarantee.
    let first = solve(None)?;
    let second = solve(Some(&first))?;
    for (x, &i) in second.iter().zip(&live) {
        let a = lines[i].amount_usd;
        let c = x[0].min(a);
        let kk = x[1].min(a - c);
        out[i] = Blend {
            commercial_usd: c,
            concessional_usd: kk,
            philanthropic_usd: (a - c - kk).max(0.0),
            guarantee_cover_usd: x[3],
        };
    }
    Ok(out)
}

/// Each parcel line's risk profile from the same draws as the plan's Monte
/// Carlo: its expected return (IRR at base prices), the chance it earns
/// less than the commercial hurdle rate (a commercial investor's loss),
/// and the first-loss cover per dollar that keeps that chance within the
/// investor's limit. A draw's loss share is the shortfall of the present
/// value of the line's revenue at the hurdle rate against its cost.
pub fn parcel_line_risk(
    l: &ParcelLine,
    fp: &FinanceParams,
    e: &Economics,
    hurdle: f64,
    seed: u64,
) -> (f64, f64, f64) {
    let mut flows = vec![-l.investment_usd];
    flows.extend(l.revenue_by_age.iter().skip(1));
    let r = irr(&flows).unwrap_or(0.0);
    let mut revenue = l.revenue_by_age.clone();
    revenue[0] = 0.0;
    let pv_revenue = npv(&revenue, hurdle);
    let n = fp.monte_carlo_draws.max(1);
    let mut loss: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|k| {
            let m = draw(fp, e, seed, k);
            let cost = m.costs * l.investment_usd;
            if cost <= 0.0 {
                0.0
            } else {
                // An investor loses at most what it put in.
                (1.0 - m.prices * m.yields * pv_revenue / cost).clamp(0.0, 1.0)
            }
        })
        .collect();
    loss.sort_by(|a, b| a.total_cmp(b));
    let p_loss = loss.iter().filter(|x| **x > 0.0).count() as f64 / n as f64;
    let q = quantile(&loss, 1.0 - fp.commercial_max_loss_probability);
    (r, p_loss, q)
}

/// One phase's capital stack.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseStack {
    pub phase: u8,
    pub years: String,
    pub investment_usd: f64,
    pub philanthropic_usd: f64,
    pub public_usd: f64,
    /// Development-bank and other below-market lending.
    pub concessional_usd: f64,
    /// Commercial money.
    pub private_usd: f64,
    /// First-loss cover the development-bank guarantee gives commercial
    /// investors (a contingent liability, not money spent), and its limit.
    pub guarantee_cover_usd: f64,
    pub guarantee_capacity_usd: f64,
    pub private_share: f64,
    pub target_private_share: f64,
    pub target_met: bool,
    /// The same phase funded with no guarantee, and with guarantee and
    /// concessional money unlimited (the most the lines can take).
    pub private_share_without_guarantee: f64,
    pub private_share_unlimited_support: f64,
    pub note: String,
}

/// Funding of one parcel line in its phase.
#[derive(Debug, Clone, Serialize)]
pub struct LineStack {
    pub phase: u8,
    #[serde(flatten)]
    pub line: Line,
    #[serde(flatten)]
    pub blend: Blend,
}

/// The capital stack per phase: the fixed lines by their natural capital
/// (roads and their maintenance, insurance: public; extension:
/// philanthropic; conservation: each source's capital) and the parcel lines
/// by the capital continuum's LP.
pub fn capital_stack(
    s: &Streams,
    fp: &FinanceParams,
    terms: &Terms,
    e: &Economics,
    seed: u64,
) -> Result<(Vec<PhaseStack>, Vec<LineStack>)> {
    let risks: Vec<(f64, f64, f64)> = s
        .parcel_lines
        .iter()
        .map(|l| parcel_line_risk(l, fp, e, terms.hurdle_rate, seed))
        .collect();
    let mut out = Vec::new();
    let mut line_out = Vec::new();
    let phases = crate::parcels::phase_years(fp, e.horizon_years);
    for (k, years) in phases.iter().enumerate() {
        let sum = |v: &Vec<f64>| years.iter().map(|y| v[*y]).sum::<f64>();
        // The lines with no cash return for investors, by their capital.
        let (mut phil, mut public, mut conc, mut private) = (0.0, 0.0, 0.0, 0.0);
        public += sum(&s.roads_cost) + sum(&s.roads_maintenance) + sum(&s.insurance_cost);
        phil += sum(&s.extension_cost);
        for (_, cap, v) in &s.conservation_by_source {
            let x = sum(v);
            match cap {
                Capital::Philanthropic => phil += x,
                Capital::Public => public += x,
                Capital::DevelopmentBankGuarantee => conc += x,
                Capital::Private => private += x,
            }
        }
        let (fixed_private, no_return) = (private, phil + public + conc);
        let idx: Vec<usize> = (0..s.parcel_lines.len())
            .filter(|&i| s.parcel_lines[i].phase == k as u8 + 1)
            .collect();
        let lines: Vec<Line> = idx
            .iter()
            .map(|&i| {
                let l = &s.parcel_lines[i];
                let (r, p_loss, q) = risks[i];
                Line {
                    name: l.transition.clone(),
                    amount_usd: sum(&l.cost_by_year),
                    expected_return: r,
                    p_loss,
                    cover_per_dollar: q,
                }
            })
            .collect();
        let (cc, gc) = (
            fp.concessional_usd_per_phase[k],
            fp.guarantee_usd_per_phase[k],
        );
        // A solver failure names what shaped the model.
        let shaped = |err: Error| {
            Error::Usage(format!(
                "{err}; the model is shaped by {} investment lines of phase {} (their returns at economics.discount_rate = {}), finance.concessional_usd_per_phase = US${} and finance.guarantee_usd_per_phase = US${}",
                lines.len(),
                k + 1,
                e.discount_rate,
                crate::fmt::fmt_int(cc),
                crate::fmt::fmt_int(gc)
            ))
        };
        let with = blend(&lines, terms, cc, gc).map_err(shaped)?;
        let without = blend(&lines, terms, cc, 0.0).map_err(shaped)?;
        let unlimited = blend(&lines, terms, 1e15, 1e15).map_err(shaped)?;
        let total_lines: f64 = lines.iter().map(|l| l.amount_usd).sum();
        let commercial = |b: &[Blend]| b.iter().map(|x| x.commercial_usd).sum::<f64>();
        for b in &with {
            private += b.commercial_usd;
            conc += b.concessional_usd;
            phil += b.philanthropic_usd;
        }
        let cover: f64 = with.iter().map(|b| b.guarantee_cover_usd).sum();
        let total = phil + public + conc + private;
        let share_of = |c: f64| {
            if total > 0.0 {
                (fixed_private + c) / total
            } else {
                0.0
            }
        };
        let share = share_of(commercial(&with));
        let target = fp.target_private_share[k];
        let met = total == 0.0 || share + 1e-9 >= target;
        let (s_without, s_unlimited) = (
            share_of(commercial(&without)),
            share_of(commercial(&unlimited)),
        );
        let note = if met {
            format!(
                "commercial money {:.1}% of the phase, at or above the {:.0}% target{}",
                100.0 * share,
                100.0 * target,
                if share > s_without + 1e-9 {
                    format!(
                        "; without the guarantee it would be {:.1}%",
                        100.0 * s_without
                    )
                } else {
                    String::new()
                }
            )
        } else {
            let cover_unlimited: f64 = unlimited.iter().map(|b| b.guarantee_cover_usd).sum();
            let mut why = vec![format!(
                "commercial money {:.1}% of the phase against a {:.0}% target",
                100.0 * share,
                100.0 * target
            )];
            if s_unlimited > share + 1e-9 {
                why.push(format!(
                    "guarantee cover of US${} (limit US${}) and enough concessional lending would raise it to {:.1}%",
                    crate::fmt::fmt_int(cover_unlimited),
                    crate::fmt::fmt_int(gc),
                    100.0 * s_unlimited
                ));
            }
            if s_unlimited + 1e-9 < target && total > 0.0 {
                why.push(format!(
                    "the rest cannot pay commercial terms: roads, maintenance, insurance, technical assistance and conservation not paid by private sources (US${}, {:.0}% of the phase) return no cash to investors{}",
                    crate::fmt::fmt_int(no_return),
                    100.0 * no_return / total,
                    if total_lines > commercial(&unlimited) + 1.0 {
                        format!(
                            ", and US${} of farm lines earn below the {:.0}% hurdle even with grants and guarantees",
                            crate::fmt::fmt_int(total_lines - commercial(&unlimited)),
                            100.0 * terms.hurdle_rate
                        )
                    } else {
                        String::new()
                    }
                ));
                why.push(format!(
                    "closing the gap needs US${} more private money in the phase, for example carbon buyers paying for conservation management (a funding source with capital = \"private\")",
                    crate::fmt::fmt_int(target * total - fixed_private - commercial(&unlimited))
                ));
            }
            why.join("; ")
        };
        let (a, b) = (
            years.first().copied().unwrap_or(0),
            years.last().copied().unwrap_or(0),
        );
        out.push(PhaseStack {
            phase: k as u8 + 1,
            years: format!("{a}-{b}"),
            investment_usd: total,
            philanthropic_usd: phil,
            public_usd: public,
            concessional_usd: conc,
            private_usd: private,
            guarantee_cover_usd: cover,
            guarantee_capacity_usd: gc,
            private_share: share,
            target_private_share: target,
            target_met: met,
            private_share_without_guarantee: s_without,
            private_share_unlimited_support: s_unlimited,
            note,
        });
        for (l, b) in lines.into_iter().zip(with) {
            line_out.push(LineStack {
                phase: k as u8 + 1,
                line: l,
                blend: b,
            });
        }
    }
    Ok((out, line_out))
}

pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Draw k of the Monte Carlo: its own generator seeded from (seed, k), so
/// results do not depend on the number of threads, and the plan and each
/// investment line see the same draws.
pub fn draw(fp: &FinanceParams, e: &Economics, seed: u64, k: usize) -> Multipliers {
    let ln = |sd: f64| LogNormal::new(-0.5 * sd * sd, sd).expect("finite spread");
    let dr = Normal::new(e.discount_rate, fp.sd_discount_rate.max(0.0)).expect("finite spread");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(k as u64 + 1);
    // The order of the draws is part of the seed's meaning.
    let prices = ln(fp.sd_prices).sample(&mut rng);
    let yields = ln(fp.sd_yields).sample(&mut rng);
    let costs = ln(fp.sd_costs).sample(&mut rng);
    let carbon = ln(fp.sd_carbon_price).sample(&mut rng);
    let discount_rate = dr.sample(&mut rng).max(0.0);
    let road_traffic = ln(fp.sd_road_traffic).sample(&mut rng);
    Multipliers {
        prices,
        yields,
        costs,
        carbon_price: e.carbon_price_usd_per_tco2 * carbon,
        discount_rate,
        road_traffic,
    }
}

/// Seeded, parallel Monte Carlo of the plan (see `draw`).
pub fn monte_carlo(s: &Streams, fp: &FinanceParams, e: &Economics, seed: u64) -> MonteCarlo {
    let n = fp.monte_carlo_draws.max(1);
    let results: Vec<(f64, f64)> = (0..n)
        .into_par_iter()
        .map(|k| {
            let m = draw(fp, e, seed, k);
            let (c, b) = s.flows(&m);
            let hl = headline(&c, &b, m.discount_rate);
            (hl.return_multiple, hl.npv_usd)
        })
        .collect();
    let mut rm: Vec<f64> = results.iter().map(|r| r.0).collect();
    let mut nv: Vec<f64> = results.iter().map(|r| r.1).collect();
    rm.sort_by(|a, b| a.total_cmp(b));
    nv.sort_by(|a, b| a.total_cmp(b));
    MonteCarlo {
        draws: n,
        seed,
        return_multiple_p10: quantile(&rm, 0.1),
        return_multiple_p50: quantile(&rm, 0.5),
        return_multiple_p90: quantile(&rm, 0.9),
        npv_usd_p10: quantile(&nv, 0.1),
        npv_usd_p50: quantile(&nv, 0.5),
        npv_usd_p90: quantile(&nv, 0.9),
        p_npv_negative: nv.iter().filter(|x| **x < 0.0).count() as f64 / n as f64,
        return_multiples: rm,
        npvs: nv,
    }
}

/// The whole stage: the ledger, its headline, the capital stack, the
/// Monte Carlo and the sensitivity. Parcels carry their establishment
/// years (`parcels::run`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    portfolio: &Portfolio,
    parcels: &ParcelsResult,
    funding: &FundingResult,
    sources: &[FundingSource],
    tp: &TransitionParams,
    fp: &FinanceParams,
    e: &Economics,
    seed: u64,
) -> Result<Finance> {
    let s = streams(portfolio, parcels, funding, sources, tp, fp, e);
    let base = Multipliers::base(e);
    let (c, b) = s.flows(&base);
    let hl = headline(&c, &b, e.discount_rate);
    let total = |v: &Vec<f64>| v.iter().sum::<f64>();
    let by_component = vec![
        ("roads".to_string(), total(&s.roads_cost)),
        ("road_maintenance".to_string(), total(&s.roads_maintenance)),
        ("parcels".to_string(), total(&s.parcels_cost)),
        (
            "extension_technical_assistance".to_string(),
            total(&s.extension_cost),
        ),
        ("conservation".to_string(), total(&s.conservation_cost)),
        (
            "climate_risk_insurance".to_string(),
            total(&s.insurance_cost),
        ),
    ];
    let terms = Terms {
        hurdle_rate: tp.hurdle_rate,
        concessional_rate: fp.concessional_rate,
        guarantee_fee: fp.guarantee_fee,
    };
    let (stack, lines) = capital_stack(&s, fp, &terms, e, seed)?;
    let mc = monte_carlo(&s, fp, e, seed);
    let sensitivity = sensitivity(&s, fp, e);
    Ok(Finance {
        streams: s,
        cost: c,
        benefit: b,
        headline: hl,
        by_component_usd: by_component,
        capital_stack: stack,
        capital_lines: lines,
        monte_carlo: mc,
        sensitivity,
        carbon_price_usd_per_tco2: e.carbon_price_usd_per_tco2,
    })
}

impl Finance {
    /// The plan's returns over the horizon (undiscounted, at base values)
    /// split into cash (farmers' net revenue above their baseline, and
    /// carbon at the carbon price: sequestered and avoided, less what the
    /// roads' induced forest loss emits) and economic benefits no one is
    /// paid in cash (the road-user benefits: time and vehicle costs saved).
    pub fn returns_cash_and_not(&self) -> (f64, f64) {
        let s = &self.streams;
        let total = |v: &[f64]| v.iter().sum::<f64>();
        let carbon = self.carbon_price_usd_per_tco2
            * (total(&s.parcels_tco2)
                + total(&s.parcels_avoided_tco2)
                + total(&s.conservation_tco2)
                - total(&s.roads_tco2));
        (total(&s.parcels_revenue) + carbon, total(&s.roads_benefit))
    }
}

/// The Alto Mayo pilot's published headline figures (SPEC: the first
/// public Green Halo plan, San Martín, Peru).
pub const PILOT_INVESTMENT_USD: f64 = 67.0e6;
pub const PILOT_RETURNS_USD: f64 = 135.0e6;
pub const PILOT_TRANSITIONED_KM2: f64 = 300.0;
pub const PILOT_CONSERVATION_KM2: f64 = 1910.0;
pub const PILOT_PRIVATE_SHARE_LATER: f64 = 0.70;

/// One line of the comparison with the pilot.
#[derive(Debug, Clone, Serialize)]
pub struct PilotRow {
    pub figure: &'static str,
    pub unit: &'static str,
    /// The pilot's published value; "more than" / "about" in `pilot_text`.
    pub pilot: f64,
    pub pilot_text: &'static str,
    pub greenhalo: f64,
    /// greenhalo / pilot.
    pub ratio: f64,
    /// The assumptions that make the difference, in words.
    pub why: String,
}

/// This plan beside the pilot's headline figures, each difference put
/// down to the settings and inputs that cause it.
pub fn pilot_comparison(
    f: &Finance,
    parcels: &ParcelsResult,
    funding: &FundingResult,
    cfg: &crate::config::LandscapeConfig,
) -> Vec<PilotRow> {
    use crate::fmt::fmt_int;
    let comp = |name: &str| {
        f.by_component_usd
            .iter()
            .find(|c| c.0 == name)
            .map(|c| c.1)
            .unwrap_or(0.0)
    };
    let h = cfg.economics.horizon_years;
    let m = |v: f64| format!("US${} M", fmt_int(v / 1e6));
    let s = &f.streams;
    let total = |v: &Vec<f64>| v.iter().sum::<f64>();
    let (cash, non_cash) = f.returns_cash_and_not();
    let carbon = cash - total(&s.parcels_revenue);
    let funded_km2: f64 = funding
        .areas
        .iter()
        .map(|a| a.needs.area_km2 * a.funded_share)
        .sum();
    let area_km2: f64 = funding.areas.iter().map(|a| a.needs.area_km2).sum();
    let later = f
        .capital_stack
        .last()
        .map(|p| p.private_share)
        .unwrap_or(0.0);
    let row = |figure, unit, pilot: f64, pilot_text, ours: f64, why: String| PilotRow {
        figure,
        unit,
        pilot,
        pilot_text,
        greenhalo: ours,
        ratio: if pilot != 0.0 { ours / pilot } else { 0.0 },
        why,
    };
    let t = &cfg.transitions;
    vec![
        row(
            "investment",
            "US$",
            PILOT_INVESTMENT_USD,
            "US$67 M",
            f.headline.investment_usd,
            format!(
                "set by the budgets in the landscape file: roads {} (road_upgrades.road_budget_usd {}), farmland {} (transitions.parcel_budget_usd {}) plus {:.0}% technical assistance, conservation management {} over {h} years at US${}/km² a year, road maintenance {} and insurance {}",
                m(comp("roads")),
                m(cfg.road_upgrades.road_budget_usd),
                m(comp("parcels")),
                m(t.parcel_budget_usd),
                100.0 * cfg.finance.extension_share_of_parcels,
                m(comp("conservation")),
                fmt_int(cfg.conservation_funding.management_usd_per_km2_year),
                m(comp("road_maintenance")),
                m(comp("climate_risk_insurance")),
            ),
        ),
        row(
            "returns over the horizon",
            "US$",
            PILOT_RETURNS_USD,
            "US$135 M",
            f.headline.returns_usd,
            format!(
                "road-user benefits {} (RED consumer surplus: time and vehicle costs the portfolio's traffic saves), farmers' net revenue above their baseline {} (the catalogue's mature revenue and ramp), carbon {} at US${:.0}/tCO2 (economics.carbon_price_usd_per_tco2; sequestered and avoided, less what the roads' induced forest loss emits)",
                m(total(&s.roads_benefit)),
                m(total(&s.parcels_revenue)),
                m(carbon),
                f.carbon_price_usd_per_tco2,
            ),
        ),
        row(
            "return multiple",
            "x",
            PILOT_RETURNS_USD / PILOT_INVESTMENT_USD,
            "about 2:1",
            f.headline.return_multiple,
            "returns over investment, both undiscounted: the two rows above".into(),
        ),
        row(
            "return multiple, cash returns only",
            "x",
            PILOT_RETURNS_USD / PILOT_INVESTMENT_USD,
            "about 2:1",
            if f.headline.investment_usd > 0.0 {
                cash / f.headline.investment_usd
            } else {
                0.0
            },
            format!(
                "cash returns {} (farmers' net revenue and carbon, which can be sold) over the investment; the road-user benefits ({}) are economic benefits, not cash anyone is paid, and are left out here so the multiple compares like with like",
                m(cash),
                m(non_cash)
            ),
        ),
        row(
            "farmland transitioned",
            "km²",
            PILOT_TRANSITIONED_KM2,
            "more than 300 km²",
            parcels.selected_ha / 100.0,
            format!(
                "the parcels on the map that a transition pays for, within the farm budget ({}) and the area target ({} km², transitions.area_target_km2, capped at what the landscape has)",
                m(t.parcel_budget_usd),
                fmt_int(parcels.target_ha / 100.0)
            ),
        ),
        row(
            "conservation area funded",
            "km²",
            PILOT_CONSERVATION_KM2,
            "about 1,910 km²",
            funded_km2,
            format!(
                "{} km² of conservation areas lie inside the AOI (the parts of areas beyond it are not counted); the funding sources' yearly money covers {:.0}% of their management cost at US${}/km² a year",
                fmt_int(area_km2),
                100.0 * funding.funded_share(),
                fmt_int(cfg.conservation_funding.management_usd_per_km2_year),
            ),
        ),
        row(
            "private share, last phase",
            "share",
            PILOT_PRIVATE_SHARE_LATER,
            "about 70%",
            later,
            format!(
                "the capital continuum's LP: farm lines at or above the {:.0}% hurdle with at most {:.0}% chance of earning less take commercial money, up to the guarantee cover (finance.guarantee_usd_per_phase); roads, conservation and technical assistance return no cash to investors",
                100.0 * t.hurdle_rate,
                100.0 * cfg.finance.commercial_max_loss_probability,
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_of_a_written_out_flow() {
        // Costs 100 in year 1; benefits 30 in years 2-6.
        let cost = [0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let benefit = [0.0, 0.0, 30.0, 30.0, 30.0, 30.0, 30.0];
        let h = headline(&cost, &benefit, 0.1);
        let hand_npv = -100.0 / 1.1 + (2..=6).map(|t| 30.0 / 1.1f64.powi(t)).sum::<f64>();
        assert!((h.npv_usd - hand_npv).abs() < 1e-9);
        assert!((h.return_multiple - 1.5).abs() < 1e-12);
        // Cumulative: -100, -70, -40, -10, +20 in year 5.
        assert_eq!(h.payback_year, Some(5));
        let irr = h.irr.unwrap();
        let net: Vec<f64> = cost.iter().zip(&benefit).map(|(c, b)| b - c).collect();
        assert!(npv(&net, irr).abs() < 1e-9);
        // All costs and no benefits: no IRR, no payback.
        let h = headline(&[0.0, 5.0], &[0.0, 0.0], 0.1);
        assert_eq!((h.irr, h.payback_year), (None, None));
    }

    #[test]
    fn sensitivity_moves_one_factor_at_its_p10_and_p90() {
        // Cost 100 in year 1, revenue 30 a year in years 2-3, 10 tCO2 a year.
        let mut s = Streams::new(3);
        s.parcels_cost[1] = 100.0;
        s.parcels_revenue[2] = 30.0;
        s.parcels_revenue[3] = 30.0;
        s.parcels_tco2[2] = 10.0;
        s.parcels_tco2[3] = 10.0;
        let e = Economics {
            horizon_years: 3,
            discount_rate: 0.1,
            carbon_price_usd_per_tco2: 5.0,
            ..Economics::default()
        };
        let fp = FinanceParams {
            sd_prices: 0.2,
            sd_yields: 0.0,
            sd_discount_rate: 0.02,
            ..FinanceParams::default()
        };
        let t = sensitivity(&s, &fp, &e);
        let get = |f: &str| t.iter().find(|x| x.factor == f).unwrap();
        let p = get("prices");
        let lo = (-0.02f64 - Z90 * 0.2).exp();
        assert!((p.low - lo).abs() < 1e-12);
        // Returns 60 x price multiplier + 100 of carbon, over 100 invested.
        assert!((p.return_multiple_low - (60.0 * lo + 100.0) / 100.0).abs() < 1e-12);
        // No spread, no swing.
        let y = get("yields");
        assert_eq!(y.return_multiple_low, y.return_multiple_high);
        // The discount rate leaves the undiscounted multiple alone but not the NPV.
        let d = get("discount rate");
        assert_eq!(d.return_multiple_low, d.return_multiple_high);
        let net = [0.0, -100.0, 80.0, 80.0];
        assert!((d.npv_usd_high - npv(&net, 0.1 + Z90 * 0.02)).abs() < 1e-9);
        assert!(d.npv_usd_low > d.npv_usd_high);
    }

    /// Road traffic moves the road-user benefits alone, at the P10 and P90
    /// of its log-normal, and the roads' emissions are netted from the
    /// carbon at the carbon price.
    #[test]
    fn road_traffic_moves_the_road_benefits_and_road_carbon_is_netted() {
        // Roads: 100 spent in year 1, 40 of benefit a year in years 2-3,
        // and 2 tCO2 emitted in year 2 by the forest loss they invite.
        let mut s = Streams::new(3);
        s.roads_cost[1] = 100.0;
        s.roads_benefit[2] = 40.0;
        s.roads_benefit[3] = 40.0;
        s.roads_tco2[2] = 2.0;
        let e = Economics {
            horizon_years: 3,
            discount_rate: 0.1,
            carbon_price_usd_per_tco2: 5.0,
            ..Economics::default()
        };
        let fp = FinanceParams {
            sd_road_traffic: 0.3,
            ..FinanceParams::default()
        };
        let (c, b) = s.flows(&Multipliers::base(&e));
        assert_eq!(c, vec![0.0, 100.0, 0.0, 0.0]);
        assert_eq!(b, vec![0.0, 0.0, 40.0 - 10.0, 40.0]);
        let t = sensitivity(&s, &fp, &e);
        let r = t.iter().find(|x| x.factor == "road traffic").unwrap();
        let (lo, hi) = ((-0.045f64 - Z90 * 0.3).exp(), (-0.045f64 + Z90 * 0.3).exp());
        assert!((r.low - lo).abs() < 1e-12 && (r.high - hi).abs() < 1e-12);
        assert!((r.return_multiple_low - (80.0 * lo - 10.0) / 100.0).abs() < 1e-12);
        assert!((r.return_multiple_high - (80.0 * hi - 10.0) / 100.0).abs() < 1e-12);
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.1) - 1.4).abs() < 1e-12);
    }

    #[test]
    fn capital_continuum_of_two_lines_and_a_guarantee_matches_the_hand_solution() {
        // Line A: US$100, 12% a year, a commercial investor needs 20% of
        // first-loss cover. Line B: US$100, 5% a year, never short.
        // Commercial 10% hurdle, concessional 3% (US$50 available),
        // guarantee fee 1% on at most US$10 of cover.
        let line = |name: &str, r: f64, q: f64| Line {
            name: name.into(),
            amount_usd: 100.0,
            expected_return: r,
            p_loss: 0.0,
            cover_per_dollar: q,
        };
        let lines = [line("A", 0.12, 0.2), line("B", 0.05, 0.0)];
        let terms = Terms {
            hurdle_rate: 0.10,
            concessional_rate: 0.03,
            guarantee_fee: 0.01,
        };
        let close = |got: Blend, want: [f64; 4]| {
            let g = [
                got.commercial_usd,
                got.concessional_usd,
                got.philanthropic_usd,
                got.guarantee_cover_usd,
            ];
            for (a, b) in g.iter().zip(want) {
                assert!((a - b).abs() < 1e-6, "{g:?} vs {want:?}");
            }
        };
        // B: 10% x c <= 5% x 100, so c = 50, and its return is spent: no
        // concessional money, grants for the other 50.
        // A: cover 0.2 c <= 10, so c = 50 with G = 10 (return used: 5 + 0.1
        // of 12); then concessional takes the other 50 (1.5 more), which
        // uses the US$50 available.
        let b = blend(&lines, &terms, 50.0, 10.0).unwrap();
        close(b[0], [50.0, 50.0, 0.0, 10.0]);
        close(b[1], [50.0, 0.0, 50.0, 0.0]);
        // Without the guarantee A takes no commercial money: 50 of 200
        // private instead of 100.
        let b = blend(&lines, &terms, 50.0, 0.0).unwrap();
        close(b[0], [0.0, 50.0, 50.0, 0.0]);
        close(b[1], [50.0, 0.0, 50.0, 0.0]);
        // Unlimited cover: A's return allows 12 / (0.10 + 0.2 x 0.01) =
        // 117.6 > 100, so all of A is commercial with 20 of cover.
        let b = blend(&lines, &terms, 50.0, 1e9).unwrap();
        close(b[0], [100.0, 0.0, 0.0, 20.0]);
        close(b[1], [50.0, 0.0, 50.0, 0.0]);
    }
}
