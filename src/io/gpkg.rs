//! `greenhalo.gpkg`: every vector output in one GeoPackage, each layer with
//! its style stored in the `layer_styles` table, the table QGIS reads when a
//! GeoPackage layer is dragged in (the style loads as the layer's default).

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};

use gdal::vector::{LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType};
use gdal::{Dataset, DriverManager};

use crate::error::{Error, Result};

/// One layer: copied from `source` (any vector file GDAL reads) under
/// `name`, styled by `qml`.
pub struct StyledLayer<'a> {
    pub name: &'a str,
    pub source: PathBuf,
    pub qml: &'a str,
}

/// The date written into the GeoPackage's bookkeeping (gpkg_contents,
/// layer_styles): fixed, so the same run gives byte-identical files.
const FIXED_DATE: &str = "2000-01-01T00:00:00.000Z";

/// Write `path` with every layer and its default style.
pub fn write(path: &Path, layers: &[StyledLayer]) -> Result<()> {
    super::init_gdal();
    let fail = |m: String| Error::output(path, m);
    gdal::config::set_thread_local_config_option("OGR_CURRENT_DATE", FIXED_DATE)
        .map_err(|e| fail(e.to_string()))?;
    // No fsync after each transaction: the file is written in the staging
    // folder and only moved into place once whole (the bytes are the same).
    gdal::config::set_thread_local_config_option("OGR_SQLITE_SYNCHRONOUS", "OFF")
        .map_err(|e| fail(e.to_string()))?;
    let result = write_inner(path, layers);
    let _ = gdal::config::clear_thread_local_config_option("OGR_CURRENT_DATE");
    let _ = gdal::config::clear_thread_local_config_option("OGR_SQLITE_SYNCHRONOUS");
    result
}

fn write_inner(path: &Path, layers: &[StyledLayer]) -> Result<()> {
    let fail = |m: String| Error::output(path, m);
    let driver = DriverManager::get_driver_by_name("GPKG").map_err(|e| fail(e.to_string()))?;
    let mut ds = driver
        .create_vector_only(path)
        .map_err(|e| fail(format!("cannot create the GeoPackage: {e}")))?;
    for l in layers {
        let src = Dataset::open(&l.source).map_err(|e| Error::OpenLayer {
            file: l.source.clone(),
            layer: String::new(),
            message: e.to_string(),
        })?;
        let points = src
            .layer(0)
            .map(|mut ly| {
                ly.features().next().and_then(|f| {
                    f.geometry()
                        .map(|g| g.geometry_type() == OGRwkbGeometryType::wkbPoint)
                })
            })
            .ok()
            .flatten()
            .unwrap_or(false);
        // ogr2ogr's own path: one transaction per 65,536 features, mixed
        // single/multi geometries promoted to multi (points stay points).
        // The primary key gets its own name: the layers carry a `fid`
        // attribute of their sources, repeated across sources.
        // The spatial index is made afterwards, in one go (for 25,000
        // parcels GDAL 3.6 spent 0.5-1.3 s filling it during the copy,
        // 0.3-0.4 s after it).
        let mut args = vec![
            "-nln",
            l.name,
            "-gt",
            "65536",
            "-lco",
            "FID=gpkg_fid",
            "-lco",
            "SPATIAL_INDEX=NO",
        ];
        if !points {
            args.extend(["-nlt", "PROMOTE_TO_MULTI"]);
        }
        translate(&ds, &src, &args).map_err(|m| {
            fail(format!(
                "GDAL could not copy {} into it: {m}",
                l.source.display()
            ))
        })?;
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

/// `ogr2ogr` into the open dataset `dst` from `src` with `args`
/// (GDALVectorTranslate, the library behind ogr2ogr).
fn translate(dst: &Dataset, src: &Dataset, args: &[&str]) -> std::result::Result<(), String> {
    let owned: Vec<CString> = args
        .iter()
        .map(|a| CString::new(*a).map_err(|e| e.to_string()))
        .collect::<std::result::Result<_, _>>()?;
    let mut argv: Vec<*mut c_char> = owned.iter().map(|c| c.as_ptr() as *mut c_char).collect();
    argv.push(std::ptr::null_mut());
    // SAFETY: argv is a NULL-terminated list of live C strings, copied by
    // GDALVectorTranslateOptionsNew; both dataset handles outlive the call;
    // the options are freed once.
    unsafe {
        let opts = gdal_sys::GDALVectorTranslateOptionsNew(argv.as_mut_ptr(), std::ptr::null_mut());
        if opts.is_null() {
            return Err(format!("bad options {args:?}"));
        }
        let mut srcs = [src.c_dataset()];
        let mut usage = 0;
        let out = gdal_sys::GDALVectorTranslate(
            std::ptr::null(),
            dst.c_dataset(),
            1,
            srcs.as_mut_ptr(),
            opts,
            &mut usage,
        );
        gdal_sys::GDALVectorTranslateOptionsFree(opts);
        if out.is_null() {
            let msg = std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg())
                .to_string_lossy()
                .into_owned();
            return Err(msg);
        }
    }
    Ok(())
}
