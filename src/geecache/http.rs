//! The HTTP side of the peer protocol, as GeeCache's `http.go`: the pooled
//! client that fetches from peers, and the pool that picks them. The paths
//! it asks for are formed in [`super::path`].
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::{StatusCode, Uri};

use super::byteview::ByteView;
use super::consistent_hash::{HashKind, HashRing};
use super::h1::{Broken, Connection, ConnectionError, ExchangeError};
use super::path::{peer_path, BadUrl, BASE_PATH};
use super::peers::{BoxFuture, PeerError, PeerGetter, PeerPicker};
use super::source::Source;

/// What the client saw when a request failed below HTTP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No complete answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connecting, sending or reading failed before any answer came.
    #[error(transparent)]
    Connection(ConnectionError),
    /// The URL did not parse.
    #[error(transparent)]
    Url(BadUrl),
    /// An answer began and then went wrong: reset, cut short, stalled or
    /// malformed.
    #[error("{kind} answer: {message}")]
    Broken {
        /// How it went wrong.
        kind: Broken,
        /// What went wrong, and where.
        message: String,
    },
}

/// An HTTP/1.1 client for one host that keeps its connections alive.
///
/// Each request takes an idle connection (the most recently used) or opens
/// one, and gives it back as soon as the whole body is read, so the number of
/// connections equals the most requests ever in flight at once, and idle
/// connections are kept for the next burst. A request that fails on a reused
/// connection before any answer (the server closed it while idle) is retried
/// once on a new connection. Each request, retry included, has one timeout.
/// The exchange runs in the caller's task (see [`super::h1`]).
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Arc<HostPool>,
}

struct HostPool {
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    opened: AtomicU64,
}

impl std::fmt::Debug for HostPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPool")
            .field("authority", &self.authority)
            .field("timeout", &self.timeout)
            .field("opened", &self.opened)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for the host of `base_url` (`http://127.0.0.1:8001`; a path
    /// after the authority is ignored) whose requests give up after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ClientError> {
        let bad = || ClientError::Url(BadUrl(base_url.to_owned()));
        let uri: Uri = base_url.parse().map_err(|_| bad())?;
        if uri.scheme_str() != Some("http") {
            return Err(bad());
        }
        let authority = uri.authority().ok_or_else(bad)?;
        if authority.port_u16().is_none() {
            return Err(bad());
        }
        Ok(HttpClient {
            inner: Arc::new(HostPool {
                authority: authority.as_str().to_owned(),
                timeout,
                idle: Mutex::new(Vec::new()),
                opened: AtomicU64::new(0),
            }),
        })
    }

    /// Connections opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    /// GETs `path_and_query` (`/geecache/g/k`, `/api?key=k`) and reads the
    /// whole body.
    pub async fn get(&self, path_and_query: &str) -> Result<(StatusCode, Bytes), ClientError> {
        self.get_sourced(path_and_query)
            .await
            .map(|(status, body, _)| (status, body))
    }

    /// As [`HttpClient::get`], with where the value came from when the
    /// answer says (an API node's `super::source::HEADER`).
    pub async fn get_sourced(
        &self,
        path_and_query: &str,
    ) -> Result<(StatusCode, Bytes, Option<Source>), ClientError> {
        if path_and_query
            .bytes()
            .any(|byte| byte <= b' ' || byte == 0x7f)
        {
            return Err(ClientError::Url(BadUrl(path_and_query.to_owned())));
        }
        let pool = &self.inner;
        // Set once a byte of the answer arrives: a timeout after that is an
        // answer that stalled, not one that never came.
        let mut began = false;
        let exchanged = tokio::time::timeout(pool.timeout, async {
            let connection = match pool.take_idle() {
                Some(connection) => connection,
                None => pool.connect().await?,
            };
            match pool.exchange(connection, path_and_query, &mut began).await {
                Err((ExchangeError::NothingReceived(_), true)) => {
                    let connection = pool.connect().await?;
                    pool.exchange(connection, path_and_query, &mut began)
                        .await
                        .map_err(|(error, _)| pool.failed(error))
                }
                result => result.map_err(|(error, _)| pool.failed(error)),
            }
        })
        .await;
        match exchanged {
            Ok(result) => result,
            Err(_) if began => Err(ClientError::Broken {
                kind: Broken::Stalled,
                message: format!(
                    "{}: the answer began, then nothing more came within {:?}",
                    pool.authority, pool.timeout
                ),
            }),
            Err(_) => Err(ClientError::Timeout(pool.timeout)),
        }
    }
}

impl ClientError {
    /// The same failure, as a fetch from `peer` reports it.
    fn for_peer(self, peer: &str) -> PeerError {
        let peer = peer.to_owned();
        match self {
            ClientError::Timeout(after) => PeerError::Timeout { peer, after },
            ClientError::Connection(source) => PeerError::Connection { peer, source },
            ClientError::Broken { kind, message } => PeerError::Broken {
                peer,
                kind,
                message,
            },
            ClientError::Url(source) => PeerError::Request { peer, source },
        }
    }
}

impl HostPool {
    async fn connect(&self) -> Result<Connection, ClientError> {
        let connection = Connection::open(&self.authority).await.map_err(|error| {
            ClientError::Connection(ConnectionError::Connect {
                authority: self.authority.clone(),
                source: error.into(),
            })
        })?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(connection)
    }

    /// One exchange on `connection`, which goes back to the pool if it can
    /// carry another. A failure says whether the connection had served
    /// before (a retry on a new one is then worth it).
    async fn exchange(
        &self,
        mut connection: Connection,
        path_and_query: &str,
        began: &mut bool,
    ) -> Result<(StatusCode, Bytes, Option<Source>), (ExchangeError, bool)> {
        let reused = connection.used();
        match connection
            .get_noting(&self.authority, path_and_query, began)
            .await
        {
            Ok(answer) => {
                if answer.reusable {
                    self.lock().push(connection);
                }
                Ok((answer.status, answer.body, answer.source))
            }
            Err(error) => Err((error, reused)),
        }
    }

    fn failed(&self, error: ExchangeError) -> ClientError {
        match error {
            ExchangeError::NothingReceived(error) => ClientError::Connection(error),
            ExchangeError::Broken(kind, message) => ClientError::Broken {
                kind,
                message: format!("{}: {message}", self.authority),
            },
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        self.lock().pop()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Fetches values from one peer over HTTP.
pub struct HttpGetter {
    peer: String,
    client: Result<HttpClient, ClientError>,
    /// Where the peer serves peer requests: [`BASE_PATH`] unless set.
    base: Arc<str>,
}

impl HttpGetter {
    /// A getter for the peer at base URL `peer` (`http://127.0.0.1:8001`).
    /// A URL that does not parse makes every fetch fail with that error.
    pub fn new(peer: impl Into<String>, timeout: Duration) -> Self {
        let peer = peer.into();
        let client = HttpClient::new(&peer, timeout);
        HttpGetter {
            peer,
            client,
            base: Arc::from(BASE_PATH),
        }
    }

    /// The same getter, asking under base path `base` (`/_geecache/`).
    pub fn with_base(mut self, base: Arc<str>) -> Self {
        self.base = base;
        self
    }

    /// A getter for the peer named `peer` on the ring that listens at base
    /// URL `url`.
    pub fn at(peer: impl Into<String>, url: &str, timeout: Duration) -> Self {
        HttpGetter {
            peer: peer.into(),
            client: HttpClient::new(url, timeout),
            base: Arc::from(BASE_PATH),
        }
    }

    /// The client, for its connection count.
    pub fn client(&self) -> Option<&HttpClient> {
        self.client.as_ref().ok()
    }

    async fn fetch(&self, group: &str, key: &str) -> Result<ByteView, PeerError> {
        let client = self
            .client
            .as_ref()
            .map_err(|error| error.clone().for_peer(&self.peer))?;
        match client.get(&peer_path(&self.base, group, key)).await {
            Ok((StatusCode::OK, body)) => Ok(ByteView::new(body)),
            Ok((status, body)) => Err(PeerError::Status {
                peer: self.peer.clone(),
                status: status.as_u16(),
                text: String::from_utf8_lossy(&body).trim_end().to_owned(),
            }),
            Err(error) => Err(error.for_peer(&self.peer)),
        }
    }
}

impl PeerGetter for HttpGetter {
    fn get<'a>(
        &'a self,
        group: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<ByteView, PeerError>> {
        Box::pin(self.fetch(group, key))
    }

    fn peer(&self) -> &str {
        &self.peer
    }
}

struct PoolState {
    ring: HashRing,
    /// A getter for each peer of the ring, by its index there; `None` for
    /// this node.
    getters: Vec<Option<Arc<HttpGetter>>>,
}

/// Picks peers from a consistent hash ring and fetches from them over HTTP,
/// as GeeCache's `HTTPPool` does on its client side.
pub struct HttpPool {
    self_url: String,
    timeout: Duration,
    /// The base path of every peer's requests.
    base: Arc<str>,
    hash: HashKind,
    state: RwLock<PoolState>,
}

impl HttpPool {
    /// A pool for the node at `self_url`, with no peers yet, whose fetches
    /// give up after `timeout`.
    pub fn new(
        self_url: impl Into<String>,
        replicas: usize,
        hash: HashKind,
        timeout: Duration,
    ) -> Self {
        HttpPool {
            self_url: self_url.into(),
            timeout,
            base: Arc::from(BASE_PATH),
            hash,
            state: RwLock::new(PoolState {
                ring: HashRing::new(replicas, hash),
                getters: Vec::new(),
            }),
        }
    }

    /// The same pool, asking its peers under base path `base`.
    pub fn with_base_path(mut self, base: &str) -> Self {
        self.base = Arc::from(base);
        self
    }

    /// Replaces the set of peers (this node's own URL among them); each
    /// peer's URL is also its name on the ring.
    pub fn set_peers<S: AsRef<str>>(&self, peers: &[S]) {
        let routes: Vec<(&str, &str)> = peers
            .iter()
            .map(|peer| (peer.as_ref(), peer.as_ref()))
            .collect();
        self.set_routes(&routes);
    }

    /// Replaces the set of peers, given as (name on the ring, base URL to
    /// connect to): nodes can keep their place on the ring whatever port
    /// they listen on.
    pub fn set_routes(&self, routes: &[(&str, &str)]) {
        let mut state = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ring = HashRing::with_hasher(state.ring.replicas(), state.ring.hasher());
        ring.add(routes.iter().map(|(name, _)| (*name).to_owned()));
        let urls: HashMap<&str, &str> = routes.iter().copied().collect();
        state.getters = ring
            .peers()
            .iter()
            .map(|name| {
                (name != &self.self_url).then(|| {
                    let url = urls.get(name.as_str()).copied().unwrap_or(name.as_str());
                    Arc::new(
                        HttpGetter::at(name.as_str(), url, self.timeout)
                            .with_base(Arc::clone(&self.base)),
                    )
                })
            })
            .collect();
        state.ring = ring;
    }

    /// A copy of the ring as it is now.
    pub fn ring(&self) -> HashRing {
        self.read().ring.clone()
    }

    /// The ring's hash.
    pub fn hash(&self) -> HashKind {
        self.hash
    }

    /// This node's own URL.
    pub fn self_url(&self) -> &str {
        &self.self_url
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, PoolState> {
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl PeerPicker for HttpPool {
    fn pick_peer(&self, key: &str) -> Option<Arc<dyn PeerGetter>> {
        let state = self.read();
        let getter = state.getters.get(state.ring.owner_index(key)?)?.as_ref()?;
        log::debug!("[Server {}] Pick peer {}", self.self_url, getter.peer());
        Some(Arc::clone(getter) as Arc<dyn PeerGetter>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_need_an_http_url_with_a_port() {
        assert!(HttpClient::new("http://127.0.0.1:8001", Duration::from_secs(1)).is_ok());
        assert!(HttpClient::new("http://127.0.0.1:8001/geecache/", Duration::from_secs(1)).is_ok());
        for bad in [
            "127.0.0.1:8001",
            "https://127.0.0.1:1",
            "http://127.0.0.1",
            "not a url",
        ] {
            let error = HttpClient::new(bad, Duration::from_secs(1)).unwrap_err();
            assert_eq!(error, ClientError::Url(BadUrl(bad.to_owned())));
            assert!(error.to_string().contains(bad));
        }
    }

    #[tokio::test]
    async fn a_getter_with_a_bad_url_fails_each_fetch_with_the_reason() {
        let getter = HttpGetter::new("localhost", Duration::from_secs(1));
        match getter.get("g", "k").await {
            Err(PeerError::Request { peer, source }) => {
                assert_eq!(peer, "localhost");
                assert_eq!(source, BadUrl("localhost".to_owned()));
            }
            other => panic!("expected a request error, got {other:?}"),
        }
    }

    #[test]
    fn the_pool_never_picks_itself() {
        let peers = [
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            "http://127.0.0.1:3",
        ];
        let pool = HttpPool::new(peers[0], 50, HashKind::Crc32, Duration::from_secs(1));
        assert!(pool.pick_peer("anything").is_none(), "no peers set yet");
        pool.set_peers(&peers);
        let ring = pool.ring();
        let mut remote = 0;
        for i in 0..300 {
            let key = format!("key{i}");
            let owner = ring.get(&key).unwrap();
            match pool.pick_peer(&key) {
                Some(getter) => {
                    assert_eq!(getter.peer(), owner);
                    assert_ne!(owner, peers[0]);
                    remote += 1;
                }
                None => assert_eq!(owner, peers[0]),
            }
        }
        assert!(remote > 0 && remote < 300);
    }
}
