//! The intervals' stated confidence against their measured coverage, on
//! synthetic trials with known answers: pairs of trial sets drawn from one
//! distribution (every verdict is false) and from distributions 10% apart
//! (every missed verdict is a miss), at 3 v 3, 5 v 5 and 10 v 10 trials.

use geecache_bench::intervals::{self, change, estimate, power};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Exp, StandardNormal};

/// Pairs per case: the measured rates' standard error is under 0.3 points
/// at 5% and under 0.5 at 80%.
const PAIRS: u64 = 10_000;

/// `count` trials of a figure of median `center`: log-normal noise of
/// spread `spread` (on the logarithm).
fn lognormal(rng: &mut SmallRng, count: usize, center: f64, spread: f64) -> Vec<f64> {
    (0..count)
        .map(|_| center * (spread * rng.sample::<f64, _>(StandardNormal)).exp())
        .collect()
}

/// `count` trials skewed as a stalled machine skews them: a floor plus an
/// exponential tail.
fn skewed(rng: &mut SmallRng, count: usize, center: f64) -> Vec<f64> {
    let tail = Exp::new(1.0).unwrap();
    (0..count)
        .map(|_| center * (0.9 + 0.1 * rng.sample::<f64, _>(tail)))
        .collect()
}

/// The share of `PAIRS` pairs (a from `draw_a`, b from `draw_b`) whose
/// change came out upward, and whose came out either way; the stated
/// confidence of their intervals.
fn verdict_rates(
    seed: u64,
    draw_a: impl Fn(&mut SmallRng) -> Vec<f64>,
    draw_b: impl Fn(&mut SmallRng) -> Vec<f64>,
) -> (f64, f64, f64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut up, mut either, mut confidence) = (0, 0, None);
    for _ in 0..PAIRS {
        let a = draw_a(&mut rng);
        let b = draw_b(&mut rng);
        let found = change(&a, &b).unwrap();
        confidence = found.confidence;
        match found.direction() {
            Some(true) => {
                up += 1;
                either += 1;
            }
            Some(false) => either += 1,
            None => {}
        }
    }
    let share = |count: u64| count as f64 / PAIRS as f64;
    (share(up), share(either), confidence.unwrap())
}

#[test]
fn false_verdicts_happen_at_the_stated_rate() {
    for (seed, trials) in [(1u64, 3usize), (2, 5), (3, 10)] {
        let draw = |rng: &mut SmallRng| lognormal(rng, trials, 1000.0, 0.05);
        let (_, false_rate, confidence) = verdict_rates(seed, draw, draw);
        let stated = 1.0 - confidence;
        assert!(
            (false_rate - stated).abs() <= 0.02,
            "{trials} v {trials}: {false_rate} false verdicts against {stated} stated"
        );
        // The same for noise far from normal: the intervals assume no shape.
        let draw = |rng: &mut SmallRng| skewed(rng, trials, 1000.0);
        let (_, false_rate, _) = verdict_rates(seed + 100, draw, draw);
        assert!(
            (false_rate - stated).abs() <= 0.02,
            "{trials} v {trials}, skewed: {false_rate} against {stated}"
        );
        eprintln!("{trials} v {trials}: stated {stated:.4}, measured {false_rate:.4}");
    }
}

#[test]
fn a_ten_percent_shift_is_found_at_the_stated_power() {
    let spread = 0.05;
    for (seed, trials) in [(11u64, 3usize), (12, 5), (13, 10)] {
        let (found, _, _) = verdict_rates(
            seed,
            |rng| lognormal(rng, trials, 1000.0, spread),
            |rng| lognormal(rng, trials, 1100.0, spread),
        );
        let stated = power(trials, trials, 1.1f64.ln() / spread).unwrap();
        assert!(
            (found - stated).abs() <= 0.02,
            "{trials} v {trials}: 10% found {found} against {stated} stated"
        );
        eprintln!("{trials} v {trials}: 10% shift, stated power {stated:.3}, measured {found:.3}");
    }
}

#[test]
fn the_stated_detectable_change_is_found_four_times_in_five() {
    let spread = 0.05;
    for (seed, trials) in [(21u64, 3usize), (22, 5), (23, 10)] {
        let sds = intervals::detectable_in_spreads(trials, trials).unwrap();
        let shift = (sds * spread).exp();
        let (found, _, _) = verdict_rates(
            seed,
            |rng| lognormal(rng, trials, 1000.0, spread),
            |rng| lognormal(rng, trials, 1000.0 * shift, spread),
        );
        assert!(
            (found - intervals::POWER).abs() <= 0.02,
            "{trials} v {trials}: a {shift} shift found {found}"
        );
        // What a compare row prints, from the trials' own spread: around
        // the true figure (the spread of 3 a side is a rough guess).
        let mut rng = SmallRng::seed_from_u64(seed + 50);
        let mut printed: Vec<f64> = (0..1000)
            .map(|_| {
                let a = lognormal(&mut rng, trials, 1000.0, spread);
                let b = lognormal(&mut rng, trials, 1000.0, spread);
                change(&a, &b).unwrap().detectable.unwrap()
            })
            .collect();
        printed.sort_by(f64::total_cmp);
        let typical = printed[printed.len() / 2];
        let tolerance = if trials == 3 { 0.15 } else { 0.08 };
        assert!(
            (typical / (shift - 1.0) - 1.0).abs() <= tolerance,
            "{trials} v {trials}: printed {typical} against {}",
            shift - 1.0
        );
    }
}

#[test]
fn median_intervals_cover_at_their_stated_rate() {
    let mut rng = SmallRng::seed_from_u64(31);
    for trials in [3, 5, 6, 10] {
        let mut covered = 0;
        let mut stated = 0.0;
        for _ in 0..PAIRS {
            let values = skewed(&mut rng, trials, 1000.0);
            let figure = estimate(&values).unwrap();
            stated = figure.confidence.unwrap();
            // The skewed distribution's median: 0.9 + 0.1 ln 2.
            let truth = 1000.0 * (0.9 + 0.1 * 2f64.ln());
            if figure.low.unwrap() <= truth && truth <= figure.high.unwrap() {
                covered += 1;
            }
        }
        let measured = covered as f64 / PAIRS as f64;
        assert!(
            (measured - stated).abs() <= 0.02,
            "{trials} trials: covered {measured} against {stated} stated"
        );
    }
}
