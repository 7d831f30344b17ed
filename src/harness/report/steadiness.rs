//! How steady a run's throughput was from second to second (or, in a run
//! shorter than three seconds, from one 100 ms slice to the next): a trial
//! whose second or slice fell well below its median is marked unsteady.

use serde::{Deserialize, Serialize};

use crate::harness::driver::ClientInterval;

/// How steady throughput was from second to second, or slice to slice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Steadiness {
    /// The slowest whole second or slice, in requests per second.
    pub min_rps: f64,
    /// The median one.
    pub median_rps: f64,
    /// The fastest one.
    pub max_rps: f64,
    /// How long each was: 1 s, or a slice's length.
    pub step_secs: f64,
}

/// Requests that ended in each short slice of a run too short for three
/// whole seconds, the last slice partial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slices {
    /// Each slice's length, in seconds.
    pub slice_secs: f64,
    /// Requests that ended in each.
    pub requests: Vec<u64>,
}

impl Steadiness {
    /// The whole seconds of a series (intervals added up to seconds; the
    /// last, partial second left out) before `until_secs` (the first
    /// event: a scenario's dips are its subject, not noise); `None` with
    /// fewer than three.
    pub fn of<'a>(
        series: impl IntoIterator<Item = &'a ClientInterval>,
        until_secs: Option<f64>,
    ) -> Option<Steadiness> {
        let mut seconds: Vec<u64> = Vec::new();
        for interval in series {
            let second = interval.start_secs.floor() as usize;
            if seconds.len() <= second {
                seconds.resize(second + 1, 0);
            }
            seconds[second] += interval.requests;
        }
        Steadiness::of_steps(seconds, 1.0, until_secs)
    }

    /// The whole slices of a short run (the last, partial one left out)
    /// before `until_secs`; `None` with fewer than three.
    pub fn of_slices(slices: &Slices, until_secs: Option<f64>) -> Option<Steadiness> {
        Steadiness::of_steps(slices.requests.clone(), slices.slice_secs, until_secs)
    }

    /// Requests in steps of `step_secs`, the last partial.
    fn of_steps(
        mut steps: Vec<u64>,
        step_secs: f64,
        until_secs: Option<f64>,
    ) -> Option<Steadiness> {
        steps.pop();
        if let Some(until) = until_secs {
            steps.truncate((until / step_secs + 1e-9).floor().max(0.0) as usize);
        }
        if steps.len() < 3 || step_secs <= 0.0 {
            return None;
        }
        let mut rates: Vec<f64> = steps
            .iter()
            .map(|&requests| requests as f64 / step_secs)
            .collect();
        rates.sort_by(f64::total_cmp);
        Some(Steadiness {
            min_rps: rates[0],
            median_rps: rates[rates.len() / 2],
            max_rps: rates[rates.len() - 1],
            step_secs,
        })
    }

    /// What its steps were, for people: "seconds" or "100 ms slices".
    pub fn steps(&self) -> String {
        if self.step_secs >= 1.0 {
            "seconds".to_owned()
        } else {
            format!("{:.0} ms slices", self.step_secs * 1000.0)
        }
    }

    /// Its range in words: "ranged 41200-58160 req/s between 100 ms
    /// slices (median 49720)".
    pub fn range(&self) -> String {
        format!(
            "ranged {:.0}-{:.0} req/s between {} (median {:.0})",
            self.min_rps,
            self.max_rps,
            self.steps(),
            self.median_rps
        )
    }

    /// Whether a second (or slice) fell more than 15% below the median: on
    /// a shared machine, a neighbour took the CPU.
    pub fn unsteady(&self) -> bool {
        self.min_rps < 0.85 * self.median_rps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_whose_seconds_differ_much_is_unsteady() {
        let series = |length: f64, counts: &[u64]| -> Vec<ClientInterval> {
            counts
                .iter()
                .enumerate()
                .map(|(at, &requests)| ClientInterval {
                    interval: at as u64,
                    start_secs: at as f64 * length,
                    requests,
                    throughput_rps: requests as f64 / length,
                    p50_us: Some(500),
                    p99_us: Some(1000),
                    errors: 0,
                })
                .collect()
        };
        let steady = Steadiness::of(
            &series(1.0, &[80_000, 82_000, 79_000, 81_000, 10_000]),
            None,
        )
        .unwrap();
        // The last, partial second does not count.
        assert_eq!(steady.min_rps, 79e3);
        assert!(!steady.unsteady());
        let dipped = Steadiness::of(
            &series(1.0, &[80_000, 56_000, 81_000, 82_000, 40_000]),
            None,
        )
        .unwrap();
        assert_eq!((dipped.min_rps, dipped.median_rps), (56e3, 81e3));
        assert!(dipped.unsteady());
        assert_eq!(
            Steadiness::of(&series(1.0, &[80_000, 81_000, 1_000]), None),
            None
        );
        // Half-second intervals add up to seconds.
        let halves = series(
            0.5,
            &[
                40_000, 40_000, 41_000, 41_000, 20_000, 20_000, 39_000, 40_000, 5,
            ],
        );
        let seconds = Steadiness::of(&halves, None).unwrap();
        assert_eq!((seconds.min_rps, seconds.max_rps), (40e3, 82e3));
        assert!(seconds.unsteady());
        // Before an event at 2 s, the run was steady.
        assert_eq!(Steadiness::of(&halves, Some(2.0)), None);
        let before = Steadiness::of(
            &series(1.0, &[80_000, 81_000, 80_000, 20_000, 80_000, 1]),
            Some(3.5),
        );
        assert!(!before.unwrap().unsteady());
        assert_eq!(before.unwrap().steps(), "seconds");
    }

    #[test]
    fn a_short_run_is_judged_by_its_slices() {
        let slices = |requests: &[u64]| Slices {
            slice_secs: 0.1,
            requests: requests.to_vec(),
        };
        // 0.7 s: six whole slices and a partial one.
        let steady =
            Steadiness::of_slices(&slices(&[4000, 4100, 3900, 4050, 4000, 3950, 500]), None)
                .unwrap();
        assert!(!steady.unsteady());
        assert!((steady.min_rps - 39_000.0).abs() < 1e-6, "{steady:?}");
        assert_eq!(steady.steps(), "100 ms slices");
        assert_eq!(
            steady.range(),
            "ranged 39000-41000 req/s between 100 ms slices (median 40000)"
        );
        // A neighbour took the CPU for a tenth of a second.
        let dipped =
            Steadiness::of_slices(&slices(&[4000, 4100, 2000, 4050, 4000, 3950, 500]), None)
                .unwrap();
        assert!(dipped.unsteady());
        // Too short for three whole slices, or cut by an event at 0.25 s.
        assert_eq!(
            Steadiness::of_slices(&slices(&[4000, 4000, 10]), None),
            None
        );
        let run = slices(&[4000, 4000, 4000, 100, 4000, 4000, 10]);
        assert_eq!(Steadiness::of_slices(&run, Some(0.25)), None);
        assert!(!Steadiness::of_slices(&run, Some(0.3)).unwrap().unsteady());
        assert!(Steadiness::of_slices(&run, None).unwrap().unsteady());
    }
}
