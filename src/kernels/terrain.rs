//! Terrain derivatives on flat arrays.

/// Slope in degrees by Horn's (1981) method, as `gdaldem slope`: a 3x3
/// window; where a neighbour is NaN or off the grid the centre value stands
/// in. NaN in, NaN out.
pub fn slope_deg(elev: &[f32], width: usize, height: usize, res: f64) -> Vec<f32> {
    let mut out = vec![f32::NAN; elev.len()];
    let z = |c: isize, r: isize, centre: f64| -> f64 {
        if c < 0 || r < 0 || c >= width as isize || r >= height as isize {
            return centre;
        }
        let v = elev[r as usize * width + c as usize];
        if v.is_nan() {
            centre
        } else {
            v as f64
        }
    };
    for r in 0..height as isize {
        for c in 0..width as isize {
            let e = elev[r as usize * width + c as usize];
            if e.is_nan() {
                continue;
            }
            let e = e as f64;
            let (a, b, cc) = (z(c - 1, r - 1, e), z(c, r - 1, e), z(c + 1, r - 1, e));
            let (d, f) = (z(c - 1, r, e), z(c + 1, r, e));
            let (g, h, i) = (z(c - 1, r + 1, e), z(c, r + 1, e), z(c + 1, r + 1, e));
            let dzdx = ((cc + 2.0 * f + i) - (a + 2.0 * d + g)) / (8.0 * res);
            let dzdy = ((g + 2.0 * h + i) - (a + 2.0 * b + cc)) / (8.0 * res);
            out[r as usize * width + c as usize] = dzdx.hypot(dzdy).atan().to_degrees() as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plane_rising_10_m_per_100_m_has_slope_atan_0_1() {
        let (w, h) = (5, 4);
        let elev: Vec<f32> = (0..w * h).map(|i| (10.0 * (i % w) as f64) as f32).collect();
        let s = slope_deg(&elev, w, h, 100.0);
        let want = (0.1f64).atan().to_degrees() as f32;
        // Interior cells see the full plane.
        assert!((s[w + 2] - want).abs() < 1e-5, "{}", s[w + 2]);
        assert!((s[2 * w + 1] - want).abs() < 1e-5);
    }
}
