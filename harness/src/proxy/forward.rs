//! The forwarding itself: one axum fallback handler per listener takes any request, maps the
//! proxy's URLs in it back to the upstream's, sends it on, learns from the answer (authorization
//! servers, endpoints, tokens, sessions), rewrites upstream URLs in it to the proxy's, records
//! the exchange, and returns it. Event streams are passed through as they arrive, copied into the
//! record up to [`STREAM_CAPTURE_LIMIT`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use mock_server::{AccessRecord, Phase};
use serde_json::Value;
use url::Url;

use crate::proxy::classify::Endpoints;
use crate::proxy::origins::{
    origin_of, rewrite_form, rewrite_json, Direction, OriginMap, OriginPair, Rewrite,
};
use crate::proxy::record::{self, Exchange, TokenLabels};
use crate::proxy::redact;

/// The largest request body the proxy takes (MCP requests and OAuth forms are far smaller).
pub const REQUEST_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// How much of an event stream the record keeps.
pub const STREAM_CAPTURE_LIMIT: usize = 1024 * 1024;
/// How long the proxy waits for the upstream to accept a connection.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers that belong to one connection (RFC 9110 §7.6.1), and those the proxy sets itself:
/// the host is the upstream's, lengths are recomputed, and `accept-encoding` is dropped so
/// bodies arrive uncompressed and can be read and rewritten.
const NOT_FORWARDED: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    "proxy-authorization",
];

/// Response headers that may carry an absolute URL of the upstream.
const URL_HEADERS: [&str; 4] = ["location", "content-location", "www-authenticate", "link"];

/// Form fields that are the client's own and stay as sent (its callback, RFC 6749 §3.1.2).
const CLIENT_OWNED_FIELDS: [&str; 1] = ["redirect_uri"];

/// Everything the listeners share.
pub(crate) struct Shared {
    pub started: Instant,
    pub http: reqwest::Client,
    pub mcp_upstream: Url,
    /// A pre-issued access token (`--bearer-file`) the proxy adds to every request to the MCP
    /// endpoint that carries no `Authorization` of its own.
    pub bearer: Option<PreIssuedToken>,
    pub state: Mutex<ProxyState>,
}

#[derive(Default)]
pub(crate) struct ProxyState {
    pub origins: OriginMap,
    pub endpoints: Option<Endpoints>,
    pub labels: TokenLabels,
    pub records: Vec<AccessRecord>,
    pub exchanges: Vec<Exchange>,
    pub rewrites: Vec<Rewrite>,
    /// The revision each session negotiated (`initialize`'s `protocolVersion`).
    pub sessions: HashMap<String, String>,
    /// Listeners that could not be opened for an authorization server's origin.
    pub problems: Vec<String>,
    /// Secrets no record may hold wherever they appear (the pre-issued token).
    pub scrub: Vec<String>,
}

/// A token given to the harness (`--bearer-file`), never printed: its `Debug` says only that
/// there is one.
#[derive(Clone)]
pub struct PreIssuedToken(String);

impl PreIssuedToken {
    pub fn new(token: String) -> PreIssuedToken {
        PreIssuedToken(token)
    }

    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// The token itself, for the redaction of anything that might echo it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PreIssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreIssuedToken(<redacted>)")
    }
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ProxyState {
    fn note_rewrite(&mut self, direction: Direction, at: String, from: String, to: String) {
        if let Some(existing) = self
            .rewrites
            .iter_mut()
            .find(|r| r.direction == direction && r.at == at && r.from == from && r.to == to)
        {
            existing.times += 1;
            return;
        }
        self.rewrites.push(Rewrite {
            direction,
            at,
            from,
            to,
            times: 1,
        });
    }

    /// Numbers the record and its exchange and stores both.
    fn push(&mut self, mut record: AccessRecord, mut exchange: Exchange) -> u64 {
        let seq = self.records.len() as u64 + 1;
        record.seq = seq;
        exchange.seq = seq;
        // A server that echoes the pre-issued token (in an error, say) must not put it in a
        // record either.
        for secret in &self.scrub {
            let scrub = |text: &mut String| {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), redact::REDACTED);
                }
            };
            exchange.request_body.as_mut().map(scrub);
            exchange.response_body.as_mut().map(scrub);
            scrub(&mut exchange.upstream_url);
            for (_, value) in exchange
                .request_headers
                .iter_mut()
                .chain(exchange.response_headers.iter_mut())
            {
                scrub(value);
            }
            record.error.as_mut().map(scrub);
        }
        self.records.push(record);
        self.exchanges.push(exchange);
        seq
    }
}

#[derive(Clone)]
pub(crate) struct Listener {
    pub shared: Arc<Shared>,
    pub upstream: String,
    pub on_authorization_server: bool,
}

/// Opens a loopback listener for `upstream` (an origin) unless one exists; its proxy origin.
/// Must be called inside the proxy's runtime.
pub(crate) fn serve_origin(
    shared: &Arc<Shared>,
    upstream: &str,
    on_authorization_server: bool,
) -> std::io::Result<String> {
    if let Some(proxy) = shared.lock().origins.proxy_for(upstream) {
        return Ok(proxy.to_owned());
    }
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    std_listener.set_nonblocking(true)?;
    let port = std_listener.local_addr()?.port();
    let listener = tokio::net::TcpListener::from_std(std_listener)?;
    let proxy = format!("http://127.0.0.1:{port}");
    shared.lock().origins.add(OriginPair {
        upstream: upstream.to_owned(),
        proxy: proxy.clone(),
        on_authorization_server,
    });
    let app = axum::Router::new().fallback(forward).with_state(Listener {
        shared: shared.clone(),
        upstream: upstream.to_owned(),
        on_authorization_server,
    });
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "a proxy listener stopped");
        }
    });
    Ok(proxy)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                redact::header(k.as_str(), &String::from_utf8_lossy(v.as_bytes())),
            )
        })
        .collect()
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

/// The form fields of a request: its query, and its body when that is a form.
fn form_fields(
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if content_type.is_some_and(|c| c.contains("x-www-form-urlencoded")) {
        fields.extend(
            url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    fields
}

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn is_textual(content_type: &str) -> bool {
    let c = content_type.to_ascii_lowercase();
    c.contains("json") || c.starts_with("text/") || c.contains("x-www-form-urlencoded")
}

async fn forward(State(listener): State<Listener>, request: Request) -> Response {
    let shared = listener.shared.clone();
    let arrived = shared.started.elapsed();
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let body = match axum::body::to_bytes(body, REQUEST_BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("recording proxy: cannot read the request body: {e}"),
            )
        }
    };
    let (phase, origins) = {
        let state = shared.lock();
        let phase = state
            .endpoints
            .as_ref()
            .map(|e| e.phase(&listener.upstream, &path))
            .unwrap_or(Phase::Other);
        (phase, state.origins.clone())
    };
    let at = format!("{method} {path}");
    let request_type = header_str(&parts.headers, "content-type").map(str::to_owned);
    let mut request_rewrites: Vec<(String, String, String)> = Vec::new();

    // The proxy's URLs back to the server's, in what the client sends (not in MCP messages,
    // which are the conversation itself).
    let mut upstream_query = query.clone();
    let mut upstream_body = body.clone();
    if phase != Phase::Mcp {
        if let Some(q) = &query {
            if let Some((new, changes)) =
                rewrite_form(q, &CLIENT_OWNED_FIELDS, &|s| origins.to_upstream(s))
            {
                upstream_query = Some(new);
                request_rewrites.extend(
                    changes
                        .into_iter()
                        .map(|(k, f, t)| (format!("{at}: query {k}"), f, t)),
                );
            }
        }
        if request_type
            .as_deref()
            .is_some_and(|c| c.contains("x-www-form-urlencoded"))
        {
            if let Ok(text) = std::str::from_utf8(&body) {
                if let Some((new, changes)) =
                    rewrite_form(text, &CLIENT_OWNED_FIELDS, &|s| origins.to_upstream(s))
                {
                    upstream_body = Bytes::from(new);
                    request_rewrites.extend(
                        changes
                            .into_iter()
                            .map(|(k, f, t)| (format!("{at}: form {k}"), f, t)),
                    );
                }
            }
        }
    }
    let mut headers = reqwest::header::HeaderMap::new();
    // The pre-issued token goes to the MCP endpoint only, never to an authorization server.
    let injected = shared.bearer.as_ref().filter(|_| {
        phase == Phase::Mcp
            && !listener.on_authorization_server
            && !parts.headers.contains_key("authorization")
    });
    if let Some(token) = injected {
        if let Ok(value) = HeaderValue::from_str(&token.header_value()) {
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
    }
    for (name, value) in &parts.headers {
        let lower = name.as_str();
        if NOT_FORWARDED.contains(&lower) {
            continue;
        }
        let mut value = value.clone();
        if lower == "origin" || lower == "referer" {
            if let Some(new) = value.to_str().ok().and_then(|v| origins.to_upstream(v)) {
                if let Ok(v) = HeaderValue::from_str(&new) {
                    request_rewrites.push((
                        format!("{at}: header {lower}"),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        new,
                    ));
                    value = v;
                }
            }
        }
        headers.append(name.clone(), value);
    }
    let upstream_url = match &upstream_query {
        Some(q) => format!("{}{path}?{q}", listener.upstream),
        None => format!("{}{path}", listener.upstream),
    };

    let mut record = record::blank(method.as_str(), &path, phase);
    record.at_ms = arrived.as_millis() as u64;
    record.on_authorization_server = listener.on_authorization_server;
    record.accept = header_str(&parts.headers, "accept").map(str::to_owned);
    record.user_agent = header_str(&parts.headers, "user-agent").map(str::to_owned);
    record.protocol_version = header_str(&parts.headers, "mcp-protocol-version").map(str::to_owned);
    record.mcp_method_header = header_str(&parts.headers, "mcp-method").map(str::to_owned);
    record.session_id = header_str(&parts.headers, "mcp-session-id").map(str::to_owned);
    let fields = form_fields(query.as_deref(), request_type.as_deref(), &body);
    record.grant_type = field(&fields, "grant_type");
    record.client_id = field(&fields, "client_id")
        .or_else(|| record::basic_client_id(header_str(&parts.headers, "authorization")));
    record.resource = field(&fields, "resource");
    record.redirect_uri = field(&fields, "redirect_uri");
    if phase == Phase::Mcp {
        let shape = record::rpc_shape(&body);
        record.rpc_method = shape.method;
        record.rpc_id = shape.id;
        record.rpc_kind = shape.kind;
        record.tool_name = shape.tool_name;
        record.meta_protocol_version = shape.meta_protocol_version;
        record.meta_client_capabilities = shape.meta_client_capabilities;
    }
    let authorization = header_str(&parts.headers, "authorization")
        .map(str::to_owned)
        .or_else(|| injected.map(PreIssuedToken::header_value));
    let mut request_headers = redacted_headers(&parts.headers);
    if injected.is_some() {
        request_headers.push((
            "authorization".to_owned(),
            format!("{} (added by the proxy: --bearer-file)", redact::REDACTED),
        ));
    }
    let mut exchange = Exchange {
        seq: 0,
        method: method.to_string(),
        upstream_url: redact::url(&upstream_url),
        phase,
        on_authorization_server: listener.on_authorization_server,
        status: 0,
        request_headers,
        request_body: redact::body(request_type.as_deref(), &body),
        response_headers: Vec::new(),
        response_body: None,
    };
    {
        let mut state = shared.lock();
        for (where_, from, to) in request_rewrites {
            state.note_rewrite(Direction::ToUpstream, where_, from, to);
        }
    }

    let sent = shared
        .http
        .request(method.clone(), &upstream_url)
        .headers(headers)
        .body(upstream_body)
        .send()
        .await;
    let upstream = match sent {
        Ok(response) => response,
        Err(e) => {
            let message = format!("the recording proxy could not reach {upstream_url}: {e}");
            record.status = 502;
            record.error = Some(format!("proxy: {e}"));
            let mut state = shared.lock();
            record.bearer = state.labels.bearer(authorization.as_deref(), 502);
            exchange.status = 502;
            state.push(record, exchange);
            return plain(StatusCode::BAD_GATEWAY, message);
        }
    };
    let status = upstream.status();
    let response_headers = upstream.headers().clone();
    let response_type = header_str(&response_headers, "content-type")
        .unwrap_or("")
        .to_owned();
    exchange.status = status.as_u16();
    exchange.response_headers = redacted_headers(&response_headers);
    record.status = status.as_u16();
    if record.session_id.is_none() {
        record.session_id = header_str(&response_headers, "mcp-session-id").map(str::to_owned);
    }
    if let Some(challenge) = header_str(&response_headers, "www-authenticate") {
        record.error = record::challenge_error(challenge);
    }
    let is_initialize = record.rpc_method.as_deref() == Some("initialize");

    if response_type
        .to_ascii_lowercase()
        .starts_with("text/event-stream")
    {
        let seq = {
            let mut state = shared.lock();
            record.bearer = state
                .labels
                .bearer(authorization.as_deref(), status.as_u16());
            record.negotiated = record
                .session_id
                .as_ref()
                .and_then(|s| state.sessions.get(s).cloned());
            mark_modern(&mut record);
            state.push(record, exchange)
        };
        let out_headers = response_out_headers(&shared, &at, &response_headers, true);
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
        let finisher = shared.clone();
        tokio::spawn(async move {
            let mut stream = upstream.bytes_stream();
            let mut captured: Vec<u8> = Vec::new();
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => {
                        if captured.len() < STREAM_CAPTURE_LIMIT {
                            captured.extend_from_slice(&chunk);
                        }
                        if tx.send(Ok(chunk)).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e))).await;
                        break;
                    }
                }
            }
            finish_stream(&finisher, seq, is_initialize, &captured);
        });
        let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        return build(status, out_headers, body);
    }

    let bytes = match upstream.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => {
            record.error = Some(format!("proxy: reading the response: {e}"));
            let mut state = shared.lock();
            record.bearer = state
                .labels
                .bearer(authorization.as_deref(), status.as_u16());
            state.push(record, exchange);
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("the recording proxy could not read the answer of {upstream_url}: {e}"),
            );
        }
    };
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    if let Some(doc) = &json {
        learn(&shared, &listener, phase, doc);
    }
    let messages: Vec<Value> = json.iter().cloned().collect();
    if record.error.is_none() && (status.as_u16() >= 400 || phase == Phase::Mcp) {
        record.error = record::error_of(&messages);
    }
    exchange.response_body = redact::body(Some(&response_type), &bytes);
    let origins = shared.lock().origins.clone();
    let out_body = if phase != Phase::Mcp && is_textual(&response_type) {
        rewrite_body(&shared, &at, &origins, json, &bytes)
    } else {
        bytes
    };
    {
        let mut state = shared.lock();
        if phase == Phase::Token && status.is_success() {
            if let Some(doc) = messages.first() {
                state.labels.note_token_response(doc);
            }
        }
        if phase == Phase::Registration && record.client_id.is_none() {
            record.client_id = messages
                .first()
                .and_then(|d| d.get("client_id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        record.bearer = state
            .labels
            .bearer(authorization.as_deref(), status.as_u16());
        if is_initialize {
            if let Some(version) = negotiated_in(&messages) {
                if let Some(session) = &record.session_id {
                    state.sessions.insert(session.clone(), version.clone());
                }
                record.negotiated = Some(version);
            }
        } else if let Some(session) = &record.session_id {
            record.negotiated = state.sessions.get(session).cloned();
        }
        mark_modern(&mut record);
        state.push(record, exchange);
    }
    let out_headers = response_out_headers(&shared, &at, &response_headers, false);
    build(status, out_headers, Body::from(out_body))
}

/// A 2026-07-28 (stateless) request the server accepted: its `_meta` names a modern revision
/// and the answer was a success, so that revision is the one in force for it, as the mock
/// records it (MCP 2026-07-28, Basic › Versioning: every request carries its version).
fn mark_modern(record: &mut AccessRecord) {
    let Some(version) = record.meta_protocol_version.clone() else {
        return;
    };
    if mock_server::Revision::is_modern_id(&version) && (200..300).contains(&record.status) {
        record.modern = true;
        record.negotiated = Some(version);
    }
}

/// `initialize`'s negotiated `protocolVersion`.
fn negotiated_in(messages: &[Value]) -> Option<String> {
    messages.iter().find_map(|m| {
        m.get("result")
            .and_then(|r| r.get("protocolVersion"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// What a finished event stream adds to its record: the negotiated revision, the JSON-RPC error,
/// the captured body.
fn finish_stream(shared: &Shared, seq: u64, is_initialize: bool, captured: &[u8]) {
    let text = String::from_utf8_lossy(captured).into_owned();
    let messages = record::json_messages(&text);
    let mut state = shared.lock();
    let index = (seq - 1) as usize;
    let negotiated = is_initialize.then(|| negotiated_in(&messages)).flatten();
    let mut session = None;
    if let Some(record) = state.records.get_mut(index) {
        if record.error.is_none() {
            record.error = record::error_of(&messages);
        }
        if negotiated.is_some() {
            record.negotiated = negotiated.clone();
            session = record.session_id.clone();
        }
    }
    if let (Some(session), Some(version)) = (session, negotiated) {
        state.sessions.insert(session, version);
    }
    if let Some(exchange) = state.exchanges.get_mut(index) {
        exchange.response_body = redact::body(Some("text/event-stream"), captured);
    }
}

/// Learns authorization servers (RFC 9728 §2 `authorization_servers`) and their endpoints
/// (RFC 8414 §2) from a metadata document, opening a listener for each new origin before the
/// document is rewritten to name it.
fn learn(shared: &Arc<Shared>, listener: &Listener, phase: Phase, doc: &Value) {
    if phase != Phase::Discovery {
        return;
    }
    let mut origins: Vec<String> = Vec::new();
    if let Some(servers) = doc.get("authorization_servers").and_then(Value::as_array) {
        origins.extend(servers.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    let is_as_metadata = doc.get("issuer").is_some()
        && (doc.get("authorization_endpoint").is_some() || doc.get("token_endpoint").is_some());
    if is_as_metadata {
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "registration_endpoint",
            "revocation_endpoint",
        ] {
            if let Some(url) = doc.get(field).and_then(Value::as_str) {
                origins.push(url.to_owned());
            }
        }
        if let Some(endpoints) = shared.lock().endpoints.as_mut() {
            endpoints.learn_metadata(doc);
        }
    }
    let mcp_origin = origin_of(&shared.mcp_upstream).unwrap_or_default();
    for url in origins {
        let Some(origin) = Url::parse(&url).ok().as_ref().and_then(origin_of) else {
            continue;
        };
        if origin == listener.upstream {
            continue;
        }
        if let Err(e) = serve_origin(shared, &origin, origin != mcp_origin) {
            shared.lock().problems.push(format!(
                "cannot open a listener for the authorization server at {origin}: {e}"
            ));
        }
    }
}

/// A textual body with the upstream's URLs made the proxy's.
fn rewrite_body(
    shared: &Shared,
    at: &str,
    origins: &OriginMap,
    json: Option<Value>,
    bytes: &Bytes,
) -> Bytes {
    if let Some(mut doc) = json {
        let changes = rewrite_json(&mut doc, &|s| origins.to_proxy(s));
        if changes.is_empty() {
            return bytes.clone();
        }
        let mut state = shared.lock();
        for (path, from, to) in changes {
            state.note_rewrite(Direction::ToProxy, format!("{at}: body {path}"), from, to);
        }
        return Bytes::from(serde_json::to_vec(&doc).unwrap_or_else(|_| bytes.to_vec()));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.clone();
    };
    match origins.to_proxy(text) {
        Some(new) => {
            shared.lock().note_rewrite(
                Direction::ToProxy,
                format!("{at}: body"),
                "(upstream origins in the text)".to_owned(),
                "(the proxy's)".to_owned(),
            );
            Bytes::from(new)
        }
        None => bytes.clone(),
    }
}

/// The response headers for the client: connection headers dropped, URLs rewritten; a buffered
/// body gets its length from the body itself.
fn response_out_headers(
    shared: &Shared,
    at: &str,
    headers: &reqwest::header::HeaderMap,
    streaming: bool,
) -> Vec<(axum::http::HeaderName, HeaderValue)> {
    let origins = shared.lock().origins.clone();
    let mut out = Vec::new();
    for (name, value) in headers {
        let lower = name.as_str();
        if NOT_FORWARDED.contains(&lower) || (!streaming && lower == "content-length") {
            continue;
        }
        let mut value = value.clone();
        if URL_HEADERS.contains(&lower) {
            if let Some(text) = value.to_str().ok().map(str::to_owned) {
                let rewritten = if lower == "location" {
                    rewrite_location(&text, &origins)
                } else {
                    origins.to_proxy(&text)
                };
                if let Some(new) = rewritten {
                    if let Ok(v) = HeaderValue::from_str(&new) {
                        shared.lock().note_rewrite(
                            Direction::ToProxy,
                            format!("{at}: header {lower}"),
                            redact::header(lower, &text),
                            redact::header(lower, &new),
                        );
                        value = v;
                    }
                }
            }
        }
        out.push((name.clone(), value));
    }
    out
}

/// A redirect with the upstream's origins made the proxy's, in the URL itself and in its query
/// values (the RFC 9207 `iss` of a redirect to the client's callback is percent-encoded there).
fn rewrite_location(text: &str, origins: &OriginMap) -> Option<String> {
    let whole = origins.to_proxy(text);
    let current = whole.clone().unwrap_or_else(|| text.to_owned());
    let Ok(mut url) = Url::parse(&current) else {
        return whole;
    };
    let Some(query) = url.query().map(str::to_owned) else {
        return whole;
    };
    match rewrite_form(&query, &[], &|s| origins.to_proxy(s)) {
        Some((new, _)) => {
            url.set_query(Some(&new));
            Some(url.to_string())
        }
        None => whole,
    }
}

fn build(
    status: reqwest::StatusCode,
    headers: Vec<(axum::http::HeaderName, HeaderValue)>,
    body: Body,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    response
}
