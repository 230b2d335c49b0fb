//! `report.html`: one self-contained page (no network) a planner can hand
//! on: headline figures, maps of roads by class, parcels by transition and
//! conservation areas by funding gap, the top-ranked roads, the capital
//! stack by phase, the Monte Carlo distribution and the assumptions. Charts
//! and maps are drawn with plotters as inline SVG.

use plotters::prelude::*;
use serde_json::Value;

use crate::config::LandscapeConfig;
use crate::conservation::FundingResult;
use crate::finance::Finance;
use crate::inputs::Inputs;
use crate::io::qml::esc;
use crate::parcels::ParcelsResult;
use crate::roads::{RoadsResult, SegmentClass};

/// `x` rounded to `decimals`, with a negative zero made positive, so no
/// "-0" or "-0.0" ever reaches a reader.
pub fn nz(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    let y = (x * p).round() / p;
    if y == 0.0 {
        0.0
    } else {
        y
    }
}

/// A whole number with thousands separators, never "-0".
///
/// ```
/// assert_eq!(greenhalo::report::fmt_int(-0.3), "0");
/// assert_eq!(greenhalo::report::fmt_int(30000.0), "30,000");
/// ```
pub fn fmt_int(x: f64) -> String {
    let v = nz(x, 0);
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn money(v: f64) -> String {
    let v = if v.abs() >= 1e6 { nz(v, -5) } else { nz(v, 0) };
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a >= 1e6 {
        format!("{sign}US${:.1} M", a / 1e6)
    } else {
        format!("{sign}US${}", fmt_int(a))
    }
}

const ROAD_COLORS: [(SegmentClass, RGBColor, &str); 4] = [
    (SegmentClass::Improve, RGBColor(26, 150, 65), "improve"),
    (
        SegmentClass::ImproveWithSafeguards,
        RGBColor(253, 174, 97),
        "improve with safeguards",
    ),
    (
        SegmentClass::DoNotImprove,
        RGBColor(150, 150, 150),
        "do not improve",
    ),
    (SegmentClass::Avoid, RGBColor(215, 25, 28), "avoid"),
];

const TRANSITION_COLORS: [(&str, RGBColor); 6] = [
    ("cocoa_agroforestry", RGBColor(140, 81, 10)),
    ("coffee_agroforestry", RGBColor(191, 129, 45)),
    ("silvopasture", RGBColor(128, 205, 193)),
    ("diversified_agroforestry", RGBColor(90, 180, 172)),
    ("assisted_restoration", RGBColor(1, 102, 94)),
    ("keep_current_use", RGBColor(225, 225, 225)),
];

/// A chart drawing on a map frame in grid coordinates.
type MapChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A map frame on the grid's extent, aspect kept; `draw` adds the layers.
fn map_svg(inp: &Inputs, title: &str, draw: &dyn Fn(&mut MapChart)) -> String {
    let g = &inp.grid;
    let (w, h) = (g.x_max() - g.x_min, g.y_max - g.y_min());
    let px_w = 640u32;
    let px_h = ((px_w as f64) * h / w).clamp(200.0, 900.0) as u32 + 40;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (px_w, px_h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(6)
            .build_cartesian_2d(g.x_min..g.x_max(), g.y_min()..g.y_max)
        {
            let aoi: Vec<&geo::Polygon<f64>> = inp.aoi.0.iter().collect();
            for p in aoi {
                let pts: Vec<(f64, f64)> = p.exterior().0.iter().map(|c| (c.x, c.y)).collect();
                let _ = chart.draw_series(std::iter::once(PathElement::new(pts, BLACK.mix(0.6))));
            }
            draw(&mut chart);
        }
        let _ = root.present();
    }
    s
}

fn polys(mp: &geo::MultiPolygon<f64>) -> Vec<Vec<(f64, f64)>> {
    mp.0.iter()
        .map(|p| p.exterior().0.iter().map(|c| (c.x, c.y)).collect())
        .collect()
}

fn legend(items: &[(String, RGBColor)]) -> String {
    let spans: String = items
        .iter()
        .map(|(l, c)| {
            format!(
                r#"<span class="key"><i style="background:rgb({},{},{})"></i>{}</span>"#,
                c.0,
                c.1,
                c.2,
                esc(l)
            )
        })
        .collect();
    format!(r#"<div class="legend">{spans}</div>"#)
}

/// A chart axis from `lo` to `hi` that plotters can draw: None when either
/// end is not finite (the chart is left out, never a panic), widened when
/// the two ends are equal at the values' precision.
const NO_CHART: &str =
    "<p class=\"note\">Chart left out: its values are not finite numbers (see summary.json).</p>";

fn axis(lo: f64, hi: f64) -> Option<(f64, f64)> {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return None;
    }
    let pad = 1e-6 * lo.abs().max(hi.abs()).max(1.0);
    let (lo, hi) = if hi - lo < pad {
        (lo - pad, hi + pad)
    } else {
        (lo, hi)
    };
    (lo.is_finite() && hi.is_finite() && hi > lo).then_some((lo, hi))
}

fn capital_chart(f: &Finance) -> String {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = f
            .capital_stack
            .iter()
            .map(|p| p.investment_usd)
            .fold(1.0, f64::max)
            / 1e6;
        let Some((_, top)) = axis(0.0, max * 1.1) else {
            return NO_CHART.into();
        };
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption("Capital stack by phase (US$ M)", ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.5f64..3.5f64, 0f64..top)
        {
            let _ = chart
                .configure_mesh()
                .x_labels(3)
                .x_label_formatter(&|x| format!("phase {:.0}", x))
                .y_desc("US$ M")
                .draw();
            let layers = [
                ("philanthropic", RGBColor(117, 107, 177)),
                ("public", RGBColor(49, 130, 189)),
                ("development bank guarantee", RGBColor(158, 202, 225)),
                ("private", RGBColor(49, 163, 84)),
            ];
            for p in &f.capital_stack {
                let x = p.phase as f64;
                let vals = [
                    p.philanthropic_usd,
                    p.public_usd,
                    p.development_bank_guarantee_usd,
                    p.private_usd,
                ];
                let mut base = 0.0;
                for (v, (_, c)) in vals.iter().zip(layers.iter()) {
                    let top = base + v / 1e6;
                    let _ = chart.draw_series(std::iter::once(Rectangle::new(
                        [(x - 0.3, base), (x + 0.3, top)],
                        c.filled(),
                    )));
                    base = top;
                }
            }
        }
        let _ = root.present();
    }
    s
}

/// The efficiency frontier: economic NPV against forest loss of the best
/// portfolio at each budget, the chosen portfolio marked.
fn frontier_chart(roads: &crate::roads::RoadsResult) -> String {
    let pts: Vec<(f64, f64)> = roads
        .frontier
        .iter()
        .map(|p| (p.forest_loss_ha, p.npv_econ_usd / 1e6))
        .collect();
    let xmax = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let (Some((_, xr)), Some((_, yr))) = (axis(0.0, xmax * 1.05), axis(0.0, ymax * 1.1)) else {
        return NO_CHART.into();
    };
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption("Efficiency frontier of road portfolios", ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(54)
            .build_cartesian_2d(0f64..xr, 0f64..yr)
        {
            let _ = chart
                .configure_mesh()
                .x_desc("extra forest loss over the horizon (ha)")
                .y_desc("economic NPV (US$ M)")
                .draw();
            let blue = RGBColor(49, 130, 189);
            let _ = chart.draw_series(LineSeries::new(pts.clone(), blue.stroke_width(2)));
            let _ = chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, blue.filled())));
            let chosen: f64 = roads
                .scored
                .iter()
                .filter(|s| s.in_portfolio)
                .map(|s| s.npv_econ_usd)
                .sum::<f64>()
                / 1e6;
            let loss: f64 = roads
                .scored
                .iter()
                .filter(|s| s.in_portfolio)
                .map(|s| s.effects.forest_loss_ha)
                .sum();
            let red = RGBColor(215, 25, 28);
            let _ = chart.draw_series(std::iter::once(Circle::new(
                (loss, chosen),
                6,
                red.filled(),
            )));
            let _ = chart.draw_series(std::iter::once(Text::new(
                "chosen portfolio",
                (loss, chosen),
                ("sans-serif", 12),
            )));
        }
        let _ = root.present();
    }
    s
}

/// "With a quarter of the forest loss, X% of the benefit": the frontier
/// read at 25%, 50% and 75% of the loss of every candidate.
fn frontier_sentence(roads: &crate::roads::RoadsResult) -> String {
    let f = &roads.frontier;
    if f.len() < 2 || f.last().is_some_and(|p| p.forest_loss_ha <= 0.0) {
        return "No candidate segment brings forest loss: the frontier is flat.".into();
    }
    let parts: Vec<String> = [0.25, 0.5, 0.75]
        .iter()
        .filter_map(|&l| {
            f.iter()
                .filter(|p| p.loss_share <= l + 1e-9)
                .map(|p| p.benefit_share)
                .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))))
                .map(|b| {
                    format!(
                        "{:.0}% of the economic benefit for {:.0}% of the forest loss",
                        100.0 * b,
                        100.0 * l
                    )
                })
        })
        .collect();
    format!(
        "Budgets from zero to every segment worth building (20 steps; the best portfolio at each, solved exactly): {}. Points and figures in road_frontier.csv.",
        parts.join("; ")
    )
}

/// The farmland tables: by transition (parcels, area, investment, farmer
/// NPV and earnings multiple), by phase and by instrument.
fn farmland_tables(parcels: &ParcelsResult) -> String {
    if !parcels.parcels.iter().any(|p| p.selected) {
        return "<p class=\"note\">No parcel is selected.</p>".into();
    }
    let median = |v: &[f64]| -> String {
        if v.is_empty() {
            return "–".into();
        }
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let m = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        format!("{m:.1}× (range {:.1}–{:.1}×)", v[0], v[n - 1])
    };
    let mut t = String::from("<table><tr><th>transition</th><th>parcels</th><th>km²</th><th>investment</th><th>farmers' NPV</th><th>earnings multiple at maturity, median</th></tr>");
    for (name, g) in parcels.selected_by(|p| p.transition.clone()) {
        t.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&name),
            fmt_int(g.parcels as f64),
            nz(g.area_ha / 100.0, 1),
            money(g.investment_usd),
            money(g.private_npv_usd),
            median(&g.earnings_multiples)
        ));
    }
    let simple = |t: &mut String, head: &str, rows: Vec<(String, crate::parcels::Group)>| {
        t.push_str(&format!(
            "</table><table><tr><th>{head}</th><th>parcels</th><th>km²</th><th>investment</th></tr>"
        ));
        for (k, g) in rows {
            t.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
                esc(&k),
                fmt_int(g.parcels as f64),
                nz(g.area_ha / 100.0, 1),
                money(g.investment_usd)
            ));
        }
    };
    simple(
        &mut t,
        "phase",
        parcels
            .selected_by(|p| p.phase.unwrap_or(0))
            .into_iter()
            .map(|(k, g)| (k.to_string(), g))
            .collect(),
    );
    simple(
        &mut t,
        "instrument",
        parcels
            .selected_by(|p| p.instrument.clone().unwrap_or_else(|| "none".into()))
            .into_iter()
            .collect(),
    );
    t.push_str("</table>");
    t
}

fn histogram(f: &Finance) -> String {
    let v = &f.monte_carlo.return_multiples;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 300)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Some((lo, hi)) = axis(
            v.first().copied().unwrap_or(0.0),
            v.last().copied().unwrap_or(1.0),
        ) else {
            return NO_CHART.into();
        };
        let bins = 30usize;
        let wbin = (hi - lo) / bins as f64;
        let mut counts = vec![0u32; bins];
        for x in v {
            let k = (((x - lo) / wbin) as usize).min(bins - 1);
            counts[k] += 1;
        }
        let max = counts.iter().copied().max().unwrap_or(1) as f64;
        if let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(
                format!("Monte Carlo: return multiple ({} draws)", v.len()),
                ("sans-serif", 16),
            )
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(lo..hi, 0f64..max * 1.1)
        {
            let _ = chart
                .configure_mesh()
                .x_desc("returns / investment")
                .y_desc("draws")
                .draw();
            let _ = chart.draw_series(counts.iter().enumerate().map(|(k, c)| {
                let x0 = lo + k as f64 * wbin;
                Rectangle::new(
                    [(x0, 0.0), (x0 + wbin, *c as f64)],
                    RGBColor(49, 130, 189).filled(),
                )
            }));
            for (q, label) in [
                (f.monte_carlo.return_multiple_p10, "P10"),
                (f.monte_carlo.return_multiple_p50, "P50"),
                (f.monte_carlo.return_multiple_p90, "P90"),
            ] {
                let _ = chart.draw_series(std::iter::once(PathElement::new(
                    vec![(q, 0.0), (q, max * 1.05)],
                    BLACK,
                )));
                let _ = chart.draw_series(std::iter::once(Text::new(
                    label.to_string(),
                    (q, max * 1.08),
                    ("sans-serif", 12),
                )));
            }
        }
        let _ = root.present();
    }
    s
}

/// Build the page.
#[allow(clippy::too_many_arguments)]
pub fn html(
    inp: &Inputs,
    cfg: &LandscapeConfig,
    summary: &Value,
    roads: &RoadsResult,
    parcels: &ParcelsResult,
    funding: &FundingResult,
    fin: &Finance,
) -> String {
    let roads_map = map_svg(inp, "Road segments by class", &|chart| {
        for c in &inp.conservation {
            for ring in polys(&c.geom) {
                let _ = chart.draw_series(std::iter::once(Polygon::new(
                    ring,
                    RGBColor(120, 180, 120).mix(0.25).filled(),
                )));
            }
        }
        for (s, seg) in roads.scored.iter().zip(&roads.segments) {
            let color = ROAD_COLORS
                .iter()
                .find(|c| c.0 == s.class)
                .map(|c| c.1)
                .unwrap_or(BLACK);
            let pts: Vec<(f64, f64)> = seg.geom.0.iter().map(|c| (c.x, c.y)).collect();
            let width = if s.in_portfolio { 3 } else { 1 };
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                pts,
                color.stroke_width(width),
            )));
        }
    });
    let parcels_map = map_svg(inp, "Farmland parcels by transition", &|chart| {
        for (p, r) in inp.parcels.iter().zip(&parcels.parcels) {
            let name = if r.selected {
                r.transition.as_str()
            } else {
                "keep_current_use"
            };
            let color = TRANSITION_COLORS
                .iter()
                .find(|c| c.0 == name)
                .map(|c| c.1)
                .unwrap_or(RGBColor(200, 200, 200));
            for ring in polys(&p.geom) {
                let _ = chart.draw_series(std::iter::once(Polygon::new(ring, color.filled())));
            }
        }
    });
    let max_gap = funding
        .areas
        .iter()
        .map(|a| a.gap_usd_per_year)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let cons_map = map_svg(inp, "Conservation areas by funding gap", &|chart| {
        for (c, a) in inp.conservation.iter().zip(&funding.areas) {
            let t = (a.gap_usd_per_year / max_gap).clamp(0.0, 1.0);
            let color = RGBColor(
                (26.0 + t * 189.0) as u8,
                (150.0 - t * 125.0) as u8,
                (65.0 - t * 37.0) as u8,
            );
            for ring in polys(&c.geom) {
                let _ =
                    chart.draw_series(std::iter::once(Polygon::new(ring, color.mix(0.8).filled())));
            }
        }
    });

    // The planner's road table: the portfolio first, then every segment
    // that needs safeguards and every one to avoid, each with its reason.
    use crate::roads::SegmentClass;
    let mut ranked: Vec<&crate::roads::ScoredSegment> = roads.scored.iter().collect();
    ranked.sort_by_key(|s| s.rank);
    let row = |s: &&crate::roads::ScoredSegment| -> String {
        let name = s.name.as_deref().unwrap_or("");
        let short: String = name.chars().take(60).collect();
        let short = if short.len() < name.len() {
            format!("{short}…")
        } else {
            short
        };
        format!(
            "<tr><td title=\"{}\">{}</td><td>{}</td><td>{} → {}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(&short),
            esc(&s.id),
            s.class_from.as_str(),
            esc(&s.upgrade_to),
            nz(s.length_km, 2),
            money(s.cost_usd),
            money(s.npv_econ_usd),
            nz(s.bcr, 2),
            s.eirr.map(|r| format!("{:.1}%", 100.0 * r)).unwrap_or_else(|| "–".into()),
            nz(s.effects.forest_loss_ha, 1),
            money(s.npv_net_usd),
            s.class.as_str(),
            esc(&s.reasons)
        )
    };
    let table = |rows: Vec<&&crate::roads::ScoredSegment>, empty: &str| -> String {
        if rows.is_empty() {
            return format!("<p class=\"note\">{empty}</p>");
        }
        let body: String = rows.iter().map(|s| row(s)).collect();
        format!(
            "<table class=\"roads\"><tr><th>name</th><th>id</th><th>upgrade</th><th>km</th><th>cost</th><th>NPV econ</th><th>BCR</th><th>EIRR</th><th>forest loss ha</th><th>NPV net</th><th>class</th><th>why</th></tr>{body}</table>"
        )
    };
    let portfolio_table = table(
        ranked.iter().filter(|s| s.in_portfolio).collect(),
        "No segment is worth its cost within the budget.",
    );
    let safeguard_table = table(
        ranked
            .iter()
            .filter(|s| !s.in_portfolio && s.class == SegmentClass::ImproveWithSafeguards)
            .collect(),
        "No other segment needs safeguards.",
    );
    let avoid_table = table(
        ranked
            .iter()
            .filter(|s| s.class == SegmentClass::Avoid)
            .collect(),
        "No segment is to be avoided.",
    );
    let n_do_not = ranked
        .iter()
        .filter(|s| s.class == SegmentClass::DoNotImprove)
        .count();
    let cons_rows: String = funding
        .areas
        .iter()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td><td>{:.1}</td><td>{}</td></tr>",
                esc(&a.needs.name),
                nz(a.needs.area_km2, 1),
                nz(a.needs.threat_ha, 1),
                money(a.needs.required_usd_per_year),
                a.allocated_by_source
                    .iter()
                    .filter(|(_, v)| *v > 0.5)
                    .map(|(n, v)| format!("{}: {}", esc(n), money(*v)))
                    .collect::<Vec<_>>()
                    .join("<br>"),
                money(a.gap_usd_per_year),
                nz(a.funded_share * 100.0, 0),
                nz(a.avoided_loss_ha, 1),
                esc(&crate::conservation::gap_reasons(
                    a,
                    &cfg.conservation_funding.sources,
                    funding,
                    &cfg.conservation_funding
                ))
            )
        })
        .collect();
    let stack_rows: String = fin
        .capital_stack
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{} ({})</td><td>{}</td><td>{:.0}%</td><td>{:.0}%</td><td>{}</td></tr>",
                p.phase,
                p.years,
                money(p.investment_usd),
                nz(p.private_share * 100.0, 0),
                nz(p.target_private_share * 100.0, 0),
                esc(&p.note)
            )
        })
        .collect();
    let hl = &fin.headline;
    let mc = &fin.monte_carlo;
    let irr = hl
        .irr
        .map(|x| format!("{:.1}%", nz(x * 100.0, 1)))
        .unwrap_or_else(|| "undefined (no sign change)".into());
    let risk_note = summary["risk"]["note"].as_str().unwrap_or("");
    let auc = summary["risk"]["auc_holdout"]
        .as_f64()
        .map(|a| format!(", held-out AUC {a:.3}"))
        .unwrap_or_default();
    let assumptions = toml::to_string(&serde_json::json!({
        "economics": cfg.economics,
        "road_upgrades": cfg.road_upgrades,
        "finance": cfg.finance,
    }))
    .unwrap_or_default();
    let road_legend = legend(
        &ROAD_COLORS
            .iter()
            .map(|c| (c.2.to_string(), c.1))
            .collect::<Vec<_>>(),
    );
    let tr_legend = legend(
        &TRANSITION_COLORS
            .iter()
            .map(|c| (c.0.replace('_', " "), c.1))
            .collect::<Vec<_>>(),
    );
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>greenhalo report: {name}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 1em; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 10em; }}
.card b {{ display: block; font-size: 1.3em; }}
table {{ border-collapse: collapse; font-size: .85em; }} td, th {{ border: 1px solid #ddd; padding: .25em .5em; text-align: left; }}
.legend .key {{ margin-right: 1em; font-size: .85em; }} .legend i {{ display: inline-block; width: 1em; height: .8em; margin-right: .3em; }}
pre {{ background: #f6f6f6; padding: 1em; font-size: .8em; overflow-x: auto; }}
</style></head><body>
<h1>Green Halo plan: {name}</h1>
<p>Grid {crs}, {res} m cells; horizon {h} years at {r:.0}%; risk model: {risk_note}{auc}.</p>
<div class="cards">
<div class="card">Investment<b>{inv}</b></div>
<div class="card">Returns over {h} years<b>{ret}</b></div>
<div class="card">Return multiple<b>{mult:.2} : 1</b></div>
<div class="card">NPV<b>{npv}</b></div>
<div class="card">IRR<b>{irr}</b></div>
<div class="card">Payback year<b>{payback}</b></div>
<div class="card">Monte Carlo P10 / P50 / P90<b>{p10:.2} / {p50:.2} / {p90:.2}</b></div>
<div class="card">Farmland transitioned<b>{sel_km2:.0} km²</b></div>
<div class="card">Conservation funded<b>{funded:.0}%</b></div>
</div>
<h2>Roads</h2>
{road_legend}
{roads_map}
<p>Thick lines: the budgeted portfolio ({port_n} segments, {port_cost}; joint NPV_net {port_net}). {port_note}.</p>
<h3>The portfolio</h3>
<p>Every segment funded within the road budget, by rank (Pareto layer of economic benefit up and forest loss down, then NPV_net).</p>
{portfolio_table}
<h3>Worth improving only with safeguards</h3>
<p>Segments not in the portfolio whose economic NPV is positive but whose carbon cost outweighs it, whose deforestation per US$1 M of benefit is above the threshold, or which lie within the halo distance of a conservation area (the reason is given on each line).</p>
{safeguard_table}
<h3>To avoid</h3>
<p>Segments that run through a conservation area, whatever their return.</p>
{avoid_table}
<p>{n_do_not} segment(s) do not repay their cost (class do_not_improve); every segment with every figure is in roads.csv and roads.geojson.</p>
<h3>Efficiency frontier</h3>
{frontier_svg}
<p>{frontier_text}</p>
<h2>Farmland parcels</h2>
{tr_legend}
{parcels_map}
<p>{parcels_note}</p>
{farmland}
<h2>Conservation funding</h2>
{cons_map}
<table><tr><th>area</th><th>km²</th><th>threat ha</th><th>required /yr</th><th>allocated /yr, by source</th><th>gap /yr</th><th>funded</th><th>loss avoided ha</th><th>why a gap remains</th></tr>{cons_rows}</table>
<p>{source_use}</p>
<h2>Finance</h2>
{capital}
{legend_stack}
<table><tr><th>phase</th><th>investment</th><th>private</th><th>target</th><th>note</th></tr>{stack_rows}</table>
{hist}
<h2>Assumptions</h2>
<pre>{assumptions}</pre>
<p>Made by greenhalo {version}. Every figure is also in summary.json and the layers beside this page.</p>
</body></html>
"#,
        name = esc(&inp.name),
        crs = esc(&inp.grid.crs),
        res = inp.grid.res,
        h = cfg.economics.horizon_years,
        r = nz(cfg.economics.discount_rate * 100.0, 0),
        inv = money(hl.investment_usd),
        ret = money(hl.returns_usd),
        mult = nz(hl.return_multiple, 2),
        npv = money(hl.npv_usd),
        payback = hl
            .payback_year
            .map(|y| y.to_string())
            .unwrap_or_else(|| "none".into()),
        p10 = nz(mc.return_multiple_p10, 2),
        p50 = nz(mc.return_multiple_p50, 2),
        p90 = nz(mc.return_multiple_p90, 2),
        sel_km2 = nz(parcels.selected_ha / 100.0, 0),
        funded = nz(funding.funded_share() * 100.0, 0),
        port_n = roads.portfolio.segments.len(),
        port_cost = money(roads.portfolio.cost_usd),
        port_net = money(roads.portfolio.npv_net_joint_usd),
        port_note = esc(&roads.portfolio.note),
        parcels_note = esc(&parcels.note),
        farmland = farmland_tables(parcels),
        capital = capital_chart(fin),
        legend_stack = legend(&[
            ("philanthropic".into(), RGBColor(117, 107, 177)),
            ("public".into(), RGBColor(49, 130, 189)),
            ("development bank guarantee".into(), RGBColor(158, 202, 225)),
            ("private".into(), RGBColor(49, 163, 84)),
        ]),
        hist = histogram(fin),
        source_use = esc(&funding
            .sources
            .iter()
            .map(|(n, offered, used)| format!(
                "{n}: {} of {} a year allocated{}",
                money(*used),
                money(*offered),
                if offered - used > 0.5 {
                    format!(", {} unused", money(offered - used))
                } else {
                    String::new()
                }
            ))
            .collect::<Vec<_>>()
            .join("; ")),
        frontier_svg = frontier_chart(roads),
        frontier_text = esc(&frontier_sentence(roads)),
        assumptions = esc(&assumptions),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// The lines `greenhalo run` prints at the end: headline figures, where the
/// report and project are, seconds per stage.
pub fn terminal_summary(
    summary: &serde_json::Value,
    out_dir: &std::path::Path,
    stages: &[(&str, f64)],
) -> String {
    let f = |v: &serde_json::Value| v.as_f64();
    let mut lines = Vec::new();
    let name = summary["landscape"].as_str().unwrap_or("landscape");
    lines.push(name.to_string());
    let r = &summary["roads"];
    let port = &r["portfolio"];
    if let (Some(n), Some(cost), Some(net)) = (
        port["segments"].as_array().map(|a| a.len()),
        f(&port["cost_usd"]),
        f(&port["npv_net_joint_usd"]),
    ) {
        lines.push(format!(
            "  roads         {n} of {} segments funded, {}, joint NPV net {}",
            r["segments"].as_u64().unwrap_or(0),
            money(cost),
            money(net)
        ));
    }
    let p = &summary["parcels"];
    if let (Some(sel), Some(km2), Some(inv)) = (
        p["selected"].as_u64(),
        f(&p["selected_km2"]),
        f(&p["investment_usd"]),
    ) {
        lines.push(format!(
            "  farmland      {} parcels, {km2:.1} km², {} invested",
            fmt_int(sel as f64),
            money(inv)
        ));
    }
    let c = &summary["conservation"];
    if let (Some(share), Some(gap)) = (f(&c["funded_share"]), f(&c["gap_usd_per_year"])) {
        lines.push(format!(
            "  conservation  {:.1}% funded, gap {} a year",
            100.0 * share,
            money(gap)
        ));
    }
    let fi = &summary["finance"];
    if let (Some(m), Some(npv)) = (f(&fi["return_multiple"]), f(&fi["npv_usd"])) {
        let irr = f(&fi["irr"])
            .map(|x| format!(", IRR {:.1}%", 100.0 * x))
            .unwrap_or_default();
        lines.push(format!(
            "  plan          returns {m:.2}:1, NPV {}{irr}",
            money(npv)
        ));
    }
    for (what, file) in [("report", "report.html"), ("QGIS project", "greenhalo.qgs")] {
        let p = out_dir.join(file);
        if p.exists() {
            lines.push(format!("  {what:<13} {}", p.display()));
        }
    }
    let total: f64 = stages.iter().map(|s| s.1).sum();
    let times: Vec<String> = stages.iter().map(|(s, t)| format!("{s} {t:.1}")).collect();
    lines.push(format!(
        "  seconds       {} (total {total:.1})",
        times.join(", ")
    ));
    lines.join("\n")
}
