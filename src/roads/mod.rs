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
mod segments;

pub use appraise::{gate_for, upgrade_jobs, Appraiser, Effects};
pub use classify::{classify, pareto_layers, SegmentClass};
pub use frontier::{frontier, FrontierPoint};
pub use leave_one_out::{leave_one_out, leave_one_out_with, LooMemo};
pub use portfolio::{select_within_budget, Portfolio};
pub use segments::{segments, Piece, Segment};

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
    pub aadt: Option<f64>,
    pub cost_usd: f64,
    pub extra_maintenance_usd_per_year: f64,
    pub voc_benefit_usd: f64,
    pub annual_benefit_usd: f64,
    pub pv_benefit_usd: f64,
    pub npv_econ_usd: f64,
    pub bcr: f64,
    pub eirr: Option<f64>,
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
}

/// The roads stage's whole answer.
#[derive(Debug, Clone)]
pub struct RoadsResult {
    pub segments: Vec<Segment>,
    pub scored: Vec<ScoredSegment>,
    pub portfolio: Portfolio,
    /// The efficiency frontier of road portfolios by budget.
    pub frontier: Vec<FrontierPoint>,
}

/// Score every segment, rank, and choose the portfolio.
pub fn score(a: &Appraiser, bar: &ProgressBar) -> Result<RoadsResult> {
    let segs = segments(a.inp, a.p);
    bar.set_length(segs.len() as u64);
    let jobs = upgrade_jobs(a, &segs);
    let mut scored = appraise_all(a, &segs, &jobs, bar);
    rank(&mut scored);
    // The portfolio's joint re-check takes a while on real networks: say so
    // rather than leave the finished bar standing still.
    bar.set_message("portfolio re-check");
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    // (HiGHS solves stay on this thread: the frontier's beside the
    // re-check's failed with "HiGHS error while solving model".)
    let portfolio = choose_portfolio(a, &mut scored, &jobs)?;
    let frontier = frontier(&scored, 20)?;
    Ok(RoadsResult {
        segments: segs,
        scored,
        portfolio,
        frontier,
    })
}
