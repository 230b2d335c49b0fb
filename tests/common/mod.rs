//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use geo::{coord, LineString, Point, Polygon};
use greenhalo::io::raster::{write_geotiff, Placement};
use greenhalo::io::srs;
use greenhalo::io::vector::{write_layer, FieldKind, OutValue};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample() -> PathBuf {
    root().join("data/sample/landscape.toml")
}

pub fn real_data() -> Option<PathBuf> {
    let p = root().join("../shared/data/alto_mayo_real");
    p.join("aoi.geojson").exists().then_some(p)
}

/// One `greenhalo run` of the sample per test binary, shared by the tests
/// that only read its outputs (each test binary runs it once).
pub fn sample_run() -> &'static Path {
    static OUT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    OUT.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sample-run-{}", env!("CARGO_CRATE_NAME")));
        let _ = std::fs::remove_dir_all(&dir);
        run_ok(&sample(), &dir);
        dir
    })
}

/// `greenhalo -q run TOML -o OUT`, which must succeed; returns its
/// summary.json.
pub fn run_ok(toml: &Path, out: &Path) -> serde_json::Value {
    greenhalo()
        .arg("-q")
        .arg("run")
        .arg(toml)
        .arg("-o")
        .arg(out)
        .assert()
        .success();
    summary(out)
}

/// The summary.json of an output folder.
pub fn summary(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// `greenhalo synth` of a small landscape (`size_km` "W,H", 200 m cells)
/// into `dir`; returns its landscape file.
pub fn synth_small(dir: &Path, size_km: &str) -> PathBuf {
    greenhalo()
        .args([
            "-q",
            "synth",
            "--size-km",
            size_km,
            "--resolution",
            "200",
            "-o",
        ])
        .arg(dir)
        .assert()
        .success();
    dir.join("landscape.toml")
}

/// A batch folder's `batch_summary{tag}.json`.
pub fn batch_table(out: &Path, tag: &str) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(out.join(format!("batch_summary{tag}.json"))).unwrap(),
    )
    .unwrap()
}

/// The binary, its run date fixed by `SOURCE_DATE_EPOCH` (the report shows
/// when a run started; two runs compared byte for byte need the same).
pub fn greenhalo() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("greenhalo").expect("binary built");
    c.env("SOURCE_DATE_EPOCH", "1780000000");
    c
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes, sorted by path; a run's
/// `run_log.txt` (start time, seconds per stage: meant to differ between
/// runs) is left out.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(base, &p, out);
            } else if p.file_name().is_some_and(|n| n == "run_log.txt") {
                continue;
            } else {
                out.push((
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

pub const X0: f64 = 300_000.0;
pub const Y0: f64 = 9_300_000.0;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Polygon::new(
        LineString(vec![
            coord! {x: x0, y: y0},
            coord! {x: x1, y: y0},
            coord! {x: x1, y: y1},
            coord! {x: x0, y: y1},
            coord! {x: x0, y: y0},
        ]),
        vec![],
    )
}

/// A tiny 10 x 8 km landscape in UTM 18S whose files and field names are the
/// ones `greenhalo init`'s template names, so the template validates as is.
pub fn tiny_landscape(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let utm = srs::parse("EPSG:32718").unwrap();
    let wgs = srs::wgs84();
    let (w, h) = (10_000.0, 8_000.0);
    write_layer(
        &dir.join("aoi.geojson"),
        "GeoJSON",
        "aoi",
        &utm,
        &wgs,
        &[("name", FieldKind::Str)],
        &[(
            geo::Geometry::Polygon(rect(X0, Y0, X0 + w, Y0 + h)),
            vec![OutValue::Str("tiny".into())],
        )],
    )
    .unwrap();
    let line = |pts: &[(f64, f64)]| {
        geo::Geometry::LineString(LineString(
            pts.iter()
                .map(|(x, y)| coord! {x: X0 + x, y: Y0 + y})
                .collect(),
        ))
    };
    write_layer(
        &dir.join("roads.gpkg"),
        "GPKG",
        "roads",
        &utm,
        &wgs,
        &[
            ("class", FieldKind::Str),
            ("surface", FieldKind::Str),
            ("aadt", FieldKind::Int),
        ],
        &[
            (
                line(&[(0.0, 2_000.0), (10_000.0, 2_000.0)]),
                vec![
                    OutValue::Str("primary".into()),
                    OutValue::Str("paved".into()),
                    OutValue::Int(3000),
                ],
            ),
            (
                line(&[(5_000.0, 2_000.0), (5_000.0, 6_500.0)]),
                vec![
                    OutValue::Str("track".into()),
                    OutValue::Null,
                    OutValue::Null,
                ],
            ),
        ],
    )
    .unwrap();
    write_layer(
        &dir.join("markets.shp"),
        "ESRI Shapefile",
        "markets",
        &utm,
        &wgs,
        &[("name", FieldKind::Str), ("population", FieldKind::Int)],
        &[(
            geo::Geometry::Point(Point::new(X0 + 1_000.0, Y0 + 2_000.0)),
            vec![OutValue::Str("Pueblo Ñuño".into()), OutValue::Int(5000)],
        )],
    )
    .unwrap();
    let parcels: Vec<_> = [
        (1_000.0, 500.0, "pasture"),
        (3_000.0, 500.0, "cocoa"),
        (6_000.0, 2_500.0, "degraded_pasture"),
        (8_000.0, 500.0, "coffee"),
    ]
    .iter()
    .map(|(x, y, u)| {
        (
            geo::Geometry::Polygon(rect(X0 + x, Y0 + y, X0 + x + 300.0, Y0 + y + 250.0)),
            vec![OutValue::Str(u.to_string())],
        )
    })
    .collect();
    write_layer(
        &dir.join("parcels.geojson"),
        "GeoJSON",
        "parcels",
        &utm,
        &wgs,
        &[("use", FieldKind::Str)],
        &parcels,
    )
    .unwrap();
    write_layer(
        &dir.join("conservation.fgb"),
        "FlatGeobuf",
        "conservation",
        &utm,
        &utm,
        &[("name", FieldKind::Str), ("category", FieldKind::Str)],
        &[(
            geo::Geometry::Polygon(rect(X0 + 2_000.0, Y0 + 6_000.0, X0 + 9_000.0, Y0 + 8_000.0)),
            vec![
                OutValue::Str("Reserva Ñuñu".into()),
                OutValue::Str("Bosque de Protección".into()),
            ],
        )],
    )
    .unwrap();
    let res = 100.0;
    let (nx, ny) = ((w / res) as usize, (h / res) as usize);
    let at = Placement {
        geo_transform: [X0, res, 0.0, Y0 + h, 0.0, -res],
        wkt: utm.to_wkt().unwrap(),
        width: nx,
        height: ny,
    };
    let cell = |f: &dyn Fn(f64, f64) -> f32| -> Vec<f32> {
        (0..ny)
            .flat_map(|r| (0..nx).map(move |c| (c, r)))
            .map(|(c, r)| f((c as f64 + 0.5) * res, h - (r as f64 + 0.5) * res))
            .collect()
    };
    let forest = cell(&|_, y| if y > 4_000.0 { 1.0 } else { 0.0 });
    write_geotiff(&dir.join("forest.tif"), &at, &forest, None, "").unwrap();
    write_geotiff(
        &dir.join("dem.tif"),
        &at,
        &cell(&|_, y| (900.0 + 0.1 * y) as f32),
        None,
        "",
    )
    .unwrap();
    write_geotiff(
        &dir.join("forest_loss.tif"),
        &at,
        &cell(&|x, y| {
            if (3_500.0..4_000.0).contains(&y) && x > 5_000.0 {
                1.0
            } else {
                0.0
            }
        }),
        None,
        "",
    )
    .unwrap();
    write_geotiff(
        &dir.join("population.tif"),
        &at,
        &cell(&|_, y| if y < 3_000.0 { 2.0 } else { 0.0 }),
        None,
        "",
    )
    .unwrap();
    write_geotiff(
        &dir.join("landcover.tif"),
        &at,
        &cell(&|_, y| if y > 4_000.0 { 1.0 } else { 2.0 }),
        None,
        "",
    )
    .unwrap();
}
