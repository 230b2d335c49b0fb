//! Exact Euclidean distance transform (Felzenszwalb and Huttenlocher 2012,
//! "Distance transforms of sampled functions"): for every cell, the distance
//! between its centre and the centre of the nearest feature cell. Two
//! separable passes of the 1-D lower envelope of parabolas, rows in parallel.

use rayon::prelude::*;

/// Squared 1-D distance transform of `f` (0 at features, INF elsewhere)
/// into `d`, with scratch `v` and `z`.
fn dt1d(f: &[f64], d: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let n = f.len();
    let mut k = 0usize;
    // Skip leading cells that are not features (infinite parabolas).
    let Some(first) = f.iter().position(|x| x.is_finite()) else {
        d.fill(f64::INFINITY);
        return;
    };
    v[0] = first;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    let meet = |q: usize, p: usize| {
        ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64)) / (2.0 * (q as f64 - p as f64))
    };
    for q in first + 1..n {
        if !f[q].is_finite() {
            continue;
        }
        // z[0] is -inf, so this stops at k = 0 at the latest.
        let mut s = meet(q, v[k]);
        while s <= z[k] {
            k -= 1;
            s = meet(q, v[k]);
        }
        k += 1;
        v[k] = q;
        z[k] = s;
        z[k + 1] = f64::INFINITY;
    }
    let mut k = 0usize;
    for (q, dq) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let p = v[k];
        let dx = q as f64 - p as f64;
        *dq = dx * dx + f[p];
    }
}

/// Distance in metres from every cell centre to the nearest cell where
/// `feature` is true (square cells of `res` metres). INFINITY when there is
/// no feature at all.
pub fn edt(feature: &[bool], width: usize, height: usize, res: f64) -> Vec<f32> {
    assert_eq!(feature.len(), width * height);
    // Columns first: squared distance in cells along each column.
    let mut colpass = vec![0f64; width * height];
    let cols: Vec<Vec<f64>> = (0..width)
        .into_par_iter()
        .map(|c| {
            let f: Vec<f64> = (0..height)
                .map(|r| {
                    if feature[r * width + c] {
                        0.0
                    } else {
                        f64::INFINITY
                    }
                })
                .collect();
            let mut d = vec![0.0; height];
            let mut v = vec![0usize; height];
            let mut z = vec![0.0; height + 1];
            dt1d(&f, &mut d, &mut v, &mut z);
            d
        })
        .collect();
    for (c, col) in cols.into_iter().enumerate() {
        for (r, x) in col.into_iter().enumerate() {
            colpass[r * width + c] = x;
        }
    }
    // Then rows.
    let mut out = vec![0f32; width * height];
    out.par_chunks_mut(width)
        .zip(colpass.par_chunks(width))
        .for_each(|(o, f)| {
            let mut d = vec![0.0; width];
            let mut v = vec![0usize; width];
            let mut z = vec![0.0; width + 1];
            dt1d(f, &mut d, &mut v, &mut z);
            for (oo, dd) in o.iter_mut().zip(d) {
                *oo = (dd.sqrt() * res) as f32;
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(feature: &[bool], w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| {
                let (c, r) = ((i % w) as f64, (i / w) as f64);
                (0..w * h)
                    .filter(|j| feature[*j])
                    .map(|j| ((j % w) as f64 - c).hypot((j / w) as f64 - r))
                    .fold(f64::INFINITY, f64::min) as f32
            })
            .collect()
    }

    #[test]
    fn matches_brute_force_on_random_grids() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..60 {
            let w = 1 + (rnd() % 17) as usize;
            let h = 1 + (rnd() % 13) as usize;
            let density = rnd() % 5;
            let f: Vec<bool> = (0..w * h).map(|_| rnd() % 10 < density).collect();
            let got = edt(&f, w, h, 1.0);
            let want = brute(&f, w, h);
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a - b).abs() < 1e-5 || (a.is_infinite() && b.is_infinite()),
                    "{w}x{h}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn a_single_feature_gives_euclidean_distances_in_metres() {
        let mut f = vec![false; 25];
        f[0] = true;
        let d = edt(&f, 5, 5, 100.0);
        assert_eq!(d[0], 0.0);
        assert!((d[24] - (400.0f32 * 2f32.sqrt())).abs() < 1e-3);
        assert!((d[7] - (100.0f32 * 5f32.sqrt())).abs() < 1e-3);
    }
}
