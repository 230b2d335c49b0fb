//! Exact zonal statistics of 100,000 parcels (1-20 ha quadrilaterals) over
//! a 4k x 4k raster of 30 m cells, in parallel over parcels.

use criterion::{criterion_group, criterion_main, Criterion};
use geo::{LineString, MultiPolygon, Polygon};
use greenhalo::kernels::lines::GridGeom;
use greenhalo::kernels::zonal::{coverage, stats};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

fn bench(c: &mut Criterion) {
    let n = 4_000usize;
    let res = 30.0;
    let g = GridGeom {
        x_min: 0.0,
        y_max: n as f64 * res,
        res,
        width: n,
        height: n,
    };
    let values: Vec<f32> = (0..n * n).map(|i| ((i % 977) as f32) * 0.5).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let extent = n as f64 * res;
    let parcels: Vec<MultiPolygon<f64>> = (0..100_000)
        .map(|_| {
            let side = (rng.gen_range(1.0..20.0f64) * 10_000.0).sqrt();
            let (x, y) = (
                rng.gen_range(0.0..extent - side - 60.0),
                rng.gen_range(0.0..extent - side - 60.0),
            );
            let j = |rng: &mut rand_chacha::ChaCha8Rng| rng.gen_range(-20.0..20.0);
            let ring = vec![
                (x + j(&mut rng), y + j(&mut rng)),
                (x + side + j(&mut rng), y + j(&mut rng)),
                (x + side + j(&mut rng), y + side + j(&mut rng)),
                (x + j(&mut rng), y + side + j(&mut rng)),
            ];
            let mut r = ring.clone();
            r.push(ring[0]);
            MultiPolygon(vec![Polygon::new(LineString::from(r), vec![])])
        })
        .collect();
    let mut group = c.benchmark_group("zonal");
    group.sample_size(10);
    group.bench_function("100k_parcels_4000x4000", |b| {
        b.iter(|| {
            parcels
                .par_iter()
                .map(|p| stats(&coverage(&g, p), &values).mean)
                .sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
