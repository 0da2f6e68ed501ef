//! One test per rule the mock enforces: the stand-in client, misbehaving in one way, is refused
//! with the status and error code a conformant server gives.

use std::time::Duration;

use anyhow::Context;
use mock_server::client::{ClientError, McpSession, Misbehaviour, StandInClient};
use mock_server::config::paths;
use mock_server::discovery::{ResourceMetadataAt, WRONG_ISSUER_SUFFIX};
use mock_server::{
    s256_challenge, AccessRecord, Bearer, Discovery, MockConfig, MockServer, Phase, Revision,
};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{json, Value};
use url::Url;

/// Runs the client and returns its refusal; a run that succeeds fails the test.
async fn refusal(server: &MockServer, misbehaviour: Misbehaviour) -> anyhow::Result<ClientError> {
    let mut client = StandInClient::new(&server.mcp_url())?.misbehave(misbehaviour);
    match client.run().await {
        Ok(outcome) => anyhow::bail!("{misbehaviour:?} was not refused: {outcome:?}"),
        Err(error) => Ok(error),
    }
}

/// A well-behaved client's token and session, for poking the MCP endpoint by hand.
async fn connected(server: &MockServer) -> anyhow::Result<(StandInClient, String, McpSession)> {
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let session = client.initialize(&tokens.access_token).await?;
    client
        .notify_initialized(&tokens.access_token, &session)
        .await?;
    Ok((client, tokens.access_token, session))
}

async fn raw_post(
    server: &MockServer,
    token: &str,
    session: Option<&str>,
    body: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = reqwest::Client::new()
        .post(server.mcp_url())
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn last_mcp(log: &[AccessRecord]) -> anyhow::Result<&AccessRecord> {
    log.iter()
        .rev()
        .find(|r| r.phase == Phase::Mcp)
        .context("no MCP request logged")
}

#[tokio::test]
async fn a_well_behaved_client_gets_through_the_whole_flow() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let outcome = StandInClient::new(&server.mcp_url())?.run().await?;
    assert_eq!(outcome.tokens.expires_in, Some(3600));
    assert_eq!(
        outcome.session.map(|s| s.protocol_version).as_deref(),
        Some("2025-11-25")
    );
    assert!(outcome.tool_names.iter().any(|t| t == "hello"));
    assert_eq!(
        outcome.hello_result.map(|r| r["isError"].clone()),
        Some(json!(false))
    );
    Ok(())
}

#[rstest]
#[case::pkce_is_missing(Misbehaviour::SkipPkce, 302, "invalid_request")]
#[case::pkce_method_is_plain(Misbehaviour::PlainPkce, 302, "invalid_request")]
#[case::pkce_verifier_is_wrong(Misbehaviour::WrongVerifier, 400, "invalid_grant")]
#[case::code_is_reused(Misbehaviour::ReuseCode, 400, "invalid_grant")]
#[case::redirect_uri_differs_at_token(Misbehaviour::WrongRedirectUriAtToken, 400, "invalid_grant")]
#[case::resource_is_left_out_at_token(Misbehaviour::OmitResourceAtToken, 400, "invalid_target")]
#[case::resource_names_another_server_at_authorize(
    Misbehaviour::MismatchedResourceAtAuthorize,
    302,
    "invalid_target"
)]
#[case::resource_differs_at_token(Misbehaviour::MismatchedResourceAtToken, 400, "invalid_target")]
#[case::old_refresh_token_is_reused(Misbehaviour::ReuseOldRefreshToken, 400, "invalid_grant")]
#[tokio::test]
async fn oauth_misbehaviour_is_refused_with_the_right_error(
    #[case] misbehaviour: Misbehaviour,
    #[case] status: u16,
    #[case] error: &str,
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let refused = refusal(&server, misbehaviour).await?;
    assert_eq!(refused.status(), Some(status), "{refused}");
    assert_eq!(refused.oauth_error(), Some(error), "{refused}");
    if status == 302 {
        // Errors after the client and redirect URI are verified go back to the client with its state.
        assert!(
            matches!(refused, ClientError::Redirected { state: Some(_), .. }),
            "{refused}"
        );
    }
    Ok(())
}

#[rstest]
#[case::client_is_unknown(Misbehaviour::UnknownClient, "invalid_client")]
#[case::redirect_uri_is_not_registered(
    Misbehaviour::WrongRedirectUriAtAuthorize,
    "invalid_request"
)]
#[tokio::test]
async fn authorize_shows_an_error_page_instead_of_redirecting_when(
    #[case] misbehaviour: Misbehaviour,
    #[case] error: &str,
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let refused = refusal(&server, misbehaviour).await?;
    let ClientError::Http { status, body, .. } = &refused else {
        anyhow::bail!("expected an error page, got {refused}");
    };
    assert_eq!(*status, 400);
    assert!(body.contains(error), "{body}");
    let log = server.received_requests();
    let authorize = log
        .iter()
        .rev()
        .find(|r| r.path == "/oauth/authorize")
        .context("authorize")?;
    assert_eq!(authorize.error.as_deref(), Some(error));
    Ok(())
}

#[tokio::test]
async fn a_reused_code_revokes_the_tokens_it_produced() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    client.discover().await?;
    client.register().await?;
    let code = client.authorize().await?;
    let tokens = client.exchange_code(&code).await?;
    let replay = client.exchange_code(&code).await;
    assert_eq!(
        replay.as_ref().err().and_then(ClientError::oauth_error),
        Some("invalid_grant")
    );
    let refused = client.initialize(&tokens.access_token).await;
    let refused = refused
        .err()
        .context("the first code's access token still works")?;
    assert_eq!(refused.status(), Some(401));
    assert_eq!(
        last_mcp(&server.received_requests())?.bearer,
        Bearer::Revoked {
            token_id: "at-1".to_owned()
        }
    );
    let refresh = client
        .refresh(tokens.refresh_token.as_deref().unwrap_or_default())
        .await;
    assert_eq!(
        refresh.err().as_ref().and_then(ClientError::oauth_error),
        Some("invalid_grant")
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_code_is_refused() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .code_ttl(Duration::ZERO)
        .start()
        .await?;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let refused = client
        .authenticate()
        .await
        .err()
        .context("an expired code was accepted")?;
    assert_eq!(refused.status(), Some(400));
    assert_eq!(refused.oauth_error(), Some("invalid_grant"));
    Ok(())
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_refuses_the_old_refresh_token() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let first = client.authenticate().await?;
    let old_refresh = first.refresh_token.clone().context("no refresh token")?;
    let second = client.refresh(&old_refresh).await?;
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token.as_deref(), Some(old_refresh.as_str()));
    let reuse = client
        .refresh(&old_refresh)
        .await
        .err()
        .context("old refresh token accepted")?;
    assert_eq!(
        (reuse.status(), reuse.oauth_error()),
        (Some(400), Some("invalid_grant"))
    );
    // The newest pair is still good.
    client.initialize(&second.access_token).await?;
    Ok(())
}

#[tokio::test]
async fn a_revoked_access_token_gets_401_invalid_token() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let first = client.authenticate().await?;
    client
        .refresh(first.refresh_token.as_deref().unwrap_or_default())
        .await?;
    let refused = client
        .initialize(&first.access_token)
        .await
        .err()
        .context("revoked token accepted")?;
    assert_eq!(refused.status(), Some(401));
    let challenge = refused.www_authenticate().context("no challenge")?;
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(
        last_mcp(&server.received_requests())?.bearer,
        Bearer::Revoked {
            token_id: "at-1".to_owned()
        }
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_access_token_gets_401() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .access_token_ttl(Duration::ZERO)
        .start()
        .await?;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let refused = client
        .initialize(&tokens.access_token)
        .await
        .err()
        .context("expired token accepted")?;
    assert_eq!(refused.status(), Some(401));
    assert!(matches!(
        last_mcp(&server.received_requests())?.bearer,
        Bearer::Expired { .. }
    ));
    Ok(())
}

#[tokio::test]
async fn a_request_without_a_bearer_gets_401_pointing_at_the_resource_metadata(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let response = reqwest::Client::new()
        .post(server.mcp_url())
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE].to_str()?,
        format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource\"",
            server.uri()
        )
    );
    let record = last_mcp(&server.received_requests())?.clone();
    assert_eq!(
        (record.bearer, record.rpc_method.as_deref()),
        (Bearer::None, Some("tools/list"))
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_bearer_gets_401_invalid_token() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (status, _) = raw_post(
        &server,
        "not-a-token",
        None,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    )
    .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        last_mcp(&server.received_requests())?.bearer,
        Bearer::Unknown
    );
    Ok(())
}

#[rstest]
#[case::malformed_json("{not json", 400, -32700)]
#[case::not_a_json_rpc_object("[1, 2]", 400, -32600)]
#[case::no_jsonrpc_version(r#"{"id":1,"method":"ping"}"#, 400, -32600)]
#[case::unknown_method(r#"{"jsonrpc":"2.0","id":7,"method":"resources/list"}"#, 200, -32601)]
#[case::tools_call_without_a_name(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#, 200, -32602)]
#[case::unknown_tool(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"nope"}}"#, 200, -32602)]
#[tokio::test]
async fn a_bad_json_rpc_message_gets_the_json_rpc_error(
    #[case] body: &str,
    #[case] status: u16,
    #[case] code: i64,
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (_, token, session) = connected(&server).await?;
    let (got_status, answer) = raw_post(&server, &token, Some(&session.session_id), body).await?;
    assert_eq!(got_status.as_u16(), status, "{answer}");
    assert_eq!(answer["error"]["code"], json!(code), "{answer}");
    let logged = last_mcp(&server.received_requests())?
        .error
        .clone()
        .unwrap_or_default();
    assert!(logged.starts_with(&code.to_string()), "{logged}");
    Ok(())
}

#[tokio::test]
async fn a_request_without_a_session_gets_400_and_an_unknown_session_404() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (_, token, _) = connected(&server).await?;
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let (status, _) = raw_post(&server, &token, None, list).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = raw_post(&server, &token, Some("no-such-session"), list).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn an_unsupported_protocol_version_header_gets_400() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (_, token, session) = connected(&server).await?;
    let response = reqwest::Client::new()
        .post(server.mcp_url())
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "application/json")
        .header("mcp-session-id", &session.session_id)
        .header("mcp-protocol-version", "1900-01-01")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    Ok(())
}

/// What 2.1.331 sends first after the token exchange: a 2026-07-28 `server/discover`. A legacy
/// server answers 400 with a body that is not a modern error, and the client falls back.
#[tokio::test]
async fn a_2026_07_28_discover_probe_gets_a_legacy_400_and_initialize_still_works(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let tokens = client.authenticate().await?;
    let response = reqwest::Client::new()
        .post(server.mcp_url())
        .bearer_auth(&tokens.access_token)
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .body(r#"{"jsonrpc":"2.0","id":0,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await?;
    let code = body["error"]["code"]
        .as_i64()
        .context("no JSON-RPC error")?;
    assert!(
        ![-32022, -32020, -32601].contains(&code),
        "a modern error would stop the fallback: {body}"
    );
    let session = client.initialize(&tokens.access_token).await?;
    assert_eq!(session.protocol_version, "2025-11-25");
    Ok(())
}

#[tokio::test]
async fn stopping_after_the_token_exchange_leaves_no_initialize_in_the_log() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let mut client =
        StandInClient::new(&server.mcp_url())?.misbehave(Misbehaviour::StopAfterTokenExchange);
    let outcome = client.run().await?;
    assert!(outcome.session.is_none());
    let log = server.received_requests();
    let token = log
        .iter()
        .find(|r| r.grant_type.as_deref() == Some("authorization_code") && r.status == 200)
        .context("no token exchange")?;
    assert!(!log
        .iter()
        .any(|r| r.seq > token.seq && r.rpc_method.as_deref() == Some("initialize")));
    Ok(())
}

#[tokio::test]
async fn the_sse_stream_opens_with_a_session_and_get_without_accept_is_405() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let (_, token, session) = connected(&server).await?;
    let http = reqwest::Client::new();
    let plain = http
        .get(server.mcp_url())
        .bearer_auth(&token)
        .header("mcp-session-id", &session.session_id)
        .send()
        .await?;
    assert_eq!(plain.status(), StatusCode::METHOD_NOT_ALLOWED);
    let stream = http
        .get(server.mcp_url())
        .bearer_auth(&token)
        .header(ACCEPT, "text/event-stream")
        .header("mcp-session-id", &session.session_id)
        .send()
        .await?;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()[CONTENT_TYPE], "text/event-stream");
    // Deleting the session ends the stream, so reading the body to its end returns.
    let deleted = http
        .delete(server.mcp_url())
        .bearer_auth(&token)
        .header("mcp-session-id", &session.session_id)
        .send()
        .await?;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let body = tokio::time::timeout(Duration::from_secs(5), stream.text()).await??;
    assert!(body.starts_with(": stream open"), "{body:?}");
    let (status, _) = raw_post(
        &server,
        &token,
        Some(&session.session_id),
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

/// Gemini CLI and Qwen Code probe the MCP endpoint with `HEAD` before connecting, and need the
/// challenge a `POST` without a token gets (RFC 6750 §3, RFC 9728 §5.1) to find the resource
/// metadata; a `HEAD` answer has no body (RFC 9110 §9.3.2). Each probe is logged.
#[rstest]
#[case::default(MockConfig::default())]
#[case::bare_challenge_on_mcp_path(MockConfig {
    discovery: Discovery {
        resource_metadata_at: ResourceMetadataAt::PathSpecific,
        challenge_names_metadata: false,
        mcp_path: "/mcp".to_owned(),
        ..Discovery::default()
    },
    ..MockConfig::default()
})]
#[case::only_2026_07_28(MockConfig {
    revisions: vec![Revision::V2026_07_28],
    ..MockConfig::default()
})]
#[tokio::test]
async fn head_without_a_token_gets_the_challenge_a_post_gets_and_no_body(
    #[case] config: MockConfig,
) -> anyhow::Result<()> {
    let server = MockServer::builder().config(config).start().await?;
    let http = reqwest::Client::new();
    let post = http
        .post(server.mcp_url())
        .header(CONTENT_TYPE, "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await?;
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    let head = http.head(server.mcp_url()).send().await?;
    assert_eq!(head.status(), StatusCode::UNAUTHORIZED);
    let challenge = head
        .headers()
        .get(WWW_AUTHENTICATE)
        .context("HEAD 401 without WWW-Authenticate")?
        .clone();
    assert_eq!(Some(&challenge), post.headers().get(WWW_AUTHENTICATE));
    assert!(head.bytes().await?.is_empty());
    let record = last_mcp(&server.received_requests())?.clone();
    assert_eq!(
        (record.method.as_str(), record.status, record.bearer),
        ("HEAD", 401, Bearer::None)
    );
    Ok(())
}

/// With a valid token, `HEAD` answers what `GET` answers for the revision, without a body: on a
/// legacy server 405 (`Allow: GET, POST, DELETE`) without `Accept: text/event-stream`, 400
/// without a session, the stream's headers with one (and no stream is held open); on a
/// 2026-07-28-only server, which has no GET stream, 405 (`Allow: POST`).
#[tokio::test]
async fn head_with_a_valid_token_answers_what_get_answers_without_a_body() -> anyhow::Result<()> {
    let legacy = MockServer::start().await;
    let (_, token, session) = connected(&legacy).await?;
    let modern = MockServer::builder()
        .revisions(&[Revision::V2026_07_28])
        .start()
        .await?;
    let modern_token = StandInClient::new(&modern.mcp_url())?
        .authenticate()
        .await?
        .access_token;
    let http = reqwest::Client::new();
    let sse = Some("text/event-stream");
    // (server, token, Accept, Mcp-Session-Id) and the answer expected: (status, Allow).
    let cases = [
        (
            (&legacy, &token, None, Some(session.session_id.as_str())),
            (405, Some("GET, POST, DELETE")),
        ),
        ((&legacy, &token, sse, None), (400, None)),
        ((&legacy, &token, sse, Some("no-such-session")), (404, None)),
        (
            (&legacy, &token, sse, Some(session.session_id.as_str())),
            (200, None),
        ),
        ((&modern, &modern_token, sse, None), (405, Some("POST"))),
    ];
    for ((server, token, accept, session), (status, allow)) in cases {
        let mut answers = Vec::new();
        for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
            let mut request = http.request(method, server.mcp_url()).bearer_auth(token);
            if let Some(accept) = accept {
                request = request.header(ACCEPT, accept);
            }
            if let Some(session) = session {
                request = request.header("mcp-session-id", session);
            }
            answers.push(tokio::time::timeout(Duration::from_secs(5), request.send()).await??);
        }
        let head = answers.pop().context("HEAD")?;
        let get = answers.pop().context("GET")?;
        let case = format!("{accept:?} {session:?}");
        assert_eq!(head.status().as_u16(), status, "{case}");
        assert_eq!(get.status(), head.status(), "{case}");
        assert_eq!(
            head.headers()
                .get("allow")
                .map(|v| v.to_str())
                .transpose()?,
            allow,
            "{case}"
        );
        // The header fields GET would send (RFC 9110 §9.3.2); no `Content-Length` a stream's
        // GET would not have (§8.6).
        for name in [CONTENT_TYPE, reqwest::header::CONTENT_LENGTH] {
            assert_eq!(
                get.headers().get(&name),
                head.headers().get(&name),
                "{case}: {name}"
            );
        }
        let body = tokio::time::timeout(Duration::from_secs(5), head.bytes()).await??;
        assert!(body.is_empty(), "{case}: {body:?}");
        let record = last_mcp(&server.received_requests())?.clone();
        assert_eq!(
            (record.method.as_str(), record.status),
            ("HEAD", status),
            "{case}"
        );
        assert!(matches!(record.bearer, Bearer::Valid { .. }), "{case}");
    }
    Ok(())
}

/// The authorization-server metadata and the three authorization responses a client can get,
/// each the redirect's `Location`: a code (consent approved), `access_denied` (denied), and an
/// error from the authorization endpoint itself (no PKCE challenge).
async fn authorization_responses(server: &MockServer) -> anyhow::Result<(Value, [Url; 3])> {
    const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let issuer = Url::parse(&server.issuer())?;
    let mut metadata_url = issuer.clone();
    metadata_url.set_path(&format!(
        "{}{}",
        paths::AUTHORIZATION_SERVER_METADATA,
        issuer.path().trim_end_matches('/')
    ));
    let asm: Value = http.get(metadata_url).send().await?.json().await?;
    let registered: Value = http
        .post(
            asm["registration_endpoint"]
                .as_str()
                .context("registration")?,
        )
        .json(&json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}))
        .send()
        .await?
        .json()
        .await?;
    let client_id = registered["client_id"].as_str().context("client_id")?;
    let authorize = |pkce: bool| -> anyhow::Result<Url> {
        let mut url = Url::parse(
            asm["authorization_endpoint"]
                .as_str()
                .context("authorize")?,
        )?;
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("state", "st");
        if pkce {
            query
                .append_pair("code_challenge", &s256_challenge("v".repeat(43).as_str()))
                .append_pair("code_challenge_method", "S256");
        }
        drop(query);
        Ok(url)
    };
    let location = |response: reqwest::Response| -> anyhow::Result<Url> {
        anyhow::ensure!(
            response.status() == StatusCode::FOUND,
            "{}",
            response.status()
        );
        let location = response.headers()[LOCATION].to_str()?;
        anyhow::ensure!(location.starts_with(REDIRECT_URI), "{location}");
        Ok(Url::parse(location)?)
    };
    let mut decided = Vec::new();
    for decision in ["approve", "deny"] {
        let page = http.get(authorize(true)?).send().await?.text().await?;
        let request_id =
            mock_server::client::hidden_input(&page, "request_id").context("request_id")?;
        let answer = http
            .post(server.config().oauth_url(paths::CONSENT))
            .form(&[("request_id", request_id.as_str()), ("decision", decision)])
            .send()
            .await?;
        decided.push(location(answer)?);
    }
    let refused = location(http.get(authorize(false)?).send().await?)?;
    let [approved, denied]: [Url; 2] = decided
        .try_into()
        .map_err(|_| anyhow::anyhow!("two decisions"))?;
    Ok((asm, [approved, denied, refused]))
}

fn query_params(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// RFC 9207 §2, §2.3: the metadata advertises `iss`, and every authorization response, errors
/// too, carries the metadata's exact `issuer` (form-encoded) after `code`/`error` and `state`.
#[rstest]
#[case::default(Discovery::default())]
#[case::issuer_path(Discovery { issuer_path: Some("/tenant1".to_owned()), ..Discovery::default() })]
#[case::separate_authorization_server(Discovery {
    separate_authorization_server: true,
    ..Discovery::default()
})]
#[tokio::test]
async fn every_authorization_response_names_the_issuer_rfc_9207(
    #[case] discovery: Discovery,
) -> anyhow::Result<()> {
    let server = MockServer::builder().discovery(discovery).start().await?;
    let (asm, responses) = authorization_responses(&server).await?;
    assert_eq!(
        asm["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    let issuer = asm["issuer"].as_str().context("issuer")?;
    assert_eq!(issuer, server.issuer());
    let encoded: String = url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect();
    for (response, first) in responses.iter().zip(["code", "error", "error"]) {
        let params = query_params(response);
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        let expected: &[&str] = if first == "code" {
            &["code", "state", "iss"]
        } else {
            &["error", "error_description", "state", "iss"]
        };
        assert_eq!(names, expected, "{response}");
        assert_eq!(
            params.last().map(|(_, v)| v.as_str()),
            Some(issuer),
            "{response}"
        );
        assert!(
            response.as_str().ends_with(&format!("&iss={encoded}")),
            "{response}"
        );
    }
    Ok(())
}

/// The omit switch: a server from before RFC 9207, neither the metadata field nor `iss`.
#[tokio::test]
async fn with_iss_omitted_neither_the_metadata_nor_a_response_mentions_it() -> anyhow::Result<()> {
    let server = MockServer::builder().omit_iss().start().await?;
    let (asm, responses) = authorization_responses(&server).await?;
    assert!(
        asm.get("authorization_response_iss_parameter_supported")
            .is_none(),
        "{asm}"
    );
    for response in &responses {
        assert!(
            query_params(response).iter().all(|(k, _)| k != "iss"),
            "{response}"
        );
    }
    Ok(())
}

/// The wrong switch: `iss` advertised, but every response names another issuer, the real one
/// with a path appended (what a client comparing origins or prefixes would let through).
#[tokio::test]
async fn with_a_wrong_iss_the_metadata_advertises_it_and_responses_name_another_issuer(
) -> anyhow::Result<()> {
    let server = MockServer::builder().wrong_iss().start().await?;
    let (asm, responses) = authorization_responses(&server).await?;
    assert_eq!(
        asm["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert_eq!(asm["issuer"], json!(server.issuer()));
    for response in &responses {
        let iss = query_params(response)
            .into_iter()
            .find(|(k, _)| k == "iss")
            .map(|(_, v)| v)
            .context("no iss")?;
        assert_ne!(iss, server.issuer());
        assert_eq!(iss, format!("{}{WRONG_ISSUER_SUFFIX}", server.issuer()));
    }
    Ok(())
}

/// RFC 9207 §2.4 in the stand-in client: it refuses an authorization response naming another
/// issuer and goes no further (no token request); told to ignore `iss`, it gets through, so the
/// refusal is the check's doing. Without `iss` from a server that does not advertise it, it gets
/// through too.
#[tokio::test]
async fn the_stand_in_client_refuses_a_wrong_iss_and_takes_a_missing_one_when_not_advertised(
) -> anyhow::Result<()> {
    let wrong = MockServer::builder().wrong_iss().start().await?;
    let Err(refused) = StandInClient::new(&wrong.mcp_url())?.run().await else {
        anyhow::bail!("a wrong iss was accepted");
    };
    let ClientError::WrongIssuer {
        step,
        expected,
        iss,
    } = &refused
    else {
        anyhow::bail!("expected WrongIssuer, got {refused}");
    };
    assert_eq!(*step, "authorize");
    assert_eq!(expected, &wrong.issuer());
    assert_eq!(
        iss.as_deref(),
        Some(format!("{}{WRONG_ISSUER_SUFFIX}", wrong.issuer()).as_str())
    );
    let log = wrong.received_requests();
    assert!(
        log.iter().all(|r| r.phase != Phase::Token),
        "a grant after a wrong iss"
    );
    // An error response naming another issuer is not believed either (§2.4).
    let Err(error) = StandInClient::new(&wrong.mcp_url())?
        .misbehave(Misbehaviour::SkipPkce)
        .run()
        .await
    else {
        anyhow::bail!("a wrong iss on an error response was accepted");
    };
    assert!(matches!(error, ClientError::WrongIssuer { .. }), "{error}");
    StandInClient::new(&wrong.mcp_url())?
        .misbehave(Misbehaviour::IgnoreIss)
        .run()
        .await?;
    let omitted = MockServer::builder().omit_iss().start().await?;
    StandInClient::new(&omitted.mcp_url())?.run().await?;
    Ok(())
}

#[tokio::test]
async fn the_admin_route_serves_the_access_log_to_loopback_and_records_itself() -> anyhow::Result<()>
{
    let server = MockServer::start().await;
    StandInClient::new(&server.mcp_url())?.run().await?;
    let records: Vec<AccessRecord> = reqwest::get(format!("{}/__admin/access-log", server.uri()))
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(records, server.received_requests()[..records.len()]);
    let last = server
        .received_requests()
        .last()
        .cloned()
        .context("empty log")?;
    assert_eq!((last.phase, last.status), (Phase::Admin, 200));
    Ok(())
}

#[tokio::test]
async fn the_access_log_never_contains_a_secret() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("access.jsonl");
    let server = MockServer::builder().access_log_file(&path).start().await?;
    let outcome = StandInClient::new(&server.mcp_url())?.run().await?;
    let file = std::fs::read_to_string(&path)?;
    assert_eq!(file.lines().count(), server.received_requests().len());
    assert!(!file.contains(&outcome.tokens.access_token));
    assert!(!file.contains(outcome.tokens.refresh_token.as_deref().unwrap_or("-")));
    assert!(file.contains(r#""token_id":"at-1""#));
    Ok(())
}
