//! Checking a workload field by field: every value against its range,
//! named by its field (or the flag that set it), and the events against
//! the run they happen in.

use std::time::Duration;

use super::{Bound, Distribution, Workload, WorkloadError, MAX_KEYS, MAX_NODES};
use crate::harness::events::{self, Frame};
use crate::harness::slowdb::Latency;
use crate::units::Span;

impl Workload {
    /// Checks every field against its range, always in the same order
    /// (name, keys, load, store, cluster, clocks, trace, events): of several
    /// fields out of range, the error names the first.
    pub fn validate(
        &self,
        source: &str,
        flags: &[(&'static str, &'static str)],
    ) -> Result<(), WorkloadError> {
        let check = Checker { source, flags };
        self.check_name(&check)?;
        self.check_keys(&check)?;
        self.check_load(&check)?;
        self.check_slowdb(&check)?;
        self.check_cluster(&check)?;
        self.check_clocks(&check)?;
        self.check_trace(&check)?;
        self.check_events(&check)
    }

    /// A name that can be part of a file name.
    fn check_name(&self, check: &Checker) -> Result<(), WorkloadError> {
        let valid_name = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_name {
            return Err(check.invalid(
                "name",
                format!(
                    "{:?} is not allowed: use 1 to 64 letters, digits, '-', '_' or '.'",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// The keys and their distribution.
    fn check_keys(&self, check: &Checker) -> Result<(), WorkloadError> {
        check.range("keys", self.keys, 1, MAX_KEYS)?;
        if let Distribution::Zipf { exponent } = self.distribution {
            if !(exponent.is_finite() && (0.0..=10.0).contains(&exponent)) {
                return Err(check.invalid(
                    "distribution.exponent",
                    format!("{exponent} is out of range: allowed 0 to 10"),
                ));
            }
        }
        Ok(())
    }

    /// What the driver sends: how many requests or for how long (the
    /// stages first: a duration or rate they set is theirs to name), the
    /// warm-up, the requests in flight, the rate and the value size.
    fn check_load(&self, check: &Checker) -> Result<(), WorkloadError> {
        if self.requests.is_some() && self.duration.is_some() {
            return Err(check.invalid("requests", "give requests or duration, not both".to_owned()));
        }
        self.check_stages()
            .map_err(|(field, message)| check.invalid(&field, message))?;
        if let Some(requests) = self.requests {
            check.range("requests", requests, 1, 1_000_000_000)?;
        }
        if let Some(duration) = self.duration {
            check.span(
                "duration",
                duration,
                Duration::from_millis(100),
                Duration::from_secs(24 * 3600),
            )?;
        }
        check.range("warmup_requests", self.warmup_requests, 0, 1_000_000_000)?;
        check.range("concurrency", u64::from(self.concurrency), 1, 10_000)?;
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && (1.0..=10_000_000.0).contains(&rate)) {
                return Err(check.invalid(
                    "rate",
                    format!("{rate} is out of range: allowed 1 to 10000000 requests per second"),
                ));
            }
        }
        check.range("value_size", self.value_size, 0, 16 << 20)
    }

    /// The slow store's latency and its share of missing keys.
    fn check_slowdb(&self, check: &Checker) -> Result<(), WorkloadError> {
        let max_latency = Duration::from_secs(60);
        match self.slowdb.latency {
            Latency::None => {}
            Latency::Fixed { value } => {
                check.span("slowdb.latency.value", value, Duration::ZERO, max_latency)?
            }
            Latency::Exponential { mean } => {
                check.span("slowdb.latency.mean", mean, Duration::ZERO, max_latency)?
            }
        }
        let share = self.slowdb.missing_share;
        if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
            return Err(check.invalid(
                "slowdb.missing_share",
                format!("{share} is out of range: allowed 0 to 1"),
            ));
        }
        Ok(())
    }

    /// The nodes, their ring, caches, timeouts, connections and base path.
    fn check_cluster(&self, check: &Checker) -> Result<(), WorkloadError> {
        let cluster = &self.cluster;
        let nodes = u64::from(cluster.nodes);
        check.range("cluster.nodes", nodes, 1, u64::from(MAX_NODES))?;
        let replicas = u64::from(cluster.replicas);
        check.range("cluster.replicas", replicas, 1, 10_000)?;
        let cache_bytes = cluster.cache_bytes.bytes();
        check.range("cluster.cache_bytes", cache_bytes, 0, 64 << 30)?;
        let (millisecond, minute, hour) = (
            Duration::from_millis(1),
            Duration::from_secs(60),
            Duration::from_secs(3600),
        );
        check.span(
            "cluster.peer_timeout",
            cluster.peer_timeout,
            millisecond,
            minute,
        )?;
        let ten_ms = Duration::from_millis(10);
        check.span(
            "cluster.header_timeout",
            cluster.header_timeout,
            ten_ms,
            hour,
        )?;
        check.span("cluster.idle_timeout", cluster.idle_timeout, ten_ms, hour)?;
        let connections = u64::from(cluster.max_connections);
        check.range("cluster.max_connections", connections, 1, 1_000_000)?;
        crate::geecache::path::base_path(&cluster.base_path)
            .map_err(|message| check.invalid("cluster.base_path", message))?;
        Ok(())
    }

    /// The driver's clocks: a request's timeout, the run's time limit and
    /// the series' interval.
    fn check_clocks(&self, check: &Checker) -> Result<(), WorkloadError> {
        let minute = Duration::from_secs(60);
        check.span("timeout", self.timeout, Duration::from_millis(1), minute)?;
        let day = Duration::from_secs(24 * 3600);
        check.span("time_limit", self.time_limit, Duration::from_secs(1), day)?;
        check.span(
            "interval",
            self.interval,
            Duration::from_millis(100),
            minute,
        )
    }

    /// The trace's settings, and a trace's pace against the rate's.
    fn check_trace(&self, check: &Checker) -> Result<(), WorkloadError> {
        let Some(trace) = &self.trace else {
            return Ok(());
        };
        if trace.path.is_empty() {
            return Err(check.invalid("trace.path", "is empty: name the trace file".to_owned()));
        }
        if let Some(limit) = trace.limit {
            check.range("trace.limit", limit, 1, u64::MAX)?;
        }
        if let Some(sample) = trace.sample {
            if !(sample.is_finite() && sample > 0.0 && sample <= 1.0) {
                return Err(check.invalid(
                    "trace.sample",
                    format!("{sample} is out of range: a share above 0, at most 1"),
                ));
            }
        }
        let Some(speed) = trace.speed else {
            return Ok(());
        };
        if !(speed.is_finite() && (0.001..=1_000_000.0).contains(&speed)) {
            return Err(check.invalid(
                "trace.speed",
                format!("{speed} is out of range: allowed 0.001 to 1000000"),
            ));
        }
        if self.rate.is_some() {
            return Err(check.invalid(
                "trace.speed",
                "paces the trace at its own times; a rate paces it evenly: give one".to_owned(),
            ));
        }
        if let Some(index) = self
            .events
            .iter()
            .position(|event| matches!(event.action, events::Action::SetRate { .. }))
        {
            return Err(check.invalid(
                &format!("events[{index}]"),
                "set_rate changes an even rate; a trace paced at its own times \
                 (trace.speed) has none"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// The events, against the run they happen in.
    fn check_events(&self, check: &Checker) -> Result<(), WorkloadError> {
        let frame = Frame {
            nodes: self.cluster.nodes,
            max_nodes: MAX_NODES,
            keys: self.keys,
            requests: match self.bound() {
                Bound::Requests(requests) => Some(requests),
                Bound::Duration(_) => None,
            },
            duration: self.duration.map(Span::duration),
            open_loop: self.rate.is_some(),
        };
        events::check(&self.events, frame)
            .map_err(|(field, message)| check.invalid(&field, message))
    }
}

/// Where a workload came from and the flags that set its fields: what an
/// error about a field says besides the field.
struct Checker<'a> {
    source: &'a str,
    flags: &'a [(&'static str, &'static str)],
}

impl Checker<'_> {
    /// A field out of range, named by the flag that set it, if one did.
    fn invalid(&self, field: &str, message: String) -> WorkloadError {
        WorkloadError::Invalid {
            origin: self.source.to_owned(),
            field: field.to_owned(),
            flag: self
                .flags
                .iter()
                // A flag that sets a whole object (--slowdb-latency) sets
                // each of its fields.
                .find(|(name, _)| {
                    field == *name
                        || field
                            .strip_prefix(*name)
                            .is_some_and(|rest| rest.starts_with('.'))
                })
                .map(|(_, flag)| format!(" (set by {flag})"))
                .unwrap_or_default(),
            message,
        }
    }

    /// A whole number within `low..=high`.
    fn range(&self, field: &str, value: u64, low: u64, high: u64) -> Result<(), WorkloadError> {
        if (low..=high).contains(&value) {
            Ok(())
        } else {
            Err(self.invalid(
                field,
                format!("{value} is out of range: allowed {low} to {high}"),
            ))
        }
    }

    /// A span of time within `low..=high`.
    fn span(
        &self,
        field: &str,
        value: Span,
        low: Duration,
        high: Duration,
    ) -> Result<(), WorkloadError> {
        if (low..=high).contains(&value.0) {
            Ok(())
        } else {
            Err(self.invalid(
                field,
                format!(
                    "{value} is out of range: allowed {} to {}",
                    Span(low),
                    Span(high)
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::events::{Action, Event};
    use crate::harness::workload::parse;
    use crate::harness::workload::tests::error_of;

    #[test]
    fn out_of_range_values_name_the_field_and_the_range() {
        for (text, field, range) in [
            (r#"{"keys": 0}"#, "keys", "1 to 10000000"),
            (r#"{"concurrency": 0}"#, "concurrency", "1 to 10000"),
            (r#"{"requests": 0}"#, "requests", "1 to"),
            (r#"{"rate": 0.5}"#, "rate", "1 to 10000000"),
            (r#"{"cluster": {"nodes": 0}}"#, "cluster.nodes", "1 to 64"),
            (
                r#"{"cluster": {"replicas": 0}}"#,
                "cluster.replicas",
                "1 to 10000",
            ),
            (
                r#"{"slowdb": {"missing_share": 1.5}}"#,
                "slowdb.missing_share",
                "0 to 1",
            ),
            (
                r#"{"distribution": {"kind": "zipf", "exponent": -1}}"#,
                "distribution.exponent",
                "0 to 10",
            ),
            (r#"{"duration": "1ms"}"#, "duration", "100ms to 24h"),
            (
                r#"{"slowdb": {"latency": {"kind": "fixed", "value": "2m"}}}"#,
                "slowdb.latency.value",
                "0ns to 1m",
            ),
            (
                r#"{"value_size": 999999999}"#,
                "value_size",
                "0 to 16777216",
            ),
            (r#"{"name": "../escape"}"#, "name", "letters, digits"),
        ] {
            let error = error_of(text);
            assert_eq!(error.field(), Some(field), "{text}: {error}");
            assert!(error.to_string().contains(range), "{text}: {error}");
            assert!(error.to_string().starts_with("test.json: "), "{error}");
        }
        let error = error_of(r#"{"requests": 10, "duration": "1s"}"#);
        assert!(error.to_string().contains("not both"), "{error}");
    }

    fn workload(events: &str, extra: &str) -> Result<Workload, String> {
        let text = format!(r#"{{"keys": 1000, "duration": "15s", {extra} "events": {events}}}"#);
        parse(&text, "scenario.json", "scenario").map_err(|error| error.to_string())
    }

    #[test]
    fn events_parse_with_their_timing_beside_the_action() {
        let parsed = workload(
            r#"[{"at": "5s", "action": "stop_node", "node": 2},
                {"at": "10s", "action": "start_node", "node": 2, "keep_cache": true},
                {"at": "11s", "action": "add_node"},
                {"at": "12s", "action": "slowdb", "latency": {"kind": "fixed", "value": "20ms"}, "error_share": 0.5},
                {"at": "13s", "action": "shift_keys", "offset": 500},
                {"at": "14s", "action": "slow_node", "node": 3, "delay": "50ms"}]"#,
            "",
        )
        .unwrap();
        let events = &parsed.events;
        assert_eq!(events.len(), 6);
        assert_eq!(events[0].at, Some(Span(Duration::from_secs(5))));
        assert_eq!(events[0].action, Action::StopNode { node: 2 });
        assert_eq!(
            events[1].action,
            Action::StartNode {
                node: 2,
                keep_cache: true
            }
        );
        assert_eq!(events[2].action, Action::AddNode {});
        assert_eq!(events[4].to_string(), "at 13s: shift_keys by 500");
        // They serialize back to what was read.
        let json = serde_json::to_value(events).unwrap();
        assert_eq!(json[0]["action"], "stop_node");
        assert_eq!(json[0]["at"], "5s");
        assert!(json[0].get("at_request").is_none());
        let back: Vec<Event> = serde_json::from_value(json).unwrap();
        assert_eq!(&back, events);
    }

    #[test]
    fn bad_events_are_refused_with_the_field_named() {
        for (events, extra, field, why) in [
            (
                r#"[{"at": "5s", "action": "explode"}]"#,
                "",
                "events[0]",
                "explode",
            ),
            (
                r#"[{"at": "5s", "action": "stop_node", "nod": 1}]"#,
                "",
                "events[0]",
                "nod",
            ),
            (
                r#"[{"at": "5s", "action": "stop_node", "node": 7}]"#,
                "",
                "events[0].node",
                "no node 7",
            ),
            (
                r#"[{"at": "20s", "action": "stop_node", "node": 1}]"#,
                "",
                "events[0].at",
                "after the end",
            ),
            (
                r#"[{"action": "stop_node", "node": 1}]"#,
                "",
                "events[0]",
                "at_request",
            ),
            (
                r#"[{"at": "1s", "at_request": 5, "action": "add_node"}]"#,
                "",
                "events[0]",
                "not both",
            ),
            (
                r#"[{"at": "1s", "action": "add_node"}, {"at_request": 5, "action": "add_node"}]"#,
                "",
                "events[1].at_request",
                "one clock",
            ),
            (
                r#"[{"at": "1s", "action": "stop_node", "node": 0}]"#,
                "",
                "events[0].node",
                "API",
            ),
            (
                r#"[{"at": "1s", "action": "remove_node", "node": 0}]"#,
                "",
                "events[0].node",
                "cannot leave",
            ),
            (
                r#"[{"at": "1s", "action": "stop_node", "node": 1}, {"at": "2s", "action": "stop_node", "node": 1}]"#,
                "",
                "events[1].node",
                "already stopped",
            ),
            (
                r#"[{"at": "1s", "action": "start_node", "node": 1}]"#,
                "",
                "events[0].node",
                "running",
            ),
            (
                r#"[{"at": "1s", "action": "remove_node", "node": 2}, {"at": "2s", "action": "slow_node", "node": 2, "delay": "1s"}]"#,
                "",
                "events[1].node",
                "has left",
            ),
            (
                r#"[{"at": "1s", "action": "stop_node", "node": 2}, {"at": "2s", "action": "remove_node", "node": 2}]"#,
                "",
                "events[1].node",
                "start it first",
            ),
            (
                r#"[{"at": "1s", "action": "slowdb"}]"#,
                "",
                "events[0]",
                "latency, error_share",
            ),
            (
                r#"[{"at": "1s", "action": "slowdb", "error_share": 1.5}]"#,
                "",
                "events[0].error_share",
                "0 to 1",
            ),
            (
                r#"[{"at": "1s", "action": "shift_keys", "offset": 1000}]"#,
                "",
                "events[0].offset",
                "1 to 999",
            ),
            (
                r#"[{"at": "1s", "action": "set_rate", "rate": 100}]"#,
                "",
                "events[0].action",
                "open loop",
            ),
            (
                r#"[{"at": "1s", "action": "set_rate", "rate": 0}]"#,
                r#""rate": 100,"#,
                "events[0].rate",
                "out of range",
            ),
        ] {
            let outcome = workload(events, extra);
            let error = outcome.expect_err(events);
            assert!(error.contains(&format!(": {field}")), "{events}: {error}");
            assert!(error.contains(why), "{events}: {error}");
        }
        assert!(workload(r#"[{"at": "1s", "action": "stop_node", "node": 3}, {"at": "0.5s", "action": "add_node"}]"#, "").is_ok());
        let past_the_end = parse(
            r#"{"requests": 50, "events": [{"at_request": 50, "action": "add_node"}]}"#,
            "x.json",
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(
            past_the_end.contains("events[0].at_request") && past_the_end.contains("after the end"),
            "{past_the_end}"
        );
    }
}
