//! Values from the command line that replace a workload's: each flag
//! names the field it sets, so an error says which flag gave a bad value.

use super::{Workload, WorkloadError};
use crate::geecache::HashKind;
use crate::harness::slowdb::Latency;
use crate::harness::trace::{TraceFormat, TraceSettings};
use crate::units::{ByteSize, Span};

/// Values from the command line that replace the workload's.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--nodes`
    pub nodes: Option<u32>,
    /// `--replicas`
    pub replicas: Option<u32>,
    /// `--cache-bytes`
    pub cache_bytes: Option<ByteSize>,
    /// `--hash`
    pub hash: Option<HashKind>,
    /// `--singleflight on|off`
    pub singleflight: Option<bool>,
    /// `--hot-cache on|off`
    pub hot_cache: Option<bool>,
    /// `--source-header on|off`
    pub source_header: Option<bool>,
    /// `--requests` (replaces a duration)
    pub requests: Option<u64>,
    /// `--duration` (replaces a request count)
    pub duration: Option<Span>,
    /// `--warmup`
    pub warmup_requests: Option<u64>,
    /// `--concurrency`
    pub concurrency: Option<u32>,
    /// `--rate`
    pub rate: Option<f64>,
    /// `--seed`
    pub seed: Option<u64>,
    /// `--slowdb-latency`
    pub slowdb_latency: Option<Latency>,
    /// `--interval`
    pub interval: Option<Span>,
    /// `--header-timeout`
    pub header_timeout: Option<Span>,
    /// `--idle-timeout`
    pub idle_timeout: Option<Span>,
    /// `--max-connections`
    pub max_connections: Option<u32>,
    /// `--base-path`
    pub base_path: Option<String>,
    /// `--trace` (a new trace: the workload's format, limit, sample and
    /// speed are dropped with its path)
    pub trace: Option<String>,
    /// `--trace-format`
    pub trace_format: Option<TraceFormat>,
    /// `--trace-limit`
    pub trace_limit: Option<u64>,
    /// `--sample`
    pub sample: Option<f64>,
    /// `--speed`
    pub speed: Option<f64>,
}

impl Workload {
    /// Applies `overrides`, then checks the result; an error names the flag
    /// that set a bad value.
    pub fn apply(&mut self, overrides: &Overrides, source: &str) -> Result<(), WorkloadError> {
        let mut flags: Vec<(&'static str, &'static str)> = Vec::new();
        macro_rules! set {
            ($option:expr, $target:expr, $field:literal, $flag:literal) => {
                if let Some(value) = $option {
                    $target = value;
                    flags.push(($field, $flag));
                }
            };
        }
        set!(
            overrides.nodes,
            self.cluster.nodes,
            "cluster.nodes",
            "--nodes"
        );
        set!(
            overrides.replicas,
            self.cluster.replicas,
            "cluster.replicas",
            "--replicas"
        );
        set!(
            overrides.cache_bytes,
            self.cluster.cache_bytes,
            "cluster.cache_bytes",
            "--cache-bytes"
        );
        set!(overrides.hash, self.cluster.hash, "cluster.hash", "--hash");
        set!(
            overrides.singleflight,
            self.cluster.singleflight,
            "cluster.singleflight",
            "--singleflight"
        );
        set!(
            overrides.hot_cache,
            self.cluster.hot_cache,
            "cluster.hot_cache",
            "--hot-cache"
        );
        set!(
            overrides.source_header,
            self.cluster.source_header,
            "cluster.source_header",
            "--source-header"
        );
        set!(
            overrides.warmup_requests,
            self.warmup_requests,
            "warmup_requests",
            "--warmup"
        );
        set!(
            overrides.concurrency,
            self.concurrency,
            "concurrency",
            "--concurrency"
        );
        set!(overrides.seed, self.seed, "seed", "--seed");
        set!(
            overrides.slowdb_latency,
            self.slowdb.latency,
            "slowdb.latency",
            "--slowdb-latency"
        );
        set!(overrides.interval, self.interval, "interval", "--interval");
        set!(
            overrides.header_timeout,
            self.cluster.header_timeout,
            "cluster.header_timeout",
            "--header-timeout"
        );
        set!(
            overrides.idle_timeout,
            self.cluster.idle_timeout,
            "cluster.idle_timeout",
            "--idle-timeout"
        );
        set!(
            overrides.max_connections,
            self.cluster.max_connections,
            "cluster.max_connections",
            "--max-connections"
        );
        set!(
            overrides.base_path.clone(),
            self.cluster.base_path,
            "cluster.base_path",
            "--base-path"
        );
        if let Some(requests) = overrides.requests {
            self.requests = Some(requests);
            self.duration = None;
            flags.push(("requests", "--requests"));
        }
        if let Some(duration) = overrides.duration {
            self.duration = Some(duration);
            self.requests = None;
            flags.push(("duration", "--duration"));
        }
        if let Some(rate) = overrides.rate {
            self.rate = Some(rate);
            flags.push(("rate", "--rate"));
        }
        if let Some(path) = &overrides.trace {
            self.trace = Some(TraceSettings {
                path: path.clone(),
                format: None,
                limit: None,
                sample: None,
                speed: None,
            });
            flags.push(("trace.path", "--trace"));
        }
        let trace_flags = [
            (
                "trace.format",
                "--trace-format",
                overrides.trace_format.is_some(),
            ),
            (
                "trace.limit",
                "--trace-limit",
                overrides.trace_limit.is_some(),
            ),
            ("trace.sample", "--sample", overrides.sample.is_some()),
            ("trace.speed", "--speed", overrides.speed.is_some()),
        ];
        for (field, flag, given) in trace_flags {
            if !given {
                continue;
            }
            let Some(trace) = &mut self.trace else {
                return Err(WorkloadError::Invalid {
                    origin: source.to_owned(),
                    field: field.to_owned(),
                    flag: format!(" (set by {flag})"),
                    message: "there is no trace to apply it to: give --trace FILE, or a \
                              workload with a trace"
                        .to_owned(),
                });
            };
            match field {
                "trace.format" => trace.format = overrides.trace_format.clone(),
                "trace.limit" => trace.limit = overrides.trace_limit,
                "trace.sample" => trace.sample = overrides.sample,
                _ => trace.speed = overrides.speed,
            }
            flags.push((field, flag));
        }
        self.validate(source, &flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::workload::tests::parse_text;
    use crate::harness::workload::Bound;
    use std::time::Duration;

    #[test]
    fn flags_override_and_are_named_when_they_set_a_bad_value() {
        let mut workload = parse_text(r#"{"requests": 10}"#).unwrap();
        let overrides = Overrides {
            nodes: Some(5),
            cache_bytes: Some(ByteSize(1 << 20)),
            duration: Some(Span(Duration::from_secs(2))),
            ..Overrides::default()
        };
        workload.apply(&overrides, "test.json").unwrap();
        assert_eq!(workload.cluster.nodes, 5);
        assert_eq!(workload.cluster.cache_bytes, ByteSize(1 << 20));
        assert_eq!(workload.bound(), Bound::Duration(Duration::from_secs(2)));

        let bad = Overrides {
            nodes: Some(100),
            ..Overrides::default()
        };
        let error = workload.apply(&bad, "test.json").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cluster.nodes (set by --nodes): 100 is out of range"),
            "{error}"
        );
    }
}
