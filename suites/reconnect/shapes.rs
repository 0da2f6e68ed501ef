//! The response shapes real servers send (classes 7 and 8: token responses without or with a
//! string `expires_in`, unknown token members, several challenges, HTML error pages), through
//! each client's in-session login. Claude Code's pinned version runs in `make test`; the other
//! clients in `make test-clients`. Known failures are in the expectations file, keyed by variant.

use harness::scenarios::variants::DiscoveryVariant;
use harness::scenarios::{self, RunOptions, Scenario, ScenarioReport};
use mock_server::MockServer;
use rstest::rstest;

use crate::support::{assert_as_expected, pinned_client, real_cli_slot, show, snapshot_settings};

fn run_shape(client: &str, variant: DiscoveryVariant) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let version = driver.version().to_owned();
    let mock = MockServer::builder()
        .discovery(variant.discovery())
        .start_blocking()?;
    let options = RunOptions {
        discovery: Some(variant.into()),
        ..RunOptions::default()
    };
    let report: ScenarioReport =
        scenarios::run_with(Scenario::SLASH_MCP, driver.as_ref(), &mock, &options);
    let text = show(&report);
    anyhow::ensure!(
        report.check(variant.key_check()).is_some(),
        "check {} did not run:\n{text}",
        variant.key_check()
    );
    assert_as_expected(&report, &text)?;
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!(
                "{}__discovery__{}__slash_mcp__{version}",
                client.replace('-', "_"),
                variant.name()
            ),
            report.canonical_log()
        )
    });
    Ok(())
}

#[rstest]
fn claude_code_signs_in_through_every_response_shape(
    #[values(
        DiscoveryVariant::TokenWithoutExpiresIn,
        DiscoveryVariant::TokenExpiresInString,
        DiscoveryVariant::TokenExtraFields,
        DiscoveryVariant::SeveralChallenges,
        DiscoveryVariant::HtmlErrors
    )]
    variant: DiscoveryVariant,
) -> anyhow::Result<()> {
    run_shape("claude-code", variant)
}

#[rstest]
#[ignore = "make test-clients"]
fn the_other_clients_through_every_response_shape(
    #[values("codex", "gemini-cli")] client: &str,
    #[values(
        DiscoveryVariant::TokenWithoutExpiresIn,
        DiscoveryVariant::TokenExpiresInString,
        DiscoveryVariant::TokenExtraFields,
        DiscoveryVariant::SeveralChallenges,
        DiscoveryVariant::HtmlErrors
    )]
    variant: DiscoveryVariant,
) -> anyhow::Result<()> {
    run_shape(client, variant)
}
