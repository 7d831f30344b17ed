//! What a phase's requests came to, by kind: answered, missing, and each
//! kind of failure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// Connecting, sending or reading failed.
    pub connection: u64,
}

impl ErrorCounts {
    /// Adds `other`'s counts to these, kind by kind.
    pub fn merge(&mut self, other: &ErrorCounts) {
        self.total += other.total;
        self.wrong_value += other.wrong_value;
        self.timeout += other.timeout;
        self.connection += other.connection;
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
        total.merge(&one);
        total.merge(&one);
        assert_eq!(total.requests, 6);
        assert_eq!(total.errors.status[&503], 2);
        assert_eq!(total.errors.total, 2);
    }
}
