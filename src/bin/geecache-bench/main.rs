//! The `geecache-bench` binary: the command line (as cargo's
//! `src/bin/cargo/`): [`cli`] parses it and dispatches, and each file of
//! [`commands`] holds one subcommand's flags and its body, which calls the
//! library (`geecache_bench::harness` and `geecache_bench::analysis`) and
//! turns the outcome into an exit status. The library's public surface is
//! what these commands, the tests and the benchmarks use.

mod cli;
mod commands;

fn main() -> std::process::ExitCode {
    cli::main()
}
