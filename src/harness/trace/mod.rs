//! Real key traces: libCacheSim's oracleGeneral and CSV, Twitter's
//! cache-trace CSV, or one key per line, zstd-compressed or not, replayed
//! in place of a key distribution.
//!
//! A trace is read twice, and never held whole. The scan ([`scan()`])
//! reads it before the cluster starts: every record it will replay is
//! checked (a bad one ends the run there, exit 2), its distinct keys are
//! numbered in the order of their first read, and each gets its size.
//! The replay ([`Replay`], [`TraceFeed`]) then streams the same records
//! again while the driver sends them.
//!
//! **Keys.** Every record's object becomes a number: a decimal id is
//! itself, any other key (Twitter's, a CSV's text id, a line) is the XXH3
//! hash of its bytes. The trace's n-th distinct object (from 0, in the order
//! of its first kept read) is the key `key{n}` the cluster sees, so the
//! slow store, the model and the scenarios work on traces as on workloads.
//! Its value has the size of its first read in the trace (a trace without
//! sizes: the workload's `value_size`).
//!
//! **What is replayed.** Reads (`get`, `gets`, `read`, or every record of a
//! format without operations). Other operations are counted by name and
//! skipped, as reads of size 0 are (libCacheSim skips them too). With
//! `sample` R, an object is kept when the SplitMix64 hash of its number
//! falls in the lowest R of the range, so a sampled trace keeps whole keys
//! (as SHARDS does). `limit` N stops after N kept reads.
//!
//! Beside this file: `format` (the formats and their recognition),
//! `read` (files, zstd, records), `scan` (the index) and
//! `replay` (the second pass, and the feed the driver reads).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::units::ByteSize;

mod format;
mod read;
mod replay;
mod scan;

pub use format::{CsvSpec, TraceFormat};
pub use read::{oracle_general_record, Op, Record, RecordReader};
pub use replay::{Replay, TraceFeed};
pub use scan::{scan, ScanRequest, Timeline, TraceIndex};

use crate::harness::slowdb::mix64;

/// A workload's trace: the file and how to read and cut it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSettings {
    /// The file; a relative path in a workload file is taken from the
    /// file's folder, a `--trace` path from the current directory.
    pub path: String,
    /// Its format; recognised from the name and first bytes when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TraceFormat>,
    /// Replay at most this many reads (warm-up included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Keep the objects whose hash falls in this share of the range, from
    /// 0 (exclusive) to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<f64>,
    /// Send each measured read at its timestamp, time divided by this (2
    /// replays twice as fast); absent, as fast as the connections go, or
    /// at the workload's `rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

/// Why a trace cannot be read: the file, the record (or line) and the
/// field where that is known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TraceError {
    /// The trace file.
    pub file: String,
    /// `record N` or `line N`.
    pub place: Option<String>,
    /// The field at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if let Some(place) = &self.place {
            write!(f, "{place}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl TraceError {
    /// An error of the file as a whole.
    pub fn file(path: &Path, message: String) -> TraceError {
        TraceError {
            file: path.display().to_string(),
            place: None,
            field: None,
            message,
        }
    }
}

/// What a trace was and what of it a run replayed: recorded in results, so
/// two results say whether they replayed the same trace the same way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceInfo {
    /// The file, as the workload or flag named it.
    pub path: String,
    /// Its format.
    pub format: TraceFormat,
    /// Whether it is zstd-compressed.
    pub compressed: bool,
    /// The file's size in bytes.
    pub file_bytes: u64,
    /// The XXH3-64 hash of the file's bytes, in hex.
    pub hash: String,
    /// The share of objects kept, when sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<f64>,
    /// The most reads replayed, when limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Records read from the file (lines, for text).
    pub records: u64,
    /// Reads kept to replay.
    pub reads: u64,
    /// Distinct keys among them.
    pub keys: u64,
    /// Bytes of values the kept reads are answered with (each key at its
    /// first read's size).
    pub bytes: u64,
    /// Bytes of the distinct keys' values: what a cache holding every key
    /// would hold of values.
    pub key_bytes: u64,
    /// Records not replayed, by why.
    pub skipped: Skipped,
    /// Whether the scan read the file to its end; `false` when it stopped
    /// at `limit` or at the reads the run needs.
    pub whole: bool,
    /// From the first kept read's time to the last's, in seconds, when the
    /// format has times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_secs: Option<f64>,
    /// Whether values take the trace's sizes (else the workload's).
    pub sizes_from_trace: bool,
}

impl TraceInfo {
    /// The trace in a line: what it is, what of it was kept, and why the
    /// rest was not.
    pub fn describe(&self) -> String {
        let mut line = format!(
            "trace {}  {}{}  {} bytes  xxh3 {}: {} {}, {} reads kept over {} keys \
             (values {} asked, {} distinct{})",
            self.path,
            self.format,
            if self.compressed { " zstd" } else { "" },
            self.file_bytes,
            self.hash,
            self.records,
            if self.format == TraceFormat::OracleGeneral {
                "records"
            } else {
                "lines"
            },
            self.reads,
            self.keys,
            ByteSize(self.bytes).human(),
            ByteSize(self.key_bytes).human(),
            if self.sizes_from_trace {
                ""
            } else {
                "; sizes from the workload"
            },
        );
        let skipped = &self.skipped;
        let mut parts = Vec::new();
        if skipped.zero_size > 0 {
            parts.push(format!("{} reads of size 0", skipped.zero_size));
        }
        if let Some(sample) = self.sample {
            parts.push(format!(
                "{} reads outside the {}% sample",
                skipped.sampled_out,
                sample * 100.0
            ));
        }
        for (name, count) in &skipped.operations {
            parts.push(format!("{count} {name}"));
        }
        if !parts.is_empty() {
            line.push_str("; skipped ");
            line.push_str(&parts.join(", "));
        }
        if !self.whole {
            line.push_str(match self.limit {
                Some(limit) if limit == self.reads => "; stopped at its limit",
                _ => "; read as far as the run's requests",
            });
        }
        line
    }
}

/// Records a replay skips, by why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Reads of size 0.
    pub zero_size: u64,
    /// Reads of objects outside the sample.
    pub sampled_out: u64,
    /// Operations other than reads, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operations: BTreeMap<String, u64>,
}

impl Skipped {
    /// Every record skipped.
    pub fn total(&self) -> u64 {
        self.zero_size + self.sampled_out + self.operations.values().sum::<u64>()
    }
}

/// Why a record is or is not replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A read to replay.
    Read,
    /// A read of size 0.
    ZeroSize,
    /// A read of an object outside the sample.
    SampledOut,
    /// Another operation, by its index in the reader's names.
    Other(u16),
}

/// The hashes below which an object is in a sample of share `sample`.
pub(crate) fn sample_bound(sample: Option<f64>) -> Option<u64> {
    sample
        .filter(|share| *share < 1.0)
        .map(|share| (share.clamp(0.0, 1.0) * u64::MAX as f64) as u64)
}

/// Whether a record is replayed. Operations are judged first, then size,
/// then the sample.
#[inline]
pub(crate) fn judge(record: &Record, below: Option<u64>) -> Verdict {
    if let Op::Other(name) = record.op {
        return Verdict::Other(name);
    }
    if record.size == Some(0) {
        return Verdict::ZeroSize;
    }
    match below {
        Some(bound) if mix64(record.id ^ SAMPLE_SALT) >= bound => Verdict::SampledOut,
        _ => Verdict::Read,
    }
}

/// Mixed into ids before the sample's hash, so that small sequential ids
/// spread.
const SAMPLE_SALT: u64 = 0x5348_4152_4453_2121;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_the_place_and_the_field() {
        let error = TraceError {
            file: "t.csv".to_owned(),
            place: Some("line 4".to_owned()),
            field: Some("size".to_owned()),
            message: "\"x\" is not a whole number".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "t.csv: line 4: size: \"x\" is not a whole number"
        );
        let whole = TraceError::file(Path::new("gone.zst"), "No such file".to_owned());
        assert_eq!(whole.to_string(), "gone.zst: No such file");
    }

    #[test]
    fn a_sample_keeps_its_share_of_objects_whole() {
        let below = sample_bound(Some(0.1));
        let kept = (0..100_000u64)
            .filter(|&id| {
                let record = Record {
                    time_ms: 0,
                    id,
                    size: Some(1),
                    op: Op::Read,
                };
                judge(&record, below) == Verdict::Read
            })
            .count();
        assert!((9_700..10_300).contains(&kept), "{kept}");
        let record = Record {
            time_ms: 0,
            id: 7,
            size: Some(1),
            op: Op::Read,
        };
        let first = judge(&record, below);
        assert!((0..10).all(|_| judge(&record, below) == first));
        assert_eq!(sample_bound(Some(1.0)), None);
        let zero = Record {
            size: Some(0),
            ..record
        };
        assert_eq!(judge(&zero, None), Verdict::ZeroSize);
        let set = Record {
            op: Op::Other(3),
            ..zero
        };
        assert_eq!(judge(&set, None), Verdict::Other(3));
    }
}
