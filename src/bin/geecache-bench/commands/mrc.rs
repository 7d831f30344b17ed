//! `mrc`: the miss-ratio curve of every node's main cache and of the
//! cluster, at every cache size, from one pass over a workload's or a
//! trace's keys. Computed in [`geecache_bench::analysis::mrc`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::{
    fail, load_with_trace, write_page, Format, ModelKeys, SamplingArgs, EXIT_FAILED, EXIT_USAGE,
};
use geecache_bench::analysis::mrc::{self, Curves, Sampling, SizePoint};
use geecache_bench::analysis::{html, plot};
use geecache_bench::geecache::HashKind;
use geecache_bench::harness::ownership::RingShape;
use geecache_bench::harness::report::{self, write_bytes_atomically};
use geecache_bench::harness::workload::{Overrides, Workload};
use geecache_bench::units::ByteSize;

/// Flags of `mrc`.
#[derive(Debug, Args, Clone)]
pub struct MrcArgs {
    /// The workload, as for a run.
    #[arg(long, short = 'w', value_name = "NAME|PATH", default_value = "zipf")]
    pub workload: String,
    /// Nodes on the ring [cluster.nodes].
    #[arg(long, value_name = "N")]
    pub nodes: Option<u32>,
    /// Virtual nodes per node [cluster.replicas].
    #[arg(long, value_name = "N")]
    pub replicas: Option<u32>,
    /// The ring's hash [cluster.hash].
    #[arg(long, value_name = "crc32|xxh3")]
    pub hash: Option<HashKind>,
    /// The keys the model follows.
    #[command(flatten)]
    pub keys: ModelKeys,
    /// Also show the curve at these per-node cache sizes, such as
    /// 64KiB,1MiB.
    #[arg(long, value_name = "SIZE,...", value_delimiter = ',')]
    pub cache_bytes: Vec<ByteSize>,
    /// Every key, or a sample.
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Points per doubling of the cache size, from 1 KiB up to the size
    /// that holds every key a node owns.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub steps: u32,
    /// `table` for people, `json` or `csv` for programs.
    #[arg(long, value_name = "table|json|csv", default_value = "table", value_parser = Format::parser(&[Format::Table, Format::Json, Format::Csv]))]
    pub format: Format,
    /// Also write the curve here, as JSON (or CSV for a .csv name).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Draw the curve into this SVG file: miss ratio against cache size
    /// (log-scaled), a line per node and one for the cluster.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Also write one self-contained HTML page: the table and the chart.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Results of runs to draw on the chart as points: each at its cache
    /// size, its slow-store loads per request.
    #[arg(long, value_name = "RESULT.json,...", value_delimiter = ',')]
    pub runs: Vec<PathBuf>,
}

/// The curve as JSON.
#[derive(Serialize)]
struct Report<'a> {
    workload: &'a str,
    ring: RingShape,
    sampling: Sampling,
    /// Keys followed at the end, and the sampling rate then.
    keys_followed: u64,
    rate: f64,
    requests: u64,
    warmup_requests: u64,
    /// Per node: measured requests, cold misses, the bytes that hold every
    /// key it owns.
    nodes: Vec<NodeReport>,
    points: &'a [SizePoint],
}

#[derive(Serialize)]
struct NodeReport {
    requests: u64,
    cold_misses: u64,
    footprint_bytes: u64,
}

/// Runs the subcommand.
pub fn exec(args: MrcArgs) -> ExitCode {
    let overrides = Overrides {
        nodes: args.nodes,
        replicas: args.replicas,
        hash: args.hash,
        ..args.keys.overrides()
    };
    let workload = match load_with_trace(&args.workload, &overrides) {
        Ok((loaded, _)) => loaded.workload,
        Err(code) => return code,
    };
    let ring = RingShape::of(&workload);
    let started = std::time::Instant::now();
    let sampling = match args.sampling.sampling() {
        Ok(sampling) => sampling,
        Err(code) => return code,
    };
    let extra: Vec<u64> = args.cache_bytes.iter().map(|size| size.0).collect();
    let curves = match mrc::curves(&workload, ring, sampling, &extra) {
        Ok(curves) => curves,
        Err(error) => return fail(EXIT_USAGE, error),
    };
    let elapsed = started.elapsed();
    let points: Vec<SizePoint> = curves
        .sizes(args.steps, &extra)
        .into_iter()
        .map(|size| curves.at(size))
        .collect();
    let json = || {
        serde_json::to_string_pretty(&report(&workload.name, &curves, &points)).unwrap_or_default()
            + "\n"
    };
    match args.format {
        Format::Json => print!("{}", json()),
        Format::Csv => print!("{}", mrc::csv(&curves, &points)),
        _ => {
            print!("{}", mrc::table(&curves, &points));
            println!(
                "{} requests ({} warm-up) on {} nodes, {} replicas, {}: every size in one pass, {:.2} s{}",
                curves.requests,
                curves.warmup,
                ring.nodes,
                ring.replicas,
                ring.hash,
                elapsed.as_secs_f64(),
                match curves.sampling {
                    Sampling::Exact => String::new(),
                    _ => format!(
                        "; SHARDS: {} keys followed at rate {:.4}, loads estimated",
                        curves.followed.0, curves.followed.1
                    ),
                }
            );
        }
    }
    if !args.runs.is_empty() && args.plot.is_none() && args.html.is_none() {
        return fail(
            EXIT_USAGE,
            "--runs: they are drawn on the chart; give --plot or --html",
        );
    }
    if args.plot.is_some() || args.html.is_some() {
        let runs = match measured_runs(&args.runs) {
            Ok(runs) => runs,
            Err(code) => return code,
        };
        if let Err(code) = write_charts(&args, &workload, (&curves, &points), &runs) {
            return code;
        }
    }
    if let Some(path) = &args.out {
        let text = if path.extension().is_some_and(|ext| ext == "csv") {
            mrc::csv(&curves, &points)
        } else {
            json()
        };
        if let Err(error) = write_bytes_atomically(text.as_bytes(), path) {
            return fail(
                EXIT_FAILED,
                format!("cannot write {}: {error}", path.display()),
            );
        }
    }
    ExitCode::SUCCESS
}

/// The runs `--runs` names, as the chart marks them: each one's name, its
/// cache size and its slow-store loads per request.
fn measured_runs(paths: &[PathBuf]) -> Result<Vec<(String, u64, f64)>, ExitCode> {
    let mut runs = Vec::new();
    for run in paths {
        let result = match report::read(run) {
            Ok(result) => result,
            Err(error) => return Err(fail(EXIT_USAGE, format!("--runs: {error}"))),
        };
        let Some(cluster) = &result.cluster else {
            return Err(fail(
                EXIT_USAGE,
                format!("--runs: {} has no cluster figures", run.display()),
            ));
        };
        let name = run
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        runs.push((
            name,
            result.workload.cluster.cache_bytes.0,
            cluster.slowdb.loads_per_request,
        ));
    }
    Ok(runs)
}

/// The chart of the curves with the `runs` marked on it, written to
/// `--plot`, and the page of the table and the chart to `--html`.
fn write_charts(
    args: &MrcArgs,
    workload: &Workload,
    (curves, points): (&Curves, &[SizePoint]),
    runs: &[(String, u64, f64)],
) -> Result<(), ExitCode> {
    let ring = curves.ring;
    let title = format!(
        "{}: miss ratio by cache size, {} nodes, {} replicas, {}",
        workload.name, ring.nodes, ring.replicas, ring.hash
    );
    let svg = plot::render(&[mrc::panel(&title, curves, points, runs)]);
    if let Some(path) = &args.plot {
        if let Err(error) = write_bytes_atomically(svg.as_bytes(), path) {
            return Err(fail(
                EXIT_FAILED,
                format!("cannot write {}: {error}", path.display()),
            ));
        }
        eprintln!("plot: {}", path.display());
    }
    if let Some(path) = &args.html {
        let page = html::tables_and_charts(
            &format!("geecache-bench: {title}"),
            ("Miss ratio by cache size", &mrc::table(curves, points)),
            &[svg],
            Some(workload),
        );
        write_page(&page, path)?;
    }
    Ok(())
}

fn report<'a>(workload: &'a str, curves: &Curves, points: &'a [SizePoint]) -> Report<'a> {
    Report {
        workload,
        ring: curves.ring,
        sampling: curves.sampling,
        keys_followed: curves.followed.0,
        rate: curves.followed.1,
        requests: curves.requests,
        warmup_requests: curves.warmup,
        nodes: curves
            .nodes
            .iter()
            .map(|node| NodeReport {
                requests: node.requests,
                cold_misses: node.misses_at(0).0.round() as u64,
                footprint_bytes: node.footprint,
            })
            .collect(),
        points,
    }
}
