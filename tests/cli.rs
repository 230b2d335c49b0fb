//! The command line end to end: init, validate, run, synth.

mod common;

use std::path::Path;

use common::*;
use geo::Translate;
use greenhalo::io::raster::{read_native, write_geotiff, Placement};
use greenhalo::io::{srs, vector};
use predicates::prelude::*;

#[test]
fn init_template_validates_once_its_paths_exist() {
    let d = tempfile::tempdir().unwrap();
    tiny_landscape(d.path());
    greenhalo().args(["init"]).arg(d.path()).assert().success();
    let toml = d.path().join("landscape.toml");
    greenhalo()
        .arg("validate")
        .arg(&toml)
        .assert()
        .success()
        .stderr(predicate::str::contains("0 error(s)"));
    // A second init refuses to overwrite.
    greenhalo()
        .args(["init"])
        .arg(d.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("--force"));
}

#[test]
fn sample_validates_and_runs_and_gdal_opens_every_output() {
    let out = sample_run();
    greenhalo().arg("validate").arg(sample()).assert().success();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["grid"]["crs"], "EPSG:32718");
    assert_eq!(summary["grid"]["resolution_m"], 100.0);
    assert!(summary["layers"]["parcels"]["count"].as_u64().unwrap() > 1000);
    assert!(
        summary["layers"]["roads"]["length_km_by_class"]["track"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let mut n = 0;
    let files = std::fs::read_dir(out.join("inputs"))
        .unwrap()
        .chain(std::fs::read_dir(out).unwrap())
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    for p in files {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        let tool = match ext {
            "tif" => "gdalinfo",
            "geojson" => "ogrinfo",
            _ => continue,
        };
        let mut cmd = std::process::Command::new(tool);
        if tool == "ogrinfo" {
            cmd.args(["-ro", "-so", "-al"]);
        }
        let o = cmd
            .arg(&p)
            .output()
            .expect("GDAL tools installed by scripts/setup.sh");
        assert!(
            o.status.success(),
            "{tool} {}: {}",
            p.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        if tool == "gdalinfo" {
            assert!(text.contains("COMPRESSION=DEFLATE"), "{}", p.display());
            assert!(text.contains("Block=256x256"), "{}", p.display());
            assert!(text.contains("UTM zone 18S"), "{}", p.display());
        } else {
            assert!(text.contains("WGS 84"), "{}", p.display());
        }
        n += 1;
    }
    // 12 aligned inputs plus travel time, nearest market, risk, halo (tif
    // and geojson), roads and parcels.
    assert!(n >= 19, "only {n} outputs");
}

#[test]
fn runs_are_byte_identical() {
    let d = tempfile::tempdir().unwrap();
    let a = sample_run();
    let b = d.path().join("b");
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(sample())
        .arg("-o")
        .arg(&b)
        .assert()
        .success();
    // (snapshot leaves out run_log.txt, which records when and how fast.)
    let (sa, sb) = (snapshot(a), snapshot(&b));
    assert!(b.join("run_log.txt").exists());
    assert_eq!(sa.len(), sb.len());
    for (x, y) in sa.iter().zip(&sb) {
        assert_eq!(x.0, y.0);
        assert!(x.1 == y.1, "{} differs between runs", x.0.display());
    }
    // The run log times every stage: wall and CPU seconds and the peak
    // memory by its end, which never falls; the halo, run beside access,
    // has no CPU time of its own.
    let log = std::fs::read_to_string(b.join("run_log.txt")).unwrap();
    let rows: Vec<Vec<&str>> = log
        .lines()
        .skip_while(|l| !l.starts_with("per stage:"))
        .skip(1)
        .take_while(|l| l.split_whitespace().count() == 4)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        names,
        [
            "inputs",
            "access",
            "risk",
            "halo",
            "roads",
            "parcels",
            "conservation",
            "finance+outputs",
            "total"
        ],
        "{log}"
    );
    let (mut last_peak, mut stage_cpu, mut stage_wall) = (0.0, 0.0, 0.0);
    for r in &rows[..8] {
        let wall: f64 = r[1].parse().unwrap();
        if r[0] == "halo" {
            assert_eq!((r[2], r[3]), ("-", "-"), "{log}");
            continue;
        }
        let (cpu, peak): (f64, f64) = (r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!(peak >= last_peak && peak > 10.0, "{log}");
        last_peak = peak;
        stage_cpu += cpu;
        stage_wall += wall;
    }
    // Each stage's CPU time is its own share (the differences add up to
    // at most the process's total, with the rounding of two decimals),
    // and the stages in sequence fill the run's wall time.
    let total: Vec<f64> = rows[8][1..].iter().map(|v| v.parse().unwrap()).collect();
    assert!(total[1] > 0.0 && stage_cpu <= total[1] + 0.1, "{log}");
    assert!(
        stage_wall <= total[0] + 0.1 && stage_wall >= 0.5 * total[0],
        "{log}"
    );
    assert!(total[2] >= last_peak, "{log}");
}

#[test]
fn synth_is_deterministic_for_a_seed() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    for dir in [&a, &b] {
        greenhalo()
            .args([
                "-q",
                "synth",
                "--seed",
                "3",
                "--size-km",
                "12,10",
                "--resolution",
                "200",
                "-o",
            ])
            .arg(dir)
            .assert()
            .success();
    }
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    assert!(sa.len() >= 10);
    for (x, y) in sa.iter().zip(&sb) {
        assert!(x.1 == y.1, "{} differs", x.0.display());
    }
    greenhalo()
        .arg("validate")
        .arg(a.join("landscape.toml"))
        .assert()
        .success();
}

#[test]
fn a_failed_run_leaves_the_existing_output_folder_as_it_was() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(sample())
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let before = snapshot(&out);
    let broken = d.path().join("broken");
    copy_dir(sample().parent().unwrap(), &broken);
    std::fs::remove_file(broken.join("dem.tif")).unwrap();
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(broken.join("landscape.toml"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("dem.tif"));
    assert_eq!(snapshot(&out), before);
    // Nothing left beside it either.
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
}

#[test]
fn a_bad_landscape_file_is_an_error_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("landscape.toml");
    std::fs::write(&f, "[layers]\naoi = 3\n").unwrap();
    greenhalo()
        .arg("validate")
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("landscape.toml").and(predicate::str::contains("path")));
    greenhalo()
        .arg("validate")
        .arg(d.path().join("nope.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nope.toml"));
}

fn edit(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

/// Plant at least 10 distinct problems in a copy of the sample; validate
/// must report each, naming the file (and field where there is one), and exit 2.
#[test]
fn validate_finds_every_planted_problem() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("bad");
    copy_dir(sample().parent().unwrap(), &dir);
    let toml = dir.join("landscape.toml");
    let utm = srs::parse("EPSG:32718").unwrap();

    // 1. A missing file.
    edit(
        &toml,
        "population = \"population.tif\"",
        "population = \"poblacion.tif\"",
    );
    // 2. A road class the mapping does not know.
    edit(&toml, "trocha = \"track\"\n", "");
    // 3. A configured field the layer lacks.
    edit(&toml, "id_field = \"parcela_id\"", "id_field = \"codigo\"");
    // 4 + 5. A parcel with an unknown use and one with a self-intersecting (bow-tie) ring.
    let pj = dir.join("parcels.geojson");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pj).unwrap()).unwrap();
    v["features"][3]["properties"]["uso"] = "palma_aceitera".into();
    v["features"][7]["geometry"]["coordinates"] = serde_json::json!([[
        [-77.0, -6.0],
        [-76.99, -5.99],
        [-76.99, -6.0],
        [-77.0, -5.99],
        [-77.0, -6.0]
    ]]);
    std::fs::write(&pj, v.to_string()).unwrap();
    // 6. Markets pointing at a polygon layer.
    std::fs::copy(dir.join("aoi.geojson"), dir.join("towns_poly.geojson")).unwrap();
    edit(
        &toml,
        "markets = \"markets.shp\"",
        "markets = \"towns_poly.geojson\"",
    );
    // 7. Conservation areas 500 km away from the AOI.
    let cons = vector::read(
        &dir.join("conservation.fgb"),
        None,
        &Default::default(),
        None,
    )
    .unwrap();
    let moved: Vec<_> = cons
        .features
        .iter()
        .map(|f| (f.geom.clone().unwrap().translate(500_000.0, 0.0), vec![]))
        .collect();
    vector::write_layer(
        &dir.join("far.fgb"),
        "FlatGeobuf",
        "far",
        &utm,
        &utm,
        &[],
        &moved,
    )
    .unwrap();
    edit(
        &toml,
        "conservation = \"conservation.fgb\"",
        "conservation = \"far.fgb\"",
    );
    // 8. Forest cover as a percentage.
    let (at, data, nd) = read_native(&dir.join("forest.tif"), 1).unwrap();
    let pct: Vec<f32> = data.iter().map(|v| (*v * 100.0) as f32).collect();
    write_geotiff(&dir.join("forest_pct.tif"), &at, &pct, nd, "").unwrap();
    edit(
        &toml,
        "forest = \"forest.tif\"",
        "forest = \"forest_pct.tif\"",
    );
    // 9. A DEM that covers only the western half.
    let (at, data, nd) = read_native(&dir.join("dem.tif"), 1).unwrap();
    let half = at.width / 2;
    let west: Vec<f32> = (0..at.height)
        .flat_map(|r| (0..half).map(move |c| (r, c)))
        .map(|(r, c)| data[r * at.width + c] as f32)
        .collect();
    write_geotiff(
        &dir.join("dem_west.tif"),
        &Placement { width: half, ..at },
        &west,
        nd,
        "",
    )
    .unwrap();
    edit(
        &toml,
        "elevation = \"dem.tif\"",
        "elevation = \"dem_west.tif\"",
    );
    // 10. A raster without a CRS.
    let (at, data, nd) = read_native(&dir.join("landcover.tif"), 1).unwrap();
    let lc: Vec<u8> = data.iter().map(|v| *v as u8).collect();
    write_geotiff(
        &dir.join("lc_nocrs.tif"),
        &Placement {
            wkt: String::new(),
            ..at
        },
        &lc,
        nd,
        "",
    )
    .unwrap();
    edit(
        &toml,
        "landcover = \"landcover.tif\"",
        "landcover = \"lc_nocrs.tif\"",
    );
    // 11. An empty layer among the road sources.
    std::fs::write(
        dir.join("empty.geojson"),
        r#"{"type":"FeatureCollection","features":[]}"#,
    )
    .unwrap();
    edit(
        &toml,
        "roads = { path = \"roads.gpkg\", layer = \"red_vial\" }",
        "roads = [{ path = \"roads.gpkg\", layer = \"red_vial\" }, \"empty.geojson\"]",
    );
    // 12. A band the raster does not have.
    edit(
        &toml,
        "forest_loss = \"forest_loss.tif\"",
        "forest_loss = { path = \"forest_loss.tif\", band = 2 }",
    );

    let o = greenhalo().arg("validate").arg(&toml).assert().code(2);
    let out = String::from_utf8_lossy(&o.get_output().stdout).into_owned();
    let has = |file: &str, needles: &[&str]| {
        let ok = out.lines().any(|l| {
            l.starts_with("error:") && l.contains(file) && needles.iter().all(|n| l.contains(n))
        });
        assert!(ok, "no error line for {file} with {needles:?} in:\n{out}");
    };
    has("poblacion.tif", &["does not exist"]);
    has(
        "roads.gpkg",
        &["layer 'red_vial'", "feature", "field 'clase'", "'trocha'"],
    );
    has("parcels.geojson", &["field 'codigo'", "missing"]);
    has(
        "parcels.geojson",
        &["feature", "field 'uso'", "'palma_aceitera'"],
    );
    has("parcels.geojson", &["feature", "invalid geometry"]);
    has("towns_poly.geojson", &["feature", "polygon", "points"]);
    has("far.fgb", &["no feature intersects the AOI"]);
    has("forest_pct.tif", &["outside 0..1", "percentage"]);
    has("dem_west.tif", &["covers only"]);
    has("lc_nocrs.tif", &["no CRS"]);
    has("empty.geojson", &["empty"]);
    has("forest_loss.tif", &["band 2"]);
    let errors = out.lines().filter(|l| l.starts_with("error:")).count();
    assert!(errors >= 12, "{errors} errors:\n{out}");
}

#[test]
fn synth_landscapes_of_many_seeds_and_sizes_validate() {
    let d = tempfile::tempdir().unwrap();
    for (seed, size, res) in [
        (1, "8,6", "250"),
        (2, "30,20", "500"),
        (11, "15,40", "400"),
        (99, "60,50", "1000"),
    ] {
        let dir = d.path().join(format!("s{seed}"));
        greenhalo()
            .args([
                "-q",
                "synth",
                "--seed",
                &seed.to_string(),
                "--size-km",
                size,
                "--resolution",
                res,
                "-o",
            ])
            .arg(&dir)
            .assert()
            .success();
        greenhalo()
            .arg("validate")
            .arg(dir.join("landscape.toml"))
            .assert()
            .success();
    }
}

#[test]
fn cost_distance_tool_matches_hand_values_and_marks_nodata() {
    let d = tempfile::tempdir().unwrap();
    let utm = srs::parse("EPSG:32718").unwrap();
    // 5x5 cells of 10 m, cost 2 per metre; the top-right cell is nodata.
    let at = Placement {
        geo_transform: [500_000.0, 10.0, 0.0, 9_000_050.0, 0.0, -10.0],
        wkt: utm.to_wkt().unwrap(),
        width: 5,
        height: 5,
    };
    let mut cost = vec![2f32; 25];
    cost[4] = -9999.0;
    write_geotiff(&d.path().join("cost.tif"), &at, &cost, Some(-9999.0), "").unwrap();
    // The source point sits in the centre cell, given in lon/lat.
    let wgs = srs::wgs84();
    let ct = srs::transform(&utm, &wgs).unwrap();
    let (mut x, mut y, mut z) = ([500_025.0], [9_000_025.0], [0.0]);
    ct.transform_coords(&mut x, &mut y, &mut z).unwrap();
    vector::write_layer(
        &d.path().join("src.geojson"),
        "GeoJSON",
        "src",
        &wgs,
        &wgs,
        &[],
        &[(geo::Geometry::Point(geo::Point::new(x[0], y[0])), vec![])],
    )
    .unwrap();
    let out = d.path().join("acc.tif");
    greenhalo()
        .arg("cost-distance")
        .arg("--cost")
        .arg(d.path().join("cost.tif"))
        .arg("--sources")
        .arg(d.path().join("src.geojson"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let (_, acc, nd) = read_native(&out, 1).unwrap();
    assert!(nd.unwrap().is_nan());
    let s = std::f64::consts::SQRT_2;
    // Straight step: 2 * 10 m = 20; diagonal 2 * 14.142 = 28.28.
    assert!((acc[12] - 0.0).abs() < 1e-4);
    assert!((acc[13] - 20.0).abs() < 1e-4);
    assert!((acc[14] - 40.0).abs() < 1e-4);
    assert!((acc[18] - 20.0 * s).abs() < 1e-4);
    assert!((acc[0] - 40.0 * s).abs() < 1e-4);
    assert!((acc[3] - (20.0 * s + 20.0)).abs() < 1e-4);
    assert!(acc[4].is_nan(), "nodata cell stays nodata");
    // A source off the raster is a clear error.
    vector::write_layer(
        &d.path().join("far.geojson"),
        "GeoJSON",
        "far",
        &wgs,
        &wgs,
        &[],
        &[(geo::Geometry::Point(geo::Point::new(10.0, 50.0)), vec![])],
    )
    .unwrap();
    greenhalo()
        .arg("cost-distance")
        .arg("--cost")
        .arg(d.path().join("cost.tif"))
        .arg("--sources")
        .arg(d.path().join("far.geojson"))
        .arg("-o")
        .arg(d.path().join("far.tif"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("far.geojson").and(predicate::str::contains("no source")));
    assert!(!d.path().join("far.tif").exists());
}

#[test]
fn run_writes_travel_time_and_nearest_market() {
    let out = sample_run();
    let (at, tt, _) = read_native(&out.join("travel_time.tif"), 1).unwrap();
    let (_, nm, nd) = read_native(&out.join("nearest_market.tif"), 1).unwrap();
    assert_eq!(nd, Some(-1.0));
    assert_eq!(tt.len(), at.width * at.height);
    // Market cells are at 0 minutes and are their own nearest market.
    let zeros: Vec<usize> = (0..tt.len()).filter(|i| tt[*i] == 0.0).collect();
    assert!(zeros.len() >= 4, "{}", zeros.len());
    for i in zeros {
        assert!(nm[i] >= 0.0);
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let p50 = s["access"]["travel_time_min"]["p50"].as_f64().unwrap();
    assert!(p50 > 10.0 && p50 < 2_000.0, "{p50}");
}

#[test]
fn risk_is_fitted_on_the_sample_and_defaults_are_flagged_without_loss() {
    let d = tempfile::tempdir().unwrap();
    let out = sample_run();
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("risk_model.json")).unwrap())
            .unwrap();
    assert_eq!(m["calibrated"], true);
    let auc = m["auc_holdout"].as_f64().unwrap();
    assert!(auc > 0.75, "held-out AUC {auc}");
    let travel = m["table"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ln_travel_time_min")
        .unwrap();
    assert!(
        travel["estimate"].as_f64().unwrap() < 0.0,
        "more remote must mean less loss: {travel}"
    );
    let (_, p, _) = read_native(&out.join("deforestation_risk.tif"), 1).unwrap();
    assert!(p
        .iter()
        .filter(|v| !v.is_nan())
        .all(|v| (0.0..=1.0).contains(v)));

    // The same landscape without its loss raster: default coefficients, flagged.
    let dir = d.path().join("noloss");
    copy_dir(sample().parent().unwrap(), &dir);
    edit(
        &dir.join("landscape.toml"),
        "forest_loss = \"forest_loss.tif\"\n",
        "",
    );
    let out2 = d.path().join("out2");
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(dir.join("landscape.toml"))
        .arg("-o")
        .arg(&out2)
        .assert()
        .success();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["risk"]["calibrated"], false);
    assert!(s["risk"]["note"]
        .as_str()
        .unwrap()
        .contains("not calibrated"));
}

#[test]
fn a_loss_raster_without_loss_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("zero");
    copy_dir(sample().parent().unwrap(), &dir);
    let (at, data, nd) = read_native(&dir.join("forest_loss.tif"), 1).unwrap();
    let zero: Vec<u8> = data
        .iter()
        .map(|v| if Some(*v) == nd { 255 } else { 0 })
        .collect();
    write_geotiff(&dir.join("forest_loss.tif"), &at, &zero, nd, "").unwrap();
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(dir.join("landscape.toml"))
        .arg("-o")
        .arg(d.path().join("out"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no loss"));
    assert!(!d.path().join("out").exists());
}

/// A 4x2 grid of 10 m cells in UTM 18S, and in `dir/p.gpkg` one rectangle
/// over the top row's first two cells and half the third (2.5 cells).
fn four_by_two_with_a_rectangle(dir: &Path) -> Placement {
    let utm = srs::parse("EPSG:32718").unwrap();
    let rect = geo::Polygon::new(
        geo::LineString::from(vec![
            (500_000.0, 9_000_010.0),
            (500_025.0, 9_000_010.0),
            (500_025.0, 9_000_020.0),
            (500_000.0, 9_000_020.0),
            (500_000.0, 9_000_010.0),
        ]),
        vec![],
    );
    vector::write_layer(
        &dir.join("p.gpkg"),
        "GPKG",
        "p",
        &utm,
        &utm,
        &[],
        &[(geo::Geometry::Polygon(rect), vec![])],
    )
    .unwrap();
    Placement {
        geo_transform: [500_000.0, 10.0, 0.0, 9_000_020.0, 0.0, -10.0],
        wkt: utm.to_wkt().unwrap(),
        width: 4,
        height: 2,
    }
}

#[test]
fn zonal_stats_tool_weights_cells_by_exact_coverage() {
    let d = tempfile::tempdir().unwrap();
    let at = four_by_two_with_a_rectangle(d.path());
    // Values 1 2 3 4 / 5 6 7 8.
    write_geotiff(
        &d.path().join("v.tif"),
        &at,
        &[1f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        None,
        "",
    )
    .unwrap();
    let out = d.path().join("z.csv");
    greenhalo()
        .args([
            "zonal-stats",
            "--stats",
            "mean,sum,count,min,max,majority",
            "--polygons",
        ])
        .arg(d.path().join("p.gpkg"))
        .arg("--raster")
        .arg(d.path().join("v.tif"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let row: Vec<f64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    // count 2.5; sum 1 + 2 + 0.5 * 3 = 4.5; mean 1.8; min 1, max 3; majority: 1 and 2 tie at 1.0,
    // the larger wins (as exactextract breaks ties).
    assert_eq!(row[1..], [1.8, 4.5, 2.5, 1.0, 3.0, 2.0]);
}

/// frac and the weighted statistics on the same 4x2 grid, by hand: a
/// rectangle over the top row's first two cells and half the third, values
/// 1 1 3 4 (classes) and weights 2 4 5 1.
#[test]
fn zonal_stats_frac_and_weighted_statistics_by_hand() {
    let d = tempfile::tempdir().unwrap();
    let at = four_by_two_with_a_rectangle(d.path());
    let put = |name: &str, v: &[f64]| {
        write_geotiff(&d.path().join(name), &at, v, None, "").unwrap();
    };
    put("v.tif", &[1.0, 1.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    put("w.tif", &[2.0, 4.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let out = d.path().join("z.csv");
    let run = |stats: &str, weights: Option<&str>| {
        let mut c = greenhalo();
        c.args(["zonal-stats", "--stats", stats, "--polygons"])
            .arg(d.path().join("p.gpkg"))
            .arg("--raster")
            .arg(d.path().join("v.tif"))
            .arg("-o")
            .arg(&out);
        if let Some(w) = weights {
            c.arg("--weights").arg(d.path().join(w));
        }
        c.assert()
    };
    run(
        "frac,weighted_mean,weighted_sum,weighted_frac",
        Some("w.tif"),
    )
    .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "fid,frac_1,frac_3,weighted_mean,weighted_sum,weighted_frac_1,weighted_frac_3"
    );
    let row: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    // Covered: 1 (f 1, w 2), 1 (f 1, w 4), 3 (f 0.5, w 5); count 2.5.
    // frac: 1 covers 2 of 2.5, 3 covers 0.5. Weighted: Σ f·w = 2 + 4 + 2.5
    // = 8.5; Σ f·w·v = 2 + 4 + 7.5 = 13.5; shares 6/8.5 and 2.5/8.5.
    assert_eq!(row[1..], [0.8, 0.2, 13.5 / 8.5, 13.5, 6.0 / 8.5, 2.5 / 8.5]);
    // Weighted statistics need the weights, on the same grid.
    run("weighted_mean", None)
        .failure()
        .stderr(predicate::str::contains("--weights"));
    let other = Placement {
        geo_transform: [500_000.0, 10.0, 0.0, 9_000_030.0, 0.0, -10.0],
        ..at.clone()
    };
    write_geotiff(
        &d.path().join("w_other_grid.tif"),
        &other,
        &[1.0f64; 8],
        None,
        "",
    )
    .unwrap();
    run("weighted_mean", Some("w_other_grid.tif"))
        .failure()
        .stderr(
            predicate::str::contains("w_other_grid.tif").and(predicate::str::contains("same grid")),
        );
}

#[test]
fn run_selects_parcels_with_phases_and_instruments() {
    let out = sample_run();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let p = &s["parcels"];
    assert!(p["investment_usd"].as_f64().unwrap() <= 50_000_000.0);
    assert!(p["selected_km2"].as_f64().unwrap() > 0.0);
    assert!(p["earnings_multiple_max"].as_f64().unwrap() > 1.0);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("parcels.geojson")).unwrap())
            .unwrap();
    let sel: Vec<_> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["selected"] == true)
        .collect();
    assert!(sel
        .iter()
        .all(|f| f["properties"]["phase"].as_u64().is_some()
            && f["properties"]["instrument"].is_string()));
    assert!(out.join("parcels.csv").exists() && out.join("parcels.qml").exists());

    // Conservation funding: no source over its money, no area over its cost.
    let c = &s["conservation"];
    for src in c["sources"].as_array().unwrap() {
        assert!(
            src["allocated_usd_per_year"].as_f64().unwrap()
                <= src["available_usd_per_year"].as_f64().unwrap() + 1e-6
        );
    }
    let share = c["funded_share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("conservation.geojson")).unwrap())
            .unwrap();
    for f in v["features"].as_array().unwrap() {
        let p = &f["properties"];
        assert!(
            p["allocated_usd_per_year"].as_f64().unwrap()
                <= p["required_usd_per_year"].as_f64().unwrap() + 1e-6
        );
        assert!(p["gap_usd_per_year"].as_f64().unwrap() >= 0.0);
    }
    assert!(out.join("conservation.csv").exists() && out.join("conservation.qml").exists());

    // Finance: each phase's capital stack adds up, and the private share
    // meets its target or says why not; the Monte Carlo median sits near
    // the deterministic run (runs_are_byte_identical covers the seed).
    let f = &s["finance"];
    for ph in f["capital_stack"].as_array().unwrap() {
        let parts: f64 = [
            "philanthropic_usd",
            "public_usd",
            "concessional_usd",
            "private_usd",
        ]
        .iter()
        .map(|k| ph[*k].as_f64().unwrap())
        .sum();
        let total = ph["investment_usd"].as_f64().unwrap();
        assert!((parts - total).abs() <= 0.05 + 1e-9 * total, "{ph}");
        let met = ph["target_met"].as_bool().unwrap();
        let share = ph["private_share"].as_f64().unwrap();
        let target = ph["target_private_share"].as_f64().unwrap();
        assert!(met == (share + 1e-6 >= target), "{ph}");
        if !met {
            assert!(ph["note"].as_str().unwrap().contains("against a"), "{ph}");
        }
        // A guarantee only ever adds commercial money.
        let without = ph["private_share_without_guarantee"].as_f64().unwrap();
        let unlimited = ph["private_share_unlimited_support"].as_f64().unwrap();
        assert!(without <= share + 1e-9 && share <= unlimited + 1e-9, "{ph}");
    }
    let det = f["return_multiple"].as_f64().unwrap();
    let p50 = f["monte_carlo"]["return_multiple_p50"].as_f64().unwrap();
    assert!(
        (p50 - det).abs() <= 0.05 * det,
        "P50 {p50} vs deterministic {det}"
    );
    let p10 = f["monte_carlo"]["return_multiple_p10"].as_f64().unwrap();
    let p90 = f["monte_carlo"]["return_multiple_p90"].as_f64().unwrap();
    assert!(p10 < p50 && p50 < p90);
    assert!(out.join("finance_cashflows.csv").exists() && out.join("capital_stack.csv").exists());
}

/// A funding source no area may use is said on the terminal and in the run
/// log, not only inside summary.json.
#[test]
fn a_funding_source_no_area_may_use_is_a_warning_on_the_terminal() {
    let d = tempfile::tempdir().unwrap();
    let land = d.path().join("land");
    copy_dir(sample().parent().unwrap(), &land);
    let toml = land.join("landscape.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(
        "\n[[conservation_funding.sources]]\nname = \"nowhere_fund\"\nusd_per_year = 1000.0\nyears = 20\neligibility = \"categories\"\ncategories = [\"No Such Category\"]\ncapital = \"public\"\n",
    );
    std::fs::write(&toml, text).unwrap();
    let out = d.path().join("out");
    let a = greenhalo()
        .arg("run")
        .arg(&toml)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("funding source 'nowhere_fund' is eligible for no conservation area"),
        "{err}"
    );
    let log = std::fs::read_to_string(out.join("run_log.txt")).unwrap();
    assert!(
        log.contains("'nowhere_fund' is eligible for no conservation area"),
        "{log}"
    );
}

/// `--progress-lines` (what the QGIS plugin reads): with stderr a pipe,
/// every stage says `progress<TAB>step<TAB>done<TAB>total` with whole
/// numbers, done never above a known total, the stages in the pipeline's
/// order; the run's figures are those of a run without it, and `--quiet`
/// still silences it.
#[test]
fn progress_lines_say_each_step_with_counts_on_a_pipe() {
    let d = tempfile::tempdir().unwrap();
    let land = synth_small(&d.path().join("land"), "12,10");
    let o = greenhalo()
        .args(["--progress-lines", "run"])
        .arg(&land)
        .arg("-o")
        .arg(d.path().join("a"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let mut steps: Vec<String> = Vec::new();
    for line in err.lines().filter(|l| l.starts_with("progress\t")) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{line:?}");
        let (done, total): (u64, u64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        assert!(total == 0 || done <= total, "{line:?}");
        if steps.last().map(|s| s.as_str()) != Some(f[1]) {
            steps.push(f[1].to_string());
        }
    }
    for want in [
        "loading layers",
        "accessibility",
        "deforestation risk",
        "road segments",
        "writing outputs",
    ] {
        assert!(steps.iter().any(|s| s == want), "{want} not in {steps:?}");
    }
    let pos = |s: &str| steps.iter().position(|x| x == s).unwrap();
    assert!(pos("loading layers") < pos("road segments"));
    assert!(pos("road segments") < pos("writing outputs"));
    // The same plan as a run without it.
    run_ok(&land, &d.path().join("b"));
    let (a, b) = (summary(&d.path().join("a")), summary(&d.path().join("b")));
    assert_eq!(a["finance"], b["finance"]);
    assert_eq!(
        a["roads"]["portfolio"]["segments"],
        b["roads"]["portfolio"]["segments"]
    );
    // --quiet wins.
    let o = greenhalo()
        .args(["-q", "--progress-lines", "run"])
        .arg(&land)
        .arg("-o")
        .arg(d.path().join("c"))
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("progress\t"));
}

/// The self-check that makes a silent zero impossible: a polygon whose
/// ring crosses itself (a bowtie, whose shoelace area nets its lobes out
/// and whose cells the coverage drops) is an error naming its feature, not
/// a count of 0; nothing is written. A valid polygon beside it alone runs.
#[test]
fn zonal_stats_refuses_a_bowtie_by_name_instead_of_a_silent_zero() {
    let d = tempfile::tempdir().unwrap();
    let utm = srs::parse("EPSG:32718").unwrap();
    let at = Placement {
        geo_transform: [500_000.0, 10.0, 0.0, 9_000_100.0, 0.0, -10.0],
        wkt: utm.to_wkt().unwrap(),
        width: 10,
        height: 10,
    };
    write_geotiff(&d.path().join("v.tif"), &at, &[1f32; 100], None, "").unwrap();
    let ring = |pts: &[(f64, f64)]| {
        geo::Polygon::new(
            geo::LineString::from(
                pts.iter()
                    .map(|(x, y)| (500_000.0 + x, 9_000_000.0 + y))
                    .collect::<Vec<_>>(),
            ),
            vec![],
        )
    };
    let square = ring(&[
        (5.0, 5.0),
        (45.0, 5.0),
        (45.0, 45.0),
        (5.0, 45.0),
        (5.0, 5.0),
    ]);
    let bowtie = ring(&[
        (10.0, 10.0),
        (50.0, 50.0),
        (50.0, 10.0),
        (10.0, 50.0),
        (10.0, 10.0),
    ]);
    let write = |name: &str, polys: Vec<geo::Polygon<f64>>| {
        let feats: Vec<(geo::Geometry<f64>, Vec<vector::OutValue>)> = polys
            .into_iter()
            .map(|p| (geo::Geometry::Polygon(p), vec![]))
            .collect();
        vector::write_layer(
            &d.path().join(name),
            "GeoJSON",
            "p",
            &utm,
            &utm,
            &[],
            &feats,
        )
        .unwrap();
    };
    write("ok.geojson", vec![square.clone()]);
    write("bad.geojson", vec![square, bowtie]);
    let run = |polys: &str, out: &str| {
        greenhalo()
            .args(["-q", "zonal-stats", "--polygons"])
            .arg(d.path().join(polys))
            .arg("--raster")
            .arg(d.path().join("v.tif"))
            .arg("-o")
            .arg(d.path().join(out))
            .assert()
    };
    run("ok.geojson", "ok.csv").success();
    let text = std::fs::read_to_string(d.path().join("ok.csv")).unwrap();
    // (count: 16 cells' worth, to the lon/lat round trip of GeoJSON)
    let count: f64 = text
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!((count - 16.0).abs() < 0.01, "{text}");
    run("bad.geojson", "bad.csv").failure().stderr(
        predicates::str::contains("bad.geojson")
            .and(predicates::str::contains("feature 1"))
            .and(predicates::str::contains("cross themselves")),
    );
    assert!(!d.path().join("bad.csv").exists());
}
