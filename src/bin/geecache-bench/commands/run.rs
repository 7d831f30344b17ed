//! `run`, the default command: start a cluster (or drive `--target`), run
//! the workload, write the result and print the summary. The run itself is
//! [`geecache_bench::harness::run`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Args;

use super::{
    check_outputs, fail, init_logging, load_with_trace, parse_switch, result_flag,
    until_interrupted, NodeArgs, ShapeArgs, TargetArgs, EXIT_FAILED, EXIT_USAGE,
};
use geecache_bench::analysis::plot;
use geecache_bench::harness::cluster::Faults;
use geecache_bench::harness::counted::{self, PassPlan};
use geecache_bench::harness::live::screen::{self, Screen};
use geecache_bench::harness::live::{LiveFeed, Stage};
use geecache_bench::harness::report::{self, RunResult};
use geecache_bench::harness::run::{self, RunPlan};
use geecache_bench::harness::shard::Shard;
use geecache_bench::harness::summary;
use geecache_bench::harness::trace::TraceIndex;
use geecache_bench::harness::trials;
use geecache_bench::harness::workload::{Loaded, Overrides, Workload};
use geecache_bench::units::{compact_timestamp, parse_moment, Span};

/// Flags of a run.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The workload: a path, or a name looked up in workloads/ (`zipf`,
    /// `zipf.json`), or one built into the program (zipf, uniform, hot-key, ci, and the
    /// scenarios node-failure, scale-out, scale-in, brownout, hot-shift, broken-peers).
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// Nodes in the cluster, 1 to 64 [workload's cluster.nodes; default 3].
    #[arg(long, value_name = "N")]
    pub nodes: Option<u32>,
    /// The ring and the cache.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Where peer requests live on the cluster's nodes: /_geecache/ as the
    /// upstream repository's later days [cluster.base_path; default
    /// /geecache/].
    #[arg(long, value_name = "PATH")]
    pub base_path: Option<String>,
    /// Merge concurrent loads of one key [cluster.singleflight; default on].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub singleflight: Option<bool>,
    /// Keep some values fetched from peers in a hot cache [cluster.hot_cache; default off].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub hot_cache: Option<bool>,
    /// Say in each API answer where its value came from (X-GeeCache-Source),
    /// which the latency by source needs [cluster.source_header; default
    /// off; ci.json turns it on].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub source_header: Option<bool>,
    /// The load and the store.
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// One request in flight, bounded by a request count: the cluster's
    /// counters are then the same in every run, and `simulate --verify`
    /// predicts them exactly.
    #[arg(long, conflicts_with_all = ["concurrency", "duration", "target"])]
    pub deterministic: bool,
    /// Run the configuration this many times, each trial on a fresh
    /// cluster with its own warm-up and calibration; the result keeps every
    /// trial, and its timed figures become medians with intervals that
    /// state their confidence (3 trials or more; 95% from 6).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Write the result here instead of
    /// results/<workload>-<nodes>n-<replicas>r-<cache>-<timestamp>.json.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where results go when --out is not given.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub results_dir: PathBuf,
    /// Write the result only at the end. By default the result so far is
    /// rewritten (atomically, marked incomplete) as each interval becomes
    /// whole, so that a driver killed mid-run leaves what it measured.
    #[arg(long)]
    pub no_checkpoints: bool,
    /// Start the nodes on this port and the ones after it instead of
    /// ephemeral ports.
    #[arg(long, value_name = "PORT")]
    pub base_port: Option<u16>,
    /// Another cluster to drive instead of starting one.
    #[command(flatten)]
    pub remote: TargetArgs,
    /// Be shard I of N drivers that together do the workload's work (I
    /// from 0, as $JOB_COMPLETION_INDEX): requests, warm-up, connections
    /// and rate split, each request with the key and send time it has in
    /// the one-driver run. Needs --target; `merge` joins the shards.
    #[arg(long, value_name = "I/N", requires = "target")]
    pub shard: Option<Shard>,
    /// Finish the warm-up, then begin measuring at this moment (RFC 3339,
    /// 2026-12-02T18:30:00Z, or Unix seconds): drivers given one moment
    /// measure together. A driver that arrives late begins at once, says
    /// so and records by how much.
    #[arg(long, value_name = "TIME", conflicts_with = "start_after", value_parser = parse_moment)]
    pub start_at: Option<SystemTime>,
    /// Begin measuring this long after --start-reference (by default, after
    /// this driver started).
    #[arg(long, value_name = "DURATION")]
    pub start_after: Option<Span>,
    /// The moment --start-after counts from, one every driver is given
    /// (RFC 3339 or Unix seconds).
    #[arg(long, value_name = "TIME", requires = "start_after", value_parser = parse_moment)]
    pub start_reference: Option<SystemTime>,
    /// Measure the loopback limit (a bare one-hop and a two-hop server,
    /// driven as the run is) for this long each before the run.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub calibrate: Span,
    /// Skip the calibration: the result then has no limit fraction, and
    /// `check` compares no timed figures.
    #[arg(long)]
    pub no_calibrate: bool,
    /// After the trials, count instructions (valgrind's callgrind) and
    /// system calls (strace) per request over a deterministic pass of the
    /// workload (one request in flight, --count-requests measured, no
    /// events), and over the bare one-hop and two-hop servers the same way:
    /// costs that no machine's speed or load moves, for `check`. Needs
    /// valgrind and strace.
    #[arg(long, conflicts_with = "target")]
    pub count: bool,
    /// With --count: also profile the counted pass by function (callgrind
    /// twice more, once inside the servers' connection tasks, once inside
    /// the driver's request tasks) and print where the instructions go,
    /// grouped (HTTP, cache lookup, ring, allocation, copies, clock, the
    /// runtime, ...) against the bare servers'; the result keeps it under
    /// counted.profile.
    #[arg(long, requires = "count")]
    pub profile: bool,
    /// Measured requests of each section of the counted pass.
    #[arg(long, value_name = "N", default_value_t = counted::DEFAULT_REQUESTS, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub count_requests: u64,
    /// Add this delay to every request each node serves: a regression on
    /// purpose, to see `check` catch it.
    #[arg(long, value_name = "DURATION", hide = true)]
    pub inject_delay: Option<Span>,
    /// Add this many units of pure CPU work (about 70 instructions each)
    /// to every request each node serves: a regression as fine as wanted,
    /// to measure what `check` can see.
    #[arg(long, value_name = "N", hide = true)]
    pub inject_cpu: Option<u64>,
    /// Keep nothing in any node's caches: a regression on purpose.
    #[arg(long, hide = true)]
    pub inject_cache_off: bool,
    /// No live view and no progress bar (both are off anyway when the
    /// output is not a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// No live view: a progress bar on stderr instead. The live view fills
    /// the terminal while the run goes (where stdout and stderr are
    /// terminals); `q` or Ctrl-C stops the run and keeps what it measured.
    #[arg(long)]
    pub no_tui: bool,
    /// Exit with status 1 if any request failed.
    #[arg(long)]
    pub fail_on_errors: bool,
    /// Also print the series: a row per interval with the driver's and the
    /// cluster's figures.
    #[arg(long)]
    pub series: bool,
    /// Draw the series into this SVG file: throughput, p99, the API hit
    /// ratio and slow-store loads per second over time, one panel each,
    /// with each event marked.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Also write the result as one self-contained HTML page: the summary,
    /// its charts, the nodes, the events, the configuration and the machine.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Also write the latency histogram as the percentile distribution text
    /// wrk2 prints and HdrHistogram's plotter reads (milliseconds).
    #[arg(long, value_name = "FILE.hgrm")]
    pub hgrm: Option<PathBuf>,
    /// More log output: -v info, -vv debug (shows every slow-store load).
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
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
            source_header: self.source_header,
            base_path: self.base_path.clone(),
            concurrency: if self.deterministic {
                Some(1)
            } else {
                self.shape.concurrency
            },
            ..self.shape.overrides()
        }
    }
}

/// Runs the subcommand: the workload, the flags' checks, the plan, the
/// trials, the counted pass, and the result written and summarised.
pub fn exec(args: RunArgs) -> ExitCode {
    init_logging(args.verbose, log::LevelFilter::Warn);
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; its figures are not representative. Use `cargo run --release`."
        );
    }
    let (loaded, trace) = match load_with_trace(&args.workload, &args.overrides()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if let Err(code) = check_flags(&args, &loaded.workload) {
        return code;
    }
    // Where the result goes, known before the run for its checkpoints.
    let path = args.out.clone().unwrap_or_else(|| {
        report::path_for_run(
            &args.results_dir,
            &loaded.workload,
            args.remote
                .target
                .is_some()
                .then_some(args.remote.peers.len()),
            &compact_timestamp(SystemTime::now()),
        )
    });
    let plan = run_plan(&args, loaded, trace, &path);
    // A missing tool stops the run before its trials.
    let tools = match args.count.then(counted::tools).transpose() {
        Ok(tools) => tools,
        Err(error) => return fail(EXIT_FAILED, format!("--count: {error}")),
    };
    // What cannot be written is found now, not after the run.
    let out_flag = result_flag(args.out.is_some());
    if let Err(code) = check_outputs([
        (out_flag, Some(path.as_path())),
        ("--hgrm", args.hgrm.as_deref()),
        ("--plot", args.plot.as_deref()),
        ("--html", args.html.as_deref()),
    ]) {
        return code;
    }
    let (trials, screen) = match measure(&plan, args.repeat) {
        Ok(outcome) => outcome,
        Err(code) => return code,
    };
    // The view stays up through the counted pass; it goes before anything
    // is printed.
    let finish_screen = || {
        if let Some(screen) = screen {
            screen.finish();
        }
    };
    let (mut result, error) = match (trials.result, trials.error) {
        (Some(result), error) => (result, error),
        (None, error) => {
            finish_screen();
            return match error {
                Some(error) if error.is_usage() => fail(EXIT_USAGE, error),
                Some(error) => fail(EXIT_FAILED, error),
                None => fail(EXIT_FAILED, "no trial finished"),
            };
        }
    };
    let count_failed = match (tools, &error) {
        (Some(tools), None) => counted_pass(&args, &plan, &mut result, tools),
        _ => None,
    };
    finish_screen();
    let code = finish_run(&args, &result, &path);
    if let Some(failed) = count_failed {
        return fail(EXIT_FAILED, failed);
    }
    match error {
        Some(error) => fail(
            EXIT_FAILED,
            format!(
                "trial {} of {} failed: {error}; the result holds the {} before it",
                result.trials.len() + 1,
                trials.asked,
                result.trials.len()
            ),
        ),
        None => code,
    }
}

/// The flags that cannot go together, or with this workload.
fn check_flags(args: &RunArgs, workload: &Workload) -> Result<(), ExitCode> {
    if args.deterministic && workload.requests.is_none() && workload.duration.is_some() {
        return Err(fail(
            EXIT_USAGE,
            "--deterministic: the workload is bounded by a duration; give --requests",
        ));
    }
    if args.shard.is_some_and(|shard| !shard.is_whole()) && args.repeat > 1 {
        return Err(fail(
            EXIT_USAGE,
            "--shard with --repeat: a shard is one trial (merge joins single trials); run the \
             shards again for another trial",
        ));
    }
    if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&args.calibrate.0) {
        return Err(fail(EXIT_USAGE, "--calibrate: allowed 100ms to 10m"));
    }
    Ok(())
}

/// The run the flags ask for, its result (and checkpoints) going to `path`.
fn run_plan(
    args: &RunArgs,
    loaded: Loaded,
    trace: Option<Arc<TraceIndex>>,
    path: &Path,
) -> RunPlan {
    let live = (!args.no_tui && !args.no_progress && screen::available())
        .then(|| Arc::new(LiveFeed::new(&loaded.workload)));
    RunPlan {
        live,
        workload: loaded.workload,
        source: loaded.source,
        target: args.remote.target.clone(),
        peers: args.remote.peers.clone(),
        allow_remote: args.remote.allow_remote,
        resolve: args.remote.resolve.resolve(),
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
            cpu: args.inject_cpu.unwrap_or(0),
        },
        trace,
        coordination: run::Coordination {
            shard: args.shard.unwrap_or_default(),
            start_at: args.start_at.or_else(|| {
                let after = args.start_after?;
                Some(args.start_reference.unwrap_or_else(SystemTime::now) + after.0)
            }),
            wait_for_target: args.remote.wait_for_target.map(|wait| wait.0),
            checkpoints: (!args.no_checkpoints && !report::is_special(path))
                .then(|| checkpoints_to(path.to_path_buf())),
        },
    }
}

/// The trials, with the live view up while they run (when there is one).
fn measure(plan: &RunPlan, repeat: u32) -> Result<(trials::Trials, Option<Screen>), ExitCode> {
    until_interrupted(ON_INTERRUPT, |control| async move {
        let screen = plan.live.clone().and_then(|feed| {
            Screen::start(feed, Arc::clone(&control), ON_INTERRUPT)
                .map_err(|error| eprintln!("warning: no live view ({error}): the run goes on"))
                .ok()
        });
        let trials = trials::run_trials(plan, &control, repeat, |trial| {
            if let Some(live) = &plan.live {
                live.trial(trial, repeat);
            }
            if repeat > 1 {
                eprintln!("trial {} of {repeat}", trial + 1);
            }
        })
        .await;
        (trials, screen)
    })
}

/// The counted pass (and, with --profile, its profile) of `result`'s
/// workload under `tools`, kept in `result`; what failed, if anything did
/// (a failure keeps the trials: the result is written all the same).
fn counted_pass(
    args: &RunArgs,
    plan: &RunPlan,
    result: &mut RunResult,
    tools: Vec<String>,
) -> Option<String> {
    if let Some(live) = &plan.live {
        live.stage(Stage::CountedPass, None, 0);
    }
    eprintln!(
        "counted pass: {} requests each of the run and the bare servers, one in flight, \
         under {}",
        args.count_requests,
        tools.join(", ")
    );
    let pass = PassPlan::new(&result.workload, plan.faults, args.count_requests);
    let child = std::env::current_exe()
        .map_err(|error| format!("cannot find this program: {error}"))
        .map(|exe| [exe.into_os_string(), "count-pass".into()]);
    let counted = child
        .clone()
        .and_then(|child| counted::count(&child, &pass, tools).map_err(|error| error.to_string()));
    let (mut counts, child) = match (counted, child) {
        (Ok(counts), Ok(child)) => (counts, child),
        (Err(failed), _) | (_, Err(failed)) => {
            return Some(format!(
                "--count: {failed}; the result holds the trials without it"
            ))
        }
    };
    let mut failed = None;
    if args.profile {
        // A failed profile keeps the counts.
        eprintln!("profiling the counted pass by function");
        match counted::profile(&child, &pass, counted::profile::DEFAULT_TOP) {
            Ok(profile) => counts.profile = Some(profile),
            Err(error) => {
                failed = Some(format!(
                    "--profile: {error}; the result holds the trials and the counted pass \
                     without the profile"
                ))
            }
        }
    }
    result.counted = Some(counts);
    failed
}

/// What Ctrl-C (or `q` in the live view) says.
const ON_INTERRUPT: &str = "finishing the requests in flight and writing what was measured";

/// Checkpoints written to `path`; the first that cannot be is warned of,
/// and the run goes on.
fn checkpoints_to(path: PathBuf) -> run::Checkpoints {
    let warned = AtomicBool::new(false);
    run::Checkpoints::new(move |result| {
        if let Err(error) = report::write_atomically(&result, &path) {
            if !warned.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "warning: cannot write the result so far ({error}); the run goes on, and \
                     its result is written at the end"
                );
            }
        }
    })
}

/// Writes the result and prints the summary; the summary is printed even
/// when the file cannot be written, so nothing measured is lost.
fn finish_run(args: &RunArgs, result: &RunResult, path: &Path) -> ExitCode {
    let written = report::write_atomically(result, path).map(|()| path.to_owned());
    match written {
        Ok(path) => {
            if args.series {
                print!("{}", summary::series_table(result));
            }
            print!("{}", summary::summary(result, Some(&path)));
            if let Some(hgrm) = &args.hgrm {
                if let Err(code) = super::export::write_hgrm(result, &path, false, Some(hgrm)) {
                    return code;
                }
            }
            if let Some(html) = &args.html {
                if let Err(code) = super::export::write_html(result, &path, html) {
                    return code;
                }
            }
            if let Some(plot_path) = &args.plot {
                let name = result.workload.name.clone();
                let svg = plot::render(&plot::series_panels(&[(name, result)]));
                match report::write_bytes_atomically(svg.as_bytes(), plot_path) {
                    Ok(()) => eprintln!("plot: {}", plot_path.display()),
                    Err(error) => {
                        return fail(EXIT_FAILED, format!("cannot write the plot: {error}"))
                    }
                }
            }
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
            if args.series {
                print!("{}", summary::series_table(result));
            }
            // Kept in the temporary directory under the same name, or, if
            // that fails too, printed whole.
            let elsewhere = std::env::temp_dir().join(
                path.file_name()
                    .unwrap_or_else(|| std::ffi::OsStr::new("result.json")),
            );
            if elsewhere != path && report::write_atomically(result, &elsewhere).is_ok() {
                print!("{}", summary::summary(result, Some(&elsewhere)));
                return fail(
                    EXIT_FAILED,
                    format!(
                        "cannot write the result ({error}); it is kept at {} instead",
                        elsewhere.display()
                    ),
                );
            }
            print!("{}", summary::summary(result, None));
            match serde_json::to_string(result) {
                Ok(json) => println!("{json}"),
                Err(json_error) => {
                    eprintln!("error: the result cannot be printed either: {json_error}")
                }
            }
            fail(
                EXIT_FAILED,
                format!(
                    "cannot write the result ({error}), nor to {}; it is printed above instead",
                    elsewhere.display()
                ),
            )
        }
    }
}
