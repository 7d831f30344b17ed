//! Results side by side: what differs in their configurations, and each
//! headline figure with its change against the first result.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::analysis::differences::{self, Difference};
use crate::harness::registry::{self, Better, Figure, Nature, EVENT_FIGURES};
use crate::harness::report::RunResult;
use crate::intervals::{self, Change};
use crate::table::{self, TableStyle};

/// The change from `base` to `value` in percent; `None` without both or
/// from zero.
pub fn change_percent(base: Option<f64>, value: Option<f64>) -> Option<f64> {
    match (base, value) {
        (Some(base), Some(value)) if base != 0.0 => Some((value - base) / base.abs() * 100.0),
        (Some(base), Some(value)) if base == value => Some(0.0),
        _ => None,
    }
}

/// A figure across results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The figure's key; an event's figures are `events[I].KEY`.
    pub key: String,
    /// Its label.
    pub label: String,
    /// Its unit.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// The figure in the registry: how its values are written.
    #[serde(skip)]
    pub figure: &'static Figure,
    /// The value in each result.
    pub values: Vec<Option<f64>>,
    /// The change against the first result, in percent.
    pub change_percent: Vec<Option<f64>>,
    /// For a timed figure: the change's interval against the first
    /// result, in percent (`null` for the first, and without 3 trials on
    /// both sides).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interval_percent: Vec<Option<[f64; 2]>>,
    /// For a timed figure: each result's trials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trials: Vec<usize>,
    /// The probability that each interval covers the true change: 95% or
    /// the most its trials give (90% with 3 a side).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub confidence: Vec<Option<f64>>,
    /// For a timed figure: the smallest change, in percent either way,
    /// that these trials find four times in five, from their spread.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detectable_percent: Vec<Option<f64>>,
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
    /// The verdict on `figure`, changed by `change` between trials of
    /// `trials` counts.
    pub fn of(figure: &Figure, change: Option<&Change>, trials: [usize; 2]) -> Verdict {
        if trials.contains(&1) || trials.contains(&0) {
            return Verdict::OneTrial;
        }
        if trials.iter().any(|&count| count < intervals::MIN_TRIALS) {
            return Verdict::TooFewTrials;
        }
        let Some(up) = change.and_then(Change::direction) else {
            return Verdict::NoClearDifference;
        };
        let improved = up == (figure.better == Better::Higher);
        match (figure.speed, improved) {
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
    /// When the results differ in cache size and some never filled their
    /// caches: that the comparison cannot see the size, and what would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfilled_caches: Option<String>,
    /// The results written while their runs went on (checkpoints of runs
    /// that may have been killed): by column, what each holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
}

/// Each event's cost across results, matched by the event's place in the
/// workload: client errors, extra slow-store loads, recovery time and, for
/// ring changes, the share of keys moved.
fn event_rows(named: &[(String, RunResult)]) -> Vec<Row> {
    let Some((_, first)) = named.first() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for (index, event) in first.events.iter().enumerate() {
        for figure in EVENT_FIGURES {
            let values: Vec<Option<f64>> = named
                .iter()
                .map(|(_, result)| {
                    result
                        .events
                        .get(index)
                        .and_then(|event| figure.of_event(event))
                })
                .collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            rows.push(Row {
                interval_percent: Vec::new(),
                trials: Vec::new(),
                confidence: Vec::new(),
                detectable_percent: Vec::new(),
                verdicts: Vec::new(),
                key: format!("events[{index}].{}", figure.key),
                label: format!("event {index} ({}): {}", event.event.action, figure.label),
                unit: figure.unit,
                better: figure.better,
                figure,
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

/// Compares results; the first is the base the changes are measured from.
pub fn compare(named: &[(String, RunResult)]) -> Comparison {
    let differences = differences::between(named.iter().map(|(_, result)| result));
    let workload_differences = differences::of_workload(&differences);
    let all_readings: Vec<Vec<registry::FigureValue>> = named
        .iter()
        .map(|(_, result)| registry::readings(result))
        .collect();
    let mut rows: Vec<Row> = all_readings
        .first()
        .map(|first| {
            first
                .iter()
                .enumerate()
                .map(|(at, reading)| {
                    let figure = reading.figure;
                    let values: Vec<Option<f64>> = all_readings
                        .iter()
                        .map(|readings| readings[at].value)
                        .collect();
                    let change_percent = values
                        .iter()
                        .map(|&value| change_percent(values[0], value))
                        .collect();
                    let mut row = Row {
                        key: figure.key.to_owned(),
                        label: figure.label.to_owned(),
                        unit: figure.unit,
                        better: figure.better,
                        figure,
                        values,
                        change_percent,
                        interval_percent: Vec::new(),
                        trials: Vec::new(),
                        confidence: Vec::new(),
                        detectable_percent: Vec::new(),
                        verdicts: Vec::new(),
                    };
                    if figure.nature() == Nature::Timed {
                        let base = &reading.trials;
                        for (index, readings) in all_readings.iter().enumerate() {
                            let trials = &readings[at].trials;
                            row.trials.push(trials.len());
                            let change = (index > 0)
                                .then(|| intervals::change(base, trials))
                                .flatten();
                            row.interval_percent.push(change.and_then(|change| {
                                Some([change.low? * 100.0, change.high? * 100.0])
                            }));
                            row.confidence
                                .push(change.and_then(|change| change.confidence));
                            row.detectable_percent
                                .push(change.and_then(|change| Some(change.detectable? * 100.0)));
                            row.verdicts
                                .push((index > 0 && row.values[index].is_some()).then(|| {
                                    Verdict::of(figure, change.as_ref(), [base.len(), trials.len()])
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
    let unfilled_caches = differences::unfilled_results(
        named
            .iter()
            .enumerate()
            .map(|(index, (_, result))| (column_name(index), result)),
    );
    let incomplete = named
        .iter()
        .enumerate()
        .filter_map(|(index, (_, result))| {
            let incomplete = result.incomplete.as_ref()?;
            Some(format!(
                "INCOMPLETE: {} was {incomplete}; its figures are of that part",
                column_name(index)
            ))
        })
        .collect();
    Comparison {
        unfilled_caches,
        incomplete,
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
    if let Some(warning) = &comparison.unfilled_caches {
        let _ = writeln!(out, "{warning}");
    }
    for warning in &comparison.incomplete {
        let _ = writeln!(out, "{item}{warning}");
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
            cells.push(row.figure.show(*value));
            if index > 0 {
                let mut change = row.change_percent[index]
                    .map_or("-".to_owned(), |change| format!("{change:+.1}%"));
                if let Some(Some([low, high])) = row.interval_percent.get(index) {
                    let _ = write!(change, " [{low:+.1}, {high:+.1}]");
                }
                if let Some(Some(verdict)) = row.verdicts.get(index) {
                    let _ = write!(change, " {}", verdict.text());
                }
                if let Some(Some(detectable)) = row.detectable_percent.get(index) {
                    let _ = write!(change, " (sees ±{detectable:.1}%)");
                }
                cells.push(change);
            }
        }
        rows.push(cells);
    }
    if style == TableStyle::Markdown {
        out.push('\n');
    }
    out.push_str(&table::table(&rows, |column| column == 0, style));
    out.push_str(&levels_note(comparison, style));
    out
}

/// Under the table: for each result against the base, its trials and the
/// confidence of its intervals, and what "sees" means.
fn levels_note(comparison: &Comparison, style: TableStyle) -> String {
    let mut out = String::new();
    let Some(row) = comparison.rows.iter().find(|row| !row.verdicts.is_empty()) else {
        return out;
    };
    if style == TableStyle::Markdown {
        out.push('\n');
    }
    let needed = intervals::trials_for_change();
    for index in 1..comparison.results.len() {
        let (Some(&base), Some(&trials)) = (row.trials.first(), row.trials.get(index)) else {
            continue;
        };
        let name = column_name(index);
        let _ = match row.confidence.get(index).copied().flatten() {
            Some(confidence) if confidence >= intervals::CONFIDENCE => writeln!(
                out,
                "{name} against A: {trials} v {base} trials, intervals at {:.1}%",
                confidence * 100.0
            ),
            Some(confidence) => writeln!(
                out,
                "{name} against A: {trials} v {base} trials, intervals at {:.1}%: the most \
                 these trials give (95% needs {needed} a side)",
                confidence * 100.0
            ),
            None => writeln!(
                out,
                "{name} against A: {trials} v {base} trials: no interval ({} a side give one, \
                 {needed} give 95%)",
                intervals::MIN_TRIALS
            ),
        };
    }
    let _ = writeln!(
        out,
        "sees ±X%: the smallest change these trials find {:.0} times in 100 at that \
         confidence, from their spread (normal noise assumed)",
        intervals::POWER * 100.0
    );
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
    use crate::harness::registry::{LIMIT_FRACTION, P99, THROUGHPUT};

    #[test]
    fn cache_sizes_that_never_filled_are_flagged() {
        use crate::harness::fill::CacheFill;
        use crate::harness::report::schema::tests::sample;
        use crate::units::ByteSize;
        let with = |cache: u64, evictions: u64| {
            let mut result = sample();
            result.workload.cluster.cache_bytes = ByteSize(cache);
            result.caches = Some(CacheFill {
                evictions,
                requests_to_fill: (evictions == 0).then_some(95_000),
                holds_every_key: false,
            });
            (format!("{cache}.json"), result)
        };
        let comparison = compare(&[with(1 << 14, 30), with(1 << 20, 0)]);
        let warning = comparison.unfilled_caches.clone().unwrap();
        assert!(
            warning.contains("B (1MiB: about 95000 requests"),
            "{warning}"
        );
        assert!(table(&comparison, TableStyle::Aligned).contains(&warning));
        // Both filled: nothing to say.
        assert_eq!(
            compare(&[with(1 << 14, 30), with(1 << 20, 2)]).unfilled_caches,
            None
        );
    }

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
            confidence: Some(0.95),
            detectable: None,
        };
        let up = change(0.03, 0.13);
        let down = change(-0.13, -0.03);
        let unclear = change(-0.02, 0.05);
        let of = |figure, change: &Change, trials| Verdict::of(figure, Some(change), trials);
        assert_eq!(of(&THROUGHPUT, &up, [3, 5]), Verdict::Faster);
        assert_eq!(of(&THROUGHPUT, &down, [3, 3]), Verdict::Slower);
        assert_eq!(of(&P99, &up, [3, 3]), Verdict::Worse);
        assert_eq!(of(&P99, &down, [3, 3]), Verdict::Better);
        assert_eq!(
            of(&THROUGHPUT, &unclear, [3, 3]),
            Verdict::NoClearDifference
        );
        assert_eq!(of(&THROUGHPUT, &up, [1, 5]), Verdict::OneTrial);
        assert_eq!(of(&THROUGHPUT, &up, [2, 5]), Verdict::TooFewTrials);
        assert_eq!(of(&LIMIT_FRACTION, &down, [3, 3]), Verdict::Slower);
    }
}
