//! How the suite's client command (`harness conformance-client --handoff DIR <url>`) hands the
//! suite's server to the harness run that started the suite, and is told when to exit.
//!
//! The suite runs a command with its server's URL appended and judges the server's checks when
//! that command exits. The command is a second harness process; the client is driven by the
//! first, the `harness run` (or matrix cell) that started the suite. Why not drive the client
//! from the second process? Everything a run keeps lives in the first: its sandbox and failure
//! bundle, the recording proxy's access log and timeline, the console, and the interrupt handler
//! that ends every client it started (the suite, timing out, kills only its shell). So the second
//! process only writes `handoff.json` (the URL and the suite's `MCP_CONFORMANCE_*` variables)
//! into `DIR` and waits for `done`, which the first writes when the client has finished; its exit
//! status is what `done` says.
//!
//! Both waits are bounded: the first gives the suite [`HANDOFF_WAIT`] to start its server, the
//! second gives up after [`DONE_WAIT`] (the suite's own `--timeout` is shorter, and kills it
//! sooner).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The file the suite's command writes.
pub const HANDOFF_FILE: &str = "handoff.json";
/// The file the harness run writes when the client has finished.
pub const DONE_FILE: &str = "done";

/// How long the harness waits for the suite to start its server and run the command.
pub const HANDOFF_WAIT: Duration = Duration::from_secs(90);
/// How long the command waits for the harness to finish with the client.
pub const DONE_WAIT: Duration = Duration::from_secs(900);

/// What the suite gave its command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// The suite server's MCP URL (the command's last argument).
    pub url: String,
    /// `MCP_CONFORMANCE_SCENARIO`.
    pub scenario: Option<String>,
    /// `MCP_CONFORMANCE_CONTEXT`, parsed (client credentials, a pre-registered client ID …).
    pub context: Option<serde_json::Value>,
    /// `MCP_CONFORMANCE_PROTOCOL_VERSION`.
    pub protocol_version: Option<String>,
}

impl Handoff {
    /// From the command's URL argument and the suite's variables, as `get` reads them.
    pub fn from_env(url: &str, get: impl Fn(&str) -> Option<String>) -> Handoff {
        Handoff {
            url: url.to_owned(),
            scenario: get("MCP_CONFORMANCE_SCENARIO"),
            context: get("MCP_CONFORMANCE_CONTEXT")
                .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))),
            protocol_version: get("MCP_CONFORMANCE_PROTOCOL_VERSION"),
        }
    }

    /// A string member of the context (`client_id`, `client_secret`).
    pub fn context_str(&self, key: &str) -> Option<&str> {
        self.context.as_ref()?.get(key)?.as_str()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the harness run that started the suite did not say it was done within {secs} s (no {path}): exiting")]
    NoDone { secs: u64, path: PathBuf },
}

/// The command's side: writes the handoff (whole, by rename), then waits for `done` and returns
/// the exit status it names (0 unless it says otherwise).
pub fn hand_over(dir: &Path, handoff: &Handoff, wait: Duration) -> Result<i32, HandoffError> {
    let path = dir.join(HANDOFF_FILE);
    let partial = dir.join(format!("{HANDOFF_FILE}.partial"));
    let text = serde_json::to_vec_pretty(handoff).unwrap_or_default();
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|source| HandoffError::Write {
            path: path.clone(),
            source,
        })?;
    let done = dir.join(DONE_FILE);
    let started = Instant::now();
    while started.elapsed() < wait {
        if let Ok(text) = std::fs::read_to_string(&done) {
            return Ok(text.trim().parse().unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(HandoffError::NoDone {
        secs: wait.as_secs(),
        path: done,
    })
}

/// The harness run's side: the handoff once the command has written it; `None` after `wait`, or
/// as soon as `gone()` says the suite has exited without running the command.
pub fn wait_for(dir: &Path, wait: Duration, mut gone: impl FnMut() -> bool) -> Option<Handoff> {
    let path = dir.join(HANDOFF_FILE);
    let started = Instant::now();
    while started.elapsed() < wait {
        if let Some(handoff) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        {
            return Some(handoff);
        }
        if gone() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Tells the command to exit with `status`.
pub fn finish(dir: &Path, status: i32) -> std::io::Result<()> {
    std::fs::write(dir.join(DONE_FILE), status.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_hands_over_the_suites_variables_and_exits_as_told() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let vars = [
            ("MCP_CONFORMANCE_SCENARIO", "auth/pre-registration"),
            (
                "MCP_CONFORMANCE_CONTEXT",
                r#"{"name":"auth/pre-registration","client_id":"pre-reg"}"#,
            ),
        ];
        let handoff = Handoff::from_env("http://localhost:4000/mcp", |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        });
        assert_eq!(handoff.context_str("client_id"), Some("pre-reg"));
        assert_eq!(handoff.protocol_version, None);
        let path = dir.path().to_owned();
        let command = {
            let handoff = handoff.clone();
            std::thread::spawn(move || hand_over(&path, &handoff, Duration::from_secs(10)))
        };
        let seen = wait_for(dir.path(), Duration::from_secs(10), || false);
        assert_eq!(seen.as_ref(), Some(&handoff));
        finish(dir.path(), 1)?;
        let status = command.join().map_err(|_| anyhow::anyhow!("panicked"))??;
        assert_eq!(status, 1);
        Ok(())
    }

    #[test]
    fn both_waits_are_bounded() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        assert!(wait_for(dir.path(), Duration::from_secs(30), || true).is_none());
        assert!(wait_for(dir.path(), Duration::from_millis(200), || false).is_none());
        let handoff = Handoff::from_env("http://localhost:1/mcp", |_| None);
        let refused = hand_over(dir.path(), &handoff, Duration::from_millis(200));
        assert!(matches!(refused, Err(HandoffError::NoDone { .. })));
        assert!(started.elapsed() < Duration::from_secs(5));
        Ok(())
    }
}
