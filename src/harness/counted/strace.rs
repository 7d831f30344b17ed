//! Reading what `strace -f -o FILE` wrote: the system calls every thread
//! made between two marker calls.

/// The system calls begun between each `begin` marker call and the `end`
/// marker call after it, in order: one count per marked section. A marker
/// is a call's text up to its first argument (`close(-1000001`), ended by
/// `)` or by strace's `<unfinished ...>`. A call strace shows in two
/// pieces (`<unfinished ...>`, then `<... resumed>`) is counted once, where
/// it began; the markers themselves are not counted.
pub fn sections(text: &str, begin: &str, end: &str) -> Vec<u64> {
    let is = |call: &str, marker: &str| {
        call.strip_prefix(marker)
            .is_some_and(|rest| rest.starts_with(')') || rest.starts_with(' '))
    };
    let mut counts = Vec::new();
    let mut open: Option<u64> = None;
    for line in text.lines() {
        let Some(call) = call_of(line) else {
            continue;
        };
        if is(call, begin) {
            open = Some(0);
        } else if is(call, end) {
            if let Some(count) = open.take() {
                counts.push(count);
            }
        } else if let Some(count) = &mut open {
            *count += 1;
        }
    }
    counts
}

/// The text of a line that begins a system call, without its thread id:
/// `close(-1) = -1 EBADF ...`; `None` for a resumption, a signal, an exit
/// or anything else.
fn call_of(line: &str) -> Option<&str> {
    // With -f and -o, each line starts with the thread id.
    let line = line.trim_start();
    let rest = match line.split_once(' ') {
        Some((tid, rest)) if tid.bytes().all(|byte| byte.is_ascii_digit()) => rest,
        _ => line,
    };
    let rest = rest.trim_start();
    if rest.starts_with("<...") || rest.starts_with("+++") || rest.starts_with("---") {
        return None;
    }
    let name_end = rest.find('(')?;
    let name = &rest[..name_end];
    (!name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_'))
    .then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "close(-1000001";
    const END: &str = "close(-1000002";

    const TRACE: &str = "\
100 execve(\"./bench\", [\"./bench\"], 0x7ffc /* 20 vars */) = 0
100 brk(NULL)                         = 0x55d0
101 close(-1000001)                   = -1 EBADF (Bad file descriptor)
101 sendto(7, \"GET /api?key=key1 HTTP/1.1\\r\\n\"..., 40, MSG_NOSIGNAL, NULL, 0) = 40
102 epoll_wait(3,  <unfinished ...>
101 recvfrom(7,  <unfinished ...>
102 <... epoll_wait resumed>[{events=EPOLLIN, data={u32=1, u64=1}}], 1024, -1) = 1
101 <... recvfrom resumed>\"HTTP/1.1 200 OK\"..., 8192, 0, NULL, NULL) = 120
--- SIGURG {si_signo=SIGURG} ---
102 futex(0x7f, FUTEX_WAKE_PRIVATE, 1) = 1
101 close(-1000002 <unfinished ...>
102 futex(0x7f, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>
101 <... close resumed>)              = -1 EBADF (Bad file descriptor)
101 write(1, \"done\", 4) = 4
101 close(-1000001)                   = -1 EBADF (Bad file descriptor)
101 read(5, \"x\", 1) = 1
101 close(-1000002)                   = -1 EBADF (Bad file descriptor)
101 +++ exited with 0 +++
";

    #[test]
    fn calls_between_markers_are_counted_once_each() {
        // sendto, epoll_wait, recvfrom, futex; then read. The first end
        // marker was interrupted by another thread's line.
        assert_eq!(sections(TRACE, BEGIN, END), vec![4, 1]);
        // An end without a begin, and a begin never ended, count nothing.
        assert_eq!(sections(TRACE, "close(-7", END), Vec::<u64>::new());
        assert_eq!(
            sections(
                "1 close(-1000001) = -1\n1 read(3, \"\", 1) = 0\n",
                BEGIN,
                END
            ),
            Vec::<u64>::new()
        );
        // A longer number is another call.
        assert_eq!(
            sections(
                "close(-10000012) = -1\nread(3) = 0\nclose(-1000002) = -1\n",
                BEGIN,
                END
            ),
            Vec::<u64>::new()
        );
    }

    #[test]
    fn lines_without_a_thread_id_are_read_too() {
        let text = "close(-1000001) = -1\nread(3, \"\", 1) = 0\nclose(-1000002) = -1\n";
        assert_eq!(sections(text, BEGIN, END), vec![1]);
    }
}
