//! What Claude Code needs in a sandbox beyond what every client gets: its API variables pointed
//! at the model stand-in, the switches that keep it from updating itself or reporting anywhere,
//! and `~/.claude.json` with its start-up dialogs already answered.

use serde_json::json;

use crate::drive::sandbox::Sandbox;

/// The API key the client is given. Only the model stand-in ever sees it.
pub const SANDBOX_API_KEY: &str = "sk-ant-api03-harness-sandbox-key-0000000000000000000000000000";

/// Switches that keep the CLI from updating itself or reporting anywhere.
pub const HERMETIC_FLAGS: &[(&str, &str)] = &[
    ("DISABLE_AUTOUPDATER", "1"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ("DISABLE_TELEMETRY", "1"),
    ("DISABLE_ERROR_REPORTING", "1"),
    ("DISABLE_BUG_COMMAND", "1"),
    // 2.1.331 installs the official plugin marketplace from downloads.claude.ai at start-up even
    // with nonessential traffic disabled (a DNS lookup seen by `harness run --isolate`).
    ("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1"),
];

/// The sandbox's environment with Claude Code's own variables added.
pub fn client_env(sandbox: &Sandbox, model_api_url: &str) -> Vec<(String, String)> {
    let mut env = sandbox.client_env();
    env.push(("ANTHROPIC_BASE_URL".to_owned(), model_api_url.to_owned()));
    env.push(("ANTHROPIC_API_KEY".to_owned(), SANDBOX_API_KEY.to_owned()));
    for (k, v) in HERMETIC_FLAGS {
        env.push(((*k).to_owned(), (*v).to_owned()));
    }
    env
}

/// `~/.claude.json` with the start-up dialogs already answered: onboarding done, a theme
/// chosen, the sandbox key approved, and the working directory trusted.
pub fn seed_config(sandbox: &Sandbox) -> std::io::Result<()> {
    let key_suffix = &SANDBOX_API_KEY[SANDBOX_API_KEY.len() - 20..];
    let mut projects = serde_json::Map::new();
    projects.insert(
        sandbox.work_dir().to_string_lossy().into_owned(),
        json!({"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}),
    );
    let config = json!({
        "hasCompletedOnboarding": true,
        "theme": "dark",
        "customApiKeyResponses": {"approved": [key_suffix], "rejected": []},
        "projects": projects,
    });
    std::fs::write(
        sandbox.home().join(".claude.json"),
        serde_json::to_vec_pretty(&config).map_err(std::io::Error::other)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_code_is_pointed_at_the_model_stand_in_and_finds_its_dialogs_answered(
    ) -> std::io::Result<()> {
        let sandbox = Sandbox::new("claude-env-test")?;
        seed_config(&sandbox)?;
        let env = client_env(&sandbox, "http://127.0.0.1:1");
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("ANTHROPIC_BASE_URL").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(get("DISABLE_AUTOUPDATER").as_deref(), Some("1"));
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sandbox.home().join(".claude.json"))?)?;
        assert_eq!(config["hasCompletedOnboarding"], true);
        Ok(())
    }
}
