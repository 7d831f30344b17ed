//! Latency histograms: the percentiles a result reports of one, and the
//! serialized form in which a result keeps it whole, so that results can be
//! re-read, merged and drawn.

use base64::Engine as _;
use hdrhistogram::errors::AdditionError;
use hdrhistogram::serialization::{
    DeserializeError, Deserializer, Serializer as _, V2SerializeError, V2Serializer,
};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::geecache::source::Source;

/// The largest latency the histograms hold: one hour, in microseconds.
pub(crate) const MAX_LATENCY_US: u64 = 3_600_000_000;

/// A histogram of latencies in microseconds, 3 significant digits.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant bounds are valid")
}

/// A histogram like [`new_histogram`]'s that holds 100 ms at first and
/// grows as larger values come (up to [`MAX_LATENCY_US`], which its callers
/// keep to): a sixth of an hour's buckets while the latencies stay under
/// 100 ms, so that emptying it and adding it to another cost that much at
/// each interval's end, the same whatever the latencies below it. For an
/// interval's answers, handed on at every interval's end.
pub(crate) fn new_growing_histogram() -> Histogram<u64> {
    let mut histogram =
        Histogram::new_with_bounds(1, 100_000, 3).expect("constant bounds are valid");
    histogram.auto(true);
    histogram
}

/// Latency percentiles, in microseconds; all 0 when nothing was answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyFigures {
    /// The fastest answer.
    pub min: u64,
    /// The mean.
    pub mean: f64,
    /// The standard deviation.
    pub stdev: f64,
    /// The median.
    pub p50: u64,
    /// The 90th percentile.
    pub p90: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The 99.9th percentile.
    pub p99_9: u64,
    /// The slowest answer.
    pub max: u64,
}

/// Answers from one source and their latency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceLatency {
    /// Answers that named this source.
    pub answers: u64,
    /// Their latency, counted from the time the run's latency is.
    pub latency_us: LatencyFigures,
}

/// The latency of answers by where the API node got their value, as its
/// `X-GeeCache-Source` header said: a cache hit's latency apart from a
/// peer fetch's and a slow-store load's. A source no answer named is
/// absent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BySource {
    /// The API node's own cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit: Option<SourceLatency>,
    /// The key's owner, another node (its cache or its load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<SourceLatency>,
    /// The API node's slow store (or a wait for a load under way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<SourceLatency>,
}

impl BySource {
    /// The figures of the driver's histograms by [`Source::index`]; `None`
    /// when no answer named a source (a target that does not say).
    pub fn of(histograms: &[Option<Histogram<u64>>; 3]) -> Option<BySource> {
        let figures = |source: Source| {
            histograms[source.index()]
                .as_ref()
                .filter(|histogram| !histogram.is_empty())
                .map(|histogram| SourceLatency {
                    answers: histogram.len(),
                    latency_us: LatencyFigures::of(histogram),
                })
        };
        let by_source = BySource {
            hit: figures(Source::Hit),
            peer: figures(Source::Peer),
            load: figures(Source::Load),
        };
        (by_source != BySource::default()).then_some(by_source)
    }

    /// One source's answers and latency.
    pub fn get(&self, source: Source) -> Option<&SourceLatency> {
        match source {
            Source::Hit => self.hit.as_ref(),
            Source::Peer => self.peer.as_ref(),
            Source::Load => self.load.as_ref(),
        }
    }
}

impl LatencyFigures {
    /// The figures of a histogram of microseconds.
    pub fn of(histogram: &Histogram<u64>) -> LatencyFigures {
        if histogram.is_empty() {
            return LatencyFigures {
                min: 0,
                mean: 0.0,
                stdev: 0.0,
                p50: 0,
                p90: 0,
                p99: 0,
                p99_9: 0,
                max: 0,
            };
        }
        LatencyFigures {
            min: histogram.min(),
            mean: histogram.mean(),
            stdev: histogram.stdev(),
            p50: histogram.value_at_quantile(0.5),
            p90: histogram.value_at_quantile(0.9),
            p99: histogram.value_at_quantile(0.99),
            p99_9: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

/// The percentiles a percentile distribution always lists, beside its
/// regular steps, so that the standard figures read straight off it.
const LISTED_QUANTILES: [f64; 6] = [0.5, 0.75, 0.9, 0.99, 0.999, 0.9999];

/// A histogram of microseconds as the percentile distribution text that
/// wrk2 prints and HdrHistogram's plotter reads (`.hgrm`): values in
/// milliseconds, HdrHistogram's percentile steps (5 per halving of the
/// distance to 100%) plus the percentiles of `LISTED_QUANTILES`, then the
/// mean, deviation, maximum, count and bucket layout.
pub fn percentile_distribution(histogram: &Histogram<u64>) -> String {
    use std::fmt::Write as _;
    let ms = |micros: f64| micros / 1000.0;
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !histogram.is_empty() {
        let mut levels: Vec<f64> = histogram
            .iter_quantiles(5)
            .map(|step| step.quantile_iterated_to())
            .chain(LISTED_QUANTILES)
            .collect();
        levels.sort_by(f64::total_cmp);
        // The steps are sums of halvings, not exact: one a rounding above a
        // listed percentile is the same row.
        levels.dedup_by(|later, earlier| *later - *earlier < 1e-9);
        for level in levels {
            let value = histogram.value_at_quantile(level);
            let total = histogram.count_between(0, value);
            if level < 1.0 {
                let _ = writeln!(
                    out,
                    "{:12.3} {:2.12} {:10} {:14.2}",
                    ms(value as f64),
                    level,
                    total,
                    1.0 / (1.0 - level)
                );
            } else {
                let _ = writeln!(out, "{:12.3} {:2.12} {:10}", ms(value as f64), level, total);
            }
        }
    }
    // HdrHistogram's sub-bucket count: the power of two that holds twice
    // the largest value kept at unit resolution.
    let single_unit = 2.0 * 10f64.powi(i32::from(histogram.sigfig()));
    let sub_buckets = 2u64.pow(single_unit.log2().ceil() as u32);
    let _ = write!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n\
         #[Max     = {:12.3}, Total count    = {:12}]\n\
         #[Buckets = {:12}, SubBuckets     = {:12}]\n",
        ms(histogram.mean()),
        ms(histogram.stdev()),
        ms(histogram.max() as f64),
        histogram.len(),
        histogram.buckets(),
        sub_buckets
    );
    out
}

/// The rows of a percentile distribution text (as
/// [`percentile_distribution`] writes it): (value in milliseconds,
/// percentile as a fraction, total count), as HdrHistogram's plotter reads
/// them.
pub fn read_percentile_distribution(text: &str) -> Result<Vec<(f64, f64, u64)>, String> {
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if columns.is_empty() || line.starts_with('#') || columns[0] == "Value" {
            continue;
        }
        let bad = || {
            format!(
                "line {}: {line:?} is not Value Percentile TotalCount",
                number + 1
            )
        };
        if !(3..=4).contains(&columns.len()) {
            return Err(bad());
        }
        rows.push((
            columns[0].parse().map_err(|_| bad())?,
            columns[1].parse().map_err(|_| bad())?,
            columns[2].parse().map_err(|_| bad())?,
        ));
    }
    Ok(rows)
}

/// A histogram in HdrHistogram's V2 serialized form (uncompressed), base64:
/// the Java, Go, Rust and C HdrHistogram libraries read it, and results can
/// be merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramData {
    /// `hdrhistogram-v2+base64`.
    pub encoding: String,
    /// `us`: values are microseconds.
    pub unit: String,
    /// The serialized histogram.
    pub data: String,
}

/// The encoding [`HistogramData`] uses.
pub(crate) const HISTOGRAM_ENCODING: &str = "hdrhistogram-v2+base64";

/// Why a histogram could not be written, read back or added.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// The histogram could not be serialized.
    #[error("serializing the histogram: {0:?}")]
    Serialize(V2SerializeError),
    /// The file names an encoding other than `hdrhistogram-v2+base64`.
    #[error("histogram encoding {0:?} is not {HISTOGRAM_ENCODING:?}")]
    Encoding(String),
    /// The data is not base64.
    #[error("histogram data is not base64: {0}")]
    Base64(base64::DecodeError),
    /// The data is base64, but not a serialized HdrHistogram.
    #[error("histogram data is not an HdrHistogram: {0:?}")]
    Deserialize(DeserializeError),
    /// Two histograms could not be added.
    #[error("adding its histogram: {0:?}")]
    Add(AdditionError),
    /// The histogram of one result (a trial, a driver's file), by its name.
    #[error("{name}: {source}")]
    Of {
        /// The result's name.
        name: String,
        /// What went wrong with its histogram.
        source: Box<HistogramError>,
    },
}

impl HistogramError {
    /// This error, said of the result called `name`.
    pub fn of(self, name: &str) -> HistogramError {
        HistogramError::Of {
            name: name.to_owned(),
            source: Box::new(self),
        }
    }
}

impl HistogramData {
    /// Serializes a histogram of microseconds.
    pub fn encode(histogram: &Histogram<u64>) -> Result<HistogramData, HistogramError> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(histogram, &mut bytes)
            .map_err(HistogramError::Serialize)?;
        Ok(HistogramData {
            encoding: HISTOGRAM_ENCODING.to_owned(),
            unit: "us".to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    /// Reads the histogram back.
    pub fn decode(&self) -> Result<Histogram<u64>, HistogramError> {
        if self.encoding != HISTOGRAM_ENCODING {
            return Err(HistogramError::Encoding(self.encoding.clone()));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.data)
            .map_err(HistogramError::Base64)?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(HistogramError::Deserialize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentile_distribution_reads_back_as_the_histogram() {
        let mut histogram = new_histogram();
        for micros in 1..=20_000u64 {
            histogram.record(micros * micros % 9_973 + 1).unwrap();
        }
        let text = percentile_distribution(&histogram);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"));
        let rows = read_percentile_distribution(&text).unwrap();
        assert!(rows.len() > 20, "{text}");
        for pair in rows.windows(2) {
            assert!(
                pair[0].0 <= pair[1].0 && pair[0].1 < pair[1].1 && pair[0].2 <= pair[1].2,
                "{pair:?}"
            );
        }
        let last = rows.last().unwrap();
        assert_eq!((last.1, last.2), (1.0, histogram.len()));
        let figures = LatencyFigures::of(&histogram);
        for (quantile, expected) in [
            (0.5, figures.p50),
            (0.99, figures.p99),
            (0.999, figures.p99_9),
        ] {
            let row = rows.iter().find(|row| row.1 == quantile).unwrap();
            assert_eq!((row.0 * 1000.0).round() as u64, expected, "{quantile}");
        }
        assert!(text.contains(&format!("Total count    = {:12}]", histogram.len())));
        assert!(
            text.trim_end().ends_with("SubBuckets     =         2048]"),
            "{text}"
        );
        // An empty histogram still has its header and footer.
        let empty = percentile_distribution(&new_histogram());
        assert!(
            read_percentile_distribution(&empty).unwrap().is_empty()
                && empty.contains("Total count    =            0]")
        );
    }

    #[test]
    fn histograms_round_trip_through_v2_base64() {
        let mut histogram = new_histogram();
        for value in [1, 10, 100, 1000, 12_345, 9_999_999] {
            histogram.record(value).unwrap();
        }
        let data = HistogramData::encode(&histogram).unwrap();
        assert_eq!(data.encoding, HISTOGRAM_ENCODING);
        // The V2 cookie, uncompressed (0x1c849303 with the word-size bit 0x10).
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&data.data)
            .unwrap();
        assert_eq!(bytes[..4], [0x1c, 0x84, 0x93, 0x13]);
        let back = data.decode().unwrap();
        assert_eq!(back.len(), 6);
        assert_eq!(back.max(), histogram.max());
        assert_eq!(
            back.value_at_quantile(0.5),
            histogram.value_at_quantile(0.5)
        );
        let wrong = HistogramData {
            encoding: "csv".to_owned(),
            ..data.clone()
        };
        let error = wrong.decode().unwrap_err().to_string();
        assert_eq!(
            error,
            r#"histogram encoding "csv" is not "hdrhistogram-v2+base64""#
        );
        let garbled = HistogramData {
            data: "!!!".to_owned(),
            ..data
        };
        let error = garbled.decode().unwrap_err();
        assert!(matches!(error, HistogramError::Base64(_)), "{error}");
        let named = error.of("a trial").to_string();
        assert!(
            named.starts_with("a trial: histogram data is not base64: "),
            "{named}"
        );
    }

    #[test]
    fn latency_figures_of_an_empty_histogram_are_zero() {
        let figures = LatencyFigures::of(&new_histogram());
        assert_eq!((figures.p50, figures.max, figures.mean), (0, 0, 0.0));
    }
}
