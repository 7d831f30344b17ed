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
        let mut given = Given::default();
        self.apply_cluster(overrides, &mut given);
        self.apply_load(overrides, &mut given);
        self.apply_trace(overrides, source, &mut given)?;
        self.validate(source, &given.0)
    }

    /// The flags that set the cluster's fields.
    fn apply_cluster(&mut self, overrides: &Overrides, given: &mut Given) {
        let cluster = &mut self.cluster;
        given.set(overrides.nodes, &mut cluster.nodes, CLUSTER_NODES);
        given.set(overrides.replicas, &mut cluster.replicas, CLUSTER_REPLICAS);
        given.set(overrides.cache_bytes, &mut cluster.cache_bytes, CACHE_BYTES);
        given.set(overrides.hash, &mut cluster.hash, HASH);
        given.set(
            overrides.singleflight,
            &mut cluster.singleflight,
            SINGLEFLIGHT,
        );
        given.set(overrides.hot_cache, &mut cluster.hot_cache, HOT_CACHE);
        given.set(
            overrides.source_header,
            &mut cluster.source_header,
            SOURCE_HEADER,
        );
        given.set(
            overrides.header_timeout,
            &mut cluster.header_timeout,
            HEADER_TIMEOUT,
        );
        given.set(
            overrides.idle_timeout,
            &mut cluster.idle_timeout,
            IDLE_TIMEOUT,
        );
        let max_connections = &mut cluster.max_connections;
        given.set(overrides.max_connections, max_connections, MAX_CONNECTIONS);
        given.set(
            overrides.base_path.clone(),
            &mut cluster.base_path,
            BASE_PATH,
        );
    }

    /// The flags that set the load: its length (a request count replaces a
    /// duration, and the other way round), pace, warm-up, keys' seed, the
    /// store's latency and the series' interval.
    fn apply_load(&mut self, overrides: &Overrides, given: &mut Given) {
        given.set(overrides.requests.map(Some), &mut self.requests, REQUESTS);
        if overrides.requests.is_some() {
            self.duration = None;
        }
        given.set(overrides.duration.map(Some), &mut self.duration, DURATION);
        if overrides.duration.is_some() {
            self.requests = None;
        }
        given.set(overrides.rate.map(Some), &mut self.rate, RATE);
        given.set(overrides.warmup_requests, &mut self.warmup_requests, WARMUP);
        given.set(overrides.concurrency, &mut self.concurrency, CONCURRENCY);
        given.set(overrides.seed, &mut self.seed, SEED);
        given.set(
            overrides.slowdb_latency,
            &mut self.slowdb.latency,
            SLOWDB_LATENCY,
        );
        given.set(overrides.interval, &mut self.interval, INTERVAL);
    }

    /// The flags that set the trace: `--trace` a new one (its format,
    /// limit, sample and speed dropped with its path), the others a field
    /// of the trace there is, which they refuse to set without one.
    fn apply_trace(
        &mut self,
        overrides: &Overrides,
        source: &str,
        given: &mut Given,
    ) -> Result<(), WorkloadError> {
        if let Some(path) = &overrides.trace {
            self.trace = Some(TraceSettings {
                path: path.clone(),
                format: None,
                limit: None,
                sample: None,
                speed: None,
            });
            given.0.push(TRACE_PATH);
        }
        let Some(trace) = &mut self.trace else {
            let fields = [
                (TRACE_FORMAT, overrides.trace_format.is_some()),
                (TRACE_LIMIT, overrides.trace_limit.is_some()),
                (TRACE_SAMPLE, overrides.sample.is_some()),
                (TRACE_SPEED, overrides.speed.is_some()),
            ];
            return match fields.into_iter().find(|(_, given)| *given) {
                Some(((field, flag), _)) => Err(WorkloadError::Invalid {
                    origin: source.to_owned(),
                    field: field.to_owned(),
                    flag: format!(" (set by {flag})"),
                    message: "there is no trace to apply it to: give --trace FILE, or a \
                              workload with a trace"
                        .to_owned(),
                }),
                None => Ok(()),
            };
        };
        given.set(
            overrides.trace_format.clone().map(Some),
            &mut trace.format,
            TRACE_FORMAT,
        );
        given.set(
            overrides.trace_limit.map(Some),
            &mut trace.limit,
            TRACE_LIMIT,
        );
        given.set(overrides.sample.map(Some), &mut trace.sample, TRACE_SAMPLE);
        given.set(overrides.speed.map(Some), &mut trace.speed, TRACE_SPEED);
        Ok(())
    }
}

/// The fields the flags set, each with its flag, so that an error can
/// name the flag that gave a bad value.
#[derive(Default)]
struct Given(Vec<(&'static str, &'static str)>);

impl Given {
    /// Sets `target` to `value` when the flag gave one.
    fn set<T>(&mut self, value: Option<T>, target: &mut T, field_and_flag: FieldFlag) {
        if let Some(value) = value {
            *target = value;
            self.0.push(field_and_flag);
        }
    }
}

/// A workload's field, and the flag that sets it.
type FieldFlag = (&'static str, &'static str);

const CLUSTER_NODES: FieldFlag = ("cluster.nodes", "--nodes");
const CLUSTER_REPLICAS: FieldFlag = ("cluster.replicas", "--replicas");
const CACHE_BYTES: FieldFlag = ("cluster.cache_bytes", "--cache-bytes");
const HASH: FieldFlag = ("cluster.hash", "--hash");
const SINGLEFLIGHT: FieldFlag = ("cluster.singleflight", "--singleflight");
const HOT_CACHE: FieldFlag = ("cluster.hot_cache", "--hot-cache");
const SOURCE_HEADER: FieldFlag = ("cluster.source_header", "--source-header");
const HEADER_TIMEOUT: FieldFlag = ("cluster.header_timeout", "--header-timeout");
const IDLE_TIMEOUT: FieldFlag = ("cluster.idle_timeout", "--idle-timeout");
const MAX_CONNECTIONS: FieldFlag = ("cluster.max_connections", "--max-connections");
const BASE_PATH: FieldFlag = ("cluster.base_path", "--base-path");
const REQUESTS: FieldFlag = ("requests", "--requests");
const DURATION: FieldFlag = ("duration", "--duration");
const RATE: FieldFlag = ("rate", "--rate");
const WARMUP: FieldFlag = ("warmup_requests", "--warmup");
const CONCURRENCY: FieldFlag = ("concurrency", "--concurrency");
const SEED: FieldFlag = ("seed", "--seed");
const SLOWDB_LATENCY: FieldFlag = ("slowdb.latency", "--slowdb-latency");
const INTERVAL: FieldFlag = ("interval", "--interval");
const TRACE_PATH: FieldFlag = ("trace.path", "--trace");
const TRACE_FORMAT: FieldFlag = ("trace.format", "--trace-format");
const TRACE_LIMIT: FieldFlag = ("trace.limit", "--trace-limit");
const TRACE_SAMPLE: FieldFlag = ("trace.sample", "--sample");
const TRACE_SPEED: FieldFlag = ("trace.speed", "--speed");

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
