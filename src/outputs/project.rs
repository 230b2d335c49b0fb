//! The QGIS project `greenhalo.qgs` and the .qml styles beside each layer.

use std::path::Path;

use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::io::qml;
use crate::io::srs;

/// Raster styles beside travel_time.tif and deforestation_risk.tif, and the
/// QGIS project that opens every layer styled.
pub fn write_styles_and_project(
    dir: &Path,
    inp: &Inputs,
    risk_max: f64,
    travel_p90: f64,
) -> Result<()> {
    let tt = qml::raster_pseudocolor(
        &[
            (0.0, "0,104,55,255", "0 min"),
            (travel_p90 * 0.25, "102,189,99,255", "fast"),
            (travel_p90 * 0.5, "255,255,191,255", ""),
            (travel_p90, "244,109,67,255", "slow"),
            (travel_p90 * 1.5, "165,0,38,255", "remote"),
        ],
        0.0,
        travel_p90 * 1.5,
    );
    std::fs::write(dir.join("travel_time.qml"), &tt).map_err(|e| Error::io(dir, e))?;
    let rk = qml::raster_pseudocolor(
        &[
            (0.0, "255,255,204,255", "0"),
            (risk_max * 0.25, "254,217,118,255", ""),
            (risk_max * 0.5, "253,141,60,255", ""),
            (risk_max, "189,0,38,255", "high"),
        ],
        0.0,
        risk_max,
    );
    std::fs::write(dir.join("deforestation_risk.qml"), &rk).map_err(|e| Error::io(dir, e))?;
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| Error::io(dir.join(f), e));
    let (roads, parcels, cons, halo) = (
        read("roads.qml")?,
        read("parcels.qml")?,
        read("conservation.qml")?,
        read("halo.qml")?,
    );
    let wgs_wkt = srs::wgs84().to_wkt().map_err(|e| Error::output(dir, e))?;
    let grid_auth = inp.grid.crs.clone();
    let layers = [
        crate::io::qgs::ProjectLayer {
            id: "roads",
            name: "Road segments",
            file: "roads.geojson",
            kind: "vector",
            geometry: "Line",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &roads,
        },
        crate::io::qgs::ProjectLayer {
            id: "halo",
            name: "Green Halo",
            file: "halo.geojson",
            kind: "vector",
            geometry: "Polygon",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &halo,
        },
        crate::io::qgs::ProjectLayer {
            id: "conservation",
            name: "Conservation funding",
            file: "conservation.geojson",
            kind: "vector",
            geometry: "Polygon",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &cons,
        },
        crate::io::qgs::ProjectLayer {
            id: "parcels",
            name: "Farmland transitions",
            file: "parcels.geojson",
            kind: "vector",
            geometry: "Polygon",
            crs_authid: "EPSG:4326",
            crs_wkt: &wgs_wkt,
            qml: &parcels,
        },
        crate::io::qgs::ProjectLayer {
            id: "deforestation_risk",
            name: "Deforestation risk (annual)",
            file: "deforestation_risk.tif",
            kind: "raster",
            geometry: "",
            crs_authid: &grid_auth,
            crs_wkt: &inp.grid_wkt,
            qml: &rk,
        },
        crate::io::qgs::ProjectLayer {
            id: "travel_time",
            name: "Travel time to market (min)",
            file: "travel_time.tif",
            kind: "raster",
            geometry: "",
            crs_authid: &grid_auth,
            crs_wkt: &inp.grid_wkt,
            qml: &tt,
        },
    ];
    let qgs = crate::io::qgs::project(&inp.name, &grid_auth, &inp.grid_wkt, &layers);
    std::fs::write(dir.join("greenhalo.qgs"), qgs).map_err(|e| Error::io(dir, e))
}
