//! `greenhalo.qgs`: a QGIS project that opens every output layer with its
//! style. Styles are the same XML as the .qml files beside the layers,
//! embedded in each map layer so the project needs nothing else.

use std::fmt::Write;

use super::qml::esc;

/// One layer of the project.
pub struct ProjectLayer<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// File name beside the project.
    pub file: &'a str,
    /// "vector" or "raster".
    pub kind: &'a str,
    /// For vectors: "Point", "Line" or "Polygon".
    pub geometry: &'a str,
    pub crs_authid: &'a str,
    pub crs_wkt: &'a str,
    /// The layer's full .qml document.
    pub qml: &'a str,
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

fn srs(authid: &str, wkt: &str) -> String {
    format!("<srs>{}</srs>", spatialrefsys(authid, wkt))
}

/// The project XML; layers are listed top (drawn last) first.
pub fn project(title: &str, crs_authid: &str, crs_wkt: &str, layers: &[ProjectLayer]) -> String {
    let mut tree = String::new();
    let mut maps = String::new();
    for l in layers {
        let provider = if l.kind == "raster" { "gdal" } else { "ogr" };
        let _ = write!(
            tree,
            r#"<layer-tree-layer id="{id}" name="{name}" source="./{file}" providerKey="{provider}" checked="Qt::Checked" expanded="1"><customproperties/></layer-tree-layer>"#,
            id = esc(l.id),
            name = esc(l.name),
            file = esc(l.file)
        );
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
        let _ = write!(
            maps,
            r#"<maplayer type="{kind}"{geom} hasScaleBasedVisibilityFlag="0" refreshOnNotifyEnabled="0" autoRefreshEnabled="0"><id>{id}</id><datasource>./{file}</datasource><layername>{name}</layername>{srs}{prov}{style}</maplayer>"#,
            kind = l.kind,
            id = esc(l.id),
            file = esc(l.file),
            name = esc(l.name),
            srs = srs(l.crs_authid, l.crs_wkt),
            style = inner(l.qml)
        );
    }
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis projectname="{t}" version="3.22.0">
<title>{t}</title>
<projectCrs>{crs}</projectCrs>
<layer-tree-group><customproperties/>{tree}</layer-tree-group>
<projectlayers>{maps}</projectlayers>
<properties><Paths><Absolute type="bool">false</Absolute></Paths><SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled><ProjectCrs type="QString">{auth}</ProjectCrs></SpatialRefSys></properties>
</qgis>
"#,
        t = esc(title),
        crs = spatialrefsys(crs_authid, crs_wkt),
        auth = esc(crs_authid),
    )
}
