//! The scan: one pass over a trace before anything starts, which checks
//! every record a run will replay, numbers the distinct keys in order of
//! first read, gives each its size, counts what is skipped and why, and
//! hashes the file's bytes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3;

use super::read::{head, open, Record, RecordReader, ZSTD_MAGIC};
use super::{
    judge, sample_bound, Skipped, TraceError, TraceFormat, TraceInfo, TraceSettings, Verdict,
};
use crate::harness::slowdb::mix64;

/// The largest value a trace's size gives; larger ones are served at this
/// size and counted.
pub const MAX_VALUE: u32 = 16 << 20;

/// What a run asks of the scan.
#[derive(Clone, Copy, Debug)]
pub struct ScanRequest<'a> {
    /// The trace.
    pub settings: &'a TraceSettings,
    /// Where a relative path starts; `None`, the current directory.
    pub base: Option<&'a Path>,
    /// Every value's size when the trace has none.
    pub value_size: u64,
    /// The most reads the run can send (warm-up and a request count); `None`
    /// when a duration bounds it.
    pub needed: Option<u64>,
    /// Build the timeline of the reads from this one on (the first
    /// measured), to pace them at their times.
    pub timeline_from: Option<u64>,
    /// The most distinct keys the store can count.
    pub max_keys: u64,
}

/// A hasher for ids that are numbers or hashes already: one SplitMix64
/// round.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = mix64(self.0 ^ u64::from(byte));
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = mix64(id);
    }
}

/// Ids to key numbers.
pub(crate) type IdMap = HashMap<u64, u32, BuildHasherDefault<IdHasher>>;

/// When the measured reads are meant to go: runs of reads sharing a time
/// bucket, spread evenly across it.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// (time in ms, reads at that time), in time order.
    pub runs: Vec<(u64, u64)>,
    /// A bucket's width: 1000 ms when every time is a whole second, else 1.
    pub resolution_ms: u64,
    /// Reads whose time was before the one read before them, replayed at
    /// that earlier read's time.
    pub backwards: u64,
}

impl Timeline {
    /// An empty timeline, at whole seconds until a time says otherwise.
    fn new() -> Timeline {
        Timeline {
            runs: Vec::new(),
            resolution_ms: 1000,
            backwards: 0,
        }
    }

    /// One more read, at `time` ms: a time before the last read's is
    /// replayed at the last's.
    fn add(&mut self, mut time: u64) {
        match self.runs.last_mut() {
            Some((at, count)) if time <= *at => {
                if time < *at {
                    self.backwards += 1;
                    time = *at;
                }
                if time == *at {
                    *count += 1;
                }
            }
            _ => self.runs.push((time, 1)),
        }
        if !time.is_multiple_of(1000) {
            self.resolution_ms = 1;
        }
    }
}

/// A scanned trace: what it holds, and each key's number and size.
pub struct TraceIndex {
    /// What the trace is and what of it is replayed.
    pub info: TraceInfo,
    /// The file as opened.
    pub(crate) path: PathBuf,
    /// Key numbers, by id.
    pub(crate) ids: IdMap,
    /// Each key's value size, by key number.
    pub sizes: Arc<[u32]>,
    /// The measured reads' times, when asked for.
    pub timeline: Option<Timeline>,
    /// The sample's bound, as [`judge`] takes it.
    pub(crate) below: Option<u64>,
    /// Reads whose size was above `MAX_VALUE`.
    pub oversized: u64,
}

impl std::fmt::Debug for TraceIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceIndex")
            .field("info", &self.info)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The file's path: `path` as given, or from `base`.
pub(crate) fn resolve(path: &str, base: Option<&Path>) -> PathBuf {
    let given = Path::new(path);
    match base {
        Some(base) if given.is_relative() => base.join(given),
        _ => given.to_path_buf(),
    }
}

/// The XXH3-64 of a file's bytes, and their count.
fn hash_file(path: &Path) -> Result<(String, u64), TraceError> {
    let mut file =
        std::fs::File::open(path).map_err(|error| TraceError::file(path, error.to_string()))?;
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(TraceError::file(path, error.to_string())),
        };
        hasher.update(&buffer[..read]);
        total += read as u64;
    }
    Ok((format!("{:016x}", hasher.digest()), total))
}

/// A trace file opened for its scan.
struct Opened {
    /// Its records' bytes, decompressed.
    input: Box<dyn std::io::BufRead + Send>,
    /// Its format, given or recognised.
    format: TraceFormat,
    /// The XXH3-64 of its bytes, and their count.
    hash: String,
    file_bytes: u64,
    /// Whether it is zstd-compressed.
    compressed: bool,
}

/// The trace file at `path`, hashed and opened, with its format: the one
/// `settings` give, or the one its name and first bytes show.
fn opened(path: &Path, settings: &TraceSettings) -> Result<Opened, TraceError> {
    if path.is_dir() {
        return Err(TraceError::file(
            path,
            "is a directory, not a trace file".to_owned(),
        ));
    }
    let (hash, file_bytes) = hash_file(path)?;
    let compressed = {
        let mut raw = [0u8; 4];
        std::fs::File::open(path)
            .and_then(|mut file| file.read_exact(&mut raw))
            .is_ok_and(|()| raw == ZSTD_MAGIC)
    };
    let mut input = open(path)?;
    let format = match &settings.format {
        Some(format) => format.clone(),
        None => {
            let head = head(&mut *input, 4096)
                .map_err(|error| TraceError::file(path, error.to_string()))?;
            let name = path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned());
            TraceFormat::recognise(&name.unwrap_or_default(), &head).map_err(|message| {
                TraceError::file(path, format!("cannot tell the trace's format: {message}"))
            })?
        }
    };
    if settings.speed.is_some() && !format.has_time() {
        return Err(TraceError::file(
            path,
            format!("a {format} trace has no times to pace by: drop speed, or give a format with a time column"),
        ));
    }
    Ok(Opened {
        input,
        format,
        hash,
        file_bytes,
        compressed,
    })
}

/// Scans the trace `request` names.
pub fn scan(request: ScanRequest<'_>) -> Result<TraceIndex, TraceError> {
    let settings = request.settings;
    let path = resolve(&settings.path, request.base);
    let Opened {
        input,
        format,
        hash,
        file_bytes,
        compressed,
    } = opened(&path, settings)?;
    let file = path.display().to_string();
    let mut reader = RecordReader::new(input, format.clone(), file.clone());
    let below = sample_bound(settings.sample);
    let cap = match (settings.limit, request.needed) {
        (Some(limit), Some(needed)) => Some(limit.min(needed)),
        (limit, needed) => limit.or(needed),
    };
    let mut tally = Tally {
        timeline: request
            .timeline_from
            .filter(|_| format.has_time())
            .map(|_| Timeline::new()),
        ..Tally::default()
    };
    let read = Reading {
        default_size: request.value_size.min(u64::from(MAX_VALUE)) as u32,
        timed: format.has_time(),
        timeline_from: request.timeline_from,
    };
    let mut whole = true;
    while let Some(record) = reader.next_record()? {
        if tally.passes_over(judge(&record, below)) {
            continue;
        }
        if !tally.read(&record, read, request.max_keys) {
            return Err(TraceError {
                file,
                place: Some(format!("record {}", reader.number())),
                field: None,
                message: format!(
                    "more than {} distinct keys: sample the trace (--sample) or limit \
                     it (--trace-limit)",
                    request.max_keys
                ),
            });
        }
        if cap.is_some_and(|cap| tally.reads >= cap) {
            // Whether more followed is not known, and not needed.
            whole = false;
            break;
        }
    }
    tally.skipped.operations = reader
        .op_names()
        .iter()
        .zip(&tally.other_ops)
        .filter(|(_, &count)| count > 0)
        .map(|(name, &count)| (name.clone(), count))
        .collect();
    let Tally {
        ids,
        sizes,
        skipped,
        reads,
        bytes,
        key_bytes,
        oversized,
        first_time,
        last_time,
        timeline,
        ..
    } = tally;
    if reads == 0 {
        return Err(TraceError::file(
            &path,
            format!(
                "no reads to replay in {} records ({} of size 0, {} outside the sample, {} other operations)",
                reader.number(),
                skipped.zero_size,
                skipped.sampled_out,
                skipped.operations.values().sum::<u64>()
            ),
        ));
    }
    let info = TraceInfo {
        path: settings.path.clone(),
        format: format.clone(),
        compressed,
        file_bytes,
        hash,
        sample: settings.sample.filter(|share| *share < 1.0),
        limit: settings.limit,
        records: reader.number(),
        reads,
        keys: sizes.len() as u64,
        bytes,
        key_bytes,
        skipped,
        whole,
        span_secs: first_time.map(|first| (last_time - first) as f64 / 1000.0),
        sizes_from_trace: format.has_size(),
    };
    Ok(TraceIndex {
        info,
        path,
        ids,
        sizes: sizes.into(),
        timeline,
        below,
        oversized,
    })
}

/// How the scan reads a record it replays.
#[derive(Clone, Copy)]
struct Reading {
    /// Every value's size when the trace gives none.
    default_size: u32,
    /// Whether the trace has times.
    timed: bool,
    /// Reads from this one on go on the timeline.
    timeline_from: Option<u64>,
}

/// What the scan has counted so far.
#[derive(Default)]
struct Tally {
    /// Each distinct key's number, in order of first read.
    ids: IdMap,
    /// Each key's size, by its number.
    sizes: Vec<u32>,
    skipped: Skipped,
    /// Other operations, by their index in the reader's names.
    other_ops: Vec<u64>,
    reads: u64,
    /// The bytes every read is answered with.
    bytes: u64,
    /// The bytes of the distinct keys.
    key_bytes: u64,
    /// Reads of a value over [`MAX_VALUE`].
    oversized: u64,
    first_time: Option<u64>,
    last_time: u64,
    timeline: Option<Timeline>,
}

impl Tally {
    /// Counts a record that is not replayed, and says whether it was one.
    fn passes_over(&mut self, verdict: Verdict) -> bool {
        match verdict {
            Verdict::Read => return false,
            Verdict::ZeroSize => self.skipped.zero_size += 1,
            Verdict::SampledOut => self.skipped.sampled_out += 1,
            Verdict::Other(name) => {
                let name = usize::from(name);
                if self.other_ops.len() <= name {
                    self.other_ops.resize(name + 1, 0);
                }
                self.other_ops[name] += 1;
            }
        }
        true
    }

    /// Counts a read of `record`: its key numbered at its first read, with
    /// that read's size (capped); false when it would be a key past
    /// `max_keys`.
    fn read(&mut self, record: &Record, read: Reading, max_keys: u64) -> bool {
        let mut size = record.size.unwrap_or(read.default_size);
        if size > MAX_VALUE {
            self.oversized += 1;
            size = MAX_VALUE;
        }
        let next = self.sizes.len();
        let number = *self.ids.entry(record.id).or_insert(next as u32) as usize;
        if number == next {
            if next as u64 >= max_keys {
                return false;
            }
            self.sizes.push(size);
            self.key_bytes += u64::from(size);
        }
        // Every read of a key is answered at its first read's size.
        self.bytes += u64::from(self.sizes[number]);
        if read.timed {
            self.first_time.get_or_insert(record.time_ms);
            self.last_time = self.last_time.max(record.time_ms);
        }
        if let (Some(timeline), Some(from)) = (&mut self.timeline, read.timeline_from) {
            if self.reads >= from {
                timeline.add(record.time_ms);
            }
        }
        self.reads += 1;
        true
    }
}

impl TraceIndex {
    /// The key number of an object, when it is one of the replayed keys.
    pub fn number_of(&self, id: u64) -> Option<u32> {
        self.ids.get(&id).copied()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::harness::trace::read::tests::oracle;

    /// A fresh folder for a test's trace files.
    pub(crate) fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("trace-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub(crate) fn settings(path: &Path) -> TraceSettings {
        TraceSettings {
            path: path.display().to_string(),
            format: None,
            limit: None,
            sample: None,
            speed: None,
        }
    }

    pub(crate) fn request(settings: &TraceSettings) -> ScanRequest<'_> {
        ScanRequest {
            settings,
            base: None,
            value_size: 100,
            needed: None,
            timeline_from: None,
            max_keys: 1_000_000,
        }
    }

    #[test]
    fn a_scan_numbers_keys_by_first_read_and_counts_what_it_skips() {
        let dir = folder("scan");
        let path = dir.join("t.oracleGeneral");
        // ids 9, 4, 9, 7 (size 0: skipped), 4, 5
        std::fs::write(
            &path,
            oracle(&[
                (10, 9, 300),
                (10, 4, 20),
                (11, 9, 300),
                (12, 7, 0),
                (13, 4, 20),
                (15, 5, 1),
            ]),
        )
        .unwrap();
        let settings = settings(&path);
        let index = scan(ScanRequest {
            timeline_from: Some(1),
            ..request(&settings)
        })
        .unwrap();
        assert_eq!(index.info.format, TraceFormat::OracleGeneral);
        assert_eq!(index.info.records, 6);
        assert_eq!(index.info.reads, 5);
        assert_eq!(index.info.keys, 3);
        assert_eq!(index.info.skipped.zero_size, 1);
        assert_eq!(index.info.bytes, 300 + 20 + 300 + 20 + 1);
        assert_eq!(index.info.key_bytes, 321);
        assert_eq!(index.info.span_secs, Some(5.0));
        assert!(index.info.whole);
        assert_eq!(
            (index.number_of(9), index.number_of(4), index.number_of(5)),
            (Some(0), Some(1), Some(2))
        );
        assert_eq!(index.number_of(7), None);
        assert_eq!(*index.sizes, [300, 20, 1]);
        // Reads from the second on: one at 10 s, one at 11, one at 13, one at 15.
        let timeline = index.timeline.unwrap();
        assert_eq!(
            timeline.runs,
            vec![(10_000, 1), (11_000, 1), (13_000, 1), (15_000, 1)]
        );
        assert_eq!(timeline.resolution_ms, 1000);
        assert_eq!(index.info.hash.len(), 16);
        let limited = TraceSettings {
            limit: Some(2),
            ..settings.clone()
        };
        let index = scan(request(&limited)).unwrap();
        assert_eq!(
            (index.info.reads, index.info.keys, index.info.whole),
            (2, 2, false)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_traces_are_refused_with_the_place() {
        let dir = folder("bad");
        let missing = settings(&dir.join("nope.zst"));
        let error = scan(request(&missing)).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: ", dir.join("nope.zst").display())),
            "{error}"
        );
        let csv = dir.join("t.csv");
        std::fs::write(&csv, "1,2,3\n").unwrap();
        let error = scan(request(&settings(&csv))).unwrap_err().to_string();
        assert!(error.contains("cannot tell the trace's format"), "{error}");
        let keys = dir.join("keys.txt");
        std::fs::write(&keys, "a\nb\n").unwrap();
        let paced = TraceSettings {
            speed: Some(1.0),
            ..settings(&keys)
        };
        let error = scan(request(&paced)).unwrap_err().to_string();
        assert!(error.contains("no times to pace by"), "{error}");
        let sets = dir.join("sets");
        std::fs::write(&sets, "0,k,1,5,1,set,0\n").unwrap();
        let error = scan(request(&settings(&sets))).unwrap_err().to_string();
        assert!(error.contains("no reads to replay in 1 records"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
