//! The landscape file (`landscape.toml`): serde types and every default, once.
//!
//! Unknown keys are an error so that typos surface. Paths are relative to the
//! landscape file. `template()` writes the commented file `greenhalo init`
//! produces; its values come from the `Default` impls below, so a default is
//! defined in exactly one place.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod load;

/// Write `text` as `dir/landscape.toml` (the folder made if need be),
/// refusing to overwrite one unless `force` (`init` and `init --from`).
pub fn write_new_landscape(dir: &Path, force: bool, text: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("landscape.toml");
    if path.exists() && !force {
        return Err(Error::Usage(format!(
            "{} exists already; use --force to overwrite it",
            path.display()
        )));
    }
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// A parsed landscape file with its location (for relative paths).
#[derive(Debug, Clone)]
pub struct Landscape {
    /// The landscape file itself.
    pub file: PathBuf,
    /// Folder relative paths are resolved against.
    pub dir: PathBuf,
    pub cfg: LandscapeConfig,
    /// The `--set section.key=value` overrides applied, in order.
    pub overrides: Vec<String>,
}

impl Landscape {
    pub fn load(file: &Path) -> Result<Landscape> {
        Self::load_with(file, &[])
    }

    /// Load with `--set section.key=value` overrides applied before any
    /// check. Every problem of the file is in one error: unknown keys (with
    /// the nearest known one), missing keys, wrong types, settings out of
    /// range, and, beside those, layer files that are not there.
    pub fn load_with(file: &Path, overrides: &[String]) -> Result<Landscape> {
        let (ls, problems) = Self::load_lenient(file, overrides)?;
        match ls {
            Some(ls) if problems.is_empty() => Ok(ls),
            _ => Err(Error::Settings {
                file: file.to_path_buf(),
                problems,
            }),
        }
    }

    /// The landscape as far as it could be read (stand-ins where a key was
    /// missing or wrong, absent layers as empty paths) with every problem
    /// of the file, absent layer files included: for `validate`, which
    /// lists the layers' problems beside the file's. Errors only when the
    /// file cannot be read or is not TOML.
    pub fn load_lenient(
        file: &Path,
        overrides: &[String],
    ) -> Result<(Option<Landscape>, Vec<SettingProblem>)> {
        let text = std::fs::read_to_string(file).map_err(|source| Error::ReadConfig {
            file: file.to_path_buf(),
            source,
        })?;
        let parsed = load::parse_all(&text, overrides).map_err(|message| Error::ParseConfig {
            file: file.to_path_buf(),
            message,
        })?;
        let dir = file
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        let mut problems = parsed.problems;
        let ls = parsed.cfg.map(|cfg| Landscape {
            file: file.to_path_buf(),
            dir,
            cfg,
            overrides: overrides.to_vec(),
        });
        if let Some(ls) = &ls {
            problems.extend(ls.cfg.check());
            // With the file's own problems, the layer files that are not
            // there are listed too: one round of fixes.
            if !problems.is_empty() {
                problems.extend(ls.absent_layer_files(&parsed.missing));
            }
        }
        Ok((ls, problems))
    }

    /// Layer files named in the file that do not exist (GDAL's virtual
    /// paths and connection strings are left to GDAL).
    pub fn absent_layer_files(
        &self,
        skip: &std::collections::BTreeSet<String>,
    ) -> Vec<SettingProblem> {
        let named = self.cfg.layers.by_key();
        named
            .into_iter()
            .filter(|(k, p)| !skip.contains(k.as_str()) && !p.as_os_str().is_empty())
            .filter(|(_, p)| {
                let s = p.to_string_lossy();
                let gdal_name = s.starts_with("/vsi")
                    || s.contains("://")
                    || s.split_once(':').is_some_and(|(a, _)| {
                        !a.is_empty() && a.chars().all(|c| c.is_ascii_uppercase())
                    });
                !gdal_name && !self.resolve(p).exists()
            })
            .map(|(key, p)| SettingProblem {
                value: format!("\"{}\"", p.display()),
                message: format!("no such file: {}", self.resolve(p).display()),
                key,
            })
            .collect()
    }

    /// A layer path as given, resolved against the landscape file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    /// Display name: `name` from the file, else the folder name.
    pub fn name(&self) -> String {
        if let Some(n) = &self.cfg.name {
            return n.clone();
        }
        self.dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "landscape".to_string())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LandscapeConfig {
    /// Name shown in reports and batch tables.
    #[serde(default)]
    pub name: Option<String>,
    /// Seed for every random step (sampling, Monte Carlo).
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub layers: Layers,
    #[serde(default)]
    pub grid: GridParams,
    #[serde(default)]
    pub roads: RoadFields,
    #[serde(default)]
    pub markets: MarketFields,
    #[serde(default)]
    pub parcels: ParcelFields,
    #[serde(default)]
    pub conservation: ConservationFields,
    #[serde(default)]
    pub landcover: LandcoverClasses,
    #[serde(default)]
    pub access: AccessParams,
    #[serde(default)]
    pub economics: Economics,
    #[serde(default)]
    pub halo: HaloParams,
    #[serde(default)]
    pub risk: RiskParams,
    #[serde(default)]
    pub road_upgrades: RoadUpgradeParams,
    #[serde(default)]
    pub transitions: TransitionParams,
    #[serde(default)]
    pub conservation_funding: FundingParams,
    #[serde(default)]
    pub finance: FinanceParams,
    /// Where values come from: setting key (e.g.
    /// `"road_upgrades.cost_tertiary_usd_per_km"`, or a section such as
    /// `"transitions.catalogue"`) to a citation, shown in the report's
    /// assumptions beside the value.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Named sets of settings that `greenhalo sweep` runs one by one and
    /// compares (`run` uses the settings above and ignores these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<Scenario>,
}

/// One scenario of `[[scenarios]]`: a name and the settings it changes,
/// as `--set` would (`"economics.carbon_price_usd_per_tco2" = 10`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub set: BTreeMap<String, toml::Value>,
}

impl Scenario {
    /// Its settings as `--set` overrides (`key=value`, the value as TOML).
    pub fn overrides(&self) -> Vec<String> {
        self.set.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

fn default_seed() -> u64 {
    42
}

impl LandscapeConfig {
    /// Parse TOML text; the error message carries line and column.
    pub fn parse(text: &str) -> std::result::Result<LandscapeConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }
}

// ---------------------------------------------------------------- layers ----

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layers {
    pub aoi: VectorSource,
    /// One layer or a list of layers (e.g. departmental and local networks).
    #[serde(deserialize_with = "one_or_many")]
    pub roads: Vec<VectorSource>,
    pub markets: VectorSource,
    /// Farm parcels (a cadastre). Absent: planning units tile the farmland
    /// (`[parcels] planning_units`).
    #[serde(default)]
    pub parcels: Option<VectorSource>,
    pub conservation: VectorSource,
    /// Forest cover fraction 0-1. Absent: the share of `landcover` cells in
    /// the `[landcover] forest` classes in each grid cell.
    #[serde(default)]
    pub forest: Option<RasterSource>,
    pub elevation: RasterSource,
    #[serde(default)]
    pub forest_loss: Option<RasterSource>,
    #[serde(default)]
    pub population: Option<RasterSource>,
    #[serde(default)]
    pub landcover: Option<RasterSource>,
    #[serde(default)]
    pub carbon: Option<RasterSource>,
    /// Optional biodiversity value raster (any index; valued per ha by
    /// `[conservation_funding] biodiversity_usd_per_ha_unit`).
    #[serde(default)]
    pub biodiversity: Option<RasterSource>,
}

impl Layers {
    /// Every layer's path with its key (`layers.roads[1]` when there are
    /// several road sources), in the order the inputs hash reads them.
    pub fn by_key(&self) -> Vec<(String, &Path)> {
        let mut out: Vec<(String, &Path)> = vec![
            ("layers.aoi".into(), self.aoi.path.as_path()),
            ("layers.markets".into(), self.markets.path.as_path()),
        ];
        let middle: [(&str, Option<&PathBuf>); 4] = [
            ("layers.parcels", self.parcels.as_ref().map(|v| &v.path)),
            ("layers.conservation", Some(&self.conservation.path)),
            ("layers.forest", self.forest.as_ref().map(|r| &r.path)),
            ("layers.elevation", Some(&self.elevation.path)),
        ];
        for (key, p) in middle {
            if let Some(p) = p {
                out.push((key.to_string(), p.as_path()));
            }
        }
        for (i, r) in self.roads.iter().enumerate() {
            let key = if self.roads.len() == 1 {
                "layers.roads".to_string()
            } else {
                format!("layers.roads[{i}]")
            };
            out.push((key, r.path.as_path()));
        }
        for (key, r) in [
            ("layers.forest_loss", &self.forest_loss),
            ("layers.population", &self.population),
            ("layers.landcover", &self.landcover),
            ("layers.carbon", &self.carbon),
            ("layers.biodiversity", &self.biodiversity),
        ] {
            if let Some(r) = r {
                out.push((key.to_string(), r.path.as_path()));
            }
        }
        out
    }
}

/// A vector layer: `"roads.gpkg"` or `{ path = "roads.gpkg", layer = "roads",
/// set = { class = "tertiary" } }`. `set` gives every feature of this source
/// a fixed attribute value (used when a source has no class field of its own).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct VectorSource {
    pub path: PathBuf,
    pub layer: Option<String>,
    pub set: BTreeMap<String, String>,
}

/// A raster layer: `"dem.tif"` or `{ path = "dem.tif", band = 1 }`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RasterSource {
    pub path: PathBuf,
    pub band: usize,
}

fn default_band() -> usize {
    1
}

impl From<PathBuf> for VectorSource {
    fn from(path: PathBuf) -> Self {
        VectorSource {
            path,
            ..Default::default()
        }
    }
}

/// Accepts a string (a path) or a table, keeping the table's own error messages.
struct PathOrTable<T>(std::marker::PhantomData<T>);

impl<'de, T: DeserializeOwned + From<PathBuf>> Visitor<'de> for PathOrTable<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a path string or a table with `path`")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<T, E> {
        Ok(T::from(PathBuf::from(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

fn path_or_table<'de, D: Deserializer<'de>, T: DeserializeOwned + From<PathBuf>>(
    d: D,
) -> std::result::Result<T, D::Error> {
    d.deserialize_any(PathOrTable::<T>(std::marker::PhantomData))
}

// Deserialisation goes through `PathOrTable` so both spellings work and a
// typo inside a table keeps serde's own message.
mod source_de {
    use super::*;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct V {
        pub path: PathBuf,
        #[serde(default)]
        pub layer: Option<String>,
        #[serde(default)]
        pub set: BTreeMap<String, String>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct R {
        pub path: PathBuf,
        #[serde(default = "super::default_band")]
        pub band: usize,
    }
    impl From<PathBuf> for V {
        fn from(path: PathBuf) -> Self {
            V {
                path,
                layer: None,
                set: BTreeMap::new(),
            }
        }
    }
    impl From<PathBuf> for R {
        fn from(path: PathBuf) -> Self {
            R { path, band: 1 }
        }
    }
}

impl<'de> Deserialize<'de> for VectorSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v: source_de::V = path_or_table(d)?;
        Ok(VectorSource {
            path: v.path,
            layer: v.layer,
            set: v.set,
        })
    }
}

impl<'de> Deserialize<'de> for RasterSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r: source_de::R = path_or_table(d)?;
        if r.band == 0 {
            return Err(de::Error::custom("band numbers start at 1"));
        }
        Ok(RasterSource {
            path: r.path,
            band: r.band,
        })
    }
}

struct OneOrMany;
impl<'de> Visitor<'de> for OneOrMany {
    type Value = Vec<VectorSource>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a path, a table with `path`, or a list of them")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(vec![VectorSource::from(PathBuf::from(v))])
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
        VectorSource::deserialize(de::value::MapAccessDeserializer::new(map)).map(|v| vec![v])
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<VectorSource>()? {
            out.push(v);
        }
        if out.is_empty() {
            return Err(de::Error::custom("the list of road layers is empty"));
        }
        Ok(out)
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<VectorSource>, D::Error> {
    d.deserialize_any(OneOrMany)
}

// ------------------------------------------------------------------ grid ----

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GridParams {
    /// Metric CRS of the analysis grid ("EPSG:32718", WKT, PROJ). Default:
    /// the UTM zone of the AOI's centroid.
    pub crs: Option<String>,
    /// Cell size in metres.
    pub resolution_m: f64,
    /// The grid reaches this far beyond the AOI's bounding box, so that the
    /// road network and markets just outside the AOI carry travel (every
    /// figure still counts only the AOI's cells; roads outside the AOI are
    /// not appraised).
    pub buffer_km: f64,
}

impl Default for GridParams {
    fn default() -> Self {
        GridParams {
            crs: None,
            resolution_m: 100.0,
            buffer_km: 0.0,
        }
    }
}

const GRID_RANGES: &[Setting] = &[
    num("grid.resolution_m", Ge(1.0), Le(10_000.0), "m"),
    num("grid.buffer_km", Ge(0.0), Le(200.0), "km"),
];

// ------------------------------------------------------- attribute maps ----

/// greenhalo's road classes, from best to worst.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RoadClass {
    Primary,
    Secondary,
    Tertiary,
    Track,
}

impl RoadClass {
    pub const ALL: [RoadClass; 4] = [
        RoadClass::Primary,
        RoadClass::Secondary,
        RoadClass::Tertiary,
        RoadClass::Track,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RoadClass::Primary => "primary",
            RoadClass::Secondary => "secondary",
            RoadClass::Tertiary => "tertiary",
            RoadClass::Track => "track",
        }
    }
    /// The class one step up (an upgrade), if any.
    pub fn upgraded(self) -> Option<RoadClass> {
        match self {
            RoadClass::Primary => None,
            RoadClass::Secondary => Some(RoadClass::Primary),
            RoadClass::Tertiary => Some(RoadClass::Secondary),
            RoadClass::Track => Some(RoadClass::Tertiary),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RoadFields {
    /// Field holding the road class.
    pub class_field: String,
    /// Optional field with the surface (paved, gravel, dirt).
    pub surface_field: Option<String>,
    /// Optional field with annual average daily traffic (vehicles/day).
    pub aadt_field: Option<String>,
    /// Optional field with the road's name or route description, carried
    /// into every road output and the report.
    pub name_field: Option<String>,
    /// Source values of `class_field` and the greenhalo class each means.
    pub class_values: BTreeMap<String, RoadClass>,
}

impl Default for RoadFields {
    fn default() -> Self {
        let class_values = RoadClass::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), *c))
            .collect();
        RoadFields {
            class_field: "class".into(),
            surface_field: Some("surface".into()),
            aadt_field: Some("aadt".into()),
            name_field: Some("name".into()),
            class_values,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MarketFields {
    pub name_field: Option<String>,
    /// Optional weight (e.g. population) of each market.
    pub weight_field: Option<String>,
}

impl Default for MarketFields {
    fn default() -> Self {
        MarketFields {
            name_field: Some("name".into()),
            weight_field: Some("population".into()),
        }
    }
}

/// Current use of a farmland parcel, as greenhalo understands it.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LandUse {
    Pasture,
    DegradedPasture,
    AnnualCrops,
    Coffee,
    Cocoa,
    Other,
}

impl LandUse {
    pub const ALL: [LandUse; 6] = [
        LandUse::Pasture,
        LandUse::DegradedPasture,
        LandUse::AnnualCrops,
        LandUse::Coffee,
        LandUse::Cocoa,
        LandUse::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            LandUse::Pasture => "pasture",
            LandUse::DegradedPasture => "degraded_pasture",
            LandUse::AnnualCrops => "annual_crops",
            LandUse::Coffee => "coffee",
            LandUse::Cocoa => "cocoa",
            LandUse::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ParcelFields {
    /// Optional field with a parcel identifier (else the feature id).
    pub id_field: Option<String>,
    /// Field holding the parcel's current use.
    pub use_field: String,
    /// Source values of `use_field` and the greenhalo use each means.
    pub use_values: BTreeMap<String, LandUse>,
    /// Planning units instead of a cadastre: tiles over the farmland of the
    /// AOI. Used when `[layers] parcels` is absent (with these defaults
    /// when this table is absent too).
    pub planning_units: Option<PlanningUnits>,
}

/// Shape of the planning units.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum UnitShape {
    #[default]
    Hexagon,
    Square,
}

impl UnitShape {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitShape::Hexagon => "hexagon",
            UnitShape::Square => "square",
        }
    }
}

/// Planning units (the way Marxan, prioritizr and Zonation work where
/// there is no cadastre): a hexagon or square tiling of the AOI, each tile
/// clipped to the AOI and kept when enough of it is farmland.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PlanningUnits {
    pub shape: UnitShape,
    /// Area of a whole tile, ha.
    pub area_ha: f64,
    /// Least share of a tile's cells inside the AOI that must be farmland
    /// (not forest, not water, outside conservation areas) to keep it.
    pub min_farmland_share: f64,
    /// Land-cover code -> the current use of a unit whose farmland is
    /// mostly of that code (codes not listed take `default_use`).
    pub landcover_uses: BTreeMap<String, LandUse>,
    /// The current use of units where the land cover does not say (no
    /// land-cover raster, or a code not in `landcover_uses`).
    pub default_use: LandUse,
}

impl Default for PlanningUnits {
    fn default() -> Self {
        PlanningUnits {
            shape: UnitShape::Hexagon,
            area_ha: 25.0,
            min_farmland_share: 0.5,
            landcover_uses: BTreeMap::new(),
            default_use: LandUse::Pasture,
        }
    }
}

const PARCEL_RANGES: &[Setting] = &[
    num(
        "parcels.planning_units.area_ha",
        Gt(0.0),
        Le(100_000.0),
        "ha",
    ),
    num(
        "parcels.planning_units.min_farmland_share",
        Gt(0.0),
        Le(1.0),
        "share",
    ),
];

impl Default for ParcelFields {
    fn default() -> Self {
        ParcelFields {
            id_field: None,
            use_field: "use".into(),
            use_values: LandUse::ALL
                .iter()
                .map(|u| (u.as_str().to_string(), *u))
                .collect(),
            planning_units: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConservationFields {
    pub name_field: Option<String>,
    pub category_field: Option<String>,
    /// An area with less than this share of its legal area inside the AOI
    /// (a sliver of a reserve managed from another landscape) is left out
    /// of the funding and named in one warning; it still counts for the
    /// roads (avoid) and the halo.
    pub min_share_in_aoi: f64,
}

impl Default for ConservationFields {
    fn default() -> Self {
        ConservationFields {
            name_field: Some("name".into()),
            category_field: Some("category".into()),
            min_share_in_aoi: 0.01,
        }
    }
}

const CONSERVATION_RANGES: &[Setting] = &[num(
    "conservation.min_share_in_aoi",
    Ge(0.0),
    Bound::Lt(1.0),
    "share",
)];

/// Which land-cover codes are forest, open land and water (only used when a
/// `landcover` raster is given; else forest/non-forest comes from `forest`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LandcoverClasses {
    pub forest: Vec<i32>,
    pub open: Vec<i32>,
    pub water: Vec<i32>,
}

impl Default for LandcoverClasses {
    fn default() -> Self {
        // The codes `greenhalo synth` writes: 1 forest, 2 farmland/open,
        // 3 water, 4 built-up (walked at open-land speed).
        LandcoverClasses {
            forest: vec![1],
            open: vec![2, 4],
            water: vec![3],
        }
    }
}

// ---------------------------------------------------------- parameters ----

/// Speeds for accessibility (SPEC section A).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AccessParams {
    /// Road speeds by class, km/h (SPEC defaults: paved 60, gravel 40,
    /// dirt 20, track 10).
    pub primary_kmh: f64,
    pub secondary_kmh: f64,
    pub tertiary_kmh: f64,
    pub track_kmh: f64,
    /// Walking speed through forest on flat ground, km/h.
    pub forest_kmh: f64,
    /// Walking speed over open land and farmland on flat ground, km/h.
    pub open_kmh: f64,
}

impl Default for AccessParams {
    fn default() -> Self {
        AccessParams {
            primary_kmh: 60.0,
            secondary_kmh: 40.0,
            tertiary_kmh: 20.0,
            track_kmh: 10.0,
            forest_kmh: 1.5,
            open_kmh: 4.0,
        }
    }
}

const ACCESS_RANGES: &[Setting] = &[
    num("access.primary_kmh", Gt(0.0), Le(200.0), "km/h"),
    num("access.secondary_kmh", Gt(0.0), Le(200.0), "km/h"),
    num("access.tertiary_kmh", Gt(0.0), Le(200.0), "km/h"),
    num("access.track_kmh", Gt(0.0), Le(200.0), "km/h"),
    num("access.forest_kmh", Gt(0.0), Le(20.0), "km/h"),
    num("access.open_kmh", Gt(0.0), Le(20.0), "km/h"),
];

impl AccessParams {
    pub fn speed_kmh(&self, c: RoadClass) -> f64 {
        match c {
            RoadClass::Primary => self.primary_kmh,
            RoadClass::Secondary => self.secondary_kmh,
            RoadClass::Tertiary => self.tertiary_kmh,
            RoadClass::Track => self.track_kmh,
        }
    }
}

/// Appraisal parameters shared by every stage.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Economics {
    /// Appraisal horizon H, years (SPEC: 20, the pilot's horizon).
    pub horizon_years: u32,
    /// Discount rate r (SPEC: 10%, the usual rate for public road appraisal
    /// in Peru's investment system and in Vilela et al. 2020).
    pub discount_rate: f64,
    /// Carbon price, US$ per tCO2 (SPEC default).
    pub carbon_price_usd_per_tco2: f64,
    /// Carbon density where no carbon raster is given, t C/ha above + below
    /// ground (SPEC default; lowland Amazon forests hold about 100-150).
    pub carbon_density_tc_per_ha: f64,
    /// The year whose US dollars every money figure is in.
    pub currency_year: u32,
    /// Whether prices and the discount rate are real (constant dollars of
    /// `currency_year`, the usual basis of public appraisal) or nominal.
    pub price_basis: PriceBasis,
}

/// Real (constant-dollar) or nominal money figures.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PriceBasis {
    Real,
    Nominal,
}

impl PriceBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceBasis::Real => "real",
            PriceBasis::Nominal => "nominal",
        }
    }
}

impl Default for Economics {
    fn default() -> Self {
        Economics {
            horizon_years: 20,
            discount_rate: 0.10,
            carbon_price_usd_per_tco2: 50.0,
            carbon_density_tc_per_ha: 120.0,
            currency_year: 2024,
            price_basis: PriceBasis::Real,
        }
    }
}

const ECONOMICS_RANGES: &[Setting] = &[
    num("economics.horizon_years", Ge(1.0), Le(100.0), "years"),
    num("economics.discount_rate", Gt(-1.0), Le(1.0), "per year"),
    num(
        "economics.carbon_price_usd_per_tco2",
        Ge(0.0),
        Le(10_000.0),
        "US$/tCO2",
    ),
    num(
        "economics.carbon_density_tc_per_ha",
        Ge(0.0),
        Le(1_000.0),
        "t C/ha",
    ),
    num("economics.currency_year", Ge(1900.0), Le(2100.0), "year"),
];

/// Green Halo zone (SPEC section D).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HaloParams {
    /// Outer distance of the halo ring around each conservation area, km.
    /// Barber et al. 2014: ~95% of Amazon deforestation lies within 5.5 km
    /// of a road; 5 km is the SPEC default.
    pub distance_km: f64,
}

impl Default for HaloParams {
    fn default() -> Self {
        HaloParams { distance_km: 5.0 }
    }
}

const HALO_RANGES: &[Setting] = &[num("halo.distance_km", Ge(0.0), Le(100.0), "km")];

/// Deforestation risk model (SPEC section B).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RiskParams {
    /// Years covered by a 0/1 forest_loss raster (year-coded rasters say
    /// their own span).
    pub loss_period_years: u32,
    /// Loss and non-loss cells sampled for the fit, at most, per class.
    pub sample_per_class: usize,
    /// Share of the sample held out to measure AUC.
    pub holdout_share: f64,
    /// L2 penalty on the standardised slopes (not the intercept).
    pub l2: f64,
    /// Annual logit coefficients used when no forest_loss raster is given.
    pub default_coefficients: RiskCoefficients,
    /// Spatial block cross-validation: folds, and the side of the square
    /// blocks whose cells stay together in one fold, km (neighbouring cells
    /// share causes the drivers do not see; a random hold-out flatters).
    pub cv_folds: usize,
    pub cv_block_km: f64,
    /// Skill where road decisions are made: the AUC on forest within this
    /// distance of a road, km.
    pub near_road_km: f64,
    /// Below this block cross-validated AUC the run warns that the forest
    /// loss figures rest on a weak model.
    pub auc_floor: f64,
    /// With a year-coded loss raster, the last years held back for the
    /// forward check (fit on the years before, predict these); 0: none.
    pub forward_years: u32,
    /// Side of the coarse cells on which predicted and observed loss are
    /// compared in the forward check, km.
    pub forward_cell_km: f64,
}

impl Default for RiskParams {
    fn default() -> Self {
        RiskParams {
            loss_period_years: 20,
            sample_per_class: 10_000,
            holdout_share: 0.3,
            l2: 1.0,
            default_coefficients: RiskCoefficients::default(),
            cv_folds: 5,
            cv_block_km: 10.0,
            near_road_km: 5.0,
            auc_floor: 0.7,
            forward_years: 5,
            forward_cell_km: 10.0,
        }
    }
}

const RISK_RANGES: &[Setting] = &[
    num("risk.loss_period_years", Ge(1.0), Le(100.0), "years"),
    // A fit needs some cells of each class; 10 million of each is more than
    // any grid this tool handles and still fits in memory.
    num("risk.sample_per_class", Ge(10.0), Le(10_000_000.0), "cells"),
    num("risk.holdout_share", Ge(0.0), Le(0.9), "share"),
    num("risk.l2", Ge(0.0), Le(1.0e6), ""),
    num("risk.cv_folds", Ge(2.0), Le(20.0), "folds"),
    num("risk.cv_block_km", Gt(0.0), Le(1000.0), "km"),
    num("risk.near_road_km", Gt(0.0), Le(1000.0), "km"),
    num("risk.auc_floor", Ge(0.5), Le(1.0), "AUC"),
    num("risk.forward_years", Ge(0.0), Le(50.0), "years"),
    num("risk.forward_cell_km", Gt(0.0), Le(1000.0), "km"),
];

/// Annual logit of forest loss = intercept + sum(coefficient x driver).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RiskCoefficients {
    pub intercept: f64,
    /// Per unit of ln(1 + travel time in minutes).
    pub ln_travel_time_min: f64,
    pub road_distance_km: f64,
    pub edge_distance_km: f64,
    pub slope_deg: f64,
    pub elevation_km: f64,
    /// Inside a conservation area (0/1).
    pub protected: f64,
}

impl Default for RiskCoefficients {
    fn default() -> Self {
        // Order-of-magnitude defaults for Amazon frontier landscapes, for
        // uncalibrated runs only (calibrate with a forest_loss raster):
        // - road distance: Barber et al. 2014 (Biol. Conserv. 177:203) find
        //   ~95% of Amazon deforestation within 5.5 km of a road; -0.45/km
        //   leaves exp(-0.45 * 5.5) = 8% of the odds at 5.5 km.
        // - protected: the same study reports 10.9% loss in protected areas
        //   near roads vs 43.6% unprotected: ln((0.109/0.891)/(0.436/0.564))
        //   = -1.84.
        // - edge distance, slope, elevation and travel time: signs and sizes
        //   as in spatial deforestation models of the Peruvian Amazon and
        //   Andean slopes (loss concentrates at forest edges, on gentle,
        //   low, accessible land); the intercept gives about 2% a year at a
        //   forest edge beside a road on flat valley land 30 min from market.
        RiskCoefficients {
            intercept: -1.35,
            ln_travel_time_min: -0.35,
            road_distance_km: -0.45,
            edge_distance_km: -0.9,
            slope_deg: -0.03,
            elevation_km: -0.5,
            protected: -1.84,
        }
    }
}

// Logit coefficients beyond +-100 per unit make every cell 0 or 1.
const COEFFICIENT_RANGES: &[Setting] = &[
    num(
        "risk.default_coefficients.intercept",
        Ge(-100.0),
        Le(100.0),
        "",
    ),
    num(
        "risk.default_coefficients.ln_travel_time_min",
        Ge(-100.0),
        Le(100.0),
        "",
    ),
    num(
        "risk.default_coefficients.road_distance_km",
        Ge(-100.0),
        Le(100.0),
        "per km",
    ),
    num(
        "risk.default_coefficients.edge_distance_km",
        Ge(-100.0),
        Le(100.0),
        "per km",
    ),
    num(
        "risk.default_coefficients.slope_deg",
        Ge(-100.0),
        Le(100.0),
        "per degree",
    ),
    num(
        "risk.default_coefficients.elevation_km",
        Ge(-100.0),
        Le(100.0),
        "per km",
    ),
    num(
        "risk.default_coefficients.protected",
        Ge(-100.0),
        Le(100.0),
        "",
    ),
];

/// Road segments and their upgrades (SPEC section C).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RoadUpgradeParams {
    /// Segments are split at junctions and at this length, km (SPEC: 5).
    pub max_segment_km: f64,
    /// Pieces of a road shorter than this between junctions are merged with
    /// a neighbour on the same road (same class), metres: no sliver is
    /// appraised and ranked on its own.
    pub min_segment_m: f64,
    /// Road ends closer than this to another road join it, metres (real
    /// networks have roads that almost but not exactly meet).
    pub junction_tolerance_m: f64,
    /// Upgrade costs, US$ per km, by the class a segment starts from, on
    /// flat ground. Order of magnitude of Peruvian public investment
    /// projects (MTC / Provias): opening a track to a dirt road, gravelling
    /// ("afirmado"), paving, and rehabilitating a paved road.
    pub cost_track_usd_per_km: f64,
    pub cost_tertiary_usd_per_km: f64,
    pub cost_secondary_usd_per_km: f64,
    pub cost_primary_usd_per_km: f64,
    /// Speed of a rehabilitated primary road, km/h (the upgrade of a
    /// primary segment).
    pub primary_upgraded_kmh: f64,
    /// Terrain factors on cost by mean slope along the segment, as the
    /// World Bank ROCKS road-cost database's terrain classes: flat (< 5 deg),
    /// rolling (5-15 deg), mountainous (> 15 deg).
    pub terrain_factor_rolling: f64,
    pub terrain_factor_mountainous: f64,
    /// Yearly maintenance, US$ per km, by class (the upgrade adds the
    /// difference). Rehabilitated primary roads keep the primary figure.
    pub maintenance_primary_usd_per_km: f64,
    pub maintenance_secondary_usd_per_km: f64,
    pub maintenance_tertiary_usd_per_km: f64,
    pub maintenance_track_usd_per_km: f64,
    /// How the farm output's benefit enters the appraisal, only one way:
    /// `consumer_surplus` (RED: marketed output rides as the freight part
    /// of the traffic) or `producer_surplus` (passenger traffic plus the
    /// fall in transport cost on marketed output, with no freight
    /// vehicles; the alternative of ROAD_APPRAISAL.md section 5).
    pub benefit_method: BenefitMethod,
    /// Motorised one-way trips a household makes to market and services a
    /// week, where no `aadt` is counted (an estimate: two market days' round
    /// trips; replace with a local origin-destination survey).
    pub trips_per_household_week: f64,
    /// People per household (an estimate for rural San Martín).
    pub household_size: f64,
    /// Value of travel time, US$ per person-hour (non-work time: 53-70% of
    /// the wage rate in rural stated-preference studies, World Bank ITS
    /// Note 10; about 60% of a rural wage of US$1.6 an hour).
    pub value_of_time_usd_per_hour: f64,
    /// People per hectare of farmland where no population raster is given.
    pub people_per_farm_ha: f64,
    /// Farm output, tonnes per hectare of farmland per year (rice, maize,
    /// milk, coffee and cocoa of the Alto Mayo valley average a few tonnes;
    /// Goñas et al. 2024 report 0.96 t/ha of dry cocoa).
    pub farm_output_t_per_ha: f64,
    /// Share of the farm output sold off the farm (the marketed surplus
    /// that travels; an estimate): only this enters the appraisal.
    pub marketed_share: f64,
    /// Cost of moving a tonne for an hour, US$ (rural freight in Peru costs
    /// roughly US$0.5 per tonne-km at 20 km/h): the producer-surplus
    /// method only.
    pub transport_usd_per_tonne_hour: f64,
    /// Price elasticity of the demand for trips, as its absolute value:
    /// the traffic an upgrade generates is this times the relative fall in
    /// the cost of a trip, valued by the rule of half (RED takes a
    /// user-defined elasticity; ROAD_APPRAISAL.md 6.3: 1.0, sensitivity
    /// 0.5-1.5).
    pub price_elasticity: f64,
    /// Traffic growth a year (an estimate; replace with regional GDP and
    /// population growth).
    pub traffic_growth: f64,
    /// The low-volume road band, motor vehicles a day (World Bank toolkit
    /// Note 16: under 200): a modelled traffic above it on a track or
    /// tertiary road is a warning.
    pub low_volume_aadt: f64,
    /// Deforestation intensity above which a segment needs safeguards,
    /// hectares of extra forest loss per US$1 M of economic benefit (PV).
    pub max_intensity_ha_per_musd: f64,
    /// Road budget for the portfolio, US$.
    pub road_budget_usd: f64,
    /// Segments the portfolio must fund whatever their class (ids as in
    /// roads.csv): their cost comes out of the budget first. What the
    /// forced choices cost against the free optimum is reported.
    pub force_in: Vec<String>,
    /// Segments the portfolio must leave out (ids as in roads.csv).
    pub force_out: Vec<String>,
    /// How much each funded segment matters (prioritizr's replacement
    /// importance): `choice` re-chooses the portfolio exactly without it on
    /// the values of the choice and values the new set built together;
    /// `full` makes the whole choice again, joint re-check included (what
    /// a run with the segment in `force_out` gives; slower); `none` skips
    /// it.
    pub importance: ImportanceMethod,
    /// Near-optimal alternatives to the portfolio listed (Marxan's
    /// solutions, prioritizr's gap portfolios): up to this many distinct
    /// maximal sets, each the best left on the values of the choice, within
    /// `alternatives_gap` of the best; 0 lists none.
    pub alternatives: u32,
    /// How far below the best value of the choice an alternative may be,
    /// as a fraction of it.
    pub alternatives_gap: f64,
    /// The fleet of the road-user cost model (RED / HDM-4 vehicle types):
    /// mototaxis and colectivos carry most rural trips in San Martín.
    pub vehicles: Vec<VehicleType>,
}

/// How each funded road segment's importance is found
/// (`road_upgrades.importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportanceMethod {
    /// The portfolio re-chosen exactly on the values of the choice, the
    /// new set valued built together.
    #[default]
    Choice,
    /// The whole choice made again, joint re-check included.
    Full,
    /// Not computed.
    None,
}

impl ImportanceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportanceMethod::Choice => "choice",
            ImportanceMethod::Full => "full",
            ImportanceMethod::None => "none",
        }
    }
}

/// How the farm output's benefit enters the road appraisal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BenefitMethod {
    /// RED's consumer surplus on all traffic, freight included.
    #[default]
    ConsumerSurplus,
    /// Consumer surplus on passenger traffic plus producer surplus on
    /// marketed output.
    ProducerSurplus,
}

impl BenefitMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BenefitMethod::ConsumerSurplus => "consumer_surplus",
            BenefitMethod::ProducerSurplus => "producer_surplus",
        }
    }
}

/// Vehicle operating cost by the class of road driven on, US$ per
/// vehicle-km (fuel, tyres, maintenance, depreciation: HDM-4's VOC
/// components; rougher roads cost more to drive).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VocByClass {
    pub track: f64,
    pub tertiary: f64,
    pub secondary: f64,
    pub primary: f64,
    /// A rehabilitated primary road (the upgrade of a primary segment).
    pub primary_rehabilitated: f64,
}

impl VocByClass {
    /// The cost on a road of class `c`, or on a rehabilitated primary road.
    pub fn on(&self, c: Option<RoadClass>) -> f64 {
        match c {
            Some(RoadClass::Track) => self.track,
            Some(RoadClass::Tertiary) => self.tertiary,
            Some(RoadClass::Secondary) => self.secondary,
            Some(RoadClass::Primary) => self.primary,
            None => self.primary_rehabilitated,
        }
    }
}

/// One vehicle type of the road-user cost model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleType {
    pub name: String,
    /// People aboard on an average trip, driver included.
    pub occupancy: f64,
    /// Share of the modelled passenger trips made in this type (the
    /// shares of all types add up to 1).
    pub passenger_share: f64,
    /// Share of the marketed farm output carried in this type (the shares
    /// add up to 1; consumer-surplus method only).
    pub freight_share: f64,
    /// Tonnes a loaded trip carries; each load makes a loaded and an empty
    /// trip.
    pub payload_t: f64,
    /// Share of a counted `aadt` that is of this type (the shares add up
    /// to 1).
    pub counted_share: f64,
    /// Value of an hour of the vehicle's cargo in transit (HDM-4's cargo
    /// holding time), US$ per vehicle-hour.
    pub cargo_usd_per_hour: f64,
    pub voc_usd_per_km: VocByClass,
}

/// The default fleet (estimates of the order of HDM-4's unit costs for
/// earth, gravel and paved roads; Peru-calibrated VOC tables by IRI were
/// not retrieved, see ROAD_APPRAISAL.md section 2; occupancies of car,
/// colectivo, bus and truck from its section 6.3).
#[allow(clippy::too_many_arguments)]
fn vehicle(
    name: &str,
    occupancy: f64,
    passenger_share: f64,
    freight_share: f64,
    payload_t: f64,
    counted_share: f64,
    cargo_usd_per_hour: f64,
    voc: [f64; 5],
) -> VehicleType {
    VehicleType {
        name: name.into(),
        occupancy,
        passenger_share,
        freight_share,
        payload_t,
        counted_share,
        cargo_usd_per_hour,
        voc_usd_per_km: VocByClass {
            track: voc[0],
            tertiary: voc[1],
            secondary: voc[2],
            primary: voc[3],
            primary_rehabilitated: voc[4],
        },
    }
}

fn default_vehicles() -> Vec<VehicleType> {
    vec![
        vehicle(
            "mototaxi",
            2.5,
            0.45,
            0.0,
            0.3,
            0.35,
            0.0,
            [0.20, 0.15, 0.12, 0.10, 0.09],
        ),
        vehicle(
            "car_pickup",
            3.0,
            0.15,
            0.2,
            1.0,
            0.25,
            0.2,
            [0.55, 0.42, 0.33, 0.27, 0.25],
        ),
        vehicle(
            "colectivo",
            12.0,
            0.30,
            0.0,
            1.0,
            0.20,
            0.0,
            [0.85, 0.65, 0.52, 0.43, 0.40],
        ),
        vehicle(
            "bus",
            30.0,
            0.10,
            0.0,
            2.0,
            0.05,
            0.0,
            [1.50, 1.15, 0.92, 0.78, 0.73],
        ),
        vehicle(
            "truck",
            1.5,
            0.0,
            0.8,
            8.0,
            0.15,
            1.0,
            [1.90, 1.45, 1.12, 0.93, 0.87],
        ),
    ]
}

impl Default for RoadUpgradeParams {
    fn default() -> Self {
        RoadUpgradeParams {
            max_segment_km: 5.0,
            min_segment_m: 200.0,
            junction_tolerance_m: 10.0,
            cost_track_usd_per_km: 60_000.0,
            cost_tertiary_usd_per_km: 150_000.0,
            cost_secondary_usd_per_km: 600_000.0,
            cost_primary_usd_per_km: 350_000.0,
            primary_upgraded_kmh: 80.0,
            terrain_factor_rolling: 1.3,
            terrain_factor_mountainous: 1.7,
            maintenance_primary_usd_per_km: 8_000.0,
            maintenance_secondary_usd_per_km: 3_500.0,
            maintenance_tertiary_usd_per_km: 1_500.0,
            maintenance_track_usd_per_km: 300.0,
            benefit_method: BenefitMethod::ConsumerSurplus,
            trips_per_household_week: 4.0,
            household_size: 4.0,
            value_of_time_usd_per_hour: 1.0,
            people_per_farm_ha: 0.5,
            farm_output_t_per_ha: 3.0,
            marketed_share: 0.5,
            transport_usd_per_tonne_hour: 10.0,
            price_elasticity: 1.0,
            traffic_growth: 0.03,
            low_volume_aadt: 200.0,
            max_intensity_ha_per_musd: 5.0,
            road_budget_usd: 20_000_000.0,
            force_in: Vec::new(),
            force_out: Vec::new(),
            importance: ImportanceMethod::Choice,
            alternatives: 10,
            alternatives_gap: 0.01,
            vehicles: default_vehicles(),
        }
    }
}

const ROAD_UPGRADE_RANGES: &[Setting] = &[
    // Each alternative is one exact solve (a few in a second).
    num("road_upgrades.alternatives", Ge(0.0), Le(1_000.0), "sets"),
    num(
        "road_upgrades.alternatives_gap",
        Ge(0.0),
        Le(1.0),
        "fraction",
    ),
    // Segments shorter than 100 m would multiply the appraisals without
    // saying more than the grid's cells can.
    num("road_upgrades.max_segment_km", Ge(0.1), Le(1_000.0), "km"),
    num(
        "road_upgrades.junction_tolerance_m",
        Ge(0.0),
        Le(1_000.0),
        "m",
    ),
    num("road_upgrades.min_segment_m", Ge(0.0), Le(10_000.0), "m"),
    num(
        "road_upgrades.cost_track_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km",
    ),
    num(
        "road_upgrades.cost_tertiary_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km",
    ),
    num(
        "road_upgrades.cost_secondary_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km",
    ),
    num(
        "road_upgrades.cost_primary_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km",
    ),
    num(
        "road_upgrades.primary_upgraded_kmh",
        Gt(0.0),
        Le(200.0),
        "km/h",
    ),
    num(
        "road_upgrades.terrain_factor_rolling",
        Gt(0.0),
        Le(10.0),
        "x",
    ),
    num(
        "road_upgrades.terrain_factor_mountainous",
        Gt(0.0),
        Le(10.0),
        "x",
    ),
    num(
        "road_upgrades.maintenance_primary_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km/yr",
    ),
    num(
        "road_upgrades.maintenance_secondary_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km/yr",
    ),
    num(
        "road_upgrades.maintenance_tertiary_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km/yr",
    ),
    num(
        "road_upgrades.maintenance_track_usd_per_km",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km/yr",
    ),
    num(
        "road_upgrades.trips_per_household_week",
        Ge(0.0),
        Le(1_000.0),
        "trips/household/week",
    ),
    num("road_upgrades.household_size", Gt(0.0), Le(50.0), "people"),
    num(
        "road_upgrades.value_of_time_usd_per_hour",
        Ge(0.0),
        Le(10_000.0),
        "US$/h",
    ),
    num(
        "road_upgrades.people_per_farm_ha",
        Ge(0.0),
        Le(1_000.0),
        "people/ha",
    ),
    num(
        "road_upgrades.farm_output_t_per_ha",
        Ge(0.0),
        Le(1_000.0),
        "t/ha/yr",
    ),
    num("road_upgrades.marketed_share", Ge(0.0), Le(1.0), "share"),
    num(
        "road_upgrades.transport_usd_per_tonne_hour",
        Ge(0.0),
        Le(100_000.0),
        "US$/t/h",
    ),
    num(
        "road_upgrades.price_elasticity",
        Ge(0.0),
        Le(5.0),
        "|elasticity|",
    ),
    num("road_upgrades.traffic_growth", Ge(-0.5), Le(0.5), "per yr"),
    num(
        "road_upgrades.low_volume_aadt",
        Gt(0.0),
        Le(1.0e6),
        "veh/day",
    ),
    num(
        "road_upgrades.vehicles[].occupancy",
        Gt(0.0),
        Le(200.0),
        "people/veh",
    ),
    num(
        "road_upgrades.vehicles[].passenger_share",
        Ge(0.0),
        Le(1.0),
        "share",
    ),
    num(
        "road_upgrades.vehicles[].freight_share",
        Ge(0.0),
        Le(1.0),
        "share",
    ),
    num(
        "road_upgrades.vehicles[].payload_t",
        Ge(0.0),
        Le(100.0),
        "t",
    ),
    num(
        "road_upgrades.vehicles[].counted_share",
        Ge(0.0),
        Le(1.0),
        "share",
    ),
    num(
        "road_upgrades.vehicles[].cargo_usd_per_hour",
        Ge(0.0),
        Le(10_000.0),
        "US$/veh-h",
    ),
    num(
        "road_upgrades.vehicles[].voc_usd_per_km.track",
        Ge(0.0),
        Le(1_000.0),
        "US$/veh-km",
    ),
    num(
        "road_upgrades.vehicles[].voc_usd_per_km.tertiary",
        Ge(0.0),
        Le(1_000.0),
        "US$/veh-km",
    ),
    num(
        "road_upgrades.vehicles[].voc_usd_per_km.secondary",
        Ge(0.0),
        Le(1_000.0),
        "US$/veh-km",
    ),
    num(
        "road_upgrades.vehicles[].voc_usd_per_km.primary",
        Ge(0.0),
        Le(1_000.0),
        "US$/veh-km",
    ),
    num(
        "road_upgrades.vehicles[].voc_usd_per_km.primary_rehabilitated",
        Ge(0.0),
        Le(1_000.0),
        "US$/veh-km",
    ),
    num(
        "road_upgrades.max_intensity_ha_per_musd",
        Ge(0.0),
        Le(1.0e9),
        "ha per US$1 M",
    ),
    num(
        "road_upgrades.road_budget_usd",
        Ge(0.0),
        Le(MONEY_TOTAL),
        "US$",
    ),
];

/// One farmland transition of the catalogue (SPEC section E).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub name: String,
    /// Current uses it can replace.
    pub eligible_uses: Vec<LandUse>,
    pub min_elevation_m: f64,
    pub max_elevation_m: f64,
    pub max_slope_deg: f64,
    pub max_travel_min: f64,
    /// Paid in year 0, US$ per ha.
    pub establishment_usd_per_ha: f64,
    /// Net revenue at maturity, US$ per ha per year; the ramp rises
    /// linearly from year 1 to `years_to_maturity`.
    pub mature_net_revenue_usd_per_ha: f64,
    pub years_to_maturity: u32,
    /// Carbon sequestered, tCO2 per ha per year.
    pub sequestration_tco2_per_ha_year: f64,
}

/// The transition catalogue, baselines, and the selection's budget and target.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TransitionParams {
    /// Net revenue of each current use, US$ per ha per year (the baseline a
    /// transition replaces).
    pub baseline_pasture_usd_per_ha: f64,
    pub baseline_degraded_pasture_usd_per_ha: f64,
    pub baseline_annual_crops_usd_per_ha: f64,
    pub baseline_coffee_usd_per_ha: f64,
    pub baseline_cocoa_usd_per_ha: f64,
    pub baseline_other_usd_per_ha: f64,
    /// A farmer's hurdle rate: below it a concessional loan, above it
    /// commercial finance.
    pub hurdle_rate: f64,
    /// Budget for establishment costs, US$.
    pub parcel_budget_usd: f64,
    /// Area to transition at least, km2, when the landscape has it (the
    /// pilot: more than 300 km2).
    pub area_target_km2: f64,
    /// Wall seconds each parcel selection may take (its relaxation, the
    /// exchanges and the MIP over the undecided core): past it the best
    /// selection found is used and its proven gap reported.
    pub selection_time_limit_s: f64,
    /// Forest spared per hectare transitioned inside the Green Halo over the
    /// horizon, ha (pressure relief on the forest edge).
    pub avoided_loss_ha_per_halo_ha: f64,
    pub catalogue: Vec<Transition>,
}

#[allow(clippy::too_many_arguments)] // one row of the catalogue table
fn transition(
    name: &str,
    uses: &[LandUse],
    elev: (f64, f64),
    slope: f64,
    travel: f64,
    est: f64,
    mature: f64,
    years: u32,
    seq: f64,
) -> Transition {
    Transition {
        name: name.into(),
        eligible_uses: uses.to_vec(),
        min_elevation_m: elev.0,
        max_elevation_m: elev.1,
        max_slope_deg: slope,
        max_travel_min: travel,
        establishment_usd_per_ha: est,
        mature_net_revenue_usd_per_ha: mature,
        years_to_maturity: years,
        sequestration_tco2_per_ha_year: seq,
    }
}

impl Default for TransitionParams {
    fn default() -> Self {
        use LandUse::*;
        TransitionParams {
            // Extensive cattle and degraded pasture earn little; the
            // multiples of the pilot (up to about 6x over 20 years) follow
            // from these baselines and the mature revenues below.
            baseline_pasture_usd_per_ha: 220.0,
            baseline_degraded_pasture_usd_per_ha: 150.0,
            baseline_annual_crops_usd_per_ha: 300.0,
            baseline_coffee_usd_per_ha: 400.0,
            baseline_cocoa_usd_per_ha: 500.0,
            baseline_other_usd_per_ha: 150.0,
            hurdle_rate: 0.12,
            parcel_budget_usd: 50_000_000.0,
            area_target_km2: 300.0,
            selection_time_limit_s: 10.0,
            avoided_loss_ha_per_halo_ha: 0.05,
            catalogue: vec![
                // Goñas et al. 2024 (Forests 15:500), fine-aroma cocoa
                // agroforestry in Amazonas, Peru: 957 kg/ha at PEN 7.38/kg
                // sold and PEN 3.91/kg produced = PEN 3,321/ha, about
                // US$885/ha at PEN 3.75 per US$.
                transition(
                    "cocoa_agroforestry",
                    &[Pasture, DegradedPasture, AnnualCrops, Cocoa],
                    (0.0, 1200.0),
                    25.0,
                    240.0,
                    1500.0,
                    885.0,
                    4,
                    5.0,
                ),
                transition(
                    "coffee_agroforestry",
                    &[Pasture, DegradedPasture, AnnualCrops, Coffee],
                    (900.0, 2000.0),
                    30.0,
                    300.0,
                    1800.0,
                    750.0,
                    4,
                    4.0,
                ),
                transition(
                    "silvopasture",
                    &[Pasture, DegradedPasture],
                    (0.0, 2500.0),
                    20.0,
                    480.0,
                    600.0,
                    330.0,
                    3,
                    3.0,
                ),
                transition(
                    "diversified_agroforestry",
                    &[Pasture, DegradedPasture, AnnualCrops, Coffee, Cocoa, Other],
                    (0.0, 1800.0),
                    30.0,
                    300.0,
                    1200.0,
                    650.0,
                    6,
                    6.0,
                ),
                transition(
                    "assisted_restoration",
                    &[Pasture, DegradedPasture, Other],
                    (0.0, 4500.0),
                    90.0,
                    1.0e9,
                    800.0,
                    0.0,
                    1,
                    10.0,
                ),
            ],
        }
    }
}

const TRANSITION_RANGES: &[Setting] = &[
    num(
        "transitions.baseline_pasture_usd_per_ha",
        Ge(-MONEY_PER_HA),
        Le(MONEY_PER_HA),
        "US$/ha/yr",
    ),
    num(
        "transitions.baseline_degraded_pasture_usd_per_ha",
        Ge(-MONEY_PER_HA),
        Le(MONEY_PER_HA),
        "US$/ha/yr",
    ),
    num(
        "transitions.baseline_annual_crops_usd_per_ha",
        Ge(-MONEY_PER_HA),
        Le(MONEY_PER_HA),
        "US$/ha/yr",
    ),
    num(
        "transitions.baseline_coffee_usd_per_ha",
        Ge(-MONEY_PER_HA),
        Le(MONEY_PER_HA),
        "US$/ha/yr",
    ),
    num(
        "transitions.baseline_cocoa_usd_per_ha",
        Ge(-MONEY_PER_HA),
        Le(MONEY_PER_HA),
        "US$/ha/yr",
    ),
    num(
        "transitions.baseline_other_usd_per_ha",
        Ge(-MONEY_PER_HA),
        Le(MONEY_PER_HA),
        "US$/ha/yr",
    ),
    num("transitions.hurdle_rate", Gt(-1.0), Le(1.0), "per year"),
    num(
        "transitions.parcel_budget_usd",
        Ge(0.0),
        Le(MONEY_TOTAL),
        "US$",
    ),
    num("transitions.area_target_km2", Ge(0.0), Le(1.0e6), "km2"),
    num(
        "transitions.selection_time_limit_s",
        Ge(0.1),
        Le(86_400.0),
        "s",
    ),
    num(
        "transitions.avoided_loss_ha_per_halo_ha",
        Ge(0.0),
        Le(100.0),
        "ha/ha",
    ),
    num(
        "transitions.catalogue[].min_elevation_m",
        Ge(-500.0),
        Le(9_000.0),
        "m",
    ),
    num(
        "transitions.catalogue[].max_elevation_m",
        Ge(-500.0),
        Le(9_000.0),
        "m",
    ),
    num(
        "transitions.catalogue[].max_slope_deg",
        Ge(0.0),
        Le(90.0),
        "degrees",
    ),
    // 1e9 minutes is "no limit" (the default of assisted restoration).
    num(
        "transitions.catalogue[].max_travel_min",
        Ge(0.0),
        Le(1.0e9),
        "minutes",
    ),
    num(
        "transitions.catalogue[].establishment_usd_per_ha",
        Ge(0.0),
        Le(MONEY_PER_HA),
        "US$/ha",
    ),
    num(
        "transitions.catalogue[].mature_net_revenue_usd_per_ha",
        Ge(-MONEY_PER_HA),
        Le(MONEY_PER_HA),
        "US$/ha/yr",
    ),
    num(
        "transitions.catalogue[].years_to_maturity",
        Ge(1.0),
        Le(100.0),
        "years",
    ),
    num(
        "transitions.catalogue[].sequestration_tco2_per_ha_year",
        Ge(0.0),
        Le(100.0),
        "tCO2/ha/yr",
    ),
];

impl TransitionParams {
    pub fn baseline(&self, u: LandUse) -> f64 {
        match u {
            LandUse::Pasture => self.baseline_pasture_usd_per_ha,
            LandUse::DegradedPasture => self.baseline_degraded_pasture_usd_per_ha,
            LandUse::AnnualCrops => self.baseline_annual_crops_usd_per_ha,
            LandUse::Coffee => self.baseline_coffee_usd_per_ha,
            LandUse::Cocoa => self.baseline_cocoa_usd_per_ha,
            LandUse::Other => self.baseline_other_usd_per_ha,
        }
    }
}

/// Which conservation areas a funding source may pay for.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Any conservation area (e.g. a trust fund).
    Any,
    /// Only areas whose category contains one of `categories` (e.g. the
    /// government budget for designated protected areas).
    Categories,
    /// Only areas whose threat shows additionality: expected loss over the
    /// horizon at least `min_threat_share` of their forest (carbon markets).
    Additional,
}

/// A funding source (SPEC section F).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FundingSource {
    pub name: String,
    pub usd_per_year: f64,
    pub years: u32,
    pub eligibility: Eligibility,
    #[serde(default)]
    pub categories: Vec<String>,
    /// Where the money comes from in the capital stack.
    #[serde(default = "default_capital")]
    pub capital: Capital,
}

fn default_capital() -> Capital {
    Capital::Philanthropic
}

/// The capital stack's layers (SPEC section G).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Capital {
    Philanthropic,
    Public,
    DevelopmentBankGuarantee,
    Private,
}

/// Conservation funding parameters and sources.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FundingParams {
    /// Yearly management cost, US$ per km2: basic management of Peruvian
    /// protected areas runs at a few US$ per hectare a year (SERNANP
    /// financial-needs studies); 800 US$/km2 is 8 US$/ha.
    pub management_usd_per_km2_year: f64,
    /// Share of the expected loss a fully funded area avoids (effective
    /// protection; Barber et al. 2014 find protected areas near roads lost
    /// 10.9% versus 43.6% unprotected, i.e. three quarters less).
    pub effectiveness: f64,
    /// Threat share of forest (expected loss over the horizon / forest)
    /// from which carbon funding counts as additional.
    pub min_threat_share: f64,
    /// US$ per hectare per unit of the optional biodiversity raster.
    pub biodiversity_usd_per_ha_unit: f64,
    pub sources: Vec<FundingSource>,
}

impl Default for FundingParams {
    fn default() -> Self {
        FundingParams {
            management_usd_per_km2_year: 800.0,
            effectiveness: 0.75,
            min_threat_share: 0.02,
            biodiversity_usd_per_ha_unit: 0.0,
            // Illustrative sources of the pilot's kind: long-term protected
            // area funding, the public budget, and carbon market revenues.
            sources: vec![
                FundingSource {
                    name: "protected_area_trust_fund".into(),
                    usd_per_year: 250_000.0,
                    years: 20,
                    eligibility: Eligibility::Any,
                    categories: vec![],
                    capital: Capital::Philanthropic,
                },
                FundingSource {
                    name: "government_budget".into(),
                    usd_per_year: 150_000.0,
                    years: 20,
                    eligibility: Eligibility::Categories,
                    categories: vec![
                        "Bosque de Protección".into(),
                        "Parque Nacional".into(),
                        "Reserva Nacional".into(),
                        "Santuario".into(),
                    ],
                    capital: Capital::Public,
                },
                FundingSource {
                    name: "carbon_market".into(),
                    usd_per_year: 150_000.0,
                    years: 10,
                    eligibility: Eligibility::Additional,
                    categories: vec![],
                    capital: Capital::Private,
                },
            ],
        }
    }
}

const FUNDING_RANGES: &[Setting] = &[
    num(
        "conservation_funding.management_usd_per_km2_year",
        Ge(0.0),
        Le(MONEY_PER_UNIT),
        "US$/km2/yr",
    ),
    num(
        "conservation_funding.effectiveness",
        Ge(0.0),
        Le(1.0),
        "share",
    ),
    num(
        "conservation_funding.min_threat_share",
        Ge(0.0),
        Le(1.0),
        "share",
    ),
    num(
        "conservation_funding.biodiversity_usd_per_ha_unit",
        Ge(0.0),
        Le(MONEY_PER_HA),
        "US$/ha per unit",
    ),
    num(
        "conservation_funding.sources[].usd_per_year",
        Ge(0.0),
        Le(MONEY_TOTAL),
        "US$/yr",
    ),
    num(
        "conservation_funding.sources[].years",
        Ge(1.0),
        Le(100.0),
        "years",
    ),
];

/// The whole plan's finance (SPEC section G).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FinanceParams {
    /// First year of phases 1, 2 and 3 (SPEC: years 1-5, 6-10, 11-20).
    pub phase_start_years: [u32; 3],
    /// Target private share of each phase's capital (SPEC: 10%, 40%, 70%,
    /// the pilot's path to about 70% private capital).
    pub target_private_share: [f64; 3],
    /// Extension and technical assistance, as a share of parcel investment.
    pub extension_share_of_parcels: f64,
    /// Climate-risk insurance premium, US$ per year.
    pub insurance_usd_per_year: f64,
    /// Monte Carlo draws (seeded by the landscape's `seed`).
    pub monte_carlo_draws: usize,
    /// Spread of the Monte Carlo multipliers (standard deviation of the log
    /// for prices, yields, costs and carbon price; of the rate itself for
    /// the discount rate).
    pub sd_prices: f64,
    pub sd_yields: f64,
    pub sd_costs: f64,
    pub sd_carbon_price: f64,
    pub sd_discount_rate: f64,
    /// Spread of the road traffic, and so of the road-user benefits
    /// (standard deviation of the log): traffic forecasts for half of road
    /// projects miss by more than 20% (Flyvbjerg, Skamris Holm and Buhl
    /// 2005); greenhalo's modelled traffic is no better.
    pub sd_road_traffic: f64,
    /// The capital continuum. Commercial investors accept at most this
    /// chance of a line earning less than their hurdle rate
    /// (`transitions.hurdle_rate`), counted as their loss.
    pub commercial_max_loss_probability: f64,
    /// Rate concessional (development-bank) lenders ask, per year.
    pub concessional_rate: f64,
    /// Concessional lending available in phases 1, 2 and 3, US$.
    pub concessional_usd_per_phase: [f64; 3],
    /// First-loss guarantee cover a development bank offers commercial
    /// investors in phases 1, 2 and 3, US$, and its fee per year on the
    /// cover.
    pub guarantee_usd_per_phase: [f64; 3],
    pub guarantee_fee: f64,
}

impl Default for FinanceParams {
    fn default() -> Self {
        FinanceParams {
            phase_start_years: [1, 6, 11],
            target_private_share: [0.10, 0.40, 0.70],
            extension_share_of_parcels: 0.10,
            insurance_usd_per_year: 50_000.0,
            monte_carlo_draws: 2_000,
            sd_prices: 0.20,
            sd_yields: 0.15,
            sd_costs: 0.15,
            sd_carbon_price: 0.35,
            sd_road_traffic: 0.3,
            sd_discount_rate: 0.02,
            commercial_max_loss_probability: 0.10,
            concessional_rate: 0.03,
            concessional_usd_per_phase: [5.0e6, 10.0e6, 10.0e6],
            guarantee_usd_per_phase: [2.0e6, 5.0e6, 5.0e6],
            guarantee_fee: 0.01,
        }
    }
}

const FINANCE_RANGES: &[Setting] = &[
    num(
        "finance.phase_start_years[]",
        Ge(1.0),
        Le(100.0),
        "year; increasing, the last within the horizon",
    ),
    num("finance.target_private_share[]", Ge(0.0), Le(1.0), "share"),
    num(
        "finance.extension_share_of_parcels",
        Ge(0.0),
        Le(10.0),
        "share",
    ),
    num(
        "finance.insurance_usd_per_year",
        Ge(0.0),
        Le(MONEY_TOTAL),
        "US$/yr",
    ),
    // Each draw re-appraises the plan; a million take minutes and hold a
    // few hundred MB of results.
    num(
        "finance.monte_carlo_draws",
        Ge(1.0),
        Le(1_000_000.0),
        "draws",
    ),
    num("finance.sd_prices", Ge(0.0), Le(2.0), "sd of log"),
    num("finance.sd_yields", Ge(0.0), Le(2.0), "sd of log"),
    num("finance.sd_costs", Ge(0.0), Le(2.0), "sd of log"),
    num("finance.sd_carbon_price", Ge(0.0), Le(2.0), "sd of log"),
    num("finance.sd_road_traffic", Ge(0.0), Le(2.0), "sd of log"),
    num("finance.sd_discount_rate", Ge(0.0), Le(0.5), "sd"),
    num(
        "finance.commercial_max_loss_probability",
        Ge(0.0),
        Le(1.0),
        "probability",
    ),
    num("finance.concessional_rate", Ge(0.0), Le(1.0), "per year"),
    num(
        "finance.concessional_usd_per_phase[]",
        Ge(0.0),
        Le(MONEY_TOTAL),
        "US$",
    ),
    num(
        "finance.guarantee_usd_per_phase[]",
        Ge(0.0),
        Le(MONEY_TOTAL),
        "US$",
    ),
    num("finance.guarantee_fee", Ge(0.0), Le(1.0), "per year"),
];

// ---------------------------------------------------------- valid ranges ----

/// Money totals (budgets, yearly flows) at most a trillion US$: beyond it a
/// figure is a typo, and sums of it lose the cents in f64.
const MONEY_TOTAL: f64 = 1.0e12;
/// Money per km of road or km2 of land, at most a billion US$.
const MONEY_PER_UNIT: f64 = 1.0e9;
/// Money per hectare, at most ten million US$.
const MONEY_PER_HA: f64 = 1.0e7;

/// One end of a valid range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// Greater than (lower end) / less than (upper end).
    Gt(f64),
    /// At least (lower end).
    Ge(f64),
    /// At most (upper end).
    Le(f64),
    /// Less than (upper end).
    Lt(f64),
}
use Bound::{Ge, Gt, Le};

impl Bound {
    /// Whether `v` satisfies this end of a range.
    fn holds(self, v: f64) -> bool {
        match self {
            Gt(a) => v > a,
            Ge(a) => v >= a,
            Le(a) => v <= a,
            Bound::Lt(a) => v < a,
        }
    }
}

/// A numeric setting's declared valid range. `key` is the dotted path in
/// the landscape file; `[]` stands for every element of a list.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    pub min: Bound,
    pub max: Bound,
    pub unit: &'static str,
}

const fn num(key: &'static str, min: Bound, max: Bound, unit: &'static str) -> Setting {
    Setting {
        key,
        min,
        max,
        unit,
    }
}

fn fmt_num(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1.0e6 || x.abs() < 1.0e-3) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

impl Setting {
    /// Whether `v` (already known finite) lies in the range.
    pub fn contains(&self, v: f64) -> bool {
        self.min.holds(v) && self.max.holds(v)
    }

    /// The range in words: "greater than 0 and at most 200 km/h".
    pub fn describe(&self) -> String {
        let end = |b: Bound| match b {
            Gt(a) => format!("greater than {}", fmt_num(a)),
            Ge(a) => format!("at least {}", fmt_num(a)),
            Le(a) => format!("at most {}", fmt_num(a)),
            Bound::Lt(a) => format!("less than {}", fmt_num(a)),
        };
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.unit)
        };
        format!("{} and {}{unit}", end(self.min), end(self.max))
    }

    /// The range in short form for the template: "(0, 200] km/h".
    pub fn short(&self) -> String {
        let lo = match self.min {
            Gt(a) | Bound::Lt(a) => format!("({}", fmt_num(a)),
            Ge(a) | Le(a) => format!("[{}", fmt_num(a)),
        };
        let hi = match self.max {
            Gt(a) | Bound::Lt(a) => format!("{})", fmt_num(a)),
            Ge(a) | Le(a) => format!("{}]", fmt_num(a)),
        };
        format!("{lo}, {hi}")
    }
}

/// Every numeric setting of the landscape file with its valid range (the
/// tables sit beside each section's defaults above). Landcover codes, the
/// seed and raster band numbers are integers of any value their type holds
/// (a band that does not exist is reported when the raster is opened).
pub fn settings() -> impl Iterator<Item = &'static Setting> {
    [
        GRID_RANGES,
        PARCEL_RANGES,
        ACCESS_RANGES,
        ECONOMICS_RANGES,
        HALO_RANGES,
        CONSERVATION_RANGES,
        RISK_RANGES,
        COEFFICIENT_RANGES,
        ROAD_UPGRADE_RANGES,
        TRANSITION_RANGES,
        FUNDING_RANGES,
        FINANCE_RANGES,
    ]
    .into_iter()
    .flatten()
}

/// Settings exempt from a declared range (see `settings`).
fn exempt(pattern: &str) -> bool {
    // (a scenario's settings are checked where its run applies them)
    pattern == "seed"
        || pattern.starts_with("landcover.")
        || pattern.starts_with("layers.")
        || pattern.starts_with("scenarios[]")
}

pub use crate::error::SettingProblem;

fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(x) if x.is_nan() => "nan".into(),
        toml::Value::Float(x) if x.is_infinite() => if *x > 0.0 { "inf" } else { "-inf" }.into(),
        toml::Value::Float(x) => fmt_num(*x),
        other => other.to_string(),
    }
}

impl LandscapeConfig {
    /// Every setting outside its declared range and every contradiction
    /// between settings, all at once (empty when the file is sound).
    pub fn check(&self) -> Vec<SettingProblem> {
        let mut out = Vec::new();
        match toml::Value::try_from(self) {
            Ok(v) => walk(&v, &mut String::new(), &mut String::new(), &mut out),
            Err(e) => out.push(SettingProblem {
                key: "(file)".into(),
                value: String::new(),
                message: format!("cannot be represented as TOML: {e}"),
            }),
        }
        self.check_relations(&mut out);
        self.check_sources(&mut out);
        out
    }

    fn check_relations(&self, out: &mut Vec<SettingProblem>) {
        /// The most a dollar in the horizon's last year may weigh against
        /// one today, (1 + r)^-H (the LPs solved to about 1e16 in tests).
        const MAX_DISCOUNT_WEIGHT: f64 = 1e12;
        let mut bad = |key: String, value: String, message: String| {
            out.push(SettingProblem {
                key,
                value,
                message,
            })
        };
        if let (Some(_), Some(p)) = (&self.parcels.planning_units, &self.layers.parcels) {
            bad(
                "parcels.planning_units".into(),
                "(table)".into(),
                format!(
                    "planning units replace a parcels layer, and [layers] parcels is given too (\"{}\"): keep one",
                    p.path.display()
                ),
            );
        }
        for (code, _) in self
            .parcels
            .planning_units
            .iter()
            .flat_map(|u| &u.landcover_uses)
        {
            if code.trim().parse::<i32>().is_err() {
                bad(
                    format!("parcels.planning_units.landcover_uses.{code}"),
                    format!("\"{code}\""),
                    "must be a land-cover code (a whole number)".into(),
                );
            }
        }
        let h = self.economics.horizon_years;
        // A negative rate weighs later years more; past a point no solver
        // can balance the weights (at -0.9 over 20 years a dollar in the
        // last year counts 1e20 times one today, and HiGHS fails).
        let r = self.economics.discount_rate;
        if r > -1.0 && r < 0.0 {
            let weight = (1.0 + r).powf(-(h as f64));
            if weight.is_nan() || weight > MAX_DISCOUNT_WEIGHT {
                let least = MAX_DISCOUNT_WEIGHT.powf(-1.0 / h as f64) - 1.0;
                bad(
                    "economics.discount_rate".into(),
                    format!("{r}"),
                    format!(
                        "with economics.horizon_years = {h} weighs a dollar in the last year {weight:.1e} times one today, past what the funding and capital LPs can solve (at most {MAX_DISCOUNT_WEIGHT:.0e}); it must be at least {:.3} over this horizon",
                        (least * 1000.0).ceil() / 1000.0
                    ),
                );
            }
        }
        let ph = self.finance.phase_start_years;
        if !(ph[0] < ph[1] && ph[1] < ph[2] && ph[2] <= h) {
            bad(
                "finance.phase_start_years".into(),
                format!("{ph:?}"),
                format!("phases must start in increasing years, the last within the horizon (economics.horizon_years = {h})"),
            );
        }
        let names =
            |what: &str, list: Vec<&String>, bad: &mut dyn FnMut(String, String, String)| {
                let mut seen = std::collections::BTreeSet::new();
                for (i, n) in list.into_iter().enumerate() {
                    if n.trim().is_empty() {
                        bad(
                            format!("{what}[{i}].name"),
                            format!("{n:?}"),
                            "must not be empty".into(),
                        );
                    } else if !seen.insert(n.as_str()) {
                        bad(
                            format!("{what}[{i}].name"),
                            format!("{n:?}"),
                            "appears twice; names must be unique".into(),
                        );
                    }
                }
            };
        let cat = &self.transitions.catalogue;
        if cat.is_empty() {
            bad(
                "transitions.catalogue".into(),
                "[]".into(),
                "needs at least one transition (remove the key to use the built-in catalogue)"
                    .into(),
            );
        }
        names(
            "transitions.catalogue",
            cat.iter().map(|t| &t.name).collect(),
            &mut bad,
        );
        for (i, t) in cat.iter().enumerate() {
            if t.min_elevation_m > t.max_elevation_m {
                bad(
                    format!("transitions.catalogue[{i}].min_elevation_m"),
                    fmt_num(t.min_elevation_m),
                    format!("is above max_elevation_m = {}", fmt_num(t.max_elevation_m)),
                );
            }
            if t.eligible_uses.is_empty() {
                bad(
                    format!("transitions.catalogue[{i}].eligible_uses"),
                    "[]".into(),
                    "needs at least one current use".into(),
                );
            }
        }
        let ru = &self.road_upgrades;
        names(
            "road_upgrades.vehicles",
            ru.vehicles.iter().map(|v| &v.name).collect(),
            &mut bad,
        );
        if ru.vehicles.is_empty() {
            bad(
                "road_upgrades.vehicles".into(),
                "[]".into(),
                "needs at least one vehicle type for the road-user cost model".into(),
            );
        } else {
            // Each set of shares splits one whole: trips, freight, counts.
            let freight_used = ru.benefit_method == BenefitMethod::ConsumerSurplus
                && ru.marketed_share > 0.0
                && ru.farm_output_t_per_ha > 0.0;
            for (what, share, needed) in [
                (
                    "passenger_share",
                    (|v: &VehicleType| v.passenger_share) as fn(&VehicleType) -> f64,
                    true,
                ),
                (
                    "freight_share",
                    |v: &VehicleType| v.freight_share,
                    freight_used,
                ),
                ("counted_share", |v: &VehicleType| v.counted_share, true),
            ] {
                let sum: f64 = ru.vehicles.iter().map(share).sum();
                if needed && sum.is_finite() && (sum - 1.0).abs() > 1e-6 {
                    let each: Vec<String> = ru
                        .vehicles
                        .iter()
                        .map(|v| format!("{} {}", v.name, fmt_num(share(v))))
                        .collect();
                    bad(
                        format!("road_upgrades.vehicles[].{what}"),
                        each.join(", "),
                        format!(
                            "the shares add up to {}; they must add up to 1",
                            fmt_num(sum)
                        ),
                    );
                }
            }
            for (i, v) in ru.vehicles.iter().enumerate() {
                if freight_used && v.freight_share > 0.0 && v.payload_t <= 0.0 {
                    bad(
                        format!("road_upgrades.vehicles[{i}].payload_t"),
                        fmt_num(v.payload_t),
                        format!("'{}' carries freight (freight_share = {}) and needs a payload above 0 t", v.name, fmt_num(v.freight_share)),
                    );
                }
            }
        }
        let src = &self.conservation_funding.sources;
        names(
            "conservation_funding.sources",
            src.iter().map(|s| &s.name).collect(),
            &mut bad,
        );
        for (i, s) in src.iter().enumerate() {
            if s.eligibility == Eligibility::Categories && s.categories.is_empty() {
                bad(
                    format!("conservation_funding.sources[{i}].categories"),
                    "[]".into(),
                    "eligibility = \"categories\" needs the categories it may fund".into(),
                );
            }
        }
        // Optional fields are unset with "" (TOML has no null); the two
        // required ones cannot be.
        for (key, v) in [
            ("roads.class_field", &self.roads.class_field),
            ("parcels.use_field", &self.parcels.use_field),
        ] {
            if v.trim().is_empty() {
                bad(
                    key.into(),
                    "\"\"".into(),
                    "must name a field of the layer".into(),
                );
            }
        }
        let lc = &self.landcover;
        for (a, la, b, lb) in [
            ("forest", &lc.forest, "open", &lc.open),
            ("forest", &lc.forest, "water", &lc.water),
            ("open", &lc.open, "water", &lc.water),
        ] {
            for c in la.iter().filter(|c| lb.contains(c)) {
                bad(
                    format!("landcover.{a}"),
                    c.to_string(),
                    format!("code {c} is also listed in landcover.{b}; a code has one kind"),
                );
            }
        }
    }
}

/// Walk the parsed file, checking every number against its declared range.
/// `key` carries list positions, `pattern` carries `[]`.
fn walk(v: &toml::Value, key: &mut String, pattern: &mut String, out: &mut Vec<SettingProblem>) {
    match v {
        toml::Value::Table(t) => {
            for (k, child) in t {
                let (kl, pl) = (key.len(), pattern.len());
                if !key.is_empty() {
                    key.push('.');
                    pattern.push('.');
                }
                key.push_str(k);
                pattern.push_str(k);
                walk(child, key, pattern, out);
                key.truncate(kl);
                pattern.truncate(pl);
            }
        }
        toml::Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let (kl, pl) = (key.len(), pattern.len());
                key.push_str(&format!("[{i}]"));
                pattern.push_str("[]");
                walk(child, key, pattern, out);
                key.truncate(kl);
                pattern.truncate(pl);
            }
        }
        toml::Value::Integer(_) | toml::Value::Float(_) if !exempt(pattern) => {
            let x = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .unwrap_or(f64::NAN);
            let Some(s) = settings().find(|s| s.key == pattern.as_str()) else {
                out.push(SettingProblem {
                    key: key.clone(),
                    value: show(v),
                    message: "has no declared range (a bug in greenhalo: please report it)".into(),
                });
                return;
            };
            if !x.is_finite() {
                out.push(SettingProblem {
                    key: key.clone(),
                    value: show(v),
                    message: format!("must be a finite number, {}", s.describe()),
                });
            } else if !s.contains(x) {
                out.push(SettingProblem {
                    key: key.clone(),
                    value: show(v),
                    message: format!("out of range: must be {}", s.describe()),
                });
            }
        }
        _ => {}
    }
}

/// Append each numeric setting's valid range to its line of the template.
fn annotate_ranges(template: &str) -> String {
    let mut section = String::new();
    let mut out = String::with_capacity(template.len() * 5 / 4);
    for line in template.lines() {
        let t = line.trim_start();
        if let Some(h) = t.strip_prefix("[[") {
            section = format!("{}[]", h.split("]]").next().unwrap_or("").trim());
        } else if t.starts_with('[') && !t.contains('=') {
            section = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
        }
        out.push_str(line);
        if !t.starts_with('#') && !t.starts_with('[') {
            if let Some((k, _)) = t.split_once('=') {
                let k = k.trim();
                let full = if section.is_empty() {
                    k.to_string()
                } else {
                    format!("{section}.{k}")
                };
                let arr = format!("{full}[]");
                if let Some(s) = settings().find(|s| s.key == full || s.key == arr) {
                    let range = format!("{} {}", s.short(), s.unit);
                    if line.contains(" # ") || line.contains("  #") {
                        out.push_str(&format!("; valid {}", range.trim_end()));
                    } else {
                        out.push_str(&format!("  # valid {}", range.trim_end()));
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

// -------------------------------------------------------------- template ----

/// The commented landscape file `greenhalo init` writes. Values are the
/// defaults above; layer paths name the files `greenhalo synth` writes.
pub fn template() -> String {
    annotate_ranges(&template_text())
}

fn template_text() -> String {
    let g = GridParams::default();
    let r = RoadFields::default();
    let m = MarketFields::default();
    let p = ParcelFields::default();
    let c = ConservationFields::default();
    let lc = LandcoverClasses::default();
    let a = AccessParams::default();
    let e = Economics::default();
    let h = HaloParams::default();
    let rk = RiskParams::default();
    let ru = toml::to_string(&BTreeMap::from([(
        "road_upgrades",
        RoadUpgradeParams::default(),
    )]))
    .expect("plain values serialise");
    let tr = toml::to_string(&BTreeMap::from([(
        "transitions",
        TransitionParams::default(),
    )]))
    .expect("plain values serialise");
    let fi = toml::to_string(&BTreeMap::from([("finance", FinanceParams::default())]))
        .expect("plain values serialise");
    let cf = toml::to_string(&BTreeMap::from([(
        "conservation_funding",
        FundingParams::default(),
    )]))
    .expect("plain values serialise");
    let rc = &rk.default_coefficients;
    let q = |s: &Option<String>| match s {
        Some(v) => format!("{v:?}"),
        None => "\"\"".into(),
    };
    let list = |v: &[i32]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let class_values = r
        .class_values
        .iter()
        .map(|(k, v)| format!("{k:?} = {:?}", v.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let use_values = p
        .use_values
        .iter()
        .map(|(k, v)| format!("{k:?} = {:?}", v.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        r#"# greenhalo landscape file. Paths are relative to this file; any format
# GDAL reads, each in its own CRS. Unknown keys are an error.
# Run `greenhalo validate landscape.toml` after editing.

name = "My landscape"
# Seed for every random step (sampling, Monte Carlo): same seed, same outputs.
seed = {seed}

[layers]
# Required. A layer is a path, or a table: {{ path = "x.gpkg", layer = "name" }}.
aoi = "aoi.geojson"                 # polygon(s): extent of the analysis
# Roads: one layer or a list. `set` gives every feature of a source a fixed
# attribute, e.g. [{{ path = "dep.shp", set = {{ class = "secondary" }} }}, ...]
roads = "roads.gpkg"                # lines with a class attribute
markets = "markets.shp"             # points: travel-time targets
parcels = "parcels.geojson"         # farmland polygons with a current-use attribute
conservation = "conservation.fgb"   # protected / conservation area polygons
forest = "forest.tif"               # forest cover, 0/1 or fraction 0-1
elevation = "dem.tif"               # metres
# Optional:
forest_loss = "forest_loss.tif"     # year (1-99 or 2001-2099) or 0/1 of historical loss
population = "population.tif"       # people per cell
landcover = "landcover.tif"         # classes, see [landcover]
# carbon = "carbon.tif"             # t C/ha above + below ground
# biodiversity = "biodiversity.tif" # index valued by [conservation_funding]

[grid]
# crs = "EPSG:32718"                # default: UTM zone of the AOI centroid
resolution_m = {res:?}                 # cell size, metres
buffer_km = 0.0                     # the grid reaches this far beyond the AOI: roads and markets just outside carry travel

[roads]
class_field = {class_field:?}              # field holding the road class
surface_field = {surface_field}          # optional: paved / gravel / dirt
aadt_field = {aadt_field}                # optional: vehicles per day
name_field = {road_name}                # optional: road name or route description

[roads.class_values]
# value in class_field = greenhalo class (primary, secondary, tertiary, track)
{class_values}

[markets]
name_field = {mname}
weight_field = {mweight}             # optional: population or weight

[parcels]
use_field = {use_field:?}                  # field holding the current use
# id_field = "parcel_id"            # optional: default is the feature id

[parcels.use_values]
# value in use_field = greenhalo use
# (pasture, degraded_pasture, annual_crops, coffee, cocoa, other)
{use_values}

# No cadastre? Leave out [layers] parcels: planning units tile the farmland
# (not forest, not water, outside conservation areas) of the AOI instead.
# [parcels.planning_units]
# shape = "hexagon"                 # or "square"
# area_ha = 25.0                    # area of a whole tile; valid (0, 100000] ha
# min_farmland_share = 0.5          # keep tiles at least this much farmland; valid (0, 1] share
# default_use = "pasture"           # current use where the land cover does not say
# landcover_uses = {{ "2" = "pasture" }}  # land-cover code = current use

[conservation]
name_field = {cname}
category_field = {ccat}
# areas with less of their legal area inside the AOI are left out of the
# funding (share, [0, 1))
min_share_in_aoi = 0.01

[landcover]
# land-cover codes of each kind (used only with a landcover raster)
forest = [{lcf}]
open = [{lco}]
water = [{lcw}]

[access]
# road speeds by class, km/h (SPEC: paved 60, gravel 40, dirt 20, track 10)
primary_kmh = {pk:?}
secondary_kmh = {sk:?}
tertiary_kmh = {tk:?}
track_kmh = {trk:?}
# walking speeds on flat ground, km/h, slowed by slope (Tobler)
forest_kmh = {fk:?}
open_kmh = {ok:?}

[economics]
horizon_years = {hy}                  # appraisal horizon H
discount_rate = {dr:?}                # r
carbon_price_usd_per_tco2 = {cp:?}
carbon_density_tc_per_ha = {cd:?}     # used where no carbon raster is given
currency_year = {cy}                # every money figure is in US$ of this year
price_basis = "{pb}"                 # "real" (constant dollars) or "nominal"

[halo]
distance_km = {hd:?}                   # Green Halo ring width around conservation areas

[risk]
loss_period_years = {lpy}             # years a 0/1 forest_loss raster covers
sample_per_class = {spc}            # loss / non-loss cells sampled for the fit
holdout_share = {hs:?}                # share held out for AUC
l2 = {l2:?}                           # ridge penalty on standardised slopes
cv_folds = {cvf}                        # spatial block cross-validation folds
cv_block_km = {cvb:?}                  # side of its blocks
near_road_km = {nrk:?}                  # the AUC where road decisions are made
auc_floor = {af:?}                     # below this block-CV AUC the run warns
forward_years = {fy}                   # last years of a year-coded loss raster predicted (0: no forward check)
forward_cell_km = {fck:?}              # coarse cells of the forward check

[risk.default_coefficients]
# annual logit, used only without a forest_loss raster (sources in src/config.rs)
intercept = {c0:?}
ln_travel_time_min = {c1:?}
road_distance_km = {c2:?}
edge_distance_km = {c3:?}
slope_deg = {c4:?}
elevation_km = {c5:?}
protected = {c6:?}

# [road_upgrades]: segmentation, upgrade costs (US$/km by starting class,
# flat ground), terrain factors, maintenance (US$/km/yr), the safeguard
# threshold (ha of extra loss per US$1 M of benefit) and the road budget;
# then the road-user benefits by the World Bank RED method: trips per
# household where no `aadt` is counted, value of time, marketed farm output
# (as freight traffic, or with benefit_method = "producer_surplus" as a
# producer surplus instead), price elasticity of the generated traffic
# (rule of half), traffic growth, and the fleet: each vehicle type's
# occupancy, shares of passenger trips, freight and counted traffic, and
# operating cost by road class (US$/veh-km). Sources in src/config.rs.
{ru}
# [transitions]: baseline net revenue by current use (US$/ha/yr), hurdle rate, parcel budget,
# area target (km2), forest spared per ha transitioned in the halo, the time
# limit of each parcel selection (s), and the
# catalogue ("keep current use" is always available). Sources in src/config.rs.
{tr}
# [conservation_funding]: management cost (US$/km2/yr), effectiveness,
# additionality threshold, biodiversity value, and the funding sources with
# their eligibility: "any", "categories" (listed), "additional" (threat),
# and their layer of the capital stack.
{cf}
# Phases, target private share per phase, extension and insurance lines,
# Monte Carlo draws and spreads.
{fi}
# Where your values come from, shown beside them in the report's assumptions:
# a setting key or a section, and its citation. For example:
# [sources]
# "road_upgrades.cost_tertiary_usd_per_km" = "Provias Descentralizado unit costs, 2023"
# "transitions.catalogue" = "Regional cocoa and coffee cooperatives' budgets, 2024"

# Scenarios that `greenhalo sweep landscape.toml -o DIR` runs one by one and
# compares (`run` ignores them): a name and the settings each changes, as
# --set would. For example:
# [[scenarios]]
# name = "low carbon price"
# set = {{ "economics.carbon_price_usd_per_tco2" = 10 }}
# [[scenarios]]
# name = "half road budget"
# set = {{ "road_upgrades.road_budget_usd" = 10e6 }}
"#,
        seed = default_seed(),
        res = g.resolution_m,
        class_field = r.class_field,
        surface_field = q(&r.surface_field),
        aadt_field = q(&r.aadt_field),
        road_name = q(&r.name_field),
        class_values = class_values,
        mname = q(&m.name_field),
        mweight = q(&m.weight_field),
        use_field = p.use_field,
        use_values = use_values,
        cname = q(&c.name_field),
        ccat = q(&c.category_field),
        lcf = list(&lc.forest),
        lco = list(&lc.open),
        lcw = list(&lc.water),
        pk = a.primary_kmh,
        sk = a.secondary_kmh,
        tk = a.tertiary_kmh,
        trk = a.track_kmh,
        fk = a.forest_kmh,
        ok = a.open_kmh,
        hy = e.horizon_years,
        dr = e.discount_rate,
        cp = e.carbon_price_usd_per_tco2,
        cd = e.carbon_density_tc_per_ha,
        cy = e.currency_year,
        pb = e.price_basis.as_str(),
        hd = h.distance_km,
        lpy = rk.loss_period_years,
        spc = rk.sample_per_class,
        hs = rk.holdout_share,
        l2 = rk.l2,
        cvf = rk.cv_folds,
        cvb = rk.cv_block_km,
        nrk = rk.near_road_km,
        af = rk.auc_floor,
        fy = rk.forward_years,
        fck = rk.forward_cell_km,
        c0 = rc.intercept,
        c1 = rc.ln_travel_time_min,
        c2 = rc.road_distance_km,
        c3 = rc.edge_distance_km,
        c4 = rc.slope_deg,
        c5 = rc.elevation_km,
        c6 = rc.protected,
        ru = ru,
        tr = tr,
        cf = cf,
        fi = fi,
    )
}

/// Citations behind the built-in defaults, by setting key or section
/// (a key's own entry wins over its section's). Shown in the report's
/// assumptions for every value left at its default; the doc comments of
/// the parameter structs above say more.
pub const DEFAULT_SOURCES: &[(&str, &str)] = &[
    (
        "road_upgrades.force_in",
        "the planner's choice: none forced by default",
    ),
    (
        "road_upgrades.force_out",
        "the planner's choice: none forced by default",
    ),
    (
        "road_upgrades.alternatives",
        "greenhalo default: ten, as a planner can read them; Marxan and prioritizr list as many as asked",
    ),
    (
        "road_upgrades.alternatives_gap",
        "greenhalo default: within 1% of the best, prioritizr's gap portfolios' order of magnitude",
    ),
    (
        "road_upgrades.importance",
        "prioritizr's replacement importance (Hanson et al.), each funded segment forbidden and the portfolio re-chosen exactly",
    ),
    ("grid", "greenhalo default"),
    ("access", "greenhalo defaults: typical travel speeds by road class and off-road cover"),
    ("economics.horizon_years", "greenhalo default: 20 years, the Alto Mayo pilot's horizon"),
    (
        "economics.discount_rate",
        "greenhalo default: 10%. Peru's public investment system (Invierte.pe) uses a social discount rate of 8% real (MEF, Directiva 001-2019-EF/63.01, Anexo 11): set 0.08 for an appraisal under its rules",
    ),
    ("economics.carbon_price_usd_per_tco2", "greenhalo default"),
    (
        "economics.carbon_density_tc_per_ha",
        "greenhalo default; lowland Amazon forests hold about 100-150 t C/ha",
    ),
    ("economics", "greenhalo default"),
    (
        "halo.distance_km",
        "Barber et al. 2014 (Biol. Conserv. 177:203): ~95% of Amazon deforestation lies within 5.5 km of a road",
    ),
    (
        "risk.default_coefficients.road_distance_km",
        "Barber et al. 2014: ~95% of deforestation within 5.5 km of a road",
    ),
    (
        "risk.default_coefficients.protected",
        "Barber et al. 2014: 10.9% loss in protected areas near roads vs 43.6% unprotected",
    ),
    (
        "risk.default_coefficients",
        "Order of magnitude of spatial deforestation models of the Peruvian Amazon (uncalibrated runs only)",
    ),
    (
        "risk.cv_",
        "Spatial block cross-validation (Roberts et al. 2017, Ecography 40:913): blocks larger than the range of spatial autocorrelation",
    ),
    (
        "risk.forward_",
        "forestatrisk's validation: predicted against observed loss on coarse cells of about 10 km (Vieilledent 2021)",
    ),
    ("risk", "greenhalo default"),
    (
        "road_upgrades.cost_",
        "Order of magnitude of Peruvian public road projects (MTC / Provias)",
    ),
    (
        "road_upgrades.terrain_factor_",
        "World Bank ROCKS road-cost database terrain classes",
    ),
    (
        "road_upgrades.value_of_time_usd_per_hour",
        "World Bank ITS Note 10: non-work time 53-70% of the wage rate in rural stated-preference studies",
    ),
    (
        "road_upgrades.trips_per_household_week",
        "Estimate: two market days' round trips a week (no San Martín origin-destination survey found)",
    ),
    ("road_upgrades.household_size", "Estimate for rural San Martín"),
    ("road_upgrades.marketed_share", "Estimate: the marketed surplus, not total yield (HDM-4 notes on double counting)"),
    (
        "road_upgrades.price_elasticity",
        "Estimate: 1.0, sensitivity 0.5-1.5 (RED takes a user-defined elasticity; long-run fuel-price elasticities of 0.7-0.8, Goodwin 1992)",
    ),
    ("road_upgrades.traffic_growth", "Estimate: regional growth of traffic"),
    ("road_upgrades.low_volume_aadt", "World Bank rural transport toolkit Note 16: low-volume roads carry under 200 motor vehicles a day"),
    ("road_upgrades.benefit_method", "World Bank / HDM-4: consumer surplus on traffic or producer surplus on output, never both"),
    (
        "road_upgrades.vehicles",
        "Estimates of the order of HDM-4 unit costs by surface; occupancies estimated (car 3, colectivo 12, bus 30, truck 1.5; Peru-calibrated VOC tables not retrieved)",
    ),
    (
        "road_upgrades.farm_output_t_per_ha",
        "Alto Mayo crops; Goñas et al. 2024 (Forests 15:500) report 0.96 t/ha of dry cocoa",
    ),
    (
        "road_upgrades.transport_usd_per_tonne_hour",
        "Rural freight in Peru, about US$0.5 per tonne-km at 20 km/h",
    ),
    ("road_upgrades", "greenhalo defaults"),
    (
        "transitions.catalogue",
        "Goñas et al. 2024 (Forests 15:500) and regional agroforestry budgets (see src/config.rs)",
    ),
    ("transitions", "greenhalo defaults"),
    (
        "conservation_funding.management_usd_per_km2_year",
        "SERNANP financial-needs studies: a few US$ per hectare a year",
    ),
    (
        "conservation_funding.effectiveness",
        "Barber et al. 2014: protected areas near roads lost three quarters less forest",
    ),
    (
        "conservation_funding.sources",
        "Illustrative sources of the pilot's kind (replace with the landscape's own)",
    ),
    ("conservation_funding", "greenhalo defaults"),
    (
        "finance.sd_road_traffic",
        "Flyvbjerg, Skamris Holm & Buhl 2005 (JAPA 71:131): half of road traffic forecasts miss by more than 20%",
    ),
    ("finance", "greenhalo defaults"),
    ("landcover", "greenhalo default classes"),
    ("seed", "greenhalo default"),
];

/// One parameter that shaped the plan, for the report's assumptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption {
    /// Dotted key with list positions, e.g. `transitions.catalogue[0].name`.
    pub key: String,
    pub value: String,
    /// Unit from the declared range ("" where none).
    pub unit: &'static str,
    /// Whether the value is the built-in default (else the landscape file set it).
    pub is_default: bool,
    /// Citation: the landscape file's `[sources]` entry, else, for a value
    /// left at its default, the built-in one.
    pub source: Option<String>,
}

/// The most specific entry of `table` for `key` (exact key, its pattern,
/// then the longest prefix ending at a section or name boundary).
fn cite<'a>(table: impl Iterator<Item = (&'a str, &'a str)>, key: &str) -> Option<&'a str> {
    table
        .filter(|(k, _)| names(k, key, k.ends_with('_')))
        .max_by_key(|(k, _)| k.len())
        .map(|(_, v)| v)
}

/// Whether `name` names the setting `key` (`a.b[3].c`): the key itself, its
/// pattern (`a.b[].c`), or a section or list holding it (`a.b`); with
/// `stem`, also a prefix of a key's last part (`road_upgrades.cost_`).
fn names(name: &str, key: &str, stem: bool) -> bool {
    let pattern = pattern_of(key);
    [key, pattern.as_str()].iter().any(|full| {
        *full == name
            || (full.starts_with(name)
                && (stem || matches!(full.as_bytes().get(name.len()), Some(b'.') | Some(b'['))))
    })
}

/// `a.b[3].c` → `a.b[].c`.
fn pattern_of(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut in_index = false;
    for ch in key.chars() {
        match ch {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(ch),
        }
    }
    out
}

/// Leaves of `v` as (dotted key, shown value); arrays of scalars stay one
/// value, arrays of tables are walked with positions.
fn leaves(v: &toml::Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, child) in t {
                let sub = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                leaves(child, &sub, out);
            }
        }
        toml::Value::Array(a) if a.iter().any(|x| x.is_table()) => {
            for (i, child) in a.iter().enumerate() {
                leaves(child, &format!("{key}[{i}]"), out);
            }
        }
        toml::Value::String(s) => out.push((key.to_string(), s.clone())),
        other => out.push((key.to_string(), show(other))),
    }
}

/// Sections of the file that hold parameters (not layer paths or field names).
const PARAMETER_SECTIONS: &[&str] = &[
    "seed",
    "grid",
    "landcover",
    "access",
    "economics",
    "halo",
    "risk",
    "road_upgrades",
    "transitions",
    "conservation_funding",
    "finance",
];

impl LandscapeConfig {
    /// The same file with every parameter section at its default (layers,
    /// field names and sources kept).
    fn at_defaults(&self) -> LandscapeConfig {
        LandscapeConfig {
            seed: default_seed(),
            grid: GridParams::default(),
            landcover: LandcoverClasses::default(),
            access: AccessParams::default(),
            economics: Economics::default(),
            halo: HaloParams::default(),
            risk: RiskParams::default(),
            road_upgrades: RoadUpgradeParams::default(),
            transitions: TransitionParams::default(),
            conservation_funding: FundingParams::default(),
            finance: FinanceParams::default(),
            ..self.clone()
        }
    }

    fn parameter_leaves(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Ok(toml::Value::Table(t)) = toml::Value::try_from(self) {
            for sec in PARAMETER_SECTIONS {
                if let Some(v) = t.get(*sec) {
                    leaves(v, sec, &mut out);
                }
            }
        }
        out
    }

    /// Every parameter that shaped the plan, in file order, with its unit,
    /// whether it is the default, and its citation.
    pub fn assumptions(&self) -> Vec<Assumption> {
        let defaults: BTreeMap<String, String> =
            self.at_defaults().parameter_leaves().into_iter().collect();
        self.parameter_leaves()
            .into_iter()
            .map(|(key, value)| {
                let pattern = pattern_of(&key);
                let unit = settings()
                    .find(|s| s.key == pattern)
                    .map(|s| s.unit)
                    .unwrap_or("");
                let is_default = defaults.get(&key) == Some(&value);
                let source = cite(
                    self.sources.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                    &key,
                )
                .or_else(|| {
                    is_default
                        .then(|| cite(DEFAULT_SOURCES.iter().copied(), &key))
                        .flatten()
                })
                .map(str::to_string);
                Assumption {
                    key,
                    value,
                    unit,
                    is_default,
                    source,
                }
            })
            .collect()
    }

    /// `[sources]` keys that name no parameter.
    fn check_sources(&self, out: &mut Vec<SettingProblem>) {
        let keys: Vec<(String, String)> = self.parameter_leaves();
        for (k, v) in &self.sources {
            let known = keys.iter().any(|(key, _)| names(k, key, false));
            if !known {
                out.push(SettingProblem {
                    key: format!("sources.{k:?}"),
                    value: format!("{v:?}"),
                    message: "names no setting or section of this file (write it as \"section.key\", e.g. \"economics.discount_rate\")".into(),
                });
            } else if v.trim().is_empty() {
                out.push(SettingProblem {
                    key: format!("sources.{k:?}"),
                    value: format!("{v:?}"),
                    message: "is empty: give the citation or remove the line".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_the_defaults() {
        let cfg = LandscapeConfig::parse(&template()).expect("template parses");
        assert_eq!(cfg.grid, GridParams::default());
        assert_eq!(cfg.roads, RoadFields::default());
        assert_eq!(cfg.markets, MarketFields::default());
        assert_eq!(cfg.parcels, ParcelFields::default());
        assert_eq!(cfg.conservation, ConservationFields::default());
        assert_eq!(cfg.landcover, LandcoverClasses::default());
        assert_eq!(cfg.access, AccessParams::default());
        assert_eq!(cfg.economics, Economics::default());
        assert_eq!(cfg.halo, HaloParams::default());
        assert_eq!(cfg.risk, RiskParams::default());
        assert_eq!(cfg.road_upgrades, RoadUpgradeParams::default());
        assert_eq!(cfg.transitions, TransitionParams::default());
        assert_eq!(cfg.conservation_funding, FundingParams::default());
        assert_eq!(cfg.finance, FinanceParams::default());
        assert_eq!(cfg.seed, default_seed());
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line_number() {
        let text = template().replace("horizon_years", "horizon_yeers");
        let err = LandscapeConfig::parse(&text).unwrap_err();
        assert!(err.contains("horizon_yeers"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn layers_accept_paths_tables_and_lists() {
        let text = r#"
            [layers]
            aoi = "a.geojson"
            roads = [{ path = "dep.geojson", set = { class = "secondary" } }, "loc.gpkg"]
            markets = { path = "m.gpkg", layer = "towns" }
            parcels = "p.geojson"
            conservation = "c.fgb"
            forest = { path = "f.tif", band = 2 }
            elevation = "dem.tif"
        "#;
        let cfg = LandscapeConfig::parse(text).unwrap();
        assert_eq!(cfg.layers.roads.len(), 2);
        assert_eq!(cfg.layers.roads[0].set["class"], "secondary");
        assert_eq!(cfg.layers.markets.layer.as_deref(), Some("towns"));
        assert_eq!(cfg.layers.forest.as_ref().unwrap().band, 2);
        assert!(cfg.layers.forest_loss.is_none());
    }

    #[test]
    fn a_typo_inside_a_layer_table_is_named() {
        let text = r#"
            [layers]
            aoi = { path = "a.geojson", layr = "x" }
            roads = "r.gpkg"
            markets = "m.gpkg"
            parcels = "p.geojson"
            conservation = "c.fgb"
            forest = "f.tif"
            elevation = "dem.tif"
        "#;
        let err = LandscapeConfig::parse(text).unwrap_err();
        assert!(err.contains("layr"), "{err}");
    }

    fn defaults() -> LandscapeConfig {
        LandscapeConfig::parse(&template()).unwrap()
    }

    #[test]
    fn assumptions_say_default_or_set_and_cite_the_most_specific_source() {
        let mut cfg = defaults();
        cfg.economics.discount_rate = 0.08;
        cfg.road_upgrades.cost_track_usd_per_km = 70_000.0;
        cfg.sources.insert(
            "economics.discount_rate".into(),
            "Ministry of Economy 2024".into(),
        );
        cfg.sources
            .insert("transitions.catalogue".into(), "Cooperative budgets".into());
        assert!(cfg.check().is_empty(), "{:?}", cfg.check());
        let a = cfg.assumptions();
        let get = |k: &str| a.iter().find(|x| x.key == k).unwrap().clone();
        let dr = get("economics.discount_rate");
        assert_eq!((dr.value.as_str(), dr.is_default), ("0.08", false));
        assert_eq!(dr.unit, "per year");
        assert_eq!(dr.source.as_deref(), Some("Ministry of Economy 2024"));
        // Changed without a citation: no built-in source is claimed for it.
        let ct = get("road_upgrades.cost_track_usd_per_km");
        assert!(!ct.is_default && ct.source.is_none());
        // Left at the default: the built-in citation, most specific first.
        let hd = get("halo.distance_km");
        assert!(hd.is_default && hd.source.unwrap().starts_with("Barber et al. 2014"));
        let rt = get("road_upgrades.terrain_factor_rolling");
        assert!(rt.source.unwrap().contains("ROCKS"));
        // The user's section citation covers every item of the catalogue.
        let n = get("transitions.catalogue[2].establishment_usd_per_ha");
        assert_eq!(n.source.as_deref(), Some("Cooperative budgets"));
        assert_eq!(n.unit, "US$/ha");
        assert_eq!(get("economics.price_basis").value, "real");
        // Layer paths and field names are not assumptions.
        assert!(a.iter().all(|x| !x.key.starts_with("layers")));
        // A citation of a key that does not exist is refused by name.
        cfg.sources.insert("economics.discount".into(), "x".into());
        let p = cfg.check();
        assert_eq!(p.len(), 1);
        assert!(
            p[0].key.contains("economics.discount") && p[0].message.contains("names no setting")
        );
    }

    /// Every numeric leaf of the file has a declared range, and every
    /// declared range names a key that exists.
    #[test]
    fn every_number_has_a_declared_range() {
        let mut cfg = defaults();
        assert_eq!(cfg.check(), vec![], "the defaults are valid");
        // Planning units are a table of their own, absent by default.
        cfg.parcels.planning_units = Some(PlanningUnits::default());
        let v = toml::Value::try_from(&cfg).unwrap();
        let mut patterns = Vec::new();
        fn leaves(v: &toml::Value, p: String, out: &mut Vec<String>) {
            match v {
                toml::Value::Table(t) => {
                    for (k, c) in t {
                        let q = if p.is_empty() {
                            k.clone()
                        } else {
                            format!("{p}.{k}")
                        };
                        leaves(c, q, out);
                    }
                }
                toml::Value::Array(a) => a.iter().for_each(|c| leaves(c, format!("{p}[]"), out)),
                toml::Value::Integer(_) | toml::Value::Float(_) => out.push(p),
                _ => {}
            }
        }
        leaves(&v, String::new(), &mut patterns);
        for s in settings() {
            assert!(
                patterns.iter().any(|p| p == s.key),
                "{} is not a key",
                s.key
            );
        }
        let ranged = patterns.iter().filter(|p| !exempt(p)).count();
        assert!(ranged >= 90, "{ranged}");
    }

    #[test]
    fn the_template_shows_every_range() {
        let t = template();
        for s in settings() {
            let short = s.short();
            assert!(t.contains(&short), "{} ({short}) not shown", s.key);
        }
        assert!(
            t.contains("primary_kmh = 60.0  # valid (0, 200] km/h"),
            "{t}"
        );
        assert!(
            t.contains("discount_rate = 0.1                # r; valid (-1, 1] per year"),
            "{t}"
        );
    }

    fn set(key: &str, value: &str) -> Vec<SettingProblem> {
        let (section, k) = key.rsplit_once('.').unwrap();
        let mut text = template();
        let header = format!("[{section}]\n");
        let at = text.find(&header).unwrap_or_else(|| panic!("{section}")) + header.len();
        let rest = &text[at..];
        let line_start = rest
            .find(&format!("\n{k} = "))
            .map(|i| i + 1)
            .or_else(|| rest.starts_with(&format!("{k} = ")).then_some(0))
            .unwrap_or_else(|| panic!("{key}"));
        let line_end = rest[line_start..].find('\n').unwrap() + line_start;
        text.replace_range(at + line_start..at + line_end, &format!("{k} = {value}"));
        match LandscapeConfig::parse(&text) {
            Ok(cfg) => cfg.check(),
            Err(e) => vec![SettingProblem {
                key: key.into(),
                value: value.into(),
                message: e,
            }],
        }
    }

    /// The settings of issue 13 that hung, panicked, aborted or wrote NaN:
    /// each is refused with its key, value and range.
    #[test]
    fn nonsensical_settings_are_refused_with_key_value_and_range() {
        for (key, value, words) in [
            ("access.primary_kmh", "-60.0", "greater than 0"),
            ("road_upgrades.max_segment_km", "0.0", "at least 0.1"),
            (
                "road_upgrades.primary_upgraded_kmh",
                "-80.0",
                "greater than 0",
            ),
            (
                "transitions.baseline_pasture_usd_per_ha",
                "9.2e18",
                "at most 1e7",
            ),
            ("finance.sd_costs", "nan", "finite"),
            ("economics.carbon_density_tc_per_ha", "-1e308", "at least 0"),
            ("economics.horizon_years", "4000000000", "at most 100"),
            ("finance.monte_carlo_draws", "10000000000", "at most 1e6"),
            ("economics.discount_rate", "-1.0", "greater than -1"),
            ("economics.discount_rate", "nan", "finite"),
            ("risk.sample_per_class", "0", "at least 10"),
            (
                "road_upgrades.maintenance_track_usd_per_km",
                "-inf",
                "finite",
            ),
            ("road_upgrades.road_budget_usd", "inf", "finite"),
            ("conservation_funding.effectiveness", "1.5", "at most 1"),
            ("grid.resolution_m", "0.0", "at least 1"),
        ] {
            let p = set(key, value);
            assert_eq!(p.len(), 1, "{key} = {value}: {p:?}");
            let shown = p[0].to_string();
            assert!(shown.starts_with(&format!("{key} = ")), "{shown}");
            assert!(shown.contains(words), "{shown}");
        }
    }

    #[test]
    fn contradicting_settings_are_refused() {
        let mut cfg = defaults();
        cfg.finance.phase_start_years = [1, 6, 30];
        cfg.transitions.catalogue[1].min_elevation_m = 3000.0;
        cfg.transitions.catalogue[2].name = cfg.transitions.catalogue[0].name.clone();
        cfg.conservation_funding.sources[1].categories.clear();
        cfg.landcover.open.push(1);
        cfg.roads.class_field = " ".into();
        let p: Vec<String> = cfg.check().iter().map(|p| p.key.clone()).collect();
        assert_eq!(
            p,
            [
                "finance.phase_start_years",
                "transitions.catalogue[2].name",
                "transitions.catalogue[1].min_elevation_m",
                "conservation_funding.sources[1].categories",
                "roads.class_field",
                "landcover.forest",
            ]
        );
        // List elements carry their position.
        let mut cfg = defaults();
        cfg.transitions.catalogue[3].max_slope_deg = 91.0;
        cfg.finance.target_private_share[2] = -0.1;
        let keys: Vec<String> = cfg.check().iter().map(|p| p.key.clone()).collect();
        assert_eq!(
            keys,
            [
                "finance.target_private_share[2]",
                "transitions.catalogue[3].max_slope_deg"
            ]
        );
    }

    /// The road-user cost model's settings: a negative elasticity, an
    /// empty vehicle, shares that do not add up and a class missing from a
    /// vehicle's cost table are refused before any work, naming the key.
    #[test]
    fn road_user_cost_settings_are_checked() {
        let p = set("road_upgrades.price_elasticity", "-0.5");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].to_string().starts_with(
                "road_upgrades.price_elasticity = -0.5: out of range: must be at least 0"
            ),
            "{}",
            p[0]
        );
        let mut cfg = defaults();
        cfg.road_upgrades.vehicles[2].occupancy = 0.0;
        let p = cfg.check();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].to_string().starts_with(
                "road_upgrades.vehicles[2].occupancy = 0: out of range: must be greater than 0"
            ),
            "{}",
            p[0]
        );
        let mut cfg = defaults();
        cfg.road_upgrades.vehicles[0].passenger_share = 0.9;
        cfg.road_upgrades.vehicles[4].payload_t = 0.0;
        cfg.road_upgrades.vehicles[1].name = "truck".into();
        let keys: Vec<String> = cfg.check().iter().map(|p| p.to_string()).collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(
            keys[0].starts_with("road_upgrades.vehicles[4].name = \"truck\": appears twice"),
            "{keys:?}"
        );
        assert!(
            keys[1].contains("road_upgrades.vehicles[].passenger_share")
                && keys[1].contains("add up to 1.45"),
            "{keys:?}"
        );
        assert!(
            keys[2].starts_with("road_upgrades.vehicles[4].payload_t = 0"),
            "{keys:?}"
        );
        // A vehicle whose cost table lacks a road class: a parse error
        // naming the missing class.
        let text = template().replacen("primary_rehabilitated = 0.09", "", 1);
        let err = LandscapeConfig::parse(&text).unwrap_err();
        assert!(err.contains("primary_rehabilitated"), "{err}");
        // No vehicle at all.
        let mut cfg = defaults();
        cfg.road_upgrades.vehicles.clear();
        let keys: Vec<String> = cfg.check().iter().map(|p| p.key.clone()).collect();
        assert_eq!(keys, ["road_upgrades.vehicles"]);
    }
}
