//! All-or-nothing output folders: a run writes into a temporary folder beside
//! the target and moves it into place only when everything succeeded. A
//! failed run leaves no half-written outputs and never touches good ones.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file greenhalo leaves in every output folder it writes: a folder
/// without it is never replaced.
pub const MARKER: &str = ".greenhalo-output";

/// `p` as an absolute path with symlinks and ".." resolved, for a path that
/// may not exist yet: its longest existing ancestor canonicalised, plus the
/// rest. Output-over-input checks compare these, so neither a symlink nor
/// ".." can hide an input.
pub fn resolved(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut head = abs;
    let mut tail = Vec::new();
    while !head.exists() {
        match (head.parent(), head.file_name()) {
            (Some(par), Some(n)) => {
                tail.push(n.to_os_string());
                head = par.to_path_buf();
            }
            _ => break,
        }
    }
    let mut c = std::fs::canonicalize(&head).unwrap_or(head);
    for n in tail.iter().rev() {
        c.push(n);
    }
    c
}

/// Before a run reads anything: refuse an output over its inputs
/// (`check_not_over_inputs`), and remove what killed runs left beside it
/// (`clean_stale`), so a run that then fails on its inputs still cleans up.
pub fn prepare(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    check_not_over_inputs(target, inputs)?;
    clean_stale(target);
    Ok(())
}

/// Refuse an output folder that is, or holds, any of `inputs` (replacing it
/// would delete them), or lies inside an input that is a folder (writing
/// there would change what the next run reads).
pub fn check_not_over_inputs(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    let t = resolved(target);
    for i in inputs {
        let ia = resolved(i);
        // Over an input, holding one, or inside an input that is a folder
        // (a folder of shapefiles, a FileGDB: GDAL reads what is in it).
        if ia.starts_with(&t) || (ia.is_dir() && t.starts_with(&ia)) {
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

/// Staging folders of this process not yet committed: removed by
/// `abandon_all` when the process is interrupted. Commit holds the lock while
/// it swaps folders, so an interrupt never lands between the two renames.
static ACTIVE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn active() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    ACTIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Set once an interrupt started removing the staging folders: an error the
/// main thread meets meanwhile (its folder vanished) is a consequence of the
/// interrupt, not a failure to report.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether an interrupt is being handled (see [`abandon_all`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Remove every staging folder of this process (called on SIGINT/SIGTERM
/// before exiting). Returns the lock held, so no commit starts afterwards.
pub fn abandon_all() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut list = active();
    for d in list.drain(..) {
        // A writer still running may add a file while the folder is being
        // removed (the removal then fails with "not empty"): try again.
        for _ in 0..50 {
            let _ = std::fs::remove_dir_all(&d);
            if !d.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    list
}

/// Whether process `pid` is alive (Linux: /proc; elsewhere assume alive, so
/// nothing is removed that might still be written).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return true;
    }
    proc_root.join(pid.to_string()).exists()
}

/// Staging folders next to `target` left by processes that died (SIGKILL,
/// power loss): removed when they carry greenhalo's marker. An old output
/// moved aside for a swap that never finished is moved back when the target
/// is missing. Returns what was done, one line each.
pub fn clean_stale(target: &Path) -> Vec<String> {
    let mut done = Vec::new();
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        return done;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let prefix = format!(".{}.partial-", name.to_string_lossy());
    let Ok(rd) = std::fs::read_dir(parent) else {
        return done;
    };
    let mut found: Vec<(PathBuf, bool)> = Vec::new();
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = n.strip_prefix(&prefix) else {
            continue;
        };
        let (pid, old) = match rest.strip_suffix(".old") {
            Some(p) => (p, true),
            None => (rest, false),
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        // greenhalo's own: it holds the marker, or it is an old output
        // moved aside whose removal stopped after the marker went (only the
        // empty folder is left: the marker is removed last).
        let empty = || {
            std::fs::read_dir(e.path())
                .map(|mut d| d.next().is_none())
                .unwrap_or(false)
        };
        if alive(pid) || !(e.path().join(MARKER).is_file() || (old && empty())) {
            continue;
        }
        found.push((e.path(), old));
    }
    found.sort();
    for (p, old) in found {
        if old && !target.exists() && std::fs::rename(&p, target).is_ok() {
            done.push(format!(
                "restored {} from {} (an interrupted run had moved it aside)",
                target.display(),
                p.display()
            ));
        } else if std::fs::remove_dir_all(&p).is_ok() {
            done.push(format!(
                "removed {} (left by an interrupted run)",
                p.display()
            ));
        }
    }
    done
}

impl Staging {
    /// Create the temporary folder beside `target` (same filesystem, so the
    /// final move is a rename). An existing non-empty `target` without
    /// greenhalo's marker is refused unless `force`.
    pub fn new(target: &Path, force: bool) -> Result<Staging> {
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
        clean_stale(target);
        if target.exists() && !target.is_dir() {
            return Err(Error::output(
                target,
                "exists and is not a folder; choose another output folder",
            ));
        }
        if target.is_dir() && !force {
            let mut entries = std::fs::read_dir(target).map_err(|e| Error::io(target, e))?;
            let non_empty = entries.next().is_some();
            if non_empty && !target.join(MARKER).exists() {
                return Err(Error::output(
                    target,
                    format!(
                        "exists, is not empty and was not written by greenhalo (it has no {MARKER}); greenhalo replaces only its own output folders. Choose a new or empty folder, or pass --force to replace it and everything in it"
                    ),
                ));
            }
        }
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        active().push(tmp.clone());
        let staging = Staging {
            target: target.to_path_buf(),
            tmp,
            committed: false,
        };
        staging.mark("")?;
        Ok(staging)
    }

    /// Write greenhalo's marker: its version and, when known, the inputs'
    /// hash (the folder is then recognised as greenhalo's own).
    pub fn mark(&self, inputs_hash: &str) -> Result<()> {
        let mut text = format!(
            "written by greenhalo {}\nthis folder is replaced by the next run into it\n",
            env!("CARGO_PKG_VERSION")
        );
        if !inputs_hash.is_empty() {
            text.push_str(&format!("inputs_hash = {inputs_hash}\n"));
        }
        let f = self.tmp.join(MARKER);
        std::fs::write(&f, text).map_err(|e| Error::io(&f, e))
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
        {
            // Held across both renames: an interrupt waits for the swap.
            let mut list = active();
            if !list.contains(&self.tmp) {
                return Err(Error::output(
                    &self.target,
                    "the run was interrupted; nothing was written",
                ));
            }
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
            list.retain(|p| p != &self.tmp);
            self.committed = true;
            if had_old {
                // Noted before the lock goes: an interrupt from here on
                // reports the new output as in place.
                SWAPPED
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((self.target.clone(), old.clone()));
            }
        }
        if old.exists() {
            remove_marker_last(&old).map_err(|e| Error::io(&old, e))?;
            SWAPPED
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|(_, o)| o != &old);
        }
        Ok(self.target.clone())
    }
}

/// Outputs already swapped into place whose earlier folder (the second
/// path) is still being removed: an interrupt now leaves the new output in
/// place and the old one's rest for the next run to remove.
static SWAPPED: std::sync::Mutex<Vec<(PathBuf, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// Remove a folder greenhalo wrote, its marker last: a removal cut short
/// (a signal, SIGKILL, power loss) leaves either the marker, or an empty
/// folder, both of which `clean_stale` recognises and removes later.
fn remove_marker_last(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_name() == MARKER {
            continue;
        }
        let p = e.path();
        if e.file_type()?.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    match std::fs::remove_file(dir.join(MARKER)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::remove_dir(dir)
}

/// What an interrupt leaves, for its message: the outputs already swapped
/// into place whose earlier folder was still being removed.
pub fn swapped_while_interrupted() -> Vec<(PathBuf, PathBuf)> {
    SWAPPED.lock().unwrap_or_else(|p| p.into_inner()).clone()
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
            let mut list = active();
            list.retain(|p| p != &self.tmp);
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
            let s = Staging::new(&target, false).unwrap();
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
        let s = Staging::new(&target, false).unwrap();
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
        let e = Staging::new(&target, false)
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("not written by greenhalo"), "{e}");
        assert!(target.join("thesis.docx").exists());
        // An empty folder is fine.
        let empty = d.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        Staging::new(&empty, false).unwrap().commit().unwrap();
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
        // An input that is a folder (shapefiles, a FileGDB): no output
        // inside it, however deep.
        let folder = d.path().join("land").join("parcels.gdb");
        std::fs::create_dir_all(&folder).unwrap();
        for out in [folder.join("out"), folder.join("a/b/out"), folder.clone()] {
            assert!(
                check_not_over_inputs(&out, std::slice::from_ref(&folder)).is_err(),
                "{}",
                out.display()
            );
        }
        assert!(
            check_not_over_inputs(&d.path().join("land/out"), std::slice::from_ref(&folder))
                .is_ok()
        );
    }
}
