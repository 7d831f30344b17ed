//! Sizes, durations and timestamps as people write them: `16MiB`, `500ms`,
//! `20261124T231500Z`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Splits `16MiB`, `1.5 s` or `812.00us` into its number and its unit,
/// the unit trimmed.
pub(crate) fn number_and_unit(text: &str) -> (&str, &str) {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    (number, unit.trim())
}

/// A size in bytes, written as a plain number of bytes or with a unit:
/// `B`, `KiB`, `MiB`, `GiB` (powers of 1024) or `KB`, `MB`, `GB` (of 1000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// The units [`ByteSize`] understands, largest first.
const BYTE_UNITS: [(&str, u64); 7] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("B", 1),
];

impl ByteSize {
    /// Parses `16MiB`, `64KiB`, `1.5MiB`, `100000` or `100000B`.
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let text = text.trim();
        let (number, unit) = number_and_unit(text);
        let multiplier = if unit.is_empty() {
            1
        } else {
            BYTE_UNITS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(unit))
                .map(|&(_, multiplier)| multiplier)
                .ok_or_else(|| {
                    format!("unknown size unit {unit:?} in {text:?}: use B, KiB, MiB, GiB, KB, MB or GB")
                })?
        };
        let invalid = || {
            format!("invalid size {text:?}: expected a number and a unit such as 64KiB or 16MiB")
        };
        if number.is_empty() {
            return Err(invalid());
        }
        if let Ok(whole) = number.parse::<u64>() {
            return whole
                .checked_mul(multiplier)
                .map(ByteSize)
                .ok_or_else(|| format!("size {text:?} is too large"));
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let bytes = value * multiplier as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(format!("size {text:?} is too large"));
        }
        if bytes.fract() != 0.0 {
            return Err(format!("size {text:?} is not a whole number of bytes"));
        }
        Ok(ByteSize(bytes as u64))
    }

    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The size for people, to three figures: `38.3KiB`, `16.0MiB`, `512B`.
    pub fn human(self) -> String {
        for (name, multiplier) in BYTE_UNITS.iter().filter(|(name, _)| name.contains('i')) {
            if self.0 >= *multiplier {
                let value = self.0 as f64 / *multiplier as f64;
                return if value >= 100.0 {
                    format!("{value:.0}{name}")
                } else {
                    format!("{value:.1}{name}")
                };
            }
        }
        format!("{}B", self.0)
    }
}

impl fmt::Display for ByteSize {
    /// The largest binary unit that divides the size exactly: `16MiB`,
    /// `1536KiB`, `100B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0B");
        }
        for (name, multiplier) in BYTE_UNITS.iter().filter(|(name, _)| name.contains('i')) {
            if self.0.is_multiple_of(*multiplier) {
                return write!(f, "{}{name}", self.0 / multiplier);
            }
        }
        write!(f, "{}B", self.0)
    }
}

/// Parsing and serializing through the type's text form: `parse` one way,
/// `Display` the other.
macro_rules! text_form {
    ($type:ident) => {
        impl std::str::FromStr for $type {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                $type::parse(text)
            }
        }

        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_string())
            }
        }
    };
}

text_form!(ByteSize);
text_form!(Span);

impl<'de> Deserialize<'de> for ByteSize {
    /// Either a number of bytes or a string with a unit.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected a size: a number of bytes or a string such as \"16MiB\"",
            )
        })? {
            Raw::Bytes(bytes) => Ok(ByteSize(bytes)),
            Raw::Text(text) => ByteSize::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

/// A duration written as a number and a unit: `10s`, `500ms`, `250us`,
/// `2m`, `1.5s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span(pub Duration);

const SPAN_UNITS: [(&str, f64); 6] = [
    ("ns", 1e-9),
    ("us", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
];

impl Span {
    /// Parses `10s`, `500ms`, `250us`, `2m`, `1h`, `1.5s`.
    pub fn parse(text: &str) -> Result<Span, String> {
        let text = text.trim();
        let (number, unit) = number_and_unit(text);
        let seconds_per_unit = SPAN_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, seconds)| seconds)
            .ok_or_else(|| {
                format!("invalid duration {text:?}: expected a number and a unit (ns, us, ms, s, m, h), such as 10s or 500ms")
            })?;
        let value: f64 = number.parse().map_err(|_| {
            format!("invalid duration {text:?}: expected a number and a unit, such as 10s or 500ms")
        })?;
        Duration::try_from_secs_f64(value * seconds_per_unit)
            .map(Span)
            .map_err(|_| format!("duration {text:?} is out of range"))
    }

    /// The duration.
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl From<Duration> for Span {
    fn from(duration: Duration) -> Self {
        Span(duration)
    }
}

impl fmt::Display for Span {
    /// The largest unit that expresses the duration as a whole number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        for (name, nanos_per_unit) in [
            ("h", 3_600_000_000_000u128),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
        ] {
            if nanos != 0 && nanos.is_multiple_of(nanos_per_unit) {
                return write!(f, "{}{name}", nanos / nanos_per_unit);
            }
        }
        write!(f, "{nanos}ns")
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom("expected a duration string such as \"10s\" or \"500ms\"")
        })?;
        Span::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A UTC timestamp in the compact ISO 8601 form used in file names,
/// `20261124T231500Z`.
pub fn compact_timestamp(time: SystemTime) -> String {
    let (date, (hour, minute, second)) = civil(time);
    format!(
        "{:04}{:02}{:02}T{hour:02}{minute:02}{second:02}Z",
        date.0, date.1, date.2
    )
}

/// A UTC timestamp in RFC 3339 form, `2026-11-24T23:15:00Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let (date, (hour, minute, second)) = civil(time);
    format!(
        "{:04}-{:02}-{:02}T{hour:02}:{minute:02}:{second:02}Z",
        date.0, date.1, date.2
    )
}

/// A moment written in RFC 3339 (`2026-12-02T18:30:00Z`,
/// `2026-12-02T19:30:00.250+01:00`) or as Unix seconds (`1796236200`,
/// `1796236200.5`).
pub fn parse_moment(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    let bad = |why: &str| {
        format!("{text:?}: {why}; expected RFC 3339 (2026-12-02T18:30:00Z) or Unix seconds")
    };
    if let Ok(seconds) = text.parse::<f64>() {
        if !(0.0..1e11).contains(&seconds) {
            return Err(bad("out of range"));
        }
        return Ok(UNIX_EPOCH + Duration::from_secs_f64(seconds));
    }
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !bytes[10].eq_ignore_ascii_case(&b't') && bytes[10] != b' ' {
        return Err(bad("not a date and time"));
    }
    let field = |range: std::ops::Range<usize>| -> Result<u64, String> {
        let part = text.get(range).ok_or_else(|| bad("not a date and time"))?;
        if !part.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(bad("not a date and time"));
        }
        part.parse::<u64>().map_err(|_| bad("not a date and time"))
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, byte)| bytes[at] != byte) {
        return Err(bad("not a date and time"));
    }
    let (year, month, day) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hour, minute, second) = (field(11..13)?, field(14..16)?, field(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad("a field is out of range"));
    }
    let mut rest = &text[19..];
    let mut nanos = 0u64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("no digits after the decimal point"));
        }
        let kept = &fraction[..digits.min(9)];
        nanos = kept.parse::<u64>().map_err(|_| bad("a bad fraction"))?
            * 10u64.pow(9 - kept.len() as u32);
        rest = &fraction[digits..];
    }
    let offset: i64 = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && &rest[3..4] == ":" =>
        {
            let hours: i64 = rest[1..3].parse().map_err(|_| bad("a bad offset"))?;
            let minutes: i64 = rest[4..6].parse().map_err(|_| bad("a bad offset"))?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return Err(bad("no time zone (Z or +HH:MM)")),
    };
    let days = days_from_civil(year as i64, month as u32, day as u32);
    let seconds = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64 - offset;
    let seconds = u64::try_from(seconds).map_err(|_| bad("before 1970"))?;
    Ok(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_nanos(nanos))
}

/// The day count since 1970-01-01 of a proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`, the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let of_era = year - era * 400;
    let month = i64::from(month);
    let of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let of_era_days = of_era * 365 + of_era / 4 - of_era / 100 + of_year;
    era * 146_097 + of_era_days - 719_468
}

/// Year, month, day and hour, minute, second in UTC.
fn civil(time: SystemTime) -> ((i64, u32, u32), (u64, u64, u64)) {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    (
        civil_from_days(days),
        (of_day / 3600, of_day % 3600 / 60, of_day % 60),
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_parse_from_rfc_3339_and_unix_seconds() {
        let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
        // 2026-11-24T23:15:00Z is 1795562100 (rfc3339's own test).
        assert_eq!(parse_moment("2026-11-24T23:15:00Z"), Ok(at(1_795_562_100)));
        assert_eq!(
            parse_moment("2026-11-25T00:15:00+01:00"),
            Ok(at(1_795_562_100))
        );
        assert_eq!(
            parse_moment("2026-11-24 18:15:00-05:00"),
            Ok(at(1_795_562_100))
        );
        assert_eq!(
            parse_moment("2026-11-24t23:15:00.25z"),
            Ok(at(1_795_562_100) + Duration::from_millis(250))
        );
        assert_eq!(parse_moment("1795562100"), Ok(at(1_795_562_100)));
        assert_eq!(parse_moment("2000-02-29T00:00:00Z"), Ok(at(951_782_400)));
        assert_eq!(parse_moment("1970-01-01T00:00:00Z"), Ok(UNIX_EPOCH));
        // Every day of four years round-trips through rfc3339.
        for day in 0..1461u64 {
            let time = at(1_700_000_000 + day * 86_400 + 3_723);
            assert_eq!(parse_moment(&rfc3339(time)), Ok(time));
        }
        for bad in [
            "2026-11-24T23:15:00",
            "2026-13-24T23:15:00Z",
            "2026-11-24T23:15Z",
            "tomorrow",
            "2026-11-24T23:15:00.Z",
            "-5",
        ] {
            let error = parse_moment(bad).unwrap_err();
            assert!(error.contains("RFC 3339"), "{bad}: {error}");
        }
    }

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(ByteSize::parse("64KiB"), Ok(ByteSize(65_536)));
        assert_eq!(ByteSize::parse("16MiB"), Ok(ByteSize(16 << 20)));
        assert_eq!(ByteSize::parse("16mib"), Ok(ByteSize(16 << 20)));
        assert_eq!(ByteSize::parse("1GiB"), Ok(ByteSize(1 << 30)));
        assert_eq!(ByteSize::parse("1.5KiB"), Ok(ByteSize(1536)));
        assert_eq!(ByteSize::parse("2MB"), Ok(ByteSize(2_000_000)));
        assert_eq!(ByteSize::parse("100"), Ok(ByteSize(100)));
        assert_eq!(ByteSize::parse("100B"), Ok(ByteSize(100)));
        assert_eq!(ByteSize::parse("0"), Ok(ByteSize(0)));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        assert!(ByteSize::parse("16 furlongs")
            .unwrap_err()
            .contains("unknown size unit"));
        assert!(ByteSize::parse("MiB").unwrap_err().contains("invalid size"));
        assert!(ByteSize::parse("").unwrap_err().contains("invalid size"));
        assert!(ByteSize::parse("1.2.3KiB")
            .unwrap_err()
            .contains("invalid size"));
        assert!(ByteSize::parse("0.3B")
            .unwrap_err()
            .contains("whole number"));
        assert!(ByteSize::parse("99999999999GiB")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit_and_round_trip() {
        for (bytes, text) in [
            (16 << 20, "16MiB"),
            (65_536, "64KiB"),
            (1536, "1536B"),
            (100, "100B"),
            (0, "0B"),
            (3 << 30, "3GiB"),
        ] {
            assert_eq!(ByteSize(bytes).to_string(), text);
            assert_eq!(ByteSize::parse(text), Ok(ByteSize(bytes)));
        }
        assert_eq!(ByteSize(1 << 11).to_string(), "2KiB");
        assert_eq!(ByteSize(39_206).human(), "38.3KiB");
        assert_eq!(ByteSize(16 << 20).human(), "16.0MiB");
        assert_eq!(ByteSize(200 << 20).human(), "200MiB");
        assert_eq!(ByteSize(512).human(), "512B");
    }

    #[test]
    fn sizes_deserialize_from_numbers_and_strings() {
        let sizes: Vec<ByteSize> = serde_json::from_str(r#"[1024, "1KiB", "2MiB"]"#).unwrap();
        assert_eq!(sizes, [ByteSize(1024), ByteSize(1024), ByteSize(2 << 20)]);
        let error = serde_json::from_str::<ByteSize>(r#""2 parsecs""#).unwrap_err();
        assert!(error.to_string().contains("unknown size unit"), "{error}");
        assert_eq!(
            serde_json::to_string(&ByteSize(2 << 20)).unwrap(),
            r#""2MiB""#
        );
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(Span::parse("10s"), Ok(Span(Duration::from_secs(10))));
        assert_eq!(Span::parse("500ms"), Ok(Span(Duration::from_millis(500))));
        assert_eq!(Span::parse("250us"), Ok(Span(Duration::from_micros(250))));
        assert_eq!(Span::parse("2m"), Ok(Span(Duration::from_secs(120))));
        assert_eq!(Span::parse("1.5s"), Ok(Span(Duration::from_millis(1500))));
        assert_eq!(Span(Duration::from_millis(1500)).to_string(), "1500ms");
        assert_eq!(Span(Duration::from_secs(120)).to_string(), "2m");
        assert_eq!(Span(Duration::ZERO).to_string(), "0ns");
        assert!(Span::parse("10").unwrap_err().contains("unit"));
        assert!(Span::parse("ten s")
            .unwrap_err()
            .contains("invalid duration"));
        assert!(Span::parse("1e400s").is_err());
    }

    #[test]
    fn timestamps_are_utc_civil_time() {
        // 2026-11-24T23:15:00Z
        let time = UNIX_EPOCH + Duration::from_secs(1_795_562_100);
        assert_eq!(compact_timestamp(time), "20261124T231500Z");
        assert_eq!(rfc3339(time), "2026-11-24T23:15:00Z");
        // A leap day, and the epoch itself.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}
