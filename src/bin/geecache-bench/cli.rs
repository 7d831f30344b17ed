//! The command line's top level: the subcommands and the dispatch. Each
//! subcommand's flags and body are in its own file of [`crate::commands`].
//! Exit status: 0 done, 1 the run failed (a port in use, an unreachable
//! target, every request failed, a result that could not be written, failed
//! requests with `--fail-on-errors`, a regression found by `check`), 2 the
//! command line or the workload is invalid.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::commands::{
    advise::AdviseArgs, capacity::CapacityArgs, check::CheckArgs, compare::CompareArgs,
    count_pass::CountPassArgs, driver_check::DriverCheckArgs, export::ExportArgs, merge::MergeArgs,
    mrc::MrcArgs, ring::RingArgs, run::RunArgs, serve::ServeArgs, simulate::SimulateArgs,
    sweep::SweepArgs,
};

/// Starts a GeeCache cluster on 127.0.0.1, drives a key workload at its API
/// node and writes what it measured to a JSON file in results/.
///
/// Flags override the workload file's values; where a flag is not given, the
/// workload's value holds. In brackets: the workload field a flag overrides,
/// and its default when the file leaves it out.
#[derive(Debug, Parser)]
#[command(
    name = "geecache-bench",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; `run` when none is given.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The run's flags, when no subcommand is given.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a cluster (or drive --target), run the workload, write the
    /// result. The default command.
    Run(Box<RunArgs>),
    /// Run one GeeCache node as its own process, with the same `scores`
    /// group and slow store as a run. Three make the source document's
    /// cluster: `serve --port 8001`, `serve --port 8002`,
    /// `serve --port 8003 --api`. Stops on Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Measure the driver against a bare in-process server that answers a
    /// fixed body, next to `wrk` at the same concurrency on the same server
    /// (when wrk is installed), to show the driver is not the bottleneck.
    DriverCheck(DriverCheckArgs),
    /// How evenly rings spread the hash space and a key space over their
    /// nodes, computed from the ring alone (no load, no servers).
    Ring(RingArgs),
    /// Results side by side: what differs in their configurations, and each
    /// headline figure with its change against the first.
    Compare(CompareArgs),
    /// Check a result against a baseline and exit 1 when a figure regressed
    /// past its threshold: counted figures tightly, timed ones through each
    /// run's own calibration. For CI.
    Check(CheckArgs),
    /// Merge the results of drivers that drove one cluster at the same time
    /// (one per host): counts summed, histograms added, series aligned by
    /// wall-clock interval, cluster figures over the union of their spans.
    Merge(MergeArgs),
    /// Write a result's figures in other tools' formats: `--hgrm` for the
    /// percentile distribution wrk2 prints and HdrHistogram's plotter reads.
    Export(ExportArgs),
    /// Run every combination of node counts, hashes, replicas and cache
    /// sizes on a fresh cluster each; write each result, a summary (JSON,
    /// CSV, and SVG charts) and print a row per configuration.
    Sweep(SweepArgs),
    /// Predict a run's counters (slow-store loads, peer loads, hits,
    /// evictions) from an in-memory model of the ring, the caches and the
    /// load path, for a grid of configurations in seconds; or, with
    /// --verify, check a result against the model.
    Simulate(SimulateArgs),
    /// The miss-ratio curve of every node's main cache and of the cluster:
    /// slow-store loads at every per-node cache size, from one pass over
    /// the workload's or a trace's keys (LRU stack distances in bytes).
    Mrc(MrcArgs),
    /// The smallest per-node cache that meets a goal (--hit-ratio,
    /// --byte-hit-ratio, --loads-per-second), from the miss-ratio curve,
    /// and the fewest replicas that meet a ring goal (--imbalance,
    /// --moved-on-join), each with its evidence; --verify runs the advised
    /// configuration and reports how close it landed.
    Advise(AdviseArgs),
    /// The highest open-loop rate each configuration holds within a
    /// latency objective (--slo p99<=5ms, from each intended send): rates
    /// stepped up geometrically, then bisected between the last that held
    /// and the first that failed; prints every step, the capacity with its
    /// interval over trials, the knee and which configuration holds the
    /// most.
    Capacity(Box<CapacityArgs>),
    /// The child of a run's counted pass (`--count`), under callgrind or
    /// strace.
    #[command(hide = true)]
    CountPass(CountPassArgs),
}

/// Parses the command line and does what it says.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => commands::serve::exec(args),
        Some(Command::Run(args)) => commands::run::exec(*args),
        Some(Command::DriverCheck(args)) => commands::driver_check::exec(args),
        Some(Command::Ring(args)) => commands::ring::exec(args),
        Some(Command::Compare(args)) => commands::compare::exec(args),
        Some(Command::Check(args)) => commands::check::exec(args),
        Some(Command::Merge(args)) => commands::merge::exec(args),
        Some(Command::Export(args)) => commands::export::exec(args),
        Some(Command::Sweep(args)) => commands::sweep::exec(args),
        Some(Command::Simulate(args)) => commands::simulate::exec(args),
        Some(Command::Mrc(args)) => commands::mrc::exec(args),
        Some(Command::Advise(args)) => commands::advise::exec(args),
        Some(Command::Capacity(args)) => commands::capacity::exec(*args),
        Some(Command::CountPass(args)) => commands::count_pass::exec(args),
        None => commands::run::exec(cli.run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use geecache_bench::geecache::HashKind;
    use geecache_bench::units::ByteSize;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_is_the_default_command() {
        let cli = Cli::try_parse_from([
            "geecache-bench",
            "--nodes",
            "3",
            "--workload",
            "workloads/zipf.json",
            "--cache-bytes",
            "64KiB",
            "--singleflight",
            "off",
            "--hash",
            "xxh3",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.run.nodes, Some(3));
        assert_eq!(cli.run.node.cache_bytes, Some(ByteSize(64 << 10)));
        assert_eq!(cli.run.singleflight, Some(false));
        assert_eq!(cli.run.node.hash, Some(HashKind::Xxh3));
        let cli = Cli::try_parse_from(["geecache-bench", "run", "--duration", "10s"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Run(args)) if args.shape.duration.is_some()));
    }

    #[test]
    fn bad_flag_values_are_refused_with_the_flag_named() {
        for (flag, value) in [
            ("--singleflight", "maybe"),
            ("--cache-bytes", "16 furlongs"),
            ("--hash", "md5"),
            ("--duration", "10"),
            ("--nodes", "three"),
        ] {
            let error = Cli::try_parse_from(["geecache-bench", flag, value]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{flag} {value}");
            assert!(error.to_string().contains(flag), "{flag}: {error}");
        }
        let error = Cli::try_parse_from(["geecache-bench", "--requests", "5", "--duration", "1s"])
            .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        let error =
            Cli::try_parse_from(["geecache-bench", "--peers", "http://localhost:1"]).unwrap_err();
        assert!(error.to_string().contains("--target"), "{error}");
    }

    #[test]
    fn serve_defaults_to_the_source_documents_first_node() {
        let cli = Cli::try_parse_from(["geecache-bench", "serve", "--api"]).unwrap();
        let Some(Command::Serve(args)) = cli.command else {
            panic!("not serve");
        };
        assert_eq!(args.port, 8001);
        assert!(args.api);
        assert!(args.peers.is_empty());
    }
}
