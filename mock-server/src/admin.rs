//! Test-only routes under `/__admin/`, answered to loopback peers only, unless the server was
//! given an admin token: the log names clients and sessions, which is nobody else's business when
//! the server is reachable from a network.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::Json;
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
    if allowed(&state, &request) {
        Ok(Json(state.received_requests()))
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
