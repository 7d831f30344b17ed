fn main() {
    eprintln!("geecache-bench: the run command is not built yet; see the README");
    std::process::exit(2);
}
