//! Distance from a road segment to the nearest conservation area, as
//! geo's Euclidean distance gives it, on trees built once for every segment.

use geo::{Euclidean, LineString};
use rstar::primitives::CachedEnvelope;
use rstar::RTree;

pub(super) type RingTree = RTree<CachedEnvelope<geo::Line<f64>>>;

/// The rings of the conservation areas' polygons, each with an R-tree of
/// its edges and one of its vertices, built once: the distance from a road
/// segment that crosses no area to the nearest area, as geo's Euclidean
/// distance gives it (the same nearest-neighbour sums on the same trees,
/// so the same value to the bit) without rebuilding each ring's tree for
/// every segment, and reading only the ring vertices that can be nearer
/// than the nearest found so far.
pub(super) struct AreaRings {
    pub(super) polys: Vec<PolyRings>,
}

pub(super) struct PolyRings {
    /// The exterior as a polygon of its own (a segment whose first vertex
    /// lies inside it is measured to the holes).
    pub(super) outline: geo::Polygon<f64>,
    pub(super) exterior: (RingTree, RTree<[f64; 2]>),
    pub(super) interiors: Vec<(RingTree, RTree<[f64; 2]>)>,
}

impl AreaRings {
    pub(super) fn new(areas: &[&geo::MultiPolygon<f64>]) -> AreaRings {
        let trees = |ring: &LineString<f64>| {
            (
                RTree::bulk_load(ring.lines().map(CachedEnvelope::new).collect()),
                RTree::bulk_load(ring.coords().map(|c| [c.x, c.y]).collect()),
            )
        };
        AreaRings {
            polys: areas
                .iter()
                .flat_map(|m| m.0.iter())
                .map(|p| PolyRings {
                    outline: geo::Polygon::new(p.exterior().clone(), vec![]),
                    exterior: trees(p.exterior()),
                    interiors: p.interiors().iter().map(trees).collect(),
                })
                .collect(),
        }
    }

    /// Distance from `ls`, which meets no area, to the nearest one
    /// (INFINITY when there is none).
    pub(super) fn distance(&self, ls: &LineString<f64>) -> f64 {
        use geo::Contains;
        if ls.0.is_empty() {
            return f64::INFINITY;
        }
        let own: RingTree = RTree::bulk_load(ls.lines().map(CachedEnvelope::new).collect());
        let line_point = |l: &geo::Line<f64>, p: &geo::Point<f64>| {
            <Euclidean as geo::Distance<f64, &geo::Line<f64>, &geo::Point<f64>>>::distance(l, p)
        };
        let rect = geo::BoundingRect::bounding_rect(ls);
        // geo's nearest_neighbour_distance(ls, ring): the nearest ring edge
        // to each vertex of ls, and the nearest edge of ls to each ring
        // vertex; only vertices inside ls's box grown by the best so far
        // can lower the minimum (the growth covers rounding).
        let ring_distance = |(edges, vertices): &(RingTree, RTree<[f64; 2]>)| -> f64 {
            let mut best = ls.points().fold(f64::MAX, |acc, p| {
                acc.min(line_point(edges.nearest_neighbor(&p).unwrap(), &p))
            });
            if let Some(r) = rect {
                let grow = best * (1.0 + 1e-9) + 1e-9;
                let env = rstar::AABB::from_corners(
                    [r.min().x - grow, r.min().y - grow],
                    [r.max().x + grow, r.max().y + grow],
                );
                for v in vertices.locate_in_envelope_intersecting(&env) {
                    let p = geo::Point::new(v[0], v[1]);
                    best = best.min(line_point(own.nearest_neighbor(&p).unwrap(), &p));
                }
            }
            best
        };
        self.polys
            .iter()
            .map(|p| {
                if !p.interiors.is_empty() && p.outline.contains(&ls.0[0]) {
                    p.interiors
                        .iter()
                        .map(ring_distance)
                        .fold(f64::MAX, f64::min)
                } else {
                    ring_distance(&p.exterior)
                }
            })
            .fold(f64::INFINITY, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Intersects;
    use rand::{Rng, SeedableRng};

    /// The distance to the nearest area, with the rings' trees built once,
    /// equals geo's Euclidean distance to the bit: random polylines near
    /// a jagged polygon with a hole and a second polygon, inside the hole
    /// and outside both (those that cross an area are not asked).
    #[test]
    fn distance_to_areas_equals_geos_to_the_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let ring = |cx: f64, cy: f64, r: f64, n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
            let mut pts: Vec<(f64, f64)> = (0..n)
                .map(|k| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = r * rng.gen_range(0.8..1.2);
                    (cx + rr * a.cos(), cy + rr * a.sin())
                })
                .collect();
            pts.push(pts[0]);
            LineString::from(pts)
        };
        let holed = geo::Polygon::new(
            ring(0.0, 0.0, 1000.0, 300, &mut rng),
            vec![ring(0.0, 0.0, 400.0, 120, &mut rng)],
        );
        let other = geo::Polygon::new(ring(3000.0, 500.0, 500.0, 200, &mut rng), vec![]);
        let areas = [
            geo::MultiPolygon::new(vec![holed]),
            geo::MultiPolygon::new(vec![other]),
        ];
        let refs: Vec<&geo::MultiPolygon<f64>> = areas.iter().collect();
        let rings = AreaRings::new(&refs);
        let (mut asked, mut inside_hole) = (0, 0);
        for _ in 0..400 {
            let (x, y) = (
                rng.gen_range(-2500.0..5000.0),
                rng.gen_range(-2500.0..2500.0),
            );
            let pts: Vec<(f64, f64)> = (0..rng.gen_range(2..8))
                .map(|k| {
                    (
                        x + k as f64 * rng.gen_range(-80.0..80.0),
                        y + rng.gen_range(-80.0..80.0),
                    )
                })
                .collect();
            let ls = LineString::from(pts);
            if refs.iter().any(|a| a.intersects(&ls)) {
                continue;
            }
            asked += 1;
            inside_hole += (x * x + y * y < 300.0 * 300.0) as usize;
            let want = refs
                .iter()
                .flat_map(|a| a.0.iter())
                .map(|p| <Euclidean as geo::Distance<f64, _, _>>::distance(&ls, p))
                .fold(f64::INFINITY, f64::min);
            assert_eq!(rings.distance(&ls).to_bits(), want.to_bits(), "{ls:?}");
        }
        assert!(
            asked > 200 && inside_hole > 0,
            "{asked} asked, {inside_hole} in the hole"
        );
    }
}
