//! A run's latency histogram as the percentile distribution text wrk2
//! prints and HdrHistogram's plotter reads: written by `--hgrm` and by
//! `export --hgrm`, and read back as the result's own figures.

use crate::common;

use common::{run, run_workload, scratch, text};
use geecache_bench::harness::latency::read_percentile_distribution;

#[test]
fn a_runs_percentile_distribution_reads_back_as_its_figures() {
    let directory = scratch("export");
    let hgrm = directory.join("run.hgrm");
    let result = run_workload(
        &directory,
        "hgrm",
        r#"{ "name": "hgrm", "keys": 1000, "requests": 5000, "warmup_requests": 0 }"#,
        &["--hgrm", hgrm.to_str().unwrap()],
    );
    let written = std::fs::read_to_string(&hgrm).unwrap();
    // export writes the same text from the stored histogram.
    let output = run(&[
        "export",
        "--hgrm",
        directory.join("hgrm-result.json").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), written);

    let rows = read_percentile_distribution(&written).unwrap();
    for pair in rows.windows(2) {
        assert!(
            pair[0].0 <= pair[1].0 && pair[0].1 < pair[1].1 && pair[0].2 <= pair[1].2,
            "{pair:?}"
        );
    }
    let count = result.histogram.decode().unwrap().len();
    assert_eq!(count, 5000);
    let last = rows.last().unwrap();
    assert_eq!((last.1, last.2), (1.0, count));
    let latency = &result.client.latency_us;
    for (quantile, expected) in [
        (0.5, latency.p50),
        (0.99, latency.p99),
        (0.999, latency.p99_9),
    ] {
        let row = rows.iter().find(|row| row.1 == quantile).unwrap();
        assert_eq!((row.0 * 1000.0).round() as u64, expected, "{quantile}");
    }

    // A file that is not a result is refused, naming it.
    let output = run(&["export", "--hgrm", hgrm.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("run.hgrm"),
        "{}",
        text(&output.stderr)
    );
}
