//! `resumed_after_expiry` (tokens surviving a restart): sign in in a session and leave; the
//! access tokens expire as if hours had passed; a new headless run must refresh and connect
//! without a new authorization. Claude Code's pinned version in `make test`, the other clients in
//! `make test-clients`; known failures in the expectations file.

use harness::checks::Verdict;
use harness::scenarios::lifecycle::REFRESHED_AFTER_401;
use harness::scenarios::stored_token_rerun::STORED_TOKEN_REUSED;
use harness::scenarios::Scenario;
use rstest::rstest;

use crate::support::{assert_as_expected_and_snapshot, pinned_client, real_cli_slot, run_on_mock};

fn run_resumed(client: &str) -> anyhow::Result<harness::scenarios::ScenarioReport> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::RESUMED_AFTER_EXPIRY,
        &Default::default(),
    )?;
    for check in [REFRESHED_AFTER_401, STORED_TOKEN_REUSED] {
        anyhow::ensure!(
            report.check(check).is_some(),
            "{check} did not run:\n{text}"
        );
    }
    assert_as_expected_and_snapshot(&report, &text)?;
    Ok(report)
}

#[test]
fn claude_code_refreshes_the_morning_after_instead_of_asking_again() -> anyhow::Result<()> {
    let report = run_resumed("claude-code")?;
    assert_eq!(
        report.check(REFRESHED_AFTER_401).map(|c| c.verdict),
        Some(Verdict::Pass)
    );
    Ok(())
}

#[rstest]
#[ignore = "make test-clients"]
fn the_other_clients_the_morning_after(
    #[values("codex", "gemini-cli")] client: &str,
) -> anyhow::Result<()> {
    run_resumed(client).map(|_| ())
}
