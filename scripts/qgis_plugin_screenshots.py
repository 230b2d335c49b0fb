"""Run inside QGIS Desktop (qgis --code THIS_FILE, under Xvfb; see
scripts/qgis-plugin-screenshots.sh): opens the "Plan a landscape" dialog
with data/sample's layers picked, saves a screenshot of it, runs the
algorithm as the dialog's Run button does (outputs loaded into the project
by the plugin), saves a screenshot of QGIS's window with the result, and
quits. Paths come from the environment: GREENHALO_SHOTS (output folder)
and GREENHALO_SAMPLE (data/sample)."""
import os
import traceback

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

import processing

shots = os.environ["GREENHALO_SHOTS"]
s = os.environ["GREENHALO_SAMPLE"]
log = open(os.path.join(shots, "screenshots.log"), "w")
params = {
    "NAME": "Alto Mayo sample (picked in QGIS)", "SEED": 7, "RESOLUTION": 100,
    "AOI": f"{s}/aoi.geojson", "ROADS": f"{s}/roads.gpkg|layername=red_vial",
    "ROAD_CLASS_FIELD": "clase", "ROAD_SURFACE_FIELD": "superficie", "ROAD_AADT_FIELD": "imd",
    "ROAD_CLASS_VALUES": "nacional=primary, departamental=secondary, vecinal=tertiary, trocha=track",
    "MARKETS": f"{s}/markets.shp", "MARKET_NAME_FIELD": "name", "MARKET_WEIGHT_FIELD": "population",
    "PARCELS": f"{s}/parcels.geojson", "PARCEL_ID_FIELD": "parcela_id", "PARCEL_USE_FIELD": "uso",
    "PARCEL_USE_VALUES": "pasto=pasture, pasto_degradado=degraded_pasture, cultivo_anual=annual_crops, cafe=coffee, cacao=cocoa",
    "CONSERVATION": f"{s}/conservation.fgb", "CONSERVATION_NAME_FIELD": "nombre",
    "CONSERVATION_CATEGORY_FIELD": "categoria", "FOREST": f"{s}/forest.tif",
    "ELEVATION": f"{s}/dem.tif", "FOREST_LOSS": f"{s}/forest_loss.tif",
    "POPULATION": f"{s}/population.tif", "LANDCOVER": f"{s}/landcover.tif",
    "OUTPUT": os.path.join(shots, "plan"),
}
state = {}


def say(msg):
    log.write(msg + "\n")
    log.flush()


def open_dialog():
    try:
        iface.mainWindow().showMaximized()
        dlg = processing.createAlgorithmDialog("greenhalo:plan", params)
        dlg.resize(900, 1000)
        dlg.show()
        state["dlg"] = dlg
        QTimer.singleShot(2500, shoot_dialog)
    except Exception:
        say(traceback.format_exc())
        QgsApplication.exit(1)


def shoot_dialog():
    try:
        state["dlg"].grab().save(os.path.join(shots, "qgis_plugin_dialog.png"))
        say("dialog: saved")
        state["dlg"].close()
        result = processing.run("greenhalo:plan", params)
        say(f"run: {sorted(result)}; project CRS {QgsProject.instance().crs().authid()}")
        root = QgsProject.instance().layerTreeRoot()
        say("tree: " + "; ".join(f"{g.name()}: " + ", ".join(l.name() for l in g.findLayers())
                                  for g in root.children()))
        canvas = iface.mapCanvas()
        layers = [n.layer() for n in root.findLayers() if n.layer() and n.layer().name() == "Road segments"]
        if layers:
            canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(layers[0], layers[0].extent()))
        canvas.refreshAllLayers()
        QTimer.singleShot(6000, shoot_result)
    except Exception:
        say(traceback.format_exc())
        QgsApplication.exit(1)


def shoot_result():
    try:
        iface.mainWindow().grab().save(os.path.join(shots, "qgis_plugin_result.png"))
        say("result: saved")
    except Exception:
        say(traceback.format_exc())
    finally:
        log.close()
        QgsApplication.exit(0)


QTimer.singleShot(4000, open_dialog)
