//! A capacity result for people: the table of every step of every trial,
//! each configuration's capacity with its interval and knee, the verdict
//! across configurations, and the latency-throughput chart (the hockey
//! stick) with the objective drawn across it.

use std::fmt::Write as _;

use super::objective::LatencyGoal;
use super::report::{CapacityResult, Configuration};
use super::search::Edge;
use super::step::{Step, Tail};
use crate::analysis::plot::{self, Axis, Panel, Scale, Series};
use crate::harness::registry::{API_HIT_RATIO, P50, P99, P99_9, PEER_FETCH_RATIO, THROUGHPUT};
use crate::intervals::{median_level_words, Change, Estimate, MIN_TRIALS};
use crate::table::{table as layout, TableStyle};

/// The whole result as text: a table of steps per trial, each
/// configuration's capacity, and the verdict across configurations.
pub fn table(result: &CapacityResult, style: TableStyle) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "objective: {} from each request's intended send, at most {:.2}% failed and {:.0}% unsent; \
         {} a step; the driver's ceiling {} req/s",
        result.objective,
        result.max_errors * 100.0,
        super::objective::MAX_UNSENT * 100.0,
        result.step,
        THROUGHPUT.show(Some(result.search.ceiling)),
    );
    for configuration in &result.configurations {
        let _ = writeln!(out, "\n{}", name(configuration));
        for (at, trial) in configuration.trials.iter().enumerate() {
            if configuration.trials.len() > 1 {
                let _ = writeln!(out, "trial {}", at + 1);
            }
            out.push_str(&steps_table(&trial.steps, style));
            let _ = writeln!(out, "{}", edge_words(&trial.edge));
        }
        let _ = writeln!(out, "{}", capacity_line(configuration));
    }
    if result.configurations.len() > 1 {
        out.push('\n');
        out.push_str(&verdict_table(result, style));
    }
    if result.interrupted {
        let _ = writeln!(
            out,
            "interrupted: the searches done so far, the last cut short"
        );
    }
    out
}

/// A configuration's name: its point, or the target driven.
pub fn name(configuration: &Configuration) -> String {
    match &configuration.point {
        Some(point) => point.to_string(),
        None => configuration.target.clone(),
    }
}

/// The table of a search's steps, in the order they ran.
pub fn steps_table(steps: &[Step], style: TableStyle) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "offered req/s",
        "achieved",
        "unsent",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "sent p50",
        "sent p99",
        "sent p99.9",
        "errors",
        "api hit",
        "peer fetch",
        "slow loads/s",
        "held",
    ]
    .map(str::to_owned)
    .to_vec()];
    for step in steps {
        let mut row = vec![
            THROUGHPUT.show(Some(step.offered_rps)),
            THROUGHPUT.show(Some(step.achieved_rps)),
            step.unsent.to_string(),
        ];
        row.extend(tail_cells(Some(&step.from_intended)));
        row.extend(tail_cells(step.from_send.as_ref()));
        row.push(step.errors.to_string());
        row.push(API_HIT_RATIO.show(step.api_hit_ratio));
        row.push(PEER_FETCH_RATIO.show(step.peer_fetch_ratio));
        row.push(
            step.slowdb_loads_per_sec
                .map_or("-".to_owned(), |loads| format!("{loads:.0}")),
        );
        let mut held = match &step.miss {
            None => "yes".to_owned(),
            Some(miss) => format!("no: {miss}"),
        };
        if !step.steady {
            held.push_str(" (UNSTEADY: its p99 was still climbing; try a longer --step)");
        }
        row.push(held);
        rows.push(row);
    }
    layout(&rows, |column| column == 13, style)
}

fn tail_cells(tail: Option<&Tail>) -> [String; 3] {
    let show = |figure: &crate::harness::registry::Figure, value: Option<u64>| {
        figure.show(value.map(|value| value as f64))
    };
    [
        show(&P50, tail.map(|tail| tail.p50)),
        show(&P99, tail.map(|tail| tail.p99)),
        show(&P99_9, tail.map(|tail| tail.p99_9)),
    ]
}

/// What a search found, in words.
pub fn edge_words(edge: &Edge) -> String {
    let rate = |rate: f64| THROUGHPUT.show(Some(rate));
    match *edge {
        Edge::Between { held, failed } => {
            format!("held at {} req/s, failed at {}", rate(held), rate(failed))
        }
        Edge::NeverHeld { failed } => format!(
            "NEVER HELD: the objective failed at {} req/s, the lowest rate tried \
             (try a lower --start or a looser --slo); no capacity",
            rate(failed)
        ),
        Edge::HeldToCeiling { held } => format!(
            "HELD TO THE DRIVER'S CEILING: it met the objective at {} req/s, as fast as this \
             driver sends; its capacity is beyond what can be measured here, not {}",
            rate(held),
            rate(held)
        ),
        Edge::Unfinished { held, failed } => format!(
            "UNFINISHED: the steps ran out (held at {}, failed at {}); raise --max-steps \
             or --precision; no capacity",
            held.map_or("none".to_owned(), rate),
            failed.map_or("none".to_owned(), rate)
        ),
    }
}

/// An estimate as `41300 req/s [39800, 42100]`.
fn rate_estimate(estimate: &Estimate) -> String {
    let mut text = format!("{} req/s", THROUGHPUT.show(Some(estimate.median)));
    if let (Some(low), Some(high)) = (estimate.low, estimate.high) {
        let _ = write!(
            text,
            " [{}, {}]",
            THROUGHPUT.show(Some(low)),
            THROUGHPUT.show(Some(high))
        );
    }
    text
}

/// A configuration's capacity and knee in a line.
pub fn capacity_line(configuration: &Configuration) -> String {
    let trials = configuration.trials.len();
    let mut line = match &configuration.capacity {
        Some(capacity) => format!("capacity: {}", rate_estimate(capacity)),
        None => "capacity: unknown (see above)".to_owned(),
    };
    if trials > 1 && configuration.capacity.is_some() {
        let _ = write!(
            line,
            ", the median of {trials} trials' highest rate held; {}",
            median_level_words(trials)
        );
    }
    match &configuration.knee {
        Some(knee) => {
            let _ = write!(
                line,
                "\nknee: {} (where the objective's percentile first reached twice its level at the lowest rate)",
                rate_estimate(knee)
            );
        }
        None => line.push_str("\nknee: none (the objective's percentile never doubled)"),
    }
    line
}

/// A rate's interval as a cell: `[39800, 42100]`, or `-`.
pub fn interval_cell(estimate: Option<&Estimate>) -> String {
    estimate
        .and_then(|estimate| Some((estimate.low?, estimate.high?)))
        .map_or("-".to_owned(), |(low, high)| {
            format!(
                "[{}, {}]",
                THROUGHPUT.show(Some(low)),
                THROUGHPUT.show(Some(high))
            )
        })
}

/// A change with its interval as a cell: `-22.9% [-25.1%, -20.3%]`, or `-`.
pub fn change_cell(change: Option<&Change>) -> String {
    change.map_or("-".to_owned(), |change| {
        let mut cell = format!("{:+.1}%", change.change * 100.0);
        if let (Some(low), Some(high)) = (change.low, change.high) {
            let _ = write!(cell, " [{:+.1}%, {:+.1}%]", low * 100.0, high * 100.0);
        }
        cell
    })
}

/// The configurations side by side, with the verdict.
fn verdict_table(result: &CapacityResult, style: TableStyle) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "configuration",
        "capacity req/s",
        "interval",
        "knee req/s",
        "vs most",
        "standing",
    ]
    .map(str::to_owned)
    .to_vec()];
    for configuration in &result.configurations {
        let capacity = configuration.capacity.as_ref();
        rows.push(vec![
            short_name(configuration),
            THROUGHPUT.show(capacity.map(|estimate| estimate.median)),
            interval_cell(capacity),
            THROUGHPUT.show(configuration.knee.map(|knee| knee.median)),
            change_cell(configuration.vs_most.as_ref()),
            configuration
                .standing
                .map_or("-", |standing| standing.name())
                .to_owned(),
        ]);
    }
    let mut out = layout(&rows, |column| column == 0 || column == 5, style);
    let trials = result
        .configurations
        .iter()
        .map(|configuration| configuration.trials.len())
        .min()
        .unwrap_or(0);
    out.push_str(&verdict_words(result, trials));
    out
}

fn verdict_words(result: &CapacityResult, trials: usize) -> String {
    use super::report::Standing;
    let most = result
        .configurations
        .iter()
        .find(|configuration| configuration.standing == Some(Standing::Most));
    let Some(most) = most else {
        return if trials < MIN_TRIALS {
            format!(
                "no verdict: {trials} trial(s) per configuration give no interval; \
                 --repeat {MIN_TRIALS} or more gives one\n"
            )
        } else {
            "no verdict: fewer than two configurations have a known capacity\n".to_owned()
        };
    };
    let ties: Vec<String> = result
        .configurations
        .iter()
        .filter(|configuration| configuration.standing == Some(Standing::Tie))
        .map(name)
        .collect();
    let confidence = result
        .configurations
        .iter()
        .filter_map(|configuration| configuration.vs_most?.confidence)
        .fold(f64::INFINITY, f64::min);
    let mut words = format!("holds the most: {}", name(most));
    if ties.is_empty() {
        let _ = write!(words, ", clearly above every other");
    } else {
        let _ = write!(words, "; no clear difference from {}", ties.join("; "));
    }
    if confidence.is_finite() {
        let _ = write!(
            words,
            " (each change's interval covers with {:.1}% confidence)",
            confidence * 100.0
        );
    }
    words.push('\n');
    words
}

/// The latency-throughput chart of a result: see [`chart_of`].
pub fn chart(result: &CapacityResult) -> String {
    let labelled: Vec<(String, &Configuration)> = result
        .configurations
        .iter()
        .map(|configuration| (short_name(configuration), configuration))
        .collect();
    chart_of(
        &format!(
            "latency from the intended send against the offered rate ({})",
            result.workload.name
        ),
        &result.objective,
        &labelled,
    )
}

/// A configuration's short name: `3n crc32 50r 16MiB`, or the target.
pub fn short_name(configuration: &Configuration) -> String {
    configuration
        .point
        .map_or_else(|| configuration.target.clone(), |point| point.short())
}

/// The latency-throughput chart: for each configuration and each of its
/// trials, the objective's percentile from the intended send against the
/// offered rate, step by step in rate order (one configuration of one
/// trial also shows its p50 and p99.9), the objective as a flat line, and
/// each known capacity marked. Against the offered rate, not the achieved:
/// past the capacity the achieved rate falls back while the latency
/// climbs, and the line would fold over itself.
pub fn chart_of(
    title: &str,
    objective: &LatencyGoal,
    configurations: &[(String, &Configuration)],
) -> String {
    let single = configurations.len() == 1
        && configurations
            .first()
            .is_some_and(|(_, configuration)| configuration.trials.len() == 1);
    let mut series = Vec::new();
    let mut markers = Vec::new();
    let mut widest: f64 = 0.0;
    for (label, configuration) in configurations {
        for (at, trial) in configuration.trials.iter().enumerate() {
            let mut steps: Vec<&Step> = trial.steps.iter().collect();
            steps.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
            widest = steps
                .iter()
                .map(|step| step.offered_rps)
                .fold(widest, f64::max);
            let name = if configuration.trials.len() > 1 {
                format!("{label} trial {}", at + 1)
            } else {
                label.clone()
            };
            let line = |name: String, value: &dyn Fn(&Step) -> Option<u64>| Series {
                name,
                points: steps
                    .iter()
                    .filter_map(|step| Some((step.offered_rps, value(step)?.max(1) as f64)))
                    .collect(),
                bars: Vec::new(),
            };
            if single {
                series.push(line(format!("{name} p50"), &|step| {
                    Some(step.from_intended.p50)
                }));
            }
            series.push(line(format!("{name} p{}", objective.percentile), &|step| {
                step.objective_us
            }));
            if single {
                series.push(line(format!("{name} p99.9"), &|step| {
                    Some(step.from_intended.p99_9)
                }));
            }
        }
        if let Some(capacity) = &configuration.capacity {
            markers.push((capacity.median, format!("capacity {label}")));
        }
    }
    let bound = objective.bound_us() as f64;
    series.push(Series {
        name: format!("objective {objective}"),
        points: vec![(0.0, bound), (widest.max(1.0), bound)],
        bars: Vec::new(),
    });
    plot::render(&[Panel {
        title: title.to_owned(),
        x: Axis::auto("offered rate (req/s)", Scale::Linear),
        y: Axis::auto("latency (us)", Scale::Log),
        series,
        markers,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::capacity::objective::Miss;
    use crate::analysis::capacity::report::tests::{point, sample, trial};
    use crate::analysis::capacity::report::{configuration, rank};
    use crate::analysis::capacity::run::Searched;

    fn step(offered: f64, p99: u64, held: bool) -> Step {
        Step {
            offered_rps: offered,
            achieved_rps: offered,
            unsent: 0,
            errors: 0,
            from_intended: Tail {
                p50: p99 / 4,
                p99,
                p99_9: p99 * 2,
            },
            from_send: None,
            objective_us: Some(p99),
            api_hit_ratio: Some(0.5),
            peer_fetch_ratio: None,
            slowdb_loads_per_sec: Some(12.0),
            steady: true,
            held,
            miss: (!held).then_some(Miss::Latency {
                got_us: p99,
                bound_us: 5000,
            }),
        }
    }

    fn result(capacities: &[[f64; 3]]) -> CapacityResult {
        let mut configurations: Vec<Configuration> = capacities
            .iter()
            .enumerate()
            .map(|(index, trials)| {
                let trials = trials
                    .iter()
                    .map(|&held| Searched {
                        steps: vec![
                            step(held / 2.0, 1000, true),
                            step(held, 1500, true),
                            step(held * 1.04, 9000, false),
                        ],
                        edge: Edge::Between {
                            held,
                            failed: held * 1.04,
                        },
                        knee_rps: Some(held * 1.02),
                        ..trial(Some(held))
                    })
                    .collect();
                configuration(point(index as u32 + 1), trials)
            })
            .collect();
        rank(&mut configurations);
        sample(configurations)
    }

    #[test]
    fn the_table_shows_every_step_the_capacity_and_the_verdict() {
        let result = result(&[[1000.0, 1010.0, 990.0], [2000.0, 2020.0, 1980.0]]);
        let text = table(&result, TableStyle::Aligned);
        for expected in [
            "objective: p99<=5ms from each request's intended send, at most 0.10% failed",
            "1 nodes, crc32, 50 replicas, 1MiB",
            "trial 3",
            "no: 9000 us > 5000 us",
            "held at 2020 req/s, failed at 2101",
            "capacity: 1000 req/s [990, 1010], the median of 3 trials",
            "75.0% confidence",
            "holds the most: 2 nodes, crc32, 50 replicas, 1MiB, clearly above every other",
        ] {
            assert!(text.contains(expected), "{expected:?} in\n{text}");
        }
        assert!(!text.contains("UNSTEADY"), "{text}");
        let markdown = table(&result, TableStyle::Markdown);
        assert!(
            markdown.contains("| offered req/s | achieved |") && markdown.contains("| ---: |"),
            "{markdown}"
        );
    }

    #[test]
    fn each_edge_says_what_it_means_and_the_chart_draws_the_objective() {
        assert!(edge_words(&Edge::NeverHeld { failed: 100.0 }).starts_with("NEVER HELD"));
        assert!(edge_words(&Edge::HeldToCeiling { held: 9.0 }).contains("not 9"));
        let unfinished = edge_words(&Edge::Unfinished {
            held: Some(10.0),
            failed: None,
        });
        assert!(
            unfinished.contains("held at 10, failed at none"),
            "{unfinished}"
        );
        let mut one = result(&[[1000.0, 1010.0, 990.0]]);
        one.configurations[0].trials.truncate(1);
        one.configurations[0].trials[0].steps[0].steady = false;
        let text = table(&one, TableStyle::Aligned);
        assert!(text.contains("UNSTEADY"), "{text}");
        let svg = chart(&one);
        assert!(svg.contains("objective p99&lt;=5ms"), "{svg}");
        assert!(svg.contains("capacity 1n crc32 50r 1MiB"), "{svg}");
        // One trial of one configuration: its p50 and p99.9 as well.
        assert!(svg.contains("1n crc32 50r 1MiB p50") && svg.contains("p99.9"));
    }
}
