//! An HTTP/1.1 accept loop with keep-alive and graceful shutdown: the part
//! every server of the project shares (nodes, their API listeners, and the
//! bare reference servers the harness measures against).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A response with its whole body in memory.
pub type Answer = Response<Full<Bytes>>;

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
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.fetch_add(1, Ordering::Relaxed);
                    if let Err(error) = stream.set_nodelay(true) {
                        log::debug!("set_nodelay: {error}");
                    }
                    let handler = handler.clone();
                    let service = service_fn(move |request| {
                        let answer = handler(request);
                        async move { Ok::<_, Infallible>(answer.await) }
                    });
                    let connection = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            log::debug!("connection ended: {error}");
                        }
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
