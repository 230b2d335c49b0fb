//! SPEC section B, deforestation risk: the annual probability that a forest
//! cell is cleared, from a logistic model of six drivers (log travel time to
//! market, distance to the nearest road, distance to the forest edge, slope,
//! elevation, inside a conservation area).
//!
//! With a historical loss raster the model is fitted: L2-regularised logistic
//! regression on a seeded, balanced sample of loss and non-loss cells of the
//! forest at the start of the period, drivers standardised, the intercept
//! corrected for the sampling (prior correction, King and Zeng 2001,
//! "Logistic regression in rare events data", Political Analysis 9:137), and
//! the period probability turned into an annual rate. AUC is measured on
//! held-out cells. Without one, documented default coefficients are used.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Arc;

use crate::config::RiskParams;
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::kernels::distance::edt;
use crate::kernels::lines::cell_pieces;

pub mod validation;

/// Number of drivers (without the intercept).
pub const K: usize = 6;

/// Driver names, in coefficient order after the intercept, with units.
pub const DRIVER_NAMES: [&str; K] = [
    "ln_travel_time_min",
    "road_distance_km",
    "edge_distance_km",
    "slope_deg",
    "elevation_km",
    "protected",
];

/// The drivers on the grid. Travel time is kept as ln(1 + minutes).
#[derive(Debug, Clone)]
pub struct Drivers {
    pub ln_travel: Vec<f32>,
    pub road_km: Vec<f32>,
    pub edge_km: Vec<f32>,
    /// Slope, degrees, and elevation, metres: the inputs' own grids
    /// (shared, not copied); `row` reads a gap as 0 and elevation in km.
    pub slope_deg: Arc<Vec<f32>>,
    pub elevation_m: Arc<Vec<f32>>,
    pub protected: Vec<u8>,
}

/// ln(1 + t): travel time enters the model on a log scale; unreachable cells
/// (infinite t) take `cap`, the largest finite time on the grid.
#[inline]
pub fn ln_travel(t_min: f32, cap: f32) -> f32 {
    let t = if t_min.is_finite() { t_min } else { cap };
    (1.0 + t.max(0.0)).ln()
}

impl Drivers {
    /// Compute every driver. `forest` says which cells are forest for the
    /// edge distance (the forest at the start of the period when fitting,
    /// today's forest when predicting).
    pub fn compute(
        grid: &Grid,
        travel_min: &[f32],
        roads: &[crate::inputs::Road],
        forest: &[bool],
        elevation_m: &Arc<Vec<f32>>,
        slope_deg: &Arc<Vec<f32>>,
        conservation_id: &[u16],
    ) -> Drivers {
        let cap = travel_min
            .iter()
            .filter(|t| t.is_finite())
            .fold(0f32, |a, b| a.max(*b));
        let ln_travel = travel_min.par_iter().map(|t| ln_travel(*t, cap)).collect();
        let gg = grid.geom();
        let mut on_road = vec![false; grid.len()];
        for r in roads {
            for part in &r.geom.0 {
                let coords: Vec<(f64, f64)> = part.0.iter().map(|c| (c.x, c.y)).collect();
                for p in cell_pieces(&gg, &coords).into_iter().flatten() {
                    on_road[p.cell as usize] = true;
                }
            }
        }
        let km = |v: Vec<f32>| -> Vec<f32> {
            v.into_iter()
                .map(|d| if d.is_finite() { d / 1000.0 } else { 1e3 })
                .collect()
        };
        let road_km = km(edt(&on_road, grid.width, grid.height, grid.res));
        Drivers {
            ln_travel,
            road_km,
            edge_km: edge_km(grid, forest),
            slope_deg: Arc::clone(slope_deg),
            elevation_m: Arc::clone(elevation_m),
            protected: conservation_id.iter().map(|c| (*c > 0) as u8).collect(),
        }
    }

    /// The driver vector of a cell with its edge distance replaced by
    /// `edge_km` (another forest mask's: the only driver that depends on
    /// it); no copy of the other drivers.
    #[inline]
    pub fn row_with_edge(&self, cell: usize, edge_km: f32) -> [f64; K] {
        let mut x = self.row(cell);
        x[2] = edge_km as f64;
        x
    }

    /// The driver vector of a cell, with its travel time replaced by
    /// `ln_travel` (no allocation).
    #[inline]
    pub fn row_with(&self, cell: usize, ln_travel: f32) -> [f64; K] {
        [
            ln_travel as f64,
            self.road_km[cell] as f64,
            self.edge_km[cell] as f64,
            self.slope_at(cell) as f64,
            self.elevation_km_at(cell) as f64,
            self.protected[cell] as f64,
        ]
    }

    /// Slope driver: degrees, a gap as 0.
    #[inline]
    fn slope_at(&self, cell: usize) -> f32 {
        let s = self.slope_deg[cell];
        if s.is_nan() {
            0.0
        } else {
            s
        }
    }

    /// Elevation driver: km (in f32, as the model was always given it), a
    /// gap as 0.
    #[inline]
    fn elevation_km_at(&self, cell: usize) -> f32 {
        let e = self.elevation_m[cell];
        if e.is_nan() {
            0.0
        } else {
            e / 1000.0
        }
    }

    #[inline]
    pub fn row(&self, cell: usize) -> [f64; K] {
        self.row_with(cell, self.ln_travel[cell])
    }
}

/// Distance from each cell to the nearest non-forest cell, km (0 outside
/// forest; 1,000 where the grid has no non-forest cell at all).
fn edge_km(grid: &Grid, forest: &[bool]) -> Vec<f32> {
    let non_forest: Vec<bool> = forest.iter().map(|f| !f).collect();
    edt(&non_forest, grid.width, grid.height, grid.res)
        .into_iter()
        .map(|d| if d.is_finite() { d / 1000.0 } else { 1e3 })
        .collect()
}

/// One row of the coefficient table.
#[derive(Debug, Clone, Serialize)]
pub struct Coefficient {
    pub name: String,
    /// On the drivers' own units (per km, per degree, ...).
    pub estimate: f64,
    /// Standard error on the same units (None for default coefficients).
    pub std_error: Option<f64>,
    /// On standardised drivers (fitted models only).
    pub standardised: Option<f64>,
    pub note: Option<String>,
}

/// The risk model: annual logit of loss = b0 + sum(b_k x_k).
#[derive(Debug, Clone, Serialize)]
pub struct RiskModel {
    pub calibrated: bool,
    /// Intercept then one coefficient per driver, natural units, for the
    /// probability of loss over `period_years`.
    pub coef: [f64; K + 1],
    /// Years the fitted probability covers (1 for default coefficients,
    /// which are annual already).
    pub period_years: f64,
    pub table: Vec<Coefficient>,
    pub auc_holdout: Option<f64>,
    /// The held-out cells: (index, lost, predicted probability over the
    /// period). `fit` gives row indices; `compute` turns them into grid
    /// cells. Written as risk_holdout.csv so AUC can be checked elsewhere.
    #[serde(skip)]
    pub holdout: Vec<(usize, bool, f64)>,
    pub n_train: usize,
    pub n_holdout: usize,
    pub n_loss_cells: usize,
    pub n_forest_cells: usize,
    /// Share of start-of-period forest cells lost over the period.
    pub observed_period_rate: Option<f64>,
    /// Mean predicted period probability over the same cells (calibration check).
    pub predicted_period_rate: Option<f64>,
    /// Block cross-validation, benchmark and forward check (fitted models).
    pub validation: Option<validation::Validation>,
    pub warnings: Vec<String>,
}

#[inline]
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl RiskModel {
    /// The documented defaults, used when no loss raster is given.
    pub fn default_model(p: &RiskParams) -> RiskModel {
        let d = &p.default_coefficients;
        let coef = [
            d.intercept,
            d.ln_travel_time_min,
            d.road_distance_km,
            d.edge_distance_km,
            d.slope_deg,
            d.elevation_km,
            d.protected,
        ];
        let names = std::iter::once("intercept").chain(DRIVER_NAMES);
        RiskModel {
            calibrated: false,
            coef,
            period_years: 1.0,
            table: names
                .zip(coef)
                .map(|(n, c)| Coefficient {
                    name: n.to_string(),
                    estimate: c,
                    std_error: None,
                    standardised: None,
                    note: Some("default (not calibrated; see [risk] in the landscape file)".into()),
                })
                .collect(),
            auc_holdout: None,
            holdout: Vec::new(),
            n_train: 0,
            n_holdout: 0,
            n_loss_cells: 0,
            n_forest_cells: 0,
            observed_period_rate: None,
            predicted_period_rate: None,
            validation: None,
            warnings: vec![],
        }
    }

    /// Annual probability of loss for a driver vector.
    #[inline]
    pub fn annual_p(&self, x: &[f64; K]) -> f64 {
        let mut z = self.coef[0];
        for k in 0..K {
            z += self.coef[k + 1] * x[k];
        }
        let period = sigmoid(z);
        if self.period_years == 1.0 {
            period
        } else {
            1.0 - (1.0 - period).powf(1.0 / self.period_years)
        }
    }

    /// Annual probability of a cell with its travel time changed to
    /// `travel_min` (the road stage's question); allocates nothing.
    #[inline]
    pub fn annual_p_at(&self, d: &Drivers, cell: usize, travel_min: f32, cap: f32) -> f64 {
        self.annual_p(&d.row_with(cell, ln_travel(travel_min, cap)))
    }
}

/// Expected share of a cell's forest lost within `years`: 1 - (1 - p)^H
/// (by repeated multiplication for a whole number of years, the horizon's
/// case: the road stage evaluates it for every cell an upgrade reaches).
#[inline]
pub fn loss_within(p_annual: f64, years: f64) -> f64 {
    let keep = 1.0 - p_annual;
    if years.fract() == 0.0 && years.abs() <= 1024.0 {
        1.0 - keep.powi(years as i32)
    } else {
        1.0 - keep.powf(years)
    }
}

/// Discounted expected share of a cell lost, each year's loss discounted
/// to year 0: sum over t = 1..H of (1-p)^(t-1) p / (1+r)^t.
pub fn discounted_loss_share(p: f64, r: f64, years: u32) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    let q = (1.0 - p) / (1.0 + r);
    let h = years as i32;
    if (1.0 - q).abs() < 1e-15 {
        return p / (1.0 + r) * years as f64;
    }
    p / (1.0 + r) * (1.0 - q.powi(h)) / (1.0 - q)
}

/// Area under the ROC curve (Mann-Whitney): the chance that a random
/// positive scores above a random negative, ties counting one half.
pub fn auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let n_pos = positive.iter().filter(|p| **p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    // Sum of positive ranks, ties sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if positive[k] {
                rank_sum += mean_rank;
            }
        }
        i = j + 1;
    }
    Some((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// Penalised negative log-likelihood on standardised drivers; the
/// intercept is not penalised.
struct Logistic<'a> {
    x: &'a [[f64; K]],
    y: &'a [bool],
    l2: f64,
    active: [bool; K],
}

impl Logistic<'_> {
    fn eta(&self, b: &[f64], x: &[f64; K]) -> f64 {
        let mut z = b[0];
        for k in 0..K {
            if self.active[k] {
                z += b[k + 1] * x[k];
            }
        }
        z
    }
}

impl Logistic<'_> {
    /// The penalised negative log-likelihood (slopes penalised, not the
    /// intercept).
    fn cost(&self, b: &[f64]) -> f64 {
        let mut nll = 0.0;
        for (x, y) in self.x.iter().zip(self.y) {
            let z = self.eta(b, x);
            // log(1 + e^z) - y z, computed stably.
            let softplus = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            nll += softplus - if *y { z } else { 0.0 };
        }
        let pen: f64 = b[1..].iter().map(|v| v * v).sum::<f64>() * 0.5 * self.l2;
        nll + pen
    }

    /// The gradient and Hessian of `cost` in one pass (a driver left out
    /// has a zero gradient and a unit diagonal, so it stays at 0).
    fn gradient_hessian(&self, b: &[f64]) -> (nalgebra::DVector<f64>, nalgebra::DMatrix<f64>) {
        let m = K + 1;
        let mut g = nalgebra::DVector::<f64>::zeros(m);
        let mut h = nalgebra::DMatrix::<f64>::zeros(m, m);
        let mut xv = [0.0; K + 1];
        xv[0] = 1.0;
        for (x, y) in self.x.iter().zip(self.y) {
            let p = sigmoid(self.eta(b, x));
            let (r, w) = (p - if *y { 1.0 } else { 0.0 }, p * (1.0 - p));
            for k in 0..K {
                xv[k + 1] = if self.active[k] { x[k] } else { 0.0 };
            }
            for i in 0..m {
                g[i] += r * xv[i];
                let wi = w * xv[i];
                for j in 0..m {
                    h[(i, j)] += wi * xv[j];
                }
            }
        }
        for k in 0..K {
            if self.active[k] {
                g[k + 1] += self.l2 * b[k + 1];
                h[(k + 1, k + 1)] += self.l2;
            } else {
                h[(k + 1, k + 1)] = 1.0;
            }
        }
        (g, h)
    }

    /// The coefficients minimising `cost`, by Newton's method with a
    /// backtracking (Armijo) line search: the cost is strictly convex with
    /// the penalty, so each step lowers it and the convergence is quadratic
    /// (a few passes over the sample where argmin's L-BFGS took hundreds:
    /// the risk stage of a 40 x 30 km synth went from 1.18 s to 0.16 s, the
    /// coefficients moving by at most 3e-8 of themselves). Stops when the
    /// Newton decrement is below 1e-14 of the cost.
    fn minimise(&self) -> std::result::Result<Vec<f64>, String> {
        let m = K + 1;
        let mut b = vec![0.0; m];
        let mut f = self.cost(&b);
        for _ in 0..100 {
            let (g, h) = self.gradient_hessian(&b);
            let chol = h.cholesky().ok_or(
                "the Hessian is not positive definite (a driver may separate the classes)",
            )?;
            let d = chol.solve(&(-&g));
            let decrement = -g.dot(&d);
            if !decrement.is_finite() {
                return Err("the Newton step is not finite".into());
            }
            let mut t = 1.0;
            let mut taken = false;
            while t >= 1e-12 {
                let next: Vec<f64> = (0..m).map(|i| b[i] + t * d[i]).collect();
                let f_next = self.cost(&next);
                if f_next <= f - 1e-4 * t * decrement {
                    (b, f) = (next, f_next);
                    taken = true;
                    break;
                }
                t *= 0.5;
            }
            if decrement <= 1e-14 * f.abs().max(1.0) {
                return Ok(b);
            }
            if !taken {
                // Rounding stops the descent: fine only next to the optimum.
                return if decrement <= 1e-9 * f.abs().max(1.0) {
                    Ok(b)
                } else {
                    Err(format!("the line search could not lower the cost (Newton decrement {decrement:.3e})"))
                };
            }
        }
        Err("no convergence in 100 Newton steps".into())
    }
}

/// Fit the model to driver rows and loss labels of the whole start-of-period
/// forest: balanced seeded sample, standardisation, penalised fit, prior
/// correction, AUC on held-out cells.
pub fn fit(
    rows: &[[f64; K]],
    loss: &[bool],
    period_years: f64,
    p: &RiskParams,
    seed: u64,
) -> Result<RiskModel> {
    fit_with(&|i| rows[i], loss, period_years, p, seed)
}

/// `fit` on rows produced on demand (row `i` for cell `i` of `loss`), so a
/// large grid never holds a matrix of every cell's drivers.
pub fn fit_with(
    row: &(dyn Fn(usize) -> [f64; K] + Sync),
    loss: &[bool],
    period_years: f64,
    p: &RiskParams,
    seed: u64,
) -> Result<RiskModel> {
    let n_rows = loss.len();
    let pos: Vec<usize> = (0..n_rows).filter(|i| loss[*i]).collect();
    let neg: Vec<usize> = (0..n_rows).filter(|i| !loss[*i]).collect();
    if pos.is_empty() {
        return Err(Error::Usage(
            "the forest_loss raster shows no loss within the forest of the AOI: the risk model cannot be calibrated; remove forest_loss to use the default coefficients".into(),
        ));
    }
    if neg.is_empty() {
        return Err(Error::Usage(
            "the forest_loss raster marks every forest cell as lost: the risk model cannot be calibrated; check the raster's values (0 = no loss)".into(),
        ));
    }
    if pos.len() < 20 {
        return Err(Error::Usage(format!(
            "only {} forest cells show loss: too few to calibrate the risk model; remove forest_loss to use the default coefficients",
            pos.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = p.sample_per_class.min(pos.len()).min(neg.len());
    let mut pos_s = pos.clone();
    let mut neg_s = neg.clone();
    pos_s.shuffle(&mut rng);
    neg_s.shuffle(&mut rng);
    pos_s.truncate(n);
    neg_s.truncate(n);
    let n_hold = ((n as f64) * p.holdout_share).round() as usize;
    let n_hold = n_hold.min(n.saturating_sub(10));
    let mut train: Vec<(usize, bool)> = Vec::new();
    let mut hold: Vec<(usize, bool)> = Vec::new();
    for (k, &i) in pos_s.iter().enumerate() {
        if k < n_hold {
            hold.push((i, true))
        } else {
            train.push((i, true))
        }
    }
    for (k, &i) in neg_s.iter().enumerate() {
        if k < n_hold {
            hold.push((i, false))
        } else {
            train.push((i, false))
        }
    }

    // Standardise on the training sample; a constant driver is dropped.
    let mut mean = [0.0; K];
    let mut sd = [0.0; K];
    let train_rows: Vec<[f64; K]> = train.iter().map(|(i, _)| row(*i)).collect();
    for k in 0..K {
        let m = train_rows.iter().map(|x| x[k]).sum::<f64>() / train.len() as f64;
        let v = train_rows.iter().map(|x| (x[k] - m).powi(2)).sum::<f64>() / train.len() as f64;
        mean[k] = m;
        sd[k] = v.sqrt();
    }
    let mut warnings = Vec::new();
    let mut active = [true; K];
    for k in 0..K {
        if sd[k].is_nan() || sd[k] <= 1e-12 || !sd[k].is_finite() {
            active[k] = false;
            warnings.push(format!(
                "driver {} is constant in the sample ({}); it is left out of the model",
                DRIVER_NAMES[k], mean[k]
            ));
        }
    }
    let z = |x: &[f64; K]| -> [f64; K] {
        let mut out = [0.0; K];
        for k in 0..K {
            out[k] = if active[k] {
                (x[k] - mean[k]) / sd[k]
            } else {
                0.0
            };
        }
        out
    };
    let xs: Vec<[f64; K]> = train_rows.iter().map(z).collect();
    let ys: Vec<bool> = train.iter().map(|(_, y)| *y).collect();
    let problem = Logistic {
        x: &xs,
        y: &ys,
        l2: p.l2,
        active,
    };
    let b: Vec<f64> = problem
        .minimise()
        .map_err(|e| {
            Error::Usage(format!(
                "the risk model fit failed: {e}; a driver may separate lost from kept forest: a penalty (risk.l2 above 0, 1.0 by default) keeps the fit finite"
            ))
        })?;
    if b.iter().any(|v| !v.is_finite()) {
        return Err(Error::Usage(
            "the risk model fit diverged (non-finite coefficients); the loss raster may separate perfectly on a driver".into(),
        ));
    }

    // Standard errors: inverse of the penalised Hessian X'WX + L2 (slopes)
    // at the optimum (a driver left out has a unit diagonal: its SE is
    // reported as None).
    let m = K + 1;
    let (_, h) = problem.gradient_hessian(&b);
    let cov = h.try_inverse();
    let se_std: Vec<Option<f64>> = (0..m)
        .map(|i| {
            cov.as_ref()
                .map(|c| c[(i, i)])
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(f64::sqrt)
        })
        .collect();

    // Prior correction: the sample is balanced (ybar = 1/2) while the
    // landscape's rate is tau.
    let tau = pos.len() as f64 / n_rows as f64;
    let ybar = 0.5;
    let b0_std = b[0] - ((1.0 - tau) / tau * ybar / (1.0 - ybar)).ln();
    // Back to natural units.
    let mut coef = [0.0; K + 1];
    coef[0] = b0_std;
    for k in 0..K {
        if active[k] {
            coef[k + 1] = b[k + 1] / sd[k];
            coef[0] -= b[k + 1] * mean[k] / sd[k];
        }
    }
    let mut table = vec![Coefficient {
        name: "intercept".into(),
        estimate: coef[0],
        std_error: None,
        standardised: Some(b0_std),
        note: Some("prior-corrected for the balanced sample (King and Zeng 2001)".into()),
    }];
    for k in 0..K {
        table.push(Coefficient {
            name: DRIVER_NAMES[k].into(),
            estimate: coef[k + 1],
            std_error: if active[k] {
                se_std[k + 1].map(|s| s / sd[k])
            } else {
                None
            },
            standardised: active[k].then_some(b[k + 1]),
            note: (!active[k]).then(|| "constant in the sample: not estimated".to_string()),
        });
    }

    let mut model = RiskModel {
        calibrated: true,
        coef,
        period_years,
        table,
        auc_holdout: None,
        holdout: Vec::new(),
        n_train: train.len(),
        n_holdout: hold.len(),
        n_loss_cells: pos.len(),
        n_forest_cells: n_rows,
        observed_period_rate: Some(tau),
        predicted_period_rate: None,
        validation: None,
        warnings,
    };
    let period_p = |x: &[f64; K]| {
        let mut zz = coef[0];
        for k in 0..K {
            zz += coef[k + 1] * x[k];
        }
        sigmoid(zz)
    };
    if !hold.is_empty() {
        let scores: Vec<f64> = hold.iter().map(|(i, _)| period_p(&row(*i))).collect();
        let labels: Vec<bool> = hold.iter().map(|(_, y)| *y).collect();
        model.auc_holdout = auc(&scores, &labels);
        model.holdout = hold
            .iter()
            .zip(&scores)
            .map(|((i, y), p)| (*i, *y, *p))
            .collect();
    }
    model.predicted_period_rate = Some(ordered_sum(n_rows, &|i| period_p(&row(i))) / n_rows as f64);
    Ok(model)
}

/// The years a loss raster covers: year-coded rasters (1-99 as Hansen's
/// lossyear, or 2001-2099) span their first to last year; 0/1 rasters take
/// `[risk] loss_period_years`.
pub fn loss_period(loss: &[f32], p: &RiskParams) -> (f64, bool) {
    let years: Vec<f32> = loss
        .iter()
        .copied()
        .filter(|v| !v.is_nan() && *v > 1.0)
        .collect();
    if years.is_empty() {
        return (p.loss_period_years as f64, false);
    }
    let norm = |v: f32| if v < 100.0 { 2000.0 + v } else { v };
    let lo = years.iter().map(|v| norm(*v)).fold(f32::INFINITY, f32::min);
    let hi = years
        .iter()
        .map(|v| norm(*v))
        .fold(f32::NEG_INFINITY, f32::max);
    // Year-coded rasters count 0 as "no loss" and 1 as the first year.
    let lo = if loss.contains(&1.0) {
        norm(1.0).min(lo)
    } else {
        lo
    };
    ((hi - lo + 1.0) as f64, true)
}

/// Everything the risk stage produces.
#[derive(Debug, Clone)]
pub struct Risk {
    pub model: RiskModel,
    pub drivers: Drivers,
    /// Annual probability for today's forest cells in the AOI (NaN elsewhere).
    pub annual_p: Vec<f32>,
    /// Largest finite travel time (stands in for unreachable cells).
    pub travel_cap: f32,
}

/// Fit (or take the defaults) and map the risk.
pub fn compute(
    inp: &crate::inputs::Inputs,
    travel_min: &[f32],
    p: &RiskParams,
    seed: u64,
) -> Result<Risk> {
    compute_with(inp, travel_min, p, seed, &indicatif::ProgressBar::hidden())
}

/// `compute`, counting its steps on `bar` (it sets the length, and clears
/// the bar when done): the drivers, the fit, each fold of the
/// cross-validation, the forward check and the prediction (the drivers and
/// the prediction alone without a loss raster).
pub fn compute_with(
    inp: &crate::inputs::Inputs,
    travel_min: &[f32],
    p: &RiskParams,
    seed: u64,
    bar: &indicatif::ProgressBar,
) -> Result<Risk> {
    let g = &inp.grid;
    bar.set_length(if inp.forest_loss.is_some() {
        4 + p.cv_folds as u64
    } else {
        2
    });
    let forest_now: Vec<bool> = inp
        .forest
        .iter()
        .map(|f| !f.is_nan() && *f >= 0.5)
        .collect();
    let travel_cap = travel_min
        .iter()
        .filter(|t| t.is_finite())
        .fold(0f32, |a, b| a.max(*b));
    let drivers = Drivers::compute(
        g,
        travel_min,
        &inp.roads,
        &forest_now,
        &inp.elevation,
        inp.slope_shared(),
        &inp.conservation_id,
    );
    bar.inc(1);
    let model = match &inp.forest_loss {
        Some(loss) => {
            let lost: Vec<bool> = loss.iter().map(|v| !v.is_nan() && *v >= 1.0).collect();
            // The forest at the start of the period: today's plus what was lost.
            let forest_start: Vec<bool> = forest_now
                .iter()
                .zip(&lost)
                .map(|(f, l)| *f || *l)
                .collect();
            // Only the edge distance differs from today's drivers (a
            // copy of them all was 17 B a cell more at the run's peak).
            let edge_start = edge_km(g, &forest_start);
            let cells = forest_in_aoi(inp, &forest_start);
            let y: Vec<bool> = cells.iter().map(|i| lost[*i]).collect();
            let period = loss_period(loss, p);
            let years = period.0;
            let mut m = fit_with(
                &|k| drivers.row_with_edge(cells[k], edge_start[cells[k]]),
                &y,
                years,
                p,
                seed,
            )?;
            for h in m.holdout.iter_mut() {
                h.0 = cells[h.0];
            }
            bar.inc(1);
            let row = |k: usize| drivers.row_with_edge(cells[k], edge_start[cells[k]]);
            // A landscape too small or with too little loss for the checks
            // keeps its model, and says which check could not be made.
            let fold_done = || bar.inc(1);
            match validation::cross_validate(g, &cells, &row, &y, p, seed, &fold_done) {
                Ok(mut v) => {
                    match forward_check(inp, &drivers, loss, period, &forest_now, p, seed) {
                        Ok(f) => v.forward = f,
                        Err(e) => m.warnings.push(format!(
                            "the forward check of the risk model could not be made: {e}"
                        )),
                    }
                    bar.inc(1);
                    m.warnings.extend(validation::warnings(&v, p));
                    m.validation = Some(v);
                }
                Err(e) => m.warnings.push(format!(
                    "the risk model's block cross-validation could not be made, so its skill on places it was not fitted on is unknown: {e}"
                )),
            }
            m
        }
        None => RiskModel::default_model(p),
    };
    let annual_p: Vec<f32> = (0..g.len())
        .into_par_iter()
        .map(|i| {
            if inp.aoi_mask[i] == 1 && inp.forest[i] > 0.0 {
                model.annual_p(&drivers.row(i)) as f32
            } else {
                f32::NAN
            }
        })
        .collect();
    bar.finish_and_clear();
    Ok(Risk {
        model,
        drivers,
        annual_p,
        travel_cap,
    })
}

/// The cells of `forest` inside the AOI, in grid order.
fn forest_in_aoi(inp: &crate::inputs::Inputs, forest: &[bool]) -> Vec<usize> {
    (0..inp.grid.len())
        .filter(|&i| inp.aoi_mask[i] == 1 && forest[i])
        .collect()
}

/// The forward check on a year-coded loss raster: fit on the loss up to
/// `risk.forward_years` before its last year, predict the loss of those
/// last years from the forest and edge left at the split, and compare the
/// two on coarse cells. None for a 0/1 raster or a span too short.
fn forward_check(
    inp: &crate::inputs::Inputs,
    drivers: &Drivers,
    loss: &[f32],
    (span, year_coded): (f64, bool),
    forest_now: &[bool],
    p: &RiskParams,
    seed: u64,
) -> Result<Option<validation::Forward>> {
    let ahead = p.forward_years as f64;
    if !year_coded || p.forward_years == 0 || span < ahead + 2.0 {
        return Ok(None);
    }
    let g = &inp.grid;
    let year = |v: f32| -> Option<f64> {
        let y = if v < 100.0 {
            2000.0 + v as f64
        } else {
            v as f64
        };
        (!v.is_nan() && v >= 1.0).then_some(y)
    };
    let last = loss
        .iter()
        .filter_map(|v| year(*v))
        .fold(f64::MIN, f64::max);
    let split = last - ahead;
    let early: Vec<bool> = loss
        .iter()
        .map(|v| year(*v).is_some_and(|y| y <= split))
        .collect();
    let late: Vec<bool> = loss
        .iter()
        .map(|v| year(*v).is_some_and(|y| y > split))
        .collect();
    let forest_start: Vec<bool> = (0..g.len())
        .map(|i| forest_now[i] || early[i] || late[i])
        .collect();
    let edge_start = edge_km(g, &forest_start);
    let cells = forest_in_aoi(inp, &forest_start);
    let y: Vec<bool> = cells.iter().map(|i| early[*i]).collect();
    let fit_years = span - ahead;
    let m = fit_with(
        &|k| drivers.row_with_edge(cells[k], edge_start[cells[k]]),
        &y,
        fit_years,
        p,
        seed,
    )?;
    // The forest at the split and its edge then.
    let forest_split: Vec<bool> = (0..g.len()).map(|i| forest_now[i] || late[i]).collect();
    let edge_split = edge_km(g, &forest_split);
    let at = forest_in_aoi(inp, &forest_split);
    let predicted: Vec<f64> = at
        .par_iter()
        .map(|&i| loss_within(m.annual_p(&drivers.row_with_edge(i, edge_split[i])), ahead))
        .collect();
    let observed: Vec<bool> = at.iter().map(|&i| late[i]).collect();
    let (coarse, mae) =
        validation::compare_on_coarse_cells(g, &at, &predicted, &observed, p.forward_cell_km);
    let predicted_ha: f64 = coarse.iter().map(|c| c.2).sum();
    let observed_ha: f64 = coarse.iter().map(|c| c.3).sum();
    let pr: Vec<f64> = coarse.iter().map(|c| c.2).collect();
    let ob: Vec<f64> = coarse.iter().map(|c| c.3).collect();
    Ok(Some(validation::Forward {
        fit_last_year: split as u32,
        predicted_years: p.forward_years,
        cell_km: p.forward_cell_km,
        coarse_cells: coarse.len(),
        predicted_ha,
        observed_ha,
        total_error: (observed_ha > 0.0).then(|| (predicted_ha - observed_ha) / observed_ha),
        correlation: validation::pearson(&pr, &ob),
        mean_abs_error_ha: mae,
        cells: coarse,
    }))
}

impl Risk {
    /// Expected forest loss over `years`, hectares, for the whole AOI.
    pub fn expected_loss_ha(&self, inp: &crate::inputs::Inputs, years: f64) -> f64 {
        let ha = inp.grid.cell_area_ha();
        ordered_sum(self.annual_p.len(), &|i| {
            let p = self.annual_p[i];
            if p.is_nan() {
                0.0
            } else {
                loss_within(p as f64, years) * inp.forest[i] as f64 * ha
            }
        })
    }
}

/// Sum of f(0..n) in parallel, in fixed chunks added in order, so the
/// result is the same bits on every run and any number of threads.
pub fn ordered_sum(n: usize, f: &(dyn Fn(usize) -> f64 + Sync)) -> f64 {
    const CHUNK: usize = 1 << 16;
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|k| (k * CHUNK..((k + 1) * CHUNK).min(n)).map(f).sum::<f64>())
        .collect();
    parts.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn auc_with_ties_matches_a_hand_count() {
        // Positives score 0.9, 0.5, 0.5; negatives 0.5, 0.2.
        // Pairs (pos, neg): (0.9,0.5)=1 (0.9,0.2)=1 (0.5,0.5)=0.5 (0.5,0.2)=1
        // twice each for the two 0.5 positives -> 1+1+0.5+1+0.5+1 = 5 of 6.
        let s = [0.9, 0.5, 0.5, 0.5, 0.2];
        let y = [true, true, true, false, false];
        assert!((auc(&s, &y).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // All tied: one half.
        assert_eq!(auc(&[1.0, 1.0, 1.0], &[true, false, false]), Some(0.5));
        assert_eq!(auc(&[1.0, 2.0], &[true, true]), None);
    }

    /// A driver that separates lost from kept forest (no maximum of the
    /// likelihood without a penalty): without one, an error naming the
    /// penalty or finite coefficients, never NaN or a panic; with it, a
    /// finite model.
    #[test]
    fn a_fit_a_driver_separates_is_an_error_or_finite() {
        let rows: Vec<[f64; K]> = (0..400)
            .map(|i| {
                let d = if i < 200 {
                    0.1 + i as f64 * 0.001
                } else {
                    5.0 + i as f64 * 0.01
                };
                let j = i as f64;
                [
                    d,
                    1.0 + j % 7.0,
                    1.0 + j % 3.0,
                    10.0 + j % 11.0,
                    1.5,
                    j % 2.0,
                ]
            })
            .collect();
        let y: Vec<bool> = (0..400).map(|i| i < 200).collect();
        let bare = RiskParams {
            l2: 0.0,
            holdout_share: 0.0,
            ..RiskParams::default()
        };
        match fit(&rows, &y, 1.0, &bare, 3) {
            Ok(m) => assert!(m.coef.iter().all(|c| c.is_finite()), "{:?}", m.coef),
            Err(e) => assert!(e.to_string().contains("risk.l2"), "{e}"),
        }
        let m = fit(&rows, &y, 1.0, &RiskParams { l2: 1.0, ..bare }, 3).unwrap();
        assert!(m.coef.iter().all(|c| c.is_finite()), "{:?}", m.coef);
    }

    /// Loss simulated from a known logistic model; the fit recovers it.
    #[test]
    fn fit_recovers_known_coefficients_and_the_landscape_rate() {
        let truth = [3.5, -0.6, -0.5, -0.8, -0.03, -0.4, -1.5];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 200_000;
        let rows: Vec<[f64; K]> = (0..n)
            .map(|_| {
                [
                    rng.gen_range(1.0..7.0),
                    rng.gen_range(0.0..8.0),
                    rng.gen_range(0.0..3.0),
                    rng.gen_range(0.0..35.0),
                    rng.gen_range(0.8..3.0),
                    if rng.gen_bool(0.2) { 1.0 } else { 0.0 },
                ]
            })
            .collect();
        let y: Vec<bool> = rows
            .iter()
            .map(|x| {
                let z = truth[0] + (0..K).map(|k| truth[k + 1] * x[k]).sum::<f64>();
                rng.gen_bool(sigmoid(z))
            })
            .collect();
        let p = RiskParams {
            sample_per_class: 20_000,
            ..RiskParams::default()
        };
        let m = fit(&rows, &y, 1.0, &p, 11).unwrap();
        for k in 0..K {
            let c = &m.table[k + 1];
            let se = c.std_error.unwrap();
            let ok = (c.estimate - truth[k + 1]).abs() <= 2.0 * se
                || (c.estimate - truth[k + 1]).abs() <= 0.1 * truth[k + 1].abs();
            assert!(
                ok,
                "{}: {} vs {} (se {se})",
                c.name,
                c.estimate,
                truth[k + 1]
            );
        }
        let obs = m.observed_period_rate.unwrap();
        let pred = m.predicted_period_rate.unwrap();
        assert!(
            (pred - obs).abs() <= 0.1 * obs,
            "predicted {pred} vs observed {obs}"
        );
        assert!(m.auc_holdout.unwrap() > 0.7);
    }

    #[test]
    fn degenerate_loss_gives_clear_errors_and_constant_drivers_are_dropped() {
        let rows: Vec<[f64; K]> = (0..1000)
            .map(|i| [i as f64, 1.0, 2.0, 3.0, 1.0, 0.0])
            .collect();
        let none = vec![false; 1000];
        let all = vec![true; 1000];
        let p = RiskParams::default();
        assert!(fit(&rows, &none, 20.0, &p, 1)
            .unwrap_err()
            .to_string()
            .contains("no loss"));
        assert!(fit(&rows, &all, 20.0, &p, 1)
            .unwrap_err()
            .to_string()
            .contains("every forest cell"));
        let y: Vec<bool> = (0..1000).map(|i| i % 7 == 0 || i < 100).collect();
        let m = fit(&rows, &y, 20.0, &p, 1).unwrap();
        assert!(m.coef.iter().all(|c| c.is_finite()));
        assert_eq!(m.warnings.len(), 5, "{:?}", m.warnings);
        assert!(m.table[2].std_error.is_none());
    }

    #[test]
    fn period_probabilities_become_annual_rates() {
        let m = RiskModel {
            period_years: 20.0,
            coef: [0.0; K + 1],
            ..RiskModel::default_model(&RiskParams::default())
        };
        // Period probability 0.5 over 20 years: 1 - 0.5^(1/20) a year.
        let p = m.annual_p(&[0.0; K]);
        assert!((p - (1.0 - 0.5f64.powf(0.05))).abs() < 1e-12);
        assert!((loss_within(p, 20.0) - 0.5).abs() < 1e-12);
    }
}
