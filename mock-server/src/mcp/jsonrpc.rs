//! JSON-RPC 2.0 message shapes as MCP uses them.

use serde_json::{json, Value};

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;
/// MCP 2025-11-25, Server › Resources › "Error Handling".
pub(crate) const RESOURCE_NOT_FOUND: i64 = -32002;
/// MCP 2026-07-28, Streamable HTTP: a header that must mirror the body is missing, malformed
/// or disagrees with it. HTTP 400.
pub(crate) const HEADER_MISMATCH: i64 = -32020;
/// MCP 2026-07-28, Basic › Versioning: `UnsupportedProtocolVersionError`, with
/// `data: {supported, requested}`. HTTP 400.
pub(crate) const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// Implementation-defined server error; used for transport-level refusals (missing session,
/// unsupported protocol version), as the reference TypeScript SDK does.
pub(crate) const SERVER_ERROR: i64 = -32000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
    },
    Response {
        id: Value,
    },
    /// A JSON array. Batching was removed from MCP in 2025-06-18.
    Batch,
    Invalid {
        id: Value,
        reason: String,
    },
}

impl Incoming {
    pub fn kind(&self) -> &'static str {
        match self {
            Incoming::Request { .. } => "request",
            Incoming::Notification { .. } => "notification",
            Incoming::Response { .. } => "response",
            Incoming::Batch => "batch",
            Incoming::Invalid { .. } => "invalid",
        }
    }

    pub fn method(&self) -> Option<&str> {
        match self {
            Incoming::Request { method, .. } | Incoming::Notification { method } => Some(method),
            _ => None,
        }
    }

    pub fn id(&self) -> Option<&Value> {
        match self {
            Incoming::Request { id, .. } | Incoming::Response { id } => Some(id),
            Incoming::Invalid { id, .. } if !id.is_null() => Some(id),
            _ => None,
        }
    }
}

pub(crate) fn classify(value: &Value) -> Incoming {
    let object = match value {
        Value::Array(_) => return Incoming::Batch,
        Value::Object(object) => object,
        _ => {
            return Incoming::Invalid {
                id: Value::Null,
                reason: "not a JSON-RPC object".to_owned(),
            }
        }
    };
    let id = object.get("id").cloned();
    let invalid = |reason: &str| Incoming::Invalid {
        id: id.clone().filter(valid_id).unwrap_or(Value::Null),
        reason: reason.to_owned(),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("jsonrpc must be \"2.0\"");
    }
    match (object.get("method"), id.as_ref()) {
        (Some(Value::String(method)), None) => Incoming::Notification {
            method: method.clone(),
        },
        (Some(Value::String(method)), Some(id)) if valid_id(id) => {
            let params = object.get("params").cloned();
            if params
                .as_ref()
                .is_some_and(|p| !p.is_object() && !p.is_array())
            {
                return invalid("params must be an object");
            }
            Incoming::Request {
                id: id.clone(),
                method: method.clone(),
                params,
            }
        }
        // MCP (basic, "Requests"): the id MUST be a string or integer and MUST NOT be null.
        (Some(Value::String(_)), Some(_)) => invalid("id must be a string or a number"),
        (Some(_), _) => invalid("method must be a string"),
        (None, Some(id)) if object.contains_key("result") || object.contains_key("error") => {
            Incoming::Response { id: id.clone() }
        }
        (None, _) => invalid("no method"),
    }
}

fn valid_id(id: &Value) -> bool {
    id.is_string() || id.is_number()
}

pub(crate) fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_classified() {
        assert_eq!(
            classify(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).kind(),
            "request"
        );
        assert_eq!(
            classify(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).kind(),
            "notification"
        );
        assert_eq!(
            classify(&json!({"jsonrpc": "2.0", "id": 1, "result": {}})).kind(),
            "response"
        );
        assert_eq!(classify(&json!([])).kind(), "batch");
        assert_eq!(classify(&json!(3)).kind(), "invalid");
        assert_eq!(
            classify(&json!({"jsonrpc": "2.0", "id": null, "method": "ping"})).kind(),
            "invalid"
        );
        assert_eq!(
            classify(&json!({"jsonrpc": "1.0", "id": 1, "method": "ping"})).kind(),
            "invalid"
        );
    }
}
