//! The OAuth 2.1 authorization server, and the protected-resource metadata that points to it.
//!
//! This module only mounts the endpoints; what they share lives in leaf modules below it
//! ([`params`], [`pkce`], [`pages`]) and in [`crate::store`], so no endpoint imports this file.
//!
//! Strict on purpose: the harness must not pass a client that a real, conformant server would
//! refuse. Every rule enforced names the document it comes from.

pub(crate) mod authorize;
pub(crate) mod metadata;
pub(crate) mod pages;
pub(crate) mod params;
pub(crate) mod pkce;
pub(crate) mod register;
pub(crate) mod token;

use axum::routing::{get, post};
use axum::Router;

use crate::config::{paths, ServerConfig};
use crate::discovery::{Registration, ServerMetadataBy, CLIENT_METADATA_PATH};
use crate::state::AppState;

/// The protected-resource metadata, at each location the configuration serves it (RFC 9728 §3.1
/// well-known locations, or only the URL a challenge announces).
pub(crate) fn resource_metadata_routes(config: &ServerConfig) -> Router<AppState> {
    let mut router = Router::new();
    for path in config.resource_metadata_paths() {
        router = router.route(&path, get(metadata::protected_resource));
    }
    router
}

/// The authorization server: its metadata where the configuration publishes it, and its
/// endpoints under the issuer's path.
pub(crate) fn authorization_server_routes(config: &ServerConfig) -> Router<AppState> {
    let mut router = Router::new();
    for path in config.server_metadata_paths() {
        router = router.route(&path, get(metadata::authorization_server));
    }
    if config.discovery.registration == Registration::Dynamic {
        router = router.route(
            &config.oauth_path(paths::REGISTER),
            post(register::register),
        );
    }
    if config.discovery.server_metadata_by == ServerMetadataBy::Openid {
        router = router.route(&config.oauth_path(paths::JWKS), get(metadata::jwks));
    }
    if config.discovery.registration == Registration::ClientIdMetadata {
        router = router.route(
            &format!("{CLIENT_METADATA_PATH}{{name}}"),
            get(metadata::client_metadata_document),
        );
    }
    router
        .route(
            &config.oauth_path(paths::AUTHORIZE),
            get(authorize::authorize),
        )
        .route(&config.oauth_path(paths::CONSENT), post(authorize::consent))
        .route(&config.oauth_path(paths::TOKEN), post(token::token))
}
