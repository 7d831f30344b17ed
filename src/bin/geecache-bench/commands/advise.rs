//! `advise`: the smallest per-node cache that meets a goal, from the
//! miss-ratio curve, and the fewest virtual nodes that meet a ring goal,
//! each with its evidence; `--verify` runs the advised configuration.
//! Computed in [`geecache_bench::analysis::advise`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args};
use serde::Serialize;

use super::{
    fail, init_logging, load_with_trace, until_interrupted, Format, ModelKeys, SamplingArgs,
    EXIT_FAILED, EXIT_USAGE,
};
use geecache_bench::analysis::advise::{
    self, CacheAdvice, CacheGoal, Landing, Moved, ReplicaAdvice, RingGoal,
};
use geecache_bench::analysis::mrc::{self, Sampling};
use geecache_bench::geecache::HashKind;
use geecache_bench::harness::ownership::RingShape;
use geecache_bench::harness::report::{self, write_bytes_atomically};
use geecache_bench::harness::run::RunPlan;
use geecache_bench::harness::trials;
use geecache_bench::harness::workload::{Latency, Overrides, Workload};
use geecache_bench::units::{compact_timestamp, ByteSize};

/// Flags of `advise`.
#[derive(Debug, Args, Clone)]
#[command(group(ArgGroup::new("goal").required(true).multiple(true)
    .args(["hit_ratio", "byte_hit_ratio", "loads_per_second", "imbalance", "moved_on_join"])))]
pub struct AdviseArgs {
    /// The workload, as for a run.
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// Nodes on the ring [cluster.nodes].
    #[arg(long, value_name = "N")]
    pub nodes: Option<u32>,
    /// Virtual nodes per node, when no ring goal advises them
    /// [cluster.replicas].
    #[arg(long, value_name = "N", conflicts_with_all = ["imbalance", "moved_on_join"])]
    pub replicas: Option<u32>,
    /// The ring's hash [cluster.hash].
    #[arg(long, value_name = "crc32|xxh3")]
    pub hash: Option<HashKind>,
    /// The keys the curve follows.
    #[command(flatten)]
    pub keys: ModelKeys,
    /// Every key, or a sample.
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Goal: the smallest per-node cache whose hits are at least this
    /// share of the measured requests.
    #[arg(long, value_name = "SHARE", conflicts_with_all = ["byte_hit_ratio", "loads_per_second"])]
    pub hit_ratio: Option<f64>,
    /// Goal: the smallest per-node cache that serves at least this share
    /// of the bytes asked for.
    #[arg(long, value_name = "SHARE", conflicts_with = "loads_per_second")]
    pub byte_hit_ratio: Option<f64>,
    /// Goal: the smallest per-node cache with at most this many slow-store
    /// loads per second at --rate requests per second.
    #[arg(long, value_name = "N", requires = "rate")]
    pub loads_per_second: Option<f64>,
    /// Requests per second the cluster serves, for --loads-per-second; a
    /// verifying run sends them on this schedule (open loop).
    #[arg(long, value_name = "PER_SECOND", requires = "loads_per_second")]
    pub rate: Option<f64>,
    /// The cache goal holds for every node, not only the cluster.
    #[arg(long)]
    pub every_node: bool,
    /// Goal: the fewest virtual nodes per node whose largest key count is
    /// at most this over the mean (1 is even).
    #[arg(long, value_name = "RATIO")]
    pub imbalance: Option<f64>,
    /// Goal: the fewest virtual nodes per node that move at most this
    /// share of the keys when --join nodes join (0.3), or this multiple of
    /// the least any ring moves (1.2x).
    #[arg(long, value_name = "SHARE|Nx")]
    pub moved_on_join: Option<Moved>,
    /// Nodes that join, for --moved-on-join.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub join: u32,
    /// Replica counts searched: every one from 1 to this.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub max_replicas: u32,
    /// Run the advised configuration (replicas and cache size) for real,
    /// in trials, and report how close its slow-store loads landed to the
    /// curve's and whether it met the goal.
    #[arg(long)]
    pub verify: bool,
    /// Trials of the verifying run; from 3 the loads get an interval.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100), requires = "verify")]
    pub repeat: u32,
    /// Requests in flight in the verifying run [concurrency].
    #[arg(long, short = 'c', value_name = "N", requires = "verify")]
    pub concurrency: Option<u32>,
    /// The slow store's delay per load in the verifying run: none, a
    /// duration (200us) or exp:MEAN [slowdb.latency].
    #[arg(long, value_name = "none|DURATION|exp:MEAN", requires = "verify")]
    pub slowdb_latency: Option<Latency>,
    /// Where the verifying run's result goes.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "results",
        requires = "verify"
    )]
    pub results_dir: PathBuf,
    /// `table` for people, `json` for programs.
    #[arg(long, value_name = "table|json", default_value = "table", value_parser = Format::parser(&[Format::Table, Format::Json]))]
    pub format: Format,
    /// Also write the advice here, as JSON.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The advice as JSON.
#[derive(Serialize)]
struct Report<'a> {
    workload: &'a str,
    requests: u64,
    warmup_requests: u64,
    keys: u64,
    /// The ring the curve was made on.
    ring: RingShape,
    sampling: Sampling,
    replicas: Option<&'a ReplicaAdvice>,
    cache: Option<&'a CacheAdvice>,
    verify: Option<Verified<'a>>,
}

#[derive(Serialize)]
struct Verified<'a> {
    result: String,
    #[serde(flatten)]
    landing: &'a Landing,
}

impl AdviseArgs {
    fn cache_goal(&self) -> Result<Option<CacheGoal>, ExitCode> {
        let share = |flag: &str, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(value)
            } else {
                Err(fail(
                    EXIT_USAGE,
                    format!("{flag}: {value} is out of range: a share from 0 to 1"),
                ))
            }
        };
        Ok(
            match (self.hit_ratio, self.byte_hit_ratio, self.loads_per_second) {
                (Some(hit_ratio), ..) => Some(CacheGoal::HitRatio {
                    hit_ratio: share("--hit-ratio", hit_ratio)?,
                }),
                (_, Some(byte_hit_ratio), _) => Some(CacheGoal::ByteHitRatio {
                    byte_hit_ratio: share("--byte-hit-ratio", byte_hit_ratio)?,
                }),
                (.., Some(loads_per_second)) => {
                    let rate = self.rate.unwrap_or(0.0);
                    if !(loads_per_second >= 0.0 && loads_per_second.is_finite()) {
                        return Err(fail(EXIT_USAGE, "--loads-per-second: 0 or more"));
                    }
                    if !(rate > 0.0 && rate.is_finite()) {
                        return Err(fail(EXIT_USAGE, "--rate: above 0 requests per second"));
                    }
                    Some(CacheGoal::LoadsPerSecond {
                        loads_per_second,
                        rate,
                    })
                }
                _ => None,
            },
        )
    }

    fn ring_goal(&self) -> Result<Option<RingGoal>, ExitCode> {
        if let Some(most) = self.imbalance {
            if !(most >= 1.0 && most.is_finite()) {
                return Err(fail(
                    EXIT_USAGE,
                    format!("--imbalance: {most}: the largest over the mean is 1 or more"),
                ));
            }
        }
        Ok(
            (self.imbalance.is_some() || self.moved_on_join.is_some()).then_some(RingGoal {
                imbalance: self.imbalance,
                moved: self.moved_on_join,
                join: self.join as usize,
            }),
        )
    }
}

/// Runs the subcommand.
pub fn exec(args: AdviseArgs) -> ExitCode {
    let (cache_goal, ring_goal) = match (args.cache_goal(), args.ring_goal()) {
        (Ok(cache), Ok(ring)) => (cache, ring),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    if args.verify && cache_goal.is_none() {
        return fail(
            EXIT_USAGE,
            "--verify runs the advised cache: give a cache goal (--hit-ratio, \
             --byte-hit-ratio or --loads-per-second)",
        );
    }
    let sampling = match args.sampling.sampling() {
        Ok(sampling) => sampling,
        Err(code) => return code,
    };
    let overrides = Overrides {
        nodes: args.nodes,
        replicas: args.replicas,
        hash: args.hash,
        ..args.keys.overrides()
    };
    let (loaded, trace) = match load_with_trace(&args.workload, &overrides) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut workload = loaded.workload;
    let replica_advice = ring_goal.map(|goal| {
        advise::fewest_replicas(
            workload.cluster.nodes,
            workload.cluster.hash,
            workload.keys,
            goal,
            args.max_replicas,
        )
    });
    // The curve is for the advised ring, or the workload's when none is.
    if let Some(replicas) = replica_advice.as_ref().and_then(|advice| advice.replicas) {
        workload.cluster.replicas = replicas;
    }
    let ring = RingShape::of(&workload);
    let cache_advice = match cache_goal {
        Some(goal) => match mrc::curves(&workload, ring, sampling, &[]) {
            Ok(curves) => Some(advise::smallest_cache(&curves, goal, args.every_node)),
            Err(error) => return fail(EXIT_USAGE, error),
        },
        None => None,
    };
    let mut report = Report {
        workload: &workload.name,
        requests: workload.requests.unwrap_or(0),
        warmup_requests: workload.warmup_requests,
        keys: workload.keys,
        ring,
        sampling,
        replicas: replica_advice.as_ref(),
        cache: cache_advice.as_ref(),
        verify: None,
    };
    let table = args.format == Format::Table;
    if table {
        print!("{}", text(&report, &workload));
    }
    let unmet = replica_advice
        .as_ref()
        .is_some_and(|advice| advice.replicas.is_none())
        || cache_advice
            .as_ref()
            .is_some_and(|advice| advice.cache_bytes.is_none());
    let mut code = ExitCode::SUCCESS;
    let landed;
    if unmet {
        code = fail(EXIT_FAILED, "no configuration searched meets the goal");
    } else if let (true, Some(advice)) = (args.verify, &cache_advice) {
        match verify(&args, &workload, &loaded.source, trace, advice) {
            Ok((path, landing)) => {
                if table {
                    print!("{}", landing_text(&landing, advice));
                    println!("result: {}", path.display());
                }
                if landing.goal_met == Some(false) {
                    code = fail(EXIT_FAILED, "the verifying run did not meet the goal");
                }
                landed = (path.display().to_string(), landing);
                report.verify = Some(Verified {
                    result: landed.0.clone(),
                    landing: &landed.1,
                });
            }
            // The advice is still printed and written.
            Err(failed) => code = failed,
        }
    }
    let json = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    if !table {
        print!("{json}");
    }
    if let Some(path) = &args.out {
        if let Err(error) = write_bytes_atomically(json.as_bytes(), path) {
            return fail(
                EXIT_FAILED,
                format!("cannot write {}: {error}", path.display()),
            );
        }
    }
    code
}

/// Runs the advised configuration in trials and lands it on the curve.
fn verify(
    args: &AdviseArgs,
    workload: &Workload,
    source: &str,
    trace: Option<std::sync::Arc<geecache_bench::harness::trace::TraceIndex>>,
    advice: &CacheAdvice,
) -> Result<(PathBuf, Landing), ExitCode> {
    init_logging(0, log::LevelFilter::Warn);
    let (Some(size), Some(at)) = (advice.cache_bytes, &advice.at) else {
        return Err(fail(EXIT_FAILED, "no advised size to verify"));
    };
    let mut workload = workload.clone();
    let overrides = Overrides {
        cache_bytes: Some(ByteSize(size)),
        concurrency: args.concurrency,
        slowdb_latency: args.slowdb_latency,
        rate: match advice.goal {
            CacheGoal::LoadsPerSecond { rate, .. } => Some(rate),
            _ => None,
        },
        ..Overrides::default()
    };
    if let Err(error) = workload.apply(&overrides, source) {
        return Err(fail(EXIT_USAGE, format!("--verify: {error}")));
    }
    let plan = RunPlan {
        trace,
        ..RunPlan::local(workload, source)
    };
    let plan = &plan;
    let repeat = args.repeat;
    eprintln!(
        "verifying: {repeat} trial(s) of {} nodes, {} replicas, {} per node",
        plan.workload.cluster.nodes,
        plan.workload.cluster.replicas,
        ByteSize(size)
    );
    let outcome = until_interrupted("finishing this trial", |control| async move {
        trials::run_trials(plan, &control, repeat, |_| {}).await
    })?;
    let result = match (outcome.result, outcome.error) {
        (Some(result), None) => result,
        (_, Some(error)) => return Err(fail(EXIT_FAILED, format!("--verify: {error}"))),
        (None, None) => return Err(fail(EXIT_FAILED, "--verify: no trial finished")),
    };
    let timestamp = compact_timestamp(std::time::SystemTime::now());
    let path = report::write_in(&result, &args.results_dir, &timestamp)
        .map_err(|error| fail(EXIT_FAILED, format!("--verify: {error}")))?;
    Ok((
        path,
        advise::landing(advice.goal, advice.every_node, &at.point, &result),
    ))
}

/// The advice for people.
fn text(report: &Report<'_>, workload: &Workload) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} requests ({} warm-up) over {} keys",
        report.workload, report.requests, report.warmup_requests, report.keys
    );
    if let Some(advice) = report.replicas {
        replicas_text(&mut out, advice);
    }
    if let Some(advice) = report.cache {
        cache_text(&mut out, advice, report, workload);
    }
    out
}

/// The replica advice's lines: the count advised and the one below it,
/// and whether every larger count meets the goal too.
fn replicas_text(out: &mut String, advice: &ReplicaAdvice) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "replicas  {} nodes, {}, every count from 1 to {}: {}",
        advice.nodes,
        advice.hash,
        advice.searched,
        advice.goal.describe()
    );
    let figures = |evidence: &advise::RingEvidence| {
        let mut text = format!("key imbalance {:.3}", evidence.key_imbalance);
        if let (Some(moved), Some(ideal)) = (evidence.moved_share, evidence.ideal_moved_share) {
            let _ = write!(
                text,
                ", {:.2}% moved (ideal {:.2}%)",
                moved * 100.0,
                ideal * 100.0
            );
        }
        text
    };
    match (advice.replicas, &advice.at) {
        (Some(replicas), Some(at)) => {
            let _ = writeln!(out, "  advised  {replicas} replicas: {}", figures(at));
            if let Some(below) = &advice.below {
                let _ = writeln!(
                    out,
                    "  short    {} replicas: {}",
                    below.replicas,
                    figures(below)
                );
            }
            let _ = match advice.steady_from {
                Some(steady) if steady == replicas => writeln!(
                    out,
                    "  steady   every count from {replicas} to {} meets it",
                    advice.searched
                ),
                Some(steady) => writeln!(
                    out,
                    "  steady   every count from {steady} to {} meets it; between {replicas} \
                     and {steady} some do not: prefer {steady}",
                    advice.searched
                ),
                None => writeln!(
                    out,
                    "  unsteady {} replicas does not meet it: {replicas} meets it by its \
                     ring's luck",
                    advice.searched
                ),
            };
        }
        _ => {
            let _ = writeln!(
                out,
                "  none     no count meets it; the best is {} replicas: {}{}",
                advice.best.replicas,
                figures(&advice.best),
                match advice.hash {
                    HashKind::Crc32 =>
                        "; try --hash xxh3, which spreads a run's node names more evenly",
                    HashKind::Xxh3 => "",
                }
            );
        }
    }
}

/// The cache advice's lines: the size advised and the one below it, the
/// requests each node took, and how exact the size is.
fn cache_text(out: &mut String, advice: &CacheAdvice, report: &Report<'_>, workload: &Workload) {
    use std::fmt::Write as _;
    let ring = report.ring;
    let _ = writeln!(
        out,
        "cache     {} nodes, {} replicas, {}: {}{}",
        ring.nodes,
        ring.replicas,
        ring.hash,
        advice.goal.describe(advice.every_node),
        match report.sampling {
            Sampling::Exact => String::new(),
            _ => " (SHARDS sample: figures estimated)".to_owned(),
        }
    );
    let figure = |evidence: &advise::Evidence| {
        let goal = match advice.goal {
            CacheGoal::LoadsPerSecond { .. } => format!("{:.2} loads/s", evidence.figure),
            CacheGoal::HitRatio { .. } => format!("hit ratio {:.5}", evidence.figure),
            CacheGoal::ByteHitRatio { .. } => format!("byte hit ratio {:.5}", evidence.figure),
        };
        let nodes: Vec<String> = evidence
            .point
            .node_miss_ratio
            .iter()
            .map(|miss| format!("{:.3}", 1.0 - miss))
            .collect();
        format!(
            "{goal}; {} loads ({:.4} per request); node hit ratios {}",
            evidence.point.loads,
            evidence.point.miss_ratio,
            nodes.join(" ")
        )
    };
    match (advice.cache_bytes, &advice.at) {
        (Some(size), Some(at)) => {
            let _ = writeln!(
                out,
                "  advised  {} per node ({size} B): {}",
                ByteSize(size).human(),
                figure(at)
            );
            if let Some(below) = &advice.below {
                let _ = writeln!(
                    out,
                    "  short    {} B: {}",
                    below.point.cache_bytes,
                    figure(below)
                );
            }
            let requests: Vec<String> = advice.node_requests.iter().map(u64::to_string).collect();
            let _ = writeln!(
                out,
                "  requests per node {} (largest over mean {:.3})",
                requests.join(" "),
                advice.request_imbalance
            );
            let _ = writeln!(
                out,
                "  ({}; run --cache-bytes {size} --replicas {} to use it)",
                if size <= 2048 {
                    "exact to the byte".to_owned()
                } else {
                    format!(
                        "the smallest size lies above {} B: the curve counts sizes within a \
                         1,024th",
                        advice
                            .below
                            .as_ref()
                            .map_or(0, |below| below.point.cache_bytes)
                    )
                },
                ring.replicas
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "  none     no size meets it: with every key held, {} (misses of first uses \
                 and of keys the store lacks: {} of {} requests)",
                figure(&advice.unbounded),
                advice.unbounded.point.loads,
                workload.requests.unwrap_or(0)
            );
        }
    }
}

/// How the verifying run landed, for people.
fn landing_text(landing: &Landing, advice: &CacheAdvice) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let measured = &landing.measured;
    let interval = match (measured.low, measured.high, measured.confidence) {
        (Some(low), Some(high), Some(confidence)) => format!(
            " [{low:.5}, {high:.5}] ({:.1}% interval)",
            confidence * 100.0
        ),
        _ => " (no interval below 3 trials)".to_owned(),
    };
    let _ = writeln!(
        out,
        "verified  {} trial(s): {:.5} loads per request{interval}; the curve {:.5}: {}, off by {:+.5}",
        landing.trials,
        measured.median,
        landing.predicted,
        if landing.within { "within" } else { "outside" },
        landing.off_by
    );
    let nodes: Vec<String> = landing
        .node_loads
        .iter()
        .map(|(curve, run)| match run {
            Some(run) => format!("{run}/{curve}"),
            None => format!("?/{curve}"),
        })
        .collect();
    let _ = writeln!(out, "  nodes    loads run/curve: {}", nodes.join(" "));
    let _ = match (landing.goal_figure, landing.goal_met) {
        (Some(figure), Some(met)) => writeln!(
            out,
            "  goal     {} by the run's median: {:.4}",
            if met { "met" } else { "NOT met" },
            figure.median
        ),
        _ => writeln!(
            out,
            "  goal     {}: a run counts neither the bytes loaded nor the requests each node \
             owns; the loads above are the check",
            advice.goal.describe(advice.every_node)
        ),
    };
    if !landing.within {
        let _ = writeln!(
            out,
            "  note     the curve counts one request at a time: in a run, requests in flight \
             together reach the caches out of order, and a miss's value reaches its cache only \
             when its load ends (the slower the store, the later)"
        );
    }
    out
}
