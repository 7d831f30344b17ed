//! What this process uses, read from the kernel: its CPU time (user and
//! system, `getrusage`) and per request of a phase, its resident memory
//! now and at its peak, and its open files and sockets (`/proc/self`).
//! A run's memory line and `driver-check`'s CPU and memory figures read
//! them here; Linux only, `None` elsewhere.

use std::time::Duration;

pub use crate::geecache::stats::process_cpu;

/// A phase's CPU use: process CPU time per request while it ran, in
/// microseconds, from the [`process_cpu`] read before it.
pub fn cpu_per_request(before: Option<Duration>, requests: u64) -> Option<f64> {
    let spent = process_cpu()?.checked_sub(before?)?;
    (requests > 0).then(|| spent.as_secs_f64() * 1e6 / requests as f64)
}

/// A reading of the process now: resident bytes, and open descriptors.
/// Cheap enough for every interval: two reads of `/proc`, no call per
/// descriptor.
pub fn read_now() -> Option<(u64, u64)> {
    Some((resident_bytes()?, descriptors(false)?.0))
}

/// The process's resident memory now.
pub fn resident_bytes() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// The process's peak resident memory so far.
pub fn peak_rss() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Open file descriptors and, of them, sockets (a call per descriptor:
/// for the start and the end).
pub fn open_fds() -> Option<(u64, u64)> {
    descriptors(true)
}

/// Open file descriptors, and of them sockets when `sockets` asks (else 0).
fn descriptors(sockets: bool) -> Option<(u64, u64)> {
    let mut fds: u64 = 0;
    let mut socket_fds: u64 = 0;
    for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        fds += 1;
        if sockets
            && std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        {
            socket_fds += 1;
        }
    }
    // The directory listing itself held one descriptor.
    Some((fds.saturating_sub(1), socket_fds))
}

/// A `kB` line of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_read() {
        let (rss, fds) = read_now().expect("Linux has /proc/self");
        assert!(rss > 1 << 20 && fds >= 3, "{rss} {fds}");
        assert!(peak_rss().unwrap() >= rss);
        // The two readings of resident memory agree: /proc/self/statm's
        // pages, as the kernel counts them, against what status says.
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        // SAFETY: sysconf only reads a configuration value.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
        let now = resident_bytes().unwrap() as f64;
        assert!(
            (now / (pages * page) as f64 - 1.0).abs() < 0.2,
            "{now} {pages}"
        );
        let before = open_fds().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let during = open_fds().unwrap();
        drop(listener);
        // Other tests open files at the same time: at least the one more.
        assert!(during.1 >= 1 && during.0 >= 1, "{before:?} {during:?}");
    }

    #[test]
    fn cpu_time_and_memory_are_read() {
        let before = process_cpu().unwrap();
        // Some work to count.
        let mut sum = 0u64;
        for i in 0..20_000_000u64 {
            sum = sum.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(sum);
        assert!(process_cpu().unwrap() > before);
        assert!(cpu_per_request(Some(before), 1000).unwrap() > 0.0);
        assert_eq!(cpu_per_request(Some(before), 0), None);
        assert_eq!(cpu_per_request(None, 1000), None);
        assert!(resident_bytes().unwrap() > 1 << 20);
    }
}
