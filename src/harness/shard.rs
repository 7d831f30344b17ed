//! One run's work split over several drivers (`--shard I/N`), as an
//! Indexed Job's pods split it: shard `I` of `N` sends the requests whose
//! number in the one-driver sequence is `I`, `I + N`, `I + 2N`, ... with
//! the keys and intended send times those numbers have there. So the shards
//! of a run bounded by requests send, together, exactly the one-driver
//! sequence's requests (each key drawn from the seed and the request's
//! number, as one driver draws it), and an open loop's shards' schedules
//! interleave into the one-driver schedule, evenly spaced.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::harness::workload::Workload;

/// Shard `index` of `count` (counted from 0, as `$JOB_COMPLETION_INDEX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: u32,
    /// How many shards the run has.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N`: shard I (from 0) of N.
    fn from_str(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{text:?}: expected I/N, shard I (from 0) of N"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<u32>()
                .map_err(|_| format!("{text:?}: {what} {part:?} is not a whole number"))
        };
        let (index, count) = (number(index, "the index")?, number(count, "the count")?);
        if count == 0 || count > MOST_SHARDS {
            return Err(format!(
                "{text:?}: the count must be 1 to {MOST_SHARDS}, got {count}"
            ));
        }
        if index >= count {
            return Err(format!(
                "{text:?}: shard {index} of {count} does not exist: shards count from 0 \
                 (as $JOB_COMPLETION_INDEX does), so the last of {count} is {}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

/// The most shards a run may have.
pub const MOST_SHARDS: u32 = 10_000;

/// What one shard does of the whole run's work.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// Measured requests, when the run is bounded by a count.
    pub requests: Option<u64>,
    /// Warm-up requests.
    pub warmup_requests: u64,
    /// Connections (workers).
    pub concurrency: u32,
    /// An open loop's rate: the whole rate over the shards.
    pub rate: Option<f64>,
}

/// Why a run cannot be split so.
#[derive(Debug, thiserror::Error)]
#[error("--shard {shard}: {what} cannot be split over {count} shards: {total} {unit} leave shard {empty} with none")]
pub struct SplitError {
    /// The shard asked for.
    pub shard: Shard,
    /// What would be empty: the connections, the requests, the warm-up.
    pub what: &'static str,
    /// Its whole amount.
    pub total: u64,
    /// Its unit.
    pub unit: &'static str,
    /// The shards.
    pub count: u32,
    /// The first shard that would get none.
    pub empty: u64,
}

impl Shard {
    /// The run undivided.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this is the whole run.
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// The number in the one-driver sequence of this shard's request
    /// `local`.
    #[inline]
    pub fn global(self, local: u64) -> u64 {
        local * u64::from(self.count) + u64::from(self.index)
    }

    /// How many of the one-driver sequence's first `total` requests are
    /// this shard's: `total / N`, and one more for the first `total % N`
    /// shards.
    #[inline]
    pub fn share(self, total: u64) -> u64 {
        let (count, index) = (u64::from(self.count), u64::from(self.index));
        total / count + u64::from(index < total % count)
    }

    /// This shard's share of `workload`'s work; a split that leaves a
    /// shard with no connection or no request (of a count, or of a
    /// warm-up that has any) is refused.
    pub fn share_of(self, workload: &Workload) -> Result<Share, SplitError> {
        let split = |what, total: u64, unit| {
            if total < u64::from(self.count) {
                return Err(SplitError {
                    shard: self,
                    what,
                    total,
                    unit,
                    count: self.count,
                    empty: total,
                });
            }
            Ok(self.share(total))
        };
        let concurrency = split(
            "the connections",
            workload.concurrency.into(),
            "connections",
        )?;
        let requests = match workload.requests {
            Some(requests) if workload.duration.is_none() => {
                Some(split("the requests", requests, "requests")?)
            }
            _ => None,
        };
        let warmup_requests = match workload.warmup_requests {
            0 => 0,
            warmup => split("the warm-up", warmup, "requests")?,
        };
        Ok(Share {
            requests,
            warmup_requests,
            concurrency: u32::try_from(concurrency).unwrap_or(u32::MAX),
            rate: workload.rate.map(|rate| rate / f64::from(self.count)),
        })
    }
}

/// A fingerprint of what the shards of one run must share: the whole
/// workload as run (flags applied), the target and the nodes read, as 16
/// hex digits of xxh3 over their JSON. Shards of one run have one;
/// `merge` refuses a shard whose fingerprint differs.
pub fn fingerprint(workload: &Workload, target: &str, peers: &[String]) -> String {
    let mut peers = peers
        .iter()
        .map(|peer| peer.trim_end_matches('/'))
        .collect::<Vec<_>>();
    peers.sort_unstable();
    let text =
        serde_json::to_string(&(workload, target.trim_end_matches('/'), peers)).unwrap_or_default();
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_is_written_i_over_n_from_zero() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(" 0/1 ".parse::<Shard>(), Ok(Shard::WHOLE));
        for (bad, says) in [
            ("3/3", "shards count from 0"),
            ("1/0", "the count must be 1"),
            ("1", "expected I/N"),
            ("a/3", "the index \"a\""),
            ("1/-3", "the count \"-3\""),
        ] {
            let error = bad.parse::<Shard>().unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
        assert_eq!(Shard { index: 4, count: 7 }.to_string(), "4/7");
    }

    #[test]
    fn the_shards_share_every_request_once() {
        for count in 1..=7u32 {
            for total in 0..40u64 {
                let mut seen = vec![0u32; total as usize];
                let mut shares = 0;
                for index in 0..count {
                    let shard = Shard { index, count };
                    let share = shard.share(total);
                    shares += share;
                    for local in 0..share {
                        seen[shard.global(local) as usize] += 1;
                    }
                    // Remainders go to the first shards: shares differ by one
                    // at most.
                    assert!(
                        share == total / u64::from(count) || share == total / u64::from(count) + 1
                    );
                }
                assert_eq!(shares, total);
                assert!(
                    seen.iter().all(|&times| times == 1),
                    "{count} {total} {seen:?}"
                );
            }
        }
    }

    #[test]
    fn a_split_that_leaves_a_shard_empty_is_refused() {
        let mut workload = crate::harness::workload::parse("{}", "test", "test").unwrap();
        workload.concurrency = 2;
        let error = Shard { index: 0, count: 3 }
            .share_of(&workload)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("the connections cannot be split over 3 shards")
                && error.contains("2 connections"),
            "{error}"
        );
        workload.concurrency = 16;
        workload.requests = Some(100);
        workload.duration = None;
        workload.warmup_requests = 10;
        workload.rate = Some(900.0);
        let shares: Vec<Share> = (0..3)
            .map(|index| Shard { index, count: 3 }.share_of(&workload).unwrap())
            .collect();
        assert_eq!(
            shares
                .iter()
                .map(|share| share.concurrency)
                .collect::<Vec<_>>(),
            [6, 5, 5]
        );
        assert_eq!(
            shares
                .iter()
                .map(|share| share.requests.unwrap())
                .collect::<Vec<_>>(),
            [34, 33, 33]
        );
        assert_eq!(
            shares
                .iter()
                .map(|share| share.warmup_requests)
                .sum::<u64>(),
            10
        );
        assert_eq!(shares[1].rate, Some(300.0));
        workload.warmup_requests = 2;
        assert!(Shard { index: 2, count: 3 }
            .share_of(&workload)
            .unwrap_err()
            .to_string()
            .contains("the warm-up"));
        workload.warmup_requests = 0;
        assert_eq!(
            Shard { index: 2, count: 3 }
                .share_of(&workload)
                .unwrap()
                .warmup_requests,
            0
        );
    }

    #[test]
    fn shards_of_one_run_share_a_fingerprint() {
        let workload = crate::harness::workload::parse("{}", "test", "test").unwrap();
        let peers = ["http://a:1".to_owned(), "http://b:1/".to_owned()];
        let reversed = [peers[1].clone(), peers[0].clone()];
        let one = fingerprint(&workload, "http://a:9/api", &peers);
        assert_eq!(one.len(), 16);
        assert_eq!(one, fingerprint(&workload, "http://a:9/api", &reversed));
        assert_ne!(one, fingerprint(&workload, "http://b:9/api", &peers));
        let mut other = workload.clone();
        other.seed += 1;
        assert_ne!(one, fingerprint(&other, "http://a:9/api", &peers));
    }
}
