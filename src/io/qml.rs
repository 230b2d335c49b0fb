//! QGIS layer styles (.qml) written beside the layers, same base name, so
//! QGIS opens each layer styled.

use std::fmt::Write;

/// Escape text for XML attributes and HTML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn opt(name: &str, value: &str) -> String {
    format!(
        r#"<Option name="{}" type="QString" value="{}"/>"#,
        esc(name),
        esc(value)
    )
}

/// A symbol layer: simple line or simple fill, with an optional
/// data-defined width expression (lines).
fn symbol(kind: &str, name: &str, rgba: &str, width: f64, width_expr: Option<&str>) -> String {
    let (class, opts) = match kind {
        "line" => (
            "SimpleLine",
            [
                opt("line_color", rgba),
                opt("line_width", &format!("{width}")),
                opt("line_width_unit", "MM"),
                opt("capstyle", "round"),
                opt("joinstyle", "round"),
                opt("line_style", "solid"),
            ]
            .join(""),
        ),
        "marker" => (
            "SimpleMarker",
            [
                opt("name", "circle"),
                opt("color", rgba),
                opt("outline_color", "255,255,255,255"),
                opt("outline_width", "0.4"),
                opt("outline_width_unit", "MM"),
                opt("size", &format!("{width}")),
                opt("size_unit", "MM"),
            ]
            .join(""),
        ),
        _ => (
            "SimpleFill",
            [
                opt("color", rgba),
                opt("outline_color", "60,60,60,200"),
                opt("outline_width", &format!("{width}")),
                opt("outline_width_unit", "MM"),
                opt("style", "solid"),
            ]
            .join(""),
        ),
    };
    let dd = match width_expr {
        Some(e) => format!(
            r#"<data_defined_properties><Option type="Map">{}<Option name="properties" type="Map"><Option name="outlineWidth" type="Map"><Option name="active" type="bool" value="true"/>{}<Option name="type" type="int" value="3"/></Option></Option>{}</Option></data_defined_properties>"#,
            opt("name", ""),
            opt("expression", e),
            opt("type", "collection")
        ),
        None => String::new(),
    };
    format!(
        r#"<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="{class}" enabled="1" locked="0" pass="0"><Option type="Map">{opts}</Option>{dd}</layer></symbol>"#
    )
}

/// A categorized renderer on `field`: (value, label, rgba) per category.
pub fn categorized(
    kind: &str,
    field: &str,
    cats: &[(&str, &str, &str)],
    width: f64,
    width_expr: Option<&str>,
) -> String {
    let mut c = String::new();
    let mut s = String::new();
    for (k, (value, label, rgba)) in cats.iter().enumerate() {
        let _ = write!(
            c,
            r#"<category symbol="{k}" value="{}" label="{}" render="true"/>"#,
            esc(value),
            esc(label)
        );
        s.push_str(&symbol(kind, &k.to_string(), rgba, width, width_expr));
    }
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
<renderer-v2 type="categorizedSymbol" attr="{}" symbollevels="0" enableorderby="0" forceraster="0">
<categories>{c}</categories>
<symbols>{s}</symbols>
</renderer-v2>
</qgis>
"#,
        esc(field)
    )
}

/// A single-symbol renderer.
pub fn single(kind: &str, rgba: &str, width: f64) -> String {
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">
<symbols>{}</symbols>
</renderer-v2>
</qgis>
"#,
        symbol(kind, "0", rgba, width, None)
    )
}

/// A single-band pseudocolor raster style: (value, rgba, label) stops,
/// interpolated linearly.
pub fn raster_pseudocolor(stops: &[(f64, &str, &str)], min: f64, max: f64) -> String {
    let items: String = stops
        .iter()
        .map(|(v, rgba, label)| {
            let hex = rgba_to_hex(rgba);
            format!(
                r#"<item alpha="255" value="{v}" color="{hex}" label="{}"/>"#,
                esc(label)
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
<pipe>
<rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="{min}" classificationMax="{max}">
<rastershader><colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0">{items}</colorrampshader></rastershader>
</rasterrenderer>
</pipe>
</qgis>
"#
    )
}

fn rgba_to_hex(rgba: &str) -> String {
    let v: Vec<u8> = rgba
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    if v.len() < 3 {
        return "#000000".into();
    }
    format!("#{:02x}{:02x}{:02x}", v[0], v[1], v[2])
}

/// A graduated renderer on `field`: (lower, upper, label, rgba) per class.
pub fn graduated(kind: &str, field: &str, ranges: &[(f64, f64, String, &str)]) -> String {
    let mut r = String::new();
    let mut s = String::new();
    for (k, (lo, hi, label, rgba)) in ranges.iter().enumerate() {
        let _ = write!(
            r,
            r#"<range symbol="{k}" lower="{lo}" upper="{hi}" label="{}" render="true"/>"#,
            esc(label)
        );
        s.push_str(&symbol(kind, &k.to_string(), rgba, 0.3, None));
    }
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
<renderer-v2 type="graduatedSymbol" attr="{}" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0">
<ranges>{r}</ranges>
<symbols>{s}</symbols>
</renderer-v2>
</qgis>
"#,
        esc(field)
    )
}

/// Add name labels to a vector style (text with a white halo, next to
/// points or along lines); the layer must also say `labelsEnabled="1"`.
pub fn with_labels(qml: &str, field: &str, size_pt: f64) -> String {
    let labeling = format!(
        r#"<labeling type="simple"><settings calloutType="simple"><text-style fieldName="{}" isExpression="0" fontFamily="Sans Serif" fontSize="{size_pt}" fontSizeUnit="Point" textColor="30,30,30,255" textOpacity="1" namedStyle="Bold"><text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,230" bufferOpacity="1"/></text-style><placement placement="1" dist="1.2" distUnits="MM" priority="8"/><rendering obstacle="1" scaleVisibility="0" fontLimitPixelSize="0" displayAll="0"/></settings></labeling>"#,
        esc(field)
    );
    let qml = qml.replacen(
        r#"styleCategories="Symbology""#,
        r#"styleCategories="Symbology|Labeling" labelsEnabled="1""#,
        1,
    );
    match qml.rfind("</qgis>") {
        Some(i) => format!("{}{labeling}\n{}", &qml[..i], &qml[i..]),
        None => qml,
    }
}
