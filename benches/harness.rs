//! Micro-benchmarks of the harness: drawing keys, reading traces, and the
//! model.
//!
//!     cargo bench --bench harness
//!
//! Targets: `simulate` runs 100 configurations x 1,000,000 requests in
//! under 10 s; a key draw costs well under a microsecond, so the driver can
//! draw millions a second; oracleGeneral records parse at 20 million a
//! second or more on one core, so reading a trace never holds a replay
//! back.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use geecache_bench::analysis::grid::Grid;
use geecache_bench::analysis::mrc::{self, StackDistances};
use geecache_bench::analysis::simulate;
use geecache_bench::geecache::HashKind;
use geecache_bench::harness::driver::KeySampler;
use geecache_bench::harness::trace::{
    self, oracle_general_record, RecordReader, ScanRequest, TraceFormat, TraceSettings,
};
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

/// A million oracleGeneral records over 100,000 objects, as a file holds
/// them.
fn oracle_records() -> &'static [u8] {
    let mut bytes = Vec::with_capacity(24 << 20);
    let mut state = 1u64;
    for record in 0..1_000_000u32 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let id = (state >> 33) % 100_000;
        bytes.extend_from_slice(&oracle_general_record(
            record / 1000,
            id,
            100 + (id % 900) as u32,
        ));
    }
    Box::leak(bytes.into_boxed_slice())
}

fn trace_reading(c: &mut Criterion) {
    let bytes = oracle_records();
    let mut group = c.benchmark_group("trace");
    group.throughput(Throughput::Elements(1_000_000));
    group.sample_size(20);
    group.bench_function("oracle_general_parse_1M_records", |b| {
        b.iter(|| {
            let mut reader = RecordReader::new(
                Box::new(std::io::Cursor::new(bytes)),
                TraceFormat::OracleGeneral,
                "bench".to_owned(),
            );
            let mut sum = 0u64;
            while let Some(record) = reader.next_record().expect("a record") {
                sum = sum.wrapping_add(record.id ^ u64::from(record.size.unwrap_or(0)));
            }
            black_box(sum)
        })
    });
    // The scan: parse, number each key (a hash map) and size it.
    let dir = std::env::temp_dir().join(format!("bench-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let path = dir.join("bench.oracleGeneral");
    std::fs::write(&path, bytes).expect("the trace");
    let settings = TraceSettings {
        path: path.display().to_string(),
        format: None,
        limit: None,
        sample: None,
        speed: None,
    };
    group.bench_function("oracle_general_scan_1M_records", |b| {
        b.iter(|| {
            black_box(
                trace::scan(ScanRequest {
                    settings: &settings,
                    base: None,
                    value_size: 100,
                    needed: None,
                    timeline_from: None,
                    max_keys: 10_000_000,
                })
                .expect("a scan")
                .info
                .keys,
            )
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn miss_ratio_curve(c: &mut Criterion) {
    // A million accesses, Zipf s = 1.0 over 100,000 keys, as a node's
    // stream; each key 6-11 bytes of name and 100 of value.
    let sampler =
        KeySampler::new(100_000, Distribution::Zipf { exponent: 1.0 }, 42).expect("a sampler");
    let accesses: Vec<u32> = (0..1_000_000)
        .map(|request| sampler.index(1, request) as u32)
        .collect();
    let mut group = c.benchmark_group("mrc");
    group.throughput(Throughput::Elements(accesses.len() as u64));
    group.sample_size(10);
    group.bench_function("exact_1M_accesses_100000_keys", |b| {
        b.iter(|| {
            let mut stack = StackDistances::new(100_000);
            let mut sum = 0u64;
            for &key in &accesses {
                let weight = 103 + u64::from(key % 5);
                sum = sum.wrapping_add(stack.access(key, weight).unwrap_or(0));
            }
            black_box(sum)
        })
    });
    // The whole pass of `mrc` over a workload: the keys drawn as a run
    // draws them (about 40 ns each), owners, stacks and the histogram.
    let workload = workload::parse(
        r#"{"keys": 100000, "requests": 1000000, "warmup_requests": 0,
            "slowdb": {"latency": {"kind": "none"}}}"#,
        "bench",
        "zipf",
    )
    .expect("a workload");
    let ring = geecache_bench::harness::ownership::RingShape {
        nodes: 3,
        replicas: 50,
        hash: HashKind::Crc32,
    };
    for (name, sampling) in [
        ("curves_exact_1M_requests", mrc::Sampling::Exact),
        (
            "curves_shards_1pct_1M_requests",
            mrc::Sampling::Rate { rate: 0.01 },
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    mrc::curves(&workload, ring, sampling, &[])
                        .expect("curves")
                        .requests,
                )
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
    targets = key_sampling, trace_reading, miss_ratio_curve
}
criterion_group! {
    name = model;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = simulate_grid
}
criterion_main!(sampling, model);
