//! A result's histograms: the answered requests' latency, an open loop's
//! service time and the failed requests' time to failure, with the
//! figures they give and their sums over trials or drivers.

use hdrhistogram::Histogram;

use super::schema::RunResult;
use crate::harness::latency::{new_histogram, HistogramData, HistogramError, LatencyFigures};

/// A result's histograms.
pub struct Histograms {
    /// The answered requests' latency.
    pub latency: Histogram<u64>,
    /// An open loop's service time.
    pub service: Option<Histogram<u64>>,
    /// The failed requests' time to failure; `None` when none failed.
    pub failed: Option<Histogram<u64>>,
}

/// The figures of the failed requests' time to failure, and of every
/// request (answered and failed together); both `None` when none failed.
pub fn failed_figures(
    latency: &Histogram<u64>,
    failed: Option<&Histogram<u64>>,
) -> (Option<LatencyFigures>, Option<LatencyFigures>) {
    let Some(failed) = failed.filter(|failed| !failed.is_empty()) else {
        return (None, None);
    };
    let mut all = latency.clone();
    // Same bounds on both sides: adding cannot fail.
    let _ = all.add(failed);
    (
        Some(LatencyFigures::of(failed)),
        Some(LatencyFigures::of(&all)),
    )
}

/// The histograms of `results` (each named for errors) added together:
/// the latency ones, the service-time ones when every result has one, and
/// the failed ones any has.
pub(crate) fn histograms_added<'a>(
    results: impl IntoIterator<Item = (&'a str, &'a RunResult)>,
) -> Result<Histograms, HistogramError> {
    let mut latency = new_histogram();
    let mut service = Some(new_histogram());
    let mut failed: Option<Histogram<u64>> = None;
    for (name, result) in results {
        let add = |sum: &mut Histogram<u64>, data: &HistogramData| {
            let histogram = data.decode().map_err(|error| error.of(name))?;
            sum.add(&histogram)
                .map_err(|error| HistogramError::Add(error).of(name))
        };
        add(&mut latency, &result.histogram)?;
        service = match (service, &result.service_histogram) {
            (Some(mut sum), Some(data)) => {
                add(&mut sum, data)?;
                Some(sum)
            }
            _ => None,
        };
        if let Some(data) = &result.failed_histogram {
            add(failed.get_or_insert_with(new_histogram), data)?;
        }
    }
    Ok(Histograms {
        latency,
        service,
        failed,
    })
}

impl RunResult {
    /// Takes `histograms` as its own, with the figures they give.
    pub fn set_histograms(&mut self, histograms: Histograms) -> Result<(), HistogramError> {
        let Histograms {
            latency,
            service,
            failed,
        } = histograms;
        self.client.latency_us = LatencyFigures::of(&latency);
        self.histogram = HistogramData::encode(&latency)?;
        self.client.service_time_us = service.as_ref().map(LatencyFigures::of);
        self.service_histogram = service.as_ref().map(HistogramData::encode).transpose()?;
        let (failed_figures, all) = failed_figures(&latency, failed.as_ref());
        self.client.failed_latency_us = failed_figures;
        self.client.all_latency_us = all;
        self.failed_histogram = failed.as_ref().map(HistogramData::encode).transpose()?;
        Ok(())
    }
}
