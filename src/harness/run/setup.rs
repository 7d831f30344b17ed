//! Before a run measures anything: the plan checked against what a run
//! can do, the cluster started (or the target and its peers reached), the
//! loopback limit measured, and the schedule a trace or stages pace.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::address::split_target;
use super::observe::{Observer, Unread};
use super::plan::{Calibrate, RunError, RunPlan};
use crate::geecache::http::{ClientError, HttpClient};
use crate::harness::calibration::{self, Calibration};
use crate::harness::cluster::Cluster;
use crate::harness::driver::RateSchedule;
use crate::harness::events::added_nodes;
use crate::harness::live::Stage;
use crate::harness::report::Mode;
use crate::harness::shard::Share;
use crate::harness::slowdb::{api_key_prefix, SlowDb, ValueSizes};
use crate::harness::workload::Bound;

/// Refuses a plan a run cannot carry out, before anything starts; this
/// driver's share of the run otherwise.
pub(super) fn check(plan: &RunPlan) -> Result<Share, RunError> {
    let workload = &plan.workload;
    if plan.target.is_some() {
        if let Some((index, event)) = workload
            .events
            .iter()
            .enumerate()
            .find(|(_, event)| !event.action.applies_to_a_target())
        {
            return Err(RunError::EventOnTarget {
                index,
                event: event.to_string(),
            });
        }
    }
    let shard = plan.coordination.shard;
    if !shard.is_whole() && plan.target.is_none() {
        return Err(RunError::ShardWithoutTarget(shard));
    }
    if let Some(ahead) = plan
        .coordination
        .start_at
        .and_then(|asked| asked.duration_since(SystemTime::now()).ok())
        .filter(|ahead| *ahead >= workload.time_limit.0)
    {
        return Err(RunError::StartTooFar {
            ahead,
            time_limit: workload.time_limit,
        });
    }
    if workload.trace.is_some() != plan.trace.is_some() {
        return Err(RunError::TraceNotScanned);
    }
    Ok(shard.share_of(workload)?)
}

/// What the run drives and reads: the cluster it started or the target
/// it reached.
pub(super) struct Connected {
    /// Reads the counters of the cluster's nodes or the target's.
    pub(super) observer: Observer,
    /// The API's base URL.
    pub(super) base_url: String,
    /// Each request's path and query up to the key's number.
    pub(super) path_prefix: String,
    /// A cluster of the run's own, or a target.
    pub(super) mode: Mode,
}

/// Starts the run's cluster over a store of `values`, or reaches the
/// target and makes a client for each of its peers.
pub(super) async fn connect(plan: &RunPlan, values: &ValueSizes) -> Result<Connected, RunError> {
    let workload = &plan.workload;
    Ok(match &plan.target {
        None => {
            let db = SlowDb::with_values(
                workload.keys,
                values.clone(),
                workload.slowdb,
                (workload.cluster.nodes + added_nodes(&workload.events)) as usize,
            );
            let cluster =
                Cluster::start_with(&workload.cluster, db, plan.base_port, plan.faults).await?;
            Connected {
                base_url: cluster.api_url(),
                observer: Observer::Local(Arc::new(cluster)),
                path_prefix: api_key_prefix("/api", None),
                mode: Mode::Cluster,
            }
        }
        Some(target) => {
            let (base, prefix) =
                split_target("--target", &plan.resolve.apply(target), plan.allow_remote)?;
            let timeout = workload.timeout.0;
            let client = |url: &str| HttpClient::new(url, timeout);
            let mut peers = Vec::new();
            for peer in &plan.peers {
                let reached = plan.resolve.apply(peer);
                let (peer_base, _) = split_target("--peers", &reached, plan.allow_remote)?;
                peers.push((peer.trim_end_matches('/').to_owned(), client(&peer_base)?));
            }
            let api = client(&base)?;
            // A target that cannot be reached ends the run before it starts;
            // one that answers anything (even 404) is there.
            let waited = plan.coordination.wait_for_target;
            if let Err(source) = reach(&api, waited).await {
                return Err(RunError::Unreachable {
                    url: target.clone(),
                    source,
                    waited,
                });
            }
            Connected {
                observer: Observer::Remote {
                    api,
                    peers,
                    failures: Unread::default(),
                },
                base_url: base,
                path_prefix: prefix,
                mode: Mode::Target,
            }
        }
    })
}

/// Asks the target for `/_stats` until it answers anything, for at most
/// `wait` (once without it); the last failure otherwise.
async fn reach(api: &HttpClient, wait: Option<Duration>) -> Result<(), ClientError> {
    let deadline = Instant::now() + wait.unwrap_or_default();
    let mut pause = Duration::from_millis(50);
    loop {
        match api.get("/_stats").await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() + pause >= deadline => return Err(error),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// The loopback limit the run is read against: measured now (the live
/// view says so), given, or none.
pub(super) async fn calibration(
    plan: &RunPlan,
    share: &Share,
) -> Result<Option<Calibration>, RunError> {
    let workload = &plan.workload;
    if let (Some(live), Calibrate::Measure(duration)) = (&plan.live, &plan.calibrate) {
        // A one-hop and a two-hop server, each for the duration.
        live.stage(Stage::Calibrating, Some(Bound::Duration(*duration * 2)), 0);
    }
    Ok(match &plan.calibrate {
        Calibrate::Measure(duration) => Some(
            calibration::calibrate(
                share.concurrency as usize,
                *duration,
                workload.value_size as usize,
            )
            .await
            .map_err(RunError::Calibration)?,
        ),
        Calibrate::Given(calibration) => Some(calibration.clone()),
        Calibrate::Skip => None,
    })
}

/// A trace paced at its own times: the measured reads' timeline; or the
/// stages' schedule; or none.
pub(super) fn timeline(plan: &RunPlan) -> Option<RateSchedule> {
    let workload = &plan.workload;
    plan.trace
        .as_ref()
        .and_then(|index| {
            let speed = workload.trace.as_ref()?.speed?;
            let timeline = index.timeline.as_ref()?;
            Some(RateSchedule::from_timeline(
                &timeline.runs,
                timeline.resolution_ms,
                speed,
            ))
        })
        .or_else(|| workload.stage_schedule())
}
