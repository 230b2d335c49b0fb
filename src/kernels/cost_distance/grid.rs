//! The cost grid, its extra edges (roads) and their weights, and the step
//! between two neighbouring cells.

/// Cells and their costs per unit distance, row-major, row 0 at the north.
#[derive(Debug, Clone, Copy)]
pub struct CostGrid<'a> {
    pub width: usize,
    pub height: usize,
    /// Cell width and height in distance units.
    pub dx: f64,
    pub dy: f64,
    pub cost: &'a [f32],
}

/// Extra edges between cells in compressed adjacency form, looked up only for
/// cells flagged in a bitset (roads touch few cells).
#[derive(Debug, Clone, Default)]
pub struct ExtraEdges {
    /// One bit per cell: has extra edges.
    pub(super) flags: Vec<u64>,
    /// For each word of `flags`, the cells flagged in the words before it
    /// (so a flagged cell's rank is one popcount away).
    pub(super) rank: Vec<u32>,
    /// Sorted cells that have extra edges.
    pub(super) cells: Vec<u32>,
    /// offsets[k]..offsets[k+1] index `adj` for cells[k].
    pub(super) offsets: Vec<u32>,
    /// (neighbour cell, edge id).
    pub(super) adj: Vec<(u32, u32)>,
    /// Edge endpoints, by edge id.
    pub ends: Vec<(u32, u32)>,
}

impl ExtraEdges {
    /// Build from undirected edges (a, b) over a grid of `n` cells; edge id
    /// = index in `ends`.
    pub fn new(n: usize, ends: Vec<(u32, u32)>) -> ExtraEdges {
        let mut pairs: Vec<(u32, u32, u32)> = Vec::with_capacity(ends.len() * 2);
        for (id, &(a, b)) in ends.iter().enumerate() {
            pairs.push((a, b, id as u32));
            pairs.push((b, a, id as u32));
        }
        pairs.sort_unstable();
        let mut flags = vec![0u64; n.div_ceil(64)];
        let mut cells = Vec::new();
        let mut offsets = Vec::new();
        let mut adj = Vec::with_capacity(pairs.len());
        for (k, &(a, b, id)) in pairs.iter().enumerate() {
            if k == 0 || pairs[k - 1].0 != a {
                cells.push(a);
                offsets.push(adj.len() as u32);
                flags[a as usize / 64] |= 1u64 << (a % 64);
            }
            adj.push((b, id));
        }
        offsets.push(adj.len() as u32);
        let mut rank = Vec::with_capacity(flags.len());
        let mut before = 0u32;
        for w in &flags {
            rank.push(before);
            before += w.count_ones();
        }
        ExtraEdges {
            flags,
            rank,
            cells,
            offsets,
            adj,
            ends,
        }
    }

    /// The extra edges at `cell`: (neighbour cell, edge id).
    #[inline]
    pub fn of(&self, cell: u32) -> &[(u32, u32)] {
        let Some(&word) = self.flags.get(cell as usize / 64) else {
            return &[];
        };
        let bit = 1u64 << (cell % 64);
        if word & bit == 0 {
            return &[];
        }
        let k = (self.rank[cell as usize / 64] + (word & (bit - 1)).count_ones()) as usize;
        debug_assert_eq!(self.cells[k], cell);
        &self.adj[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Weights of extra edges: a base table with optional overrides (an upgrade).
#[derive(Debug, Clone, Copy)]
pub struct EdgeWeights<'a, R = f32> {
    pub base: &'a [R],
    /// (edge id, weight), sorted by edge id.
    pub over: &'a [(u32, R)],
}

impl<R: Real> EdgeWeights<'_, R> {
    #[inline]
    pub fn get(&self, id: u32) -> R {
        if !self.over.is_empty() {
            if let Ok(k) = self.over.binary_search_by_key(&id, |o| o.0) {
                return self.over[k].1;
            }
        }
        self.base[id as usize]
    }
}

/// The 8 grid steps, column and row offsets, in one order everywhere (step
/// 7 - s goes back).
pub(super) const DC: [isize; 8] = [-1, 0, 1, -1, 1, -1, 0, 1];
pub(super) const DR: [isize; 8] = [-1, -1, -1, 0, 0, 1, 1, 1];

/// The float type costs are held and summed in: `f32` for the pipeline
/// (half the memory, and its travel times need no more) and `f64` for the
/// `cost-distance` tool (as scikit-image and WhiteboxTools sum). Every
/// full solve is written once for both; the incremental updates are `f32`.
pub trait Real:
    Copy
    + PartialOrd
    + Send
    + Sync
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + 'static
{
    const INFINITY: Self;
    const NAN: Self;
    const ZERO: Self;
    const MAX: Self;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn is_finite(self) -> bool;
    fn min(self, other: Self) -> Self;
    /// The bits of a non-negative value, which order as the values do.
    fn key(self) -> u64;
    fn from_key(key: u64) -> Self;
    /// `self * scale` as a bucket index (saturating).
    fn bucket(self, scale: Self) -> u64;
}

macro_rules! real {
    ($t:ty, $bits:ty) => {
        impl Real for $t {
            const INFINITY: Self = <$t>::INFINITY;
            const NAN: Self = <$t>::NAN;
            const ZERO: Self = 0.0;
            const MAX: Self = <$t>::MAX;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            #[inline(always)]
            fn key(self) -> u64 {
                self.to_bits() as u64
            }
            #[inline(always)]
            fn from_key(key: u64) -> Self {
                <$t>::from_bits(key as $bits)
            }
            #[inline(always)]
            fn bucket(self, scale: Self) -> u64 {
                (self * scale) as u64
            }
        }
    };
}
real!(f32, u32);
real!(f64, u64);

/// The 8 neighbour offsets with their half step lengths.
pub(super) struct Steps<R = f32> {
    pub(super) dc: [isize; 8],
    pub(super) dr: [isize; 8],
    pub(super) half: [R; 8],
}

impl<R: Real> Steps<R> {
    pub(super) fn new(dx: f64, dy: f64) -> Steps<R> {
        let d = dx.hypot(dy);
        Steps {
            dc: DC,
            dr: DR,
            half: [d, dy, d, dx, dx, d, dy, d].map(|v| R::from_f64(0.5 * v)),
        }
    }
}

/// The weight of a grid step between cells with costs `a` and `b`: one
/// function for the full and the incremental solver.
#[inline(always)]
pub(super) fn step_weight<R: Real>(a: R, b: R, half: R) -> R {
    (a + b) * half
}

#[inline(always)]
pub(super) fn passable<R: Real>(c: R) -> bool {
    c.is_finite() && c >= R::ZERO
}

/// A source cell with its starting cost and a label carried to the cells it
/// reaches first (e.g. a market id).
#[derive(Debug, Clone, Copy)]
pub struct Source<R = f32> {
    pub cell: u32,
    pub cost: R,
    pub label: u16,
}
