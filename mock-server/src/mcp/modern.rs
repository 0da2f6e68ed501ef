//! MCP 2026-07-28, the stateless revision: no `initialize`, no session, no GET stream; every
//! request carries its protocol version and client capabilities in `_meta`; `server/discover`
//! tells a client what the server speaks.
//!
//! Sources (modelcontextprotocol.io/specification/2026-07-28): the changelog ("remove the
//! initialize/notifications/initialized handshake"; `ping`, `logging/setLevel` removed), Basic ›
//! Versioning ("Protocol Version Negotiation", "Backward Compatibility with Initialization-Based
//! Versions"), Server › Discover, and Basic › Transports › Streamable HTTP (the
//! `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers must mirror the body; otherwise
//! `HeaderMismatch`).

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::access_log::Notes;
use crate::api_error::ApiError;
use crate::config::ServerConfig;
use crate::mcp::dispatch::{
    capabilities, dispatch, instructions, server_info, Authenticated, RpcError,
};
use crate::mcp::headers::{header_str, PROTOCOL_VERSION_HEADER};
use crate::mcp::jsonrpc::{
    self, Incoming, HEADER_MISMATCH, INVALID_PARAMS, METHOD_NOT_FOUND, UNSUPPORTED_PROTOCOL_VERSION,
};
use crate::profile::Revision;
use crate::state::AppState;

pub(crate) const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub(crate) const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub(crate) const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
const METHOD_HEADER: &str = "mcp-method";
/// The methods whose results carry caching hints (Server › Utilities › Caching).
const CACHEABLE: [&str; 6] = [
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];
const NAME_HEADER: &str = "mcp-name";

/// Whether this request is handled under 2026-07-28 rules: the server offers the revision, the
/// request is not a legacy `initialize` (which selects legacy semantics on a dual-era server), and either
/// the server has no legacy revision or the request says it is modern (a modern
/// `MCP-Protocol-Version`, a `_meta` protocol version, or `server/discover`).
pub(crate) fn is_modern_request(
    config: &ServerConfig,
    headers: &HeaderMap,
    incoming: &Incoming,
) -> bool {
    if !config.offers_modern() {
        return false;
    }
    let header_modern =
        header_str(headers, PROTOCOL_VERSION_HEADER).is_some_and(Revision::is_modern_id);
    let meta_version = match incoming {
        Incoming::Request {
            params: Some(params),
            ..
        } => params
            .pointer("/_meta")
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .is_some(),
        _ => false,
    };
    if incoming.method() == Some("initialize") {
        // A dual-era server's handshake is legacy, unless the request says it is 2026-07-28 (its
        // header or `_meta`): then it is that revision's removed method, answered 404 -32601
        // (MCP 2026-07-28, Streamable HTTP; the conformance suite's server-stateless). A
        // legacy `initialize` asking for protocolVersion 2026-07-28 in its params still
        // negotiates down; on a 2026-07-28-only server the legacy handler refuses it the same
        // way (`mcp::initialize`).
        return header_modern || meta_version;
    }
    if config.latest_legacy_protocol_version().is_none() {
        return true;
    }
    header_modern || meta_version || incoming.method() == Some("server/discover")
}

/// Versioning › "Protocol Version Negotiation": an unsupported version gets
/// `UnsupportedProtocolVersionError` listing what is supported; over HTTP, status 400.
pub(crate) fn unsupported_version(config: &ServerConfig, id: Value, requested: &str) -> ApiError {
    ApiError::rpc_with_data(
        StatusCode::BAD_REQUEST,
        id,
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        json!({"supported": config.protocol_versions, "requested": requested}),
    )
}

fn header_mismatch(id: &Value, message: String) -> ApiError {
    ApiError::rpc(
        StatusCode::BAD_REQUEST,
        id.clone(),
        HEADER_MISMATCH,
        message,
    )
}

/// `Mcp-Name` and `Mcp-Param-*` values that are not plain ASCII come as `=?base64?…?=`.
fn decode_header_value(raw: &str) -> Option<String> {
    match raw
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        None => Some(raw.to_owned()),
    }
}

/// What `Mcp-Name` must carry for methods that act on something named.
fn named_target<'a>(method: &str, params: &'a Map<String, Value>) -> Option<&'a str> {
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    params.get(key).and_then(Value::as_str)
}

pub(crate) fn handle(
    state: &AppState,
    notes: &Notes,
    headers: &HeaderMap,
    incoming: Incoming,
    caller: &Authenticated,
) -> Result<Response, ApiError> {
    notes.update(|n| n.modern = true);
    let config = state.config();
    let (id, method, params) = match incoming {
        // Notifications (e.g. notifications/cancelled) are still one-way messages: 202.
        Incoming::Notification { .. } | Incoming::Response { .. } => {
            return Ok(StatusCode::ACCEPTED.into_response())
        }
        Incoming::Request { id, method, params } => (id, method, params),
        Incoming::Batch | Incoming::Invalid { .. } => {
            return Err(ApiError::rpc(
                StatusCode::BAD_REQUEST,
                Value::Null,
                jsonrpc::INVALID_REQUEST,
                "Invalid Request",
            ))
        }
    };
    let empty = Map::new();
    let params = match &params {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(ApiError::rpc(
                StatusCode::BAD_REQUEST,
                id,
                INVALID_PARAMS,
                "Invalid params: expected an object",
            ))
        }
    };
    let meta = params.get("_meta").and_then(Value::as_object);
    let invalid = |message: &str| {
        ApiError::rpc(
            StatusCode::BAD_REQUEST,
            id.clone(),
            INVALID_PARAMS,
            format!("Invalid params: {message}"),
        )
    };
    // Versioning: "Every request declares the protocol version it is using in its _meta field."
    let Some(version) = meta
        .and_then(|m| m.get(META_PROTOCOL_VERSION))
        .and_then(Value::as_str)
    else {
        return Err(invalid(&format!(
            "_meta[\"{META_PROTOCOL_VERSION}\"] is required on every request"
        )));
    };
    // Streamable HTTP: the headers mirror the body, and must agree with it. A disagreement is
    // HeaderMismatch (-32020) whatever the versions are: the header and the body are checked
    // against each other before either is checked against what the server supports, so a
    // request whose `_meta` names an unknown version under a valid header is a mismatch, not
    // UnsupportedProtocolVersion (as the conformance suite's reference server orders it).
    match header_str(headers, PROTOCOL_VERSION_HEADER) {
        None => {
            return Err(header_mismatch(
                &id,
                "Header mismatch: MCP-Protocol-Version header is required".to_owned(),
            ))
        }
        Some(header) if header != version => {
            return Err(header_mismatch(
                &id,
                format!("Header mismatch: MCP-Protocol-Version {header} but _meta says {version}"),
            ))
        }
        Some(_) => {}
    }
    if !Revision::is_modern_id(version) || !config.offers_protocol_version(version) {
        return Err(unsupported_version(config, id, version));
    }
    match header_str(headers, METHOD_HEADER).and_then(decode_header_value) {
        None => {
            return Err(header_mismatch(
                &id,
                "Header mismatch: Mcp-Method header is required".to_owned(),
            ))
        }
        Some(header) if header != method => {
            return Err(header_mismatch(
                &id,
                format!("Header mismatch: Mcp-Method {header} but the body's method is {method}"),
            ))
        }
        Some(_) => {}
    }
    if let Some(target) = named_target(&method, params) {
        let header = header_str(headers, NAME_HEADER).and_then(decode_header_value);
        if header.as_deref() != Some(target) {
            return Err(header_mismatch(
                &id,
                format!(
                    "Header mismatch: Mcp-Name {} but the body names {target}",
                    header.as_deref().unwrap_or("(absent)")
                ),
            ));
        }
    }
    if !meta
        .and_then(|m| m.get(META_CLIENT_CAPABILITIES))
        .is_some_and(Value::is_object)
    {
        return Err(invalid(&format!(
            "_meta[\"{META_CLIENT_CAPABILITIES}\"] must be an object on every request"
        )));
    }
    notes.update(|n| n.negotiated = Some(version.to_owned()));

    if method == "subscriptions/listen" {
        return Ok(listen(state, &id, params));
    }
    let result = match method.as_str() {
        // Server › Discover.
        "server/discover" => {
            let mut result = json!({
                "supportedVersions": config.protocol_versions,
                "capabilities": capabilities(config),
            });
            if let Some(instructions) = instructions(config) {
                result["instructions"] = json!(instructions);
            }
            Ok(result)
        }
        // Changelog: the handshake, `ping` and `logging/setLevel` are gone.
        "initialize" | "ping" | "logging/setLevel" => Err(RpcError::from((
            METHOD_NOT_FOUND,
            format!("Method not found: {method} (removed in 2026-07-28)"),
        ))),
        _ => dispatch(
            state,
            &method,
            Some(&Value::Object(params.clone())),
            version,
            caller,
        ),
    };
    match result {
        Ok(mut result) => {
            // Every 2026-07-28 result says what kind of result it is.
            result["resultType"] = json!("complete");
            // Schema, ResultMetaObject: "Servers SHOULD include [serverInfo] on every
            // response"; it moved out of the discover body into `_meta`.
            result["_meta"][META_SERVER_INFO] = server_info(config);
            if CACHEABLE.contains(&method.as_str()) {
                // Server › Utilities › Caching (SEP-2549): servers MUST include `ttlMs` and
                // `cacheScope` on these results. 0 ms and private: this server's lists change at
                // run time (the tools-changed fault) and its results are per caller.
                result["ttlMs"] = json!(0);
                result["cacheScope"] = json!("private");
            }
            Ok(Json(jsonrpc::result(&id, result)).into_response())
        }
        Err(error) => {
            // Streamable HTTP (2026-07-28): a method the server does not implement is answered
            // 404 Not Found with -32601, not 200.
            let status = if error.code == METHOD_NOT_FOUND {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            Err(error.into_api_error(status, id))
        }
    }
}

/// Basic › Patterns › Subscriptions: `subscriptions/listen` opens a long-lived SSE stream (it
/// replaces the GET stream). The first message MUST be `notifications/subscriptions/acknowledged`
/// with the subscription id (the request's id) in `_meta` and the subset of the requested filter
/// the server honours; here the list-changed kinds its capabilities declare. Then every
/// list-changed notification the server sends (what legacy sessions get on their GET streams)
/// of an agreed kind, carrying the subscription id in `_meta` (schema, NotificationMetaObject:
/// the server MUST include it on every notification delivered on the stream). The stream stays
/// open (keep-alive comments) until the server stops.
fn listen(state: &AppState, id: &Value, params: &Map<String, Value>) -> Response {
    let capabilities = capabilities(state.config());
    let requested = params.get("notifications").and_then(Value::as_object);
    let mut agreed = Map::new();
    for (filter, capability) in [
        ("toolsListChanged", "tools"),
        ("promptsListChanged", "prompts"),
        ("resourcesListChanged", "resources"),
    ] {
        let wanted = requested
            .and_then(|r| r.get(filter))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let offered = capabilities
            .get(capability)
            .and_then(|c| c.get("listChanged"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if wanted && offered {
            agreed.insert(filter.to_owned(), json!(true));
        }
    }
    let acknowledgement = json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {
            "_meta": {"io.modelcontextprotocol/subscriptionId": id},
            "notifications": agreed,
        }
    });
    let first = futures_util::stream::once(async move {
        Ok::<Event, std::convert::Infallible>(Event::default().data(acknowledgement.to_string()))
    });
    let subscription = id.clone();
    let pushed = futures_util::stream::unfold(
        (state.sessions().subscribe(), agreed, subscription),
        |(mut rx, agreed, subscription)| async move {
            loop {
                match rx.recv().await {
                    Ok(message) => {
                        if let Some(sent) = on_subscription(&message, &agreed, &subscription) {
                            let event = Event::default().data(sent.to_string());
                            return Some((Ok(event), (rx, agreed, subscription)));
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    // After the server's last notification the stream still stays open.
    let forever = futures_util::stream::pending();
    let sse = Sse::new(first.chain(pushed).chain(forever)).keep_alive(
        KeepAlive::new()
            .interval(std::time::Duration::from_secs(15))
            .text("keep-alive"),
    );
    let mut response = sse.into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A notification the server broadcast, as the subscription stream carries it: only the kinds
/// the acknowledgement agreed to, with the subscription id in `_meta`.
fn on_subscription(
    message: &str,
    agreed: &Map<String, Value>,
    subscription: &Value,
) -> Option<Value> {
    let mut notification: Value = serde_json::from_str(message).ok()?;
    let filter = match notification.get("method").and_then(Value::as_str)? {
        "notifications/tools/list_changed" => "toolsListChanged",
        "notifications/prompts/list_changed" => "promptsListChanged",
        "notifications/resources/list_changed" => "resourcesListChanged",
        _ => return None,
    };
    if !agreed.contains_key(filter) {
        return None;
    }
    notification["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] =
        subscription.clone();
    Some(notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_stream_carries_agreed_notifications_with_its_id() -> anyhow::Result<()> {
        let agreed: Map<String, Value> = serde_json::from_value(json!({"toolsListChanged": true}))?;
        let tools = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
        let prompts = r#"{"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}"#;
        let sent = on_subscription(tools, &agreed, &json!(7))
            .ok_or(anyhow::anyhow!("an agreed kind is sent"))?;
        assert_eq!(
            sent.pointer("/params/_meta/io.modelcontextprotocol~1subscriptionId"),
            Some(&json!(7))
        );
        // Negative control: a kind the subscriber did not get agreement for is not sent.
        assert!(on_subscription(prompts, &agreed, &json!(7)).is_none());
        assert!(on_subscription("not json", &agreed, &json!(7)).is_none());
        Ok(())
    }

    #[test]
    fn base64_header_values_are_decoded() {
        assert_eq!(decode_header_value("hello").as_deref(), Some("hello"));
        assert_eq!(
            decode_header_value("=?base64?aMOpbGxv?=").as_deref(),
            Some("héllo")
        );
        assert_eq!(decode_header_value("=?base64?***?="), None);
    }
}
