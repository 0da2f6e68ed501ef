//! What the harness tells people, and how: every line it prints, on stderr or stdout, from any
//! thread, goes through one [`Console`].
//!
//! - **One writer.** A line (or a block of lines) is written whole, in one write and flushed,
//!   while the console's lock is held; every command that runs clients prints only through it,
//!   and the clients' own output is captured or goes to their terminal: so lines of parallel runs
//!   (`harness matrix -j N`) never interleave mid-line, nor with stdout's tables, and a progress
//!   bar is never drawn across a line: while one is shown, lines go above it.
//! - **Quiet by default.** [`say`] is for what a person watching needs (progress, verdicts);
//!   [`detail`] and [`command`] only show with `-v` ([`set_verbose`]). The commands the harness
//!   starts, with their whole environment, are long and matter only when a run fails: each is
//!   also recorded in the running thread's [`CommandLog`], which a failure bundle keeps.
//! - **Progress** ([`progress`]) is a bar on a terminal and plain lines anywhere else (CI logs,
//!   pipes), where a bar would only write control characters.
//!
//! The interrupt handler [`freeze`]s the console: from then on only it prints (the partial
//! results), and every other thread that tries waits until the process exits.

pub mod progress;

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

use indicatif::{MultiProgress, ProgressDrawTarget};

pub use progress::{progress, spinner, Progress};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Shows [`detail`] and [`command`] lines too (`harness -v`).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// The process's console: stderr and stdout, bars on stderr when it is a terminal.
static CONSOLE: LazyLock<Console> = LazyLock::new(Console::standard);

/// [`say`] with `format!` arguments: `say!("harness: {n} installed")`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::say(&format!($($arg)*))
    };
}

/// [`detail`] with `format!` arguments.
#[macro_export]
macro_rules! detail {
    ($($arg:tt)*) => {
        $crate::console::detail(&format!($($arg)*))
    };
}

/// Lines for stderr, whole (one or more; a missing final newline is added).
pub fn say(text: &str) {
    CONSOLE.say(&labelled(text));
}

/// Lines only `-v` shows: what a person debugging the harness wants, not one watching a run.
pub fn detail(text: &str) {
    if verbose() {
        say(text);
    }
}

/// Text for stdout (tables, reports), whole.
pub fn print(text: &str) {
    CONSOLE.print(text);
}

/// A command the harness starts, as a shell line that reruns it exactly (environment
/// included): kept in this thread's [`CommandLog`], printed only with `-v`.
pub fn command(shell_line: &str) {
    COMMANDS.with(|log| {
        if let Some(top) = log.borrow_mut().last_mut() {
            top.push(shell_line.to_owned());
        }
    });
    detail(&format!("harness: running {shell_line}"));
}

/// Stops every other thread from printing and clears the progress bars; what the holder writes
/// is the last the process prints. For the interrupt handler, which exits holding it.
pub fn freeze() -> Frozen {
    CONSOLE.freeze()
}

thread_local! {
    static LABEL: RefCell<Option<String>> = const { RefCell::new(None) };
    static COMMANDS: RefCell<Vec<Vec<String>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with every line this thread says prefixed by `[label] `: under `matrix -j N -v`, the
/// commands of parallel cells would otherwise be impossible to tell apart.
pub fn with_label<T>(label: &str, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<String>);
    impl Drop for Reset {
        fn drop(&mut self) {
            LABEL.with(|cell| *cell.borrow_mut() = self.0.take());
        }
    }
    let previous = LABEL.with(|cell| cell.borrow_mut().replace(label.to_owned()));
    let _reset = Reset(previous);
    f()
}

fn labelled(text: &str) -> String {
    LABEL.with(|cell| match cell.borrow().as_deref() {
        None => text.to_owned(),
        Some(label) => text
            .lines()
            .map(|line| format!("[{label}] {line}\n"))
            .collect(),
    })
}

/// The commands this thread starts while the log lives, exactly as started (a scenario run keeps
/// them for its failure bundle). Logs nest; a command goes to the innermost.
pub struct CommandLog {
    // Not Send: the log is this thread's.
    _thread: std::marker::PhantomData<*const ()>,
}

impl CommandLog {
    pub fn start() -> CommandLog {
        COMMANDS.with(|log| log.borrow_mut().push(Vec::new()));
        CommandLog {
            _thread: std::marker::PhantomData,
        }
    }

    /// The commands started since [`CommandLog::start`], in order.
    pub fn finish(self) -> Vec<String> {
        let taken = COMMANDS
            .with(|log| log.borrow_mut().pop())
            .unwrap_or_default();
        std::mem::forget(self);
        taken
    }
}

impl Drop for CommandLog {
    fn drop(&mut self) {
        COMMANDS.with(|log| log.borrow_mut().pop());
    }
}

/// Two streams behind one lock. [`say`] and [`print`] use the process's; tests make their own.
pub struct Console {
    state: Mutex<State>,
}

struct State {
    /// `None`: the process's stderr and stdout, written through `eprint!` and `print!` so that a
    /// test runner's capture still sees them.
    streams: Option<(Box<dyn Write + Send>, Box<dyn Write + Send>)>,
    /// Present when stderr is a terminal: the bars are drawn there.
    bars: Option<MultiProgress>,
    /// The bars shown now (lines go above them while there are any), by id.
    shown: Vec<(u64, indicatif::ProgressBar)>,
    next_bar: u64,
    frozen: bool,
}

impl Console {
    fn standard() -> Console {
        let terminal = std::io::stderr().is_terminal();
        Console {
            state: Mutex::new(State {
                streams: None,
                bars: terminal
                    .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
                shown: Vec::new(),
                next_bar: 0,
                frozen: false,
            }),
        }
    }

    /// A console writing to `err` and `out`, never drawing bars.
    pub fn with_streams(err: Box<dyn Write + Send>, out: Box<dyn Write + Send>) -> Console {
        Console {
            state: Mutex::new(State {
                streams: Some((err, out)),
                bars: None,
                shown: Vec::new(),
                next_bar: 0,
                frozen: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.frozen {
            // The interrupt handler holds the words from here on and is about to exit; a guard
            // from before the freeze is never handed out again.
            drop(state);
            loop {
                std::thread::park();
            }
        }
        state
    }

    pub fn say(&self, text: &str) {
        self.lock().say(text);
    }

    pub fn print(&self, text: &str) {
        self.lock().print(text);
    }

    fn freeze(&'static self) -> Frozen {
        let mut state = self.lock();
        // No bar may tick again between the clearing and the last lines.
        for (_, bar) in &state.shown {
            bar.disable_steady_tick();
            bar.finish_and_clear();
        }
        if let Some(bars) = &state.bars {
            let _ = bars.clear();
            // Bars other threads still hold keep ticking; drawn nowhere, they cannot cross the
            // last lines.
            bars.set_draw_target(ProgressDrawTarget::hidden());
        }
        state.bars = None;
        state.shown.clear();
        Frozen { state }
    }

    /// Shows `bar` (on a terminal; else `None`), under an id for [`Console::remove_bar`].
    pub(crate) fn add_bar(
        &self,
        bar: indicatif::ProgressBar,
    ) -> Option<(u64, indicatif::ProgressBar)> {
        let mut state = self.lock();
        let bar = state.bars.as_ref()?.add(bar);
        let id = state.next_bar;
        state.next_bar += 1;
        state.shown.push((id, bar.clone()));
        Some((id, bar))
    }

    pub(crate) fn remove_bar(&self, id: u64) {
        let mut state = self.lock();
        if let Some(at) = state.shown.iter().position(|(i, _)| *i == id) {
            let (_, bar) = state.shown.remove(at);
            bar.finish_and_clear();
            if let Some(bars) = &state.bars {
                bars.remove(&bar);
            }
        }
    }
}

impl State {
    fn say(&mut self, text: &str) {
        let text = whole_lines(text);
        match &self.bars {
            // indicatif prints the line above the bars and draws them again below it.
            Some(bars) if !self.shown.is_empty() => {
                let _ = bars.println(text.trim_end_matches('\n'));
            }
            _ => match &mut self.streams {
                // One `write_fmt` of one string: the whole text in one locked write.
                None => eprint!("{text}"),
                Some((err, _)) => {
                    let _ = err.write_all(text.as_bytes());
                    let _ = err.flush();
                }
            },
        }
    }

    fn print(&mut self, text: &str) {
        let State {
            streams,
            bars,
            shown,
            ..
        } = self;
        let mut write = || match streams {
            None => {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
            Some((_, out)) => {
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
        };
        match bars {
            Some(bars) if !shown.is_empty() => bars.suspend(write),
            _ => write(),
        }
    }
}

fn whole_lines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.ends_with('\n') {
        text.into()
    } else {
        format!("{text}\n").into()
    }
}

/// The console, held: only the holder prints. See [`freeze`].
pub struct Frozen {
    state: MutexGuard<'static, State>,
}

impl Frozen {
    pub fn say(&mut self, text: &str) {
        self.state.say(text);
    }

    pub fn print(&mut self, text: &str) {
        self.state.print(text);
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // Whoever waited for the console waits on: the process is ending.
        self.state.frozen = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A stream that takes one byte per `write` call and gives the other threads a chance to
    /// run in between: without the console's lock, lines written to it at once would interleave.
    #[derive(Clone, Default)]
    struct Trickle(Arc<Mutex<Vec<u8>>>);

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let Some(&first) = buf.first() else {
                return Ok(0);
            };
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(first);
            std::thread::yield_now();
            Ok(1)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_said_from_many_threads_at_once_arrive_whole() {
        let sink = Trickle::default();
        let console = Arc::new(Console::with_streams(
            Box::new(sink.clone()),
            Box::new(std::io::sink()),
        ));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let console = console.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        console.say(&format!(
                            "harness: matrix: cell {t} line {i} {}",
                            "x".repeat(40)
                        ));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("a writer thread panicked");
        }
        let bytes = sink.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let text = String::from_utf8(bytes).expect("whole UTF-8 lines");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8 * 50);
        for line in lines {
            let rest = line
                .strip_prefix("harness: matrix: cell ")
                .unwrap_or_else(|| panic!("a line was cut into: {line:?}"));
            assert!(
                rest.ends_with(&"x".repeat(40)),
                "a line was cut into: {line:?}"
            );
        }
    }

    #[test]
    fn a_label_prefixes_every_line_said_on_its_thread_and_ends_with_it() {
        let inside = with_label("slash_mcp@2.1.81", || labelled("one\ntwo"));
        assert_eq!(inside, "[slash_mcp@2.1.81] one\n[slash_mcp@2.1.81] two\n");
        assert_eq!(labelled("three"), "three");
    }

    #[test]
    fn a_command_log_keeps_the_commands_its_thread_starts_and_nothing_after() {
        let log = CommandLog::start();
        command("env -i HOME=/tmp/h /bin/true");
        let inner = CommandLog::start();
        command("env -i HOME=/tmp/h /bin/false");
        assert_eq!(inner.finish(), vec!["env -i HOME=/tmp/h /bin/false"]);
        let elsewhere = std::thread::spawn(|| command("on another thread"));
        elsewhere.join().expect("the other thread panicked");
        assert_eq!(log.finish(), vec!["env -i HOME=/tmp/h /bin/true"]);
        command("after the log");
    }
}
