//! GeoJSON per RFC 7946: EPSG:4326, x = longitude, y = latitude, 7 decimals
//! (about 1 cm), exterior rings counter-clockwise and holes clockwise.

use std::io::Write;
use std::path::Path;

use gdal::spatial_ref::{CoordTransform, SpatialRef};
use geo::orient::{Direction, Orient};
use geo::MapCoords;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One output feature: geometry in the source CRS and its properties in order.
pub struct OutFeature {
    pub geom: geo::Geometry<f64>,
    pub props: Map<String, Value>,
}

/// Round to 7 decimals (RFC 7946 §11.2 suggests no more precision than needed).
fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Transform a geometry to lon/lat, rounded, with RFC 7946 ring orientation.
/// Its coordinates go through the transformation in one call (one call a
/// point cost more than the transformation itself on 25,000 real parcels);
/// each point comes out as it would alone.
pub fn to_wgs84(g: &geo::Geometry<f64>, ct: &CoordTransform) -> Result<geo::Geometry<f64>> {
    use std::cell::{Cell, RefCell};
    // map_coords visits the coordinates in one fixed order: once to gather
    // them, once to put the transformed ones back.
    let gathered = RefCell::new((Vec::new(), Vec::new()));
    let _ = g.map_coords(|c| {
        let mut xy = gathered.borrow_mut();
        xy.0.push(c.x);
        xy.1.push(c.y);
        c
    });
    let (mut x, mut y) = gathered.into_inner();
    let mut z = vec![0.0; x.len()];
    if !x.is_empty() {
        ct.transform_coords(&mut x, &mut y, &mut z)
            .map_err(|e| Error::Crs {
                crs: "output".into(),
                message: format!("cannot transform to EPSG:4326: {e}"),
            })?;
    }
    let next = Cell::new(0usize);
    let moved = g.map_coords(|_| {
        let k = next.get();
        next.set(k + 1);
        geo::coord! { x: round7(x[k]), y: round7(y[k]) }
    });
    Ok(orient(moved))
}

/// Exterior rings counter-clockwise, holes clockwise (RFC 7946 §3.1.6; the
/// GeoPackage keeps the same order).
pub(crate) fn orient(g: geo::Geometry<f64>) -> geo::Geometry<f64> {
    match g {
        geo::Geometry::Polygon(p) => geo::Geometry::Polygon(p.orient(Direction::Default)),
        geo::Geometry::MultiPolygon(p) => geo::Geometry::MultiPolygon(p.orient(Direction::Default)),
        geo::Geometry::GeometryCollection(gc) => geo::Geometry::GeometryCollection(
            geo::GeometryCollection(gc.0.into_iter().map(orient).collect()),
        ),
        other => other,
    }
}

/// Write features (geometries in `src` CRS) as an RFC 7946 FeatureCollection.
pub fn write(path: &Path, src: &SpatialRef, features: &[OutFeature]) -> Result<()> {
    let ct = super::srs::transform(src, &super::srs::wgs84())?;
    write_with(path, features.iter(), |f| to_wgs84(&f.geom, &ct))
}

/// Write features already in lon/lat as an RFC 7946 FeatureCollection
/// (rounded and oriented as `write` makes them).
pub fn write_wgs84(path: &Path, features: &[OutFeature]) -> Result<()> {
    write_with(path, features.iter(), |f| Ok(f.geom.clone()))
}

/// A feature as the `geojson` crate writes one (type, geometry,
/// properties), its properties borrowed.
#[derive(serde::Serialize)]
struct FeatureOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: geojson::Geometry,
    properties: &'a Map<String, Value>,
}

/// The FeatureCollection as the `geojson` crate writes it, one feature at
/// a time (no second copy of the whole layer in memory).
fn write_with<'a>(
    path: &Path,
    features: impl Iterator<Item = &'a OutFeature>,
    geometry: impl Fn(&OutFeature) -> Result<geo::Geometry<f64>>,
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    w.write_all(br#"{"type":"FeatureCollection","features":["#)
        .map_err(|e| Error::io(path, e))?;
    for (k, f) in features.enumerate() {
        if k > 0 {
            w.write_all(b",").map_err(|e| Error::io(path, e))?;
        }
        let feature = FeatureOut {
            kind: "Feature",
            geometry: geojson::Geometry::new(geojson::Value::from(&geometry(f)?)),
            properties: &f.props,
        };
        serde_json::to_writer(&mut w, &feature).map_err(|e| match e.io_error_kind() {
            // A write that failed (a full disk): said as such.
            Some(_) => Error::io(path, std::io::Error::from(e)),
            None => Error::output(path, e),
        })?;
    }
    w.write_all(b"]}\n").map_err(|e| Error::io(path, e))?;
    w.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}
