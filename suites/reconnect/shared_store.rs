//! Failure classes 3 and 4 (Step 16): processes of one client sharing one credential store.
//! `headless_then_session`: tokens a headless login stored are used by an interactive session in
//! the same home, and a needs-auth mark the headless run left does not hold the session back.
//! The checks' negative controls are unit tests over hand-made logs
//! (`scenarios::headless_then_session::tests`) and, here, a needs-auth mark planted before the
//! session. `shared_store_refresh_race` (class 3): two sessions on one store race to refresh;
//! its checks' controls are unit tests (`scenarios::shared_store_refresh_race::tests`) and the
//! lifecycle's own for the waste checks it reuses. The real clients run in `make test-clients` (known failures in the expectations file).

use harness::checks::Verdict;
use harness::scenarios::headless_then_session::{SESSION_LISTED_TOOLS, SESSION_USED_STORED_TOKEN};
use harness::scenarios::lifecycle::{NO_REFRESH_STORM, NO_ROTATED_REFRESH_REUSE};
use harness::scenarios::shared_store_refresh_race::{
    BOTH_CALLS_SUCCEEDED, RACE_WITHOUT_NEW_LOGIN, STORE_NOT_WIPED,
};
use harness::scenarios::stored_token_rerun::STORED_TOKEN_REUSED;
use harness::scenarios::{RunOptions, Scenario};
use rstest::rstest;

use crate::support::{assert_as_expected, pinned_client, real_cli_slot, run_on_mock};

#[rstest]
#[ignore = "make test-clients"]
fn shared_store_real_clients_use_a_headless_login_in_a_later_session(
    #[values("claude-code", "codex", "gemini-cli", "qwen-code", "opencode")] client: &str,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::HEADLESS_THEN_SESSION,
        &RunOptions::default(),
    )?;
    let not_applicable = report
        .checks
        .iter()
        .any(|c| c.verdict == Verdict::NotApplicable);
    if !not_applicable && report.check("driver").is_none() {
        for name in [
            SESSION_USED_STORED_TOKEN,
            SESSION_LISTED_TOOLS,
            STORED_TOKEN_REUSED,
        ] {
            anyhow::ensure!(
                report.check(name).is_some(),
                "{name} was not judged:\n{text}"
            );
        }
    }
    assert_as_expected(&report, &text)?;
    Ok(())
}

/// Negative control of the poison half on Claude Code 2.1.331: the needs-auth cache is made to
/// name the server after the login, before the session (the mark a headless run that met the 401
/// leaves, which this version's own login clears). Measured 2026-12-02: with the mark, the session
/// sends no MCP request at all in 20 s although its tokens are valid (`mcp list` afterwards
/// connects with them), so both session checks fail: the mark poisons the session.
#[test]
#[ignore = "make test-clients"]
fn shared_store_a_planted_needs_auth_mark_holds_the_claude_code_session_back_and_fails_both_session_checks(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client("claude-code")?;
    let options = RunOptions {
        plant_needs_auth: true,
        ..RunOptions::default()
    };
    let (report, text) = run_on_mock(driver.as_ref(), Scenario::HEADLESS_THEN_SESSION, &options)?;
    for name in [SESSION_USED_STORED_TOKEN, SESSION_LISTED_TOOLS] {
        anyhow::ensure!(
            report.check(name).map(|c| c.verdict) == Some(Verdict::Fail),
            "{name} did not fail with the planted mark:\n{text}"
        );
    }
    anyhow::ensure!(!report.passed(), "{text}");
    Ok(())
}

/// `shared_store_refresh_race`: two sessions on one store through two expiries (rotating refresh
/// tokens, a reused one refused), then a fresh headless process. Needs two interactive sessions
/// and the login command; a client without the login command earns "not applicable". opencode
/// 1.18.33 is left out: on 2026-12-02 both sessions' calls reached the server through one MCP
/// session (the second TUI's prompt was not seen to start its own call), which the driver cannot
/// yet tell from the client's doing.
#[rstest]
#[ignore = "make test-clients"]
fn shared_store_real_clients_survive_a_refresh_race_between_two_sessions(
    #[values("claude-code", "codex")] client: &str,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::SHARED_STORE_REFRESH_RACE,
        &RunOptions::default(),
    )?;
    anyhow::ensure!(
        report.check("driver").is_none(),
        "the race could not be driven:\n{text}"
    );
    {
        for name in [
            BOTH_CALLS_SUCCEEDED,
            RACE_WITHOUT_NEW_LOGIN,
            STORE_NOT_WIPED,
            NO_ROTATED_REFRESH_REUSE,
            NO_REFRESH_STORM,
        ] {
            anyhow::ensure!(
                report.check(name).is_some(),
                "{name} was not judged:\n{text}"
            );
        }
    }
    // Claude Code 2.1.331's outcome depends on how close the two 401s fall (measured 2026-12-02:
    // of 7 runs, 5 pass, 1 wastes a refresh (4 grants), 1 loses the race: invalid_grant, a failed call, a
    // needs-auth mark that holds the next process back; evidence in
    // suites/evidence/claude_code__shared_store_refresh_race__2.1.331.txt). The expectations file
    // keys verdicts, not odds, so for it only the race's own checks may fail, never the login.
    if client == "claude-code" {
        for check in &report.checks {
            anyhow::ensure!(
                check.verdict != Verdict::Fail
                    || [
                        BOTH_CALLS_SUCCEEDED,
                        STORE_NOT_WIPED,
                        NO_ROTATED_REFRESH_REUSE,
                        NO_REFRESH_STORM
                    ]
                    .contains(&check.name.as_str()),
                "{} failed, outside the race:\n{text}",
                check.name
            );
        }
        return Ok(());
    }
    assert_as_expected(&report, &text)?;
    Ok(())
}
