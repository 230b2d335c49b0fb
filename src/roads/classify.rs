//! SPEC C's segment classes and the Pareto layers that rank them.

use serde::Serialize;

use super::ScoredSegment;

/// Segment classes (SPEC C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SegmentClass {
    Improve,
    ImproveWithSafeguards,
    DoNotImprove,
    Avoid,
}

impl SegmentClass {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentClass::Improve => "improve",
            SegmentClass::ImproveWithSafeguards => "improve_with_safeguards",
            SegmentClass::DoNotImprove => "do_not_improve",
            SegmentClass::Avoid => "avoid",
        }
    }
}

/// SPEC C's classes, with the reasons a planner reads.
pub fn classify(
    npv_econ: f64,
    npv_net: f64,
    intensity: Option<f64>,
    max_intensity: f64,
    through_conservation: bool,
    distance_to_conservation_km: f64,
    halo_km: f64,
) -> (SegmentClass, String) {
    if through_conservation {
        return (
            SegmentClass::Avoid,
            "runs through a conservation area".into(),
        );
    }
    if npv_econ <= 0.0 {
        return (
            SegmentClass::DoNotImprove,
            "economic NPV is not positive".into(),
        );
    }
    let mut why = Vec::new();
    if npv_net <= 0.0 {
        why.push("carbon cost outweighs the economic return".to_string());
    }
    match intensity {
        Some(i) if i > max_intensity => why.push(format!(
            "deforestation intensity {i:.1} ha per US$1M above {max_intensity}"
        )),
        _ => {}
    }
    if distance_to_conservation_km <= halo_km {
        why.push(format!(
            "within {halo_km} km of a conservation area ({distance_to_conservation_km:.1} km)"
        ));
    }
    if why.is_empty() {
        (
            SegmentClass::Improve,
            "positive net NPV, low deforestation, away from conservation areas".into(),
        )
    } else {
        (SegmentClass::ImproveWithSafeguards, why.join("; "))
    }
}

/// Pareto layers on (maximise `a`, minimise `b`): layer 1 holds the
/// segments no other beats on both; layer k those only layers < k beat.
pub fn pareto_layers(a: &[f64], b: &[f64]) -> Vec<u32> {
    let n = a.len();
    let mut layer = vec![0u32; n];
    let mut left: Vec<usize> = (0..n).collect();
    let mut k = 1;
    while !left.is_empty() {
        let front: Vec<usize> = left
            .iter()
            .copied()
            .filter(|&i| {
                !left.iter().any(|&j| {
                    j != i && a[j] >= a[i] && b[j] <= b[i] && (a[j] > a[i] || b[j] < b[i])
                })
            })
            .collect();
        for &i in &front {
            layer[i] = k;
        }
        left.retain(|i| layer[*i] == 0);
        k += 1;
    }
    layer
}

/// Pareto layers on (NPV_econ up, forest loss down), then the rank: by
/// layer, then NPV_net, then id.
pub(super) fn rank(scored: &mut [ScoredSegment]) {
    let npv_e: Vec<f64> = scored.iter().map(|s| s.npv_econ_usd).collect();
    let loss: Vec<f64> = scored.iter().map(|s| s.effects.forest_loss_ha).collect();
    let layers = pareto_layers(&npv_e, &loss);
    for (s, l) in scored.iter_mut().zip(&layers) {
        s.pareto_layer = *l;
    }
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&i, &j| {
        scored[i]
            .pareto_layer
            .cmp(&scored[j].pareto_layer)
            .then(scored[j].npv_net_usd.total_cmp(&scored[i].npv_net_usd))
            .then(scored[i].id.cmp(&scored[j].id))
    });
    for (r, &i) in order.iter().enumerate() {
        scored[i].rank = r as u32 + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn pareto_layers_are_non_dominated_and_dominated_by_the_layer_before() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            let n = rng.gen_range(1..40);
            let a: Vec<f64> = (0..n).map(|_| rng.gen_range(-5..5) as f64).collect();
            let b: Vec<f64> = (0..n).map(|_| rng.gen_range(0..5) as f64).collect();
            let l = pareto_layers(&a, &b);
            let dominates =
                |j: usize, i: usize| a[j] >= a[i] && b[j] <= b[i] && (a[j] > a[i] || b[j] < b[i]);
            for i in 0..n {
                // Nothing in the same or a later layer dominates i.
                for j in 0..n {
                    if l[j] >= l[i] {
                        assert!(!dominates(j, i));
                    }
                }
                if l[i] > 1 {
                    assert!((0..n).any(|j| l[j] == l[i] - 1 && dominates(j, i)));
                }
            }
        }
    }

    #[test]
    fn classes_follow_the_spec() {
        assert_eq!(
            classify(1e6, 1e6, Some(1.0), 5.0, true, 0.0, 5.0).0,
            SegmentClass::Avoid
        );
        assert_eq!(
            classify(-1.0, -1.0, None, 5.0, false, 50.0, 5.0).0,
            SegmentClass::DoNotImprove
        );
        assert_eq!(
            classify(1e6, 9e5, Some(1.0), 5.0, false, 10.0, 5.0).0,
            SegmentClass::Improve
        );
        assert_eq!(
            classify(1e6, -1.0, Some(1.0), 5.0, false, 10.0, 5.0).0,
            SegmentClass::ImproveWithSafeguards
        );
        assert_eq!(
            classify(1e6, 9e5, Some(9.0), 5.0, false, 10.0, 5.0).0,
            SegmentClass::ImproveWithSafeguards
        );
        assert_eq!(
            classify(1e6, 9e5, Some(1.0), 5.0, false, 3.0, 5.0).0,
            SegmentClass::ImproveWithSafeguards
        );
    }
}
