//! How a figure's value is written for people. Apart from the figures,
//! which read the result (and through it the calibration), so that the
//! calibration can write the limit fraction in its entry's format.

/// How a figure's value is written for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A whole number: `50429`.
    Whole,
    /// A number with this many decimals: `1.234`.
    Decimals(usize),
    /// A share as a percentage with this many decimals: `40.71%`.
    Percent(usize),
    /// A factor: `1.50x`.
    Factor,
}

impl Format {
    /// `value` written in this format.
    pub fn show(self, value: f64) -> String {
        match self {
            Format::Whole => format!("{value:.0}"),
            Format::Decimals(places) => format!("{value:.places$}"),
            Format::Percent(places) => format!("{:.places$}%", value * 100.0),
            Format::Factor => format!("{value:.2}x"),
        }
    }
}

/// The format of the limit fraction: its entry's, and the calibration's
/// when a doubt names it.
pub(crate) const LIMIT_FRACTION: Format = Format::Percent(1);
