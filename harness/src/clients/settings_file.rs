//! The `settings.json` of Gemini CLI and its fork Qwen Code: one JSON object whose `mcpServers`
//! names each server (`httpUrl`, an `oauth` block or static `headers`, `trust`). The harness
//! writes it directly (their `mcp add` cannot set the OAuth block), so both drivers share this.

use std::path::Path;

use serde_json::{json, Value};

use crate::clients::DriveError;

/// The file's object, or `base()` when there is no file yet.
pub(crate) fn read(path: &Path, base: fn() -> Value) -> Result<Value, DriveError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| DriveError::Unexpected {
            what: format!("{} is not JSON", path.display()),
            detail: format!("{e}: {text}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(base()),
        Err(e) => Err(DriveError::Setup(format!(
            "reading {}: {e}",
            path.display()
        ))),
    }
}

pub(crate) fn write(path: &Path, settings: &Value) -> Result<(), DriveError> {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(
            path,
            serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?,
        )
    };
    write().map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
}

/// Adds (or replaces) `server` under `mcpServers`: `entry` beside its `httpUrl` and `trust`.
pub(crate) fn add_http_server(
    path: &Path,
    base: fn() -> Value,
    server: &str,
    url: &str,
    entry: Value,
) -> Result<(), DriveError> {
    let mut settings = read(path, base)?;
    let servers = settings
        .as_object_mut()
        .map(|o| o.entry("mcpServers").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| DriveError::Setup(format!("{} is not an object", path.display())))?;
    let mut config = json!({"httpUrl": url, "trust": true});
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), entry) {
        config.extend(extra);
    }
    servers.insert(server.to_owned(), config);
    write(path, &settings)
}

/// The `oauth` block: enabled, with a pre-registered client's ID and secret when there is one.
/// It has no callback port (the redirect URI's port is chosen at login).
pub(crate) fn oauth(client_id: Option<&str>, client_secret: Option<&str>) -> Value {
    let mut block = json!({"enabled": true});
    if let Some(id) = client_id {
        block["clientId"] = json!(id);
    }
    if let Some(secret) = client_secret {
        block["clientSecret"] = json!(secret);
    }
    json!({ "oauth": block })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_added_beside_the_others_with_its_oauth_block() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("settings.json");
        let base = || json!({"theme": "x"});
        add_http_server(&path, base, "a", "http://127.0.0.1:1/", oauth(None, None))?;
        add_http_server(
            &path,
            base,
            "b",
            "http://127.0.0.1:2/",
            oauth(Some("id"), Some("s")),
        )?;
        let settings = read(&path, base)?;
        assert_eq!(settings["theme"], "x");
        assert_eq!(
            settings["mcpServers"]["a"],
            json!({"httpUrl": "http://127.0.0.1:1/", "trust": true, "oauth": {"enabled": true}})
        );
        assert_eq!(
            settings["mcpServers"]["b"]["oauth"],
            json!({"enabled": true, "clientId": "id", "clientSecret": "s"})
        );
        Ok(())
    }
}
