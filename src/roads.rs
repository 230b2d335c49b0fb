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

use std::collections::{BTreeMap, HashMap};

use geo::{Euclidean, Intersects, Length, LineString};
use indicatif::ProgressBar;
use rayon::prelude::*;
use rstar::primitives::{CachedEnvelope, GeomWithData};
use rstar::RTree;
use serde::Serialize;

use crate::access::Access;
use crate::cashflow::{irr, npv, pv_annuity};
use crate::config::{AccessParams, Economics, RoadClass, RoadUpgradeParams};
use crate::error::{Error, Result};
use crate::halo::Halo;
use crate::inputs::Inputs;
use crate::kernels::cost_distance::{Gate, GateBounds, Scratch};
use crate::kernels::lines::cell_pieces;
use crate::risk::{discounted_loss_share, loss_within, Risk};

/// tCO2 per t C.
const CO2_PER_C: f64 = 44.0 / 12.0;

/// A stretch of road between junctions, at most `max_segment_km` long.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Stable id: source feature id and segment index ("12-3"), with the
    /// source number in front when the landscape has several road sources
    /// ("1:12-3").
    pub id: String,
    /// The stretches of road parts the segment covers: one, or several when
    /// a sliver was joined to a neighbour of the same road across a junction.
    pub pieces: Vec<Piece>,
    pub class: RoadClass,
    pub aadt: Option<f64>,
    /// The road's name (`[roads] name_field`), when it has one.
    pub name: Option<String>,
    pub geom: LineString<f64>,
}

/// A stretch of one road part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub road: u32,
    pub part: u32,
    /// Distance along the road part where the stretch starts and ends, m.
    pub start_m: f64,
    pub end_m: f64,
}

impl Segment {
    pub fn length_km(&self) -> f64 {
        self.pieces.iter().map(|p| p.end_m - p.start_m).sum::<f64>() / 1000.0
    }
}

/// The part of `ls` between distances `a` and `b` along it.
fn substring(ls: &LineString<f64>, a: f64, b: f64) -> LineString<f64> {
    let mut out: Vec<geo::Coord<f64>> = Vec::new();
    let mut along = 0.0;
    for w in ls.0.windows(2) {
        let (p, q) = (w[0], w[1]);
        let len = (q.x - p.x).hypot(q.y - p.y);
        let (s0, s1) = (along, along + len);
        if s1 >= a && s0 <= b && len > 0.0 {
            let t0 = ((a - s0) / len).clamp(0.0, 1.0);
            let t1 = ((b - s0) / len).clamp(0.0, 1.0);
            let at = |t: f64| geo::Coord {
                x: p.x + t * (q.x - p.x),
                y: p.y + t * (q.y - p.y),
            };
            if out.is_empty() {
                out.push(at(t0));
            }
            let e = at(t1);
            if out.last() != Some(&e) {
                out.push(e);
            }
        }
        along = s1;
    }
    if out.len() == 1 {
        out.push(out[0]);
    }
    LineString(out)
}

/// (road, part, distance along the part).
type PartPos = (u32, u32, f64);
type IndexedLine = GeomWithData<geo::Line<f64>, PartPos>;

/// Split every road part at junctions (a part's end within the tolerance of
/// another part, or a vertex two parts share) and at the maximum length.
pub fn segments(inp: &Inputs, p: &RoadUpgradeParams) -> Vec<Segment> {
    let tol = p.junction_tolerance_m.max(0.0);
    // Every line piece of every part, with (road, part, distance along).
    let mut lines: Vec<IndexedLine> = Vec::new();
    for (ri, r) in inp.roads.iter().enumerate() {
        for (pi, part) in r.geom.0.iter().enumerate() {
            let mut along = 0.0;
            for w in part.0.windows(2) {
                let l = geo::Line::new(w[0], w[1]);
                lines.push(GeomWithData::new(l, (ri as u32, pi as u32, along)));
                along += l.length::<Euclidean>();
            }
        }
    }
    let tree = RTree::bulk_load(lines);
    let mut splits: HashMap<(u32, u32), Vec<f64>> = HashMap::new();
    // Vertices shared by several parts.
    let mut seen: HashMap<(u64, u64), Vec<PartPos>> = HashMap::new();
    for (ri, r) in inp.roads.iter().enumerate() {
        for (pi, part) in r.geom.0.iter().enumerate() {
            let mut along = 0.0;
            for (k, c) in part.0.iter().enumerate() {
                if k > 0 {
                    let q = part.0[k - 1];
                    along += (c.x - q.x).hypot(c.y - q.y);
                }
                seen.entry((c.x.to_bits(), c.y.to_bits()))
                    .or_default()
                    .push((ri as u32, pi as u32, along));
            }
        }
    }
    for hits in seen.values() {
        let mut parts: Vec<(u32, u32)> = hits.iter().map(|h| (h.0, h.1)).collect();
        parts.sort_unstable();
        parts.dedup();
        if parts.len() > 1 {
            for h in hits {
                splits.entry((h.0, h.1)).or_default().push(h.2);
            }
        }
    }
    // Part ends near another part: a junction on that part.
    for (ri, r) in inp.roads.iter().enumerate() {
        for (pi, part) in r.geom.0.iter().enumerate() {
            let (Some(first), Some(last)) = (part.0.first(), part.0.last()) else {
                continue;
            };
            for end in [*first, *last] {
                let pt = [end.x, end.y];
                for hit in
                    tree.locate_within_distance(geo::Point::new(pt[0], pt[1]), tol * tol + 1e-9)
                {
                    let (hr, hp, along0) = hit.data;
                    if (hr, hp) == (ri as u32, pi as u32) {
                        continue;
                    }
                    let l = hit.geom();
                    let (dx, dy) = (l.end.x - l.start.x, l.end.y - l.start.y);
                    let len2 = dx * dx + dy * dy;
                    let t = if len2 > 0.0 {
                        (((end.x - l.start.x) * dx + (end.y - l.start.y) * dy) / len2)
                            .clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    splits
                        .entry((hr, hp))
                        .or_default()
                        .push(along0 + t * len2.sqrt());
                }
            }
        }
    }

    let max_m = (p.max_segment_km * 1000.0).max(1.0);
    let multi_source = inp.roads.iter().any(|r| r.source > 0);
    let mut out = Vec::new();
    for (ri, r) in inp.roads.iter().enumerate() {
        let mut index = 0u32;
        for (pi, part) in r.geom.0.iter().enumerate() {
            let total = part.length::<Euclidean>();
            if total <= 0.0 {
                continue;
            }
            let mut cuts: Vec<f64> = splits
                .get(&(ri as u32, pi as u32))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|d| *d > tol && *d < total - tol)
                .collect();
            cuts.push(0.0);
            cuts.push(total);
            cuts.sort_by(|a, b| a.total_cmp(b));
            cuts.dedup_by(|a, b| (*a - *b).abs() <= tol.max(1e-6));
            if let Some(l) = cuts.last_mut() {
                *l = total;
            }
            merge_slivers(&mut cuts, p.min_segment_m);
            for w in cuts.windows(2) {
                let (a, b) = (w[0], w[1]);
                let n = ((b - a) / max_m).ceil().max(1.0) as usize;
                for k in 0..n {
                    let s0 = a + (b - a) * k as f64 / n as f64;
                    let s1 = a + (b - a) * (k + 1) as f64 / n as f64;
                    let id = if multi_source {
                        format!("{}:{}-{}", r.source, r.fid, index)
                    } else {
                        format!("{}-{}", r.fid, index)
                    };
                    out.push(Segment {
                        id,
                        pieces: vec![Piece {
                            road: ri as u32,
                            part: pi as u32,
                            start_m: s0,
                            end_m: s1,
                        }],
                        class: r.class,
                        aadt: r.aadt,
                        name: r.name.clone(),
                        geom: substring(part, s0, s1),
                    });
                    index += 1;
                }
            }
        }
    }
    join_slivers(out, p.min_segment_m, tol)
}

/// Join every segment shorter than `min_m` to a neighbour of the same road
/// (same name) and class that shares one of its ends (within `tol`), until
/// none is left that has such a neighbour. A sliver prefers a junction where
/// only the two meet (the road simply goes on), then the shorter neighbour.
/// The neighbour keeps its id; the joined line runs through the shared end.
pub(crate) fn join_slivers(mut segs: Vec<Segment>, min_m: f64, tol: f64) -> Vec<Segment> {
    type End = GeomWithData<[f64; 2], (usize, usize)>;
    let ends_of = |s: &Segment, i: usize| -> Vec<End> {
        match (s.geom.0.first(), s.geom.0.last()) {
            (Some(f), Some(l)) => vec![
                GeomWithData::new([f.x, f.y], (i, 0)),
                GeomWithData::new([l.x, l.y], (i, 1)),
            ],
            _ => Vec::new(),
        }
    };
    let mut tree: RTree<End> = RTree::bulk_load(
        segs.iter()
            .enumerate()
            .flat_map(|(i, s)| ends_of(s, i))
            .collect(),
    );
    let mut alive = vec![true; segs.len()];
    let r2 = (tol + 1e-6) * (tol + 1e-6);
    loop {
        // Slivers, shortest first (ties by position: deterministic).
        let mut slivers: Vec<usize> = (0..segs.len())
            .filter(|&i| alive[i] && segs[i].length_km() * 1000.0 < min_m)
            .collect();
        slivers.sort_by(|&i, &j| {
            segs[i]
                .length_km()
                .total_cmp(&segs[j].length_km())
                .then(i.cmp(&j))
        });
        let mut joined = false;
        for i in slivers {
            if !alive[i] || segs[i].length_km() * 1000.0 >= min_m {
                continue;
            }
            // (degree of the shared end, neighbour length, neighbour, sliver end, neighbour end)
            let mut best: Option<(usize, f64, usize, usize, usize)> = None;
            for e in ends_of(&segs[i], i) {
                let k = e.data.1;
                let mut hits: Vec<(usize, usize)> = tree
                    .locate_within_distance(*e.geom(), r2)
                    .map(|h| h.data)
                    .filter(|(j, _)| *j != i)
                    .collect();
                hits.sort_unstable();
                let degree = hits.len();
                for (j, m) in hits {
                    let t = &segs[j];
                    if t.class != segs[i].class || t.name != segs[i].name {
                        continue;
                    }
                    let key = (degree, t.length_km(), j, k, m);
                    if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
                        best = Some(key);
                    }
                }
            }
            let Some((_, _, j, k, m)) = best else {
                continue;
            };
            for e in ends_of(&segs[i], i).into_iter().chain(ends_of(&segs[j], j)) {
                tree.remove(&e);
            }
            // Orient both so the sliver ends where the neighbour starts,
            // join, and keep the neighbour's own direction.
            let mut a = segs[i].geom.0.clone();
            let mut b = segs[j].geom.0.clone();
            if k == 0 {
                a.reverse();
            }
            if m == 1 {
                b.reverse();
            }
            a.extend(b.into_iter().skip(1));
            if m == 1 {
                a.reverse();
            }
            a.dedup();
            if a.len() == 1 {
                a.push(a[0]);
            }
            let pieces = std::mem::take(&mut segs[i].pieces);
            let aadt = segs[i].aadt;
            alive[i] = false;
            let n = &mut segs[j];
            n.geom = LineString(a);
            n.pieces.extend(pieces);
            n.aadt = n.aadt.or(aadt);
            for e in ends_of(&segs[j], j) {
                tree.insert(e);
            }
            joined = true;
        }
        if !joined {
            break;
        }
    }
    segs.into_iter()
        .zip(alive)
        .filter_map(|(s, a)| a.then_some(s))
        .collect()
}

/// Remove interior cuts until no piece between cuts is shorter than
/// `min_m` (or one piece is left): each sliver joins its shorter neighbour,
/// so the merged piece stays as short as it can. `cuts` is sorted and
/// starts at 0 and ends at the part's length.
pub(crate) fn merge_slivers(cuts: &mut Vec<f64>, min_m: f64) {
    while cuts.len() > 2 {
        let shortest = (0..cuts.len() - 1)
            .min_by(|&i, &j| (cuts[i + 1] - cuts[i]).total_cmp(&(cuts[j + 1] - cuts[j])));
        let Some(i) = shortest else { break };
        if cuts[i + 1] - cuts[i] >= min_m {
            break;
        }
        // Piece i lies between cuts i and i+1; drop the cut it shares with
        // its shorter neighbour (the part's ends are never dropped).
        let left = (i > 0).then(|| cuts[i] - cuts[i - 1]);
        let right = (i + 2 < cuts.len()).then(|| cuts[i + 2] - cuts[i + 1]);
        let drop = match (left, right) {
            (Some(l), Some(r)) if l <= r => i,
            (Some(_), None) => i,
            _ => i + 1,
        };
        cuts.remove(drop);
    }
}

/// Segment classes (SPEC C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SegmentClass {
    Improve,
    ImproveWithSafeguards,
    DoNotImprove,
    Avoid,
}

impl SegmentClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentClass::Improve => "improve",
            SegmentClass::ImproveWithSafeguards => "improve_with_safeguards",
            SegmentClass::DoNotImprove => "do_not_improve",
            SegmentClass::Avoid => "avoid",
        }
    }
}

/// What a travel-time change does: benefits and forest loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Effects {
    pub cells_improved: usize,
    pub people_served: f64,
    /// US$ a year.
    pub time_benefit_usd: f64,
    pub freight_benefit_usd: f64,
    /// Expected extra forest loss over the horizon, ha.
    pub forest_loss_ha: f64,
    pub loss_in_conservation_ha: f64,
    pub loss_in_halo_ha: f64,
    pub tco2: f64,
    /// Carbon cost discounted by year of loss, US$.
    pub carbon_cost_pv_usd: f64,
}

impl Effects {
    /// Field by field difference (the effects one change adds to another).
    pub fn minus(&self, o: &Effects) -> Effects {
        Effects {
            cells_improved: self.cells_improved.saturating_sub(o.cells_improved),
            people_served: self.people_served - o.people_served,
            time_benefit_usd: self.time_benefit_usd - o.time_benefit_usd,
            freight_benefit_usd: self.freight_benefit_usd - o.freight_benefit_usd,
            forest_loss_ha: self.forest_loss_ha - o.forest_loss_ha,
            loss_in_conservation_ha: self.loss_in_conservation_ha - o.loss_in_conservation_ha,
            loss_in_halo_ha: self.loss_in_halo_ha - o.loss_in_halo_ha,
            tco2: self.tco2 - o.tco2,
            carbon_cost_pv_usd: self.carbon_cost_pv_usd - o.carbon_cost_pv_usd,
        }
    }
}

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

/// Per-cell inputs of the benefit sums, worked out from the input grids as
/// each cell is read (kept as grids they were 8-12 B a cell at the run's
/// peak, and reading them cost no less than working them out).
struct CellValues {
    ha: f64,
    people_per_farm_ha: f64,
    farm_output_t_per_ha: f64,
    /// Carbon density where the carbon raster has a gap or there is none.
    default_carbon_tc_per_ha: f32,
}

impl CellValues {
    fn new(inp: &Inputs, p: &RoadUpgradeParams, default_carbon: f64) -> CellValues {
        CellValues {
            ha: inp.grid.cell_area_ha(),
            people_per_farm_ha: p.people_per_farm_ha,
            farm_output_t_per_ha: p.farm_output_t_per_ha,
            default_carbon_tc_per_ha: default_carbon as f32,
        }
    }

    /// The share of cell `i` that is farmland: what is not forest, unless
    /// the land cover says water or built-up.
    #[inline]
    fn farm_share(inp: &Inputs, i: usize) -> f64 {
        let f = inp.forest[i];
        let open = if f.is_nan() {
            0.0
        } else {
            (1.0 - f as f64).clamp(0.0, 1.0)
        };
        match inp.landcover.as_ref().map(|l| l[i]) {
            // Water and built-up are not farmland.
            Some(v) if v == 3.0 || v == 4.0 => 0.0,
            _ => open,
        }
    }

    /// People in cell `i` (0 outside the area of interest): the population
    /// raster's, or the farmland's people per hectare.
    #[inline]
    fn people(&self, inp: &Inputs, i: usize) -> f32 {
        if inp.aoi_mask[i] == 0 {
            return 0.0;
        }
        match &inp.population {
            Some(pop) => pop[i].max(0.0),
            None => (Self::farm_share(inp, i) * self.ha * self.people_per_farm_ha) as f32,
        }
    }

    /// Farm output of cell `i`, tonnes a year (0 outside the area of
    /// interest).
    #[inline]
    fn output_t(&self, inp: &Inputs, i: usize) -> f32 {
        if inp.aoi_mask[i] == 0 {
            0.0
        } else {
            (Self::farm_share(inp, i) * self.ha * self.farm_output_t_per_ha) as f32
        }
    }

    /// Carbon density of cell `i`, t C/ha: the carbon raster's (gaps at the
    /// default), or the default everywhere when there is no raster.
    #[inline]
    fn carbon_tc_per_ha(&self, inp: &Inputs, i: usize) -> f32 {
        match &inp.carbon {
            Some(c) if !c[i].is_nan() => c[i],
            _ => self.default_carbon_tc_per_ha,
        }
    }
}

/// Per-cell values kept for a set of cells (one bit per grid cell, the
/// values in cell order, found by the number of bits set before a cell's):
/// 16 B for each cell held and 12 B per 64 cells of the grid.
#[derive(Debug, Clone, Default)]
pub struct Shares {
    bits: Vec<u64>,
    /// Values before each word's first cell.
    rank: Vec<u32>,
    vals: Vec<[f64; 2]>,
}

impl Shares {
    /// Cell `i`'s values, if held.
    #[inline]
    pub fn get(&self, i: usize) -> Option<[f64; 2]> {
        let (w, b) = (i / 64, i % 64);
        let word = *self.bits.get(w)?;
        if word & (1u64 << b) == 0 {
            return None;
        }
        let below = (word & ((1u64 << b) - 1)).count_ones() as usize;
        Some(self.vals[self.rank[w] as usize + below])
    }

    /// How many cells it holds.
    pub fn len(&self) -> usize {
        self.vals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }
}

/// The context every appraisal shares.
pub struct Appraiser<'a> {
    pub inp: &'a Inputs,
    pub access: &'a Access,
    pub risk: &'a Risk,
    pub halo: &'a Halo,
    pub econ: &'a Economics,
    pub p: &'a RoadUpgradeParams,
    pub speeds: &'a AccessParams,
    cells: CellValues,
    /// Where upgrades need not be relaxed: cells outside the area of
    /// interest (where nothing is counted) that cannot bring a cell inside
    /// below today's time, whatever the upgrades (`Access::gate`).
    gate: GateBounds,
}

/// The gate of a landscape's upgrades (see `Appraiser::gate`). It needs
/// only the travel times, so a run computes it while the risk model is
/// fitted and hands it to `Appraiser::for_landscape_with_gate`.
pub fn gate_for(
    inp: &Inputs,
    access: &Access,
    p: &RoadUpgradeParams,
    speeds: &AccessParams,
) -> GateBounds {
    // The fastest any road can run: every class's speed, and a
    // rehabilitated primary road's.
    let fastest = RoadClass::ALL
        .iter()
        .map(|c| speeds.speed_kmh(*c))
        .fold(p.primary_upgraded_kmh, f64::max);
    access.gate(fastest, |i| inp.aoi_mask[i] != 0)
}

impl<'a> Appraiser<'a> {
    /// The appraiser of a landscape's settings (economics, road upgrades,
    /// access speeds).
    pub fn for_landscape(
        inp: &'a Inputs,
        access: &'a Access,
        risk: &'a Risk,
        halo: &'a Halo,
        cfg: &'a crate::config::LandscapeConfig,
    ) -> Appraiser<'a> {
        let gate = gate_for(inp, access, &cfg.road_upgrades, &cfg.access);
        Appraiser::for_landscape_with_gate(inp, access, risk, halo, cfg, gate)
    }

    /// `for_landscape` with the gate already computed (`gate_for`).
    pub fn for_landscape_with_gate(
        inp: &'a Inputs,
        access: &'a Access,
        risk: &'a Risk,
        halo: &'a Halo,
        cfg: &'a crate::config::LandscapeConfig,
        gate: GateBounds,
    ) -> Appraiser<'a> {
        let (econ, p, speeds) = (&cfg.economics, &cfg.road_upgrades, &cfg.access);
        Appraiser::with_gate(inp, access, risk, halo, (econ, p, speeds), gate)
    }

    pub fn new(
        inp: &'a Inputs,
        access: &'a Access,
        risk: &'a Risk,
        halo: &'a Halo,
        econ: &'a Economics,
        p: &'a RoadUpgradeParams,
        speeds: &'a AccessParams,
    ) -> Appraiser<'a> {
        let gate = gate_for(inp, access, p, speeds);
        Appraiser::with_gate(inp, access, risk, halo, (econ, p, speeds), gate)
    }

    fn with_gate(
        inp: &'a Inputs,
        access: &'a Access,
        risk: &'a Risk,
        halo: &'a Halo,
        (econ, p, speeds): (&'a Economics, &'a RoadUpgradeParams, &'a AccessParams),
        gate: GateBounds,
    ) -> Appraiser<'a> {
        Appraiser {
            inp,
            access,
            risk,
            halo,
            econ,
            p,
            speeds,
            cells: CellValues::new(inp, p, econ.carbon_density_tc_per_ha),
            gate,
        }
    }

    /// The gate for this landscape's upgrades (see the field).
    pub fn gate(&self) -> Gate<'_> {
        Gate(Some(&self.gate))
    }

    /// The cells inside the area of interest whose travel time drops when
    /// `edges` run at `kmh`, with their exact new times (plus cells outside
    /// it, some of whose times may be too high: `effects` skips them).
    pub fn upgrade(&self, edges: &[u32], kmh: f64, scratch: &mut Scratch) -> Vec<(u32, f32)> {
        self.access.upgrade_with(
            &self.access.upgrade_weights(edges, kmh),
            self.gate(),
            scratch,
        )
    }

    /// Benefits and forest loss of a change in travel times (cells whose
    /// time drops, with their new times).
    pub fn effects(&self, delta: &[(u32, f32)]) -> Effects {
        self.effects_of(delta.iter().copied())
    }

    /// `effects` of cells as they come, in the order given.
    pub fn effects_of(&self, delta: impl Iterator<Item = (u32, f32)>) -> Effects {
        let [out] = self.effects_of_many(delta.map(|(c, t)| (c, [Some(t)])));
        out
    }

    /// The effects of `N` changes at once, over cells as they come: cell c
    /// with `[t_0, .., t_N-1]` counts in change k at its new time t_k (None:
    /// not in that change). Each sum gets the same terms in the same order
    /// as `effects_of` over that change's cells alone, so the same bits;
    /// what a cell has today (its risk, forest, carbon) is read and
    /// computed once for all of them.
    pub fn effects_of_many<const N: usize>(
        &self,
        delta: impl Iterator<Item = (u32, [Option<f32>; N])>,
    ) -> [Effects; N] {
        self.effects_of_many_known(delta, [None; N])
    }

    /// Whether a cell has forest to lose and a risk to lose it by (the
    /// others add no loss terms).
    #[inline]
    fn can_lose_forest(&self, i: usize) -> bool {
        !self.risk.annual_p[i].is_nan() && self.inp.forest[i] != 0.0
    }

    /// A forest cell's expected share lost within the horizon and its
    /// discounted share, at travel time `t_new` (what `effects_of_many`
    /// computes for each cell of each change: a logarithm, an exponential,
    /// a power and two integer powers).
    #[inline]
    fn shares_at(&self, i: usize, t_new: f32) -> [f64; 2] {
        let (risk, e) = (self.risk, self.econ);
        let p_new = risk
            .model
            .annual_p_at(&risk.drivers, i, t_new, risk.travel_cap);
        [
            loss_within(p_new, e.horizon_years as f64),
            discounted_loss_share(p_new, e.discount_rate, e.horizon_years),
        ]
    }

    /// The `shares_at` of every forest cell inside the area of interest
    /// whose time in `field` is below today's, computed once (on every
    /// worker) for the many sums that read them: a leave-one-out sums each
    /// such cell once for the set and again for each item whose removal
    /// changes it.
    pub fn shares_of_field(&self, field: &[f32]) -> Shares {
        let inp = self.inp;
        let base = &self.access.travel_min;
        const CHUNK: usize = 4096; // words of 64 cells
        let words = field.len().div_ceil(64);
        let parts: Vec<(Vec<u64>, Vec<[f64; 2]>)> = (0..words.div_ceil(CHUNK))
            .into_par_iter()
            .map(|k| {
                let (w0, w1) = (k * CHUNK, ((k + 1) * CHUNK).min(words));
                let mut bits = vec![0u64; w1 - w0];
                let mut vals = Vec::new();
                for i in w0 * 64..(w1 * 64).min(field.len()) {
                    if inp.aoi_mask[i] == 0 || field[i] >= base[i] || !self.can_lose_forest(i) {
                        continue;
                    }
                    bits[i / 64 - w0] |= 1u64 << (i % 64);
                    vals.push(self.shares_at(i, field[i]));
                }
                (bits, vals)
            })
            .collect();
        let mut out = Shares {
            bits: Vec::with_capacity(words),
            rank: Vec::with_capacity(words),
            vals: Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum()),
        };
        for (bits, vals) in parts {
            let mut at = out.vals.len();
            for b in bits {
                out.rank.push(at as u32);
                out.bits.push(b);
                at += b.count_ones() as usize;
            }
            out.vals.extend(vals);
        }
        out
    }

    /// `effects_of_many`, taking the shares of change k's cells from
    /// `known[k]` where it holds them (they must be `shares_at` the time
    /// change k gives the cell: the same bits, so the same sums).
    pub fn effects_of_many_known<const N: usize>(
        &self,
        delta: impl Iterator<Item = (u32, [Option<f32>; N])>,
        known: [Option<&Shares>; N],
    ) -> [Effects; N] {
        let (inp, risk, e) = (self.inp, self.risk, self.econ);
        let ha = inp.grid.cell_area_ha();
        let cap = risk.travel_cap;
        let h = e.horizon_years as f64;
        let mut out = [Effects::default(); N];
        for (c, ts) in delta {
            let i = c as usize;
            if inp.aoi_mask[i] == 0 {
                continue;
            }
            let t_old = self.access.travel_min[i];
            let t_old = if t_old.is_finite() { t_old } else { cap };
            let people = self.cells.people(inp, i) as f64;
            let output_t = self.cells.output_t(inp, i) as f64;
            for (o, t) in out.iter_mut().zip(&ts) {
                let Some(t_new) = *t else { continue };
                let dt_h = ((t_old - t_new).max(0.0) as f64) / 60.0;
                o.cells_improved += 1;
                o.people_served += people;
                // A round trip saves the time twice.
                o.time_benefit_usd += 2.0
                    * dt_h
                    * people
                    * self.p.trips_per_person_year
                    * self.p.value_of_time_usd_per_hour;
                o.freight_benefit_usd += dt_h * output_t * self.p.transport_usd_per_tonne_hour;
            }
            if !self.can_lose_forest(i) {
                continue;
            }
            let p_old = risk.annual_p[i];
            let forest_ha = inp.forest[i] as f64 * ha;
            // Today's shares, from today's p (computed here rather than
            // stored: 16 bytes a cell at 30 m is 200 MB).
            let p_old = p_old as f64;
            let loss_old = loss_within(p_old, h);
            let disc_old = discounted_loss_share(p_old, e.discount_rate, e.horizon_years);
            let carbon = self.cells.carbon_tc_per_ha(inp, i);
            let co2_per_ha = carbon as f64 * CO2_PER_C;
            let in_conservation = inp.conservation_id[i] > 0;
            let in_halo = self.halo.in_halo(i);
            for ((o, t), kn) in out.iter_mut().zip(&ts).zip(&known) {
                let Some(t_new) = *t else { continue };
                let [loss_new, disc_new] = match kn.and_then(|k| k.get(i)) {
                    Some(v) => v,
                    None => self.shares_at(i, t_new),
                };
                let dloss = forest_ha * (loss_new - loss_old);
                let ddisc = forest_ha * (disc_new - disc_old);
                o.forest_loss_ha += dloss;
                o.tco2 += dloss * co2_per_ha;
                o.carbon_cost_pv_usd += ddisc * co2_per_ha * e.carbon_price_usd_per_tco2;
                if in_conservation {
                    o.loss_in_conservation_ha += dloss;
                }
                if in_halo {
                    o.loss_in_halo_ha += dloss;
                }
            }
        }
        out
    }

    fn target_kmh(&self, c: RoadClass) -> (String, f64) {
        match c.upgraded() {
            Some(u) => (u.as_str().to_string(), self.speeds.speed_kmh(u)),
            None => (
                "primary_rehabilitated".to_string(),
                self.p.primary_upgraded_kmh,
            ),
        }
    }

    fn cost_per_km(&self, c: RoadClass) -> f64 {
        match c {
            RoadClass::Track => self.p.cost_track_usd_per_km,
            RoadClass::Tertiary => self.p.cost_tertiary_usd_per_km,
            RoadClass::Secondary => self.p.cost_secondary_usd_per_km,
            RoadClass::Primary => self.p.cost_primary_usd_per_km,
        }
    }

    fn maintenance(&self, c: RoadClass) -> f64 {
        match c {
            RoadClass::Track => self.p.maintenance_track_usd_per_km,
            RoadClass::Tertiary => self.p.maintenance_tertiary_usd_per_km,
            RoadClass::Secondary => self.p.maintenance_secondary_usd_per_km,
            RoadClass::Primary => self.p.maintenance_primary_usd_per_km,
        }
    }

    fn voc(&self, c: RoadClass) -> f64 {
        match c {
            RoadClass::Track => self.p.voc_track_usd_per_km,
            RoadClass::Tertiary => self.p.voc_tertiary_usd_per_km,
            RoadClass::Secondary => self.p.voc_secondary_usd_per_km,
            RoadClass::Primary => self.p.voc_primary_usd_per_km,
        }
    }

    pub fn terrain_factor(&self, mean_slope_deg: f64) -> f64 {
        if mean_slope_deg > 15.0 {
            self.p.terrain_factor_mountainous
        } else if mean_slope_deg >= 5.0 {
            self.p.terrain_factor_rolling
        } else {
            1.0
        }
    }

    /// Full appraisal of one segment from its travel-time change.
    #[allow(clippy::too_many_arguments)]
    pub fn score(
        &self,
        s: &Segment,
        mean_slope_deg: f64,
        delta: &[(u32, f32)],
        through_conservation: bool,
        distance_to_conservation_km: f64,
    ) -> ScoredSegment {
        let e = self.econ;
        let len = s.length_km();
        let (upgrade_to, _) = self.target_kmh(s.class);
        let eff = self.effects(delta);
        let cost = len * self.cost_per_km(s.class) * self.terrain_factor(mean_slope_deg);
        let new_class = s.class.upgraded().unwrap_or(RoadClass::Primary);
        let extra_maint =
            (len * (self.maintenance(new_class) - self.maintenance(s.class))).max(0.0);
        let voc_new = match s.class.upgraded() {
            Some(u) => self.voc(u),
            None => self.p.voc_primary_upgraded_usd_per_km,
        };
        let voc_benefit =
            s.aadt.unwrap_or(0.0) * 365.0 * len * (self.voc(s.class) - voc_new).max(0.0);
        let annual = eff.time_benefit_usd + eff.freight_benefit_usd + voc_benefit;
        let h = e.horizon_years;
        let mut flows = vec![-cost];
        flows.extend(std::iter::repeat_n(annual - extra_maint, h as usize));
        let npv_econ = npv(&flows, e.discount_rate);
        let pv_benefit = pv_annuity(annual, e.discount_rate, h);
        let pv_costs = cost + pv_annuity(extra_maint, e.discount_rate, h);
        let bcr = if pv_costs > 0.0 {
            pv_benefit / pv_costs
        } else {
            0.0
        };
        let npv_net = npv_econ - eff.carbon_cost_pv_usd;
        let intensity = (pv_benefit > 0.0).then(|| eff.forest_loss_ha / (pv_benefit / 1e6));
        let halo_km = self.halo.distance_m / 1000.0;
        let (class, reasons) = classify(
            npv_econ,
            npv_net,
            intensity,
            self.p.max_intensity_ha_per_musd,
            through_conservation,
            distance_to_conservation_km,
            halo_km,
        );
        // A piece too short to be a project of its own that no neighbour of
        // the same road and class could absorb (see `join_slivers`).
        let (class, reasons) = if class != SegmentClass::Avoid
            && len * 1000.0 < self.p.min_segment_m
        {
            (
                    SegmentClass::DoNotImprove,
                    format!(
                        "{:.0} m long, shorter than min_segment_m = {} m, and no neighbour of the same road and class to join: too short to appraise as a project of its own",
                        len * 1000.0,
                        self.p.min_segment_m
                    ),
                )
        } else {
            (class, reasons)
        };
        ScoredSegment {
            id: s.id.clone(),
            name: s.name.clone(),
            class_from: s.class,
            upgrade_to,
            length_km: len,
            mean_slope_deg,
            aadt: s.aadt,
            cost_usd: cost,
            extra_maintenance_usd_per_year: extra_maint,
            voc_benefit_usd: voc_benefit,
            annual_benefit_usd: annual,
            pv_benefit_usd: pv_benefit,
            npv_econ_usd: npv_econ,
            bcr,
            eirr: irr(&flows),
            effects: eff,
            npv_net_usd: npv_net,
            intensity_ha_per_musd: intensity,
            through_conservation,
            distance_to_conservation_km,
            class,
            reasons,
            pareto_layer: 0,
            rank: 0,
            in_portfolio: false,
        }
    }
}

/// SPEC C's classes, with the reasons a planner reads.
pub fn classify(
    npv_econ: f64,
    npv_net: f64,
    intensity: Option<f64>,
    max_intensity: f64,
    through_conservation: bool,
    distance_to_conservation_km: f64,
    halo_km: f64,
) -> (SegmentClass, String) {
    if through_conservation {
        return (
            SegmentClass::Avoid,
            "runs through a conservation area".into(),
        );
    }
    if npv_econ <= 0.0 {
        return (
            SegmentClass::DoNotImprove,
            "economic NPV is not positive".into(),
        );
    }
    let mut why = Vec::new();
    if npv_net <= 0.0 {
        why.push("carbon cost outweighs the economic return".to_string());
    }
    match intensity {
        Some(i) if i > max_intensity => why.push(format!(
            "deforestation intensity {i:.1} ha per US$1M above {max_intensity}"
        )),
        _ => {}
    }
    if distance_to_conservation_km <= halo_km {
        why.push(format!(
            "within {halo_km} km of a conservation area ({distance_to_conservation_km:.1} km)"
        ));
    }
    if why.is_empty() {
        (
            SegmentClass::Improve,
            "positive net NPV, low deforestation, away from conservation areas".into(),
        )
    } else {
        (SegmentClass::ImproveWithSafeguards, why.join("; "))
    }
}

/// Pareto layers on (maximise `a`, minimise `b`): layer 1 holds the
/// segments no other beats on both; layer k those only layers < k beat.
pub fn pareto_layers(a: &[f64], b: &[f64]) -> Vec<u32> {
    let n = a.len();
    let mut layer = vec![0u32; n];
    let mut left: Vec<usize> = (0..n).collect();
    let mut k = 1;
    while !left.is_empty() {
        let front: Vec<usize> = left
            .iter()
            .copied()
            .filter(|&i| {
                !left.iter().any(|&j| {
                    j != i && a[j] >= a[i] && b[j] <= b[i] && (a[j] > a[i] || b[j] < b[i])
                })
            })
            .collect();
        for &i in &front {
            layer[i] = k;
        }
        left.retain(|i| layer[*i] == 0);
        k += 1;
    }
    layer
}

/// The exact 0/1 selection maximising the sum of `values` within `budget`
/// (items with value <= 0 are never chosen), solved with HiGHS.
pub fn select_within_budget(values: &[f64], costs: &[f64], budget: f64) -> Result<Vec<bool>> {
    let cand: Vec<usize> = (0..values.len())
        .filter(|&i| values[i] > 0.0 && costs[i] <= budget)
        .collect();
    let mut chosen = vec![false; values.len()];
    if cand.is_empty() {
        return Ok(chosen);
    }
    let v: Vec<f64> = cand.iter().map(|&i| values[i]).collect();
    let c: Vec<f64> = cand.iter().map(|&i| costs[i]).collect();
    let picked =
        knapsack(&v, &c, budget, None, (0.0, 0.0), "the road portfolio")?.unwrap_or_default();
    for (k, &i) in cand.iter().enumerate() {
        chosen[i] = picked.get(k).copied().unwrap_or(false);
    }
    Ok(chosen)
}

/// The exact 0/1 selection shared by the road portfolio and the parcel
/// selection: maximise `values`·x with `costs`·x <= `budget` and, when
/// given, `areas`·x >= `target`. HiGHS stops within an absolute gap of
/// `abs_gap` US$ or a relative gap of `rel_gap` (both 0 for the road
/// portfolio; prioritizr's HiGHS default is a 10% relative gap). A solution that
/// still overshoots the budget by a solver tolerance is never "fixed" by
/// dropping a whole item (that loses optimality): the problem is solved
/// again with the budget lowered by the overshoot. None when infeasible.
pub(crate) fn knapsack(
    values: &[f64],
    costs: &[f64],
    budget: f64,
    cover: Option<(&[f64], f64)>,
    (abs_gap, rel_gap): (f64, f64),
    what: &str,
) -> Result<Option<Vec<bool>>> {
    use good_lp::{
        constraint, default_solver, variable, Expression, ProblemVariables, ResolutionError,
        Solution, SolverModel,
    };
    let n = values.len();
    // The solver cannot take NaN or infinite coefficients (it errors with
    // no key, or loops); the settings' ranges keep them finite, and this
    // names the item if a stage still produced one.
    let bad = |x: &[f64]| x.iter().position(|v| !v.is_finite());
    if let Some(i) = bad(values).or_else(|| bad(costs)) {
        return Err(Error::Uncomputable {
            stage: what.into(),
            layer: "candidates".into(),
            feature: format!("#{i}"),
            field: "value or cost".into(),
            message: format!(
                "value {} and cost {} must be finite numbers",
                values[i], costs[i]
            ),
        });
    }
    if let Some((areas, target)) = cover {
        if let Some(i) = bad(areas).or((!target.is_finite()).then_some(0)) {
            return Err(Error::Uncomputable {
                stage: what.into(),
                layer: "candidates".into(),
                feature: format!("#{i}"),
                field: "area".into(),
                message: format!("area and target {target} must be finite numbers"),
            });
        }
    }
    if !budget.is_finite() || budget < 0.0 {
        return Err(Error::Usage(format!(
            "{what}: the budget {budget} must be a finite number at least 0"
        )));
    }
    let spent = |x: &[bool]| -> f64 { (0..n).filter(|i| x[*i]).map(|i| costs[i]).sum() };
    // Start below the budget by HiGHS's primal feasibility tolerance (1e-7
    // of the row's scale), so that one solve normally lands within it.
    let mut cap = budget - 1e-7 * budget.abs();
    for _ in 0..6 {
        // Money in US$ millions and areas in thousands keep the model scaled.
        let mut vars = ProblemVariables::new();
        let x: Vec<_> = (0..n).map(|_| vars.add(variable().binary())).collect();
        let obj: Expression = (0..n).map(|i| values[i] / 1e6 * x[i]).sum();
        let spend: Expression = (0..n).map(|i| costs[i] / 1e6 * x[i]).sum();
        let mut model = vars
            .maximise(obj)
            .using(default_solver)
            .with(constraint!(spend <= cap / 1e6));
        if let Some((areas, target)) = cover {
            let area: Expression = (0..n).map(|i| areas[i] / 1e3 * x[i]).sum();
            model = model.with(constraint!(area >= target / 1e3));
        }
        let model = model
            .set_mip_rel_gap(rel_gap as f32)
            .and_then(|m| m.set_mip_abs_gap((abs_gap / 1e6) as f32))
            .map_err(|e| Error::Usage(format!("{what} MIP: {e:?}")))?
            .set_threads(1);
        let chosen: Vec<bool> = match model.solve() {
            Ok(sol) => (0..n).map(|i| sol.value(x[i]) > 0.5).collect(),
            Err(ResolutionError::Infeasible) => return Ok(None),
            Err(e) => return Err(Error::Usage(format!("{what} MIP failed: {e}"))),
        };
        let over = spent(&chosen) - budget;
        if over <= 0.0 {
            return Ok(Some(chosen));
        }
        cap -= over + 1e-9 * budget.abs().max(1.0);
    }
    Err(Error::Usage(format!(
        "{what}: the solver kept exceeding the budget of {budget} by its tolerance; please report it with the landscape"
    )))
}

/// Scratch copies of one travel-time field shared by rayon's workers: taken
/// for a task and given back, so there are about as many as workers
/// (rayon's `map_init` would copy the field once per split).
struct ScratchPool<'f> {
    field: &'f [f32],
    free: std::sync::Mutex<Vec<Scratch>>,
}

impl<'f> ScratchPool<'f> {
    fn new(field: &'f [f32]) -> ScratchPool<'f> {
        ScratchPool {
            field,
            free: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        let taken = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut scratch = taken.unwrap_or_else(|| Scratch::new(self.field));
        let out = f(&mut scratch);
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(scratch);
        out
    }
}

/// Cells with a travel time, or edges with a weight, as (index, value).
type Changes = Vec<(u32, f32)>;

/// The upgrades of `set` made together: the cells inside the area of
/// interest whose travel time drops, with their exact new times (gated:
/// see `Appraiser::upgrade`).
fn upgrade_together(a: &Appraiser, set: &[usize], jobs: &[(Vec<u32>, f64)]) -> Changes {
    let over = a.access.overrides(&upgrades_of(set, jobs));
    a.access
        .upgrade_with(&over, a.gate(), &mut a.access.scratch())
}

/// A coarse map of the grid: one bit per tile of `TILE`×`TILE` cells.
#[derive(Debug, Clone)]
struct Tiles {
    width: usize,
    tiles_x: usize,
    tiles_y: usize,
    bits: Vec<u64>,
}

impl Tiles {
    const TILE: usize = 16;

    fn new(width: usize, height: usize) -> Tiles {
        let (tiles_x, tiles_y) = (width.div_ceil(Self::TILE), height.div_ceil(Self::TILE));
        Tiles {
            width,
            tiles_x,
            tiles_y,
            bits: vec![0; (tiles_x * tiles_y).div_ceil(64)],
        }
    }

    #[inline]
    fn mark(&mut self, cell: u32) {
        let c = cell as usize;
        let t = (c / self.width / Self::TILE) * self.tiles_x + (c % self.width) / Self::TILE;
        self.bits[t / 64] |= 1u64 << (t % 64);
    }

    fn get(&self, tx: usize, ty: usize) -> bool {
        let t = ty * self.tiles_x + tx;
        self.bits[t / 64] & (1u64 << (t % 64)) != 0
    }

    /// Each marked tile with its eight neighbours (a cell's grid
    /// neighbours lie in its tile or the next).
    fn dilated(&self) -> Tiles {
        let mut out = Tiles {
            bits: vec![0; self.bits.len()],
            ..*self
        };
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                if !self.get(tx, ty) {
                    continue;
                }
                for y in ty.saturating_sub(1)..(ty + 2).min(self.tiles_y) {
                    for x in tx.saturating_sub(1)..(tx + 2).min(self.tiles_x) {
                        let t = y * self.tiles_x + x;
                        out.bits[t / 64] |= 1u64 << (t % 64);
                    }
                }
            }
        }
        out
    }

    fn meets(&self, other: &Tiles) -> bool {
        self.bits.iter().zip(&other.bits).any(|(a, b)| a & b != 0)
    }
}

/// What a leave-one-out keeps for the next one over a slightly different
/// set (the portfolio's re-checks swap a few segments): the set, its
/// travel times, and each item's marginal effects with the tiles its
/// computation read. An item's marginal is reused when none of those tiles
/// holds a cell whose time differs between the two sets or an end of an
/// edge whose weight does; it is then what a new computation would give,
/// bit for bit (the computation reads nothing else: `Scratch::judged`).
#[derive(Debug, Default)]
pub struct LooMemo {
    last: Option<LooLast>,
    /// Each item's expected work (cells), so the largest start first.
    sizes: HashMap<usize, usize>,
    /// Marginals reused and computed, over the memo's life.
    pub reused: usize,
    pub computed: usize,
}

impl LooMemo {
    /// Expect item `i`'s marginal to take about `cells` cells of work (it
    /// then starts before smaller ones); each computation records its own.
    pub fn expect(&mut self, i: usize, cells: usize) {
        self.sizes.insert(i, cells);
    }
}

/// `f` of each of `0..n`, run on every worker, each taking the next item
/// of `order` as soon as it is free: the largest first, so no worker is
/// left with a long item at the end. Results by item.
fn largest_first<T: Send>(order: &[usize], f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let parts: Vec<Vec<(usize, T)>> = (0..rayon::current_num_threads())
        .into_par_iter()
        .with_max_len(1)
        .map(|_| {
            let mut mine = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= order.len() {
                    break;
                }
                mine.push((order[k], f(order[k])));
            }
            mine
        })
        .collect();
    let mut all: Vec<(usize, T)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|x| x.0);
    all.into_iter().map(|x| x.1).collect()
}

/// An item's marginal effects, with the tiles its computation read and its
/// size in cells (None when reused from the last call).
type Marginal = (Option<(Tiles, usize)>, Effects);

#[derive(Debug)]
struct LooLast {
    set: Vec<usize>,
    field: Vec<f32>,
    items: HashMap<usize, (Tiles, Effects)>,
}

/// Edge `e`'s weight with the overrides `over` made.
fn weight_in(acc: &Access, over: &[(u32, f32)], e: u32) -> f32 {
    match over.binary_search_by_key(&e, |x| x.0) {
        Ok(i) => over[i].1,
        Err(_) => acc.weights[e as usize],
    }
}

/// The upgrades of `set`, as `Access::overrides` takes them.
fn upgrades_of<'j>(set: &[usize], jobs: &'j [(Vec<u32>, f64)]) -> Vec<(&'j [u32], f64)> {
    set.iter()
        .map(|&i| (jobs[i].0.as_slice(), jobs[i].1))
        .collect()
}

/// The travel times with every upgrade of `set` made, from those of the
/// last set: the upgrades it drops taken out (decremental), then those it
/// adds made (incremental). Both updates are exact, so this equals a solve
/// from scratch bit for bit; it touches only the cells the change reaches.
fn field_from(a: &Appraiser, last: &LooLast, set: &[usize], jobs: &[(Vec<u32>, f64)]) -> Vec<f32> {
    let acc = a.access;
    let kept: Vec<usize> = set
        .iter()
        .copied()
        .filter(|i| last.set.contains(i))
        .collect();
    let over_last = acc.overrides(&upgrades_of(&last.set, jobs));
    let over_kept = acc.overrides(&upgrades_of(&kept, jobs));
    let weight = |o: &[(u32, f32)], e: u32| weight_in(acc, o, e);
    let raised: Vec<u32> = over_last
        .iter()
        .map(|x| x.0)
        .filter(|&e| weight(&over_last, e) != weight(&over_kept, e))
        .collect();
    let mut scratch = Scratch::new(&last.field);
    let out = acc.raise(
        &last.field,
        &over_last,
        &over_kept,
        &raised,
        Gate(None),
        &mut scratch,
    );
    let mut mid = scratch.into_acc();
    for (c, t) in out {
        mid[c as usize] = t;
    }
    let mut weights = acc.weights.clone();
    for &(e, w) in &over_kept {
        weights[e as usize] = w;
    }
    let over = acc.overrides(&upgrades_of(set, jobs));
    let mut scratch = Scratch::new(&mid);
    let out = acc.upgrade_on(&mid, &weights, &over, &mut scratch);
    drop(mid);
    let mut field = scratch.into_acc();
    for (c, t) in out {
        field[c as usize] = t;
    }
    field
}

/// The effects of upgrading all of `set`, and each item's marginal effects
/// within it: entry k is the set's effects minus those of every upgrade of
/// `set` but the k-th. The set is upgraded once; then, for each item, only the cells
/// whose travel time depends on it are found and re-settled with it taken
/// out (`Access::raise`, exact), and those cells are summed twice: at
/// their times with it and without it. Items run in parallel.
pub fn leave_one_out(
    a: &Appraiser,
    set: &[usize],
    jobs: &[(Vec<u32>, f64)],
) -> (Effects, Vec<Effects>) {
    leave_one_out_with(a, set, jobs, &mut LooMemo::default())
}

/// `leave_one_out`, reusing what `memo` kept of the last call where it
/// still holds, and keeping this call's for the next.
pub fn leave_one_out_with(
    a: &Appraiser,
    set: &[usize],
    jobs: &[(Vec<u32>, f64)],
    memo: &mut LooMemo,
) -> (Effects, Vec<Effects>) {
    if set.is_empty() {
        return (Effects::default(), Vec::new());
    }
    let acc = a.access;
    let g = &a.inp.grid;
    let base = &acc.travel_min;
    // The whole field (ungated): finding the cells that depend on an item
    // reads the times around them, inside the area of interest or not.
    let mut last = memo.last.take();
    let over = acc.overrides(&upgrades_of(set, jobs));
    let field = match &last {
        Some(l) => field_from(a, l, set, jobs),
        None => {
            let mut field = base.clone();
            for (c, t) in acc.upgrade_with(&over, Gate(None), &mut acc.scratch()) {
                field[c as usize] = t;
            }
            field
        }
    };
    // What the set's times do to each forest cell's loss, computed once
    // for the set's sum and every item's.
    let shares = a.shares_of_field(&field);
    // The cells faster than today, in cell order (what the upgrade gives):
    // summed beside the marginals below.
    let joint = || {
        let [eff] = a.effects_of_many_known(
            field
                .iter()
                .zip(base)
                .enumerate()
                .filter(|(_, (t, b))| t < b)
                .map(|(c, (t, _))| (c as u32, [Some(*t)])),
            [Some(&shares)],
        );
        eff
    };
    // Where the last set's computations no longer hold: cells whose time
    // differs, ends of edges of the segments in one set but not the other.
    let stale = last.as_ref().map(|l| {
        let mut t = Tiles::new(g.width, g.height);
        for (c, (x, y)) in l.field.iter().zip(&field).enumerate() {
            if x.to_bits() != y.to_bits() {
                t.mark(c as u32);
            }
        }
        for i in l
            .set
            .iter()
            .filter(|i| !set.contains(i))
            .chain(set.iter().filter(|i| !l.set.contains(i)))
        {
            for &e in &jobs[*i].0 {
                let (x, y) = acc.roads.extra.ends[e as usize];
                t.mark(x);
                t.mark(y);
            }
        }
        t
    });
    // The last set's times are read no more (4 B a cell).
    if let Some(l) = last.as_mut() {
        l.field = Vec::new();
    }
    let pool = ScratchPool::new(&field);
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(memo.sizes.get(&set[k]).copied().unwrap_or(0)));
    let (joint, marginals): (Effects, Vec<Marginal>) = rayon::join(joint, || {
        largest_first(&order, |k| {
            if let (Some(l), Some(stale)) = (&last, &stale) {
                if let Some((tiles, m)) = l.items.get(&set[k]) {
                    if !tiles.meets(stale) {
                        return (None, *m);
                    }
                }
            }
            let rest: Vec<usize> = set
                .iter()
                .enumerate()
                .filter(|(m, _)| *m != k)
                .map(|(_, &i)| i)
                .collect();
            let over_after = acc.overrides(&upgrades_of(&rest, jobs));
            let weight = |o: &[(u32, f32)], e: u32| weight_in(acc, o, e);
            let raised: Vec<u32> = jobs[set[k]]
                .0
                .iter()
                .copied()
                .filter(|&e| weight(&over, e) != weight(&over_after, e))
                .collect();
            let (out, tiles) = pool.with(|scratch| {
                let out = acc.raise(&field, &over, &over_after, &raised, a.gate(), scratch);
                // The tiles this computation read (see `LooMemo`).
                let mut t = Tiles::new(g.width, g.height);
                for &c in scratch.judged() {
                    t.mark(c);
                    for &(x, _) in acc.roads.extra.of(c) {
                        t.mark(x);
                    }
                }
                for &e in &jobs[set[k]].0 {
                    let (x, y) = acc.roads.extra.ends[e as usize];
                    t.mark(x);
                    t.mark(y);
                }
                (out, t.dilated())
            });
            // The cells whose time the item changes, at their times with it
            // and without it (each counted only where faster than today).
            // One pass over them for both sums.
            let faster = |c: u32, t: f32| (t < base[c as usize]).then_some(t);
            let changes = out
                .iter()
                .copied()
                .filter(|&(c, t)| t != field[c as usize])
                .map(|(c, t)| (c, [faster(c, field[c as usize]), faster(c, t)]));
            let [with, without] = a.effects_of_many_known(changes, [Some(&shares), None]);
            (Some((tiles, out.len())), with.minus(&without))
        })
    });
    drop(pool);
    let mut items = HashMap::new();
    for (k, (tiles, m)) in marginals.iter().enumerate() {
        match tiles {
            Some((t, cells)) => {
                memo.computed += 1;
                memo.sizes.insert(set[k], *cells);
                items.insert(set[k], (t.clone(), *m));
            }
            None => {
                memo.reused += 1;
                if let Some(kept) = last.as_ref().and_then(|l| l.items.get(&set[k])) {
                    items.insert(set[k], kept.clone());
                }
            }
        }
    }
    let marginals = marginals.into_iter().map(|(_, m)| m).collect();
    drop(last);
    memo.last = Some(LooLast {
        set: set.to_vec(),
        field,
        items,
    });
    (joint, marginals)
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
    pub annual_benefit_sum_of_singles_usd: f64,
    pub annual_benefit_joint_usd: f64,
    /// Extra yearly maintenance of the chosen segments' upgrades.
    pub extra_maintenance_usd_per_year: f64,
    pub forest_loss_joint_ha: f64,
    /// Re-selections made because upgrades interact.
    pub iterations: u32,
    pub note: String,
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
}

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
        let chosen = if k == steps {
            vec![true; cand.len()]
        } else {
            select_within_budget(&values, &costs, budget)?
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
        });
    }
    Ok(out)
}

/// Each segment's upgrade: the road-graph edges it covers and the speed
/// they would run at.
pub fn upgrade_jobs(a: &Appraiser, segs: &[Segment]) -> Vec<(Vec<u32>, f64)> {
    // Edges of each road part, by distance along.
    let mut by_part: BTreeMap<(u32, u32), Vec<(f64, u32)>> = BTreeMap::new();
    for (k, e) in a.access.roads.edges.iter().enumerate() {
        by_part
            .entry((e.road, e.part))
            .or_default()
            .push((e.along_m, k as u32));
    }
    for v in by_part.values_mut() {
        v.sort_by(|x, y| x.0.total_cmp(&y.0));
    }
    segs.iter()
        .map(|s| {
            let edges = s
                .pieces
                .iter()
                .flat_map(|p| {
                    by_part
                        .get(&(p.road, p.part))
                        .into_iter()
                        .flatten()
                        .filter(move |(d, _)| *d >= p.start_m && *d < p.end_m)
                        .map(|x| x.1)
                })
                .collect();
            (edges, a.target_kmh(s.class).1)
        })
        .collect()
}

type RingTree = RTree<CachedEnvelope<geo::Line<f64>>>;

/// The rings of the conservation areas' polygons, each with an R-tree of
/// its edges and one of its vertices, built once: the distance from a road
/// segment that crosses no area to the nearest area, as geo's Euclidean
/// distance gives it (the same nearest-neighbour sums on the same trees,
/// so the same value to the bit) without rebuilding each ring's tree for
/// every segment, and reading only the ring vertices that can be nearer
/// than the nearest found so far.
struct AreaRings {
    polys: Vec<PolyRings>,
}

struct PolyRings {
    /// The exterior as a polygon of its own (a segment whose first vertex
    /// lies inside it is measured to the holes).
    outline: geo::Polygon<f64>,
    exterior: (RingTree, RTree<[f64; 2]>),
    interiors: Vec<(RingTree, RTree<[f64; 2]>)>,
}

impl AreaRings {
    fn new(areas: &[&geo::MultiPolygon<f64>]) -> AreaRings {
        let trees = |ring: &LineString<f64>| {
            (
                RTree::bulk_load(ring.lines().map(CachedEnvelope::new).collect()),
                RTree::bulk_load(ring.coords().map(|c| [c.x, c.y]).collect()),
            )
        };
        AreaRings {
            polys: areas
                .iter()
                .flat_map(|m| m.0.iter())
                .map(|p| PolyRings {
                    outline: geo::Polygon::new(p.exterior().clone(), vec![]),
                    exterior: trees(p.exterior()),
                    interiors: p.interiors().iter().map(trees).collect(),
                })
                .collect(),
        }
    }

    /// Distance from `ls`, which meets no area, to the nearest one
    /// (INFINITY when there is none).
    fn distance(&self, ls: &LineString<f64>) -> f64 {
        use geo::Contains;
        if ls.0.is_empty() {
            return f64::INFINITY;
        }
        let own: RingTree = RTree::bulk_load(ls.lines().map(CachedEnvelope::new).collect());
        let line_point = |l: &geo::Line<f64>, p: &geo::Point<f64>| {
            <Euclidean as geo::Distance<f64, &geo::Line<f64>, &geo::Point<f64>>>::distance(l, p)
        };
        let rect = geo::BoundingRect::bounding_rect(ls);
        // geo's nearest_neighbour_distance(ls, ring): the nearest ring edge
        // to each vertex of ls, and the nearest edge of ls to each ring
        // vertex; only vertices inside ls's box grown by the best so far
        // can lower the minimum (the growth covers rounding).
        let ring_distance = |(edges, vertices): &(RingTree, RTree<[f64; 2]>)| -> f64 {
            let mut best = ls.points().fold(f64::MAX, |acc, p| {
                acc.min(line_point(edges.nearest_neighbor(&p).unwrap(), &p))
            });
            if let Some(r) = rect {
                let grow = best * (1.0 + 1e-9) + 1e-9;
                let env = rstar::AABB::from_corners(
                    [r.min().x - grow, r.min().y - grow],
                    [r.max().x + grow, r.max().y + grow],
                );
                for v in vertices.locate_in_envelope_intersecting(&env) {
                    let p = geo::Point::new(v[0], v[1]);
                    best = best.min(line_point(own.nearest_neighbor(&p).unwrap(), &p));
                }
            }
            best
        };
        self.polys
            .iter()
            .map(|p| {
                if !p.interiors.is_empty() && p.outline.contains(&ls.0[0]) {
                    p.interiors
                        .iter()
                        .map(ring_distance)
                        .fold(f64::MAX, f64::min)
                } else {
                    ring_distance(&p.exterior)
                }
            })
            .fold(f64::INFINITY, f64::min)
    }
}

/// Score every segment, rank, and choose the portfolio.
pub fn score(a: &Appraiser, bar: &ProgressBar) -> Result<RoadsResult> {
    let inp = a.inp;
    let segs = segments(inp, a.p);
    bar.set_length(segs.len() as u64);
    let g = &inp.grid;
    let slope = inp.slope_deg();
    let gg = g.geom();
    let mean_slope = |s: &Segment| -> f64 {
        let coords: Vec<(f64, f64)> = s.geom.0.iter().map(|c| (c.x, c.y)).collect();
        let (mut num, mut den) = (0.0, 0.0);
        for p in cell_pieces(&gg, &coords).into_iter().flatten() {
            let v = slope[p.cell as usize];
            if !v.is_nan() {
                num += v as f64 * p.len;
                den += p.len;
            }
        }
        if den > 0.0 {
            num / den
        } else {
            0.0
        }
    };
    let cons: Vec<&geo::MultiPolygon<f64>> = inp.conservation.iter().map(|c| &c.geom).collect();
    let rings = AreaRings::new(&cons);
    let jobs = upgrade_jobs(a, &segs);

    // Segments handed out one at a time so no worker is left with a long
    // tail of big catchments.
    let pool = ScratchPool::new(&a.access.travel_min);
    let mut scored: Vec<ScoredSegment> = segs
        .par_iter()
        .zip(jobs.par_iter())
        .with_max_len(1)
        .map(|(s, (edges, kmh))| {
            let delta = pool.with(|scratch| a.upgrade(edges, *kmh, scratch));
            let through = cons.iter().any(|c| c.intersects(&s.geom));
            let dist_km = if through {
                0.0
            } else {
                rings.distance(&s.geom) / 1000.0
            };
            let out = a.score(s, mean_slope(s), &delta, through, dist_km);
            bar.inc(1);
            out
        })
        .collect();
    // Its working copies of the travel-time field (4 B a cell each) are
    // not needed by the re-check, which makes its own.
    drop(pool);

    // Pareto layers, then rank by layer and NPV_net.
    let npv_e: Vec<f64> = scored.iter().map(|s| s.npv_econ_usd).collect();
    let loss: Vec<f64> = scored.iter().map(|s| s.effects.forest_loss_ha).collect();
    let layers = pareto_layers(&npv_e, &loss);
    for (s, l) in scored.iter_mut().zip(&layers) {
        s.pareto_layer = *l;
    }
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&i, &j| {
        scored[i]
            .pareto_layer
            .cmp(&scored[j].pareto_layer)
            .then(scored[j].npv_net_usd.total_cmp(&scored[i].npv_net_usd))
            .then(scored[i].id.cmp(&scored[j].id))
    });
    for (r, &i) in order.iter().enumerate() {
        scored[i].rank = r as u32 + 1;
    }

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

/// Budgeted selection among `improve` and `improve_with_safeguards`
/// segments, then a joint re-check. When upgrades interact (two parallel
/// roads serve the same people, so their benefits do not add up), each
/// chosen segment's value is replaced by its marginal value given the rest
/// of the set (leave-one-out), and the MIP is solved again; this repeats
/// until the set no longer changes (at most 5 times).
fn choose_portfolio(
    a: &Appraiser,
    scored: &mut [ScoredSegment],
    jobs: &[(Vec<u32>, f64)],
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
    // Yearly benefit of a set (or of an item's marginal effects): time and
    // freight from the effects, vehicle operating costs segment by segment.
    let annual_of = |set: &[usize], eff: &Effects| -> f64 {
        let voc: f64 = set.iter().map(|&i| scored[i].voc_benefit_usd).sum();
        eff.time_benefit_usd + eff.freight_benefit_usd + voc
    };
    let net_of = |set: &[usize], eff: &Effects| -> f64 {
        let e = a.econ;
        let cost: f64 = set.iter().map(|&i| scored[i].cost_usd).sum();
        let maint: f64 = set
            .iter()
            .map(|&i| scored[i].extra_maintenance_usd_per_year)
            .sum();
        -cost
            + pv_annuity(
                annual_of(set, eff) - maint,
                e.discount_rate,
                e.horizon_years,
            )
            - eff.carbon_cost_pv_usd
    };
    let mut chosen = select_within_budget(&values, &costs, budget)?;
    let first_solve: f64 = (0..scored.len())
        .filter(|i| chosen[*i])
        .map(|i| values[i])
        .sum();
    let mut iterations = 0;
    let mut last: Option<(Vec<usize>, Effects)> = None;
    let mut memo = LooMemo::default();
    for (i, s) in scored.iter().enumerate() {
        memo.expect(i, s.effects.cells_improved);
    }
    let mut note =
        "the chosen segments do not interact: their joint NPV_net equals the sum of their single values".to_string();
    loop {
        let set: Vec<usize> = (0..scored.len()).filter(|i| chosen[*i]).collect();
        if set.len() < 2 || iterations >= 5 {
            break;
        }
        // The set's joint effects and each segment's marginal effects in
        // it (the latter used only when the upgrades interact).
        let (eff, loo) = leave_one_out_with(a, &set, jobs, &mut memo);
        last = Some((set.clone(), eff));
        let joint_net = net_of(&set, &eff);
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
            crate::report::fmt_int(joint_net),
            crate::report::fmt_int(diff.abs()),
            if diff < 0.0 { "less" } else { "more" },
            if iterations == 1 { "once".to_string() } else { format!("{iterations} times") }
        );
        if !changed {
            break;
        }
        let next = select_within_budget(&values, &costs, budget)?;
        if next == chosen {
            break;
        }
        chosen = next;
    }
    let set: Vec<usize> = (0..scored.len()).filter(|i| chosen[*i]).collect();
    let eff = match last {
        _ if set.is_empty() => Effects::default(),
        Some((s, eff)) if s == set => eff,
        _ => joint(&set),
    };
    let annual = annual_of(&set, &eff);
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
        iterations,
        note,
    };
    for &i in &set {
        scored[i].in_portfolio = true;
    }
    Ok(portfolio)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn slivers_join_their_shorter_neighbour_and_ends_stay() {
        // Pieces 1000, 10, 400, 30, 2000 m: the 10 m piece joins the 400 m
        // one, then the 30 m piece joins the 410 m one.
        let mut cuts = vec![0.0, 1000.0, 1010.0, 1410.0, 1440.0, 3440.0];
        merge_slivers(&mut cuts, 200.0);
        assert_eq!(cuts, vec![0.0, 1000.0, 1440.0, 3440.0]);
        // A part shorter than the minimum stays one piece.
        let mut short = vec![0.0, 40.0, 90.0];
        merge_slivers(&mut short, 200.0);
        assert_eq!(short, vec![0.0, 90.0]);
        // A sliver at either end joins its only neighbour.
        let mut ends = vec![0.0, 5.0, 900.0, 905.0];
        merge_slivers(&mut ends, 200.0);
        assert_eq!(ends, vec![0.0, 905.0]);
        // 0 keeps every junction.
        let mut keep = vec![0.0, 1.0, 2.0];
        merge_slivers(&mut keep, 0.0);
        assert_eq!(keep, vec![0.0, 1.0, 2.0]);
    }

    fn seg(id: &str, road: u32, pts: &[(f64, f64)], class: RoadClass, name: &str) -> Segment {
        let geom = LineString::from(pts.to_vec());
        let len = geom.length::<Euclidean>();
        Segment {
            id: id.into(),
            pieces: vec![Piece {
                road,
                part: 0,
                start_m: 0.0,
                end_m: len,
            }],
            class,
            aadt: None,
            name: Some(name.into()),
            geom,
        }
    }

    #[test]
    fn slivers_join_a_neighbour_of_the_same_road_and_class_across_junctions() {
        use RoadClass::*;
        let segs = vec![
            // Road X, tertiary, drawn east; a 50 m piece of it as its own
            // feature between junctions; X goes on as secondary.
            seg("1-0", 1, &[(0.0, 0.0), (1000.0, 0.0)], Tertiary, "X"),
            seg("2-0", 2, &[(1050.0, 0.0), (1000.0, 0.0)], Tertiary, "X"),
            seg("3-0", 3, &[(1050.0, 0.0), (2000.0, 0.0)], Secondary, "X"),
            // Road Y, tertiary, branching off at the sliver's west end.
            seg("4-0", 4, &[(1000.0, 0.0), (1000.0, 500.0)], Tertiary, "Y"),
            // A lone 100 m piece of road Z: nothing to join.
            seg("5-0", 5, &[(5000.0, 0.0), (5100.0, 0.0)], Track, "Z"),
        ];
        let out = join_slivers(segs, 200.0, 1.0);
        let ids: Vec<&str> = out.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["1-0", "3-0", "4-0", "5-0"]);
        let x = &out[0];
        // The neighbour keeps its direction; the sliver is reversed onto it.
        assert_eq!(
            x.geom.0,
            vec![
                geo::coord! { x: 0.0, y: 0.0 },
                geo::coord! { x: 1000.0, y: 0.0 },
                geo::coord! { x: 1050.0, y: 0.0 }
            ]
        );
        assert_eq!(x.pieces.len(), 2);
        assert!((x.length_km() - 1.05).abs() < 1e-12);
        assert!((out[3].length_km() - 0.1).abs() < 1e-12);

        // Two candidates: the sliver prefers the end where only one road
        // meets it (the road goes on) to a three-way junction.
        let segs = vec![
            seg("a", 1, &[(0.0, 0.0), (300.0, 0.0)], Track, "W"),
            seg("b", 2, &[(300.0, 0.0), (400.0, 0.0)], Track, "W"),
            seg("c", 3, &[(400.0, 0.0), (5000.0, 0.0)], Track, "W"),
            seg("d", 4, &[(300.0, 0.0), (300.0, 900.0)], Primary, "V"),
        ];
        let out = join_slivers(segs, 200.0, 1.0);
        let ids: Vec<&str> = out.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "d"]);
        assert!((out[1].length_km() - 4.7).abs() < 1e-12);
    }

    #[test]
    fn pareto_layers_are_non_dominated_and_dominated_by_the_layer_before() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            let n = rng.gen_range(1..40);
            let a: Vec<f64> = (0..n).map(|_| rng.gen_range(-5..5) as f64).collect();
            let b: Vec<f64> = (0..n).map(|_| rng.gen_range(0..5) as f64).collect();
            let l = pareto_layers(&a, &b);
            let dominates =
                |j: usize, i: usize| a[j] >= a[i] && b[j] <= b[i] && (a[j] > a[i] || b[j] < b[i]);
            for i in 0..n {
                // Nothing in the same or a later layer dominates i.
                for j in 0..n {
                    if l[j] >= l[i] {
                        assert!(!dominates(j, i));
                    }
                }
                if l[i] > 1 {
                    assert!((0..n).any(|j| l[j] == l[i] - 1 && dominates(j, i)));
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
            let got = select_within_budget(&values, &costs, budget).unwrap();
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

    #[test]
    fn discounted_loss_share_matches_the_year_by_year_sum() {
        let (p, r, h): (f64, f64, i32) = (0.03, 0.1, 20);
        let by_year: f64 = (1..=h)
            .map(|t| (1.0 - p).powi(t - 1) * p / (1.0 + r).powi(t))
            .sum();
        assert!((discounted_loss_share(p, r, h as u32) - by_year).abs() < 1e-12);
    }

    #[test]
    fn classes_follow_the_spec() {
        assert_eq!(
            classify(1e6, 1e6, Some(1.0), 5.0, true, 0.0, 5.0).0,
            SegmentClass::Avoid
        );
        assert_eq!(
            classify(-1.0, -1.0, None, 5.0, false, 50.0, 5.0).0,
            SegmentClass::DoNotImprove
        );
        assert_eq!(
            classify(1e6, 9e5, Some(1.0), 5.0, false, 10.0, 5.0).0,
            SegmentClass::Improve
        );
        assert_eq!(
            classify(1e6, -1.0, Some(1.0), 5.0, false, 10.0, 5.0).0,
            SegmentClass::ImproveWithSafeguards
        );
        assert_eq!(
            classify(1e6, 9e5, Some(9.0), 5.0, false, 10.0, 5.0).0,
            SegmentClass::ImproveWithSafeguards
        );
        assert_eq!(
            classify(1e6, 9e5, Some(1.0), 5.0, false, 3.0, 5.0).0,
            SegmentClass::ImproveWithSafeguards
        );
    }

    /// The distance to the nearest area, with the rings' trees built once,
    /// equals geo's Euclidean distance to the bit: random polylines near
    /// a jagged polygon with a hole and a second polygon, inside the hole
    /// and outside both (those that cross an area are not asked).
    #[test]
    fn distance_to_areas_equals_geos_to_the_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let ring = |cx: f64, cy: f64, r: f64, n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
            let mut pts: Vec<(f64, f64)> = (0..n)
                .map(|k| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = r * rng.gen_range(0.8..1.2);
                    (cx + rr * a.cos(), cy + rr * a.sin())
                })
                .collect();
            pts.push(pts[0]);
            LineString::from(pts)
        };
        let holed = geo::Polygon::new(
            ring(0.0, 0.0, 1000.0, 300, &mut rng),
            vec![ring(0.0, 0.0, 400.0, 120, &mut rng)],
        );
        let other = geo::Polygon::new(ring(3000.0, 500.0, 500.0, 200, &mut rng), vec![]);
        let areas = [
            geo::MultiPolygon::new(vec![holed]),
            geo::MultiPolygon::new(vec![other]),
        ];
        let refs: Vec<&geo::MultiPolygon<f64>> = areas.iter().collect();
        let rings = AreaRings::new(&refs);
        let (mut asked, mut inside_hole) = (0, 0);
        for _ in 0..400 {
            let (x, y) = (
                rng.gen_range(-2500.0..5000.0),
                rng.gen_range(-2500.0..2500.0),
            );
            let pts: Vec<(f64, f64)> = (0..rng.gen_range(2..8))
                .map(|k| {
                    (
                        x + k as f64 * rng.gen_range(-80.0..80.0),
                        y + rng.gen_range(-80.0..80.0),
                    )
                })
                .collect();
            let ls = LineString::from(pts);
            if refs.iter().any(|a| a.intersects(&ls)) {
                continue;
            }
            asked += 1;
            inside_hole += (x * x + y * y < 300.0 * 300.0) as usize;
            let want = refs
                .iter()
                .flat_map(|a| a.0.iter())
                .map(|p| <Euclidean as geo::Distance<f64, _, _>>::distance(&ls, p))
                .fold(f64::INFINITY, f64::min);
            assert_eq!(rings.distance(&ls).to_bits(), want.to_bits(), "{ls:?}");
        }
        assert!(
            asked > 200 && inside_hole > 0,
            "{asked} asked, {inside_hole} in the hole"
        );
    }

    #[test]
    fn substring_cuts_a_polyline_at_distances() {
        let ls = LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]);
        let s = substring(&ls, 5.0, 15.0);
        assert_eq!(
            s,
            LineString::from(vec![(5.0, 0.0), (10.0, 0.0), (10.0, 5.0)])
        );
        assert!((s.length::<Euclidean>() - 10.0).abs() < 1e-12);
    }
}
