//! A sandbox per run: a temporary HOME and working directory that the client under test owns,
//! pre-seeded so no onboarding, trust or API-key dialog appears, and an environment cleaned of
//! everything inherited except what a process needs to run.

use std::path::{Path, PathBuf};

use serde_json::json;

/// The API key the client is given. Only the model stand-in ever sees it.
pub const SANDBOX_API_KEY: &str = "sk-ant-api03-harness-sandbox-key-0000000000000000000000000000";

/// Where the scripted browser finds the URLs the client asked it to open.
const BROWSER_LOG: &str = "browser-requests.log";

pub struct Sandbox {
    root: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
    /// Variables a scenario adds for its server (all pointing at the run's own servers).
    extra_env: std::sync::Mutex<Vec<(String, String)>>,
}

impl Sandbox {
    /// A fresh sandbox under the system temporary directory.
    pub fn new(label: &str) -> std::io::Result<Sandbox> {
        let root = tempfile::Builder::new()
            .prefix(&format!("harness-{label}-"))
            .tempdir()?;
        let home = root.path().join("home");
        let work = root.path().join("work");
        for dir in [&home, &work, &root.path().join("tmp")] {
            std::fs::create_dir_all(dir)?;
        }
        let sandbox = Sandbox {
            root,
            home,
            work,
            extra_env: std::sync::Mutex::new(Vec::new()),
        };
        sandbox.seed_client_config()?;
        sandbox.write_browser_script()?;
        Ok(sandbox)
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    pub fn browser_log(&self) -> PathBuf {
        self.root.path().join(BROWSER_LOG)
    }

    fn browser_script(&self) -> PathBuf {
        self.root.path().join("scripted-browser.sh")
    }

    /// Keep the directory after the run (for a failure bundle that points into it).
    pub fn keep(&mut self) {
        self.root.disable_cleanup(true);
    }

    /// `~/.claude.json` with the start-up dialogs already answered: onboarding done, a theme
    /// chosen, the sandbox key approved, and the working directory trusted.
    fn seed_client_config(&self) -> std::io::Result<()> {
        let key_suffix = &SANDBOX_API_KEY[SANDBOX_API_KEY.len() - 20..];
        let mut projects = serde_json::Map::new();
        projects.insert(
            self.work.to_string_lossy().into_owned(),
            json!({"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true}),
        );
        let config = json!({
            "hasCompletedOnboarding": true,
            "theme": "dark",
            "customApiKeyResponses": {"approved": [key_suffix], "rejected": []},
            "projects": projects,
        });
        std::fs::write(
            self.home.join(".claude.json"),
            serde_json::to_vec_pretty(&config).map_err(std::io::Error::other)?,
        )
    }

    /// `BROWSER` points at this script: it only records the URL, and the harness's scripted
    /// browser acts on it, so no real browser ever starts.
    fn write_browser_script(&self) -> std::io::Result<()> {
        let script = format!(
            "#!/bin/sh\n# Written by the harness: records the URL the client wants opened.\nprintf '%s\\n' \"$*\" >> '{}'\n",
            self.browser_log().display()
        );
        let path = self.browser_script();
        std::fs::write(&path, script)?;
        set_executable(&path)
    }

    /// The complete environment for the client: nothing inherited but a minimal PATH, and
    /// everything pointing at the sandbox and the run's loopback servers.
    pub fn client_env(&self, model_api_url: &str) -> Vec<(String, String)> {
        let home = self.home.to_string_lossy().into_owned();
        let tmp = self.root.path().join("tmp").to_string_lossy().into_owned();
        let mut env = vec![
            ("HOME".to_owned(), home.clone()),
            ("USER".to_owned(), "harness".to_owned()),
            ("PATH".to_owned(), minimal_path()),
            ("TERM".to_owned(), "xterm-256color".to_owned()),
            ("LANG".to_owned(), "C.UTF-8".to_owned()),
            ("TMPDIR".to_owned(), tmp),
            ("XDG_CONFIG_HOME".to_owned(), format!("{home}/.config")),
            ("XDG_CACHE_HOME".to_owned(), format!("{home}/.cache")),
            ("XDG_DATA_HOME".to_owned(), format!("{home}/.local/share")),
            ("XDG_STATE_HOME".to_owned(), format!("{home}/.local/state")),
            (
                "BROWSER".to_owned(),
                self.browser_script().to_string_lossy().into_owned(),
            ),
            ("ANTHROPIC_BASE_URL".to_owned(), model_api_url.to_owned()),
            ("ANTHROPIC_API_KEY".to_owned(), SANDBOX_API_KEY.to_owned()),
            ("NO_PROXY".to_owned(), "127.0.0.1,localhost,::1".to_owned()),
            ("no_proxy".to_owned(), "127.0.0.1,localhost,::1".to_owned()),
        ];
        for (k, v) in HERMETIC_FLAGS {
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        env.extend(
            self.extra_env
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        env
    }

    /// One more variable for every later client command, e.g. where a server's client ID
    /// metadata document is; it must point at the run's own servers, never elsewhere.
    pub fn add_env(&self, name: &str, value: &str) {
        self.extra_env
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name.to_owned(), value.to_owned()));
    }
}

/// Switches that keep the CLI from updating itself or reporting anywhere.
const HERMETIC_FLAGS: &[(&str, &str)] = &[
    ("DISABLE_AUTOUPDATER", "1"),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ("DISABLE_TELEMETRY", "1"),
    ("DISABLE_ERROR_REPORTING", "1"),
    ("DISABLE_BUG_COMMAND", "1"),
    // 2.1.331 installs the official plugin marketplace from downloads.claude.ai at start-up even
    // with nonessential traffic disabled (a DNS lookup seen by `harness run --isolate`).
    ("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1"),
];

/// System directories plus wherever `node` lives (older versions run as `node cli.js`).
fn minimal_path() -> String {
    let mut dirs: Vec<String> = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| (*d).to_owned())
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("node").is_file() {
                let dir = dir.to_string_lossy().into_owned();
                if !dirs.contains(&dir) {
                    dirs.insert(0, dir);
                }
                break;
            }
        }
    }
    dirs.join(":")
}

fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_environment_names_no_inherited_secret_and_points_home_at_the_sandbox(
    ) -> std::io::Result<()> {
        let sandbox = Sandbox::new("env-test")?;
        let env = sandbox.client_env("http://127.0.0.1:1");
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("HOME").as_deref(),
            Some(&*sandbox.home().to_string_lossy())
        );
        assert_eq!(
            get("ANTHROPIC_BASE_URL").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert!(env
            .iter()
            .all(|(k, _)| k != "ANTHROPIC_AUTH_TOKEN" && k != "CLAUDE_CONFIG_DIR"));
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sandbox.home().join(".claude.json"))?)?;
        assert_eq!(config["hasCompletedOnboarding"], true);
        Ok(())
    }
}
