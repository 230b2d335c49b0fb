//! Discounted cash flows shared by every stage: NPV, IRR, benefit-cost
//! ratio. Flows are yearly, index 0 = year 0 (undiscounted).

/// Net present value of yearly flows at rate `r`.
///
/// ```
/// // -100 now, +60 in each of the next two years, at 10%.
/// let v = greenhalo::cashflow::npv(&[-100.0, 60.0, 60.0], 0.10);
/// assert!((v - (-100.0 + 60.0 / 1.1 + 60.0 / 1.21)).abs() < 1e-12);
/// ```
pub fn npv(flows: &[f64], r: f64) -> f64 {
    let mut df = 1.0;
    let mut sum = 0.0;
    for f in flows {
        sum += f / df;
        df *= 1.0 + r;
    }
    sum
}

/// Present value of `amount` paid at the end of each year 1..=years.
pub fn pv_annuity(amount: f64, r: f64, years: u32) -> f64 {
    if r == 0.0 {
        return amount * years as f64;
    }
    amount * (1.0 - (1.0 + r).powi(-(years as i32))) / r
}

/// Internal rate of return: the rate at which NPV is zero. `None` when the
/// flows do not change sign (no IRR exists) or when the NPV does not cross
/// zero between -99% and 1,000% a year. Solved by bisection on the bracket
/// where NPV changes sign, to 1e-12.
///
/// ```
/// let irr = greenhalo::cashflow::irr(&[-100.0, 110.0]).unwrap();
/// assert!((irr - 0.10).abs() < 1e-9);
/// assert_eq!(greenhalo::cashflow::irr(&[100.0, 50.0]), None);
/// ```
pub fn irr(flows: &[f64]) -> Option<f64> {
    let pos = flows.iter().any(|f| *f > 0.0);
    let neg = flows.iter().any(|f| *f < 0.0);
    if !(pos && neg) {
        return None;
    }
    // Scan for the first sign change of NPV(r) on a grid, then bisect.
    let grid: Vec<f64> = std::iter::once(-0.99)
        .chain((1..=2000).map(|k| -0.99 + k as f64 * (10.99 / 2000.0)))
        .collect();
    let mut lo = grid[0];
    let mut f_lo = npv(flows, lo);
    for &hi in &grid[1..] {
        let f_hi = npv(flows, hi);
        if f_lo == 0.0 {
            return Some(lo);
        }
        if f_lo.signum() != f_hi.signum() {
            let (mut a, mut b, mut fa) = (lo, hi, f_lo);
            for _ in 0..200 {
                let m = 0.5 * (a + b);
                let fm = npv(flows, m);
                if fm == 0.0 || (b - a) < 1e-12 {
                    return Some(m);
                }
                if fa.signum() == fm.signum() {
                    a = m;
                    fa = fm;
                } else {
                    b = m;
                }
            }
            return Some(0.5 * (a + b));
        }
        lo = hi;
        f_lo = f_hi;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npv_and_irr_of_a_written_out_flow() {
        // Year 0: -1000; years 1-3: +400. At 8%: 400/1.08 + 400/1.08^2 + 400/1.08^3.
        let flows = [-1000.0, 400.0, 400.0, 400.0];
        let hand = -1000.0 + 400.0 / 1.08 + 400.0 / 1.1664 + 400.0 / 1.259712;
        assert!((npv(&flows, 0.08) - hand).abs() < 1e-9);
        // IRR: 400 a year for 3 years against 1000 is 9.7010%.
        let r = irr(&flows).unwrap();
        assert!(npv(&flows, r).abs() < 1e-6);
        assert!((r - 0.097_010_4).abs() < 1e-6, "{r}");
        assert!((pv_annuity(400.0, 0.08, 3) - (hand + 1000.0)).abs() < 1e-9);
    }

    #[test]
    fn no_sign_change_has_no_irr() {
        assert_eq!(irr(&[-1.0, -2.0]), None);
        assert_eq!(irr(&[0.0, 0.0]), None);
        assert_eq!(irr(&[5.0, 1.0]), None);
    }
}
