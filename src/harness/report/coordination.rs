//! What a result records of the other drivers of its run: which shard of
//! it the result is, and when it began measuring against the moment all
//! were asked to begin.

use serde::{Deserialize, Serialize};

use crate::harness::shard::Share;

/// Which shard of a run a result is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardFigures {
    /// The shard, from 0.
    pub index: u32,
    /// The run's shards.
    pub count: u32,
    /// What every shard of the run shares: the whole workload, the target
    /// and the nodes read (16 hex digits).
    pub fingerprint: String,
    /// This shard's part of the work.
    pub share: Share,
}

/// When a run began measuring, against when it was asked to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartFigures {
    /// The moment asked for, in milliseconds since the Unix epoch.
    pub asked_unix_ms: u64,
    /// When the measurement began.
    pub began_unix_ms: u64,
    /// How late it began (the warm-up or the wait for the target ran past
    /// the moment), in milliseconds; 0 when on time.
    pub late_ms: u64,
}
