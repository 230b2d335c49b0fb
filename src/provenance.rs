//! Where a run's figures come from: every file a landscape reads and one
//! hash over them and greenhalo's version, recorded in summary.json and
//! the output folder's marker, and used by `batch` to skip landscapes whose
//! outputs are up to date.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::config::Landscape;
use crate::error::{Error, Result};

/// Every file a landscape reads: the landscape file and each layer,
/// resolved against the landscape's folder.
pub fn input_files(ls: &Landscape) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ls
        .cfg
        .layers
        .by_key()
        .into_iter()
        .map(|(_, f)| ls.resolve(f))
        .collect();
    out.push(ls.file.clone());
    out
}

/// One file a run read: the landscape file or a layer (a shapefile with
/// its sidecars), its size and its SHA-256 (over the sidecars too).
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputFile {
    /// The `[layers]` key, or "landscape file".
    pub role: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// What a report needs to trace it to its run: when it started, the
/// command, every input file with its hash, every warning.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// UTC, RFC 3339 to the second (`SOURCE_DATE_EPOCH` when set, as
    /// reproducible builds do, so that two runs give the same bytes).
    pub started_utc: String,
    pub command: String,
    pub inputs: Vec<InputFile>,
    pub warnings: Vec<String>,
}

/// The inputs hash and the run's record (`started_utc`, its command, its
/// input files, the `warnings` found).
pub fn record(
    ls: &Landscape,
    opts: &crate::RunOptions,
    started_utc: String,
    warnings: &[String],
) -> Result<(String, RunRecord)> {
    let (hash, inputs) = inputs_hash_and_files(ls)?;
    let command = command(&ls.file, opts);
    let warnings = warnings.to_vec();
    Ok((
        hash,
        RunRecord {
            started_utc,
            command,
            inputs,
            warnings,
        },
    ))
}

/// The start of a run: now, or `SOURCE_DATE_EPOCH` (seconds since 1970)
/// when it is set.
pub fn started_utc() -> String {
    let t = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or_else(chrono::Utc::now);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Hash of everything a run depends on: greenhalo's version, the landscape
/// file, and every layer file (with a shapefile's sidecars).
pub fn inputs_hash(ls: &Landscape) -> Result<String> {
    Ok(inputs_hash_and_files(ls)?.0)
}

/// Hash of the layer files alone (each file's own hash, by role; the
/// landscape file and its settings left out): equal for runs of the same
/// landscape under other settings (`greenhalo compare` matches on it).
pub fn layers_hash(files: &[InputFile]) -> String {
    let mut h = Sha256::new();
    for f in files.iter().filter(|f| f.role != "landscape file") {
        h.update(f.role.as_bytes());
        h.update(b"\0");
        h.update(f.sha256.as_bytes());
        h.update(b"\0");
    }
    format!("{:x}", h.finalize())
}

/// `inputs_hash` and, from the same reading, each input file's own hash.
pub fn inputs_hash_and_files(ls: &Landscape) -> Result<(String, Vec<InputFile>)> {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(std::fs::read(&ls.file).map_err(|e| Error::io(&ls.file, e))?);
    // `--set` overrides change the run as the file does.
    for o in &ls.overrides {
        h.update(b"\0--set ");
        h.update(o.as_bytes());
    }
    let mut roles: Vec<String> = ls
        .cfg
        .layers
        .by_key()
        .into_iter()
        .map(|(k, _)| k.to_string())
        .collect();
    roles.push("landscape file".into());
    let mut files = Vec::new();
    for (p, role) in input_files(ls).into_iter().zip(roles) {
        let mut group = vec![p.clone()];
        if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("shp")) {
            for ext in ["shx", "dbf", "prj", "cpg"] {
                group.push(p.with_extension(ext));
            }
        }
        let mut own = Sha256::new();
        let mut bytes = 0u64;
        for g in group {
            let name = g
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            h.update(name.as_bytes());
            if let Ok(b) = std::fs::read(&g) {
                h.update(&b);
                own.update(&b);
                bytes += b.len() as u64;
            }
        }
        files.push(InputFile {
            role,
            path: p,
            bytes,
            sha256: format!("{:x}", own.finalize()),
        });
    }
    Ok((format!("{:x}", h.finalize()), files))
}

/// The command that makes this run again: `greenhalo run` (or `roads`)
/// with its landscape and `--set` overrides, each argument quoted for a
/// POSIX shell where it needs it, and `-o OUT` standing for the output
/// folder (the report's own: naming it would make two runs into two
/// folders differ).
pub fn command(landscape: &std::path::Path, opts: &crate::RunOptions) -> String {
    let quote = |a: &str| -> String {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
        {
            a.to_string()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    let verb = match opts.upto {
        crate::Upto::All => "run",
        crate::Upto::Roads => "roads",
    };
    let mut parts = vec![
        "greenhalo".to_string(),
        verb.to_string(),
        quote(&landscape.to_string_lossy()),
        "-o".to_string(),
        "OUT".to_string(),
    ];
    if opts.force {
        parts.push("--force".into());
    }
    for o in &opts.overrides {
        parts.push("--set".into());
        parts.push(quote(o));
    }
    parts.join(" ")
}
