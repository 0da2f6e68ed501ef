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
