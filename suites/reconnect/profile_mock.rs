//! The configurable mock on its own (no CLI): the seed profile answers as the report says, every
//! revision negotiates as its specification says, 2026-07-28 is stateless and strict about
//! `_meta` and headers, a dual-era server serves both eras, and each quirk is on the wire. The
//! stand-in client speaks both eras; the revision-aware checks judge its logs.

use harness::checks::timeline::canonical_text;
use harness::checks::{self, Verdict};
use mock_server::client::{ClientError, Misbehaviour, StandInClient};
use mock_server::{MockConfig, MockServer, Profile, Quirk, Revision};
use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{json, Value};

use crate::support::snapshot_settings;

const MODERN: &str = "2026-07-28";

fn verdicts(server: &MockServer) -> Vec<Verdict> {
    checks::reconnect_checks(&server.received_requests())
        .iter()
        .map(|c| c.verdict)
        .collect()
}

/// A raw 2026-07-28 request with the token; `meta` and the headers as given.
async fn modern_post(
    server: &MockServer,
    token: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut request = reqwest::Client::new()
        .post(server.mcp_url())
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body.to_string()).send().await?;
    let status = response.status();
    Ok((status, response.json().await?))
}

fn with_meta(method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
}

#[tokio::test]
async fn the_seed_profile_answers_as_the_report_says() -> anyhow::Result<()> {
    let server = MockServer::builder().profile(Profile::Seed).start().await?;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let outcome = client.run().await?;
    let session = outcome.session.expect("a session");
    assert_eq!(session.protocol_version, "2025-06-18");
    let init = &session.initialize_result;
    for key in ["name", "version", "description", "icons"] {
        assert!(
            init["serverInfo"].get(key).is_some(),
            "serverInfo.{key}: {init}"
        );
    }
    assert_eq!(
        init["capabilities"],
        json!({"logging": {}, "completions": {}, "prompts": {"listChanged": true},
               "resources": {"listChanged": true}, "tools": {"listChanged": true}})
    );
    // 24 distinct tools, each with its own input schema, a title and annotations.
    let tools = client
        .list_tools(&outcome.tokens.access_token, &session)
        .await?;
    assert_eq!(tools.len(), 24);
    let mut schemas: Vec<String> = tools.iter().map(|t| t["inputSchema"].to_string()).collect();
    schemas.sort();
    schemas.dedup();
    assert!(schemas.len() >= 22, "input schemas are mostly distinct");
    assert!(tools
        .iter()
        .all(|t| t["title"].is_string() && t["annotations"].is_object()));
    assert!(
        tools
            .iter()
            .filter(|t| t.get("outputSchema").is_some())
            .count()
            >= 15
    );
    assert_eq!(
        outcome.hello_result.map(|r| r["isError"].clone()),
        Some(json!(false))
    );
    // The other methods the capabilities promise.
    let token = &outcome.tokens.access_token;
    for (method, params, key) in [
        ("prompts/list", json!({}), "prompts"),
        ("resources/list", json!({}), "resources"),
        ("resources/templates/list", json!({}), "resourceTemplates"),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "draft_reply"}, "argument": {"name": "tone", "value": "f"}}),
            "completion",
        ),
    ] {
        let result = client.request(token, &session, method, params).await?;
        assert!(result.get(key).is_some(), "{method}: {result}");
    }
    let set_level = client
        .request(
            token,
            &session,
            "logging/setLevel",
            json!({"level": "warning"}),
        )
        .await?;
    assert_eq!(set_level, json!({}));
    assert_eq!(verdicts(&server), vec![Verdict::Pass; 3]);

    // CORS on POST /, and the preflight answered.
    let http = reqwest::Client::new();
    let post = http.post(server.mcp_url()).body("{}").send().await?;
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        post.headers()["access-control-expose-headers"],
        "Mcp-Session-Id"
    );
    let preflight = http
        .request(reqwest::Method::OPTIONS, server.mcp_url())
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await?;
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET, POST, DELETE, OPTIONS"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "Accept,Authorization,Content-Type,Last-Event-ID,Mcp-Protocol-Version,Mcp-Session-Id"
    );
    Ok(())
}

/// The token response as the report's server sent it, against the default profile's RFC 6749
/// §5.1 headers.
#[rstest]
#[case::seed(Profile::Seed, "no-cache, private", None)]
#[case::default(Profile::Default, "no-store", Some("no-cache"))]
#[tokio::test]
async fn the_token_response_headers_follow_the_profile(
    #[case] profile: Profile,
    #[case] cache_control: &str,
    #[case] pragma: Option<&str>,
) -> anyhow::Result<()> {
    let server = MockServer::builder().profile(profile).start().await?;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let discovery = client.discover().await?;
    let registration = client.register().await?;
    let code = client.authorize().await?;
    let response = reqwest::Client::new()
        .post(&discovery.token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.code.as_str()),
            ("client_id", registration.client_id.as_str()),
            ("redirect_uri", registration.redirect_uri.as_str()),
            (
                "code_verifier",
                code.verifier.as_deref().unwrap_or_default(),
            ),
            ("resource", discovery.resource.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], cache_control);
    assert_eq!(
        response
            .headers()
            .get("pragma")
            .map(|v| v.to_str().unwrap_or_default()),
        pragma
    );
    Ok(())
}

/// Legacy revisions: `initialize` gets the client's revision when offered, else the server's
/// newest legacy one (2025-11-25, Basic › Lifecycle › "Version Negotiation").
#[rstest]
#[case::only_2025_03_26(&[Revision::V2025_03_26], "2025-03-26")]
#[case::only_2025_06_18(&[Revision::V2025_06_18], "2025-06-18")]
#[case::all_legacy(&[Revision::V2025_03_26, Revision::V2025_06_18, Revision::V2025_11_25], "2025-11-25")]
#[case::dual_era(&[Revision::V2025_11_25, Revision::V2026_07_28], "2025-11-25")]
#[case::dual_era_old_legacy(&[Revision::V2025_06_18, Revision::V2026_07_28], "2025-06-18")]
#[tokio::test]
async fn initialize_negotiates_among_the_legacy_revisions(
    #[case] revisions: &[Revision],
    #[case] negotiated: &str,
) -> anyhow::Result<()> {
    let server = MockServer::builder().revisions(revisions).start().await?;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let outcome = client.run().await?;
    let session = outcome.session.expect("a session");
    assert_eq!(session.protocol_version, negotiated);
    // outputSchema and titles only from 2025-06-18 on.
    let tools = client
        .list_tools(&outcome.tokens.access_token, &session)
        .await?;
    assert_eq!(
        tools.iter().any(|t| t.get("outputSchema").is_some()),
        negotiated >= "2025-06-18"
    );
    assert_eq!(verdicts(&server), vec![Verdict::Pass; 3]);
    let log = server.received_requests();
    assert!(log
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("tools/list"))
        .all(|r| r.negotiated.as_deref() == Some(negotiated)));
    Ok(())
}

/// A 2026-07-28-only server: the stand-in client discovers, lists and calls statelessly and
/// passes the reconnect checks under the stateless rule; a handshake client is refused with
/// `UnsupportedProtocolVersionError`; GET has no stream.
#[tokio::test]
async fn a_2026_07_28_server_is_stateless() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .revisions(&[Revision::V2026_07_28])
        .start()
        .await?;
    let mut modern = StandInClient::new(&server.mcp_url())?.speak_modern();
    let outcome = modern.run().await?;
    let session = outcome.session.expect("discovery");
    assert_eq!(session.session_id, "", "no session in 2026-07-28");
    assert_eq!(
        session.initialize_result["supportedVersions"],
        json!([MODERN])
    );
    assert_eq!(session.initialize_result["resultType"], "complete");
    assert_eq!(
        outcome.hello_result.map(|r| r["resultType"].clone()),
        Some(json!("complete"))
    );
    let checks = checks::reconnect_checks(&server.received_requests());
    assert!(
        checks.iter().all(|c| c.verdict == Verdict::Pass),
        "{checks:#?}"
    );
    assert!(
        checks[1].summary.contains("stateless"),
        "{}",
        checks[1].summary
    );
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            "profile_mock__stand_in_client__2026_07_28_only",
            canonical_text(&server.received_requests())
        )
    });

    let token = outcome.tokens.access_token;
    // A handshake on a server with no legacy revision: 2026-07-28 removed `initialize`, and
    // Streamable HTTP answers a method the server does not implement with 404 and -32601 (the
    // conformance suite's server-stateless; it was 400 -32022 before, docs/conformance.md).
    let mut legacy = StandInClient::new(&server.mcp_url())?;
    match legacy.initialize(&token).await {
        Err(ClientError::JsonRpc { status, code, .. }) => assert_eq!((status, code), (404, -32601)),
        other => panic!("initialize on a 2026-07-28-only server: {other:?}"),
    }
    let get = reqwest::Client::new()
        .get(server.mcp_url())
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}

/// 2026-07-28 request rules, one refusal each: the `_meta` keys, the version, and the headers
/// that mirror the body.
#[tokio::test]
async fn a_2026_07_28_server_refuses_what_the_revision_forbids() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .revisions(&[Revision::V2026_07_28])
        .start()
        .await?;
    let token = StandInClient::new(&server.mcp_url())?
        .authenticate()
        .await?
        .access_token;
    let good = [
        ("mcp-protocol-version", MODERN),
        ("mcp-method", "tools/list"),
    ];
    let (status, ok) =
        modern_post(&server, &token, &good, with_meta("tools/list", json!({}))).await?;
    assert_eq!(
        (status, ok["result"]["resultType"].clone()),
        (StatusCode::OK, json!("complete"))
    );

    let no_meta = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let (status, body) = modern_post(&server, &token, &good, no_meta).await?;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(-32602))
    );

    let mut future = with_meta("tools/list", json!({}));
    future["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2027-01-01");
    let (status, body) = modern_post(
        &server,
        &token,
        &[
            ("mcp-protocol-version", "2027-01-01"),
            ("mcp-method", "tools/list"),
        ],
        future,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(
        body["error"]["data"],
        json!({"supported": [MODERN], "requested": "2027-01-01"})
    );

    for headers in [
        vec![("mcp-method", "tools/list")],
        vec![
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-method", "tools/list"),
        ],
        vec![("mcp-protocol-version", MODERN)],
        vec![
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "prompts/list"),
        ],
    ] {
        let (status, body) = modern_post(
            &server,
            &token,
            &headers,
            with_meta("tools/list", json!({})),
        )
        .await?;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(-32020)),
            "{headers:?}"
        );
    }
    let call = with_meta(
        "tools/call",
        json!({"name": "hello", "arguments": {"name": "x"}}),
    );
    let (status, body) = modern_post(
        &server,
        &token,
        &[
            ("mcp-protocol-version", MODERN),
            ("mcp-method", "tools/call"),
            ("mcp-name", "add"),
        ],
        call,
    )
    .await?;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(-32020))
    );

    let ping = with_meta("ping", json!({}));
    let (_, body) = modern_post(
        &server,
        &token,
        &[("mcp-protocol-version", MODERN), ("mcp-method", "ping")],
        ping,
    )
    .await?;
    assert_eq!(
        body["error"]["code"], -32601,
        "ping was removed in 2026-07-28"
    );
    let log = server.received_requests();
    assert!(log
        .iter()
        .filter(|r| r.path == "/" && r.bearer != mock_server::Bearer::None)
        .all(|r| r.modern));
    Ok(())
}

/// A dual-era server serves a handshake client and a stateless client on the same endpoint;
/// each client's log passes under its own revision's rule.
#[tokio::test]
async fn a_dual_era_server_serves_both_eras() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .revisions(&[Revision::V2025_11_25, Revision::V2026_07_28])
        .start()
        .await?;
    StandInClient::new(&server.mcp_url())?
        .speak_modern()
        .run()
        .await?;
    let modern_checks = checks::reconnect_checks(&server.received_requests());
    assert!(
        modern_checks.iter().all(|c| c.verdict == Verdict::Pass),
        "{modern_checks:#?}"
    );
    assert!(modern_checks[1].summary.contains(MODERN));
    let legacy = StandInClient::new(&server.mcp_url())?.run().await?;
    assert_eq!(
        legacy.session.map(|s| s.protocol_version).as_deref(),
        Some("2025-11-25")
    );
    let legacy_checks = checks::reconnect_checks(&server.received_requests());
    assert!(
        legacy_checks.iter().all(|c| c.verdict == Verdict::Pass),
        "{legacy_checks:#?}"
    );
    assert!(legacy_checks[1]
        .summary
        .contains("notifications/initialized"));
    Ok(())
}

/// Negative control for the stateless rule: a client that sends 2026-07-28 requests without
/// `_meta` is refused, and the checks fail.
#[tokio::test]
async fn a_client_that_omits_meta_fails_the_stateless_checks() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .revisions(&[Revision::V2026_07_28])
        .start()
        .await?;
    let result = StandInClient::new(&server.mcp_url())?
        .speak_modern()
        .misbehave(Misbehaviour::OmitMeta)
        .run()
        .await;
    assert_eq!(result.err().and_then(|e| e.rpc_code()), Some(-32602));
    assert_eq!(
        verdicts(&server),
        vec![Verdict::Pass, Verdict::Fail, Verdict::Fail]
    );
    Ok(())
}

/// Each quirk, as it goes out on the wire.
#[rstest]
#[case::properties(Quirk::EmptyPropertiesAsArray)]
#[case::capabilities(Quirk::EmptyCapabilitiesAsArray)]
#[case::server_info(Quirk::EmptyServerInfoAsArray)]
#[case::dotted(Quirk::DottedToolNames)]
#[case::unknown_type(Quirk::UnknownOutputSchemaType)]
#[case::no_session(Quirk::NoSessionId)]
#[tokio::test]
async fn each_quirk_is_on_the_wire(
    #[case] quirk: Quirk,
    #[values(Profile::Default, Profile::Seed)] profile: Profile,
) -> anyhow::Result<()> {
    let server = MockServer::builder()
        .profile(profile)
        .quirk(quirk)
        .start()
        .await?;
    let mut client = StandInClient::new(&server.mcp_url())?;
    let outcome = client.run().await?;
    let session = outcome.session.expect("a session");
    let tools = client
        .list_tools(&outcome.tokens.access_token, &session)
        .await?;
    let init = &session.initialize_result;
    match quirk {
        Quirk::EmptyPropertiesAsArray => assert!(tools
            .iter()
            .any(|t| t["inputSchema"]["properties"] == json!([]))),
        Quirk::EmptyCapabilitiesAsArray => assert_eq!(init["capabilities"]["logging"], json!([])),
        Quirk::EmptyServerInfoAsArray => assert_eq!(init["serverInfo"]["_meta"], json!([])),
        Quirk::DottedToolNames => {
            assert!(tools.iter().any(|t| t["name"] == "hello"));
            assert!(tools
                .iter()
                .filter(|t| t["name"] != "hello")
                .all(|t| t["name"].as_str().is_some_and(|n| n.contains('.'))));
            assert_eq!(server.tool_names().len(), tools.len());
        }
        Quirk::UnknownOutputSchemaType => assert!(tools
            .iter()
            .any(|t| t["outputSchema"]["properties"]["metadata"] == json!({"type": "mixed"}))),
        Quirk::NoSessionId => {
            assert_eq!(session.session_id, "");
            let log = server.received_requests();
            assert!(log.iter().all(|r| r.session_id.is_none()));
        }
        Quirk::EmptyObjectAsArray => unreachable!(),
    }
    // The stand-in client copes with every quirk, so the checks pass: the quirks are a test of
    // strict clients, not of the checks.
    assert_eq!(verdicts(&server), vec![Verdict::Pass; 3]);
    Ok(())
}

/// The same configuration from a TOML file, a JSON file and the builder.
#[tokio::test]
async fn a_config_file_selects_the_same_server_as_the_builder() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let toml = dir.path().join("mock.toml");
    std::fs::write(
        &toml,
        "profile = \"seed\"\nrevisions = [\"2025-06-18\", \"2026-07-28\"]\nquirks = [\"dotted-tool-names\"]\n[faults]\nforget_sessions = false\n",
    )?;
    let json_file = dir.path().join("mock.json");
    std::fs::write(
        &json_file,
        r#"{"profile":"seed","revisions":["2026-07-28","2025-06-18"],"quirks":["dotted-tool-names"]}"#,
    )?;
    let from_toml = MockConfig::from_file(&toml)?;
    let from_json = MockConfig::from_file(&json_file)?;
    assert_eq!(from_toml.offered_revisions(), from_json.offered_revisions());
    let server = MockServer::builder().config(from_toml).start().await?;
    let built = MockServer::builder()
        .profile(Profile::Seed)
        .revisions(&[Revision::V2026_07_28, Revision::V2025_06_18])
        .quirk(Quirk::DottedToolNames)
        .start()
        .await?;
    assert_eq!(server.tool_names(), built.tool_names());
    assert!(server
        .tool_names()
        .contains(&"weather.get_forecast".to_owned()));
    Ok(())
}

/// `subscriptions/listen` (2026-07-28, Basic › Patterns › Subscriptions): a stream whose first
/// message acknowledges the subscription, with the subscription id in `_meta` and the honoured
/// subset of the filter; it then stays open.
#[tokio::test]
async fn a_2026_07_28_server_acknowledges_a_subscription() -> anyhow::Result<()> {
    let server = MockServer::builder()
        .revisions(&[Revision::V2026_07_28])
        .start()
        .await?;
    let token = StandInClient::new(&server.mcp_url())?
        .authenticate()
        .await?
        .access_token;
    let body = with_meta(
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}}),
    );
    let mut response = reqwest::Client::new()
        .post(server.mcp_url())
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "subscriptions/listen")
        .body(body.to_string())
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let chunk = response.chunk().await?.unwrap_or_default();
    let text = String::from_utf8_lossy(&chunk);
    let data = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_default();
    let event: Value = serde_json::from_str(data)?;
    assert_eq!(event["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        event["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        7
    );
    // The default profile declares tools.listChanged only.
    assert_eq!(
        event["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    Ok(())
}
