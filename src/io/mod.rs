//! Everything that knows file formats: GDAL readers (vectors, rasters warped
//! onto the grid), rasterisation, and the GeoJSON / GeoTIFF writers, plus the
//! staging folder that makes a run all-or-nothing. Nothing here knows the model.

pub mod geojson_out;
pub mod gpkg;
pub mod outdir;
pub mod qgs;
pub mod qml;
pub mod raster;
pub mod space;
pub mod srs;
pub mod vector;

use std::sync::Once;

static INIT: Once = Once::new();

/// Register GDAL's drivers and route its messages away from stderr: greenhalo
/// reports problems itself, with the file and feature they concern, and reads
/// GDAL's last message into its own errors.
pub fn init_gdal() {
    INIT.call_once(|| {
        gdal::DriverManager::register_all();
        // GDAL's block cache defaults to 5% of RAM; greenhalo reads and
        // writes whole rasters once, so a modest cache is enough and keeps
        // peak memory down. An explicit GDAL_CACHEMAX wins.
        if std::env::var_os("GDAL_CACHEMAX").is_none() {
            let _ = gdal::config::set_config_option("GDAL_CACHEMAX", "256");
        }
        gdal::config::set_error_handler(|_class, _code, _msg| {});
    });
}

/// Why a layer file cannot be opened before GDAL tries: missing, unreadable
/// (permissions) or empty, said in those words rather than GDAL's "not a
/// recognised format". Folders pass (some formats are folders).
pub fn unreadable(path: &std::path::Path) -> Option<String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(
                "the file does not exist (paths are relative to the landscape file)".into(),
            )
        }
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    if meta.is_dir() {
        return None;
    }
    if let Err(e) = std::fs::File::open(path) {
        return Some(format!("cannot be read: {e} (check its permissions)"));
    }
    (meta.len() == 0).then(|| "is an empty file (0 bytes); was it fully copied?".into())
}
