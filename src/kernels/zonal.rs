//! Exact cell coverage of polygons, and coverage-weighted statistics: the
//! approach of exactextract (the fraction of each cell's area a polygon
//! covers, so small polygons, holes and partial cells count exactly).
//!
//! Work is in cell units relative to the grid's corner (u = column, v = row,
//! both growing away from the top-left), so a polygon of a few square
//! metres far from the CRS origin keeps full precision and a fully covered
//! cell comes out as exactly 1. Each ring is clipped to each row of cells
//! (Sutherland-Hodgman); the clipped band's area in every column then comes
//! from one pass over its edges (Green's theorem with the form
//! `(v_bottom - v) du`: the band's bottom edge and the columns' vertical
//! sides contribute nothing, so each edge adds a trapezoid to the columns it
//! spans). Exteriors add and holes subtract whatever their orientation: a
//! ring's contribution is multiplied by the sign of its own signed area, so
//! clockwise (ESRI) and counter-clockwise (RFC 7946) rings give the same
//! answer.

use super::lines::GridGeom;

/// A north-up grid of cells `dx` wide and `dy` tall (both > 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellGrid {
    pub x_min: f64,
    pub y_max: f64,
    pub dx: f64,
    pub dy: f64,
    pub width: usize,
    pub height: usize,
}

impl From<GridGeom> for CellGrid {
    fn from(g: GridGeom) -> CellGrid {
        CellGrid {
            x_min: g.x_min,
            y_max: g.y_max,
            dx: g.res,
            dy: g.res,
            width: g.width,
            height: g.height,
        }
    }
}

/// Clip an open ring to the half-plane where `inside` holds, along a
/// straight line whose crossing point `cross` computes.
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

/// The point of segment a-b at row coordinate `v` (exactly `v`).
fn at_v(a: (f64, f64), b: (f64, f64), v: f64) -> (f64, f64) {
    let t = (v - a.1) / (b.1 - a.1);
    (a.0 + t * (b.0 - a.0), v)
}

/// Signed area (shoelace), taken relative to the first vertex for precision.
fn signed_area(ring: &[(f64, f64)]) -> f64 {
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let o = ring[0];
    let mut s = 0.0;
    for i in 1..n - 1 {
        let (a, b) = (ring[i], ring[i + 1]);
        s += (a.0 - o.0) * (b.1 - o.1) - (b.0 - o.0) * (a.1 - o.1);
    }
    0.5 * s
}

/// Add the band's area in each column `c0..=c1` to `acc[c - c0]`, times
/// `sign`. The band lies within rows `v in [top, top + 1]`.
fn band_columns(band: &[(f64, f64)], top: f64, c0: i64, c1: i64, sign: f64, acc: &mut [f64]) {
    let bottom = top + 1.0;
    let n = band.len();
    for i in 0..n {
        let (a, b) = (band[i], band[(i + 1) % n]);
        if a.0 == b.0 {
            continue; // vertical: no du
        }
        // Heights above the band's bottom, in [0, 1].
        let (ha, hb) = (bottom - a.1, bottom - b.1);
        if ha == 0.0 && hb == 0.0 {
            continue; // along the bottom: the form vanishes
        }
        let (lo, hi) = if a.0 < b.0 { (a.0, b.0) } else { (b.0, a.0) };
        let first = (lo.floor() as i64).max(c0);
        let last = ((hi.ceil() as i64) - 1).min(c1);
        let dir = if b.0 > a.0 { 1.0 } else { -1.0 };
        let slope = (hb - ha) / (b.0 - a.0);
        for c in first..=last {
            let cf = c as f64;
            let us = lo.max(cf);
            let ue = hi.min(cf + 1.0);
            if ue <= us {
                continue;
            }
            // Height at us and ue along the edge (exact at the ends).
            let h = |u: f64| {
                if u == a.0 {
                    ha
                } else if u == b.0 {
                    hb
                } else {
                    ha + slope * (u - a.0)
                }
            };
            // Integral of (bottom - v) du from a to b over [us, ue].
            acc[(c - c0) as usize] += sign * dir * (ue - us) * 0.5 * (h(us) + h(ue));
        }
    }
}

/// Fraction of every cell covered by a (multi)polygon, as (cell, fraction)
/// sorted by cell; cells outside the grid are left out, every cell with any
/// coverage is kept (as exactextract does).
pub fn coverage(g: &GridGeom, mp: &geo::MultiPolygon<f64>) -> Vec<(u32, f64)> {
    coverage_on(&CellGrid::from(*g), mp)
}

/// [`coverage`] on a grid of any (positive) cell width and height.
///
/// ```
/// use geo::polygon;
/// use greenhalo::kernels::zonal::{coverage_on, CellGrid};
/// let g = CellGrid { x_min: 0.0, y_max: 2.0, dx: 2.0, dy: 1.0, width: 2, height: 2 };
/// // A clockwise square (as in a Shapefile) over the top-left cell and a
/// // quarter of the cell to its right.
/// let sq = polygon![(x: 0.0, y: 2.0), (x: 2.5, y: 2.0), (x: 2.5, y: 1.0), (x: 0.0, y: 1.0)];
/// let c = coverage_on(&g, &geo::MultiPolygon(vec![sq]));
/// assert_eq!(c, vec![(0, 1.0), (1, 0.25)]);
/// ```
pub fn coverage_on(g: &CellGrid, mp: &geo::MultiPolygon<f64>) -> Vec<(u32, f64)> {
    // Every ring in cell units, with its role times its orientation.
    let mut rings: Vec<(Vec<(f64, f64)>, f64)> = Vec::new();
    let (mut umin, mut umax, mut vmin, mut vmax) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for poly in &mp.0 {
        let all = std::iter::once((poly.exterior(), 1.0))
            .chain(poly.interiors().iter().map(|r| (r, -1.0)));
        for (ring, role) in all {
            let mut pts: Vec<(f64, f64)> = Vec::with_capacity(ring.0.len());
            for c in &ring.0 {
                let p = ((c.x - g.x_min) / g.dx, (g.y_max - c.y) / g.dy);
                if !(p.0.is_finite() && p.1.is_finite()) {
                    pts.clear();
                    break;
                }
                if pts.last() != Some(&p) {
                    pts.push(p);
                }
            }
            if pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            let a = signed_area(&pts);
            if pts.len() < 3 || a == 0.0 {
                continue;
            }
            for p in &pts {
                umin = umin.min(p.0);
                umax = umax.max(p.0);
                vmin = vmin.min(p.1);
                vmax = vmax.max(p.1);
            }
            rings.push((pts, role * a.signum()));
        }
    }
    if rings.is_empty() {
        return Vec::new();
    }
    let (w, h) = (g.width as i64, g.height as i64);
    let r0 = (vmin.floor() as i64).max(0);
    let r1 = ((vmax.ceil() as i64) - 1).min(h - 1);
    let c0 = (umin.floor() as i64).max(0);
    let c1 = ((umax.ceil() as i64) - 1).min(w - 1);
    if r0 > r1 || c0 > c1 {
        return Vec::new();
    }
    let ncols = (c1 - c0 + 1) as usize;
    let mut acc = vec![0.0f64; ncols];
    let (mut tmp, mut band) = (Vec::new(), Vec::new());
    let mut out = Vec::new();
    for r in r0..=r1 {
        let top = r as f64;
        let bottom = top + 1.0;
        acc.iter_mut().for_each(|x| *x = 0.0);
        for (pts, sign) in &rings {
            clip(pts, |p| p.1 >= top, |a, b| at_v(a, b, top), &mut tmp);
            clip(
                &tmp,
                |p| p.1 <= bottom,
                |a, b| at_v(a, b, bottom),
                &mut band,
            );
            if band.len() < 3 {
                continue;
            }
            band_columns(&band, top, c0, c1, *sign, &mut acc);
        }
        for (k, f) in acc.iter().enumerate() {
            if *f > 0.0 {
                let cell = (r as usize) * g.width + c0 as usize + k;
                out.push((cell as u32, f.min(1.0)));
            }
        }
    }
    out
}

/// Coverage-weighted statistics of a raster over a polygon, with the
/// definitions of exactextract (its operations of the same names): `count`
/// is the sum of the coverage fractions of cells with data; `sum` = Σ f·v;
/// `mean` = sum / count; `min`/`max` over cells with any coverage;
/// `majority` the value with the largest covered area, the largest such
/// value on a tie, and `minority` the value with the smallest, the
/// smallest such value on a tie (as exactextract breaks them); `variety` the number of distinct
/// values; `stdev` the population standard deviation weighted by
/// coverage, √(Σ f·(v − mean)² / count), and `coefficient_of_variation` =
/// stdev / mean; `median` the weighted quantile 0.5 over the distinct
/// values with their covered areas as weights (exactextract's
/// WeightedQuantiles: s_k = k·w_k + (n − 1)·Σ_{i<k} w_i, linear between
/// the two values whose s brackets q·s_{n−1}).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    pub count: f64,
    pub sum: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub majority: f64,
    pub minority: f64,
    pub variety: f64,
    pub median: f64,
    pub stdev: f64,
    pub coefficient_of_variation: f64,
}

/// The coverage-weighted mean alone (NaN where no covered cell has data):
/// what the pipeline's parcel and area statistics need, without sorting.
pub fn weighted_mean<T: Copy + Into<f64>>(cov: &[(u32, f64)], values: &[T]) -> f64 {
    let (mut count, mut sum) = (0.0, 0.0);
    for &(c, f) in cov {
        let v: f64 = values[c as usize].into();
        if v.is_nan() {
            continue;
        }
        count += f;
        sum += f * v;
    }
    if count > 0.0 {
        sum / count
    } else {
        f64::NAN
    }
}

pub fn stats<T: Copy + Into<f64>>(cov: &[(u32, f64)], values: &[T]) -> Stats {
    stats_and_fractions(cov, values, false).0
}

/// `stats`, and with `fractions` also the share of the covered area each
/// distinct value holds (exactextract's `frac`): `(value, Σ f over its
/// cells / Σ f)`, values upwards, over the cells with data (empty when no
/// covered cell has data). Both come from the one sort of the cells.
pub fn stats_and_fractions<T: Copy + Into<f64>>(
    cov: &[(u32, f64)],
    values: &[T],
    fractions: bool,
) -> (Stats, Vec<(f64, f64)>) {
    let (mut count, mut sum) = (0.0, 0.0);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut by_value: Vec<(f64, f64)> = Vec::with_capacity(cov.len());
    for &(c, f) in cov {
        let v: f64 = values[c as usize].into();
        if v.is_nan() {
            continue;
        }
        count += f;
        sum += f * v;
        lo = lo.min(v);
        hi = hi.max(v);
        by_value.push((v, f));
    }
    if count == 0.0 {
        let none = Stats {
            count: 0.0,
            sum: 0.0,
            mean: f64::NAN,
            min: f64::NAN,
            max: f64::NAN,
            majority: f64::NAN,
            minority: f64::NAN,
            variety: 0.0,
            median: f64::NAN,
            stdev: f64::NAN,
            coefficient_of_variation: f64::NAN,
        };
        return (none, Vec::new());
    }
    let mean = sum / count;
    let var = by_value
        .iter()
        .map(|(v, f)| f * (v - mean) * (v - mean))
        .sum::<f64>()
        / count;
    let (distinct, total) = distinct(by_value);
    let (mut majority, mut most) = (f64::NAN, f64::NEG_INFINITY);
    let (mut minority, mut least) = (f64::NAN, f64::INFINITY);
    for &(v, w) in &distinct {
        if w >= most {
            most = w;
            majority = v;
        }
        if w < least {
            least = w;
            minority = v;
        }
    }
    let stdev = var.sqrt();
    let stats = Stats {
        count,
        sum,
        mean,
        min: lo,
        max: hi,
        majority,
        minority,
        variety: distinct.len() as f64,
        median: weighted_quantile(&distinct, 0.5),
        stdev,
        coefficient_of_variation: stdev / mean,
    };
    let frac = if fractions {
        shares(&distinct, total)
    } else {
        Vec::new()
    };
    (stats, frac)
}

/// `(value, weight)` pairs as distinct values upwards with their summed
/// weights, and the total weight summed pair by pair in that order (so a
/// share is the same bits whichever statistic asked for it).
fn distinct(mut by_value: Vec<(f64, f64)>) -> (Vec<(f64, f64)>, f64) {
    by_value.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    let mut total = 0.0;
    for (v, w) in by_value {
        total += w;
        match distinct.last_mut() {
            Some(last) if last.0 == v => last.1 += w,
            _ => distinct.push((v, w)),
        }
    }
    (distinct, total)
}

/// Each distinct value's share of `total` (none when the total is not
/// positive).
fn shares(distinct: &[(f64, f64)], total: f64) -> Vec<(f64, f64)> {
    if total > 0.0 {
        distinct.iter().map(|&(v, w)| (v, w / total)).collect()
    } else {
        Vec::new()
    }
}

/// A polygon's figures weighted by a second raster as well as by coverage
/// (exactextract's `weighted_sum`, `weighted_mean`, `weighted_frac`), over
/// the cells where the values have data: Σ f·w·v, that / Σ f·w, and each
/// distinct value's share of Σ f·w (values upwards).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Weighted {
    pub weighted_sum: f64,
    pub weighted_mean: f64,
    pub weighted_frac: Vec<(f64, f64)>,
}

/// `Weighted` of one polygon; a covered cell with data whose weight is
/// missing (NaN) takes `default_weight`, and without one the figures cannot
/// be computed: `Err(cell)`, the first such cell (exactextract gives NaN).
/// No covered cell with data: a sum of 0 and NaN mean. `weighted_frac`
/// only with `fractions` (empty otherwise).
pub fn weighted<T: Copy + Into<f64>, W: Copy + Into<f64>>(
    cov: &[(u32, f64)],
    values: &[T],
    weights: &[W],
    default_weight: Option<f64>,
    fractions: bool,
) -> std::result::Result<Weighted, u32> {
    let (mut sum, mut wsum) = (0.0, 0.0);
    let mut by_value = Vec::with_capacity(if fractions { cov.len() } else { 0 });
    for &(c, f) in cov {
        let v: f64 = values[c as usize].into();
        if v.is_nan() {
            continue;
        }
        let mut w: f64 = weights[c as usize].into();
        if w.is_nan() {
            w = default_weight.ok_or(c)?;
        }
        sum += f * w * v;
        wsum += f * w;
        if fractions {
            by_value.push((v, f * w));
        }
    }
    let (distinct, total) = distinct(by_value);
    Ok(Weighted {
        weighted_sum: sum,
        weighted_mean: if wsum != 0.0 { sum / wsum } else { f64::NAN },
        weighted_frac: shares(&distinct, total),
    })
}

/// The weighted quantile `q` of `(value, weight)` pairs sorted by value,
/// as exactextract's WeightedQuantiles computes it.
fn weighted_quantile(sorted: &[(f64, f64)], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n == 1 {
        return sorted[0].0;
    }
    let mut s = Vec::with_capacity(n);
    let mut before = 0.0;
    for (k, &(_, w)) in sorted.iter().enumerate() {
        s.push(k as f64 * w + (n - 1) as f64 * before);
        before += w;
    }
    let target = q * s[n - 1];
    let i = s.iter().position(|&x| x >= target).unwrap_or(n - 1);
    if i == 0 {
        return sorted[0].0;
    }
    let (x0, x1) = (sorted[i - 1].0, sorted[i].0);
    x0 + (x1 - x0) * (target - s[i - 1]) / (s[i] - s[i - 1])
}

/// The check exactextract's maintainer proposed after a silent-zero bug: a
/// polygon's summed coverage fractions times the cell area equal its area
/// inside the raster's extent `[x0, x1] x [y0, y1]` (within 1e-9 of the
/// larger, and 1e-9 of a cell), and each cell's fraction lies in [0, 1].
/// On a mismatch, `Err((covered, inside))`
/// in the polygon's units squared: a defect to report, or a polygon whose
/// rings cross themselves (its shoelace area is not the area it covers).
pub fn coverage_matches_area(
    cov: &[(u32, f64)],
    cell_area: f64,
    mp: &geo::MultiPolygon<f64>,
    (x0, y0, x1, y1): (f64, f64, f64, f64),
) -> std::result::Result<(), (f64, f64)> {
    use geo::{Area, BooleanOps, BoundingRect};
    let covered = cov.iter().map(|c| c.1).sum::<f64>() * cell_area;
    let Some(b) = mp.bounding_rect() else {
        return if covered == 0.0 {
            Ok(())
        } else {
            Err((covered, 0.0))
        };
    };
    if b.max().x <= x0 || b.min().x >= x1 || b.max().y <= y0 || b.min().y >= y1 {
        return if covered == 0.0 {
            Ok(())
        } else {
            Err((covered, 0.0))
        };
    }
    // The area inside the frame, exactly for a valid polygon: each ring
    // clipped to the frame (Sutherland-Hodgman: a rectangle is convex),
    // its shoelace area taken from its own first point (big coordinates
    // lose digits), exteriors added and holes taken away.
    let inside: f64 =
        mp.0.iter()
            .map(|p| {
                let ring = |r: &geo::LineString<f64>| clipped_ring_area(r, (x0, y0, x1, y1));
                ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>()
            })
            .sum();
    // What it encloses by an overlay, which resolves rings that cross
    // themselves (a bowtie's two lobes both count; its shoelace area nets
    // them out) but snaps coordinates to a grid of its own (a few 1e-6 of
    // the area here): far from the exact area, the rings cross.
    let frame = geo::Rect::new(geo::coord! { x: x0, y: y0 }, geo::coord! { x: x1, y: y1 });
    let enclosed = mp
        .intersection(&geo::MultiPolygon(vec![frame.to_polygon()]))
        .unsigned_area();
    if (enclosed - inside).abs() > 1e-4 * enclosed.max(inside) + 1e-6 * cell_area {
        return Err((covered, enclosed));
    }
    let tol = 1e-9 * covered.max(inside) + 1e-9 * cell_area;
    // A ring that crosses itself winds one lobe the other way: its cells
    // get negative fractions, or none.
    let within = cov.iter().all(|c| c.1 >= -1e-9 && c.1 <= 1.0 + 1e-9);
    if within && (covered - inside).abs() <= tol {
        Ok(())
    } else {
        Err((covered, inside))
    }
}

/// The unsigned area of a ring clipped to the rectangle `[x0, x1] x [y0,
/// y1]` (clipped in coordinates from the rectangle's corner, measured from
/// the clipped ring's first point).
fn clipped_ring_area(r: &geo::LineString<f64>, (x0, y0, x1, y1): (f64, f64, f64, f64)) -> f64 {
    let mut pts: Vec<(f64, f64)> = r.0.iter().map(|c| (c.x - x0, c.y - y0)).collect();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    let (w, h) = (x1 - x0, y1 - y0);
    // Keep the side where `inside` holds; `cut` is where an edge crosses.
    type Side = (
        fn((f64, f64), f64) -> bool,
        fn((f64, f64), (f64, f64), f64) -> (f64, f64),
        f64,
    );
    let sides: [Side; 4] = [
        (
            |p, _| p.0 >= 0.0,
            |a, b, _| (0.0, a.1 + (b.1 - a.1) * (0.0 - a.0) / (b.0 - a.0)),
            0.0,
        ),
        (
            |p, w| p.0 <= w,
            |a, b, w| (w, a.1 + (b.1 - a.1) * (w - a.0) / (b.0 - a.0)),
            w,
        ),
        (
            |p, _| p.1 >= 0.0,
            |a, b, _| (a.0 + (b.0 - a.0) * (0.0 - a.1) / (b.1 - a.1), 0.0),
            0.0,
        ),
        (
            |p, h| p.1 <= h,
            |a, b, h| (a.0 + (b.0 - a.0) * (h - a.1) / (b.1 - a.1), h),
            h,
        ),
    ];
    for (inside, cut, at) in sides {
        if pts.is_empty() {
            return 0.0;
        }
        let mut out = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            match (inside(a, at), inside(b, at)) {
                (true, true) => out.push(b),
                (true, false) => out.push(cut(a, b, at)),
                (false, true) => {
                    out.push(cut(a, b, at));
                    out.push(b);
                }
                (false, false) => {}
            }
        }
        pts = out;
    }
    // (from the ring's own first point: a few square metres far from the
    // frame's corner would otherwise lose their last digits)
    let n = pts.len();
    if n < 3 {
        return 0.0;
    }
    let o = pts[0];
    let twice: f64 = (0..n)
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            (a.0 - o.0) * (b.1 - o.1) - (b.0 - o.0) * (a.1 - o.1)
        })
        .sum();
    twice.abs() / 2.0
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
        assert_eq!(s.minority, 4.0);
        assert_eq!(s.variety, 2.0);
        // Σf(v−mean)²/Σf by hand: mean 20/7; 1·(6/7)² + 0.75·(8/7)².
        let var = ((6.0f64 / 7.0).powi(2) + 0.75 * (8.0f64 / 7.0).powi(2)) / 1.75;
        assert!((s.stdev - var.sqrt()).abs() < 1e-12);
        assert!((s.coefficient_of_variation - var.sqrt() / (20.0 / 7.0)).abs() < 1e-12);
        // Two values: s = (0·1 + 1·0, 1·0.75 + 1·1) = (0, 1.75); the
        // median's target 0.875 lies halfway: 2 + (4 − 2)·0.5.
        assert!((s.median - 3.0).abs() < 1e-12, "{}", s.median);
        // frac from the same sort: 2.0 covers 1 of 1.75, 4.0 0.75 of it.
        let (again, frac) = stats_and_fractions(&cov, &vals, true);
        assert_eq!(again, s);
        assert_eq!(frac, vec![(2.0, 1.0 / 1.75), (4.0, 0.75 / 1.75)]);
        assert!(stats_and_fractions(&cov, &vals, false).1.is_empty());
        // Weights 1, 2, missing, 5: cell 2 has a value and no weight.
        let wts = [1.0f64, 2.0, f64::NAN, 5.0];
        assert_eq!(weighted(&cov, &vals, &wts, None, true), Err(2));
        // With 0.5 for it: Σ f·w·v = 2 + 4 + 0.5, Σ f·w = 1 + 1 + 0.125.
        let w = weighted(&cov, &vals, &wts, Some(0.5), true).unwrap();
        assert_eq!(w.weighted_sum, 6.5);
        assert_eq!(w.weighted_mean, 6.5 / 2.125);
        assert_eq!(
            w.weighted_frac,
            vec![(2.0, 1.0 / 2.125), (4.0, 1.125 / 2.125)]
        );
        let no_frac = weighted(&cov, &vals, &wts, Some(0.5), false).unwrap();
        assert_eq!(no_frac.weighted_frac, vec![]);
        assert_eq!(no_frac.weighted_mean, w.weighted_mean);
    }

    #[test]
    fn coverage_equals_area_inside_the_grid_and_a_bowtie_is_caught() {
        let frame = (0.0, 0.0, 10.0, 10.0);
        let inside = MultiPolygon(vec![
            polygon![(x: 1.2, y: 1.1), (x: 7.7, y: 2.1), (x: 3.9, y: 8.6)],
        ]);
        let crossing = MultiPolygon(vec![
            polygon![(x: -2.0, y: 0.5), (x: 1.5, y: 0.5), (x: 1.5, y: 1.5), (x: -2.0, y: 1.5)],
        ]);
        for p in [&inside, &crossing] {
            assert_eq!(
                coverage_matches_area(&coverage(&G, p), 1.0, p, frame),
                Ok(())
            );
        }
        // Wholly outside: no cell, no area.
        let away = MultiPolygon(vec![
            polygon![(x: 20.0, y: 20.0), (x: 21.0, y: 20.0), (x: 21.0, y: 21.0)],
        ]);
        assert_eq!(
            coverage_matches_area(&coverage(&G, &away), 1.0, &away, frame),
            Ok(())
        );
        // A hole outside the frame of a polygon crossing it clips to
        // nothing and counts 0.
        let holed = MultiPolygon(vec![polygon!(
            exterior: [(x: -6.0, y: 2.0), (x: 3.0, y: 2.0), (x: 3.0, y: 6.0), (x: -6.0, y: 6.0)],
            interiors: [[(x: -5.0, y: 3.0), (x: -2.0, y: 3.0), (x: -2.0, y: 5.0), (x: -5.0, y: 5.0)]],
        )]);
        assert_eq!(
            coverage_matches_area(&coverage(&G, &holed), 1.0, &holed, frame),
            Ok(())
        );
        // A bowtie: its two lobes wind opposite ways, its shoelace area
        // nets them out; the coverage counts what it covers.
        let bowtie = MultiPolygon(vec![
            polygon![(x: 1.0, y: 1.0), (x: 5.0, y: 5.0), (x: 5.0, y: 1.0), (x: 1.0, y: 5.0)],
        ]);
        let c = coverage(&G, &bowtie);
        assert!(
            coverage_matches_area(&c, 1.0, &bowtie, frame).is_err(),
            "{} {c:?}",
            total(&c)
        );
    }

    #[test]
    fn small_polygons_anywhere_on_a_big_grid_pass_the_area_check() {
        // Valid small polygons anywhere on a 2000² grid of 30 m cells pass
        // (no false alarm). It does not reproduce the bench polygon that
        // failed by 8e-8 when the shoelace was taken from the grid's
        // corner: this family passes either way.
        use rand::{Rng, SeedableRng};
        let g = CellGrid {
            x_min: 300_000.0,
            y_max: 9_360_000.0,
            dx: 30.0,
            dy: 30.0,
            width: 2000,
            height: 2000,
        };
        let frame = (300_000.0, 9_300_000.0, 360_000.0, 9_360_000.0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..20_000 {
            let (x, y) = (
                rng.gen_range(300_000.0..360_000.0),
                rng.gen_range(9_300_000.0..9_360_000.0),
            );
            let r = rng.gen_range(1.0..60.0);
            let pts: Vec<(f64, f64)> = (0..5)
                .map(|k| {
                    let t = k as f64 / 5.0 * std::f64::consts::TAU + rng.gen_range(0.0..0.8);
                    let d = r * rng.gen_range(0.4..1.0);
                    (x + d * t.cos(), y + d * t.sin())
                })
                .collect();
            let p = MultiPolygon(vec![geo::Polygon::new(geo::LineString::from(pts), vec![])]);
            let c = coverage_on(&g, &p);
            assert_eq!(coverage_matches_area(&c, 900.0, &p, frame), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn ties_go_as_exactextract_breaks_them_and_precision_is_native() {
        // Two values covering equal areas: majority the larger, minority
        // the smaller.
        let cov = vec![(0u32, 1.0), (1, 1.0), (2, 0.5), (3, 0.5)];
        let s = stats(&cov, &[5.0f64, 9.0, 9.0, 5.0]);
        assert_eq!((s.majority, s.minority), (9.0, 5.0));
        // f64 values keep every digit an f32 would lose.
        let s = stats(&[(0u32, 1.0)], &[16_777_217.0f64]);
        assert_eq!(
            (s.min, s.max, s.sum),
            (16_777_217.0, 16_777_217.0, 16_777_217.0)
        );
        // No data under the polygon: nothing to pick.
        let s = stats(&[(0u32, 1.0)], &[f64::NAN]);
        assert_eq!((s.count, s.variety), (0.0, 0.0));
        assert!(s.median.is_nan() && s.minority.is_nan());
        assert!(weighted_mean(&[(0u32, 1.0)], &[f32::NAN]).is_nan());
        assert_eq!(weighted_mean(&[(0u32, 1.0), (1, 3.0)], &[1.0f32, 5.0]), 4.0);
    }

    fn reversed(p: &geo::Polygon<f64>) -> geo::Polygon<f64> {
        let rev = |r: &geo::LineString<f64>| {
            let mut c = r.0.clone();
            c.reverse();
            geo::LineString(c)
        };
        geo::Polygon::new(rev(p.exterior()), p.interiors().iter().map(rev).collect())
    }

    #[test]
    fn clockwise_rings_and_holes_either_way_give_the_same_coverage() {
        // Regression: a clockwise exterior (ESRI Shapefile order) used to
        // give no coverage at all, and a clockwise hole added its area.
        let ccw = polygon!(
            exterior: [(x: 1.2, y: 1.1), (x: 8.7, y: 1.3), (x: 8.9, y: 8.8), (x: 1.1, y: 8.6)],
            interiors: [[(x: 3.3, y: 3.3), (x: 3.4, y: 6.6), (x: 6.6, y: 6.5), (x: 6.5, y: 3.2)]],
        );
        let a = ccw.unsigned_area();
        let expect = coverage(&G, &MultiPolygon(vec![ccw.clone()]));
        assert!((total(&expect) - a).abs() < 1e-12 * a);
        let cw = reversed(&ccw);
        let ext_cw_hole_ccw =
            geo::Polygon::new(reversed(&ccw).exterior().clone(), ccw.interiors().to_vec());
        let ext_ccw_hole_ccw =
            geo::Polygon::new(ccw.exterior().clone(), reversed(&ccw).interiors().to_vec());
        for p in [cw, ext_cw_hole_ccw, ext_ccw_hole_ccw] {
            let c = coverage(&G, &MultiPolygon(vec![p]));
            assert_eq!(c.len(), expect.len());
            for (x, y) in c.iter().zip(&expect) {
                assert_eq!(x.0, y.0);
                assert!((x.1 - y.1).abs() < 1e-12, "{x:?} vs {y:?}");
            }
        }
        // Cells wholly inside the hole are not covered; wholly inside the
        // exterior and outside the hole, exactly 1.
        assert!(expect.iter().all(|(c, _)| *c != 45));
        assert!(expect.iter().any(|(c, f)| *c == 22 && *f == 1.0));
    }

    #[test]
    fn a_few_square_metres_far_from_the_origin_keep_full_precision() {
        // 30 m cells at UTM-like coordinates; a 2 m x 3 m rectangle (6 m²)
        // inside one cell, and one straddling four cells.
        let g = CellGrid {
            x_min: 300_000.0,
            y_max: 9_400_000.0,
            dx: 30.0,
            dy: 30.0,
            width: 100,
            height: 100,
        };
        let x0 = 300_000.0 + 30.0 * 41.0 + 7.0;
        let y0 = 9_400_000.0 - 30.0 * 17.0 - 12.0;
        let r = polygon![(x: x0, y: y0), (x: x0 + 2.0, y: y0), (x: x0 + 2.0, y: y0 + 3.0), (x: x0, y: y0 + 3.0)];
        let c = coverage_on(&g, &MultiPolygon(vec![r]));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0 as usize, 17 * 100 + 41);
        assert!((c[0].1 - 6.0 / 900.0).abs() < 1e-14);
        let (x1, y1) = (
            300_000.0 + 30.0 * 10.0 - 1.0,
            9_400_000.0 - 30.0 * 10.0 - 0.5,
        );
        let r = polygon![(x: x1, y: y1), (x: x1 + 2.0, y: y1), (x: x1 + 2.0, y: y1 + 1.0), (x: x1, y: y1 + 1.0)];
        let c = coverage_on(&g, &MultiPolygon(vec![r]));
        let f: Vec<f64> = c.iter().map(|x| x.1 * 900.0).collect();
        assert_eq!(c.len(), 4);
        for (got, want) in f.iter().zip([0.5, 0.5, 0.5, 0.5]) {
            assert!((got - want).abs() < 1e-9, "{f:?}");
        }
    }

    #[test]
    fn non_square_cells_weigh_by_their_own_area() {
        let g = CellGrid {
            x_min: 0.0,
            y_max: 4.0,
            dx: 2.0,
            dy: 0.5,
            width: 3,
            height: 8,
        };
        // x 1..5, y 3..4 covers half of column 0, all of column 1 and half of
        // column 2, in rows 0 and 1.
        let p = polygon![(x: 1.0, y: 3.0), (x: 5.0, y: 3.0), (x: 5.0, y: 4.0), (x: 1.0, y: 4.0)];
        let c = coverage_on(&g, &MultiPolygon(vec![p]));
        assert_eq!(
            c,
            vec![(0, 0.5), (1, 1.0), (2, 0.5), (3, 0.5), (4, 1.0), (5, 0.5)]
        );
    }

    #[test]
    fn multipolygon_parts_and_tiny_slivers_count() {
        let a = polygon![(x: 0.5, y: 9.5), (x: 0.5000001, y: 9.5), (x: 0.5000001, y: 9.6)];
        let b = polygon![(x: 5.0, y: 5.0), (x: 6.0, y: 5.0), (x: 6.0, y: 6.0), (x: 5.0, y: 6.0)];
        let c = coverage(&G, &MultiPolygon(vec![a, b]));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].0, 0);
        assert!((c[0].1 - 0.5e-8).abs() < 1e-6 * 0.5e-8, "{c:?}");
        assert_eq!(c[1], (45, 1.0));
    }
}
