//! The series of a phase: the workers' per-interval answers gathered into
//! one row per interval, with only the last few seconds' histograms open,
//! and the whole phase's figures made of the intervals as they close, so
//! that the phase so far can be told at any moment (`Checkpoint`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hdrhistogram::Histogram;

use serde::{Deserialize, Serialize};

use super::counts::Counts;
use crate::harness::latency::{new_growing_histogram, new_histogram, MAX_LATENCY_US};

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

/// Answers by outcome and their latencies: one worker's in one interval,
/// one interval's, or the whole phase's.
#[derive(Clone, Debug)]
pub(super) struct Answers {
    pub(super) counts: Counts,
    /// Every answer's latency.
    pub(super) latency: Histogram<u64>,
    /// An open loop's service times (from the actual send).
    pub(super) service: Option<Histogram<u64>>,
    /// Latencies by the source the answer named; made when first needed,
    /// growing (only their figures are kept, not the histograms, so they
    /// need not hold an hour from the start).
    pub(super) by_source: [Option<Histogram<u64>>; 3],
    /// Failures without an answer, at their time to failure; made when
    /// first needed.
    pub(super) failed: Option<Histogram<u64>>,
    /// Makes its histograms.
    make: fn() -> Histogram<u64>,
}

impl Answers {
    /// A whole phase's: its histograms hold an hour's latencies.
    pub(super) fn new(open_loop: bool) -> Answers {
        Answers::made_by(open_loop, new_histogram)
    }

    /// An interval's: its histograms grow with its latencies, so that
    /// handing them on at the interval's end costs little.
    pub(super) fn interval(open_loop: bool) -> Answers {
        Answers::made_by(open_loop, new_growing_histogram)
    }

    fn made_by(open_loop: bool, make: fn() -> Histogram<u64>) -> Answers {
        Answers {
            counts: Counts::default(),
            latency: make(),
            service: open_loop.then(make),
            by_source: [None, None, None],
            failed: None,
            make,
        }
    }

    /// Records an answered request's latency (and service time, and its
    /// source's latency), or a failed one's time to failure, in whole
    /// microseconds up to [`MAX_LATENCY_US`].
    pub(super) fn record(
        &mut self,
        answered: bool,
        source: Option<usize>,
        (latency, service): (u64, u64),
    ) {
        let latency = latency.min(MAX_LATENCY_US);
        if answered {
            grow_record(&mut self.latency, latency);
            if let Some(histogram) = &mut self.service {
                grow_record(histogram, service.min(MAX_LATENCY_US));
            }
            if let Some(source) = source {
                grow_record(
                    self.by_source[source].get_or_insert_with(new_growing_histogram),
                    latency,
                );
            }
        } else {
            grow_record(self.failed.get_or_insert_with(self.make), latency);
        }
    }

    /// Adds `other`'s answers to these.
    pub(super) fn add(&mut self, other: &Answers) {
        self.counts.merge(&other.counts);
        // Same bounds on every side: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let add = |all: &mut Option<Histogram<u64>>,
                   theirs: &Option<Histogram<u64>>,
                   make: fn() -> Histogram<u64>| {
            if let Some(theirs) = theirs.as_ref().filter(|theirs| !theirs.is_empty()) {
                let _ = all.get_or_insert_with(make).add(theirs);
            }
        };
        add(&mut self.service, &other.service, self.make);
        add(&mut self.failed, &other.failed, self.make);
        for (all, theirs) in self.by_source.iter_mut().zip(&other.by_source) {
            add(all, theirs, new_growing_histogram);
        }
    }

    /// Adds `other`'s answers to these, taking over the by-source
    /// histograms these have not made yet instead of making and adding to
    /// them (creating one zeroes all its buckets).
    pub(super) fn absorb(&mut self, mut other: Answers) {
        for (all, theirs) in self.by_source.iter_mut().zip(&mut other.by_source) {
            if all.is_none() {
                *all = theirs.take();
            }
        }
        self.add(&other);
    }
}

/// Records `value` in `histogram`, growing it if need be (a growing
/// histogram's saturating record would clamp instead of growing).
fn grow_record(histogram: &mut Histogram<u64>, value: u64) {
    if histogram.record(value).is_err() {
        histogram.saturating_record(value);
    }
}

/// The phase so far: every interval up to the last closed one, and their
/// answers together.
pub(super) struct Checkpoint {
    /// The last interval it holds whole.
    pub(super) last: u64,
    /// Intervals 0 to `last`.
    pub(super) series: Vec<ClientInterval>,
    /// Their answers.
    pub(super) answers: Answers,
}

/// How long an interval stays open for late answers before its
/// percentiles are fixed.
pub(super) const OPEN_FOR: Duration = Duration::from_secs(3);

/// Builds the interval series from the workers' intervals, keeping only
/// the last few seconds' histograms open, so memory stays flat, and the
/// whole phase's answers of the intervals closed.
pub(super) struct SeriesBuilder {
    interval: Duration,
    /// Intervals kept open: those within [`OPEN_FOR`] of the newest.
    open_intervals: u64,
    open: BTreeMap<u64, Answers>,
    closed: HashMap<u64, ClientInterval>,
    /// The answers of every closed interval, stragglers included.
    whole: Answers,
    /// The newest interval closed.
    last_closed: Option<u64>,
}

impl SeriesBuilder {
    pub(super) fn new(interval: Duration, open_loop: bool) -> SeriesBuilder {
        SeriesBuilder {
            interval,
            open_intervals: (OPEN_FOR.as_nanos() / interval.as_nanos().max(1)).max(1) as u64,
            open: BTreeMap::new(),
            closed: HashMap::new(),
            whole: Answers::new(open_loop),
            last_closed: None,
        }
    }

    /// Adds one worker's answers of interval `slot`; the first of a slot
    /// become the slot's.
    pub(super) fn add(&mut self, slot: u64, answers: Answers) {
        if let Some(closed) = self.closed.get_mut(&slot) {
            // A straggler: its count still counts, its latency is too late
            // for that interval's percentiles (not for the phase's).
            closed.requests += answers.counts.requests;
            closed.errors += answers.counts.errors.total;
            self.whole.absorb(answers);
            return;
        }
        if self.last_closed.is_some_and(|last| slot <= last) {
            // An interval that closed before it had anything.
            self.closed.insert(slot, interval_of(slot, &answers));
            self.whole.absorb(answers);
            return;
        }
        match self.open.entry(slot) {
            std::collections::btree_map::Entry::Occupied(mut open) => open.get_mut().add(&answers),
            std::collections::btree_map::Entry::Vacant(vacant) => {
                vacant.insert(answers);
            }
        }
        self.close_older_than(slot);
    }

    /// Closes every interval more than [`OPEN_FOR`] older than `slot`.
    pub(super) fn close_older_than(&mut self, slot: u64) {
        while let Some((&oldest, _)) = self.open.first_key_value() {
            if oldest + self.open_intervals >= slot {
                break;
            }
            self.close(oldest);
        }
        if let Some(edge) = slot.checked_sub(self.open_intervals + 1) {
            self.last_closed = self.last_closed.max(Some(edge));
        }
    }

    fn close(&mut self, slot: u64) {
        if let Some(answers) = self.open.remove(&slot) {
            self.closed.insert(slot, interval_of(slot, &answers));
            self.whole.absorb(answers);
            self.last_closed = self.last_closed.max(Some(slot));
        }
    }

    /// The intervals closed so far, up to the newest, and their answers;
    /// `None` before the first closes.
    pub(super) fn checkpoint(&self) -> Option<Checkpoint> {
        let last = self.last_closed?;
        Some(Checkpoint {
            last,
            series: (0..=last).map(|slot| self.row(slot, None)).collect(),
            answers: self.whole.clone(),
        })
    }

    /// Interval `slot` as it stands (closed, or still open), its rate over
    /// its length or, for the last one, over the `elapsed` part of it.
    fn row(&self, slot: u64, elapsed: Option<Duration>) -> ClientInterval {
        let open = || {
            self.open
                .get(&slot)
                .map(|answers| interval_of(slot, answers))
        };
        let mut figures = self
            .closed
            .get(&slot)
            .cloned()
            .or_else(open)
            .unwrap_or(ClientInterval {
                interval: slot,
                start_secs: 0.0,
                requests: 0,
                throughput_rps: 0.0,
                p50_us: None,
                p99_us: None,
                errors: 0,
            });
        let length = self.interval.as_secs_f64();
        figures.start_secs = slot as f64 * length;
        let span = match elapsed {
            Some(elapsed) => (elapsed.as_secs_f64() - figures.start_secs).clamp(1e-3, length),
            None => length,
        };
        figures.throughput_rps = figures.requests as f64 / span;
        figures
    }

    /// The phase as it stands with interval `now` under way: the newest
    /// ended interval's answers, every answer so far (the closed
    /// intervals' and the open ones'), and the rows of the ended intervals.
    pub(super) fn live(&self, now: u64) -> LiveFigures {
        let mut whole = self.whole.clone();
        for answers in self.open.values() {
            whole.add(answers);
        }
        let rows = (0..now).map(|slot| self.row(slot, None)).collect();
        LiveFigures {
            last: now
                .checked_sub(1)
                .and_then(|slot| Some((slot, WindowFigures::of(self.open.get(&slot)?)))),
            whole: WindowFigures::of(&whole),
            rows,
            interval: self.interval,
        }
    }

    /// The whole series, every interval from 0 to the end, quiet ones
    /// included, and the whole phase's answers.
    pub(super) fn finish(mut self, elapsed: Duration) -> (Vec<ClientInterval>, Answers) {
        let open: Vec<u64> = self.open.keys().copied().collect();
        for slot in open {
            self.close(slot);
        }
        let last = self.closed.keys().max().copied().unwrap_or(0);
        let series = (0..=last)
            .map(|slot| self.row(slot, Some(elapsed)))
            .collect();
        (series, self.whole)
    }
}

/// The figures of some answers as a live view shows them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowFigures {
    /// Requests by outcome.
    pub counts: Counts,
    /// The 50th, 99th and 99.9th percentiles of the answers' latency in
    /// microseconds (in an open loop, from each intended send); `None`
    /// with no answer.
    pub latency: Option<[u64; 3]>,
    /// An open loop's, from each actual send (the service time).
    pub service: Option<[u64; 3]>,
}

impl WindowFigures {
    fn of(answers: &Answers) -> WindowFigures {
        let percentiles = |histogram: &Histogram<u64>| {
            (!histogram.is_empty())
                .then(|| [0.5, 0.99, 0.999].map(|quantile| histogram.value_at_quantile(quantile)))
        };
        WindowFigures {
            counts: answers.counts.clone(),
            latency: percentiles(&answers.latency),
            service: answers.service.as_ref().and_then(percentiles),
        }
    }
}

/// A running phase as a live view shows it: read from the series as it
/// stands, without changing it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveFigures {
    /// The newest interval that has ended, by number, and its answers so
    /// far (a worker hands its answers on when it moves to the next).
    pub last: Option<(u64, WindowFigures)>,
    /// Every answer handed on so far.
    pub whole: WindowFigures,
    /// Every interval that has ended, as the series will have it.
    pub rows: Vec<ClientInterval>,
    /// The length of an interval.
    pub interval: Duration,
}

/// An interval's row of the series, from its answers.
fn interval_of(slot: u64, answers: &Answers) -> ClientInterval {
    let histogram = &answers.latency;
    let at = |quantile| (!histogram.is_empty()).then(|| histogram.value_at_quantile(quantile));
    ClientInterval {
        interval: slot,
        start_secs: 0.0,
        requests: answers.counts.requests,
        throughput_rps: 0.0,
        p50_us: at(0.5),
        p99_us: at(0.99),
        errors: answers.counts.errors.total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worker's answers: `latencies` answered, `errors` of them failed
    /// with a status.
    fn answers(latencies: &[u64], errors: u64) -> Answers {
        let mut answers = Answers::interval(false);
        for &latency in latencies {
            answers.latency.record(latency).unwrap();
        }
        answers.counts.requests = latencies.len() as u64;
        answers.counts.ok = latencies.len() as u64 - errors;
        answers.counts.errors.total = errors;
        answers
    }

    #[test]
    fn the_series_closes_old_seconds_and_counts_stragglers() {
        let mut builder = SeriesBuilder::new(Duration::from_secs(1), false);
        builder.add(0, answers(&[100, 300], 0));
        builder.add(1, answers(&[100, 300], 1));
        builder.add(5, answers(&[100, 300], 0));
        // Seconds 0 and 1 are closed now; only 5 is open.
        assert_eq!(builder.open.len(), 1);
        builder.add(0, answers(&[100, 300, 300], 1));
        let (series, whole) = builder.finish(Duration::from_millis(5_500));
        assert_eq!(series.len(), 6);
        assert_eq!((series[0].requests, series[0].errors), (5, 1));
        assert_eq!(series[0].p99_us, Some(300));
        assert_eq!(series[0].throughput_rps, 5.0);
        assert_eq!((series[3].requests, series[3].p99_us), (0, None));
        // The last half second runs at twice its count.
        assert_eq!(series[5].throughput_rps, 4.0);
        // The phase's figures hold every answer, the straggler's too.
        assert_eq!((whole.counts.requests, whole.latency.len()), (9, 9));
        assert_eq!(whole.counts.errors.total, 2);
    }

    #[test]
    fn intervals_shorter_than_a_second_keep_their_own_rates_and_percentiles() {
        let mut builder = SeriesBuilder::new(Duration::from_millis(100), false);
        // Three seconds open: thirty intervals.
        assert_eq!(builder.open_intervals, 30);
        builder.add(0, answers(&[100; 10], 0));
        builder.add(1, answers(&[5000; 5], 2));
        builder.add(4, answers(&[100], 0));
        let (series, _) = builder.finish(Duration::from_millis(450));
        assert_eq!(series.len(), 5);
        assert_eq!(series[1].start_secs, 0.1);
        assert_eq!(
            (series[0].throughput_rps, series[0].p50_us),
            (100.0, Some(100))
        );
        assert_eq!((series[1].throughput_rps, series[1].errors), (50.0, 2));
        let mut slow = new_histogram();
        slow.record(5000).unwrap();
        assert_eq!(series[1].p99_us, Some(slow.value_at_quantile(0.99)));
        assert_eq!((series[2].requests, series[2].p50_us), (0, None));
        // The last interval ran 50 ms: one request is 20 per second.
        assert!((series[4].throughput_rps - 20.0).abs() < 1e-9);
    }

    #[test]
    fn a_checkpoint_holds_the_closed_intervals_whole_and_nothing_after_them() {
        let mut builder = SeriesBuilder::new(Duration::from_secs(1), false);
        builder.add(0, answers(&[100, 200], 0));
        builder.add(2, answers(&[400], 1));
        assert!(builder.checkpoint().is_none(), "nothing has closed yet");
        builder.add(4, answers(&[800; 4], 0));
        // Interval 4 closes 0 (4 > 0 + 3); 1 to 4 stay open.
        let checkpoint = builder.checkpoint().unwrap();
        assert_eq!(checkpoint.last, 0);
        assert_eq!(checkpoint.series.len(), 1);
        assert_eq!(checkpoint.answers.counts.requests, 2);
        assert_eq!(checkpoint.answers.latency.len(), 2);
        // Nothing arrives for a while: the clock closes what is old.
        builder.close_older_than(7);
        let checkpoint = builder.checkpoint().unwrap();
        assert_eq!(checkpoint.last, 3);
        let counted: u64 = checkpoint.series.iter().map(|row| row.requests).sum();
        assert_eq!(counted, 3);
        assert_eq!(checkpoint.answers.counts.requests, 3);
        assert_eq!(checkpoint.answers.counts.errors.total, 1);
        assert_eq!(checkpoint.series[2].p50_us, Some(400));
        assert_eq!(checkpoint.series[1].requests, 0);
        // A whole interval's rate is over its whole length.
        assert_eq!(checkpoint.series[0].throughput_rps, 2.0);
        // A late answer of a closed interval joins it and the whole.
        builder.add(1, answers(&[100], 0));
        let checkpoint = builder.checkpoint().unwrap();
        assert_eq!(checkpoint.series[1].requests, 1);
        assert_eq!(checkpoint.answers.counts.requests, 4);
        let (series, whole) = builder.finish(Duration::from_millis(4_500));
        assert_eq!(series.len(), 5);
        assert_eq!(whole.counts.requests, 8);
        assert_eq!(whole.latency.len(), 8);
    }

    #[test]
    fn a_live_reading_shows_the_last_ended_interval_and_everything_so_far() {
        let mut builder = SeriesBuilder::new(Duration::from_secs(1), false);
        builder.add(0, answers(&[100, 200], 0));
        builder.add(1, answers(&[1000; 9], 1));
        builder.add(1, answers(&[1000], 0));
        builder.add(2, answers(&[50], 0));
        // Interval 2 under way: interval 1 is the last ended one.
        let live = builder.live(2);
        let (slot, last) = live.last.clone().unwrap();
        assert_eq!(
            (slot, last.counts.requests, last.counts.errors.total),
            (1, 10, 1)
        );
        let thousand = {
            let mut one = new_histogram();
            one.record(1000).unwrap();
            one.value_at_quantile(0.5)
        };
        assert_eq!(last.latency, Some([thousand; 3]));
        assert_eq!(
            last.service, None,
            "a closed loop has no service time apart"
        );
        // Everything handed on, the interval under way included.
        assert_eq!(live.whole.counts.requests, 13);
        let rows: Vec<(u64, f64)> = live
            .rows
            .iter()
            .map(|row| (row.requests, row.throughput_rps))
            .collect();
        assert_eq!(rows, vec![(2, 2.0), (10, 10.0)]);
        // Reading changes nothing: the series ends as it would have.
        let (series, whole) = builder.finish(Duration::from_millis(2_500));
        assert_eq!(series.len(), 3);
        assert_eq!(whole.counts.requests, 13);
        // Nothing ended yet: no last interval, no rows.
        let fresh = SeriesBuilder::new(Duration::from_secs(1), true);
        let live = fresh.live(0);
        assert!(live.last.is_none() && live.rows.is_empty());
        assert_eq!(live.whole.latency, None);
    }

    #[test]
    fn intervals_handed_on_make_the_histogram_that_recording_whole_makes() {
        // Latencies from 1 us to past an hour, through intervals whose
        // histograms grow: the phase's histogram is bucket for bucket the
        // one that records every latency itself.
        let latencies: Vec<u64> = (0..5000u64)
            .map(|at| (at * at * 7919) % 50_000_000 + 1)
            .chain([MAX_LATENCY_US, MAX_LATENCY_US * 2, 1])
            .collect();
        let mut direct = new_histogram();
        let mut builder = SeriesBuilder::new(Duration::from_secs(1), false);
        let mut interval = Answers::interval(false);
        for (at, &latency) in latencies.iter().enumerate() {
            direct.saturating_record(latency.min(MAX_LATENCY_US));
            interval.record(true, Some(at % 3), (latency, latency));
            interval.counts.requests += 1;
            if at % 700 == 699 {
                builder.add(
                    at as u64 / 700,
                    std::mem::replace(&mut interval, Answers::interval(false)),
                );
            }
        }
        builder.add(99, interval);
        let (_, whole) = builder.finish(Duration::from_secs(100));
        assert_eq!(whole.latency.len(), latencies.len() as u64);
        assert!(whole.latency == direct, "the histograms differ");
        assert_eq!(whole.latency.max(), direct.max());
        let by_source: u64 = whole.by_source.iter().flatten().map(Histogram::len).sum();
        assert_eq!(by_source, latencies.len() as u64);
    }

    #[test]
    fn answers_add_and_absorb_every_kind() {
        let mut all = Answers::new(true);
        let mut one = answers(&[100, 200], 1);
        one.service = Some(new_histogram());
        one.service.as_mut().unwrap().record(50).unwrap();
        let mut failed = new_histogram();
        failed.record(2_000_000).unwrap();
        one.failed = Some(failed);
        let mut hit = new_histogram();
        hit.record(100).unwrap();
        one.by_source[0] = Some(hit);
        all.add(&one);
        all.add(&one);
        assert_eq!(all.counts.requests, 4);
        assert_eq!(all.latency.len(), 4);
        assert_eq!(all.service.as_ref().map(Histogram::len), Some(2));
        assert_eq!(all.failed.as_ref().map(Histogram::len), Some(2));
        assert_eq!(all.by_source[0].as_ref().map(Histogram::len), Some(2));
        assert!(all.by_source[1].is_none());
        // Absorbed, a source these have none of is taken over whole, the
        // others added.
        let mut peer = new_histogram();
        peer.record(300).unwrap();
        one.by_source[1] = Some(peer);
        all.absorb(one);
        assert_eq!(all.counts.requests, 6);
        assert_eq!(all.latency.len(), 6);
        assert_eq!(all.by_source[0].as_ref().map(Histogram::len), Some(3));
        assert_eq!(all.by_source[1].as_ref().map(Histogram::len), Some(1));
        assert_eq!(all.by_source[1].as_ref().map(Histogram::max), Some(300));
        assert!(all.by_source[2].is_none());
    }
}
