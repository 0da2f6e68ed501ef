//! Qwen Code (a fork of Gemini CLI) as a client under test.
//!
//! Qwen Code has no login command and no authenticate pseudo-tool: a server is signed in from the
//! TUI's `/mcp` dialog (server → **Authenticate**), the harness's [`LoginPath::SlashMcp`];
//! `/mcp auth <server>` only answers that OAuth "is now managed in the /mcp dialog" (0.24.4).
//! The callback listens on the fixed `localhost:7777/oauth/callback`, so two runs of this client
//! cannot share a network namespace (see [`KIND`]).
//!
//! The server is configured in `~/.qwen/settings.json` (written by the harness); tokens live in
//! `~/.qwen/mcp-oauth-tokens.json`, plain JSON in the same shape as Gemini CLI's. The browser is
//! opened through `BROWSER`, the sandbox's scripted browser.
//!
//! An interactive session whose server needs authentication starts OAuth by itself at start-up
//! (it opens the browser with no question). Sessions are started with `NO_BROWSER=true`, which
//! turns that start-up attempt off (the client's `isBrowserLaunchSuppressed`), so the session
//! starts as a person's would who signs in later; the `/mcp` dialog's Authenticate opens the
//! browser whatever `NO_BROWSER` says.
//!
//! The model speaks OpenAI Chat Completions (`OPENAI_BASE_URL`, `OPENAI_API_KEY`,
//! `OPENAI_MODEL`) and sees MCP tools only as deferred tools: it finds one with `tool_search`
//! and calls it with `tool_call {"name": …, "arguments": …}` (the model stand-in does both).

pub mod package;

pub use package::PACKAGE;

use std::cell::RefCell;
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
use crate::drive::browser::{ConsentOutcome, ScriptedBrowser};
use crate::drive::command::{CommandOutput, CommandSpec};
use crate::drive::terminal::{Key, TerminalSession};
use crate::store::versions::InstalledVersion;

/// Terminal size for interactive runs: wide enough that URLs and dialog lines are not cut.
const ROWS: u16 = 50;
const COLS: u16 = 200;

/// The model every run asks for (the scripted model answers any name; it is one the stand-in's
/// `GET /v1/models` lists).
const MODEL: &str = "mock-model";

/// Bound on a non-interactive subcommand (`mcp list`, `--help`): node start-up plus one connect
/// attempt per server, well under 10 s here.
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the whole OAuth round trip once consent is given (a token exchange and a
/// re-discovery against the local mock: seconds).
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the client opening the browser after Authenticate is chosen (discovery and
/// registration against the local mock first).
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on a dialog reacting to a key.
const MENU_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on a whole print-mode (`-p`) run: start-up, MCP discovery and a few model turns, all
/// local.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

/// The port of the OAuth callback, `localhost:7777/oauth/callback`: fixed in the client
/// (`OAUTH_REDIRECT_PORT`, 0.24.4), with no setting to change it.
const CALLBACK_PORT: u16 = 7777;

/// Bound on the callback server binding its port after the browser was opened. Qwen Code opens
/// the browser without waiting for its `listen` to complete (0.24.4), and while a new session's
/// start-up work keeps Node's thread pool busy the bind was seen to lag the scripted browser (its
/// redirect refused, 4 runs in 4 on a loaded machine); a person's browser is never that fast.
const CALLBACK_LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Relative to HOME.
const SETTINGS: &str = ".qwen/settings.json";
const TOKENS: &str = ".qwen/mcp-oauth-tokens.json";

/// The input line of an idle TUI ("Type your message or @path/to/file").
const PROMPT_LINE: &str = "Type your message";

/// What the Authenticate step prints, in order (0.24.4): "Starting OAuth authentication for MCP
/// server 'mock'...", "Successfully authenticated and refreshed tools for 'mock'.",
/// "Re-discovering tools from 'mock'...", "Discovered 1 tool(s) from 'mock'.", "Authentication
/// complete. Returning to server details...", "Authentication successful."; two seconds later it
/// returns to the server's details by itself.
const AUTH_STARTED: &str = "Starting OAuth authentication";
const AUTH_SUCCESS: &str = "Successfully authenticated";
const AUTH_DISCOVERED: &str = "Discovered ";
const AUTH_DONE: &str = "Authentication complete";

/// Qwen Code in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "qwen-code",
    summary: "Qwen Code, a Gemini CLI fork (OpenAI Chat Completions; MCP tools through tool_search/tool_call; fixed OAuth callback port 7777, so `matrix -j` runs its cells one at a time)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::SlashMcp],
    model_wire: ModelWire::OpenaiChat,
    configured_by: "~/.qwen/settings.json, written directly (`mcpServers` with `oauth.enabled`)",
    token_store: ".qwen/mcp-oauth-tokens.json",
    make: |install| Box::new(QwenCode::new(install)),
    features: None,
    reference: false,
};

pub struct QwenCode {
    install: InstalledVersion,
}

/// The settings every run starts from: OpenAI-compatible auth (the key only reaches the model
/// stand-in), no folder trust dialog, no update checks, no telemetry, no IDE nudge, no tips.
fn base_settings() -> Value {
    json!({
        "security": {"auth": {"selectedType": "openai"}, "folderTrust": {"enabled": false}},
        "general": {"enableAutoUpdate": false, "disableAutoUpdate": true, "disableUpdateNag": true},
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "ide": {"enabled": false, "hasSeenNudge": true},
        "ui": {"hideTips": true, "hideBanner": true},
        "model": {"name": MODEL},
        "mcpServers": {},
    })
}

/// The line of `text` holding `needle` (case-insensitive), trimmed of box borders and marks.
fn line_with(text: &str, needle: &str) -> Option<String> {
    let needle = needle.to_lowercase();
    text.lines()
        .find(|l| l.to_lowercase().contains(&needle))
        .map(clean_line)
}

fn clean_line(line: &str) -> String {
    line.trim()
        .trim_matches(|c| c == '│' || c == '┃' || c == '║')
        .trim()
        .trim_start_matches(['ℹ', '✕', '⚠', '●', '○', '›', '❯', '>'])
        .trim()
        .to_owned()
}

/// Whether `stdout` ends with `-o json`'s array of events, and what its init event says of
/// `server` (`"mcp_servers": [{"name": "mock", "status": "connected"}]`).
fn init_status(stdout: &str, server: &str) -> (bool, Option<String>) {
    let events = stdout
        .match_indices('[')
        .filter(|(i, _)| *i == 0 || stdout[..*i].ends_with('\n'))
        .find_map(|(i, _)| serde_json::from_str::<Value>(stdout[i..].trim()).ok());
    let status = events.as_ref().and_then(|events| {
        events
            .as_array()?
            .iter()
            .find(|e| e.get("subtype").and_then(Value::as_str) == Some("init"))?
            .get("mcp_servers")?
            .as_array()?
            .iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(server))?
            .get("status")?
            .as_str()
            .map(str::to_owned)
    });
    (events.is_some(), status)
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Waits until something accepts connections on `127.0.0.1:port` (where Qwen Code's callback
/// server listens), at most `timeout`. The probe connection is closed without a request.
fn wait_until_listening(port: u16, timeout: Duration) -> Result<(), DriveError> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        match std::net::TcpStream::connect_timeout(&address, Duration::from_millis(500)) {
            Ok(_) => return Ok(()),
            Err(e) if started.elapsed() >= timeout => {
                return Err(DriveError::Timeout {
                    what: format!("the client's OAuth callback server to listen on {address}"),
                    secs: timeout.as_secs_f64(),
                    detail: format!(
                        "last connect: {e}; is another run of this client using the port?"
                    ),
                })
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
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

/// The authentication step's lines from `screen`: from "Starting OAuth authentication" on.
fn auth_lines(screen: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut started = false;
    for l in screen.lines() {
        if l.contains(AUTH_STARTED) {
            started = true;
        }
        if started {
            let l = clean_line(l);
            if !l.is_empty() && !l.chars().all(|c| "─━═╭╮╰╯".contains(c)) {
                lines.push(l);
            }
        }
    }
    lines
}

/// The dialog's selected line (`❯` before it, 0.24.4), if any. (`●` marks notices, not a
/// selection: "●︎ Extensions changed on disk.")
fn selected_line(screen: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| {
            let t = l.trim_start_matches(|c: char| c.is_whitespace() || "│┃".contains(c));
            t.starts_with('❯') || t.starts_with('›')
        })
        .map(clean_line)
}

impl QwenCode {
    pub fn new(install: InstalledVersion) -> QwenCode {
        QwenCode { install }
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

    /// The sandbox's environment with what Qwen Code needs: the model stand-in as its
    /// OpenAI-compatible endpoint, no relaunch into a child for memory, and (for interactive
    /// sessions) `NO_BROWSER` so the start-up OAuth attempt stays off.
    fn client_env(&self, env: &RunEnv<'_>, interactive: bool) -> Vec<(String, String)> {
        let mut vars = env.sandbox.client_env();
        let base = format!("{}/v1", env.model_api_url.trim_end_matches('/'));
        let mut set = vec![
            ("OPENAI_API_KEY", "x".to_owned()),
            ("OPENAI_BASE_URL", base),
            ("OPENAI_MODEL", MODEL.to_owned()),
            ("QWEN_CODE_NO_RELAUNCH", "true".to_owned()),
        ];
        if interactive {
            set.push(("NO_BROWSER", "true".to_owned()));
        }
        for (k, v) in set {
            vars.retain(|(key, _)| key != k);
            vars.push((k.to_owned(), v));
        }
        vars
    }

    fn command(
        &self,
        env: &RunEnv<'_>,
        args: &[&str],
        interactive: bool,
    ) -> Result<CommandSpec, DriveError> {
        // Settings are read at start-up; make sure they exist even before a server is added.
        if !Self::settings_path(env).is_file() {
            Self::write_settings(env, &base_settings())?;
        }
        let mut spec = self.install.command(args.iter().map(|a| (*a).to_owned()));
        spec.envs(&self.client_env(env, interactive))
            .cwd(env.sandbox.work_dir());
        Ok(spec)
    }

    fn run(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandOutput, DriveError> {
        let spec = self.command(env, args, false)?;
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

    /// What `qwen mcp list` says of `server`.
    fn mcp_list_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError> {
        let out = self.run(env, &["mcp", "list"])?;
        // Its marks are coloured even on a pipe ("\x1b[31m✗\x1b[0m mock: …").
        let text = strip_ansi(&format!("{}{}", out.stdout, out.stderr));
        let prefix = format!("{server}:");
        let Some(line) = text
            .lines()
            .find(|l| {
                l.trim_start()
                    .trim_start_matches(['✓', '✗', '…', ' '])
                    .starts_with(&prefix)
            })
            .map(|l| l.trim().to_owned())
        else {
            return Ok(ServerStatus::Unrecognised(text));
        };
        let hint = line_with(&text, &format!("'{server}' requires"));
        let lower = line.to_lowercase();
        Ok(if let Some(hint) = hint {
            ServerStatus::NeedsAuth(format!("{hint} / {line}"))
        } else if lower.contains("needs authentication") || lower.contains("unauthorized") {
            ServerStatus::NeedsAuth(line)
        } else if lower.contains("- connected") {
            ServerStatus::Connected(line)
        } else if lower.contains("disconnected") {
            ServerStatus::Failed(line)
        } else {
            ServerStatus::Unrecognised(line)
        })
    }

    /// The server's line in the `/mcp` dialog of a fresh session ("mock · ✗ needs
    /// authentication"), the session left at once.
    fn dialog_status(&self, env: &RunEnv<'_>, server: &str) -> Result<String, DriveError> {
        let mut session = self.start_session_with(env, &SessionOptions::default())?;
        let is_server_line = |l: &str| {
            let t = clean_line(l);
            t.split_whitespace().next() == Some(server) && t.contains('·')
        };
        let shown = self.slash_command(&mut session, "/mcp", |s| s.lines().any(is_server_line));
        // A server still connecting says so first.
        let _ = session.wait_for("the server's state in the dialog", MENU_TIMEOUT, |s| {
            s.lines().filter(|l| is_server_line(l)).any(|l| {
                let l = l.to_lowercase();
                !l.contains("connecting") && !l.contains("starting")
            })
        });
        let screen = settled_screen(&session);
        let line = screen.lines().find(|l| is_server_line(l)).map(clean_line);
        let _ = self.close_dialog(&mut session);
        self.exit_session(&mut session)?;
        shown?;
        line.ok_or_else(|| DriveError::Unexpected {
            what: format!("the /mcp dialog shows no line for {server}"),
            detail: screen,
        })
    }

    /// Types a slash command until it shows in the input box, then submits it.
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
            // Ctrl-U clears the line.
            session.type_text("\x15")?;
        }
        if !typed {
            return Err(DriveError::Unexpected {
                what: format!("{command:?} never showed in the input box"),
                detail: session.screen(),
            });
        }
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

    /// Leaves the `/mcp` dialog for the input line: after a success the step goes back to the
    /// server's details by itself (two seconds later); Escape leaves the details, then the list.
    /// Each Escape is given a moment to take effect before the next.
    fn close_dialog(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        const ESCAPES: usize = 6;
        for _ in 0..ESCAPES {
            if session.screen().contains(PROMPT_LINE) {
                return Ok(());
            }
            session.press(Key::Escape)?;
            let _ = session.wait_for(
                "the input line after Escape",
                Duration::from_millis(1500),
                |s| s.contains(PROMPT_LINE),
            );
        }
        if session.screen().contains(PROMPT_LINE) {
            return Ok(());
        }
        Err(DriveError::Unexpected {
            what: format!("the /mcp dialog did not close after {ESCAPES} presses of Escape"),
            detail: session.screen(),
        })
    }

    /// Moves the dialog's selection (Down, at most `max` times) until the selected line
    /// satisfies `wanted`, then presses Enter.
    fn choose(
        &self,
        session: &mut TerminalSession,
        what: &str,
        max: usize,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<(), DriveError> {
        for _ in 0..=max {
            let screen = settled_screen(session);
            if selected_line(&screen).is_some_and(|l| wanted(&l)) {
                session.press(Key::Enter)?;
                return Ok(());
            }
            session.press(Key::Down)?;
        }
        Err(DriveError::Unexpected {
            what: format!("could not select {what} in the /mcp dialog"),
            detail: session.screen(),
        })
    }
}

impl ClientUnderTest for QwenCode {
    fn name(&self) -> &'static str {
        "qwen-code"
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn fixed_callback_port(&self) -> Option<u16> {
        Some(CALLBACK_PORT)
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        match step {
            Step::AddServer { server, url, .. } => format!(
                "# ~/.qwen/settings.json: mcpServers.{server} = {{\"httpUrl\": \"{url}\", \"oauth\": {{\"enabled\": true}}, \"trust\": true}}"
            ),
            Step::ServerStatus => "qwen mcp list".to_owned(),
            Step::LoginCommand { .. } => "# Qwen Code has no login command".to_owned(),
            Step::InSessionLogin { server, then, .. } => format!(
                "NO_BROWSER=true qwen --yolo    # then: /mcp, select {server}, Authenticate{}",
                if then.is_empty() {
                    String::new()
                } else {
                    format!("; {then}")
                }
            ),
            Step::SessionPrompt { prompt, .. } => {
                format!("NO_BROWSER=true qwen --yolo    # then type: {prompt}")
            }
            Step::Print { prompt, .. } => format!("qwen -p '{prompt}' --yolo -o json"),
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
        let listed = self.mcp_list_status(env, server)?;
        // `qwen mcp list` knows only "Connected" and "Disconnected" (0.24.4: its connection test
        // swallows the "requires OAuth authentication" error). Why a server is disconnected is
        // said in the TUI's `/mcp` dialog ("mock · ✗ needs authentication"), read from a fresh
        // session.
        let ServerStatus::Failed(line) = &listed else {
            return Ok(listed);
        };
        let dialog = self.dialog_status(env, server)?;
        let lower = dialog.to_lowercase();
        Ok(if lower.contains("needs authentication") {
            ServerStatus::NeedsAuth(format!("/mcp: {dialog} / qwen mcp list: {line}"))
        } else {
            ServerStatus::Failed(format!("{line} / /mcp: {dialog}"))
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
            LoginPath::AutomaticAtConnect => Ok(Err(Absent {
                evidence: "Qwen Code starts OAuth by itself only in an interactive session \
                           (its automatic MCP OAuth asks `isInteractive()`); a headless `qwen -p \
                           -o json` run with no stored token opens no browser and reports \
                           `\"mcp_servers\":[{\"name\":\"mock\",\"status\":\"disconnected\"}]` \
                           in its init event (measured with 0.24.4)"
                    .to_owned(),
            })),
            LoginPath::LoginCommand => {
                let out = self.run(env, &["mcp", "--help"])?;
                let help = format!("{}{}", out.stdout, out.stderr);
                let commands: Vec<&str> = help
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("qwen mcp "))
                    .map(|l| l.split("  ").next().unwrap_or(l).trim())
                    .collect();
                if commands.is_empty() {
                    return Err(DriveError::Unexpected {
                        what: "`qwen mcp --help` lists no subcommands the driver can read"
                            .to_owned(),
                        detail: help,
                    });
                }
                if commands
                    .iter()
                    .any(|l| l.starts_with("qwen mcp login") || l.starts_with("qwen mcp auth"))
                {
                    return Err(DriveError::Unexpected {
                        what: "this version lists a login command the driver does not know"
                            .to_owned(),
                        detail: help,
                    });
                }
                Ok(Err(Absent {
                    evidence: format!(
                        "`qwen mcp --help` ({}) lists no login command: {}",
                        self.install.version,
                        commands.join("; ")
                    ),
                }))
            }
            // Whether the model is offered an authenticate pseudo-tool shows in a live session's
            // model requests: the agent scenarios earn "not applicable" there.
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
        let spec = self.command(env, &["--yolo"], true)?;
        let mut session = TerminalSession::spawn(&spec, ROWS, COLS)?;
        session.wait_for("the session's input line", STARTUP_TIMEOUT, |s| {
            s.contains(PROMPT_LINE)
        })?;
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
                std::thread::sleep(Duration::from_millis(300));
                session.press(Key::Enter)?;
                return Ok(());
            }
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
        let _ = session.press(Key::Escape);
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
        // Qwen Code's own name for an MCP tool (`mcp__<server>__<tool>`), which is also the
        // canonical name the model stand-in uses.
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
        // The state that makes Qwen Code treat the server as needing authentication: its stored
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
        let args = ["-p", prompt, "--yolo", "-o", "json"];
        let spec = crate::drive::command::launch(&self.command(env, &args, false)?);
        let out = spec.run(PRINT_TIMEOUT)?;
        let stdout = out.stdout.clone();
        if out.timed_out {
            return Err(DriveError::Timeout {
                what: format!("`{}` to finish", spec.shell_line()),
                secs: PRINT_TIMEOUT.as_secs_f64(),
                detail: format!("{}{}", out.stdout, out.stderr),
            });
        }
        let all = format!("{}{}", out.stdout, out.stderr);
        // `-o json` prints one JSON array of events (0.24.4); the first, `{"type": "system",
        // "subtype": "init", …}`, says what became of each server: `"mcp_servers": [{"name":
        // "mock", "status": "connected"}]`. It is the last thing on stdout (warnings may come
        // before it).
        let (events, status) = init_status(&stdout, server);
        let first_line = match (events, &status) {
            (_, Some(status)) => format!("init event: mcp_servers {server} = {status}"),
            (true, None) => format!("the JSON events name no server {server}"),
            (false, _) => "no JSON events on stdout".to_owned(),
        };
        Ok(PrintOutcome {
            server_status: status,
            first_line,
            exit: format!("{:?}", out.status),
            output: all,
        })
    }

    fn authenticate_in_session(
        &self,
        session: &mut TerminalSession,
        server: &str,
        browser: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError> {
        // `/mcp` opens the dialog listing the servers.
        self.slash_command(session, "/mcp", |s| {
            s.contains(server) && !s.contains(PROMPT_LINE)
        })?;
        self.choose(session, &format!("server {server}"), 8, |l| {
            l.split_whitespace()
                .any(|w| w == server || w.starts_with(server))
        })?;
        // "Authenticate", or "Re-authenticate" when a token is stored.
        session.wait_for("the server's actions", MENU_TIMEOUT, |s| {
            s.contains("Authenticate") || s.contains("Re-authenticate")
        })?;
        self.choose(session, "Authenticate", 8, |l| {
            (l.contains("Authenticate") || l.contains("Re-authenticate")) && !l.contains("Clear")
        })?;
        session.wait_for("the authentication to start", MENU_TIMEOUT, |s| {
            s.contains(AUTH_STARTED)
        })?;
        let url = match browser.wait_for_url(BROWSER_TIMEOUT) {
            Ok(url) => url,
            Err(e) => {
                let lines = auth_lines(&session.screen());
                if lines.len() > 1 {
                    return Ok(AuthOutcome {
                        consent: ConsentOutcome {
                            authorize_url: String::new(),
                            callback_url: String::new(),
                            callback_status: 0,
                        },
                        client_message: lines.join(" / "),
                        succeeded: false,
                    });
                }
                return Err(e.into());
            }
        };
        wait_until_listening(CALLBACK_PORT, CALLBACK_LISTEN_TIMEOUT)?;
        let consent = browser.complete_consent(&url)?;
        // The step's lines vanish two seconds after success (the dialog goes back to the
        // server's details), so every screen seen while waiting is kept.
        let seen: RefCell<Vec<String>> = RefCell::new(Vec::new());
        let waited = session.wait_for(
            "the client to report the authentication's result",
            AUTH_TIMEOUT,
            |s| {
                let lines = auth_lines(s);
                let mut seen = seen.borrow_mut();
                for l in &lines {
                    if !seen.contains(l) {
                        seen.push(l.clone());
                    }
                }
                seen.iter().any(|l| l.contains(AUTH_DONE))
                    || s.contains("error occurred")
                    || (!s.contains("Authenticating...")
                        && lines.len() > 1
                        && !s.contains(AUTH_SUCCESS))
            },
        );
        let seen = seen.into_inner();
        let success = seen.iter().find(|l| l.contains(AUTH_SUCCESS));
        let done = seen.iter().any(|l| l.contains(AUTH_DONE));
        let discovered = seen.iter().find(|l| l.starts_with(AUTH_DISCOVERED));
        // The authorization URL wraps over several lines with no space in them; the key hints
        // ("Esc to go back", "Press c to copy …") are no message either.
        let message = seen
            .iter()
            .filter(|l| l.contains(' ') && !l.contains("Esc to go back") && !l.contains("copy"))
            .cloned()
            .collect::<Vec<_>>()
            .join(" / ");
        if let Err(e) = waited {
            if success.is_none() {
                return Err(e.into());
            }
        }
        self.close_dialog(session)?;
        Ok(AuthOutcome {
            consent,
            succeeded: success.is_some()
                && done
                && !discovered.is_some_and(|d| d.starts_with("Discovered 0 ")),
            client_message: message,
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
            Ok(()) => "Qwen Code has no login command".to_owned(),
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

    /// The `/mcp` dialog of 0.24.4 under a notice that starts with `●`.
    const SERVER_LIST: &str =
        "  ●︎ Extensions changed on disk. Run /reload-plugins to apply updates.\n\
        \n\
          > /mcp\n\
          ╭──────────────────────────╮\n\
          │ Manage MCP servers       │\n\
          │ 1 server                 │\n\
          │   User MCPs              │\n\
          │ ❯ mock                 · ✗ needs authentication │\n\
          │ ↑↓ to navigate · Enter to select · Esc to close │\n\
          ╰──────────────────────────╯\n";

    #[test]
    fn the_init_event_says_what_became_of_the_server() {
        // 0.24.4's `-o json`, trimmed, after a warning line.
        let out = "Warning: MCP OAuth tokens are stored unencrypted\n[{\"type\":\"system\",\"subtype\":\"init\",\"mcp_servers\":[{\"name\":\"mock\",\"status\":\"disconnected\"}]},{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"OK.\"}]\n";
        assert_eq!(
            init_status(out, "mock"),
            (true, Some("disconnected".to_owned()))
        );
        assert_eq!(init_status(out, "other"), (true, None));
        assert_eq!(init_status("no JSON here", "mock"), (false, None));
    }

    #[test]
    fn mcp_list_colours_are_stripped() {
        assert_eq!(
            strip_ansi("\x1b[31m✗\x1b[0m mock: http://127.0.0.1:1/ (http) - Disconnected"),
            "✗ mock: http://127.0.0.1:1/ (http) - Disconnected"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn the_selected_line_is_the_one_under_the_pointer_not_a_notice() {
        assert_eq!(
            selected_line(SERVER_LIST).as_deref(),
            Some("mock                 · ✗ needs authentication")
        );
        assert_eq!(selected_line("  ●︎ Extensions changed on disk."), None);
    }

    #[test]
    fn the_authentication_lines_leave_out_what_came_before_the_start() {
        let screen = "│ Server: mock │\n\
            │ Starting OAuth authentication for MCP server 'mock'... │\n\
            │ http://127.0.0.1:1/oauth/authorize?client_id=x&response_t │\n\
            │ Successfully authenticated and refreshed tools for 'mock'. │\n\
            │ Discovered 5 tool(s) from 'mock'. │\n\
            ╰──────╯\n";
        let lines = auth_lines(screen);
        assert_eq!(
            lines.first().map(String::as_str),
            Some("Starting OAuth authentication for MCP server 'mock'...")
        );
        assert!(!lines.iter().any(|l| l.contains("Server: mock")));
        assert!(lines.iter().any(|l| l.starts_with(AUTH_DISCOVERED)));
        assert!(auth_lines("│ Server: mock │\n").is_empty());
    }

    #[test]
    fn waiting_for_a_port_nobody_listens_on_times_out_with_a_hint() {
        // A port just released by this test: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        match wait_until_listening(port, Duration::from_millis(200)) {
            Err(DriveError::Timeout { detail, .. }) => assert!(detail.contains("another run")),
            other => panic!("expected a timeout, got {other:?}"),
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let open = listener.local_addr().expect("its address").port();
        assert!(wait_until_listening(open, Duration::from_secs(2)).is_ok());
    }
}
