//! `compare` over capacity results: every configuration of every result,
//! its capacity against the first one's with the interval of the trials'
//! rank test and a verdict, and what differs between the results' searches
//! (an objective that differs makes the capacities answer different
//! questions).

use std::fmt::Write as _;

use serde::Serialize;

use super::report::{capacities_of, CapacityResult};
use super::show::{change_cell, edge_words, interval_cell, name};
use crate::analysis::compare::{column_name, Verdict};
use crate::harness::registry::THROUGHPUT;
use crate::intervals::{self, Change, Estimate};
use crate::table::{table as layout, TableStyle};

/// Capacity results side by side.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapacityComparison {
    /// The results' names (file paths); the first's first configuration is
    /// the base.
    pub results: Vec<String>,
    /// One row per configuration of each result.
    pub rows: Vec<Compared>,
    /// What differs between the results' searches, one line each.
    pub differences: Vec<String>,
}

/// A configuration's capacity against the base's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compared {
    /// The result's column name: A, B, ...
    pub result: String,
    /// The configuration.
    pub configuration: String,
    /// Its capacity, when every trial found its edge.
    pub capacity: Option<Estimate>,
    /// Its knee.
    pub knee: Option<Estimate>,
    /// Trials.
    pub trials: usize,
    /// The change of its capacity from the base's, with its interval.
    pub change: Option<Change>,
    /// What the trials say of the change (`holds more`, `holds less`,
    /// `no clear difference`, ...), or why there is no capacity.
    pub verdict: String,
}

/// Compares `named` capacity results; the first configuration of the
/// first is the base.
pub fn compare(named: &[(String, CapacityResult)]) -> CapacityComparison {
    let base = named
        .first()
        .and_then(|(_, result)| result.configurations.first())
        .and_then(capacities_of);
    let mut rows = Vec::new();
    for (index, (_, result)) in named.iter().enumerate() {
        for configuration in &result.configurations {
            let values = capacities_of(configuration);
            let change = match (&base, &values) {
                (Some(base), Some(values)) => intervals::change(base, values),
                _ => None,
            };
            let is_base = rows.is_empty();
            let verdict = match (&base, &values) {
                (_, None) => configuration
                    .trials
                    .iter()
                    .find(|trial| trial.capacity_rps.is_none())
                    .map_or("no capacity".to_owned(), |trial| edge_words(&trial.edge)),
                (None, Some(_)) => "the base has no capacity".to_owned(),
                (Some(_), Some(_)) if is_base => "base".to_owned(),
                (Some(base), Some(values)) => {
                    match Verdict::of(&THROUGHPUT, change.as_ref(), [base.len(), values.len()]) {
                        Verdict::Faster => "holds more".to_owned(),
                        Verdict::Slower => "holds less".to_owned(),
                        other => other.text().to_owned(),
                    }
                }
            };
            rows.push(Compared {
                result: column_name(index),
                configuration: name(configuration),
                capacity: configuration.capacity,
                knee: configuration.knee,
                trials: configuration.trials.len(),
                change: if is_base { None } else { change },
                verdict,
            });
        }
    }
    CapacityComparison {
        results: named.iter().map(|(path, _)| path.clone()).collect(),
        rows,
        differences: differences(named),
    }
}

/// A setting of a search, read off its result as text.
type Setting = (&'static str, fn(&CapacityResult) -> String);

/// The settings of the searches that differ between the results.
fn differences(named: &[(String, CapacityResult)]) -> Vec<String> {
    let settings: [Setting; 6] = [
        ("objective", |result| result.objective.to_string()),
        ("max errors", |result| {
            format!("{:.2}%", result.max_errors * 100.0)
        }),
        ("step", |result| result.step.to_string()),
        ("workload", |result| result.workload.name.clone()),
        ("precision", |result| {
            format!("{:.1}%", result.search.precision * 100.0)
        }),
        ("cores", |result| result.machine.cores.to_string()),
    ];
    let mut lines = Vec::new();
    for (setting, read) in settings {
        let values: Vec<String> = named.iter().map(|(_, result)| read(result)).collect();
        if values.iter().any(|value| value != &values[0]) {
            let listed: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(index, value)| format!("{} {value}", column_name(index)))
                .collect();
            lines.push(format!("{setting} differs: {}", listed.join(", ")));
        }
    }
    lines
}

/// The comparison as a table, its differences under it.
pub fn table(comparison: &CapacityComparison, style: TableStyle) -> String {
    let mut out = String::new();
    for (index, path) in comparison.results.iter().enumerate() {
        let _ = writeln!(out, "{}: {path}", column_name(index));
    }
    out.push('\n');
    let mut rows: Vec<Vec<String>> = vec![[
        "result",
        "configuration",
        "capacity req/s",
        "interval",
        "knee req/s",
        "trials",
        "change",
        "verdict",
    ]
    .map(str::to_owned)
    .to_vec()];
    for row in &comparison.rows {
        let interval = interval_cell(row.capacity.as_ref());
        let change = change_cell(row.change.as_ref());
        rows.push(vec![
            row.result.clone(),
            row.configuration.clone(),
            THROUGHPUT.show(row.capacity.map(|estimate| estimate.median)),
            interval,
            THROUGHPUT.show(row.knee.map(|estimate| estimate.median)),
            row.trials.to_string(),
            change,
            row.verdict.clone(),
        ]);
    }
    out.push_str(&layout(&rows, |column| matches!(column, 0 | 1 | 7), style));
    for line in &comparison.differences {
        let _ = writeln!(out, "{line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::capacity::objective::LatencyGoal;
    use crate::analysis::capacity::report::configuration;
    use crate::analysis::capacity::report::tests::{sample, trial};
    use crate::analysis::capacity::run::Searched;
    use crate::analysis::capacity::search::Edge;

    fn result(objective: &str, capacities: &[Option<f64>]) -> CapacityResult {
        let trials = capacities
            .iter()
            .map(|capacity| match capacity {
                Some(_) => trial(*capacity),
                None => Searched {
                    edge: Edge::HeldToCeiling { held: 9000.0 },
                    ..trial(None)
                },
            })
            .collect();
        CapacityResult {
            objective: LatencyGoal::parse(objective).unwrap(),
            ..sample(vec![configuration(None, trials)])
        }
    }

    #[test]
    fn capacities_are_compared_with_their_intervals_and_differences_named() {
        let base = result(
            "p99<=5ms",
            &[Some(1000.0), Some(1010.0), Some(990.0), Some(1005.0)],
        );
        let more = result(
            "p99<=5ms",
            &[Some(1500.0), Some(1490.0), Some(1520.0), Some(1505.0)],
        );
        let same = result(
            "p99<=5ms",
            &[Some(1004.0), Some(995.0), Some(1012.0), Some(999.0)],
        );
        let one = result("p99<=2ms", &[Some(1200.0)]);
        let beyond = result("p99<=5ms", &[None]);
        let named: Vec<(String, CapacityResult)> = [base, more, same, one, beyond]
            .into_iter()
            .enumerate()
            .map(|(index, result)| (format!("r{index}.json"), result))
            .collect();
        let comparison = compare(&named);
        let verdicts: Vec<&str> = comparison
            .rows
            .iter()
            .map(|row| row.verdict.as_str())
            .collect();
        assert_eq!(
            verdicts[..4],
            [
                "base",
                "holds more",
                "no clear difference",
                "one trial: no verdict"
            ]
        );
        assert!(verdicts[4].contains("DRIVER'S CEILING"), "{}", verdicts[4]);
        let more = comparison.rows[1].change.unwrap();
        assert!((more.change - 0.5).abs() < 0.02, "{more:?}");
        assert!(more.low.unwrap() > 0.0);
        assert_eq!(
            comparison.differences,
            ["objective differs: A p99<=5ms, B p99<=5ms, C p99<=5ms, D p99<=2ms, E p99<=5ms"]
        );
        let text = table(&comparison, TableStyle::Aligned);
        assert!(
            text.contains("holds more") && text.contains("objective differs"),
            "{text}"
        );
    }
}
