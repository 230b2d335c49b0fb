//! GDAL I/O: warping a lon/lat raster onto a UTM grid, and GeoJSON output.

mod common;

use geo::{coord, LineString, Point, Polygon};
use greenhalo::grid::Grid;
use greenhalo::io::raster::{warp_to_grid, write_geotiff, Placement, Resample};
use greenhalo::io::{geojson_out, srs, vector};
use serde_json::Value;

/// value = 1000 * lon + 2000 * lat: bilinear interpolation of a linear
/// function is exact, so every grid cell must hold the function at its
/// centre's lon/lat, which checks georeferencing end to end.
#[test]
fn lonlat_raster_warped_onto_utm_keeps_values_at_known_points() {
    let d = tempfile::tempdir().unwrap();
    let wgs = srs::wgs84();
    let (lon0, lat1, step) = (-77.2, -5.8, 0.001);
    let (w, h) = (400usize, 400usize);
    let at = Placement {
        geo_transform: [lon0, step, 0.0, lat1, 0.0, -step],
        wkt: wgs.to_wkt().unwrap(),
        width: w,
        height: h,
    };
    let f = |lon: f64, lat: f64| 1000.0 * lon + 2000.0 * lat;
    let data: Vec<f64> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (c, r)))
        .map(|(c, r)| {
            f(
                lon0 + (c as f64 + 0.5) * step,
                lat1 - (r as f64 + 0.5) * step,
            )
        })
        .collect();
    let path = d.path().join("ll.tif");
    write_geotiff(&path, &at, &data, None, "").unwrap();

    let utm = srs::parse("EPSG:32718").unwrap();
    let grid = Grid::snapped(
        "EPSG:32718",
        100.0,
        270_000.0,
        9_330_000.0,
        300_000.0,
        9_350_000.0,
    );
    let wkt = utm.to_wkt().unwrap();
    let got = warp_to_grid(&path, 1, &grid, &wkt, Resample::Bilinear).unwrap();
    let to_ll = srs::transform(&utm, &wgs).unwrap();
    let mut checked = 0;
    for r in (0..grid.height).step_by(23) {
        for c in (0..grid.width).step_by(29) {
            let (x, y) = grid.cell_center(c, r);
            let (mut xs, mut ys, mut zs) = ([x], [y], [0.0]);
            to_ll.transform_coords(&mut xs, &mut ys, &mut zs).unwrap();
            let want = f(xs[0], ys[0]);
            let v = got[grid.index(c, r)] as f64;
            assert!(
                (v - want).abs() < 0.05,
                "cell ({c},{r}) lon {} lat {}: got {v}, want {want}",
                xs[0],
                ys[0]
            );
            checked += 1;
        }
    }
    assert!(checked > 50);

    // Nearest keeps class values: classes by longitude band.
    let classes: Vec<f64> = (0..h)
        .flat_map(|r| (0..w).map(move |c| (c, r)))
        .map(|(c, _)| (c / 100) as f64 + 1.0)
        .collect();
    let cpath = d.path().join("classes.tif");
    write_geotiff(&cpath, &at, &classes, None, "").unwrap();
    let got = warp_to_grid(&cpath, 1, &grid, &wkt, Resample::Nearest).unwrap();
    for r in (0..grid.height).step_by(50) {
        for c in (0..grid.width).step_by(50) {
            let (x, y) = grid.cell_center(c, r);
            let (mut xs, mut ys, mut zs) = ([x], [y], [0.0]);
            to_ll.transform_coords(&mut xs, &mut ys, &mut zs).unwrap();
            let col = ((xs[0] - lon0) / step).floor();
            let want = (col as usize / 100) as f32 + 1.0;
            assert_eq!(got[grid.index(c, r)], want, "cell ({c},{r})");
        }
    }
}

#[test]
fn cells_outside_the_source_are_nodata() {
    let d = tempfile::tempdir().unwrap();
    let utm = srs::parse("EPSG:32718").unwrap();
    let wkt = utm.to_wkt().unwrap();
    let at = Placement {
        geo_transform: [280_000.0, 100.0, 0.0, 9_340_000.0, 0.0, -100.0],
        wkt: wkt.clone(),
        width: 10,
        height: 10,
    };
    let path = d.path().join("small.tif");
    write_geotiff(&path, &at, &vec![5f32; 100], None, "").unwrap();
    let grid = Grid::snapped(
        "EPSG:32718",
        100.0,
        279_000.0,
        9_338_000.0,
        282_000.0,
        9_341_000.0,
    );
    let got = warp_to_grid(&path, 1, &grid, &wkt, Resample::Nearest).unwrap();
    let inside = got.iter().filter(|v| **v == 5.0).count();
    let nan = got.iter().filter(|v| v.is_nan()).count();
    assert_eq!(inside, 100);
    assert_eq!(nan, grid.len() - 100);
}

#[test]
fn geojson_is_lonlat_7_decimals_and_reads_back_within_1e7_degrees() {
    let d = tempfile::tempdir().unwrap();
    let utm = srs::parse("EPSG:32718").unwrap();
    let wgs = srs::wgs84();
    let pts = [
        (281_234.567, 9_333_210.987),
        (250_000.0, 9_300_000.0),
        (299_999.9, 9_359_999.9),
    ];
    // A clockwise square with a counter-clockwise hole: the writer must flip both.
    let poly = Polygon::new(
        LineString(vec![
            coord! {x: 280_000.0, y: 9_330_000.0},
            coord! {x: 280_000.0, y: 9_331_000.0},
            coord! {x: 281_000.0, y: 9_331_000.0},
            coord! {x: 281_000.0, y: 9_330_000.0},
            coord! {x: 280_000.0, y: 9_330_000.0},
        ]),
        vec![LineString(vec![
            coord! {x: 280_200.0, y: 9_330_200.0},
            coord! {x: 280_800.0, y: 9_330_200.0},
            coord! {x: 280_800.0, y: 9_330_800.0},
            coord! {x: 280_200.0, y: 9_330_800.0},
            coord! {x: 280_200.0, y: 9_330_200.0},
        ])],
    );
    let mut feats: Vec<geojson_out::OutFeature> = pts
        .iter()
        .map(|(x, y)| geojson_out::OutFeature {
            geom: geo::Geometry::Point(Point::new(*x, *y)),
            props: serde_json::Map::from_iter([("name".to_string(), Value::from("Yantaló"))]),
        })
        .collect();
    feats.push(geojson_out::OutFeature {
        geom: geo::Geometry::Polygon(poly),
        props: serde_json::Map::new(),
    });
    let path = d.path().join("out.geojson");
    geojson_out::write(&path, &utm, &feats).unwrap();

    // Expected lon/lat straight from PROJ.
    let ct = srs::transform(&utm, &wgs).unwrap();
    let back = vector::read(&path, None, &Default::default(), None).unwrap();
    assert_eq!(back.features.len(), 4);
    for (f, (x, y)) in back.features.iter().zip(pts) {
        let (mut xs, mut ys, mut zs) = ([x], [y], [0.0]);
        ct.transform_coords(&mut xs, &mut ys, &mut zs).unwrap();
        let Some(geo::Geometry::Point(p)) = &f.geom else {
            panic!("not a point")
        };
        assert!(
            (p.x() - xs[0]).abs() <= 1e-7 + 1e-12,
            "lon {} vs {}",
            p.x(),
            xs[0]
        );
        assert!(
            (p.y() - ys[0]).abs() <= 1e-7 + 1e-12,
            "lat {} vs {}",
            p.y(),
            ys[0]
        );
        assert!(
            p.x() < -76.0 && p.x() > -78.0 && p.y() < -5.0 && p.y() > -7.0,
            "x must be longitude: {p:?}"
        );
        assert_eq!(
            f.attr("name").and_then(|a| a.as_text()).as_deref(),
            Some("Yantaló")
        );
    }

    // The raw text: 7 decimals at most, exterior ring counter-clockwise, hole clockwise.
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let c = &v["features"][0]["geometry"]["coordinates"];
    for k in 0..2 {
        let s = c[k].to_string();
        let decimals = s.split('.').nth(1).map(|d| d.len()).unwrap_or(0);
        assert!(decimals <= 7, "{s}");
    }
    let rings = v["features"][3]["geometry"]["coordinates"]
        .as_array()
        .unwrap();
    let signed = |ring: &Value| {
        let pts: Vec<(f64, f64)> = ring
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        pts.windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum::<f64>()
            / 2.0
    };
    assert!(
        signed(&rings[0]) > 0.0,
        "exterior must be counter-clockwise"
    );
    assert!(signed(&rings[1]) < 0.0, "hole must be clockwise");
}

/// A float raster's overviews are GDAL's own AVERAGE: the same as
/// `gdaladdo -r average` builds from its main band, on an odd-sized raster
/// with gaps (where overview cells weigh the parts of cells they cover),
/// gaps as NaN and as a nodata value.
#[test]
fn float_overviews_equal_gdaladdo_average() {
    overviews_equal_gdaladdo(f32::NAN);
    overviews_equal_gdaladdo(-9999.0);
}

fn overviews_equal_gdaladdo(nodata: f32) {
    if std::process::Command::new("gdaladdo")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("gdaladdo not found: install gdal-bin (scripts/setup.sh does)");
    }
    let d = tempfile::tempdir().unwrap();
    let (w, h) = (701usize, 555usize);
    let at = Placement {
        geo_transform: [500_000.0, 30.0, 0.0, 9_400_000.0, 0.0, -30.0],
        wkt: srs::parse("EPSG:32718").unwrap().to_wkt().unwrap(),
        width: w,
        height: h,
    };
    let data: Vec<f32> = (0..w * h)
        .map(|i| {
            let (c, r) = ((i % w) as f32, (i / w) as f32);
            if (c - 300.0).powi(2) + (r - 200.0).powi(2) < 80.0f32.powi(2) || i % 97 == 0 {
                nodata
            } else {
                (c * 0.37 + r * 1.91).sin() * 100.0 + c * r / 50.0
            }
        })
        .collect();
    let ours = d.path().join("ours.tif");
    write_geotiff(&ours, &at, &data, Some(nodata as f64), "test").unwrap();
    // GDAL's: the main band copied out, then its overviews built by gdaladdo.
    let theirs = d.path().join("theirs.tif");
    let ok = std::process::Command::new("gdal_translate")
        .args(["-q", "-of", "GTiff", "-b", "1"])
        .arg(&ours)
        .arg(&theirs)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let ok = std::process::Command::new("gdaladdo")
        .args(["-q", "-r", "average"])
        .arg(&theirs)
        .args(["2", "4"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let a = gdal::Dataset::open(&ours).unwrap();
    let b = gdal::Dataset::open(&theirs).unwrap();
    let (ba, bb) = (a.rasterband(1).unwrap(), b.rasterband(1).unwrap());
    assert_eq!(ba.overview_count().unwrap(), 2, "701x555: 351x278, 176x139");
    for k in 0..2 {
        let (oa, ob) = (ba.overview(k).unwrap(), bb.overview(k).unwrap());
        assert_eq!(oa.size(), ob.size(), "level {k}");
        let (ow, oh) = oa.size();
        let va = oa.read_as::<f32>((0, 0), (ow, oh), (ow, oh), None).unwrap();
        let vb = ob.read_as::<f32>((0, 0), (ow, oh), (ow, oh), None).unwrap();
        let (va, vb) = (va.data(), vb.data());
        let mut gaps = 0;
        let gap = |v: f32| v.is_nan() || v == nodata;
        for (i, (x, y)) in va.iter().zip(vb).enumerate() {
            assert_eq!(gap(*x), gap(*y), "level {k} cell {i}: {x} vs {y}");
            if gap(*x) {
                assert_eq!(x.to_bits(), y.to_bits(), "level {k} cell {i}");
                gaps += 1;
                continue;
            }
            assert!(
                (x - y).abs() <= 1e-6 * y.abs().max(1.0),
                "level {k} cell {i}: {x} vs gdaladdo {y}"
            );
        }
        assert!(
            gaps > 0 && gaps < va.len(),
            "level {k}: the gaps are tested"
        );
    }
}
