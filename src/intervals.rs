//! Statistics: the median of each timed figure over repeated trials with an
//! interval, and the change between two sets of trials with its interval,
//! each stating the confidence it really has for its number of trials.
//!
//! Both intervals are distribution-free and exact for any continuous
//! distribution of the trials (no normal model, no resampling):
//!
//! - A median's interval over n trials is a pair of order statistics,
//!   `[x(k), x(n+1-k)]`: it covers the true median with probability
//!   `1 - 2 P(Binomial(n, 1/2) <= k-1)`. `k` is the largest whose coverage
//!   is at least [`CONFIDENCE`]; with fewer than 6 trials none is, and the
//!   interval is the trials' range with what it gives (75% for 3 trials,
//!   87.5% for 4, 93.75% for 5).
//! - A change's interval between m trials `a` and n trials `b` is the one
//!   that goes with the Mann-Whitney rank test (the Hodges-Lehmann
//!   interval): the m*n pairwise differences `f(b_j) - f(a_i)` sorted, of
//!   `f` the logarithm (or, where a value is not positive, the value over
//!   `a`'s median), and `[d(k), d(mn+1-k)]` of them. It covers the shift
//!   between the two distributions with probability `1 - 2 P(U <= k-1)`,
//!   `U` the Mann-Whitney count under no difference (exact, by counting
//!   orderings), and it excludes 0 exactly when the rank test rejects "no
//!   difference" at that level. 3 trials a side give at most 90%; 95% needs
//!   4 a side ([`trials_for_change`]).
//!
//! With fewer than [`MIN_TRIALS`] trials there is no interval. A change
//! also says how large a change these trials could have found: the shift
//! that the rank test at its level finds with probability [`POWER`], for
//! normal noise (of the logarithm) with the two sides' pooled spread.
//!
//! The plain summaries the rest of the crate shares live here too:
//! [`median`] and [`max_over_mean`] (how uneven a set of loads or shares
//! is).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// The confidence intervals aim for: the smallest coverage at or above it
/// that the trials allow, else the most they allow.
pub const CONFIDENCE: f64 = 0.95;
/// The chance of finding a change that "detectable" means.
pub const POWER: f64 = 0.8;
/// The fewest trials that give an interval.
pub const MIN_TRIALS: usize = 3;
/// Simulated pairs behind a power figure, at most (fewer for many trials).
const POWER_DRAWS: usize = 20_000;
/// The generator's seed: the same trials give the same figures.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// How the intervals are made, in words, for results and reports.
pub const METHOD: &str = "median of the trials; exact distribution-free intervals: order \
     statistics of the trials for a median, the Mann-Whitney (Hodges-Lehmann) interval of the \
     pairwise log ratios for a change; each states its real coverage (95% or the most its \
     trials give: 75% with 3, 94% with 5, 97% with 6; a change 90% with 3 a side, 97% with 4); \
     none with fewer than 3 trials";

/// The median of `values`; `None` when there are none. NaNs sort last.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(median_of_sorted(&sorted))
}

/// The largest value over the mean: 1 when all are equal, 0 for none.
pub fn max_over_mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    if mean > 0.0 {
        max / mean
    } else {
        0.0
    }
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
    /// The probability that the interval covers the true median (results
    /// written before it was stated lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

impl Estimate {
    /// A value with no interval.
    pub fn point(median: f64) -> Estimate {
        Estimate {
            median,
            low: None,
            high: None,
            confidence: None,
        }
    }
}

/// `P(Binomial(n, 1/2) <= k)`.
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    let mut term = 0.5f64.powi(n as i32);
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        sum += term;
        term *= (n - i) as f64 / (i + 1) as f64;
    }
    sum
}

/// Picks the rank `k` (1-based, from each end) of an interval from the
/// probability `tail(k - 1)` that the statistic falls at or below `k - 1`:
/// the largest `k` whose coverage `1 - 2 tail(k-1)` is at least
/// [`CONFIDENCE`], else 1. Returns `(k, coverage)`.
fn level(largest: usize, tail: impl Fn(usize) -> f64) -> (usize, f64) {
    let coverage = |k: usize| 1.0 - 2.0 * tail(k - 1);
    let mut k = 1;
    while k < largest && coverage(k + 1) >= CONFIDENCE - 1e-12 {
        k += 1;
    }
    (k, coverage(k))
}

/// The rank from each end and the coverage of the interval of a median of
/// `n` trials; `None` below [`MIN_TRIALS`].
pub fn median_level(n: usize) -> Option<(usize, f64)> {
    (n >= MIN_TRIALS).then(|| level(n.div_ceil(2), |k| binomial_half_cdf(n, k)))
}

/// The fewest trials whose median interval reaches [`CONFIDENCE`].
pub fn trials_for_median() -> usize {
    (MIN_TRIALS..)
        .find(|&n| median_level(n).is_some_and(|(_, coverage)| coverage >= CONFIDENCE))
        .unwrap_or(MIN_TRIALS)
}

/// `P(U <= u)` for every `u` in `0..=m*n`, `U` the Mann-Whitney count for
/// `m` and `n` trials when both come from one continuous distribution: the
/// coefficients of the Gaussian binomial `[m+n choose m]` over their sum.
fn mann_whitney_cdf(m: usize, n: usize) -> Vec<f64> {
    let top = m * n;
    let mut ways = vec![0.0f64; top + 1];
    ways[0] = 1.0;
    // [n+i choose i] = [n+i-1 choose i-1] (1 - q^(n+i)) / (1 - q^i), a
    // polynomial at every step.
    for i in 1..=m {
        let grow = n + i;
        for u in (grow..=top).rev() {
            ways[u] -= ways[u - grow];
        }
        for u in i..=top {
            ways[u] += ways[u - i];
        }
    }
    let total: f64 = ways.iter().sum();
    let mut sum = 0.0;
    ways.iter()
        .map(|&count| {
            sum += count;
            (sum / total).min(1.0)
        })
        .collect()
}

/// The rank from each end and the coverage of the interval of a change
/// between `m` and `n` trials; `None` when a side has fewer than
/// [`MIN_TRIALS`].
pub fn change_level(m: usize, n: usize) -> Option<(usize, f64)> {
    if m < MIN_TRIALS || n < MIN_TRIALS {
        return None;
    }
    let cdf = mann_whitney_cdf(m, n);
    Some(level((m * n).div_ceil(2), |k| cdf[k]))
}

/// The fewest trials a side whose change interval reaches [`CONFIDENCE`].
pub fn trials_for_change() -> usize {
    (MIN_TRIALS..)
        .find(|&n| change_level(n, n).is_some_and(|(_, coverage)| coverage >= CONFIDENCE))
        .unwrap_or(MIN_TRIALS)
}

/// What the intervals of `count` trials' medians give, in words.
pub fn median_level_words(count: usize) -> String {
    let needed = trials_for_median();
    match median_level(count) {
        None => format!("no interval: {} trials or more give one", MIN_TRIALS),
        Some((_, coverage)) if coverage >= CONFIDENCE => format!(
            "each interval covers the true median with {:.1}% confidence",
            coverage * 100.0
        ),
        Some((_, coverage)) => format!(
            "each interval, the trials' range, covers the true median with {:.1}% confidence: \
             the most {count} trials give; 95% needs {needed}",
            coverage * 100.0
        ),
    }
}

/// The median of `values` with its interval; `None` when there are no
/// finite values.
pub fn estimate(values: &[f64]) -> Option<Estimate> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = median(&sorted)?;
    let Some((k, coverage)) = median_level(sorted.len()) else {
        return Some(Estimate::point(median));
    };
    Some(Estimate {
        median,
        low: Some(sorted[k - 1]),
        high: Some(sorted[sorted.len() - k]),
        confidence: Some(coverage),
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
    /// The probability that the interval covers the true change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The smallest change (a share, either way) these trials find with
    /// [`POWER`] probability at that confidence, from their spread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectable: Option<f64>,
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

/// How values are compared: by their logarithm when all are positive,
/// else by their difference over the base's median.
#[derive(Clone, Copy)]
enum Scale {
    Log,
    Relative(f64),
}

impl Scale {
    fn of(value: f64, scale: Scale) -> f64 {
        match scale {
            Scale::Log => value.ln(),
            Scale::Relative(base) => value / base,
        }
    }

    /// A difference on this scale as a share of change.
    fn share(difference: f64, scale: Scale) -> f64 {
        match scale {
            Scale::Log => difference.exp_m1(),
            Scale::Relative(_) => difference,
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
    let mut result = Change {
        change: new / base - 1.0,
        low: None,
        high: None,
        confidence: None,
        detectable: None,
    };
    let Some((k, coverage)) = change_level(a.len(), b.len()) else {
        return Some(result);
    };
    let scale = if a.iter().chain(&b).all(|&v| v > 0.0) {
        Scale::Log
    } else {
        Scale::Relative(base.abs())
    };
    let fa: Vec<f64> = a.iter().map(|&v| Scale::of(v, scale)).collect();
    let fb: Vec<f64> = b.iter().map(|&v| Scale::of(v, scale)).collect();
    let mut differences: Vec<f64> = fb
        .iter()
        .flat_map(|&y| fa.iter().map(move |&x| y - x))
        .collect();
    differences.sort_by(f64::total_cmp);
    result.low = Some(Scale::share(differences[k - 1], scale));
    result.high = Some(Scale::share(differences[differences.len() - k], scale));
    result.confidence = Some(coverage);
    let spread = pooled_spread(&fa, &fb);
    result.detectable =
        detectable_in_spreads(a.len(), b.len()).map(|c| Scale::share(c * spread, scale));
    Some(result)
}

/// The pooled standard deviation of two samples about their own means.
fn pooled_spread(a: &[f64], b: &[f64]) -> f64 {
    let squares = |values: &[f64]| {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
    };
    let freedom = (a.len() + b.len()).saturating_sub(2).max(1);
    ((squares(a) + squares(b)) / freedom as f64).sqrt()
}

/// [`detection_shifts`] made, by trial counts.
type ShiftMemo = HashMap<(usize, usize), Arc<Vec<f64>>>;

/// For `m` and `n` trials of unit-variance normal noise, the shift of `b`
/// (in standard deviations) beyond which each of the simulated pairs is
/// found upward by the interval at its level, sorted: the share below a
/// shift is the chance of finding it.
fn detection_shifts(m: usize, n: usize) -> Option<Arc<Vec<f64>>> {
    static MEMO: OnceLock<Mutex<ShiftMemo>> = OnceLock::new();
    let (k, _) = change_level(m, n)?;
    let memo = MEMO.get_or_init(Default::default);
    if let Some(shifts) = memo.lock().ok()?.get(&(m, n)) {
        return Some(Arc::clone(shifts));
    }
    let draws = (4_000_000 / (m * n)).clamp(2_000, POWER_DRAWS);
    let mut rng = SmallRng::seed_from_u64(SEED);
    let (mut a, mut b) = (vec![0.0; m], vec![0.0; n]);
    let mut gaps = Vec::with_capacity(m * n);
    let mut shifts: Vec<f64> = (0..draws)
        .map(|_| {
            a.iter_mut().for_each(|x| *x = rng.sample(StandardNormal));
            b.iter_mut().for_each(|y| *y = rng.sample(StandardNormal));
            gaps.clear();
            gaps.extend(a.iter().flat_map(|&x| b.iter().map(move |&y| x - y)));
            // Found once the k-th smallest b - a, plus the shift, is above
            // 0: once the shift exceeds the k-th largest a - b.
            let at = gaps.len() - k;
            *gaps.select_nth_unstable_by(at, f64::total_cmp).1
        })
        .collect();
    shifts.sort_by(f64::total_cmp);
    let shifts = Arc::new(shifts);
    if let Ok(mut memo) = memo.lock() {
        memo.insert((m, n), Arc::clone(&shifts));
    }
    Some(shifts)
}

/// The chance that the interval of a change between `m` and `n` trials
/// finds a shift of `shift` standard deviations of normal noise (in its
/// direction); `None` without an interval.
pub fn power(m: usize, n: usize, shift: f64) -> Option<f64> {
    let shifts = detection_shifts(m, n)?;
    let below = shifts.partition_point(|&s| s < shift.abs());
    Some(below as f64 / shifts.len() as f64)
}

/// The shift, in standard deviations of normal noise, that the interval
/// of a change between `m` and `n` trials finds with [`POWER`]
/// probability; `None` without an interval.
pub fn detectable_in_spreads(m: usize, n: usize) -> Option<f64> {
    let shifts = detection_shifts(m, n)?;
    let at = ((POWER * shifts.len() as f64).ceil() as usize).min(shifts.len() - 1);
    Some(shifts[at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imbalance_is_the_largest_over_the_mean() {
        assert_eq!(max_over_mean(&[1.0, 1.0, 1.0]), 1.0);
        assert_eq!(max_over_mean(&[1.0, 3.0]), 1.5);
        assert_eq!(max_over_mean(&[]), 0.0);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn levels_are_the_exact_coverages() {
        // A median's: 1 - 2 P(Bin(n, 1/2) = 0) for the range.
        assert_eq!(median_level(2), None);
        assert_eq!(median_level(3), Some((1, 0.75)));
        assert_eq!(median_level(5), Some((1, 1.0 - 2.0 / 32.0)));
        assert_eq!(median_level(6), Some((1, 1.0 - 2.0 / 64.0)));
        // 8 trials: the second from each end covers 1 - 2 (1 + 8) / 256.
        let (k, coverage) = median_level(8).unwrap();
        assert_eq!(k, 1, "{coverage}");
        let (k, coverage) = median_level(20).unwrap();
        assert!(coverage >= CONFIDENCE && k > 1, "{k} {coverage}");
        assert_eq!(trials_for_median(), 6);
        // A change's: 3 v 3 has 20 orderings, 2 of them all on one side.
        let (k, coverage) = change_level(3, 3).unwrap();
        assert_eq!(k, 1);
        assert!((coverage - 0.9).abs() < 1e-12);
        // 5 v 5: P(U <= 2) = 4 / 252.
        let (k, coverage) = change_level(5, 5).unwrap();
        assert_eq!(k, 3);
        assert!((coverage - (1.0 - 8.0 / 252.0)).abs() < 1e-12);
        assert_eq!(change_level(2, 5), None);
        assert_eq!(trials_for_change(), 4);
        // The counts match enumeration of every ordering for 4 v 3.
        let cdf = mann_whitney_cdf(4, 3);
        let mut counts = [0usize; 13];
        for mask in 0u32..(1 << 7) {
            if mask.count_ones() == 4 {
                // U: pairs with an `a` (a set bit) before a `b`.
                let mut u = 0;
                let mut seen_a = 0;
                for bit in 0..7 {
                    if mask & (1 << bit) != 0 {
                        seen_a += 1;
                    } else {
                        u += seen_a;
                    }
                }
                counts[u] += 1;
            }
        }
        let mut sum = 0;
        for (u, count) in counts.iter().enumerate() {
            sum += count;
            assert!((cdf[u] - sum as f64 / 35.0).abs() < 1e-12, "{u}");
        }
    }

    #[test]
    fn an_estimate_needs_three_trials_and_states_its_coverage() {
        let two = estimate(&[10.0, 12.0]).unwrap();
        assert_eq!(two, Estimate::point(11.0));
        let three = estimate(&[10.0, 12.0, 11.0]).unwrap();
        assert_eq!(
            (three.low, three.median, three.high, three.confidence),
            (Some(10.0), 11.0, Some(12.0), Some(0.75))
        );
        let many: Vec<f64> = (1..=41).map(f64::from).collect();
        let wide = estimate(&many).unwrap();
        assert_eq!(wide.median, 21.0);
        let (low, high) = (wide.low.unwrap(), wide.high.unwrap());
        assert!(low > 1.0 && low < 21.0 && high > 21.0 && high < 41.0);
        assert!(wide.confidence.unwrap() >= CONFIDENCE);
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
        // Three a side apart: the interval is the range of their ratios.
        let apart = change(&[100.0, 101.0, 102.0], &[110.0, 111.0, 112.0]).unwrap();
        assert!((apart.low.unwrap() - (110.0 / 102.0 - 1.0)).abs() < 1e-12);
        assert!((apart.high.unwrap() - (112.0 / 100.0 - 1.0)).abs() < 1e-12);
        assert_eq!(apart.direction(), Some(true));
        // Values that are not all positive compare by their difference.
        let signed = change(&[-1.0, 1.0, 2.0], &[9.0, 10.0, 11.0]).unwrap();
        assert_eq!(signed.direction(), Some(true));
    }

    #[test]
    fn power_grows_with_the_shift_and_the_trials() {
        let at = |m, n, shift| power(m, n, shift).unwrap();
        // No shift: found upward by chance, half the false-verdict rate.
        assert!((at(3, 3, 0.0) - 0.05).abs() < 0.01);
        assert!(at(3, 3, 1.0) < at(3, 3, 3.0));
        assert!(at(5, 5, 2.0) < at(10, 10, 2.0));
        assert!(at(10, 10, 6.0) > 0.99);
        let three = detectable_in_spreads(3, 3).unwrap();
        let ten = detectable_in_spreads(10, 10).unwrap();
        assert!(ten < three, "{ten} {three}");
        assert!((at(10, 10, ten) - POWER).abs() < 0.01);
        assert_eq!(power(2, 3, 1.0), None);
    }
}
