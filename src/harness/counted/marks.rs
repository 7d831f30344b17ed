//! The markers that bound a measured section for the counted pass's tools:
//! callgrind dumps its counts when one is entered, and in a marked pass
//! each makes a system call strace's log cannot confuse with another.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether markers make their system call: only in a counted pass.
static MARKING: AtomicBool = AtomicBool::new(false);

/// The descriptors the markers close (none exists: the call fails at once
/// with EBADF, and strace shows it as `close(-1000001)`).
pub(crate) const BEGIN_FD: i32 = -1_000_001;
pub(crate) const END_FD: i32 = -1_000_002;

/// The functions whose entry ends a callgrind part.
pub(crate) const MARKERS: &str = "geecache_bench_mark_*";
pub(crate) const END_MARKER: &str = "geecache_bench_mark_end";

/// A measured section begins. Does nothing outside a counted pass.
#[no_mangle]
#[inline(never)]
pub extern "C" fn geecache_bench_mark_begin() {
    mark(BEGIN_FD);
}

/// A measured section ends. Does nothing outside a counted pass.
#[no_mangle]
#[inline(never)]
pub extern "C" fn geecache_bench_mark_end() {
    mark(END_FD);
}

fn mark(fd: i32) {
    if MARKING.load(Ordering::Relaxed) {
        // SAFETY: closing a descriptor that cannot exist only fails.
        unsafe {
            libc::close(std::hint::black_box(fd));
        }
    }
}

/// The start of a measured section.
pub fn mark_begin() {
    geecache_bench_mark_begin();
}

/// The end of a measured section.
pub fn mark_end() {
    geecache_bench_mark_end();
}

/// Markers make their system call from now on: a counted pass's child.
pub(crate) fn start_marking() {
    MARKING.store(true, Ordering::Relaxed);
}
