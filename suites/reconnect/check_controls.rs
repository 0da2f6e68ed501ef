//! Negative controls for the reconnect checks: the same checks the real CLI is judged by, run
//! on the access log of a stand-in client that is made to break each rule on purpose. A check
//! that passes here cannot be trusted when it passes for the CLI.

use harness::checks::{self, Check, Verdict};
use mock_server::client::{McpSession, Misbehaviour, StandInClient};
use mock_server::MockServer;

fn verdicts(checks: &[Check]) -> Vec<(&str, Verdict)> {
    checks
        .iter()
        .map(|c| (c.name.as_str(), c.verdict))
        .collect()
}

#[tokio::test]
async fn a_client_that_reconnects_properly_passes_every_check() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?.run().await?;
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        verdicts(&checks),
        vec![
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::REINITIALIZED_AFTER_TOKEN, Verdict::Pass),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Pass),
        ]
    );
    Ok(())
}

/// The reported bug: tokens obtained, then silence.
#[tokio::test]
async fn a_client_that_stops_after_the_token_exchange_fails_the_reconnect_checks(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?
        .misbehave(Misbehaviour::StopAfterTokenExchange)
        .run()
        .await?;
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        verdicts(&checks),
        vec![
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::REINITIALIZED_AFTER_TOKEN, Verdict::Fail),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Fail),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_never_gets_a_token_fails_every_check() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let result = StandInClient::new(&server.mcp_url())?
        .misbehave(Misbehaviour::WrongVerifier)
        .run()
        .await;
    assert!(result.is_err(), "the mock accepted a wrong PKCE verifier");
    let checks = checks::reconnect_checks(&server.received_requests());
    assert!(
        checks.iter().all(|c| c.verdict == Verdict::Fail),
        "{checks:#?}"
    );
    Ok(())
}

/// Initialized, but the tools are never asked for: the half-reconnect.
#[tokio::test]
async fn a_client_that_initializes_but_never_lists_tools_fails_only_the_listing_check(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        verdicts(&checks),
        vec![
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::REINITIALIZED_AFTER_TOKEN, Verdict::Pass),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Fail),
        ]
    );
    Ok(())
}

/// `initialize` without the token it just got: the server refuses it, and it must not count.
#[tokio::test]
async fn an_initialize_without_the_new_token_does_not_count_as_a_reconnect() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    client.authenticate().await?;
    let refused = client.initialize("not-the-token").await;
    assert!(refused.is_err(), "the mock accepted an unknown bearer");
    let checks = checks::reconnect_checks(&server.received_requests());
    assert_eq!(
        checks
            .iter()
            .find(|c| c.name == checks::REINITIALIZED_AFTER_TOKEN)
            .map(|c| c.verdict),
        Some(Verdict::Fail)
    );
    Ok(())
}

/// A `tools/list` that names a session the server never opened is refused and must not count.
#[tokio::test]
async fn tools_listed_in_an_unknown_session_do_not_count() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;
    let stale = McpSession {
        session_id: "a-session-the-server-never-opened".to_owned(),
        ..session
    };
    let refused = client.list_tools(&tokens.access_token, &stale).await;
    assert!(refused.is_err(), "the mock accepted an unknown session id");
    let checks = checks::reconnect_checks(&server.received_requests());
    let listed = checks
        .iter()
        .find(|c| c.name == checks::TOOLS_LISTED_AFTER_TOKEN)
        .map(|c| c.verdict);
    assert_eq!(listed, Some(Verdict::Fail), "{checks:#?}");
    Ok(())
}
