//! The MCP OAuth token file of Gemini CLI and its fork Qwen Code (`mcp-oauth-tokens.json`): a
//! JSON list of `{serverName, token: {accessToken, expiresAt, …}, updatedAt}`. Both clients keep
//! no needs-authentication list: a server needs authentication when the file holds no token for
//! it, or one that expires within five minutes.

use std::path::Path;

use serde_json::Value;

use crate::clients::{DriveError, NeedsAuthState};

/// How close to its expiry a stored token already counts as needing authentication.
const EXPIRY_MARGIN_MS: u64 = 5 * 60 * 1000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The file's entry for `server`, if it has one.
pub fn stored_token(path: &Path, server: &str) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let list: Value = serde_json::from_str(&text).ok()?;
    list.as_array()?
        .iter()
        .find(|e| e.get("serverName").and_then(Value::as_str) == Some(server))
        .cloned()
}

/// What the file says of `server`; `shown` is the file's name for the evidence (`~/.gemini/…`).
pub fn needs_auth_state(path: &Path, shown: &str, server: &str) -> NeedsAuthState {
    let Some(entry) = stored_token(path, server) else {
        let what = if path.is_file() {
            format!(
                "~/{shown} holds no token for {server}: {}",
                std::fs::read_to_string(path).unwrap_or_default().trim()
            )
        } else {
            format!("~/{shown} does not exist")
        };
        return NeedsAuthState {
            names_server: true,
            evidence: what,
        };
    };
    let expires = entry
        .pointer("/token/expiresAt")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    let expired = expires <= now_ms() + EXPIRY_MARGIN_MS;
    let has_access = entry
        .pointer("/token/accessToken")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    NeedsAuthState {
        names_server: expired || !has_access,
        evidence: format!(
            "~/{shown}: a token for {server} (access token {}, expiresAt {expires}, {} ms from now; updatedAt {})",
            if has_access { "present" } else { "missing" },
            expires as i128 - now_ms() as i128,
            entry.get("updatedAt").cloned().unwrap_or(Value::Null)
        ),
    }
}

/// Removes `server`'s stored token: the state in which the client treats it as needing
/// authentication (a fault for negative controls).
pub fn remove_token(path: &Path, server: &str) -> Result<(), DriveError> {
    let mut list: Vec<Value> = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    list.retain(|e| e.get("serverName").and_then(Value::as_str) != Some(server));
    std::fs::write(path, Value::Array(list).to_string())
        .map_err(|e| DriveError::Setup(format!("planting {}: {e}", path.display())))
}
