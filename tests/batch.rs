//! Batch runs: failures isolated, shards, resumption, identical outputs.

mod common;

use common::*;
use predicates::prelude::*;

fn landscapes(dir: &std::path::Path) {
    for s in 1..=5 {
        greenhalo()
            .args([
                "-q",
                "synth",
                "--seed",
                &s.to_string(),
                "--size-km",
                "12,10",
                "--resolution",
                "250",
                "-o",
            ])
            .arg(dir.join(format!("land{s}")))
            .assert()
            .success();
    }
    // One broken landscape: its DEM is missing.
    std::fs::remove_file(dir.join("land3/dem.tif")).unwrap();
}

#[test]
fn a_batch_isolates_failures_resumes_and_shards() {
    let d = tempfile::tempdir().unwrap();
    let lands = d.path().join("lands");
    landscapes(&lands);
    let out = d.path().join("out");
    greenhalo()
        .arg("batch")
        .arg(&lands)
        .arg("-o")
        .arg(&out)
        .args(["--jobs", "2"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("land3").and(predicate::str::contains("dem.tif")));
    let t = batch_table(&out, "");
    assert_eq!(t["ok"], 4);
    assert_eq!(t["failed"], 1);
    let broken = t["landscapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "land3")
        .unwrap();
    assert!(broken["error"].as_str().unwrap().contains("dem.tif"));
    for k in [1, 2, 4, 5] {
        assert!(out.join(format!("land{k}/summary.json")).exists());
    }
    let before = snapshot(&out.join("land1"));

    // A second run skips the four complete landscapes; --force re-runs
    // them, byte for byte the same.
    greenhalo()
        .arg("-q")
        .arg("batch")
        .arg(&lands)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(3);
    let t = batch_table(&out, "");
    assert_eq!(
        (t["skipped"].as_u64(), t["ok"].as_u64()),
        (Some(4), Some(0))
    );
    greenhalo()
        .arg("-q")
        .arg("batch")
        .arg(&lands)
        .arg("-o")
        .arg(&out)
        .arg("--force")
        .assert()
        .code(3);
    assert_eq!(batch_table(&out, "")["ok"], 4);
    assert_eq!(snapshot(&out.join("land1")), before);

    // Shards 1/3, 2/3, 3/3 cover every landscape once.
    let sharded = d.path().join("sharded");
    let mut names = Vec::new();
    for i in 1..=3 {
        let _ = greenhalo()
            .arg("-q")
            .arg("batch")
            .arg(&lands)
            .arg("-o")
            .arg(&sharded)
            .args(["--shard", &format!("{i}/3")])
            .assert();
        let t = batch_table(&sharded, &format!(".shard-{i}-of-3"));
        names.extend(
            t["landscapes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string()),
        );
    }
    names.sort();
    assert_eq!(names, vec!["land1", "land2", "land3", "land4", "land5"]);
    // The merge step rebuilds one table, failures included.
    greenhalo()
        .arg("-q")
        .arg("batch-merge")
        .arg(&sharded)
        .assert()
        .code(3);
    let t = batch_table(&sharded, "");
    assert_eq!(t["landscapes"].as_array().unwrap().len(), 5);
    assert_eq!(snapshot(&sharded.join("land1")), before);
}
