//! After the token: expiry, revocation, rotation, a lost session, a changed tool list and a
//! restarted server, each in one live session of the real CLI, with the scripted model calling a
//! tool after the event. Every check has a negative control below that makes it fail on purpose.

use harness::checks::model::{TOOLS_OFFERED_TO_MODEL, TOOL_CALL_ROUNDTRIP};
use harness::checks::Verdict;
use harness::checks::BEARER_ON_EVERY_REQUEST;
use harness::scenarios::lifecycle::{
    NO_ROTATED_REFRESH_REUSE, RECOVERED_OR_TOLD_AFTER_5XX,
    RECOVERED_OR_TOLD_AFTER_DROPPED_CONNECTION, RECOVERED_OR_TOLD_AFTER_RESTART,
    REFRESHED_AFTER_401, REINITIALIZED_AFTER_SESSION_LOSS, RELISTED_AFTER_LIST_CHANGED,
    SCOPE_STEPPED_UP, TOOL_CALL_AFTER_FAULT,
};
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use mock_server::faults::RefreshError;
use mock_server::{Faults, MockServer};
use rstest::rstest;

use crate::support::{
    assert_as_expected, claude_code, real_cli_slot, show, snapshot_settings, version_under_test,
};

fn run(
    scenario: Scenario,
    mock: &MockServer,
    options: &RunOptions,
) -> anyhow::Result<(ScenarioReport, String)> {
    let client = claude_code()?;
    let report = scenarios::run_with(scenario, &client, mock, options);
    let text = show(&report);
    Ok((report, text))
}

fn verdict(report: &ScenarioReport, name: &str) -> Option<Verdict> {
    report.check(name).map(|c| c.verdict)
}

#[rstest]
#[case::access_token_expires(Scenario::TOKEN_EXPIRY, &[REFRESHED_AFTER_401, TOOL_CALL_ROUNDTRIP])]
#[case::access_token_revoked(Scenario::TOKEN_REVOKED, &[REFRESHED_AFTER_401, TOOL_CALL_ROUNDTRIP])]
#[case::refresh_token_rotates(
    Scenario::REFRESH_ROTATION,
    &[REFRESHED_AFTER_401, NO_ROTATED_REFRESH_REUSE, TOOL_CALL_ROUNDTRIP]
)]
#[case::session_is_lost(
    Scenario::SESSION_LOST,
    &[REINITIALIZED_AFTER_SESSION_LOSS, TOOL_CALL_ROUNDTRIP]
)]
#[case::tool_list_changes(
    Scenario::TOOLS_CHANGED,
    &[RELISTED_AFTER_LIST_CHANGED, TOOLS_OFFERED_TO_MODEL, TOOL_CALL_ROUNDTRIP]
)]
#[case::server_restarts_without_state(Scenario::SERVER_RESTART, &[RECOVERED_OR_TOLD_AFTER_RESTART])]
#[case::a_call_needs_more_scope(Scenario::SCOPE_STEP_UP, &[SCOPE_STEPPED_UP, TOOL_CALL_ROUNDTRIP])]
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
    Scenario::TOKEN_EXPIRY,
    Faults { refresh_error: Some(RefreshError::InvalidGrant), ..Faults::default() },
    RunOptions::default(),
    REFRESHED_AFTER_401
)]
#[case::refresh_endpoint_failing(
    Scenario::TOKEN_REVOKED,
    Faults { refresh_error: Some(RefreshError::ServerError), ..Faults::default() },
    RunOptions::default(),
    REFRESHED_AFTER_401
)]
#[case::every_new_session_is_lost_too(
    Scenario::SESSION_LOST,
    Faults::default(),
    RunOptions { keep_losing_sessions: true, ..RunOptions::default() },
    REINITIALIZED_AFTER_SESSION_LOSS
)]
#[case::the_server_never_grants_the_scope(
    Scenario::SCOPE_STEP_UP,
    Faults { ignore_requested_scope: true, ..Scenario::SCOPE_STEP_UP.mock_faults() },
    RunOptions::default(),
    SCOPE_STEPPED_UP
)]
#[case::no_notification_for_the_new_tool(
    Scenario::TOOLS_CHANGED,
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

/// The negative control of `tool-call-after-fault` with the real CLI: the 503s never end, so the
/// second call cannot go through. Ignored to keep `make test` short (the check's unit controls in
/// `harness/src/lifecycle_scenarios.rs` run always): `cargo test --test reconnect
/// the_503s_never_end -- --ignored`. Measured on 2.1.331: fails as it must (6.8 s).
#[test]
#[ignore = "a real-CLI negative control kept out of the default run for time; see the doc comment"]
fn the_503s_never_end_so_the_call_after_the_fault_fails() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().start_blocking()?;
    let options = RunOptions {
        fault_never_ends: true,
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::TRANSIENT_ERRORS, &mock, &options)?;
    assert_eq!(
        verdict(&report, TOOL_CALL_AFTER_FAULT),
        Some(Verdict::Fail),
        "{text}"
    );
    assert!(!report.passed(), "{text}");
    Ok(())
}

/// Transport faults after the login: a few 503s, a slow server, a connection closed without a
/// response. The server commits each on purpose (the access log's `fault` says where); the checks
/// judge whether the client got through or told the agent, whether it is usable once the fault
/// has passed, and that every request after the token still carried it. What the version under
/// test does is compared with `suites/expectations.toml`: a listed failure is a finding, not a
/// pass.
#[rstest]
#[case::a_few_requests_get_503(
    Scenario::TRANSIENT_ERRORS,
    &[RECOVERED_OR_TOLD_AFTER_5XX, TOOL_CALL_AFTER_FAULT]
)]
#[case::every_response_is_slow(Scenario::SLOW_SERVER, &[TOOL_CALL_ROUNDTRIP])]
#[case::a_connection_is_dropped(
    Scenario::DROPPED_CONNECTION,
    &[RECOVERED_OR_TOLD_AFTER_DROPPED_CONNECTION, TOOL_CALL_AFTER_FAULT]
)]
fn the_client_copes_with_a_transport_fault_after_the_login(
    #[case] scenario: Scenario,
    #[case] checks: &[&str],
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().start_blocking()?;
    let (report, text) = run(scenario, &mock, &RunOptions::default())?;
    assert!(
        report.check("driver").is_none(),
        "the harness could not drive the client:\n{text}"
    );
    for name in checks.iter().chain(&[BEARER_ON_EVERY_REQUEST]) {
        assert!(
            verdict(&report, name).is_some(),
            "check {name} did not run:\n{text}"
        );
    }
    assert!(
        report.access_log.iter().any(|r| r.fault.is_some()),
        "the server never committed the fault:\n{text}"
    );
    assert_as_expected(&report, &text)?;
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__{}__{}", scenario.name(), version_under_test()),
            report.canonical_log()
        )
    });
    Ok(())
}

/// Not a test of its own: the transport faults at the reconnect itself, armed from the server's
/// start so that they hit the first authenticated requests after the token exchange (the
/// reported bug's place), in `slash_mcp`. Prints one verdict line per fault, for docs/profiles-and-faults.md:
/// `CLAUDE_CODE_VERSION=<v> cargo test --test reconnect survey_transport -- --ignored
/// --nocapture`. Nothing is asserted: MCP sets no retry rule for these, so the outcome is a
/// measurement, read with the run's evidence.
#[test]
#[ignore = "a measurement run (5 real-CLI scenarios); see the doc comment"]
fn survey_transport_faults_at_the_reconnect() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code()?;
    let faults: [(&str, Faults); 5] = [
        (
            "503x1",
            Faults {
                mcp_errors: Some(mock_server::faults::McpErrors {
                    status: 503,
                    count: 1,
                }),
                ..Faults::default()
            },
        ),
        (
            "503x3",
            Faults {
                mcp_errors: Some(mock_server::faults::McpErrors {
                    status: 503,
                    count: 3,
                }),
                ..Faults::default()
            },
        ),
        (
            "drop-connections-1",
            Faults {
                drop_connections: Some(mock_server::faults::DropConnections { count: 1 }),
                ..Faults::default()
            },
        ),
        (
            "drop-connections-3",
            Faults {
                drop_connections: Some(mock_server::faults::DropConnections { count: 3 }),
                ..Faults::default()
            },
        ),
        (
            "slow-2000ms",
            Faults {
                slow_responses_ms: Some(2000),
                ..Faults::default()
            },
        ),
    ];
    let mut lines = Vec::new();
    for (label, faults) in faults {
        let mock = MockServer::builder().faults(faults).start_blocking()?;
        let report = scenarios::run(Scenario::SLASH_MCP, &client, &mock);
        let verdicts: Vec<String> = report
            .checks
            .iter()
            .map(|c| format!("{}={}", c.name, c.verdict.as_str()))
            .collect();
        let hit: Vec<String> = report
            .access_log
            .iter()
            .filter_map(|r| {
                r.fault.as_ref().map(|f| {
                    format!(
                        "#{} {} -> {} [{f}]",
                        r.seq,
                        r.rpc_method.as_deref().unwrap_or("-"),
                        r.status
                    )
                })
            })
            .take(4)
            .collect();
        let said = report
            .check("client-reported-success")
            .map(|c| c.evidence.join(" | "))
            .unwrap_or_default();
        lines.push(format!(
            "SURVEY {} {label} slash_mcp {} [{}] hit: {} said: {said}{}",
            version_under_test(),
            if report.passed() { "PASS" } else { "FAIL" },
            verdicts.join(" "),
            hit.join("; "),
            report
                .bundle
                .as_ref()
                .map(|b| format!(" bundle={}", b.display()))
                .unwrap_or_default()
        ));
    }
    eprintln!("{}", lines.join("\n"));
    Ok(())
}
