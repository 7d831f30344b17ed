//! `sweep`: every configuration of a grid on a fresh cluster each, a
//! summary and charts. The sweep itself is [`crate::analysis::sweep`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{
    fail, init_logging, load_workload, until_interrupted, GridArgs, ShapeArgs, EXIT_FAILED,
    EXIT_USAGE,
};
use crate::analysis::sweep;
use crate::units::Span;

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
    /// Measure the loopback limit once, this long per reference server.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub calibrate: Span,
    /// Skip the calibration.
    #[arg(long)]
    pub no_calibrate: bool,
    /// No progress bars.
    #[arg(long)]
    pub no_progress: bool,
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
    let loaded = match load_workload(&args.workload, &overrides) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let workload = loaded.workload;
    let grid = args.grid.grid();
    let plan = sweep::SweepPlan {
        workload: &workload,
        source: &loaded.source,
        results_dir: &args.results_dir,
        calibrate: (!args.no_calibrate).then_some(args.calibrate.0),
        progress: !args.no_progress,
    };
    let (plan, grid) = (&plan, &grid);
    let outcome = match until_interrupted(
        "finishing this run and writing the sweep so far",
        |control| async move {
            sweep::sweep(plan, grid, &control, |at, count, point| {
                eprintln!("[{}/{count}] {point}", at + 1);
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
    print!("{}", sweep::table(&summary));
    match sweep::write_summary(&summary, &args.results_dir) {
        Ok([json, csv, svg]) => {
            println!(
                "summary: {}, {}; charts: {}",
                json.display(),
                csv.display(),
                svg.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(
            EXIT_FAILED,
            format!("cannot write the sweep summary: {error}"),
        ),
    }
}
