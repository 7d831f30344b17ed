//! An HTTP/1.1 accept loop with keep-alive and graceful shutdown: the part
//! every server of the project shares (nodes, their API listeners, and the
//! bare reference servers the harness measures against).
//!
//! It holds against clients that misbehave ([`Limits`]): a request head
//! must arrive within the header timeout once its first byte has, a
//! keep-alive connection without a request for the idle timeout is closed,
//! and over the connection cap a new connection gets a 503 and is closed
//! while the open ones are served on.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::breakage::{mangle, Breakage, Then};

/// A response with its whole body in memory.
pub type Answer = Response<Full<Bytes>>;

/// What a server allows its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Once a request head's first byte has arrived, the whole head must
    /// within this long, or the connection is closed.
    pub header_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; beyond it a new one is answered 503 and
    /// closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

/// What one connection is doing, for its watchdog: when the first byte of
/// a request head came (0: none pending), how many requests are being
/// served, and when it last became idle; times in nanoseconds since the
/// connection was accepted.
struct Activity {
    epoch: Instant,
    head_started: AtomicU64,
    busy: AtomicU64,
    idle_since: AtomicU64,
    /// The code of the [`Breakage`] the answer about to be written asked
    /// for; 0 (nearly always) for none.
    breaking: AtomicU8,
}

impl Activity {
    /// Nanoseconds since the connection was accepted; never 0, which
    /// means "none".
    fn now(&self) -> u64 {
        nanos(self.epoch.elapsed()).max(1)
    }
}

/// A duration in nanoseconds, saturating.
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// What a handler keeps of a request: whether it is a GET, and its path
/// and query, copied out so that the request can be dropped before the
/// answer's future is returned. A request's head shares hyper's read
/// buffer; while a future holds it, the buffer cannot be reused, and
/// hyper, reading ahead for the next request as soon as it has the
/// future, allocates a new buffer (and shares it) for every request:
/// about 900 instructions and two allocations a request, measured on the
/// bare one-hop server.
pub struct Target {
    get: bool,
    /// Where the query starts in `text` (its `?`), or `text`'s length.
    query_at: usize,
    text: TargetText,
}

/// Targets up to this long are kept inline, without an allocation (a
/// node's API and peer paths with keys of up to about 40 bytes); longer
/// ones are copied to the heap. Every byte inline is moved with the
/// answer's future.
const INLINE_TARGET: usize = 62;

enum TargetText {
    Inline { bytes: [u8; INLINE_TARGET], len: u8 },
    Heap(Box<str>),
}

impl Target {
    /// The request's method verdict and target, copied, and its header map
    /// emptied: hyper parses each request's headers into the map of the
    /// answer before it, so an answer made with this map, as the request
    /// goes, allocates none of its own.
    pub fn of<B>(request: Request<B>) -> (Target, HeaderMap) {
        let target = Target::copied(&request);
        let mut headers = request.into_parts().0.headers;
        headers.clear();
        (target, headers)
    }

    fn copied<B>(request: &Request<B>) -> Target {
        let uri = request.uri();
        let target = uri.path_and_query().map_or("/", |target| target.as_str());
        let query_at = uri.path().len().min(target.len());
        let text = if target.len() <= INLINE_TARGET {
            let mut bytes = [0u8; INLINE_TARGET];
            bytes[..target.len()].copy_from_slice(target.as_bytes());
            TargetText::Inline {
                bytes,
                len: target.len() as u8,
            }
        } else {
            TargetText::Heap(target.into())
        };
        Target {
            get: request.method() == hyper::Method::GET,
            query_at,
            text,
        }
    }

    /// Whether the request was a GET.
    pub fn is_get(&self) -> bool {
        self.get
    }

    /// The path and query as the request gave them (`/api?key=x`).
    pub fn path_and_query(&self) -> &str {
        match &self.text {
            TargetText::Inline { bytes, len } => {
                let bytes = &bytes[..usize::from(*len)];
                // SAFETY: `Target::of` copied these bytes from a whole
                // `str`, and nothing changes them after.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            TargetText::Heap(text) => text,
        }
    }

    /// The path (`/api`).
    pub fn path(&self) -> &str {
        let text = self.path_and_query();
        text.get(..self.query_at).unwrap_or(text)
    }

    /// The query without its `?` (`key=x`), if there was one.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query()
            .get(self.query_at..)?
            .strip_prefix('?')
    }
}

/// The connection's stream, noting when bytes of a new request arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            let activity = &self.activity;
            if activity.busy.load(Ordering::Relaxed) == 0
                && activity.head_started.load(Ordering::Relaxed) == 0
            {
                activity
                    .head_started
                    .store(activity.now(), Ordering::Relaxed);
            }
        }
        polled
    }
}

impl Watched {
    /// Writes the answer in `bufs` broken as `breakage` says, as far as the
    /// socket takes it at once (a broken answer larger than the socket's
    /// buffer breaks where the buffer filled), and ends or keeps the
    /// connection as the breakage asks.
    #[cold]
    #[inline(never)]
    fn write_broken(
        &mut self,
        cx: &mut Context<'_>,
        breakage: Breakage,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let answer: Vec<u8> = bufs.iter().flat_map(|buf| buf.iter().copied()).collect();
        let (bytes, then) = mangle(breakage, &answer);
        let mut written = 0;
        while written < bytes.len() {
            match self.stream.try_write(&bytes[written..]) {
                Ok(0) | Err(_) => break,
                Ok(count) => written += count,
            }
        }
        let ended = |how: &str| {
            Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                format!("answer broken on purpose ({breakage}): {how}"),
            )))
        };
        match then {
            Then::Keep => Poll::Ready(Ok(answer.len())),
            Then::Close => {
                let _ = Pin::new(&mut self.stream).poll_shutdown(cx);
                ended("closed")
            }
            Then::Reset => {
                if let Err(error) = self.stream.set_zero_linger() {
                    log::debug!("set_zero_linger: {error}");
                }
                ended("reset")
            }
        }
    }

    /// The breakage the answer about to be written asked for, once.
    fn breaking(&self) -> Option<Breakage> {
        if self.activity.breaking.load(Ordering::Relaxed) == 0 {
            return None;
        }
        Breakage::from_code(self.activity.breaking.swap(0, Ordering::Relaxed))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(breakage) = self.breaking() {
            return self.write_broken(cx, breakage, &[std::io::IoSlice::new(buf)]);
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if let Some(breakage) = self.breaking() {
            return self.write_broken(cx, breakage, bufs);
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Why a connection's watchdog closed it, or `None` while it may stay.
fn overdue(activity: &Activity, limits: &Limits) -> Option<&'static str> {
    if activity.busy.load(Ordering::Relaxed) > 0 {
        return None;
    }
    let now = activity.now();
    let head = activity.head_started.load(Ordering::Relaxed);
    if head > 0 {
        let waited = Duration::from_nanos(now.saturating_sub(head));
        return (waited > limits.header_timeout).then_some("request head not complete");
    }
    let idle =
        Duration::from_nanos(now.saturating_sub(activity.idle_since.load(Ordering::Relaxed)));
    (idle > limits.idle_timeout).then_some("idle")
}

/// What a client over the connection cap is told before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 31\r\nconnection: close\r\n\r\ntoo many connections: try later";

/// A running accept loop. Dropping it stops accepting; [`Server::shutdown`]
/// also waits for open connections (up to the grace period).
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `listener` with `handler`, counting accepted connections in
    /// `connections`. `name` identifies the server in log lines.
    pub fn spawn<H, F>(
        listener: TcpListener,
        name: String,
        handler: H,
        connections: Arc<AtomicU64>,
        grace: Duration,
        limits: Limits,
    ) -> std::io::Result<Server>
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Answer> + Send + 'static,
    {
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            name,
            handler,
            connections,
            stopped,
            grace,
            limits,
        ));
        Ok(Server {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets open requests finish (up to the grace period)
    /// and closes every connection.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                log::error!("server {} stopped abnormally: {error}", self.addr);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

async fn accept_loop<H, F>(
    listener: TcpListener,
    name: String,
    handler: H,
    connections: Arc<AtomicU64>,
    mut stopped: watch::Receiver<bool>,
    grace: Duration,
    limits: Limits,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let open = Arc::new(AtomicUsize::new(0));
    // The watchdog looks this often: a tenth of the shorter timeout.
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 10)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.fetch_add(1, Ordering::Relaxed);
                    if open.load(Ordering::Relaxed) >= limits.max_connections {
                        // Over the cap: say so if the socket takes it at
                        // once, and close; the open connections go on.
                        let _ = stream.try_write(OVER_CAPACITY);
                        log::debug!("{name}: over {} connections, refused {peer}", limits.max_connections);
                        continue;
                    }
                    if let Err(error) = stream.set_nodelay(true) {
                        log::debug!("set_nodelay: {error}");
                    }
                    let activity = Arc::new(Activity {
                        epoch: Instant::now(),
                        head_started: AtomicU64::new(0),
                        busy: AtomicU64::new(0),
                        idle_since: AtomicU64::new(0),
                        breaking: AtomicU8::new(0),
                    });
                    let handler = handler.clone();
                    let watched = Arc::clone(&activity);
                    let service = service_fn(move |request| {
                        let activity = Arc::clone(&watched);
                        activity.busy.fetch_add(1, Ordering::Relaxed);
                        activity.head_started.store(0, Ordering::Relaxed);
                        let answer = handler(request);
                        async move {
                            let answer = answer.await;
                            if let Some(breakage) = answer.extensions().get::<Breakage>() {
                                activity.breaking.store(breakage.code(), Ordering::Relaxed);
                            }
                            activity.idle_since.store(activity.now(), Ordering::Relaxed);
                            activity.busy.fetch_sub(1, Ordering::Relaxed);
                            Ok::<_, Infallible>(answer)
                        }
                    });
                    let io = TokioIo::new(Watched {
                        stream,
                        activity: Arc::clone(&activity),
                    });
                    let connection = graceful.watch(http1::Builder::new().serve_connection(io, service));
                    let open = Arc::clone(&open);
                    open.fetch_add(1, Ordering::Relaxed);
                    let name = name.clone();
                    tokio::spawn(async move {
                        tokio::pin!(connection);
                        let mut ticks = tokio::time::interval(tick);
                        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        loop {
                            tokio::select! {
                                ended = &mut connection => {
                                    if let Err(error) = ended {
                                        log::debug!("connection ended: {error}");
                                    }
                                    break;
                                }
                                _ = ticks.tick() => {
                                    if let Some(why) = overdue(&activity, &limits) {
                                        log::debug!("{name}: closed a connection from {peer}: {why}");
                                        break;
                                    }
                                }
                            }
                        }
                        open.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly
                    // rather than spin.
                    log::warn!("accept failed on {name}: {error}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            // Only ever set to true; an error means the server was dropped.
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        log::warn!("{name}: connections still open after {grace:?}, closing");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_of(method: &str, uri: &str) -> Target {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "h")
            .body(())
            .unwrap();
        let (target, headers) = Target::of(request);
        assert!(headers.is_empty() && headers.capacity() > 0);
        target
    }

    #[test]
    fn a_target_keeps_the_path_and_query_inline_or_on_the_heap() {
        let long_key = "k".repeat(200);
        for (uri, path, query) in [
            ("/api?key=key7", "/api", Some("key=key7")),
            ("/geecache/scores/key7", "/geecache/scores/key7", None),
            ("/api?", "/api", Some("")),
            ("/", "/", None),
            ("http://127.0.0.1:8001/api?key=x", "/api", Some("key=x")),
            (
                "/api?key=%C3%A9t%C3%A9&group=g",
                "/api",
                Some("key=%C3%A9t%C3%A9&group=g"),
            ),
        ] {
            let target = target_of("GET", uri);
            assert!(target.is_get());
            assert_eq!((target.path(), target.query()), (path, query), "{uri}");
            assert!(matches!(target.text, TargetText::Inline { .. }), "{uri}");
        }
        let uri = format!("/api?key={long_key}");
        let target = target_of("GET", &uri);
        assert!(matches!(target.text, TargetText::Heap(_)));
        assert_eq!(target.path_and_query(), uri);
        assert_eq!(target.query(), Some(&uri[5..]));
        // At the inline limit exactly, and one past it.
        for length in [INLINE_TARGET, INLINE_TARGET + 1] {
            let uri = format!("/{}", "a".repeat(length - 1));
            let target = target_of("GET", &uri);
            assert_eq!(target.path(), uri);
            assert_eq!(
                matches!(target.text, TargetText::Inline { .. }),
                length == INLINE_TARGET
            );
        }
        assert!(!target_of("POST", "/api?key=x").is_get());
        assert!(!target_of("HEAD", "/api?key=x").is_get());
    }
}
