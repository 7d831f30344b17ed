//! The terminal while the live view is up: the alternate screen in raw
//! mode, redrawn four times a second from a thread of its own; `q` or
//! Ctrl-C asks the run to stop (raw mode turns Ctrl-C into a key, so it is
//! read here, not as a signal); and the program's stderr led into a pipe
//! meanwhile, its lines shown in the view and written out, in order, once
//! the terminal is given back as it was found.

use std::io::{self, BufRead, IsTerminal, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;

use super::{view, LiveFeed, Stage};
use crate::harness::driver::Control;

/// How often the view is drawn.
pub const FRAME: Duration = Duration::from_millis(250);

/// The original stderr while it is led into the pipe, for the panic hook
/// to give back; -1 when it is not.
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// Whether the live view can be shown: stdout and stderr are terminals.
pub fn available() -> bool {
    io::stdout().is_terminal() && io::stderr().is_terminal()
}

/// The terminal, taken for the live view until [`Screen::finish`] (or a
/// drop, or a panic) gives it back.
pub struct Screen {
    finished: Arc<AtomicBool>,
    drawer: Option<JoinHandle<()>>,
    /// The original stderr, and the thread that reads the pipe.
    captured: Option<(OwnedFd, JoinHandle<Vec<String>>)>,
}

impl Screen {
    /// Takes the terminal and draws `feed` on it until finished; `q` or
    /// Ctrl-C sets `control.stop`, and says `on_stop` among the messages.
    pub fn start(
        feed: Arc<LiveFeed>,
        control: Arc<Control>,
        on_stop: &'static str,
    ) -> io::Result<Screen> {
        terminal::enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(error) = execute!(stdout, terminal::EnterAlternateScreen, cursor::Hide) {
            let _ = terminal::disable_raw_mode();
            return Err(error);
        }
        // The key reader's descriptors (a poller, a signal pipe) are made
        // at its first use and kept: made now, before the run counts its
        // open files, they are not taken for files the run left open.
        let _ = event::poll(Duration::ZERO);
        install_panic_hook();
        let captured = capture_stderr(Arc::clone(&feed)).ok();
        let finished = Arc::new(AtomicBool::new(false));
        let drawer = {
            let finished = Arc::clone(&finished);
            std::thread::Builder::new()
                .name("live-view".to_owned())
                .spawn(move || draw_until(&feed, &control, &finished, on_stop))?
        };
        Ok(Screen {
            finished,
            drawer: Some(drawer),
            captured,
        })
    }

    /// Gives the terminal back as it was and writes what was written to
    /// stderr meanwhile.
    pub fn finish(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        self.finished.store(true, Ordering::Relaxed);
        if let Some(drawer) = self.drawer.take() {
            let _ = drawer.join();
        }
        restore_terminal();
        if let Some((original, reader)) = self.captured.take() {
            // Stderr is the terminal again; the pipe's last writer closes,
            // so its reader ends.
            // SAFETY: dup2 of two open descriptors.
            unsafe { libc::dup2(original.as_raw_fd(), libc::STDERR_FILENO) };
            SAVED_STDERR.store(-1, Ordering::Relaxed);
            drop(original);
            if let Ok(lines) = reader.join() {
                let mut stderr = io::stderr().lock();
                for line in lines {
                    let _ = writeln!(stderr, "{line}");
                }
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.drawer.is_some() || self.captured.is_some() {
            self.give_back();
        }
    }
}

/// Leaves the alternate screen and raw mode, and shows the cursor.
fn restore_terminal() {
    let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
    let _ = terminal::disable_raw_mode();
}

/// A panic while the view is up gives the terminal and stderr back first,
/// so that its message is seen.
fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::Relaxed) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let saved = SAVED_STDERR.swap(-1, Ordering::Relaxed);
        if saved >= 0 {
            // SAFETY: dup2 of two open descriptors.
            unsafe { libc::dup2(saved, libc::STDERR_FILENO) };
            restore_terminal();
        }
        previous(info);
    }));
}

/// Leads stderr into a pipe whose lines go to `feed` and are kept; the
/// original stderr, and the reader that returns every line at the pipe's
/// end.
fn capture_stderr(feed: Arc<LiveFeed>) -> io::Result<(OwnedFd, JoinHandle<Vec<String>>)> {
    let mut fds: [RawFd; 2] = [-1; 2];
    // SAFETY: pipe fills the two descriptors it is given room for.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both were just opened and are owned here alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: dup of an open descriptor.
    let original = unsafe { libc::dup(libc::STDERR_FILENO) };
    if original < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just opened, owned here alone.
    let original = unsafe { OwnedFd::from_raw_fd(original) };
    // SAFETY: dup2 of two open descriptors.
    if unsafe { libc::dup2(write.as_raw_fd(), libc::STDERR_FILENO) } < 0 {
        return Err(io::Error::last_os_error());
    }
    SAVED_STDERR.store(original.as_raw_fd(), Ordering::Relaxed);
    drop(write);
    let reader = std::thread::Builder::new()
        .name("live-stderr".to_owned())
        .spawn(move || {
            let mut kept = Vec::new();
            for line in io::BufReader::new(std::fs::File::from(read)).lines() {
                let Ok(line) = line else { break };
                feed.message(line.clone());
                kept.push(line);
            }
            kept
        });
    match reader {
        Ok(reader) => Ok((original, reader)),
        Err(error) => {
            // SAFETY: dup2 of two open descriptors.
            unsafe { libc::dup2(original.as_raw_fd(), libc::STDERR_FILENO) };
            SAVED_STDERR.store(-1, Ordering::Relaxed);
            Err(error)
        }
    }
}

/// Draws a frame every [`FRAME`] and reads keys between frames until
/// `finished`.
fn draw_until(feed: &LiveFeed, control: &Control, finished: &AtomicBool, on_stop: &'static str) {
    let Ok(mut terminal) = Terminal::new(CrosstermBackend::new(io::stdout())) else {
        return;
    };
    let _ = terminal.clear();
    let mut next = Instant::now();
    while !finished.load(Ordering::Relaxed) {
        if Instant::now() >= next {
            let snapshot = feed.snapshot(control.done.load(Ordering::Relaxed));
            let _ = terminal.draw(|frame| view::draw(frame, &snapshot));
            next += FRAME;
        }
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(50));
        if !event::poll(wait).unwrap_or(false) {
            continue;
        }
        let Ok(Event::Key(key)) = event::read() else {
            continue;
        };
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if key.kind != KeyEventKind::Press || !(ctrl_c || key.code == KeyCode::Char('q')) {
            continue;
        }
        let first = !control.stop.swap(true, Ordering::Relaxed);
        let counting = feed.stage_now() == Stage::CountedPass;
        if first || counting {
            // Through stderr, led into the pipe: shown now and written out
            // with the rest when the terminal is given back.
            eprintln!("interrupted: {on_stop}");
        }
        if counting {
            // The counted pass runs valgrind in a child of this process's
            // group, and stops, as the shell's Ctrl-C would stop it, at
            // SIGINT (this process only notes it).
            // SAFETY: kill sends a signal; it touches no memory.
            unsafe { libc::kill(0, libc::SIGINT) };
        }
    }
}
