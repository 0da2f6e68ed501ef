//! One run of a client that has no session and no model (the reference clients: MCP Inspector's
//! CLI, mcp-remote's client): started with a pipe for stdin that stays open and empty, its output
//! collected, the scripted browser consenting to every authorization URL the client opens (the
//! harness is the person who started the run), and the process waited for within a bound. Whatever
//! the client started and left behind is ended by its process id when the run is over.

use std::io::Read;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::clients::{DriveError, RunEnv};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::command::CommandSpec;

/// How long a left-behind process is given to end on SIGTERM before SIGKILL.
const LEFTOVER_GRACE: Duration = Duration::from_secs(2);

/// How often the run looks at the process and the browser's log.
const POLL: Duration = Duration::from_millis(20);

/// What one run did.
#[derive(Debug, Clone)]
pub struct HeadlessRun {
    /// The command as started (after any launch wrapper).
    pub command: String,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// One line per URL the client opened: where consent sent the browser, or why it could not.
    pub consents: Vec<String>,
    /// How many processes the client left running (ended by the harness).
    pub left_running: usize,
}

impl HeadlessRun {
    /// What the client printed, and a last line when the harness had to end processes it left
    /// running.
    pub fn output(&self) -> String {
        let mut text = format!("{}{}", self.stdout, self.stderr);
        if self.left_running > 0 {
            text.push_str(&format!(
                "\n(harness: the client left {} process(es) running; ended by process id)\n",
                self.left_running
            ));
        }
        text
    }

    /// Whether the client opened the browser during the run.
    pub fn opened_browser(&self) -> bool {
        !self.consents.is_empty()
    }
}

type Sink = Arc<Mutex<Vec<u8>>>;

fn collect(pipe: Option<impl Read + Send + 'static>, sink: Sink) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(&buf[..n]);
        }
    })
}

fn text_of(sink: &Sink) -> String {
    String::from_utf8_lossy(&sink.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

fn spawn(spec: &CommandSpec) -> Result<Child, DriveError> {
    let mut cmd = std::process::Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    cmd.spawn()
        .map_err(|e| DriveError::Setup(format!("cannot start `{}`: {e}", spec.shell_line())))
}

/// Runs `spec` to its end (at most `timeout`), consenting in the scripted browser to each URL the
/// client opens from now on. stdin is an open pipe the harness never writes to: mcp-remote's
/// client quits before it lists tools when stdin is at end of file. A run that does not end
/// within `timeout` is killed and is a [`DriveError::Timeout`] with what it printed.
pub fn run_consenting(
    spec: &CommandSpec,
    env: &RunEnv<'_>,
    timeout: Duration,
) -> Result<HeadlessRun, DriveError> {
    let spec = crate::drive::command::launch(spec);
    let command = spec.shell_line();
    crate::console::command(&command);
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    browser.skip_logged();
    let mut child = spawn(&spec)?;
    let pid = Pid::from_raw(child.id() as i32);
    // Held, never written, dropped once the process has ended.
    let stdin = child.stdin.take();
    let out: Sink = Default::default();
    let err: Sink = Default::default();
    let out_thread = collect(child.stdout.take(), out.clone());
    let err_thread = collect(child.stderr.take(), err.clone());
    let started = Instant::now();
    let mut consents = Vec::new();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                return Err(DriveError::Setup(format!("waiting for `{command}`: {e}")));
            }
        }
        if started.elapsed() >= timeout {
            break None;
        }
        // The client may open the browser more than once (a second authorization); each time
        // the harness consents.
        if let Ok(url) = browser.wait_for_url(Duration::ZERO) {
            consents.push(match browser.complete_consent(&url) {
                Ok(c) => format!(
                    "consented to {}; the browser was sent to {} ({})",
                    c.authorize_url, c.callback_url, c.callback_status
                ),
                Err(e) => format!("the scripted browser could not consent to {url}: {e}"),
            });
        }
        std::thread::sleep(POLL);
    };
    // Whatever it started (a child process, a listener) ends with the run, by process id.
    let timed_out = status.is_none();
    let left_running = crate::drive::live::end_descendants(pid, LEFTOVER_GRACE);
    if timed_out {
        let _ = child.kill();
    }
    let status = status.or_else(|| child.wait().ok());
    drop(stdin);
    let _ = out_thread.join();
    let _ = err_thread.join();
    let run = HeadlessRun {
        command,
        status: status.and_then(|s| s.code()),
        stdout: text_of(&out),
        stderr: text_of(&err),
        consents,
        left_running,
    };
    if timed_out {
        return Err(DriveError::Timeout {
            what: format!("`{}` to finish", run.command),
            secs: timeout.as_secs_f64(),
            detail: format!(
                "{}{}",
                run.output(),
                if run.consents.is_empty() {
                    "\n(the client never opened the browser)".to_owned()
                } else {
                    format!("\n{}", run.consents.join("\n"))
                }
            ),
        });
    }
    Ok(run)
}
