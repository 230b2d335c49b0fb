"""greenhalo's Processing provider as a QGIS plugin (loaded by QGIS
Desktop and by qgis_process, which reads `hasProcessingProvider=yes`)."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    from .plugin import GreenhaloPlugin
    return GreenhaloPlugin(iface)
