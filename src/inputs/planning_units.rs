//! Planning units where there is no cadastre: a hexagon (or square) tiling
//! of the AOI's farmland, each tile clipped to the AOI, with its current use
//! from the land cover. Conservation planners (Marxan, prioritizr,
//! Zonation) work on such units for the same reason: most landscapes have
//! no farm cadastre. The units then go through the parcel stage and every
//! output exactly as parcels do.
//!
//! A grid cell is farmland when it is inside the AOI, outside every
//! conservation area, has an elevation, and is neither forest nor water: by its land-cover code
//! when a land-cover raster is given, else by a forest fraction below one
//! half. A tile is kept when at least `min_farmland_share` of its cells
//! inside the AOI are farmland (a cell belongs to the tile holding its
//! centre); its use is that of the commonest land-cover code among its
//! farmland cells, through `landcover_uses`.

use geo::{BooleanOps, BoundingRect, Contains};

#[cfg(test)]
use crate::config::LandUse;
use crate::config::{LandcoverClasses, PlanningUnits, UnitShape};
use crate::grid::Grid;
use crate::inputs::Parcel;

/// What the tiling made, for the summary and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiling {
    pub shape: UnitShape,
    pub area_ha: f64,
    pub min_farmland_share: f64,
    /// Tiles with a cell of the AOI, and those kept as units.
    pub tiles: usize,
    pub units: usize,
    /// Units cut by the AOI's edge.
    pub clipped: usize,
}

/// One tile's tally of the cells whose centres it holds.
#[derive(Default, Clone)]
struct Tally {
    aoi: u32,
    farm: u32,
    /// Land-cover code -> farmland cells of it.
    codes: Vec<(i32, u32)>,
}

/// The tile layout: hexagons (pointy-top, odd rows shifted right by half a
/// tile) or squares, anchored at the grid's south-west corner.
struct Layout {
    shape: UnitShape,
    /// Hexagon: centre to vertex; square: side.
    size: f64,
    ox: f64,
    oy: f64,
    cols: usize,
    rows: usize,
}

const SQRT3: f64 = 1.732_050_807_568_877_2;

impl Layout {
    fn new(shape: UnitShape, area_m2: f64, grid: &Grid) -> Layout {
        let (ox, oy) = (grid.x_min, grid.y_min());
        let (w, h) = (grid.x_max() - ox, grid.y_max - oy);
        match shape {
            UnitShape::Hexagon => {
                let size = (2.0 * area_m2 / (3.0 * SQRT3)).sqrt();
                Layout {
                    shape,
                    size,
                    ox,
                    oy,
                    cols: (w / (SQRT3 * size)).ceil() as usize + 2,
                    rows: (h / (1.5 * size)).ceil() as usize + 2,
                }
            }
            UnitShape::Square => {
                let size = area_m2.sqrt();
                Layout {
                    shape,
                    size,
                    ox,
                    oy,
                    cols: (w / size).ceil() as usize + 1,
                    rows: (h / size).ceil() as usize + 1,
                }
            }
        }
    }

    /// The (col, row) of the tile holding (x, y); rows count northward.
    fn tile_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let (x, y) = (x - self.ox, y - self.oy);
        let (c, r) = match self.shape {
            UnitShape::Square => (
                (x / self.size).floor() as i64,
                (y / self.size).floor() as i64,
            ),
            UnitShape::Hexagon => {
                // Axial coordinates, rounded in cube coordinates.
                let q = (SQRT3 / 3.0 * x - y / 3.0) / self.size;
                let r = (2.0 / 3.0 * y) / self.size;
                let s = -q - r;
                let (mut rq, mut rr, rs) = (q.round(), r.round(), s.round());
                let (dq, dr, ds) = ((rq - q).abs(), (rr - r).abs(), (rs - s).abs());
                if dq > dr && dq > ds {
                    rq = -rr - rs;
                } else if dr > ds {
                    rr = -rq - rs;
                }
                let (q, r) = (rq as i64, rr as i64);
                // Axial to odd-r offset columns.
                (q + (r - (r & 1)) / 2, r)
            }
        };
        // One tile of margin on the west and south (hexagons reach past
        // the anchor).
        let (c, r) = (c + 1, r + 1);
        (c >= 0 && r >= 0 && (c as usize) < self.cols && (r as usize) < self.rows)
            .then_some((c as usize, r as usize))
    }

    /// The tile's outline, counter-clockwise.
    fn polygon(&self, col: usize, row: usize) -> geo::Polygon<f64> {
        let (c, r) = (col as i64 - 1, row as i64 - 1);
        let ring: Vec<(f64, f64)> = match self.shape {
            UnitShape::Square => {
                let (x0, y0) = (
                    self.ox + c as f64 * self.size,
                    self.oy + r as f64 * self.size,
                );
                let (x1, y1) = (x0 + self.size, y0 + self.size);
                vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
            }
            UnitShape::Hexagon => {
                let q = c - (r - (r & 1)) / 2;
                let cx = self.ox + self.size * (SQRT3 * q as f64 + SQRT3 / 2.0 * r as f64);
                let cy = self.oy + self.size * 1.5 * r as f64;
                let mut v: Vec<(f64, f64)> = (0..6)
                    .map(|k| {
                        let a = (60.0 * k as f64 - 30.0).to_radians();
                        (cx + self.size * a.cos(), cy + self.size * a.sin())
                    })
                    .collect();
                v.push(v[0]);
                v
            }
        };
        geo::Polygon::new(ring.into(), vec![])
    }
}

/// The landscape's inputs the tiling reads.
pub struct Cover<'a> {
    pub grid: &'a Grid,
    pub aoi: &'a geo::MultiPolygon<f64>,
    pub aoi_mask: &'a [u8],
    pub conservation_id: &'a [u16],
    pub forest: &'a [f32],
    /// Cells with no elevation cannot be appraised: never farmland.
    pub elevation: &'a [f32],
    pub landcover: Option<&'a [f32]>,
    pub classes: &'a LandcoverClasses,
}

/// Tile the farmland of the AOI into planning units (parcels with ids
/// `PU1`, `PU2`, ... from north-west to south-east).
pub fn tile(cover: &Cover, p: &PlanningUnits) -> (Vec<Parcel>, Tiling) {
    let grid = cover.grid;
    let layout = Layout::new(p.shape, p.area_ha * 10_000.0, grid);
    let mut tally = vec![Tally::default(); layout.cols * layout.rows];
    for row in 0..grid.height {
        for col in 0..grid.width {
            let i = row * grid.width + col;
            if cover.aoi_mask[i] == 0 {
                continue;
            }
            let (x, y) = grid.cell_center(col, row);
            let Some((c, r)) = layout.tile_of(x, y) else {
                continue;
            };
            let t = &mut tally[r * layout.cols + c];
            t.aoi += 1;
            if cover.conservation_id[i] != 0 || cover.elevation[i].is_nan() {
                continue;
            }
            let code = match cover.landcover {
                Some(lc) => {
                    let v = lc[i];
                    if v.is_nan() {
                        continue;
                    }
                    let code = v as i32;
                    if cover.classes.forest.contains(&code) || cover.classes.water.contains(&code) {
                        continue;
                    }
                    Some(code)
                }
                None => {
                    let f = cover.forest[i];
                    if f.is_nan() || f >= 0.5 {
                        continue;
                    }
                    None
                }
            };
            t.farm += 1;
            if let Some(code) = code {
                match t.codes.iter_mut().find(|(c, _)| *c == code) {
                    Some(e) => e.1 += 1,
                    None => t.codes.push((code, 1)),
                }
            }
        }
    }
    // The AOI's vertices, to find the tiles its edge may cut.
    let aoi_points: Vec<[f64; 2]> = cover
        .aoi
        .0
        .iter()
        .flat_map(|poly| {
            std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .flat_map(|ring| ring.0.iter().map(|c| [c.x, c.y]))
        })
        .collect();
    let aoi_points = rstar::RTree::bulk_load(aoi_points);
    let mut units = Vec::new();
    let mut tiles = 0;
    let mut clipped = 0;
    // North to south, west to east.
    for r in (0..layout.rows).rev() {
        for c in 0..layout.cols {
            let t = &tally[r * layout.cols + c];
            if t.aoi == 0 {
                continue;
            }
            tiles += 1;
            if (t.farm as f64) < p.min_farmland_share * t.aoi as f64 || t.farm == 0 {
                continue;
            }
            let hex = layout.polygon(c, r);
            let Some(bb) = hex.bounding_rect() else {
                continue;
            };
            let edge = hex
                .exterior()
                .0
                .iter()
                .any(|v| !cover.aoi.contains(&geo::Point::from(*v)))
                || aoi_points
                    .locate_in_envelope(&rstar::AABB::from_corners(
                        [bb.min().x, bb.min().y],
                        [bb.max().x, bb.max().y],
                    ))
                    .next()
                    .is_some();
            let geom = if edge {
                clipped += 1;
                geo::MultiPolygon::new(vec![hex]).intersection(cover.aoi)
            } else {
                geo::MultiPolygon::new(vec![hex])
            };
            if geom.0.is_empty() {
                continue;
            }
            // The commonest land-cover code of its farmland (the lower
            // code on a tie).
            let code = t
                .codes
                .iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(c, _)| *c);
            let land_use = code
                .and_then(|c| p.landcover_uses.get(&c.to_string()).copied())
                .unwrap_or(p.default_use);
            let n = units.len() + 1;
            units.push(Parcel {
                fid: n as u64,
                id: format!("PU{n}"),
                land_use,
                use_value: match code {
                    Some(c) => format!("land cover {c}"),
                    None => "no land cover".into(),
                },
                geom,
            });
        }
    }
    let tiling = Tiling {
        shape: p.shape,
        area_ha: p.area_ha,
        min_farmland_share: p.min_farmland_share,
        tiles,
        units: units.len(),
        clipped,
    };
    (units, tiling)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    fn square_grid(n: usize, res: f64) -> Grid {
        Grid {
            crs: "EPSG:32718".into(),
            x_min: 0.0,
            y_max: n as f64 * res,
            res,
            width: n,
            height: n,
        }
    }

    #[test]
    fn hexagons_tile_the_plane_with_the_area_asked() {
        let g = square_grid(10, 100.0);
        let l = Layout::new(UnitShape::Hexagon, 250_000.0, &g);
        let hex = l.polygon(3, 3);
        assert!((hex.unsigned_area() - 250_000.0).abs() < 1e-6);
        // Every point lies in the tile whose hexagon contains it.
        for k in 0..2000 {
            let x = (k as f64 * 37.77) % 1000.0;
            let y = (k as f64 * 91.31) % 1000.0;
            let (c, r) = l.tile_of(x, y).unwrap();
            let poly = l.polygon(c, r);
            let p = geo::Point::new(x, y);
            assert!(
                poly.contains(&p) || geo::Intersects::intersects(&poly, &p),
                "({x}, {y}) not in tile {c},{r}"
            );
        }
    }

    #[test]
    fn units_cover_the_farmland_clipped_to_the_aoi() {
        // 2 km x 2 km at 20 m; the western half forest, a reserve in the
        // north-east quarter; the AOI the south 1.5 km.
        let n = 100;
        let g = square_grid(n, 20.0);
        let mut lc = vec![2.0f32; n * n];
        let mut cons = vec![0u16; n * n];
        let mut mask = vec![0u8; n * n];
        for row in 0..n {
            for col in 0..n {
                let i = row * n + col;
                if col < n / 2 {
                    lc[i] = 1.0;
                }
                if row < n / 4 && col >= n / 2 {
                    cons[i] = 1;
                }
                mask[i] = (row >= n / 4) as u8;
            }
        }
        let a = geo::MultiPolygon::new(vec![geo::Polygon::new(
            vec![
                (0.0, 0.0),
                (2000.0, 0.0),
                (2000.0, 1500.0),
                (0.0, 1500.0),
                (0.0, 0.0),
            ]
            .into(),
            vec![],
        )]);
        let classes = LandcoverClasses::default();
        let forest = vec![0.0f32; n * n];
        let elev = vec![300.0f32; n * n];
        let cover = Cover {
            grid: &g,
            aoi: &a,
            aoi_mask: &mask,
            conservation_id: &cons,
            forest: &forest,
            elevation: &elev,
            landcover: Some(&lc),
            classes: &classes,
        };
        for shape in [UnitShape::Hexagon, UnitShape::Square] {
            let p = PlanningUnits {
                shape,
                area_ha: 4.0,
                landcover_uses: [("2".to_string(), LandUse::DegradedPasture)].into(),
                ..Default::default()
            };
            let (units, tiling) = tile(&cover, &p);
            assert_eq!(units.len(), tiling.units);
            assert!(tiling.clipped > 0);
            let mut area = 0.0;
            for u in &units {
                assert_eq!(u.land_use, LandUse::DegradedPasture);
                let b = u.geom.bounding_rect().unwrap();
                // Inside the AOI, in the farmland (eastern) half, give or
                // take a tile.
                assert!(b.max().y <= 1500.0 + 1e-6, "{:?}", b);
                assert!(b.max().x > 1000.0 - 250.0);
                area += u.geom.unsigned_area();
            }
            // The farmland is 1 km x 1.5 km = 150 ha: the units cover it to
            // within the tiles cut by the forest edge.
            assert!(
                (area / 1e4 - 150.0).abs() < 15.0,
                "{shape:?}: {} ha",
                area / 1e4
            );
            // The ids run in order.
            assert_eq!(units[0].id, "PU1");
        }
        // Without land cover: by forest fraction, the default use.
        let forest: Vec<f32> = lc
            .iter()
            .map(|c| if *c == 1.0 { 1.0 } else { 0.0 })
            .collect();
        let cover = Cover {
            forest: &forest,
            landcover: None,
            ..cover
        };
        let (units, _) = tile(&cover, &PlanningUnits::default());
        assert!(!units.is_empty());
        assert!(units.iter().all(|u| u.land_use == LandUse::Pasture));
    }
}
