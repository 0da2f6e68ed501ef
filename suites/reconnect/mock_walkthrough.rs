//! The seed report's Appendix A curl walk-through, done with reqwest against the mock: the flow a
//! conformant server must support end to end, and the access log it leaves behind.

use anyhow::{anyhow, ensure, Context};
use mock_server::{render_canonical, s256_challenge, MockServer};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

use crate::support::snapshot_settings;

const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

fn query_param(location: &str, name: &str) -> anyhow::Result<String> {
    let url = Url::parse(location)?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| anyhow!("no {name} in {location}"))
}

async fn mcp(
    http: &reqwest::Client,
    server: &MockServer,
    token: &str,
    session: Option<&str>,
    body: Value,
) -> anyhow::Result<reqwest::Response> {
    let mut request = http
        .post(server.mcp_url())
        .bearer_auth(token)
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Some(session) = session {
        request = request
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-06-18");
    }
    Ok(request.send().await?)
}

#[tokio::test]
async fn walkthrough_follows_the_seed_report() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let http = http()?;
    let base = server.uri();

    // POST /oauth/register → 201, client_id issued
    let registered = http
        .post(format!("{base}/oauth/register"))
        .json(&json!({"client_name": "curl", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}))
        .send()
        .await?;
    ensure!(
        registered.status() == StatusCode::CREATED,
        "register: {}",
        registered.status()
    );
    let client_id = registered.json::<Value>().await?["client_id"]
        .as_str()
        .context("client_id")?
        .to_owned();

    // GET /.well-known/oauth-authorization-server → 200, RFC 8414
    let asm: Value = http
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(asm["issuer"], json!(base));
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    let authorization_endpoint = asm["authorization_endpoint"]
        .as_str()
        .context("authorize")?;
    let token_endpoint = asm["token_endpoint"].as_str().context("token")?.to_owned();

    // GET /.well-known/oauth-protected-resource → 200, RFC 9728
    let prm: Value = http
        .get(format!("{base}/.well-known/oauth-protected-resource"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(prm["resource"], json!(server.mcp_url()));
    assert_eq!(prm["authorization_servers"], json!([base]));

    // GET /oauth/authorize?… → 200, consent page
    let mut authorize = Url::parse(authorization_endpoint)?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("code_challenge", &s256_challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "xyz")
        .append_pair("resource", &server.mcp_url());
    let page = http.get(authorize.as_str()).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await?;
    assert!(html.contains("<form method=\"post\" action=\"/oauth/consent\">"));
    let request_id =
        mock_server::client::hidden_input(&html, "request_id").context("request_id")?;

    // POST /oauth/consent … → 302 with auth code
    let consent = http
        .post(format!("{base}/oauth/consent"))
        .form(&[("request_id", request_id.as_str()), ("decision", "approve")])
        .send()
        .await?;
    assert_eq!(consent.status(), StatusCode::FOUND);
    let location = consent.headers()[LOCATION].to_str()?.to_owned();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_param(&location, "state")?, "xyz");
    let code = query_param(&location, "code")?;

    // POST /oauth/token grant_type=authorization_code → 200, access + refresh, expires_in 3600
    let tokens = http
        .post(&token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
            ("resource", &server.mcp_url()),
        ])
        .send()
        .await?;
    assert_eq!(tokens.status(), StatusCode::OK);
    assert_eq!(tokens.headers()["cache-control"], "no-store");
    let tokens: Value = tokens.json().await?;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = tokens["access_token"]
        .as_str()
        .context("access_token")?
        .to_owned();
    let refresh = tokens["refresh_token"]
        .as_str()
        .context("refresh_token")?
        .to_owned();

    // POST / initialize → 200, Mcp-Session-Id, protocolVersion 2025-06-18
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "curl", "version": "8"}}});
    let response = mcp(&http, &server, &access, None, init).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"].to_str()?.to_owned();
    let result: Value = response.json().await?;
    assert_eq!(result["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(
        result["result"]["capabilities"]["tools"]["listChanged"],
        true
    );

    // POST / notifications/initialized → 202
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = mcp(&http, &server, &access, Some(&session), initialized).await?;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.text().await?.is_empty());

    // POST / tools/list → 200, the tools with their schemas
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let listed: Value = mcp(&http, &server, &access, Some(&session), list)
        .await?
        .json()
        .await?;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .context("tools")?
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["hello", "add", "get_weather", "search_notes", "whoami"]
    );

    // POST / tools/call hello → 200, isError: false
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "hello", "arguments": {"name": "seed"}}});
    let called: Value = mcp(&http, &server, &access, Some(&session), call)
        .await?
        .json()
        .await?;
    assert_eq!(called["result"]["isError"], false);
    assert_eq!(called["result"]["content"][0]["text"], "Hello, seed!");

    // POST /oauth/token grant_type=refresh_token → 200, new pair issued, old access revoked
    let refreshed: Value = http
        .post(&token_endpoint)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ])
        .send()
        .await?
        .json()
        .await?;
    let new_access = refreshed["access_token"]
        .as_str()
        .context("new access_token")?;
    assert_ne!(new_access, access);
    assert_ne!(refreshed["refresh_token"].as_str(), Some(refresh.as_str()));
    let ping = json!({"jsonrpc": "2.0", "id": 3, "method": "ping"});
    let old = mcp(&http, &server, &access, Some(&session), ping.clone()).await?;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    assert!(old.headers()[WWW_AUTHENTICATE]
        .to_str()?
        .contains("error=\"invalid_token\""));
    let new = mcp(&http, &server, new_access, Some(&session), ping).await?;
    assert_eq!(new.status(), StatusCode::OK);

    let text = render_canonical(&server.received_requests());
    snapshot_settings().bind(|| insta::assert_snapshot!("mock_walkthrough_access_log", text));
    Ok(())
}
