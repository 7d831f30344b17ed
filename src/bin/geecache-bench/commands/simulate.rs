//! `simulate`: predict a grid of runs' counters from the model, or check a
//! result against it (`--verify`). The model is
//! [`geecache_bench::analysis::simulate`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::{
    fail, load_with_trace, parse_switch, Format, GridArgs, ModelKeys, EXIT_FAILED, EXIT_USAGE,
};
use geecache_bench::analysis::{plot, simulate};
use geecache_bench::harness::report;
use geecache_bench::harness::workload::Overrides;

/// Flags of `simulate`.
#[derive(Debug, Args, Clone)]
pub struct SimulateArgs {
    /// The workload, as for a run.
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// The configurations.
    #[command(flatten)]
    pub grid: GridArgs,
    /// Merge concurrent loads of one key [cluster.singleflight].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub singleflight: Option<bool>,
    /// Keep some values fetched from peers in a hot cache [cluster.hot_cache].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub hot_cache: Option<bool>,
    /// The keys the model follows.
    #[command(flatten)]
    pub keys: ModelKeys,
    /// With events: the model's series has an interval every N requests,
    /// by which each event's baseline, recovery and extra loads are
    /// measured [an open loop's requests per workload interval, else 1% of
    /// the requests].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub interval_requests: Option<u64>,
    /// `table` for people, `json` or `csv` for programs.
    #[arg(long, value_name = "table|json|csv", default_value = "table", value_parser = Format::parser(&[Format::Table, Format::Json, Format::Csv]))]
    pub format: Format,
    /// Also write the predictions here, as JSON (or CSV for a .csv name).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Draw hit ratio and slow-store loads against cache size and replicas
    /// into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Instead of a grid: predict the run that wrote RESULT.json and list
    /// every counter that differs; exit 1 if any does.
    #[arg(long, value_name = "RESULT.json", conflicts_with_all = ["nodes", "hash", "replicas", "cache_bytes", "requests", "warmup", "seed", "singleflight", "hot_cache", "interval_requests", "trace", "trace_format", "trace_limit", "sample", "speed"])]
    pub verify: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn exec(args: SimulateArgs) -> ExitCode {
    if let Some(path) = &args.verify {
        return verify_command(path, args.format);
    }
    let overrides = Overrides {
        singleflight: args.singleflight,
        hot_cache: args.hot_cache,
        ..args.keys.overrides()
    };
    let loaded = match load_with_trace(&args.workload, &overrides) {
        Ok((loaded, _)) => loaded,
        Err(code) => return code,
    };
    let (workload, source) = (loaded.workload, loaded.source);
    let grid = args.grid.grid();
    // Every point must be a valid workload, as for a sweep.
    for point in grid.points(&workload) {
        let mut check = workload.clone();
        if let Err(error) = check.apply(&point.overrides(), &source) {
            return fail(EXIT_USAGE, error);
        }
    }
    let started = Instant::now();
    let predictions = match simulate::simulate(&workload, &grid, args.interval_requests) {
        Ok(predictions) => predictions,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let elapsed = started.elapsed();
    let as_json = || serde_json::to_string_pretty(&predictions).unwrap_or_default() + "\n";
    match args.format {
        Format::Json => print!("{}", as_json()),
        Format::Csv => print!("{}", simulate::csv(&predictions)),
        _ => {
            print!("{}", simulate::table(&predictions));
            if predictions
                .iter()
                .any(|prediction| !prediction.events.is_empty())
            {
                println!();
                print!("{}", simulate::event_table(&predictions));
            }
            println!(
                "{} configurations x {} requests ({} warm-up) simulated in {:.2} s",
                predictions.len(),
                predictions
                    .first()
                    .map_or(0, |prediction| prediction.requests),
                workload.warmup_requests,
                elapsed.as_secs_f64()
            );
        }
    }
    if let Some(out) = &args.out {
        let bytes = if out.extension().is_some_and(|ext| ext == "csv") {
            simulate::csv(&predictions)
        } else {
            as_json()
        };
        if let Err(error) = report::write_bytes_atomically(bytes.as_bytes(), out) {
            return fail(EXIT_FAILED, error);
        }
        eprintln!("predictions: {}", out.display());
    }
    if let Some(path) = &args.plot {
        let figures: Vec<plot::GridFigures> = predictions
            .iter()
            .map(|prediction| plot::GridFigures {
                point: prediction.point,
                hit_ratio: prediction.cluster.api_hit_ratio,
                loads_per_request: Some(prediction.cluster.slowdb.loads_per_request),
                throughput: None,
            })
            .collect();
        let panels = plot::grid_panels(&format!("model of {}", workload.name), &figures);
        if panels.is_empty() {
            eprintln!("plot: nothing to draw: the grid varies neither cache size nor replicas");
        } else {
            if let Err(error) =
                report::write_bytes_atomically(plot::render(&panels).as_bytes(), path)
            {
                return fail(EXIT_FAILED, error);
            }
            eprintln!("plot: {}", path.display());
        }
    }
    ExitCode::SUCCESS
}

fn verify_command(path: &std::path::Path, format: Format) -> ExitCode {
    let result = match report::read(path) {
        Ok(result) => result,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let verification = match simulate::verify(&result) {
        Ok(verification) => verification,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&verification).unwrap_or_default()
        );
    } else {
        print!(
            "{}",
            simulate::verification_report(&verification, &path.display().to_string())
        );
    }
    if verification.differences.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
