//! `sweep` runs every configuration of a grid on a fresh cluster and writes
//! each result plus one summary, as JSON and CSV.

use crate::common;

use std::path::{Path, PathBuf};

use common::{read_checked, run, scratch, text};

/// Sweeps the shortened CI workload over `grid` into `directory`; returns
/// stdout and stderr.
fn sweep(directory: &Path, requests: &str, grid: &[&str]) -> (String, String) {
    let mut args = vec![
        "sweep",
        "--workload",
        "ci",
        "--requests",
        requests,
        "--warmup",
        "200",
        "--no-calibrate",
        "--no-progress",
        "--results-dir",
        directory.to_str().unwrap(),
    ];
    args.extend_from_slice(grid);
    let output = run(&args);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

/// The sweep summary's file with this extension.
fn summary_file(directory: &Path, extension: &str) -> PathBuf {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.is_file() && path.extension().is_some_and(|ext| ext == extension))
        .unwrap_or_else(|| panic!("no summary .{extension}"))
}

#[test]
fn a_sweep_runs_the_whole_grid_and_writes_each_result_and_a_summary() {
    let directory = scratch("sweep");
    let (stdout, stderr) = sweep(
        &directory,
        "3000",
        &[
            "--nodes",
            "1,3",
            "--hash",
            "crc32,xxh3",
            "--replicas",
            "10",
            "--cache-bytes",
            "16KiB,1MiB",
        ],
    );
    // Progress across the grid.
    assert!(
        stderr.contains("[1/8] 1 nodes, crc32, 10 replicas, 16KiB"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[8/8] 3 nodes, xxh3, 10 replicas, 1MiB"),
        "{stderr}"
    );

    // The summary JSON: a row per configuration, each with its result.
    let json = summary_file(&directory, "json");
    let csv = summary_file(&directory, "csv");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8, "{summary:#}");
    assert_eq!(summary["interrupted"], false);
    let mut seen = std::collections::BTreeSet::new();
    for row in rows {
        let nodes = row["nodes"].as_u64().unwrap();
        let hash = row["hash"].as_str().unwrap().to_owned();
        let cache = row["cache_bytes"].as_str().unwrap().to_owned();
        assert!(seen.insert((nodes, hash.clone(), cache.clone())), "{row}");
        let result = read_checked(std::path::Path::new(row["result"].as_str().unwrap()));
        let cluster = &result.workload.cluster;
        assert_eq!(u64::from(cluster.nodes), nodes);
        assert_eq!(cluster.hash.name(), hash);
        assert_eq!(cluster.replicas, 10);
        assert_eq!(cluster.cache_bytes.to_string(), cache);
        assert_eq!(result.client.requests, 3000);
        let figures = &row["figures"];
        if nodes == 1 {
            assert_eq!(figures["peer_fetch_ratio"], 0.0, "{row}");
        } else {
            assert!(figures["peer_fetch_ratio"].as_f64().unwrap() > 0.3, "{row}");
        }
    }
    // A cache that holds the key space loads each key once; one that holds
    // a few dozen values loads evicted keys again, whatever the ring.
    let figure = |nodes: u64, hash: &str, cache: &str, name: &str| {
        rows.iter()
            .find(|row| row["nodes"] == nodes && row["hash"] == hash && row["cache_bytes"] == cache)
            .and_then(|row| row["figures"][name].as_f64())
            .unwrap()
    };
    for nodes in [1, 3] {
        for hash in ["crc32", "xxh3"] {
            assert_eq!(
                figure(nodes, hash, "1MiB", "duplicate_loads"),
                0.0,
                "{summary:#}"
            );
            assert!(
                figure(nodes, hash, "16KiB", "duplicate_loads") > 0.0,
                "{summary:#}"
            );
            assert!(
                figure(nodes, hash, "1MiB", "slowdb_loads_per_request")
                    < figure(nodes, hash, "16KiB", "slowdb_loads_per_request"),
                "{summary:#}"
            );
        }
    }

    // The charts: hit ratio and loads against cache size (the grid varies
    // it, not the replicas), and the eight latency curves.
    let svg = std::fs::read_to_string(summary_file(&directory, "svg")).unwrap();
    assert!(svg.contains("API hit ratio against cache size"), "{svg}");
    assert!(!svg.contains("against replicas"), "{svg}");
    // Three panels of four lines (nodes x hash: hit ratio, loads,
    // throughput), one of eight curves; one trial each: no error bars.
    assert_eq!(svg.matches("<polyline").count(), 4 + 4 + 4 + 8, "{svg}");
    assert!(!svg.contains(r#"class="bar""#), "{svg}");

    // The CSV: a header and a line per configuration.
    let csv = std::fs::read_to_string(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 9, "{csv}");
    assert!(
        lines[0].starts_with("nodes,hash,replicas,cache_bytes,throughput_rps"),
        "{csv}"
    );
    assert!(lines[1].starts_with("1,crc32,10,16384,"), "{csv}");

    // The table: a header and a row per configuration.
    assert_eq!(
        stdout
            .lines()
            .filter(|line| line.trim_start().starts_with(['1', '3']))
            .count(),
        8,
        "{stdout}"
    );
}

#[test]
fn a_repeated_sweep_interleaves_its_rounds_and_shows_intervals_and_ties() {
    let directory = scratch("sweep-repeat");
    let (stdout, stderr) = sweep(
        &directory,
        "2000",
        &["--cache-bytes", "16KiB,1MiB", "--repeat", "3"],
    );
    // Round 1 in grid order, round 2 reversed, round 3 starting later.
    let order: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("[round"))
        .map(|line| {
            if line.ends_with("16KiB") {
                "16KiB"
            } else {
                "1MiB"
            }
        })
        .collect();
    assert_eq!(
        order,
        ["16KiB", "1MiB", "1MiB", "16KiB", "1MiB", "16KiB"],
        "{stderr}"
    );
    assert!(stderr.contains("[round 2/3 1/2]"), "{stderr}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary_file(&directory, "json")).unwrap())
            .unwrap();
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let mut standings = Vec::new();
    for row in rows {
        assert_eq!(row["trials"], 3, "{row}");
        let throughput = &row["timed"]["throughput_rps"];
        let (low, median, high) = (
            throughput["low"].as_f64().unwrap(),
            throughput["median"].as_f64().unwrap(),
            throughput["high"].as_f64().unwrap(),
        );
        assert!(low <= median && median <= high, "{row}");
        assert_eq!(row["figures"]["throughput_rps"].as_f64(), Some(median));
        let result = read_checked(std::path::Path::new(row["result"].as_str().unwrap()));
        assert_eq!(result.trials.len(), 3);
        standings.push(row["throughput_vs_best"].as_str().unwrap().to_owned());
    }
    standings.sort();
    assert!(
        standings == ["best", "tie"] || standings == ["best", "slower"],
        "{standings:?}"
    );
    // The table shows intervals and the standing; the chart error bars.
    assert!(stdout.contains("best") && stdout.contains(" ["), "{stdout}");
    assert!(stdout.contains("3 trials per configuration"), "{stdout}");
    // 1 MiB a node never fills in 2,200 requests: the sweep says the
    // comparison cannot see that size; 16 KiB filled.
    let warning = stdout
        .lines()
        .find(|line| line.starts_with("WARNING: these differ in cache size"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        warning.contains("(1MiB: ") && !warning.contains("(16KiB"),
        "{warning}"
    );
    for row in rows {
        let filled = row["caches"]["evictions"].as_u64().unwrap() > 0;
        assert_eq!(filled, row["cache_bytes"] == "16KiB", "{row}");
    }
    let svg = std::fs::read_to_string(summary_file(&directory, "svg")).unwrap();
    assert!(svg.contains("throughput req/s against cache size"), "{svg}");
    assert_eq!(svg.matches(r#"class="bar""#).count(), 2, "{svg}");
}
