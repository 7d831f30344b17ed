//! Outputs are checked before anything is measured: an `--out`, `--hgrm`
//! or `--plot` that cannot be written, or a results directory on a full
//! disk, is named with exit 2 at once, not after the run, as is a trace
//! that cannot be read (a port in use: `harness.rs`); and a result that
//! cannot be written when the run ends is kept elsewhere and said where.

use std::time::{Duration, Instant};

use crate::common;

use common::{binary, read_checked, run, scratch, text};

/// A short run's flags with `extra` added.
fn short_run<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--workload",
        "ci",
        "--requests",
        "300",
        "--warmup",
        "0",
        "--no-calibrate",
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn outputs_that_cannot_be_written_are_refused_before_the_run() {
    let directory = scratch("outputs-refused");
    let a_file = directory.join("a-file");
    std::fs::write(&a_file, "not a directory").unwrap();
    let under_a_file = a_file.join("result.json");
    // Refused with exit 2 before the cluster started, `flag` and `named`
    // in the error: no request was sent.
    let refused = |args: &[&str], flag: &str, named: &str| {
        let started = Instant::now();
        let output = run(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{flag}: {stderr}");
        assert!(stderr.contains(named), "{flag}: {stderr}");
        assert!(stderr.contains("nothing was run"), "{stderr}");
        assert!(!text(&output.stdout).contains("requests"), "{flag}");
        assert!(started.elapsed() < Duration::from_secs(20));
        stderr
    };
    for (flag, path, named) in [
        ("--out", &under_a_file, "a-file"),
        ("--out", &directory.to_path_buf(), "is a directory"),
        ("--hgrm", &under_a_file, "a-file"),
        ("--plot", &under_a_file, "a-file"),
        ("--results-dir", &a_file, "a-file"),
    ] {
        refused(&short_run(&[flag, path.to_str().unwrap()]), flag, named);
    }
    // A sweep's results directory, before the first run of its grid.
    let sweep = [
        "sweep",
        "--workload",
        "ci",
        "--nodes",
        "2,3",
        "--requests",
        "100",
        "--no-calibrate",
        "--no-progress",
        "--results-dir",
        under_a_file.to_str().unwrap(),
    ];
    let stderr = refused(&sweep, "--results-dir", "a-file");
    assert!(!stderr.contains("[1/2]"), "{stderr}");
    // The probe leaves nothing behind, and a run that can write still does.
    let out = directory.join("fine").join("result.json");
    let output = run(&short_run(&["--out", out.to_str().unwrap()]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(read_checked(&out).client.requests, 300);
    let left: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["result.json"]);
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_device_is_written_as_it_is_once_without_checkpoints() {
    // Intervals become whole 3 s after they end: a 4.5 s run of 500 ms
    // intervals would checkpoint several times into a regular file.
    let output = run(&[
        "--workload",
        "ci",
        "--duration",
        "4500ms",
        "--interval",
        "500ms",
        "--concurrency",
        "2",
        "--no-calibrate",
        "--no-progress",
        "--out",
        "/dev/stdout",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.matches("\"schema_version\"").count(), 1, "{stdout}");
    let json_end = stdout.find("\n}\n").expect("the result, then the summary") + 3;
    let result: geecache_bench::harness::report::RunResult =
        serde_json::from_str(&stdout[..json_end]).unwrap();
    assert!(result.client.requests > 0);
    assert!(result.incomplete.is_none());
}

#[test]
fn a_results_directory_on_a_full_disk_is_refused_before_the_run() {
    // A 64 KiB file system of its own, in a mount namespace of its own.
    let directory = scratch("outputs-full");
    let mount = directory.join("tiny");
    std::fs::create_dir_all(&mount).unwrap();
    let out = mount.join("result.json");
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs '{mount}' || exit 99; \
         head -c 60000 /dev/zero > '{mount}/filler'; exec \"$@\"",
        mount = mount.display()
    );
    let binary_path = std::path::PathBuf::from(env!("CARGO_BIN_EXE_geecache-bench"));
    let mut args = vec![
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        &script,
        "sh",
        binary_path.to_str().unwrap(),
    ];
    let run_args = short_run(&["--out", out.to_str().unwrap()]);
    args.extend(run_args.iter());
    let output = match std::process::Command::new("unshare").args(&args).output() {
        Ok(output) if output.status.code() != Some(99) => output,
        _ => {
            eprintln!("SKIPPED: no mount namespace here (unshare --user --mount) for a full disk");
            std::fs::remove_dir_all(&directory).unwrap();
            return;
        }
    };
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--out"), "{stderr}");
    assert!(stderr.contains("No space left"), "{stderr}");
    assert!(stderr.contains("nothing was run"), "{stderr}");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_result_that_cannot_be_written_at_the_end_is_kept_in_the_temporary_directory() {
    let directory = scratch("outputs-late");
    let results = directory.join("results");
    let name = format!("late-{}.json", std::process::id());
    let out = results.join(&name);
    // Three consecutive free ports for the cluster's nodes.
    let base_port = (0..100)
        .map(|_| common::free_ports(1)[0])
        .find(|&port| {
            port < u16::MAX - 2
                && (port..port + 3)
                    .all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        })
        .expect("three consecutive free ports");
    let mut child = binary()
        .args([
            "--workload",
            "ci",
            "--duration",
            "3s",
            "--concurrency",
            "2",
            "--no-calibrate",
            "--no-progress",
            "--no-checkpoints",
            "--base-port",
            &base_port.to_string(),
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the cluster listens, the outputs were checked; while the run
    // goes, the results directory's place is taken by a file.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", base_port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            panic!("the run ended ({status}) first: {}", text(&output.stderr));
        }
        assert!(Instant::now() < deadline, "the cluster never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(&results, "in the way").unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let kept = std::env::temp_dir().join(&name);
    assert!(
        stderr.contains(&format!("it is kept at {}", kept.display())),
        "{stderr}"
    );
    assert!(read_checked(&kept).client.requests > 0);
    assert!(text(&output.stdout).contains(&kept.display().to_string()));
    std::fs::remove_file(&kept).unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn a_trace_that_cannot_be_read_is_refused_before_the_run() {
    let directory = scratch("outputs-trace");
    let missing = directory.join("missing.csv");
    for (trace, named) in [
        (missing.as_path(), "No such file"),
        (&*directory, "is a directory"),
    ] {
        let started = Instant::now();
        let output = run(&short_run(&["--trace", trace.to_str().unwrap()]));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(trace.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains(named), "{stderr}");
        assert!(!text(&output.stdout).contains("requests"));
        assert!(started.elapsed() < Duration::from_secs(20));
    }
    std::fs::remove_dir_all(&directory).unwrap();
}
