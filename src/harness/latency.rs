//! Latency histograms: the percentiles a result reports of one, and the
//! serialized form in which a result keeps it whole, so that results can be
//! re-read, merged and drawn.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

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
pub const HISTOGRAM_ENCODING: &str = "hdrhistogram-v2+base64";

impl HistogramData {
    /// Serializes a histogram of microseconds.
    pub fn encode(histogram: &Histogram<u64>) -> Result<HistogramData, String> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(histogram, &mut bytes)
            .map_err(|error| format!("serializing the histogram: {error:?}"))?;
        Ok(HistogramData {
            encoding: HISTOGRAM_ENCODING.to_owned(),
            unit: "us".to_owned(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    /// Reads the histogram back.
    pub fn decode(&self) -> Result<Histogram<u64>, String> {
        if self.encoding != HISTOGRAM_ENCODING {
            return Err(format!(
                "histogram encoding {:?} is not {HISTOGRAM_ENCODING:?}",
                self.encoding
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.data)
            .map_err(|error| format!("histogram data is not base64: {error}"))?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|error| format!("histogram data is not an HdrHistogram: {error:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::driver::new_histogram;

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
        assert!(wrong.decode().unwrap_err().contains("csv"));
        let garbled = HistogramData {
            data: "!!!".to_owned(),
            ..data
        };
        assert!(garbled.decode().unwrap_err().contains("base64"));
    }

    #[test]
    fn latency_figures_of_an_empty_histogram_are_zero() {
        let figures = LatencyFigures::of(&new_histogram());
        assert_eq!((figures.p50, figures.max, figures.mean), (0, 0, 0.0));
    }
}
