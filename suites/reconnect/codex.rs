//! The real Codex CLI (the pinned version, or `CODEX_VERSION`), driven headlessly against the
//! mock server: each core scenario's verdicts as measured on 0.171.0. The failures asserted here
//! are Codex's own behaviour, not the harness's:
//!
//! - `bearer-on-every-request`: before connecting with its new token Codex probes the server
//!   with an unauthenticated `GET /` (401), after every login and on a lost session.
//! - `stored-token-initialize` (login_then_list): `codex mcp list` reports stored tokens
//!   (`Auth: OAuth`) without connecting to the server.
//! - `relisted-after-list-changed`: Codex does not list tools again after
//!   `notifications/tools/list_changed`, so the added tool never reaches the model.

use harness::checks::{self, Verdict};
use harness::clients::codex::{self, Codex};
use harness::clients::ClientUnderTest;
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;
use mock_server::discovery::{AuthorizationResponseIss, Discovery};
use mock_server::MockServer;

use crate::support::{
    assert_as_expected_and_snapshot, assert_verdicts, real_cli_slot, show, start_mock,
};

/// Codex at the version under test, installed into the harness's cache on first use.
fn codex_client() -> anyhow::Result<Codex> {
    let version = codex::PACKAGE.version_under_test();
    let installed = VersionStore::from_env(&codex::PACKAGE).ensure(&version)?;
    Ok(Codex::new(installed))
}

fn run(scenario: Scenario, options: &RunOptions) -> anyhow::Result<(ScenarioReport, String)> {
    let client = codex_client()?;
    let mock = start_mock()?;
    let report = scenarios::run_with(scenario, &client, mock.as_ref(), options);
    let text = show(&report);
    assert_eq!(report.client, client.name());
    Ok((report, text))
}

/// A run of the scenario as it is (no harness-made fault), which must also match what
/// `suites/expectations.toml` says of this client and version, and whose access log must match
/// the version's snapshot.
fn run_as_expected(scenario: Scenario) -> anyhow::Result<(ScenarioReport, String)> {
    let (report, text) = run(scenario, &RunOptions::default())?;
    assert_as_expected_and_snapshot(&report, &text)?;
    Ok((report, text))
}

const PASS: Verdict = Verdict::Pass;
const FAIL: Verdict = Verdict::Fail;

#[test]
fn slash_mcp_login_reconnects_in_the_same_session() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::SLASH_MCP)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (checks::TOKEN_EXCHANGED, PASS),
            (checks::REINITIALIZED_AFTER_TOKEN, PASS),
            (checks::TOOLS_LISTED_AFTER_TOKEN, PASS),
            ("client-reported-success", PASS),
            // The unauthenticated `GET /` probe after the token exchange.
            (checks::BEARER_ON_EVERY_REQUEST, FAIL),
        ],
    );
    Ok(())
}

#[test]
fn mcp_login_stores_tokens_that_mcp_list_reports() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::LOGIN_THEN_LIST)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("needs-auth-before-login", PASS),
            (checks::TOKEN_EXCHANGED, PASS),
            ("login-succeeded", PASS),
            ("connected-after-login", PASS),
            // `codex mcp list` does not connect with the stored tokens.
            ("stored-token-initialize", FAIL),
        ],
    );
    Ok(())
}

#[test]
fn an_expired_token_is_refreshed_and_the_call_retried() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOKEN_EXPIRY)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::lifecycle::REFRESHED_AFTER_401, PASS),
            (checks::model::TOOL_CALL_ROUNDTRIP, PASS),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn a_revoked_token_is_refreshed_and_the_call_retried() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOKEN_REVOKED)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::lifecycle::REFRESHED_AFTER_401, PASS),
            (checks::model::TOOL_CALL_ROUNDTRIP, PASS),
        ],
    );
    Ok(())
}

#[test]
fn a_lost_session_is_initialized_again_and_used() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::SESSION_LOST)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::lifecycle::REINITIALIZED_AFTER_SESSION_LOSS, PASS),
            (checks::model::TOOL_CALL_ROUNDTRIP, PASS),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn each_refresh_uses_the_rotated_refresh_token() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::REFRESH_ROTATION)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::lifecycle::REFRESHED_AFTER_401, PASS),
            (scenarios::lifecycle::NO_ROTATED_REFRESH_REUSE, PASS),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn two_503s_are_retried_through_and_the_next_call_works() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TRANSIENT_ERRORS)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::lifecycle::RECOVERED_OR_TOLD_AFTER_5XX, PASS),
            (scenarios::lifecycle::TOOL_CALL_AFTER_FAULT, PASS),
        ],
    );
    Ok(())
}

/// Codex receives the notification (its log, `$CODEX_HOME/logs_2.sqlite`, says "MCP server tool
/// list changed") but does not list tools again: the added tool never reaches the model.
#[test]
#[ignore = "make test-clients"]
fn a_changed_tool_list_is_not_listed_again() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOOLS_CHANGED)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::lifecycle::RELISTED_AFTER_LIST_CHANGED, FAIL),
            (checks::model::TOOLS_OFFERED_TO_MODEL, FAIL),
        ],
    );
    Ok(())
}

/// Not applicable, with the model request's tool list as evidence: never a driver failure.
#[test]
fn the_authenticate_pseudo_tool_is_not_applicable() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::AUTHENTICATE_TOOL)?;
    assert_verdicts(
        &report,
        &text,
        &[(
            scenarios::agent::AUTHENTICATE_TOOL_OFFERED,
            Verdict::NotApplicable,
        )],
    );
    let evidence = report
        .check(scenarios::agent::AUTHENTICATE_TOOL_OFFERED)
        .map(|c| c.evidence.join("\n"))
        .unwrap_or_default();
    assert!(evidence.contains("model request #"), "{text}");
    Ok(())
}

/// A version without `/mcp login` is "not applicable" for the in-session login, with the
/// binary's evidence, never a driver failure.
#[test]
#[ignore = "make test-clients"]
fn a_version_without_mcp_login_is_not_applicable_in_session() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let installed = VersionStore::from_env(&codex::PACKAGE).ensure("0.146.1")?;
    let client = Codex::new(installed);
    let mock = start_mock()?;
    let report = scenarios::run(Scenario::SLASH_MCP, &client, mock.as_ref());
    let text = show(&report);
    assert!(report.check("driver").is_none(), "{text}");
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.verdict == Verdict::NotApplicable
                && c.evidence.iter().any(|e| e.contains("/mcp login <name>"))),
        "{text}"
    );
    Ok(())
}

#[test]
fn exec_after_a_session_login_connects_with_the_stored_tokens() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::PRINT_AFTER_AUTH)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::agent::NEEDS_AUTH_CLEARED, PASS),
            (scenarios::agent::PRINT_MODE_CONNECTS, PASS),
        ],
    );
    Ok(())
}

/// Negative control: with the server's stored tokens removed before `codex exec` (Codex's
/// "needs login" state), both the state check and the exec run must fail.
#[test]
fn control_exec_without_stored_tokens_fails_to_connect() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let options = RunOptions {
        plant_needs_auth: true,
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::PRINT_AFTER_AUTH, &options)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (scenarios::agent::NEEDS_AUTH_CLEARED, FAIL),
            (scenarios::agent::PRINT_MODE_CONNECTS, FAIL),
        ],
    );
    Ok(())
}

/// The bisected regression's bad side: 0.146.1 does not refresh on a 401 mid-session (fixed in
/// 0.147.0: `HARNESS_CODEX_LOGIN_RESTART=1 harness --client codex bisect --scenario token_expiry
/// --check refreshed-after-401 --good 0.171.0 --bad 0.146.1 --find-fix`, measured against a mock
/// without RFC 9207 `iss`). It has no `/mcp login`: the driver signs in with `codex mcp login`
/// and starts the session again. The mock sends no `iss`, which 0.146.1 cannot take (below).
#[test]
#[ignore = "make test-clients"]
fn control_0_146_1_does_not_refresh_after_a_401() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let installed = VersionStore::from_env(&codex::PACKAGE).ensure("0.146.1")?;
    let client = Codex::with_login_restart(installed);
    let mock = MockServer::builder()
        .discovery(Discovery {
            authorization_response_iss: AuthorizationResponseIss::Omitted,
            ..Discovery::default()
        })
        .start_blocking()?;
    let report = scenarios::run(Scenario::TOKEN_EXPIRY, &client, &mock);
    let text = show(&report);
    assert_verdicts(
        &report,
        &text,
        &[(scenarios::lifecycle::REFRESHED_AFTER_401, FAIL)],
    );
    Ok(())
}

/// 0.143.0 to 0.146.1 refuse the authorization response of a server that advertises and sends
/// RFC 9207 `iss` ("Authorization server response missing required issuer", though the callback
/// carries it): `codex mcp login` fails with "failed to handle OAuth callback". 0.142.5 and
/// 0.147.0 take it (`harness --client codex bisect --scenario login_then_list --check
/// login-succeeded --good 0.135.0 --bad 0.146.1`).
#[test]
#[ignore = "make test-clients"]
fn codex_0_146_1_refuses_an_authorization_response_with_iss() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let installed = VersionStore::from_env(&codex::PACKAGE).ensure("0.146.1")?;
    let client = Codex::new(installed);
    let mock = start_mock()?;
    let report = scenarios::run(Scenario::LOGIN_THEN_LIST, &client, mock.as_ref());
    let text = show(&report);
    assert_verdicts(
        &report,
        &text,
        &[("login-succeeded", FAIL), (checks::TOKEN_EXCHANGED, FAIL)],
    );
    let said = report
        .check("login-succeeded")
        .map(|c| c.evidence.join("\n"))
        .unwrap_or_default();
    assert!(said.contains("failed to handle OAuth callback"), "{text}");
    Ok(())
}
