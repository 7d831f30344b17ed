//! Line charts as SVG, written by hand: latency percentile curves for
//! `compare`, hit ratio and slow-store loads against cache size and replicas
//! for `sweep` and `simulate`. A file holds one or more panels stacked.
//!
//! Two files: `svg` draws (axes, lines, markers, legends) and `charts`
//! says what is drawn (latency curves, series, grids).

mod charts;
mod svg;

pub use charts::{grid_panels, latency_panel, result_latency, series_panels, GridFigures};
pub use svg::{render, Axis, Panel, Scale, Series};
