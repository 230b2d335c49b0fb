//! A user's files are never lost, and nonsense is refused before any work:
//! the data-loss commands and settings of issue 13, interrupts, stale
//! staging folders, batch name collisions.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// A small synthetic landscape (8 x 6 km, 200 m) in `dir`; runs in well
/// under a second.
fn small(dir: &Path) -> PathBuf {
    synth_small(dir, "8,6")
}

#[test]
fn batch_refuses_an_output_inside_or_equal_to_its_input_folder() {
    let d = tempfile::tempdir().unwrap();
    let lands = d.path().join("lands");
    small(&lands.join("a"));
    small(&lands.join("b"));
    let before = snapshot(&lands);
    for out in [lands.clone(), lands.join("a"), lands.join("results")] {
        greenhalo()
            .args(["-q", "batch"])
            .arg(&lands)
            .arg("-o")
            .arg(&out)
            .assert()
            .failure()
            .stderr(predicates::str::contains(
                "inside the folder the batch reads",
            ));
    }
    assert_eq!(snapshot(&lands), before, "every landscape untouched");
}

#[test]
fn batch_gives_colliding_landscapes_distinct_folders() {
    let d = tempfile::tempdir().unwrap();
    let lands = d.path().join("lands");
    // "a__b" and "a/b" both map to "a__b"; "C" and "c" collide on a
    // case-insensitive disk.
    small(&lands.join("a__b"));
    small(&lands.join("a").join("b"));
    let out = d.path().join("out");
    greenhalo()
        .args(["-q", "batch"])
        .arg(&lands)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let t = batch_table(&out, "");
    let rows = t["landscapes"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let dirs: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["out_dir"].as_str().unwrap())
        .collect();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for r in rows {
        assert_eq!(r["status"], "ok");
        let s = summary(Path::new(r["out_dir"].as_str().unwrap()));
        // Each folder holds the outputs of its own landscape.
        assert_eq!(
            std::fs::canonicalize(s["landscape_file"].as_str().unwrap()).unwrap(),
            std::fs::canonicalize(r["landscape"].as_str().unwrap()).unwrap()
        );
    }
    // A second batch finds the same two landscapes (not the outputs' run
    // records) and keeps the same names.
    greenhalo()
        .args(["-q", "batch", "--force"])
        .arg(&lands)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let t2 = batch_table(&out, "");
    let names = |t: &serde_json::Value| -> Vec<String> {
        t["landscapes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&t), names(&t2));
}

#[test]
fn batch_refuses_a_foreign_output_folder() {
    let d = tempfile::tempdir().unwrap();
    small(&d.path().join("lands").join("a"));
    let out = d.path().join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    greenhalo()
        .args(["-q", "batch"])
        .arg(d.path().join("lands"))
        .arg("-o")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicates::str::contains("not a greenhalo batch folder"));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn force_replaces_a_foreign_folder_but_never_one_holding_inputs() {
    let d = tempfile::tempdir().unwrap();
    let toml = small(&d.path().join("land"));
    let other = d.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("old.txt"), "x").unwrap();
    greenhalo()
        .args(["-q", "run"])
        .arg(&toml)
        .arg("-o")
        .arg(&other)
        .assert()
        .failure();
    greenhalo()
        .args(["-q", "run", "--force"])
        .arg(&toml)
        .arg("-o")
        .arg(&other)
        .assert()
        .success();
    assert!(!other.join("old.txt").exists());
    let marker = std::fs::read_to_string(other.join(".greenhalo-output")).unwrap();
    assert!(marker.contains(env!("CARGO_PKG_VERSION")), "{marker}");
    let hash = summary(&other)["inputs_hash"].as_str().unwrap().to_string();
    assert!(marker.contains(&hash), "{marker}");
    // --force does not make the landscape's own folder writable.
    let before = snapshot(&d.path().join("land"));
    greenhalo()
        .args(["-q", "run", "--force"])
        .arg(&toml)
        .arg("-o")
        .arg(d.path().join("land"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("input of the landscape"));
    assert_eq!(snapshot(&d.path().join("land")), before);
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn a_later_run_cleans_staging_folders_of_dead_runs_and_restores_a_moved_output() {
    let d = tempfile::tempdir().unwrap();
    let toml = small(&d.path().join("land"));
    let out = d.path().join("out");
    run_ok(&toml, &out);
    // A run killed mid-swap (SIGKILL): the old output moved aside, the new
    // one not yet in place.
    let pid = dead_pid();
    let aside = d.path().join(format!(".out.partial-{pid}.old"));
    std::fs::rename(&out, &aside).unwrap();
    let half = d.path().join(format!(".out.partial-{}", pid + 1_000_000));
    std::fs::create_dir(&half).unwrap();
    std::fs::write(half.join(".greenhalo-output"), "").unwrap();
    std::fs::write(half.join("half.tif"), "").unwrap();
    // Not greenhalo's (no marker): left alone.
    let foreign = d.path().join(".out.partial-12x");
    std::fs::create_dir(&foreign).unwrap();
    greenhalo::io::outdir::clean_stale(&out);
    assert!(out.join("summary.json").exists(), "old output restored");
    assert!(!aside.exists() && !half.exists());
    assert!(foreign.exists());
    // A run cleans up what a dead run left, and leaves nothing hidden
    // beside its output.
    let half = d.path().join(format!(".out.partial-{pid}"));
    std::fs::create_dir(&half).unwrap();
    std::fs::write(half.join(".greenhalo-output"), "").unwrap();
    run_ok(&toml, &out);
    assert!(!half.exists());
    let hidden: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out."))
        .collect();
    assert_eq!(hidden, [".out.partial-12x"]);
}

/// A rerun that fails on its inputs still removes what a killed run left
/// beside the output (the clean-up comes before the inputs are read).
#[test]
fn a_run_that_fails_on_its_inputs_still_cleans_stale_staging() {
    let d = tempfile::tempdir().unwrap();
    let toml = small(&d.path().join("land"));
    let out = d.path().join("out");
    let half = d.path().join(format!(".out.partial-{}", dead_pid()));
    std::fs::create_dir(&half).unwrap();
    std::fs::write(half.join(".greenhalo-output"), "").unwrap();
    std::fs::write(half.join("half.tif"), "").unwrap();
    let text = std::fs::read_to_string(&toml).unwrap();
    let broken = d.path().join("land/broken.toml");
    let aoi = text
        .lines()
        .find(|l| l.trim_start().starts_with("aoi"))
        .and_then(|l| l.split('"').nth(1))
        .unwrap()
        .to_string();
    std::fs::write(&broken, text.replace(&aoi, "missing_aoi.geojson")).unwrap();
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(&broken)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("missing_aoi.geojson"));
    assert!(!half.exists(), "the dead run's staging folder is removed");
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_remove_the_staging_folder_and_keep_the_old_output() {
    let d = tempfile::tempdir().unwrap();
    let land = d.path().join("land");
    copy_dir(&root().join("data/sample"), &land);
    let toml = land.join("landscape.toml");
    let out = d.path().join("out");
    run_ok(&toml, &out);
    let before = snapshot(&out);
    let bin = assert_cmd::cargo::cargo_bin("greenhalo");
    let mut caught = 0;
    for (attempt, signal) in ["TERM", "INT", "TERM", "INT", "TERM", "INT"]
        .iter()
        .enumerate()
    {
        let mut child = std::process::Command::new(&bin)
            .args(["-q", "run"])
            .arg(&toml)
            .arg("-o")
            .arg(&out)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let staging = d.path().join(format!(".out.partial-{}", child.id()));
        let t0 = Instant::now();
        // Wait until the run writes into its staging folder.
        while !staging.exists() && t0.elapsed() < Duration::from_secs(120) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if !staging.exists() {
            child.wait().unwrap();
            continue; // finished before we saw it: try again
        }
        std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        if status.success() {
            continue; // the signal came after the commit
        }
        assert_eq!(status.code(), Some(130), "attempt {attempt}: {status:?}");
        assert!(!staging.exists(), "staging folder removed");
        caught += 1;
        let after = snapshot(&out);
        assert_eq!(after, before, "the earlier output is intact");
    }
    assert!(caught >= 2, "interrupted {caught} run(s) while staging");
    let hidden = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".out"))
        .count();
    assert_eq!(hidden, 0);
}

/// A signal at any instant of the swap, while the earlier output is being
/// removed after the new one moved into place: exactly one complete output
/// (the new one), an exit that says so, and nothing hidden beside it after
/// the next run (SIGKILL included: the earlier folder's marker goes last).
#[cfg(unix)]
#[test]
fn a_signal_during_the_swap_leaves_one_complete_output_and_the_next_run_cleans_up() {
    let d = tempfile::tempdir().unwrap();
    let toml = small(&d.path().join("land"));
    let out = d.path().join("out");
    run_ok(&toml, &out);
    let bin = assert_cmd::cargo::cargo_bin("greenhalo");
    let mut caught = 0;
    for (attempt, (signal, delay_ms)) in [
        ("TERM", 0),
        ("INT", 2),
        ("KILL", 0),
        ("KILL", 5),
        ("TERM", 10),
        ("KILL", 20),
    ]
    .into_iter()
    .enumerate()
    {
        // An earlier output slow to remove: many files.
        let pad = out.join("padding");
        std::fs::create_dir_all(&pad).unwrap();
        for k in 0..20_000 {
            std::fs::write(pad.join(format!("{k}.txt")), "x").unwrap();
        }
        let mut child = std::process::Command::new(&bin)
            .args(["-q", "run"])
            .arg(&toml)
            .arg("-o")
            .arg(&out)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let old = d.path().join(format!(".out.partial-{}.old", child.id()));
        let t0 = Instant::now();
        while !old.exists() && t0.elapsed() < Duration::from_secs(120) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if !old.exists() {
            child.wait().unwrap();
            continue; // the removal was over before we saw it
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Exactly one complete output: the new one.
        assert!(
            out.join("summary.json").is_file() && out.join(".greenhalo-output").is_file(),
            "attempt {attempt}: the output is complete"
        );
        assert!(
            !pad.exists(),
            "attempt {attempt}: the new output, not the old"
        );
        if output.status.success() {
            continue; // the removal finished first
        }
        caught += 1;
        if signal != "KILL" {
            assert_eq!(output.status.code(), Some(130), "attempt {attempt}");
            if old.exists() {
                assert!(
                    stderr.contains("is complete") && !stderr.contains("left as they were"),
                    "attempt {attempt}: {stderr}"
                );
            }
        }
        // The next run removes what is left of the earlier output.
        run_ok(&toml, &out);
        let hidden: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".out"))
            .collect();
        assert!(hidden.is_empty(), "attempt {attempt}: {hidden:?} left");
    }
    assert!(caught >= 3, "interrupted {caught} swap(s)");
}

/// Write the sample's landscape file with one line changed.
fn sample_with(dir: &Path, key: &str, value: &str) -> PathBuf {
    let land = dir.join("land");
    if !land.exists() {
        copy_dir(&root().join("data/sample"), &land);
    }
    let text = std::fs::read_to_string(root().join("data/sample/landscape.toml")).unwrap();
    let (section, k) = key.rsplit_once('.').unwrap();
    let header = format!("[{section}]");
    let text = if text.contains(&header) {
        text.replacen(&header, &format!("{header}\n{k} = {value}"), 1)
    } else {
        format!("{text}\n{header}\n{k} = {value}\n")
    };
    let p = land.join(format!("{}.toml", key.replace('.', "_")));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn nonsensical_settings_fail_validate_and_run_before_any_work() {
    let d = tempfile::tempdir().unwrap();
    for (key, value) in [
        ("access.track_kmh", "-10.0"),
        ("road_upgrades.max_segment_km", "0.0"),
        ("road_upgrades.primary_upgraded_kmh", "-80.0"),
        ("transitions.baseline_pasture_usd_per_ha", "9.2e18"),
        ("finance.sd_costs", "nan"),
        ("economics.carbon_density_tc_per_ha", "-1e308"),
        ("economics.horizon_years", "4000000000"),
        ("finance.monte_carlo_draws", "10000000000"),
        ("economics.discount_rate", "-1.0"),
        ("risk.sample_per_class", "0"),
        ("road_upgrades.maintenance_primary_usd_per_km", "-inf"),
    ] {
        let toml = sample_with(d.path(), key, value);
        for cmd in ["validate", "run"] {
            let out = d.path().join("out");
            let mut c = greenhalo();
            c.arg("-q").arg(cmd).arg(&toml);
            if cmd == "run" {
                c.arg("-o").arg(&out);
            }
            // validate's documented code for errors it finds is 2; a run
            // that fails is 1.
            let code = if cmd == "validate" { 2 } else { 1 };
            let a = c.timeout(Duration::from_secs(60)).assert().code(code);
            let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
            assert!(err.contains(key), "{cmd} {key} = {value}: {err}");
            assert!(err.contains("must be"), "{cmd} {key} = {value}: {err}");
            assert!(!out.exists(), "nothing written");
        }
    }
    // Several at once: all reported.
    let toml = sample_with(d.path(), "access.track_kmh", "-1.0");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("[layers]", "[economics]\ndiscount_rate = nan\n\n[layers]");
    std::fs::write(&toml, text).unwrap();
    greenhalo()
        .arg("validate")
        .arg(&toml)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "2 problem(s) in the landscape file",
        ))
        .stderr(predicates::str::contains("access.track_kmh = -1"))
        .stderr(predicates::str::contains("economics.discount_rate = nan"));
}

/// A discount rate inside its range that the funding and capital LPs
/// cannot solve (at -0.9 over 20 years a dollar in the last year weighs
/// 1e20 today's: HiGHS failed, naming no setting) is refused before any
/// work, naming the rate and the horizon; one just inside the bound runs.
#[test]
fn a_discount_rate_the_solvers_cannot_take_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let toml = sample_with(d.path(), "economics.discount_rate", "-0.9");
    for cmd in ["validate", "run"] {
        let out = d.path().join("out");
        let mut c = greenhalo();
        c.arg("-q").arg(cmd).arg(&toml);
        if cmd == "run" {
            c.arg("-o").arg(&out);
        }
        let code = if cmd == "validate" { 2 } else { 1 };
        c.timeout(Duration::from_secs(120))
            .assert()
            .code(code)
            .stderr(predicates::str::contains("economics.discount_rate = -0.9"))
            .stderr(predicates::str::contains("economics.horizon_years = 20"))
            .stderr(predicates::str::contains("at least -0.748"));
        assert!(!out.exists());
    }
    let toml = sample_with(d.path(), "economics.discount_rate", "-0.74");
    let s = run_ok(&toml, &d.path().join("ok"));
    assert!(s["finance"].is_object());
}

#[test]
fn an_empty_or_unreadable_layer_file_says_so() {
    let d = tempfile::tempdir().unwrap();
    let land = d.path().join("land");
    copy_dir(&root().join("data/sample"), &land);
    let toml = land.join("landscape.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let forest = text
        .lines()
        .find(|l| l.trim_start().starts_with("forest ="))
        .unwrap();
    let path = forest.split('"').nth(1).unwrap();
    std::fs::write(land.join(path), b"").unwrap();
    greenhalo()
        .arg("validate")
        .arg(&toml)
        .assert()
        .failure()
        .stdout(predicates::str::contains("an empty file (0 bytes)"));
}
