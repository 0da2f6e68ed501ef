//! Negative controls for the reconnect checks: the same checks the real CLI is judged by, run
//! on the access log of a stand-in client that is made to break each rule on purpose. A check
//! that passes here cannot be trusted when it passes for the CLI.

use anyhow::Context as _;
use harness::checks::{self, Check, Verdict};
use harness::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, NeedsAuthState, PrintOutcome,
    RunEnv, ServerStatus, SessionOptions,
};
use harness::drive::browser::ScriptedBrowser;
use harness::drive::terminal::TerminalSession;
use harness::scenarios::{self, Scenario};
use harness::store::package::Launch;
use harness::store::versions::InstalledVersion;
use mock_server::client::{McpSession, Misbehaviour, StandInClient};
use mock_server::MockServer;
use rstest::rstest;

fn verdicts(checks: &[Check]) -> Vec<(&str, Verdict)> {
    checks
        .iter()
        .map(|c| (c.name.as_str(), c.verdict))
        .collect()
}

#[tokio::test]
async fn a_client_that_reconnects_properly_passes_every_check() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?.run().await?;
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        verdicts(&checks),
        vec![
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::REINITIALIZED_AFTER_TOKEN, Verdict::Pass),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Pass),
        ]
    );
    Ok(())
}

/// The reported bug: tokens obtained, then silence.
#[tokio::test]
async fn a_client_that_stops_after_the_token_exchange_fails_the_reconnect_checks(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?
        .misbehave(Misbehaviour::StopAfterTokenExchange)
        .run()
        .await?;
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        verdicts(&checks),
        vec![
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::REINITIALIZED_AFTER_TOKEN, Verdict::Fail),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Fail),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_never_gets_a_token_fails_every_check() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let result = StandInClient::new(&server.mcp_url())?
        .misbehave(Misbehaviour::WrongVerifier)
        .run()
        .await;
    assert!(result.is_err(), "the mock accepted a wrong PKCE verifier");
    let checks = checks::reconnect_checks(&server.received_requests());
    assert!(
        checks.iter().all(|c| c.verdict == Verdict::Fail),
        "{checks:#?}"
    );
    Ok(())
}

/// Initialized, but the tools are never asked for: the half-reconnect.
#[tokio::test]
async fn a_client_that_initializes_but_never_lists_tools_fails_only_the_listing_check(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        verdicts(&checks),
        vec![
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::REINITIALIZED_AFTER_TOKEN, Verdict::Pass),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Fail),
        ]
    );
    Ok(())
}

/// `initialize` without the token it just got: the server refuses it, and it must not count.
#[tokio::test]
async fn an_initialize_without_the_new_token_does_not_count_as_a_reconnect() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    client.authenticate().await?;
    let refused = client.initialize("not-the-token").await;
    assert!(refused.is_err(), "the mock accepted an unknown bearer");
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        checks
            .iter()
            .find(|c| c.name == checks::REINITIALIZED_AFTER_TOKEN)
            .map(|c| c.verdict),
        Some(Verdict::Fail)
    );
    Ok(())
}

/// A `tools/list` that names a session the server never opened is refused and must not count.
#[tokio::test]
async fn tools_listed_in_an_unknown_session_do_not_count() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;
    let stale = McpSession {
        session_id: "a-session-the-server-never-opened".to_owned(),
        ..session
    };
    let refused = client.list_tools(&tokens.access_token, &stale).await;
    assert!(refused.is_err(), "the mock accepted an unknown session id");
    let checks = checks::reconnect_checks(&server.received_requests());
    let listed = checks
        .iter()
        .find(|c| c.name == checks::TOOLS_LISTED_AFTER_TOKEN)
        .map(|c| c.verdict);
    assert_eq!(listed, Some(Verdict::Fail), "{checks:#?}");
    Ok(())
}

/// A client the harness cannot drive: every interactive step times out. Such a run must fail with
/// a `driver` check and never report "not applicable", which only positive evidence earns.
struct UndrivableClient {
    install: InstalledVersion,
    /// It says it has no login path at all: every run is then not applicable, which passes.
    pathless: bool,
}

impl UndrivableClient {
    fn new() -> UndrivableClient {
        UndrivableClient {
            install: InstalledVersion::unmanaged(
                "undrivable",
                "0.0.0",
                std::env::temp_dir().join("harness-undrivable-client"),
                Launch::native("/nonexistent/undrivable".into()),
            ),
            pathless: false,
        }
    }

    fn pathless() -> UndrivableClient {
        UndrivableClient {
            pathless: true,
            ..UndrivableClient::new()
        }
    }
}

fn stuck(what: &str) -> DriveError {
    DriveError::Timeout {
        what: what.to_owned(),
        secs: 0.0,
        detail: "negative control: this client never answers".to_owned(),
    }
}

impl ClientUnderTest for UndrivableClient {
    fn name(&self) -> &'static str {
        "undrivable"
    }
    fn version(&self) -> &str {
        "0.0.0"
    }
    fn install(&self) -> &InstalledVersion {
        &self.install
    }
    fn add_http_server(&self, _: &RunEnv<'_>, _: &str, _: &str) -> Result<(), DriveError> {
        Ok(())
    }
    fn server_status(&self, _: &RunEnv<'_>, _: &str) -> Result<ServerStatus, DriveError> {
        Ok(ServerStatus::NeedsAuth(
            "mock: needs authentication".to_owned(),
        ))
    }
    fn has_login_path(
        &self,
        _: &RunEnv<'_>,
        _: LoginPath,
    ) -> Result<Result<(), Absent>, DriveError> {
        if self.pathless {
            return Ok(Err(Absent {
                evidence: "negative control: this client has no login path".to_owned(),
            }));
        }
        Err(stuck("the help text"))
    }
    fn start_session_with(
        &self,
        _: &RunEnv<'_>,
        _: &SessionOptions,
    ) -> Result<TerminalSession, DriveError> {
        Err(stuck("the first screen"))
    }
    fn send_prompt(&self, _: &mut TerminalSession, _: &str) -> Result<(), DriveError> {
        Err(stuck("the prompt"))
    }
    fn allow_pending_tool_call(
        &self,
        _: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError> {
        Ok(None)
    }
    fn exit_session(&self, _: &mut TerminalSession) -> Result<(), DriveError> {
        Ok(())
    }
    fn mcp_tool_name(&self, server: &str, tool: &str) -> String {
        format!("mcp__{server}__{tool}")
    }
    fn authenticate_tool(&self, server: &str) -> String {
        self.mcp_tool_name(server, "authenticate")
    }
    fn complete_authentication_tool(&self, server: &str) -> String {
        self.mcp_tool_name(server, "complete_authentication")
    }
    fn complete_authentication_input(&self, callback_url: &str) -> serde_json::Value {
        serde_json::json!({ "callback_url": callback_url })
    }
    fn needs_auth_state(&self, _: &RunEnv<'_>, _: &str) -> Result<NeedsAuthState, DriveError> {
        Err(stuck("the needs-auth state"))
    }
    fn plant_needs_auth(&self, _: &RunEnv<'_>, _: &str) -> Result<(), DriveError> {
        Ok(())
    }
    fn print_mode(
        &self,
        _: &RunEnv<'_>,
        _: &str,
        _: &str,
        _: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        Err(stuck("print mode"))
    }
    fn authenticate_in_session(
        &self,
        _: &mut TerminalSession,
        _: &str,
        _: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError> {
        Err(stuck("the /mcp menu"))
    }
    fn login_command(
        &self,
        _: &RunEnv<'_>,
        _: &str,
        _: &mut ScriptedBrowser,
    ) -> Result<(AuthOutcome, String), DriveError> {
        Err(stuck("the login command"))
    }
}

#[rstest]
fn a_driver_timeout_fails_the_scenario_and_is_never_not_applicable(
    #[values(
        Scenario::SLASH_MCP,
        Scenario::LOGIN_THEN_LIST,
        Scenario::AUTHENTICATE_TOOL,
        Scenario::AUTHENTICATE_PASTE,
        Scenario::PRINT_AFTER_AUTH
    )]
    scenario: Scenario,
) -> anyhow::Result<()> {
    let mock = MockServer::builder().start_blocking()?;
    let report = scenarios::run(scenario, &UndrivableClient::new(), &mock);
    assert!(!report.passed(), "{:#?}", report.checks);
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.verdict != Verdict::NotApplicable),
        "{:#?}",
        report.checks
    );
    assert_eq!(
        report.check("driver").map(|c| c.verdict),
        Some(Verdict::Fail),
        "{:#?}",
        report.checks
    );
    assert_sandbox_in_bundle_only(&report)
}

/// A failed run's sandbox (the client's config and loopback tokens) is in its failure bundle and
/// no longer in the temporary folder.
fn assert_sandbox_in_bundle_only(
    report: &harness::scenarios::ScenarioReport,
) -> anyhow::Result<()> {
    let sandbox = report
        .sandbox
        .as_ref()
        .context("the report names no sandbox")?;
    assert!(!sandbox.exists(), "{} outlived the run", sandbox.display());
    let bundle = report
        .bundle
        .as_ref()
        .context("a failed run without a bundle")?;
    assert!(bundle.join("sandbox/home").is_dir(), "{}", bundle.display());
    assert!(bundle.join("commands.sh").is_file(), "{}", bundle.display());
    std::fs::remove_dir_all(bundle)?;
    Ok(())
}

#[rstest]
fn a_run_leaves_no_sandbox_in_temp_whether_it_passes_or_fails(
    #[values(false, true)] passes: bool,
) -> anyhow::Result<()> {
    let mock = MockServer::builder().start_blocking()?;
    let report = if passes {
        scenarios::run(Scenario::SLASH_MCP, &UndrivableClient::pathless(), &mock)
    } else {
        scenarios::run(Scenario::SLASH_MCP, &UndrivableClient::new(), &mock)
    };
    assert_eq!(report.passed(), passes, "{:#?}", report.checks);
    if passes {
        let sandbox = report
            .sandbox
            .as_ref()
            .context("the report names no sandbox")?;
        assert!(!sandbox.exists(), "{} outlived the run", sandbox.display());
        assert_eq!(report.bundle, None);
        Ok(())
    } else {
        assert_sandbox_in_bundle_only(&report)
    }
}

/// Failure class 4: a client that keeps its tokens but stops sending them. The first MCP
/// request carries the bearer, the later ones do not; the server refuses them (401) and the
/// check must name them.
#[tokio::test]
async fn a_client_that_drops_the_bearer_after_its_first_request_fails_the_bearer_check(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let result = StandInClient::new(&server.mcp_url())?
        .misbehave(Misbehaviour::DropBearerAfterFirstRequest)
        .run()
        .await;
    assert_eq!(
        result.err().and_then(|e| e.status()),
        Some(401),
        "the mock accepted a request without a bearer"
    );
    let log = server.received_requests();
    let check = checks::bearer_on_every_request(&log, None);
    assert_eq!(check.verdict, Verdict::Fail, "{check:#?}");
    assert!(
        check
            .evidence
            .iter()
            .any(|e| e.contains("notifications/initialized")),
        "{check:#?}"
    );
    // The same client, well behaved, passes.
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?.run().await?;
    let check = checks::bearer_on_every_request(&server.received_requests(), None);
    assert_eq!(check.verdict, Verdict::Pass, "{check:#?}");
    Ok(())
}

/// One authorization per user action: a client that runs the whole authorization twice for one
/// login (two code exchanges) fails; the well-behaved stand-in passes.
#[tokio::test]
async fn a_client_that_authorizes_twice_for_one_login_fails_the_one_authorization_check(
) -> anyhow::Result<()> {
    use harness::checks::one_authorization::one_authorization_per_login;
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?
        .misbehave(Misbehaviour::AuthorizeTwice)
        .run()
        .await?;
    let check = one_authorization_per_login(&[], &server.received_requests());
    assert_eq!(check.verdict, Verdict::Fail, "{check:#?}");
    assert!(check.summary.contains("2 successful"), "{check:#?}");
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?.run().await?;
    let check = one_authorization_per_login(&[], &server.received_requests());
    assert_eq!(check.verdict, Verdict::Pass, "{check:#?}");
    Ok(())
}

/// After a restart that lost every token: a client that keeps calling with its dead token
/// fails `no-probing-after-token-loss`; one that meets the 401 and authorizes again passes.
#[tokio::test]
async fn a_client_that_keeps_probing_after_the_server_lost_its_tokens_fails_the_probing_check(
) -> anyhow::Result<()> {
    use harness::scenarios::lifecycle::no_probing_after_token_loss;
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let outcome = client.run().await?;
    let session = outcome.session.context("the stand-in opened a session")?;
    let lost_at = server.received_requests().last().map_or(0, |r| r.seq);
    server.restart(false)?;
    // A new connection pool: the restart closed the old one's connections.
    let mut client = StandInClient::new(&server.mcp_url())?;
    for _ in 0..6 {
        let refused = client
            .list_tools(&outcome.tokens.access_token, &session)
            .await;
        anyhow::ensure!(
            refused.as_ref().err().and_then(|e| e.status()) == Some(401),
            "the restarted mock accepted a token it forgot: {refused:?}"
        );
    }
    let check = no_probing_after_token_loss(&server.received_requests(), lost_at);
    assert_eq!(check.verdict, Verdict::Fail, "{check:#?}");
    assert!(check.summary.contains("6 requests"), "{check:#?}");

    // Found out once, then authorized again (the stand-in registers anew: the server forgot it).
    let lost_at = server.received_requests().last().map_or(0, |r| r.seq);
    server.restart(false)?;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let refused = client
        .list_tools(&outcome.tokens.access_token, &session)
        .await;
    anyhow::ensure!(refused.is_err(), "the dead token was accepted");
    client.run().await?;
    let check = no_probing_after_token_loss(&server.received_requests(), lost_at);
    assert_eq!(check.verdict, Verdict::Pass, "{check:#?}");
    Ok(())
}
