//! Times the cost-distance kernel alone on a raster: `time_solve COST.tif`.
use greenhalo::kernels::cost_distance::{solve, CostGrid, Source};
fn main() {
    let p = std::env::args().nth(1).expect("usage: time_solve COST.tif");
    let (at, data, _) = greenhalo::io::raster::read_native(std::path::Path::new(&p), 1).unwrap();
    let cost: Vec<f32> = data
        .iter()
        .map(|v| if *v < 0.0 { f32::NAN } else { *v as f32 })
        .collect();
    drop(data);
    let g = CostGrid {
        width: at.width,
        height: at.height,
        dx: 30.0,
        dy: 30.0,
        cost: &cost,
    };
    let n = at.width * at.height;
    let src = [Source {
        cell: (n / 2 + at.width / 2) as u32,
        cost: 0.0,
        label: 0,
    }];
    let t = std::time::Instant::now();
    let acc = solve(&g, None, &src, None);
    let dt = t.elapsed().as_secs_f64();
    let reached = acc.iter().filter(|v| v.is_finite()).count();
    println!(
        "{}x{}: {dt:.3} s, {:.1} M cells/s, reached {reached}",
        at.width,
        at.height,
        n as f64 / dt / 1e6
    );
}
