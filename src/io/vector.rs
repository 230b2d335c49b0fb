//! Reading vector layers through GDAL/OGR into `geo` types, reprojected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gdal::spatial_ref::SpatialRef;
use gdal::vector::{FieldValue, LayerAccess};
use gdal::Dataset;

use crate::error::{Error, Result};

/// An attribute value, as greenhalo needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Str(String),
    Int(i64),
    Real(f64),
    Null,
}

impl Attr {
    /// The value as text (numbers printed plainly), or None when null.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Attr::Str(s) => Some(s.clone()),
            Attr::Int(i) => Some(i.to_string()),
            Attr::Real(r) => Some(r.to_string()),
            Attr::Null => None,
        }
    }
    /// The value as a number: numbers as they are, text if it parses.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Attr::Str(s) => s.trim().parse().ok(),
            Attr::Int(i) => Some(*i as f64),
            Attr::Real(r) => Some(*r),
            Attr::Null => None,
        }
    }
}

/// One feature: its id in the source, geometry in the target CRS (None when
/// the feature has no geometry or it could not be converted), OGR's validity
/// verdict, and its attributes.
#[derive(Debug, Clone)]
pub struct VFeature {
    pub fid: u64,
    pub geom: Option<geo::Geometry<f64>>,
    /// Why `geom` is None or not valid (OGR/GEOS's words), if it is not.
    pub geom_problem: Option<String>,
    pub attrs: BTreeMap<String, Attr>,
}

impl VFeature {
    pub fn attr(&self, field: &str) -> Option<&Attr> {
        self.attrs.get(field)
    }
}

/// A whole layer read into memory.
#[derive(Debug, Clone)]
pub struct VLayer {
    pub file: PathBuf,
    pub layer: String,
    /// OGR's name of the layer's declared geometry type ("Line String", ...).
    pub geometry_type: String,
    /// Fields the layer declares (plus any `set` ones).
    pub fields: Vec<String>,
    pub features: Vec<VFeature>,
    /// Whether the layer declared a CRS (if not, coordinates were taken as
    /// they are and the caller should report it).
    pub has_crs: bool,
}

/// Open a vector dataset and pick the layer: by name, else the only one.
pub fn open(path: &Path, layer: Option<&str>) -> Result<(Dataset, usize, String)> {
    super::init_gdal();
    let open_err = |message: String| Error::OpenLayer {
        file: path.to_path_buf(),
        layer: layer.unwrap_or("").to_string(),
        message,
    };
    if let Some(why) = super::unreadable(path) {
        return Err(open_err(why));
    }
    let ds = Dataset::open_ex(
        path,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_VECTOR | gdal::GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    )
    .map_err(|e| open_err(format!("not a vector format GDAL reads ({e})")))?;
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    let idx = match layer {
        Some(name) => names.iter().position(|n| n == name).ok_or_else(|| {
            open_err(format!(
                "no layer of that name; the file has: {}",
                names.join(", ")
            ))
        })?,
        None => {
            if names.is_empty() {
                return Err(open_err("the file holds no vector layer".into()));
            }
            if names.len() > 1 {
                return Err(open_err(format!(
                    "the file holds {} layers ({}); say which with {{ path = ..., layer = \"...\" }}",
                    names.len(),
                    names.join(", ")
                )));
            }
            0
        }
    };
    let name = names[idx].clone();
    Ok((ds, idx, name))
}

/// Read every feature of a layer, reprojected into `target` when given.
/// `set` adds fixed attributes to every feature.
pub fn read(
    path: &Path,
    layer: Option<&str>,
    set: &BTreeMap<String, String>,
    target: Option<&SpatialRef>,
) -> Result<VLayer> {
    let (ds, idx, name) = open(path, layer)?;
    let mut lyr = ds.layer(idx).map_err(|e| Error::OpenLayer {
        file: path.to_path_buf(),
        layer: name.clone(),
        message: e.to_string(),
    })?;
    let defn = lyr.defn();
    let geometry_type = gdal::vector::geometry_type_to_name(defn.geometry_type());
    let mut fields: Vec<String> = defn.fields().map(|f| f.name()).collect();
    for k in set.keys() {
        if !fields.contains(k) {
            fields.push(k.clone());
        }
    }
    let src_srs = lyr.spatial_ref();
    let has_crs = src_srs.is_some();
    let ct = match (&src_srs, target) {
        (Some(s), Some(t)) => Some(super::srs::transform(s, t)?),
        _ => None,
    };

    let mut features = Vec::new();
    for f in lyr.features() {
        let fid = f.fid().unwrap_or(features.len() as u64);
        let mut attrs = BTreeMap::new();
        for (k, v) in f.fields() {
            attrs.insert(k, to_attr(v));
        }
        for (k, v) in set {
            attrs.insert(k.clone(), Attr::Str(v.clone()));
        }
        let (geom, geom_problem) = match f.geometry() {
            None => (None, Some("has no geometry".to_string())),
            Some(g) if g.is_empty() => (None, Some("has an empty geometry".to_string())),
            Some(g) => {
                let problem = if g.is_valid() {
                    None
                } else {
                    let msg = gdal_last_message();
                    Some(if msg.is_empty() {
                        "has an invalid geometry".to_string()
                    } else {
                        format!("has an invalid geometry ({msg})")
                    })
                };
                let moved = match &ct {
                    Some(ct) => g.transform(ct),
                    None => Ok(g.clone()),
                };
                match moved {
                    Ok(g2) => match normalise(g2) {
                        Ok(gg) => (Some(gg), problem),
                        Err(e) => (None, Some(format!("geometry cannot be used: {e}"))),
                    },
                    Err(e) => (None, Some(format!("cannot be reprojected: {e}"))),
                }
            }
        };
        features.push(VFeature {
            fid,
            geom,
            geom_problem,
            attrs,
        });
    }
    Ok(VLayer {
        file: path.to_path_buf(),
        layer: name,
        geometry_type,
        fields,
        features,
        has_crs,
    })
}

/// The layer's CRS and the envelope of its features, in its own CRS.
pub fn layer_srs(path: &Path, layer: Option<&str>) -> Result<Option<SpatialRef>> {
    let (ds, idx, name) = open(path, layer)?;
    let lyr = ds.layer(idx).map_err(|e| Error::OpenLayer {
        file: path.to_path_buf(),
        layer: name,
        message: e.to_string(),
    })?;
    Ok(lyr.spatial_ref())
}

/// One geometry convention for every stage, whatever the source held:
/// curves (CircularString, CompoundCurve, CurvePolygon, MultiSurface)
/// linearised as GDAL does by default, Z and M dropped, polygon rings in
/// RFC 7946 order (exterior counter-clockwise, holes clockwise), closing
/// points present and repeated vertices removed. Shapefiles store outer
/// rings clockwise and GeoJSON files counter-clockwise: after this, no
/// stage can tell them apart.
pub fn normalise(mut g: gdal::vector::Geometry) -> std::result::Result<geo::Geometry<f64>, String> {
    // SAFETY: the handle is valid for `g`'s lifetime; the linear copy is a
    // new geometry we own, exported to WKB and destroyed before returning.
    unsafe {
        let h = g.c_geometry();
        if gdal_sys::OGR_G_HasCurveGeometry(h, 1) != 0 {
            let lin = gdal_sys::OGR_G_GetLinearGeometry(h, 0.0, std::ptr::null_mut());
            if lin.is_null() {
                return Err("a curved geometry could not be linearised".into());
            }
            let n = gdal_sys::OGR_G_WkbSize(lin).max(0) as usize;
            let mut buf = vec![0u8; n];
            let rc = gdal_sys::OGR_G_ExportToWkb(
                lin,
                gdal_sys::OGRwkbByteOrder::wkbNDR,
                buf.as_mut_ptr(),
            );
            gdal_sys::OGR_G_DestroyGeometry(lin);
            if rc != gdal_sys::OGRErr::OGRERR_NONE {
                return Err("a curved geometry could not be linearised".into());
            }
            g = gdal::vector::Geometry::from_wkb(&buf).map_err(|e| e.to_string())?;
        }
        // Z and M dropped (after linearising, which may keep them).
        gdal_sys::OGR_G_Set3D(g.c_geometry(), 0);
        gdal_sys::OGR_G_SetMeasured(g.c_geometry(), 0);
    }
    let gg = g.to_geo().map_err(|e| e.to_string())?;
    Ok(orient(gg))
}

/// Rings in RFC 7946 order, repeated vertices removed, throughout a geometry.
fn orient(g: geo::Geometry<f64>) -> geo::Geometry<f64> {
    use geo::orient::{Direction, Orient};
    fn dedup_ring(r: &geo::LineString<f64>) -> geo::LineString<f64> {
        let mut c = r.0.clone();
        c.dedup();
        geo::LineString(c)
    }
    fn clean(p: &geo::Polygon<f64>) -> geo::Polygon<f64> {
        geo::Polygon::new(
            dedup_ring(p.exterior()),
            p.interiors().iter().map(dedup_ring).collect(),
        )
        .orient(Direction::Default)
    }
    match g {
        geo::Geometry::Polygon(p) => geo::Geometry::Polygon(clean(&p)),
        geo::Geometry::MultiPolygon(m) => {
            geo::Geometry::MultiPolygon(geo::MultiPolygon(m.0.iter().map(clean).collect()))
        }
        geo::Geometry::GeometryCollection(c) => geo::Geometry::GeometryCollection(
            geo::GeometryCollection(c.0.into_iter().map(orient).collect()),
        ),
        other => other,
    }
}

fn to_attr(v: Option<FieldValue>) -> Attr {
    match v {
        None => Attr::Null,
        Some(FieldValue::StringValue(s)) => Attr::Str(s),
        Some(FieldValue::IntegerValue(i)) => Attr::Int(i as i64),
        Some(FieldValue::Integer64Value(i)) => Attr::Int(i),
        Some(FieldValue::RealValue(r)) => Attr::Real(r),
        Some(other) => match other.into_string() {
            Some(s) => Attr::Str(s),
            None => Attr::Null,
        },
    }
}

fn gdal_last_message() -> String {
    // SAFETY: CPLGetLastErrorMsg returns a pointer to a thread-local,
    // NUL-terminated buffer owned by GDAL; we copy it at once.
    unsafe {
        let p = gdal_sys::CPLGetLastErrorMsg();
        if p.is_null() {
            return String::new();
        }
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// A field value to write.
#[derive(Debug, Clone)]
pub enum OutValue {
    Str(String),
    Int(i64),
    Real(f64),
    Null,
}

/// A field of an output layer.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    Str,
    Int,
    Real,
}

/// Write features (geometries in `src` CRS) as one layer of a new file in
/// any OGR format (`driver`: "GPKG", "ESRI Shapefile", "FlatGeobuf",
/// "GeoJSON", ...), reprojected into `dst`. Text is written as UTF-8.
#[allow(clippy::too_many_arguments)]
pub fn write_layer(
    path: &Path,
    driver: &str,
    layer_name: &str,
    src: &SpatialRef,
    dst: &SpatialRef,
    fields: &[(&str, FieldKind)],
    features: &[(geo::Geometry<f64>, Vec<OutValue>)],
) -> Result<()> {
    use gdal::vector::{
        Feature, FieldDefn, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal,
    };
    super::init_gdal();
    let err = |e: gdal::errors::GdalError| Error::output(path, e);
    let drv = gdal::DriverManager::get_driver_by_name(driver).map_err(err)?;
    if driver == "GPKG" {
        // A fixed timestamp keeps GeoPackages byte-identical between runs.
        gdal::config::set_config_option("OGR_CURRENT_DATE", "2000-01-01T00:00:00.000Z")
            .map_err(err)?;
    }
    let mut ds = drv.create_vector_only(path).map_err(err)?;
    let ty = match features.first().map(|f| &f.0) {
        Some(geo::Geometry::Point(_)) => OGRwkbGeometryType::wkbPoint,
        Some(geo::Geometry::LineString(_)) => OGRwkbGeometryType::wkbLineString,
        Some(geo::Geometry::MultiLineString(_)) => OGRwkbGeometryType::wkbMultiLineString,
        Some(geo::Geometry::Polygon(_)) => OGRwkbGeometryType::wkbPolygon,
        Some(geo::Geometry::MultiPolygon(_)) => OGRwkbGeometryType::wkbMultiPolygon,
        _ => OGRwkbGeometryType::wkbUnknown,
    };
    let opts: Vec<&str> = match driver {
        "ESRI Shapefile" => vec!["ENCODING=UTF-8"],
        "GeoJSON" => vec!["RFC7946=YES", "COORDINATE_PRECISION=7"],
        _ => vec![],
    };
    let lyr = ds
        .create_layer(LayerOptions {
            name: layer_name,
            srs: Some(dst),
            ty,
            options: Some(&opts),
        })
        .map_err(err)?;
    for (name, kind) in fields {
        let t = match kind {
            FieldKind::Str => OGRFieldType::OFTString,
            FieldKind::Int => OGRFieldType::OFTInteger64,
            FieldKind::Real => OGRFieldType::OFTReal,
        };
        let fd = FieldDefn::new(name, t).map_err(err)?;
        if matches!(kind, FieldKind::Str) && driver == "ESRI Shapefile" {
            fd.set_width(80);
        }
        fd.add_to_layer(&lyr).map_err(err)?;
    }
    let ct = super::srs::transform(src, dst)?;
    let defn = lyr.defn();
    for (g, values) in features {
        let mut f = Feature::new(defn).map_err(err)?;
        let gg = g.to_gdal().map_err(err)?.transform(&ct).map_err(err)?;
        f.set_geometry(gg).map_err(err)?;
        for (i, v) in values.iter().enumerate() {
            match v {
                OutValue::Str(s) => f.set_field_string(i, s).map_err(err)?,
                OutValue::Int(x) => f.set_field_integer64(i, *x).map_err(err)?,
                OutValue::Real(x) => f.set_field_double(i, *x).map_err(err)?,
                OutValue::Null => f.set_field_null(i).map_err(err)?,
            }
        }
        f.create(&lyr).map_err(err)?;
    }
    ds.flush_cache().map_err(err)?;
    ds.close().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod normalise_tests {
    use super::normalise;
    use geo::Area;

    #[test]
    fn curves_are_linearised_z_m_dropped_and_rings_put_in_rfc7946_order() {
        let curve = gdal::vector::Geometry::from_wkt(
            "CURVEPOLYGON(CIRCULARSTRING(0 20,20 0,0 -20,-20 0,0 20))",
        )
        .unwrap();
        let g = normalise(curve).unwrap();
        let geo::Geometry::Polygon(p) = &g else {
            panic!("{g:?}")
        };
        let exact = std::f64::consts::PI * 400.0;
        assert!((p.unsigned_area() - exact).abs() < 0.002 * exact);
        // Clockwise exterior (ESRI order) with Z and M: counter-clockwise after.
        let zm = gdal::vector::Geometry::from_wkt(
            "POLYGON ZM((0 0 5 1,0 10 5 1,10 10 5 1,10 0 5 1,0 0 5 1),(2 2 0 0,4 2 0 0,4 4 0 0,2 4 0 0,2 2 0 0))",
        )
        .unwrap();
        let geo::Geometry::Polygon(p) = normalise(zm).unwrap() else {
            panic!()
        };
        assert!(p.exterior().0.iter().all(|c| c.x.is_finite()));
        assert!(p.signed_area() > 0.0, "exterior counter-clockwise");
        assert_eq!(p.unsigned_area(), 100.0 - 4.0, "the hole subtracts");
        let hole = geo::Polygon::new(p.interiors()[0].clone(), vec![]);
        assert!(hole.signed_area() < 0.0, "hole clockwise");
    }
}
