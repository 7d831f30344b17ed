//! The live view as a person sees it: a run in a real terminal (a tmux
//! pane), its screen read as it goes, `q` pressed, and the terminal looked
//! at afterwards. tmux is a Debian package: without it the test says
//! `SKIPPED` and passes, unless `GEECACHE_TMUX=required` (`.ci/run`
//! installs it and sets that): then it fails.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{self, scratch};

/// A tmux server of this test's own, on its own socket.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A server named `name` (and this process) whose one pane, 110 x 36,
    /// runs `script` in sh.
    fn start(name: &str, script: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("geecache-{name}-{}", std::process::id()),
        };
        let started = tmux.command(&[
            "new-session",
            "-d",
            "-s",
            "live",
            "-x",
            "110",
            "-y",
            "36",
            "sh",
            "-c",
            script,
        ]);
        assert!(
            started.status.success(),
            "{}",
            common::text(&started.stderr)
        );
        tmux
    }

    fn command(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// The pane's screen as text.
    fn screen(&self) -> String {
        common::text(&self.command(&["capture-pane", "-p", "-t", "live"]).stdout)
    }

    /// A figure of the pane (`#{alternate_on}`, ...).
    fn display(&self, format: &str) -> String {
        common::text(
            &self
                .command(&["display-message", "-p", "-t", "live", format])
                .stdout,
        )
        .trim()
        .to_owned()
    }

    /// Waits up to `limit` for the screen to satisfy `test`; the screen
    /// then, or the last one seen.
    fn wait_for(&self, limit: Duration, test: impl Fn(&str) -> bool) -> Result<String, String> {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if test(&screen) {
                return Ok(screen);
            }
            if Instant::now() >= deadline {
                return Err(screen);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]);
    }
}

fn tmux_present() -> bool {
    let present = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success());
    if !present {
        assert!(
            std::env::var("GEECACHE_TMUX").as_deref() != Ok("required"),
            "GEECACHE_TMUX=required, but tmux is not installed"
        );
        eprintln!("SKIPPED: this test reads the live view through tmux, which is not installed");
    }
    present
}

/// The measurement's progress on a screen of the view: `N / M requests`.
fn progress(screen: &str) -> Option<String> {
    screen.lines().find_map(|line| {
        let at = line.find(" requests")?;
        let start = line[..at].rfind("measuring")? + "measuring".len();
        Some(line[start..at].trim().to_owned())
    })
}

fn wait_for_file(path: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|text| text.ends_with('\n')) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn the_live_view_draws_updates_stops_on_q_and_leaves_the_terminal_as_it_found_it() {
    if !tmux_present() {
        return;
    }
    let dir = scratch("live-view");
    let out = dir.join("live.json");
    let binary = env!("CARGO_BIN_EXE_geecache-bench");
    // An open loop of a modest rate and a long bound: it runs until q. Its
    // stdout and stderr are the pane, as a person's would be.
    let script = format!(
        "stty -a > {dir}/before; {binary} --workload zipf --rate 3000 --requests 1000000 \
         --warmup 1000 --no-calibrate --no-checkpoints --out {out}; echo $? > {dir}/rc.tmp; \
         stty -a > {dir}/after; mv {dir}/rc.tmp {dir}/rc; sleep 60",
        dir = dir.display(),
        out = out.display(),
    );
    let tmux = Tmux::start("live", &script);

    // The view draws: the full screen, then the measurement with figures.
    let first = tmux
        .wait_for(Duration::from_secs(30), |screen| {
            progress(screen).is_some() && screen.contains("p99.9") && screen.contains("localhost")
        })
        .unwrap_or_else(|screen| panic!("no measurement drawn:\n{screen}"));
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "1",
        "the view is on the alternate screen"
    );
    for shown in [
        "geecache-bench",
        "zipf  3 nodes  50 replicas  crc32  256KiB/node",
        "throughput, req/s",
        "offered",
        "from the intended send",
        "q: stop",
        "api hit",
        "evictions",
    ] {
        assert!(first.contains(shown), "{shown:?} missing from\n{first}");
    }
    // It updates: the progress moves on.
    let before = progress(&first).unwrap();
    let later = tmux
        .wait_for(Duration::from_secs(10), |screen| {
            progress(screen).is_some_and(|now| now != before)
        })
        .unwrap_or_else(|screen| panic!("the progress stayed at {before}:\n{screen}"));
    assert!(later.contains("measuring"), "{later}");

    // q stops the run; what was measured is kept and summarised.
    let sent = tmux.command(&["send-keys", "-t", "live", "q"]);
    assert!(sent.status.success());
    assert!(
        wait_for_file(&dir.join("rc"), Duration::from_secs(30)),
        "the run did not end after q:\n{}",
        tmux.screen()
    );
    let rc = std::fs::read_to_string(dir.join("rc")).unwrap();
    assert_eq!(rc.trim(), "0", "{}", tmux.screen());
    let result = common::read_checked(&out);
    assert_eq!(
        result.client.stopped_by,
        geecache_bench::harness::driver::StopReason::Interrupted
    );
    assert!(result.client.requests > 0 && result.client.requests < 1_000_000);
    // Back on the normal screen: the summary, and stderr's lines written
    // out once the view was gone.
    assert_eq!(tmux.display("#{alternate_on}"), "0", "{}", tmux.screen());
    let after = tmux.screen();
    assert!(
        after.contains("interrupted: finishing the requests in flight"),
        "{after}"
    );
    assert!(after.contains("result: "), "{after}");
    assert!(!after.contains("q: stop"), "the view is gone: {after}");
    // The terminal's modes are as they were (raw mode undone).
    let modes = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    assert_eq!(modes("before"), modes("after"));
    assert_eq!(
        tmux.display("#{cursor_flag}"),
        "1",
        "the cursor is shown again"
    );
}

#[test]
fn without_a_terminal_or_with_no_tui_there_is_no_view() {
    // The suite's runs have no terminal: none draws (the summary is the
    // whole stdout). With --no-tui a terminal gets the progress bar.
    let dir = scratch("no-view");
    let out = dir.join("plain.json");
    let output = common::run(&[
        "--workload",
        "ci",
        "--requests",
        "2000",
        "--no-calibrate",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let stdout = common::text(&output.stdout);
    assert!(stdout.starts_with("geecache-bench "), "{stdout}");
    assert!(!stdout.contains('\u{1b}') && !common::text(&output.stderr).contains('\u{1b}'));
    if !tmux_present() {
        return;
    }
    let binary = env!("CARGO_BIN_EXE_geecache-bench");
    let script = format!(
        "{binary} --workload ci --rate 2000 --duration 3s --no-calibrate --no-tui --out {}; \
         echo done; sleep 60",
        dir.join("bar.json").display()
    );
    let tmux = Tmux::start("no-tui", &script);
    let during = tmux
        .wait_for(Duration::from_secs(20), |screen| {
            screen.contains("measuring")
        })
        .unwrap_or_else(|screen| panic!("no progress bar:\n{screen}"));
    assert_eq!(tmux.display("#{alternate_on}"), "0", "{during}");
    assert!(!during.contains("q: stop"), "{during}");
    tmux.wait_for(Duration::from_secs(20), |screen| screen.contains("done"))
        .unwrap_or_else(|screen| panic!("the run did not end:\n{screen}"));
}
