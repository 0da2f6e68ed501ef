//! Faults the mock can be told to commit, for scenarios about what a client does when a server
//! misbehaves after (or around) the token exchange. Each is off by default; a test turns on the
//! ones its story needs through the builder, a `--config` file under `[faults]`, or the binary's
//! flags; the transport faults can also be armed while running ([`crate::MockServer`]'s methods
//! and the `/__admin/` routes).
//!
//! The transport faults (`slow_responses_ms`, `mcp_errors`, `drop_connections`) act on MCP
//! `POST`s only, and the counted ones on *authenticated* `POST`s only (a valid bearer token: the
//! requests after a token exchange), so that the OAuth dance itself is never what breaks. Every
//! request a fault hits says so in its access-log record (`fault`).

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
    /// Access tokens live this many seconds instead of an hour (a short lifetime: the client
    /// meets expiry by itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_secs: Option<u64>,
    /// Hold every MCP `POST` this many milliseconds before handling it (a slow server; every
    /// response still comes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_responses_ms: Option<u64>,
    /// The first `count` authenticated MCP `POST`s are answered with HTTP `status` (a 5xx from
    /// an overloaded server or its gateway) instead of being handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_errors: Option<McpErrors>,
    /// The connections of the first `count` authenticated MCP `POST`s are closed without a byte
    /// of response (a crashed worker, a proxy timing out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_connections: Option<DropConnections>,
    /// Speak only the older HTTP+SSE transport (MCP 2024-11-05), behind the same OAuth: with a
    /// valid token, `POST` to the MCP endpoint is 405 (`Allow: GET`), `GET` opens an SSE stream
    /// whose first event, `endpoint`, names a per-stream messages URL, and the responses to the
    /// messages POSTed there (202) arrive as `message` events on that stream. Not a fault so
    /// much as an old server; it lives here because a scenario's server is configured here.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub legacy_sse_only: bool,
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

impl std::str::FromStr for RefreshError {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "server_error" | "server-error" => Ok(RefreshError::ServerError),
            "invalid_grant" | "invalid-grant" => Ok(RefreshError::InvalidGrant),
            _ => Err(format!(
                "unknown refresh error {s:?} (known: server_error, invalid_grant)"
            )),
        }
    }
}

/// `mcp_errors`: which status, how many times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpErrors {
    /// 500..=599.
    #[serde(default = "McpErrors::default_status")]
    pub status: u16,
    /// How many authenticated MCP `POST`s get it; then the server is well again.
    pub count: u32,
}

impl McpErrors {
    fn default_status() -> u16 {
        503
    }

    /// `503` or `503x2` (status, times; one time when the count is left out).
    pub fn parse(s: &str) -> Result<McpErrors, String> {
        let (status, count) = s.split_once('x').unwrap_or((s, "1"));
        let status: u16 = status
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: expected STATUS or STATUSxCOUNT, e.g. 503x2"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: expected STATUS or STATUSxCOUNT, e.g. 503x2"))?;
        let errors = McpErrors { status, count };
        errors.validate()?;
        Ok(errors)
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(500..=599).contains(&self.status) {
            return Err(format!(
                "mcp_errors status {} is not a 5xx status",
                self.status
            ));
        }
        Ok(())
    }
}

/// `drop_connections`: how many times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropConnections {
    pub count: u32,
}

impl Faults {
    /// The `mock-server` flags that select these faults (what a container is started with).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut flag = |name: &str, value: Option<String>| {
            flags.push(format!("--{name}"));
            flags.extend(value);
        };
        if self.forget_sessions {
            flag("forget-sessions", None);
        }
        if let Some(scope) = &self.tools_call_scope {
            flag("tools-call-scope", Some(scope.clone()));
        }
        if self.ignore_requested_scope {
            flag("ignore-requested-scope", None);
        }
        if let Some(error) = self.refresh_error {
            let name = match error {
                RefreshError::ServerError => "server_error",
                RefreshError::InvalidGrant => "invalid_grant",
            };
            flag("refresh-error", Some(name.to_owned()));
        }
        if let Some(secs) = self.access_token_ttl_secs {
            flag("access-token-ttl", Some(secs.to_string()));
        }
        if let Some(ms) = self.slow_responses_ms {
            flag("slow-responses", Some(ms.to_string()));
        }
        if let Some(errors) = self.mcp_errors {
            flag(
                "mcp-errors",
                Some(format!("{}x{}", errors.status, errors.count)),
            );
        }
        if let Some(drops) = self.drop_connections {
            flag("drop-connections", Some(drops.count.to_string()));
        }
        if self.legacy_sse_only {
            flag("legacy-sse-only", None);
        }
        flags
    }

    /// Refuses values no server could mean (a 5xx fault with a 200 status).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(errors) = &self.mcp_errors {
            errors.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_fault_reads_as_status_times_count() -> anyhow::Result<()> {
        assert_eq!(
            McpErrors::parse("503x2").map_err(anyhow::Error::msg)?,
            McpErrors {
                status: 503,
                count: 2
            }
        );
        assert_eq!(
            McpErrors::parse("500").map_err(anyhow::Error::msg)?,
            McpErrors {
                status: 500,
                count: 1
            }
        );
        assert!(McpErrors::parse("200x1").is_err());
        assert!(McpErrors::parse("503x").is_err());
        assert!(McpErrors::parse("many").is_err());
        Ok(())
    }
}
