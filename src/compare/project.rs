//! `comparison.qgs`: the comparison as a QGIS project. The changes on top
//! (roads whose funding changes, parcels whose transition changes), then
//! each run's own roads and farmland in a group of its own, styled as the
//! run styled them and off until ticked, then the first run's area of
//! interest and road network over its terrain. Every source is relative to the comparison
//! folder, so the runs and their comparison move together.

use std::path::{Component, Path, PathBuf};

use super::Run;
use crate::error::{Error, Result};
use crate::io::qgs::{Extent, ProjectLayer};

/// What the project shows besides the runs' own layers.
pub(super) struct Changes {
    pub roads: bool,
    pub parcels: bool,
}

/// Writes `comparison.qgs` into `staging` (the folder that becomes `out`).
pub(super) fn write(
    staging: &Path,
    out: &Path,
    runs: &[Run],
    labels: &[String],
    changes: Changes,
) -> Result<()> {
    let read = |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e));
    let summary = runs[0].dir.join("summary.json");
    let grid = &runs[0].summary["grid"];
    let num = |k: &str| {
        grid[k]
            .as_f64()
            .ok_or_else(|| Error::output(&summary, format!("grid.{k} is missing")))
    };
    let crs = grid["crs"]
        .as_str()
        .ok_or_else(|| Error::output(&summary, "grid.crs is missing"))?;
    let grid_wkt = crate::io::srs::parse(crs)?
        .to_wkt()
        .map_err(|e| Error::output(&summary, e))?;
    let wgs_wkt = crate::io::srs::wgs84()
        .to_wkt()
        .map_err(|e| Error::output(&summary, e))?;
    let (x0, y1, res) = (num("x_min")?, num("y_max")?, num("resolution_m")?);
    let (x1, y0) = (x0 + num("width")? * res, y1 - num("height")? * res);
    let pad = 0.02 * (x1 - x0).max(y1 - y0);
    let extent = Extent {
        xmin: x0 - pad,
        ymin: y0 - pad,
        xmax: x1 + pad,
        ymax: y1 + pad,
    };
    // (io::outdir::resolved: the comparison folder may not exist yet)
    let out_abs = crate::io::outdir::resolved(out);
    let source = |run: &Run, file: &str| -> Result<String> {
        let rel = relative(&out_abs, &crate::io::outdir::resolved(&run.dir).join(file));
        Ok(format!("./{}", rel.display()))
    };

    // Owned pieces first; the layers borrow them.
    struct Owned {
        key: String,
        name: String,
        group: String,
        visible: bool,
        source: String,
        raster: bool,
        geometry: &'static str,
        qml: String,
    }
    let mut owned: Vec<Owned> = Vec::new();
    if changes.roads {
        owned.push(Owned {
            key: "changed_roads".into(),
            name: "Roads whose funding changes".into(),
            group: "Changes".into(),
            visible: true,
            source: "./comparison_roads.geojson".into(),
            raster: false,
            geometry: "Line",
            qml: read(staging.join("comparison_roads.qml"))?,
        });
    }
    if changes.parcels {
        owned.push(Owned {
            key: "changed_parcels".into(),
            name: "Parcels whose transition changes".into(),
            group: "Changes".into(),
            visible: true,
            source: "./comparison_parcels.geojson".into(),
            raster: false,
            geometry: "Polygon",
            qml: read(staging.join("comparison_parcels.qml"))?,
        });
    }
    for (k, (run, label)) in runs.iter().zip(labels).enumerate() {
        for (key, what, file, geometry) in [
            ("roads", "Road segments", "roads", "Line"),
            ("parcels", "Farmland transitions", "parcels", "Polygon"),
        ] {
            owned.push(Owned {
                key: format!("{key}_{k}"),
                name: format!("{what}: {label}"),
                group: format!("Run {label}"),
                visible: false,
                source: source(run, &format!("{file}.geojson"))?,
                raster: false,
                geometry,
                qml: read(run.dir.join(format!("{file}.qml")))?,
            });
        }
    }
    let first = &runs[0];
    owned.push(Owned {
        key: "aoi".into(),
        name: "Area of interest".into(),
        group: "Context".into(),
        visible: true,
        source: source(first, "inputs/aoi.geojson")?,
        raster: false,
        geometry: "Polygon",
        qml: read(first.dir.join("inputs/aoi.qml"))?,
    });
    owned.push(Owned {
        key: "network".into(),
        name: "Input road network".into(),
        group: "Context".into(),
        visible: true,
        source: source(first, "inputs/roads.geojson")?,
        raster: false,
        geometry: "Line",
        qml: read(first.dir.join("inputs/roads.qml"))?,
    });
    owned.push(Owned {
        key: "terrain".into(),
        name: "Terrain (hillshade)".into(),
        group: "Context".into(),
        visible: true,
        source: source(first, "inputs/elevation.tif")?,
        raster: true,
        geometry: "",
        qml: read(first.dir.join("inputs/elevation.qml"))?,
    });
    let layers: Vec<ProjectLayer> = owned
        .iter()
        .map(|o| ProjectLayer {
            key: &o.key,
            name: &o.name,
            group: &o.group,
            visible: o.visible,
            source: o.source.clone(),
            kind: if o.raster { "raster" } else { "vector" },
            geometry: o.geometry,
            // (GeoJSON layers are lon/lat; the terrain is on the grid)
            crs_authid: if o.raster { crs } else { "EPSG:4326" },
            crs_wkt: if o.raster { &grid_wkt } else { &wgs_wkt },
            qml: &o.qml,
            labels: false,
        })
        .collect();
    let title = format!("Comparison: {}", labels.join(", "));
    let xml = crate::io::qgs::project(&title, crs, &grid_wkt, extent, &layers);
    let path = staging.join("comparison.qgs");
    std::fs::write(&path, xml).map_err(|e| Error::io(&path, e))
}

/// `to` as seen from the folder `from` (both absolute).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..a.len() {
        rel.push("..");
    }
    for c in &b[common..] {
        rel.push(c.as_os_str());
    }
    rel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        let r = relative(Path::new("/a/b/out"), Path::new("/a/b/run1/roads.geojson"));
        assert_eq!(r, PathBuf::from("../run1/roads.geojson"));
        let r = relative(
            Path::new("/a/b/sweep/comparison"),
            Path::new("/a/b/sweep/x=1/roads.geojson"),
        );
        assert_eq!(r, PathBuf::from("../x=1/roads.geojson"));
        let r = relative(Path::new("/x/y"), Path::new("/z/roads.geojson"));
        assert_eq!(r, PathBuf::from("../../z/roads.geojson"));
    }
}
