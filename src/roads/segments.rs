//! Cutting the road network into segments: at junctions and every
//! `max_segment_km`, then joining slivers shorter than `min_segment_m` to a
//! neighbour of the same road and class.

use std::collections::HashMap;

use geo::{Euclidean, Length, LineString};
use rstar::primitives::GeomWithData;
use rstar::RTree;

use crate::config::{RoadClass, RoadUpgradeParams};
use crate::inputs::Inputs;

/// A stretch of road between junctions, at most `max_segment_km` long.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Stable id: source feature id and segment index ("12-3"), with the
    /// source number in front when the landscape has several road sources
    /// ("1:12-3").
    pub id: String,
    /// The stretches of road parts the segment covers: one, or several when
    /// a sliver was joined to a neighbour of the same road across a junction.
    pub pieces: Vec<Piece>,
    pub class: RoadClass,
    pub aadt: Option<f64>,
    /// The road's name (`[roads] name_field`), when it has one.
    pub name: Option<String>,
    pub geom: LineString<f64>,
}

/// A stretch of one road part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    pub road: u32,
    pub part: u32,
    /// Distance along the road part where the stretch starts and ends, m.
    pub start_m: f64,
    pub end_m: f64,
}

impl Segment {
    pub fn length_km(&self) -> f64 {
        self.pieces.iter().map(|p| p.end_m - p.start_m).sum::<f64>() / 1000.0
    }
}

/// The part of `ls` between distances `a` and `b` along it.
pub(super) fn substring(ls: &LineString<f64>, a: f64, b: f64) -> LineString<f64> {
    let mut out: Vec<geo::Coord<f64>> = Vec::new();
    let mut along = 0.0;
    for w in ls.0.windows(2) {
        let (p, q) = (w[0], w[1]);
        let len = (q.x - p.x).hypot(q.y - p.y);
        let (s0, s1) = (along, along + len);
        if s1 >= a && s0 <= b && len > 0.0 {
            let t0 = ((a - s0) / len).clamp(0.0, 1.0);
            let t1 = ((b - s0) / len).clamp(0.0, 1.0);
            let at = |t: f64| geo::Coord {
                x: p.x + t * (q.x - p.x),
                y: p.y + t * (q.y - p.y),
            };
            if out.is_empty() {
                out.push(at(t0));
            }
            let e = at(t1);
            if out.last() != Some(&e) {
                out.push(e);
            }
        }
        along = s1;
    }
    if out.len() == 1 {
        out.push(out[0]);
    }
    LineString(out)
}

/// (road, part, distance along the part).
pub(super) type PartPos = (u32, u32, f64);
pub(super) type IndexedLine = GeomWithData<geo::Line<f64>, PartPos>;

/// Split every road part at junctions (a part's end within the tolerance of
/// another part, or a vertex two parts share) and at the maximum length.
/// The road network outside the AOI: it carries travel on the grid, but
/// its segments are not appraised, ranked or counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outside {
    /// Road features with no segment inside the AOI.
    pub features: usize,
    /// Segments left out (mostly outside the AOI after the cut at its edge).
    pub segments: usize,
    pub km: f64,
}

/// The segments inside the AOI (see `segments_and_outside`).
pub fn segments(inp: &Inputs, p: &RoadUpgradeParams) -> Vec<Segment> {
    segments_and_outside(inp, p).0
}

/// Cut the network into segments, also at the AOI's edge, and keep those
/// inside the AOI (at least half their length); what was left out.
pub fn segments_and_outside(inp: &Inputs, p: &RoadUpgradeParams) -> (Vec<Segment>, Outside) {
    let all = all_segments(inp, p);
    if inp.aoi.0.is_empty() {
        return (all, Outside::default());
    }
    use geo::BooleanOps;
    let mut inside = Vec::with_capacity(all.len());
    let mut outside = Outside::default();
    let mut kept_roads = std::collections::HashSet::new();
    let mut out_roads = std::collections::BTreeSet::new();
    for s in all {
        let len = s.geom.length::<Euclidean>();
        let mls = geo::MultiLineString::new(vec![s.geom.clone()]);
        let within = inp.aoi.clip(&mls, false).length::<Euclidean>();
        let roads = s.pieces.iter().map(|pc| pc.road);
        if len > 0.0 && within >= 0.5 * len {
            kept_roads.extend(roads);
            inside.push(s);
        } else {
            out_roads.extend(roads);
            outside.segments += 1;
            outside.km += s.length_km();
        }
    }
    outside.features = out_roads
        .difference(&kept_roads.into_iter().collect())
        .count();
    (inside, outside)
}

/// Where each road part crosses the AOI's edge: distances along the part.
fn aoi_crossings(inp: &Inputs, lines: &[IndexedLine], splits: &mut HashMap<(u32, u32), Vec<f64>>) {
    let edges: Vec<geo::Line<f64>> = inp
        .aoi
        .0
        .iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .flat_map(|ring| ring.lines())
        .collect();
    if edges.is_empty() {
        return;
    }
    let tree = RTree::bulk_load(edges);
    for l in lines {
        let seg = *l.geom();
        let (ri, pi, along0) = l.data;
        let env = rstar::AABB::from_corners(
            geo::Point::new(seg.start.x.min(seg.end.x), seg.start.y.min(seg.end.y)),
            geo::Point::new(seg.start.x.max(seg.end.x), seg.start.y.max(seg.end.y)),
        );
        for e in tree.locate_in_envelope_intersecting(&env) {
            use geo::line_intersection::{line_intersection, LineIntersection};
            if let Some(LineIntersection::SinglePoint { intersection, .. }) =
                line_intersection(seg, *e)
            {
                let d = (intersection.x - seg.start.x).hypot(intersection.y - seg.start.y);
                splits.entry((ri, pi)).or_default().push(along0 + d);
            }
        }
    }
}

fn all_segments(inp: &Inputs, p: &RoadUpgradeParams) -> Vec<Segment> {
    let tol = p.junction_tolerance_m.max(0.0);
    // Every line piece of every part, with (road, part, distance along).
    let mut lines: Vec<IndexedLine> = Vec::new();
    for (ri, r) in inp.roads.iter().enumerate() {
        for (pi, part) in r.geom.0.iter().enumerate() {
            let mut along = 0.0;
            for w in part.0.windows(2) {
                let l = geo::Line::new(w[0], w[1]);
                lines.push(GeomWithData::new(l, (ri as u32, pi as u32, along)));
                along += l.length::<Euclidean>();
            }
        }
    }
    let mut splits: HashMap<(u32, u32), Vec<f64>> = HashMap::new();
    aoi_crossings(inp, &lines, &mut splits);
    let tree = RTree::bulk_load(lines);
    // Vertices shared by several parts.
    let mut seen: HashMap<(u64, u64), Vec<PartPos>> = HashMap::new();
    for (ri, r) in inp.roads.iter().enumerate() {
        for (pi, part) in r.geom.0.iter().enumerate() {
            let mut along = 0.0;
            for (k, c) in part.0.iter().enumerate() {
                if k > 0 {
                    let q = part.0[k - 1];
                    along += (c.x - q.x).hypot(c.y - q.y);
                }
                seen.entry((c.x.to_bits(), c.y.to_bits()))
                    .or_default()
                    .push((ri as u32, pi as u32, along));
            }
        }
    }
    for hits in seen.values() {
        let mut parts: Vec<(u32, u32)> = hits.iter().map(|h| (h.0, h.1)).collect();
        parts.sort_unstable();
        parts.dedup();
        if parts.len() > 1 {
            for h in hits {
                splits.entry((h.0, h.1)).or_default().push(h.2);
            }
        }
    }
    // Part ends near another part: a junction on that part.
    for (ri, r) in inp.roads.iter().enumerate() {
        for (pi, part) in r.geom.0.iter().enumerate() {
            let (Some(first), Some(last)) = (part.0.first(), part.0.last()) else {
                continue;
            };
            for end in [*first, *last] {
                let pt = [end.x, end.y];
                for hit in
                    tree.locate_within_distance(geo::Point::new(pt[0], pt[1]), tol * tol + 1e-9)
                {
                    let (hr, hp, along0) = hit.data;
                    if (hr, hp) == (ri as u32, pi as u32) {
                        continue;
                    }
                    let l = hit.geom();
                    let (dx, dy) = (l.end.x - l.start.x, l.end.y - l.start.y);
                    let len2 = dx * dx + dy * dy;
                    let t = if len2 > 0.0 {
                        (((end.x - l.start.x) * dx + (end.y - l.start.y) * dy) / len2)
                            .clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    splits
                        .entry((hr, hp))
                        .or_default()
                        .push(along0 + t * len2.sqrt());
                }
            }
        }
    }

    let max_m = (p.max_segment_km * 1000.0).max(1.0);
    let multi_source = inp.roads.iter().any(|r| r.source > 0);
    let mut out = Vec::new();
    for (ri, r) in inp.roads.iter().enumerate() {
        let mut index = 0u32;
        for (pi, part) in r.geom.0.iter().enumerate() {
            let total = part.length::<Euclidean>();
            if total <= 0.0 {
                continue;
            }
            let mut cuts: Vec<f64> = splits
                .get(&(ri as u32, pi as u32))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|d| *d > tol && *d < total - tol)
                .collect();
            cuts.push(0.0);
            cuts.push(total);
            cuts.sort_by(|a, b| a.total_cmp(b));
            cuts.dedup_by(|a, b| (*a - *b).abs() <= tol.max(1e-6));
            if let Some(l) = cuts.last_mut() {
                *l = total;
            }
            merge_slivers(&mut cuts, p.min_segment_m);
            for w in cuts.windows(2) {
                let (a, b) = (w[0], w[1]);
                let n = ((b - a) / max_m).ceil().max(1.0) as usize;
                for k in 0..n {
                    let s0 = a + (b - a) * k as f64 / n as f64;
                    let s1 = a + (b - a) * (k + 1) as f64 / n as f64;
                    let id = if multi_source {
                        format!("{}:{}-{}", r.source, r.fid, index)
                    } else {
                        format!("{}-{}", r.fid, index)
                    };
                    out.push(Segment {
                        id,
                        pieces: vec![Piece {
                            road: ri as u32,
                            part: pi as u32,
                            start_m: s0,
                            end_m: s1,
                        }],
                        class: r.class,
                        aadt: r.aadt,
                        name: r.name.clone(),
                        geom: substring(part, s0, s1),
                    });
                    index += 1;
                }
            }
        }
    }
    join_slivers(out, p.min_segment_m, tol)
}

/// Join every segment shorter than `min_m` to a neighbour of the same road
/// (same name) and class that shares one of its ends (within `tol`), until
/// none is left that has such a neighbour. A sliver prefers a junction where
/// only the two meet (the road simply goes on), then the shorter neighbour.
/// The neighbour keeps its id; the joined line runs through the shared end.
pub(crate) fn join_slivers(mut segs: Vec<Segment>, min_m: f64, tol: f64) -> Vec<Segment> {
    type End = GeomWithData<[f64; 2], (usize, usize)>;
    let ends_of = |s: &Segment, i: usize| -> Vec<End> {
        match (s.geom.0.first(), s.geom.0.last()) {
            (Some(f), Some(l)) => vec![
                GeomWithData::new([f.x, f.y], (i, 0)),
                GeomWithData::new([l.x, l.y], (i, 1)),
            ],
            _ => Vec::new(),
        }
    };
    let mut tree: RTree<End> = RTree::bulk_load(
        segs.iter()
            .enumerate()
            .flat_map(|(i, s)| ends_of(s, i))
            .collect(),
    );
    let mut alive = vec![true; segs.len()];
    let r2 = (tol + 1e-6) * (tol + 1e-6);
    loop {
        // Slivers, shortest first (ties by position: deterministic).
        let mut slivers: Vec<usize> = (0..segs.len())
            .filter(|&i| alive[i] && segs[i].length_km() * 1000.0 < min_m)
            .collect();
        slivers.sort_by(|&i, &j| {
            segs[i]
                .length_km()
                .total_cmp(&segs[j].length_km())
                .then(i.cmp(&j))
        });
        let mut joined = false;
        for i in slivers {
            if !alive[i] || segs[i].length_km() * 1000.0 >= min_m {
                continue;
            }
            // (degree of the shared end, neighbour length, neighbour, sliver end, neighbour end)
            let mut best: Option<(usize, f64, usize, usize, usize)> = None;
            for e in ends_of(&segs[i], i) {
                let k = e.data.1;
                let mut hits: Vec<(usize, usize)> = tree
                    .locate_within_distance(*e.geom(), r2)
                    .map(|h| h.data)
                    .filter(|(j, _)| *j != i)
                    .collect();
                hits.sort_unstable();
                let degree = hits.len();
                for (j, m) in hits {
                    let t = &segs[j];
                    if t.class != segs[i].class || t.name != segs[i].name {
                        continue;
                    }
                    let key = (degree, t.length_km(), j, k, m);
                    if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
                        best = Some(key);
                    }
                }
            }
            let Some((_, _, j, k, m)) = best else {
                continue;
            };
            for e in ends_of(&segs[i], i).into_iter().chain(ends_of(&segs[j], j)) {
                tree.remove(&e);
            }
            // Orient both so the sliver ends where the neighbour starts,
            // join, and keep the neighbour's own direction.
            let mut a = segs[i].geom.0.clone();
            let mut b = segs[j].geom.0.clone();
            if k == 0 {
                a.reverse();
            }
            if m == 1 {
                b.reverse();
            }
            a.extend(b.into_iter().skip(1));
            if m == 1 {
                a.reverse();
            }
            a.dedup();
            if a.len() == 1 {
                a.push(a[0]);
            }
            let pieces = std::mem::take(&mut segs[i].pieces);
            let aadt = segs[i].aadt;
            alive[i] = false;
            let n = &mut segs[j];
            n.geom = LineString(a);
            n.pieces.extend(pieces);
            n.aadt = n.aadt.or(aadt);
            for e in ends_of(&segs[j], j) {
                tree.insert(e);
            }
            joined = true;
        }
        if !joined {
            break;
        }
    }
    segs.into_iter()
        .zip(alive)
        .filter_map(|(s, a)| a.then_some(s))
        .collect()
}

/// Remove interior cuts until no piece between cuts is shorter than
/// `min_m` (or one piece is left): each sliver joins its shorter neighbour,
/// so the merged piece stays as short as it can. `cuts` is sorted and
/// starts at 0 and ends at the part's length.
pub(crate) fn merge_slivers(cuts: &mut Vec<f64>, min_m: f64) {
    while cuts.len() > 2 {
        let shortest = (0..cuts.len() - 1)
            .min_by(|&i, &j| (cuts[i + 1] - cuts[i]).total_cmp(&(cuts[j + 1] - cuts[j])));
        let Some(i) = shortest else { break };
        if cuts[i + 1] - cuts[i] >= min_m {
            break;
        }
        // Piece i lies between cuts i and i+1; drop the cut it shares with
        // its shorter neighbour (the part's ends are never dropped).
        let left = (i > 0).then(|| cuts[i] - cuts[i - 1]);
        let right = (i + 2 < cuts.len()).then(|| cuts[i + 2] - cuts[i + 1]);
        let drop = match (left, right) {
            (Some(l), Some(r)) if l <= r => i,
            (Some(_), None) => i,
            _ => i + 1,
        };
        cuts.remove(drop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slivers_join_their_shorter_neighbour_and_ends_stay() {
        // Pieces 1000, 10, 400, 30, 2000 m: the 10 m piece joins the 400 m
        // one, then the 30 m piece joins the 410 m one.
        let mut cuts = vec![0.0, 1000.0, 1010.0, 1410.0, 1440.0, 3440.0];
        merge_slivers(&mut cuts, 200.0);
        assert_eq!(cuts, vec![0.0, 1000.0, 1440.0, 3440.0]);
        // A part shorter than the minimum stays one piece.
        let mut short = vec![0.0, 40.0, 90.0];
        merge_slivers(&mut short, 200.0);
        assert_eq!(short, vec![0.0, 90.0]);
        // A sliver at either end joins its only neighbour.
        let mut ends = vec![0.0, 5.0, 900.0, 905.0];
        merge_slivers(&mut ends, 200.0);
        assert_eq!(ends, vec![0.0, 905.0]);
        // 0 keeps every junction.
        let mut keep = vec![0.0, 1.0, 2.0];
        merge_slivers(&mut keep, 0.0);
        assert_eq!(keep, vec![0.0, 1.0, 2.0]);
    }

    fn seg(id: &str, road: u32, pts: &[(f64, f64)], class: RoadClass, name: &str) -> Segment {
        let geom = LineString::from(pts.to_vec());
        let len = geom.length::<Euclidean>();
        Segment {
            id: id.into(),
            pieces: vec![Piece {
                road,
                part: 0,
                start_m: 0.0,
                end_m: len,
            }],
            class,
            aadt: None,
            name: Some(name.into()),
            geom,
        }
    }

    #[test]
    fn slivers_join_a_neighbour_of_the_same_road_and_class_across_junctions() {
        use RoadClass::*;
        let segs = vec![
            // Road X, tertiary, drawn east; a 50 m piece of it as its own
            // feature between junctions; X goes on as secondary.
            seg("1-0", 1, &[(0.0, 0.0), (1000.0, 0.0)], Tertiary, "X"),
            seg("2-0", 2, &[(1050.0, 0.0), (1000.0, 0.0)], Tertiary, "X"),
            seg("3-0", 3, &[(1050.0, 0.0), (2000.0, 0.0)], Secondary, "X"),
            // Road Y, tertiary, branching off at the sliver's west end.
            seg("4-0", 4, &[(1000.0, 0.0), (1000.0, 500.0)], Tertiary, "Y"),
            // A lone 100 m piece of road Z: nothing to join.
            seg("5-0", 5, &[(5000.0, 0.0), (5100.0, 0.0)], Track, "Z"),
        ];
        let out = join_slivers(segs, 200.0, 1.0);
        let ids: Vec<&str> = out.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["1-0", "3-0", "4-0", "5-0"]);
        let x = &out[0];
        // The neighbour keeps its direction; the sliver is reversed onto it.
        assert_eq!(
            x.geom.0,
            vec![
                geo::coord! { x: 0.0, y: 0.0 },
                geo::coord! { x: 1000.0, y: 0.0 },
                geo::coord! { x: 1050.0, y: 0.0 }
            ]
        );
        assert_eq!(x.pieces.len(), 2);
        assert!((x.length_km() - 1.05).abs() < 1e-12);
        assert!((out[3].length_km() - 0.1).abs() < 1e-12);

        // Two candidates: the sliver prefers the end where only one road
        // meets it (the road goes on) to a three-way junction.
        let segs = vec![
            seg("a", 1, &[(0.0, 0.0), (300.0, 0.0)], Track, "W"),
            seg("b", 2, &[(300.0, 0.0), (400.0, 0.0)], Track, "W"),
            seg("c", 3, &[(400.0, 0.0), (5000.0, 0.0)], Track, "W"),
            seg("d", 4, &[(300.0, 0.0), (300.0, 900.0)], Primary, "V"),
        ];
        let out = join_slivers(segs, 200.0, 1.0);
        let ids: Vec<&str> = out.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "d"]);
        assert!((out[1].length_km() - 4.7).abs() < 1e-12);
    }

    #[test]
    fn substring_cuts_a_polyline_at_distances() {
        let ls = LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)]);
        let s = substring(&ls, 5.0, 15.0);
        assert_eq!(
            s,
            LineString::from(vec![(5.0, 0.0), (10.0, 0.0), (10.0, 5.0)])
        );
        assert!((s.length::<Euclidean>() - 10.0).abs() < 1e-12);
    }
}
