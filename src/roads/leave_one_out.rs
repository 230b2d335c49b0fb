//! The joint re-check's engine: the effects of a set of upgrades together
//! and of the set less each member in turn, re-settling only the cells
//! each member changes.

use std::collections::HashMap;

use rayon::prelude::*;

use super::*;
use crate::access::Access;
use crate::kernels::cost_distance::{Gate, Scratch};

/// Scratch copies of one travel-time field shared by rayon's workers: taken
/// for a task and given back, so there are about as many as workers
/// (rayon's `map_init` would copy the field once per split).
pub(super) struct ScratchPool<'f> {
    pub(super) field: &'f [f32],
    pub(super) free: std::sync::Mutex<Vec<Scratch>>,
}

impl<'f> ScratchPool<'f> {
    pub(super) fn new(field: &'f [f32]) -> ScratchPool<'f> {
        ScratchPool {
            field,
            free: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        let taken = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut scratch = taken.unwrap_or_else(|| Scratch::new(self.field));
        let out = f(&mut scratch);
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(scratch);
        out
    }
}

/// Cells with a travel time, or edges with a weight, as (index, value).
pub(super) type Changes = Vec<(u32, f32)>;

/// The upgrades of `set` made together: the cells inside the area of
/// interest whose travel time drops, with their exact new times (gated:
/// see `Appraiser::upgrade`).
pub(super) fn upgrade_together(a: &Appraiser, set: &[usize], jobs: &[(Vec<u32>, f64)]) -> Changes {
    let over = a.access.overrides(&upgrades_of(set, jobs));
    a.access
        .upgrade_with(&over, a.gate(), &mut a.access.scratch())
}

/// A coarse map of the grid: one bit per tile of `TILE`×`TILE` cells.
#[derive(Debug, Clone)]
pub(super) struct Tiles {
    pub(super) width: usize,
    pub(super) tiles_x: usize,
    pub(super) tiles_y: usize,
    pub(super) bits: Vec<u64>,
}

impl Tiles {
    const TILE: usize = 16;

    pub(super) fn new(width: usize, height: usize) -> Tiles {
        let (tiles_x, tiles_y) = (width.div_ceil(Self::TILE), height.div_ceil(Self::TILE));
        Tiles {
            width,
            tiles_x,
            tiles_y,
            bits: vec![0; (tiles_x * tiles_y).div_ceil(64)],
        }
    }

    #[inline]
    pub(super) fn mark(&mut self, cell: u32) {
        let c = cell as usize;
        let t = (c / self.width / Self::TILE) * self.tiles_x + (c % self.width) / Self::TILE;
        self.bits[t / 64] |= 1u64 << (t % 64);
    }

    pub(super) fn get(&self, tx: usize, ty: usize) -> bool {
        let t = ty * self.tiles_x + tx;
        self.bits[t / 64] & (1u64 << (t % 64)) != 0
    }

    /// Each marked tile with its eight neighbours (a cell's grid
    /// neighbours lie in its tile or the next).
    pub(super) fn dilated(&self) -> Tiles {
        let mut out = Tiles {
            bits: vec![0; self.bits.len()],
            ..*self
        };
        for ty in 0..self.tiles_y {
            for tx in 0..self.tiles_x {
                if !self.get(tx, ty) {
                    continue;
                }
                for y in ty.saturating_sub(1)..(ty + 2).min(self.tiles_y) {
                    for x in tx.saturating_sub(1)..(tx + 2).min(self.tiles_x) {
                        let t = y * self.tiles_x + x;
                        out.bits[t / 64] |= 1u64 << (t % 64);
                    }
                }
            }
        }
        out
    }

    pub(super) fn meets(&self, other: &Tiles) -> bool {
        self.bits.iter().zip(&other.bits).any(|(a, b)| a & b != 0)
    }
}

/// What a leave-one-out keeps for the next one over a slightly different
/// set (the portfolio's re-checks swap a few segments): the set, its
/// travel times, and each item's marginal effects with the tiles its
/// computation read. An item's marginal is reused when none of those tiles
/// holds a cell whose time differs between the two sets or an end of an
/// edge whose weight does; it is then what a new computation would give,
/// bit for bit (the computation reads nothing else: `Scratch::judged`).
#[derive(Debug, Default)]
pub struct LooMemo {
    pub(super) last: Option<LooLast>,
    /// Each item's expected work (cells), so the largest start first.
    pub(super) sizes: HashMap<usize, usize>,
    /// Every set already computed, with its answer: the portfolio's
    /// re-selection can swap two segments out and back in (a cycle of two
    /// sets), and a set met again costs nothing.
    pub(super) done: Vec<(Vec<usize>, Effects, Vec<Effects>)>,
    /// Marginals reused and computed, over the memo's life.
    pub reused: usize,
    pub computed: usize,
    /// Moved on by one as each member's marginal is done (reused ones
    /// too), when set.
    pub bar: Option<indicatif::ProgressBar>,
}

impl LooMemo {
    /// The cells that `set` upgraded together makes faster than today, with
    /// their times, in cell order (inside the area of interest, what
    /// `upgrade_together` gives), when the last leave-one-out was of `set`:
    /// read from its travel times instead of solving again.
    pub(super) fn faster_than_today(&self, a: &Appraiser, set: &[usize]) -> Option<Changes> {
        let last = self
            .last
            .as_ref()
            .filter(|l| l.set == set && !l.field.is_empty())?;
        Some(faster_than(&last.field, &a.access.travel_min).collect())
    }

    /// Expect item `i`'s marginal to take about `cells` cells of work (it
    /// then starts before smaller ones); each computation records its own.
    pub fn expect(&mut self, i: usize, cells: usize) {
        self.sizes.insert(i, cells);
    }
}

/// `f` of each of `0..n`, run on every worker, each taking the next item
/// of `order` as soon as it is free: the largest first, so no worker is
/// left with a long item at the end. Results by item.
pub(super) fn largest_first<T: Send>(order: &[usize], f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let parts: Vec<Vec<(usize, T)>> = (0..rayon::current_num_threads())
        .into_par_iter()
        .with_max_len(1)
        .map(|_| {
            let mut mine = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= order.len() {
                    break;
                }
                mine.push((order[k], f(order[k])));
            }
            mine
        })
        .collect();
    let mut all: Vec<(usize, T)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|x| x.0);
    all.into_iter().map(|x| x.1).collect()
}

/// An item's marginal effects, with the tiles its computation read and its
/// size in cells (None when reused from the last call).
pub(super) type Marginal = (Option<(Tiles, usize)>, Effects);

#[derive(Debug)]
pub(super) struct LooLast {
    pub(super) set: Vec<usize>,
    pub(super) field: Vec<f32>,
    pub(super) items: HashMap<usize, (Tiles, Effects)>,
}

/// Edge `e`'s weight with the overrides `over` made.
pub(super) fn weight_in(acc: &Access, over: &[(u32, f32)], e: u32) -> f32 {
    match over.binary_search_by_key(&e, |x| x.0) {
        Ok(i) => over[i].1,
        Err(_) => acc.weights[e as usize],
    }
}

/// The cells of `field` faster than in `base`, with their times, in cell
/// order.
fn faster_than<'f>(field: &'f [f32], base: &'f [f32]) -> impl Iterator<Item = (u32, f32)> + 'f {
    field
        .iter()
        .zip(base)
        .enumerate()
        .filter(|(_, (t, b))| t < b)
        .map(|(c, (t, _))| (c as u32, *t))
}

/// The upgrades of `set`, as `Access::overrides` takes them.
pub(super) fn upgrades_of<'j>(set: &[usize], jobs: &'j [(Vec<u32>, f64)]) -> Vec<(&'j [u32], f64)> {
    set.iter()
        .map(|&i| (jobs[i].0.as_slice(), jobs[i].1))
        .collect()
}

/// The travel times with every upgrade of `set` made, from those of the
/// last set: the upgrades it drops taken out (decremental), then those it
/// adds made (incremental). Both updates are exact, so this equals a solve
/// from scratch bit for bit; it touches only the cells the change reaches.
pub(super) fn field_from(
    a: &Appraiser,
    last: &LooLast,
    set: &[usize],
    jobs: &[(Vec<u32>, f64)],
) -> Vec<f32> {
    let acc = a.access;
    let kept: Vec<usize> = set
        .iter()
        .copied()
        .filter(|i| last.set.contains(i))
        .collect();
    let over_last = acc.overrides(&upgrades_of(&last.set, jobs));
    let over_kept = acc.overrides(&upgrades_of(&kept, jobs));
    let weight = |o: &[(u32, f32)], e: u32| weight_in(acc, o, e);
    let raised: Vec<u32> = over_last
        .iter()
        .map(|x| x.0)
        .filter(|&e| weight(&over_last, e) != weight(&over_kept, e))
        .collect();
    let mut scratch = Scratch::new(&last.field);
    let out = acc.raise(
        &last.field,
        &over_last,
        &over_kept,
        &raised,
        Gate(None),
        &mut scratch,
    );
    let mut mid = scratch.into_acc();
    for (c, t) in out {
        mid[c as usize] = t;
    }
    let mut weights = acc.weights.clone();
    for &(e, w) in &over_kept {
        weights[e as usize] = w;
    }
    let over = acc.overrides(&upgrades_of(set, jobs));
    let mut scratch = Scratch::new(&mid);
    let out = acc.upgrade_on(&mid, &weights, &over, &mut scratch);
    drop(mid);
    let mut field = scratch.into_acc();
    for (c, t) in out {
        field[c as usize] = t;
    }
    field
}

/// The effects of upgrading all of `set`, and each item's marginal effects
/// within it: entry k is the set's effects minus those of every upgrade of
/// `set` but the k-th. The set is upgraded once; then, for each item, only the cells
/// whose travel time depends on it are found and re-settled with it taken
/// out (`Access::raise`, exact), and those cells are summed twice: at
/// their times with it and without it. Items run in parallel.
pub fn leave_one_out(
    a: &Appraiser,
    set: &[usize],
    jobs: &[(Vec<u32>, f64)],
) -> (Effects, Vec<Effects>) {
    leave_one_out_with(a, set, jobs, &mut LooMemo::default())
}

/// `leave_one_out`, reusing what `memo` kept of the last call where it
/// still holds, and keeping this call's for the next.
pub fn leave_one_out_with(
    a: &Appraiser,
    set: &[usize],
    jobs: &[(Vec<u32>, f64)],
    memo: &mut LooMemo,
) -> (Effects, Vec<Effects>) {
    if set.is_empty() {
        return (Effects::default(), Vec::new());
    }
    if let Some((_, joint, marginals)) = memo.done.iter().find(|d| d.0 == set) {
        memo.reused += set.len();
        if let Some(b) = &memo.bar {
            b.inc(set.len() as u64);
        }
        return (*joint, marginals.clone());
    }
    let acc = a.access;
    let g = &a.inp.grid;
    let base = &acc.travel_min;
    // The whole field (ungated): finding the cells that depend on an item
    // reads the times around them, inside the area of interest or not.
    let mut last = memo.last.take();
    let over = acc.overrides(&upgrades_of(set, jobs));
    let field = match &last {
        Some(l) => field_from(a, l, set, jobs),
        None => {
            let mut field = base.clone();
            for (c, t) in acc.upgrade_with(&over, Gate(None), &mut acc.scratch()) {
                field[c as usize] = t;
            }
            field
        }
    };
    // What the set's times do to each forest cell's loss, computed once
    // for the set's sum and every item's.
    let shares = a.shares_of_field(&field);
    // The cells faster than today, in cell order (what the upgrade gives):
    // summed beside the marginals below.
    let joint = || {
        let [eff] = a.effects_of_many_known(
            faster_than(&field, base).map(|(c, t)| (c, [Some(t)])),
            [Some(&shares)],
        );
        eff
    };
    // Where the last set's computations no longer hold: cells whose time
    // differs, ends of edges of the segments in one set but not the other.
    let stale = last.as_ref().map(|l| {
        let mut t = Tiles::new(g.width, g.height);
        for (c, (x, y)) in l.field.iter().zip(&field).enumerate() {
            if x.to_bits() != y.to_bits() {
                t.mark(c as u32);
            }
        }
        for i in l
            .set
            .iter()
            .filter(|i| !set.contains(i))
            .chain(set.iter().filter(|i| !l.set.contains(i)))
        {
            for &e in &jobs[*i].0 {
                let (x, y) = acc.roads.extra.ends[e as usize];
                t.mark(x);
                t.mark(y);
            }
        }
        t
    });
    // The last set's times are read no more (4 B a cell).
    if let Some(l) = last.as_mut() {
        l.field = Vec::new();
    }
    let pool = ScratchPool::new(&field);
    let bar = memo.bar.as_ref();
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(memo.sizes.get(&set[k]).copied().unwrap_or(0)));
    let (joint, marginals): (Effects, Vec<Marginal>) = rayon::join(joint, || {
        largest_first(&order, |k| {
            if let (Some(l), Some(stale)) = (&last, &stale) {
                if let Some((tiles, m)) = l.items.get(&set[k]) {
                    if !tiles.meets(stale) {
                        if let Some(b) = bar {
                            b.inc(1);
                        }
                        return (None, *m);
                    }
                }
            }
            let rest: Vec<usize> = set
                .iter()
                .enumerate()
                .filter(|(m, _)| *m != k)
                .map(|(_, &i)| i)
                .collect();
            let over_after = acc.overrides(&upgrades_of(&rest, jobs));
            let weight = |o: &[(u32, f32)], e: u32| weight_in(acc, o, e);
            let raised: Vec<u32> = jobs[set[k]]
                .0
                .iter()
                .copied()
                .filter(|&e| weight(&over, e) != weight(&over_after, e))
                .collect();
            let (out, tiles) = pool.with(|scratch| {
                let out = acc.raise(&field, &over, &over_after, &raised, a.gate(), scratch);
                // The tiles this computation read (see `LooMemo`).
                let mut t = Tiles::new(g.width, g.height);
                for &c in scratch.judged() {
                    t.mark(c);
                    for &(x, _) in acc.roads.extra.of(c) {
                        t.mark(x);
                    }
                }
                for &e in &jobs[set[k]].0 {
                    let (x, y) = acc.roads.extra.ends[e as usize];
                    t.mark(x);
                    t.mark(y);
                }
                (out, t.dilated())
            });
            // The cells whose time the item changes, at their times with it
            // and without it (each counted only where faster than today).
            // One pass over them for both sums.
            let faster = |c: u32, t: f32| (t < base[c as usize]).then_some(t);
            let changes = out
                .iter()
                .copied()
                .filter(|&(c, t)| t != field[c as usize])
                .map(|(c, t)| (c, [faster(c, field[c as usize]), faster(c, t)]));
            let [with, without] = a.effects_of_many_known(changes, [Some(&shares), None]);
            if let Some(b) = bar {
                b.inc(1);
            }
            (Some((tiles, out.len())), with.minus(&without))
        })
    });
    drop(pool);
    let mut items = HashMap::new();
    for (k, (tiles, m)) in marginals.iter().enumerate() {
        match tiles {
            Some((t, cells)) => {
                memo.computed += 1;
                memo.sizes.insert(set[k], *cells);
                items.insert(set[k], (t.clone(), *m));
            }
            None => {
                memo.reused += 1;
                if let Some(kept) = last.as_ref().and_then(|l| l.items.get(&set[k])) {
                    items.insert(set[k], kept.clone());
                }
            }
        }
    }
    let marginals: Vec<Effects> = marginals.into_iter().map(|(_, m)| m).collect();
    memo.done.push((set.to_vec(), joint, marginals.clone()));
    drop(last);
    memo.last = Some(LooLast {
        set: set.to_vec(),
        field,
        items,
    });
    (joint, marginals)
}
