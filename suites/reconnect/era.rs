//! The agent and lifecycle scenarios on the `cli.js`-era version, judged against
//! `suites/expectations.toml`: the failures it lists (with evidence) are expected, anything else
//! — a new failure, or a listed failure that now passes — fails the test and says which.

use harness::scenarios::{self, Scenario};
use mock_server::MockServer;
use rstest::rstest;

use crate::support::{assert_as_expected, claude_code_at, real_cli_slot, show, CLI_JS_ERA_VERSION};

#[rstest]
fn the_cli_js_era_behaves_as_the_expectations_file_says(
    #[values(
        Scenario::AUTHENTICATE_TOOL,
        Scenario::AUTHENTICATE_PASTE,
        Scenario::PRINT_AFTER_AUTH,
        Scenario::TOKEN_EXPIRY,
        Scenario::TOKEN_REVOKED,
        Scenario::REFRESH_ROTATION,
        Scenario::SESSION_LOST,
        Scenario::TOOLS_CHANGED,
        Scenario::SERVER_RESTART,
        Scenario::SCOPE_STEP_UP
    )]
    scenario: Scenario,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code_at(CLI_JS_ERA_VERSION)?;
    let mock = MockServer::builder()
        .faults(scenario.mock_faults())
        .start_blocking()?;
    let report = scenarios::run(scenario, &client, &mock);
    harness::scenarios::observe::record_report(client.install(), &report);
    let text = show(&report);
    assert!(
        report.check("driver").is_none(),
        "the harness could not drive the client:\n{text}"
    );
    assert_as_expected(&report, &text)
}
