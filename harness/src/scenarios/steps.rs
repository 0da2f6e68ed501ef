//! What every scenario is made of: the run being recorded ([`Run`]), what it was given
//! ([`Ctx`], [`RunOptions`]), and the steps several stories share (add the server, authenticate
//! through the `/mcp` menu, wait for the log to settle, judge what the client said).

use std::time::{Duration, Instant};

use mock_server::model_api::ModelApi;
use mock_server::{AccessRecord, MockServer, Phase};

use crate::checks::{self, Check, Verdict};
use crate::clients::{
    AuthOutcome, ClientUnderTest, DriveError, LoginPath, PrintOutcome, RunEnv, ServerStatus, Step,
};
use crate::drive::browser::ScriptedBrowser;
use crate::mock::MockTarget;
use crate::scenarios::login_state::LoginState;

/// What a scenario's story is given besides the client: the sandbox and model stand-in of the run,
/// and the faults the harness injects.
pub struct Ctx<'a> {
    pub env: &'a RunEnv<'a>,
    pub model: &'a ModelApi,
    pub options: &'a RunOptions,
}

/// The extra scope `scope_step_up` makes `tools/call` need.
pub const STEP_UP_SCOPE: &str = "mcp:write";

/// The name the mock server is registered under in the client.
pub const SERVER_NAME: &str = "mock";

/// How long the harness waits for the client to finish talking to the server after the event
/// that should trigger it.
pub(crate) const RECONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What may still reach the server once its log shows what a check needs, and so how long
/// [`settle`] goes on watching. It watches for what must *not* happen: a second `initialize`, a
/// duplicate registration, a retry storm.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Grace {
    /// The client's process has exited: what it waited for is in the log already (a request is
    /// logged before its response is written). Only a request it sent without waiting, just
    /// before it exited (a closing `DELETE` of its session, say), may still be on its way:
    /// [`IN_FLIGHT_QUIET`] of silence sees it.
    ProcessEnded,
    /// The client still runs: the log must stay silent this long ([`FOLLOW_UP_QUIET`] or
    /// [`RETRY_QUIET`]).
    Quiet(Duration),
}

/// How long the log must be silent, while a client still runs, before what it did counts as
/// over. The follow-ups a check needs to see (a racing second `initialize`, a retried call, a
/// stream reopened after a lost session) mostly come within a few hundred milliseconds, but not
/// always: tried at 400 ms (2026-12-01), three snapshots changed on a loaded two-core machine:
/// Gemini CLI 0.61.0 reopened its lost stream later than that (the 404 was missing), Claude Code
/// 2.1.81 ended that soon after connecting sent one more `initialize` while it shut down (twice),
/// and 2.1.331 got its next prompt before it had dropped the authenticate pseudo-tool. At 1.5 s,
/// what the snapshots were recorded with, the whole suite is stable.
pub(crate) const FOLLOW_UP_QUIET: Duration = Duration::from_millis(1500);

/// After a failed recovery a client may go on retrying on a timer: Codex 0.171.0 reopened its
/// stream 1.65 s after the last answer, Gemini CLI 0.61.0 1.5 s after, each time with a new round
/// of discovery and registration. A quiet longer than that cadence tells a client that stopped
/// from one that keeps trying (which then runs into [`GRACE_BOUND`], and the log shows the loop).
pub(crate) const RETRY_QUIET: Duration = Duration::from_secs(2);

/// The longest a [`Grace::Quiet`] goes on: a client that never stops talking (a storm) ends the
/// wait here, and the checks judge what it sent.
const GRACE_BOUND: Duration = Duration::from_secs(10);

/// Under [`Grace::ProcessEnded`], how long the log must be silent: a request on loopback that
/// left before the process exited arrives within milliseconds.
pub(crate) const IN_FLIGHT_QUIET: Duration = Duration::from_millis(150);

/// Under [`Grace::ProcessEnded`], the longest wait for `done`: only the log's own bookkeeping.
const PROCESS_ENDED_BOUND: Duration = Duration::from_millis(250);

/// How often the log is read while waiting.
const LOG_POLL: Duration = Duration::from_millis(20);

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
    pub discovery: Option<crate::scenarios::variants::ServerVariant>,
    /// `transient_errors` / `dropped_connection`: the fault never ends (every later
    /// authenticated MCP request meets it), so nothing can work again.
    pub fault_never_ends: bool,
    /// The login path's starting state; `None` = the scenario's default.
    pub login_state: Option<crate::scenarios::login_state::LoginState>,
}

pub struct Run<'a> {
    /// The scenario being run (a story shared by several scenarios reads its name).
    pub(crate) scenario: crate::scenarios::def::Scenario,
    /// The state the login path starts from (`add_server` primes the client when it is
    /// [`LoginState::Primed`]); cold for a scenario without the choice.
    pub(crate) login_state: LoginState,
    pub(crate) commands: Vec<String>,
    pub(crate) checks: Vec<Check>,
    pub(crate) auth: Option<AuthOutcome>,
    pub(crate) final_screen: String,
    pub(crate) mock: &'a dyn MockTarget,
    pub(crate) print: Option<PrintOutcome>,
    /// The access log of a server other than `mock` (the conformance suite's, through a recording
    /// proxy the story started), which the report takes instead of the mock's.
    pub(crate) access_log: Option<Vec<AccessRecord>>,
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

/// Waits until `done(log)` holds or `timeout` passes, then gives the client its [`Grace`].
pub(crate) fn settle(
    mock: &dyn MockTarget,
    timeout: Duration,
    grace: Grace,
    done: impl Fn(&[AccessRecord]) -> bool,
) -> Result<(), DriveError> {
    let started = Instant::now();
    let timeout = match grace {
        // Not done by now means never done; the bound only covers the log's own bookkeeping.
        Grace::ProcessEnded => timeout.min(PROCESS_ENDED_BOUND),
        Grace::Quiet(_) => timeout,
    };
    while started.elapsed() < timeout && !done(&mock.received_requests()?) {
        std::thread::sleep(LOG_POLL);
    }
    let quiet = match grace {
        Grace::ProcessEnded => IN_FLIGHT_QUIET,
        Grace::Quiet(quiet) => quiet,
    };
    let mut last = mock.received_requests()?.len();
    let mut quiet_since = Instant::now();
    let bound = Instant::now() + GRACE_BOUND;
    while quiet_since.elapsed() < quiet && Instant::now() < bound {
        std::thread::sleep(LOG_POLL);
        let now = mock.received_requests()?.len();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    Ok(())
}

/// The client's chance to reconnect after an authentication: until the log shows an
/// authenticated `tools/list` after the token (at most [`RECONNECT_TIMEOUT`]), then the quiet.
pub(crate) fn settle_reconnect(mock: &dyn MockTarget) -> Result<(), DriveError> {
    settle(
        mock,
        RECONNECT_TIMEOUT,
        Grace::Quiet(FOLLOW_UP_QUIET),
        |log| checks::tools_listed_after_token(log).verdict == Verdict::Pass,
    )
}

/// Only the quiet: nothing to wait for first, only what may still arrive.
pub(crate) fn settle_quiet(mock: &dyn MockTarget, quiet: Duration) -> Result<(), DriveError> {
    settle(mock, Duration::ZERO, Grace::Quiet(quiet), |_| true)
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
    settle_reconnect(run.mock)?;
    result
}

/// Where Claude Code takes its client ID metadata document URL from, instead of its own.
pub const CLIENT_METADATA_URL_ENV: &str = "MCP_OAUTH_CLIENT_METADATA_URL";

/// The check of the primed state's health check: the server needs authentication before the
/// login path.
pub(crate) const PRIMING_CHECK: &str = "needs-auth-before-login";

/// Adds the run's mock server to the client's configuration and, in the primed state, has the
/// client contact it once (its health check, `mcp list`: a connection attempt that meets the 401
/// and may cache what it discovered, as a user's `mcp list` or an earlier session would); its MCP
/// URL. A client without a health check cannot be primed: its `server_status` error is the
/// run's driver failure, with the client's evidence, never a silent cold run.
pub(crate) fn add_server(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
) -> Result<String, DriveError> {
    let mcp_url = add_server_only(run, client, env)?;
    if run.login_state == LoginState::Primed {
        let before = client.server_status(env, SERVER_NAME)?;
        run.commands.push(client.reproduce(Step::ServerStatus));
        run.checks.push(status_check(PRIMING_CHECK, &before, false));
    }
    Ok(mcp_url)
}

/// Adds the run's mock server to the client's configuration; its MCP URL.
fn add_server_only(
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
        run.commands.push(client.reproduce(Step::AddServer {
            server: SERVER_NAME,
            url: &mcp_url,
            client_id: Some((client_id, port)),
        }));
    } else {
        client.add_http_server(env, SERVER_NAME, &mcp_url)?;
        run.commands.push(client.reproduce(Step::AddServer {
            server: SERVER_NAME,
            url: &mcp_url,
            client_id: None,
        }));
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

/// Whether this version lacks `path`; if so, the run's "not applicable" check with the
/// version's own evidence is recorded.
pub(crate) fn login_path_absent(
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
        // The name predates clients without sessions (Claude Code before HTTP transport); the
        // evidence says which of the two it is.
        LoginPath::SlashMcp => (
            "http-transport",
            "this version cannot add an HTTP MCP server, or has no session to sign in from",
        ),
        other => (other.as_str(), "this version lacks this login path"),
    };
    run.checks
        .push(Check::not_applicable(name, summary, vec![absent.evidence]));
    Ok(true)
}

/// Between two logins: the server forgets its clients and the tokens expire; a new `mcp list`
/// then tries the stored tokens, refreshes, meets `invalid_client`, and must say so.
pub(crate) fn forget_clients_between_logins(
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
    run.commands.push(client.reproduce(Step::ServerStatus));
    run.checks.push(status_check(
        "needs-auth-after-client-loss",
        &between,
        false,
    ));
    Ok(())
}

/// A login's outcome as the client reported it, as check `name`.
pub(crate) fn login_check(name: &str, what: &str, auth: &AuthOutcome) -> Check {
    let evidence = vec![auth.client_message.clone()];
    if auth.succeeded {
        Check::pass(name, format!("{what} reported success"), evidence)
    } else {
        Check::fail(name, format!("{what} did not report success"), evidence)
    }
}

/// A browser stuck on the server's error page is the client's doing when the page says the
/// client ID is unknown: it sent the one the server had refused. Anything else stays a driver
/// error.
pub(crate) fn refused_client_id_reused(
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
