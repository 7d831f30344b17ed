//! The miss-ratio curve against real clusters on 127.0.0.1: deterministic
//! runs (one request in flight) at three cache sizes land exactly on it,
//! node by node, for a workload and for a trace; and `mrc`'s outputs.

mod common;

use common::{read_checked, run, scratch, text};

/// Each node's slow-store loads at `size` per node, from `mrc --format csv`.
fn curve_loads(workload: &str, flags: &[&str], size: &str) -> Vec<u64> {
    let mut args = vec![
        "mrc",
        "--workload",
        workload,
        "--format",
        "csv",
        "--cache-bytes",
        size,
    ];
    args.extend_from_slice(flags);
    let output = run(&args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csv = text(&output.stdout);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let bytes = geecache_bench::units::ByteSize::parse(size)
        .unwrap()
        .0
        .to_string();
    let row: Vec<&str> = lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|row| row[0] == bytes)
        .unwrap_or_else(|| panic!("no row for {size} in\n{csv}"));
    header
        .iter()
        .zip(&row)
        .filter(|(name, _)| name.starts_with("node") && name.ends_with("_loads"))
        .map(|(_, value)| value.parse().unwrap())
        .collect()
}

#[test]
fn deterministic_runs_at_three_sizes_land_on_the_curve() {
    let dir = scratch("mrc-runs");
    let workload = dir.join("w.json");
    std::fs::write(
        &workload,
        r#"{ "name": "mrc", "keys": 3000, "distribution": { "kind": "zipf", "exponent": 0.9 },
             "requests": 4000, "warmup_requests": 1000, "value_size": 120,
             "slowdb": { "latency": { "kind": "none" }, "missing_share": 0.03 } }"#,
    )
    .unwrap();
    let workload = workload.to_str().unwrap();
    for size in ["24KiB", "96KiB", "384KiB"] {
        let out = common::deterministic_run(
            &dir,
            &format!("run-{size}"),
            &std::fs::read_to_string(workload).unwrap(),
            &["--cache-bytes", size],
        );
        let result = read_checked(&out);
        let loads: Vec<u64> = result
            .nodes
            .iter()
            .map(|node| node.slowdb_loads.unwrap())
            .collect();
        assert_eq!(loads, curve_loads(workload, &[], size), "{size}");
    }
    // A trace, its sizes included: the shipped sample.
    for size in ["16KiB", "64KiB", "256KiB"] {
        let flags = ["--requests", "3000", "--warmup", "1000"];
        let out = dir.join(format!("trace-{size}.json"));
        let output = run(&[
            "--workload",
            "twitter-sample",
            "--deterministic",
            "--requests",
            "3000",
            "--warmup",
            "1000",
            "--cache-bytes",
            size,
            "--slowdb-latency",
            "none",
            "--no-calibrate",
            "--no-progress",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let result = read_checked(&out);
        let loads: Vec<u64> = result
            .nodes
            .iter()
            .map(|node| node.slowdb_loads.unwrap())
            .collect();
        assert_eq!(loads, curve_loads("twitter-sample", &flags, size), "{size}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_curve_falls_as_caches_grow_and_prints_in_three_formats() {
    let flags = [
        "mrc",
        "--workload",
        "ci",
        "--requests",
        "20000",
        "--warmup",
        "2000",
    ];
    let table = run(&flags);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let table = text(&table.stdout);
    assert!(table.contains("every size in one pass"), "{table}");
    let json = run(&[&flags[..], &["--format", "json"]].concat());
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let points = json["points"].as_array().unwrap();
    assert!(points.len() >= 5, "{json}");
    let ratios: Vec<f64> = points
        .iter()
        .map(|point| point["miss_ratio"].as_f64().unwrap())
        .collect();
    assert!(
        ratios.windows(2).all(|pair| pair[1] <= pair[0]),
        "{ratios:?}"
    );
    assert!(ratios[0] > ratios[ratios.len() - 1]);
    let refused = run(&["mrc", "--workload", "hot-shift"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("events"),
        "{}",
        text(&refused.stderr)
    );
}
