//! Scenarios: one client, one mock server, one sandbox, one story, judged by named checks.
//!
//! A driver error (a screen not recognised, a timeout, a crash) is recorded as a failing `driver`
//! check, never as "not applicable": only positive evidence that the client lacks a feature earns
//! that verdict.

pub mod agent;
pub mod lifecycle;
pub mod variants;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mock_server::model_api::{ModelApi, ModelRequest, ModelView, ScriptReport};
use mock_server::{AccessRecord, MockServer, Phase};
use serde::Serialize;

use crate::checks::timeline;
use crate::checks::{self, Check, Verdict};
use crate::clients::{
    AuthOutcome, ClientUnderTest, DriveError, LoginPath, PrintOutcome, RunEnv, ServerStatus,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::sandbox::Sandbox;
use crate::mock::MockTarget;
use crate::scenarios::lifecycle::LifecycleEvent;

/// The extra scope `scope_step_up` makes `tools/call` need.
pub const STEP_UP_SCOPE: &str = "mcp:write";

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
    /// The reported bug's path: the agent calls the authenticate pseudo-tool, consent completes
    /// through the localhost callback, and the agent must then be offered and use the tools.
    AuthenticateTool,
    /// As `AuthenticateTool`, but the callback URL is pasted back to the client (the report's way).
    AuthenticatePaste,
    /// Authenticate in a session, leave, then `-p` in the same home must connect.
    PrintAfterAuth,
    /// The access token expires mid-session; the next call must refresh and go through.
    TokenExpiry,
    /// The access token is revoked mid-session (401 invalid_token); refresh and go on.
    TokenRevoked,
    /// Two expiries in a row: the second refresh must use the rotated refresh token.
    RefreshRotation,
    /// The server forgets the session (404); the client must initialize a new one.
    SessionLost,
    /// A tool is added and announced with `notifications/tools/list_changed`.
    ToolsChanged,
    /// The server restarts and loses its state; the client must recover or say so.
    ServerRestart,
    /// `tools/call` needs a scope the token lacks (403 insufficient_scope): the client must
    /// re-authorize with it, once, and the call go through.
    ScopeStepUp,
    /// `mcp login`; the server forgets every registered client and the tokens expire; `mcp list`
    /// meets `invalid_client` at refresh; a second `mcp login` must register anew and work.
    ClientForgotten,
    /// As `ClientForgotten`, through the `/mcp` menu: authenticate in one session; the server
    /// forgets its clients and the tokens expire; a new session's `/mcp` → Authenticate must
    /// register a new client and connect.
    ClientForgottenInSession,
    /// The next authenticated MCP requests get 503: the client must retry through it or tell
    /// the agent, and the next call must work.
    TransientErrors,
    /// Every MCP response is held: the client must wait for it, and the call go through.
    SlowServer,
    /// The connection of the next authenticated MCP request is closed without a response: the
    /// client must recover or tell the agent, and the next call must work.
    DroppedConnection,
    /// As `SlashMcp`, but the first authenticated MCP request after the token exchange gets
    /// 503: the reconnect itself meets a transient error and must still happen.
    TransientErrorAtReconnect,
}

impl Scenario {
    pub const ALL: [Scenario; 18] = [
        Scenario::SlashMcp,
        Scenario::LoginThenList,
        Scenario::AuthenticateTool,
        Scenario::AuthenticatePaste,
        Scenario::PrintAfterAuth,
        Scenario::TokenExpiry,
        Scenario::TokenRevoked,
        Scenario::RefreshRotation,
        Scenario::SessionLost,
        Scenario::ToolsChanged,
        Scenario::ServerRestart,
        Scenario::ScopeStepUp,
        Scenario::ClientForgotten,
        Scenario::ClientForgottenInSession,
        Scenario::TransientErrors,
        Scenario::SlowServer,
        Scenario::DroppedConnection,
        Scenario::TransientErrorAtReconnect,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::SlashMcp => "slash_mcp",
            Scenario::LoginThenList => "login_then_list",
            Scenario::AuthenticateTool => "authenticate_tool",
            Scenario::AuthenticatePaste => "authenticate_paste",
            Scenario::PrintAfterAuth => "print_after_auth",
            Scenario::TokenExpiry => "token_expiry",
            Scenario::TokenRevoked => "token_revoked",
            Scenario::RefreshRotation => "refresh_rotation",
            Scenario::SessionLost => "session_lost",
            Scenario::ToolsChanged => "tools_changed",
            Scenario::ServerRestart => "server_restart",
            Scenario::ScopeStepUp => "scope_step_up",
            Scenario::ClientForgotten => "client_forgotten",
            Scenario::ClientForgottenInSession => "client_forgotten_in_session",
            Scenario::TransientErrors => "transient_errors",
            Scenario::SlowServer => "slow_server",
            Scenario::DroppedConnection => "dropped_connection",
            Scenario::TransientErrorAtReconnect => "transient_error_at_reconnect",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::SlashMcp => "in-session reconnect: /mcp → Authenticate → consent; the same session must initialize and list tools",
            Scenario::LoginThenList => "mcp add → mcp list → mcp login → mcp list (stored tokens; each step a new process, not a reconnect check)",
            Scenario::AuthenticateTool => "the agent calls the authenticate pseudo-tool, consent via the localhost callback; the same session must offer the server's tools to the model and run one",
            Scenario::AuthenticatePaste => "as authenticate_tool, but the callback URL is pasted back through the complete-authentication pseudo-tool (the report's way)",
            Scenario::PrintAfterAuth => "authenticate in a session, leave it, then `-p` in the same home must connect and list tools",
            Scenario::TokenExpiry => "log in via /mcp; the access token expires; the agent's next call must refresh (refresh_token grant) and go through",
            Scenario::TokenRevoked => "log in via /mcp; the access token is revoked (401 invalid_token); the agent's next call must refresh and go through",
            Scenario::RefreshRotation => "two expiries in a row, a call after each: the second refresh must not reuse the rotated refresh token",
            Scenario::SessionLost => "log in via /mcp; the server forgets the session (404); the client must initialize a new one and the call go through",
            Scenario::ToolsChanged => "log in via /mcp; a tool is added and tools/list_changed pushed; the client must list again and offer the new tool to the agent",
            Scenario::ServerRestart => "log in via /mcp; the server restarts with its state lost; the client must get going again or tell the agent authentication is needed",
            Scenario::ScopeStepUp => "log in via /mcp; tools/call answers 403 insufficient_scope naming a scope; the client must re-authorize with it once and the call go through",
            Scenario::ClientForgotten => "mcp login; the server forgets its registered clients and the tokens expire; mcp list meets invalid_client; a second mcp login must register a new client and connect",
            Scenario::ClientForgottenInSession => "as client_forgotten through the /mcp menu: authenticate in a session; the server forgets its clients, tokens expire; a new session's /mcp → Authenticate must register a new client and connect",
            Scenario::TransientErrors => "log in via /mcp; the next two authenticated MCP requests get 503; the client must retry through it or tell the agent, and the next call must work",
            Scenario::SlowServer => "log in via /mcp; every MCP response is held 2 s; the client must wait and the agent's call go through",
            Scenario::DroppedConnection => "log in via /mcp; the next authenticated MCP request's connection is closed without a response; the client must recover or tell the agent, and the next call must work",
            Scenario::TransientErrorAtReconnect => "as slash_mcp, but the first authenticated MCP request after the token exchange gets 503: the same session must still initialize and list tools",
        }
    }

    pub fn login_path(self) -> LoginPath {
        match self {
            Scenario::SlashMcp => LoginPath::SlashMcp,
            Scenario::LoginThenList | Scenario::ClientForgotten => LoginPath::LoginCommand,
            Scenario::AuthenticateTool => LoginPath::AuthenticateTool,
            Scenario::AuthenticatePaste => LoginPath::PastedCallback,
            Scenario::PrintAfterAuth
            | Scenario::TokenExpiry
            | Scenario::TokenRevoked
            | Scenario::RefreshRotation
            | Scenario::SessionLost
            | Scenario::ToolsChanged
            | Scenario::ServerRestart
            | Scenario::ScopeStepUp
            | Scenario::TransientErrors
            | Scenario::SlowServer
            | Scenario::DroppedConnection
            | Scenario::TransientErrorAtReconnect
            | Scenario::ClientForgottenInSession => LoginPath::SlashMcp,
        }
    }

    /// Whether the scenario judges a reconnect inside one running session.
    pub fn is_reconnect_check(self) -> bool {
        !matches!(
            self,
            Scenario::LoginThenList
                | Scenario::PrintAfterAuth
                | Scenario::ClientForgotten
                | Scenario::ClientForgottenInSession
        )
    }

    /// The faults the scenario's server commits (the story needs them; most need none).
    pub fn mock_faults(self) -> mock_server::Faults {
        match self {
            Scenario::ScopeStepUp => mock_server::Faults {
                tools_call_scope: Some(STEP_UP_SCOPE.to_owned()),
                ..mock_server::Faults::default()
            },
            Scenario::TransientErrorAtReconnect => mock_server::Faults {
                mcp_errors: Some(mock_server::faults::McpErrors {
                    status: 503,
                    count: 1,
                }),
                ..mock_server::Faults::default()
            },
            _ => mock_server::Faults::default(),
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
    /// What reached the model API, request by request.
    pub model_views: Vec<ModelView>,
    /// What the scripted model achieved (agent scenarios).
    pub script: Option<ScriptReport>,
    /// The print-mode run (print_after_auth).
    pub print: Option<PrintOutcome>,
    /// The discovery variant the server ran, when not the default (`harness run --discovery`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<crate::scenarios::variants::DiscoveryVariant>,
    /// The model API requests as sent (large; kept for failure bundles, not for JSON reports).
    #[serde(skip)]
    pub model_requests: Vec<ModelRequest>,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Fail)
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The scenario's name in the expectations file: `slash_mcp`, or `slash_mcp@challenge-only`
    /// on a discovery variant.
    pub fn expectation_key(&self) -> String {
        match self.discovery {
            Some(variant) => format!("{}@{}", self.scenario.name(), variant.name()),
            None => self.scenario.name().to_owned(),
        }
    }

    /// The canonical access log, for snapshots.
    pub fn canonical_log(&self) -> String {
        timeline::canonical_text(&self.access_log)
    }

    pub fn timeline(&self) -> String {
        timeline::render_timeline(&self.access_log)
    }

    /// The model's view, for snapshots.
    pub fn canonical_model_view(&self) -> String {
        crate::checks::model::canonical_model_view(&self.model_views)
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
pub(crate) const RECONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The log counts as settled when nothing arrived for this long.
const QUIET: Duration = Duration::from_millis(1500);

/// Faults the harness itself injects, for negative controls.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// A tool the scripted model also expects to be offered, though the server never lists it.
    pub expect_unlisted_tool: Option<String>,
    /// Mark the server as needing authentication in the client's state before the `-p` run.
    pub plant_needs_auth: bool,
    /// `tools_changed`: add the tool but push no `notifications/tools/list_changed`.
    pub skip_list_changed_notification: bool,
    /// `server_restart`: stop the server and leave it down.
    pub keep_server_down: bool,
    /// `session_lost`: the server goes on forgetting every new session too.
    pub keep_losing_sessions: bool,
    /// The server runs this discovery variant: judge the run by the discovery checks too. The
    /// caller starts the mock with [`crate::scenarios::variants::DiscoveryVariant::discovery`].
    pub discovery: Option<crate::scenarios::variants::DiscoveryVariant>,
    /// `transient_errors` / `dropped_connection`: the fault never ends (every later
    /// authenticated MCP request meets it), so nothing can work again.
    pub fault_never_ends: bool,
}

pub(crate) struct Run<'a> {
    pub(crate) commands: Vec<String>,
    pub(crate) checks: Vec<Check>,
    pub(crate) auth: Option<AuthOutcome>,
    pub(crate) final_screen: String,
    pub(crate) mock: &'a dyn MockTarget,
    pub(crate) print: Option<PrintOutcome>,
}

impl Run<'_> {
    /// The in-process server, for scenarios that drive its lifecycle through its API.
    pub(crate) fn in_process(&self) -> Result<&MockServer, DriveError> {
        self.mock.in_process().ok_or_else(|| {
            DriveError::Setup(
                "this scenario drives the server's lifecycle (tokens, sessions, tools, restarts) \
                 through the in-process mock's API; run it with the in-process mock"
                    .to_owned(),
            )
        })
    }
}

/// Runs `scenario` with `client` against `mock`, in-process or in a container alike.
pub fn run(
    scenario: Scenario,
    client: &dyn ClientUnderTest,
    mock: &dyn MockTarget,
) -> ScenarioReport {
    run_with(scenario, client, mock, &RunOptions::default())
}

pub fn run_with(
    scenario: Scenario,
    client: &dyn ClientUnderTest,
    mock: &dyn MockTarget,
    options: &RunOptions,
) -> ScenarioReport {
    let started = Instant::now();
    let mut run = Run {
        print: None,
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
    let mut model_api = None;
    let outcome = (|| -> Result<(), DriveError> {
        let sb = Sandbox::new(scenario.name())
            .map_err(|e| DriveError::Setup(format!("sandbox: {e}")))?;
        let model = model_api.insert(
            ModelApi::start().map_err(|e| DriveError::Setup(format!("model API stand-in: {e}")))?,
        );
        let sb = sandbox.insert(sb);
        let env = RunEnv {
            sandbox: sb,
            model_api_url: model.uri(),
        };
        match scenario {
            Scenario::SlashMcp | Scenario::TransientErrorAtReconnect => {
                slash_mcp(&mut run, client, &env)
            }
            Scenario::LoginThenList => login_then_list(&mut run, client, &env),
            Scenario::ClientForgotten => client_forgotten(&mut run, client, &env),
            Scenario::ClientForgottenInSession => {
                client_forgotten_in_session(&mut run, client, &env)
            }
            Scenario::AuthenticateTool => {
                agent::authenticate_tool(&mut run, client, &env, model, options, false)
            }
            Scenario::AuthenticatePaste => {
                agent::authenticate_tool(&mut run, client, &env, model, options, true)
            }
            Scenario::PrintAfterAuth => agent::print_after_auth(&mut run, client, &env, options),
            Scenario::TokenExpiry
            | Scenario::TokenRevoked
            | Scenario::RefreshRotation
            | Scenario::SessionLost
            | Scenario::ToolsChanged
            | Scenario::ServerRestart
            | Scenario::ScopeStepUp
            | Scenario::TransientErrors
            | Scenario::SlowServer
            | Scenario::DroppedConnection => {
                let event = match scenario {
                    Scenario::ScopeStepUp => LifecycleEvent::ScopeStepUp,
                    Scenario::TransientErrors => LifecycleEvent::TransientErrors,
                    Scenario::SlowServer => LifecycleEvent::SlowServer,
                    Scenario::DroppedConnection => LifecycleEvent::DroppedConnection,
                    Scenario::TokenExpiry => LifecycleEvent::TokenExpiry,
                    Scenario::TokenRevoked => LifecycleEvent::TokenRevoked,
                    Scenario::RefreshRotation => LifecycleEvent::RefreshRotation,
                    Scenario::SessionLost => LifecycleEvent::SessionLost,
                    Scenario::ToolsChanged => LifecycleEvent::ToolsChanged,
                    _ => LifecycleEvent::ServerRestart,
                };
                lifecycle::lifecycle(&mut run, client, &env, model, event, options)
            }
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
    if options.discovery.is_some() {
        let driven = !run
            .checks
            .iter()
            .any(|c| c.verdict == Verdict::NotApplicable);
        match mock.in_process() {
            Some(server) if driven => {
                run.checks
                    .extend(crate::checks::discovery::discovery_checks(
                        &access_log,
                        server.config(),
                    ))
            }
            Some(_) => {}
            None => run.checks.push(Check::fail(
                "discovery-variant",
                "discovery variants run on the in-process mock only (the authorization server's \
                 second origin is a second loopback listener); run with --mock in-process",
                vec![mock.describe()],
            )),
        }
    }
    let mut report = ScenarioReport {
        discovery: options.discovery,
        scenario,
        client: client.name().to_owned(),
        version: client.version().to_owned(),
        login_path: scenario.login_path(),
        is_reconnect_check: scenario.is_reconnect_check(),
        checks: run.checks,
        auth: run.auth,
        access_log,
        final_screen: run.final_screen,
        commands: run.commands,
        duration_secs: started.elapsed().as_secs_f64(),
        bundle: None,
        model_views: model_api.as_ref().map(|m| m.views()).unwrap_or_default(),
        script: model_api.as_ref().map(|m| m.script_report()),
        print: run.print,
        model_requests: model_api
            .as_ref()
            .map(|m| m.received_requests())
            .unwrap_or_default(),
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
pub(crate) fn settle(
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

/// `/mcp` → the server → Authenticate, consent through the scripted browser, then the client's
/// chance to reconnect.
pub(crate) fn slash_mcp_auth(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
    session: &mut crate::drive::terminal::TerminalSession,
) -> Result<AuthOutcome, DriveError> {
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    // Only a URL opened from now on: an earlier authentication's URL is stale.
    browser.skip_logged();
    let result = client.authenticate_in_session(session, SERVER_NAME, &mut browser);
    // Whatever the screen said, the server's log is the judge: give the client its chance.
    settle(run.mock, RECONNECT_TIMEOUT, |log| {
        checks::tools_listed_after_token(log).verdict == Verdict::Pass
    })?;
    result
}

/// Where Claude Code takes its client ID metadata document URL from, instead of its own.
pub const CLIENT_METADATA_URL_ENV: &str = "MCP_OAUTH_CLIENT_METADATA_URL";

/// Adds the run's mock server to the client's configuration; its MCP URL.
pub(crate) fn add_server(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<String, DriveError> {
    let mcp_url = run.mock.mcp_url();
    let registration = run
        .mock
        .in_process()
        .map(|m| m.config().discovery.registration);
    if registration == Some(mock_server::discovery::Registration::ClientIdMetadata) {
        // Claude Code's own document lives at claude.ai, which the mock never fetches; it takes
        // another from this variable (HTTPS with a path, or it registers instead), and the mock
        // resolves its own document URLs itself.
        if let Some(server) = run.mock.in_process() {
            let origin = server.config().authorization_server_origin().to_owned();
            let url = format!(
                "https://{}{}claude-code",
                origin.trim_start_matches("http://"),
                mock_server::discovery::CLIENT_METADATA_PATH
            );
            env.sandbox.add_env(CLIENT_METADATA_URL_ENV, &url);
            run.commands
                .push(format!("export {CLIENT_METADATA_URL_ENV}={url}"));
        }
    }
    let pre_registered = registration == Some(mock_server::discovery::Registration::PreRegistered);
    if pre_registered {
        // A fixed port, as a client must have for a redirect URI registered ahead of time; the
        // mock accepts any loopback port (RFC 8252 §7.3), so any free one will do.
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| DriveError::Setup(format!("no free port for the callback: {e}")))?
            .port();
        let client_id = mock_server::discovery::PRE_REGISTERED_CLIENT_ID;
        client.add_http_server_with_client_id(env, SERVER_NAME, &mcp_url, client_id, port)?;
        run.commands.push(format!(
            "claude mcp add --transport http -s user --client-id {client_id} --callback-port {port} {SERVER_NAME} {mcp_url}"
        ));
    } else {
        client.add_http_server(env, SERVER_NAME, &mcp_url)?;
        run.commands.push(format!(
            "claude mcp add --transport http -s user {SERVER_NAME} {mcp_url}"
        ));
    }
    Ok(mcp_url)
}

/// What the client itself said about an authentication it was driven through.
pub(crate) fn client_reported_success(auth: &AuthOutcome) -> Check {
    let evidence = vec![auth.client_message.clone()];
    if auth.succeeded {
        Check::pass(
            "client-reported-success",
            "the session reported the authentication as successful",
            evidence,
        )
    } else {
        Check::fail(
            "client-reported-success",
            "the session reported a failure",
            evidence,
        )
    }
}

pub(crate) fn slash_mcp(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<(), DriveError> {
    if login_path_absent(run, client, env, LoginPath::SlashMcp)? {
        return Ok(());
    }
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(
        "claude    # then: /mcp → mock → Authenticate, and open the URL it prints".to_owned(),
    );
    let result = slash_mcp_auth(run, client, env, &mut session);
    run.final_screen = session.screen();
    session.terminate();
    let auth = result?;
    let log = run.mock.received_requests()?;
    run.checks.extend(checks::reconnect_checks(&log));
    run.checks.push(checks::bearer_on_every_request(&log, None));
    run.checks.push(client_reported_success(&auth));
    run.auth = Some(auth);
    Ok(())
}

pub(crate) fn status_check(name: &str, status: &ServerStatus, want_connected: bool) -> Check {
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
    if login_path_absent(run, client, env, LoginPath::LoginCommand)? {
        return Ok(());
    }
    add_server(run, client, env)?;
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
    // The stored tokens, used by the processes after `mcp login`.
    run.checks.push(checks::bearer_on_every_request(&log, None));
    Ok(())
}

/// Whether this version lacks `path`; if so, the run's "not applicable" check with the
/// version's own evidence is recorded.
fn login_path_absent(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
    path: LoginPath,
) -> Result<bool, DriveError> {
    let Err(absent) = client.has_login_path(env, path)? else {
        return Ok(false);
    };
    let (name, summary) = match path {
        LoginPath::LoginCommand => ("login-command", "this version has no login command"),
        LoginPath::SlashMcp => (
            "http-transport",
            "this version cannot add an HTTP MCP server",
        ),
        other => (other.as_str(), "this version lacks this login path"),
    };
    run.checks
        .push(Check::not_applicable(name, summary, vec![absent.evidence]));
    Ok(true)
}

/// Between two logins: the server forgets its clients and the tokens expire; a new `mcp list`
/// then tries the stored tokens, refreshes, meets `invalid_client`, and must say so.
fn forget_clients_between_logins(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<(), DriveError> {
    let server = run.in_process()?;
    let forgotten = server.forget_clients();
    let expired = server.expire_access_tokens();
    run.commands.push(format!(
        "# the server forgets its {forgotten} registered client(s); {expired} access token(s) expire"
    ));
    let between = client.server_status(env, SERVER_NAME)?;
    run.commands.push("claude mcp list".to_owned());
    run.checks.push(status_check(
        "needs-auth-after-client-loss",
        &between,
        false,
    ));
    Ok(())
}

/// A login's outcome as the client reported it, as check `name`.
fn login_check(name: &str, what: &str, auth: &AuthOutcome) -> Check {
    let evidence = vec![auth.client_message.clone()];
    if auth.succeeded {
        Check::pass(name, format!("{what} reported success"), evidence)
    } else {
        Check::fail(name, format!("{what} did not report success"), evidence)
    }
}

/// Failure class 5, the other half: after `invalid_client` a client must register again rather
/// than keep presenting a client ID the server no longer knows (RFC 6749 §5.2; MCP
/// Authorization › Dynamic Client Registration). The client only learns of it at the token
/// endpoint: an authorization request with an unknown client ID ends on an error page the
/// client never sees (RFC 6749 §4.1.2.1).
fn client_forgotten(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<(), DriveError> {
    if login_path_absent(run, client, env, LoginPath::LoginCommand)? {
        return Ok(());
    }
    // Fail early, before any login, when the server cannot be driven.
    run.in_process()?;
    add_server(run, client, env)?;
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    let (first, _) = client.login_command(env, SERVER_NAME, &mut browser)?;
    run.commands.push(format!(
        "claude mcp login {SERVER_NAME}    # under a terminal; open the URL it prints"
    ));
    run.checks.push(login_check(
        "first-login-succeeded",
        "the first `mcp login`",
        &first,
    ));
    forget_clients_between_logins(run, client, env)?;
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    // The first login's URL is still in the browser's log: wait for a new one.
    browser.skip_logged();
    let second = client.login_command(env, SERVER_NAME, &mut browser);
    run.commands
        .push(format!("claude mcp login {SERVER_NAME}    # again"));
    match second {
        Ok((auth, screen)) => {
            run.final_screen = screen;
            run.checks.push(login_check(
                "second-login-succeeded",
                "the second `mcp login`",
                &auth,
            ));
            run.auth = Some(auth);
        }
        Err(error) => {
            let check = refused_client_id_reused(run, "second-login-succeeded", error)?;
            run.checks.push(check);
        }
    }
    let after = client.server_status(env, SERVER_NAME)?;
    run.commands.push("claude mcp list".to_owned());
    run.checks
        .push(status_check("connected-after-second-login", &after, true));
    let log = run.mock.received_requests()?;
    run.checks
        .push(crate::checks::discovery::registration_reused(&log));
    Ok(())
}

/// A browser stuck on the server's error page is the client's doing when the page says the
/// client ID is unknown: it sent the one the server had refused. Anything else stays a driver
/// error.
fn refused_client_id_reused(
    run: &Run<'_>,
    name: &str,
    error: DriveError,
) -> Result<Check, DriveError> {
    let log = run.mock.received_requests()?;
    let Some(refused) = log.iter().rev().find(|r| {
        r.phase == Phase::Authorization
            && r.error
                .as_deref()
                .is_some_and(|e| e.contains("invalid_client"))
    }) else {
        return Err(error);
    };
    Ok(Check::fail(
        name,
        "the client sent the browser to authorize with the client ID the server had refused \
         (invalid_client): the person sees an error page and cannot sign in",
        vec![checks::evidence_line(refused), error.to_string()],
    ))
}

/// Class 5's other half through the `/mcp` menu (see [`client_forgotten`]).
fn client_forgotten_in_session(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<(), DriveError> {
    if login_path_absent(run, client, env, LoginPath::SlashMcp)? {
        return Ok(());
    }
    run.in_process()?;
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands
        .push("claude    # /mcp → mock → Authenticate; consent; then quit".to_owned());
    let first = slash_mcp_auth(run, client, env, &mut session);
    session.terminate();
    let first = first?;
    let mut check = client_reported_success(&first);
    check.name = "first-login-succeeded".to_owned();
    run.checks.push(check);
    forget_clients_between_logins(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands
        .push("claude    # again: /mcp → mock → Authenticate".to_owned());
    let second = slash_mcp_auth(run, client, env, &mut session);
    run.final_screen = session.screen();
    session.terminate();
    match second {
        Ok(auth) => {
            let mut check = client_reported_success(&auth);
            check.name = "second-login-succeeded".to_owned();
            run.checks.push(check);
            run.auth = Some(auth);
        }
        Err(error) => {
            let check = refused_client_id_reused(run, "second-login-succeeded", error)?;
            run.checks.push(check);
        }
    }
    let log = run.mock.received_requests()?;
    run.checks
        .push(crate::checks::discovery::registration_reused(&log));
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
    std::fs::write(dir.join("model-view.txt"), report.canonical_model_view())?;
    std::fs::write(
        dir.join("model-requests.json"),
        serde_json::to_vec_pretty(&report.model_requests).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(
        dir.join("model-views.json"),
        serde_json::to_vec_pretty(&report.model_views).map_err(std::io::Error::other)?,
    )?;
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
