fn main() {
    eprintln!("geecache-bench: the load harness is not built yet; the GeeCache library and its tests are (see the README)");
    std::process::exit(2);
}
