//! Multi-source accumulated cost on an 8-connected grid, with optional extra
//! edges between cells (roads), and an incremental update for cheaper edges.
//!
//! Convention (as scikit-image's `MCP_Geometric` and GRASS `r.cost` without
//! knight's moves): a step between two neighbouring cells costs the mean of
//! their costs per unit distance times the step length (dx, dy, or their
//! hypotenuse for a diagonal). Cells whose cost is NaN, infinite or negative
//! are impassable. Extra edges carry their own weights and join any two cells.
//!
//! Exactness: every edge weight is computed by one function and every path
//! cost is accumulated the same way (`f32` additions along the path), so the
//! result is the minimum over paths of that float sum. Float addition is
//! monotone, which makes the incremental update (`relax_cheaper`) equal to a
//! full recomputation bit for bit.
//!
//! Memory: cost (4 B/cell) + the caller's friction (4 B/cell) + optional
//! origin label (2 B/cell) + a heap of 8-byte entries that holds the frontier.

mod decremental;
mod gate;
mod grid;
mod incremental;
mod queue;
mod relax;
mod solve;
mod strips;
#[cfg(test)]
mod test_support;

pub use decremental::relax_dearer;
pub use gate::{gate_bounds, Gate, GateBounds};
pub use grid::{CostGrid, EdgeWeights, ExtraEdges, Real, Source};
pub use incremental::{relax_cheaper, Scratch};
pub use queue::{BucketQueue, RadixHeap};
pub use solve::{solve, solve_counted, solve_from, solve_owned};

use grid::*;
use incremental::*;
use queue::*;
use relax::*;
use solve::*;
use strips::*;
