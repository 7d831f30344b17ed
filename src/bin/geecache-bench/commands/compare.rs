//! `compare`: results side by side, as a table, JSON or a latency chart.
//! The comparison itself is [`geecache_bench::analysis::compare`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{fail, write_page, Format, EXIT_FAILED, EXIT_USAGE};
use geecache_bench::analysis::capacity::{
    compare as capacity_compare, report as capacity_report, show as capacity_show,
};
use geecache_bench::analysis::{compare, html, plot};
use geecache_bench::harness::report::{self, RunResult};
use geecache_bench::table::TableStyle;

/// Flags of `compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// Result files; the first is the base the changes are measured from.
    #[arg(value_name = "RESULT.json", num_args = 2.., required = true)]
    pub results: Vec<PathBuf>,
    /// Also draw each result's latency percentile curve, and its series
    /// (throughput, p99, API hit ratio and slow-store loads over time, with
    /// its events marked), into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Also write one self-contained HTML page: the table with its
    /// verdicts and intervals, and the charts of --plot.
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// `table` for people, `json` for programs, `markdown` for a CI job
    /// summary (GitHub-flavoured tables).
    #[arg(long, value_name = "table|json|markdown", default_value = "table", value_parser = Format::parser(&[Format::Table, Format::Json, Format::Markdown]))]
    pub format: Format,
}

/// Runs the subcommand.
pub fn exec(args: CompareArgs) -> ExitCode {
    let capacities: Vec<bool> = args
        .results
        .iter()
        .map(|path| {
            std::fs::read_to_string(path).is_ok_and(|text| capacity_report::is_capacity(&text))
        })
        .collect();
    if capacities.iter().all(|&capacity| capacity) {
        return compare_capacities(&args);
    }
    if let Some(at) = capacities.iter().position(|&capacity| capacity) {
        return fail(
            EXIT_USAGE,
            format!(
                "{}: a capacity result; compare capacities with capacities and runs with runs",
                args.results[at].display()
            ),
        );
    }
    let mut named = Vec::new();
    for path in &args.results {
        let is_capacity =
            std::fs::read_to_string(path).is_ok_and(|text| capacity_report::is_capacity(&text));
        if is_capacity {
            return fail(
                EXIT_USAGE,
                format!(
                    "{}: a capacity result; compare capacities with capacities and runs with runs",
                    path.display()
                ),
            );
        }
        match report::read(path) {
            Ok(result) => named.push((path.display().to_string(), result)),
            Err(error) => return fail(EXIT_USAGE, error),
        }
    }
    let comparison = compare::compare(&named);
    if args.format == Format::Json {
        match serde_json::to_string_pretty(&comparison) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_FAILED, error),
        }
    } else {
        let style = if args.format == Format::Markdown {
            TableStyle::Markdown
        } else {
            TableStyle::Aligned
        };
        print!("{}", compare::table(&comparison, style));
    }
    if args.plot.is_some() || args.html.is_some() {
        let names: Vec<String> = named
            .iter()
            .enumerate()
            .map(|(index, (path, _))| {
                let stem = std::path::Path::new(path)
                    .file_stem()
                    .map_or(path.clone(), |stem| stem.to_string_lossy().into_owned());
                format!("{}: {stem}", compare::column_name(index))
            })
            .collect();
        let curves: Vec<plot::Series> = named
            .iter()
            .zip(&names)
            .filter_map(|((_, result), name)| plot::result_latency(name, result))
            .collect();
        let mut panels = vec![plot::latency_panel("latency percentiles", curves)];
        let runs: Vec<(String, &RunResult)> = names
            .iter()
            .cloned()
            .zip(named.iter().map(|(_, result)| result))
            .collect();
        panels.extend(plot::series_panels(&runs));
        let svg = plot::render(&panels);
        let title = format!("geecache-bench: {}", names.join(" against "));
        let table = compare::table(&comparison, TableStyle::Aligned);
        if let Err(code) = write_charts(&args, &svg, (&title, &table), Some(&named[0].1.workload)) {
            return code;
        }
    }
    ExitCode::SUCCESS
}

/// `compare` over capacity results: each configuration's capacity against
/// the first's.
fn compare_capacities(args: &CompareArgs) -> ExitCode {
    let mut named = Vec::new();
    for path in &args.results {
        match capacity_report::read(path) {
            Ok(result) => named.push((path.display().to_string(), result)),
            Err(error) => return fail(EXIT_USAGE, error),
        }
    }
    let comparison = capacity_compare::compare(&named);
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&comparison) {
            Ok(json) => println!("{json}"),
            Err(error) => return fail(EXIT_FAILED, error),
        },
        Format::Markdown => print!(
            "{}",
            capacity_compare::table(&comparison, TableStyle::Markdown)
        ),
        _ => print!(
            "{}",
            capacity_compare::table(&comparison, TableStyle::Aligned)
        ),
    }
    if args.plot.is_some() || args.html.is_some() {
        let labelled: Vec<(String, &capacity_report::Configuration)> = named
            .iter()
            .enumerate()
            .flat_map(|(index, (_, result))| {
                result.configurations.iter().map(move |configuration| {
                    let name = capacity_show::short_name(configuration);
                    (
                        format!("{}: {name}", compare::column_name(index)),
                        configuration,
                    )
                })
            })
            .collect();
        let svg = capacity_show::chart_of(
            "latency from the intended send against the offered rate",
            &named[0].1.objective,
            &labelled,
        );
        let table = capacity_compare::table(&comparison, TableStyle::Aligned);
        let title = "geecache-bench: capacities compared";
        if let Err(code) = write_charts(args, &svg, (title, &table), None) {
            return code;
        }
    }
    ExitCode::SUCCESS
}

/// Writes the comparison's chart to --plot and its page (`table` and the
/// chart) to --html, where asked.
fn write_charts(
    args: &CompareArgs,
    svg: &str,
    (title, table): (&str, &str),
    workload: Option<&geecache_bench::harness::workload::Workload>,
) -> Result<(), ExitCode> {
    if let Some(path) = &args.plot {
        report::write_bytes_atomically(svg.as_bytes(), path)
            .map_err(|error| fail(EXIT_FAILED, error))?;
        eprintln!("plot: {}", path.display());
    }
    if let Some(path) = &args.html {
        let page =
            html::tables_and_charts(title, ("Comparison", table), &[svg.to_owned()], workload);
        write_page(&page, path)?;
    }
    Ok(())
}
