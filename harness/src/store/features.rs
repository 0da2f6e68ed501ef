//! What one installed CLI version can do, found out once and cached beside the install
//! (`<store>/claude-code/<version>/harness-features.json`).
//!
//! Two kinds of evidence fill it:
//! - the **probe** reads the version's own help (`--help`, `mcp --help`, `mcp add --help`) the
//!   first time the version is used: packaging, `mcp login`, `--debug-file`, HTTP transport and
//!   the OAuth client options;
//! - **scenario runs** record what only a live session shows: `server/discover` sent first, the
//!   `/mcp` menu's wording, a completed OAuth round trip. Features no scenario observes yet (the
//!   authenticate pseudo-tool, `ToolSearch` deferral) stay "not observed".
//!
//! A feature is "absent" only on positive evidence (the help lists the commands and `login` is
//! not among them; the first MCP request was `initialize` and no `server/discover` came at all).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::package::Packaging;
use crate::store::usage::now_secs;
use crate::store::versions::InstalledVersion;

/// The cache file, inside the version's folder (evicted with it).
pub const FEATURES_FILE: &str = "harness-features.json";
/// Bumped when the probe learns something new, so older caches are probed again.
pub const FEATURES_FORMAT: u32 = 1;
/// Bound on one help command.
pub const HELP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("probing the CLI's help failed: `{command}` {problem}:\n{output}")]
    Probe {
        command: String,
        problem: String,
        output: String,
    },
    #[error("feature cache at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("feature cache at {path} is unreadable: {message}")]
    Corrupt { path: PathBuf, message: String },
}

/// The features the harness knows how to detect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    /// `claude mcp login` exists (probe: `mcp --help`).
    McpLogin,
    /// `--debug-file` exists (probe: `--help`).
    DebugFile,
    /// `mcp add --transport http` exists (probe: `mcp add --help`).
    HttpTransport,
    /// `mcp add` takes OAuth client options (probe: `mcp add --help`).
    OauthClientOptions,
    /// A scenario saw a completed authorization-code exchange (session).
    OauthRoundTrip,
    /// The first MCP request was `server/discover` (session: access log).
    ServerDiscoverFirst,
    /// How the `/mcp` menu words a successful sign-in (session: screen).
    McpMenuWording,
    /// The model is offered `mcp__<name>__authenticate` (session: model API requests).
    AuthenticateTool,
    /// MCP tools are deferred behind `ToolSearch` (session: model API requests).
    ToolSearchDeferral,
}

impl Feature {
    pub const ALL: [Feature; 9] = [
        Feature::McpLogin,
        Feature::DebugFile,
        Feature::HttpTransport,
        Feature::OauthClientOptions,
        Feature::OauthRoundTrip,
        Feature::ServerDiscoverFirst,
        Feature::McpMenuWording,
        Feature::AuthenticateTool,
        Feature::ToolSearchDeferral,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Feature::McpLogin => "mcp-login",
            Feature::DebugFile => "debug-file",
            Feature::HttpTransport => "http-transport",
            Feature::OauthClientOptions => "oauth-client-options",
            Feature::OauthRoundTrip => "oauth-round-trip",
            Feature::ServerDiscoverFirst => "server-discover-first",
            Feature::McpMenuWording => "mcp-menu-wording",
            Feature::AuthenticateTool => "authenticate-tool",
            Feature::ToolSearchDeferral => "tool-search-deferral",
        }
    }

    /// Whether the help probe decides it (else only a session can).
    pub fn probed(self) -> bool {
        matches!(
            self,
            Feature::McpLogin
                | Feature::DebugFile
                | Feature::HttpTransport
                | Feature::OauthClientOptions
        )
    }

    /// What would fill a slot no run has filled yet.
    pub fn how_observed(self) -> &'static str {
        match self {
            Feature::McpLogin => "`claude mcp --help`",
            Feature::DebugFile => "`claude --help`",
            Feature::HttpTransport | Feature::OauthClientOptions => "`claude mcp add --help`",
            Feature::OauthRoundTrip => "any scenario's token exchange (access log)",
            Feature::ServerDiscoverFirst => "the first MCP request of any scenario (access log)",
            Feature::McpMenuWording => "the slash_mcp scenario's success message (screen)",
            Feature::AuthenticateTool | Feature::ToolSearchDeferral => {
                "a scenario that records the model API's requests (none does yet)"
            }
        }
    }
}

/// One piece of evidence about one feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub present: bool,
    /// A value beside presence, e.g. the menu's wording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Where it was seen: a command, or a scenario and what of it.
    pub source: String,
    /// The lines that show it.
    pub evidence: String,
    /// Seconds since the Unix epoch.
    pub observed_at: u64,
}

/// Everything known about one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    pub format: u32,
    pub version: String,
    pub packaging: Packaging,
    pub probed_at: u64,
    /// Keyed by [`Feature::key`]; a missing key is "not observed".
    pub observed: BTreeMap<String, Observation>,
}

impl Features {
    pub fn get(&self, feature: Feature) -> Option<&Observation> {
        self.observed.get(feature.key())
    }

    /// `Some(true)`/`Some(false)` on evidence, `None` when not observed.
    pub fn has(&self, feature: Feature) -> Option<bool> {
        self.get(feature).map(|o| o.present)
    }

    /// A table for people.
    pub fn render(&self, cache: &Path) -> String {
        let mut out = format!(
            "claude-code {} · packaging {} · probed {} · cached in {}\n",
            self.version,
            match self.packaging {
                Packaging::NativeBinary => "native binary",
                Packaging::NodeScript => "cli.js (run with node)",
            },
            format_epoch(self.probed_at),
            cache.display()
        );
        for feature in Feature::ALL {
            match self.get(feature) {
                Some(o) => {
                    let state = match (&o.value, o.present) {
                        (Some(v), _) => v.clone(),
                        (None, true) => "present".to_owned(),
                        (None, false) => "absent".to_owned(),
                    };
                    out.push_str(&format!(
                        "  {:<22} {:<26} from {}\n",
                        feature.key(),
                        state,
                        o.source
                    ));
                    for line in o.evidence.lines().take(4) {
                        out.push_str(&format!("  {:<22} │ {}\n", "", line.trim_end()));
                    }
                }
                None => out.push_str(&format!(
                    "  {:<22} {:<26} (would come from {})\n",
                    feature.key(),
                    "not observed",
                    feature.how_observed()
                )),
            }
        }
        out
    }
}

/// `2026-11-25 13:20 UTC`.
pub fn format_epoch(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// The command names of a help text's `Commands:` section (`add`, `login`, `update|upgrade`).
pub fn help_commands(help: &str) -> Vec<String> {
    let mut in_commands = false;
    let mut names = Vec::new();
    for line in help.lines() {
        if line.trim_end() == "Commands:" {
            in_commands = true;
            continue;
        }
        if !in_commands {
            continue;
        }
        if !line.is_empty() && !line.starts_with(' ') {
            break; // the next section
        }
        // A command starts at an indentation of two; deeper lines are wrapped descriptions and
        // examples.
        let Some(rest) = line.strip_prefix("  ") else {
            continue;
        };
        if rest.starts_with(' ') {
            continue;
        }
        let name = rest.split_whitespace().next().unwrap_or("");
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'|')
        {
            names.push(name.to_owned());
        }
    }
    names
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| l.contains(needle))
        .map(str::trim)
        .collect()
}

/// What the three help texts say. Absence is recorded only when the text is the kind of text
/// that would list the feature (a `Commands:` section, an `Options:` section).
pub fn parse_help(
    help: &str,
    mcp_help: &str,
    mcp_add_help: &str,
    now: u64,
) -> BTreeMap<String, Observation> {
    let mut observed = BTreeMap::new();
    let mut put = |feature: Feature, present: bool, source: &str, evidence: String| {
        observed.insert(
            feature.key().to_owned(),
            Observation {
                present,
                value: None,
                source: source.to_owned(),
                evidence,
                observed_at: now,
            },
        );
    };

    let commands = help_commands(mcp_help);
    if !commands.is_empty() {
        let login = commands.iter().any(|c| c.split('|').any(|n| n == "login"));
        let evidence = if login {
            lines_with(mcp_help, "login").join("\n")
        } else {
            format!("no `login` among its commands: {}", commands.join(", "))
        };
        put(Feature::McpLogin, login, "`claude mcp --help`", evidence);
    }

    if help.contains("Options:") {
        let lines = lines_with(help, "--debug-file");
        let evidence = if lines.is_empty() {
            "no `--debug-file` among its options".to_owned()
        } else {
            lines.join("\n")
        };
        put(
            Feature::DebugFile,
            !lines.is_empty(),
            "`claude --help`",
            evidence,
        );
    }

    if mcp_add_help.contains("Options:") {
        let transport: Vec<&str> = lines_with(mcp_add_help, "--transport");
        let http = transport.iter().any(|l| l.to_lowercase().contains("http"))
            || mcp_add_help.contains("--transport http");
        let evidence = if transport.is_empty() {
            "no `--transport` option".to_owned()
        } else {
            transport.join("\n")
        };
        put(
            Feature::HttpTransport,
            http,
            "`claude mcp add --help`",
            evidence,
        );
        let oauth: Vec<&str> = mcp_add_help
            .lines()
            .filter(|l| l.contains("OAuth"))
            .map(str::trim)
            .collect();
        let evidence = if oauth.is_empty() {
            "no option mentions OAuth".to_owned()
        } else {
            oauth.join("\n")
        };
        put(
            Feature::OauthClientOptions,
            !oauth.is_empty(),
            "`claude mcp add --help`",
            evidence,
        );
    }
    observed
}

/// The cache file of one installed version.
#[derive(Debug, Clone)]
pub struct FeatureCache {
    path: PathBuf,
}

impl FeatureCache {
    pub fn for_install(install: &InstalledVersion) -> FeatureCache {
        FeatureCache::at(install.dir.join(FEATURES_FILE))
    }

    pub fn at(path: impl Into<PathBuf>) -> FeatureCache {
        FeatureCache { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> FeatureError + '_ {
        move |source| FeatureError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// The cached features, when a cache of the current format exists.
    pub fn load(&self) -> Result<Option<Features>, FeatureError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io()(e)),
        };
        let features: Features =
            serde_json::from_slice(&bytes).map_err(|e| FeatureError::Corrupt {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        Ok((features.format == FEATURES_FORMAT).then_some(features))
    }

    fn lock(&self) -> Result<File, FeatureError> {
        let lock_path = self.path.with_extension("lock");
        let file = File::create(&lock_path).map_err(|source| FeatureError::Io {
            path: lock_path.clone(),
            source,
        })?;
        file.lock().map_err(|source| FeatureError::Io {
            path: lock_path,
            source,
        })?;
        Ok(file)
    }

    fn save(&self, features: &Features) -> Result<(), FeatureError> {
        let tmp = self
            .path
            .with_extension(format!("json.{}", std::process::id()));
        let bytes = serde_json::to_vec_pretty(features).map_err(|e| FeatureError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        fs::write(&tmp, bytes).map_err(self.io())?;
        fs::rename(&tmp, &self.path).map_err(self.io())
    }

    /// The cached features, else probes with `help` (called with the CLI's arguments, returning
    /// what it printed) and caches the result. Session observations already cached are kept.
    pub fn load_or_probe(
        &self,
        version: &str,
        packaging: Packaging,
        help: &mut dyn FnMut(&[&str]) -> Result<String, FeatureError>,
    ) -> Result<Features, FeatureError> {
        if let Some(found) = self.load()? {
            return Ok(found);
        }
        let _lock = self.lock()?;
        if let Some(found) = self.load()? {
            return Ok(found); // probed by someone else while we waited
        }
        crate::say!(
            "harness: probing claude-code {version}'s features (once; cached in {})…",
            self.path.display()
        );
        let top = help(&["--help"])?;
        let mcp = help(&["mcp", "--help"])?;
        let mcp_add = help(&["mcp", "add", "--help"])?;
        let now = now_secs();
        let features = Features {
            format: FEATURES_FORMAT,
            version: version.to_owned(),
            packaging,
            probed_at: now,
            observed: parse_help(&top, &mcp, &mcp_add, now),
        };
        self.save(&features)?;
        Ok(features)
    }

    /// Adds session observations to an existing cache (a no-op when the version was never
    /// probed). A newer observation replaces an older one of the same feature.
    pub fn record(&self, observations: &[(Feature, Observation)]) -> Result<(), FeatureError> {
        if observations.is_empty() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let Some(mut features) = self.load()? else {
            return Ok(());
        };
        for (feature, observation) in observations {
            if !feature.probed() {
                features
                    .observed
                    .insert(feature.key().to_owned(), observation.clone());
            }
        }
        self.save(&features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATIVE_HELP: &str = include_str!("../../fixtures/help/2.1.331/help.txt");
    const NATIVE_MCP: &str = include_str!("../../fixtures/help/2.1.331/mcp_help.txt");
    const NATIVE_MCP_ADD: &str = include_str!("../../fixtures/help/2.1.331/mcp_add_help.txt");
    const SCRIPT_HELP: &str = include_str!("../../fixtures/help/2.1.81/help.txt");
    const SCRIPT_MCP: &str = include_str!("../../fixtures/help/2.1.81/mcp_help.txt");
    const SCRIPT_MCP_ADD: &str = include_str!("../../fixtures/help/2.1.81/mcp_add_help.txt");

    const EARLIEST_HELP: &str = include_str!("../../fixtures/help/0.2.9/help.txt");
    const EARLIEST_MCP: &str = include_str!("../../fixtures/help/0.2.9/mcp_help.txt");
    const EARLIEST_MCP_ADD: &str = include_str!("../../fixtures/help/0.2.9/mcp_add_help.txt");

    fn present(observed: &BTreeMap<String, Observation>, f: Feature) -> Option<bool> {
        observed.get(f.key()).map(|o| o.present)
    }

    #[test]
    fn the_native_version_s_help_shows_mcp_login_debug_file_and_http_transport() {
        let observed = parse_help(NATIVE_HELP, NATIVE_MCP, NATIVE_MCP_ADD, 0);
        assert_eq!(present(&observed, Feature::McpLogin), Some(true));
        assert_eq!(present(&observed, Feature::DebugFile), Some(true));
        assert_eq!(present(&observed, Feature::HttpTransport), Some(true));
        assert_eq!(present(&observed, Feature::OauthClientOptions), Some(true));
        let login = &observed[Feature::McpLogin.key()];
        assert!(
            login.evidence.starts_with("login [options] <name>"),
            "{}",
            login.evidence
        );
    }

    #[test]
    fn the_cli_js_version_s_help_shows_no_mcp_login_with_its_command_list_as_evidence() {
        let observed = parse_help(SCRIPT_HELP, SCRIPT_MCP, SCRIPT_MCP_ADD, 0);
        assert_eq!(present(&observed, Feature::McpLogin), Some(false));
        assert_eq!(
            observed[Feature::McpLogin.key()].evidence,
            "no `login` among its commands: add, add-from-claude-desktop, add-json, get, help, list, remove, reset-project-choices, serve"
        );
        assert_eq!(present(&observed, Feature::DebugFile), Some(true));
        assert_eq!(present(&observed, Feature::HttpTransport), Some(true));
        assert_eq!(present(&observed, Feature::OauthClientOptions), Some(true));
    }

    #[test]
    fn the_earliest_version_s_help_shows_stdio_servers_only() {
        let observed = parse_help(EARLIEST_HELP, EARLIEST_MCP, EARLIEST_MCP_ADD, 0);
        for feature in [
            Feature::McpLogin,
            Feature::DebugFile,
            Feature::HttpTransport,
            Feature::OauthClientOptions,
        ] {
            assert_eq!(
                present(&observed, feature),
                Some(false),
                "{}",
                feature.key()
            );
        }
        assert_eq!(
            observed[Feature::McpLogin.key()].evidence,
            "no `login` among its commands: serve, add, remove, list, get, help"
        );
    }

    #[test]
    fn help_that_is_not_a_help_text_proves_nothing_absent() {
        let observed = parse_help("error: boom", "Segmentation fault", "", 0);
        assert!(observed.is_empty(), "{observed:?}");
    }

    #[test]
    fn help_without_the_options_records_them_absent() {
        let observed = parse_help(
            "Usage: claude\n\nOptions:\n  -h, --help  Display help\n",
            "Usage: claude mcp\n\nCommands:\n  add <name>  Add\n  list  List\n",
            "Usage: claude mcp add\n\nOptions:\n  -e, --env <env...>  Set env\n",
            0,
        );
        assert_eq!(present(&observed, Feature::McpLogin), Some(false));
        assert_eq!(present(&observed, Feature::DebugFile), Some(false));
        assert_eq!(present(&observed, Feature::HttpTransport), Some(false));
        assert_eq!(present(&observed, Feature::OauthClientOptions), Some(false));
    }

    #[test]
    fn the_second_lookup_reads_the_cache_and_runs_no_cli() -> Result<(), FeatureError> {
        let dir = tempfile::tempdir().map_err(|source| FeatureError::Io {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let cache = FeatureCache::at(dir.path().join(FEATURES_FILE));
        let mut calls: Vec<String> = Vec::new();
        let mut fake = |args: &[&str]| -> Result<String, FeatureError> {
            calls.push(args.join(" "));
            Ok(match args {
                ["--help"] => SCRIPT_HELP,
                ["mcp", "--help"] => SCRIPT_MCP,
                _ => SCRIPT_MCP_ADD,
            }
            .to_owned())
        };
        let first = cache.load_or_probe("2.1.81", Packaging::NodeScript, &mut fake)?;
        let second = cache.load_or_probe("2.1.81", Packaging::NodeScript, &mut fake)?;
        assert_eq!(calls, ["--help", "mcp --help", "mcp add --help"]);
        assert_eq!(first, second);
        assert_eq!(second.has(Feature::McpLogin), Some(false));
        assert!(cache.path().is_file());
        Ok(())
    }

    #[test]
    fn a_failing_help_command_is_an_error_and_caches_nothing() -> Result<(), FeatureError> {
        let dir = tempfile::tempdir().map_err(|source| FeatureError::Io {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let cache = FeatureCache::at(dir.path().join(FEATURES_FILE));
        let result = cache.load_or_probe("2.1.81", Packaging::NodeScript, &mut |args| {
            Err(FeatureError::Probe {
                command: args.join(" "),
                problem: "exited with Some(1)".to_owned(),
                output: String::new(),
            })
        });
        assert!(result.is_err());
        assert!(cache.load()?.is_none());
        Ok(())
    }

    #[test]
    fn session_observations_fill_their_slots_and_never_overwrite_the_probe(
    ) -> Result<(), FeatureError> {
        let dir = tempfile::tempdir().map_err(|source| FeatureError::Io {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let cache = FeatureCache::at(dir.path().join(FEATURES_FILE));
        cache.load_or_probe("2.1.331", Packaging::NativeBinary, &mut |args| {
            Ok(match args {
                ["--help"] => NATIVE_HELP,
                ["mcp", "--help"] => NATIVE_MCP,
                _ => NATIVE_MCP_ADD,
            }
            .to_owned())
        })?;
        let seen = |present| Observation {
            present,
            value: None,
            source: "scenario slash_mcp, access log".to_owned(),
            evidence: "#1 POST / server/discover -> 401".to_owned(),
            observed_at: 1,
        };
        cache.record(&[
            (Feature::ServerDiscoverFirst, seen(true)),
            (Feature::McpLogin, seen(false)),
        ])?;
        let features = cache.load()?.expect("the cache exists");
        assert_eq!(features.has(Feature::ServerDiscoverFirst), Some(true));
        assert_eq!(features.has(Feature::McpLogin), Some(true));
        assert_eq!(features.has(Feature::ToolSearchDeferral), None);
        Ok(())
    }

    #[test]
    fn help_commands_skips_examples_and_wrapped_descriptions() {
        assert_eq!(
            help_commands(NATIVE_MCP),
            [
                "add",
                "add-from-claude-desktop",
                "add-json",
                "get",
                "help",
                "list",
                "login",
                "logout",
                "remove",
                "reset-project-choices",
                "serve"
            ]
        );
    }
}
