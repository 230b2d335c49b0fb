//! How far the fitted risk model can be trusted where it is used: spatial
//! block cross-validation, the skill on forest near roads (where every
//! road decision is made), a benchmark it must beat (distance to the forest
//! edge alone, forestatrisk users' yardstick) and, with a year-coded loss
//! raster, a forward check (fit on the early years, predict the later ones,
//! compare on coarse cells).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::{auc, fit_with, sigmoid, K};
use crate::config::RiskParams;
use crate::error::{Error, Result};
use crate::grid::Grid;

/// Index of the road distance and of the edge distance among the drivers.
const ROAD_KM: usize = 1;
const EDGE_KM: usize = 2;

/// The block cross-validation and benchmark figures.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub folds: usize,
    pub block_km: f64,
    /// Mean of the folds' AUC, and each fold's.
    pub auc_block_cv: f64,
    pub auc_block_cv_folds: Vec<f64>,
    /// On the cross-validated predictions of cells within `near_road_km`
    /// of a road (None: too few such cells of either class).
    pub near_road_km: f64,
    pub auc_near_roads: Option<f64>,
    pub near_road_cells: usize,
    /// The benchmark, a logistic model of edge distance alone, on the same
    /// folds.
    pub benchmark_auc_block_cv: f64,
    pub benchmark_auc_block_cv_folds: Vec<f64>,
    pub benchmark_auc_near_roads: Option<f64>,
    /// "The drivers add X to the edge-distance model's AUC ...".
    pub skill: String,
    /// Each validated cell: (grid cell, fold, lost, model, benchmark), the
    /// predictions out of fold; written as risk_cv.csv.
    #[serde(skip)]
    pub cells: Vec<CvCell>,
    pub forward: Option<Forward>,
}

/// One cell of the cross-validation sample.
#[derive(Debug, Clone, Copy)]
pub struct CvCell {
    pub cell: usize,
    pub fold: usize,
    pub lost: bool,
    pub x: [f64; K],
    pub model: f64,
    pub benchmark: f64,
}

/// The forward check.
#[derive(Debug, Clone, Serialize)]
pub struct Forward {
    /// Fitted on loss up to and including this year; predicted after it.
    pub fit_last_year: u32,
    pub predicted_years: u32,
    pub cell_km: f64,
    /// Coarse cells with forest at the split.
    pub coarse_cells: usize,
    pub predicted_ha: f64,
    pub observed_ha: f64,
    /// (predicted - observed) / observed over the whole landscape (None:
    /// nothing was lost in the predicted years).
    pub total_error: Option<f64>,
    /// Pearson correlation of predicted and observed loss per coarse cell
    /// (None: fewer than 3 cells or no variation).
    pub correlation: Option<f64>,
    /// Mean absolute difference per coarse cell, ha.
    pub mean_abs_error_ha: f64,
    /// The coarse cells: centre x, y, predicted ha, observed ha.
    pub cells: Vec<(f64, f64, f64, f64)>,
}

/// Block id of a grid cell: square blocks of `block_km`.
fn block_of(g: &Grid, cell: usize, block_km: f64) -> (usize, usize) {
    let (c, r) = (cell % g.width, cell / g.width);
    let side = (block_km * 1000.0 / g.res).max(1.0);
    ((c as f64 / side) as usize, (r as f64 / side) as usize)
}

/// Fold of each block: blocks in a seeded random order, dealt round the
/// folds (so every fold holds blocks from all over the landscape).
fn folds_of_blocks(blocks: &[(usize, usize)], folds: usize, seed: u64) -> Vec<usize> {
    let mut ids: Vec<(usize, usize)> = blocks.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5b10c));
    let fold_of: std::collections::HashMap<(usize, usize), usize> = ids
        .iter()
        .enumerate()
        .map(|(k, b)| (*b, k % folds))
        .collect();
    blocks.iter().map(|b| fold_of[b]).collect()
}

/// One fold's out-of-fold predictions (sample index, model, benchmark)
/// and its AUCs (model, benchmark).
type FoldResult = (Vec<(usize, f64, f64)>, f64, f64);

/// Probability under natural-unit coefficients.
fn score(coef: &[f64; K + 1], x: &[f64; K]) -> f64 {
    let mut z = coef[0];
    for k in 0..K {
        z += coef[k + 1] * x[k];
    }
    sigmoid(z)
}

/// Only the edge distance: the benchmark's drivers (the others constant,
/// so the fit leaves them out).
fn edge_only(x: &[f64; K]) -> [f64; K] {
    let mut e = [0.0; K];
    e[EDGE_KM] = x[EDGE_KM];
    e
}

/// Spatial block cross-validation of the model and of the benchmark on a
/// balanced seeded sample of the fit's cells (`cells` grid indices,
/// `rows` their drivers, `lost` their labels).
pub fn cross_validate(
    g: &Grid,
    cells: &[usize],
    row: &(dyn Fn(usize) -> [f64; K] + Sync),
    lost: &[bool],
    p: &RiskParams,
    seed: u64,
    fold_done: &(dyn Fn() + Sync),
) -> Result<Validation> {
    // The sample: as the fit's, drawn with its own stream.
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(0xc0ffee));
    let mut pos: Vec<usize> = (0..cells.len()).filter(|&i| lost[i]).collect();
    let mut neg: Vec<usize> = (0..cells.len()).filter(|&i| !lost[i]).collect();
    let n = p.sample_per_class.min(pos.len()).min(neg.len());
    pos.shuffle(&mut rng);
    neg.shuffle(&mut rng);
    let mut sample: Vec<usize> = pos[..n].iter().chain(&neg[..n]).copied().collect();
    sample.sort_unstable();
    let blocks: Vec<(usize, usize)> = sample
        .iter()
        .map(|&k| block_of(g, cells[k], p.cv_block_km))
        .collect();
    let n_blocks = {
        let mut b = blocks.clone();
        b.sort_unstable();
        b.dedup();
        b.len()
    };
    if n_blocks < p.cv_folds {
        return Err(Error::Usage(format!(
            "the forest of the sample lies in {n_blocks} block(s) of {} km, fewer than risk.cv_folds = {}: lower risk.cv_block_km (or risk.cv_folds) for a landscape this small",
            p.cv_block_km, p.cv_folds
        )));
    }
    let folds = p.cv_folds;
    let fold = folds_of_blocks(&blocks, folds, seed);
    for f in 0..folds {
        let has = |y: bool| (0..sample.len()).any(|i| fold[i] == f && lost[sample[i]] == y);
        if !(has(true) && has(false)) {
            return Err(Error::Usage(format!(
                "fold {} of the block cross-validation holds cells of one class only (lost or kept): lower risk.cv_block_km so that each fold spans more of the landscape",
                f + 1
            )));
        }
    }
    let xs: Vec<[f64; K]> = sample.iter().map(|&k| row(k)).collect();
    let ys: Vec<bool> = sample.iter().map(|&k| lost[k]).collect();
    // Every row of a fold's training set is used (no hold-out inside).
    let all = RiskParams {
        holdout_share: 0.0,
        sample_per_class: usize::MAX / 4,
        ..p.clone()
    };
    let out: Vec<Result<FoldResult>> = (0..folds)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..sample.len()).filter(|&i| fold[i] != f).collect();
            let test: Vec<usize> = (0..sample.len()).filter(|&i| fold[i] == f).collect();
            let ty: Vec<bool> = train.iter().map(|&i| ys[i]).collect();
            let m = fit_with(&|k| xs[train[k]], &ty, 1.0, &all, seed)?;
            let b = fit_with(&|k| edge_only(&xs[train[k]]), &ty, 1.0, &all, seed)?;
            let preds: Vec<(usize, f64, f64)> = test
                .iter()
                .map(|&i| {
                    (
                        i,
                        score(&m.coef, &xs[i]),
                        score(&b.coef, &edge_only(&xs[i])),
                    )
                })
                .collect();
            let labels: Vec<bool> = test.iter().map(|&i| ys[i]).collect();
            let am: Vec<f64> = preds.iter().map(|p| p.1).collect();
            let ab: Vec<f64> = preds.iter().map(|p| p.2).collect();
            let fold_auc = |s: &[f64]| auc(s, &labels).unwrap_or(f64::NAN);
            fold_done();
            Ok((preds, fold_auc(&am), fold_auc(&ab)))
        })
        .collect();
    let mut cv = Vec::with_capacity(sample.len());
    let (mut auc_m, mut auc_b) = (Vec::new(), Vec::new());
    for (f, r) in out.into_iter().enumerate() {
        let (preds, am, ab) = r?;
        auc_m.push(am);
        auc_b.push(ab);
        for (i, pm, pb) in preds {
            cv.push(CvCell {
                cell: cells[sample[i]],
                fold: f,
                lost: ys[i],
                x: xs[i],
                model: pm,
                benchmark: pb,
            });
        }
    }
    cv.sort_by_key(|c| c.cell);
    let mean = |v: &[f64]| {
        let ok: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        ok.iter().sum::<f64>() / ok.len().max(1) as f64
    };
    let near: Vec<&CvCell> = cv
        .iter()
        .filter(|c| c.x[ROAD_KM] <= p.near_road_km)
        .collect();
    let near_labels: Vec<bool> = near.iter().map(|c| c.lost).collect();
    let near_auc = |f: &dyn Fn(&CvCell) -> f64| {
        let s: Vec<f64> = near.iter().map(|c| f(c)).collect();
        auc(&s, &near_labels)
    };
    let auc_near_roads = near_auc(&|c| c.model);
    let benchmark_auc_near_roads = near_auc(&|c| c.benchmark);
    let (am, ab) = (mean(&auc_m), mean(&auc_b));
    let skill = skill_text(am, ab, auc_near_roads, benchmark_auc_near_roads, p);
    Ok(Validation {
        folds,
        block_km: p.cv_block_km,
        auc_block_cv: am,
        auc_block_cv_folds: auc_m,
        near_road_km: p.near_road_km,
        auc_near_roads,
        near_road_cells: near.len(),
        benchmark_auc_block_cv: ab,
        benchmark_auc_block_cv_folds: auc_b,
        benchmark_auc_near_roads,
        skill,
        cells: cv,
        forward: None,
    })
}

fn skill_text(am: f64, ab: f64, near: Option<f64>, near_b: Option<f64>, p: &RiskParams) -> String {
    let near_text = match (near, near_b) {
        (Some(a), Some(b)) => format!(
            "; on forest within {} km of a road, where road decisions are made, {:.3} against {:.3}",
            p.near_road_km, a, b
        ),
        _ => format!(
            "; too few cells within {} km of a road to measure the skill there",
            p.near_road_km
        ),
    };
    format!(
        "the drivers add {:+.3} to the edge-distance model's block cross-validated AUC ({:.3} against {:.3}){near_text}",
        am - ab,
        am,
        ab
    )
}

/// The warnings a weak model earns: below the floor, or no better than
/// the benchmark (overall or near roads).
pub fn warnings(v: &Validation, p: &RiskParams) -> Vec<String> {
    let mut w = Vec::new();
    if v.auc_block_cv < p.auc_floor {
        w.push(format!(
            "the risk model's block cross-validated AUC is {:.3}, below risk.auc_floor = {}: the forest-loss figures of the roads rest on a weak model",
            v.auc_block_cv, p.auc_floor
        ));
    }
    if v.auc_block_cv <= v.benchmark_auc_block_cv {
        w.push(format!(
            "the risk model ({:.3}) does not beat distance to the forest edge alone ({:.3}) under block cross-validation: its drivers add nothing, and the forest-loss figures of the roads rest on a weak model",
            v.auc_block_cv, v.benchmark_auc_block_cv
        ));
    } else if let (Some(a), Some(b)) = (v.auc_near_roads, v.benchmark_auc_near_roads) {
        if a <= b {
            w.push(format!(
                "near roads (within {} km) the risk model ({a:.3}) does not beat distance to the forest edge alone ({b:.3}): the roads' forest-loss figures rest on a weak model",
                v.near_road_km
            ));
        }
    }
    w
}

/// Pearson correlation (None: fewer than 3 values or no variation).
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len();
    if n < 3 {
        return None;
    }
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// Predicted and observed loss summed on coarse cells of `cell_km`:
/// `cells` the grid cells with forest at the split, `predicted` their
/// probability of loss over the predicted years, `observed` whether they
/// were lost, each cell `cell_ha` hectares.
pub fn compare_on_coarse_cells(
    g: &Grid,
    cells: &[usize],
    predicted: &[f64],
    observed: &[bool],
    cell_km: f64,
) -> (Vec<(f64, f64, f64, f64)>, f64) {
    let cell_ha = g.res * g.res / 1e4;
    let mut sums: std::collections::BTreeMap<(usize, usize), (f64, f64)> = Default::default();
    for ((&c, &pr), &ob) in cells.iter().zip(predicted).zip(observed) {
        let e = sums.entry(block_of(g, c, cell_km)).or_default();
        e.0 += pr * cell_ha;
        e.1 += if ob { cell_ha } else { 0.0 };
    }
    // Coarse cell k spans grid columns [k side, (k + 1) side) (see
    // `block_of`); its centre is the middle of that span, cut at the grid.
    let side_cells = (cell_km * 1000.0 / g.res).max(1.0);
    let centre = |k: usize, n: usize| {
        let a = (k as f64 * side_cells).ceil().min(n as f64);
        let b = ((k + 1) as f64 * side_cells).ceil().min(n as f64);
        (a + b) / 2.0 * g.res
    };
    let out: Vec<(f64, f64, f64, f64)> = sums
        .into_iter()
        .map(|((bx, by), (p, o))| {
            (
                g.x_min + centre(bx, g.width),
                g.y_max - centre(by, g.height),
                p,
                o,
            )
        })
        .collect();
    let mae = out.iter().map(|c| (c.2 - c.3).abs()).sum::<f64>() / out.len().max(1) as f64;
    (out, mae)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn grid(n: usize, res: f64) -> Grid {
        Grid {
            crs: "EPSG:32718".into(),
            x_min: 0.0,
            y_max: n as f64 * res,
            res,
            width: n,
            height: n,
        }
    }

    /// A landscape whose loss clusters in 5 km patches by a cause the
    /// drivers do not see. Four drivers are constant over each patch (a
    /// fingerprint, as slope, elevation or travel time are over a valley),
    /// so on 16 patches a fit can partly learn the hidden cause from them:
    /// a random hold-out, whose test cells lie in the training patches,
    /// rewards that; block cross-validation, testing on patches the fit has
    /// not seen, does not.
    #[test]
    fn block_cv_sees_through_spatially_clustered_loss_that_a_random_holdout_flatters() {
        let n = 200;
        let g = grid(n, 100.0); // 20 km x 20 km
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let patches = 4;
        let hidden: Vec<f64> = (0..patches * patches)
            .map(|_| rng.gen_range(-2.5..2.5))
            .collect();
        let prints: Vec<[f64; 4]> = (0..patches * patches)
            .map(|_| std::array::from_fn(|_| rng.gen_range(-1.0..1.0)))
            .collect();
        let cells: Vec<usize> = (0..n * n).collect();
        let mut rows = Vec::with_capacity(n * n);
        let mut lost = Vec::with_capacity(n * n);
        for &c in &cells {
            let (x, y) = (c % n, c / n);
            let patch = (y * patches / n) * patches + x * patches / n;
            let mut r = [0.0; K];
            for (k, d) in [0, 3, 4, 5].into_iter().enumerate() {
                r[d] = prints[patch][k] + rng.gen_range(-0.01..0.01);
            }
            r[EDGE_KM] = rng.gen_range(0.0..2.0);
            r[ROAD_KM] = rng.gen_range(0.0..10.0);
            let z = -1.0 + hidden[patch] - 0.8 * r[EDGE_KM];
            lost.push(rng.gen_bool(sigmoid(z)));
            rows.push(r);
        }
        let p = RiskParams {
            sample_per_class: 3000,
            cv_block_km: 5.0,
            ..RiskParams::default()
        };
        let v = cross_validate(&g, &cells, &|k| rows[k], &lost, &p, 11, &|| {}).unwrap();
        assert_eq!(v.folds, 5);
        assert!(v
            .cells
            .iter()
            .all(|c| c.model.is_finite() && c.benchmark.is_finite()));
        // The random hold-out of the main fit.
        let m = fit_with(&|k| rows[k], &lost, 1.0, &p, 11).unwrap();
        let random = m.auc_holdout.unwrap();
        eprintln!(
            "random hold-out {random:.3}, block CV {:.3}",
            v.auc_block_cv
        );
        assert!(
            random - v.auc_block_cv > 0.05,
            "random hold-out {random} vs block CV {}",
            v.auc_block_cv
        );
    }

    #[test]
    fn a_model_below_the_floor_or_the_benchmark_is_a_warning() {
        let v = |m: f64, b: f64, near: (f64, f64)| Validation {
            folds: 5,
            block_km: 10.0,
            auc_block_cv: m,
            auc_block_cv_folds: vec![m; 5],
            near_road_km: 5.0,
            auc_near_roads: Some(near.0),
            near_road_cells: 100,
            benchmark_auc_block_cv: b,
            benchmark_auc_block_cv_folds: vec![b; 5],
            benchmark_auc_near_roads: Some(near.1),
            skill: String::new(),
            cells: vec![],
            forward: None,
        };
        let p = RiskParams::default();
        assert!(warnings(&v(0.9, 0.8, (0.85, 0.8)), &p).is_empty());
        let w = warnings(&v(0.65, 0.6, (0.85, 0.8)), &p);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("0.650, below risk.auc_floor = 0.7"), "{w:?}");
        let w = warnings(&v(0.8, 0.82, (0.85, 0.8)), &p);
        assert!(
            w[0].contains("does not beat distance to the forest edge alone"),
            "{w:?}"
        );
        let w = warnings(&v(0.9, 0.8, (0.8, 0.81)), &p);
        assert!(w[0].starts_with("near roads (within 5 km)"), "{w:?}");
        assert!(w.iter().all(|x| x.contains("weak model")));
    }

    #[test]
    fn pearson_matches_hand_values() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        // x = 1..4, y = 1, 3, 2, 4: r = 0.8.
        assert!(
            (pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap() - 0.8).abs() < 1e-12
        );
        assert_eq!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }
}
