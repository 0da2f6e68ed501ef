//! The mock driven in-process through `router(state)` and tower's `oneshot`: no sockets, so a
//! test can send thousands of requests in a second. A [`World`] is one mock with a registered
//! client, a token pair and an MCP session, ready to be poked.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;

use anyhow::{bail, ensure, Context};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use mock_server::client::hidden_input;
use mock_server::{router, s256_challenge, AppState, ServerConfig};
use serde_json::{json, Value};
use tower::ServiceExt;
use url::Url;

pub(crate) const ORIGIN: &str = "http://127.0.0.1:9";
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
/// RFC 7636 Appendix B's verifier; every code the world mints uses its challenge.
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// One mock with a registered client, a token pair and an MCP session.
pub(crate) struct World {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) state: AppState,
    pub(crate) app: Router,
    pub(crate) client_id: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: RefCell<String>,
    pub(crate) session_id: String,
    /// The sequence number of the last access-log record already checked.
    pub(crate) seen: Cell<u64>,
    /// Statuses seen, printed so a run shows it reached past the first refusal.
    pub(crate) statuses: RefCell<std::collections::BTreeMap<u16, u64>>,
}

/// What the router did with a request.
pub(crate) enum Outcome {
    Answered {
        status: StatusCode,
        headers: axum::http::HeaderMap,
        body: Vec<u8>,
    },
    Panicked(String),
}

impl World {
    pub(crate) fn new() -> anyhow::Result<World> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let state = AppState::new(ServerConfig::new(ORIGIN)?)?;
        let app = router(state.clone());
        let mut world = World {
            runtime,
            state,
            app,
            client_id: String::new(),
            access_token: String::new(),
            refresh_token: RefCell::new(String::new()),
            session_id: String::new(),
            seen: Cell::new(0),
            statuses: RefCell::default(),
        };
        let registered = world.expect_json(
            Request::post("/oauth/register")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"client_name": "fuzz", "redirect_uris": [REDIRECT_URI]}).to_string(),
                ))?,
            StatusCode::CREATED,
        )?;
        world.client_id = registered["client_id"]
            .as_str()
            .context("no client_id")?
            .to_owned();
        let code = world.mint_code()?;
        let tokens = world.expect_json(
            form_request(
                "/oauth/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("client_id", &world.client_id),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                    ("resource", &format!("{ORIGIN}/")),
                ],
            )?,
            StatusCode::OK,
        )?;
        world.access_token = tokens["access_token"]
            .as_str()
            .context("no access_token")?
            .to_owned();
        *world.refresh_token.borrow_mut() = tokens["refresh_token"]
            .as_str()
            .context("no refresh_token")?
            .to_owned();
        let init = Request::post("/")
            .header("authorization", format!("Bearer {}", world.access_token))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Body::from(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "fuzz", "version": "0"}}})
                .to_string(),
            ))?;
        let Outcome::Answered {
            status, headers, ..
        } = world.send(init)
        else {
            bail!("initialize panicked");
        };
        ensure!(status == StatusCode::OK, "initialize: {status}");
        world.session_id = headers
            .get("mcp-session-id")
            .context("no session id")?
            .to_str()?
            .to_owned();
        world.seen.set(world.state.received_requests().len() as u64);
        Ok(world)
    }

    /// A fresh authorization code for the world's client (authorize, then approve).
    pub(crate) fn mint_code(&self) -> anyhow::Result<String> {
        let request_id = self.pending_request()?;
        let consent = form_request(
            "/oauth/consent",
            &[("request_id", &request_id), ("decision", "approve")],
        )?;
        let Outcome::Answered {
            status, headers, ..
        } = self.send(consent)
        else {
            bail!("consent panicked");
        };
        ensure!(status == StatusCode::FOUND, "consent: {status}");
        let location = Url::parse(headers["location"].to_str()?)?;
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .context("no code")?;
        self.skip_log();
        Ok(code)
    }

    /// An authorization request awaiting consent; its id is what the consent form posts.
    pub(crate) fn pending_request(&self) -> anyhow::Result<String> {
        let mut url = Url::parse(&format!("{ORIGIN}/oauth/authorize"))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("code_challenge", &s256_challenge(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .append_pair("resource", &format!("{ORIGIN}/"));
        let page = Request::get(format!(
            "/oauth/authorize?{}",
            url.query().unwrap_or_default()
        ))
        .body(Body::empty())?;
        let Outcome::Answered { status, body, .. } = self.send(page) else {
            bail!("authorize panicked");
        };
        ensure!(status == StatusCode::OK, "authorize: {status}");
        let html = String::from_utf8(body)?;
        let request_id = hidden_input(&html, "request_id").context("no request_id")?;
        self.skip_log();
        Ok(request_id)
    }

    /// Requests the world makes for itself are not under test; the log check starts after them.
    pub(crate) fn skip_log(&self) {
        let after = self.state.received_requests_after(self.seen.get());
        if let Some(last) = after.last() {
            self.seen.set(last.seq);
        }
    }

    pub(crate) fn expect_json(
        &self,
        request: Request<Body>,
        want: StatusCode,
    ) -> anyhow::Result<Value> {
        match self.send(request) {
            Outcome::Answered { status, body, .. } => {
                ensure!(
                    status == want,
                    "{status}: {}",
                    String::from_utf8_lossy(&body)
                );
                Ok(serde_json::from_slice(&body)?)
            }
            Outcome::Panicked(message) => bail!("panicked: {message}"),
        }
    }

    /// Runs one request through the router, catching a panic in any handler or middleware.
    pub(crate) fn send(&self, request: Request<Body>) -> Outcome {
        let app = self.app.clone();
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.runtime.block_on(async move {
                let response = app.oneshot(request).await?;
                let (parts, body) = response.into_parts();
                // An SSE stream stays open until its session ends; its headers are the answer.
                let is_stream = parts
                    .headers
                    .get("content-type")
                    .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
                let body = if is_stream {
                    Vec::new()
                } else {
                    axum::body::to_bytes(body, 16 << 20).await?.to_vec()
                };
                Ok::<_, anyhow::Error>((parts.status, parts.headers, body))
            })
        }));
        match run {
            Ok(Ok((status, headers, body))) => Outcome::Answered {
                status,
                headers,
                body,
            },
            Ok(Err(error)) => Outcome::Panicked(format!("the service failed: {error:#}")),
            Err(panic) => Outcome::Panicked(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a non-string panic".to_owned()),
            ),
        }
    }
}

pub(crate) fn form_request(path: &str, pairs: &[(&str, &str)]) -> anyhow::Result<Request<Body>> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))?)
}

impl World {
    /// Posts a form to the token endpoint; the status and the JSON answer.
    pub(crate) fn token(&self, pairs: &[(&str, &str)]) -> anyhow::Result<(StatusCode, Value)> {
        match self.send(form_request("/oauth/token", pairs)?) {
            Outcome::Answered { status, body, .. } => Ok((status, serde_json::from_slice(&body)?)),
            Outcome::Panicked(message) => bail!("the token endpoint panicked: {message}"),
        }
    }

    /// Exchanges a code minted for this world's client, as a well-behaved client would.
    pub(crate) fn exchange(&self, code: &str) -> anyhow::Result<(StatusCode, Value)> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &self.client_id),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("resource", &format!("{ORIGIN}/")),
        ])
    }

    /// Uses the world's current refresh token and keeps the new one; the new pair's JSON.
    pub(crate) fn refresh(&self) -> anyhow::Result<Value> {
        let current = self.refresh_token.borrow().clone();
        let (status, body) = self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &current),
            ("client_id", &self.client_id),
        ])?;
        ensure!(status == StatusCode::OK, "refresh: {status} {body}");
        *self.refresh_token.borrow_mut() = body["refresh_token"]
            .as_str()
            .context("no refresh_token")?
            .to_owned();
        Ok(body)
    }

    /// Registers one more client with the same redirect URI; its client_id.
    pub(crate) fn register_another(&self) -> anyhow::Result<String> {
        let registered = self.expect_json(
            Request::post("/oauth/register")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"client_name": "other", "redirect_uris": [REDIRECT_URI]}).to_string(),
                ))?,
            StatusCode::CREATED,
        )?;
        Ok(registered["client_id"]
            .as_str()
            .context("no client_id")?
            .to_owned())
    }
}
