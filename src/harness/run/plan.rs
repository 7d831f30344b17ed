//! What a run is asked to do ([`RunPlan`]), where its calibration comes
//! from, and why it could fail.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::geecache::http::ClientError;
use crate::harness::calibration::{Calibration, CalibrationError};
use crate::harness::cluster::{ClusterError, Faults};
use crate::harness::driver::SamplerError;
use crate::harness::latency::HistogramError;
use crate::harness::live::LiveFeed;
use crate::harness::report::RunResult;
use crate::harness::resolve::Resolve;
use crate::harness::shard::{Shard, SplitError};
use crate::harness::trace::{TraceError, TraceIndex};
use crate::harness::workload::Workload;
use crate::units::Span;
/// Key streams: warm-up and measurement ask for different keys.
pub(crate) const WARMUP_STREAM: u64 = 0;
pub(crate) const MEASURE_STREAM: u64 = 1;

/// What to run.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The workload, flags applied.
    pub workload: Workload,
    /// Where it came from.
    pub source: String,
    /// Drive this API URL instead of starting a cluster.
    pub target: Option<String>,
    /// In target mode, the nodes whose `/_stats` to read.
    pub peers: Vec<String>,
    /// Allow `target` and `peers` on hosts other than this one.
    pub allow_remote: bool,
    /// Addresses for `target`'s and `peers`' hosts in place of the name
    /// service; the URLs keep their names in the result.
    pub resolve: Resolve,
    /// Start the cluster's nodes on this port and the following ones.
    pub base_port: Option<u16>,
    /// Show a progress bar on stderr (when it is a terminal).
    pub progress: bool,
    /// Tell this live view what the run does, in place of the progress
    /// bar.
    pub live: Option<Arc<LiveFeed>>,
    /// The loopback limit: measured before the run, taken as given (a sweep
    /// measures it once for all its runs), or skipped.
    pub calibrate: Calibrate,
    /// Regressions on purpose, to show that `check` catches them.
    pub faults: Faults,
    /// The workload's trace, scanned ([`Workload::scan_trace`]); `None`
    /// draws keys from its distribution.
    pub trace: Option<Arc<TraceIndex>>,
    /// How the run lines up with the other drivers of one test.
    pub coordination: Coordination,
}

impl RunPlan {
    /// A run of `workload` on a cluster of its own, on ephemeral ports,
    /// uncalibrated, with no progress bar, no faults, no trace and no other
    /// drivers: the plan the commands and searches that run many runs
    /// start from.
    pub fn local(workload: Workload, source: impl Into<String>) -> RunPlan {
        RunPlan {
            workload,
            source: source.into(),
            target: None,
            peers: Vec::new(),
            allow_remote: false,
            resolve: Resolve::default(),
            base_port: None,
            progress: false,
            live: None,
            calibrate: Calibrate::Skip,
            faults: Faults::default(),
            trace: None,
            coordination: Coordination::default(),
        }
    }
}

/// How a run lines up with the other drivers of one test and with what
/// runs it: its share of the work, the moment they all begin measuring, how
/// long to wait for a target that is still coming up, and where its result
/// so far goes while it runs.
#[derive(Clone, Debug, Default)]
pub struct Coordination {
    /// This driver's share of the run ([`Shard::WHOLE`] alone).
    pub shard: Shard,
    /// Finish the warm-up, then begin measuring at this moment.
    pub start_at: Option<SystemTime>,
    /// Poll the target until it answers, for at most this long, before
    /// the run starts.
    pub wait_for_target: Option<Duration>,
    /// Hears the result so far at each interval's end (once an interval is
    /// whole), marked incomplete; `None` for nobody.
    pub checkpoints: Option<Checkpoints>,
}

/// What hears a run's result so far: called from a blocking thread with
/// each checkpoint ([`RunResult::incomplete`] set), in order.
#[derive(Clone)]
pub struct Checkpoints(pub Arc<dyn Fn(RunResult) + Send + Sync>);

impl Checkpoints {
    /// Checkpoints that `hear` hears.
    pub fn new(hear: impl Fn(RunResult) + Send + Sync + 'static) -> Checkpoints {
        Checkpoints(Arc::new(hear))
    }
}

impl std::fmt::Debug for Checkpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checkpoints(..)")
    }
}

/// Where a run's calibration comes from.
#[derive(Clone, Debug)]
pub enum Calibrate {
    /// Measure each reference server for this long before the run.
    Measure(Duration),
    /// Use this one, measured earlier with the same driver settings.
    Given(Calibration),
    /// None: the result has no limit fraction.
    Skip,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The cluster did not start.
    #[error("cannot start the cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// A URL a flag gave (`--target`, `--peers`) is not usable.
    #[error("{flag} {url:?}: {why}")]
    BadUrl {
        /// The flag that gave it.
        flag: &'static str,
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// No client could be made for a usable URL.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// An event of the workload that a run against a target cannot carry
    /// out: the harness does not own the target's nodes.
    #[error(
        "events[{index}] ({event}): with --target only shift_keys and set_rate can happen, \
         as the harness does not own the target's nodes"
    )]
    EventOnTarget {
        /// The event's place in the workload.
        index: usize,
        /// The event as the workload wrote it.
        event: String,
    },
    /// A shard of a run of its own cluster: each shard would start one.
    #[error(
        "--shard {0}: the shards of a run drive one cluster together; give --target \
         (a run of its own cluster would start one cluster per shard)"
    )]
    ShardWithoutTarget(Shard),
    /// The run cannot be split over its shards.
    #[error(transparent)]
    Split(#[from] SplitError),
    /// The moment to start is past the workload's time limit.
    #[error(
        "the start moment is {:.0} s away, past the workload's time limit ({time_limit}): \
         give a nearer moment or a longer time_limit",
        ahead.as_secs_f64()
    )]
    StartTooFar {
        /// How far away the moment is.
        ahead: Duration,
        /// The workload's time limit.
        time_limit: Span,
    },
    /// The plan has no scanned trace for a workload that replays one, or
    /// one for a workload that does not.
    #[error("the workload's trace was not scanned before the run")]
    TraceNotScanned,
    /// The workload's key distribution cannot be sampled.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// The trace could not be replayed.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The target does not answer.
    #[error("cannot reach the target {url}: {source}{}", still_after(.waited))]
    Unreachable {
        /// The target.
        url: String,
        /// The last failure the client saw.
        source: ClientError,
        /// How long the run waited for it, when it was asked to wait.
        waited: Option<Duration>,
    },
    /// The reference servers could not be measured.
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
    /// The histogram could not be serialized, or the trials' added.
    #[error(transparent)]
    Histogram(#[from] HistogramError),
}

/// How long a run waited for a target that never answered, as its error
/// says it: nothing when it did not wait.
fn still_after(waited: &Option<Duration>) -> String {
    match waited {
        Some(wait) => format!(" (still, after waiting {wait:?})"),
        None => String::new(),
    }
}

impl RunError {
    /// Whether the command line or the workload asked for what cannot be
    /// done (exit 2), rather than a run that failed (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            RunError::BadUrl { .. }
            | RunError::Client(_)
            | RunError::EventOnTarget { .. }
            | RunError::ShardWithoutTarget(_)
            | RunError::Split(_)
            | RunError::StartTooFar { .. }
            | RunError::TraceNotScanned => true,
            RunError::Cluster(_)
            | RunError::Sampler(_)
            | RunError::Trace(_)
            | RunError::Unreachable { .. }
            | RunError::Calibration(_)
            | RunError::Histogram(_) => false,
        }
    }
}
