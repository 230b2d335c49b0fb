//! A plan from an analyst's own layers (issue #34): the Rioja province
//! built from the real layers in ../shared/data/alto_mayo_real (AOI clipped
//! with ogr2ogr, MTC roads, capitals, SERNANP areas, SRTM DEM) and a land
//! cover made here, with no parcels and no forest raster; `init --from`
//! writes the landscape file, `validate` and `run` take it to a plan on
//! planning units, `roads` runs on the layers it needs. Checked against
//! GDAL/GEOS (not greenhalo's own geometry) where geometry is checked.

mod common;

use std::path::{Path, PathBuf};

use common::{greenhalo, real_data, summary};
use gdal::vector::LayerAccess;

/// The Rioja folder: the real layers, the AOI cut west of 77.05 W with
/// ogr2ogr, and a land cover (1 forest, 2 farmland, 3 water) over it in
/// EPSG:4326 at 0.002 degrees.
fn rioja(dir: &Path) -> Option<PathBuf> {
    let real = real_data()?;
    let layers = dir.join("layers");
    std::fs::create_dir_all(&layers).unwrap();
    for f in [
        "roads_departamental.geojson",
        "roads_vecinal.geojson",
        "provincial_capitals.geojson",
        "areas_conservacion.gpkg",
        "anp_nacional.gpkg",
        "dem_srtm_30s.tif",
    ] {
        std::fs::copy(real.join(f), layers.join(f)).unwrap();
    }
    let ok = std::process::Command::new("ogr2ogr")
        .args(["-f", "GeoJSON"])
        .arg(layers.join("aoi_rioja.geojson"))
        .arg(real.join("aoi.geojson"))
        .args(["-clipsrc", "-77.8", "-6.5", "-77.05", "-5.3"])
        .status()
        .expect("ogr2ogr (gdal-bin) runs")
        .success();
    assert!(ok, "ogr2ogr clipped the AOI");
    // Land cover: farmland in the Rioja valley and in patches, a river.
    let (w, h, res, x0, y0) = (400usize, 650usize, 0.002, -77.8, -5.3);
    let mut lc = vec![1u8; w * h];
    for r in 0..h {
        for c in 0..w {
            let lon = x0 + (c as f64 + 0.5) * res;
            let lat = y0 - (r as f64 + 0.5) * res;
            let valley = lat < -5.85 && lat > -6.2 && lon > -77.35;
            let patch = (lon * 60.0).sin() + (lat * 50.0).cos() > 1.2;
            if valley || patch {
                lc[r * w + c] = 2;
            }
            if (lat + 6.0 + 0.1 * (lon * 20.0).sin()).abs() < 0.002 {
                lc[r * w + c] = 3;
            }
        }
    }
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = drv
        .create_with_band_type::<u8, _>(layers.join("landcover.tif"), w, h, 1)
        .unwrap();
    ds.set_geo_transform(&[x0, res, 0.0, y0, 0.0, -res])
        .unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(4326).unwrap())
        .unwrap();
    {
        let mut band = ds.rasterband(1).unwrap();
        band.set_no_data_value(Some(0.0)).unwrap();
        let mut buf = gdal::raster::Buffer::new((w, h), lc);
        band.write((0, 0), (w, h), &mut buf).unwrap();
    }
    // Closing the dataset writes the file.
    drop(ds);
    Some(layers)
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn stdout_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

#[test]
fn rioja_from_its_own_layers_to_a_plan_on_planning_units() {
    let d = tempfile::tempdir().unwrap();
    let Some(layers) = rioja(d.path()) else {
        eprintln!("skipped: ../shared/data/alto_mayo_real is absent");
        return;
    };
    // init --from writes the file beside the layers.
    let a = greenhalo()
        .args(["init"])
        .arg(&layers)
        .arg("--from")
        .arg(&layers)
        .assert()
        .success();
    assert!(
        stderr_of(&a).contains("check each GUESS"),
        "{}",
        stderr_of(&a)
    );
    let toml = layers.join("landscape.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    for want in [
        "aoi = \"aoi_rioja.geojson\"",
        "{ path = \"roads_departamental.geojson\", set = { class = \"secondary\" } }",
        "{ path = \"roads_vecinal.geojson\", set = { class = \"tertiary\" } }",
        "markets = \"provincial_capitals.geojson\"",
        "conservation = \"areas_conservacion.gpkg\"",
        "elevation = \"dem_srtm_30s.tif\"",
        "landcover = \"landcover.tif\"",
        "name_field = \"TRAY_DS12\"",
        "name_field = \"CAPITAL\"",
        "category_field = \"tipo\"",
        "[parcels.planning_units]",
        "anp_nacional.gpkg also looks like conservation areas",
    ] {
        assert!(text.contains(want), "no '{want}' in:\n{text}");
    }
    assert!(
        !text.contains("\nparcels = "),
        "no parcels layer is guessed"
    );
    assert!(
        !text.contains("\nforest = \""),
        "no forest raster is guessed"
    );

    // validate: no error; a road-name field the layer lacks and funding
    // categories no area has are warnings naming what there is.
    let a = greenhalo()
        .arg("validate")
        .arg(&toml)
        .args(["--set", "roads.name_field=NOMBRE"])
        .args([
            "--set",
            "conservation_funding.sources[1].categories=[\"Parque Nacional\", \"BP\"]",
        ])
        .assert()
        .success();
    let out = stdout_of(&a);
    assert!(
        out.lines().any(|l| l.starts_with("warning:")
            && l.contains("roads_departamental.geojson")
            && l.contains("[roads] name_field = \"NOMBRE\" names no field")
            && l.contains("TRAY_DS12")),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("warning:")
            && l.contains("conservation_funding.sources[1] ('government_budget') categories [\"Parque Nacional\"]")
            && l.contains("'ACP', 'ACR', 'BP', 'ZR'")),
        "{out}"
    );

    // run: a plan on planning units.
    let out_dir = d.path().join("out");
    greenhalo()
        .args(["-q", "run"])
        .arg(&toml)
        .arg("-o")
        .arg(&out_dir)
        .assert()
        .success();
    let s = summary(&out_dir);
    let pu = &s["parcels"]["planning_units"];
    assert_eq!(pu["shape"], "hexagon");
    let units = pu["units"].as_u64().unwrap();
    assert!(units > 1000, "{pu}");
    assert_eq!(s["parcels"]["parcels"].as_u64(), Some(units));
    assert!(s["parcels"]["selected"].as_u64().unwrap() > 0);
    let report = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(report.contains("planning units, not farms"));
    assert!(report.contains("Farmland planning units"));
    let qgs = std::fs::read_to_string(out_dir.join("greenhalo.qgs")).unwrap();
    assert!(qgs.contains("Farmland transitions (planning units)"));

    // Roads outside the AOI: counted apart, none in roads.csv. Each
    // segment of roads.geojson lies at least half inside the AOI, measured
    // with GEOS through GDAL.
    let outside = &s["roads"]["outside_aoi"];
    assert!(outside["segments"].as_u64().unwrap() > 0, "{outside}");
    assert!(outside["km"].as_f64().unwrap() > 10.0, "{outside}");
    let rows = std::fs::read_to_string(out_dir.join("roads.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows as u64, s["roads"]["segments"].as_u64().unwrap());
    let aoi_ds = gdal::Dataset::open(layers.join("aoi_rioja.geojson")).unwrap();
    let mut aoi_layer = aoi_ds.layer(0).unwrap();
    let aoi = aoi_layer
        .features()
        .map(|f| f.geometry().unwrap().clone())
        .reduce(|a, b| a.union(&b).unwrap())
        .unwrap();
    let roads = gdal::Dataset::open(out_dir.join("roads.geojson")).unwrap();
    let mut rl = roads.layer(0).unwrap();
    let mut n = 0;
    for f in rl.features() {
        let g = f.geometry().unwrap();
        let len = g.length();
        let inside = g.intersection(&aoi).map(|i| i.length()).unwrap_or(0.0);
        assert!(
            inside >= 0.5 * len - 1e-9,
            "segment {:?}: {inside} of {len} inside the AOI",
            f.field_as_string(0).ok().flatten()
        );
        n += 1;
    }
    assert_eq!(n as u64, s["roads"]["segments"].as_u64().unwrap());
}

#[test]
fn roads_runs_on_only_the_layers_it_needs() {
    let d = tempfile::tempdir().unwrap();
    let Some(layers) = rioja(d.path()) else {
        eprintln!("skipped: ../shared/data/alto_mayo_real is absent");
        return;
    };
    // Only AOI, roads, markets, conservation, elevation and land cover.
    let toml = layers.join("roads.toml");
    std::fs::write(
        &toml,
        r#"
[layers]
aoi = "aoi_rioja.geojson"
roads = [
  { path = "roads_departamental.geojson", set = { class = "secondary" } },
  { path = "roads_vecinal.geojson", set = { class = "tertiary" } },
]
markets = "provincial_capitals.geojson"
conservation = "areas_conservacion.gpkg"
elevation = "dem_srtm_30s.tif"
landcover = "landcover.tif"

[grid]
resolution_m = 250.0

[roads]
name_field = "TRAY_DS12"

[markets]
name_field = "CAPITAL"

[conservation]
name_field = "nombre"
category_field = "tipo"
"#,
    )
    .unwrap();
    let out = d.path().join("roads_out");
    greenhalo()
        .args(["-q", "roads"])
        .arg(&toml)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let s = summary(&out);
    assert!(s["roads"]["segments"].as_u64().unwrap() > 100);
    assert!(out.join("roads.csv").exists());
    assert!(!out.join("parcels.geojson").exists());
}

/// A misspelt key, a missing layer key and an absent layer file: one
/// error lists them all, with the key meant.
#[test]
fn every_problem_of_the_file_in_one_error() {
    let d = tempfile::tempdir().unwrap();
    let src = common::root().join("data/sample");
    let text = std::fs::read_to_string(src.join("landscape.toml"))
        .unwrap()
        .replace("[layers]", "[layers]\nlandcovr = \"landcover.tif\"")
        .replace("class_field = \"clase\"", "class_field = \"klasse\"")
        + "\n[road_upgrades]\nbudget_usd = 5e6\n";
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("elevation ="))
        .map(|l| {
            if l.starts_with("forest_loss =") {
                "forest_loss = \"perdida.tif\"\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let toml = d.path().join("landscape.toml");
    std::fs::write(&toml, text).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() != "landscape.toml" {
            std::fs::copy(&p, d.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let a = greenhalo().arg("validate").arg(&toml).assert().code(2);
    let err = stderr_of(&a);
    // The layers' problems are listed beside the file's.
    let out = stdout_of(&a);
    assert!(
        out.lines().any(|l| l.starts_with("error:")
            && l.contains("roads.gpkg")
            && l.contains("field 'klasse': the field is missing")),
        "{out}"
    );
    for want in [
        "4 problem(s) in the landscape file",
        "road_upgrades.budget_usd = ",
        "unknown key (line ",
        "did you mean `road_budget_usd`?",
        "layers.landcovr = \"landcover.tif\": unknown key",
        "did you mean `landcover`?",
        "layers.elevation = (none): missing: `elevation` is required under [layers]",
        "layers.forest_loss = \"perdida.tif\": no such file",
    ] {
        assert!(err.contains(want), "no '{want}' in:\n{err}");
    }
    // run says the same, and writes nothing.
    let out = d.path().join("out");
    let a = greenhalo()
        .arg("run")
        .arg(&toml)
        .arg("-o")
        .arg(&out)
        .assert()
        .failure();
    assert!(stderr_of(&a).contains("did you mean `road_budget_usd`?"));
    assert!(!out.exists());
}

/// `--set section.key=value`: applied before validation, recorded; an
/// unknown key, a value of the wrong type or out of range named.
#[test]
fn set_changes_one_setting_for_one_run() {
    let d = tempfile::tempdir().unwrap();
    let sample = common::sample();
    let out = d.path().join("out");
    greenhalo()
        .args(["-q", "roads"])
        .arg(&sample)
        .arg("-o")
        .arg(&out)
        .args(["--set", "road_upgrades.road_budget_usd=4e6"])
        .assert()
        .success();
    let s = summary(&out);
    let cost = s["roads"]["portfolio"]["cost_usd"].as_f64().unwrap();
    assert!(cost <= 4e6 + 1.0 && cost > 0.0, "{cost}");
    let resolved = std::fs::read_to_string(out.join("landscape.resolved.toml")).unwrap();
    assert!(resolved.contains("# Changed for this run: --set road_upgrades.road_budget_usd=4e6"));
    assert!(
        resolved.contains("road_budget_usd = 4000000.0"),
        "{resolved}"
    );
    let log = std::fs::read_to_string(out.join("run_log.txt")).unwrap();
    assert!(
        log.contains("set road_upgrades.road_budget_usd=4e6"),
        "{log}"
    );

    let refuse = |set: &str, wants: &[&str]| {
        for cmd in ["validate", "run", "roads"] {
            let mut c = greenhalo();
            c.arg(cmd).arg(&sample);
            if cmd != "validate" {
                c.arg("-o").arg(d.path().join("refused"));
            }
            let a = c.args(["--set", set]).assert().failure();
            let err = stderr_of(&a);
            for w in wants {
                assert!(err.contains(w), "{cmd} --set {set}: no '{w}' in {err}");
            }
            assert!(!d.path().join("refused").exists());
        }
    };
    refuse(
        "road_upgrades.road_budget=4e6",
        &[
            "road_upgrades.road_budget = 4000000.0: unknown key (from --set)",
            "did you mean `road_budget_usd`?",
        ],
    );
    refuse(
        "economics.discount_rate=3",
        &[
            "economics.discount_rate = 3",
            "out of range: must be greater than -1 and at most 1",
        ],
    );
    refuse(
        "halo.distance_km=far",
        &["halo.distance_km = \"far\"", "invalid type", "(from --set)"],
    );
    refuse("economics", &["expected section.key=value"]);
}

/// `batch --set`: the same override for every landscape, recorded in each
/// landscape's run; an unknown key fails that landscape, naming the key.
#[test]
fn batch_takes_set_too() {
    let d = tempfile::tempdir().unwrap();
    let land = d.path().join("lands/sample");
    std::fs::create_dir_all(&land).unwrap();
    let src = common::root().join("data/sample");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, land.join(p.file_name().unwrap())).unwrap();
    }
    let out = d.path().join("batch");
    greenhalo()
        .args(["-q", "batch"])
        .arg(d.path().join("lands"))
        .arg("-o")
        .arg(&out)
        .args(["--set", "road_upgrades.road_budget_usd=4e6"])
        .assert()
        .success();
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("batch_summary.json")).unwrap())
            .unwrap();
    let row = rows["landscapes"][0].clone();
    assert_eq!(row["status"], "ok", "{row}");
    let one = PathBuf::from(row["out_dir"].as_str().unwrap());
    let s = summary(&one);
    let cost = s["roads"]["portfolio"]["cost_usd"].as_f64().unwrap();
    assert!(cost <= 4e6 + 1.0, "{cost}");
    let resolved = std::fs::read_to_string(one.join("landscape.resolved.toml")).unwrap();
    assert!(resolved.contains("--set road_upgrades.road_budget_usd=4e6"));
    // Unknown key: the landscape fails (exit 3), its error names the key.
    let out2 = d.path().join("batch2");
    greenhalo()
        .args(["-q", "batch"])
        .arg(d.path().join("lands"))
        .arg("-o")
        .arg(&out2)
        .args(["--set", "road_upgrades.road_budget=4e6"])
        .assert()
        .code(3);
    let table = std::fs::read_to_string(out2.join("batch_summary.csv")).unwrap();
    assert!(table.contains("did you mean `road_budget_usd`?"), "{table}");
}
