"""greenhalo zonal-stats against exactextract: count, sum, mean, min, max on
generated polygons in both ring orders, holes both ways, multipolygons,
polygons under 10 m², polygons crossing the raster's edge or lying over
nodata, rectangular cells, GeoJSON, Shapefile and GeoPackage, polygons in
another CRS than the raster."""
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

STATS = ["count", "sum", "mean", "min", "max"]
X0, Y0 = 300_000.0, 9_300_000.0
UTM = "EPSG:32718"


def make_raster(path, dx, dy, w, h, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    v = (500 + 300 * np.sin(xx / 17.0) * np.cos(yy / 23.0) + rng.normal(0, 50, (h, w))).astype("float32")
    v[rng.random((h, w)) < 0.05] -= 900  # some negative values
    v[h // 3 : h // 3 + 40, w // 4 : w // 4 + 40] = -9999  # a nodata block
    v[rng.random((h, w)) < 0.01] = np.nan  # scattered NaN
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32",
                       crs=UTM, transform=from_origin(X0, Y0, dx, dy), nodata=-9999) as d:
        d.write(v, 1)


def star(rng, cx, cy, r, n):
    """A valid star-shaped polygon around (cx, cy): evenly spread angles,
    jittered, so every gap is under 180 degrees and the centre is inside."""
    gap = 2 * math.pi / n
    ang = np.arange(n) * gap + rng.uniform(-0.2, 0.2, n) * gap
    rad = r * rng.uniform(0.6, 1.0, n)
    pts = [(cx + a * math.cos(t), cy + a * math.sin(t)) for a, t in zip(rad, ang)]
    return pts  # counter-clockwise (angles increase)


def ring(pts, ccw):
    p = pts if ccw else pts[::-1]
    return [list(q) for q in p] + [list(p[0])]


def polygons(seed, n, exterior_ccw, extent_w, extent_h):
    """n features; exterior orientation as asked, holes either way at random."""
    rng = np.random.default_rng(seed)
    feats = []
    small = 0
    for i in range(n):
        # Centres over the raster and a margin beyond it (edge crossers, outside).
        cx = X0 + rng.uniform(-0.05, 1.05) * extent_w
        cy = Y0 - rng.uniform(-0.05, 1.05) * extent_h
        r = math.exp(rng.uniform(math.log(0.8), math.log(500.0)))
        nv = int(rng.integers(3, 13))
        parts = []
        centres = [(cx, cy)] + ([(cx + 3 * r, cy - r)] if rng.random() < 0.15 else [])
        for (px, py) in centres:
            ext = star(rng, px, py, r, nv)
            rings = [ring(ext, exterior_ccw)]
            # A hole of radius <= 0.25 r lies inside: with >= 5 vertices the
            # exterior holds a circle of radius 0.6 r cos(0.7 * 72 deg) > 0.37 r.
            if rng.random() < 0.3 and nv >= 5:
                hole = star(rng, px, py, 0.25 * r, int(rng.integers(3, 8)))
                rings.append(ring(hole, rng.random() < 0.5))
            parts.append(rings)
        area = sum(abs(shoelace(p[0])) - sum(abs(shoelace(h)) for h in p[1:]) for p in parts)
        if area < 10.0:
            small += 1
        geom = ({"type": "Polygon", "coordinates": parts[0]} if len(parts) == 1
                else {"type": "MultiPolygon", "coordinates": parts})
        feats.append({"type": "Feature", "properties": {"pid": i}, "geometry": geom})
    return feats, small


def shoelace(r):
    return 0.5 * sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(r, r[1:]))


def write_geojson(path, feats, crs=UTM):
    code = crs.split(":")[1]
    with open(path, "w") as f:
        json.dump({"type": "FeatureCollection",
                   "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}},
                   "features": feats}, f)


def reference(raster, feats):
    """exactextract's statistics, plus the scale of each sum (sum of f·|v|,
    from exactextract on |v|): a sum of mixed-sign values that nearly cancel
    is compared relative to the size of its terms, as floating point allows."""
    out = exactextract.exact_extract(raster, feats, STATS, include_cols=["pid"])
    ref = {int(o["properties"]["pid"]): o["properties"] for o in out}
    absr = raster.replace(".tif", "_abs.tif")
    if not os.path.exists(absr):
        with rasterio.open(raster) as src:
            prof = src.profile
            v = src.read(1)
        with rasterio.open(absr, "w", **prof) as d:
            d.write(np.where(v == -9999, v, np.abs(v)), 1)
    for o in exactextract.exact_extract(absr, feats, ["sum"], include_cols=["pid"]):
        ref[int(o["properties"]["pid"])]["scale"] = o["properties"]["sum"]
    return ref


def ours(polys, raster, out):
    greenhalo("zonal-stats", "--polygons", polys, "--raster", raster,
              "--stats", ",".join(STATS), "-o", out)
    got = {}
    with open(out) as f:
        for row in csv.DictReader(f):
            got[int(float(row["pid"]))] = {k: (float(row[k]) if row[k] != "" else None) for k in STATS}
    return got


def compare(ref, got, tol=1e-6):
    assert len(ref) == len(got), f"{len(got)} rows vs {len(ref)} from exactextract"
    worst, worst_sum, bad = 0.0, 0.0, []
    for pid, r in ref.items():
        g = got[pid]
        for k in STATS:
            a, b = g[k], r[k]
            if k == "count" and b == 0:
                ok = a == 0 or a is None
            else:
                if b is not None and isinstance(b, float) and math.isnan(b):
                    b = None
                if (k in ("mean", "min", "max")) and r["count"] == 0:
                    b = None
                if k == "count":
                    floor = 1e-9
                elif k == "sum":
                    floor = tol * r["scale"]
                elif k == "mean" and r["count"]:
                    floor = tol * r["scale"] / r["count"]
                else:
                    floor = 0.0
                ok = close(a, b, tol, abs_tol=floor)
                if ok and a is not None and b is not None and max(abs(a), abs(b)) > 0:
                    if k in ("count", "min", "max"):
                        worst = max(worst, abs(a - b) / max(abs(a), abs(b)))
                    else:
                        scale = r["scale"] if k == "sum" else r["scale"] / r["count"]
                        worst_sum = max(worst_sum, abs(a - b) / max(abs(a), abs(b), scale))
            if not ok:
                bad.append((pid, k, a, b))
    assert not bad, f"{len(bad)} mismatches, first: {bad[:5]}"
    return worst, worst_sum


def run(results, work):
    os.makedirs(work, exist_ok=True)
    sq = os.path.join(work, "square.tif")
    rect = os.path.join(work, "rect.tif")
    make_raster(sq, 30.0, 30.0, 400, 300, 1)
    make_raster(rect, 30.0, 20.0, 400, 450, 2)
    n = 5000
    ccw, small_ccw = polygons(11, n, True, 400 * 30.0, 300 * 30.0)
    cw, small_cw = polygons(12, n, False, 400 * 30.0, 300 * 30.0)
    p_ccw = os.path.join(work, "ccw.geojson")
    p_cw = os.path.join(work, "cw.geojson")
    write_geojson(p_ccw, ccw)
    write_geojson(p_cw, cw)
    # The same polygons as an analyst gets them: Shapefile (GDAL writes
    # ESRI order, clockwise outer rings) and GeoPackage in lon/lat.
    p_shp = os.path.join(work, "ccw_as.shp")
    p_gpkg = os.path.join(work, "ccw_4326.gpkg")
    for p in (p_shp, p_gpkg):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", p_shp, p_ccw], check=True)
    subprocess.run(["ogr2ogr", "-f", "GPKG", "-t_srs", "EPSG:4326", p_gpkg, p_ccw], check=True)

    ref_ccw = reference(sq, ccw)
    ref_cw = reference(sq, cw)
    cases = [
        (f"zonal_ccw_rings_{n}_polygons_{small_ccw}_under_10m2", p_ccw, sq, ref_ccw),
        (f"zonal_cw_rings_{n}_polygons_{small_cw}_under_10m2", p_cw, sq, ref_cw),
        ("zonal_shapefile_esri_ring_order", p_shp, sq, ref_ccw),
        ("zonal_geopackage_in_epsg4326", p_gpkg, sq, ref_ccw),
        ("zonal_rectangular_cells_30x20", p_ccw, rect, reference(rect, ccw)),
    ]
    for name, polys, raster, ref in cases:
        def one(polys=polys, raster=raster, ref=ref, name=name):
            got = ours(polys, raster, os.path.join(work, name + ".csv"))
            worst, worst_sum = compare(ref, got)
            return f"(max relative difference: count/min/max {worst:.1e}, sum/mean {worst_sum:.1e} of the terms' size)"
        results.run(name, one)
