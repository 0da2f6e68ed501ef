//! Scenarios: one client, one mock server, one sandbox, one story, judged by named checks.
//!
//! A driver error (a screen not recognised, a timeout, a crash) is recorded as a failing `driver`
//! check, never as "not applicable": only positive evidence that the client lacks a feature earns
//! that verdict.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mock_server::model_api::ModelApi;
use mock_server::AccessRecord;
use serde::Serialize;

use crate::browser::ScriptedBrowser;
use crate::checks::{self, Check, Verdict};
use crate::client::{AuthOutcome, ClientUnderTest, DriveError, LoginPath, RunEnv, ServerStatus};
use crate::mock::MockTarget;
use crate::sandbox::Sandbox;
use crate::timeline;

/// The name the mock server is registered under in the client.
pub const SERVER_NAME: &str = "mock";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The reconnect check: authenticate through `/mcp` inside one running session.
    SlashMcp,
    /// `mcp add` → `mcp list` → `mcp login` → `mcp list`: login and stored tokens, each step a
    /// fresh process. Not a reconnect check.
    LoginThenList,
}

impl Scenario {
    pub const ALL: [Scenario; 2] = [Scenario::SlashMcp, Scenario::LoginThenList];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::SlashMcp => "slash_mcp",
            Scenario::LoginThenList => "login_then_list",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::SlashMcp => "in-session reconnect: /mcp → Authenticate → consent; the same session must initialize and list tools",
            Scenario::LoginThenList => "mcp add → mcp list → mcp login → mcp list (stored tokens; each step a new process, not a reconnect check)",
        }
    }

    pub fn login_path(self) -> LoginPath {
        match self {
            Scenario::SlashMcp => LoginPath::SlashMcp,
            Scenario::LoginThenList => LoginPath::LoginCommand,
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|s| s.name() == name || s.name().replace('_', "-") == name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: Scenario,
    pub client: String,
    pub version: String,
    pub login_path: LoginPath,
    pub is_reconnect_check: bool,
    pub checks: Vec<Check>,
    pub auth: Option<AuthOutcome>,
    pub access_log: Vec<AccessRecord>,
    pub final_screen: String,
    pub commands: Vec<String>,
    pub duration_secs: f64,
    pub bundle: Option<PathBuf>,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Fail)
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The canonical access log, for snapshots.
    pub fn canonical_log(&self) -> String {
        timeline::canonical_text(&self.access_log)
    }

    pub fn timeline(&self) -> String {
        timeline::render_timeline(&self.access_log)
    }
}

/// Where failure bundles go: `HARNESS_ARTIFACTS_DIR`, else `target/harness-failures`.
pub fn artifacts_dir() -> PathBuf {
    std::env::var_os("HARNESS_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target"));
            target.join("harness-failures")
        })
}

/// How long the harness waits for the client to finish talking to the server after the event
/// that should trigger it.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The log counts as settled when nothing arrived for this long.
const QUIET: Duration = Duration::from_millis(1500);

struct Run<'a> {
    commands: Vec<String>,
    checks: Vec<Check>,
    auth: Option<AuthOutcome>,
    final_screen: String,
    mock: &'a dyn MockTarget,
}

/// Runs `scenario` with `client` against `mock`, in-process or in a container alike.
pub fn run(
    scenario: Scenario,
    client: &dyn ClientUnderTest,
    mock: &dyn MockTarget,
) -> ScenarioReport {
    let started = Instant::now();
    let mut run = Run {
        commands: vec![format!(
            "# the mock server this run used: {} (start one like it with: {})",
            mock.describe(),
            mock.how_to_start()
        )],
        checks: Vec::new(),
        auth: None,
        final_screen: String::new(),
        mock,
    };
    let mut sandbox = None;
    let outcome = (|| -> Result<(), DriveError> {
        let sb = Sandbox::new(scenario.name())
            .map_err(|e| DriveError::Setup(format!("sandbox: {e}")))?;
        let model =
            ModelApi::start().map_err(|e| DriveError::Setup(format!("model API stand-in: {e}")))?;
        let sb = sandbox.insert(sb);
        let env = RunEnv {
            sandbox: sb,
            model_api_url: model.uri(),
        };
        match scenario {
            Scenario::SlashMcp => slash_mcp(&mut run, client, &env),
            Scenario::LoginThenList => login_then_list(&mut run, client, &env),
        }
    })();
    if let Err(error) = outcome {
        run.checks.push(Check::fail(
            "driver",
            "the harness could not drive the client through the scenario",
            vec![error.to_string()],
        ));
    }
    let access_log = match mock.received_requests() {
        Ok(log) => log,
        Err(error) => {
            run.checks.push(Check::fail(
                "mock-access-log",
                "the harness could not read the mock server's access log",
                vec![error.to_string()],
            ));
            Vec::new()
        }
    };
    let mut report = ScenarioReport {
        scenario,
        client: client.name().to_owned(),
        version: client.version().to_owned(),
        login_path: scenario.login_path(),
        is_reconnect_check: scenario == Scenario::SlashMcp,
        checks: run.checks,
        auth: run.auth,
        access_log,
        final_screen: run.final_screen,
        commands: run.commands,
        duration_secs: started.elapsed().as_secs_f64(),
        bundle: None,
    };
    if !report.passed() {
        match write_bundle(&report, sandbox.as_mut()) {
            Ok(dir) => {
                eprintln!(
                    "harness: {} failed; bundle saved in {}",
                    scenario.name(),
                    dir.display()
                );
                report.bundle = Some(dir);
            }
            Err(e) => eprintln!("harness: could not save the failure bundle: {e}"),
        }
    }
    report
}

/// Waits until `done(log)` holds or `timeout` passes, then until the log is quiet.
fn settle(
    mock: &dyn MockTarget,
    timeout: Duration,
    done: impl Fn(&[AccessRecord]) -> bool,
) -> Result<(), DriveError> {
    let started = Instant::now();
    while started.elapsed() < timeout && !done(&mock.received_requests()?) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut last = mock.received_requests()?.len();
    let mut quiet_since = Instant::now();
    let bound = Instant::now() + Duration::from_secs(10);
    while quiet_since.elapsed() < QUIET && Instant::now() < bound {
        std::thread::sleep(Duration::from_millis(100));
        let now = mock.received_requests()?.len();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    Ok(())
}

fn slash_mcp(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<(), DriveError> {
    client.add_http_server(env, SERVER_NAME, &run.mock.mcp_url())?;
    run.commands.push(format!(
        "claude mcp add --transport http -s user {SERVER_NAME} {}",
        run.mock.mcp_url()
    ));
    let mut session = client.start_session(env)?;
    run.commands.push(
        "claude    # then: /mcp → mock → Authenticate, and open the URL it prints".to_owned(),
    );
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    let result = client.authenticate_in_session(&mut session, SERVER_NAME, &mut browser);
    // Whatever the screen said, the server's log is the judge: give the client its chance.
    let settled = settle(run.mock, RECONNECT_TIMEOUT, |log| {
        checks::tools_listed_after_token(log).verdict == Verdict::Pass
    });
    run.final_screen = session.screen();
    session.terminate();
    settled?;
    let auth = result?;
    let log = run.mock.received_requests()?;
    run.checks.extend(checks::reconnect_checks(&log));
    run.checks.push(if auth.succeeded {
        Check::pass(
            "client-reported-success",
            "the session reported the authentication as successful",
            vec![auth.client_message.clone()],
        )
    } else {
        Check::fail(
            "client-reported-success",
            "the session reported a failure",
            vec![auth.client_message.clone()],
        )
    });
    run.auth = Some(auth);
    Ok(())
}

fn status_check(name: &str, status: &ServerStatus, want_connected: bool) -> Check {
    let (ok, line) = match status {
        ServerStatus::NeedsAuth(l) => (!want_connected, l.clone()),
        ServerStatus::Connected(l) => (want_connected, l.clone()),
        ServerStatus::Failed(l) | ServerStatus::Unrecognised(l) => (false, l.clone()),
    };
    let want = if want_connected {
        "connected"
    } else {
        "needing authentication"
    };
    if ok {
        Check::pass(
            name,
            format!("`mcp list` shows the server as {want}"),
            vec![line],
        )
    } else {
        Check::fail(
            name,
            format!("`mcp list` should show the server as {want}"),
            vec![line],
        )
    }
}

fn login_then_list(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<(), DriveError> {
    if let Err(absent) = client.has_login_path(env, LoginPath::LoginCommand)? {
        run.checks.push(Check::not_applicable(
            "login-command",
            "this version has no login command",
            vec![absent.evidence],
        ));
        return Ok(());
    }
    client.add_http_server(env, SERVER_NAME, &run.mock.mcp_url())?;
    run.commands.push(format!(
        "claude mcp add --transport http -s user {SERVER_NAME} {}",
        run.mock.mcp_url()
    ));
    let before = client.server_status(env, SERVER_NAME)?;
    run.commands.push("claude mcp list".to_owned());
    run.checks
        .push(status_check("needs-auth-before-login", &before, false));
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    let (auth, screen) = client.login_command(env, SERVER_NAME, &mut browser)?;
    run.commands.push(format!(
        "claude mcp login {SERVER_NAME}    # under a terminal; open the URL it prints"
    ));
    run.final_screen = screen;
    let log = run.mock.received_requests()?;
    run.checks.push(checks::token_exchanged(&log));
    run.checks.push(if auth.succeeded {
        Check::pass(
            "login-succeeded",
            "`mcp login` reported success",
            vec![auth.client_message.clone()],
        )
    } else {
        Check::fail(
            "login-succeeded",
            "`mcp login` reported a failure",
            vec![auth.client_message.clone()],
        )
    });
    run.auth = Some(auth);
    let after = client.server_status(env, SERVER_NAME)?;
    run.commands.push("claude mcp list".to_owned());
    run.checks
        .push(status_check("connected-after-login", &after, true));
    settle(run.mock, Duration::from_secs(5), |log| {
        checks::tools_listed_after_token(log).verdict == Verdict::Pass
    })?;
    let log = run.mock.received_requests()?;
    // Stored tokens used by a new process: evidence that the tokens work, not a reconnect.
    let mut stored = checks::reinitialized_after_token(&log);
    stored.name = "stored-token-initialize".to_owned();
    stored.summary = format!(
        "(a new `mcp list` process, not a reconnect) {}",
        stored.summary
    );
    run.checks.push(stored);
    Ok(())
}

fn write_bundle(
    report: &ScenarioReport,
    sandbox: Option<&mut Sandbox>,
) -> std::io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let dir = artifacts_dir().join(format!(
        "{}-{}-{}",
        report.scenario.name(),
        report.version,
        stamp
    ));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("screen.txt"), &report.final_screen)?;
    std::fs::write(dir.join("timeline.txt"), report.timeline())?;
    std::fs::write(dir.join("access-log.canonical.txt"), report.canonical_log())?;
    let jsonl: String = report
        .access_log
        .iter()
        .filter_map(|r| serde_json::to_string(r).ok())
        .map(|l| l + "\n")
        .collect();
    std::fs::write(dir.join("access-log.jsonl"), jsonl)?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?,
    )?;
    let mut reproduce =
        String::from("#!/bin/sh\n# Commands this run performed, to reproduce it by hand.\n");
    for c in &report.commands {
        reproduce.push_str(c);
        reproduce.push('\n');
    }
    if let Some(sandbox) = sandbox {
        sandbox.keep();
        reproduce.push_str(&format!(
            "# the client's sandbox (HOME is {}/home) was kept\n",
            sandbox.root().display()
        ));
        copy_if_exists(
            &sandbox.root().join("claude-debug.log"),
            &dir.join("claude-debug.log"),
        );
    }
    std::fs::write(dir.join("reproduce.sh"), reproduce)?;
    Ok(dir)
}

fn copy_if_exists(from: &Path, to: &Path) {
    if from.is_file() {
        let _ = std::fs::copy(from, to);
    }
}
