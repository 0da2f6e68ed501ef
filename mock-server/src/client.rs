//! [`StandInClient`]: a small MCP client that does the whole OAuth dance and handshake the way a
//! conformant client should — or, with [`Misbehaviour`]s switched on, the way a broken one would.
//!
//! It is the mock's own test driver and the negative control for the harness: a client that
//! stops after the token exchange must fail the reconnect checks.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use url::Url;

use crate::oauth::pkce::s256_challenge;

/// Ways to deviate from the protocol, one rule each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// No `code_challenge` at authorize, no `code_verifier` at token.
    SkipPkce,
    /// `code_challenge_method=plain` with the verifier as the challenge.
    PlainPkce,
    /// A well-formed verifier that is not the one the challenge was made from.
    WrongVerifier,
    /// Exchange the same code a second time after the first exchange.
    ReuseCode,
    /// Ask authorize for a redirect URI that was never registered.
    WrongRedirectUriAtAuthorize,
    /// Send a different redirect URI at the token endpoint.
    WrongRedirectUriAtToken,
    /// Leave `resource` out of the token request though authorize had it.
    OmitResourceAtToken,
    /// Name another server as `resource` at authorize.
    MismatchedResourceAtAuthorize,
    /// Name another server as `resource` at the token endpoint.
    MismatchedResourceAtToken,
    /// After a refresh, use the old (rotated) refresh token again.
    ReuseOldRefreshToken,
    /// Authorize with a client id that was never registered.
    UnknownClient,
    /// Stop after the token exchange: no `initialize` (the reported bug).
    StopAfterTokenExchange,
    /// Discovery class 1: ignore the challenge's `resource_metadata` and guess the well-known
    /// locations at the MCP server's origin instead.
    GuessResourceMetadata,
    /// Discovery class 2: ignore `authorization_servers` and treat the MCP server's origin as the
    /// authorization server (its metadata, else `/authorize`, `/token`, `/register` there).
    AuthorizationServerAtMcpOrigin,
    /// Discovery class 3: fetch `/.well-known/oauth-authorization-server` at the issuer's host
    /// only, without RFC 8414 path insertion.
    NoPathInsertion,
    /// Discovery class 3: never fall back to OpenID Connect Discovery.
    NoOpenidFallback,
    /// Discovery class 4: no RFC 8707 `resource` at authorize nor at the token endpoint.
    OmitResource,
    /// Discovery class 5: register a new client on every authentication.
    RegisterEveryTime,
    /// Discovery class 5: after `invalid_client`, give up instead of registering again.
    NoReregistrationAfterInvalidClient,
    /// Keep the tokens but send MCP requests after the first one without `Authorization`
    /// (failure class 4: tokens stored, later requests carry no bearer).
    DropBearerAfterFirstRequest,
    /// Speaking 2026-07-28: send requests without `_meta` (no protocol version, no client
    /// capabilities), as a client that treats the revision as a relabelled 2025-11-25 would.
    OmitMeta,
    /// Take the authorization response without checking its RFC 9207 `iss` (a client open to
    /// mix-up attacks).
    IgnoreIss,
    /// Authorize and exchange a code twice for one login (two flows started for one user
    /// action), and go on with the second token set.
    AuthorizeTwice,
    /// With [`StandInClient::fall_back_to_legacy_sse`]: after the `initialize` POST's 4xx, POST
    /// it again (twice more) before falling back: the loop the fallback's waste check catches.
    RepeatPostBeforeFallback,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{step}: transport error: {source}")]
    Transport {
        step: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// An OAuth JSON error from the registration or token endpoint.
    #[error("{step}: OAuth error {error} (HTTP {status}): {}", description.as_deref().unwrap_or(""))]
    OAuth {
        step: &'static str,
        status: u16,
        error: String,
        description: Option<String>,
    },
    /// The authorization server redirected back with `error=`.
    #[error("{step}: redirected back with error {error}: {}", description.as_deref().unwrap_or(""))]
    Redirected {
        step: &'static str,
        error: String,
        description: Option<String>,
        state: Option<String>,
    },
    /// A JSON-RPC error from the MCP endpoint.
    #[error("{step}: JSON-RPC error {code} (HTTP {status}): {message}")]
    JsonRpc {
        step: &'static str,
        status: u16,
        code: i64,
        message: String,
    },
    /// Any other unexpected HTTP status (an error page, a 401 challenge, ...).
    #[error("{step}: unexpected HTTP {status}")]
    Http {
        step: &'static str,
        status: u16,
        www_authenticate: Option<String>,
        body: String,
    },
    #[error("{step}: {detail}")]
    Protocol { step: &'static str, detail: String },
    /// The authorization response's `iss` is not the issuer the request went to, or is missing
    /// though the metadata promised it (RFC 9207 §2.4): the response is refused, error
    /// responses too, and the grant goes no further.
    #[error(
        "{step}: authorization response iss {iss:?} is not the issuer {expected} (RFC 9207 §2.4)"
    )]
    WrongIssuer {
        step: &'static str,
        expected: String,
        /// What the response carried (`None`: no `iss` at all).
        iss: Option<String>,
    },
}

impl ClientError {
    /// The HTTP status of the refusal, when there was one (a redirect counts as 302).
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::OAuth { status, .. }
            | ClientError::JsonRpc { status, .. }
            | ClientError::Http { status, .. } => Some(*status),
            ClientError::Redirected { .. } => Some(302),
            ClientError::Transport { .. }
            | ClientError::Protocol { .. }
            | ClientError::WrongIssuer { .. } => None,
        }
    }

    /// The OAuth `error` code, from a JSON error, a redirect, or an error page (which names it
    /// for the person at the browser).
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            ClientError::OAuth { error, .. } | ClientError::Redirected { error, .. } => Some(error),
            ClientError::Http { body, .. } => error_page_code(body),
            _ => None,
        }
    }

    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            ClientError::JsonRpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn www_authenticate(&self) -> Option<&str> {
        match self {
            ClientError::Http {
                www_authenticate, ..
            } => www_authenticate.as_deref(),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, ClientError>;

/// What discovery found.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// From the 401 challenge's `resource_metadata`.
    pub resource_metadata_url: String,
    pub resource: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// Absent when the server has no dynamic registration.
    pub registration_endpoint: Option<String>,
    /// The metadata's `authorization_response_iss_parameter_supported` (RFC 9207 §3; false when
    /// absent): then every authorization response must carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub client_id: String,
    pub redirect_uri: String,
}

/// A code from the consent redirect, with what is needed to redeem it.
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub code: String,
    pub state: String,
    pub verifier: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
    pub token_type: String,
}

#[derive(Debug, Clone)]
pub struct McpSession {
    pub session_id: String,
    pub protocol_version: String,
    pub initialize_result: Value,
}

/// What [`StandInClient::run`] got through.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub tokens: TokenSet,
    /// `None` with [`Misbehaviour::StopAfterTokenExchange`].
    pub session: Option<McpSession>,
    pub tool_names: Vec<String>,
    pub hello_result: Option<Value>,
}

pub struct StandInClient {
    http: reqwest::Client,
    mcp_url: String,
    redirect_uri: String,
    misbehaviours: HashSet<Misbehaviour>,
    next_id: u64,
    discovery: Option<Discovery>,
    registration: Option<Registration>,
    /// `Some("2026-07-28")`: speak the stateless revision instead of the handshake.
    modern: Option<String>,
    /// A client ID given beforehand (a server without dynamic registration).
    pre_registered_client_id: Option<String>,
    /// MCP requests sent so far.
    mcp_posts: std::sync::atomic::AtomicU32,
    /// Whether an `initialize` POST refused with a 4xx falls back to the older HTTP+SSE
    /// transport (Streamable HTTP › "Backwards Compatibility").
    legacy_fallback: bool,
    /// The HTTP+SSE stream, once the fallback opened it: every later message goes through it.
    legacy: Option<LegacyStream>,
}

/// The older HTTP+SSE transport's stream (MCP 2024-11-05): where to POST messages (from the
/// `endpoint` event), and the stream their responses arrive on.
struct LegacyStream {
    response: Response,
    /// Bytes read but not yet parsed into an event.
    buffer: String,
    endpoint: String,
}

/// How long the stand-in waits for the next event on its HTTP+SSE stream.
const LEGACY_EVENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl LegacyStream {
    /// The next event with data (comments and keep-alives skipped): its type (`message` when
    /// unnamed, as the SSE format says) and its data.
    async fn next_event(&mut self, step: &'static str) -> Result<(String, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message".to_owned();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        event = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push(value.strip_prefix(' ').unwrap_or(value).to_owned());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Ok((event, data.join("\n")));
            }
            let chunk = tokio::time::timeout(LEGACY_EVENT_TIMEOUT, self.response.chunk())
                .await
                .map_err(|_| {
                    protocol(
                        step,
                        format!("no event on the SSE stream within {LEGACY_EVENT_TIMEOUT:?}"),
                    )
                })?
                .map_err(|source| ClientError::Transport { step, source })?;
            let Some(chunk) = chunk else {
                return Err(protocol(step, "the SSE stream ended".to_owned()));
            };
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }
}

/// MCP 2026-07-28 request `_meta` keys (Basic › Versioning).
const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";

const FOREIGN_RESOURCE: &str = "https://elsewhere.example/";
const CLIENT_NAME: &str = "stand-in client";

impl StandInClient {
    /// A well-behaved client for the MCP endpoint at `mcp_url`.
    pub fn new(mcp_url: &str) -> Result<StandInClient> {
        let http = reqwest::Client::builder()
            // The consent answer is a 302 to the client's callback, which nothing listens on:
            // the code is read from `Location`, as a native client's callback server would.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("stand-in-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Transport {
                step: "build",
                source,
            })?;
        Ok(StandInClient {
            http,
            mcp_url: mcp_url.to_owned(),
            redirect_uri: "http://127.0.0.1:9/callback".to_owned(),
            misbehaviours: HashSet::new(),
            next_id: 0,
            discovery: None,
            registration: None,
            modern: None,
            pre_registered_client_id: None,
            mcp_posts: std::sync::atomic::AtomicU32::new(0),
            legacy_fallback: false,
            legacy: None,
        })
    }

    /// Use this client ID instead of registering (a server without dynamic registration); the
    /// redirect URI becomes a loopback `/callback`.
    pub fn pre_registered(mut self, client_id: &str) -> Self {
        self.pre_registered_client_id = Some(client_id.to_owned());
        self
    }

    /// Speak the stateless 2026-07-28 revision after the token exchange: `server/discover`, then
    /// `tools/list` and `tools/call`, each with `_meta` and the mirrored headers, no session.
    pub fn speak_modern(mut self) -> Self {
        self.modern = Some("2026-07-28".to_owned());
        self
    }

    /// Support older servers as Streamable HTTP › "Backwards Compatibility" says: when the
    /// `initialize` POST fails with a 4xx (but 401), `GET` the server URL for an SSE stream whose
    /// first event is `endpoint`, and speak HTTP+SSE from then on.
    pub fn fall_back_to_legacy_sse(mut self) -> Self {
        self.legacy_fallback = true;
        self
    }

    /// Switches one misbehaviour on.
    pub fn misbehave(mut self, misbehaviour: Misbehaviour) -> Self {
        self.misbehaviours.insert(misbehaviour);
        self
    }

    fn does(&self, misbehaviour: Misbehaviour) -> bool {
        self.misbehaviours.contains(&misbehaviour)
    }

    pub fn discovery(&self) -> Option<&Discovery> {
        self.discovery.as_ref()
    }

    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// The whole flow: OAuth, then (unless told to stop) the MCP handshake, `tools/list` and a
    /// `hello` call; with [`Misbehaviour::ReuseCode`] / [`Misbehaviour::ReuseOldRefreshToken`] the
    /// replay's refusal is the result.
    pub async fn run(&mut self) -> Result<RunOutcome> {
        let mut tokens = self.authenticate().await?;
        if self.does(Misbehaviour::AuthorizeTwice) {
            tokens = self.authenticate().await?;
        }
        if self.does(Misbehaviour::ReuseOldRefreshToken) {
            let old = tokens.refresh_token.clone().unwrap_or_default();
            self.refresh(&old).await?;
            self.refresh(&old).await?;
        }
        if self.does(Misbehaviour::StopAfterTokenExchange) {
            return Ok(RunOutcome {
                tokens,
                session: None,
                tool_names: Vec::new(),
                hello_result: None,
            });
        }
        let session = if self.modern.is_some() {
            self.server_discover(&tokens.access_token).await?
        } else {
            let session = match self.initialize(&tokens.access_token).await {
                Err(refused) if self.legacy_fallback && is_fallback_status(refused.status()) => {
                    if self.does(Misbehaviour::RepeatPostBeforeFallback) {
                        for _ in 0..2 {
                            // Each is refused as the first was; only the count matters.
                            let _ = self.initialize(&tokens.access_token).await;
                        }
                    }
                    self.open_legacy_stream(&tokens.access_token).await?;
                    self.legacy_initialize(&tokens.access_token).await?
                }
                outcome => outcome?,
            };
            self.notify_initialized(&tokens.access_token, &session)
                .await?;
            session
        };
        let tool_names = self
            .list_tools(&tokens.access_token, &session)
            .await?
            .iter()
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let hello = self
            .call_tool(
                &tokens.access_token,
                &session,
                "hello",
                json!({"name": "stand-in"}),
            )
            .await?;
        Ok(RunOutcome {
            tokens,
            session: Some(session),
            tool_names,
            hello_result: Some(hello),
        })
    }

    /// Discovery, registration, authorization and the code exchange.
    pub async fn authenticate(&mut self) -> Result<TokenSet> {
        self.discover().await?;
        // A client keeps its registration (MCP authorization › Dynamic Client Registration); it
        // registers again only when the server no longer knows it.
        if self.registration.is_none() || self.does(Misbehaviour::RegisterEveryTime) {
            self.register().await?;
        }
        let code = match self.authorize().await {
            Err(error)
                if error.oauth_error() == Some("invalid_client")
                    && self.pre_registered_client_id.is_none()
                    && !self.does(Misbehaviour::NoReregistrationAfterInvalidClient) =>
            {
                self.register().await?;
                self.authorize().await?
            }
            other => other?,
        };
        let tokens = self.exchange_code(&code).await?;
        if self.does(Misbehaviour::ReuseCode) {
            self.exchange_code(&code).await?;
        }
        Ok(tokens)
    }

    /// An unauthenticated `initialize` to get the 401 challenge (MCP authorization, "Authorization
    /// Server Discovery"), then the resource metadata (RFC 9728) and the authorization-server
    /// metadata (RFC 8414 or OpenID Connect Discovery) it leads to, in the order the MCP
    /// authorization specification (2025-11-25) prescribes.
    pub async fn discover(&mut self) -> Result<Discovery> {
        let step = "discover";
        let probe = self
            .http
            .post(&self.mcp_url)
            .header(ACCEPT, "application/json, text/event-stream")
            .json(&self.initialize_body())
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if probe.status() != StatusCode::UNAUTHORIZED {
            return Err(unexpected(step, probe).await);
        }
        let challenge = header(&probe, WWW_AUTHENTICATE.as_str()).unwrap_or_default();
        let mcp_url = Url::parse(&self.mcp_url).map_err(|e| protocol(step, e.to_string()))?;
        let announced = challenge_param(&challenge, "resource_metadata")
            .filter(|_| !self.does(Misbehaviour::GuessResourceMetadata));
        // RFC 9728 §3.1: the well-known suffix goes between the host and the resource's path;
        // path-specific first, then the root (MCP authorization › Protected Resource Metadata
        // Discovery Requirements).
        let candidates = match announced {
            Some(url) => vec![url],
            None => {
                let path = mcp_url.path().trim_end_matches('/');
                let mut found = Vec::new();
                for suffix in [path, ""] {
                    let mut url = mcp_url.clone();
                    url.set_path(&format!("/.well-known/oauth-protected-resource{suffix}"));
                    url.set_query(None);
                    if !found.contains(&url.to_string()) {
                        found.push(url.to_string());
                    }
                }
                found
            }
        };
        let (resource_metadata_url, prm) = self.first_document(step, &candidates).await?;
        let resource = string_field(step, &prm, "resource")?;
        let issuer = if self.does(Misbehaviour::AuthorizationServerAtMcpOrigin) {
            mcp_url.origin().ascii_serialization()
        } else {
            prm.get("authorization_servers")
                .and_then(|a| a.get(0))
                .and_then(Value::as_str)
                .ok_or_else(|| protocol(step, "no authorization_servers".to_owned()))?
                .to_owned()
        };
        let issuer_url = Url::parse(&issuer).map_err(|e| protocol(step, format!("issuer: {e}")))?;
        let path = issuer_url.path().trim_end_matches('/');
        let at = |well_known: &str, insert: bool| {
            let mut url = issuer_url.clone();
            if insert {
                url.set_path(&format!("{well_known}{path}"));
            } else {
                url.set_path(&format!("{path}{well_known}"));
            }
            url.to_string()
        };
        const OAUTH: &str = "/.well-known/oauth-authorization-server";
        const OPENID: &str = "/.well-known/openid-configuration";
        let mut candidates = Vec::new();
        if self.does(Misbehaviour::NoPathInsertion) {
            let mut url = issuer_url.clone();
            url.set_path(OAUTH);
            candidates.push(url.to_string());
        } else {
            candidates.push(at(OAUTH, true));
        }
        if !self.does(Misbehaviour::NoOpenidFallback) {
            candidates.push(at(OPENID, true));
            if !path.is_empty() {
                candidates.push(at(OPENID, false));
            }
        }
        let asm = match self.first_document(step, &candidates).await {
            Ok((_, asm)) => asm,
            // The 2025-03-26 fallback a client that ignores authorization_servers would use.
            Err(_) if self.does(Misbehaviour::AuthorizationServerAtMcpOrigin) => json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "registration_endpoint": format!("{issuer}/register"),
                "code_challenge_methods_supported": ["S256"],
            }),
            Err(error) => return Err(error),
        };
        if string_field(step, &asm, "issuer")? != issuer {
            return Err(protocol(
                step,
                "the metadata's issuer differs (RFC 8414 §3.3)".to_owned(),
            ));
        }
        let methods = asm
            .get("code_challenge_methods_supported")
            .cloned()
            .unwrap_or(Value::Null);
        if !methods
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m == "S256"))
        {
            return Err(protocol(
                step,
                "the server does not offer PKCE S256".to_owned(),
            ));
        }
        let discovery = Discovery {
            resource_metadata_url,
            resource,
            issuer,
            authorization_endpoint: string_field(step, &asm, "authorization_endpoint")?,
            token_endpoint: string_field(step, &asm, "token_endpoint")?,
            registration_endpoint: asm
                .get("registration_endpoint")
                .and_then(Value::as_str)
                .map(str::to_owned),
            authorization_response_iss_parameter_supported: asm
                .get("authorization_response_iss_parameter_supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        self.discovery = Some(discovery.clone());
        if let Some(client_id) = &self.pre_registered_client_id {
            self.redirect_uri = "http://127.0.0.1:9/callback".to_owned();
            self.registration = Some(Registration {
                client_id: client_id.clone(),
                redirect_uri: self.redirect_uri.clone(),
            });
        }
        Ok(discovery)
    }

    /// The first of `urls` that answers 200 with a JSON object, and which one it was.
    async fn first_document(&self, step: &'static str, urls: &[String]) -> Result<(String, Value)> {
        let mut last = None;
        for url in urls {
            match self.get_json(step, url).await {
                Ok(document) => return Ok((url.clone(), document)),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| protocol(step, "nowhere to look".to_owned())))
    }

    /// Dynamic client registration as a public client (RFC 7591).
    pub async fn register(&mut self) -> Result<Registration> {
        let step = "register";
        let discovery = self.discovered(step)?;
        let Some(endpoint) = discovery.registration_endpoint.clone() else {
            return Err(protocol(
                step,
                "the server has no registration endpoint and no client ID was given".to_owned(),
            ));
        };
        let response = self
            .http
            .post(&endpoint)
            .json(&json!({
                "client_name": CLIENT_NAME,
                "redirect_uris": [self.redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }))
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if response.status() != StatusCode::CREATED {
            return Err(oauth_error(step, response).await);
        }
        let body = json_body(step, response).await?;
        let registration = Registration {
            client_id: string_field(step, &body, "client_id")?,
            redirect_uri: self.redirect_uri.clone(),
        };
        self.registration = Some(registration.clone());
        Ok(registration)
    }

    /// The authorization request, then "approve" on the consent page, then the code from the
    /// redirect's `Location`.
    pub async fn authorize(&mut self) -> Result<AuthorizationCode> {
        let step = "authorize";
        let discovery = self.discovered(step)?.clone();
        let registration = self.registered(step)?.clone();
        let verifier = random_token(step)?;
        let state = random_token(step)?;
        let mut url = Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| protocol(step, e.to_string()))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("response_type", "code");
            let client_id = if self.does(Misbehaviour::UnknownClient) {
                "never-registered"
            } else {
                registration.client_id.as_str()
            };
            query.append_pair("client_id", client_id);
            let redirect_uri = if self.does(Misbehaviour::WrongRedirectUriAtAuthorize) {
                "http://127.0.0.1:9/elsewhere"
            } else {
                registration.redirect_uri.as_str()
            };
            query.append_pair("redirect_uri", redirect_uri);
            if self.does(Misbehaviour::PlainPkce) {
                query.append_pair("code_challenge", &verifier);
                query.append_pair("code_challenge_method", "plain");
            } else if !self.does(Misbehaviour::SkipPkce) {
                query.append_pair("code_challenge", &s256_challenge(&verifier));
                query.append_pair("code_challenge_method", "S256");
            }
            query.append_pair("state", &state);
            if self.does(Misbehaviour::MismatchedResourceAtAuthorize) {
                query.append_pair("resource", FOREIGN_RESOURCE);
            } else if !self.does(Misbehaviour::OmitResource) {
                query.append_pair("resource", &discovery.resource);
            }
            query.append_pair("scope", "mcp");
        }
        let page = self
            .http
            .get(url.as_str())
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if page.status() == StatusCode::FOUND {
            let error = redirect_error(step, &page);
            if let Some(location) = header(&page, LOCATION.as_str()) {
                if let Ok(location) = Url::parse(&location) {
                    self.check_iss(step, &discovery, &location)?;
                }
            }
            return Err(error);
        }
        if page.status() != StatusCode::OK {
            return Err(unexpected(step, page).await);
        }
        let html = page
            .text()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        let request_id = hidden_input(&html, "request_id")
            .ok_or_else(|| protocol(step, "no request_id on the consent page".to_owned()))?;
        let action = form_action(&html).unwrap_or_else(|| "/oauth/consent".to_owned());
        let consent_url = Url::parse(&discovery.authorization_endpoint)
            .and_then(|u| u.join(&action))
            .map_err(|e| protocol(step, e.to_string()))?;
        let answer = self
            .http
            .post(consent_url.as_str())
            .form(&[("request_id", request_id.as_str()), ("decision", "approve")])
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if answer.status() != StatusCode::FOUND {
            return Err(unexpected(step, answer).await);
        }
        let location = header(&answer, LOCATION.as_str()).unwrap_or_default();
        let location =
            Url::parse(&location).map_err(|e| protocol(step, format!("Location: {e}")))?;
        let param = |name: &str| {
            location
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        // RFC 9207 §2.4: before anything else in the response, error or not, is believed.
        self.check_iss(step, &discovery, &location)?;
        if let Some(error) = param("error") {
            return Err(ClientError::Redirected {
                step,
                error,
                description: param("error_description"),
                state: param("state"),
            });
        }
        if param("state").as_deref() != Some(state.as_str()) {
            return Err(protocol(step, "the state came back changed".to_owned()));
        }
        let code =
            param("code").ok_or_else(|| protocol(step, "no code in the redirect".to_owned()))?;
        Ok(AuthorizationCode {
            code,
            state,
            verifier: (!self.does(Misbehaviour::SkipPkce)).then_some(verifier),
        })
    }

    /// RFC 9207 §2.4 on an authorization response (`location`, the redirect to the client).
    fn check_iss(&self, step: &'static str, discovery: &Discovery, location: &Url) -> Result<()> {
        if self.does(Misbehaviour::IgnoreIss) {
            return Ok(());
        }
        let iss = location
            .query_pairs()
            .find(|(k, _)| k == "iss")
            .map(|(_, v)| v.into_owned());
        if iss_is_acceptable(
            &discovery.issuer,
            discovery.authorization_response_iss_parameter_supported,
            iss.as_deref(),
        ) {
            Ok(())
        } else {
            Err(ClientError::WrongIssuer {
                step,
                expected: discovery.issuer.clone(),
                iss,
            })
        }
    }

    /// The authorization-code grant.
    pub async fn exchange_code(&mut self, code: &AuthorizationCode) -> Result<TokenSet> {
        let step = "token";
        let discovery = self.discovered(step)?.clone();
        let registration = self.registered(step)?.clone();
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.code.clone()),
            ("client_id", registration.client_id.clone()),
        ];
        let redirect_uri = if self.does(Misbehaviour::WrongRedirectUriAtToken) {
            "http://127.0.0.1:9/elsewhere".to_owned()
        } else {
            registration.redirect_uri.clone()
        };
        form.push(("redirect_uri", redirect_uri));
        if let Some(verifier) = &code.verifier {
            let verifier = if self.does(Misbehaviour::WrongVerifier) {
                random_token(step)?
            } else {
                verifier.clone()
            };
            form.push(("code_verifier", verifier));
        }
        if self.does(Misbehaviour::MismatchedResourceAtToken) {
            form.push(("resource", FOREIGN_RESOURCE.to_owned()));
        } else if !self.does(Misbehaviour::OmitResourceAtToken)
            && !self.does(Misbehaviour::OmitResource)
        {
            form.push(("resource", discovery.resource.clone()));
        }
        self.token_request(step, &discovery.token_endpoint, &form)
            .await
    }

    /// The refresh-token grant.
    pub async fn refresh(&mut self, refresh_token: &str) -> Result<TokenSet> {
        let step = "refresh";
        let discovery = self.discovered(step)?.clone();
        let registration = self.registered(step)?.clone();
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.to_owned()),
            ("client_id", registration.client_id),
        ];
        if !self.does(Misbehaviour::OmitResource) {
            form.push(("resource", discovery.resource));
        }
        self.token_request(step, &discovery.token_endpoint, &form)
            .await
    }

    async fn token_request(
        &self,
        step: &'static str,
        endpoint: &str,
        form: &[(&str, String)],
    ) -> Result<TokenSet> {
        let response = self
            .http
            .post(endpoint)
            .form(form)
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if response.status() != StatusCode::OK {
            return Err(oauth_error(step, response).await);
        }
        let body = json_body(step, response).await?;
        Ok(TokenSet {
            access_token: string_field(step, &body, "access_token")?,
            refresh_token: body
                .get("refresh_token")
                .and_then(Value::as_str)
                .map(str::to_owned),
            expires_in: body.get("expires_in").and_then(Value::as_u64),
            scope: body.get("scope").and_then(Value::as_str).map(str::to_owned),
            token_type: string_field(step, &body, "token_type")?,
        })
    }

    fn initialize_body(&mut self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.take_id(),
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": CLIENT_NAME, "version": env!("CARGO_PKG_VERSION")},
            },
        })
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// 2026-07-28 `server/discover`; the "session" it returns has no id, only the revision.
    pub async fn server_discover(&mut self, access_token: &str) -> Result<McpSession> {
        let step = "server/discover";
        let version = self
            .modern
            .clone()
            .unwrap_or_else(|| "2026-07-28".to_owned());
        let session = McpSession {
            session_id: String::new(),
            protocol_version: version.clone(),
            initialize_result: Value::Null,
        };
        let body = json!({"jsonrpc": "2.0", "id": self.take_id(), "method": "server/discover", "params": {}});
        let body = self.with_meta(body);
        let response = self
            .mcp_post(step, access_token, Some(&session), &body)
            .await?;
        let result = rpc_result(step, response).await?;
        let supported = result
            .get("supportedVersions")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|v| v == version.as_str()));
        if !supported {
            return Err(protocol(
                step,
                format!("{version} is not among the supportedVersions: {result}"),
            ));
        }
        Ok(McpSession {
            initialize_result: result,
            ..session
        })
    }

    /// Adds the 2026-07-28 `_meta` to a request body (unless told to omit it).
    fn with_meta(&self, mut body: Value) -> Value {
        let Some(version) = &self.modern else {
            return body;
        };
        if self.does(Misbehaviour::OmitMeta) {
            return body;
        }
        if !body.get("params").is_some_and(Value::is_object) {
            body["params"] = json!({});
        }
        body["params"]["_meta"] = json!({
            META_PROTOCOL_VERSION: version,
            META_CLIENT_CAPABILITIES: {},
            META_CLIENT_INFO: {"name": CLIENT_NAME, "version": env!("CARGO_PKG_VERSION")},
        });
        body
    }

    /// `initialize` with the token; the session id comes from the response header.
    pub async fn initialize(&mut self, access_token: &str) -> Result<McpSession> {
        let step = "initialize";
        let body = self.initialize_body();
        let response = self.mcp_post(step, access_token, None, &body).await?;
        let session_id = header(&response, "mcp-session-id");
        // A refusal (401, JSON-RPC error) is reported as such, before the missing session id.
        let result = rpc_result(step, response).await?;
        // A server MAY assign no session (2025-06-18, Streamable HTTP › "Session Management");
        // then requests carry none.
        let session_id = session_id.unwrap_or_default();
        Ok(McpSession {
            session_id,
            protocol_version: string_field(step, &result, "protocolVersion")?,
            initialize_result: result,
        })
    }

    pub async fn notify_initialized(
        &mut self,
        access_token: &str,
        session: &McpSession,
    ) -> Result<()> {
        let step = "notifications/initialized";
        let body = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        if self.legacy.is_some() {
            self.legacy_post(step, access_token, &body).await?;
            return Ok(());
        }
        let response = self
            .mcp_post(step, access_token, Some(session), &body)
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(unexpected(step, response).await);
        }
        Ok(())
    }

    pub async fn list_tools(
        &mut self,
        access_token: &str,
        session: &McpSession,
    ) -> Result<Vec<Value>> {
        let result = self
            .request(access_token, session, "tools/list", json!({}))
            .await?;
        Ok(result
            .get("tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// `tools/call`; the `CallToolResult` (check its `isError`).
    pub async fn call_tool(
        &mut self,
        access_token: &str,
        session: &McpSession,
        name: &str,
        arguments: Value,
    ) -> Result<Value> {
        self.request(
            access_token,
            session,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        )
        .await
    }

    /// Any JSON-RPC request in the session; the `result`.
    pub async fn request(
        &mut self,
        access_token: &str,
        session: &McpSession,
        method: &str,
        params: Value,
    ) -> Result<Value> {
        let step = "request";
        let body =
            json!({"jsonrpc": "2.0", "id": self.take_id(), "method": method, "params": params});
        let body = self.with_meta(body);
        if self.legacy.is_some() {
            let message = self.legacy_post(step, access_token, &body).await?;
            return rpc_message(step, message);
        }
        let response = self
            .mcp_post(step, access_token, Some(session), &body)
            .await?;
        rpc_result(step, response).await
    }

    /// The fallback's `GET`: the stream, and the messages URL its first event, `endpoint`,
    /// names (resolved against the server URL, as a relative one must be).
    pub async fn open_legacy_stream(&mut self, access_token: &str) -> Result<()> {
        let step = "legacy SSE stream";
        let response = self
            .http
            .get(&self.mcp_url)
            .bearer_auth(access_token)
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if response.status() != StatusCode::OK {
            return Err(unexpected(step, response).await);
        }
        let mut stream = LegacyStream {
            response,
            buffer: String::new(),
            endpoint: String::new(),
        };
        let (event, data) = stream.next_event(step).await?;
        if event != "endpoint" {
            return Err(protocol(
                step,
                format!("the first event is {event:?}, not endpoint: {data}"),
            ));
        }
        let base = Url::parse(&self.mcp_url)
            .map_err(|e| protocol(step, format!("server URL {}: {e}", self.mcp_url)))?;
        stream.endpoint = base
            .join(&data)
            .map_err(|e| protocol(step, format!("endpoint {data:?}: {e}")))?
            .to_string();
        self.legacy = Some(stream);
        Ok(())
    }

    /// `initialize` over the HTTP+SSE stream (no session header: the messages URL is the
    /// session).
    async fn legacy_initialize(&mut self, access_token: &str) -> Result<McpSession> {
        let step = "initialize (HTTP+SSE)";
        let body = self.initialize_body();
        let message = self.legacy_post(step, access_token, &body).await?;
        let result = rpc_message(step, message)?;
        Ok(McpSession {
            session_id: String::new(),
            protocol_version: string_field(step, &result, "protocolVersion")?,
            initialize_result: result,
        })
    }

    /// POSTs a message to the stream's messages URL (202 expected); for a request, the
    /// response from the stream (the `message` event with its id).
    async fn legacy_post(
        &mut self,
        step: &'static str,
        access_token: &str,
        body: &Value,
    ) -> Result<Option<Value>> {
        let http = &self.http;
        let Some(stream) = self.legacy.as_mut() else {
            return Err(protocol(step, "no HTTP+SSE stream is open".to_owned()));
        };
        let response = http
            .post(&stream.endpoint)
            .bearer_auth(access_token)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(unexpected(step, response).await);
        }
        let Some(id) = body.get("id").filter(|id| !id.is_null()) else {
            return Ok(None);
        };
        loop {
            let (event, data) = stream.next_event(step).await?;
            if event != "message" {
                continue;
            }
            let message: Value = serde_json::from_str(&data)
                .map_err(|e| protocol(step, format!("message event not JSON ({e}): {data}")))?;
            if message.get("id") == Some(id) {
                return Ok(Some(message));
            }
        }
    }

    async fn mcp_post(
        &self,
        step: &'static str,
        access_token: &str,
        session: Option<&McpSession>,
        body: &Value,
    ) -> Result<Response> {
        let earlier = self
            .mcp_posts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut request = self.http.post(&self.mcp_url);
        if earlier == 0 || !self.does(Misbehaviour::DropBearerAfterFirstRequest) {
            request = request.bearer_auth(access_token);
        }
        let mut request = request
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(session) = session {
            if !session.session_id.is_empty() {
                request = request.header("mcp-session-id", &session.session_id);
            }
            request = request.header("mcp-protocol-version", &session.protocol_version);
        }
        if self.modern.is_some() {
            // 2026-07-28, Streamable HTTP: Mcp-Method (and Mcp-Name for named targets) mirror
            // the body.
            if let Some(method) = body.get("method").and_then(Value::as_str) {
                request = request.header("mcp-method", method);
                let name = match method {
                    "tools/call" | "prompts/get" => body.pointer("/params/name"),
                    "resources/read" => body.pointer("/params/uri"),
                    _ => None,
                };
                if let Some(name) = name.and_then(Value::as_str) {
                    request = request.header("mcp-name", name);
                }
            }
        }
        request
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })
    }

    async fn get_json(&self, step: &'static str, url: &str) -> Result<Value> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|source| ClientError::Transport { step, source })?;
        if response.status() != StatusCode::OK {
            return Err(unexpected(step, response).await);
        }
        json_body(step, response).await
    }

    fn discovered(&self, step: &'static str) -> Result<&Discovery> {
        self.discovery
            .as_ref()
            .ok_or_else(|| protocol(step, "discover() first".to_owned()))
    }

    fn registered(&self, step: &'static str) -> Result<&Registration> {
        self.registration
            .as_ref()
            .ok_or_else(|| protocol(step, "register() first".to_owned()))
    }
}

/// RFC 9207 §2.4: an `iss` that is present must be the issuer the request went to, by simple
/// string comparison (its form-encoding already undone); one that is absent is acceptable only
/// from a server whose metadata does not say it sends one. (An `iss` from a server that does not
/// advertise it, which §2.4 says a client SHOULD discard, is accepted when it matches.)
fn iss_is_acceptable(issuer: &str, advertised: bool, iss: Option<&str>) -> bool {
    match iss {
        Some(iss) => iss == issuer,
        None => !advertised,
    }
}

fn protocol(step: &'static str, detail: String) -> ClientError {
    ClientError::Protocol { step, detail }
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn unexpected(step: &'static str, response: Response) -> ClientError {
    let status = response.status().as_u16();
    let www_authenticate = header(&response, WWW_AUTHENTICATE.as_str());
    let body = response.text().await.unwrap_or_default();
    ClientError::Http {
        step,
        status,
        www_authenticate,
        body,
    }
}

async fn oauth_error(step: &'static str, response: Response) -> ClientError {
    let status = response.status().as_u16();
    let www_authenticate = header(&response, WWW_AUTHENTICATE.as_str());
    let body = response.text().await.unwrap_or_default();
    match serde_json::from_str::<Value>(&body) {
        Ok(json) if json.get("error").is_some_and(Value::is_string) => ClientError::OAuth {
            step,
            status,
            error: json["error"].as_str().unwrap_or_default().to_owned(),
            description: json
                .get("error_description")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        _ => ClientError::Http {
            step,
            status,
            www_authenticate,
            body,
        },
    }
}

fn redirect_error(step: &'static str, response: &Response) -> ClientError {
    let location = header(response, LOCATION.as_str()).unwrap_or_default();
    let Ok(url) = Url::parse(&location) else {
        return protocol(step, format!("unusable Location {location:?}"));
    };
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    ClientError::Redirected {
        step,
        error: param("error").unwrap_or_default(),
        description: param("error_description"),
        state: param("state"),
    }
}

async fn json_body(step: &'static str, response: Response) -> Result<Value> {
    let text = response
        .text()
        .await
        .map_err(|source| ClientError::Transport { step, source })?;
    serde_json::from_str(&text).map_err(|e| protocol(step, format!("not JSON ({e}): {text}")))
}

async fn rpc_result(step: &'static str, response: Response) -> Result<Value> {
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return Err(unexpected(step, response).await);
    }
    let text = response
        .text()
        .await
        .map_err(|source| ClientError::Transport { step, source })?;
    let Ok(body) = serde_json::from_str::<Value>(&text) else {
        return Err(ClientError::Http {
            step,
            status: status.as_u16(),
            www_authenticate: None,
            body: text,
        });
    };
    if let Some(error) = body.get("error") {
        return Err(ClientError::JsonRpc {
            step,
            status: status.as_u16(),
            code: error
                .get("code")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    if status != StatusCode::OK {
        return Err(ClientError::Http {
            step,
            status: status.as_u16(),
            www_authenticate: None,
            body: text,
        });
    }
    body.get("result")
        .cloned()
        .ok_or_else(|| protocol(step, format!("no result in {text}")))
}

/// Whether an `initialize` POST's refusal is the one "Backwards Compatibility" falls back on: a
/// 4xx other than 401 (which asks for a token, not another transport).
fn is_fallback_status(status: Option<u16>) -> bool {
    status.is_some_and(|status| (400..500).contains(&status) && status != 401)
}

/// The `result` of a JSON-RPC response that arrived on the HTTP+SSE stream.
fn rpc_message(step: &'static str, message: Option<Value>) -> Result<Value> {
    let Some(message) = message else {
        return Err(protocol(step, "no response on the stream".to_owned()));
    };
    if let Some(error) = message.get("error") {
        return Err(ClientError::JsonRpc {
            step,
            status: 200,
            code: error
                .get("code")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    message
        .get("result")
        .cloned()
        .ok_or_else(|| protocol(step, format!("no result in {message}")))
}

fn string_field(step: &'static str, json: &Value, name: &str) -> Result<String> {
    json.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| protocol(step, format!("no string {name} in {json}")))
}

/// A parameter of a `WWW-Authenticate` challenge, e.g. `resource_metadata="..."`.
pub fn challenge_param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &challenge[start..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The `value` of `<input ... name="NAME" value="...">` on a trivial page.
/// The consent form's `action`, as the page says it.
fn form_action(html: &str) -> Option<String> {
    let start = html.find("<form")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let value_start = tag.find("action=\"")? + "action=\"".len();
    let value = &tag[value_start..];
    Some(value[..value.find('"')?].replace("&amp;", "&"))
}

/// The OAuth error code an error page shows (`<code id="error">…</code>`).
fn error_page_code(html: &str) -> Option<&str> {
    let marker = "<code id=\"error\">";
    let start = html.find(marker)? + marker.len();
    let rest = &html[start..];
    Some(&rest[..rest.find('<')?])
}

pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let value = &rest[start..];
    Some(value[..value.find('"')?].to_owned())
}

/// A PKCE verifier or state: 32 random bytes, base64url (43 characters).
fn random_token(step: &'static str) -> Result<String> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| protocol(step, format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iss_is_checked_by_simple_string_comparison_rfc_9207() {
        let issuer = "http://127.0.0.1:4000/tenant1";
        assert!(iss_is_acceptable(issuer, true, Some(issuer)));
        assert!(iss_is_acceptable(issuer, false, Some(issuer)));
        assert!(iss_is_acceptable(issuer, false, None));
        // Advertised but missing, another issuer on the same origin, a prefix, a normalised form.
        assert!(!iss_is_acceptable(issuer, true, None));
        assert!(!iss_is_acceptable(
            issuer,
            true,
            Some("http://127.0.0.1:4000/tenant2")
        ));
        assert!(!iss_is_acceptable(
            issuer,
            true,
            Some("http://127.0.0.1:4000")
        ));
        assert!(!iss_is_acceptable(
            issuer,
            true,
            Some("http://127.0.0.1:4000/tenant1/")
        ));
        assert!(!iss_is_acceptable(
            issuer,
            false,
            Some("https://elsewhere.example")
        ));
    }
}
