//! `check`: a result against a baseline, for CI. Counted figures (slow-store
//! loads, hit and peer-fetch ratios) must stay within a tight tolerance;
//! timed figures are compared through the calibration measured in the same
//! run (throughput as a fraction of the loopback limit, p99 over the two-hop
//! server's), within a wide one, so a slower CI machine is not a regression.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::analysis::differences;
use crate::harness::registry::{self, Better, Figure, Nature, Threshold, FIGURES};
use crate::harness::report::RunResult;
use crate::intervals::Change;
use crate::table::{self, TableStyle};

/// The figures `check` compares, with their default thresholds: those the
/// registry gates.
pub fn default_thresholds() -> BTreeMap<String, Threshold> {
    FIGURES
        .iter()
        .filter_map(|figure| Some((figure.key.to_owned(), figure.gate?)))
        .collect()
}

/// Reads thresholds from a JSON object of figure name to
/// `{"relative": R, "absolute": A}`, over the defaults; a figure the gate
/// does not compare by default is compared when given a threshold.
pub fn read_thresholds(path: &Path) -> Result<BTreeMap<String, Threshold>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read thresholds {}: {error}", path.display()))?;
    let given: BTreeMap<String, Threshold> =
        serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
    let mut thresholds = default_thresholds();
    for (key, threshold) in given {
        if registry::find(&key).is_none() {
            let known: Vec<&str> = FIGURES.iter().map(|figure| figure.key).collect();
            return Err(format!(
                "{}: unknown figure {key:?}: known figures are {}",
                path.display(),
                known.join(", ")
            ));
        }
        if !(threshold.relative >= 0.0 && threshold.absolute >= 0.0) {
            return Err(format!(
                "{}: {key}: thresholds must be 0 or more",
                path.display()
            ));
        }
        thresholds.insert(key, threshold);
    }
    Ok(thresholds)
}

/// The figures of a result that `check` shows: the counted ones, then the
/// timed ones, in the registry's order. Those without a threshold are
/// shown, not gated: the timed ones divided by the calibration are gated
/// by default, so a slower or faster machine does not move them much.
pub(crate) fn checked_figures(result: &RunResult) -> Vec<registry::FigureValue> {
    let (counted, timed): (Vec<_>, Vec<_>) = registry::readings(result)
        .into_iter()
        .partition(|reading| reading.figure.nature() == Nature::Counted);
    counted.into_iter().chain(timed).collect()
}

/// What `check` concluded about one figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Within the threshold.
    Ok,
    /// Better than the baseline by more than the threshold.
    Better,
    /// Worse than the threshold allows.
    Regression,
    /// One of the results lacks the figure, and that is allowed: the
    /// baseline lacks it, it is not gated, or `--allow-missing` names it.
    Skipped,
    /// The baseline has a gated figure the new result lacks (no
    /// calibration, unreadable counters, no counted pass): the gate fails,
    /// as a figure that cannot be compared cannot be passed.
    Missing,
    /// No threshold: shown, not compared.
    NotGated,
}

/// One figure's line in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    /// The figure's name.
    pub key: &'static str,
    /// What people read.
    pub label: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// The figure in the registry: how its values are written.
    #[serde(skip)]
    pub figure: &'static Figure,
    /// Counted or timed.
    pub nature: Nature,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// The new value.
    pub value: Option<f64>,
    /// How much worse it may get, in the figure's unit; `null` where no
    /// threshold gates it.
    pub allowed: Option<f64>,
    /// A timed figure's trials: the baseline's and the new result's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trials: Option<[usize; 2]>,
    /// A timed figure's change of the medians with its interval and that
    /// interval's confidence, as shares of the baseline's median; the
    /// interval is `null` without 3 trials on both sides, and the medians
    /// are then compared alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// A gated timed figure's coarseness: the change (a share of the
    /// baseline's median, in the worse direction) these trials flag four
    /// times in five, the threshold plus the change they find at that rate
    /// from their spread; `null` for counted figures and without an
    /// interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detectable: Option<f64>,
    /// The conclusion.
    pub verdict: Verdict,
}

/// A whole check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// One line per figure.
    pub lines: Vec<Line>,
    /// How many figures regressed.
    pub regressions: usize,
    /// How many gated figures of the baseline the new result lacks.
    pub missing: usize,
}

impl Outcome {
    /// Whether the gate fails: a regression, or a gated figure missing.
    pub fn fails(&self) -> bool {
        self.regressions > 0 || self.missing > 0
    }
}

/// Why two results cannot be checked against each other.
pub fn incomparable(baseline: &RunResult, result: &RunResult) -> Option<String> {
    let differing: Vec<String> = differences::between([baseline, result])
        .iter()
        .filter(|difference| {
            difference.field.starts_with("workload.") || difference.field == "mode"
        })
        .map(|difference| {
            format!(
                "{} ({} in the baseline, {} now)",
                difference.field, difference.values[0], difference.values[1]
            )
        })
        .collect();
    (!differing.is_empty()).then(|| {
        format!(
            "the result did not run the baseline's workload and cluster: {}",
            differing.join("; ")
        )
    })
}

/// Checks `result` against `baseline`. A gated figure the baseline has and
/// `result` lacks fails the check unless `allow_missing` names it.
pub fn check(
    baseline: &RunResult,
    result: &RunResult,
    thresholds: &BTreeMap<String, Threshold>,
    allow_missing: &[String],
) -> Outcome {
    let base_figures = checked_figures(baseline);
    let lines: Vec<Line> = checked_figures(result)
        .into_iter()
        .zip(base_figures)
        .map(|(reading, base)| {
            let figure = reading.figure;
            let threshold = thresholds.get(figure.key).copied();
            let timed = figure.nature() == Nature::Timed;
            let change = timed
                .then(|| crate::intervals::change(&base.trials, &reading.trials))
                .flatten();
            let (verdict, allowed) = match (base.value, reading.value, threshold) {
                (Some(_), Some(_), None) => (Verdict::NotGated, None),
                (Some(base_value), Some(value), Some(threshold)) => {
                    let allowed = (threshold.relative * base_value.abs()).max(threshold.absolute);
                    // How much worse, at best and at worst: the ends of the
                    // change's interval where there is one, else the
                    // medians' difference alone.
                    let sign = match figure.better {
                        Better::Higher => -1.0,
                        Better::Lower => 1.0,
                    };
                    let (least, most) = match change.and_then(|c| Some((c.low?, c.high?))) {
                        Some((low, high)) => {
                            let (a, b) = (sign * low * base_value, sign * high * base_value);
                            (a.min(b), a.max(b))
                        }
                        None => {
                            let worse_by = sign * (value - base_value);
                            (worse_by, worse_by)
                        }
                    };
                    let verdict = if least > allowed + 1e-12 {
                        Verdict::Regression
                    } else if -most > allowed + 1e-12 {
                        Verdict::Better
                    } else {
                        Verdict::Ok
                    };
                    (verdict, Some(allowed))
                }
                (Some(_), None, Some(_)) if !allow_missing.iter().any(|key| key == figure.key) => {
                    (Verdict::Missing, None)
                }
                _ => (Verdict::Skipped, None),
            };
            // The threshold plus the change these trials find four times
            // in five.
            let detectable = match (allowed, base.value, change) {
                (Some(allowed), Some(base_value), Some(change)) if base_value != 0.0 => change
                    .detectable
                    .map(|found| allowed / base_value.abs() + found),
                _ => None,
            };
            Line {
                key: figure.key,
                label: figure.label,
                unit: figure.unit,
                figure,
                nature: figure.nature(),
                baseline: base.value,
                value: reading.value,
                allowed,
                detectable,
                trials: timed.then_some([base.trials.len(), reading.trials.len()]),
                change,
                verdict,
            }
        })
        // A figure neither result has (a closed loop's service time) is
        // left out.
        .filter(|line| line.baseline.is_some() || line.value.is_some())
        .collect();
    let regressions = lines
        .iter()
        .filter(|line| line.verdict == Verdict::Regression)
        .count();
    let missing = lines
        .iter()
        .filter(|line| line.verdict == Verdict::Missing)
        .count();
    Outcome {
        lines,
        regressions,
        missing,
    }
}

/// The check as a table: aligned text, or Markdown for a CI job summary.
pub fn table(outcome: &Outcome, style: TableStyle) -> String {
    let mut rows = vec![[
        "figure".to_owned(),
        "kind".to_owned(),
        "baseline".to_owned(),
        "new".to_owned(),
        "may worsen by".to_owned(),
        "change [interval] confidence, trials".to_owned(),
        "verdict".to_owned(),
    ]];
    for line in &outcome.lines {
        let allowed = line
            .allowed
            .map_or_else(String::new, |allowed| line.figure.show_amount(allowed));
        rows.push([
            line.label.to_owned(),
            match line.nature {
                Nature::Counted => "counted",
                Nature::Timed => "timed",
            }
            .to_owned(),
            line.figure.show(line.baseline),
            line.figure.show(line.value),
            allowed,
            change_cell(line),
            match line.verdict {
                Verdict::Ok => "ok",
                Verdict::Better => "better",
                Verdict::Regression => "REGRESSION",
                Verdict::Skipped => "skipped (not in both)",
                Verdict::Missing => "MISSING (in the baseline only)",
                Verdict::NotGated => "not gated",
            }
            .to_owned(),
        ]);
    }
    let mut out = String::new();
    if style == TableStyle::Markdown {
        out.push('\n');
    }
    out.push_str(&table::table(
        &rows,
        |column| !(2..5).contains(&column),
        style,
    ));
    if style == TableStyle::Markdown {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}",
        match outcome.regressions {
            0 => "no regression".to_owned(),
            1 => "1 REGRESSION".to_owned(),
            count => format!("{count} REGRESSIONS"),
        }
    );
    for line in &outcome.lines {
        if let Some(detectable) = line.detectable {
            let direction = match line.figure.better {
                Better::Higher => "fall",
                Better::Lower => "rise",
            };
            let _ = writeln!(
                out,
                "{}: timed, a coarse net: these trials flag a {direction} of {:.0}% four times \
                 in five (the threshold and the change their spread lets them find)",
                line.label,
                detectable * 100.0
            );
        }
    }
    if outcome.missing > 0 {
        let _ = writeln!(
            out,
            "{} gated figure{} of the baseline missing from the new result \
             (--allow-missing KEY lets one pass)",
            outcome.missing,
            if outcome.missing == 1 { "" } else { "s" }
        );
    }
    out
}

/// A note on `run`'s unsteady trials: every trial's flag, and the median
/// trial's figures; `None` when all were steady.
pub fn unsteady_note(name: &str, run: &RunResult) -> Option<String> {
    let trials = run.trial_list();
    let unsteady: Vec<String> = trials
        .iter()
        .enumerate()
        .filter(|(_, trial)| trial.unsteady)
        .map(|(at, _)| (at + 1).to_string())
        .collect();
    if unsteady.is_empty() {
        return None;
    }
    let detail = run
        .steadiness()
        .filter(|steadiness| steadiness.unsteady())
        .map(|steadiness| format!("; the median trial's throughput {}", steadiness.range()))
        .unwrap_or_default();
    Some(format!(
        "note: {name} had {} of {} trials unsteady (trial {}){detail}: its timed figures are doubtful",
        unsteady.len(),
        trials.len(),
        unsteady.join(", ")
    ))
}

/// A timed line's change with its interval and trial counts.
fn change_cell(line: &Line) -> String {
    let (Some(change), Some([base, new])) = (line.change, line.trials) else {
        return String::new();
    };
    let interval = match (change.low, change.high, change.confidence) {
        (Some(low), Some(high), Some(confidence)) => format!(
            " [{:+.1}, {:+.1}] {:.0}%",
            low * 100.0,
            high * 100.0,
            confidence * 100.0
        ),
        _ => " (no interval: medians only)".to_owned(),
    };
    format!("{:+.1}%{interval}, {base} v {new}", change.change * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::calibration::measured;
    use crate::harness::registry::{
        timed_figures, API_HIT_RATIO, LIMIT_FRACTION, P99_OVER_TWO_HOP, SERVICE_P99_OVER_TWO_HOP,
    };
    use crate::harness::report::{schema::tests::sample, Trial};

    /// A result whose trials reached these fractions of the loopback limit.
    fn with_trials(fractions: &[f64]) -> RunResult {
        let mut result = sample();
        result.trials = fractions
            .iter()
            .map(|&fraction| Trial {
                calibration: Some(measured(1000.0, 1000.0, Some(fraction))),
                ..Trial::of(&result)
            })
            .collect();
        result.timed = Some(timed_figures(&result.trials));
        result
    }

    fn limit_line(baseline: &RunResult, result: &RunResult) -> Line {
        check(baseline, result, &default_thresholds(), &[])
            .lines
            .into_iter()
            .find(|line| line.figure == &LIMIT_FRACTION)
            .unwrap()
    }

    #[test]
    fn a_timed_regression_is_an_interval_beyond_the_threshold() {
        let baseline = with_trials(&[0.80, 0.82, 0.84]);
        // Every trial far below: the whole interval is beyond 35%.
        let slow = limit_line(&baseline, &with_trials(&[0.40, 0.41, 0.42]));
        assert_eq!(slow.verdict, Verdict::Regression);
        assert_eq!(slow.trials, Some([3, 3]));
        assert!(slow.change.unwrap().high.unwrap() < -0.35);
        // What these trials could see: 35% and the change their spread
        // lets them find.
        let change = slow.change.unwrap();
        let half = change.detectable.unwrap();
        assert!(half > 0.0 && half < 0.2, "{change:?}");
        assert!((slow.detectable.unwrap() - (0.35 + half)).abs() < 1e-9);
        let outcome = check(
            &baseline,
            &with_trials(&[0.40, 0.41, 0.42]),
            &default_thresholds(),
            &[],
        );
        let text = table(&outcome, TableStyle::Aligned);
        assert!(
            text.contains(&format!(
                "throughput / loopback limit: timed, a coarse net: these trials flag a fall of {:.0}% four times in five",
                (0.35 + half) * 100.0
            )),
            "{text}"
        );
        // One unlucky trial among good ones: the median is fine, and the
        // interval reaches back within the threshold.
        let unlucky = limit_line(&baseline, &with_trials(&[0.30, 0.81, 0.83]));
        assert_eq!(unlucky.verdict, Verdict::Ok);
        // Even a median beyond the threshold is not a regression while the
        // interval reaches back within it.
        let doubtful = limit_line(&baseline, &with_trials(&[0.40, 0.45, 0.80]));
        assert!(doubtful.change.unwrap().change < -0.35);
        assert_eq!(doubtful.verdict, Verdict::Ok);
        // The same build's two baselines pass.
        let again = limit_line(&baseline, &with_trials(&[0.79, 0.83, 0.85]));
        assert_eq!(again.verdict, Verdict::Ok);
        // Far better throughout: better.
        let better = limit_line(&baseline, &with_trials(&[1.30, 1.32, 1.35]));
        assert_eq!(better.verdict, Verdict::Better);
    }

    #[test]
    fn every_trial_s_steadiness_is_read() {
        let mut result = with_trials(&[0.80, 0.82, 0.84]);
        assert_eq!(unsteady_note("the new run", &result), None);
        result.trials[0].unsteady = true;
        result.trials[2].unsteady = true;
        // The median trial's series is steady: the note still counts them.
        assert_eq!(
            unsteady_note("the new run", &result).unwrap(),
            "note: the new run had 2 of 3 trials unsteady (trial 1, 3): its timed figures \
             are doubtful"
        );
    }

    #[test]
    fn with_one_trial_the_medians_are_compared_alone() {
        let baseline = with_trials(&[0.80]);
        let slow = limit_line(&baseline, &with_trials(&[0.50]));
        assert_eq!(slow.verdict, Verdict::Regression);
        assert_eq!(slow.change.unwrap().low, None);
        assert!(change_cell(&slow).contains("medians only"));
        let fine = limit_line(&baseline, &with_trials(&[0.70]));
        assert_eq!(fine.verdict, Verdict::Ok);
    }

    #[test]
    fn a_gated_figure_the_new_result_lacks_fails_unless_allowed() {
        let baseline = with_trials(&[0.80, 0.82, 0.84]);
        // No calibration in the new result: no limit fraction.
        let mut uncalibrated = with_trials(&[0.80, 0.82, 0.84]);
        for trial in &mut uncalibrated.trials {
            trial.calibration = None;
        }
        uncalibrated.timed = Some(timed_figures(&uncalibrated.trials));
        let outcome = check(&baseline, &uncalibrated, &default_thresholds(), &[]);
        let limit = |outcome: &Outcome| {
            outcome
                .lines
                .iter()
                .find(|line| line.figure == &LIMIT_FRACTION)
                .unwrap()
                .verdict
        };
        assert_eq!(limit(&outcome), Verdict::Missing);
        // p99 over the two-hop p99 needs the calibration too.
        assert_eq!(outcome.missing, 2);
        assert_eq!(outcome.regressions, 0);
        assert!(outcome.fails());
        assert!(table(&outcome, TableStyle::Aligned)
            .contains("2 gated figures of the baseline missing"));
        // Named in --allow-missing: skipped, and the check passes.
        let allowed = [
            LIMIT_FRACTION.key.to_owned(),
            P99_OVER_TWO_HOP.key.to_owned(),
        ];
        let outcome = check(&baseline, &uncalibrated, &default_thresholds(), &allowed);
        assert_eq!(limit(&outcome), Verdict::Skipped);
        assert!(!outcome.fails());
        // The other way round (the new result has what the baseline lacks)
        // is no failure.
        let outcome = check(&uncalibrated, &baseline, &default_thresholds(), &[]);
        assert_eq!(limit(&outcome), Verdict::Skipped);
        assert!(!outcome.fails());
    }

    #[test]
    fn an_open_loops_service_time_is_checked_beside_its_latency() {
        // Closed loops on both sides: no service-time line at all.
        let closed = with_trials(&[0.80, 0.81, 0.82]);
        let keys: Vec<&str> = check(&closed, &closed, &default_thresholds(), &[])
            .lines
            .iter()
            .map(|line| line.key)
            .collect();
        assert!(keys.contains(&P99_OVER_TWO_HOP.key), "{keys:?}");
        assert!(!keys.contains(&SERVICE_P99_OVER_TWO_HOP.key), "{keys:?}");
        // Open loops: the service p99 over the two-hop p99 (100 us) is a
        // figure of its own; service times three times slower regress
        // although the latency from the intended send stayed the same.
        let open = |service_p99: u64| {
            let mut result = with_trials(&[0.80, 0.81, 0.82]);
            for trial in &mut result.trials {
                let mut service = trial.latency_us.clone();
                service.p99 = service_p99;
                trial.service_time_us = Some(service);
            }
            result.timed = Some(timed_figures(&result.trials));
            result
        };
        let outcome = check(&open(100), &open(300), &default_thresholds(), &[]);
        let line = |figure: &Figure| {
            outcome
                .lines
                .iter()
                .find(|line| line.figure == figure)
                .unwrap()
                .clone()
        };
        let service = line(&SERVICE_P99_OVER_TWO_HOP);
        assert_eq!((service.baseline, service.value), (Some(1.0), Some(3.0)));
        assert_eq!(service.verdict, Verdict::Regression);
        assert_eq!(line(&P99_OVER_TWO_HOP).verdict, Verdict::Ok);
        assert_eq!(outcome.regressions, 1);
        // A closed-loop baseline against an open-loop result: skipped.
        let mixed = check(&closed, &open(100), &default_thresholds(), &[]);
        let skipped = mixed
            .lines
            .iter()
            .find(|line| line.figure == &SERVICE_P99_OVER_TWO_HOP)
            .unwrap();
        assert_eq!(skipped.verdict, Verdict::Skipped);
    }

    #[test]
    fn thresholds_files_override_defaults_and_refuse_unknown_figures() {
        let directory =
            std::env::temp_dir().join(format!("geecache-thresholds-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("t.json");
        let limit = LIMIT_FRACTION.key;
        std::fs::write(&path, format!(r#"{{"{limit}": {{"relative": 0.5}}}}"#)).unwrap();
        let thresholds = read_thresholds(&path).unwrap();
        assert_eq!(thresholds[limit].relative, 0.5);
        assert_eq!(
            thresholds[API_HIT_RATIO.key],
            default_thresholds()[API_HIT_RATIO.key]
        );
        std::fs::write(&path, r#"{"speed": {"relative": 0.5}}"#).unwrap();
        let error = read_thresholds(&path).unwrap_err();
        assert!(error.contains("unknown figure \"speed\""), "{error}");
        std::fs::write(&path, format!(r#"{{"{limit}": {{"relative": -1}}}}"#)).unwrap();
        assert!(read_thresholds(&path).unwrap_err().contains("0 or more"));
        std::fs::write(&path, format!(r#"{{"{limit}": {{"percent": 5}}}}"#)).unwrap();
        assert!(read_thresholds(&path)
            .unwrap_err()
            .contains("unknown field"));
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
