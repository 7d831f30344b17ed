//! What a result records of the other drivers of its run: which shard of
//! it the result is, when it began measuring against the moment all were
//! asked to begin, and, for a result written while its run went on, how
//! much of the run it holds.

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

/// A result written while its run went on (a checkpoint, rewritten at each
/// interval): the run may have been killed after it. It holds what was
/// measured up to the end of an interval, as a whole result does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incomplete {
    /// The last interval it holds whole (from 0) of the trial that was
    /// running; absent when it was written between two trials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_interval: Option<u64>,
    /// Seconds of that trial's measurement it holds.
    pub measured_secs: f64,
    /// Trials it holds that ran to their end.
    pub trials_whole: u32,
    /// Trials the run was asked for.
    pub trials_asked: u32,
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.last_interval {
            Some(last) => write!(
                f,
                "written while the run went on: it holds {:.1} s of measurement (intervals 0 to {last})",
                self.measured_secs
            )?,
            None => write!(f, "written between two trials")?,
        }
        if self.trials_asked > 1 {
            write!(
                f,
                ", {} of {} trials whole",
                self.trials_whole, self.trials_asked
            )?;
        }
        Ok(())
    }
}
