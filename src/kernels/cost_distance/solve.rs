//! The full solves: from sources on a fresh grid, with or without origin
//! labels, on one core.

use super::*;

/// Accumulated cost from the nearest source for every cell (INFINITY where
/// unreachable) and, if `labels` is given, the label of that source
/// (`u16::MAX` where unreachable). Ties keep the first label to arrive.
pub fn solve(
    g: &CostGrid,
    extra: Option<(&ExtraEdges, EdgeWeights)>,
    sources: &[Source],
    labels: Option<&mut [u16]>,
) -> Vec<f32> {
    solve_counted(g, extra, sources, labels, &|_| {})
}

/// `solve`, calling `tick(k)` after every `k` cells taken from the queue
/// (about a million at a time; entries made stale by a later, cheaper
/// arrival count too, so the total may pass the grid's cells). The same
/// bits as `solve`: the loop is only paused and resumed.
pub fn solve_counted(
    g: &CostGrid,
    extra: Option<(&ExtraEdges, EdgeWeights)>,
    sources: &[Source],
    labels: Option<&mut [u16]>,
    tick: &dyn Fn(u64),
) -> Vec<f32> {
    assert_eq!(g.cost.len(), g.width * g.height, "cost raster size");
    let st = padded(g.cost, g.width, g.height);
    let heap = RadixHeap::default();
    solve_padded(g, st, extra, || sources.iter().copied(), labels, heap, tick)
}

/// `solve` that takes the cost raster by value and frees it once copied,
/// for the largest grids: the peak is then the solver's 2 values per cell
/// plus the result, instead of the caller's costs as well. Costs come in
/// as `C` and are summed in `R` (f32 costs summed in f64 give the bits of
/// f64 costs: the widening is exact); the result is written as `O` (each
/// sum rounded once). Without labels the order cells are settled in
/// changes no bit (see `run`), so it takes them from a `BucketQueue`,
/// which is faster than the radix heap `solve` keeps as the reference.
///
/// On more than one thread the grid is cut into horizontal strips, one a
/// thread, each solved by its own loop while the steps between strips go
/// as messages (see `solve_strips`); the result is the same bits.
pub fn solve_owned<R: Real, C: Copy + Send + Sync + Into<R>, O: Real>(
    width: usize,
    height: usize,
    dx: f64,
    dy: f64,
    cost: Vec<C>,
    sources: &[Source<R>],
) -> Vec<O> {
    let strips = rayon::current_num_threads().min(height / MIN_STRIP_ROWS);
    solve_owned_in(width, height, dx, dy, cost, sources, strips, STRIP_BATCH)
}

/// `solve_owned` in `strips` strips (one or none: on this thread) that
/// look at each other's messages every `batch` cells.
#[allow(clippy::too_many_arguments)]
pub(super) fn solve_owned_in<R: Real, C: Copy + Send + Sync + Into<R>, O: Real>(
    width: usize,
    height: usize,
    dx: f64,
    dy: f64,
    cost: Vec<C>,
    sources: &[Source<R>],
    strips: usize,
    batch: usize,
) -> Vec<O> {
    assert_eq!(cost.len(), width * height, "cost raster size");
    if strips > 1 && height >= strips {
        return solve_strips(width, height, dx, dy, cost, sources, strips, batch);
    }
    let st = padded(&cost, width, height);
    let heap = BucketQueue::with_scale(bucket_scale_par(&cost, dx, dy));
    drop(cost);
    let g = CostGrid {
        width,
        height,
        dx,
        dy,
        cost: &[],
    };
    let acc = solve_padded(
        &g,
        st,
        None,
        || sources.iter().copied(),
        None,
        heap,
        &|_| {},
    );
    acc.into_iter().map(|v| O::from_f64(v.to_f64())).collect()
}

/// Accumulated cost from cells that start at given costs (`start` of each
/// cell; INFINITY for cells that are not sources), as `solve`.
pub fn solve_from(
    g: &CostGrid,
    extra: Option<(&ExtraEdges, EdgeWeights)>,
    start: impl Fn(usize) -> f32,
) -> Vec<f32> {
    assert_eq!(g.cost.len(), g.width * g.height, "cost raster size");
    let st = padded(g.cost, g.width, g.height);
    // The sources made as the solver reads them: a start for every cell
    // of a large grid would otherwise be held twice (12 B a cell).
    let sources = || {
        (0..g.cost.len()).filter_map(|i| {
            let c = start(i);
            (c.is_finite() && c >= 0.0).then_some(Source {
                cell: i as u32,
                cost: c,
                label: 0,
            })
        })
    };
    // (A radix heap: the sources are many, at costs spread over the whole
    // range, which a bucket queue would hold beyond its ring.)
    solve_padded(g, st, extra, sources, None, RadixHeap::default(), &|_| {})
}

/// Copy costs into a grid padded with a ring of impassable cells, so the hot
/// loop needs no bounds tests and no division to find a cell's column. Each
/// cell holds (cost, accumulated cost) side by side, so a relaxation touches
/// one cache line.
pub(super) fn padded<R: Real, C: Copy + Into<R>>(cost: &[C], w: usize, h: usize) -> Vec<[R; 2]> {
    let pw = w + 2;
    let n = pw * (h + 2);
    let mut st: Vec<[R; 2]> = Vec::with_capacity(n);
    huge_pages(&st);
    st.resize(n, [R::NAN, R::INFINITY]);
    for r in 0..h {
        let (dst, src) = ((r + 1) * pw + 1, r * w);
        for c in 0..w {
            st[dst + c][0] = cost[src + c].into();
        }
    }
    st
}

/// Ask the kernel to back `v`'s allocation with 2 MB pages (where the
/// system allows it, as Linux's transparent huge pages in `madvise` mode
/// do) before it is first touched: the solve visits cells in cost order,
/// all over a grid of hundreds of megabytes, and with 4 kB pages nearly
/// every step misses the TLB, and each page's first touch faults. A hint:
/// no bit of any result depends on it.
pub(super) fn huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < 4 * HUGE {
            return;
        }
        let start = v.as_ptr() as usize;
        let (lo, hi) = (start.next_multiple_of(HUGE), (start + bytes) / HUGE * HUGE);
        if hi > lo {
            // SAFETY: [lo, hi) lies inside the vector's own allocation, and
            // MADV_HUGEPAGE changes how it is backed, never its contents.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// `sources` gives the sources, as often as asked (twice with labels): a
/// slice's, or ones made on the fly (`solve_from`, millions of them).
/// `heap` is the queue: a `RadixHeap` with labels (ties go to the first
/// label to arrive, which depends on the order).
pub(super) fn solve_padded<R: Real, I: Iterator<Item = Source<R>>, Q: Queue<R>>(
    g: &CostGrid,
    mut st: Vec<[R; 2]>,
    extra: Option<(&ExtraEdges, EdgeWeights<R>)>,
    sources: impl Fn() -> I,
    labels: Option<&mut [u16]>,
    mut heap: Q,
    tick: &dyn Fn(u64),
) -> Vec<R> {
    let (w, h) = (g.width, g.height);
    let n = w * h;
    let pw = w + 2;
    let pad = |i: usize| (i / w + 1) * pw + i % w + 1;
    let padded_extra = extra.map(|(ex, wt)| {
        let ends = ex
            .ends
            .iter()
            .map(|&(a, b)| (pad(a as usize) as u32, pad(b as usize) as u32))
            .collect();
        (ExtraEdges::new(st.len(), ends), wt)
    });
    for s in sources() {
        let c = s.cell as usize;
        if c < n && s.cost >= R::ZERO {
            lower(&mut st, &mut heap, pad(c), s.cost);
        }
    }
    let extra_ref = padded_extra.as_ref().map(|(ex, wt)| (ex, *wt));
    match labels {
        Some(l) => {
            let mut pl = vec![u16::MAX; st.len()];
            for s in sources() {
                let c = s.cell as usize;
                if c < n && st[pad(c)][1] == s.cost && pl[pad(c)] == u16::MAX {
                    pl[pad(c)] = s.label;
                }
            }
            run_padded_counted(
                pw,
                Steps::new(g.dx, g.dy),
                extra_ref,
                &mut st,
                &mut heap,
                &mut pl[..],
                tick,
            );
            for (i, v) in l.iter_mut().enumerate() {
                *v = pl[pad(i)];
            }
        }
        None => run_padded_counted(
            pw,
            Steps::new(g.dx, g.dy),
            extra_ref,
            &mut st,
            &mut heap,
            NoLabels,
            tick,
        ),
    }
    let mut acc = Vec::with_capacity(n);
    for r in 0..h {
        let src = (r + 1) * pw + 1;
        acc.extend(st[src..src + w].iter().map(|p| p[1]));
    }
    acc
}

/// The full solver's loop, over a padded interleaved grid (see `solve`),
/// in rounds of about a million cells taken from the queue, calling `tick`
/// with each round's count (the loop is only paused and resumed, so the
/// bits do not depend on it). Its arithmetic is that of `run`, step for
/// step, so both give the same bits.
pub(super) fn run_padded_counted<R: Real, L: LabelSink, Q: Queue<R>>(
    pw: usize,
    steps: Steps<R>,
    extra: Option<(&ExtraEdges, EdgeWeights<R>)>,
    st: &mut [[R; 2]],
    heap: &mut Q,
    mut labels: L,
    tick: &dyn Fn(u64),
) {
    const ROUND: usize = 1 << 20;
    while !run_padded_for(pw, &steps, extra, st, heap, &mut labels, ROUND) {
        tick(ROUND as u64);
    }
}

/// The solver's loop for at most `budget` cells taken from the queue; true when
/// the queue is empty.
pub(super) fn run_padded_for<R: Real, L: LabelSink, Q: Queue<R>>(
    pw: usize,
    steps: &Steps<R>,
    extra: Option<(&ExtraEdges, EdgeWeights<R>)>,
    st: &mut [[R; 2]],
    heap: &mut Q,
    labels: &mut L,
    budget: usize,
) -> bool {
    let offsets: [isize; 8] = std::array::from_fn(|s| steps.dr[s] * pw as isize + steps.dc[s]);
    let mut left = budget;
    loop {
        if left == 0 {
            return false;
        }
        left -= 1;
        let Some((cu, u)) = heap.pop() else {
            return true;
        };
        let ui = u as usize;
        // Dijkstra here is bound by memory latency: ask for the next cell's
        // three rows of neighbours while this one is relaxed.
        if let Some(next) = heap.next_cell() {
            prefetch(st, next as usize, pw);
        }
        let [fu, au] = st[ui];
        if cu > au {
            continue; // stale entry
        }
        if passable(fu) {
            // A passable cell is never on the padding ring, so all 8
            // neighbours are inside the padded array.
            for (&off, &half) in offsets.iter().zip(&steps.half) {
                let vi = (ui as isize + off) as usize;
                // SAFETY: vi is a neighbour of a non-ring cell of the padded
                // grid (see above), hence in bounds.
                let [fv, av] = unsafe { *st.get_unchecked(vi) };
                if !passable(fv) {
                    continue;
                }
                let nc = cu + step_weight(fu, fv, half);
                if nc < av {
                    unsafe { st.get_unchecked_mut(vi)[1] = nc };
                    labels.copy(ui, vi);
                    heap.push(nc, vi as u32);
                }
            }
        }
        if let Some((ex, wt)) = &extra {
            for &(v, id) in ex.of(u) {
                let nc = cu + wt.get(id);
                let vi = v as usize;
                if nc < st[vi][1] {
                    st[vi][1] = nc;
                    labels.copy(ui, vi);
                    heap.push(nc, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// The counted solve (the accessibility stage's, paused every million
    /// cells for the progress bar) gives `solve`'s bits and labels, and
    /// ticks at least once per million cells of a 1500 x 800 grid.
    #[test]
    fn counted_solve_equals_solve_and_ticks() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let (w, h) = (1500, 800);
        let cost = random_costs(&mut rng, w * h, &[f32::NAN], 20, -1.0..1.5);
        let sources = [
            src(17),
            src((w * h / 2 + 300) as u32),
            src((w * h - 5) as u32),
        ];
        let g = grid(w, h, &cost);
        let mut want_labels = vec![0u16; w * h];
        let want = solve(&g, None, &sources, Some(&mut want_labels));
        let ticked = std::cell::Cell::new(0u64);
        let mut labels = vec![0u16; w * h];
        let got = solve_counted(&g, None, &sources, Some(&mut labels), &|k| {
            ticked.set(ticked.get() + k)
        });
        assert_same_bits(&got, &want, 4);
        assert_eq!(labels, want_labels);
        assert!(ticked.get() >= 1 << 20, "ticked {}", ticked.get());
    }

    #[test]
    fn uniform_5x5_from_the_centre_matches_hand_values() {
        let cost = vec![1f32; 25];
        let acc = solve(&grid(5, 5, &cost), None, &[src(12)], None);
        let s = std::f32::consts::SQRT_2;
        // Straight steps cost 1 each; diagonals sqrt(2); knight-type cells
        // take one diagonal and one straight step.
        #[rustfmt::skip]
        let want = [
            2.0 * s, 1.0 + s, 2.0, 1.0 + s, 2.0 * s,
            1.0 + s, s,       1.0, s,       1.0 + s,
            2.0,     1.0,     0.0, 1.0,     2.0,
            1.0 + s, s,       1.0, s,       1.0 + s,
            2.0 * s, 1.0 + s, 2.0, 1.0 + s, 2.0 * s,
        ];
        for (i, (a, b)) in acc.iter().zip(want).enumerate() {
            assert!((a - b).abs() < 1e-6, "cell {i}: {a} vs {b}");
        }
    }

    #[test]
    fn step_cost_is_the_mean_of_the_two_cells() {
        // 3x1: costs 1, 3, 5; from the west cell: (1+3)/2 = 2, then (3+5)/2 = 4.
        let cost = vec![1f32, 3.0, 5.0];
        let acc = solve(&grid(3, 1, &cost), None, &[src(0)], None);
        assert_eq!(acc, vec![0.0, 2.0, 6.0]);
        // Cell size scales the step: dx = 100.
        let g = CostGrid {
            dx: 100.0,
            ..grid(3, 1, &cost)
        };
        assert_eq!(solve(&g, None, &[src(0)], None), vec![0.0, 200.0, 600.0]);
    }

    #[test]
    fn a_barrier_forces_the_way_round() {
        // 3x3 with the middle column impassable except the bottom cell.
        let nan = f32::NAN;
        #[rustfmt::skip]
        let cost = vec![
            1.0, nan, 1.0,
            1.0, nan, 1.0,
            1.0, 1.0, 1.0,
        ];
        let acc = solve(&grid(3, 3, &cost), None, &[src(0)], None);
        let s = std::f32::consts::SQRT_2;
        // (0,0) -> (0,1) 1 -> (1,2) diag s -> (2,1) diag s -> (2,0) 1.
        assert!((acc[2] - (2.0 + 2.0 * s)).abs() < 1e-6, "{}", acc[2]);
        assert!((acc[7] - (1.0 + s)).abs() < 1e-6);
        assert!(acc[1].is_infinite() && acc[4].is_infinite());
    }

    #[test]
    fn nodata_holes_are_unreachable_and_two_sources_split_the_grid() {
        let mut cost = vec![1f32; 7];
        cost[3] = -1.0; // a hole
        let mut labels = vec![0u16; 7];
        let acc = solve(
            &grid(7, 1, &cost),
            None,
            &[src(0), src(6)],
            Some(&mut labels),
        );
        assert_eq!(acc, vec![0.0, 1.0, 2.0, f32::INFINITY, 2.0, 1.0, 0.0]);
        assert_eq!(labels, vec![0, 0, 0, u16::MAX, 6, 6, 6]);
    }

    #[test]
    fn extra_edges_join_distant_cells() {
        let cost = vec![1f32; 10];
        let ex = ExtraEdges::new(10, vec![(0, 9)]);
        let w = [0.5f32];
        let acc = solve(
            &grid(10, 1, &cost),
            Some((
                &ex,
                EdgeWeights {
                    base: &w,
                    over: &[],
                },
            )),
            &[src(0)],
            None,
        );
        assert_eq!(acc[9], 0.5);
        assert_eq!(acc[8], 1.5);
        assert_eq!(acc[5], 4.5);
    }
}
