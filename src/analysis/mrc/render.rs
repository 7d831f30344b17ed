//! The curves for people and programs: a table, CSV, and an SVG panel of
//! miss ratio against log-scaled cache size.

use super::{Curves, SizePoint};
use crate::analysis::plot::{Axis, Panel, Scale, Series};
use crate::units::ByteSize;

/// A chart of the miss ratio against the per-node cache size (log-scaled
/// bytes): a line per node, one for the cluster (slow-store loads per
/// request), and `runs` ((name, per-node cache bytes, loads per request)
/// that runs measured) as points.
pub fn panel(
    title: &str,
    curves: &Curves,
    points: &[SizePoint],
    runs: &[(String, u64, f64)],
) -> Panel {
    let line = |name: String, value: &dyn Fn(&SizePoint) -> f64| Series {
        name,
        points: points
            .iter()
            .filter(|point| point.cache_bytes > 0)
            .map(|point| (point.cache_bytes as f64, value(point)))
            .collect(),
        bars: Vec::new(),
    };
    let mut series: Vec<Series> = (0..curves.nodes.len())
        .map(|node| line(format!("node {node}"), &|point| point.node_miss_ratio[node]))
        .collect();
    series.push(line("cluster: loads per request".to_owned(), &|point| {
        point.miss_ratio
    }));
    for (name, cache, loads) in runs {
        series.push(Series {
            name: format!("run {name}"),
            points: vec![(*cache as f64, *loads)],
            bars: Vec::new(),
        });
    }
    let sizes: Vec<f64> = points
        .iter()
        .map(|point| point.cache_bytes as f64)
        .chain(runs.iter().map(|run| run.1 as f64))
        .filter(|size| *size > 0.0)
        .collect();
    let (low, high) = sizes.iter().fold((f64::MAX, 0.0f64), |(low, high), &size| {
        (low.min(size), high.max(size))
    });
    let mut ticks = Vec::new();
    let mut tick = 1024.0f64;
    while tick <= high * 1.5 {
        if tick >= low / 1.5 {
            ticks.push((tick, ByteSize(tick as u64).human()));
        }
        tick *= 4.0;
    }
    Panel {
        title: title.to_owned(),
        x: Axis {
            label: "cache size per node".to_owned(),
            scale: Scale::Log,
            ticks: (!ticks.is_empty()).then_some(ticks),
            range: Some((low / 1.5, high * 1.5)),
        },
        y: Axis {
            label: "miss ratio".to_owned(),
            scale: Scale::Linear,
            ticks: None,
            range: Some((0.0, 1.0)),
        },
        series,
        markers: Vec::new(),
    }
}

/// The points as a table: per-node size, each node's miss ratio, the
/// cluster's loads per request and byte miss ratio.
pub fn table(curves: &Curves, points: &[SizePoint]) -> String {
    let mut header = vec!["cache".to_owned()];
    header.extend((0..curves.nodes.len()).map(|node| format!("node {node}")));
    header.extend([
        "loads".to_owned(),
        "miss ratio".to_owned(),
        "byte miss".to_owned(),
    ]);
    let mut rows = vec![header];
    for point in points {
        let mut row = vec![ByteSize(point.cache_bytes).human()];
        row.extend(
            point
                .node_miss_ratio
                .iter()
                .map(|ratio| format!("{:.2}%", ratio * 100.0)),
        );
        row.push(point.loads.to_string());
        row.push(format!("{:.4}", point.miss_ratio));
        row.push(format!("{:.2}%", point.byte_miss_ratio * 100.0));
        rows.push(row);
    }
    crate::table::align(&rows, |column| column == 0)
}

/// The points as CSV, a row per size.
pub fn csv(curves: &Curves, points: &[SizePoint]) -> String {
    let mut out = String::from("cache_bytes");
    for node in 0..curves.nodes.len() {
        out.push_str(&format!(",node{node}_miss_ratio,node{node}_loads"));
    }
    out.push_str(",loads,miss_ratio,byte_miss_ratio\n");
    for point in points {
        out.push_str(&point.cache_bytes.to_string());
        for (ratio, loads) in point.node_miss_ratio.iter().zip(&point.node_loads) {
            out.push_str(&format!(",{ratio:.6},{loads}"));
        }
        out.push_str(&format!(
            ",{},{:.6},{:.6}\n",
            point.loads, point.miss_ratio, point.byte_miss_ratio
        ));
    }
    out
}
