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
        // One line a landscape as it finishes (stderr is not a terminal
        // here: the lines come without a bar), the failure on one line.
        .stderr(
            predicate::str::contains("land1: ok in")
                .and(predicate::str::contains("return multiple"))
                .and(predicate::str::is_match("land3: failed in [0-9.]+ s: .*dem.tif").unwrap()),
        );
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

/// Ctrl-C in the middle of a batch: the landscapes that finished are in
/// batch_summary.csv and .json, the rest marked interrupted, and the exit
/// is 130.
#[test]
#[cfg(unix)]
fn an_interrupted_batch_still_writes_the_table_of_what_finished() {
    let d = tempfile::tempdir().unwrap();
    let lands = d.path().join("lands");
    landscapes(&lands);
    let out = d.path().join("out");
    let bin = assert_cmd::cargo::cargo_bin("greenhalo");
    let mut child = std::process::Command::new(bin)
        .env("SOURCE_DATE_EPOCH", "1780000000")
        .args(["-q", "batch"])
        .arg(&lands)
        .arg("-o")
        .arg(&out)
        .args(["--jobs", "1"])
        .spawn()
        .unwrap();
    // Once the first landscape is done, interrupt.
    let t0 = std::time::Instant::now();
    while !out.join("land1/summary.json").exists() {
        assert!(t0.elapsed().as_secs() < 300, "land1 never finished");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let t = batch_table(&out, "");
    let rows = t["landscapes"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "every landscape has a row");
    let status_of = |n: &str| {
        rows.iter().find(|r| r["name"] == n).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status_of("land1"), "ok");
    assert!(t["interrupted"].as_u64().unwrap() >= 1, "{t}");
    for r in rows {
        let s = r["status"].as_str().unwrap();
        assert!(["ok", "failed", "interrupted"].contains(&s), "{s}");
        // A finished landscape's outputs are whole; an interrupted one
        // left none.
        let summary = std::path::Path::new(r["out_dir"].as_str().unwrap()).join("summary.json");
        assert_eq!(s == "ok", summary.exists(), "{r}");
    }
    let csv = std::fs::read_to_string(out.join("batch_summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(!out.join(".batch_summary.csv.part").exists());
}
