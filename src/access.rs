//! SPEC section A, accessibility: travel time in minutes from every cell to
//! the nearest market, over a friction surface (walking speeds by land cover,
//! slowed by slope) joined to a road graph (exact lengths at class speeds).
//!
//! Roads are extra graph edges between the cells they cross: a road is split
//! at every grid line into pieces, one per cell, and consecutive pieces are
//! joined by an edge of length (half of one piece + half of the next) at the
//! road's speed. A cell is thereby joined to every road crossing it, and
//! travel along a road costs its geometric length / speed (less half a cell
//! piece at each end). Water cells are impassable off-road, but a road
//! crossing them (a bridge) still carries traffic through them.

use geo::CoordsIter;
use rayon::prelude::*;

use crate::config::{AccessParams, LandcoverClasses, RoadClass};
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::inputs::Inputs;
use crate::kernels::cost_distance::{
    self, CostGrid, EdgeWeights, ExtraEdges, Gate, GateBounds, Scratch, Source,
};
use crate::kernels::lines::cell_pieces;

/// One road edge between two cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoadEdge {
    pub a: u32,
    pub b: u32,
    /// Length travelled along the road between the two cells, metres.
    pub len_m: f64,
    pub class: RoadClass,
    /// Index into `Inputs::roads`.
    pub road: u32,
    /// Index of the part of a MultiLineString road.
    pub part: u32,
    /// Distance from the part's start to the boundary between the two
    /// cells, metres: where along the road this edge sits.
    pub along_m: f64,
}

/// The road graph over the grid.
#[derive(Debug, Clone, Default)]
pub struct RoadNetwork {
    pub edges: Vec<RoadEdge>,
    pub extra: ExtraEdges,
}

/// Minutes to travel `len_m` metres at `kmh`: the one place an edge weight
/// is computed, for the full and the incremental solver alike.
#[inline]
pub fn edge_minutes(len_m: f64, kmh: f64) -> f32 {
    (len_m * 60.0 / (kmh * 1000.0)) as f32
}

/// Tobler's hiking function relative to flat ground, isotropic (a cell's
/// slope has no direction here): v(S) / v(0) = exp(-3.5 |S|) with S = tan θ
/// (Tobler 1993, "Three presentations on geographical analysis and
/// modeling": v = 6 exp(-3.5 |S + 0.05|) km/h).
#[inline]
pub fn tobler_factor(slope_deg: f32) -> f64 {
    if slope_deg.is_nan() {
        return 1.0;
    }
    (-3.5 * (slope_deg as f64).to_radians().tan().abs()).exp()
}

/// Off-road friction in minutes per metre for every cell (infinite for water).
pub fn friction(inp: &Inputs, p: &AccessParams, lc: &LandcoverClasses) -> Vec<f32> {
    let g = &inp.grid;
    let slope = inp.slope_deg();
    (0..g.len())
        .into_par_iter()
        .map(|i| {
            let forest_frac = inp.forest[i];
            let by_forest = || {
                if !forest_frac.is_nan() && forest_frac >= 0.5 {
                    p.forest_kmh
                } else {
                    p.open_kmh
                }
            };
            let kmh = match inp.landcover.as_ref().map(|l| l[i]) {
                Some(v) if !v.is_nan() => {
                    let code = v as i32;
                    if lc.water.contains(&code) {
                        return f32::INFINITY;
                    } else if lc.forest.contains(&code) {
                        p.forest_kmh
                    } else if lc.open.contains(&code) {
                        p.open_kmh
                    } else {
                        by_forest()
                    }
                }
                _ => by_forest(),
            };
            (60.0 / (kmh * 1000.0) / tobler_factor(slope[i])) as f32
        })
        .collect()
}

/// Build the road graph: every road part split into cell pieces, consecutive
/// pieces joined.
pub fn road_network(g: &Grid, roads: &[crate::inputs::Road]) -> RoadNetwork {
    let gg = g.geom();
    let mut edges = Vec::new();
    for (ri, road) in roads.iter().enumerate() {
        for (pi, part) in road.geom.0.iter().enumerate() {
            let coords: Vec<(f64, f64)> = part.coords_iter().map(|c| (c.x, c.y)).collect();
            for run in cell_pieces(&gg, &coords) {
                for w in run.windows(2) {
                    edges.push(RoadEdge {
                        a: w[0].cell,
                        b: w[1].cell,
                        len_m: 0.5 * (w[0].len + w[1].len),
                        class: road.class,
                        road: ri as u32,
                        part: pi as u32,
                        along_m: w[1].start,
                    });
                }
            }
        }
    }
    let extra = ExtraEdges::new(g.len(), edges.iter().map(|e| (e.a, e.b)).collect());
    RoadNetwork { edges, extra }
}

/// Everything accessibility computes.
#[derive(Debug, Clone)]
pub struct Access {
    /// Off-road friction, minutes per metre.
    pub friction: Vec<f32>,
    pub roads: RoadNetwork,
    /// Base edge weights, minutes, by edge.
    pub weights: Vec<f32>,
    pub sources: Vec<Source>,
    /// Travel time to the nearest market, minutes (INFINITY: unreachable).
    pub travel_min: Vec<f32>,
    /// Index into `Inputs::markets` of the nearest market (u16::MAX: none).
    pub nearest_market: Vec<u16>,
    grid: Grid,
}

impl Access {
    /// Friction, road graph and travel time for a landscape.
    pub fn compute(inp: &Inputs, p: &AccessParams, lc: &LandcoverClasses) -> Result<Access> {
        Access::compute_with(inp, p, lc, &indicatif::ProgressBar::hidden())
    }

    /// `compute`, counting the cells the solve takes from its queue on
    /// `bar` (it sets the length to the grid's cells and clears the bar).
    pub fn compute_with(
        inp: &Inputs,
        p: &AccessParams,
        lc: &LandcoverClasses,
        bar: &indicatif::ProgressBar,
    ) -> Result<Access> {
        if inp.markets.len() >= u16::MAX as usize {
            return Err(Error::Usage(format!(
                "{} markets: greenhalo handles at most {}",
                inp.markets.len(),
                u16::MAX - 1
            )));
        }
        let friction = friction(inp, p, lc);
        let roads = road_network(&inp.grid, &inp.roads);
        let g = &inp.grid;
        let markets: Vec<(f64, f64)> = inp
            .markets
            .iter()
            .map(|m| (m.point.x(), m.point.y()))
            .collect();
        bar.set_length(g.len() as u64);
        let n = g.len() as u64;
        let tick = |k: u64| bar.set_position((bar.position() + k).min(n));
        let a = Access::build_counted(g, friction, roads, &markets, p, &tick);
        bar.finish_and_clear();
        Ok(a)
    }

    /// Travel time over a given friction surface, road graph and markets
    /// (points in grid coordinates; those off the grid are skipped).
    pub fn build(
        g: &Grid,
        friction: Vec<f32>,
        roads: RoadNetwork,
        markets: &[(f64, f64)],
        p: &AccessParams,
    ) -> Access {
        Access::build_counted(g, friction, roads, markets, p, &|_| {})
    }

    /// `build`, calling `tick` as the solve takes cells from its queue
    /// (`cost_distance::solve_counted`).
    pub fn build_counted(
        g: &Grid,
        friction: Vec<f32>,
        roads: RoadNetwork,
        markets: &[(f64, f64)],
        p: &AccessParams,
        tick: &dyn Fn(u64),
    ) -> Access {
        let weights = roads
            .edges
            .iter()
            .map(|e| edge_minutes(e.len_m, p.speed_kmh(e.class)))
            .collect();
        let sources: Vec<Source> = markets
            .iter()
            .enumerate()
            .filter_map(|(k, m)| {
                g.cell_of(m.0, m.1).map(|(c, r)| Source {
                    cell: g.index(c, r) as u32,
                    cost: 0.0,
                    label: k as u16,
                })
            })
            .collect();
        let mut a = Access {
            friction,
            roads,
            weights,
            sources,
            travel_min: Vec::new(),
            nearest_market: vec![u16::MAX; g.len()],
            grid: g.clone(),
        };
        let mut labels = vec![u16::MAX; g.len()];
        a.travel_min = cost_distance::solve_counted(
            &a.cost_grid(),
            Some((
                &a.roads.extra,
                EdgeWeights {
                    base: &a.weights,
                    over: &[],
                },
            )),
            &a.sources,
            Some(&mut labels),
            tick,
        );
        a.nearest_market = labels;
        a
    }

    pub fn cost_grid(&self) -> CostGrid<'_> {
        CostGrid {
            width: self.grid.width,
            height: self.grid.height,
            dx: self.grid.res,
            dy: self.grid.res,
            cost: &self.friction,
        }
    }

    /// The overrides that upgrade `edges` to `kmh` (never slower than now).
    pub fn upgrade_weights(&self, edges: &[u32], kmh: f64) -> Vec<(u32, f32)> {
        self.overrides(&[(edges, kmh)])
    }

    /// Overrides for several upgrades at once (a portfolio); where two
    /// touch one edge, the faster wins.
    pub fn overrides(&self, jobs: &[(&[u32], f64)]) -> Vec<(u32, f32)> {
        self.overrides_on(&self.weights, jobs)
    }

    /// Overrides for upgrades on top of edge weights `base` (a network
    /// with some upgrades already made); never slower than `base`.
    pub fn overrides_on(&self, base: &[f32], jobs: &[(&[u32], f64)]) -> Vec<(u32, f32)> {
        let mut over: Vec<(u32, f32)> = jobs
            .iter()
            .flat_map(|(edges, kmh)| {
                edges.iter().map(move |&e| {
                    let w = edge_minutes(self.roads.edges[e as usize].len_m, *kmh);
                    (e, w.min(base[e as usize]))
                })
            })
            .collect();
        over.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        over.dedup_by_key(|o| o.0);
        over
    }

    /// Incremental update for arbitrary (cheaper) edge overrides; exact
    /// wherever the gate lets it be (everywhere with `Gate(None)`).
    pub fn upgrade_with(
        &self,
        over: &[(u32, f32)],
        gate: Gate,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        cost_distance::relax_cheaper(
            &self.cost_grid(),
            &self.roads.extra,
            EdgeWeights {
                base: &self.weights,
                over,
            },
            &self.travel_min,
            gate,
            scratch,
        )
    }

    /// Gate bounds for upgrades that can at most bring every road to
    /// `fastest_kmh`, counting the cells where `counted` holds: an upgrade
    /// relaxed through the gate gives every counted cell whose time drops its
    /// exact new time, and need not expand cells (outside the area of
    /// interest) that cannot bring a counted cell below today's time.
    pub fn gate(&self, fastest_kmh: f64, counted: impl Fn(usize) -> bool) -> GateBounds {
        let fastest: Vec<f32> = self
            .roads
            .edges
            .iter()
            .zip(&self.weights)
            .map(|(e, &w)| edge_minutes(e.len_m, fastest_kmh).min(w))
            .collect();
        cost_distance::gate_bounds(
            &self.cost_grid(),
            Some((
                &self.roads.extra,
                EdgeWeights {
                    base: &fastest,
                    over: &[],
                },
            )),
            &self.travel_min,
            counted,
        )
    }

    /// The cells whose travel time drops when the overrides `over` (never
    /// dearer than `weights`) are made on a network whose edges weigh
    /// `weights` and whose travel times are `field` (its exact solution),
    /// with their new times, sorted by cell; exact. `scratch` must hold
    /// `field` and holds it again afterwards.
    pub fn upgrade_on(
        &self,
        field: &[f32],
        weights: &[f32],
        over: &[(u32, f32)],
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        cost_distance::relax_cheaper(
            &self.cost_grid(),
            &self.roads.extra,
            EdgeWeights {
                base: weights,
                over,
            },
            field,
            Gate(None),
            scratch,
        )
    }

    /// Decremental update: on a network whose edges run at the overrides
    /// `over` (travel times `field`, the exact solution), the cells whose
    /// time depends on the edges `raised`, which go back to their weights
    /// in `over_after`, with their new times (sorted by cell; equal to a
    /// full solve). `scratch` must hold `field` and holds it again after.
    pub fn raise(
        &self,
        field: &[f32],
        over: &[(u32, f32)],
        over_after: &[(u32, f32)],
        raised: &[u32],
        gate: Gate,
        scratch: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        cost_distance::relax_dearer(
            &self.cost_grid(),
            &self.roads.extra,
            EdgeWeights {
                base: &self.weights,
                over,
            },
            EdgeWeights {
                base: &self.weights,
                over: over_after,
            },
            raised,
            &self.sources,
            field,
            gate,
            scratch,
        )
    }

    /// Incremental upgrade: the cells whose travel time drops when `edges`
    /// run at `kmh`, with their new times, sorted by cell. Equal, bit for
    /// bit, to `travel_time_with` on the upgraded network.
    pub fn upgrade(&self, edges: &[u32], kmh: f64, scratch: &mut Scratch) -> Vec<(u32, f32)> {
        self.upgrade_with(&self.upgrade_weights(edges, kmh), Gate(None), scratch)
    }

    /// Full recomputation with some edges upgraded (the reference the
    /// incremental update must equal).
    pub fn travel_time_with(&self, edges: &[u32], kmh: f64) -> Vec<f32> {
        let over = self.upgrade_weights(edges, kmh);
        cost_distance::solve(
            &self.cost_grid(),
            Some((
                &self.roads.extra,
                EdgeWeights {
                    base: &self.weights,
                    over: &over,
                },
            )),
            &self.sources,
            None,
        )
    }

    /// A scratch buffer for `upgrade` (one per thread).
    pub fn scratch(&self) -> Scratch {
        Scratch::new(&self.travel_min)
    }
}
