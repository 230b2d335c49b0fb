//! Everything that knows file formats: GDAL readers (vectors, rasters warped
//! onto the grid), rasterisation, and the GeoJSON / GeoTIFF writers, plus the
//! staging folder that makes a run all-or-nothing. Nothing here knows the model.

pub mod geojson_out;
pub mod outdir;
pub mod qgs;
pub mod qml;
pub mod raster;
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
