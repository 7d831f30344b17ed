//! `merge`: the results of drivers that drove one cluster at the same time,
//! made one. The merge itself is [`geecache_bench::analysis::merge`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{fail, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::analysis::merge;
use geecache_bench::harness::{report, summary};

/// Flags of `merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Results of `--target` runs of one workload against one cluster,
    /// made at the same time; a directory stands for the `.json` files in
    /// it (the shards a Job's drivers wrote there), --out excepted.
    #[arg(value_name = "RESULT.json|DIR", num_args = 1.., required = true)]
    pub results: Vec<PathBuf>,
    /// Where the merged result goes.
    #[arg(long, short = 'o', value_name = "FILE", required = true)]
    pub out: PathBuf,
}

/// Runs the subcommand.
pub fn exec(args: MergeArgs) -> ExitCode {
    let paths = match expand(&args.results, &args.out) {
        Ok(paths) => paths,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let mut named = Vec::new();
    for path in &paths {
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

/// `paths` with each directory replaced by the `.json` files in it, in
/// name order, leaving out `out` and hidden files (a write's temporary
/// file); at least two results, or why not.
fn expand(paths: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, String> {
    let mut all = Vec::new();
    for path in paths {
        if !path.is_dir() {
            all.push(path.clone());
            continue;
        }
        let entries =
            std::fs::read_dir(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|file| {
                let name = file
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned());
                name.is_some_and(|name| name.ends_with(".json") && !name.starts_with('.'))
                    && !same_file(file, out)
            })
            .collect();
        found.sort();
        all.extend(found);
    }
    if all.len() < 2 {
        return Err(format!(
            "merge needs two results or more; {} given ({})",
            all.len(),
            paths
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(all)
}

/// Whether `a` and `b` name one file (the output may not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
