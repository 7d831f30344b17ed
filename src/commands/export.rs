//! `export`: a result's figures in the formats other tools read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{fail, EXIT_FAILED, EXIT_USAGE};
use crate::harness::latency::percentile_distribution;
use crate::harness::report;

/// Flags of `export`.
#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// Write RESULT.json's latency histogram as the percentile distribution
    /// text wrk2 prints and HdrHistogram's plotter reads (`.hgrm`,
    /// milliseconds).
    #[arg(long, value_name = "RESULT.json", required = true)]
    pub hgrm: PathBuf,
    /// The service-time histogram (from each request's actual send) of an
    /// open-loop result instead of its latency one (from the intended send).
    #[arg(long)]
    pub service: bool,
    /// Write it here instead of to standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn exec(args: ExportArgs) -> ExitCode {
    let result = match report::read(&args.hgrm) {
        Ok(result) => result,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let data = if args.service {
        match &result.service_histogram {
            Some(data) => data,
            None => {
                return fail(
                    EXIT_USAGE,
                    format!(
                        "{} has no service-time histogram: only open-loop runs (a rate) keep one; \
                         a closed loop's latency is its service time (export it without --service)",
                        args.hgrm.display()
                    ),
                )
            }
        }
    } else {
        &result.histogram
    };
    let histogram = match data.decode() {
        Ok(histogram) => histogram,
        Err(error) => return fail(EXIT_USAGE, format!("{}: {error}", args.hgrm.display())),
    };
    let text = percentile_distribution(&histogram);
    match &args.out {
        Some(path) => {
            if let Err(error) = report::write_bytes_atomically(text.as_bytes(), path) {
                return fail(EXIT_FAILED, error);
            }
            eprintln!("percentile distribution: {}", path.display());
        }
        None => print!("{text}"),
    }
    ExitCode::SUCCESS
}
