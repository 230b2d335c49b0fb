//! Every numeric setting, pushed to extremes (0, -1, NaN, +-inf, +-1e308,
//! the largest integers, and both ends of its declared range), gives either
//! a clear error naming the key or a run whose summary holds no missing
//! figure: never a panic, a hang, an abort or a silent NaN.

mod common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use greenhalo::config::{settings, Bound};
use toml::Value;

/// Summary figures that may be null by definition (not applicable), as in
/// the product's own documentation of summary.json.
const MAY_BE_NULL: &[&str] = &[
    "irr",
    "payback_year",
    "auc_holdout",
    "carbon",
    "population",
    "landcover",
    "forest_loss",
    "biodiversity",
    "earnings_multiple_mean",
    "earnings_multiple_max",
    "private_irr",
    // the risk model's validation on a landscape too small for its folds
    // of blocks, or without a year-coded loss raster, and its optional AUCs
    "validation",
    "forward",
    "auc_near_roads",
    "benchmark_auc_near_roads",
    "total_error",
    "correlation",
];

fn nulls(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Null => {
            let leaf = path.rsplit('.').next().unwrap_or(path);
            let leaf = leaf.split('[').next().unwrap_or(leaf);
            if !MAY_BE_NULL.contains(&leaf) && !MAY_BE_NULL.iter().any(|k| path.contains(k)) {
                out.push(path.to_string());
            }
        }
        serde_json::Value::Object(m) => {
            for (k, c) in m {
                nulls(c, &format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                nulls(c, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Numeric leaves as (path of keys/indices, value); lists only their first
/// element (the others are checked the same way).
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match v {
        Value::Table(t) => {
            for (k, c) in t {
                if path.is_empty() && (k == "layers" || k == "seed" || k == "landcover") {
                    continue;
                }
                path.push(k.clone());
                leaves(c, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            if let Some(c) = a.first() {
                path.push("[0]".into());
                leaves(c, path, out);
                path.pop();
            }
        }
        Value::Integer(_) | Value::Float(_) => out.push((path.clone(), v.clone())),
        _ => {}
    }
}

fn set(root: &mut Value, path: &[String], new: Value) {
    let mut v = root;
    for p in path {
        v = if p == "[0]" {
            &mut v.as_array_mut().unwrap()[0]
        } else {
            v.get_mut(p.as_str()).unwrap()
        };
    }
    *v = new;
}

fn pattern(path: &[String]) -> String {
    let mut s = String::new();
    for p in path {
        if p == "[0]" {
            s.push_str("[]");
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(p);
        }
    }
    s
}

fn bound(b: Bound) -> f64 {
    match b {
        Bound::Gt(a) | Bound::Ge(a) | Bound::Le(a) | Bound::Lt(a) => a,
    }
}

#[test]
fn every_numeric_setting_at_extremes_errors_by_name_or_runs_clean() {
    let d = tempfile::tempdir().unwrap();
    let land = d.path().join("land");
    synth_small(&land, "12,10");
    let base_out = d.path().join("base");
    run_ok(&land.join("landscape.toml"), &base_out);
    let text = std::fs::read_to_string(base_out.join("landscape.resolved.toml")).unwrap();
    let base: Value = toml::from_str(&text).unwrap();
    let mut found = Vec::new();
    leaves(&base, &mut Vec::new(), &mut found);
    assert!(found.len() >= 70, "{}", found.len());

    let mut cases: Vec<(Vec<String>, Value)> = Vec::new();
    for (path, v) in &found {
        let key = pattern(path);
        let spec = settings().find(|s| s.key == key);
        let mut vals: Vec<Value> = match v {
            Value::Integer(_) => [0, -1, 4_000_000_000, i64::MAX]
                .map(Value::Integer)
                .to_vec(),
            _ => [
                0.0,
                -1.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1e308,
                -1e308,
            ]
            .map(Value::Float)
            .to_vec(),
        };
        if let Some(s) = spec {
            for end in [bound(s.min), bound(s.max)] {
                // A 1 m grid of a 12 x 10 km landscape is a legitimate
                // 120-million-cell run: too long for a test, not a fault.
                if key == "grid.resolution_m" && end < 10.0 {
                    continue;
                }
                vals.push(match v {
                    Value::Integer(_) => Value::Integer(end as i64),
                    _ => Value::Float(end),
                });
            }
        }
        for nv in vals {
            cases.push((path.clone(), nv));
        }
    }

    let failures = Mutex::new(Vec::<String>::new());
    let slow = Mutex::new(Vec::<(f64, String)>::new());
    let ran = Mutex::new((0usize, 0usize));
    let next = Mutex::new(0usize);
    let bin = assert_cmd::cargo::cargo_bin("greenhalo");
    std::thread::scope(|s| {
        for w in 0..2 {
            let (cases, failures, ran, next, bin, land, dir, base, slow) = (
                &cases,
                &failures,
                &ran,
                &next,
                &bin,
                &land,
                d.path(),
                &base,
                &slow,
            );
            s.spawn(move || loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    *n += 1;
                    *n - 1
                };
                let Some((path, nv)) = cases.get(i) else {
                    break;
                };
                let mut doc = base.clone();
                set(&mut doc, path, nv.clone());
                let file: PathBuf = land.join(format!("case-{w}.toml"));
                std::fs::write(&file, toml::to_string(&doc).unwrap()).unwrap();
                let out = dir.join(format!("out-{w}"));
                let t0 = std::time::Instant::now();
                let o = assert_cmd::Command::new(bin)
                    .args(["-q", "run"])
                    .arg(&file)
                    .arg("-o")
                    .arg(&out)
                    .timeout(Duration::from_secs(120))
                    .output()
                    .unwrap();
                let what = format!("{} = {nv}", pattern(path));
                slow.lock()
                    .unwrap()
                    .push((t0.elapsed().as_secs_f64(), what.clone()));
                let err = String::from_utf8_lossy(&o.stderr);
                let leaf = path.iter().rev().find(|p| *p != "[0]").unwrap();
                match o.status.code() {
                    Some(0) => {
                        ran.lock().unwrap().0 += 1;
                        let s = summary(&out);
                        let mut n = Vec::new();
                        nulls(&s, "", &mut n);
                        if !n.is_empty() {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{what}: ran, but null figures {n:?}"));
                        }
                    }
                    Some(1) if err.contains(leaf.as_str()) => ran.lock().unwrap().1 += 1,
                    // A clear error about what the setting did to the data
                    // (a 10 km cell leaves no loss to calibrate on) also
                    // counts, when it says what to do.
                    Some(1) if err.contains("cannot be calibrated") => ran.lock().unwrap().1 += 1,
                    other => failures.lock().unwrap().push(format!(
                        "{what}: exit {other:?} (timeout or signal if None): {}",
                        err.trim()
                    )),
                }
                let _ = std::fs::remove_dir_all(&out);
            });
        }
    });
    let f = failures.into_inner().unwrap();
    let (ok, refused) = *ran.lock().unwrap();
    let mut slow = slow.into_inner().unwrap();
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = slow.iter().map(|s| s.0).sum();
    eprintln!(
        "{total:.0} s of runs; the slowest: {}",
        slow.iter()
            .take(8)
            .map(|(t, w)| format!("{w} ({t:.1} s)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    eprintln!(
        "{} cases: {ok} ran clean, {refused} refused by name",
        cases.len()
    );
    assert!(f.is_empty(), "{} failure(s):\n{}", f.len(), f.join("\n"));
    assert!(ok >= 50 && refused >= 300, "{ok} ran, {refused} refused");
}
