//! opencode (pinned 1.18.33, or `OPENCODE_VERSION`) through every scenario, each asserting the
//! verdicts measured on 1.18.33. The session is `opencode serve` driven through the API its TUI
//! and web app use (its in-session login is `POST /mcp/<name>/auth/authenticate`, prompts are
//! `opencode run --attach`); the login command is `opencode mcp auth`. The failures asserted here
//! are opencode's own behaviour, not the harness's (each in `suites/expectations.toml` with its
//! evidence):
//!
//! - `registration-reused` (client_forgotten, client_forgotten_in_session): every login
//!   registers two clients, one when it first connects and meets the 401, one when its OAuth
//!   flow starts, while the first one is still good.
//! - `recovered-or-told-after-restart`: after the server lost everything it calls the tool
//!   without a bearer and hands the agent `Unauthorized` as a normal result.
//! - `scope-stepped-up`: after 403 `insufficient_scope` it refreshes instead of re-authorizing
//!   with the challenged scope, and gives up.
//! - `reinitialized-after-token` (transient_error_at_reconnect): one 503 for the `initialize`
//!   after the token exchange and it never initializes again.
//!
//! Two tests run by default (the in-session login and the login command with its stored
//! tokens, ~35 s); the rest are ignored (`make test-clients`, or `cargo test --test reconnect
//! opencode:: -- --include-ignored`).

use harness::checks::discovery::REGISTRATION_REUSED;
use harness::checks::model::TOOL_CALL_ROUNDTRIP;
use harness::checks::{
    Verdict, BEARER_ON_EVERY_REQUEST, REINITIALIZED_AFTER_TOKEN, TOKEN_EXCHANGED,
    TOOLS_LISTED_AFTER_TOKEN,
};
use harness::clients::opencode::{self, Opencode};
use harness::clients::ClientUnderTest;
use harness::scenarios::agent::{
    AUTHENTICATE_TOOL_OFFERED, NEEDS_AUTH_CLEARED, PRINT_MODE_CONNECTS,
};
use harness::scenarios::lifecycle::{
    RECOVERED_OR_TOLD_AFTER_RESTART, REFRESHED_AFTER_401, REINITIALIZED_AFTER_SESSION_LOSS,
    RELISTED_AFTER_LIST_CHANGED, SCOPE_STEPPED_UP,
};
use harness::scenarios::{RunOptions, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;

use crate::support::{
    assert_as_expected_and_snapshot, assert_verdicts, real_cli_slot, run_on_mock,
};

use Verdict::{Fail, NotApplicable, Pass};

/// opencode at the version under test, installed into the harness's cache on first use.
fn opencode_client() -> anyhow::Result<Opencode> {
    let version = opencode::PACKAGE.version_under_test();
    let installed = VersionStore::from_env(&opencode::PACKAGE).ensure(&version)?;
    Ok(Opencode::new(installed))
}

fn run(scenario: Scenario, options: &RunOptions) -> anyhow::Result<(ScenarioReport, String)> {
    let client = opencode_client()?;
    let (report, text) = run_on_mock(&client, scenario, options)?;
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

#[test]
fn opencode_authenticates_in_a_running_session_and_it_lists_tools() -> anyhow::Result<()> {
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
fn opencode_mcp_auth_stores_tokens_that_mcp_list_connects_with() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::LOGIN_THEN_LIST)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("needs-auth-before-login", Pass),
            (TOKEN_EXCHANGED, Pass),
            ("login-succeeded", Pass),
            ("connected-after-login", Pass),
            // `opencode mcp list` connects with the stored tokens: initialize, tools/list.
            ("stored-token-initialize", Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

/// A second `mcp auth` after the server forgot its clients registers anew and connects; but
/// each `mcp auth` registers twice (the finding in `suites/expectations.toml`).
#[test]
#[ignore = "make test-clients"]
fn a_forgotten_client_registers_again_but_every_mcp_auth_registers_twice() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::CLIENT_FORGOTTEN)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("first-login-succeeded", Pass),
            ("second-login-succeeded", Pass),
            ("connected-after-second-login", Pass),
            (REGISTRATION_REUSED, Fail),
        ],
    );
    Ok(())
}

/// opencode never logs in by itself at connect: "not applicable", with its evidence, never a
/// driver failure.
#[test]
#[ignore = "make test-clients"]
fn login_at_connect_is_not_applicable_with_the_clients_evidence() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run(Scenario::LOGIN_AT_CONNECT, &RunOptions::default())?;
    assert!(report.check("driver").is_none(), "{text}");
    assert!(
        report.checks.iter().any(|c| c.verdict == NotApplicable
            && c.evidence.iter().any(|e| e.contains("status=needs_auth"))),
        "{text}"
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn run_after_a_session_login_connects_with_the_stored_tokens() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::PRINT_AFTER_AUTH)?;
    assert_verdicts(
        &report,
        &text,
        &[(NEEDS_AUTH_CLEARED, Pass), (PRINT_MODE_CONNECTS, Pass)],
    );
    Ok(())
}

/// Negative control: with the server's stored tokens removed before `opencode run` (what
/// opencode reads as "needs authentication"), both the state check and the run must fail.
#[test]
#[ignore = "make test-clients"]
fn control_run_without_stored_tokens_fails_to_connect() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let options = RunOptions {
        plant_needs_auth: true,
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::PRINT_AFTER_AUTH, &options)?;
    assert_verdicts(
        &report,
        &text,
        &[(NEEDS_AUTH_CLEARED, Fail), (PRINT_MODE_CONNECTS, Fail)],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn an_expired_token_is_refreshed_and_the_call_retried() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOKEN_EXPIRY)?;
    assert_verdicts(
        &report,
        &text,
        &[(REFRESHED_AFTER_401, Pass), (TOOL_CALL_ROUNDTRIP, Pass)],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn a_lost_session_is_initialized_again_and_used() -> anyhow::Result<()> {
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
fn a_changed_tool_list_is_listed_again_and_offered() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOOLS_CHANGED)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (RELISTED_AFTER_LIST_CHANGED, Pass),
            (TOOL_CALL_ROUNDTRIP, Pass),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn after_a_server_restart_it_calls_without_a_bearer_and_never_says_so() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::SERVER_RESTART)?;
    assert_verdicts(&report, &text, &[(RECOVERED_OR_TOLD_AFTER_RESTART, Fail)]);
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn an_insufficient_scope_is_refreshed_not_stepped_up() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::SCOPE_STEP_UP)?;
    assert_verdicts(
        &report,
        &text,
        &[(SCOPE_STEPPED_UP, Fail), (TOOL_CALL_ROUNDTRIP, Fail)],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn one_503_at_the_reconnect_leaves_the_server_failed() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TRANSIENT_ERROR_AT_RECONNECT)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (TOKEN_EXCHANGED, Pass),
            (REINITIALIZED_AFTER_TOKEN, Fail),
            ("client-reported-success", Fail),
        ],
    );
    Ok(())
}

/// opencode offers the agent no authenticate pseudo-tool: "not applicable", with the model
/// request's tool list as the evidence.
#[test]
#[ignore = "make test-clients"]
fn the_authenticate_pseudo_tool_is_not_applicable() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run(Scenario::AUTHENTICATE_TOOL, &RunOptions::default())?;
    assert_verdicts(
        &report,
        &text,
        &[(AUTHENTICATE_TOOL_OFFERED, NotApplicable)],
    );
    Ok(())
}
