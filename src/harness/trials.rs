//! Repeated trials of one configuration (`--repeat N`) made into one
//! result: every trial's timed figures kept, the headline throughput the
//! median of the trials', the latency histogram of every answer of every
//! trial (histograms add exactly), and the counted figures of the median
//! trial, checked equal across trials where the run is deterministic.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::harness::calibration::Calibration;
use crate::harness::driver::Control;
use crate::harness::latency::HistogramError;
use crate::harness::registry::timed_figures;
use crate::harness::report::{self, Incomplete, Mode, RunResult, Trial};
use crate::harness::run::{self, Checkpoints, RunError, RunPlan};
use crate::harness::workload::Bound;
use crate::intervals::median;

/// One result of `results`, the trials of one configuration in the order
/// they ran; `None` when there are none.
pub(crate) fn combine(results: Vec<RunResult>) -> Result<Option<RunResult>, HistogramError> {
    let trials: Vec<Trial> = results.iter().flat_map(RunResult::trial_list).collect();
    let rates: Vec<f64> = results
        .iter()
        .map(|result| result.client.throughput_rps)
        .collect();
    // The median trial by throughput (the lower middle one of an even
    // count) gives the counted figures, the series and the events.
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| rates[a].total_cmp(&rates[b]));
    let Some(&middle) = order.get(results.len().saturating_sub(1) / 2) else {
        return Ok(None);
    };
    let histograms = report::histograms_added(results.iter().map(|result| ("a trial", result)))?;
    let agree = (results.len() > 1 && is_deterministic(&results[0])).then(|| {
        results
            .windows(2)
            .all(|pair| counted(&pair[0]) == counted(&pair[1]))
    });
    let calibration = {
        let each: Vec<Option<&Calibration>> = results
            .iter()
            .map(|result| result.calibration.as_ref())
            .collect();
        Calibration::of_trials(&each, middle)
    };
    let mut combined = results.into_iter().nth(middle).expect("middle is an index");
    combined.calibration = calibration;
    combined.client.throughput_rps = median(&rates).unwrap_or(0.0);
    combined.set_histograms(histograms)?;
    combined.timed = Some(timed_figures(&trials));
    combined.trials = trials;
    combined.trials_agree = agree;
    Ok(Some(combined))
}

/// What [`run_trials`] measured: the trials done, combined, and the error
/// that ended them early, if one did.
pub struct Trials {
    /// The combined result; `None` when not one trial finished.
    pub result: Option<RunResult>,
    /// Trials asked for.
    pub asked: u32,
    /// Why the trials ended before `asked`, if a trial failed.
    pub error: Option<RunError>,
}

/// Runs `plan` `repeat` times, each trial on a fresh cluster with its own
/// warm-up and calibration, and combines them. `announce` hears of each
/// trial before it starts. Ctrl-C or a failed trial ends the trials; those
/// done are still combined.
pub async fn run_trials(
    plan: &RunPlan,
    control: &Arc<Control>,
    repeat: u32,
    mut announce: impl FnMut(u32),
) -> Trials {
    let mut results = Vec::new();
    let mut error = None;
    for trial in 0..repeat.max(1) {
        if control.stop.load(Ordering::Relaxed) {
            break;
        }
        announce(trial);
        control.done.store(0, Ordering::Relaxed);
        let trial_plan = checkpointed(plan, &results, repeat);
        match run::run(trial_plan.as_ref().unwrap_or(plan), control).await {
            Ok(result) => results.push(result),
            Err(failure) => {
                error = Some(failure);
                break;
            }
        }
        // Between trials, the trials so far are the result so far.
        if let Some(checkpoints) = plan.coordination.checkpoints.as_ref() {
            if results.len() < repeat as usize && !control.stop.load(Ordering::Relaxed) {
                if let Ok(Some(mut so_far)) = combine(results.clone()) {
                    so_far.incomplete = Some(Incomplete {
                        last_interval: None,
                        measured_secs: 0.0,
                        trials_whole: results.len() as u32,
                        trials_asked: repeat,
                    });
                    let hear = Arc::clone(&checkpoints.0);
                    let _ = tokio::task::spawn_blocking(move || hear(so_far)).await;
                }
            }
        }
    }
    let result = match combine(results) {
        Ok(result) => result,
        Err(histogram) => {
            error.get_or_insert(RunError::Histogram(histogram));
            None
        }
    };
    Trials {
        result,
        asked: repeat.max(1),
        error,
    }
}

/// With several trials, `plan` whose checkpoints are of the trials `done`
/// with the running one's so far; `None` to run `plan` as it is.
fn checkpointed(plan: &RunPlan, done: &[RunResult], repeat: u32) -> Option<RunPlan> {
    let outer = plan.coordination.checkpoints.as_ref()?;
    if repeat <= 1 {
        return None;
    }
    let (outer, done) = (Arc::clone(&outer.0), done.to_vec());
    let mut plan = plan.clone();
    plan.coordination.checkpoints = Some(Checkpoints::new(move |partial: RunResult| {
        let incomplete = partial.incomplete.clone();
        let mut all = done.clone();
        all.push(partial);
        let whole = all.len() as u32 - 1;
        match combine(all) {
            Ok(Some(mut so_far)) => {
                so_far.incomplete = incomplete.map(|incomplete| Incomplete {
                    trials_whole: whole,
                    trials_asked: repeat,
                    ..incomplete
                });
                outer(so_far);
            }
            Ok(None) => {}
            Err(message) => log::warn!("no checkpoint: {message}"),
        }
    }));
    Some(plan)
}

/// Whether the run's counters follow from its workload alone: its own
/// cluster, one request in flight, a request count, events by request.
pub(crate) fn is_deterministic(result: &RunResult) -> bool {
    let workload = &result.workload;
    result.mode == Mode::Cluster
        && workload.concurrency == 1
        && matches!(workload.bound(), Bound::Requests(_))
        && workload.events.iter().all(|event| event.at.is_none())
}

/// The counted figures two trials of a deterministic run must share.
fn counted(result: &RunResult) -> serde_json::Value {
    let mut cluster = result.cluster.clone();
    if let Some(cluster) = &mut cluster {
        // The store's mean latency is timed.
        cluster.slowdb.mean_latency_us = None;
    }
    let nodes: Vec<Option<u64>> = result.nodes.iter().map(|node| node.slowdb_loads).collect();
    serde_json::json!({ "cluster": cluster, "nodes": nodes, "requests": result.client.requests })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::latency::new_histogram;
    use crate::harness::latency::{HistogramData, LatencyFigures};
    use crate::harness::registry::{one_trial, THROUGHPUT};
    use crate::harness::report::schema::tests::sample as sample_result;

    /// A one-trial result answering `latencies` at `rate` req/s.
    fn trial(rate: f64, latencies: &[u64]) -> RunResult {
        let mut histogram = new_histogram();
        for &latency in latencies {
            histogram.record(latency).unwrap();
        }
        let mut result = sample_result();
        result.client.throughput_rps = rate;
        result.client.requests = latencies.len() as u64;
        result.client.latency_us = LatencyFigures::of(&histogram);
        result.histogram = HistogramData::encode(&histogram).unwrap();
        one_trial(result)
    }

    #[test]
    fn trials_combine_into_medians_a_summed_histogram_and_intervals() {
        let combined = combine(vec![
            trial(100.0, &[10, 20]),
            trial(300.0, &[30]),
            trial(200.0, &[40, 50, 60]),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(combined.trials.len(), 3);
        assert_eq!(combined.client.throughput_rps, 200.0);
        // The counted figures are the median trial's (its 3 requests).
        assert_eq!(combined.client.requests, 3);
        let histogram = combined.histogram.decode().unwrap();
        assert_eq!(histogram.len(), 6);
        assert_eq!(combined.client.latency_us.max, histogram.max());
        let timed = combined.timed.unwrap();
        let throughput = timed.figures[THROUGHPUT.key];
        assert_eq!(
            (throughput.low, throughput.median, throughput.high),
            (Some(100.0), 200.0, Some(300.0))
        );
        assert_eq!(timed.trials, 3);
        // Not deterministic (sample_result has many in flight).
        assert_eq!(combined.trials_agree, None);
    }

    #[test]
    fn deterministic_trials_are_checked_to_count_alike() {
        let deterministic = |rate, requests| {
            let mut result = trial(rate, &[10]);
            result.workload.concurrency = 1;
            result.workload.requests = Some(requests);
            result.workload.duration = None;
            result.client.requests = requests;
            result
        };
        let same = combine(vec![deterministic(1.0, 5), deterministic(2.0, 5)]).unwrap();
        assert_eq!(same.unwrap().trials_agree, Some(true));
        let differ = combine(vec![deterministic(1.0, 5), deterministic(2.0, 6)]).unwrap();
        assert_eq!(differ.unwrap().trials_agree, Some(false));
        assert!(combine(Vec::new()).unwrap().is_none());
    }
}
