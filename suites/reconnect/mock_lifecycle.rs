//! The mock's lifecycle operations and faults, proven with the stand-in client: each does to a
//! well-behaved client exactly what the client scenarios rely on it doing.

use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use mock_server::client::{StandInClient, TokenSet};
use mock_server::faults::RefreshError;
use mock_server::{Faults, MockServer};
use reqwest::StatusCode;
use serde_json::json;

async fn signed_in(server: &MockServer) -> anyhow::Result<(StandInClient, TokenSet)> {
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    Ok((client, tokens))
}

#[tokio::test]
async fn expired_or_revoked_access_tokens_get_401_and_refresh_still_works() -> anyhow::Result<()> {
    for revoke in [false, true] {
        let server = MockServer::start().await;
        let (mut client, tokens) = signed_in(&server).await?;
        let changed = if revoke {
            server.revoke_access_tokens()
        } else {
            server.expire_access_tokens()
        };
        assert_eq!(changed, 1);
        let refused = client.initialize(&tokens.access_token).await;
        assert_eq!(refused.err().and_then(|e| e.status()), Some(401));
        let refresh = tokens.refresh_token.context("no refresh token")?;
        let renewed = client.refresh(&refresh).await?;
        client.initialize(&renewed.access_token).await?;
    }
    Ok(())
}

#[tokio::test]
async fn dropped_sessions_get_404_and_a_new_initialize_works() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (mut client, tokens) = signed_in(&server).await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;
    assert_eq!(server.drop_sessions(), 1);
    let lost = client.list_tools(&tokens.access_token, &session).await;
    assert_eq!(lost.err().and_then(|e| e.status()), Some(404));
    let again = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &again)
        .await?;
    assert!(!client
        .list_tools(&tokens.access_token, &again)
        .await?
        .is_empty());
    Ok(())
}

#[tokio::test]
async fn an_added_tool_is_announced_on_the_stream_and_listed_and_callable() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (mut client, tokens) = signed_in(&server).await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;
    let stream = reqwest::Client::new()
        .get(server.mcp_url())
        .bearer_auth(&tokens.access_token)
        .header("Accept", "text/event-stream")
        .header("Mcp-Session-Id", &session.session_id)
        .header("Mcp-Protocol-Version", &session.protocol_version)
        .send()
        .await?;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut body = stream.bytes_stream();
    // The stream's first event says it is open; only then is a push sure to be heard.
    let first = tokio::time::timeout(Duration::from_secs(5), body.next()).await?;
    assert!(first.is_some());
    server.add_tool("farewell");
    assert_eq!(server.notify_tools_changed(), 1);
    let mut seen = String::new();
    let heard = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk?));
            if seen.contains("notifications/tools/list_changed") {
                return Ok::<bool, reqwest::Error>(true);
            }
        }
        Ok(false)
    })
    .await??;
    assert!(heard, "the stream carried: {seen}");
    let tools = client.list_tools(&tokens.access_token, &session).await?;
    assert!(tools.iter().any(|t| t["name"] == "farewell"));
    let result = client
        .call_tool(
            &tokens.access_token,
            &session,
            "farewell",
            json!({"text": "bye"}),
        )
        .await?;
    assert_eq!(result["content"][0]["text"], "farewell: bye");
    Ok(())
}

#[tokio::test]
async fn without_the_notification_an_added_tool_stays_unannounced() -> anyhow::Result<()> {
    // Negative control for the push: adding alone sends nothing to anyone.
    let server = MockServer::start().await;
    server.add_tool("farewell");
    assert_eq!(
        server.notify_tools_changed(),
        0,
        "no stream was open to hear it"
    );
    Ok(())
}

#[tokio::test]
async fn a_restart_keeps_or_loses_tokens_as_told_and_the_log_carries_on() -> anyhow::Result<()> {
    for keep_state in [true, false] {
        let server = MockServer::builder().start().await?;
        let (mut client, tokens) = signed_in(&server).await?;
        let before = server.received_requests().len();
        server.stop_serving();
        let down = client.initialize(&tokens.access_token).await;
        assert!(down.is_err(), "a stopped server answered");
        server.restart(keep_state)?;
        let after = client.initialize(&tokens.access_token).await;
        if keep_state {
            after?;
        } else {
            assert_eq!(after.err().and_then(|e| e.status()), Some(401));
        }
        assert!(server.received_requests().len() > before);
    }
    Ok(())
}

#[tokio::test]
async fn a_failing_refresh_endpoint_refuses_without_rotating() -> anyhow::Result<()> {
    for (fault, status, code) in [
        (RefreshError::ServerError, 500, "server_error"),
        (RefreshError::InvalidGrant, 400, "invalid_grant"),
    ] {
        let server = MockServer::builder()
            .faults(Faults {
                refresh_error: Some(fault),
                ..Faults::default()
            })
            .start()
            .await?;
        let (mut client, tokens) = signed_in(&server).await?;
        let refresh = tokens.refresh_token.context("no refresh token")?;
        let refused = client
            .refresh(&refresh)
            .await
            .err()
            .context("refresh worked")?;
        assert_eq!(refused.status(), Some(status));
        assert_eq!(refused.oauth_error(), Some(code));
        // Nothing rotated: the access token still works.
        client.initialize(&tokens.access_token).await?;
    }
    Ok(())
}
