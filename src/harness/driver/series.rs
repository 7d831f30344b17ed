//! The series of a phase: the workers' per-interval answers gathered into
//! one row per interval, with only the last few seconds' histograms open.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hdrhistogram::Histogram;

use serde::{Deserialize, Serialize};

use crate::harness::latency::new_histogram;

/// One interval of the measurement, as the driver saw it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientInterval {
    /// The interval's number, from 0.
    pub interval: u64,
    /// When it began, in seconds since the measurement began.
    pub start_secs: f64,
    /// Requests that ended in this interval.
    pub requests: u64,
    /// Requests per second (the last interval may be partial).
    pub throughput_rps: f64,
    /// The median latency of the interval's answers, in microseconds
    /// (`null` when there were none).
    pub p50_us: Option<u64>,
    /// The 99th percentile, likewise.
    pub p99_us: Option<u64>,
    /// Failures in this interval.
    pub errors: u64,
}

/// How long an interval stays open for late answers before its
/// percentiles are fixed.
const OPEN_FOR: Duration = Duration::from_secs(3);

/// Builds the interval series from the workers' intervals, keeping only
/// the last few seconds' histograms open, so memory stays flat.
pub(super) struct SeriesBuilder {
    interval: Duration,
    /// Intervals kept open: those within [`OPEN_FOR`] of the newest.
    open_intervals: u64,
    open: BTreeMap<u64, (Histogram<u64>, u64, u64)>,
    closed: HashMap<u64, ClientInterval>,
}

impl SeriesBuilder {
    pub(super) fn new(interval: Duration) -> SeriesBuilder {
        SeriesBuilder {
            interval,
            open_intervals: (OPEN_FOR.as_nanos() / interval.as_nanos().max(1)).max(1) as u64,
            open: BTreeMap::new(),
            closed: HashMap::new(),
        }
    }

    pub(super) fn add(
        &mut self,
        slot: u64,
        histogram: &Histogram<u64>,
        requests: u64,
        errors: u64,
    ) {
        if let Some(closed) = self.closed.get_mut(&slot) {
            // A straggler: its count still counts, its latency is too late
            // for that interval's percentiles.
            closed.requests += requests;
            closed.errors += errors;
            return;
        }
        let entry = self
            .open
            .entry(slot)
            .or_insert_with(|| (new_histogram(), 0, 0));
        let _ = entry.0.add(histogram);
        entry.1 += requests;
        entry.2 += errors;
        while let Some((&oldest, _)) = self.open.first_key_value() {
            if oldest + self.open_intervals >= slot {
                break;
            }
            self.close(oldest);
        }
    }

    fn close(&mut self, slot: u64) {
        if let Some((histogram, requests, errors)) = self.open.remove(&slot) {
            let at =
                |quantile| (!histogram.is_empty()).then(|| histogram.value_at_quantile(quantile));
            self.closed.insert(
                slot,
                ClientInterval {
                    interval: slot,
                    start_secs: 0.0,
                    requests,
                    throughput_rps: 0.0,
                    p50_us: at(0.5),
                    p99_us: at(0.99),
                    errors,
                },
            );
        }
    }

    /// The whole series, every interval from 0 to the end, quiet ones
    /// included.
    pub(super) fn finish(mut self, elapsed: Duration) -> Vec<ClientInterval> {
        let open: Vec<u64> = self.open.keys().copied().collect();
        for slot in open {
            self.close(slot);
        }
        let last = self.closed.keys().max().copied().unwrap_or(0);
        let length = self.interval.as_secs_f64();
        let seconds = elapsed.as_secs_f64();
        (0..=last)
            .map(|slot| {
                let mut figures = self.closed.remove(&slot).unwrap_or(ClientInterval {
                    interval: slot,
                    start_secs: 0.0,
                    requests: 0,
                    throughput_rps: 0.0,
                    p50_us: None,
                    p99_us: None,
                    errors: 0,
                });
                figures.start_secs = slot as f64 * length;
                let span = (seconds - figures.start_secs).clamp(1e-3, length);
                figures.throughput_rps = figures.requests as f64 / span;
                figures
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_closes_old_seconds_and_counts_stragglers() {
        let mut builder = SeriesBuilder::new(Duration::from_secs(1));
        let mut histogram = new_histogram();
        histogram.record(100).unwrap();
        histogram.record(300).unwrap();
        builder.add(0, &histogram, 2, 0);
        builder.add(1, &histogram, 2, 1);
        builder.add(5, &histogram, 2, 0);
        // Seconds 0 and 1 are closed now; only 5 is open.
        assert_eq!(builder.open.len(), 1);
        builder.add(0, &histogram, 3, 1);
        let series = builder.finish(Duration::from_millis(5_500));
        assert_eq!(series.len(), 6);
        assert_eq!((series[0].requests, series[0].errors), (5, 1));
        assert_eq!(series[0].p99_us, Some(300));
        assert_eq!(series[0].throughput_rps, 5.0);
        assert_eq!((series[3].requests, series[3].p99_us), (0, None));
        // The last half second runs at twice its count.
        assert_eq!(series[5].throughput_rps, 4.0);
    }

    #[test]
    fn intervals_shorter_than_a_second_keep_their_own_rates_and_percentiles() {
        let mut builder = SeriesBuilder::new(Duration::from_millis(100));
        // Three seconds open: thirty intervals.
        assert_eq!(builder.open_intervals, 30);
        let mut fast = new_histogram();
        fast.record(100).unwrap();
        let mut slow = new_histogram();
        slow.record(5000).unwrap();
        builder.add(0, &fast, 10, 0);
        builder.add(1, &slow, 5, 2);
        builder.add(4, &fast, 1, 0);
        let series = builder.finish(Duration::from_millis(450));
        assert_eq!(series.len(), 5);
        assert_eq!(series[1].start_secs, 0.1);
        assert_eq!(
            (series[0].throughput_rps, series[0].p50_us),
            (100.0, Some(100))
        );
        assert_eq!((series[1].throughput_rps, series[1].errors), (50.0, 2));
        assert_eq!(series[1].p99_us, Some(slow.value_at_quantile(0.99)));
        assert_eq!((series[2].requests, series[2].p50_us), (0, None));
        // The last interval ran 50 ms: one request is 20 per second.
        assert!((series[4].throughput_rps - 20.0).abs() < 1e-9);
    }
}
