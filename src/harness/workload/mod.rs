//! Workload files: what a run asks of the cluster, read from JSON, checked
//! field by field, and overridden by command-line flags.
//!
//! Every field has a default, so `{}` is a valid workload; unknown fields and
//! values out of range are refused with the field's name and its range.
//!
//! The fields and their reading are here; `overrides` are the flags
//! that replace them, `stages` a rate that changes on a schedule, and
//! `validate` the checks, field by field.

//!
//! Beside this file: `overrides` (the flags over a workload),
//! `stages` (a rate that changes on a schedule) and `validate` (every
//! field checked against its range).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::geecache::HashKind;
pub use crate::harness::events::{Action, Event};
pub use crate::harness::slowdb::{Latency, SlowDbSettings};
pub use crate::harness::trace::TraceSettings;
use crate::harness::trace::{self, ScanRequest, TraceError, TraceIndex};
use crate::units::{ByteSize, Span};

mod overrides;
mod stages;
mod validate;

pub use overrides::Overrides;
pub use stages::Stage;

/// The workloads that ship with the binary, found by name even where there is
/// no `workloads/` directory.
pub(crate) const BUILT_IN: &[(&str, &str)] = &[
    ("zipf", include_str!("../../../workloads/zipf.json")),
    ("uniform", include_str!("../../../workloads/uniform.json")),
    ("hot-key", include_str!("../../../workloads/hot-key.json")),
    ("ci", include_str!("../../../workloads/ci.json")),
    (
        "node-failure",
        include_str!("../../../workloads/node-failure.json"),
    ),
    (
        "scale-out",
        include_str!("../../../workloads/scale-out.json"),
    ),
    ("scale-in", include_str!("../../../workloads/scale-in.json")),
    ("brownout", include_str!("../../../workloads/brownout.json")),
    (
        "hot-shift",
        include_str!("../../../workloads/hot-shift.json"),
    ),
    (
        "broken-peers",
        include_str!("../../../workloads/broken-peers.json"),
    ),
];

/// The built-in workloads' names, for messages.
fn built_in_names() -> String {
    BUILT_IN
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most nodes a cluster may have, those events add included.
pub(crate) const MAX_NODES: u32 = 64;

/// Largest key space: the slow store keeps a load counter per key.
pub(crate) const MAX_KEYS: u64 = 10_000_000;

/// A workload: the key space and its distribution, how much load and how it
/// is offered, the slow store, the cluster, and the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Names the result file; by default the file's name without `.json`.
    #[serde(default)]
    pub name: String,
    /// Keys `key0` .. `key{keys-1}`.
    #[serde(default = "defaults::keys")]
    pub keys: u64,
    /// How requests pick keys.
    #[serde(default)]
    pub distribution: Distribution,
    /// Measured requests. A run is bounded by `requests` or by `duration`;
    /// with neither, by 100,000 requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// How long to measure, such as `"10s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Span>,
    /// Requests sent before measuring, to fill the caches; not recorded.
    #[serde(default)]
    pub warmup_requests: u64,
    /// Closed loop: requests in flight at once. Open loop: the most in
    /// flight at once.
    #[serde(default = "defaults::concurrency")]
    pub concurrency: u32,
    /// Open loop: requests per second, sent on schedule whatever the answers
    /// do; latency counts from the intended send time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Bytes per value.
    #[serde(default = "defaults::value_size")]
    pub value_size: u64,
    /// The slow store behind every node.
    #[serde(default)]
    pub slowdb: SlowDbSettings,
    /// The cluster under test.
    #[serde(default)]
    pub cluster: ClusterSettings,
    /// Seeds the key sequence: one seed, one sequence.
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    /// How long the driver waits for one answer.
    #[serde(default = "defaults::timeout")]
    pub timeout: Span,
    /// The longest a run may take, warm-up included, whatever else it says.
    #[serde(default = "defaults::time_limit")]
    pub time_limit: Span,
    /// The length of each interval of the result's series, 100ms to 1m.
    #[serde(default = "defaults::interval")]
    pub interval: Span,
    /// Replay this trace's reads instead of drawing keys from `distribution`
    /// (`keys` becomes the trace's distinct keys). See
    /// [`crate::harness::trace`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceSettings>,
    /// What happens during the measurement: nodes stop, start, join, leave
    /// or slow down, the store browns out, the hot set moves, the rate
    /// changes. See [`Event`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// Open loop at a rate that changes on a schedule: each stage holds a
    /// rate for its duration or ramps to it (see `stages`). The run lasts
    /// all the stages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
}

/// How requests pick keys.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Distribution {
    /// Key of rank `k` (from 1) with weight `1 / k^exponent`; `key0` is the
    /// hottest.
    Zipf {
        /// The steepness; 1.0 is the classic web-cache shape.
        exponent: f64,
    },
    /// Every key equally likely.
    Uniform,
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution::Zipf { exponent: 1.0 }
    }
}

/// The cluster under test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Nodes; node 0 serves the API.
    #[serde(default = "defaults::nodes")]
    pub nodes: u32,
    /// Virtual nodes per node on the ring.
    #[serde(default = "defaults::replicas")]
    pub replicas: u32,
    /// The ring's hash.
    #[serde(default)]
    pub hash: HashKind,
    /// Each node's main cache, such as `"16MiB"`; 0 means unbounded.
    #[serde(default = "defaults::cache_bytes")]
    pub cache_bytes: ByteSize,
    /// Merge concurrent loads of one key.
    #[serde(default = "defaults::yes")]
    pub singleflight: bool,
    /// Keep a share of values fetched from peers in a hot cache.
    #[serde(default)]
    pub hot_cache: bool,
    /// How long a node waits for a peer before loading locally.
    #[serde(default = "defaults::peer_timeout")]
    pub peer_timeout: Span,
    /// Once a request head's first byte has arrived at a node, the whole
    /// head must within this long, or the connection is closed.
    #[serde(default = "defaults::header_timeout")]
    pub header_timeout: Span,
    /// A node closes a connection with no request in progress for this
    /// long.
    #[serde(default = "defaults::idle_timeout")]
    pub idle_timeout: Span,
    /// Connections a node holds open at once; beyond it a new connection is
    /// answered 503 and closed.
    #[serde(default = "defaults::max_connections")]
    pub max_connections: u32,
    /// Where peer requests live on every node: `/geecache/` as in the
    /// source document, `/_geecache/` to mix with nodes of the upstream
    /// repository's later days.
    #[serde(default = "defaults::base_path")]
    pub base_path: String,
    /// The API node names each answer's source (`X-GeeCache-Source`: hit,
    /// peer, load), so the driver splits latency by it. Off by default: the
    /// header costs the node and the driver about 1,000 instructions a
    /// request (3.5% on ci), more than a measurement should add.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_header: bool,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            nodes: defaults::nodes(),
            replicas: defaults::replicas(),
            hash: HashKind::default(),
            cache_bytes: defaults::cache_bytes(),
            singleflight: true,
            hot_cache: false,
            peer_timeout: defaults::peer_timeout(),
            header_timeout: defaults::header_timeout(),
            idle_timeout: defaults::idle_timeout(),
            max_connections: defaults::max_connections(),
            base_path: defaults::base_path(),
            source_header: false,
        }
    }
}

mod defaults {
    use super::*;
    pub fn keys() -> u64 {
        100_000
    }
    pub fn concurrency() -> u32 {
        64
    }
    pub fn value_size() -> u64 {
        100
    }
    pub fn seed() -> u64 {
        42
    }
    pub fn timeout() -> Span {
        Span(Duration::from_secs(5))
    }
    pub fn time_limit() -> Span {
        Span(Duration::from_secs(600))
    }
    pub fn interval() -> Span {
        Span(Duration::from_secs(1))
    }
    pub fn nodes() -> u32 {
        3
    }
    pub fn replicas() -> u32 {
        50
    }
    pub fn cache_bytes() -> ByteSize {
        ByteSize(16 << 20)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn peer_timeout() -> Span {
        Span(Duration::from_secs(2))
    }
    pub fn header_timeout() -> Span {
        Span(Duration::from_secs(10))
    }
    pub fn idle_timeout() -> Span {
        Span(Duration::from_secs(60))
    }
    pub fn max_connections() -> u32 {
        10_000
    }
    pub fn base_path() -> String {
        crate::geecache::path::BASE_PATH.to_owned()
    }
}

/// Requests a run measures when the workload gives neither a count nor a
/// duration.
pub(crate) const DEFAULT_REQUESTS: u64 = 100_000;

/// What bounds the measured part of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// A number of requests.
    Requests(u64),
    /// A length of time.
    Duration(Duration),
}

/// Why a workload cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// No file by that path or name.
    #[error(
        "workload {spec:?} not found (looked for {tried}; built-in names: {})",
        built_in_names()
    )]
    NotFound {
        /// What was asked for.
        spec: String,
        /// Where it was looked for.
        tried: String,
    },
    /// The file could not be read.
    #[error("cannot read workload {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The JSON is malformed or a field has the wrong type or name.
    #[error("{origin}: {field}: {message}")]
    Parse {
        /// Where the workload came from.
        origin: String,
        /// The field, as a dotted path (`.` for the top level).
        field: String,
        /// What serde said, with line and column.
        message: String,
    },
    /// The workload's trace cannot be scanned.
    #[error("trace {0}")]
    Trace(#[from] TraceError),
    /// The warm-up takes every read of the trace, leaving none to measure.
    #[error(
        "trace {path}: its {reads} reads are all used by the warm-up ({warmup} requests): \
         give fewer warm-up requests, or a longer trace"
    )]
    TraceUsedByWarmup {
        /// The trace file.
        path: String,
        /// Its reads.
        reads: u64,
        /// The warm-up's requests.
        warmup: u64,
    },
    /// A field's value is out of range.
    #[error("{origin}: {field}{flag}: {message}")]
    Invalid {
        /// Where the workload came from.
        origin: String,
        /// The field, as a dotted path.
        field: String,
        /// ` (set by --flag)` when a flag gave the value.
        flag: String,
        /// The value and the allowed range.
        message: String,
    },
}

impl WorkloadError {
    /// The field at fault, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            WorkloadError::Parse { field, .. } => Some(field),
            WorkloadError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A workload and where it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The workload, with its defaults filled in.
    pub workload: Workload,
    /// The file it was read from, or `built-in:NAME`.
    pub source: String,
}

/// Finds a workload: `spec` as a path; else, for a bare name, `workloads/NAME`
/// and `workloads/NAME.json` under the current directory; else the built-in
/// workload of that name.
pub fn load(spec: &str) -> Result<Loaded, WorkloadError> {
    let as_given = PathBuf::from(spec);
    let mut tried = vec![as_given.clone()];
    let bare = !spec.contains('/') && !spec.contains(std::path::MAIN_SEPARATOR);
    if bare {
        tried.push(Path::new("workloads").join(spec));
        if !spec.ends_with(".json") {
            tried.push(Path::new("workloads").join(format!("{spec}.json")));
        }
    }
    for path in &tried {
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let source = path.display().to_string();
            let stem = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut workload = parse(&text, &source, &stem)?;
            // A trace named in a workload file is found beside it.
            if let (Some(trace), Some(folder)) = (&mut workload.trace, path.parent()) {
                if Path::new(&trace.path).is_relative() && !folder.as_os_str().is_empty() {
                    trace.path = folder.join(&trace.path).display().to_string();
                }
            }
            return Ok(Loaded { workload, source });
        }
    }
    let name = spec.strip_suffix(".json").unwrap_or(spec);
    if bare {
        if let Some((name, text)) = BUILT_IN.iter().find(|(built_in, _)| *built_in == name) {
            let source = format!("built-in:{name}");
            return parse(text, &source, name).map(|workload| Loaded { workload, source });
        }
    }
    Err(WorkloadError::NotFound {
        spec: spec.to_owned(),
        tried: tried
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Reads a workload from JSON text and checks it. `source` names it in
/// errors; `default_name` is its name when the text gives none.
pub fn parse(text: &str, source: &str, default_name: &str) -> Result<Workload, WorkloadError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed: Result<Workload, _> = serde_path_to_error::deserialize(&mut deserializer);
    let mut workload = parsed.map_err(|error| WorkloadError::Parse {
        origin: source.to_owned(),
        field: error.path().to_string(),
        message: error.inner().to_string(),
    })?;
    deserializer.end().map_err(|error| WorkloadError::Parse {
        origin: source.to_owned(),
        field: ".".to_owned(),
        message: error.to_string(),
    })?;
    if workload.name.is_empty() {
        workload.name = default_name.to_owned();
    }
    workload.settle_stages();
    workload.validate(source, &[])?;
    Ok(workload)
}

impl Workload {
    /// The workload and its cluster in a line, as the live view and the
    /// HTML page title it: `zipf  3 nodes  50 replicas  crc32  256KiB/node`.
    pub fn headline(&self) -> String {
        let cluster = &self.cluster;
        format!(
            "{}  {} nodes  {} replicas  {}  {}/node",
            self.name, cluster.nodes, cluster.replicas, cluster.hash, cluster.cache_bytes
        )
    }

    /// What bounds the measured part of the run.
    pub fn bound(&self) -> Bound {
        match (self.requests, self.duration) {
            (_, Some(duration)) => Bound::Duration(duration.0),
            (Some(requests), None) => Bound::Requests(requests),
            (None, None) => Bound::Requests(DEFAULT_REQUESTS),
        }
    }
}

impl Workload {
    /// Scans the workload's trace, if it has one, before anything starts:
    /// a bad record, a missing file or too many keys end here. The
    /// workload then counts the trace's distinct keys as its `keys`, and,
    /// bounded by neither requests nor a duration, measures every read the
    /// warm-up leaves.
    pub fn scan_trace(&mut self, source: &str) -> Result<Option<Arc<TraceIndex>>, WorkloadError> {
        let Some(settings) = &self.trace else {
            return Ok(None);
        };
        let whole = self.requests.is_none() && self.duration.is_none();
        let needed = match self.bound() {
            Bound::Requests(requests) if !whole => {
                Some(self.warmup_requests.saturating_add(requests))
            }
            _ => None,
        };
        let index = trace::scan(ScanRequest {
            settings,
            base: None,
            value_size: self.value_size,
            needed,
            timeline_from: settings.speed.map(|_| self.warmup_requests),
            max_keys: MAX_KEYS,
        })?;
        let reads = index.info.reads;
        if reads <= self.warmup_requests {
            return Err(WorkloadError::TraceUsedByWarmup {
                path: settings.path.clone(),
                reads,
                warmup: self.warmup_requests,
            });
        }
        if whole {
            self.requests = Some(reads - self.warmup_requests);
        }
        self.keys = index.info.keys;
        // The events' key offsets are checked against the trace's keys.
        self.validate(source, &[])?;
        Ok(Some(Arc::new(index)))
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Zipf { exponent } => write!(f, "zipf s={exponent}"),
            Distribution::Uniform => f.write_str("uniform"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `text` read as a workload file `test.json`.
    pub(crate) fn parse_text(text: &str) -> Result<Workload, WorkloadError> {
        parse(text, "test.json", "test")
    }

    /// The error `text` gives.
    pub(crate) fn error_of(text: &str) -> WorkloadError {
        parse_text(text).expect_err(text)
    }

    #[test]
    fn an_empty_object_is_the_default_workload() {
        let workload = parse_text("{}").unwrap();
        assert_eq!(workload.name, "test");
        assert_eq!(workload.keys, 100_000);
        assert_eq!(workload.distribution, Distribution::Zipf { exponent: 1.0 });
        assert_eq!(workload.bound(), Bound::Requests(DEFAULT_REQUESTS));
        assert_eq!(workload.cluster.nodes, 3);
        assert_eq!(workload.cluster.cache_bytes, ByteSize(16 << 20));
        assert!(workload.cluster.singleflight);
    }

    #[test]
    fn every_built_in_workload_parses() {
        for &(name, text) in BUILT_IN {
            let workload = parse(text, name, name).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(workload.name, name);
        }
        let zipf = parse(BUILT_IN[0].1, "zipf", "zipf").unwrap();
        assert_eq!(zipf.keys, 100_000);
        assert_eq!(zipf.distribution, Distribution::Zipf { exponent: 1.0 });
        assert_eq!(zipf.value_size, 100);
        let hot = parse(BUILT_IN[2].1, "hot-key", "hot-key").unwrap();
        assert!(matches!(hot.distribution, Distribution::Zipf { exponent } if exponent >= 1.5));
    }

    #[test]
    fn a_workload_round_trips_through_json() {
        let workload = parse(BUILT_IN[0].1, "zipf", "zipf").unwrap();
        let text = serde_json::to_string(&workload).unwrap();
        assert_eq!(parse_text(&text).unwrap(), workload);
    }

    #[test]
    fn unknown_fields_are_named() {
        let error = error_of(r#"{"keyz": 10}"#);
        assert!(
            error.to_string().contains("unknown field `keyz`"),
            "{error}"
        );
        let error = error_of(r#"{"cluster": {"node": 3}}"#);
        assert_eq!(error.field(), Some("cluster.node"));
        assert!(
            error.to_string().contains("unknown field `node`"),
            "{error}"
        );
        let error = error_of(r#"{"distribution": {"kind": "zipf", "exponent": 1, "s": 2}}"#);
        assert!(error.to_string().contains("unknown field `s`"), "{error}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let error = error_of(r#"{"keys": "many"}"#);
        assert_eq!(error.field(), Some("keys"));
        let error = error_of(r#"{"cluster": {"cache_bytes": "16 furlongs"}}"#);
        assert_eq!(error.field(), Some("cluster.cache_bytes"));
        assert!(error.to_string().contains("unknown size unit"), "{error}");
        let error = error_of(r#"{"cluster": {"hash": "md5"}}"#);
        assert_eq!(error.field(), Some("cluster.hash"));
        let error = error_of(r#"{"duration": "10 fortnights"}"#);
        assert_eq!(error.field(), Some("duration"));
        let error = error_of(r#"{"distribution": {"kind": "pareto"}}"#);
        assert_eq!(error.field(), Some("distribution.kind"));
        assert!(error.to_string().contains("pareto"), "{error}");
        let error = error_of(r#"{"keys": 10"#);
        assert!(error.to_string().contains("EOF"), "{error}");
        let error = error_of(r#"{"keys": 10} trailing"#);
        assert!(error.to_string().contains("trailing"), "{error}");
    }

    #[test]
    fn latencies_parse_from_flags() {
        assert_eq!("none".parse::<Latency>(), Ok(Latency::None));
        assert_eq!("0".parse::<Latency>(), Ok(Latency::None));
        assert_eq!(
            "200us".parse::<Latency>(),
            Ok(Latency::Fixed {
                value: Span(Duration::from_micros(200))
            })
        );
        assert_eq!(
            "exp:1ms".parse::<Latency>(),
            Ok(Latency::Exponential {
                mean: Span(Duration::from_millis(1))
            })
        );
        assert!("soon"
            .parse::<Latency>()
            .unwrap_err()
            .contains("exp:DURATION"));
        let mut workload = parse_text("{}").unwrap();
        let overrides = Overrides {
            slowdb_latency: Some(Latency::Fixed {
                value: Span(Duration::from_secs(120)),
            }),
            ..Overrides::default()
        };
        let error = workload.apply(&overrides, "test").unwrap_err().to_string();
        assert!(error.contains("--slowdb-latency"), "{error}");
    }

    #[test]
    fn names_resolve_to_files_or_built_ins_and_unknown_names_fail() {
        let loaded = load("ci").unwrap();
        assert_eq!(loaded.workload.name, "ci");
        let loaded = load("hot-key.json").unwrap();
        assert_eq!(loaded.workload.name, "hot-key");
        let error = load("no-such-workload").unwrap_err();
        assert!(error.to_string().contains("not found"), "{error}");
        assert!(
            error
                .to_string()
                .contains("workloads/no-such-workload.json"),
            "{error}"
        );
        let error = load("/nonexistent/dir/zipf.json").unwrap_err();
        assert!(matches!(error, WorkloadError::NotFound { .. }), "{error}");
    }
}
