//! `capacity`: the highest open-loop rate each configuration holds within
//! a latency objective, the steps up to it and the knee. The search is
//! [`geecache_bench::analysis::capacity`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Args;

use super::{
    check_outputs, fail, init_logging, load_with_trace, result_flag, until_interrupted, write_page,
    Format, GridArgs, ShapeArgs, TargetArgs, EXIT_FAILED, EXIT_USAGE,
};
use geecache_bench::analysis::capacity::objective::{parse_share, LatencyGoal};
use geecache_bench::analysis::capacity::report::{self, CapacitiesPlan, CapacityResult, Progress};
use geecache_bench::analysis::capacity::run::{CapacityError, Ceiling};
use geecache_bench::analysis::capacity::search::SearchPlan;
use geecache_bench::analysis::capacity::show;
use geecache_bench::analysis::capacity::step::Step;
use geecache_bench::analysis::grid::GridPoint;
use geecache_bench::analysis::html;
use geecache_bench::harness::report::write_bytes_atomically;
use geecache_bench::harness::run::RunPlan;
use geecache_bench::harness::trace::TraceIndex;
use geecache_bench::harness::workload::Loaded;
use geecache_bench::table::TableStyle;
use geecache_bench::units::{compact_timestamp, Span};

/// Flags of `capacity`.
#[derive(Debug, Args, Clone)]
pub struct CapacityArgs {
    /// The workload, as for a run; its rate and duration are each step's.
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// What a step must meet: a percentile of the latency from each
    /// request's intended send, at most a bound (p99<=5ms, p99.9<=20ms,
    /// p50<=500us).
    #[arg(long, value_name = "pN<=DURATION", default_value = "p99<=5ms", value_parser = LatencyGoal::parse)]
    pub slo: LatencyGoal,
    /// The share of a step's requests that may fail (0.1%, 0).
    #[arg(long, value_name = "SHARE", default_value = "0.1%", value_parser = parse_share)]
    pub max_errors: f64,
    /// The first rate tried, in requests per second.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 1000.0)]
    pub start: f64,
    /// Each rising step's rate over the one before, until one fails.
    #[arg(long, value_name = "X", default_value_t = 2.0)]
    pub factor: f64,
    /// Bisect until the first rate that failed is within this of the last
    /// that held (5%, 0.02).
    #[arg(long, value_name = "SHARE", default_value = "5%", value_parser = parse_share)]
    pub precision: f64,
    /// The most steps of one search.
    #[arg(long, value_name = "N", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub max_steps: u32,
    /// How long each step measures (after the workload's warm-up on a
    /// fresh cluster).
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub step: Span,
    /// Search each configuration this many times, in interleaved rounds:
    /// the capacity is then the median with an interval (3 or more), and
    /// configurations get a verdict.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// The most the driver can send, in requests per second, taken as
    /// given instead of measured.
    #[arg(long, value_name = "PER_SECOND")]
    pub ceiling: Option<f64>,
    /// Measure the driver's ceiling (against a bare one-hop server, closed
    /// loop at the workload's concurrency) this long.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub calibrate: Span,
    /// The configurations, as for `sweep`.
    #[command(flatten)]
    pub grid: GridArgs,
    /// The load and the store of each step.
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Another cluster to search instead of starting one per step.
    #[command(flatten)]
    pub remote: TargetArgs,
    /// Write the result here instead of
    /// results/capacity-<workload>-<timestamp>.json.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where the result goes when --out is not given.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    /// Draw the latency-throughput curve (the hockey stick) with the
    /// objective as a line into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Also write one self-contained HTML page: every step's table, the
    /// capacity with its interval, and the chart.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// `table` for people, `json` for programs, `markdown` for a CI job
    /// summary.
    #[arg(long, value_name = "table|json|markdown", default_value = "table", value_parser = Format::parser(&[Format::Table, Format::Json, Format::Markdown]))]
    pub format: Format,
}

impl CapacityArgs {
    /// The flags that make no sense here, named, when given.
    fn refused(&self) -> Option<String> {
        let shape = &self.shape;
        let given = [
            (
                "--rate",
                shape.rate.is_some(),
                "--start and --factor set each step's rate",
            ),
            (
                "--duration",
                shape.duration.is_some(),
                "--step sets each step's length",
            ),
            (
                "--requests",
                shape.requests.is_some(),
                "--step sets each step's length",
            ),
        ];
        if let Some((flag, _, instead)) = given.iter().find(|(_, given, _)| *given) {
            return Some(format!("{flag} does not apply to capacity: {instead}"));
        }
        let grid = &self.grid;
        let axes = !grid.ring.nodes.is_empty()
            || !grid.ring.hash.is_empty()
            || !grid.ring.replicas.is_empty()
            || !grid.cache_bytes.is_empty();
        if axes && self.remote.target.is_some() {
            return Some(
                "--target is searched as it is: --nodes, --hash, --replicas and --cache-bytes \
                 need a cluster of this program's own"
                    .into(),
            );
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&self.calibrate.0) {
            return Some("--calibrate: allowed 100ms to 10m".into());
        }
        if !(Duration::from_millis(500)..=Duration::from_secs(3600)).contains(&self.step.0) {
            return Some("--step: allowed 500ms to 1h".into());
        }
        None
    }
}

/// Runs the subcommand.
pub fn exec(args: CapacityArgs) -> ExitCode {
    init_logging(0, log::LevelFilter::Warn);
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; its figures are not representative. Use --release."
        );
    }
    if let Some(refused) = args.refused() {
        return fail(EXIT_USAGE, refused);
    }
    let (loaded, trace) = match load_with_trace(&args.workload, &args.shape.overrides()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let workload = &loaded.workload;
    if !workload.stages.is_empty() {
        return fail(
            EXIT_USAGE,
            format!(
                "{}: the workload's stages give it a rate of its own; capacity sets each step's \
                 rate: give a workload without stages",
                loaded.source
            ),
        );
    }
    let path = args.out.clone().unwrap_or_else(|| {
        args.results_dir.join(format!(
            "capacity-{}-{}.json",
            workload.name,
            compact_timestamp(SystemTime::now())
        ))
    });
    let out_flag = result_flag(args.out.is_some());
    if let Err(code) = check_outputs([
        (out_flag, Some(path.as_path())),
        ("--plot", args.plot.as_deref()),
        ("--html", args.html.as_deref()),
    ]) {
        return code;
    }
    let plan = plan(&args, loaded, trace);
    let plan = &plan;
    let outcome = match until_interrupted(
        "finishing this step and writing the searches so far",
        |control| async move {
            report::capacities(plan, &control, |progress, point, step| {
                announce(progress, point, step)
            })
            .await
        },
    ) {
        Ok(outcome) => outcome,
        Err(code) => return code,
    };
    let result = match outcome {
        Ok(result) => result,
        Err(error @ (CapacityError::Plan(_) | CapacityError::Workload(_))) => {
            return fail(EXIT_USAGE, error)
        }
        Err(error) => return fail(EXIT_FAILED, error),
    };
    let code = write_outputs(&args, &result, &path);
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&result) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_FAILED, error),
        },
        Format::Markdown => print!("{}", show::table(&result, TableStyle::Markdown)),
        _ => print!("{}", show::table(&result, TableStyle::Aligned)),
    }
    code
}

/// The searches the flags ask for: of each configuration of the grid
/// (or of the target), against the objective, stepping as the flags say.
fn plan(args: &CapacityArgs, loaded: Loaded, trace: Option<Arc<TraceIndex>>) -> CapacitiesPlan {
    let workload = loaded.workload;
    let points: Vec<Option<GridPoint>> = if args.remote.target.is_some() {
        vec![None]
    } else {
        args.grid
            .grid()
            .points(&workload)
            .into_iter()
            .map(Some)
            .collect()
    };
    CapacitiesPlan {
        run: RunPlan {
            target: args.remote.target.clone(),
            peers: args.remote.peers.clone(),
            allow_remote: args.remote.allow_remote,
            resolve: args.remote.resolve.resolve(),
            trace,
            coordination: geecache_bench::harness::run::Coordination {
                wait_for_target: args.remote.wait_for_target.map(|wait| wait.0),
                ..Default::default()
            },
            ..RunPlan::local(workload, loaded.source)
        },
        points,
        goal: args.slo,
        max_errors: args.max_errors,
        search: SearchPlan {
            start: args.start,
            factor: args.factor,
            precision: args.precision,
            ceiling: f64::INFINITY,
            max_steps: args.max_steps as usize,
        },
        ceiling: match args.ceiling {
            Some(rate) => Ceiling::Given(rate),
            None => Ceiling::Measure(args.calibrate.0),
        },
        step: args.step.0,
        repeat: args.repeat,
    }
}

/// Writes the result, and the chart and the page when asked; a failure
/// is said and makes the exit code, and the other files are still written.
fn write_outputs(args: &CapacityArgs, result: &CapacityResult, path: &Path) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    if let Err(error) = report::write(result, path) {
        code = fail(EXIT_FAILED, format!("cannot write the result: {error}"));
    } else {
        eprintln!("result: {}", path.display());
    }
    if let Some(plot) = &args.plot {
        match write_bytes_atomically(show::chart(result).as_bytes(), plot) {
            Ok(()) => eprintln!("plot: {}", plot.display()),
            Err(error) => code = fail(EXIT_FAILED, format!("cannot write the plot: {error}")),
        }
    }
    if let Some(page_path) = &args.html {
        let page = html::tables_and_charts(
            &format!("geecache-bench: capacity of {}", result.workload.name),
            ("Capacity", &show::table(result, TableStyle::Aligned)),
            &[show::chart(result)],
            Some(&result.workload),
        );
        if let Err(failed) = write_page(&page, page_path) {
            code = failed;
        }
    }
    code
}

/// A step's line on stderr as it is judged.
fn announce(progress: Progress, point: Option<&GridPoint>, step: &Step) {
    let mut place = Vec::new();
    if progress.rounds > 1 {
        place.push(format!("trial {}/{}", progress.round + 1, progress.rounds));
    }
    if let Some(point) = point.filter(|_| progress.configurations > 1) {
        place.push(point.short());
    }
    let place = if place.is_empty() {
        String::new()
    } else {
        format!("[{}] ", place.join(", "))
    };
    let verdict = match &step.miss {
        None => "held".to_owned(),
        Some(miss) => format!("failed: {miss}"),
    };
    let latency = step
        .objective_us
        .map_or("no latency".to_owned(), |us| format!("{us} us"));
    eprintln!(
        "{place}{:.0} req/s offered, {:.0} achieved: {verdict} ({latency} at the objective's percentile)",
        step.offered_rps, step.achieved_rps
    );
}
