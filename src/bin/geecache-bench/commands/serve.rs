//! `serve`: one GeeCache node as its own process, for clusters of
//! processes as in the source document. The node is
//! [`geecache_bench::harness::serve`].

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Args;

use super::{
    fail, init_logging, load_workload, runtime, NodeArgs, ResolveArgs, EXIT_FAILED, EXIT_USAGE,
};
use geecache_bench::harness::serve::{self, ServeOptions, DEMO_API_PORT, DEMO_PEERS};
use geecache_bench::harness::workload::Overrides;
use geecache_bench::units::Span;

/// Flags of `serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// The node's port on 127.0.0.1.
    #[arg(long, value_name = "PORT", default_value_t = 8001)]
    pub port: u16,
    /// Listen on this address instead of 127.0.0.1:PORT: another loopback
    /// address (127.0.0.2:8001) or, given explicitly, any other (the log
    /// then warns that other machines can reach the node).
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "port")]
    pub listen: Option<SocketAddr>,
    /// The node's name on the ring, the URL its peers reach it at; it must
    /// be one of --peers [default: the peer URL with the listening address
    /// and port, else the one with the listening port whose host is
    /// --hostname or starts with it: nodes-2 is http://nodes-2.nodes:8001].
    #[arg(long, value_name = "URL")]
    pub advertise: Option<String>,
    /// The machine's name, which a peer URL's host may give (a
    /// StatefulSet's pod nodes-2 is nodes-2.nodes to its peers) [default:
    /// $HOSTNAME, else the system's host name].
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// On SIGTERM or Ctrl-C, keep serving this long with /_ready answering
    /// 503, so that a Service stops sending requests first; a second
    /// signal ends the drain at once. Open requests then have 2 s more.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub drain: Span,
    /// Every node's base URL, this one included, comma-separated
    /// [default: the source document's http://localhost:8001,8002,8003].
    #[arg(long, value_name = "URL,...", value_delimiter = ',')]
    pub peers: Vec<String>,
    /// Allow peers on hosts other than this one (by default only
    /// 127.0.0.0/8 and localhost).
    #[arg(long)]
    pub allow_remote: bool,
    #[command(flatten)]
    pub resolve: ResolveArgs,
    /// Also serve /api (and /_stats) on this port of its own, on the
    /// listening address.
    #[arg(long, value_name = "PORT")]
    pub api_port: Option<u16>,
    /// Serve the API on port 9999, as the source document's -api flag does.
    #[arg(long, conflicts_with = "api_port")]
    pub api: bool,
    /// The workload whose key space, values, slow-store latency and cluster
    /// settings the node uses.
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// The ring and the cache.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Close a connection whose request head has not all arrived this long
    /// after its first byte [cluster.header_timeout; default 10s].
    #[arg(long, value_name = "DURATION")]
    pub header_timeout: Option<Span>,
    /// Close a connection with no request in progress for this long
    /// [cluster.idle_timeout; default 60s].
    #[arg(long, value_name = "DURATION")]
    pub idle_timeout: Option<Span>,
    /// Hold at most this many connections; answer more with 503 and close
    /// them [cluster.max_connections; default 10000].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<u32>,
    /// Where peer requests live, on this node and its peers:
    /// /_geecache/ to mix with nodes of the upstream repository's later
    /// days [cluster.base_path; default /geecache/].
    #[arg(long, value_name = "PATH")]
    pub base_path: Option<String>,
    /// More log output: -v info (the default for serve), -vv debug (every
    /// slow-store search, as the source document logs them).
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Runs the subcommand.
pub fn exec(args: ServeArgs) -> ExitCode {
    init_logging(args.verbose.max(1), log::LevelFilter::Info);
    let overrides = Overrides {
        replicas: args.node.replicas,
        cache_bytes: args.node.cache_bytes,
        hash: args.node.hash,
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections,
        base_path: args.base_path.clone(),
        ..Overrides::default()
    };
    let loaded = match load_workload(&args.workload, &overrides) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let workload = loaded.workload;
    let peers = if args.peers.is_empty() {
        DEMO_PEERS.iter().map(|peer| peer.to_string()).collect()
    } else {
        args.peers
    };
    let options = ServeOptions {
        listen: args
            .listen
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, args.port))),
        advertise: args.advertise,
        hostname: args
            .hostname
            .or_else(|| {
                std::env::var("HOSTNAME")
                    .ok()
                    .filter(|name| !name.is_empty())
            })
            .or_else(system_hostname),
        drain: args.drain.0,
        allow_remote: args.allow_remote,
        resolve: args.resolve.resolve(),
        peers,
        api_port: if args.api {
            Some(DEMO_API_PORT)
        } else {
            args.api_port
        },
        workload,
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let outcome = runtime.block_on(serve::serve(
        options,
        |node, url| {
            println!("geecache is running at {url}");
            if let Some(api) = node.api_addr() {
                println!("api server is running at http://{api}/api");
            }
        },
        shutdown_signal,
    ));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error @ serve::ServeError::Node(_)) => fail(EXIT_FAILED, error),
        Err(error) => fail(EXIT_USAGE, error),
    }
}

/// The system's host name (a pod's name in Kubernetes), if it has one.
fn system_hostname() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes and the name is read up to its first NUL.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|&byte| byte == 0)?;
    let name = std::str::from_utf8(&buffer[..end]).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
