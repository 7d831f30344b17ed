//! Advice from the miss-ratio curve and the ring: the smallest per-node
//! cache that meets a goal, and the fewest virtual nodes that spread the
//! keys evenly enough or move few enough of them when nodes join, each
//! with the figures that show it.
//!
//! A cache's misses only fall as it grows (LRU's inclusion: a cache holds
//! what every smaller one holds), so the smallest size is found by
//! bisection over the sizes the curve counts exactly. A ring's figures go
//! up and down with the replica count, so every count up to a bound is
//! placed, and the answer is the first that meets the goal, with the first
//! from which every larger count meets it too.

use serde::Serialize;

use crate::analysis::grid::in_parallel;
use crate::analysis::mrc::histogram::{edge_below, smallest_meeting};
use crate::analysis::mrc::{Curves, SizePoint};
use crate::analysis::ring::{analyse, analyse_change, Change};
use crate::geecache::HashKind;
use crate::harness::ownership::RingShape;
use crate::harness::report::RunResult;
use crate::intervals::max_over_mean;
use crate::intervals::{estimate, Estimate};

/// What each node's cache must achieve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CacheGoal {
    /// Hits over measured requests at least this.
    HitRatio {
        /// The least hit ratio, 0 to 1.
        hit_ratio: f64,
    },
    /// Bytes served from the caches over bytes asked for at least this.
    ByteHitRatio {
        /// The least byte hit ratio, 0 to 1.
        byte_hit_ratio: f64,
    },
    /// At most this many slow-store loads per second when the cluster
    /// serves `rate` requests per second.
    LoadsPerSecond {
        /// The most loads per second.
        loads_per_second: f64,
        /// Requests per second.
        rate: f64,
    },
}

impl CacheGoal {
    /// The goal in words.
    pub fn describe(&self, every_node: bool) -> String {
        let whom = if every_node {
            "every node"
        } else {
            "the cluster"
        };
        match *self {
            CacheGoal::HitRatio { hit_ratio } => {
                format!("hit ratio of {whom} at least {hit_ratio}")
            }
            CacheGoal::ByteHitRatio { byte_hit_ratio } => {
                format!("byte hit ratio of {whom} at least {byte_hit_ratio}")
            }
            CacheGoal::LoadsPerSecond {
                loads_per_second,
                rate,
            } => format!(
                "slow-store loads of {whom} at most {loads_per_second}/s at {rate} requests/s"
            ),
        }
    }

    /// The figure the goal bounds, at `point`: for the cluster, or the
    /// worst node's with `every_node`.
    pub fn figure(&self, curves: &Curves, point: &SizePoint, every_node: bool) -> f64 {
        let requests = curves.requests.max(1) as f64;
        match *self {
            CacheGoal::HitRatio { .. } if every_node => point
                .node_miss_ratio
                .iter()
                .map(|miss| 1.0 - miss)
                .fold(1.0, f64::min),
            CacheGoal::HitRatio { .. } => 1.0 - point.miss_ratio,
            CacheGoal::ByteHitRatio { .. } if every_node => curves
                .nodes
                .iter()
                .map(|node| {
                    let missed = node.misses_at(point.cache_bytes).1;
                    if node.bytes == 0 {
                        1.0
                    } else {
                        1.0 - missed / node.bytes as f64
                    }
                })
                .fold(1.0, f64::min),
            CacheGoal::ByteHitRatio { .. } => 1.0 - point.byte_miss_ratio,
            CacheGoal::LoadsPerSecond { rate, .. } if every_node => curves
                .nodes
                .iter()
                .map(|node| node.misses_at(point.cache_bytes).0 / requests * rate)
                .fold(0.0, f64::max),
            CacheGoal::LoadsPerSecond { rate, .. } => point.miss_ratio * rate,
        }
    }

    /// Whether `figure` meets the goal.
    pub fn met_by(&self, figure: f64) -> bool {
        // A hair of slack for sums of weights.
        const SLACK: f64 = 1e-12;
        match *self {
            CacheGoal::HitRatio { hit_ratio } => figure + SLACK >= hit_ratio,
            CacheGoal::ByteHitRatio { byte_hit_ratio } => figure + SLACK >= byte_hit_ratio,
            CacheGoal::LoadsPerSecond {
                loads_per_second, ..
            } => figure <= loads_per_second + SLACK,
        }
    }
}

/// The curve at one size, with the figure the goal bounds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    /// The curve there.
    #[serde(flatten)]
    pub point: SizePoint,
    /// The goal's figure there.
    pub figure: f64,
}

/// The smallest per-node cache for a goal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheAdvice {
    /// The goal.
    pub goal: CacheGoal,
    /// Whether every node must meet it, not only the cluster.
    pub every_node: bool,
    /// The smallest size that meets it; `None` when no size does.
    pub cache_bytes: Option<u64>,
    /// The curve at that size.
    pub at: Option<Evidence>,
    /// The curve at the next smaller size it counts exactly, which falls
    /// short: the smallest size lies above it, at most the answer.
    pub below: Option<Evidence>,
    /// The curve where every node holds all its keys: the best any size
    /// does, with only first uses (and keys the store lacks) missing.
    pub unbounded: Evidence,
    /// Measured requests each node's cache sees on this ring (the keys it
    /// owns), and the largest over the mean: hot keys weigh here as they
    /// do on the node, where a ring's key counts weigh every key alike.
    pub node_requests: Vec<u64>,
    /// The largest of `node_requests` over their mean.
    pub request_imbalance: f64,
}

/// The smallest per-node cache, among the sizes `curves` counts exactly
/// (every byte below 2 KiB, within a 1,024th above), that meets `goal`.
pub fn smallest_cache(curves: &Curves, goal: CacheGoal, every_node: bool) -> CacheAdvice {
    let evidence = |size: u64| {
        let point = curves.at(size);
        Evidence {
            figure: goal.figure(curves, &point, every_node),
            point,
        }
    };
    let top = curves.footprint().max(1);
    let found = smallest_meeting(top, |size| goal.met_by(evidence(size).figure));
    let unbounded = evidence(0);
    let node_requests: Vec<u64> = curves.nodes.iter().map(|node| node.requests).collect();
    let weights: Vec<f64> = node_requests.iter().map(|&count| count as f64).collect();
    CacheAdvice {
        request_imbalance: max_over_mean(&weights),
        node_requests,
        goal,
        every_node,
        cache_bytes: found,
        at: found.map(evidence),
        below: found.map(edge_below).filter(|&size| size > 0).map(evidence),
        unbounded,
    }
}

/// What the ring must achieve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RingGoal {
    /// The largest key count over the mean at most this (1 is even).
    pub imbalance: Option<f64>,
    /// At most this share of the keys moves when `join` nodes join.
    pub moved: Option<Moved>,
    /// Nodes that join, for `moved`.
    pub join: usize,
}

/// A bound on the keys that move when nodes join.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Moved {
    /// This share of the keys, 0 to 1.
    Share(f64),
    /// This many times the least any ring moves, K/(n+K).
    TimesIdeal(f64),
}

impl std::str::FromStr for Moved {
    type Err = String;

    fn from_str(text: &str) -> Result<Moved, String> {
        let (number, times) = match text.strip_suffix('x') {
            Some(number) => (number, true),
            None => (text, false),
        };
        let value: f64 = number.trim().parse().map_err(|_| {
            format!("{text:?} is not a share (0.3) or a multiple of the ideal (1.2x)")
        })?;
        match times {
            true if value >= 1.0 && value.is_finite() => Ok(Moved::TimesIdeal(value)),
            true => Err(format!(
                "{text:?}: no ring moves fewer keys than the ideal; give 1x or more"
            )),
            false if value > 0.0 && value <= 1.0 => Ok(Moved::Share(value)),
            false => Err(format!("{text:?}: a share above 0, at most 1")),
        }
    }
}

/// One replica count's ring figures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RingEvidence {
    /// Virtual nodes per node.
    pub replicas: u32,
    /// The largest key count over the mean.
    pub key_imbalance: f64,
    /// The share of keys that move when the nodes join; `None` when not
    /// asked.
    pub moved_share: Option<f64>,
    /// The least share any ring moves for that join.
    pub ideal_moved_share: Option<f64>,
}

impl RingGoal {
    /// Whether `evidence` meets every bound asked.
    pub fn met_by(&self, evidence: &RingEvidence) -> bool {
        let imbalance = self
            .imbalance
            .is_none_or(|most| evidence.key_imbalance <= most);
        let moved = match (self.moved, evidence.moved_share, evidence.ideal_moved_share) {
            (None, ..) => true,
            (Some(Moved::Share(most)), Some(share), _) => share <= most,
            (Some(Moved::TimesIdeal(times)), Some(share), Some(ideal)) => share <= ideal * times,
            _ => false,
        };
        imbalance && moved
    }

    /// The goal in words.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(most) = self.imbalance {
            parts.push(format!("key imbalance at most {most}"));
        }
        match self.moved {
            Some(Moved::Share(most)) => parts.push(format!(
                "at most {most} of the keys moved when {} join",
                nodes_word(self.join)
            )),
            Some(Moved::TimesIdeal(times)) => parts.push(format!(
                "at most {times}x the ideal share of keys moved when {} join",
                nodes_word(self.join)
            )),
            None => {}
        }
        parts.join(", ")
    }
}

fn nodes_word(count: usize) -> String {
    if count == 1 {
        "1 node".to_owned()
    } else {
        format!("{count} nodes")
    }
}

/// The fewest virtual nodes per node for a ring goal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaAdvice {
    /// The goal.
    pub goal: RingGoal,
    /// Nodes on the ring, its hash and the keys placed.
    pub nodes: u32,
    /// The ring's hash.
    pub hash: HashKind,
    /// Keys placed: `key0` .. `key{keys-1}`.
    pub keys: u64,
    /// Every count from 1 to this was placed.
    pub searched: u32,
    /// The fewest replicas that meet the goal; `None` when none up to
    /// `searched` does.
    pub replicas: Option<u32>,
    /// The ring's figures there.
    pub at: Option<RingEvidence>,
    /// The figures of the count just below, which fall short.
    pub below: Option<RingEvidence>,
    /// The fewest replicas from which every count up to `searched` meets
    /// the goal too: safe against a count's luck; `None` when the largest
    /// count falls short.
    pub steady_from: Option<u32>,
    /// The count of the best figure searched (the least imbalance, or the
    /// fewest keys moved when only that is asked), for when none meets it.
    pub best: RingEvidence,
}

/// Places the keys on a ring of every replica count from 1 to `most` (on
/// all cores) and finds the fewest that meet `goal`.
pub fn fewest_replicas(
    nodes: u32,
    hash: HashKind,
    keys: u64,
    goal: RingGoal,
    most: u32,
) -> ReplicaAdvice {
    let most = most.max(1);
    let evidence: Vec<RingEvidence> = in_parallel(most as usize, |at| {
        let replicas = at as u32 + 1;
        let config = RingShape {
            nodes,
            replicas,
            hash,
        };
        match goal.moved {
            Some(_) => {
                let change = analyse_change(config, Change::Join(goal.join.max(1)), keys);
                RingEvidence {
                    replicas,
                    key_imbalance: change.key_imbalance_before,
                    moved_share: Some(change.moved_share),
                    ideal_moved_share: Some(change.ideal_moved_share),
                }
            }
            None => RingEvidence {
                replicas,
                key_imbalance: analyse(config, keys).key_imbalance,
                moved_share: None,
                ideal_moved_share: None,
            },
        }
    });
    let first = evidence.iter().position(|each| goal.met_by(each));
    let steady = evidence
        .iter()
        .rposition(|each| !goal.met_by(each))
        .map_or(Some(0), |last_short| {
            (last_short + 1 < evidence.len()).then_some(last_short + 1)
        });
    let score = |each: &RingEvidence| match (goal.imbalance, each.moved_share) {
        (None, Some(share)) => share,
        _ => each.key_imbalance,
    };
    let best = *evidence
        .iter()
        .min_by(|a, b| score(a).total_cmp(&score(b)))
        .expect("at least one count");
    ReplicaAdvice {
        goal,
        nodes,
        hash,
        keys,
        searched: most,
        replicas: first.map(|at| at as u32 + 1),
        at: first.map(|at| evidence[at]),
        below: first
            .and_then(|at| at.checked_sub(1))
            .map(|at| evidence[at]),
        steady_from: steady.map(|at| at as u32 + 1),
        best,
    }
}

/// How a run of the advised configuration landed against the curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Landing {
    /// Trials run.
    pub trials: usize,
    /// The curve's slow-store loads per measured request.
    pub predicted: f64,
    /// The trials' loads per request: their median and its interval.
    pub measured: Estimate,
    /// Whether the interval (or, without one, the median) holds the
    /// prediction.
    pub within: bool,
    /// The median's distance from the prediction, in loads per request.
    pub off_by: f64,
    /// The goal's figure from the measured loads (hit ratio, or loads per
    /// second at the goal's rate); `None` for a byte goal or one of every
    /// node, which a run does not count (the bytes loaded, the requests
    /// each node owns).
    pub goal_figure: Option<Estimate>,
    /// Whether the median meets the goal; `None` as `goal_figure`.
    pub goal_met: Option<bool>,
    /// Per node, the curve's loads and the median trial's.
    pub node_loads: Vec<(u64, Option<u64>)>,
}

/// How the trials of `result` landed against `predicted`, the curve at
/// the advised size, for `goal` (of every node with `every_node`).
pub fn landing(
    goal: CacheGoal,
    every_node: bool,
    predicted: &SizePoint,
    result: &RunResult,
) -> Landing {
    let per_trial: Vec<f64> = result
        .trials
        .iter()
        .filter_map(|trial| Some(trial.slowdb_loads? as f64 / trial.requests.max(1) as f64))
        .collect();
    let measured = estimate(&per_trial).unwrap_or(Estimate::point(f64::NAN));
    let within = match (measured.low, measured.high) {
        (Some(low), Some(high)) => low <= predicted.miss_ratio && predicted.miss_ratio <= high,
        _ => measured.median == predicted.miss_ratio,
    };
    let goal_values: Option<Vec<f64>> = match goal {
        _ if every_node => None,
        CacheGoal::HitRatio { .. } => Some(per_trial.iter().map(|miss| 1.0 - miss).collect()),
        CacheGoal::LoadsPerSecond { rate, .. } => {
            Some(per_trial.iter().map(|miss| miss * rate).collect())
        }
        CacheGoal::ByteHitRatio { .. } => None,
    };
    let goal_figure = goal_values.and_then(|values| estimate(&values));
    Landing {
        trials: per_trial.len(),
        predicted: predicted.miss_ratio,
        measured,
        within,
        off_by: measured.median - predicted.miss_ratio,
        goal_met: goal_figure.map(|figure| goal.met_by(figure.median)),
        goal_figure,
        node_loads: predicted
            .node_loads
            .iter()
            .enumerate()
            .map(|(at, &loads)| {
                let run = result.nodes.get(at).and_then(|node| node.slowdb_loads);
                (loads, run)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::mrc::{curves, Sampling};
    use crate::harness::ownership::RingShape;
    use crate::harness::report::{schema::tests::sample, Trial};
    use crate::harness::workload::parse;

    fn small_curves() -> Curves {
        let workload = parse(
            r#"{"keys": 2000, "distribution": {"kind": "zipf", "exponent": 0.9},
                "requests": 20000, "warmup_requests": 2000, "value_size": 100,
                "cluster": {"nodes": 3, "replicas": 20}}"#,
            "test",
            "advise",
        )
        .unwrap();
        let ring = RingShape {
            nodes: 3,
            replicas: 20,
            hash: HashKind::Crc32,
        };
        curves(&workload, ring, Sampling::Exact, &[]).unwrap()
    }

    #[test]
    fn the_smallest_cache_meets_the_goal_and_the_size_below_does_not() {
        let curves = small_curves();
        for goal in [
            CacheGoal::HitRatio { hit_ratio: 0.6 },
            CacheGoal::HitRatio { hit_ratio: 0.8 },
            CacheGoal::ByteHitRatio {
                byte_hit_ratio: 0.7,
            },
            CacheGoal::LoadsPerSecond {
                loads_per_second: 2500.0,
                rate: 10_000.0,
            },
        ] {
            for every_node in [false, true] {
                let advice = smallest_cache(&curves, goal, every_node);
                let size = advice.cache_bytes.expect("reachable");
                let at = advice.at.as_ref().unwrap();
                assert!(goal.met_by(at.figure), "{goal:?} {at:?}");
                let below = advice.below.as_ref().unwrap();
                assert!(!goal.met_by(below.figure), "{goal:?} {below:?}");
                assert!(below.point.cache_bytes < size);
                // Every size tried below the answer falls short; every
                // size above meets it.
                for step in 1..=20u64 {
                    let smaller = below.point.cache_bytes * step / 20;
                    let figure = goal.figure(&curves, &curves.at(smaller.max(1)), every_node);
                    assert!(!goal.met_by(figure), "{goal:?} at {smaller}");
                    let larger = size + size * step / 5;
                    let figure = goal.figure(&curves, &curves.at(larger), every_node);
                    assert!(goal.met_by(figure), "{goal:?} at {larger}");
                }
            }
        }
        // The worst node asks for at least as much as the cluster.
        let goal = CacheGoal::HitRatio { hit_ratio: 0.8 };
        assert!(
            smallest_cache(&curves, goal, true).cache_bytes
                >= smallest_cache(&curves, goal, false).cache_bytes
        );
    }

    #[test]
    fn a_goal_past_the_first_uses_is_out_of_reach() {
        let curves = small_curves();
        // Only first uses miss once every key fits.
        let best = 1.0 - curves.at(0).miss_ratio;
        assert!(best > 0.9 && best < 1.0, "{best}");
        let advice = smallest_cache(
            &curves,
            CacheGoal::HitRatio {
                hit_ratio: (best + 1.0) / 2.0,
            },
            false,
        );
        assert_eq!(advice.cache_bytes, None);
        assert!((advice.unbounded.figure - best).abs() < 1e-12);
        // Just at the best it is met, at most at the largest node's keys.
        let advice = smallest_cache(&curves, CacheGoal::HitRatio { hit_ratio: best }, false);
        let size = advice.cache_bytes.unwrap();
        assert!(size <= crate::analysis::mrc::histogram::representable_above(curves.footprint()));
    }

    #[test]
    fn the_fewest_replicas_are_the_first_count_that_meets_the_goal() {
        let config = |replicas, hash| RingShape {
            nodes: 3,
            replicas,
            hash,
        };
        for (hash, most) in [(HashKind::Xxh3, 1.2), (HashKind::Crc32, 1.3)] {
            let goal = RingGoal {
                imbalance: Some(most),
                moved: None,
                join: 1,
            };
            let advice = fewest_replicas(3, hash, 20_000, goal, 200);
            let replicas = advice.replicas.expect("met");
            assert!(replicas > 1, "{hash}: one replica is never this even");
            let imbalance = |replicas| analyse(config(replicas, hash), 20_000).key_imbalance;
            assert_eq!(advice.at.unwrap().key_imbalance, imbalance(replicas));
            assert!(imbalance(replicas) <= most);
            for fewer in 1..replicas {
                assert!(imbalance(fewer) > most, "{hash} {fewer}");
            }
            assert_eq!(advice.below.unwrap().replicas, replicas - 1);
            // Steady: every count from it meets the goal, the one before
            // does not.
            let steady = advice.steady_from.expect("200 replicas spread 3 nodes");
            assert!(steady >= replicas);
            for more in steady..=200 {
                assert!(imbalance(more) <= most, "{hash} {more}");
            }
            if steady > replicas {
                assert!(imbalance(steady - 1) > most);
            }
            assert!(advice.best.key_imbalance <= advice.at.unwrap().key_imbalance);
        }
        // crc32 on a run's node names stays uneven as replicas grow: a
        // small count meets 1.1 by luck, but no count from which every
        // larger one does.
        let goal = RingGoal {
            imbalance: Some(1.1),
            moved: None,
            join: 1,
        };
        let advice = fewest_replicas(3, HashKind::Crc32, 20_000, goal, 200);
        let lucky = advice.replicas.expect("a lucky count");
        assert_eq!(advice.steady_from, None);
        assert!(analyse(config(200, HashKind::Crc32), 20_000).key_imbalance > 1.1);
        assert!(analyse(config(lucky, HashKind::Crc32), 20_000).key_imbalance <= 1.1);
    }

    /// A result whose trials loaded `loads` each over 1,000 requests.
    fn trials_with_loads(loads: &[u64]) -> RunResult {
        let mut result = sample();
        result.trials = loads
            .iter()
            .map(|&loads| Trial {
                requests: 1000,
                slowdb_loads: Some(loads),
                ..Trial::of(&result)
            })
            .collect();
        result
    }

    fn point(loads: u64) -> SizePoint {
        SizePoint {
            cache_bytes: 4096,
            node_miss_ratio: vec![0.0],
            node_loads: vec![loads],
            loads,
            miss_ratio: loads as f64 / 1000.0,
            byte_miss_ratio: 0.0,
        }
    }

    #[test]
    fn a_run_lands_within_its_trials_interval_or_says_how_far_off() {
        let goal = CacheGoal::HitRatio { hit_ratio: 0.75 };
        // Six trials: the interval is their range (96.9%).
        let result = trials_with_loads(&[248, 250, 249, 251, 250, 252]);
        let landed = landing(goal, false, &point(251), &result);
        assert_eq!(landed.trials, 6);
        assert_eq!(landed.measured.low, Some(0.248));
        assert_eq!(landed.measured.high, Some(0.252));
        assert!(landed.within);
        assert!((landed.off_by - (0.250 - 0.251)).abs() < 1e-12);
        // The median's hit ratio, 0.75, meets the goal.
        assert_eq!(landed.goal_met, Some(true));
        assert!((landed.goal_figure.unwrap().median - 0.75).abs() < 1e-12);
        let outside = landing_of(&result, 253, goal);
        assert!(!outside.within);
        // Two trials: no interval; only the median counts.
        let two = trials_with_loads(&[250, 252]);
        assert!(landing_of(&two, 251, goal).within);
        assert!(!landing_of(&two, 250, goal).within);
        // Missed: hit ratio 0.749 < 0.75.
        let missed = trials_with_loads(&[251, 251, 251]);
        assert_eq!(landing_of(&missed, 251, goal).goal_met, Some(false));
        // Loads per second at the goal's rate: 0.25 x 2,000 = 500.
        let rate = CacheGoal::LoadsPerSecond {
            loads_per_second: 500.0,
            rate: 2000.0,
        };
        let per_second = landing_of(&result, 251, rate);
        assert!((per_second.goal_figure.unwrap().median - 500.0).abs() < 1e-9);
        assert_eq!(per_second.goal_met, Some(true));
        // What a run does not count is not judged.
        let bytes = CacheGoal::ByteHitRatio {
            byte_hit_ratio: 0.5,
        };
        assert_eq!(landing_of(&result, 251, bytes).goal_met, None);
        assert_eq!(landing(goal, true, &point(251), &result).goal_met, None);
    }

    fn landing_of(result: &RunResult, predicted: u64, goal: CacheGoal) -> Landing {
        landing(goal, false, &point(predicted), result)
    }

    #[test]
    fn keys_moved_on_join_bound_the_replicas_as_a_share_or_a_multiple() {
        assert_eq!("0.3".parse::<Moved>(), Ok(Moved::Share(0.3)));
        assert_eq!("1.2x".parse::<Moved>(), Ok(Moved::TimesIdeal(1.2)));
        assert!("0.5x".parse::<Moved>().unwrap_err().contains("1x or more"));
        assert!("1.5".parse::<Moved>().unwrap_err().contains("at most 1"));
        assert!("many".parse::<Moved>().unwrap_err().contains("not a share"));
        // Few keys moved alone is easy (a joiner that takes little); with
        // an even spread, it takes more replicas.
        let goal = RingGoal {
            imbalance: Some(1.15),
            moved: Some(Moved::TimesIdeal(1.1)),
            join: 1,
        };
        let advice = fewest_replicas(4, HashKind::Xxh3, 10_000, goal, 64);
        let at = advice.at.expect("met");
        // One node joining four moves a fifth of the keys at best.
        assert_eq!(at.ideal_moved_share, Some(0.2));
        assert!(at.moved_share.unwrap() <= 0.22 && at.key_imbalance <= 1.15);
        let figures = |replicas| {
            analyse_change(
                RingShape {
                    nodes: 4,
                    replicas,
                    hash: HashKind::Xxh3,
                },
                Change::Join(1),
                10_000,
            )
        };
        let change = figures(at.replicas);
        assert_eq!(Some(change.moved_share), at.moved_share);
        assert_eq!(change.key_imbalance_before, at.key_imbalance);
        assert!(at.replicas > 1);
        for fewer in 1..at.replicas {
            let change = figures(fewer);
            assert!(
                change.moved_share > 0.22 || change.key_imbalance_before > 1.15,
                "{fewer}"
            );
        }
        // Out of reach: no count up to 2 meets a near-ideal bound.
        let strict = RingGoal {
            moved: Some(Moved::TimesIdeal(1.0001)),
            ..goal
        };
        let advice = fewest_replicas(4, HashKind::Xxh3, 10_000, strict, 2);
        assert_eq!(advice.replicas, None);
        assert_eq!(advice.steady_from, None);
        assert!(advice.best.moved_share.is_some());
    }
}
