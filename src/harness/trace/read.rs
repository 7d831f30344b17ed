//! Reading a trace's records as they stream: the file (zstd frames
//! decompressed on the way), then one record at a time in its format, each
//! reduced to a time, a numeric id, a size and an operation.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use xxhash_rust::xxh3::xxh3_64;

use super::format::{CsvSpec, TraceFormat};
use super::TraceError;

/// zstd's frame magic, little-endian on disk.
pub(crate) const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The size of one oracleGeneral record.
pub const ORACLE_RECORD: usize = 24;

/// How much of a file is read at a time.
const BUFFER: usize = 1 << 20;

/// What a record asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A read: `get`, `gets`, `read`, or any record of a format without
    /// operations.
    Read,
    /// Anything else, by its index in [`RecordReader::op_names`].
    Other(u16),
}

/// One record, reduced to what a replay needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// When, in milliseconds since the trace's clock began (0 without
    /// times).
    pub time_ms: u64,
    /// The object: its number, or a hash of its key's bytes.
    pub id: u64,
    /// Its size in bytes, when the format gives one.
    pub size: Option<u32>,
    /// What the record asks.
    pub op: Op,
}

/// One oracleGeneral record's bytes, its next access unknown (-1): what
/// libCacheSim writes, for tests and generated traces.
pub fn oracle_general_record(time: u32, id: u64, size: u32) -> [u8; ORACLE_RECORD] {
    let mut record = [0u8; ORACLE_RECORD];
    record[..4].copy_from_slice(&time.to_le_bytes());
    record[4..12].copy_from_slice(&id.to_le_bytes());
    record[12..16].copy_from_slice(&size.to_le_bytes());
    record[16..].copy_from_slice(&(-1i64).to_le_bytes());
    record
}

/// The number an id or key becomes: a decimal number (no sign, no leading
/// zero but `0`, below 2^64) is itself; any other text is the 64-bit XXH3
/// hash of its bytes.
pub fn id_of(text: &[u8]) -> u64 {
    let numeric = !text.is_empty()
        && text.len() <= 20
        && text.iter().all(u8::is_ascii_digit)
        && (text.len() == 1 || text[0] != b'0');
    if numeric {
        if let Some(number) = parse_u64(text) {
            return number;
        }
    }
    xxh3_64(text)
}

/// A decimal number, or `None` when `text` is not one or overflows.
fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |number, &byte| {
        if !byte.is_ascii_digit() {
            return None;
        }
        number.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

/// Opens `path` for reading, decompressing zstd (recognised by its magic
/// number, whatever the name) as it streams.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, TraceError> {
    let file = File::open(path).map_err(|error| TraceError::file(path, error.to_string()))?;
    let mut raw = BufReader::with_capacity(BUFFER, file);
    let head = raw
        .fill_buf()
        .map_err(|error| TraceError::file(path, error.to_string()))?;
    if head.starts_with(&ZSTD_MAGIC) {
        Ok(Box::new(BufReader::with_capacity(
            BUFFER,
            ZstdFrames {
                source: raw,
                decoder: FrameDecoder::new(),
                in_frame: false,
            },
        )))
    } else {
        Ok(Box::new(raw))
    }
}

/// The decompressed bytes of every zstd frame of a stream in turn
/// (skippable frames skipped), as `zstd -d` gives them.
struct ZstdFrames<R> {
    source: R,
    decoder: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.in_frame {
                if self.source.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                match self.decoder.reset(&mut self.source) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        io::copy(
                            &mut (&mut self.source).take(u64::from(length)),
                            &mut io::sink(),
                        )?;
                        continue;
                    }
                    Err(error) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("zstd: {error}"),
                        ))
                    }
                }
            }
            while self.decoder.can_collect() == 0 && !self.decoder.is_finished() {
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(|error| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {error}"))
                    })?;
            }
            let read = self.decoder.read(buf)?;
            if read > 0 || buf.is_empty() {
                return Ok(read);
            }
            // This frame is done: the next, if any.
            self.in_frame = false;
        }
    }
}

/// The first bytes of a stream, up to `limit`, without consuming them
/// beyond what `BufRead` buffers.
pub fn head(reader: &mut dyn BufRead, limit: usize) -> io::Result<Vec<u8>> {
    let head = reader.fill_buf()?;
    Ok(head[..head.len().min(limit)].to_vec())
}

/// Reads one format's records from a stream.
pub struct RecordReader {
    input: Box<dyn BufRead + Send>,
    format: TraceFormat,
    /// The file, for errors.
    file: String,
    /// Records read so far (lines for text, the header included).
    number: u64,
    /// oracleGeneral: the bytes read and not yet parsed.
    buffer: Vec<u8>,
    at: usize,
    /// Text: the current line.
    line: Vec<u8>,
    /// Names of operations other than reads, in the order first seen.
    op_names: Vec<String>,
}

/// The most distinct names of other operations kept; beyond, `other`.
const MAX_OP_NAMES: usize = 32;

impl RecordReader {
    /// A reader of `input` (from `file`) in `format`.
    pub fn new(input: Box<dyn BufRead + Send>, format: TraceFormat, file: String) -> Self {
        RecordReader {
            input,
            format,
            file,
            number: 0,
            buffer: Vec::new(),
            at: 0,
            line: Vec::new(),
            op_names: Vec::new(),
        }
    }

    /// Names of the other operations seen, indexed by [`Op::Other`].
    pub fn op_names(&self) -> &[String] {
        &self.op_names
    }

    /// Records (or lines) read so far.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The next record, or `None` at the end.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record>, TraceError> {
        match self.format {
            TraceFormat::OracleGeneral => self.next_oracle(),
            _ => self.next_text(),
        }
    }

    #[inline]
    fn next_oracle(&mut self) -> Result<Option<Record>, TraceError> {
        if self.buffer.len() - self.at < ORACLE_RECORD && !self.refill()? {
            return Ok(None);
        }
        let record = &self.buffer[self.at..self.at + ORACLE_RECORD];
        self.at += ORACLE_RECORD;
        self.number += 1;
        let word = |from: usize| {
            u32::from_le_bytes([
                record[from],
                record[from + 1],
                record[from + 2],
                record[from + 3],
            ])
        };
        let mut id = [0u8; 8];
        id.copy_from_slice(&record[4..12]);
        Ok(Some(Record {
            time_ms: u64::from(word(0)) * 1000,
            id: u64::from_le_bytes(id),
            size: Some(word(12)),
            op: Op::Read,
        }))
    }

    /// Moves the unparsed bytes to the front and reads more: whether a
    /// whole record is there now.
    #[cold]
    fn refill(&mut self) -> Result<bool, TraceError> {
        self.buffer.drain(..self.at);
        self.at = 0;
        let have = self.buffer.len();
        self.buffer.resize(BUFFER.max(have + ORACLE_RECORD), 0);
        let mut filled = have;
        while filled < ORACLE_RECORD {
            let read = loop {
                match self.input.read(&mut self.buffer[filled..]) {
                    Ok(read) => break read,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => {
                        self.buffer.truncate(filled);
                        return Err(self.error_here(self.number + 1, None, error.to_string()));
                    }
                }
            };
            if read == 0 {
                break;
            }
            filled += read;
        }
        // Whole records only: keep a read's cut-off tail for the next.
        self.buffer.truncate(filled);
        if filled == 0 {
            return Ok(false);
        }
        if filled < ORACLE_RECORD {
            return Err(self.error_here(
                self.number + 1,
                None,
                format!(
                    "truncated: the file ends {filled} bytes into a {ORACLE_RECORD}-byte \
                     oracleGeneral record"
                ),
            ));
        }
        Ok(true)
    }

    fn next_text(&mut self) -> Result<Option<Record>, TraceError> {
        loop {
            self.line.clear();
            let read = self
                .input
                .read_until(b'\n', &mut self.line)
                .map_err(|error| self.error_here(self.number + 1, None, error.to_string()))?;
            if read == 0 {
                return Ok(None);
            }
            self.number += 1;
            let owned = std::mem::take(&mut self.line);
            let mut line: &[u8] = &owned;
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.line = owned;
                continue;
            }
            let format = std::mem::replace(&mut self.format, TraceFormat::Keys);
            let parsed = match &format {
                TraceFormat::Keys => Ok(Some(Record {
                    time_ms: 0,
                    id: id_of(line),
                    size: None,
                    op: Op::Read,
                })),
                TraceFormat::Twitter => self.twitter(line),
                TraceFormat::Csv(spec) => self.csv(spec, line),
                TraceFormat::OracleGeneral => Ok(None),
            };
            self.format = format;
            self.line = owned;
            match parsed? {
                Some(record) => return Ok(Some(record)),
                None => continue,
            }
        }
    }

    fn twitter(&mut self, line: &[u8]) -> Result<Option<Record>, TraceError> {
        let mut fields = line.split(|&byte| byte == b',');
        let mut field = |name: &'static str| fields.next().ok_or(name);
        let parts: Result<[&[u8]; 7], &'static str> = (|| {
            Ok([
                field("timestamp")?,
                field("key")?,
                field("key size")?,
                field("value size")?,
                field("client id")?,
                field("operation")?,
                field("TTL")?,
            ])
        })();
        let number = self.number;
        let parts = parts.map_err(|missing| {
            self.error_here(
                number,
                Some(missing),
                "missing: a Twitter record has 7 fields (timestamp, key, key size, value \
                 size, client id, operation, TTL)"
                    .to_owned(),
            )
        })?;
        if fields.next().is_some() {
            return Err(self.error_here(
                number,
                None,
                "more than the 7 fields of a Twitter record".to_owned(),
            ));
        }
        let time = self.number_in(parts[0], "timestamp")?;
        let size = self.number_in(parts[3], "value size")?;
        let op = self.op(parts[5]);
        Ok(Some(Record {
            time_ms: time.saturating_mul(1000),
            id: id_of(parts[1]),
            size: Some(u32::try_from(size).map_err(|_| {
                self.error_here(number, Some("value size"), format!("{size} is above 4 GiB"))
            })?),
            op,
        }))
    }

    fn csv(&mut self, spec: &CsvSpec, line: &[u8]) -> Result<Option<Record>, TraceError> {
        if spec.header && self.number == 1 {
            return Ok(None);
        }
        let wanted = spec.columns();
        // The fields the spec names, by column (from 1).
        let (mut id, mut time, mut size, mut op): (&[u8], &[u8], &[u8], &[u8]) =
            (&[], &[], &[], &[]);
        let mut count = 0;
        for (index, field) in line.split(|&byte| byte == spec.delimiter).enumerate() {
            let column = Some(index + 1);
            count = index + 1;
            if column == Some(spec.id) {
                id = field;
            } else if column == spec.time {
                time = field;
            } else if column == spec.size {
                size = field;
            } else if column == spec.op {
                op = field;
            }
            if count == wanted {
                break;
            }
        }
        let number = self.number;
        if count < wanted {
            return Err(self.error_here(
                number,
                None,
                format!(
                    "{count} columns, and the spec names column {wanted} (delimiter {:?})",
                    spec.delimiter as char
                ),
            ));
        }
        let time_ms = match spec.time {
            Some(_) => self.seconds_in(trim(time), "time")?,
            None => 0,
        };
        let size = match spec.size {
            Some(_) => {
                let size = self.number_in(trim(size), "size")?;
                Some(u32::try_from(size).map_err(|_| {
                    self.error_here(number, Some("size"), format!("{size} is above 4 GiB"))
                })?)
            }
            None => None,
        };
        let op = match spec.op {
            Some(_) => self.op(trim(op)),
            None => Op::Read,
        };
        Ok(Some(Record {
            time_ms,
            id: id_of(trim(id)),
            size,
            op,
        }))
    }

    /// A field that must be a whole number.
    fn number_in(&self, text: &[u8], field: &'static str) -> Result<u64, TraceError> {
        parse_u64(text).ok_or_else(|| {
            self.error_here(
                self.number,
                Some(field),
                format!(
                    "{:?} is not a whole number",
                    String::from_utf8_lossy(&text[..text.len().min(40)])
                ),
            )
        })
    }

    /// A time in seconds, decimals allowed, as milliseconds.
    fn seconds_in(&self, text: &[u8], field: &'static str) -> Result<u64, TraceError> {
        if let Some(whole) = parse_u64(text) {
            return Ok(whole.saturating_mul(1000));
        }
        let parsed = std::str::from_utf8(text)
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds >= 0.0);
        match parsed {
            Some(seconds) => Ok((seconds * 1000.0) as u64),
            None => Err(self.error_here(
                self.number,
                Some(field),
                format!(
                    "{:?} is not a time in seconds",
                    String::from_utf8_lossy(&text[..text.len().min(40)])
                ),
            )),
        }
    }

    fn op(&mut self, name: &[u8]) -> Op {
        if [&b"get"[..], b"gets", b"read"]
            .iter()
            .any(|read| name.eq_ignore_ascii_case(read))
        {
            return Op::Read;
        }
        let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
        let lower = if lower.is_empty() {
            "(empty)".to_owned()
        } else {
            lower
        };
        if let Some(at) = self.op_names.iter().position(|known| *known == lower) {
            return Op::Other(at as u16);
        }
        if self.op_names.len() < MAX_OP_NAMES {
            self.op_names.push(lower);
            return Op::Other((self.op_names.len() - 1) as u16);
        }
        let other = "other".to_owned();
        match self.op_names.iter().position(|known| *known == other) {
            Some(at) => Op::Other(at as u16),
            None => {
                self.op_names.push(other);
                Op::Other((self.op_names.len() - 1) as u16)
            }
        }
    }

    /// An error at record (or line) `number`.
    fn error_here(&self, number: u64, field: Option<&'static str>, message: String) -> TraceError {
        let unit = if self.format == TraceFormat::OracleGeneral {
            "record"
        } else {
            "line"
        };
        TraceError {
            file: self.file.clone(),
            place: Some(format!("{unit} {number}")),
            field: field.map(str::to_owned),
            message,
        }
    }
}

/// `text` without spaces around it.
fn trim(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |end| end + 1);
    &text[start..end]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn reader(format: &str, bytes: Vec<u8>) -> RecordReader {
        RecordReader::new(
            Box::new(io::Cursor::new(bytes)),
            format.parse().unwrap(),
            "t".to_owned(),
        )
    }

    fn all(mut reader: RecordReader) -> Result<Vec<Record>, TraceError> {
        let mut records = Vec::new();
        while let Some(record) = reader.next_record()? {
            records.push(record);
        }
        Ok(records)
    }

    pub(crate) fn oracle(records: &[(u32, u64, u32)]) -> Vec<u8> {
        records
            .iter()
            .flat_map(|&(time, id, size)| oracle_general_record(time, id, size))
            .collect()
    }

    #[test]
    fn ids_are_numbers_or_hashes() {
        assert_eq!(id_of(b"0"), 0);
        assert_eq!(id_of(b"12345"), 12345);
        assert_eq!(id_of(b"18446744073709551615"), u64::MAX);
        assert_eq!(
            id_of(b"18446744073709551616"),
            xxh3_64(b"18446744073709551616")
        );
        assert_eq!(id_of(b"007"), xxh3_64(b"007"));
        assert_eq!(id_of(b"key7"), xxh3_64(b"key7"));
        assert_eq!(id_of(b""), xxh3_64(b""));
    }

    #[test]
    fn oracle_general_records_parse_and_a_cut_one_is_named() {
        let bytes = oracle(&[(5, 1 << 40, 300), (6, 2, 0)]);
        let records = all(reader("oracleGeneral", bytes.clone())).unwrap();
        assert_eq!(
            records,
            vec![
                Record {
                    time_ms: 5000,
                    id: 1 << 40,
                    size: Some(300),
                    op: Op::Read
                },
                Record {
                    time_ms: 6000,
                    id: 2,
                    size: Some(0),
                    op: Op::Read
                },
            ]
        );
        let mut cut = bytes;
        cut.truncate(24 + 7);
        let error = all(reader("oracleGeneral", cut)).unwrap_err().to_string();
        assert_eq!(
            error,
            "t: record 2: truncated: the file ends 7 bytes into a 24-byte oracleGeneral record"
        );
    }

    #[test]
    fn twitter_records_parse_with_their_operations() {
        let text = "0,keyA,4,273,1,get,0\n1,keyB,4,10,2,set,60\r\n\n2,keyA,4,273,1,GETS,0\n";
        let mut reader = reader("twitter", text.as_bytes().to_vec());
        let mut records = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            records.push(record);
        }
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].id, xxh3_64(b"keyA"));
        assert_eq!(records[0].size, Some(273));
        assert_eq!(records[1].op, Op::Other(0));
        assert_eq!(reader.op_names(), ["set"]);
        assert_eq!(records[2].op, Op::Read);
        assert_eq!(records[2].time_ms, 2000);
        let error = all(self::reader("twitter", b"0,k,1,x1,1,get,0\n".to_vec()))
            .unwrap_err()
            .to_string();
        assert_eq!(error, "t: line 1: value size: \"x1\" is not a whole number");
        let error = all(self::reader(
            "twitter",
            b"0,k,1,2,1,get,0\n0,k,1\n".to_vec(),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("t: line 2: value size: missing"),
            "{error}"
        );
    }

    #[test]
    fn csv_records_follow_their_spec() {
        let text = "time;id;size\n1.5;42;100\n2;abc;7\n";
        let records = all(reader(
            "csv:time=1,id=2,size=3,delimiter=;,header=true",
            text.into(),
        ))
        .unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0],
            Record {
                time_ms: 1500,
                id: 42,
                size: Some(100),
                op: Op::Read
            }
        );
        assert_eq!(records[1].id, xxh3_64(b"abc"));
        let error = all(reader("csv:id=2,size=5", b"1,2,3\n".to_vec())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "t: line 1: 3 columns, and the spec names column 5 (delimiter ',')"
        );
        let error = all(reader("csv:id=1,size=2", b"1,-3\n".to_vec())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "t: line 1: size: \"-3\" is not a whole number"
        );
    }

    #[test]
    fn zstd_frames_stream_one_after_another() {
        let first = ruzstd::encoding::compress_to_vec(
            &b"alpha\nbeta\n"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let second = ruzstd::encoding::compress_to_vec(
            &b"gamma\n"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        // A skippable frame between them: magic 0x184D2A50, length 3.
        let mut bytes = first;
        bytes.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        bytes.extend_from_slice(&second);
        let dir = std::env::temp_dir().join(format!("trace-zstd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.txt.zst");
        std::fs::write(&path, &bytes).unwrap();
        let mut text = String::new();
        open(&path).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "alpha\nbeta\ngamma\n");
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let mut text = String::new();
        let error = open(&path).unwrap().read_to_string(&mut text).unwrap_err();
        assert!(
            error.to_string().contains("zstd") || error.kind() == io::ErrorKind::UnexpectedEof,
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
