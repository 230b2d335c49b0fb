"""Open a greenhalo.qgs headless in QGIS the way a user does and check what
the user sees: every node of the Layers panel (the layer tree) holds a valid
layer, no layer of the project file is missing from the tree or the map,
every layer has its intended renderer, the project opens on a saved extent
in its CRS, and the GeoPackage's stored styles load. The map tells the plan's
story: selected and unselected parcels are drawn differently (by the
renderer, and in a PNG of the parcels alone), the funded road portfolio has
a symbol no other road has, raster legends carry numbers, figures show
rounded with thousands separators. The GeoPackage carries the same project
(opened from a copy of the GeoPackage alone). Renders the project's saved
view to a PNG, and the GeoPackage project's to gpkg_OUT.png.
Usage: check_qgis.py PROJECT.qgs OUT.png"""
import os
import sys
import xml.etree.ElementTree as ET

from qgis.core import (QgsApplication, QgsFeatureRequest, QgsLayerTreeLayer,
                       QgsMapRendererSequentialJob, QgsMapSettings, QgsProject,
                       QgsRasterLayer, QgsRenderContext, QgsVectorLayer,
                       QgsCoordinateTransform, QgsExpressionContextUtils, QgsGeometry)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

project_path, png = sys.argv[1], sys.argv[2]
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
problems = []

# What the file declares: tree nodes (id, name) and map layers.
doc = ET.parse(project_path).getroot()
declared = [(n.get("id"), n.get("name")) for n in doc.iter("layer-tree-layer")]
if not declared:
    sys.exit(f"{project_path}: the project's layer tree is empty")

project = QgsProject.instance()
if not project.read(project_path):
    sys.exit(f"QGIS cannot read {project_path}")

# What the user sees: the Layers panel.
root = project.layerTreeRoot()
nodes = root.findLayers()
seen_names = [n.name() for n in nodes]
for _id, name in declared:
    if name not in seen_names:
        problems.append(f"'{name}': declared in the project but missing from the Layers panel")
expected = {
    "Road segments": "categorizedSymbol",
    "Farmland transitions": "categorizedSymbol",
    "Conservation funding": "graduatedSymbol",
    "Green Halo": "singleSymbol",
    "Area of interest": "singleSymbol",
    "Markets": "singleSymbol",
    "Input road network": "categorizedSymbol",
    "Travel time to market (min)": "singlebandpseudocolor",
    "Deforestation risk (% a year)": "singlebandpseudocolor",
    "Terrain (hillshade)": "hillshade",
}
for node in nodes:
    layer = node.layer()
    path = []
    parent = node.parent()
    while parent is not None and parent != root:
        path.insert(0, parent.name())
        parent = parent.parent()
    where = "/".join(path + [node.name()])
    if layer is None:
        problems.append(f"'{where}': the Layers panel node holds no layer (orphaned id {node.layerId()})")
        continue
    if not layer.isValid():
        problems.append(f"'{where}': invalid layer ({layer.source()})")
        continue
    renderer = layer.renderer()
    kind = renderer.type() if renderer is not None else None
    want = expected.get(layer.name())
    if want and kind != want:
        problems.append(f"'{where}': renderer {kind}, expected {want} (unstyled?)")
    aliases = {"Road segments": ("npv_net_usd", "NPV net of carbon cost (US$)"),
               "Farmland transitions": ("area_ha", "Area (ha)"),
               "Conservation funding": ("gap_usd_per_year", "Funding gap (US$/year)")}
    if layer.name() in aliases:
        field, want_alias = aliases[layer.name()]
        idx = layer.fields().indexOf(field)
        got = layer.attributeAlias(idx) if idx >= 0 else None
        if got != want_alias:
            problems.append(f"'{where}': field {field} shows as {got!r}, expected the alias {want_alias!r}")
    count = layer.featureCount() if isinstance(layer, QgsVectorLayer) else "-"
    visible = "on " if node.isVisible() else "off"
    print(f"{where:48s} {visible} valid renderer={str(kind):22s} features={count} crs={layer.crs().authid()}")

def render(layers, extent, size=(1000, 800), crs=None):
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(crs or project.crs())
    settings.setExtent(extent)
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage(), settings


def symbol_key(renderer, feature, ctx):
    """What the user sees for a feature: its symbol's colour, width and
    style, as the renderer draws it (which evaluates its expression on the
    feature set in the context, as QGIS's render loop does)."""
    ctx.expressionContext().setFeature(feature)
    syms = renderer.symbolsForFeature(feature, ctx)
    if not syms:
        return None
    s = syms[0]
    sl = s.symbolLayer(0)
    props = sl.properties()
    return (s.color().name(QColor.HexArgb), round(s.width() if hasattr(s, "width") else 0, 3),
            props.get("line_style", props.get("outline_style", "")))


def context_for(layer):
    ctx = QgsRenderContext()
    ctx.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    return ctx


def by_name(prefix):
    return [n.layer() for n in nodes if n.layer() is not None and n.layer().name().startswith(prefix)]


# The story: what the map draws is what the plan decided.
for layer in by_name("Farmland transitions"):
    ctx = context_for(layer)
    r = layer.renderer().clone()
    r.startRender(ctx, layer.fields())
    shown = {True: set(), False: set()}
    for f in layer.getFeatures():
        shown[bool(f["selected"])].add(symbol_key(r, f, ctx))
    r.stopRender(ctx)
    if None in shown[True] or None in shown[False]:
        problems.append(f"'{layer.name()}': some parcels are not drawn at all")
    if len(shown[False]) > 1:
        problems.append(f"'{layer.name()}': unselected parcels drawn {len(shown[False])} ways, expected one legend entry")
    if shown[True] & shown[False]:
        problems.append(f"'{layer.name()}': selected and unselected parcels share a symbol: {shown[True] & shown[False]}")
    print(f"{layer.name()}: selected parcels in {len(shown[True])} symbol(s), unselected in {len(shown[False])}, none shared")
    # In pixels: the parcels layer alone, sampled inside the largest
    # selected and unselected parcels.
    feats = sorted(layer.getFeatures(), key=lambda f: -f.geometry().area())
    pick = {True: [f for f in feats if f["selected"]][:15], False: [f for f in feats if not f["selected"]][:15]}
    if pick[True] and pick[False]:
        xf = QgsCoordinateTransform(layer.crs(), project.crs(), project)
        img, ms = render([layer], xf.transformBoundingBox(layer.extent()), (2000, 1600))
        m2p = ms.mapToPixel()
        colours = {}
        for sel, fs in pick.items():
            colours[sel] = set()
            for f in fs:
                pt = m2p.transform(xf.transform(f.geometry().pointOnSurface().asPoint()))
                colours[sel].add(QColor(img.pixel(int(pt.x()), int(pt.y()))).name())
        if colours[True] & colours[False]:
            problems.append(f"'{layer.name()}': in the rendered map selected and unselected parcels show the same colour {colours[True] & colours[False]}")
        print(f"{layer.name()}: rendered colours, selected {sorted(colours[True])}, unselected {sorted(colours[False])}")

for layer in by_name("Road segments"):
    ctx = context_for(layer)
    r = layer.renderer().clone()
    r.startRender(ctx, layer.fields())
    funded, others = set(), set()
    for f in layer.getFeatures():
        (funded if f["in_portfolio"] else others).add(symbol_key(r, f, ctx))
    r.stopRender(ctx)
    if not funded:
        print(f"{layer.name()}: no funded road in this plan")
    if funded & others:
        problems.append(f"'{layer.name()}': funded roads share a symbol with roads outside the portfolio: {funded & others}")
    labels = [c.label() for c in layer.renderer().categories()]
    if not any("Funded" in l for l in labels):
        problems.append(f"'{layer.name()}': no legend entry for the funded portfolio (entries: {labels})")
    print(f"{layer.name()}: legend {labels}")
    idx = layer.fields().indexOf("npv_net_usd")
    setup = layer.editorWidgetSetup(idx)
    f = next(layer.getFeatures())
    from qgis.core import QgsApplication as _A
    shown = _A.fieldFormatterRegistry().fieldFormatter(setup.type()).representValue(
        layer, idx, setup.config(), None, f["npv_net_usd"])
    if setup.type() != "Range" or "." in shown:
        problems.append(f"'{layer.name()}': npv_net_usd shows as {shown!r} (widget {setup.type()!r}), expected whole dollars")
    print(f"{layer.name()}: npv_net_usd {f['npv_net_usd']!r} shows as {shown!r}")

for layer in [n.layer() for n in nodes if isinstance(n.layer(), QgsRasterLayer)]:
    items = layer.renderer().legendSymbologyItems()
    labels = [label for label, _ in items]
    if layer.renderer().type() == "singlebandpseudocolor" and not all(any(ch.isdigit() for ch in l) for l in labels):
        problems.append(f"'{layer.name()}': legend entries without a value: {labels}")
    if labels:
        print(f"{layer.name()}: legend {labels}")

for want in expected:
    if want not in seen_names and want not in [n for _, n in declared]:
        problems.append(f"'{want}': not in the project")

# The saved view: a CRS and an extent, not a blank 1:1 canvas.
crs = project.crs()
if not crs.isValid():
    problems.append("the project has no valid CRS")
extent = project.viewSettings().defaultViewExtent()
if extent.isEmpty():
    problems.append("the project saves no map extent (it opens blank)")
else:
    print(f"saved extent {extent.toString(0)} in {extent.crs().authid()}")

# The GeoPackage beside the project: every layer loads with its stored style.
gpkg = os.path.join(os.path.dirname(project_path), "greenhalo.gpkg")
if os.path.exists(gpkg):
    from osgeo import ogr
    ds = ogr.Open(gpkg)
    names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount()) if ds.GetLayer(i).GetName() != "layer_styles"]
    for name in names:
        lyr = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        if not lyr.isValid():
            problems.append(f"greenhalo.gpkg|{name}: invalid")
            continue
        twin = {"road_segments": "roads.geojson", "farmland_transitions": "parcels.geojson",
                "conservation_funding": "conservation.geojson", "green_halo": "halo.geojson",
                "markets": "inputs/markets.geojson", "area_of_interest": "inputs/aoi.geojson",
                "input_road_network": "inputs/roads.geojson"}.get(name)
        if twin:
            gj = QgsVectorLayer(os.path.join(os.path.dirname(project_path), twin), twin, "ogr")
            if gj.featureCount() != lyr.featureCount():
                problems.append(f"greenhalo.gpkg|{name}: {lyr.featureCount()} features, {twin} has {gj.featureCount()}")
            else:
                # The same places: each feature of the twin (lon/lat to 7
                # decimals: a vertex within 8 mm) taken by QGIS to the
                # GeoPackage's CRS has its bounding box within 5 cm, its
                # area within 8 mm times its perimeter, its length within
                # 16 mm a segment (at most 2,000 features, evenly spread).
                # (Not the centroid: the rounding can leave a sliver of a
                # ring degenerate, and GEOS's centroid of such an invalid
                # twin moved 365 m on Alto Mayo's halo; counted below.)
                to_gpkg = QgsCoordinateTransform(gj.crs(), lyr.crs(), project)
                step = max(1, lyr.featureCount() // 2000)
                worst, invalid, seen = 0.0, 0, 0
                for k, (a, b) in enumerate(zip(lyr.getFeatures(), gj.getFeatures())):
                    if k % step:
                        continue
                    ga, gb = a.geometry(), QgsGeometry(b.geometry())
                    gb.transform(to_gpkg)
                    seen += 1
                    invalid += not gb.isGeosValid()
                    ba, bb = ga.boundingBox(), gb.boundingBox()
                    d = max(abs(ba.xMinimum() - bb.xMinimum()), abs(ba.yMinimum() - bb.yMinimum()),
                            abs(ba.xMaximum() - bb.xMaximum()), abs(ba.yMaximum() - bb.yMaximum()))
                    if ga.area() > 0:
                        size, tol = (ga.area(), gb.area()), 0.008 * ga.length()
                    else:
                        size, tol = (ga.length(), gb.length()), 0.016 * max(1, len(list(ga.vertices())))
                    worst = max(worst, d)
                    if d > 0.05 or abs(size[0] - size[1]) > tol:
                        problems.append(f"greenhalo.gpkg|{name}: feature {k} lies {d:.3f} m from {twin}'s (size {size[0]:.6g} vs {size[1]:.6g})")
                        break
                note = f"; {invalid} of {seen} of the twin's invalid for GEOS after rounding" if invalid else ""
                print(f"greenhalo.gpkg|{name:36s} where {twin} is: bounding boxes within {worst:.4f} m{note}")
        if lyr.crs().authid() != project.crs().authid():
            problems.append(f"greenhalo.gpkg|{name}: CRS {lyr.crs().authid()}, the project's is {project.crs().authid()} (dragged in first, it would set the map's CRS)")
        msg, ok = lyr.loadDefaultStyle()
        if not ok:
            problems.append(f"greenhalo.gpkg|{name}: no stored style loads ({msg})")
        else:
            print(f"greenhalo.gpkg|{name:36s} style loads: renderer={lyr.renderer().type():18s} features={lyr.featureCount()}")
    # The output rasters as raster tables, the same values as the GeoTIFFs.
    from osgeo import gdal
    # (elevation is kept in whole metres: its statistics within half a metre)
    for table, tif, tol in [("travel_time", "travel_time.tif", 0.0),
                            ("deforestation_risk", "deforestation_risk.tif", 0.0),
                            ("elevation", "inputs/elevation.tif", 0.5)]:
        lyr = QgsRasterLayer(f"GPKG:{gpkg}:{table}", table, "gdal")
        if not lyr.isValid():
            problems.append(f"greenhalo.gpkg raster {table}: missing or invalid")
            continue
        # (Each dataset held while its band is read: osgeo crashes otherwise.)
        ds_a = gdal.Open(f"GPKG:{gpkg}:{table}")
        ds_b = gdal.Open(os.path.join(os.path.dirname(project_path), tif))
        a = ds_a.GetRasterBand(1).ComputeStatistics(False)
        b = ds_b.GetRasterBand(1).ComputeStatistics(False)
        ds_a = ds_b = None
        if any(abs(x - y) > max(tol, 1e-6 * max(1.0, abs(y))) for x, y in zip(a, b)):
            problems.append(f"greenhalo.gpkg raster {table}: statistics {a} differ from {tif}'s {b}")
        if lyr.crs().authid() != project.crs().authid():
            problems.append(f"greenhalo.gpkg raster {table}: CRS {lyr.crs().authid()}, the project's is {project.crs().authid()}")
        print(f"greenhalo.gpkg|{table:36s} raster table: {lyr.width()}x{lyr.height()} {lyr.crs().authid()}, same statistics as {tif}" + (f" (within {tol})" if tol else ""))
    # The GeoPackage's stored project, as the Browser opens it, from a copy
    # of the GeoPackage alone in another folder: the same layer tree as
    # greenhalo.qgs, every layer valid and read from the GeoPackage itself,
    # the same renderers.
    import shutil
    import tempfile
    from urllib.parse import quote
    storage = QgsApplication.projectStorageRegistry().projectStorageFromType("geopackage")
    alone_dir = tempfile.mkdtemp()
    alone = os.path.join(alone_dir, "greenhalo.gpkg")
    shutil.copy(gpkg, alone)
    stored = storage.listProjects(alone) if storage else []
    if stored != ["greenhalo"]:
        problems.append(f"greenhalo.gpkg: {len(stored)} stored projects ({stored}), expected one, 'greenhalo'")
    else:
        # (QGIS 3.22 reads the name percent-decoded except for the
        # delimiters its own URIs leave as they are)
        uri = f"geopackage:{alone}?projectName={quote(stored[0], safe='(),')}"
        inner = QgsProject()
        if not inner.read(uri):
            problems.append(f"greenhalo.gpkg: QGIS cannot read its stored project {stored[0]!r}: {inner.error()}")
        else:
            def tree(p):
                out = []
                for n in p.layerTreeRoot().findLayers():
                    out.append((n.parent().name(), n.name(), n.isVisible()))
                return out
            if tree(inner) != tree(project):
                problems.append(f"greenhalo.gpkg's project: layer tree {tree(inner)} differs from greenhalo.qgs's {tree(project)}")
            for n in inner.layerTreeRoot().findLayers():
                lyr = n.layer()
                if lyr is None or not lyr.isValid():
                    problems.append(f"greenhalo.gpkg's project: '{n.name()}' is not a valid layer")
                    continue
                if alone not in lyr.source():
                    problems.append(f"greenhalo.gpkg's project: '{n.name()}' reads {lyr.source()}, not the GeoPackage")
                want = expected.get(lyr.name())
                if want and lyr.renderer().type() != want:
                    problems.append(f"greenhalo.gpkg's project: '{n.name()}' renderer {lyr.renderer().type()}, expected {want}")
            if inner.crs().authid() != project.crs().authid():
                problems.append(f"greenhalo.gpkg's project: CRS {inner.crs().authid()}, greenhalo.qgs's {project.crs().authid()}")
            print(f"greenhalo.gpkg stored project {stored[0]!r}: {len(tree(inner))} layers, the same tree as greenhalo.qgs, all read from the GeoPackage moved alone")
            gpkg_png = os.path.join(os.path.dirname(png), "gpkg_" + os.path.basename(png))
            img, _ = render([n.layer() for n in inner.layerTreeRoot().findLayers() if n.isVisible()],
                            inner.viewSettings().defaultViewExtent(), (1200, 1000), inner.crs())
            img.save(gpkg_png, "png")
            print(f"rendered {gpkg_png} (the stored project's saved view)")
else:
    problems.append("no greenhalo.gpkg beside the project")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)

img, _ = render([n.layer() for n in nodes if n.isVisible()], extent, (1200, 1000), crs)
img.save(png, "png")
print(f"rendered {png} (the project's saved view, visible layers)")
# QGIS 3.22 can crash in exitQgis() while tearing down layers Python still
# references; the checks are done and the PNG is written, so leave at once.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
