//! The real Claude Code CLI, at the pinned version (or `CLAUDE_CODE_VERSION`), driven headlessly
//! against the mock server (in-process, or in a container with `HARNESS_MOCK=container`).

use harness::checks::{self, Verdict};
use harness::scenario::{self, Scenario, ScenarioReport};

use crate::support::{
    claude_code, real_cli_slot, show, snapshot_settings, start_mock, version_under_test,
};

/// The reported bug's place: inside one running session, after `/mcp` → Authenticate and the
/// consent, the same session must send an authenticated `initialize`, `notifications/initialized`
/// and `tools/list`.
#[test]
fn reinitializes_after_token_exchange_in_the_same_session() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code()?;
    let mock = start_mock()?;
    let report = scenario::run(Scenario::SlashMcp, &client, mock.as_ref());
    assert_reinitialized_in_the_same_session(&report);
    Ok(())
}

/// The reconnect verdicts, and the access log against the version's snapshot (the same in either
/// mock mode: the canonical log has no addresses in it).
pub fn assert_reinitialized_in_the_same_session(report: &ScenarioReport) {
    let text = show(report);
    for name in [
        checks::TOKEN_EXCHANGED,
        checks::REINITIALIZED_AFTER_TOKEN,
        checks::TOOLS_LISTED_AFTER_TOKEN,
    ] {
        let verdict = report.check(name).map(|c| c.verdict);
        assert_eq!(verdict, Some(Verdict::Pass), "check {name}:\n{text}");
    }
    assert!(report.passed(), "{text}");
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__slash_mcp__{}", version_under_test()),
            report.canonical_log()
        )
    });
}

/// `mcp add` → `mcp list` → `mcp login` → `mcp list`: the login works and a new process uses the
/// stored tokens. Each step is a fresh process, so this is not a reconnect check.
#[test]
fn login_command_stores_tokens_that_a_new_process_uses() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code()?;
    let mock = start_mock()?;
    let report = scenario::run(Scenario::LoginThenList, &client, mock.as_ref());
    assert_login_stored_tokens(&report);
    Ok(())
}

pub fn assert_login_stored_tokens(report: &ScenarioReport) {
    let text = show(report);
    assert!(!report.is_reconnect_check);
    assert!(report.passed(), "{text}");
    if report.check("login-command").map(|c| c.verdict) == Some(Verdict::NotApplicable) {
        // Earned only by the version's own help lacking the command; nothing more to compare.
        return;
    }
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!("claude_code__login_then_list__{}", version_under_test()),
            report.canonical_log()
        )
    });
}
