//! Walking a polyline through a grid: the exact length of line inside each
//! cell it crosses, in order.

/// A north-up grid's geometry (no data).
#[derive(Debug, Clone, Copy)]
pub struct GridGeom {
    pub x_min: f64,
    pub y_max: f64,
    pub res: f64,
    pub width: usize,
    pub height: usize,
}

impl GridGeom {
    #[inline]
    fn cell_at(&self, x: f64, y: f64) -> Option<u32> {
        let c = ((x - self.x_min) / self.res).floor();
        let r = ((self.y_max - y) / self.res).floor();
        if c < 0.0 || r < 0.0 || c >= self.width as f64 || r >= self.height as f64 {
            None
        } else {
            Some((r as usize * self.width + c as usize) as u32)
        }
    }
}

/// One stretch of a line inside one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub cell: u32,
    /// Length of line inside the cell, in CRS units.
    pub len: f64,
    /// Distance along the line from its start to where this piece begins.
    pub start: f64,
}

/// Split a polyline at every grid line it crosses. Returns runs of pieces in
/// order along the line; consecutive stretches in one cell are merged, and a
/// run ends where the line leaves the grid. Each piece's length is exact (up
/// to floating point), so the pieces' lengths add up to the line's length
/// inside the grid.
pub fn cell_pieces(g: &GridGeom, coords: &[(f64, f64)]) -> Vec<Vec<Piece>> {
    let mut runs: Vec<Vec<Piece>> = Vec::new();
    let mut cur: Vec<Piece> = Vec::new();
    let mut along = 0.0;
    let mut ts: Vec<f64> = Vec::new();
    for w in coords.windows(2) {
        let (p, q) = (w[0], w[1]);
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let seg = dx.hypot(dy);
        if seg == 0.0 {
            continue;
        }
        // Parameters where the segment crosses vertical and horizontal grid lines.
        ts.clear();
        ts.push(0.0);
        ts.push(1.0);
        for (a, d, origin, sign) in [(p.0, dx, g.x_min, 1.0), (p.1, dy, g.y_max, -1.0)] {
            if d == 0.0 {
                continue;
            }
            let b = a + d;
            // Grid lines at origin + sign * k * res.
            let ka = sign * (a - origin) / g.res;
            let kb = sign * (b - origin) / g.res;
            let (lo, hi) = if ka < kb { (ka, kb) } else { (kb, ka) };
            let mut k = lo.floor() + 1.0;
            while k < hi {
                let line = origin + sign * k * g.res;
                let t = (line - a) / d;
                if t > 0.0 && t < 1.0 {
                    ts.push(t);
                }
                k += 1.0;
            }
        }
        ts.sort_by(|a, b| a.total_cmp(b));
        for k in 0..ts.len() - 1 {
            let (t0, t1) = (ts[k], ts[k + 1]);
            if t1 <= t0 {
                continue;
            }
            let tm = 0.5 * (t0 + t1);
            let len = (t1 - t0) * seg;
            let start = along + t0 * seg;
            match g.cell_at(p.0 + tm * dx, p.1 + tm * dy) {
                Some(cell) => match cur.last_mut() {
                    Some(last) if last.cell == cell => last.len += len,
                    _ => cur.push(Piece { cell, len, start }),
                },
                None => {
                    if !cur.is_empty() {
                        runs.push(std::mem::take(&mut cur));
                    }
                }
            }
        }
        along += seg;
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: GridGeom = GridGeom {
        x_min: 0.0,
        y_max: 10.0,
        res: 1.0,
        width: 10,
        height: 10,
    };

    #[test]
    fn a_horizontal_line_gives_one_piece_per_cell() {
        let runs = cell_pieces(&G, &[(0.5, 9.5), (3.5, 9.5)]);
        assert_eq!(runs.len(), 1);
        let cells: Vec<u32> = runs[0].iter().map(|p| p.cell).collect();
        assert_eq!(cells, vec![0, 1, 2, 3]);
        for (p, want) in runs[0].iter().zip([0.5, 1.0, 1.0, 0.5]) {
            assert!((p.len - want).abs() < 1e-12, "{p:?}");
        }
    }

    #[test]
    fn a_diagonal_line_keeps_its_exact_length() {
        let runs = cell_pieces(&G, &[(0.2, 0.1), (7.9, 9.3)]);
        let total: f64 = runs.iter().flatten().map(|p| p.len).sum();
        let want = (7.7f64).hypot(9.2);
        assert!((total - want).abs() < 1e-12, "{total} vs {want}");
        // Consecutive pieces are 8-neighbours.
        for w in runs[0].windows(2) {
            let (a, b) = (w[0].cell as i64, w[1].cell as i64);
            let (ca, ra, cb, rb) = (a % 10, a / 10, b % 10, b / 10);
            assert!((ca - cb).abs() <= 1 && (ra - rb).abs() <= 1);
        }
    }

    #[test]
    fn leaving_the_grid_ends_a_run() {
        let runs = cell_pieces(&G, &[(8.5, 5.5), (12.0, 5.5), (12.0, 4.5), (9.5, 4.5)]);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            runs[0].iter().map(|p| p.cell).collect::<Vec<_>>(),
            vec![48, 49]
        );
        assert_eq!(runs[1].iter().map(|p| p.cell).collect::<Vec<_>>(), vec![59]);
        assert!((runs[1][0].start - (3.5 + 1.0 + 2.0)).abs() < 1e-12);
    }

    #[test]
    fn vertices_inside_a_cell_merge_into_one_piece() {
        let runs = cell_pieces(&G, &[(0.1, 9.9), (0.5, 9.5), (0.9, 9.9), (1.5, 9.5)]);
        assert_eq!(runs[0][0].cell, 0);
        assert_eq!(runs[0].len(), 2);
    }
}
