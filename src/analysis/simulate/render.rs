//! The predictions and verifications as people and programs read them:
//! aligned tables, an event table and CSV.

use std::fmt::Write as _;

use super::predict::Prediction;
use super::verify::Verification;
use crate::harness::registry::{
    API_HIT_RATIO, CLUSTER_HIT_RATIO, DUPLICATE_LOADS, EVENT_ERRORS, EVENT_EXTRA_LOADS,
    EVENT_MOVED_SHARE, LOAD_IMBALANCE, PEER_FETCH_RATIO, RING_IMBALANCE, SLOWDB_LOADS_PER_REQUEST,
};
use crate::intervals::max_over_mean;
use crate::table::align;
/// The figures a simulation table and CSV show, in order.
const COLUMNS: [&str; 9] = [
    "api hit",
    "cluster hit",
    "peer fetch",
    "loads/req",
    "keys loaded",
    "dup loads",
    "evictions",
    "load max/mean",
    "ring max/mean",
];

fn cells(prediction: &Prediction) -> [String; 9] {
    let cluster = &prediction.cluster;
    [
        API_HIT_RATIO.show(cluster.api_hit_ratio),
        CLUSTER_HIT_RATIO.show(Some(cluster.cluster_hit_ratio)),
        PEER_FETCH_RATIO.show(cluster.peer_fetch_ratio),
        SLOWDB_LOADS_PER_REQUEST.show(Some(cluster.slowdb.loads_per_request)),
        cluster.slowdb.keys_loaded.unwrap_or(0).to_string(),
        DUPLICATE_LOADS.show(Some(cluster.slowdb.duplicate_loads.unwrap_or(0) as f64)),
        prediction.evictions().to_string(),
        LOAD_IMBALANCE.show(Some(prediction.load_imbalance())),
        RING_IMBALANCE.show(Some(max_over_mean(&prediction.ring_shares))),
    ]
}

/// The predictions as an aligned table, a row per configuration.
pub fn table(predictions: &[Prediction]) -> String {
    let mut rows: Vec<Vec<String>> = vec![["nodes", "hash", "replicas", "cache"]
        .into_iter()
        .chain(COLUMNS)
        .map(str::to_owned)
        .collect()];
    for prediction in predictions {
        let mut row = prediction.point.cells();
        row.extend(cells(prediction));
        rows.push(row);
    }
    align(&rows, |column| column == 1)
}

/// Each event's cost in each configuration, a row per configuration and
/// event.
pub fn event_table(predictions: &[Prediction]) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "nodes",
        "hash",
        "replicas",
        "cache",
        "event",
        "keys moved",
        "ideal",
        "extra loads",
        "errors",
        "recovery (requests)",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()];
    for prediction in predictions {
        for cost in &prediction.events {
            let mut row = prediction.point.cells();
            row.push(cost.event.to_string());
            row.push(EVENT_MOVED_SHARE.show(cost.moved_share));
            row.push(EVENT_MOVED_SHARE.show(cost.ideal_moved_share));
            row.push(
                cost.extra_slowdb_loads
                    .map_or("-".to_owned(), |extra| format!("{extra:+}")),
            );
            row.push(cost.errors.to_string());
            row.push(
                cost.recovery_requests
                    .map_or_else(|| "NOT back".to_owned(), |requests| requests.to_string()),
            );
            rows.push(row);
        }
    }
    let interval = predictions
        .iter()
        .find_map(|prediction| prediction.interval_requests)
        .unwrap_or(0);
    align(&rows, |column| column == 1 || column == 4)
        + &format!(
            "event costs over intervals of {interval} requests; recovery: loads, errors and \
             API hit ratio back within 10% of the 3 intervals before for 3 intervals\n"
        )
}

/// The predictions as CSV, a line per configuration, with plain numbers;
/// with events, four columns more for each (`event0_moved_share`, ...).
pub fn csv(predictions: &[Prediction]) -> String {
    let mut out = format!(
        "nodes,hash,replicas,cache_bytes,requests,{},{},{},slowdb_loads,{},keys_loaded,{},\
         evictions,{},{}",
        API_HIT_RATIO.key,
        CLUSTER_HIT_RATIO.key,
        PEER_FETCH_RATIO.key,
        SLOWDB_LOADS_PER_REQUEST.key,
        DUPLICATE_LOADS.key,
        LOAD_IMBALANCE.key,
        RING_IMBALANCE.key,
    );
    let events = predictions
        .iter()
        .map(|prediction| prediction.events.len())
        .max()
        .unwrap_or(0);
    for event in 0..events {
        for figure in [&EVENT_MOVED_SHARE, &EVENT_EXTRA_LOADS, &EVENT_ERRORS] {
            let _ = write!(out, ",event{event}_{}", figure.key);
        }
        let _ = write!(out, ",event{event}_recovery_requests");
    }
    out.push('\n');
    let optional = |value: Option<f64>| value.map_or(String::new(), |value| value.to_string());
    for prediction in predictions {
        let cluster = &prediction.cluster;
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            prediction.point.csv(),
            prediction.requests,
            optional(cluster.api_hit_ratio),
            cluster.cluster_hit_ratio,
            optional(cluster.peer_fetch_ratio),
            cluster.slowdb.loads,
            cluster.slowdb.loads_per_request,
            cluster.slowdb.keys_loaded.unwrap_or(0),
            cluster.slowdb.duplicate_loads.unwrap_or(0),
            prediction.evictions(),
            prediction.load_imbalance(),
            max_over_mean(&prediction.ring_shares),
        );
        for cost in &prediction.events {
            let _ = write!(
                out,
                ",{},{},{},{}",
                optional(cost.moved_share),
                cost.extra_slowdb_loads
                    .map_or(String::new(), |extra| extra.to_string()),
                cost.errors,
                cost.recovery_requests
                    .map_or(String::new(), |requests| requests.to_string()),
            );
        }
        out.push('\n');
    }
    out
}

/// A readable report of a verification.
pub fn verification_report(verification: &Verification, source: &str) -> String {
    let mut out = String::new();
    let point = verification.prediction.point;
    let _ = writeln!(
        out,
        "model of {point}, {} requests, against {source}",
        verification.prediction.requests
    );
    if verification.differences.is_empty() {
        let _ = writeln!(
            out,
            "every counter as predicted: slow-store loads, peer loads, hits, evictions, on every node"
        );
        if verification.intervals > 0 {
            let _ = writeln!(
                out,
                "and in each of the series' {} intervals",
                verification.intervals
            );
        }
    } else {
        let _ = writeln!(out, "{} figures differ:", verification.differences.len());
        let width = verification
            .differences
            .iter()
            .map(|difference| difference.figure.len())
            .max()
            .unwrap_or(0);
        for difference in &verification.differences {
            let _ = writeln!(
                out,
                "  {:<width$}  model {}  run {}",
                difference.figure, difference.model, difference.run
            );
        }
    }
    if let Some(caveat) = &verification.caveat {
        let _ = writeln!(out, "note: {caveat}");
    }
    out
}
