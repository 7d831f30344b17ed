//! The figure registry is the one place a figure is defined: every figure
//! it lists appears in `compare`'s and `check`'s output (tables, Markdown
//! and JSON) and the trials table, with the registry's key, label and
//! format, without any other file naming it (`tests/suite/layout.rs` checks that
//! no other source file names a key). Adding a figure is one entry.

use std::path::Path;

use geecache_bench::analysis::{check, compare};
use geecache_bench::harness::registry::{self, Figure, Nature, FIGURES};
use geecache_bench::harness::report::{self, RunResult};
use geecache_bench::harness::summary;
use geecache_bench::table::TableStyle;

/// The committed CI baseline (5 trials, calibrated, a closed loop, with a
/// counted pass), and the
/// same result as an open loop whose service times are a third of its
/// latencies, so that every figure of the registry has a value.
fn results() -> (RunResult, RunResult) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/baseline/ci.json");
    let closed = report::read(&path).unwrap();
    let mut open = closed.clone();
    for trial in &mut open.trials {
        let mut service = trial.latency_us.clone();
        service.p50 /= 3;
        service.p99 /= 3;
        service.p99_9 /= 3;
        trial.service_time_us = Some(service);
    }
    open.timed = Some(registry::timed_figures(&open.trials));
    (closed, open)
}

/// `table` has a line with the figure's label and `shown`.
fn assert_shown(table: &str, figure: &Figure, shown: &str) {
    assert!(
        table
            .lines()
            .any(|line| line.contains(figure.label) && line.contains(shown)),
        "{}: no line with {:?} and {shown:?} in\n{table}",
        figure.key,
        figure.label
    );
}

#[test]
fn every_figure_appears_in_compare_with_the_registrys_label_and_format() {
    let (closed, open) = results();
    let named = [("closed".to_owned(), closed), ("open".to_owned(), open)];
    let comparison = compare::compare(&named);
    let aligned = compare::table(&comparison, TableStyle::Aligned);
    let markdown = compare::table(&comparison, TableStyle::Markdown);
    let json = serde_json::to_value(&comparison).unwrap();
    for figure in FIGURES {
        let value = figure.of_result(&named[1].1);
        assert!(value.is_some(), "{}: the test result lacks it", figure.key);
        let row = comparison
            .rows
            .iter()
            .find(|row| row.key == figure.key)
            .unwrap_or_else(|| panic!("{} has no row in compare", figure.key));
        assert_eq!(row.label, figure.label);
        assert_eq!(row.values[1], value);
        let shown = figure.show(value);
        for table in [&aligned, &markdown] {
            assert_shown(table, figure, &shown);
        }
        // A timed figure carries a verdict on its change.
        let verdicts = &row.verdicts;
        assert_eq!(
            figure.nature() == Nature::Timed,
            verdicts.get(1).is_some_and(Option::is_some),
            "{}",
            figure.key
        );
        assert!(json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["key"] == figure.key && row["unit"] == figure.unit));
    }
}

#[test]
fn every_figure_appears_in_check_gated_where_the_registry_says() {
    let (closed, open) = results();
    let outcome = check::check(&closed, &open, &check::default_thresholds(), &[]);
    let aligned = check::table(&outcome, TableStyle::Aligned);
    let markdown = check::table(&outcome, TableStyle::Markdown);
    for figure in FIGURES {
        let line = outcome
            .lines
            .iter()
            .find(|line| line.key == figure.key)
            .unwrap_or_else(|| panic!("{} has no line in check", figure.key));
        assert_eq!(line.label, figure.label);
        assert_eq!(line.nature, figure.nature());
        let gated = line.verdict != check::Verdict::NotGated;
        // The closed loop has no service time: those lines are skipped,
        // every other figure is gated exactly where it has a threshold.
        if line.baseline.is_some() {
            assert_eq!(gated, figure.gate.is_some(), "{}", figure.key);
            assert_eq!(
                line.allowed.is_some(),
                figure.gate.is_some(),
                "{}",
                figure.key
            );
        } else {
            assert_eq!(line.verdict, check::Verdict::Skipped, "{}", figure.key);
        }
        let shown = figure.show(line.value);
        for table in [&aligned, &markdown] {
            assert_shown(table, figure, &shown);
        }
    }
    // A thresholds file gates a figure the registry leaves ungated.
    let mut thresholds = check::default_thresholds();
    thresholds.insert(
        registry::P50.key.to_owned(),
        registry::Threshold {
            relative: 0.0,
            absolute: 0.0,
        },
    );
    let (_, mut slower) = results();
    for trial in &mut slower.trials {
        trial.latency_us.p50 *= 2;
    }
    let outcome = check::check(&closed, &slower, &thresholds, &[]);
    let p50 = outcome
        .lines
        .iter()
        .find(|line| line.key == registry::P50.key)
        .unwrap();
    assert_eq!(p50.verdict, check::Verdict::Regression);
}

#[test]
fn the_trials_table_shows_every_timed_figure_with_its_label() {
    let (_, open) = results();
    let table = summary::trials_table(&open);
    for figure in registry::timed() {
        let estimate = open.timed.as_ref().unwrap().figures[figure.key];
        let shown = figure.show(Some(estimate.median));
        assert_shown(&table, figure, &shown);
    }
}
