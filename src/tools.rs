//! General GIS tools built on greenhalo's kernels, for analysts' own data.

use std::path::Path;

use geo::CoordsIter;

use crate::error::{Error, Result};
use crate::io::raster;
use crate::io::{outdir, srs, vector};
use crate::kernels::cost_distance::{self, Source};
use crate::kernels::lines::{cell_pieces, GridGeom};

/// Band 1 of a north-up raster as f32 with its nodata as NaN, where it
/// sits, and its CRS (None when it has none: vectors are then taken as is).
fn read_north_up(
    path: &Path,
) -> Result<(
    raster::Placement,
    Vec<f32>,
    Option<gdal::spatial_ref::SpatialRef>,
)> {
    let (at, mut vals, nodata) = raster::read_native_as::<f32>(path, 1)?;
    let gt = at.geo_transform;
    if gt[2] != 0.0 || gt[4] != 0.0 || gt[1] <= 0.0 || gt[5] >= 0.0 {
        return Err(Error::raster(
            path,
            "the raster is rotated or not north-up; warp it first (gdalwarp)",
        ));
    }
    if let Some(nd) = nodata {
        let nd = nd as f32;
        for v in vals.iter_mut() {
            if *v == nd {
                *v = f32::NAN;
            }
        }
    }
    let target = if at.wkt.is_empty() {
        None
    } else {
        Some(srs::parse(&at.wkt)?)
    };
    Ok((at, vals, target))
}

/// What `cost-distance` reports.
#[derive(Debug, Clone)]
pub struct CostDistanceReport {
    pub source_cells: usize,
    pub reached_cells: usize,
    pub max_cost: f64,
}

/// Accumulated cost from the nearest source over a cost raster.
///
/// The cost raster holds cost per unit distance in the raster's units;
/// nodata, NaN and negative cells are impassable. Sources are any OGR vector
/// layer (reprojected to the raster's CRS): points mark their cell, lines
/// every cell they cross, polygons every cell whose centre they hold. The
/// output is a Float32 GeoTIFF on the cost raster's grid with nodata where
/// no source can be reached.
pub fn cost_distance(
    cost_path: &Path,
    sources_path: &Path,
    out: &Path,
) -> Result<CostDistanceReport> {
    let (at, cost, target) = read_north_up(cost_path)?;
    let gt = at.geo_transform;
    let layer = vector::read(sources_path, None, &Default::default(), target.as_ref())?;
    let (w, h) = (at.width, at.height);
    let cell_of = |x: f64, y: f64| -> Option<u32> {
        let c = ((x - gt[0]) / gt[1]).floor();
        let r = ((y - gt[3]) / gt[5]).floor();
        (c >= 0.0 && r >= 0.0 && (c as usize) < w && (r as usize) < h)
            .then(|| (r as usize * w + c as usize) as u32)
    };
    let mut cells: Vec<u32> = Vec::new();
    let mut polys: Vec<geo::Geometry<f64>> = Vec::new();
    let gg = GridGeom {
        x_min: gt[0],
        y_max: gt[3],
        res: gt[1],
        width: w,
        height: h,
    };
    for f in &layer.features {
        let Some(g) = &f.geom else { continue };
        match g {
            geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_) => {
                cells.extend(g.coords_iter().filter_map(|c| cell_of(c.x, c.y)));
            }
            geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_) => {
                let parts: Vec<geo::LineString<f64>> = match g {
                    geo::Geometry::LineString(l) => vec![l.clone()],
                    geo::Geometry::MultiLineString(m) => m.0.clone(),
                    _ => vec![],
                };
                for l in parts {
                    let coords: Vec<(f64, f64)> = l.coords_iter().map(|c| (c.x, c.y)).collect();
                    if (gt[1] - (-gt[5])).abs() > 1e-9 * gt[1] {
                        // Non-square cells: mark the vertices' cells only.
                        cells.extend(coords.iter().filter_map(|(x, y)| cell_of(*x, *y)));
                    } else {
                        cells.extend(
                            cell_pieces(&gg, &coords)
                                .into_iter()
                                .flatten()
                                .map(|p| p.cell),
                        );
                    }
                }
            }
            other => polys.push(other.clone()),
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
    if cells.is_empty() {
        return Err(Error::BadFeature {
            file: sources_path.to_path_buf(),
            layer: layer.layer.clone(),
            fid: None,
            message: "no source falls inside the cost raster; check the CRS of both".into(),
        });
    }
    let sources: Vec<Source> = cells
        .iter()
        .map(|&c| Source {
            cell: c,
            cost: 0.0,
            label: 0,
        })
        .collect();
    let mut acc = cost_distance::solve_owned(w, h, gt[1], -gt[5], cost, &sources);
    let reached = acc.iter().filter(|v| v.is_finite()).count();
    let max_cost = acc
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f32, |a, b| a.max(*b)) as f64;
    for v in acc.iter_mut() {
        if !v.is_finite() {
            *v = f32::NAN;
        }
    }
    let outv = acc;
    outdir::write_file_atomically(out, |tmp| {
        raster::write_geotiff(
            tmp,
            &at,
            &outv,
            Some(f64::NAN),
            "accumulated cost from the nearest source",
        )
    })?;
    Ok(CostDistanceReport {
        source_cells: sources.len(),
        reached_cells: reached,
        max_cost,
    })
}

/// Exact coverage-weighted zonal statistics of a raster for every polygon
/// of a layer (the definitions of exactextract: `count` is the sum of the
/// coverage fractions of cells with data, `mean` = sum(f v) / sum(f)).
/// Polygons are reprojected to the raster's CRS. Writes CSV, or GeoJSON
/// (polygons with the statistics as properties) when `out` ends in .geojson.
pub fn zonal_stats(
    polygons: &Path,
    raster_path: &Path,
    which: &[String],
    out: &Path,
) -> Result<usize> {
    use crate::kernels::zonal::{coverage, stats};
    const KNOWN: [&str; 6] = ["mean", "sum", "count", "min", "max", "majority"];
    for w in which {
        if !KNOWN.contains(&w.as_str()) {
            return Err(Error::Usage(format!(
                "unknown statistic '{w}'; choose from {}",
                KNOWN.join(", ")
            )));
        }
    }
    let (at, vals, target) = read_north_up(raster_path)?;
    let gt = at.geo_transform;
    if (gt[1] + gt[5]).abs() > 1e-9 * gt[1] {
        return Err(Error::raster(
            raster_path,
            "zonal-stats needs square cells; warp it first (gdalwarp -tr)",
        ));
    }
    let layer = vector::read(polygons, None, &Default::default(), target.as_ref())?;
    let gg = GridGeom {
        x_min: gt[0],
        y_max: gt[3],
        res: gt[1],
        width: at.width,
        height: at.height,
    };
    use rayon::prelude::*;
    let rows: Vec<(u64, Option<geo::Geometry<f64>>, Vec<f64>)> = layer
        .features
        .par_iter()
        .map(|f| {
            let mp = match &f.geom {
                Some(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p.clone()]),
                Some(geo::Geometry::MultiPolygon(m)) => m.clone(),
                _ => geo::MultiPolygon(vec![]),
            };
            let s = stats(&coverage(&gg, &mp), &vals);
            let v = which
                .iter()
                .map(|w| match w.as_str() {
                    "mean" => s.mean,
                    "sum" => s.sum,
                    "count" => s.count,
                    "min" => s.min,
                    "max" => s.max,
                    _ => s.majority,
                })
                .collect();
            (f.fid, f.geom.clone(), v)
        })
        .collect();
    let is_geojson = out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("geojson"));
    outdir::write_file_atomically(out, |tmp| {
        if is_geojson {
            let src = target.clone().unwrap_or_else(srs::wgs84);
            let feats: Vec<crate::io::geojson_out::OutFeature> = rows
                .iter()
                .filter_map(|(fid, g, v)| {
                    let mut props = serde_json::Map::new();
                    props.insert("fid".into(), serde_json::json!(fid));
                    for (w, x) in which.iter().zip(v) {
                        props.insert(
                            w.clone(),
                            if x.is_finite() {
                                serde_json::json!(x)
                            } else {
                                serde_json::Value::Null
                            },
                        );
                    }
                    g.clone()
                        .map(|geom| crate::io::geojson_out::OutFeature { geom, props })
                })
                .collect();
            crate::io::geojson_out::write(tmp, &src, &feats)
        } else {
            let mut w = csv::Writer::from_path(tmp).map_err(|e| Error::output(out, e))?;
            let mut header = vec!["fid".to_string()];
            header.extend(which.iter().cloned());
            w.write_record(&header).map_err(|e| Error::output(out, e))?;
            for (fid, _, v) in &rows {
                let mut rec = vec![fid.to_string()];
                rec.extend(v.iter().map(|x| {
                    if x.is_finite() {
                        x.to_string()
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
