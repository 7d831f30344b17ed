//! The command line: `run` (the default), `serve`, `driver-check`, and what
//! each does with its flags. Exit status: 0 done, 1 the run failed (a port
//! in use, an unreachable target, every request failed, a result that could
//! not be written, failed requests with `--fail-on-errors`), 2 the command
//! line or the workload is invalid.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use std::time::{Duration, Instant};

use crate::bare;
use crate::check;
use crate::cluster::Faults;
use crate::compare;
use crate::driver::Control;
use crate::geecache::HashKind;
use crate::plot;
use crate::report::{self, RunResult};
use crate::ring_report;
use crate::run::{self, RunPlan};
use crate::serve::{self, ServeOptions, DEMO_API_PORT, DEMO_PEERS};
use crate::simulate;
use crate::sweep;
use crate::units::{align, compact_timestamp, ByteSize, Span};
use crate::workload::{self, Latency, Overrides};

/// Exit status for a command line or workload that cannot be used.
pub const EXIT_USAGE: u8 = 2;
/// Exit status for a run that failed.
pub const EXIT_FAILED: u8 = 1;

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
    Run(RunArgs),
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
    /// Run every combination of node counts, hashes, replicas and cache
    /// sizes on a fresh cluster each; write each result, a summary (JSON,
    /// CSV, and SVG charts) and print a row per configuration.
    Sweep(SweepArgs),
    /// Predict a run's counters (slow-store loads, peer loads, hits,
    /// evictions) from an in-memory model of the ring, the caches and the
    /// load path, for a grid of configurations in seconds; or, with
    /// --verify, check a result against the model.
    Simulate(SimulateArgs),
}

/// The grid of `sweep` and `simulate`: lists where a run takes one value;
/// every combination is run.
#[derive(Debug, Args, Clone)]
pub struct GridArgs {
    /// Node counts [default: the workload's].
    #[arg(long, value_name = "N,...", value_delimiter = ',')]
    pub nodes: Vec<u32>,
    /// Hashes [default: the workload's].
    #[arg(long, value_name = "crc32|xxh3,...", value_delimiter = ',')]
    pub hash: Vec<HashKind>,
    /// Replica counts [default: the workload's].
    #[arg(long, value_name = "N,...", value_delimiter = ',')]
    pub replicas: Vec<u32>,
    /// Cache sizes, such as 64KiB,1MiB,16MiB [default: the workload's].
    #[arg(long, value_name = "SIZE,...", value_delimiter = ',')]
    pub cache_bytes: Vec<ByteSize>,
}

impl GridArgs {
    fn grid(&self) -> sweep::Grid {
        sweep::Grid {
            nodes: self.nodes.clone(),
            hashes: self.hash.clone(),
            replicas: self.replicas.clone(),
            cache_bytes: self.cache_bytes.clone(),
        }
    }
}

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
    /// Measured requests [requests; a workload bounded by duration needs it].
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// Warm-up requests [warmup_requests].
    #[arg(long, value_name = "N")]
    pub warmup: Option<u64>,
    /// Seed of the key sequence [seed].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// `table` for people, `json` or `csv` for programs.
    #[arg(long, value_name = "table|json|csv", default_value = "table", value_parser = ["table", "json", "csv"])]
    pub format: String,
    /// Also write the predictions here, as JSON (or CSV for a .csv name).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Draw hit ratio and slow-store loads against cache size and replicas
    /// into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Instead of a grid: predict the run that wrote RESULT.json and list
    /// every counter that differs; exit 1 if any does.
    #[arg(long, value_name = "RESULT.json", conflicts_with_all = ["nodes", "hash", "replicas", "cache_bytes", "requests", "warmup", "seed", "singleflight", "hot_cache"])]
    pub verify: Option<PathBuf>,
}

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
    /// `table` for people, `json` for programs.
    #[arg(long, value_name = "table|json", default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

/// Flags of `compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// Result files; the first is the base the changes are measured from.
    #[arg(value_name = "RESULT.json", num_args = 2.., required = true)]
    pub results: Vec<PathBuf>,
    /// Also draw each result's latency percentile curve into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// `table` for people, `json` for programs.
    #[arg(long, value_name = "table|json", default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

/// Flags of `ring`.
#[derive(Debug, Args, Clone)]
pub struct RingArgs {
    /// Node counts, comma-separated; nodes are named as a run names them.
    #[arg(long, value_name = "N,...", value_delimiter = ',', default_value = "3")]
    pub nodes: Vec<usize>,
    /// Virtual nodes per node, comma-separated.
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        default_value = "1,10,50,200,1000"
    )]
    pub replicas: Vec<usize>,
    /// Hashes, comma-separated.
    #[arg(
        long,
        value_name = "crc32|xxh3,...",
        value_delimiter = ',',
        default_value = "crc32,xxh3"
    )]
    pub hash: Vec<HashKind>,
    /// Keys to place: key0 .. key{N-1}.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub keys: u64,
    /// Each node's shares under its ring's row.
    #[arg(long)]
    pub detail: bool,
    /// `table` for people, `json` for programs.
    #[arg(long, value_name = "table|json", default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

/// Flags of `driver-check`.
#[derive(Debug, Args, Clone)]
pub struct DriverCheckArgs {
    /// Connections (and requests in flight) for both load generators.
    #[arg(long, short = 'c', value_name = "N", default_value_t = 64)]
    pub concurrency: usize,
    /// How long each load generator runs.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub duration: Span,
    /// wrk's threads.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub wrk_threads: usize,
    /// The server's body size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub body_size: usize,
    /// Skip wrk even when it is installed.
    #[arg(long)]
    pub no_wrk: bool,
    /// Rounds of both tools, the order alternating, so that a slow spell of
    /// a shared machine does not decide the comparison; medians are
    /// compared.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub rounds: usize,
}

/// Flags of a run.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The workload: a path, or a name looked up in workloads/ (`zipf`,
    /// `zipf.json`), or one built into the program (zipf, uniform, hot-key, ci).
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// Nodes in the cluster, 1 to 64 [workload's cluster.nodes; default 3].
    #[arg(long, value_name = "N")]
    pub nodes: Option<u32>,
    /// The ring and the cache.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Merge concurrent loads of one key [cluster.singleflight; default on].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub singleflight: Option<bool>,
    /// Keep some values fetched from peers in a hot cache [cluster.hot_cache; default off].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub hot_cache: Option<bool>,
    /// The load and the store.
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// One request in flight, bounded by a request count: the cluster's
    /// counters are then the same in every run, and `simulate --verify`
    /// predicts them exactly.
    #[arg(long, conflicts_with_all = ["concurrency", "duration", "target"])]
    pub deterministic: bool,
    /// Write the result here instead of
    /// results/<workload>-<nodes>n-<replicas>r-<cache>-<timestamp>.json.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where results go when --out is not given.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    /// Start the nodes on this port and the ones after it instead of
    /// ephemeral ports.
    #[arg(long, value_name = "PORT")]
    pub base_port: Option<u16>,
    /// Drive this already running API (http://localhost:9999/api) instead of
    /// starting a cluster.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// With --target: the nodes whose /_stats give the cluster figures,
    /// comma-separated. Without it, cluster figures are marked absent.
    #[arg(
        long,
        value_name = "URL,...",
        value_delimiter = ',',
        requires = "target"
    )]
    pub peers: Vec<String>,
    /// Measure the loopback limit (a bare one-hop and a two-hop server,
    /// driven as the run is) for this long each before the run.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub calibrate: Span,
    /// Skip the calibration: the result then has no limit fraction, and
    /// `check` compares no timed figures.
    #[arg(long)]
    pub no_calibrate: bool,
    /// Add this delay to every request each node serves: a regression on
    /// purpose, to see `check` catch it.
    #[arg(long, value_name = "DURATION", hide = true)]
    pub inject_delay: Option<Span>,
    /// Keep nothing in any node's caches: a regression on purpose.
    #[arg(long, hide = true)]
    pub inject_cache_off: bool,
    /// No progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Exit with status 1 if any request failed.
    #[arg(long)]
    pub fail_on_errors: bool,
    /// More log output: -v info, -vv debug (shows every slow-store load).
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// How a run loads the cluster, in a run or each run of a sweep.
#[derive(Debug, Args, Clone)]
pub struct ShapeArgs {
    /// Measured requests; replaces the workload's duration [requests; default 100000].
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// How long to measure, such as 10s or 2m; replaces the workload's
    /// request count [duration].
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<Span>,
    /// Requests sent before measuring, not recorded [warmup_requests; default 0].
    #[arg(long, value_name = "N")]
    pub warmup: Option<u64>,
    /// Requests in flight (closed loop), or the most in flight with --rate
    /// [concurrency; default 64].
    #[arg(long, short = 'c', value_name = "N")]
    pub concurrency: Option<u32>,
    /// Open loop: send this many requests per second on schedule; latency
    /// counts from each intended send time [rate; default: closed loop].
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Seed of the key sequence [seed; default 42].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// The slow store's delay per load: none, a duration (200us, 1ms) or
    /// exp:MEAN [slowdb.latency; default 1ms].
    #[arg(long, value_name = "none|DURATION|exp:MEAN")]
    pub slowdb_latency: Option<Latency>,
}

impl ShapeArgs {
    /// These flags over a workload.
    fn overrides(&self) -> Overrides {
        Overrides {
            requests: self.requests,
            duration: self.duration,
            warmup_requests: self.warmup,
            concurrency: self.concurrency,
            rate: self.rate,
            seed: self.seed,
            slowdb_latency: self.slowdb_latency,
            ..Overrides::default()
        }
    }
}

/// Flags every node takes, in a run or in `serve`.
#[derive(Debug, Args, Clone)]
pub struct NodeArgs {
    /// Virtual nodes per node on the ring, 1 to 10000 [cluster.replicas; default 50].
    #[arg(long, value_name = "N")]
    pub replicas: Option<u32>,
    /// Each node's main cache: bytes or 64KiB, 16MiB, 1GiB; 0 is unbounded
    /// [cluster.cache_bytes; default 16MiB].
    #[arg(long, value_name = "SIZE")]
    pub cache_bytes: Option<ByteSize>,
    /// The ring's hash: crc32 (as the source document, Go-compatible
    /// placement) or xxh3 [cluster.hash; default crc32].
    #[arg(long, value_name = "crc32|xxh3")]
    pub hash: Option<HashKind>,
}

/// Flags of `serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// The node's port on 127.0.0.1.
    #[arg(long, value_name = "PORT", default_value_t = 8001)]
    pub port: u16,
    /// Every node's base URL, this one included, comma-separated
    /// [default: the source document's http://localhost:8001,8002,8003].
    #[arg(long, value_name = "URL,...", value_delimiter = ',')]
    pub peers: Vec<String>,
    /// Also serve /api (and /_stats) on this port of its own.
    #[arg(long, value_name = "PORT")]
    pub api_port: Option<u16>,
    /// Serve the API on port 9999, as the source document's -api flag does.
    #[arg(long, conflicts_with = "api_port")]
    pub api: bool,
    /// The workload whose key space, values, slow-store latency and cluster
    /// settings the node uses.
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// The ring and the cache.
    #[command(flatten)]
    pub node: NodeArgs,
    /// More log output: -v info (the default for serve), -vv debug (every
    /// slow-store search, as the source document logs them).
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_switch(text: &str) -> Result<bool, String> {
    match text {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        other => Err(format!("{other:?} is not a switch: use on or off")),
    }
}

impl RunArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            nodes: self.nodes,
            replicas: self.node.replicas,
            cache_bytes: self.node.cache_bytes,
            hash: self.node.hash,
            singleflight: self.singleflight,
            hot_cache: self.hot_cache,
            concurrency: if self.deterministic {
                Some(1)
            } else {
                self.shape.concurrency
            },
            ..self.shape.overrides()
        }
    }
}

/// Parses the command line and does what it says.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve_command(args),
        Some(Command::Run(args)) => run_command(args),
        Some(Command::DriverCheck(args)) => driver_check_command(args),
        Some(Command::Ring(args)) => ring_command(args),
        Some(Command::Compare(args)) => compare_command(args),
        Some(Command::Check(args)) => check_command(args),
        Some(Command::Sweep(args)) => sweep_command(args),
        Some(Command::Simulate(args)) => simulate_command(args),
        None => run_command(cli.run),
    }
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            fail(
                EXIT_FAILED,
                format!("cannot start the async runtime: {error}"),
            )
        })
}

/// Loads the workload `spec` names and applies the flags to it; a usage
/// error's exit status otherwise.
fn load_workload(spec: &str, overrides: &Overrides) -> Result<workload::Loaded, ExitCode> {
    let mut loaded = workload::load(spec).map_err(|error| fail(EXIT_USAGE, error))?;
    loaded
        .workload
        .apply(overrides, &loaded.source)
        .map_err(|error| fail(EXIT_USAGE, error))?;
    Ok(loaded)
}

fn run_command(args: RunArgs) -> ExitCode {
    init_logging(args.verbose, log::LevelFilter::Warn);
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; its figures are not representative. Use `cargo run --release`."
        );
    }
    let loaded = match load_workload(&args.workload, &args.overrides()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let workload = loaded.workload;
    if args.deterministic && workload.requests.is_none() && workload.duration.is_some() {
        return fail(
            EXIT_USAGE,
            "--deterministic: the workload is bounded by a duration; give --requests",
        );
    }
    let plan = RunPlan {
        workload,
        source: loaded.source,
        target: args.target.clone(),
        peers: args.peers.clone(),
        base_port: args.base_port,
        progress: !args.no_progress,
        calibrate: if args.no_calibrate {
            run::Calibrate::Skip
        } else {
            run::Calibrate::Measure(args.calibrate.0)
        },
        faults: Faults {
            delay: args.inject_delay,
            cache_off: args.inject_cache_off,
        },
    };
    if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&args.calibrate.0) {
        return fail(EXIT_USAGE, "--calibrate: allowed 100ms to 10m");
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let control = Arc::new(Control::default());
    let outcome = runtime.block_on(async {
        let stopper = Arc::clone(&control);
        let interrupt = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "interrupted: finishing the requests in flight and writing what was measured"
                );
                stopper
                    .stop
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let outcome = run::run(&plan, &control).await;
        interrupt.abort();
        outcome
    });
    let result = match outcome {
        Ok(result) => result,
        Err(error @ run::RunError::Url(_)) => return fail(EXIT_USAGE, error),
        Err(error) => return fail(EXIT_FAILED, error),
    };
    finish_run(&args, &result)
}

/// Writes the result and prints the summary; the summary is printed even
/// when the file cannot be written, so nothing measured is lost.
fn finish_run(args: &RunArgs, result: &RunResult) -> ExitCode {
    let written = match &args.out {
        Some(path) => report::write_atomically(result, path).map(|()| path.clone()),
        None => {
            let timestamp = compact_timestamp(std::time::SystemTime::now());
            report::write_in(result, &args.results_dir, &timestamp)
        }
    };
    match written {
        Ok(path) => {
            print!("{}", report::summary(result, Some(&path)));
            let client = &result.client;
            if client.requests > 0 && client.errors.total == client.requests {
                return fail(
                    EXIT_FAILED,
                    format!("every one of the {} requests failed", client.requests),
                );
            }
            if args.fail_on_errors && result.client.errors.total > 0 {
                return fail(
                    EXIT_FAILED,
                    format!("{} requests failed", result.client.errors.total),
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            print!("{}", report::summary(result, None));
            match serde_json::to_string(result) {
                Ok(json) => println!("{json}"),
                Err(json_error) => {
                    eprintln!("error: the result cannot be printed either: {json_error}")
                }
            }
            fail(
                EXIT_FAILED,
                format!("cannot write the result ({error}); it is printed above instead"),
            )
        }
    }
}

fn driver_check_command(args: DriverCheckArgs) -> ExitCode {
    init_logging(0, log::LevelFilter::Warn);
    if !(1..=10_000).contains(&args.concurrency) {
        return fail(EXIT_USAGE, "--concurrency: allowed 1 to 10000");
    }
    if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&args.duration.0) {
        return fail(EXIT_USAGE, "--duration: allowed 100ms to 1h");
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    if !(1..=20).contains(&args.rounds) {
        return fail(EXIT_USAGE, "--rounds: allowed 1 to 20");
    }
    let outcome: Result<Vec<ToolRound>, String> =
        runtime.block_on(async { driver_check_rounds(&args).await });
    let rows = match outcome {
        Ok(rows) => rows,
        Err(error) => return fail(EXIT_FAILED, error),
    };
    let mut table = vec![[
        "round",
        "tool",
        "requests",
        "req/s",
        "p50 us",
        "p99 us",
        "errors",
        "cpu us/req here",
    ]
    .map(str::to_owned)];
    for row in &rows {
        let figures = &row.figures;
        table.push([
            row.round.to_string(),
            figures.tool.clone(),
            figures.requests.to_string(),
            format!("{:.0}", figures.throughput_rps),
            format!("{:.0}", figures.p50_us),
            format!("{:.0}", figures.p99_us),
            figures.errors.to_string(),
            row.cpu_per_request
                .map_or("-".to_owned(), |cpu| format!("{cpu:.2}")),
        ]);
    }
    print!("{}", align(&table, |column| column == 1));
    println!(
        "(cpu us/req here: this process's CPU time per request while the tool ran: \
         the driver and the server, or the server alone while wrk drove it)"
    );
    let median_of = |driver: bool, value: fn(&ToolRound) -> Option<f64>| {
        let mut values: Vec<f64> = rows
            .iter()
            .filter(|row| (row.figures.tool == bare::DRIVER_TOOL) == driver)
            .filter_map(value)
            .collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied()
    };
    let throughput = |row: &ToolRound| Some(row.figures.throughput_rps);
    let cpu = |row: &ToolRound| row.cpu_per_request;
    if let Some((before, after)) = rows.iter().find_map(|row| row.memory) {
        println!(
            "driver memory: resident {} before its first round, {} after it",
            ByteSize(before).human(),
            ByteSize(after).human()
        );
    }
    if let (Some(driver), Some(wrk)) = (median_of(true, throughput), median_of(false, throughput)) {
        println!(
            "median throughput: driver {driver:.0} req/s, wrk -t{} {wrk:.0} req/s: \
             driver / wrk = {:.2}x",
            args.wrk_threads,
            driver / wrk
        );
        if let (Some(driver_cpu), Some(wrk_cpu)) = (median_of(true, cpu), median_of(false, cpu)) {
            println!(
                "driver overhead: {:.2} us of CPU per request (median {driver_cpu:.2} with the \
                 driver minus {wrk_cpu:.2} for the server alone)",
                driver_cpu - wrk_cpu
            );
        }
    }
    ExitCode::SUCCESS
}

/// One tool's round of `driver-check`.
struct ToolRound {
    round: usize,
    figures: bare::LoadFigures,
    /// This process's CPU time per request while the tool ran.
    cpu_per_request: Option<f64>,
    /// The process's resident memory before and after the driver's first
    /// round.
    memory: Option<(u64, u64)>,
}

async fn driver_check_rounds(args: &DriverCheckArgs) -> Result<Vec<ToolRound>, String> {
    let server = bare::BareServer::one_hop(args.body_size)
        .await
        .map_err(|error| format!("cannot start the reference server: {error}"))?;
    let url = server.url();
    println!(
        "driver check: one-hop server at {url} ({} B body), {} connections, {} per tool, {} rounds",
        args.body_size, args.concurrency, args.duration, args.rounds
    );
    let mut rows = Vec::new();
    let mut wrk_missing = args.no_wrk;
    let memory_before = bare::resident_bytes();
    for round in 1..=args.rounds {
        // Alternate which tool goes first.
        let order = if round % 2 == 1 {
            [true, false]
        } else {
            [false, true]
        };
        for driver in order {
            let cpu = bare::process_cpu();
            let figures = if driver {
                bare::drive(&url, args.concurrency, args.duration.0).await?
            } else if wrk_missing {
                continue;
            } else {
                let target = format!("{url}/api?key=key1");
                let (threads, connections, duration) =
                    (args.wrk_threads, args.concurrency, args.duration.0);
                let measured = tokio::task::spawn_blocking(move || {
                    bare::wrk(&target, threads, connections, duration)
                })
                .await
                .map_err(|error| error.to_string())?;
                match measured {
                    Some(figures) => figures?,
                    None => {
                        eprintln!(
                            "wrk is not installed: only the driver was measured (apt-get install wrk)"
                        );
                        wrk_missing = true;
                        continue;
                    }
                }
            };
            // Later rounds start new drivers, whose memory the allocator may
            // keep from earlier ones: the first round shows the driver's own.
            let memory = (driver && round == 1)
                .then(|| memory_before.zip(bare::resident_bytes()))
                .flatten();
            rows.push(ToolRound {
                round,
                cpu_per_request: bare::cpu_per_request(cpu, figures.requests),
                figures,
                memory,
            });
        }
    }
    server.shutdown().await;
    Ok(rows)
}

fn compare_command(args: CompareArgs) -> ExitCode {
    let mut named = Vec::new();
    for path in &args.results {
        match report::read(path) {
            Ok(result) => named.push((path.display().to_string(), result)),
            Err(error) => return fail(EXIT_USAGE, error),
        }
    }
    let comparison = compare::compare(&named);
    if args.format == "json" {
        match serde_json::to_string_pretty(&comparison) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_FAILED, error),
        }
    } else {
        print!("{}", compare::table(&comparison));
    }
    if let Some(path) = &args.plot {
        let curves: Vec<plot::Series> = named
            .iter()
            .enumerate()
            .filter_map(|(index, (path, result))| {
                let stem = std::path::Path::new(path)
                    .file_stem()
                    .map_or(path.clone(), |stem| stem.to_string_lossy().into_owned());
                plot::result_latency(&format!("{}: {stem}", compare::column_name(index)), result)
            })
            .collect();
        let svg = plot::render(&[plot::latency_panel("latency percentiles", curves)]);
        if let Err(error) = report::write_bytes_atomically(svg.as_bytes(), path) {
            return fail(EXIT_FAILED, error);
        }
        eprintln!("plot: {}", path.display());
    }
    ExitCode::SUCCESS
}

fn check_command(args: CheckArgs) -> ExitCode {
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
    for (key, flag, share) in [
        ("limit_fraction", "--throughput-drop", args.throughput_drop),
        ("p99_over_two_hop", "--p99-rise", args.p99_rise),
    ] {
        if let Some(share) = share {
            if !(share.is_finite() && share >= 0.0) {
                return fail(EXIT_USAGE, format!("{flag}: {share} must be 0 or more"));
            }
            thresholds.insert(
                key.to_owned(),
                check::Threshold {
                    relative: share,
                    absolute: 0.0,
                },
            );
        }
    }
    let outcome = check::check(&baseline, &result, &thresholds);
    if args.format == "json" {
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
        print!("{}", check::table(&outcome));
        for (name, run) in [("the baseline", &baseline), ("the new run", &result)] {
            if let Some(steadiness) = report::Steadiness::of(&run.series).filter(|s| s.unsteady()) {
                println!(
                    "note: {name} was unsteady (throughput {:.0}-{:.0} req/s between seconds, \
                     median {:.0}): its timed figures are doubtful",
                    steadiness.min_rps, steadiness.max_rps, steadiness.median_rps
                );
            }
        }
    }
    if outcome.regressions > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn sweep_command(args: SweepArgs) -> ExitCode {
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
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let control = Arc::new(Control::default());
    let outcome = runtime.block_on(async {
        let stopper = Arc::clone(&control);
        let interrupt = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing this run and writing the sweep so far");
                stopper
                    .stop
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let outcome = sweep::sweep(&plan, &grid, &control, |at, count, point| {
            eprintln!("[{}/{count}] {point}", at + 1);
        })
        .await;
        interrupt.abort();
        outcome
    });
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

fn simulate_command(args: SimulateArgs) -> ExitCode {
    if let Some(path) = &args.verify {
        return verify_command(path, &args.format);
    }
    let overrides = Overrides {
        requests: args.requests,
        warmup_requests: args.warmup,
        seed: args.seed,
        singleflight: args.singleflight,
        hot_cache: args.hot_cache,
        ..Overrides::default()
    };
    let loaded = match load_workload(&args.workload, &overrides) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let workload = loaded.workload;
    let grid = args.grid.grid();
    // Every point must be a valid workload, as for a sweep.
    for point in grid.points(&workload) {
        let mut check = workload.clone();
        if let Err(error) = check.apply(&point.overrides(), &loaded.source) {
            return fail(EXIT_USAGE, error);
        }
    }
    let started = Instant::now();
    let predictions = match simulate::simulate(&workload, &grid) {
        Ok(predictions) => predictions,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let elapsed = started.elapsed();
    let as_json = || serde_json::to_string_pretty(&predictions).unwrap_or_default() + "\n";
    match args.format.as_str() {
        "json" => print!("{}", as_json()),
        "csv" => print!("{}", simulate::csv(&predictions)),
        _ => {
            print!("{}", simulate::table(&predictions));
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

fn verify_command(path: &std::path::Path, format: &str) -> ExitCode {
    let result = match report::read(path) {
        Ok(result) => result,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let verification = match simulate::verify(&result) {
        Ok(verification) => verification,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    if format == "json" {
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

fn ring_command(args: RingArgs) -> ExitCode {
    if let Some(&nodes) = args
        .nodes
        .iter()
        .find(|&&nodes| !(1..=1000).contains(&nodes))
    {
        return fail(
            EXIT_USAGE,
            format!("--nodes: {nodes} is out of range: allowed 1 to 1000"),
        );
    }
    if let Some(&replicas) = args
        .replicas
        .iter()
        .find(|&&replicas| !(1..=100_000).contains(&replicas))
    {
        return fail(
            EXIT_USAGE,
            format!("--replicas: {replicas} is out of range: allowed 1 to 100000"),
        );
    }
    if args.keys > 100_000_000 {
        return fail(EXIT_USAGE, "--keys: allowed 0 to 100000000");
    }
    let reports = ring_report::analyse_grid(&args.nodes, &args.replicas, &args.hash, args.keys);
    if args.format == "json" {
        match serde_json::to_string_pretty(&reports) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_FAILED, error),
        }
    } else {
        print!("{}", ring_report::table(&reports, args.detail));
    }
    ExitCode::SUCCESS
}

fn serve_command(args: ServeArgs) -> ExitCode {
    init_logging(args.verbose.max(1), log::LevelFilter::Info);
    let overrides = Overrides {
        replicas: args.node.replicas,
        cache_bytes: args.node.cache_bytes,
        hash: args.node.hash,
        ..Overrides::default()
    };
    let loaded = match load_workload(&args.workload, &overrides) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let workload = loaded.workload;
    let peers = if args.peers.is_empty() {
        DEMO_PEERS.iter().map(|peer| peer.to_string()).collect()
    } else {
        args.peers
    };
    let options = ServeOptions {
        port: args.port,
        peers,
        api_port: if args.api {
            Some(DEMO_API_PORT)
        } else {
            args.api_port
        },
        workload,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let outcome = runtime.block_on(serve::serve(
        options,
        |node, url| {
            println!("geecache is running at {url}");
            if let Some(api) = node.api_addr() {
                println!("api server is running at http://{api}/api");
            }
        },
        shutdown_signal(),
    ));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error @ serve::ServeError::Node(_)) => fail(EXIT_FAILED, error),
        Err(error) => fail(EXIT_USAGE, error),
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A logger to stderr: `[level] message`, at `base` raised by `-v`s.
fn init_logging(verbose: u8, base: log::LevelFilter) {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.level() <= log::max_level()
        }
        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                eprintln!("[{}] {}", record.level(), record.args());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    let level = match (base, verbose) {
        (level, 0) => level,
        (log::LevelFilter::Warn, 1) | (log::LevelFilter::Info, 1) => log::LevelFilter::Info,
        _ => log::LevelFilter::Debug,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
