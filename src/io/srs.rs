//! Coordinate reference systems and transforms, always in traditional GIS
//! order (x = easting or longitude, y = northing or latitude).

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};

use crate::error::{Error, Result};

/// Parse a user CRS ("EPSG:32718", WKT, PROJ string) with x/y axis order.
pub fn parse(def: &str) -> Result<SpatialRef> {
    super::init_gdal();
    let mut srs = SpatialRef::from_definition(def).map_err(|e| Error::Crs {
        crs: def.to_string(),
        message: format!("GDAL does not recognise it ({e}); use e.g. \"EPSG:32718\""),
    })?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

pub fn wgs84() -> SpatialRef {
    parse("EPSG:4326").expect("EPSG:4326 is always known to PROJ")
}

/// A transform between two CRSs, both in traditional GIS order.
pub fn transform(from: &SpatialRef, to: &SpatialRef) -> Result<CoordTransform> {
    let mut a = from.clone();
    let mut b = to.clone();
    a.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    b.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    CoordTransform::new(&a, &b).map_err(|e| Error::Crs {
        crs: a.name().unwrap_or_default(),
        message: format!("no transform to {}: {e}", b.name().unwrap_or_default()),
    })
}

/// Whether the CRS is projected in metres (the analysis grid needs one).
pub fn is_metric(srs: &SpatialRef) -> bool {
    srs.is_projected() && (srs.linear_units() - 1.0).abs() < 1e-9
}
