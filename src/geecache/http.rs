//! The HTTP peer protocol, as GeeCache's `http.go`: paths, the pooled
//! client that fetches from peers, and the pool that picks them.
//!
//! A peer request is `GET /geecache/{group}/{key}` with group and key
//! escaped. We escape every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`, and
//! decode `+` as a space, so requests from Go nodes (which escape with
//! `url.QueryEscape`) and from ours mean the same thing. Because `/` is
//! escaped inside a segment, keys with slashes, spaces, `%` or any Unicode
//! round-trip exactly.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use hyper::{StatusCode, Uri};

use super::byteview::ByteView;
use super::consistent_hash::{HashKind, HashRing};
use super::h1::{Connection, ExchangeError};
use super::peers::{BoxFuture, PeerError, PeerGetter, PeerPicker};
use super::source::Source;

/// Where peer requests live on every node by default, as in the source
/// document; the upstream repository's later days use `/_geecache/`.
pub const BASE_PATH: &str = "/geecache/";

/// Checks a base path for peer requests and gives it its trailing slash:
/// `/_geecache` becomes `/_geecache/`. It must start with `/` and hold only
/// letters, digits and `-._~/`.
pub fn base_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("{path:?}: a base path starts with '/'"));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~/".contains(*c)))
    {
        return Err(format!(
            "{path:?}: {bad:?} is not allowed in a base path (letters, digits and -._~/ are)"
        ));
    }
    if path.contains("//") || path == "/" {
        return Err(format!("{path:?}: not a base path such as /geecache/"));
    }
    Ok(if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    })
}

/// A path or query that does not follow the protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is not `{base}{group}/{key}`.
    #[error("malformed path {0:?}: expected <base path><group>/<key>")]
    Shape(String),
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    #[error("malformed escape in {0:?}")]
    Escape(String),
}

/// Appends `text` to `out`, escaped as one path segment or query value.
pub fn escape_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if text.bytes().all(unreserved) {
        out.push_str(text);
        return;
    }
    for &byte in text.as_bytes() {
        if unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
}

/// Whether `byte` stands for itself in a path segment or query value
/// (RFC 3986's unreserved characters).
fn unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Escapes one path segment or query value.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    escape_into(&mut escaped, text);
    escaped
}

/// Undoes [`escape`] and Go's `url.QueryEscape`: `%XX` becomes the byte,
/// `+` a space. Bad escapes and bytes that are not UTF-8 are errors. Text
/// with nothing escaped is borrowed, not copied.
pub fn unescape(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.bytes().any(|byte| byte == b'%' || byte == b'+') {
        return Ok(Cow::Borrowed(raw));
    }
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
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|_| bad())
}

/// The path of a peer request for `key` in `group` under `base`, in one
/// allocation.
pub fn peer_path(base: &str, group: &str, key: &str) -> String {
    let mut path = String::with_capacity(base.len() + group.len() + key.len() + 8);
    path.push_str(base);
    escape_into(&mut path, group);
    path.push('/');
    escape_into(&mut path, key);
    path
}

/// Splits a peer request's raw path into its group and key. The key may be
/// empty (the group then answers "key is required"); the group may not.
pub fn parse_peer_path<'a>(
    base: &str,
    path: &'a str,
) -> Result<(Cow<'a, str>, Cow<'a, str>), PathError> {
    let shape = || PathError::Shape(path.to_owned());
    let rest = path.strip_prefix(base).ok_or_else(shape)?;
    let (group, key) = rest.split_once('/').ok_or_else(shape)?;
    if group.is_empty() {
        return Err(shape());
    }
    Ok((unescape(group)?, unescape(key)?))
}

/// The first value of each of `names` in a raw query string, unescaped, in
/// one pass over it. A malformed escape is an error only in a pair read
/// before every name was found.
pub fn query_params<'a, const N: usize>(
    query: &'a str,
    names: [&str; N],
) -> Result<[Option<Cow<'a, str>>; N], PathError> {
    let mut found: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut missing = N;
    let mut rest = query;
    while missing > 0 {
        let pair = Pair::first(rest);
        let field = pair.field(rest)?;
        for (slot, name) in found.iter_mut().zip(names) {
            if slot.is_none() && field == name {
                *slot = Some(pair.value(rest)?);
                missing -= 1;
            }
        }
        if pair.end == rest.len() {
            break;
        }
        rest = &rest[pair.end + 1..];
    }
    Ok(found)
}

/// The first `field=value` pair of a query, found in one pass over its
/// bytes: where its `=` and its end (`&` or the end) are, and whether its
/// field or its value has anything escaped. Every position is of an ASCII
/// byte, so slicing there falls between characters.
struct Pair {
    equals: Option<usize>,
    end: usize,
    field_escaped: bool,
    value_escaped: bool,
}

impl Pair {
    fn first(query: &str) -> Pair {
        let mut pair = Pair {
            equals: None,
            end: query.len(),
            field_escaped: false,
            value_escaped: false,
        };
        for (at, &byte) in query.as_bytes().iter().enumerate() {
            match byte {
                b'&' => {
                    pair.end = at;
                    break;
                }
                b'=' if pair.equals.is_none() => pair.equals = Some(at),
                b'%' | b'+' if pair.equals.is_none() => pair.field_escaped = true,
                b'%' | b'+' => pair.value_escaped = true,
                _ => {}
            }
        }
        pair
    }

    fn field<'a>(&self, query: &'a str) -> Result<Cow<'a, str>, PathError> {
        let field = &query[..self.equals.unwrap_or(self.end)];
        if self.field_escaped {
            unescape(field)
        } else {
            Ok(Cow::Borrowed(field))
        }
    }

    fn value<'a>(&self, query: &'a str) -> Result<Cow<'a, str>, PathError> {
        let Some(equals) = self.equals else {
            return Ok(Cow::Borrowed(""));
        };
        let value = &query[equals + 1..self.end];
        if self.value_escaped {
            unescape(value)
        } else {
            Ok(Cow::Borrowed(value))
        }
    }
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
    #[error("bad URL {0:?}: expected http://HOST:PORT")]
    Url(String),
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
        let bad = || ClientError::Url(base_url.to_owned());
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
    /// answer says (an API node's [`super::source::HEADER`]).
    pub async fn get_sourced(
        &self,
        path_and_query: &str,
    ) -> Result<(StatusCode, Bytes, Option<Source>), ClientError> {
        if path_and_query
            .bytes()
            .any(|byte| byte <= b' ' || byte == 0x7f)
        {
            return Err(ClientError::Url(path_and_query.to_owned()));
        }
        let pool = &self.inner;
        tokio::time::timeout(pool.timeout, async {
            let connection = match pool.take_idle() {
                Some(connection) => connection,
                None => pool.connect().await?,
            };
            match pool.exchange(connection, path_and_query).await {
                Err((ExchangeError::NothingReceived(_), true)) => {
                    let connection = pool.connect().await?;
                    pool.exchange(connection, path_and_query)
                        .await
                        .map_err(|(error, _)| pool.failed(error))
                }
                result => result.map_err(|(error, _)| pool.failed(error)),
            }
        })
        .await
        .map_err(|_| ClientError::Timeout(pool.timeout))?
    }
}

impl ClientError {
    /// The same failure, as a fetch from `peer` reports it.
    fn for_peer(self, peer: &str) -> PeerError {
        let peer = peer.to_owned();
        match self {
            ClientError::Timeout(after) => PeerError::Timeout { peer, after },
            ClientError::Connection(message) => PeerError::Connection { peer, message },
            error @ ClientError::Url(_) => PeerError::Request {
                peer,
                message: error.to_string(),
            },
        }
    }
}

impl HostPool {
    async fn connect(&self) -> Result<Connection, ClientError> {
        let connection = Connection::open(&self.authority).await.map_err(|error| {
            ClientError::Connection(format!("connecting to {}: {error}", self.authority))
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
    ) -> Result<(StatusCode, Bytes, Option<Source>), (ExchangeError, bool)> {
        let reused = connection.used();
        match connection.get(&self.authority, path_and_query).await {
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
        let (ExchangeError::NothingReceived(message) | ExchangeError::Broken(message)) = error;
        ClientError::Connection(format!("{}: {message}", self.authority))
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
        let path = peer_path(BASE_PATH, "my group", "a/b c");
        assert_eq!(path, "/geecache/my%20group/a%2Fb%20c");
        assert_eq!(
            parse_peer_path(BASE_PATH, &path).unwrap(),
            ("my group".into(), "a/b c".into())
        );
        assert_eq!(
            parse_peer_path(BASE_PATH, "/geecache/scores/").unwrap(),
            ("scores".into(), "".into())
        );
        // A raw slash after the group belongs to the key, as with Go's SplitN.
        assert_eq!(
            parse_peer_path(BASE_PATH, "/geecache/g/x/y").unwrap().1,
            "x/y"
        );
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
                matches!(parse_peer_path(BASE_PATH, path), Err(PathError::Shape(_))),
                "{path}"
            );
        }
        assert!(matches!(
            parse_peer_path(BASE_PATH, "/geecache/g/%zz"),
            Err(PathError::Escape(_))
        ));
    }

    #[test]
    fn query_params_are_found_and_unescaped() {
        let key = |query| query_params(query, ["key"]).map(|[value]| value);
        assert_eq!(key("key=Tom").unwrap().as_deref(), Some("Tom"));
        assert_eq!(key("a=1&key=a+b%2F").unwrap().as_deref(), Some("a b/"));
        assert_eq!(key("other=1").unwrap(), None);
        assert_eq!(key("key").unwrap().as_deref(), Some(""));
        assert!(key("key=%zz").is_err());
    }

    #[test]
    fn several_params_are_found_in_one_pass_each_its_first_value() {
        let values = |query| {
            query_params(query, ["key", "group"])
                .map(|found| found.map(|value| value.map(|value| value.into_owned())))
        };
        let some = |text: &str| Some(text.to_owned());
        assert_eq!(values("key=k1&group=g"), Ok([some("k1"), some("g")]));
        assert_eq!(
            values("group=g&x=1&key=k%201"),
            Ok([some("k 1"), some("g")])
        );
        assert_eq!(
            values("key=a&key=b&group=c&group=d"),
            Ok([some("a"), some("c")])
        );
        assert_eq!(values("key=a"), Ok([some("a"), None]));
        assert_eq!(values(""), Ok([None, None]));
        assert_eq!(values("&&key=&group"), Ok([some(""), some("")]));
        assert_eq!(values("k%65y=x"), Ok([some("x"), None]));
        // A bad escape in a name is found where reading reaches it: before
        // both names are found, or anywhere when one is missing; not after
        // both. Other names' values are not read.
        assert!(values("%zz=1&key=a&group=b").is_err());
        assert!(values("key=a&%zz=1").is_err());
        assert!(values("key=%zz&group=b").is_err());
        assert_eq!(values("key=a&group=b&%zz=1"), Ok([some("a"), some("b")]));
        assert_eq!(values("x=%zz&key=a"), Ok([some("a"), None]));
        // Keys of any characters, split only at ASCII bytes.
        assert_eq!(
            values("key=\u{e9}t\u{e9}&group=\u{1f600}"),
            Ok([some("\u{e9}t\u{e9}"), some("\u{1f600}")])
        );
    }

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
            assert_eq!(error, ClientError::Url(bad.to_owned()));
            assert!(error.to_string().contains(bad));
        }
    }

    #[tokio::test]
    async fn a_getter_with_a_bad_url_fails_each_fetch_with_the_reason() {
        let getter = HttpGetter::new("localhost", Duration::from_secs(1));
        match getter.get("g", "k").await {
            Err(PeerError::Request { peer, message }) => {
                assert_eq!(peer, "localhost");
                assert!(message.contains("expected http://HOST:PORT"), "{message}");
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
