//! `greenhalo.qgs`: a QGIS project that opens every output layer with its
//! style, in groups, on the landscape's extent. Styles are the same XML as
//! the .qml files beside the layers, embedded in each map layer so the
//! project needs nothing else.
//!
//! Layer ids are long and unique: QGIS replaces an id of 10 characters or
//! fewer by a new one when it reads a project, which leaves the layer-tree
//! node pointing at nothing (the layer vanishes from the Layers panel).

use std::fmt::Write;

use crate::fmt::esc;

/// One layer of the project.
pub struct ProjectLayer<'a> {
    /// Short key (e.g. "roads"); the project id is derived from it.
    pub key: &'a str,
    pub name: &'a str,
    /// Layers-panel group: "Decisions", "Context" or "Rasters".
    pub group: &'a str,
    /// Checked (drawn) when the project opens.
    pub visible: bool,
    /// The data source as QGIS reads it, relative to the project: a file
    /// (`./roads.geojson`), a GeoPackage layer
    /// (`./greenhalo.gpkg|layername=road_segments`) or raster table
    /// (`GPKG:./greenhalo.gpkg:travel_time`).
    pub source: String,
    /// "vector" or "raster".
    pub kind: &'a str,
    /// For vectors: "Point", "Line" or "Polygon".
    pub geometry: &'a str,
    pub crs_authid: &'a str,
    pub crs_wkt: &'a str,
    /// The layer's full .qml document.
    pub qml: &'a str,
    /// Whether the style's labels are on.
    pub labels: bool,
}

/// The saved view: the landscape's extent in the project CRS.
#[derive(Debug, Clone, Copy)]
pub struct Extent {
    pub xmin: f64,
    pub ymin: f64,
    pub xmax: f64,
    pub ymax: f64,
}

/// The project id of a layer: `greenhalo_<key>_<12 hex>` from the key and
/// the project title (stable for the same landscape, long enough for QGIS
/// to keep).
pub fn layer_id(key: &str, title: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{title}\u{0}{key}").as_bytes());
    let hex: String = h.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("greenhalo_{key}_{hex}")
}

/// The part of a .qml document inside its <qgis> element.
fn inner(qml: &str) -> &str {
    let start = qml
        .find("<qgis")
        .and_then(|i| qml[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = qml.rfind("</qgis>").unwrap_or(qml.len());
    &qml[start..end]
}

/// A <spatialrefsys> element as QGIS writes it (WKT, PROJ string, EPSG
/// code and authority id; QGIS validates the project CRS from these).
fn spatialrefsys(authid: &str, wkt: &str) -> String {
    let srs = gdal::spatial_ref::SpatialRef::from_wkt(wkt).ok();
    let proj4 = srs
        .as_ref()
        .and_then(|s| s.to_proj4().ok())
        .unwrap_or_default();
    let srid = authid.rsplit(':').next().unwrap_or("");
    let desc = srs.as_ref().and_then(|s| s.name()).unwrap_or_default();
    let geographic = srs.as_ref().map(|s| s.is_geographic()).unwrap_or(false);
    format!(
        "<spatialrefsys><wkt>{}</wkt><proj4>{}</proj4><srid>{}</srid><authid>{}</authid><description>{}</description><geographicflag>{}</geographicflag></spatialrefsys>",
        esc(wkt),
        esc(proj4.trim()),
        esc(srid),
        esc(authid),
        esc(&desc),
        geographic
    )
}

/// The project XML. Groups appear in the order their first layer is
/// listed; within a group, layers are listed top (drawn last) first.
pub fn project(
    title: &str,
    crs_authid: &str,
    crs_wkt: &str,
    extent: Extent,
    layers: &[ProjectLayer],
) -> String {
    let mut groups: Vec<(&str, String)> = Vec::new();
    let mut maps = String::new();
    let mut order = String::new();
    for l in layers {
        let id = layer_id(l.key, title);
        let provider = if l.kind == "raster" { "gdal" } else { "ogr" };
        let checked = if l.visible {
            "Qt::Checked"
        } else {
            "Qt::Unchecked"
        };
        let node = format!(
            r#"<layer-tree-layer id="{id}" name="{name}" source="{source}" providerKey="{provider}" checked="{checked}" expanded="0"><customproperties/></layer-tree-layer>"#,
            id = esc(&id),
            name = esc(l.name),
            source = esc(&l.source)
        );
        match groups.iter_mut().find(|(g, _)| *g == l.group) {
            Some((_, nodes)) => nodes.push_str(&node),
            None => groups.push((l.group, node)),
        }
        let _ = write!(order, r#"<layer id="{}"/>"#, esc(&id));
        let geom = if l.kind == "vector" {
            format!(r#" geometry="{}""#, l.geometry)
        } else {
            String::new()
        };
        let prov = if l.kind == "raster" {
            "<provider>gdal</provider>".to_string()
        } else {
            r#"<provider encoding="UTF-8">ogr</provider>"#.to_string()
        };
        let labels = if l.labels {
            r#" labelsEnabled="1""#
        } else {
            ""
        };
        let _ = write!(
            maps,
            r#"<maplayer type="{kind}"{geom}{labels} hasScaleBasedVisibilityFlag="0" refreshOnNotifyEnabled="0" autoRefreshEnabled="0"><id>{id}</id><datasource>{source}</datasource><layername>{name}</layername><srs>{srs}</srs>{prov}{style}</maplayer>"#,
            kind = l.kind,
            id = esc(&id),
            source = esc(&l.source),
            name = esc(l.name),
            srs = spatialrefsys(l.crs_authid, l.crs_wkt),
            style = inner(l.qml)
        );
    }
    let tree: String = groups
        .iter()
        .map(|(g, nodes)| {
            format!(
                r#"<layer-tree-group name="{}" checked="Qt::Checked" expanded="1"><customproperties/>{nodes}</layer-tree-group>"#,
                esc(g)
            )
        })
        .collect();
    let crs = spatialrefsys(crs_authid, crs_wkt);
    let Extent {
        xmin,
        ymin,
        xmax,
        ymax,
    } = extent;
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis projectname="{t}" version="3.22.0">
<homePath path=""/>
<title>{t}</title>
<projectCrs>{crs}</projectCrs>
<layer-tree-group><customproperties/>{tree}<custom-order enabled="0"/></layer-tree-group>
<mapcanvas name="theMapCanvas" annotationsVisible="1"><units>meters</units><extent><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></extent><rotation>0</rotation><destinationsrs>{crs}</destinationsrs><rendermaptile>0</rendermaptile><expressionContextScope/></mapcanvas>
<ProjectViewSettings UseProjectScales="0" rotation="0"><Scales/><DefaultViewExtent xmin="{xmin}" ymin="{ymin}" xmax="{xmax}" ymax="{ymax}">{crs}</DefaultViewExtent></ProjectViewSettings>
<projectlayers>{maps}</projectlayers>
<layerorder>{order}</layerorder>
<properties><Paths><Absolute type="bool">false</Absolute></Paths><SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled><ProjectCrs type="QString">{auth}</ProjectCrs></SpatialRefSys><Measurement><DistanceUnits type="QString">km</DistanceUnits><AreaUnits type="QString">ha</AreaUnits></Measurement></properties>
</qgis>
"#,
        t = esc(title),
        auth = esc(crs_authid),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_ids_are_long_stable_and_distinct() {
        let a = layer_id("roads", "Alto Mayo");
        assert!(a.len() > 10, "{a}");
        assert_eq!(a, layer_id("roads", "Alto Mayo"));
        assert_ne!(a, layer_id("halo", "Alto Mayo"));
        assert!(a.starts_with("greenhalo_roads_"));
    }
}
