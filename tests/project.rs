//! The QGIS project and GeoPackage as QGIS reads them: ids QGIS keeps (it
//! replaces ids of 10 characters or fewer), every layer-tree node backed by
//! a map layer, groups, a saved extent, and a style stored for every
//! GeoPackage layer. (scripts/check-qgis.sh opens them in real QGIS.)

mod common;

use common::*;
use predicates::prelude::*;

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

#[test]
fn every_tree_node_names_a_map_layer_with_an_id_qgis_keeps() {
    let out = sample_run();
    let qgs = std::fs::read_to_string(out.join("greenhalo.qgs")).unwrap();
    let nodes: Vec<String> = qgs
        .split("<layer-tree-layer ")
        .skip(1)
        .map(|t| attr(&format!(" {t}"), "id").unwrap().to_owned())
        .collect();
    assert_eq!(nodes.len(), 10, "decisions, context, rasters and terrain");
    let map_ids: Vec<&str> = qgs
        .split("<maplayer ")
        .skip(1)
        .map(|t| {
            let i = t.find("<id>").unwrap() + 4;
            &t[i..i + t[i..].find("</id>").unwrap()]
        })
        .collect();
    for id in &nodes {
        assert!(id.len() > 10, "QGIS would replace id {id}");
        assert_eq!(map_ids.iter().filter(|m| *m == id).count(), 1, "{id}");
    }
    for g in ["Decisions", "Context", "Rasters"] {
        assert!(
            qgs.contains(&format!("<layer-tree-group name=\"{g}\"")),
            "{g}"
        );
    }
    assert!(qgs.contains("<DefaultViewExtent xmin="), "saved extent");
    assert!(qgs.contains("labelsEnabled=\"1\""), "market names labelled");
    // Every file the project points at exists.
    for t in qgs.split("<datasource>./").skip(1) {
        let f = &t[..t.find("</datasource>").unwrap()];
        assert!(out.join(f).exists(), "{f}");
    }
}

#[test]
fn the_geopackage_holds_every_vector_layer_with_a_default_style() {
    let out = sample_run();
    let gpkg = out.join("greenhalo.gpkg");
    let ds = gdal::Dataset::open(&gpkg).unwrap();
    let mut names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "area_of_interest",
            "conservation_funding",
            "farmland_transitions",
            "green_halo",
            "input_road_network",
            "layer_styles",
            "markets",
            "road_segments",
        ]
    );
    use gdal::vector::LayerAccess;
    let mut styles = ds.layer_by_name("layer_styles").unwrap();
    let mut styled = Vec::new();
    for f in styles.features() {
        let get = |k: &str| {
            f.field_as_string(f.field_index(k).unwrap())
                .unwrap()
                .unwrap_or_default()
        };
        assert!(
            get("styleQML").contains("<renderer-v2"),
            "{}",
            get("f_table_name")
        );
        assert_eq!(get("f_geometry_column"), "geom");
        assert_eq!(
            f.field_as_integer(f.field_index("useAsDefault").unwrap())
                .unwrap(),
            Some(1)
        );
        styled.push(get("f_table_name"));
    }
    styled.sort();
    assert_eq!(styled.len(), 7);
    // Features came across whole.
    let roads = ds.layer_by_name("road_segments").unwrap().feature_count();
    let geo = gdal::Dataset::open(out.join("roads.geojson")).unwrap();
    assert_eq!(roads, geo.layer(0).unwrap().feature_count());
}

#[test]
fn every_raster_is_a_cloud_optimized_geotiff_with_overviews() {
    use gdal::Metadata;
    let out = sample_run();
    let mut tifs = Vec::new();
    for d in [out.to_path_buf(), out.join("inputs")] {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "tif") {
                tifs.push(e.path());
            }
        }
    }
    assert!(tifs.len() >= 10, "{tifs:?}");
    for t in &tifs {
        let ds = gdal::Dataset::open(t).unwrap();
        assert_eq!(
            ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE").as_deref(),
            Some("COG"),
            "{}",
            t.display()
        );
        let band = ds.rasterband(1).unwrap();
        let (w, h) = ds.raster_size();
        if w.max(h) > 512 {
            assert!(band.overview_count().unwrap() >= 1, "{}", t.display());
        }
        assert!(
            !band.description().unwrap_or_default().is_empty() || t.parent() != Some(out),
            "{}",
            t.display()
        );
    }
    // No temporary file left beside them.
    assert!(std::fs::read_dir(out).unwrap().flatten().all(|e| !e
        .file_name()
        .to_string_lossy()
        .starts_with('.')
        || e.file_name() == ".greenhalo-output"));
}

/// road_frontier.csv is an efficiency frontier within the road budget:
/// forest loss and economic NPV rise together from point to point (no
/// point beats another on both), each point's figures are the sums of its
/// segments' in roads.csv, and the chosen portfolio is one of its points
/// or the report says why not.
#[test]
fn the_efficiency_frontier_is_monotone_and_holds_the_chosen_portfolio_or_says_why_not() {
    let out = sample_run();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let budget = summary["roads"]["portfolio"]["budget_usd"]
        .as_f64()
        .unwrap();
    let mut roads = csv::Reader::from_path(out.join("roads.csv")).unwrap();
    let head = roads.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (id, npv, loss, cost, port) = (
        col("id"),
        col("npv_econ_usd"),
        col("forest_loss_ha"),
        col("cost_usd"),
        col("in_portfolio"),
    );
    let mut seg = std::collections::HashMap::new();
    let mut chosen: Vec<String> = Vec::new();
    for r in roads.records() {
        let r = r.unwrap();
        let f = |k: usize| r[k].parse::<f64>().unwrap();
        seg.insert(r[id].to_string(), (f(npv), f(loss).max(0.0), f(cost)));
        if &r[port] == "true" {
            chosen.push(r[id].to_string());
        }
    }
    chosen.sort();
    let mut r = csv::Reader::from_path(out.join("road_frontier.csv")).unwrap();
    let head = r.headers().unwrap().clone();
    assert_eq!(
        head.iter().collect::<Vec<_>>(),
        [
            "loss_cap_ha",
            "segments",
            "cost_usd",
            "npv_econ_usd",
            "forest_loss_ha",
            "benefit_share",
            "loss_share",
            "proven",
            "chosen",
            "segment_ids"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert!(rows.len() >= 5, "{} points", rows.len());
    let num = |r: &csv::StringRecord, k: usize| r[k].parse::<f64>().unwrap();
    let mut on_it = false;
    for r in &rows {
        assert_eq!(&r[7], "true", "every point proven on the sample");
        let ids: Vec<&str> = r[9].split(';').filter(|s| !s.is_empty()).collect();
        assert_eq!(ids.len() as f64, num(r, 1));
        let (mut v, mut l, mut c) = (0.0, 0.0, 0.0);
        for i in &ids {
            let (a, b, d) = seg[*i];
            v += a;
            l += b;
            c += d;
        }
        assert!((v - num(r, 3)).abs() < 1e-3 && (l - num(r, 4)).abs() < 1e-6);
        assert!((c - num(r, 2)).abs() < 1e-3 && c <= budget + 1e-6);
        assert!(num(r, 4) <= num(r, 0) + 1e-6, "within its cap");
        let mut sorted: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        sorted.sort();
        assert_eq!(&r[8] == "true", sorted == chosen, "the chosen flag");
        on_it |= &r[8] == "true";
    }
    for w in rows.windows(2) {
        assert!(num(&w[1], 4) >= num(&w[0], 4), "loss rises");
        assert!(
            num(&w[1], 3) > num(&w[0], 3),
            "NPV rises: {:?} -> {:?}",
            w[0],
            w[1]
        );
    }
    let last = rows.last().unwrap();
    assert!((num(last, 5) - 1.0).abs() < 1e-12 && (num(last, 6) - 1.0).abs() < 1e-12);
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Efficiency frontier within the road budget"));
    assert!(report.contains("economic NPV before carbon cost"));
    if on_it {
        assert!(report.contains("The chosen portfolio is on the frontier"));
    } else {
        assert!(report.contains("is not on it: the frontier reaches"));
    }
    // The frontier adds up single appraisals; the portfolio built together
    // is said beside it (a point of its own where that moves it).
    let p = &summary["roads"]["portfolio"];
    let joint_v = p["npv_econ_joint_usd"].as_f64().unwrap();
    let joint_l = p["forest_loss_joint_ha"].as_f64().unwrap().max(0.0);
    let (sum_v, sum_l) = chosen.iter().fold((0.0, 0.0), |(v, l), i| {
        let (a, b, _) = seg[i.as_str()];
        (v + a, l + b)
    });
    let apart = |a: f64, b: f64| (a - b).abs() > 0.005 * a.abs().max(b.abs()).max(1e-9);
    if apart(sum_v, joint_v) || apart(sum_l, joint_l) {
        let said = format!(
            "built together, the chosen roads are worth {} economic NPV",
            greenhalo::fmt::money(joint_v)
        );
        assert!(report.contains(&said), "{said}");
    } else {
        assert!(report.contains(
            "Built together, the chosen roads are worth what their own appraisals add up to"
        ));
    }
    // (the joint economic NPV is the joint net NPV plus its carbon cost:
    // at least the net figure)
    assert!(joint_v >= p["npv_net_joint_usd"].as_f64().unwrap() - 1e-6);
}

#[test]
fn the_report_names_every_portfolio_and_avoid_segment_and_carries_its_decorations() {
    let out = sample_run();
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    let mut r = csv::Reader::from_path(out.join("roads.csv")).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (id, class, port) = (col("id"), col("class"), col("in_portfolio"));
    let (mut n_port, mut n_avoid, mut n_left) = (0, 0, 0);
    let left_out = report
        .split("<h3>Worth improving, not funded</h3>")
        .nth(1)
        .and_then(|r| r.split("<h3>").next())
        .expect("the section of roads worth improving but not funded");
    for rec in r.records() {
        let rec = rec.unwrap();
        let in_port = &rec[port] == "true";
        let avoid = &rec[class] == "avoid";
        let worth = &rec[class] == "improve" || &rec[class] == "improve_with_safeguards";
        n_port += in_port as usize;
        n_avoid += avoid as usize;
        // Every segment funded, to avoid, or worth improving is in the
        // report; the last, when not funded, in its own section with why.
        if in_port || avoid || worth {
            let cell = format!("segment {}<", &rec[id]);
            assert!(report.contains(&cell), "segment {} missing", &rec[id]);
        }
        if worth && !in_port {
            n_left += 1;
            let at = left_out
                .find(&format!("segment {}<", &rec[id]))
                .unwrap_or_else(|| panic!("{} not in the not-funded section", &rec[id]));
            let why = &left_out[at..at + left_out[at..].find("</tbody>").unwrap()];
            assert!(
                why.contains("not funded.</b>") && why.contains("US$"),
                "{why}"
            );
        }
    }
    assert!(
        n_port >= 10 && n_avoid >= 1 && n_left >= 5,
        "{n_port} {n_avoid} {n_left}"
    );
    // No internal word in what a ministry reads (field names stay in the
    // files' own documentation).
    for word in ["improve_with_safeguards", "SPEC", "NPV_net", "NPV_econ"] {
        assert!(!report.contains(word), "{word} in the report");
    }
    // The terrain: one picture in the page, drawn under every map (the
    // placeholder each map draws is replaced, never left as a magenta box).
    assert_eq!(report.matches("<symbol id=\"terrain\"").count(), 1);
    assert!(report.matches("<use href=\"#terrain\"").count() >= 4);
    assert!(
        !report.contains("#FE01FE"),
        "a terrain placeholder left in a map"
    );
    // The run: its date (SOURCE_DATE_EPOCH here), version, command, every
    // input file with its hash, every warning of the run log.
    assert!(report.contains("2026-05-28 20:26:40"));
    assert!(report.contains(&format!("greenhalo {}", env!("CARGO_PKG_VERSION"))));
    assert!(report.contains("greenhalo run ") && report.contains(" -o "));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(report.contains(summary["inputs_hash"].as_str().unwrap()));
    for f in [
        "dem.tif",
        "roads.gpkg",
        "parcels.geojson",
        "markets.shp",
        "landscape.toml",
    ] {
        assert!(report.contains(f), "{f}");
    }
    let log = std::fs::read_to_string(out.join("run_log.txt")).unwrap();
    let warnings = log.split("\nwarnings: ").nth(1).unwrap();
    for w in warnings.lines().skip(1).filter(|l| l.starts_with("  ")) {
        let w = w.trim();
        let w = w
            .strip_prefix("warning: ")
            .or(w.strip_prefix("note: "))
            .unwrap_or(w);
        let shown = w
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(
            report.contains(&format!("<li>{shown}</li>")),
            "warning missing: {w}"
        );
    }
    // Map decorations: graticule labels in km with the CRS, a scale bar, a
    // north arrow, market names, the funding-gap legend (SVG text nodes
    // carry line breaks around their text).
    let report = report.replace('\n', "");
    assert!(report.contains("easting, km (EPSG:32718)"));
    assert!(report.contains(">10 km<"), "scale bar");
    assert!(report.contains(">N<"), "north arrow");
    assert!(report.contains(">Moyobamba<") && report.contains(">Rioja<"));
    assert!(report.contains("fully funded") && report.contains("50% funded</span>"));
    // Finance views and assumptions.
    for needle in [
        "Cash flow by year",
        "payback, year 8",
        "P(NPV &lt; 0)",
        "Sensitivity of the return multiple",
        "Sensitivity of the NPV",
        "earnings multiple at maturity (",
        "US$ of 2024, real prices",
        "Barber et al. 2014",
        "<meta name=\"viewport\"",
        "@media print",
    ] {
        assert!(report.contains(needle), "{needle}");
    }
    // The portfolio note gives money with separators, never a raw number
    // (it printed "joint NPV_net 3017437" once).
    let start = report.find("Thick lines:").expect("portfolio note");
    let note = &report[start..start + report[start..].find("</p>").unwrap()];
    let longest_digit_run = note
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_digit_run <= 3, "raw number in: {note}");
    assert!(note.contains("US$"), "{note}");
    // The report's transition colours are the QGIS style's (catalogue order).
    let qml = std::fs::read_to_string(out.join("parcels.qml")).unwrap();
    for (r, g, b) in &greenhalo::parcels::TRANSITION_PALETTE[..5] {
        assert!(
            qml.contains(&format!("\"{r},{g},{b},220\"")),
            "qml {r},{g},{b}"
        );
    }
    let (r, g, b) = greenhalo::parcels::TRANSITION_PALETTE[0];
    assert!(report.contains(&format!("background:rgb({r},{g},{b})")));
}

/// `road_upgrades.force_in` / `force_out`: the forced segments are in and
/// out of the portfolio, the free optimum reported beside it is the plain
/// run's portfolio (a separate run with nothing forced), the cost is the
/// difference of their net NPVs built together, and the forced-out
/// segment worth improving is listed with why. An unknown id is refused by
/// name.
#[test]
fn forced_choices_are_kept_and_costed_against_the_free_optimum() {
    let plain = summary(sample_run());
    let free = &plain["roads"]["portfolio"];
    let free_ids: Vec<String> = free["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // Out: the first funded segment; in: the cheapest segment the plain run
    // judged not worth improving.
    let out_id = free_ids[0].clone();
    let mut roads = csv::Reader::from_path(sample_run().join("roads.csv")).unwrap();
    let head = roads.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (id, class, cost) = (col("id"), col("class"), col("cost_usd"));
    let in_id = roads
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[class] == "do_not_improve")
        .min_by(|a, b| {
            a[cost]
                .parse::<f64>()
                .unwrap()
                .total_cmp(&b[cost].parse::<f64>().unwrap())
        })
        .map(|r| r[id].to_string())
        .expect("a segment not worth improving");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("forced");
    greenhalo()
        .args(["-q", "run"])
        .arg(sample())
        .arg("-o")
        .arg(&out)
        .arg("--set")
        .arg(format!("road_upgrades.force_in=[\"{in_id}\"]"))
        .arg("--set")
        .arg(format!("road_upgrades.force_out=[\"{out_id}\"]"))
        .assert()
        .success();
    let s = summary(&out);
    let p = &s["roads"]["portfolio"];
    let ids: Vec<&str> = p["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(ids.contains(&in_id.as_str()), "{in_id} forced in: {ids:?}");
    assert!(
        !ids.contains(&out_id.as_str()),
        "{out_id} forced out: {ids:?}"
    );
    let f = &p["forced"];
    assert_eq!(f["force_in"], serde_json::json!([in_id]));
    assert_eq!(f["force_out"], serde_json::json!([out_id]));
    // The free optimum is the plain run's portfolio, to the dollar.
    assert_eq!(f["free_segments"], free["segments"]);
    let free_net = free["npv_net_joint_usd"].as_f64().unwrap();
    assert!((f["free_npv_net_joint_usd"].as_f64().unwrap() - free_net).abs() < 1e-6);
    let joint = p["npv_net_joint_usd"].as_f64().unwrap();
    assert!((f["cost_usd"].as_f64().unwrap() - (free_net - joint)).abs() < 1e-6);
    assert_eq!(f["each"].as_array().unwrap().len(), 2);
    // Within the budget, the forced one's cost counted.
    assert!(p["cost_usd"].as_f64().unwrap() <= p["budget_usd"].as_f64().unwrap() + 1e-6);
    // The segment forced out is explained; the report says what forcing costs.
    let left = p["left_out"].as_array().unwrap();
    let why = left
        .iter()
        .find(|l| l["id"] == out_id.as_str())
        .expect("the forced-out segment among those left out")["why"]
        .as_str()
        .unwrap();
    assert!(why.contains("force_out"), "{why}");
    // The frontier answers the same question: the forced-in segment in
    // every point, the forced-out one in none, each point within the
    // budget, its figures the sums of roads.csv over its segments.
    let mut by_id: std::collections::HashMap<String, (f64, f64)> = Default::default();
    let mut roads = csv::Reader::from_path(out.join("roads.csv")).unwrap();
    let head = roads.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (idc, costc, npvc) = (col("id"), col("cost_usd"), col("npv_econ_usd"));
    for r in roads.records().map(|r| r.unwrap()) {
        by_id.insert(
            r[idc].to_string(),
            (r[costc].parse().unwrap(), r[npvc].parse().unwrap()),
        );
    }
    let mut frontier = csv::Reader::from_path(out.join("road_frontier.csv")).unwrap();
    let head = frontier.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (ids_c, cost_c, npv_c) = (col("segment_ids"), col("cost_usd"), col("npv_econ_usd"));
    let budget = p["budget_usd"].as_f64().unwrap();
    let mut points = 0;
    for r in frontier.records().map(|r| r.unwrap()) {
        let ids: Vec<&str> = r[ids_c].split(';').filter(|x| !x.is_empty()).collect();
        assert!(
            ids.contains(&in_id.as_str()),
            "frontier point without {in_id}: {ids:?}"
        );
        assert!(
            !ids.contains(&out_id.as_str()),
            "frontier point with {out_id}: {ids:?}"
        );
        let cost: f64 = ids.iter().map(|i| by_id[*i].0).sum();
        let npv: f64 = ids.iter().map(|i| by_id[*i].1).sum();
        let (c, v): (f64, f64) = (r[cost_c].parse().unwrap(), r[npv_c].parse().unwrap());
        assert!(
            (c - cost).abs() < 1e-6 * cost.max(1.0) && c <= budget + 1e-6,
            "{c} {cost}"
        );
        assert!((v - npv).abs() < 1e-6 * npv.abs().max(1.0), "{v} {npv}");
        points += 1;
    }
    assert!(points >= 2, "{points} frontier points");
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Forced by the landscape file"));
    assert!(report.contains(&format!(
        "so the forced choices cost {}",
        greenhalo::fmt::money(free_net - joint)
    )));
    // An id that is no segment: refused, naming the setting and the id.
    greenhalo()
        .args(["-q", "run"])
        .arg(sample())
        .arg("-o")
        .arg(d.path().join("bad"))
        .arg("--set")
        .arg("road_upgrades.force_in=[\"99-99\"]")
        .assert()
        .failure()
        .stderr(
            predicates::str::contains("road_upgrades.force_in")
                .and(predicates::str::contains("'99-99'")),
        );
    assert!(!d.path().join("bad").exists(), "nothing written");
    // `validate` finds it before any run, exit 2 as for any layer error.
    greenhalo()
        .args(["-q", "validate"])
        .arg(sample())
        .arg("--set")
        .arg("road_upgrades.force_out=[\"99-99\"]")
        .assert()
        .code(2)
        .stdout(
            predicates::str::contains("road_upgrades.force_out")
                .and(predicates::str::contains("'99-99'")),
        );
}
