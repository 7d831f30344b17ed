//! A group: a named cache namespace with a getter (the slow store), a main
//! cache, and peers to ask for keys this node does not own.
//!
//! The load path follows GeeCache and groupcache: a hit returns at once; a
//! miss goes through singleflight (when on) to the owning peer, or to the
//! getter when this node owns the key. Unlike the source document, a failed
//! peer fetch is logged, counted and followed by a local load instead of
//! answering with an empty value. A peer that answers 500 has asked the
//! store itself and been refused; its error is returned as it is, so that a
//! missing key costs the store one search, not two.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::byteview::ByteView;
use super::cache::Cache;
use super::peers::{BoxFuture, PeerError, PeerPicker};
use super::singleflight::Flight;
use super::source::Source;
use super::stats::{bump, CacheStats, GroupSettings, GroupStats, GroupStatsSnapshot};

/// The error type getters return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Loads a value from the backing store when no cache has it.
pub trait Getter: Send + Sync + 'static {
    /// Loads `key`; the error's text is what clients are shown.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteView, BoxError>>;
}

/// Makes a getter of an async closure that takes the key.
pub struct GetterFn<F>(pub F);

impl<F, Fut> Getter for GetterFn<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ByteView, BoxError>> + Send + 'static,
{
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteView, BoxError>> {
        Box::pin((self.0)(key.to_owned()))
    }
}

/// Why a get failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// The key was empty.
    #[error("key is required")]
    KeyRequired,
    /// The getter failed; the text is the getter's own.
    #[error("{0}")]
    Load(Arc<str>),
}

/// `register_peers` was called on a group that already has peers.
#[derive(Debug, thiserror::Error)]
#[error("group {0:?} already has peers registered")]
pub struct PeersAlreadyRegistered(pub String);

/// How a group caches and loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupOptions {
    /// The main cache's bound in bytes; 0 means unbounded, as in GeeCache.
    pub cache_bytes: usize,
    /// Merge concurrent loads of one key into one.
    pub singleflight: bool,
    /// Keep some values fetched from peers in a hot cache of
    /// `cache_bytes / 8`, one in ten of them, as groupcache does.
    pub hot_cache: bool,
}

impl Default for GroupOptions {
    fn default() -> Self {
        GroupOptions {
            cache_bytes: 2 << 10,
            singleflight: true,
            hot_cache: false,
        }
    }
}

impl From<GroupOptions> for GroupSettings {
    fn from(options: GroupOptions) -> GroupSettings {
        GroupSettings {
            cache_bytes: options.cache_bytes as u64,
            singleflight: options.singleflight,
            hot_cache: options.hot_cache,
        }
    }
}

/// Where a get may load a value from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// From the owning peer, or locally when this node owns the key.
    AnyOwner,
    /// Only locally: for requests that came from a peer, so that nodes whose
    /// rings disagree cannot bounce a key between them.
    LocalOnly,
}

type LoadResult = Result<ByteView, GroupError>;

/// A cache namespace. Share it as `Arc<Group>`.
pub struct Group {
    name: String,
    getter: Box<dyn Getter>,
    options: GroupOptions,
    main_cache: Cache,
    hot_cache: Option<Cache>,
    peers: OnceLock<Arc<dyn PeerPicker>>,
    flight: Option<Flight<(LoadResult, Source)>>,
    stats: GroupStats,
    /// Drives the deterministic one-in-ten choice for the hot cache.
    hot_draws: AtomicU64,
    /// When the group was made: the clock of the peer-failure warnings.
    created: Instant,
    /// The second (since `created`, from 1) of the last warning of a
    /// failed peer fetch.
    peer_failure_logged: AtomicU64,
    /// Failed peer fetches not warned of since.
    peer_failures_unlogged: AtomicU64,
}

impl Group {
    /// A group named `name` that loads misses through `getter`.
    pub fn new(name: impl Into<String>, options: GroupOptions, getter: impl Getter) -> Self {
        Group {
            name: name.into(),
            getter: Box::new(getter),
            options,
            main_cache: Cache::new(options.cache_bytes),
            hot_cache: options
                .hot_cache
                .then(|| Cache::new((options.cache_bytes / 8).max(1))),
            peers: OnceLock::new(),
            flight: options.singleflight.then(Flight::new),
            stats: GroupStats::default(),
            hot_draws: AtomicU64::new(0),
            created: Instant::now(),
            peer_failure_logged: AtomicU64::new(0),
            peer_failures_unlogged: AtomicU64::new(0),
        }
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The options the group was made with.
    pub fn options(&self) -> GroupOptions {
        self.options
    }

    /// Gives the group its peers; allowed once, as in Go.
    pub fn register_peers(&self, peers: Arc<dyn PeerPicker>) -> Result<(), PeersAlreadyRegistered> {
        self.peers
            .set(peers)
            .map_err(|_| PeersAlreadyRegistered(self.name.clone()))
    }

    /// Gets a value: from a cache, from the owning peer, or from the getter.
    pub async fn get(&self, key: &str) -> LoadResult {
        self.get_via(key, Route::AnyOwner).await
    }

    /// Gets a value, loading it only as `route` allows.
    pub async fn get_via(&self, key: &str, route: Route) -> LoadResult {
        self.get_sourced(key, route).await.0
    }

    /// As [`Group::get_via`], saying where the value came from: a cache, a
    /// peer, or the getter (a follower of singleflight says what its
    /// leader's load did).
    pub async fn get_sourced(&self, key: &str, route: Route) -> (LoadResult, Source) {
        bump(&self.stats.gets);
        if key.is_empty() {
            return (Err(GroupError::KeyRequired), Source::Hit);
        }
        if let Some(value) = self.lookup_cache(key) {
            bump(&self.stats.cache_hits);
            return (Ok(value), Source::Hit);
        }
        bump(&self.stats.loads);
        match &self.flight {
            Some(flight) => {
                flight
                    .run(key, || async {
                        // A call that finished just before this one joined
                        // has filled the cache: singleflight only merges
                        // calls that overlap.
                        if let Some(value) = self.lookup_cache(key) {
                            bump(&self.stats.cache_hits);
                            return (Ok(value), Source::Hit);
                        }
                        self.load(key, route).await
                    })
                    .await
            }
            None => self.load(key, route).await,
        }
    }

    /// Counts a request that arrived from a peer.
    pub fn count_server_request(&self) {
        bump(&self.stats.server_requests);
    }

    /// The group's counters now.
    pub fn stats(&self) -> GroupStatsSnapshot {
        self.stats.snapshot()
    }

    /// Empties the main and hot caches, as a restart would; the counters
    /// go on.
    pub fn clear_caches(&self) {
        self.main_cache.clear();
        if let Some(hot) = &self.hot_cache {
            hot.clear();
        }
    }

    /// How the group caches and loads, as `/_stats` reports it.
    pub fn settings(&self) -> GroupSettings {
        self.options.into()
    }

    /// The main cache's figures now.
    pub fn main_cache_stats(&self) -> CacheStats {
        self.main_cache.stats()
    }

    /// The hot cache's figures now, when it is on.
    pub fn hot_cache_stats(&self) -> Option<CacheStats> {
        self.hot_cache.as_ref().map(Cache::stats)
    }

    async fn load(&self, key: &str, route: Route) -> (LoadResult, Source) {
        bump(&self.stats.loads_deduped);
        if route == Route::AnyOwner {
            if let Some(peer) = self.peers.get().and_then(|picker| picker.pick_peer(key)) {
                match peer.get(&self.name, key).await {
                    Ok(value) => {
                        bump(&self.stats.peer_loads);
                        self.maybe_keep_hot(key, &value);
                        return (Ok(value), Source::Peer);
                    }
                    Err(error) => {
                        bump(&self.stats.peer_errors);
                        if let PeerError::Broken { kind, .. } = &error {
                            bump(self.stats.broken(*kind));
                        }
                        if let Some(text) = error.owner_load_error() {
                            return (Err(GroupError::Load(Arc::from(text))), Source::Peer);
                        }
                        self.log_peer_failure(key, &error);
                    }
                }
            }
        }
        (self.load_locally(key).await, Source::Load)
    }

    /// Logs a failed peer fetch: the first of each second as a warning
    /// (with how many were left out since), the others at debug level, so a
    /// dead peer under load does not flood the log.
    fn log_peer_failure(&self, key: &str, error: &PeerError) {
        let second = self.created.elapsed().as_secs() + 1;
        let last = self.peer_failure_logged.swap(second, Ordering::Relaxed);
        if last == second {
            self.peer_failures_unlogged.fetch_add(1, Ordering::Relaxed);
            log::debug!(
                "[GeeCache] group {}: fetching {key:?} from a peer failed, loading locally: {error}",
                self.name
            );
            return;
        }
        let left_out = self.peer_failures_unlogged.swap(0, Ordering::Relaxed);
        let more = if left_out > 0 {
            format!(" ({left_out} more failed fetches since the last warning)")
        } else {
            String::new()
        };
        log::warn!(
            "[GeeCache] group {}: fetching {key:?} from a peer failed, loading locally: {error}{more}",
            self.name
        );
    }

    async fn load_locally(&self, key: &str) -> LoadResult {
        match self.getter.get(key).await {
            Ok(value) => {
                bump(&self.stats.local_loads);
                self.main_cache.add(key, value.clone());
                Ok(value)
            }
            Err(error) => {
                bump(&self.stats.local_load_errs);
                Err(GroupError::Load(Arc::from(error.to_string())))
            }
        }
    }

    fn lookup_cache(&self, key: &str) -> Option<ByteView> {
        self.main_cache
            .get(key)
            .or_else(|| self.hot_cache.as_ref().and_then(|hot| hot.get(key)))
    }

    fn maybe_keep_hot(&self, key: &str, value: &ByteView) {
        if let Some(hot) = &self.hot_cache {
            // A fixed sequence instead of a random draw keeps runs
            // reproducible while still keeping one value in ten.
            if keeps_hot(self.hot_draws.fetch_add(1, Ordering::Relaxed)) {
                hot.add(key, value.clone());
            }
        }
    }
}

/// Whether the `draw`-th value a group fetches from a peer goes into its
/// hot cache: one in ten, on a fixed sequence, so runs are reproducible and
/// a model of the group can follow them.
pub fn keeps_hot(draw: u64) -> bool {
    splitmix64(draw).is_multiple_of(10)
}

/// SplitMix64's finaliser: spreads consecutive integers over all 64 bits.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geecache::h1::ConnectionError;
    use crate::geecache::peers::{PeerError, PeerGetter};
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// A slow store that counts its loads and knows keys starting with "k".
    #[derive(Clone, Default)]
    struct Store {
        loads: Arc<AtomicUsize>,
        delay: Duration,
    }

    impl Getter for Store {
        fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteView, BoxError>> {
            Box::pin(async move {
                self.loads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                if key.starts_with('k') {
                    Ok(ByteView::from(format!("local:{key}").into_bytes()))
                } else {
                    Err(format!("{key} not exist").into())
                }
            })
        }
    }

    impl Store {
        fn loads(&self) -> usize {
            self.loads.load(Ordering::SeqCst)
        }
    }

    /// A peer that owns keys starting with "kr" (remote) and can fail.
    struct FakePeer {
        fetches: AtomicUsize,
        fails_with: Option<PeerError>,
    }

    impl PeerGetter for FakePeer {
        fn get<'a>(
            &'a self,
            group: &'a str,
            key: &'a str,
        ) -> BoxFuture<'a, Result<ByteView, PeerError>> {
            Box::pin(async move {
                self.fetches.fetch_add(1, Ordering::SeqCst);
                if let Some(error) = &self.fails_with {
                    return Err(error.clone());
                }
                Ok(ByteView::from(format!("peer:{group}/{key}").into_bytes()))
            })
        }

        fn peer(&self) -> &str {
            "fake"
        }
    }

    struct FakePicker(Arc<FakePeer>);

    impl PeerPicker for FakePicker {
        fn pick_peer(&self, key: &str) -> Option<Arc<dyn PeerGetter>> {
            key.starts_with("kr")
                .then(|| Arc::clone(&self.0) as Arc<dyn PeerGetter>)
        }
    }

    fn refused() -> Option<PeerError> {
        Some(PeerError::Connection {
            peer: "fake".into(),
            source: ConnectionError::Connect {
                authority: "fake:80".into(),
                source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
            },
        })
    }

    fn group_with_peer(
        options: GroupOptions,
        fails_with: Option<PeerError>,
    ) -> (Group, Store, Arc<FakePeer>) {
        let store = Store::default();
        let group = Group::new("scores", options, store.clone());
        let peer = Arc::new(FakePeer {
            fetches: AtomicUsize::new(0),
            fails_with,
        });
        group
            .register_peers(Arc::new(FakePicker(Arc::clone(&peer))))
            .unwrap();
        (group, store, peer)
    }

    fn text(result: LoadResult) -> String {
        result.unwrap().to_string()
    }

    #[tokio::test]
    async fn an_empty_key_is_an_error() {
        let group = Group::new("g", GroupOptions::default(), Store::default());
        assert_eq!(group.get("").await, Err(GroupError::KeyRequired));
        assert_eq!(GroupError::KeyRequired.to_string(), "key is required");
        assert_eq!(group.stats().gets, 1);
        assert_eq!(group.stats().loads, 0);
    }

    #[tokio::test]
    async fn a_local_miss_loads_once_then_hits() {
        let (group, store, peer) = group_with_peer(GroupOptions::default(), None);
        assert_eq!(text(group.get("key1").await), "local:key1");
        assert_eq!(text(group.get("key1").await), "local:key1");
        assert_eq!(store.loads(), 1);
        assert_eq!(peer.fetches.load(Ordering::SeqCst), 0);
        let stats = group.stats();
        assert_eq!(
            (stats.gets, stats.cache_hits, stats.loads, stats.local_loads),
            (2, 1, 1, 1)
        );
        assert_eq!(group.main_cache_stats().items, 1);
    }

    #[tokio::test]
    async fn a_remote_key_comes_from_its_peer_and_is_not_cached_here() {
        let (group, store, peer) = group_with_peer(GroupOptions::default(), None);
        assert_eq!(text(group.get("kr1").await), "peer:scores/kr1");
        assert_eq!(text(group.get("kr1").await), "peer:scores/kr1");
        assert_eq!(peer.fetches.load(Ordering::SeqCst), 2);
        assert_eq!(store.loads(), 0);
        assert_eq!(group.stats().peer_loads, 2);
        assert_eq!(group.main_cache_stats().items, 0);
    }

    #[tokio::test]
    async fn a_failing_peer_falls_back_to_a_local_load() {
        let (group, store, peer) = group_with_peer(GroupOptions::default(), refused());
        // The source document answered an empty value here.
        assert_eq!(text(group.get("kr1").await), "local:kr1");
        assert_eq!(peer.fetches.load(Ordering::SeqCst), 1);
        assert_eq!(store.loads(), 1);
        let stats = group.stats();
        assert_eq!(
            (stats.peer_errors, stats.peer_loads, stats.local_loads),
            (1, 0, 1)
        );
    }

    #[tokio::test]
    async fn a_peer_that_times_out_or_answers_404_also_falls_back() {
        for error in [
            PeerError::Timeout {
                peer: "fake".into(),
                after: Duration::from_millis(5),
            },
            PeerError::Status {
                peer: "fake".into(),
                status: 404,
                text: "no such group: scores".into(),
            },
        ] {
            let (group, store, _) = group_with_peer(GroupOptions::default(), Some(error.clone()));
            assert_eq!(text(group.get("kr1").await), "local:kr1", "{error}");
            assert_eq!(store.loads(), 1);
        }
    }

    #[tokio::test]
    async fn the_owners_load_error_is_final() {
        let error = PeerError::Status {
            peer: "fake".into(),
            status: 500,
            text: "kr9 not exist".into(),
        };
        let (group, store, peer) = group_with_peer(GroupOptions::default(), Some(error));
        assert_eq!(
            group.get("kr9").await,
            Err(GroupError::Load(Arc::from("kr9 not exist")))
        );
        assert_eq!(peer.fetches.load(Ordering::SeqCst), 1);
        assert_eq!(store.loads(), 0, "the owner already asked the store");
        assert_eq!(group.stats().peer_errors, 1);
    }

    #[tokio::test]
    async fn a_getter_error_carries_the_stores_text() {
        let (group, _, _) = group_with_peer(GroupOptions::default(), None);
        assert_eq!(
            group.get("Kate").await,
            Err(GroupError::Load(Arc::from("Kate not exist")))
        );
        assert_eq!(group.stats().local_load_errs, 1);
        assert_eq!(group.main_cache_stats().items, 0);
    }

    #[tokio::test]
    async fn local_only_gets_never_ask_a_peer() {
        let (group, store, peer) = group_with_peer(GroupOptions::default(), None);
        assert_eq!(
            text(group.get_via("kr1", Route::LocalOnly).await),
            "local:kr1"
        );
        assert_eq!(peer.fetches.load(Ordering::SeqCst), 0);
        assert_eq!(store.loads(), 1);
    }

    async fn stampede(singleflight: bool, callers: usize) -> (Store, GroupStatsSnapshot) {
        let store = Store {
            delay: Duration::from_millis(50),
            ..Store::default()
        };
        let options = GroupOptions {
            singleflight,
            ..GroupOptions::default()
        };
        let group = Arc::new(Group::new("g", options, store.clone()));
        let gets = (0..callers).map(|_| {
            let group = Arc::clone(&group);
            tokio::spawn(async move { group.get("khot").await })
        });
        for get in gets.collect::<Vec<_>>() {
            assert_eq!(text(get.await.unwrap()), "local:khot");
        }
        (store, group.stats())
    }

    #[tokio::test]
    async fn singleflight_merges_a_stampede_into_one_load() {
        let (store, stats) = stampede(true, 50).await;
        assert_eq!(store.loads(), 1);
        assert_eq!(stats.loads, 50);
        assert_eq!(stats.loads_deduped, 1);
    }

    #[tokio::test]
    async fn without_singleflight_every_caller_loads() {
        let (store, stats) = stampede(false, 50).await;
        assert_eq!(store.loads(), 50);
        assert_eq!(stats.loads_deduped, 50);
    }

    #[tokio::test]
    async fn the_hot_cache_keeps_some_peer_values() {
        let options = GroupOptions {
            cache_bytes: 1 << 20,
            hot_cache: true,
            ..GroupOptions::default()
        };
        let (group, _, peer) = group_with_peer(options, None);
        let mut gets = 0;
        while group.hot_cache_stats().unwrap().items == 0 {
            group.get("kr-hot").await.unwrap();
            gets += 1;
            assert!(gets < 200, "one in ten should be kept");
        }
        let fetched = peer.fetches.load(Ordering::SeqCst);
        for _ in 0..20 {
            assert_eq!(text(group.get("kr-hot").await), "peer:scores/kr-hot");
        }
        assert_eq!(
            peer.fetches.load(Ordering::SeqCst),
            fetched,
            "hot values are served here"
        );
        assert_eq!(
            group.main_cache_stats().items,
            0,
            "peer values stay out of the main cache"
        );

        // Over many distinct keys, about one in ten is kept.
        for i in 0..1000 {
            group.get(&format!("kr{i}")).await.unwrap();
        }
        let kept = group.hot_cache_stats().unwrap().items;
        assert!((60..=140).contains(&kept), "kept {kept} of 1000");
    }

    #[tokio::test]
    async fn without_the_hot_cache_peer_values_are_fetched_each_time() {
        let (group, _, peer) = group_with_peer(GroupOptions::default(), None);
        for _ in 0..50 {
            group.get("kr-hot").await.unwrap();
        }
        assert_eq!(peer.fetches.load(Ordering::SeqCst), 50);
        assert!(group.hot_cache_stats().is_none());
    }

    #[test]
    fn peers_register_once() {
        let (group, _, peer) = group_with_peer(GroupOptions::default(), None);
        let again = group.register_peers(Arc::new(FakePicker(peer)));
        assert!(again.is_err());
    }
}
