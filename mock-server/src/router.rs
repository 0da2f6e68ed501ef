//! All routes of the mock server in one axum [`Router`], usable without a socket
//! (`tower::ServiceExt::oneshot`) or served by [`crate::MockServer`].

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::access_log::OnAuthorizationServer;
use crate::api_error::ApiError;
use crate::config::paths;
use crate::middleware::record_access;
use crate::state::AppState;
use crate::{admin, mcp, oauth};

/// The MCP server's listener: the MCP endpoint, the protected-resource metadata and, unless the
/// authorization server has an origin of its own, the authorization server too.
pub fn router(state: AppState) -> Router {
    let config = state.config();
    // A server that is not OAuth has no metadata and no authorization server: 404s.
    if config.discovery.credentials == crate::discovery::Credentials::ApiKey {
        return finish(mcp::routes(config), state);
    }
    let mut app = Router::new()
        .merge(oauth::resource_metadata_routes(config))
        .merge(mcp::routes(config));
    if config.authorization_server_url.is_none() {
        app = app.merge(oauth::authorization_server_routes(config));
    }
    finish(app, state)
}

/// The authorization server's own listener, for a server configured with a separate origin for
/// it. Its requests go to the same access log, marked as arriving there.
pub fn authorization_server_router(state: AppState) -> Router {
    let app = oauth::authorization_server_routes(state.config());
    finish(app, state).layer(middleware::from_fn(mark_authorization_server))
}

fn finish(app: Router<AppState>, state: AppState) -> Router {
    app.route(paths::ADMIN_ACCESS_LOG, get(admin::access_log))
        .route(paths::ADMIN_EVENT, post(admin::event))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::shapes::reshape,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            mcp::cors::cors,
        ))
        // Outermost but for the listener's mark, so that every request is logged, 404s and
        // automatic 405s included.
        .layer(middleware::from_fn_with_state(state.clone(), record_access))
        .with_state(state)
}

async fn mark_authorization_server(mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(OnAuthorizationServer);
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::http(StatusCode::NOT_FOUND, "not found")
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::{Request, StatusCode};
    use rstest::rstest;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::access_log::Phase;
    use crate::config::ServerConfig;

    fn app() -> anyhow::Result<(AppState, Router)> {
        let state = AppState::new(ServerConfig::new("http://127.0.0.1:9")?)?;
        Ok((state.clone(), router(state)))
    }

    async fn body_json(response: axum::response::Response) -> anyhow::Result<Value> {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    #[tokio::test]
    async fn admin_route_refuses_a_peer_it_cannot_see() -> anyhow::Result<()> {
        let (state, app) = app()?;
        let request = Request::get(paths::ADMIN_ACCESS_LOG).body(Body::empty())?;
        let response = app.oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let log = state.received_requests();
        assert_eq!((log[0].phase, log[0].status), (Phase::Admin, 403));
        Ok(())
    }

    /// The lifecycle events are admin routes too: a peer that is not loopback, and has no admin
    /// token, changes nothing.
    #[rstest]
    #[case::unseen_peer(None, None, StatusCode::FORBIDDEN)]
    #[case::bridge_without_token(Some(BRIDGE_GATEWAY), None, StatusCode::FORBIDDEN)]
    #[case::bridge_with_the_token(Some(BRIDGE_GATEWAY), Some("s3cret"), StatusCode::OK)]
    #[case::loopback(Some(LOOPBACK), None, StatusCode::OK)]
    #[tokio::test]
    async fn admin_events_answer_loopback_and_token_holders_only(
        #[case] peer: Option<[u8; 4]>,
        #[case] token: Option<&str>,
        #[case] status: StatusCode,
    ) -> anyhow::Result<()> {
        let (state, app) = app_with_admin_token(Some("s3cret"))?;
        let mut request = Request::post("/__admin/fail-mcp-requests?status=503&count=1");
        if let Some(peer) = peer {
            request = request.extension(ConnectInfo(SocketAddr::from((peer, 40000))));
        }
        if let Some(token) = token {
            request = request.header(crate::config::ADMIN_TOKEN_HEADER, token);
        }
        let response = app.oneshot(request.body(Body::empty())?).await?;
        assert_eq!(response.status(), status);
        let armed = state.take_transport_fault().is_some();
        assert_eq!(armed, status == StatusCode::OK);
        Ok(())
    }

    fn app_with_admin_token(token: Option<&str>) -> anyhow::Result<(AppState, Router)> {
        let mut config = ServerConfig::new("http://127.0.0.1:9")?;
        config.admin_token = token.map(str::to_owned);
        let state = AppState::new(config)?;
        Ok((state.clone(), router(state)))
    }

    /// An admin request as it arrives from `peer`, optionally with a token header.
    fn admin_request(peer: [u8; 4], token: Option<&str>) -> anyhow::Result<Request<Body>> {
        let mut request = Request::get(paths::ADMIN_ACCESS_LOG)
            .extension(ConnectInfo(SocketAddr::from((peer, 40000))));
        if let Some(token) = token {
            request = request.header(crate::config::ADMIN_TOKEN_HEADER, token);
        }
        Ok(request.body(Body::empty())?)
    }

    const LOOPBACK: [u8; 4] = [127, 0, 0, 1];
    /// Where a container sees requests from its host come from: the bridge's gateway.
    const BRIDGE_GATEWAY: [u8; 4] = [172, 17, 0, 1];

    #[rstest]
    #[case::loopback_without_a_configured_token(None, LOOPBACK, None, StatusCode::OK)]
    #[case::loopback_ignores_a_wrong_token(Some("s3cret"), LOOPBACK, Some("nope"), StatusCode::OK)]
    #[case::bridge_without_a_configured_token(None, BRIDGE_GATEWAY, None, StatusCode::FORBIDDEN)]
    #[case::bridge_presenting_a_token_nobody_configured(
        None,
        BRIDGE_GATEWAY,
        Some("s3cret"),
        StatusCode::FORBIDDEN
    )]
    #[case::bridge_without_the_token(Some("s3cret"), BRIDGE_GATEWAY, None, StatusCode::FORBIDDEN)]
    #[case::bridge_with_a_wrong_token(
        Some("s3cret"),
        BRIDGE_GATEWAY,
        Some("s3cres"),
        StatusCode::FORBIDDEN
    )]
    #[case::bridge_with_a_longer_token(
        Some("s3cret"),
        BRIDGE_GATEWAY,
        Some("s3cret2"),
        StatusCode::FORBIDDEN
    )]
    #[case::bridge_with_the_token(Some("s3cret"), BRIDGE_GATEWAY, Some("s3cret"), StatusCode::OK)]
    #[tokio::test]
    async fn admin_route_answers_loopback_or_the_admin_token_holder(
        #[case] configured: Option<&str>,
        #[case] peer: [u8; 4],
        #[case] presented: Option<&str>,
        #[case] status: StatusCode,
    ) -> anyhow::Result<()> {
        let (_, app) = app_with_admin_token(configured)?;
        let response = app.oneshot(admin_request(peer, presented)?).await?;
        assert_eq!(response.status(), status);
        Ok(())
    }

    #[tokio::test]
    async fn unknown_paths_are_404_and_logged() -> anyhow::Result<()> {
        let (state, app) = app()?;
        let request = Request::get("/.well-known/openid-configuration?x=1").body(Body::empty())?;
        let response = app.oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let log = state.received_requests();
        assert_eq!(log[0].path, "/.well-known/openid-configuration");
        assert_eq!((log[0].phase, log[0].status), (Phase::Discovery, 404));
        Ok(())
    }

    #[rstest]
    #[case::malformed_json("{", "invalid_client_metadata")]
    #[case::no_redirect_uris(r#"{"client_name":"x"}"#, "invalid_redirect_uri")]
    #[case::custom_scheme(r#"{"redirect_uris":["myapp://cb"]}"#, "invalid_redirect_uri")]
    #[case::http_to_a_remote_host(
        r#"{"redirect_uris":["http://evil.example/cb"]}"#,
        "invalid_redirect_uri"
    )]
    #[case::confidential_client(r#"{"redirect_uris":["http://localhost/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#, "invalid_client_metadata")]
    #[tokio::test]
    async fn registration_refuses_bad_metadata(
        #[case] body: &'static str,
        #[case] error: &str,
    ) -> anyhow::Result<()> {
        let (_, app) = app()?;
        let request = Request::post(paths::REGISTER)
            .header("content-type", "application/json")
            .body(Body::from(body))?;
        let response = app.oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body_json(response).await?["error"], error);
        Ok(())
    }

    #[rstest]
    #[case::not_a_form(
        "application/json",
        "grant_type=authorization_code",
        StatusCode::BAD_REQUEST,
        "invalid_request"
    )]
    #[case::no_grant_type(
        "application/x-www-form-urlencoded",
        "client_id=x",
        StatusCode::BAD_REQUEST,
        "invalid_request"
    )]
    #[case::unknown_grant_type(
        "application/x-www-form-urlencoded",
        "grant_type=password&client_id=x",
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type"
    )]
    #[case::unknown_client(
        "application/x-www-form-urlencoded",
        "grant_type=authorization_code&client_id=x&code=y",
        StatusCode::UNAUTHORIZED,
        "invalid_client"
    )]
    #[case::repeated_parameter(
        "application/x-www-form-urlencoded",
        "grant_type=refresh_token&grant_type=refresh_token",
        StatusCode::BAD_REQUEST,
        "invalid_request"
    )]
    #[tokio::test]
    async fn token_endpoint_refuses_malformed_requests(
        #[case] content_type: &str,
        #[case] body: &'static str,
        #[case] status: StatusCode,
        #[case] error: &str,
    ) -> anyhow::Result<()> {
        let (state, app) = app()?;
        let request = Request::post(paths::TOKEN)
            .header("content-type", content_type)
            .body(Body::from(body))?;
        let response = app.oneshot(request).await?;
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(body_json(response).await?["error"], error);
        assert_eq!(state.received_requests()[0].error.as_deref(), Some(error));
        Ok(())
    }

    /// Regression (found by the property tests in suites/reconnect/mock_fuzz.rs): a body over
    /// axum's 2 MiB limit was refused by the extractor with a `text/plain` 413, which is neither
    /// RFC 6749 error JSON nor a JSON-RPC error.
    #[rstest]
    #[case::token(paths::TOKEN, "application/x-www-form-urlencoded", "invalid_request")]
    #[case::register(paths::REGISTER, "application/json", "invalid_client_metadata")]
    #[case::mcp(paths::MCP, "application/json", "-32000")]
    #[case::consent(paths::CONSENT, "application/x-www-form-urlencoded", "invalid_request")]
    #[tokio::test]
    async fn an_oversized_body_is_refused_in_the_endpoints_own_error_shape(
        #[case] path: &str,
        #[case] content_type: &str,
        #[case] error: &str,
    ) -> anyhow::Result<()> {
        let (state, app) = app()?;
        let request = Request::post(path)
            .header("content-type", content_type)
            .body(Body::from(vec![b'a'; (2 << 20) + 1]))?;
        let response = app.oneshot(request).await?;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        let text = String::from_utf8_lossy(&bytes);
        if path == paths::CONSENT {
            assert!(
                text.contains(&format!("<code id=\"error\">{error}</code>")),
                "{text}"
            );
        } else if path == paths::MCP {
            let body: Value = serde_json::from_slice(&bytes)?;
            assert_eq!(body["error"]["code"].to_string(), error, "{body}");
            assert_eq!(body["jsonrpc"], "2.0");
        } else {
            let body: Value = serde_json::from_slice(&bytes)?;
            assert_eq!(body["error"], error, "{body}");
        }
        assert_eq!(state.received_requests()[0].status, 413);
        Ok(())
    }

    #[tokio::test]
    async fn garbage_never_panics_a_handler() -> anyhow::Result<()> {
        let (_, app) = app()?;
        for (method, path, body) in [
            ("POST", "/", "\u{0}\u{1}"),
            ("POST", paths::TOKEN, "%%%&&&=="),
            ("POST", paths::CONSENT, "request_id=%FF"),
            ("GET", "/oauth/authorize?client_id=%00&redirect_uri=%", ""),
            ("PUT", "/", ""),
        ] {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", &b"Bearer \xff\xfe"[..])
                .body(Body::from(body))?;
            let response = app.clone().oneshot(request).await?;
            assert!(
                response.status().is_client_error(),
                "{method} {path}: {}",
                response.status()
            );
        }
        Ok(())
    }

    /// A server that is not OAuth: a Basic challenge without the key, no metadata, and the MCP
    /// endpoint with it; the access log says which requests carried the key.
    #[tokio::test]
    async fn an_api_key_server_challenges_basic_serves_no_metadata_and_accepts_its_key(
    ) -> anyhow::Result<()> {
        use crate::discovery::{Credentials, API_KEY, API_KEY_HEADER};
        let mut config = ServerConfig::new("http://127.0.0.1:9")?;
        config.discovery.credentials = Credentials::ApiKey;
        let state = AppState::new(config)?;
        let app = router(state.clone());
        let initialize = |key: Option<&str>| {
            let mut request = Request::post("/")
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream");
            if let Some(key) = key {
                request = request.header(API_KEY_HEADER, key);
            }
            request.body(Body::from(
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            ))
        };
        let refused = app.clone().oneshot(initialize(None)?).await?;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused
                .headers()
                .get("www-authenticate")
                .map(|v| v.as_bytes()),
            Some(&b"Basic realm=\"mock-mcp\""[..])
        );
        let wrong = app.clone().oneshot(initialize(Some("another"))?).await?;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        for path in [
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
        ] {
            let response = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty())?)
                .await?;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let accepted = app.clone().oneshot(initialize(Some(API_KEY))?).await?;
        assert_eq!(accepted.status(), StatusCode::OK);
        let keys: Vec<Option<bool>> = state
            .received_requests()
            .iter()
            .filter(|r| r.phase == Phase::Mcp)
            .map(|r| r.api_key)
            .collect();
        assert_eq!(keys, vec![Some(false), Some(false), Some(true)]);
        Ok(())
    }
}

/// The defects the official MCP conformance suite found (docs/conformance.md), each with the rule
/// it broke; the suite checks them too, these keep them fixed without it.
#[cfg(test)]
mod conformance_fixes {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use futures_util::StreamExt;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    use super::*;
    use crate::config::ServerConfig;
    use crate::profile::Profile;

    const MODERN: &str = "2026-07-28";

    fn app(versions: &[&str], profile: Profile) -> anyhow::Result<(AppState, Router)> {
        let mut config = ServerConfig::new("http://127.0.0.1:9")?;
        config.protocol_versions = versions.iter().map(|v| (*v).to_owned()).collect();
        config.profile = profile;
        config.no_auth = true;
        let state = AppState::new(config)?;
        Ok((state.clone(), router(state)))
    }

    fn modern_request(method: &str, meta_version: &str, params: Value) -> Request<Body> {
        let mut params = params;
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": meta_version,
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        let mut request = Request::post(paths::MCP)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", method);
        if let Some(name) = params
            .get("name")
            .or(params.get("uri"))
            .and_then(Value::as_str)
        {
            request = request.header("mcp-name", name);
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        request
            .body(Body::from(body.to_string()))
            .expect("a valid request")
    }

    async fn json_of(response: axum::response::Response) -> anyhow::Result<Value> {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    fn initialize(origin: Option<&str>) -> anyhow::Result<Request<Body>> {
        let mut request = Request::post(paths::MCP)
            .header("content-type", "application/json")
            .header("host", "127.0.0.1:9");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}});
        Ok(request.body(Body::from(body.to_string()))?)
    }

    /// Defect 1. Transports (2025-11-25): "If the Origin header is present and invalid, servers
    /// MUST respond with HTTP 403 Forbidden"; checked before the bearer token.
    #[tokio::test]
    async fn a_foreign_origin_gets_403_and_no_origin_or_a_loopback_one_is_served(
    ) -> anyhow::Result<()> {
        let strict = router(AppState::new(ServerConfig::new("http://127.0.0.1:9")?)?);
        let foreign = strict
            .clone()
            .oneshot(initialize(Some("http://evil.example.com"))?)
            .await?;
        assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
        // Without an Origin (every CLI client) the strict server asks for its token as before.
        let plain = strict.oneshot(initialize(None)?).await?;
        assert_eq!(plain.status(), StatusCode::UNAUTHORIZED);
        let (_, open) = app(&["2025-11-25"], Profile::Default)?;
        let local = open
            .oneshot(initialize(Some("http://localhost:6274"))?)
            .await?;
        assert_eq!(local.status(), StatusCode::OK);
        Ok(())
    }

    /// `--no-auth` is off by default: the same request without a token is refused.
    #[tokio::test]
    async fn no_auth_serves_mcp_without_a_token_and_is_off_by_default() -> anyhow::Result<()> {
        let (_, open) = app(&["2025-11-25"], Profile::Default)?;
        assert_eq!(
            open.oneshot(initialize(None)?).await?.status(),
            StatusCode::OK
        );
        let config = ServerConfig::new("http://127.0.0.1:9")?;
        assert!(!config.no_auth);
        let strict = router(AppState::new(config)?);
        assert_eq!(
            strict.oneshot(initialize(None)?).await?.status(),
            StatusCode::UNAUTHORIZED
        );
        Ok(())
    }

    /// Defect 3. Streamable HTTP (2026-07-28): an unknown method is 404 with -32601, not 200.
    #[tokio::test]
    async fn an_unknown_method_under_2026_07_28_is_404_with_method_not_found() -> anyhow::Result<()>
    {
        let (_, app) = app(&[MODERN], Profile::Default)?;
        let response = app
            .oneshot(modern_request("nope/nothing", MODERN, json!({})))
            .await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json_of(response).await?["error"]["code"], -32601);
        Ok(())
    }

    /// Defect 4. 2026-07-28 removed `initialize`: a 2026-07-28-only server answers it as an
    /// unknown method (404, -32601), whatever its params.
    #[tokio::test]
    async fn initialize_to_a_2026_07_28_only_server_is_method_not_found() -> anyhow::Result<()> {
        let (_, app) = app(&[MODERN], Profile::Default)?;
        let response = app.oneshot(initialize(None)?).await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json_of(response).await?["error"]["code"], -32601);
        Ok(())
    }

    /// On a dual-era server, an `initialize` that declares 2026-07-28 (header and `_meta`) is that
    /// revision's removed method: 404 -32601; a legacy one is still the handshake.
    #[tokio::test]
    async fn a_dual_era_server_refuses_a_2026_07_28_initialize_but_not_a_legacy_one(
    ) -> anyhow::Result<()> {
        let (_, app) = app(&[MODERN, "2025-11-25"], Profile::Default)?;
        let modern = app
            .clone()
            .oneshot(modern_request("initialize", MODERN, json!({})))
            .await?;
        assert_eq!(modern.status(), StatusCode::NOT_FOUND);
        assert_eq!(json_of(modern).await?["error"]["code"], -32601);
        let legacy = app.oneshot(initialize(None)?).await?;
        assert_eq!(legacy.status(), StatusCode::OK);
        Ok(())
    }

    /// Defect 5. The header and `_meta` are compared before either is checked against what the
    /// server supports: a mismatch is -32020 even when `_meta` names an unknown version.
    #[tokio::test]
    async fn a_header_meta_disagreement_is_a_mismatch_before_an_unsupported_version(
    ) -> anyhow::Result<()> {
        let (_, app) = app(&[MODERN], Profile::Default)?;
        let response = app
            .clone()
            .oneshot(modern_request("tools/list", "v999", json!({})))
            .await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_of(response).await?["error"]["code"], -32020);
        Ok(())
    }

    /// Defects 2 and 7. Caching (SEP-2549): ttlMs and cacheScope on the cacheable results;
    /// ResultMetaObject: serverInfo in `_meta` (and no longer in the discover body).
    #[tokio::test]
    async fn modern_results_carry_caching_hints_and_server_info_in_meta() -> anyhow::Result<()> {
        let (_, app) = app(&[MODERN], Profile::Seed)?;
        for method in [
            "server/discover",
            "tools/list",
            "prompts/list",
            "resources/list",
        ] {
            let response = app
                .clone()
                .oneshot(modern_request(method, MODERN, json!({})))
                .await?;
            let result = json_of(response).await?["result"].clone();
            assert_eq!(result["ttlMs"], 0, "{method}: {result}");
            assert_eq!(result["cacheScope"], "private", "{method}");
            assert!(
                result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"].is_string(),
                "{method}: {result}"
            );
        }
        let discover = app
            .clone()
            .oneshot(modern_request("server/discover", MODERN, json!({})))
            .await?;
        assert!(json_of(discover).await?["result"]
            .get("serverInfo")
            .is_none());
        // Negative control: a result that is not cacheable gets no hints.
        let call = app
            .oneshot(modern_request(
                "prompts/get",
                MODERN,
                json!({"name": "nope"}),
            ))
            .await?;
        assert!(json_of(call).await?.pointer("/result/ttlMs").is_none());
        Ok(())
    }

    /// Defect 8. Resources › "Error Handling": the not-found error names the URI in `data.uri`,
    /// under either era's code.
    #[tokio::test]
    async fn resource_not_found_names_the_uri_in_data() -> anyhow::Result<()> {
        let (_, app) = app(&[MODERN], Profile::Seed)?;
        let uri = "test://nonexistent";
        let response = app
            .oneshot(modern_request(
                "resources/read",
                MODERN,
                json!({"uri": uri}),
            ))
            .await?;
        let body = json_of(response).await?;
        assert_eq!(body["error"]["code"], -32602);
        assert_eq!(body["error"]["data"]["uri"], uri);
        Ok(())
    }

    /// The next SSE frame, within 5 s.
    async fn next_frame(
        frames: &mut axum::body::BodyDataStream,
    ) -> Option<Result<axum::body::Bytes, axum::Error>> {
        tokio::time::timeout(std::time::Duration::from_secs(5), frames.next())
            .await
            .ok()
            .flatten()
    }

    /// The conformance profile's trigger tool changes what a listen stream hears: the suite's
    /// `server-stateless` calls it and waits for the notification.
    #[tokio::test]
    async fn the_prompt_trigger_tool_notifies_a_listen_stream() -> anyhow::Result<()> {
        let (_, app) = app(&[MODERN], Profile::Conformance)?;
        let response = app
            .clone()
            .oneshot(modern_request(
                "subscriptions/listen",
                MODERN,
                json!({"notifications": {"promptsListChanged": true}}),
            ))
            .await?;
        let mut frames = response.into_body().into_data_stream();
        next_frame(&mut frames)
            .await
            .ok_or(anyhow::anyhow!("no ack"))??;
        let call = app
            .oneshot(modern_request(
                "tools/call",
                MODERN,
                json!({"name": "test_trigger_prompt_change", "arguments": {}}),
            ))
            .await?;
        assert_eq!(call.status(), StatusCode::OK);
        let pushed = next_frame(&mut frames)
            .await
            .ok_or(anyhow::anyhow!("nothing pushed"))??;
        let pushed = String::from_utf8_lossy(&pushed).into_owned();
        assert!(
            pushed.contains("notifications/prompts/list_changed"),
            "{pushed}"
        );
        Ok(())
    }

    /// Defect 6. A list-changed notification reaches the subscriptions/listen streams that
    /// agreed to its kind, with the subscription id in `_meta`.
    #[tokio::test]
    async fn a_tools_change_is_sent_on_a_listen_stream() -> anyhow::Result<()> {
        let (state, app) = app(&[MODERN], Profile::Default)?;
        let response = app
            .oneshot(modern_request(
                "subscriptions/listen",
                MODERN,
                json!({"notifications": {"toolsListChanged": true}}),
            ))
            .await?;
        let mut frames = response.into_body().into_data_stream();
        let mut text = String::new();
        let ack = next_frame(&mut frames)
            .await
            .ok_or(anyhow::anyhow!("no ack"))??;
        text.push_str(&String::from_utf8_lossy(&ack));
        assert!(
            text.contains("notifications/subscriptions/acknowledged"),
            "{text}"
        );
        assert_eq!(
            state.notify_tools_changed(),
            1,
            "the listen stream hears it"
        );
        let pushed = next_frame(&mut frames)
            .await
            .ok_or(anyhow::anyhow!("nothing pushed"))??;
        let pushed = String::from_utf8_lossy(&pushed).into_owned();
        assert!(
            pushed.contains("notifications/tools/list_changed"),
            "{pushed}"
        );
        assert!(
            pushed.contains("io.modelcontextprotocol/subscriptionId"),
            "{pushed}"
        );
        Ok(())
    }
}
