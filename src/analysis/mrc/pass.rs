//! One pass over the keys: each request's LRU stack distance on its
//! node, counted into the node's curve, following every key or a SHARDS
//! sample of them.

use std::sync::Arc;

use super::{Curves, MrcError, NodeCurve, Sampling, StackDistances};
use crate::analysis::simulate::SimulateError;
use crate::geecache::HashRing;
use crate::harness::driver::keys::Skipper;
use crate::harness::driver::KeySampler;
use crate::harness::ownership::RingShape;
use crate::harness::run::{MEASURE_STREAM, WARMUP_STREAM};
use crate::harness::slowdb::{is_missing, key_name, mix64, ValueSizes};
use crate::harness::trace::{Replay, TraceIndex};
use crate::harness::workload::Workload;

/// Mixed into key numbers before the sample's hash.
const SHARDS_SALT: u64 = 0x6d72_6320_7368_6172;

/// The keys a pass follows, and the rate they stand for.
struct Sampler {
    sampling: Sampling,
    /// Hashes below this are followed.
    threshold: u64,
    /// The followed keys by hash (fixed memory only), highest first out.
    heap: std::collections::BinaryHeap<(u64, u32)>,
}

impl Sampler {
    fn new(sampling: Sampling) -> Sampler {
        let threshold = match sampling {
            Sampling::Rate { rate } if rate < 1.0 => {
                (rate.clamp(0.0, 1.0) * u64::MAX as f64) as u64
            }
            _ => u64::MAX,
        };
        Sampler {
            sampling,
            threshold,
            heap: std::collections::BinaryHeap::new(),
        }
    }

    /// The rate the followed keys stand for now.
    fn rate(&self) -> f64 {
        if self.threshold == u64::MAX {
            1.0
        } else {
            self.threshold as f64 / u64::MAX as f64
        }
    }

    fn hash(key: u32) -> u64 {
        mix64(u64::from(key) ^ SHARDS_SALT)
    }
}

/// Where the keys of a pass come from: drawn as a run draws them, or read
/// from the trace, warm-up first; key-space numbers in both.
enum Keys {
    Drawn {
        sampler: KeySampler,
        /// Tells the requests whose keys are surely not followed without
        /// drawing them, for a sample of Zipf keys.
        skipping: Option<Box<Skipping>>,
        warmup: u64,
        measured: u64,
        next: u64,
    },
    Traced {
        replay: Box<Replay>,
        left: u64,
    },
}

/// A [`Skipper`] for the keys a sample follows, kept up with the sample.
struct Skipping {
    /// The skipper; `None` before a fixed-size sample's threshold first
    /// halves (until then most keys are followed).
    skipper: Option<Skipper>,
    /// The threshold it was built for (0: no skipper can be built).
    built: u64,
    /// Requests drawn, not skipped (counted where the rare path is, for
    /// the tests).
    drawn: u64,
}

impl Skipping {
    /// Skips what a threshold of `threshold` does not follow. A
    /// fixed-size sample's threshold only falls, so a key not followed
    /// under the threshold a skipper was built for is never followed
    /// after: the skipper stays right, and is built again each time the
    /// threshold halves.
    fn follow(&mut self, draws: &KeySampler, threshold: u64) {
        self.skipper = draws.skipper(|key| Sampler::hash(key as u32) < threshold);
        self.built = if self.skipper.is_some() { threshold } else { 0 };
    }
}

impl Keys {
    fn of(
        workload: &Workload,
        measured: u64,
        trace: Option<&Arc<TraceIndex>>,
        sampler: &Sampler,
        skip: bool,
    ) -> Result<Keys, MrcError> {
        let warmup = workload.warmup_requests;
        match trace {
            Some(index) => {
                let replay = Replay::start(index)
                    .map_err(|error| MrcError::Keys(SimulateError::Replay(error)))?;
                Ok(Keys::Traced {
                    replay: Box::new(replay),
                    left: warmup + measured,
                })
            }
            None => {
                let keys = KeySampler::new(workload.keys, workload.distribution, workload.seed)
                    .map_err(|error| MrcError::Keys(SimulateError::Sampler(error)))?;
                let mut skipping = Skipping {
                    skipper: None,
                    built: u64::MAX,
                    drawn: 0,
                };
                let skipping = match sampler.sampling {
                    // A fixed rate keeps its threshold: the keys it follows
                    // are known before the pass.
                    Sampling::Rate { .. } if skip && sampler.threshold < u64::MAX => {
                        skipping.follow(&keys, sampler.threshold);
                        skipping.skipper.is_some().then(|| Box::new(skipping))
                    }
                    // A fixed size's falls as keys come.
                    Sampling::Keys { .. } if skip => Some(Box::new(skipping)),
                    _ => None,
                };
                Ok(Keys::Drawn {
                    sampler: keys,
                    skipping,
                    warmup,
                    measured,
                    next: 0,
                })
            }
        }
    }

    /// The next request's key number; `None` at the end.
    fn next(&mut self) -> Result<Option<u32>, MrcError> {
        match self {
            Keys::Drawn {
                sampler,
                warmup,
                measured,
                next,
                ..
            } => {
                let request = *next;
                *next += 1;
                let (stream, at) = if request < *warmup {
                    (WARMUP_STREAM, request)
                } else if request - *warmup < *measured {
                    (MEASURE_STREAM, request - *warmup)
                } else {
                    return Ok(None);
                };
                Ok(Some(sampler.index(stream, at) as u32))
            }
            Keys::Traced { replay, left } => {
                if *left == 0 {
                    return Ok(None);
                }
                *left -= 1;
                replay
                    .next_key()
                    .map_err(|error| MrcError::Keys(SimulateError::Replay(error)))
            }
        }
    }
}

/// A key's owner before its first use.
const UNSEEN: u16 = u16::MAX;

/// What a pass keeps: per key, found at its first use, its owner, its
/// number among its owner's followed keys (u32::MAX: not followed) and its
/// weight; per node, its stack and its curve.
struct Pass {
    exact: bool,
    sampler: Sampler,
    sizes: ValueSizes,
    ring: HashRing,
    missing_share: f64,
    owner: Vec<u16>,
    local: Vec<u32>,
    weight: Vec<u32>,
    /// Each node's next key number, and the numbers dropped keys freed.
    followed_of: Vec<u32>,
    free: Vec<Vec<u32>>,
    stacks: Vec<StackDistances>,
    curves: Vec<NodeCurve>,
    /// Sampled, a node's requests and bytes are estimated from the
    /// sample, so that the keys not followed cost nothing.
    estimated: Vec<(f64, f64)>,
}

impl Pass {
    /// Counts one request for `key`; `measuring` after the warm-up.
    #[inline]
    fn visit(&mut self, key: u32, measuring: bool) {
        let slot = key as usize;
        let hash = Sampler::hash(key);
        if !self.exact && hash >= self.sampler.threshold {
            return;
        }
        let missing = is_missing(u64::from(key), self.missing_share);
        if self.owner[slot] == UNSEEN {
            let name = key_name(u64::from(key));
            let node = self.ring.owner_index(&name).unwrap_or(0);
            self.owner[slot] = node as u16;
            let cost = name.len() as u64 + self.sizes.of(u64::from(key)) as u64;
            self.weight[slot] = cost.min(u64::from(u32::MAX)) as u32;
            if self.exact && !missing {
                self.curves[node].footprint += cost;
            }
        }
        let node = usize::from(self.owner[slot]);
        let cost = u64::from(self.weight[slot]);
        if self.exact && measuring {
            let curve = &mut self.curves[node];
            curve.requests += 1;
            curve.bytes += cost;
        }
        // A key the store lacks misses at every size and is never cached.
        let distance = if missing {
            None
        } else {
            if self.local[slot] == u32::MAX && !self.follow(key, hash, node) {
                return;
            }
            self.stacks[node].access(self.local[slot], cost)
        };
        if !measuring {
            return;
        }
        let scale = 1.0 / self.sampler.rate();
        if !self.exact {
            self.estimated[node].0 += scale;
            self.estimated[node].1 += cost as f64 * scale;
        }
        let curve = &mut self.curves[node];
        match distance {
            Some(distance) => {
                // The other keys' bytes stand for 1/rate as many; the
                // key's own bytes are its own.
                let scaled = if self.exact {
                    distance
                } else {
                    cost + ((distance - cost) as f64 * scale).round() as u64
                };
                curve.distances.add(scaled, scale, cost as f64 * scale);
            }
            None => {
                curve.cold.0 += scale;
                curve.cold.1 += cost as f64 * scale;
            }
        }
    }

    /// Starts following `key` on `node`; in fixed memory, drops the keys
    /// of the highest hashes when there are too many, and says whether
    /// `key` is still followed.
    fn follow(&mut self, key: u32, hash: u64, node: usize) -> bool {
        let slot = key as usize;
        self.local[slot] = self.free[node].pop().unwrap_or_else(|| {
            self.followed_of[node] += 1;
            self.followed_of[node] - 1
        });
        let Sampling::Keys { keys: most } = self.sampler.sampling else {
            return true;
        };
        self.sampler.heap.push((hash, key));
        // Too many: drop the highest hashes, and lower the threshold to
        // the last one dropped.
        while self.sampler.heap.len() > most.max(1) {
            let Some((dropped_hash, dropped)) = self.sampler.heap.pop() else {
                break;
            };
            self.sampler.threshold = dropped_hash;
            let at = dropped as usize;
            let holder = usize::from(self.owner[at]);
            self.stacks[holder].remove(self.local[at]);
            self.free[holder].push(self.local[at]);
            self.local[at] = u32::MAX;
        }
        hash < self.sampler.threshold
    }

    /// The curves, the pass over.
    fn finish(mut self, ring: RingShape, measured: u64, warmup: u64) -> Curves {
        for curve in &mut self.curves {
            curve.distances.finish();
        }
        let followed = self
            .local
            .iter()
            .filter(|&&number| number != u32::MAX)
            .count() as u64;
        if !self.exact {
            // The keys followed at the end stand for 1/rate as many.
            let scale = 1.0 / self.sampler.rate();
            let mut footprints = vec![0.0f64; self.curves.len()];
            for (slot, &number) in self.local.iter().enumerate() {
                if number != u32::MAX {
                    footprints[usize::from(self.owner[slot])] +=
                        f64::from(self.weight[slot]) * scale;
                }
            }
            for ((curve, (requests, bytes)), footprint) in
                self.curves.iter_mut().zip(&self.estimated).zip(&footprints)
            {
                curve.requests = requests.round() as u64;
                curve.bytes = bytes.round() as u64;
                curve.footprint = footprint.round() as u64;
            }
        }
        Curves {
            ring,
            sampling: self.sampler.sampling,
            requests: measured,
            bytes: self.curves.iter().map(|curve| curve.bytes).sum(),
            warmup,
            followed: (followed, self.sampler.rate()),
            nodes: self.curves,
        }
    }
}

/// The pass of [`super::curves`] over `measured` requests after the
/// workload's warm-up.
pub(super) fn run(
    workload: &Workload,
    ring: RingShape,
    sampling: Sampling,
    exact_at: &[u64],
    measured: u64,
    trace: Option<&Arc<TraceIndex>>,
) -> Result<Curves, MrcError> {
    let mut keys = Keys::of(workload, measured, trace, &Sampler::new(sampling), true)?;
    run_over(
        workload, ring, sampling, exact_at, measured, trace, &mut keys,
    )
}

/// [`run`] over `keys`.
fn run_over(
    workload: &Workload,
    ring: RingShape,
    sampling: Sampling,
    exact_at: &[u64],
    measured: u64,
    trace: Option<&Arc<TraceIndex>>,
    keys: &mut Keys,
) -> Result<Curves, MrcError> {
    let sampler = Sampler::new(sampling);
    let mut sizes_asked = exact_at.to_vec();
    sizes_asked.sort_unstable();
    sizes_asked.dedup();
    let key_space = workload.keys as usize;
    let nodes = ring.nodes as usize;
    let ring_of = ring.build();
    let mut pass = Pass {
        exact: sampling == Sampling::Exact,
        sampler,
        sizes: match trace {
            Some(index) => ValueSizes::PerKey(Arc::clone(&index.sizes)),
            None => ValueSizes::Fixed(workload.value_size as usize),
        },
        ring: ring_of,
        missing_share: workload.slowdb.missing_share,
        owner: vec![UNSEEN; key_space],
        local: vec![u32::MAX; key_space],
        weight: vec![0u32; key_space],
        followed_of: vec![0u32; nodes],
        free: vec![Vec::new(); nodes],
        stacks: (0..nodes).map(|_| StackDistances::new(1024)).collect(),
        curves: (0..nodes).map(|_| NodeCurve::new(&sizes_asked)).collect(),
        estimated: vec![(0.0, 0.0); nodes],
    };
    let warmup = workload.warmup_requests;
    let (mut request, mut measured_requests) = (0u64, 0u64);
    if let Keys::Drawn {
        sampler: draws,
        skipping: Some(skipping),
        ..
    } = keys
    {
        // A sample of drawn keys: the requests whose keys are surely not
        // followed are counted, not drawn.
        for (stream, count) in [(WARMUP_STREAM, warmup), (MEASURE_STREAM, measured)] {
            let measuring = stream == MEASURE_STREAM;
            let base = draws.stream_base(stream);
            for at in 0..count {
                if let Some(skipper) = &skipping.skipper {
                    if draws.surely_skipped(skipper, base, at) {
                        continue;
                    }
                }
                skipping.drawn += 1;
                pass.visit(draws.index(stream, at) as u32, measuring);
                let threshold = pass.sampler.threshold;
                if threshold < skipping.built / 2 {
                    skipping.follow(draws, threshold);
                }
            }
        }
        request = warmup + measured;
        measured_requests = measured;
    } else {
        while let Some(key) = keys.next()? {
            let measuring = request >= warmup;
            request += 1;
            measured_requests += u64::from(measuring);
            pass.visit(key, measuring);
        }
    }
    Ok(pass.finish(ring, measured_requests, warmup.min(request)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geecache::HashKind;
    use crate::harness::workload::parse;

    #[test]
    fn skipping_the_unfollowed_draws_changes_nothing_in_the_curves() {
        for exponent in [0.8, 1.0, 1.2] {
            let workload = parse(
                &format!(
                    r#"{{"keys": 50000, "distribution": {{"kind": "zipf", "exponent": {exponent}}},
                        "requests": 300000, "warmup_requests": 20000, "value_size": 90,
                        "slowdb": {{"missing_share": 0.02}}}}"#
                ),
                "test",
                "skip",
            )
            .unwrap();
            let ring = RingShape {
                nodes: 3,
                replicas: 40,
                hash: HashKind::Xxh3,
            };
            // A fixed rate, and a fixed size that ends near the same rate.
            for sampling in [Sampling::Rate { rate: 0.03 }, Sampling::Keys { keys: 1500 }] {
                let curves = |skip: bool| {
                    let mut keys =
                        Keys::of(&workload, 300_000, None, &Sampler::new(sampling), skip).unwrap();
                    let curves = run_over(
                        &workload,
                        ring,
                        sampling,
                        &[4096, 65536],
                        300_000,
                        None,
                        &mut keys,
                    )
                    .unwrap();
                    let skipped = match &keys {
                        Keys::Drawn {
                            skipping: Some(skipping),
                            ..
                        } => 320_000 - skipping.drawn,
                        _ => 0,
                    };
                    (curves, skipped)
                };
                let ((skipping, skipped), (drawing, none)) = (curves(true), curves(false));
                assert_eq!(skipping, drawing, "exponent {exponent}, {sampling:?}");
                assert_eq!(none, 0);
                // Most requests are told apart without drawing their keys.
                assert!(skipped > 250_000, "{sampling:?}: {skipped} skipped");
                assert_eq!(skipping.requests, 300_000);
                assert!(skipping.followed.0 > 300, "{:?}", skipping.followed);
            }
        }
    }
}
