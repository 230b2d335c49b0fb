//! The gate: a bound per cell past which an update cannot change anything
//! that counts, so updates stop early.

use super::*;

/// Per-cell bounds past which an incremental update need not expand a cell:
/// a cell settled at a cost at or above its bound keeps that cost (it may be
/// too high) but does not pass it on. `Access::gate` builds bounds such
/// that no counted cell can be reached through such a cell below its base
/// cost, so every counted cell whose cost drops gets its exact new cost.
/// `Gate(None)` expands every cell (the result is then exact everywhere).
#[derive(Debug, Clone, Copy, Default)]
pub struct Gate<'a>(pub Option<&'a GateBounds>);

/// The per-cell bounds of a `Gate`, with a bitset of the cells that have
/// one (the others, counted cells, never stop: a test of one bit, which
/// stays in cache, spares a read of the bound).
#[derive(Debug, Clone, Default)]
pub struct GateBounds {
    pub bound: Vec<f32>,
    pub(super) gated: Vec<u64>,
}

impl GateBounds {
    /// Bounds cell by cell (INFINITY: never gated).
    pub fn new(bound: Vec<f32>) -> GateBounds {
        let mut gated = vec![0u64; bound.len().div_ceil(64)];
        for (i, b) in bound.iter().enumerate() {
            if *b < f32::INFINITY {
                gated[i / 64] |= 1u64 << (i % 64);
            }
        }
        GateBounds { bound, gated }
    }

    /// Whether a cell settled at `cost` stops there.
    #[inline(always)]
    pub fn stops(&self, cell: usize, cost: f32) -> bool {
        self.gated[cell / 64] & (1u64 << (cell % 64)) != 0 && cost >= self.bound[cell]
    }
}

/// The bounds of a `Gate` for updates that only ever make costs fall from
/// `base` (the solution with `extra`'s base weights) down to at most what
/// `extra` gives, which must weigh every extra edge at its cheapest: a
/// counted cell is never gated; any other cell v is gated from
/// U(v) + m(v), where U(v) = max over counted cells a of base(a) − d(v, a)
/// (d: the cheapest cost from v to a) and m(v) a margin for rounding. A cell
/// at or above U(v) cannot bring any counted cell below its base cost.
///
/// U comes from one multi-source solve that starts each counted cell at
/// C − base(a) (C: the largest finite base cost of a counted cell), so
/// W(v) = C − U(v). The margin (C + W(v)) / 32 covers the rounding of two
/// f32 path sums (this solve's and the update's) of up to 100,000 steps
/// each; a path back to a counted cell of more steps would have to wind
/// over 3,000 km of 30 m cells.
pub fn gate_bounds(
    g: &CostGrid,
    extra: Option<(&ExtraEdges, EdgeWeights)>,
    base: &[f32],
    counted: impl Fn(usize) -> bool,
) -> GateBounds {
    let n = g.cost.len();
    assert_eq!(base.len(), n, "base raster size");
    let c = (0..n)
        .filter(|&i| counted(i) && base[i].is_finite())
        .map(|i| base[i] as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    if c == f64::NEG_INFINITY {
        // Nothing counted can change: no cell need be expanded.
        return GateBounds::new(
            (0..n)
                .map(|i| {
                    if counted(i) {
                        f32::INFINITY
                    } else {
                        f32::NEG_INFINITY
                    }
                })
                .collect(),
        );
    }
    let w = solve_from(g, extra, |i| {
        if counted(i) && base[i].is_finite() {
            (c - base[i] as f64) as f32
        } else {
            f32::INFINITY
        }
    });
    let bound = w
        .iter()
        .enumerate()
        .map(|(i, &wv)| {
            if counted(i) {
                f32::INFINITY
            } else if !wv.is_finite() {
                f32::NEG_INFINITY
            } else {
                let wv = wv as f64;
                let bound = c - wv + (c + wv) / 32.0;
                let b = bound as f32;
                // Round up: gate no earlier than the bound.
                if (b as f64) < bound {
                    b.next_up()
                } else {
                    b
                }
            }
        })
        .collect();
    GateBounds::new(bound)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// Gated updates on random grids where only a block of cells is
    /// counted: every counted cell whose cost falls below its base cost
    /// gets the full solve's cost bit for bit, every other counted cell
    /// stays at or above its base cost, and the gate does cut work.
    #[test]
    fn gated_updates_give_every_counted_cell_that_gains_its_exact_cost() {
        use rand::{Rng, SeedableRng};
        let (mut gated_cells, mut cut) = (0usize, 0usize);
        for seed in 0..60u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1000 + seed);
            let (w, h) = (rng.gen_range(6..40), rng.gen_range(6..40));
            let n = w * h;
            let cost: Vec<f32> = (0..n)
                .map(|_| {
                    if rng.gen_bool(0.05) {
                        f32::NAN
                    } else {
                        rng.gen_range(0.5f32..4.0)
                    }
                })
                .collect();
            let ends: Vec<(u32, u32)> = (0..rng.gen_range(1..30))
                .map(|_| (rng.gen_range(0..n) as u32, rng.gen_range(0..n) as u32))
                .collect();
            let ex = ExtraEdges::new(n, ends.clone());
            let base_w: Vec<f32> = ends.iter().map(|_| rng.gen_range(1.0f32..20.0)).collect();
            // The counted block: a rectangle, the rest of the grid outside.
            let (c0, c1) = (rng.gen_range(0..w / 2), rng.gen_range(w / 2..w));
            let (r0, r1) = (rng.gen_range(0..h / 2), rng.gen_range(h / 2..h));
            let counted = |i: usize| (c0..=c1).contains(&(i % w)) && (r0..=r1).contains(&(i / w));
            let cheapest: Vec<f32> = base_w.iter().map(|x| x * 0.05).collect();
            let mut cheap: Vec<(u32, f32)> = Vec::new();
            for id in 0..ends.len() as u32 {
                if rng.gen_bool(0.6) {
                    cheap.push((id, base_w[id as usize] * rng.gen_range(0.05f32..1.0)));
                }
            }
            let (after, raised) = put_back(&mut rng, &cheap);
            let sources = [src(rng.gen_range(0..n) as u32)];
            let g = grid(w, h, &cost);
            let base = solve(&g, Some((&ex, with(&base_w, &[]))), &sources, None);
            let bounds = gate_bounds(&g, Some((&ex, with(&cheapest, &[]))), &base, counted);
            gated_cells += (0..n).filter(|&i| bounds.bound[i] <= base[i]).count();
            let check = |got: &[f32], full: &[f32], what: &str| {
                for i in (0..n).filter(|&i| counted(i)) {
                    if full[i] < base[i] {
                        assert_eq!(
                            got[i].to_bits(),
                            full[i].to_bits(),
                            "seed {seed} {what} cell {i}"
                        );
                    } else {
                        assert!(got[i] >= base[i], "seed {seed} {what} cell {i}");
                    }
                }
            };
            // Cheaper: from the base network to `cheap`.
            let full = solve(&g, Some((&ex, with(&base_w, &cheap))), &sources, None);
            let mut scratch = Scratch::new(&base);
            let (mut all, mut some) = (0, 0);
            for (gate, count) in [(Gate(None), &mut all), (Gate(Some(&bounds)), &mut some)] {
                let delta =
                    relax_cheaper(&g, &ex, with(&base_w, &cheap), &base, gate, &mut scratch);
                *count = delta.len();
                let mut got = base.clone();
                for (c, v) in delta {
                    got[c as usize] = v;
                }
                check(&got, &full, "cheaper");
            }
            cut += all - some;
            // Dearer: from `cheap` back to `after`.
            let before = full;
            let full = solve(&g, Some((&ex, with(&base_w, &after))), &sources, None);
            let mut scratch = Scratch::new(&before);
            let delta = relax_dearer(
                &g,
                &ex,
                with(&base_w, &cheap),
                with(&base_w, &after),
                &raised,
                &sources,
                &before,
                Gate(Some(&bounds)),
                &mut scratch,
            );
            let mut got = before.clone();
            for (c, v) in delta {
                got[c as usize] = v;
            }
            check(&got, &full, "dearer");
            // The scratch is restored.
            assert!(scratch
                .acc
                .iter()
                .zip(&before)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        assert!(
            gated_cells > 1000,
            "the cases should gate cells ({gated_cells})"
        );
        assert!(cut > 100, "the gate should cut work ({cut})");
    }
}
