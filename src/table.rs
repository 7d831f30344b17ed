//! Tables for people: rows of cells as aligned text (columns of text
//! left-aligned, figures right-aligned) or as GitHub-flavoured Markdown for
//! a CI job summary; named counts as a list; and a count with its
//! thousands marked.

/// Counts with their names as a list, the zero ones left out:
/// `3 reset, 1 stalled`; empty when every count is zero.
pub fn counts<Name: std::fmt::Display>(counts: impl IntoIterator<Item = (Name, u64)>) -> String {
    counts
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(name, count)| format!("{count} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A count with a comma between each group of three digits: `1,234,567`.
pub fn thousands(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Rows of cells as an aligned text table, a line per row: the columns
/// `left(column)` names are left-aligned (text), the rest right-aligned
/// (figures). Rows may be shorter than others.
pub fn align<Row: AsRef<[String]>>(rows: &[Row], left: impl Fn(usize) -> bool) -> String {
    use std::fmt::Write as _;
    let columns = rows.iter().map(|row| row.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.as_ref().get(column))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.as_ref().iter().enumerate() {
            let width = widths[column];
            if left(column) {
                let _ = write!(line, "{cell:<width$}  ");
            } else {
                let _ = write!(line, "{cell:>width$}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// How a table is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableStyle {
    /// Columns padded with spaces, for a terminal.
    Aligned,
    /// GitHub-flavoured Markdown: a header row, an alignment row, and `|`
    /// between cells; an empty row starts a new table.
    Markdown,
}

/// `rows` (the first is the header) in `style`; `left` says which columns
/// are left-aligned.
pub fn table<Row: AsRef<[String]>>(
    rows: &[Row],
    left: impl Fn(usize) -> bool,
    style: TableStyle,
) -> String {
    use std::fmt::Write as _;
    if style == TableStyle::Aligned {
        return align(rows, left);
    }
    let mut out = String::new();
    let sections = rows.split(|row| row.as_ref().is_empty());
    for (index, section) in sections.enumerate() {
        let Some((header, body)) = section.split_first() else {
            continue;
        };
        if index > 0 {
            out.push('\n');
        }
        let columns = header.as_ref().len();
        let cell = |row: &Row, column: usize| {
            row.as_ref()
                .get(column)
                .map_or(String::new(), |text| text.replace('|', "\\|"))
        };
        let line = |row: &Row| {
            let cells: Vec<String> = (0..columns).map(|column| cell(row, column)).collect();
            format!("| {} |", cells.join(" | "))
        };
        let _ = writeln!(out, "{}", line(header));
        let marks: Vec<&str> = (0..columns)
            .map(|column| if left(column) { ":---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "| {} |", marks.join(" | "));
        for row in body {
            let _ = writeln!(out, "{}", line(row));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_marked_every_three_digits() {
        let marked: Vec<String> = [0, 7, 999, 1000, 12_345, 200_000, 1_234_567]
            .into_iter()
            .map(thousands)
            .collect();
        assert_eq!(
            marked,
            ["0", "7", "999", "1,000", "12,345", "200,000", "1,234,567"]
        );
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn markdown_tables_have_a_header_an_alignment_row_and_escaped_pipes() {
        let rows: Vec<Vec<String>> = vec![
            vec!["figure".into(), "value".into()],
            vec!["a|b".into(), "1".into()],
            Vec::new(),
            vec!["second".into(), "table".into(), "wider".into()],
            vec!["x".into()],
        ];
        let text = table(&rows, |column| column == 0, TableStyle::Markdown);
        assert_eq!(
            text,
            "| figure | value |\n| :--- | ---: |\n| a\\|b | 1 |\n\n\
             | second | table | wider |\n| :--- | ---: | ---: |\n| x |  |  |\n"
        );
        assert_eq!(
            table(&rows[..2], |_| true, TableStyle::Aligned),
            align(&rows[..2], |_| true)
        );
    }
}
