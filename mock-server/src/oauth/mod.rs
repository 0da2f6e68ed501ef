//! The OAuth 2.1 authorization server, and the protected-resource metadata that points to it.
//!
//! Strict on purpose: the harness must not pass a client that a real, conformant server would
//! refuse. Every rule enforced names the document it comes from.

pub(crate) mod authorize;
pub(crate) mod clients;
pub(crate) mod codes;
pub(crate) mod metadata;
pub(crate) mod pages;
pub(crate) mod pkce;
pub(crate) mod register;
pub(crate) mod token;

use std::collections::HashMap;

use axum::routing::{get, post};
use axum::Router;
use url::Url;

use crate::config::{paths, ServerConfig};
use crate::discovery::{Registration, ServerMetadataBy};
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
            &format!("{}{{name}}", crate::discovery::CLIENT_METADATA_PATH),
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

/// Form or query parameters, with repeated names set aside: RFC 6749 §3.1 says parameters
/// MUST NOT be included more than once, and that a parameter sent without a value is treated as
/// omitted.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    pub duplicates: Vec<String>,
}

impl Params {
    pub fn parse(raw: &[u8]) -> Params {
        let mut params = Params::default();
        for (name, value) in url::form_urlencoded::parse(raw) {
            if value.is_empty() {
                continue;
            }
            if params.values.contains_key(name.as_ref()) {
                params.duplicates.push(name.into_owned());
            } else {
                params.values.insert(name.into_owned(), value.into_owned());
            }
        }
        params
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn is_duplicated(&self, name: &str) -> bool {
        self.duplicates.iter().any(|d| d == name)
    }
}

/// RFC 8707 resource indicators compared as URLs, so `http://h:p` and `http://h:p/` (and a
/// differently cased host, or an explicit default port) are the same resource.
pub(crate) fn same_resource(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// RFC 8707 §2: an absolute URI without a fragment.
pub(crate) fn is_valid_resource(resource: &str) -> bool {
    Url::parse(resource).is_ok_and(|u| u.fragment().is_none() && u.has_host())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_compare_with_url_equivalence() {
        assert!(same_resource(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/"
        ));
        assert!(same_resource("http://LOCALHOST:80/", "http://localhost/"));
        assert!(!same_resource(
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8081/"
        ));
        assert!(!same_resource("http://127.0.0.1:8080/", "not a url"));
    }

    #[test]
    fn repeated_parameters_are_set_aside_and_empty_ones_dropped() {
        let params = Params::parse(b"a=1&b=&a=2&c=x%20y");
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x y"));
        assert!(params.is_duplicated("a"));
    }
}
