//! A capacity search carried out: the driver's own ceiling measured (as
//! calibration measures the loopback limit), then one open-loop run a step
//! at the rates [`super::search`] asks for, each read and judged by
//! [`super::step`], until the edge is found, the steps run out or the
//! user stops it (what was measured is kept).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::objective::LatencyGoal;
use super::search::{knee, Edge, PlanError, Search, SearchPlan};
use super::step::Step;
use crate::harness::calibration::{self, CalibrationError};
use crate::harness::driver::{Control, StopReason};
use crate::harness::latency::HistogramError;
use crate::harness::run::{self, Calibrate, RunError, RunPlan};
use crate::harness::workload::{Workload, WorkloadError};
use crate::units::Span;

/// Where the driver's ceiling comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ceiling {
    /// Drive the one-hop reference server this long, closed loop, with the
    /// workload's concurrency.
    Measure(Duration),
    /// Taken as given, in requests per second.
    Given(f64),
}

impl Ceiling {
    /// The driver's ceiling in requests per second, for `workload`'s
    /// concurrency and value size.
    pub async fn rate(self, workload: &Workload) -> Result<f64, CapacityError> {
        let duration = match self {
            Ceiling::Given(rate) => return Ok(rate),
            Ceiling::Measure(duration) => duration,
        };
        let server = calibration::BareServer::one_hop(
            usize::try_from(workload.value_size).unwrap_or(usize::MAX),
        )
        .await
        .map_err(CapacityError::CeilingServer)?;
        let figures =
            calibration::drive(&server.url(), workload.concurrency as usize, duration).await;
        server.shutdown().await;
        Ok(figures?.throughput_rps)
    }
}

/// One search to carry out.
#[derive(Clone, Debug)]
pub struct CapacityPlan {
    /// Each step's run: its workload's rate and duration are the step's.
    pub run: RunPlan,
    /// What a step must meet.
    pub goal: LatencyGoal,
    /// The share of a step's requests that may fail.
    pub max_errors: f64,
    /// The rates: the start, the factor, the precision, the driver's
    /// ceiling and the most steps.
    pub search: SearchPlan,
    /// How long each step measures.
    pub step: Duration,
}

/// What one search found: a trial of a configuration's capacity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Searched {
    /// The API URL driven.
    pub target: String,
    /// Every step, in the order run.
    pub steps: Vec<Step>,
    /// Where the edge lies.
    pub edge: Edge,
    /// The highest rate that held, when the edge was found.
    pub capacity_rps: Option<f64>,
    /// Where the objective's percentile first reached twice its level at
    /// the lowest rate; `null` when it never did.
    pub knee_rps: Option<f64>,
    /// Whether the user stopped the search.
    pub interrupted: bool,
}

/// Why a capacity search could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    /// The search's settings cannot be followed.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A configuration cannot be run.
    #[error("{0}")]
    Workload(#[from] WorkloadError),
    /// The reference server of the driver's ceiling could not start.
    #[error("the driver's ceiling could not be measured: cannot start the reference server: {0}")]
    CeilingServer(std::io::Error),
    /// The driver's ceiling could not be measured.
    #[error("the driver's ceiling could not be measured: {0}")]
    Ceiling(#[from] CalibrationError),
    /// A step's run could not be carried out.
    #[error("the step at {rate:.0} req/s: {source}")]
    Step {
        /// The step's rate.
        rate: f64,
        /// Why.
        source: RunError,
    },
    /// A step's result could not be read.
    #[error("the step at {rate:.0} req/s: {source}")]
    Read {
        /// The step's rate.
        rate: f64,
        /// Why its histogram could not be read.
        source: HistogramError,
    },
}

/// Carries out one search by `plan`. A step that cannot run ends it with
/// its error; `done` hears each step as it is judged; after a stop the
/// search ends with the steps judged so far.
pub async fn search(
    plan: &CapacityPlan,
    control: &Arc<Control>,
    mut done: impl FnMut(&Step),
) -> Result<Searched, CapacityError> {
    let mut search = Search::new(plan.search)?;
    let mut steps = Vec::new();
    let mut target = String::new();
    let mut interrupted = false;
    while let Some(rate) = search.next_rate() {
        if control.stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        let mut step_plan = plan.run.clone();
        step_plan.calibrate = Calibrate::Skip;
        step_plan.workload.rate = Some(rate);
        step_plan.workload.duration = Some(Span(plan.step));
        step_plan.workload.requests = None;
        control.done.store(0, Ordering::Relaxed);
        let result = run::run(&step_plan, control)
            .await
            .map_err(|source| CapacityError::Step { rate, source })?;
        if result.client.stopped_by == StopReason::Interrupted {
            interrupted = true;
            break;
        }
        target.clone_from(&result.target);
        let step = Step::of(&result, rate, &plan.goal, plan.max_errors)
            .map_err(|source| CapacityError::Read { rate, source })?;
        done(&step);
        search.record(rate, step.held);
        steps.push(step);
    }
    let edge = search.found().unwrap_or_else(|| search.so_far());
    let curve: Vec<(f64, f64)> = steps
        .iter()
        .filter_map(|step| Some((step.offered_rps, step.objective_us? as f64)))
        .collect();
    Ok(Searched {
        target,
        capacity_rps: match edge {
            Edge::Between { held, .. } => Some(held),
            _ => None,
        },
        knee_rps: knee(&curve),
        steps,
        edge,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(objective: &str, max_steps: usize) -> CapacityPlan {
        let workload = crate::harness::workload::parse(
            r#"{ "keys": 1000, "warmup_requests": 500, "concurrency": 4, "interval": "250ms",
                 "slowdb": { "latency": { "kind": "none" } } }"#,
            "test",
            "capacity-test",
        )
        .unwrap();
        CapacityPlan {
            run: RunPlan::local(workload, "test"),
            goal: LatencyGoal::parse(objective).unwrap(),
            max_errors: 0.0,
            search: SearchPlan {
                start: 100.0,
                factor: 2.0,
                precision: 0.05,
                ceiling: 1e6,
                max_steps,
            },
            step: Duration::from_millis(750),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_step_runs_its_rate_on_a_real_cluster_and_is_judged() {
        let control = Arc::new(Control::default());
        // An objective any answer meets: every step holds, and three steps
        // are not enough to find an edge.
        let mut heard = Vec::new();
        let found = search(&plan("p99<=10s", 3), &control, |step| {
            heard.push(step.offered_rps)
        })
        .await
        .unwrap();
        assert_eq!(heard, [100.0, 200.0, 400.0]);
        let rates: Vec<f64> = found.steps.iter().map(|step| step.offered_rps).collect();
        assert_eq!(rates, heard);
        assert!(found.steps.iter().all(|step| step.held && step.errors == 0));
        // Each step ran its own schedule: 750 ms at its rate.
        for step in &found.steps {
            let scheduled = step.offered_rps * 0.75;
            let ended = step.achieved_rps * 0.75;
            assert!(ended <= scheduled * 1.05 + 2.0, "{step:?}");
        }
        assert_eq!(
            found.edge,
            Edge::Unfinished {
                held: Some(400.0),
                failed: None
            }
        );
        assert_eq!(found.capacity_rps, None);
        assert!(
            found.target.starts_with("http://127.0.0.1:"),
            "{}",
            found.target
        );
        // An objective no HTTP answer meets: the first step fails, and the
        // search says the target never held.
        let never = search(&plan("p50<=1us", 5), &control, |_| {})
            .await
            .unwrap();
        assert_eq!(never.steps.len(), 1);
        assert_eq!(never.edge, Edge::NeverHeld { failed: 100.0 });
        assert!(matches!(
            never.steps[0].miss,
            Some(super::super::objective::Miss::Latency { .. })
        ));
    }
}
