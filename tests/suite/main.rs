//! The integration and end-to-end tests, one module a file, in one test
//! binary: the library and the helpers are linked once instead of once a
//! file, and the two test threads take their tests from every file, so a
//! file of long waits (a counted pass under valgrind, timed runs) shares
//! the cores with the others instead of leaving one idle. Only
//! `tests/allocations.rs`, which counts every allocation of its process
//! through a global allocator, stays a binary of its own.

mod common;

mod breakage;
mod capacity;
mod check;
mod checkpoints;
mod compare;
mod counted;
mod demo;
mod docs;
mod driver;
mod export;
mod figures;
mod harness;
mod hosts;
mod html;
mod intervals;
mod kubernetes;
mod layout;
mod limits;
mod live;
mod open_loop;
mod outputs;
mod overload;
mod properties;
mod protocol;
mod ring;
mod runs;
mod scenarios;
mod shards;
mod simulate;
mod sweep;
mod target;
mod traces;
mod trials;
mod workflow;
