//! Cheaper edges: the update from the cells the change touches, equal to a
//! full recomputation bit for bit.

use super::*;

/// Reusable memory for incremental updates: a working copy of the base
/// costs, restored after each call by undoing only what changed.
#[derive(Debug, Clone)]
pub struct Scratch {
    pub(super) acc: Vec<f32>,
    pub(super) changed: Vec<u32>,
    pub(super) seen: Vec<u64>,
    pub(super) heap: BucketQueue,
    /// `relax_dearer`: its candidates (see there), marked and listed, the
    /// cells still to visit, and the tight grid steps into a candidate
    /// from a cell that was none when it was visited (candidate, from).
    pub(super) decided: Vec<u64>,
    pub(super) visited: Vec<u32>,
    pub(super) stack: Vec<u32>,
    pub(super) outside: Vec<(u32, u32)>,
}

impl Scratch {
    pub fn new(base: &[f32]) -> Scratch {
        Scratch {
            acc: base.to_vec(),
            changed: Vec::new(),
            seen: vec![0; base.len().div_ceil(64)],
            heap: BucketQueue::default(),
            decided: vec![0; base.len().div_ceil(64)],
            visited: Vec::new(),
            stack: Vec::new(),
            outside: Vec::new(),
        }
    }

    /// The last `relax_dearer`'s candidates: every cell whose cost it could
    /// change (some keep theirs). Its result reads nothing but these cells,
    /// their neighbours (on the grid and by extra edges) and the weights of
    /// edges that touch them.
    pub fn judged(&self) -> &[u32] {
        &self.visited
    }

    /// The working copy of the accumulated costs (equal to the `base` of
    /// the last `relax_cheaper` call once it has returned).
    pub fn into_acc(self) -> Vec<f32> {
        self.acc
    }
}

/// Put `cells`, the cells marked in `marks`, in cell order: by reading the
/// marks when they are many (a scan of one bit per cell beats a sort of
/// millions), else by sorting.
pub(super) fn in_cell_order(cells: &mut Vec<u32>, marks: &[u64]) {
    if cells.len() * 4 <= marks.len() {
        cells.sort_unstable();
        return;
    }
    let m = cells.len();
    cells.clear();
    for (k, &word) in marks.iter().enumerate() {
        let mut w = word;
        while w != 0 {
            cells.push((k * 64) as u32 + w.trailing_zeros());
            w &= w - 1;
        }
    }
    debug_assert_eq!(cells.len(), m);
}

/// The cells whose accumulated cost drops when the extra edges in
/// `weights.over` become cheaper than in `base_weights`, with their new costs,
/// sorted by cell. `base` is the solution for `base_weights` (from `solve`);
/// the result equals `solve` with the new weights exactly, cell for cell,
/// while touching only the cells that improve. Overrides must not be dearer
/// than the base weights (an upgrade only ever speeds travel up).
pub fn relax_cheaper(
    g: &CostGrid,
    extra: &ExtraEdges,
    weights: EdgeWeights,
    base: &[f32],
    gate: Gate,
    scratch: &mut Scratch,
) -> Vec<(u32, f32)> {
    debug_assert_eq!(scratch.acc.len(), base.len());
    let Scratch {
        acc,
        changed,
        seen,
        heap,
        ..
    } = scratch;
    heap.reset_for(g);
    changed.clear();
    let mark = |c: u32, changed: &mut Vec<u32>, seen: &mut Vec<u64>| {
        let (wd, bit) = (c as usize / 64, 1u64 << (c % 64));
        if seen[wd] & bit == 0 {
            seen[wd] |= bit;
            changed.push(c);
        }
    };
    // Seed: both ends of every cheaper edge, relaxed from the base costs.
    for &(id, wt) in weights.over {
        let (a, b) = extra.ends[id as usize];
        for (from, to) in [(a, b), (b, a)] {
            let nc = acc[from as usize] + wt;
            if nc < acc[to as usize] {
                acc[to as usize] = nc;
                mark(to, changed, seen);
                heap.push(nc, to);
            }
        }
    }
    let mut st = Split {
        cost: g.cost,
        acc: &mut acc[..],
    };
    run(
        g,
        Some((extra, weights)),
        &mut st,
        heap,
        gate,
        NoLabels,
        |c: u32| mark(c, changed, seen),
    );
    // In cell order: the consumers read a dozen per-cell arrays for each,
    // which is far kinder to the cache than the order cells improved in.
    in_cell_order(changed, seen);
    let out: Vec<(u32, f32)> = changed.iter().map(|&c| (c, acc[c as usize])).collect();
    // Restore the working copy for the next call.
    for &c in changed.iter() {
        acc[c as usize] = base[c as usize];
        seen[c as usize / 64] &= !(1u64 << (c % 64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn incremental_equals_full_on_a_small_case() {
        let cost = vec![2f32; 100];
        let ends = vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 55), (55, 99)];
        let ex = ExtraEdges::new(100, ends);
        let base_w = vec![1.0f32; 6];
        let g = grid(10, 10, &cost);
        let base = solve(
            &g,
            Some((
                &ex,
                EdgeWeights {
                    base: &base_w,
                    over: &[],
                },
            )),
            &[src(0)],
            None,
        );
        let over = [(4u32, 0.2f32), (5, 0.3)];
        let full = solve(
            &g,
            Some((
                &ex,
                EdgeWeights {
                    base: &base_w,
                    over: &over,
                },
            )),
            &[src(0)],
            None,
        );
        let mut scratch = Scratch::new(&base);
        let delta = relax_cheaper(
            &g,
            &ex,
            EdgeWeights {
                base: &base_w,
                over: &over,
            },
            &base,
            Gate(None),
            &mut scratch,
        );
        let mut inc = base.clone();
        for (c, v) in &delta {
            inc[*c as usize] = *v;
        }
        assert_eq!(inc, full);
        assert!(!delta.is_empty());
        // The scratch is restored: a second call gives the same answer.
        let again = relax_cheaper(
            &g,
            &ex,
            EdgeWeights {
                base: &base_w,
                over: &over,
            },
            &base,
            Gate(None),
            &mut scratch,
        );
        assert_eq!(again, delta);
    }
}
