//! `export`: a result's figures in the formats other tools read, and as a
//! page people open.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{fail, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::analysis::html;
use geecache_bench::harness::latency::percentile_distribution;
use geecache_bench::harness::report::{self, RunResult};

/// Flags of `export`.
#[derive(Debug, Args, Clone)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["hgrm", "html"])))]
pub struct ExportArgs {
    /// Write RESULT.json's latency histogram as the percentile distribution
    /// text wrk2 prints and HdrHistogram's plotter reads (`.hgrm`,
    /// milliseconds).
    #[arg(long, value_name = "RESULT.json")]
    pub hgrm: Option<PathBuf>,
    /// Write RESULT.json as one self-contained HTML page (the summary, its
    /// charts, the nodes, the events, the configuration and the machine),
    /// to --out or RESULT.html beside it; it loads nothing from elsewhere.
    #[arg(long, value_name = "RESULT.json")]
    pub html: Option<PathBuf>,
    /// The service-time histogram (from each request's actual send) of an
    /// open-loop result instead of its latency one (from the intended send).
    #[arg(long, requires = "hgrm")]
    pub service: bool,
    /// Write it here instead of to standard output (.hgrm) or beside the
    /// result (.html).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs the subcommand.
pub fn exec(args: ExportArgs) -> ExitCode {
    let Some(source) = args.hgrm.as_ref().or(args.html.as_ref()) else {
        return fail(EXIT_USAGE, "give --hgrm RESULT.json or --html RESULT.json");
    };
    let result = match report::read(source) {
        Ok(result) => result,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let written = if args.html.is_some() {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| source.with_extension("html"));
        write_html(&result, source, &out)
    } else {
        write_hgrm(&result, source, args.service, args.out.as_deref())
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Writes `result`, read from `source`, as an HTML page to `out`: what a
/// run's `--html` and `export --html` both write. A file that cannot be
/// written is reported and given as exit status 1.
pub fn write_html(result: &RunResult, source: &Path, out: &Path) -> Result<(), ExitCode> {
    super::write_page(
        &html::run_report(result, &source.display().to_string()),
        out,
    )
}

/// Writes `result`'s latency histogram (with `service`, an open loop's
/// service-time one) as a percentile distribution (`.hgrm`) to `out`, or
/// to standard output; `name` names the result in errors. What a run's
/// `--hgrm` and `export --hgrm` both write. A failure is reported and
/// given as its exit status: 2 for a result without the histogram, 1 for a
/// file that cannot be written.
pub fn write_hgrm(
    result: &RunResult,
    name: &Path,
    service: bool,
    out: Option<&Path>,
) -> Result<(), ExitCode> {
    let data = if service {
        result.service_histogram.as_ref().ok_or_else(|| {
            fail(
                EXIT_USAGE,
                format!(
                    "{} has no service-time histogram: only open-loop runs (a rate) keep one; \
                     a closed loop's latency is its service time (export it without --service)",
                    name.display()
                ),
            )
        })?
    } else {
        &result.histogram
    };
    let histogram = data
        .decode()
        .map_err(|error| fail(EXIT_USAGE, format!("{}: {error}", name.display())))?;
    let text = percentile_distribution(&histogram);
    match out {
        Some(path) => {
            report::write_bytes_atomically(text.as_bytes(), path).map_err(|error| {
                fail(
                    EXIT_FAILED,
                    format!("cannot write the percentile distribution: {error}"),
                )
            })?;
            eprintln!("percentile distribution: {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
