//! The `greenhalo` command: parse arguments, call the library, report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use greenhalo::Progress;

#[derive(Parser)]
#[command(
    name = "greenhalo",
    version,
    about = "Green Halo landscape planning: roads, farmland transitions, conservation funding and finance, as maps and numbers"
)]
struct Cli {
    /// No progress bars or notes; errors still go to stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Progress as lines for a program to read (the QGIS plugin does):
    /// `progress<TAB>step<TAB>done<TAB>total` on stderr (total 0 while not
    /// known), at most 4 a second, whether or not stderr is a terminal.
    #[arg(long, global = true)]
    progress_lines: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

/// A raster cell type the tools can write (GDAL's names).
#[derive(Clone, Copy, clap::ValueEnum)]
enum OutType {
    #[value(name = "Float32")]
    Float32,
    #[value(name = "Float64")]
    Float64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the pipeline on a landscape file and write every output into DIR.
    Run {
        /// The landscape file (landscape.toml).
        landscape: PathBuf,
        /// Output folder; replaced only when the run succeeds.
        #[arg(short, long)]
        out: PathBuf,
        /// Replace an existing non-empty output folder that greenhalo did not
        /// write, and everything in it (never one holding the landscape's inputs).
        #[arg(long)]
        force: bool,
        /// Change one setting for this run: --set section.key=value
        /// (repeatable; e.g. --set economics.carbon_price_usd_per_tco2=10).
        /// Applied before validation, recorded in landscape.resolved.toml
        /// and run_log.txt.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Score and rank road segments, and choose the budgeted portfolio (runs
    /// only the stages roads need: accessibility, risk, halo).
    Roads {
        landscape: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        /// Replace an existing non-empty output folder that greenhalo did not
        /// write, and everything in it (never one holding the landscape's inputs).
        #[arg(long)]
        force: bool,
        /// Change one setting for this run: --set section.key=value
        /// (repeatable; e.g. --set economics.carbon_price_usd_per_tco2=10).
        /// Applied before validation, recorded in landscape.resolved.toml
        /// and run_log.txt.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Run every landscape found in a folder (or matching a glob) in
    /// parallel, one output folder each; failures are reported, not fatal.
    /// Exit status 0 when all succeeded (or were up to date), 3 when some failed.
    Batch {
        /// A folder (searched recursively for landscape .toml files) or a glob.
        landscapes: String,
        #[arg(short, long)]
        out: PathBuf,
        /// Landscapes at once (default: the number of cores, within the memory budget).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Run shard I of N (1-based), e.g. from a Slurm array: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT.
        #[arg(long, value_parser = greenhalo::batch::parse_shard)]
        shard: Option<(usize, usize)>,
        /// Re-run landscapes whose outputs are up to date.
        #[arg(long)]
        force: bool,
        /// Memory budget in GB (default: 80% of this machine's memory).
        #[arg(long, default_value_t = 0.0)]
        memory_gb: f64,
        /// Change one setting for every landscape of the batch: --set section.key=value
        /// (repeatable; e.g. --set economics.carbon_price_usd_per_tco2=10).
        /// Applied before validation, recorded in landscape.resolved.toml
        /// and run_log.txt.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Compare finished runs side by side: headline figures and their
    /// differences, the settings that differ, roads entering and leaving
    /// the portfolio, parcels that change, a map of the differences
    /// (comparison.html, CSV, GeoJSON styled for QGIS).
    Compare {
        /// Output folders of `greenhalo run` (two or more; the first is the
        /// one the others are measured against).
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
        /// Compare runs of different inputs too (headline figures only).
        #[arg(long)]
        any_landscapes: bool,
        /// Replace an existing non-empty output folder greenhalo did not write.
        #[arg(long)]
        force: bool,
    },
    /// Run a landscape once per scenario and compare the runs: --vary
    /// section.key=V1,V2,... (repeatable: every combination), or the
    /// landscape file's [[scenarios]] (name, set = { key = value }). The
    /// scenarios run as a batch (side by side, one line each, a table in
    /// OUT/batch_summary.csv, up-to-date ones skipped), each into
    /// OUT/<key=value> or OUT/<name>, then the comparison into
    /// OUT/comparison; a failed scenario never stops the others (exit 3).
    Sweep {
        landscape: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        /// A setting and its values, e.g. --vary economics.carbon_price_usd_per_tco2=10,50,100.
        /// Without --vary, the landscape file's [[scenarios]] are run.
        #[arg(long = "vary", value_name = "KEY=V1,V2,...")]
        vary: Vec<String>,
        /// Change one setting in every scenario: --set section.key=value.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Re-run scenarios whose outputs are up to date.
        #[arg(long)]
        force: bool,
        /// Scenarios at once (default: the number of cores, within the memory budget).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
    },
    /// Rebuild batch_summary.csv/json from every landscape folder in OUT (the
    /// merge step after sharded runs).
    #[command(name = "batch-merge")]
    BatchMerge { out: PathBuf },
    /// Check every layer of a landscape and report all problems (exit 2 on errors).
    Validate {
        landscape: PathBuf,
        /// Change one setting for this run: --set section.key=value
        /// (repeatable; e.g. --set economics.carbon_price_usd_per_tco2=10).
        /// Applied before validation, recorded in landscape.resolved.toml
        /// and run_log.txt.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Write a commented landscape-file template into DIR; with --from,
    /// one that maps the layers found in a folder.
    Init {
        dir: PathBuf,
        /// Overwrite an existing landscape.toml.
        #[arg(long)]
        force: bool,
        /// Look at the layers in this folder (geometry, CRS, fields and
        /// values) and map what is recognised, with a comment on each guess
        /// and on what is missing.
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Accumulated cost from the nearest source over any cost raster.
    ///
    /// The cost raster holds cost per unit distance (in the raster's units);
    /// nodata, NaN and negative cells are impassable. Moves are 8-connected;
    /// a step costs the mean of the two cells' costs times the step length
    /// (1 or sqrt(2) cells times the cell size): the convention of
    /// scikit-image's MCP_Geometric and GRASS r.cost without knight's moves.
    /// Sources: any OGR vector layer, reprojected to the raster's CRS.
    #[command(name = "cost-distance")]
    CostDistance {
        /// Cost raster (cost per unit distance).
        #[arg(long)]
        cost: PathBuf,
        /// Source features (points, lines or polygons).
        #[arg(long)]
        sources: PathBuf,
        /// Output GeoTIFF of accumulated cost.
        #[arg(short, long)]
        out: PathBuf,
        /// CRS to assume for a cost raster that declares none (e.g. EPSG:32718).
        #[arg(long)]
        assume_crs: Option<String>,
        /// Cell type of the output. Costs are always summed in 64-bit
        /// floats (as scikit-image and WhiteboxTools); Float32 keeps about
        /// 7 significant digits in half the file, Float64 every digit.
        #[arg(long = "type", value_enum, default_value_t = OutType::Float32)]
        out_type: OutType,
    },
    /// Exact zonal statistics: every cell weighted by the fraction of it a
    /// polygon covers (exactextract's definitions; count = sum of coverage
    /// fractions of cells with data).
    #[command(name = "zonal-stats")]
    ZonalStats {
        #[arg(long)]
        polygons: PathBuf,
        #[arg(long)]
        raster: PathBuf,
        /// Comma-separated, from: mean, sum, count, min, max, majority,
        /// minority, variety, median, stdev, coefficient_of_variation,
        /// frac (one column per value, frac_<value>: its share of the
        /// covered area), and with --weights: weighted_mean, weighted_sum,
        /// weighted_frac (exactextract's definitions; ties in majority go
        /// to the larger value, in minority to the smaller).
        #[arg(
            long,
            default_value = "mean,sum,count,min,max,majority",
            value_delimiter = ','
        )]
        stats: Vec<String>,
        /// Output .csv or .geojson.
        #[arg(short, long)]
        out: PathBuf,
        /// CRS to assume for a raster that declares none (e.g. EPSG:32718).
        #[arg(long)]
        assume_crs: Option<String>,
        /// Weighting raster for the weighted statistics, on the values'
        /// grid (each cell counts by its coverage times its weight).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// The weight of a cell the weighting raster has no data for (without
        /// it, such a cell under a polygon is an error).
        #[arg(long, requires = "weights")]
        default_weight: Option<f64>,
    },
    /// Generate a realistic synthetic landscape modelled on Alto Mayo, Peru.
    Synth {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Width and height in km, e.g. 60,50.
        #[arg(long, default_value = "60,50", value_parser = parse_size)]
        size_km: (f64, f64),
        /// Cell size of the generated rasters in metres.
        #[arg(long, default_value_t = 100.0)]
        resolution: f64,
        /// The parcel lattice's smallest and largest spacing in metres:
        /// parcels are about its square (140,470 gives 1 to 20 ha; 50,120
        /// about ten times as many parcels).
        #[arg(long, default_value = "140,470", value_parser = parse_spacing)]
        parcel_spacing_m: (f64, f64),
        /// Output folder (holds landscape.toml and the layers).
        #[arg(short, long)]
        out: PathBuf,
    },
}

fn parse_spacing(s: &str) -> Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(',').collect();
    let nums: Vec<f64> = parts.iter().filter_map(|p| p.trim().parse().ok()).collect();
    if parts.len() != 2 || nums.len() != 2 {
        return Err(format!(
            "expected LO,HI in metres (e.g. 140,470), got '{s}'"
        ));
    }
    let (lo, hi) = (nums[0], nums[1]);
    if !(lo >= 30.0 && hi > lo && hi <= 3000.0) {
        return Err(format!(
            "the spacing must rise from at least 30 m to at most 3000 m, got {lo},{hi}"
        ));
    }
    Ok((lo, hi))
}

fn parse_size(s: &str) -> Result<(f64, f64), String> {
    let parts: Vec<&str> = s.split(',').collect();
    if parts.len() != 2 {
        return Err(format!("expected W,H in km (e.g. 60,50), got '{s}'"));
    }
    let w: f64 = parts[0]
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number", parts[0]))?;
    let h: f64 = parts[1]
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number", parts[1]))?;
    if !(w >= 5.0 && h >= 5.0 && w <= 500.0 && h <= 500.0) {
        return Err("each side must be between 5 and 500 km".into());
    }
    Ok((w, h))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C, SIGTERM or SIGHUP: remove this run's staging folders (outputs
    // not yet moved into place) and exit 130 as shells expect. A commit in
    // progress finishes its swap first.
    let _ = ctrlc::set_handler(|| {
        let _held = greenhalo::io::outdir::abandon_all();
        // A batch: its table with the landscapes that finished.
        if let Some((table, n)) = greenhalo::batch::write_on_interrupt() {
            eprintln!(
                "greenhalo: batch interrupted; {} lists the {n} landscape(s) that finished and the rest as interrupted",
                table.display()
            );
        }
        let swapped = greenhalo::io::outdir::swapped_while_interrupted();
        if swapped.is_empty() {
            eprintln!(
                "greenhalo: interrupted; unfinished outputs removed, earlier outputs left as they were"
            );
        } else {
            for (target, old) in &swapped {
                eprintln!(
                    "greenhalo: interrupted after the new output was moved into place: {} is complete; the rest of the earlier output in {} is removed by the next run into it",
                    target.display(),
                    old.display()
                );
            }
        }
        immediate_exit(130);
    });
    let progress = if cli.progress_lines {
        Progress::new(cli.quiet).as_lines()
    } else {
        Progress::new(cli.quiet)
    };
    let result = dispatch(cli.cmd, cli.quiet, &progress);
    if greenhalo::io::outdir::interrupted() {
        // The interrupt handler is removing our folders and will end the
        // process with 130; an error now is only its echo.
        loop {
            std::thread::park();
        }
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            // Library errors carry their causes in their message already;
            // add only what the chain says beyond it.
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg.push_str(": ");
                    msg.push_str(&c);
                }
            }
            eprintln!("greenhalo: {msg}");
            ExitCode::from(1)
        }
    }
}

/// `run` and `roads`: the pipeline (which says its warnings as it finds
/// them), then the headline figures and seconds per stage (sections the run
/// did not reach are left out).
fn run(
    landscape: &std::path::Path,
    out: &std::path::Path,
    opts: greenhalo::RunOptions,
    quiet: bool,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    let rep = greenhalo::pipeline(landscape, out, progress, opts)?;
    if !quiet {
        eprintln!(
            "{}",
            greenhalo::report::terminal_summary(
                &rep.summary,
                &rep.out_dir,
                &rep.stages,
                rep.total_seconds
            )
        );
        eprintln!("outputs written to {}", rep.out_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn dispatch(cmd: Cmd, quiet: bool, progress: &Progress) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Run {
            landscape,
            out,
            force,
            set,
        } => {
            let opts = greenhalo::RunOptions {
                force,
                upto: greenhalo::Upto::All,
                overrides: set,
            };
            run(&landscape, &out, opts, quiet, progress)
        }
        Cmd::Roads {
            landscape,
            out,
            force,
            set,
        } => {
            let opts = greenhalo::RunOptions {
                force,
                upto: greenhalo::Upto::Roads,
                overrides: set,
            };
            run(&landscape, &out, opts, quiet, progress)
        }
        Cmd::Batch {
            landscapes,
            out,
            jobs,
            shard,
            force,
            memory_gb,
            set,
        } => {
            if !(memory_gb.is_finite() && memory_gb >= 0.0) {
                anyhow::bail!("--memory-gb {memory_gb}: give a number of GB at least 0 (0 = 80% of this machine's memory)");
            }
            let opts = greenhalo::batch::BatchOptions {
                jobs,
                shard,
                force,
                memory_bytes: (memory_gb * 1e9) as u64,
                overrides: set,
            };
            let rows = greenhalo::batch::run(&landscapes, &out, &opts, progress)?;
            let failed: Vec<_> = rows.iter().filter(|r| r.status == "failed").collect();
            if !quiet {
                let ok = rows.iter().filter(|r| r.status == "ok").count();
                let skipped = rows.iter().filter(|r| r.status == "skipped").count();
                eprintln!(
                    "{ok} ok, {skipped} up to date, {} failed; table in {}",
                    failed.len(),
                    out.display()
                );
                for r in &failed {
                    eprintln!("failed: {}: {}", r.landscape, r.error);
                }
            }
            Ok(if failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Cmd::Compare {
            runs,
            out,
            any_landscapes,
            force,
        } => {
            let dir = greenhalo::compare::compare(&runs, &out, any_landscapes, force)?;
            if !quiet {
                eprintln!(
                    "compared {} runs; wrote {}",
                    runs.len(),
                    dir.join("comparison.html").display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Sweep {
            landscape,
            out,
            vary,
            set,
            force,
            jobs,
        } => {
            let vary: Vec<(String, Vec<String>)> = vary
                .iter()
                .map(|v| greenhalo::compare::parse_vary(v))
                .collect::<Result<_, _>>()?;
            let scen = if vary.is_empty() {
                greenhalo::compare::file_scenarios(&landscape)?
            } else {
                greenhalo::compare::scenarios(&vary)
            };
            let items: Vec<greenhalo::batch::Item> = scen
                .into_iter()
                .map(|(name, sets)| greenhalo::batch::Item {
                    file: landscape.clone(),
                    name,
                    overrides: set.iter().chain(&sets).cloned().collect(),
                })
                .collect();
            let opts = greenhalo::batch::BatchOptions {
                jobs,
                shard: None,
                force,
                memory_bytes: 0,
                overrides: Vec::new(),
            };
            let rows = greenhalo::batch::run_items(items, &out, &opts, progress)?;
            let done: Vec<PathBuf> = rows
                .iter()
                .filter(|r| r.status == "ok" || r.status == "skipped")
                .map(|r| PathBuf::from(&r.out_dir))
                .collect();
            let failed = rows.iter().filter(|r| r.status == "failed").count();
            if done.len() >= 2 {
                let dir = greenhalo::compare::compare(&done, &out.join("comparison"), false, true)?;
                if !quiet {
                    eprintln!(
                        "{} of {} scenarios finished; table in {}; comparison in {}",
                        done.len(),
                        rows.len(),
                        out.join("batch_summary.csv").display(),
                        dir.join("comparison.html").display()
                    );
                }
            } else if !quiet {
                eprintln!("fewer than two scenarios finished: no comparison");
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Cmd::BatchMerge { out } => {
            let rows = greenhalo::batch::merge(&out)?;
            let failed = rows.iter().filter(|r| r.status == "failed").count();
            if !quiet {
                eprintln!(
                    "{} landscape(s), {failed} failed; wrote {}",
                    rows.len(),
                    out.join("batch_summary.csv").display()
                );
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Cmd::Validate { landscape, set } => {
            // A landscape file that cannot be read, or a setting out of
            // its range, is an error validate found: exit 2 as documented.
            let problems = match greenhalo::validate(&landscape, &set, progress) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("greenhalo: {e}");
                    // The layers' problems too, as far as the file says
                    // where they are: one round of fixes.
                    if let greenhalo::Error::Settings { .. } = e {
                        let layers = greenhalo::validate_layers_anyway(&landscape, &set, progress);
                        for p in layers.iter().flat_map(|l| &l.list) {
                            println!("{p}");
                        }
                    }
                    return Ok(ExitCode::from(2));
                }
            };
            for p in &problems.list {
                println!("{p}");
            }
            let errors = problems.errors();
            let warnings = problems.list.len() - errors;
            if !quiet {
                eprintln!(
                    "{}: {errors} error(s), {warnings} warning(s)",
                    landscape.display()
                );
            }
            Ok(if errors > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Cmd::Init {
            dir,
            force,
            from: Some(from),
        } => {
            let (path, found) = greenhalo::survey::init_from(&dir, &from, force)?;
            if !quiet {
                eprintln!(
                    "wrote {} from {} layer(s) in {}; check each GUESS, then run `greenhalo validate {}`",
                    path.display(),
                    found.len(),
                    from.display(),
                    path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Init {
            dir,
            force,
            from: None,
        } => {
            let path = greenhalo::init(&dir, force)?;
            if !quiet {
                eprintln!(
                    "wrote {}; edit the layer paths, then run `greenhalo validate {}`",
                    path.display(),
                    path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::ZonalStats {
            polygons,
            raster,
            stats,
            out,
            assume_crs,
            weights,
            default_weight,
        } => {
            let n = greenhalo::tools::zonal_stats(
                &polygons,
                &raster,
                &stats,
                &out,
                assume_crs.as_deref(),
                weights
                    .as_deref()
                    .map(|raster| greenhalo::tools::ZonalWeights {
                        raster,
                        default_weight,
                    }),
            )?;
            if !quiet {
                eprintln!("{n} polygon(s); wrote {}", out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::CostDistance {
            cost,
            sources,
            out,
            assume_crs,
            out_type,
        } => {
            let cell_type = match out_type {
                OutType::Float32 => greenhalo::tools::CellType::Float32,
                OutType::Float64 => greenhalo::tools::CellType::Float64,
            };
            let rep = greenhalo::tools::cost_distance(
                &cost,
                &sources,
                &out,
                assume_crs.as_deref(),
                cell_type,
            )?;
            for w in &rep.warnings {
                eprintln!("warning: {w}");
            }
            if !quiet {
                eprintln!(
                    "{} source cell(s); {} cell(s) reached; max cost {:.3}; wrote {}",
                    rep.source_cells,
                    rep.reached_cells,
                    rep.max_cost,
                    out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Synth {
            seed,
            size_km,
            resolution,
            parcel_spacing_m,
            out,
        } => {
            let params = greenhalo::synth::SynthParams {
                seed,
                width_km: size_km.0,
                height_km: size_km.1,
                resolution_m: resolution,
                parcel_spacing_m,
            };
            let path = greenhalo::synth::generate(&params, &out, progress)
                .with_context(|| format!("generating a landscape into {}", out.display()))?;
            if !quiet {
                eprintln!("wrote {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// End the process now, without running exit handlers: GDAL's and HiGHS's
/// global destructors would run while worker threads still use them (a
/// segmentation fault seen under SIGTERM in CI).
fn immediate_exit(code: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: _exit only ends the process; it touches no Rust state.
    unsafe {
        libc::_exit(code)
    }
    #[cfg(not(unix))]
    std::process::exit(code)
}
