//! The discovery and registration variants through the real CLI, one run per variant × login
//! path: the `/mcp` menu, `claude mcp login`, and the agent's authenticate tool. The same
//! version can pass through one path and fail through another, so each run is its own test and
//! the expectations file keys known failures by variant and login path.

use harness::discovery_variants::DiscoveryVariant;
use harness::scenario::{self, RunOptions, Scenario};
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
        Scenario::SlashMcp,
        Scenario::LoginThenList,
        Scenario::AuthenticateTool
    )]
    login_path: Scenario,
    #[values(version_under_test(), CLI_JS_ERA_VERSION.to_owned())] version: String,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code_at(&version)?;
    let mock = MockServer::builder()
        .discovery(variant.discovery())
        .start_blocking()?;
    let options = RunOptions {
        discovery: Some(variant),
        ..RunOptions::default()
    };
    let report = scenario::run_with(login_path, &client, &mock, &options);
    let text = show(&report);
    harness::features::record_report(client.install(), &report);
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
/// `invalid_client` when it refreshes, and a second `mcp login` must register a new client.
#[rstest]
#[case::pinned_native(version_under_test())]
#[case::cli_js_era(CLI_JS_ERA_VERSION.to_owned())]
fn a_forgotten_client_registers_again_at_the_next_login(
    #[case] version: String,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let client = claude_code_at(&version)?;
    let mock = MockServer::builder().start_blocking()?;
    let report = scenario::run(Scenario::ClientForgotten, &client, &mock);
    let text = show(&report);
    assert_as_expected(&report, &text)?;
    if report.check("login-command").is_none() {
        anyhow::ensure!(
            report
                .check(harness::discovery_checks::REGISTRATION_REUSED)
                .is_some(),
            "registration-reused did not run:\n{text}"
        );
        snapshot_settings().bind(|| {
            insta::assert_snapshot!(
                format!("claude_code__client_forgotten__{version}"),
                report.canonical_log()
            )
        });
    }
    Ok(())
}
