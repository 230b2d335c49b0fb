"""The greenhalo algorithms of the Processing toolbox. Each runs the
greenhalo executable (runner.run) with the arguments its form gives, so
what it computes is what the command line computes."""
import json
import os

from qgis.core import (QgsProcessing, QgsProcessingAlgorithm, QgsProcessingException,
                       QgsProcessingOutputFile,
                       QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterCrs, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterVectorLayer,
                       QgsProcessingUtils)

from . import landscape, loading, runner

ZONAL_STATS = ["mean", "sum", "count", "min", "max", "majority", "minority", "variety", "median",
               "stdev", "coefficient_of_variation", "frac", "weighted_mean", "weighted_sum", "weighted_frac"]
# (the command line's default set, first)
ZONAL_DEFAULT = 6


class _Base(QgsProcessingAlgorithm):
    """What every greenhalo algorithm shares: its group and help."""

    HELP = ""

    def group(self):
        return "Landscape planning" if self.groupId() == "plan" else "Raster and vector tools"

    def groupId(self):  # noqa: N802
        return "plan"

    def shortHelpString(self):  # noqa: N802
        return self.HELP

    def createInstance(self):  # noqa: N802
        return type(self)()


def _vector_path(alg, parameters, name, context, feedback, folder):
    """A picked vector layer as a file greenhalo's tools read whole (their
    first layer): the layer's own file, or the layer exported alone when it
    is one of several in a file, or not in a file."""
    layer = alg.parameterAsVectorLayer(parameters, name, context)
    if layer is None:
        raise QgsProcessingException(f"{name}: no layer")
    path, inner = landscape._vector_source(layer, name.lower(), folder, context, feedback)
    if inner is None or os.path.dirname(path) == folder:
        return path
    return landscape._export(layer, name.lower(), folder, context, feedback)


class PlanLandscape(_Base):
    HELP = ("Runs the whole plan (greenhalo run): road segments worth improving and the budgeted "
            "portfolio, farmland transitions, conservation funding and the 20-year finance. Give a "
            "landscape.toml, or pick the layers, their fields and the main settings: the form is "
            "written as OUTPUT.landscape.toml beside the output folder, so the run can be repeated "
            "from the command line. Progress is greenhalo's own; its warnings go to the log. The "
            "outputs load into the project styled, in a group as greenhalo.qgs lays them out. "
            "Cancelling stops greenhalo, which removes its partial output.")
    COMMAND = "run"

    def name(self):
        return "plan"

    def displayName(self):  # noqa: N802
        return "Plan a landscape"

    def initAlgorithm(self, config=None):  # noqa: N802
        landscape.add_parameters(self)
        self.addParameter(QgsProcessingParameterBoolean(
            "FORCE", "Replace an existing output folder greenhalo did not write", defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(
            "LOAD", "Load the outputs into the project, styled", defaultValue=True))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Output folder"))
        self.addOutput(QgsProcessingOutputFile("LANDSCAPE_FILE", "Landscape file run"))
        self.addOutput(QgsProcessingOutputFile("SUMMARY", "summary.json"))
        self.addOutput(QgsProcessingOutputFile("REPORT", "report.html"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        out = self.parameterAsString(parameters, "OUTPUT", context)
        given = bool(self.parameterAsFile(parameters, "LANDSCAPE", context))
        toml = landscape.landscape_file(self, parameters, context, feedback, out)
        args = [self.COMMAND, toml, "-o", out] + landscape.settings(self, parameters, context, given)
        if self.parameterAsBool(parameters, "FORCE", context):
            args.append("--force")
        runner.run(args, feedback)
        self._load = (out, self.parameterAsBool(parameters, "LOAD", context), toml)
        summary = os.path.join(out, "summary.json")
        result = {"OUTPUT": out, "LANDSCAPE_FILE": toml,
                  "SUMMARY": summary if os.path.isfile(summary) else None,
                  "REPORT": os.path.join(out, "report.html") if os.path.isfile(os.path.join(out, "report.html")) else None}
        if os.path.isfile(summary):
            with open(summary, encoding="utf-8") as fh:
                s = json.load(fh)
            feedback.pushInfo(f"{s.get('landscape', '')}: see {result['REPORT'] or out}")
        return result

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        out, load, toml = getattr(self, "_load", (None, False, None))
        project = context.project()
        if out and load and project is not None:
            title = f"greenhalo: {os.path.basename(out.rstrip('/'))}"
            loading.load_run(project, out, title, feedback)
        return {}


class AppraiseRoads(PlanLandscape):
    HELP = ("Scores and ranks every road segment and chooses the budgeted portfolio (greenhalo "
            "roads), running only the stages roads need (accessibility, deforestation risk, the "
            "halo). The same form as Plan a landscape; the road segments load styled.")
    COMMAND = "roads"

    def name(self):
        return "roads"

    def displayName(self):  # noqa: N802
        return "Appraise roads"


class ValidateLandscape(_Base):
    HELP = ("Checks every layer of a landscape (greenhalo validate) and lists every problem in "
            "the log, naming the file, layer, field or feature; nothing is written. ERRORS counts "
            "what stops a run, WARNINGS what deserves a look.")

    def name(self):
        return "validate"

    def displayName(self):  # noqa: N802
        return "Validate a landscape"

    def initAlgorithm(self, config=None):  # noqa: N802
        landscape.add_parameters(self)
        self.addParameter(QgsProcessingParameterFolderDestination(
            "OUTPUT", "Folder the form's landscape file is written beside (when no file is given)",
            optional=True))
        self.addOutput(QgsProcessingOutputNumber("ERRORS", "Errors"))
        self.addOutput(QgsProcessingOutputNumber("WARNINGS", "Warnings"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        out = self.parameterAsString(parameters, "OUTPUT", context) or \
            os.path.join(QgsProcessingUtils.tempFolder(), "greenhalo_validate")
        given = bool(self.parameterAsFile(parameters, "LANDSCAPE", context))
        toml = landscape.landscape_file(self, parameters, context, feedback, out)
        code, lines = runner.run(["validate", toml] + landscape.settings(self, parameters, context, given),
                                 feedback, ok_codes=(0, 2))
        errors = warnings = 0
        for line in lines:
            if line.startswith("error"):
                errors += 1
            elif line.startswith("warning"):
                warnings += 1
        feedback.pushInfo(f"{toml}: {errors} error(s), {warnings} warning(s)")
        return {"ERRORS": errors, "WARNINGS": warnings}


# The output cell types of cost distance, as greenhalo's --type names them.
CELL_TYPES = ["Float32", "Float64"]


class CostDistance(_Base):
    HELP = ("Accumulated cost from the nearest source over a cost raster (greenhalo "
            "cost-distance): 8-connected moves, a step costs the mean of the two cells' costs "
            "times its length (scikit-image's MCP_Geometric, GRASS r.cost without knight's moves). "
            "Nodata, NaN and negative cells are impassable. Sources: points, lines or polygons, "
            "reprojected to the raster's CRS. Costs are summed in 64-bit floats; the output is "
            "Float32 (about 7 significant digits) or Float64 (every digit, twice the size).")

    def groupId(self):  # noqa: N802
        return "tools"

    def name(self):
        return "costdistance"

    def displayName(self):  # noqa: N802
        return "Cost distance"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("COST", "Cost raster (cost per unit distance)"))
        self.addParameter(QgsProcessingParameterVectorLayer(
            "SOURCES", "Sources", [QgsProcessing.TypeVectorAnyGeometry]))
        self.addParameter(QgsProcessingParameterCrs(
            "ASSUME_CRS", "CRS of a cost raster that declares none", optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            "TYPE", "Output cell type", options=CELL_TYPES, defaultValue=0))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Accumulated cost"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        cost = self.parameterAsRasterLayer(parameters, "COST", context)
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        if not out.lower().endswith((".tif", ".tiff")):
            raise QgsProcessingException(f"{out}: greenhalo writes a GeoTIFF; name the output .tif")
        folder = os.path.join(QgsProcessingUtils.tempFolder(), "greenhalo_sources")
        sources = _vector_path(self, parameters, "SOURCES", context, feedback, folder)
        args = ["cost-distance", "--cost", cost.source(), "--sources", sources, "-o", out]
        crs = self.parameterAsCrs(parameters, "ASSUME_CRS", context)
        if crs.isValid():
            args += ["--assume-crs", crs.authid() or crs.toWkt()]
        args += ["--type", CELL_TYPES[self.parameterAsEnum(parameters, "TYPE", context)]]
        runner.run(args, feedback)
        return {"OUTPUT": out}


class ZonalStatistics(_Base):
    HELP = ("Exact zonal statistics (greenhalo zonal-stats): every cell weighted by the fraction of "
            "it each polygon covers, with exactextract's definitions (count is the sum of the "
            "coverage fractions of cells with data). Writes a CSV, or a GeoJSON of the polygons "
            "with their statistics.")

    def groupId(self):  # noqa: N802
        return "tools"

    def name(self):
        return "zonalstatistics"

    def displayName(self):  # noqa: N802
        return "Zonal statistics (exact)"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterVectorLayer(
            "POLYGONS", "Polygons", [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterRasterLayer("RASTER", "Raster"))
        self.addParameter(QgsProcessingParameterEnum(
            "STATS", "Statistics", options=ZONAL_STATS, allowMultiple=True,
            defaultValue=list(range(ZONAL_DEFAULT))))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "WEIGHTS", "Weighting raster, on the raster's grid (for the weighted statistics)", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "DEFAULT_WEIGHT", "Weight where the weighting raster has no data (empty: such a cell is an error)",
            type=QgsProcessingParameterNumber.Double, optional=True))
        self.addParameter(QgsProcessingParameterCrs(
            "ASSUME_CRS", "CRS of a raster that declares none", optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", "Statistics", fileFilter="CSV (*.csv);;GeoJSON (*.geojson)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        raster = self.parameterAsRasterLayer(parameters, "RASTER", context)
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        if not out.lower().endswith((".csv", ".geojson")):
            raise QgsProcessingException(f"{out}: greenhalo writes .csv or .geojson")
        stats = [ZONAL_STATS[i] for i in self.parameterAsEnums(parameters, "STATS", context)]
        if not stats:
            raise QgsProcessingException("pick at least one statistic")
        folder = os.path.join(QgsProcessingUtils.tempFolder(), "greenhalo_polygons")
        polygons = _vector_path(self, parameters, "POLYGONS", context, feedback, folder)
        args = ["zonal-stats", "--polygons", polygons, "--raster", raster.source(),
                "--stats", ",".join(stats), "-o", out]
        weights = self.parameterAsRasterLayer(parameters, "WEIGHTS", context)
        if weights is not None:
            args += ["--weights", weights.source()]
            if parameters.get("DEFAULT_WEIGHT") not in (None, ""):
                args += ["--default-weight", repr(self.parameterAsDouble(parameters, "DEFAULT_WEIGHT", context))]
        crs = self.parameterAsCrs(parameters, "ASSUME_CRS", context)
        if crs.isValid():
            args += ["--assume-crs", crs.authid() or crs.toWkt()]
        runner.run(args, feedback)
        return {"OUTPUT": out}


class Batch(_Base):
    HELP = ("Runs every landscape file found in a folder (greenhalo batch), side by side within the "
            "memory budget, one output folder each, and writes batch_summary.csv; a landscape that "
            "fails never stops the others (it is listed with its error). Landscapes whose outputs "
            "are up to date are skipped unless forced.")

    def name(self):
        return "batch"

    def displayName(self):  # noqa: N802
        return "Batch"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            "LANDSCAPES", "Folder of landscape files", behavior=QgsProcessingParameterFile.Folder))
        self.addParameter(QgsProcessingParameterNumber(
            "JOBS", "Landscapes at once (0: as many as the cores and memory allow)",
            type=QgsProcessingParameterNumber.Integer, minValue=0, defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(
            "FORCE", "Re-run landscapes whose outputs are up to date", defaultValue=False))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Output folder"))
        self.addOutput(QgsProcessingOutputFile("TABLE", "batch_summary.csv"))
        self.addOutput(QgsProcessingOutputNumber("FAILED", "Landscapes that failed"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        folder = self.parameterAsFile(parameters, "LANDSCAPES", context)
        out = self.parameterAsString(parameters, "OUTPUT", context)
        args = ["batch", folder, "-o", out, "--jobs", self.parameterAsInt(parameters, "JOBS", context)]
        if self.parameterAsBool(parameters, "FORCE", context):
            args.append("--force")
        code, _ = runner.run(args, feedback, ok_codes=(0, 3))
        table = os.path.join(out, "batch_summary.json")
        failed = 0
        if os.path.isfile(table):
            with open(table, encoding="utf-8") as fh:
                failed = json.load(fh).get("failed", 0)
        if failed:
            feedback.reportError(f"{failed} landscape(s) failed: see batch_summary.csv", False)
        return {"OUTPUT": out, "TABLE": os.path.join(out, "batch_summary.csv"), "FAILED": failed}


ALGORITHMS = [PlanLandscape, AppraiseRoads, ValidateLandscape, CostDistance, ZonalStatistics, Batch]
