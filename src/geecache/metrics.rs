//! `GET /metrics`: a node's counters in the Prometheus text exposition
//! format (version 0.0.4), the same as `/_stats` gives as JSON, with
//! groupcache's names, so that a monitoring stack can scrape nodes.
//!
//! Group counters are `geecache_group_<name>_total{group="..."}`, cache
//! figures `geecache_cache_<name>{group="...",cache="main"|"hot"}` (bytes
//! and items gauges, gets, hits and evictions counters), the node's
//! accepted connections `geecache_connections_total`, and the answers it
//! broke on purpose `geecache_broken_answers_total{how="..."}`.

use std::fmt::Write as _;

use super::stats::{CacheStats, GroupReport, NodeStats};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What each group counter counts, for its `# HELP` line.
fn group_help(name: &str) -> &'static str {
    match name {
        "gets" => "Gets, from the API and from peers, hits and misses alike.",
        "cache_hits" => "Gets answered from the main or the hot cache.",
        "peer_loads" => "Values fetched from a peer.",
        "peer_errors" => "Peer fetches that failed and fell back to a local load.",
        "peer_resets" => "Failed peer fetches whose connection was reset midway.",
        "peer_truncated" => "Failed peer fetches whose answer was cut short.",
        "peer_stalled" => "Failed peer fetches whose answer began, then stopped until the timeout.",
        "peer_malformed" => {
            "Failed peer fetches whose answer did not parse or disagreed with its framing."
        }
        "loads" => "Gets that missed the cache and went to load.",
        "loads_deduped" => "Loads that ran after singleflight merged concurrent ones.",
        "local_loads" => "Values loaded from the getter (the slow store).",
        "local_load_errs" => "Getter calls that failed.",
        "server_requests" => "Requests this group served to peers over HTTP.",
        _ => "A group counter.",
    }
}

/// A label value, escaped as the format asks (`\`, `"` and newlines).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The node's figures in the text exposition format.
pub fn render(stats: &NodeStats) -> String {
    let mut out = String::with_capacity(4096);
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut out,
        "geecache_connections_total",
        "counter",
        "Connections the node accepted.",
    );
    let _ = writeln!(out, "geecache_connections_total {}", stats.connections);
    family(
        &mut out,
        "geecache_ring_peers",
        "gauge",
        "Nodes on the node's ring, itself included.",
    );
    let _ = writeln!(out, "geecache_ring_peers {}", stats.peers.len());
    family(
        &mut out,
        "geecache_broken_answers_total",
        "counter",
        "Answers the node broke on purpose (fault injection), by how.",
    );
    for (how, count) in stats.broken_sent.named() {
        let _ = writeln!(
            out,
            "geecache_broken_answers_total{{how=\"{how}\"}} {count}"
        );
    }

    // Every group's counters, one family per counter.
    let groups: Vec<(String, &GroupReport)> = stats
        .groups
        .iter()
        .map(|(name, report)| (label(name), report))
        .collect();
    if let Some((_, first)) = groups.first() {
        for (at, (counter, _)) in first.stats.named().into_iter().enumerate() {
            let name = format!("geecache_group_{counter}_total");
            family(&mut out, &name, "counter", group_help(counter));
            for (group, report) in &groups {
                let value = report.stats.named()[at].1;
                let _ = writeln!(out, "{name}{{group=\"{group}\"}} {value}");
            }
        }
    }
    // Every cache's figures.
    type Figure = fn(&CacheStats) -> u64;
    let figures: [(&str, &str, &str, Figure); 5] = [
        ("bytes", "gauge", "Bytes of keys and values held.", |c| {
            c.bytes
        }),
        ("items", "gauge", "Entries held.", |c| c.items),
        ("gets_total", "counter", "Lookups.", |c| c.gets),
        (
            "hits_total",
            "counter",
            "Lookups that found the key.",
            |c| c.hits,
        ),
        (
            "evictions_total",
            "counter",
            "Entries pushed out by the byte bound.",
            |c| c.evictions,
        ),
    ];
    for (suffix, kind, help, figure) in figures {
        let name = format!("geecache_cache_{suffix}");
        family(&mut out, &name, kind, help);
        for (group, report) in &groups {
            let caches = std::iter::once(("main", Some(&report.main_cache)))
                .chain(std::iter::once(("hot", report.hot_cache.as_ref())));
            for (cache, stats) in caches {
                if let Some(stats) = stats {
                    let _ = writeln!(
                        out,
                        "{name}{{group=\"{group}\",cache=\"{cache}\"}} {}",
                        figure(stats)
                    );
                }
            }
        }
    }
    out
}
