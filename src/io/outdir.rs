//! All-or-nothing output folders: a run writes into a temporary folder beside
//! the target and moves it into place only when everything succeeded. A
//! failed run leaves no half-written outputs and never touches good ones.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
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
        std::fs::write(target.join("old.txt"), "old").unwrap();
        let s = Staging::new(&target).unwrap();
        std::fs::write(s.file("new.txt"), "new").unwrap();
        s.commit().unwrap();
        assert!(target.join("new.txt").exists());
        assert!(!target.join("old.txt").exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
