//! Road-user benefits by the World Bank's RED method (Roads Economic
//! Decision model, Archondo-Callao; SSATP Working Paper 78): the consumer
//! surplus of the fall in road-user cost, for normal traffic in full and
//! for traffic the upgrade generates by the rule of half, with traffic
//! growth a year; and the appraisal figures a planner checks (NPV, BCR,
//! EIRR and the switching values). `../shared/ROAD_APPRAISAL.md` sections
//! 1.2 and 6.2 give the formulas, 6.4 the worked examples the tests below
//! reproduce to the cent.
//!
//! Per vehicle type v and segment of length L:
//!
//! ```text
//! RUC_v(c)  = VOC_v(c) + (occ_v · VoT + cargo_v) / speed(c)     US$/veh-km
//! ΔC_v      = L · (RUC_v(before) − RUC_v(after))                 US$/trip
//! Q_gen,v   = Q_norm,v · min(1, ε · ΔC_v / (L · RUC_v(before)))
//! B(t)      = 365 · Σ_v ΔC_v · (Q_norm,v + ½ Q_gen,v) · (1 + g)^(t−1)
//! ```

use serde::Serialize;

use super::Effects;
use crate::cashflow::{irr, npv};
use crate::config::{BenefitMethod, RoadClass, RoadUpgradeParams};

/// Consumer surplus of a fall in the cost of a trip from `c0` to `c1` when
/// the number of trips rises from `q0` to `q1` along a linear demand curve:
/// the old trips save the whole fall, the new ones half of it on average
/// (the rule of half).
///
/// ```
/// // ROAD_APPRAISAL.md T1: linear demand 500·(1 − p/1.5), p 1.00 -> 0.75.
/// let per_day = greenhalo::roads::red::rule_of_half(1.00, 0.75, 500.0 / 3.0, 250.0);
/// assert!((per_day * 365.0 - 19_010.42).abs() < 0.005);
/// ```
pub fn rule_of_half(c0: f64, c1: f64, q0: f64, q1: f64) -> f64 {
    (c0 - c1) * (q0 + q1) / 2.0
}

/// Trips an upgrade generates: `normal` trips times the price elasticity
/// of demand (its absolute value) times the relative fall in the cost of a
/// trip, at most as many trips again (RED computes generated traffic from
/// the fall in transport cost and a user-defined elasticity).
pub fn generated(normal: f64, elasticity: f64, cost_fall: f64, cost_before: f64) -> f64 {
    if cost_before <= 0.0 || cost_fall <= 0.0 {
        return 0.0;
    }
    normal * (elasticity * cost_fall / cost_before).min(1.0)
}

/// The consumer surplus of a cost fall `cost_fall` a trip: every normal
/// trip saves it in full, every generated trip half of it.
pub fn consumer_surplus(cost_fall: f64, normal: f64, generated: f64) -> f64 {
    cost_fall * (normal + 0.5 * generated)
}

/// A segment's appraisal as RED and HDM-4 report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Appraisal {
    /// Present value of the benefits, US$.
    pub pv_benefit_usd: f64,
    /// Present value of the costs (works and any extra maintenance), US$.
    pub pv_cost_usd: f64,
    pub npv_usd: f64,
    /// PV(benefits) / PV(costs); None without costs.
    pub bcr: Option<f64>,
    /// The rate at which NPV is 0; None when the flows never change sign.
    pub eirr: Option<f64>,
}

/// The yearly flows of an upgrade: `capex` in year 0, then in years
/// 1..=`horizon` the first year's benefit grown by `growth` a year, less
/// the yearly change in maintenance.
pub fn flows(
    capex: f64,
    benefit_year1: f64,
    growth: f64,
    maintenance: f64,
    horizon: u32,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(horizon as usize + 1);
    out.push(-capex);
    let mut b = benefit_year1;
    for _ in 0..horizon {
        out.push(b - maintenance);
        b *= 1.0 + growth;
    }
    out
}

/// NPV, BCR and EIRR of an upgrade (year 0 undiscounted, the convention of
/// numpy-financial and of `cashflow::npv`).
pub fn appraise(
    capex: f64,
    benefit_year1: f64,
    growth: f64,
    maintenance: f64,
    horizon: u32,
    rate: f64,
) -> Appraisal {
    let pv_benefit = npv(&flows(0.0, benefit_year1, growth, 0.0, horizon), rate);
    let pv_maintenance = npv(&flows(0.0, maintenance, 0.0, 0.0, horizon), rate);
    let pv_cost = capex + pv_maintenance;
    let f = flows(capex, benefit_year1, growth, maintenance, horizon);
    Appraisal {
        pv_benefit_usd: pv_benefit,
        pv_cost_usd: pv_cost,
        npv_usd: npv(&f, rate),
        bcr: (pv_cost > 0.0).then(|| pv_benefit / pv_cost),
        eirr: irr(&f),
    }
}

/// Switching values (RED's and the World Bank's sensitivity measure): by
/// how much, in percent, the costs would have to rise, or the benefits to
/// fall, for the NPV to reach zero. `other_pv_usd` is any further term of
/// the NPV that neither moves (the carbon cost of the forest loss, as a
/// negative number, for NPV_net). None where no change of that sign can
/// bring the NPV to zero (it is already at or below zero, or there is
/// nothing to change).
pub fn switching_values(
    pv_benefit: f64,
    pv_cost: f64,
    other_pv_usd: f64,
) -> (Option<f64>, Option<f64>) {
    let npv = pv_benefit - pv_cost + other_pv_usd;
    if npv <= 0.0 {
        return (None, None);
    }
    let cost_rise = (pv_cost > 0.0).then(|| 100.0 * npv / pv_cost);
    let benefit_fall = (pv_benefit > 0.0 && npv <= pv_benefit).then(|| 100.0 * npv / pv_benefit);
    (cost_rise, benefit_fall)
}

/// Where a segment's traffic comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficSource {
    /// The road layer's `aadt` field.
    Counted,
    /// The people and marketed output whose way to market the upgrade
    /// makes faster.
    Modelled,
}

impl TrafficSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficSource::Counted => "counted",
            TrafficSource::Modelled => "modelled",
        }
    }
}

/// A segment's traffic and the first year's road-user benefit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    pub source: TrafficSource,
    /// Motor vehicles a day before the upgrade (first year).
    pub aadt_normal: f64,
    /// Motor vehicles a day the upgrade adds (first year).
    pub aadt_generated: f64,
    /// Consumer surplus of normal and generated traffic, plus the producer
    /// surplus under that method, in the first year after the works, US$.
    pub benefit_year1_usd: f64,
    /// The producer-surplus part of `benefit_year1_usd` (0 under the
    /// consumer-surplus method), US$.
    pub producer_surplus_usd: f64,
}

/// One vehicle type's road-user costs for one upgrade.
#[derive(Debug, Clone, Copy, PartialEq)]
struct TypeCosts {
    /// Vehicle trips a year per person served (modelled passenger traffic).
    trips_per_person: f64,
    /// Vehicle trips a year per tonne of marketed output (modelled freight:
    /// a loaded and an empty trip per load).
    trips_per_tonne: f64,
    /// Share of a counted AADT.
    counted_share: f64,
    /// RUC before the upgrade and its fall, US$ per vehicle-km.
    ruc_before_per_km: f64,
    ruc_fall_per_km: f64,
    /// The fall in cost per hour the trip saves, US$ per vehicle-hour.
    fall_per_hour_saved: f64,
    /// Generated trips per normal trip: min(1, ε · ΔRUC / RUC).
    generated_ratio: f64,
}

/// The road-user cost model of one upgrade (a class to the next, or a
/// primary road rehabilitated) for every vehicle type of the fleet.
///
/// Speeds are the accessibility stage's class speeds, the same speeds that
/// give each cell's travel time, so the hours a trip saves on the
/// segment's part of the way are those of the travel-time field, and a
/// trip that uses only part of the segment (diverted traffic) saves its
/// part: its cost falls by `fall_per_hour_saved` for each hour it saves.
#[derive(Debug, Clone, PartialEq)]
pub struct UserCosts {
    types: Vec<TypeCosts>,
    method: BenefitMethod,
    transport_usd_per_tonne_hour: f64,
}

impl UserCosts {
    /// The model of upgrading a road of class `from` (at `from_kmh`) to
    /// `to` (at `to_kmh`; None: a rehabilitated primary road).
    pub fn new(
        p: &RoadUpgradeParams,
        from: RoadClass,
        from_kmh: f64,
        to: Option<RoadClass>,
        to_kmh: f64,
    ) -> UserCosts {
        let hours_saved_per_km = 1.0 / from_kmh - 1.0 / to_kmh;
        // One-way trips a person makes a year.
        let person_trips = p.trips_per_household_week * (365.0 / 7.0) / p.household_size;
        let freight = p.benefit_method == BenefitMethod::ConsumerSurplus;
        let types = p
            .vehicles
            .iter()
            .map(|v| {
                let time_per_hour =
                    v.occupancy * p.value_of_time_usd_per_hour + v.cargo_usd_per_hour;
                let voc_before = v.voc_usd_per_km.on(Some(from));
                let ruc_before = voc_before + time_per_hour / from_kmh;
                let fall =
                    voc_before - v.voc_usd_per_km.on(to) + time_per_hour * hours_saved_per_km;
                TypeCosts {
                    trips_per_person: person_trips * v.passenger_share / v.occupancy,
                    trips_per_tonne: if freight && v.freight_share > 0.0 {
                        2.0 * v.freight_share / v.payload_t
                    } else {
                        0.0
                    },
                    counted_share: if freight || v.passenger_share > 0.0 {
                        v.counted_share
                    } else {
                        0.0
                    },
                    ruc_before_per_km: ruc_before,
                    ruc_fall_per_km: fall,
                    fall_per_hour_saved: if hours_saved_per_km > 0.0 {
                        fall / hours_saved_per_km
                    } else {
                        0.0
                    },
                    generated_ratio: if fall > 0.0 && ruc_before > 0.0 {
                        (p.price_elasticity * fall / ruc_before).min(1.0)
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        UserCosts {
            types,
            method: p.benefit_method,
            transport_usd_per_tonne_hour: p.transport_usd_per_tonne_hour,
        }
    }

    /// The first year's benefit per person-hour and per tonne-hour that
    /// the modelled users save (`Effects::people_hours_saved`,
    /// `marketed_t_hours_saved`): Σ over types of their trips times the
    /// fall in cost per hour saved, generated trips at half.
    pub fn per_hour_saved(&self) -> (f64, f64) {
        let mut person = 0.0;
        let mut tonne = 0.0;
        for t in &self.types {
            let w = t.fall_per_hour_saved * (1.0 + 0.5 * t.generated_ratio);
            person += t.trips_per_person * w;
            tonne += t.trips_per_tonne * w;
        }
        if self.method == BenefitMethod::ProducerSurplus {
            tonne += self.transport_usd_per_tonne_hour;
        }
        (person, tonne)
    }

    /// Traffic and benefit from the people and output whose way to market
    /// gets faster.
    pub fn modelled(&self, eff: &Effects) -> Traffic {
        let (mut normal, mut generated) = (0.0, 0.0);
        for t in &self.types {
            let q = t.trips_per_person * eff.people_served + t.trips_per_tonne * eff.marketed_t;
            normal += q;
            generated += t.generated_ratio * q;
        }
        let (person, tonne) = self.per_hour_saved();
        Traffic {
            source: TrafficSource::Modelled,
            aadt_normal: normal / 365.0,
            aadt_generated: generated / 365.0,
            benefit_year1_usd: person * eff.people_hours_saved + tonne * eff.marketed_t_hours_saved,
            producer_surplus_usd: self.producer_surplus(eff),
        }
    }

    /// Traffic and benefit of a counted `aadt` over a segment `length_km`
    /// long (every counted vehicle drives the whole segment), plus the
    /// producer surplus under that method.
    pub fn counted(&self, aadt: f64, length_km: f64, eff: &Effects) -> Traffic {
        let (mut generated, mut benefit) = (0.0, 0.0);
        for t in &self.types {
            let q = aadt * t.counted_share;
            let g = q * t.generated_ratio;
            generated += g;
            benefit += 365.0 * consumer_surplus(length_km * t.ruc_fall_per_km, q, g);
        }
        let ps = self.producer_surplus(eff);
        Traffic {
            source: TrafficSource::Counted,
            aadt_normal: aadt,
            aadt_generated: generated,
            benefit_year1_usd: benefit + ps,
            producer_surplus_usd: ps,
        }
    }

    fn producer_surplus(&self, eff: &Effects) -> f64 {
        match self.method {
            BenefitMethod::ProducerSurplus => {
                self.transport_usd_per_tonne_hour * eff.marketed_t_hours_saved
            }
            BenefitMethod::ConsumerSurplus => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ROAD_APPRAISAL.md 6.4 T1 (published): the rule of half gives
    /// 19,010.42 US$/yr, not the naive 22,812.50.
    #[test]
    fn t1_rule_of_half_on_linear_demand() {
        let demand = |p: f64| 500.0 * (1.0 - p / 1.5);
        let (q0, q1) = (demand(1.00), demand(0.75));
        assert!((q0 - 166.666_666_666).abs() < 1e-6);
        assert_eq!(q1, 250.0);
        let per_year = rule_of_half(1.00, 0.75, q0, q1) * 365.0;
        assert_eq!(format!("{per_year:.2}"), "19010.42");
        let naive = (1.00 - 0.75) * q1 * 365.0;
        assert_eq!(format!("{naive:.2}"), "22812.50");
        // The same figure from the generated-traffic form: the fall
        // brings 83.33 new trips, which take half the saving.
        let cs = consumer_surplus(0.25, q0, q1 - q0) * 365.0;
        assert_eq!(format!("{cs:.2}"), "19010.42");
    }

    /// T2 (published): Q = 280, P = 4, elasticity −0.25, the price falls
    /// by 1: 17.5 trips more, consumer surplus 288.75.
    #[test]
    fn t2_elasticity_consumer_surplus() {
        let gen = generated(280.0, 0.25, 1.0, 4.0);
        assert!((gen - 17.5).abs() < 1e-12);
        assert_eq!(
            format!("{:.2}", consumer_surplus(1.0, 280.0, gen)),
            "288.75"
        );
        // The elasticity caps at as many trips again.
        assert_eq!(generated(100.0, 5.0, 1.0, 2.0), 100.0);
        assert_eq!(generated(100.0, 1.0, 0.0, 2.0), 0.0);
    }

    /// T3 (constructed in ROAD_APPRAISAL.md): a 10 km segment, 100
    /// vehicles a day, RUC 0.60 -> 0.45 US$/veh-km, elasticity 1, growth
    /// 3%, 20 years, US$500,000 at 8%.
    #[test]
    fn t3_segment_appraisal_and_its_negative_variant() {
        let (l, q, ruc0, ruc1) = (10.0, 100.0, 0.60, 0.45);
        let dc = l * (ruc0 - ruc1);
        let gen = generated(q, 1.0, dc, l * ruc0);
        assert!((gen - 25.0).abs() < 1e-9);
        let b1 = 365.0 * consumer_surplus(dc, q, gen);
        assert_eq!(format!("{b1:.2}"), "61593.75");
        let a = appraise(500_000.0, b1, 0.03, 0.0, 20, 0.08);
        assert_eq!(format!("{:.2}", a.npv_usd), "254525.99");
        assert_eq!(format!("{:.4}", a.bcr.unwrap()), "1.5091");
        assert_eq!(format!("{:.3}", 100.0 * a.eirr.unwrap()), "13.574");
        let b = appraise(1_500_000.0, b1, 0.03, 0.0, 20, 0.08);
        assert_eq!(format!("{:.2}", b.npv_usd), "-745474.01");
        assert_eq!(format!("{:.3}", b.bcr.unwrap()), "0.503");
        assert_eq!(format!("{:.3}", 100.0 * b.eirr.unwrap()), "0.872");
        // Switching values of T3: costs may rise 50.9%, benefits fall
        // 33.7%, before the NPV reaches zero; the variant has none.
        let (up, down) = switching_values(a.pv_benefit_usd, a.pv_cost_usd, 0.0);
        let up = up.unwrap();
        let down = down.unwrap();
        assert!((a.pv_cost_usd * (1.0 + up / 100.0) - a.pv_benefit_usd).abs() < 1e-6);
        assert!((a.pv_benefit_usd * (1.0 - down / 100.0) - a.pv_cost_usd).abs() < 1e-6);
        assert_eq!(format!("{up:.1} {down:.1}"), "50.9 33.7");
        assert_eq!(
            switching_values(b.pv_benefit_usd, b.pv_cost_usd, 0.0),
            (None, None)
        );
    }

    #[test]
    fn switching_values_count_a_fixed_carbon_cost() {
        // Benefits 300, costs 100, carbon cost 50: NPV_net 150, reached
        // zero by costs +150% or benefits -50%.
        let (up, down) = switching_values(300.0, 100.0, -50.0);
        assert!((up.unwrap() - 150.0).abs() < 1e-12);
        assert!((down.unwrap() - 50.0).abs() < 1e-12);
    }
}
