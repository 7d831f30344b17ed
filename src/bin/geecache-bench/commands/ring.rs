//! `ring`: how evenly rings spread the hash space and a key space, from the
//! ring alone. The figures are computed in [`geecache_bench::analysis::ring`].

use std::process::ExitCode;

use clap::Args;

use super::{fail, Format, RingLists, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::analysis::ring;

/// Flags of `ring`: the grid's lists of node counts, replicas and hashes,
/// with the ring's own help and defaults.
#[derive(Debug, Args, Clone)]
#[command(
    mut_arg("nodes", |arg| arg
        .help("Node counts, comma-separated; nodes are named as a run names them")
        .default_value("3")),
    mut_arg("replicas", |arg| arg
        .help("Virtual nodes per node, comma-separated")
        .default_value("1,10,50,200,1000")
        .display_order(1)),
    mut_arg("hash", |arg| arg
        .help("Hashes, comma-separated")
        .default_value("crc32,xxh3")
        .display_order(2)),
)]
pub struct RingArgs {
    #[command(flatten)]
    pub lists: RingLists,
    /// Keys to place: key0 .. key{N-1}.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub keys: u64,
    /// Each node's shares (with --join or --leave: where its keys went)
    /// under its ring's row.
    #[arg(long)]
    pub detail: bool,
    /// Instead of the spread: what K nodes joining each ring do, the share
    /// of keys that move against the ideal K/(n+K), and the spread after.
    #[arg(long, value_name = "K", conflicts_with = "leave")]
    pub join: Option<usize>,
    /// Instead of the spread: what node I (0 is the first) leaving each
    /// ring does, the share of keys that move against the leaver's share.
    #[arg(long, value_name = "I")]
    pub leave: Option<usize>,
    /// `table` for people, `json` for programs.
    #[arg(long, value_name = "table|json", default_value = "table", value_parser = Format::parser(&[Format::Table, Format::Json]))]
    pub format: Format,
}

/// Runs the subcommand.
pub fn exec(args: RingArgs) -> ExitCode {
    let (nodes, replicas) = (&args.lists.nodes, &args.lists.replicas);
    if let Some(&nodes) = nodes.iter().find(|&&nodes| !(1..=1000).contains(&nodes)) {
        return fail(
            EXIT_USAGE,
            format!("--nodes: {nodes} is out of range: allowed 1 to 1000"),
        );
    }
    if let Some(&replicas) = replicas
        .iter()
        .find(|&&replicas| !(1..=100_000).contains(&replicas))
    {
        return fail(
            EXIT_USAGE,
            format!("--replicas: {replicas} is out of range: allowed 1 to 100000"),
        );
    }
    if args.keys > 100_000_000 {
        return fail(EXIT_USAGE, "--keys: allowed 0 to 100000000");
    }
    let change = match (args.join, args.leave) {
        (Some(count), _) if !(1..=1000).contains(&count) => {
            return fail(
                EXIT_USAGE,
                format!("--join: {count} is out of range: allowed 1 to 1000"),
            )
        }
        (Some(count), _) => Some(ring::Change::Join(count)),
        (None, Some(index)) => match nodes.iter().find(|&&nodes| index >= nodes as usize) {
            Some(nodes) => {
                return fail(
                    EXIT_USAGE,
                    format!(
                    "--leave: there is no node {index} in a ring of {nodes} (nodes count from 0)"
                ),
                )
            }
            None => Some(ring::Change::Leave(index)),
        },
        (None, None) => None,
    };
    if let Some(change) = change {
        let configs = ring::configs(nodes, replicas, &args.lists.hash);
        let reports = ring::analyse_changes(&configs, change, args.keys);
        return print(&reports, args.format, || {
            ring::change_table(&reports, args.detail)
        });
    }
    let reports = ring::analyse_grid(nodes, replicas, &args.lists.hash, args.keys);
    print(&reports, args.format, || ring::table(&reports, args.detail))
}

/// Prints `reports` as JSON, or `table()` for people.
fn print<T: serde::Serialize>(reports: &T, format: Format, table: impl Fn() -> String) -> ExitCode {
    if format == Format::Json {
        match serde_json::to_string_pretty(reports) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_FAILED, error),
        }
    } else {
        print!("{}", table());
    }
    ExitCode::SUCCESS
}
