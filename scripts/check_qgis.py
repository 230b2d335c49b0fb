"""Open a greenhalo.qgs headless in QGIS the way a user does and check what
the user sees: every node of the Layers panel (the layer tree) holds a valid
layer, no layer of the project file is missing from the tree or the map,
every layer has its intended renderer, the project opens on a saved extent
in its CRS, and the GeoPackage's stored styles load. Renders the project's
saved view to a PNG.
Usage: check_qgis.py PROJECT.qgs OUT.png"""
import os
import sys
import xml.etree.ElementTree as ET

from qgis.core import (QgsApplication, QgsLayerTreeLayer, QgsMapRendererSequentialJob,
                       QgsMapSettings, QgsProject, QgsVectorLayer)
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
    "Deforestation risk (annual)": "singlebandpseudocolor",
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
        msg, ok = lyr.loadDefaultStyle()
        if not ok:
            problems.append(f"greenhalo.gpkg|{name}: no stored style loads ({msg})")
        else:
            print(f"greenhalo.gpkg|{name:36s} style loads: renderer={lyr.renderer().type():18s} features={lyr.featureCount()}")
else:
    problems.append("no greenhalo.gpkg beside the project")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.stderr.flush()
    os._exit(1)

settings = QgsMapSettings()
settings.setLayers([n.layer() for n in nodes if n.isVisible()])
settings.setDestinationCrs(crs)
settings.setExtent(extent)
settings.setOutputSize(QSize(1200, 1000))
settings.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
job.renderedImage().save(png, "png")
print(f"rendered {png} (the project's saved view, visible layers)")
# QGIS 3.22 can crash in exitQgis() while tearing down layers Python still
# references; the checks are done and the PNG is written, so leave at once.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
