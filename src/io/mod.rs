//! Everything that knows file formats: GDAL readers (vectors, rasters warped
//! onto the grid), rasterisation, and the GeoJSON / GeoTIFF writers, plus the
//! staging folder that makes a run all-or-nothing. Nothing here knows the model.

pub mod geojson_out;
pub mod outdir;
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
        gdal::config::set_error_handler(|_class, _code, _msg| {});
    });
}
