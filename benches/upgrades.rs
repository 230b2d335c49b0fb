//! Incremental upgrades against full recomputation on data/sample: every
//! road feature upgraded one class up, one at a time.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use greenhalo::access::Access;
use greenhalo::{inputs, Landscape, Progress};

fn bench(c: &mut Criterion) {
    let ls = Landscape::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/sample/landscape.toml"
    )))
    .unwrap();
    let (inp, _) = inputs::load_checked(&ls, &Progress::hidden()).unwrap();
    let p = &ls.cfg.access;
    let a = Access::compute(&inp, p, &ls.cfg.landcover).unwrap();
    // One "segment" per road feature: all its edges.
    let mut by_road: Vec<Vec<u32>> = vec![Vec::new(); inp.roads.len()];
    for (k, e) in a.roads.edges.iter().enumerate() {
        by_road[e.road as usize].push(k as u32);
    }
    let jobs: Vec<(Vec<u32>, f64)> = by_road
        .into_iter()
        .enumerate()
        .filter(|(_, e)| !e.is_empty())
        .filter_map(|(r, e)| inp.roads[r].class.upgraded().map(|c| (e, p.speed_kmh(c))))
        .collect();
    let mut group = c.benchmark_group("upgrades_sample");
    group.sample_size(10);
    group.bench_function(format!("incremental_{}_roads", jobs.len()), |b| {
        let mut scratch = a.scratch();
        b.iter(|| {
            jobs.iter()
                .map(|(e, kmh)| a.upgrade(e, *kmh, &mut scratch).len())
                .sum::<usize>()
        })
    });
    group.bench_function(format!("full_{}_roads", jobs.len()), |b| {
        b.iter(|| {
            jobs.iter()
                .map(|(e, kmh)| a.travel_time_with(e, *kmh).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
