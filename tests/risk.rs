//! The risk model's forward check on a year-coded loss raster made by
//! `synth`: the observed loss it compares with is the analysis grid's own
//! (read back from the run's inputs/ rasters with GDAL), its coarse cells
//! add up to its totals, and its correlation is the one of its cells.

mod common;

fn read(path: &std::path::Path) -> (Vec<f32>, (usize, usize), [f64; 6]) {
    let ds = gdal::Dataset::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let band = ds.rasterband(1).unwrap();
    let (w, h) = band.size();
    let v = band.read_as::<f32>((0, 0), (w, h), (w, h), None).unwrap();
    (v.data().to_vec(), (w, h), ds.geo_transform().unwrap())
}

/// `greenhalo run TOML -o OUT`, which must succeed; its stderr (the
/// warnings).
fn run_stderr(toml: &std::path::Path, out: &std::path::Path) -> String {
    let run = common::greenhalo()
        .args(["run"])
        .arg(toml)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
    String::from_utf8_lossy(&run.get_output().stderr).to_string()
}

#[test]
fn the_forward_check_predicts_the_last_years_of_a_year_coded_raster() {
    let dir = tempfile::tempdir().unwrap();
    let toml = common::synth_small(&dir.path().join("ls"), "30,30");
    let out = dir.path().join("out");
    common::run_ok(&toml, &out);
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("risk_model.json")).unwrap())
            .unwrap();
    let v = &model["validation"];
    let f = &v["forward"];
    assert!(f.is_object(), "synth's loss raster is coded by year: {v}");

    // synth codes loss 1-23 (2001-2023, as Hansen's lossyear): the last 5
    // years are predicted from a fit on 2001-2018.
    let (loss, (w, h), gt) = read(&out.join("inputs/forest_loss.tif"));
    let (aoi, _, _) = read(&out.join("inputs/aoi_mask.tif"));
    let last = loss
        .iter()
        .filter(|v| v.is_finite() && **v >= 1.0)
        .fold(0f32, |a, b| a.max(*b));
    assert_eq!(last, 23.0);
    assert_eq!(f["fit_last_year"].as_u64(), Some(2018));
    assert_eq!(f["predicted_years"].as_u64(), Some(5));
    // Observed: every AOI cell lost after 2018, at its area.
    let cell_ha = gt[1] * gt[1] / 1e4;
    let late = (0..w * h)
        .filter(|&i| aoi[i] == 1.0 && loss[i].is_finite() && loss[i] > 18.0)
        .count();
    assert!(late > 50, "{late} cells lost in 2019-2023");
    let observed = f["observed_ha"].as_f64().unwrap();
    assert!(
        (observed - late as f64 * cell_ha).abs() < 1e-6,
        "{observed} vs {late} cells of {cell_ha} ha"
    );
    // The coarse cells add up and give the correlation.
    let cells: Vec<(f64, f64)> = f["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[2].as_f64().unwrap(), c[3].as_f64().unwrap()))
        .collect();
    assert_eq!(cells.len() as u64, f["coarse_cells"].as_u64().unwrap());
    let (sp, so): (f64, f64) = cells.iter().fold((0.0, 0.0), |a, c| (a.0 + c.0, a.1 + c.1));
    assert!((sp - f["predicted_ha"].as_f64().unwrap()).abs() < 1e-6);
    assert!((so - observed).abs() < 1e-6);
    let n = cells.len() as f64;
    let (mp, mo) = (sp / n, so / n);
    let cov: f64 = cells.iter().map(|c| (c.0 - mp) * (c.1 - mo)).sum();
    let vp: f64 = cells.iter().map(|c| (c.0 - mp).powi(2)).sum();
    let vo: f64 = cells.iter().map(|c| (c.1 - mo).powi(2)).sum();
    let r = cov / (vp * vo).sqrt();
    assert!((r - f["correlation"].as_f64().unwrap()).abs() < 1e-9);
    // On synth's loss, which follows the model's own drivers, the forecast
    // follows the observed loss place by place and within a quarter in
    // total.
    assert!(r > 0.8, "correlation {r}");
    let err = f["total_error"].as_f64().unwrap();
    assert!(err.abs() < 0.25, "total error {err}");
    // The block cross-validation ran, and the model beats the benchmark
    // on synth's loss (which depends on more than edge distance).
    assert!(v["auc_block_cv"].as_f64().unwrap() > v["benchmark_auc_block_cv"].as_f64().unwrap());
    assert!(model["warnings"].as_array().unwrap().is_empty());
}

/// A model under `risk.auc_floor` is a warning the run prints, and the
/// report's road section says the forest-loss figures rest on a weak model.
#[test]
fn a_weak_risk_model_is_a_warning_and_the_report_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let toml = common::synth_small(&dir.path().join("ls"), "30,30");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("\n[risk]\nauc_floor = 0.99\n");
    std::fs::write(&toml, text).unwrap();
    let out = dir.path().join("out");
    let stderr = run_stderr(&toml, &out);
    assert!(
        stderr.contains("below risk.auc_floor = 0.99") && stderr.contains("weak model"),
        "{stderr}"
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("The forest-loss figures below rest on a weak model"));
}

/// A landscape smaller than the cross-validation's folds of blocks keeps
/// its fitted model and says the check could not be made (it used to fail
/// the whole run).
#[test]
fn a_landscape_too_small_for_block_cross_validation_says_so_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let toml = common::synth_small(&dir.path().join("ls"), "8,6");
    let out = dir.path().join("out");
    let stderr = run_stderr(&toml, &out);
    assert!(
        stderr.contains("block cross-validation could not be made")
            && stderr.contains("fewer than risk.cv_folds = 5"),
        "{stderr}"
    );
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("risk_model.json")).unwrap())
            .unwrap();
    assert!(model["calibrated"].as_bool().unwrap());
    assert!(model["validation"].is_null());
    assert!(!out.join("risk_cv.csv").exists());
}
