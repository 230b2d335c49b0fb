//! Loading a landscape: every layer opened, checked and aligned on the
//! analysis grid. One pass serves both `validate` (which reports every
//! problem found) and `run` (which refuses to go on if any is an error).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use geo::{BoundingRect, Centroid, Intersects};
use rayon::prelude::*;
use serde::Serialize;

pub mod planning_units;

use crate::config::{LandUse, Landscape, RasterSource, RoadClass, VectorSource};
use crate::error::Result;
use crate::grid::{utm_epsg, Grid};
use crate::io::raster::{self, Resample};
use crate::io::srs;
use crate::io::vector::{self, VLayer};
use crate::progress::Progress;
use gdal::spatial_ref::SpatialRef;
use indicatif::ProgressBar;

// -------------------------------------------------------------- problems ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One thing wrong with the inputs, naming where it is.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub file: PathBuf,
    pub layer: Option<String>,
    pub fid: Option<u64>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.file.display())?;
        if let Some(l) = &self.layer {
            write!(f, ": layer '{l}'")?;
        }
        if let Some(id) = self.fid {
            write!(f, ", feature {id}")?;
        }
        if let Some(fl) = &self.field {
            write!(f, ", field '{fl}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Collects problems; repeats of one check on one layer are capped so a
/// broken 10,000-feature layer reads as a few lines and a count.
#[derive(Debug, Default)]
pub struct Problems {
    pub list: Vec<Problem>,
    repeats: BTreeMap<(PathBuf, String), usize>,
}

const MAX_REPEATS: usize = 5;

impl Problems {
    pub fn push(&mut self, p: Problem) {
        self.list.push(p);
    }

    fn at(&mut self, sev: Severity, file: &Path, layer: Option<&str>, message: impl Into<String>) {
        self.push(Problem {
            severity: sev,
            file: file.to_path_buf(),
            layer: layer.map(String::from),
            fid: None,
            field: None,
            message: message.into(),
        });
    }

    /// A per-feature problem of kind `check`; after MAX_REPEATS of one kind
    /// on one layer, only counted.
    fn feature(
        &mut self,
        check: &str,
        l: &VLayer,
        fid: u64,
        field: Option<&str>,
        message: impl Into<String>,
    ) {
        let n = self
            .repeats
            .entry((l.file.clone(), format!("{}/{check}", l.layer)))
            .or_insert(0);
        *n += 1;
        if *n <= MAX_REPEATS {
            self.push(Problem {
                severity: Severity::Error,
                file: l.file.clone(),
                layer: Some(l.layer.clone()),
                fid: Some(fid),
                field: field.map(String::from),
                message: message.into(),
            });
        }
    }

    /// Add "... and N more" lines for capped checks.
    fn finish(&mut self) {
        let extra: Vec<Problem> = self
            .repeats
            .iter()
            .filter(|(_, n)| **n > MAX_REPEATS)
            .map(|((file, key), n)| {
                let (layer, check) = key.split_once('/').unwrap_or((key.as_str(), ""));
                Problem {
                    severity: Severity::Error,
                    file: file.clone(),
                    layer: Some(layer.to_string()),
                    fid: None,
                    field: None,
                    message: format!(
                        "{} more feature(s) with the same problem ({check})",
                        n - MAX_REPEATS
                    ),
                }
            })
            .collect();
        self.list.extend(extra);
        self.repeats.clear();
    }

    pub fn errors(&self) -> usize {
        self.list
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    pub fn report(&self) -> String {
        self.list
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

// ---------------------------------------------------------------- inputs ----

#[derive(Debug, Clone)]
pub struct Road {
    /// Index of the source in `[layers] roads` (0 when there is one).
    pub source: usize,
    pub fid: u64,
    pub class: RoadClass,
    pub surface: Option<String>,
    pub aadt: Option<f64>,
    /// From `[roads] name_field`, when given and set.
    pub name: Option<String>,
    pub geom: geo::MultiLineString<f64>,
}

#[derive(Debug, Clone)]
pub struct Market {
    pub fid: u64,
    pub name: String,
    pub weight: f64,
    pub point: geo::Point<f64>,
}

#[derive(Debug, Clone)]
pub struct Parcel {
    pub fid: u64,
    pub id: String,
    pub land_use: LandUse,
    /// The value as written in the source's use field.
    pub use_value: String,
    pub geom: geo::MultiPolygon<f64>,
}

#[derive(Debug, Clone)]
pub struct ConservationArea {
    pub fid: u64,
    pub name: String,
    pub category: String,
    /// The whole area as published (for the halo, which lies outside it,
    /// and for roads that run through it).
    pub geom: geo::MultiPolygon<f64>,
    /// The part inside the AOI: area, forest, threat, management cost and
    /// funding all refer to it (a reserve mostly outside the landscape is
    /// managed here only for its part inside).
    pub geom_in_aoi: geo::MultiPolygon<f64>,
    /// Area of the whole legal polygon, km².
    pub legal_area_km2: f64,
}

/// Every layer, checked and on the analysis grid. Rasters hold NaN where the
/// source had no data.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub name: String,
    pub grid: Grid,
    pub grid_wkt: String,
    pub aoi: geo::MultiPolygon<f64>,
    /// 1 inside the AOI, 0 outside.
    pub aoi_mask: Vec<u8>,
    pub roads: Vec<Road>,
    pub markets: Vec<Market>,
    pub parcels: Vec<Parcel>,
    /// How the parcels were made when the landscape has no parcels layer:
    /// planning units tiling the farmland (None: a cadastre's parcels).
    pub planning_units: Option<planning_units::Tiling>,
    pub conservation: Vec<ConservationArea>,
    /// 1 + index of the conservation area holding the cell centre, 0 outside.
    pub conservation_id: Vec<u16>,
    pub forest: Vec<f32>,
    /// Shared with the risk model's drivers (no copy).
    pub elevation: std::sync::Arc<Vec<f32>>,
    pub forest_loss: Option<Vec<f32>>,
    pub population: Option<Vec<f32>>,
    pub landcover: Option<Vec<f32>>,
    pub carbon: Option<Vec<f32>>,
    pub biodiversity: Option<Vec<f32>>,
    /// Slope in degrees (Horn), computed from `elevation` on first use and
    /// shared by every stage; build with `Default::default()`.
    pub slope: std::sync::OnceLock<std::sync::Arc<Vec<f32>>>,
}

impl Inputs {
    /// Slope of every cell in degrees, computed once.
    pub fn slope_deg(&self) -> &[f32] {
        self.slope_shared()
    }

    /// `slope_deg`, to keep beside the inputs without a copy.
    pub fn slope_shared(&self) -> &std::sync::Arc<Vec<f32>> {
        self.slope.get_or_init(|| {
            std::sync::Arc::new(crate::kernels::terrain::slope_deg(
                &self.elevation,
                self.grid.width,
                self.grid.height,
                self.grid.res,
            ))
        })
    }
}

// ---------------------------------------------------------------- loading ----

/// Load and check every layer. Returns the inputs when nothing is an error,
/// and every problem found either way.
pub fn load(ls: &Landscape, progress: &Progress) -> (Option<Inputs>, Problems) {
    let mut pr = Problems::default();
    let cfg = &ls.cfg;
    let layers = &cfg.layers;
    let bar = progress.bar(11, "loading layers");

    // Grid from the AOI.
    let aoi_path = ls.resolve(&layers.aoi.path);
    let grid = match grid_from_aoi(ls, &layers.aoi, &mut pr) {
        Ok(g) => g,
        Err(e) => {
            pr.at(Severity::Error, &aoi_path, None, e.to_string());
            None
        }
    };
    bar.inc(1);
    let target = grid.as_ref().and_then(|(_, wkt, _)| srs::parse(wkt).ok());

    let aoi_layer = read_vector(ls, &layers.aoi, target.as_ref(), &mut pr);
    let aoi = aoi_layer
        .as_ref()
        .map(|l| polygons_of(l, &mut pr))
        .unwrap_or_default();
    let aoi_mp = geo::MultiPolygon(aoi.iter().flat_map(|(_, p)| p.0.clone()).collect());

    // The rasters need only the grid and the AOI: they are warped on the
    // pool's cores while the vector layers are read here (GDAL alone takes
    // seconds over a cadastre of 250,000 parcels).
    let mut warped: Option<Warped> = None;
    let (roads, markets, parcels, conservation) = rayon::in_place_scope(|s| {
        if let Some((grid, wkt, _)) = &grid {
            let (out, aoi_mp, aoi_path, bar) = (&mut warped, &aoi_mp, &aoi_path, &bar);
            s.spawn(move |_| *out = Some(warp_rasters(ls, grid, wkt, aoi_mp, aoi_path, bar)));
        }
        read_vectors(ls, target.as_ref(), &aoi_mp, &bar, &mut pr)
    });

    // Rasters need the grid.
    let (Some((grid, wkt, _)), Some(warped)) = (grid, warped) else {
        pr.finish();
        bar.finish_and_clear();
        return (None, pr);
    };

    // Parcels wholly off the analysis grid cannot be appraised: left out,
    // by name, never kept with empty statistics.
    let (gx0, gy0, gx1, gy1) = (grid.x_min, grid.y_min(), grid.x_max(), grid.y_max);
    let parcels = left_out(
        parcels,
        |p| {
            geo::BoundingRect::bounding_rect(&p.geom).is_some_and(|b| {
                b.max().x > gx0 && b.min().x < gx1 && b.max().y > gy0 && b.min().y < gy1
            })
        },
        |p| p.id.clone(),
        "parcel(s) lie wholly outside the analysis grid and are left out",
        &layers
            .parcels
            .as_ref()
            .map(|p| ls.resolve(&p.path))
            .unwrap_or_default(),
        &mut pr,
    );

    let outside: Vec<&str> = markets
        .iter()
        .filter(|m| grid.cell_of(m.point.x(), m.point.y()).is_none())
        .map(|m| m.name.as_str())
        .collect();
    if !outside.is_empty() {
        pr.at(
            Severity::Warning,
            &ls.resolve(&layers.markets.path),
            None,
            format!(
                "{} market(s) lie outside the analysis grid and cannot be reached: {}; enlarge the AOI to include them",
                outside.len(),
                outside.join(", ")
            ),
        );
    }
    let Warped {
        aoi_mask,
        aoi_problems,
        read,
    } = warped;
    pr.list.extend(aoi_problems.list);
    let cons_geoms: Vec<geo::Geometry<f64>> = conservation
        .iter()
        .map(|c| geo::Geometry::MultiPolygon(c.geom.clone()))
        .collect();
    let cons_vals: Vec<f64> = (1..=conservation.len()).map(|i| i as f64).collect();
    let conservation_id: Vec<u16> =
        match raster::rasterize(&grid, &wkt, &cons_geoms, &cons_vals, 0.0, false) {
            Ok(v) => v.into_iter().map(|x| x as u16).collect(),
            Err(e) => {
                pr.at(
                    Severity::Error,
                    &ls.resolve(&layers.conservation.path),
                    None,
                    e.to_string(),
                );
                vec![0; grid.len()]
            }
        };
    let mut read = read.into_iter().map(|r| {
        r.map(|(data, p)| {
            pr.list.extend(p.list);
            data
        })
    });
    let mut next = || read.next().flatten();
    let forest = next();
    let elevation = next().flatten();
    let forest_loss = next();
    let population = next();
    let landcover = next();
    let carbon = next();
    let biodiversity = next();
    if let (Some(Some(lc)), Some(src)) = (&landcover, &layers.landcover) {
        check_landcover_codes(ls, src, lc, &aoi_mask, &mut pr);
    }
    if let (Some(Some(fl)), Some(src)) = (&forest_loss, &layers.forest_loss) {
        check_loss_values(ls, src, fl, &mut pr);
    }
    let forest = match forest {
        Some(f) => f,
        None => forest_from_landcover(ls, &grid, &wkt, &aoi_mask, &mut pr),
    };
    bar.finish_and_clear();

    pr.finish();
    if pr.errors() > 0 {
        return (None, pr);
    }
    let (Some(forest), Some(elevation)) = (forest, elevation) else {
        return (None, pr);
    };
    // No cadastre: planning units tile the farmland.
    let (parcels, planning_units) = match &layers.parcels {
        Some(_) => (parcels, None),
        None => {
            let p = cfg.parcels.planning_units.clone().unwrap_or_default();
            let cover = planning_units::Cover {
                grid: &grid,
                aoi: &aoi_mp,
                aoi_mask: &aoi_mask,
                conservation_id: &conservation_id,
                forest: &forest,
                elevation: &elevation,
                landcover: landcover.as_ref().and_then(|l| l.as_deref()),
                classes: &cfg.landcover,
            };
            let (units, tiling) = planning_units::tile(&cover, &p);
            planning_unit_notes(ls, &grid, &tiling, &mut pr);
            (units, Some(tiling))
        }
    };
    selects_nothing(ls, &parcels, &conservation, &mut pr);
    let inputs = Inputs {
        name: ls.name(),
        grid,
        grid_wkt: wkt,
        aoi: aoi_mp,
        aoi_mask,
        roads,
        markets,
        parcels,
        planning_units,
        conservation,
        conservation_id,
        forest,
        elevation: elevation.into(),
        forest_loss: forest_loss.flatten(),
        population: population.flatten(),
        landcover: landcover.flatten(),
        carbon: carbon.flatten(),
        biodiversity: biodiversity.flatten(),
        slope: Default::default(),
    };
    (Some(inputs), pr)
}

/// The rasters warped onto the grid, each with its problems (in the order
/// of `warp_rasters`' list), and the AOI's mask with its own.
struct Warped {
    aoi_mask: Vec<u8>,
    aoi_problems: Problems,
    #[allow(clippy::type_complexity)]
    read: Vec<Option<(Option<Vec<f32>>, Problems)>>,
}

/// The roads, markets, parcels and conservation areas, in the grid's CRS
/// (`target`), each checked against the AOI; the conservation areas'
/// parts merged and clipped to the AOI, those wholly outside it left out.
fn read_vectors(
    ls: &Landscape,
    target: Option<&SpatialRef>,
    aoi_mp: &geo::MultiPolygon<f64>,
    bar: &ProgressBar,
    pr: &mut Problems,
) -> (Vec<Road>, Vec<Market>, Vec<Parcel>, Vec<ConservationArea>) {
    let layers = &ls.cfg.layers;
    // Each layer read, checked against the AOI, then made into its items.
    let checked = |src: &VectorSource, pr: &mut Problems| {
        let l = read_vector(ls, src, target, pr);
        if let Some(l) = &l {
            check_intersects_aoi(l, aoi_mp, pr);
        }
        l
    };
    let mut roads = Vec::new();
    for (si, src) in layers.roads.iter().enumerate() {
        if let Some(l) = checked(src, pr) {
            roads.extend(roads_of(ls, si, &l, pr));
        }
    }
    bar.inc(1);
    let markets = checked(&layers.markets, pr)
        .map(|l| markets_of(ls, &l, pr))
        .unwrap_or_default();
    bar.inc(1);
    let parcels = layers
        .parcels
        .as_ref()
        .and_then(|src| checked(src, pr))
        .map(|l| parcels_of(ls, &l, pr))
        .unwrap_or_default();
    bar.inc(1);
    let conservation = checked(&layers.conservation, pr)
        .map(|l| conservation_of(ls, &l, pr))
        .unwrap_or_default();
    bar.inc(1);

    let mut conservation = merge_parts(conservation, &ls.resolve(&layers.conservation.path), pr);
    clip_to_aoi(&mut conservation, aoi_mp);
    if !aoi_mp.0.is_empty() {
        conservation = left_out(
            conservation,
            |c| geo::Area::unsigned_area(&c.geom_in_aoi) > 0.0,
            |c| format!("{} (feature {})", c.name, c.fid),
            "conservation area(s) lie wholly outside the AOI and are left out of funding",
            &ls.resolve(&layers.conservation.path),
            pr,
        );
    }
    (roads, markets, parcels, conservation)
}

/// The AOI's mask and every raster warped onto the grid, side by side.
fn warp_rasters(
    ls: &Landscape,
    grid: &Grid,
    wkt: &str,
    aoi_mp: &geo::MultiPolygon<f64>,
    aoi_path: &Path,
    bar: &ProgressBar,
) -> Warped {
    let layers = &ls.cfg.layers;
    let mut aoi_problems = Problems::default();
    let aoi_mask: Vec<u8> = match raster::rasterize(
        grid,
        wkt,
        &[geo::Geometry::MultiPolygon(aoi_mp.clone())],
        &[1.0],
        0.0,
        false,
    ) {
        Ok(v) => v.into_iter().map(|x| (x > 0.5) as u8).collect(),
        Err(e) => {
            aoi_problems.at(Severity::Error, aoi_path, None, e.to_string());
            vec![0; grid.len()]
        }
    };
    // The rasters are warped side by side, one task each (a warp also
    // splits its rows over the cores, but not all of it: at 30 m the
    // population's sum resampling alone took 4.8 s on one core's worth).
    // Each keeps its own problems, reported in this order.
    type Spec<'s> = (
        &'s RasterSource,
        &'static str,
        Resample,
        (f64, f64),
        &'static str,
    );
    let specs: [Option<Spec>; 7] = [
        layers.forest.as_ref().map(|s| -> Spec {
            (
                s,
                "forest",
                Resample::Bilinear,
                (0.0, 1.0),
                "forest cover must be a fraction 0-1 (or 0/1); if it is a percentage, divide by 100",
            )
        }),
        Some((
            &layers.elevation,
            "elevation",
            Resample::Bilinear,
            (-500.0, 9000.0),
            "elevation must be metres above sea level (-500 to 9000)",
        )),
        layers.forest_loss.as_ref().map(|s| -> Spec {
            (
                s,
                "forest_loss",
                Resample::Nearest,
                (0.0, 2100.0),
                "forest loss must be 0/1 or a year of loss (1-99 as in Hansen's lossyear, or 2001-2099)",
            )
        }),
        layers.population.as_ref().map(|s| -> Spec {
            (
                s,
                "population",
                Resample::Sum,
                (0.0, 1e6),
                "population must be people per cell, 0 or more",
            )
        }),
        layers.landcover.as_ref().map(|s| -> Spec {
            (s, "landcover", Resample::Nearest, (f64::MIN, f64::MAX), "")
        }),
        layers.carbon.as_ref().map(|s| -> Spec {
            (
                s,
                "carbon",
                Resample::Bilinear,
                (0.0, 1000.0),
                "carbon must be t C/ha (0-1000)",
            )
        }),
        layers.biodiversity.as_ref().map(|s| -> Spec {
            (
                s,
                "biodiversity",
                Resample::Bilinear,
                (0.0, 1e12),
                "biodiversity values must be 0 or more",
            )
        }),
    ];
    let read: Vec<Option<(Option<Vec<f32>>, Problems)>> = specs
        .par_iter()
        .with_max_len(1)
        .map(|spec| {
            spec.map(|(src, what, rs, range, hint)| {
                let mut p = Problems::default();
                let r = read_raster(ls, src, grid, wkt, &aoi_mask, what, rs, range, hint, &mut p);
                bar.inc(1);
                (r, p)
            })
        })
        .collect();
    Warped {
        aoi_mask,
        aoi_problems,
        read,
    }
}

/// Load, and turn any error-level problem into one error with the report.
pub fn load_checked(ls: &Landscape, progress: &Progress) -> Result<(Inputs, Problems)> {
    let (inputs, pr) = load(ls, progress);
    match inputs {
        Some(i) => Ok((i, pr)),
        None => Err(crate::error::Error::Invalid {
            count: pr.errors(),
            report: pr.report(),
        }),
    }
}

/// The grid: CRS from the file or the UTM zone of the AOI centroid, extent
/// of the AOI snapped to the resolution.
fn grid_from_aoi(
    ls: &Landscape,
    src: &VectorSource,
    pr: &mut Problems,
) -> Result<Option<(Grid, String, u32)>> {
    let path = ls.resolve(&src.path);
    let res = ls.cfg.grid.resolution_m;
    if !(res.is_finite() && res > 0.0) {
        pr.at(
            Severity::Error,
            &ls.file,
            None,
            format!("[grid] resolution_m = {res}: must be a positive number of metres"),
        );
        return Ok(None);
    }
    let Some(native_srs) = vector::layer_srs(&path, src.layer.as_deref())? else {
        // read_vector reports the missing CRS.
        return Ok(None);
    };
    let native = vector::read(&path, src.layer.as_deref(), &src.set, None)?;
    let polys: Vec<geo::Geometry<f64>> = native
        .features
        .iter()
        .filter_map(|f| f.geom.clone())
        .collect();
    if polys.is_empty() {
        return Ok(None);
    }
    let gc = geo::GeometryCollection(polys);
    let Some(c) = gc.centroid() else {
        return Ok(None);
    };
    let (crs_def, epsg) = match &ls.cfg.grid.crs {
        Some(def) => (def.clone(), 0),
        None => {
            let to_ll = srs::transform(&native_srs, &srs::wgs84())?;
            let mut x = [c.x()];
            let mut y = [c.y()];
            let mut z = [0.0];
            to_ll
                .transform_coords(&mut x, &mut y, &mut z)
                .map_err(|e| crate::error::Error::Crs {
                    crs: native_srs.name().unwrap_or_default(),
                    message: format!("cannot find the AOI centroid's longitude/latitude: {e}"),
                })?;
            let code = utm_epsg(x[0], y[0]);
            (format!("EPSG:{code}"), code)
        }
    };
    let grid_srs = match srs::parse(&crs_def) {
        Ok(s) => s,
        Err(e) => {
            pr.at(Severity::Error, &ls.file, None, format!("[grid] crs: {e}"));
            return Ok(None);
        }
    };
    if !srs::is_metric(&grid_srs) {
        pr.at(
            Severity::Error,
            &ls.file,
            None,
            format!("[grid] crs = \"{crs_def}\" is not a projected CRS in metres; use a UTM zone (e.g. \"EPSG:32718\") or leave it out"),
        );
        return Ok(None);
    }
    let in_grid = vector::read(&path, src.layer.as_deref(), &src.set, Some(&grid_srs))?;
    let geoms: Vec<geo::Geometry<f64>> = in_grid
        .features
        .iter()
        .filter_map(|f| f.geom.clone())
        .collect();
    let Some(bb) = geo::GeometryCollection(geoms).bounding_rect() else {
        return Ok(None);
    };
    let buffer = ls.cfg.grid.buffer_km.max(0.0) * 1000.0;
    let grid = Grid::snapped(
        &crs_def,
        res,
        bb.min().x - buffer,
        bb.min().y - buffer,
        bb.max().x + buffer,
        bb.max().y + buffer,
    );
    if grid.len() > 400_000_000 {
        pr.at(
            Severity::Error,
            &ls.file,
            None,
            format!(
                "the grid would have {}x{} = {} cells at {res} m; raise [grid] resolution_m",
                grid.width,
                grid.height,
                grid.len()
            ),
        );
        return Ok(None);
    }
    let wkt = grid_srs.to_wkt().map_err(|e| crate::error::Error::Crs {
        crs: crs_def.clone(),
        message: e.to_string(),
    })?;
    Ok(Some((grid, wkt, epsg)))
}

fn read_vector(
    ls: &Landscape,
    src: &VectorSource,
    target: Option<&gdal::spatial_ref::SpatialRef>,
    pr: &mut Problems,
) -> Option<VLayer> {
    let path = ls.resolve(&src.path);
    match vector::read(&path, src.layer.as_deref(), &src.set, target) {
        Ok(l) => {
            if !l.has_crs {
                pr.at(
                    Severity::Error,
                    &path,
                    Some(&l.layer),
                    "the layer has no CRS; assign one (e.g. ogr2ogr -a_srs EPSG:4326) or add a .prj",
                );
                return None;
            }
            if l.features.is_empty() {
                pr.at(
                    Severity::Error,
                    &path,
                    Some(&l.layer),
                    "the layer is empty (no features)",
                );
                return None;
            }
            Some(l)
        }
        Err(e) => {
            pr.push(Problem {
                severity: Severity::Error,
                file: path,
                layer: src.layer.clone(),
                fid: None,
                field: None,
                message: match e {
                    crate::error::Error::OpenLayer { message, .. } => message,
                    other => other.to_string(),
                },
            });
            None
        }
    }
}

fn check_intersects_aoi(l: &VLayer, aoi: &geo::MultiPolygon<f64>, pr: &mut Problems) {
    if aoi.0.is_empty() {
        return;
    }
    let any = l
        .features
        .iter()
        .filter_map(|f| f.geom.as_ref())
        .any(|g| g.intersects(aoi));
    if !any {
        pr.at(
            Severity::Error,
            &l.file,
            Some(&l.layer),
            "no feature intersects the AOI; is it the right file, or is its CRS wrong?",
        );
    }
}

/// Per-feature geometry checks shared by all layers; returns the geometry
/// when it is usable.
fn usable_geom<'a>(
    l: &VLayer,
    f: &'a vector::VFeature,
    kind: &str,
    pr: &mut Problems,
) -> Option<&'a geo::Geometry<f64>> {
    if let Some(p) = &f.geom_problem {
        pr.feature(
            "geometry",
            l,
            f.fid,
            None,
            format!("{p}; fix it (e.g. QGIS 'Fix geometries') or remove the feature"),
        );
        if f.geom.is_none() || p.contains("invalid") {
            return None;
        }
    }
    let g = f.geom.as_ref()?;
    let ok = match kind {
        "polygon" => matches!(
            g,
            geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)
        ),
        "line" => matches!(
            g,
            geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_)
        ),
        "point" => matches!(g, geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_)),
        _ => true,
    };
    if !ok {
        pr.feature(
            "geometry type",
            l,
            f.fid,
            None,
            format!("is a {} but this layer needs {kind}s", geom_name(g)),
        );
        return None;
    }
    Some(g)
}

fn geom_name(g: &geo::Geometry<f64>) -> &'static str {
    match g {
        geo::Geometry::Point(_) => "point",
        geo::Geometry::MultiPoint(_) => "multipoint",
        geo::Geometry::LineString(_) | geo::Geometry::Line(_) => "line",
        geo::Geometry::MultiLineString(_) => "multiline",
        geo::Geometry::Polygon(_) | geo::Geometry::Rect(_) | geo::Geometry::Triangle(_) => {
            "polygon"
        }
        geo::Geometry::MultiPolygon(_) => "multipolygon",
        geo::Geometry::GeometryCollection(_) => "geometry collection",
    }
}

fn as_multipolygon(g: &geo::Geometry<f64>) -> geo::MultiPolygon<f64> {
    match g {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p.clone()]),
        geo::Geometry::MultiPolygon(m) => m.clone(),
        _ => geo::MultiPolygon(vec![]),
    }
}

fn polygons_of(l: &VLayer, pr: &mut Problems) -> Vec<(u64, geo::MultiPolygon<f64>)> {
    l.features
        .iter()
        .filter_map(|f| usable_geom(l, f, "polygon", pr).map(|g| (f.fid, as_multipolygon(g))))
        .collect()
}

/// An optional field set to a name the layer does not have: a warning
/// (the column it fills would be empty). A default name the layer lacks is
/// silence: the default is only a guess.
fn optional_field(
    l: &VLayer,
    field: Option<&str>,
    default: Option<&str>,
    key: &str,
    pr: &mut Problems,
) {
    let Some(field) = field.filter(|f| !f.is_empty()) else {
        return;
    };
    if l.fields.iter().any(|f| f == field) || default == Some(field) {
        return;
    }
    let near = l
        .fields
        .iter()
        .find(|f| f.eq_ignore_ascii_case(field))
        .map(|f| format!("; did you mean '{f}'?"))
        .unwrap_or_default();
    pr.push(Problem {
        severity: Severity::Warning,
        file: l.file.clone(),
        layer: Some(l.layer.clone()),
        fid: None,
        field: Some(field.to_string()),
        message: format!(
            "{key} = \"{field}\" names no field of this layer (it has: {}){near}; the values it would give are left empty",
            l.fields.join(", ")
        ),
    });
}

/// Settings that select nothing in these layers: funding categories no
/// area has, transitions for uses no parcel has (warnings naming the
/// setting and what the layers do have).
fn selects_nothing(
    ls: &Landscape,
    parcels: &[Parcel],
    areas: &[ConservationArea],
    pr: &mut Problems,
) {
    let cfg = &ls.cfg;
    let cons_file = ls.resolve(&cfg.layers.conservation.path);
    let mut have: Vec<&str> = areas.iter().map(|a| a.category.as_str()).collect();
    have.sort_unstable();
    have.dedup();
    for (k, src) in cfg.conservation_funding.sources.iter().enumerate() {
        if src.eligibility != crate::config::Eligibility::Categories || areas.is_empty() {
            continue;
        }
        let none: Vec<&str> = src
            .categories
            .iter()
            .map(|c| c.as_str())
            .filter(|c| {
                !areas
                    .iter()
                    .any(|a| !c.is_empty() && a.category.contains(c))
            })
            .collect();
        if none.is_empty() {
            continue;
        }
        let all = none.len() == src.categories.len();
        pr.at(
            Severity::Warning,
            &cons_file,
            None,
            format!(
                "conservation_funding.sources[{k}] ('{}') categories {:?}: {} no conservation area in the AOI (field '{}' holds: {}){}",
                src.name,
                none,
                if none.len() == 1 { "matches" } else { "match" },
                cfg.conservation.category_field.as_deref().unwrap_or(""),
                if have.iter().all(|h| h.is_empty()) { "nothing".to_string() } else { have.iter().map(|h| format!("'{h}'")).collect::<Vec<_>>().join(", ") },
                if all { format!("; its US${} a year goes to no area", crate::fmt::fmt_int(src.usd_per_year)) } else { String::new() }
            ),
        );
    }
    if parcels.is_empty() {
        return;
    }
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for p in parcels {
        *uses.entry(p.land_use.as_str()).or_insert(0) += 1;
    }
    for (k, t) in cfg.transitions.catalogue.iter().enumerate() {
        if t.eligible_uses
            .iter()
            .any(|u| uses.contains_key(u.as_str()))
        {
            continue;
        }
        pr.at(
            Severity::Warning,
            &ls.file,
            None,
            format!(
                "transitions.catalogue[{k}] ('{}') replaces only {}, and no parcel has that use (the parcels' uses: {}): no parcel can take it",
                t.name,
                t.eligible_uses.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", "),
                uses.iter().map(|(u, n)| format!("{u} {n}")).collect::<Vec<_>>().join(", ")
            ),
        );
    }
}

fn require_field(ls: &Landscape, l: &VLayer, field: &str, key: &str, pr: &mut Problems) -> bool {
    if l.fields.iter().any(|f| f == field) {
        return true;
    }
    pr.push(Problem {
        severity: Severity::Error,
        file: l.file.clone(),
        layer: Some(l.layer.clone()),
        fid: None,
        field: Some(field.to_string()),
        message: format!(
            "the field is missing (the layer has: {}); set {key} in {} to the right field",
            l.fields.join(", "),
            ls.file.display()
        ),
    });
    false
}

fn optional_number(
    l: &VLayer,
    f: &vector::VFeature,
    field: &Option<String>,
    pr: &mut Problems,
) -> Option<f64> {
    let name = field.as_deref()?;
    if !l.fields.iter().any(|x| x == name) {
        return None;
    }
    match f.attr(name) {
        None | Some(vector::Attr::Null) => None,
        Some(a) => match a.as_f64() {
            Some(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                pr.feature(
                    &format!("bad {name}"),
                    l,
                    f.fid,
                    Some(name),
                    format!(
                        "value {:?} is not a number of 0 or more",
                        a.as_text().unwrap_or_default()
                    ),
                );
                None
            }
        },
    }
}

fn roads_of(ls: &Landscape, source: usize, l: &VLayer, pr: &mut Problems) -> Vec<Road> {
    let rf = &ls.cfg.roads;
    let has_class = require_field(ls, l, &rf.class_field, "[roads] class_field", pr);
    let d = crate::config::RoadFields::default();
    for (field, default, key) in [
        (
            rf.name_field.as_deref(),
            d.name_field.as_deref(),
            "[roads] name_field",
        ),
        (
            rf.surface_field.as_deref(),
            d.surface_field.as_deref(),
            "[roads] surface_field",
        ),
        (
            rf.aadt_field.as_deref(),
            d.aadt_field.as_deref(),
            "[roads] aadt_field",
        ),
    ] {
        optional_field(l, field, default, key, pr);
    }
    let accepted = || {
        rf.class_values
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    for f in &l.features {
        let Some(g) = usable_geom(l, f, "line", pr) else {
            continue;
        };
        let aadt = optional_number(l, f, &rf.aadt_field, pr);
        if !has_class {
            continue;
        }
        let value = f.attr(&rf.class_field).and_then(|a| a.as_text());
        let class = match &value {
            None => {
                pr.feature(
                    "no class",
                    l,
                    f.fid,
                    Some(&rf.class_field),
                    "has no value; every road needs a class",
                );
                continue;
            }
            Some(v) => match rf.class_values.get(v.trim()) {
                Some(c) => *c,
                None => {
                    pr.feature(
                        "unknown class",
                        l,
                        f.fid,
                        Some(&rf.class_field),
                        format!(
                            "value '{v}' is not in [roads.class_values] (accepted: {}); add it there with its class",
                            accepted()
                        ),
                    );
                    continue;
                }
            },
        };
        let geom = match g {
            geo::Geometry::LineString(ls) => geo::MultiLineString(vec![ls.clone()]),
            geo::Geometry::MultiLineString(m) => m.clone(),
            _ => continue,
        };
        let surface = rf
            .surface_field
            .as_deref()
            .and_then(|s| f.attr(s))
            .and_then(|a| a.as_text());
        let name = rf
            .name_field
            .as_deref()
            .filter(|n| !n.is_empty())
            .and_then(|n| f.attr(n))
            .and_then(|a| a.as_text())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        out.push(Road {
            source,
            fid: f.fid,
            class,
            name,
            surface,
            aadt,
            geom,
        });
    }
    out
}

fn markets_of(ls: &Landscape, l: &VLayer, pr: &mut Problems) -> Vec<Market> {
    let mf = &ls.cfg.markets;
    let d = crate::config::MarketFields::default();
    for (field, default, key) in [
        (
            mf.name_field.as_deref(),
            d.name_field.as_deref(),
            "[markets] name_field",
        ),
        (
            mf.weight_field.as_deref(),
            d.weight_field.as_deref(),
            "[markets] weight_field",
        ),
    ] {
        optional_field(l, field, default, key, pr);
    }
    let mut out = Vec::new();
    for f in &l.features {
        let Some(g) = usable_geom(l, f, "point", pr) else {
            continue;
        };
        let weight = optional_number(l, f, &mf.weight_field, pr).unwrap_or(1.0);
        let name = mf
            .name_field
            .as_deref()
            .and_then(|n| f.attr(n))
            .and_then(|a| a.as_text())
            .unwrap_or_else(|| format!("market {}", f.fid));
        let points: Vec<geo::Point<f64>> = match g {
            geo::Geometry::Point(p) => vec![*p],
            geo::Geometry::MultiPoint(m) => m.0.clone(),
            _ => vec![],
        };
        for p in points {
            out.push(Market {
                fid: f.fid,
                name: name.clone(),
                weight,
                point: p,
            });
        }
    }
    out
}

fn parcels_of(ls: &Landscape, l: &VLayer, pr: &mut Problems) -> Vec<Parcel> {
    let pf = &ls.cfg.parcels;
    let has_use = require_field(ls, l, &pf.use_field, "[parcels] use_field", pr);
    if let Some(idf) = &pf.id_field {
        require_field(ls, l, idf, "[parcels] id_field", pr);
    }
    let mut out = Vec::new();
    for f in &l.features {
        let Some(g) = usable_geom(l, f, "polygon", pr) else {
            continue;
        };
        if !has_use {
            continue;
        }
        let Some(v) = f.attr(&pf.use_field).and_then(|a| a.as_text()) else {
            pr.feature(
                "no use",
                l,
                f.fid,
                Some(&pf.use_field),
                "has no value; every parcel needs its current use",
            );
            continue;
        };
        let Some(u) = pf.use_values.get(v.trim()) else {
            pr.feature(
                "unknown use",
                l,
                f.fid,
                Some(&pf.use_field),
                format!(
                    "value '{v}' is not in [parcels.use_values] (accepted: {}); add it there with its use",
                    pf.use_values.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        };
        let id = pf
            .id_field
            .as_deref()
            .and_then(|n| f.attr(n))
            .and_then(|a| a.as_text())
            .unwrap_or_else(|| f.fid.to_string());
        out.push(Parcel {
            fid: f.fid,
            id,
            land_use: *u,
            use_value: v,
            geom: as_multipolygon(g),
        });
    }
    out
}

/// Features of one area (the same name and category, a name the layer
/// gives) published as several polygons become one area: their union, the
/// first feature's id; a warning names the areas merged and their features.
fn merge_parts(
    areas: Vec<ConservationArea>,
    file: &Path,
    pr: &mut Problems,
) -> Vec<ConservationArea> {
    use geo::BooleanOps;
    let mut out: Vec<ConservationArea> = Vec::with_capacity(areas.len());
    let mut parts: Vec<Vec<u64>> = Vec::with_capacity(areas.len());
    let mut by_name: std::collections::HashMap<(String, String), usize> = Default::default();
    for a in areas {
        let named = a.name != format!("area {}", a.fid);
        let key = (a.name.clone(), a.category.clone());
        let same = if named {
            by_name.get(&key).copied()
        } else {
            None
        };
        match same {
            Some(k) => {
                let o = &mut out[k];
                o.geom = o.geom.union(&a.geom);
                o.legal_area_km2 = geo::Area::unsigned_area(&o.geom) / 1e6;
                o.geom_in_aoi = o.geom.clone();
                parts[k].push(a.fid);
            }
            None => {
                if named {
                    by_name.insert(key, out.len());
                }
                parts.push(vec![a.fid]);
                out.push(a);
            }
        }
    }
    let merged: Vec<String> = out
        .iter()
        .zip(&parts)
        .filter(|(_, p)| p.len() > 1)
        .map(|(a, p)| {
            let ids: Vec<String> = p.iter().map(|f| f.to_string()).collect();
            format!("{} (features {})", a.name, ids.join(", "))
        })
        .collect();
    if !merged.is_empty() {
        pr.at(
            Severity::Warning,
            file,
            None,
            format!(
                "{} conservation area(s) published as several polygons are each merged into one by name and category: {}",
                merged.len(),
                merged.join("; ")
            ),
        );
    }
    out
}

/// Each area's part inside the AOI (exact polygon intersection).
fn clip_to_aoi(areas: &mut [ConservationArea], aoi: &geo::MultiPolygon<f64>) {
    use geo::{BooleanOps, Intersects};
    if aoi.0.is_empty() {
        return;
    }
    for c in areas.iter_mut() {
        c.geom_in_aoi = if c.geom.intersects(aoi) {
            c.geom.intersection(aoi)
        } else {
            geo::MultiPolygon(vec![])
        };
    }
}

/// Keep the items `keep` accepts; warn once, naming (up to ten of) the
/// others.
fn left_out<T>(
    items: Vec<T>,
    keep: impl Fn(&T) -> bool,
    name: impl Fn(&T) -> String,
    what: &str,
    file: &Path,
    pr: &mut Problems,
) -> Vec<T> {
    let (kept, off): (Vec<T>, Vec<T>) = items.into_iter().partition(|x| keep(x));
    if !off.is_empty() {
        let names: Vec<String> = off.iter().take(10).map(name).collect();
        pr.at(
            Severity::Warning,
            file,
            None,
            format!(
                "{} {what}: {}{}",
                off.len(),
                names.join(", "),
                if off.len() > 10 { ", ..." } else { "" }
            ),
        );
    }
    kept
}

fn conservation_of(ls: &Landscape, l: &VLayer, pr: &mut Problems) -> Vec<ConservationArea> {
    let cf = &ls.cfg.conservation;
    let d = crate::config::ConservationFields::default();
    for (field, default, key) in [
        (
            cf.name_field.as_deref(),
            d.name_field.as_deref(),
            "[conservation] name_field",
        ),
        (
            cf.category_field.as_deref(),
            d.category_field.as_deref(),
            "[conservation] category_field",
        ),
    ] {
        optional_field(l, field, default, key, pr);
    }
    let text = |f: &vector::VFeature, field: &Option<String>| {
        field
            .as_deref()
            .and_then(|n| f.attr(n))
            .and_then(|a| a.as_text())
    };
    polygons_of(l, pr)
        .into_iter()
        .map(|(fid, geom)| {
            let f = l
                .features
                .iter()
                .find(|f| f.fid == fid)
                .expect("feature of this layer");
            ConservationArea {
                fid,
                name: text(f, &cf.name_field).unwrap_or_else(|| format!("area {fid}")),
                category: text(f, &cf.category_field).unwrap_or_default(),
                legal_area_km2: geo::Area::unsigned_area(&geom) / 1e6,
                geom_in_aoi: geom.clone(),
                geom,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn read_raster(
    ls: &Landscape,
    src: &RasterSource,
    grid: &Grid,
    wkt: &str,
    aoi_mask: &[u8],
    what: &str,
    rs: Resample,
    range: (f64, f64),
    hint: &str,
    pr: &mut Problems,
) -> Option<Vec<f32>> {
    let path = ls.resolve(&src.path);
    let data = match raster::warp_to_grid(&path, src.band, grid, wkt, rs) {
        Ok(d) => d,
        Err(e) => {
            pr.at(
                Severity::Error,
                &path,
                None,
                match e {
                    crate::error::Error::BadRaster { message, .. } => message,
                    other => other.to_string(),
                },
            );
            return None;
        }
    };
    let mut inside = 0usize;
    let mut missing = 0usize;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut bad = None;
    for (i, v) in data.iter().enumerate() {
        if aoi_mask[i] == 0 {
            continue;
        }
        inside += 1;
        if v.is_nan() {
            missing += 1;
            continue;
        }
        let v = *v as f64;
        lo = lo.min(v);
        hi = hi.max(v);
        if (v < range.0 || v > range.1) && bad.is_none() {
            bad = Some((i, v));
        }
    }
    let band = if src.band == 1 {
        String::new()
    } else {
        format!(" band {}", src.band)
    };
    if inside > 0 && missing > 0 {
        let share = missing as f64 / inside as f64;
        let sev = if share > 0.01 {
            Severity::Error
        } else {
            Severity::Warning
        };
        pr.at(
            sev,
            &path,
            None,
            format!(
                "{what}{band} covers only {:.1}% of the AOI ({missing} of {inside} cells have no data); supply a raster that covers the whole AOI",
                100.0 * (1.0 - share)
            ),
        );
    }
    if let Some((i, v)) = bad {
        let (c, r) = (i % grid.width, i / grid.width);
        let (x, y) = grid.cell_center(c, r);
        pr.at(
            Severity::Error,
            &path,
            None,
            format!(
                "{what}{band} values range {lo}..{hi}, outside {}..{} (first at grid cell col {c}, row {r}, x {x:.0} y {y:.0}: {v}); {hint}",
                range.0, range.1
            ),
        );
    }
    Some(data)
}

/// Units too small for the grid, or no unit at all: warnings.
fn planning_unit_notes(ls: &Landscape, grid: &Grid, t: &planning_units::Tiling, pr: &mut Problems) {
    let cell_ha = grid.res * grid.res / 10_000.0;
    let per_tile = t.area_ha / cell_ha;
    if per_tile < 4.0 {
        pr.at(
            Severity::Warning,
            &ls.file,
            None,
            format!(
                "[parcels.planning_units] area_ha = {}: a unit holds only {per_tile:.1} grid cells of {cell_ha} ha; use units of at least {} ha or a finer grid",
                t.area_ha,
                4.0 * cell_ha
            ),
        );
    }
    if t.units == 0 {
        pr.at(
            Severity::Warning,
            &ls.file,
            None,
            format!(
                "no [layers] parcels, and no planning unit: none of the {} {}s of {} ha over the AOI is at least {}% farmland (not forest, not water, outside conservation areas)",
                t.tiles,
                t.shape.as_str(),
                t.area_ha,
                100.0 * t.min_farmland_share
            ),
        );
    }
}

/// No forest raster: the forest fraction of each grid cell is the share
/// of the land-cover cells in it whose class is one of `[landcover]
/// forest` (an error naming both settings when neither is given).
fn forest_from_landcover(
    ls: &Landscape,
    grid: &Grid,
    wkt: &str,
    aoi_mask: &[u8],
    pr: &mut Problems,
) -> Option<Vec<f32>> {
    let classes = &ls.cfg.landcover.forest;
    let Some(src) = &ls.cfg.layers.landcover else {
        pr.at(
            Severity::Error,
            &ls.file,
            None,
            "no forest layer: give [layers] forest (forest cover 0-1), or a [layers] landcover raster with its forest codes in [landcover] forest",
        );
        return None;
    };
    let path = ls.resolve(&src.path);
    if classes.is_empty() {
        pr.at(
            Severity::Error,
            &path,
            None,
            "[layers] forest is absent and [landcover] forest lists no class: say which land-cover codes are forest (e.g. forest = [1])",
        );
        return None;
    }
    match raster::warp_share(&path, src.band, grid, wkt, classes) {
        Ok(share) => {
            let any = share.iter().zip(aoi_mask).any(|(f, m)| *m == 1 && *f > 0.0);
            if !any {
                pr.at(
                    Severity::Warning,
                    &path,
                    None,
                    format!(
                        "no cell of the AOI has land cover in the [landcover] forest classes {classes:?}: the landscape has no forest"
                    ),
                );
            }
            Some(share)
        }
        Err(e) => {
            pr.at(Severity::Error, &path, None, e.to_string());
            None
        }
    }
}

fn check_landcover_codes(
    ls: &Landscape,
    src: &RasterSource,
    lc: &[f32],
    aoi: &[u8],
    pr: &mut Problems,
) {
    let known = &ls.cfg.landcover;
    let mut unknown: BTreeMap<i64, usize> = BTreeMap::new();
    for (v, m) in lc.iter().zip(aoi) {
        if *m == 0 || v.is_nan() {
            continue;
        }
        let c = *v as i64;
        let k = c as i32;
        if !(known.forest.contains(&k) || known.open.contains(&k) || known.water.contains(&k)) {
            *unknown.entry(c).or_insert(0) += 1;
        }
    }
    if !unknown.is_empty() {
        let list = unknown
            .iter()
            .map(|(c, n)| format!("{c} ({n} cells)"))
            .collect::<Vec<_>>()
            .join(", ");
        pr.at(
            Severity::Warning,
            &ls.resolve(&src.path),
            None,
            format!("land-cover codes not in [landcover] forest/open/water: {list}; they are treated as open land"),
        );
    }
}

fn check_loss_values(ls: &Landscape, src: &RasterSource, fl: &[f32], pr: &mut Problems) {
    let odd = fl
        .iter()
        .filter(|v| !v.is_nan())
        .find(|v| {
            let v = **v;
            v.fract() != 0.0 || (v > 99.0 && v < 2001.0)
        })
        .copied();
    if let Some(v) = odd {
        pr.at(
            Severity::Error,
            &ls.resolve(&src.path),
            None,
            format!("forest loss value {v} is neither 0/1 nor a year (1-99 or 2001-2099)"),
        );
    }
}
