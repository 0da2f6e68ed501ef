//! MCP Inspector's CLI (pinned 2.12.0, or `MCP_INSPECTOR_VERSION`), a reference client: no model,
//! one MCP method per run. Its login path is OAuth started by itself at the 401; a second run in
//! the same HOME must use the stored token. Every scenario that needs an agent or a session is
//! not applicable, with the CLI's `--help` as the evidence. One test runs by default (the login at
//! connect and the stored-token run, in one scenario); the rest are `make test-clients`.

use harness::checks::{
    Verdict, BEARER_ON_EVERY_REQUEST, REINITIALIZED_AFTER_TOKEN, TOKEN_EXCHANGED,
    TOOLS_LISTED_AFTER_TOKEN,
};
use harness::clients::mcp_inspector::{self, McpInspector};
use harness::clients::LoginPath;
use harness::scenarios::agent::PRINT_MODE_CONNECTS;
use harness::scenarios::stored_token_rerun::STORED_TOKEN_REUSED;
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use harness::store::versions::VersionStore;
use mock_server::MockServer;

use crate::support::{
    assert_as_expected, assert_as_expected_and_snapshot, assert_verdicts, real_cli_slot, show,
};

use Verdict::{Fail, NotApplicable, Pass};

fn run(scenario: Scenario, options: &RunOptions) -> anyhow::Result<(ScenarioReport, String)> {
    let version = mcp_inspector::PACKAGE.version_under_test();
    let installed = VersionStore::from_env(&mcp_inspector::PACKAGE).ensure(&version)?;
    let client = McpInspector::new(installed);
    let mock = MockServer::builder()
        .faults(scenario.mock_faults())
        .start_blocking()?;
    let report = scenarios::run_with(scenario, &client, &mock, options);
    let text = show(&report);
    Ok((report, text))
}

#[test]
fn the_inspector_logs_in_at_the_401_and_a_second_run_uses_the_stored_token() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run(Scenario::STORED_TOKEN_RERUN, &RunOptions::default())?;
    assert_as_expected_and_snapshot(&report, &text)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (TOKEN_EXCHANGED, Pass),
            (TOOLS_LISTED_AFTER_TOKEN, Pass),
            (PRINT_MODE_CONNECTS, Pass),
            (STORED_TOKEN_REUSED, Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn the_inspector_lists_tools_in_the_same_run_that_logged_in() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let (report, text) = run(Scenario::LOGIN_AT_CONNECT, &RunOptions::default())?;
    assert_as_expected_and_snapshot(&report, &text)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (TOKEN_EXCHANGED, Pass),
            (REINITIALIZED_AFTER_TOKEN, Pass),
            (TOOLS_LISTED_AFTER_TOKEN, Pass),
            (BEARER_ON_EVERY_REQUEST, Pass),
        ],
    );
    Ok(())
}

/// The negative control of `stored-token-reused` on the real client: with its stored OAuth state
/// removed between the runs, the second run must authorize again, and the check must say so.
#[test]
#[ignore = "make test-clients"]
fn without_its_stored_state_the_inspector_authorizes_again_and_the_check_fails(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let options = RunOptions {
        plant_needs_auth: true,
        ..RunOptions::default()
    };
    let (report, text) = run(Scenario::STORED_TOKEN_RERUN, &options)?;
    assert_verdicts(
        &report,
        &text,
        &[(STORED_TOKEN_REUSED, Fail), (PRINT_MODE_CONNECTS, Pass)],
    );
    Ok(())
}

/// Every scenario whose login path needs a session, an agent or a login command is not
/// applicable, each with the CLI's own `--help` as the evidence (never a driver error).
#[test]
#[ignore = "make test-clients"]
fn every_scenario_that_needs_an_agent_or_a_session_is_not_applicable() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    for scenario in Scenario::ALL {
        // Connecting is a listing here: the login at connect, and the static header (judged
        // in static_key), run.
        if matches!(
            scenario.login_path(),
            LoginPath::AutomaticAtConnect | LoginPath::StaticHeader
        ) {
            continue;
        }
        let (report, text) = run(scenario, &RunOptions::default())?;
        assert_as_expected(&report, &text)?;
        assert!(report.check("driver").is_none(), "{text}");
        let check = report
            .checks
            .first()
            .ok_or_else(|| anyhow::anyhow!("{} ran no check:\n{text}", scenario.name()))?;
        assert_eq!(check.verdict, NotApplicable, "{text}");
        assert_eq!(report.checks.len(), 1, "{text}");
        let evidence = check.evidence.join("\n");
        assert!(
            evidence.contains("mcp-inspector --cli --help"),
            "{}: {evidence}",
            scenario.name()
        );
        assert!(report.access_log.is_empty(), "{text}");
    }
    Ok(())
}
