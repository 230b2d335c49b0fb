//! Disk space: what a run's outputs need against what the output's file
//! system has free, checked before writing, and every file GDAL makes
//! written in memory first, so a disk that fills is one clean error from
//! Rust's own write (libtiff, when the disk filled under it as GDAL closed
//! a GeoTIFF, looped forever in TIFFRewriteDirectory).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Bytes free to an unprivileged writer on the file system holding `dir`
/// (`statvfs`), None where the system does not tell.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs fills the zeroed struct it is given from a
        // NUL-terminated path.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Refuse to start writing `need` bytes into `dir` when its file system has
/// less free: "not enough space on DEVICE: N MB needed, M MB free".
pub fn check_room(dir: &Path, need: u64) -> Result<()> {
    let Some(free) = free_bytes(dir) else {
        return Ok(());
    };
    if free >= need {
        return Ok(());
    }
    let mb = |b: u64| {
        let m = b as f64 / 1e6;
        if m < 10.0 {
            format!("{m:.1}")
        } else {
            format!("{m:.0}")
        }
    };
    Err(Error::output(
        dir,
        format!(
            "not enough space on {}: about {} MB needed for the outputs, {} MB free; free some space or write the output elsewhere",
            crate::error::device_of(dir),
            mb(need),
            mb(free)
        ),
    ))
}

/// A run's outputs in bytes, roughly (within about 25% on data/sample and
/// data/alto_mayo at 30 m): the rasters (about 8 bytes a cell over all of
/// them, compressed, overviews included), about 3 kB a parcel (its row in
/// four files), 4 kB a road segment, and 2 MB of report, project and tables.
pub fn estimate_output_bytes(cells: usize, parcels: usize, segments: usize) -> u64 {
    cells as u64 * 8 + parcels as u64 * 3_000 + segments as u64 * 4_000 + 2_000_000
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Make `path` through GDAL in memory: `make` writes into the `/vsimem/`
/// path it is given (its own folder there, which also takes GDAL's
/// temporary files: `CPL_TMPDIR` points to it meanwhile), then the bytes
/// are written to `path` by Rust, which reports a full disk as such.
/// Everything in memory is freed whatever happens.
pub fn via_memory(path: &Path, make: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let dir = PathBuf::from(format!(
        "/vsimem/greenhalo-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mem = dir.join(&name);
    let dir_s = dir.to_string_lossy().into_owned();
    let _ = gdal::config::set_thread_local_config_option("CPL_TMPDIR", &dir_s);
    let made = make(&mem);
    let _ = gdal::config::clear_thread_local_config_option("CPL_TMPDIR");
    let result = made.and_then(|_| {
        let bytes = gdal::vsi::get_vsi_mem_file_bytes_owned(&mem)
            .map_err(|e| Error::output(path, format!("GDAL wrote nothing in memory: {e}")))?;
        std::fs::write(path, &bytes).map_err(|e| Error::io(path, e))
    });
    remove_mem_dir(&dir);
    result
}

fn remove_mem_dir(dir: &Path) {
    if let Ok(files) = gdal::vsi::read_dir(dir, true) {
        for f in files {
            let _ = gdal::vsi::unlink_mem_file(dir.join(f));
        }
    }
    if let Ok(c) = std::ffi::CString::new(dir.to_string_lossy().as_bytes()) {
        // SAFETY: a NUL-terminated path; GDAL removes the (now empty)
        // in-memory folder or returns an error code, ignored.
        unsafe {
            gdal_sys::VSIRmdirRecursive(c.as_ptr());
        }
    }
}
