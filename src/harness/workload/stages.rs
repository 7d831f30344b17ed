//! A rate that changes on a schedule: `stages`, as k6's
//! ramping-arrival-rate. Each stage holds its rate for its duration, or,
//! with `ramp`, moves evenly to it from the rate before. The measured part
//! of the run lasts all the stages, and its open loop follows them; a ramp
//! is sent as a staircase of [`RAMP_STEP`] treads (at most [`MAX_TREADS`]
//! of them), each at the ramp's mean rate over it, so that by the end of
//! every tread as many requests are due as on the straight line.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Workload;
use crate::harness::driver::RateSchedule;
use crate::harness::events::Action;
use crate::units::Span;

/// One stage of a changing rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long it lasts, such as `"10s"`.
    pub duration: Span,
    /// Requests per second: held through the stage, or reached at its end
    /// with `ramp`.
    pub rate: f64,
    /// Move evenly from the rate before to `rate` over the stage instead
    /// of holding it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ramp: bool,
}

/// The longest tread of a ramp's staircase.
pub const RAMP_STEP: Duration = Duration::from_millis(100);

/// The most treads of one ramp: a ramp longer than this many
/// [`RAMP_STEP`]s has longer treads.
pub const MAX_TREADS: u32 = 10_000;

/// The most stages a workload may have.
pub const MAX_STAGES: usize = 1000;

impl Workload {
    /// Gives a workload with stages the rate and duration they imply (the
    /// first stage's rate, all the stages' length) where it gives none, so
    /// that the run is an open loop bounded by their length. Checked by
    /// [`Workload::validate`] afterwards: a rate or a duration that
    /// disagrees with the stages is refused there.
    pub(super) fn settle_stages(&mut self) {
        let Some(first) = self.stages.first() else {
            return;
        };
        self.rate.get_or_insert(first.rate);
        // Requests given as well are refused by the check, by name.
        if self.requests.is_none() {
            self.duration.get_or_insert(Span(self.stages_length()));
        }
    }

    /// All the stages' length.
    pub fn stages_length(&self) -> Duration {
        self.stages.iter().map(|stage| stage.duration.0).sum()
    }

    /// The measured phase's schedule the stages make; `None` without
    /// stages.
    pub fn stage_schedule(&self) -> Option<RateSchedule> {
        let first = self.stages.first()?;
        // Each piece: when it starts, and its rate.
        let mut pieces: Vec<(Duration, f64)> = Vec::new();
        let mut at = Duration::ZERO;
        let mut rate = first.rate;
        for stage in &self.stages {
            let length = stage.duration.0;
            if stage.ramp {
                let treads = length
                    .as_nanos()
                    .div_ceil(RAMP_STEP.as_nanos())
                    .clamp(1, MAX_TREADS.into());
                let treads = u32::try_from(treads).unwrap_or(MAX_TREADS);
                for index in 0..treads {
                    let middle = (f64::from(index) + 0.5) / f64::from(treads);
                    pieces.push((
                        at + length * index / treads,
                        rate + (stage.rate - rate) * middle,
                    ));
                }
            } else {
                pieces.push((at, stage.rate));
            }
            at += length;
            rate = stage.rate;
        }
        // Each piece's first request is the count due on the line by its
        // start, so that rounding never adds up over many treads.
        let mut due = 0.0f64;
        let mut segments = Vec::with_capacity(pieces.len());
        for (index, &(start, rate)) in pieces.iter().enumerate() {
            segments.push(((due - 1e-9).ceil().max(0.0) as u64, start, rate));
            let end = pieces.get(index + 1).map_or(at, |next| next.0);
            due += (end - start).as_secs_f64() * rate;
        }
        Some(RateSchedule::from_segments(segments))
    }

    /// The requests the stages send, on their straight lines, rounded;
    /// for a model that counts requests. `None` without stages.
    pub fn staged_requests(&self) -> Option<u64> {
        let first = self.stages.first()?;
        let mut rate = first.rate;
        let mut due = 0.0;
        for stage in &self.stages {
            let mean = if stage.ramp {
                (rate + stage.rate) / 2.0
            } else {
                stage.rate
            };
            due += mean * stage.duration.0.as_secs_f64();
            rate = stage.rate;
        }
        Some(due.round() as u64)
    }

    /// The request the stages' schedule has reached at `at` (time since
    /// the measurement began), for a model that counts requests; `None`
    /// without stages.
    pub fn staged_request_at(&self, at: Duration) -> Option<u64> {
        Some(self.stage_schedule()?.scheduled_before(at))
    }

    /// The stages in a line: `stages 10s at 5000/s, 30s ramp to 20000/s
    /// (open loop, 425000 requests scheduled over 40s)`; `None` without.
    pub fn describe_stages(&self) -> Option<String> {
        let scheduled = self.staged_requests()?;
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|stage| {
                let how = if stage.ramp { "ramp to" } else { "at" };
                format!("{} {how} {}/s", stage.duration, stage.rate)
            })
            .collect();
        Some(format!(
            "stages {} (open loop, {scheduled} requests scheduled over {})",
            stages.join(", "),
            Span(self.stages_length())
        ))
    }

    /// Checks the stages against their ranges and the rest of the
    /// workload: a message and the field it names.
    pub(super) fn check_stages(&self) -> Result<(), (String, String)> {
        if self.stages.is_empty() {
            return Ok(());
        }
        if self.stages.len() > MAX_STAGES {
            return Err((
                "stages".into(),
                format!("{} stages: at most {MAX_STAGES}", self.stages.len()),
            ));
        }
        for (index, stage) in self.stages.iter().enumerate() {
            let field = |name: &str| format!("stages[{index}].{name}");
            let duration = stage.duration.0;
            if !(Duration::from_millis(100)..=Duration::from_secs(24 * 3600)).contains(&duration) {
                return Err((
                    field("duration"),
                    format!("{} is out of range: allowed 100ms to 24h", stage.duration),
                ));
            }
            if !(stage.rate.is_finite() && (1.0..=10_000_000.0).contains(&stage.rate)) {
                return Err((
                    field("rate"),
                    format!(
                        "{} is out of range: allowed 1 to 10000000 requests per second",
                        stage.rate
                    ),
                ));
            }
            if index == 0 && stage.ramp {
                return Err((
                    field("ramp"),
                    "the first stage has no rate before it to ramp from: give a stage that \
                     holds the starting rate first"
                        .into(),
                ));
            }
        }
        let first = self.stages[0].rate;
        if self.rate.is_some_and(|rate| rate != first) {
            return Err((
                "rate".into(),
                format!("the stages set the rate (their first is {first}): leave rate out"),
            ));
        }
        let length = Span(self.stages_length());
        if self.duration.is_some_and(|duration| duration != length) {
            return Err((
                "duration".into(),
                format!("the stages last {length}: leave duration out"),
            ));
        }
        if self.requests.is_some() {
            return Err((
                "requests".into(),
                format!("the stages bound the run by their length ({length}): leave requests out"),
            ));
        }
        if let Some(index) = self
            .events
            .iter()
            .position(|event| matches!(event.action, Action::SetRate { .. }))
        {
            return Err((
                format!("events[{index}]"),
                "set_rate changes the rate of a run without stages; the stages give the whole \
                 schedule: add a stage instead"
                    .into(),
            ));
        }
        if self
            .trace
            .as_ref()
            .is_some_and(|trace| trace.speed.is_some())
        {
            return Err((
                "trace.speed".into(),
                "paces the trace at its own times; the stages pace it by theirs: give one".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::workload::tests::{error_of, parse_text};
    use crate::harness::workload::Bound;

    #[test]
    fn stages_make_an_open_loop_as_long_as_they_are() {
        let workload = parse_text(
            r#"{ "stages": [ { "duration": "10s", "rate": 5000 },
                             { "duration": "30s", "rate": 20000, "ramp": true } ] }"#,
        )
        .unwrap();
        assert_eq!(workload.rate, Some(5000.0));
        assert_eq!(workload.bound(), Bound::Duration(Duration::from_secs(40)));
        let schedule = workload.stage_schedule().unwrap();
        // 10 s at 5000/s, then a ramp to 20000/s whose mean is 12500/s.
        let at = |secs: f64| schedule.scheduled_before(Duration::from_secs_f64(secs));
        assert_eq!(at(10.0), 50_000);
        // The count by the end, to the rounding of the last request's time.
        assert!(at(40.0).abs_diff(50_000 + 375_000) <= 1);
        assert_eq!(workload.staged_requests(), Some(425_000));
        // Half way up the ramp: 15 s at a mean of 8750/s, as the line.
        let half = at(25.0) as f64;
        assert!((half - (50_000.0 + 15.0 * 8750.0)).abs() <= 2.0, "{half}");
        // The rate within a tread is the line's at its middle.
        let early = (at(10.15) - at(10.1)) as f64 / 0.05;
        assert!(
            (early - 5000.0 - 15000.0 * 0.15 / 30.0).abs() < 40.0,
            "{early}"
        );
        // A stage that holds returns to a flat rate, down as well as up.
        let workload = parse_text(
            r#"{ "stages": [ { "duration": "1s", "rate": 100 },
                             { "duration": "2s", "rate": 400 },
                             { "duration": "1s", "rate": 10, "ramp": true } ] }"#,
        )
        .unwrap();
        let schedule = workload.stage_schedule().unwrap();
        let at = |secs: f64| schedule.scheduled_before(Duration::from_secs_f64(secs));
        assert_eq!(at(1.0), 100);
        assert_eq!(at(3.0), 900);
        assert!(at(4.0).abs_diff(900 + 205) <= 1);
        assert_eq!(
            workload.describe_stages().unwrap(),
            "stages 1s at 100/s, 2s at 400/s, 1s ramp to 10/s (open loop, 1105 requests \
             scheduled over 4s)"
        );
        // Given again (as a result holds it), the settled workload stands.
        let again = serde_json::to_string(&workload).unwrap();
        assert_eq!(parse_text(&again).unwrap(), workload);
    }

    #[test]
    fn stages_that_disagree_with_the_rest_are_refused_by_field() {
        for (text, field, words) in [
            (
                r#"{ "stages": [ { "duration": "1s", "rate": 10, "ramp": true } ] }"#,
                "stages[0].ramp",
                "no rate before it",
            ),
            (
                r#"{ "stages": [ { "duration": "10ms", "rate": 10 } ] }"#,
                "stages[0].duration",
                "100ms to 24h",
            ),
            (
                r#"{ "stages": [ { "duration": "1s", "rate": 10 }, { "duration": "1s", "rate": 0 } ] }"#,
                "stages[1].rate",
                "out of range",
            ),
            (
                r#"{ "rate": 5, "stages": [ { "duration": "1s", "rate": 10 } ] }"#,
                "rate",
                "leave rate out",
            ),
            (
                r#"{ "duration": "5s", "stages": [ { "duration": "1s", "rate": 10 } ] }"#,
                "duration",
                "the stages last 1s",
            ),
            (
                r#"{ "requests": 5, "stages": [ { "duration": "1s", "rate": 10 } ] }"#,
                "requests",
                "leave requests out",
            ),
            (
                r#"{ "stages": [ { "duration": "1s", "rate": 10 } ],
                     "events": [ { "at": "500ms", "action": "set_rate", "rate": 20 } ] }"#,
                "events[0]",
                "add a stage instead",
            ),
            (
                r#"{ "stages": [ { "duration": "1s", "rate": 10, "hold": true } ] }"#,
                "stages[0]",
                "unknown field",
            ),
        ] {
            let error = error_of(text).to_string();
            assert!(
                error.contains(field) && error.contains(words),
                "{text}: {error}"
            );
        }
    }
}
