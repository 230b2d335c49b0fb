//! `greenhalo batch`: many landscapes unattended. Every landscape file found
//! runs in parallel within a memory budget, into its own output folder; one
//! failure never stops the others; a table across landscapes is written at
//! the end. Runs are resumable (a landscape whose outputs match its inputs'
//! hash is skipped) and shardable (`--shard I/N` for a scheduler's array job).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::Landscape;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::provenance::inputs_hash;

/// Batch options.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Landscapes at once (0: as many as cores and memory allow).
    pub jobs: usize,
    /// (I, N), 1-based: run the I-th of N interleaved shards.
    pub shard: Option<(usize, usize)>,
    pub force: bool,
    /// Memory budget in bytes (0: 80% of this machine's memory).
    pub memory_bytes: u64,
    /// `--set section.key=value` overrides, applied to every landscape.
    pub overrides: Vec<String>,
}

/// One landscape's line in the batch table.
#[derive(Debug, Clone, Serialize)]
pub struct BatchRow {
    pub name: String,
    pub landscape: String,
    pub status: String,
    pub error: String,
    pub seconds: f64,
    pub out_dir: String,
    pub headline: Value,
}

/// Every landscape file under `dir` (files ending in .toml that hold a
/// `[layers]` table), or matching a glob pattern; sorted.
pub fn find(spec: &str) -> Result<Vec<PathBuf>> {
    let p = Path::new(spec);
    let mut out = Vec::new();
    if p.is_dir() {
        // Symlinked folders are followed once (a loop cannot hang the walk);
        // greenhalo's own output folders are skipped (their run record is a
        // landscape file too).
        fn walk(d: &Path, seen: &mut BTreeSet<PathBuf>, out: &mut Vec<PathBuf>) {
            let Ok(canon) = std::fs::canonicalize(d) else {
                return;
            };
            let is_output = d.join(crate::io::outdir::MARKER).exists()
                && d.join("landscape.resolved.toml").exists();
            if !seen.insert(canon) || is_output {
                return;
            }
            let Ok(rd) = std::fs::read_dir(d) else { return };
            for e in rd.flatten() {
                let path = e.path();
                if path.is_dir() {
                    walk(&path, seen, out);
                } else if path.extension().is_some_and(|x| x == "toml") {
                    out.push(path);
                }
            }
        }
        walk(p, &mut BTreeSet::new(), &mut out);
    } else {
        let paths = glob::glob(spec).map_err(|e| {
            Error::Usage(format!(
                "'{spec}' is neither a folder nor a valid glob pattern: {e}"
            ))
        })?;
        out.extend(paths.flatten().filter(|p| p.is_file()));
    }
    out.retain(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| t.lines().any(|l| l.trim() == "[layers]"))
    });
    out.sort();
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "no landscape files (.toml with a [layers] table) found in '{spec}'"
        )));
    }
    Ok(out)
}

/// The landscapes of shard `i` of `n` (1-based), interleaved so shards are
/// balanced; together the shards cover the list exactly once.
pub fn shard<T: Clone>(items: &[T], i: usize, n: usize) -> Vec<T> {
    items
        .iter()
        .enumerate()
        .filter(|(k, _)| k % n == i - 1)
        .map(|(_, x)| x.clone())
        .collect()
}

/// Parse "I/N".
pub fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
    let (a, b) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard wants I/N (e.g. 2/8), got '{s}'"))?;
    let i: usize = a
        .trim()
        .parse()
        .map_err(|_| format!("'{a}' is not a number"))?;
    let n: usize = b
        .trim()
        .parse()
        .map_err(|_| format!("'{b}' is not a number"))?;
    if n == 0 || i == 0 || i > n {
        return Err(format!("--shard {s}: I must be between 1 and N"));
    }
    Ok((i, n))
}

/// Output folder name of a landscape: its folder's path relative to the
/// common root, '/' replaced by '__' (unique and readable).
fn out_name(root: &Path, file: &Path) -> String {
    let dir = file.parent().unwrap_or(Path::new("."));
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let mut s = rel.to_string_lossy().replace(['/', '\\'], "__");
    let stem = file
        .file_stem()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem != "landscape" {
        s = if s.is_empty() {
            stem
        } else {
            format!("{s}__{stem}")
        };
    }
    if s.is_empty() {
        "landscape".into()
    } else {
        s
    }
}

/// Output names for every landscape of the batch, computed on the whole list
/// (so every shard agrees). Names equal but for case, or equal after '/'
/// became '__' (`a__b/` and `a/b/`), get a short hash of their path.
fn unique_names(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let names: Vec<String> = files.iter().map(|f| out_name(root, f)).collect();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for n in &names {
        *count.entry(n.to_lowercase()).or_default() += 1;
    }
    names
        .into_iter()
        .zip(files)
        .map(|(n, f)| {
            if count[&n.to_lowercase()] > 1 {
                let rel = f.strip_prefix(root).unwrap_or(f);
                let h = Sha256::digest(rel.to_string_lossy().as_bytes());
                let tag: String = h.iter().take(4).map(|b| format!("{b:02x}")).collect();
                format!("{n}~{tag}")
            } else {
                n
            }
        })
        .collect()
}

/// The batch's output folder must lie outside the folder it searches, or
/// every later batch would find the outputs' run records as landscapes and
/// a landscape folder could be replaced by its outputs.
fn check_out_outside_root(spec: &str, root: &Path, out: &Path) -> Result<()> {
    let base = if Path::new(spec).is_dir() {
        PathBuf::from(spec)
    } else {
        root.to_path_buf()
    };
    let (b, o) = (
        crate::io::outdir::resolved(&base),
        crate::io::outdir::resolved(out),
    );
    if o.starts_with(&b) {
        return Err(Error::output(
            out,
            format!(
                "is or lies inside the folder the batch reads landscapes from ({}); choose an output folder outside it",
                base.display()
            ),
        ));
    }
    if b.starts_with(&o) && out.exists() {
        // The landscapes live inside the output folder: their folders could
        // collide with output names.
        return Err(Error::output(
            out,
            format!(
                "holds the landscapes the batch reads ({}); choose an output folder outside it",
                base.display()
            ),
        ));
    }
    Ok(())
}

/// The marker of a batch output folder (beside its batch_summary files).
const BATCH_MARKER: &str = ".greenhalo-batch";

fn common_root(files: &[PathBuf]) -> PathBuf {
    let mut root: Option<PathBuf> = None;
    for f in files {
        let d = f.parent().unwrap_or(Path::new(".")).to_path_buf();
        root = Some(match root {
            None => d,
            Some(r) => {
                let mut common = PathBuf::new();
                for (a, b) in r.components().zip(d.components()) {
                    if a != b {
                        break;
                    }
                    common.push(a.as_os_str());
                }
                common
            }
        });
    }
    root.unwrap_or_default()
}

fn total_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(8 << 30)
}

/// Memory a run needs, roughly: ~120 bytes per grid cell (rasters, drivers,
/// solver) plus 200 MB of fixed overhead; cells from the AOI's extent.
fn estimate_bytes(file: &Path, overrides: &[String]) -> u64 {
    let cells = (|| -> Option<f64> {
        let ls = Landscape::load_with(file, overrides).ok()?;
        let path = ls.resolve(&ls.cfg.layers.aoi.path);
        let (ds, idx, _) =
            crate::io::vector::open(&path, ls.cfg.layers.aoi.layer.as_deref()).ok()?;
        use gdal::vector::LayerAccess;
        let lyr = ds.layer(idx).ok()?;
        let e = lyr.get_extent().ok()?;
        let geographic = lyr
            .spatial_ref()
            .map(|s| s.is_geographic())
            .unwrap_or(false);
        let (w, h) = if geographic {
            ((e.MaxX - e.MinX) * 111_000.0, (e.MaxY - e.MinY) * 111_000.0)
        } else {
            (e.MaxX - e.MinX, e.MaxY - e.MinY)
        };
        Some(w * h / (ls.cfg.grid.resolution_m * ls.cfg.grid.resolution_m))
    })()
    .unwrap_or(1e6);
    (cells * 120.0) as u64 + (200 << 20)
}

/// A counting budget: a job takes its bytes (at most the whole budget, so a
/// large landscape runs alone) and gives them back when done.
struct Budget {
    left: Mutex<u64>,
    cv: Condvar,
    total: u64,
}

impl Budget {
    fn take(&self, want: u64) -> u64 {
        let want = want.min(self.total);
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        while *left < want {
            left = self.cv.wait(left).unwrap_or_else(|e| e.into_inner());
        }
        *left -= want;
        want
    }
    fn give(&self, n: u64) {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        *left += n;
        self.cv.notify_all();
    }
}

/// The headline figures of one summary.json, for the batch table.
fn headline(s: &Value) -> Value {
    json!({
        "aoi_area_km2": s["grid"]["aoi_area_km2"],
        "risk_calibrated": s["risk"]["calibrated"],
        "risk_auc_holdout": s["risk"]["auc_holdout"],
        "road_segments": s["roads"]["segments"],
        "roads_in_portfolio": s["roads"]["portfolio"]["segments"].as_array().map(|a| a.len()),
        "roads_portfolio_npv_net_usd": s["roads"]["portfolio"]["npv_net_joint_usd"],
        "parcels_selected_km2": s["parcels"]["selected_km2"],
        "conservation_funded_share": s["conservation"]["funded_share"],
        "investment_usd": s["finance"]["investment_usd"],
        "return_multiple": s["finance"]["return_multiple"],
        "npv_usd": s["finance"]["npv_usd"],
        "irr": s["finance"]["irr"],
        "return_multiple_p50": s["finance"]["monte_carlo"]["return_multiple_p50"],
    })
}

/// The batch table of the batch running in this process: the rows of the
/// landscapes finished so far, so that an interrupt still writes it
/// ([`write_on_interrupt`]). Its lock is held while a table is written:
/// one writer, never a half-written table.
struct Table {
    out: PathBuf,
    tag: String,
    /// Each landscape of the batch (file, folder name) and its row once done.
    files: Vec<(PathBuf, String)>,
    done: Vec<Option<BatchRow>>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

fn table() -> std::sync::MutexGuard<'static, Option<Table>> {
    TABLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// On an interrupt (SIGINT, SIGTERM): write the running batch's table with
/// the landscapes that finished and the rest marked `interrupted`; returns
/// the table's path and how many finished, or None when no batch runs or
/// its table is already written.
pub fn write_on_interrupt() -> Option<(PathBuf, usize)> {
    let mut g = table();
    let t = g.take()?;
    let finished = t.done.iter().filter(|r| r.is_some()).count();
    let rows: Vec<BatchRow> = t
        .files
        .iter()
        .zip(t.done)
        .map(|((f, name), r)| {
            r.unwrap_or_else(|| BatchRow {
                name: name.clone(),
                landscape: f.display().to_string(),
                status: "interrupted".into(),
                error: "the batch was interrupted before this landscape finished".into(),
                seconds: 0.0,
                out_dir: t.out.join(name).display().to_string(),
                headline: Value::Null,
            })
        })
        .collect();
    write_table(&t.out, &t.tag, &rows).ok()?;
    Some((t.out.join(format!("batch_summary{}.csv", t.tag)), finished))
}

/// One line for a finished landscape: name, status, seconds and the
/// headline return multiple, or the error.
fn finished_line(r: &BatchRow) -> String {
    match r.status.as_str() {
        "ok" | "skipped" => {
            let multiple = r.headline["return_multiple"]
                .as_f64()
                .map(|m| format!("return multiple {m:.2}"))
                .unwrap_or_else(|| "no finance (roads only)".into());
            let what = if r.status == "ok" { "ok" } else { "up to date" };
            format!("{}: {what} in {:.1} s, {multiple}", r.name, r.seconds)
        }
        _ => format!("{}: failed in {:.1} s: {}", r.name, r.seconds, r.error),
    }
}

/// An error as one line of the table (a file's problems come one a line):
/// lines joined by "; ", or by a space after a line that ends in a colon.
fn one_line(e: &str) -> String {
    let mut out = String::new();
    for l in e.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(l);
    }
    out
}

/// Run a batch; returns the rows (one per landscape of this shard). Each
/// landscape says one line as it finishes; an interrupt still writes the
/// table of those finished (see [`write_on_interrupt`]).
pub fn run(
    spec: &str,
    out: &Path,
    opts: &BatchOptions,
    progress: &Progress,
) -> Result<Vec<BatchRow>> {
    let all = find(spec)?;
    let root = common_root(&all);
    check_out_outside_root(spec, &root, out)?;
    let names = unique_names(&root, &all);
    let named: Vec<(PathBuf, String)> = all.iter().cloned().zip(names).collect();
    let files = match opts.shard {
        Some((i, n)) => shard(&named, i, n),
        None => named.clone(),
    };
    let items: Vec<Item> = files
        .into_iter()
        .map(|(file, name)| Item {
            file,
            name,
            overrides: opts.overrides.clone(),
        })
        .collect();
    run_items(items, out, opts, progress)
}

/// One run of a batch: a landscape file, its folder's name, and the
/// `--set` overrides it runs with.
#[derive(Debug, Clone)]
pub struct Item {
    pub file: PathBuf,
    pub name: String,
    pub overrides: Vec<String>,
}

/// Run `items` as a batch into `out` (side by side within the memory
/// budget, one line each, the table written whole, interrupted or not):
/// `run`'s landscapes, or a sweep's scenarios (one file, each with its own
/// overrides; `opts.overrides` is not read).
pub fn run_items(
    items: Vec<Item>,
    out: &Path,
    opts: &BatchOptions,
    progress: &Progress,
) -> Result<Vec<BatchRow>> {
    let files: Vec<(PathBuf, String)> = items
        .iter()
        .map(|i| (i.file.clone(), i.name.clone()))
        .collect();
    if out.is_dir() && !out.join(BATCH_MARKER).exists() {
        let mut entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
        if entries.next().is_some() {
            return Err(Error::output(
                out,
                format!("exists, is not empty and is not a greenhalo batch folder (it has no {BATCH_MARKER}); choose a new or empty folder"),
            ));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let m = out.join(BATCH_MARKER);
    std::fs::write(
        &m,
        format!("batch outputs of greenhalo {}\n", env!("CARGO_PKG_VERSION")),
    )
    .map_err(|e| Error::io(&m, e))?;
    let budget_total = if opts.memory_bytes > 0 {
        opts.memory_bytes
    } else {
        total_memory() / 10 * 8
    };
    let budget = Budget {
        left: Mutex::new(budget_total),
        cv: Condvar::new(),
        total: budget_total,
    };
    // More workers than landscapes (or than any machine has cores) would
    // only spawn idle threads; --jobs 1000000000 must not exhaust them.
    let jobs = if opts.jobs > 0 {
        opts.jobs
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    }
    .min(files.len().max(1))
    .min(1024);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Usage(format!("thread pool: {e}")))?;
    let bar = progress.bar(files.len() as u64, "landscapes");
    let quiet = Progress::hidden();
    let tag = opts
        .shard
        .map(|(i, n)| format!(".shard-{i}-of-{n}"))
        .unwrap_or_default();
    *table() = Some(Table {
        out: out.to_path_buf(),
        tag: tag.clone(),
        files: files.clone(),
        done: vec![None; files.len()],
    });
    let finished = |k: usize, r: BatchRow| -> BatchRow {
        if let Some(t) = table().as_mut() {
            t.done[k] = Some(r.clone());
        }
        progress.say(&bar, &finished_line(&r));
        bar.inc(1);
        r
    };
    let rows: Vec<BatchRow> = pool.install(|| {
        items
            .par_iter()
            .enumerate()
            .map(|(k, it)| {
                let (f, name) = (&it.file, &it.name);
                let dir = out.join(name);
                let t0 = Instant::now();
                let row = |status: &str, error: String, headline: Value| BatchRow {
                    name: name.clone(),
                    landscape: f.display().to_string(),
                    status: status.into(),
                    error,
                    seconds: (t0.elapsed().as_secs_f64() * 100.0).round() / 100.0,
                    out_dir: dir.display().to_string(),
                    headline,
                };
                let hash = Landscape::load_with(f, &it.overrides).and_then(|ls| inputs_hash(&ls));
                let prior: Option<Value> = std::fs::read_to_string(dir.join("summary.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok());
                if let (Ok(h), Some(p), false) = (&hash, &prior, opts.force) {
                    if p["inputs_hash"].as_str() == Some(h.as_str()) {
                        return finished(k, row("skipped", String::new(), headline(p)));
                    }
                }
                let need = budget.take(estimate_bytes(f, &it.overrides));
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let run = crate::RunOptions {
                        overrides: it.overrides.clone(),
                        ..Default::default()
                    };
                    crate::pipeline(f, &dir, &quiet, run)
                }));
                budget.give(need);
                let r = match result {
                    Ok(Ok(_)) => {
                        let s: Value = std::fs::read_to_string(dir.join("summary.json"))
                            .ok()
                            .and_then(|t| serde_json::from_str(&t).ok())
                            .unwrap_or(Value::Null);
                        row("ok", String::new(), headline(&s))
                    }
                    Ok(Err(e)) => row("failed", one_line(&e.to_string()), Value::Null),
                    Err(_) => row(
                        "failed",
                        "internal error (panic); please report it with this landscape".into(),
                        Value::Null,
                    ),
                };
                finished(k, r)
            })
            .collect()
    });
    bar.finish_and_clear();
    // (the table taken under its lock: an interrupt now waits for it)
    let mut g = table();
    g.take();
    write_table(out, &tag, &rows)?;
    drop(g);
    Ok(rows)
}

/// Rebuild the batch table from every landscape folder in `out` (the merge
/// step after a scheduler's array job).
pub fn merge(out: &Path) -> Result<Vec<BatchRow>> {
    let mut rows = Vec::new();
    let rd = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let Ok(t) = std::fs::read_to_string(d.join("summary.json")) else {
            continue;
        };
        let s: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
        rows.push(BatchRow {
            name: d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            landscape: s["landscape_file"].as_str().unwrap_or("").to_string(),
            status: "ok".into(),
            error: String::new(),
            seconds: 0.0,
            out_dir: d.display().to_string(),
            headline: headline(&s),
        });
    }
    // Failures are recorded only in the shards' own tables: carry them over.
    if let Ok(rd) = std::fs::read_dir(out) {
        let mut shard_files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    n.to_string_lossy().starts_with("batch_summary.shard-")
                        && n.to_string_lossy().ends_with(".json")
                })
            })
            .collect();
        shard_files.sort();
        for f in shard_files {
            let v: Value = std::fs::read_to_string(&f)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            for r in v["landscapes"].as_array().into_iter().flatten() {
                if r["status"] == "failed"
                    && !rows
                        .iter()
                        .any(|x| x.name == r["name"].as_str().unwrap_or(""))
                {
                    rows.push(
                        serde_json::from_value::<BatchRowDe>(r.clone())
                            .map(Into::into)
                            .unwrap_or_else(|_| BatchRow {
                                name: r["name"].as_str().unwrap_or("").into(),
                                landscape: String::new(),
                                status: "failed".into(),
                                error: r["error"].as_str().unwrap_or("").into(),
                                seconds: 0.0,
                                out_dir: String::new(),
                                headline: Value::Null,
                            }),
                    );
                }
            }
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    write_table(out, "", &rows)?;
    Ok(rows)
}

#[derive(serde::Deserialize)]
struct BatchRowDe {
    name: String,
    landscape: String,
    status: String,
    error: String,
    seconds: f64,
    out_dir: String,
    headline: Value,
}

impl From<BatchRowDe> for BatchRow {
    fn from(r: BatchRowDe) -> Self {
        BatchRow {
            name: r.name,
            landscape: r.landscape,
            status: r.status,
            error: r.error,
            seconds: r.seconds,
            out_dir: r.out_dir,
            headline: r.headline,
        }
    }
}

/// Write batch_summary{tag}.json and .csv, each whole or not at all (made
/// beside under a temporary name, then renamed).
fn write_table(out: &Path, tag: &str, rows: &[BatchRow]) -> Result<()> {
    let ok = rows.iter().filter(|r| r.status == "ok").count();
    let skipped = rows.iter().filter(|r| r.status == "skipped").count();
    let failed = rows.iter().filter(|r| r.status == "failed").count();
    let interrupted = rows.iter().filter(|r| r.status == "interrupted").count();
    let v = json!({ "landscapes": rows, "ok": ok, "skipped": skipped, "failed": failed, "interrupted": interrupted });
    let json_path = out.join(format!("batch_summary{tag}.json"));
    let tmp = out.join(format!(".batch_summary{tag}.json.part"));
    crate::outputs::write_json(&tmp, &v)?;
    std::fs::rename(&tmp, &json_path).map_err(|e| Error::io(&json_path, e))?;
    let path = out.join(format!("batch_summary{tag}.csv"));
    let tmp = out.join(format!(".batch_summary{tag}.csv.part"));
    write_csv(&tmp, rows)?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

fn write_csv(path: &Path, rows: &[BatchRow]) -> Result<()> {
    let keys: Vec<String> = rows
        .iter()
        .find_map(|r| r.headline.as_object().map(|m| m.keys().cloned().collect()))
        .unwrap_or_default();
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::output(path, e))?;
    let mut header = vec!["name", "status", "error", "seconds", "landscape", "out_dir"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    header.extend(keys.iter().cloned());
    w.write_record(&header)
        .map_err(|e| Error::output(path, e))?;
    for r in rows {
        let mut rec = vec![
            r.name.clone(),
            r.status.clone(),
            r.error.clone(),
            r.seconds.to_string(),
            r.landscape.clone(),
            r.out_dir.clone(),
        ];
        for k in &keys {
            rec.push(match &r.headline[k] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
        w.write_record(&rec).map_err(|e| Error::output(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_of_several_lines_is_one_line() {
        assert_eq!(
            one_line("x.toml: 2 problem(s):\n  a = 1: unknown key\n\n  b: missing\n"),
            "x.toml: 2 problem(s): a = 1: unknown key; b: missing"
        );
        assert_eq!(one_line("one"), "one");
    }

    #[test]
    fn shards_cover_the_list_exactly_once() {
        let items: Vec<usize> = (0..17).collect();
        for n in 1..6 {
            let mut all: Vec<usize> = (1..=n).flat_map(|i| shard(&items, i, n)).collect();
            all.sort();
            assert_eq!(all, items);
        }
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(
            parse_shard("0/3").is_err() && parse_shard("4/3").is_err() && parse_shard("x").is_err()
        );
    }
}
