//! Every non-success answer the server gives, as one type that knows its HTTP shape.
//!
//! Handlers return `Result<Response, ApiError>`; the access log learns the error summary from the
//! [`ErrorSummary`] extension each of these responses carries, so logging never has to parse a
//! body back.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// The short error text the access log records for a response (OAuth `error` code, or a
/// JSON-RPC `code message` summary).
#[derive(Debug, Clone)]
pub(crate) struct ErrorSummary(pub String);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// An OAuth error as JSON (RFC 6749 §5.2 for the token endpoint, RFC 7591 §3.2.2 for
    /// registration).
    #[error("HTTP {status}: {error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// An authorization-endpoint error shown to the user instead of redirecting: RFC 6749
    /// §4.1.2.1 forbids redirecting to an unverified `redirect_uri`.
    #[error("HTTP {status} error page: {error}: {description}")]
    Page {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// A redirect back to the client carrying `error` (RFC 6749 §4.1.2.1).
    #[error("redirect with {error} to {location}")]
    Redirect {
        location: String,
        error: &'static str,
    },
    /// RFC 6750 §3 / RFC 9728 §5.1: a bearer token is needed, or the one sent is not good.
    #[error("HTTP 401: {description}")]
    Unauthorized {
        /// `None` for a bare challenge (a server configured not to name its metadata).
        resource_metadata: Option<String>,
        /// `true` when a token was sent but refused, which earns `error="invalid_token"`; RFC 6750
        /// §3.1 says a request without credentials gets no error code.
        invalid_token: bool,
        description: String,
    },
    /// RFC 7617: a server that is not OAuth wants its static credentials (a `Basic` challenge,
    /// no Bearer, no resource metadata).
    #[error("HTTP 401 (Basic): {description}")]
    BasicChallenge { realm: String, description: String },
    /// 403 for a valid token without the scope a request needs (RFC 6750 §3.1
    /// `insufficient_scope`; MCP authorization › "Scope Challenge Handling").
    #[error("insufficient scope: {scope}")]
    InsufficientScope {
        resource_metadata: Option<String>,
        /// The scopes the request needs, for the challenge's `scope` parameter.
        scope: String,
    },
    /// A JSON-RPC error response, at the HTTP status the transport prescribes.
    #[error("HTTP {status}: JSON-RPC error {code} {message}")]
    JsonRpc {
        status: StatusCode,
        id: Value,
        code: i64,
        message: String,
        /// The error's `data` member, when the error defines one (e.g. MCP 2026-07-28's
        /// `UnsupportedProtocolVersionError`: `{supported, requested}`).
        data: Option<Value>,
    },
    /// A plain HTTP refusal (wrong method, forbidden, no such route).
    #[error("HTTP {status}: {message}")]
    Http {
        status: StatusCode,
        message: String,
        allow: Option<&'static str>,
    },
}

impl ApiError {
    pub(crate) fn oauth(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> ApiError {
        ApiError::OAuth {
            status,
            error,
            description: description.into(),
        }
    }

    /// RFC 6749 §5.2: `invalid_client` is 401, the rest 400.
    pub(crate) fn token(error: &'static str, description: impl Into<String>) -> ApiError {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::oauth(status, error, description)
    }

    pub(crate) fn server_error(description: impl Into<String>) -> ApiError {
        ApiError::oauth(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }

    pub(crate) fn page(error: &'static str, description: impl Into<String>) -> ApiError {
        ApiError::Page {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    pub(crate) fn rpc(
        status: StatusCode,
        id: Value,
        code: i64,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError::JsonRpc {
            status,
            id,
            code,
            message: message.into(),
            data: None,
        }
    }

    /// A JSON-RPC error with a `data` member.
    pub(crate) fn rpc_with_data(
        status: StatusCode,
        id: Value,
        code: i64,
        message: impl Into<String>,
        data: Value,
    ) -> ApiError {
        ApiError::JsonRpc {
            status,
            id,
            code,
            message: message.into(),
            data: Some(data),
        }
    }

    pub(crate) fn http(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::Http {
            status,
            message: message.into(),
            allow: None,
        }
    }

    pub(crate) fn method_not_allowed(allow: &'static str) -> ApiError {
        ApiError::Http {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("method not allowed; allowed: {allow}"),
            allow: Some(allow),
        }
    }

    /// What the access log records.
    pub fn summary(&self) -> Option<String> {
        match self {
            ApiError::OAuth { error, .. }
            | ApiError::Page { error, .. }
            | ApiError::Redirect { error, .. } => Some((*error).to_owned()),
            ApiError::Unauthorized { invalid_token, .. } => {
                invalid_token.then(|| "invalid_token".to_owned())
            }
            ApiError::InsufficientScope { .. } => Some("insufficient_scope".to_owned()),
            ApiError::BasicChallenge { .. } => Some("unauthorized".to_owned()),
            ApiError::JsonRpc { code, message, .. } => Some(format!("{code} {message}")),
            ApiError::Http { message, .. } => Some(message.clone()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let summary = self.summary();
        let mut response = match self {
            ApiError::OAuth {
                status,
                error,
                description,
            } => (
                status,
                // RFC 6749 §5.1 asks for no-store on token responses; errors can carry hints about
                // grants, so they get it too.
                [
                    (header::CACHE_CONTROL, "no-store"),
                    (header::PRAGMA, "no-cache"),
                ],
                Json(json!({"error": error, "error_description": description})),
            )
                .into_response(),
            ApiError::Page {
                status,
                error,
                description,
            } => (status, crate::oauth::pages::error_page(error, &description)).into_response(),
            ApiError::Redirect { location, .. } => redirect(&location),
            ApiError::Unauthorized {
                resource_metadata,
                invalid_token,
                description,
            } => {
                let mut params = Vec::new();
                if let Some(url) = &resource_metadata {
                    params.push(format!("resource_metadata=\"{url}\""));
                }
                if invalid_token {
                    params.push("error=\"invalid_token\"".to_owned());
                }
                let challenge = if params.is_empty() {
                    "Bearer".to_owned()
                } else {
                    format!("Bearer {}", params.join(", "))
                };
                let body = if invalid_token {
                    json!({"error": "invalid_token", "error_description": description})
                } else {
                    json!({"error": "unauthorized", "error_description": description})
                };
                let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            ApiError::BasicChallenge { realm, description } => {
                let body = json!({"error": "unauthorized", "error_description": description});
                let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            ApiError::InsufficientScope {
                resource_metadata,
                scope,
            } => {
                let mut challenge =
                    format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
                if let Some(url) = &resource_metadata {
                    challenge.push_str(&format!(", resource_metadata=\"{url}\""));
                }
                let body = json!({
                    "error": "insufficient_scope",
                    "error_description": format!("this request needs the scope {scope:?}")
                });
                let mut response = (StatusCode::FORBIDDEN, Json(body)).into_response();
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                response
            }
            ApiError::JsonRpc {
                status,
                id,
                code,
                message,
                data,
            } => {
                let mut error = json!({"code": code, "message": message});
                if let Some(data) = data {
                    error["data"] = data;
                }
                (
                    status,
                    Json(json!({"jsonrpc": "2.0", "id": id, "error": error})),
                )
                    .into_response()
            }
            ApiError::Http {
                status,
                message,
                allow,
            } => {
                let mut response = (status, message).into_response();
                if let Some(allow) = allow {
                    response
                        .headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static(allow));
                }
                response
            }
        };
        if let Some(summary) = summary {
            response.extensions_mut().insert(ErrorSummary(summary));
        }
        response
    }
}

/// A request body as handlers take it: a body that cannot be read (over axum's 2 MiB default
/// limit, or cut off) is the handler's to refuse in its endpoint's error shape. Extracting plain
/// `Bytes` would let axum answer with a `text/plain` 413 that no OAuth or JSON-RPC client can
/// parse.
pub(crate) type RequestBody = Result<Bytes, BytesRejection>;

/// Why a body could not be read, and the status that says so (413 for too large).
pub(crate) fn unreadable_body(rejection: &BytesRejection) -> (StatusCode, String) {
    (rejection.status(), rejection.body_text())
}

/// A 302 that the client must not be assumed to follow automatically.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        // Only reachable with a registered redirect URI that is not a valid header value, which
        // registration refuses; answer rather than panic.
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "unrepresentable redirect",
        )
            .into_response(),
    }
}
