//! What an event of a scenario cost, read off the series around it: its
//! baseline level, the errors and extra slow-store loads in its window, and
//! the time until the cluster was back. The series' last interval may be
//! partial: its expected loads are weighed by its length, and it cannot
//! count as a recovered interval. Events in the same interval cannot be
//! told apart by the series: their cost is measured once, on the first of
//! them, and the others say so (`cost_with`).

use super::schema::{Baseline, EventFigures};
use super::series::IntervalFigures;
use crate::harness::events::Event;
use crate::harness::scenario::Applied;

/// Intervals before an event that make its baseline.
const BASELINE_INTERVALS: usize = 3;
/// Consecutive intervals back at the baseline that make a recovery.
const RECOVERY_INTERVALS: usize = 3;

/// What each event did and cost, from what applying it recorded and the
/// run's series of `interval_secs` intervals, which ended at `end_secs`.
pub fn costs(
    events: &[Event],
    applied: &[Option<Applied>],
    series: &[IntervalFigures],
    (interval_secs, end_secs): (f64, f64),
) -> Vec<EventFigures> {
    let mut figures: Vec<EventFigures> = events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let done = applied.get(index).cloned().flatten();
            EventFigures {
                event: event.clone(),
                applied: done.is_some(),
                at_secs: done.as_ref().map(|done| done.at_secs),
                applied_at_request: done.as_ref().map(|done| done.at_request),
                error: done.as_ref().and_then(|done| done.error.clone()),
                baseline: None,
                errors: 0,
                extra_slowdb_loads: None,
                recovery_secs: None,
                window_secs: None,
                moved_share: done.as_ref().and_then(|done| done.moved_share),
                ideal_moved_share: done.as_ref().and_then(|done| done.ideal_moved_share),
                cost_with: None,
            }
        })
        .collect();
    // In time order: an event that comes before the one before it has
    // recovered (a node starts again, a brownout ends) is measured against
    // the level before that one, the undisturbed cluster.
    let mut order: Vec<(f64, usize)> = figures
        .iter()
        .enumerate()
        .filter_map(|(index, figures)| Some((figures.at_secs?, index)))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Events in one interval share it: the first measures, the others
    // point to it.
    let interval_of = |at: f64| {
        if interval_secs > 0.0 {
            (at / interval_secs).floor() as i64
        } else {
            0
        }
    };
    let mut carried: Option<Baseline> = None;
    let mut position = 0;
    while position < order.len() {
        let (at, leader) = order[position];
        let group = order[position..]
            .iter()
            .take_while(|&&(time, _)| interval_of(time) == interval_of(at))
            .count();
        let next = order.get(position + group).map(|&(time, _)| time);
        cost_of(
            &mut figures[leader],
            at,
            next,
            carried,
            series,
            (interval_secs, end_secs),
        );
        for &(_, index) in &order[position + 1..position + group] {
            figures[index].cost_with = Some(leader);
        }
        let figures = &figures[leader];
        carried = figures.baseline.filter(|_| figures.recovery_secs.is_none());
        position += group;
    }
    figures
}

/// Fills in the baseline, recovery and window of an event at `at` seconds,
/// the next one (if any) at `next`.
fn cost_of(
    figures: &mut EventFigures,
    at: f64,
    next: Option<f64>,
    carried: Option<Baseline>,
    series: &[IntervalFigures],
    (length, end_secs): (f64, f64),
) {
    if series.is_empty() || length <= 0.0 {
        return;
    }
    // Each interval's length: the last may be cut short by the end.
    let span = |at: usize| {
        (end_secs - series[at].client.start_secs)
            .min(length)
            .max(0.0)
    };
    let whole = |at: usize| span(at) >= length * (1.0 - 1e-9);
    let slot = |time: f64| ((time / length).floor().max(0.0) as usize).min(series.len());
    let first = slot(at);
    // The window may reach the next event's interval, not past it.
    let last = next.map_or(series.len(), |next| {
        slot(next).max(first + 1).min(series.len())
    });
    let loads = |at: usize| {
        series[at]
            .cluster
            .as_ref()
            .map(|cluster| cluster.slowdb_loads)
    };
    let hit = |at: usize| {
        series[at]
            .cluster
            .as_ref()
            .and_then(|cluster| cluster.api_hit_ratio)
    };
    let before: Vec<usize> = (first.saturating_sub(BASELINE_INTERVALS)..first).collect();
    let base_loads: Vec<u64> = before.iter().filter_map(|&at| loads(at)).collect();
    let baseline = carried.or_else(|| {
        (!base_loads.is_empty()).then(|| {
            let hits: Vec<f64> = before.iter().filter_map(|&at| hit(at)).collect();
            Baseline {
                slowdb_loads_per_sec: base_loads.iter().sum::<u64>() as f64
                    / base_loads.len() as f64
                    / length,
                errors_per_sec: before
                    .iter()
                    .map(|&at| series[at].client.errors)
                    .sum::<u64>() as f64
                    / before.len() as f64
                    / length,
                api_hit_ratio: (!hits.is_empty())
                    .then(|| hits.iter().sum::<f64>() / hits.len() as f64),
            }
        })
    });
    figures.baseline = baseline;
    let recovered = |at: usize| -> bool {
        let Some(baseline) = baseline else {
            return false;
        };
        let Some(count) = loads(at) else {
            return false;
        };
        // A partial interval is left out, as steadiness leaves it out.
        if !whole(at) {
            return false;
        }
        let loads_ok = count as f64 <= baseline.slowdb_loads_per_sec * length * 1.1 + 1.0;
        let errors_ok =
            series[at].client.errors as f64 <= baseline.errors_per_sec * length * 1.1 + 1.0;
        let hit_ok = match baseline.api_hit_ratio {
            None => true,
            Some(base) => hit(at).is_some_and(|ratio| ratio >= base * 0.9),
        };
        loads_ok && hit_ok && errors_ok
    };
    let recovery = (first + 1..last).find(|&start| {
        start + RECOVERY_INTERVALS <= last && (start..start + RECOVERY_INTERVALS).all(&recovered)
    });
    let end = recovery.unwrap_or(last);
    let end_secs = match (recovery, next) {
        (Some(recovery), _) => recovery as f64 * length,
        (None, Some(next)) => next,
        (None, None) => series
            .last()
            .map_or(0.0, |entry| entry.client.start_secs + length)
            .min(end_secs.max(at)),
    };
    figures.recovery_secs = recovery.map(|recovery| (recovery as f64 * length - at).max(0.0));
    figures.window_secs = Some((end_secs - at).max(0.0));
    figures.errors = series[first..end]
        .iter()
        .map(|entry| entry.client.errors)
        .sum();
    if let Some(baseline) = baseline {
        // The loads the rate before would have made in the window's
        // intervals, each for as long as it lasted.
        let (counted, seconds) = (first..end)
            .filter_map(|at| Some((loads(at)?, span(at))))
            .fold((0u64, 0.0), |(count, secs), (loads, span)| {
                (count + loads, secs + span)
            });
        let expected = baseline.slowdb_loads_per_sec * seconds;
        figures.extra_slowdb_loads = Some((counted as f64 - expected).round() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::driver::ClientInterval;
    use crate::harness::events::Action;
    use crate::harness::report::series::ClusterInterval;

    fn scenario_series(loads: &[u64], hits: &[f64], errors: &[u64]) -> Vec<IntervalFigures> {
        (0..loads.len())
            .map(|at| IntervalFigures {
                client: ClientInterval {
                    interval: at as u64,
                    start_secs: at as f64,
                    requests: 1000,
                    throughput_rps: 1000.0,
                    p50_us: Some(100),
                    p99_us: Some(900),
                    errors: errors[at],
                },
                cluster: Some(ClusterInterval {
                    api_hits: Some((hits[at] * 1000.0) as u64),
                    api_hit_ratio: Some(hits[at]),
                    peer_fetches: 0,
                    peer_errors: 0,
                    slowdb_loads: loads[at],
                    slowdb_load_errors: 0,
                    evictions: 0,
                    nodes: Vec::new(),
                }),
            })
            .collect()
    }

    fn stop(at: f64) -> (Event, Applied) {
        let event: Event =
            serde_json::from_str(r#"{"at": "3s", "action": "stop_node", "node": 2}"#).unwrap();
        let applied = Applied {
            at_secs: at,
            at_request: 3000,
            ..Applied::default()
        };
        (event, applied)
    }

    #[test]
    fn an_events_cost_is_read_off_the_series() {
        let loads = [10, 10, 10, 100, 60, 20, 10, 11, 10, 10];
        let hits = [0.5, 0.5, 0.5, 0.3, 0.4, 0.44, 0.46, 0.5, 0.5, 0.5];
        let errors = [0, 0, 0, 4, 1, 0, 0, 0, 0, 7];
        let series = scenario_series(&loads, &hits, &errors);
        let (event, applied) = stop(3.2);
        let figures = costs(
            std::slice::from_ref(&event),
            &[Some(applied.clone())],
            &series,
            (1.0, 10.0),
        );
        let cost = &figures[0];
        let baseline = cost.baseline.unwrap();
        assert_eq!(baseline.slowdb_loads_per_sec, 10.0);
        assert_eq!(baseline.api_hit_ratio, Some(0.5));
        // Intervals 6, 7 and 8 are back (11 <= 10 x 1.1 + 1, 0.46 >= 0.45):
        // recovered at 6 s, 2.8 s after the event.
        assert!((cost.recovery_secs.unwrap() - 2.8).abs() < 1e-9);
        assert!((cost.window_secs.unwrap() - 2.8).abs() < 1e-9);
        // The window is intervals 3 to 5: 180 loads where 30 were the rate.
        assert_eq!(cost.extra_slowdb_loads, Some(150));
        assert_eq!(cost.errors, 5);
        assert_eq!(cost.applied_at_request, Some(3000));

        // A next event at 5.5 s ends the window before the recovery.
        let (mut next, mut next_applied) = stop(5.5);
        next.action = Action::StartNode {
            node: 2,
            keep_cache: false,
        };
        next_applied.at_secs = 5.5;
        let both = costs(
            &[event.clone(), next],
            &[Some(applied.clone()), Some(next_applied)],
            &series,
            (1.0, 10.0),
        );
        assert_eq!(both[0].recovery_secs, None);
        assert!((both[0].window_secs.unwrap() - 2.3).abs() < 1e-9);
        // The next event's interval is the next event's: intervals 3 and 4.
        assert_eq!(both[0].extra_slowdb_loads, Some(140));
        // The stop had not recovered: the start is measured against the
        // level before the stop.
        assert_eq!(both[1].baseline, both[0].baseline);

        // Never back: loads stay high to the end.
        let high = scenario_series(
            &[10, 10, 10, 50, 50, 50, 50, 50, 50, 50],
            &[0.5; 10],
            &[0; 10],
        );
        let never = costs(
            std::slice::from_ref(&event),
            &[Some(applied.clone())],
            &high,
            (1.0, 10.0),
        );
        assert_eq!(never[0].recovery_secs, None);
        assert!((never[0].window_secs.unwrap() - 6.8).abs() < 1e-9);
        assert_eq!(never[0].extra_slowdb_loads, Some(7 * 40));

        // In the first interval there is nothing to compare with.
        let early = costs(
            std::slice::from_ref(&event),
            &[Some(stop(0.4).1)],
            &series,
            (1.0, 10.0),
        );
        assert_eq!(
            (early[0].baseline, early[0].extra_slowdb_loads),
            (None, None)
        );
        // An event the run ended before is marked so.
        let missed = costs(&[event], &[None], &series, (1.0, 10.0));
        assert!(!missed[0].applied && missed[0].at_secs.is_none());
    }

    #[test]
    fn a_partial_last_interval_counts_for_its_length() {
        // Ten intervals, the last cut at 9.25 s: a quarter of an interval.
        let series = scenario_series(
            &[10, 10, 10, 50, 50, 50, 50, 50, 50, 13],
            &[0.5; 10],
            &[0; 10],
        );
        let (event, applied) = stop(3.2);
        let cost = &costs(
            std::slice::from_ref(&event),
            &[Some(applied.clone())],
            &series,
            (1.0, 9.25),
        )[0];
        // Six whole intervals of 40 extra, and a quarter interval of 13
        // loads where 2.5 were the rate.
        assert_eq!(cost.extra_slowdb_loads, Some(6 * 40 + 11));
        assert_eq!(cost.recovery_secs, None);
        assert!((cost.window_secs.unwrap() - 6.05).abs() < 1e-9);
        // A partial interval that looks recovered (few loads because it is
        // short) does not make a recovery.
        let short_end = scenario_series(
            &[10, 10, 10, 50, 50, 50, 10, 10, 3, 0],
            &[0.5; 10],
            &[0; 10],
        );
        let cut = &costs(&[event], &[Some(applied)], &short_end, (1.0, 8.3))[0];
        assert_eq!(cut.recovery_secs, None, "{cut:?}");
    }

    #[test]
    fn events_in_one_interval_are_costed_once() {
        let loads = [10, 10, 10, 100, 60, 20, 10, 11, 10, 10];
        let series = scenario_series(&loads, &[0.5; 10], &[0, 0, 0, 4, 1, 0, 0, 0, 0, 0]);
        let (first, first_applied) = stop(3.2);
        let (second, mut second_applied) = stop(3.2);
        second_applied.at_secs = 3.2004;
        let both = costs(
            &[second.clone(), first.clone()],
            &[Some(second_applied), Some(first_applied.clone())],
            &series,
            (1.0, 10.0),
        );
        let alone = costs(&[first], &[Some(first_applied)], &series, (1.0, 10.0));
        // The earlier (index 1) carries the cost it has alone; the other
        // points to it and counts nothing.
        assert_eq!(both[1].errors, alone[0].errors);
        assert_eq!(both[1].extra_slowdb_loads, alone[0].extra_slowdb_loads);
        assert_eq!(both[1].recovery_secs, alone[0].recovery_secs);
        assert_eq!(both[1].cost_with, None);
        assert_eq!(both[0].cost_with, Some(1));
        assert_eq!((both[0].errors, both[0].extra_slowdb_loads), (0, None));
        let total: u64 = both.iter().map(|event| event.errors).sum();
        assert_eq!(total, 5);
    }

    #[test]
    fn event_figures_read_back_with_the_event_flattened() {
        let series = scenario_series(&[10; 6], &[0.5; 6], &[0; 6]);
        let (event, applied) = stop(3.2);
        let figures = costs(&[event], &[Some(applied)], &series, (1.0, 6.0));
        let json = serde_json::to_value(&figures).unwrap();
        assert_eq!(json[0]["action"], "stop_node");
        assert_eq!(json[0]["node"], 2);
        assert_eq!(json[0]["at"], "3s");
        let back: Vec<EventFigures> = serde_json::from_value(json).unwrap();
        assert_eq!(back, figures);
    }
}
