//! The parcel stage alone over budgets and area targets on one landscape:
//! `parcel_family LANDSCAPE.toml [BUDGET_MUSD,TARGET_KM2 ...]`. Loads the
//! landscape and runs the stages before the parcels once, then the parcel
//! stage for every pair (default: a grid where the budget binds, the area
//! target binds, both and neither), one line each: wall seconds, how the
//! last selection was proven and its gap (scripts/bench.sh, the family).
use std::path::Path;
use std::time::Instant;

use greenhalo::config::Landscape;
use greenhalo::progress::Progress;
use greenhalo::{access, halo, inputs, parcels, risk};

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .expect("usage: parcel_family LANDSCAPE.toml [BUDGET_MUSD,TARGET_KM2 ...]");
    let pairs: Vec<(f64, f64)> = {
        let given: Vec<(f64, f64)> = args
            .map(|a| {
                let (b, t) = a.split_once(',').expect("BUDGET_MUSD,TARGET_KM2");
                (b.parse().expect("budget"), t.parse().expect("target"))
            })
            .collect();
        if given.is_empty() {
            let mut g = vec![];
            for b in [5.0, 20.0, 50.0, 150.0, 1000.0] {
                for t in [0.0, 100.0, 300.0, 600.0] {
                    g.push((b, t));
                }
            }
            g
        } else {
            given
        }
    };
    let ls = Landscape::load(Path::new(&file)).expect("landscape");
    let progress = Progress::hidden();
    let (inp, _) = inputs::load_checked(&ls, &progress).expect("inputs");
    let cfg = &ls.cfg;
    let acc = access::Access::compute(&inp, &cfg.access, &cfg.landcover).expect("access");
    let hal = halo::compute(&inp, &cfg.halo).expect("halo");
    let rsk = risk::compute(&inp, &acc.travel_min, &cfg.risk, cfg.seed).expect("risk");
    println!("| landscape | parcels | budget US$ M | target km2 | stage s | selections s | met | selected ha | method | core | gap US$ | tolerance US$ |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (b, t) in pairs {
        let mut tp = cfg.transitions.clone();
        tp.parcel_budget_usd = b * 1e6;
        tp.area_target_km2 = t;
        let t0 = Instant::now();
        let res = parcels::run(
            &inp,
            &rsk,
            &acc.travel_min,
            &hal,
            &tp,
            &cfg.economics,
            &cfg.finance,
        )
        .expect("parcels");
        let dt = t0.elapsed().as_secs_f64();
        let pr = &res.proof;
        println!(
            "| {} | {} | {b} | {t} | {dt:.2} | {:.2} | {} | {:.0} | {} | {} | {:.2} | {:.2} |",
            file,
            res.parcels.len(),
            pr.seconds,
            res.target_met,
            res.selected_ha,
            pr.method,
            pr.core_parcels,
            pr.gap_usd(),
            pr.tolerance_usd
        );
    }
}
