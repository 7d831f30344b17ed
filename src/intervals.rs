//! Statistics over repeated trials: the median of each timed figure with a
//! bootstrap percentile interval, and the relative change between the
//! medians of two sets of trials with its interval.
//!
//! The method (as criterion's for code): resample the trials with
//! replacement [`RESAMPLES`] times, take the median of each resample, and
//! keep the middle [`CONFIDENCE`] of those medians. For a change, each side
//! is resampled on its own and the change is `median(b*) / median(a*) - 1`.
//! The generator is seeded with a constant, so the same trials always give
//! the same interval. With fewer than [`MIN_TRIALS`] trials there is no
//! interval. With 3 to 5 trials the interval of a median is the range of
//! the trials (the resampled median is the smallest or the largest trial
//! more often than the outer 2.5% allow), which covers the true median with
//! 75% (3 trials) to 94% (5) probability; more trials narrow it.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// The share of resampled medians an interval keeps.
pub const CONFIDENCE: f64 = 0.95;
/// Resamples per interval.
pub const RESAMPLES: usize = 10_000;
/// The fewest trials that give an interval.
pub const MIN_TRIALS: usize = 3;
/// The generator's seed: the same trials give the same interval.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// How the intervals are made, in words, for results and reports.
pub const METHOD: &str = "median of the trials; 95% bootstrap percentile interval \
     (10000 resamples of the trials with replacement, fixed seed); none with fewer than 3 trials";

/// The median of `values`; `None` when there are none. NaNs sort last.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(median_of_sorted(&sorted))
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// A figure over trials: the median and, with enough trials, its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The median of the trials.
    pub median: f64,
    /// The interval's lower end; `null` with fewer than [`MIN_TRIALS`].
    pub low: Option<f64>,
    /// Its upper end.
    pub high: Option<f64>,
}

/// The median of `values` with its bootstrap interval; `None` when there
/// are no finite values.
pub fn estimate(values: &[f64]) -> Option<Estimate> {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let median = median(&values)?;
    let interval = (values.len() >= MIN_TRIALS).then(|| {
        let mut rng = SmallRng::seed_from_u64(SEED);
        let mut scratch = Vec::with_capacity(values.len());
        let medians: Vec<f64> = (0..RESAMPLES)
            .map(|_| resampled_median(&values, &mut scratch, &mut rng))
            .collect();
        percentile_interval(medians)
    });
    Some(Estimate {
        median,
        low: interval.map(|(low, _)| low),
        high: interval.map(|(_, high)| high),
    })
}

/// The relative change of a figure's median from one set of trials to
/// another, with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `median(b) / median(a) - 1`.
    pub change: f64,
    /// The interval's lower end; `null` when either side has fewer than
    /// [`MIN_TRIALS`] trials.
    pub low: Option<f64>,
    /// Its upper end.
    pub high: Option<f64>,
}

impl Change {
    /// Whether the interval lies wholly above (`Some(true)`) or below
    /// (`Some(false)`) zero; `None` when it contains zero or is missing.
    pub fn direction(&self) -> Option<bool> {
        match (self.low, self.high) {
            (Some(low), _) if low > 0.0 => Some(true),
            (_, Some(high)) if high < 0.0 => Some(false),
            _ => None,
        }
    }
}

/// The change of the median from trials `a` to trials `b`; `None` when
/// either side has no finite value or `a`'s median is 0.
pub fn change(a: &[f64], b: &[f64]) -> Option<Change> {
    let a: Vec<f64> = a.iter().copied().filter(|v| v.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|v| v.is_finite()).collect();
    let (base, new) = (median(&a)?, median(&b)?);
    if base == 0.0 {
        return None;
    }
    let interval = (a.len() >= MIN_TRIALS && b.len() >= MIN_TRIALS).then(|| {
        let mut rng = SmallRng::seed_from_u64(SEED);
        let (mut scratch_a, mut scratch_b) = (Vec::new(), Vec::new());
        let changes: Vec<f64> = (0..RESAMPLES)
            .filter_map(|_| {
                let base = resampled_median(&a, &mut scratch_a, &mut rng);
                let new = resampled_median(&b, &mut scratch_b, &mut rng);
                (base != 0.0).then(|| new / base - 1.0)
            })
            .collect();
        percentile_interval(changes)
    });
    Some(Change {
        change: new / base - 1.0,
        low: interval.map(|(low, _)| low),
        high: interval.map(|(_, high)| high),
    })
}

/// The median of a resample (with replacement) of `values`.
fn resampled_median(values: &[f64], scratch: &mut Vec<f64>, rng: &mut SmallRng) -> f64 {
    scratch.clear();
    scratch.extend((0..values.len()).map(|_| values[rng.random_range(0..values.len())]));
    scratch.sort_by(f64::total_cmp);
    median_of_sorted(scratch)
}

/// The middle [`CONFIDENCE`] of `values`.
fn percentile_interval(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let last = values.len().saturating_sub(1);
    let at = |quantile: f64| values[((quantile * last as f64).round() as usize).min(last)];
    (at(tail), at(1.0 - tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` values around `center`, spread by `noise` (a share), drawn
    /// from `seed`.
    fn trials(seed: u64, count: usize, center: f64, noise: f64) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..count)
            .map(|_| center * (1.0 + noise * (rng.random::<f64>() * 2.0 - 1.0)))
            .collect()
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn an_estimate_needs_three_trials_and_covers_its_median() {
        let two = estimate(&[10.0, 12.0]).unwrap();
        assert_eq!((two.median, two.low, two.high), (11.0, None, None));
        // Three or five trials: the interval is their range.
        let three = estimate(&[10.0, 12.0, 11.0]).unwrap();
        assert_eq!(
            (three.low, three.median, three.high),
            (Some(10.0), 11.0, Some(12.0))
        );
        let five = estimate(&[5.0, 1.0, 4.0, 2.0, 3.0]).unwrap();
        assert_eq!((five.low, five.high), (Some(1.0), Some(5.0)));
        // Many trials: narrower than the range, around the median.
        let many: Vec<f64> = (1..=41).map(f64::from).collect();
        let wide = estimate(&many).unwrap();
        assert_eq!(wide.median, 21.0);
        let (low, high) = (wide.low.unwrap(), wide.high.unwrap());
        assert!(
            low > 1.0 && low < 21.0 && high > 21.0 && high < 41.0,
            "{low} {high}"
        );
        // The same trials give the same interval.
        assert_eq!(estimate(&many), Some(wide));
    }

    #[test]
    fn identical_distributions_rarely_differ_and_a_ten_percent_shift_is_found() {
        let cases = 200;
        let mut false_alarms = 0;
        let mut found = 0;
        for seed in 0..cases {
            let a = trials(seed, 5, 1000.0, 0.05);
            let b = trials(seed + 10_000, 5, 1000.0, 0.05);
            let same = change(&a, &b).unwrap();
            assert!(same.low.unwrap() <= same.change && same.change <= same.high.unwrap());
            if same.direction().is_some() {
                false_alarms += 1;
            }
            let shifted = trials(seed + 20_000, 3, 1100.0, 0.01);
            let base = trials(seed + 30_000, 3, 1000.0, 0.01);
            let shift = change(&base, &shifted).unwrap();
            if shift.direction() == Some(true) {
                found += 1;
            }
            assert!((shift.change - 0.1).abs() < 0.03, "{shift:?}");
        }
        assert!(
            false_alarms * 10 < cases,
            "{false_alarms} of {cases} identical pairs called different"
        );
        assert_eq!(found, cases, "a 10% shift with 1% noise was missed");
    }

    #[test]
    fn a_change_without_enough_trials_has_no_interval() {
        let one = change(&[100.0], &[110.0]).unwrap();
        assert!((one.change - 0.1).abs() < 1e-12);
        assert_eq!((one.low, one.high, one.direction()), (None, None, None));
        assert!(change(&[0.0, 0.0, 0.0], &[1.0, 1.0, 1.0]).is_none());
        assert!(change(&[], &[1.0]).is_none());
        // A result compared with itself shows no clear difference.
        let same = [98.0, 103.0, 100.0, 97.0, 101.0];
        let itself = change(&same, &same).unwrap();
        assert_eq!(itself.change, 0.0);
        assert_eq!(itself.direction(), None);
    }
}
