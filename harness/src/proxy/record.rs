//! One request through the proxy as the access log the checks read ([`AccessRecord`], the mock's
//! own record) and as an [`Exchange`] (its redacted headers and bodies, for lints and bundles).
//! Tokens become labels (`at-1`, `rt-1`) by the order the token endpoint issued them; the proxy
//! keeps only a hash of each secret, never the secret.

use std::collections::HashMap;

use mock_server::{AccessRecord, Bearer, Phase};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What the proxy keeps of one request and its response, secrets redacted.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub seq: u64,
    pub method: String,
    /// The URL the request was forwarded to, secret query parameters redacted.
    pub upstream_url: String,
    pub phase: Phase,
    pub on_authorization_server: bool,
    pub status: u16,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub response_headers: Vec<(String, String)>,
    /// The body as the server sent it (before any rewrite), redacted; for an event stream, what
    /// arrived before it ended (at most [`crate::proxy::forward::STREAM_CAPTURE_LIMIT`]).
    pub response_body: Option<String>,
}

impl Exchange {
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON-RPC messages of the response body (one JSON document, or the `data:` lines of an
    /// event stream).
    pub fn response_messages(&self) -> Vec<Value> {
        self.response_body
            .as_deref()
            .map(json_messages)
            .unwrap_or_default()
    }
}

/// The JSON documents in a body: the body itself, or each `data:` event of a stream.
pub fn json_messages(body: &str) -> Vec<Value> {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return vec![value];
    }
    let mut out = Vec::new();
    let mut data = String::new();
    for line in body.lines().chain(std::iter::once("")) {
        if let Some(rest) = line.strip_prefix("data:") {
            data.push_str(rest.trim_start());
        } else if line.trim().is_empty() && !data.is_empty() {
            if let Ok(value) = serde_json::from_str::<Value>(&data) {
                out.push(value);
            }
            data.clear();
        }
    }
    out
}

/// Labels for the tokens seen, by a hash of each.
#[derive(Debug, Default)]
pub struct TokenLabels {
    access: HashMap<[u8; 32], String>,
    refresh: HashMap<[u8; 32], String>,
    /// Access tokens the token endpoint issued (a bearer the proxy never saw issued is
    /// labelled too, from the same sequence, but counts as unknown when refused).
    issued: std::collections::HashSet<[u8; 32]>,
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl TokenLabels {
    fn label(map: &mut HashMap<[u8; 32], String>, prefix: &str, secret: &str) -> String {
        let next = map.len() + 1;
        map.entry(hash(secret))
            .or_insert_with(|| format!("{prefix}-{next}"))
            .clone()
    }

    /// Notes the tokens of a token response (RFC 6749 §5.1).
    pub fn note_token_response(&mut self, body: &Value) {
        if let Some(at) = body.get("access_token").and_then(Value::as_str) {
            Self::label(&mut self.access, "at", at);
            self.issued.insert(hash(at));
        }
        if let Some(rt) = body.get("refresh_token").and_then(Value::as_str) {
            Self::label(&mut self.refresh, "rt", rt);
        }
    }

    /// What the `Authorization` header of a request amounted to, judged by the server's answer:
    /// a 401 to a token it issued means expired or revoked (the proxy cannot tell which, and
    /// says expired); a 401 to one it never issued through the proxy, unknown.
    pub fn bearer(&mut self, authorization: Option<&str>, status: u16) -> Bearer {
        let Some(value) = authorization else {
            return Bearer::None;
        };
        let Some((scheme, token)) = value.trim().split_once(' ') else {
            return Bearer::Unknown;
        };
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Bearer::Unknown;
        }
        let token = token.trim();
        let issued = self.issued.contains(&hash(token));
        let token_id = Self::label(&mut self.access, "at", token);
        match (status, issued) {
            (401, true) => Bearer::Expired { token_id },
            (401, false) => Bearer::Unknown,
            _ => Bearer::Valid { token_id },
        }
    }
}

/// The JSON-RPC shape of an MCP request body: method, id, kind, and the tool a `tools/call`
/// names, and the 2026-07-28 `_meta` fields.
#[derive(Debug, Default, PartialEq)]
pub struct RpcShape {
    pub method: Option<String>,
    pub id: Option<Value>,
    pub kind: Option<String>,
    pub tool_name: Option<String>,
    pub meta_protocol_version: Option<String>,
    pub meta_client_capabilities: bool,
}

pub fn rpc_shape(body: &[u8]) -> RpcShape {
    if body.is_empty() {
        return RpcShape::default();
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return RpcShape {
            kind: Some("invalid".to_owned()),
            ..RpcShape::default()
        };
    };
    match &value {
        Value::Array(_) => RpcShape {
            kind: Some("batch".to_owned()),
            ..RpcShape::default()
        },
        Value::Object(map) => {
            let method = map.get("method").and_then(Value::as_str).map(str::to_owned);
            let id = map.get("id").cloned();
            let kind = match (&method, &id) {
                (Some(_), Some(_)) => "request",
                (Some(_), None) => "notification",
                (None, _) if map.contains_key("result") || map.contains_key("error") => "response",
                _ => "invalid",
            };
            let params = map.get("params");
            let meta = params.and_then(|p| p.get("_meta"));
            RpcShape {
                tool_name: (method.as_deref() == Some("tools/call"))
                    .then(|| params.and_then(|p| p.get("name")).and_then(Value::as_str))
                    .flatten()
                    .map(str::to_owned),
                meta_protocol_version: meta
                    .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                meta_client_capabilities: meta
                    .and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities"))
                    .is_some_and(Value::is_object),
                method,
                id,
                kind: Some(kind.to_owned()),
            }
        }
        _ => RpcShape {
            kind: Some("invalid".to_owned()),
            ..RpcShape::default()
        },
    }
}

/// The OAuth `error` of a JSON error body (RFC 6749 §5.2, RFC 7591 §3.2.2), or the JSON-RPC
/// error's message.
pub fn error_of(messages: &[Value]) -> Option<String> {
    messages.iter().find_map(|m| {
        m.get("error").and_then(|e| match e {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| o.get("code").map(Value::to_string)),
            _ => None,
        })
    })
}

/// The `error` parameter of a `WWW-Authenticate` challenge (RFC 6750 §3).
pub fn challenge_error(challenge: &str) -> Option<String> {
    mock_server::client::challenge_param(challenge, "error")
}

/// A blank record for `method path` in `phase`; the caller fills in what it knows.
pub fn blank(method: &str, path: &str, phase: Phase) -> AccessRecord {
    AccessRecord {
        seq: 0,
        at_ms: 0,
        method: method.to_owned(),
        path: path.to_owned(),
        phase,
        rpc_method: None,
        rpc_id: None,
        rpc_kind: None,
        tool_name: None,
        grant_type: None,
        client_id: None,
        bearer: Bearer::None,
        session_id: None,
        protocol_version: None,
        accept: None,
        user_agent: None,
        status: 0,
        error: None,
        meta_protocol_version: None,
        meta_client_capabilities: false,
        mcp_method_header: None,
        modern: false,
        negotiated: None,
        on_authorization_server: false,
        resource: None,
        redirect_uri: None,
        fault: None,
        api_key: None,
    }
}

/// `client_id` from HTTP Basic client authentication (RFC 6749 §2.3.1), never the secret.
pub fn basic_client_id(authorization: Option<&str>) -> Option<String> {
    use base64::Engine;
    let (scheme, encoded) = authorization?.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split(':').next()?;
    url::form_urlencoded::parse(format!("u={user}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearers_get_labels_by_issue_order_and_refusals_say_expired_or_unknown() {
        let mut labels = TokenLabels::default();
        labels.note_token_response(&serde_json::json!({"access_token": "A", "refresh_token": "R"}));
        labels.note_token_response(&serde_json::json!({"access_token": "B"}));
        assert_eq!(labels.bearer(None, 401), Bearer::None);
        assert_eq!(
            labels.bearer(Some("Bearer B"), 200),
            Bearer::Valid {
                token_id: "at-2".into()
            }
        );
        assert_eq!(
            labels.bearer(Some("bearer A"), 401),
            Bearer::Expired {
                token_id: "at-1".into()
            }
        );
        assert_eq!(
            labels.bearer(Some("Bearer never-issued"), 401),
            Bearer::Unknown
        );
        assert_eq!(labels.bearer(Some("Basic xyz"), 200), Bearer::Unknown);
    }

    #[test]
    fn json_rpc_shapes_are_read_from_the_body() {
        let call = rpc_shape(
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"greet"}}"#,
        );
        assert_eq!(call.method.as_deref(), Some("tools/call"));
        assert_eq!(call.kind.as_deref(), Some("request"));
        assert_eq!(call.tool_name.as_deref(), Some("greet"));
        assert_eq!(call.id, Some(Value::from(3)));
        let note = rpc_shape(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert_eq!(note.kind.as_deref(), Some("notification"));
        assert_eq!(rpc_shape(b"[]").kind.as_deref(), Some("batch"));
        assert_eq!(rpc_shape(b"nope").kind.as_deref(), Some("invalid"));
        assert_eq!(rpc_shape(b""), RpcShape::default());
    }

    #[test]
    fn event_stream_bodies_yield_their_messages() {
        let body = "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n";
        assert_eq!(json_messages(body).len(), 1);
        assert_eq!(json_messages("{\"a\":1}").len(), 1);
        assert!(json_messages("not json").is_empty());
    }

    #[test]
    fn basic_auth_gives_the_client_id_only() {
        use base64::Engine;
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my%20client:s3cret")
        );
        assert_eq!(basic_client_id(Some(&header)).as_deref(), Some("my client"));
        assert_eq!(basic_client_id(Some("Bearer x")), None);
    }
}
