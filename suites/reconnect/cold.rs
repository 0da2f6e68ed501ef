//! The login command from the cold state (`login_cold`: nothing contacted the server before the
//! login), against its primed twin `login_then_list` (which lists first). Claude Code's pinned
//! version in `make test`, Codex in `make test-clients`; known failures in the expectations file.

use harness::scenarios::Scenario;
use rstest::rstest;

use crate::support::{
    assert_as_expected_and_snapshot, pinned_client, real_cli_slot, run_on_mock, show,
};

fn run_cold(client: &str) -> anyhow::Result<harness::scenarios::ScenarioReport> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let (report, text) = run_on_mock(driver.as_ref(), Scenario::LOGIN_COLD, &Default::default())?;
    // Cold: the login command is the first process to contact the server.
    anyhow::ensure!(
        report.check("needs-auth-before-login").is_none(),
        "the cold state listed first:\n{text}"
    );
    assert_as_expected_and_snapshot(&report, &text)?;
    Ok(report)
}

#[test]
fn claude_code_logs_in_from_the_cold_state() -> anyhow::Result<()> {
    let report = run_cold("claude-code")?;
    assert!(report.passed(), "{}", show(&report));
    Ok(())
}

#[rstest]
#[ignore = "make test-clients"]
fn the_other_clients_log_in_from_the_cold_state(
    #[values("codex")] client: &str,
) -> anyhow::Result<()> {
    run_cold(client).map(|_| ())
}
