//! Verification: a result of a run against the model of its
//! configuration, counter by counter and interval by interval.

use serde::{Deserialize, Serialize};

use super::model::{model_events, KeySequence, ModelReading};
use super::predict::{options_of, predict, Prediction};
use super::SimulateError;
use crate::analysis::grid::GridPoint;
use crate::geecache::node::GroupReport;
use crate::harness::cluster::GROUP;
use crate::harness::ownership::RingShape;
use crate::harness::report::{ClusterFigures, ClusterInterval, Mode, RunResult, SeriesReading};
/// Where a run's counters and the model's prediction disagree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// The figure, as a path into the prediction: `nodes[1].main_cache.evictions`.
    pub figure: String,
    /// What the model predicted.
    pub model: serde_json::Value,
    /// What the run measured.
    pub run: serde_json::Value,
}

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The model's prediction for the result's configuration.
    pub prediction: Prediction,
    /// Intervals of the series checked one by one (0 when the series was
    /// read by a timer).
    pub intervals: usize,
    /// Every figure that differs; empty when the run is as predicted.
    pub differences: Vec<Difference>,
    /// Why the result may differ from the model without anything being
    /// wrong (more than one request in flight).
    pub caveat: Option<String>,
}

/// Predicts the counters of the run that made `result` and lists every one
/// that differs. Only runs that started their own cluster can be predicted;
/// the model is exact when one request was in flight.
pub fn verify(result: &RunResult) -> Result<Verification, SimulateError> {
    if result.mode != Mode::Cluster {
        return Err(SimulateError::TargetRun);
    }
    let Some(run_cluster) = &result.cluster else {
        return Err(SimulateError::NoClusterFigures);
    };
    let workload = &result.workload;
    let events = model_events(workload, Some(&applied_at(result)))?;
    let point = GridPoint {
        ring: RingShape::of(workload),
        cache_bytes: workload.cluster.cache_bytes,
    };
    let faults = result.faults.unwrap_or_default();
    // At one request in flight, the measurement asked for the first
    // `requests` keys of its stream, however the run was bounded.
    let keys = KeySequence::shifted(
        workload,
        workload.warmup_requests,
        result.client.requests,
        &events,
    )?;
    same_trace(result, &keys)?;
    let (owners, shares) = keys.owners(&point.ring);
    // A series read between requests is checked interval by interval: the
    // model is read where each interval's requests end.
    let by_interval =
        result.series_reading == SeriesReading::BetweenRequests && !result.series.is_empty();
    let marks = if by_interval {
        interval_ends(result)
    } else {
        Vec::new()
    };
    let (prediction, readings) = predict(
        &keys,
        point,
        options_of(workload, &point, &faults),
        &owners,
        shares,
        &events,
        &marks,
    );
    let differences = differences(result, run_cluster, &prediction, &readings);
    Ok(Verification {
        prediction,
        intervals: readings.len().saturating_sub(1),
        differences,
        caveat: caveat(result, by_interval),
    })
}

/// The request each of the workload's events was applied at in the run,
/// where the run says.
fn applied_at(result: &RunResult) -> Vec<Option<u64>> {
    (0..result.workload.events.len())
        .map(|index| {
            result
                .events
                .get(index)
                .and_then(|figures| figures.applied_at_request)
        })
        .collect()
}

/// Refuses a trace that is not the file the run replayed (by its size
/// and hash).
fn same_trace(result: &RunResult, keys: &KeySequence) -> Result<(), SimulateError> {
    if let (Some(run), Some(now)) = (&result.trace, &keys.trace) {
        if run.hash != now.hash || run.file_bytes != now.file_bytes {
            return Err(SimulateError::NotTheRunsTrace {
                path: now.path.clone(),
                bytes: now.file_bytes,
                hash: now.hash.clone(),
                run_bytes: run.file_bytes,
                run_hash: run.hash.clone(),
            });
        }
    }
    Ok(())
}

/// The requests sent by the end of each interval of the series, from 0.
fn interval_ends(result: &RunResult) -> Vec<u64> {
    std::iter::once(0)
        .chain(result.series.iter().scan(0, |sent, interval| {
            *sent += interval.client.requests;
            Some(*sent)
        }))
        .collect()
}

/// Every figure of the run that differs from the model's: the cluster's,
/// each node's, the store's loads by node, and each interval's.
fn differences(
    result: &RunResult,
    run_cluster: &ClusterFigures,
    prediction: &Prediction,
    readings: &[ModelReading],
) -> Vec<Difference> {
    let mut run_cluster = run_cluster.clone();
    run_cluster.slowdb.mean_latency_us = None;
    let run_nodes: Vec<Option<GroupReport>> = result
        .nodes
        .iter()
        .map(|node| {
            node.stats
                .as_ref()
                .and_then(|stats| stats.groups.get(GROUP).cloned())
        })
        .collect();
    let run_loads: Vec<Option<u64>> = result.nodes.iter().map(|node| node.slowdb_loads).collect();
    // Results from before nodes reported their settings are checked on
    // their counters alone.
    let mut predicted_nodes = prediction.nodes.clone();
    for (model, run) in predicted_nodes.iter_mut().zip(&run_nodes) {
        if run.as_ref().is_some_and(|run| run.settings.is_none()) {
            model.settings = None;
        }
    }
    let mut differences = Vec::new();
    diff(
        "cluster",
        &json(&prediction.cluster),
        &json(&run_cluster),
        &mut differences,
    );
    diff(
        "nodes",
        &json(&predicted_nodes),
        &json(&run_nodes),
        &mut differences,
    );
    diff(
        "slowdb_loads",
        &json(&prediction.slowdb_loads),
        &json(&run_loads),
        &mut differences,
    );
    for (at, interval) in result.series.iter().enumerate() {
        let Some((then, now)) = readings.get(at).zip(readings.get(at + 1)) else {
            break;
        };
        let model = ClusterInterval::between(
            &then.nodes,
            &now.nodes,
            Some(0),
            Some((&then.db_loads, &now.db_loads)),
        );
        diff(
            &format!("series[{at}].cluster"),
            &json(&model),
            &json(&interval.cluster),
            &mut differences,
        );
    }
    differences
}

/// Why the run may differ from the model without anything being wrong:
/// a series read by a timer, requests in flight together, events at times.
fn caveat(result: &RunResult, by_interval: bool) -> Option<String> {
    let workload = &result.workload;
    let mut caveats = Vec::new();
    if !by_interval && workload.concurrency == 1 {
        caveats.push(
            "the series was read by a timer while requests were in flight, so only the \
             totals are checked; a run with one request in flight (--deterministic) is \
             checked interval by interval"
                .to_owned(),
        );
    }
    if workload.concurrency > 1 {
        caveats.push(format!(
            "the run had up to {} requests in flight: the model is exact only with one \
             (--deterministic); overlapping loads and singleflight make runs differ",
            workload.concurrency
        ));
    }
    if workload.events.iter().any(|event| event.at.is_some()) {
        caveats.push(
            "its events happened at times: the model places each before the request the run \
             had reached then (applied_at_request), which is exact only for at_request events"
                .to_owned(),
        );
    }
    (!caveats.is_empty()).then(|| caveats.join("; "))
}

fn json(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Every leaf where `model` and `run` differ, named by its path.
fn diff(path: &str, model: &serde_json::Value, run: &serde_json::Value, out: &mut Vec<Difference>) {
    use serde_json::Value;
    match (model, run) {
        (Value::Object(model), Value::Object(run)) => {
            let names: std::collections::BTreeSet<&String> =
                model.keys().chain(run.keys()).collect();
            for name in names {
                diff(
                    &format!("{path}.{name}"),
                    model.get(name).unwrap_or(&Value::Null),
                    run.get(name).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(model), Value::Array(run)) if model.len() == run.len() => {
            for (at, (model, run)) in model.iter().zip(run).enumerate() {
                diff(&format!("{path}[{at}]"), model, run, out);
            }
        }
        (model, run) if model != run => out.push(Difference {
            figure: path.to_owned(),
            model: model.clone(),
            run: run.clone(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_each_differing_leaf() {
        let model = serde_json::json!({"a": 1, "b": [1, 2], "c": {"d": null}});
        let run = serde_json::json!({"a": 1, "b": [1, 3], "c": {"d": 4}});
        let mut out = Vec::new();
        diff("x", &model, &run, &mut out);
        let figures: Vec<&str> = out.iter().map(|d| d.figure.as_str()).collect();
        assert_eq!(figures, ["x.b[1]", "x.c.d"]);
    }
}
