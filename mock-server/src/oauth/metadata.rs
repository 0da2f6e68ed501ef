//! Discovery documents: protected-resource metadata (RFC 9728) and authorization-server metadata
//! (RFC 8414). Clients must find every endpoint here rather than guess paths.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::config::{paths, SCOPES_SUPPORTED};
use crate::oauth::pkce;
use crate::state::AppState;

/// RFC 9728 §2–3.
pub(crate) async fn protected_resource(State(state): State<AppState>) -> Json<Value> {
    let config = state.config();
    Json(json!({
        "resource": config.resource(),
        "authorization_servers": [config.issuer()],
        "bearer_methods_supported": ["header"],
        "scopes_supported": SCOPES_SUPPORTED,
        "resource_name": "mock MCP server",
    }))
}

/// RFC 8414 §2–3.
pub(crate) async fn authorization_server(State(state): State<AppState>) -> Json<Value> {
    let config = state.config();
    Json(json!({
        "issuer": config.issuer(),
        "authorization_endpoint": config.url(paths::AUTHORIZE),
        "token_endpoint": config.url(paths::TOKEN),
        "registration_endpoint": config.url(paths::REGISTER),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": [pkce::METHOD],
        "token_endpoint_auth_methods_supported": ["none"],
    }))
}
