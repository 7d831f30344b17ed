//! `count-pass` (hidden): the child side of a run's counted pass. A run
//! with `--count` starts this program under callgrind and under strace
//! with a plan file; it runs the plan's sections between markers and
//! writes what it measured. See [`geecache_bench::harness::counted`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{fail, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::harness::counted::{self, PassPlan};
use geecache_bench::harness::report::write_bytes_atomically;

/// Flags of `count-pass`.
#[derive(Debug, Args, Clone)]
pub struct CountPassArgs {
    /// The plan the run wrote.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// Where to write what was measured.
    #[arg(value_name = "OUT.json")]
    pub out: PathBuf,
}

/// Runs the subcommand.
pub fn exec(args: CountPassArgs) -> ExitCode {
    let plan: PassPlan = match std::fs::read(&args.plan)
        .map_err(|error| error.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| error.to_string()))
    {
        Ok(plan) => plan,
        Err(error) => return fail(EXIT_USAGE, format!("{}: {error}", args.plan.display())),
    };
    // One thread runs every task: the order of their work, and so the
    // instructions and system calls of scheduling it, does not depend on
    // how the machine's other work interleaves two worker threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return fail(
                EXIT_FAILED,
                format!("cannot start the async runtime: {error}"),
            )
        }
    };
    let output = match runtime.block_on(counted::pass(&plan)) {
        Ok(output) => output,
        Err(error) => return fail(EXIT_FAILED, format!("counted pass: {error}")),
    };
    let written = serde_json::to_vec(&output)
        .map_err(|error| error.to_string())
        .and_then(|json| {
            write_bytes_atomically(&json, &args.out).map_err(|error| error.to_string())
        });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(EXIT_FAILED, format!("{}: {error}", args.out.display())),
    }
}
