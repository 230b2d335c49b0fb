//! Reading a landscape file with every problem at once: unknown keys (with
//! the known key nearest to each), missing keys, values of the wrong type,
//! `--set` overrides; the settings' ranges are checked after
//! (`LandscapeConfig::check`).
//!
//! serde stops at the first error, so the file is read as a TOML table and
//! deserialised again after each problem is noted and taken out of the way
//! (an unknown key or a wrong value removed, a missing one stood in for),
//! until nothing is left to say.

use std::collections::BTreeSet;

use super::{LandscapeConfig, SettingProblem};

/// At most this many problems are gathered (a file of another program).
const MAX_PROBLEMS: usize = 100;

/// Apply one `--set section.key=value` to a TOML table. The value is read
/// as TOML (`1e7`, `true`, `[1, 2]`, `"text"`), else taken as a string.
/// Returns the dotted key.
pub fn apply_set(table: &mut toml::Table, assignment: &str) -> Result<String, String> {
    let Some((key, value)) = assignment.split_once('=') else {
        return Err(format!(
            "--set {assignment}: expected section.key=value (e.g. --set road_upgrades.road_budget_usd=10e6)"
        ));
    };
    let key = key.trim();
    let value = value.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if key.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "--set {assignment}: '{key}' is not a key (expected section.key, e.g. economics.carbon_price_usd_per_tco2)"
        ));
    }
    let parsed: toml::Value = match format!("v = {value}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(value.into())),
        Err(_) => toml::Value::String(value.to_string()),
    };
    let mut here = table;
    for (i, p) in parts.iter().enumerate() {
        let (name, index) = split_index(p)
            .ok_or_else(|| format!("--set {assignment}: '{p}' is not a key or key[N]"))?;
        let last = i + 1 == parts.len();
        match index {
            None if last => {
                here.insert(name.to_string(), parsed);
                return Ok(key.to_string());
            }
            None => {
                let entry = here
                    .entry(name.to_string())
                    .or_insert_with(|| toml::Value::Table(Default::default()));
                here = entry.as_table_mut().ok_or_else(|| {
                    format!(
                        "--set {assignment}: '{}' is a value, not a section",
                        parts[..=i].join(".")
                    )
                })?;
            }
            Some(n) => {
                let arr = here
                    .get_mut(name)
                    .and_then(|v| v.as_array_mut())
                    .ok_or_else(|| {
                        format!("--set {assignment}: the file has no list '{name}' to index")
                    })?;
                let len = arr.len();
                let slot = arr.get_mut(n).ok_or_else(|| {
                    format!(
                        "--set {assignment}: '{name}' has {len} entries (0 to {})",
                        len.max(1) - 1
                    )
                })?;
                if last {
                    *slot = parsed;
                    return Ok(key.to_string());
                }
                here = slot.as_table_mut().ok_or_else(|| {
                    format!("--set {assignment}: '{p}' is a value, not a section")
                })?;
            }
        }
    }
    unreachable!("the loop returns at the last part")
}

/// `name` or `name[3]`.
fn split_index(part: &str) -> Option<(&str, Option<usize>)> {
    match part.split_once('[') {
        None => Some((part, None)),
        Some((name, rest)) => {
            let n = rest.strip_suffix(']')?.parse().ok()?;
            Some((name, Some(n)))
        }
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

fn steps_of(path: &serde_path_to_error::Path) -> Vec<Step> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

fn dotted(steps: &[Step]) -> String {
    let mut s = String::new();
    for st in steps {
        match st {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn value_at<'a>(v: &'a toml::Value, steps: &[Step]) -> Option<&'a toml::Value> {
    steps.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.as_table()?.get(k),
        Step::Index(i) => v.as_array()?.get(*i),
    })
}

fn parent_mut<'a>(v: &'a mut toml::Value, steps: &[Step]) -> Option<&'a mut toml::Value> {
    steps.iter().try_fold(v, |v, s| match s {
        Step::Key(k) => v.as_table_mut()?.get_mut(k),
        Step::Index(i) => v.as_array_mut()?.get_mut(*i),
    })
}

/// Remove the value at `steps`; false when there is nothing to remove.
fn remove_at(v: &mut toml::Value, steps: &[Step]) -> bool {
    let Some((last, parent)) = steps.split_last() else {
        return false;
    };
    match (parent_mut(v, parent), last) {
        (Some(toml::Value::Table(t)), Step::Key(k)) => t.remove(k).is_some(),
        (Some(toml::Value::Array(a)), Step::Index(i)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// The text between the first pair of backticks after `after`.
fn quoted_after<'m>(msg: &'m str, after: &str) -> Option<&'m str> {
    let rest = &msg[msg.find(after)? + after.len()..];
    let start = rest.find('`')? + 1;
    let end = start + rest[start..].find('`')?;
    Some(&rest[start..end])
}

/// The names serde lists after "expected one of" (or "expected").
fn expected_names(msg: &str) -> Vec<String> {
    let Some(i) = msg.find("expected") else {
        return Vec::new();
    };
    msg[i..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.to_string())
        .collect()
}

/// The known key nearest to a misspelt one, when it is near enough to be
/// what was meant (edit distance, or one name inside the other).
pub fn nearest<'a>(wrong: &str, known: &'a [String]) -> Option<&'a str> {
    let w = wrong.to_ascii_lowercase();
    known
        .iter()
        .map(|k| {
            let kl = k.to_ascii_lowercase();
            let mut s = strsim::normalized_damerau_levenshtein(&w, &kl);
            if kl.contains(&w) || w.contains(&kl) {
                s = s.max(0.75);
            }
            (s, k)
        })
        .filter(|(s, _)| *s >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, k)| k.as_str())
}

/// The line (1-based) where `key` (dotted, list positions allowed) is
/// written in `text`, or where its table starts.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let plain: String = key
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .collect::<Vec<_>>()
        .join(".");
    let mut table = String::new();
    let mut header_line = None;
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if table == plain {
                header_line = header_line.or(Some(n + 1));
            }
            continue;
        }
        let Some((k, _)) = l.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        if k.starts_with('#') {
            continue;
        }
        let full = if table.is_empty() {
            k.to_string()
        } else {
            format!("{table}.{k}")
        };
        if full == plain {
            return Some(n + 1);
        }
    }
    header_line
}

fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Table(_) => "(table)".into(),
        toml::Value::Array(a) => format!("(list of {})", a.len()),
        other => other.to_string(),
    }
}

/// What deserialising a landscape file gave: the settings (with stand-ins
/// where a value was missing or wrong, so the rest can still be checked)
/// and every problem, each naming its key.
pub struct Parsed {
    pub cfg: Option<LandscapeConfig>,
    pub problems: Vec<SettingProblem>,
    /// Keys that were missing (stood in for by an empty value).
    pub missing: BTreeSet<String>,
}

/// Parse a landscape file, apply the overrides and gather every problem.
/// A TOML syntax error is returned as it is (it has a line and column).
pub fn parse_all(text: &str, overrides: &[String]) -> Result<Parsed, String> {
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.to_string().trim_end().to_string())?;
    let mut problems = Vec::new();
    let mut set_keys = BTreeSet::new();
    for a in overrides {
        match apply_set(&mut table, a) {
            Ok(k) => {
                set_keys.insert(k);
            }
            Err(m) => problems.push(SettingProblem {
                key: a.split('=').next().unwrap_or(a).trim().to_string(),
                value: a
                    .split_once('=')
                    .map(|x| x.1.trim().to_string())
                    .unwrap_or_default(),
                message: m,
            }),
        }
    }
    let origin = |key: &str| -> String {
        if set_keys.contains(key) {
            " (from --set)".into()
        } else {
            line_of(text, key)
                .map(|n| format!(" (line {n})"))
                .unwrap_or_default()
        }
    };
    let mut doc = toml::Value::Table(table);
    let mut missing = BTreeSet::new();
    // Keys already reported: a later error at one is only its echo.
    let mut reported: BTreeSet<String> = BTreeSet::new();
    // Stand-ins tried in turn for a missing value.
    let stand_ins = || {
        [
            toml::Value::String(String::new()),
            toml::Value::Table(Default::default()),
            toml::Value::Integer(0),
            toml::Value::Array(Vec::new()),
        ]
    };
    let mut tried: std::collections::BTreeMap<String, usize> = Default::default();
    for _ in 0..(4 * MAX_PROBLEMS) {
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let err = match serde_path_to_error::deserialize::<_, LandscapeConfig>(doc.clone()) {
            Ok(cfg) => {
                return Ok(Parsed {
                    cfg: Some(cfg),
                    problems,
                    missing,
                })
            }
            Err(e) => e,
        };
        let steps = steps_of(err.path());
        let msg = err.inner().to_string();
        // toml adds "in `key`" on a line of its own: the key is said already.
        let msg = msg.lines().next().unwrap_or("").trim_end();
        if let Some(field) = quoted_after(msg, "unknown field") {
            // The path may or may not end at the unknown key itself.
            let mut at = steps.clone();
            if at.last() != Some(&Step::Key(field.to_string())) {
                at.push(Step::Key(field.to_string()));
            }
            let key = dotted(&at);
            let known = expected_names(msg);
            let hint = match nearest(field, &known) {
                Some(k) => format!("did you mean `{k}`?"),
                None if known.is_empty() => "this section takes no keys".into(),
                None => format!("the keys here are {}", known.join(", ")),
            };
            let value = value_at(&doc, &at).map(show).unwrap_or_default();
            problems.push(SettingProblem {
                message: format!("unknown key{}: {hint}", origin(&key)),
                key: key.clone(),
                value,
            });
            reported.insert(key);
            if !remove_at(&mut doc, &at) {
                break;
            }
        } else if let Some(field) = quoted_after(msg, "missing field") {
            let mut at = steps.clone();
            at.push(Step::Key(field.to_string()));
            let key = dotted(&at);
            let n = tried.entry(key.clone()).or_insert(0);
            let Some(stand_in) = stand_ins().into_iter().nth(*n) else {
                break;
            };
            *n += 1;
            if reported.insert(key.clone()) {
                let parent = dotted(&steps);
                let section = if parent.is_empty() {
                    String::new()
                } else {
                    format!(" under [{parent}]")
                };
                problems.push(SettingProblem {
                    message: format!("missing: `{field}` is required{section}{}", origin(&parent)),
                    key: key.clone(),
                    value: "(none)".into(),
                });
                missing.insert(key);
            }
            let Some(toml::Value::Table(t)) = parent_mut(&mut doc, &steps) else {
                break;
            };
            t.insert(field.to_string(), stand_in);
        } else {
            let key = dotted(&steps);
            if key.is_empty() {
                problems.push(SettingProblem {
                    key: "(file)".into(),
                    value: String::new(),
                    message: msg.to_string(),
                });
                break;
            }
            if !reported.contains(&key) {
                let value = value_at(&doc, &steps).map(show).unwrap_or_default();
                // A misspelt choice ("hexagn"): the nearest one too.
                let near = quoted_after(msg, "unknown variant")
                    .and_then(|v| nearest(v, &expected_names(msg)).map(|k| k.to_string()))
                    .map(|k| format!(": did you mean `{k}`?"))
                    .unwrap_or_default();
                problems.push(SettingProblem {
                    message: format!("{msg}{}{near}", origin(&key)),
                    key: key.clone(),
                    value,
                });
                reported.insert(key.clone());
            } else if let Some((Step::Key(field), parent)) = steps.split_last() {
                // A stand-in of the wrong kind: try the next one.
                let n = tried.entry(key.clone()).or_insert(0);
                if let Some(stand_in) = stand_ins().into_iter().nth(*n) {
                    *n += 1;
                    if let Some(toml::Value::Table(t)) = parent_mut(&mut doc, parent) {
                        t.insert(field.clone(), stand_in);
                        continue;
                    }
                }
                break;
            }
            if !remove_at(&mut doc, &steps) {
                break;
            }
        }
    }
    Ok(Parsed {
        cfg: None,
        problems,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "t"

[layers]
aoi = "a.geojson"
roads = "r.gpkg"
markets = "m.gpkg"
conservation = "c.fgb"
elevation = "dem.tif"

[road_upgrades]
road_budget_usd = 5e6
"#;

    #[test]
    fn every_problem_at_once_with_lines_and_the_nearest_key() {
        let text = SMALL
            .replace("road_budget_usd", "budget_usd")
            .replace("markets = \"m.gpkg\"\n", "")
            .replace("name = \"t\"", "name = \"t\"\nsed = 3")
            + "\n[economics]\ndiscount_rate = \"ten\"\n";
        let p = parse_all(&text, &[]).unwrap();
        let all: Vec<String> = p.problems.iter().map(|p| p.to_string()).collect();
        let joined = all.join("\n");
        assert_eq!(all.len(), 4, "{joined}");
        assert!(
            joined.contains("road_upgrades.budget_usd = 5000000.0: unknown key (line 12): did you mean `road_budget_usd`?"),
            "{joined}"
        );
        assert!(
            joined.contains("sed = 3: unknown key (line 3): did you mean `seed`?"),
            "{joined}"
        );
        assert!(
            joined.contains("layers.markets = (none): missing"),
            "{joined}"
        );
        assert!(
            joined.contains("economics.discount_rate = \"ten\""),
            "{joined}"
        );
        assert!(p.missing.contains("layers.markets"));
    }

    #[test]
    fn overrides_are_applied_and_their_problems_named() {
        let p = parse_all(SMALL, &["road_upgrades.road_budget_usd=7e6".into()]).unwrap();
        assert!(p.problems.is_empty());
        assert_eq!(p.cfg.unwrap().road_upgrades.road_budget_usd, 7e6);
        let p = parse_all(SMALL, &["road_upgrades.budget=7e6".into()]).unwrap();
        let s = p.problems[0].to_string();
        assert!(s.contains("road_upgrades.budget = 7000000.0: unknown key (from --set): did you mean `road_budget_usd`?"), "{s}");
        let p = parse_all(SMALL, &["economics".into()]).unwrap();
        assert!(p.problems[0].message.contains("expected section.key=value"));
        // A section the file does not have is made.
        let p = parse_all(SMALL, &["halo.distance_km=3".into()]).unwrap();
        assert_eq!(p.cfg.unwrap().halo.distance_km, 3.0);
    }

    #[test]
    fn a_misspelt_choice_gets_the_nearest_one() {
        let text = format!("{SMALL}\n[parcels.planning_units]\nshape = \"hexagn\"\n");
        let p = parse_all(&text, &[]).unwrap();
        assert_eq!(p.problems.len(), 1);
        let s = p.problems[0].to_string();
        assert!(
            s.starts_with("parcels.planning_units.shape = \"hexagn\": unknown variant"),
            "{s}"
        );
        assert!(s.ends_with("did you mean `hexagon`?"), "{s}");
    }

    #[test]
    fn nearest_keys() {
        let known: Vec<String> = ["road_budget_usd", "seed", "discount_rate"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(nearest("budget_usd", &known), Some("road_budget_usd"));
        assert_eq!(nearest("discount_rte", &known), Some("discount_rate"));
        assert_eq!(nearest("zzzz", &known), None);
    }
}
