//! `ring` from the command line: spreads and membership changes.

use crate::common;

use serde_json::Value;

#[test]
fn ring_join_and_leave_report_moved_keys_against_the_ideal() {
    let output = common::run(&[
        "ring",
        "--nodes",
        "3,8",
        "--replicas",
        "10,1000",
        "--hash",
        "xxh3",
        "--keys",
        "50000",
        "--join",
        "1",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", common::text(&output.stderr));
    let reports: Value = serde_json::from_slice(&output.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 4);
    for report in reports {
        let nodes = report["nodes"].as_u64().unwrap() as f64;
        assert_eq!(report["change"], "join");
        assert_eq!(
            report["ideal_moved_share"].as_f64().unwrap(),
            1.0 / (nodes + 1.0)
        );
        let moved = report["moved_share"].as_f64().unwrap();
        assert!(moved > 0.0 && moved < 0.5, "{report}");
        let per_node = report["per_node"].as_array().unwrap();
        assert_eq!(per_node.len() as f64, nodes + 1.0);
        let gained: u64 = per_node
            .iter()
            .map(|node| node["moved_to"].as_u64().unwrap())
            .sum();
        assert_eq!(gained, report["moved_keys"].as_u64().unwrap());
    }
    let output = common::run(&["ring", "--nodes", "3", "--leave", "0", "--keys", "20000"]);
    assert!(output.status.success());
    let table = common::text(&output.stdout);
    assert!(table.contains("node 0 leaves"), "{table}");
    assert!(table.contains("moved/ideal"), "{table}");
    // Every leave moves exactly the leaver's keys: moved/ideal is 1.
    let rows: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|row| row.contains(" 1.000 ")), "{table}");
    let output = common::run(&["ring", "--nodes", "3,5", "--leave", "4"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(common::text(&output.stderr).contains("--leave"));
}
