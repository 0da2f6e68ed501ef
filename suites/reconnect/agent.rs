//! The agent's side of a reconnect, with the scripted model: the reported bug's in-session path
//! (the authenticate pseudo-tool), the pasted-callback variant, and print mode after an in-session
//! login. Each check has a negative control below that makes it fail on purpose.

use harness::checks::model::{PSEUDO_TOOLS_WITHDRAWN, TOOLS_OFFERED_TO_MODEL, TOOL_CALL_ROUNDTRIP};
use harness::checks::{self, Verdict};
use harness::scenarios::agent::{AUTHENTICATE_TOOL_OFFERED, NEEDS_AUTH_CLEARED};
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use mock_server::MockServer;
use rstest::rstest;

use crate::support::{claude_code, real_cli_slot, show, snapshot_settings, version_under_test};

fn verdict(report: &ScenarioReport, name: &str) -> Option<Verdict> {
    report.check(name).map(|c| c.verdict)
}

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

/// The agent authenticates through the pseudo-tool; afterwards the same session must offer it
/// every tool the server lists, withdraw the pseudo-tools, and run a call end to end.
#[rstest]
#[case::localhost_callback(Scenario::AUTHENTICATE_TOOL)]
#[case::pasted_callback(Scenario::AUTHENTICATE_PASTE)]
fn the_agent_gets_the_servers_tools_after_authenticating_itself(
    #[case] scenario: Scenario,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().start_blocking()?;
    let (report, text) = run(scenario, &mock, &RunOptions::default())?;
    if verdict(&report, AUTHENTICATE_TOOL_OFFERED) == Some(Verdict::NotApplicable) {
        // Earned only from the agent's own request: no pseudo-tool while the server needed auth.
        assert!(report.passed(), "{text}");
        return Ok(());
    }
    for name in [
        checks::TOKEN_EXCHANGED,
        checks::REINITIALIZED_AFTER_TOKEN,
        checks::TOOLS_LISTED_AFTER_TOKEN,
        TOOLS_OFFERED_TO_MODEL,
        PSEUDO_TOOLS_WITHDRAWN,
        TOOL_CALL_ROUNDTRIP,
    ] {
        assert_eq!(
            verdict(&report, name),
            Some(Verdict::Pass),
            "check {name}:\n{text}"
        );
    }
    assert!(report.passed(), "{text}");
    let version = version_under_test();
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__{}__{version}", scenario.name()),
            report.canonical_log()
        );
        insta::assert_snapshot!(
            format!("claude_code__{}__model_view__{version}", scenario.name()),
            report.canonical_model_view()
        );
    });
    Ok(())
}

/// Authenticate in a session, leave, then `-p` in the same home connects with the stored token.
#[test]
fn print_mode_after_an_in_session_login_connects() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().start_blocking()?;
    let (report, text) = run(Scenario::PRINT_AFTER_AUTH, &mock, &RunOptions::default())?;
    assert!(!report.is_reconnect_check);
    assert_eq!(
        verdict(&report, NEEDS_AUTH_CLEARED),
        Some(Verdict::Pass),
        "{text}"
    );
    assert_eq!(
        verdict(&report, harness::scenarios::agent::PRINT_MODE_CONNECTS),
        Some(Verdict::Pass),
        "{text}"
    );
    assert!(report.passed(), "{text}");
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__print_after_auth__{}", version_under_test()),
            report.canonical_log()
        )
    });
    Ok(())
}

/// Negative control: a turn that expects a tool the server never lists.
#[test]
fn a_tool_the_server_does_not_list_fails_tools_offered_to_model() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().start_blocking()?;
    let options = RunOptions {
        expect_unlisted_tool: Some("not_a_tool_of_this_server".to_owned()),
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::AUTHENTICATE_TOOL, &mock, &options)?;
    if verdict(&report, AUTHENTICATE_TOOL_OFFERED) == Some(Verdict::NotApplicable) {
        return Ok(());
    }
    assert_eq!(
        verdict(&report, TOOLS_OFFERED_TO_MODEL),
        Some(Verdict::Fail),
        "{text}"
    );
    let check = report.check(TOOLS_OFFERED_TO_MODEL).expect("the check ran");
    assert!(
        check
            .evidence
            .iter()
            .any(|e| e.contains("mcp__mock__not_a_tool_of_this_server")),
        "{text}"
    );
    Ok(())
}

/// Negative control: a server that forgets every session right after issuing it, so nothing
/// after the token exchange can complete the handshake or list tools.
#[test]
fn a_server_that_drops_the_session_fails_the_reconnect_and_model_checks() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().forget_sessions().start_blocking()?;
    let (report, text) = run(Scenario::AUTHENTICATE_TOOL, &mock, &RunOptions::default())?;
    if verdict(&report, AUTHENTICATE_TOOL_OFFERED) == Some(Verdict::NotApplicable) {
        return Ok(());
    }
    assert!(!report.passed(), "{text}");
    assert_eq!(
        verdict(&report, checks::TOOLS_LISTED_AFTER_TOKEN),
        Some(Verdict::Fail),
        "{text}"
    );
    assert_ne!(
        verdict(&report, TOOL_CALL_ROUNDTRIP),
        Some(Verdict::Pass),
        "{text}"
    );
    Ok(())
}

/// Negative control: the client's needs-auth state names the server before the `-p` run.
#[test]
fn a_planted_needs_auth_entry_fails_needs_auth_cleared() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = MockServer::builder().start_blocking()?;
    let options = RunOptions {
        plant_needs_auth: true,
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::PRINT_AFTER_AUTH, &mock, &options)?;
    assert_eq!(
        verdict(&report, NEEDS_AUTH_CLEARED),
        Some(Verdict::Fail),
        "{text}"
    );
    assert!(!report.passed(), "{text}");
    Ok(())
}
