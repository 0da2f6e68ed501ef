//! Discovery documents: protected-resource metadata (RFC 9728) and authorization-server metadata
//! (RFC 8414, or OpenID Connect Discovery 1.0). Clients must find every endpoint here rather than
//! guess paths.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::config::{paths, SCOPES_SUPPORTED};
use crate::discovery::{Registration, ServerMetadataBy};
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

/// RFC 8414 §2–3; as OpenID Connect Discovery 1.0 §3 when the server publishes that way, which
/// adds the members OpenID Connect requires.
pub(crate) async fn authorization_server(State(state): State<AppState>) -> Json<Value> {
    let config = state.config();
    let mut metadata = json!({
        "issuer": config.issuer(),
        "authorization_endpoint": config.oauth_url(paths::AUTHORIZE),
        "token_endpoint": config.oauth_url(paths::TOKEN),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": [pkce::METHOD],
        "token_endpoint_auth_methods_supported": ["none"],
    });
    // RFC 8414 §2: registration_endpoint is OPTIONAL; a server without dynamic registration
    // leaves it out, and a client must then be given its client ID.
    if config.discovery.registration == Registration::Dynamic {
        metadata["registration_endpoint"] = json!(config.oauth_url(paths::REGISTER));
    }
    if config.discovery.registration == Registration::ClientIdMetadata {
        metadata["client_id_metadata_document_supported"] = json!(true);
    }
    // RFC 9207 §3 (default false when absent); §2.3: set when `iss` is sent.
    if config.advertises_authorization_response_iss() {
        metadata["authorization_response_iss_parameter_supported"] = json!(true);
    }
    if config.discovery.server_metadata_by == ServerMetadataBy::Openid {
        metadata["jwks_uri"] = json!(config.oauth_url(paths::JWKS));
        metadata["subject_types_supported"] = json!(["public"]);
        metadata["id_token_signing_alg_values_supported"] = json!(["RS256"]);
    }
    Json(metadata)
}

/// `GET /clients/<name>`: one of the mock's own client ID metadata documents, for people and
/// the stand-in client to read (the authorization server resolves them without fetching).
pub(crate) async fn client_metadata_document(
    State(state): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Json<Value>, crate::api_error::ApiError> {
    let config = state.config();
    let url = format!(
        "https://{}{}{name}",
        config
            .authorization_server_origin()
            .trim_start_matches("http://")
            .trim_start_matches("https://"),
        crate::discovery::CLIENT_METADATA_PATH
    );
    if crate::discovery::Discovery::own_client_metadata(&url, config.authorization_server_origin())
        .is_none()
    {
        return Err(crate::api_error::ApiError::http(
            axum::http::StatusCode::NOT_FOUND,
            "no such client metadata document",
        ));
    }
    Ok(Json(json!({
        "client_id": url,
        "client_name": name,
        "redirect_uris": ["http://localhost/callback", "http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })))
}

/// OpenID Connect Discovery 1.0 requires `jwks_uri`; nothing here signs, so the set is empty.
pub(crate) async fn jwks() -> Json<Value> {
    Json(json!({"keys": []}))
}
