//! `report.html`: one self-contained page (no network) a planner can hand
//! on: headline figures, maps of roads by class, parcels by transition and
//! conservation areas by funding gap, the top-ranked roads, the capital
//! stack by phase, the Monte Carlo distribution and the assumptions. Charts
//! and maps are drawn with plotters as inline SVG.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use crate::config::LandscapeConfig;
use crate::conservation::FundingResult;
use crate::finance::Finance;
use crate::fmt::{esc, fmt_int, money, nz, sentence_case};
use crate::inputs::Inputs;
use crate::parcels::ParcelsResult;
use crate::roads::{RoadsResult, SegmentClass};

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

/// A chart drawing on a map frame in grid coordinates.
type MapChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A round length for a scale bar about `target` metres long: 1, 2 or 5
/// times a power of ten.
///
/// ```
/// assert_eq!(greenhalo::report::scale_bar_m(7_300.0), 5_000.0);
/// assert_eq!(greenhalo::report::scale_bar_m(1_900.0), 1_000.0);
/// assert_eq!(greenhalo::report::scale_bar_m(24_000.0), 20_000.0);
/// ```
pub fn scale_bar_m(target: f64) -> f64 {
    let p = 10f64.powf(target.max(1.0).log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|k| k * p)
        .find(|len| *len <= target)
        .unwrap_or(p)
}

fn km_label(m: f64) -> String {
    if m >= 1000.0 {
        format!("{} km", m / 1000.0)
    } else {
        format!("{m} m")
    }
}

/// The colour of the placeholder rectangle `map_svg` draws where the
/// terrain goes (a colour no layer uses), replaced by the terrain picture.
const TERRAIN_PLACEHOLDER: RGBColor = RGBColor(254, 1, 254);

/// The terrain under every map: the DEM's hillshade as one picture in the
/// page (`<symbol id="terrain">`), each map's frame drawing it (`<use>`)
/// on the grid's extent.
fn terrain_symbol(png: &[u8], width: usize, height: usize) -> String {
    use base64::Engine;
    format!(
        r#"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><symbol id="terrain" viewBox="0 0 {width} {height}" preserveAspectRatio="none"><image width="{width}" height="{height}" href="data:image/png;base64,{}"/></symbol></svg>"#,
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// The terrain picture's size in pixels for `inp`'s grid (its aspect kept,
/// 900 pixels on the longer side).
pub fn terrain_size(inp: &Inputs) -> (usize, usize) {
    let (w, h) = (inp.grid.width as f64, inp.grid.height as f64);
    let k = 900.0 / w.max(h);
    (
        ((w * k).round() as usize).max(1),
        ((h * k).round() as usize).max(1),
    )
}

/// A map frame on the grid's extent, aspect kept, with projected
/// coordinates in km on both axes and a light graticule over the terrain;
/// `draw` adds the layers, then markets are named and a scale bar and
/// north arrow drawn. The SVG scales with the page (viewBox, CSS
/// `width: 100%`).
fn map_svg(inp: &Inputs, title: &str, draw: &dyn Fn(&mut MapChart)) -> String {
    let g = &inp.grid;
    let (x0, x1, y0, y1) = (g.x_min, g.x_max(), g.y_min(), g.y_max);
    let (w, h) = (x1 - x0, y1 - y0);
    let px_w = 760u32;
    let plot_w = (px_w - 80) as f64;
    let px_h = (plot_w * h / w).clamp(200.0, 1000.0) as u32 + 80;
    let frame = std::cell::Cell::new(None);
    let page = svg((px_w, px_h), |root| {
        if let Ok(mut chart) = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(48)
            .build_cartesian_2d(x0..x1, y0..y1)
        {
            // The terrain first, under the graticule and every layer.
            let (a, b) = (
                chart.backend_coord(&(x0, y1)),
                chart.backend_coord(&(x1, y0)),
            );
            frame.set(Some((a, b)));
            let _ = chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, y1), (x1, y0)],
                TERRAIN_PLACEHOLDER.filled(),
            )));
            let km = |v: &f64| format!("{:.0}", v / 1000.0);
            let _ = chart
                .configure_mesh()
                .x_labels(6)
                .y_labels(6)
                .x_label_formatter(&km)
                .y_label_formatter(&km)
                .x_desc(format!("easting, km ({})", g.crs))
                .y_desc("northing, km")
                .label_style(("sans-serif", 11))
                .bold_line_style(BLACK.mix(0.10))
                .light_line_style(TRANSPARENT)
                .draw();
            for p in &inp.aoi.0 {
                let pts: Vec<(f64, f64)> = p.exterior().0.iter().map(|c| (c.x, c.y)).collect();
                let _ = chart.draw_series(std::iter::once(PathElement::new(
                    pts,
                    BLACK.mix(0.7).stroke_width(1),
                )));
            }
            draw(&mut chart);
            // Markets: a dot and the name.
            for m in &inp.markets {
                let (x, y) = (m.point.x(), m.point.y());
                if !(x0..=x1).contains(&x) || !(y0..=y1).contains(&y) {
                    continue;
                }
                let _ = chart.draw_series(std::iter::once(Circle::new((x, y), 4, BLACK.filled())));
                let _ = chart.draw_series(std::iter::once(Text::new(
                    m.name.clone(),
                    (x + 0.012 * w, y + 0.008 * h),
                    ("sans-serif", 12).into_font().style(FontStyle::Bold),
                )));
            }
            // Scale bar, bottom left: two blocks, 0 - half - full.
            let len = scale_bar_m(w / 4.0);
            let (sx, sy, bh) = (x0 + 0.04 * w, y0 + 0.05 * h, 0.012 * h);
            for (k, fill) in [(0.0, BLACK), (0.5, WHITE)] {
                let _ = chart.draw_series(std::iter::once(Rectangle::new(
                    [(sx + k * len, sy), (sx + (k + 0.5) * len, sy + bh)],
                    fill.filled(),
                )));
            }
            let _ = chart.draw_series(std::iter::once(Rectangle::new(
                [(sx, sy), (sx + len, sy + bh)],
                BLACK.stroke_width(1),
            )));
            for (at, label) in [(0.0, "0".to_string()), (1.0, km_label(len))] {
                let _ = chart.draw_series(std::iter::once(Text::new(
                    label,
                    (sx + at * len, sy + bh + 0.008 * h),
                    TextStyle::from(("sans-serif", 11).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )));
            }
            // North arrow, top right (grid north of the projected CRS).
            let (nx, ny, ah) = (x1 - 0.05 * w, y1 - 0.14 * h, 0.07 * h);
            let aw = 0.35 * ah;
            let _ = chart.draw_series(std::iter::once(Polygon::new(
                vec![(nx, ny + ah), (nx - aw, ny), (nx, ny + 0.3 * ah)],
                BLACK.filled(),
            )));
            let _ = chart.draw_series(std::iter::once(Polygon::new(
                vec![(nx, ny + ah), (nx + aw, ny), (nx, ny + 0.3 * ah)],
                BLACK.mix(0.35).filled(),
            )));
            let _ = chart.draw_series(std::iter::once(Text::new(
                "N",
                (nx, ny + ah + 0.01 * h),
                TextStyle::from(("sans-serif", 14).into_font().style(FontStyle::Bold))
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )));
        }
    });
    with_terrain(&page, frame.get())
}

/// `page` with its placeholder rectangle replaced by the terrain drawn on
/// `frame` (its top-left and bottom-right pixels).
fn with_terrain(page: &str, frame: Option<((i32, i32), (i32, i32))>) -> String {
    let (r, g, b) = (
        TERRAIN_PLACEHOLDER.0,
        TERRAIN_PLACEHOLDER.1,
        TERRAIN_PLACEHOLDER.2,
    );
    let fill = format!(r##"fill="#{r:02X}{g:02X}{b:02X}""##);
    let (Some(((ax, ay), (bx, by))), Some(at)) = (frame, page.find(&fill)) else {
        return page.to_string();
    };
    let (Some(start), Some(len)) = (page[..at].rfind('<'), page[at..].find("/>")) else {
        return page.to_string();
    };
    let end = at + len + 2;
    format!(
        r##"{}<use href="#terrain" x="{ax}" y="{ay}" width="{}" height="{}"/>{}"##,
        &page[..start],
        bx - ax,
        by - ay,
        &page[end..]
    )
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

/// An SVG drawing of `size` pixels on white; `draw` paints it.
fn svg(size: (u32, u32), draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>)) -> String {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
        let _ = root.fill(&WHITE);
        draw(&root);
        let _ = root.present();
    }
    s
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
    // Ends that differ only in the sixth digit or beyond (every value the
    // same) make an axis of ticks like 4.02272 ... 4.02273: widened to a
    // round window about them instead, a tenth of their size either side.
    let scale = lo.abs().max(hi.abs());
    let (lo, hi) = if hi - lo <= 1e-6 * scale.max(1e-300) {
        let step = crate::fmt::nice_step(if scale > 0.0 { 0.1 * scale } else { 1.0 }, 1);
        let mid = 0.5 * (lo + hi);
        (
            (mid / step).floor() * step - step,
            (mid / step).ceil() * step + step,
        )
    } else {
        (lo, hi)
    };
    (lo.is_finite() && hi.is_finite() && hi > lo).then_some((lo, hi))
}

fn capital_chart(f: &Finance) -> String {
    let max = f
        .capital_stack
        .iter()
        .map(|p| p.investment_usd)
        .fold(1.0, f64::max)
        / 1e6;
    let Some((_, top)) = axis(0.0, max * 1.1) else {
        return NO_CHART.into();
    };
    svg((640, 320), |root| {
        if let Ok(mut chart) = ChartBuilder::on(root)
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
                .light_line_style(TRANSPARENT)
                .draw();
            let layers = [
                ("philanthropic", RGBColor(117, 107, 177)),
                ("public", RGBColor(49, 130, 189)),
                ("concessional (development bank)", RGBColor(158, 202, 225)),
                ("private", RGBColor(49, 163, 84)),
            ];
            for p in &f.capital_stack {
                let x = p.phase as f64;
                let vals = [
                    p.philanthropic_usd,
                    p.public_usd,
                    p.concessional_usd,
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
    })
}

/// The efficiency frontier: economic NPV against forest loss of the best
/// portfolio at each budget, the chosen portfolio marked.
fn frontier_chart(roads: &crate::roads::RoadsResult) -> String {
    let pts: Vec<(f64, f64)> = roads
        .frontier
        .iter()
        .map(|p| (p.forest_loss_ha, p.npv_econ_usd / 1e6))
        .collect();
    let (loss, npv) = chosen_point(roads);
    let xmax = pts.iter().map(|p| p.0).fold(loss, f64::max);
    let ymax = pts.iter().map(|p| p.1).fold(npv / 1e6, f64::max);
    let (Some((_, xr)), Some((_, yr))) = (axis(0.0, xmax * 1.05), axis(0.0, ymax * 1.1)) else {
        return NO_CHART.into();
    };
    svg((640, 340), |root| {
        if let Ok(mut chart) = ChartBuilder::on(root)
            .caption(
                format!(
                    "Efficiency frontier within the road budget of {}",
                    money(roads.portfolio.budget_usd)
                ),
                ("sans-serif", 16),
            )
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(54)
            .build_cartesian_2d(0f64..xr, 0f64..yr)
        {
            let _ = chart
                .configure_mesh()
                .x_desc("extra forest loss over the horizon (ha)")
                .y_desc("economic NPV before carbon cost (US$ M)")
                .draw();
            let blue = RGBColor(49, 130, 189);
            // A staircase: between two portfolios of the frontier, more
            // loss buys nothing until the next one.
            let mut steps: Vec<(f64, f64)> = Vec::new();
            for (k, p) in pts.iter().enumerate() {
                if k > 0 {
                    steps.push((p.0, pts[k - 1].1));
                }
                steps.push(*p);
            }
            let _ = chart.draw_series(LineSeries::new(steps, blue.stroke_width(2)));
            let _ = chart.draw_series(pts.iter().map(|p| Circle::new(*p, 3, blue.filled())));
            let red = RGBColor(215, 25, 28);
            let _ = chart.draw_series(std::iter::once(Circle::new(
                (loss, npv / 1e6),
                6,
                red.filled(),
            )));
            let _ = chart.draw_series(std::iter::once(Text::new(
                "chosen portfolio ",
                (loss, npv / 1e6),
                TextStyle::from(("sans-serif", 12).into_font())
                    .pos(Pos::new(HPos::Right, VPos::Bottom)),
            )));
            // The same roads built together (their interactions counted),
            // where that moves the point.
            if let Some((jl, jv)) = joint_point(roads) {
                let _ = chart.draw_series(std::iter::once(PathElement::new(
                    vec![(loss, npv / 1e6), (jl, jv / 1e6)],
                    red.mix(0.6).stroke_width(1),
                )));
                let _ = chart.draw_series(std::iter::once(Circle::new(
                    (jl, jv / 1e6),
                    6,
                    red.stroke_width(2),
                )));
                let _ = chart.draw_series(std::iter::once(Text::new(
                    " built together",
                    (jl, jv / 1e6),
                    TextStyle::from(("sans-serif", 12).into_font())
                        .pos(Pos::new(HPos::Left, VPos::Top)),
                )));
            }
        }
    })
}

/// The chosen portfolio's forest loss and economic NPV with its roads
/// built together, when that differs from the sum of their own appraisals
/// by more than half a percent of either.
fn joint_point(roads: &crate::roads::RoadsResult) -> Option<(f64, f64)> {
    let p = &roads.portfolio;
    if p.segments.is_empty() {
        return None;
    }
    let (loss, npv) = chosen_point(roads);
    let (jl, jv) = (p.forest_loss_joint_ha.max(0.0), p.npv_econ_joint_usd);
    let apart = |a: f64, b: f64| (a - b).abs() > 0.005 * a.abs().max(b.abs()).max(1e-9);
    (apart(loss, jl) || apart(npv, jv)).then_some((jl, jv))
}

/// What the frontier leaves out: it adds up each segment's own appraisal,
/// and the chosen roads built together are worth what the re-check found.
fn joint_sentence(roads: &crate::roads::RoadsResult) -> String {
    match joint_point(roads) {
        None if roads.portfolio.segments.is_empty() => String::new(),
        None => " Built together, the chosen roads are worth what their own appraisals add up to (within half a percent), so the chart's point is the portfolio as it will be built.".into(),
        Some((loss, npv)) => {
            let (l0, v0) = chosen_point(roads);
            format!(
                " The frontier, like the ranking, adds up each segment's own appraisal; built together, the chosen roads are worth {} economic NPV for {} ha of forest loss (the hollow point), against {} for {} ha added up, because upgrades on the same ways to market share their users and the forest they open.",
                money(npv),
                nz(loss, 1),
                money(v0),
                nz(l0, 1)
            )
        }
    }
}

/// The chosen portfolio's forest loss and economic NPV, as the frontier
/// reads them (the segments' figures appraised one by one, added up).
fn chosen_point(roads: &crate::roads::RoadsResult) -> (f64, f64) {
    let chosen = roads.scored.iter().filter(|s| s.in_portfolio);
    chosen.fold((0.0, 0.0), |(l, v), s| {
        (l + s.effects.forest_loss_ha.max(0.0), v + s.npv_econ_usd)
    })
}

/// What the frontier says: the share of the largest economic NPV the
/// budget buys at its first point that brings one and at the points that
/// bring the most within 10%, 25%, 50% and 75% of its forest loss (each
/// point once, with its own shares); then where the chosen portfolio lies:
/// on the frontier, or how far below it at its own forest loss and why.
fn frontier_sentence(f: &[crate::roads::FrontierPoint], budget: f64, chosen: (f64, f64)) -> String {
    let Some(last) = f.last() else {
        return "No segment worth improving fits the budget: there is no frontier.".into();
    };
    let mut quoted: Vec<usize> = f
        .iter()
        .position(|p| p.benefit_share > 0.0)
        .into_iter()
        .collect();
    for l in [0.10, 0.25, 0.5, 0.75] {
        let best = f
            .iter()
            .enumerate()
            .filter(|(_, p)| p.loss_share <= l + 1e-9 && p.benefit_share > 0.0)
            .max_by(|a, b| a.1.benefit_share.total_cmp(&b.1.benefit_share));
        if let Some((i, _)) = best {
            if !quoted.contains(&i) {
                quoted.push(i);
            }
        }
    }
    quoted.sort_unstable();
    let parts: Vec<String> = quoted
        .iter()
        .map(|&i| {
            let p = &f[i];
            format!(
                "{}% of it for {}% of its forest loss ({} segment(s), {})",
                nz(100.0 * p.benefit_share, 1),
                nz(100.0 * p.loss_share, 1),
                p.segments,
                money(p.cost_usd)
            )
        })
        .collect();
    let read = if last.forest_loss_ha <= 0.0 {
        "it brings no forest loss, so the frontier is a single point".to_string()
    } else if parts.is_empty() {
        "every portfolio that brings a benefit brings more than 75% of that loss".to_string()
    } else {
        parts.join("; ")
    };
    let (loss, npv) = chosen;
    let on = f.iter().find(|p| p.chosen);
    let place = match on {
        Some(p) => format!(
            "The chosen portfolio is on the frontier ({}% of the economic NPV for {}% of the forest loss).",
            nz(100.0 * p.benefit_share, 1),
            nz(100.0 * p.loss_share, 1)
        ),
        None => {
            // The frontier point with no more loss than the chosen one.
            let below = f
                .iter()
                .filter(|p| p.forest_loss_ha <= loss + 1e-9)
                .map(|p| p.npv_econ_usd)
                .fold(0.0, f64::max);
            format!(
                "The chosen portfolio ({} economic NPV, {} ha) is not on it: the frontier reaches {} with no more forest loss. The portfolio is chosen on NPV net of carbon cost, which weighs each hectare by its carbon and by the year it is lost rather than counting hectares, and is re-checked with the upgrades together.",
                money(npv),
                nz(loss, 1),
                money(below)
            )
        }
    };
    let unproven = f.iter().filter(|p| !p.proven).count();
    let unproven = if unproven > 0 {
        format!(
            " {unproven} point(s) reached the solver's time limit: they are the best found, not proven."
        )
    } else {
        String::new()
    };
    format!(
        "Within the road budget of {}, the most economic NPV (before carbon cost) the roads can bring is {} for {} ha of forest loss; the frontier gives {read}. {place}{unproven} Each point's segments are in road_frontier.csv.",
        money(budget),
        money(last.npv_econ_usd),
        nz(last.forest_loss_ha, 1),
    )
}

/// The farmland tables: by transition (parcels, area, investment, farmer
/// NPV and earnings multiple), by phase and by instrument.
/// How firm each selected group of parcels is (by transition and phase):
/// the loss when the group is forbidden and the selection made again.
fn parcel_importance(parcels: &ParcelsResult) -> String {
    if parcels.importance.is_empty() {
        return String::new();
    }
    let rows: String = parcels
        .importance
        .iter()
        .map(|g| {
            let (loss, share) = match (g.loss_usd, g.share) {
                (Some(l), Some(s)) => (money(l), format!("{:.0}%", nz(s * 100.0, 0))),
                _ => ("—".to_string(), "—".to_string()),
            };
            let words = match g.firmness {
                "needed_for_the_area_target" => "needed for the area target",
                f => f,
            };
            format!(
                "<tr><td data-l=\"transition\">{}</td><td data-l=\"phase\" class=\"num\">{}</td><td data-l=\"parcels\" class=\"num\">{}</td><td data-l=\"area\" class=\"num\">{} ha</td><td data-l=\"value\" class=\"num\">{}</td><td data-l=\"lost without it\" class=\"num\">{}</td><td data-l=\"share\" class=\"num\">{}</td><td data-l=\"\" class=\"{}\">{}</td></tr>",
                esc(&g.transition.replace('_', " ")),
                g.phase,
                fmt_int(g.parcels as f64),
                fmt_int(g.area_ha),
                money(g.value_usd),
                loss,
                share,
                if g.firmness == "interchangeable" { "inter" } else { "firm" },
                words
            )
        })
        .collect();
    format!(
        "<h3>How firm each group of parcels is</h3>\n<p>Each group of selected parcels (one transition in one phase) was forbidden in turn and the selection made again, exactly, on the parcels' values as published (parcels.csv total_npv_usd), within the budget{}. A group is firm when the selection loses at least {:.0}% of the group's value; interchangeable when other parcels nearly make up for it.</p>\n<div class=\"wide\"><table><thead><tr class=\"head\"><th>transition</th><th>phase</th><th>parcels</th><th>area</th><th>value</th><th>lost without it</th><th>share</th><th></th></tr></thead>{rows}</table></div>",
        if parcels.target_met { " and with the area target" } else { "" },
        crate::roads::FIRM_SHARE * 100.0
    )
}

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
    let mut t = String::from("<table><tr><th>transition</th><th>parcels</th><th>km²</th><th>investment</th><th>farmers' NPV over the transition's life</th><th>earnings multiple at maturity, median</th></tr>");
    for (name, g) in parcels.selected_by(|p| p.transition.clone()) {
        t.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&name),
            fmt_int(g.parcels as f64),
            nz(g.area_ha / 100.0, 1),
            money(g.investment_usd),
            money(g.private_npv_life_usd),
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

/// A histogram of `values` (30 bins) with labelled vertical marks.
fn histogram_svg(
    values: &[f64],
    title: &str,
    x_desc: &str,
    marks: &[(f64, String)],
    color: RGBColor,
) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let Some((lo, hi)) = axis(lo, hi) else {
        return NO_CHART.into();
    };
    let bins = 30usize;
    let wbin = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for x in &finite {
        let k = (((x - lo) / wbin) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    svg((640, 300), |root| {
        if let Ok(mut chart) = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0f64..max * 1.15)
        {
            let _ = chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc("count")
                .light_line_style(TRANSPARENT)
                .draw();
            let _ = chart.draw_series(counts.iter().enumerate().map(|(k, c)| {
                let x0 = lo + k as f64 * wbin;
                Rectangle::new([(x0, 0.0), (x0 + wbin, *c as f64)], color.filled())
            }));
            for (q, label) in marks {
                if !(lo..=hi).contains(q) {
                    continue;
                }
                let _ = chart.draw_series(std::iter::once(PathElement::new(
                    vec![(*q, 0.0), (*q, max * 1.04)],
                    BLACK,
                )));
                let _ = chart.draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*q, max * 1.05),
                    TextStyle::from(("sans-serif", 12).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )));
            }
        }
    })
}

/// The Monte Carlo distribution of the return multiple.
fn multiple_histogram(f: &Finance) -> String {
    let mc = &f.monte_carlo;
    histogram_svg(
        &mc.return_multiples,
        &format!("Monte Carlo: return multiple ({} draws)", mc.draws),
        "returns / investment",
        &[
            (mc.return_multiple_p10, "P10".into()),
            (mc.return_multiple_p50, "P50".into()),
            (mc.return_multiple_p90, "P90".into()),
        ],
        RGBColor(49, 130, 189),
    )
}

/// The Monte Carlo distribution of the NPV, zero marked.
fn npv_histogram(f: &Finance) -> String {
    let mc = &f.monte_carlo;
    let m: Vec<f64> = mc.npvs.iter().map(|v| v / 1e6).collect();
    histogram_svg(
        &m,
        &format!(
            "Monte Carlo: NPV (US$ M), P(NPV < 0) = {:.1}%",
            nz(mc.p_npv_negative * 100.0, 1)
        ),
        "NPV, US$ M",
        &[
            (0.0, "0".into()),
            (mc.npv_usd_p10 / 1e6, "P10".into()),
            (mc.npv_usd_p90 / 1e6, "P90".into()),
        ],
        RGBColor(116, 169, 207),
    )
}

/// Yearly net cash flow (bars) and cumulative net flow (line), payback
/// year marked.
fn cashflow_chart(f: &Finance) -> String {
    let h = f.cost.len().saturating_sub(1);
    let net: Vec<f64> = (1..=h).map(|t| (f.benefit[t] - f.cost[t]) / 1e6).collect();
    let cum: Vec<f64> = net
        .iter()
        .scan(0.0, |acc, n| {
            *acc += n;
            Some(*acc)
        })
        .collect();
    let lo = net.iter().chain(&cum).copied().fold(0.0, f64::min);
    let hi = net.iter().chain(&cum).copied().fold(0.0, f64::max);
    let Some((lo, hi)) = axis(lo, hi) else {
        return NO_CHART.into();
    };
    let pad = 0.08 * (hi - lo);
    svg((640, 320), |root| {
        if let Ok(mut chart) = ChartBuilder::on(root)
            .caption("Cash flow by year (US$ M)", ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(50)
            .build_cartesian_2d(0.4f64..h as f64 + 0.6, lo - pad..hi + pad)
        {
            let _ = chart
                .configure_mesh()
                .x_desc("year")
                .y_desc("US$ M")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .light_line_style(TRANSPARENT)
                .draw();
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.4, 0.0), (h as f64 + 0.6, 0.0)],
                BLACK.mix(0.5),
            )));
            let _ = chart.draw_series(net.iter().enumerate().map(|(k, v)| {
                let x = (k + 1) as f64;
                let c = if *v < 0.0 {
                    RGBColor(215, 48, 39)
                } else {
                    RGBColor(26, 152, 80)
                };
                Rectangle::new([(x - 0.35, 0.0), (x + 0.35, *v)], c.mix(0.8).filled())
            }));
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                cum.iter()
                    .enumerate()
                    .map(|(k, v)| ((k + 1) as f64, *v))
                    .collect::<Vec<_>>(),
                BLACK.stroke_width(2),
            )));
            if let Some(y) = f.headline.payback_year {
                let x = y as f64;
                let _ = chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, lo - pad), (x, hi + pad * 0.2)],
                    BLACK.mix(0.6).stroke_width(1),
                )));
                let _ = chart.draw_series(std::iter::once(Text::new(
                    format!("payback, year {y}"),
                    (x + 0.2, hi + pad * 0.2),
                    ("sans-serif", 12),
                )));
            }
        }
    })
}

/// A sensitivity factor's value as the report shows it: ×0.76, 7.4%, US$30/t.
fn factor_value(x: &crate::finance::Sensitivity, v: f64) -> String {
    match x.unit {
        "x base" => format!("×{v:.2}"),
        "per year" => format!("{:.1}%", v * 100.0),
        _ => format!("US${v:.0}/t"),
    }
}

/// Tornado of one figure (the return multiple or the NPV in US$ M) with
/// each factor at its P10 and P90, widest bar on top.
fn tornado_chart(f: &Finance, npv: bool) -> String {
    let base = if npv {
        f.headline.npv_usd / 1e6
    } else {
        f.headline.return_multiple
    };
    let mut rows: Vec<(String, f64, f64)> = f
        .sensitivity
        .iter()
        .map(|x| {
            let (l, h) = if npv {
                (x.npv_usd_low / 1e6, x.npv_usd_high / 1e6)
            } else {
                (x.return_multiple_low, x.return_multiple_high)
            };
            let show = |v: f64| factor_value(x, v);
            (
                format!("{} {}–{}", x.factor, show(x.low), show(x.high)),
                l,
                h,
            )
        })
        .collect();
    rows.sort_by(|a, b| (a.2 - a.1).abs().total_cmp(&(b.2 - b.1).abs()));
    let lo = rows.iter().flat_map(|r| [r.1, r.2]).fold(base, f64::min);
    let hi = rows.iter().flat_map(|r| [r.1, r.2]).fold(base, f64::max);
    let Some((lo, hi)) = axis(lo, hi) else {
        return NO_CHART.into();
    };
    let pad = 0.05 * (hi - lo);
    let n = rows.len();
    let title = if npv {
        "Sensitivity of the NPV (US$ M)"
    } else {
        "Sensitivity of the return multiple"
    };
    svg((640, 70 + 36 * n as u32), |root| {
        if let Ok(mut chart) = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(210)
            .build_cartesian_2d(lo - pad..hi + pad, (0..n).into_segmented())
        {
            let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
            let _ = chart
                .configure_mesh()
                .y_labels(n)
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .light_line_style(TRANSPARENT)
                .label_style(("sans-serif", 12))
                .draw();
            for (i, (_, l, h)) in rows.iter().enumerate() {
                // The low value's side in orange, the high value's in blue.
                for (v, c) in [(*l, RGBColor(230, 97, 1)), (*h, RGBColor(94, 60, 153))] {
                    let (a, b) = if v < base { (v, base) } else { (base, v) };
                    let _ = chart.draw_series(std::iter::once(Rectangle::new(
                        [(a, SegmentValue::Exact(i)), (b, SegmentValue::Exact(i + 1))],
                        c.mix(0.75).filled(),
                    )));
                }
            }
            let _ = chart.draw_series(std::iter::once(PathElement::new(
                vec![
                    (base, SegmentValue::Exact(0)),
                    (base, SegmentValue::Exact(n)),
                ],
                BLACK.stroke_width(1),
            )));
        }
    })
}

/// How far the forest-loss figures can be trusted: the risk model's
/// skill under block cross-validation, near roads and against the
/// edge-distance benchmark, and the forward check drawn as predicted
/// against observed loss per coarse cell.
fn risk_section(m: &crate::risk::RiskModel) -> String {
    let Some(v) = &m.validation else {
        return "<p>The risk model is not calibrated (no forest_loss raster): its default coefficients have not been checked against this landscape's loss, and the roads' forest-loss figures are orders of magnitude only.</p>".into();
    };
    let fold = |xs: &[f64]| {
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{lo:.3}–{hi:.3}")
    };
    let opt = |x: Option<f64>| x.map(|a| format!("{a:.3}")).unwrap_or_else(|| "–".into());
    let table = format!(
        "<table><tr><th>AUC</th><th>random hold-out</th><th>block cross-validation ({} folds, {} km blocks): mean (folds)</th><th>within {} km of a road</th></tr><tr><td>risk model</td><td>{}</td><td>{:.3} ({})</td><td>{}</td></tr><tr><td>edge distance alone</td><td>–</td><td>{:.3} ({})</td><td>{}</td></tr></table>",
        v.folds,
        nz(v.block_km, 1),
        nz(v.near_road_km, 1),
        opt(m.auc_holdout),
        v.auc_block_cv,
        fold(&v.auc_block_cv_folds),
        opt(v.auc_near_roads),
        v.benchmark_auc_block_cv,
        fold(&v.benchmark_auc_block_cv_folds),
        opt(v.benchmark_auc_near_roads),
    );
    let forward = match &v.forward {
        None => "<p class=\"note\">No forward check: it needs a forest_loss raster coded by year (as Hansen's lossyear) spanning more than risk.forward_years + 1 years.</p>".to_string(),
        Some(f) => {
            let hi = f.cells.iter().flat_map(|c| [c.2, c.3]).fold(0.0, f64::max);
            let chart = match axis(0.0, hi * 1.05) {
                None => NO_CHART.to_string(),
                Some((lo, hi)) => svg((420, 380), |root| {
                    if let Ok(mut chart) = ChartBuilder::on(root)
                        .caption(
                            format!("Loss {}–{} per {} km cell (ha)", f.fit_last_year + 1, f.fit_last_year + f.predicted_years, nz(f.cell_km, 1)),
                            ("sans-serif", 14),
                        )
                        .margin(10)
                        .x_label_area_size(36)
                        .y_label_area_size(50)
                        .build_cartesian_2d(lo..hi, lo..hi)
                    {
                        let _ = chart
                            .configure_mesh()
                            .x_desc("predicted")
                            .y_desc("observed")
                            .light_line_style(TRANSPARENT)
                            .label_style(("sans-serif", 11))
                            .draw();
                        let _ = chart.draw_series(std::iter::once(PathElement::new(
                            vec![(lo, lo), (hi, hi)],
                            RGBColor(150, 150, 150).stroke_width(1),
                        )));
                        let _ = chart.draw_series(f.cells.iter().map(|c| {
                            Circle::new((c.2, c.3), 3, RGBColor(94, 60, 153).mix(0.7).filled())
                        }));
                    }
                }),
            };
            format!(
                "<p>Forward check: fitted on the loss up to {}, the model predicts {} ha lost in {}–{} against {} ha observed ({}); per {} km cell ({} cells) the correlation is {} and the mean absolute difference {} ha.</p>{chart}",
                f.fit_last_year,
                fmt_int(f.predicted_ha),
                f.fit_last_year + 1,
                f.fit_last_year + f.predicted_years,
                fmt_int(f.observed_ha),
                f.total_error
                    .map(|e| format!("{:+.0}%", 100.0 * e))
                    .unwrap_or_else(|| "no loss observed".into()),
                nz(f.cell_km, 1),
                f.coarse_cells,
                opt(f.correlation),
                fmt_int(f.mean_abs_error_ha),
            )
        }
    };
    format!(
        "<p>Every road's forest loss comes from the deforestation-risk model, so its skill carries half of each verdict. Under spatial block cross-validation (cells of one block stay in one fold, so the model is tested on places it has not seen) {}.</p>{table}{forward}",
        esc(&v.skill)
    )
}

/// The distribution of farmers' earnings multiples at maturity over the
/// selected parcels.
fn earnings_histogram(parcels: &ParcelsResult) -> String {
    let v: Vec<f64> = parcels
        .parcels
        .iter()
        .filter(|p| p.selected)
        .filter_map(|p| p.earnings_multiple)
        .collect();
    if v.is_empty() {
        return "<p class=\"note\">No selected parcel has a positive baseline income, so no earnings multiple is defined.</p>".into();
    }
    let mut sorted = v.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let med = crate::finance::quantile(&sorted, 0.5);
    histogram_svg(
        &v,
        &format!(
            "Farmers' earnings multiple at maturity ({} selected parcels)",
            fmt_int(v.len() as f64)
        ),
        "net revenue after transition / baseline net revenue",
        &[(1.0, "1×".into()), (med, "median".into())],
        RGBColor(140, 81, 10),
    )
}

/// Colour of a transition (the palette shared with the QGIS style).
fn transition_color(cfg: &LandscapeConfig, name: &str) -> RGBColor {
    let (r, g, b) = crate::parcels::transition_rgb(&cfg.transitions.catalogue, name);
    RGBColor(r, g, b)
}

/// The assumptions as a table grouped by section.
fn assumptions_table(cfg: &LandscapeConfig) -> String {
    let mut out = String::from("<div class=\"wide\"><table class=\"assumptions\"><tr><th>setting</th><th>value</th><th>unit</th><th>set by</th><th>source</th></tr>");
    let mut section = String::new();
    for a in cfg.assumptions() {
        let sec = a
            .key
            .split(['.', '['])
            .next()
            .unwrap_or_default()
            .to_string();
        if sec != section {
            out.push_str(&format!("<tr><th colspan=\"5\">[{}]</th></tr>", esc(&sec)));
            section = sec;
        }
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.key),
            esc(&readable_value(&a.value)),
            esc(a.unit),
            if a.is_default {
                "default"
            } else {
                "landscape file"
            },
            esc(a.source.as_deref().unwrap_or("not cited"))
        ));
    }
    out.push_str("</table></div>");
    out
}

/// The "Run" section: when and how the run was made, from which files
/// (each with its SHA-256), and every warning, so that a printed report
/// can be traced to its run and read with its caveats.
fn run_section(run: &crate::provenance::RunRecord, summary: &Value) -> (String, String) {
    let files: String = run
        .inputs
        .iter()
        .map(|f| {
            format!(
                "<tr><td>{}</td><td class=\"path\">{}</td><td class=\"num\">{}</td><td class=\"hash\">{}</td></tr>",
                esc(&f.role.replace('_', " ")),
                esc(&f.path.to_string_lossy()),
                fmt_int(f.bytes as f64),
                esc(&f.sha256)
            )
        })
        .collect();
    let warnings = if run.warnings.is_empty() {
        "<p>No warning.</p>".to_string()
    } else {
        let items: String = run
            .warnings
            .iter()
            .map(|w| {
                let w = w
                    .strip_prefix("warning: ")
                    .or_else(|| w.strip_prefix("note: "))
                    .unwrap_or(w);
                format!("<li>{}</li>", esc(w))
            })
            .collect();
        format!(
            "<div class=\"warnings\"><p class=\"warn\">This run gave {} warning(s) and note(s); read the figures with them:</p><ul>{items}</ul></div>",
            fmt_int(run.warnings.len() as f64)
        )
    };
    let run_html = format!(
        "<h2 id=\"run\">Run</h2>\n<table class=\"run\"><tr><th>started (UTC)</th><td>{}</td></tr><tr><th>greenhalo</th><td>{}</td></tr><tr><th>command</th><td><code>{}</code></td></tr><tr><th>inputs hash</th><td class=\"hash\">{}</td></tr></table>\n<h3>Input files</h3>\n<div class=\"wide\"><table class=\"files\"><tr><th>role</th><th>file</th><th>bytes</th><th>SHA-256</th></tr>{files}</table></div>",
        esc(&run.started_utc.replace('T', " ").replace('Z', "")),
        esc(summary["greenhalo_version"].as_str().unwrap_or(env!("CARGO_PKG_VERSION"))),
        esc(&run.command),
        esc(summary["inputs_hash"].as_str().unwrap_or("")),
    );
    (warnings, run_html)
}

/// A road's name short enough to label a map: without the junction it
/// starts from ("Emp. PE-5N (Rioja) - Segunda Jerusalén - Yuracyacu"
/// reads "Segunda Jerusalén - Yuracyacu"), at most 28 characters.
fn short_road_name(name: &str) -> String {
    let parts: Vec<&str> = name.split(" - ").map(str::trim).collect();
    let first = if parts.len() > 1 && parts[0].starts_with("Emp.") {
        parts[1..].join(" - ")
    } else {
        name.trim().to_string()
    };
    let first = first.as_str();
    let short: String = first.chars().take(28).collect();
    if short.chars().count() < first.chars().count() {
        format!("{}…", short.trim_end())
    } else {
        short
    }
}

/// Every table of `page` but the road tables (laid out as cards of their
/// own) with each data cell labelled by its column's heading (`data-l`)
/// and the class `cards`, so that on a phone the style shows each row as
/// a card of labelled figures instead of a table wider than the screen.
/// Tables whose first row is not all headings are left as they are.
fn label_columns(page: &str) -> String {
    let strip = |h: &str| -> String {
        let mut out = String::new();
        let mut tag = false;
        for c in h.chars() {
            match c {
                '<' => tag = true,
                '>' => tag = false,
                _ if !tag => out.push(c),
                _ => {}
            }
        }
        out.trim().to_string()
    };
    let mut out = String::with_capacity(page.len() + page.len() / 8);
    let mut rest = page;
    while let Some(i) = rest.find("<table") {
        out.push_str(&rest[..i]);
        let t = &rest[i..];
        let Some(end) = t.find("</table>").map(|e| e + "</table>".len()) else {
            out.push_str(t);
            return out;
        };
        let table = &t[..end];
        rest = &t[end..];
        let rows: Vec<&str> = table.split("<tr").collect();
        let head = rows.get(1).copied().unwrap_or("");
        if table.starts_with("<table class=\"roads")
            || head.contains("<td")
            || !head.contains("<th")
        {
            out.push_str(table);
            continue;
        }
        let labels: Vec<String> = head
            .split("<th")
            .skip(1)
            .map(|c| strip(&format!("<th{c}")))
            .map(|l| esc(&l.replace("&amp;", "&")))
            .collect();
        let mut t2 = String::new();
        for (k, row) in rows.iter().enumerate() {
            if k > 0 {
                t2.push_str("<tr");
            }
            if k < 2 {
                t2.push_str(row);
                continue;
            }
            let mut col = 0usize;
            let mut cells = row.split("<td");
            t2.push_str(cells.next().unwrap_or(""));
            for c in cells {
                let span: usize = c
                    .split('>')
                    .next()
                    .and_then(|a| a.split("colspan=\"").nth(1))
                    .and_then(|v| v.split('"').next())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                match labels.get(col) {
                    Some(l) if span == 1 && !l.is_empty() => {
                        t2.push_str(&format!("<td data-l=\"{l}\"{c}"))
                    }
                    _ => t2.push_str(&format!("<td{c}")),
                }
                col += span;
            }
        }
        out.push_str(&t2.replacen("<table", "<table data-cards=\"1\"", 1));
    }
    out.push_str(rest);
    out
}

/// Travel-time classes of the report's map (the QGIS style's).
fn travel_class_color(k: usize) -> RGBColor {
    let (r, g, b) = crate::fmt::TRAVEL_TIME_CLASSES[k].1;
    RGBColor(r, g, b)
}

/// The accessibility section: people within 1, 2 and 4 hours of a market
/// today and with the portfolio built, the minutes it saves, the people
/// each funded road serves, and a map of today's travel times with the
/// portfolio on it.
fn access_section(inp: &Inputs, roads: &RoadsResult, travel_min: &[f32]) -> String {
    let ac = &roads.portfolio.access;
    let rows: String = ac
        .within_min
        .iter()
        .zip(ac.people_within_before.iter().zip(&ac.people_within_after))
        .map(|(t, (b, a))| {
            let share = |x: f64| if ac.people > 0.0 { 100.0 * x / ac.people } else { 0.0 };
            format!(
                "<tr><td>within {} h</td><td class=\"num\">{} ({}%)</td><td class=\"num\">{} ({}%)</td><td class=\"num\">+{}</td></tr>",
                fmt_int(t / 60.0),
                fmt_int(*b),
                nz(share(*b), 1),
                fmt_int(*a),
                nz(share(*a), 1),
                fmt_int(a - b)
            )
        })
        .collect();
    let mut funded: Vec<&crate::roads::ScoredSegment> =
        roads.scored.iter().filter(|s| s.in_portfolio).collect();
    funded.sort_by_key(|s| s.rank);
    let per_road: String = funded
        .iter()
        .map(|s| {
            let e = &s.effects;
            let minutes = if e.people_served > 0.0 {
                60.0 * e.people_hours_saved / e.people_served
            } else {
                0.0
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&s.id),
                esc(s.name.as_deref().unwrap_or("")),
                fmt_int(e.people_served),
                nz(minutes, 1)
            )
        })
        .collect();
    let map = map_svg(
        inp,
        "Travel time to the nearest market today, with the funded roads",
        &|chart| {
            let g = &inp.grid;
            let step = g.width.div_ceil(220).max(1);
            let cell = g.res * step as f64;
            let class = |i: usize| -> Option<usize> {
                if inp.aoi_mask[i] == 0 {
                    return None;
                }
                let t = travel_min[i] as f64;
                Some(if t.is_finite() {
                    crate::fmt::TRAVEL_TIME_CLASSES
                        .iter()
                        .position(|c| t <= c.0)
                        .unwrap_or(5)
                } else {
                    5
                })
            };
            // Blocks of step x step cells, sampled at their centre; runs of
            // one class along a row drawn as one rectangle.
            for br in 0..g.height.div_ceil(step) {
                let r = (br * step + step / 2).min(g.height - 1);
                let y1 = g.y_max - (br * step) as f64 * g.res;
                let mut run: Option<(usize, usize)> = None; // (class, first block)
                let cols = g.width.div_ceil(step);
                for bc in 0..=cols {
                    let k = if bc < cols {
                        class(r * g.width + (bc * step + step / 2).min(g.width - 1))
                    } else {
                        None
                    };
                    match (run, k) {
                        (Some((c, _)), Some(k)) if c == k => {}
                        _ => {
                            if let Some((c, from)) = run {
                                let x0 = g.x_min + from as f64 * cell;
                                let x1 = (g.x_min + bc as f64 * cell).min(g.x_max());
                                let _ = chart.draw_series(std::iter::once(Rectangle::new(
                                    [(x0, y1), (x1, (y1 - cell).max(g.y_min()))],
                                    travel_class_color(c).mix(0.8).filled(),
                                )));
                            }
                            run = k.map(|k| (k, bc));
                        }
                    }
                }
            }
            for (s, seg) in roads.scored.iter().zip(&roads.segments) {
                if s.in_portfolio {
                    let pts: Vec<(f64, f64)> = seg.geom.0.iter().map(|c| (c.x, c.y)).collect();
                    let _ = chart.draw_series(std::iter::once(PathElement::new(
                        pts,
                        BLACK.stroke_width(3),
                    )));
                }
            }
        },
    );
    let legend_items: Vec<(String, RGBColor)> = (0..crate::fmt::TRAVEL_TIME_CLASSES.len())
        .map(|k| {
            (
                crate::fmt::travel_time_class_label(k),
                travel_class_color(k),
            )
        })
        .chain(std::iter::once(("funded roads".to_string(), BLACK)))
        .collect();
    let two_h = ac
        .within_min
        .iter()
        .position(|t| *t == 120.0)
        .map(|k| ac.people_within_after[k] - ac.people_within_before[k])
        .unwrap_or(0.0);
    format!(
        "<div class=\"map\"><h2>Access to markets</h2>\n<p>With the funded roads built together, {} people (of {} in the AOI) reach a market faster, saving {} minutes a trip on average; {} more people live within 2 hours of a market.</p>\n{}{}</div>\n<table><tr><th>people</th><th>today</th><th>with the portfolio</th><th>change</th></tr>{rows}</table>\n<h3>People each funded road serves</h3>\n<p class=\"note\">Each road alone (its own appraisal): the people whose trip to market it makes faster and the minutes it saves them on average. Roads serving the same people share them, so these do not add up to the total above.</p>\n<div class=\"wide\"><table><tr><th>segment</th><th>road</th><th>people served</th><th>minutes saved a trip</th></tr>{per_road}</table></div>",
        fmt_int(ac.people_served),
        fmt_int(ac.people),
        nz(ac.minutes_saved_per_person_served, 1),
        fmt_int(two_h),
        legend(&legend_items),
        map
    )
}

/// How firm each funded segment is (its importance: the loss when it is
/// forbidden and the portfolio chosen again), as a table; empty when not
/// computed.
fn importance_section(roads: &RoadsResult) -> String {
    let Some(imp) = &roads.portfolio.importance else {
        return String::new();
    };
    if imp.segments.is_empty() {
        return String::new();
    }
    let name = |id: &str| -> String {
        roads
            .scored
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.name.clone())
            .map(|n| format!("{id} {n}"))
            .unwrap_or_else(|| id.to_string())
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut order: Vec<&crate::roads::SegmentImportance> = imp.segments.iter().collect();
    order.sort_by(|a, b| b.loss_usd.total_cmp(&a.loss_usd).then(a.id.cmp(&b.id)));
    let body: String = order
        .iter()
        .map(|e| {
            format!(
                "<tr><td data-l=\"road\">{}</td><td data-l=\"adds\" class=\"num\">{}</td><td data-l=\"lost without it\" class=\"num\">{}</td><td data-l=\"share\" class=\"num\">{:.0}%</td><td data-l=\"\" class=\"{}\">{}</td><td data-l=\"without it, funds instead\">{}</td><td data-l=\"and drops\">{}</td></tr>",
                esc(&name(&e.id)),
                money(e.adds_usd),
                money(e.loss_usd),
                nz(e.share * 100.0, 0),
                if e.firmness == "firm" { "firm" } else { "inter" },
                e.firmness,
                esc(&list(&e.replaced_by)),
                esc(&list(&e.also_dropped))
            )
        })
        .collect();
    format!(
        "<h3>How firm each choice is</h3>\n<p>{}. A segment is firm when the portfolio chosen without it loses at least {:.0}% of what the segment adds; an interchangeable one can be swapped for the segments listed at little loss. Largest loss first; the figures are in roads.csv (importance_usd, importance_share, firmness).</p>\n<div class=\"wide\"><table class=\"roads\"><thead><tr class=\"head\"><th>road</th><th title=\"its value in the budgeted choice\">adds</th><th title=\"net NPV built together lost when it is forbidden and the portfolio chosen again\">lost without it</th><th>share</th><th></th><th>without it, funds instead</th><th>and drops</th></tr></thead>{body}</table></div>",
        esc(&sentence_case(&imp.note)),
        crate::roads::FIRM_SHARE * 100.0
    )
}

/// The portfolio's near-optimal alternatives, as a table with each
/// segment's selection frequency in words; empty when none was asked.
fn alternatives_section(roads: &RoadsResult) -> String {
    let Some(alt) = &roads.portfolio.alternatives else {
        return String::new();
    };
    let n = alt.sets.len();
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.join(", ")
        }
    };
    let body: String = alt
        .sets
        .iter()
        .map(|a| {
            format!(
                "<tr><td data-l=\"set\">{}</td><td data-l=\"segments\" class=\"num\">{}</td><td data-l=\"cost\" class=\"num\">{}</td><td data-l=\"value in the choice\" class=\"num\">{}</td><td data-l=\"below the best\" class=\"num\">{} ({:.2}%)</td><td data-l=\"net NPV built together\" class=\"num\">{}</td><td data-l=\"funds also\">{}</td><td data-l=\"leaves out\">{}</td></tr>",
                if a.rank == 0 { "the portfolio".to_string() } else { format!("alternative {}", a.rank) },
                a.segments.len(),
                money(a.cost_usd),
                money(a.value_in_choice_usd),
                money(a.below_best_usd),
                if alt.best_value_in_choice_usd > 0.0 { 100.0 * a.below_best_usd / alt.best_value_in_choice_usd } else { 0.0 },
                money(a.npv_net_joint_usd),
                esc(&list(&a.adds)),
                esc(&list(&a.drops))
            )
        })
        .collect();
    // Selection frequency: in every listed set, in some, in none.
    let funded: Vec<&crate::roads::ScoredSegment> = roads
        .scored
        .iter()
        .filter(|s| s.alternatives_share.is_some_and(|f| f > 0.0))
        .collect();
    let always = funded
        .iter()
        .filter(|s| s.alternatives_share.is_some_and(|f| f >= 1.0))
        .count();
    let some: Vec<String> = funded
        .iter()
        .filter(|s| s.alternatives_share.is_some_and(|f| f < 1.0))
        .map(|s| {
            format!(
                "{} ({} of {n})",
                s.id,
                (s.alternatives_share.unwrap_or(0.0) * n as f64).round()
            )
        })
        .collect();
    let ended = if alt.note.is_empty() {
        String::new()
    } else {
        format!(" {}.", sentence_case(&alt.note))
    };
    let what = if n == 1 {
        format!(
            "No other set of segments is within {:.1}% of the best on the values of the choice: the portfolio has no near-best alternative.",
            alt.gap * 100.0
        )
    } else {
        let more = if n - 1 == alt.asked as usize {
            format!(
                " (the {} asked by road_upgrades.alternatives; more may lie within the gap)",
                alt.asked
            )
        } else {
            String::new()
        };
        format!(
            "{} other sets of segments{more} are within {:.1}% of the best on the values of the choice (each the best left once those above it are excluded; each funds all that the budget allows). {always} segments are in every one of the {n} sets; {} appear in some: {}.",
            n - 1,
            alt.gap * 100.0,
            some.len(),
            list(&some)
        )
    };
    format!(
        "<h3>Near-best alternatives</h3>\n<p>{}{} Each is also valued built together; road_alternatives.csv lists them with their segments, and roads.csv gives each segment's share of the sets (alternatives_share).</p>\n<div class=\"wide\"><table class=\"roads\"><thead><tr class=\"head\"><th>set</th><th>segments</th><th>cost</th><th>value in the choice</th><th>below the best</th><th>net NPV built together</th><th>funds also</th><th>leaves out</th></tr></thead>{body}</table></div>",
        esc(&what),
        esc(&ended)
    )
}

/// What the landscape file forces into or out of the portfolio, and what
/// that costs against the best portfolio with nothing forced (a paragraph;
/// empty when nothing is forced).
fn forced_note(p: &crate::roads::Portfolio) -> String {
    let Some(f) = &p.forced else {
        return String::new();
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let each: Vec<String> = f
        .each
        .iter()
        .map(|c| {
            format!(
                "forcing {} {} alone costs {}",
                if c.forced == "in" { "in" } else { "out" },
                c.id,
                money(c.cost_usd)
            )
        })
        .collect();
    format!(
        "<p class=\"warn\">Forced by the landscape file (road_upgrades.force_in, force_out): in {}; out {}. With nothing forced, the best portfolio ({} segments: {}) is worth {} net built together; this one {}, so the forced choices cost {}. {}.</p>",
        esc(&list(&f.force_in)),
        esc(&list(&f.force_out)),
        f.free_segments.len(),
        esc(&list(&f.free_segments)),
        money(f.free_npv_net_joint_usd),
        money(p.npv_net_joint_usd),
        money(f.cost_usd),
        esc(&sentence_case(&each.join("; ")))
    )
}

/// A segment's class in words.
fn class_words(c: crate::roads::SegmentClass) -> &'static str {
    use crate::roads::SegmentClass::*;
    match c {
        Improve => "Improve",
        ImproveWithSafeguards => "Improve with safeguards",
        DoNotImprove => "Do not improve",
        Avoid => "Avoid",
    }
}

/// A setting's value as a reader reads it: a number TOML writes with an
/// exponent ("2e7") in full with thousands separators ("20,000,000").
fn readable_value(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(x) if v.contains(['e', 'E']) && x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 => {
            fmt_int(x)
        }
        Ok(x) if v.contains(['e', 'E']) && x.is_finite() => format!("{x}"),
        _ => v.to_string(),
    }
}

/// Switching values, compact: "+45% / −31%" (the rise in cost / the fall
/// in benefit that brings the NPV to zero); "–" for either where there is
/// none (the NPV is at or below zero already).
fn switching(cost_rise_pct: Option<f64>, benefit_fall_pct: Option<f64>) -> String {
    match (cost_rise_pct, benefit_fall_pct) {
        (None, None) => "–".into(),
        (c, b) => format!(
            "+{}% / −{}%",
            c.map(fmt_int).unwrap_or_else(|| "–".into()),
            b.map(fmt_int).unwrap_or_else(|| "–".into())
        ),
    }
}

/// How the road benefits were computed, in a planner's words.
fn road_method(cfg: &LandscapeConfig, roads: &RoadsResult) -> String {
    let p = &cfg.road_upgrades;
    let counted = roads
        .scored
        .iter()
        .filter(|s| s.aadt_source == crate::roads::red::TrafficSource::Counted)
        .count();
    let types: Vec<&str> = p.vehicles.iter().map(|v| v.name.as_str()).collect();
    let farm = match p.benefit_method {
        crate::config::BenefitMethod::ConsumerSurplus => format!(
            "marketed farm output ({:.0}% of {} t/ha a year) rides as the freight part of the traffic, not as a benefit of its own",
            100.0 * p.marketed_share,
            p.farm_output_t_per_ha
        ),
        crate::config::BenefitMethod::ProducerSurplus => format!(
            "marketed farm output ({:.0}% of {} t/ha a year) is valued as a producer surplus (US${} per tonne-hour saved) instead of freight traffic",
            100.0 * p.marketed_share,
            p.farm_output_t_per_ha,
            p.transport_usd_per_tonne_hour
        ),
    };
    format!(
        "Road benefits follow the World Bank's RED method: the fall in road-user cost (vehicle operating cost by road class, and the time of passengers and cargo at US${}/h) for the normal traffic in full, and for the traffic the upgrade generates (price elasticity {}) by the rule of half, growing {:.1}% a year. The fleet is {}. Traffic is counted on {} of {} segments (aadt field) and modelled on the rest from the people whose way to market the upgrade makes faster, at {} one-way motorised trips per household of {} a week; {}. Upgrade costs and extra maintenance are the costs; the forest loss each road invites is charged at US${}/tCO2: the net NPV is the economic NPV minus that carbon value.",
        p.value_of_time_usd_per_hour,
        p.price_elasticity,
        100.0 * p.traffic_growth,
        types.join(", "),
        counted,
        roads.scored.len(),
        p.trips_per_household_week,
        p.household_size,
        farm,
        cfg.economics.carbon_price_usd_per_tco2
    )
}

/// The plan's carbon account over the horizon: what transitions sequester,
/// what they and conservation avoid, what the funded roads' extra forest
/// loss emits.
fn carbon_balance(fin: &Finance, roads: &crate::roads::Portfolio) -> String {
    let s = &fin.streams;
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let (seq, halo, avoided, emitted) = (
        total(&s.parcels_tco2),
        total(&s.parcels_avoided_tco2),
        total(&s.conservation_tco2),
        total(&s.roads_tco2),
    );
    format!(
        "The plan's carbon: transitions sequester {} tCO2 and, inside the Green Halo, take pressure off the forest edge for {} tCO2 of avoided loss; conservation funding avoids {} tCO2; the forest loss the funded roads invite emits {} tCO2 (a cost of {} at the carbon price, counted in the returns): {} tCO2 net.",
        fmt_int(seq),
        fmt_int(halo),
        fmt_int(avoided),
        fmt_int(emitted),
        money(fin.carbon_price_usd_per_tco2 * emitted),
        fmt_int(seq + halo + avoided - emitted)
    ) + &format!(
        " The road tonnes are the portfolio's segments' own ({} tCO2 in the road table) {} {} tCO2 because their losses interact, less {} tCO2 that falls after year {} (each tranche is appraised over {} years from its works).",
        fmt_int(roads.tco2_sum_of_singles),
        if roads.tco2_joint >= roads.tco2_sum_of_singles { "plus" } else { "less" },
        fmt_int((roads.tco2_joint - roads.tco2_sum_of_singles).abs()),
        fmt_int(s.roads_tco2_after_horizon),
        s.roads_cost.len() - 1,
        s.roads_cost.len() - 1,
    )
}

/// Build the page.
#[allow(clippy::too_many_arguments)]
pub fn html(
    inp: &Inputs,
    cfg: &LandscapeConfig,
    summary: &Value,
    roads: &RoadsResult,
    (parcels, funding, fin, pilot): (
        &ParcelsResult,
        &FundingResult,
        &Finance,
        &[crate::finance::PilotRow],
    ),
    risk: &crate::risk::RiskModel,
    run: &crate::provenance::RunRecord,
    travel_min: &[f32],
    terrain_png: &[u8],
) -> String {
    let (tw, th) = terrain_size(inp);
    let terrain = terrain_symbol(terrain_png, tw, th);
    let access_html = access_section(inp, roads, travel_min);
    let (warnings_section, run_section) = run_section(run, summary);
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
        // One label a funded road (its name, or the segment id where it has
        // none), at the middle of its longest funded segment, placed where
        // it overlaps no other label or market name, best rank first.
        let mut groups: Vec<(String, u32, (f64, f64), f64)> = Vec::new();
        for (s, seg) in roads.scored.iter().zip(&roads.segments) {
            if !s.in_portfolio || seg.geom.0.is_empty() {
                continue;
            }
            let label = match s.name.as_deref() {
                Some(n) if !n.trim().is_empty() => n.to_string(),
                _ => format!("segment {}", s.id),
            };
            let mid = seg.geom.0[seg.geom.0.len() / 2];
            match groups.iter_mut().find(|g| g.0 == label) {
                Some(g) => {
                    g.1 = g.1.min(s.rank);
                    if s.length_km > g.3 {
                        g.2 = (mid.x, mid.y);
                        g.3 = s.length_km;
                    }
                }
                None => groups.push((label, s.rank, (mid.x, mid.y), s.length_km)),
            }
        }
        groups.sort_by_key(|g| g.1);
        let mut taken: Vec<[i32; 4]> = inp
            .markets
            .iter()
            .map(|m| {
                let (x, y) = chart.backend_coord(&(m.point.x(), m.point.y()));
                [
                    x - 4,
                    y - 16,
                    x + 8 + 8 * m.name.chars().count() as i32,
                    y + 4,
                ]
            })
            .collect();
        for (name, _, at, _) in groups {
            let label = short_road_name(&name);
            let (px, py) = chart.backend_coord(&at);
            let (w, h) = (6 * label.chars().count() as i32 + 4, 12);
            let spots = [
                (6, -h - 2),
                (6, 4),
                (-w - 6, -h - 2),
                (-w - 6, 4),
                (-w / 2, -h - 8),
                (-w / 2, 8),
            ];
            let Some(b) = spots
                .iter()
                .map(|(dx, dy)| [px + dx, py + dy, px + dx + w, py + dy + h])
                .find(|b| {
                    !taken
                        .iter()
                        .any(|t| b[0] < t[2] && t[0] < b[2] && b[1] < t[3] && t[1] < b[3])
                })
            else {
                continue;
            };
            taken.push(b);
            // Back to map coordinates: the label's top left corner.
            use plotters::coord::ReverseCoordTranslate;
            let (x, y) = chart
                .as_coord_spec()
                .reverse_translate((b[0], b[1]))
                .unwrap_or(at);
            let _ = chart.draw_series(std::iter::once(Text::new(
                label,
                (x, y),
                ("sans-serif", 10)
                    .into_font()
                    .color(&RGBColor(0, 70, 25))
                    .pos(Pos::new(HPos::Left, VPos::Top)),
            )));
        }
    });
    let parcels_map = map_svg(inp, "Farmland parcels by transition", &|chart| {
        // Parcels that keep their use are drawn faint, so only the selected
        // transitions carry colour.
        for (p, r) in inp.parcels.iter().zip(&parcels.parcels) {
            let color = if r.selected {
                transition_color(cfg, &r.transition).filled()
            } else {
                RGBColor(215, 215, 215).mix(0.6).filled()
            };
            for ring in polys(&p.geom) {
                let _ = chart.draw_series(std::iter::once(Polygon::new(ring, color)));
            }
        }
    });
    // By the share of its need an area gets (a gap relative to the
    // largest would show a small area with nothing in the colour of full
    // funding).
    let gap_color = |funded: f64| {
        let t = (1.0 - funded).clamp(0.0, 1.0);
        RGBColor(
            (26.0 + t * 189.0) as u8,
            (150.0 - t * 125.0) as u8,
            (65.0 - t * 37.0) as u8,
        )
    };
    let gap_legend = legend(
        &[1.0, 0.75, 0.5, 0.25, 0.0]
            .iter()
            .map(|k| {
                let label = match *k {
                    1.0 => "fully funded".to_string(),
                    0.0 => "not funded: the whole need is a gap".to_string(),
                    _ => format!("{}% funded", nz(100.0 * k, 0)),
                };
                (label, gap_color(*k))
            })
            .collect::<Vec<_>>(),
    );
    let cons_map = map_svg(
        inp,
        "Conservation areas by the share of their need funded",
        &|chart| {
            for a in &funding.areas {
                let c = &inp.conservation[a.needs.index];
                let color = gap_color(a.funded_share);
                for ring in polys(&c.geom) {
                    let _ = chart
                        .draw_series(std::iter::once(Polygon::new(ring, color.mix(0.8).filled())));
                }
            }
        },
    );

    // The planner's road table: the portfolio first, then every segment
    // that needs safeguards and every one to avoid, each with its reason.
    use crate::roads::SegmentClass;
    let mut ranked: Vec<&crate::roads::ScoredSegment> = roads.scored.iter().collect();
    ranked.sort_by_key(|s| s.rank);
    // One row of figures a segment, its decision and reasons on a full-width
    // row beneath (always visible, wrapping); on a phone each segment
    // becomes a card of labelled figures (see the style).
    let seg_name = |s: &crate::roads::ScoredSegment| -> String {
        let name = s.name.as_deref().unwrap_or("");
        let short: String = name.chars().take(48).collect();
        let short = if short.chars().count() < name.chars().count() {
            format!("{short}…")
        } else {
            short
        };
        if short.is_empty() {
            format!("<td data-l=\"road\">segment {}</td>", esc(&s.id))
        } else {
            format!(
                "<td data-l=\"road\" title=\"{}\">{}<br><small>segment {}</small></td>",
                esc(name),
                esc(&short),
                esc(&s.id)
            )
        }
    };
    let upgrade = |s: &crate::roads::ScoredSegment| -> String {
        format!(
            "{} → {}",
            sentence_case(s.class_from.as_str()),
            esc(&s.upgrade_to.replace('_', " "))
        )
    };
    let row = |s: &&crate::roads::ScoredSegment| -> String {
        let cells = [
            ("rank", fmt_int(s.rank as f64)),
            ("", seg_name(s)),
            ("upgrade", upgrade(s)),
            ("km", format!("{:.2}", nz(s.length_km, 2))),
            ("cost", money(s.cost_usd)),
            (
                "vehicles a day",
                format!(
                    "<span title=\"{}: normal + generated\">{} + {}</span>",
                    s.aadt_source.as_str(),
                    fmt_int(s.aadt_normal),
                    fmt_int(s.aadt_generated)
                ),
            ),
            ("NPV economic", money(s.npv_econ_usd)),
            ("BCR", format!("{:.2}", nz(s.bcr, 2))),
            (
                "EIRR",
                s.eirr
                    .map(|r| format!("{:.1}%", nz(100.0 * r, 1)))
                    .unwrap_or_else(|| "–".into()),
            ),
            (
                "forest loss",
                format!("{} ha", nz(s.effects.forest_loss_ha, 1)),
            ),
            ("NPV net of carbon", money(s.npv_net_usd)),
            ("Pareto layer", fmt_int(s.pareto_layer as f64)),
        ];
        let tds: String = cells
            .iter()
            .map(|(l, v)| {
                if l.is_empty() {
                    v.clone()
                } else {
                    format!("<td data-l=\"{l}\" class=\"num\">{v}</td>")
                }
            })
            .collect();
        let switch = switching(s.switch_cost_net_pct, s.switch_benefit_net_pct);
        let switch = if switch.contains('%') {
            format!(" NPV net falls to zero at a cost rise / benefit fall of {switch}.")
        } else {
            String::new()
        };
        format!(
            "<tbody><tr class=\"seg\">{tds}</tr><tr class=\"why\"><td colspan=\"12\"><b>{}.</b> {}.{switch}</td></tr></tbody>",
            class_words(s.class),
            esc(sentence_case(&s.reasons).trim_end_matches('.'))
        )
    };
    let head = "<thead><tr class=\"head\"><th>rank</th><th>road</th><th>upgrade</th><th>km</th><th>cost</th><th title=\"motor vehicles a day in the first year: normal + generated; counted from the aadt field or modelled from the people the upgrade serves\">vehicles a day</th><th>NPV economic</th><th>BCR</th><th>EIRR</th><th>forest loss</th><th>NPV net of carbon</th><th title=\"1 = no other segment has both more economic benefit and less forest loss\">Pareto layer</th></tr></thead>";
    let table = |rows: Vec<&&crate::roads::ScoredSegment>, empty: &str| -> String {
        if rows.is_empty() {
            return format!("<p class=\"note\">{empty}</p>");
        }
        let body: String = rows.iter().map(|s| row(s)).collect();
        format!("<div class=\"wide\"><table class=\"roads\">{head}{body}</table></div>")
    };
    // Every segment worth improving that the budget leaves out, with why.
    let by_id: std::collections::HashMap<&str, &crate::roads::ScoredSegment> =
        roads.scored.iter().map(|s| (s.id.as_str(), s)).collect();
    let left_out_table = if roads.portfolio.left_out.is_empty() {
        "<p class=\"note\">Every segment worth improving is funded.</p>".to_string()
    } else {
        let body: String = roads
            .portfolio
            .left_out
            .iter()
            .filter_map(|o| by_id.get(o.id.as_str()).map(|s| (o, *s)))
            .map(|(o, s)| {
                format!(
                    "<tbody><tr class=\"seg\"><td data-l=\"rank\" class=\"num\">{}</td>{}<td data-l=\"upgrade\">{}</td><td data-l=\"km\" class=\"num\">{:.2}</td><td data-l=\"cost\" class=\"num\">{}</td><td data-l=\"NPV net alone\" class=\"num\">{}</td><td data-l=\"value in the choice\" class=\"num\">{}</td><td data-l=\"forest loss\" class=\"num\">{} ha</td><td data-l=\"Pareto layer\" class=\"num\">{}</td></tr><tr class=\"why\"><td colspan=\"9\"><b>{}, not funded.</b> {}</td></tr></tbody>",
                    fmt_int(s.rank as f64),
                    seg_name(s),
                    upgrade(s),
                    nz(s.length_km, 2),
                    money(o.cost_usd),
                    money(o.npv_net_alone_usd),
                    money(o.value_usd),
                    nz(s.effects.forest_loss_ha, 1),
                    fmt_int(s.pareto_layer as f64),
                    class_words(s.class),
                    esc(&o.why)
                )
            })
            .collect();
        format!(
            "<div class=\"wide\"><table class=\"roads\"><thead><tr class=\"head\"><th>rank</th><th>road</th><th>upgrade</th><th>km</th><th>cost</th><th>NPV net alone</th><th title=\"the value the budgeted choice gave it: its NPV net alone, or its marginal value beside the segments it was chosen with in a re-check\">value in the choice</th><th>forest loss</th><th>Pareto layer</th></tr></thead>{body}</table></div>"
        )
    };
    let portfolio_table = table(
        ranked.iter().filter(|s| s.in_portfolio).collect(),
        "No segment is worth its cost within the budget.",
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
    let o = &roads.outside;
    let outside_note = if o.segments > 0 {
        esc(&format!(
            " The network outside the AOI carries travel but is not appraised: {} segment(s), {} km ({} road feature(s) wholly outside), are left out of every table and count.",
            fmt_int(o.segments as f64),
            nz(o.km, 1),
            fmt_int(o.features as f64)
        ))
    } else {
        String::new()
    };
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
                "<tbody><tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} of {}</td><td>{:.0}%</td><td>{:.0}%</td><td>{:.0}%</td><td>{:.0}%</td></tr><tr class=\"why\"><td colspan=\"11\"><b>What closes the gap.</b> {}</td></tr></tbody>",
                p.phase,
                p.years,
                money(p.investment_usd),
                money(p.philanthropic_usd),
                money(p.public_usd),
                money(p.concessional_usd),
                money(p.private_usd),
                money(p.guarantee_cover_usd),
                money(p.guarantee_capacity_usd),
                nz(p.private_share * 100.0, 0),
                nz(p.private_share_without_guarantee * 100.0, 0),
                nz(p.private_share_unlimited_support * 100.0, 0),
                nz(p.target_private_share * 100.0, 0),
                esc(&sentence_case(&p.note))
            )
        })
        .collect();
    let line_rows: String = fin
        .capital_lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td><td>{:.1}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                l.phase,
                esc(&sentence_case(&l.line.name.replace('_', " "))),
                money(l.line.amount_usd),
                nz(l.line.expected_return * 100.0, 1),
                nz(l.line.p_loss * 100.0, 1),
                nz(l.line.cover_per_dollar * 100.0, 1),
                money(l.blend.commercial_usd),
                money(l.blend.concessional_usd),
                money(l.blend.philanthropic_usd),
                money(l.blend.guarantee_cover_usd),
            )
        })
        .collect();
    let fp = &cfg.finance;
    let per_phase = |v: &[f64; 3]| v.map(money).join(" / ");
    let continuum = format!(
        "Each phase's farm investment lines are funded by a linear program that maximises commercial money on the terms each kind of capital sets: commercial investors want the {hurdle:.0}% hurdle rate and at most a {ploss:.0}% chance of earning less; concessional lenders {conc:.0}% a year (up to {conc_cap} per phase); the development bank's guarantee covers commercial investors' first losses for {fee:.1}% a year on the cover (up to {g_cap} per phase); philanthropic grants ask nothing and take the share the line's return cannot pay. A line's expected return is its IRR at base prices; its chance of earning below the hurdle and the first-loss cover a commercial investor needs come from the same Monte Carlo draws as the plan's. Roads, their maintenance and insurance are public money, technical assistance philanthropic, conservation each source's own capital: none of them returns cash to investors.",
        hurdle = cfg.transitions.hurdle_rate * 100.0,
        ploss = fp.commercial_max_loss_probability * 100.0,
        conc = fp.concessional_rate * 100.0,
        conc_cap = per_phase(&fp.concessional_usd_per_phase),
        fee = fp.guarantee_fee * 100.0,
        g_cap = per_phase(&fp.guarantee_usd_per_phase),
    );
    let pilot_rows: String = pilot
        .iter()
        .map(|r| {
            let v = |x: f64| match r.unit {
                "US$" => money(x),
                "x" => format!("{:.2}:1", nz(x, 2)),
                "share" => format!("{:.0}%", nz(x * 100.0, 0)),
                _ => format!("{} km²", fmt_int(x)),
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.2}x</td><td>{}</td></tr>",
                esc(&sentence_case(r.figure)),
                esc(r.pilot_text),
                v(r.greenhalo),
                nz(r.ratio, 2),
                esc(&sentence_case(&r.why))
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
        .unwrap_or_default()
        + &summary["risk"]["validation"]["auc_block_cv"]
            .as_f64()
            .map(|a| format!(", block cross-validated {a:.3}"))
            .unwrap_or_default()
        + &summary["risk"]["validation"]["auc_near_roads"]
            .as_f64()
            .map(|a| format!(", {a:.3} near roads"))
            .unwrap_or_default();
    let assumptions = assumptions_table(cfg);
    let components: String = fin
        .by_component_usd
        .iter()
        .map(|(k, v)| {
            format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.0}%</td></tr>",
                esc(&k.replace('_', " ")),
                money(*v),
                nz(100.0 * v / hl.investment_usd.max(f64::MIN_POSITIVE), 0)
            )
        })
        .collect();
    let sens_rows: String = fin
        .sensitivity
        .iter()
        .map(|x| {
            let show = |v: f64| factor_value(x, v);
            format!(
                "<tr><td>{}</td><td>{} – {}</td><td class=\"num\">{:.2} – {:.2}</td><td class=\"num\">{} – {}</td></tr>",
                x.factor,
                show(x.low),
                show(x.high),
                nz(x.return_multiple_low, 2),
                nz(x.return_multiple_high, 2),
                money(x.npv_usd_low),
                money(x.npv_usd_high)
            )
        })
        .collect();
    let mut road_items: Vec<(String, RGBColor)> =
        ROAD_COLORS.iter().map(|c| (c.2.to_string(), c.1)).collect();
    road_items.push(("conservation area".into(), RGBColor(200, 225, 200)));
    road_items.push((
        "portfolio: thick line, labelled with its road's name".into(),
        BLACK,
    ));
    let road_legend = legend(&road_items);
    let mut tr_items: Vec<(String, RGBColor)> = cfg
        .transitions
        .catalogue
        .iter()
        .filter(|t| {
            parcels
                .parcels
                .iter()
                .any(|p| p.selected && p.transition == t.name)
        })
        .map(|t| (t.name.replace('_', " "), transition_color(cfg, &t.name)))
        .collect();
    let (r, g, b) = crate::parcels::KEEP_CURRENT_USE_RGB;
    tr_items.push(("not transitioned".into(), RGBColor(r, g, b)));
    let tr_legend = legend(&tr_items);
    label_columns(&format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>greenhalo report: {name}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 1em; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 10em; }}
.card b {{ display: block; font-size: 1.3em; }}
table {{ border-collapse: collapse; font-size: .85em; }} td, th {{ border: 1px solid #ddd; padding: .25em .5em; text-align: left; }}
.legend .key {{ margin-right: 1em; font-size: .85em; }} .legend i {{ display: inline-block; width: 1em; height: .8em; margin-right: .3em; }}
pre {{ background: #f6f6f6; padding: 1em; font-size: .8em; overflow-x: auto; }}
svg {{ width: 100%; max-width: 760px; height: auto; display: block; }}
.wide {{ overflow-x: auto; }} td.num {{ text-align: right; }} td.firm {{ font-weight: 600; color: #0b5a32; }} td.inter {{ color: #8a5a00; }}
table.roads {{ width: 100%; }} table.roads td {{ white-space: nowrap; }} table.roads td[data-l="road"] {{ white-space: normal; min-width: 9em; }}
table.roads tr.seg td {{ border-bottom: none; }} table.roads tr.why td {{ white-space: normal; border-top: none; color: #444; padding-bottom: .5em; }}
tr.why td {{ white-space: normal; color: #444; }} table.stack tbody {{ break-inside: avoid; page-break-inside: avoid; }}
.note {{ color: #555; font-size: .9em; }} .hash, td.path {{ font-family: monospace; font-size: .85em; word-break: break-all; }}
table.assumptions {{ width: 100%; table-layout: fixed; }} table.assumptions td {{ overflow-wrap: anywhere; }}
table.assumptions th:nth-child(1) {{ width: 30%; }} table.assumptions th:nth-child(2) {{ width: 20%; }} table.assumptions th:nth-child(3) {{ width: 10%; }} table.assumptions th:nth-child(4) {{ width: 10%; }}
table.run th {{ width: 9em; }} code {{ word-break: break-all; }} div.warnings ul {{ font-size: .9em; color: #5b1c1c; }}
.warn {{ color: #9b1c1c; border-left: 3px solid #9b1c1c; padding-left: .6em; }}
.charts {{ display: flex; flex-wrap: wrap; gap: 1em; }} .charts > * {{ flex: 1 1 420px; }}
@media (max-width: 600px) {{
  body {{ margin: .5em; font-size: 15px; }} h1 {{ font-size: 1.3em; }}
  .card {{ min-width: 8em; flex: 1 1 40%; }} table {{ font-size: .75em; }}
  table.roads, table.roads tbody, table.roads tr, table.roads td {{ display: block; }}
  table.roads thead {{ display: none; }} table.roads tr.seg {{ border-top: 1px solid #bbb; padding-top: .4em; }}
  table.roads tr.seg td {{ display: inline-block; border: none; white-space: normal; padding: .1em .5em .1em 0; text-align: left; }}
  table.roads td[data-l]::before {{ content: attr(data-l) ": "; color: #666; }} table.roads tr.seg td[data-l="road"] {{ display: block; font-weight: bold; }}
  table.roads td[data-l="road"]::before {{ content: ""; }} table.roads tr.why td {{ border: none; }}
  table[data-cards], table[data-cards] tbody, table[data-cards] tr, table[data-cards] td {{ display: block; }}
  table[data-cards] tr:first-child {{ display: none; }} table[data-cards] tr {{ border-top: 1px solid #bbb; padding: .3em 0; }}
  table[data-cards] td {{ border: none; padding: .05em 0; white-space: normal; text-align: left; }}
  table[data-cards] td[data-l]::before {{ content: attr(data-l) ": "; color: #666; }}
  table[data-cards] th[colspan] {{ display: block; border: none; }}
}}
@page {{ size: A4; margin: 14mm 12mm; }}
@media print {{
  body {{ max-width: none; margin: 0; font-size: 9pt; }}
  table.roads tbody, .legend, div.map {{ break-inside: avoid; page-break-inside: avoid; }} thead {{ display: table-header-group; }}
  h2, h3, .legend {{ break-after: avoid; page-break-after: avoid; }}
  svg, .legend, .card, tr {{ break-inside: avoid; page-break-inside: avoid; }}
  .wide {{ overflow: visible; }} a {{ color: inherit; text-decoration: none; }}
}}
</style></head><body>
{terrain}
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
<p class="note">Run {started} with greenhalo {version}; inputs hash <span class="hash">{hash_short}</span> (<a href='#run'>the run, its files and command</a>).</p>
{warnings_section}
<div class="map"><h2>Roads</h2>
{weak_model}{road_legend}
{roads_map}</div>
<p>Thick lines: the budgeted portfolio ({port_n} segments, {port_cost}; net NPV built together {port_net}). {port_note}.</p>
{forced_note}
<h3>The portfolio</h3>
<p>Every segment funded within the road budget, by rank. Segments are ranked first by Pareto layer, then by net NPV: layer 1 holds the segments no other segment beats on both counts (more economic benefit and less forest loss); layer 2 those beaten only by layer 1, and so on. A low layer is a defensible choice whatever weight one gives to forest; the net NPV (the economic NPV minus the carbon value of the forest loss) orders segments within a layer. The layer is in roads.geojson (field pareto_layer) for a map of its own.</p>
{portfolio_table}
{importance_section}
{alternatives_section}
<p>{road_method}</p>
<h3>Worth improving, not funded</h3>
<p>Every segment classed "improve" or "improve with safeguards" that the budget leaves out, by rank, with why: for each, the best budgeted set that funds it (solved exactly with it forced in) and the funded segments it would replace. Safeguards are needed where a segment's carbon cost outweighs its economic NPV, its deforestation per US$1 M of benefit is above the threshold, or it lies within the halo distance of a conservation area.</p>
{left_out_table}
<h3>To avoid</h3>
<p>Segments that run through a conservation area, whatever their return.</p>
{avoid_table}
<p>{n_do_not} segment(s) do not repay their cost ("do not improve"); every segment with every figure is in roads.csv and roads.geojson.{outside_note}</p>
<div class="map"><h3>Efficiency frontier</h3>
{frontier_svg}</div>
<p>{frontier_text}</p>
<h3>How far the forest-loss figures can be trusted</h3>
{risk_section}
{access_html}
<div class="map"><h2>Farmland {parcels_heading}</h2>
{tr_legend}
{parcels_map}</div>
<p>{parcels_note}</p>
{farmland}
{parcel_importance}
{earnings}
<p class="note">The earnings multiple compares a parcel's yearly net revenue once its transition has matured with the net revenue of its current use; above 1 the farmer earns more.</p>
<div class="map"><h2>Conservation funding</h2>
{gap_legend}
{cons_map}</div>
<div class="wide"><table><tr><th>area</th><th>km²</th><th>threat ha</th><th>required /yr</th><th>allocated /yr, by source</th><th>gap /yr</th><th>funded</th><th>loss avoided ha</th><th>why a gap remains</th></tr>{cons_rows}</table></div>
{slivers}<p>{source_use}</p>
<h2>Finance</h2>
<p>All money in US$ of {cyear}, {basis} prices; flows discounted at {r:.0}% a year ({basis}). Returns are road benefits, farmers' net revenue above their baseline and carbon (sequestration and avoided loss at US${cprice:.0}/tCO2); the return multiple is undiscounted returns over undiscounted investment. {carbon_balance}</p>
<div class="map"><h3>Cash flow</h3>
{cashflow}</div>
<p>{payback_text}</p>
<h3>Investment by component</h3>
<table><tr><th>component</th><th>over {h} years</th><th>share</th></tr>{components}<tr><th>total</th><th class="num">{inv}</th><th class="num">100%</th></tr></table>
<div class="map"><h3>Capital stack</h3>
{legend_stack}
{capital}</div>
<p>{continuum}</p>
<div class="wide"><table class="stack"><thead><tr><th>phase</th><th>investment</th><th>philanthropic</th><th>public</th><th>concessional</th><th>private</th><th>guarantee cover used</th><th>private share</th><th>without guarantee</th><th>with unlimited guarantee and concessional</th><th>target</th></tr></thead>{stack_rows}</table></div>
<h4>Farm investment lines</h4>
<div class="wide"><table><tr><th>phase</th><th>line</th><th>investment</th><th>expected return</th><th>chance of earning below the hurdle</th><th>first-loss cover needed</th><th>commercial</th><th>concessional</th><th>philanthropic</th><th>guarantee cover</th></tr>{line_rows}</table></div>
<h3>This plan beside the Alto Mayo pilot</h3>
<p>The pilot's published headline figures and this plan's, with the settings and inputs behind each difference.</p>
<div class="wide"><table><tr><th>figure</th><th>pilot</th><th>this plan</th><th>this plan / pilot</th><th>why they differ</th></tr>{pilot_rows}</table></div>
<h3>Uncertainty</h3>
<p>{draws} draws of prices, yields, costs, carbon price, discount rate and road traffic (seed {seed}). The plan loses money (NPV below zero) in {p_neg:.1}% of draws; NPV P10 / P50 / P90: {npv10} / {npv50} / {npv90}.</p>
<div class="charts"><div>{hist}</div><div>{npv_hist}</div></div>
<h3>Sensitivity</h3>
<p>Each factor alone at the 10th and 90th percentile of its Monte Carlo spread, every other at its base value (orange: the low value; purple: the high value). The discount rate moves the NPV only: the return multiple is undiscounted.</p>
<div class="charts"><div>{tornado_multiple}</div><div>{tornado_npv}</div></div>
<table><tr><th>factor</th><th>P10 – P90</th><th>return multiple</th><th>NPV</th></tr>{sens_rows}</table>
{run_section}
<h2>Assumptions</h2>
<p>Every parameter that shaped this plan: its value, whether it is greenhalo's default or set in the landscape file, and its source. Money is in US$ of {cyear} ({basis} prices). Cite your own values under <code>[sources]</code> in the landscape file; the resolved file with every default filled in is landscape.resolved.toml.</p>
{assumptions}
<p>Made by greenhalo {version}. Every figure is also in summary.json and the layers beside this page.</p>
</body></html>
"#,
        name = esc(&inp.name),
        slivers = if funding.slivers.is_empty() {
            String::new()
        } else {
            format!(
                "<p class=\"note\">Left out of the funding, with less than {}% of their area inside the AOI (managed from the landscapes that hold the rest): {}.</p>",
                nz(100.0 * cfg.conservation.min_share_in_aoi, 2),
                esc(&funding
                    .slivers
                    .iter()
                    .map(|a| format!("{} ({:.2} of {:.1} km²)", a.name, a.area_km2, a.legal_area_km2))
                    .collect::<Vec<_>>()
                    .join(", "))
            )
        },
        started = esc(&run.started_utc.replace('T', " ").replace('Z', " UTC")),
        hash_short = esc(&summary["inputs_hash"].as_str().unwrap_or("").chars().take(12).collect::<String>()),
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
        port_note = esc(&sentence_case(&roads.portfolio.note)),
        forced_note = forced_note(&roads.portfolio),
        importance_section = importance_section(roads),
        alternatives_section = alternatives_section(roads),
        risk_section = risk_section(risk),
        weak_model = {
            let weak: Vec<&String> = risk
                .warnings
                .iter()
                .filter(|w| w.contains("weak model"))
                .collect();
            if weak.is_empty() {
                String::new()
            } else {
                format!(
                    "<p class=\"warn\">The forest-loss figures below rest on a weak model: {}.</p>",
                    esc(&weak.iter().map(|w| w.as_str()).collect::<Vec<_>>().join("; "))
                )
            }
        },
        parcels_heading = if inp.planning_units.is_some() { "planning units" } else { "parcels" },
        parcels_note = esc(&format!(
            "{}{}. Each parcel is chosen on what the plan realises from it, from its establishment year to the horizon (farm revenue, carbon and, inside the halo, forest loss spared, less technical assistance): {}. {}",
            units_sentence(inp.planning_units.as_ref()),
            sentence_case(&parcels.note),
            parcels.schedule_note,
            selection_sentence(&parcels.proof)
        )),
        farmland = farmland_tables(parcels),
        parcel_importance = parcel_importance(parcels),
        capital = capital_chart(fin),
        legend_stack = legend(&[
            ("philanthropic".into(), RGBColor(117, 107, 177)),
            ("public".into(), RGBColor(49, 130, 189)),
            ("development bank guarantee".into(), RGBColor(158, 202, 225)),
            ("private".into(), RGBColor(49, 163, 84)),
        ]),
        hist = multiple_histogram(fin),
        npv_hist = npv_histogram(fin),
        cashflow = cashflow_chart(fin),
        payback_text = match hl.payback_year {
            Some(y) => format!("The cumulative net cash flow turns positive in year {y} and stays so (bars: the net flow of each year; line: the running total; every figure in finance_cashflows.csv)."),
            None => "The cumulative net cash flow does not turn positive within the horizon (bars: the net flow of each year; line: the running total; every figure in finance_cashflows.csv).".into(),
        },
        components = components,
        tornado_multiple = tornado_chart(fin, false),
        tornado_npv = tornado_chart(fin, true),
        sens_rows = sens_rows,
        draws = fmt_int(mc.draws as f64),
        seed = mc.seed,
        p_neg = nz(mc.p_npv_negative * 100.0, 1),
        npv10 = money(mc.npv_usd_p10),
        npv50 = money(mc.npv_usd_p50),
        npv90 = money(mc.npv_usd_p90),
        cyear = cfg.economics.currency_year,
        basis = cfg.economics.price_basis.as_str(),
        cprice = cfg.economics.carbon_price_usd_per_tco2,
        earnings = earnings_histogram(parcels),
        gap_legend = gap_legend,
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
        frontier_text = esc(&format!(
            "{}{}{}",
            frontier_sentence(
                &roads.frontier,
                roads.portfolio.budget_usd,
                chosen_point(roads)
            ),
            joint_sentence(roads),
            match &roads.portfolio.forced {
                Some(_) => " Every point keeps the landscape file's forced choices (the forced-in segments in, the forced-out ones out).",
                None => "",
            }
        )),
        road_method = esc(&road_method(cfg, roads)),
        carbon_balance = esc(&carbon_balance(fin, &roads.portfolio)),
        assumptions = assumptions,
        version = env!("CARGO_PKG_VERSION"),
    ))
}

/// The lines `greenhalo run` prints at the end: headline figures, where the
/// report and project are, seconds per stage.
pub fn terminal_summary(
    summary: &serde_json::Value,
    out_dir: &std::path::Path,
    stages: &[crate::stopwatch::Lap],
    total: f64,
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
        let units = if p["planning_units"].is_object() {
            "planning units"
        } else {
            "parcels"
        };
        lines.push(format!(
            "  farmland      {} {units}, {km2:.1} km², {} invested",
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
    let times: Vec<String> = stages
        .iter()
        .map(|l| format!("{} {:.1}", l.stage, l.wall_s))
        .collect();
    lines.push(format!(
        "  seconds       {} (total {total:.1})",
        times.join(", ")
    ));
    lines.join("\n")
}

/// What is proven of the parcel selection, in a sentence.
/// Planning units are not farms: said first.
fn units_sentence(t: Option<&crate::inputs::planning_units::Tiling>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    format!(
        "This landscape has no cadastre: the \"parcels\" here are planning units, not farms. The AOI is tiled into {}s of {} ha, and the {} tiles at least {}% farmland (not forest, not water, outside conservation areas) are kept, clipped to the AOI ({} cut by its edge); each takes its current use from its commonest land-cover class. A selected unit says where a transition pays, not whose farm it is. ",
        t.shape.as_str(),
        t.area_ha,
        fmt_int(t.units as f64),
        fmt_int(100.0 * t.min_farmland_share),
        fmt_int(t.clipped as f64)
    )
}

fn selection_sentence(p: &crate::parcels::SelectionProof) -> String {
    if p.proven() {
        format!(
            "The selection is proven optimal to within {} (no selection within the budget is worth more than {}; {}).",
            money(p.tolerance_usd),
            money(p.bound_usd),
            p.method
        )
    } else {
        format!(
            "The solver's time limit (transitions.selection_time_limit_s) stopped the selection short of a proof: it is worth {}, and no selection within the budget is worth more than {} (a gap of at most {}, {:.4}%).",
            money(p.value_usd),
            money(p.bound_usd),
            money(p.gap_usd()),
            100.0 * p.gap_usd() / p.bound_usd.abs().max(1.0)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roads::FrontierPoint;

    fn point(cost: f64, benefit: f64, loss: f64) -> FrontierPoint {
        FrontierPoint {
            loss_cap_ha: loss * 100.0,
            segments: 1,
            cost_usd: cost,
            npv_econ_usd: benefit * 1e6,
            forest_loss_ha: loss * 100.0,
            benefit_share: benefit,
            loss_share: loss,
            proven: true,
            chosen: false,
            segment_ids: "1-0".into(),
        }
    }

    /// Every unit with the same earnings multiple drew an axis of ticks
    /// 4.02272 ... 4.02273; equal ends now get a round window about them.
    #[test]
    fn an_axis_of_equal_values_is_a_round_window_about_them() {
        assert_eq!(axis(4.0227212, 4.0227213), Some((3.5, 5.0)));
        assert_eq!(axis(-250.0, -250.0), Some((-275.0, -225.0)));
        assert_eq!(axis(0.0, 0.0), Some((-1.0, 1.0)));
        // A real spread is kept as it is.
        assert_eq!(axis(4.0, 4.5), Some((4.0, 4.5)));
        assert_eq!(axis(f64::NAN, 1.0), None);
    }

    /// The issue's case: nothing but budget zero within 10% of the loss
    /// ("-0% of the benefit for 10%"); each point quoted with its own shares.
    #[test]
    fn the_frontier_sentence_quotes_real_points_never_budget_zero() {
        let f = [
            point(0.0, -0.0, 0.0),
            point(2e6, 0.198, 0.105),
            point(5e6, 0.62, 0.24),
            point(9e6, 0.97, 0.6),
            point(12e6, 1.0, 1.0),
        ];
        let s = frontier_sentence(&f, 12e6, (100.0, 1e6));
        assert!(!s.contains("-0"), "{s}");
        assert!(!s.contains("for 10% of"), "{s}");
        assert!(
            s.contains("19.8% of it for 10.5% of its forest loss (1 segment(s), US$2.0 M)"),
            "{s}"
        );
        assert!(s.contains("62% of it for 24% of its forest loss"), "{s}");
        assert!(s.contains("97% of it for 60% of its forest loss"), "{s}");
        // Not on the frontier: the best point with no more loss is named.
        assert!(
            s.contains("is not on it: the frontier reaches US$1.0 M with no more forest loss"),
            "{s}"
        );
        // The first step is quoted once, first.
        assert!(s.find("19.8%") < s.find("62%"), "{s}");
        assert_eq!(s.matches("19.8%").count(), 1, "{s}");
    }
}
