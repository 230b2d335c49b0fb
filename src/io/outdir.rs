//! All-or-nothing output folders: a run writes into a temporary folder beside
//! the target and moves it into place only when everything succeeded. A
//! failed run leaves no half-written outputs and never touches good ones.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file greenhalo leaves in every output folder it writes: a folder
/// without it is never replaced.
pub const MARKER: &str = ".greenhalo-output";

/// Refuse an output folder that is, or holds, any of `inputs` (replacing it
/// would delete them).
pub fn check_not_over_inputs(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    let abs = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        // Canonicalise the longest existing ancestor, so symlinks and ".."
        // cannot hide an input.
        let mut base = p.clone();
        let mut rest = Vec::new();
        while !base.exists() {
            match (base.parent(), base.file_name()) {
                (Some(par), Some(n)) => {
                    rest.push(n.to_os_string());
                    base = par.to_path_buf();
                }
                _ => break,
            }
        }
        let mut c = std::fs::canonicalize(&base).unwrap_or(base);
        for n in rest.iter().rev() {
            c.push(n);
        }
        c
    };
    let t = abs(target);
    for i in inputs {
        let ia = abs(i);
        if ia.starts_with(&t) {
            return Err(Error::output(
                target,
                format!(
                    "is or contains an input of the landscape ({}); writing there would delete it. Choose an output folder outside the landscape's inputs",
                    i.display()
                ),
            ));
        }
    }
    Ok(())
}

pub struct Staging {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl Staging {
    /// Create the temporary folder beside `target` (same filesystem, so the
    /// final move is a rename).
    pub fn new(target: &Path) -> Result<Staging> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let name = target
            .file_name()
            .ok_or_else(|| Error::Usage(format!("{}: not a folder name", target.display())))?
            .to_string_lossy()
            .into_owned();
        if target.exists() && !target.is_dir() {
            return Err(Error::output(
                target,
                "exists and is not a folder; choose another output folder",
            ));
        }
        if target.is_dir() {
            let mut entries = std::fs::read_dir(target).map_err(|e| Error::io(target, e))?;
            let non_empty = entries.next().is_some();
            if non_empty && !target.join(MARKER).exists() {
                return Err(Error::output(
                    target,
                    format!(
                        "exists, is not empty and was not written by greenhalo (it has no {MARKER}); greenhalo replaces only its own output folders. Choose a new or empty folder"
                    ),
                ));
            }
        }
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        std::fs::write(
            tmp.join(MARKER),
            format!("written by greenhalo {}\n", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| Error::io(&tmp, e))?;
        Ok(Staging {
            target: target.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    /// Folder to write into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// A file inside the staging folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    /// Move the finished folder into place, replacing an older one.
    pub fn commit(mut self) -> Result<PathBuf> {
        let old = self.tmp.with_file_name(format!(
            "{}.old",
            self.tmp.file_name().unwrap_or_default().to_string_lossy()
        ));
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).map_err(|e| Error::io(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.tmp, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(Error::io(&self.target, e));
        }
        self.committed = true;
        if had_old {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        Ok(self.target.clone())
    }
}

/// Write one file through a temporary file beside it, renamed into place
/// only when `write` succeeded.
pub fn write_file_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let result =
        write(&tmp).and_then(|_| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_staging_leaves_the_old_folder_untouched() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join(MARKER), "").unwrap();
        std::fs::write(target.join("good.txt"), "good").unwrap();
        {
            let s = Staging::new(&target).unwrap();
            std::fs::write(s.file("half.txt"), "half").unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(target.join("good.txt")).unwrap(),
            "good"
        );
        assert!(!target.join("half.txt").exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn commit_replaces_the_old_folder() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("out");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join(MARKER), "").unwrap();
        std::fs::write(target.join("old.txt"), "old").unwrap();
        let s = Staging::new(&target).unwrap();
        std::fs::write(s.file("new.txt"), "new").unwrap();
        s.commit().unwrap();
        assert!(target.join("new.txt").exists());
        assert!(!target.join("old.txt").exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_folder_greenhalo_did_not_write_is_never_replaced() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("thesis");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("thesis.docx"), "years of work").unwrap();
        let e = Staging::new(&target).err().expect("refused").to_string();
        assert!(e.contains("not written by greenhalo"), "{e}");
        assert!(target.join("thesis.docx").exists());
        // An empty folder is fine.
        let empty = d.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        Staging::new(&empty).unwrap().commit().unwrap();
        assert!(empty.join(MARKER).exists());
    }

    #[test]
    fn an_output_over_an_input_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("land").join("aoi.geojson");
        std::fs::create_dir_all(input.parent().unwrap()).unwrap();
        std::fs::write(&input, "{}").unwrap();
        for out in [
            d.path().join("land"),
            d.path().to_path_buf(),
            d.path().join("land/../land"),
        ] {
            assert!(
                check_not_over_inputs(&out, std::slice::from_ref(&input)).is_err(),
                "{}",
                out.display()
            );
        }
        assert!(
            check_not_over_inputs(&d.path().join("land/out"), std::slice::from_ref(&input)).is_ok()
        );
        assert!(check_not_over_inputs(&d.path().join("elsewhere"), &[input]).is_ok());
    }
}
