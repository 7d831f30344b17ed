//! `compare` on real results.

use crate::common;

use std::path::{Path, PathBuf};

use common::{run, scratch, text};
use serde_json::Value;

fn result_of(directory: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let out = directory.join(format!("{name}.json"));
    let mut args = vec!["--out", out.to_str().unwrap(), "--no-calibrate"];
    args.extend_from_slice(flags);
    let output = run(&args);
    assert!(output.status.success(), "{name}: {}", text(&output.stderr));
    out
}

#[test]
fn compare_shows_what_differs_and_flags_other_workloads() {
    let directory = scratch("compare");
    let small = &["--workload", "ci", "--requests", "3000", "--warmup", "0"];
    let base = result_of(&directory, "base", small);
    let mut wide = small.to_vec();
    wide.extend(["--replicas", "200", "--hash", "xxh3"]);
    let wide = result_of(&directory, "wide", &wide);

    let output = run(&["compare", base.to_str().unwrap(), wide.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(table.contains("cluster.replicas"), "{table}");
    assert!(table.contains("cluster.hash"), "{table}");
    assert!(table.contains("throughput req/s"), "{table}");
    assert!(!table.contains("WARNING"), "{table}");

    // The latency curves, one per result, in an SVG.
    let svg_path = directory.join("latency.svg");
    let output = run(&[
        "compare",
        base.to_str().unwrap(),
        wide.to_str().unwrap(),
        "--plot",
        svg_path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    // Two latency curves, then the two series in each of four panels.
    assert_eq!(svg.matches("<polyline").count(), 2 + 2 * 4, "{svg}");
    assert!(svg.contains(">slow-store loads</text>"), "{svg}");
    assert!(svg.contains("A: base") && svg.contains("B: wide"), "{svg}");

    let output = run(&[
        "compare",
        base.to_str().unwrap(),
        wide.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["different_workloads"], false);
    let fields: Vec<&str> = json["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|difference| difference["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"workload.cluster.replicas"), "{fields:?}");
    assert!(!fields.contains(&"workload.keys"), "{fields:?}");
    // The same workload with the same seed on the same ring loads the same
    // keys: the ring's figures differ, the loads per request do not.
    let row = |key: &str| {
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["key"] == key)
            .unwrap()
            .clone()
    };
    let loads = row("slowdb_loads_per_request");
    assert_eq!(loads["values"][0], loads["values"][1]);
    assert_eq!(loads["change_percent"][1], 0.0);
    let ring = row("ring_imbalance");
    assert_ne!(ring["values"][0], ring["values"][1]);

    // Another workload is flagged.
    let other = result_of(
        &directory,
        "other",
        &[
            "--workload",
            "uniform",
            "--requests",
            "2000",
            "--warmup",
            "0",
            "--nodes",
            "2",
        ],
    );
    let output = run(&["compare", base.to_str().unwrap(), other.to_str().unwrap()]);
    assert!(output.status.success());
    assert!(text(&output.stdout).contains("WARNING: the results ran different workloads"));

    // Another schema version is refused.
    let mut old: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    old["schema_version"] = 0.into();
    let old_path = directory.join("old.json");
    std::fs::write(&old_path, old.to_string()).unwrap();
    let output = run(&[
        "compare",
        old_path.to_str().unwrap(),
        base.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("schema version 0"),
        "{}",
        text(&output.stderr)
    );
    std::fs::remove_dir_all(&directory).unwrap();
}
