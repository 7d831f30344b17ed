//! The summary's tables that other pages show too: the trials, the nodes,
//! the series and the events, as the summary prints them (the HTML page
//! and `export` use the same).

use std::fmt::Write as _;

use crate::harness::registry::{
    self, API_HIT_RATIO, EVENT_MOVED_SHARE, LIMIT_FRACTION, P50, P99, THROUGHPUT,
};
use crate::harness::report::RunResult;
use crate::table::align;
use crate::units::ByteSize;

use super::{number, percent};

/// The trials of a repeated run: each timed figure's median and interval,
/// then a row per trial.
pub fn trials_table(result: &RunResult) -> String {
    let mut out = String::new();
    let count = result.trials.len();
    let _ = writeln!(
        out,
        "{count} trials: median [interval] ({})",
        crate::intervals::median_level_words(count)
    );
    if let Some(timed) = &result.timed {
        let mut rows = Vec::new();
        for figure in registry::timed() {
            let Some(estimate) = timed.figures.get(figure.key) else {
                continue;
            };
            let interval = match (estimate.low, estimate.high) {
                (Some(low), Some(high)) => {
                    format!("[{}, {}]", figure.show(Some(low)), figure.show(Some(high)))
                }
                _ => String::new(),
            };
            rows.push(vec![
                format!("  {}", figure.label),
                figure.show(Some(estimate.median)),
                interval,
            ]);
        }
        out.push_str(&align(&rows, |column| column != 1));
    }
    // A row per trial: these figures of each.
    let columns = [&THROUGHPUT, &P50, &P99, &LIMIT_FRACTION];
    let mut header = vec!["  trial".to_owned()];
    header.extend(columns.iter().map(|figure| figure.column.to_owned()));
    header.push(String::new());
    let mut rows = vec![header];
    for (at, trial) in result.trials.iter().enumerate() {
        let mut row = vec![format!("  {}", at + 1)];
        row.extend(
            columns
                .iter()
                .map(|figure| figure.show(figure.of_trial(trial))),
        );
        row.push(if trial.unsteady { "UNSTEADY" } else { "" }.to_owned());
        rows.push(row);
    }
    out.push_str(&align(&rows, |column| {
        column == 0 || column == columns.len() + 1
    }));
    if result.trials_agree == Some(false) {
        let _ = writeln!(
            out,
            "TRIALS DISAGREE: this deterministic run counted differently in different trials \
             (slow-store loads, hits or fetches): the cluster or the harness is not deterministic"
        );
    }
    out
}

/// The node table: a header row, then a row per node (index, name, where
/// it listens: text; the rest figures), with each node's CPU per request
/// where the nodes are their own processes. What the summary prints and
/// the HTML report shows.
pub fn node_rows(result: &RunResult) -> Vec<Vec<String>> {
    let headers = [
        "node",
        "name on ring",
        "listens at",
        "ring share",
        "keys owned",
        "served",
        "slowdb loads",
        "cache",
        "evictions",
    ];
    // Nodes that are their own processes report their CPU time: per
    // measured request of the run, a column of its own.
    let node_cpu = |node: &crate::harness::report::NodeFigures| {
        let cpu = node.stats.as_ref()?.process_cpu_us?;
        (result.client.requests > 0).then(|| cpu as f64 / result.client.requests as f64)
    };
    let with_cpu = result.nodes.iter().any(|node| node_cpu(node).is_some());
    let mut header_row = headers.map(str::to_owned).to_vec();
    if with_cpu {
        header_row.push("cpu us/req".to_owned());
    }
    let mut rows: Vec<Vec<String>> = vec![header_row];
    rows.extend(result.nodes.iter().map(|node| {
        let mut row = vec![
            format!("{}{}", node.index, if node.api { "*" } else { "" }),
            node.url.clone(),
            node.listen.trim_start_matches("http://").to_owned(),
            percent(node.ring_share),
            number(node.keys_owned),
            number(node.requests_served),
            number(node.slowdb_loads),
            node.cache_bytes
                .map_or("-".to_owned(), |bytes| ByteSize(bytes).human()),
            number(node.evictions),
        ];
        if with_cpu {
            row.push(node_cpu(node).map_or("-".to_owned(), |cpu| format!("{cpu:.2}")));
        }
        row
    }));
    rows
}

/// The series as a compact table, a row per interval: the driver's
/// throughput, latency and errors, and the cluster's hits, peer fetches and
/// slow-store loads (`-` where the cluster could not be read).
pub fn series_table(result: &RunResult) -> String {
    let mut rows = vec![[
        "start s",
        "req/s",
        "p50 us",
        "p99 us",
        "errors",
        "api hit",
        "peer fetch",
        "peer err",
        "loads",
        "load err",
        "evictions",
    ]
    .map(str::to_owned)
    .to_vec()];
    for entry in &result.series {
        let client = &entry.client;
        let cluster = entry.cluster.as_ref();
        let count =
            |field: fn(&crate::harness::report::ClusterInterval) -> u64| number(cluster.map(field));
        rows.push(vec![
            format!("{:.1}", client.start_secs),
            format!("{:.0}", client.throughput_rps),
            number(client.p50_us),
            number(client.p99_us),
            client.errors.to_string(),
            API_HIT_RATIO.show(cluster.and_then(|cluster| cluster.api_hit_ratio)),
            count(|cluster| cluster.peer_fetches),
            count(|cluster| cluster.peer_errors),
            count(|cluster| cluster.slowdb_loads),
            count(|cluster| cluster.slowdb_load_errors),
            count(|cluster| cluster.evictions),
        ]);
    }
    align(&rows, |_| false)
}

/// A join's or a leave's keys moved against the ideal, in words.
fn moved_text(figures: &crate::harness::report::EventFigures) -> Option<String> {
    let (moved, ideal) = (figures.moved_share?, figures.ideal_moved_share?);
    Some(format!(
        "{} of keys moved (ideal {})",
        EVENT_MOVED_SHARE.show(Some(moved)),
        EVENT_MOVED_SHARE.show(Some(ideal))
    ))
}

/// A line per event: when it happened, and what it cost.
pub fn event_lines(result: &RunResult) -> String {
    let mut out = String::new();
    for (index, figures) in result.events.iter().enumerate() {
        let asked = &figures.event;
        let Some(at) = figures.at_secs else {
            let _ = writeln!(
                out,
                "event {index} ({asked}): did not happen, the measurement ended first"
            );
            continue;
        };
        let mut line = format!("event {index} at {at:.2} s ({asked})");
        if let Some(error) = &figures.error {
            let _ = write!(line, ": FAILED: {error}");
        } else if let Some(with) = figures.cost_with {
            let _ = write!(
                line,
                ": in the same interval as event {with}, whose cost counts both (the \
                 series cannot tell them apart)"
            );
            if let Some(moved) = moved_text(figures) {
                let _ = write!(line, "; {moved}");
            }
        } else {
            let _ = write!(line, ": {} client errors", figures.errors);
            if let Some(extra) = figures.extra_slowdb_loads {
                let _ = write!(line, ", {extra:+} slow-store loads beyond the rate before");
            }
            if let Some(moved) = moved_text(figures) {
                let _ = write!(line, ", {moved}");
            }
            match (figures.recovery_secs, figures.baseline) {
                (Some(recovery), _) => {
                    let _ = write!(line, ", back to its level after {recovery:.2} s");
                }
                (None, None) => line.push_str(", no interval before it to compare with"),
                (None, Some(_)) => {
                    let until = if index + 1 < result.events.len() {
                        "the next event"
                    } else {
                        "the end"
                    };
                    let _ = write!(line, ", NOT back to its level before {until}");
                }
            }
        }
        let _ = writeln!(out, "{line}");
    }
    out
}
