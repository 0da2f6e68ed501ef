//! Test-only routes under `/__admin/`, answered to loopback peers only: the log names clients
//! and sessions, which is nobody else's business when the server is reachable from a network.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::Json;

use crate::access_log::AccessRecord;
use crate::api_error::ApiError;
use crate::state::AppState;

/// `GET /__admin/access-log`: the records so far, as a JSON array.
pub(crate) async fn access_log(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<Vec<AccessRecord>>, ApiError> {
    // Read from the extensions rather than extracted, so a router served without connect info
    // (as in unit tests) refuses instead of failing with a 500.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    match peer {
        Some(ip) if ip.is_loopback() => Ok(Json(state.received_requests())),
        _ => Err(ApiError::http(
            StatusCode::FORBIDDEN,
            "the admin routes answer loopback peers only",
        )),
    }
}
