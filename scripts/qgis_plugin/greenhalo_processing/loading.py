"""Load a finished run into the current project as greenhalo's own project
(greenhalo.qgs) lays it out: a group for the run, inside it the same
groups (Decisions, Context, Rasters) and layers in the same order, each
styled by the .qml greenhalo wrote beside it, drawn or not as there."""
import os
import xml.etree.ElementTree as ET

from qgis.core import QgsCoordinateReferenceSystem, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer


def _style_path(source_path):
    return os.path.splitext(source_path)[0] + ".qml"


def load_run(project, run_dir, title, feedback, qgs_name="greenhalo.qgs"):
    """Adds the run's layers to `project` under a group named `title`;
    returns how many were loaded. A run without the project file (e.g. the
    roads subcommand) loads its road segments alone."""
    qgs = os.path.join(run_dir, qgs_name)
    entries = []
    crs = None
    if os.path.isfile(qgs):
        root = ET.parse(qgs).getroot()
        crs = root.findtext("projectCrs/spatialrefsys/authid")
        for group in root.iter("layer-tree-group"):
            gname = group.get("name")
            if not gname:
                continue
            for node in group.findall("layer-tree-layer"):
                entries.append((gname, node.get("name"), node.get("source"),
                                node.get("providerKey"), node.get("checked") == "Qt::Checked"))
    elif os.path.isfile(os.path.join(run_dir, "roads.geojson")):
        entries.append(("Decisions", "Road segments", "./roads.geojson", "ogr", True))
    if not entries:
        feedback.reportError(f"{run_dir}: no greenhalo outputs to load", False)
        return 0
    was_empty = not project.mapLayers()
    tree = project.layerTreeRoot()
    top = tree.insertGroup(0, title)
    groups = {}
    loaded = 0
    for gname, name, source, provider, visible in entries:
        path = os.path.normpath(os.path.join(run_dir, source))
        if provider == "gdal":
            layer = QgsRasterLayer(path, name, "gdal")
        else:
            layer = QgsVectorLayer(path, name, "ogr")
        if not layer.isValid():
            feedback.reportError(f"{path}: QGIS cannot open it; left out", False)
            continue
        style = _style_path(path)
        if os.path.isfile(style):
            msg, ok = layer.loadNamedStyle(style)
            if not ok:
                feedback.pushWarning(f"{style}: style not applied ({msg})")
        project.addMapLayer(layer, False)
        group = groups.get(gname)
        if group is None:
            group = top.addGroup(gname)
            groups[gname] = group
        node = group.addLayer(layer)
        node.setItemVisibilityChecked(visible)
        node.setExpanded(False)
        loaded += 1
    # An empty project takes the run's CRS (the analysis grid's), as
    # greenhalo.qgs does, once its layers are in (QGIS gives a new project
    # the CRS of the first layer added); a project with layers keeps its own.
    # (QGIS Desktop applies its first-layer rule once control returns to
    # its event loop: set again then)
    if crs and was_empty:
        target = QgsCoordinateReferenceSystem(crs)
        project.setCrs(target)
        QTimer.singleShot(0, lambda: project.setCrs(target))
    feedback.pushInfo(f"loaded {loaded} layer(s) of {run_dir} into the group '{title}'")
    return loaded
