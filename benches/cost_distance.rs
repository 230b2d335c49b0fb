//! The cost-distance kernel on synthetic 1k x 1k and 4k x 4k grids
//! (10k x 10k runs as a whole command in scripts/bench.sh).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use greenhalo::kernels::cost_distance::{solve, CostGrid, Source};

/// Smooth costs between 0.5 and 5 with scattered impassable cells, from a
/// cheap deterministic hash (no I/O in the timed loop).
fn cost_surface(n: usize) -> Vec<f32> {
    (0..n * n)
        .map(|i| {
            let (c, r) = ((i % n) as f32, (i / n) as f32);
            let v = (c * 0.013).sin() * (r * 0.011).cos() + 0.3 * (c * 0.07 + r * 0.05).sin();
            if v > 0.95 {
                f32::NAN
            } else {
                2.75 + 1.5 * v
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cost_distance");
    group.sample_size(10);
    for n in [1_000usize, 4_000] {
        let cost = cost_surface(n);
        let g = CostGrid {
            width: n,
            height: n,
            dx: 30.0,
            dy: 30.0,
            cost: &cost,
        };
        let src = [Source {
            cell: (n * n / 2 + n / 2) as u32,
            cost: 0.0,
            label: 0,
        }];
        group.throughput(Throughput::Elements((n * n) as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{n}x{n}")),
            &n,
            |b, _| b.iter(|| solve(&g, None, &src, None)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
