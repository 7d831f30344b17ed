//! Micro-benchmarks of GeeCache's hot paths.
//!
//!     cargo bench --bench hot_paths
//!
//! Targets: a ring lookup well under 100 ns, an LRU hit well under 200 ns.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use geecache_bench::geecache::lru::Lru;
use geecache_bench::geecache::singleflight::Flight;
use geecache_bench::geecache::{ByteView, HashKind, HashRing};

const KEYS: usize = 4096;

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("key{i}")).collect()
}

fn ring_lookup(c: &mut Criterion) {
    let keys = keys();
    let mut group = c.benchmark_group("ring_lookup");
    for kind in HashKind::ALL {
        for peers in [3, 16, 128] {
            for replicas in [1, 50, 500] {
                let mut ring = HashRing::new(replicas, kind);
                ring.add((0..peers).map(|p| format!("http://127.0.0.1:{}", 8001 + p)));
                let id = BenchmarkId::new(kind.name(), format!("{peers}peers/{replicas}replicas"));
                let mut at = 0;
                group.bench_function(id, |b| {
                    b.iter(|| {
                        at = (at + 1) % KEYS;
                        black_box(ring.owner_index(black_box(&keys[at])))
                    })
                });
            }
        }
    }
    group.finish();
}

fn lru(c: &mut Criterion) {
    let keys = keys();
    let value = ByteView::from(vec![7u8; 100]);
    let mut group = c.benchmark_group("lru");

    // Steady state, all hits: every key fits.
    let mut cache = Lru::new(0);
    for key in &keys {
        cache.add(key, value.clone());
    }
    let mut at = 0;
    group.bench_function("get_hit", |b| {
        b.iter(|| {
            at = (at + 1) % KEYS;
            black_box(cache.get(black_box(&keys[at])).is_some())
        })
    });

    // Steady state, full: each add of a new key evicts the oldest.
    let per_entry = "key0000".len() + value.len();
    let mut full = Lru::new(per_entry * KEYS / 2);
    for key in &keys {
        full.add(key, value.clone());
    }
    let mut at = 0;
    group.bench_function("add_evicting", |b| {
        b.iter(|| {
            at = (at + 1) % KEYS;
            full.add(black_box(&keys[at]), value.clone())
        })
    });
    group.finish();
}

fn singleflight(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let flight = Flight::<u64>::new();
    let mut group = c.benchmark_group("singleflight");
    group.bench_function("uncontended_run", |b| {
        b.iter(|| runtime.block_on(flight.run(black_box("key1"), || async { 42 })))
    });
    group.bench_function("baseline_block_on", |b| {
        b.iter(|| runtime.block_on(async { black_box(42u64) }))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = ring_lookup, lru, singleflight
}
criterion_main!(benches);
