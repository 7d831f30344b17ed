//! The replay: the scanned trace read again, record by record, as the key
//! numbers of its kept reads; and the feed that streams them to the
//! driver's workers from a reading thread, a few chunks ahead.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};

use super::read::{open, RecordReader};
use super::{judge, TraceError, TraceIndex, Verdict};

/// The key numbers of a scanned trace's kept reads, in order.
pub struct Replay {
    reader: RecordReader,
    index: Arc<TraceIndex>,
    /// Kept reads still to give.
    left: u64,
}

impl Replay {
    /// Reads `index`'s trace from its start.
    pub fn start(index: &Arc<TraceIndex>) -> Result<Replay, TraceError> {
        let input = open(&index.path)?;
        Ok(Replay {
            reader: RecordReader::new(
                input,
                index.info.format.clone(),
                index.path.display().to_string(),
            ),
            index: Arc::clone(index),
            left: index.info.reads,
        })
    }

    /// The next read's key number; `None` after the last the scan kept.
    pub fn next_key(&mut self) -> Result<Option<u32>, TraceError> {
        if self.left == 0 {
            return Ok(None);
        }
        while let Some(record) = self.reader.next_record()? {
            if judge(&record, self.index.below) != Verdict::Read {
                continue;
            }
            self.left -= 1;
            return match self.index.number_of(record.id) {
                Some(number) => Ok(Some(number)),
                None => Err(self.changed()),
            };
        }
        Err(self.changed())
    }

    /// The trace is not what was scanned.
    fn changed(&self) -> TraceError {
        TraceError {
            file: self.index.path.display().to_string(),
            place: Some(format!("record {}", self.reader.number())),
            field: None,
            message: "the file changed since it was scanned".to_owned(),
        }
    }

    /// The key numbers of the next `count` reads (fewer at the end).
    pub fn take(&mut self, count: u64) -> Result<Vec<u32>, TraceError> {
        let mut keys = Vec::with_capacity(count.min(1 << 24) as usize);
        while (keys.len() as u64) < count {
            match self.next_key()? {
                Some(key) => keys.push(key),
                None => break,
            }
        }
        Ok(keys)
    }
}

/// Key numbers per message from the reading thread.
const CHUNK: usize = 16 * 1024;

/// Chunks the reading thread may be ahead.
const AHEAD: usize = 4;

/// A trace's key numbers for the driver, read by a thread while it sends.
pub struct TraceFeed {
    cursor: Mutex<Cursor>,
}

impl std::fmt::Debug for TraceFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceFeed")
            .field("given", &self.given())
            .finish()
    }
}

/// Where the driver is in the feed.
pub struct Cursor {
    chunk: Vec<u32>,
    at: usize,
    receiver: Option<Receiver<Result<Vec<u32>, TraceError>>>,
    /// Key numbers given so far.
    given: u64,
    /// Why the feed ended early, if it did.
    error: Option<TraceError>,
}

impl TraceFeed {
    /// Starts reading `index`'s trace: of its kept reads, those numbered
    /// `first`, `first + step`, ... (a shard's; `(0, 1)` for every read).
    /// Its first chunk is read before this returns.
    pub fn start(
        index: &Arc<TraceIndex>,
        (first, step): (u64, u64),
    ) -> Result<Arc<TraceFeed>, TraceError> {
        let step = step.max(1);
        let mut replay = Replay::start(index)?;
        let (sender, receiver) = sync_channel(AHEAD);
        // The number of the next read, among all the shards'.
        let mut read = 0u64;
        std::thread::Builder::new()
            .name("trace-reader".to_owned())
            .spawn(move || loop {
                let mut chunk = replay.take(CHUNK as u64);
                let last = !matches!(&chunk, Ok(keys) if keys.len() == CHUNK);
                if let (true, Ok(keys)) = (step > 1, &mut chunk) {
                    let mut number = read;
                    read += keys.len() as u64;
                    keys.retain(|_| {
                        number += 1;
                        (number - 1) % step == first
                    });
                    // An empty chunk would end the feed.
                    if keys.is_empty() && !last {
                        continue;
                    }
                }
                // The driver stopped listening: stop reading.
                if sender.send(chunk).is_err() || last {
                    break;
                }
            })
            .map_err(|error| {
                TraceError::file(
                    &index.path,
                    format!("cannot start its reading thread: {error}"),
                )
            })?;
        Ok(Arc::new(TraceFeed {
            cursor: Mutex::new(Cursor {
                chunk: Vec::new(),
                at: 0,
                receiver: Some(receiver),
                given: 0,
                error: None,
            }),
        }))
    }

    /// The cursor, held while a request takes its number and its key so
    /// that request `n` gets read `n`.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Cursor> {
        self.cursor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Key numbers given so far.
    pub fn given(&self) -> u64 {
        self.lock().given
    }

    /// Why the feed ended before the reads the scan kept, if it did.
    pub fn error(&self) -> Option<TraceError> {
        self.lock().error.clone()
    }
}

impl Cursor {
    /// The next key number; `None` when the trace is over.
    #[inline]
    pub fn next_key(&mut self) -> Option<u32> {
        if self.at == self.chunk.len() && !self.refill() {
            return None;
        }
        let key = self.chunk[self.at];
        self.at += 1;
        self.given += 1;
        Some(key)
    }

    #[cold]
    fn refill(&mut self) -> bool {
        let Some(receiver) = &self.receiver else {
            return false;
        };
        match receiver.recv() {
            Ok(Ok(chunk)) if !chunk.is_empty() => {
                self.chunk = chunk;
                self.at = 0;
                true
            }
            Ok(Err(error)) => {
                log::error!("the trace ended early: {error}");
                self.error = Some(error);
                self.receiver = None;
                false
            }
            _ => {
                self.receiver = None;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::trace::scan::tests::{folder, request, settings};
    use crate::harness::trace::{scan, TraceSettings};

    #[test]
    fn a_feed_gives_the_replay_in_order_across_chunks() {
        let dir = folder("feed");
        let path = dir.join("keys.txt");
        // 40,000 lines over 1,000 keys, every 7th a blank line.
        let mut text = String::new();
        for line in 0..40_000u64 {
            text.push_str(&format!("k{}\n", (line * 7919) % 1000));
            if line % 7 == 0 {
                text.push('\n');
            }
        }
        std::fs::write(&path, &text).unwrap();
        let settings = settings(&path);
        let index = Arc::new(scan(request(&settings)).unwrap());
        assert_eq!((index.info.reads, index.info.keys), (40_000, 1000));
        let expected = Replay::start(&index).unwrap().take(u64::MAX).unwrap();
        assert_eq!(expected.len(), 40_000);
        assert_eq!(expected[..3], [0, 1, 2]);
        let feed = TraceFeed::start(&index, (0, 1)).unwrap();
        let mut got = Vec::new();
        while let Some(key) = feed.lock().next_key() {
            got.push(key);
        }
        assert_eq!(got, expected);
        assert_eq!(feed.given(), 40_000);
        assert_eq!(feed.error(), None);
        // Shard I of 3 gives reads I, I + 3, ...: together, each read once.
        for shard in 0..3u32 {
            let feed = TraceFeed::start(&index, (u64::from(shard), 3)).unwrap();
            let mut mine = Vec::new();
            while let Some(key) = feed.lock().next_key() {
                mine.push(key);
            }
            let theirs: Vec<u32> = expected
                .iter()
                .copied()
                .skip(shard as usize)
                .step_by(3)
                .collect();
            assert_eq!(mine, theirs, "shard {shard}");
        }
        // A limit ends the replay there, sampling keeps whole keys.
        let limited = TraceSettings {
            limit: Some(10),
            sample: Some(0.5),
            ..settings
        };
        let index = Arc::new(scan(request(&limited)).unwrap());
        let keys = Replay::start(&index).unwrap().take(u64::MAX).unwrap();
        assert_eq!(keys.len(), 10);
        std::fs::write(&path, "x\n").unwrap();
        let error = Replay::start(&index).unwrap().take(100).unwrap_err();
        assert!(
            error.to_string().contains("changed since it was scanned"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
