//! The suite's client mode: `conformance client --command "<cmd>" --scenario S -o DIR`, started in
//! the background while the harness drives a client against the server the suite starts, and
//! ended by pid (with everything it started) when it outlives its bound.
//!
//! The list of client scenarios is fixed per pinned suite version: [`SCENARIOS`] is what
//! `conformance list --client` of 0.2.0-alpha.12 prints, in its order (an ignored test in
//! `suites/reconnect/conformance.rs` compares the two on the installed suite, so a new pin that
//! adds or drops one fails there until this list follows).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::drive::command::CommandSpec;
use crate::store::versions::InstalledVersion;

/// Hands every client scenario of the pinned suite, as `conformance list --client` names them
/// (in its order), to the macro `$then`: the one list both the bare names ([`SCENARIOS`]) and the
/// harness's scenario definitions (`scenarios::conformance::DEFS`) are made from.
macro_rules! with_suite_scenarios {
    ($then:ident) => {
        $then! {
            "initialize",
            "tools_call",
            "elicitation-sep1034-client-defaults",
            "sse-retry",
            "request-metadata",
            "auth/metadata-default",
            "auth/metadata-var1",
            "auth/metadata-var2",
            "auth/metadata-var3",
            "auth/basic-cimd",
            "auth/scope-from-www-authenticate",
            "auth/scope-from-scopes-supported",
            "auth/scope-omitted-when-undefined",
            "auth/scope-step-up",
            "auth/scope-retry-limit",
            "auth/token-endpoint-auth-basic",
            "auth/token-endpoint-auth-post",
            "auth/token-endpoint-auth-none",
            "auth/pre-registration",
            "auth/2025-03-26-oauth-metadata-backcompat",
            "auth/2025-03-26-oauth-endpoint-fallback",
            "auth/resource-mismatch",
            "auth/offline-access-scope",
            "auth/offline-access-not-supported",
            "auth/authorization-server-migration",
            "auth/iss-supported",
            "auth/iss-not-advertised",
            "auth/iss-supported-missing",
            "auth/iss-wrong-issuer",
            "auth/iss-unexpected",
            "auth/iss-normalized",
            "auth/metadata-issuer-mismatch",
            "auth/client-credentials-jwt",
            "auth/client-credentials-basic",
            "auth/enterprise-managed-authorization",
            "auth/dpop",
            "auth/dpop-nonce",
            "auth/wif-jwt-bearer",
            "sep-2322-client-request-state",
            "http-standard-headers",
            "http-custom-headers",
            "http-invalid-tool-headers",
            "json-schema-ref-no-deref",
            "json-schema-2020-12-preservation",
            "sep-2640-client-no-prefetch",
            "sep-2640-client-verify-digest",
            "sep-2640-client-verify-size",
            "sep-2640-client-verify-frontmatter",
        }
    };
}
pub(crate) use with_suite_scenarios;

macro_rules! bare_names {
    ($($name:literal),* $(,)?) => {
        /// Every client scenario of the pinned suite, as `conformance list --client` names them.
        pub const SCENARIOS: [&str; 48] = [$($name),*];
    };
}
with_suite_scenarios!(bare_names);

/// The scenarios that need a login path no client the harness drives has: the OAuth
/// client-credentials grant (JWT assertion or secret), enterprise-managed authorization (an ID-JAG
/// token exchange), workload identity federation and DPoP-bound tokens. Each client kind's
/// `login_paths` lists what it has (authorization code with a browser, in some form); a run of
/// one of these earns "not applicable" only with that evidence *and* the run's traffic showing
/// the client never made such a grant (see `scenarios::conformance`); a client that tries one
/// is judged by the suite as usual.
pub const NEEDS_MACHINE_GRANT: [&str; 6] = [
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/enterprise-managed-authorization",
    "auth/dpop",
    "auth/dpop-nonce",
    "auth/wif-jwt-bearer",
];

/// The suite's own bound on the command it runs (`--timeout`): the whole drive of a client
/// (start, login, a tool call, exit) fits in it with room to spare.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the suite may stay up once it has written its `checks.json`.
pub const RESULTS_GRACE: Duration = Duration::from_secs(3);
/// The bound on the suite process as a whole: its command's, and its own start and judging.
pub const SUITE_BOUND: Duration = Duration::from_secs(360);

#[derive(Debug, thiserror::Error)]
pub enum SuiteRunError {
    #[error("cannot start the conformance suite (`{command}`): {source}")]
    Start {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the path {0} has a space in it: the suite splits its --command at spaces; move the \
         harness binary or HARNESS_CACHE_DIR to a path without spaces"
    )]
    SpaceInPath(String),
}

/// The suite, running.
pub struct SuiteRun {
    handle: duct::Handle,
    pub command: String,
    pub log: PathBuf,
    pub results: PathBuf,
}

/// How the suite ended.
#[derive(Debug, Clone)]
pub struct SuiteExit {
    pub status: Option<i32>,
    pub timed_out: bool,
    /// The suite's own output (stdout and stderr), the tail of it.
    pub output: String,
}

/// Starts `conformance client` for `scenario`, running `command` (words without spaces inside;
/// the suite appends its URL) with `env` and writing results and its log under `dir`.
pub fn start(
    suite: &InstalledVersion,
    scenario: &str,
    command: &[String],
    env: &[(String, String)],
    dir: &Path,
) -> Result<SuiteRun, SuiteRunError> {
    if let Some(word) = command.iter().find(|w| w.contains(' ')) {
        return Err(SuiteRunError::SpaceInPath(word.clone()));
    }
    let results = dir.join("results");
    let log = dir.join("suite.log");
    let spec: CommandSpec = {
        let mut spec = suite.command([
            "client".to_owned(),
            "--command".to_owned(),
            command.join(" "),
            "--scenario".to_owned(),
            scenario.to_owned(),
            "--timeout".to_owned(),
            COMMAND_TIMEOUT.as_millis().to_string(),
            "-o".to_owned(),
            results.to_string_lossy().into_owned(),
        ]);
        spec.envs(env).cwd(dir);
        spec
    };
    let shell = spec.shell_line();
    crate::console::command(&shell);
    let started = (|| {
        std::fs::create_dir_all(&results)?;
        let file = std::fs::File::create(&log)?;
        duct::cmd(&spec.program, &spec.args)
            .full_env(spec.env.iter().cloned())
            .dir(dir)
            .stdin_null()
            .stdout_file(file.try_clone()?)
            .stderr_file(file)
            .unchecked()
            .start()
    })();
    let handle = started.map_err(|source| SuiteRunError::Start {
        command: shell.clone(),
        source,
    })?;
    Ok(SuiteRun {
        handle,
        command: shell,
        log,
        results,
    })
}

impl SuiteRun {
    /// Whether the suite has exited.
    pub fn exited(&self) -> bool {
        !matches!(self.handle.try_wait(), Ok(None))
    }

    /// Waits at most `bound` for the suite to exit; past it, ends the suite and everything it
    /// started (by pid), and says so. Once its `checks.json` is written the suite has judged:
    /// [`RESULTS_GRACE`] later it is ended if still there (0.2.0-alpha.12 can stay up after
    /// writing it, its server waiting on connections its scenario left open).
    pub fn wait(self, bound: Duration) -> SuiteExit {
        let started = Instant::now();
        let mut timed_out = false;
        let mut judged_at: Option<Instant> = None;
        let status = loop {
            match self.handle.try_wait() {
                Ok(Some(output)) => break output.status.code(),
                Ok(None) if judged_at.is_some_and(|at| at.elapsed() >= RESULTS_GRACE) => {
                    self.end();
                    break None;
                }
                Ok(None) if started.elapsed() >= bound => {
                    timed_out = true;
                    self.end();
                    break None;
                }
                Ok(None) => {
                    if judged_at.is_none()
                        && crate::conformance::checks_file::find(&self.results).is_some()
                    {
                        judged_at = Some(Instant::now());
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(_) => break None,
            }
        };
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(60).collect();
        SuiteExit {
            status,
            timed_out,
            output: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        }
    }

    /// Ends the suite's process tree: its command (a shell and the harness's own handoff
    /// process) first, then the suite.
    pub fn end(&self) {
        for pid in self.handle.pids() {
            let root = nix::unistd::Pid::from_raw(pid as i32);
            crate::drive::live::end_descendants(root, Duration::from_secs(2));
        }
        let _ = self.handle.kill();
    }
}

impl Drop for SuiteRun {
    fn drop(&mut self) {
        if !self.exited() {
            self.end();
        }
    }
}
