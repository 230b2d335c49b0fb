//! Everything a run writes, one file per product: `rasters` (aligned inputs,
//! travel time, risk), `roads`, `halo`, `parcels`, `conservation`,
//! `finance`, `summary` (summary.json and the run record) and `project`
//! (QGIS project and styles); `schedule` writes them all, side by side. Shared here: rounding, raster statistics, the
//! guard against missing figures, JSON and CSV writers.

mod conservation;
mod finance;
mod halo;
mod parcels;
mod project;
mod rasters;
mod roads;
mod schedule;
mod summary;

pub use conservation::*;
pub use finance::*;
pub use halo::*;
pub use parcels::*;
pub use project::*;
pub use rasters::*;
pub use roads::*;
pub use schedule::*;
pub use summary::*;

use std::path::Path;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::io::geojson_out::OutFeature;

/// Statistics of a raster over the AOI: NaN cells are nodata.
pub fn raster_stats(data: &[f32], mask: &[u8]) -> Value {
    let mut n = 0usize;
    let mut missing = 0usize;
    let mut sum = 0f64;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (v, m) in data.iter().zip(mask) {
        if *m == 0 {
            continue;
        }
        if v.is_nan() {
            missing += 1;
            continue;
        }
        let v = *v as f64;
        n += 1;
        sum += v;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if n == 0 {
        return json!({ "cells": 0, "nodata_cells": missing });
    }
    json!({
        "cells": n,
        "nodata_cells": missing,
        "min": lo,
        "max": hi,
        "mean": sum / n as f64,
        "sum": sum,
    })
}

/// Machine-readable figures keep full precision (rounding is for display
/// only, in the report); a negative zero is written as 0.
pub fn tidy(v: &Value) -> Value {
    let mut v = v.clone();
    tidy_in_place(&mut v);
    v
}

/// `tidy` without a copy.
fn tidy_in_place(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() && n.as_f64() == Some(0.0) => *v = json!(0.0),
        Value::Object(m) => m.values_mut().for_each(tidy_in_place),
        Value::Array(a) => a.iter_mut().for_each(tidy_in_place),
        _ => {}
    }
}

/// Round a figure for output: cents for money-sized numbers, six
/// significant digits for small ones.
/// A figure greenhalo cannot compute is an error, never a null: every
/// property of every feature must be a value, except the fields that are
/// "not applicable" by definition (`optional`: an IRR where cash flows never
/// change sign, a phase for a parcel not selected). A NaN reaching serde
/// becomes null, so this also catches NaN and infinities.
pub fn guard_figures(
    stage: &str,
    layer: &str,
    id_key: &str,
    rows: &[&Map<String, Value>],
    optional: &[&str],
) -> Result<()> {
    let mut bad: Vec<(String, String)> = Vec::new();
    for m in rows {
        for (k, v) in m.iter() {
            let missing = match v {
                Value::Null => !optional.contains(&k.as_str()),
                Value::Number(n) => n.as_f64().is_some_and(|x| !x.is_finite()),
                _ => false,
            };
            if missing {
                let id = m
                    .get(id_key)
                    .map(|v| v.to_string().trim_matches('"').to_string())
                    .unwrap_or_default();
                bad.push((id, k.clone()));
            }
        }
    }
    if let Some((feature, field)) = bad.first() {
        let more = if bad.len() > 1 {
            format!(
                "; {} more: {}",
                bad.len() - 1,
                bad.iter()
                    .skip(1)
                    .take(5)
                    .map(|(i, f)| format!("{i}/{f}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        return Err(Error::Uncomputable {
            stage: stage.into(),
            layer: layer.into(),
            feature: format!("'{feature}'"),
            field: field.clone(),
            message: format!(
                "NaN or missing; this is a defect of greenhalo or of an input under this feature, please report it with the landscape{more}"
            ),
        });
    }
    Ok(())
}

/// The vector layers a run wrote, in the grid CRS, kept for the
/// GeoPackage (which then need not parse the GeoJSON again: for 25,000
/// parcels GDAL took longer to read it than to write the GeoPackage, nor
/// take the lon/lat of the GeoJSON back to the grid).
pub struct Layers<'d> {
    dir: &'d Path,
    kept: std::sync::Mutex<std::collections::BTreeMap<String, Shared>>,
}

/// A layer's features, shared by the jobs that write them.
pub type Shared = std::sync::Arc<Vec<OutFeature>>;

impl<'d> Layers<'d> {
    /// Layers to be written in `dir`.
    pub fn new(dir: &'d Path) -> Layers<'d> {
        Layers {
            dir,
            kept: Default::default(),
        }
    }

    /// Write `dir/file` (features in `src`, the grid CRS; see
    /// `write_layer`) and keep its features.
    pub fn write(
        &self,
        file: &str,
        src: &gdal::spatial_ref::SpatialRef,
        features: Vec<OutFeature>,
        csv: Option<&Path>,
    ) -> Result<()> {
        write_layer(&self.dir.join(file), src, &features, csv)?;
        self.keep(file, features);
        Ok(())
    }

    /// Keep the features of `dir/file` without writing it yet; the file is
    /// written from the features returned (`write_layer`).
    pub fn keep(&self, file: &str, features: Vec<OutFeature>) -> Shared {
        let shared = std::sync::Arc::new(features);
        if let Ok(mut m) = self.kept.lock() {
            m.insert(file.to_string(), shared.clone());
        }
        shared
    }

    /// The features kept as `file` (an error if they were not).
    pub fn get(&self, file: &str) -> Result<Shared> {
        self.kept
            .lock()
            .ok()
            .and_then(|mut m| m.remove(file))
            .ok_or_else(|| {
                Error::output(
                    Path::new(file),
                    "internal: the layer was not written before the GeoPackage",
                )
            })
    }
}

/// Write `path` (see `geojson_out::write`; features in `src`) and, with
/// `csv`, their properties there too, on another core.
pub fn write_layer(
    path: &Path,
    src: &gdal::spatial_ref::SpatialRef,
    features: &[OutFeature],
    csv: Option<&Path>,
) -> Result<()> {
    let mut csv_done = Ok(());
    let json_done = rayon::in_place_scope(|s| {
        if let Some(csv) = csv {
            let done = &mut csv_done;
            s.spawn(move |_| *done = write_layer_csv(csv, features));
        }
        crate::io::geojson_out::write(path, src, features)
    });
    json_done.and(csv_done)
}

/// A product layer's features: each geometry (in the grid CRS) with its
/// row, after every figure of every row is checked (`guard_figures`,
/// `optional` fields may be null).
pub fn product_features(
    geoms: impl Iterator<Item = geo::Geometry<f64>>,
    rows: Vec<Map<String, Value>>,
    (stage, what, id_key): (&str, &str, &str),
    optional: &[&str],
) -> Result<Vec<OutFeature>> {
    let all: Vec<&Map<String, Value>> = rows.iter().collect();
    guard_figures(stage, what, id_key, &all, optional)?;
    Ok(geoms
        .zip(rows)
        .map(|(geom, props)| OutFeature { geom, props })
        .collect())
}

/// A product layer: `<stem>.geojson` and `<stem>.csv` (the same rows) of
/// its `product_features`, kept for the GeoPackage.
pub fn write_product(
    layers: &Layers,
    stem: &str,
    inp: &crate::inputs::Inputs,
    geoms: impl Iterator<Item = geo::Geometry<f64>>,
    rows: Vec<Map<String, Value>>,
    checks: (&str, &str, &str),
    optional: &[&str],
) -> Result<()> {
    let feats = product_features(geoms, rows, checks, optional)?;
    let grid_srs = crate::io::srs::parse(&inp.grid_wkt)?;
    let csv = layers.dir.join(format!("{stem}.csv"));
    layers.write(&format!("{stem}.geojson"), &grid_srs, feats, Some(&csv))
}

/// Write one CSV from GeoJSON-like property maps, columns in the first
/// map's order.
/// About how many bytes a run's outputs take (checked against the free
/// space before writing: `io::space::check_room`).
pub fn estimated_bytes(inp: &crate::inputs::Inputs, roads: &crate::roads::RoadsResult) -> u64 {
    crate::io::space::estimate_output_bytes(
        inp.grid.width * inp.grid.height,
        inp.parcels.len(),
        roads.scored.len(),
    )
}

pub fn write_csv(path: &Path, rows: &[Map<String, Value>]) -> Result<()> {
    write_csv_of(path, rows.iter())
}

/// The properties of `features` as a CSV (see `write_csv`).
pub fn write_layer_csv(path: &Path, features: &[OutFeature]) -> Result<()> {
    write_csv_of(path, features.iter().map(|f| &f.props))
}

/// `write_csv` over borrowed rows.
fn write_csv_of<'r>(path: &Path, rows: impl Iterator<Item = &'r Map<String, Value>>) -> Result<()> {
    // A write that failed (a full disk) is said as such.
    let fail = |e: csv::Error| {
        if e.is_io_error() {
            if let csv::ErrorKind::Io(io) = e.into_kind() {
                return Error::io(path, io);
            }
            return Error::output(path, "write failed");
        }
        Error::output(path, e)
    };
    let mut w = csv::Writer::from_path(path).map_err(fail)?;
    let mut rows = rows.peekable();
    let header: Vec<String> = rows
        .peek()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default();
    w.write_record(&header).map_err(fail)?;
    // (each value written as it is: a string bare, any other JSON value
    // as serde_json writes it, a null or missing one empty)
    let mut text = Vec::new();
    for f in rows {
        for k in &header {
            match f.get(k) {
                Some(Value::String(s)) => w.write_field(s),
                Some(Value::Null) | None => w.write_field(""),
                Some(v) => {
                    text.clear();
                    serde_json::to_writer(&mut text, v).map_err(|e| Error::output(path, e))?;
                    w.write_field(&text)
                }
            }
            .map_err(fail)?;
        }
        w.write_record(None::<&[u8]>).map_err(fail)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

pub fn write_json(path: &Path, v: &Value) -> Result<()> {
    let mut s = serde_json::to_string_pretty(v).map_err(|e| Error::output(path, e))?;
    s.push('\n');
    std::fs::write(path, s).map_err(|e| Error::io(path, e))
}

/// One output row: `x` serialised and tidied (no -0, NaN as null for the
/// guard to catch) as a field map; empty when `x` is not a struct.
pub fn row<T: Serialize>(x: &T) -> Map<String, Value> {
    let mut v = serde_json::to_value(x).unwrap_or(Value::Null);
    tidy_in_place(&mut v);
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// `after` runs once, after every job of `first`; every job runs once,
    /// on a pool of two workers or of one.
    #[test]
    fn after_runs_once_when_the_first_jobs_are_done_and_every_job_runs() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let first_done = AtomicUsize::new(0);
                let rest_done = AtomicUsize::new(0);
                let after_saw = AtomicUsize::new(usize::MAX);
                let after_runs = AtomicUsize::new(0);
                let first: Vec<Job> = (0..5)
                    .map(|k| -> Job {
                        let d = &first_done;
                        Box::new(move || {
                            std::thread::sleep(std::time::Duration::from_millis(5 * k));
                            d.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        })
                    })
                    .collect();
                let rest: Vec<Job> = (0..7)
                    .map(|_| -> Job {
                        let d = &rest_done;
                        Box::new(move || {
                            d.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        })
                    })
                    .collect();
                let after: Job = Box::new(|| {
                    after_saw.store(first_done.load(Ordering::SeqCst), Ordering::SeqCst);
                    after_runs.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                });
                run_jobs(first, after, rest).unwrap();
                assert_eq!(after_saw.load(Ordering::SeqCst), 5, "{threads} thread(s)");
                assert_eq!(after_runs.load(Ordering::SeqCst), 1);
                assert_eq!(rest_done.load(Ordering::SeqCst), 7);
            });
        }
    }

    /// The error is the first in job order (first, after, rest) whichever
    /// finishes first; a failed first job skips `after`.
    #[test]
    fn the_first_error_in_job_order_is_returned_and_after_is_skipped() {
        let fail = |name: &'static str, ms: u64| -> Job {
            Box::new(move || {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Err(Error::output(Path::new(name), "failed"))
            })
        };
        let ran = AtomicUsize::new(0);
        let after: Job = Box::new(|| {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let err = run_jobs(
            vec![Box::new(|| Ok(())), fail("slow_first", 40)],
            after,
            vec![fail("quick_rest", 0)],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("slow_first"), "{err}");
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        // No first jobs: `after` still runs, and its error comes before
        // those of the rest.
        let err = run_jobs(Vec::new(), fail("after", 20), vec![fail("rest", 0)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("after"), "{err}");
    }

    #[test]
    fn a_nan_figure_is_an_error_naming_the_feature_and_field() {
        // serde writes NaN as null: the guard must catch it.
        let m = match json!({"id": "P00042", "elevation_m": f64::NAN, "private_irr": null}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let e = guard_figures("parcels", "parcel", "id", &[&m], &["private_irr"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("P00042") && e.contains("elevation_m"), "{e}");
        // Optional fields may be null ("not applicable").
        let ok = match json!({"id": "P1", "elevation_m": 812.0, "private_irr": null}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        assert!(guard_figures("parcels", "parcel", "id", &[&ok], &["private_irr"]).is_ok());
    }

    #[test]
    fn a_null_figure_in_the_summary_is_an_error_naming_its_path() {
        let s = json!({"conservation": {"forest_ha": null}, "layers": {"carbon": null}});
        let e = guard_summary(&s).unwrap_err().to_string();
        assert!(e.contains("conservation.forest_ha"), "{e}");
        assert!(
            guard_summary(&json!({"layers": {"carbon": null}, "finance": {"irr": null}})).is_ok()
        );
    }

    #[test]
    fn no_negative_zero_is_written() {
        assert_eq!(serde_json::to_string(&tidy(&json!(-0.0))).unwrap(), "0.0");
        assert_eq!(crate::fmt::fmt_int(-0.4), "0");
        assert_eq!(crate::fmt::nz(-0.004, 2).to_string(), "0");
    }
}
