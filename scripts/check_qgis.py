"""Open a greenhalo.qgs headless; fail if any layer is invalid or unstyled;
render the project to a PNG. Usage: check_qgis.py PROJECT.qgs OUT.png"""
import sys

from qgis.core import (QgsApplication, QgsMapRendererSequentialJob,
                       QgsMapSettings, QgsProject, QgsRectangle)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

project_path, png = sys.argv[1], sys.argv[2]
QgsApplication.setPrefixPath("/usr", True)
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
if not project.read(project_path):
    sys.exit(f"QGIS cannot read {project_path}")
layers = list(project.mapLayers().values())
if not layers:
    sys.exit("the project has no layers")
problems = []
expected = {
    "roads": "categorizedSymbol", "parcels": "categorizedSymbol",
    "conservation": "graduatedSymbol", "halo": "singleSymbol",
    "travel_time": "singlebandpseudocolor", "deforestation_risk": "singlebandpseudocolor",
}
for layer in layers:
    if not layer.isValid():
        problems.append(f"{layer.name()}: invalid ({layer.source()})")
        continue
    renderer = layer.renderer()
    kind = renderer.type() if renderer is not None else None
    want = expected.get(layer.id())
    if want and kind != want:
        problems.append(f"{layer.name()}: renderer {kind}, expected {want} (unstyled?)")
    count = layer.featureCount() if hasattr(layer, "featureCount") else "-"
    print(f"{layer.name():32s} valid  renderer={kind:22s} features={count} crs={layer.crs().authid()}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
settings = QgsMapSettings()
settings.setLayers(layers)
settings.setDestinationCrs(project.crs())
extent = QgsRectangle()
extent.setMinimal()
for layer in layers:
    from qgis.core import QgsCoordinateTransform
    t = QgsCoordinateTransform(layer.crs(), project.crs(), project)
    extent.combineExtentWith(t.transformBoundingBox(layer.extent()))
settings.setExtent(extent)
settings.setOutputSize(QSize(1200, 1000))
settings.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
job.renderedImage().save(png, "png")
print(f"rendered {png}")
app.exitQgis()
