//! GitHub Copilot CLI (pinned 1.0.102, or `COPILOT_CLI_VERSION`) through the core scenarios, each
//! asserting the verdicts measured on 1.0.102: what passes, what is not applicable (with the
//! client's own evidence), and what it gets wrong. Two tests run by default (the login at the
//! TUI's start, which is this client's own path, and the stored token's refresh after it expires
//! mid-session); the rest run with `make test-clients`
//! (`cargo test --test reconnect copilot_cli:: -- --include-ignored`).

use harness::checks::model::TOOL_CALL_ROUNDTRIP;
use harness::checks::{
    Verdict, BEARER_ON_EVERY_REQUEST, REINITIALIZED_AFTER_TOKEN, TOKEN_EXCHANGED,
    TOOLS_LISTED_AFTER_TOKEN,
};
use harness::clients::copilot_cli::{self, CopilotCli};
use harness::scenarios::agent::{
    AUTHENTICATE_TOOL_OFFERED, NEEDS_AUTH_CLEARED, PRINT_MODE_CONNECTS,
};
use harness::scenarios::lifecycle::{
    REFRESHED_AFTER_401, REINITIALIZED_AFTER_SESSION_LOSS, RELISTED_AFTER_LIST_CHANGED,
};
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;
use mock_server::MockServer;

use crate::support::{assert_as_expected, assert_verdicts, real_cli_slot, run_on_mock, show};

use Verdict::{Fail, NotApplicable, Pass};

fn client() -> anyhow::Result<CopilotCli> {
    let version = copilot_cli::PACKAGE.version_under_test();
    let installed = VersionStore::from_env(&copilot_cli::PACKAGE).ensure(&version)?;
    Ok(CopilotCli::new(installed))
}

fn run(scenario: Scenario, options: &RunOptions) -> anyhow::Result<(ScenarioReport, String)> {
    run_on_mock(&client()?, scenario, options)
}

/// A run of the scenario as it is (no harness-made fault), which must also match what
/// `suites/expectations.toml` says of this client and version. Its access log is not compared
/// with a snapshot: Copilot CLI 1.0.102's log differs from run to run in three places, every one
/// a race inside the client (seen in repeated runs, 2026-12-02): at start-up, one or two
/// unauthenticated `server/discover`s before and after the metadata; after a token, a repeated
/// `server/discover`; after a reconnect, its `tools/list` before or after the pending
/// `tools/call`. The checks judge what holds in every run; the findings' runs are committed under
/// `suites/evidence/`.
fn run_as_expected(scenario: Scenario) -> anyhow::Result<(ScenarioReport, String)> {
    let (report, text) = run(scenario, &RunOptions::default())?;
    assert_as_expected(&report, &text)?;
    Ok((report, text))
}

/// The TUI starts OAuth by itself at the 401 (no command typed), and the same process initializes
/// with the new token and lists tools.
#[test]
fn copilot_logs_in_by_itself_when_its_tui_starts_and_the_same_process_lists_tools(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::LOGIN_AT_CONNECT)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (TOKEN_EXCHANGED, Pass),
            (REINITIALIZED_AFTER_TOKEN, Pass),
            (TOOLS_LISTED_AFTER_TOKEN, Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

/// Finding (1.0.102): a `-p` run with a stored token sends its first `server/discover` without
/// the bearer (401) before it sends it with the bearer. What follows races: the run reports the
/// server `needs-auth`, then `pending`, then `connected`, and its turn may begin (the model offered
/// the tools of a cached list) and end before any `tools/list` reaches the server, so
/// `print-mode-connects` passes in some runs and fails in others
/// (`suites/evidence/copilot-cli__print_after_auth__1.0.102.txt` has one of each). Only what
/// holds in every run is asserted, and neither the expectations nor a snapshot are compared.
#[test]
#[ignore = "make test-clients"]
fn copilot_print_mode_sends_its_first_request_without_the_stored_token() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run(Scenario::PRINT_AFTER_AUTH, &RunOptions::default())?;
    assert_verdicts(
        &report,
        &text,
        &[
            (TOKEN_EXCHANGED, Pass),
            (NEEDS_AUTH_CLEARED, Pass),
            (BEARER_ON_EVERY_REQUEST, Fail),
        ],
    );
    let evidence = report
        .check(BEARER_ON_EVERY_REQUEST)
        .map(|c| c.evidence.join("\n"))
        .unwrap_or_default();
    assert!(
        evidence.contains("server/discover") && evidence.contains("-> 401"),
        "{text}"
    );
    assert!(report.check("driver").is_none(), "{text}");
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn copilot_signs_in_with_slash_mcp_auth_and_the_session_lists_tools() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::SLASH_MCP)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (TOKEN_EXCHANGED, Pass),
            (REINITIALIZED_AFTER_TOKEN, Pass),
            (TOOLS_LISTED_AFTER_TOKEN, Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
            ("client-reported-success", Pass),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn copilot_has_no_mcp_login_command() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::LOGIN_THEN_LIST)?;
    assert_verdicts(&report, &text, &[("login-command", NotApplicable)]);
    let evidence = report
        .check("login-command")
        .map(|c| c.evidence.join("\n"))
        .unwrap_or_default();
    assert!(evidence.contains("copilot mcp --help"), "{text}");
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn copilot_offers_no_authenticate_pseudo_tool() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::AUTHENTICATE_TOOL)?;
    assert_verdicts(
        &report,
        &text,
        &[(AUTHENTICATE_TOOL_OFFERED, NotApplicable)],
    );
    Ok(())
}

/// The stored token expires mid-session: the next call meets the 401, refreshes and goes through.
#[test]
fn copilot_refreshes_after_the_access_token_expires() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOKEN_EXPIRY)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (REFRESHED_AFTER_401, Pass),
            (TOOL_CALL_ROUNDTRIP, Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn copilot_opens_a_new_session_after_the_old_one_is_lost() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::SESSION_LOST)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (REINITIALIZED_AFTER_SESSION_LOSS, Pass),
            (TOOL_CALL_ROUNDTRIP, Pass),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn copilot_lists_again_after_tools_list_changed() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOOLS_CHANGED)?;
    assert_verdicts(&report, &text, &[(RELISTED_AFTER_LIST_CHANGED, Pass)]);
    Ok(())
}

/// Finding (1.0.102): with its registered client forgotten by the server (and its token
/// expired), `/mcp auth` in a new session sends the browser to authorize with the old client ID
/// (400 `invalid_client`) instead of registering again; the person cannot sign in.
#[test]
#[ignore = "make test-clients"]
fn copilot_does_not_register_again_after_its_client_is_forgotten() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::CLIENT_FORGOTTEN_IN_SESSION)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("first-login-succeeded", Pass),
            ("needs-auth-after-client-loss", Pass),
            ("second-login-succeeded", Fail),
            ("registration-reused", Fail),
        ],
    );
    Ok(())
}

/// Negative control: the stored tokens removed before the `-p` run, so the needs-auth state names
/// the server and the run cannot connect with a stored token.
#[test]
#[ignore = "make test-clients"]
fn control_without_a_stored_token_print_mode_does_not_connect() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let options = RunOptions {
        plant_needs_auth: true,
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::PRINT_AFTER_AUTH, &options)?;
    assert_eq!(
        report.check(NEEDS_AUTH_CLEARED).map(|c| c.verdict),
        Some(Fail),
        "{text}"
    );
    assert_eq!(
        report.check(PRINT_MODE_CONNECTS).map(|c| c.verdict),
        Some(Fail),
        "{text}"
    );
    Ok(())
}

/// Negative control: authorization codes that are dead on arrival (a zero lifetime), so the
/// client's token exchange after the TUI's own login is refused, no token is stored and the
/// login at start must fail (and not as a driver error).
#[test]
#[ignore = "make test-clients"]
fn control_with_dead_authorization_codes_the_login_at_start_fails() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = client()?;
    let mock = MockServer::builder()
        .code_ttl(std::time::Duration::ZERO)
        .start_blocking()?;
    let report = scenarios::run(Scenario::LOGIN_AT_CONNECT, &client, &mock);
    let text = show(&report);
    assert_eq!(
        report.check(TOKEN_EXCHANGED).map(|c| c.verdict),
        Some(Fail),
        "{text}"
    );
    assert!(report.check("driver").is_none(), "{text}");
    Ok(())
}
