//! Costs per request that the machine's speed and load cannot move: the
//! instructions (valgrind's callgrind) and the system calls (strace) of a
//! counted pass over the measured phase only.
//!
//! A counted pass runs the workload's keys and cluster deterministically
//! (one request in flight, a request count, no events, no calibration) in a
//! child process of this program under each tool, then the bare one-hop
//! and two-hop reference servers the same way. Marker functions
//! (`mark_begin`, `mark_end`) bound each measured section: callgrind
//! dumps its counts when one is entered (`--dump-before`), and in a marked
//! pass each makes a system call that cannot be mistaken (`close` of a
//! negative descriptor) for strace's log. The instructions split into the
//! driver's (its request tasks), the servers' (every connection the nodes
//! or the reference server served, peer requests included) and the rest
//! (the async runtime's scheduling and the harness's bookkeeping).
//!
//! Beside this file: `marks` (the markers), `costs` (what a pass
//! found, as results keep it), [`profile`](mod@profile) (where the instructions go,
//! grouped), `callgrind` and `strace` (reading the tools' files).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::geecache::http::ClientError;
use crate::harness::calibration::{reference_driver, BareServer, StartError};
use crate::harness::cluster::Faults;
use crate::harness::driver::{Control, KeySampler, Phase, SamplerError};
use crate::harness::run::{self, RunError, RunPlan};
use crate::harness::workload::{Bound, Workload, WorkloadError};

mod callgrind;
pub(crate) mod costs;
pub(crate) mod marks;
pub mod profile;
mod strace;

pub use callgrind::ParseError;
pub use costs::{CountedPass, SectionCosts};
use marks::{mark_begin, mark_end, BEGIN_FD, END_FD, END_MARKER, MARKERS};
use profile::{Breakdown, CountedProfile, Sections};

/// Requests a counted pass measures by default (each section).
pub const DEFAULT_REQUESTS: u64 = 2000;

/// The request tasks of the driver.
const DRIVER_FUNCTIONS: [&str; 1] = ["geecache_bench::harness::driver::worker::{{closure}}"];
/// The accept loop and each connection's task of every server: the nodes'
/// (peer requests included, as a node's client runs in the task that needs
/// the answer) or a reference server's.
const SERVER_FUNCTIONS: [&str; 2] = [
    "geecache_bench::geecache::server::accept_loop::{{closure}}",
    "geecache_bench::geecache::server::accept_loop::{{closure}}::{{closure}}",
];

/// What a counted pass runs: written by the parent, read by the child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassPlan {
    /// The workload as the run ran it; the pass makes it deterministic.
    pub workload: Workload,
    /// Faults injected in the run, injected in the pass too.
    pub faults: Faults,
    /// Measured requests of each section.
    pub requests: u64,
}

impl PassPlan {
    /// `workload` made deterministic: one request in flight, `requests`
    /// measured, a closed loop, no events.
    pub fn new(workload: &Workload, faults: Faults, requests: u64) -> PassPlan {
        let mut workload = workload.clone();
        workload.concurrency = 1;
        workload.requests = Some(requests);
        workload.duration = None;
        workload.rate = None;
        workload.stages.clear();
        workload.events.clear();
        // No reading of the counters between requests while measuring: a
        // reading every second would add instructions in proportion to
        // the time the pass takes, which the machine's load decides.
        workload.interval = crate::units::Span(Duration::from_secs(60));
        PassPlan {
            workload,
            faults,
            requests,
        }
    }
}

/// What the child measured, in the order of its sections.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassOutput {
    /// Requests each section measured: the run's, the one-hop server's,
    /// the two-hop server's.
    pub requests: [u64; 3],
    /// Failed requests in each.
    pub errors: [u64; 3],
    /// The run's peer-fetch ratio (for the blend of the hops).
    pub peer_fetch_ratio: Option<f64>,
}

/// Why the child's side of a counted pass could not run its sections.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// The workload's trace could not be scanned.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The run's section failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A reference server could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The reference sections' keys could not be drawn.
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    /// The reference sections' driver could not be made.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The child's side: runs the sections with markers around each.
pub async fn pass(plan: &PassPlan) -> Result<PassOutput, PassError> {
    marks::start_marking();
    let mut workload = plan.workload.clone();
    let trace = workload.scan_trace("counted pass")?;
    let run_plan = RunPlan {
        faults: plan.faults,
        trace,
        ..RunPlan::local(workload, "counted pass")
    };
    let control = Arc::new(Control::default());
    let result = run::run(&run_plan, &control).await?;
    let body = plan.workload.value_size as usize;
    let (one, two) = BareServer::pair(body, plan.workload.timeout.0).await?;
    let one_hop = drive_marked(&one.url(), plan).await?;
    let two_hop = drive_marked(&two.url(), plan).await?;
    two.shutdown().await;
    one.shutdown().await;
    Ok(PassOutput {
        requests: [result.client.requests, one_hop.0, two_hop.0],
        errors: [result.client.errors.total, one_hop.1, two_hop.1],
        peer_fetch_ratio: result
            .cluster
            .as_ref()
            .and_then(|cluster| cluster.peer_fetch_ratio),
    })
}

/// Drives a reference server with one request in flight: a short warm-up,
/// then the plan's requests between markers. Requests and errors.
async fn drive_marked(base_url: &str, plan: &PassPlan) -> Result<(u64, u64), PassError> {
    let workload = &plan.workload;
    let sampler = KeySampler::new(workload.keys, workload.distribution, workload.seed)?;
    let driver = reference_driver(base_url, sampler, 1, workload.timeout.0)?;
    let control = Arc::new(Control::default());
    let limit = Instant::now() + workload.time_limit.0;
    let warmup = Phase::new(
        run::WARMUP_STREAM,
        Bound::Requests(plan.requests.min(200)),
        limit,
    );
    driver.run(warmup, &control).await;
    // One interval for the whole section, as the run's: the series' work
    // at each interval's end would grow with the time the pass takes.
    let measure = Phase {
        interval: plan.workload.interval.0,
        ..Phase::new(run::MEASURE_STREAM, Bound::Requests(plan.requests), limit)
    };
    mark_begin();
    let report = driver.run(measure, &control).await;
    mark_end();
    Ok((report.counts.requests, report.counts.errors.total))
}

/// Why a counted pass failed.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    /// A tool is not installed: it could not be started.
    #[error(
        "{tool} is not installed ({source}); the counted pass needs it: apt-get install {tool}"
    )]
    Missing {
        /// valgrind or strace.
        tool: &'static str,
        /// Why it could not be started.
        source: std::io::Error,
    },
    /// A tool started but could not tell its version.
    #[error(
        "{tool} is not installed (`{tool} {flag}` exited with {status}); the counted pass \
         needs it: apt-get install {tool}"
    )]
    Unusable {
        /// valgrind or strace.
        tool: &'static str,
        /// The flag that asks its version.
        flag: &'static str,
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// The child failed under a tool.
    #[error("the counted pass under {tool} failed ({status}): {stderr}")]
    Child {
        /// The tool.
        tool: &'static str,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The end of its standard error.
        stderr: String,
    },
    /// The tools' files could not be read.
    #[error("the counted pass under {tool}: {source}")]
    Files {
        /// The tool.
        tool: &'static str,
        /// What was wrong.
        source: FilesError,
    },
}

/// What was wrong with the files a counted pass writes and reads.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A file or directory could not be made, written, listed or read.
    #[error("cannot {doing} {}: {source}", path.display())]
    Io {
        /// What was being done: "create", "write", "list" or "read".
        doing: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The plan could not be written as JSON.
    #[error("{0}")]
    Plan(serde_json::Error),
    /// The child's output is not what a pass writes.
    #[error("{}: {source}", path.display())]
    Output {
        /// The output file.
        path: PathBuf,
        /// Why it did not parse.
        source: serde_json::Error,
    },
    /// A callgrind profile did not parse.
    #[error("{}: {source}", path.display())]
    Profile {
        /// The profile file.
        path: PathBuf,
        /// Where and why it did not parse.
        source: ParseError,
    },
    /// strace's log did not hold the three marked sections.
    #[error("{0} marked sections in the trace, not 3")]
    TraceSections(usize),
    /// callgrind's profiles did not hold the three measured sections.
    #[error("{0} measured sections in the profiles, not 3 (are the markers in the binary?)")]
    ProfileSections(usize),
}

impl FilesError {
    /// A failure of `doing` (create, write, list, read) to `path`.
    fn io(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FilesError {
        let path = path.to_path_buf();
        move |source| FilesError::Io {
            doing,
            path,
            source,
        }
    }
}

/// A tool's version line, or why it cannot run.
fn tool_version(tool: &'static str) -> Result<String, CountError> {
    let flag = if tool == "strace" { "-V" } else { "--version" };
    let output = Command::new(tool)
        .arg(flag)
        .output()
        .map_err(|source| CountError::Missing { tool, source })?;
    if !output.status.success() {
        return Err(CountError::Unusable {
            tool,
            flag,
            status: output.status,
        });
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.lines().next().unwrap_or(tool).trim().to_owned())
}

/// The version lines of valgrind and strace, which a counted pass runs
/// under, or why one of them cannot run: a run asks first, so that a
/// missing tool stops it before its trials.
pub fn tools() -> Result<Vec<String>, CountError> {
    ["valgrind", "strace"]
        .into_iter()
        .map(tool_version)
        .collect()
}

/// Why a tool's files could not be made or read.
fn files(tool: &'static str) -> impl Fn(FilesError) -> CountError {
    move |source| CountError::Files { tool, source }
}

/// The parent's side: runs `child` (this program and the arguments that
/// make it run [`pass`] with a plan file and an output file appended)
/// under callgrind and under strace, and reads the costs. `tools` are the
/// tools' version lines, as [`tools`] gave them.
pub fn count(
    child: &[OsString],
    plan: &PassPlan,
    tools: Vec<String>,
) -> Result<CountedPass, CountError> {
    let directory = Scratch::new().map_err(files("valgrind"))?;
    let plan_path = write_plan(&directory.0, plan)?;
    let (output, profiles) = callgrind_sections(child, &plan_path, &directory.0, "all", &[])?;
    let trace_path = directory.0.join("strace.out");
    let strace_output = directory.0.join("strace-pass.json");
    let strace_args: Vec<OsString> = vec![
        "-f".into(),
        "-qq".into(),
        "-e".into(),
        "signal=none".into(),
        "-o".into(),
        trace_path.clone().into(),
    ];
    let traced = run_child("strace", &strace_args, child, &plan_path, &strace_output)?;
    let text = std::fs::read_to_string(&trace_path)
        .map_err(FilesError::io("read", &trace_path))
        .map_err(files("strace"))?;
    let syscalls = strace::sections(
        &text,
        &format!("close({BEGIN_FD}"),
        &format!("close({END_FD}"),
    );
    if syscalls.len() != 3 {
        return Err(files("strace")(FilesError::TraceSections(syscalls.len())));
    }
    let section = |index: usize| {
        let requests = output.requests[index].max(1);
        let per = |count: u64| count as f64 / requests as f64;
        let profile = &profiles[index];
        SectionCosts {
            requests: output.requests[index],
            instructions_per_request: per(profile.total),
            driver_instructions_per_request: per(profile.inclusive(&DRIVER_FUNCTIONS)),
            server_instructions_per_request: per(profile.inclusive(&SERVER_FUNCTIONS)),
            syscalls_per_request: Some(
                syscalls[index] as f64 / traced.requests[index].max(1) as f64,
            ),
        }
    };
    Ok(CountedPass {
        requests: plan.requests,
        warmup_requests: plan.workload.warmup_requests,
        tools,
        run: section(0),
        one_hop: section(1),
        two_hop: section(2),
        peer_fetch_ratio: output.peer_fetch_ratio,
        profile: None,
    })
}

/// Writes `plan` into `directory` for the child; its path.
fn write_plan(directory: &Path, plan: &PassPlan) -> Result<PathBuf, CountError> {
    let plan_path = directory.join("plan.json");
    let json = serde_json::to_vec(plan)
        .map_err(FilesError::Plan)
        .map_err(files("valgrind"))?;
    std::fs::write(&plan_path, json)
        .map_err(FilesError::io("write", &plan_path))
        .map_err(files("valgrind"))?;
    Ok(plan_path)
}

/// Runs `child` under callgrind with `extra` arguments, its profiles named
/// `stem` in `directory`: what the child measured and the profiles of its
/// three measured sections.
fn callgrind_sections(
    child: &[OsString],
    plan_path: &Path,
    directory: &Path,
    stem: &str,
    extra: &[OsString],
) -> Result<(PassOutput, Vec<callgrind::Profile>), CountError> {
    let profile_path = directory.join(format!("{stem}.callgrind"));
    let output_path = directory.join(format!("{stem}-pass.json"));
    let mut callgrind_args: Vec<OsString> = vec![
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", profile_path.display()).into(),
        format!("--dump-before={MARKERS}").into(),
    ];
    callgrind_args.extend(extra.iter().cloned());
    let output = run_child("valgrind", &callgrind_args, child, plan_path, &output_path)?;
    let profiles =
        end_profiles(directory, &format!("{stem}.callgrind.")).map_err(files("valgrind"))?;
    if profiles.len() != 3 {
        return Err(files("valgrind")(FilesError::ProfileSections(
            profiles.len(),
        )));
    }
    Ok((output, profiles))
}

/// Where a counted pass's instructions go: the pass run under callgrind
/// collecting only inside the servers' connection tasks, then only inside
/// the driver's request tasks, each section's functions grouped and the
/// `top` of them listed (see [`profile`](mod@profile)).
pub fn profile(
    child: &[OsString],
    plan: &PassPlan,
    top: usize,
) -> Result<CountedProfile, CountError> {
    let directory = Scratch::new().map_err(files("valgrind"))?;
    let plan_path = write_plan(&directory.0, plan)?;
    let side = |stem: &str, functions: &[&str]| -> Result<Sections, CountError> {
        let mut extra: Vec<OsString> = vec!["--collect-atstart=no".into()];
        extra.extend(
            functions
                .iter()
                .map(|function| format!("--toggle-collect={function}").into()),
        );
        let (output, profiles) = callgrind_sections(child, &plan_path, &directory.0, stem, &extra)?;
        let breakdown = |index: usize| Breakdown::of(&profiles[index], output.requests[index], top);
        Ok(Sections {
            run: breakdown(0),
            one_hop: breakdown(1),
            two_hop: breakdown(2),
        })
    };
    Ok(CountedProfile {
        servers: side("servers", &SERVER_FUNCTIONS)?,
        driver: side("driver", &DRIVER_FUNCTIONS)?,
    })
}

/// Runs `tool tool_args child... plan output` and reads its output file.
fn run_child(
    tool: &'static str,
    tool_args: &[OsString],
    child: &[OsString],
    plan: &Path,
    output: &Path,
) -> Result<PassOutput, CountError> {
    let ran = Command::new(tool)
        .args(tool_args)
        .args(child)
        .arg(plan)
        .arg(output)
        .output()
        .map_err(|source| CountError::Missing { tool, source })?;
    if !ran.status.success() {
        let stderr = String::from_utf8_lossy(&ran.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        return Err(CountError::Child {
            tool,
            status: ran.status,
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let text = std::fs::read(output)
        .map_err(FilesError::io("read", output))
        .map_err(files(tool))?;
    serde_json::from_slice(&text)
        .map_err(|source| FilesError::Output {
            path: output.to_path_buf(),
            source,
        })
        .map_err(files(tool))
}

/// The profiles of the measured sections (the parts the end marker
/// triggered) among the files named `prefix` and a part number, in the
/// order they were written.
fn end_profiles(directory: &Path, prefix: &str) -> Result<Vec<callgrind::Profile>, FilesError> {
    let mut parts: Vec<(u64, PathBuf)> = Vec::new();
    let entries = std::fs::read_dir(directory).map_err(FilesError::io("list", directory))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(part) = name.strip_prefix(prefix) {
            if let Ok(part) = part.parse::<u64>() {
                parts.push((part, entry.path()));
            }
        }
    }
    parts.sort();
    let mut profiles = Vec::new();
    for (_, path) in parts {
        let text = std::fs::read_to_string(&path).map_err(FilesError::io("read", &path))?;
        let profile = callgrind::Profile::parse(&text)
            .map_err(|source| FilesError::Profile { path, source })?;
        if profile.trigger == END_MARKER {
            profiles.push(profile);
        }
    }
    Ok(profiles)
}

/// A directory of this process's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, FilesError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .subsec_nanos();
        let path =
            std::env::temp_dir().join(format!("geecache-counted-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(FilesError::io("create", &path))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
