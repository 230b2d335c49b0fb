"""greenhalo cost-distance against scikit-image's MCP_Geometric (8-connected,
a step costs the mean of its two cells times its length): nodata, NaN,
negative and infinite cells impassable, sources on nodata and outside the
raster, rectangular cells, sources in another CRS, Float64 costs with a
GDAL mask band. Both sum in float64: `--type Float64` agrees to 1e-12
relative, the Float32 default to float32's rounding of the same figure."""
import json
import math
import os

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_xy
from skimage.graph import MCP_Geometric

from common import greenhalo

X0, Y0 = 500_000.0, 9_000_000.0
UTM = "EPSG:32718"


def make_case(work, name, dx, dy, w, h, seed, dtype="float32", masked=False):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.5, 5.0, (h, w)).astype(dtype)
    c[rng.random((h, w)) < 0.04] = -9999  # nodata
    c[rng.random((h, w)) < 0.02] = np.nan
    c[rng.random((h, w)) < 0.02] = -3.0  # negative: impassable
    c[rng.random((h, w)) < 0.01] = np.inf
    c[h // 2, : w // 2] = -9999  # a wall with a gap
    path = os.path.join(work, f"{name}.tif")
    mask = None
    if masked:
        # A per-dataset mask (no nodata value): its 0 cells are no data,
        # whatever value they hold.
        mask = np.where(rng.random((h, w)) < 0.05, 0, 255).astype("uint8")
        mask[h // 2, w // 2:] = 0
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype=dtype,
                       crs=UTM, transform=from_origin(X0, Y0, dx, dy),
                       nodata=None if masked else -9999) as d:
        d.write(c, 1)
        if masked:
            d.write_mask(mask)
    if masked:
        c = np.where(mask == 0, -9999, c).astype(dtype)
    # Sources: passable cells, one on nodata, one on a negative cell, one
    # outside the raster.
    passable = np.argwhere(np.isfinite(c) & (c >= 0))
    pick = passable[rng.choice(len(passable), 6, replace=False)]
    nod = np.argwhere(c == -9999)[0]
    neg = np.argwhere(c == -3.0)[0]
    cells = [tuple(p) for p in pick] + [tuple(nod), tuple(neg)]
    pts = [(X0 + (cc + rng.uniform(0.1, 0.9)) * dx, Y0 - (r + rng.uniform(0.1, 0.9)) * dy) for r, cc in cells]
    pts.append((X0 - 10 * dx, Y0 + 10 * dy))
    return path, c, pick, cells, pts


def write_points(path, pts, crs):
    if crs != UTM:
        xs, ys = warp_xy(UTM, crs, [p[0] for p in pts], [p[1] for p in pts])
        pts = list(zip(xs, ys))
    code = crs.split(":")[1]
    feats = [{"type": "Feature", "properties": {"i": i},
              "geometry": {"type": "Point", "coordinates": [x, y]}} for i, (x, y) in enumerate(pts)]
    fc = {"type": "FeatureCollection", "features": feats}
    if crs != "EPSG:4326":
        fc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}}
    with open(path, "w") as f:
        json.dump(fc, f)


def check(work, name, dx, dy, w, h, seed, crs, dtype="float32", masked=False):
    tif, c, starts, cells, pts = make_case(work, name, dx, dy, w, h, seed, dtype, masked)
    src = os.path.join(work, f"{name}_sources.geojson")
    write_points(src, pts, crs)
    costs = np.where(np.isfinite(c) & (c >= 0), c, np.inf).astype("float64")
    ref, _ = MCP_Geometric(costs, sampling=(dy, dx), fully_connected=True).find_costs([tuple(s) for s in starts])
    ref_nd = ~np.isfinite(ref)
    said = []
    # Float64: the sums themselves; Float32 (the default): each rounded
    # once, so within half a float32 step of the reference's rounding.
    for out_type, dtype_out, tol in [("Float64", "float64", 1e-12), (None, "float32", 2 ** -24 * 1.01)]:
        out = os.path.join(work, f"{name}_acc_{out_type or 'default'}.tif")
        args = ["cost-distance", "--cost", tif, "--sources", src, "-o", out]
        if out_type:
            args += ["--type", out_type]
        p = greenhalo(*args)
        assert "outside" in p.stderr and "impassable" in p.stderr, f"sources not reported: {p.stderr!r}"
        with rasterio.open(out) as d:
            assert d.dtypes[0] == dtype_out, f"{out_type}: cell type {d.dtypes[0]}"
            got = d.read(1).astype("float64")
        got_nd = ~np.isfinite(got)
        mism = int((ref_nd != got_nd).sum())
        assert mism == 0, f"{out_type}: {mism} nodata mismatches"
        for r, cc in cells[-2:]:
            assert got_nd[r, cc], f"source on impassable cell ({r},{cc}) is not nodata"
        ok = ~ref_nd
        want = ref[ok] if dtype_out == "float64" else ref[ok].astype("float32").astype("float64")
        rel = np.abs(got[ok] - want) / np.maximum(np.abs(want), 1e-300)
        rel[want == 0] = np.abs(got[ok][want == 0])
        worst = float(rel.max())
        assert worst <= tol, f"{out_type or 'Float32'}: max relative difference {worst:.2e} (allowed {tol:.1e})"
        said.append(f"{out_type or 'Float32'} {worst:.1e}")
    return f"({int((~ref_nd).sum())} cells, max relative difference {', '.join(said)}, 0 nodata mismatches)"


def run(results, work):
    os.makedirs(work, exist_ok=True)
    results.run("cost_distance_square_cells", check, work, "square", 10.0, 10.0, 180, 150, 3, UTM)
    results.run("cost_distance_rectangular_cells", check, work, "rect", 30.0, 20.0, 160, 200, 4, UTM)
    results.run("cost_distance_sources_in_epsg4326", check, work, "lonlat", 25.0, 25.0, 150, 150, 5, "EPSG:4326")
    results.run("cost_distance_float64_costs_with_a_mask_band", check, work, "f64mask", 7.5, 12.5, 140, 170, 6,
                UTM, "float64", True)
