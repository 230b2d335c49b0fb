//! The plan's money is one ledger: its NPV rebuilt from the per-segment,
//! per-parcel and per-area figures in the output tables, year by year.

mod common;

use std::collections::BTreeMap;

use greenhalo::config::{LandUse, Landscape};

type Row = BTreeMap<String, String>;

fn table(path: &std::path::Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.deserialize().map(|x| x.unwrap()).collect()
}

fn num(r: &Row, k: &str) -> f64 {
    r.get(k)
        .unwrap_or_else(|| panic!("no column {k}"))
        .parse()
        .unwrap_or_else(|e| panic!("{k} = {:?}: {e}", r[k]))
}

fn close(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1.0),
        "{what}: {got} vs {want} (relative {:.2e})",
        (got - want).abs() / want.abs().max(1.0)
    );
}

#[test]
fn the_plan_npv_is_rebuilt_from_segments_parcels_and_areas_to_1e9() {
    let ls = Landscape::load(&common::sample()).unwrap();
    let cfg = &ls.cfg;
    let out = common::sample_run();
    let s = common::summary(out);
    let h = cfg.economics.horizon_years as usize;
    let r = cfg.economics.discount_rate;
    let fp = &cfg.finance;
    let (mut cost, mut benefit) = (vec![0.0; h + 1], vec![0.0; h + 1]);

    // Roads: the portfolio's segments, built in equal tranches over phase
    // 1; each tranche's share of the joint benefit and of the extra
    // maintenance runs from the next year.
    let segs: Vec<Row> = table(&out.join("roads.csv"))
        .into_iter()
        .filter(|x| x["in_portfolio"] == "true")
        .collect();
    assert!(segs.len() >= 2);
    let capex: f64 = segs.iter().map(|x| num(x, "cost_usd")).sum();
    let maint: f64 = segs
        .iter()
        .map(|x| num(x, "extra_maintenance_usd_per_year"))
        .sum();
    assert!(maint > 0.0);
    // The benefit grows with the traffic; the forest loss the roads
    // invite emits its carbon year by year after each tranche's works,
    // netted from the plan's carbon at the carbon price.
    let portfolio = &s["roads"]["portfolio"];
    let annual = portfolio["annual_benefit_joint_usd"].as_f64().unwrap();
    let growth = cfg.road_upgrades.traffic_growth;
    let emitted: Vec<f64> = portfolio["tco2_by_year_after_opening"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(emitted.len(), h);
    let cp = cfg.economics.carbon_price_usd_per_tco2;
    let p1: Vec<usize> =
        (fp.phase_start_years[0] as usize..fp.phase_start_years[1] as usize).collect();
    for &y in &p1 {
        cost[y] += capex / p1.len() as f64;
        for t in y + 1..=h {
            let share = 1.0 / p1.len() as f64;
            benefit[t] += annual * share * (1.0 + growth).powi((t - y - 1) as i32);
            benefit[t] -= cp * emitted[t - y - 1] * share;
            cost[t] += maint * share;
        }
    }

    // Parcels: establishment (and technical assistance) in the parcel's
    // year, then its net revenue above the baseline and its carbon.
    let mut n_parcels = 0;
    for p in table(&out.join("parcels.csv"))
        .iter()
        .filter(|x| x["selected"] == "true")
    {
        n_parcels += 1;
        let y: usize = p["establishment_year"].parse().unwrap();
        let t = cfg
            .transitions
            .catalogue
            .iter()
            .find(|t| t.name == p["transition"])
            .unwrap();
        let use_: LandUse = serde_json::from_value(serde_json::json!(p["current_use"])).unwrap();
        let base = cfg.transitions.baseline(use_);
        let a = num(p, "area_ha");
        cost[y] += num(p, "investment_usd") * (1.0 + fp.extension_share_of_parcels);
        // Inside the halo, the forest loss it spares: the configured
        // hectares per halo hectare over a horizon, spread evenly over the
        // horizon's years, from the year after establishment.
        let halo = num(p, "halo_fraction");
        let spared_tco2 = cfg.transitions.avoided_loss_ha_per_halo_ha
            * cfg.economics.carbon_density_tc_per_ha
            * 44.0
            / 12.0
            / h as f64;
        for (yr, b) in benefit.iter_mut().enumerate().skip(y + 1) {
            let ramp = ((yr - y) as f64 / t.years_to_maturity.max(1) as f64).min(1.0);
            *b += a * (t.mature_net_revenue_usd_per_ha * ramp - base);
            *b += a * t.sequestration_tco2_per_ha_year * cp;
            *b += a * halo * spared_tco2 * cp;
        }
    }
    assert!(n_parcels > 100);

    // Conservation: each source pays what the areas were allocated (a
    // yearly average over the horizon) in its own years only; the avoided
    // emissions enter at each area's present value.
    let areas = table(&out.join("conservation.csv"));
    let mut carbon_pv = 0.0;
    for a in &areas {
        carbon_pv += num(a, "avoided_carbon_pv_usd");
    }
    let mut short_source = false;
    for src in &cfg.conservation_funding.sources {
        let years = (src.years as usize).clamp(1, h);
        short_source |= years < h;
        let used: f64 = areas
            .iter()
            .map(|a| num(a, &format!("allocated_{}", src.name)))
            .sum();
        for c in cost.iter_mut().take(years + 1).skip(1) {
            *c += used * h as f64 / years as f64;
        }
    }
    assert!(
        short_source,
        "the sample should hold a source shorter than the horizon"
    );
    for c in cost.iter_mut().skip(1) {
        *c += fp.insurance_usd_per_year;
    }

    let npv: f64 = (1..=h)
        .map(|t| (benefit[t] - cost[t]) / (1.0 + r).powi(t as i32))
        .sum::<f64>()
        + carbon_pv;
    close(
        npv,
        s["finance"]["npv_usd"].as_f64().unwrap(),
        1e-9,
        "plan NPV",
    );

    // The cash-flow table and the ledger say the same, year by year.
    let flows = table(&out.join("finance_cashflows.csv"));
    let ledger = table(&out.join("finance_ledger.csv"));
    let scale = cost.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for f in &flows {
        let t: usize = f["year"].parse().unwrap();
        close(
            num(f, "cost_usd"),
            cost[t],
            1e-9 * scale / cost[t].abs().max(1.0),
            &format!("cost, year {t}"),
        );
        let (lc, lb): (f64, f64) = ledger
            .iter()
            .filter(|x| x["year"] == t.to_string())
            .fold((0.0, 0.0), |(c, b), x| {
                (c + num(x, "cost_usd"), b + num(x, "benefit_usd"))
            });
        close(
            lc,
            num(f, "cost_usd"),
            1e-9,
            &format!("ledger cost, year {t}"),
        );
        close(
            lb,
            num(f, "benefit_usd"),
            1e-9,
            &format!("ledger benefit, year {t}"),
        );
    }
    // Every cost in the ledger names who pays it.
    assert!(ledger
        .iter()
        .filter(|x| num(x, "cost_usd") != 0.0)
        .all(|x| ["philanthropic", "public", "concessional", "private"]
            .contains(&x["capital"].as_str())));
}

/// One horizon: the value each selected parcel was chosen on is what the
/// plan's ledger books for it (establishment and technical assistance in
/// its year, then net revenue, sequestration and, inside the halo, avoided
/// loss to the horizon), to the dollar; none is worth nothing; and the
/// phase-3 parcels the plan establishes are worth something at their year.
#[test]
fn selection_value_is_what_the_plan_realises_from_the_parcels() {
    let ls = Landscape::load(&common::sample()).unwrap();
    let r = ls.cfg.economics.discount_rate;
    let out = common::sample_run();
    let s = common::summary(out);
    let parcels = table(&out.join("parcels.csv"));
    let selected: Vec<&Row> = parcels.iter().filter(|x| x["selected"] == "true").collect();
    assert!(selected.len() > 100);
    let chosen_on: f64 = selected.iter().map(|x| num(x, "total_npv_usd")).sum();
    assert!(selected.iter().all(|x| num(x, "total_npv_usd") > 0.0));
    close(
        farmland_npv(out, r),
        chosen_on,
        1e-9,
        "selected parcels' value vs the ledger",
    );
    close(
        s["parcels"]["total_npv_usd"].as_f64().unwrap(),
        chosen_on,
        1e-12,
        "summary",
    );
    // Phase 3 is established, and its last parcels still pay back.
    let late: Vec<&&Row> = selected.iter().filter(|x| x["phase"] == "3").collect();
    assert!(!late.is_empty());
    assert!(s["parcels"]["schedule_settled"].as_bool().unwrap());
    // The last round's selection is proven: its value at the bound within
    // max(US$1, 1e-7 x bound), and the report says so.
    let pr = &s["parcels"];
    assert!(pr["selection_proven"].as_bool().unwrap());
    let (value, bound) = (
        pr["selection_value_usd"].as_f64().unwrap(),
        pr["selection_bound_usd"].as_f64().unwrap(),
    );
    assert!(bound >= value && bound - value <= (1e-7 * bound).max(1.0));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("The selection is proven optimal to within"));
}

/// The NPV of the ledger's farmland lines: establishment, technical
/// assistance, net revenue, sequestration and the halo's avoided loss.
fn farmland_npv(out: &std::path::Path, r: f64) -> f64 {
    let farmland = |x: &Row| match x["component"].as_str() {
        "parcel_establishment"
        | "extension_technical_assistance"
        | "parcel_net_revenue"
        | "carbon_sequestration" => true,
        "carbon_avoided_loss" => x["line"] == "farmland",
        _ => false,
    };
    table(&out.join("finance_ledger.csv"))
        .iter()
        .filter(|x| farmland(x))
        .map(|x| {
            let t: i32 = x["year"].parse().unwrap();
            (num(x, "benefit_usd") - num(x, "cost_usd")) / (1.0 + r).powi(t)
        })
        .sum()
}

/// A budget that binds hard: near-ties among parcels of one transition
/// can keep selection and schedule from settling. Whatever the rounds do,
/// the plan stays within the budget and realises what its parcels were
/// chosen on.
#[test]
fn a_binding_parcel_budget_keeps_the_budget_and_one_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let toml = common::synth_small(&dir.path().join("ls"), "40,30");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("\n[transitions]\nparcel_budget_usd = 2000000.0\n");
    std::fs::write(&toml, text).unwrap();
    let out = dir.path().join("out");
    let s = common::run_ok(&toml, &out);
    let r = Landscape::load(&toml).unwrap().cfg.economics.discount_rate;
    let parcels = table(&out.join("parcels.csv"));
    let selected: Vec<&Row> = parcels.iter().filter(|x| x["selected"] == "true").collect();
    assert!(selected.len() > 20);
    let spent: f64 = selected.iter().map(|x| num(x, "investment_usd")).sum();
    assert!(spent <= 2.0e6 * (1.0 + 1e-9), "{spent}");
    let chosen_on: f64 = selected.iter().map(|x| num(x, "total_npv_usd")).sum();
    close(
        farmland_npv(&out, r),
        chosen_on,
        1e-9,
        "ledger vs selection",
    );
    assert!(s["parcels"]["schedule_note"]
        .as_str()
        .unwrap()
        .starts_with("selection and schedule"));
}

/// The ledger's road-emission tonnes are the portfolio's: each tranche's
/// share of the tonnes its roads' induced forest loss emits in each year
/// after the works, within the plan's horizon; over the appraisal's own
/// years they add up to the portfolio's joint tCO2, which equals the sum
/// over its segments when the chosen upgrades do not interact; the summary
/// reconciles roads.csv with the ledger term by term.
#[test]
fn ledger_road_emissions_are_the_portfolios_tco2() {
    let ls = Landscape::load(&common::sample()).unwrap();
    let cfg = &ls.cfg;
    let out = common::sample_run();
    let s = common::summary(out);
    let h = cfg.economics.horizon_years as usize;
    let portfolio = &s["roads"]["portfolio"];
    let by_year: Vec<f64> = portfolio["tco2_by_year_after_opening"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let joint = portfolio["tco2_joint"].as_f64().unwrap();
    assert!(joint > 0.0, "the sample's roads invite some forest loss");
    close(by_year.iter().sum(), joint, 1e-9, "years vs joint tCO2");
    let segs: f64 = table(&out.join("roads.csv"))
        .iter()
        .filter(|x| x["in_portfolio"] == "true")
        .map(|x| num(x, "tco2"))
        .sum();
    let singles = portfolio["npv_net_sum_of_singles_usd"].as_f64().unwrap();
    let together = portfolio["npv_net_joint_usd"].as_f64().unwrap();
    if (singles - together).abs() <= 1e-6 * singles.abs() {
        close(joint, segs, 1e-6, "joint vs segments' tCO2");
    }
    // The ledger: the tranches of phase 1, each from the year after it.
    let fp = &cfg.finance;
    let p1: Vec<usize> =
        (fp.phase_start_years[0] as usize..fp.phase_start_years[1] as usize).collect();
    let within: f64 = p1
        .iter()
        .map(|&y| by_year[..h - y].iter().sum::<f64>() / p1.len() as f64)
        .sum();
    let ledger: f64 = table(&out.join("finance_ledger.csv"))
        .iter()
        .filter(|x| x["component"] == "carbon_road_induced_loss")
        .map(|x| -num(x, "tco2"))
        .sum();
    close(ledger, within, 1e-9, "ledger road tCO2");
    let emitted = s["finance"]["carbon_tco2"]["emitted_by_road_induced_loss"]
        .as_f64()
        .unwrap();
    close(emitted, within, 1e-9, "summary road tCO2");
    // From roads.csv to the ledger: the segments' own tonnes, what their
    // losses add together, less the tranches' years after the horizon.
    let rec = &s["finance"]["carbon_tco2"]["road_emissions_reconciliation"];
    let f = |k: &str| rec[k].as_f64().unwrap_or_else(|| panic!("{k}"));
    close(f("sum_of_portfolio_segments"), segs, 1e-9, "segments' tCO2");
    close(f("interaction"), joint - segs, 1e-9, "interaction");
    let after: f64 = p1
        .iter()
        .map(|&y| by_year[h - y..].iter().sum::<f64>() / p1.len() as f64)
        .sum();
    assert!(after > 0.0, "tranches of years 1-5 run past year {h}");
    close(f("after_horizon"), -after, 1e-9, "after the horizon");
    close(
        segs + f("interaction") + f("after_horizon"),
        ledger,
        1e-9,
        "segments + interaction - after the horizon = ledger",
    );
    close(f("in_plan"), ledger, 1e-9, "in plan");
}
