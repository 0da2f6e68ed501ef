//! Paths of the endpoints. Clients must learn them from the metadata; they are constants here
//! only so that the server and its metadata cannot disagree. Also reachable as
//! [`crate::config::paths`].

pub const PROTECTED_RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";
pub const AUTHORIZATION_SERVER_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// An empty key set: OpenID Connect Discovery requires `jwks_uri`, and nothing here signs.
pub const JWKS: &str = "/oauth/jwks";
pub const REGISTER: &str = "/oauth/register";
pub const AUTHORIZE: &str = "/oauth/authorize";
pub const CONSENT: &str = "/oauth/consent";
pub const TOKEN: &str = "/oauth/token";
pub const MCP: &str = "/";
pub const ADMIN_ACCESS_LOG: &str = "/__admin/access-log";
/// `POST /__admin/<event>`: see `admin::EVENTS`.
pub const ADMIN_EVENT: &str = "/__admin/{event}";
