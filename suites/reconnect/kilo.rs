//! Kilo (`@kilocode/cli`, pinned 7.7.7, or `KILO_VERSION`), opencode's fork, driven by opencode's
//! driver with Kilo's names (`kilo mcp auth`, `kilo serve`, `~/.config/kilo/kilo.json`,
//! `KILO_*`). Both tests are ignored (`make test-clients`, or `cargo test --test reconnect
//! kilo:: -- --include-ignored`): the default run covers the shared driver through opencode.

use harness::checks::{
    Verdict, BEARER_ON_EVERY_REQUEST, REINITIALIZED_AFTER_TOKEN, TOKEN_EXCHANGED,
    TOOLS_LISTED_AFTER_TOKEN,
};
use harness::clients::kilo;
use harness::clients::ClientUnderTest;
use harness::scenarios::{self, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;

use crate::support::{
    assert_as_expected_and_snapshot, assert_verdicts, real_cli_slot, show, start_mock,
};

use Verdict::Pass;

/// A run of the scenario on Kilo at the version under test, matched with the expectations file
/// and the version's snapshot.
fn run_as_expected(scenario: Scenario) -> anyhow::Result<(ScenarioReport, String)> {
    let version = kilo::PACKAGE.version_under_test();
    let installed = VersionStore::from_env(&kilo::PACKAGE).ensure(&version)?;
    let client = kilo::kilo(installed);
    let mock = start_mock()?;
    let report = scenarios::run(scenario, &client, mock.as_ref());
    let text = show(&report);
    assert_eq!(report.client, client.name());
    assert_as_expected_and_snapshot(&report, &text)?;
    Ok((report, text))
}

#[test]
#[ignore = "make test-clients"]
fn kilo_mcp_auth_stores_tokens_that_mcp_list_connects_with() -> anyhow::Result<()> {
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
            ("stored-token-initialize", Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn kilo_authenticates_in_a_running_session_and_it_lists_tools() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run_as_expected(Scenario::SLASH_MCP)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (TOKEN_EXCHANGED, Pass),
            (REINITIALIZED_AFTER_TOKEN, Pass),
            (TOOLS_LISTED_AFTER_TOKEN, Pass),
            ("client-reported-success", Pass),
        ],
    );
    Ok(())
}
