//! Failure class 1, servers that are not OAuth (`static_api_key`): the client is given a static
//! X-API-Key header in its own config, the server answers without it with a Basic challenge and
//! has no OAuth metadata. The checks' negative control is the stand-in client, which knows only
//! OAuth and so starts discovery; the real clients run in `make test-clients` (known failures in
//! the expectations file).

use harness::checks::static_credentials::{self, HEADER_ON_EVERY_REQUEST, NO_OAUTH};
use harness::checks::Verdict;
use harness::scenarios::Scenario;
use mock_server::client::StandInClient;
use mock_server::MockServer;
use rstest::rstest;

use crate::support::{assert_as_expected, pinned_client, real_cli_slot, run_on_mock};

#[tokio::test]
async fn an_oauth_only_client_fails_both_checks_on_a_server_that_is_not_oauth() -> anyhow::Result<()>
{
    let discovery = Scenario::STATIC_API_KEY
        .mock_discovery(None)
        .ok_or_else(|| anyhow::anyhow!("static_api_key has a server of its own"))?;
    let server = MockServer::builder().discovery(discovery).start().await?;
    // It meets the Basic challenge, looks for OAuth metadata and finds none: the run fails.
    let outcome = StandInClient::new(&server.mcp_url())?.run().await;
    assert!(outcome.is_err(), "the stand-in got through: {outcome:?}");
    let log = server.received_requests();
    let no_oauth = static_credentials::no_oauth(&log);
    assert_eq!(no_oauth.verdict, Verdict::Fail, "{no_oauth:?}");
    let header = static_credentials::header_on_every_request(&log);
    assert_eq!(header.verdict, Verdict::Fail, "{header:?}");
    Ok(())
}

#[rstest]
#[ignore = "make test-clients"]
fn static_key_real_clients_send_the_configured_header_and_never_start_oauth(
    #[values(
        "claude-code",
        "codex",
        "gemini-cli",
        "qwen-code",
        "opencode",
        "kilo",
        "copilot-cli",
        "mcp-inspector",
        "mcp-remote"
    )]
    client: &str,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::STATIC_API_KEY,
        &Default::default(),
    )?;
    for name in [NO_OAUTH, HEADER_ON_EVERY_REQUEST] {
        anyhow::ensure!(
            report.check(name).is_some(),
            "{name} was not judged:\n{text}"
        );
    }
    // Every failure not in the expectations file (mcp-remote's OAuth probe is) fails the test.
    assert_as_expected(&report, &text)?;
    Ok(())
}
