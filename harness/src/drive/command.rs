//! A command the harness runs against the client under test, with everything needed to rerun it
//! by hand: program, arguments, the whole (cleaned) environment and the working directory.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The complete environment: the child inherits nothing else.
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

/// What a non-interactive run printed.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("cannot start `{command}`: {source}")]
    Start {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

impl CommandSpec {
    pub fn new(program: impl AsRef<Path>) -> CommandSpec {
        CommandSpec {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = String>>(&mut self, args: I) -> &mut Self {
        self.args.extend(args);
        self
    }

    pub fn env(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
        self
    }

    pub fn envs(&mut self, vars: &[(String, String)]) -> &mut Self {
        for (k, v) in vars {
            self.env(k.clone(), v.clone());
        }
        self
    }

    pub fn cwd(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// A shell line that reruns the command exactly: `cd DIR && env -i K=V … PROGRAM ARGS`.
    pub fn shell_line(&self) -> String {
        let mut line = String::new();
        if let Some(cwd) = &self.cwd {
            let _ = write!(line, "cd {} && ", quote(&cwd.to_string_lossy()));
        }
        line.push_str("env -i");
        for (k, v) in &self.env {
            let _ = write!(line, " {}", quote(&format!("{k}={v}")));
        }
        let _ = write!(line, " {}", quote(&self.program.to_string_lossy()));
        for a in &self.args {
            let _ = write!(line, " {}", quote(a));
        }
        line
    }

    /// Runs to completion (no terminal), killing it after `timeout`. The command is logged first
    /// ([`crate::console::command`]: printed with `-v`, kept for a failure bundle).
    pub fn run(&self, timeout: Duration) -> Result<CommandOutput, CommandError> {
        // Inside an isolated run the client is started under strace (see `isolation`).
        let launched = launch(self);
        let this = &launched;
        crate::console::command(&this.shell_line());
        let mut expression = duct::cmd(&this.program, &this.args)
            .full_env(this.env.iter().cloned())
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked();
        if let Some(cwd) = &this.cwd {
            expression = expression.dir(cwd);
        }
        let handle = expression.start().map_err(|source| CommandError::Start {
            command: this.shell_line(),
            source,
        })?;
        let deadline = std::time::Instant::now() + timeout;
        // Polls that start fine and grow: a quick command is seen to end within a millisecond
        // or two, a slow one costs a wake-up every 25 ms.
        let mut pause = Duration::from_millis(1);
        loop {
            match handle.try_wait() {
                Ok(Some(output)) => {
                    return Ok(CommandOutput {
                        status: output.status.code(),
                        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                        timed_out: false,
                    })
                }
                Ok(None) if std::time::Instant::now() >= deadline => {
                    let _ = handle.kill();
                    return Ok(CommandOutput {
                        status: None,
                        stdout: String::new(),
                        stderr: format!("killed after {} s without finishing", timeout.as_secs()),
                        timed_out: true,
                    });
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(25));
                }
                Err(source) => {
                    return Err(CommandError::Start {
                        command: this.shell_line(),
                        source,
                    })
                }
            }
        }
    }
}

/// Rewrites a command just before it starts (network isolation runs clients under strace).
pub type LaunchWrapper = Box<dyn FnMut(&CommandSpec) -> CommandSpec>;

thread_local! {
    static LAUNCH_WRAPPER: RefCell<Option<LaunchWrapper>> = const { RefCell::new(None) };
}

/// Runs `f` with every command this thread launches ([`CommandSpec::run`], terminals) passed
/// through `wrapper` first; the wrapper is gone when `f` returns.
pub fn with_launch_wrapper<T>(wrapper: LaunchWrapper, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LAUNCH_WRAPPER.with(|cell| cell.borrow_mut().take());
        }
    }
    LAUNCH_WRAPPER.with(|cell| *cell.borrow_mut() = Some(wrapper));
    let _reset = Reset;
    f()
}

/// The command to start for `spec`: `spec` itself, or what this thread's launch wrapper makes of
/// it. Called by everything that starts a client process, just before it does: once an
/// interrupted run is being stopped, the calling thread waits here instead (see
/// [`crate::drive::live::hold_if_stopping`]).
pub fn launch(spec: &CommandSpec) -> CommandSpec {
    crate::drive::live::hold_if_stopping();
    LAUNCH_WRAPPER.with(|cell| match cell.borrow_mut().as_mut() {
        Some(wrap) => wrap(spec),
        None => spec.clone(),
    })
}

/// Single-quotes a word for POSIX shells when it needs it.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_line_quotes_what_needs_quoting() {
        let mut spec = CommandSpec::new("/bin/echo");
        spec.arg("a b")
            .arg("it's")
            .env("HOME", "/tmp/h")
            .cwd("/tmp");
        assert_eq!(
            spec.shell_line(),
            r"cd /tmp && env -i HOME=/tmp/h /bin/echo 'a b' 'it'\''s'"
        );
    }

    #[test]
    fn a_hanging_command_is_killed_at_its_timeout() -> Result<(), CommandError> {
        let mut spec = CommandSpec::new("/bin/sleep");
        spec.arg("30");
        let out = spec.run(Duration::from_millis(300))?;
        assert!(out.timed_out);
        assert_eq!(out.status, None);
        Ok(())
    }
}
