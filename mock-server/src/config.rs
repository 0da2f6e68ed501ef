//! What a mock server instance advertises and enforces: its public URL, lifetimes, and the MCP
//! revisions it offers.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::access_log::Phase;
use crate::discovery::{AuthorizationResponseIss, WRONG_ISSUER_SUFFIX};
use crate::error::MockServerError;

/// MCP revisions offered by default, newest first. 2026-07-28 is deliberately absent: the mock
/// plays a server of the initialize-handshake era, which is what the seed report's server was.
pub const DEFAULT_PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// Scopes the protected resource knows. One scope keeps consent simple; an unknown scope is still
/// refused (`invalid_scope`) so a client that invents scopes is caught.
pub const SCOPES_SUPPORTED: &[&str] = &["mcp"];

/// The scope granted when the client asks for none (RFC 6749 §3.3 lets the server pick a default).
pub const DEFAULT_SCOPE: &str = "mcp";

pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(60);

/// Paths of the endpoints (defined in the leaf module [`crate::paths`], which the access log
/// also reads).
pub use crate::paths;

/// The request header that carries the admin token (see [`ServerConfig::admin_token`]). Not
/// `Authorization`, so that it can never be mistaken for an OAuth bearer token in the log.
pub const ADMIN_TOKEN_HEADER: &str = "x-mock-admin-token";

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Origin the server is reached at, without a trailing slash (`http://127.0.0.1:PORT`).
    pub public_url: String,
    pub access_token_ttl: Duration,
    pub code_ttl: Duration,
    /// Offered MCP revisions, newest first; the first is the one proposed to clients whose
    /// requested revision is not offered.
    pub protocol_versions: Vec<String>,
    pub access_log_file: Option<PathBuf>,
    /// Faults to commit on purpose (none by default).
    pub faults: crate::faults::Faults,
    /// When set, the admin routes also answer non-loopback peers that present this token in
    /// [`ADMIN_TOKEN_HEADER`]. A server in a container needs it: requests from the host arrive
    /// from the bridge's gateway, not from loopback. `None` (the default) keeps them loopback-only.
    pub admin_token: Option<String>,
    /// Which server the mock plays.
    pub profile: crate::profile::Profile,
    /// Encoding quirks on top of the profile.
    pub quirks: crate::profile::Quirks,
    /// Where metadata lives, where the authorization server runs, how clients register.
    pub discovery: crate::discovery::Discovery,
    /// The authorization server's origin when it runs on a listener of its own
    /// ([`crate::discovery::Discovery::separate_authorization_server`]).
    pub authorization_server_url: Option<String>,
    /// Serve MCP without a bearer token (`mock-server --no-auth`): every MCP request is handled
    /// as if it carried a valid token for the default scope. Off by default; it exists for the
    /// official conformance suite, which has no way to send a token. The OAuth routes stay up.
    pub no_auth: bool,
    /// A captured server's identity, capabilities and tools, instead of the profile's.
    pub shape: crate::profile::ServerShape,
}

impl ServerConfig {
    /// Defaults for a server reached at `public_url`. Only an origin is accepted: where the MCP
    /// endpoint lives is [`crate::discovery::Discovery::mcp_path`]'s business.
    pub fn new(public_url: &str) -> Result<ServerConfig, MockServerError> {
        let invalid = |reason: &str| MockServerError::PublicUrl {
            url: public_url.to_owned(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(public_url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.host().is_none() {
            return Err(invalid("there is no host"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("only an origin (scheme, host, port) is allowed"));
        }
        Ok(ServerConfig {
            public_url: url.as_str().trim_end_matches('/').to_owned(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            code_ttl: DEFAULT_CODE_TTL,
            protocol_versions: DEFAULT_PROTOCOL_VERSIONS
                .iter()
                .map(|v| (*v).to_owned())
                .collect(),
            access_log_file: None,
            faults: crate::faults::Faults::default(),
            admin_token: None,
            profile: crate::profile::Profile::Default,
            quirks: crate::profile::Quirks::default(),
            discovery: crate::discovery::Discovery::default(),
            authorization_server_url: None,
            no_auth: false,
            shape: crate::profile::ServerShape::default(),
        })
    }

    /// The authorization server's origin: its own listener's, or the MCP server's.
    pub fn authorization_server_origin(&self) -> &str {
        self.authorization_server_url
            .as_deref()
            .unwrap_or(&self.public_url)
    }

    /// The authorization server's issuer identifier (RFC 8414 §2): its origin and the configured
    /// issuer path, no trailing slash.
    pub fn issuer(&self) -> String {
        format!(
            "{}{}",
            self.authorization_server_origin(),
            self.discovery.issuer_path_suffix()
        )
    }

    /// Whether the metadata advertises RFC 9207 `iss` on authorization responses
    /// (`authorization_response_iss_parameter_supported`).
    pub fn advertises_authorization_response_iss(&self) -> bool {
        self.discovery.authorization_response_iss != AuthorizationResponseIss::Omitted
    }

    /// The `iss` an authorization response carries (RFC 9207 §2): the issuer, another one when
    /// configured to send a wrong one, none when configured to leave it out.
    pub fn authorization_response_iss(&self) -> Option<String> {
        match self.discovery.authorization_response_iss {
            AuthorizationResponseIss::Sent => Some(self.issuer()),
            AuthorizationResponseIss::Omitted => None,
            AuthorizationResponseIss::Wrong => {
                Some(format!("{}{WRONG_ISSUER_SUFFIX}", self.issuer()))
            }
        }
    }

    /// The path of an OAuth endpoint (`paths::TOKEN`, ...) on the authorization server's
    /// listener: under the issuer's path when it has one.
    pub fn oauth_path(&self, path: &str) -> String {
        format!("{}{path}", self.discovery.issuer_path_suffix())
    }

    /// The absolute URL of an OAuth endpoint, as its metadata advertises it.
    pub fn oauth_url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.authorization_server_origin(),
            self.oauth_path(path)
        )
    }

    /// The path of the MCP endpoint on the MCP server's listener.
    pub fn mcp_path(&self) -> &str {
        &self.discovery.mcp_path
    }

    /// Where an HTTP+SSE (2024-11-05) client POSTs its messages on a `legacy_sse_only` server:
    /// `messages` under the MCP endpoint's path (`/mcp/messages`, or `/messages` at the root).
    pub fn legacy_messages_path(&self) -> String {
        format!("{}/messages", self.discovery.mcp_path_suffix())
    }

    /// The MCP endpoint, which is also the protected resource's identifier (RFC 9728 §2, RFC 8707).
    pub fn mcp_url(&self) -> String {
        self.url(self.mcp_path())
    }

    pub fn resource(&self) -> String {
        self.mcp_url()
    }

    /// The path-specific well-known location of the resource metadata (RFC 9728 §3.1): the
    /// suffix, then the resource's path (for the resource `<origin>/` that path is `/`).
    pub fn path_specific_resource_metadata_path(&self) -> String {
        format!("{}{}", paths::PROTECTED_RESOURCE_METADATA, self.mcp_path())
    }

    /// Every path the resource metadata is served at, on the MCP server's listener.
    pub fn resource_metadata_paths(&self) -> Vec<String> {
        use crate::discovery::ResourceMetadataAt;
        match self.discovery.resource_metadata_at {
            ResourceMetadataAt::WellKnown => vec![
                paths::PROTECTED_RESOURCE_METADATA.to_owned(),
                self.path_specific_resource_metadata_path(),
            ],
            ResourceMetadataAt::PathSpecific => vec![self.path_specific_resource_metadata_path()],
            ResourceMetadataAt::Root => vec![paths::PROTECTED_RESOURCE_METADATA.to_owned()],
            ResourceMetadataAt::ChallengeOnly => vec![format!(
                "{}{}",
                crate::discovery::CHALLENGE_ONLY_METADATA_PATH,
                self.discovery.mcp_path_suffix()
            )],
        }
    }

    /// Where `WWW-Authenticate: Bearer resource_metadata=...` points (RFC 9728 §5.1): the first
    /// location the document is served at (the root one when both well-known ones are).
    pub fn resource_metadata_url(&self) -> String {
        let paths = self.resource_metadata_paths();
        self.url(
            paths
                .first()
                .map(String::as_str)
                .unwrap_or(paths::PROTECTED_RESOURCE_METADATA),
        )
    }

    /// What a 401 or 403 challenge names as `resource_metadata`: nothing when the server is
    /// configured to send bare challenges.
    pub fn challenge_resource_metadata(&self) -> Option<String> {
        self.discovery
            .challenge_names_metadata
            .then(|| self.resource_metadata_url())
    }

    /// Every path the authorization-server metadata is served at, on its listener: RFC 8414 §3.1
    /// inserts the well-known suffix before the issuer's path; OpenID Connect Discovery 1.0 §4
    /// appends it after, and the MCP authorization spec also accepts it inserted.
    pub fn server_metadata_paths(&self) -> Vec<String> {
        use crate::discovery::ServerMetadataBy;
        let issuer_path = self.discovery.issuer_path_suffix();
        match self.discovery.server_metadata_by {
            ServerMetadataBy::Oauth => {
                vec![format!(
                    "{}{issuer_path}",
                    paths::AUTHORIZATION_SERVER_METADATA
                )]
            }
            ServerMetadataBy::Openid => {
                let inserted = format!("{}{issuer_path}", paths::OPENID_CONFIGURATION);
                let appended = format!("{issuer_path}{}", paths::OPENID_CONFIGURATION);
                if inserted == appended {
                    vec![inserted]
                } else {
                    vec![inserted, appended]
                }
            }
        }
    }

    /// Which part of the protocol a request on `path` belongs to, given where this server
    /// serves what; `on_authorization_server` when it arrived on the authorization server's own
    /// listener.
    pub fn phase_of(&self, path: &str, on_authorization_server: bool) -> Phase {
        let separate = self.authorization_server_url.is_some();
        let serves_oauth = !separate || on_authorization_server;
        let serves_mcp = !separate || !on_authorization_server;
        if path.starts_with("/__admin/") {
            return Phase::Admin;
        }
        if serves_oauth {
            if path == self.oauth_path(paths::REGISTER) {
                return Phase::Registration;
            }
            if path == self.oauth_path(paths::AUTHORIZE) || path == self.oauth_path(paths::CONSENT)
            {
                return Phase::Authorization;
            }
            if path == self.oauth_path(paths::TOKEN) {
                return Phase::Token;
            }
        }
        if serves_mcp
            && (path == self.mcp_path()
                || (self.faults.legacy_sse_only && path == self.legacy_messages_path()))
        {
            return Phase::Mcp;
        }
        if path.contains("/.well-known/")
            || path.starts_with(crate::discovery::CHALLENGE_ONLY_METADATA_PATH)
            || path.starts_with(crate::discovery::CLIENT_METADATA_PATH)
            || path == self.oauth_path(paths::JWKS)
        {
            return Phase::Discovery;
        }
        Phase::Other
    }

    /// An absolute URL for a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// The newest offered revision, proposed when the client's is not offered.
    pub fn latest_protocol_version(&self) -> &str {
        self.protocol_versions
            .first()
            .map(String::as_str)
            .unwrap_or(DEFAULT_PROTOCOL_VERSIONS[0])
    }

    pub fn offers_protocol_version(&self, version: &str) -> bool {
        self.protocol_versions.iter().any(|v| v == version)
    }

    /// Whether a modern (stateless, 2026-07-28 and later) revision is offered.
    pub fn offers_modern(&self) -> bool {
        self.protocol_versions
            .iter()
            .any(|v| crate::profile::Revision::is_modern_id(v))
    }

    /// The newest offered legacy (initialize-handshake) revision, if any is offered.
    ///
    /// MCP 2026-07-28, Basic › Versioning › "Backward Compatibility with Initialization-Based
    /// Versions": an `initialize` selects legacy semantics, so a dual-era server negotiates
    /// only among its legacy revisions there (a handshake cannot create a modern session).
    pub fn latest_legacy_protocol_version(&self) -> Option<&str> {
        self.protocol_versions
            .iter()
            .map(String::as_str)
            .find(|v| !crate::profile::Revision::is_modern_id(v))
    }

    pub fn has_quirk(&self, quirk: crate::profile::Quirk) -> bool {
        self.quirks.has(quirk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_is_normalised_to_an_origin_without_a_trailing_slash() -> anyhow::Result<()> {
        let config = ServerConfig::new("http://LOCALHOST:8080/")?;
        assert_eq!(config.public_url, "http://localhost:8080");
        assert_eq!(config.mcp_url(), "http://localhost:8080/");
        assert_eq!(
            config.resource_metadata_url(),
            "http://localhost:8080/.well-known/oauth-protected-resource"
        );
        Ok(())
    }

    #[test]
    fn public_url_with_a_path_is_refused() {
        assert!(ServerConfig::new("http://localhost:8080/mcp").is_err());
        assert!(ServerConfig::new("ftp://localhost/").is_err());
    }
}
