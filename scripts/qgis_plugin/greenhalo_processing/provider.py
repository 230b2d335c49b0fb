"""The greenhalo provider: its algorithms, and where the greenhalo
executable is (Processing > Options > Providers > greenhalo; otherwise the
GREENHALO_BINARY environment variable, otherwise `greenhalo` on PATH)."""
import os
import shutil

from qgis.core import QgsProcessingException, QgsProcessingProvider

SETTING = "GREENHALO_BINARY"


def _config():
    """Processing's settings store (absent outside QGIS's Processing
    plugin, e.g. a bare PyQGIS script)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig, Setting
        return ProcessingConfig, Setting
    except ImportError:
        return None, None


def binary():
    """The greenhalo executable to run, or an error that says where it was
    looked for."""
    config, _ = _config()
    looked = []
    if config is not None:
        path = config.getSetting(SETTING)
        if path:
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
            looked.append(f"Processing option '{SETTING}' = {path} (not an executable file)")
    env = os.environ.get(SETTING)
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        looked.append(f"environment variable {SETTING} = {env} (not an executable file)")
    found = shutil.which("greenhalo")
    if found:
        return found
    looked.append("'greenhalo' on PATH (not found)")
    raise QgsProcessingException(
        "the greenhalo executable was not found: looked at " + "; ".join(looked)
        + ". Build it (scripts/demo.sh) and set its path in Processing > Options > Providers > greenhalo")


class GreenhaloProvider(QgsProcessingProvider):
    def id(self):
        return "greenhalo"

    def name(self):
        return "greenhalo"

    def longName(self):  # noqa: N802
        return "greenhalo: Green Halo landscape planning"

    def load(self):
        config, setting = _config()
        if config is not None:
            config.settingIcons[self.name()] = self.icon()
            config.addSetting(setting(self.name(), SETTING, "greenhalo executable", "",
                                      valuetype=setting.FILE))
            config.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        config, _ = _config()
        if config is not None:
            config.removeSetting(SETTING)

    def loadAlgorithms(self):  # noqa: N802
        from .algorithms import ALGORITHMS
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())
