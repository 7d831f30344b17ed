//! How steady a run's throughput was from second to second: a trial whose
//! second fell well below its median is marked unsteady.

use crate::harness::driver::ClientInterval;

/// How steady throughput was from second to second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Steadiness {
    /// The slowest whole second.
    pub min_rps: f64,
    /// The median whole second.
    pub median_rps: f64,
    /// The fastest whole second.
    pub max_rps: f64,
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
        seconds.pop();
        if let Some(until) = until_secs {
            seconds.truncate(until.floor().max(0.0) as usize);
        }
        if seconds.len() < 3 {
            return None;
        }
        let mut rates: Vec<f64> = seconds.iter().map(|&requests| requests as f64).collect();
        rates.sort_by(f64::total_cmp);
        Some(Steadiness {
            min_rps: rates[0],
            median_rps: rates[rates.len() / 2],
            max_rps: rates[rates.len() - 1],
        })
    }

    /// Whether a second fell more than 15% below the median: on a shared
    /// machine, a neighbour took the CPU.
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
    }
}
