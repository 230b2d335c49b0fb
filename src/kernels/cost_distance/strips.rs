//! The strip-parallel full solve: the grid cut into horizontal strips, each
//! relaxed by its own thread and queue, steps across strip edges sent as
//! messages; the same bits as one loop.

use super::*;

/// Strips of fewer rows than this are not worth a thread.
pub(super) const MIN_STRIP_ROWS: usize = 64;
/// Cells a strip's loop takes from its queue between two looks at its
/// edges and its messages: about 15 ms of work. (Each message below the
/// queue's bucket rebuilds the queue: at 4000², batches of 2^11, 2^14,
/// 2^16, 2^18 and 2^20 cells took 1.63, 1.37, 1.29, 1.27 and 1.26 s;
/// waiting for an empty queue, 1.49 s.)
pub(super) const STRIP_BATCH: usize = 1 << 18;

/// One horizontal strip of the grid for `solve_strips`: its rows, padded
/// with impassable cells all round as `padded` does (the rows of the
/// strips beside it included), with its own queue.
pub(super) struct Strip<R> {
    pub(super) rows: usize,
    pub(super) st: Vec<[R; 2]>,
    pub(super) queue: BucketQueue<R>,
    /// Its first and its last row, where it meets the strip above and the
    /// strip below (none at the grid's edges).
    pub(super) edges: [Option<StripEdge<R>>; 2],
}

/// Where a strip meets another: the costs of the other's row beside it,
/// the least cost sent to each of that row's cells, and the accumulated
/// costs of this strip's own edge row when it was last looked at.
pub(super) struct StripEdge<R> {
    pub(super) beyond: Vec<R>,
    pub(super) sent: Vec<R>,
    pub(super) seen: Vec<R>,
    /// Padded index in the other strip of its row's first cell.
    pub(super) their_row: usize,
}

impl<R: Real> Strip<R> {
    /// The steps out of this strip's edge rows that lower a cost beyond it
    /// below what was sent before, as messages (padded cell in the other
    /// strip, cost) for the strip above (`out[0]`) and below (`out[1]`).
    /// Each is computed as the loop would relax it, so the cost is the
    /// same f32 sum.
    pub(super) fn look_at_edges(
        &mut self,
        pw: usize,
        steps: &Steps<R>,
        out: &mut [Vec<(u32, R)>; 2],
    ) {
        let w = pw - 2;
        for (e, edge) in self.edges.iter_mut().enumerate() {
            let Some(edge) = edge else { continue };
            let (row, dirs) = if e == 0 { (1, 0..3) } else { (self.rows, 5..8) };
            let first = row * pw + 1;
            for col in 0..w {
                let [fu, au] = self.st[first + col];
                if au.key() == edge.seen[col].key() {
                    continue;
                }
                edge.seen[col] = au;
                if !passable(fu) {
                    continue;
                }
                for s in dirs.clone() {
                    let c = col as isize + steps.dc[s];
                    if c < 0 || c >= w as isize {
                        continue;
                    }
                    let c = c as usize;
                    let fv = edge.beyond[c];
                    if !passable(fv) {
                        continue;
                    }
                    let nc = au + step_weight(fu, fv, steps.half[s]);
                    if nc < edge.sent[c] {
                        edge.sent[c] = nc;
                        out[e].push(((edge.their_row + c) as u32, nc));
                    }
                }
            }
        }
    }
}

/// The messages between strips and who is waiting for them.
pub(super) struct Exchange<R> {
    pub(super) state: std::sync::Mutex<ExchangeState<R>>,
    pub(super) wake: std::sync::Condvar,
}

pub(super) struct ExchangeState<R> {
    pub(super) inbox: Vec<Vec<(u32, R)>>,
    /// Strips with an empty queue waiting for messages.
    pub(super) idle: usize,
    pub(super) done: bool,
}

impl<R> Exchange<R> {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, ExchangeState<R>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Ends the exchange if a strip's loop panics, so the others do not wait
/// for it for ever (the panic then reaches the caller).
pub(super) struct EndOnPanic<'a, R>(&'a Exchange<R>);

impl<R> Drop for EndOnPanic<'_, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().done = true;
            self.0.wake.notify_all();
        }
    }
}

/// `solve_owned` on `n` threads: the grid cut into `n` horizontal strips,
/// each relaxed by its own loop and queue. After each `batch` cells a
/// strip sends the steps out of its edge rows that lower a cost in the
/// strip beside it, and takes in the ones sent to it; it waits when its
/// queue is empty, and all stop when every queue and every inbox is. No
/// step is left that lowers any cost, and every cost is a path's f32 sum
/// computed as the single loop does, so this is the fixpoint `run`
/// describes: the same bits as one loop, whatever the timing. Memory is
/// that of one loop plus a few rows.
#[allow(clippy::too_many_arguments)]
pub(super) fn solve_strips<R: Real, C: Copy + Send + Sync + Into<R>, O: Real>(
    w: usize,
    h: usize,
    dx: f64,
    dy: f64,
    cost: Vec<C>,
    sources: &[Source<R>],
    n: usize,
    batch: usize,
) -> Vec<O> {
    let pw = w + 2;
    let steps = Steps::<R>::new(dx, dy);
    use rayon::prelude::*;
    // (Each strip copied on its own thread: its memory is then first
    // touched there, and the copies go no slower than memory allows.)
    let scale = bucket_scale_par(&cost, dx, dy);
    let bounds: Vec<usize> = (0..=n).map(|k| k * h / n).collect();
    let mut strips: Vec<Strip<R>> = (0..n)
        .into_par_iter()
        .map(|k| {
            let (r0, r1) = (bounds[k], bounds[k + 1]);
            let rows = r1 - r0;
            let edge = |row: usize, their_row: usize| StripEdge {
                beyond: cost[row * w..(row + 1) * w]
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                sent: vec![R::INFINITY; w],
                seen: vec![R::INFINITY; w],
                their_row: their_row * pw + 1,
            };
            Strip {
                rows,
                st: padded(&cost[r0 * w..r1 * w], w, rows),
                queue: BucketQueue::with_scale(scale),
                edges: [
                    // The strip above's last row, and the strip below's first.
                    (k > 0).then(|| edge(r0 - 1, bounds[k] - bounds[k - 1])),
                    (k + 1 < n).then(|| edge(r1, 1)),
                ],
            }
        })
        .collect();
    drop(cost);
    for s in sources {
        let c = s.cell as usize;
        if c >= w * h || s.cost < R::ZERO {
            continue;
        }
        let (r, col) = (c / w, c % w);
        let k = bounds.partition_point(|&b| b <= r) - 1;
        let strip = &mut strips[k];
        let i = (r - bounds[k] + 1) * pw + col + 1;
        lower(&mut strip.st, &mut strip.queue, i, s.cost);
    }
    let ex = Exchange {
        state: std::sync::Mutex::new(ExchangeState {
            inbox: vec![Vec::new(); n],
            idle: 0,
            done: false,
        }),
        wake: std::sync::Condvar::new(),
    };
    let work = |k: usize, strip: &mut Strip<R>| {
        let _end = EndOnPanic(&ex);
        let mut out: [Vec<(u32, R)>; 2] = Default::default();
        loop {
            let emptied = run_padded_for(
                pw,
                &steps,
                None,
                &mut strip.st,
                &mut strip.queue,
                &mut NoLabels,
                batch.max(1),
            );
            strip.look_at_edges(pw, &steps, &mut out);
            let inbox = {
                let mut x = ex.lock();
                let sent = !out[0].is_empty() || !out[1].is_empty();
                if !out[0].is_empty() {
                    x.inbox[k - 1].append(&mut out[0]);
                }
                if !out[1].is_empty() {
                    x.inbox[k + 1].append(&mut out[1]);
                }
                if sent {
                    ex.wake.notify_all();
                }
                if emptied && x.inbox[k].is_empty() {
                    x.idle += 1;
                    loop {
                        if x.idle == n && x.inbox.iter().all(Vec::is_empty) {
                            x.done = true;
                            ex.wake.notify_all();
                        }
                        if x.done {
                            return;
                        }
                        if !x.inbox[k].is_empty() {
                            x.idle -= 1;
                            break;
                        }
                        x = ex.wake.wait(x).unwrap_or_else(|p| p.into_inner());
                    }
                }
                std::mem::take(&mut x.inbox[k])
            };
            if let Some(least) = inbox.iter().map(|m| m.1).reduce(R::min) {
                strip.queue.rewind_for(least);
            }
            for (i, c) in inbox {
                lower(&mut strip.st, &mut strip.queue, i as usize, c);
            }
        }
    };
    std::thread::scope(|sc| {
        let (first, rest) = strips.split_first_mut().expect("n > 1 strips");
        for (k, strip) in rest.iter_mut().enumerate() {
            let work = &work;
            sc.spawn(move || work(k + 1, strip));
        }
        work(0, first);
    });
    let mut acc = Vec::with_capacity(w * h);
    huge_pages(&acc);
    acc.resize(w * h, O::ZERO);
    let mut parts = Vec::with_capacity(n);
    let mut rest = &mut acc[..];
    for strip in &strips {
        let (part, more) = rest.split_at_mut(strip.rows * w);
        parts.push(part);
        rest = more;
    }
    parts
        .into_par_iter()
        .zip(strips.into_par_iter())
        .for_each(|(part, strip)| {
            for (r, row) in part.chunks_exact_mut(w).enumerate() {
                let src = (r + 1) * pw + 1;
                for (a, p) in row.iter_mut().zip(&strip.st[src..src + w]) {
                    *a = O::from_f64(p[1].to_f64());
                }
            }
        });
    acc
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn strips_give_the_bits_of_one_loop() {
        use rand::{Rng, SeedableRng};
        for seed in 0..60u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7000 + seed);
            let (w, h) = (rng.gen_range(1..30), rng.gen_range(2..60));
            let n = w * h;
            let cost = random_costs(&mut rng, n, &[f32::NAN, -1.0, 0.0], 12, -2.0..3.0);
            let (dx, dy) = (rng.gen_range(0.5..40.0), rng.gen_range(0.5..40.0));
            let sources: Vec<Source> = (0..rng.gen_range(1..5))
                .map(|_| Source {
                    cell: rng.gen_range(0..n) as u32,
                    cost: rng.gen_range(0.0f32..50.0),
                    label: 0,
                })
                .collect();
            let g = CostGrid {
                width: w,
                height: h,
                dx,
                dy,
                cost: &cost,
            };
            let want = solve(&g, None, &sources, None);
            for strips in [2, 3, 5, h] {
                for batch in [1, 5, 1 << 14] {
                    let got = solve_owned_in(w, h, dx, dy, cost.clone(), &sources, strips, batch);
                    assert_same_bits(&got, &want, seed * 1000 + strips as u64 * 10 + batch as u64);
                }
            }
        }
    }

    /// Summed in f64 (the `cost-distance` tool): strips give the bits of
    /// one loop, f32 costs widened give the bits of the same costs as f64,
    /// and the f32 result is each f64 sum rounded once.
    #[test]
    fn f64_sums_are_the_same_bits_in_strips_from_f32_costs_and_rounded_once() {
        use rand::{Rng, SeedableRng};
        for seed in 0..30u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9100 + seed);
            let (w, h) = (rng.gen_range(1..30), rng.gen_range(2..60));
            let n = w * h;
            let cost = random_costs(&mut rng, n, &[f32::NAN, -1.0, 0.0], 12, -2.0..3.0);
            let wide: Vec<f64> = cost.iter().map(|&c| c as f64).collect();
            let (dx, dy) = (rng.gen_range(0.5..40.0), rng.gen_range(0.5..40.0));
            let sources: Vec<Source<f64>> = (0..rng.gen_range(1..5))
                .map(|_| Source {
                    cell: rng.gen_range(0..n) as u32,
                    cost: rng.gen_range(0.0f64..50.0),
                    label: 0,
                })
                .collect();
            let want: Vec<f64> = solve_owned_in(w, h, dx, dy, wide.clone(), &sources, 1, 1 << 14);
            for strips in [2, 3, h] {
                for batch in [1, 7, 1 << 14] {
                    let got: Vec<f64> =
                        solve_owned_in(w, h, dx, dy, cost.clone(), &sources, strips, batch);
                    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "seed {seed} cell {i}");
                    }
                }
            }
            let narrow: Vec<f32> = solve_owned_in(w, h, dx, dy, cost.clone(), &sources, 2, 5);
            for (i, (a, b)) in narrow.iter().zip(&want).enumerate() {
                assert_eq!(a.to_bits(), (*b as f32).to_bits(), "seed {seed} cell {i}");
            }
        }
    }

    /// A cheap corridor that winds down and up the grid, crossing every
    /// strip edge 20 times, in dear ground, from a source at one end: its
    /// costs travel as messages back and forth, and arrive where the
    /// strip beside has gone far beyond them (its queue then starts again
    /// lower).
    #[test]
    fn strips_follow_a_corridor_across_their_edges() {
        let (w, h) = (40usize, 64usize);
        let mut cost = vec![50f32; w * h];
        for r in 0..h {
            for c in 0..w {
                // Down the even columns, joined to the next at the bottom
                // (column 4k + 1) or at the top (column 4k + 3).
                let on = c % 2 == 0 || r == if c % 4 == 1 { h - 1 } else { 0 };
                if on {
                    cost[r * w + c] = 0.01;
                }
            }
        }
        // Along the corridor, the far end costs 20 lengths of the grid at
        // 0.01 (about 13); straight across, it would cost about 50 a column.
        let along = solve(&grid(w, h, &cost), None, &[src(0)], None);
        assert!(
            along[w - 2] < 20.0,
            "the corridor is the way: {}",
            along[w - 2]
        );
        let sources = [
            Source {
                cell: 1,
                cost: 0.0,
                label: 0,
            },
            // Dear ground from the far corner reaches the middle first.
            Source {
                cell: (w * h - 1) as u32,
                cost: 0.0,
                label: 0,
            },
        ];
        let want = solve(&grid(w, h, &cost), None, &sources, None);
        for strips in [2, 4, 16, 64] {
            for batch in [1, 3, 100] {
                let got = solve_owned_in(w, h, 1.0, 1.0, cost.clone(), &sources, strips, batch);
                assert_same_bits(&got, &want, strips as u64 * 1000 + batch as u64);
            }
        }
    }
}
