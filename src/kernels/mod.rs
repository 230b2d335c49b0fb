//! Hot numeric code on flat arrays: no GDAL, no stages, no configuration.
//! Each kernel is testable and benchmarkable alone.

pub mod cost_distance;
pub mod distance;
pub mod lines;
pub mod terrain;
pub mod zonal;
