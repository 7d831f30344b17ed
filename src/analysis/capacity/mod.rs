//! `capacity`: the highest open-loop rate a configuration holds within a
//! latency objective. [`objective`] parses and judges the objective;
//! [`search`] chooses the rates to try and finds the
//! edge and the knee.

pub mod objective;
pub mod search;
