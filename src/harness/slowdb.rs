//! The slow backing store every node's group reads: keys `key0..keyN-1`
//! with values made from the key, a configured delay per load, a share of
//! keys that do not exist, and a count of every load per node and per key,
//! so duplicate loads of one key show.
//!
//! The source document's three scores (`Tom` 630, `Jack` 589, `Sam` 567) are
//! in it too, so its demo works on any cluster the harness starts.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::geecache::peers::BoxFuture;
use crate::geecache::{BoxError, ByteView, Getter};
use serde::{Deserialize, Serialize};

use crate::units::Span;

/// How long the slow store takes per load.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Latency {
    /// No delay at all.
    None,
    /// The same delay every time.
    Fixed {
        /// The delay, such as `"1ms"`.
        value: Span,
    },
    /// Delays drawn from an exponential distribution.
    Exponential {
        /// The mean delay.
        mean: Span,
    },
}

impl std::str::FromStr for Latency {
    type Err = String;

    /// `none` or `0`; a duration such as `200us` or `1ms` (fixed); `exp:1ms`
    /// (exponential with that mean).
    fn from_str(text: &str) -> Result<Latency, String> {
        let text = text.trim();
        if text == "none" || text == "0" {
            return Ok(Latency::None);
        }
        let span = |text: &str| {
            text.parse::<Span>().map_err(|error| {
                format!("{error}; a latency is none, a duration (1ms) or exp:DURATION")
            })
        };
        match text.strip_prefix("exp:") {
            Some(mean) => Ok(Latency::Exponential { mean: span(mean)? }),
            None => Ok(Latency::Fixed { value: span(text)? }),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::None => f.write_str("none"),
            Latency::Fixed { value } => write!(f, "{value}"),
            Latency::Exponential { mean } => write!(f, "exp:{mean}"),
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Fixed {
            value: Span(Duration::from_millis(1)),
        }
    }
}

/// The slow store behind every node.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowDbSettings {
    /// The delay of each load.
    #[serde(default)]
    pub latency: Latency,
    /// The share of keys that do not exist (from 0 to 1): loading one fails
    /// and the API answers 500.
    #[serde(default)]
    pub missing_share: f64,
}

impl Default for SlowDbSettings {
    fn default() -> Self {
        SlowDbSettings {
            latency: Latency::default(),
            missing_share: 0.0,
        }
    }
}

/// The source document's scores.
pub(crate) const DEMO_SCORES: [(&str, &str); 3] = [("Tom", "630"), ("Jack", "589"), ("Sam", "567")];

/// The characters values are made of.
const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// What every key's name starts with: `key0`, `key1`, ...
pub const KEY_PREFIX: &str = "key";

/// The path and query of an API request, up to the key's number: `path`
/// (`/api`) with `query`'s parameters first, then `key=key`, so that
/// `/api?key=key` followed by `7` asks for `key7`.
pub fn api_key_prefix(path: &str, query: Option<&str>) -> String {
    match query {
        Some(query) if !query.is_empty() => format!("{path}?{query}&key={KEY_PREFIX}"),
        _ => format!("{path}?key={KEY_PREFIX}"),
    }
}

/// The name of key number `index`.
pub fn key_name(index: u64) -> String {
    let mut name = String::with_capacity(24);
    write_key_name(&mut name, index);
    name
}

/// The name of key number `index`, written over `name` (a loop over many
/// keys reuses one buffer): the one place the `key{n}` spelling is made.
pub fn write_key_name(name: &mut String, index: u64) {
    use std::fmt::Write as _;
    name.clear();
    let _ = write!(name, "{KEY_PREFIX}{index}");
}

/// The index of a key name in a space of `keys` keys.
pub(crate) fn key_index(name: &str, keys: u64) -> Option<u64> {
    let digits = name.strip_prefix(KEY_PREFIX)?;
    // `key007` is not `key7`: one spelling per key.
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    let index: u64 = digits.parse().ok()?;
    (index < keys).then_some(index)
}

/// SplitMix64's finalizer: a fast, well-spread hash of a number.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Whether key `index` is one of the keys that do not exist, for a missing
/// share of `share`. Depends on nothing else, so a driver can tell an
/// expected miss from a failure without asking the store.
pub fn is_missing(index: u64, share: f64) -> bool {
    share > 0.0 && (mix64(index ^ 0x6d69_7373_696e_6721) as f64 / u64::MAX as f64) < share
}

/// Whether the load of key `index` that follows `earlier_loads` loads of it
/// fails in a brownout that fails a share `share` of loads. Depends on
/// nothing else, so the model fails the same loads as the store.
pub(crate) fn fails_in_brownout(index: u64, earlier_loads: u32, share: f64) -> bool {
    share > 0.0
        && (mix64(index ^ mix64(u64::from(earlier_loads) ^ 0x6272_6f77_6e6f_7574)) as f64
            / u64::MAX as f64)
            < share
}

/// The value of key `index`: `size` characters that depend on the key.
pub(crate) fn value_of(index: u64, size: usize) -> Vec<u8> {
    let start = mix64(index) as usize;
    match windows(start, size) {
        Some(windows) => {
            let mut value = Vec::with_capacity(size);
            for window in windows {
                value.extend_from_slice(window);
            }
            value
        }
        None => (0..size).map(|offset| letter(start, offset)).collect(),
    }
}

/// Whether `body` is the value of key `index`, without building it.
pub(crate) fn is_value_of(index: u64, body: &[u8]) -> bool {
    let start = mix64(index) as usize;
    match windows(start, body.len()) {
        Some(windows) => body
            .chunks(STRIDE)
            .zip(windows)
            .all(|(chunk, window)| chunk == window),
        None => body
            .iter()
            .enumerate()
            .all(|(offset, &byte)| byte == letter(start, offset)),
    }
}

/// The letter at `offset` of a value that starts at `start`.
fn letter(start: usize, offset: usize) -> u8 {
    ALPHABET[start.wrapping_add(offset) % ALPHABET.len()]
}

/// A value's letters in pieces of at most [`STRIDE`], each a slice of
/// [`CYCLE`]: letter `offset` is `ALPHABET[(start + offset) % 62]`, and a
/// stride is whole alphabets, so every piece starts at the same place in
/// the cycle. `None` when `start + length` would wrap, where the letters
/// follow the wrapped sum (never in practice: one start in 2^57).
fn windows(start: usize, length: usize) -> Option<impl Iterator<Item = &'static [u8]>> {
    start.checked_add(length)?;
    let first = start % ALPHABET.len();
    Some(
        (0..length)
            .step_by(STRIDE)
            .map(move |at| &CYCLE[first..first + STRIDE.min(length - at)]),
    )
}

/// Whole alphabets in a piece of a value compared or built at once.
const STRIDE: usize = ALPHABET.len() * 64;

/// The alphabet over and over, a stride and one more alphabet long: a
/// piece of any value is one slice of it.
static CYCLE: [u8; STRIDE + ALPHABET.len()] = {
    let mut cycle = [0u8; STRIDE + ALPHABET.len()];
    let mut at = 0;
    while at < cycle.len() {
        cycle[at] = ALPHABET[at % ALPHABET.len()];
        at += 1;
    }
    cycle
};

/// Each key's value size: one for all (a workload's `value_size`), or a
/// trace's, by key number.
#[derive(Clone, Debug, PartialEq)]
pub enum ValueSizes {
    /// Every value has this many bytes.
    Fixed(usize),
    /// Key `n`'s value has `sizes[n]` bytes.
    PerKey(Arc<[u32]>),
}

impl ValueSizes {
    /// The size of key `index`'s value.
    #[inline]
    pub fn of(&self, index: u64) -> usize {
        match self {
            ValueSizes::Fixed(size) => *size,
            ValueSizes::PerKey(sizes) => sizes.get(index as usize).map_or(0, |&size| size as usize),
        }
    }
}

/// The store, shared by every node of a cluster; each node reads it through
/// its own [`SlowDbGetter`], so loads are counted per node.
#[derive(Clone)]
pub struct SlowDb {
    inner: Arc<Inner>,
}

struct Inner {
    keys: u64,
    values: ValueSizes,
    settings: SlowDbSettings,
    /// The delay of a load now: the settings', until a brownout changes it.
    latency: RwLock<Latency>,
    /// The share of loads that fail now (a brownout), as `f64` bits.
    error_share: AtomicU64,
    /// Loads that failed that way.
    brownout_errors: AtomicU64,
    /// Loads of each key of the key space.
    per_key: Box<[AtomicU32]>,
    /// Loads by each node.
    per_node: Box<[AtomicU64]>,
    /// Loads of keys that do not exist (missing or outside the key space).
    missing: AtomicU64,
    /// Nanoseconds spent waiting in loads, for the mean latency actually
    /// served (the timer rounds short delays up).
    waited_nanos: AtomicU64,
    /// Draws for exponential delays.
    draws: AtomicU64,
}

/// The store's counters at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlowDbSnapshot {
    /// Loads of each key of the key space.
    pub per_key: Vec<u32>,
    /// Loads by each node.
    pub per_node: Vec<u64>,
    /// Loads of keys that do not exist.
    pub missing: u64,
    /// Nanoseconds spent in loads.
    pub waited_nanos: u64,
}

/// What the store did between two snapshots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlowDbFigures {
    /// Every load, of keys that exist or not.
    pub loads: u64,
    /// Loads by each node.
    pub per_node: Vec<u64>,
    /// Distinct keys of the key space loaded at least once.
    pub keys_loaded: u64,
    /// Loads of key-space keys beyond the first of each key.
    pub duplicate_loads: u64,
    /// Loads of key-space keys never loaded before (since the store
    /// started, warm-up included): the compulsory ones no cache can save.
    pub first_loads: u64,
    /// Loads of key-space keys loaded before: a cache's capacity, a
    /// fallback's, a stampede's.
    pub repeat_loads: u64,
    /// The most loads of any one key.
    pub max_loads_per_key: u64,
    /// Loads of keys that do not exist.
    pub missing_loads: u64,
    /// The mean time a load took, in microseconds.
    pub mean_latency_us: f64,
}

impl SlowDb {
    /// A store of `keys` keys with values of `value_size` bytes, read by
    /// `nodes` nodes.
    pub fn new(keys: u64, value_size: usize, settings: SlowDbSettings, nodes: usize) -> SlowDb {
        SlowDb::with_values(keys, ValueSizes::Fixed(value_size), settings, nodes)
    }

    /// A store of `keys` keys with values of `values`' sizes, read by
    /// `nodes` nodes.
    pub fn with_values(
        keys: u64,
        values: ValueSizes,
        settings: SlowDbSettings,
        nodes: usize,
    ) -> SlowDb {
        SlowDb {
            inner: Arc::new(Inner {
                keys,
                values,
                settings,
                latency: RwLock::new(settings.latency),
                error_share: AtomicU64::new(0f64.to_bits()),
                brownout_errors: AtomicU64::new(0),
                per_key: (0..keys).map(|_| AtomicU32::new(0)).collect(),
                per_node: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
                missing: AtomicU64::new(0),
                waited_nanos: AtomicU64::new(0),
                draws: AtomicU64::new(0),
            }),
        }
    }

    /// The getter node `node` reads the store through.
    pub fn getter(&self, node: usize) -> SlowDbGetter {
        SlowDbGetter {
            db: self.clone(),
            node,
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> SlowDbSnapshot {
        let inner = &self.inner;
        SlowDbSnapshot {
            per_key: inner
                .per_key
                .iter()
                .map(|count| count.load(Ordering::Relaxed))
                .collect(),
            per_node: inner
                .per_node
                .iter()
                .map(|count| count.load(Ordering::Relaxed))
                .collect(),
            missing: inner.missing.load(Ordering::Relaxed),
            waited_nanos: inner.waited_nanos.load(Ordering::Relaxed),
        }
    }

    /// Loads by each node so far: the cheap part of a snapshot.
    pub fn loads_per_node(&self) -> Vec<u64> {
        self.inner
            .per_node
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect()
    }

    /// From now on, loads take `latency` (unchanged when `None`) and a
    /// share `error_share` of them fail (unchanged when `None`): a brownout,
    /// or its end.
    pub fn brownout(&self, latency: Option<Latency>, error_share: Option<f64>) {
        if let Some(latency) = latency {
            *self
                .inner
                .latency
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = latency;
        }
        if let Some(share) = error_share {
            self.inner
                .error_share
                .store(share.clamp(0.0, 1.0).to_bits(), Ordering::Relaxed);
        }
    }

    /// Loads that failed because of a brownout so far.
    pub fn brownout_errors(&self) -> u64 {
        self.inner.brownout_errors.load(Ordering::Relaxed)
    }

    /// The delay of one load.
    fn delay(&self) -> Duration {
        let latency = *self
            .inner
            .latency
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match latency {
            Latency::None => Duration::ZERO,
            Latency::Fixed { value } => value.0,
            Latency::Exponential { mean } => {
                let draw = mix64(self.inner.draws.fetch_add(1, Ordering::Relaxed));
                // Uniform in (0, 1]: never ln(0).
                let uniform = ((draw >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
                mean.0.mul_f64(-uniform.ln())
            }
        }
    }

    async fn load(&self, node: usize, key: &str) -> Result<ByteView, BoxError> {
        let inner = &self.inner;
        let started = Instant::now();
        let delay = self.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let waited = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        inner.waited_nanos.fetch_add(waited, Ordering::Relaxed);
        if let Some(count) = inner.per_node.get(node) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        log::debug!("[SlowDB] search key {key}");
        if let Some(index) = key_index(key, inner.keys) {
            let earlier_loads = inner.per_key[index as usize].fetch_add(1, Ordering::Relaxed);
            let error_share = f64::from_bits(inner.error_share.load(Ordering::Relaxed));
            if fails_in_brownout(index, earlier_loads, error_share) {
                inner.brownout_errors.fetch_add(1, Ordering::Relaxed);
                return Err(format!("{key}: the store failed (brownout)").into());
            }
            if !is_missing(index, inner.settings.missing_share) {
                return Ok(ByteView::from(value_of(index, inner.values.of(index))));
            }
        } else if let Some((_, score)) = DEMO_SCORES.iter().find(|(name, _)| *name == key) {
            return Ok(ByteView::from(*score));
        }
        inner.missing.fetch_add(1, Ordering::Relaxed);
        Err(format!("{key} not exist").into())
    }
}

impl SlowDbSnapshot {
    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &SlowDbSnapshot) -> SlowDbFigures {
        let mut figures = SlowDbFigures {
            per_node: self
                .per_node
                .iter()
                .enumerate()
                .map(|(node, &now)| now - earlier.per_node.get(node).copied().unwrap_or(0))
                .collect(),
            missing_loads: self.missing - earlier.missing,
            ..SlowDbFigures::default()
        };
        let mut key_loads = 0;
        for (index, &now) in self.per_key.iter().enumerate() {
            let before = earlier.per_key.get(index).copied().unwrap_or(0);
            let loads = u64::from(now - before);
            if loads > 0 {
                key_loads += loads;
                figures.keys_loaded += 1;
                figures.first_loads += u64::from(before == 0);
                figures.max_loads_per_key = figures.max_loads_per_key.max(loads);
            }
        }
        figures.duplicate_loads = key_loads - figures.keys_loaded;
        figures.repeat_loads = key_loads - figures.first_loads;
        figures.loads = figures.per_node.iter().sum();
        if figures.loads > 0 {
            let waited = (self.waited_nanos - earlier.waited_nanos) as f64;
            figures.mean_latency_us = waited / figures.loads as f64 / 1000.0;
        }
        figures
    }
}

/// One node's handle on the store.
#[derive(Clone)]
pub struct SlowDbGetter {
    db: SlowDb,
    node: usize,
}

impl Getter for SlowDbGetter {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteView, BoxError>> {
        Box::pin(self.db.load(self.node, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Span;

    fn settings(latency: Latency, missing_share: f64) -> SlowDbSettings {
        SlowDbSettings {
            latency,
            missing_share,
        }
    }

    #[test]
    fn key_names_have_one_spelling() {
        assert_eq!(key_index("key0", 10), Some(0));
        assert_eq!(key_index("key9", 10), Some(9));
        assert_eq!(key_index("key10", 10), None);
        assert_eq!(key_index("key07", 10), None);
        assert_eq!(key_index("key", 10), None);
        assert_eq!(key_index("key-1", 10), None);
        assert_eq!(key_index("Tom", 10), None);
        assert_eq!(key_index(&key_name(12_345), 100_000), Some(12_345));
    }

    #[test]
    fn values_built_and_checked_by_pieces_are_the_letters_one_by_one() {
        // Starts near the end of the range wrap: letter by letter.
        for start in [0, 1, 61, 62, 1000, usize::MAX - 10, usize::MAX] {
            for length in [
                0,
                1,
                61,
                62,
                63,
                STRIDE - 1,
                STRIDE,
                STRIDE + 1,
                3 * STRIDE + 7,
            ] {
                let expected: Vec<u8> = (0..length).map(|offset| letter(start, offset)).collect();
                let built: Vec<u8> = match windows(start, length) {
                    Some(windows) => windows.flat_map(|window| window.iter().copied()).collect(),
                    None => {
                        assert!(start.checked_add(length).is_none());
                        expected.clone()
                    }
                };
                assert_eq!(built, expected, "start {start} length {length}");
            }
        }
        for index in [0, 7, 12_345, u64::MAX] {
            for size in [0, 1, 100, STRIDE + 5, 10_000] {
                let start = mix64(index) as usize;
                let expected: Vec<u8> = (0..size).map(|offset| letter(start, offset)).collect();
                let value = value_of(index, size);
                assert_eq!(value, expected);
                assert!(is_value_of(index, &value));
                let mut wrong = value.clone();
                if let Some(last) = wrong.last_mut() {
                    *last = b'-';
                    assert!(!is_value_of(index, &wrong), "{index} {size}");
                }
            }
        }
    }

    #[test]
    fn values_are_sized_deterministic_and_differ_between_keys() {
        assert_eq!(value_of(7, 100).len(), 100);
        assert_eq!(value_of(7, 100), value_of(7, 100));
        assert_ne!(value_of(7, 100), value_of(8, 100));
        assert!(is_value_of(7, &value_of(7, 100)));
        assert!(!is_value_of(8, &value_of(7, 100)));
        assert!(value_of(3, 0).is_empty());
    }

    #[test]
    fn the_missing_share_is_close_to_what_was_asked() {
        let missing = (0..100_000).filter(|&index| is_missing(index, 0.1)).count();
        assert!((9_000..11_000).contains(&missing), "{missing}");
        assert!(!(0..1000).any(|index| is_missing(index, 0.0)));
        assert!((0..1000).all(|index| is_missing(index, 1.0)));
    }

    #[tokio::test]
    async fn loads_are_counted_per_node_and_per_key() {
        let db = SlowDb::new(10, 8, settings(Latency::None, 0.0), 2);
        let before = db.snapshot();
        let first = db.getter(0);
        let second = db.getter(1);
        assert_eq!(first.get("key3").await.unwrap().to_vec(), value_of(3, 8));
        first.get("key3").await.unwrap();
        second.get("key4").await.unwrap();
        assert_eq!(second.get("Tom").await.unwrap().to_vec(), b"630");
        let error = second.get("key10").await.unwrap_err();
        assert_eq!(error.to_string(), "key10 not exist");
        let figures = db.snapshot().since(&before);
        assert_eq!(figures.loads, 5);
        assert_eq!(figures.per_node, [2, 3]);
        assert_eq!(figures.keys_loaded, 2);
        assert_eq!(figures.duplicate_loads, 1);
        assert_eq!(figures.max_loads_per_key, 2);
        assert_eq!(figures.missing_loads, 1);
        // key3 and key4 were new: two first loads, one repeat.
        assert_eq!((figures.first_loads, figures.repeat_loads), (2, 1));
        // Later, key3 again and key5 for the first time: one of each,
        // though each is the first of its key in this window.
        let middle = db.snapshot();
        first.get("key3").await.unwrap();
        first.get("key5").await.unwrap();
        let later = db.snapshot().since(&middle);
        assert_eq!((later.duplicate_loads, later.keys_loaded), (0, 2));
        assert_eq!((later.first_loads, later.repeat_loads), (1, 1));
    }

    #[tokio::test]
    async fn missing_keys_fail_and_are_counted() {
        let db = SlowDb::new(1000, 8, settings(Latency::None, 0.5), 1);
        let getter = db.getter(0);
        let missing = (0..1000).find(|&index| is_missing(index, 0.5)).unwrap();
        let present = (0..1000).find(|&index| !is_missing(index, 0.5)).unwrap();
        assert!(getter.get(&key_name(missing)).await.is_err());
        assert!(getter.get(&key_name(present)).await.is_ok());
        let figures = db.snapshot().since(&SlowDbSnapshot::default());
        assert_eq!(
            (figures.loads, figures.missing_loads, figures.keys_loaded),
            (2, 1, 2)
        );
    }

    #[tokio::test]
    async fn a_brownout_fails_its_share_of_loads_and_ends() {
        let db = SlowDb::new(2000, 8, settings(Latency::None, 0.0), 1);
        let getter = db.getter(0);
        db.brownout(None, Some(0.25));
        let mut failed = 0;
        for index in 0..2000u64 {
            let outcome = getter.get(&key_name(index)).await;
            // Exactly the loads the rule names fail, and only those.
            assert_eq!(
                outcome.is_err(),
                fails_in_brownout(index, 0, 0.25),
                "key{index}"
            );
            if let Err(error) = outcome {
                assert!(error.to_string().contains("brownout"));
                failed += 1;
            }
        }
        assert_eq!(db.brownout_errors(), failed);
        assert!((400..600).contains(&failed), "{failed} of 2000");
        // A second load of a key draws again.
        let again = (0..2000u64)
            .filter(|&index| fails_in_brownout(index, 1, 0.25) != fails_in_brownout(index, 0, 0.25))
            .count();
        assert!(again > 0);
        db.brownout(
            Some(Latency::Fixed {
                value: Span(Duration::from_millis(30)),
            }),
            Some(0.0),
        );
        let started = Instant::now();
        assert!(getter.get("key1").await.is_ok());
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(db.brownout_errors(), failed);
    }

    #[tokio::test]
    async fn fixed_latency_delays_each_load() {
        let delay = Duration::from_millis(20);
        let db = SlowDb::new(
            10,
            8,
            settings(Latency::Fixed { value: Span(delay) }, 0.0),
            1,
        );
        let started = Instant::now();
        db.getter(0).get("key1").await.unwrap();
        assert!(started.elapsed() >= delay);
        let figures = db.snapshot().since(&SlowDbSnapshot::default());
        assert!(figures.mean_latency_us >= 20_000.0, "{figures:?}");
    }

    #[test]
    fn exponential_delays_have_the_asked_mean() {
        let mean = Duration::from_millis(2);
        let db = SlowDb::new(
            1,
            1,
            settings(Latency::Exponential { mean: Span(mean) }, 0.0),
            1,
        );
        let draws = 20_000;
        let total: Duration = (0..draws).map(|_| db.delay()).sum();
        let measured = total.as_secs_f64() / draws as f64;
        assert!((0.0019..0.0021).contains(&measured), "{measured}");
    }
}
