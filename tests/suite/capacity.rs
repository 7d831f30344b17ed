//! `capacity` against reference servers whose capacity is known: one that
//! serves one request at a time with a fixed service time (it holds
//! 1/service-time per second, and queueing theory puts its knee there:
//! with evenly spaced arrivals the queue is empty below that rate and
//! grows without bound above it), and a token bucket that refuses what its
//! rate does not cover (it holds its rate). Also a target that never meets
//! the objective, one faster than the driver's ceiling, the grid over a
//! real cluster, and `compare` over two capacities.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{next_request_head, run, scratch, text};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// How a reference server answers `GET /api?key=K`.
#[derive(Clone, Copy)]
enum Reference {
    /// One request at a time, each taking this long: request n ends at
    /// max(its arrival, the end of request n-1) + the service time, on a
    /// virtual clock, so that timer lateness never accumulates and the
    /// rate served is exactly 1/service-time.
    OneAtATime(Duration),
    /// A token bucket of `burst` tokens filled at `rate` per second: a
    /// request that finds a token is answered at once, one that finds
    /// none is refused with 429.
    TokenBucket { rate: f64, burst: f64 },
}

/// The shared state: when the single server is next free, or the bucket.
struct State {
    free_at: Instant,
    tokens: f64,
    filled_at: Instant,
}

/// Starts a reference server on 127.0.0.1; returns its API URL. Other
/// paths (the driver's reachability check) answer 404 at once.
async fn reference(kind: Reference) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let now = Instant::now();
    let state = Arc::new(Mutex::new(State {
        free_at: now,
        tokens: match kind {
            Reference::TokenBucket { burst, .. } => burst,
            Reference::OneAtATime(_) => 0.0,
        },
        filled_at: now,
    }));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                while let Some(head) = next_request_head(&mut stream, &mut buffer).await {
                    let api = head
                        .split_whitespace()
                        .nth(1)
                        .is_some_and(|path| path.starts_with("/api?key="));
                    let status = if api {
                        answer(kind, &state).await
                    } else {
                        "404 Not Found"
                    };
                    let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 5\r\n\r\nvalue");
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}/api"), task)
}

/// Serves one API request by `kind`; its status line.
async fn answer(kind: Reference, state: &Mutex<State>) -> &'static str {
    let now = Instant::now();
    match kind {
        Reference::OneAtATime(service) => {
            let done = {
                let mut state = state.lock().unwrap();
                state.free_at = state.free_at.max(now) + service;
                state.free_at
            };
            tokio::time::sleep_until(done).await;
            "200 OK"
        }
        Reference::TokenBucket { rate, burst } => {
            let mut state = state.lock().unwrap();
            let filled = (now - state.filled_at).as_secs_f64() * rate;
            state.tokens = (state.tokens + filled).min(burst);
            state.filled_at = now;
            if state.tokens >= 1.0 {
                state.tokens -= 1.0;
                "200 OK"
            } else {
                "429 Too Many Requests"
            }
        }
    }
}

/// Runs `capacity` against `target` with `extra` flags, its result to
/// `out`; returns the result and stdout, after asserting it succeeded.
fn capacity(target: &str, out: &std::path::Path, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec![
        "capacity",
        "--target",
        target,
        "--warmup",
        "0",
        "--concurrency",
        "64",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run(&args);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let result = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    (result, stdout)
}

fn configuration(result: &serde_json::Value) -> &serde_json::Value {
    let configurations = result["configurations"].as_array().unwrap();
    assert_eq!(configurations.len(), 1, "{result:#}");
    &configurations[0]
}

#[test]
fn a_one_at_a_time_server_holds_one_over_its_service_time_with_its_knee_there() {
    // 10 ms a request: 100 requests per second. With 3 s steps, a rate 4%
    // above it queues past the 100 ms objective within its first 2.5 s,
    // and below it a stall of up to about 80 ms drains without passing it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (target, server) =
        runtime.block_on(reference(Reference::OneAtATime(Duration::from_millis(10))));
    let directory = scratch("capacity-one-at-a-time");
    let out = directory.join("capacity.json");
    let plot = directory.join("capacity.svg");
    let (result, stdout) = capacity(
        &target,
        &out,
        &[
            "--slo",
            "p99<=100ms",
            "--start",
            "40",
            "--factor",
            "1.5",
            "--precision",
            "3%",
            "--step",
            "3s",
            "--calibrate",
            "500ms",
            "--plot",
            plot.to_str().unwrap(),
        ],
    );
    let found = configuration(&result);
    let capacity = found["capacity"]["median"].as_f64().unwrap();
    assert!(
        (93.0..=104.0).contains(&capacity),
        "capacity {capacity}: {stdout}"
    );
    // The knee: the p99 doubles from its low-rate level (about the service
    // time) where the queue starts to grow, at 100 per second.
    let knee = found["knee"]["median"].as_f64().unwrap();
    assert!((90.0..=110.0).contains(&knee), "knee {knee}: {stdout}");
    let trial = &found["trials"][0];
    assert_eq!(trial["edge"]["found"], "between", "{trial:#}");
    // Below the capacity every step holds with latency near the service
    // time; above it every step fails: on latency, or on requests left
    // unsent once the queue took every connection.
    for step in trial["steps"].as_array().unwrap() {
        let offered = step["offered_rps"].as_f64().unwrap();
        if offered <= 90.0 {
            assert_eq!(step["held"], true, "{step:#}");
            assert!(step["from_intended"]["p50"].as_u64().unwrap() >= 10_000);
        }
        if offered >= 110.0 {
            assert_eq!(step["held"], false, "{step:#}");
            let because = &step["miss"]["because"];
            assert!(because == "latency" || because == "unsent", "{step:#}");
        }
    }
    // The driver's ceiling was measured, far above this server.
    assert!(result["search"]["ceiling"].as_f64().unwrap() > 1000.0);
    // The table shows every step and the capacity; the chart is drawn.
    assert!(stdout.contains("offered req/s"), "{stdout}");
    assert!(
        stdout.contains(&format!("capacity: {capacity:.0} req/s")),
        "{stdout}"
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("objective p99&lt;=100ms"));
    runtime.block_on(async { server.abort() });
}

#[test]
fn a_token_bucket_holds_its_rate_and_what_it_refuses_counts_as_errors() {
    // 100 tokens a second, 10 at most: above the rate the refusals pass
    // 1% within a 3 s step once the rate is 5% over (the bucket's 10 and
    // 1% of the requests are allowed); below it the bucket absorbs a
    // stall of the driver of up to 100 ms.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (target, server) = runtime.block_on(reference(Reference::TokenBucket {
        rate: 100.0,
        burst: 10.0,
    }));
    let directory = scratch("capacity-token-bucket");
    let out = directory.join("capacity.json");
    let (result, stdout) = capacity(
        &target,
        &out,
        &[
            "--slo",
            "p99<=1s",
            "--max-errors",
            "1%",
            "--start",
            "40",
            "--factor",
            "1.5",
            "--precision",
            "3%",
            "--step",
            "3s",
            "--ceiling",
            "100000",
        ],
    );
    let found = configuration(&result);
    let capacity = found["capacity"]["median"].as_f64().unwrap();
    assert!(
        (94.0..=106.0).contains(&capacity),
        "capacity {capacity}: {stdout}"
    );
    let failed: Vec<&serde_json::Value> = found["trials"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["held"] == false)
        .collect();
    assert!(!failed.is_empty());
    for step in failed {
        assert_eq!(step["miss"]["because"], "errors", "{step:#}");
        assert!(step["errors"].as_u64().unwrap() > 0);
    }
    assert!(stdout.contains("failed >"), "{stdout}");
    runtime.block_on(async { server.abort() });
}

#[test]
fn a_target_that_never_holds_or_outruns_the_driver_is_said_so_not_given_a_capacity() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (slow, slow_server) =
        runtime.block_on(reference(Reference::OneAtATime(Duration::from_millis(10))));
    let (fast, fast_server) = runtime.block_on(reference(Reference::TokenBucket {
        rate: 1e6,
        burst: 1e6,
    }));
    let directory = scratch("capacity-bounds");
    // Every answer takes 10 ms: a 1 ms objective is never met.
    let (result, stdout) = capacity(
        &slow,
        &directory.join("never.json"),
        &[
            "--slo",
            "p99<=1ms",
            "--start",
            "20",
            "--step",
            "1s",
            "--ceiling",
            "100000",
        ],
    );
    let found = configuration(&result);
    assert_eq!(found["capacity"], serde_json::Value::Null);
    assert_eq!(found["trials"][0]["edge"]["found"], "never_held");
    assert_eq!(found["trials"][0]["steps"].as_array().unwrap().len(), 1);
    assert!(stdout.contains("NEVER HELD"), "{stdout}");
    assert!(stdout.contains("capacity: unknown"), "{stdout}");
    // A target that holds every rate up to the driver's ceiling (given
    // here as 200 per second) has no capacity this driver can measure.
    let (result, stdout) = capacity(
        &fast,
        &directory.join("beyond.json"),
        &[
            "--slo",
            "p99<=1s",
            "--start",
            "50",
            "--factor",
            "2",
            "--step",
            "1s",
            "--ceiling",
            "200",
        ],
    );
    let found = configuration(&result);
    assert_eq!(found["capacity"], serde_json::Value::Null);
    let trial = &found["trials"][0];
    assert_eq!(trial["edge"]["found"], "held_to_ceiling", "{trial:#}");
    let rates: Vec<f64> = trial["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["offered_rps"].as_f64().unwrap())
        .collect();
    assert_eq!(rates, [50.0, 100.0, 200.0]);
    assert!(stdout.contains("HELD TO THE DRIVER'S CEILING"), "{stdout}");
    runtime.block_on(async {
        slow_server.abort();
        fast_server.abort();
    });
}

#[test]
fn capacity_searches_every_configuration_of_a_grid_and_compare_reads_two() {
    let directory = scratch("capacity-grid");
    let out = directory.join("grid.json");
    let output = run(&[
        "capacity",
        "--workload",
        "ci",
        "--warmup",
        "200",
        "--nodes",
        "1,3",
        "--slo",
        "p99<=2s",
        "--start",
        "100",
        "--step",
        "1s",
        "--ceiling",
        "400",
        "--out",
        out.to_str().unwrap(),
        "--html",
        directory.join("grid.html").to_str().unwrap(),
    ]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The page holds the table as printed and the chart.
    let page = std::fs::read_to_string(directory.join("grid.html")).unwrap();
    let verdict = stdout
        .lines()
        .find(|line| line.contains("no verdict"))
        .unwrap();
    assert!(page.contains(verdict.trim()), "{verdict}");
    assert_eq!(page.matches("<figure><svg").count(), 1);
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let configurations = result["configurations"].as_array().unwrap();
    let nodes: Vec<u64> = configurations
        .iter()
        .map(|configuration| configuration["point"]["nodes"].as_u64().unwrap())
        .collect();
    assert_eq!(nodes, [1, 3]);
    for configuration in configurations {
        let steps = configuration["trials"][0]["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3, "{configuration:#}");
        assert!(steps.iter().all(|step| step["api_hit_ratio"].is_number()));
    }
    // Progress names the configuration; one trial gives no verdict.
    assert!(
        stderr.contains("[1n crc32 50r 1MiB] 100 req/s offered"),
        "{stderr}"
    );
    assert!(stdout.contains("no verdict: 1 trial(s)"), "{stdout}");

    // A capacity result compares with capacities, and not with runs.
    let compared = directory.join("compared.html");
    let output = run(&[
        "compare",
        out.to_str().unwrap(),
        out.to_str().unwrap(),
        "--html",
        compared.to_str().unwrap(),
    ]);
    let table = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let page = std::fs::read_to_string(&compared).unwrap();
    assert!(page.contains("HELD TO THE DRIVER&#39;S CEILING"), "{page}");
    assert_eq!(page.matches("<figure><svg").count(), 1);
    assert!(
        table.contains("HELD TO THE DRIVER'S CEILING") && table.contains("B       3 nodes, crc32"),
        "{table}"
    );
    let run_result = directory.join("run.json");
    std::fs::write(&run_result, "{}").unwrap();
    let output = run(&[
        "compare",
        run_result.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("a capacity result"),
        "{}",
        text(&output.stderr)
    );

    // Flags that make no sense here are refused, naming them.
    for (flags, named) in [
        (&["--rate", "100"][..], "--rate"),
        (&["--duration", "5s"][..], "--duration"),
        (
            &["--target", "http://127.0.0.1:1/api", "--nodes", "3"][..],
            "--target",
        ),
        (&["--slo", "p99"][..], "--slo"),
        (&["--max-errors", "2"][..], "--max-errors"),
        (&["--factor", "1"][..], "factor"),
    ] {
        let mut args = vec!["capacity", "--ceiling", "100"];
        args.extend_from_slice(flags);
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{flags:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
    }
    // A workload in stages has a rate of its own, which the search cannot
    // step: it is refused before anything runs, in one readable sentence.
    let staged = directory.join("staged.json");
    std::fs::write(
        &staged,
        r#"{ "name": "staged", "keys": 1000,
             "stages": [ { "duration": "1s", "rate": 200 } ] }"#,
    )
    .unwrap();
    let output = run(&[
        "capacity",
        "--ceiling",
        "100",
        "--workload",
        staged.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr).trim_end(),
        format!(
            "error: {}: the workload's stages give it a rate of its own; capacity sets each \
             step's rate: give a workload without stages",
            staged.display()
        )
    );
}
