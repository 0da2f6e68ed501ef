//! How the server lets itself be discovered and how clients get a client ID: where the
//! protected-resource metadata lives, how the authorization server publishes its metadata, on
//! which origin it runs, where the MCP endpoint is, and which kind of registration it accepts.
//!
//! Clients break most often before they ever hold a token, each variant below exists to catch
//! one way of doing so (see the failure classes in the README).

use serde::{Deserialize, Serialize};

/// Where the protected-resource metadata (RFC 9728) is served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceMetadataAt {
    /// At both well-known locations, the path-specific and the root one (RFC 9728 §3.1).
    #[default]
    WellKnown,
    /// Only at the path-specific location (`/.well-known/oauth-protected-resource/mcp`).
    PathSpecific,
    /// Only at the root location (`/.well-known/oauth-protected-resource`).
    Root,
    /// Only at a URL outside `/.well-known/`, announced in `WWW-Authenticate` (RFC 9728 §5.1):
    /// a client that guesses instead of reading the challenge finds nothing.
    ChallengeOnly,
}

/// How the authorization server publishes its metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ServerMetadataBy {
    /// RFC 8414 only, with the well-known suffix inserted before the issuer's path (§3.1).
    #[default]
    Oauth,
    /// OpenID Connect Discovery 1.0 only (`openid-configuration`, both inserted and appended
    /// after an issuer path); RFC 8414's location answers 404.
    Openid,
}

/// How a client gets a client ID.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Registration {
    /// Dynamic client registration (RFC 7591).
    #[default]
    Dynamic,
    /// No registration endpoint: the client must be given [`PRE_REGISTERED_CLIENT_ID`].
    PreRegistered,
    /// Client ID metadata documents (MCP 2025-11-25 › Client ID Metadata Documents): the
    /// client ID is an HTTPS URL naming the client's metadata document, and the metadata says
    /// `client_id_metadata_document_supported`; no registration endpoint. The mock resolves the
    /// URLs on its own host under [`CLIENT_METADATA_PATH`] itself (see
    /// [`Discovery::own_client_metadata`]) and refuses every other host: it never fetches.
    ClientIdMetadata,
}

/// Whether the authorization response names its issuer (RFC 9207, OAuth 2.0 Authorization
/// Server Issuer Identification): the `iss` parameter beside `code` and `state` (and `error`) on
/// the redirect to the client, announced by the metadata's
/// `authorization_response_iss_parameter_supported`, so a client can refuse a response from
/// another authorization server (a mix-up attack).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorizationResponseIss {
    /// Advertised, and every authorization response (errors too) carries `iss` = the metadata's
    /// `issuer` (RFC 9207 §2, §2.3).
    #[default]
    Sent,
    /// Neither advertised nor sent: a server from before RFC 9207.
    Omitted,
    /// Advertised, but `iss` names another issuer ([`WRONG_ISSUER_SUFFIX`] appended to the real
    /// one): a conformant client must refuse the response (RFC 9207 §2.4).
    Wrong,
}

/// The shape of what the server sends where real servers differ from the examples in the RFCs:
/// token responses, 401 challenges, error bodies. One deviation at a time; each is allowed (or
/// at least seen in the field), so a client must get through every one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseShape {
    /// As the RFCs' examples.
    #[default]
    Standard,
    /// Token responses without `expires_in` (RFC 6749 §5.1: RECOMMENDED, not required).
    TokenWithoutExpiresIn,
    /// `"expires_in": "3600"`, a string (seen in the field; §5.1 says a number).
    TokenExpiresInString,
    /// Token responses with members no RFC defines (§5.1: the client MUST ignore them).
    TokenExtraFields,
    /// Token responses form-encoded (`application/x-www-form-urlencoded`), as GitHub's are
    /// unless asked for JSON; §5.1 says JSON, so a client may refuse them, but must say so.
    TokenFormEncoded,
    /// 401 challenges with a `Basic` challenge before the `Bearer` one, a `scope` parameter, and
    /// unusual spacing (RFC 9110 §11.6.1 allows several challenges in one field).
    SeveralChallenges,
    /// 404s and registration errors as an HTML page (`text/html`), as web frameworks answer by
    /// default, instead of JSON.
    HtmlErrors,
}

impl ResponseShape {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseShape::Standard => "standard",
            ResponseShape::TokenWithoutExpiresIn => "token-without-expires-in",
            ResponseShape::TokenExpiresInString => "token-expires-in-string",
            ResponseShape::TokenExtraFields => "token-extra-fields",
            ResponseShape::TokenFormEncoded => "token-form-encoded",
            ResponseShape::SeveralChallenges => "several-challenges",
            ResponseShape::HtmlErrors => "html-errors",
        }
    }
}

/// How the MCP endpoint knows its callers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Credentials {
    /// OAuth 2.1 bearer tokens, with everything this module describes.
    #[default]
    Oauth,
    /// Not OAuth: a static API key the user puts in the client's config, sent as
    /// [`API_KEY_HEADER`]: [`API_KEY`]. A request without it gets 401 with
    /// `WWW-Authenticate: Basic realm="…"` (RFC 7617), no Bearer challenge, and the server
    /// serves no OAuth metadata, registration, authorization or token endpoint (all 404): a
    /// client given the header must send it and never start OAuth.
    ApiKey,
}

/// The header a [`Credentials::ApiKey`] server reads its key from.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The one key a [`Credentials::ApiKey`] server accepts.
pub const API_KEY: &str = "harness-static-api-key-0123456789";

/// The realm of a [`Credentials::ApiKey`] server's `Basic` challenge.
pub const BASIC_REALM: &str = "mock-mcp";

/// What [`AuthorizationResponseIss::Wrong`] appends to the issuer for `iss`: another issuer on
/// the same origin, so a client that compares only origins, or prefixes, is caught too.
pub const WRONG_ISSUER_SUFFIX: &str = "/wrong-issuer";

/// The one client a [`Registration::PreRegistered`] server knows. Its redirect URIs are loopback
/// URLs on any port, as RFC 8252 §7.3 asks of servers for native clients, on the paths in
/// [`PRE_REGISTERED_REDIRECT_PATHS`].
pub const PRE_REGISTERED_CLIENT_ID: &str = "harness-pre-registered-client";

/// The paths of the pre-registered client's redirect URIs (on `localhost`, `127.0.0.1` or
/// `[::1]`, any port): the callback paths of the clients the harness drives, as the person who
/// registered each one ahead of time would have written them. Claude Code listens on
/// `/callback`; Gemini CLI, Qwen Code and mcp-remote on `/oauth/callback`; opencode and Kilo on
/// `/mcp/oauth/callback`. Any other path is refused, as an unregistered redirect URI must be.
pub const PRE_REGISTERED_REDIRECT_PATHS: [&str; 3] =
    ["/callback", "/oauth/callback", "/mcp/oauth/callback"];

/// Where the mock's own client ID metadata documents live: `<origin>/clients/<name>`.
pub const CLIENT_METADATA_PATH: &str = "/clients/";

/// Where resource metadata is served when [`ResourceMetadataAt::ChallengeOnly`].
pub const CHALLENGE_ONLY_METADATA_PATH: &str = "/metadata/protected-resource";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Discovery {
    pub resource_metadata_at: ResourceMetadataAt,
    /// Whether the 401 challenge carries `resource_metadata="…"` (RFC 9728 §5.1). Without it a
    /// client must find the document at a well-known location.
    pub challenge_names_metadata: bool,
    pub server_metadata_by: ServerMetadataBy,
    /// A path in the issuer identifier, e.g. `/tenant1`: its metadata is then at
    /// `/.well-known/oauth-authorization-server/tenant1` (RFC 8414 §3.1), and its endpoints under
    /// that path.
    pub issuer_path: Option<String>,
    /// Run the authorization server on a second listener (another port, so another origin),
    /// named only by the resource metadata's `authorization_servers`.
    pub separate_authorization_server: bool,
    /// The MCP endpoint's path, `/` or e.g. `/mcp`; it is also the resource identifier's path.
    pub mcp_path: String,
    pub registration: Registration,
    /// RFC 9207 `iss` on authorization responses (and its metadata flag).
    pub authorization_response_iss: AuthorizationResponseIss,
    /// Compare a loopback IP redirect URI's port too (off: any port, as RFC 8252 §7.3 says a
    /// server MUST allow; on: the strict servers seen in the field, where a client that
    /// registered one port and listens on another fails).
    pub strict_redirect_port: bool,
    /// Token responses, challenges and error bodies as some real servers send them.
    pub response_shape: ResponseShape,
    /// OAuth (everything above), or a static API key with a Basic challenge (none of it).
    pub credentials: Credentials,
}

impl Default for Discovery {
    fn default() -> Self {
        Discovery {
            resource_metadata_at: ResourceMetadataAt::WellKnown,
            challenge_names_metadata: true,
            server_metadata_by: ServerMetadataBy::Oauth,
            issuer_path: None,
            separate_authorization_server: false,
            mcp_path: "/".to_owned(),
            registration: Registration::Dynamic,
            authorization_response_iss: AuthorizationResponseIss::Sent,
            strict_redirect_port: false,
            response_shape: ResponseShape::Standard,
            credentials: Credentials::Oauth,
        }
    }
}

impl Discovery {
    /// Refuses combinations no client could get through and paths that would collide.
    pub fn validate(&self) -> Result<(), String> {
        if self.resource_metadata_at == ResourceMetadataAt::ChallengeOnly
            && !self.challenge_names_metadata
        {
            return Err(
                "resource metadata served only at the challenge's URL needs a challenge \
                        that names it (challenge_names_metadata = true)"
                    .to_owned(),
            );
        }
        if !is_simple_path(&self.mcp_path) {
            return Err(format!(
                "mcp_path {:?} must be \"/\" or a path like \"/mcp\" (letters, digits, '-', '_', '/')",
                self.mcp_path
            ));
        }
        if self.mcp_path.starts_with("/.well-known")
            || self.mcp_path.starts_with("/oauth")
            || self.mcp_path.starts_with("/__admin")
            || self.mcp_path.starts_with("/metadata")
        {
            return Err(format!(
                "mcp_path {:?} collides with the server's own routes",
                self.mcp_path
            ));
        }
        if let Some(path) = &self.issuer_path {
            if path == "/" || !is_simple_path(path) {
                return Err(format!(
                    "issuer_path {path:?} must be a path like \"/tenant1\" (letters, digits, '-', '_', '/')"
                ));
            }
            if path.starts_with("/.well-known") || path.starts_with("/__admin") {
                return Err(format!(
                    "issuer_path {path:?} collides with the server's own routes"
                ));
            }
        }
        Ok(())
    }

    /// The MCP path without a trailing slash (`""` for the root), for joining after a prefix.
    pub fn mcp_path_suffix(&self) -> &str {
        self.mcp_path.trim_end_matches('/')
    }

    /// The issuer path without a trailing slash (`""` when none).
    pub fn issuer_path_suffix(&self) -> &str {
        self.issuer_path
            .as_deref()
            .map(|p| p.trim_end_matches('/'))
            .unwrap_or("")
    }

    /// A short label for reports, empty for the default: `prm=challenge-only,as=separate`.
    pub fn label(&self) -> String {
        let default = Discovery::default();
        let mut parts = Vec::new();
        if self.resource_metadata_at != default.resource_metadata_at {
            parts.push(format!(
                "prm={}",
                kebab(&format!("{:?}", self.resource_metadata_at))
            ));
        }
        if !self.challenge_names_metadata {
            parts.push("challenge=bare".to_owned());
        }
        if self.server_metadata_by != default.server_metadata_by {
            parts.push("as-metadata=openid".to_owned());
        }
        if let Some(path) = &self.issuer_path {
            parts.push(format!("issuer-path={path}"));
        }
        if self.separate_authorization_server {
            parts.push("as=separate-origin".to_owned());
        }
        if self.mcp_path != default.mcp_path {
            parts.push(format!("mcp={}", self.mcp_path));
        }
        match self.registration {
            Registration::Dynamic => {}
            Registration::PreRegistered => parts.push("registration=pre-registered".to_owned()),
            Registration::ClientIdMetadata => {
                parts.push("registration=client-id-metadata".to_owned())
            }
        }
        match self.authorization_response_iss {
            AuthorizationResponseIss::Sent => {}
            AuthorizationResponseIss::Omitted => parts.push("iss=omitted".to_owned()),
            AuthorizationResponseIss::Wrong => parts.push("iss=wrong".to_owned()),
        }
        parts.join(",")
    }

    /// Whether `redirect_uri` is one the pre-registered client may use: a loopback URL on any
    /// port (RFC 8252 §7.3) with one of the [`PRE_REGISTERED_REDIRECT_PATHS`].
    pub fn is_pre_registered_redirect(redirect_uri: &str) -> bool {
        let Ok(url) = url::Url::parse(redirect_uri) else {
            return false;
        };
        url.scheme() == "http"
            && matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
            && PRE_REGISTERED_REDIRECT_PATHS.contains(&url.path())
            && url.query().is_none()
            && url.fragment().is_none()
    }
}

impl Discovery {
    /// The name of one of the mock's own client ID metadata documents, when `client_id` is a URL
    /// on the authorization server's own host and port under [`CLIENT_METADATA_PATH`]. Either
    /// scheme is accepted: clients insist on `https` (the specification requires it), and the
    /// mock, which has no TLS listener, resolves its own documents without fetching them.
    pub fn own_client_metadata(
        client_id: &str,
        authorization_server_origin: &str,
    ) -> Option<String> {
        let id = url::Url::parse(client_id).ok()?;
        let own = url::Url::parse(authorization_server_origin).ok()?;
        if !matches!(id.scheme(), "http" | "https")
            || id.host_str() != own.host_str()
            || id.port_or_known_default() != own.port_or_known_default()
            || id.query().is_some()
            || id.fragment().is_some()
        {
            return None;
        }
        let name = id.path().strip_prefix(CLIENT_METADATA_PATH)?;
        (!name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        .then(|| name.to_owned())
    }
}

fn is_simple_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains("//")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
}

fn kebab(debug: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_has_an_empty_label_and_is_valid() {
        assert_eq!(Discovery::default().label(), "");
        assert_eq!(Discovery::default().validate(), Ok(()));
    }

    #[test]
    fn a_label_names_every_departure_from_the_default() {
        let discovery = Discovery {
            resource_metadata_at: ResourceMetadataAt::ChallengeOnly,
            separate_authorization_server: true,
            mcp_path: "/mcp".to_owned(),
            issuer_path: Some("/tenant1".to_owned()),
            authorization_response_iss: AuthorizationResponseIss::Wrong,
            ..Discovery::default()
        };
        assert_eq!(
            discovery.label(),
            "prm=challenge-only,issuer-path=/tenant1,as=separate-origin,mcp=/mcp,iss=wrong"
        );
    }

    #[test]
    fn impossible_or_colliding_settings_are_refused() {
        let bad = [
            Discovery {
                resource_metadata_at: ResourceMetadataAt::ChallengeOnly,
                challenge_names_metadata: false,
                ..Discovery::default()
            },
            Discovery {
                mcp_path: "mcp".to_owned(),
                ..Discovery::default()
            },
            Discovery {
                mcp_path: "/oauth/token".to_owned(),
                ..Discovery::default()
            },
            Discovery {
                issuer_path: Some("/".to_owned()),
                ..Discovery::default()
            },
            Discovery {
                issuer_path: Some("/a?b".to_owned()),
                ..Discovery::default()
            },
        ];
        for discovery in bad {
            assert!(discovery.validate().is_err(), "{discovery:?}");
        }
    }

    #[test]
    fn own_client_metadata_urls_are_recognised_by_host_port_and_path() {
        let origin = "http://127.0.0.1:4000";
        let own = |id: &str| Discovery::own_client_metadata(id, origin);
        assert_eq!(
            own("https://127.0.0.1:4000/clients/claude-code").as_deref(),
            Some("claude-code")
        );
        assert_eq!(
            own("http://127.0.0.1:4000/clients/x_1").as_deref(),
            Some("x_1")
        );
        assert_eq!(own("https://127.0.0.1:4001/clients/claude-code"), None);
        assert_eq!(
            own("https://claude.ai/oauth/claude-code-client-metadata"),
            None
        );
        assert_eq!(own("https://127.0.0.1:4000/clients/"), None);
        assert_eq!(own("https://127.0.0.1:4000/clients/a/b"), None);
        assert_eq!(own("not a url"), None);
    }

    #[test]
    fn pre_registered_redirects_are_loopback_callbacks_on_any_port() {
        assert!(Discovery::is_pre_registered_redirect(
            "http://localhost:43123/callback"
        ));
        assert!(Discovery::is_pre_registered_redirect(
            "http://127.0.0.1:9/callback"
        ));
        assert!(!Discovery::is_pre_registered_redirect(
            "http://evil.example:9/callback"
        ));
        assert!(!Discovery::is_pre_registered_redirect(
            "http://localhost:9/elsewhere"
        ));
        assert!(Discovery::is_pre_registered_redirect(
            "http://localhost:9/oauth/callback"
        ));
        assert!(Discovery::is_pre_registered_redirect(
            "http://127.0.0.1:9/mcp/oauth/callback"
        ));
        assert!(!Discovery::is_pre_registered_redirect(
            "http://127.0.0.1:9/oauth/callback/../x"
        ));
        assert!(!Discovery::is_pre_registered_redirect(
            "https://localhost:9/callback"
        ));
    }
}
