//! `greenhalo compare`: finished runs side by side (HDM-4's comparison of
//! alternatives, an InVEST user's datastacks): the headline figures with
//! their differences, the settings that differ, the road segments entering
//! and leaving the portfolio, the parcels whose transition changes, and a
//! map of the differences; as comparison.html, CSV files and GeoJSON layers
//! styled for QGIS. It reads only what the runs wrote (summary.json,
//! landscape.resolved.toml, roads.csv/.geojson, parcels.csv/.geojson).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::fmt::{esc, money};
use crate::io::qml;

mod project;

/// A segment's lines (lon/lat) and how its funding changes.
type Drawn = (Vec<Vec<(f64, f64)>>, &'static str);

/// One finished run, as read back.
pub struct Run {
    pub dir: PathBuf,
    pub label: String,
    pub summary: Value,
    /// Every setting of landscape.resolved.toml, flattened to `a.b = value`.
    pub settings: BTreeMap<String, String>,
    /// Road segment id → in the portfolio.
    pub funded: BTreeMap<String, bool>,
    /// Parcel id → (area ha, transition if selected).
    pub parcels: BTreeMap<String, (f64, Option<String>)>,
}

/// A headline figure: its label, unit and where summary.json holds it.
struct Metric {
    label: &'static str,
    unit: &'static str,
    get: fn(&Value) -> Option<f64>,
}

fn at(v: &Value, path: &[&str]) -> Option<f64> {
    let mut x = v;
    for p in path {
        x = x.get(*p)?;
    }
    x.as_f64()
}

const METRICS: &[Metric] = &[
    Metric {
        label: "Investment",
        unit: "US$",
        get: |v| at(v, &["finance", "investment_usd"]),
    },
    Metric {
        label: "Returns over the horizon",
        unit: "US$",
        get: |v| at(v, &["finance", "returns_usd"]),
    },
    Metric {
        label: "Return multiple",
        unit: "x",
        get: |v| at(v, &["finance", "return_multiple"]),
    },
    Metric {
        label: "NPV",
        unit: "US$",
        get: |v| at(v, &["finance", "npv_usd"]),
    },
    Metric {
        label: "IRR",
        unit: "%",
        get: |v| at(v, &["finance", "irr"]).map(|x| 100.0 * x),
    },
    Metric {
        label: "Benefit-cost ratio",
        unit: "x",
        get: |v| at(v, &["finance", "bcr"]),
    },
    Metric {
        label: "Payback year",
        unit: "year",
        get: |v| at(v, &["finance", "payback_year"]),
    },
    Metric {
        label: "Road segments funded",
        unit: "segments",
        get: |v| {
            v.pointer("/roads/portfolio/segments")
                .and_then(|s| s.as_array())
                .map(|a| a.len() as f64)
        },
    },
    Metric {
        label: "Road portfolio cost",
        unit: "US$",
        get: |v| at(v, &["roads", "portfolio", "cost_usd"]),
    },
    Metric {
        label: "Road net NPV built together",
        unit: "US$",
        get: |v| at(v, &["roads", "portfolio", "npv_net_joint_usd"]),
    },
    Metric {
        label: "Forest loss the roads invite",
        unit: "ha",
        get: |v| at(v, &["roads", "portfolio", "forest_loss_joint_ha"]),
    },
    Metric {
        label: "Parcels transitioned",
        unit: "parcels",
        get: |v| at(v, &["parcels", "selected"]),
    },
    Metric {
        label: "Farmland transitioned",
        unit: "km²",
        get: |v| at(v, &["parcels", "selected_km2"]),
    },
    Metric {
        label: "Parcel investment",
        unit: "US$",
        get: |v| at(v, &["parcels", "investment_usd"]),
    },
    Metric {
        label: "Conservation need funded",
        unit: "%",
        get: |v| at(v, &["conservation", "funded_share"]).map(|x| 100.0 * x),
    },
    Metric {
        label: "Conservation gap a year",
        unit: "US$",
        get: |v| at(v, &["conservation", "gap_usd_per_year"]),
    },
    Metric {
        label: "Carbon sequestered by transitions",
        unit: "tCO2",
        get: |v| at(v, &["finance", "carbon_tco2", "sequestered_by_transitions"]),
    },
    Metric {
        label: "Carbon kept by conservation",
        unit: "tCO2",
        get: |v| at(v, &["finance", "carbon_tco2", "avoided_by_conservation"]),
    },
    Metric {
        label: "Carbon emitted by road-induced loss",
        unit: "tCO2",
        get: |v| {
            at(
                v,
                &["finance", "carbon_tco2", "emitted_by_road_induced_loss"],
            )
        },
    },
];

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut BTreeMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// A run folder read back; an error names the folder and the file missing
/// or unreadable (an unfinished or failed run has no summary.json).
pub fn load(dir: &Path) -> Result<Run> {
    let summary_path = dir.join("summary.json");
    if !summary_path.exists() {
        return Err(Error::Usage(format!(
            "{}: not a finished greenhalo run (no summary.json); give the output folders of `greenhalo run`",
            dir.display()
        )));
    }
    let summary: Value = serde_json::from_str(&read(&summary_path)?)
        .map_err(|e| Error::output(&summary_path, format!("not valid JSON: {e}")))?;
    let resolved = dir.join("landscape.resolved.toml");
    let table: toml::Value = toml::from_str(&read(&resolved)?)
        .map_err(|e| Error::output(&resolved, format!("not valid TOML: {e}")))?;
    let mut settings = BTreeMap::new();
    flatten("", &table, &mut settings);
    let mut funded = BTreeMap::new();
    let roads = dir.join("roads.csv");
    for r in csv_rows(&roads)? {
        let id = field(&r, "id", &roads)?;
        funded.insert(id, field(&r, "in_portfolio", &roads)? == "true");
    }
    let mut parcels = BTreeMap::new();
    let pc = dir.join("parcels.csv");
    for r in csv_rows(&pc)? {
        let id = field(&r, "id", &pc)?;
        let area: f64 = field(&r, "area_ha", &pc)?
            .parse()
            .map_err(|_| Error::output(&pc, format!("parcel {id}: area_ha is not a number")))?;
        let t = (field(&r, "selected", &pc)? == "true")
            .then(|| field(&r, "transition", &pc))
            .transpose()?;
        parcels.insert(id, (area, t));
    }
    let label = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    Ok(Run {
        dir: dir.to_path_buf(),
        label,
        summary,
        settings,
        funded,
        parcels,
    })
}

fn csv_rows(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::output(path, e))?;
    let head = r.headers().map_err(|e| Error::output(path, e))?.clone();
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::output(path, e))?;
        out.push(
            head.iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Ok(out)
}

fn field(r: &BTreeMap<String, String>, key: &str, path: &Path) -> Result<String> {
    r.get(key)
        .cloned()
        .ok_or_else(|| Error::output(path, format!("has no column '{key}'")))
}

/// Settings that differ between the runs (the landscape file's path and
/// title aside), with each run's value.
fn differing(runs: &[Run]) -> Vec<(String, Vec<String>)> {
    let keys: BTreeSet<&String> = runs.iter().flat_map(|r| r.settings.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let vals: Vec<String> = runs
                .iter()
                .map(|r| {
                    r.settings
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| "(unset)".into())
                })
                .collect();
            (vals.iter().any(|v| v != &vals[0])).then(|| (k.clone(), vals))
        })
        .collect()
}

/// How a segment's funding changes across the runs, against the first.
fn change(ins: &[bool]) -> &'static str {
    let first = ins[0];
    if ins.iter().all(|&b| b == first) {
        if first {
            "funded_in_all"
        } else {
            "in_none"
        }
    } else if !first && ins[1..].iter().all(|&b| b) {
        "enters"
    } else if first && ins[1..].iter().all(|&b| !b) {
        "leaves"
    } else {
        "varies"
    }
}

/// Compare `dirs` into `out` (written whole or not at all). Runs of other
/// inputs (another inputs hash) are refused unless `any_landscapes`.
pub fn compare(dirs: &[PathBuf], out: &Path, any_landscapes: bool, force: bool) -> Result<PathBuf> {
    if dirs.len() < 2 {
        return Err(Error::Usage(
            "compare needs at least two run folders".into(),
        ));
    }
    let runs: Vec<Run> = dirs.iter().map(|d| load(d)).collect::<Result<_>>()?;
    // The same landscape: the same layer files and grid (settings may differ).
    let hash = |r: &Run| {
        format!(
            "{}{}",
            r.summary["layers_hash"].as_str().unwrap_or(""),
            r.summary["grid"]
        )
    };
    let short = |r: &Run| {
        r.summary["layers_hash"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(12)
            .collect::<String>()
    };
    if !any_landscapes {
        for r in &runs[1..] {
            if hash(r) != hash(&runs[0]) {
                return Err(Error::Usage(format!(
                    "{} and {} are runs of different landscapes (layers hash {} vs {}, or another grid): their roads and parcels do not match one for one; pass --any-landscapes to compare their headline figures anyway",
                    runs[0].dir.display(),
                    r.dir.display(),
                    short(&runs[0]),
                    short(r)
                )));
            }
        }
    }
    let mut labels: Vec<String> = runs.iter().map(|r| r.label.clone()).collect();
    let dup = labels.iter().collect::<BTreeSet<_>>().len() < labels.len();
    if dup {
        labels = runs.iter().map(|r| r.dir.display().to_string()).collect();
    }
    let staging = crate::io::outdir::Staging::new(out, force)?;
    let same = runs.iter().all(|r| hash(r) == hash(&runs[0]));

    // Headline figures.
    let mut head_rows: Vec<Map<String, Value>> = Vec::new();
    for m in METRICS {
        let vals: Vec<Option<f64>> = runs.iter().map(|r| (m.get)(&r.summary)).collect();
        let mut row = Map::new();
        row.insert("figure".into(), json!(m.label));
        row.insert("unit".into(), json!(m.unit));
        for (l, v) in labels.iter().zip(&vals) {
            row.insert(l.clone(), v.map(|x| json!(x)).unwrap_or(Value::Null));
        }
        for (l, v) in labels.iter().zip(&vals).skip(1) {
            let d = match (v, vals[0]) {
                (Some(a), Some(b)) => json!(a - b),
                _ => Value::Null,
            };
            row.insert(format!("{l} minus {}", labels[0]), d);
        }
        head_rows.push(row);
    }
    crate::outputs::write_csv(&staging.file("comparison.csv"), &head_rows)?;

    // Roads entering and leaving the portfolio.
    let ids: BTreeSet<&String> = runs
        .iter()
        .flat_map(|r| r.funded.iter().filter(|x| *x.1).map(|x| x.0))
        .collect();
    let mut road_rows = Vec::new();
    let mut road_change: BTreeMap<String, (&'static str, Vec<bool>)> = BTreeMap::new();
    for id in &ids {
        let ins: Vec<bool> = runs
            .iter()
            .map(|r| r.funded.get(*id).copied().unwrap_or(false))
            .collect();
        let c = change(&ins);
        let mut row = Map::new();
        row.insert("id".into(), json!(id));
        row.insert("change".into(), json!(c));
        for (l, b) in labels.iter().zip(&ins) {
            row.insert(format!("funded in {l}"), json!(b));
        }
        road_rows.push(row);
        road_change.insert((*id).clone(), (c, ins));
    }
    crate::outputs::write_csv(&staging.file("comparison_roads.csv"), &road_rows)?;

    // Parcels whose selected transition differs.
    let mut parcel_rows = Vec::new();
    let mut parcel_change: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut area_by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (k, r) in runs.iter().enumerate() {
        for (area, t) in r.parcels.values() {
            if let Some(t) = t {
                area_by
                    .entry(t.clone())
                    .or_insert_with(|| vec![0.0; runs.len()])[k] += area;
            }
        }
    }
    if same {
        for (id, (area, _)) in &runs[0].parcels {
            let ts: Vec<String> = runs
                .iter()
                .map(|r| {
                    r.parcels
                        .get(id)
                        .and_then(|p| p.1.clone())
                        .unwrap_or_else(|| "not_selected".into())
                })
                .collect();
            if ts.iter().all(|t| t == &ts[0]) {
                continue;
            }
            let mut row = Map::new();
            row.insert("id".into(), json!(id));
            row.insert("area_ha".into(), json!(area));
            for (l, t) in labels.iter().zip(&ts) {
                row.insert(format!("transition in {l}"), json!(t));
            }
            parcel_rows.push(row);
            parcel_change.insert(id.clone(), ts);
        }
    }
    if !parcel_rows.is_empty() {
        crate::outputs::write_csv(&staging.file("comparison_parcels.csv"), &parcel_rows)?;
    }

    // Layers for QGIS: the segments funded in any run and the parcels that
    // change, with what changes, over the first run's geometries.
    let mut lines: Vec<Drawn> = Vec::new();
    let mut polys: Vec<Vec<Vec<(f64, f64)>>> = Vec::new();
    // (the map's context: the area of interest and the segments funded in
    // no run)
    let aoi: Vec<Vec<(f64, f64)>> = geojson_features(&runs[0].dir.join("inputs/aoi.geojson"))?
        .iter()
        .flat_map(|f| rings(&f["geometry"]))
        .collect();
    if same {
        let roads = geojson_features(&runs[0].dir.join("roads.geojson"))?;
        let mut feats = Vec::new();
        for f in roads {
            let id = f["properties"]["id"].as_str().unwrap_or("").to_string();
            let Some((c, ins)) = road_change.get(&id) else {
                lines.push((rings(&f["geometry"]), "unfunded"));
                continue;
            };
            let mut props = Map::new();
            props.insert("id".into(), json!(id));
            props.insert("name".into(), f["properties"]["name"].clone());
            props.insert("change".into(), json!(c));
            for (l, b) in labels.iter().zip(ins) {
                props.insert(format!("funded_{}", safe(l)), json!(b));
            }
            lines.push((rings(&f["geometry"]), c));
            feats.push(json!({"type": "Feature", "geometry": f["geometry"], "properties": props}));
        }
        write_layer(&staging.file("comparison_roads.geojson"), feats)?;
        let line = |rgba: &str, w: f64| qml::Symbol::line(rgba, w);
        let style = qml::categorized(
            "change",
            &[
                ("enters", "Enters the portfolio", line("0,140,60,255", 1.8)),
                ("leaves", "Leaves the portfolio", line("215,25,28,255", 1.8)),
                ("varies", "Funded in some runs", line("245,160,80,255", 1.4)),
                (
                    "funded_in_all",
                    "Funded in every run",
                    line("90,90,90,255", 1.0),
                ),
            ],
        );
        std::fs::write(staging.file("comparison_roads.qml"), style)
            .map_err(|e| Error::io(staging.file("comparison_roads.qml"), e))?;
        if !parcel_change.is_empty() {
            let parcels = geojson_features(&runs[0].dir.join("parcels.geojson"))?;
            let mut feats = Vec::new();
            for f in parcels {
                let id = f["properties"]["id"].as_str().unwrap_or("").to_string();
                let Some(ts) = parcel_change.get(&id) else {
                    continue;
                };
                let mut props = Map::new();
                props.insert("id".into(), json!(id));
                props.insert("area_ha".into(), f["properties"]["area_ha"].clone());
                for (l, t) in labels.iter().zip(ts) {
                    props.insert(format!("transition_{}", safe(l)), json!(t));
                }
                polys.push(rings(&f["geometry"]));
                feats.push(
                    json!({"type": "Feature", "geometry": f["geometry"], "properties": props}),
                );
            }
            write_layer(&staging.file("comparison_parcels.geojson"), feats)?;
            let style = qml::single(&qml::Symbol::fill("242,165,65,200", None));
            std::fs::write(staging.file("comparison_parcels.qml"), style)
                .map_err(|e| Error::io(staging.file("comparison_parcels.qml"), e))?;
        }
    }

    project::write(
        staging.path(),
        out,
        &runs,
        &labels,
        project::Changes {
            roads: same,
            parcels: same && !parcel_change.is_empty(),
        },
    )?;

    let html = page(
        &runs,
        &labels,
        &head_rows,
        &road_change,
        &parcel_change,
        &area_by,
        same,
        &lines,
        &polys,
        &aoi,
    );
    std::fs::write(staging.file("comparison.html"), html)
        .map_err(|e| Error::io(staging.file("comparison.html"), e))?;
    staging.commit()
}

/// What every label starts with, up to and including an '=' (empty when
/// they share none, or one label would be left empty).
fn common_key(labels: &[String]) -> String {
    let first = &labels[0];
    let Some(eq) = first.find('=') else {
        return String::new();
    };
    let key = &first[..=eq];
    if labels
        .iter()
        .all(|l| l.starts_with(key) && l.len() > key.len())
    {
        key.to_string()
    } else {
        String::new()
    }
}

/// A label as a field-name part: letters, digits and underscores.
fn safe(l: &str) -> String {
    l.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn geojson_features(path: &Path) -> Result<Vec<Value>> {
    let v: Value = serde_json::from_str(&read(path)?)
        .map_err(|e| Error::output(path, format!("not valid GeoJSON: {e}")))?;
    Ok(v["features"].as_array().cloned().unwrap_or_default())
}

fn write_layer(path: &Path, feats: Vec<Value>) -> Result<()> {
    let fc = json!({"type": "FeatureCollection", "features": feats});
    std::fs::write(path, fc.to_string()).map_err(|e| Error::io(path, e))
}

/// The coordinate lists of a LineString, MultiLineString, Polygon or
/// MultiPolygon (rings of a polygon as lists).
fn rings(g: &Value) -> Vec<Vec<(f64, f64)>> {
    let pts = |a: &Value| -> Vec<(f64, f64)> {
        a.as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|c| Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let c = &g["coordinates"];
    let list = |a: &Value| a.as_array().cloned().unwrap_or_default();
    match g["type"].as_str() {
        Some("LineString") => vec![pts(c)],
        Some("MultiLineString") | Some("Polygon") => list(c).iter().map(pts).collect(),
        Some("MultiPolygon") => list(c)
            .iter()
            .flat_map(|p| list(p).into_iter().map(|r| pts(&r)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The map of differences: every segment funded in some run, coloured by
/// how its funding changes, over the parcels whose transition changes;
/// the segments funded in no run thin and grey, inside the area of
/// interest's outline. Framed on the area of interest (on the drawn
/// features without one).
fn map_svg(lines: &[Drawn], polys: &[Vec<Vec<(f64, f64)>>], aoi: &[Vec<(f64, f64)>]) -> String {
    let frame: Vec<&(f64, f64)> = if aoi.iter().any(|r| !r.is_empty()) {
        aoi.iter().flatten().collect()
    } else {
        lines
            .iter()
            .flat_map(|l| l.0.iter().flatten())
            .chain(polys.iter().flatten().flatten())
            .collect()
    };
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &&(x, y) in &frame {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return String::new();
    }
    // Longitude and latitude drawn at the mean latitude's scale.
    let k = ((y0 + y1) / 2.0).to_radians().cos().max(0.1);
    let (w, h) = (((x1 - x0) * k).max(1e-9), (y1 - y0).max(1e-9));
    let (pw, ph) = if w >= h {
        (900.0, 900.0 * h / w)
    } else {
        (900.0 * w / h, 900.0)
    };
    let px = |x: f64, y: f64| ((x - x0) * k / w * pw, (y1 - y) / h * ph);
    // (a point on the same tenth of a pixel as the one before is left out:
    // a real road network would otherwise weigh megabytes)
    let path = |r: &[(f64, f64)]| -> String {
        let mut d = String::new();
        let mut last = String::new();
        for &(x, y) in r {
            let (a, b) = px(x, y);
            let p = format!("{a:.1},{b:.1}");
            if p != last {
                d.push_str(if d.is_empty() { "M" } else { "L" });
                d.push_str(&p);
                last = p;
            }
        }
        d
    };
    let mut svg = format!(
        "<svg viewBox=\"-10 -10 {:.0} {:.0}\" width=\"100%\" role=\"img\" aria-label=\"map of the differences\">",
        pw + 20.0,
        ph + 20.0
    );
    let outline: String = aoi.iter().map(|r| format!("{}Z", path(r))).collect();
    if !outline.is_empty() {
        svg.push_str(&format!(
            "<path d=\"{outline}\" fill=\"#f7f7f4\" stroke=\"#282828\" stroke-width=\"1.2\"/>"
        ));
    }
    for p in polys {
        let d: String = p.iter().map(|r| format!("{}Z", path(r))).collect();
        svg.push_str(&format!(
            "<path d=\"{d}\" fill=\"#f2a541\" fill-opacity=\"0.6\" stroke=\"none\"/>"
        ));
    }
    for order in ["unfunded", "funded_in_all", "varies", "leaves", "enters"] {
        let (col, wd) = match order {
            "enters" => ("#008c3c", 4.0),
            "leaves" => ("#d7191c", 4.0),
            "varies" => ("#f5a050", 3.0),
            "funded_in_all" => ("#5a5a5a", 2.0),
            _ => ("#b4b4b4", 0.8),
        };
        // (one path per class: the same drawing, a fraction of the markup)
        let d: String = lines
            .iter()
            .filter(|l| l.1 == order)
            .flat_map(|l| l.0.iter())
            .map(|part| path(part))
            .collect();
        if !d.is_empty() {
            svg.push_str(&format!(
                "<path d=\"{d}\" fill=\"none\" stroke=\"{col}\" stroke-width=\"{wd}\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/>"
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "US$" => money(v),
        "x" => format!("{v:.2}"),
        "%" => format!("{v:.1}%"),
        "year" | "segments" | "parcels" => format!("{v:.0}"),
        _ => format!("{} {unit}", crate::fmt::fmt_int(v)),
    }
}

fn fmt_diff(v: f64, unit: &str) -> String {
    if v.abs() < 1e-9 {
        return "=".into();
    }
    // (a difference of percentages is in points)
    let s = if unit == "%" {
        format!("{:.1} pts", v.abs())
    } else {
        fmt_value(v.abs(), unit)
    };
    format!("{}{s}", if v < 0.0 { "−" } else { "+" })
}

#[allow(clippy::too_many_arguments)]
fn page(
    runs: &[Run],
    labels: &[String],
    head_rows: &[Map<String, Value>],
    roads: &BTreeMap<String, (&'static str, Vec<bool>)>,
    parcels: &BTreeMap<String, Vec<String>>,
    area_by: &BTreeMap<String, Vec<f64>>,
    same: bool,
    lines: &[Drawn],
    polys: &[Vec<Vec<(f64, f64)>>],
    aoi: &[Vec<(f64, f64)>],
) -> String {
    // Column heads: the labels less what they all start with up to an
    // '=' (a sweep's "key=" part), said once above the tables.
    let cut = common_key(labels);
    let short: Vec<String> = labels.iter().map(|l| l[cut.len()..].to_string()).collect();
    let by = if cut.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"note\">Columns by <code>{}</code>.</p>",
            esc(cut.trim_end_matches('='))
        )
    };
    let th: String = short
        .iter()
        .map(|l| format!("<th>{}</th>", esc(l)))
        .collect();
    let dh: String = short[1..]
        .iter()
        .map(|l| format!("<th>{} − {}</th>", esc(l), esc(&short[0])))
        .collect();
    let body: String = METRICS
        .iter()
        .zip(head_rows)
        .map(|(m, row)| {
            let vals: Vec<Option<f64>> = labels
                .iter()
                .map(|l| row.get(l).and_then(|v| v.as_f64()))
                .collect();
            let cells: String = vals
                .iter()
                .map(|v| {
                    format!(
                        "<td class=\"num\">{}</td>",
                        v.map(|x| esc(&fmt_value(x, m.unit)))
                            .unwrap_or_else(|| "—".into())
                    )
                })
                .collect();
            let diffs: String = vals[1..]
                .iter()
                .map(|v| match (v, vals[0]) {
                    (Some(a), Some(b)) => {
                        format!("<td class=\"num d\">{}</td>", esc(&fmt_diff(a - b, m.unit)))
                    }
                    _ => "<td class=\"num\">—</td>".into(),
                })
                .collect();
            format!("<tr><td>{}</td>{cells}{diffs}</tr>", m.label)
        })
        .collect();
    let settings = differing(runs);
    let settings_html = if settings.is_empty() {
        "<p>The runs have the same settings.</p>".to_string()
    } else {
        let rows: String = settings
            .iter()
            .map(|(k, vs)| {
                let cells: String = vs.iter().map(|v| format!("<td>{}</td>", esc(v))).collect();
                format!("<tr><td><code>{}</code></td>{cells}</tr>", esc(k))
            })
            .collect();
        format!("<table><thead><tr><th>setting</th>{th}</tr></thead>{rows}</table>")
    };
    let count = |c: &str| roads.values().filter(|r| r.0 == c).count();
    let list = |c: &str| -> String {
        let v: Vec<&str> = roads
            .iter()
            .filter(|r| r.1 .0 == c)
            .map(|r| r.0.as_str())
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    };
    let per_run: String = labels[1..]
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let pick = |want: bool| -> String {
                let v: Vec<&str> = roads
                    .iter()
                    .filter(|r| r.1 .1[k + 1] == want && r.1 .1[0] != want)
                    .map(|r| r.0.as_str())
                    .collect();
                if v.is_empty() {
                    "none".into()
                } else {
                    v.join(", ")
                }
            };
            let (plus, minus) = (pick(true), pick(false));
            let what = match (plus.as_str(), minus.as_str()) {
                ("none", "none") => "the same portfolio".to_string(),
                ("none", _) => format!("no longer funds {minus}"),
                (_, "none") => format!("funds also {plus}"),
                _ => format!("funds also {plus}; no longer funds {minus}"),
            };
            format!(
                "<li>{} against {}: {}.</li>",
                esc(l),
                esc(&labels[0]),
                esc(&what)
            )
        })
        .collect();
    let roads_html = format!(
        "<p>{} segments are funded in every run. Enter the portfolio (not funded in {first}, funded in every other run): {}. Leave it (funded in {first} only): {}. Funded in some runs: {}. Every one with its funding in each run is in comparison_roads.csv; comparison_roads.geojson (styled by comparison_roads.qml) maps them, and comparison.qgs opens them in QGIS over each run's own layers.</p>",
        count("funded_in_all"),
        esc(&list("enters")),
        esc(&list("leaves")),
        esc(&list("varies")),
        first = esc(&labels[0])
    );
    let area_rows: String = area_by
        .iter()
        .map(|(t, v)| {
            let cells: String = v
                .iter()
                .map(|a| format!("<td class=\"num\">{}</td>", crate::fmt::fmt_int(*a)))
                .collect();
            let diffs: String = v[1..]
                .iter()
                .map(|a| {
                    format!(
                        "<td class=\"num d\">{}</td>",
                        esc(&fmt_diff(a - v[0], "ha"))
                    )
                })
                .collect();
            format!(
                "<tr><td>{}</td>{cells}{diffs}</tr>",
                esc(&t.replace('_', " "))
            )
        })
        .collect();
    let changed_ha: f64 = parcels
        .keys()
        .filter_map(|id| runs[0].parcels.get(id).map(|p| p.0))
        .sum();
    let parcels_html = if same && parcels.is_empty() {
        format!("<p>No parcel changes transition between the runs.</p><table><thead><tr><th>transition, ha</th>{th}{dh}</tr></thead>{area_rows}</table>")
    } else if same {
        format!(
            "<p>{} parcels ({} ha) change transition between the runs (comparison_parcels.csv; mapped in comparison_parcels.geojson, styled by comparison_parcels.qml).</p><table><thead><tr><th>transition, ha</th>{th}{dh}</tr></thead>{area_rows}</table>",
            crate::fmt::fmt_int(parcels.len() as f64),
            crate::fmt::fmt_int(changed_ha)
        )
    } else {
        format!("<p>The runs are of different inputs, so their parcels are not matched one for one.</p><table><thead><tr><th>transition, ha</th>{th}{dh}</tr></thead>{area_rows}</table>")
    };
    let map = if same {
        map_svg(lines, polys, aoi)
    } else {
        String::new()
    };
    let legend = if map.is_empty() {
        String::new()
    } else {
        format!("<p class=\"legend\"><span style=\"color:#008c3c\">━ enters the portfolio</span> <span style=\"color:#d7191c\">━ leaves it</span> <span style=\"color:#f5a050\">━ funded in some runs</span> <span style=\"color:#5a5a5a\">━ funded in every run</span> <span style=\"color:#b4b4b4\">─ funded in no run</span>{}</p>", if polys.is_empty() { "" } else { " <span style=\"color:#f2a541\">■ parcels whose transition changes</span>" })
    };
    let runs_html: String = runs
        .iter()
        .zip(labels)
        .map(|(r, l)| {
            format!(
                "<li><b>{}</b>: {} ({}), layers hash <code>{}</code></li>",
                esc(l),
                esc(r.summary["landscape"].as_str().unwrap_or("")),
                esc(&r.dir.display().to_string()),
                esc(&r.summary["layers_hash"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(12)
                    .collect::<String>())
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>greenhalo comparison</title>
<style>
body {{ font-family: "DejaVu Sans", sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; width: 100%; }}
td:first-child {{ min-width: 12em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3em .5em; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; white-space: nowrap; }} td.d {{ color: #555; }}
.wide {{ overflow-x: auto; }} .legend span {{ margin-right: 1.2em; white-space: nowrap; }}
code {{ font-size: .9em; }}
@page {{ size: A4; margin: 15mm; }}
</style></head><body>
<h1>Comparison of {n} runs</h1>
<ul>{runs_html}</ul>
<h2>What differs in the settings</h2>
{by}<div class="wide">{settings_html}</div>
<h2>Headline figures</h2>
<p>Each run's figures, then each run's difference from {first} (comparison.csv has them unrounded).</p>{by}
<div class="wide"><table><thead><tr><th>figure</th>{th}{dh}</tr></thead>{body}</table></div>
<h2>Roads entering and leaving the portfolio</h2>
{roads_html}
<ul>{per_run}</ul>
{legend}
{map}
<h2>Farmland</h2>
<div class="wide">{parcels_html}</div>
<p>Written by greenhalo {version} from the runs' own files (summary.json, landscape.resolved.toml, roads and parcels).</p>
</body></html>
"#,
        n = runs.len(),
        first = esc(&labels[0]),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// The values of `--vary KEY=V1,V2,...`: split at commas outside brackets
/// and quotes (so `force_out=["a","b"],[]` gives two values).
pub fn parse_vary(arg: &str) -> Result<(String, Vec<String>)> {
    let (key, vals) = arg.split_once('=').ok_or_else(|| {
        Error::Usage(format!(
            "--vary {arg}: give section.key=value1,value2,... (e.g. economics.carbon_price_usd_per_tco2=10,50,100)"
        ))
    })?;
    let (mut out, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, false);
    for ch in vals.chars() {
        match ch {
            '"' => quote = !quote,
            '[' | '{' if !quote => depth += 1,
            ']' | '}' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur.trim().to_string());
    if key.trim().is_empty() || out.iter().any(|v| v.is_empty()) {
        return Err(Error::Usage(format!(
            "--vary {arg}: a key and at least one value, none empty (e.g. economics.carbon_price_usd_per_tco2=10,50,100)"
        )));
    }
    Ok((key.trim().to_string(), out))
}

/// A scenario's name as part of a folder name: letters, digits and
/// `=._-` kept, anything else `_`.
fn folder_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || "=._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Every scenario of the `--vary` settings (their product), as the
/// `--set` overrides that make it and a folder name.
pub fn scenarios(vary: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = vec![(String::new(), Vec::new())];
    for (key, vals) in vary {
        let short = key.rsplit('.').next().unwrap_or(key);
        let mut next = Vec::new();
        for (name, sets) in &out {
            for v in vals {
                let part = folder_part(&format!("{short}={v}"));
                let mut s = sets.clone();
                s.push(format!("{key}={v}"));
                let n = if name.is_empty() {
                    part
                } else {
                    format!("{name},{part}")
                };
                next.push((n, s));
            }
        }
        out = next;
    }
    out
}

/// The landscape file's `[[scenarios]]`, as (folder name, overrides); an
/// error when it has none, or two share a name.
pub fn file_scenarios(landscape: &Path) -> Result<Vec<(String, Vec<String>)>> {
    let text = read(landscape)?;
    let cfg = crate::config::LandscapeConfig::parse(&text)
        .map_err(|e| Error::Usage(format!("{}: {e}", landscape.display())))?;
    if cfg.scenarios.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no [[scenarios]] in the landscape file; give --vary section.key=V1,V2,... or add [[scenarios]] tables (name = \"...\", set = {{ \"economics.carbon_price_usd_per_tco2\" = 10 }})",
            landscape.display()
        )));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (k, sc) in cfg.scenarios.iter().enumerate() {
        let name = folder_part(sc.name.trim());
        if name.is_empty() || !seen.insert(name.clone()) {
            return Err(Error::Usage(format!(
                "{}: scenarios[{k}].name '{}' is empty or names another scenario too (each names its output folder)",
                landscape.display(),
                sc.name
            )));
        }
        out.push((name, sc.overrides()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_landscape_files_scenarios_become_overrides_and_names_must_differ() {
        let d = tempfile::tempdir().unwrap();
        let base = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample/landscape.toml"),
        )
        .unwrap();
        let f = d.path().join("landscape.toml");
        std::fs::write(
            &f,
            format!(
                "{base}\n[[scenarios]]\nname = \"low carbon\"\nset = {{ \"economics.carbon_price_usd_per_tco2\" = 10, \"road_upgrades.force_out\" = [\"1-0\"] }}\n\n[[scenarios]]\nname = \"as planned\"\n"
            ),
        )
        .unwrap();
        let s = file_scenarios(&f).unwrap();
        assert_eq!(s[0].0, "low_carbon");
        assert_eq!(
            s[0].1,
            vec![
                "economics.carbon_price_usd_per_tco2=10",
                "road_upgrades.force_out=[\"1-0\"]"
            ]
        );
        assert_eq!(s[1], ("as_planned".to_string(), Vec::new()));
        std::fs::write(
            &f,
            format!("{base}\n[[scenarios]]\nname = \"a b\"\n\n[[scenarios]]\nname = \"a_b\"\n"),
        )
        .unwrap();
        let e = file_scenarios(&f).unwrap_err().to_string();
        assert!(e.contains("scenarios[1].name"), "{e}");
        std::fs::write(&f, &base).unwrap();
        let e = file_scenarios(&f).unwrap_err().to_string();
        assert!(
            e.contains("no [[scenarios]]") && e.contains("--vary"),
            "{e}"
        );
    }

    #[test]
    fn vary_splits_at_top_level_commas_and_makes_the_product() {
        let (k, v) = parse_vary("road_upgrades.force_out=[\"1-0\",\"2-0\"],[]").unwrap();
        assert_eq!(k, "road_upgrades.force_out");
        assert_eq!(v, vec!["[\"1-0\",\"2-0\"]", "[]"]);
        let (_, v) = parse_vary("economics.carbon_price_usd_per_tco2=10, 50,100").unwrap();
        assert_eq!(v, vec!["10", "50", "100"]);
        assert!(parse_vary("economics.carbon_price_usd_per_tco2").is_err());
        assert!(parse_vary("a.b=1,,2").is_err());
        let s = scenarios(&[
            (
                "economics.carbon_price_usd_per_tco2".into(),
                vec!["10".into(), "50".into()],
            ),
            (
                "road_upgrades.road_budget_usd".into(),
                vec!["1e7".into(), "2e7".into()],
            ),
        ]);
        let names: Vec<&str> = s.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "carbon_price_usd_per_tco2=10,road_budget_usd=1e7",
                "carbon_price_usd_per_tco2=10,road_budget_usd=2e7",
                "carbon_price_usd_per_tco2=50,road_budget_usd=1e7",
                "carbon_price_usd_per_tco2=50,road_budget_usd=2e7"
            ]
        );
        assert_eq!(
            s[1].1,
            vec![
                "economics.carbon_price_usd_per_tco2=10",
                "road_upgrades.road_budget_usd=2e7"
            ]
        );
    }
}
