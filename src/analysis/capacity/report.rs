//! A capacity result: each configuration's trials (one search each, in
//! interleaved rounds as a sweep's), its capacity as the median of the
//! trials' edges with an interval, which configuration holds the most
//! where the intervals allow a verdict, and the result's file.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::objective::LatencyGoal;
use super::run::{search, CapacityError, CapacityPlan, Ceiling, Searched};
use super::search::{Search, SearchPlan};
use super::step::Step;
use crate::analysis::grid::GridPoint;
use crate::analysis::sweep::round_order;
use crate::harness::driver::Control;
use crate::harness::report::{self, Machine, ResultFileError};
use crate::harness::run::RunPlan;
use crate::harness::workload::Workload;
use crate::intervals::{self, Change, Estimate};
use crate::units::{rfc3339, Span};

/// The version of a capacity result's format.
pub const CAPACITY_SCHEMA_VERSION: u32 = 1;

/// What a capacity result's `kind` says, which tells it from a run's.
pub const CAPACITY_KIND: &str = "capacity";

/// What `capacity` measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityResult {
    /// [`CAPACITY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// [`CAPACITY_KIND`].
    pub kind: String,
    /// When the search began.
    pub started_at: String,
    /// The workload every step ran, before each configuration's values;
    /// its rate and duration are each step's own.
    pub workload: Workload,
    /// The objective.
    pub objective: LatencyGoal,
    /// The share of a step's requests that may fail.
    pub max_errors: f64,
    /// How long each step measured.
    pub step: Span,
    /// The rates tried: start, factor, precision, the driver's ceiling
    /// (measured on this machine, in requests per second) and the most
    /// steps of one search.
    pub search: SearchPlan,
    /// Every configuration, in the grid's order.
    pub configurations: Vec<Configuration>,
    /// Whether the user stopped it; what was measured is kept.
    pub interrupted: bool,
    /// The machine it ran on.
    pub machine: Machine,
}

/// One configuration's capacity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    /// Its nodes, hash, replicas and cache; `null` for a `--target`,
    /// taken as it is.
    pub point: Option<GridPoint>,
    /// The API URL driven.
    pub target: String,
    /// One search per trial.
    pub trials: Vec<Searched>,
    /// The median of the trials' capacities with its interval, when every
    /// trial found its edge.
    pub capacity: Option<Estimate>,
    /// The median of the trials' knees, with its interval.
    pub knee: Option<Estimate>,
    /// Against the configuration that holds the most.
    pub standing: Option<Standing>,
    /// Its capacity's change from the one that holds the most, with the
    /// interval of the trials' rank test.
    pub vs_most: Option<Change>,
}

/// A configuration's capacity against the one that holds the most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The highest median capacity.
    Most,
    /// The interval of its change from the most contains 0: no clear
    /// difference.
    Tie,
    /// The interval lies below 0: it holds less.
    Less,
}

impl Standing {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Standing::Most => "most",
            Standing::Tie => "tie",
            Standing::Less => "less",
        }
    }
}

/// The searches to carry out: every configuration, `repeat` times.
#[derive(Clone, Debug)]
pub struct CapacitiesPlan {
    /// The run of each step, before a configuration's values.
    pub run: RunPlan,
    /// The configurations; `None` runs `run` as it is (a `--target`).
    pub points: Vec<Option<GridPoint>>,
    /// What a step must meet.
    pub goal: LatencyGoal,
    /// The share of a step's requests that may fail.
    pub max_errors: f64,
    /// The rates; its ceiling is replaced by the one measured.
    pub search: SearchPlan,
    /// The driver's ceiling.
    pub ceiling: Ceiling,
    /// How long each step measures.
    pub step: Duration,
    /// Searches of each configuration, in interleaved rounds.
    pub repeat: u32,
}

/// Where a capacity search stands, for its progress lines.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The round (trial), from 0.
    pub round: u32,
    /// Rounds in all.
    pub rounds: u32,
    /// The configuration's index in the grid.
    pub configuration: usize,
    /// Configurations in all.
    pub configurations: usize,
}

/// Carries out `plan`: measures the driver's ceiling, then searches each
/// configuration once per round, the configurations in another order each
/// round. `heard` hears each step as it is judged. After a stop the result
/// holds the searches done so far, the last one cut short.
pub async fn capacities(
    plan: &CapacitiesPlan,
    control: &Arc<Control>,
    mut heard: impl FnMut(Progress, Option<&GridPoint>, &Step),
) -> Result<CapacityResult, CapacityError> {
    let started_at = rfc3339(SystemTime::now());
    let workload = &plan.run.workload;
    // Every configuration is checked before any runs.
    let mut runs = Vec::with_capacity(plan.points.len());
    for point in &plan.points {
        let mut run = plan.run.clone();
        if let Some(point) = point {
            run.workload.apply(&point.overrides(), &plan.run.source)?;
        }
        runs.push(run);
    }
    // The search's settings are checked before the ceiling is measured.
    Search::new(SearchPlan {
        ceiling: 1.0,
        ..plan.search
    })?;
    let mut search_plan = plan.search;
    search_plan.ceiling = plan.ceiling.rate(workload).await?;
    let rounds = plan.repeat.max(1);
    let mut trials: Vec<Vec<Searched>> = vec![Vec::new(); runs.len()];
    let mut interrupted = false;
    'rounds: for round in 0..rounds {
        for index in round_order(runs.len(), round) {
            if control.stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'rounds;
            }
            let progress = Progress {
                round,
                rounds,
                configuration: index,
                configurations: runs.len(),
            };
            let point = plan.points[index].as_ref();
            let one = CapacityPlan {
                run: runs[index].clone(),
                goal: plan.goal,
                max_errors: plan.max_errors,
                search: search_plan,
                step: plan.step,
            };
            let searched = search(&one, control, |step| heard(progress, point, step)).await?;
            let stopped = searched.interrupted;
            trials[index].push(searched);
            if stopped {
                interrupted = true;
                break 'rounds;
            }
        }
    }
    let mut configurations: Vec<Configuration> = plan
        .points
        .iter()
        .zip(trials)
        .filter(|(_, trials)| !trials.is_empty())
        .map(|(point, trials)| configuration(*point, trials))
        .collect();
    rank(&mut configurations);
    Ok(CapacityResult {
        schema_version: CAPACITY_SCHEMA_VERSION,
        kind: CAPACITY_KIND.to_owned(),
        started_at,
        workload: workload.clone(),
        objective: plan.goal,
        max_errors: plan.max_errors,
        step: Span(plan.step),
        search: search_plan,
        configurations,
        interrupted,
        machine: Machine::current(),
    })
}

/// A configuration's figures over its trials. Its capacity is stated only
/// when every trial found its edge: a trial that never held, held to the
/// driver's ceiling or ran out of steps leaves it unknown.
pub fn configuration(point: Option<GridPoint>, trials: Vec<Searched>) -> Configuration {
    let capacities: Option<Vec<f64>> = trials.iter().map(|trial| trial.capacity_rps).collect();
    let knees: Vec<f64> = trials.iter().filter_map(|trial| trial.knee_rps).collect();
    Configuration {
        point,
        target: trials
            .iter()
            .map(|trial| trial.target.clone())
            .find(|target| !target.is_empty())
            .unwrap_or_default(),
        capacity: capacities.and_then(|values| intervals::estimate(&values)),
        knee: intervals::estimate(&knees),
        trials,
        standing: None,
        vs_most: None,
    }
}

/// The trials' capacities of a configuration whose capacity is known.
pub fn capacities_of(configuration: &Configuration) -> Option<Vec<f64>> {
    configuration.capacity?;
    configuration
        .trials
        .iter()
        .map(|trial| trial.capacity_rps)
        .collect()
}

/// Marks each configuration with a known capacity against the one with
/// the highest median: its change from it, and `tie` or `less` where the
/// change's interval (3 trials a side or more) allows a verdict.
pub fn rank(configurations: &mut [Configuration]) {
    let known: Vec<(usize, Vec<f64>)> = configurations
        .iter()
        .enumerate()
        .filter_map(|(at, configuration)| Some((at, capacities_of(configuration)?)))
        .collect();
    if known.len() < 2 {
        return;
    }
    let median = |values: &[f64]| intervals::median(values).unwrap_or(0.0);
    let Some((most, most_values)) = known
        .iter()
        .max_by(|a, b| median(&a.1).total_cmp(&median(&b.1)))
        .cloned()
    else {
        return;
    };
    let mut any_verdict = false;
    for (at, values) in &known {
        if *at == most {
            continue;
        }
        let change = intervals::change(&most_values, values);
        let standing = change.and_then(|change| {
            change.low?;
            Some(match change.direction() {
                Some(false) => Standing::Less,
                _ => Standing::Tie,
            })
        });
        any_verdict |= standing.is_some();
        configurations[*at].vs_most = change;
        configurations[*at].standing = standing;
    }
    if any_verdict {
        configurations[most].standing = Some(Standing::Most);
    }
}

/// Writes `result` as pretty JSON to `path`, atomically.
pub fn write(result: &CapacityResult, path: &Path) -> Result<(), ResultFileError> {
    let mut json = serde_json::to_vec_pretty(result).map_err(ResultFileError::json(path))?;
    json.push(b'\n');
    report::write_bytes_atomically(&json, path)
}

/// Whether the JSON text is a capacity result (by its `kind`).
pub fn is_capacity(json: &str) -> bool {
    #[derive(Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    serde_json::from_str::<Kind>(json).is_ok_and(|kind| kind.kind.as_deref() == Some(CAPACITY_KIND))
}

/// Reads a capacity result; the error names the file and what is wrong.
pub fn read(path: &Path) -> Result<CapacityResult, ResultFileError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ResultFileError::Io {
        path: name.clone(),
        source,
    })?;
    let result: CapacityResult =
        serde_json::from_str(&text).map_err(ResultFileError::json(path))?;
    if result.kind != CAPACITY_KIND || result.schema_version > CAPACITY_SCHEMA_VERSION {
        return Err(ResultFileError::Kind {
            path: name,
            what: "capacity result",
            reads: CAPACITY_SCHEMA_VERSION,
            kind: result.kind,
            found: result.schema_version,
        });
    }
    Ok(result)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::capacity::search::Edge;
    use crate::geecache::HashKind;
    use crate::units::ByteSize;

    /// A trial that held at `capacity` and failed 5% above it, with no
    /// steps and its knee at half; `None`: one that never held.
    pub(crate) fn trial(capacity: Option<f64>) -> Searched {
        Searched {
            target: "http://127.0.0.1:1/api".into(),
            steps: Vec::new(),
            edge: match capacity {
                Some(held) => Edge::Between {
                    held,
                    failed: held * 1.05,
                },
                None => Edge::NeverHeld { failed: 100.0 },
            },
            capacity_rps: capacity,
            knee_rps: capacity.map(|capacity| capacity / 2.0),
            interrupted: false,
        }
    }

    /// `nodes` nodes, crc32, 50 replicas, 1MiB.
    pub(crate) fn point(nodes: u32) -> Option<GridPoint> {
        Some(GridPoint {
            ring: crate::harness::ownership::RingShape {
                nodes,
                replicas: 50,
                hash: HashKind::Crc32,
            },
            cache_bytes: ByteSize(1 << 20),
        })
    }

    /// A result of `configurations` under `p99<=5ms`, 0.1% errors, 5 s
    /// steps.
    pub(crate) fn sample(configurations: Vec<Configuration>) -> CapacityResult {
        CapacityResult {
            schema_version: CAPACITY_SCHEMA_VERSION,
            kind: CAPACITY_KIND.into(),
            started_at: "2026-12-06T00:00:00Z".into(),
            workload: crate::harness::workload::parse("{}", "test", "t").unwrap(),
            objective: LatencyGoal::parse("p99<=5ms").unwrap(),
            max_errors: 0.001,
            step: Span(Duration::from_secs(5)),
            search: SearchPlan {
                start: 1000.0,
                factor: 2.0,
                precision: 0.05,
                ceiling: 50_000.0,
                max_steps: 20,
            },
            configurations,
            interrupted: false,
            machine: Machine::current(),
        }
    }

    #[test]
    fn a_capacity_is_the_median_of_its_trials_with_their_interval() {
        let found = configuration(
            point(3),
            [1000.0, 1100.0, 900.0, 1050.0, 950.0, 1020.0]
                .map(|c| trial(Some(c)))
                .to_vec(),
        );
        let capacity = found.capacity.unwrap();
        assert_eq!(capacity.median, 1010.0);
        // Six trials: the interval of ranks 1 and 6 covers with 96.9%.
        assert_eq!((capacity.low, capacity.high), (Some(900.0), Some(1100.0)));
        assert!(capacity.confidence.unwrap() > 0.95);
        assert_eq!(found.knee.unwrap().median, 505.0);
        // One trial that never held leaves the capacity unknown.
        let mixed = configuration(point(3), vec![trial(Some(1000.0)), trial(None)]);
        assert_eq!(mixed.capacity, None);
        assert_eq!(capacities_of(&mixed), None);
    }

    #[test]
    fn the_configuration_that_holds_the_most_is_named_where_intervals_allow() {
        let of = |values: [f64; 4], nodes| {
            configuration(point(nodes), values.map(|c| trial(Some(c))).to_vec())
        };
        let mut configurations = vec![
            of([1000.0, 1010.0, 990.0, 1005.0], 1),
            of([2000.0, 2020.0, 1990.0, 2010.0], 3),
            of([1995.0, 2030.0, 1985.0, 2005.0], 5),
            configuration(point(7), vec![trial(None)]),
        ];
        rank(&mut configurations);
        let standings: Vec<Option<Standing>> = configurations
            .iter()
            .map(|configuration| configuration.standing)
            .collect();
        assert_eq!(
            standings,
            [
                Some(Standing::Less),
                Some(Standing::Most),
                Some(Standing::Tie),
                None
            ]
        );
        let less = configurations[0].vs_most.unwrap();
        assert!((less.change + 0.5).abs() < 0.01, "{less:?}");
        // Too few trials for an interval: changes but no verdict.
        let mut two = vec![
            configuration(point(1), vec![trial(Some(1000.0))]),
            configuration(point(3), vec![trial(Some(2000.0))]),
        ];
        rank(&mut two);
        assert!(two
            .iter()
            .all(|configuration| configuration.standing.is_none()));
        assert!((two[0].vs_most.unwrap().change + 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_result_is_told_from_a_run_and_read_back() {
        let result = sample(vec![configuration(point(3), vec![trial(Some(1000.0))])]);
        let directory =
            std::env::temp_dir().join(format!("geecache-capacity-{}", std::process::id()));
        let path = directory.join("capacity.json");
        write(&result, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(is_capacity(&text));
        assert!(!is_capacity(r#"{"schema_version": 9}"#));
        assert_eq!(read(&path).unwrap(), result);
        std::fs::write(&path, r#"{"kind": "capacity"}"#).unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains("capacity.json"), "{error}");
        // A newer format is refused, and the refusal says which it is.
        let mut newer = result.clone();
        newer.schema_version = CAPACITY_SCHEMA_VERSION + 1;
        write(&newer, &path).unwrap();
        let error = read(&path).unwrap_err();
        assert!(
            matches!(&error, ResultFileError::Kind { found, .. } if *found == newer.schema_version),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "{}: not a capacity result of format {CAPACITY_SCHEMA_VERSION} or older \
                 (kind \"capacity\", format {})",
                path.display(),
                newer.schema_version
            )
        );
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
