//! SPEC section C, road segments: which to improve, weighing the economic
//! benefit of faster travel against the deforestation it invites.
//!
//! Roads are split into segments at junctions and at a maximum length. Each
//! segment's upgrade (one class up; a primary road is rehabilitated) is run
//! through the incremental accessibility engine; the cells whose travel time
//! drops give the benefits (people's time, farm freight, vehicle operating
//! costs) and, through the risk model, the extra forest loss and its carbon
//! cost. Segments are classed, ranked by Pareto layers on (NPV_econ up,
//! forest loss down) then NPV_net, and a budgeted portfolio is chosen
//! exactly with a MIP solver, then re-checked with all chosen upgrades
//! together.

mod appraise;
mod area_distance;
mod classify;
mod frontier;
mod leave_one_out;
mod portfolio;
pub mod red;
mod segments;

pub use appraise::{gate_for, upgrade_jobs, Appraiser, Effects};
pub use classify::{classify, pareto_layers, SegmentClass};
pub use frontier::{frontier, FrontierPoint};
pub use leave_one_out::{leave_one_out, leave_one_out_with, LooMemo};
pub use portfolio::{
    select_within_budget, AccessChange, Alternative, Alternatives, Forced, ForcedCost,
    ForcedReport, Importance, Portfolio, SegmentImportance, ACCESS_THRESHOLDS_MIN, FIRM_SHARE,
};
pub use segments::{segments, segments_and_outside, Outside, Piece, Segment};

use appraise::*;
use area_distance::*;
use classify::*;
use leave_one_out::*;
use portfolio::*;

use indicatif::ProgressBar;
use serde::Serialize;

use crate::config::RoadClass;
use crate::error::Result;

/// Everything a planner reads about one segment.
#[derive(Debug, Clone, Serialize)]
pub struct ScoredSegment {
    pub id: String,
    /// The road's name (`[roads] name_field`), when it has one.
    pub name: Option<String>,
    pub class_from: RoadClass,
    pub upgrade_to: String,
    pub length_km: f64,
    pub mean_slope_deg: f64,
    /// The counted traffic (`[roads] aadt_field`), motor vehicles a day.
    pub aadt: Option<f64>,
    pub cost_usd: f64,
    pub extra_maintenance_usd_per_year: f64,
    /// Where the traffic comes from: counted, or modelled from the people
    /// and marketed output whose way to market the upgrade makes faster.
    pub aadt_source: red::TrafficSource,
    /// Motor vehicles a day in the first year: normal traffic and the
    /// traffic the upgrade generates.
    pub aadt_normal: f64,
    pub aadt_generated: f64,
    /// Road-user benefit (RED consumer surplus, plus the producer surplus
    /// under that method) in the first year after the works, US$; it grows
    /// with the traffic.
    pub annual_benefit_usd: f64,
    /// The producer-surplus part of it (0 under the consumer-surplus
    /// method), US$.
    pub producer_surplus_usd: f64,
    /// The first year's benefit per person-hour and per tonne-hour that
    /// modelled users save (how a set of upgrades is valued together).
    #[serde(skip)]
    pub benefit_per_person_hour_usd: f64,
    #[serde(skip)]
    pub benefit_per_tonne_hour_usd: f64,
    pub pv_benefit_usd: f64,
    pub npv_econ_usd: f64,
    pub bcr: f64,
    pub eirr: Option<f64>,
    /// Switching values: the % rise in cost, and the % fall in benefit, at
    /// which NPV_econ (and NPV_net, the carbon cost held) reaches zero; none
    /// where it is at or below zero already.
    pub switch_cost_econ_pct: Option<f64>,
    pub switch_benefit_econ_pct: Option<f64>,
    pub switch_cost_net_pct: Option<f64>,
    pub switch_benefit_net_pct: Option<f64>,
    #[serde(flatten)]
    pub effects: Effects,
    pub npv_net_usd: f64,
    /// ha of extra loss per US$1 M of economic benefit (PV); None when the
    /// upgrade brings no benefit.
    pub intensity_ha_per_musd: Option<f64>,
    pub through_conservation: bool,
    pub distance_to_conservation_km: f64,
    pub class: SegmentClass,
    pub reasons: String,
    pub pareto_layer: u32,
    pub rank: u32,
    pub in_portfolio: bool,
    /// For a candidate of the portfolio: the value the last budgeted choice
    /// gave it (its NPV_net, or its marginal value beside the segments it
    /// was chosen with in a re-check); none for a segment not a candidate.
    pub value_in_choice_usd: Option<f64>,
    /// For a funded segment: the net NPV (built together) the portfolio
    /// loses when it is forbidden and the portfolio chosen again.
    pub importance_usd: Option<f64>,
    /// That loss as a share of what the segment adds to the portfolio.
    pub importance_share: Option<f64>,
    /// "firm", "interchangeable" (see `FIRM_SHARE`) or "forced".
    pub firmness: Option<&'static str>,
    /// For a candidate: the share of the listed sets (the portfolio and
    /// its near-optimal alternatives) that fund it (Marxan's selection
    /// frequency).
    pub alternatives_share: Option<f64>,
}

/// The roads stage's whole answer.
#[derive(Debug, Clone)]
pub struct RoadsResult {
    pub segments: Vec<Segment>,
    pub scored: Vec<ScoredSegment>,
    pub portfolio: Portfolio,
    /// The efficiency frontier of road portfolios by budget.
    pub frontier: Vec<FrontierPoint>,
    /// What a planner should check (modelled traffic above the low-volume
    /// band on small roads).
    pub warnings: Vec<String>,
    /// The network outside the AOI, left out of the appraisal.
    pub outside: Outside,
}

/// Score every segment, rank, and choose the portfolio.
pub fn score(a: &Appraiser, bar: &ProgressBar) -> Result<RoadsResult> {
    let (segs, outside) = segments_and_outside(a.inp, a.p);
    bar.set_length(segs.len() as u64);
    let jobs = upgrade_jobs(a, &segs);
    let mut scored = appraise_all(a, &segs, &jobs, bar);
    rank(&mut scored);
    let mut warnings = traffic_warnings(&scored, a.p.low_volume_aadt);
    if outside.segments > 0 {
        warnings.push(format!(
            "note: {} road segment(s), {:.1} km ({} road feature(s) wholly), lie outside the AOI: they carry travel but are not appraised, ranked or counted",
            outside.segments, outside.km, outside.features
        ));
    }
    // The portfolio's joint re-check takes a while on real networks: each
    // round counts its segments on the bar (ticking while a large one runs).
    bar.set_message("portfolio");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    // (HiGHS solves stay on this thread: the frontier's beside the
    // re-check's failed with "HiGHS error while solving model".)
    let ids: Vec<&str> = scored.iter().map(|s| s.id.as_str()).collect();
    let forced = Forced::from_ids(&a.p.force_in, &a.p.force_out, &ids)?;
    let mut chooser = Chooser::new(a, &scored, &jobs, bar);
    let portfolio = if forced.is_empty() {
        chooser.portfolio(&mut scored, &forced, true)?
    } else {
        forced_portfolio(&mut chooser, &mut scored, &forced)?
    };
    let frontier = frontier(&scored, a.p.road_budget_usd, 20, &forced)?;
    Ok(RoadsResult {
        segments: segs,
        scored,
        portfolio,
        frontier,
        warnings,
        outside,
    })
}

/// The portfolio with the landscape file's forced choices, and what they
/// cost: the free optimum (nothing forced) and each forced choice alone
/// are chosen the same way, joint re-check included, on copies of the
/// segments; the cost is the loss of net NPV built together against the
/// free optimum.
fn forced_portfolio(
    chooser: &mut Chooser,
    scored: &mut [ScoredSegment],
    forced: &Forced,
) -> Result<Portfolio> {
    let (free_segments, free_net) = chooser.value_with(scored, &Forced::default())?;
    let mut p = chooser.portfolio(scored, forced, true)?;
    let choices = forced.each();
    let mut each = Vec::new();
    for &(i, inn) in &choices {
        // (one choice forced: the portfolio just chosen is its own)
        let alone = if choices.len() == 1 {
            p.npv_net_joint_usd
        } else {
            let one = Forced {
                inn: if inn { vec![i] } else { vec![] },
                out: if inn { vec![] } else { vec![i] },
            };
            chooser.value_with(scored, &one)?.1
        };
        each.push(portfolio::ForcedCost {
            id: scored[i].id.clone(),
            forced: if inn { "in" } else { "out" },
            cost_usd: free_net - alone,
        });
    }
    let ids = |v: &[usize]| v.iter().map(|&i| scored[i].id.clone()).collect();
    p.forced = Some(portfolio::ForcedReport {
        force_in: ids(&forced.inn),
        force_out: ids(&forced.out),
        free_segments,
        free_npv_net_joint_usd: free_net,
        cost_usd: free_net - p.npv_net_joint_usd,
        each,
    });
    Ok(p)
}

/// A modelled traffic above the low-volume band on a track or tertiary
/// road: the trips behind it deserve a look (a count, or the trip rates).
/// Five segments by name, then a count.
fn traffic_warnings(scored: &[ScoredSegment], low_volume_aadt: f64) -> Vec<String> {
    let high: Vec<&ScoredSegment> = scored
        .iter()
        .filter(|s| {
            s.aadt_source == red::TrafficSource::Modelled
                && matches!(s.class_from, RoadClass::Track | RoadClass::Tertiary)
                && s.aadt_normal > low_volume_aadt
        })
        .collect();
    let mut out: Vec<String> = high
        .iter()
        .take(5)
        .map(|s| {
            format!(
                "road segment {}{} ({}): modelled traffic of {:.0} vehicles a day is above the low-volume band of {:.0} (road_upgrades.low_volume_aadt) for a {} road; check it against a count (an `aadt` field) or the trip rates (road_upgrades.trips_per_household_week)",
                s.id,
                s.name.as_deref().map(|n| format!(" '{n}'")).unwrap_or_default(),
                s.class_from.as_str(),
                s.aadt_normal,
                low_volume_aadt,
                s.class_from.as_str()
            )
        })
        .collect();
    if high.len() > 5 {
        out.push(format!(
            "{} more track or tertiary road segments have a modelled traffic above {:.0} vehicles a day (roads.csv: aadt_normal)",
            high.len() - 5,
            low_volume_aadt
        ));
    }
    out
}
