//! A node: one HTTP server on 127.0.0.1 with its groups, its ring and its
//! peer clients. Many nodes live in one process; none shares state.
//!
//! Routes:
//! - `GET /geecache/{group}/{key}`: the peer protocol. 200 with the value as
//!   `application/octet-stream`; 400 for a malformed path or an empty key;
//!   404 `no such group: NAME`; 500 with the getter's error text.
//! - `GET /api?key=K[&group=G]`: the source document's front end, on nodes
//!   started with `api: true`; the group defaults to the node's first.
//! - `GET /_stats`: the node's counters as JSON ([`NodeStats`]).
//! - `GET /metrics`: the same counters in the Prometheus text format
//!   ([`super::metrics`]).
//! - `GET /_ready`: a readiness probe: 200 `ready` while the node takes
//!   requests, 503 `draining` once it is told to stop taking them
//!   ([`Node::set_ready`]), while it still serves those that come.
//!
//! A node can also listen on a second address that answers only `/api` and
//! `/_stats`, like the source document's separate API server on port 9999.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{HeaderMap, Request, Response, StatusCode};
use tokio::net::TcpListener;

use super::breakage::{BreakSwitch, Breakage, BrokenSent};
use super::byteview::ByteView;
use super::consistent_hash::{HashKind, HashRing};
use super::group::{Group, GroupError, Route};
use super::http::HttpPool;
use super::keyhash::KeyMap;
use super::path::{parse_peer_path, query_params, BASE_PATH};
use super::peers::PeerPicker;
use super::server::{nanos, Answer, Limits, Server, Target};
use super::source::Source as AnswerSource;
pub use super::stats::{GroupReport, NodeStats};

/// How a node listens and reaches its peers.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Virtual nodes per peer on the ring.
    pub replicas: usize,
    /// The ring's hash.
    pub hash: HashKind,
    /// How long a peer fetch may take before it counts as failed.
    pub peer_timeout: Duration,
    /// The node's name on the ring, its base URL as peers write it
    /// (`http://localhost:8001`). By default `http://` and the bound address.
    pub url: Option<String>,
    /// Whether this node also answers `/api`.
    pub api: bool,
    /// A second address that answers only `/api` and `/_stats`.
    pub api_addr: Option<SocketAddr>,
    /// How long shutdown waits for open connections to finish.
    pub shutdown_grace: Duration,
    /// A delay added to every request the node serves: fault injection, to
    /// show that a regression is caught. Zero normally.
    pub injected_delay: Duration,
    /// Name each `/api` answer's source in `X-GeeCache-Source` (hit,
    /// peer, load).
    pub source_header: bool,
    /// Report the process's CPU time in `/_stats`: the node is its own
    /// process (`serve`).
    pub report_process_cpu: bool,
    /// Units of pure CPU work (`burn`) added to every request the node
    /// serves: a fine regression on purpose, to measure what the gate
    /// sees. Zero normally.
    pub injected_cpu: u64,
    /// What the node allows its clients: header and idle timeouts, and the
    /// most connections at once.
    pub limits: Limits,
    /// Where peer requests live, on this node and on its peers (all of a
    /// cluster's nodes share it): `/geecache/` as in the source document,
    /// `/_geecache/` for the upstream repository's later days. Checked
    /// with [`super::path::base_path`].
    pub base_path: String,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            replicas: 50,
            hash: HashKind::Crc32,
            peer_timeout: Duration::from_secs(2),
            url: None,
            api: false,
            api_addr: None,
            shutdown_grace: Duration::from_secs(2),
            injected_delay: Duration::ZERO,
            injected_cpu: 0,
            report_process_cpu: false,
            source_header: false,
            limits: Limits::default(),
            base_path: BASE_PATH.to_owned(),
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Listening failed, e.g. because the port is in use.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Two groups share a name.
    #[error("group {0:?} is given twice")]
    DuplicateGroup(String),
    /// A group already belongs to another node.
    #[error("group {0:?} already has peers: a group belongs to one node")]
    GroupInUse(String),
    /// The base path of peer requests is malformed.
    #[error("base path {0}")]
    BasePath(String),
}

struct NodeState {
    url: String,
    /// Nanoseconds added to every request (fault injection, a slow node).
    injected_delay: AtomicU64,
    /// Units of CPU work added to every request (fault injection).
    injected_cpu: u64,
    /// Whether `/_stats` reports the process's CPU time.
    report_process_cpu: bool,
    /// Whether `/api` answers name their source.
    source_header: bool,
    pool: Arc<HttpPool>,
    api: bool,
    groups: KeyMap<String, Arc<Group>>,
    /// The group `/api` reads when no `group` is given.
    api_group: Option<Arc<Group>>,
    /// Connections accepted so far.
    connections: Arc<AtomicU64>,
    /// Where peer requests live.
    base_path: String,
    /// Whether `/_ready` answers 200.
    ready: AtomicBool,
    /// Whether peer and API answers are broken on purpose.
    breakage: BreakSwitch,
}

/// A running node. Dropping it stops the server too; [`Node::shutdown`]
/// does so and waits for it.
pub struct Node {
    state: Arc<NodeState>,
    pool: Arc<HttpPool>,
    /// The peer listener; `None` while the node is stopped
    /// ([`Node::stop_listening`]).
    server: Mutex<Option<Server>>,
    /// Where the peer listener listens, kept for [`Node::listen_again`].
    addr: SocketAddr,
    /// How long a stop waits for open requests.
    grace: Duration,
    /// What the node allows its clients.
    limits: Limits,
    api_server: Option<Server>,
}

impl Node {
    /// Binds `config.addr`, registers this node's peer pool with each group
    /// and starts serving. Peers are set afterwards with [`Node::set_peers`],
    /// once every node's address is known.
    pub async fn start(config: NodeConfig, groups: Vec<Arc<Group>>) -> Result<Node, NodeError> {
        let base_path = super::path::base_path(&config.base_path).map_err(NodeError::BasePath)?;
        let (listener, addr) = bind(config.addr).await?;
        let api_listener = match config.api_addr {
            Some(api_addr) => Some(bind(api_addr).await?),
            None => None,
        };
        let url = config.url.unwrap_or_else(|| format!("http://{addr}"));
        let pool = Arc::new(
            HttpPool::new(
                url.clone(),
                config.replicas,
                config.hash,
                config.peer_timeout,
            )
            .with_base_path(&base_path),
        );

        let api_group = groups.first().cloned();
        let mut by_name = KeyMap::default();
        for group in groups {
            let name = group.name().to_owned();
            if by_name.contains_key(&name) {
                return Err(NodeError::DuplicateGroup(name));
            }
            group
                .register_peers(Arc::clone(&pool) as Arc<dyn PeerPicker>)
                .map_err(|_| NodeError::GroupInUse(name.clone()))?;
            by_name.insert(name, group);
        }
        let state = Arc::new(NodeState {
            url,
            injected_delay: AtomicU64::new(nanos(config.injected_delay)),
            injected_cpu: config.injected_cpu,
            report_process_cpu: config.report_process_cpu,
            source_header: config.source_header,
            pool: Arc::clone(&pool),
            api: config.api,
            groups: by_name,
            api_group,
            connections: Arc::new(AtomicU64::new(0)),
            base_path,
            ready: AtomicBool::new(true),
            breakage: BreakSwitch::default(),
        });
        let grace = config.shutdown_grace;
        let limits = config.limits;
        let server = serve(&state, listener, addr, Listener::Node, grace, limits)?;
        log::debug!("geecache is running at {}", state.url);
        let api_server = match api_listener {
            Some((api_listener, api_addr)) => {
                let server = serve(&state, api_listener, api_addr, Listener::Api, grace, limits)?;
                log::debug!("api server is running at http://{api_addr}");
                Some(server)
            }
            None => None,
        };
        Ok(Node {
            state,
            pool,
            server: Mutex::new(Some(server)),
            addr,
            grace,
            limits,
            api_server,
        })
    }

    /// Stops the peer listener as a crashed process would stop answering:
    /// no new connections, open ones closed once their requests finish (up
    /// to the grace period). The groups, caches, counters and ring stay;
    /// [`Node::listen_again`] serves them again on the same address.
    pub async fn stop_listening(&self) {
        let server = self.server_slot().take();
        if let Some(server) = server {
            server.shutdown().await;
            log::debug!("{} stopped listening", self.state.url);
        }
    }

    /// Listens again on the address the node had, after
    /// [`Node::stop_listening`]; does nothing while it is listening.
    pub async fn listen_again(&self) -> Result<(), NodeError> {
        if self.server_slot().is_some() {
            return Ok(());
        }
        let (listener, addr) = bind(self.addr).await?;
        let server = serve(
            &self.state,
            listener,
            addr,
            Listener::Node,
            self.grace,
            self.limits,
        )?;
        *self.server_slot() = Some(server);
        log::debug!("{} is listening again", self.state.url);
        Ok(())
    }

    /// Whether the peer listener is up.
    pub fn is_listening(&self) -> bool {
        self.server_slot().is_some()
    }

    /// Makes every request the node serves wait `delay` first (zero for
    /// none): a slow node.
    pub fn set_delay(&self, delay: Duration) {
        self.state
            .injected_delay
            .store(nanos(delay), Ordering::Relaxed);
    }

    /// Breaks `share` (0 to 1) of the peer and API answers the node sends
    /// from now on as `breakage` says; `None` makes them whole again.
    /// `/_stats`, `/metrics` and `/_ready` stay whole.
    pub fn set_breakage(&self, breakage: Option<Breakage>, share: f64) {
        self.state.breakage.set(breakage, share);
    }

    /// The answers the node has broken on purpose, by breakage.
    pub fn broken_sent(&self) -> BrokenSent {
        self.state.breakage.sent()
    }

    fn server_slot(&self) -> std::sync::MutexGuard<'_, Option<Server>> {
        self.server
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What `/_ready` answers: 200 `ready` (the default) or, once draining,
    /// 503 `draining`. The node serves every request either way.
    pub fn set_ready(&self, ready: bool) {
        self.state.ready.store(ready, Ordering::Relaxed);
    }

    /// Sets the ring's peers: the base URLs of every node, this one included.
    pub fn set_peers<S: AsRef<str>>(&self, peers: &[S]) {
        self.pool.set_peers(peers);
    }

    /// Sets the ring's peers as (name on the ring, base URL) pairs, this node
    /// included under the name it was configured with.
    pub fn set_routes(&self, routes: &[(&str, &str)]) {
        self.pool.set_routes(routes);
    }

    /// The address the node listens on (or did, while it is stopped).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the separate API listener, when there is one.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api_server.as_ref().map(Server::addr)
    }

    /// The node's name on the ring: its base URL `http://127.0.0.1:PORT`,
    /// unless configured otherwise.
    pub fn url(&self) -> &str {
        &self.state.url
    }

    /// A group of this node's.
    pub fn group(&self, name: &str) -> Option<&Arc<Group>> {
        self.state.groups.get(name)
    }

    /// A copy of the node's ring.
    pub fn ring(&self) -> HashRing {
        self.pool.ring()
    }

    /// The node's figures now.
    pub fn stats(&self) -> NodeStats {
        self.state.stats()
    }

    /// Stops accepting, lets open requests finish (up to the grace period)
    /// and closes every connection, on the API listener too. Dropping a
    /// node stops it without waiting.
    pub async fn shutdown(self) {
        if let Some(api_server) = self.api_server {
            api_server.shutdown().await;
        }
        let server = self
            .server
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
}

impl NodeState {
    fn stats(&self) -> NodeStats {
        let groups = self
            .groups
            .iter()
            .map(|(name, group)| {
                let report = GroupReport {
                    stats: group.stats(),
                    main_cache: group.main_cache_stats(),
                    hot_cache: group.hot_cache_stats(),
                    settings: Some(group.settings()),
                };
                (name.clone(), report)
            })
            .collect();
        let ring = self.pool.ring();
        NodeStats {
            url: self.url.clone(),
            connections: self.connections.load(Ordering::Relaxed),
            replicas: ring.replicas(),
            hash: self.pool.hash(),
            peers: ring.peers().to_vec(),
            groups,
            process_cpu_us: self
                .report_process_cpu
                .then(super::stats::process_cpu)
                .flatten()
                .map(|cpu| cpu.as_micros() as u64),
            broken_sent: self.breakage.sent(),
        }
    }
}

/// Serves `listener` with the node's routes for `kind`.
fn serve(
    state: &Arc<NodeState>,
    listener: TcpListener,
    addr: SocketAddr,
    kind: Listener,
    grace: Duration,
    limits: Limits,
) -> Result<Server, NodeError> {
    let handler_state = Arc::clone(state);
    let handler = move |request: Request<Incoming>| {
        let state = Arc::clone(&handler_state);
        // The request goes here, before its answer's future runs; its
        // header map carries the answer's headers.
        let (target, headers) = Target::of(request);
        route(state, kind, target, headers)
    };
    let name = match kind {
        Listener::Node => format!("node {}", state.url),
        Listener::Api => format!("api of {}", state.url),
    };
    let connections = Arc::clone(&state.connections);
    Server::spawn(listener, name, handler, connections, grace, limits)
        .map_err(|source| NodeError::Bind { addr, source })
}

/// The source header's name, made once: `HeaderName::from_static`
/// checks its text each time it runs.
const SOURCE_HEADER: HeaderName = HeaderName::from_static(super::source::HEADER);

/// Rounds of mixing in one unit of [`burn`].
const ROUNDS_PER_UNIT: u64 = 16;

/// Does `units` units of pure CPU work: no memory, no system call, no
/// sleep, so it costs the same instructions on every machine (about 70 a
/// unit) and adds time in proportion. A sleep cannot add a fine cost: one
/// timer tick is about a millisecond.
#[inline(never)]
pub fn burn(units: u64) -> u64 {
    let mut x = std::hint::black_box(units) | 1;
    for _ in 0..units.saturating_mul(ROUNDS_PER_UNIT) {
        x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
    std::hint::black_box(x)
}

/// Binds `addr` and says which address it got (port 0 picks one).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), NodeError> {
    let failed = |source| NodeError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    Ok((listener, bound))
}

/// What a listener answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listener {
    /// Every route.
    Node,
    /// Only `/api` and `/_stats`.
    Api,
}

/// Answers one request. The answer is made here, once, from what the
/// routes give back: built deeper down, it would be moved out of every
/// async call it passes through (a response is about 150 bytes).
async fn route(
    state: Arc<NodeState>,
    kind: Listener,
    target: Target,
    headers: HeaderMap,
) -> Answer {
    let delay = state.injected_delay.load(Ordering::Relaxed);
    if delay > 0 {
        tokio::time::sleep(Duration::from_nanos(delay)).await;
    }
    if state.injected_cpu > 0 {
        burn(state.injected_cpu);
    }
    if !target.is_get() {
        let mut answer = text(StatusCode::METHOD_NOT_ALLOWED, "only GET is allowed");
        answer
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return answer;
    }
    let path = target.path();
    let reply = if path.starts_with(state.base_path.as_str()) && kind == Listener::Node {
        serve_peer(&state, path).await
    } else if path == "/api" && (state.api || kind == Listener::Api) {
        serve_api(&state, target.query().unwrap_or("")).await
    } else {
        return serve_other(&state, path);
    };
    match reply {
        Reply::Value(result, source) => {
            let mut answer = answer_get(result, headers);
            if let Some(source) = source {
                answer
                    .headers_mut()
                    .insert(SOURCE_HEADER, source_value(source));
            }
            // Marked here, in each arm, for the server to break: a shared
            // helper, or marking after the match, moved the answer and
            // cost the request path 45-80 instructions (the counted pass).
            if let Some(breakage) = state.breakage.take() {
                answer.extensions_mut().insert(breakage);
            }
            answer
        }
        Reply::Text(status, message) => {
            let mut answer = text(status, &message);
            if let Some(breakage) = state.breakage.take() {
                answer.extensions_mut().insert(breakage);
            }
            answer
        }
    }
}

/// The routes besides a value's: statistics, metrics, readiness.
fn serve_other(state: &NodeState, path: &str) -> Answer {
    if path == "/_stats" {
        match serde_json::to_vec_pretty(&state.stats()) {
            Ok(json) => body(
                StatusCode::OK,
                HeaderValue::from_static("application/json"),
                json.into(),
            ),
            Err(error) => text(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        }
    } else if path == "/metrics" {
        let exposition = super::metrics::render(&state.stats());
        body(
            StatusCode::OK,
            HeaderValue::from_static(super::metrics::CONTENT_TYPE),
            exposition.into_bytes().into(),
        )
    } else if path == "/_ready" {
        if state.ready.load(Ordering::Relaxed) {
            text(StatusCode::OK, "ready")
        } else {
            text(StatusCode::SERVICE_UNAVAILABLE, "draining")
        }
    } else {
        text(StatusCode::NOT_FOUND, &format!("not found: {path}"))
    }
}

/// What a value's route gives back: a group's result (with its source, to
/// name in a header), or a refusal.
enum Reply {
    Value(Result<ByteView, GroupError>, Option<AnswerSource>),
    Text(StatusCode, String),
}

async fn serve_peer(state: &NodeState, path: &str) -> Reply {
    let (group_name, key) = match parse_peer_path(&state.base_path, path) {
        Ok(parts) => parts,
        Err(error) => return Reply::Text(StatusCode::BAD_REQUEST, error.to_string()),
    };
    let Some(group) = state.groups.get(group_name.as_ref()) else {
        return Reply::Text(
            StatusCode::NOT_FOUND,
            format!("no such group: {group_name}"),
        );
    };
    log::debug!("[Server {}] GET {path}", state.url);
    group.count_server_request();
    Reply::Value(group.get_via(&key, Route::LocalOnly).await, None)
}

async fn serve_api(state: &NodeState, query: &str) -> Reply {
    let [key, group_name] = match query_params(query, ["key", "group"]) {
        Ok(params) => params,
        Err(error) => return Reply::Text(StatusCode::BAD_REQUEST, error.to_string()),
    };
    let group = match &group_name {
        Some(name) => state.groups.get(name.as_ref()),
        None => state.api_group.as_ref(),
    };
    let Some(group) = group else {
        let name = group_name.unwrap_or_default();
        return Reply::Text(StatusCode::NOT_FOUND, format!("no such group: {name}"));
    };
    let (result, source) = group
        .get_sourced(key.as_deref().unwrap_or(""), Route::AnyOwner)
        .await;
    // Where the value came from (or where the failed load was), so the
    // client can tell a cache hit's latency from a load's.
    let sourced = state.source_header && !matches!(result, Err(GroupError::KeyRequired));
    Reply::Value(result, sourced.then_some(source))
}

/// The source header's value for `source`.
fn source_value(source: AnswerSource) -> HeaderValue {
    match source {
        AnswerSource::Hit => SOURCE_HIT,
        AnswerSource::Peer => SOURCE_PEER,
        AnswerSource::Load => SOURCE_LOAD,
    }
}

// Header values made once: `HeaderValue::from_static` checks its text
// each time it runs where the text is not a constant.
const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");
const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const SOURCE_HIT: HeaderValue = HeaderValue::from_static(AnswerSource::Hit.as_str());
const SOURCE_PEER: HeaderValue = HeaderValue::from_static(AnswerSource::Peer.as_str());
const SOURCE_LOAD: HeaderValue = HeaderValue::from_static(AnswerSource::Load.as_str());

/// A group's result as an answer, its headers in `headers`.
fn answer_get(result: Result<ByteView, GroupError>, headers: HeaderMap) -> Answer {
    let (status, content_type, bytes) = match result {
        Ok(value) => (StatusCode::OK, OCTET_STREAM, value.to_bytes()),
        Err(error @ GroupError::KeyRequired) => (
            StatusCode::BAD_REQUEST,
            TEXT_PLAIN,
            message(&error.to_string()),
        ),
        Err(error @ GroupError::Load(_)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            TEXT_PLAIN,
            message(&error.to_string()),
        ),
    };
    body_in(headers, status, content_type, bytes)
}

fn message(text: &str) -> Bytes {
    Bytes::from(format!("{text}\n"))
}

fn text(status: StatusCode, text: &str) -> Answer {
    body(status, TEXT_PLAIN, message(text))
}

fn body(status: StatusCode, content_type: HeaderValue, bytes: Bytes) -> Answer {
    body_in(HeaderMap::new(), status, content_type, bytes)
}

/// An answer whose headers go in `headers` (empty; a request's map, whose
/// room is already there).
fn body_in(
    headers: HeaderMap,
    status: StatusCode,
    content_type: HeaderValue,
    bytes: Bytes,
) -> Answer {
    let mut answer = Response::new(Full::new(bytes));
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    answer.headers_mut().insert(CONTENT_TYPE, content_type);
    answer
}
