//! The figure registry: every figure of a result, once. Each [`Figure`]
//! holds its key in the result, its label, column header, unit and format,
//! which way is better, whether it is timed (read from each trial) or
//! counted (read from the result), its default `check` threshold (which
//! also says whether the gate compares it) and how it is read.
//!
//! The summary's trials table, `compare`, `check`, `sweep` and their
//! Markdown and CSV forms read the figures from here, so adding a figure is
//! one entry in [`FIGURES`] (or [`EVENT_FIGURES`]); `tests/suite/figures.rs` holds
//! them to it, and `tests/suite/layout.rs` checks that no other file of `src/`
//! names a figure's key as a string.
//!
//! Beside this file: `figures`, every figure's entry, and `format`, how
//! a value is written (apart, so that the calibration, which the figures
//! read, writes the limit fraction in its entry's format too).

use serde::{Deserialize, Serialize};

use crate::harness::report::{EventFigures, RunResult, TimedFigures, Trial};
use crate::intervals::{estimate, median};

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
    /// Times, which depend on the machine and its load: read from each
    /// trial, shown as the trials' median with an interval.
    Timed,
}

/// How much worse a figure may get in `check`: the larger of `relative`
/// times the baseline's value and `absolute`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// A share of the baseline's value (0.05 is 5%).
    #[serde(default)]
    pub relative: f64,
    /// An amount in the figure's unit.
    #[serde(default)]
    pub absolute: f64,
}

/// Where a figure is read from.
#[derive(Clone, Copy, Debug)]
pub enum Read {
    /// A timed figure: from each trial.
    Trial(fn(&Trial) -> Option<f64>),
    /// A counted figure: from the result.
    Result(fn(&RunResult) -> Option<f64>),
    /// A figure of one of the workload's events.
    Event(fn(&EventFigures) -> Option<f64>),
}

/// One figure: everything the tables and the gate need to know of it.
#[derive(Debug)]
pub struct Figure {
    /// Its stable name: the key in results, `compare --format json`,
    /// `check` thresholds and the sweep's CSV.
    pub key: &'static str,
    /// What a person reads in the summary, `compare` and `check`.
    pub label: &'static str,
    /// Its short header in the trials and sweep tables.
    pub column: &'static str,
    /// Its unit, in words.
    pub unit: &'static str,
    /// How its values are written.
    pub format: Format,
    /// Which way is better.
    pub better: Better,
    /// A speed: its verdicts read faster and slower, not better and worse.
    pub speed: bool,
    /// The default threshold of `check`; `None` when the gate does not
    /// compare it unless a thresholds file gives it one.
    pub gate: Option<Threshold>,
    /// How it is read.
    pub read: Read,
}

impl PartialEq for Figure {
    fn eq(&self, other: &Figure) -> bool {
        self.key == other.key
    }
}

impl Figure {
    /// Timed (read from each trial) or counted.
    pub fn nature(&self) -> Nature {
        match self.read {
            Read::Trial(_) => Nature::Timed,
            Read::Result(_) | Read::Event(_) => Nature::Counted,
        }
    }

    /// A value as people read it; `-` when absent.
    pub fn show(&self, value: Option<f64>) -> String {
        value.map_or_else(|| "-".to_owned(), |value| self.format.show(value))
    }

    /// An amount of the figure (a threshold), as people read it: shares in
    /// percentage points.
    pub fn show_amount(&self, amount: f64) -> String {
        match self.format {
            Format::Percent(_) => format!("{:.2} points", amount * 100.0),
            _ => format!("{amount:.4}"),
        }
    }

    /// A timed figure's value in one trial; `None` for a counted figure or
    /// one the trial lacks.
    pub fn of_trial(&self, trial: &Trial) -> Option<f64> {
        match self.read {
            Read::Trial(read) => read(trial),
            _ => None,
        }
    }

    /// A timed figure's value in each of the result's trials that has it
    /// (an older result is one trial); empty for a counted figure.
    pub fn trial_values(&self, result: &RunResult) -> Vec<f64> {
        match self.read {
            Read::Trial(read) => result.trial_list().iter().filter_map(read).collect(),
            _ => Vec::new(),
        }
    }

    /// The figure's value in a result: a counted figure as counted, a
    /// timed one as the median of its trials; `None` for an event's figure
    /// or one the result lacks.
    pub fn of_result(&self, result: &RunResult) -> Option<f64> {
        match self.read {
            Read::Trial(_) => median(&self.trial_values(result)),
            Read::Result(read) => read(result),
            Read::Event(_) => None,
        }
    }

    /// An event's figure; `None` for the others.
    pub fn of_event(&self, event: &EventFigures) -> Option<f64> {
        match self.read {
            Read::Event(read) => read(event),
            _ => None,
        }
    }
}

/// A figure's value in one result.
#[derive(Clone, Debug, PartialEq)]
pub struct FigureValue {
    /// Which figure.
    pub figure: &'static Figure,
    /// Its value (a timed figure's: the median of `trials`); `None` when
    /// the result does not have it.
    pub value: Option<f64>,
    /// A timed figure's value in each trial; empty for a counted one.
    pub trials: Vec<f64>,
}

/// Every figure of [`FIGURES`] read from `result`, in their order.
pub(crate) fn readings(result: &RunResult) -> Vec<FigureValue> {
    FIGURES
        .iter()
        .map(|&figure| {
            let trials = figure.trial_values(result);
            let value = match figure.read {
                Read::Trial(_) => median(&trials),
                _ => figure.of_result(result),
            };
            FigureValue {
                figure,
                value,
                trials,
            }
        })
        .collect()
}

/// The figure of [`FIGURES`] named `key`.
pub fn find(key: &str) -> Option<&'static Figure> {
    FIGURES.iter().copied().find(|figure| figure.key == key)
}

/// The timed figures of [`FIGURES`], in order.
pub fn timed() -> impl Iterator<Item = &'static Figure> {
    FIGURES
        .iter()
        .copied()
        .filter(|figure| figure.nature() == Nature::Timed)
}

/// The median and interval of every timed figure the trials have.
pub fn timed_figures(trials: &[Trial]) -> TimedFigures {
    TimedFigures {
        method: crate::intervals::METHOD.to_owned(),
        trials: trials.len(),
        unsteady_trials: trials.iter().filter(|trial| trial.unsteady).count(),
        figures: timed()
            .filter_map(|figure| {
                let values: Vec<f64> = trials.iter().filter_map(|t| figure.of_trial(t)).collect();
                Some((figure.key.to_owned(), estimate(&values)?))
            })
            .collect(),
    }
}

/// `result` as a single trial: its trial and timed figures set.
pub fn one_trial(mut result: RunResult) -> RunResult {
    result.trials = vec![Trial::of(&result)];
    result.timed = Some(timed_figures(&result.trials));
    result
}

mod figures;
pub(crate) mod format;

pub use format::Format;

pub use figures::{
    API_HIT_RATIO, CLUSTER_HIT_RATIO, CLUSTER_INSTRUCTIONS_PER_REQUEST, CLUSTER_OVER_HOPS,
    CPU_PER_REQUEST, DRIVER_INSTRUCTIONS_PER_REQUEST, DUPLICATE_LOADS, ERROR_RATIO, EVENT_ERRORS,
    EVENT_EXTRA_LOADS, EVENT_FIGURES, EVENT_MOVED_SHARE, EVENT_RECOVERY, FIGURES, HIT_P99,
    HIT_P99_OVER_ONE_HOP, INSTRUCTIONS_PER_REQUEST, LIMIT_FRACTION, LOAD_IMBALANCE, LOAD_P99, P50,
    P99, P99_9, P99_OVER_TWO_HOP, PEER_FETCH_RATIO, RING_IMBALANCE, SERVICE_P50, SERVICE_P99,
    SERVICE_P99_9, SERVICE_P99_OVER_TWO_HOP, SLOWDB_LOADS_PER_REQUEST, SYSCALLS_PER_REQUEST,
    THROUGHPUT,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_formats_write_as_people_read() {
        let mut keys: Vec<&str> = FIGURES.iter().map(|figure| figure.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), FIGURES.len());
        assert_eq!(API_HIT_RATIO.show(Some(0.4071)), "40.71%");
        assert_eq!(THROUGHPUT.show(Some(50429.4)), "50429");
        assert_eq!(LOAD_IMBALANCE.show(Some(1.2345)), "1.234");
        assert_eq!(P99.show(None), "-");
        assert_eq!(P99_OVER_TWO_HOP.show(Some(1.5)), "1.50x");
        assert_eq!(SERVICE_P99_OVER_TWO_HOP.show(Some(0.5)), "0.50x");
        assert_eq!(LIMIT_FRACTION.show(Some(0.9164)), "91.6%");
        assert_eq!(EVENT_RECOVERY.show(Some(1.234)), "1.23");
        assert_eq!(API_HIT_RATIO.show_amount(0.02), "2.00 points");
        assert_eq!(SLOWDB_LOADS_PER_REQUEST.show_amount(0.0005), "0.0005");
        assert_eq!(find(P99.key), Some(&P99));
        assert_eq!(find("speed"), None);
    }

    /// A figure declared in `figures.rs` but left out of both lists would
    /// be computed nowhere and shown nowhere: each is listed exactly once.
    #[test]
    fn every_declared_figure_is_listed_once() {
        let declared: Vec<&str> = include_str!("figures.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("pub static "))
            .filter_map(|rest| rest.strip_suffix(": Figure = Figure {"))
            .collect();
        assert!(declared.len() > 25, "the reader found {declared:?}");
        let mut listed: Vec<*const Figure> = FIGURES
            .iter()
            .chain(EVENT_FIGURES)
            .map(|figure| *figure as *const Figure)
            .collect();
        assert_eq!(listed.len(), declared.len(), "declared: {declared:?}");
        listed.sort();
        listed.dedup();
        assert_eq!(listed.len(), declared.len(), "a figure listed twice");
    }
}
