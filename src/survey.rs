//! `greenhalo init --from DIR`: look at the layers in a folder (geometry
//! type, CRS, field names and values, raster codes) and write a landscape
//! file that maps what it recognises, with a comment on each guess and on
//! what is still missing. The guesses follow names analysts use in English
//! and Spanish (class/clase, use/uso, name/nombre, category/categoria/tipo,
//! SERNANP's anp_nomb/anp_cate, MTC's TRAY_DS12).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::{raster, vector};

/// One layer found in the folder.
#[derive(Debug, Clone)]
pub enum Found {
    Vector {
        file: PathBuf,
        /// "point", "line" or "polygon".
        kind: &'static str,
        features: usize,
        fields: Vec<String>,
        /// Up to 40 distinct text values of each field.
        values: BTreeMap<String, Vec<String>>,
        has_crs: bool,
    },
    Raster {
        file: PathBuf,
        has_crs: bool,
        /// Distinct whole values and their counts, when the raster is
        /// small and holds only whole numbers (up to 64 codes).
        codes: Option<Vec<(i64, usize)>>,
    },
}

impl Found {
    fn file(&self) -> &Path {
        match self {
            Found::Vector { file, .. } | Found::Raster { file, .. } => file,
        }
    }
    fn stem(&self) -> String {
        self.file()
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    }
}

const VECTOR_EXT: &[&str] = &[
    "geojson", "json", "gpkg", "shp", "fgb", "kml", "gml", "sqlite",
];
const RASTER_EXT: &[&str] = &["tif", "tiff", "vrt", "img", "asc", "nc", "jp2"];

/// Every layer GDAL reads in `dir` (not its sub-folders), in name order.
pub fn survey(dir: &Path) -> Result<Vec<Found>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let ext = f
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if VECTOR_EXT.contains(&ext.as_str()) {
            let Ok(l) = vector::read(&f, None, &BTreeMap::new(), None) else {
                continue;
            };
            let gt = l.geometry_type.to_lowercase();
            let first = l.features.iter().find_map(|f| f.geom.as_ref());
            let kind = if gt.contains("point") {
                "point"
            } else if gt.contains("line") {
                "line"
            } else if gt.contains("polygon") {
                "polygon"
            } else {
                match first {
                    Some(geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_)) => "point",
                    Some(geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_)) => {
                        "line"
                    }
                    Some(geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)) => "polygon",
                    _ => continue,
                }
            };
            let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for feat in &l.features {
                for (k, v) in &feat.attrs {
                    if let vector::Attr::Str(s) = v {
                        let e = values.entry(k.clone()).or_default();
                        if e.len() < 40 && !e.contains(s) {
                            e.push(s.clone());
                        }
                    }
                }
            }
            for v in values.values_mut() {
                v.sort();
            }
            out.push(Found::Vector {
                file: f,
                kind,
                features: l.features.len(),
                fields: l.fields.clone(),
                values,
                has_crs: l.has_crs,
            });
        } else if RASTER_EXT.contains(&ext.as_str()) {
            let Ok(info) = raster::info(&f) else {
                continue;
            };
            let codes = (info.width * info.height <= 16_000_000)
                .then(|| raster::read_native(&f, 1).ok())
                .flatten()
                .and_then(|(_, v, nodata)| {
                    let mut c: BTreeMap<i64, usize> = BTreeMap::new();
                    for x in v {
                        if x.is_nan() || nodata == Some(x) {
                            continue;
                        }
                        if x.fract() != 0.0 {
                            return None;
                        }
                        *c.entry(x as i64).or_insert(0) += 1;
                        if c.len() > 64 {
                            return None;
                        }
                    }
                    Some(c.into_iter().collect())
                });
            out.push(Found::Raster {
                file: f,
                has_crs: info.has_crs,
                codes,
            });
        }
    }
    Ok(out)
}

fn has_any(s: &str, words: &[&str]) -> bool {
    words.iter().any(|w| s.contains(w))
}

/// The first field whose lower-case name is one of `names`, else one that
/// contains one of them.
fn field_like(fields: &[String], names: &[&str]) -> Option<String> {
    let lower = |f: &String| f.to_lowercase();
    names
        .iter()
        .find_map(|n| fields.iter().find(|f| lower(f) == *n))
        .or_else(|| {
            names
                .iter()
                .find_map(|n| fields.iter().find(|f| lower(f).contains(n)))
        })
        .cloned()
}

/// A road class from a word (a field value or a file name).
fn class_of(word: &str) -> Option<&'static str> {
    let w = word.to_lowercase();
    if has_any(
        &w,
        &[
            "nacional", "national", "primar", "highway", "trunk", "motorway",
        ],
    ) {
        Some("primary")
    } else if has_any(&w, &["departamental", "regional", "secondar", "provincial"]) {
        Some("secondary")
    } else if has_any(&w, &["vecinal", "local", "tertiar", "rural", "municipal"]) {
        Some("tertiary")
    } else if has_any(
        &w,
        &["trocha", "track", "sendero", "camino", "path", "trail"],
    ) {
        Some("track")
    } else {
        None
    }
}

/// A current use from a field value.
fn use_of(value: &str) -> &'static str {
    let v = value.to_lowercase();
    if has_any(&v, &["degrad"]) {
        "degraded_pasture"
    } else if has_any(&v, &["pasto", "pastur", "pasture", "ganad", "graz"]) {
        "pasture"
    } else if has_any(&v, &["cafe", "café", "coffee"]) {
        "coffee"
    } else if has_any(&v, &["cacao", "cocoa"]) {
        "cocoa"
    } else if has_any(
        &v,
        &[
            "cultivo", "crop", "annual", "maiz", "maíz", "arroz", "rice", "maize",
        ],
    ) {
        "annual_crops"
    } else {
        "other"
    }
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

fn rel(dir: &Path, f: &Path) -> String {
    f.strip_prefix(dir)
        .unwrap_or(f)
        .to_string_lossy()
        .into_owned()
}

/// The landscape file for what `survey` found in `from`; layer paths are
/// written relative to `dir` (the landscape file's folder) when inside it.
pub fn landscape_toml(from: &Path, dir: &Path, found: &[Found]) -> String {
    let vectors: Vec<&Found> = found
        .iter()
        .filter(|f| matches!(f, Found::Vector { .. }))
        .collect();
    let rasters: Vec<&Found> = found
        .iter()
        .filter(|f| matches!(f, Found::Raster { .. }))
        .collect();
    let of_kind = |k: &str| -> Vec<&Found> {
        vectors
            .iter()
            .copied()
            .filter(|f| matches!(f, Found::Vector { kind, .. } if *kind == k))
            .collect()
    };
    let fields = |f: &Found| -> Vec<String> {
        match f {
            Found::Vector { fields, .. } => fields.clone(),
            _ => vec![],
        }
    };
    let count = |f: &Found| match f {
        Found::Vector { features, .. } => *features,
        _ => 0,
    };
    let mut notes: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for f in found {
        let has_crs = match f {
            Found::Vector { has_crs, .. } | Found::Raster { has_crs, .. } => *has_crs,
        };
        if !has_crs {
            missing.push(format!(
                "{} declares no CRS: assign one (ogr2ogr -a_srs / gdal_edit.py -a_srs EPSG:XXXX)",
                rel(dir, f.file())
            ));
        }
    }

    // Polygons: the AOI, conservation areas, parcels.
    let polys = of_kind("polygon");
    let use_fields = ["use", "uso", "land_use", "uso_actual", "cultivo"];
    let is_parcels = |f: &Found| {
        has_any(
            &f.stem(),
            &["parcel", "predio", "catastro", "cadastr", "farm", "chacra"],
        ) || field_like(&fields(f), &use_fields).is_some()
    };
    let is_aoi = |f: &Found| {
        has_any(
            &f.stem(),
            &[
                "aoi",
                "limite",
                "boundary",
                "area_of_interest",
                "study",
                "ambito",
            ],
        )
    };
    let is_cons = |f: &Found| {
        has_any(
            &f.stem(),
            &[
                "anp", "conserv", "protect", "reserva", "wdpa", "sernanp", "areas_",
            ],
        ) || field_like(&fields(f), &["anp_cate", "category", "categoria"]).is_some()
    };
    let aoi = polys.iter().copied().find(|f| is_aoi(f)).or_else(|| {
        polys
            .iter()
            .copied()
            .filter(|f| !is_cons(f) && !is_parcels(f))
            .min_by_key(|f| count(f))
    });
    let parcels = polys
        .iter()
        .copied()
        .find(|f| Some(*f).map(|f| f.file()) != aoi.map(|a| a.file()) && is_parcels(f));
    let cons_all: Vec<&Found> = polys
        .iter()
        .copied()
        .filter(|f| Some(f.file()) != aoi.map(|a| a.file()) && is_cons(f))
        .collect();
    // Several conservation layers: the one with the most areas.
    let cons = cons_all.iter().copied().max_by_key(|f| count(f));
    for other in cons_all
        .iter()
        .filter(|f| Some(f.file()) != cons.map(|c| c.file()))
    {
        notes.push(format!(
            "{} also looks like conservation areas ({} features); {} was taken as it has more",
            rel(dir, other.file()),
            count(other),
            cons.map(|c| rel(dir, c.file())).unwrap_or_default()
        ));
    }

    // Rasters by name.
    let raster_named = |words: &[&str], not: &[&str]| -> Option<&Found> {
        rasters
            .iter()
            .copied()
            .find(|f| has_any(&f.stem(), words) && !has_any(&f.stem(), not))
    };
    let loss = raster_named(&["loss", "perdida", "lossyear", "deforest"], &[]);
    let landcover = raster_named(
        &[
            "landcover",
            "land_cover",
            "cobertura",
            "lulc",
            "mapbiomas",
            "uso_suelo",
        ],
        &[],
    );
    let forest = raster_named(
        &["forest", "bosque", "tree", "canopy"],
        &["loss", "perdida", "deforest", "landcover", "land_cover"],
    );
    let dem = raster_named(
        &[
            "dem",
            "srtm",
            "elev",
            "altitud",
            "alos",
            "copernicus",
            "nasadem",
        ],
        &[],
    );
    let pop = raster_named(&["pop", "poblacion", "worldpop", "ghs"], &[]);
    let carbon = raster_named(&["carbon", "biomass", "agb", "carbono"], &[]);

    let mut t = String::new();
    let _ = writeln!(
        t,
        "# greenhalo landscape file written by `greenhalo init --from {}`:\n# each layer below is a guess from its name, geometry and fields; check\n# every line marked GUESS, then run `greenhalo validate landscape.toml`.\n",
        from.display()
    );
    let name = from
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "My landscape".into());
    let _ = writeln!(t, "name = {}\nseed = 42\n\n[layers]", q(&name));
    let line = |t: &mut String, key: &str, f: Option<&Found>, why: &str, what: &str| match f {
        Some(f) => {
            let _ = writeln!(t, "{key} = {}  # GUESS: {why}", q(&rel(dir, f.file())));
        }
        None => {
            let _ = writeln!(t, "# {key} = \"...\"  # MISSING: {what}");
        }
    };
    line(
        &mut t,
        "aoi",
        aoi,
        "polygons named like an area of interest, or the polygon layer with fewest features",
        "the area of interest (polygons)",
    );
    if aoi.is_none() {
        missing.push("aoi: a polygon layer of the area of interest".into());
    }
    // Roads: every line layer; the class from a field, else from the name.
    let lines = of_kind("line");
    let mut class_field: Option<String> = None;
    let mut class_values: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut road_entries = Vec::new();
    for f in &lines {
        let fl = fields(f);
        let cf = field_like(
            &fl,
            &[
                "class",
                "clase",
                "jerarquia",
                "categoria",
                "tipo_red",
                "red",
            ],
        );
        match (&cf, class_of(&f.stem())) {
            (Some(c), _) if class_field.is_none() || class_field.as_ref() == Some(c) => {
                class_field = Some(c.clone());
                if let Found::Vector { values, .. } = f {
                    for v in values.get(c).into_iter().flatten() {
                        class_values.insert(v.clone(), class_of(v).unwrap_or("tertiary"));
                    }
                }
                road_entries.push(format!("  {},  # GUESS: class from field '{c}'", q(&rel(dir, f.file()))));
            }
            (_, Some(class)) => road_entries.push(format!(
                "  {{ path = {}, set = {{ class = {} }} }},  # GUESS: no class field; '{class}' from the file name",
                q(&rel(dir, f.file())),
                q(class)
            )),
            _ => road_entries.push(format!(
                "  {{ path = {}, set = {{ class = \"tertiary\" }} }},  # GUESS: no class field and the name says none: tertiary",
                q(&rel(dir, f.file()))
            )),
        }
    }
    if road_entries.is_empty() {
        let _ = writeln!(t, "# roads = \"...\"  # MISSING: the road network (lines)");
        missing.push("roads: a line layer of the road network".into());
    } else {
        let _ = writeln!(t, "roads = [\n{}\n]", road_entries.join("\n"));
    }
    // Markets: the point layer named like towns or markets, else the first.
    let points = of_kind("point");
    let markets = points
        .iter()
        .copied()
        .find(|f| {
            has_any(
                &f.stem(),
                &[
                    "capital", "market", "mercado", "ciudad", "town", "poblad", "city", "centro",
                ],
            )
        })
        .or_else(|| points.first().copied());
    line(
        &mut t,
        "markets",
        markets,
        "points named like towns or markets",
        "market towns (points)",
    );
    if markets.is_none() {
        missing.push("markets: a point layer of market towns".into());
    }
    match parcels {
        Some(p) => line(&mut t, "parcels", Some(p), "polygons with a use field", ""),
        None => {
            let _ = writeln!(
                t,
                "# parcels: none found (no polygons with a use field): planning units\n# (hexagons of 25 ha, see [parcels.planning_units]) tile the farmland instead"
            );
        }
    }
    line(
        &mut t,
        "conservation",
        cons,
        "polygons named like protected or conservation areas",
        "protected and conservation areas (polygons)",
    );
    if cons.is_none() {
        missing.push("conservation: a polygon layer of protected areas".into());
    }
    match (forest, landcover) {
        (Some(f), _) => line(
            &mut t,
            "forest",
            Some(f),
            "a raster named like forest cover",
            "",
        ),
        (None, Some(_)) => {
            let _ = writeln!(t, "# forest: none found; the forest fraction comes from the land cover's [landcover] forest codes");
        }
        (None, None) => {
            let _ = writeln!(
                t,
                "# forest = \"...\"  # MISSING: forest cover 0-1, or a land-cover raster"
            );
            missing.push("forest: a forest-cover raster, or a land-cover raster".into());
        }
    }
    line(
        &mut t,
        "elevation",
        dem,
        "a raster named like a DEM",
        "a DEM in metres",
    );
    if dem.is_none() {
        missing.push("elevation: a DEM raster".into());
    }
    let optional = |t: &mut String, key: &str, f: Option<&Found>, why: &str| {
        if let Some(f) = f {
            let _ = writeln!(t, "{key} = {}  # GUESS: {why}", q(&rel(dir, f.file())));
        } else {
            let _ = writeln!(t, "# {key} = \"...\"  # optional, none found");
        }
    };
    optional(
        &mut t,
        "forest_loss",
        loss,
        "a raster named like forest loss",
    );
    optional(&mut t, "population", pop, "a raster named like population");
    optional(
        &mut t,
        "landcover",
        landcover,
        "a raster named like land cover",
    );
    optional(
        &mut t,
        "carbon",
        carbon,
        "a raster named like carbon or biomass",
    );

    let _ = writeln!(
        t,
        "\n[grid]\n# crs = \"EPSG:32718\"  # default: the UTM zone of the AOI's centroid\nresolution_m = 100.0  # cell size, metres; 30 for a final plan\nbuffer_km = 0.0  # the grid reaches this far beyond the AOI: raise it (e.g. 10) when markets or roads just outside matter"
    );
    // Field mappings.
    let _ = writeln!(t, "\n[roads]");
    let road_fields: Vec<String> = lines.iter().flat_map(|f| fields(f)).collect();
    let _ = writeln!(
        t,
        "class_field = {}",
        q(class_field.as_deref().unwrap_or("class"))
    );
    let opt_field =
        |t: &mut String, key: &str, fl: &[String], names: &[&str]| match field_like(fl, names) {
            Some(f) => {
                let _ = writeln!(t, "{key} = {}  # GUESS: field '{f}'", q(&f));
            }
            None => {
                let _ = writeln!(t, "# {key}: no field found");
            }
        };
    opt_field(
        &mut t,
        "name_field",
        &road_fields,
        &[
            "name",
            "nombre",
            "tray_ds12",
            "ruta",
            "route",
            "descripcion",
            "trayectoria",
        ],
    );
    opt_field(
        &mut t,
        "surface_field",
        &road_fields,
        &["surface", "superficie", "superfic", "rodadura"],
    );
    opt_field(
        &mut t,
        "aadt_field",
        &road_fields,
        &["aadt", "imd", "tpda", "traffic", "trafico"],
    );
    if !class_values.is_empty() {
        let _ = writeln!(t, "\n[roads.class_values]  # GUESS: each value's class");
        for (v, c) in &class_values {
            let _ = writeln!(t, "{} = {}", q(v), q(c));
        }
    }
    if let Some(m) = markets {
        let _ = writeln!(t, "\n[markets]");
        let fl = fields(m);
        opt_field(
            &mut t,
            "name_field",
            &fl,
            &["name", "nombre", "capital", "ciudad", "town", "nomb"],
        );
        opt_field(
            &mut t,
            "weight_field",
            &fl,
            &["population", "poblacion", "pop", "habitantes", "weight"],
        );
    }
    if let Some(p) = parcels {
        let fl = fields(p);
        let _ = writeln!(t, "\n[parcels]");
        let uf = field_like(&fl, &use_fields).unwrap_or_else(|| "use".into());
        let _ = writeln!(t, "use_field = {}  # GUESS", q(&uf));
        opt_field(
            &mut t,
            "id_field",
            &fl,
            &["id", "parcela_id", "parcel_id", "codigo", "cod_predio"],
        );
        if let Found::Vector { values, .. } = p {
            let _ = writeln!(t, "\n[parcels.use_values]  # GUESS: each value's use");
            for v in values.get(&uf).into_iter().flatten() {
                let _ = writeln!(t, "{} = {}", q(v), q(use_of(v)));
            }
        }
    } else {
        let _ = writeln!(
            t,
            "\n[parcels.planning_units]\nshape = \"hexagon\"\narea_ha = 25.0\nmin_farmland_share = 0.5\ndefault_use = \"pasture\"  # the current use where the land cover does not say"
        );
    }
    let mut categories: Vec<String> = Vec::new();
    if let Some(c) = cons {
        let fl = fields(c);
        let _ = writeln!(t, "\n[conservation]");
        opt_field(
            &mut t,
            "name_field",
            &fl,
            &["name", "nombre", "anp_nomb", "nom_anp", "nomb"],
        );
        let cf = field_like(
            &fl,
            &["category", "categoria", "anp_cate", "tipo", "cat", "desig"],
        );
        match &cf {
            Some(f) => {
                let _ = writeln!(t, "category_field = {}  # GUESS: field '{f}'", q(f));
                if let Found::Vector { values, .. } = c {
                    categories = values.get(f).cloned().unwrap_or_default();
                }
            }
            None => {
                let _ = writeln!(t, "# category_field: no field found");
            }
        }
    }
    if let Some(Found::Raster {
        codes: Some(codes), ..
    }) = landcover
    {
        let list = codes
            .iter()
            .map(|(c, n)| format!("{c} ({n} cells)"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            t,
            "\n[landcover]\n# codes in {}: {list}\n# GUESS: say which codes are forest, open land and water\nforest = [1]\nopen = [2, 4]\nwater = [3]",
            rel(dir, landcover.map(|l| l.file()).unwrap_or(dir))
        );
    }
    // Funding: the template's sources; the public budget takes every
    // category the layer has but private ones.
    let public: Vec<&String> = categories
        .iter()
        .filter(|c| {
            let l = c.to_lowercase();
            !(l == "acp" || l.contains("privad") || l.contains("private"))
        })
        .collect();
    // The parameters (speeds, economics, ..., funding, finance) as the
    // template has them, with their ranges and sources.
    let template = crate::config::template();
    let start = template
        .find("\n[access]")
        .map_or(template.len(), |i| i + 1);
    let mut rest = template[start..].to_string();
    if !public.is_empty() {
        let old = "categories = [\"Bosque de Protección\", \"Parque Nacional\", \"Reserva Nacional\", \"Santuario\"]";
        let new = format!(
            "categories = [{}]  # GUESS: every category of the conservation layer but private ones",
            public.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
        );
        rest = rest.replacen(old, &new, 1);
    }
    let _ = writeln!(t, "\n{rest}");
    if !notes.is_empty() || !missing.is_empty() {
        let _ = writeln!(t, "# Notes from init --from:");
        for n in &notes {
            let _ = writeln!(t, "#   {n}");
        }
        for m in &missing {
            let _ = writeln!(t, "#   MISSING {m}");
        }
    }
    t
}

/// `greenhalo init --from DIR`: survey `from` and write `landscape.toml`
/// into `dir` (layer paths relative to `dir`).
pub fn init_from(dir: &Path, from: &Path, force: bool) -> Result<(PathBuf, Vec<Found>)> {
    let from = &from.canonicalize().map_err(|e| Error::io(from, e))?;
    let found = survey(from)?;
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no vector or raster layer GDAL reads was found in this folder",
            from.display()
        )));
    }
    // Paths relative to the file's folder when the layers are inside it,
    // else absolute.
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let base = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
    let path =
        crate::config::write_new_landscape(dir, force, &landscape_toml(from, &base, &found))?;
    Ok((path, found))
}
