//! The counted pass (`--count`): instructions (callgrind) and system calls
//! (strace) per request over the measured sections only, split into the
//! driver's and the servers'; `check` catches an injected 5% of CPU work on
//! the instruction figure and passes the same build again. Needs valgrind
//! and strace: without them the first test says it was skipped, unless
//! `GEECACHE_COUNT_TOOLS=required` (`.ci/run` installs them and sets it).

use crate::common;

use std::path::{Path, PathBuf};

use common::{check, line, read_checked, run, scratch, text};
use geecache_bench::harness::counted::profile::Group;
use geecache_bench::harness::counted::CountedPass;
use geecache_bench::harness::report::RunResult;

/// The ci workload, deterministic and short, without calibration.
const RUN: [&str; 9] = [
    "--workload",
    "ci",
    "--deterministic",
    "--requests",
    "2000",
    "--warmup",
    "1000",
    "--no-calibrate",
    "--no-progress",
];

/// A deterministic ci run without calibration (no timed figure is gated,
/// so only counts decide the check), with a short counted pass.
fn counted_run(directory: &Path, name: &str, extra: &[&str]) -> (PathBuf, RunResult, String) {
    let out = directory.join(format!("{name}.json"));
    let mut args = RUN.to_vec();
    args.extend([
        "--count",
        "--count-requests",
        "400",
        "--out",
        out.to_str().unwrap(),
    ]);
    args.extend_from_slice(extra);
    let output = run(&args);
    let printed = text(&output.stdout) + &text(&output.stderr);
    assert!(output.status.success(), "{name}: {printed}");
    let result = read_checked(&out);
    (out, result, printed)
}

#[test]
fn a_counted_pass_splits_the_costs_and_check_sees_five_percent() {
    if !common::counting_tools() {
        return;
    }
    let directory = scratch("counted");
    let (base_path, base, printed) = counted_run(&directory, "base", &[]);
    let counted = base.counted.as_ref().expect("a counted pass");
    assert_eq!(counted.requests, 400);
    assert_eq!(counted.warmup_requests, 1000);
    assert!(counted
        .tools
        .iter()
        .any(|tool| tool.starts_with("valgrind")));
    for (name, section) in [
        ("run", &counted.run),
        ("one-hop", &counted.one_hop),
        ("two-hop", &counted.two_hop),
    ] {
        assert_eq!(section.requests, 400, "{name}");
        // Each part is there, and the parts do not exceed the whole.
        assert!(
            section.driver_instructions_per_request > 1000.0,
            "{name}: {section:?}"
        );
        assert!(
            section.server_instructions_per_request > 1000.0,
            "{name}: {section:?}"
        );
        assert!(
            section.driver_instructions_per_request + section.server_instructions_per_request
                < section.instructions_per_request,
            "{name}: {section:?}"
        );
        // A request is at least a send and a receive on each side.
        assert!(
            section.syscalls_per_request.unwrap() >= 4.0,
            "{name}: {section:?}"
        );
    }
    // The two-hop server does a one-hop server's work and a client's: more
    // instructions and more system calls per request.
    assert!(
        counted.two_hop.server_instructions_per_request
            > 1.5 * counted.one_hop.server_instructions_per_request
    );
    assert!(
        counted.two_hop.syscalls_per_request.unwrap()
            > counted.one_hop.syscalls_per_request.unwrap()
    );
    // The same driver drove both reference servers.
    let (one, two) = (
        counted.one_hop.driver_instructions_per_request,
        counted.two_hop.driver_instructions_per_request,
    );
    assert!((one - two).abs() / one < 0.02, "{one} v {two}");
    assert!(
        printed.contains("counted pass (400 requests each"),
        "{printed}"
    );
    assert!(printed.contains("cluster instr / bare hops"), "{printed}");

    // About 5% more instructions per request: units of ~70 instructions on
    // each request a node serves (the API node's, and a peer's for the
    // share that went to one).
    let share = counted.peer_fetch_ratio.unwrap();
    let units = (0.05 * counted.run.instructions_per_request / (70.0 * (1.0 + share))).ceil();
    let units = format!("{units}");
    let (slower_path, slower, printed) =
        counted_run(&directory, "slower", &["--inject-cpu", &units]);
    assert!(
        printed.contains("units of CPU work added to every request"),
        "{printed}"
    );
    assert_eq!(slower.faults.unwrap().cpu.to_string(), units);
    let added = slower
        .counted
        .as_ref()
        .unwrap()
        .run
        .instructions_per_request
        / counted.run.instructions_per_request
        - 1.0;
    assert!((0.04..0.07).contains(&added), "{added}");
    let (code, report) = check(&base_path, &slower_path, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        line(&report, "instructions / request").ends_with("REGRESSION"),
        "{report}"
    );
    assert!(
        line(&report, "cluster instructions / request").ends_with("REGRESSION"),
        "{report}"
    );
    assert!(
        line(&report, "system calls / request").ends_with("ok"),
        "{report}"
    );

    // The same build again, profiled: every count within its threshold.
    let (again_path, again, printed) = counted_run(&directory, "again", &["--profile"]);
    profile_agrees(again.counted.as_ref().unwrap(), &printed);
    let (code, report) = check(&base_path, &again_path, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert!(
        line(&report, "instructions / request").ends_with("ok"),
        "{report}"
    );

    // A result without a counted pass lacks the gated counts: MISSING.
    let plain = directory.join("plain.json");
    let mut args = RUN.to_vec();
    args.extend(["--out", plain.to_str().unwrap()]);
    let output = run(&args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let (code, report) = check(&base_path, &plain, &[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        line(&report, "instructions / request").ends_with("MISSING (in the baseline only)"),
        "{report}"
    );
    std::fs::remove_dir_all(&directory).unwrap();
}

/// A profile's sides cost what the counted pass counted for them (the same
/// deterministic pass, run again), its groups sum to each side's whole,
/// and only the cluster does a cache's work.
fn profile_agrees(counted: &CountedPass, printed: &str) {
    let profile = counted.profile.as_ref().expect("a profile");
    for (name, costs, servers, driver) in [
        (
            "run",
            &counted.run,
            &profile.servers.run,
            &profile.driver.run,
        ),
        (
            "one-hop",
            &counted.one_hop,
            &profile.servers.one_hop,
            &profile.driver.one_hop,
        ),
        (
            "two-hop",
            &counted.two_hop,
            &profile.servers.two_hop,
            &profile.driver.two_hop,
        ),
    ] {
        for (side, counted, breakdown) in [
            ("servers", costs.server_instructions_per_request, servers),
            ("driver", costs.driver_instructions_per_request, driver),
        ] {
            let whole = breakdown.instructions_per_request;
            assert!(
                (whole / counted - 1.0).abs() < 0.01,
                "{name} {side}: {whole} v {counted}"
            );
            let groups: f64 = breakdown.groups.iter().map(|cost| cost.per_request).sum();
            assert!((groups / whole - 1.0).abs() < 1e-9, "{name} {side}");
            assert!(!breakdown.top_self.is_empty() && !breakdown.top_inclusive.is_empty());
            let top = &breakdown.top_inclusive[0];
            assert!(
                (top.inclusive_per_request / whole - 1.0).abs() < 0.01,
                "{name} {side}: {top:?}"
            );
        }
        let cache_work = servers.group(Group::Cache) + servers.group(Group::Ring);
        assert_eq!(cache_work > 0.0, name == "run", "{name}: {servers:?}");
        assert!(servers.group(Group::Http) > 0.0, "{name}");
    }
    assert!(
        printed.contains("profile of the servers' connection tasks"),
        "{printed}"
    );
    assert!(
        printed.contains("profile of the driver's request tasks"),
        "{printed}"
    );
}

#[test]
fn without_the_tools_a_counted_run_stops_before_it_starts() {
    let directory = scratch("counted-no-tools");
    let out = directory.join("r.json");
    let output = common::binary()
        .args([
            "--workload",
            "ci",
            "--requests",
            "100",
            "--no-calibrate",
            "--count",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("PATH", directory.as_os_str())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--count: valgrind is not installed")
            && stderr.contains("apt-get install valgrind"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing ran, so nothing was written");
    // --count needs its own cluster.
    let output = run(&["--target", "http://127.0.0.1:9/api", "--count"]);
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(&directory).unwrap();
}
