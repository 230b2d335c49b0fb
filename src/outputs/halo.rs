//! The Green Halo: halo.geojson / .tif.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::halo::Halo;
use crate::inputs::Inputs;
use crate::io::geojson_out::OutFeature;
use crate::io::qml;
use crate::io::raster::{write_geotiff, Placement};
use crate::io::srs;

/// halo.geojson and its style.
pub fn write_halo_layer(
    dir: &Path,
    inp: &Inputs,
    halo: &Halo,
    layers: &super::Layers,
) -> Result<()> {
    let grid_srs = srs::parse(&inp.grid_wkt)?;
    let feats: Vec<OutFeature> = halo
        .rings
        .iter()
        .map(|(k, mp)| {
            use geo::Area;
            let c = &inp.conservation[*k];
            OutFeature {
                geom: geo::Geometry::MultiPolygon(mp.clone()),
                props: match json!({
                    "conservation_fid": c.fid,
                    "conservation_name": c.name,
                    "distance_km": halo.distance_m / 1000.0,
                    "area_km2": mp.unsigned_area() / 1e6,
                }) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
            }
        })
        .collect();
    layers.write("halo.geojson", &grid_srs, feats, None)?;
    std::fs::write(
        dir.join("halo.qml"),
        // An outline only: the ring is a zone around the areas, drawn
        // over the decisions without hiding them.
        qml::single(&qml::Symbol::fill("0,0,0,0", Some(("0,110,60,255", 0.6))).dashed()),
    )
    .map_err(|e| Error::io(dir, e))
}

/// halo.tif: 1 in the ring.
pub fn write_halo_raster(dir: &Path, inp: &Inputs, halo: &Halo) -> Result<()> {
    let at = Placement::of_grid(&inp.grid, &inp.grid_wkt);
    write_geotiff(
        &dir.join("halo.tif"),
        &at,
        &halo.mask,
        None,
        "1 in the Green Halo ring",
    )?;
    Ok(())
}
