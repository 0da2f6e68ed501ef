//! Driving an interactive program under a pseudo-terminal, read through a terminal emulator.
//!
//! The program runs in its own session and process group (portable-pty calls `setsid`), so
//! ending the run ends everything it started. Every wait has a bound, and a wait that runs out
//! fails with the screen as it was, which is what a person debugging the run needs first.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

use crate::drive::command::CommandSpec;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("cannot start `{command}` under a pseudo-terminal: {reason}")]
    Start { command: String, reason: String },
    #[error("timed out after {secs:.1} s waiting for {what}; the screen was:\n{screen}")]
    Timeout {
        what: String,
        secs: f64,
        screen: String,
    },
    #[error("the program exited ({status}) while waiting for {what}; the screen was:\n{screen}")]
    Exited {
        what: String,
        status: String,
        screen: String,
    },
    #[error("cannot write to the terminal: {0}")]
    Write(#[source] std::io::Error),
}

/// Keys a scenario presses.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    Enter,
    Escape,
    Up,
    Down,
    CtrlC,
}

impl Key {
    fn bytes(self) -> &'static [u8] {
        match self {
            Key::Enter => b"\r",
            Key::Escape => b"\x1b",
            Key::Up => b"\x1b[A",
            Key::Down => b"\x1b[B",
            Key::CtrlC => b"\x03",
        }
    }
}

struct Shared {
    parser: vt100::Parser,
    raw: Vec<u8>,
    eof: bool,
    /// Counts the reader's changes (each chunk, and the end of the output).
    generation: u64,
}

/// The screen state and the signal the reader thread gives whenever it changed, so that a wait
/// wakes on the program's output instead of on a timer.
struct Screen {
    state: Mutex<Shared>,
    changed: Condvar,
}

pub struct TerminalSession {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    shared: Arc<Screen>,
    pid: Option<u32>,
    // Dropping the master closes the terminal; keep it for the session's life.
    _master: Box<dyn portable_pty::MasterPty + Send>,
    exit_status: Option<String>,
}

/// How often a wait looks at the screen. Not on every frame: a TUI drops a key pressed the
/// moment its frame appears (Claude Code 2.1.120's `/mcp` menu lost the Enter that should open
/// the server's menu when waits woke on output and answered within a millisecond); looking every
/// 100 ms leaves it the moment a person would.
const POLL: Duration = Duration::from_millis(100);

impl TerminalSession {
    pub fn spawn(
        spec: &CommandSpec,
        rows: u16,
        cols: u16,
    ) -> Result<TerminalSession, TerminalError> {
        // Inside an isolated run the client is started under strace (see `isolation`).
        let launched = crate::drive::command::launch(spec);
        let spec = &launched;
        crate::console::command(&format!(
            "{}    # under a {cols}x{rows} terminal",
            spec.shell_line()
        ));
        let start_err = |reason: String| TerminalError::Start {
            command: spec.shell_line(),
            reason,
        };
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| start_err(e.to_string()))?;
        let mut builder = CommandBuilder::new(&spec.program);
        builder.args(&spec.args);
        builder.env_clear();
        for (k, v) in &spec.env {
            builder.env(k, v);
        }
        if let Some(cwd) = &spec.cwd {
            builder.cwd(cwd);
        }
        let child = pair
            .slave
            .spawn_command(builder)
            .map_err(|e| start_err(e.to_string()))?;
        drop(pair.slave);
        let pid = child.process_id();
        let mut reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| start_err(e.to_string()))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| start_err(e.to_string()))?;
        let shared = Arc::new(Screen {
            state: Mutex::new(Shared {
                parser: vt100::Parser::new(rows, cols, 0),
                raw: Vec::new(),
                eof: false,
                generation: 0,
            }),
            changed: Condvar::new(),
        });
        let sink = shared.clone();
        std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut s = lock(&sink.state);
                            s.parser.process(&buf[..n]);
                            s.raw.extend_from_slice(&buf[..n]);
                            s.generation += 1;
                            drop(s);
                            sink.changed.notify_all();
                        }
                    }
                }
                let mut s = lock(&sink.state);
                s.eof = true;
                s.generation += 1;
                drop(s);
                sink.changed.notify_all();
            })
            .map_err(|e| start_err(e.to_string()))?;
        Ok(TerminalSession {
            child,
            writer,
            shared,
            pid,
            _master: pair.master,
            exit_status: None,
        })
    }

    /// The screen's text, trailing blank lines trimmed.
    pub fn screen(&self) -> String {
        self.screen_and_generation().0
    }

    /// The screen and the reader's change count it was read at, read together.
    fn screen_and_generation(&self) -> (String, u64) {
        let s = lock(&self.shared.state);
        let contents = s.parser.screen().contents();
        (contents.trim_end().to_owned(), s.generation)
    }

    /// Sleeps until the reader has seen more output than at `generation` (or the end of it), at
    /// most `max`.
    fn wait_for_output(&self, generation: u64, max: Duration) {
        let guard = lock(&self.shared.state);
        let _ = self
            .shared
            .changed
            .wait_timeout_while(guard, max, |s| s.generation == generation);
    }

    /// Everything the program wrote, escape sequences included.
    pub fn transcript(&self) -> Vec<u8> {
        lock(&self.shared.state).raw.clone()
    }

    /// Types text as if on the keyboard.
    pub fn type_text(&mut self, text: &str) -> Result<(), TerminalError> {
        self.writer
            .write_all(text.as_bytes())
            .map_err(TerminalError::Write)?;
        self.writer.flush().map_err(TerminalError::Write)
    }

    pub fn press(&mut self, key: Key) -> Result<(), TerminalError> {
        self.writer
            .write_all(key.bytes())
            .map_err(TerminalError::Write)?;
        self.writer.flush().map_err(TerminalError::Write)
    }

    /// Waits until `predicate(screen)` holds, at most `timeout`; returns the screen that matched.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&str) -> bool,
    ) -> Result<String, TerminalError> {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if predicate(&screen) {
                return Ok(screen);
            }
            if let Some(status) = self.try_exit_status() {
                // One last look: the final frame may have arrived with the exit. The reader
                // thread may not have drained it yet when the exit is seen (a `mcp login` that
                // printed its success and exited was once judged by the frame before), so wait
                // for the end of the output first, briefly.
                self.wait_for_eof(Duration::from_secs(2));
                let screen = self.screen();
                if predicate(&screen) {
                    return Ok(screen);
                }
                return Err(TerminalError::Exited {
                    what: what.to_owned(),
                    status,
                    screen,
                });
            }
            if started.elapsed() >= timeout {
                return Err(TerminalError::Timeout {
                    what: what.to_owned(),
                    secs: timeout.as_secs_f64(),
                    screen,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits for any of `needles` (case-insensitive) to appear; returns the one that did.
    pub fn wait_for_any(
        &mut self,
        what: &str,
        timeout: Duration,
        needles: &[&str],
    ) -> Result<String, TerminalError> {
        let lowered: Vec<String> = needles.iter().map(|n| n.to_lowercase()).collect();
        let screen = self.wait_for(what, timeout, |screen| {
            let screen = screen.to_lowercase();
            lowered.iter().any(|n| screen.contains(n.as_str()))
        })?;
        let screen = screen.to_lowercase();
        Ok(needles
            .iter()
            .zip(&lowered)
            .find(|(_, n)| screen.contains(n.as_str()))
            .map(|(original, _)| (*original).to_owned())
            .unwrap_or_default())
    }

    /// Waits until the reader has seen the end of the program's output, at most `timeout` (a
    /// process the program left behind may hold the terminal open).
    fn wait_for_eof(&self, timeout: Duration) {
        let started = Instant::now();
        loop {
            let (eof, generation) = {
                let s = lock(&self.shared.state);
                (s.eof, s.generation)
            };
            if eof || started.elapsed() >= timeout {
                break;
            }
            self.wait_for_output(generation, timeout.saturating_sub(started.elapsed()));
        }
    }

    /// The exit status if the program has ended.
    pub fn try_exit_status(&mut self) -> Option<String> {
        if self.exit_status.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit_status = Some(format!("exit code {}", status.exit_code()));
            }
        }
        self.exit_status.clone()
    }

    /// Waits for the program to end by itself, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<String, TerminalError> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_exit_status() {
                return Ok(status);
            }
            if started.elapsed() >= timeout {
                return Err(TerminalError::Timeout {
                    what: "the program to exit".to_owned(),
                    secs: timeout.as_secs_f64(),
                    screen: self.screen(),
                });
            }
            // An exit is not a frame a key answers: look often.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Ends the program's whole process group: SIGTERM, a short grace, then SIGKILL; reaps it.
    pub fn terminate(&mut self) {
        if let Some(pid) = self.pid {
            let group = nix::unistd::Pid::from_raw(pid as i32);
            if self.try_exit_status().is_none() {
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
                let deadline = Instant::now() + Duration::from_secs(2);
                while Instant::now() < deadline && self.try_exit_status().is_none() {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            // The leader may be gone while children it started live on in the group.
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.try_exit_status();
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> CommandSpec {
        let mut spec = CommandSpec::new("/bin/sh");
        spec.arg("-c")
            .arg(script)
            .env("PATH", "/usr/bin:/bin")
            .env("TERM", "xterm");
        spec
    }

    #[test]
    fn waits_see_what_the_program_draws_and_keys_reach_it() -> Result<(), TerminalError> {
        let mut term = TerminalSession::spawn(
            &shell("printf 'name? '; read x; echo \"hello $x\"; sleep 5"),
            24,
            80,
        )?;
        term.wait_for_any("the prompt", Duration::from_secs(5), &["name?"])?;
        term.type_text("world")?;
        term.press(Key::Enter)?;
        term.wait_for_any("the greeting", Duration::from_secs(5), &["hello world"])?;
        Ok(())
    }

    #[test]
    fn a_wait_that_runs_out_reports_the_screen() -> Result<(), TerminalError> {
        let mut term = TerminalSession::spawn(&shell("echo on-screen; sleep 30"), 24, 80)?;
        let err = term
            .wait_for_any(
                "something that never comes",
                Duration::from_millis(500),
                &["never"],
            )
            .err();
        match err {
            Some(TerminalError::Timeout { screen, .. }) => assert!(screen.contains("on-screen")),
            other => panic!("expected a timeout, got {other:?}"),
        }
        Ok(())
    }

    /// The one-letter state of a process from /proc, or None when it no longer exists.
    fn process_state(pid: i32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name is in parentheses and may hold spaces; the state follows it.
        stat.rsplit_once(") ")?.1.chars().next()
    }

    #[test]
    fn terminate_ends_the_whole_process_group() -> Result<(), TerminalError> {
        let mut term = TerminalSession::spawn(&shell("sleep 300 & echo child=$!; wait"), 24, 80)?;
        term.wait_for_any("the child's pid", Duration::from_secs(5), &["child="])?;
        let screen = term.screen();
        let pid: i32 = screen
            .split("child=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| TerminalError::Write(std::io::Error::other("no pid on screen")))?;
        term.terminate();
        // A killed orphan stays a zombie until its new parent reaps it (in a container PID 1
        // may never do that), so "gone or a zombie" is what counts as ended.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut state = process_state(pid);
        while state.is_some_and(|s| s != 'Z') && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            state = process_state(pid);
        }
        assert!(
            state.is_none_or(|s| s == 'Z'),
            "the background child {pid} outlived terminate() (state {state:?})"
        );
        Ok(())
    }
}
