//! `check`: a result against a baseline with thresholds, for CI; exit 1 on
//! a regression. The comparison itself is [`geecache_bench::analysis::check`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{fail, Format, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::analysis::check;
use geecache_bench::harness::registry::{self, Threshold, LIMIT_FRACTION, P99_OVER_TWO_HOP};
use geecache_bench::harness::report;
use geecache_bench::table::TableStyle;

/// Flags of `check`.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// The result to compare against (results/baseline/ci.json in CI).
    #[arg(long, value_name = "RESULT.json")]
    pub baseline: PathBuf,
    /// The new result.
    #[arg(value_name = "RESULT.json")]
    pub result: PathBuf,
    /// Thresholds as JSON: {"figure": {"relative": R, "absolute": A}, ...},
    /// over the defaults.
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// How far throughput as a fraction of the loopback limit may fall, as a
    /// share of the baseline's [default 0.35].
    #[arg(long, value_name = "SHARE")]
    pub throughput_drop: Option<f64>,
    /// How far p99 over the two-hop server's p99 may rise, as a share of the
    /// baseline's [default 1.0: it may double].
    #[arg(long, value_name = "SHARE")]
    pub p99_rise: Option<f64>,
    /// Let these gated figures (registry keys, comma-separated) pass when
    /// the baseline has them and the new result does not; any other such
    /// figure fails the check.
    #[arg(long, value_name = "KEY,...", value_delimiter = ',')]
    pub allow_missing: Vec<String>,
    /// `table` for people, `json` for programs, `markdown` for a CI job
    /// summary (GitHub-flavoured tables).
    #[arg(long, value_name = "table|json|markdown", default_value = "table", value_parser = Format::parser(&[Format::Table, Format::Json, Format::Markdown]))]
    pub format: Format,
}

/// Runs the subcommand.
pub fn exec(args: CheckArgs) -> ExitCode {
    let baseline = match report::read(&args.baseline) {
        Ok(result) => result,
        Err(error) => return fail(EXIT_USAGE, format!("baseline: {error}")),
    };
    let result = match report::read(&args.result) {
        Ok(result) => result,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    if let Some(why) = check::incomparable(&baseline, &result) {
        return fail(EXIT_USAGE, why);
    }
    let mut thresholds = match &args.thresholds {
        Some(path) => match check::read_thresholds(path) {
            Ok(thresholds) => thresholds,
            Err(error) => return fail(EXIT_USAGE, error),
        },
        None => check::default_thresholds(),
    };
    for (figure, flag, share) in [
        (&LIMIT_FRACTION, "--throughput-drop", args.throughput_drop),
        (&P99_OVER_TWO_HOP, "--p99-rise", args.p99_rise),
    ] {
        if let Some(share) = share {
            if !(share.is_finite() && share >= 0.0) {
                return fail(EXIT_USAGE, format!("{flag}: {share} must be 0 or more"));
            }
            thresholds.insert(
                figure.key.to_owned(),
                Threshold {
                    relative: share,
                    absolute: 0.0,
                },
            );
        }
    }
    if let Some(unknown) = args
        .allow_missing
        .iter()
        .find(|key| registry::find(key).is_none())
    {
        let known: Vec<&str> = registry::FIGURES.iter().map(|figure| figure.key).collect();
        return fail(
            EXIT_USAGE,
            format!(
                "--allow-missing: no figure is called {unknown:?} (figures: {})",
                known.join(", ")
            ),
        );
    }
    let outcome = check::check(&baseline, &result, &thresholds, &args.allow_missing);
    if args.format == Format::Json {
        match serde_json::to_string_pretty(&outcome) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_FAILED, error),
        }
    } else {
        println!(
            "check {} against the baseline {}",
            args.result.display(),
            args.baseline.display()
        );
        if baseline.machine != result.machine {
            println!("note: the machines differ; timed figures are compared through each run's calibration");
        }
        let style = if args.format == Format::Markdown {
            TableStyle::Markdown
        } else {
            TableStyle::Aligned
        };
        print!("{}", check::table(&outcome, style));
        for (name, run) in [("the baseline", &baseline), ("the new run", &result)] {
            if let Some(note) = check::unsteady_note(name, run) {
                println!("{note}");
            }
        }
        if let Some(warning) = geecache_bench::analysis::differences::unfilled_results([
            ("the baseline".to_owned(), &baseline),
            ("the new run".to_owned(), &result),
        ]) {
            println!("{warning}");
        }
    }
    if outcome.fails() {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
