//! The objective a step must meet: a latency percentile at or under a
//! bound (`p99<=5ms`, any percentile, measured from each request's
//! intended send), and a share of failed requests at or under another
//! (`0.1%`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::units::Span;

/// A latency percentile's bound: `p99<=5ms`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyGoal {
    /// The percentile, in (0, 100].
    pub percentile: f64,
    /// The bound it must stay at or under.
    pub at_most: Span,
}

impl LatencyGoal {
    /// Parses `p99<=5ms`, `p99.9<=500us`, `p50 <= 1.5ms`.
    pub fn parse(text: &str) -> Result<LatencyGoal, String> {
        let expected = "expected a percentile and a bound, such as p99<=5ms or p99.9<=500us";
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (left, right) = compact
            .split_once("<=")
            .ok_or_else(|| format!("invalid objective {text:?}: {expected}"))?;
        let percentile: f64 = left
            .strip_prefix('p')
            .and_then(|number| number.parse().ok())
            .ok_or_else(|| {
                format!("invalid objective {text:?}: {left:?} is not a percentile ({expected})")
            })?;
        if !(percentile > 0.0 && percentile <= 100.0) {
            return Err(format!(
                "invalid objective {text:?}: the percentile must lie in (0, 100], not {percentile}"
            ));
        }
        let at_most =
            Span::parse(right).map_err(|error| format!("invalid objective {text:?}: {error}"))?;
        if at_most.0.is_zero() {
            return Err(format!(
                "invalid objective {text:?}: the bound must be above 0"
            ));
        }
        Ok(LatencyGoal {
            percentile,
            at_most,
        })
    }

    /// The bound in whole microseconds, as the histograms count.
    pub fn bound_us(&self) -> u64 {
        u64::try_from(self.at_most.0.as_micros()).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for LatencyGoal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}<={}", self.percentile, self.at_most)
    }
}

/// Parses a share of requests: `0.1%`, `1%`, or a fraction `0.001`.
pub fn parse_share(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let (number, scale) = match trimmed.strip_suffix('%') {
        Some(number) => (number.trim(), 0.01),
        None => (trimmed, 1.0),
    };
    let share = number
        .parse::<f64>()
        .ok()
        .map(|value| value * scale)
        .filter(|share| (0.0..=1.0).contains(share))
        .ok_or_else(|| {
            format!("invalid share {text:?}: expected a percentage from 0% to 100%, such as 0.1%")
        })?;
    Ok(share)
}

/// Why a step did not hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "because")]
pub enum Miss {
    /// The percentile went over its bound.
    Latency {
        /// The percentile the step measured, in microseconds.
        got_us: u64,
        /// The objective's bound, in microseconds.
        bound_us: u64,
    },
    /// Too many requests failed.
    Errors {
        /// The share of requests that failed.
        share: f64,
        /// The highest share the objective allows.
        at_most: f64,
    },
    /// The target took too few of the requests offered: the driver could
    /// not hand them out on time (they were not sent), so the offered rate
    /// was not the rate the target saw.
    Unsent {
        /// The share of offered requests that were not sent.
        share: f64,
        /// The highest share the objective allows.
        at_most: f64,
    },
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Miss::Latency {
                got_us: u64::MAX, ..
            } => write!(f, "no answer was measured"),
            Miss::Latency { got_us, bound_us } => write!(f, "{got_us} us > {bound_us} us"),
            Miss::Errors { share, at_most } => {
                write!(f, "{:.2}% failed > {:.2}%", share * 100.0, at_most * 100.0)
            }
            Miss::Unsent { share, at_most } => write!(
                f,
                "{:.2}% unsent > {:.2}%: the open loop fell behind its schedule",
                share * 100.0,
                at_most * 100.0
            ),
        }
    }
}

/// What a step measured, as the objective judges it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    /// Requests the schedule held.
    pub scheduled: u64,
    /// Those not sent (the driver fell behind).
    pub unsent: u64,
    /// Those that failed.
    pub failed: u64,
    /// The objective's percentile of latency from the intended send, in
    /// microseconds; `None` when nothing was answered.
    pub latency_us: Option<u64>,
}

/// The share of a step's requests that may go unsent and the step still
/// hold: above it, the rate offered is not the rate that was sent.
pub const MAX_UNSENT: f64 = 0.01;

/// Whether a step held `goal` with at most `max_errors` of its requests
/// failed, and why not.
pub fn judge(goal: &LatencyGoal, max_errors: f64, step: &StepOutcome) -> Result<(), Miss> {
    let share = |count: u64| count as f64 / step.scheduled.max(1) as f64;
    let unsent = share(step.unsent);
    if unsent > MAX_UNSENT {
        return Err(Miss::Unsent {
            share: unsent,
            at_most: MAX_UNSENT,
        });
    }
    let failed = share(step.failed);
    if failed > max_errors {
        return Err(Miss::Errors {
            share: failed,
            at_most: max_errors,
        });
    }
    let bound_us = goal.bound_us();
    match step.latency_us {
        Some(got_us) if got_us <= bound_us => Ok(()),
        Some(got_us) => Err(Miss::Latency { got_us, bound_us }),
        // Nothing answered: as far over as can be.
        None => Err(Miss::Latency {
            got_us: u64::MAX,
            bound_us,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_with_any_percentile_and_name_what_is_wrong() {
        let goal = LatencyGoal::parse("p99<=5ms").unwrap();
        assert_eq!(goal.percentile, 99.0);
        assert_eq!(goal.bound_us(), 5000);
        assert_eq!(goal.to_string(), "p99<=5ms");
        let goal = LatencyGoal::parse(" p99.9 <= 500us ").unwrap();
        assert_eq!((goal.percentile, goal.bound_us()), (99.9, 500));
        assert_eq!(LatencyGoal::parse("p50<=1.5ms").unwrap().bound_us(), 1500);
        for (bad, named) in [
            ("p99", "expected a percentile"),
            ("99<=5ms", "is not a percentile"),
            ("p0<=5ms", "(0, 100]"),
            ("p101<=5ms", "(0, 100]"),
            ("p99<=5", "invalid duration"),
            ("p99<=0ms", "above 0"),
            ("pxx<=1ms", "is not a percentile"),
        ] {
            let error = LatencyGoal::parse(bad).unwrap_err();
            assert!(
                error.contains(named) && error.contains(bad.trim()),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn shares_are_percentages_or_fractions() {
        assert_eq!(parse_share("0.1%").unwrap(), 0.001);
        assert_eq!(parse_share("0").unwrap(), 0.0);
        assert_eq!(parse_share("0.05").unwrap(), 0.05);
        assert_eq!(parse_share("100%").unwrap(), 1.0);
        for bad in ["", "-1%", "101%", "1.5", "lots"] {
            assert!(
                parse_share(bad).unwrap_err().contains("invalid share"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_step_holds_only_when_sent_answered_and_fast_enough() {
        let goal = LatencyGoal::parse("p99<=5ms").unwrap();
        let step = |unsent, failed, latency_us| StepOutcome {
            scheduled: 10_000,
            unsent,
            failed,
            latency_us,
        };
        assert_eq!(judge(&goal, 0.001, &step(0, 10, Some(5000))), Ok(()));
        assert_eq!(judge(&goal, 0.001, &step(100, 0, Some(10))), Ok(()));
        assert!(matches!(
            judge(&goal, 0.001, &step(101, 0, Some(10))),
            Err(Miss::Unsent { .. })
        ));
        assert!(matches!(
            judge(&goal, 0.001, &step(0, 11, Some(10))),
            Err(Miss::Errors { .. })
        ));
        assert_eq!(
            judge(&goal, 0.001, &step(0, 0, Some(5001))),
            Err(Miss::Latency {
                got_us: 5001,
                bound_us: 5000
            })
        );
        assert!(judge(&goal, 0.001, &step(0, 0, None)).is_err());
    }
}
