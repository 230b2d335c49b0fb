//! Writes a synthetic cost raster (cost per metre, smooth variation with
//! impassable lakes) and a source point layer, for benchmarks:
//! `cargo run --release --example make_cost_raster -- SIZE DIR`.

use greenhalo::io::raster::{write_geotiff, Placement};
use greenhalo::io::srs;
use greenhalo::io::vector::{write_layer, FieldKind, OutValue};
use noise::{Fbm, MultiFractal, NoiseFn, Perlin};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .expect("usage: make_cost_raster SIZE DIR");
    let dir = std::path::PathBuf::from(args.get(2).expect("usage: make_cost_raster SIZE DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let utm = srs::parse("EPSG:32718").unwrap();
    let res = 30.0;
    let at = Placement {
        geo_transform: [200_000.0, res, 0.0, 9_400_000.0, 0.0, -res],
        wkt: utm.to_wkt().unwrap(),
        width: size,
        height: size,
    };
    let cost = greenhalo_bench_cost(size);
    write_geotiff(
        &dir.join(format!("cost_{size}.tif")),
        &at,
        &cost,
        Some(-1.0),
        "",
    )
    .unwrap();
    let pts: Vec<_> = [(0.5, 0.5), (0.2, 0.8), (0.9, 0.1)]
        .iter()
        .map(|(fx, fy)| {
            let p = geo::Point::new(
                200_000.0 + fx * size as f64 * res,
                9_400_000.0 - fy * size as f64 * res,
            );
            (geo::Geometry::Point(p), vec![OutValue::Str("s".into())])
        })
        .collect();
    write_layer(
        &dir.join("sources.gpkg"),
        "GPKG",
        "sources",
        &utm,
        &utm,
        &[("name", FieldKind::Str)],
        &pts,
    )
    .unwrap();
}

/// Cost per metre between 0.5 and 5, with about 3% impassable cells.
fn greenhalo_bench_cost(size: usize) -> Vec<f32> {
    let f = Fbm::<Perlin>::new(1)
        .set_octaves(4)
        .set_frequency(8.0 / size as f64);
    (0..size * size)
        .map(|i| {
            let (c, r) = ((i % size) as f64, (i / size) as f64);
            let v = f.get([c, r]);
            if v > 0.55 {
                -1.0
            } else {
                (2.75 + 2.25 * v.clamp(-1.0, 1.0)) as f32
            }
        })
        .collect()
}
