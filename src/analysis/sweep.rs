//! `sweep`: every combination of node counts, hashes, replica counts and
//! cache sizes, each on a fresh cluster, each result written, and one
//! summary (JSON and CSV) with a row per configuration.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::analysis::compare::{metrics, show_figure};
use crate::analysis::grid::{Grid, Point};
use crate::analysis::plot;
use crate::harness::driver::Control;
use crate::harness::reference::{self, Calibration};
use crate::harness::report::{self, ResultFileError, RunResult};
use crate::harness::run::{self, Calibrate, RunError, RunPlan};
use crate::harness::workload::{Workload, WorkloadError};
use crate::units::{align, compact_timestamp, rfc3339};

/// The version of the sweep summary's format.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// A row of the summary: one configuration and its figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The configuration.
    #[serde(flatten)]
    pub point: Point,
    /// Its result file.
    pub result: String,
    /// The headline figures by name (see `compare`).
    pub figures: std::collections::BTreeMap<String, Option<f64>>,
    /// Throughput over the blended loopback limit.
    pub limit_fraction: Option<f64>,
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
    /// A result could not be written.
    #[error("{0}")]
    File(#[from] ResultFileError),
    /// The calibration failed.
    #[error("{0}")]
    Calibration(String),
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
}

/// Runs every point of `grid`, writes each result and returns the summary.
/// `announce` hears of each run before it starts. After Ctrl-C the sweep
/// ends with the runs done so far.
pub async fn sweep(
    plan: &SweepPlan<'_>,
    grid: &Grid,
    control: &Arc<Control>,
    mut announce: impl FnMut(usize, usize, &Point),
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
    let calibration: Option<Calibration> = match plan.calibrate {
        Some(duration) => Some(
            reference::calibrate(
                plan.workload.concurrency as usize,
                duration,
                plan.workload.value_size as usize,
            )
            .await
            .map_err(SweepError::Calibration)?,
        ),
        None => None,
    };
    let timestamp = compact_timestamp(started);
    let directory = plan
        .results_dir
        .join(format!("sweep-{}-{timestamp}", plan.workload.name));
    let mut rows = Vec::new();
    let mut files = Vec::new();
    let mut interrupted = false;
    for (at, (point, workload)) in points.iter().zip(workloads).enumerate() {
        if control.stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        announce(at, points.len(), point);
        let run_plan = RunPlan {
            workload,
            source: plan.source.to_owned(),
            target: None,
            peers: Vec::new(),
            base_port: None,
            progress: plan.progress,
            calibrate: calibration
                .clone()
                .map_or(Calibrate::Skip, Calibrate::Given),
            faults: Default::default(),
        };
        let result = run::run(&run_plan, control)
            .await
            .map_err(|source| SweepError::Run {
                point: point.to_string(),
                source,
            })?;
        let path = directory.join(point.file_name(&plan.workload.name));
        report::write_atomically(&result, &path)?;
        rows.push(row(point, &path, &result));
        files.push(path);
    }
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

fn row(point: &Point, path: &Path, result: &RunResult) -> Row {
    Row {
        point: *point,
        result: path.display().to_string(),
        figures: metrics(result)
            .into_iter()
            .map(|metric| (metric.key.to_owned(), metric.value))
            .collect(),
        limit_fraction: result
            .calibration
            .as_ref()
            .and_then(|calibration| calibration.limit_fraction),
    }
}

/// The figures a sweep table and CSV show, in order.
pub const COLUMNS: [&str; 9] = [
    "throughput_rps",
    "p50_us",
    "p99_us",
    "api_hit_ratio",
    "peer_fetch_ratio",
    "slowdb_loads_per_request",
    "duplicate_loads",
    "load_imbalance",
    "ring_imbalance",
];

/// The summary as CSV: one line per configuration.
pub fn csv(summary: &Summary) -> String {
    let mut out = String::from("nodes,hash,replicas,cache_bytes");
    for column in COLUMNS {
        out.push(',');
        out.push_str(column);
    }
    out.push_str(",limit_fraction,result\n");
    for row in &summary.rows {
        out.push_str(&row.point.csv());
        for column in COLUMNS {
            out.push(',');
            if let Some(value) = row.figures.get(column).copied().flatten() {
                let _ = write!(out, "{value}");
            }
        }
        out.push(',');
        if let Some(fraction) = row.limit_fraction {
            let _ = write!(out, "{fraction}");
        }
        let _ = writeln!(out, ",{}", row.result);
    }
    out
}

/// The summary as an aligned table.
pub fn table(summary: &Summary) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "nodes",
        "hash",
        "replicas",
        "cache",
        "req/s",
        "p50 us",
        "p99 us",
        "api hit",
        "peer fetch",
        "loads/req",
        "dup loads",
        "load max/mean",
        "ring max/mean",
    ]
    .iter()
    .map(|header| header.to_string())
    .collect()];
    for row in &summary.rows {
        let mut cells = row.point.cells();
        for column in COLUMNS {
            cells.push(show_figure(
                column,
                row.figures.get(column).copied().flatten(),
            ));
        }
        rows.push(cells);
    }
    align(&rows, |column| column == 1)
}

/// Writes the summary as `sweep-<workload>-<timestamp>.json` and `.csv` in
/// `directory`, atomically; returns both paths.
pub fn write_summary(summary: &Summary, directory: &Path) -> Result<[PathBuf; 3], ResultFileError> {
    let stamp = summary.started_at.replace(['-', ':'], "");
    let stem = directory.join(format!("sweep-{}-{stamp}", summary.workload.name));
    let json_path = stem.with_extension("json");
    let csv_path = stem.with_extension("csv");
    let svg_path = stem.with_extension("svg");
    let json = serde_json::to_vec_pretty(summary).map_err(|error| ResultFileError::Format {
        path: json_path.display().to_string(),
        message: error.to_string(),
    })?;
    report::write_bytes_atomically(&json, &json_path)?;
    report::write_bytes_atomically(csv(summary).as_bytes(), &csv_path)?;
    report::write_bytes_atomically(svg(summary).as_bytes(), &svg_path)?;
    Ok([json_path, csv_path, svg_path])
}

/// The most configurations whose latency curves share one panel.
const MOST_CURVES: usize = 20;

/// The sweep's charts: hit ratio and slow-store loads against cache size
/// and replicas, and, for up to [`MOST_CURVES`] configurations, their
/// latency curves (read back from their result files).
pub fn svg(summary: &Summary) -> String {
    let figures: Vec<plot::GridFigures> = summary
        .rows
        .iter()
        .map(|row| plot::GridFigures {
            point: row.point,
            hit_ratio: row.figures.get("api_hit_ratio").copied().flatten(),
            loads_per_request: row
                .figures
                .get("slowdb_loads_per_request")
                .copied()
                .flatten(),
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
