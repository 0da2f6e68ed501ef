//! The Claude Code CLI as a client under test.
//!
//! Wording differs across versions (2.1.81–2.1.210: "needs authentication", "1. Authenticate",
//! "Authentication successful. Connected to <name>."; 2.1.331: "needs sign-in", "Authenticate",
//! "Signed in and connected to <name>."), so screens are matched on any of the known phrasings and
//! features are detected from the CLI's own help, never from version ranges.

use std::cell::OnceCell;
use std::time::Duration;

use crate::browser::ScriptedBrowser;
use crate::client::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, RunEnv, ServerStatus,
    STARTUP_TIMEOUT,
};
use crate::command::{CommandOutput, CommandSpec};
use crate::features::{self, Feature, FeatureCache, Features};
use crate::terminal::{Key, TerminalSession};
use crate::versions::InstalledVersion;

/// Terminal size for interactive runs: wide enough that URLs and menu lines are not cut.
const ROWS: u16 = 50;
const COLS: u16 = 200;

/// Bound on a non-interactive subcommand (`mcp add`, `mcp list`, `--help`).
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the whole OAuth round trip once consent is given.
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the client opening the browser after it is asked to authenticate.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on a menu reacting to a key.
const MENU_TIMEOUT: Duration = Duration::from_secs(15);

const NEEDS_AUTH_WORDS: &[&str] = &["needs authentication", "needs sign-in", "needs auth"];
const AUTH_SUCCESS_WORDS: &[&str] = &[
    "signed in and connected",
    "authentication successful",
    "authenticated with",
    "successfully authenticated",
];
const AUTH_FAILURE_WORDS: &[&str] = &[
    "reconnection failed",
    "authentication failed",
    "failed to authenticate",
    "sign-in failed",
    "error:",
];

pub struct ClaudeCode {
    install: InstalledVersion,
    features: OnceCell<Features>,
}

impl ClaudeCode {
    pub fn new(install: InstalledVersion) -> ClaudeCode {
        ClaudeCode {
            install,
            features: OnceCell::new(),
        }
    }

    pub fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn command(&self, env: &RunEnv<'_>, args: &[&str]) -> CommandSpec {
        let mut spec = self.install.command(args.iter().map(|a| (*a).to_owned()));
        spec.envs(&env.sandbox.client_env(&env.model_api_url))
            .cwd(env.sandbox.work_dir());
        spec
    }

    fn run(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandOutput, DriveError> {
        let spec = self.command(env, args);
        let out = spec.run(SUBCOMMAND_TIMEOUT)?;
        if out.timed_out || out.status != Some(0) {
            return Err(DriveError::Failed {
                command: spec.shell_line(),
                status: if out.timed_out {
                    format!("no answer within {} s", SUBCOMMAND_TIMEOUT.as_secs())
                } else {
                    format!("exit {:?}", out.status)
                },
                output: format!("{}{}", out.stdout, out.stderr),
            });
        }
        Ok(out)
    }

    /// What this version can do: probed from its help once, cached in the version store.
    pub fn features(&self) -> Result<&Features, DriveError> {
        if let Some(found) = self.features.get() {
            return Ok(found);
        }
        let found = features::features_of(&self.install)
            .map_err(|e| DriveError::Setup(format!("feature probe: {e}")))?;
        Ok(self.features.get_or_init(|| found))
    }

    /// Whether `--debug-file` exists in this version (where it does, the CLI's own log is kept as
    /// evidence beside the access log).
    pub fn supports_debug_file(&self, _env: &RunEnv<'_>) -> Result<bool, DriveError> {
        Ok(self.features()?.has(Feature::DebugFile) == Some(true))
    }

    /// A feature's absence as the evidence a not-applicable verdict carries.
    fn absent(&self, feature: Feature, seen: &features::Observation) -> Absent {
        let probed = self
            .features
            .get()
            .map(|f| features::format_epoch(f.probed_at))
            .unwrap_or_default();
        Absent {
            evidence: format!(
                "{} ({}, probed {probed}, cached in {}): {}",
                feature.key(),
                seen.source,
                FeatureCache::for_install(&self.install).path().display(),
                seen.evidence
            ),
        }
    }

    fn select_menu_line(
        session: &mut TerminalSession,
        what: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Result<(), DriveError> {
        // The menu marks the selected line with a pointer; move it down until it sits on the
        // wanted line. A menu has few entries, so a small bound is enough.
        for _ in 0..12 {
            let screen = session.screen();
            let selected = screen
                .lines()
                .find(|l| l.contains('❯') && !l.trim_start().starts_with("❯ /"))
                .unwrap_or("");
            if matches(selected) {
                return Ok(());
            }
            let before = screen.clone();
            session.press(Key::Down)?;
            session.wait_for(what, MENU_TIMEOUT, |s| s != before)?;
        }
        Err(DriveError::Terminal(
            crate::terminal::TerminalError::Timeout {
                what: what.to_owned(),
                secs: 0.0,
                screen: session.screen(),
            },
        ))
    }
}

fn contains_any(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w))
}

impl ClientUnderTest for ClaudeCode {
    fn name(&self) -> &'static str {
        "claude-code"
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        self.run(
            env,
            &[
                "mcp",
                "add",
                "--transport",
                "http",
                "-s",
                "user",
                server,
                url,
            ],
        )?;
        Ok(())
    }

    fn server_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError> {
        let out = self.run(env, &["mcp", "list"])?;
        let prefix = format!("{server}:");
        let Some(line) = out
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&prefix))
        else {
            return Ok(ServerStatus::Unrecognised(out.stdout));
        };
        let line = line.trim().to_owned();
        let lower = line.to_lowercase();
        Ok(if contains_any(&lower, NEEDS_AUTH_WORDS) {
            ServerStatus::NeedsAuth(line)
        } else if lower.contains("connected") && !lower.contains("not connected") {
            ServerStatus::Connected(line)
        } else if lower.contains("failed") {
            ServerStatus::Failed(line)
        } else {
            ServerStatus::Unrecognised(line)
        })
    }

    fn has_login_path(
        &self,
        _env: &RunEnv<'_>,
        path: LoginPath,
    ) -> Result<Result<(), Absent>, DriveError> {
        match path {
            // Every version with HTTP transport has the `/mcp` menu; a version with it that lacks
            // the menu fails the scenario at the menu, which is the honest outcome. A version
            // whose own help shows no HTTP transport cannot be given the server at all.
            LoginPath::SlashMcp => match self.features()?.get(Feature::HttpTransport) {
                Some(seen) if !seen.present => Ok(Err(self.absent(Feature::HttpTransport, seen))),
                _ => Ok(Ok(())),
            },
            LoginPath::LoginCommand => {
                match self.features()?.get(Feature::McpLogin) {
                    Some(seen) if seen.present => Ok(Ok(())),
                    Some(seen) => Ok(Err(self.absent(Feature::McpLogin, seen))),
                    // Help that does not list commands proves nothing: try, and let it fail.
                    None => Ok(Ok(())),
                }
            }
        }
    }

    fn start_session(&self, env: &RunEnv<'_>) -> Result<TerminalSession, DriveError> {
        let debug_log = env.sandbox.root().join("claude-debug.log");
        let mut args: Vec<String> = Vec::new();
        if self.supports_debug_file(env)? {
            args.push("--debug-file".into());
            args.push(debug_log.to_string_lossy().into_owned());
        }
        let mut spec = self.install.command(args);
        spec.envs(&env.sandbox.client_env(&env.model_api_url))
            .cwd(env.sandbox.work_dir());
        let mut session = TerminalSession::spawn(&spec, ROWS, COLS)?;
        session.wait_for_any(
            "the session's first screen",
            STARTUP_TIMEOUT,
            &["Claude Code"],
        )?;
        Ok(session)
    }

    fn authenticate_in_session(
        &self,
        session: &mut TerminalSession,
        server: &str,
        browser: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError> {
        // Keys typed before the prompt is ready are lost, so retype until the menu opens.
        let mut opened = false;
        for _attempt in 0..4 {
            session.type_text("/mcp")?;
            session.wait_for("`/mcp` to appear in the prompt", MENU_TIMEOUT, |s| {
                s.contains("/mcp")
            })?;
            session.press(Key::Enter)?;
            let menu = session.wait_for("the MCP server menu", Duration::from_secs(5), |s| {
                s.contains(server)
                    && contains_any(s, NEEDS_AUTH_WORDS)
                    && s.to_lowercase().contains("mcp server")
            });
            if menu.is_ok() {
                opened = true;
                break;
            }
            session.press(Key::Escape)?;
            // Clear whatever is left in the prompt.
            session.type_text("\x15")?;
        }
        if !opened {
            session.wait_for(
                "the MCP server menu listing the server as needing authentication",
                MENU_TIMEOUT,
                |s| s.contains(server) && contains_any(s, NEEDS_AUTH_WORDS),
            )?;
        }
        Self::select_menu_line(session, "the server's line in the /mcp menu", |l| {
            l.contains(server)
        })?;
        session.press(Key::Enter)?;
        session.wait_for(
            "the server's menu offering Authenticate",
            MENU_TIMEOUT,
            |s| s.contains("Authenticate"),
        )?;
        Self::select_menu_line(session, "the Authenticate entry", |l| {
            l.contains("Authenticate")
        })?;
        session.press(Key::Enter)?;
        let url = browser.wait_for_url(BROWSER_TIMEOUT)?;
        let consent = browser.complete_consent(&url)?;
        let mut words: Vec<&str> = AUTH_SUCCESS_WORDS.to_vec();
        words.extend_from_slice(AUTH_FAILURE_WORDS);
        let seen = session.wait_for_any(
            "the client to report the authentication's result",
            AUTH_TIMEOUT,
            &words,
        )?;
        let succeeded = AUTH_SUCCESS_WORDS.contains(&seen.as_str());
        let client_message = session
            .screen()
            .lines()
            .find(|l| l.to_lowercase().contains(&seen))
            .map(|l| l.trim().trim_start_matches('⎿').trim().to_owned())
            .unwrap_or(seen);
        Ok(AuthOutcome {
            consent,
            client_message,
            succeeded,
        })
    }

    fn login_command(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        browser: &mut ScriptedBrowser,
    ) -> Result<(AuthOutcome, String), DriveError> {
        if let Err(absent) = self.has_login_path(env, LoginPath::LoginCommand)? {
            return Err(DriveError::NoSuchPath {
                path: "login-command",
                evidence: absent.evidence,
            });
        }
        let spec = self.command(env, &["mcp", "login", server]);
        // `mcp login` refuses to run without a terminal.
        let mut session = TerminalSession::spawn(&spec, ROWS, COLS)?;
        let url = browser.wait_for_url(BROWSER_TIMEOUT)?;
        let consent = browser.complete_consent(&url)?;
        let mut words: Vec<&str> = AUTH_SUCCESS_WORDS.to_vec();
        words.extend_from_slice(AUTH_FAILURE_WORDS);
        let seen =
            session.wait_for_any("`mcp login` to report its result", AUTH_TIMEOUT, &words)?;
        let succeeded = AUTH_SUCCESS_WORDS.contains(&seen.as_str());
        let status = session.wait_exit(Duration::from_secs(20))?;
        let screen = session.screen();
        let client_message = screen
            .lines()
            .find(|l| l.to_lowercase().contains(&seen))
            .map(|l| l.trim().to_owned())
            .unwrap_or(seen);
        Ok((
            AuthOutcome {
                consent,
                client_message,
                succeeded,
            },
            format!("{status}\n{screen}"),
        ))
    }
}
