//! The priority queues of the solves: a monotone radix heap (exact order,
//! the reference and the labelled solve) and a bucket queue (buckets as wide
//! as the lightest step, label-correcting, the fast path).

use super::*;

/// A monotone radix heap on u32 keys (Ahuja, Mehlhorn, Orlin and Tarjan
/// 1990): Dijkstra never pushes a key below the last one popped, which this
/// exploits to beat a binary heap. Keys are the bit patterns of non-negative
/// f32 costs, which order like the floats themselves. Ties pop in a fixed
/// (deterministic) order.
#[derive(Debug, Clone)]
pub struct RadixHeap {
    pub(super) last: u32,
    pub(super) len: usize,
    pub(super) buckets: Vec<Vec<(u32, u32)>>,
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            len: 0,
            buckets: vec![Vec::new(); 33],
        }
    }
}

impl RadixHeap {
    #[inline(always)]
    pub(super) fn bucket(&self, key: u32) -> usize {
        (32 - (key ^ self.last).leading_zeros()) as usize
    }

    pub fn clear(&mut self) {
        for b in &mut self.buckets {
            b.clear();
        }
        self.len = 0;
        self.last = 0;
    }

    #[inline(always)]
    pub fn push(&mut self, cost: f32, cell: u32) {
        let key = cost.to_bits();
        debug_assert!(key >= self.last, "radix heap keys must not decrease");
        let b = self.bucket(key);
        self.buckets[b].push((key, cell));
        self.len += 1;
    }

    /// The cell that `pop` will return next, when it is already known
    /// (used to prefetch its memory).
    #[inline(always)]
    pub fn peek_cell(&self, ahead: usize) -> Option<u32> {
        let b = &self.buckets[0];
        b.len().checked_sub(1 + ahead).map(|k| b[k].1)
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(f32, u32)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = (1..33).find(|&i| !self.buckets[i].is_empty())?;
            let moved = std::mem::take(&mut self.buckets[i]);
            self.last = moved.iter().map(|e| e.0).min().unwrap_or(self.last);
            for &(k, v) in &moved {
                let b = self.bucket(k);
                self.buckets[b].push((k, v));
            }
            // Keep the allocation for reuse.
            let mut moved = moved;
            moved.clear();
            if self.buckets[i].is_empty() {
                self.buckets[i] = moved;
            }
        }
        self.len -= 1;
        self.buckets[0].pop().map(|(k, v)| (f32::from_bits(k), v))
    }
}

/// A bucket queue for the incremental updates' label-correcting loop: costs
/// fall into buckets `delta` wide, kept in a ring of `RING` buckets (a bit
/// per bucket says which hold cells), with a binary heap for costs beyond
/// the ring, brought in as the ring reaches them. Cells within a bucket come out in no particular order, so a
/// cell may be settled more than once (when a cheaper way to it is found
/// within its own bucket); the loop runs until nothing improves, and its
/// result is the least fixpoint of the relaxation, the same bits whatever
/// the order (see `run`). With `delta` no wider than the lightest grid
/// step, a cell is settled again only through road edges lighter than it.
/// Push and pop are O(1) but for a scan of the ring's bits.
#[derive(Debug, Clone)]
pub struct BucketQueue<R = f32> {
    /// 1 / bucket width.
    pub(super) scale: R,
    /// The grid `scale` was chosen for (address and length of its costs).
    pub(super) scaled_for: (usize, usize),
    /// Absolute index of the bucket being emptied.
    pub(super) cur: u64,
    pub(super) ring: Vec<Vec<(R, u32)>>,
    pub(super) full: [u64; RING / 64],
    pub(super) in_ring: usize,
    /// The cells beyond the ring, cheapest on top (cost bits, cell).
    pub(super) far: std::collections::BinaryHeap<std::cmp::Reverse<(u64, u32)>>,
}

impl<R: Real> Default for BucketQueue<R> {
    fn default() -> Self {
        BucketQueue {
            scale: R::from_f64(1.0),
            scaled_for: (0, 0),
            cur: 0,
            ring: vec![Vec::new(); RING],
            full: [0; RING / 64],
            in_ring: 0,
            far: std::collections::BinaryHeap::new(),
        }
    }
}

/// 1 / the width of a `BucketQueue`'s buckets for a grid with these cell
/// costs and cell sizes: its lightest grid step, so that most cells settle
/// once (any positive width gives the same result).
pub(super) fn bucket_scale<R: Real>(costs: impl Iterator<Item = R>, dx: f64, dy: f64) -> R {
    scale_for_lightest(lightest_cost(costs), dx, dy)
}

/// The least positive passable cost (INFINITY when there is none).
pub(super) fn lightest_cost<R: Real>(costs: impl Iterator<Item = R>) -> R {
    costs
        .filter(|c| passable(*c) && *c > R::ZERO)
        .fold(R::INFINITY, R::min)
}

/// `bucket_scale` from the grid's lightest cost (computed in the type of
/// the costs, so `f32` grids keep the widths they always had).
pub(super) fn scale_for_lightest<R: Real>(lightest: R, dx: f64, dy: f64) -> R {
    let delta = R::from_f64(2.0) * lightest * R::from_f64(0.5 * dx.min(dy));
    // No grid step has a positive weight: any width will do.
    let one = R::from_f64(1.0);
    if !(delta.is_finite() && delta > R::ZERO) {
        return one;
    }
    let scale = one / delta;
    if scale.is_finite() {
        scale
    } else {
        R::MAX
    }
}

/// What the loops take cells from: a `RadixHeap` (exact cost order) or a
/// `BucketQueue` (about cost order).
pub(super) trait Queue<R = f32> {
    fn push(&mut self, cost: R, cell: u32);
    fn pop(&mut self) -> Option<(R, u32)>;
    /// The cell `pop` will return next, when known (to prefetch).
    fn next_cell(&self) -> Option<u32>;
}

impl Queue for RadixHeap {
    #[inline(always)]
    fn push(&mut self, cost: f32, cell: u32) {
        RadixHeap::push(self, cost, cell)
    }
    #[inline(always)]
    fn pop(&mut self) -> Option<(f32, u32)> {
        RadixHeap::pop(self)
    }
    #[inline(always)]
    fn next_cell(&self) -> Option<u32> {
        self.peek_cell(PREFETCH_AHEAD)
    }
}

impl<R: Real> Queue<R> for BucketQueue<R> {
    #[inline(always)]
    fn push(&mut self, cost: R, cell: u32) {
        BucketQueue::push(self, cost, cell)
    }
    #[inline(always)]
    fn pop(&mut self) -> Option<(R, u32)> {
        BucketQueue::pop(self)
    }
    #[inline(always)]
    fn next_cell(&self) -> Option<u32> {
        self.peek_cell()
    }
}

/// The buckets of a `BucketQueue`'s ring.
const RING: usize = 4096;
/// Bucket indices from here on mean "beyond every bucket" (the index
/// saturated): such cells stay in the heap and pop in cost order.
const SATURATED: u64 = 1 << 62;

impl BucketQueue<f32> {
    /// Empty the queue and size its buckets for grid `g` (once per grid):
    /// as wide as its lightest step, so that most cells settle once.
    pub(super) fn reset_for(&mut self, g: &CostGrid) {
        self.clear();
        let key = (g.cost.as_ptr() as usize, g.cost.len());
        if self.scaled_for == key {
            return;
        }
        self.scale = bucket_scale(g.cost.iter().copied(), g.dx, g.dy);
        self.scaled_for = key;
    }
}

impl<R: Real> BucketQueue<R> {
    /// An empty queue with buckets `1 / scale` wide.
    pub(super) fn with_scale(scale: R) -> BucketQueue<R> {
        BucketQueue {
            scale,
            ..BucketQueue::default()
        }
    }

    pub fn clear(&mut self) {
        for (w, word) in self.full.iter_mut().enumerate() {
            let mut b = *word;
            while b != 0 {
                self.ring[w * 64 + b.trailing_zeros() as usize].clear();
                b &= b - 1;
            }
            *word = 0;
        }
        self.in_ring = 0;
        self.cur = 0;
        self.far.clear();
    }

    #[inline(always)]
    pub(super) fn index(&self, cost: R) -> u64 {
        // Saturating: the costs beyond all share the last bucket.
        cost.bucket(self.scale)
    }

    #[inline(always)]
    pub(super) fn put_in_ring(&mut self, idx: u64, cost: R, cell: u32) {
        let b = (idx as usize) & (RING - 1);
        self.ring[b].push((cost, cell));
        self.full[b / 64] |= 1u64 << (b % 64);
        self.in_ring += 1;
    }

    #[inline(always)]
    pub fn push(&mut self, cost: R, cell: u32) {
        let idx = self.index(cost).max(self.cur);
        if idx - self.cur < RING as u64 {
            self.put_in_ring(idx, cost, cell);
        } else {
            self.far.push(std::cmp::Reverse((cost.key(), cell)));
        }
    }

    /// The cell that `pop` will return next, when it is already known.
    #[inline(always)]
    pub fn peek_cell(&self) -> Option<u32> {
        self.ring[(self.cur as usize) & (RING - 1)]
            .last()
            .map(|e| e.1)
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(R, u32)> {
        let b = (self.cur as usize) & (RING - 1);
        if let Some(e) = self.ring[b].pop() {
            self.in_ring -= 1;
            if self.ring[b].is_empty() {
                self.full[b / 64] &= !(1u64 << (b % 64));
            }
            return Some(e);
        }
        match self.advance()? {
            Some(e) => Some(e),
            None => self.pop(),
        }
    }

    /// Move `cur` to the next bucket that holds cells, then bring in the
    /// cells from beyond the ring that it now reaches (so buckets empty in
    /// order: a cell left beyond while later buckets are emptied would,
    /// when it came, settle again all it improves). None when nothing is
    /// left; Some(Some(cell)) for a cell to pop at once.
    #[cold]
    pub(super) fn advance(&mut self) -> Option<Option<(R, u32)>> {
        if self.in_ring == 0 {
            let &std::cmp::Reverse((key, cell)) = self.far.peek()?;
            let cost = R::from_key(key);
            let idx = self.index(cost);
            if idx >= SATURATED {
                // Beyond any bucket (buckets far narrower than the costs):
                // straight from the heap, in cost order.
                self.far.pop();
                return Some(Some((cost, cell)));
            }
            self.cur = self.cur.max(idx);
            self.pull_far();
            return Some(None);
        }
        // The next full bucket after `cur`, going round the ring.
        let start = (self.cur as usize) & (RING - 1);
        let words = RING / 64;
        for k in 0..=words {
            let w = (start / 64 + k) % words;
            let mut bits = self.full[w];
            if k == 0 {
                bits &= !0u64 << (start % 64);
            }
            if bits != 0 {
                let b = w * 64 + bits.trailing_zeros() as usize;
                let step = (b + RING - start) % RING;
                self.cur += step as u64;
                self.pull_far();
                return Some(None);
            }
        }
        None
    }

    /// Make room for cells that cost less than the bucket being emptied
    /// (a strip's messages, which may come late): every cell held is
    /// taken out and put back with the ring starting again below
    /// `cost`, so buckets still empty in order. (Pushed into the current
    /// bucket instead, a late region would be relaxed in stack order and
    /// settled again and again.)
    pub(super) fn rewind_for(&mut self, cost: R) {
        if self.index(cost) >= self.cur {
            return;
        }
        let mut held = Vec::with_capacity(self.in_ring + self.far.len());
        for (w, word) in self.full.iter().enumerate() {
            let mut b = *word;
            while b != 0 {
                held.extend_from_slice(&self.ring[w * 64 + b.trailing_zeros() as usize]);
                b &= b - 1;
            }
        }
        held.extend(
            self.far
                .iter()
                .map(|&std::cmp::Reverse((k, c))| (R::from_key(k), c)),
        );
        self.clear();
        for (c, i) in held {
            self.push(c, i);
        }
    }

    /// Move the cells beyond the ring that are now within its reach into
    /// it.
    pub(super) fn pull_far(&mut self) {
        while let Some(&std::cmp::Reverse((key, cell))) = self.far.peek() {
            let cost = R::from_key(key);
            let idx = self.index(cost).max(self.cur);
            if idx - self.cur >= RING as u64 {
                return;
            }
            self.far.pop();
            self.put_in_ring(idx, cost, cell);
        }
    }
}

/// `bucket_scale` of a whole raster, its lightest cost found on every
/// thread.
pub(super) fn bucket_scale_par<R: Real, C: Copy + Send + Sync + Into<R>>(
    cost: &[C],
    dx: f64,
    dy: f64,
) -> R {
    use rayon::prelude::*;
    let lightest = cost
        .par_chunks(1 << 16)
        .map(|c| lightest_cost(c.iter().map(|&x| x.into())))
        .reduce(|| R::INFINITY, R::min);
    scale_for_lightest(lightest, dx, dy)
}

/// Lower cell `i`'s accumulated cost to `cost` if that is less, and queue
/// it (a source, or a cost from another strip).
#[inline]
pub(super) fn lower<R: Real, Q: Queue<R>>(st: &mut [[R; 2]], queue: &mut Q, i: usize, cost: R) {
    if cost < st[i][1] {
        st[i][1] = cost;
        queue.push(cost, i as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// The bucket queue over costs seven orders of magnitude apart (most
    /// beyond its ring, cells settled several times within a bucket):
    /// both updates still give the bits of the full solve, whose radix heap
    /// pops in exact cost order.
    #[test]
    fn bucket_order_gives_the_bits_of_exact_order_over_wide_cost_ranges() {
        use rand::{Rng, SeedableRng};
        for seed in 0..40u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1000 + seed);
            let (w, h) = (rng.gen_range(3..40), rng.gen_range(3..40));
            let n = w * h;
            let cost = random_costs(&mut rng, n, &[f32::NAN, 0.0], 20, -3.0..4.0);
            let ends: Vec<(u32, u32)> = (0..rng.gen_range(1..60))
                .map(|_| (rng.gen_range(0..n) as u32, rng.gen_range(0..n) as u32))
                .collect();
            let ex = ExtraEdges::new(n, ends.clone());
            let base_w: Vec<f32> = ends
                .iter()
                .map(|_| 10f32.powf(rng.gen_range(-4.0f32..3.0)))
                .collect();
            let mut cheap: Vec<(u32, f32)> = Vec::new();
            for id in 0..ends.len() as u32 {
                if rng.gen_bool(0.6) {
                    cheap.push((id, base_w[id as usize] * rng.gen_range(0.0f32..1.0)));
                }
            }
            let (after, raised) = put_back(&mut rng, &cheap);
            let sources = [
                src(rng.gen_range(0..n) as u32),
                src(rng.gen_range(0..n) as u32),
            ];
            let g = grid(w, h, &cost);
            let base = solve(&g, Some((&ex, with(&base_w, &[]))), &sources, None);
            // The full solves that take cells from a bucket queue.
            let starts = |i: usize| {
                if sources.iter().any(|s| s.cell as usize == i) {
                    0.0
                } else {
                    f32::INFINITY
                }
            };
            let from = solve_from(&g, Some((&ex, with(&base_w, &[]))), starts);
            assert_same_bits(&from, &base, seed);
            let owned = solve_owned(w, h, 1.0, 1.0, cost.clone(), &sources);
            assert_same_bits(&owned, &solve(&g, None, &sources, None), seed);
            let before = solve(&g, Some((&ex, with(&base_w, &cheap))), &sources, None);
            let full = solve(&g, Some((&ex, with(&base_w, &after))), &sources, None);
            let mut scratch = Scratch::new(&base);
            let delta = relax_cheaper(
                &g,
                &ex,
                with(&base_w, &cheap),
                &base,
                Gate(None),
                &mut scratch,
            );
            assert_same_bits(&applied(&base, &delta), &before, seed);
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
            assert_same_bits(&applied(&before, &delta), &full, seed);
        }
    }

    /// Rewound for a cost below the bucket it has reached, the queue gives
    /// back every cell it held and every cell pushed after, buckets in
    /// order from the new low.
    #[test]
    fn a_rewound_bucket_queue_empties_its_buckets_in_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut q = BucketQueue::with_scale(1.0);
        let mut pushed: Vec<u32> = Vec::new();
        for k in 0..5000u32 {
            // Near (within the ring) and far (beyond it).
            q.push(10f32.powf(rng.gen_range(0.0f32..5.0)), k);
            pushed.push(k);
        }
        let mut popped: Vec<u32> = (0..3000).map(|_| q.pop().expect("held").1).collect();
        let reached = q.cur;
        assert!(reached > 100, "the queue has gone on ({reached})");
        q.rewind_for(2.5);
        assert!(
            q.cur <= q.index(2.5),
            "the ring starts again at or below the new cost"
        );
        for k in 5000..5100u32 {
            q.push(rng.gen_range(2.5f32..reached as f32), k);
            pushed.push(k);
        }
        let mut last = 0;
        while let Some((c, k)) = q.pop() {
            assert!(q.index(c) >= last, "cell {k} at {c} after bucket {last}");
            last = q.index(c);
            popped.push(k);
        }
        popped.sort_unstable();
        assert_eq!(popped, pushed);
    }

    #[test]
    fn bucket_queue_gives_back_every_cell_pushed() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let cost = vec![1.0f32; 4];
        let g = grid(2, 2, &cost);
        let mut q = BucketQueue::default();
        q.reset_for(&g);
        let mut pushed = Vec::new();
        let mut popped = Vec::new();
        let mut below = std::collections::HashSet::new();
        let mut floor = 0.0f32;
        let mut last_bucket = 0u64;
        // Buckets empty in order (but for cells pushed below it).
        let take = |q: &mut BucketQueue,
                    below: &std::collections::HashSet<u32>,
                    last_bucket: &mut u64,
                    floor: &mut f32,
                    popped: &mut Vec<u32>| {
            let (c, cell) = q.pop()?;
            if !below.contains(&cell) {
                assert!(
                    q.index(c) >= *last_bucket,
                    "cell {cell} out of bucket order: cost {c} bucket {} after {} (cur {})",
                    q.index(c),
                    last_bucket,
                    q.cur
                );
                *last_bucket = q.index(c);
            }
            *floor = floor.max(c);
            popped.push(cell);
            Some(())
        };
        for k in 0..20_000u32 {
            if rng.gen_bool(0.6) || pushed.len() == popped.len() {
                // At or above the last cost popped, near or far (beyond
                // the ring); now and then below it (taken as current).
                let c = if rng.gen_bool(0.05) {
                    floor * 0.5
                } else {
                    floor + 10f32.powf(rng.gen_range(-3.0f32..6.0))
                };
                if q.index(c) < q.cur {
                    below.insert(k);
                }
                q.push(c, k);
                pushed.push(k);
            } else {
                take(&mut q, &below, &mut last_bucket, &mut floor, &mut popped)
                    .expect("a cell is left");
            }
        }
        while take(&mut q, &below, &mut last_bucket, &mut floor, &mut popped).is_some() {}
        popped.sort_unstable();
        assert_eq!(popped, pushed);
        // Cleared, it holds nothing.
        q.push(3.0, 1);
        q.clear();
        assert_eq!(q.pop(), None);
        // Buckets so narrow that no cost has one: cost order.
        let mut q = BucketQueue::with_scale(f32::MAX);
        for (k, c) in [5.0f32, 0.0, 1e-30, 2.0, 1e30, 2.0].into_iter().enumerate() {
            q.push(c, k as u32);
        }
        let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|e| e.1)).collect();
        assert_eq!(order, [1, 2, 3, 5, 0, 4]);
    }
}
