//! Qwen Code (pinned 0.24.4, or `QWEN_CODE_VERSION`) through the scenarios that apply to it, each
//! asserting the verdicts measured on 0.24.4. Two run by default (the `/mcp` dialog's login and
//! the headless run with the stored token); the rest with `make test-clients`
//! (`cargo test --test reconnect qwen_code:: -- --include-ignored`).
//!
//! Its model sees the server's tools only as deferred tools behind `tool_search` / `tool_call`;
//! the scripted model searches and then calls through `tool_call`, so the model-side checks read
//! that shape.

use harness::checks::model::{TOOLS_OFFERED_TO_MODEL, TOOL_CALL_ROUNDTRIP};
use harness::checks::{
    Verdict, BEARER_ON_EVERY_REQUEST, REINITIALIZED_AFTER_TOKEN, TOKEN_EXCHANGED,
    TOOLS_LISTED_AFTER_TOKEN,
};
use harness::clients::qwen_code::{self, QwenCode};
use harness::scenarios::agent::{
    AUTHENTICATE_TOOL_OFFERED, NEEDS_AUTH_CLEARED, PRINT_MODE_CONNECTS,
};
use harness::scenarios::lifecycle::{
    REFRESHED_AFTER_401, REINITIALIZED_AFTER_SESSION_LOSS, RELISTED_AFTER_LIST_CHANGED,
};
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;
use mock_server::MockServer;

use crate::support::{assert_as_expected_and_snapshot, assert_verdicts, real_cli_slot, show};

use Verdict::{Fail, NotApplicable, Pass};

fn run(scenario: Scenario, options: &RunOptions) -> anyhow::Result<(ScenarioReport, String)> {
    let version = qwen_code::PACKAGE.version_under_test();
    let installed = VersionStore::from_env(&qwen_code::PACKAGE).ensure(&version)?;
    let client = QwenCode::new(installed);
    let mock = MockServer::builder()
        .faults(scenario.mock_faults())
        .start_blocking()?;
    let report = scenarios::run_with(scenario, &client, &mock, options);
    let text = show(&report);
    Ok((report, text))
}

/// A run of the scenario as it is, which must also match what `suites/expectations.toml` says of
/// this client and version, and whose access log must match the version's snapshot.
fn run_as_expected(scenario: Scenario) -> anyhow::Result<(ScenarioReport, String)> {
    let (report, text) = run(scenario, &RunOptions::default())?;
    assert_as_expected_and_snapshot(&report, &text)?;
    Ok((report, text))
}

#[test]
fn qwen_signs_in_through_the_mcp_dialog_and_the_session_lists_tools() -> anyhow::Result<()> {
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
    let said = report
        .check("client-reported-success")
        .map(|c| c.evidence.join("\n"))
        .unwrap_or_default();
    assert!(said.contains("Discovered 5 tool(s) from 'mock'"), "{text}");
    Ok(())
}

#[test]
fn qwen_print_mode_uses_the_stored_token() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::PRINT_AFTER_AUTH)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (NEEDS_AUTH_CLEARED, Pass),
            (PRINT_MODE_CONNECTS, Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn qwen_has_no_login_command() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::LOGIN_THEN_LIST)?;
    assert_verdicts(&report, &text, &[("login-command", NotApplicable)]);
    let evidence = report
        .check("login-command")
        .map(|c| c.evidence.join("\n"))
        .unwrap_or_default();
    assert!(evidence.contains("qwen mcp list"), "{text}");
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn qwen_offers_no_authenticate_pseudo_tool() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::AUTHENTICATE_TOOL)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("needs-auth-before-login", Pass),
            (AUTHENTICATE_TOOL_OFFERED, NotApplicable),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn qwen_does_not_log_in_by_itself_in_a_headless_run() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::LOGIN_AT_CONNECT)?;
    assert_verdicts(&report, &text, &[("automatic-at-connect", NotApplicable)]);
    Ok(())
}

/// Finding (0.24.4): after a 401 mid-session Qwen Code does not use its refresh token; the call
/// fails with the server's 401 and the model is handed the error.
#[test]
#[ignore = "make test-clients"]
fn qwen_does_not_refresh_after_the_access_token_expires() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOKEN_EXPIRY)?;
    assert_verdicts(
        &report,
        &text,
        &[(REFRESHED_AFTER_401, Fail), (TOOL_CALL_ROUNDTRIP, Fail)],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn qwen_does_not_refresh_after_the_access_token_is_revoked() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOKEN_REVOKED)?;
    assert_verdicts(
        &report,
        &text,
        &[(REFRESHED_AFTER_401, Fail), (TOOL_CALL_ROUNDTRIP, Fail)],
    );
    // The call went through the bridge: the error reached the model as mcp__mock__hello's result.
    let evidence = report
        .check(TOOL_CALL_ROUNDTRIP)
        .map(|c| c.evidence.join("\n"))
        .unwrap_or_default();
    assert!(
        evidence.contains("result of mcp__mock__hello") && evidence.contains("revoked"),
        "{text}"
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn qwen_opens_a_new_session_after_the_old_one_is_lost() -> anyhow::Result<()> {
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

/// Negative control: the server keeps losing the session, so no call after the loss can go
/// through and the round trip must fail.
#[test]
#[ignore = "make test-clients"]
fn when_every_new_session_is_lost_too_the_call_fails() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let options = RunOptions {
        keep_losing_sessions: true,
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::SESSION_LOST, &options)?;
    assert_eq!(
        report.check(TOOL_CALL_ROUNDTRIP).map(|c| c.verdict),
        Some(Fail),
        "{text}"
    );
    assert!(!report.passed(), "{text}");
    Ok(())
}

/// Negative control: the stored token removed before the `-p` run, so the run connects no
/// server and the print-mode check fails.
#[test]
#[ignore = "make test-clients"]
fn without_a_stored_token_print_mode_does_not_connect() -> anyhow::Result<()> {
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

#[test]
#[ignore = "make test-clients"]
fn qwen_after_tools_list_changed() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::TOOLS_CHANGED)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (RELISTED_AFTER_LIST_CHANGED, Pass),
            (TOOLS_OFFERED_TO_MODEL, Pass),
            (TOOL_CALL_ROUNDTRIP, Pass),
        ],
    );
    Ok(())
}
