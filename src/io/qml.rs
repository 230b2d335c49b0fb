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

/// Add field aliases (names with units, as the attribute table and the
/// identify panel show them) to a vector style.
pub fn with_aliases(qml: &str, aliases: &[(&str, &str)]) -> String {
    let items: String = aliases
        .iter()
        .map(|(f, a)| format!(r#"<alias field="{}" name="{}"/>"#, esc(f), esc(a)))
        .collect();
    let qml = match qml.find("styleCategories=\"") {
        Some(i) => {
            let j = i + "styleCategories=\"".len();
            format!("{}Fields|{}", &qml[..j], &qml[j..])
        }
        None => qml.to_string(),
    };
    match qml.rfind("</qgis>") {
        Some(i) => format!("{}<aliases>{items}</aliases>\n{}", &qml[..i], &qml[i..]),
        None => qml,
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
        "Cost rise that brings NPV_econ to 0 (%)",
    ),
    (
        "switch_benefit_econ_pct",
        "Benefit fall that brings NPV_econ to 0 (%)",
    ),
    (
        "switch_cost_net_pct",
        "Cost rise that brings NPV_net to 0 (%)",
    ),
    (
        "switch_benefit_net_pct",
        "Benefit fall that brings NPV_net to 0 (%)",
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
