//! One step of a capacity search: an open-loop run at one offered rate,
//! read as the table shows it (offered and achieved rate, unsent, latency
//! from the intended and the actual send, errors, hit ratios, slow-store
//! loads per second) and judged against the objective.

use serde::{Deserialize, Serialize};

use super::objective::{judge, LatencyGoal, Miss, StepOutcome};
use crate::harness::latency::HistogramError;
use crate::harness::report::RunResult;

/// Three percentiles of a step's latency, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tail {
    /// The median.
    pub p50: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The 99.9th percentile.
    pub p99_9: u64,
}

/// A step as measured and judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The rate the schedule offered, in requests per second.
    pub offered_rps: f64,
    /// The rate at which requests ended.
    pub achieved_rps: f64,
    /// Requests the schedule meant to send that were never sent.
    pub unsent: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Latency from each request's intended send (what a user waits).
    pub from_intended: Tail,
    /// Latency from its actual send (the service time).
    pub from_send: Option<Tail>,
    /// The objective's percentile from the intended send.
    pub objective_us: Option<u64>,
    /// The API node's hit ratio; `null` when unknown.
    pub api_hit_ratio: Option<f64>,
    /// The share of the API node's requests it fetched from a peer;
    /// `null` when unknown.
    #[serde(default)]
    pub peer_fetch_ratio: Option<f64>,
    /// Slow-store loads per second; `null` when unknown.
    pub slowdb_loads_per_sec: Option<f64>,
    /// Whether latency held level through the step: the p99 of its last
    /// third of intervals at most twice that of its first (after the first
    /// interval). A step that held the objective but not its level was too
    /// short to show where its queue was going.
    pub steady: bool,
    /// Whether it met the objective.
    pub held: bool,
    /// Why not, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miss: Option<Miss>,
}

impl Step {
    /// The step that `result` measured at `offered_rps`, judged against
    /// `goal` with at most `max_errors` of its requests failed.
    pub fn of(
        result: &RunResult,
        offered_rps: f64,
        goal: &LatencyGoal,
        max_errors: f64,
    ) -> Result<Step, HistogramError> {
        let client = &result.client;
        let histogram = result.histogram.decode()?;
        let objective_us =
            (!histogram.is_empty()).then(|| histogram.value_at_quantile(goal.percentile / 100.0));
        let tail = |figures: &crate::harness::latency::LatencyFigures| Tail {
            p50: figures.p50,
            p99: figures.p99,
            p99_9: figures.p99_9,
        };
        let outcome = StepOutcome {
            scheduled: client.requests + client.unsent,
            unsent: client.unsent,
            failed: client.errors.total,
            latency_us: objective_us,
        };
        let judged = judge(goal, max_errors, &outcome);
        let slowdb_loads_per_sec = result
            .cluster
            .as_ref()
            .filter(|_| client.duration_secs > 0.0)
            .map(|cluster| cluster.slowdb.loads as f64 / client.duration_secs);
        Ok(Step {
            offered_rps,
            achieved_rps: client.throughput_rps,
            unsent: client.unsent,
            errors: client.errors.total,
            from_intended: tail(&client.latency_us),
            from_send: client.service_time_us.as_ref().map(tail),
            objective_us,
            api_hit_ratio: result.cluster.as_ref().and_then(|c| c.api_hit_ratio),
            peer_fetch_ratio: result.cluster.as_ref().and_then(|c| c.peer_fetch_ratio),
            slowdb_loads_per_sec,
            steady: level(result),
            held: judged.is_ok(),
            miss: judged.err(),
        })
    }
}

/// Whether the p99 of a run's series held level: the median p99 of its
/// last third of whole intervals at most twice that of its first third
/// (the first interval left out, and the last, partial one). Fewer than
/// four whole intervals say nothing against it.
fn level(result: &RunResult) -> bool {
    let p99s: Vec<u64> = result
        .series
        .iter()
        .take(result.series.len().saturating_sub(1))
        .skip(1)
        .filter_map(|interval| interval.client.p99_us)
        .collect();
    if p99s.len() < 3 {
        return true;
    }
    let third = p99s.len() / 3;
    let median = |values: &[u64]| {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted[sorted.len() / 2]
    };
    let (first, last) = (median(&p99s[..third]), median(&p99s[p99s.len() - third..]));
    last <= first.saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::driver::ClientInterval;
    use crate::harness::latency::{new_histogram, HistogramData, LatencyFigures};
    use crate::harness::report::schema::tests::sample;
    use crate::harness::report::IntervalFigures;

    /// A run of 10,000 requests: 9,900 at 100 us and 100 at 9 ms, so
    /// p99 is 100 us and p99.5 is 9 ms.
    fn run(unsent: u64, errors: u64, p99s: &[u64]) -> RunResult {
        let mut result = sample();
        let mut histogram = new_histogram();
        histogram.record_n(100, 9_900).unwrap();
        histogram.record_n(9_000, 100).unwrap();
        result.histogram = HistogramData::encode(&histogram).unwrap();
        result.client.latency_us = LatencyFigures::of(&histogram);
        result.client.requests = 10_000;
        result.client.unsent = unsent;
        result.client.errors.total = errors;
        result.client.duration_secs = 2.0;
        result.client.throughput_rps = 5_000.0;
        result.series = p99s
            .iter()
            .enumerate()
            .map(|(index, &p99)| IntervalFigures {
                client: ClientInterval {
                    interval: index as u64,
                    start_secs: index as f64,
                    requests: 1000,
                    throughput_rps: 1000.0,
                    p50_us: Some(p99 / 2),
                    p99_us: Some(p99),
                    errors: 0,
                },
                cluster: None,
            })
            .collect();
        result
    }

    #[test]
    fn a_step_reads_any_percentile_from_the_histogram_and_is_judged() {
        let p99 = LatencyGoal::parse("p99<=1ms").unwrap();
        let step = Step::of(&run(0, 0, &[]), 5000.0, &p99, 0.001).unwrap();
        assert_eq!(step.objective_us, Some(100));
        assert!(step.held && step.miss.is_none() && step.steady);
        assert_eq!(step.from_intended.p99, 100);
        assert_eq!(step.offered_rps, 5000.0);
        let tighter = LatencyGoal::parse("p99.5<=1ms").unwrap();
        let step = Step::of(&run(0, 0, &[]), 5000.0, &tighter, 0.001).unwrap();
        assert!(!step.held);
        assert!(
            matches!(step.miss, Some(Miss::Latency { got_us, bound_us: 1000 }) if got_us >= 9000)
        );
        // Errors and unsent requests count against the whole schedule.
        let step = Step::of(&run(0, 11, &[]), 5000.0, &p99, 0.001).unwrap();
        assert!(matches!(step.miss, Some(Miss::Errors { .. })));
        let step = Step::of(&run(200, 0, &[]), 5000.0, &p99, 0.001).unwrap();
        assert!(matches!(step.miss, Some(Miss::Unsent { .. })));
    }

    #[test]
    fn a_step_whose_latency_climbs_is_not_steady() {
        let goal = LatencyGoal::parse("p99<=1ms").unwrap();
        // First and last intervals left out; thirds of [100,110,120 | ... | ...].
        let flat = run(
            0,
            0,
            &[900, 100, 110, 120, 100, 130, 110, 120, 150, 115, 5000],
        );
        assert!(Step::of(&flat, 1.0, &goal, 0.0).unwrap().steady);
        let climbing = run(
            0,
            0,
            &[100, 100, 110, 120, 200, 300, 400, 250, 260, 270, 100],
        );
        assert!(!Step::of(&climbing, 1.0, &goal, 0.0).unwrap().steady);
    }
}
