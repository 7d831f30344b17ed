//! What reads results and configurations: results side by side
//! ([`compare`]), a result against a baseline ([`check`]), what differs
//! between configurations ([`differences`]), drivers of one cluster made
//! one result ([`merge`]), grids of configurations ([`grid`]) run for real
//! ([`sweep`]) or predicted by the model ([`simulate`]), rings without load
//! ([`ring`]), charts ([`plot`]) and a result as a page to open ([`html`]);
//! every cache size at once ([`mrc`])
//! and the advice drawn from it and the ring ([`advise`]); the highest rate
//! held within a latency objective ([`capacity`]).

pub mod advise;
pub mod capacity;
pub mod check;
pub mod compare;
pub mod differences;
pub mod grid;
pub mod html;
pub mod merge;
pub mod mrc;
pub mod plot;
pub mod ring;
pub mod simulate;
pub mod sweep;
