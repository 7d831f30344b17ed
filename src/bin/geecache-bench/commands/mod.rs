//! One file per subcommand, as cargo's `src/bin/cargo/commands/`: each holds
//! the subcommand's flags (a clap `Args` struct) and its body, `exec`, which
//! calls the library ([`geecache_bench::harness`], [`geecache_bench::analysis`]) and turns the
//! outcome into an exit status. This file holds what several share: exit
//! statuses, flag groups, workload loading, the runtime and the logger.
//!
//! The subcommands: [`run`], [`compare`], [`check`], [`sweep`],
//! [`simulate`], [`mrc`], [`advise`], [`capacity`], [`ring`], [`merge`],
//! [`export`], [`serve`], [`driver_check`] and [`count_pass`] (the
//! counted pass's inner run, which the tools measure).

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use geecache_bench::analysis::grid::Grid;
use geecache_bench::analysis::mrc::Sampling;
use geecache_bench::geecache::HashKind;
use geecache_bench::harness::driver::Control;
use geecache_bench::harness::report;
use geecache_bench::harness::resolve::{Resolve, Resolved};
use geecache_bench::harness::trace::{TraceFormat, TraceIndex};
use geecache_bench::harness::workload::{self, Latency, Overrides};
use geecache_bench::units::{ByteSize, Span};

pub mod advise;
pub mod capacity;
pub mod check;
pub mod compare;
pub mod count_pass;
pub mod driver_check;
pub mod export;
pub mod merge;
pub mod mrc;
pub mod ring;
pub mod run;
pub mod serve;
pub mod simulate;
pub mod sweep;

/// Exit status for a command line or workload that cannot be used.
pub const EXIT_USAGE: u8 = 2;
/// Exit status for a run that failed.
pub const EXIT_FAILED: u8 = 1;

/// How a command writes what it found (`--format`): one set of names for
/// every command, each command taking those it can write
/// ([`Format::parser`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// JSON for programs.
    Json,
    /// GitHub-flavoured Markdown tables, for a CI job's summary.
    Markdown,
    /// Comma-separated values for programs.
    Csv,
}

impl Format {
    /// The name a command line gives it.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Csv => "csv",
        }
    }

    /// The parser of a `--format` that takes only `allowed`: its help lists
    /// them, and any other value is refused with clap's own message.
    pub const fn parser(allowed: &'static [Format]) -> FormatParser {
        FormatParser(allowed)
    }
}

/// `--format`'s parser over the formats a command writes.
#[derive(Clone, Copy, Debug)]
pub struct FormatParser(&'static [Format]);

impl clap::builder::TypedValueParser for FormatParser {
    type Value = Format;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Format, clap::Error> {
        let names = self.0.iter().map(|format| format.name());
        let name =
            clap::builder::PossibleValuesParser::new(names).parse_ref(command, arg, value)?;
        self.0
            .iter()
            .copied()
            .find(|format| format.name() == name)
            .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue))
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.0.iter().map(|format| {
            clap::builder::PossibleValue::new(format.name())
        })))
    }
}

/// The lists a ring is made of, comma-separated: node counts, hashes and
/// replica counts. `ring` takes them with its own help and defaults (see
/// its `mut_arg`s); the grid adds cache sizes.
#[derive(Debug, Args, Clone)]
pub struct RingLists {
    /// Node counts [default: the workload's].
    #[arg(long, value_name = "N,...", value_delimiter = ',')]
    pub nodes: Vec<u32>,
    /// Hashes [default: the workload's].
    #[arg(long, value_name = "crc32|xxh3,...", value_delimiter = ',')]
    pub hash: Vec<HashKind>,
    /// Replica counts [default: the workload's].
    #[arg(long, value_name = "N,...", value_delimiter = ',')]
    pub replicas: Vec<u32>,
}

/// The grid of `sweep` and `simulate`: lists where a run takes one value;
/// every combination is run.
#[derive(Debug, Args, Clone)]
pub struct GridArgs {
    #[command(flatten)]
    pub ring: RingLists,
    /// Cache sizes, such as 64KiB,1MiB,16MiB [default: the workload's].
    #[arg(long, value_name = "SIZE,...", value_delimiter = ',')]
    pub cache_bytes: Vec<ByteSize>,
}

impl GridArgs {
    pub fn grid(&self) -> Grid {
        Grid {
            nodes: self.ring.nodes.clone(),
            hashes: self.ring.hash.clone(),
            replicas: self.ring.replicas.clone(),
            cache_bytes: self.cache_bytes.clone(),
        }
    }
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
    /// The length of each interval of the result's series, 100ms to 1m
    /// [interval; default 1s].
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<Span>,
    #[command(flatten)]
    pub trace: TraceArgs,
}

/// A trace to replay instead of the workload's key distribution.
#[derive(Debug, Args, Clone)]
pub struct TraceArgs {
    /// Replay this trace's reads: libCacheSim oracleGeneral or CSV,
    /// Twitter cache-trace CSV, or one key per line; zstd or not
    /// [trace.path].
    #[arg(long, value_name = "FILE")]
    pub trace: Option<String>,
    /// The trace's format: oracleGeneral, twitter, keys, or
    /// csv:id=N[,time=N][,size=N][,op=N][,delimiter=C][,header=true]
    /// [trace.format; default: from the name and first bytes].
    #[arg(long, value_name = "FORMAT")]
    pub trace_format: Option<TraceFormat>,
    /// Replay at most N reads of the trace, warm-up included [trace.limit].
    #[arg(long, value_name = "N")]
    pub trace_limit: Option<u64>,
    /// Keep the trace's keys whose hash falls in this share, whole keys
    /// at a time, as SHARDS samples [trace.sample; default 1].
    #[arg(long, value_name = "SHARE")]
    pub sample: Option<f64>,
    /// Send each measured read at its timestamp, time divided by this
    /// [trace.speed; default: as fast as the connections go].
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,
}

impl ShapeArgs {
    /// These flags over a workload.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            requests: self.requests,
            duration: self.duration,
            warmup_requests: self.warmup,
            concurrency: self.concurrency,
            rate: self.rate,
            seed: self.seed,
            slowdb_latency: self.slowdb_latency,
            interval: self.interval,
            ..self.trace.overrides()
        }
    }
}

/// The keys `simulate` and `mrc` follow: how many, from which seed or
/// trace.
#[derive(Debug, Args, Clone)]
pub struct ModelKeys {
    /// Measured requests [requests; a workload bounded by duration needs it].
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// Warm-up requests, which fill the caches uncounted [warmup_requests].
    #[arg(long, value_name = "N")]
    pub warmup: Option<u64>,
    /// Seed of the key sequence [seed].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// A trace to replay, as for a run.
    #[command(flatten)]
    pub trace: TraceArgs,
}

impl ModelKeys {
    /// These flags over a workload.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            requests: self.requests,
            warmup_requests: self.warmup,
            seed: self.seed,
            ..self.trace.overrides()
        }
    }
}

/// How much of the key space a curve follows: every key, or a SHARDS
/// sample.
#[derive(Debug, Args, Clone)]
pub struct SamplingArgs {
    /// Follow only the keys whose hash falls in this share (SHARDS at a
    /// fixed rate): faster and smaller, the loads estimated [default: every
    /// key, exact].
    #[arg(long, value_name = "SHARE", conflicts_with = "shards_keys")]
    pub shards_rate: Option<f64>,
    /// Follow at most N keys, lowering the rate as more come (SHARDS in
    /// fixed memory).
    #[arg(long, value_name = "N")]
    pub shards_keys: Option<usize>,
}

impl SamplingArgs {
    /// The sampling these flags ask for; a usage error's exit status when
    /// out of range.
    pub fn sampling(&self) -> Result<Sampling, ExitCode> {
        match (self.shards_rate, self.shards_keys) {
            (Some(rate), _) if !(rate > 0.0 && rate <= 1.0) => Err(fail(
                EXIT_USAGE,
                format!("--shards-rate: {rate} is out of range: a share above 0, at most 1"),
            )),
            (Some(rate), _) => Ok(Sampling::Rate { rate }),
            (None, Some(0)) => Err(fail(EXIT_USAGE, "--shards-keys: at least 1")),
            (None, Some(keys)) => Ok(Sampling::Keys { keys }),
            (None, None) => Ok(Sampling::Exact),
        }
    }
}

impl TraceArgs {
    /// These flags over a workload.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            trace: self.trace.clone(),
            trace_format: self.trace_format.clone(),
            trace_limit: self.trace_limit,
            sample: self.sample,
            speed: self.speed,
            ..Overrides::default()
        }
    }
}

/// A cluster already running to drive, in a run or a capacity search.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
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
    /// Allow --target and --peers on hosts other than this one (by default
    /// only 127.0.0.0/8 and localhost).
    #[arg(long, requires = "target")]
    pub allow_remote: bool,
    /// Addresses in place of the name service.
    #[command(flatten)]
    pub resolve: ResolveArgs,
    /// Ask the target until it answers, for at most this long, before
    /// starting (a StatefulSet's pods come up one by one).
    #[arg(long, value_name = "DURATION", requires = "target")]
    pub wait_for_target: Option<Span>,
}

/// Addresses in place of the name service, for `serve` and a `--target`
/// run alike.
#[derive(Debug, Args, Clone)]
pub struct ResolveArgs {
    /// Reach HOST:PORT at ADDR instead of looking HOST up, as curl's
    /// --resolve does; comma-separated (nodes-0.nodes:8001:127.0.0.2,...).
    /// URLs keep their names, on the ring and in the result: a stand-in for
    /// a cluster's DNS.
    #[arg(
        long,
        value_name = "HOST:PORT:ADDR,...",
        value_delimiter = ',',
        env = "GEECACHE_RESOLVE"
    )]
    pub resolve: Vec<Resolved>,
}

impl ResolveArgs {
    /// The addresses given.
    pub fn resolve(&self) -> Resolve {
        Resolve(self.resolve.clone())
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

/// An on/off flag value.
pub fn parse_switch(text: &str) -> Result<bool, String> {
    match text {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        other => Err(format!("{other:?} is not a switch: use on or off")),
    }
}

/// Prints `message` as an error and gives the exit status `code`.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

/// The flag that names where a result goes: `--out` when it was given,
/// else `--results-dir`, for the errors that name it.
pub fn result_flag(out_given: bool) -> &'static str {
    if out_given {
        "--out"
    } else {
        "--results-dir"
    }
}

/// Checks, before anything is measured, that each of a command's output
/// files can be written when it ends (see [`report::check_writable`]); the
/// first that cannot is named with its flag, exit 2.
pub fn check_outputs<'a>(
    outputs: impl IntoIterator<Item = (&'a str, Option<&'a Path>)>,
) -> Result<(), ExitCode> {
    for (flag, path) in outputs {
        let Some(path) = path else { continue };
        if let Err(error) = report::check_writable(path, report::RESULT_ROOM) {
            return Err(fail(
                EXIT_USAGE,
                format!("{flag}: {error}; nothing was run"),
            ));
        }
    }
    Ok(())
}

/// The multi-threaded async runtime the commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
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

/// Writes an HTML page to `out` and says where; a file that cannot be
/// written is reported and given as exit status 1.
pub fn write_page(page: &str, out: &Path) -> Result<(), ExitCode> {
    report::write_bytes_atomically(page.as_bytes(), out)
        .map_err(|error| fail(EXIT_FAILED, format!("cannot write the HTML page: {error}")))?;
    eprintln!("page: {}", out.display());
    Ok(())
}

/// Runs `work` to its end on a new runtime with a fresh [`Control`]. Ctrl-C
/// prints `on_interrupt` and asks the work to stop, so that it ends early
/// and keeps what it measured.
pub fn until_interrupted<F: Future>(
    on_interrupt: &'static str,
    work: impl FnOnce(Arc<Control>) -> F,
) -> Result<F::Output, ExitCode> {
    let runtime = runtime()?;
    let control = Arc::new(Control::default());
    Ok(runtime.block_on(async {
        let stopper = Arc::clone(&control);
        let interrupt = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: {on_interrupt}");
                stopper
                    .stop
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let outcome = work(control).await;
        interrupt.abort();
        outcome
    }))
}

/// Loads the workload `spec` names and applies the flags to it; a usage
/// error's exit status otherwise.
pub fn load_workload(spec: &str, overrides: &Overrides) -> Result<workload::Loaded, ExitCode> {
    let mut loaded = workload::load(spec).map_err(|error| fail(EXIT_USAGE, error))?;
    loaded
        .workload
        .apply(overrides, &loaded.source)
        .map_err(|error| fail(EXIT_USAGE, error))?;
    Ok(loaded)
}

/// [`load_workload`], then the workload's trace, if it has one, scanned
/// before anything starts (a whole trace gives the request count); a usage
/// error's exit status when either cannot be used.
pub fn load_with_trace(
    spec: &str,
    overrides: &Overrides,
) -> Result<(workload::Loaded, Option<Arc<TraceIndex>>), ExitCode> {
    let mut loaded = load_workload(spec, overrides)?;
    let trace = loaded
        .workload
        .scan_trace(&loaded.source)
        .map_err(|error| fail(EXIT_USAGE, error))?;
    Ok((loaded, trace))
}

/// A logger to stderr: `[level] message`, at `base` raised by `-v`s.
pub fn init_logging(verbose: u8, base: log::LevelFilter) {
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
