"""Build data/alto_mayo: the real public Alto Mayo layers (AOI, both MTC road
networks, provincial capitals, SERNANP conservation areas as published, SRTM
DEM) completed with clearly labelled synthetic rasters (forest, forest loss,
population, land cover) and ~25,000 synthetic farmland parcels written as an
ESRI Shapefile. Deterministic (fixed seed). Run through
scripts/make-alto-mayo.sh, which copies the real layers first.

    python scripts/make_alto_mayo.py OUT_DIR [RESOLUTION_M [PARCEL_SEED [N_PARCELS]]]

PARCEL_SEED draws another set of parcels (lattice jitter, which cells, land
uses) over the same rasters, and N_PARCELS sets how many (at most the
farmland cells of the 280 m lattice, about 40,000): the benchmark family of
scripts/bench.sh. Without them, the parcels of data/alto_mayo.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import rasterio
from rasterio.features import rasterize
from rasterio.transform import from_origin
from rasterio.warp import reproject, Resampling, transform_geom

SEED = 20240
UTM = "EPSG:32718"


def load(path, layer=None):
    args = ["ogr2ogr", "-f", "GeoJSON", "-t_srs", UTM, "/vsistdout/", path] + ([layer] if layer else [])
    out = subprocess.run(args, check=True, capture_output=True).stdout
    return json.loads(out)["features"]


def main():
    out = sys.argv[1]
    res = float(sys.argv[2]) if len(sys.argv) > 2 else 100.0
    parcel_seed = int(sys.argv[3]) if len(sys.argv) > 3 else None
    n_parcels = int(sys.argv[4]) if len(sys.argv) > 4 else 25000
    rng = np.random.default_rng(SEED)
    aoi = load(os.path.join(out, "aoi.geojson"))
    roads = load(os.path.join(out, "roads_departamental.geojson")) + load(os.path.join(out, "roads_vecinal.geojson"))
    dep_n = len(load(os.path.join(out, "roads_departamental.geojson")))
    pas = load(os.path.join(out, "areas_conservacion.gpkg"))
    towns = load(os.path.join(out, "provincial_capitals.geojson"))

    # The grid: the AOI's box in UTM 18S plus 2 km.
    xs, ys = [], []
    for f in aoi:
        for ring in (f["geometry"]["coordinates"] if f["geometry"]["type"] == "Polygon"
                     else [r for p in f["geometry"]["coordinates"] for r in p]):
            xs += [c[0] for c in ring]
            ys += [c[1] for c in ring]
    x0 = math.floor((min(xs) - 2000) / res) * res
    y1 = math.ceil((max(ys) + 2000) / res) * res
    w = int(math.ceil((max(xs) + 2000 - x0) / res))
    h = int(math.ceil((y1 - (min(ys) - 2000)) / res))
    tf = from_origin(x0, y1, res, res)
    shape = (h, w)
    aoi_m = rasterize([f["geometry"] for f in aoi], out_shape=shape, transform=tf, fill=0, default_value=1).astype(bool)
    pa_m = rasterize([f["geometry"] for f in pas], out_shape=shape, transform=tf, fill=0, default_value=1).astype(bool)
    road_m = rasterize([f["geometry"] for f in roads], out_shape=shape, transform=tf, fill=0, default_value=1,
                       all_touched=True).astype(bool)

    # Real elevation on the grid (bilinear from the 30" SRTM).
    dem = np.full(shape, np.nan, dtype="float32")
    with rasterio.open(os.path.join(out, "dem_srtm_30s.tif")) as src:
        reproject(rasterio.band(src, 1), dem, dst_transform=tf, dst_crs=UTM,
                  resampling=Resampling.bilinear, dst_nodata=np.nan)
    dem[dem < -100] = np.nan

    # Distance to roads (km) by a two-pass chamfer transform.
    def dist(mask):
        d = np.where(mask, 0.0, 1e9)
        a, b = res, res * math.sqrt(2)
        for i in range(h):
            row = d[i]
            if i > 0:
                up = d[i - 1]
                row = np.minimum(row, up + a)
                row[1:] = np.minimum(row[1:], up[:-1] + b)
                row[:-1] = np.minimum(row[:-1], up[1:] + b)
            for j in range(1, w):
                if row[j - 1] + a < row[j]:
                    row[j] = row[j - 1] + a
            d[i] = row
        for i in range(h - 1, -1, -1):
            row = d[i]
            if i < h - 1:
                dn = d[i + 1]
                row = np.minimum(row, dn + a)
                row[1:] = np.minimum(row[1:], dn[:-1] + b)
                row[:-1] = np.minimum(row[:-1], dn[1:] + b)
            for j in range(w - 2, -1, -1):
                if row[j + 1] + a < row[j]:
                    row[j] = row[j + 1] + a
            d[i] = row
        return d / 1000.0

    d_road = dist(road_m)
    # Smooth noise: sum of a few random sinusoids (deterministic).
    yy, xx = np.mgrid[0:h, 0:w] * (res / 1000.0)
    noise = np.zeros(shape)
    for k in range(6):
        fx, fy = rng.uniform(0.05, 0.4, 2)
        ph = rng.uniform(0, 2 * math.pi, 2)
        noise += np.sin(fx * xx + ph[0]) * np.cos(fy * yy + ph[1])
    noise /= 6.0
    elev = np.nan_to_num(dem, nan=900.0)

    # Synthetic forest today: cleared along roads and in the valley floor
    # (below ~1,000 m near roads), kept on slopes, ridges and in reserves.
    clear_score = 1.6 * np.exp(-d_road / 2.5) + 0.7 * (elev < 1100) + 0.5 * noise + rng.normal(0, 0.25, shape)
    clear_score -= 1.2 * pa_m
    forest = (clear_score < 1.0).astype("uint8")
    # Synthetic loss 2001-2022 (Hansen lossyear 1-22) at the edge of today's
    # clearing: cells cleared recently were forest at the start.
    edge = (clear_score >= 1.0) & (clear_score < 1.25)
    lost = edge & (rng.random(shape) < 0.55)
    lossyear = np.where(lost, rng.integers(1, 23, shape), 0).astype("uint8")
    # Land cover: 1 forest, 2 farmland/open, 3 water (none here), 4 built-up.
    lc = np.where(forest == 1, 1, 2).astype("uint8")
    pop = np.zeros(shape, dtype="float32")
    for t in towns:
        tx, ty = t["geometry"]["coordinates"][:2]
        r2 = ((np.arange(w) * res + x0 + res / 2 - tx) ** 2)[None, :] + \
             ((y1 - np.arange(h) * res - res / 2 - ty) ** 2)[:, None]
        core = r2 < (1500.0 ** 2)
        lc[core] = 4
        # 40,000 people a town: the Gaussian of sigma 2.5 km (25 cells of
        # 100 m) integrates to 2 pi sigma^2 cells.
        pop += (40000.0 * np.exp(-r2 / (2 * 2500.0 ** 2)) * (res / 100.0) ** 2 / (2 * math.pi * 25.0 ** 2)).astype("float32")
    pop += ((forest == 0) * (0.6 + 0.8 * np.exp(-d_road / 1.5)) * (res / 100.0) ** 2).astype("float32")

    def write(name, arr, dtype, nodata=None):
        with rasterio.open(os.path.join(out, name), "w", driver="GTiff", width=w, height=h, count=1, dtype=dtype,
                           crs=UTM, transform=tf, nodata=nodata, compress="deflate", tiled=True,
                           blockxsize=256, blockysize=256) as d:
            d.write(arr.astype(dtype), 1)

    write("forest.tif", forest, "uint8")
    write("forest_loss.tif", lossyear, "uint8")
    write("landcover.tif", lc, "uint8")
    write("population.tif", pop, "float32")

    # ~25,000 parcels: a jittered 280 m lattice (shared corners, so parcels
    # tile without overlap) over farmland inside the AOI, outside reserves,
    # where the DEM has data.
    sp = 280.0
    if parcel_seed is not None:
        rng = np.random.default_rng(parcel_seed)
    gx0, gy1 = x0 + 1000, y1 - 1000
    nx, ny = int((w * res - 2000) / sp), int((h * res - 2000) / sp)
    jx = rng.uniform(-0.22, 0.22, (ny + 1, nx + 1)) * sp
    jy = rng.uniform(-0.22, 0.22, (ny + 1, nx + 1)) * sp
    uses = ["pasto", "pasto_degradado", "cultivo_anual", "cafe", "cacao"]
    probs = [0.38, 0.22, 0.18, 0.12, 0.10]
    sectors = ["Nueva Cajamarca", "Soritor", "Yantaló", "Jepelacio", "Awajún", "Pardo Miguel", "Elías Soplín Vargas",
               "San Fernando", "Calzada", "Habana"]
    cand = []
    for i in range(ny):
        for j in range(nx):
            cx, cy = gx0 + (j + 0.5) * sp, gy1 - (i + 0.5) * sp
            c, r = int((cx - x0) / res), int((y1 - cy) / res)
            if aoi_m[r, c] and not pa_m[r, c] and forest[r, c] == 0 and lc[r, c] == 2 and not np.isnan(dem[r, c]):
                cand.append((i, j))
    keep = rng.permutation(len(cand))[:n_parcels]
    feats = []
    for n, k in enumerate(sorted(keep)):
        i, j = cand[k]
        corners = [(i, j), (i, j + 1), (i + 1, j + 1), (i + 1, j)]
        ring = [[gx0 + b * sp + jx[a, b], gy1 - a * sp + jy[a, b]] for a, b in corners]
        ring.append(ring[0])
        feats.append({"type": "Feature", "properties": {
            "parcela_id": f"AM{n + 1:05d}", "uso": str(rng.choice(uses, p=probs)),
            "sector": sectors[(i * 7 + j * 3) % len(sectors)]},
            "geometry": {"type": "Polygon", "coordinates": [ring]}})
    tmp = os.path.join(out, "_parcels_utm.geojson")
    with open(tmp, "w") as f:
        json.dump({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32718"}},
                   "features": feats}, f)
    for ext in ("shp", "shx", "dbf", "prj", "cpg"):
        p = os.path.join(out, f"parcels.{ext}")
        if os.path.exists(p):
            os.remove(p)
    # As analysts get them: a Shapefile in lon/lat (ESRI ring order), UTF-8.
    subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", "-t_srs", "EPSG:4326", "-lco", "ENCODING=UTF-8", "-lco", "RESIZE=YES",
                    "-nln", "parcels", os.path.join(out, "parcels.shp"), tmp], check=True)
    os.remove(tmp)
    print(f"alto_mayo: grid {w}x{h} at {res:g} m; forest {forest[aoi_m].mean():.1%} of the AOI; "
          f"{int(lost.sum())} loss cells; {len(feats)} parcels; {dep_n} departmental + {len(roads) - dep_n} vecinal routes")


if __name__ == "__main__":
    main()
