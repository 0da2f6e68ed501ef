//! Faults the mock can be told to commit, for scenarios about what a client does when a server
//! misbehaves after (or around) the token exchange. Each is off by default; a test turns on the
//! ones its story needs through the builder.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Forget every session as soon as it is created: any request naming one gets 404 "Session
    /// not found", as after a restart that lost its state.
    pub forget_sessions: bool,
    /// `tools/call` needs this extra scope (not advertised): a token without it gets 403
    /// `insufficient_scope` naming it in the challenge, so the client must step up.
    pub tools_call_scope: Option<String>,
    /// Grant the default scope whatever the client asks for at authorize (a server that can
    /// never satisfy a step-up).
    pub ignore_requested_scope: bool,
    /// Refuse every `refresh_token` grant this way, without rotating anything.
    pub refresh_error: Option<RefreshError>,
}

/// How the token endpoint refuses a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshError {
    /// 500 with `server_error` (RFC 6749 §5.2 has no such code; real servers send it anyway).
    ServerError,
    /// 400 `invalid_grant`: the refresh token is no good (RFC 6749 §5.2).
    InvalidGrant,
}
