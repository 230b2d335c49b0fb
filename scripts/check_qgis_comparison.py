"""Open a comparison.qgs (written by `greenhalo compare` or `sweep`) headless
in QGIS the way a user does and check what the user sees: every node of the
Layers panel holds a valid layer, the changes layer and each run's layers
are styled, and the map tells the comparison's story: each road the
comparison says enters or leaves the portfolio is drawn with the funded
symbol in exactly the runs that fund it (read from each run's own layer as
QGIS draws it, not from greenhalo's attributes), every changed parcel is
drawn, and the rendered project shows the entering and leaving roads in
their colours. Renders the project's saved view to OUT.png.
Usage: check_qgis_comparison.py COMPARISON.qgs OUT.png"""
import csv
import os
import sys
import xml.etree.ElementTree as ET

from qgis.core import (QgsApplication, QgsCoordinateTransform, QgsExpressionContextUtils,
                       QgsMapRendererSequentialJob, QgsMapSettings, QgsProject,
                       QgsRenderContext, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

project_path, png = sys.argv[1], sys.argv[2]
folder = os.path.dirname(os.path.abspath(project_path))
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
problems = []

doc = ET.parse(project_path).getroot()
declared = [n.get("name") for n in doc.iter("layer-tree-layer")]
project = QgsProject.instance()
if not project.read(project_path):
    sys.exit(f"QGIS cannot read {project_path}")
root = project.layerTreeRoot()
nodes = root.findLayers()
seen = [n.name() for n in nodes]
for name in declared:
    if name not in seen:
        problems.append(f"'{name}': declared in the project but missing from the Layers panel")
for node in nodes:
    layer = node.layer()
    where = f"{node.parent().name()}/{node.name()}"
    if layer is None or not layer.isValid():
        problems.append(f"'{where}': no valid layer ({layer.source() if layer else node.layerId()})")
        continue
    kind = layer.renderer().type() if layer.renderer() is not None else None
    count = layer.featureCount() if isinstance(layer, QgsVectorLayer) else "-"
    print(f"{where:70s} {'on ' if node.isVisible() else 'off'} renderer={str(kind):22s} features={count}")


def context_for(layer):
    ctx = QgsRenderContext()
    ctx.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    return ctx


def symbols(layer, key):
    """Each feature's symbol as the renderer draws it: key -> (colour, width)."""
    ctx = context_for(layer)
    r = layer.renderer().clone()
    r.startRender(ctx, layer.fields())
    out = {}
    for f in layer.getFeatures():
        ctx.expressionContext().setFeature(f)
        syms = r.symbolsForFeature(f, ctx)
        out[f[key]] = None if not syms else (
            syms[0].color().name(QColor.HexArgb), round(getattr(syms[0], "width", lambda: 0)(), 3))
    r.stopRender(ctx)
    return out


def layer_named(name):
    hits = [n.layer() for n in nodes if n.name() == name and n.layer() is not None]
    return hits[0] if hits else None


changes = layer_named("Roads whose funding changes")
runs = [g.name()[len("Run "):] for g in root.children() if g.name().startswith("Run ")]
if len(runs) < 2:
    problems.append(f"the project has {len(runs)} run groups, expected at least two")
if changes is None:
    problems.append("no layer 'Roads whose funding changes'")
else:
    if changes.renderer().type() != "categorizedSymbol":
        problems.append(f"'Roads whose funding changes': renderer {changes.renderer().type()}, expected categorizedSymbol")
    with open(os.path.join(folder, "comparison_roads.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    if changes.featureCount() != len(rows):
        problems.append(f"'Roads whose funding changes': {changes.featureCount()} features, comparison_roads.csv has {len(rows)} rows")
    drawn = symbols(changes, "id")
    by_change = {}
    for f in changes.getFeatures():
        by_change.setdefault(f["change"], set()).add(drawn[f["id"]])
    if any(None in s for s in by_change.values()):
        problems.append("'Roads whose funding changes': some segments are not drawn")
    for a in by_change:
        for b in by_change:
            if a < b and by_change[a] & by_change[b]:
                problems.append(f"'Roads whose funding changes': '{a}' and '{b}' share a symbol")
    print(f"changes drawn: { {k: sorted(v) for k, v in by_change.items()} }")
    # Each run's own layer, as QGIS draws it, funds what the comparison says.
    funded_in = {}
    for label in runs:
        layer = layer_named(f"Road segments: {label}")
        if layer is None:
            problems.append(f"no layer 'Road segments: {label}'")
            continue
        sym = symbols(layer, "id")
        funded_syms = {sym[f["id"]] for f in layer.getFeatures() if f["in_portfolio"]}
        other_syms = {sym[f["id"]] for f in layer.getFeatures() if not f["in_portfolio"]}
        if funded_syms & other_syms:
            problems.append(f"'Road segments: {label}': funded and other roads share a symbol")
        funded_in[label] = {i for i, s in sym.items() if s in funded_syms}
    want = {"enters", "leaves", "varies", "funded_in_all"}
    checked = 0
    for f in changes.getFeatures():
        ins = [f["id"] in funded_in.get(label, set()) for label in runs]
        c = f["change"]
        if c not in want:
            problems.append(f"segment {f['id']}: change {c!r} is not one of {sorted(want)}")
            continue
        expect = {"funded_in_all": all(ins),
                  "enters": not ins[0] and all(ins[1:]),
                  "leaves": ins[0] and not any(ins[1:]),
                  "varies": any(ins) and not all(ins)}[c]
        if not expect:
            problems.append(f"segment {f['id']}: the comparison says '{c}', the runs' maps draw it funded in {ins}")
        checked += 1
    print(f"{checked} segments: their change agrees with how each run's map draws them")

parcels = layer_named("Parcels whose transition changes")
if os.path.exists(os.path.join(folder, "comparison_parcels.csv")):
    with open(os.path.join(folder, "comparison_parcels.csv"), newline="") as fh:
        n = sum(1 for _ in csv.DictReader(fh))
    if parcels is None:
        problems.append("parcels change between the runs but the project has no 'Parcels whose transition changes'")
    elif parcels.featureCount() != n:
        problems.append(f"'Parcels whose transition changes': {parcels.featureCount()} features, the CSV has {n}")
    elif None in symbols(parcels, "id").values():
        problems.append("'Parcels whose transition changes': some parcels are not drawn")

# The saved view holds every change, and the render shows them.
settings = QgsMapSettings()
settings.setLayers([n.layer() for n in nodes if n.isVisible() and n.layer() is not None])
settings.setDestinationCrs(project.crs())
extent = project.viewSettings().defaultViewExtent()
settings.setExtent(extent)
settings.setOutputSize(QSize(1000, 800))
settings.setBackgroundColor(QColor(255, 255, 255))
if changes is not None:
    xf = QgsCoordinateTransform(changes.crs(), project.crs(), project)
    box = xf.transformBoundingBox(changes.extent())
    if not extent.contains(box):
        problems.append(f"the saved view {extent.toString(0)} does not hold every changed road ({box.toString(0)})")
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
img = job.renderedImage()
img.save(png)
colours = {}
for y in range(0, img.height(), 2):
    for x in range(0, img.width(), 2):
        c = QColor(img.pixel(x, y)).name()
        colours[c] = colours.get(c, 0) + 1
if changes is not None:
    for change, colour in [("enters", "#008c3c"), ("leaves", "#d7191c")]:
        n = sum(1 for f in changes.getFeatures() if f["change"] == change)
        if n and colours.get(colour, 0) == 0:
            problems.append(f"{n} segments '{change}', but the rendered map has no pixel of {colour}")
        print(f"rendered: {n} segments '{change}', {colours.get(colour, 0)} sampled pixels of {colour}")
print(f"rendered the saved view to {png}")
app.exitQgis()
if problems:
    print("\n".join(["PROBLEMS:"] + problems), file=sys.stderr)
    sys.exit(1)
print(f"{project_path}: {len(nodes)} layers valid and styled; the map agrees with the comparison")
