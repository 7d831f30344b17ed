//! `sweep`: every configuration of a grid on a fresh cluster each, a
//! summary and charts. The sweep itself is [`geecache_bench::analysis::sweep`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{
    check_outputs, fail, init_logging, load_with_trace, until_interrupted, write_page, GridArgs,
    ShapeArgs, EXIT_FAILED, EXIT_USAGE,
};
use geecache_bench::analysis::{html, sweep};
use geecache_bench::units::Span;

/// Flags of `sweep`: lists where a run takes one value.
#[derive(Debug, Args, Clone)]
pub struct SweepArgs {
    /// The workload, as for a run.
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// The configurations.
    #[command(flatten)]
    pub grid: GridArgs,
    /// The shape of each run.
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Where the results and the summary go.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    /// Run every configuration this many times, in interleaved rounds
    /// (round 1 every configuration, round 2 every one in another order,
    /// ...); tables and charts then show medians with intervals, and
    /// mark rows whose throughput ties with the best.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Measure the loopback limit once per round, this long per reference
    /// server.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub calibrate: Span,
    /// Skip the calibration.
    #[arg(long)]
    pub no_calibrate: bool,
    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Also write one self-contained HTML page: the table and the charts.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn exec(args: SweepArgs) -> ExitCode {
    init_logging(0, log::LevelFilter::Warn);
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; its figures are not representative. Use --release."
        );
    }
    let overrides = args.shape.overrides();
    let (loaded, trace) = match load_with_trace(&args.workload, &overrides) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let workload = loaded.workload;
    // Each run's result and the summary go to the results directory: found
    // unwritable now, not after the grid has run.
    let notional = args
        .results_dir
        .join(format!("sweep-{}.json", workload.name));
    if let Err(code) = check_outputs([
        ("--results-dir", Some(notional.as_path())),
        ("--html", args.html.as_deref()),
    ]) {
        return code;
    }
    let grid = args.grid.grid();
    let plan = sweep::SweepPlan {
        workload: &workload,
        source: &loaded.source,
        results_dir: &args.results_dir,
        calibrate: (!args.no_calibrate).then_some(args.calibrate.0),
        progress: !args.no_progress,
        repeat: args.repeat,
        trace,
    };
    let (plan, grid) = (&plan, &grid);
    let outcome = match until_interrupted(
        "finishing this run and writing the sweep so far",
        |control| async move {
            sweep::sweep(plan, grid, &control, |progress, point| {
                let round = if progress.rounds > 1 {
                    format!("round {}/{} ", progress.round + 1, progress.rounds)
                } else {
                    String::new()
                };
                eprintln!("[{round}{}/{}] {point}", progress.at + 1, progress.count);
            })
            .await
        },
    ) {
        Ok(outcome) => outcome,
        Err(code) => return code,
    };
    let (summary, _) = match outcome {
        Ok(outcome) => outcome,
        Err(error @ sweep::SweepError::Workload(_)) => return fail(EXIT_USAGE, error),
        Err(error) => return fail(EXIT_FAILED, error),
    };
    let table = sweep::table(&summary);
    print!("{table}");
    match sweep::write_summary(&summary, &args.results_dir) {
        Ok([json, csv, svg]) => {
            println!(
                "summary: {}, {}; charts: {}",
                json.display(),
                csv.display(),
                svg.display()
            );
            let Some(path) = &args.html else {
                return ExitCode::SUCCESS;
            };
            let page = html::tables_and_charts(
                &format!("geecache-bench: sweep of {}", summary.workload.name),
                ("Configurations", &table),
                &[sweep::svg(&summary)],
                Some(&summary.workload),
            );
            match write_page(&page, path) {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => code,
            }
        }
        Err(error) => fail(
            EXIT_FAILED,
            format!("cannot write the sweep summary: {error}"),
        ),
    }
}
