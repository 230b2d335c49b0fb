//! Numbers and text as every output shows them: rounded without "-0",
//! whole numbers with thousands separators, money, sentence case, and
//! escaping for XML and HTML. The stages' messages, the layers, the styles
//! and the report all use these, so a figure reads the same everywhere.

/// `x` rounded to `decimals`, with a negative zero made positive, so no
/// "-0" or "-0.0" ever reaches a reader.
pub fn nz(x: f64, decimals: i32) -> f64 {
    // Divide by an exact power of ten for negative `decimals` (1e-5 is not
    // exact, and 10 / 1e-5 falls short of 1e6).
    let y = if decimals >= 0 {
        let p = 10f64.powi(decimals);
        (x * p).round() / p
    } else {
        let p = 10f64.powi(-decimals);
        (x / p).round() * p
    };
    if y == 0.0 {
        0.0
    } else {
        y
    }
}

/// A whole number with thousands separators, never "-0".
///
/// ```
/// assert_eq!(greenhalo::fmt::fmt_int(-0.3), "0");
/// assert_eq!(greenhalo::fmt::fmt_int(30000.0), "30,000");
/// ```
pub fn fmt_int(x: f64) -> String {
    let v = nz(x, 0);
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `s` with its first letter in upper case.
pub fn sentence_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Money as a reader reads it: "US$247,610" below a million, "US$12.3 M"
/// from a million on, never "-0".
pub fn money(v: f64) -> String {
    let v = if v.abs() >= 1e6 { nz(v, -5) } else { nz(v, 0) };
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a >= 1e6 {
        format!("{sign}US${:.1} M", a / 1e6)
    } else {
        format!("{sign}US${}", fmt_int(a))
    }
}

/// The step of a legend or an axis that splits `0..=max` into about
/// `parts` round steps: 1, 2, 2.5 or 5 times a power of ten, at least
/// `max / parts`.
///
/// ```
/// assert_eq!(greenhalo::fmt::nice_step(173.0 * 1.5, 4), 100.0);
/// assert_eq!(greenhalo::fmt::nice_step(0.8, 4), 0.2);
/// ```
pub fn nice_step(max: f64, parts: u32) -> f64 {
    let raw = (max / parts.max(1) as f64).abs();
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| m * p >= raw * (1.0 - 1e-12))
        .unwrap_or(10.0);
    // Round away the power's binary error (0.2, not 0.20000000000000004).
    nz(m * p, 12 - p.log10() as i32)
}

/// Travel-time classes as the report's map and the QGIS style draw them:
/// upper bound (minutes; the last, everything beyond and no market) and
/// colour.
pub const TRAVEL_TIME_CLASSES: [(f64, (u8, u8, u8)); 6] = [
    (30.0, (0, 104, 55)),
    (60.0, (102, 189, 99)),
    (120.0, (217, 239, 139)),
    (240.0, (254, 224, 139)),
    (480.0, (244, 109, 67)),
    (f64::INFINITY, (165, 0, 38)),
];

/// The label of travel-time class `k` of `TRAVEL_TIME_CLASSES`.
pub fn travel_time_class_label(k: usize) -> String {
    let c = &TRAVEL_TIME_CLASSES;
    match k {
        0 => format!("up to {} min", fmt_int(c[0].0)),
        _ if c[k].0.is_infinite() => format!("over {} min or no market", fmt_int(c[k - 1].0)),
        _ => format!("{}–{} min", fmt_int(c[k - 1].0), fmt_int(c[k].0)),
    }
}

/// Escape text for XML attributes and HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
