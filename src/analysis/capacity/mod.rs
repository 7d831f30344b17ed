//! `capacity`: the highest open-loop rate a configuration holds within a
//! latency objective. [`objective`] parses and judges the objective,
//! [`step`] reads one rate's run as the table shows it, and [`search`]
//! chooses the rates to try and finds the edge and the knee; [`run`]
//! carries a search out, a run a step, and [`report`] searches every
//! configuration in trials and says which holds the most; [`show`] writes
//! it as tables and a chart, and [`compare`] sets results side by side.

pub mod compare;
pub mod objective;
pub mod report;
pub mod run;
pub mod search;
pub mod show;
pub mod step;
