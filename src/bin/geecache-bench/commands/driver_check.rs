//! `driver-check`: the driver against a bare in-process server, next to
//! `wrk` at the same concurrency on the same server, in alternating rounds.
//! The servers and the driver's measurement are
//! [`geecache_bench::harness::calibration`].

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{fail, init_logging, runtime, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::harness::{calibration, process, wrk};
use geecache_bench::table::align;
use geecache_bench::units::{ByteSize, Span};

/// Flags of `driver-check`.
#[derive(Debug, Args, Clone)]
pub struct DriverCheckArgs {
    /// Connections (and requests in flight) for both load generators.
    #[arg(long, short = 'c', value_name = "N", default_value_t = 64)]
    pub concurrency: usize,
    /// How long each load generator runs.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub duration: Span,
    /// wrk's threads.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub wrk_threads: usize,
    /// The server's body size in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub body_size: usize,
    /// Skip wrk even when it is installed.
    #[arg(long)]
    pub no_wrk: bool,
    /// Rounds of both tools, the order alternating, so that a slow spell of
    /// a shared machine does not decide the comparison; medians are
    /// compared.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub rounds: usize,
}

/// Runs the subcommand.
pub fn exec(args: DriverCheckArgs) -> ExitCode {
    init_logging(0, log::LevelFilter::Warn);
    if !(1..=10_000).contains(&args.concurrency) {
        return fail(EXIT_USAGE, "--concurrency: allowed 1 to 10000");
    }
    if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&args.duration.0) {
        return fail(EXIT_USAGE, "--duration: allowed 100ms to 1h");
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    if !(1..=20).contains(&args.rounds) {
        return fail(EXIT_USAGE, "--rounds: allowed 1 to 20");
    }
    let outcome: Result<Vec<ToolRound>, String> =
        runtime.block_on(async { driver_check_rounds(&args).await });
    let rows = match outcome {
        Ok(rows) => rows,
        Err(error) => return fail(EXIT_FAILED, error),
    };
    let mut table = vec![[
        "round",
        "tool",
        "requests",
        "req/s",
        "p50 us",
        "p99 us",
        "errors",
        "cpu us/req here",
    ]
    .map(str::to_owned)];
    for row in &rows {
        let figures = &row.figures;
        table.push([
            row.round.to_string(),
            figures.tool.clone(),
            figures.requests.to_string(),
            format!("{:.0}", figures.throughput_rps),
            format!("{:.0}", figures.p50_us),
            format!("{:.0}", figures.p99_us),
            figures.errors.to_string(),
            row.cpu_per_request
                .map_or("-".to_owned(), |cpu| format!("{cpu:.2}")),
        ]);
    }
    print!("{}", align(&table, |column| column == 1));
    println!(
        "(cpu us/req here: this process's CPU time per request while the tool ran: \
         the driver and the server, or the server alone while wrk drove it)"
    );
    let median_of = |driver: bool, value: fn(&ToolRound) -> Option<f64>| {
        let mut values: Vec<f64> = rows
            .iter()
            .filter(|row| (row.figures.tool == calibration::DRIVER_TOOL) == driver)
            .filter_map(value)
            .collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied()
    };
    let throughput = |row: &ToolRound| Some(row.figures.throughput_rps);
    let cpu = |row: &ToolRound| row.cpu_per_request;
    if let Some((before, after)) = rows.iter().find_map(|row| row.memory) {
        println!(
            "driver memory: resident {} before its first round, {} after it",
            ByteSize(before).human(),
            ByteSize(after).human()
        );
    }
    if let (Some(driver), Some(wrk)) = (median_of(true, throughput), median_of(false, throughput)) {
        println!(
            "median throughput: driver {driver:.0} req/s, wrk -t{} {wrk:.0} req/s: \
             driver / wrk = {:.2}x",
            args.wrk_threads,
            driver / wrk
        );
        let p99 = |row: &ToolRound| Some(row.figures.p99_us);
        let p50 = |row: &ToolRound| Some(row.figures.p50_us);
        if let (Some(driver_p99), Some(wrk_p99), Some(driver_p50), Some(wrk_p50)) = (
            median_of(true, p99),
            median_of(false, p99),
            median_of(true, p50),
            median_of(false, p50),
        ) {
            println!(
                "median latency: p99 driver {driver_p99:.0} us, wrk {wrk_p99:.0} us: driver / wrk \
                 = {:.2}x; p50 driver {driver_p50:.0} us, wrk {wrk_p50:.0} us: {:.2}x",
                driver_p99 / wrk_p99.max(1.0),
                driver_p50 / wrk_p50.max(1.0)
            );
        }
        if let (Some(driver_cpu), Some(wrk_cpu)) = (median_of(true, cpu), median_of(false, cpu)) {
            println!(
                "driver overhead: {:.2} us of CPU per request (median {driver_cpu:.2} with the \
                 driver minus {wrk_cpu:.2} for the server alone)",
                driver_cpu - wrk_cpu
            );
        }
    }
    ExitCode::SUCCESS
}

/// One tool's round of `driver-check`.
struct ToolRound {
    round: usize,
    figures: calibration::LoadFigures,
    /// This process's CPU time per request while the tool ran.
    cpu_per_request: Option<f64>,
    /// The process's resident memory before and after the driver's first
    /// round.
    memory: Option<(u64, u64)>,
}

async fn driver_check_rounds(args: &DriverCheckArgs) -> Result<Vec<ToolRound>, String> {
    let server = calibration::BareServer::one_hop(args.body_size)
        .await
        .map_err(|error| format!("cannot start the reference server: {error}"))?;
    let url = server.url();
    println!(
        "driver check: one-hop server at {url} ({} B body), {} connections, {} per tool, {} rounds",
        args.body_size, args.concurrency, args.duration, args.rounds
    );
    let mut rows = Vec::new();
    let mut wrk_missing = args.no_wrk;
    let memory_before = process::resident_bytes();
    for round in 1..=args.rounds {
        // Alternate which tool goes first.
        let order = if round % 2 == 1 {
            [true, false]
        } else {
            [false, true]
        };
        for driver in order {
            let cpu = process::process_cpu();
            let figures = if driver {
                calibration::drive(&url, args.concurrency, args.duration.0)
                    .await
                    .map_err(|error| error.to_string())?
            } else if wrk_missing {
                continue;
            } else {
                let target = format!("{url}/api?key=key1");
                let (threads, connections, duration) =
                    (args.wrk_threads, args.concurrency, args.duration.0);
                let measured = tokio::task::spawn_blocking(move || {
                    wrk::wrk(&target, threads, connections, duration)
                })
                .await
                .map_err(|error| error.to_string())?;
                match measured {
                    Some(figures) => figures?,
                    None => {
                        eprintln!(
                            "wrk is not installed: only the driver was measured (apt-get install wrk)"
                        );
                        wrk_missing = true;
                        continue;
                    }
                }
            };
            // Later rounds start new drivers, whose memory the allocator may
            // keep from earlier ones: the first round shows the driver's own.
            let memory = (driver && round == 1)
                .then(|| memory_before.zip(process::resident_bytes()))
                .flatten();
            rows.push(ToolRound {
                round,
                cpu_per_request: process::cpu_per_request(cpu, figures.requests),
                figures,
                memory,
            });
        }
    }
    server.shutdown().await;
    Ok(rows)
}
