//! SPEC section G, finance: the whole plan's yearly investment and returns
//! by component, its NPV, IRR, benefit-cost ratio, return multiple and
//! payback year, a capital stack per phase moving towards private capital,
//! and a seeded Monte Carlo of the return multiple and NPV.
//!
//! Components and timing:
//! - roads: the portfolio's cost, spread evenly over phase 1; each year's
//!   tranche brings its share of the portfolio's joint yearly benefit from
//!   the next year on;
//! - parcels: each selected parcel is established in a year of its phase
//!   (spread evenly in priority order); from the next year it earns its
//!   transition's net revenue ramp above the baseline, and its carbon;
//! - extension / technical assistance: a share of parcel investment, paid
//!   with it;
//! - conservation: the allocated management money every year; the value of
//!   the loss it avoids, spread evenly over the horizon;
//! - climate-risk insurance: a yearly premium.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use rayon::prelude::*;
use serde::Serialize;

use crate::cashflow::{irr, npv};
use crate::config::{Capital, Economics, FinanceParams, TransitionParams};
use crate::conservation::FundingResult;
use crate::parcels::ParcelsResult;
use crate::roads::Portfolio;

/// Yearly streams, index = year (0 unused, 1..=H).
#[derive(Debug, Clone, Serialize)]
pub struct Streams {
    pub roads_cost: Vec<f64>,
    pub parcels_cost: Vec<f64>,
    pub extension_cost: Vec<f64>,
    pub conservation_cost: Vec<f64>,
    pub insurance_cost: Vec<f64>,
    pub roads_benefit: Vec<f64>,
    /// Net revenue above the baseline.
    pub parcels_revenue: Vec<f64>,
    /// tCO2 sequestered by transitions each year.
    pub parcels_tco2: Vec<f64>,
    /// tCO2 of avoided loss in conservation areas each year.
    pub conservation_tco2: Vec<f64>,
}

impl Streams {
    fn new(h: usize) -> Streams {
        let z = vec![0.0; h + 1];
        Streams {
            roads_cost: z.clone(),
            parcels_cost: z.clone(),
            extension_cost: z.clone(),
            conservation_cost: z.clone(),
            insurance_cost: z.clone(),
            roads_benefit: z.clone(),
            parcels_revenue: z.clone(),
            parcels_tco2: z.clone(),
            conservation_tco2: z,
        }
    }

    /// Costs and benefits per year under multipliers.
    pub fn flows(&self, m: &Multipliers) -> (Vec<f64>, Vec<f64>) {
        let h = self.roads_cost.len();
        let cost: Vec<f64> = (0..h)
            .map(|t| {
                m.costs
                    * (self.roads_cost[t]
                        + self.parcels_cost[t]
                        + self.extension_cost[t]
                        + self.conservation_cost[t]
                        + self.insurance_cost[t])
            })
            .collect();
        let benefit: Vec<f64> = (0..h)
            .map(|t| {
                self.roads_benefit[t]
                    + m.prices * m.yields * self.parcels_revenue[t]
                    + m.carbon_price * (self.parcels_tco2[t] + self.conservation_tco2[t])
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

/// One phase's capital stack.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseStack {
    pub phase: u8,
    pub years: String,
    pub investment_usd: f64,
    pub philanthropic_usd: f64,
    pub public_usd: f64,
    pub development_bank_guarantee_usd: f64,
    pub private_usd: f64,
    pub private_share: f64,
    pub target_private_share: f64,
    pub target_met: bool,
    pub note: String,
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
    let factors: [Factor; 5] = [
        ("prices", "x base", 1.0, ln(fp.sd_prices), |m, v| {
            m.prices = v
        }),
        ("yields", "x base", 1.0, ln(fp.sd_yields), |m, v| {
            m.yields = v
        }),
        ("costs", "x base", 1.0, ln(fp.sd_costs), |m, v| m.costs = v),
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
    pub monte_carlo: MonteCarlo,
    pub sensitivity: Vec<Sensitivity>,
}

fn phase_of(year: u32, starts: &[u32; 3]) -> usize {
    if year >= starts[2] {
        2
    } else if year >= starts[1] {
        1
    } else {
        0
    }
}

/// Build the streams from the stages' results.
#[allow(clippy::too_many_arguments)]
pub fn streams(
    portfolio: &Portfolio,
    parcels: &ParcelsResult,
    funding: &FundingResult,
    tp: &TransitionParams,
    fp: &FinanceParams,
    e: &Economics,
) -> Streams {
    let h = e.horizon_years as usize;
    let mut s = Streams::new(h);
    let starts = fp.phase_start_years;
    let phase_years = |k: usize| -> Vec<usize> {
        let a = starts[k] as usize;
        let b = if k < 2 { starts[k + 1] as usize - 1 } else { h };
        (a.max(1)..=b.min(h)).collect()
    };
    // Roads: phase 1, evenly; benefits follow each tranche.
    let p1 = phase_years(0);
    if !p1.is_empty() && portfolio.cost_usd > 0.0 {
        let share = 1.0 / p1.len() as f64;
        for &y in &p1 {
            s.roads_cost[y] += portfolio.cost_usd * share;
            for t in y + 1..=h {
                s.roads_benefit[t] += portfolio.annual_benefit_joint_usd * share;
            }
        }
    }
    // Parcels by phase, in priority (rank) order, spread over the phase.
    for k in 0..3 {
        let years = phase_years(k);
        if years.is_empty() {
            continue;
        }
        let mut sel: Vec<&crate::parcels::ParcelResult> = parcels
            .parcels
            .iter()
            .filter(|p| p.selected && p.phase == Some(k as u8 + 1))
            .collect();
        sel.sort_by_key(|p| p.rank);
        for (j, p) in sel.iter().enumerate() {
            let y = years[j * years.len() / sel.len().max(1)];
            let Some(t) = tp.catalogue.iter().find(|t| t.name == p.transition) else {
                continue;
            };
            let a = p.stats.area_ha;
            let base = tp.baseline(p.current_use);
            s.parcels_cost[y] += p.investment_usd;
            s.extension_cost[y] += p.investment_usd * fp.extension_share_of_parcels;
            for yr in y + 1..=h {
                let age = (yr - y) as f64;
                let m = t.years_to_maturity.max(1) as f64;
                s.parcels_revenue[yr] +=
                    a * (t.mature_net_revenue_usd_per_ha * (age / m).min(1.0) - base);
                s.parcels_tco2[yr] += a * t.sequestration_tco2_per_ha_year;
            }
        }
    }
    // Conservation and insurance, every year.
    let cons_money: f64 = funding.areas.iter().map(|a| a.allocated_usd_per_year).sum();
    let cons_tco2: f64 = funding.areas.iter().map(|a| a.avoided_tco2).sum();
    for t in 1..=h {
        s.conservation_cost[t] = cons_money;
        s.conservation_tco2[t] = cons_tco2 / h as f64;
        s.insurance_cost[t] = fp.insurance_usd_per_year;
    }
    s
}

/// The capital stack per phase. Natural sources: roads and insurance are
/// public; grants and technical assistance philanthropic; concessional
/// loans carry a development-bank guarantee; commercial finance is private;
/// conservation money comes from each source's configured layer. To reach
/// the target private share, guaranteed concessional lending is opened to
/// private lenders (the guarantee crowds them in); what remains short is
/// reported.
pub fn capital_stack(
    parcels: &ParcelsResult,
    funding: &FundingResult,
    cons_capital: &[(String, Capital)],
    s: &Streams,
    fp: &FinanceParams,
    h: usize,
) -> Vec<PhaseStack> {
    let starts = fp.phase_start_years;
    let mut out = Vec::new();
    for k in 0..3 {
        let years: Vec<usize> = (1..=h)
            .filter(|y| phase_of(*y as u32, &starts) == k)
            .collect();
        let sum = |v: &Vec<f64>| years.iter().map(|y| v[*y]).sum::<f64>();
        let (mut phil, mut public, mut guar, mut private) = (0.0, 0.0, 0.0, 0.0);
        public += sum(&s.roads_cost) + sum(&s.insurance_cost);
        phil += sum(&s.extension_cost);
        // Parcels by instrument.
        for p in parcels
            .parcels
            .iter()
            .filter(|p| p.selected && p.phase == Some(k as u8 + 1))
        {
            match p.instrument.as_deref() {
                Some("grant_technical_assistance") => phil += p.investment_usd,
                Some("concessional_loan") => guar += p.investment_usd,
                _ => private += p.investment_usd,
            }
        }
        // Conservation by source layer.
        let n_years = years.len() as f64;
        for (name, _avail, used) in &funding.sources {
            let cap = cons_capital
                .iter()
                .find(|c| &c.0 == name)
                .map(|c| c.1)
                .unwrap_or(Capital::Philanthropic);
            let v = used * n_years;
            match cap {
                Capital::Philanthropic => phil += v,
                Capital::Public => public += v,
                Capital::DevelopmentBankGuarantee => guar += v,
                Capital::Private => private += v,
            }
        }
        let total = phil + public + guar + private;
        let target = fp.target_private_share[k];
        let mut note = String::new();
        if total > 0.0 && private / total < target {
            let need = target * total - private;
            let moved = need.min(guar);
            guar -= moved;
            private += moved;
            if moved > 0.0 {
                note = format!(
                    "US${moved:.0} of guaranteed concessional lending opened to private lenders"
                );
            }
        }
        let share = if total > 0.0 { private / total } else { 0.0 };
        let met = total == 0.0 || share + 1e-9 >= target;
        if !met {
            let msg = format!(
                "target {:.0}% private not reachable: bankable investments allow {:.1}% (roads, grants and public conservation money are not private)",
                target * 100.0,
                share * 100.0
            );
            note = if note.is_empty() {
                msg
            } else {
                format!("{note}; {msg}")
            };
        }
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
            development_bank_guarantee_usd: guar,
            private_usd: private,
            private_share: share,
            target_private_share: target,
            target_met: met,
            note,
        });
    }
    out
}

pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Seeded, parallel Monte Carlo: draw k uses its own generator seeded from
/// (seed, k), so results do not depend on the number of threads.
pub fn monte_carlo(s: &Streams, fp: &FinanceParams, e: &Economics, seed: u64) -> MonteCarlo {
    let n = fp.monte_carlo_draws.max(1);
    let ln = |sd: f64| LogNormal::new(-0.5 * sd * sd, sd).expect("finite spread");
    let (dp, dy, dc, dcp) = (
        ln(fp.sd_prices),
        ln(fp.sd_yields),
        ln(fp.sd_costs),
        ln(fp.sd_carbon_price),
    );
    let dr = Normal::new(e.discount_rate, fp.sd_discount_rate.max(0.0)).expect("finite spread");
    let results: Vec<(f64, f64)> = (0..n)
        .into_par_iter()
        .map(|k| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(k as u64 + 1);
            let m = Multipliers {
                prices: dp.sample(&mut rng),
                yields: dy.sample(&mut rng),
                costs: dc.sample(&mut rng),
                carbon_price: e.carbon_price_usd_per_tco2 * dcp.sample(&mut rng),
                discount_rate: dr.sample(&mut rng).max(0.0),
            };
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

#[allow(clippy::too_many_arguments)]
pub fn run(
    portfolio: &Portfolio,
    parcels: &ParcelsResult,
    funding: &FundingResult,
    cons_capital: &[(String, Capital)],
    tp: &TransitionParams,
    fp: &FinanceParams,
    e: &Economics,
    seed: u64,
) -> Finance {
    let s = streams(portfolio, parcels, funding, tp, fp, e);
    let base = Multipliers::base(e);
    let (c, b) = s.flows(&base);
    let hl = headline(&c, &b, e.discount_rate);
    let by_component = vec![
        ("roads".to_string(), s.roads_cost.iter().sum()),
        ("parcels".to_string(), s.parcels_cost.iter().sum()),
        (
            "extension_technical_assistance".to_string(),
            s.extension_cost.iter().sum(),
        ),
        ("conservation".to_string(), s.conservation_cost.iter().sum()),
        (
            "climate_risk_insurance".to_string(),
            s.insurance_cost.iter().sum(),
        ),
    ];
    let stack = capital_stack(
        parcels,
        funding,
        cons_capital,
        &s,
        fp,
        e.horizon_years as usize,
    );
    let mc = monte_carlo(&s, fp, e, seed);
    let sensitivity = sensitivity(&s, fp, e);
    Finance {
        streams: s,
        cost: c,
        benefit: b,
        headline: hl,
        by_component_usd: by_component,
        capital_stack: stack,
        monte_carlo: mc,
        sensitivity,
    }
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

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert!((quantile(&v, 0.1) - 1.4).abs() < 1e-12);
    }
}
