//! Google's Gemini CLI as a client under test.
//!
//! Gemini CLI has no `mcp login` command and no authenticate pseudo-tool: a server is signed in
//! from inside the TUI with `/mcp auth <server>` (the harness's [`LoginPath::SlashMcp`]), or, in
//! `-p` mode, by answering the `[Y/n]` question it asks when a server needs authentication.
//!
//! The server is configured in `~/.gemini/settings.json` (written by the harness, with the
//! start-up dialogs answered); tokens live in `~/.gemini/mcp-oauth-tokens.json` because
//! `GEMINI_FORCE_FILE_STORAGE` keeps them out of a keychain. The browser is opened only through
//! `xdg-open`: the sandbox's shim of that name, first on PATH, hands the URL to the scripted
//! browser.
//!
//! At start-up a session whose server needs authentication asks "Authentication required for MCP
//! Server: 'mock.' … Do you want to continue?". The driver answers **No** there, so the session
//! starts as a person's would who signs in later, and the login is then the in-session command
//! `/mcp auth mock` with its own Yes/No box: the path the scenarios name "slash-mcp".

pub mod package;

pub use package::PACKAGE;

use std::cell::OnceCell;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::clients::kind::ClientKind;
use crate::clients::oauth_token_file;
use crate::clients::settings_file;
use crate::clients::ModelWire;
use crate::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, NeedsAuthState, PrintOutcome,
    RunEnv, ServerStatus, SessionOptions, Step, STARTUP_TIMEOUT,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::command::{CommandOutput, CommandSpec};
use crate::drive::terminal::{Key, TerminalSession};
use crate::store::versions::InstalledVersion;

/// Terminal size for interactive runs: wide enough that URLs and boxes are not cut.
const ROWS: u16 = 50;
const COLS: u16 = 200;

/// The model every run asks for (the scripted model answers any name).
const MODEL: &str = "gemini-2.5-flash";

/// Bound on a non-interactive subcommand (`mcp list`, `--help`).
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the whole OAuth round trip once consent is given.
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the client opening the browser after it is asked to authenticate.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on a box or menu reacting to a key.
const MENU_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a new session is given to ask its start-up authentication question.
const STARTUP_QUESTION_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on a whole print-mode (`-p`) run.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

/// Relative to HOME.
const SETTINGS: &str = ".gemini/settings.json";
const TOKENS: &str = ".gemini/mcp-oauth-tokens.json";

/// The input line of an idle TUI.
const PROMPT_LINE: &str = "Type your message";
/// The question a session asks at start-up when a server needs authentication.
const STARTUP_QUESTION: &str = "Authentication required for MCP Server";
/// What `/mcp auth <server>` prints first.
const AUTH_STARTED: &str = "Starting OAuth authentication";

const AUTH_SUCCESS_WORDS: &[&str] = &["successfully authenticated"];
/// The line that ends a `/mcp auth`: "Successfully authenticated and reloaded tools for 'mock'"
/// (0.61.0), "… and refreshed tools for 'mock'." (0.31.0).
const AUTH_DONE_WORDS: &[&str] = &["reloaded tools for", "refreshed tools for"];
const AUTH_FAILURE_WORDS: &[&str] = &[
    "failed to authenticate",
    "authentication failed",
    "oauth error",
    "error during authentication",
    "error during discovery",
];

/// Gemini CLI in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "gemini-cli",
    summary: "Google's Gemini CLI (Gemini API, streamGenerateContent)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::SlashMcp, LoginPath::AutomaticAtConnect],
    model_wire: ModelWire::Gemini,
    configured_by: "~/.gemini/settings.json, written directly (`mcpServers` with `oauth.enabled`)",
    token_store: ".gemini/mcp-oauth-tokens.json (GEMINI_FORCE_FILE_STORAGE=true)",
    make: |install| Box::new(GeminiCli::new(install)),
    features: None,
    reference: false,
};

pub struct GeminiCli {
    install: InstalledVersion,
    /// `gemini --help`, read once.
    help: OnceCell<String>,
}

fn contains_any(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w))
}

/// The settings every run starts from: API-key auth (the key only reaches the model stand-in),
/// no folder trust dialog, no update checks, no telemetry, no IDE nudge, no tips or banner.
fn base_settings() -> Value {
    json!({
        "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
        "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "ide": {"enabled": false, "hasSeenNudge": true},
        "ui": {"theme": "Default", "hideTips": true, "hideBanner": true},
        "mcpServers": {},
    })
}

/// The line of `text` holding `needle` (case-insensitive), trimmed of box borders.
fn line_with(text: &str, needle: &str) -> Option<String> {
    let needle = needle.to_lowercase();
    text.lines()
        .find(|l| l.to_lowercase().contains(&needle))
        .map(|l| {
            l.trim()
                .trim_matches(|c| c == '│' || c == '┃' || c == '║')
                .trim()
                .trim_start_matches(['ℹ', '✕', '⚠'])
                .trim()
                .to_owned()
        })
}

impl GeminiCli {
    pub fn new(install: InstalledVersion) -> GeminiCli {
        GeminiCli {
            install,
            help: OnceCell::new(),
        }
    }

    fn settings_path(env: &RunEnv<'_>) -> PathBuf {
        env.sandbox.home().join(SETTINGS)
    }

    fn tokens_path(env: &RunEnv<'_>) -> PathBuf {
        env.sandbox.home().join(TOKENS)
    }

    fn write_settings(env: &RunEnv<'_>, settings: &Value) -> Result<(), DriveError> {
        settings_file::write(&Self::settings_path(env), settings)
    }

    /// The sandbox's environment (its `xdg-open` shim first on PATH, `DISPLAY` set, `CI` and
    /// `DEBIAN_FRONTEND` never set: either makes the CLI refuse to open a browser), with what
    /// Gemini CLI needs: its key and model URL, file token storage, no relaunch into a child
    /// process.
    fn client_env(&self, env: &RunEnv<'_>) -> Result<Vec<(String, String)>, DriveError> {
        let mut vars = env.sandbox.client_env();
        for (k, v) in [
            ("GEMINI_API_KEY", "x".to_owned()),
            ("GOOGLE_GEMINI_BASE_URL", env.model_api_url.clone()),
            ("GEMINI_FORCE_FILE_STORAGE", "true".to_owned()),
            ("GEMINI_CLI_NO_RELAUNCH", "true".to_owned()),
        ] {
            vars.retain(|(key, _)| key != k);
            vars.push((k.to_owned(), v));
        }
        Ok(vars)
    }

    fn command(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandSpec, DriveError> {
        // Settings are read at start-up; make sure they exist even before a server is added.
        if !Self::settings_path(env).is_file() {
            Self::write_settings(env, &base_settings())?;
        }
        let mut spec = self.install.command(args.iter().map(|a| (*a).to_owned()));
        spec.envs(&self.client_env(env)?)
            .cwd(env.sandbox.work_dir());
        Ok(spec)
    }

    fn run(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandOutput, DriveError> {
        let spec = self.command(env, args)?;
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

    /// `gemini --help` of this version, read once.
    fn help(&self, env: &RunEnv<'_>) -> Result<&str, DriveError> {
        if let Some(help) = self.help.get() {
            return Ok(help);
        }
        let out = self.run(env, &["--help"])?;
        Ok(self
            .help
            .get_or_init(|| format!("{}{}", out.stdout, out.stderr)))
    }

    /// `--skip-trust` where this version has it (0.30 and earlier do not; folder trust is off in
    /// the settings anyway).
    fn trust_args(&self, env: &RunEnv<'_>) -> Result<Vec<&'static str>, DriveError> {
        Ok(if self.help(env)?.contains("--skip-trust") {
            vec!["--skip-trust"]
        } else {
            Vec::new()
        })
    }

    /// Answers the start-up "Authentication required … Do you want to continue?" box with No,
    /// when it comes; the login is `/mcp auth` afterwards.
    fn decline_startup_question(
        &self,
        session: &mut TerminalSession,
        wait: Duration,
    ) -> Result<(), DriveError> {
        let asked = session.wait_for("the start-up authentication question", wait, |s| {
            s.contains(STARTUP_QUESTION)
        });
        if asked.is_err() {
            return Ok(());
        }
        for _ in 0..4 {
            let screen = settled_screen(session);
            if !screen.contains(STARTUP_QUESTION) {
                return Ok(());
            }
            if selected_line(&screen).is_some_and(|l| l.contains("No")) {
                session.press(Key::Enter)?;
                let closed = session.wait_for(
                    "the start-up question to close",
                    Duration::from_secs(5),
                    |s| !s.contains(STARTUP_QUESTION),
                );
                if closed.is_ok() {
                    return Ok(());
                }
            } else {
                session.press(Key::Down)?;
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        Err(DriveError::Unexpected {
            what: "could not answer No to the start-up authentication question".to_owned(),
            detail: session.screen(),
        })
    }

    /// Waits for the idle input line.
    fn wait_idle(&self, session: &mut TerminalSession, what: &str) -> Result<(), DriveError> {
        session.wait_for(what, STARTUP_TIMEOUT, |s| s.contains(PROMPT_LINE))?;
        Ok(())
    }

    /// Types a slash command and submits it once its completion menu has caught up: an Enter
    /// while the menu still lists commands for the bare `/` takes the highlighted one (`/clear`,
    /// seen once as `/mcp auth clear`). `answered` says the command was taken.
    fn slash_command(
        &self,
        session: &mut TerminalSession,
        command: &str,
        answered: impl Fn(&str) -> bool,
    ) -> Result<(), DriveError> {
        let mut typed = false;
        for _attempt in 0..5 {
            session.type_text(command)?;
            if session
                .wait_for(
                    "the command in the input box",
                    Duration::from_secs(4),
                    |s| s.contains(command),
                )
                .is_ok()
            {
                typed = true;
                break;
            }
            session.type_text("\x15")?;
        }
        if !typed {
            return Err(DriveError::Unexpected {
                what: format!("{command:?} never showed in the input box"),
                detail: session.screen(),
            });
        }
        let _ = session.wait_for(
            "the completion menu to catch up",
            Duration::from_secs(5),
            |s| !s.contains("Loading suggestions") && !s.contains("Clear the screen"),
        );
        settled_screen(session);
        for _ in 0..3 {
            session.press(Key::Enter)?;
            if session
                .wait_for("the command to be taken", Duration::from_secs(3), |s| {
                    answered(s)
                })
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(DriveError::Unexpected {
            what: format!("the session did not take {command:?}"),
            detail: session.screen(),
        })
    }
}

/// What the screen says about the latest `/mcp auth`: its success line, its error lines (`✕`),
/// and its reload line.
struct AuthResult {
    success: Option<String>,
    errors: Vec<String>,
    reloaded: Option<String>,
}

impl AuthResult {
    fn text(&self) -> String {
        let mut parts: Vec<String> = self.success.iter().cloned().collect();
        parts.extend(self.errors.iter().cloned());
        parts.extend(self.reloaded.iter().cloned());
        if parts.is_empty() {
            "(the client printed no result)".to_owned()
        } else {
            parts.join(" / ")
        }
    }
}

/// The screen from the latest "Starting OAuth authentication" line on (all of it when there is
/// none).
fn since_auth_started(screen: &str) -> &str {
    screen
        .rfind(AUTH_STARTED)
        .map_or(screen, |at| &screen[at..])
}

fn auth_result(screen: &str) -> AuthResult {
    let clean = |l: &str| line_with(l, "").unwrap_or_default();
    let tail: Vec<&str> = since_auth_started(screen).lines().collect();
    let done = |l: &str| contains_any(l, AUTH_DONE_WORDS);
    AuthResult {
        success: tail
            .iter()
            .find(|l| contains_any(l, AUTH_SUCCESS_WORDS) && !done(l))
            .map(|l| clean(l)),
        errors: tail
            .iter()
            .filter(|l| l.trim_start().starts_with('✕') || contains_any(l, AUTH_FAILURE_WORDS))
            .map(|l| clean(l))
            .collect(),
        reloaded: tail.iter().find(|l| done(l)).map(|l| clean(l)),
    }
}

/// The line marked selected (`●`) in a Yes/No box.
fn selected_line(screen: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.contains('●') && (l.contains("1.") || l.contains("2.")))
        .map(|l| l.trim().to_owned())
}

/// The screen once it has not changed for a moment (at most a few seconds: a spinner may never
/// stop).
fn settled_screen(session: &TerminalSession) -> String {
    const QUIET: Duration = Duration::from_millis(400);
    const BOUND: Duration = Duration::from_secs(3);
    let started = Instant::now();
    let mut screen = session.screen();
    let mut since = Instant::now();
    while since.elapsed() < QUIET && started.elapsed() < BOUND {
        std::thread::sleep(Duration::from_millis(50));
        let now = session.screen();
        if now != screen {
            screen = now;
            since = Instant::now();
        }
    }
    screen
}

impl ClientUnderTest for GeminiCli {
    fn name(&self) -> &'static str {
        "gemini-cli"
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        match step {
            Step::AddServer { server, url, .. } => format!(
                "# ~/.gemini/settings.json: mcpServers.{server} = {{\"httpUrl\": \"{url}\", \"oauth\": {{\"enabled\": true}}, \"trust\": true}}"
            ),
            Step::ServerStatus => "gemini mcp list".to_owned(),
            Step::LoginCommand { .. } => "# Gemini CLI has no login command".to_owned(),
            Step::InSessionLogin { server, then, .. } => format!(
                "gemini --yolo    # answer No at start-up, then: /mcp auth {server}{}",
                if then.is_empty() {
                    String::new()
                } else {
                    format!("; {then}")
                }
            ),
            Step::SessionPrompt { prompt, .. } => format!("gemini --yolo    # then type: {prompt}"),
            Step::Print { prompt, .. } => {
                format!("gemini -p '{prompt}' -m gemini-2.5-flash --yolo -o json")
            }
        }
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        let path = Self::settings_path(env);
        settings_file::add_http_server(
            &path,
            base_settings,
            server,
            url,
            settings_file::oauth(None, None),
        )
    }

    /// settings.json's `oauth` block takes `clientId` and `clientSecret`, and no callback port.
    fn add_http_server_with_client_id(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        client_id: &str,
        _callback_port: u16,
    ) -> Result<(), DriveError> {
        let oauth = settings_file::oauth(Some(client_id), None);
        settings_file::add_http_server(&Self::settings_path(env), base_settings, server, url, oauth)
    }

    fn add_http_server_with_client_secret(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        client_id: &str,
        client_secret: &str,
        _callback_port: u16,
    ) -> Result<(), DriveError> {
        let oauth = settings_file::oauth(Some(client_id), Some(client_secret));
        settings_file::add_http_server(&Self::settings_path(env), base_settings, server, url, oauth)
    }

    fn add_http_server_with_header(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        header: &str,
        value: &str,
    ) -> Result<(), DriveError> {
        // settings.json's `headers` of an `httpUrl` server, and no `oauth` block: what a user
        // writes for a server with an API key.
        let headers = json!({"headers": {header: value}});
        settings_file::add_http_server(
            &Self::settings_path(env),
            base_settings,
            server,
            url,
            headers,
        )
    }

    fn server_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError> {
        let out = self.run(env, &["mcp", "list"])?;
        let text = format!("{}{}", out.stdout, out.stderr);
        let prefix = format!("{server}:");
        let Some(at) = text.lines().position(|l| {
            l.trim_start()
                .trim_start_matches(['✓', '✗', '…', ' '])
                .starts_with(&prefix)
        }) else {
            return Ok(ServerStatus::Unrecognised(text));
        };
        let line = text.lines().nth(at).unwrap_or_default().trim().to_owned();
        // 0.61.0 says why on a line of its own, before the list: "MCP server 'mock' requires
        // authentication using: /mcp auth mock".
        let hint = line_with(&text, &format!("'{server}' requires authentication"));
        let lower = line.to_lowercase();
        Ok(if let Some(hint) = hint {
            ServerStatus::NeedsAuth(format!("{hint} / {line}"))
        } else if lower.contains("- connected") {
            ServerStatus::Connected(line)
        } else if lower.contains("disconnected") {
            ServerStatus::Failed(line)
        } else {
            ServerStatus::Unrecognised(line)
        })
    }

    fn has_login_path(
        &self,
        env: &RunEnv<'_>,
        path: LoginPath,
    ) -> Result<Result<(), Absent>, DriveError> {
        match path {
            // The header is written into the config; whether the driver can is the writer's answer.
            LoginPath::StaticHeader => Ok(Ok(())),
            LoginPath::SlashMcp => Ok(Ok(())),
            // With `oauth.enabled` a headless run asks "[Y/n]" and signs in by itself (print mode
            // answers it).
            LoginPath::AutomaticAtConnect => Ok(Ok(())),
            LoginPath::LoginCommand => {
                let out = self.run(env, &["mcp", "--help"])?;
                let help = format!("{}{}", out.stdout, out.stderr);
                let commands: Vec<&str> = help
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("gemini mcp "))
                    .map(|l| l.split("  ").next().unwrap_or(l).trim())
                    .collect();
                if commands
                    .iter()
                    .any(|l| l.starts_with("gemini mcp login") || l.starts_with("gemini mcp auth"))
                {
                    return Err(DriveError::Unexpected {
                        what: "this version lists a login command the driver does not know"
                            .to_owned(),
                        detail: help,
                    });
                }
                Ok(Err(Absent {
                    evidence: format!(
                        "`gemini mcp --help` ({}) lists no login command: {}",
                        self.install.version,
                        commands.join("; ")
                    ),
                }))
            }
            // Whether the model is offered an authenticate pseudo-tool shows in a live session's
            // model requests: the agent scenarios earn "not applicable" there, with the request
            // as evidence (a claim made here would be no evidence at all).
            LoginPath::AuthenticateTool | LoginPath::PastedCallback => Ok(Ok(())),
        }
    }

    fn start_session_with(
        &self,
        env: &RunEnv<'_>,
        _options: &SessionOptions,
    ) -> Result<TerminalSession, DriveError> {
        // `--yolo` allows every tool call (`trust: true` on the server does too): the scenarios
        // are about OAuth, not permission prompts.
        let mut args = vec!["-m", MODEL, "--yolo"];
        args.extend(self.trust_args(env)?);
        let spec = self.command(env, &args)?;
        let mut session = TerminalSession::spawn(&spec, ROWS, COLS)?;
        // 0.61.0 draws the input line first and asks over it; 0.31.0 asks before the input line
        // is drawn.
        session.wait_for(
            "the session's input line or its start-up question",
            STARTUP_TIMEOUT,
            |s| s.contains(PROMPT_LINE) || s.contains(STARTUP_QUESTION),
        )?;
        // The question is expected when the token file has no usable token for the server (the
        // client's own rule, as `needs_auth_state` reads it); it is looked for briefly otherwise,
        // since a stored token the server refuses can bring it too.
        let expected = self
            .needs_auth_state(env, crate::scenarios::steps::SERVER_NAME)?
            .names_server;
        let wait = if expected {
            STARTUP_QUESTION_TIMEOUT
        } else {
            Duration::from_secs(3)
        };
        self.decline_startup_question(&mut session, wait)?;
        self.wait_idle(&mut session, "the session's input line")?;
        Ok(session)
    }

    fn send_prompt(&self, session: &mut TerminalSession, text: &str) -> Result<(), DriveError> {
        // Keys typed before the input box is ready are dropped: retype until the text shows.
        let probe: String = text.chars().take(40).collect();
        for _attempt in 0..5 {
            session.type_text(text)?;
            let shown = session.wait_for(
                "the prompt text in the input box",
                Duration::from_secs(4),
                |s| s.contains(&probe),
            );
            if shown.is_ok() {
                // A slash command's completion menu may take the first Enter.
                std::thread::sleep(Duration::from_millis(300));
                session.press(Key::Enter)?;
                return Ok(());
            }
            // Ctrl-U clears the line.
            session.type_text("\x15")?;
        }
        Err(DriveError::Unexpected {
            what: format!("the prompt {probe:?} never showed in the input box"),
            detail: session.screen(),
        })
    }

    fn allow_pending_tool_call(
        &self,
        _session: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError> {
        // Sessions run with `--yolo` and the server is trusted: nothing asks.
        Ok(None)
    }

    fn exit_session(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        let _ = self.slash_command(session, "/quit", |_| true);
        if session.wait_exit(Duration::from_secs(10)).is_err() {
            session.type_text("\x03")?;
            session.type_text("\x03")?;
            if session.wait_exit(Duration::from_secs(5)).is_err() {
                session.terminate();
            }
        }
        Ok(())
    }

    fn mcp_tool_name(&self, server: &str, tool: &str) -> String {
        // The canonical name the model stand-in uses for every client; Gemini's wire name
        // `mcp_<server>_<tool>` is mapped to it (mock-server's model_api/naming.rs).
        format!("mcp__{server}__{tool}")
    }

    fn needs_auth_state(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<NeedsAuthState, DriveError> {
        Ok(oauth_token_file::needs_auth_state(
            &Self::tokens_path(env),
            TOKENS,
            server,
        ))
    }

    fn plant_needs_auth(&self, env: &RunEnv<'_>, server: &str) -> Result<(), DriveError> {
        // The state that makes Gemini CLI treat the server as needing authentication: its stored
        // token removed.
        oauth_token_file::remove_token(&Self::tokens_path(env), server)
    }

    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        prompt: &str,
        _options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        let mut args = vec!["-p", prompt, "-m", MODEL, "--yolo", "-o", "json"];
        args.extend(self.trust_args(env)?);
        let spec = crate::drive::command::launch(&self.command(env, &args)?);
        crate::console::command(&spec.shell_line());
        // stdin stays an open pipe with nothing on it: the CLI asks `[Y/n]` there when the server
        // needs authentication (and waits forever on a closed one), and it reads anything written
        // before the question as more prompt, until end of input. So the answer is written only
        // once the question shows on stdout.
        let mut cmd = std::process::Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().cloned())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(cwd) = &spec.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| DriveError::Setup(format!("cannot start `{}`: {e}", spec.shell_line())))?;
        let mut stdin = child.stdin.take();
        type Sink = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;
        let collect = |pipe: Option<Box<dyn Read + Send>>, sink: Sink| {
            std::thread::spawn(move || {
                let Some(mut pipe) = pipe else { return };
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&buf[..n]);
                }
            })
        };
        let out_sink: Sink = Default::default();
        let err_sink: Sink = Default::default();
        let out_thread = collect(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            out_sink.clone(),
        );
        let err_thread = collect(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            err_sink.clone(),
        );
        let text_of = |sink: &Sink| {
            String::from_utf8_lossy(&sink.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
        };
        let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
        browser.skip_logged();
        let started = Instant::now();
        let mut answered = false;
        let mut consented: Option<String> = None;
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| DriveError::Setup(e.to_string()))?
            {
                break Some(status);
            }
            if started.elapsed() >= PRINT_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            if !answered && text_of(&out_sink).contains("[Y/n]") {
                // The harness is the person at the prompt, and says yes, as the question asks.
                if let Some(pipe) = stdin.as_mut() {
                    let _ = pipe.write_all(b"y\n");
                    let _ = pipe.flush();
                }
                answered = true;
            }
            if answered && consented.is_none() {
                if let Ok(url) = browser.wait_for_url(Duration::from_millis(10)) {
                    consented = Some(match browser.complete_consent(&url) {
                        Ok(c) => format!("consent redirected to {}", c.callback_url),
                        Err(e) => format!("the scripted browser could not consent: {e}"),
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        drop(stdin);
        let _ = out_thread.join();
        let _ = err_thread.join();
        let stdout = text_of(&out_sink);
        let stderr = text_of(&err_sink);
        let Some(status) = status else {
            return Err(DriveError::Timeout {
                what: format!("`{}` to finish", spec.shell_line()),
                secs: PRINT_TIMEOUT.as_secs_f64(),
                detail: format!("{stdout}{stderr}"),
            });
        };
        // The JSON result is the last thing on stdout (warnings and the [Y/n] question may come
        // before it).
        let parsed = stdout
            .match_indices('{')
            .filter(|(i, _)| *i == 0 || stdout[..*i].ends_with('\n'))
            .find_map(|(i, _)| serde_json::from_str::<Value>(stdout[i..].trim()).ok());
        let called = parsed.as_ref().and_then(|v| {
            v.pointer("/stats/tools/byName")
                .and_then(Value::as_object)
                .map(|m| {
                    m.keys()
                        .filter(|k| k.starts_with(&format!("mcp_{server}_")))
                        .cloned()
                        .collect::<Vec<_>>()
                })
        });
        let asked = stdout.contains(STARTUP_QUESTION);
        // Gemini's -p output has no per-server status; the question is its own word that the
        // server was not connected with what was stored.
        let server_status = if asked {
            Some("needs-auth".to_owned())
        } else if parsed.is_some() {
            Some("connected".to_owned())
        } else {
            None
        };
        let first_line = if asked {
            format!(
                "{} → answered y; {}",
                line_with(&stdout, STARTUP_QUESTION).unwrap_or_default(),
                consented.unwrap_or_else(|| "the browser was not opened".to_owned())
            )
        } else {
            format!(
                "no authentication question; JSON result {}; server tools called: {}",
                if parsed.is_some() {
                    "printed"
                } else {
                    "missing"
                },
                called.map_or("(unknown)".to_owned(), |c| format!("[{}]", c.join(", ")))
            )
        };
        Ok(PrintOutcome {
            server_status,
            first_line,
            exit: format!("{:?}", status.code()),
            output: format!("{stdout}{stderr}"),
        })
    }

    fn authenticate_in_session(
        &self,
        session: &mut TerminalSession,
        server: &str,
        browser: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError> {
        let command = format!("/mcp auth {server}");
        self.slash_command(session, &command, |s| {
            contains_any(s, &[&AUTH_STARTED.to_lowercase(), "opening your browser"])
                || s.contains("not found")
        })?;
        if let Some(line) = line_with(&session.screen(), "not found") {
            return Err(DriveError::Unexpected {
                what: format!("`{command}` was refused"),
                detail: line,
            });
        }
        // The Yes/No box ("● 1. Yes" selected first): Enter is Yes. Some versions open the
        // browser at once.
        let boxed = session.wait_for(
            "the authentication's Yes/No box or the browser",
            MENU_TIMEOUT,
            |s| {
                selected_line(s).is_some_and(|l| l.contains("Yes"))
                    || s.contains("Opening your browser")
            },
        );
        if boxed.is_ok_and(|s| !s.contains("Opening your browser")) {
            session.press(Key::Enter)?;
        }
        let url = match browser.wait_for_url(BROWSER_TIMEOUT) {
            Ok(url) => url,
            Err(e) => {
                // The client's own message is the evidence when it gave up before the browser.
                let screen = session.screen();
                if let Some(line) = AUTH_FAILURE_WORDS
                    .iter()
                    .find_map(|w| line_with(&screen, w))
                {
                    return Ok(AuthOutcome {
                        consent: crate::drive::browser::ConsentOutcome {
                            authorize_url: String::new(),
                            callback_url: String::new(),
                            callback_status: 0,
                        },
                        client_message: line,
                        succeeded: false,
                    });
                }
                return Err(e.into());
            }
        };
        let consent = browser.complete_consent(&url)?;
        // 0.61.0 prints "✅ Successfully authenticated with MCP server 'mock'!", "Restarting MCP
        // server 'mock'...", then "Successfully authenticated and reloaded tools for 'mock'" —
        // the last even when the restart failed ("✕ Error during discovery for MCP server 'mock':
        // … HTTP 503" in between). So the result is read once the reload line (or a failure) is
        // there, and an error line after the start counts as a failure.
        // Only what follows this authentication's start counts: the screen may still show the
        // start-up attempt's errors ("✕ Error during discovery for MCP server 'mock': Failed to
        // handle automatic OAuth…", 0.31.0).
        let waited = session.wait_for(
            "the client to report the authentication's result",
            AUTH_TIMEOUT,
            |s| {
                let tail = since_auth_started(s);
                contains_any(tail, AUTH_DONE_WORDS) || contains_any(tail, AUTH_FAILURE_WORDS)
            },
        );
        let screen = settled_screen(session);
        let message = auth_result(&screen);
        if let Err(e) = waited {
            if message.success.is_none() && message.errors.is_empty() {
                return Err(e.into());
            }
        }
        Ok(AuthOutcome {
            consent,
            succeeded: message.success.is_some() && message.errors.is_empty(),
            client_message: message.text(),
        })
    }

    fn login_command(
        &self,
        env: &RunEnv<'_>,
        _server: &str,
        _browser: &mut ScriptedBrowser,
    ) -> Result<(AuthOutcome, String), DriveError> {
        let evidence = match self.has_login_path(env, LoginPath::LoginCommand)? {
            Err(absent) => absent.evidence,
            Ok(()) => "Gemini CLI has no login command".to_owned(),
        };
        Err(DriveError::NoSuchPath {
            path: "login-command",
            evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_between_the_success_and_the_reload_is_a_failure() {
        // 0.61.0, when the initialize after the token exchange got a 503.
        let screen = "ℹ Starting OAuth authentication for MCP server 'mock'...\n\
                      ℹ ✅ Successfully authenticated with MCP server 'mock'!\n\
                      ℹ Restarting MCP server 'mock'...\n\
                      ✕ Error during discovery for MCP server 'mock': Error POSTing to endpoint (HTTP 503)\n\
                      ℹ Successfully authenticated and reloaded tools for 'mock'\n";
        let result = auth_result(screen);
        assert!(result.success.is_some());
        assert_eq!(result.errors.len(), 1, "{}", result.text());
        assert!(result.text().contains("HTTP 503"));
        let clean = screen.replace("✕ Error during discovery for MCP server 'mock': Error POSTing to endpoint (HTTP 503)\n", "");
        let result = auth_result(&clean);
        assert!(result.errors.is_empty(), "{}", result.text());
        assert_eq!(
            result.success.as_deref(),
            Some("✅ Successfully authenticated with MCP server 'mock'!")
        );
    }

    #[test]
    fn errors_from_before_the_authentication_started_do_not_count() {
        // 0.31.0: the declined start-up attempt's errors stay on screen above `/mcp auth`.
        let screen = "✕ Error during discovery for MCP server 'mock': Failed to handle automatic OAuth for server 'mock'\n\
                      > /mcp auth mock\n\
                      ℹ Starting OAuth authentication for MCP server 'mock'...\n\
                      ℹ ✅ Successfully authenticated with MCP server 'mock'!\n\
                      ℹ Successfully authenticated and refreshed tools for 'mock'.\n";
        let result = auth_result(screen);
        assert!(result.errors.is_empty(), "{}", result.text());
        assert!(result.success.is_some() && result.reloaded.is_some());
        assert!(!contains_any(
            since_auth_started(screen),
            AUTH_FAILURE_WORDS
        ));
    }

    #[test]
    fn mcp_list_lines_are_read_with_their_hint() {
        let text = "Configured MCP servers:\n\nMCP server 'mock' requires authentication using: /mcp auth mock undefined\n✗ mock: http://127.0.0.1:1/ (http) - Disconnected\n";
        assert!(line_with(text, "'mock' requires authentication").is_some());
    }
}
