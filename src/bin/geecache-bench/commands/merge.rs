//! `merge`: the results of drivers that drove one cluster at the same time,
//! made one. The merge itself is [`geecache_bench::analysis::merge`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{fail, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::analysis::merge;
use geecache_bench::harness::{report, summary};

/// Flags of `merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Results of `--target` runs of one workload against one cluster,
    /// made at the same time.
    #[arg(value_name = "RESULT.json", num_args = 2.., required = true)]
    pub results: Vec<PathBuf>,
    /// Where the merged result goes.
    #[arg(long, short = 'o', value_name = "FILE", required = true)]
    pub out: PathBuf,
}

/// Runs the subcommand.
pub fn exec(args: MergeArgs) -> ExitCode {
    let mut named = Vec::new();
    for path in &args.results {
        match report::read(path) {
            Ok(result) => named.push((path.display().to_string(), result)),
            Err(error) => return fail(EXIT_USAGE, error),
        }
    }
    for (name, result) in &named {
        if let Some(incomplete) = &result.incomplete {
            eprintln!(
                "warning: {name} is incomplete: it was {incomplete}; the merged result is marked \
                 incomplete too"
            );
        }
    }
    let merged = match merge::merge(&named) {
        Ok(merged) => merged,
        Err(error @ merge::MergeError::Refused(_)) => return fail(EXIT_USAGE, error),
        Err(error) => return fail(EXIT_FAILED, error),
    };
    if let Err(error) = report::write_atomically(&merged, &args.out) {
        return fail(EXIT_FAILED, error);
    }
    print!("{}", summary::summary(&merged, Some(&args.out)));
    if let Some(skew) = merged.start_skew_ms {
        println!(
            "start skew {skew} ms: the latest driver began measuring this long after the earliest"
        );
    }
    ExitCode::SUCCESS
}
