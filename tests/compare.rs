//! `greenhalo sweep` and `greenhalo compare`: a carbon-price sweep of
//! data/sample compared, every figure read back against the runs' own
//! files; runs of other landscapes refused.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use predicates::prelude::*;

fn csv_map(path: &Path, key: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let head = r.headers().unwrap().clone();
    r.records()
        .map(|x| {
            let x = x.unwrap();
            let m: BTreeMap<String, String> = head
                .iter()
                .zip(x.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect();
            (m[key].clone(), m)
        })
        .collect()
}

#[test]
fn a_carbon_price_sweep_is_compared_figure_by_figure() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("sweep");
    greenhalo()
        .arg("sweep")
        .arg(sample())
        .arg("-o")
        .arg(&out)
        .args(["--vary", "economics.carbon_price_usd_per_tco2=10,100"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "carbon_price_usd_per_tco2=10: ok in",
        ))
        .stderr(predicates::str::contains(
            "carbon_price_usd_per_tco2=100: ok in",
        ));
    // Run as a batch: its table lists both scenarios, ok.
    let table = batch_table(&out, "");
    let rows = table["landscapes"].as_array().expect("batch table rows");
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|r| r["status"] == "ok"), "{table}");
    let (a, b) = (
        out.join("carbon_price_usd_per_tco2=10"),
        out.join("carbon_price_usd_per_tco2=100"),
    );
    let cmp = out.join("comparison");
    let (sa, sb) = (summary(&a), summary(&b));
    // Headline figures: each run's, and the difference.
    let head = csv_map(&cmp.join("comparison.csv"), "figure");
    let (la, lb) = (
        "carbon_price_usd_per_tco2=10",
        "carbon_price_usd_per_tco2=100",
    );
    let num = |s: &str| s.parse::<f64>().unwrap();
    let row = &head["Return multiple"];
    let (ma, mb) = (
        sa["finance"]["return_multiple"].as_f64().unwrap(),
        sb["finance"]["return_multiple"].as_f64().unwrap(),
    );
    assert_eq!(num(&row[la]), ma);
    assert_eq!(num(&row[lb]), mb);
    assert!((num(&row[&format!("{lb} minus {la}")]) - (mb - ma)).abs() < 1e-12);
    assert!(
        mb > ma,
        "a higher carbon price pays the plan more: {ma} vs {mb}"
    );
    let npv = &head["NPV"];
    assert_eq!(num(&npv[la]), sa["finance"]["npv_usd"].as_f64().unwrap());
    // Roads: every segment funded in either run, funded as each roads.csv says.
    let roads = csv_map(&cmp.join("comparison_roads.csv"), "id");
    for (run, label) in [(&a, la), (&b, lb)] {
        let own = csv_map(&run.join("roads.csv"), "id");
        for (id, r) in &own {
            let funded = r["in_portfolio"] == "true";
            match roads.get(id) {
                Some(c) => assert_eq!(c[&format!("funded in {label}")] == "true", funded, "{id}"),
                None => assert!(!funded, "{id} funded in {label} but not compared"),
            }
        }
    }
    // Parcels: exactly those whose selected transition differs.
    let pa = csv_map(&a.join("parcels.csv"), "id");
    let pb = csv_map(&b.join("parcels.csv"), "id");
    let t = |r: &BTreeMap<String, String>| {
        if r["selected"] == "true" {
            r["transition"].clone()
        } else {
            "not_selected".to_string()
        }
    };
    let want: Vec<&String> = pa.keys().filter(|id| t(&pa[*id]) != t(&pb[*id])).collect();
    let got = csv_map(&cmp.join("comparison_parcels.csv"), "id");
    assert!(!want.is_empty(), "the carbon price changes some parcels");
    assert_eq!(got.keys().collect::<Vec<_>>(), want);
    for id in want {
        assert_eq!(got[id][&format!("transition in {lb}")], t(&pb[id]));
    }
    // The page names the setting that differs and carries the map and layers.
    let html = std::fs::read_to_string(cmp.join("comparison.html")).unwrap();
    assert!(html.contains("economics.carbon_price_usd_per_tco2"));
    assert!(html.contains("aria-label=\"map of the differences\""));
    let layer: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(cmp.join("comparison_roads.geojson")).unwrap(),
    )
    .unwrap();
    assert_eq!(layer["features"].as_array().unwrap().len(), roads.len());
    assert!(cmp.join("comparison_roads.qml").exists());
    // The QGIS project (opened in real QGIS by scripts/check-qgis.sh in
    // .ci/run): every layer's source, relative to the comparison folder,
    // is a file there, and each run has its own group.
    let qgs = std::fs::read_to_string(cmp.join("comparison.qgs")).unwrap();
    let sources: Vec<&str> = qgs
        .split("<datasource>")
        .skip(1)
        .map(|x| &x[..x.find('<').unwrap()])
        .filter(|x| !x.is_empty())
        .collect();
    assert_eq!(sources.len(), 2 + 2 * 2 + 3, "{sources:?}");
    for src in &sources {
        assert!(src.starts_with("./"), "{src}: not relative");
        assert!(
            cmp.join(src).exists(),
            "{src}: no such file beside the project"
        );
    }
    assert_eq!(qgs.matches("<layer-tree-group name=\"Run ").count(), 2);

    // Runs of another landscape are refused, naming both; nothing written.
    let toml = synth_small(&d.path().join("synth"), "12,10");
    let other = d.path().join("other");
    run_ok(&toml, &other);
    let refused = d.path().join("refused");
    greenhalo()
        .arg("compare")
        .arg(&a)
        .arg(&other)
        .arg("-o")
        .arg(&refused)
        .assert()
        .failure()
        .stderr(
            predicates::str::contains("different landscapes")
                .and(predicates::str::contains("--any-landscapes")),
        );
    assert!(!refused.exists());
    // ...and compared on their headline figures when asked.
    greenhalo()
        .args(["-q", "compare"])
        .arg(&a)
        .arg(&other)
        .arg("-o")
        .arg(&refused)
        .arg("--any-landscapes")
        .assert()
        .success();
    assert!(refused.join("comparison.csv").exists());
    assert!(!refused.join("comparison_roads.geojson").exists());
    // A folder that is no finished run is named.
    greenhalo()
        .arg("compare")
        .arg(&a)
        .arg(d.path())
        .arg("-o")
        .arg(d.path().join("x"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("not a finished greenhalo run"));
}
