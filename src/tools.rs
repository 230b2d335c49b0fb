//! General GIS tools built on greenhalo's kernels, for analysts' own data.

use std::path::Path;

use geo::CoordsIter;

use crate::error::{Error, Result};
use crate::io::raster;
use crate::io::{outdir, srs, vector};
use crate::kernels::cost_distance::{self, Source};
use crate::kernels::lines::{cell_pieces, GridGeom};

/// Band 1 of a north-up raster at its native precision, with every cell
/// GDAL says holds no data as NaN and packed values unpacked
/// (`raster::read_band_as`), where it sits, and its CRS (None when it has
/// none: vectors are then taken as is).
fn read_north_up<T: raster::FloatCell>(
    path: &Path,
) -> Result<(
    raster::Placement,
    Vec<T>,
    Option<gdal::spatial_ref::SpatialRef>,
)> {
    let (at, vals) = raster::read_band_as::<T>(path, 1)?;
    north_up(path, &at)?;
    let target = if at.wkt.is_empty() {
        None
    } else {
        Some(srs::parse(&at.wkt)?)
    };
    Ok((at, vals, target))
}

/// The accumulated cost over `cost` (on `at`) from `sources`, summed in
/// f64 and written to `out` as `O`; the cells reached and the largest cost.
fn solve_and_write<C, O>(
    at: &raster::Placement,
    cost: Vec<C>,
    sources: &[Source<f64>],
    out: &Path,
) -> Result<(usize, f64)>
where
    C: Copy + Send + Sync + Into<f64>,
    O: cost_distance::Real + raster::FloatCell,
{
    let (dx, dy) = (at.geo_transform[1], -at.geo_transform[5]);
    let mut acc: Vec<O> = cost_distance::solve_owned(at.width, at.height, dx, dy, cost, sources);
    let counted = reached_and_max(&mut acc);
    outdir::write_file_atomically(out, |tmp| {
        raster::write_geotiff(
            tmp,
            at,
            &acc,
            Some(f64::NAN),
            "accumulated cost from the nearest source",
        )
    })?;
    Ok(counted)
}

/// Cells reached and the largest cost among them, with the unreached set
/// to nodata (NaN), in one pass on every core.
fn reached_and_max<T: raster::FloatCell + PartialOrd>(acc: &mut [T]) -> (usize, f64) {
    use rayon::prelude::*;
    acc.par_chunks_mut(1 << 16)
        .map(|c| {
            let (mut n, mut max) = (0usize, 0f64);
            for v in c.iter_mut() {
                let x = v.to_f64();
                if x.is_finite() {
                    n += 1;
                    max = max.max(x);
                } else {
                    *v = T::NAN;
                }
            }
            (n, max)
        })
        .reduce(|| (0, 0f64), |a, b| (a.0 + b.0, a.1.max(b.1)))
}

/// The cell type of a raster a tool writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CellType {
    /// 4 bytes a cell, about 7 significant digits: enough to map.
    #[default]
    Float32,
    /// 8 bytes a cell: every digit the computation holds.
    Float64,
}

/// A raster the tools read cell by cell must be north-up and unrotated.
fn north_up(path: &Path, at: &raster::Placement) -> Result<()> {
    let gt = at.geo_transform;
    if gt[2] != 0.0 || gt[4] != 0.0 || gt[1] <= 0.0 || gt[5] >= 0.0 {
        return Err(Error::raster(
            path,
            "the raster is rotated or not north-up; warp it first (gdalwarp)",
        ));
    }
    Ok(())
}

/// What `cost-distance` reports.
#[derive(Debug, Clone)]
pub struct CostDistanceReport {
    pub source_cells: usize,
    pub reached_cells: usize,
    pub max_cost: f64,
    /// Source features (or parts) that fall outside the raster.
    pub sources_outside: usize,
    /// Source cells on impassable cost (nodata, NaN, negative, infinite):
    /// they stay nodata in the output, as in every cost-distance tool.
    pub sources_impassable: usize,
    /// Things the user should know (the counts above, in words).
    pub warnings: Vec<String>,
}

/// The raster's CRS, or the one the user assumes for it; a raster without
/// either is an error blamed on the raster.
fn crs_of(
    path: &Path,
    has: Option<gdal::spatial_ref::SpatialRef>,
    assume: Option<&str>,
) -> Result<gdal::spatial_ref::SpatialRef> {
    match (has, assume) {
        (Some(s), None) => Ok(s),
        (_, Some(a)) => srs::parse(a),
        (None, None) => Err(Error::raster(
            path,
            "the raster has no coordinate reference system, so vectors cannot be placed on it; \
             give it one (gdal_edit.py -a_srs EPSG:XXXX) or pass --assume-crs EPSG:XXXX",
        )),
    }
}

/// Accumulated cost from the nearest source over a cost raster.
///
/// The cost raster holds cost per unit distance in the raster's units;
/// nodata, NaN, infinite and negative cells are impassable (a step costs the
/// mean of its two cells' costs times its length, as `MCP_Geometric`,
/// r.cost and WhiteboxTools do). Cells may be rectangular. Sources are any
/// OGR vector layer (reprojected to the raster's CRS): points mark their
/// cell, lines every cell they cross, polygons every cell whose centre they
/// hold (and the cell of their first vertex). Sources outside the raster or
/// on impassable cells are reported and ignored (they stay nodata). The
/// output is a Float32 GeoTIFF on the cost raster's grid with nodata where
/// no source can be reached.
pub fn cost_distance(
    cost_path: &Path,
    sources_path: &Path,
    out: &Path,
    assume_crs: Option<&str>,
    cell_type: CellType,
) -> Result<CostDistanceReport> {
    // Costs a float32 holds exactly are read as such, half the memory, and
    // widened as the solver copies them: the same sums.
    if raster::band_fits_f32(cost_path, 1)? {
        cost_distance_of::<f32>(cost_path, sources_path, out, assume_crs, cell_type)
    } else {
        cost_distance_of::<f64>(cost_path, sources_path, out, assume_crs, cell_type)
    }
}

/// `cost_distance` with the costs read as `C`.
fn cost_distance_of<C: raster::FloatCell + Into<f64>>(
    cost_path: &Path,
    sources_path: &Path,
    out: &Path,
    assume_crs: Option<&str>,
    cell_type: CellType,
) -> Result<CostDistanceReport> {
    let (at, cost, has_crs) = read_north_up::<C>(cost_path)?;
    let target = crs_of(cost_path, has_crs, assume_crs)?;
    let gt = at.geo_transform;
    let layer = vector::read(sources_path, None, &Default::default(), Some(&target))?;
    let (w, h) = (at.width, at.height);
    let (dx, dy) = (gt[1], -gt[5]);
    let cell_of = |x: f64, y: f64| -> Option<u32> {
        let c = ((x - gt[0]) / dx).floor();
        let r = ((gt[3] - y) / dy).floor();
        (c >= 0.0 && r >= 0.0 && (c as usize) < w && (r as usize) < h)
            .then(|| (r as usize * w + c as usize) as u32)
    };
    // Lines are walked on the unit grid (column, -row), so rectangular
    // cells need no special case.
    let unit = GridGeom {
        x_min: 0.0,
        y_max: 0.0,
        res: 1.0,
        width: w,
        height: h,
    };
    let mut cells: Vec<u32> = Vec::new();
    let mut polys: Vec<geo::Geometry<f64>> = Vec::new();
    let mut outside = 0usize;
    for f in &layer.features {
        let Some(g) = &f.geom else { continue };
        match g {
            geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_) => {
                for c in g.coords_iter() {
                    match cell_of(c.x, c.y) {
                        Some(i) => cells.push(i),
                        None => outside += 1,
                    }
                }
            }
            geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_) => {
                let parts: Vec<geo::LineString<f64>> = match g {
                    geo::Geometry::LineString(l) => vec![l.clone()],
                    geo::Geometry::MultiLineString(m) => m.0.clone(),
                    _ => vec![],
                };
                for l in parts {
                    let coords: Vec<(f64, f64)> = l
                        .coords_iter()
                        .map(|c| ((c.x - gt[0]) / dx, (c.y - gt[3]) / dy))
                        .collect();
                    let before = cells.len();
                    cells.extend(
                        cell_pieces(&unit, &coords)
                            .into_iter()
                            .flatten()
                            .map(|p| p.cell),
                    );
                    // A line of one point, or wholly off the raster.
                    if cells.len() == before {
                        match l.coords_iter().next().and_then(|c| cell_of(c.x, c.y)) {
                            Some(i) => cells.push(i),
                            None => outside += 1,
                        }
                    }
                }
            }
            other => {
                // Its box overlaps the raster (a vertex inside implies it).
                let any_inside = geo::BoundingRect::bounding_rect(other).is_some_and(|b| {
                    b.max().x > gt[0]
                        && b.min().x < gt[0] + dx * w as f64
                        && b.max().y > gt[3] - dy * h as f64
                        && b.min().y < gt[3]
                });
                if any_inside {
                    polys.push(other.clone())
                } else {
                    outside += 1;
                }
            }
        }
    }
    if !polys.is_empty() {
        let ones = vec![1.0; polys.len()];
        let burnt = raster::rasterize_at(&at, &polys, &ones, 0.0, false)?;
        cells.extend(
            burnt
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.5)
                .map(|(i, _)| i as u32),
        );
        // A polygon smaller than a cell still marks the cell of its vertices.
        for p in &polys {
            cells.extend(p.coords_iter().take(1).filter_map(|c| cell_of(c.x, c.y)));
        }
    }
    cells.sort_unstable();
    cells.dedup();
    let passable = |c: u32| {
        let v: f64 = cost[c as usize].into();
        v.is_finite() && v >= 0.0
    };
    let impassable = cells.iter().filter(|c| !passable(**c)).count();
    cells.retain(|c| passable(*c));
    let mut warnings = Vec::new();
    if outside > 0 {
        warnings.push(format!(
            "{}: {outside} source(s) lie outside the cost raster and are ignored",
            sources_path.display()
        ));
    }
    if impassable > 0 {
        warnings.push(format!(
            "{}: {impassable} source cell(s) lie on impassable cost (nodata, negative or infinite) in {} and stay nodata",
            sources_path.display(),
            cost_path.display()
        ));
    }
    if cells.is_empty() {
        return Err(Error::BadFeature {
            file: sources_path.to_path_buf(),
            layer: layer.layer.clone(),
            fid: None,
            message: format!(
                "no source falls on a passable cell of the cost raster ({outside} outside it, {impassable} on impassable cells); check the CRS of both and the raster's nodata"
            ),
        });
    }
    let sources: Vec<Source<f64>> = cells
        .iter()
        .map(|&c| Source {
            cell: c,
            cost: 0.0,
            label: 0,
        })
        .collect();
    let at_out = raster::Placement {
        wkt: target.to_wkt().map_err(|e| Error::output(out, e))?,
        ..at
    };
    // Summed in f64 either way; written rounded once to f32, or as is.
    let (reached, max_cost) = match cell_type {
        CellType::Float64 => solve_and_write::<C, f64>(&at_out, cost, &sources, out)?,
        CellType::Float32 => solve_and_write::<C, f32>(&at_out, cost, &sources, out)?,
    };
    Ok(CostDistanceReport {
        source_cells: sources.len(),
        reached_cells: reached,
        max_cost,
        sources_outside: outside,
        sources_impassable: impassable,
        warnings,
    })
}

/// The statistics `zonal-stats` computes, with exactextract's names.
pub const ZONAL_STATS: [&str; 15] = [
    "mean",
    "sum",
    "count",
    "min",
    "max",
    "majority",
    "minority",
    "variety",
    "median",
    "stdev",
    "coefficient_of_variation",
    "frac",
    "weighted_mean",
    "weighted_sum",
    "weighted_frac",
];

/// A weighting raster for `zonal-stats`' weighted statistics: on the same
/// grid as the values, and the weight to use where it has no data (none:
/// such a cell under a polygon is an error, where exactextract gives NaN).
#[derive(Debug, Clone, Copy)]
pub struct ZonalWeights<'a> {
    pub raster: &'a Path,
    pub default_weight: Option<f64>,
}

/// One column of `zonal-stats`' output: a statistic, or one value's share
/// (`frac_<value>`, `weighted_frac_<value>`).
enum ZonalColumn {
    Stat(String),
    Frac(f64),
    WeightedFrac(f64),
}

/// A raster value as a column name holds it: integers without a decimal
/// point (`frac_3`, `frac_-1`), others in their shortest exact form.
fn value_label(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

/// Exact coverage-weighted zonal statistics of a raster for every polygon
/// of a layer, with exactextract's definitions (`kernels::zonal`): count,
/// sum, mean, min, max, majority, minority, variety, median, stdev,
/// coefficient_of_variation, frac; and, with a weighting raster on the
/// same grid, weighted_mean, weighted_sum and weighted_frac. `frac` and
/// `weighted_frac` give one column per value found under any polygon,
/// upwards (`frac_<value>`, 0 where a polygon has none of it; exactextractr
/// names them so). Values at their native precision, masks and packing as
/// GDAL defines them (`raster::read_band_f64`), the weights too. Any ring
/// order, holes, multipolygons, the polygon parts of geometry collections,
/// rectangular cells; points and lines are refused by name
/// (`zonal_polygons`). Polygons are reprojected to the raster's CRS (a
/// raster without one is an error unless `assume_crs` names it). The
/// output keeps every attribute of the polygon layer, then the statistics
/// (a statistic whose name an attribute already uses is written as
/// `stat_<name>`): CSV, or GeoJSON when `out` ends in .geojson. A polygon
/// with no data under it has count 0 and empty mean/min/max/majority/frac.
pub fn zonal_stats(
    polygons: &Path,
    raster_path: &Path,
    which: &[String],
    out: &Path,
    assume_crs: Option<&str>,
    weights: Option<ZonalWeights>,
) -> Result<usize> {
    use crate::kernels::zonal::{
        coverage_matches_area, coverage_on, stats_and_fractions, weighted, CellGrid,
    };
    for w in which {
        if !ZONAL_STATS.contains(&w.as_str()) {
            return Err(Error::Usage(format!(
                "unknown statistic '{w}'; choose from {}",
                ZONAL_STATS.join(", ")
            )));
        }
    }
    let wants_weights = which.iter().any(|w| w.starts_with("weighted_"));
    if wants_weights && weights.is_none() {
        return Err(Error::Usage(
            "weighted_mean, weighted_sum and weighted_frac need a weighting raster: --weights RASTER"
                .into(),
        ));
    }
    if let Some(ZonalWeights {
        raster,
        default_weight: Some(d),
    }) = weights
    {
        if !d.is_finite() {
            return Err(Error::Usage(format!(
                "--default-weight {d} for {}: give a finite number",
                raster.display()
            )));
        }
    }
    // Values at their native precision, masks and packing as GDAL defines
    // them (raster::read_band_as).
    let (at, vals, has_crs) = read_north_up::<f64>(raster_path)?;
    let gt = at.geo_transform;
    let weight_vals = match weights {
        Some(wt) if wants_weights => {
            let (wat, wv) = raster::read_band_f64(wt.raster, 1)?;
            let same = wat.width == at.width
                && wat.height == at.height
                && wat
                    .geo_transform
                    .iter()
                    .zip(&gt)
                    .all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0));
            if !same {
                return Err(Error::raster(
                    wt.raster,
                    format!(
                        "the weighting raster is {}x{} cells at {:?}, the values ({}) {}x{} at {:?}: put it on the same grid (gdalwarp -te <xmin ymin xmax ymax> -ts {} {} with the values' extent)",
                        wat.width,
                        wat.height,
                        wat.geo_transform,
                        raster_path.display(),
                        at.width,
                        at.height,
                        gt,
                        at.width,
                        at.height
                    ),
                ));
            }
            Some(wv)
        }
        _ => None,
    };
    let target = crs_of(raster_path, has_crs, assume_crs)?;
    let layer = vector::read(polygons, None, &Default::default(), Some(&target))?;
    let g = CellGrid {
        x_min: gt[0],
        y_max: gt[3],
        dx: gt[1],
        dy: -gt[5],
        width: at.width,
        height: at.height,
    };
    let extent = (
        g.x_min,
        g.y_max - g.height as f64 * g.dy,
        g.x_min + g.width as f64 * g.dx,
        g.y_max,
    );
    let wants = |name: &str| which.iter().any(|w| w == name);
    use rayon::prelude::*;
    // Per polygon: its statistics, its weighted figures and its value
    // shares (each only when asked for).
    type Figures = (
        crate::kernels::zonal::Stats,
        Option<crate::kernels::zonal::Weighted>,
        Vec<(f64, f64)>,
    );
    let figures: Vec<Figures> = layer
        .features
        .par_iter()
        .map(|f| {
            let mp = zonal_polygons(&layer, f)?;
            let cov = coverage_on(&g, &mp);
            // Never a silent zero: what the cells cover is the polygon's
            // area inside the raster.
            if let Err((covered, inside)) = coverage_matches_area(&cov, g.dx * g.dy, &mp, extent) {
                return Err(Error::BadFeature {
                    file: layer.file.clone(),
                    layer: layer.layer.clone(),
                    fid: Some(f.fid),
                    message: format!(
                        "its cells cover {covered:.6} m² (in the raster's units) but its area inside the raster is {inside:.6}: a polygon whose rings cross themselves gives this; repair it (QGIS: Fix geometries; GDAL: ogr2ogr -makevalid), or report it with the files"
                    ),
                });
            }
            let w = match (&weight_vals, weights) {
                (Some(wv), Some(wt)) => Some(
                    weighted(&cov, &vals, wv, wt.default_weight, wants("weighted_frac")).map_err(
                    |cell| Error::BadFeature {
                        file: layer.file.clone(),
                        layer: layer.layer.clone(),
                        fid: Some(f.fid),
                        message: format!(
                            "it covers cell (column {}, row {}), which has a value in {} but no weight in {}, so its weighted statistics cannot be computed; give --default-weight (0 leaves such cells out)",
                            cell as usize % at.width,
                            cell as usize / at.width,
                            raster_path.display(),
                            wt.raster.display()
                        ),
                    },
                )?),
                _ => None,
            };
            let (s, frac) = stats_and_fractions(&cov, &vals, wants("frac"));
            Ok((s, w, frac))
        })
        .collect::<Result<_>>()?;
    // The columns: each statistic asked for in order, `frac` and
    // `weighted_frac` as one column per value found under any polygon.
    let values_of = |pick: &dyn Fn(&Figures) -> Vec<f64>| {
        let mut v: Vec<f64> = figures.iter().flat_map(pick).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let mut columns: Vec<ZonalColumn> = Vec::new();
    for w in which {
        match w.as_str() {
            "frac" => columns.extend(
                values_of(&|f: &Figures| f.2.iter().map(|p| p.0).collect())
                    .into_iter()
                    .map(ZonalColumn::Frac),
            ),
            "weighted_frac" => columns.extend(
                values_of(&|f: &Figures| {
                    f.1.iter()
                        .flat_map(|w| w.weighted_frac.iter().map(|p| p.0))
                        .collect()
                })
                .into_iter()
                .map(ZonalColumn::WeightedFrac),
            ),
            _ => columns.push(ZonalColumn::Stat(w.clone())),
        }
    }
    let share = |of: &[(f64, f64)], v: f64| {
        if of.is_empty() {
            f64::NAN // no data under the polygon: no shares
        } else {
            of.iter().find(|p| p.0 == v).map_or(0.0, |p| p.1)
        }
    };
    let rows: Vec<Vec<f64>> = figures
        .iter()
        .map(|(s, w, frac)| {
            let wf =
                |get: fn(&crate::kernels::zonal::Weighted) -> f64| w.as_ref().map_or(f64::NAN, get);
            columns
                .iter()
                .map(|c| match c {
                    ZonalColumn::Frac(v) => share(frac, *v),
                    ZonalColumn::WeightedFrac(v) => {
                        w.as_ref().map_or(f64::NAN, |w| share(&w.weighted_frac, *v))
                    }
                    ZonalColumn::Stat(name) => match name.as_str() {
                        "mean" => s.mean,
                        "sum" => s.sum,
                        "count" => s.count,
                        "min" => s.min,
                        "max" => s.max,
                        "majority" => s.majority,
                        "minority" => s.minority,
                        "variety" => s.variety,
                        "median" => s.median,
                        "stdev" => s.stdev,
                        "weighted_mean" => wf(|w| w.weighted_mean),
                        "weighted_sum" => wf(|w| w.weighted_sum),
                        _ => s.coefficient_of_variation,
                    },
                })
                .collect()
        })
        .collect();
    let stat_names: Vec<String> = columns
        .iter()
        .map(|c| {
            let name = match c {
                ZonalColumn::Stat(n) => n.clone(),
                ZonalColumn::Frac(v) => format!("frac_{}", value_label(*v)),
                ZonalColumn::WeightedFrac(v) => format!("weighted_frac_{}", value_label(*v)),
            };
            if layer.fields.contains(&name) {
                format!("stat_{name}")
            } else {
                name
            }
        })
        .collect();
    let attr_json = |a: &vector::Attr| match a {
        vector::Attr::Str(s) => serde_json::json!(s),
        vector::Attr::Int(i) => serde_json::json!(i),
        vector::Attr::Real(r) if r.is_finite() => serde_json::json!(r),
        _ => serde_json::Value::Null,
    };
    let is_geojson = out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("geojson"));
    outdir::write_file_atomically(out, |tmp| {
        if is_geojson {
            let feats: Vec<crate::io::geojson_out::OutFeature> = layer
                .features
                .iter()
                .zip(&rows)
                .filter_map(|(f, v)| {
                    let mut props = serde_json::Map::new();
                    props.insert("fid".into(), serde_json::json!(f.fid));
                    for k in &layer.fields {
                        props.insert(
                            k.clone(),
                            f.attr(k).map(attr_json).unwrap_or(serde_json::Value::Null),
                        );
                    }
                    for (w, x) in stat_names.iter().zip(v) {
                        props.insert(
                            w.clone(),
                            if x.is_finite() {
                                serde_json::json!(x)
                            } else {
                                serde_json::Value::Null
                            },
                        );
                    }
                    f.geom
                        .clone()
                        .map(|geom| crate::io::geojson_out::OutFeature { geom, props })
                })
                .collect();
            crate::io::geojson_out::write(tmp, &target, &feats)
        } else {
            let mut w = csv::Writer::from_path(tmp).map_err(|e| Error::output(out, e))?;
            let mut header = vec!["fid".to_string()];
            header.extend(layer.fields.iter().cloned());
            header.extend(stat_names.iter().cloned());
            w.write_record(&header).map_err(|e| Error::output(out, e))?;
            for (f, v) in layer.features.iter().zip(&rows) {
                let mut rec = vec![f.fid.to_string()];
                rec.extend(
                    layer
                        .fields
                        .iter()
                        .map(|k| f.attr(k).and_then(|a| a.as_text()).unwrap_or_default()),
                );
                // Full precision (shortest round-trip form).
                rec.extend(v.iter().map(|x| {
                    if x.is_finite() {
                        format!("{x:?}")
                    } else {
                        String::new()
                    }
                }));
                w.write_record(&rec).map_err(|e| Error::output(out, e))?;
            }
            w.flush().map_err(|e| Error::io(out, e))
        }
    })?;
    Ok(rows.len())
}

/// A feature's polygons for zonal statistics: a polygon, a multipolygon,
/// or the polygon parts of a geometry collection (at any depth); none for
/// a feature without geometry (its statistics are those of no cell).
/// Points are refused, as exactextract refuses them; lines too (exactextract
/// weights a line's cells by its length in them, which greenhalo does not
/// do); a collection holding either is refused the same way, each naming
/// the file, layer and feature.
fn zonal_polygons(layer: &vector::VLayer, f: &vector::VFeature) -> Result<geo::MultiPolygon<f64>> {
    fn parts(
        g: &geo::Geometry<f64>,
        out: &mut Vec<geo::Polygon<f64>>,
    ) -> std::result::Result<(), &'static str> {
        use geo::Geometry as G;
        match g {
            G::Polygon(p) => out.push(p.clone()),
            G::MultiPolygon(m) => out.extend(m.0.iter().cloned()),
            G::Rect(r) => out.push(r.to_polygon()),
            G::Triangle(t) => out.push(t.to_polygon()),
            G::GeometryCollection(c) => {
                for g in c.iter() {
                    parts(g, out)?;
                }
            }
            G::Point(_) | G::MultiPoint(_) => return Err("a point"),
            G::Line(_) | G::LineString(_) | G::MultiLineString(_) => return Err("a line"),
        }
        Ok(())
    }
    let mut out = Vec::new();
    if let Some(g) = &f.geom {
        if let Err(kind) = parts(g, &mut out) {
            let what = if matches!(g, geo::Geometry::GeometryCollection(_)) {
                format!("a geometry collection holding {kind}")
            } else {
                kind.to_string()
            };
            let why = if kind == "a point" {
                "a point covers no area (exactextract refuses points too); buffer the points into polygons first"
            } else {
                "greenhalo's zonal statistics take polygons (exactextract would weight the cells by the line's length in them); buffer the lines into polygons first"
            };
            return Err(Error::BadFeature {
                file: layer.file.clone(),
                layer: layer.layer.clone(),
                fid: Some(f.fid),
                message: format!("is {what}: {why}"),
            });
        }
    }
    Ok(geo::MultiPolygon(out))
}
