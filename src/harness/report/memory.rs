//! What the run's process held: resident memory and open files, read from
//! `/proc/self` at the start, at each interval's end and after the cluster
//! stopped, so that a long run shows whether its memory stays flat and
//! whether it leaves files or sockets open. Linux only; elsewhere the
//! result has no `memory`. The readings come from [`crate::harness::process`].

use serde::{Deserialize, Serialize};

use crate::units::ByteSize;

/// The process's memory and open files over one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessMemory {
    /// Resident memory when the run began, before its cluster started.
    pub rss_start_bytes: u64,
    /// Resident memory at the end of the measurement.
    pub rss_end_bytes: u64,
    /// The most resident memory the process ever held (`VmHWM`): what the
    /// run needed, warm-up and calibration included.
    pub peak_rss_bytes: u64,
    /// Open file descriptors when the run began, and after its cluster
    /// and driver stopped: equal when nothing leaked.
    pub fds_start: u64,
    /// Open file descriptors after the cluster and the driver stopped.
    pub fds_end: u64,
    /// Of those, sockets, at the start and after the stop.
    pub sockets_start: u64,
    /// Sockets after the cluster and the driver stopped.
    pub sockets_end: u64,
    /// A reading at each interval's end of the measurement.
    pub samples: Vec<MemorySample>,
}

impl ProcessMemory {
    /// The process's memory over the run, its growth after the first fifth
    /// of the measurement (on a run of at least `GROWTH_AFTER_SECS`), and
    /// the files it left open.
    pub fn describe(&self, measured_secs: f64) -> String {
        let size = |bytes: u64| ByteSize(bytes).human();
        let growth = match growth_per_hour(&self.samples, measured_secs / 5.0)
            .filter(|_| measured_secs >= GROWTH_AFTER_SECS)
        {
            Some(growth) => {
                let sign = if growth < 0.0 { "-" } else { "+" };
                format!(
                    "; after the first fifth {sign}{}/hour",
                    size(growth.abs() as u64)
                )
            }
            None => String::new(),
        };
        let leaked = if self.fds_end > self.fds_start {
            format!(": {} MORE THAN BEFORE", self.fds_end - self.fds_start)
        } else {
            String::new()
        };
        format!(
            "memory  resident {} at the start, {} at the end, peak {}{growth}; open files {} -> {} \
             (sockets {} -> {}) once the cluster stopped{leaked}\n",
            size(self.rss_start_bytes),
            size(self.rss_end_bytes),
            size(self.peak_rss_bytes),
            self.fds_start,
            self.fds_end,
            self.sockets_start,
            self.sockets_end,
        )
    }
}

/// The shortest measurement whose memory growth the summary states: over a
/// run of a few seconds the caches, connections and the allocator's pools
/// are still filling, and their rise extrapolated to an hour (gigabytes)
/// says nothing about a leak.
pub const GROWTH_AFTER_SECS: f64 = 60.0;

/// One reading during the measurement.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySample {
    /// Seconds since the measurement began.
    pub at_secs: f64,
    /// Resident memory.
    pub rss_bytes: u64,
    /// Open file descriptors.
    pub fds: u64,
}

/// How resident memory grew, in bytes per hour, over the samples from
/// `from_secs` on (after the warm-up of caches and buffers): the slope of
/// the least-squares line through them. `None` with fewer than three.
pub fn growth_per_hour(samples: &[MemorySample], from_secs: f64) -> Option<f64> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter(|sample| sample.at_secs >= from_secs)
        .map(|sample| (sample.at_secs, sample.rss_bytes as f64))
        .collect();
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mean_t = points.iter().map(|(t, _)| t).sum::<f64>() / n;
    let mean_m = points.iter().map(|(_, m)| m).sum::<f64>() / n;
    let covariance: f64 = points
        .iter()
        .map(|(t, m)| (t - mean_t) * (m - mean_m))
        .sum();
    let variance: f64 = points.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
    (variance > 0.0).then(|| covariance / variance * 3600.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(rss: impl Fn(f64) -> f64) -> Vec<MemorySample> {
        (0..20)
            .map(|i| {
                let at_secs = f64::from(i) * 30.0;
                MemorySample {
                    at_secs,
                    rss_bytes: rss(at_secs) as u64,
                    fds: 10,
                }
            })
            .collect()
    }

    #[test]
    fn growth_is_the_slope_after_the_warm_up() {
        // Flat at 50 MiB after a first minute of filling caches.
        let flat = samples(|t| if t < 60.0 { 10e6 + t * 1e6 } else { 50e6 });
        assert_eq!(growth_per_hour(&flat, 60.0), Some(0.0));
        // 1 MiB a minute is 60 MiB an hour, whatever the level.
        let leaking = samples(|t| 80e6 + t / 60.0 * 1_048_576.0);
        let growth = growth_per_hour(&leaking, 60.0).unwrap();
        assert!((growth - 60.0 * 1_048_576.0).abs() < 1.0, "{growth}");
        // Noise around a level nearly averages out: +-1 MB alternating over
        // 20 readings 30 s apart has slope -10/665 MB a reading (the sum of
        // (i - 9.5)(-1)^i over the sum of (i - 9.5)^2), -1.8 MB an hour
        // against the 60 MiB of a leak.
        let noisy = samples(|t| {
            50e6 + if ((t / 30.0) as u64).is_multiple_of(2) {
                1e6
            } else {
                -1e6
            }
        });
        let growth = growth_per_hour(&noisy, 0.0).unwrap();
        assert!(
            (growth + 1e6 * 10.0 / 665.0 * 120.0).abs() < 1.0,
            "{growth}"
        );
        assert_eq!(growth_per_hour(&flat[..2], 0.0), None);
    }

    #[test]
    fn growth_is_stated_only_on_a_run_long_enough_to_tell() {
        let rising = |seconds: u32| ProcessMemory {
            rss_start_bytes: 6 << 20,
            rss_end_bytes: 40 << 20,
            peak_rss_bytes: 40 << 20,
            fds_start: 11,
            fds_end: 11,
            sockets_start: 3,
            sockets_end: 3,
            samples: (1..=seconds)
                .map(|second| MemorySample {
                    at_secs: f64::from(second),
                    rss_bytes: u64::from(second) << 20,
                    fds: 200,
                })
                .collect(),
        };
        // A few seconds of caches filling: no hourly figure.
        let short = rising(7).describe(7.0);
        assert!(!short.contains("/hour"), "{short}");
        assert!(
            short.contains("peak 40.0MiB; open files 11 -> 11"),
            "{short}"
        );
        // A minute or more: 1 MiB a second is 3.5 GiB an hour.
        let long = rising(60).describe(60.0);
        assert!(
            long.contains("after the first fifth +3.5GiB/hour"),
            "{long}"
        );
    }
}
