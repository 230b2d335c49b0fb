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
pub struct EdgeWeights<'a> {
    pub base: &'a [f32],
    /// (edge id, weight), sorted by edge id.
    pub over: &'a [(u32, f32)],
}

impl EdgeWeights<'_> {
    #[inline]
    pub fn get(&self, id: u32) -> f32 {
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

/// The 8 neighbour offsets with their half step lengths.
pub(super) struct Steps {
    pub(super) dc: [isize; 8],
    pub(super) dr: [isize; 8],
    pub(super) half: [f32; 8],
}

impl Steps {
    pub(super) fn new(dx: f64, dy: f64) -> Steps {
        let d = dx.hypot(dy);
        Steps {
            dc: DC,
            dr: DR,
            half: [d, dy, d, dx, dx, d, dy, d].map(|v| (0.5 * v) as f32),
        }
    }
}

/// The weight of a grid step between cells with costs `a` and `b`: one
/// function for the full and the incremental solver.
#[inline(always)]
pub(super) fn step_weight(a: f32, b: f32, half: f32) -> f32 {
    (a + b) * half
}

#[inline(always)]
pub(super) fn passable(c: f32) -> bool {
    c.is_finite() && c >= 0.0
}

/// A source cell with its starting cost and a label carried to the cells it
/// reaches first (e.g. a market id).
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub cell: u32,
    pub cost: f32,
    pub label: u16,
}
