//! Results side by side: what differs in their configurations, and each
//! headline figure with its change against the first result.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::units::{self, TableStyle};

use serde::Serialize;
use serde_json::Value;

use crate::analysis::ring::max_over_mean;
use crate::harness::report::{EventFigures, RunResult};
pub use crate::harness::summary::show_figure;
use crate::harness::summary::timed_label;
use crate::stats::{self, median, Change};

/// Which way a figure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Larger is better (throughput, hit ratio).
    Higher,
    /// Smaller is better (latency, loads).
    Lower,
}

/// Whether a figure depends on the machine's speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Nature {
    /// Counts that the workload and the configuration decide (exactly so
    /// with concurrency 1; nearly so otherwise).
    Counted,
    /// Times, which depend on the machine and its load.
    Timed,
}

/// One headline figure of a result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metric {
    /// A stable name, used by `check` thresholds.
    pub key: &'static str,
    /// What a person reads.
    pub label: &'static str,
    /// The value; `None` when the result does not have it.
    pub value: Option<f64>,
    /// Which way is better.
    pub better: Better,
    /// Counted or timed.
    pub nature: Nature,
    /// A timed figure's value in each trial (its `value` is their median);
    /// empty for a counted one.
    pub trials: Vec<f64>,
}

/// The headline figures of a result, in display order.
pub fn metrics(result: &RunResult) -> Vec<Metric> {
    let client = &result.client;
    let cluster = result.cluster.as_ref();
    let slowdb = cluster.map(|cluster| &cluster.slowdb);
    let node_loads: Option<Vec<f64>> = result
        .nodes
        .iter()
        .map(|node| node.slowdb_loads.map(|loads| loads as f64))
        .collect();
    let ring_shares: Vec<f64> = result.nodes.iter().map(|node| node.ring_share).collect();
    let metric = |key, label, value, better, nature| Metric {
        key,
        label,
        value,
        better,
        nature,
        trials: Vec::new(),
    };
    use Better::{Higher, Lower};
    use Nature::Counted;
    // Timed figures: the median of the trials, each trial kept.
    let timed = |key: &'static str, better| {
        let trials = result.trial_values(key);
        Metric {
            key,
            label: timed_label(key),
            value: median(&trials),
            better,
            nature: Nature::Timed,
            trials,
        }
    };
    vec![
        timed("throughput_rps", Higher),
        timed("p50_us", Lower),
        timed("p99_us", Lower),
        timed("p99_9_us", Lower),
        timed("limit_fraction", Higher),
        timed("p99_over_two_hop", Lower),
        // An open loop's service time, from the actual send (none in a
        // closed loop, where it is the latency above).
        timed("service_p50_us", Lower),
        timed("service_p99_us", Lower),
        timed("service_p99_9_us", Lower),
        timed("service_p99_over_two_hop", Lower),
        metric(
            "error_ratio",
            "errors / requests",
            Some(ratio(client.errors.total, client.requests)),
            Lower,
            Counted,
        ),
        metric(
            "api_hit_ratio",
            "api hit ratio",
            cluster.and_then(|cluster| cluster.api_hit_ratio),
            Higher,
            Counted,
        ),
        metric(
            "cluster_hit_ratio",
            "cluster hit ratio",
            cluster.map(|cluster| cluster.cluster_hit_ratio),
            Higher,
            Counted,
        ),
        metric(
            "peer_fetch_ratio",
            "peer-fetch ratio",
            cluster.and_then(|cluster| cluster.peer_fetch_ratio),
            Lower,
            Counted,
        ),
        metric(
            "slowdb_loads_per_request",
            "slowdb loads / request",
            slowdb.map(|slowdb| slowdb.loads_per_request),
            Lower,
            Counted,
        ),
        metric(
            "duplicate_loads",
            "duplicate loads",
            slowdb
                .and_then(|slowdb| slowdb.duplicate_loads)
                .map(|loads| loads as f64),
            Lower,
            Counted,
        ),
        metric(
            "load_imbalance",
            "slowdb load max/mean",
            node_loads
                .filter(|loads| !loads.is_empty())
                .map(|loads| max_over_mean(&loads)),
            Lower,
            Counted,
        ),
        metric(
            "ring_imbalance",
            "ring share max/mean",
            (!ring_shares.is_empty()).then(|| max_over_mean(&ring_shares)),
            Lower,
            Counted,
        ),
    ]
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The change from `base` to `value` in percent; `None` without both or
/// from zero.
pub fn change_percent(base: Option<f64>, value: Option<f64>) -> Option<f64> {
    match (base, value) {
        (Some(base), Some(value)) if base != 0.0 => Some((value - base) / base.abs() * 100.0),
        (Some(base), Some(value)) if base == value => Some(0.0),
        _ => None,
    }
}

/// A configuration field whose value differs between results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// Dotted path, such as `workload.cluster.replicas`.
    pub field: String,
    /// The value in each result (`null` where absent).
    pub values: Vec<Value>,
}

/// A figure across results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The metric's stable name; an event's figures are
    /// `events[I].FIGURE`.
    pub key: String,
    /// Its label.
    pub label: String,
    /// Which way is better.
    pub better: Better,
    /// The value in each result.
    pub values: Vec<Option<f64>>,
    /// The change against the first result, in percent.
    pub change_percent: Vec<Option<f64>>,
    /// For a timed figure: the change's 95% interval against the first
    /// result, in percent (`null` for the first, and without 3 trials on
    /// both sides).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interval_percent: Vec<Option<[f64; 2]>>,
    /// For a timed figure: what the change against the first result says
    /// (`null` for the first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<Option<Verdict>>,
}

/// What the trials say about a timed figure's change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Throughput up: the interval lies above zero.
    Faster,
    /// Throughput down: the interval lies below zero.
    Slower,
    /// A latency down.
    Better,
    /// A latency up.
    Worse,
    /// The interval contains zero.
    NoClearDifference,
    /// A side has one trial: nothing to say how sure the change is.
    OneTrial,
    /// A side has two trials: too few for an interval.
    TooFewTrials,
}

impl Verdict {
    /// The verdict on a figure that is better `better`, changed by
    /// `change` between trials of `trials` counts.
    pub fn of(key: &str, better: Better, change: Option<&Change>, trials: [usize; 2]) -> Verdict {
        if trials.contains(&1) || trials.contains(&0) {
            return Verdict::OneTrial;
        }
        if trials.iter().any(|&count| count < stats::MIN_TRIALS) {
            return Verdict::TooFewTrials;
        }
        let Some(up) = change.and_then(Change::direction) else {
            return Verdict::NoClearDifference;
        };
        let improved = up == (better == Better::Higher);
        let speed = key == "throughput_rps" || key == "limit_fraction";
        match (speed, improved) {
            (true, true) => Verdict::Faster,
            (true, false) => Verdict::Slower,
            (false, true) => Verdict::Better,
            (false, false) => Verdict::Worse,
        }
    }

    /// As a table shows it.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoClearDifference => "no clear difference",
            Verdict::OneTrial => "one trial: no verdict",
            Verdict::TooFewTrials => "2 trials: no verdict",
        }
    }
}

/// Results side by side.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The results' names (file paths), first is the base.
    pub results: Vec<String>,
    /// Whether the results ran different workloads (key space, distribution,
    /// load, store): their figures then measure different things.
    pub different_workloads: bool,
    /// The workload fields that differ, when `different_workloads`.
    pub workload_differences: Vec<String>,
    /// Configuration and machine fields that differ.
    pub differences: Vec<Difference>,
    /// Every headline figure.
    pub rows: Vec<Row>,
}

/// Each event's cost across results, matched by the event's place in the
/// workload: client errors, extra slow-store loads, recovery time and, for
/// ring changes, the share of keys moved.
fn event_rows(named: &[(String, RunResult)]) -> Vec<Row> {
    let Some((_, first)) = named.first() else {
        return Vec::new();
    };
    type Figure = fn(&EventFigures) -> Option<f64>;
    let figures: [(&str, &str, Better, Figure); 4] = [
        ("errors", "client errors", Better::Lower, |event| {
            event.applied.then_some(event.errors as f64)
        }),
        (
            "extra_slowdb_loads",
            "extra slowdb loads",
            Better::Lower,
            |event| event.extra_slowdb_loads.map(|loads| loads as f64),
        ),
        ("recovery_secs", "recovery s", Better::Lower, |event| {
            event.recovery_secs
        }),
        ("moved_share", "keys moved", Better::Lower, |event| {
            event.moved_share
        }),
    ];
    let mut rows = Vec::new();
    for (index, event) in first.events.iter().enumerate() {
        for (key, label, better, figure) in figures {
            let values: Vec<Option<f64>> = named
                .iter()
                .map(|(_, result)| result.events.get(index).and_then(figure))
                .collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            rows.push(Row {
                interval_percent: Vec::new(),
                verdicts: Vec::new(),
                key: format!("events[{index}].{key}"),
                label: format!("event {index} ({}): {label}", event.event.action),
                better,
                change_percent: values
                    .iter()
                    .map(|&value| change_percent(values[0], value))
                    .collect(),
                values,
            });
        }
    }
    rows
}

/// Flattens JSON into dotted paths and leaf values.
fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&path, field, into);
            }
        }
        leaf => {
            into.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

/// The fields that make two workloads measure different things; the cluster
/// settings, seed and bounds of time are what comparisons vary.
const WORKLOAD_IDENTITY: [&str; 7] = [
    "workload.events",
    "workload.keys",
    "workload.distribution",
    "workload.value_size",
    "workload.slowdb",
    "workload.rate",
    "workload.name",
];

/// Compares results; the first is the base the changes are measured from.
pub fn compare(named: &[(String, RunResult)]) -> Comparison {
    let flat: Vec<BTreeMap<String, Value>> = named
        .iter()
        .map(|(_, result)| {
            let mut fields = BTreeMap::new();
            let subject = serde_json::json!({
                "mode": result.mode,
                "workload": result.workload,
                "machine": result.machine,
                "tool": result.tool,
                // A target's own settings, where its nodes reported them.
                "target_settings": result.target_settings,
            });
            flatten("", &subject, &mut fields);
            fields
        })
        .collect();
    let mut all_fields: Vec<&String> = flat.iter().flat_map(BTreeMap::keys).collect();
    all_fields.sort();
    all_fields.dedup();
    let differences: Vec<Difference> = all_fields
        .into_iter()
        .filter_map(|field| {
            let values: Vec<Value> = flat
                .iter()
                .map(|fields| fields.get(field).cloned().unwrap_or(Value::Null))
                .collect();
            let differs = values.iter().any(|value| value != &values[0]);
            differs.then(|| Difference {
                field: field.clone(),
                values,
            })
        })
        .collect();
    let workload_differences: Vec<String> = differences
        .iter()
        .filter(|difference| {
            WORKLOAD_IDENTITY
                .iter()
                .any(|identity| difference.field.starts_with(identity))
        })
        .map(|difference| difference.field.clone())
        .collect();

    let all_metrics: Vec<Vec<Metric>> = named.iter().map(|(_, result)| metrics(result)).collect();
    let mut rows: Vec<Row> = all_metrics
        .first()
        .map(|first| {
            first
                .iter()
                .enumerate()
                .map(|(at, metric)| {
                    let values: Vec<Option<f64>> = all_metrics
                        .iter()
                        .map(|metrics| metrics[at].value)
                        .collect();
                    let change_percent = values
                        .iter()
                        .map(|&value| change_percent(values[0], value))
                        .collect();
                    let mut row = Row {
                        key: metric.key.to_owned(),
                        label: metric.label.to_owned(),
                        better: metric.better,
                        values,
                        change_percent,
                        interval_percent: Vec::new(),
                        verdicts: Vec::new(),
                    };
                    if metric.nature == Nature::Timed {
                        let base = &metric.trials;
                        for (index, metrics) in all_metrics.iter().enumerate() {
                            let trials = &metrics[at].trials;
                            let change = (index > 0).then(|| stats::change(base, trials)).flatten();
                            row.interval_percent.push(change.and_then(|change| {
                                Some([change.low? * 100.0, change.high? * 100.0])
                            }));
                            row.verdicts
                                .push((index > 0 && row.values[index].is_some()).then(|| {
                                    Verdict::of(
                                        metric.key,
                                        metric.better,
                                        change.as_ref(),
                                        [base.len(), trials.len()],
                                    )
                                }));
                        }
                    }
                    row
                })
                // A figure no result has (no calibration) is left out.
                .filter(|row| row.values.iter().any(Option::is_some))
                .collect()
        })
        .unwrap_or_default();
    rows.extend(event_rows(named));
    Comparison {
        results: named.iter().map(|(name, _)| name.clone()).collect(),
        different_workloads: !workload_differences.is_empty(),
        workload_differences,
        differences,
        rows,
    }
}

fn show_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// The comparison as tables: aligned text, or Markdown for a CI job
/// summary.
pub fn table(comparison: &Comparison, style: TableStyle) -> String {
    let mut out = String::new();
    // In Markdown each result is a list item, and the tables follow a
    // blank line.
    let item = if style == TableStyle::Markdown {
        "- "
    } else {
        ""
    };
    for (index, name) in comparison.results.iter().enumerate() {
        let base = if index == 0 { "  (base)" } else { "" };
        let _ = writeln!(out, "{item}{}: {name}{base}", column_name(index));
    }
    if comparison.different_workloads {
        let _ = writeln!(
            out,
            "WARNING: the results ran different workloads ({}): their figures measure different things",
            comparison.workload_differences.join(", ")
        );
    }
    let count = comparison.results.len();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["configuration".to_owned()];
    header.extend((0..count).map(column_name));
    rows.push(header);
    for difference in &comparison.differences {
        let mut row = vec![difference.field.trim_start_matches("workload.").to_owned()];
        row.extend(difference.values.iter().map(show_value));
        rows.push(row);
    }
    if rows.len() == 1 {
        rows.push(vec!["(identical)".to_owned()]);
    }
    rows.push(Vec::new());
    let mut header = vec!["figure".to_owned()];
    for index in 0..count {
        header.push(column_name(index));
        if index > 0 {
            header.push("change".to_owned());
        }
    }
    rows.push(header);
    for row in &comparison.rows {
        let mut cells = vec![row.label.clone()];
        for (index, value) in row.values.iter().enumerate() {
            cells.push(show_figure(&row.key, *value));
            if index > 0 {
                let mut change = row.change_percent[index]
                    .map_or("-".to_owned(), |change| format!("{change:+.1}%"));
                if let Some(Some([low, high])) = row.interval_percent.get(index) {
                    let _ = write!(change, " [{low:+.1}, {high:+.1}]");
                }
                if let Some(Some(verdict)) = row.verdicts.get(index) {
                    let _ = write!(change, " {}", verdict.text());
                }
                cells.push(change);
            }
        }
        rows.push(cells);
    }
    if style == TableStyle::Markdown {
        out.push('\n');
    }
    out.push_str(&units::table(&rows, |column| column == 0, style));
    out
}

/// `A`, `B`, ... `Z`, `AA`, ...
pub fn column_name(index: usize) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if index < 26 {
        (letters[index] as char).to_string()
    } else {
        format!("R{index}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_percent_of_the_base() {
        assert_eq!(change_percent(Some(100.0), Some(110.0)), Some(10.0));
        assert_eq!(change_percent(Some(200.0), Some(100.0)), Some(-50.0));
        assert_eq!(change_percent(Some(0.0), Some(0.0)), Some(0.0));
        assert_eq!(change_percent(Some(0.0), Some(3.0)), None);
        assert_eq!(change_percent(None, Some(3.0)), None);
    }

    #[test]
    fn verdicts_need_three_trials_and_an_interval_clear_of_zero() {
        let change = |low, high| Change {
            change: (low + high) / 2.0,
            low: Some(low),
            high: Some(high),
        };
        let up = change(0.03, 0.13);
        let down = change(-0.13, -0.03);
        let unclear = change(-0.02, 0.05);
        let of =
            |key, better, change: &Change, trials| Verdict::of(key, better, Some(change), trials);
        assert_eq!(
            of("throughput_rps", Better::Higher, &up, [3, 5]),
            Verdict::Faster
        );
        assert_eq!(
            of("throughput_rps", Better::Higher, &down, [3, 3]),
            Verdict::Slower
        );
        assert_eq!(of("p99_us", Better::Lower, &up, [3, 3]), Verdict::Worse);
        assert_eq!(of("p99_us", Better::Lower, &down, [3, 3]), Verdict::Better);
        assert_eq!(
            of("throughput_rps", Better::Higher, &unclear, [3, 3]),
            Verdict::NoClearDifference
        );
        assert_eq!(
            of("throughput_rps", Better::Higher, &up, [1, 5]),
            Verdict::OneTrial
        );
        assert_eq!(
            of("throughput_rps", Better::Higher, &up, [2, 5]),
            Verdict::TooFewTrials
        );
    }

    #[test]
    fn figures_show_as_people_read_them() {
        assert_eq!(show_figure("api_hit_ratio", Some(0.4071)), "40.71%");
        assert_eq!(show_figure("throughput_rps", Some(50429.4)), "50429");
        assert_eq!(show_figure("load_imbalance", Some(1.2345)), "1.234");
        assert_eq!(show_figure("p99_us", None), "-");
        assert_eq!(show_figure("p99_over_two_hop", Some(1.5)), "1.50x");
        assert_eq!(show_figure("service_p99_over_two_hop", Some(0.5)), "0.50x");
    }
}
