//! Data as GIS analysts hold it: every vector format and ring order gives
//! the same plan, clockwise (ESRI) polygons count, conservation areas larger
//! than the AOI are costed on their part inside it, and the real Alto Mayo
//! landscape gives a non-empty plan. Each test failed on the code before
//! ring orientation was made irrelevant.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use predicates::prelude::PredicateBooleanExt;
use serde_json::Value;

fn ogr2ogr(args: &[&str]) {
    let st = Command::new("ogr2ogr")
        .args(args)
        .status()
        .expect("ogr2ogr (gdal-bin) is installed by scripts/setup.sh");
    assert!(st.success(), "ogr2ogr {args:?}");
}

/// Reverse every ring of every polygon in a GeoJSON file (outer rings
/// clockwise, holes counter-clockwise: the opposite of RFC 7946).
fn flip_rings(path: &Path) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fn rev_polys(g: &mut Value) {
        let ty = g["type"].as_str().unwrap_or("").to_string();
        let coords = &mut g["coordinates"];
        let polys: Vec<&mut Value> = match ty.as_str() {
            "Polygon" => vec![coords],
            "MultiPolygon" => coords.as_array_mut().unwrap().iter_mut().collect(),
            _ => vec![],
        };
        for p in polys {
            for ring in p.as_array_mut().unwrap() {
                ring.as_array_mut().unwrap().reverse();
            }
        }
    }
    for f in v["features"].as_array_mut().unwrap() {
        rev_polys(&mut f["geometry"]);
    }
    std::fs::write(path, serde_json::to_string(&v).unwrap()).unwrap();
}

/// The sample with its five vector layers in `driver`'s format (extension
/// `ext`), reprojected to `srs`, rings flipped when asked.
fn sample_as(dir: &Path, driver: &str, ext: &str, srs: &str, flip: bool) -> PathBuf {
    let src = root().join("data/sample");
    for f in [
        "forest.tif",
        "dem.tif",
        "forest_loss.tif",
        "population.tif",
        "landcover.tif",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let layers = [
        ("aoi", "aoi.geojson", None),
        ("roads", "roads.gpkg", Some("red_vial")),
        ("markets", "markets.shp", None),
        ("parcels", "parcels.geojson", None),
        ("conservation", "conservation.fgb", None),
    ];
    let mut toml = std::fs::read_to_string(src.join("landscape.toml")).unwrap();
    for (name, file, layer) in layers {
        let out = dir.join(format!("{name}.{ext}"));
        let (o, s) = (out.to_str().unwrap(), src.join(file));
        let mut args = vec![
            "-f",
            driver,
            "-t_srs",
            srs,
            "-nln",
            name,
            o,
            s.to_str().unwrap(),
        ];
        if driver == "GeoJSON" {
            // Full precision, so formats differ only by ring order and encoding.
            args.extend(["-lco", "COORDINATE_PRECISION=15"]);
        }
        if let Some(l) = layer {
            args.push(l);
        }
        ogr2ogr(&args);
        if flip && ["aoi", "parcels", "conservation"].contains(&name) {
            flip_rings(&out);
        }
        let old = match layer {
            Some(l) => format!("{{ path = \"{file}\", layer = \"{l}\" }}"),
            None => format!("\"{file}\""),
        };
        assert!(toml.contains(&old), "{old}");
        toml = toml.replace(&old, &format!("\"{name}.{ext}\""));
    }
    let path = dir.join("landscape.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Every number of two JSON trees within `rel` relative; other values equal.
fn same_figures(a: &Value, b: &Value, path: &str, rel: f64, diffs: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                if [
                    "landscape_file",
                    "inputs_hash",
                    "layers_hash",
                    "layers",
                    "warnings",
                    "id",
                    "fid",
                    "segments",
                    // (segment ids, and sentences naming them)
                    "displaced",
                    "why",
                    "adds",
                    "drops",
                    "replaced_by",
                    "also_dropped",
                ]
                .contains(&k.as_str())
                {
                    continue;
                }
                match y.get(k) {
                    Some(vb) => same_figures(va, vb, &format!("{path}.{k}"), rel, diffs),
                    None => diffs.push(format!("{path}.{k} missing")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                same_figures(va, vb, &format!("{path}[{i}]"), rel, diffs);
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > rel * x.abs().max(y.abs()) + 1e-9 {
                diffs.push(format!("{path}: {x} vs {y}"));
            }
        }
        _ if a == b => {}
        _ => diffs.push(format!("{path}: {a} vs {b}")),
    }
}

fn selected_parcels(out: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(out.join("parcels.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let (id, sel) = (
        h.iter().position(|x| x == "id").unwrap(),
        h.iter().position(|x| x == "selected").unwrap(),
    );
    let mut v: Vec<String> = r
        .records()
        .map(|x| x.unwrap())
        .filter(|x| &x[sel] == "true")
        .map(|x| x[id].to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn every_vector_format_and_ring_order_gives_the_same_plan() {
    let base = tempfile::tempdir().unwrap();
    let variants = [
        ("geojson_flipped", "GeoJSON", "geojson", "EPSG:4326", true),
        (
            "shapefile_utm",
            "ESRI Shapefile",
            "shp",
            "EPSG:32718",
            false,
        ),
        ("geopackage", "GPKG", "gpkg", "EPSG:4326", false),
        ("flatgeobuf", "FlatGeobuf", "fgb", "EPSG:32718", false),
    ];
    let runs: Vec<(String, PathBuf)> = std::thread::scope(|s| {
        let hs: Vec<_> = variants
            .iter()
            .map(|(name, drv, ext, srs, flip)| {
                let d = base.path().join(name);
                std::fs::create_dir_all(&d).unwrap();
                s.spawn(move || {
                    let toml = sample_as(&d, drv, ext, srs, *flip);
                    let out = d.join("out");
                    run_ok(&toml, &out);
                    (name.to_string(), out)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Markets are listed in the source's order (a FlatGeobuf's spatial
    // index reorders features): compare them by name.
    let load = |p: &Path| -> Value {
        let mut v = summary(p);
        if let Some(m) = v["access"]["markets"].as_array_mut() {
            m.sort_by_key(|x| x["name"].as_str().unwrap_or("").to_string());
        }
        v
    };
    let reference = sample_run();
    let ref_sum = load(reference);
    let ref_sel = selected_parcels(reference);
    // Thousands of parcels, so a difference in any one shows.
    assert!(ref_sel.len() > 2500, "{} parcels selected", ref_sel.len());
    for (name, out) in &runs {
        let s = load(out);
        assert_eq!(
            selected_parcels(out),
            ref_sel,
            "{name}: selected parcels differ"
        );
        // Segment ids follow the source's feature ids (a GeoPackage counts
        // from 1, GeoJSON and Shapefile from 0): compare the portfolio by
        // size here and by its figures below.
        assert_eq!(
            s["roads"]["portfolio"]["segments"]
                .as_array()
                .map(|a| a.len()),
            ref_sum["roads"]["portfolio"]["segments"]
                .as_array()
                .map(|a| a.len()),
            "{name}: portfolio differs"
        );
        let mut diffs = Vec::new();
        same_figures(&ref_sum, &s, "", 1e-6, &mut diffs);
        assert!(
            diffs.is_empty(),
            "{name}: {} figures differ: {:?}",
            diffs.len(),
            &diffs[..diffs.len().min(8)]
        );
        // The regression: Shapefile rings gave NaN statistics, 0 parcels and
        // 0 ha of conservation forest.
        assert!(
            s["conservation"]["forest_ha"].as_f64().unwrap() > 50_000.0,
            "{name}"
        );
        assert!(s["parcels"]["selected"].as_u64().unwrap() > 2500, "{name}");
    }
}

fn write_cw_cases(dir: &Path, with_crs: bool) -> (PathBuf, PathBuf) {
    use greenhalo::io::raster::{write_geotiff, Placement};
    // 10 x 10 cells of 10 m, value = column index.
    let at = Placement {
        geo_transform: [X0, 10.0, 0.0, Y0, 0.0, -10.0],
        wkt: if with_crs {
            greenhalo::io::srs::parse("EPSG:32718")
                .unwrap()
                .to_wkt()
                .unwrap()
        } else {
            String::new()
        },
        width: 10,
        height: 10,
    };
    let vals: Vec<f32> = (0..100).map(|i| (i % 10) as f32).collect();
    let r = dir.join(if with_crs { "r.tif" } else { "r_nocrs.tif" });
    write_geotiff(&r, &at, &vals, None, "").unwrap();
    // Feature 1: a 40 m x 40 m square, clockwise (ESRI order). Feature 2:
    // the same square counter-clockwise with a clockwise 20 m x 20 m hole
    // (RFC 7946 order). Coordinates relative to the raster's corner.
    let p = |x: f64, y: f64| format!("[{}, {}]", X0 + x, Y0 - 100.0 + y);
    let cw = format!(
        "[[{}, {}, {}, {}, {}]]",
        p(10.0, 10.0),
        p(10.0, 50.0),
        p(50.0, 50.0),
        p(50.0, 10.0),
        p(10.0, 10.0)
    );
    let holed = format!(
        "[[{}, {}, {}, {}, {}], [{}, {}, {}, {}, {}]]",
        p(10.0, 10.0),
        p(50.0, 10.0),
        p(50.0, 50.0),
        p(10.0, 50.0),
        p(10.0, 10.0),
        p(20.0, 20.0),
        p(20.0, 40.0),
        p(40.0, 40.0),
        p(40.0, 20.0),
        p(20.0, 20.0)
    );
    let gj = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::32718"}}}},
        "features":[
        {{"type":"Feature","properties":{{"nombre":"Río Mayo, ESRI order","code":7}},"geometry":{{"type":"Polygon","coordinates":{cw}}}}},
        {{"type":"Feature","properties":{{"nombre":"with hole","code":8}},"geometry":{{"type":"Polygon","coordinates":{holed}}}}}]}}"#
    );
    let v = dir.join("polys.geojson");
    std::fs::write(&v, gj).unwrap();
    (r, v)
}

#[test]
fn zonal_stats_counts_clockwise_polygons_subtracts_clockwise_holes_and_keeps_attributes() {
    let d = tempfile::tempdir().unwrap();
    let (r, v) = write_cw_cases(d.path(), true);
    let out = d.path().join("z.csv");
    greenhalo()
        .args(["zonal-stats", "--stats", "count,sum,mean"])
        .arg("--polygons")
        .arg(&v)
        .arg("--raster")
        .arg(&r)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let mut rd = csv::Reader::from_path(&out).unwrap();
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        ["fid", "nombre", "code", "count", "sum", "mean"]
    );
    let rows: Vec<Vec<String>> = rd
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    // Attributes kept as they were (accents, commas, numbers).
    assert_eq!(rows[0][1..3], ["Río Mayo, ESRI order", "7"]);
    assert_eq!(rows[1][1..3], ["with hole", "8"]);
    // Clockwise square: 16 cells, columns 1-4 each 4 cells: sum 4*(1+2+3+4) = 40.
    assert_eq!(rows[0][3..], ["16.0", "40.0", "2.5"]);
    // Square minus the 2 x 2 hole (columns 2-3): 12 cells, sum 40 - 2*(2+3) = 30.
    assert_eq!(rows[1][3..], ["12.0", "30.0", "2.5"]);
}

#[test]
fn zonal_stats_refuses_a_raster_without_crs_unless_assumed() {
    let d = tempfile::tempdir().unwrap();
    let (r, v) = write_cw_cases(d.path(), false);
    let out = d.path().join("z.csv");
    let zonal = || {
        let mut c = greenhalo();
        c.arg("zonal-stats")
            .arg("--polygons")
            .arg(&v)
            .arg("--raster")
            .arg(&r)
            .arg("-o")
            .arg(&out);
        c
    };
    zonal().assert().failure().stderr(
        predicates::str::contains("r_nocrs.tif").and(predicates::str::contains("--assume-crs")),
    );
    assert!(!out.exists(), "nothing written on error");
    zonal()
        .args(["--assume-crs", "EPSG:32718", "--stats", "count"])
        .assert()
        .success();
    assert!(std::fs::read_to_string(&out).unwrap().contains(",16.0"));
}

#[test]
fn cost_distance_leaves_sources_on_impassable_cells_nodata_and_says_so() {
    use greenhalo::io::raster::{read_native, write_geotiff, Placement};
    let d = tempfile::tempdir().unwrap();
    let at = Placement {
        geo_transform: [X0, 10.0, 0.0, Y0, 0.0, -10.0],
        wkt: greenhalo::io::srs::parse("EPSG:32718")
            .unwrap()
            .to_wkt()
            .unwrap(),
        width: 5,
        height: 5,
    };
    let mut cost = vec![1f32; 25];
    cost[0] = -9999.0; // nodata, holds a source
    write_geotiff(&d.path().join("c.tif"), &at, &cost, Some(-9999.0), "").unwrap();
    let pts = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::32718"}}}},"features":[
        {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{}, {}]}}}},
        {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{}, {}]}}}},
        {{"type":"Feature","properties":{{}},"geometry":{{"type":"Point","coordinates":[{}, {}]}}}}]}}"#,
        X0 + 5.0,
        Y0 - 5.0,
        X0 + 45.0,
        Y0 - 45.0,
        X0 - 500.0,
        Y0 + 500.0
    );
    std::fs::write(d.path().join("s.geojson"), pts).unwrap();
    let out = d.path().join("a.tif");
    greenhalo()
        .arg("cost-distance")
        .arg("--cost")
        .arg(d.path().join("c.tif"))
        .arg("--sources")
        .arg(d.path().join("s.geojson"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains("1 source(s) lie outside").and(
            predicates::str::contains("1 source cell(s) lie on impassable"),
        ));
    let (_, acc, _) = read_native(&out, 1).unwrap();
    assert!(
        acc[0].is_nan(),
        "the source on nodata stays nodata, got {}",
        acc[0]
    );
    assert_eq!(acc[24], 0.0);
    // A cost raster without a CRS is blamed on the raster, not the sources.
    let bare = Placement {
        wkt: String::new(),
        ..at
    };
    write_geotiff(&d.path().join("bare.tif"), &bare, &cost, Some(-9999.0), "").unwrap();
    greenhalo()
        .arg("cost-distance")
        .arg("--cost")
        .arg(d.path().join("bare.tif"))
        .arg("--sources")
        .arg(d.path().join("s.geojson"))
        .arg("-o")
        .arg(d.path().join("b.tif"))
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "bare.tif: the raster has no coordinate reference system",
        ));
}

#[test]
fn real_alto_mayo_gives_a_plan_and_costs_reserves_on_their_part_inside_the_aoi() {
    // data/alto_mayo at 1 km cells (fast in a debug build).
    let d = tempfile::tempdir().unwrap();
    copy_dir(&root().join("data/alto_mayo"), d.path());
    // Every fifth parcel (5,000), as a Shapefile in ESRI ring order, so the
    // exact selection stays quick in a debug build.
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        std::fs::remove_file(d.path().join(format!("parcels.{ext}"))).unwrap();
    }
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-where",
        "FID % 5 = 0",
        "-lco",
        "ENCODING=UTF-8",
        d.path().join("parcels.shp").to_str().unwrap(),
        root().join("data/alto_mayo/parcels.shp").to_str().unwrap(),
    ]);
    let toml = d.path().join("landscape.toml");
    let t = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("resolution_m = 100.0", "resolution_m = 1000.0");
    std::fs::write(&toml, t).unwrap();
    let out = d.path().join("out");
    let s = run_ok(&toml, &out);
    assert!(
        s["parcels"]["selected"].as_u64().unwrap() > 1000,
        "{}",
        s["parcels"]
    );
    assert!(s["parcels"]["selected_km2"].as_f64().unwrap() > 100.0);
    assert!(s["conservation"]["forest_ha"].as_f64().unwrap() > 100_000.0);
    assert!(s["conservation"]["funded_share"].as_f64().unwrap() > 0.3);
    assert!(s["roads"]["segments"].as_u64().unwrap() > 100);
    assert!(!s["roads"]["portfolio"]["segments"]
        .as_array()
        .unwrap()
        .is_empty());
    // Cordillera Escalera: 1,499 km² legally, about 6 km² inside the AOI:
    // a sliver (0.4%) of an area managed from elsewhere, left out of the
    // funding and named; Vista Alegre-Omia, 489 km² legally and about 7.8
    // inside (1.6%), is funded on its part inside.
    let slivers = s["conservation"]["left_out_slivers"].as_array().unwrap();
    let ce = slivers
        .iter()
        .find(|x| x["name"] == "Cordillera Escalera")
        .expect("Cordillera Escalera");
    let (a, l) = (
        ce["area_km2"].as_f64().unwrap(),
        ce["legal_area_km2"].as_f64().unwrap(),
    );
    assert!((a - 6.26).abs() < 0.05, "in-AOI area {a}");
    assert!((l - 1498.7).abs() < 1.0, "legal area {l}");
    // Juningue, published as three polygons, is one area.
    let mut r = csv::Reader::from_path(out.join("conservation.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (name, area, legal, req) = (
        col("name"),
        col("area_km2"),
        col("legal_area_km2"),
        col("required_usd_per_year"),
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert!(rows.iter().all(|x| &x[name] != "Cordillera Escalera"));
    assert_eq!(rows.iter().filter(|x| &x[name] == "Juningue").count(), 1);
    let va = rows
        .iter()
        .find(|x| &x[name] == "Vista Alegre-Omia")
        .expect("Vista Alegre-Omia");
    let a: f64 = va[area].parse().unwrap();
    let l: f64 = va[legal].parse().unwrap();
    assert!(a > 5.0 && a < 12.0 && l > 400.0, "{a} of {l} km²");
    let cost: f64 = va[req].parse().unwrap();
    assert!(
        (cost - a * 800.0).abs() < 1.0,
        "charged on the part inside: {cost}"
    );
    // Areas wholly outside the AOI are left out, by name, in the warnings.
    assert!(rows.iter().all(|x| &x[name] != "Tilacancha"));
}

#[test]
fn run_refuses_to_write_over_its_inputs_or_a_folder_it_did_not_write() {
    let d = tempfile::tempdir().unwrap();
    let land = d.path().join("land");
    copy_dir(&root().join("data/sample"), &land);
    let before = snapshot(&land);
    let toml = land.join("landscape.toml");
    // -o the landscape's own folder, or its parent: refused, nothing touched.
    for out in [land.clone(), d.path().to_path_buf()] {
        greenhalo()
            .arg("-q")
            .arg("run")
            .arg(&toml)
            .arg("-o")
            .arg(&out)
            .assert()
            .failure()
            .stderr(predicates::str::contains("input of the landscape"));
    }
    assert_eq!(snapshot(&land), before, "inputs untouched");
    // A folder with someone's files in it: refused, the file stays.
    let thesis = d.path().join("thesis");
    std::fs::create_dir(&thesis).unwrap();
    std::fs::write(thesis.join("thesis.docx"), "years of work").unwrap();
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(&toml)
        .arg("-o")
        .arg(&thesis)
        .assert()
        .failure()
        .stderr(predicates::str::contains("not written by greenhalo"));
    assert_eq!(
        std::fs::read_to_string(thesis.join("thesis.docx")).unwrap(),
        "years of work"
    );
}
