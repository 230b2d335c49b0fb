"""The landscape form shared by "Plan a landscape", "Appraise roads" and
"Validate a landscape": an existing landscape.toml, or the layers, fields
and main settings picked in the form, written as a landscape.toml (the
same file an analyst writes by hand; README "The landscape file")."""
import json
import os

from qgis.core import (QgsProcessing, QgsProcessingException,
                       QgsProcessingParameterField, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsProcessingParameterVectorLayer,
                       QgsProviderRegistry, QgsVectorFileWriter)

# (key in [layers], form label, geometry, required)
VECTORS = [
    ("aoi", "Area of interest (polygons)", QgsProcessing.TypeVectorPolygon, True),
    ("roads", "Road network (lines)", QgsProcessing.TypeVectorLine, True),
    ("markets", "Markets (points)", QgsProcessing.TypeVectorPoint, True),
    ("parcels", "Farmland parcels (polygons; none: a grid of planning units)", QgsProcessing.TypeVectorPolygon, False),
    ("conservation", "Conservation areas (polygons)", QgsProcessing.TypeVectorPolygon, True),
]
RASTERS = [
    ("forest", "Forest cover (1 forest, 0 not)", True),
    ("elevation", "Elevation (DEM, m)", True),
    ("forest_loss", "Forest loss (year of loss or 1/0)", False),
    ("population", "Population (people per cell)", False),
    ("landcover", "Land cover", False),
]
# (parameter, [section] and key, parent layer, label, required)
FIELDS = [
    ("ROAD_CLASS_FIELD", ("roads", "class_field"), "roads", "Road class field", True),
    ("ROAD_SURFACE_FIELD", ("roads", "surface_field"), "roads", "Road surface field", False),
    ("ROAD_AADT_FIELD", ("roads", "aadt_field"), "roads", "Road traffic count field (AADT)", False),
    ("MARKET_NAME_FIELD", ("markets", "name_field"), "markets", "Market name field", False),
    ("MARKET_WEIGHT_FIELD", ("markets", "weight_field"), "markets", "Market weight field (e.g. population)", False),
    ("PARCEL_ID_FIELD", ("parcels", "id_field"), "parcels", "Parcel id field", False),
    ("PARCEL_USE_FIELD", ("parcels", "use_field"), "parcels", "Parcel land-use field", False),
    ("CONSERVATION_NAME_FIELD", ("conservation", "name_field"), "conservation", "Conservation area name field", False),
    ("CONSERVATION_CATEGORY_FIELD", ("conservation", "category_field"), "conservation", "Conservation area category field", False),
]
# (parameter, [section] and value map key, label, example)
VALUE_MAPS = [
    ("ROAD_CLASS_VALUES", ("roads", "class_values"), "Road classes: the field's values as primary, secondary, tertiary or track",
     "nacional=primary, departamental=secondary, vecinal=tertiary, trocha=track"),
    ("PARCEL_USE_VALUES", ("parcels", "use_values"), "Parcel uses: the field's values as pasture, degraded_pasture, annual_crops, coffee or cocoa",
     "pasto=pasture, cafe=coffee, cacao=cocoa"),
]
# (parameter, setting key, label, integer?, minimum)
SETTINGS = [
    ("RESOLUTION", "grid.resolution_m", "Analysis grid resolution (m)", False, 1.0),
    ("ROAD_BUDGET", "road_upgrades.road_budget_usd", "Road budget (US$)", False, 0.0),
    ("PARCEL_BUDGET", "transitions.parcel_budget_usd", "Farmland transition budget (US$)", False, 0.0),
    ("CARBON_PRICE", "economics.carbon_price_usd_per_tco2", "Carbon price (US$/tCO2)", False, 0.0),
    ("DISCOUNT_RATE", "economics.discount_rate", "Discount rate (e.g. 0.1)", False, 0.0),
    ("SEED", "seed", "Random seed (Monte Carlo and synthetic draws)", True, 0),
]


def add_parameters(alg, with_settings=True):
    """The form: a landscape file, or the layers with their fields, value
    maps and main settings. Left empty, a setting keeps greenhalo's default
    (README "Settings")."""
    alg.addParameter(QgsProcessingParameterFile(
        "LANDSCAPE", "Landscape file (landscape.toml); leave empty to use the layers below",
        extension="toml", optional=True))
    alg.addParameter(QgsProcessingParameterString("NAME", "Landscape name", defaultValue="landscape",
                                                  optional=True))
    need = " (needed without a landscape file)"
    for key, label, geom, required in VECTORS:
        alg.addParameter(QgsProcessingParameterVectorLayer(
            key.upper(), label + (need if required else ""), [geom], optional=True))
    for param, _, parent, label, required in FIELDS:
        alg.addParameter(QgsProcessingParameterField(
            param, label + (need if required else ""), parentLayerParameterName=parent.upper(),
            optional=True))
    for param, _, label, example in VALUE_MAPS:
        p = QgsProcessingParameterString(param, f"{label} (e.g. {example})", optional=True)
        alg.addParameter(p)
    for key, label, required in RASTERS:
        alg.addParameter(QgsProcessingParameterRasterLayer(
            key.upper(), label + (need if required else ""), optional=True))
    if with_settings:
        for param, _, label, integer, minimum in SETTINGS:
            kind = QgsProcessingParameterNumber.Integer if integer else QgsProcessingParameterNumber.Double
            alg.addParameter(QgsProcessingParameterNumber(
                param, label + " (empty: greenhalo's default)", type=kind, minValue=minimum,
                optional=True, defaultValue=None))


def _toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    # (a TOML basic string takes JSON's escapes)
    return json.dumps(str(v), ensure_ascii=False)


def _vector_source(layer, key, folder, context, feedback):
    """A picked vector layer as greenhalo reads it: its file (and layer
    inside it), or, for a layer not in a file GDAL opens (memory,
    database, a web service), a GeoPackage exported beside the landscape
    file."""
    if layer.providerType() == "ogr":
        parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
        path = parts.get("path", "")
        if path and os.path.isfile(path) and not parts.get("subset"):
            return os.path.abspath(path), parts.get("layerName") or None
    return _export(layer, key, folder, context, feedback), key


def _export(layer, key, folder, context, feedback):
    """The layer written alone to FOLDER/KEY.gpkg (its layer named KEY)."""
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, f"{key}.gpkg")
    feedback.pushInfo(f"{layer.name()}: exported to {out} for greenhalo (not a file of its own)")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = key
    err = QgsVectorFileWriter.writeAsVectorFormatV3(layer, out, context.transformContext(), options)
    if err[0] != QgsVectorFileWriter.NoError:
        raise QgsProcessingException(f"{layer.name()}: cannot export it to {out}: {err[1]}")
    return out


def _value_map(text, param):
    pairs = {}
    for item in [x.strip() for x in text.replace(";", ",").split(",") if x.strip()]:
        if "=" not in item:
            raise QgsProcessingException(f"{param}: '{item}' is not value=class (e.g. nacional=primary)")
        k, v = item.split("=", 1)
        pairs[k.strip()] = v.strip()
    return pairs


def settings(alg, parameters, context, given_file):
    """The main settings the form sets, as `--set KEY=VALUE` arguments (the
    seed of a landscape written from the form is in the file itself)."""
    args = []
    for param, key, _, integer, _ in SETTINGS:
        if parameters.get(param) is None or (param == "SEED" and not given_file):
            continue
        v = alg.parameterAsInt(parameters, param, context) if integer else \
            alg.parameterAsDouble(parameters, param, context)
        args += ["--set", f"{key}={v!r}"]
    return args


def landscape_file(alg, parameters, context, feedback, out_dir):
    """The landscape file to run: the one given, or one written from the
    form beside the output folder (OUT.landscape.toml), so the run can be
    repeated from the command line."""
    given = alg.parameterAsFile(parameters, "LANDSCAPE", context)
    if given:
        return given
    layers = {}
    missing = []
    for key, label, _, required in VECTORS:
        layer = alg.parameterAsVectorLayer(parameters, key.upper(), context)
        if layer is None:
            if required:
                missing.append(label)
            continue
        layers[key] = layer
    rasters = {}
    for key, label, required in RASTERS:
        layer = alg.parameterAsRasterLayer(parameters, key.upper(), context)
        if layer is None:
            if required:
                missing.append(label)
            continue
        rasters[key] = layer
    if missing:
        raise QgsProcessingException(
            "give a landscape file, or these layers: " + "; ".join(missing))
    base = os.path.abspath(out_dir.rstrip("/\\"))
    toml_path = base + ".landscape.toml"
    export_dir = base + ".layers"
    name = alg.parameterAsString(parameters, "NAME", context) or "landscape"
    lines = ["# Written by the greenhalo QGIS plugin from the layers picked in its form;",
             "# run it again with: greenhalo run " + os.path.basename(toml_path) + " -o " + os.path.basename(base),
             "", f"name = {_toml(name)}", "", "[layers]"]
    for key, layer in layers.items():
        path, inner = _vector_source(layer, key, export_dir, context, feedback)
        if inner:
            lines.append(f"{key} = {{ path = {_toml(path)}, layer = {_toml(inner)} }}")
        else:
            lines.append(f"{key} = {_toml(path)}")
    for key, layer in rasters.items():
        src = os.path.abspath(layer.source())
        if not os.path.isfile(src):
            raise QgsProcessingException(
                f"{layer.name()}: greenhalo reads rasters from files GDAL opens; {src} is not one")
        lines.append(f"{key} = {_toml(src)}")
    sections = {}
    for param, (section, k), parent, label, required in FIELDS:
        if parent not in layers:
            continue
        value = alg.parameterAsString(parameters, param, context)
        if value:
            sections.setdefault(section, []).append(f"{k} = {_toml(value)}")
        elif required:
            raise QgsProcessingException(f"pick the {label.lower()} ({param})")
    tables = []
    for param, (section, k), _, _ in VALUE_MAPS:
        if section not in layers:
            continue
        text = alg.parameterAsString(parameters, param, context)
        if text:
            body = [f"{_toml(a)} = {_toml(b)}" for a, b in _value_map(text, param).items()]
            tables.append((f"{section}.{k}", body))
    for section, body in sections.items():
        lines += ["", f"[{section}]"] + body
    for table, body in tables:
        lines += ["", f"[{table}]"] + body
    seed = parameters.get("SEED")
    if seed is not None:
        # (the seed is a top-level key: before any table)
        lines.insert(lines.index("[layers]"), f"seed = {alg.parameterAsInt(parameters, 'SEED', context)}\n")
    with open(toml_path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    feedback.pushInfo(f"wrote {toml_path}")
    return toml_path
