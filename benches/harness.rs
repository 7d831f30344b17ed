//! Micro-benchmarks of the harness: drawing keys, and the model.
//!
//!     cargo bench --bench harness
//!
//! Targets: `simulate` runs 100 configurations x 1,000,000 requests in
//! under 10 s; a key draw costs well under a microsecond, so the driver can
//! draw millions a second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use geecache_bench::analysis::grid::Grid;
use geecache_bench::analysis::simulate;
use geecache_bench::geecache::HashKind;
use geecache_bench::harness::driver::KeySampler;
use geecache_bench::harness::workload::{self, Distribution};
use geecache_bench::units::ByteSize;

fn key_sampling(c: &mut Criterion) {
    let mut group = c.benchmark_group("key_sampling");
    group.throughput(Throughput::Elements(1));
    for (name, distribution) in [
        ("zipf_1.0", Distribution::Zipf { exponent: 1.0 }),
        ("zipf_1.5", Distribution::Zipf { exponent: 1.5 }),
        ("uniform", Distribution::Uniform),
    ] {
        let sampler = KeySampler::new(100_000, distribution, 42).expect("a sampler");
        let mut request = 0u64;
        group.bench_function(BenchmarkId::new(name, "100000 keys"), |b| {
            b.iter(|| {
                request += 1;
                black_box(sampler.index(1, black_box(request)))
            })
        });
    }
    group.finish();
}

fn simulate_grid(c: &mut Criterion) {
    let mut workload = workload::parse(
        r#"{"keys": 100000, "requests": 1000000, "warmup_requests": 0}"#,
        "bench",
        "zipf",
    )
    .expect("a workload");
    workload.requests = Some(1_000_000);
    // 2 node counts x 2 hashes x 5 replica counts x 5 cache sizes.
    let grid = Grid {
        nodes: vec![3, 8],
        hashes: HashKind::ALL.to_vec(),
        replicas: vec![1, 10, 50, 200, 1000],
        cache_bytes: [64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]
            .map(ByteSize)
            .to_vec(),
    };
    assert_eq!(grid.points(&workload).len(), 100);
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("100_configs_x_1M_requests", |b| {
        b.iter(|| black_box(simulate::simulate(&workload, &grid, None).expect("a simulation")))
    });
    group.finish();
}

criterion_group! {
    name = sampling;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = key_sampling
}
criterion_group! {
    name = model;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = simulate_grid
}
criterion_main!(sampling, model);
