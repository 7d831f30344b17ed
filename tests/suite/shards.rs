//! Sharded drivers (`--shard I/N`) against one `serve` cluster, begun at
//! one moment and merged: the union does the one-driver run's work.

use std::path::{Path, PathBuf};

use crate::common;

use common::{read_checked, run, scratch, text, Servers};
use geecache_bench::harness::report::{Incomplete, RunResult, SeriesReading};

/// A workload whose counted figures do not depend on how requests from
/// several drivers interleave: uniform keys over a space the warm-up
/// covers (each key is missed by 4,000 draws with odds e^-20), no
/// singleflight (which merges concurrent fetches by timing), no hot
/// cache. Every measured request is then a hit on the API node or a
/// fetch from the key's owner, by the key alone.
pub(crate) const WORKLOAD: &str = r#"{
  "name": "shardable",
  "keys": 200,
  "distribution": { "kind": "uniform" },
  "requests": 6000,
  "warmup_requests": 4000,
  "concurrency": 6,
  "value_size": 64,
  "slowdb": { "latency": { "kind": "fixed", "value": "0ms" }, "missing_share": 0.0 },
  "cluster": { "nodes": 3, "replicas": 50, "cache_bytes": "1MiB", "singleflight": false,
               "hot_cache": false, "source_header": true },
  "seed": 11
}"#;

/// Three `serve` nodes on 127.0.0.2-.4 sharing `port`, the first also
/// serving the API on `api_port`; their peer URLs and the API URL. The
/// same ports give the same ring.
fn cluster(workload: &Path, (port, api_port): (u16, u16)) -> (Servers, Vec<String>, String) {
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let (commands, peers) =
        super::hosts::serve_on_hosts(&hosts, port, api_port, workload.to_str().unwrap());
    let servers = Servers::spawn(&commands);
    (
        servers,
        peers,
        format!("http://{}:{api_port}/api", hosts[0]),
    )
}

fn driver_args(workload: &Path, target: &str, peers: &[String], out: &Path) -> Vec<String> {
    [
        "--workload",
        workload.to_str().unwrap(),
        "--no-calibrate",
        "--no-progress",
        "--target",
        target,
        "--peers",
        &peers.join(","),
        "--out",
        out.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Each node's gets, slow-store loads, peer fetches and hits.
pub(crate) fn per_node(result: &RunResult) -> Vec<[u64; 4]> {
    result
        .nodes
        .iter()
        .map(|node| {
            let stats = &node.stats.as_ref().expect("a node's stats").groups["scores"].stats;
            [
                stats.gets,
                stats.local_loads,
                stats.peer_loads,
                stats.cache_hits,
            ]
        })
        .collect()
}

#[test]
fn shards_begun_together_merge_into_the_one_driver_run() {
    let directory = scratch("shards");
    let workload = directory.join("shardable.json");
    std::fs::write(&workload, WORKLOAD).unwrap();
    let out = |name: &str| -> PathBuf { directory.join(format!("{name}.json")) };

    // One driver doing the whole work, on a cluster of its own.
    // Two ports free at once (so they differ) on 127.0.0.2.
    let held: Vec<_> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.2:0").unwrap())
        .collect();
    let port = |at: usize| held[at].local_addr().unwrap().port();
    let ports = (port(0), port(1));
    drop(held);
    let (servers, peers, target) = cluster(&workload, ports);
    let output = run(&driver_args(&workload, &target, &peers, &out("one"))
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(output.status.success(), "{}", text(&output.stderr));
    servers.stop();
    let one = read_checked(&out("one"));
    assert!(one.shard.is_none() && one.start.is_none());

    // Three shards on a fresh cluster, begun at one moment 4 s from now
    // (long enough for each to start and warm up on a loaded machine).
    let (servers, peers, target) = cluster(&workload, ports);
    let reference = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let drivers: Vec<std::process::Child> = (0..3)
        .map(|index| {
            let mut args = driver_args(&workload, &target, &peers, &out(&format!("shard-{index}")));
            args.extend([
                "--shard".to_owned(),
                format!("{index}/3"),
                "--start-after".to_owned(),
                "4s".to_owned(),
                "--start-reference".to_owned(),
                format!("{reference:.3}"),
            ]);
            common::binary()
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut printed = Vec::new();
    for driver in drivers {
        let output = driver.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        printed.push(text(&output.stdout));
    }
    servers.stop();
    let shards: Vec<RunResult> = (0..3)
        .map(|index| read_checked(&out(&format!("shard-{index}"))))
        .collect();
    let asked = (reference * 1000.0).round() as u64 + 4000;
    for (index, shard) in shards.iter().enumerate() {
        let figures = shard.shard.as_ref().expect("a shard's figures");
        assert_eq!((figures.index, figures.count), (index as u32, 3));
        assert_eq!(
            figures.fingerprint,
            shards[0].shard.as_ref().unwrap().fingerprint
        );
        assert_eq!(figures.share.concurrency, 2);
        assert_eq!(figures.share.requests, Some(2000));
        assert_eq!(shard.client.requests, 2000);
        assert_eq!(
            shard.workload.requests,
            Some(6000),
            "a shard keeps the whole workload"
        );
        let start = shard.start.as_ref().expect("the start moment");
        // Within a millisecond of the moment (its rounding), or late and
        // saying so.
        assert!(
            start.asked_unix_ms.abs_diff(asked) <= 1,
            "{start:?} against {asked}"
        );
        assert_eq!(start.began_unix_ms, start.asked_unix_ms + start.late_ms);
        assert_eq!(shard.measure_started_unix_ms, Some(start.began_unix_ms));
        assert!(
            printed[index].contains(&format!("shard {index}/3 (fingerprint")),
            "{}",
            printed[index]
        );
    }

    let names: Vec<String> = (0..3)
        .map(|index| out(&format!("shard-{index}")).display().to_string())
        .collect();
    let merged_path = out("merged");
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(names.iter().map(String::as_str));
    args.extend(["--out", merged_path.to_str().unwrap()]);
    let output = run(&args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("start skew"),
        "{}",
        text(&output.stdout)
    );
    let merged = read_checked(&merged_path);
    assert!(merged.shard.is_none());
    let skew = merged.start_skew_ms.unwrap();
    let late = shards
        .iter()
        .map(|shard| shard.start.as_ref().unwrap().late_ms)
        .max()
        .unwrap();
    assert!(
        skew <= late + 1,
        "skew {skew} ms with the latest {late} ms late"
    );
    // The union's work is the one driver's, node by node.
    assert_eq!(merged.client.requests, one.client.requests);
    assert_eq!(merged.client.warmup_requests, one.client.warmup_requests);
    assert_eq!(merged.client.connections, one.client.connections);
    assert_eq!(merged.client.errors.total, 0);
    assert_eq!(per_node(&merged), per_node(&one));
    let (m, o) = (
        merged.cluster.as_ref().unwrap(),
        one.cluster.as_ref().unwrap(),
    );
    assert_eq!(m.api_hit_ratio, o.api_hit_ratio);
    assert_eq!(m.peer_fetch_ratio, o.peer_fetch_ratio);
    assert_eq!(m.slowdb.loads, o.slowdb.loads);
    // The histograms add up: every answer once.
    assert_eq!(merged.client.responses, one.client.responses);

    // A directory stands for the results in it, the output excepted.
    let shard_dir = directory.join("shards");
    std::fs::create_dir_all(&shard_dir).unwrap();
    for name in &names {
        let file = Path::new(name);
        std::fs::copy(file, shard_dir.join(file.file_name().unwrap())).unwrap();
    }
    let inside = shard_dir.join("merged.json");
    for _ in 0..2 {
        // The second time, the first's output is in the directory.
        let output = run(&[
            "merge",
            shard_dir.to_str().unwrap(),
            "--out",
            inside.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert_eq!(
            read_checked(&inside).client.requests,
            merged.client.requests
        );
    }
    std::fs::remove_file(shard_dir.join("shard-1.json")).unwrap();
    std::fs::remove_file(shard_dir.join("shard-2.json")).unwrap();
    let output = run(&[
        "merge",
        shard_dir.to_str().unwrap(),
        "--out",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("merge needs two results or more; 1 given"),
        "{}",
        text(&output.stderr)
    );

    // The gate takes a merged result as it takes any other: itself is no
    // regression; the same with 60 requests failed is one.
    let merged_name = merged_path.to_str().unwrap();
    let output = run(&["check", "--baseline", merged_name, merged_name]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    let mut worse = merged.clone();
    worse.client.errors.total += 60;
    worse.client.errors.timeout += 60;
    let worse_path = out("worse");
    std::fs::write(&worse_path, serde_json::to_string(&worse).unwrap()).unwrap();
    let output = run(&[
        "check",
        "--baseline",
        merged_name,
        worse_path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(
        text(&output.stdout).contains("1 REGRESSION"),
        "{}",
        text(&output.stdout)
    );

    // A shard missing, given twice, or of another run is named.
    let refused = |paths: &[&str], says: &str| {
        let mut args: Vec<&str> = vec!["merge"];
        args.extend(paths);
        let elsewhere = out("refused");
        args.extend(["--out", elsewhere.to_str().unwrap()]);
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{paths:?}");
        assert!(
            text(&output.stderr).contains(says),
            "{}",
            text(&output.stderr)
        );
    };
    refused(&[&names[0], &names[1]], "shard 2/3 of the run");
    refused(
        &[&names[0], &names[1], &names[1]],
        "shard 1/3 is given twice",
    );
    let mut foreign = shards[2].clone();
    foreign.shard.as_mut().unwrap().fingerprint = "0000000000000000".to_owned();
    let foreign_path = out("foreign");
    std::fs::write(&foreign_path, serde_json::to_string(&foreign).unwrap()).unwrap();
    refused(
        &[&names[0], &names[1], foreign_path.to_str().unwrap()],
        "of another run",
    );
    let one_path = out("one");
    refused(
        &[&names[0], &names[1], &names[2], one_path.to_str().unwrap()],
        "is not a shard",
    );

    // A shard killed mid-run left a checkpoint: merged, it is named, and
    // the union is marked incomplete.
    let mut killed = shards[1].clone();
    killed.incomplete = Some(Incomplete {
        last_interval: Some(0),
        measured_secs: 1.0,
        trials_whole: 0,
        trials_asked: 1,
    });
    let killed_path = out("killed");
    std::fs::write(&killed_path, serde_json::to_string(&killed).unwrap()).unwrap();
    let partial = out("partial");
    let output = run(&[
        "merge",
        &names[0],
        killed_path.to_str().unwrap(),
        &names[2],
        "--out",
        partial.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(&format!(
            "{} is incomplete: it was written while the run went on",
            killed_path.display()
        )),
        "{}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("INCOMPLETE: this result was"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(read_checked(&partial).incomplete, killed.incomplete);
}

#[test]
fn a_split_that_cannot_be_made_or_a_shard_of_its_own_cluster_exits_2() {
    for (args, says) in [
        (
            vec![
                "--workload",
                "ci",
                "--shard",
                "0/3",
                "--concurrency",
                "2",
                "--target",
                "http://127.0.0.1:9/api",
            ],
            "2 connections leave shard 2 with none",
        ),
        (
            vec![
                "--workload",
                "ci",
                "--shard",
                "3/3",
                "--target",
                "http://127.0.0.1:9/api",
            ],
            "shards count from 0",
        ),
        (vec!["--workload", "ci", "--shard", "0/2"], "--target"),
        (
            vec![
                "--workload",
                "ci",
                "--start-at",
                "soon",
                "--target",
                "http://127.0.0.1:9/api",
            ],
            "RFC 3339",
        ),
        (
            vec![
                "--workload",
                "ci",
                "--start-after",
                "2h",
                "--target",
                "http://127.0.0.1:9/api",
            ],
            "past the workload's time limit",
        ),
    ] {
        let output = run(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stderr).contains(says),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

#[test]
fn a_driver_waits_for_a_target_that_comes_up_late_and_says_when_it_is_late() {
    let directory = scratch("late-target");
    let out = directory.join("late.json");
    let port = super::hosts::free_port("127.0.0.2");
    let peer = format!("http://127.0.0.2:{port}");
    let target = format!("{peer}/api");
    let asked = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let asked = asked
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The driver starts first; the node a second later.
    let driver = common::binary()
        .args([
            "--workload",
            "ci",
            "--requests",
            "500",
            "--warmup",
            "0",
            "--no-calibrate",
            "--no-progress",
            "--target",
            &target,
            "--wait-for-target",
            "30s",
            // Shard 1 of 2: one connection, and the other shard's requests
            // (none here) would reach the cluster between its own.
            "--concurrency",
            "2",
            "--shard",
            "1/2",
            "--start-at",
            &asked.to_string(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let servers = Servers::spawn(&[[
        "serve",
        "--listen",
        &format!("127.0.0.2:{port}"),
        "--peers",
        &peer,
        "--workload",
        "ci",
    ]
    .map(str::to_owned)
    .to_vec()]);
    // The node serves /api only on an API port: this one answers 404 to
    // /api, which the driver counts, but it is there.
    let output = driver.wait_with_output().unwrap();
    servers.stop();
    let stderr = text(&output.stderr);
    assert!(stderr.contains("late: measuring began"), "{stderr}");
    let result = read_checked(&out);
    let start = result.start.unwrap();
    assert_eq!(start.asked_unix_ms, asked * 1000);
    assert!(start.late_ms >= 60_000, "{start:?}");
    assert_eq!(result.client.requests, 250);
    assert_eq!(result.shard.unwrap().share.concurrency, 1);
    // A shard's one connection does not make the cluster's figures its own.
    assert_eq!(result.series_reading, SeriesReading::Timer);

    // Without the wait, a target that is not there ends the run at once.
    let output = run(&["--workload", "ci", "--no-calibrate", "--target", &target]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("cannot reach the target"));
}
