//! A [`Snapshot`] drawn into a ratatui frame: the stage and its progress;
//! throughput and latency over the newest window and the stage, with their
//! charts over time; the cluster's rates and each node; errors by kind,
//! events, warnings and the newest lines of stderr. Drawing only: what it
//! shows is made in [`super`].

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, LineGauge, Paragraph, Row, Sparkline, Table, Wrap};
use ratatui::Frame;

use super::{ClusterGlimpse, Snapshot};
use crate::harness::registry::API_HIT_RATIO;
use crate::table::thousands;
use crate::units::ByteSize;

/// Draws `snapshot` over the whole frame.
pub fn draw(frame: &mut Frame<'_>, snapshot: &Snapshot) {
    let nodes = snapshot
        .cluster
        .as_ref()
        .map_or(0, |cluster| cluster.nodes.len() as u16);
    // The figures and their charts take what the rest leaves.
    let [head, figures, cluster, notes] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(if snapshot.open_loop.is_some() { 8 } else { 6 }),
        Constraint::Length(if snapshot.cluster.is_some() {
            nodes.min(16) + 6
        } else {
            3
        }),
        Constraint::Length(8),
    ])
    .areas(frame.area());
    draw_head(frame, head, snapshot);
    let [throughput, latency] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(figures);
    draw_throughput(frame, throughput, snapshot);
    draw_latency(frame, latency, snapshot);
    draw_cluster(frame, cluster, snapshot);
    let [errors, events, warnings] = Layout::horizontal([
        Constraint::Percentage(25),
        Constraint::Percentage(30),
        Constraint::Percentage(45),
    ])
    .areas(notes);
    draw_errors(frame, errors, snapshot);
    draw_lines(frame, events, "events", &snapshot.events, None);
    let mut said: Vec<String> = snapshot.warnings.clone();
    said.extend(snapshot.messages.iter().cloned());
    let title = if snapshot.warnings.is_empty() {
        "messages"
    } else {
        "warnings and messages"
    };
    let warned = (!snapshot.warnings.is_empty()).then_some(snapshot.warnings.len());
    draw_lines(frame, warnings, title, &said, warned);
}

/// The newest window's name: `last 1 s`, `last 100 ms`.
fn window(snapshot: &Snapshot) -> String {
    let secs = snapshot.window_secs;
    if secs <= 0.0 || (secs - 1.0).abs() < 1e-9 {
        "last 1 s".to_owned()
    } else if secs < 1.0 {
        format!("last {:.0} ms", secs * 1000.0)
    } else {
        format!("last {secs:.0} s")
    }
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn draw_head(frame: &mut Frame<'_>, area: Rect, snapshot: &Snapshot) {
    let block = Block::bordered().title(Line::from(vec![
        Span::styled(" geecache-bench ", bold()),
        Span::raw(format!("{} ", snapshot.title)),
    ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [stage, gauge, keys] = Layout::horizontal([
        Constraint::Length(snapshot.stage.len() as u16 + 2),
        Constraint::Min(10),
        Constraint::Length(12),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(Span::styled(&snapshot.stage, bold())), stage);
    match &snapshot.progress {
        Some((share, label)) => frame.render_widget(
            LineGauge::default()
                .ratio(share.clamp(0.0, 1.0))
                .label(label.as_str())
                .filled_style(Style::default().fg(Color::Cyan)),
            gauge,
        ),
        None => frame.render_widget(
            Paragraph::new(format!("{:.1} s", snapshot.elapsed_secs)),
            gauge,
        ),
    }
    frame.render_widget(Paragraph::new(" q: stop"), keys);
}

fn draw_throughput(frame: &mut Frame<'_>, area: Rect, snapshot: &Snapshot) {
    let block = Block::bordered().title(" throughput, req/s ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rate = |rate: Option<f64>| rate.map_or("-".to_owned(), |rate| thousands(rate as u64));
    let mut lines = vec![
        Line::from(format!("last 1 s  {:>10}", rate(snapshot.throughput[0]))),
        Line::from(format!(
            "{:<9} {:>10}",
            "stage",
            rate(snapshot.throughput[1])
        )),
    ];
    if let Some(offered) = snapshot.open_loop {
        lines.push(Line::from(format!(
            "{:<9} {:>10}",
            "offered",
            thousands(offered as u64)
        )));
    }
    let data: Vec<u64> = snapshot
        .history
        .iter()
        .map(|row| row.throughput_rps as u64)
        .collect();
    lines_over_chart(frame, inner, lines, (&data, Color::Green));
}

/// `lines` at the top of `area`, and below them the newest of `data` as a
/// bar chart in `color`, a bar a value.
fn lines_over_chart(
    frame: &mut Frame<'_>,
    area: Rect,
    lines: Vec<Line<'_>>,
    (data, color): (&[u64], Color),
) {
    let [text, chart] =
        Layout::vertical([Constraint::Length(lines.len() as u16), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(lines), text);
    frame.render_widget(
        Sparkline::default()
            .data(newest(data, chart.width))
            .style(Style::default().fg(color)),
        chart,
    );
}

/// The newest `width` values of `data`.
fn newest(data: &[u64], width: u16) -> &[u64] {
    &data[data.len().saturating_sub(width as usize)..]
}

fn draw_latency(frame: &mut Frame<'_>, area: Rect, snapshot: &Snapshot) {
    let title = if snapshot.open_loop.is_some() {
        " latency us: from the intended send; sent: from the actual send "
    } else {
        " latency us: from each send "
    };
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let figure = |value: Option<u64>| value.map_or("-".to_owned(), thousands);
    let row = |name: &str, percentiles: Option<[u64; 3]>| {
        let [p50, p99, p999] = percentiles.map_or([None; 3], |all| all.map(Some));
        Line::from(format!(
            "{name:<16} {:>9} {:>9} {:>9}",
            figure(p50),
            figure(p99),
            figure(p999)
        ))
    };
    let last = window(snapshot);
    let mut lines = vec![
        Line::styled(
            format!("{:<16} {:>9} {:>9} {:>9}", "", "p50", "p99", "p99.9"),
            bold(),
        ),
        row(&last, snapshot.latency[0]),
        row("stage", snapshot.latency[1]),
    ];
    if snapshot.open_loop.is_some() {
        lines.push(row(&format!("{last}, sent"), snapshot.service[0]));
        lines.push(row("stage, sent", snapshot.service[1]));
    }
    let data: Vec<u64> = snapshot
        .history
        .iter()
        .map(|row| row.p99_us.unwrap_or(0))
        .collect();
    lines_over_chart(frame, inner, lines, (&data, Color::Yellow));
}

/// The cluster's rates over a window: API hits, peer fetches and slow
/// loads per request, and slow loads and evictions per second.
fn rates(
    name: &str,
    cluster: Option<&crate::harness::report::ClusterInterval>,
    requests: u64,
    secs: f64,
) -> Row<'static> {
    let Some(cluster) = cluster else {
        return Row::new(vec![Cell::from(name.to_owned())]);
    };
    let per_request = |count: u64| {
        if requests == 0 {
            "-".to_owned()
        } else {
            format!("{:.3}", count as f64 / requests as f64)
        }
    };
    let per_second = |count: u64| {
        if secs <= 0.0 {
            "-".to_owned()
        } else {
            thousands((count as f64 / secs) as u64)
        }
    };
    Row::new(vec![
        Cell::from(name.to_owned()),
        Cell::from(API_HIT_RATIO.show(cluster.api_hit_ratio)),
        Cell::from(per_request(cluster.peer_fetches)),
        Cell::from(per_request(cluster.slowdb_loads)),
        Cell::from(per_second(cluster.slowdb_loads)),
        Cell::from(per_second(cluster.evictions)),
    ])
}

fn draw_cluster(frame: &mut Frame<'_>, area: Rect, snapshot: &Snapshot) {
    let block = Block::bordered().title(" cluster ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(cluster) = &snapshot.cluster else {
        frame.render_widget(
            Paragraph::new("read at each interval's end while measuring"),
            inner,
        );
        return;
    };
    let [rates_area, nodes_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(inner);
    frame.render_widget(cluster_rates(snapshot, cluster), rates_area);
    let rows = cluster.nodes.iter().enumerate().map(|(index, node)| {
        let marker = if node.api { "*" } else { "" };
        let state = if node.up {
            Span::styled("up", Style::default().fg(Color::Green))
        } else {
            Span::styled(
                "DOWN",
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            )
        };
        Row::new(vec![
            Cell::from(format!("{index}{marker}")),
            Cell::from(node.name.clone()),
            Cell::from(state),
            Cell::from(thousands(node.served)),
            Cell::from(thousands(node.loads)),
            Cell::from(ByteSize(node.cache_bytes).human()),
            Cell::from(thousands(node.evictions)),
        ])
    });
    let name_width = cluster
        .nodes
        .iter()
        .map(|node| node.name.len() as u16)
        .max()
        .unwrap_or(0)
        .max(12);
    let table = columns(
        rows.collect(),
        &[5, name_width, 5, 10, 10, 9, 10],
        [
            "node",
            "name on ring",
            "",
            "served",
            "loads",
            "cache",
            "evictions",
        ],
    );
    frame.render_widget(table, nodes_area);
}

fn cluster_rates(snapshot: &Snapshot, cluster: &ClusterGlimpse) -> Table<'static> {
    let last_requests = snapshot.history.last().map_or(0, |row| row.requests);
    let rows = vec![
        rates(
            &window(snapshot),
            cluster.last.as_ref(),
            last_requests,
            cluster.last_secs,
        ),
        rates(
            "stage",
            cluster.run.as_ref(),
            snapshot.ended_requests,
            cluster.run_secs,
        ),
    ];
    columns(
        rows,
        &[16, 9, 15, 10, 10, 12],
        [
            "",
            "api hit",
            "peer fetch/req",
            "loads/req",
            "loads/s",
            "evictions/s",
        ],
    )
}

/// A table of `rows` in columns of `widths`, the rest of the width left
/// empty, under bold `headers`.
fn columns<'a, const N: usize>(
    rows: Vec<Row<'a>>,
    widths: &[u16],
    headers: [&'a str; N],
) -> Table<'a> {
    let constraints = widths
        .iter()
        .map(|&width| Constraint::Length(width))
        .chain([Constraint::Fill(1)]);
    Table::new(rows, constraints).header(Row::new(headers).style(bold()))
}

fn draw_errors(frame: &mut Frame<'_>, area: Rect, snapshot: &Snapshot) {
    let counts = &snapshot.counts;
    let failed = if counts.errors.total > 0 {
        Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    let mut lines = vec![
        Line::from(format!("answered {}", thousands(counts.requests))),
        Line::styled(format!("failed {}", thousands(counts.errors.total)), failed),
    ];
    if counts.missing > 0 {
        lines.push(Line::from(format!(
            "missing (expected) {}",
            thousands(counts.missing)
        )));
    }
    for (kind, count) in snapshot.errors_by_kind() {
        lines.push(Line::styled(
            format!("{kind} {}", thousands(count)),
            Style::default().fg(Color::Red),
        ));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" errors ")),
        area,
    );
}

/// A titled box of lines, the newest that fit; the first `warned` in red.
fn draw_lines(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    lines: &[String],
    warned: Option<usize>,
) {
    let room = area.height.saturating_sub(2) as usize;
    let skip = lines.len().saturating_sub(room.max(1));
    let shown: Vec<Line<'_>> = lines
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(index, line)| {
            if warned.is_some_and(|warned| index < warned) {
                Line::styled(
                    line.as_str(),
                    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                )
            } else {
                Line::from(line.as_str())
            }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(shown)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(format!(" {title} "))),
        area,
    );
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::Terminal;

    use super::*;
    use crate::harness::driver::ClientInterval;
    use crate::harness::live::NodeRow;
    use crate::harness::report::ClusterInterval;

    /// `snapshot` drawn on a `width` x `height` test terminal.
    fn drawn(snapshot: &Snapshot, width: u16, height: u16) -> Buffer {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| draw(frame, snapshot)).unwrap();
        terminal.backend().buffer().clone()
    }

    /// The buffer's rows as text.
    fn rows(buffer: &Buffer) -> Vec<String> {
        let width = buffer.area.width as usize;
        buffer
            .content()
            .chunks(width)
            .map(|row| row.iter().map(|cell| cell.symbol()).collect())
            .collect()
    }

    /// The row holding `text`, and where in it.
    fn find(rows: &[String], text: &str) -> Option<(usize, usize)> {
        rows.iter()
            .enumerate()
            .find_map(|(y, row)| row.find(text).map(|at| (y, row[..at].chars().count())))
    }

    fn cluster_interval(gets: u64, loads: u64) -> ClusterInterval {
        ClusterInterval {
            api_hits: Some(gets / 4),
            api_hit_ratio: Some(0.25),
            peer_fetches: gets / 2,
            peer_errors: 0,
            slowdb_loads: loads,
            slowdb_load_errors: 0,
            evictions: loads / 2,
            nodes: Vec::new(),
        }
    }

    fn measuring() -> Snapshot {
        let mut counts = crate::harness::driver::Counts {
            requests: 50_000,
            ok: 49_988,
            ..Default::default()
        };
        counts.errors.total = 12;
        counts.errors.status.insert(503, 12);
        let history: Vec<ClientInterval> = (0..30)
            .map(|second| ClientInterval {
                interval: second,
                start_secs: second as f64,
                requests: 50_000 + second * 100,
                throughput_rps: (50_000 + second * 100) as f64,
                p50_us: Some(700),
                p99_us: Some(3_000 + second * 10),
                errors: 0,
            })
            .collect();
        Snapshot {
            title: "zipf  3 nodes  50 replicas  crc32  256KiB/node".to_owned(),
            stage: "trial 2 of 3: measuring".to_owned(),
            progress: Some((0.25, "50,000 / 200,000 requests".to_owned())),
            elapsed_secs: 1.0,
            open_loop: None,
            throughput: [Some(58_221.0), Some(55_002.4)],
            window_secs: 1.0,
            latency: [Some([709, 3_063, 3_405]), Some([700, 3_100, 4_200])],
            service: [None, None],
            counts,
            history,
            ended_requests: 40_000,
            cluster: Some(ClusterGlimpse {
                run: Some(cluster_interval(40_000, 12_000)),
                last: Some(cluster_interval(52_900, 15_870)),
                run_secs: 1.0,
                last_secs: 1.0,
                nodes: (0..3)
                    .map(|index| NodeRow {
                        name: format!("http://localhost:800{}", index + 1),
                        api: index == 0,
                        up: index != 2,
                        served: 10_000 * (index as u64 + 1),
                        loads: 1_234,
                        cache_bytes: 256 << 10,
                        evictions: 987,
                    })
                    .collect(),
            }),
            events: vec!["at 5s: stop_node 2 (fired at 5.0 s)".to_owned()],
            warnings: vec!["node 2 down".to_owned()],
            messages: vec!["[WARN] a peer failed".to_owned()],
        }
    }

    #[test]
    fn a_measurement_shows_its_stage_figures_nodes_and_notes() {
        let buffer = drawn(&measuring(), 110, 36);
        let rows = rows(&buffer);
        let screen = rows.join("\n");
        for shown in [
            "geecache-bench",
            "zipf  3 nodes  50 replicas  crc32  256KiB/node",
            "trial 2 of 3: measuring",
            "50,000 / 200,000 requests",
            "q: stop",
            "58,221",
            "55,002",
            "latency us: from each send",
            "status 503 12",
            "failed 12",
            "at 5s: stop_node 2 (fired at",
            "warnings and messages",
            "[WARN] a peer failed",
        ] {
            assert!(screen.contains(shown), "{shown:?} missing from\n{screen}");
        }
        // The latency rows: the newest second's and the stage's.
        let (y, _) = find(&rows, "last 1 s  ").unwrap();
        let latency_row = rows[y..].iter().find(|row| row.contains("3,063")).unwrap();
        assert!(
            latency_row.contains("709") && latency_row.contains("3,405"),
            "{latency_row}"
        );
        assert!(screen.contains("4,200"), "{screen}");
        // The cluster's rates: 15,870 loads in the last second of 52,900
        // requests (the newest interval's), 12,000 over the stage's 40,000.
        assert!(
            screen.contains("15,870") && screen.contains("0.300"),
            "{screen}"
        );
        // Every node, the API node marked, the stopped one down.
        for (index, state) in [("0*", "up"), ("1 ", "up"), ("2 ", "DOWN")] {
            let row = rows
                .iter()
                .find(|row| row.contains(&format!("│{index}")) && row.contains("localhost"))
                .unwrap_or_else(|| panic!("node {index} missing from\n{screen}"));
            assert!(row.contains(state) && row.contains("256KiB"), "{row}");
        }
        // The warning stands out: red.
        let (y, x) = find(&rows, "node 2 down").unwrap();
        assert_eq!(buffer[(x as u16, y as u16)].fg, Color::Red);
        let (y, x) = find(&rows, "[WARN] a peer failed").unwrap();
        assert_ne!(buffer[(x as u16, y as u16)].fg, Color::Red);
        // The gauge is a quarter full.
        let (y, _) = find(&rows, "50,000 / 200,000").unwrap();
        let filled = buffer.content()[y * 110..(y + 1) * 110]
            .iter()
            .filter(|cell| cell.fg == Color::Cyan)
            .count();
        let gauge = rows[y].chars().filter(|c| *c == '─').count() + filled;
        assert!(
            filled > 0 && (filled as f64 / gauge as f64 - 0.25).abs() < 0.1,
            "{filled} of {gauge}"
        );
    }

    #[test]
    fn an_open_loop_shows_both_latencies_and_the_offered_rate() {
        let mut snapshot = measuring();
        snapshot.open_loop = Some(20_000.0);
        snapshot.service = [Some([101, 2_267, 3_331]), Some([172, 3_177, 5_027])];
        let screen = rows(&drawn(&snapshot, 110, 36)).join("\n");
        for shown in [
            "offered",
            "20,000",
            "from the intended send",
            "last 1 s, sent",
            "stage, sent",
            "2,267",
            "5,027",
        ] {
            assert!(screen.contains(shown), "{shown:?} missing from\n{screen}");
        }
    }

    #[test]
    fn before_anything_is_measured_the_view_says_so_and_a_small_terminal_draws() {
        let starting = Snapshot {
            title: "zipf".to_owned(),
            stage: "calibrating".to_owned(),
            progress: Some((0.5, "1.0 / 2.0 s".to_owned())),
            ..Snapshot::default()
        };
        let screen = rows(&drawn(&starting, 100, 30)).join("\n");
        assert!(
            screen.contains("calibrating") && screen.contains("1.0 / 2.0 s"),
            "{screen}"
        );
        assert!(
            screen.contains("read at each interval's end while measuring"),
            "{screen}"
        );
        assert!(
            !screen.contains("NaN") && !screen.contains("inf"),
            "{screen}"
        );
        // Too small for every box: drawn without a panic, the stage first.
        for (width, height) in [(40, 10), (20, 5), (1, 1)] {
            let buffer = drawn(&measuring(), width, height);
            assert_eq!(buffer.area.width, width);
        }
        let small = rows(&drawn(&measuring(), 60, 12)).join("\n");
        assert!(small.contains("trial 2 of 3"), "{small}");
    }
}
