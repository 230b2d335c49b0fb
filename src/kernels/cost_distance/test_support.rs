//! Helpers the solves' and updates' tests share.

use super::*;

pub(super) fn grid(w: usize, h: usize, cost: &[f32]) -> CostGrid<'_> {
    CostGrid {
        width: w,
        height: h,
        dx: 1.0,
        dy: 1.0,
        cost,
    }
}

pub(super) fn src(cell: u32) -> Source {
    Source {
        cell,
        cost: 0.0,
        label: cell as u16,
    }
}

pub(super) fn with<'a>(base: &'a [f32], over: &'a [(u32, f32)]) -> EdgeWeights<'a> {
    EdgeWeights { base, over }
}

/// `before` with the cells of `delta` set to their new costs.
pub(super) fn applied(before: &[f32], delta: &[(u32, f32)]) -> Vec<f32> {
    let mut out = before.to_vec();
    for &(c, v) in delta {
        out[c as usize] = v;
    }
    out
}

/// `n` cell costs: `specials[k]` when a draw from `0..out_of` gives
/// k, else 10 to a power drawn from `exponents`.
pub(super) fn random_costs(
    rng: &mut impl rand::Rng,
    n: usize,
    specials: &[f32],
    out_of: usize,
    exponents: std::ops::Range<f32>,
) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.gen_range(0..out_of) {
            k if k < specials.len() => specials[k],
            _ => 10f32.powf(rng.gen_range(exponents.clone())),
        })
        .collect()
}

pub(super) fn assert_same_bits(got: &[f32], want: &[f32], seed: u64) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "seed {seed}, cell {i}: {g} vs {w}"
        );
    }
    assert_eq!(got.len(), want.len());
}

/// Half of `cheap`'s edges, at random, put back to their base weights:
/// the overrides left, and the edges put back (raised).
pub(super) fn put_back(
    rng: &mut impl rand::Rng,
    cheap: &[(u32, f32)],
) -> (Vec<(u32, f32)>, Vec<u32>) {
    let after: Vec<(u32, f32)> = cheap
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.5))
        .collect();
    let raised = cheap
        .iter()
        .filter(|c| !after.iter().any(|a| a.0 == c.0))
        .map(|c| c.0)
        .collect();
    (after, raised)
}
