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

/// Hash of everything a run depends on: greenhalo's version, the landscape
/// file, and every layer file (with a shapefile's sidecars).
pub fn inputs_hash(ls: &Landscape) -> Result<String> {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(std::fs::read(&ls.file).map_err(|e| Error::io(&ls.file, e))?);
    // `--set` overrides change the run as the file does.
    for o in &ls.overrides {
        h.update(b"\0--set ");
        h.update(o.as_bytes());
    }
    for f in input_files(ls) {
        let p = f;
        let mut group = vec![p.clone()];
        if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("shp")) {
            for ext in ["shx", "dbf", "prj", "cpg"] {
                group.push(p.with_extension(ext));
            }
        }
        for g in group {
            h.update(
                g.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
                    .as_bytes(),
            );
            if let Ok(bytes) = std::fs::read(&g) {
                h.update(&bytes);
            }
        }
    }
    Ok(format!("{:x}", h.finalize()))
}
