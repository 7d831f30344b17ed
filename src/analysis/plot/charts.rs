//! What the charts show: latency percentile curves (of a histogram or a
//! result), a run's series over time, and a grid's hit ratio, slow-store
//! loads and throughput against cache size and replicas.

use hdrhistogram::Histogram;

use super::svg::{short_number, Axis, Panel, Scale, Series};
use crate::analysis::grid::GridPoint;
use crate::harness::report::RunResult;
use crate::intervals::Estimate;
use crate::units::ByteSize;

/// Percentiles a latency curve is drawn through, as far as the number of
/// recorded values resolves them.
const PERCENTILES: [f64; 14] = [
    0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 99.9999,
];

/// Where percentile `p` sits on a "nines" axis: 90% at 1, 99% at 2, ...
fn nines(p: f64) -> f64 {
    (1.0 / (1.0 - p / 100.0)).log10()
}

/// A latency curve of `histogram` (microseconds): percentile on a nines
/// axis against latency, up to the maximum.
pub(crate) fn latency_curve(name: &str, histogram: &Histogram<u64>) -> Series {
    let count = histogram.len();
    let mut points: Vec<(f64, f64)> = Vec::new();
    if count > 0 {
        for p in PERCENTILES {
            // Only the percentiles the sample resolves.
            if 1.0 / (1.0 - p / 100.0) > count as f64 * (1.0 + 1e-9) {
                break;
            }
            points.push((
                nines(p),
                histogram.value_at_quantile(p / 100.0).max(1) as f64,
            ));
        }
        points.push(((count as f64).log10(), histogram.max().max(1) as f64));
    }
    Series {
        name: name.to_owned(),
        points,
        bars: Vec::new(),
    }
}

/// The latency curve of a result's histogram; `None` when the histogram
/// cannot be decoded or is empty.
pub fn result_latency(name: &str, result: &RunResult) -> Option<Series> {
    let histogram = result.histogram.decode().ok()?;
    let curve = latency_curve(name, &histogram);
    (!curve.points.is_empty()).then_some(curve)
}

/// The panel of latency curves: percentile (as nines) against latency.
pub fn latency_panel(title: &str, series: Vec<Series>) -> Panel {
    let widest = series
        .iter()
        .flat_map(|series| series.points.last())
        .map(|point| point.0)
        .fold(2.0, f64::max);
    let ticks = [
        (0.0, "0%"),
        (1.0, "90%"),
        (2.0, "99%"),
        (3.0, "99.9%"),
        (4.0, "99.99%"),
        (5.0, "99.999%"),
        (6.0, "99.9999%"),
        (7.0, "99.99999%"),
    ]
    .into_iter()
    .filter(|(x, _)| *x <= widest.ceil())
    .map(|(x, label)| (x, label.to_owned()))
    .collect();
    Panel {
        title: title.to_owned(),
        x: Axis {
            label: "percentile (the last point is the maximum)".to_owned(),
            scale: Scale::Linear,
            ticks: Some(ticks),
            range: Some((0.0, widest.ceil())),
        },
        y: Axis {
            label: "latency (us)".to_owned(),
            scale: Scale::Log,
            ticks: None,
            range: None,
        },
        series,
        markers: Vec::new(),
    }
}

/// The interval series of runs, one line per run in each panel:
/// throughput, p99, the API hit ratio and slow-store loads per second
/// against time, with each run's events marked.
pub fn series_panels(runs: &[(String, &RunResult)]) -> Vec<Panel> {
    type Figure = fn(&crate::harness::report::IntervalFigures, f64) -> Option<f64>;
    let figures: [(&str, &str, Scale, Figure); 4] = [
        (
            "throughput",
            "requests per second",
            Scale::Linear,
            |entry, _| Some(entry.client.throughput_rps),
        ),
        ("p99 latency", "p99 (us)", Scale::Log, |entry, _| {
            entry.client.p99_us.map(|p99| p99 as f64)
        }),
        (
            "API hit ratio",
            "API hit ratio (%)",
            Scale::Linear,
            |entry, _| {
                entry
                    .cluster
                    .as_ref()
                    .and_then(|cluster| cluster.api_hit_ratio)
                    .map(|ratio| ratio * 100.0)
            },
        ),
        (
            "slow-store loads",
            "loads per second",
            Scale::Linear,
            |entry, length| {
                entry
                    .cluster
                    .as_ref()
                    .map(|cluster| cluster.slowdb_loads as f64 / length)
            },
        ),
    ];
    let mut markers: Vec<(f64, String)> = Vec::new();
    for (_, result) in runs {
        for (index, event) in result.events.iter().enumerate() {
            let Some(at) = event.at_secs else {
                continue;
            };
            let label = format!("{index}: {}", event.event.action);
            if !markers
                .iter()
                .any(|(x, known)| (x - at).abs() < 0.05 && *known == label)
            {
                markers.push((at, label));
            }
        }
    }
    figures
        .iter()
        .map(|&(title, label, scale, figure)| {
            let series = runs
                .iter()
                .map(|(name, result)| {
                    let length = result.workload.interval.0.as_secs_f64();
                    // The last interval is partial: its rate is noise.
                    let whole = &result.series[..result.series.len().saturating_sub(1)];
                    Series {
                        name: name.clone(),
                        bars: Vec::new(),
                        points: whole
                            .iter()
                            .filter_map(|entry| {
                                let value = figure(entry, length)?;
                                Some((entry.client.start_secs + length / 2.0, value))
                            })
                            .collect(),
                    }
                })
                .collect();
            Panel {
                title: title.to_owned(),
                x: Axis::auto("seconds since the measurement began", Scale::Linear),
                y: Axis::auto(label, scale),
                series,
                markers: markers.clone(),
            }
        })
        .collect()
}

/// The figures of one configuration of a grid that its panels show.
#[derive(Clone, Copy, Debug)]
pub struct GridFigures {
    /// The configuration.
    pub point: GridPoint,
    /// The API node's hit ratio.
    pub hit_ratio: Option<f64>,
    /// Slow-store loads per request.
    pub loads_per_request: Option<f64>,
    /// Throughput: the median of the trials with its interval; `None` for
    /// a prediction.
    pub throughput: Option<Estimate>,
}

/// Panels of hit ratio and slow-store loads per request against cache size
/// (a line per node count, hash and replica count) and against replicas (a
/// line per node count, hash and cache size), for each of the two that the
/// grid varies.
pub fn grid_panels(title: &str, rows: &[GridFigures]) -> Vec<Panel> {
    let mut panels = Vec::new();
    let caches = distinct(rows.iter().map(|row| row.point.cache_bytes.bytes() as f64));
    let replicas = distinct(rows.iter().map(|row| f64::from(row.point.ring.replicas)));
    let axes: [(&[f64], &str, AxisOf, LineOf); 2] = [
        (
            &caches,
            "cache size per node",
            |point| point.cache_bytes.bytes() as f64,
            |point| {
                format!(
                    "{}n {} {}r",
                    point.ring.nodes,
                    point.ring.hash.name(),
                    point.ring.replicas
                )
            },
        ),
        (
            &replicas,
            "replicas (virtual nodes per node)",
            |point| f64::from(point.ring.replicas),
            |point| {
                format!(
                    "{}n {} {}",
                    point.ring.nodes,
                    point.ring.hash.name(),
                    point.cache_bytes
                )
            },
        ),
    ];
    for (values, label, x_of, line_of) in axes {
        if values.len() < 2 || values.iter().any(|value| *value <= 0.0) {
            continue;
        }
        let ticks: Vec<(f64, String)> = values
            .iter()
            .map(|&value| {
                let label = if label.starts_with("cache") {
                    ByteSize(value as u64).to_string()
                } else {
                    short_number(value)
                };
                (value, label)
            })
            .collect();
        let figures: [(&str, FigureOf, Option<Range>); 3] = [
            ("API hit ratio", |row| row.hit_ratio, Some((0.0, 1.0))),
            (
                "slow-store loads per request",
                |row| row.loads_per_request,
                None,
            ),
            (
                "throughput req/s",
                |row| row.throughput.map(|estimate| estimate.median),
                None,
            ),
        ];
        for (figure, value_of, range) in figures {
            let mut series: Vec<Series> = Vec::new();
            for row in rows {
                let Some(y) = value_of(row) else { continue };
                let name = line_of(&row.point);
                let x = x_of(&row.point);
                let position = match series.iter().position(|series| series.name == name) {
                    Some(position) => position,
                    None => {
                        series.push(Series {
                            name,
                            points: Vec::new(),
                            bars: Vec::new(),
                        });
                        series.len() - 1
                    }
                };
                let line = &mut series[position];
                line.points.push((x, y));
                // The throughput's interval, where the trials give one.
                if figure.starts_with("throughput") {
                    let estimate = row.throughput.as_ref();
                    if let Some((low, high)) = estimate.and_then(|e| Some((e.low?, e.high?))) {
                        line.bars.push((x, low, high));
                    }
                }
            }
            if series.is_empty() {
                continue;
            }
            for series in &mut series {
                series.points.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            panels.push(Panel {
                title: format!("{title}: {figure} against {label}"),
                x: Axis {
                    label: label.to_owned(),
                    scale: Scale::Log,
                    ticks: Some(ticks.clone()),
                    range: Some((values[0] / 1.5, values[values.len() - 1] * 1.5)),
                },
                y: Axis {
                    label: figure.to_owned(),
                    scale: Scale::Linear,
                    ticks: None,
                    range,
                },
                series,
                markers: Vec::new(),
            });
        }
    }
    panels
}

type AxisOf = fn(&GridPoint) -> f64;
type LineOf = fn(&GridPoint) -> String;
type FigureOf = fn(&GridFigures) -> Option<f64>;
type Range = (f64, f64);

/// The distinct values, in order.
fn distinct(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::plot::svg::render;
    use crate::harness::latency::new_histogram;

    #[test]
    fn a_latency_curve_rises_to_the_maximum_and_stops_where_the_sample_does() {
        let mut histogram = new_histogram();
        for value in 1..=1000u64 {
            histogram.record(value * 10).unwrap();
        }
        let curve = latency_curve("a", &histogram);
        let ys: Vec<f64> = curve.points.iter().map(|point| point.1).collect();
        assert!(ys.windows(2).all(|pair| pair[0] <= pair[1]), "{ys:?}");
        // 1000 values resolve 99.9% but not 99.95%.
        let xs: Vec<f64> = curve.points.iter().map(|point| point.0).collect();
        assert!((xs[xs.len() - 2] - 3.0).abs() < 1e-9, "{xs:?}");
        assert_eq!(*ys.last().unwrap(), histogram.max() as f64);
        assert!(latency_curve("empty", &new_histogram()).points.is_empty());
    }

    #[test]
    fn a_grid_gets_panels_for_the_dimensions_it_varies() {
        use crate::geecache::HashKind;
        let row = |replicas: u32, cache: u64, hit: f64| GridFigures {
            throughput: None,
            point: GridPoint {
                ring: crate::harness::ownership::RingShape {
                    nodes: 3,
                    replicas,
                    hash: HashKind::Crc32,
                },
                cache_bytes: ByteSize(cache),
            },
            hit_ratio: Some(hit),
            loads_per_request: Some(1.0 - hit),
        };
        let rows = [
            row(10, 1 << 16, 0.2),
            row(10, 1 << 20, 0.6),
            row(50, 1 << 16, 0.25),
            row(50, 1 << 20, 0.65),
        ];
        let panels = grid_panels("t", &rows);
        assert_eq!(panels.len(), 4);
        // Against cache size: a line per replica count, two points each.
        assert_eq!(panels[0].series.len(), 2);
        assert_eq!(
            panels[0].series[0].points,
            [(65536.0, 0.2), (1048576.0, 0.6)]
        );
        assert!(render(&panels).contains(">64KiB</text>"));
        // One cache size and one replica count: nothing to draw.
        assert!(grid_panels("t", &rows[..1]).is_empty());
    }
}
