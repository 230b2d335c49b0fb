//! `greenhalo.gpkg`: every vector output in one GeoPackage, each layer with
//! its style stored in the `layer_styles` table, the table QGIS reads when a
//! GeoPackage layer is dragged in (the style loads as the layer's default),
//! in the analysis grid's CRS (the first layer dragged in sets the
//! project's CRS: a projected one, not lon/lat), decisions first; and the
//! output rasters as raster tables (GeoPackage tiled gridded coverage,
//! Float32 in TIFF tiles).

use std::path::Path;

use gdal::vector::{
    Feature, FieldDefn, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal,
};
use gdal::{Dataset, DriverManager};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::io::geojson_out::OutFeature;

/// One layer: `features` (lon/lat, as in the GeoJSON written beside it)
/// under `name`, styled by `qml`.
pub struct StyledLayer<'a> {
    pub name: &'a str,
    pub features: &'a [OutFeature],
    pub qml: &'a str,
}

/// The date written into the GeoPackage's bookkeeping (gpkg_contents,
/// layer_styles): fixed, so the same run gives byte-identical files.
const FIXED_DATE: &str = "2000-01-01T00:00:00.000Z";

/// One raster table: one band of `data` on `at`'s grid (NaN is no data).
pub struct RasterTable<'a> {
    pub name: &'a str,
    /// What QGIS's browser and layer list show.
    pub title: &'a str,
    pub at: &'a crate::io::raster::Placement,
    pub data: &'a [f32],
    pub description: &'a str,
    /// Stored rounded to whole units (Int16 in PNG tiles, no data
    /// `INT_NODATA`): elevation in metres takes a sixth of the room of
    /// Float32 TIFF tiles.
    pub whole_units: bool,
}

/// A QGIS project kept in the GeoPackage, as QGIS keeps one (its
/// `qgis_projects` table: name, metadata, and the .qgz archive as hex
/// text): QGIS's Browser lists it under the GeoPackage, and
/// `geopackage:PATH?projectName=NAME` opens it. Its layers' sources are
/// relative to the GeoPackage.
pub struct StoredProject<'a> {
    pub name: &'a str,
    /// The project XML (a .qgs document).
    pub qgs: &'a str,
}

/// Write `path` with every layer (its features in `crs`, a WKT, or in
/// lon/lat when none is given) and its default style, then every raster
/// table, then the project when given.
pub fn write(
    path: &Path,
    layers: &[StyledLayer],
    crs: Option<&str>,
    rasters: &[RasterTable],
    project: Option<&StoredProject>,
) -> Result<()> {
    super::init_gdal();
    let fail = |m: String| Error::output(path, m);
    gdal::config::set_thread_local_config_option("OGR_CURRENT_DATE", FIXED_DATE)
        .map_err(|e| fail(e.to_string()))?;
    // No fsync after each transaction: the file is written in the staging
    // folder and only moved into place once whole (the bytes are the same).
    gdal::config::set_thread_local_config_option("OGR_SQLITE_SYNCHRONOUS", "OFF")
        .map_err(|e| fail(e.to_string()))?;
    // Made in memory and written out by Rust: a full disk is one clean
    // error, never a half-written database.
    let result = super::space::via_memory(path, |mem| {
        write_inner(mem, layers, crs)
            .and_then(|_| {
                rasters.iter().try_for_each(|r| {
                    add_raster(mem, r)
                        .map_err(|m| Error::output(mem, format!("raster {}: {m}", r.name)))
                })
            })
            .and_then(|_| match project {
                Some(p) => add_project(mem, p)
                    .map_err(|m| Error::output(mem, format!("project {}: {m}", p.name))),
                None => Ok(()),
            })
            .map_err(|e| match e {
                Error::Output { message, .. } => Error::output(path, message),
                other => other,
            })
    });
    let _ = gdal::config::clear_thread_local_config_option("OGR_CURRENT_DATE");
    let _ = gdal::config::clear_thread_local_config_option("OGR_SQLITE_SYNCHRONOUS");
    result
}

fn write_inner(path: &Path, layers: &[StyledLayer], crs: Option<&str>) -> Result<()> {
    let fail = |m: String| Error::output(path, m);
    let target = match crs {
        Some(wkt) => super::srs::parse(wkt)?,
        None => super::srs::wgs84(),
    };
    let driver = DriverManager::get_driver_by_name("GPKG").map_err(|e| fail(e.to_string()))?;
    let mut ds = driver
        .create_vector_only(path)
        .map_err(|e| fail(format!("cannot create the GeoPackage: {e}")))?;
    // One transaction a layer (ogr2ogr's grouping is 65,536 features), the
    // spatial index made afterwards in one go (for 25,000 parcels GDAL 3.6
    // spent 0.5-1.3 s filling it feature by feature, 0.3-0.4 s after).
    for l in layers {
        let mut tx = ds
            .start_transaction()
            .map_err(|e| fail(format!("cannot start a transaction: {e}")))?;
        add_layer(&mut tx, l, &target).map_err(|m| fail(format!("layer {}: {m}", l.name)))?;
        tx.commit()
            .map_err(|e| fail(format!("cannot commit layer {}: {e}", l.name)))?;
    }
    for l in layers {
        // (A name of greenhalo's own: no quote to escape.)
        ds.execute_sql(
            format!("SELECT CreateSpatialIndex('{}', 'geom')", l.name),
            None,
            gdal::vector::sql::Dialect::DEFAULT,
        )
        .map_err(|e| fail(format!("cannot index layer {}: {e}", l.name)))?;
    }
    let mut ds = ds
        .start_transaction()
        .map_err(|e| fail(format!("cannot start a transaction: {e}")))?;
    let styles = ds
        .create_layer(LayerOptions {
            name: "layer_styles",
            srs: None,
            ty: OGRwkbGeometryType::wkbNone,
            options: None,
        })
        .map_err(|e| fail(e.to_string()))?;
    let text = OGRFieldType::OFTString;
    styles
        .create_defn_fields(&[
            ("f_table_catalog", text),
            ("f_table_schema", text),
            ("f_table_name", text),
            ("f_geometry_column", text),
            ("styleName", text),
            ("styleQML", text),
            ("styleSLD", text),
            ("useAsDefault", OGRFieldType::OFTInteger),
            ("description", text),
            ("owner", text),
            ("ui", text),
            ("update_time", text),
        ])
        .map_err(|e| fail(e.to_string()))?;
    for l in layers {
        let mut f = gdal::vector::Feature::new(styles.defn()).map_err(|e| fail(e.to_string()))?;
        let values: [(&str, &str); 10] = [
            ("f_table_catalog", ""),
            ("f_table_schema", ""),
            ("f_table_name", l.name),
            ("f_geometry_column", "geom"),
            ("styleName", l.name),
            ("styleQML", l.qml),
            ("styleSLD", ""),
            ("description", "written by greenhalo"),
            ("owner", ""),
            ("update_time", FIXED_DATE),
        ];
        for (k, v) in values {
            let i = f.field_index(k).map_err(|e| fail(e.to_string()))?;
            f.set_field_string(i, v).map_err(|e| fail(e.to_string()))?;
        }
        let i = f
            .field_index("useAsDefault")
            .map_err(|e| fail(e.to_string()))?;
        f.set_field_integer(i, 1).map_err(|e| fail(e.to_string()))?;
        f.create(&styles).map_err(|e| fail(e.to_string()))?;
    }
    ds.commit().map_err(|e| fail(format!("cannot commit: {e}")))
}

/// The no-data value of the raster tables.
pub const RASTER_NODATA: f32 = -9999.0;

/// The no-data value of the raster tables kept in whole units.
pub const INT_NODATA: i16 = i16::MIN;

/// Add one raster table to the GeoPackage at `path` (made in memory first
/// as a tiled GeoTIFF, then copied by the GPKG driver).
fn add_raster(path: &Path, r: &RasterTable) -> std::result::Result<(), String> {
    let tmp = path.with_file_name(format!("{}.tif", r.name));
    // A gridded coverage holds a finite no-data value only (a NaN one is
    // dropped, and the tiles GDAL leaves out for being empty read as 0).
    if r.whole_units {
        let data: Vec<i16> = r
            .data
            .iter()
            .map(|v| {
                if v.is_nan() {
                    INT_NODATA
                } else {
                    v.round().clamp(INT_NODATA as f32 + 1.0, i16::MAX as f32) as i16
                }
            })
            .collect();
        crate::io::raster::write_tiled(&tmp, r.at, &data, Some(INT_NODATA as f64), r.description)
    } else {
        let data: Vec<f32> = r
            .data
            .iter()
            .map(|v| if v.is_nan() { RASTER_NODATA } else { *v })
            .collect();
        crate::io::raster::write_tiled(&tmp, r.at, &data, Some(RASTER_NODATA as f64), r.description)
    }
    .map_err(|e| e.to_string())?;
    let src = Dataset::open(&tmp).map_err(|e| e.to_string())?;
    let drv = DriverManager::get_driver_by_name("GPKG").map_err(|e| e.to_string())?;
    let table = format!("RASTER_TABLE={}", r.name);
    let desc = format!("RASTER_DESCRIPTION={}", r.description);
    let ident = format!("RASTER_IDENTIFIER={}", r.title);
    let opts = gdal::raster::RasterCreationOptions::from_iter([
        "APPEND_SUBDATASET=YES",
        table.as_str(),
        desc.as_str(),
        ident.as_str(),
        if r.whole_units {
            "TILE_FORMAT=PNG"
        } else {
            "TILE_FORMAT=TIFF"
        },
        "BLOCKSIZE=256",
    ]);
    let mut out = src
        .create_copy(&drv, path, &opts)
        .map_err(|e| e.to_string())?;
    out.flush_cache().map_err(|e| e.to_string())?;
    out.close().map_err(|e| e.to_string())?;
    drop(src);
    let _ = gdal::vsi::unlink_mem_file(&tmp);
    Ok(())
}

/// The project as QGIS saves a .qgz: a zip holding the .qgs (no
/// auxiliary storage: the layers have no auxiliary fields), dated like the
/// rest of the GeoPackage's bookkeeping so the bytes repeat.
fn qgz(qgs: &str) -> std::result::Result<Vec<u8>, String> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        z.start_file("greenhalo.qgs", opts)
            .map_err(|e| e.to_string())?;
        z.write_all(qgs.as_bytes()).map_err(|e| e.to_string())?;
        z.finish().map_err(|e| e.to_string())?;
    }
    Ok(out.into_inner())
}

/// Store `p` in the GeoPackage at `path` (the table QGIS makes when it
/// saves a project to a GeoPackage, with the same columns and encoding).
fn add_project(path: &Path, p: &StoredProject) -> std::result::Result<(), String> {
    let archive = qgz(p.qgs)?;
    let hex: String = archive.iter().map(|b| format!("{b:02x}")).collect();
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let metadata = format!(
        r#"{{"last_modified_time": "{}", "last_modified_user": "greenhalo" }}"#,
        &FIXED_DATE[..19]
    );
    let ds = Dataset::open_ex(
        path,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE
                | gdal::GdalOpenFlags::GDAL_OF_VECTOR
                | gdal::GdalOpenFlags::GDAL_OF_RASTER,
            allowed_drivers: Some(&["GPKG"]),
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    for sql in [
        "CREATE TABLE qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, content BLOB)"
            .to_string(),
        format!(
            "INSERT INTO qgis_projects VALUES ({}, {}, {})",
            quote(p.name),
            quote(&metadata),
            quote(&hex)
        ),
    ] {
        ds.execute_sql(sql, None, gdal::vector::sql::Dialect::DEFAULT)
            .map_err(|e| format!("cannot store the project: {e}"))?;
    }
    ds.close().map_err(|e| e.to_string())
}

/// A field's type as GDAL's GeoJSON reader gives it from the values: any
/// real number makes it Real, integers alone Integer (Integer64 beyond 32
/// bits), booleans Integer of subtype Boolean, anything else String.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Null,
    Bool,
    Int,
    Int64,
    Real,
    Text,
}

fn kind_of(v: &Value) -> std::result::Result<Kind, String> {
    Ok(match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => Kind::Int,
            Some(_) => Kind::Int64,
            // (beyond 64 bits, or not whole)
            None => Kind::Real,
        },
        Value::String(_) => Kind::Text,
        Value::Array(_) | Value::Object(_) => {
            return Err("a list or object value, which greenhalo does not write".into())
        }
    })
}

fn merge(a: Kind, b: Kind) -> Kind {
    use Kind::*;
    match (a, b) {
        (x, Null) | (Null, x) => x,
        (x, y) if x == y => x,
        (Int, Int64) | (Int64, Int) => Int64,
        (Int | Int64 | Real, Int | Int64 | Real) => Real,
        _ => Text,
    }
}

/// The fields of `features`: in order of first appearance, each with its
/// kind over every feature.
fn schema(features: &[OutFeature]) -> std::result::Result<Vec<(String, Kind)>, String> {
    let mut fields: Vec<(String, Kind)> = Vec::new();
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in features {
        for (k, v) in &f.props {
            let kind = kind_of(v).map_err(|m| format!("field {k}: {m}"))?;
            match at.get(k) {
                Some(&i) => fields[i].1 = merge(fields[i].1, kind),
                None => {
                    at.insert(k.clone(), fields.len());
                    fields.push((k.clone(), kind));
                }
            }
        }
    }
    Ok(fields)
}

/// The layer's geometry type (multi for lines and polygons, as ogr2ogr's
/// PROMOTE_TO_MULTI makes it; points stay points) and each geometry so
/// promoted.
fn promoted(g: &geo::Geometry<f64>) -> std::result::Result<geo::Geometry<f64>, String> {
    use geo::Geometry as G;
    Ok(match g {
        G::Point(_) | G::MultiPolygon(_) | G::MultiLineString(_) => g.clone(),
        G::Polygon(p) => G::MultiPolygon(geo::MultiPolygon(vec![p.clone()])),
        G::LineString(l) => G::MultiLineString(geo::MultiLineString(vec![l.clone()])),
        other => return Err(format!("a geometry greenhalo does not write: {other:?}")),
    })
}

fn layer_type(features: &[OutFeature]) -> std::result::Result<OGRwkbGeometryType::Type, String> {
    use geo::Geometry as G;
    let mut ty = None;
    for f in features {
        let t = match f.geom {
            G::Point(_) => OGRwkbGeometryType::wkbPoint,
            G::Polygon(_) | G::MultiPolygon(_) => OGRwkbGeometryType::wkbMultiPolygon,
            G::LineString(_) | G::MultiLineString(_) => OGRwkbGeometryType::wkbMultiLineString,
            _ => return Err("a geometry greenhalo does not write".into()),
        };
        match ty {
            None => ty = Some(t),
            Some(u) if u != t => return Err("mixed geometry types".into()),
            _ => {}
        }
    }
    Ok(ty.unwrap_or(OGRwkbGeometryType::wkbUnknown))
}

/// Add an Integer field of subtype Boolean (the crate has no setter for
/// the subtype).
fn add_boolean_field(layer: &impl LayerAccess, name: &str) -> std::result::Result<(), String> {
    let c_name = std::ffi::CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: the definition is created, used and destroyed here (GDAL
    // copies it into the layer); the layer handle is alive for the call.
    unsafe {
        let h = gdal_sys::OGR_Fld_Create(c_name.as_ptr(), OGRFieldType::OFTInteger);
        if h.is_null() {
            return Err(format!("cannot define field {name}"));
        }
        gdal_sys::OGR_Fld_SetSubType(h, gdal_sys::OGRFieldSubType::OFSTBoolean);
        let rv = gdal_sys::OGR_L_CreateField(layer.c_layer(), h, 1);
        gdal_sys::OGR_Fld_Destroy(h);
        if rv != gdal_sys::OGRErr::OGRERR_NONE {
            return Err(format!("cannot add field {name}"));
        }
    }
    Ok(())
}

/// Create layer `l` in `ds` and write its features (FIDs 1, 2, ... in
/// order, under the key `gpkg_fid`: the layers carry a `fid` attribute of
/// their sources).
fn add_layer(
    ds: &mut Dataset,
    l: &StyledLayer,
    srs: &gdal::spatial_ref::SpatialRef,
) -> std::result::Result<(), String> {
    let fields = schema(l.features)?;
    let ty = layer_type(l.features)?;
    let layer = ds
        .create_layer(LayerOptions {
            name: l.name,
            srs: Some(srs),
            ty,
            options: Some(&["FID=gpkg_fid", "SPATIAL_INDEX=NO"]),
        })
        .map_err(|e| e.to_string())?;
    for (name, kind) in &fields {
        let ty = match kind {
            Kind::Bool | Kind::Int => OGRFieldType::OFTInteger,
            Kind::Int64 => OGRFieldType::OFTInteger64,
            Kind::Real => OGRFieldType::OFTReal,
            Kind::Null | Kind::Text => OGRFieldType::OFTString,
        };
        if *kind == Kind::Bool {
            add_boolean_field(&layer, name)?;
        } else {
            let defn = FieldDefn::new(name, ty).map_err(|e| e.to_string())?;
            defn.add_to_layer(&layer).map_err(|e| e.to_string())?;
        }
    }
    for f in l.features {
        let mut out = Feature::new(layer.defn()).map_err(|e| e.to_string())?;
        for (i, (name, kind)) in fields.iter().enumerate() {
            let r = match (f.props.get(name), kind) {
                (None | Some(Value::Null), _) => out.set_field_null(i),
                (Some(Value::Bool(b)), _) => out.set_field_integer(i, *b as i32),
                (Some(Value::Number(n)), Kind::Int) => {
                    out.set_field_integer(i, n.as_i64().unwrap_or_default() as i32)
                }
                (Some(Value::Number(n)), Kind::Int64) => {
                    out.set_field_integer64(i, n.as_i64().unwrap_or_default())
                }
                (Some(Value::Number(n)), Kind::Real) => {
                    out.set_field_double(i, n.as_f64().unwrap_or(f64::NAN))
                }
                (Some(Value::String(s)), _) => out.set_field_string(i, s),
                (Some(v), _) => out.set_field_string(i, &v.to_string()),
            };
            r.map_err(|e| format!("field {name}: {e}"))?;
        }
        // (rings ordered as in the GeoJSON beside it)
        let g = crate::io::geojson_out::orient(promoted(&f.geom)?)
            .to_gdal()
            .map_err(|e| e.to_string())?;
        out.set_geometry(g).map_err(|e| e.to_string())?;
        out.create(&layer).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdal::vector::FieldValue;
    use serde_json::json;

    fn feat(geom: geo::Geometry<f64>, props: Value) -> OutFeature {
        OutFeature {
            geom,
            props: props.as_object().cloned().unwrap_or_default(),
        }
    }

    fn square(x: f64) -> geo::Polygon<f64> {
        geo::Polygon::new(
            geo::LineString::from(vec![
                (x, 0.0),
                (x + 1.0, 0.0),
                (x + 1.0, 1.0),
                (x, 1.0),
                (x, 0.0),
            ]),
            vec![],
        )
    }

    /// Fields (name, type, subtype) and features (values, geometry as
    /// geo-types) of layer 0 of `path` or of the layer `name`.
    #[allow(clippy::type_complexity)]
    fn read(
        path: &Path,
        name: Option<&str>,
    ) -> (
        Vec<(String, u32, u32)>,
        Vec<(Vec<Option<FieldValue>>, geo::Geometry<f64>)>,
    ) {
        let ds = Dataset::open(path).unwrap();
        let mut l = match name {
            Some(n) => ds.layer_by_name(n).unwrap(),
            None => ds.layer(0).unwrap(),
        };
        let fields: Vec<(String, u32, u32)> = l
            .defn()
            .fields()
            .enumerate()
            .map(|(i, f)| {
                // SAFETY: the layer is alive and has field i (the crate has
                // no getter for the subtype).
                let sub = unsafe {
                    let d = gdal_sys::OGR_L_GetLayerDefn(l.c_layer());
                    gdal_sys::OGR_Fld_GetSubType(gdal_sys::OGR_FD_GetFieldDefn(d, i as i32))
                };
                (f.name(), f.field_type(), sub)
            })
            .collect();
        let n = fields.len();
        let feats = l
            .features()
            .map(|f| {
                let vals = (0..n).map(|i| f.field(i).unwrap()).collect();
                let g = promoted(&f.geometry().unwrap().to_geo().unwrap()).unwrap();
                (vals, g)
            })
            .collect();
        (fields, feats)
    }

    /// The GeoPackage written from memory holds what GDAL reads from the
    /// GeoJSON written beside it (what ogr2ogr copied before): the same
    /// fields, types and subtypes, values and geometries, on the awkward
    /// cases: a null before the first value, an all-null field, integers
    /// beyond 32 bits, integers then reals, booleans, accents, polygons
    /// beside multipolygons, points, and an empty layer.
    #[test]
    fn the_geopackage_holds_what_gdal_reads_from_the_geojson() {
        crate::io::init_gdal();
        let dir = tempfile::tempdir().unwrap();
        let mp = |x: f64| {
            geo::Geometry::MultiPolygon(geo::MultiPolygon(vec![square(x), square(x + 3.0)]))
        };
        let layers: Vec<(&str, Vec<OutFeature>)> = vec![
            (
                "mixed",
                vec![
                    feat(
                        geo::Geometry::Polygon(square(0.0)),
                        json!({"id": "Año Nuevo – ü", "small": 3, "big": 3_000_000_000i64,
                            "real": 1.5, "int_then_real": 1, "null_first": null, "all_null": null,
                            "flag": true, "fid": 7}),
                    ),
                    feat(
                        mp(10.0),
                        json!({"id": "b", "small": -4, "big": 5, "real": -0.25,
                            "int_then_real": 2.5, "null_first": 0.125, "all_null": null,
                            "flag": false, "fid": 7}),
                    ),
                ],
            ),
            (
                "points",
                vec![feat(
                    geo::Geometry::Point(geo::point!(x: -77.1234567, y: -6.5)),
                    json!({"name": "Moyobamba", "weight": 2.0}),
                )],
            ),
            (
                "lines",
                vec![
                    feat(
                        geo::Geometry::LineString(geo::LineString::from(vec![
                            (0.0, 0.0),
                            (1.0, 1.0),
                        ])),
                        json!({"eirr": null}),
                    ),
                    feat(
                        geo::Geometry::MultiLineString(geo::MultiLineString(vec![
                            geo::LineString::from(vec![(2.0, 0.0), (3.0, 1.0)]),
                        ])),
                        json!({"eirr": 0.12}),
                    ),
                ],
            ),
            ("empty", vec![]),
        ];
        let styled: Vec<StyledLayer> = layers
            .iter()
            .map(|(name, f)| StyledLayer {
                name,
                features: f,
                qml: "<qgis/>",
            })
            .collect();
        let gpkg = dir.path().join("out.gpkg");
        write(&gpkg, &styled, None, &[], None).unwrap();
        for (name, f) in &layers {
            let json = dir.path().join(format!("{name}.geojson"));
            crate::io::geojson_out::write_wgs84(&json, f).unwrap();
            let (want_fields, want) = read(&json, None);
            let (got_fields, got) = read(&gpkg, Some(name));
            assert_eq!(got_fields, want_fields, "layer {name}");
            assert_eq!(got, want, "layer {name}");
        }
        // The kinds the awkward fields took (GDAL's reading, checked above).
        let (fields, _) = read(&gpkg, Some("mixed"));
        let ty = |n: &str| {
            fields
                .iter()
                .find(|f| f.0 == n)
                .map(|f| (f.1, f.2))
                .unwrap()
        };
        assert_eq!(ty("big").0, OGRFieldType::OFTInteger64);
        assert_eq!(ty("int_then_real").0, OGRFieldType::OFTReal);
        assert_eq!(ty("all_null").0, OGRFieldType::OFTString);
        assert_eq!(
            ty("flag"),
            (
                OGRFieldType::OFTInteger,
                gdal_sys::OGRFieldSubType::OFSTBoolean
            )
        );
        // Two writes give the same bytes.
        let again = dir.path().join("again.gpkg");
        write(&again, &styled, None, &[], None).unwrap();
        assert_eq!(
            std::fs::read(&gpkg).unwrap(),
            std::fs::read(&again).unwrap()
        );
    }

    /// In a projected CRS the layers hold the same coordinates (read back by
    /// GDAL) in that CRS, and a raster table the same values, its gaps as no
    /// data.
    #[test]
    fn layers_in_the_grid_crs_and_rasters_read_back_the_same() {
        crate::io::init_gdal();
        let dir = tempfile::tempdir().unwrap();
        let utm = crate::io::srs::parse("EPSG:32718")
            .unwrap()
            .to_wkt()
            .unwrap();
        // (a place near Moyobamba in UTM 18S, to the millimetre)
        let f = vec![feat(
            geo::Geometry::Point(geo::point!(x: 264_321.123, y: 9_332_456.789)),
            json!({"name": "Moyobamba"}),
        )];
        let at = crate::io::raster::Placement {
            geo_transform: [280_000.0, 100.0, 0.0, 9_340_000.0, 0.0, -100.0],
            wkt: utm.clone(),
            width: 300,
            height: 260,
        };
        // Whole tiles of gaps (GDAL leaves them out) and single gaps.
        let data: Vec<f32> = (0..300 * 260)
            .map(|i| {
                if i % 300 < 10 || i % 97 == 0 {
                    f32::NAN
                } else {
                    (i % 1000) as f32 * 0.25
                }
            })
            .collect();
        let gpkg = dir.path().join("p.gpkg");
        let layer = StyledLayer {
            name: "pts",
            features: &f,
            qml: "<qgis/>",
        };
        let table = RasterTable {
            name: "tt",
            title: "Travel",
            at: &at,
            data: &data,
            description: "t",
            whole_units: false,
        };
        let qgs = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis projectname=\"O'Higgins\"/>\n";
        let project = StoredProject {
            name: "O'Higgins",
            qgs,
        };
        // Elevation-like values kept in whole units.
        let heights: Vec<f32> = data.iter().map(|v| v * 3.7 - 120.4).collect();
        let whole = RasterTable {
            name: "dem",
            title: "Elevation",
            at: &at,
            data: &heights,
            description: "m",
            whole_units: true,
        };
        write(&gpkg, &[layer], Some(&utm), &[table, whole], Some(&project)).unwrap();
        let ds = Dataset::open(&gpkg).unwrap();
        let mut l = ds.layer_by_name("pts").unwrap();
        let srs = l.spatial_ref().unwrap();
        assert_eq!(srs.auth_code().unwrap(), 32718);
        let g = l.features().next().unwrap().geometry().unwrap().clone();
        assert_eq!(g.get_point(0), (264_321.123, 9_332_456.789, 0.0));
        // The project as QGIS reads it back: the hex text of a zip that
        // holds the .qgs.
        let mut rows = ds
            .execute_sql(
                // (as text, as QGIS reads it: GDAL would give a BLOB
                // column's bytes as hex again)
                "SELECT name, CAST(content AS TEXT) AS content FROM qgis_projects",
                None,
                gdal::vector::sql::Dialect::DEFAULT,
            )
            .unwrap()
            .unwrap();
        let row = rows.features().next().unwrap();
        assert_eq!(row.field_as_string(0).unwrap().unwrap(), "O'Higgins");
        let hex = row.field_as_string(1).unwrap().unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("greenhalo.qgs").unwrap(), &mut text)
            .unwrap();
        assert_eq!(text, qgs);
        drop(row);
        drop(rows);
        let r = Dataset::open(format!("GPKG:{}:tt", gpkg.display())).unwrap();
        let band = r.rasterband(1).unwrap();
        assert_eq!(band.no_data_value(), Some(RASTER_NODATA as f64));
        let got = band
            .read_as::<f32>((0, 0), (300, 260), (300, 260), None)
            .unwrap();
        for (a, b) in got.data().iter().zip(&data) {
            if b.is_nan() {
                assert_eq!(*a, RASTER_NODATA);
            } else {
                assert_eq!(a, b);
            }
        }
        drop(r);
        let r = Dataset::open(format!("GPKG:{}:dem", gpkg.display())).unwrap();
        let band = r.rasterband(1).unwrap();
        assert_eq!(band.no_data_value(), Some(INT_NODATA as f64));
        let got = band
            .read_as::<f64>((0, 0), (300, 260), (300, 260), None)
            .unwrap();
        for (a, b) in got.data().iter().zip(&heights) {
            if b.is_nan() {
                assert_eq!(*a, INT_NODATA as f64);
            } else {
                assert_eq!(*a, b.round() as f64, "{b}");
            }
        }
    }

    #[test]
    fn a_list_value_is_an_error_naming_the_layer_and_field() {
        crate::io::init_gdal();
        let dir = tempfile::tempdir().unwrap();
        let f = vec![feat(
            geo::Geometry::Point(geo::point!(x: 0.0, y: 0.0)),
            json!({"tags": [1, 2]}),
        )];
        let err = write(
            &dir.path().join("x.gpkg"),
            &[StyledLayer {
                name: "pts",
                features: &f,
                qml: "",
            }],
            None,
            &[],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("pts") && err.contains("tags"), "{err}");
    }
}
