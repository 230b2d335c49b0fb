//! Real public layers of Alto Mayo (../shared/data/alto_mayo_real): the AOI,
//! provincial capitals and the departmental and local road networks, combined
//! with synthetic rasters, parcels and conservation areas. Skips cleanly when
//! the folder is absent.

mod common;

use common::*;
use geo::{coord, LineString, Polygon};
use greenhalo::io::raster::{write_geotiff, Placement};
use greenhalo::io::srs;
use greenhalo::io::vector::{write_layer, FieldKind, OutValue};

fn square(lon: f64, lat: f64, d: f64) -> geo::Geometry<f64> {
    geo::Geometry::Polygon(Polygon::new(
        LineString(vec![
            coord! {x: lon, y: lat},
            coord! {x: lon + d, y: lat},
            coord! {x: lon + d, y: lat + d},
            coord! {x: lon, y: lat + d},
            coord! {x: lon, y: lat},
        ]),
        vec![],
    ))
}

fn real_landscape(dir: &std::path::Path, real: &std::path::Path) -> std::path::PathBuf {
    let wgs = srs::wgs84();
    // Rasters in EPSG:4326 covering the AOI (-77.78..-76.74, -6.42..-5.40) with a margin.
    let (lon0, lat1, step) = (-77.9, -5.3, 0.005);
    let (w, h) = (250usize, 240usize);
    let at = Placement {
        geo_transform: [lon0, step, 0.0, lat1, 0.0, -step],
        wkt: wgs.to_wkt().unwrap(),
        width: w,
        height: h,
    };
    let field = |f: &dyn Fn(f64, f64) -> f32| -> Vec<f32> {
        (0..h)
            .flat_map(|r| (0..w).map(move |c| (c, r)))
            .map(|(c, r)| {
                f(
                    lon0 + (c as f64 + 0.5) * step,
                    lat1 - (r as f64 + 0.5) * step,
                )
            })
            .collect()
    };
    write_geotiff(
        &dir.join("forest.tif"),
        &at,
        &field(&|lon, _| if lon < -77.3 { 1.0 } else { 0.3 }),
        None,
        "",
    )
    .unwrap();
    write_geotiff(
        &dir.join("dem.tif"),
        &at,
        &field(&|_, lat| (900.0 + 2_000.0 * (lat + 6.0).abs()) as f32),
        None,
        "",
    )
    .unwrap();
    let parcels: Vec<_> = (0..20)
        .map(|k| {
            (
                square(-77.2 + 0.01 * k as f64, -6.05, 0.003),
                vec![OutValue::Str("pasture".into())],
            )
        })
        .collect();
    write_layer(
        &dir.join("parcels.geojson"),
        "GeoJSON",
        "parcels",
        &wgs,
        &wgs,
        &[("use", FieldKind::Str)],
        &parcels,
    )
    .unwrap();
    write_layer(
        &dir.join("conservation.geojson"),
        "GeoJSON",
        "conservation",
        &wgs,
        &wgs,
        &[("name", FieldKind::Str)],
        &[(
            square(-77.6, -5.7, 0.2),
            vec![OutValue::Str(
                "Bosque de Protección Alto Mayo (ilustrativo)".into(),
            )],
        )],
    )
    .unwrap();
    let r = |f: &str| real.join(f).display().to_string();
    let toml = format!(
        r#"name = "Alto Mayo (real roads)"
[layers]
aoi = "{aoi}"
roads = [{{ path = "{dep}", set = {{ class = "secondary" }} }}, {{ path = "{vec}", set = {{ class = "tertiary" }} }}]
markets = "{cap}"
parcels = "parcels.geojson"
conservation = "conservation.geojson"
forest = "forest.tif"
elevation = "dem.tif"
[grid]
resolution_m = 500.0
[markets]
name_field = "CAPITAL"
weight_field = ""
"#,
        aoi = r("aoi.geojson"),
        dep = r("roads_departamental.geojson"),
        vec = r("roads_vecinal.geojson"),
        cap = r("provincial_capitals.geojson"),
    );
    let path = dir.join("landscape.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[test]
fn real_alto_mayo_roads_load_and_run() {
    let Some(real) = real_data() else {
        eprintln!("skipped: ../shared/data/alto_mayo_real is absent");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let toml = real_landscape(d.path(), &real);
    // Tarapoto lies outside the AOI: a warning, not an error.
    greenhalo()
        .arg("validate")
        .arg(&toml)
        .assert()
        .success()
        .stdout(predicates::str::contains("TARAPOTO"));
    let out = d.path().join("out");
    let s = run_ok(&toml, &out);
    // The AOI centroid (about -77.3, -5.9) is in UTM zone 18S.
    assert_eq!(s["grid"]["crs"], "EPSG:32718");
    // 15 departmental + 155 local routes, MultiLineStrings included.
    assert_eq!(s["layers"]["roads"]["features"], 170);
    let km = &s["layers"]["roads"]["length_km_by_class"];
    assert!(km["secondary"].as_f64().unwrap() > 100.0, "{km}");
    assert!(km["tertiary"].as_f64().unwrap() > 500.0, "{km}");
    let names = s["layers"]["markets"]["names"].to_string();
    assert!(
        names.contains("MOYOBAMBA") && names.contains("RIOJA"),
        "{names}"
    );
    let roads = std::fs::read_to_string(out.join("inputs/roads.geojson")).unwrap();
    assert!(roads.contains("MultiLineString"));
    // Accents survive from GeoJSON through to the outputs.
    let cons = std::fs::read_to_string(out.join("inputs/conservation.geojson")).unwrap();
    assert!(cons.contains("Protección"));
    // The MTC networks break roads into pieces of a few metres between
    // junctions: none of them is appraised alone (min_segment_m = 200).
    let mut r = csv::Reader::from_path(out.join("roads.csv")).unwrap();
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "length_km")
        .unwrap();
    let lengths: Vec<f64> = r
        .records()
        .map(|x| x.unwrap()[col].parse().unwrap())
        .collect();
    assert!(lengths.len() > 100);
    let short: Vec<&f64> = lengths.iter().filter(|l| **l < 0.2).collect();
    assert!(short.is_empty(), "slivers ranked: {short:?}");
}
