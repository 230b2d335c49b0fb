//! The appraiser: what one upgrade (or a set of them) changes, cell by
//! cell, through the incremental accessibility engine, summed into
//! benefits, forest loss and its carbon (`Effects`), and each segment's
//! NPVs and IRR.

use std::collections::BTreeMap;

use geo::Intersects;
use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::Serialize;

use super::*;
use crate::access::Access;
use crate::config::{AccessParams, Economics, RoadClass, RoadUpgradeParams};
use crate::halo::Halo;
use crate::inputs::Inputs;
use crate::kernels::cost_distance::{Gate, GateBounds, Scratch};
use crate::kernels::lines::cell_pieces;
use crate::risk::{discounted_loss_share, loss_within, Risk};

/// tCO2 per t C.
const CO2_PER_C: f64 = 44.0 / 12.0;

/// What a travel-time change does: the people and marketed output whose
/// way to market gets faster, the hours each of their trips saves, and the
/// forest loss it invites. Every figure is a sum over cells, so the effects
/// of a set of upgrades add and subtract like the sets themselves; money
/// comes from them through the road-user cost model (`red::UserCosts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Effects {
    pub cells_improved: usize,
    /// People whose travel time to market drops: the users of the upgraded
    /// road, diverted traffic included.
    pub people_served: f64,
    /// Σ over those people of the hours one trip to market saves.
    pub people_hours_saved: f64,
    /// Marketed farm output of the cells whose time drops, t a year.
    pub marketed_t: f64,
    /// Σ over that output of the hours one trip saves, t·h.
    pub marketed_t_hours_saved: f64,
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
            people_hours_saved: self.people_hours_saved - o.people_hours_saved,
            marketed_t: self.marketed_t - o.marketed_t,
            marketed_t_hours_saved: self.marketed_t_hours_saved - o.marketed_t_hours_saved,
            forest_loss_ha: self.forest_loss_ha - o.forest_loss_ha,
            loss_in_conservation_ha: self.loss_in_conservation_ha - o.loss_in_conservation_ha,
            loss_in_halo_ha: self.loss_in_halo_ha - o.loss_in_halo_ha,
            tco2: self.tco2 - o.tco2,
            carbon_cost_pv_usd: self.carbon_cost_pv_usd - o.carbon_cost_pv_usd,
        }
    }
}

/// Per-cell inputs of the benefit sums, worked out from the input grids as
/// each cell is read (kept as grids they were 8-12 B a cell at the run's
/// peak, and reading them cost no less than working them out).
pub(super) struct CellValues {
    pub(super) ha: f64,
    pub(super) people_per_farm_ha: f64,
    /// The marketed part of the farm output, t/ha/yr.
    pub(super) marketed_t_per_ha: f64,
    /// Carbon density where the carbon raster has a gap or there is none.
    pub(super) default_carbon_tc_per_ha: f32,
}

impl CellValues {
    pub(super) fn new(inp: &Inputs, p: &RoadUpgradeParams, default_carbon: f64) -> CellValues {
        CellValues {
            ha: inp.grid.cell_area_ha(),
            people_per_farm_ha: p.people_per_farm_ha,
            marketed_t_per_ha: p.farm_output_t_per_ha * p.marketed_share,
            default_carbon_tc_per_ha: default_carbon as f32,
        }
    }

    /// The share of cell `i` that is farmland: what is not forest, unless
    /// the land cover says water or built-up.
    #[inline]
    pub(super) fn farm_share(inp: &Inputs, i: usize) -> f64 {
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
    pub(super) fn people(&self, inp: &Inputs, i: usize) -> f32 {
        if inp.aoi_mask[i] == 0 {
            return 0.0;
        }
        match &inp.population {
            Some(pop) => pop[i].max(0.0),
            None => (Self::farm_share(inp, i) * self.ha * self.people_per_farm_ha) as f32,
        }
    }

    /// Marketed farm output of cell `i`, tonnes a year (0 outside the
    /// area of interest).
    #[inline]
    pub(super) fn marketed_t(&self, inp: &Inputs, i: usize) -> f32 {
        if inp.aoi_mask[i] == 0 {
            0.0
        } else {
            (Self::farm_share(inp, i) * self.ha * self.marketed_t_per_ha) as f32
        }
    }

    /// Carbon density of cell `i`, t C/ha: the carbon raster's (gaps at the
    /// default), or the default everywhere when there is no raster.
    #[inline]
    pub(super) fn carbon_tc_per_ha(&self, inp: &Inputs, i: usize) -> f32 {
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
    pub(super) bits: Vec<u64>,
    /// Values before each word's first cell.
    pub(super) rank: Vec<u32>,
    pub(super) vals: Vec<[f64; 2]>,
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
    pub(super) cells: CellValues,
    /// Where upgrades need not be relaxed: cells outside the area of
    /// interest (where nothing is counted) that cannot bring a cell inside
    /// below today's time, whatever the upgrades (`Access::gate`).
    pub(super) gate: GateBounds,
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

    pub(super) fn with_gate(
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
    pub(super) fn can_lose_forest(&self, i: usize) -> bool {
        !self.risk.annual_p[i].is_nan() && self.inp.forest[i] != 0.0
    }

    /// A forest cell's expected share lost within the horizon and its
    /// discounted share, at travel time `t_new` (what `effects_of_many`
    /// computes for each cell of each change: a logarithm, an exponential,
    /// a power and two integer powers).
    #[inline]
    pub(super) fn shares_at(&self, i: usize, t_new: f32) -> [f64; 2] {
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
            let marketed_t = self.cells.marketed_t(inp, i) as f64;
            for (o, t) in out.iter_mut().zip(&ts) {
                let Some(t_new) = *t else { continue };
                let dt_h = ((t_old - t_new).max(0.0) as f64) / 60.0;
                o.cells_improved += 1;
                o.people_served += people;
                o.people_hours_saved += dt_h * people;
                o.marketed_t += marketed_t;
                o.marketed_t_hours_saved += dt_h * marketed_t;
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

    pub(super) fn target_kmh(&self, c: RoadClass) -> (String, f64) {
        match c.upgraded() {
            Some(u) => (u.as_str().to_string(), self.speeds.speed_kmh(u)),
            None => (
                "primary_rehabilitated".to_string(),
                self.p.primary_upgraded_kmh,
            ),
        }
    }

    pub(super) fn cost_per_km(&self, c: RoadClass) -> f64 {
        match c {
            RoadClass::Track => self.p.cost_track_usd_per_km,
            RoadClass::Tertiary => self.p.cost_tertiary_usd_per_km,
            RoadClass::Secondary => self.p.cost_secondary_usd_per_km,
            RoadClass::Primary => self.p.cost_primary_usd_per_km,
        }
    }

    pub(super) fn maintenance(&self, c: RoadClass) -> f64 {
        match c {
            RoadClass::Track => self.p.maintenance_track_usd_per_km,
            RoadClass::Tertiary => self.p.maintenance_tertiary_usd_per_km,
            RoadClass::Secondary => self.p.maintenance_secondary_usd_per_km,
            RoadClass::Primary => self.p.maintenance_primary_usd_per_km,
        }
    }

    /// The tCO2 a change in travel times emits through its extra forest
    /// loss, year by year after the works (index 0: the first year), over
    /// the horizon: each forest cell loses (1-p)^(t-1) p of its forest in
    /// year t at its new annual chance p, less what it loses at today's.
    /// The years add up to `Effects::tco2` of the same change.
    pub fn tco2_by_year(&self, delta: &[(u32, f32)]) -> Vec<f64> {
        let (inp, risk) = (self.inp, self.risk);
        let h = self.econ.horizon_years as usize;
        let ha = inp.grid.cell_area_ha();
        let mut out = vec![0.0; h];
        for &(c, t_new) in delta {
            let i = c as usize;
            if inp.aoi_mask[i] == 0 || !self.can_lose_forest(i) {
                continue;
            }
            let p_old = risk.annual_p[i] as f64;
            let p_new = risk
                .model
                .annual_p_at(&risk.drivers, i, t_new, risk.travel_cap);
            let co2 =
                inp.forest[i] as f64 * ha * self.cells.carbon_tc_per_ha(inp, i) as f64 * CO2_PER_C;
            let (mut keep_old, mut keep_new) = (1.0, 1.0);
            for y in out.iter_mut() {
                *y += co2 * (keep_new * p_new - keep_old * p_old);
                keep_old *= 1.0 - p_old;
                keep_new *= 1.0 - p_new;
            }
        }
        out
    }

    /// The road-user cost model of upgrading a segment of class `c`.
    pub fn user_costs(&self, c: RoadClass) -> red::UserCosts {
        let (_, to_kmh) = self.target_kmh(c);
        red::UserCosts::new(self.p, c, self.speeds.speed_kmh(c), c.upgraded(), to_kmh)
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
        let costs = self.user_costs(s.class);
        let traffic = match s.aadt {
            Some(q) => costs.counted(q, len, &eff),
            None => costs.modelled(&eff),
        };
        let (per_person_hour, per_tonne_hour) = costs.per_hour_saved();
        let annual = traffic.benefit_year1_usd;
        let h = e.horizon_years;
        let ap = red::appraise(
            cost,
            annual,
            self.p.traffic_growth,
            extra_maint,
            h,
            e.discount_rate,
        );
        let npv_econ = ap.npv_usd;
        let pv_benefit = ap.pv_benefit_usd;
        let bcr = ap.bcr.unwrap_or(0.0);
        let (switch_cost_econ, switch_benefit_econ) =
            red::switching_values(pv_benefit, ap.pv_cost_usd, 0.0);
        let (switch_cost_net, switch_benefit_net) =
            red::switching_values(pv_benefit, ap.pv_cost_usd, -eff.carbon_cost_pv_usd);
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
            aadt_source: traffic.source,
            aadt_normal: traffic.aadt_normal,
            aadt_generated: traffic.aadt_generated,
            annual_benefit_usd: annual,
            producer_surplus_usd: traffic.producer_surplus_usd,
            benefit_per_person_hour_usd: per_person_hour,
            benefit_per_tonne_hour_usd: per_tonne_hour,
            pv_benefit_usd: pv_benefit,
            npv_econ_usd: npv_econ,
            bcr,
            eirr: ap.eirr,
            switch_cost_econ_pct: switch_cost_econ,
            switch_benefit_econ_pct: switch_benefit_econ,
            switch_cost_net_pct: switch_cost_net,
            switch_benefit_net_pct: switch_benefit_net,
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
            value_in_choice_usd: None,
            importance_usd: None,
            importance_share: None,
            firmness: None,
            alternatives_share: None,
        }
    }
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

/// Every segment appraised on its own, side by side on every core: its
/// upgrade's travel-time change, its slope, whether it crosses or how far
/// it lies from a conservation area, and its figures.
pub(super) fn appraise_all(
    a: &Appraiser,
    segs: &[Segment],
    jobs: &[(Vec<u32>, f64)],
    bar: &ProgressBar,
) -> Vec<ScoredSegment> {
    let inp = a.inp;
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

    // Segments handed out one at a time so no worker is left with a long
    // tail of big catchments.
    let pool = ScratchPool::new(&a.access.travel_min);
    let scored: Vec<ScoredSegment> = segs
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
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounted_loss_share_matches_the_year_by_year_sum() {
        let (p, r, h): (f64, f64, i32) = (0.03, 0.1, 20);
        let by_year: f64 = (1..=h)
            .map(|t| (1.0 - p).powi(t - 1) * p / (1.0 + r).powi(t))
            .sum();
        assert!((discounted_loss_share(p, r, h as u32) - by_year).abs() < 1e-12);
    }
}
