//! Exact cell coverage of polygons, and coverage-weighted statistics: the
//! approach of exactextract (the fraction of each cell's area a polygon
//! covers, so small polygons, holes and partial cells count exactly).
//!
//! Each ring is clipped to each row of cells, then each clipped band to
//! each cell of the row (Sutherland-Hodgman against a rectangle keeps a
//! ring's signed area exact); exteriors add area, holes subtract it.

use super::lines::GridGeom;

/// Clip a ring to the half-plane `keep(p) >= 0` along a straight edge,
/// given the crossing point function.
fn clip(
    ring: &[(f64, f64)],
    inside: impl Fn((f64, f64)) -> bool,
    cross: impl Fn((f64, f64), (f64, f64)) -> (f64, f64),
    out: &mut Vec<(f64, f64)>,
) {
    out.clear();
    let n = ring.len();
    if n == 0 {
        return;
    }
    for i in 0..n {
        let cur = ring[i];
        let prev = ring[(i + n - 1) % n];
        let (ci, pi) = (inside(cur), inside(prev));
        if ci {
            if !pi {
                out.push(cross(prev, cur));
            }
            out.push(cur);
        } else if pi {
            out.push(cross(prev, cur));
        }
    }
}

fn at_y(a: (f64, f64), b: (f64, f64), y: f64) -> (f64, f64) {
    let t = (y - a.1) / (b.1 - a.1);
    (a.0 + t * (b.0 - a.0), y)
}

fn at_x(a: (f64, f64), b: (f64, f64), x: f64) -> (f64, f64) {
    let t = (x - a.0) / (b.0 - a.0);
    (x, a.1 + t * (b.1 - a.1))
}

fn signed_area(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let mut s = 0.0;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        s += a.0 * b.1 - b.0 * a.1;
    }
    0.5 * s
}

/// Fraction of every cell covered by a (multi)polygon, as (cell, fraction)
/// sorted by cell; cells outside the grid are left out.
pub fn coverage(g: &GridGeom, mp: &geo::MultiPolygon<f64>) -> Vec<(u32, f64)> {
    let cell_area = g.res * g.res;
    let mut acc: std::collections::BTreeMap<u32, f64> = std::collections::BTreeMap::new();
    let (mut band, mut cellbuf, mut tmp) = (Vec::new(), Vec::new(), Vec::new());
    for poly in &mp.0 {
        let rings = std::iter::once((poly.exterior(), 1.0))
            .chain(poly.interiors().iter().map(|r| (r, -1.0)));
        for (ring, role) in rings {
            // Open ring (drop the closing point), in grid coordinates.
            let mut pts: Vec<(f64, f64)> = ring.0.iter().map(|c| (c.x, c.y)).collect();
            if pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            if pts.len() < 3 {
                continue;
            }
            let total = signed_area(&pts);
            if total == 0.0 {
                continue;
            }
            // Exterior adds, hole subtracts, whatever the ring's orientation.
            let sign = role * total.signum();
            let (xmin, xmax) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
                (a.0.min(p.0), a.1.max(p.0))
            });
            let (ymin, ymax) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
                (a.0.min(p.1), a.1.max(p.1))
            });
            let r0 = (((g.y_max - ymax) / g.res).floor().max(0.0)) as i64;
            let r1 = (((g.y_max - ymin) / g.res).ceil() as i64).min(g.height as i64) - 1;
            let c0 = (((xmin - g.x_min) / g.res).floor().max(0.0)) as i64;
            let c1 = (((xmax - g.x_min) / g.res).ceil() as i64).min(g.width as i64) - 1;
            for r in r0..=r1 {
                let top = g.y_max - r as f64 * g.res;
                let bot = top - g.res;
                clip(&pts, |p| p.1 <= top, |a, b| at_y(a, b, top), &mut tmp);
                clip(&tmp, |p| p.1 >= bot, |a, b| at_y(a, b, bot), &mut band);
                if band.len() < 3 {
                    continue;
                }
                let bx0 = band.iter().fold(f64::INFINITY, |a, p| a.min(p.0));
                let bx1 = band.iter().fold(f64::NEG_INFINITY, |a, p| a.max(p.0));
                let cc0 = (((bx0 - g.x_min) / g.res).floor() as i64).max(c0);
                let cc1 = (((bx1 - g.x_min) / g.res).ceil() as i64 - 1).min(c1);
                for c in cc0..=cc1 {
                    let left = g.x_min + c as f64 * g.res;
                    let right = left + g.res;
                    clip(&band, |p| p.0 >= left, |a, b| at_x(a, b, left), &mut tmp);
                    clip(
                        &tmp,
                        |p| p.0 <= right,
                        |a, b| at_x(a, b, right),
                        &mut cellbuf,
                    );
                    let a = signed_area(&cellbuf);
                    if a != 0.0 {
                        let cell = (r as usize * g.width + c as usize) as u32;
                        *acc.entry(cell).or_insert(0.0) += sign * a.abs() / cell_area;
                    }
                }
            }
        }
    }
    acc.into_iter().filter(|(_, f)| *f > 1e-12).collect()
}

/// Coverage-weighted statistics of a raster over a polygon, with the
/// definitions of exactextract: `count` is the sum of the coverage fractions
/// of cells with data; `mean` = sum(f v) / sum(f); `min`/`max` over cells
/// with any coverage; `majority` the value with the largest covered area.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub count: f64,
    pub sum: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub majority: f64,
}

pub fn stats(cov: &[(u32, f64)], values: &[f32]) -> Stats {
    let (mut count, mut sum) = (0.0, 0.0);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut by_value: Vec<(f32, f64)> = Vec::new();
    for &(c, f) in cov {
        let v = values[c as usize];
        if v.is_nan() {
            continue;
        }
        count += f;
        sum += f * v as f64;
        lo = lo.min(v as f64);
        hi = hi.max(v as f64);
        by_value.push((v, f));
    }
    if count == 0.0 {
        return Stats {
            count: 0.0,
            sum: 0.0,
            mean: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
            majority: f64::NAN,
        };
    }
    by_value.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut best, mut best_w) = (f64::NAN, -1.0);
    let mut i = 0;
    while i < by_value.len() {
        let mut j = i;
        let mut w = 0.0;
        while j < by_value.len() && by_value[j].0 == by_value[i].0 {
            w += by_value[j].1;
            j += 1;
        }
        if w > best_w {
            best_w = w;
            best = by_value[i].0 as f64;
        }
        i = j;
    }
    Stats {
        count,
        sum,
        mean: sum / count,
        min: lo,
        max: hi,
        majority: best,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Area, MultiPolygon};

    const G: GridGeom = GridGeom {
        x_min: 0.0,
        y_max: 10.0,
        res: 1.0,
        width: 10,
        height: 10,
    };

    fn total(c: &[(u32, f64)]) -> f64 {
        c.iter().map(|x| x.1).sum()
    }

    #[test]
    fn a_square_covering_two_and_a_half_cells() {
        // x 1..3.5, y 8..9: cells (1,1), (2,1) whole and half of (3,1).
        let p = MultiPolygon(vec![
            polygon![(x: 1.0, y: 8.0), (x: 3.5, y: 8.0), (x: 3.5, y: 9.0), (x: 1.0, y: 9.0)],
        ]);
        let c = coverage(&G, &p);
        assert_eq!(c, vec![(11, 1.0), (12, 1.0), (13, 0.5)]);
    }

    #[test]
    fn a_triangle_a_donut_and_a_tiny_polygon_sum_to_their_areas() {
        let tri = MultiPolygon(vec![
            polygon![(x: 0.3, y: 0.2), (x: 7.7, y: 1.1), (x: 2.9, y: 8.6)],
        ]);
        let donut = MultiPolygon(vec![polygon!(
            exterior: [(x: 1.0, y: 1.0), (x: 9.0, y: 1.0), (x: 9.0, y: 9.0), (x: 1.0, y: 9.0)],
            interiors: [[(x: 3.3, y: 3.3), (x: 6.6, y: 3.3), (x: 6.6, y: 6.6), (x: 3.3, y: 6.6)]],
        )]);
        let tiny = MultiPolygon(vec![
            polygon![(x: 4.2, y: 4.2), (x: 4.3, y: 4.2), (x: 4.25, y: 4.3)],
        ]);
        for p in [&tri, &donut, &tiny] {
            let c = coverage(&G, p);
            let a = p.unsigned_area();
            assert!((total(&c) - a).abs() <= 1e-9 * a, "{} vs {a}", total(&c));
        }
        // The donut's hole cells (4,4)..(5,5) are not covered at all.
        let c = coverage(&G, &donut);
        assert!(c.iter().all(|(cell, _)| *cell != 45 && *cell != 54));
        // The tiny triangle sits in one cell.
        let c = coverage(&G, &tiny);
        assert_eq!(c.len(), 1);
        assert!((c[0].1 - 0.005).abs() < 1e-12);
    }

    #[test]
    fn a_polygon_crossing_the_grid_edge_counts_only_the_inside() {
        let p = MultiPolygon(vec![
            polygon![(x: -2.0, y: 0.5), (x: 1.5, y: 0.5), (x: 1.5, y: 1.5), (x: -2.0, y: 1.5)],
        ]);
        let c = coverage(&G, &p);
        assert!((total(&c) - 1.5).abs() < 1e-12, "{c:?}");
    }

    #[test]
    fn weighted_stats_follow_exactextract() {
        let cov = vec![(0u32, 1.0), (1, 0.5), (2, 0.25), (3, 1.0)];
        let vals = [2.0f32, 4.0, 4.0, f32::NAN];
        let s = stats(&cov, &vals);
        assert_eq!(s.count, 1.75);
        assert_eq!(s.sum, 2.0 + 2.0 + 1.0);
        assert!((s.mean - 5.0 / 1.75).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 4.0));
        // 4.0 covers 0.75, 2.0 covers 1.0.
        assert_eq!(s.majority, 2.0);
    }
}
