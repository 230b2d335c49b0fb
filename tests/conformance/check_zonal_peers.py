"""greenhalo zonal-stats against exactextract on the cases its own test suite
cares about, each built here as small files: values at native precision
(Int32 past 2^24, Float64 with many digits, UInt32 next to its nodata),
GDAL mask bands (an internal per-dataset mask and a .msk file), packed
rasters (scale and offset), ties in majority and minority, the operations
minority, variety, median, stdev and coefficient_of_variation on generated
polygons, frac, and weighted_mean, weighted_sum and weighted_frac with a
weighting raster (its missing weights an error naming the polygon, or the
default weight as exactextract's default_weight), and a GeometryCollection
of polygons (compared with exactextract on the same parts as a
MultiPolygon). Points are refused with an error naming the layer, as
exactextract refuses them; lines too, saying what exactextract does with
them. Each case also asserts its figures by hand."""
import csv
import json
import math
import os
import subprocess

import numpy as np
import rasterio
from rasterio.transform import from_origin
import exactextract

from common import close, greenhalo

UTM = "EPSG:32718"
X0, Y0 = 300_000.0, 9_300_000.0


def write(path, arr, dtype, nodata=None, scale=None, offset=None, mask=None, msk_file=False):
    h, w = arr.shape
    prof = dict(driver="GTiff", width=w, height=h, count=1, dtype=dtype, crs=UTM,
                transform=from_origin(X0, Y0, 10.0, 10.0))
    if nodata is not None:
        prof["nodata"] = nodata
    for p in (path, path + ".msk", path + ".aux.xml"):
        if os.path.exists(p):
            os.remove(p)
    env = {"GDAL_TIFF_INTERNAL_MASK": "NO" if msk_file else "YES"}
    with rasterio.Env(**env):
        with rasterio.open(path, "w", **prof) as d:
            d.write(arr.astype(dtype), 1)
            if scale is not None or offset is not None:
                d.scales = (scale if scale is not None else 1.0,)
                d.offsets = (offset if offset is not None else 0.0,)
            if mask is not None:
                d.write_mask(np.where(mask, 255, 0).astype("uint8"))


def square(x0, y0, x1, y1):
    return [[X0 + x0, Y0 - y1], [X0 + x1, Y0 - y1], [X0 + x1, Y0 - y0], [X0 + x0, Y0 - y0], [X0 + x0, Y0 - y1]]


def feats_of(polys):
    return [{"type": "Feature", "properties": {"pid": i},
             "geometry": {"type": "Polygon", "coordinates": [p]}} for i, p in enumerate(polys)]


def geojson(path, feats):
    with open(path, "w") as f:
        json.dump({"type": "FeatureCollection",
                   "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32718"}},
                   "features": feats}, f)


def ours(polys, raster, stats, out, *extra):
    greenhalo("zonal-stats", "--polygons", polys, "--raster", raster, "--stats", ",".join(stats), "-o", out,
              *extra)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    # frac and weighted_frac: one column per value, `frac_<value>`.
    cols = [c for c in (rows[0].keys() if rows else []) if c.startswith(("frac_", "weighted_frac_"))]
    keys = [k for k in stats if k not in ("frac", "weighted_frac")] + cols
    return {int(float(r["pid"])): {k: (float(r[k]) if r[k] != "" else None) for k in keys} for r in rows}


def theirs(raster, feats, stats, weights=None):
    out = exactextract.exact_extract(raster, feats, stats, include_cols=["pid"], weights=weights)
    res = {}
    for o in out:
        p = o["properties"]
        # (an operation with arguments, `weighted_mean(default_weight=0.5)`,
        # comes back under its bare name)
        row = {k: p[k.split("(")[0]] for k in stats if k not in ("frac", "weighted_frac", "unique")}
        # Their arrays follow `unique`'s order: as one column per value.
        for k in ("frac", "weighted_frac"):
            if k in stats:
                for v, x in zip(p["unique"], p[k]):
                    row[f"{k}_{int(v) if float(v).is_integer() else repr(float(v))}"] = float(x)
        res[int(p["pid"])] = row
    return res


def same(got, ref, stats, tol=1e-12, what=""):
    bad = []
    for pid, r in ref.items():
        for k in stats:
            a, b = got[pid][k], r[k]
            if isinstance(b, float) and math.isnan(b):
                b = None
            if k == "variety" and b == 0:
                b = 0.0
            if not close(a, b, tol, abs_tol=0.0):
                bad.append((pid, k, a, b))
    assert not bad, f"{what}{len(bad)} differences from exactextract, first: {bad[:4]}"


def run(results, work):
    os.makedirs(work, exist_ok=True)
    # Four cells in a 2x2 block, one polygon over all four and one over the
    # top-left cell alone.
    polys = os.path.join(work, "two.geojson")
    feats = feats_of([square(0, 0, 20, 20), square(0, 0, 10, 10)])
    geojson(polys, feats)
    base = ["count", "sum", "mean", "min", "max"]

    def precision():
        cases = [
            ("int32", np.array([[16_777_217, 16_777_219], [-16_777_217, 3]]), "int32", None),
            ("float64", np.array([[1_234_567.891, 9_876_543.219876], [0.1, 1e-300]]), "float64", None),
            ("uint32", np.array([[4_294_967_295, 4_294_967_294], [7, 4_294_967_295]]), "uint32", 4_294_967_294),
        ]
        said = []
        for name, arr, dtype, nodata in cases:
            r = os.path.join(work, f"precision_{name}.tif")
            write(r, arr, dtype, nodata=nodata)
            got = ours(polys, r, base, os.path.join(work, f"precision_{name}.csv"))
            same(got, theirs(r, feats, base), base, what=f"{name}: ")
            said.append(f"{name} max {got[0]['max']:.17g}")
        # By hand, each exact in f64 (f32 would give 16777216, 9876543.0,
        # and a sum of 0 for the UInt32 maximum beside its nodata):
        want = {"int32": (16_777_219, 16_777_217 + 16_777_219 - 16_777_217 + 3),
                "float64": (9_876_543.219876, 1_234_567.891 + 9_876_543.219876 + 0.1 + 1e-300),
                "uint32": (4_294_967_295, 2 * 4_294_967_295 + 7)}
        for name, arr, dtype, nodata in cases:
            got = ours(polys, os.path.join(work, f"precision_{name}.tif"), base,
                       os.path.join(work, f"precision_{name}.csv"))
            assert got[0]["max"] == want[name][0], (name, got[0]["max"])
            assert got[0]["sum"] == float(want[name][1]), (name, got[0]["sum"])
        return "(" + "; ".join(said) + ")"
    results.run("zonal_native_precision_int32_float64_uint32", precision)

    def masks():
        arr = np.array([[1.0, 2.0], [3.0, 4.0]])
        keep = np.array([[False, True], [False, True]])
        said = []
        for name, msk_file in (("internal", False), ("msk_file", True)):
            r = os.path.join(work, f"mask_{name}.tif")
            write(r, arr, "float32", mask=keep, msk_file=msk_file)
            got = ours(polys, r, base, os.path.join(work, f"mask_{name}.csv"))
            same(got, theirs(r, feats, base), base, what=f"{name} mask: ")
            assert got[0]["count"] == 2.0 and got[0]["mean"] == 3.0, got[0]
            said.append(f"{name}: count {got[0]['count']:g}, mean {got[0]['mean']:g}")
        return "(" + "; ".join(said) + ")"
    results.run("zonal_mask_bands_internal_and_msk_file", masks)

    def packed():
        r = os.path.join(work, "packed.tif")
        write(r, np.array([[17650, 17700], [0, 17800]]), "int16", nodata=0, scale=0.02, offset=-74.7943)
        got = ours(polys, r, base, os.path.join(work, "packed.csv"))
        same(got, theirs(r, feats, base), base, tol=1e-12, what="packed: ")
        # By hand: 17800 x 0.02 - 74.7943, and three cells with data.
        assert close(got[0]["max"], 17800 * 0.02 - 74.7943, 1e-15, abs_tol=0.0) and got[0]["count"] == 3.0, got[0]
        return f"(scale and offset applied: max {got[0]['max']:.6f}, count {got[0]['count']:g})"
    results.run("zonal_scale_and_offset", packed)

    def ties():
        ops = ["majority", "minority", "variety"]
        r = os.path.join(work, "ties.tif")
        write(r, np.array([[5, 9], [9, 5]]), "int32")
        got = ours(polys, r, ops, os.path.join(work, "ties.csv"))
        same(got, theirs(r, feats, ops), ops, what="ties: ")
        assert (got[0]["majority"], got[0]["minority"], got[0]["variety"]) == (9.0, 5.0, 2.0), got[0]
        return f"(two values covering equal areas: majority {got[0]['majority']:g}, minority {got[0]['minority']:g}, as exactextract)"
    results.run("zonal_majority_and_minority_ties", ties)

    def operations():
        ops = ["minority", "variety", "median", "stdev", "coefficient_of_variation", "majority"]
        rng = np.random.default_rng(5)
        r = os.path.join(work, "ops.tif")
        # Classes 0..11, and a third of the cells with tenths between them.
        arr = rng.integers(0, 12, (60, 80)).astype("float64")
        tenths = rng.random((60, 80)) < 0.3
        arr[tenths] = np.round(rng.uniform(0, 12, tenths.sum()), 1)
        write(r, arr, "float64")
        shapes = []
        for i in range(300):
            x0, y0 = rng.uniform(0, 700), rng.uniform(0, 500)
            wdt, hgt = rng.uniform(3, 90), rng.uniform(3, 90)
            shapes.append(square(x0, y0, x0 + wdt, y0 + hgt))
        fs = feats_of(shapes)
        p = os.path.join(work, "ops.geojson")
        geojson(p, fs)
        got = ours(p, r, ops, os.path.join(work, "ops.csv"))
        # (exactextract keeps coverage fractions in single precision: its
        # weighted figures agree to about 1e-8; the value-picking ones exactly)
        picks = ["minority", "variety", "majority"]
        ref = theirs(r, fs, ops)
        same(got, ref, picks, tol=0.0, what="operations: ")
        same(got, ref, [o for o in ops if o not in picks], tol=1e-6, what="operations: ")
        return f"({len(fs)} polygons, {', '.join(ops)})"
    results.run("zonal_minority_variety_median_stdev_cv", operations)

    def weighted_and_frac():
        rng = np.random.default_rng(8)
        r = os.path.join(work, "classes.tif")
        wr = os.path.join(work, "weights.tif")
        classes = rng.integers(1, 7, (60, 80))
        classes[rng.random((60, 80)) < 0.05] = 0  # nodata
        write(r, classes, "int16", nodata=0)
        write(wr, rng.uniform(0.0, 50.0, (60, 80)).round(3), "float64")
        shapes = []
        for i in range(300):
            x0, y0 = rng.uniform(0, 700), rng.uniform(0, 500)
            shapes.append(square(x0, y0, x0 + rng.uniform(3, 90), y0 + rng.uniform(3, 90)))
        fs = feats_of(shapes)
        p = os.path.join(work, "weighted.geojson")
        geojson(p, fs)
        ops = ["frac", "weighted_frac", "weighted_mean", "weighted_sum", "count"]
        got = ours(p, r, ops, os.path.join(work, "weighted.csv"), "--weights", wr)
        ref = theirs(r, fs, ops + ["unique"], weights=wr)
        # Every value a polygon lacks is a 0 in its column (exactextract
        # leaves it out of the polygon's array).
        for pid, row in ref.items():
            for k in got[pid]:
                if k.startswith(("frac_", "weighted_frac_")) and k not in row and got[pid]["count"]:
                    row[k] = 0.0
        keys = sorted({k for row in ref.values() for k in row})
        assert [k for k in keys if k.startswith("frac_")] == [f"frac_{v}" for v in range(1, 7)], keys
        # (exactextract's coverage fractions are single precision: 1e-6)
        same(got, ref, keys, tol=1e-6, what="weighted: ")
        return f"({len(fs)} polygons, {len(keys)} columns: frac_1..frac_6, weighted_frac_1..6, weighted_mean, weighted_sum, count)"
    results.run("zonal_frac_and_weighted_statistics", weighted_and_frac)

    def missing_weights():
        r = os.path.join(work, "mw_values.tif")
        wr = os.path.join(work, "mw_weights.tif")
        write(r, np.array([[1.0, 2.0], [3.0, 4.0]]), "float64")
        write(wr, np.array([[2.0, -1.0], [1.0, 1.0]]), "float64", nodata=-1.0)
        out = os.path.join(work, "mw.csv")
        if os.path.exists(out):
            os.remove(out)
        o = subprocess.run([os.environ["GREENHALO"], "-q", "zonal-stats", "--polygons", polys, "--raster", r,
                            "--stats", "weighted_mean", "--weights", wr, "-o", out],
                           capture_output=True, text=True)
        assert o.returncode != 0 and not os.path.exists(out), "a missing weight gave a file"
        assert "two.geojson" in o.stderr and "column 1, row 0" in o.stderr and "--default-weight" in o.stderr, o.stderr
        ops = ["weighted_mean", "weighted_sum"]
        got = ours(polys, r, ops, out, "--weights", wr, "--default-weight", "0.5")
        ref = theirs(r, feats, [f"{k}(default_weight=0.5)" for k in ops], weights=wr)
        ref = {pid: {k.split("(")[0]: v for k, v in row.items()} for pid, row in ref.items()}
        same(got, ref, ops, tol=1e-12, what="default weight: ")
        # By hand: (1·2 + 2·0.5 + 3·1 + 4·1) / (2 + 0.5 + 1 + 1) = 10 / 4.5.
        assert close(got[0]["weighted_mean"], 10 / 4.5, 1e-15, abs_tol=0.0), got[0]
        return f"(refused without a default, naming the polygon and cell; default 0.5: weighted_mean {got[0]['weighted_mean']:.12g} = 10/4.5, as exactextract)"
    results.run("zonal_missing_weights_an_error_or_the_default", missing_weights)

    def collection():
        r = os.path.join(work, "coll.tif")
        write(r, np.array([[1.0, 2.0], [3.0, 4.0]]), "float64")
        a, b = square(0, 0, 10, 10), square(10, 10, 20, 15)
        p = os.path.join(work, "collection.geojson")
        geojson(p, [{"type": "Feature", "properties": {"pid": 0},
                     "geometry": {"type": "GeometryCollection", "geometries": [
                         {"type": "Polygon", "coordinates": [a]}, {"type": "Polygon", "coordinates": [b]}]}}])
        got = ours(p, r, base, os.path.join(work, "collection.csv"))
        ref = theirs(r, [{"type": "Feature", "properties": {"pid": 0},
                          "geometry": {"type": "MultiPolygon", "coordinates": [[a], [b]]}}], base)
        same(got, ref, base, what="collection: ")
        assert got[0]["count"] == 1.5, got[0]
        return f"(count {got[0]['count']:g}, mean {got[0]['mean']:.6g}, as exactextract on its parts)"
    results.run("zonal_geometry_collection_of_polygons", collection)

    def points():
        r = os.path.join(work, "coll.tif")
        p = os.path.join(work, "points.geojson")
        geojson(p, [{"type": "Feature", "properties": {"pid": 0},
                     "geometry": {"type": "Point", "coordinates": [X0 + 5, Y0 - 5]}}])
        exe = os.environ["GREENHALO"]
        if os.path.exists(os.path.join(work, "points.csv")):
            os.remove(os.path.join(work, "points.csv"))
        o = subprocess.run([exe, "-q", "zonal-stats", "--polygons", p, "--raster", r, "-o",
                            os.path.join(work, "points.csv")], capture_output=True, text=True)
        assert o.returncode != 0, "points were accepted"
        assert "points.geojson" in o.stderr and "point" in o.stderr, o.stderr
        assert not os.path.exists(os.path.join(work, "points.csv")), "a file was written"
        return f"(refused: {o.stderr.strip()[:120]})"
    results.run("zonal_points_refused_by_name", points)

    def lines():
        r = os.path.join(work, "coll.tif")
        p = os.path.join(work, "lines.geojson")
        geojson(p, [{"type": "Feature", "properties": {"pid": 0},
                     "geometry": {"type": "LineString", "coordinates": [[X0 + 1, Y0 - 5], [X0 + 19, Y0 - 5]]}}])
        out = os.path.join(work, "lines.csv")
        if os.path.exists(out):
            os.remove(out)
        o = subprocess.run([os.environ["GREENHALO"], "-q", "zonal-stats", "--polygons", p, "--raster", r, "-o", out],
                           capture_output=True, text=True)
        assert o.returncode != 0 and not os.path.exists(out), "a line was accepted"
        assert "lines.geojson" in o.stderr and "a line" in o.stderr and "length" in o.stderr, o.stderr
        # (exactextract 0.3 weights a line's cells by its length in them, but
        # gives count 0 for this one, along a row of cell centres.)
        ref = exactextract.exact_extract(r, json.load(open(p))["features"], ["count"])
        return f"(refused, saying what exactextract would do; exactextract's own count here: {ref[0]['properties']['count']:g})"
    results.run("zonal_lines_refused_saying_so", lines)
