//! Dearer edges: the cells whose best path used them are found, reset and
//! settled again from their unaffected neighbours.

use super::*;

/// The grid neighbours of cell `u` (any cost), by step index (`DC`, `DR`).
#[inline(always)]
pub(super) fn grid_neighbours(g: &CostGrid, u: usize, mut f: impl FnMut(usize, usize)) {
    let (w, h) = (g.width, g.height);
    let (col, row) = (u % w, u / w);
    if col > 0 && row > 0 && col + 1 < w && row + 1 < h {
        for (s, v) in [
            u - w - 1,
            u - w,
            u - w + 1,
            u - 1,
            u + 1,
            u + w - 1,
            u + w,
            u + w + 1,
        ]
        .into_iter()
        .enumerate()
        {
            f(s, v);
        }
        return;
    }
    for s in 0..8 {
        let (c2, r2) = (col as isize + DC[s], row as isize + DR[s]);
        if c2 >= 0 && r2 >= 0 && (c2 as usize) < w && (r2 as usize) < h {
            f(s, r2 as usize * w + c2 as usize);
        }
    }
}

/// The decremental update: the cells whose accumulated cost depends on the
/// extra edges `raised`, which go from their weights in `before` to those
/// in `after` (never cheaper), with their new costs, sorted by cell (a cell
/// may keep its cost). `acc` is the solution for `before`; every other cell
/// keeps its cost, and the result equals `solve` with `after` exactly.
///
/// Three passes over the cells a raised edge can reach by tight steps
/// (steps that give a cell its cost), none in order of cost, so ties (steps
/// that weigh nothing, or less than the costs' rounding) need no care:
/// 1. the candidates: the raised edges' far ends that took their cost
///    through them, and every cell a candidate reaches by a tight step
///    (noting the tight steps into a candidate from a cell that is none
///    so far);
/// 2. the candidates that keep their cost: a source at it, one reached
///    tightly (with the raised edges at their new weights) from a cell that
///    is no candidate, and every candidate reached tightly from one that
///    keeps its cost. (A cell that is no candidate keeps its cost: the
///    tight path that gave it uses no raised edge and no candidate.)
/// 3. the others depend on a raised edge: their costs are forgotten,
///    seeded from their neighbours that keep theirs (the cheapest step in),
///    and settled again by the same Dijkstra loop.
///
/// A gated candidate (see `Gate`) passes nothing on in pass 1: the cells it
/// reaches keep their costs, which may be too low, but no counted cell can
/// come below its base cost through them.
#[allow(clippy::too_many_arguments)]
pub fn relax_dearer(
    g: &CostGrid,
    extra: &ExtraEdges,
    before: EdgeWeights,
    after: EdgeWeights,
    raised: &[u32],
    sources: &[Source],
    acc: &[f32],
    gate: Gate,
    scratch: &mut Scratch,
) -> Vec<(u32, f32)> {
    debug_assert_eq!(scratch.acc.len(), acc.len());
    let Scratch {
        acc: work,
        changed,
        seen,
        heap,
        decided,
        visited,
        stack,
        outside,
    } = scratch;
    changed.clear();
    visited.clear();
    stack.clear();
    outside.clear();
    let steps = Steps::new(g.dx, g.dy);
    let bit = |v: &Vec<u64>, c: usize| v[c / 64] & (1u64 << (c % 64)) != 0;
    let set = |v: &mut Vec<u64>, c: usize| v[c / 64] |= 1u64 << (c % 64);
    // Each source cell with its cheapest start, by cell.
    let mut starts: Vec<(u32, f32)> = sources.iter().map(|s| (s.cell, s.cost)).collect();
    starts.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    starts.dedup_by_key(|s| s.0);
    let source_cost = |c: usize| match starts.binary_search_by_key(&(c as u32), |s| s.0) {
        Ok(k) => starts[k].1,
        Err(_) => f32::INFINITY,
    };
    // Pass 1: the candidates (marked in `decided`, listed in `visited`).
    for &id in raised {
        let (a, b) = extra.ends[id as usize];
        for (x, y) in [(a, b), (b, a)] {
            let yi = y as usize;
            if acc[x as usize].is_finite()
                && acc[x as usize] + before.get(id) == acc[yi]
                && !bit(decided, yi)
            {
                set(decided, yi);
                visited.push(y);
                stack.push(y);
            }
        }
    }
    while let Some(v) = stack.pop() {
        let vi = v as usize;
        let av = acc[vi];
        let expand = !gate.0.is_some_and(|gb| gb.stops(vi, av));
        let fv = g.cost[vi];
        if passable(fv) {
            grid_neighbours(g, vi, |s, u| {
                let fu = g.cost[u];
                if !passable(fu) {
                    return;
                }
                let wt = step_weight(fv, fu, steps.half[s]);
                let au = acc[u];
                if au + wt == av && !bit(decided, u) {
                    // A tight in-step from a cell that is no candidate (yet).
                    outside.push((v, u as u32));
                }
                if expand && av + wt == au && !bit(decided, u) {
                    set(decided, u);
                    visited.push(u as u32);
                    stack.push(u as u32);
                }
            });
        }
        if expand {
            for &(x, id) in extra.of(v) {
                let xi = x as usize;
                if av + before.get(id) == acc[xi] && !bit(decided, xi) {
                    set(decided, xi);
                    visited.push(x);
                    stack.push(x);
                }
            }
        }
    }
    // Pass 2: the candidates that keep their cost (marked in `seen` for
    // now), from those that take it from outside, then onwards (few: the
    // steps out of them are read again).
    let keep = |v: u32, seen: &mut Vec<u64>, stack: &mut Vec<u32>| {
        if !bit(seen, v as usize) {
            set(seen, v as usize);
            stack.push(v);
        }
    };
    for &(v, u) in outside.iter() {
        if !bit(decided, u as usize) {
            keep(v, seen, stack);
        }
    }
    for &v in visited.iter() {
        let vi = v as usize;
        let av = acc[vi];
        if source_cost(vi) == av
            || extra
                .of(v)
                .iter()
                .any(|&(u, id)| !bit(decided, u as usize) && acc[u as usize] + after.get(id) == av)
        {
            keep(v, seen, stack);
        }
    }
    while let Some(p) = stack.pop() {
        let pi = p as usize;
        let (fp, ap) = (g.cost[pi], acc[pi]);
        if passable(fp) {
            grid_neighbours(g, pi, |s, u| {
                let fu = g.cost[u];
                if bit(decided, u)
                    && !bit(seen, u)
                    && passable(fu)
                    && ap + step_weight(fp, fu, steps.half[s]) == acc[u]
                {
                    set(seen, u);
                    stack.push(u as u32);
                }
            });
        }
        for &(x, id) in extra.of(p) {
            let xi = x as usize;
            if bit(decided, xi) && !bit(seen, xi) && ap + after.get(id) == acc[xi] {
                set(seen, xi);
                stack.push(x);
            }
        }
    }
    // The rest depend on a raised edge: `seen` now marks them instead.
    for &v in visited.iter() {
        let vi = v as usize;
        seen[vi / 64] ^= 1u64 << (vi % 64);
        if bit(seen, vi) {
            changed.push(v);
        }
    }
    // Pass 3: forget their costs, seed each from its neighbours that keep
    // theirs (the cheapest step in: a minimum, so the order the steps are
    // taken in does not matter), and settle them again.
    heap.reset_for(g);
    for &c in changed.iter() {
        let ci = c as usize;
        let mut best = source_cost(ci);
        let fc = g.cost[ci];
        if passable(fc) {
            grid_neighbours(g, ci, |s, u| {
                if bit(seen, u) {
                    return;
                }
                let (fu, au) = (g.cost[u], acc[u]);
                if passable(fu) && au.is_finite() {
                    best = best.min(au + step_weight(fu, fc, steps.half[s]));
                }
            });
        }
        for &(u, id) in extra.of(c) {
            let au = acc[u as usize];
            if !bit(seen, u as usize) && au.is_finite() {
                best = best.min(au + after.get(id));
            }
        }
        work[ci] = best;
        if best < f32::INFINITY {
            heap.push(best, c);
        }
    }
    let mut st = Split {
        cost: g.cost,
        acc: &mut work[..],
    };
    run(
        g,
        Some((extra, after)),
        &mut st,
        heap,
        gate,
        NoLabels,
        |_| {},
    );
    in_cell_order(changed, seen);
    let out: Vec<(u32, f32)> = changed.iter().map(|&c| (c, work[c as usize])).collect();
    // Restore the working copy and the marks for the next call.
    for &c in changed.iter() {
        work[c as usize] = acc[c as usize];
        seen[c as usize / 64] &= !(1u64 << (c % 64));
    }
    for &c in visited.iter() {
        decided[c as usize / 64] &= !(1u64 << (c % 64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn decremental_equals_full_on_random_grids_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rose = 0;
        for seed in 0..40u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let (w, h) = (rng.gen_range(3..25), rng.gen_range(3..25));
            let n = w * h;
            let cost: Vec<f32> = (0..n)
                .map(|_| {
                    if rng.gen_bool(0.08) {
                        f32::NAN
                    } else {
                        rng.gen_range(0.5f32..4.0)
                    }
                })
                .collect();
            let ends: Vec<(u32, u32)> = (0..rng.gen_range(1..40))
                .map(|_| (rng.gen_range(0..n) as u32, rng.gen_range(0..n) as u32))
                .collect();
            let ex = ExtraEdges::new(n, ends.clone());
            let base_w: Vec<f32> = ends.iter().map(|_| rng.gen_range(1.0f32..20.0)).collect();
            // Some edges made cheaper; then some of those put back.
            let mut cheap: Vec<(u32, f32)> = Vec::new();
            for id in 0..ends.len() as u32 {
                if rng.gen_bool(0.6) {
                    cheap.push((id, base_w[id as usize] * rng.gen_range(0.05f32..1.0)));
                }
            }
            let (after, raised) = put_back(&mut rng, &cheap);
            let sources = [
                src(rng.gen_range(0..n) as u32),
                src(rng.gen_range(0..n) as u32),
            ];
            let g = grid(w, h, &cost);
            let before = solve(&g, Some((&ex, with(&base_w, &cheap))), &sources, None);
            let full = solve(&g, Some((&ex, with(&base_w, &after))), &sources, None);
            let mut scratch = Scratch::new(&before);
            for _ in 0..2 {
                // Twice: the scratch is restored for the next call.
                let delta = relax_dearer(
                    &g,
                    &ex,
                    with(&base_w, &cheap),
                    with(&base_w, &after),
                    &raised,
                    &sources,
                    &before,
                    Gate(None),
                    &mut scratch,
                );
                rose += delta
                    .iter()
                    .filter(|(c, v)| *v > before[*c as usize])
                    .count();
                assert_same_bits(&applied(&before, &delta), &full, seed);
            }
        }
        assert!(rose > 100, "the cases should raise many cells ({rose})");
    }

    /// Ties: zero-cost cells (free to cross) and road edges that weigh
    /// nothing or less than half a unit in the last place of the costs
    /// they join (a piece of road a few millimetres long), so that a step
    /// is tight both ways and a cell can owe its cost to a cell of the
    /// same cost that depends on a raised edge. Bit for bit against the
    /// full solve; with the gate, exact for the counted cells that gain.
    #[test]
    fn decremental_equals_full_with_ties_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let (mut rose, mut tied, mut kept) = (0usize, 0usize, 0usize);
        for seed in 0..200u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5000 + seed);
            let (w, h) = (rng.gen_range(3..20), rng.gen_range(3..20));
            let n = w * h;
            let cost: Vec<f32> = (0..n)
                .map(|_| match rng.gen_range(0..10) {
                    0 => f32::NAN,
                    1..=3 => 0.0,
                    _ => rng.gen_range(0.5f32..4.0),
                })
                .collect();
            let ends: Vec<(u32, u32)> = (0..rng.gen_range(1..40))
                .map(|_| (rng.gen_range(0..n) as u32, rng.gen_range(0..n) as u32))
                .collect();
            let ex = ExtraEdges::new(n, ends.clone());
            let base_w: Vec<f32> = ends
                .iter()
                .map(|_| match rng.gen_range(0..4) {
                    0 => 0.0,
                    1 => 1e-9,
                    _ => rng.gen_range(1.0f32..20.0),
                })
                .collect();
            let mut cheap: Vec<(u32, f32)> = Vec::new();
            for id in 0..ends.len() as u32 {
                if rng.gen_bool(0.6) {
                    let f = if rng.gen_bool(0.3) {
                        0.0
                    } else {
                        rng.gen_range(0.05f32..1.0)
                    };
                    cheap.push((id, base_w[id as usize] * f));
                }
            }
            let (after, raised) = put_back(&mut rng, &cheap);
            let sources = [
                src(rng.gen_range(0..n) as u32),
                src(rng.gen_range(0..n) as u32),
            ];
            let g = grid(w, h, &cost);
            let before = solve(&g, Some((&ex, with(&base_w, &cheap))), &sources, None);
            let full = solve(&g, Some((&ex, with(&base_w, &after))), &sources, None);
            tied += ends
                .iter()
                .filter(|&&(a, b)| {
                    let (x, y) = (before[a as usize], before[b as usize]);
                    x.is_finite() && x == y
                })
                .count();
            let mut scratch = Scratch::new(&before);
            let delta = relax_dearer(
                &g,
                &ex,
                with(&base_w, &cheap),
                with(&base_w, &after),
                &raised,
                &sources,
                &before,
                Gate(None),
                &mut scratch,
            );
            for (c, v) in &delta {
                rose += (*v > before[*c as usize]) as usize;
                kept += (v.to_bits() == before[*c as usize].to_bits()) as usize;
            }
            assert_same_bits(&applied(&before, &delta), &full, seed);
            // Gated, with a block of counted cells: those that gain on the
            // base network get their exact cost, the others none below it.
            let (c0, c1) = (rng.gen_range(0..w / 2), rng.gen_range(w / 2..w));
            let (r0, r1) = (rng.gen_range(0..h / 2), rng.gen_range(h / 2..h));
            let counted = |i: usize| (c0..=c1).contains(&(i % w)) && (r0..=r1).contains(&(i / w));
            let base = solve(&g, Some((&ex, with(&base_w, &[]))), &sources, None);
            let cheapest = vec![0.0f32; base_w.len()];
            let bounds = gate_bounds(&g, Some((&ex, with(&cheapest, &[]))), &base, counted);
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
            let got = applied(&before, &delta);
            for i in (0..n).filter(|&i| counted(i)) {
                if full[i] < base[i] {
                    assert_eq!(
                        got[i].to_bits(),
                        full[i].to_bits(),
                        "seed {seed} gated cell {i}"
                    );
                } else {
                    assert!(got[i] >= base[i], "seed {seed} gated cell {i}");
                }
            }
        }
        assert!(rose > 100, "the cases should raise many cells ({rose})");
        assert!(tied > 100, "the cases should tie many road edges ({tied})");
        // Cells found to keep their cost are not re-settled: the few that
        // are and keep it anyway rose by less than the rounding of the
        // steps out of them (without the kept cells' pass: 4x as many as
        // those that rise).
        assert!(kept * 2 < rose, "re-settled but kept: {kept} of {rose}");
    }
}
