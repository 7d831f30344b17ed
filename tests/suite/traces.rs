//! Traces replayed end to end: small traces in every format, written here
//! with known counts (records, reads, distinct keys, bytes, what is
//! skipped), run on real clusters on 127.0.0.1, checked against the
//! result, the cluster's caches and the model; bad traces refused before
//! a cluster starts.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use common::{read_checked, run, scratch, text};
use geecache_bench::harness::driver::StopReason;
use geecache_bench::harness::report::RunResult;
use geecache_bench::harness::trace::oracle_general_record;

/// oracleGeneral records: (time in s, id, size).
fn oracle(records: &[(u32, u64, u32)]) -> Vec<u8> {
    records
        .iter()
        .flat_map(|&(time, id, size)| oracle_general_record(time, id, size))
        .collect()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

/// A deterministic sequence of object numbers below `objects`, skewed
/// toward small ones.
fn objects(count: usize, objects: u64, seed: u64) -> Vec<u64> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let draw = (state >> 33) % (objects * objects);
            // The square root of a uniform draw: small numbers more often.
            objects - 1 - (draw as f64).sqrt() as u64
        })
        .collect()
}

/// What a trace holds, counted as it was written.
#[derive(Debug, Default)]
struct Known {
    records: u64,
    reads: u64,
    keys: u64,
    bytes: u64,
    key_bytes: u64,
    zero_size: u64,
    operations: Vec<(&'static str, u64)>,
}

/// Counts reads of `(key, size)` in order, the first size of a key being
/// its size.
fn count_reads<'a>(known: &mut Known, reads: impl Iterator<Item = (&'a str, u64)>) {
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    for (key, size) in reads {
        known.reads += 1;
        let size = *sizes.entry(key).or_insert(size);
        known.bytes += size;
    }
    known.keys = sizes.len() as u64;
    known.key_bytes = sizes.values().sum();
}

/// A workload replaying `trace` (a path relative to the workload's
/// folder), with no store delay and caches that hold every key.
fn workload(name: &str, trace: &str, extra: &str) -> String {
    format!(
        r#"{{ "name": "{name}", "trace": {{ "path": "{trace}" {extra} }},
             "slowdb": {{ "latency": {{ "kind": "none" }} }},
             "cluster": {{ "cache_bytes": "64MiB", "source_header": true }} }}"#
    )
}

/// Runs `workload` with one request in flight: the result, and its path.
fn deterministic(dir: &Path, name: &str, workload: &str, flags: &[&str]) -> (RunResult, PathBuf) {
    let out = common::deterministic_run(dir, name, workload, flags);
    (read_checked(&out), out)
}

/// `simulate --verify` finds every counter of the result at `out` as the
/// model predicts.
fn verified(out: &Path) {
    let verify = run(&["simulate", "--verify", out.to_str().unwrap()]);
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    assert!(text(&verify.stdout).contains("every counter as predicted"));
}

/// The result holds the trace's counts; every read was answered with the
/// key's value at the trace's size; the caches hold, in bytes, each key's
/// name and its first size; the model predicts every counter.
fn check_replay(result: &RunResult, out: &Path, known: &Known) {
    let trace = result.trace.as_ref().expect("the result records its trace");
    assert_eq!(trace.records, known.records, "records");
    assert_eq!(trace.reads, known.reads, "reads");
    assert_eq!(trace.keys, known.keys, "keys");
    assert_eq!(trace.bytes, known.bytes, "bytes");
    assert_eq!(trace.key_bytes, known.key_bytes, "key bytes");
    assert_eq!(trace.skipped.zero_size, known.zero_size, "size 0");
    let operations: Vec<(&str, u64)> = trace
        .skipped
        .operations
        .iter()
        .map(|(name, count)| (name.as_str(), *count))
        .collect();
    assert_eq!(operations, known.operations, "operations");
    assert_eq!(result.workload.keys, known.keys);
    // No warm-up: every read is measured, each answered.
    assert_eq!(result.client.requests, known.reads);
    assert_eq!(result.client.ok, known.reads, "{:?}", result.client.errors);
    assert_eq!(result.client.stopped_by, StopReason::Requests);
    let slowdb = &result.cluster.as_ref().unwrap().slowdb;
    assert_eq!(slowdb.first_loads, Some(known.keys), "one load per key");
    // key{n} for n below the key count: their names' lengths.
    let names: u64 = (0..known.keys)
        .map(|n| format!("key{n}").len() as u64)
        .sum();
    let held: u64 = result
        .nodes
        .iter()
        .map(|node| node.cache_bytes.unwrap_or(0))
        .sum();
    assert_eq!(held, names + known.key_bytes, "the caches' bytes");
    verified(out);
}

#[test]
fn every_format_replays_with_its_counts_and_the_model_follows() {
    let dir = scratch("trace-formats");
    let ids = objects(3000, 400, 7);
    let size_of = |id: u64| 50 + (id * 37) % 900;

    // oracleGeneral, zstd-compressed, with reads of size 0 (skipped).
    let mut records = Vec::new();
    let mut known = Known::default();
    let mut reads = Vec::new();
    let names: Vec<String> = ids.iter().map(|id| format!("{}", id * 1_000_003)).collect();
    for (at, (&id, name)) in ids.iter().zip(&names).enumerate() {
        let size = if at % 10 == 9 { 0 } else { size_of(id) as u32 };
        records.push(((at / 100) as u32, id * 1_000_003, size));
        if size == 0 {
            known.zero_size += 1;
        } else {
            reads.push((name.as_str(), u64::from(size)));
        }
    }
    known.records = records.len() as u64;
    count_reads(&mut known, reads.into_iter());
    std::fs::write(dir.join("oracle.bin.zst"), zstd(&oracle(&records))).unwrap();
    let (result, out) = deterministic(
        &dir,
        "oracle",
        &workload("oracle", "oracle.bin.zst", r#", "format": "oracleGeneral""#),
        &[],
    );
    let trace = result.trace.as_ref().unwrap();
    assert!(trace.compressed);
    assert_eq!(trace.span_secs, Some(29.0));
    check_replay(&result, &out, &known);

    // Twitter's CSV, recognised by its first line: gets and gets, sets
    // and deletes (counted, skipped), sizes that change (the first counts).
    let mut lines = String::new();
    let mut known = Known::default();
    let keys: Vec<String> = ids.iter().map(|id| format!("K{id:08}.abcdef")).collect();
    let mut reads = Vec::new();
    let (mut sets, mut deletes) = (0, 0);
    for (at, (&id, key)) in ids.iter().zip(&keys).enumerate() {
        let (op, size) = match at % 9 {
            4 => ("set", size_of(id)),
            7 => ("delete", 0),
            5 => ("gets", size_of(id) + (at as u64 % 3)),
            _ => ("get", size_of(id)),
        };
        lines.push_str(&format!(
            "{},{key},{},{size},3,{op},0\n",
            at / 100,
            key.len()
        ));
        match op {
            "set" => sets += 1,
            "delete" => deletes += 1,
            _ => reads.push((key.as_str(), size)),
        }
    }
    known.records = ids.len() as u64;
    known.operations = vec![("delete", deletes), ("set", sets)];
    count_reads(&mut known, reads.into_iter());
    std::fs::write(dir.join("cluster9.csv"), &lines).unwrap();
    let (result, out) = deterministic(
        &dir,
        "twitter",
        &workload("twitter", "cluster9.csv", ""),
        &[],
    );
    assert_eq!(result.trace.as_ref().unwrap().format.to_string(), "twitter");
    check_replay(&result, &out, &known);

    // A CSV with a header and its own columns: `;` between, the id third.
    let mut lines = String::from("size;time;id\n");
    let mut known = Known::default();
    let mut reads = Vec::new();
    for (at, (&id, name)) in ids.iter().zip(&names).enumerate() {
        lines.push_str(&format!("{};{}.5;{name}\n", size_of(id), at / 100));
        reads.push((name.as_str(), size_of(id)));
    }
    known.records = ids.len() as u64 + 1;
    count_reads(&mut known, reads.into_iter());
    std::fs::write(dir.join("columns.txt"), &lines).unwrap();
    let (result, out) = deterministic(
        &dir,
        "csv",
        &workload(
            "csv",
            "columns.txt",
            r#", "format": "csv:size=1,time=2,id=3,delimiter=;,header=true""#,
        ),
        &[],
    );
    check_replay(&result, &out, &known);

    // Plain keys: every value has the workload's size (100).
    let mut lines = String::new();
    let mut known = Known::default();
    for key in &keys {
        lines.push_str(key);
        lines.push('\n');
    }
    known.records = keys.len() as u64;
    count_reads(&mut known, keys.iter().map(|key| (key.as_str(), 100)));
    std::fs::write(dir.join("keys.txt"), &lines).unwrap();
    let (result, out) = deterministic(&dir, "keys", &workload("keys", "keys.txt", ""), &[]);
    assert!(!result.trace.as_ref().unwrap().sizes_from_trace);
    check_replay(&result, &out, &known);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn limits_samples_and_warm_up_cut_the_trace_as_the_model_does() {
    let dir = scratch("trace-cuts");
    let ids = objects(4000, 1000, 3);
    let records: Vec<(u32, u64, u32)> = ids.iter().map(|&id| (0, id, 200)).collect();
    std::fs::write(dir.join("t.oracleGeneral"), oracle(&records)).unwrap();
    // A sample of a third keeps about a third of the keys, whole: the
    // model, which numbers keys as the run did, predicts every counter.
    let (result, out) = deterministic(
        &dir,
        "sampled",
        &workload("sampled", "t.oracleGeneral", ""),
        &[
            "--sample",
            "0.33",
            "--warmup",
            "500",
            "--cache-bytes",
            "32KiB",
        ],
    );
    let trace = result.trace.as_ref().unwrap();
    let distinct = ids.iter().collect::<HashSet<_>>().len() as u64;
    assert!(
        trace.keys > distinct / 5 && trace.keys < distinct / 2,
        "{} of {distinct}",
        trace.keys
    );
    assert_eq!(trace.reads + trace.skipped.sampled_out, ids.len() as u64);
    assert_eq!(result.client.requests, trace.reads - 500);
    verified(&out);
    // A limit stops the scan there; requests beyond the trace end the run
    // when it ends.
    let (result, _) = deterministic(
        &dir,
        "limited",
        &workload("limited", "t.oracleGeneral", r#", "limit": 1500"#),
        &["--requests", "5000", "--warmup", "100"],
    );
    let trace = result.trace.as_ref().unwrap();
    assert_eq!((trace.reads, trace.whole), (1500, false));
    assert_eq!(result.client.requests, 1400);
    assert_eq!(result.client.stopped_by, StopReason::TraceEnded);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn timestamps_pace_the_replay() {
    let dir = scratch("trace-paced");
    // 200 reads over 4 seconds of trace time, replayed 4 times as fast:
    // the last is due a second after the first.
    let mut lines = String::new();
    for at in 0..200u64 {
        lines.push_str(&format!("{},k{},4,64,1,get,0\n", at / 50, at % 37));
    }
    std::fs::write(dir.join("paced.csv"), &lines).unwrap();
    let (result, _) = deterministic(
        &dir,
        "paced",
        &workload("paced", "paced.csv", r#", "speed": 4"#),
        &[],
    );
    assert_eq!(result.client.requests, 200);
    // A closed loop sends 200 requests in milliseconds; on schedule the
    // last goes no sooner than 0.98 s after the first.
    assert!(
        result.client.duration_secs >= 0.98,
        "{}",
        result.client.duration_secs
    );
    assert!(
        result.service_histogram.is_some(),
        "an open loop's service times"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the binary with `args`: its exit status and stderr.
fn refused(args: &[&str]) -> (Option<i32>, String) {
    let output = run(args);
    (output.status.code(), text(&output.stderr))
}

#[test]
fn bad_traces_exit_2_naming_the_file_the_record_and_the_field() {
    let dir = scratch("trace-bad");
    let path = |name: &str| dir.join(name).display().to_string();
    let mut cut = oracle(&[(1, 1, 10), (1, 2, 10), (2, 3, 10)]);
    cut.truncate(24 * 2 + 5);
    std::fs::write(dir.join("cut.oracleGeneral"), cut).unwrap();
    std::fs::write(
        dir.join("sizes.csv"),
        "1,a,3,44,1,get,0\n2,b,3,4x4,1,get,0\n",
    )
    .unwrap();
    std::fs::write(dir.join("cols.csv"), "1,2\n3,4\n").unwrap();
    let cases: [(Vec<String>, String); 6] = [
        (
            vec!["--trace".into(), path("cut.oracleGeneral")],
            format!(
                "{}: record 3: truncated: the file ends 5 bytes into a 24-byte oracleGeneral record",
                path("cut.oracleGeneral")
            ),
        ),
        (
            vec!["--trace".into(), path("sizes.csv")],
            format!("{}: line 2: value size: \"4x4\" is not a whole number", path("sizes.csv")),
        ),
        (
            vec!["--trace".into(), path("cols.csv"), "--trace-format".into(), "csv:id=1,size=3".into()],
            format!("{}: line 1: 2 columns, and the spec names column 3", path("cols.csv")),
        ),
        (
            vec!["--trace".into(), path("cols.csv")],
            "cannot tell the trace's format".into(),
        ),
        (
            vec!["--trace".into(), path("cols.csv"), "--trace-format".into(), "parquet".into()],
            "unknown trace format \"parquet\"".into(),
        ),
        (
            vec!["--trace".into(), path("nowhere.zst")],
            format!("{}: ", path("nowhere.zst")),
        ),
    ];
    for (flags, expected) in cases {
        let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
        args.extend(["--no-calibrate", "--no-progress", "--results-dir"]);
        let results = path("results");
        args.push(&results);
        let (code, stderr) = refused(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
        // Nothing started, nothing written.
        assert!(!dir.join("results").exists(), "{args:?}");
    }
    // The trace's flags need a trace.
    let (code, stderr) = refused(&["--sample", "0.1", "--no-calibrate"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("trace.sample (set by --sample)"),
        "{stderr}"
    );
    let (code, stderr) = refused(&["--trace", &path("sizes.csv"), "--sample", "0"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("a share above 0"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_shipped_sample_replays_in_a_sweep_and_compares() {
    let dir = scratch("trace-sweep");
    let results = dir.display().to_string();
    let output = run(&[
        "sweep",
        "--workload",
        "workloads/twitter-sample.json",
        "--cache-bytes",
        "16KiB,1MiB",
        "--requests",
        "3000",
        "--warmup",
        "500",
        "--no-calibrate",
        "--no-progress",
        "--results-dir",
        &results,
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    // The runs' results are in the sweep's folder.
    let folder = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.is_dir())
        .expect("the sweep's folder");
    let mut written: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    written.sort();
    assert_eq!(written.len(), 2, "{written:?}");
    let results: Vec<RunResult> = written.iter().map(|path| read_checked(path)).collect();
    for result in &results {
        let trace = result.trace.as_ref().unwrap();
        assert_eq!(trace.path, "workloads/traces/twitter-sample.csv.zst");
        assert_eq!(trace.reads, 3500);
        assert_eq!(result.client.requests, 3000);
    }
    assert_eq!(
        results[0].trace.as_ref().unwrap().hash,
        results[1].trace.as_ref().unwrap().hash
    );
    let compare = run(&[
        "compare",
        written[0].to_str().unwrap(),
        written[1].to_str().unwrap(),
    ]);
    assert!(compare.status.success(), "{}", text(&compare.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn results_say_whether_they_replayed_the_same_trace() {
    let dir = scratch("trace-same");
    let records: Vec<(u32, u64, u32)> = objects(600, 90, 5)
        .into_iter()
        .map(|id| (0, id, 80))
        .collect();
    let bytes = oracle(&records);
    std::fs::write(dir.join("a.oracleGeneral"), &bytes).unwrap();
    std::fs::create_dir_all(dir.join("copy")).unwrap();
    std::fs::write(dir.join("copy/a.oracleGeneral"), &bytes).unwrap();
    let mut other = bytes.clone();
    other[4] ^= 1;
    std::fs::write(dir.join("b.oracleGeneral"), &other).unwrap();
    let run_of = |name: &str, trace: &str, flags: &[&str]| {
        deterministic(&dir, name, &workload("same", trace, ""), flags).1
    };
    let first = run_of("first", "a.oracleGeneral", &[]);
    let copy = run_of("copy", "copy/a.oracleGeneral", &[]);
    let changed = run_of("changed", "b.oracleGeneral", &[]);
    let sampled = run_of("sampled", "a.oracleGeneral", &["--sample", "0.5"]);
    let compare = |other: &Path| {
        let output = run(&["compare", first.to_str().unwrap(), other.to_str().unwrap()]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let same = compare(&copy);
    assert!(!same.contains("different workloads"), "{same}");
    for (other, field) in [(&changed, "trace.hash"), (&sampled, "trace.sample")] {
        let report = compare(other);
        let warning = common::line(&report, "WARNING: the results ran different workloads");
        assert!(warning.contains(field), "{report}");
    }
    // The model refuses a result whose trace changed since the run.
    std::fs::write(dir.join("a.oracleGeneral"), &other).unwrap();
    let verify = run(&["simulate", "--verify", first.to_str().unwrap()]);
    assert_eq!(verify.status.code(), Some(2), "{}", text(&verify.stdout));
    assert!(
        text(&verify.stderr).contains("not the file the run replayed"),
        "{}",
        text(&verify.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trials_and_scenarios_replay_the_trace_from_its_start() {
    let dir = scratch("trace-trials");
    let records: Vec<(u32, u64, u32)> = objects(3000, 500, 9)
        .into_iter()
        .map(|id| (0, id, 60 + (id % 50) as u32))
        .collect();
    std::fs::write(dir.join("t.oracleGeneral"), oracle(&records)).unwrap();
    // A node joins and the hot set moves, at given reads; two trials.
    let scenario = workload("scenario", "t.oracleGeneral", "").replace(
        r#""slowdb""#,
        r#""events": [ { "at_request": 1000, "action": "add_node" },
                      { "at_request": 2000, "action": "shift_keys", "offset": 7 } ],
           "slowdb""#,
    );
    let (result, out) = deterministic(
        &dir,
        "scenario",
        &scenario,
        &["--repeat", "2", "--cache-bytes", "16KiB"],
    );
    assert_eq!(result.trials.len(), 2);
    let loads: Vec<Option<u64>> = result
        .trials
        .iter()
        .map(|trial| trial.slowdb_loads)
        .collect();
    assert!(loads[0].is_some_and(|loads| loads > 0));
    // Each trial replays the same reads on a fresh cluster.
    assert_eq!(loads[0], loads[1]);
    assert!(result
        .events
        .iter()
        .all(|event| event.applied_at_request.is_some()));
    verified(&out);
    std::fs::remove_dir_all(&dir).unwrap();
}
