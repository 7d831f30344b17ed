//! The key of each request: a function of the seed, the stream (warm-up
//! or measurement) and the request's number alone, never of which worker
//! sends it, drawn from the workload's distribution.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution as _, Zipf};

use crate::harness::slowdb::mix64;
use crate::harness::workload::Distribution;
/// Picks the key of each request.
#[derive(Clone, Debug)]
pub struct KeySampler {
    /// The key space's size.
    pub keys: u64,
    seed: u64,
    zipf: Option<Zipf<f64>>,
}

impl KeySampler {
    /// A sampler over `keys` keys.
    pub fn new(keys: u64, distribution: Distribution, seed: u64) -> Result<KeySampler, String> {
        let zipf = match distribution {
            Distribution::Zipf { exponent } => {
                Some(Zipf::new(keys as f64, exponent).map_err(|error| {
                    format!("zipf over {keys} keys, exponent {exponent}: {error}")
                })?)
            }
            Distribution::Uniform => None,
        };
        Ok(KeySampler { keys, seed, zipf })
    }

    /// The key index of request `request` of stream `stream` (warm-up and
    /// measurement are different streams).
    pub fn index(&self, stream: u64, request: u64) -> u64 {
        let base = mix64(self.seed ^ mix64(stream));
        let mut rng = SmallRng::seed_from_u64(base.wrapping_add(request));
        match &self.zipf {
            // Ranks run from 1 to `keys`; rank 1 is key0.
            Some(zipf) => (zipf.sample(&mut rng) as u64).clamp(1, self.keys) - 1,
            None => rng.random_range(0..self.keys),
        }
    }
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
