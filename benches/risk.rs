//! Risk stage on a 4k x 4k grid: drivers (two exact distance transforms,
//! slope), the fit on a balanced sample, and the risk map.

use criterion::{criterion_group, criterion_main, Criterion};
use geo::{coord, LineString, MultiLineString};
use greenhalo::config::{RiskParams, RoadClass};
use greenhalo::grid::Grid;
use greenhalo::inputs::{Inputs, Road};

fn inputs(n: usize) -> (Inputs, Vec<f32>) {
    let res = 30.0;
    let grid = Grid {
        crs: "EPSG:32718".into(),
        x_min: 0.0,
        y_max: n as f64 * res,
        res,
        width: n,
        height: n,
    };
    let len = n * n;
    let mid = n as f64 * res / 2.0;
    let road = |y: f64| Road {
        source: 0,
        name: None,
        fid: 0,
        class: RoadClass::Secondary,
        surface: None,
        aadt: None,
        geom: MultiLineString(vec![LineString(vec![
            coord! {x: 0.0, y: y},
            coord! {x: 2.0 * mid, y: y + 500.0},
        ])]),
    };
    let roads = vec![road(mid), road(mid / 2.0), road(1.5 * mid)];
    let xy = |i: usize| ((i % n) as f64 * res, (i / n) as f64 * res);
    let dist = |i: usize| {
        roads
            .iter()
            .map(|r| (xy(i).1 - r.geom.0[0].0[0].y).abs())
            .fold(f64::INFINITY, f64::min)
    };
    let hash =
        |i: usize| ((i as u64).wrapping_mul(0x9E3779B97F4A7C15) >> 40) as f64 / (1u64 << 24) as f64;
    let forest: Vec<f32> = (0..len)
        .map(|i| {
            if dist(i) > 800.0 + 600.0 * hash(i) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let loss: Vec<f32> = (0..len)
        .map(|i| {
            let d = dist(i);
            if d > 500.0 && d < 1_500.0 && hash(i + 7) < 0.15 {
                1.0 + (hash(i) * 20.0).floor() as f32
            } else {
                0.0
            }
        })
        .collect();
    let travel: Vec<f32> = (0..len).map(|i| (5.0 + dist(i) / 50.0) as f32).collect();
    let elevation: Vec<f32> = (0..len)
        .map(|i| (800.0 + (xy(i).0 / 20.0) + 100.0 * (xy(i).1 / 3000.0).sin()) as f32)
        .collect();
    let conservation_id: Vec<u16> = (0..len).map(|i| (xy(i).0 < mid / 3.0) as u16).collect();
    let inp = Inputs {
        name: "bench".into(),
        grid,
        grid_wkt: String::new(),
        aoi: geo::MultiPolygon(vec![]),
        aoi_mask: vec![1; len],
        roads,
        markets: vec![],
        parcels: vec![],
        planning_units: None,
        conservation: vec![],
        conservation_id,
        forest,
        elevation: elevation.into(),
        forest_loss: Some(loss),
        population: None,
        landcover: None,
        carbon: None,
        biodiversity: None,
        slope: Default::default(),
    };
    (inp, travel)
}

fn bench(c: &mut Criterion) {
    let (inp, travel) = inputs(4_000);
    let p = RiskParams::default();
    let mut group = c.benchmark_group("risk");
    group.sample_size(10);
    group.bench_function("drivers_fit_map_4000x4000", |b| {
        b.iter(|| {
            greenhalo::risk::compute(&inp, &travel, &p, 42)
                .unwrap()
                .model
                .auc_holdout
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
