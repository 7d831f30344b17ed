//! The key of each request: a function of the seed, the stream (warm-up
//! or measurement) and the request's number alone, never of which worker
//! sends it, drawn from the workload's distribution.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{StandardUniform, Zipf, ZipfError};

use crate::harness::slowdb::mix64;
use crate::harness::workload::Distribution;
/// Picks the key of each request.
#[derive(Clone, Debug)]
pub struct KeySampler {
    /// The key space's size.
    pub keys: u64,
    seed: u64,
    /// Streams 0 and 1's bases (warm-up and measurement), kept.
    bases: [u64; 2],
    zipf: Option<ZipfDraw>,
}

impl KeySampler {
    /// A sampler over `keys` keys.
    pub fn new(
        keys: u64,
        distribution: Distribution,
        seed: u64,
    ) -> Result<KeySampler, SamplerError> {
        let zipf = match distribution {
            Distribution::Zipf { exponent } => Some(ZipfDraw::new(keys, exponent)?),
            Distribution::Uniform => None,
        };
        Ok(KeySampler {
            keys,
            seed,
            bases: [0, 1].map(|stream| stream_base(seed, stream)),
            zipf,
        })
    }

    /// The key index of request `request` of stream `stream` (warm-up and
    /// measurement are different streams).
    pub fn index(&self, stream: u64, request: u64) -> u64 {
        let mut rng = self.rng(stream, request);
        match &self.zipf {
            // Ranks run from 1 to `keys`; rank 1 is key0.
            Some(zipf) => (zipf.sample(&mut rng) as u64).clamp(1, self.keys) - 1,
            None => rng.random_range(0..self.keys),
        }
    }

    /// The random numbers of request `request` of stream `stream`.
    fn rng(&self, stream: u64, request: u64) -> SmallRng {
        SmallRng::seed_from_u64(self.stream_base(stream).wrapping_add(request))
    }

    /// Where stream `stream`'s requests' random numbers start, for
    /// `KeySampler::surely_skipped`.
    #[inline]
    pub fn stream_base(&self, stream: u64) -> u64 {
        match self.bases.get(stream as usize) {
            Some(&base) => base,
            None => stream_base(self.seed, stream),
        }
    }

    /// A [`Skipper`] for the keys `followed` picks, for Zipf keys; `None`
    /// for uniform ones (drawing those is cheap) or an exponent too large
    /// to bound.
    pub(crate) fn skipper(&self, followed: impl Fn(u64) -> bool) -> Option<Skipper> {
        let zipf = self.zipf.as_ref().filter(|zipf| zipf.s.is_finite())?;
        Some(Skipper::new(self.keys, zipf, followed))
    }

    /// Whether request `request` of the stream whose base is `base`
    /// ([`KeySampler::stream_base`]) surely draws a key that `skipper`
    /// does not follow. `false` says nothing: draw it with
    /// [`KeySampler::index`].
    #[inline]
    pub(crate) fn surely_skipped(&self, skipper: &Skipper, base: u64, request: u64) -> bool {
        let seed = base.wrapping_add(request);
        first_try_skipped(skipper, seed) || tries_skipped(skipper, seed)
    }
}

fn stream_base(seed: u64, stream: u64) -> u64 {
    mix64(seed ^ mix64(stream))
}

/// The golden ratio's increment of SplitMix64, which seeds `SmallRng`.
const PHI: u64 = 0x9e37_79b9_7f4a_7c15;

/// Whether the first try of the draw seeded by `seed` surely keeps an
/// unfollowed key, from the first try's cell of `u` alone: the fast test
/// of [`KeySampler::surely_skipped`], which tells about 93 requests in
/// 100 at a 1% sample of 100,000 Zipf 1.0 keys (the try-by-try test tells
/// 98). `false` says nothing.
///
/// `SmallRng::seed_from_u64` fills Xoshiro256++'s four words with
/// SplitMix64 (`mix64` of the seed plus 0, 1, 2 and 3 increments); its
/// first two outputs need only words 0, 1 and 3, and a `u` or `y` is an
/// output's top 53 bits over 2^53, so a cell of `u` is the first output's
/// top bits and `y` is below `k / 2^16` whenever the second's top 16 bits
/// are below `k`. The test `the_fast_test_draws_what_small_rng_draws`
/// holds this to `SmallRng`.
#[inline]
fn first_try_skipped(skipper: &Skipper, seed: u64) -> bool {
    let (first, words) = first_output(seed);
    let least = skipper.first_least[(first >> (64 - FIRST_BITS)) as usize];
    least != 0 && ((second_output(seed, words) >> 48) as u16) < least
}

/// The first output of `SmallRng::seed_from_u64(seed)`, and the words 0
/// and 3 of its state that the second needs again.
#[inline]
fn first_output(seed: u64) -> (u64, (u64, u64)) {
    let s0 = mix64(seed);
    let s3 = mix64(seed.wrapping_add(PHI.wrapping_mul(3)));
    (xoshiro_output(s0, s3), (s0, s3))
}

/// The second output, from the seed and [`first_output`]'s words.
#[inline]
fn second_output(seed: u64, (s0, s3): (u64, u64)) -> u64 {
    // Xoshiro256++'s step, as it changes words 0 and 3.
    let t = s3 ^ mix64(seed.wrapping_add(PHI));
    xoshiro_output(s0 ^ t, t.rotate_left(45))
}

#[inline]
fn xoshiro_output(s0: u64, s3: u64) -> u64 {
    s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0)
}

/// [`KeySampler::surely_skipped`] try by try, for what
/// [`first_try_skipped`] cannot tell.
fn tries_skipped(skipper: &Skipper, seed: u64) -> bool {
    let mut rng = SmallRng::seed_from_u64(seed);
    // Each try of the Zipf draw: `u` picks the rank, `y` accepts it.
    for _ in 0..MOST_TRIES {
        let u: f64 = rng.sample(StandardUniform);
        let (unsure, least, most) = skipper.bounds(u);
        let y: f64 = rng.sample(StandardUniform);
        if y >= most {
            // Surely rejected: the draw tries again.
            continue;
        }
        return !unsure && y < least;
    }
    false
}

/// `rand_distr`'s Zipf sampler, draw for draw, with its acceptance test's
/// two powers skipped where a bound decides it.
///
/// Each try takes `u`, `b = inv_cdf(u)` and rank `x = floor(b + 1)`, so
/// `b >= x - 1`, then accepts it when `y < x^-s * b^s` (1 for rank 1).
/// That ratio is at least `((x - 1) / x)^s`, which is at least
/// `1 - max(s, 1) / x` (Bernoulli's inequality for `s >= 1`, a power of a
/// number under 1 for `s < 1`): a `y` under that, less a relative 1e-9
/// for rounding, is accepted without the powers, which cost about 120
/// instructions each. About one try in fifteen still computes them (Zipf
/// 1.0 over 100,000 keys: 16 M of `pow`'s instructions in 1 M draws).
/// A Zipf distribution that `rand_distr` refuses to draw from.
#[derive(Debug, thiserror::Error)]
#[error("zipf over {keys} keys, exponent {exponent}: {source}")]
pub struct SamplerError {
    /// The keys asked for.
    pub keys: u64,
    /// The exponent asked for.
    pub exponent: f64,
    /// Why `rand_distr` refused them.
    pub source: ZipfError,
}

#[derive(Clone, Debug)]
struct ZipfDraw {
    s: f64,
    /// `rand_distr`'s `t` and `q`, computed as it computes them.
    t: f64,
    q: f64,
    /// `max(s, 1)`.
    bound: f64,
}

impl ZipfDraw {
    fn new(keys: u64, s: f64) -> Result<ZipfDraw, SamplerError> {
        let n = keys as f64;
        Zipf::new(n, s).map_err(|source| SamplerError {
            keys,
            exponent: s,
            source,
        })?;
        let q = if s != 1.0 { 1.0 / (1.0 - s) } else { 0.0 };
        let t = if s == f64::INFINITY {
            1.0
        } else if s != 1.0 {
            (n.powf(1.0 - s) - s) * q
        } else {
            1.0 + n.ln()
        };
        Ok(ZipfDraw {
            s,
            t,
            q,
            bound: s.max(1.0),
        })
    }

    #[inline]
    fn sample(&self, rng: &mut SmallRng) -> f64 {
        loop {
            let u: f64 = rng.sample(StandardUniform);
            let pt = u * self.t;
            let inv_b = if pt <= 1.0 {
                pt
            } else if self.s != 1.0 {
                (pt * (1.0 - self.s) + self.s).powf(self.q)
            } else {
                (pt - 1.0).exp()
            };
            let x = floor(inv_b + 1.0);
            let y: f64 = rng.sample(StandardUniform);
            // Rank 1's ratio is 1^-s, 1: every `y` is under it.
            if x == 1.0 || y < (1.0 - self.bound / x) * (1.0 - ROUNDING) {
                return x;
            }
            let mut ratio = x.powf(-self.s);
            if x > 1.0 {
                ratio *= inv_b.powf(self.s);
            }
            if y < ratio {
                return x;
            }
        }
    }
}

/// `v.floor()`, by a conversion where `v` fits one: `f64::floor` is a
/// library call of about twenty instructions on x86-64's baseline.
#[inline]
fn floor(v: f64) -> f64 {
    // Up to 2^52 a conversion truncates, which for v >= 1 is the floor;
    // from there on every f64 is whole. (Under 1 the sign of a zero would
    // differ; a rank's `b + 1` is never under 1.)
    if (1.0..4_503_599_627_370_496.0).contains(&v) {
        (v as i64) as f64
    } else {
        v.floor()
    }
}

/// Tries followed before drawing in full.
const MOST_TRIES: usize = 16;

/// Tells, from a Zipf draw's first two random numbers alone, that its key
/// is surely not one of a set of followed keys: so that a pass following
/// 1% of the keys (SHARDS) need not draw the other 99%, which costs
/// powers and logarithms (`rand_distr`'s rejection-inversion sampler).
///
/// Each try's first number `u` picks rank `x = floor(inv_cdf(u) + 1)`,
/// rising with `u`; the second, `y`, accepts it when below `(b/x)^s`
/// (`b = inv_cdf(u)`, 1 for rank 1), else the draw tries again. Each
/// followed key's range of `u` is kept, sorted, widened for rounding: a
/// `u` outside them all picks an unfollowed rank; a `y` below the least
/// acceptance over the ranks and `b` that `u` can give keeps it, and one
/// at or above the most rejects it, so the next try is looked at the same
/// way. Anything else (the followed keys' draws, and about one in two
/// hundred more for Zipf 1.0) draws in full.
#[derive(Clone, Debug)]
pub struct Skipper {
    /// The followed keys' ranges of `u`, widened, by `u`.
    low: Vec<f64>,
    high: Vec<f64>,
    /// Per cell of `u` (1/CELLS wide): the first range ending past the
    /// cell's start.
    guide: Vec<u32>,
    /// Per cell of `u` (1/LEVEL_CELLS wide): the level in force at its
    /// start.
    level_guide: Vec<u16>,
    /// From each `u` on, the least and the most acceptance of a try (0
    /// and 1: nothing sure): `(u, least, most)`, by `u`, rank 1's first.
    levels: Vec<(f64, f64, f64)>,
    /// Per cell of `u` (1/2^FIRST_BITS wide), for [`first_try_skipped`]:
    /// the least acceptance anywhere in it, in 65,536ths rounded down; 0
    /// where a followed range touches the cell.
    first_least: Vec<u16>,
}

const CELLS: usize = 1 << 14;
/// 2^16 cells of two bytes: 128 KiB, within a core's second-level cache.
const FIRST_BITS: u32 = 16;
const LEVEL_CELLS: usize = 1 << 16;

/// How far a rank computed in floating point may be from the exact one,
/// relatively: far more than the few units in the last place it can be.
const ROUNDING: f64 = 1e-9;

impl Skipper {
    fn new(keys: u64, zipf: &ZipfDraw, followed: impl Fn(u64) -> bool) -> Skipper {
        let n = keys as f64;
        let (s, t) = (zipf.s, zipf.t);
        // The `u` at which rand_distr's inv_cdf reaches `v`.
        let u_of = |v: f64| -> f64 {
            if v <= 1.0 {
                v / t
            } else if s != 1.0 {
                (v.powf(1.0 - s) - s) / ((1.0 - s) * t)
            } else {
                (v.ln() + 1.0) / t
            }
        };
        // Rank x covers u in [u_of(x - 1), u_of(x)); key k is rank k + 1,
        // the last key every rank from n on.
        let mut low = Vec::new();
        let mut high = Vec::new();
        for key in 0..keys {
            if !followed(key) {
                continue;
            }
            let v = key as f64;
            low.push(u_of(v * (1.0 - ROUNDING)) - f64::EPSILON);
            high.push(if key + 1 == keys {
                f64::INFINITY
            } else {
                u_of((v + 1.0) * (1.0 + ROUNDING)) + f64::EPSILON
            });
        }
        // Where `b = inv_cdf(u)` surely lies in [b0, b1), the first try
        // accepts at least a bound: 1 for rank 1 (b < 1); within rank x,
        // (b0/x)^s; over ranks X to X', ((X-1)/X)^s. Between such spans,
        // where rounding could put `b` in either, no bound (0).
        let mut levels = Vec::new();
        let mut span = |b0: f64, b1: f64, least: f64, most: f64| {
            let start = if b0 == 0.0 {
                f64::NEG_INFINITY
            } else {
                u_of(b0 * (1.0 + ROUNDING)) + f64::EPSILON
            };
            let end = u_of(b1 * (1.0 - ROUNDING)) - f64::EPSILON;
            if start < end {
                levels.push((start, least * (1.0 - ROUNDING), most * (1.0 + ROUNDING)));
                levels.push((end, 0.0, 1.0));
            }
        };
        span(0.0, 1.0f64.min(n), 1.0, 1.0);
        // Small ranks in eighths of a rank, then groups a fifth larger.
        let mut rank = 2.0f64;
        while rank <= n.min(64.0) {
            for eighth in 0..8 {
                let b0 = rank - 1.0 + f64::from(eighth) / 8.0;
                let b1 = b0 + 0.125;
                span(b0, b1, (b0 / rank).powf(s), (b1 / rank).powf(s));
            }
            rank += 1.0;
        }
        while rank <= n {
            let next = (rank * 1.2).floor().min(n + 1.0);
            span(rank - 1.0, next - 1.0, ((rank - 1.0) / rank).powf(s), 1.0);
            rank = next;
        }
        let mut guide = Vec::with_capacity(CELLS);
        let mut range = 0usize;
        for cell in 0..CELLS {
            let start = cell as f64 / CELLS as f64;
            while range < high.len() && high[range] <= start {
                range += 1;
            }
            guide.push(range as u32);
        }
        // Levels come two a span, about 1,200 for a billion keys; were
        // there more, the rest would be sure of nothing.
        let most_levels = usize::from(u16::MAX);
        if levels.len() > most_levels {
            let cut = levels[most_levels - 1].0;
            levels.truncate(most_levels - 1);
            levels.push((cut, 0.0, 1.0));
        }
        let mut level_guide = Vec::with_capacity(LEVEL_CELLS);
        let mut level = 0usize;
        for cell in 0..LEVEL_CELLS {
            let start = cell as f64 / LEVEL_CELLS as f64;
            while level + 1 < levels.len() && levels[level + 1].0 <= start {
                level += 1;
            }
            level_guide.push(level as u16);
        }
        let first_least = first_least(&low, &high, &levels);
        Skipper {
            low,
            high,
            guide,
            level_guide,
            levels,
            first_least,
        }
    }

    /// For a try's `u`: whether its rank may be followed (or is unsure),
    /// and the least and most acceptance of the ranks and `b` it can give.
    #[inline]
    fn bounds(&self, u: f64) -> (bool, f64, f64) {
        let mut range = self.guide[((u * CELLS as f64) as usize).min(CELLS - 1)] as usize;
        let mut level =
            usize::from(self.level_guide[((u * LEVEL_CELLS as f64) as usize).min(LEVEL_CELLS - 1)]);
        while range < self.high.len() && self.high[range] <= u {
            range += 1;
        }
        let unsure = range < self.low.len() && self.low[range] <= u;
        while level + 1 < self.levels.len() && self.levels[level + 1].0 <= u {
            level += 1;
        }
        let (_, least, most) = self.levels[level];
        (unsure, least, most)
    }
}

/// [`Skipper::first_least`] from the followed ranges and the levels.
fn first_least(low: &[f64], high: &[f64], levels: &[(f64, f64, f64)]) -> Vec<u16> {
    let cells = 1usize << FIRST_BITS;
    let mut first_least = Vec::with_capacity(cells);
    let (mut range, mut level) = (0usize, 0usize);
    for cell in 0..cells {
        // The cell's `u` run over [start, end), exactly.
        let start = cell as f64 / cells as f64;
        let end = (cell + 1) as f64 / cells as f64;
        // The ranges are sorted, so the first one ending past the start
        // has the least start of those that could touch the cell.
        while range < high.len() && high[range] <= start {
            range += 1;
        }
        if range < low.len() && low[range] < end {
            first_least.push(0);
            continue;
        }
        // The levels in force in the cell: the one at its start and those
        // starting within it.
        while level + 1 < levels.len() && levels[level + 1].0 <= start {
            level += 1;
        }
        let least = levels[level..]
            .iter()
            .enumerate()
            .take_while(|&(at, span)| at == 0 || span.0 < end)
            .map(|(_, span)| span.1)
            .fold(f64::INFINITY, f64::min);
        // Rounded down, so that a `y` under it is under the level's (and
        // sure of nothing should no level be in force).
        let least = if least.is_finite() { least } else { 0.0 };
        first_least.push((least * 65_536.0).floor().clamp(0.0, 65_535.0) as u16);
    }
    first_least
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_only_on_seed_stream_and_request() {
        let sampler = KeySampler::new(1000, Distribution::Zipf { exponent: 1.0 }, 42).unwrap();
        let again = KeySampler::new(1000, Distribution::Zipf { exponent: 1.0 }, 42).unwrap();
        let first: Vec<u64> = (0..100).map(|i| sampler.index(1, i)).collect();
        let second: Vec<u64> = (0..100).rev().map(|i| again.index(1, i)).rev().collect();
        assert_eq!(first, second);
        let other_stream: Vec<u64> = (0..100).map(|i| sampler.index(0, i)).collect();
        assert_ne!(first, other_stream);
        let other_seed = KeySampler::new(1000, Distribution::Zipf { exponent: 1.0 }, 43).unwrap();
        assert_ne!(
            first,
            (0..100).map(|i| other_seed.index(1, i)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn zipf_keys_follow_the_law_and_stay_in_range() {
        let keys = 1000;
        let sampler = KeySampler::new(keys, Distribution::Zipf { exponent: 1.0 }, 7).unwrap();
        let draws = 200_000;
        let mut counts = vec![0u64; keys as usize];
        for request in 0..draws {
            counts[sampler.index(0, request) as usize] += 1;
        }
        // P(rank 1) = 1 / H(1000) = 0.1336; rank 2 has half of it.
        let top = counts[0] as f64 / draws as f64;
        assert!((0.128..0.139).contains(&top), "{top}");
        let ratio = counts[0] as f64 / counts[1] as f64;
        assert!((1.85..2.15).contains(&ratio), "{ratio}");
        assert!(counts[999] > 0);
    }

    #[test]
    fn a_skipped_request_never_draws_a_followed_key() {
        // Keys, exponent, share followed; least share of the unfollowed
        // draws told apart (the rest: tries whose acceptance is unsure),
        // and of those, least share the fast first test alone tells.
        for (keys, exponent, share, least, least_fast) in [
            (100_000u64, 1.0, 0.01, 0.99, 0.9),
            (2_000u64, 0.8, 0.05, 0.99, 0.9),
            (50_000u64, 1.3, 0.02, 0.97, 0.85),
            (10u64, 1.0, 0.3, 0.9, 0.5),
            (1u64, 1.0, 0.0, 0.99, 0.99),
        ] {
            let sampler = KeySampler::new(keys, Distribution::Zipf { exponent }, 5).unwrap();
            let followed = |key: u64| mix64(key ^ 0x5eed) < (share * u64::MAX as f64) as u64;
            let skipper = sampler.skipper(followed).unwrap();
            let base = sampler.stream_base(1);
            let (mut skipped, mut fast, mut followed_draws) = (0u64, 0u64, 0u64);
            let draws = 300_000;
            for request in 0..draws {
                let key = sampler.index(1, request);
                if followed(key) {
                    followed_draws += 1;
                }
                let seed = base.wrapping_add(request);
                let (by_tries, by_first) = (
                    tries_skipped(&skipper, seed),
                    first_try_skipped(&skipper, seed),
                );
                // The fast test skips only what the tries skip.
                assert!(by_tries || !by_first, "{keys} keys, request {request}");
                assert_eq!(sampler.surely_skipped(&skipper, base, request), by_tries);
                if by_tries {
                    assert!(!followed(key), "{keys} keys, request {request}: key {key}");
                    skipped += 1;
                }
                fast += u64::from(by_first);
            }
            // Most of the unfollowed draws are told apart without drawing,
            // most of those by the fast test.
            let unfollowed = draws - followed_draws;
            assert!(
                skipped as f64 > least * unfollowed as f64,
                "{keys} keys, s {exponent}: {skipped} of {unfollowed}"
            );
            assert!(
                fast as f64 > least_fast * skipped as f64,
                "{keys} keys, s {exponent}: fast {fast} of {skipped}"
            );
        }
        // Every key followed: nothing is skipped.
        let sampler = KeySampler::new(1000, Distribution::Zipf { exponent: 1.0 }, 5).unwrap();
        let skipper = sampler.skipper(|_| true).unwrap();
        let base = sampler.stream_base(0);
        assert!((0..10_000).all(|request| !sampler.surely_skipped(&skipper, base, request)));
        assert!(KeySampler::new(1000, Distribution::Uniform, 5)
            .unwrap()
            .skipper(|_| true)
            .is_none());
    }

    #[test]
    fn zipf_draws_are_rand_distrs_draw_for_draw() {
        use rand_distr::Distribution as _;
        for (keys, exponent) in [
            (100_000u64, 1.0),
            (100_000, 0.8),
            (1_000_000, 1.2),
            (10, 1.0),
            (1, 1.0),
            (5_000, 0.0),
            (3, 2.5),
            (50_000, 0.999_999_999),
        ] {
            let ours = ZipfDraw::new(keys, exponent).unwrap();
            let theirs = Zipf::new(keys as f64, exponent).unwrap();
            for seed in 0..200_000u64 {
                let (mut a, mut b) = (SmallRng::seed_from_u64(seed), SmallRng::seed_from_u64(seed));
                let (x, y) = (ours.sample(&mut a), theirs.sample(&mut b));
                assert_eq!(
                    x.to_bits(),
                    y.to_bits(),
                    "{keys} keys, s {exponent}, seed {seed}"
                );
            }
        }
        let error = ZipfDraw::new(10, -1.0).err().unwrap();
        assert_eq!((error.keys, error.exponent), (10, -1.0));
        assert!(error
            .to_string()
            .starts_with("zipf over 10 keys, exponent -1: "));
    }

    #[test]
    fn floor_is_f64_floor_bit_for_bit() {
        let edges = [
            -0.0,
            0.0,
            0.5,
            1.0,
            1.0 - f64::EPSILON / 2.0,
            1.0 + f64::EPSILON,
            2.5,
            -2.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.1e18,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let drawn = (0..100_000u64).map(|i| (mix64(i) >> 11) as f64 / 1024.0);
        for v in edges.into_iter().chain(drawn) {
            assert_eq!(floor(v).to_bits(), v.floor().to_bits(), "{v}");
        }
    }

    #[test]
    fn the_fast_test_draws_what_small_rng_draws() {
        use rand::Rng as _;
        for seed in (0..10_000u64).chain([u64::MAX, u64::MAX - PHI, PHI.wrapping_neg()]) {
            let seed = mix64(seed ^ 0xfeed).wrapping_add(seed);
            let mut rng = SmallRng::seed_from_u64(seed);
            let (first, words) = first_output(seed);
            assert_eq!(first, rng.next_u64(), "seed {seed}");
            assert_eq!(second_output(seed, words), rng.next_u64(), "seed {seed}");
            // And the numbers a Zipf draw takes are those outputs' top
            // 53 bits over 2^53.
            let mut rng = SmallRng::seed_from_u64(seed);
            let scale = 1.0 / (1u64 << 53) as f64;
            assert_eq!(
                rng.sample::<f64, _>(StandardUniform),
                (first >> 11) as f64 * scale
            );
        }
    }

    #[test]
    fn uniform_keys_cover_the_space_evenly() {
        let sampler = KeySampler::new(10, Distribution::Uniform, 7).unwrap();
        let mut counts = [0u64; 10];
        for request in 0..100_000 {
            counts[sampler.index(0, request) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&count| (9_500..10_500).contains(&count)),
            "{counts:?}"
        );
    }
}
