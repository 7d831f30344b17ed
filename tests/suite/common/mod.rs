//! Helpers shared by the end-to-end tests: real nodes on 127.0.0.1 with
//! ephemeral ports, and a raw HTTP/1.1 client that can send paths a URL
//! parser would refuse.

#![allow(dead_code)] // each test file uses its own subset

pub mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use geecache_bench::geecache::peers::BoxFuture;
use geecache_bench::geecache::{BoxError, ByteView, Getter, Group, GroupOptions, Node, NodeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The source document's slow store, which logs every search, as its
/// `[SlowDB] search key` lines do.
#[derive(Clone, Default)]
pub struct ScoresDb {
    pub searches: Arc<Mutex<Vec<String>>>,
}

impl ScoresDb {
    pub fn searches(&self) -> Vec<String> {
        self.searches.lock().unwrap().clone()
    }
}

impl Getter for ScoresDb {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteView, BoxError>> {
        Box::pin(async move {
            self.searches.lock().unwrap().push(key.to_owned());
            let db: HashMap<&str, &str> = [("Tom", "630"), ("Jack", "589"), ("Sam", "567")].into();
            match db.get(key) {
                Some(score) => Ok(ByteView::copy_from_slice(score.as_bytes())),
                None => Err(format!("{key} not exist").into()),
            }
        })
    }
}

/// A store that knows every key: the value is `value-of:` and the key.
/// Keys starting with `missing` do not exist.
#[derive(Clone, Default)]
pub struct EchoDb {
    pub loads: Arc<Mutex<Vec<String>>>,
}

impl Getter for EchoDb {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteView, BoxError>> {
        Box::pin(async move {
            self.loads.lock().unwrap().push(key.to_owned());
            if key.starts_with("missing") {
                return Err(format!("{key} not exist").into());
            }
            Ok(ByteView::from(format!("value-of:{key}").into_bytes()))
        })
    }
}

/// Nodes that know each other, each with one group over its own store.
pub struct Cluster<S> {
    pub nodes: Vec<Node>,
    pub stores: Vec<S>,
}

impl<S: Getter + Clone + Default> Cluster<S> {
    /// Starts `count` nodes; node `api` also answers `/api`.
    pub async fn start(count: usize, api: usize, group: &str, options: GroupOptions) -> Self {
        Self::start_with(count, api, group, options, |_, _| {}).await
    }

    /// As [`Cluster::start`], node `i`'s configuration changed by
    /// `configure(i, config)` first.
    pub async fn start_with(
        count: usize,
        api: usize,
        group: &str,
        options: GroupOptions,
        configure: impl Fn(usize, &mut NodeConfig),
    ) -> Self {
        let mut nodes = Vec::new();
        let mut stores = Vec::new();
        for index in 0..count {
            let store = S::default();
            let mut config = NodeConfig {
                api: index == api,
                peer_timeout: Duration::from_secs(2),
                ..NodeConfig::default()
            };
            configure(index, &mut config);
            let group = Arc::new(Group::new(group, options, store.clone()));
            nodes.push(Node::start(config, vec![group]).await.expect("node starts"));
            stores.push(store);
        }
        let urls: Vec<String> = nodes.iter().map(|node| node.url().to_owned()).collect();
        for node in &nodes {
            node.set_peers(&urls);
        }
        Cluster { nodes, stores }
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| node.url().to_owned())
            .collect()
    }

    /// The index of the node that owns `key` on the ring.
    pub fn owner_of(&self, key: &str) -> usize {
        let ring = self.nodes[0].ring();
        let owner = ring.get(key).expect("the ring has peers");
        self.urls().iter().position(|url| url == owner).unwrap()
    }

    pub async fn shutdown(self) {
        for node in self.nodes {
            node.shutdown().await;
        }
    }
}

/// What a raw request got back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD target` as written, on a fresh connection, and reads the
/// whole answer. The target is not parsed or escaped on the way.
pub async fn raw_request(addr: std::net::SocketAddr, method: &str, target: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a header block");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// The next request head a client sends on `stream` (bodies are not
/// read: the tests' clients send GETs), taken out of `buffer`, which keeps
/// what came after it; `None` once the client closes.
pub async fn next_request_head(
    stream: &mut tokio::net::TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 4);
            return Some(head);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

pub async fn get(addr: std::net::SocketAddr, target: &str) -> Reply {
    raw_request(addr, "GET", target).await
}

// ---- The binary and its result files ----

pub fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_geecache-bench"))
}

/// A fresh directory for one test, removed when the test passes and kept
/// (and named on stderr) when it fails, to look into.
pub fn scratch(name: &str) -> Scratch {
    let directory =
        std::env::temp_dir().join(format!("geecache-harness-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    Scratch(directory)
}

/// A test's directory; see [`scratch`].
pub struct Scratch(std::path::PathBuf);

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept the failed test's files in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn run(args: &[&str]) -> std::process::Output {
    binary().args(args).output().expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether valgrind and strace, which a counted pass (`--count`) runs the
/// program under, are installed. Without them a test that needs them is
/// skipped, saying so, unless `GEECACHE_COUNT_TOOLS=required` (`.ci/run`
/// and the workflow set it, after installing them): then it fails.
pub fn counting_tools() -> bool {
    let Err(message) = geecache_bench::harness::counted::tools() else {
        return true;
    };
    assert!(
        std::env::var("GEECACHE_COUNT_TOOLS").as_deref() != Ok("required"),
        "GEECACHE_COUNT_TOOLS=required, but {message}"
    );
    eprintln!("SKIPPED: this test needs a counted pass: {message}");
    false
}

/// `check --baseline baseline result extra...`: its exit status and what
/// it printed.
pub fn check(
    baseline: &std::path::Path,
    result: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let mut args = vec![
        "check",
        "--baseline",
        baseline.to_str().unwrap(),
        result.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run(&args);
    (
        output.status.code(),
        text(&output.stdout) + &text(&output.stderr),
    )
}

/// The line of a report that starts with `label`.
pub fn line<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in\n{report}"))
}

/// Reads a result, checks it against `schema.json`, and returns it typed.
pub fn read_checked(path: &std::path::Path) -> geecache_bench::harness::report::RunResult {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schema.json").unwrap()).unwrap();
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let violations = schema::violations(&schema, &raw);
    assert!(
        violations.is_empty(),
        "{path:?} breaks schema.json:\n{}",
        violations.join("\n")
    );
    geecache_bench::harness::report::read(path).expect("the result reads back")
}

/// Writes `workload` (JSON text) to a file, runs it with `flags` on a fresh
/// cluster without calibration, and returns the schema-checked result.
pub fn run_workload(
    directory: &std::path::Path,
    name: &str,
    workload: &str,
    flags: &[&str],
) -> geecache_bench::harness::report::RunResult {
    run_workload_printing(directory, name, workload, flags).0
}

/// [`run_workload`], with what the run printed.
pub fn run_workload_printing(
    directory: &std::path::Path,
    name: &str,
    workload: &str,
    flags: &[&str],
) -> (geecache_bench::harness::report::RunResult, String) {
    let file = directory.join(format!("{name}.json"));
    std::fs::write(&file, workload).unwrap();
    let out = directory.join(format!("{name}-result.json"));
    let mut args = vec![
        "--workload",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-calibrate",
        "--no-progress",
    ];
    args.extend_from_slice(flags);
    let output = run(&args);
    assert!(output.status.success(), "{name}: {}", text(&output.stderr));
    (read_checked(&out), text(&output.stdout))
}

/// Writes `workload` (JSON text) to a file and runs it with one request in
/// flight (`--deterministic`) and `flags`, without calibration; returns the
/// result's path.
pub fn deterministic_run(
    directory: &std::path::Path,
    name: &str,
    workload: &str,
    flags: &[&str],
) -> std::path::PathBuf {
    let file = directory.join(format!("{name}-workload.json"));
    std::fs::write(&file, workload).unwrap();
    let out = directory.join(format!("{name}.json"));
    let mut args = vec![
        "--workload",
        file.to_str().unwrap(),
        "--deterministic",
        "--no-calibrate",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    let output = run(&args);
    assert!(
        output.status.success(),
        "{name}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    out
}

/// A `ci` run of `requests` requests (no warm-up, no calibration) against
/// `target`, reading `peers` (none: no --peers), its result to `out`.
pub fn run_target(
    target: &str,
    peers: &[String],
    requests: u32,
    out: &std::path::Path,
) -> std::process::Output {
    let requests = requests.to_string();
    let peers = peers.join(",");
    let mut args = vec!["--workload", "ci", "--target", target];
    if !peers.is_empty() {
        args.extend(["--peers", &peers]);
    }
    args.extend([
        "--requests",
        &requests,
        "--warmup",
        "0",
        "--no-calibrate",
        "--out",
        out.to_str().unwrap(),
    ]);
    run(&args)
}

/// Ports free a moment ago on 127.0.0.1.
pub fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap().port())
        .collect()
}

/// A command line and the environment variables it runs with.
pub type WithEnv = (Vec<String>, Vec<(String, String)>);

/// `serve` processes, stopped with SIGTERM by [`Servers::stop`] or killed
/// when dropped.
pub struct Servers(pub Vec<std::process::Child>);

impl Servers {
    /// The source document's cluster: a node on each of `ports` of
    /// 127.0.0.1 running `ci`, the last also serving the API on `api_port`.
    pub fn start(ports: &[u16], api_port: u16) -> Servers {
        let peers: Vec<String> = ports
            .iter()
            .map(|port| format!("http://localhost:{port}"))
            .collect();
        let peers = peers.join(",");
        let commands: Vec<Vec<String>> = ports
            .iter()
            .enumerate()
            .map(|(index, port)| {
                let mut args: Vec<String> = ["serve", "--port", &port.to_string()]
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                args.extend(["--peers".to_owned(), peers.clone()]);
                args.extend(["--workload".to_owned(), "ci".to_owned()]);
                if index == ports.len() - 1 {
                    args.extend(["--api-port".to_owned(), api_port.to_string()]);
                }
                args
            })
            .collect();
        Servers::spawn(&commands)
    }

    /// Starts one process per argument list and waits until each says it
    /// is running.
    pub fn spawn(commands: &[Vec<String>]) -> Servers {
        let commands: Vec<_> = commands
            .iter()
            .map(|args| (args.clone(), Vec::new()))
            .collect();
        Servers::spawn_with(&commands)
    }

    /// [`Servers::spawn`], each process with its own environment variables
    /// besides this one's.
    pub fn spawn_with(commands: &[WithEnv]) -> Servers {
        use std::io::{BufRead, BufReader};
        let mut servers = Servers(Vec::new());
        let (ready, lines) = std::sync::mpsc::channel();
        for (args, env) in commands {
            let mut child = binary()
                .args(args)
                .envs(env.iter().map(|(name, value)| (name, value)))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let ready = ready.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = ready.send(line);
                }
            });
            servers.0.push(child);
        }
        let mut running = 0;
        while running < commands.len() {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .expect("servers start");
            if line.starts_with("geecache is running at") {
                running += 1;
            }
        }
        servers
    }

    /// Asks each to stop and checks it exits cleanly.
    pub fn stop(self) {
        self.stop_signalled(1);
    }

    /// Asks each to stop twice, the second time cutting its drain short
    /// (`serve --drain`), and checks it exits cleanly.
    pub fn stop_draining(self) {
        self.stop_signalled(2);
    }

    fn stop_signalled(mut self, times: usize) {
        for time in 0..times {
            for child in &mut self.0 {
                // The shell's kill: a fresh machine may have no kill binary.
                let status = std::process::Command::new("sh")
                    .args(["-c", &format!("kill -TERM {}", child.id())])
                    .status()
                    .unwrap();
                assert!(status.success() || time > 0);
            }
            if time + 1 < times {
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        for mut child in std::mem::take(&mut self.0) {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "serve did not stop on SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
