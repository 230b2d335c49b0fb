//! A full disk ends a run with one clear error, never a hang, and leaves
//! nothing half-written: every writer (GeoTIFF/COG, GeoPackage, GeoJSON,
//! CSV, HTML/JSON text) on a small tmpfs, and whole runs on tmpfs of many
//! sizes (refused before writing when the outputs cannot fit; failing
//! cleanly when the disk fills under the writers anyway).
//!
//! The tmpfs is mounted in a private mount namespace (`unshare -rm`, no
//! root needed where user namespaces are allowed); where that is not
//! possible the tests say so and pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

/// Run `cmd` with a tmpfs of `size` mounted at `mnt`; its stderr ends with
/// "LEFT:" and what the tmpfs holds afterwards. None when no tmpfs can be
/// mounted here.
fn in_tmpfs(size: &str, mnt: &Path, cmd: &[&std::ffi::OsStr]) -> Option<Output> {
    std::fs::create_dir_all(mnt).unwrap();
    let script = r#"m=$2; mount -t tmpfs -o size="$1" tmpfs "$m" 2>/dev/null || exit 97; shift 2; "$@"; rc=$?; echo "LEFT:$(ls -A "$m" | tr '\n' ' ')" >&2; exit $rc"#;
    let mut c = Command::new("timeout");
    c.args(["120", "unshare", "-rm", "sh", "-c", script, "sh", size])
        .arg(mnt)
        .args(cmd);
    let out = c.output().ok()?;
    (out.status.code() != Some(97) && !String::from_utf8_lossy(&out.stderr).contains("unshare:"))
        .then_some(out)
}

fn left(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    err.rsplit_once("LEFT:")
        .map(|x| x.1.trim().to_string())
        .unwrap_or_else(|| panic!("no LEFT line: {err}"))
}

#[test]
fn runs_on_a_small_disk_fail_cleanly_at_every_size() {
    let d = tempfile::tempdir().unwrap();
    let mnt = d.path().join("mnt");
    let bin = assert_cmd::cargo::cargo_bin("greenhalo");
    let toml = root().join("data/sample/landscape.toml");
    let out = mnt.join("out");
    // The outputs' size on an ordinary disk.
    let whole = d.path().join("whole");
    run_ok(&toml, &whole);
    let bytes: u64 = std::fs::read_dir(&whole)
        .unwrap()
        .flatten()
        .chain(std::fs::read_dir(whole.join("inputs")).unwrap().flatten())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    let mut refused = 0;
    let mut filled = 0;
    let mut fitted = 0;
    // From nothing free, through sizes where the estimate (within a few %
    // of the outputs on the sample) passes but the disk fills under the
    // writers, to room enough.
    let sizes: Vec<String> = [0.003, 0.1, 0.5, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.5]
        .iter()
        .map(|f| format!("{}k", (bytes as f64 * f / 1024.0) as u64))
        .collect();
    for size in &sizes {
        let cmd = [
            bin.as_os_str(),
            "-q".as_ref(),
            "run".as_ref(),
            toml.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ];
        let Some(o) = in_tmpfs(size, &mnt, &cmd) else {
            eprintln!("skipped: no tmpfs can be mounted here (unshare -rm)");
            return;
        };
        let err = String::from_utf8_lossy(&o.stderr);
        match o.status.code() {
            Some(0) => {
                fitted += 1;
                assert_eq!(left(&o), "out", "{size}: {err}");
            }
            Some(1) => {
                assert!(err.contains("not enough space on tmpfs"), "{size}: {err}");
                if err.contains("MB needed") {
                    refused += 1;
                } else {
                    assert!(
                        err.contains("the disk filled while writing"),
                        "{size}: {err}"
                    );
                    filled += 1;
                }
                // Nothing half-written: no output, no staging folder.
                assert_eq!(left(&o), "", "{size}: {err}");
            }
            other => panic!("{size}: exit {other:?} (124: hung past the timeout): {err}"),
        }
    }
    assert!(
        refused >= 3 && filled >= 1 && fitted >= 1,
        "refused {refused}, filled {filled}, fitted {fitted}"
    );
}

/// Each writer on its own, on a 256 kB tmpfs: the child half of
/// `every_writer_says_the_disk_is_full` (run by it, inside the mount).
#[test]
#[ignore]
fn writers_on_a_full_disk_child() {
    let Some(dir) = std::env::var_os("GREENHALO_FULL_DISK_DIR").map(PathBuf::from) else {
        return;
    };
    use greenhalo::io::geojson_out::OutFeature;
    use serde_json::{json, Map, Value};
    let n = 40_000;
    // Incompressible: a hash of the index.
    let noise = |i: usize| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f32;
    let data: Vec<f32> = (0..1000 * 1000).map(noise).collect();
    let at = greenhalo::io::raster::Placement {
        geo_transform: [500_000.0, 30.0, 0.0, 9_000_000.0, 0.0, -30.0],
        wkt: greenhalo::io::srs::parse("EPSG:32718")
            .unwrap()
            .to_wkt()
            .unwrap(),
        width: 1000,
        height: 1000,
    };
    let props = |i: usize| -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(format!("feature-{i}-{}", noise(i))));
        m.insert("value".into(), json!(noise(i) as f64 * 1.2345));
        m
    };
    let feats: Vec<OutFeature> = (0..n)
        .map(|i| OutFeature {
            geom: geo::Geometry::Point(geo::Point::new(-77.0 + i as f64 * 1e-5, -6.0)),
            props: props(i),
        })
        .collect();
    let rows: Vec<Map<String, Value>> = (0..n).map(props).collect();
    let big = Value::Array(rows.iter().cloned().map(Value::Object).collect());
    type Writer<'a> = Box<dyn Fn(&Path) -> greenhalo::Result<()> + 'a>;
    let writers: Vec<(&str, Writer)> = vec![
        (
            "raster.tif",
            Box::new(|p| greenhalo::io::raster::write_geotiff(p, &at, &data, None, "noise")),
        ),
        (
            "layers.gpkg",
            Box::new(|p| {
                greenhalo::io::gpkg::write(
                    p,
                    &[greenhalo::io::gpkg::StyledLayer {
                        name: "points",
                        features: &feats,
                        qml: "<qgis/>",
                    }],
                    Some(&at.wkt),
                    &[greenhalo::io::gpkg::RasterTable {
                        name: "noise",
                        title: "Noise",
                        at: &at,
                        data: &data,
                        description: "noise",
                        whole_units: false,
                    }],
                    Some(&greenhalo::io::gpkg::StoredProject {
                        name: "noise",
                        qgs: "<qgis/>",
                    }),
                )
            }),
        ),
        (
            "layer.geojson",
            Box::new(|p| greenhalo::io::geojson_out::write_wgs84(p, &feats)),
        ),
        (
            "table.csv",
            Box::new(|p| greenhalo::outputs::write_csv(p, &rows)),
        ),
        (
            "report.json",
            Box::new(|p| greenhalo::outputs::write_json(p, &big)),
        ),
    ];
    for (name, write) in &writers {
        let path = dir.join(name);
        let t0 = std::time::Instant::now();
        let err = write(&path).expect_err(name).to_string();
        assert!(
            err.contains("not enough space on tmpfs") && err.contains(name),
            "{name}: {err}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{name}: took {:?}",
            t0.elapsed()
        );
        // Room again for the next writer.
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            std::fs::remove_file(e.path()).unwrap();
        }
        println!("WRITER-OK {name}: {err}");
    }
}

#[test]
fn every_writer_says_the_disk_is_full() {
    let d = tempfile::tempdir().unwrap();
    let mnt = d.path().join("mnt");
    let me = std::env::current_exe().unwrap();
    let cmd = [
        me.as_os_str(),
        "--ignored".as_ref(),
        "--exact".as_ref(),
        "writers_on_a_full_disk_child".as_ref(),
        "--nocapture".as_ref(),
        "--test-threads=1".as_ref(),
    ];
    std::env::set_var("GREENHALO_FULL_DISK_DIR", &mnt);
    let Some(o) = in_tmpfs("256k", &mnt, &cmd) else {
        eprintln!("skipped: no tmpfs can be mounted here (unshare -rm)");
        return;
    };
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(text.matches("WRITER-OK").count(), 5, "{text}");
    assert_eq!(left(&o), "", "nothing left on the disk");
}
