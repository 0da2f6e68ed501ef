//! The MCP endpoint: Streamable HTTP as in revisions 2025-03-26 … 2025-11-25 (sessions, a GET
//! stream, JSON responses), and the stateless 2026-07-28 revision ([`modern`]), behind OAuth
//! bearer tokens.
//!
//! Which era a server speaks is its configuration's choice. A legacy-only server answers a
//! 2026-07-28 request what a 2025-11-25 server must — see [`unsupported_protocol_version`] —
//! which is what tells a dual-era client to fall back to `initialize`. A server offering both
//! serves both on this one endpoint (MCP 2026-07-28, Basic › Versioning › "Backward
//! Compatibility with Initialization-Based Versions", dual-era server).

pub(crate) mod cors;
pub(crate) mod dispatch;
pub(crate) mod fixtures;
pub(crate) mod headers;
pub(crate) mod jsonrpc;
pub(crate) mod legacy_sse;
pub(crate) mod modern;
pub(crate) mod origin;
pub(crate) mod seed;
pub(crate) mod tools;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::access_log::{Bearer, ConnectionDropped, Notes};
use crate::api_error::{unreadable_body, ApiError, RequestBody};
use crate::config::{ServerConfig, DEFAULT_SCOPE};
use crate::mcp::dispatch::{capabilities, dispatch, instructions, server_info, Authenticated};
use crate::mcp::headers::{header_str, PROTOCOL_VERSION_HEADER, SESSION_HEADER};
use crate::mcp::jsonrpc::{
    Incoming, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, SERVER_ERROR,
};
use crate::profile::{Quirk, Revision};
use crate::runtime::KillSwitch;
use crate::state::{AppState, TransportFault};
use crate::store::tokens::GrantInfo;

const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(crate) fn routes(config: &ServerConfig) -> Router<AppState> {
    if config.faults.legacy_sse_only {
        // The older HTTP+SSE transport only ([`legacy_sse`]): the stream at the server URL,
        // the messages beside it.
        return Router::new()
            .route(
                config.mcp_path(),
                get(legacy_open).head(legacy_head).post(legacy_post),
            )
            .route(
                &config.legacy_messages_path(),
                axum::routing::post(legacy_message),
            );
    }
    Router::new().route(
        config.mcp_path(),
        get(open_stream).head(head).post(post).delete(delete),
    )
}

/// RFC 6750 §2.1 header credentials only (the resource metadata says `["header"]`); every
/// failure is a 401 whose `WWW-Authenticate` points at the resource metadata (RFC 9728 §5.1,
/// MCP authorization "Authorization Server Location").
fn authenticate(
    state: &AppState,
    notes: &Notes,
    headers: &HeaderMap,
) -> Result<Authenticated, ApiError> {
    origin::check(state.config(), headers)?;
    if state.config().discovery.credentials == crate::discovery::Credentials::ApiKey {
        return api_key(notes, headers);
    }
    if state.config().no_auth {
        // `--no-auth`: the caller is who a token for the default scope would make it.
        return Ok(Authenticated {
            grant: GrantInfo {
                client_id: NO_AUTH_CLIENT.to_owned(),
                scope: DEFAULT_SCOPE.to_owned(),
                resource: None,
                family: 0,
            },
            token_id: NO_AUTH_CLIENT.to_owned(),
        });
    }
    let credentials = headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let token = credentials.as_deref().and_then(|value| {
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let (bearer, grant) = match token {
        None => (Bearer::None, None),
        Some("") => (Bearer::Unknown, None),
        Some(token) => state.tokens().check(token, &state.config().resource()),
    };
    notes.update(|n| n.bearer = bearer.clone());
    let description = match &bearer {
        Bearer::None => "a bearer token is required",
        Bearer::Unknown => "the access token is not known",
        Bearer::Revoked { .. } => "the access token was revoked",
        Bearer::Expired { .. } => "the access token expired",
        Bearer::WrongResource { .. } => "the access token is for another resource",
        Bearer::Valid { .. } => "",
    };
    match (bearer, grant) {
        (Bearer::Valid { token_id }, Some(grant)) => Ok(Authenticated { grant, token_id }),
        (bearer, _) => Err(ApiError::Unauthorized {
            resource_metadata: state.config().challenge_resource_metadata(),
            invalid_token: bearer != Bearer::None,
            description: description.to_owned(),
        }),
    }
}

/// Who an unauthenticated request is under `--no-auth`, in the access log and tool results.
const NO_AUTH_CLIENT: &str = "no-auth";

/// A [`crate::discovery::Credentials::ApiKey`] server: the configured key or a Basic challenge.
/// The caller's grant is the key's own (no client, the default scope).
fn api_key(notes: &Notes, headers: &HeaderMap) -> Result<Authenticated, ApiError> {
    use crate::discovery::{API_KEY, API_KEY_HEADER, BASIC_REALM};
    let sent = headers.get(API_KEY_HEADER).map(|v| v.as_bytes());
    let matched = sent == Some(API_KEY.as_bytes());
    notes.update(|n| n.api_key = Some(matched));
    if !matched {
        return Err(ApiError::BasicChallenge {
            realm: BASIC_REALM.to_owned(),
            description: match sent {
                None => format!("the {API_KEY_HEADER} header is required"),
                Some(_) => format!("the {API_KEY_HEADER} header names no known key"),
            },
        });
    }
    Ok(Authenticated {
        grant: crate::store::tokens::GrantInfo {
            client_id: "api-key".to_owned(),
            scope: DEFAULT_SCOPE.to_owned(),
            resource: None,
            family: 0,
        },
        token_id: "api-key".to_owned(),
    })
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::rpc(StatusCode::BAD_REQUEST, Value::Null, SERVER_ERROR, message)
}

/// MCP 2025-11-25, Basic › Transports › Streamable HTTP › "Protocol Version Header": "If the
/// server receives a request with an invalid or unsupported `MCP-Protocol-Version`, it MUST
/// respond with `400 Bad Request`."
///
/// This is what a `server/discover` probe with `MCP-Protocol-Version: 2026-07-28` meets here. The
/// body is deliberately *not* a modern error (not `UnsupportedProtocolVersionError` -32022, not
/// `HeaderMismatch` -32020): per MCP 2026-07-28, Basic › Transports › Streamable HTTP ›
/// "Backward Compatibility" and Basic › Versioning › "Backward Compatibility with
/// Initialization-Based Versions" (compatibility matrix, row Dual-era client / Legacy server), a
/// `400` whose body is not a recognized modern JSON-RPC error identifies a legacy server and the
/// client falls back to `initialize`. Answering -32022 would claim the server is modern.
fn unsupported_protocol_version(state: &AppState, version: &str) -> ApiError {
    bad_request(format!(
        "Bad Request: Unsupported protocol version: {version} (supported versions: {})",
        state.config().protocol_versions.join(", ")
    ))
}

/// The session named by the request, with its negotiated revision: 400 when absent, 404 when
/// unknown or ended (Streamable HTTP › "Session Management"), 400 when the protocol-version
/// header disagrees with the session.
fn require_session(state: &AppState, headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let Some(id) = header_str(headers, SESSION_HEADER) else {
        if state.config().has_quirk(Quirk::NoSessionId) {
            // A sessionless server: the revision is the header's, else 2025-03-26 (2025-06-18,
            // Transports › "Protocol Version Header": assume 2025-03-26 without one).
            let version = header_str(headers, PROTOCOL_VERSION_HEADER).unwrap_or("2025-03-26");
            return Ok((String::new(), version.to_owned()));
        }
        return Err(bad_request(
            "Bad Request: Mcp-Session-Id header is required",
        ));
    };
    let known = if state.forgets_sessions() {
        None
    } else {
        state.sessions().protocol_version(id)
    };
    let Some(negotiated) = known else {
        return Err(ApiError::rpc(
            StatusCode::NOT_FOUND,
            Value::Null,
            SERVER_ERROR,
            "Session not found",
        ));
    };
    if let Some(version) = header_str(headers, PROTOCOL_VERSION_HEADER) {
        if !state.config().offers_protocol_version(version) {
            return Err(unsupported_protocol_version(state, version));
        }
        if version != negotiated {
            return Err(bad_request(format!(
                "Bad Request: MCP-Protocol-Version {version} differs from the negotiated {negotiated}"
            )));
        }
    }
    Ok((id.to_owned(), negotiated))
}

fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
    header_str(headers, header::ACCEPT.as_str()).is_some_and(|accept| {
        accept.split(',').any(|item| {
            let media = item.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case(wanted)
        })
    })
}

async fn post(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
    kill: Option<axum::Extension<KillSwitch>>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    if let Some(ms) = state.slow_responses_ms() {
        // The slow-responses fault: every MCP POST is held, then handled as usual.
        notes.update(|n| n.fault = Some(format!("slow {ms} ms")));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let body = body.map_err(|rejection| {
        let (status, reason) = unreadable_body(&rejection);
        ApiError::rpc(status, Value::Null, SERVER_ERROR, reason)
    })?;
    // Parsed before authentication so the log says what an unauthenticated client asked for.
    let incoming = note_rpc(&notes, &body);

    let caller = authenticate(&state, &notes, &headers)?;
    if let Some(fault) = state.take_transport_fault() {
        return Ok(commit_transport_fault(&notes, fault, kill.map(|k| k.0)));
    }

    require_json_body(&headers)?;
    // The transport asks clients to accept both JSON and SSE; only a client that rules out JSON
    // (the only thing this server answers with) is refused.
    if header_str(&headers, header::ACCEPT.as_str()).is_some()
        && !accepts(&headers, "application/json")
        && !accepts(&headers, "application/*")
        && !accepts(&headers, "*/*")
    {
        return Err(ApiError::rpc(
            StatusCode::NOT_ACCEPTABLE,
            Value::Null,
            SERVER_ERROR,
            "Not Acceptable: Client must accept application/json",
        ));
    }
    let incoming = match incoming {
        None => {
            return Err(ApiError::rpc(
                StatusCode::BAD_REQUEST,
                Value::Null,
                PARSE_ERROR,
                "Parse error",
            ))
        }
        Some(Incoming::Batch) => {
            return Err(ApiError::rpc(
                StatusCode::BAD_REQUEST,
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: batching is not supported",
            ))
        }
        Some(Incoming::Invalid { id, reason }) => {
            return Err(ApiError::rpc(
                StatusCode::BAD_REQUEST,
                id,
                INVALID_REQUEST,
                format!("Invalid Request: {reason}"),
            ))
        }
        Some(incoming) => incoming,
    };

    if modern::is_modern_request(state.config(), &headers, &incoming) {
        return modern::handle(&state, &notes, &headers, incoming, &caller);
    }
    if let Incoming::Request { id, method, params } = &incoming {
        if method == "initialize" {
            // The client cannot know the revision before initialize answers, so its header (if
            // any) is not checked here (Streamable HTTP › "Protocol Version Header").
            return initialize(&state, &notes, id, params.as_ref());
        }
    }
    if let Some(version) = header_str(&headers, PROTOCOL_VERSION_HEADER) {
        if !state.config().offers_protocol_version(version) {
            return Err(unsupported_protocol_version(&state, version));
        }
    }
    let (_, negotiated) = require_session(&state, &headers)?;
    notes.update(|n| n.negotiated = Some(negotiated.clone()));
    match incoming {
        // Notifications and responses are accepted with 202 and no body (Streamable HTTP ›
        // "Sending Messages to the Server").
        Incoming::Notification { .. } | Incoming::Response { .. } => {
            Ok(StatusCode::ACCEPTED.into_response())
        }
        Incoming::Request { id, method, params } => {
            if method == "tools/call" {
                if let Some(needed) = &state.config().faults.tools_call_scope {
                    if !caller.grant.scope.split(' ').any(|s| s == needed) {
                        return Err(ApiError::InsufficientScope {
                            resource_metadata: state.config().challenge_resource_metadata(),
                            scope: format!("{DEFAULT_SCOPE} {needed}"),
                        });
                    }
                }
            }
            let result = dispatch(&state, &method, params.as_ref(), &negotiated, &caller)
                .map_err(|error| error.into_api_error(StatusCode::OK, id.clone()))?;
            Ok(Json(jsonrpc::result(&id, result)).into_response())
        }
        Incoming::Batch | Incoming::Invalid { .. } => Err(bad_request("Invalid Request")),
    }
}

/// Parses a JSON-RPC body and notes what it asks for (method, id, kind, `_meta`, tool), so the
/// log says so whatever the answer; `None` when it is not JSON.
fn note_rpc(notes: &Notes, body: &[u8]) -> Option<Incoming> {
    let parsed = serde_json::from_slice::<Value>(body);
    let incoming = parsed.as_ref().ok().map(jsonrpc::classify);
    if let Some(incoming) = &incoming {
        notes.update(|n| {
            n.rpc_kind = Some(incoming.kind().to_owned());
            n.rpc_method = incoming.method().map(str::to_owned);
            n.rpc_id = incoming.id().cloned();
            let meta = parsed
                .as_ref()
                .ok()
                .and_then(|v| v.pointer("/params/_meta"))
                .and_then(Value::as_object);
            n.meta_protocol_version = meta
                .and_then(|m| m.get(modern::META_PROTOCOL_VERSION))
                .and_then(Value::as_str)
                .map(str::to_owned);
            n.meta_client_capabilities = meta
                .and_then(|m| m.get(modern::META_CLIENT_CAPABILITIES))
                .is_some_and(Value::is_object);
            if incoming.method() == Some("tools/call") {
                n.tool_name = parsed
                    .as_ref()
                    .ok()
                    .and_then(|v| v.pointer("/params/name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
        });
    } else if !body.is_empty() {
        notes.update(|n| n.rpc_kind = Some("invalid".to_owned()));
    }

    incoming
}

/// Streamable HTTP's `POST` on a server that speaks only HTTP+SSE: the same 401 without a
/// token (so discovery and login work as on any server), then 405 ([`legacy_sse::post_refused`]).
async fn legacy_post(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<Response, ApiError> {
    if let Ok(body) = &body {
        note_rpc(&notes, body);
    }
    authenticate(&state, &notes, &headers)?;
    Err(legacy_sse::post_refused())
}

/// `GET` on a server that speaks only HTTP+SSE: the bearer token, `Accept: text/event-stream`
/// (406 otherwise: the stream is all this URL serves to a GET), then the stream.
async fn legacy_open(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authenticate(&state, &notes, &headers)?;
    if !accepts(&headers, "text/event-stream") {
        return Err(ApiError::http(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable: this URL serves an SSE stream (Accept: text/event-stream)",
        ));
    }
    Ok(legacy_sse::open_stream(&state, &notes))
}

/// `HEAD` answers what `GET` would without opening a stream (RFC 9110 §9.3.2).
async fn legacy_head(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authenticate(&state, &notes, &headers)?;
    Ok(([(header::CONTENT_TYPE, "text/event-stream")], "").into_response())
}

/// A message POSTed to a stream's messages URL: the bearer token, the stream named by the
/// query, a JSON body; its response goes out on the stream ([`legacy_sse::handle_message`]).
async fn legacy_message(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| {
        let (status, reason) = unreadable_body(&rejection);
        ApiError::rpc(status, Value::Null, SERVER_ERROR, reason)
    })?;
    let incoming = note_rpc(&notes, &body);
    let session = uri.query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == legacy_sse::SESSION_QUERY)
            .map(|(_, value)| value.into_owned())
    });
    // Noted before authentication, so a refused message still shows which stream it named.
    notes.update(|n| n.session_id = session.clone());
    let caller = authenticate(&state, &notes, &headers)?;
    let stream = legacy_sse::require_stream(&state, &notes, session.as_deref())?;
    require_json_body(&headers)?;
    let Some(incoming) = incoming else {
        return Err(ApiError::rpc(
            StatusCode::BAD_REQUEST,
            Value::Null,
            PARSE_ERROR,
            "Parse error",
        ));
    };
    legacy_sse::handle_message(&state, &notes, &stream, incoming, &caller)
}

/// The 5xx and dropped-connection faults, on an authenticated MCP `POST` that is then not
/// handled. The access log records which (`fault`); a dropped connection shows status 0.
fn commit_transport_fault(
    notes: &Notes,
    fault: TransportFault,
    kill: Option<KillSwitch>,
) -> Response {
    let noted = |text: String| {
        notes.update(|n| {
            n.fault = Some(match n.fault.take() {
                // A slow server can also fail: keep both.
                Some(before) => format!("{before}; {text}"),
                None => text,
            })
        })
    };
    match fault {
        TransportFault::Error { status, nth, of } => {
            noted(format!("mcp-error {status} ({nth} of {of})"));
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            // What a gateway in front of a struggling server sends: a status and a line of
            // text, not JSON-RPC.
            let text = format!(
                "{} {} (mock fault {nth} of {of})\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Server Error")
            );
            (
                status,
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
                text,
            )
                .into_response()
        }
        TransportFault::DropConnection { nth, of } => {
            noted(format!("dropped-connection ({nth} of {of})"));
            if let Some(kill) = kill {
                kill.kill();
            }
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(ConnectionDropped);
            response
        }
    }
}

/// Lifecycle › "Version Negotiation": the client's revision if offered, else the server's latest
/// legacy one. A server with no legacy revision (2026-07-28 only) refuses the handshake with
/// `UnsupportedProtocolVersionError` (MCP 2026-07-28, Basic › Versioning › "Protocol Version
/// Negotiation": a server that does not implement the requested version MUST answer it).
fn initialize(
    state: &AppState,
    notes: &Notes,
    id: &Value,
    params: Option<&Value>,
) -> Result<Response, ApiError> {
    let config = state.config();
    if config.latest_legacy_protocol_version().is_none() {
        // MCP 2026-07-28 removed `initialize` (changelog); Streamable HTTP: a method the server
        // does not implement gets 404 with -32601 Method not found. Checked before the params,
        // so that a 2026-07-28-only server never judges a handshake it does not have.
        return Err(ApiError::rpc(
            StatusCode::NOT_FOUND,
            id.clone(),
            METHOD_NOT_FOUND,
            "Method not found: initialize (removed in 2026-07-28; this server speaks only 2026-07-28: use server/discover)",
        ));
    }
    let invalid =
        |message: &str| ApiError::rpc(StatusCode::OK, id.clone(), INVALID_PARAMS, message);
    let Some(params) = params.and_then(Value::as_object) else {
        return Err(invalid("Invalid params: initialize needs params"));
    };
    let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
        return Err(invalid("Invalid params: protocolVersion must be a string"));
    };
    if !params.get("capabilities").is_some_and(Value::is_object) {
        return Err(invalid("Invalid params: capabilities must be an object"));
    }
    if !params.get("clientInfo").is_some_and(Value::is_object) {
        return Err(invalid("Invalid params: clientInfo must be an object"));
    }
    let Some(latest_legacy) = config.latest_legacy_protocol_version() else {
        return Err(modern::unsupported_version(config, id.clone(), requested));
    };
    let negotiated =
        if config.offers_protocol_version(requested) && !Revision::is_modern_id(requested) {
            requested
        } else {
            latest_legacy
        };
    notes.update(|n| n.negotiated = Some(negotiated.to_owned()));
    let mut result = json!({
        "protocolVersion": negotiated,
        "capabilities": capabilities(config),
        "serverInfo": server_info(config),
    });
    if let Some(instructions) = instructions(config) {
        result["instructions"] = json!(instructions);
    }
    let mut response = Json(jsonrpc::result(id, result)).into_response();
    if config.has_quirk(Quirk::NoSessionId) {
        return Ok(response);
    }
    let session_id = state.sessions().create(negotiated);
    if let Ok(value) = HeaderValue::from_str(&session_id) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    Ok(response)
}

/// GET opens the session's server-to-client SSE stream (Streamable HTTP › "Listening for
/// Messages from the Server"). Nothing is ever sent on it but keep-alive comments; it ends when
/// the session is deleted or the server stops.
async fn open_stream(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let closed = stream_session(&state, &notes, &headers)?;
    let opened =
        stream::once(async { Ok::<Event, Infallible>(Event::default().comment("stream open")) });
    // Notifications the server pushes (e.g. `notifications/tools/list_changed`), as `message`
    // events (Streamable HTTP › "Listening for Messages from the Server").
    let pushed = stream::unfold(state.sessions().subscribe(), |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(message) => {
                    let event = Event::default().event("message").data(message);
                    return Some((Ok::<Event, Infallible>(event), rx));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let session_closed = async move {
        let mut closed = closed;
        // An error means the session is gone, which also ends the stream.
        let _ = closed.wait_for(|closed| *closed).await;
    };
    let sse = Sse::new(opened.chain(pushed).take_until(session_closed))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"));
    let mut response = sse.into_response();
    // Tell buffering proxies (in container mode) to pass events through at once.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// What GET and HEAD check before a stream: the bearer token (401 with the challenge), whether
/// the server and the request have a stream at all (405), `Accept: text/event-stream` (405), and
/// the session (400 / 404). Gives the session's closing signal.
fn stream_session(
    state: &AppState,
    notes: &Notes,
    headers: &HeaderMap,
) -> Result<tokio::sync::watch::Receiver<bool>, ApiError> {
    authenticate(state, notes, headers)?;
    if no_stream(state, headers) {
        return Err(ApiError::method_not_allowed("POST"));
    }
    if !accepts(headers, "text/event-stream") {
        return Err(ApiError::method_not_allowed("GET, POST, DELETE"));
    }
    let (id, _) = require_session(state, headers)?;
    state.sessions().watch_closed(&id).ok_or_else(|| {
        ApiError::rpc(
            StatusCode::NOT_FOUND,
            Value::Null,
            SERVER_ERROR,
            "Session not found",
        )
    })
}

/// HEAD answers what GET would, without a body (RFC 9110 §9.3.2) and without opening a stream.
/// Clients probe the endpoint this way before connecting (Gemini CLI, Qwen Code): without a
/// token they get the 401 and `WWW-Authenticate` challenge a POST gets; with one, GET's 405, 400
/// or 404 for the revision and request, or the stream's headers.
async fn head(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    stream_session(&state, &notes, &headers)?;
    // A body of unknown length, as the stream's would be: axum then sets no `Content-Length`
    // (a `0` would claim the stream is empty, RFC 9110 §8.6) and sends no body for HEAD.
    let unknown_length =
        axum::body::Body::from_stream(stream::empty::<Result<axum::body::Bytes, Infallible>>());
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        unknown_length,
    )
        .into_response())
}

/// Whether GET and DELETE have nothing to act on: MCP 2026-07-28 removed the GET stream and
/// sessions (changelog; Streamable HTTP: such a server answers GET with 405), so a server without
/// a legacy revision, or a request declaring a modern one, gets 405; so does a sessionless
/// ([`Quirk::NoSessionId`]) server asked without a session (2025-06-18, Streamable HTTP ›
/// "Listening for Messages from the Server": 405 when the server offers no stream).
fn no_stream(state: &AppState, headers: &HeaderMap) -> bool {
    let config = state.config();
    config.latest_legacy_protocol_version().is_none()
        || header_str(headers, PROTOCOL_VERSION_HEADER).is_some_and(Revision::is_modern_id)
        || (config.has_quirk(Quirk::NoSessionId) && header_str(headers, SESSION_HEADER).is_none())
}

/// DELETE ends the session (Streamable HTTP › "Session Management").
async fn delete(
    State(state): State<AppState>,
    notes: Notes,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authenticate(&state, &notes, &headers)?;
    if no_stream(&state, &headers) {
        return Err(ApiError::method_not_allowed("POST"));
    }
    let (id, _) = require_session(&state, &headers)?;
    state.sessions().remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A JSON-RPC message must come as `application/json` (Streamable HTTP and the older HTTP+SSE
/// transport alike): 415 with a JSON-RPC error otherwise.
fn require_json_body(headers: &HeaderMap) -> Result<(), ApiError> {
    let is_json = header_str(headers, header::CONTENT_TYPE.as_str())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::rpc(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Value::Null,
            SERVER_ERROR,
            "Unsupported Media Type: Content-Type must be application/json",
        ))
    }
}
