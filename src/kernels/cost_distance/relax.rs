//! The settle loop every solve and update shares: take the cheapest cell,
//! relax its eight neighbours and its extra edges.

use super::*;

pub(super) const PREFETCH_AHEAD: usize = 0;

/// Ask for the cache lines of cell `i` and of the cells above and below it
/// (a row of `w` cells apart) in `v`: the memory a relaxation of `i` reads.
/// A hint only: it changes no result.
#[inline(always)]
pub(super) fn prefetch<T>(v: &[T], i: usize, w: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for j in [i.wrapping_sub(w), i, i + w] {
            if j < v.len() {
                // SAFETY: a prefetch is a hint; the address is in bounds.
                unsafe { _mm_prefetch(v.as_ptr().add(j) as *const i8, _MM_HINT_T0) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (v, i, w);
    }
}

/// `prefetch` of cell `i`'s rows in the accumulated and the cell costs.
#[inline(always)]
pub(super) fn prefetch_both(acc: &[f32], cost: &[f32], i: usize, w: usize) {
    prefetch(acc, i, w);
    prefetch(cost, i, w);
}

/// Cell costs and accumulated costs, as the loop reads and writes them:
/// split (two slices, for the incremental update's working copy) or
/// interleaved (one (cost, acc) pair per cell, so a relaxation touches one
/// cache line instead of two; for full solves).
pub(super) trait Store {
    fn len(&self) -> usize;
    /// Prefetch what relaxing cell `i` reads (see `prefetch`).
    fn prefetch_rows(&self, i: usize, w: usize);
    fn cost(&self, i: usize) -> f32;
    fn acc(&self, i: usize) -> f32;
    fn set_acc(&mut self, i: usize, v: f32);
    /// # Safety
    /// `i < self.len()`.
    unsafe fn cost_unchecked(&self, i: usize) -> f32;
    /// # Safety
    /// `i < self.len()`.
    unsafe fn acc_unchecked(&self, i: usize) -> f32;
    /// # Safety
    /// `i < self.len()`.
    unsafe fn set_acc_unchecked(&mut self, i: usize, v: f32);
}

pub(super) struct Split<'a> {
    pub(super) cost: &'a [f32],
    pub(super) acc: &'a mut [f32],
}

impl Store for Split<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.acc.len()
    }
    #[inline(always)]
    fn prefetch_rows(&self, i: usize, w: usize) {
        prefetch_both(self.acc, self.cost, i, w);
    }
    #[inline(always)]
    fn cost(&self, i: usize) -> f32 {
        self.cost[i]
    }
    #[inline(always)]
    fn acc(&self, i: usize) -> f32 {
        self.acc[i]
    }
    #[inline(always)]
    fn set_acc(&mut self, i: usize, v: f32) {
        self.acc[i] = v;
    }
    #[inline(always)]
    unsafe fn cost_unchecked(&self, i: usize) -> f32 {
        *self.cost.get_unchecked(i)
    }
    #[inline(always)]
    unsafe fn acc_unchecked(&self, i: usize) -> f32 {
        *self.acc.get_unchecked(i)
    }
    #[inline(always)]
    unsafe fn set_acc_unchecked(&mut self, i: usize, v: f32) {
        *self.acc.get_unchecked_mut(i) = v;
    }
}

/// Where labels go (a slice) or nothing (no labels): a type parameter so the
/// hot loop carries no run-time branch or indirect call for them.
pub(super) trait LabelSink {
    fn copy(&mut self, from: usize, to: usize);
}

pub(super) struct NoLabels;
impl LabelSink for NoLabels {
    #[inline(always)]
    fn copy(&mut self, _from: usize, _to: usize) {}
}

impl LabelSink for &mut [u16] {
    #[inline(always)]
    fn copy(&mut self, from: usize, to: usize) {
        self[to] = self[from];
    }
}

/// The loop of the incremental updates: pops cells in about cost order (by
/// bucket, see `BucketQueue`) and relaxes their grid and extra neighbours
/// until no cost falls. `touched` hears of every cell whose cost is
/// lowered. A cell popped at or above its `gate` bound is not expanded
/// (see `Gate`).
///
/// The order changes no bit of the result. Every cost written is a path's
/// f32 sum and every lowered cell is expanded again at its new cost, so
/// the loop ends at the least fixpoint of "cost(v) = min(start(v),
/// cost(u) + w(u, v) over expanded u)"; f32 addition being monotone, the
/// cheapest differing cell of two fixpoints would take its cost from a
/// cell where they agree, so the fixpoint is unique and equals what exact
/// Dijkstra order gives. (Ties between labels would depend on the order,
/// so the labelled full solve keeps the radix heap.) A gated cell stops at
/// every cost at or above its bound, and costs only fall, so it is
/// expanded exactly when its final cost is below the bound, as in Dijkstra
/// order.
pub(super) fn run<S: Store, L: LabelSink, T: FnMut(u32)>(
    g: &CostGrid,
    extra: Option<(&ExtraEdges, EdgeWeights)>,
    st: &mut S,
    heap: &mut BucketQueue,
    gate: Gate,
    mut labels: L,
    mut touched: T,
) {
    let steps = Steps::new(g.dx, g.dy);
    let (w, h) = (g.width as isize, g.height as isize);
    let offsets: [isize; 8] = std::array::from_fn(|s| steps.dr[s] * w + steps.dc[s]);
    assert_eq!(st.len(), g.width * g.height);
    while let Some((cu, u)) = heap.pop() {
        let ui = u as usize;
        // Bound by memory latency on large grids: ask for the next cell's
        // rows while this one is relaxed.
        if let Some(next) = heap.peek_cell() {
            st.prefetch_rows(next as usize, g.width);
        }
        if cu > st.acc(ui) {
            continue; // stale entry
        }
        if let Some(gb) = gate.0 {
            if gb.stops(ui, cu) {
                continue; // nothing counted lies beyond
            }
        }
        let fu = st.cost(ui);
        if passable(fu) {
            let (col, row) = ((ui % g.width) as isize, (ui / g.width) as isize);
            if col > 0 && row > 0 && col < w - 1 && row < h - 1 {
                // Interior cell: all 8 neighbours exist.
                for (&off, &half) in offsets.iter().zip(&steps.half) {
                    let vi = (ui as isize + off) as usize;
                    // SAFETY: an interior cell's neighbours are inside the
                    // grid, whose size the store has (asserted above).
                    let fv = unsafe { st.cost_unchecked(vi) };
                    if !passable(fv) {
                        continue;
                    }
                    let nc = cu + step_weight(fu, fv, half);
                    if nc < unsafe { st.acc_unchecked(vi) } {
                        unsafe { st.set_acc_unchecked(vi, nc) };
                        labels.copy(ui, vi);
                        touched(vi as u32);
                        heap.push(nc, vi as u32);
                    }
                }
            } else {
                for s in 0..8 {
                    let (c2, r2) = (col + steps.dc[s], row + steps.dr[s]);
                    if c2 < 0 || r2 < 0 || c2 >= w || r2 >= h {
                        continue;
                    }
                    let vi = (r2 * w + c2) as usize;
                    let fv = st.cost(vi);
                    if !passable(fv) {
                        continue;
                    }
                    let nc = cu + step_weight(fu, fv, steps.half[s]);
                    if nc < st.acc(vi) {
                        st.set_acc(vi, nc);
                        labels.copy(ui, vi);
                        touched(vi as u32);
                        heap.push(nc, vi as u32);
                    }
                }
            }
        }
        if let Some((ex, wt)) = &extra {
            for &(v, id) in ex.of(u) {
                let nc = cu + wt.get(id);
                let vi = v as usize;
                if nc < st.acc(vi) {
                    st.set_acc(vi, nc);
                    labels.copy(ui, vi);
                    touched(v);
                    heap.push(nc, v);
                }
            }
        }
    }
}
