//! The `geecache-bench` binary: parses the command line and hands it to the
//! library (see `geecache_bench::cli`).

fn main() -> std::process::ExitCode {
    geecache_bench::cli::main()
}
