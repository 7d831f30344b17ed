//! Answers broken on purpose (fault injection): a node told to break its
//! answers resets the connection in the middle of one, cuts its body short,
//! announces a wrong `Content-Length`, or stops after the head, so that a
//! node asking it, and the driver, can be seen to cope.
//!
//! The node decides per answer ([`BreakSwitch::take`]) and marks the
//! answer with the [`Breakage`]; the server, which writes the bytes, does
//! the breaking (`mangle`). Only peer and API answers break: `/_stats`,
//! `/metrics` and `/_ready` stay whole, so a broken node can still be read.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

/// How an answer is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakage {
    /// The head and half the body are sent, then the connection is reset.
    Reset,
    /// The head and half the body are sent, then the connection is closed:
    /// a body shorter than its `Content-Length`.
    Truncate,
    /// The whole body is sent under a `Content-Length` of half of it (one
    /// byte short for an empty or one-byte body, which gets one extra).
    WrongLength,
    /// The head is sent, then nothing: the connection stays open and the
    /// body never comes.
    Stall,
}

impl Breakage {
    /// Every breakage, in the order figures list them.
    pub const ALL: [Breakage; 4] = [
        Breakage::Reset,
        Breakage::Truncate,
        Breakage::WrongLength,
        Breakage::Stall,
    ];

    /// The name a workload gives it: `reset`, `truncate`, `wrong_length`,
    /// `stall`.
    pub fn name(self) -> &'static str {
        match self {
            Breakage::Reset => "reset",
            Breakage::Truncate => "truncate",
            Breakage::WrongLength => "wrong_length",
            Breakage::Stall => "stall",
        }
    }

    /// The breakage a nonzero code stands for; 0 and unknown codes, none.
    pub(crate) fn from_code(code: u8) -> Option<Breakage> {
        Breakage::ALL
            .get(usize::from(code).checked_sub(1)?)
            .copied()
    }

    /// Its code: 1 and up, 0 being "none".
    pub(crate) fn code(self) -> u8 {
        self as u8 + 1
    }
}

impl std::fmt::Display for Breakage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A share of answers, in parts per million.
const MILLION: u64 = 1_000_000;

/// Whether, and how, a node breaks its answers, and how many it broke.
#[derive(Debug, Default)]
pub struct BreakSwitch {
    /// The breakage's code; 0 while answers are whole.
    mode: AtomicU8,
    /// The share of answers broken while on, in parts per million.
    share: AtomicU32,
    /// Answers seen while on, to pick the share evenly.
    seen: AtomicU64,
    /// Answers broken, by breakage, in [`Breakage::ALL`]'s order.
    sent: [AtomicU64; 4],
}

/// How many answers a node broke, by breakage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenSent {
    /// Reset midway.
    pub reset: u64,
    /// Cut short.
    pub truncate: u64,
    /// Sent under a wrong `Content-Length`.
    pub wrong_length: u64,
    /// Stopped after the head.
    pub stall: u64,
}

impl BrokenSent {
    /// Every broken answer.
    pub fn total(&self) -> u64 {
        self.reset + self.truncate + self.wrong_length + self.stall
    }

    /// Whether none was broken.
    pub fn is_zero(&self) -> bool {
        self.total() == 0
    }

    /// What was broken since `earlier`, a reading before this one.
    pub fn since(&self, earlier: &BrokenSent) -> BrokenSent {
        BrokenSent {
            reset: self.reset.saturating_sub(earlier.reset),
            truncate: self.truncate.saturating_sub(earlier.truncate),
            wrong_length: self.wrong_length.saturating_sub(earlier.wrong_length),
            stall: self.stall.saturating_sub(earlier.stall),
        }
    }

    /// Each breakage with its count.
    pub fn named(&self) -> [(Breakage, u64); 4] {
        [
            (Breakage::Reset, self.reset),
            (Breakage::Truncate, self.truncate),
            (Breakage::WrongLength, self.wrong_length),
            (Breakage::Stall, self.stall),
        ]
    }
}

impl BreakSwitch {
    /// Breaks `share` (0 to 1) of the answers from now on as `breakage`
    /// says, or none with `None`.
    pub fn set(&self, breakage: Option<Breakage>, share: f64) {
        let share = (share.clamp(0.0, 1.0) * MILLION as f64).round() as u32;
        self.share.store(share, Ordering::Relaxed);
        self.seen.store(0, Ordering::Relaxed);
        self.mode
            .store(breakage.map_or(0, Breakage::code), Ordering::Relaxed);
    }

    /// The breakage in force, if any.
    pub fn current(&self) -> Option<Breakage> {
        Breakage::from_code(self.mode.load(Ordering::Relaxed))
    }

    /// Whether to break the answer about to be sent, and how: while on,
    /// the n-th answer breaks when `n * share` crosses a whole number, so
    /// that a share of 0.25 breaks every fourth. Counts what it breaks.
    pub fn take(&self) -> Option<Breakage> {
        let breakage = self.current()?;
        self.take_slow(breakage)
    }

    #[cold]
    fn take_slow(&self, breakage: Breakage) -> Option<Breakage> {
        let share = u64::from(self.share.load(Ordering::Relaxed));
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        if (n + 1) * share / MILLION == n * share / MILLION {
            return None;
        }
        self.sent[usize::from(breakage.code() - 1)].fetch_add(1, Ordering::Relaxed);
        Some(breakage)
    }

    /// The answers broken so far, by breakage.
    pub fn sent(&self) -> BrokenSent {
        let sent = |breakage: Breakage| {
            self.sent[usize::from(breakage.code() - 1)].load(Ordering::Relaxed)
        };
        BrokenSent {
            reset: sent(Breakage::Reset),
            truncate: sent(Breakage::Truncate),
            wrong_length: sent(Breakage::WrongLength),
            stall: sent(Breakage::Stall),
        }
    }
}

/// What to do with the connection once a broken answer's bytes are out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Then {
    /// Reset it.
    Reset,
    /// Close it.
    Close,
    /// Keep it, as though the whole answer had been written.
    Keep,
}

/// The bytes to send instead of `answer` (one whole answer, head and body,
/// as the server would write it), and what to do after.
pub(crate) fn mangle(breakage: Breakage, answer: &[u8]) -> (Vec<u8>, Then) {
    let head_length = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(answer.len(), |at| at + 4);
    let (head, body) = answer.split_at(head_length);
    let half = || [head, &body[..body.len() / 2]].concat();
    match breakage {
        Breakage::Reset => (half(), Then::Reset),
        Breakage::Truncate => (half(), Then::Close),
        Breakage::Stall => (head.to_vec(), Then::Keep),
        Breakage::WrongLength => {
            let mut body = body.to_vec();
            if body.len() < 2 {
                body.push(b'!');
            }
            let announced = body.len() / 2;
            let mut out = Vec::with_capacity(answer.len() + 24);
            let mut said = false;
            for line in head.split_inclusive(|&byte| byte == b'\n') {
                let name_ends = line.iter().position(|&byte| byte == b':');
                let is_length =
                    name_ends.is_some_and(|at| line[..at].eq_ignore_ascii_case(b"content-length"));
                if is_length {
                    out.extend_from_slice(format!("content-length: {announced}\r\n").as_bytes());
                    said = true;
                } else if line == b"\r\n" && !said {
                    out.extend_from_slice(
                        format!("content-length: {announced}\r\n\r\n").as_bytes(),
                    );
                    said = true;
                } else {
                    out.extend_from_slice(line);
                }
            }
            out.extend_from_slice(&body);
            (out, Then::Keep)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\ncontent-type: x\r\n\r\n0123456789";

    #[test]
    fn each_breakage_sends_what_it_says() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\ncontent-type: x\r\n\r\n".to_vec();
        let (bytes, then) = mangle(Breakage::Reset, ANSWER);
        assert_eq!((bytes, then), ([&head[..], b"01234"].concat(), Then::Reset));
        let (bytes, then) = mangle(Breakage::Truncate, ANSWER);
        assert_eq!((bytes, then), ([&head[..], b"01234"].concat(), Then::Close));
        let (bytes, then) = mangle(Breakage::Stall, ANSWER);
        assert_eq!((bytes, then), (head, Then::Keep));
        let (bytes, then) = mangle(Breakage::WrongLength, ANSWER);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: x\r\n\r\n0123456789"
        );
        assert_eq!(then, Then::Keep);
    }

    #[test]
    fn a_wrong_length_is_wrong_for_empty_bodies_and_answers_without_one() {
        let (bytes, _) = mangle(
            Breakage::WrongLength,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(bytes, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n!");
        let (bytes, _) = mangle(Breakage::WrongLength, b"HTTP/1.1 200 OK\r\n\r\nabcd");
        assert_eq!(bytes, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nabcd");
    }

    #[test]
    fn the_switch_breaks_its_share_evenly_and_counts_them() {
        let switch = BreakSwitch::default();
        assert_eq!(switch.take(), None);
        switch.set(Some(Breakage::Stall), 0.25);
        let broken: Vec<bool> = (0..8).map(|_| switch.take().is_some()).collect();
        assert_eq!(
            broken,
            [false, false, false, true, false, false, false, true]
        );
        switch.set(Some(Breakage::Reset), 1.0);
        assert!((0..5).all(|_| switch.take() == Some(Breakage::Reset)));
        switch.set(None, 1.0);
        assert_eq!(switch.take(), None);
        let sent = switch.sent();
        assert_eq!((sent.stall, sent.reset, sent.total()), (2, 5, 7));
    }

    #[test]
    fn codes_round_trip() {
        for breakage in Breakage::ALL {
            assert_eq!(Breakage::from_code(breakage.code()), Some(breakage));
        }
        assert_eq!(Breakage::from_code(0), None);
        assert_eq!(Breakage::from_code(9), None);
    }
}
