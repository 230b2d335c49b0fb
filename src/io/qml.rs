//! QGIS layer styles (.qml) written beside the layers, same base name, so
//! QGIS opens each layer styled.

use std::fmt::Write;

use crate::fmt::esc;

fn opt(name: &str, value: &str) -> String {
    format!(
        r#"<Option name="{}" type="QString" value="{}"/>"#,
        esc(name),
        esc(value)
    )
}

/// How one class of features is drawn: a line, a fill or a point marker,
/// its colour ("r,g,b,a"), its width (line width, marker size or a fill's
/// outline width, in mm), a fill's outline colour (none: no outline), and
/// whether its line or outline is dashed.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    kind: &'static str,
    rgba: String,
    width: f64,
    outline: Option<String>,
    dashed: bool,
    /// Drawing order: symbols of a higher level draw over lower ones.
    level: u32,
}

impl Symbol {
    pub fn line(rgba: &str, width_mm: f64) -> Symbol {
        Symbol {
            kind: "line",
            rgba: rgba.into(),
            width: width_mm,
            outline: None,
            dashed: false,
            level: 0,
        }
    }

    /// A fill; `outline` its colour and width, or none.
    pub fn fill(rgba: &str, outline: Option<(&str, f64)>) -> Symbol {
        Symbol {
            kind: "fill",
            rgba: rgba.into(),
            width: outline.map_or(0.0, |o| o.1),
            outline: outline.map(|o| o.0.to_string()),
            dashed: false,
            level: 0,
        }
    }

    pub fn marker(rgba: &str, size_mm: f64) -> Symbol {
        Symbol {
            kind: "marker",
            rgba: rgba.into(),
            width: size_mm,
            outline: None,
            dashed: false,
            level: 0,
        }
    }

    /// The same, drawn over the symbols of lower levels.
    pub fn on_level(mut self, level: u32) -> Symbol {
        self.level = level;
        self
    }

    /// The same, its line or outline dashed.
    pub fn dashed(mut self) -> Symbol {
        self.dashed = true;
        self
    }

    fn xml(&self, name: &str) -> String {
        let stroke = if self.dashed { "dash" } else { "solid" };
        let (class, opts) = match self.kind {
            "line" => (
                "SimpleLine",
                [
                    opt("line_color", &self.rgba),
                    opt("line_width", &format!("{}", self.width)),
                    opt("line_width_unit", "MM"),
                    opt("capstyle", "round"),
                    opt("joinstyle", "round"),
                    opt("line_style", stroke),
                ]
                .join(""),
            ),
            "marker" => (
                "SimpleMarker",
                [
                    opt("name", "circle"),
                    opt("color", &self.rgba),
                    opt("outline_color", "255,255,255,255"),
                    opt("outline_width", "0.4"),
                    opt("outline_width_unit", "MM"),
                    opt("size", &format!("{}", self.width)),
                    opt("size_unit", "MM"),
                ]
                .join(""),
            ),
            _ => (
                "SimpleFill",
                [
                    opt("color", &self.rgba),
                    opt(
                        "outline_color",
                        self.outline.as_deref().unwrap_or("0,0,0,0"),
                    ),
                    opt("outline_width", &format!("{}", self.width)),
                    opt("outline_width_unit", "MM"),
                    opt(
                        "outline_style",
                        if self.outline.is_some() { stroke } else { "no" },
                    ),
                    opt("style", "solid"),
                ]
                .join(""),
            ),
        };
        format!(
            r#"<symbol type="{}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="{class}" enabled="1" locked="0" pass="{}"><Option type="Map">{opts}</Option></layer></symbol>"#,
            self.kind, self.level
        )
    }
}

/// `symbollevels="1"` when some symbol has a level of its own.
fn levels<'a>(syms: impl Iterator<Item = &'a Symbol>) -> u8 {
    u8::from(syms.into_iter().any(|s| s.level > 0))
}

const HEAD: &str = r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
"#;

/// A categorized renderer on `attr`, a field or an expression (QGIS
/// evaluates `attr` when it names no field): (value, label, symbol) per
/// category.
pub fn categorized(attr: &str, cats: &[(&str, &str, Symbol)]) -> String {
    let mut c = String::new();
    let mut s = String::new();
    for (k, (value, label, sym)) in cats.iter().enumerate() {
        let _ = write!(
            c,
            r#"<category symbol="{k}" value="{}" label="{}" render="true"/>"#,
            esc(value),
            esc(label)
        );
        s.push_str(&sym.xml(&k.to_string()));
    }
    format!(
        r#"{HEAD}<renderer-v2 type="categorizedSymbol" attr="{}" symbollevels="{}" enableorderby="0" forceraster="0">
<categories>{c}</categories>
<symbols>{s}</symbols>
</renderer-v2>
</qgis>
"#,
        esc(attr),
        levels(cats.iter().map(|c| &c.2))
    )
}

/// A single-symbol renderer.
pub fn single(sym: &Symbol) -> String {
    format!(
        r#"{HEAD}<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">
<symbols>{}</symbols>
</renderer-v2>
</qgis>
"#,
        sym.xml("0")
    )
}

/// A single-band pseudocolor raster style: (value, rgba, label) stops,
/// interpolated linearly.
pub fn raster_pseudocolor(stops: &[(f64, &str, String)], min: f64, max: f64) -> String {
    ramp("INTERPOLATED", stops, min, max)
}

/// A single-band raster style in classes: (upper bound, rgba, label), each
/// value drawn in the colour of the first class whose bound it does not
/// exceed.
pub fn raster_discrete(stops: &[(f64, &str, String)], min: f64, max: f64) -> String {
    ramp("DISCRETE", stops, min, max)
}

fn ramp(kind: &str, stops: &[(f64, &str, String)], min: f64, max: f64) -> String {
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
<rastershader><colorrampshader colorRampType="{kind}" classificationMode="1" clip="0">{items}</colorrampshader></rastershader>
</rasterrenderer>
</pipe>
</qgis>
"#
    )
}

/// A DEM drawn as a hillshade (light from the north-west, 45° high), half
/// transparent, as terrain under the other layers.
pub fn raster_hillshade() -> String {
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology">
<pipe>
<rasterrenderer type="hillshade" band="1" opacity="{HILLSHADE_OPACITY}" alphaBand="-1" azimuth="315" angle="45" zfactor="1" multidirection="1" nodataColor=""/>
</pipe>
</qgis>
"#
    )
}

/// How strongly the terrain shows under the map, in QGIS and the report.
pub const HILLSHADE_OPACITY: f64 = 0.45;

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

/// A graduated renderer on `field`: (lower, upper, label, symbol) per class.
pub fn graduated(field: &str, ranges: &[(f64, f64, String, Symbol)]) -> String {
    let mut r = String::new();
    let mut s = String::new();
    for (k, (lo, hi, label, sym)) in ranges.iter().enumerate() {
        let _ = write!(
            r,
            r#"<range symbol="{k}" lower="{lo}" upper="{hi}" label="{}" render="true"/>"#,
            esc(label)
        );
        s.push_str(&sym.xml(&k.to_string()));
    }
    format!(
        r#"{HEAD}<renderer-v2 type="graduatedSymbol" attr="{}" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0">
<ranges>{r}</ranges>
<symbols>{s}</symbols>
</renderer-v2>
</qgis>
"#,
        esc(field)
    )
}

/// Add `category` to a style's `styleCategories` (once).
fn with_category(qml: &str, category: &str) -> String {
    let key = "styleCategories=\"";
    let Some(i) = qml.find(key) else {
        return qml.to_string();
    };
    let j = i + key.len();
    let end = j + qml[j..].find('"').unwrap_or(0);
    if qml[j..end].split('|').any(|c| c == category) {
        return qml.to_string();
    }
    format!("{}{category}|{}", &qml[..j], &qml[j..])
}

/// `block` added to a style before its closing tag.
fn with_block(qml: &str, block: &str) -> String {
    match qml.rfind("</qgis>") {
        Some(i) => format!("{}{block}\n{}", &qml[..i], &qml[i..]),
        None => qml.to_string(),
    }
}

/// Where labels go: next to points, or along lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelPlacement {
    AroundPoint,
    AlongLine,
}

/// Add labels to a vector style: `expr` (a field name or an expression)
/// in bold with a white halo; only at scales larger than 1:`max_scale`
/// when given. Lines of the same text are merged so a road split into
/// segments gets one label per stretch.
pub fn with_labels(
    qml: &str,
    expr: &str,
    size_pt: f64,
    placement: LabelPlacement,
    max_scale: Option<f64>,
) -> String {
    let is_expr = !expr.chars().all(|c| c.is_alphanumeric() || c == '_');
    let (place, merge) = match placement {
        LabelPlacement::AroundPoint => (r#"placement="1" dist="1.2" distUnits="MM""#, 0),
        LabelPlacement::AlongLine => (
            r#"placement="2" placementFlags="10" dist="0.6" distUnits="MM" repeatDistance="60" repeatDistanceUnits="MM""#,
            1,
        ),
    };
    let scale = match max_scale {
        Some(m) => format!(r#"scaleVisibility="1" scaleMin="1" scaleMax="{m}""#),
        None => r#"scaleVisibility="0""#.to_string(),
    };
    let labeling = format!(
        r#"<labeling type="simple"><settings calloutType="simple"><text-style fieldName="{}" isExpression="{}" fontFamily="Sans Serif" fontSize="{size_pt}" fontSizeUnit="Point" textColor="30,30,30,255" textOpacity="1" namedStyle="Bold"><text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,230" bufferOpacity="1"/></text-style><placement {place} priority="8"/><rendering obstacle="1" {scale} mergeLines="{merge}" fontLimitPixelSize="0" displayAll="0"/></settings></labeling>"#,
        esc(expr),
        i32::from(is_expr)
    );
    let qml = with_category(qml, "Labeling").replacen("<qgis ", r#"<qgis labelsEnabled="1" "#, 1);
    with_block(&qml, &labeling)
}

/// Add field aliases (names with units, as the attribute table and the
/// identify panel show them) to a vector style, and the display precision
/// of each numeric field (`precision`: its decimals by what it measures,
/// shown with thousands separators), so the attribute table reads
/// "6,182,743", not "6182742.9137".
pub fn with_fields(qml: &str, aliases: &[(&str, &str)]) -> String {
    let items: String = aliases
        .iter()
        .map(|(f, a)| format!(r#"<alias field="{}" name="{}"/>"#, esc(f), esc(a)))
        .collect();
    let formats: String = aliases
        .iter()
        .filter_map(|(f, _)| precision(f).map(|p| (f, p)))
        .map(|(f, p)| {
            format!(
                r#"<field name="{}" configurationFlags="None"><editWidget type="Range"><config><Option type="Map"><Option name="Precision" type="int" value="{p}"/><Option name="Style" type="QString" value="SpinBox"/></Option></config></editWidget></field>"#,
                esc(f)
            )
        })
        .collect();
    let qml = with_category(&with_category(qml, "Forms"), "Fields");
    with_block(
        &qml,
        &format!("<fieldConfiguration>{formats}</fieldConfiguration>\n<aliases>{items}</aliases>"),
    )
}

/// The decimals a field is read to, by its name: money and counts whole,
/// hectares to 0.1, kilometres to 0.01, shares to 0.001, percentages to
/// 0.1; none for text and codes.
pub fn precision(field: &str) -> Option<u32> {
    let ends = |s: &str| field.ends_with(s);
    if field == "rank"
        || field == "pareto_layer"
        || field == "establishment_year"
        || field == "phase"
    {
        return None; // whole numbers already
    }
    if ends("_usd")
        || ends("_usd_per_year")
        || ends("_m")
        || ends("_min")
        || ends("tco2")
        || ends("_t")
        || field == "aadt"
        || field.starts_with("aadt_")
        || field.starts_with("people")
        || field == "cells_improved"
        || ends("_hours_saved")
    {
        Some(0)
    } else if ends("_ha") || ends("_deg") || ends("_pct") || ends("_ha_per_musd") {
        Some(1)
    } else if ends("_km") || ends("_km2") || field == "bcr" || field == "earnings_multiple" {
        Some(2)
    } else if ends("_share") || ends("_fraction") || ends("irr") || ends("_ha_per_ha_year") {
        Some(4)
    } else {
        None
    }
}

/// Field aliases of roads.geojson.
pub const ROAD_ALIASES: &[(&str, &str)] = &[
    ("id", "Segment id"),
    ("name", "Road name"),
    ("class_from", "Class now"),
    ("upgrade_to", "Upgrade to"),
    ("length_km", "Length (km)"),
    ("mean_slope_deg", "Mean slope (degrees)"),
    ("aadt", "Traffic (vehicles/day)"),
    ("cost_usd", "Upgrade cost (US$)"),
    (
        "extra_maintenance_usd_per_year",
        "Extra maintenance (US$/year)",
    ),
    ("aadt_source", "Traffic: counted or modelled"),
    ("aadt_normal", "Traffic before the upgrade (vehicles/day)"),
    (
        "aadt_generated",
        "Traffic the upgrade generates (vehicles/day)",
    ),
    (
        "annual_benefit_usd",
        "Road-user benefit, first year (US$/year)",
    ),
    (
        "producer_surplus_usd",
        "of which producer surplus (US$/year)",
    ),
    ("pv_benefit_usd", "Economic benefit, present value (US$)"),
    ("npv_econ_usd", "Economic NPV (US$)"),
    ("bcr", "Benefit-cost ratio"),
    ("eirr", "Economic IRR (share)"),
    (
        "switch_cost_econ_pct",
        "Cost rise that brings the economic NPV to 0 (%)",
    ),
    (
        "switch_benefit_econ_pct",
        "Benefit fall that brings the economic NPV to 0 (%)",
    ),
    (
        "switch_cost_net_pct",
        "Cost rise that brings the net NPV (after carbon) to 0 (%)",
    ),
    (
        "switch_benefit_net_pct",
        "Benefit fall that brings the net NPV (after carbon) to 0 (%)",
    ),
    ("cells_improved", "Cells with shorter travel (count)"),
    ("people_served", "People with shorter travel"),
    (
        "people_hours_saved",
        "Hours a trip saves, summed over the people served",
    ),
    (
        "marketed_t",
        "Marketed farm output of the cells served (t/year)",
    ),
    (
        "marketed_t_hours_saved",
        "Hours a trip saves, summed over that output (t·h)",
    ),
    ("forest_loss_ha", "Extra forest loss over the horizon (ha)"),
    (
        "loss_in_conservation_ha",
        "of which in conservation areas (ha)",
    ),
    ("loss_in_halo_ha", "of which in the Green Halo (ha)"),
    ("tco2", "Emissions of the extra loss (tCO2)"),
    ("carbon_cost_pv_usd", "Carbon cost, present value (US$)"),
    ("npv_net_usd", "NPV net of carbon cost (US$)"),
    (
        "intensity_ha_per_musd",
        "Forest loss per US$1 M of benefit (ha)",
    ),
    ("through_conservation", "Runs through a conservation area"),
    (
        "distance_to_conservation_km",
        "Distance to a conservation area (km)",
    ),
    ("class", "Decision"),
    ("reasons", "Why"),
    ("pareto_layer", "Pareto layer (1 = best trade-offs)"),
    ("rank", "Rank"),
    ("in_portfolio", "In the budgeted portfolio"),
];

/// Field aliases of parcels.geojson.
pub const PARCEL_ALIASES: &[(&str, &str)] = &[
    ("id", "Parcel id"),
    ("current_use", "Current use"),
    ("area_ha", "Area (ha)"),
    ("elevation_m", "Mean elevation (m)"),
    ("slope_deg", "Mean slope (degrees)"),
    (
        "expected_loss_ha_per_ha_year",
        "Expected forest loss (ha per ha a year)",
    ),
    ("establishment_year", "Year established"),
    ("travel_min", "Travel time to market (min)"),
    ("forest_fraction", "Forest cover (share)"),
    ("halo_fraction", "Inside the Green Halo (share)"),
    ("distance_to_forest_km", "Distance to forest (km)"),
    ("transition", "Chosen transition"),
    ("eligible", "Eligible transitions"),
    ("private_npv_usd", "Farmer's NPV in the plan (US$)"),
    ("carbon_npv_usd", "Carbon NPV in the plan (US$)"),
    (
        "avoided_deforestation_npv_usd",
        "Avoided deforestation NPV in the plan (US$)",
    ),
    (
        "extension_npv_usd",
        "Technical assistance NPV, a cost (US$)",
    ),
    ("total_npv_usd", "Value to the plan (US$)"),
    ("investment_usd", "Establishment investment (US$)"),
    (
        "private_npv_life_usd",
        "Farmer's NPV over the transition's life (US$)",
    ),
    (
        "private_irr",
        "Farmer's IRR over the transition's life (share)",
    ),
    ("earnings_multiple", "Earnings multiple at maturity"),
    ("selected", "Selected"),
    ("phase", "Phase"),
    ("instrument", "Finance instrument"),
    ("rank", "Rank"),
];

/// Field aliases of conservation.geojson.
pub const CONSERVATION_ALIASES: &[(&str, &str)] = &[
    ("name", "Conservation area"),
    ("category", "Category"),
    ("area_km2", "Area inside the AOI (km²)"),
    ("legal_area_km2", "Legal area (km²)"),
    ("forest_ha", "Forest (ha)"),
    ("threat_ha", "Expected loss over the horizon (ha)"),
    ("threat_share", "Threat (share of forest)"),
    ("value_usd", "Value at stake (US$)"),
    ("required_usd_per_year", "Management need (US$/year)"),
    ("rank", "Priority rank"),
    ("allocated_usd_per_year", "Funding allocated (US$/year)"),
    ("gap_usd_per_year", "Funding gap (US$/year)"),
    ("funded_share", "Funded (share)"),
    ("avoided_loss_ha", "Loss avoided (ha)"),
    ("avoided_tco2", "Emissions avoided (tCO2)"),
    ("avoided_value_usd", "Value of the loss avoided (US$)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_to_what_they_measure() {
        for (f, p) in [
            ("npv_net_usd", Some(0)),
            ("allocated_usd_per_year", Some(0)),
            ("forest_loss_ha", Some(1)),
            ("intensity_ha_per_musd", Some(1)),
            ("length_km", Some(2)),
            ("area_km2", Some(2)),
            ("switch_cost_net_pct", Some(1)),
            ("eirr", Some(4)),
            ("funded_share", Some(4)),
            ("people_served", Some(0)),
            ("id", None),
            ("class", None),
            ("rank", None),
        ] {
            assert_eq!(precision(f), p, "{f}");
        }
    }

    #[test]
    fn style_categories_are_named_once_whatever_is_added() {
        let q = single(&Symbol::line("0,0,0,255", 0.5));
        let q = with_fields(&q, &[("length_km", "Length (km)")]);
        let q = with_labels(&q, "name", 8.0, LabelPlacement::AlongLine, Some(1e5));
        let q = with_fields(&q, &[]);
        let cats = attr_of(&q, "styleCategories");
        let mut parts: Vec<&str> = cats.split('|').collect();
        parts.sort();
        assert_eq!(
            parts,
            ["Fields", "Forms", "Labeling", "Symbology"],
            "{cats}"
        );
        assert_eq!(q.matches("labelsEnabled=\"1\"").count(), 1);
        assert!(q.contains(r#"scaleMax="100000""#));
        assert!(q.contains(
            r#"<field name="length_km" configurationFlags="None"><editWidget type="Range">"#
        ));
    }

    fn attr_of<'a>(q: &'a str, name: &str) -> &'a str {
        let key = format!("{name}=\"");
        let i = q.find(&key).unwrap() + key.len();
        &q[i..i + q[i..].find('"').unwrap()]
    }
}
