//! The QGIS project `greenhalo.qgs` and the .qml styles beside each layer.

use std::path::Path;

use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::io::qml;
use crate::io::srs;

/// Raster styles beside travel_time.tif and deforestation_risk.tif, and the
/// QGIS project that opens every layer styled; returns the same project on
/// the layers and raster tables of greenhalo.gpkg, which the GeoPackage
/// carries as its default project.
pub fn write_styles_and_project(dir: &Path, inp: &Inputs, risk_max: f64) -> Result<String> {
    // Legends in the rasters' units: travel time in the report's classes
    // (a discrete ramp), risk at round values.
    let classes = crate::fmt::TRAVEL_TIME_CLASSES;
    let stops: Vec<(f64, String, String)> = classes
        .iter()
        .enumerate()
        .map(|(k, (t, (r, g, b)))| {
            let upper = if t.is_finite() { *t } else { 1e12 };
            (
                upper,
                format!("{r},{g},{b},255"),
                crate::fmt::travel_time_class_label(k),
            )
        })
        .collect();
    let stops: Vec<(f64, &str, String)> = stops
        .iter()
        .map(|(v, c, l)| (*v, c.as_str(), l.clone()))
        .collect();
    let tt = qml::raster_discrete(&stops, 0.0, classes[classes.len() - 2].0 * 2.0);
    std::fs::write(dir.join("travel_time.qml"), &tt).map_err(|e| Error::io(dir, e))?;
    let pct = crate::fmt::nice_step(risk_max * 100.0, 4);
    let colours = [
        "255,255,204,255",
        "254,217,118,255",
        "253,141,60,255",
        "227,26,28,255",
        "128,0,38,255",
    ];
    let decimals = (-pct.log10().floor()).max(0.0) as usize + 1;
    let stops: Vec<(f64, &str, String)> = colours
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let v = pct * k as f64;
            let label = format!("{:.*}", decimals, v);
            let label = label.trim_end_matches('0').trim_end_matches('.');
            (v / 100.0, *c, format!("{label}% a year"))
        })
        .collect();
    let rk = qml::raster_pseudocolor(&stops, 0.0, pct * 4.0 / 100.0);
    std::fs::write(dir.join("deforestation_risk.qml"), &rk).map_err(|e| Error::io(dir, e))?;
    // Terrain under the map: the aligned DEM as a hillshade.
    let terrain = qml::raster_hillshade();
    std::fs::write(dir.join("inputs/elevation.qml"), &terrain)
        .map_err(|e| Error::io(dir.join("inputs/elevation.qml"), e))?;
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| Error::io(dir.join(f), e));
    let (roads, parcels, cons, halo) = (
        read("roads.qml")?,
        read("parcels.qml")?,
        read("conservation.qml")?,
        read("halo.qml")?,
    );
    // Context layers from inputs/: AOI outline, markets with their names,
    // the road network as given. Their styles also go beside them.
    let aoi = qml::single(&qml::Symbol::fill("0,0,0,0", Some(("40,40,40,255", 0.7))));
    let markets = qml::with_labels(
        &qml::single(&qml::Symbol::marker("35,35,35,255", 2.4)),
        "name",
        9.0,
        qml::LabelPlacement::AroundPoint,
        None,
    );
    let network = qml::categorized(
        "class",
        &[
            ("primary", "Primary", qml::Symbol::line("90,90,90,255", 0.6)),
            (
                "secondary",
                "Secondary",
                qml::Symbol::line("120,120,120,255", 0.45),
            ),
            (
                "tertiary",
                "Tertiary",
                qml::Symbol::line("150,150,150,255", 0.35),
            ),
            ("track", "Track", qml::Symbol::line("185,185,185,255", 0.25)),
        ],
    );
    for (file, style) in [
        ("inputs/aoi.qml", &aoi),
        ("inputs/markets.qml", &markets),
        ("inputs/roads.qml", &network),
    ] {
        std::fs::write(dir.join(file), style).map_err(|e| Error::io(dir.join(file), e))?;
    }
    let wgs_wkt = srs::wgs84().to_wkt().map_err(|e| Error::output(dir, e))?;
    let grid_auth = inp.grid.crs.clone();
    // Planning units are not farms: the layer says so.
    let farmland = if inp.planning_units.is_some() {
        "Farmland transitions (planning units)"
    } else {
        "Farmland transitions"
    };
    // Top first: the decisions read first; the risk and travel rasters
    // are a click away, the terrain under everything. Each layer's file
    // beside the project and its table in greenhalo.gpkg.
    let layers = [
        Layer::vector(
            "roads",
            "Road segments",
            "Decisions",
            "roads.geojson",
            "road_segments",
        )
        .geometry("Line", &roads)
        .labels(),
        Layer::vector(
            "halo",
            "Green Halo",
            "Decisions",
            "halo.geojson",
            "green_halo",
        )
        .geometry("Polygon", &halo),
        Layer::vector(
            "conservation",
            "Conservation funding",
            "Decisions",
            "conservation.geojson",
            "conservation_funding",
        )
        .geometry("Polygon", &cons),
        Layer::vector(
            "parcels",
            farmland,
            "Decisions",
            "parcels.geojson",
            "farmland_transitions",
        )
        .geometry("Polygon", &parcels),
        Layer::vector(
            "markets",
            "Markets",
            "Context",
            "inputs/markets.geojson",
            "markets",
        )
        .geometry("Point", &markets)
        .labels(),
        Layer::vector(
            "aoi",
            "Area of interest",
            "Context",
            "inputs/aoi.geojson",
            "area_of_interest",
        )
        .geometry("Polygon", &aoi),
        Layer::vector(
            "network",
            "Input road network",
            "Context",
            "inputs/roads.geojson",
            "input_road_network",
        )
        .geometry("Line", &network)
        .hidden(),
        Layer::raster(
            "deforestation_risk",
            "Deforestation risk (% a year)",
            "deforestation_risk.tif",
            "deforestation_risk",
            &rk,
        )
        .hidden(),
        Layer::raster(
            "travel_time",
            "Travel time to market (min)",
            "travel_time.tif",
            "travel_time",
            &tt,
        )
        .hidden(),
        Layer::raster(
            "terrain",
            "Terrain (hillshade)",
            "inputs/elevation.tif",
            "elevation",
            &terrain,
        ),
    ];
    // Open on the analysis grid's extent with a small margin.
    let g = &inp.grid;
    let pad = 0.02 * (g.x_max() - g.x_min).max(g.y_max - g.y_min());
    let extent = crate::io::qgs::Extent {
        xmin: g.x_min - pad,
        ymin: g.y_min() - pad,
        xmax: g.x_max() + pad,
        ymax: g.y_max + pad,
    };
    let project = |in_gpkg: bool| {
        let (vector_auth, vector_wkt) = if in_gpkg {
            // (the GeoPackage's layers are in the grid's CRS)
            (grid_auth.as_str(), inp.grid_wkt.as_str())
        } else {
            ("EPSG:4326", wgs_wkt.as_str())
        };
        let list: Vec<crate::io::qgs::ProjectLayer> = layers
            .iter()
            .map(|l| {
                let raster = l.geometry.is_empty();
                let source = match (in_gpkg, raster) {
                    (false, _) => format!("./{}", l.file),
                    (true, false) => format!("./greenhalo.gpkg|layername={}", l.table),
                    (true, true) => format!("GPKG:./greenhalo.gpkg:{}", l.table),
                };
                let (crs_authid, crs_wkt) = if raster {
                    (grid_auth.as_str(), inp.grid_wkt.as_str())
                } else {
                    (vector_auth, vector_wkt)
                };
                crate::io::qgs::ProjectLayer {
                    key: l.key,
                    name: l.name,
                    group: l.group,
                    visible: l.visible,
                    source,
                    kind: if raster { "raster" } else { "vector" },
                    geometry: l.geometry,
                    crs_authid,
                    crs_wkt,
                    qml: l.qml,
                    labels: l.labels,
                }
            })
            .collect();
        crate::io::qgs::project(&inp.name, &grid_auth, &inp.grid_wkt, extent, &list)
    };
    std::fs::write(dir.join("greenhalo.qgs"), project(false)).map_err(|e| Error::io(dir, e))?;
    Ok(project(true))
}

/// One layer of the project: its file beside the project and its table in
/// the GeoPackage (a raster has no geometry).
struct Layer<'a> {
    key: &'a str,
    name: &'a str,
    group: &'a str,
    visible: bool,
    file: &'a str,
    table: &'a str,
    geometry: &'a str,
    qml: &'a str,
    labels: bool,
}

impl<'a> Layer<'a> {
    fn vector(key: &'a str, name: &'a str, group: &'a str, file: &'a str, table: &'a str) -> Self {
        Layer {
            key,
            name,
            group,
            visible: true,
            file,
            table,
            geometry: "",
            qml: "",
            labels: false,
        }
    }
    fn raster(key: &'a str, name: &'a str, file: &'a str, table: &'a str, qml: &'a str) -> Self {
        Layer {
            qml,
            ..Layer::vector(key, name, "Rasters", file, table)
        }
    }
    fn geometry(self, geometry: &'a str, qml: &'a str) -> Self {
        Layer {
            geometry,
            qml,
            ..self
        }
    }
    fn labels(self) -> Self {
        Layer {
            labels: true,
            ..self
        }
    }
    fn hidden(self) -> Self {
        Layer {
            visible: false,
            ..self
        }
    }
}

/// The vector layers in one GeoPackage, `greenhalo.gpkg`, each with its
/// style stored as its default (for analysts who drag the GeoPackage in):
/// read from the layers and styles `write_styles_and_project` and the layer
/// writers put in `dir`; the raster tables; and `project_qgs` (the
/// project on the GeoPackage's own layers) as its stored project.
pub fn write_geopackage(
    dir: &Path,
    inp: &Inputs,
    layers: &super::Layers,
    rasters: &[crate::io::gpkg::RasterTable],
    project_qgs: &str,
) -> Result<()> {
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| Error::io(dir.join(f), e));
    let (roads, parcels, cons, halo) = (
        read("roads.qml")?,
        read("parcels.qml")?,
        read("conservation.qml")?,
        read("halo.qml")?,
    );
    let (markets, aoi, network) = (
        read("inputs/markets.qml")?,
        read("inputs/aoi.qml")?,
        read("inputs/roads.qml")?,
    );
    // In the project's order: the decisions first.
    let named = [
        ("road_segments", "roads.geojson", roads.as_str()),
        ("green_halo", "halo.geojson", halo.as_str()),
        (
            "conservation_funding",
            "conservation.geojson",
            cons.as_str(),
        ),
        ("farmland_transitions", "parcels.geojson", parcels.as_str()),
        ("markets", "inputs/markets.geojson", markets.as_str()),
        ("area_of_interest", "inputs/aoi.geojson", aoi.as_str()),
        (
            "input_road_network",
            "inputs/roads.geojson",
            network.as_str(),
        ),
    ];
    let features: Vec<super::Shared> = named
        .iter()
        .map(|(_, file, _)| layers.get(file))
        .collect::<Result<_>>()?;
    let styled: Vec<crate::io::gpkg::StyledLayer> = named
        .iter()
        .zip(&features)
        .map(|((name, _, qml), f)| crate::io::gpkg::StyledLayer {
            name,
            features: f,
            qml,
        })
        .collect();
    crate::io::gpkg::write(
        &dir.join("greenhalo.gpkg"),
        &styled,
        Some(&inp.grid_wkt),
        rasters,
        // (named like greenhalo.qgs: a plain name, which QGIS's project
        // URIs carry whatever the landscape's title holds)
        Some(&crate::io::gpkg::StoredProject {
            name: "greenhalo",
            qgs: project_qgs,
        }),
    )
}
