//! One error type for the library. Every variant names what a user needs to
//! find and fix the problem: the file, the layer, the feature, the field.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: cannot read the landscape file: {source}")]
    ReadConfig {
        file: PathBuf,
        source: std::io::Error,
    },

    #[error("{file}: {message}")]
    ParseConfig { file: PathBuf, message: String },

    /// Every problem of the landscape file at once: unknown, missing and
    /// mistyped keys, settings outside their ranges, absent layer files.
    #[error("{file}: {} problem(s) in the landscape file; fix them all (`greenhalo init` writes a template showing every key and range):\n{}", problems.len(), problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Settings {
        file: PathBuf,
        problems: Vec<SettingProblem>,
    },

    #[error("{file}: layer '{layer}': GDAL cannot open it: {message}")]
    OpenLayer {
        file: PathBuf,
        layer: String,
        message: String,
    },

    #[error("{file}: layer '{layer}'{}: {message}", fid.map(|f| format!(", feature {f}")).unwrap_or_default())]
    BadFeature {
        file: PathBuf,
        layer: String,
        fid: Option<u64>,
        message: String,
    },

    #[error("{file}: layer '{layer}', feature {fid}: field '{field}' {message}")]
    BadField {
        file: PathBuf,
        layer: String,
        fid: u64,
        field: String,
        message: String,
    },

    #[error("{file}: {message}")]
    BadRaster { file: PathBuf, message: String },

    #[error("coordinate reference system '{crs}': {message}")]
    Crs { crs: String, message: String },

    #[error("{path}: {message}")]
    Output { path: PathBuf, message: String },

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "the landscape has {count} problem(s); run `greenhalo validate` to see them:\n{report}"
    )]
    Invalid { count: usize, report: String },

    /// A figure a stage reports came out NaN or infinite: never written as a
    /// silent null or 0.
    #[error("{stage}: {layer} {feature}: '{field}' cannot be computed ({message})")]
    Uncomputable {
        stage: String,
        layer: String,
        feature: String,
        field: String,
        message: String,
    },

    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`; a full disk (or quota) says so, naming the
    /// device, instead of the bare system message.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        #[cfg(unix)]
        if matches!(
            source.raw_os_error(),
            Some(libc::ENOSPC) | Some(libc::EDQUOT)
        ) {
            return Error::disk_full(&path, &source);
        }
        Error::Io { path, source }
    }

    /// What a disk that filled says: the device, and what to do.
    pub fn disk_full(path: &std::path::Path, source: &std::io::Error) -> Self {
        Error::output(
            path,
            format!(
                "not enough space on {}: the disk filled while writing ({source}); free some space or write the output elsewhere",
                device_of(path.parent().unwrap_or(path))
            ),
        )
    }
    pub fn output(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::Output {
            path: path.into(),
            message: message.to_string(),
        }
    }
    pub fn raster(file: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::BadRaster {
            file: file.into(),
            message: message.to_string(),
        }
    }
}

/// One setting outside its range, or two that contradict each other.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingProblem {
    /// Dotted key, with list positions: `transitions.catalogue[2].max_slope_deg`.
    pub key: String,
    /// The value as written (after TOML parsing).
    pub value: String,
    pub message: String,
}

impl std::fmt::Display for SettingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} = {}: {}", self.key, self.value, self.message)
    }
}

/// The device and mount point holding `path` (the longest mount point that
/// is a prefix of it, from /proc/self/mounts), or the path itself where
/// that cannot be read.
pub fn device_of(path: &std::path::Path) -> String {
    let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Ok(text) = std::fs::read_to_string("/proc/self/mounts") else {
        return p.display().to_string();
    };
    let mut best: Option<(usize, String)> = None;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(dev), Some(mnt)) = (f.next(), f.next()) else {
            continue;
        };
        // /proc/self/mounts escapes a space as \040.
        let mnt = mnt.replace("\\040", " ");
        if p.starts_with(&mnt) && best.as_ref().is_none_or(|b| mnt.len() >= b.0) {
            best = Some((mnt.len(), format!("{dev} (mounted on {mnt})")));
        }
    }
    best.map(|b| b.1).unwrap_or_else(|| p.display().to_string())
}
