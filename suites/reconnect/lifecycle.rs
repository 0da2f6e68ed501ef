//! After the token: expiry, revocation, rotation, a lost session, a changed tool list and a
//! restarted server, each in one live session of the real CLI, with the scripted model calling a
//! tool after the event. Every check has a negative control below that makes it fail on purpose.

use harness::checks::Verdict;
use harness::lifecycle_scenarios::{
    NO_ROTATED_REFRESH_REUSE, RECOVERED_OR_TOLD_AFTER_RESTART, REFRESHED_AFTER_401,
    REINITIALIZED_AFTER_SESSION_LOSS, RELISTED_AFTER_LIST_CHANGED, SCOPE_STEPPED_UP,
};
use harness::model_checks::{TOOLS_OFFERED_TO_MODEL, TOOL_CALL_ROUNDTRIP};
use harness::scenario::{self, RunOptions, Scenario, ScenarioReport};
use mock_server::faults::RefreshError;
use mock_server::{Faults, MockServer};
use rstest::rstest;

use crate::support::{claude_code, real_cli_slot, show, snapshot_settings, version_under_test};

fn run(
    scenario: Scenario,
    mock: &MockServer,
    options: &RunOptions,
) -> anyhow::Result<(ScenarioReport, String)> {
    let client = claude_code()?;
    let report = scenario::run_with(scenario, &client, mock, options);
    let text = show(&report);
    Ok((report, text))
}

fn verdict(report: &ScenarioReport, name: &str) -> Option<Verdict> {
    report.check(name).map(|c| c.verdict)
}

#[rstest]
#[case::access_token_expires(Scenario::TokenExpiry, &[REFRESHED_AFTER_401, TOOL_CALL_ROUNDTRIP])]
#[case::access_token_revoked(Scenario::TokenRevoked, &[REFRESHED_AFTER_401, TOOL_CALL_ROUNDTRIP])]
#[case::refresh_token_rotates(
    Scenario::RefreshRotation,
    &[REFRESHED_AFTER_401, NO_ROTATED_REFRESH_REUSE, TOOL_CALL_ROUNDTRIP]
)]
#[case::session_is_lost(
    Scenario::SessionLost,
    &[REINITIALIZED_AFTER_SESSION_LOSS, TOOL_CALL_ROUNDTRIP]
)]
#[case::tool_list_changes(
    Scenario::ToolsChanged,
    &[RELISTED_AFTER_LIST_CHANGED, TOOLS_OFFERED_TO_MODEL, TOOL_CALL_ROUNDTRIP]
)]
#[case::server_restarts_without_state(Scenario::ServerRestart, &[RECOVERED_OR_TOLD_AFTER_RESTART])]
#[case::a_call_needs_more_scope(Scenario::ScopeStepUp, &[SCOPE_STEPPED_UP, TOOL_CALL_ROUNDTRIP])]
fn the_client_copes_when_after_the_login(
    #[case] scenario: Scenario,
    #[case] checks: &[&str],
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder()
        .faults(scenario.mock_faults())
        .start_blocking()?;
    let (report, text) = run(scenario, &mock, &RunOptions::default())?;
    for name in checks {
        assert_eq!(
            verdict(&report, name),
            Some(Verdict::Pass),
            "check {name}:\n{text}"
        );
    }
    assert!(report.passed(), "{text}");
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__{}__{}", scenario.name(), version_under_test()),
            report.canonical_log()
        )
    });
    Ok(())
}

/// Negative controls: the same scenarios against a server (or an event) that makes recovery
/// impossible must fail the check that judges recovery.
#[rstest]
#[case::refresh_always_refused(
    Scenario::TokenExpiry,
    Faults { refresh_error: Some(RefreshError::InvalidGrant), ..Faults::default() },
    RunOptions::default(),
    REFRESHED_AFTER_401
)]
#[case::refresh_endpoint_failing(
    Scenario::TokenRevoked,
    Faults { refresh_error: Some(RefreshError::ServerError), ..Faults::default() },
    RunOptions::default(),
    REFRESHED_AFTER_401
)]
#[case::every_new_session_is_lost_too(
    Scenario::SessionLost,
    Faults::default(),
    RunOptions { keep_losing_sessions: true, ..RunOptions::default() },
    REINITIALIZED_AFTER_SESSION_LOSS
)]
#[case::the_server_never_grants_the_scope(
    Scenario::ScopeStepUp,
    Faults { ignore_requested_scope: true, ..Scenario::ScopeStepUp.mock_faults() },
    RunOptions::default(),
    SCOPE_STEPPED_UP
)]
#[case::no_notification_for_the_new_tool(
    Scenario::ToolsChanged,
    Faults::default(),
    RunOptions { skip_list_changed_notification: true, ..RunOptions::default() },
    RELISTED_AFTER_LIST_CHANGED
)]
fn recovery_checks_fail_when_recovery_is_impossible(
    #[case] scenario: Scenario,
    #[case] faults: Faults,
    #[case] options: RunOptions,
    #[case] check: &str,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().faults(faults).start_blocking()?;
    let (report, text) = run(scenario, &mock, &options)?;
    assert_eq!(verdict(&report, check), Some(Verdict::Fail), "{text}");
    assert!(!report.passed(), "{text}");
    Ok(())
}
