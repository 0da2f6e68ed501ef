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

/// The MCP records of the log, as (status, fault).
fn mcp_faults(server: &MockServer) -> Vec<(u16, Option<String>)> {
    server
        .received_requests()
        .into_iter()
        .filter(|r| r.phase == mock_server::Phase::Mcp)
        .map(|r| (r.status, r.fault))
        .collect()
}

#[tokio::test]
async fn a_slow_server_holds_every_mcp_post_and_still_answers_it() -> anyhow::Result<()> {
    let delay = Duration::from_millis(300);
    let server = MockServer::builder().slow_responses(delay).start().await?;
    let (mut client, tokens) = signed_in(&server).await?;
    let started = std::time::Instant::now();
    let session = client.initialize(&tokens.access_token).await?;
    // A lower bound only: the hold is a sleep, so it cannot be shorter.
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert!(!client
        .list_tools(&tokens.access_token, &session)
        .await?
        .is_empty());
    let slow = Some("slow 300 ms".to_owned());
    // The first is the sign-in's unauthenticated probe (401): slowed too.
    assert_eq!(
        mcp_faults(&server),
        vec![(401, slow.clone()), (200, slow.clone()), (200, slow)]
    );
    // The OAuth endpoints are not slowed.
    assert!(server
        .received_requests()
        .iter()
        .filter(|r| r.phase != mock_server::Phase::Mcp)
        .all(|r| r.fault.is_none()));
    server.slow_responses(None);
    client.list_tools(&tokens.access_token, &session).await?;
    assert_eq!(mcp_faults(&server).last(), Some(&(200, None)));
    Ok(())
}

#[tokio::test]
async fn five_hundreds_hit_the_next_authenticated_posts_then_the_server_is_well_again(
) -> anyhow::Result<()> {
    let server = MockServer::builder().mcp_errors(503, 2).start().await?;
    let (mut client, tokens) = signed_in(&server).await?;
    // An unauthenticated request gets its 401 and uses nothing up.
    let anonymous = client.initialize("").await;
    assert_eq!(anonymous.err().and_then(|e| e.status()), Some(401));
    for _ in 0..2 {
        let refused = client.initialize(&tokens.access_token).await;
        assert_eq!(refused.err().and_then(|e| e.status()), Some(503));
    }
    client.initialize(&tokens.access_token).await?;
    // Re-armed while running, with another status.
    server.fail_mcp_requests(500, 1);
    let refused = client.initialize(&tokens.access_token).await;
    assert_eq!(refused.err().and_then(|e| e.status()), Some(500));
    client.initialize(&tokens.access_token).await?;
    assert_eq!(
        mcp_faults(&server),
        vec![
            (401, None), // the sign-in's probe
            (401, None),
            (503, Some("mcp-error 503 (1 of 2)".to_owned())),
            (503, Some("mcp-error 503 (2 of 2)".to_owned())),
            (200, None),
            (500, Some("mcp-error 500 (1 of 1)".to_owned())),
            (200, None),
        ]
    );
    Ok(())
}

/// Sends one authenticated `initialize` over a raw socket and reads until the server closes.
async fn raw_initialize(server: &MockServer, token: &str) -> anyhow::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
    .to_string();
    let mut stream = tokio::net::TcpStream::connect(server.local_addr()).await?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        server.local_addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await??;
    Ok(answer)
}

#[tokio::test]
async fn a_dropped_connection_closes_without_a_byte_of_response_then_the_server_is_well_again(
) -> anyhow::Result<()> {
    let server = MockServer::builder().drop_connections(1).start().await?;
    let (mut client, tokens) = signed_in(&server).await?;
    let answer = raw_initialize(&server, &tokens.access_token).await?;
    assert!(
        answer.is_empty(),
        "the server answered: {}",
        String::from_utf8_lossy(&answer)
    );
    // The next request is served: over a raw socket, and by the client.
    let answer = raw_initialize(&server, &tokens.access_token).await?;
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    server.drop_mcp_connections(1);
    let dropped = client.initialize(&tokens.access_token).await;
    let error = dropped.err().context("a dropped connection answered")?;
    assert_eq!(error.status(), None, "{error}");
    client.initialize(&tokens.access_token).await?;
    assert_eq!(
        mcp_faults(&server),
        vec![
            (401, None), // the sign-in's probe
            (0, Some("dropped-connection (1 of 1)".to_owned())),
            (200, None),
            (0, Some("dropped-connection (1 of 1)".to_owned())),
            (200, None),
        ]
    );
    Ok(())
}

#[test]
fn a_5xx_fault_that_is_not_a_5xx_is_refused_at_start() {
    let started = MockServer::builder().mcp_errors(200, 1).start_blocking();
    assert!(
        matches!(started, Err(mock_server::MockServerError::Faults(_))),
        "a 200 'error' was accepted"
    );
}

#[tokio::test]
async fn faults_from_a_config_file_are_committed_as_from_the_builder() -> anyhow::Result<()> {
    let config = mock_server::MockConfig::from_toml(
        "[faults]\nmcp_errors = { status = 502, count = 1 }\ndrop_connections = { count = 1 }\n",
    )
    .map_err(anyhow::Error::msg)?;
    let server = MockServer::builder().config(config).start().await?;
    let (mut client, tokens) = signed_in(&server).await?;
    // Dropped connections come first, then the 5xx answers.
    let dropped = client.initialize(&tokens.access_token).await;
    assert_eq!(dropped.err().map(|e| e.status()), Some(None));
    let refused = client.initialize(&tokens.access_token).await;
    assert_eq!(refused.err().and_then(|e| e.status()), Some(502));
    client.initialize(&tokens.access_token).await?;
    Ok(())
}

/// `POST /__admin/<event>` on a running server, as a person with curl would.
async fn admin(server: &MockServer, event: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let response = reqwest::Client::new()
        .post(format!("{}/__admin/{event}", server.uri()))
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(json!(text))))
}

#[tokio::test]
async fn the_admin_routes_drive_every_lifecycle_event_and_fault() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (mut client, tokens) = signed_in(&server).await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;

    let (status, body) = admin(&server, "notify-tools-changed?add=farewell").await?;
    assert_eq!(
        (status, &body["event"]),
        (200, &json!("notify-tools-changed"))
    );
    let tools = client.list_tools(&tokens.access_token, &session).await?;
    assert!(tools.iter().any(|t| t["name"] == "farewell"), "{tools:?}");

    assert_eq!(
        admin(&server, "fail-mcp-requests?status=502&count=1")
            .await?
            .0,
        200
    );
    let refused = client.list_tools(&tokens.access_token, &session).await;
    assert_eq!(refused.err().and_then(|e| e.status()), Some(502));

    assert_eq!(admin(&server, "drop-connections?count=1").await?.0, 200);
    let dropped = client.list_tools(&tokens.access_token, &session).await;
    assert_eq!(dropped.err().map(|e| e.status()), Some(None));

    assert_eq!(admin(&server, "slow-responses?ms=50").await?.0, 200);
    client.list_tools(&tokens.access_token, &session).await?;
    assert_eq!(admin(&server, "slow-responses?ms=0").await?.0, 200);
    assert_eq!(
        mcp_faults(&server).last(),
        Some(&(200, Some("slow 50 ms".to_owned())))
    );

    assert_eq!(
        admin(&server, "drop-sessions").await?,
        (200, json!({"event": "drop-sessions", "affected": 1}))
    );
    let lost = client.list_tools(&tokens.access_token, &session).await;
    assert_eq!(lost.err().and_then(|e| e.status()), Some(404));

    assert_eq!(admin(&server, "expire-tokens").await?.1["affected"], 1);
    let expired = client.initialize(&tokens.access_token).await;
    assert_eq!(expired.err().and_then(|e| e.status()), Some(401));
    let refresh = tokens.refresh_token.clone().context("no refresh token")?;
    let renewed = client.refresh(&refresh).await?;
    assert_eq!(admin(&server, "revoke-tokens").await?.1["affected"], 1);
    let revoked = client.initialize(&renewed.access_token).await;
    assert_eq!(revoked.err().and_then(|e| e.status()), Some(401));

    // Unknown events and bad parameters are refused, and nothing is armed by them.
    assert_eq!(admin(&server, "no-such-event").await?.0, 404);
    assert_eq!(admin(&server, "fail-mcp-requests?status=200").await?.0, 400);
    assert_eq!(admin(&server, "slow-responses").await?.0, 400);
    // Admin requests are logged as admin, never as MCP traffic.
    assert!(server
        .received_requests()
        .iter()
        .filter(|r| r.path.starts_with("/__admin/"))
        .all(|r| r.phase == mock_server::Phase::Admin));
    Ok(())
}
