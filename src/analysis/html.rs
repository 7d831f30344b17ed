//! A result as one self-contained HTML page, for people to open: the
//! summary, every chart of the result inline (the SVG charts as they are),
//! the per-node table, the events, the configuration and the machine. It
//! loads nothing: no network, no script, no file beside it; its content
//! security policy says so to the browser.

use std::fmt::Write as _;

use crate::analysis::plot;
use crate::harness::report::RunResult;
use crate::harness::summary;
use crate::harness::workload::Workload;

/// What the page allows: its own inline styles and images, nothing else.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The page's style: readable text, tables and preformatted blocks.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;\
padding:0 1em;color:#222}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;\
border-bottom:1px solid #ccc}pre{background:#f6f6f6;padding:1em;overflow-x:auto;\
font-size:12px;line-height:1.35}table{border-collapse:collapse;font-size:13px}\
th,td{padding:.25em .7em;border-bottom:1px solid #e4e4e4}td.n{text-align:right;\
font-variant-numeric:tabular-nums}th{text-align:left;background:#f0f0f0}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}nav a{margin-right:1em}";

/// `text` made safe inside an element or an attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page being made: sections in order, each with an anchor.
pub struct Page {
    title: String,
    sections: Vec<(String, String)>,
}

/// A table cell: text, or a figure (right-aligned).
pub enum Cell {
    /// Left-aligned text.
    Text(String),
    /// A right-aligned figure.
    Figure(String),
}

impl Page {
    /// An empty page titled `title`.
    pub fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            sections: Vec::new(),
        }
    }

    /// A section `heading` holding `body`, HTML as it is.
    pub fn section(&mut self, heading: &str, body: String) -> &mut Page {
        self.sections.push((heading.to_owned(), body));
        self
    }

    /// Preformatted text, escaped.
    pub fn pre(text: &str) -> String {
        format!("<pre>{}</pre>\n", escape(text))
    }

    /// An SVG chart inline, without its XML declaration.
    pub fn figure(svg: &str) -> String {
        let start = svg.find("<svg").unwrap_or(0);
        format!("<figure>{}</figure>\n", &svg[start..])
    }

    /// A table of `headers` over `rows`.
    pub fn table(headers: &[&str], rows: &[Vec<Cell>]) -> String {
        let mut out = String::from("<table><thead><tr>");
        for header in headers {
            let _ = write!(out, "<th>{}</th>", escape(header));
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in rows {
            out.push_str("<tr>");
            for cell in row {
                let _ = match cell {
                    Cell::Text(text) => write!(out, "<td>{}</td>", escape(text)),
                    Cell::Figure(text) => write!(out, "<td class=\"n\">{}</td>", escape(text)),
                };
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
        out
    }

    /// The whole page.
    pub fn finish(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{POLICY}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>{STYLE}</style></head>\n<body>\n\
             <h1>{title}</h1>\n<nav>",
            title = escape(&self.title)
        );
        for (index, (heading, _)) in self.sections.iter().enumerate() {
            let _ = write!(out, "<a href=\"#s{index}\">{}</a>", escape(heading));
        }
        out.push_str("</nav>\n");
        for (index, (heading, body)) in self.sections.iter().enumerate() {
            let _ = write!(
                out,
                "<section id=\"s{index}\"><h2>{}</h2>\n{body}</section>\n",
                escape(heading)
            );
        }
        out.push_str("</body></html>\n");
        out
    }
}

/// The page of a command that prints a table and draws charts (`compare`,
/// `sweep`, `mrc`, `capacity`): `title`, what it printed under `heading`,
/// each chart, and the workload it ran or read, when there is one.
pub fn tables_and_charts(
    title: &str,
    (heading, text): (&str, &str),
    charts: &[String],
    workload: Option<&Workload>,
) -> String {
    let mut page = Page::new(title);
    page.section(heading, Page::pre(text));
    if !charts.is_empty() {
        let figures: String = charts.iter().map(|svg| Page::figure(svg)).collect();
        page.section("Charts", figures);
    }
    if let Some(workload) = workload {
        page.section(
            "Configuration",
            Page::pre(&serde_json::to_string_pretty(workload).unwrap_or_default()),
        );
    }
    page.finish()
}

/// The report of one run's result, read from `source`.
pub fn run_report(result: &RunResult, source: &str) -> String {
    let workload = &result.workload;
    let mut page = Page::new(format!("geecache-bench: {}", workload.headline()));
    page.section(
        "Summary",
        format!(
            "<p>{} from {}, {} to {}.</p>\n{}",
            escape(source),
            escape(&result.workload_source),
            escape(&result.started_at),
            escape(&result.finished_at),
            Page::pre(&summary::summary(result, None))
        ),
    );
    let mut charts = String::new();
    let name = workload.name.clone();
    if let Some(latency) = plot::result_latency(&name, result) {
        charts.push_str(&Page::figure(&plot::render(&[plot::latency_panel(
            "latency by percentile",
            vec![latency],
        )])));
    }
    if !result.series.is_empty() {
        charts.push_str(&Page::figure(&plot::render(&plot::series_panels(&[(
            name, result,
        )]))));
    }
    if !charts.is_empty() {
        page.section("Charts", charts);
    }
    if !result.nodes.is_empty() {
        page.section("Nodes", node_table(result));
    }
    let events = summary::event_lines(result);
    if !events.is_empty() {
        page.section("Events", Page::pre(&events));
    }
    if !result.series.is_empty() {
        page.section("Series", Page::pre(&summary::series_table(result)));
    }
    page.section(
        "Configuration",
        Page::pre(&serde_json::to_string_pretty(workload).unwrap_or_default()),
    );
    page.section(
        "Machine",
        Page::pre(&serde_json::to_string_pretty(&result.machine).unwrap_or_default()),
    );
    page.finish()
}

/// Each node's figures as a table: the summary's rows, index, name and
/// address as text, the rest as figures.
fn node_table(result: &RunResult) -> String {
    let mut rows = summary::node_rows(result);
    if rows.is_empty() {
        return String::new();
    }
    let headers = rows.remove(0);
    let cells: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(column, text)| {
                    if column < 3 {
                        Cell::Text(text)
                    } else {
                        Cell::Figure(text)
                    }
                })
                .collect()
        })
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    Page::table(&headers, &cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_the_page_loads_nothing() {
        assert_eq!(
            escape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
        let mut page = Page::new("a <b> title");
        page.section("One & two", Page::pre("x < y"));
        page.section(
            "Table",
            Page::table(
                &["name", "count"],
                &[vec![
                    Cell::Text("<i>".to_owned()),
                    Cell::Figure("12".to_owned()),
                ]],
            ),
        );
        page.section(
            "Chart",
            Page::figure("<?xml version=\"1.0\"?>\n<svg width=\"10\"></svg>"),
        );
        let html = page.finish();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>a &lt;b&gt; title</title>"));
        assert!(html.contains("<a href=\"#s0\">One &amp; two</a>"));
        assert!(html.contains("<pre>x &lt; y</pre>"));
        assert!(html.contains("<td>&lt;i&gt;</td><td class=\"n\">12</td>"));
        assert!(html.contains("<figure><svg width=\"10\"></svg></figure>"));
        assert!(!html.contains("<?xml"));
        // Nothing from elsewhere, and a policy that forbids it.
        assert!(html.contains(&format!("content=\"{POLICY}\"")));
        for outside in ["<script", "src=", "<link", "http://", "https://", "@import"] {
            assert!(!html.contains(outside), "{outside}");
        }
    }
}
