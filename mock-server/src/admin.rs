//! Test-only routes under `/__admin/`, answered to loopback peers only, unless the server was
//! given an admin token: the log names clients and sessions, which is nobody else's business when
//! the server is reachable from a network.

use std::net::SocketAddr;

use std::collections::HashMap;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::access_log::AccessRecord;
use crate::api_error::ApiError;
use crate::config::ADMIN_TOKEN_HEADER;
use crate::state::AppState;

/// `GET /__admin/access-log`: the records so far, as a JSON array.
pub(crate) async fn access_log(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Vec<AccessRecord>>, ApiError> {
    guard(&state, &request)?;
    Ok(Json(state.received_requests()))
}

fn guard(state: &AppState, request: &Request) -> Result<(), ApiError> {
    if allowed(state, request) {
        Ok(())
    } else if state.config().admin_token.is_some() {
        Err(ApiError::http(
            StatusCode::FORBIDDEN,
            "the admin routes answer loopback peers and holders of the admin token only",
        ))
    } else {
        Err(ApiError::http(
            StatusCode::FORBIDDEN,
            "the admin routes answer loopback peers only",
        ))
    }
}

/// The lifecycle events and transport faults a running server can be given, as
/// `POST /__admin/<event>` (what [`crate::MockServer`]'s methods do in a test).
pub const EVENTS: &[&str] = &[
    "expire-tokens",
    "revoke-tokens",
    "drop-sessions",
    "keep-forgetting-sessions",
    "notify-tools-changed",
    "forget-everything",
    "slow-responses",
    "fail-mcp-requests",
    "drop-connections",
];

/// `POST /__admin/{event}`: one lifecycle event or fault, now. Parameters in the query:
/// `notify-tools-changed?add=NAME` (add a tool first), `slow-responses?ms=N` (0 ends it),
/// `fail-mcp-requests?status=503&count=N`, `drop-connections?count=N`. Answers
/// `{"event": …, "affected": N}` (tokens, sessions or streams touched; the count armed).
pub(crate) async fn event(
    State(state): State<AppState>,
    Path(event): Path<String>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &request)?;
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let number = |name: &str, default: Option<u64>| -> Result<u64, ApiError> {
        match query.get(name) {
            Some(v) => v.parse().map_err(|_| {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    format!("{name}={v:?} is not a number"),
                )
            }),
            None => default.ok_or_else(|| {
                ApiError::http(StatusCode::BAD_REQUEST, format!("{event} needs ?{name}=N"))
            }),
        }
    };
    let count = |default: Option<u64>| -> Result<u32, ApiError> {
        let n = number("count", default)?;
        u32::try_from(n).map_err(|_| ApiError::http(StatusCode::BAD_REQUEST, "count is too large"))
    };
    let affected: u64 = match event.as_str() {
        "expire-tokens" => state.tokens().expire_all_access() as u64,
        "revoke-tokens" => state.tokens().revoke_all_access() as u64,
        "drop-sessions" => state.sessions().forget_all() as u64,
        "keep-forgetting-sessions" => {
            state.start_forgetting_sessions();
            state.sessions().forget_all() as u64
        }
        "notify-tools-changed" => {
            if let Some(name) = query.get("add").filter(|n| !n.is_empty()) {
                state.add_extra_tool(name);
            }
            state.notify_tools_changed() as u64
        }
        "forget-everything" => {
            state.forget_everything();
            0
        }
        "slow-responses" => {
            let ms = number("ms", None)?;
            state.set_slow_responses_ms((ms > 0).then_some(ms));
            ms
        }
        "fail-mcp-requests" => {
            let status = number("status", Some(503))?;
            let status = u16::try_from(status)
                .ok()
                .filter(|s| (500..=599).contains(s))
                .ok_or_else(|| {
                    ApiError::http(StatusCode::BAD_REQUEST, "status must be a 5xx status")
                })?;
            let count = count(Some(1))?;
            state.arm_mcp_errors(status, count);
            u64::from(count)
        }
        "drop-connections" => {
            let count = count(Some(1))?;
            state.arm_dropped_connections(count);
            u64::from(count)
        }
        _ => {
            return Err(ApiError::http(
                StatusCode::NOT_FOUND,
                format!("no admin event {event:?}; known: {}", EVENTS.join(", ")),
            ))
        }
    };
    tracing::info!(event, affected, "admin event");
    Ok(Json(json!({"event": event, "affected": affected})))
}

fn allowed(state: &AppState, request: &Request) -> bool {
    // Read from the extensions rather than extracted, so a router served without connect info
    // (as in unit tests) refuses instead of failing with a 500.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    if peer.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    let (Some(expected), Some(presented)) = (
        state.config().admin_token.as_deref(),
        request.headers().get(ADMIN_TOKEN_HEADER),
    ) else {
        return false;
    };
    // Compare digests rather than the strings: how long a comparison of digests takes says
    // nothing useful about how much of a guessed token was right.
    let digest = |bytes: &[u8]| Sha256::digest(bytes);
    !expected.is_empty() && digest(expected.as_bytes()) == digest(presented.as_bytes())
}
