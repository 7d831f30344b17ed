//! `sweep`: every combination of node counts, hashes, replica counts and
//! cache sizes, each on a fresh cluster, each result written, and one
//! summary (JSON and CSV) with a row per configuration.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::analysis::differences::{unfilled_caches, CacheSide};
use crate::analysis::grid::{Grid, GridPoint};
use crate::analysis::plot;
use crate::harness::calibration::{self, Calibration, CalibrationError};
use crate::harness::driver::Control;
use crate::harness::fill::CacheFill;
use crate::harness::latency::HistogramError;
use crate::harness::registry::{
    self, Figure, API_HIT_RATIO, DUPLICATE_LOADS, LIMIT_FRACTION, LOAD_IMBALANCE, P50, P99,
    PEER_FETCH_RATIO, RING_IMBALANCE, SLOWDB_LOADS_PER_REQUEST, THROUGHPUT,
};
use crate::harness::report::{self, ResultFileError, RunResult};
use crate::harness::run::{self, Calibrate, RunError, RunPlan};
use crate::harness::trace::TraceIndex;
use crate::harness::trials::combine;
use crate::harness::workload::{Workload, WorkloadError};
use crate::intervals::Estimate;
use crate::table::align;
use crate::units::{compact_timestamp, rfc3339};

/// The version of the sweep summary's format.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// A row of the summary: one configuration and its figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The configuration.
    #[serde(flatten)]
    pub point: GridPoint,
    /// Its result file.
    pub result: String,
    /// The headline figures by name (see `compare`).
    pub figures: std::collections::BTreeMap<String, Option<f64>>,
    /// Throughput over the blended loopback limit (the median of the
    /// trials).
    pub limit_fraction: Option<f64>,
    /// Trials of this configuration (`--repeat`).
    #[serde(default)]
    pub trials: usize,
    /// Each timed figure's median and interval over the trials.
    #[serde(default)]
    pub timed: BTreeMap<String, Estimate>,
    /// The throughput against the best row's: `best`, `tie` (the
    /// intervals overlap) or `slower`; `null` without intervals (fewer
    /// than 3 trials).
    #[serde(default)]
    pub throughput_vs_best: Option<Standing>,
    /// Whether its caches filled (see `harness::fill`); absent in target
    /// mode and older summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caches: Option<CacheFill>,
    /// Requests its run made, warm-up included.
    #[serde(default)]
    pub requests: u64,
}

/// A row's throughput against the fastest row's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The highest median.
    Best,
    /// Its interval overlaps the best row's: no clear difference.
    Tie,
    /// Its interval lies below the best row's.
    Slower,
}

/// What a sweep measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SWEEP_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The workload every run ran, before the grid's values.
    pub workload: Workload,
    /// When the sweep began.
    pub started_at: String,
    /// Whether Ctrl-C ended it early.
    pub interrupted: bool,
    /// One row per configuration run.
    pub rows: Vec<Row>,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A configuration of the grid is out of range.
    #[error("{0}")]
    Workload(#[from] WorkloadError),
    /// A run failed.
    #[error("{point}: {source}")]
    Run {
        /// The configuration.
        point: String,
        /// Why.
        source: RunError,
    },
    /// A configuration's trials could not be added together.
    #[error("{point}: {source}")]
    Trials {
        /// The configuration.
        point: String,
        /// Why its histograms could not be added.
        source: HistogramError,
    },
    /// A result could not be written.
    #[error("{0}")]
    File(#[from] ResultFileError),
    /// The calibration failed.
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
}

/// What a sweep needs besides the grid.
pub struct SweepPlan<'a> {
    /// The workload, flags other than the grid's applied.
    pub workload: &'a Workload,
    /// Where it came from.
    pub source: &'a str,
    /// Where results go.
    pub results_dir: &'a Path,
    /// Measure the loopback limit once, for this long per server.
    pub calibrate: Option<std::time::Duration>,
    /// Show each run's progress bar.
    pub progress: bool,
    /// Trials of each configuration, interleaved: round 1 runs every
    /// configuration, round 2 every one in another order, and so on.
    pub repeat: u32,
    /// The workload's trace, scanned once for every run.
    pub trace: Option<Arc<TraceIndex>>,
}

/// Where a run of a sweep stands: its round and its place in the round.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The round, from 0.
    pub round: u32,
    /// Rounds in all.
    pub rounds: u32,
    /// The run's place in its round, from 0.
    pub at: usize,
    /// Runs per round.
    pub count: usize,
}

/// The order of the configurations in `round`: grid order first, then
/// reversed, then both again starting one configuration later, and so on;
/// each round differs from the one before, and each configuration runs
/// early in some rounds and late in others, so the machine's slow drift
/// spreads over all of them.
pub(crate) fn round_order(count: usize, round: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    if count > 0 {
        order.rotate_left((round as usize / 2) % count);
    }
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// Runs every point of `grid` `plan.repeat` times in interleaved rounds,
/// writes each configuration's result (its trials combined) and returns the
/// summary. `announce` hears of each run before it starts. After Ctrl-C the
/// sweep ends with the runs done so far.
pub async fn sweep(
    plan: &SweepPlan<'_>,
    grid: &Grid,
    control: &Arc<Control>,
    mut announce: impl FnMut(Progress, &GridPoint),
) -> Result<(Summary, Vec<PathBuf>), SweepError> {
    let started = SystemTime::now();
    let points = grid.points(plan.workload);
    // Check every point before running any.
    let mut workloads = Vec::with_capacity(points.len());
    for point in &points {
        let mut workload = plan.workload.clone();
        workload.apply(&point.overrides(), plan.source)?;
        workloads.push(workload);
    }
    let timestamp = compact_timestamp(started);
    let directory = plan
        .results_dir
        .join(format!("sweep-{}-{timestamp}", plan.workload.name));
    let rounds = plan.repeat.max(1);
    let mut trials: Vec<Vec<RunResult>> = vec![Vec::new(); points.len()];
    let mut interrupted = false;
    'rounds: for round in 0..rounds {
        // Each round measures the loopback limit once for its runs.
        let calibration: Option<Calibration> = match plan.calibrate {
            Some(duration) => Some(
                calibration::calibrate(
                    plan.workload.concurrency as usize,
                    duration,
                    plan.workload.value_size as usize,
                )
                .await
                .map_err(SweepError::Calibration)?,
            ),
            None => None,
        };
        for (at, index) in round_order(points.len(), round).into_iter().enumerate() {
            if control.stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'rounds;
            }
            let point = &points[index];
            announce(
                Progress {
                    round,
                    rounds,
                    at,
                    count: points.len(),
                },
                point,
            );
            let run_plan = RunPlan {
                progress: plan.progress,
                calibrate: calibration
                    .clone()
                    .map_or(Calibrate::Skip, Calibrate::Given),
                trace: plan.trace.clone(),
                ..RunPlan::local(workloads[index].clone(), plan.source)
            };
            control.done.store(0, Ordering::Relaxed);
            let result = run::run(&run_plan, control)
                .await
                .map_err(|source| SweepError::Run {
                    point: point.to_string(),
                    source,
                })?;
            trials[index].push(result);
        }
    }
    let mut rows = Vec::new();
    let mut files = Vec::new();
    for (point, results) in points.iter().zip(trials) {
        let combined = combine(results).map_err(|source| SweepError::Trials {
            point: point.to_string(),
            source,
        })?;
        let Some(result) = combined else { continue };
        let path = directory.join(point.file_name(&plan.workload.name));
        report::write_atomically(&result, &path)?;
        rows.push(row(point, &path, &result));
        files.push(path);
    }
    rank_throughput(&mut rows);
    Ok((
        Summary {
            schema_version: SWEEP_SCHEMA_VERSION,
            workload: plan.workload.clone(),
            started_at: rfc3339(started),
            interrupted,
            rows,
        },
        files,
    ))
}

fn row(point: &GridPoint, path: &Path, result: &RunResult) -> Row {
    let figures: BTreeMap<String, Option<f64>> = registry::readings(result)
        .into_iter()
        .map(|reading| (reading.figure.key.to_owned(), reading.value))
        .collect();
    Row {
        point: *point,
        result: path.display().to_string(),
        limit_fraction: figures.get(LIMIT_FRACTION.key).copied().flatten(),
        figures,
        trials: result.trials.len().max(1),
        timed: result
            .timed
            .as_ref()
            .map(|timed| timed.figures.clone())
            .unwrap_or_default(),
        throughput_vs_best: None,
        caches: result.caches.clone(),
        requests: result.client.requests + result.workload.warmup_requests,
    }
}

/// Marks each row's throughput against the row with the highest median:
/// a row whose interval overlaps the best one's is a tie. Rows without an
/// interval are not marked.
pub(crate) fn rank_throughput(rows: &mut [Row]) {
    let interval = |row: &Row| {
        let estimate = row.timed.get(THROUGHPUT.key)?;
        Some((estimate.median, estimate.low?, estimate.high?))
    };
    let Some(best) = (0..rows.len())
        .filter(|&at| interval(&rows[at]).is_some())
        .max_by(|&a, &b| {
            let median = |at: usize| interval(&rows[at]).map_or(0.0, |(median, _, _)| median);
            median(a).total_cmp(&median(b))
        })
    else {
        return;
    };
    let Some((_, best_low, _)) = interval(&rows[best]) else {
        return;
    };
    for (at, row) in rows.iter_mut().enumerate() {
        row.throughput_vs_best = interval(row).map(|(_, _, high)| {
            if at == best {
                Standing::Best
            } else if high >= best_low {
                Standing::Tie
            } else {
                Standing::Slower
            }
        });
    }
}

/// The figures a sweep table and CSV show, in order.
pub static COLUMNS: [&Figure; 9] = [
    &THROUGHPUT,
    &P50,
    &P99,
    &API_HIT_RATIO,
    &PEER_FETCH_RATIO,
    &SLOWDB_LOADS_PER_REQUEST,
    &DUPLICATE_LOADS,
    &LOAD_IMBALANCE,
    &RING_IMBALANCE,
];

impl Row {
    /// `figure`'s value in this row.
    pub fn figure(&self, figure: &Figure) -> Option<f64> {
        self.figures.get(figure.key).copied().flatten()
    }
}

/// The summary as CSV: one line per configuration.
pub fn csv(summary: &Summary) -> String {
    let mut out = String::from("nodes,hash,replicas,cache_bytes");
    for column in COLUMNS {
        out.push(',');
        out.push_str(column.key);
    }
    let throughput = THROUGHPUT.key;
    let _ = writeln!(
        out,
        ",{},{throughput}_low,{throughput}_high,trials,throughput_vs_best,result",
        LIMIT_FRACTION.key
    );
    for row in &summary.rows {
        out.push_str(&row.point.csv());
        for column in COLUMNS {
            out.push(',');
            if let Some(value) = row.figure(column) {
                let _ = write!(out, "{value}");
            }
        }
        out.push(',');
        if let Some(fraction) = row.limit_fraction {
            let _ = write!(out, "{fraction}");
        }
        let throughput = row.timed.get(THROUGHPUT.key);
        for end in [
            throughput.and_then(|estimate| estimate.low),
            throughput.and_then(|estimate| estimate.high),
        ] {
            out.push(',');
            if let Some(end) = end {
                let _ = write!(out, "{end}");
            }
        }
        let _ = write!(out, ",{},", row.trials);
        if let Some(standing) = row.throughput_vs_best {
            out.push_str(standing.name());
        }
        let _ = writeln!(out, ",{}", row.result);
    }
    out
}

/// The summary as an aligned table.
pub fn table(summary: &Summary) -> String {
    let mut header: Vec<String> = ["nodes", "hash", "replicas", "cache"]
        .iter()
        .map(|header| header.to_string())
        .collect();
    header.extend(COLUMNS.iter().map(|figure| figure.column.to_owned()));
    header.push("vs best".to_owned());
    let mut rows: Vec<Vec<String>> = vec![header];
    for row in &summary.rows {
        let mut cells = row.point.cells();
        for column in COLUMNS {
            let mut cell = column.show(row.figure(column));
            if let Some(estimate) = row.timed.get(column.key) {
                if let (Some(low), Some(high)) = (estimate.low, estimate.high) {
                    let _ = write!(
                        cell,
                        " [{}, {}]",
                        column.show(Some(low)),
                        column.show(Some(high))
                    );
                }
            }
            cells.push(cell);
        }
        cells.push(
            row.throughput_vs_best
                .map_or("", |standing| standing.name())
                .to_owned(),
        );
        rows.push(cells);
    }
    let mut out = align(&rows, |column| column == 1 || column == COLUMNS.len() + 4);
    let sides: Vec<CacheSide> = summary
        .rows
        .iter()
        .map(|row| CacheSide {
            name: row.point.short(),
            cache_bytes: row.point.cache_bytes.0,
            fill: row.caches.as_ref(),
            requests: row.requests,
        })
        .collect();
    if let Some(warning) = unfilled_caches(&sides) {
        let _ = writeln!(out, "{warning}");
    }
    let trials = summary.rows.iter().map(|row| row.trials).max().unwrap_or(1);
    if trials >= crate::intervals::MIN_TRIALS {
        let _ = writeln!(
            out,
            "{trials} trials per configuration, interleaved: median [interval] ({}); \
             tie: its throughput interval overlaps the best row's",
            crate::intervals::median_level_words(trials)
        );
    } else if trials > 1 {
        let _ = writeln!(
            out,
            "{trials} trials per configuration: medians, no intervals (3 trials or more give them)"
        );
    }
    out
}

impl Standing {
    /// Its name in tables and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Best => "best",
            Standing::Tie => "tie",
            Standing::Slower => "slower",
        }
    }
}

/// Writes the summary as `sweep-<workload>-<timestamp>.json` and `.csv` in
/// `directory`, atomically; returns both paths.
pub fn write_summary(summary: &Summary, directory: &Path) -> Result<[PathBuf; 3], ResultFileError> {
    let stamp = summary.started_at.replace(['-', ':'], "");
    let stem = directory.join(format!("sweep-{}-{stamp}", summary.workload.name));
    let json_path = stem.with_extension("json");
    let csv_path = stem.with_extension("csv");
    let svg_path = stem.with_extension("svg");
    let json = serde_json::to_vec_pretty(summary).map_err(ResultFileError::json(&json_path))?;
    report::write_bytes_atomically(&json, &json_path)?;
    report::write_bytes_atomically(csv(summary).as_bytes(), &csv_path)?;
    report::write_bytes_atomically(svg(summary).as_bytes(), &svg_path)?;
    Ok([json_path, csv_path, svg_path])
}

/// The most configurations whose latency curves share one panel.
const MOST_CURVES: usize = 20;

/// The sweep's charts: hit ratio and slow-store loads against cache size
/// and replicas, and, for up to `MOST_CURVES` configurations, their
/// latency curves (read back from their result files).
pub fn svg(summary: &Summary) -> String {
    let figures: Vec<plot::GridFigures> = summary
        .rows
        .iter()
        .map(|row| plot::GridFigures {
            point: row.point,
            hit_ratio: row.figure(&API_HIT_RATIO),
            loads_per_request: row.figure(&SLOWDB_LOADS_PER_REQUEST),
            throughput: row.timed.get(THROUGHPUT.key).copied().or_else(|| {
                let median = row.figure(&THROUGHPUT)?;
                Some(Estimate::point(median))
            }),
        })
        .collect();
    let title = format!("sweep of {}", summary.workload.name);
    let mut panels = plot::grid_panels(&title, &figures);
    if summary.rows.len() <= MOST_CURVES {
        let curves: Vec<plot::Series> = summary
            .rows
            .iter()
            .filter_map(|row| {
                let result = report::read(Path::new(&row.result)).ok()?;
                plot::result_latency(&row.point.short(), &result)
            })
            .collect();
        if !curves.is_empty() {
            panels.push(plot::latency_panel(&format!("{title}: latency"), curves));
        }
    }
    plot::render(&panels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::grid::Grid;

    #[test]
    fn each_round_runs_every_configuration_in_another_order() {
        assert_eq!(round_order(3, 0), [0, 1, 2]);
        assert_eq!(round_order(3, 1), [2, 1, 0]);
        assert_eq!(round_order(3, 2), [1, 2, 0]);
        assert_eq!(round_order(3, 3), [0, 2, 1]);
        for round in 0..10 {
            let mut order = round_order(4, round);
            assert_ne!(order, round_order(4, round + 1), "{round}");
            order.sort_unstable();
            assert_eq!(order, [0, 1, 2, 3]);
        }
        assert!(round_order(0, 3).is_empty());
    }

    #[test]
    fn rows_whose_throughput_interval_reaches_the_best_tie() {
        let workload = crate::harness::workload::parse("{}", "test", "test").unwrap();
        let point = Grid::default().points(&workload)[0];
        let row = |median, low, high| Row {
            point,
            result: String::new(),
            figures: BTreeMap::new(),
            limit_fraction: None,
            trials: 3,
            timed: [(
                THROUGHPUT.key.to_owned(),
                Estimate {
                    median,
                    low,
                    high,
                    confidence: None,
                },
            )]
            .into_iter()
            .collect(),
            throughput_vs_best: None,
            caches: None,
            requests: 0,
        };
        let mut rows = vec![
            row(100.0, Some(90.0), Some(110.0)),
            row(120.0, Some(105.0), Some(130.0)),
            row(80.0, Some(70.0), Some(104.0)),
            row(50.0, None, None),
        ];
        rank_throughput(&mut rows);
        let standings: Vec<Option<Standing>> =
            rows.iter().map(|row| row.throughput_vs_best).collect();
        assert_eq!(
            standings,
            [
                Some(Standing::Tie),
                Some(Standing::Best),
                Some(Standing::Slower),
                None
            ]
        );
    }
}
