//! Synthetic landscapes modelled on Alto Mayo (San Martín, Peru): a valley
//! floor at 800-1,000 m between ridges rising past 3,000 m, a paved highway
//! along the valley through 4-6 market towns, gravel and dirt feeders and
//! tracks into the hills, forest cleared mostly near roads and towns, a
//! historical loss raster on the road frontier, a large protected forest on
//! the northern ridges (about 20% of the area) plus 2-3 smaller conservation
//! areas, thousands of farmland parcels and a population raster.
//!
//! Layers are written in mixed formats and CRSs on purpose, so every import
//! path is exercised: roads as GeoPackage in EPSG:4326, markets as Shapefile,
//! parcels and AOI as GeoJSON, conservation as FlatGeobuf in UTM 18S, the DEM,
//! population and loss as GeoTIFF in EPSG:4326, forest and land cover as
//! GeoTIFF in UTM 18S. The same seed gives the same files.

use std::path::{Path, PathBuf};

use geo::{Area, Contains, Coord, LineString, Point, Polygon};
use noise::{Fbm, MultiFractal, NoiseFn, Perlin};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::RTree;

use crate::error::{Error, Result};
use crate::io::raster::{self, Placement, Resample};
use crate::io::vector::{write_layer, FieldKind, OutValue};
use crate::io::{outdir::Staging, srs};
use crate::progress::Progress;

/// Parameters of `greenhalo synth`.
#[derive(Debug, Clone)]
pub struct SynthParams {
    pub seed: u64,
    pub width_km: f64,
    pub height_km: f64,
    pub resolution_m: f64,
    /// The parcel lattice's smallest and largest spacing, metres.
    pub parcel_spacing_m: (f64, f64),
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            seed: 7,
            width_km: 60.0,
            height_km: 50.0,
            resolution_m: 100.0,
            parcel_spacing_m: (140.0, 470.0),
        }
    }
}

/// UTM 18S, the zone of Alto Mayo.
const UTM_EPSG: &str = "EPSG:32718";
/// South-west corner of the landscape in UTM 18S: near Nueva Cajamarca, so
/// the lon/lat written to files fall where Alto Mayo is.
const X0: f64 = 245_000.0;
const Y0: f64 = 9_310_000.0;
/// Raster margin beyond the landscape box, metres (the AOI lies inside it).
const MARGIN: f64 = 1_000.0;
/// 3 arc-seconds, the cell of SRTM-90 and WorldPop rasters.
const ARC3: f64 = 1.0 / 1200.0;

// Land-cover codes written (see config::LandcoverClasses defaults).
const LC_FOREST: u8 = 1;
const LC_OPEN: u8 = 2;
const LC_WATER: u8 = 3;
const LC_URBAN: u8 = 4;

struct Town {
    name: &'static str,
    population: f64,
    at: Coord<f64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Highway,
    Secondary,
    Tertiary,
    Track,
}

struct RoadLine {
    kind: Kind,
    name: String,
    aadt: Option<f64>,
    pts: Vec<Coord<f64>>,
}

/// The shape of the landscape: valley axis, river, protected-area edge.
struct Terrain {
    w: f64,
    h: f64,
    phase: f64,
    ridge: Fbm<Perlin>,
    detail: Fbm<Perlin>,
    edge: Fbm<Perlin>,
}

impl Terrain {
    fn new(seed: u32, w: f64, h: f64, phase: f64) -> Terrain {
        Terrain {
            w,
            h,
            phase,
            ridge: Fbm::<Perlin>::new(seed)
                .set_octaves(5)
                .set_frequency(1.0 / 12_000.0),
            detail: Fbm::<Perlin>::new(seed.wrapping_add(1))
                .set_octaves(4)
                .set_frequency(1.0 / 2_500.0),
            edge: Fbm::<Perlin>::new(seed.wrapping_add(2))
                .set_octaves(3)
                .set_frequency(1.0 / 8_000.0),
        }
    }

    /// y of the valley axis (metres from the south edge) at x: the valley runs
    /// WNW-ESE with a gentle meander, as the Alto Mayo does.
    fn axis_y(&self, x: f64) -> f64 {
        let t = x / self.w;
        self.h * (0.48 - 0.08 * (t - 0.5))
            + 0.06 * self.h * (std::f64::consts::TAU * 0.8 * t + self.phase).sin()
    }

    /// The river meanders around the axis.
    fn river_y(&self, x: f64) -> f64 {
        self.axis_y(x) - 400.0 + 350.0 * (x / 1_700.0 + self.phase).sin()
    }

    /// y of the protected forest's southern edge: the northern ridges.
    fn pa_edge_y(&self, x: f64) -> f64 {
        0.80 * self.h + 0.05 * self.h * self.edge.get([x, 0.5])
    }

    fn elevation(&self, x: f64, y: f64) -> f64 {
        let t = x / self.w;
        // Valley floor falls from 1,000 m (west) to 820 m (east).
        let floor = 1_000.0 - 180.0 * t.clamp(0.0, 1.0);
        let d = (y - self.axis_y(x)).abs();
        let half_width = 6_500.0 + 1_500.0 * self.ridge.get([x, 100.0]);
        let bumps = 12.0 * self.detail.get([x, y]);
        if d <= half_width {
            return floor + 45.0 * (d / half_width).powi(2) + bumps;
        }
        let rise = d - half_width;
        let relief = 1_700.0 * (1.0 - (-rise / 9_000.0).exp()) + 0.035 * rise;
        let rough = (rise / 3_000.0).min(1.0);
        // Ridged noise carves spurs and side valleys into the slopes.
        let spurs = 1.0 - 2.0 * self.ridge.get([x * 2.5, y * 2.5]).abs();
        floor
            + 45.0
            + relief
            + rough
                * (320.0 * spurs + 200.0 * self.ridge.get([x, y]) + 80.0 * self.detail.get([x, y]))
    }
}

/// Generate a landscape into `out` (written whole or not at all); returns the
/// path of its landscape.toml.
pub fn generate(p: &SynthParams, out: &Path, progress: &Progress) -> Result<PathBuf> {
    if !(p.resolution_m >= 10.0 && p.resolution_m <= 1_000.0) {
        return Err(Error::Usage(format!(
            "--resolution {} m: use 10 to 1000 m",
            p.resolution_m
        )));
    }
    if !(p.width_km >= 5.0 && p.height_km >= 5.0) {
        return Err(Error::Usage(
            "the landscape must be at least 5 x 5 km".into(),
        ));
    }
    let (lo, hi) = p.parcel_spacing_m;
    if !(lo >= 30.0 && hi > lo && hi <= 3_000.0) {
        return Err(Error::Usage(format!(
            "--parcel-spacing-m {lo},{hi}: the spacing must rise from at least 30 m to at most 3000 m"
        )));
    }
    let bar = progress.bar(8, "synthesising");
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let (w, h) = (p.width_km * 1_000.0, p.height_km * 1_000.0);
    let terrain = Terrain::new(rng.gen(), w, h, rng.gen_range(0.0..std::f64::consts::TAU));

    // The raster world: the box plus a margin, at the asked resolution.
    let res = p.resolution_m;
    let nx = ((w + 2.0 * MARGIN) / res).ceil() as usize;
    let ny = ((h + 2.0 * MARGIN) / res).ceil() as usize;
    let wx0 = -MARGIN;
    let wy1 = -MARGIN + ny as f64 * res; // north edge, local metres
    let center = |c: usize, r: usize| (wx0 + (c as f64 + 0.5) * res, wy1 - (r as f64 + 0.5) * res);

    // Elevation and slope.
    let mut elev = vec![0f32; nx * ny];
    for r in 0..ny {
        for c in 0..nx {
            let (x, y) = center(c, r);
            elev[r * nx + c] = terrain.elevation(x, y) as f32;
        }
    }
    let slope = slope_deg(&elev, nx, ny, res);
    bar.inc(1);

    // Towns along the valley, on the highway.
    let towns = place_towns(&mut rng, &terrain);
    // Roads.
    let roads = build_roads(&mut rng, &terrain, &towns, &elev, nx, ny, res);
    bar.inc(1);

    // Distances to roads and towns, for clearing and population.
    let segs: Vec<geo::Line<f64>> = roads
        .iter()
        .flat_map(|rd| rd.pts.windows(2).map(|s| geo::Line::new(s[0], s[1])))
        .collect();
    let tree = RTree::bulk_load(segs);
    let town_radius = |t: &Town| 160.0 * (t.population / 1_000.0).sqrt();
    let pa_poly = protected_area_polygon(&terrain);
    let small_pas = small_conservation_areas(&mut rng, &terrain);

    // Land cover, forest and historical loss.
    let clearing_noise = Fbm::<Perlin>::new(rng.gen())
        .set_octaves(4)
        .set_frequency(1.0 / 4_000.0);
    let mut landcover = vec![LC_FOREST; nx * ny];
    let mut forest = vec![0u8; nx * ny];
    let mut lossyear = vec![0u8; nx * ny];
    let mut dist_road = vec![0f32; nx * ny];
    for r in 0..ny {
        for c in 0..nx {
            let i = r * nx + c;
            let (x, y) = center(c, r);
            let pt = Point::new(x, y);
            let dr = tree
                .nearest_neighbor(&pt)
                .map(|l| rstar::PointDistance::distance_2(l, &pt).sqrt())
                .unwrap_or(1e9);
            dist_road[i] = dr as f32;
            let (dt, near_town) = towns
                .iter()
                .map(|t| {
                    let d = ((x - t.at.x).powi(2) + (y - t.at.y).powi(2)).sqrt();
                    (d, d < town_radius(t))
                })
                .fold((f64::INFINITY, false), |a, b| (a.0.min(b.0), a.1 || b.1));
            if (y - terrain.river_y(x)).abs() < 0.8 * res.max(100.0) {
                landcover[i] = LC_WATER;
                continue;
            }
            if near_town {
                landcover[i] = LC_URBAN;
                continue;
            }
            let in_pa = pa_poly.contains(&pt) || small_pas.iter().any(|a| a.1.contains(&pt));
            let valley = (y - terrain.axis_y(x)).abs() < 7_000.0;
            // Logit of having been cleared: near roads and towns, on the
            // valley floor, on gentle slopes, outside protected areas.
            let z = 2.6 - 1.25 * (dr / 1_000.0) - 0.18 * (dt / 1_000.0)
                + if valley { 0.8 } else { -0.4 }
                - 0.05 * slope[i] as f64
                - if in_pa { 2.2 } else { 0.0 }
                + 1.3 * clearing_noise.get([x, y]);
            let u: f64 = rng.gen_range(1e-9..1.0);
            let zt = z + 0.9 * (u / (1.0 - u)).ln();
            if zt > 0.0 {
                landcover[i] = LC_OPEN; // cleared before 2001
            } else if zt > -1.1 {
                landcover[i] = LC_OPEN; // cleared 2001-2023: the frontier
                lossyear[i] = rng.gen_range(1..=23);
            } else {
                forest[i] = 1;
            }
        }
    }
    bar.inc(1);

    // Population: towns as Gaussian kernels; rural people on farmland near roads.
    let mut people = vec![0f32; nx * ny];
    let cell_ha = res * res / 10_000.0;
    for t in &towns {
        let sigma = 0.6 * town_radius(t);
        let reach = (3.0 * sigma / res).ceil() as i64;
        let (tc, tr) = (((t.at.x - wx0) / res) as i64, ((wy1 - t.at.y) / res) as i64);
        let mut weights = Vec::new();
        for r in (tr - reach).max(0)..=(tr + reach).min(ny as i64 - 1) {
            for c in (tc - reach).max(0)..=(tc + reach).min(nx as i64 - 1) {
                let (x, y) = center(c as usize, r as usize);
                let d2 = (x - t.at.x).powi(2) + (y - t.at.y).powi(2);
                weights.push((
                    r as usize * nx + c as usize,
                    (-d2 / (2.0 * sigma * sigma)).exp(),
                ));
            }
        }
        let total: f64 = weights.iter().map(|w| w.1).sum();
        for (i, wgt) in weights {
            people[i] += (t.population * wgt / total) as f32;
        }
    }
    for i in 0..nx * ny {
        if landcover[i] == LC_OPEN {
            // About 0.4 people/ha on farmland by a road, fading over 3 km.
            people[i] += (0.4 * cell_ha * (-(dist_road[i] as f64) / 3_000.0).exp()) as f32;
        }
    }
    bar.inc(1);

    // Parcels on farmland.
    let aoi = aoi_polygon(&mut rng, w, h);
    let parcels = build_parcels(
        &mut rng,
        &terrain,
        &aoi,
        &pa_poly,
        (&landcover, &elev, &slope, &dist_road),
        (nx, ny, res),
        p.parcel_spacing_m,
    );
    bar.inc(1);

    // ------------------------------------------------------------ write ----
    let staging = Staging::new(out, false)?;
    let dir = staging.path();
    let utm = srs::parse(UTM_EPSG)?;
    let wgs = srs::wgs84();
    let utm_wkt = utm.to_wkt().map_err(|e| Error::output(dir, e))?;
    let shift = |c: Coord<f64>| Coord {
        x: c.x + X0,
        y: c.y + Y0,
    };
    let world = Placement {
        geo_transform: [X0 + wx0, res, 0.0, Y0 + wy1, 0.0, -res],
        wkt: utm_wkt.clone(),
        width: nx,
        height: ny,
    };

    // AOI (GeoJSON, EPSG:4326).
    let aoi_utm = map_poly(&aoi, shift);
    write_layer(
        &dir.join("aoi.geojson"),
        "GeoJSON",
        "aoi",
        &utm,
        &wgs,
        &[("name", FieldKind::Str)],
        &[(
            geo::Geometry::Polygon(aoi_utm),
            vec![OutValue::Str("Alto Mayo (sintético)".into())],
        )],
    )?;

    // Roads (GeoPackage, EPSG:4326), Spanish attribute names and values.
    let road_feats: Vec<(geo::Geometry<f64>, Vec<OutValue>)> = roads
        .iter()
        .map(|rd| {
            let (clase, sup) = match rd.kind {
                Kind::Highway => ("nacional", "asfaltado"),
                Kind::Secondary => ("departamental", "afirmado"),
                Kind::Tertiary => ("vecinal", "sin_afirmar"),
                Kind::Track => ("trocha", "trocha"),
            };
            let ls = LineString(rd.pts.iter().map(|c| shift(*c)).collect());
            (
                geo::Geometry::LineString(ls),
                vec![
                    OutValue::Str(rd.name.clone()),
                    OutValue::Str(clase.into()),
                    OutValue::Str(sup.into()),
                    rd.aadt
                        .map(|a| OutValue::Int(a.round() as i64))
                        .unwrap_or(OutValue::Null),
                ],
            )
        })
        .collect();
    write_layer(
        &dir.join("roads.gpkg"),
        "GPKG",
        "red_vial",
        &utm,
        &wgs,
        &[
            ("nombre", FieldKind::Str),
            ("clase", FieldKind::Str),
            ("superficie", FieldKind::Str),
            ("imd", FieldKind::Int),
        ],
        &road_feats,
    )?;

    // Markets (Shapefile, EPSG:4326).
    let market_feats: Vec<_> = towns
        .iter()
        .map(|t| {
            (
                geo::Geometry::Point(Point(shift(t.at))),
                vec![
                    OutValue::Str(t.name.into()),
                    OutValue::Int(t.population as i64),
                ],
            )
        })
        .collect();
    write_layer(
        &dir.join("markets.shp"),
        "ESRI Shapefile",
        "markets",
        &utm,
        &wgs,
        &[("name", FieldKind::Str), ("population", FieldKind::Int)],
        &market_feats,
    )?;

    // Conservation areas (FlatGeobuf, UTM 18S).
    let mut cons = vec![(
        geo::Geometry::Polygon(map_poly(&pa_poly, shift)),
        vec![
            OutValue::Str("Bosque de Protección Alto Mayo (sintético)".into()),
            OutValue::Str("Bosque de Protección".into()),
        ],
    )];
    for (name, poly, cat) in &small_pas {
        cons.push((
            geo::Geometry::Polygon(map_poly(poly, shift)),
            vec![
                OutValue::Str(name.to_string()),
                OutValue::Str(cat.to_string()),
            ],
        ));
    }
    write_layer(
        &dir.join("conservation.fgb"),
        "FlatGeobuf",
        "conservation",
        &utm,
        &utm,
        &[("nombre", FieldKind::Str), ("categoria", FieldKind::Str)],
        &cons,
    )?;

    // Parcels (GeoJSON, EPSG:4326).
    let parcel_feats: Vec<_> = parcels
        .iter()
        .enumerate()
        .map(|(k, (poly, uso))| {
            (
                geo::Geometry::Polygon(map_poly(poly, shift)),
                vec![
                    OutValue::Str(format!("P{:05}", k + 1)),
                    OutValue::Str(uso.to_string()),
                ],
            )
        })
        .collect();
    write_layer(
        &dir.join("parcels.geojson"),
        "GeoJSON",
        "parcels",
        &utm,
        &wgs,
        &[("parcela_id", FieldKind::Str), ("uso", FieldKind::Str)],
        &parcel_feats,
    )?;
    bar.inc(1);

    // Rasters in UTM 18S: forest (0/1) and land cover.
    raster::write_geotiff(
        &dir.join("forest.tif"),
        &world,
        &forest,
        Some(255.0),
        "forest cover 0/1",
    )?;
    raster::write_geotiff(
        &dir.join("landcover.tif"),
        &world,
        &landcover,
        Some(0.0),
        "1 forest, 2 open/farmland, 3 water, 4 built-up",
    )?;
    // Rasters in EPSG:4326 at 3 arc-seconds, warped from the UTM fields as a
    // real DEM, WorldPop or Hansen tile would come.
    let scratch = dir.join(".scratch");
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    let ll = lonlat_placement(&world, &utm, &wgs)?;
    let to_ll =
        |name: &str, data_path: &Path, rs: Resample, desc: &str, nodata: f64| -> Result<()> {
            let mut v = raster::warp(data_path, 1, &ll, rs)?;
            for x in v.iter_mut() {
                if x.is_nan() {
                    *x = nodata as f32;
                }
            }
            raster::write_geotiff(&dir.join(name), &ll, &v, Some(nodata), desc)
        };
    let tmp = scratch.join("dem.tif");
    raster::write_geotiff(&tmp, &world, &elev, None, "")?;
    to_ll(
        "dem.tif",
        &tmp,
        Resample::Bilinear,
        "elevation (m)",
        -32768.0,
    )?;
    let tmp = scratch.join("population.tif");
    raster::write_geotiff(&tmp, &world, &people, None, "")?;
    to_ll(
        "population.tif",
        &tmp,
        Resample::Sum,
        "people per cell",
        -1.0,
    )?;
    bar.inc(1);
    let tmp = scratch.join("loss.tif");
    raster::write_geotiff(&tmp, &world, &lossyear, None, "")?;
    let mut loss_ll = raster::warp(&tmp, 1, &ll, Resample::Nearest)?;
    for x in loss_ll.iter_mut() {
        if x.is_nan() {
            *x = 255.0;
        }
    }
    let loss_u8: Vec<u8> = loss_ll.iter().map(|v| *v as u8).collect();
    raster::write_geotiff(
        &dir.join("forest_loss.tif"),
        &ll,
        &loss_u8,
        Some(255.0),
        "year of forest loss, 1-23 = 2001-2023 (as Hansen lossyear)",
    )?;
    std::fs::remove_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;

    std::fs::write(dir.join("landscape.toml"), landscape_toml(p)).map_err(|e| Error::io(dir, e))?;
    std::fs::write(
        dir.join("README.md"),
        readme(p, &towns, &roads, parcels.len()),
    )
    .map_err(|e| Error::io(dir, e))?;
    bar.finish_and_clear();
    let out = staging.commit()?;
    Ok(out.join("landscape.toml"))
}

fn map_poly(p: &Polygon<f64>, f: impl Fn(Coord<f64>) -> Coord<f64> + Copy) -> Polygon<f64> {
    let ring = |l: &LineString<f64>| LineString(l.0.iter().map(|c| f(*c)).collect());
    Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
}

/// Central-difference slope in degrees.
fn slope_deg(elev: &[f32], nx: usize, ny: usize, res: f64) -> Vec<f32> {
    let mut out = vec![0f32; nx * ny];
    for r in 0..ny {
        for c in 0..nx {
            let e = |c: usize, r: usize| elev[r * nx + c] as f64;
            let (c0, c1) = (c.saturating_sub(1), (c + 1).min(nx - 1));
            let (r0, r1) = (r.saturating_sub(1), (r + 1).min(ny - 1));
            let dzdx = (e(c1, r) - e(c0, r)) / ((c1 - c0).max(1) as f64 * res);
            let dzdy = (e(c, r1) - e(c, r0)) / ((r1 - r0).max(1) as f64 * res);
            out[r * nx + c] = (dzdx.hypot(dzdy)).atan().to_degrees() as f32;
        }
    }
    out
}

fn place_towns(rng: &mut ChaCha8Rng, t: &Terrain) -> Vec<Town> {
    // Towns of the Alto Mayo valley from west to east, with populations of
    // the order of their 2017 census figures (INEI): used as names only.
    const TOWNS: [(&str, f64); 6] = [
        ("Nueva Cajamarca", 45_000.0),
        ("Rioja", 24_000.0),
        ("Yantaló", 3_500.0),
        ("Moyobamba", 86_000.0),
        ("Jepelacio", 8_000.0),
        ("Soritor", 12_000.0),
    ];
    let n = rng.gen_range(4..=6usize);
    (0..n)
        .map(|i| {
            let f = 0.10 + 0.80 * i as f64 / (n - 1) as f64;
            let x = t.w * f + rng.gen_range(-1_500.0..1_500.0);
            let (name, population) = TOWNS[i];
            Town {
                name,
                population: (population * rng.gen_range(0.85..1.15)).round(),
                at: Coord {
                    x,
                    y: highway_y(t, x),
                },
            }
        })
        .collect()
}

/// The highway runs on the north bank, 1.8 km off the valley axis.
fn highway_y(t: &Terrain, x: f64) -> f64 {
    t.axis_y(x) + 1_800.0 + 250.0 * (x / 3_100.0).sin()
}

/// Grows a road from `start` by a random walk with heading `heading`
/// (radians), `step` metres a step, for about `length` metres; stops at the
/// box edge or when `stop` says so.
#[allow(clippy::too_many_arguments)]
fn walk(
    rng: &mut ChaCha8Rng,
    t: &Terrain,
    start: Coord<f64>,
    mut heading: f64,
    length: f64,
    step: f64,
    wiggle: f64,
    stop: &dyn Fn(Coord<f64>) -> bool,
) -> Vec<Coord<f64>> {
    let mut pts = vec![start];
    let target = heading;
    let mut done = 0.0;
    while done < length {
        heading += rng.gen_range(-wiggle..wiggle) + 0.25 * (target - heading);
        let last = *pts.last().expect("walk starts with a point");
        let next = Coord {
            x: last.x + step * heading.cos(),
            y: last.y + step * heading.sin(),
        };
        if next.x < 300.0
            || next.y < 300.0
            || next.x > t.w - 300.0
            || next.y > t.h - 300.0
            || stop(next)
        {
            break;
        }
        pts.push(next);
        done += step;
    }
    pts
}

#[allow(clippy::too_many_arguments)]
fn build_roads(
    rng: &mut ChaCha8Rng,
    t: &Terrain,
    towns: &[Town],
    _elev: &[f32],
    _nx: usize,
    _ny: usize,
    _res: f64,
) -> Vec<RoadLine> {
    let mut roads: Vec<RoadLine> = Vec::new();
    // Highway: vertices every 250 m, split into sections at the towns (like
    // the ministry's route sections), so the towns are junctions.
    let mut xs: Vec<f64> = (0..)
        .map(|k| 200.0 + 250.0 * k as f64)
        .take_while(|x| *x < t.w - 200.0)
        .collect();
    xs.extend(towns.iter().map(|tw| tw.at.x));
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.dedup_by(|a, b| (*a - *b).abs() < 1e-6);
    let line: Vec<Coord<f64>> = xs
        .iter()
        .map(|x| Coord {
            x: *x,
            y: highway_y(t, *x),
        })
        .collect();
    let mut cuts: Vec<usize> = towns
        .iter()
        .filter_map(|tw| line.iter().position(|c| (c.x - tw.at.x).abs() < 1e-6))
        .collect();
    cuts.insert(0, 0);
    cuts.push(line.len() - 1);
    cuts.sort_unstable();
    cuts.dedup();
    for (k, w) in cuts.windows(2).enumerate() {
        if w[1] > w[0] {
            roads.push(RoadLine {
                kind: Kind::Highway,
                name: format!("PE-5N tramo {}", k + 1),
                aadt: Some(rng.gen_range(2_500.0..4_500.0f64).round()),
                pts: line[w[0]..=w[1]].to_vec(),
            });
        }
    }
    let highway_pts = line;
    let pa_stop = |margin: f64| move |c: Coord<f64>| c.y > t.pa_edge_y(c.x) - margin;

    // Secondary (gravel) feeders: from each town, then from highway points,
    // north towards (not into) the protected ridges or south across the river.
    let mut starts: Vec<Coord<f64>> = towns.iter().map(|tw| tw.at).collect();
    for _ in 0..rng.gen_range(3..=5) {
        starts.push(highway_pts[rng.gen_range(5..highway_pts.len() - 5)]);
    }
    let mut secondaries = Vec::new();
    for (k, s) in starts.iter().enumerate() {
        let north = rng.gen_bool(0.45);
        let heading = if north { 1.45 } else { -1.6 } + rng.gen_range(-0.35..0.35);
        let len = rng.gen_range(6_000.0..14_000.0);
        let pts = walk(rng, t, *s, heading, len, 200.0, 0.18, &pa_stop(1_200.0));
        if pts.len() > 5 {
            secondaries.push(roads.len());
            roads.push(RoadLine {
                kind: Kind::Secondary,
                name: format!("SM-{:03}", 100 + k),
                // Feeders leaving a town carry more traffic.
                aadt: Some(
                    if k < towns.len() {
                        rng.gen_range(600.0..1_500.0f64)
                    } else {
                        rng.gen_range(150.0..600.0f64)
                    }
                    .round(),
                ),
                pts,
            });
        }
    }
    // Tertiary (dirt) roads branch off the secondaries.
    let mut tertiaries = Vec::new();
    for &si in &secondaries {
        let n = rng.gen_range(2..=4);
        for _ in 0..n {
            let parent = &roads[si].pts;
            if parent.len() < 6 {
                continue;
            }
            let j = rng.gen_range(3..parent.len() - 1);
            let dir = parent[j] - parent[j - 1];
            let side = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
            let heading = dir.y.atan2(dir.x) + side * rng.gen_range(1.0..1.6);
            let len = rng.gen_range(2_500.0..7_000.0);
            let start = parent[j];
            let pts = walk(rng, t, start, heading, len, 150.0, 0.22, &pa_stop(300.0));
            if pts.len() > 4 {
                tertiaries.push(roads.len());
                let k = roads.len();
                roads.push(RoadLine {
                    kind: Kind::Tertiary,
                    name: format!("SM-{:03} ramal {}", 100 + si, k),
                    aadt: Some(rng.gen_range(30.0..200.0f64).round()),
                    pts,
                });
            }
        }
    }
    // Tracks off the tertiaries, uphill; the northern ones reach into the
    // protected forest, as illegal logging and colonisation tracks do.
    for &ti in &tertiaries {
        let n = rng.gen_range(1..=3);
        for _ in 0..n {
            let parent = &roads[ti].pts;
            if parent.len() < 4 {
                continue;
            }
            let j = rng.gen_range(2..parent.len());
            let start = parent[j];
            let north_side = start.y > t.axis_y(start.x);
            let heading = if north_side { 1.57 } else { -1.57 } + rng.gen_range(-0.6..0.6);
            let len = rng.gen_range(1_500.0..5_000.0);
            let deep = |c: Coord<f64>| c.y > t.pa_edge_y(c.x) + 3_000.0;
            let pts = walk(rng, t, start, heading, len, 120.0, 0.3, &deep);
            if pts.len() > 3 {
                let k = roads.len();
                roads.push(RoadLine {
                    kind: Kind::Track,
                    name: format!("trocha {k}"),
                    aadt: None,
                    pts,
                });
            }
        }
    }
    roads
}

fn protected_area_polygon(t: &Terrain) -> Polygon<f64> {
    let mut ring: Vec<Coord<f64>> = vec![Coord { x: 0.0, y: t.h }];
    let n = 120;
    for k in 0..=n {
        let x = t.w * k as f64 / n as f64;
        ring.push(Coord {
            x,
            y: t.pa_edge_y(x),
        });
    }
    ring.push(Coord { x: t.w, y: t.h });
    ring.push(Coord { x: 0.0, y: t.h });
    Polygon::new(LineString(ring), vec![])
}

fn small_conservation_areas(
    rng: &mut ChaCha8Rng,
    t: &Terrain,
) -> Vec<(&'static str, Polygon<f64>, &'static str)> {
    const NAMES: [(&str, &str); 3] = [
        (
            "Área de Conservación Municipal Mishquiyacu (sintética)",
            "Área de Conservación Municipal",
        ),
        (
            "Área de Conservación Privada Juningue (sintética)",
            "Área de Conservación Privada",
        ),
        (
            "Concesión para Conservación Bosque de Neblina (sintética)",
            "Concesión para Conservación",
        ),
    ];
    let n = rng.gen_range(2..=3);
    let mut out: Vec<(&'static str, Polygon<f64>, &'static str)> = Vec::new();
    let mut centers: Vec<Coord<f64>> = Vec::new();
    for (name, cat) in NAMES.iter().take(n) {
        // South of the valley, in the hills, apart from each other.
        let mut c = Coord { x: 0.0, y: 0.0 };
        for _ in 0..100 {
            let x = rng.gen_range(0.12 * t.w..0.88 * t.w);
            let y = t.axis_y(x) - rng.gen_range(9_000.0..13_000.0);
            c = Coord {
                x,
                y: y.max(3_500.0),
            };
            if centers
                .iter()
                .all(|o| ((o.x - c.x).powi(2) + (o.y - c.y).powi(2)).sqrt() > 9_000.0)
            {
                break;
            }
        }
        centers.push(c);
        let r0 = rng.gen_range(2_000.0..3_200.0);
        let phase: f64 = rng.gen_range(0.0..std::f64::consts::TAU);
        let ring: Vec<Coord<f64>> = (0..=32)
            .map(|k| {
                let a = std::f64::consts::TAU * (k % 32) as f64 / 32.0;
                let r = r0 * (1.0 + 0.18 * (3.0 * a + phase).sin() + 0.08 * (5.0 * a).cos());
                Coord {
                    x: c.x + r * a.cos(),
                    y: c.y + r * a.sin(),
                }
            })
            .collect();
        out.push((name, Polygon::new(LineString(ring), vec![]), cat));
    }
    out
}

/// An irregular AOI inside the box: along rays from the centre, the box
/// edge pulled inward by up to 900 m. Star-shaped by construction, so the
/// ring never crosses itself.
fn aoi_polygon(rng: &mut ChaCha8Rng, w: f64, h: f64) -> Polygon<f64> {
    let (cx, cy) = (w / 2.0, h / 2.0);
    let max_inset = 900f64.min(0.05 * w.min(h));
    let n = 96;
    let mut ring: Vec<Coord<f64>> = (0..n)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            let (dx, dy) = (a.cos(), a.sin());
            let tx = if dx.abs() > 1e-12 {
                cx / dx.abs()
            } else {
                f64::INFINITY
            };
            let ty = if dy.abs() > 1e-12 {
                cy / dy.abs()
            } else {
                f64::INFINITY
            };
            let t = tx.min(ty) - rng.gen_range(0.0..max_inset);
            Coord {
                x: cx + t * dx,
                y: cy + t * dy,
            }
        })
        .collect();
    ring.push(ring[0]);
    Polygon::new(LineString(ring), vec![])
}

/// Farmland parcels: a rotated lattice with uneven spacing and jittered
/// shared corners, so parcels tile without gaps or overlaps; a cell of the
/// lattice is a parcel when its centre lies on farmland inside the AOI.
fn build_parcels(
    rng: &mut ChaCha8Rng,
    t: &Terrain,
    aoi: &Polygon<f64>,
    pa: &Polygon<f64>,
    (landcover, elev, slope, dist_road): (&[u8], &[f32], &[f32], &[f32]),
    (nx, ny, res): (usize, usize, f64),
    (lo, hi): (f64, f64),
) -> Vec<(Polygon<f64>, &'static str)> {
    // Parcels of 1 to 20 ha at the default spacing (140 to 470 m), scaled
    // with its square otherwise.
    let (lo_ha, hi_ha) = ((lo / 140.0).powi(2), 20.0 * (hi / 470.0).powi(2));
    let angle: f64 = 0.38;
    let (ca, sa) = (angle.cos(), angle.sin());
    let (cx, cy) = (t.w / 2.0, t.h / 2.0);
    let span = (t.w.powi(2) + t.h.powi(2)).sqrt() / 2.0 + 500.0;
    let edges = |rng: &mut ChaCha8Rng| {
        let mut v = vec![-span];
        while *v.last().expect("non-empty") < span {
            let last = *v.last().expect("non-empty");
            v.push(last + rng.gen_range(lo..hi));
        }
        v
    };
    let us = edges(rng);
    let vs = edges(rng);
    // Corners jitter by 25 m at the default spacing, in scale otherwise.
    let jit = 25.0 * lo / 140.0;
    let corners: Vec<Vec<Coord<f64>>> = vs
        .iter()
        .map(|v| {
            us.iter()
                .map(|u| {
                    let (u, v) = (u + rng.gen_range(-jit..jit), v + rng.gen_range(-jit..jit));
                    Coord {
                        x: cx + u * ca - v * sa,
                        y: cy + u * sa + v * ca,
                    }
                })
                .collect()
        })
        .collect();
    let wy1 = -MARGIN + ny as f64 * res;
    let cell = |x: f64, y: f64| -> Option<usize> {
        let c = ((x + MARGIN) / res).floor();
        let r = ((wy1 - y) / res).floor();
        (c >= 0.0 && r >= 0.0 && (c as usize) < nx && (r as usize) < ny)
            .then(|| r as usize * nx + c as usize)
    };
    let mut out = Vec::new();
    for j in 0..vs.len() - 1 {
        for i in 0..us.len() - 1 {
            let ring = vec![
                corners[j][i],
                corners[j][i + 1],
                corners[j + 1][i + 1],
                corners[j + 1][i],
                corners[j][i],
            ];
            let poly = Polygon::new(LineString(ring.clone()), vec![]);
            let ctr = Coord {
                x: ring[..4].iter().map(|c| c.x).sum::<f64>() / 4.0,
                y: ring[..4].iter().map(|c| c.y).sum::<f64>() / 4.0,
            };
            let Some(k) = cell(ctr.x, ctr.y) else {
                continue;
            };
            if landcover[k] != LC_OPEN {
                continue;
            }
            let p = Point(ctr);
            if !aoi.contains(&poly) || pa.contains(&p) {
                continue;
            }
            let ha = poly.unsigned_area() / 10_000.0;
            if !(lo_ha..=hi_ha).contains(&ha) {
                continue;
            }
            // Not all farmland is mapped as parcels.
            if !rng.gen_bool(0.55) {
                continue;
            }
            let e = elev[k];
            let s = slope[k];
            let roll: f64 = rng.gen();
            let uso = if e < 1_000.0 && roll < 0.22 {
                "cacao"
            } else if (1_000.0..1_800.0).contains(&e) && roll < 0.40 {
                "cafe"
            } else if s > 14.0 || (dist_road[k] > 2_500.0 && roll > 0.6) {
                "pasto_degradado"
            } else if roll > 0.82 {
                "cultivo_anual"
            } else {
                "pasto"
            };
            out.push((poly, uso));
        }
    }
    out
}

/// An EPSG:4326 placement at 3 arc-seconds covering the UTM world raster.
fn lonlat_placement(
    world: &Placement,
    utm: &gdal::spatial_ref::SpatialRef,
    wgs: &gdal::spatial_ref::SpatialRef,
) -> Result<Placement> {
    let ct = srs::transform(utm, wgs)?;
    let gt = world.geo_transform;
    let (x0, y1) = (gt[0], gt[3]);
    let (x1, y0) = (
        x0 + gt[1] * world.width as f64,
        y1 + gt[5] * world.height as f64,
    );
    let mut xs = vec![x0, x1, x0, x1];
    let mut ys = vec![y0, y0, y1, y1];
    let mut zs = vec![0.0; 4];
    ct.transform_coords(&mut xs, &mut ys, &mut zs)
        .map_err(|e| Error::output("EPSG:4326", e))?;
    let lon0 = (xs.iter().cloned().fold(f64::INFINITY, f64::min) / ARC3).floor() * ARC3;
    let lon1 = (xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / ARC3).ceil() * ARC3;
    let lat0 = (ys.iter().cloned().fold(f64::INFINITY, f64::min) / ARC3).floor() * ARC3;
    let lat1 = (ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / ARC3).ceil() * ARC3;
    Ok(Placement {
        geo_transform: [lon0, ARC3, 0.0, lat1, 0.0, -ARC3],
        wkt: wgs.to_wkt().map_err(|e| Error::output("EPSG:4326", e))?,
        width: ((lon1 - lon0) / ARC3).round() as usize,
        height: ((lat1 - lat0) / ARC3).round() as usize,
    })
}

fn landscape_toml(p: &SynthParams) -> String {
    format!(
        r#"# Synthetic landscape modelled on Alto Mayo, San Martín, Peru.
# Made by: greenhalo synth --seed {seed} --size-km {w},{h} --resolution {res}
# Layers come in mixed formats and CRSs on purpose (see README.md).

name = "Alto Mayo (synthetic, seed {seed})"
seed = {seed}

[layers]
aoi = "aoi.geojson"
roads = {{ path = "roads.gpkg", layer = "red_vial" }}
markets = "markets.shp"
parcels = "parcels.geojson"
conservation = "conservation.fgb"
forest = "forest.tif"
elevation = "dem.tif"
forest_loss = "forest_loss.tif"
population = "population.tif"
landcover = "landcover.tif"

[grid]
resolution_m = {res:?}

[roads]
class_field = "clase"
surface_field = "superficie"
aadt_field = "imd"

[roads.class_values]
nacional = "primary"
departamental = "secondary"
vecinal = "tertiary"
trocha = "track"

[markets]
name_field = "name"
weight_field = "population"

[parcels]
id_field = "parcela_id"
use_field = "uso"

[parcels.use_values]
pasto = "pasture"
pasto_degradado = "degraded_pasture"
cultivo_anual = "annual_crops"
cafe = "coffee"
cacao = "cocoa"

[conservation]
name_field = "nombre"
category_field = "categoria"
"#,
        seed = p.seed,
        w = p.width_km,
        h = p.height_km,
        res = p.resolution_m,
    )
}

fn readme(p: &SynthParams, towns: &[Town], roads: &[RoadLine], n_parcels: usize) -> String {
    let count = |k: Kind| roads.iter().filter(|r| r.kind == k).count();
    let town_list = towns
        .iter()
        .map(|t| format!("{} ({:.0})", t.name, t.population))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "# Synthetic landscape (greenhalo synth --seed {seed} --size-km {w},{h} --resolution {res})\n\n\
Modelled on Alto Mayo (San Martín, Peru) but made up: no layer here is real data.\n\
A {w} x {h} km box in UTM 18S; a valley at 800-1,000 m between ridges past 3,000 m;\n\
market towns {town_list}; {hw} highway sections, {s} gravel, {t} dirt roads and {tr} tracks;\n\
a protected forest on the northern ridges and smaller conservation areas in the south;\n\
{n_parcels} farmland parcels.\n\n\
| file | what | format, CRS |\n|---|---|---|\n\
| aoi.geojson | area of interest | GeoJSON, EPSG:4326 |\n\
| roads.gpkg (layer red_vial) | roads: nombre, clase (nacional/departamental/vecinal/trocha), superficie, imd (vehicles/day) | GeoPackage, EPSG:4326 |\n\
| markets.shp | market towns: name, population | Shapefile, EPSG:4326 |\n\
| parcels.geojson | farmland: parcela_id, uso (pasto, pasto_degradado, cultivo_anual, cafe, cacao) | GeoJSON, EPSG:4326 |\n\
| conservation.fgb | conservation areas: nombre, categoria | FlatGeobuf, EPSG:32718 |\n\
| forest.tif | forest 0/1 | GeoTIFF, EPSG:32718, {res} m |\n\
| landcover.tif | 1 forest, 2 open/farmland, 3 water, 4 built-up | GeoTIFF, EPSG:32718, {res} m |\n\
| dem.tif | elevation, m | GeoTIFF, EPSG:4326, 3 arc-seconds |\n\
| population.tif | people per cell | GeoTIFF, EPSG:4326, 3 arc-seconds |\n\
| forest_loss.tif | year of loss 1-23 (2001-2023), 0 none | GeoTIFF, EPSG:4326, 3 arc-seconds |\n",
        seed = p.seed,
        w = p.width_km,
        h = p.height_km,
        res = p.resolution_m,
        hw = count(Kind::Highway),
        s = count(Kind::Secondary),
        t = count(Kind::Tertiary),
        tr = count(Kind::Track),
    )
}
