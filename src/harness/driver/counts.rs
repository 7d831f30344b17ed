//! What a phase's requests came to, by kind: answered, missing, and each
//! kind of failure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::geecache::h1::Broken;

/// Answers and failures by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests that ended: answered or failed.
    pub requests: u64,
    /// 200 with the key's value.
    pub ok: u64,
    /// 500 for a key the workload says does not exist: expected.
    pub missing: u64,
    /// Failures.
    pub errors: ErrorCounts,
}

/// Failures by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Every failure.
    pub total: u64,
    /// Unexpected statuses, by code.
    pub status: BTreeMap<u16, u64>,
    /// 200 whose body was not the key's value.
    pub wrong_value: u64,
    /// No answer within the timeout.
    pub timeout: u64,
    /// Connecting, sending or reading failed before any of an answer came.
    pub connection: u64,
    /// Answers that began and then broke, by how: absent from results
    /// written before it was counted.
    #[serde(default, skip_serializing_if = "BrokenCounts::is_zero")]
    pub broken: BrokenCounts,
}

/// Answers that began and went wrong, by kind ([`Broken`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokenCounts {
    /// The connection was reset midway.
    pub reset: u64,
    /// The server closed it before the answer was whole.
    pub truncated: u64,
    /// The answer began, then stopped until the timeout.
    pub stalled: u64,
    /// The answer did not parse, or disagreed with its own framing.
    pub malformed: u64,
}

impl BrokenCounts {
    /// Broken answers of every kind.
    pub fn total(&self) -> u64 {
        Broken::ALL.iter().map(|&kind| self.of(kind)).sum()
    }

    /// Whether none broke.
    pub fn is_zero(&self) -> bool {
        self.total() == 0
    }

    /// The count of kind `kind`.
    pub fn of(&self, kind: Broken) -> u64 {
        match kind {
            Broken::Reset => self.reset,
            Broken::Truncated => self.truncated,
            Broken::Stalled => self.stalled,
            Broken::Malformed => self.malformed,
        }
    }

    /// The counter of kind `kind`.
    pub fn of_mut(&mut self, kind: Broken) -> &mut u64 {
        match kind {
            Broken::Reset => &mut self.reset,
            Broken::Truncated => &mut self.truncated,
            Broken::Stalled => &mut self.stalled,
            Broken::Malformed => &mut self.malformed,
        }
    }

    /// Adds `other`'s counts to these, kind by kind.
    pub fn merge(&mut self, other: &BrokenCounts) {
        for kind in Broken::ALL {
            *self.of_mut(kind) += other.of(kind);
        }
    }

    /// The nonzero kinds as `3 reset, 1 stalled`; empty when none broke.
    pub fn describe(&self) -> String {
        crate::table::counts(Broken::ALL.map(|kind| (kind, self.of(kind))))
    }
}

impl ErrorCounts {
    /// Adds `other`'s counts to these, kind by kind.
    pub fn merge(&mut self, other: &ErrorCounts) {
        self.total += other.total;
        self.wrong_value += other.wrong_value;
        self.timeout += other.timeout;
        self.connection += other.connection;
        self.broken.merge(&other.broken);
        for (&code, &count) in &other.status {
            *self.status.entry(code).or_default() += count;
        }
    }
}

impl Counts {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.missing += other.missing;
        self.errors.merge(&other.errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_kind_by_kind() {
        let mut total = Counts::default();
        let mut one = Counts {
            requests: 3,
            ok: 1,
            missing: 1,
            ..Counts::default()
        };
        one.errors.total = 1;
        one.errors.status.insert(503, 1);
        one.errors.broken.stalled = 2;
        total.merge(&one);
        total.merge(&one);
        assert_eq!(total.requests, 6);
        assert_eq!(total.errors.broken.stalled, 4);
        assert_eq!(total.errors.broken.total(), 4);
        assert_eq!(total.errors.broken.describe(), "4 stalled");
        assert_eq!(total.errors.status[&503], 2);
        assert_eq!(total.errors.total, 2);
    }
}
