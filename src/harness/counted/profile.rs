//! Where a counted pass's instructions go (`--count --profile`): the same
//! pass run twice more under callgrind, once collecting only inside the
//! servers' connection tasks and once only inside the driver's request
//! tasks, so that every instruction of a profile belongs to that side.
//! Each function's own instructions fall in one [`Group`] by what the
//! function is (its path, or for `<T as Trait>::f` and `drop_in_place<T>`
//! the type's), so that a reader sees what to make cheaper: HTTP parsing
//! and writing, the cache lookup, the ring, allocation, copies, ...

use serde::{Deserialize, Serialize};

use super::callgrind::Profile;

/// Functions listed by their own and by their inclusive instructions.
pub const DEFAULT_TOP: usize = 15;

/// What a function's instructions are spent on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Parsing requests and answers, writing them, routing a request: hyper,
    /// httparse, http's types, the project's h1 client and server glue.
    Http,
    /// The cache's own work: the group, the LRU, the byte views.
    Cache,
    /// Choosing the owner of a key: the ring and its hash.
    Ring,
    /// Joining or leading a load of a key.
    Singleflight,
    /// Counting: the nodes' statistics, the driver's histograms and series.
    Stats,
    /// Hash maps' hashing and probing (the LRU's index, the group table).
    HashMaps,
    /// `bytes`' buffers: splitting, reserving, reference counts.
    Buffers,
    /// `malloc`, `free` and the allocator shims.
    Alloc,
    /// `memcpy`, `memmove`, `memset`, `memcmp`.
    Copies,
    /// Reading the clock.
    Clock,
    /// The user-space side of system calls (libc's wrappers, mio, std::io).
    Syscalls,
    /// The async runtime: tasks, wakers, timers, I/O readiness, Arc counts.
    Runtime,
    /// The slow store a node loads from.
    SlowStore,
    /// The driver's own loop: keys, steering, pacing.
    Driver,
    /// Everything else (string searching, formatting, ...).
    Other,
}

impl Group {
    /// Every group, in the order tables list them.
    pub const ALL: [Group; 15] = [
        Group::Http,
        Group::Cache,
        Group::Ring,
        Group::Singleflight,
        Group::Stats,
        Group::HashMaps,
        Group::Buffers,
        Group::Alloc,
        Group::Copies,
        Group::Clock,
        Group::Syscalls,
        Group::Runtime,
        Group::SlowStore,
        Group::Driver,
        Group::Other,
    ];

    /// The group's name in tables.
    pub fn label(self) -> &'static str {
        match self {
            Group::Http => "HTTP parse/write",
            Group::Cache => "cache lookup",
            Group::Ring => "ring",
            Group::Singleflight => "singleflight",
            Group::Stats => "stats/metrics",
            Group::HashMaps => "hash maps",
            Group::Buffers => "buffers (bytes)",
            Group::Alloc => "alloc/free",
            Group::Copies => "copies",
            Group::Clock => "clock reads",
            Group::Syscalls => "syscall wrappers",
            Group::Runtime => "runtime",
            Group::SlowStore => "slow store",
            Group::Driver => "driver loop",
            Group::Other => "other",
        }
    }

    /// The group of a function, by its demangled name.
    pub fn of(function: &str) -> Group {
        if function.contains("pick_peer") {
            return Group::Ring;
        }
        let subject = subject(function);
        RULES
            .iter()
            .find(|(prefixes, _)| prefixes.iter().any(|prefix| subject.starts_with(prefix)))
            .map_or(Group::Other, |(_, group)| *group)
    }
}

/// Path prefixes of each group, tried in order; the first that matches the
/// function's subject decides.
const RULES: &[(&[&str], Group)] = &[
    (
        &[
            "__mem",
            "memcpy",
            "memmove",
            "memset",
            "memcmp",
            "bcmp",
            "__nss_",
            "__strlen",
            "bytes::bytes::Bytes::copy_from_slice",
        ],
        Group::Copies,
    ),
    (
        &[
            "malloc",
            "free",
            "cfree",
            "realloc",
            "calloc",
            "_int_",
            "unlink_chunk",
            "tcache",
            "__rustc::",
            "__rust_",
            "__rdl_",
            "alloc::alloc",
            "alloc::raw_vec",
            "alloc::vec",
            "alloc::string",
            "alloc::boxed",
        ],
        Group::Alloc,
    ),
    (
        &[
            "clock_gettime",
            "__vdso_clock_gettime",
            "__clock_gettime",
            "std::sys::pal::unix::time",
            "std::time::",
            "tokio::time::instant",
        ],
        Group::Clock,
    ),
    (
        &[
            "recv",
            "send",
            "read",
            "write",
            "writev",
            "readv",
            "epoll_",
            "close",
            "__libc_",
            "syscall",
            "mio::",
            "std::io::",
            "std::net::",
            "std::fs::",
            "std::sys::",
        ],
        Group::Syscalls,
    ),
    (
        &[
            "geecache_bench::geecache::consistent_hash",
            "geecache_bench::geecache::peers",
            "crc32fast",
            "xxhash_rust",
        ],
        Group::Ring,
    ),
    (
        &["geecache_bench::geecache::singleflight"],
        Group::Singleflight,
    ),
    (
        &[
            "geecache_bench::geecache::stats",
            "geecache_bench::geecache::metrics",
            "geecache_bench::harness::driver::series",
            "geecache_bench::harness::driver::counts",
            "geecache_bench::harness::latency",
            "hdrhistogram",
        ],
        Group::Stats,
    ),
    (
        &[
            "geecache_bench::geecache::lru",
            "geecache_bench::geecache::cache",
            "geecache_bench::geecache::byteview",
            "geecache_bench::geecache::group",
        ],
        Group::Cache,
    ),
    (
        &[
            "core::hash",
            "hashbrown",
            "std::collections::hash",
            "std::hash",
        ],
        Group::HashMaps,
    ),
    (&["bytes::"], Group::Buffers),
    (&["geecache_bench::harness::slowdb"], Group::SlowStore),
    (
        &[
            "hyper",
            "httparse",
            "http::",
            "http_body",
            "itoa",
            "geecache_bench::geecache::h1",
            "geecache_bench::geecache::http",
            "geecache_bench::geecache::server",
            "geecache_bench::geecache::node",
            "geecache_bench::geecache::source",
            "geecache_bench::harness::calibration",
        ],
        Group::Http,
    ),
    (
        &[
            "tokio",
            "std::thread",
            "core::task",
            "std::sync",
            "alloc::sync",
            "alloc::rc",
            "core::future",
            "futures",
            "parking_lot",
            "core::sync",
        ],
        Group::Runtime,
    ),
    (&["geecache_bench::harness::driver"], Group::Driver),
];

/// What a function name is about: `T` of `<T as Trait>::f`, of
/// `drop_in_place<T>` and of `&T`, else the name itself.
fn subject(function: &str) -> &str {
    let mut name = function.trim();
    loop {
        let before = name;
        if let Some(rest) = name.strip_prefix("core::ptr::drop_in_place<") {
            name = rest;
        }
        if let Some(rest) = name.strip_prefix('<') {
            name = rest;
        }
        name = name.trim_start_matches('&');
        if let Some(rest) = name.strip_prefix("mut ") {
            name = rest;
        }
        if let Some(rest) = name.strip_prefix("dyn ") {
            name = rest;
        }
        if name == before {
            return name;
        }
    }
}

/// One function's instructions per request in a side's profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionCost {
    /// Its demangled name.
    pub function: String,
    /// Its group.
    pub group: Group,
    /// Its own instructions.
    pub self_per_request: f64,
    /// Its own and those of everything it called (within the side).
    pub inclusive_per_request: f64,
}

/// One group's instructions per request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupCost {
    /// The group.
    pub group: Group,
    /// The own instructions of its functions.
    pub per_request: f64,
}

/// Where one side's instructions went in one section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breakdown {
    /// Every instruction of the side, per request.
    pub instructions_per_request: f64,
    /// By group, every group with any, in [`Group::ALL`]'s order.
    pub groups: Vec<GroupCost>,
    /// The functions with the most instructions of their own, most first.
    pub top_self: Vec<FunctionCost>,
    /// The functions with the most inclusive instructions, most first.
    pub top_inclusive: Vec<FunctionCost>,
}

impl Breakdown {
    /// A side's profile of `requests` requests: its groups and its `top`
    /// functions each way.
    pub(super) fn of(profile: &Profile, requests: u64, top: usize) -> Breakdown {
        let per = |count: u64| count as f64 / requests.max(1) as f64;
        let mut by_group = [0u64; Group::ALL.len()];
        let mut functions: Vec<FunctionCost> = Vec::new();
        // A function the collection never entered has no instructions of
        // its own, only calls that lead into it (`main`, a thread's start):
        // listed, its inclusive figure would count what it only leads to.
        for (name, own, inclusive) in profile.functions().filter(|(_, own, _)| *own > 0) {
            let group = Group::of(name);
            if let Some(index) = Group::ALL.iter().position(|each| *each == group) {
                by_group[index] += own;
            }
            functions.push(FunctionCost {
                function: name.to_owned(),
                group,
                self_per_request: per(own),
                inclusive_per_request: per(inclusive),
            });
        }
        let ranked = |key: fn(&FunctionCost) -> f64| {
            let mut ranked = functions.clone();
            ranked.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.function.cmp(&b.function)));
            ranked.truncate(top);
            ranked
        };
        Breakdown {
            instructions_per_request: per(profile.total),
            groups: Group::ALL
                .iter()
                .zip(by_group)
                .filter(|(_, own)| *own > 0)
                .map(|(group, own)| GroupCost {
                    group: *group,
                    per_request: per(own),
                })
                .collect(),
            top_self: ranked(|function| function.self_per_request),
            top_inclusive: ranked(|function| function.inclusive_per_request),
        }
    }

    /// A group's instructions per request, or with `None` all of them.
    pub fn figure(&self, group: Option<Group>) -> f64 {
        group.map_or(self.instructions_per_request, |group| self.group(group))
    }

    /// A group's instructions per request (0 where it has none).
    pub fn group(&self, group: Group) -> f64 {
        self.groups
            .iter()
            .find(|cost| cost.group == group)
            .map_or(0.0, |cost| cost.per_request)
    }
}

/// One side's breakdown in each section of the pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sections {
    /// The cluster's measured phase.
    pub run: Breakdown,
    /// The bare one-hop server.
    pub one_hop: Breakdown,
    /// The bare two-hop server.
    pub two_hop: Breakdown,
}

/// A counted pass's profile: the servers' connection tasks and the
/// driver's request tasks, each section apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountedProfile {
    /// The servers' connection tasks (the nodes', or a reference server's).
    pub servers: Sections,
    /// The driver's request tasks.
    pub driver: Sections,
}

impl CountedProfile {
    /// The profile as tables: each side's groups in every section (for the
    /// servers with the bare hops blended at `peer_fetch_ratio`, and the
    /// run's excess over them), then the run's `top` functions of each
    /// side by their own instructions.
    pub fn render(&self, peer_fetch_ratio: Option<f64>, top: usize) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let whole = |value: f64| format!("{value:.0}");
        let share = peer_fetch_ratio.unwrap_or(0.0);
        for (side, sections, blended) in [
            ("servers' connection tasks", &self.servers, true),
            ("driver's request tasks", &self.driver, false),
        ] {
            let _ = writeln!(out, "profile of the {side}, instructions per request:");
            let mut header = vec![
                "  group".to_owned(),
                "run".to_owned(),
                "one-hop".to_owned(),
                "two-hop".to_owned(),
            ];
            let bare = |group: Option<Group>| {
                let one_hop = sections.one_hop.figure(group);
                if blended {
                    (1.0 - share) * one_hop + share * sections.two_hop.figure(group)
                } else {
                    one_hop
                }
            };
            header.push(if blended { "bare blend" } else { "bare" }.to_owned());
            header.push("run - bare".to_owned());
            let mut rows = vec![header];
            let row = |label: &str, group: Option<Group>| {
                vec![
                    format!("  {label}"),
                    whole(sections.run.figure(group)),
                    whole(sections.one_hop.figure(group)),
                    whole(sections.two_hop.figure(group)),
                    whole(bare(group)),
                    format!("{:+.0}", sections.run.figure(group) - bare(group)),
                ]
            };
            for group in Group::ALL {
                let any = [&sections.run, &sections.one_hop, &sections.two_hop]
                    .iter()
                    .any(|breakdown| breakdown.group(group) > 0.0);
                if any {
                    rows.push(row(group.label(), Some(group)));
                }
            }
            rows.push(row("all", None));
            out.push_str(&crate::table::align(&rows, |column| column == 0));
            let _ = writeln!(
                out,
                "  top functions of the run, by their own instructions:"
            );
            let mut rows = vec![vec![
                "    self".to_owned(),
                "inclusive".to_owned(),
                "group".to_owned(),
                "function".to_owned(),
            ]];
            for function in sections.run.top_self.iter().take(top) {
                rows.push(vec![
                    format!("    {}", whole(function.self_per_request)),
                    whole(function.inclusive_per_request),
                    function.group.label().to_owned(),
                    shortened(&function.function),
                ]);
            }
            out.push_str(&crate::table::align(&rows, |column| column >= 2));
        }
        out
    }
}

/// A function's name cut to a line's width.
fn shortened(function: &str) -> String {
    const WIDTH: usize = 110;
    if function.chars().count() <= WIDTH {
        return function.to_owned();
    }
    let cut: String = function.chars().take(WIDTH - 3).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_fall_in_the_group_of_what_they_are() {
        let cases = [
            ("hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_write", Group::Http),
            (
                "<hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::parse",
                Group::Http,
            ),
            ("httparse::parse_headers_iter_uninit", Group::Http),
            ("core::ptr::drop_in_place<http::header::map::HeaderMap>", Group::Http),
            ("geecache_bench::geecache::lru::Lru<V>::get", Group::Cache),
            ("geecache_bench::geecache::group::Group::load::{{closure}}", Group::Cache),
            (
                "<geecache_bench::geecache::http::HttpPool as geecache_bench::geecache::peers::PeerPicker>::pick_peer",
                Group::Ring,
            ),
            ("crc32fast::baseline::update_4_to_15", Group::Ring),
            ("geecache_bench::geecache::singleflight::Flight<V>::join_or_lead", Group::Singleflight),
            ("hdrhistogram::Histogram<T>::record_n_inner", Group::Stats),
            ("core::hash::BuildHasher::hash_one", Group::HashMaps),
            ("<core::hash::sip::Hasher<S> as core::hash::Hasher>::write", Group::HashMaps),
            ("hashbrown::map::HashMap<K,V,S,A>::insert", Group::HashMaps),
            ("bytes::bytes_mut::BytesMut::reserve_inner", Group::Buffers),
            ("bytes::bytes::Bytes::copy_from_slice", Group::Copies),
            ("__memcpy_avx_unaligned_erms", Group::Copies),
            ("malloc", Group::Alloc),
            ("_int_free", Group::Alloc),
            ("__rustc::__rdl_alloc", Group::Alloc),
            ("<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop", Group::Alloc),
            ("clock_gettime@@GLIBC_2.17", Group::Clock),
            ("<std::sys::pal::unix::time::Timespec>::now", Group::Clock),
            ("<std::time::Instant>::elapsed", Group::Clock),
            ("recv", Group::Syscalls),
            ("<&mio::net::tcp::stream::TcpStream as std::io::Read>::read", Group::Syscalls),
            ("tokio::runtime::io::registration::Registration::poll_ready", Group::Runtime),
            ("<tokio::time::sleep::Sleep as core::future::future::Future>::poll", Group::Runtime),
            ("std::thread::local::LocalKey<T>::with", Group::Runtime),
            ("alloc::sync::Arc<T,A>::drop_slow", Group::Runtime),
            ("geecache_bench::harness::slowdb::SlowDb::load::{{closure}}", Group::SlowStore),
            ("geecache_bench::harness::driver::worker::{{closure}}", Group::Driver),
            ("geecache_bench::harness::driver::series::SeriesBuilder::record", Group::Stats),
            ("<core::str::pattern::CharSearcher as core::str::pattern::Searcher>::next_match", Group::Other),
        ];
        for (function, group) in cases {
            assert_eq!(Group::of(function), group, "{function}");
        }
    }

    /// main (own 10) calls hyper::serve (own 300, inclusive 700), which
    /// calls malloc (own 400); 100 requests. `(below main)`, outside the
    /// collection, only leads to main.
    const PROFILE: &str = "\
events: Ir
fn=(9) (below main)
cfn=(1) main
calls=1 1
1 710
fn=(1) main
1 10
cfn=(2) hyper::serve
calls=1 1
1 700
fn=(2)
1 300
cfn=(3) malloc
calls=4 1
1 400
fn=(3)
1 400
totals: 710
";

    #[test]
    fn a_breakdown_sums_own_instructions_by_group_and_ranks_functions() {
        let profile = Profile::parse(PROFILE).unwrap();
        let breakdown = Breakdown::of(&profile, 100, 2);
        assert_eq!(breakdown.instructions_per_request, 7.1);
        assert_eq!(breakdown.group(Group::Http), 3.0);
        assert_eq!(breakdown.group(Group::Alloc), 4.0);
        assert_eq!(breakdown.group(Group::Other), 0.1);
        assert_eq!(breakdown.group(Group::Ring), 0.0);
        let groups: f64 = breakdown.groups.iter().map(|cost| cost.per_request).sum();
        assert!((groups - breakdown.instructions_per_request).abs() < 1e-9);
        let names = |list: &[FunctionCost]| {
            list.iter()
                .map(|function| function.function.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&breakdown.top_self), ["malloc", "hyper::serve"]);
        assert_eq!(names(&breakdown.top_inclusive), ["main", "hyper::serve"]);
        assert_eq!(breakdown.top_inclusive[0].inclusive_per_request, 7.1);
        assert_eq!(breakdown.top_inclusive[1].inclusive_per_request, 7.0);
        assert_eq!(breakdown.top_self[0].group, Group::Alloc);
    }
}
