"""Registers the provider when Processing starts (in QGIS Desktop and in
qgis_process) and removes it when the plugin is unloaded."""
from qgis.core import QgsApplication

from .provider import GreenhaloProvider


class GreenhaloPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        self.provider = GreenhaloProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
