//! Failure class 7, a server that speaks only the older HTTP+SSE transport (`legacy_sse_only`):
//! after the OAuth flow, the client's Streamable HTTP POST meets 405 and it must fall back (GET
//! the stream, POST its messages to the `endpoint` URL). The checks' negative controls are the
//! stand-in client with and without the fallback, and with a POST loop before it; the real
//! clients with an in-session login run in `make test-clients` (known failures in the
//! expectations file).

use harness::checks::legacy_transport::{self, FALLBACK_WITHOUT_WASTE, FELL_BACK_TO_SSE};
use harness::checks::Verdict;
use harness::scenarios::Scenario;
use mock_server::client::{Misbehaviour, StandInClient};
use mock_server::MockServer;
use rstest::rstest;

use crate::support::{assert_as_expected, pinned_client, real_cli_slot, run_on_mock};

/// The scenario's own server: what `legacy_sse_only` configures.
async fn legacy_server() -> anyhow::Result<MockServer> {
    Ok(MockServer::builder()
        .faults(Scenario::LEGACY_SSE_ONLY.mock_faults())
        .start()
        .await?)
}

fn verdicts(log: &[mock_server::AccessRecord]) -> Vec<(String, Verdict)> {
    legacy_transport::legacy_transport_checks(log)
        .into_iter()
        .map(|c| (c.name, c.verdict))
        .collect()
}

#[tokio::test]
async fn a_client_that_falls_back_to_sse_passes_the_legacy_transport_checks() -> anyhow::Result<()>
{
    let server = legacy_server().await?;
    let outcome = StandInClient::new(&server.mcp_url())?
        .fall_back_to_legacy_sse()
        .run()
        .await?;
    assert!(outcome.hello_result.is_some(), "{outcome:?}");
    assert_eq!(
        verdicts(&server.received_requests()),
        vec![
            (FELL_BACK_TO_SSE.to_owned(), Verdict::Pass),
            (FALLBACK_WITHOUT_WASTE.to_owned(), Verdict::Pass),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_never_tries_the_get_after_the_405_fails_the_fallback() -> anyhow::Result<()>
{
    let server = legacy_server().await?;
    let outcome = StandInClient::new(&server.mcp_url())?.run().await;
    assert!(outcome.is_err(), "the stand-in got through: {outcome:?}");
    let log = server.received_requests();
    let check = legacy_transport::fell_back_to_sse(&log);
    assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
    assert!(
        check.summary.contains("never opened the SSE stream"),
        "{check:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_loops_on_the_405_before_falling_back_fails_the_waste_check(
) -> anyhow::Result<()> {
    let server = legacy_server().await?;
    StandInClient::new(&server.mcp_url())?
        .fall_back_to_legacy_sse()
        .misbehave(Misbehaviour::RepeatPostBeforeFallback)
        .run()
        .await?;
    assert_eq!(
        verdicts(&server.received_requests()),
        vec![
            (FELL_BACK_TO_SSE.to_owned(), Verdict::Pass),
            (FALLBACK_WITHOUT_WASTE.to_owned(), Verdict::Fail),
        ]
    );
    Ok(())
}

#[rstest]
#[ignore = "make test-clients"]
fn legacy_sse_real_clients_fall_back_to_the_older_transport_after_oauth(
    #[values(
        "claude-code",
        "codex",
        "gemini-cli",
        "qwen-code",
        "opencode",
        "kilo",
        "copilot-cli"
    )]
    client: &str,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::LEGACY_SSE_ONLY,
        &Default::default(),
    )?;
    for name in [FELL_BACK_TO_SSE, FALLBACK_WITHOUT_WASTE] {
        anyhow::ensure!(
            report.check(name).is_some(),
            "{name} was not judged:\n{text}"
        );
    }
    // Every failure not in the expectations file fails the test.
    assert_as_expected(&report, &text)?;
    Ok(())
}

#[rstest]
#[ignore = "make test-clients"]
fn legacy_sse_at_connect_real_clients_fall_back_after_logging_in_at_the_401(
    #[values("gemini-cli", "copilot-cli", "mcp-inspector", "mcp-remote")] client: &str,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client(client)?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::LEGACY_SSE_AT_CONNECT,
        &Default::default(),
    )?;
    for name in [FELL_BACK_TO_SSE, FALLBACK_WITHOUT_WASTE] {
        anyhow::ensure!(
            report.check(name).is_some(),
            "{name} was not judged:\n{text}"
        );
    }
    assert_as_expected(&report, &text)?;
    Ok(())
}
