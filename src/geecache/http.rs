//! The HTTP peer protocol, as GeeCache's `http.go`: paths, the pooled
//! client that fetches from peers, and the pool that picks them.
//!
//! A peer request is `GET /geecache/{group}/{key}` with group and key
//! escaped. We escape every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`, and
//! decode `+` as a space, so requests from Go nodes (which escape with
//! `url.QueryEscape`) and from ours mean the same thing. Because `/` is
//! escaped inside a segment, keys with slashes, spaces, `%` or any Unicode
//! round-trip exactly.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::byteview::ByteView;
use super::consistent_hash::{HashKind, HashRing};
use super::peers::{BoxFuture, PeerError, PeerGetter, PeerPicker};

/// Where peer requests live on every node.
pub const BASE_PATH: &str = "/geecache/";

/// A path or query that does not follow the protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is not `/geecache/{group}/{key}`.
    #[error("malformed path {0:?}: expected {BASE_PATH}<group>/<key>")]
    Shape(String),
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    #[error("malformed escape in {0:?}")]
    Escape(String),
}

/// Escapes one path segment or query value.
pub fn escape(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut escaped = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            escaped.push(byte as char);
        } else {
            escaped.push('%');
            escaped.push(HEX[usize::from(byte >> 4)] as char);
            escaped.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
    escaped
}

/// Undoes [`escape`] and Go's `url.QueryEscape`: `%XX` becomes the byte,
/// `+` a space. Bad escapes and bytes that are not UTF-8 are errors.
pub fn unescape(raw: &str) -> Result<String, PathError> {
    let bad = || PathError::Escape(raw.to_owned());
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' => {
                let hex = bytes.get(at + 1..at + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                decoded.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                at += 3;
            }
            b'+' => {
                decoded.push(b' ');
                at += 1;
            }
            byte => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(decoded).map_err(|_| bad())
}

/// The path of a peer request for `key` in `group`.
pub fn peer_path(group: &str, key: &str) -> String {
    format!("{BASE_PATH}{}/{}", escape(group), escape(key))
}

/// Splits a peer request's raw path into its group and key. The key may be
/// empty (the group then answers "key is required"); the group may not.
pub fn parse_peer_path(path: &str) -> Result<(String, String), PathError> {
    let shape = || PathError::Shape(path.to_owned());
    let rest = path.strip_prefix(BASE_PATH).ok_or_else(shape)?;
    let (group, key) = rest.split_once('/').ok_or_else(shape)?;
    if group.is_empty() {
        return Err(shape());
    }
    Ok((unescape(group)?, unescape(key)?))
}

/// The first value of `name` in a raw query string, unescaped.
pub fn query_param(query: &str, name: &str) -> Result<Option<String>, PathError> {
    for pair in query.split('&') {
        let (field, value) = pair.split_once('=').unwrap_or((pair, ""));
        if unescape(field)? == name {
            return unescape(value).map(Some);
        }
    }
    Ok(None)
}

/// What the client saw when a request failed below HTTP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No complete answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Connecting, sending or reading failed.
    #[error("{0}")]
    Connection(String),
    /// The URL did not parse.
    #[error("bad URL {0:?}")]
    Url(String),
}

/// An HTTP/1.1 client that keeps connections alive and pools them per
/// host, with a timeout on each whole request (answer and body).
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let inner = Client::builder(TokioExecutor::new())
            // Keep as many idle connections per peer as requests were in
            // flight, so a burst does not end in new handshakes.
            .pool_max_idle_per_host(usize::MAX)
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        HttpClient { inner, timeout }
    }

    /// The timeout each request gets.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GETs `url` and reads the whole body.
    pub async fn get(&self, url: &str) -> Result<(StatusCode, Bytes), ClientError> {
        let uri: Uri = url.parse().map_err(|_| ClientError::Url(url.to_owned()))?;
        let exchange = async {
            let response = self
                .inner
                .get(uri)
                .await
                .map_err(|error| ClientError::Connection(error_chain(&error)))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|error| ClientError::Connection(error_chain(&error)))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(self.timeout))?
    }
}

/// An error and its sources, joined: hyper's top-level messages alone
/// ("client error (Connect)") do not say what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Fetches values from one peer over HTTP.
pub struct HttpGetter {
    peer: String,
    client: HttpClient,
}

impl HttpGetter {
    /// A getter for the peer at base URL `peer` (`http://127.0.0.1:8001`).
    pub fn new(peer: impl Into<String>, client: HttpClient) -> Self {
        HttpGetter {
            peer: peer.into(),
            client,
        }
    }

    async fn fetch(&self, group: &str, key: &str) -> Result<ByteView, PeerError> {
        let url = format!("{}{}", self.peer, peer_path(group, key));
        let peer = || self.peer.clone();
        match self.client.get(&url).await {
            Ok((StatusCode::OK, body)) => Ok(ByteView::new(body)),
            Ok((status, body)) => Err(PeerError::Status {
                peer: peer(),
                status: status.as_u16(),
                text: String::from_utf8_lossy(&body).trim_end().to_owned(),
            }),
            Err(ClientError::Timeout(after)) => Err(PeerError::Timeout {
                peer: peer(),
                after,
            }),
            Err(ClientError::Connection(message)) => Err(PeerError::Connection {
                peer: peer(),
                message,
            }),
            Err(ClientError::Url(message)) => Err(PeerError::Request {
                peer: peer(),
                message: format!("bad URL {message:?}"),
            }),
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
    getters: HashMap<String, Arc<HttpGetter>>,
}

/// Picks peers from a consistent hash ring and fetches from them over HTTP,
/// as GeeCache's `HTTPPool` does on its client side.
pub struct HttpPool {
    self_url: String,
    client: HttpClient,
    state: RwLock<PoolState>,
}

impl HttpPool {
    /// A pool for the node at `self_url`, with no peers yet.
    pub fn new(
        self_url: impl Into<String>,
        replicas: usize,
        hash: HashKind,
        client: HttpClient,
    ) -> Self {
        HttpPool {
            self_url: self_url.into(),
            client,
            state: RwLock::new(PoolState {
                ring: HashRing::new(replicas, hash),
                getters: HashMap::new(),
            }),
        }
    }

    /// Replaces the set of peers (this node's own URL among them).
    pub fn set_peers<S: AsRef<str>>(&self, peers: &[S]) {
        let mut state = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ring = HashRing::with_hasher(state.ring.replicas(), state.ring.hasher());
        ring.add(peers.iter().map(|peer| peer.as_ref().to_owned()));
        state.getters = peers
            .iter()
            .map(|peer| {
                let peer = peer.as_ref().to_owned();
                let getter = Arc::new(HttpGetter::new(peer.clone(), self.client.clone()));
                (peer, getter)
            })
            .collect();
        state.ring = ring;
    }

    /// A copy of the ring as it is now.
    pub fn ring(&self) -> HashRing {
        self.read().ring.clone()
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
        let owner = state.ring.get(key)?;
        if owner == self.self_url {
            return None;
        }
        let getter = state.getters.get(owner)?;
        Some(Arc::clone(getter) as Arc<dyn PeerGetter>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_awkward_keys() {
        for key in [
            "Tom", "a b", "a/b", "/", "100%", "%41", "ключ", "日本", "a+b", "", "~-._", "?#&=",
        ] {
            let escaped = escape(key);
            assert!(!escaped.contains('/'), "{escaped}");
            assert_eq!(unescape(&escaped).unwrap(), key);
        }
    }

    #[test]
    fn go_query_escape_output_decodes_the_same() {
        // Go's url.QueryEscape("a b/c") is "a+b%2Fc".
        assert_eq!(unescape("a+b%2Fc").unwrap(), "a b/c");
        assert_eq!(unescape("%e6%97%a5").unwrap(), "日");
    }

    #[test]
    fn bad_escapes_are_errors() {
        for raw in ["%", "%4", "%zz", "%ff", "a%2"] {
            assert_eq!(
                unescape(raw),
                Err(PathError::Escape(raw.to_owned())),
                "{raw}"
            );
        }
    }

    #[test]
    fn peer_paths_parse_back() {
        let path = peer_path("my group", "a/b c");
        assert_eq!(path, "/geecache/my%20group/a%2Fb%20c");
        assert_eq!(
            parse_peer_path(&path).unwrap(),
            ("my group".into(), "a/b c".into())
        );
        assert_eq!(
            parse_peer_path("/geecache/scores/").unwrap(),
            ("scores".into(), "".into())
        );
        // A raw slash after the group belongs to the key, as with Go's SplitN.
        assert_eq!(parse_peer_path("/geecache/g/x/y").unwrap().1, "x/y");
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for path in [
            "/geecache/",
            "/geecache/scores",
            "/geecache//Tom",
            "/other/scores/Tom",
            "/",
        ] {
            assert!(
                matches!(parse_peer_path(path), Err(PathError::Shape(_))),
                "{path}"
            );
        }
        assert!(matches!(
            parse_peer_path("/geecache/g/%zz"),
            Err(PathError::Escape(_))
        ));
    }

    #[test]
    fn query_params_are_found_and_unescaped() {
        assert_eq!(
            query_param("key=Tom", "key").unwrap().as_deref(),
            Some("Tom")
        );
        assert_eq!(
            query_param("a=1&key=a+b%2F", "key").unwrap().as_deref(),
            Some("a b/")
        );
        assert_eq!(query_param("other=1", "key").unwrap(), None);
        assert_eq!(query_param("key", "key").unwrap().as_deref(), Some(""));
        assert!(query_param("key=%zz", "key").is_err());
    }

    #[test]
    fn the_pool_never_picks_itself() {
        let peers = [
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            "http://127.0.0.1:3",
        ];
        let pool = HttpPool::new(
            peers[0],
            50,
            HashKind::Crc32,
            HttpClient::new(Duration::from_secs(1)),
        );
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
