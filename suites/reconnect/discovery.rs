//! The discovery and registration variants through the real CLI, one run per variant × login
//! path: the `/mcp` menu, `claude mcp login`, and the agent's authenticate tool. The same
//! version can pass through one path and fail through another, so each run is its own test and
//! the expectations file keys known failures by variant and login path.

use harness::scenarios::variants::DiscoveryVariant;
use harness::scenarios::{self, RunOptions, Scenario};
use mock_server::MockServer;
use rstest::rstest;

use crate::support::{
    assert_as_expected, claude_code_at, real_cli_slot, show, snapshot_settings, version_under_test,
    CLI_JS_ERA_VERSION,
};

#[rstest]
fn discovery_variant_through_each_login_path(
    #[values(
        DiscoveryVariant::ChallengeOnly,
        DiscoveryVariant::BareChallenge,
        DiscoveryVariant::SeparateAuthServer,
        DiscoveryVariant::IssuerPath,
        DiscoveryVariant::OpenidOnly,
        DiscoveryVariant::McpPath,
        DiscoveryVariant::PreRegistered,
        DiscoveryVariant::ClientIdMetadata
    )]
    variant: DiscoveryVariant,
    #[values(
        Scenario::SLASH_MCP,
        Scenario::LOGIN_THEN_LIST,
        Scenario::AUTHENTICATE_TOOL
    )]
    login_path: Scenario,
) -> anyhow::Result<()> {
    run_variant(variant, login_path, version_under_test())
}

/// The same on the `cli.js`-era version (only its `/mcp` menu path exists): kept out of
/// `make test` for its time, in `make test-clients`.
#[rstest]
#[ignore = "make test-clients"]
fn discovery_variant_on_the_cli_js_era_version(
    #[values(
        DiscoveryVariant::ChallengeOnly,
        DiscoveryVariant::BareChallenge,
        DiscoveryVariant::SeparateAuthServer,
        DiscoveryVariant::IssuerPath,
        DiscoveryVariant::OpenidOnly,
        DiscoveryVariant::McpPath,
        DiscoveryVariant::PreRegistered,
        DiscoveryVariant::ClientIdMetadata
    )]
    variant: DiscoveryVariant,
) -> anyhow::Result<()> {
    run_variant(variant, Scenario::SLASH_MCP, CLI_JS_ERA_VERSION.to_owned())
}

fn run_variant(
    variant: DiscoveryVariant,
    login_path: Scenario,
    version: String,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code_at(&version)?;
    let mock = MockServer::builder()
        .discovery(variant.discovery())
        .start_blocking()?;
    let options = RunOptions {
        discovery: Some(variant.into()),
        ..RunOptions::default()
    };
    let report = scenarios::run_with(login_path, &client, &mock, &options);
    let text = show(&report);
    harness::scenarios::observe::record_report(client.install(), &report);
    // The variant's own check ran (unless this version lacks the login path, which the
    // scenario proves with evidence of its own).
    let applicable = report
        .checks
        .iter()
        .all(|c| c.verdict != harness::checks::Verdict::NotApplicable);
    if applicable {
        anyhow::ensure!(
            report.check(variant.key_check()).is_some(),
            "check {} did not run:\n{text}",
            variant.key_check()
        );
    }
    assert_as_expected(&report, &text)?;
    if applicable {
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(
                format!(
                    "claude_code__discovery__{}__{}__{version}",
                    variant.name(),
                    login_path.name()
                ),
                report.canonical_log()
            )
        });
    }
    Ok(())
}

/// Failure class 5, the other half: after the server forgets its clients, the client meets
/// `invalid_client` when it refreshes, and the next login (`mcp login`, or `/mcp` in a new
/// session) must register a new client.
#[rstest]
fn a_forgotten_client_registers_again_at_the_next_login(
    #[values(Scenario::CLIENT_FORGOTTEN, Scenario::CLIENT_FORGOTTEN_IN_SESSION)] scenario: Scenario,
    #[values(version_under_test(), CLI_JS_ERA_VERSION.to_owned())] version: String,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code_at(&version)?;
    let mock = MockServer::builder().start_blocking()?;
    let report = scenarios::run(scenario, &client, &mock);
    let text = show(&report);
    assert_as_expected(&report, &text)?;
    let applicable = report
        .checks
        .iter()
        .all(|c| c.verdict != harness::checks::Verdict::NotApplicable);
    if applicable {
        anyhow::ensure!(
            report
                .check(harness::checks::discovery::REGISTRATION_REUSED)
                .is_some(),
            "registration-reused did not run:\n{text}"
        );
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(
                format!("claude_code__{}__{version}", scenario.name()),
                report.canonical_log()
            )
        });
    }
    Ok(())
}
