//! A trace's format: named in a spec string (`oracleGeneral`, `twitter`,
//! `keys`, `csv:time=1,id=2,size=3`), or recognised from the file's name and
//! first bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a trace's records are written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// libCacheSim's oracleGeneral: 24-byte little-endian records (u32 time
    /// in seconds, u64 object id, u32 object size, i64 next access).
    OracleGeneral,
    /// Delimited text with the columns a [`CsvSpec`] names.
    Csv(CsvSpec),
    /// Twitter's cache-trace CSV: timestamp, anonymized key, key size,
    /// value size, client id, operation, TTL.
    Twitter,
    /// Plain text, one key per line.
    Keys,
}

/// The columns of a CSV trace, counted from 1 as libCacheSim counts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvSpec {
    /// The timestamp, in seconds (decimals allowed).
    pub time: Option<usize>,
    /// The object's id: a number, or any text (hashed).
    pub id: usize,
    /// The object's size in bytes.
    pub size: Option<usize>,
    /// The operation (`get`, `set`, ...); every record is a read without it.
    pub op: Option<usize>,
    /// The byte between fields.
    pub delimiter: u8,
    /// The first line names the columns and is skipped.
    pub header: bool,
}

/// The formats' names, as `--trace-format` takes them.
pub const FORMAT_NAMES: &str = "oracleGeneral, twitter, keys, or csv:id=N[,time=N][,size=N][,op=N][,delimiter=comma|tab|space|semicolon|pipe|C][,header=true|false]";

/// Names of delimiters that a spec cannot write as themselves.
const DELIMITERS: [(&str, u8); 5] = [
    ("comma", b','),
    ("tab", b'\t'),
    ("space", b' '),
    ("semicolon", b';'),
    ("pipe", b'|'),
];

impl TraceFormat {
    /// Whether records carry a time, so the trace can be paced by it.
    pub fn has_time(&self) -> bool {
        match self {
            TraceFormat::OracleGeneral | TraceFormat::Twitter => true,
            TraceFormat::Csv(spec) => spec.time.is_some(),
            TraceFormat::Keys => false,
        }
    }

    /// Whether records carry a size; without one every value has the
    /// workload's `value_size`.
    pub fn has_size(&self) -> bool {
        match self {
            TraceFormat::OracleGeneral | TraceFormat::Twitter => true,
            TraceFormat::Csv(spec) => spec.size.is_some(),
            TraceFormat::Keys => false,
        }
    }

    /// The format a file is in, from its name (`*.oracleGeneral*`) or, for
    /// text, its first line (`head`, decompressed). `None` when neither
    /// tells: a CSV trace needs its columns named.
    pub fn recognise(name: &str, head: &[u8]) -> Result<TraceFormat, String> {
        let lower = name.to_ascii_lowercase();
        if lower.contains("oraclegeneral") {
            return Ok(TraceFormat::OracleGeneral);
        }
        // Text has no NUL and is UTF-8; oracleGeneral's small numbers are
        // full of zero bytes.
        if head.contains(&0) || std::str::from_utf8(trim_partial_char(head)).is_err() {
            return Ok(TraceFormat::OracleGeneral);
        }
        let first = head
            .split(|&byte| byte == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .find(|line| !line.is_empty())
            .unwrap_or_default();
        let fields: Vec<&[u8]> = first.split(|&byte| byte == b',').collect();
        if fields.len() == 7
            && fields[0].iter().all(u8::is_ascii_digit)
            && fields[5].iter().all(u8::is_ascii_alphabetic)
            && !fields[5].is_empty()
        {
            return Ok(TraceFormat::Twitter);
        }
        if !first
            .iter()
            .any(|&byte| matches!(byte, b',' | b'\t' | b';' | b'|'))
        {
            return Ok(TraceFormat::Keys);
        }
        Err(format!(
            "its first line {:?} looks like delimited columns, but not Twitter's seven: \
             name them with --trace-format csv:id=N[,time=N][,size=N] (columns from 1)",
            String::from_utf8_lossy(&first[..first.len().min(80)])
        ))
    }
}

/// `head` without a UTF-8 character cut at its end.
fn trim_partial_char(head: &[u8]) -> &[u8] {
    match std::str::from_utf8(head) {
        Err(error) if error.error_len().is_none() => &head[..error.valid_up_to()],
        _ => head,
    }
}

impl FromStr for TraceFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<TraceFormat, String> {
        let text = text.trim();
        let (name, options) = match text.split_once(':') {
            Some((name, options)) => (name, Some(options)),
            None => (text, None),
        };
        let simple = match name.to_ascii_lowercase().as_str() {
            "oraclegeneral" | "oracle" => Some(TraceFormat::OracleGeneral),
            "twitter" => Some(TraceFormat::Twitter),
            "keys" | "plain" | "txt" => Some(TraceFormat::Keys),
            "csv" => None,
            _ => {
                return Err(format!(
                    "unknown trace format {name:?}: the formats are {FORMAT_NAMES}"
                ))
            }
        };
        match (simple, options) {
            (Some(format), None) => Ok(format),
            (Some(_), Some(_)) => Err(format!(
                "trace format {name:?} takes no options (only csv does): {text:?}"
            )),
            (None, None) => Err(
                "a csv trace needs its columns: csv:id=N[,time=N][,size=N][,op=N] (from 1)"
                    .to_owned(),
            ),
            (None, Some(options)) => CsvSpec::parse(options).map(TraceFormat::Csv),
        }
    }
}

impl CsvSpec {
    fn parse(options: &str) -> Result<CsvSpec, String> {
        let mut spec = CsvSpec {
            time: None,
            id: 0,
            size: None,
            op: None,
            delimiter: b',',
            header: false,
        };
        for option in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let Some((key, value)) = option.split_once('=') else {
                return Err(format!("csv option {option:?} is not KEY=VALUE"));
            };
            let (key, value) = (key.trim(), value.trim());
            let column = || -> Result<usize, String> {
                match value.parse::<usize>() {
                    Ok(column) if column >= 1 => Ok(column),
                    _ => Err(format!(
                        "csv option {key}={value:?}: a column is a number from 1"
                    )),
                }
            };
            // libCacheSim's names work too.
            match key {
                "time" | "time-col" => spec.time = Some(column()?),
                "id" | "obj-id-col" => spec.id = column()?,
                "size" | "obj-size-col" => spec.size = Some(column()?),
                "op" | "op-col" => spec.op = Some(column()?),
                "delimiter" | "sep" => {
                    spec.delimiter = match DELIMITERS.iter().find(|(name, _)| *name == value) {
                        Some(&(_, byte)) => byte,
                        None if value.len() == 1 => value.as_bytes()[0],
                        None => {
                            return Err(format!(
                                "csv delimiter {value:?}: one character, or comma, tab, \
                                 space, semicolon or pipe"
                            ))
                        }
                    }
                }
                "header" | "has-header" => {
                    spec.header = match value {
                        "true" | "yes" | "1" => true,
                        "false" | "no" | "0" => false,
                        _ => return Err(format!("csv header={value:?}: true or false")),
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown csv option {key:?}: the options are id, time, size, op, delimiter and header"
                    ))
                }
            }
        }
        if spec.id == 0 {
            return Err("a csv trace needs id=N, the id's column (from 1)".to_owned());
        }
        let mut columns = vec![("id", spec.id)];
        columns.extend(spec.time.map(|column| ("time", column)));
        columns.extend(spec.size.map(|column| ("size", column)));
        columns.extend(spec.op.map(|column| ("op", column)));
        for (at, (name, column)) in columns.iter().enumerate() {
            if let Some((other, _)) = columns[..at].iter().find(|(_, c)| c == column) {
                return Err(format!(
                    "csv columns {other} and {name} are both column {column}"
                ));
            }
        }
        Ok(spec)
    }

    /// The most columns a line must have.
    pub(super) fn columns(&self) -> usize {
        [Some(self.id), self.time, self.size, self.op]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(1)
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceFormat::OracleGeneral => f.write_str("oracleGeneral"),
            TraceFormat::Twitter => f.write_str("twitter"),
            TraceFormat::Keys => f.write_str("keys"),
            TraceFormat::Csv(spec) => {
                write!(f, "csv:id={}", spec.id)?;
                if let Some(time) = spec.time {
                    write!(f, ",time={time}")?;
                }
                if let Some(size) = spec.size {
                    write!(f, ",size={size}")?;
                }
                if let Some(op) = spec.op {
                    write!(f, ",op={op}")?;
                }
                match DELIMITERS.iter().find(|(_, byte)| *byte == spec.delimiter) {
                    Some((name, _)) => write!(f, ",delimiter={name}")?,
                    None => write!(f, ",delimiter={}", spec.delimiter as char)?,
                }
                write!(f, ",header={}", spec.header)
            }
        }
    }
}

impl Serialize for TraceFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TraceFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for text in [
            "oracleGeneral",
            "twitter",
            "keys",
            "csv:id=2,time=1,size=3,op=4,delimiter=tab,header=true",
            "csv:id=1,delimiter=comma,header=false",
            "csv:id=3,delimiter=:,header=false",
        ] {
            let format: TraceFormat = text.parse().unwrap();
            assert_eq!(format.to_string(), text);
        }
        let libcachesim: TraceFormat = "csv:time-col=1,obj-id-col=2,obj-size-col=3,has-header=true"
            .parse()
            .unwrap();
        assert_eq!(
            libcachesim.to_string(),
            "csv:id=2,time=1,size=3,delimiter=comma,header=true"
        );
        assert_eq!("oracle".parse(), Ok(TraceFormat::OracleGeneral));
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let error = |text: &str| text.parse::<TraceFormat>().unwrap_err();
        assert!(error("parquet").contains("unknown trace format"));
        assert!(error("csv").contains("needs its columns"));
        assert!(error("csv:time=1").contains("id=N"));
        assert!(error("csv:id=0").contains("from 1"));
        assert!(error("csv:id=x").contains("from 1"));
        assert!(error("csv:id=1,size=1").contains("both column 1"));
        assert!(error("csv:id=1,colour=2").contains("unknown csv option"));
        assert!(error("csv:id=1,delimiter=ab").contains("one character"));
        assert!(error("twitter:id=1").contains("takes no options"));
    }

    #[test]
    fn formats_are_recognised_by_name_or_first_bytes() {
        let recognise = |name: &str, head: &[u8]| TraceFormat::recognise(name, head);
        assert_eq!(
            recognise("w.oracleGeneral.zst", b"a,b"),
            Ok(TraceFormat::OracleGeneral)
        );
        assert_eq!(
            recognise("trace.bin", &[1, 0, 0, 0, 7, 0]),
            Ok(TraceFormat::OracleGeneral)
        );
        assert_eq!(
            recognise("cluster52", b"0,AAAAd,21,273,1,get,0\n1,B"),
            Ok(TraceFormat::Twitter)
        );
        assert_eq!(
            recognise("keys.txt", b"alpha\nbeta\n"),
            Ok(TraceFormat::Keys)
        );
        let csv = recognise("t.csv", b"1,2,3\n").unwrap_err();
        assert!(csv.contains("csv:id=N"), "{csv}");
    }
}
