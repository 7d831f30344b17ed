//! How `capacity` chooses its rates: up geometrically from a low start
//! until a step fails the objective, then bisection (geometric, on the
//! rate's logarithm) between the last rate that held and the first that
//! failed, until the two lie within the precision asked for. The search
//! only says which rate to try next and what it found; running a step and
//! judging it is the caller's. Bounded: it never asks for more than
//! `max_steps` steps nor for a rate above the driver's own limit.

use serde::{Deserialize, Serialize};

/// How the search goes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchPlan {
    /// The first rate tried, in requests per second.
    pub start: f64,
    /// Each rising step's rate over the one before (above 1).
    pub factor: f64,
    /// The search stops when the first failing rate over the last holding
    /// one is at most `1 + precision`.
    pub precision: f64,
    /// The highest rate the driver can send: no step goes above it.
    pub ceiling: f64,
    /// The most steps it takes.
    pub max_steps: usize,
}

/// What the search found.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "found")]
pub enum Edge {
    /// The highest rate that held and the lowest that failed, within the
    /// precision: the capacity lies between them.
    Between {
        /// The highest rate that held, in requests per second.
        held: f64,
        /// The lowest rate that failed, in requests per second.
        failed: f64,
    },
    /// Even the first rate failed: the target never meets the objective
    /// at the rates tried (the lowest tried is `failed`).
    NeverHeld {
        /// The lowest rate tried, in requests per second.
        failed: f64,
    },
    /// Every rate held up to the driver's ceiling: the target's capacity
    /// is beyond what this driver can send, and is not known.
    HeldToCeiling {
        /// The highest rate tried, the driver's ceiling.
        held: f64,
    },
    /// The steps ran out before the edge was found within the precision.
    Unfinished {
        /// The highest rate that held, if any did.
        held: Option<f64>,
        /// The lowest rate that failed, if any did.
        failed: Option<f64>,
    },
}

/// A search plan that cannot be followed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A rate or the precision is not above 0.
    #[error("the {what} must be above 0, not {value}")]
    NotPositive {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// The factor between steps is not above 1.
    #[error("the step factor must be above 1, not {0}")]
    Factor(f64),
    /// No step is allowed.
    #[error("the search needs at least one step")]
    NoSteps,
}

/// The search's state: the steps judged so far.
#[derive(Clone, Debug)]
pub struct Search {
    plan: SearchPlan,
    held: Option<f64>,
    failed: Option<f64>,
    steps: usize,
}

impl Search {
    /// A search by `plan`; an error names a plan it cannot follow.
    pub fn new(plan: SearchPlan) -> Result<Search, PlanError> {
        let positive = |what: &'static str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(PlanError::NotPositive { what, value })
            }
        };
        positive("start rate", plan.start)?;
        if !(plan.factor.is_finite() && plan.factor > 1.0) {
            return Err(PlanError::Factor(plan.factor));
        }
        positive("precision", plan.precision)?;
        positive("driver's ceiling", plan.ceiling)?;
        if plan.max_steps == 0 {
            return Err(PlanError::NoSteps);
        }
        Ok(Search {
            plan,
            held: None,
            failed: None,
            steps: 0,
        })
    }

    /// The next rate to try; `None` when the search is over.
    pub fn next_rate(&self) -> Option<f64> {
        if self.steps >= self.plan.max_steps || self.found().is_some() {
            return None;
        }
        let ceiling = self.plan.ceiling;
        Some(match (self.held, self.failed) {
            (None, None) => self.plan.start.min(ceiling),
            (Some(held), None) => (held * self.plan.factor).min(ceiling),
            (Some(held), Some(failed)) => (held * failed).sqrt(),
            // Only after a failure at or below every rate that held (noise
            // at the edge): a step down.
            (None, Some(failed)) => (failed / self.plan.factor).max(self.plan.start),
        })
    }

    /// Takes in the judgement of a step at `rate`.
    pub fn record(&mut self, rate: f64, held: bool) {
        self.steps += 1;
        if held {
            // A rate that holds above one that failed (noise at the edge)
            // moves the edge up: the failure is taken as the one above.
            self.held = Some(self.held.map_or(rate, |was| was.max(rate)));
            if self.failed.is_some_and(|failed| failed <= rate) {
                self.failed = None;
            }
        } else {
            self.failed = Some(self.failed.map_or(rate, |was| was.min(rate)));
            if self.held.is_some_and(|held| held >= rate) {
                self.held = None;
            }
        }
    }

    /// Steps judged so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// What the search found, once it is over; `None` while it goes on.
    pub fn found(&self) -> Option<Edge> {
        let plan = &self.plan;
        match (self.held, self.failed) {
            (None, Some(failed)) if failed <= plan.start * (1.0 + 1e-9) => {
                return Some(Edge::NeverHeld { failed })
            }
            (Some(held), None) if held >= plan.ceiling * (1.0 - 1e-9) => {
                return Some(Edge::HeldToCeiling { held })
            }
            (Some(held), Some(failed)) if failed <= held * (1.0 + plan.precision) => {
                return Some(Edge::Between { held, failed })
            }
            _ => {}
        }
        (self.steps >= plan.max_steps).then(|| self.so_far())
    }

    /// The bounds found so far, as an unfinished edge: for a search
    /// stopped before it was over.
    pub fn so_far(&self) -> Edge {
        Edge::Unfinished {
            held: self.held,
            failed: self.failed,
        }
    }

    /// Runs the search to its end with `judge` deciding each step.
    pub fn run(mut self, mut judge: impl FnMut(f64) -> bool) -> Edge {
        while let Some(rate) = self.next_rate() {
            let held = judge(rate);
            self.record(rate, held);
        }
        self.found().unwrap_or_else(|| self.so_far())
    }
}

/// The knee of a latency curve: the lowest rate at which the latency
/// first reaches twice its low-rate level, found between the two steps
/// around it by straight-line interpolation. The low-rate level is the
/// median latency of the three lowest rates (of the lowest alone when
/// there are fewer than four steps), so that one noisy step at the bottom
/// does not move it. `steps` are (rate, latency) in any order; `None` when
/// it never doubles or there are fewer than two steps.
pub fn knee(steps: &[(f64, f64)]) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = steps
        .iter()
        .copied()
        .filter(|(rate, latency)| rate.is_finite() && latency.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let low = if sorted.len() >= 4 { 3 } else { 1 };
    let lowest: Vec<f64> = sorted
        .iter()
        .take(low)
        .map(|(_, latency)| *latency)
        .collect();
    let base = crate::intervals::median(&lowest)?;
    let twice = 2.0 * base;
    sorted.windows(2).find_map(|pair| {
        let ((low_rate, low), (high_rate, high)) = (pair[0], pair[1]);
        (high >= twice).then(|| {
            if high <= low {
                high_rate
            } else {
                low_rate + (high_rate - low_rate) * ((twice - low) / (high - low)).clamp(0.0, 1.0)
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(start: f64, ceiling: f64) -> SearchPlan {
        SearchPlan {
            start,
            factor: 2.0,
            precision: 0.02,
            ceiling,
            max_steps: 40,
        }
    }

    #[test]
    fn the_edge_of_a_known_capacity_is_found_within_the_precision() {
        for capacity in [150.0, 999.0, 1000.0, 12_345.0, 80_000.0] {
            let mut tried = Vec::new();
            let edge = Search::new(plan(100.0, 1e6)).unwrap().run(|rate| {
                tried.push(rate);
                rate <= capacity
            });
            let Edge::Between { held, failed } = edge else {
                panic!("{capacity}: {edge:?}");
            };
            assert!(
                held <= capacity && capacity < failed,
                "{capacity}: {edge:?}"
            );
            assert!(failed / held <= 1.02 + 1e-12, "{capacity}: {edge:?}");
            // Up by doubling, then halving the log-interval: 2% of a
            // doubling is 6 halvings at most.
            let doublings = (capacity / 100.0).log2().floor() as usize + 1;
            assert!(tried.len() <= doublings + 1 + 6, "{capacity}: {tried:?}");
            assert_eq!(tried[0], 100.0);
        }
    }

    #[test]
    fn a_target_that_never_holds_or_outruns_the_driver_is_said_so() {
        let never = Search::new(plan(100.0, 1e6)).unwrap().run(|_| false);
        assert_eq!(never, Edge::NeverHeld { failed: 100.0 });
        // Holds everything: the steps stop at the ceiling, not beyond.
        let mut tried = Vec::new();
        let always = Search::new(plan(100.0, 5000.0)).unwrap().run(|rate| {
            tried.push(rate);
            true
        });
        assert_eq!(always, Edge::HeldToCeiling { held: 5000.0 });
        assert_eq!(tried, [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 5000.0]);
        // A capacity just under the ceiling is still found.
        let edge = Search::new(plan(100.0, 5000.0))
            .unwrap()
            .run(|rate| rate <= 4000.0);
        assert!(
            matches!(edge, Edge::Between { held, .. } if held > 3900.0),
            "{edge:?}"
        );
    }

    #[test]
    fn steps_run_out_and_bad_plans_are_refused() {
        let short = SearchPlan {
            max_steps: 3,
            ..plan(100.0, 1e6)
        };
        let edge = Search::new(short).unwrap().run(|rate| rate <= 10_000.0);
        assert_eq!(
            edge,
            Edge::Unfinished {
                held: Some(400.0),
                failed: None
            }
        );
        for bad in [
            SearchPlan {
                start: 0.0,
                ..plan(1.0, 1.0)
            },
            SearchPlan {
                factor: 1.0,
                ..plan(1.0, 1.0)
            },
            SearchPlan {
                precision: -1.0,
                ..plan(1.0, 1.0)
            },
            SearchPlan {
                ceiling: f64::NAN,
                ..plan(1.0, 1.0)
            },
            SearchPlan {
                max_steps: 0,
                ..plan(1.0, 1.0)
            },
        ] {
            assert!(Search::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_hold_above_a_failure_moves_the_edge_up() {
        let mut search = Search::new(plan(100.0, 1e6)).unwrap();
        search.record(100.0, true);
        search.record(200.0, false);
        // Noise: a rate between them failed, then the failure's own rate
        // held on a second look.
        search.record(141.0, false);
        search.record(200.0, true);
        assert_eq!(search.next_rate(), Some(400.0));
        assert_eq!(search.steps(), 4);
    }

    #[test]
    fn the_knee_is_where_latency_first_doubles() {
        // About 100 us at the three lowest rates (median 100), 150 at
        // 800/s, 300 at 1000/s: twice the level (200) a third of the way
        // from 800 to 1000.
        let steps = [
            (1000.0, 300.0),
            (100.0, 90.0),
            (200.0, 100.0),
            (400.0, 110.0),
            (800.0, 150.0),
        ];
        let knee = knee(&steps).unwrap();
        assert!((knee - 866.666).abs() < 0.01, "{knee}");
        // One noisy step at the bottom does not move the level.
        let noisy = [
            (100.0, 400.0),
            (200.0, 100.0),
            (400.0, 100.0),
            (800.0, 300.0),
        ];
        assert!((super::knee(&noisy).unwrap() - 600.0).abs() < 0.01);
        assert_eq!(super::knee(&[(100.0, 100.0), (200.0, 190.0)]), None);
        assert_eq!(super::knee(&[(100.0, 100.0)]), None);
        assert_eq!(super::knee(&[]), None);
        // A jump straight past it: between the two steps.
        assert_eq!(
            super::knee(&[(100.0, 100.0), (200.0, 100.0), (300.0, 1000.0)]).map(|k| k.round()),
            Some(211.0)
        );
    }
}
