//! The Claude Code CLI as a client under test.
//!
//! Wording differs across versions (2.1.81–2.1.210: "needs authentication", "1. Authenticate",
//! "Authentication successful. Connected to <name>."; 2.1.331: "needs sign-in", "Authenticate",
//! "Signed in and connected to <name>."), so screens are matched on any of the known phrasings and
//! features are detected from the CLI's own help, never from version ranges.

pub mod package;
pub mod probe;
pub mod sandbox;

pub use package::PACKAGE;

use crate::clients::kind::ClientKind;
use crate::clients::ModelWire;

use std::cell::OnceCell;
use std::time::{Duration, Instant};

use crate::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, NeedsAuthState, PrintOutcome,
    RunEnv, ServerStatus, SessionOptions, Step, STARTUP_TIMEOUT,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::command::{CommandOutput, CommandSpec};
use crate::drive::terminal::{Key, TerminalSession};
use crate::store::features::{self, Feature, FeatureCache, Features};
use crate::store::versions::InstalledVersion;

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
/// Bound on a whole print-mode (`-p`) run.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);
/// Where the CLI keeps the servers it believes need authentication (relative to HOME).
const NEEDS_AUTH_CACHE: &str = ".claude/mcp-needs-auth-cache.json";
/// Where this version keeps its MCP OAuth tokens (key `mcpOAuth`).
const CREDENTIALS_FILE: &str = ".claude/.credentials.json";

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
    // When the token exchange worked and the reconnect did not: "Got new credentials, but
    // couldn't reconnect to <name>: INVALID_RESULT at <url>" (2.1.331), "Got new credentials,
    // but reconnecting to <name> failed: HTTP 400 at <url>" (2.1.149).
    "got new credentials, but",
    "error:",
    // 2.1.331 refusing an authorization response under RFC 9207 (the conformance suite's
    // `auth/iss-*` scenarios): "✘ Issuer mismatch in authorization response (RFC 9207): expected
    // \"http://127.0.0.1:36409\", received undefined", on the /mcp menu.
    "issuer mismatch in authorization response",
];

/// Whether the client's message reports success: a success phrase was seen, and the line saying
/// it does not go on to report a failure. 2.1.81 says "Authentication successful, but server
/// reconnection failed. You may need to manually restart Claude Code…" when the reconnect after
/// the token exchange fails; that is a failure.
fn reports_success(seen: &str, message: &str) -> bool {
    let message = message.to_lowercase();
    AUTH_SUCCESS_WORDS.contains(&seen) && !AUTH_FAILURE_WORDS.iter().any(|w| message.contains(w))
}

/// Claude Code in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "claude-code",
    summary: "Anthropic's Claude Code CLI (Anthropic Messages API)",
    package: &package::PACKAGE,
    login_paths: &[
        LoginPath::SlashMcp,
        LoginPath::LoginCommand,
        LoginPath::AuthenticateTool,
        LoginPath::PastedCallback,
    ],
    model_wire: ModelWire::AnthropicMessages,
    configured_by: "`claude mcp add --transport http -s user`",
    token_store: ".claude/.credentials.json (key mcpOAuth)",
    make: |install| Box::new(ClaudeCode::new(install)),
    features: Some(probe::features_of),
    reference: false,
};

pub struct ClaudeCode {
    install: InstalledVersion,
    features: OnceCell<Features>,
}

impl ClaudeCode {
    /// `claude mcp add --transport http -s user [options] <server> <url>`.
    fn add_http(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        options: &[&str],
    ) -> Result<(), DriveError> {
        let mut args = vec!["mcp", "add", "--transport", "http", "-s", "user"];
        args.extend_from_slice(options);
        args.extend_from_slice(&[server, url]);
        self.run(env, &args)?;
        Ok(())
    }

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
        spec.envs(&sandbox::client_env(env.sandbox, &env.model_api_url))
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
        let found = probe::features_of(&self.install)
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
            crate::drive::terminal::TerminalError::Timeout {
                what: what.to_owned(),
                secs: 0.0,
                screen: session.screen(),
            },
        ))
    }
}

/// The line marked selected (`❯`) in the menu under `question`, if the question is on screen.
fn selected_answer(screen: &str, question: &str) -> Option<String> {
    let at = screen.find(question)?;
    Some(
        screen[at..]
            .lines()
            .find(|l| l.contains('❯'))
            .unwrap_or_default()
            .to_owned(),
    )
}

/// The screen once it has not changed for a moment (at most a few seconds: a spinner may never
/// stop).
fn settled_screen(session: &TerminalSession) -> String {
    const QUIET: Duration = Duration::from_millis(400);
    const BOUND: Duration = Duration::from_secs(3);
    let started = std::time::Instant::now();
    let mut screen = session.screen();
    let mut since = std::time::Instant::now();
    while since.elapsed() < QUIET && started.elapsed() < BOUND {
        std::thread::sleep(Duration::from_millis(50));
        let now = session.screen();
        if now != screen {
            screen = now;
            since = std::time::Instant::now();
        }
    }
    screen
}

/// What a session's debug log says when it is done with a server at start-up: skipped (cached
/// needs-auth, where the pseudo-tools come from), connected, or refused. Until then the session
/// has not decided which of the server's tools (or authenticate pseudo-tools) the model is
/// offered, and a prompt typed earlier goes to the model without them (seen 1 in 30 soak rounds
/// of `authenticate_paste` on 2.1.331).
const SERVER_STARTUP_OUTCOMES: &[&str] = &[
    "Skipping connection",
    "Successfully connected",
    "Authentication required",
    "Connection failed",
    "Connection error",
];

/// Bound on a session deciding about its servers: 2.1.331 logs its outcome ~0.1 s after its
/// first screen here; a connection attempt is bounded by the client's own 30 s timeout, and a
/// session that is still undecided after this bound gets the prompt anyway (the scenario's checks
/// then see what the client did with it).
const SERVER_STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The MCP servers in the sandbox's user config (`~/.claude.json`), by name.
fn configured_servers(env: &RunEnv<'_>) -> Vec<String> {
    std::fs::read(env.sandbox.home().join(".claude.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|config| {
            config["mcpServers"]
                .as_object()
                .map(|servers| servers.keys().cloned().collect())
        })
        .unwrap_or_default()
}

/// Waits until the debug log shows a start-up outcome for every configured server (see
/// [`SERVER_STARTUP_OUTCOMES`]), or the session exits, or the bound passes.
fn wait_for_server_startup(
    debug_log: &std::path::Path,
    servers: &[String],
    session: &mut TerminalSession,
) -> Result<(), DriveError> {
    let decided = |log: &str, server: &str| {
        let prefix = format!("MCP server \"{server}\": ");
        log.lines().any(|line| {
            line.split_once(&prefix)
                .is_some_and(|(_, rest)| SERVER_STARTUP_OUTCOMES.iter().any(|o| rest.contains(o)))
        })
    };
    let deadline = Instant::now() + SERVER_STARTUP_TIMEOUT;
    while Instant::now() < deadline && session.try_exit_status().is_none() {
        let log = std::fs::read_to_string(debug_log).unwrap_or_default();
        if servers.iter().all(|s| decided(&log, s)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tracing::debug!(
        ?servers,
        "start-up outcome not in the debug log within the bound"
    );
    Ok(())
}

/// `--allowedTools` takes `mcp__<server>` for all of a server's tools.
fn allowed_tools(options: &SessionOptions) -> String {
    options
        .allowed_servers
        .iter()
        .map(|s| format!("mcp__{s}"))
        .collect::<Vec<_>>()
        .join(",")
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

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn prepare(&self, env: &RunEnv<'_>) -> Result<(), DriveError> {
        sandbox::seed_config(env.sandbox)
            .map_err(|e| DriveError::Setup(format!("seeding ~/.claude.json: {e}")))
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        match step {
            Step::AddServer {
                server,
                url,
                client_id: Some((id, port)),
            } => format!(
                "claude mcp add --transport http -s user --client-id {id} --callback-port {port} {server} {url}"
            ),
            Step::AddServer { server, url, .. } => {
                format!("claude mcp add --transport http -s user {server} {url}")
            }
            Step::ServerStatus => "claude mcp list".to_owned(),
            Step::LoginCommand { server, note: "" } => {
                format!("claude mcp login {server}    # under a terminal; open the URL it prints")
            }
            Step::LoginCommand { server, note } => format!("claude mcp login {server}    # {note}"),
            Step::InSessionLogin {
                server,
                allow_tools,
                then,
            } => format!(
                "claude{}    # then: /mcp → {server} → Authenticate{}",
                if allow_tools {
                    format!(" --allowedTools mcp__{server}")
                } else {
                    String::new()
                },
                if then.is_empty() {
                    String::new()
                } else {
                    format!("; {then}")
                }
            ),
            Step::SessionPrompt { server, prompt } => {
                format!("claude --allowedTools mcp__{server}    # then type: {prompt}")
            }
            Step::Print { server, prompt } => format!(
                "claude -p '{prompt}' --output-format stream-json --verbose --allowedTools mcp__{server}"
            ),
        }
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        self.add_http(env, server, url, &[])
    }

    fn add_http_server_with_header(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        header: &str,
        value: &str,
    ) -> Result<(), DriveError> {
        // `claude mcp add … --header "Name: value"`: the option takes several values, so it
        // goes after the name and URL (before them it swallows both).
        let line = format!("{header}: {value}");
        let args = [
            "mcp",
            "add",
            "--transport",
            "http",
            "-s",
            "user",
            server,
            url,
            "--header",
            &line,
        ];
        self.run(env, &args)?;
        Ok(())
    }

    fn add_http_server_with_client_id(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        client_id: &str,
        callback_port: u16,
    ) -> Result<(), DriveError> {
        let port = callback_port.to_string();
        self.add_http(
            env,
            server,
            url,
            &["--client-id", client_id, "--callback-port", &port],
        )
    }

    /// `--client-secret` takes no value: Claude Code prompts for it, or reads
    /// `MCP_CLIENT_SECRET` (its `mcp add --help`), which keeps it off the command line.
    fn add_http_server_with_client_secret(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        client_id: &str,
        client_secret: &str,
        callback_port: u16,
    ) -> Result<(), DriveError> {
        let port = callback_port.to_string();
        let args = [
            "mcp",
            "add",
            "--transport",
            "http",
            "-s",
            "user",
            "--client-id",
            client_id,
            "--client-secret",
            "--callback-port",
            &port,
            server,
            url,
        ];
        let mut spec = self.command(env, &args);
        spec.env("MCP_CLIENT_SECRET", client_secret);
        let out = spec.run(SUBCOMMAND_TIMEOUT)?;
        if out.timed_out || out.status != Some(0) {
            return Err(DriveError::Failed {
                command: spec.shell_line().replace(client_secret, "<secret>"),
                status: if out.timed_out {
                    format!("no answer within {} s", SUBCOMMAND_TIMEOUT.as_secs())
                } else {
                    format!("exit {:?}", out.status)
                },
                output: format!("{}{}", out.stdout, out.stderr),
            });
        }
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
            // The header is written into the config; whether the driver can is the writer's answer.
            LoginPath::StaticHeader => Ok(Ok(())),
            // Every version with HTTP transport has the `/mcp` menu; a version with it that lacks
            // the menu fails the scenario at the menu, which is the honest outcome. A version
            // whose own help shows no HTTP transport cannot be given the server at all.
            LoginPath::SlashMcp => match self.features()?.get(Feature::HttpTransport) {
                Some(seen) if !seen.present => Ok(Err(self.absent(Feature::HttpTransport, seen))),
                _ => Ok(Ok(())),
            },
            // Whether the agent is offered the pseudo-tools is only known from a live session's
            // model requests; the agent scenarios earn "not applicable" there, with that evidence.
            LoginPath::AuthenticateTool | LoginPath::PastedCallback => Ok(Ok(())),
            // A server that needs authentication is reported as such, never logged into, when
            // a session or `mcp list` meets its 401: the person must choose a login path.
            LoginPath::AutomaticAtConnect => Ok(Err(Absent {
                evidence: "Claude Code lists a server that answers 401 as needing \
                           authentication (`mcp list`: \"Needs authentication\") and waits for \
                           /mcp, `mcp login` or the authenticate tool"
                    .to_owned(),
            })),
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

    fn start_session_with(
        &self,
        env: &RunEnv<'_>,
        options: &SessionOptions,
    ) -> Result<TerminalSession, DriveError> {
        let debug_log = env.sandbox.root().join("claude-debug.log");
        let mut args: Vec<String> = Vec::new();
        let has_debug_log = self.supports_debug_file(env)?;
        if has_debug_log {
            args.push("--debug-file".into());
            args.push(debug_log.to_string_lossy().into_owned());
        }
        if !options.allowed_servers.is_empty() {
            // Without this a tool call stops at a permission prompt (or, in 2.1.331, an auto-mode
            // safety check that consults the model); the scenarios are about OAuth, not that.
            args.push("--allowedTools".into());
            args.push(allowed_tools(options));
        }
        let mut spec = self.install.command(args);
        spec.envs(&sandbox::client_env(env.sandbox, &env.model_api_url))
            .cwd(env.sandbox.work_dir());
        let mut session = TerminalSession::spawn(&spec, ROWS, COLS)?;
        session.wait_for_any(
            "the session's first screen",
            STARTUP_TIMEOUT,
            &["Claude Code"],
        )?;
        if has_debug_log {
            wait_for_server_startup(&debug_log, &configured_servers(env), &mut session)?;
        }
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
                session.press(Key::Enter)?;
                return Ok(());
            }
            session.type_text("\x15")?;
        }
        session.wait_for("the prompt text in the input box", MENU_TIMEOUT, |s| {
            s.contains(&probe)
        })?;
        session.press(Key::Enter)?;
        Ok(())
    }

    fn allow_pending_tool_call(
        &self,
        session: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError> {
        // Questions 2.1.331 asks mid-turn, and the answer a user who started the flow gives:
        // before `complete_authentication` runs ("Claude submitted this URL…"), and after a 403
        // insufficient_scope ("…needs additional permissions… Re-authenticate now?").
        const QUESTIONS: &[(&str, &str)] = &[
            ("Do you want to proceed?", "Yes"),
            ("Re-authenticate now?", "Re-authenticate in browser"),
        ];
        let screen = session.screen();
        let Some((question, answer)) = QUESTIONS.iter().find(|(q, _)| screen.contains(q)) else {
            return Ok(None);
        };
        let at = screen.find(question).unwrap_or(0);
        let line_start = screen[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let asked: String = screen[..at]
            .lines()
            .rev()
            .map(|l| l.trim().trim_start_matches('│').trim())
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_owned();
        let asked = format!(
            "{asked} {}",
            screen[line_start..]
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
        );
        'choose: for _ in 0..6 {
            // Decide from a frame that has stopped changing: a key chosen from a frame still
            // being drawn can land on another menu state (soak: once the client denied the call
            // the harness had answered "Yes" to).
            let screen = settled_screen(session);
            let Some(selected) = selected_answer(&screen, question) else {
                break;
            };
            if selected.contains(answer) {
                // A key pressed while the question is still being drawn can be lost: press
                // again, a bounded number of times, until it closes, each time only while the
                // answer is still the one selected.
                for _ in 0..5 {
                    session.press(Key::Enter)?;
                    let closed =
                        session.wait_for("the question to close", Duration::from_secs(3), |s| {
                            !s.contains(question)
                        });
                    if closed.is_ok() {
                        return Ok(Some(format!("{} → {answer}", asked.trim())));
                    }
                    let now = settled_screen(session);
                    match selected_answer(&now, question) {
                        None => return Ok(Some(format!("{} → {answer}", asked.trim()))),
                        Some(line) if !line.contains(answer) => continue 'choose,
                        Some(_) => {}
                    }
                }
                return Err(DriveError::Unexpected {
                    what: format!(
                        "the question {question:?} stayed open after answering {answer:?}"
                    ),
                    detail: session.screen(),
                });
            }
            session.press(Key::Down)?;
            session.wait_for("the question's menu to move", MENU_TIMEOUT, |s| {
                selected_answer(s, question).is_none_or(|line| line != selected)
            })?;
        }
        Err(DriveError::Unexpected {
            what: format!("could not select {answer:?} in the question {question:?}"),
            detail: session.screen(),
        })
    }

    fn exit_session(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        // Ctrl-C twice is the documented way out of the TUI in every version seen.
        session.type_text("\x03")?;
        session.type_text("\x03")?;
        if session.wait_exit(Duration::from_secs(10)).is_err() {
            session.terminate();
        }
        Ok(())
    }

    fn mcp_tool_name(&self, server: &str, tool: &str) -> String {
        // The model API accepts tool names of `[a-zA-Z0-9_-]` only, so the CLI replaces any
        // other character (a dot in `weather.get_forecast`, say) with `_`; the dotted-names
        // quirk's runs confirm it on each version tried.
        let normalise = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!("mcp__{}__{}", normalise(server), normalise(tool))
    }

    fn stored_tokens(&self, env: &RunEnv<'_>, server: &str) -> Result<String, DriveError> {
        let path = env.sandbox.home().join(CREDENTIALS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(format!("~/{CREDENTIALS_FILE} does not exist"))
            }
            Err(e) => {
                return Err(DriveError::Unexpected {
                    what: format!("reading {}", path.display()),
                    detail: e.to_string(),
                })
            }
        };
        let parsed: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| DriveError::Unexpected {
                what: format!("~/{CREDENTIALS_FILE} is not JSON"),
                detail: e.to_string(),
            })?;
        // Entries are keyed `<server>|<hash>`; the secrets are summarised, never copied.
        let entries: Vec<String> = parsed
            .get("mcpOAuth")
            .and_then(|m| m.as_object())
            .into_iter()
            .flatten()
            .filter(|(key, _)| key.split('|').next() == Some(server))
            .map(|(key, entry)| {
                let field = |name: &str| match entry.get(name) {
                    Some(serde_json::Value::String(s)) if !s.is_empty() => {
                        format!("{name} present ({} chars)", s.len())
                    }
                    Some(serde_json::Value::Number(n)) => format!("{name} {n}"),
                    _ => format!("{name} absent"),
                };
                format!(
                    "{key}: {}, {}, {}",
                    field("accessToken"),
                    field("refreshToken"),
                    field("expiresAt")
                )
            })
            .collect();
        Ok(if entries.is_empty() {
            format!("~/{CREDENTIALS_FILE} key mcpOAuth holds no entry for {server}")
        } else {
            format!("~/{CREDENTIALS_FILE} key mcpOAuth: {}", entries.join("; "))
        })
    }

    fn needs_auth_state(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<NeedsAuthState, DriveError> {
        let path = env.sandbox.home().join(NEEDS_AUTH_CACHE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(NeedsAuthState {
                    names_server: false,
                    evidence: format!("~/{NEEDS_AUTH_CACHE} does not exist"),
                })
            }
            Err(e) => {
                return Err(DriveError::Unexpected {
                    what: format!("reading {}", path.display()),
                    detail: e.to_string(),
                })
            }
        };
        let parsed: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| DriveError::Unexpected {
                what: format!("~/{NEEDS_AUTH_CACHE} is not JSON"),
                detail: format!("{e}: {text}"),
            })?;
        Ok(NeedsAuthState {
            names_server: parsed.get(server).is_some(),
            evidence: format!("~/{NEEDS_AUTH_CACHE}: {}", text.trim()),
        })
    }

    fn plant_needs_auth(&self, env: &RunEnv<'_>, server: &str) -> Result<(), DriveError> {
        let path = env.sandbox.home().join(NEEDS_AUTH_CACHE);
        let mut cache: serde_json::Map<String, serde_json::Value> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        // The shape 2.1.81 left behind after a successful /mcp authentication.
        cache.insert(
            server.to_owned(),
            serde_json::json!({ "timestamp": now_ms }),
        );
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, serde_json::Value::Object(cache.clone()).to_string())
        };
        write().map_err(|e| DriveError::Setup(format!("planting {}: {e}", path.display())))
    }

    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        prompt: &str,
        options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        let mut args = vec!["-p", prompt, "--output-format", "stream-json", "--verbose"];
        let allowed = allowed_tools(options);
        if !allowed.is_empty() {
            args.extend(["--allowedTools", allowed.as_str()]);
        }
        let spec = self.command(env, &args);
        let out = spec.run(PRINT_TIMEOUT)?;
        if out.timed_out {
            return Err(DriveError::Timeout {
                what: format!("`{}` to finish", spec.shell_line()),
                secs: PRINT_TIMEOUT.as_secs_f64(),
                detail: format!("{}{}", out.stdout, out.stderr),
            });
        }
        let first_line = out.stdout.lines().next().unwrap_or_default().to_owned();
        let server_status = serde_json::from_str::<serde_json::Value>(&first_line)
            .ok()
            .and_then(|v| v.get("mcp_servers").cloned())
            .and_then(|servers| {
                servers.as_array().and_then(|list| {
                    list.iter()
                        .find(|s| s.get("name").and_then(|n| n.as_str()) == Some(server))
                        .and_then(|s| s.get("status").and_then(|st| st.as_str()))
                        .map(str::to_owned)
                })
            });
        Ok(PrintOutcome {
            server_status,
            first_line,
            exit: format!("{:?}", out.status),
            output: format!("{}{}", out.stdout, out.stderr),
        })
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
        let client_message = session
            .screen()
            .lines()
            .find(|l| l.to_lowercase().contains(&seen))
            .map(|l| l.trim().trim_start_matches('⎿').trim().to_owned())
            .unwrap_or_else(|| seen.clone());
        let succeeded = reports_success(&seen, &client_message);
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
        let status = session.wait_exit(Duration::from_secs(20))?;
        let screen = session.screen();
        let client_message = screen
            .lines()
            .find(|l| l.to_lowercase().contains(&seen))
            .map(|l| l.trim().to_owned())
            .unwrap_or_else(|| seen.clone());
        let succeeded = reports_success(&seen, &client_message);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_phrase_followed_by_a_failure_is_a_failure() {
        assert!(reports_success(
            "authentication successful",
            "Authentication successful. Connected to mock."
        ));
        assert!(reports_success(
            "signed in and connected",
            "Signed in and connected to mock."
        ));
        // 2.1.81, when the initialize after the token exchange got a 503.
        assert!(!reports_success(
            "authentication successful",
            "Authentication successful, but server reconnection failed. You may need to manually restart Claude Code for the changes to take effect."
        ));
        assert!(!reports_success(
            "got new credentials, but",
            "Got new credentials, but couldn't reconnect to mock: HTTP 503 at http://127.0.0.1:1"
        ));
        // 2.1.331 refusing a callback whose `iss` is not the issuer's (RFC 9207).
        let refusal = "✘ Issuer mismatch in authorization response (RFC 9207): expected \"http://127.0.0.1:36409\", received undefined";
        let seen = AUTH_FAILURE_WORDS
            .iter()
            .find(|w| refusal.to_lowercase().contains(*w))
            .copied();
        assert_eq!(seen, Some("issuer mismatch in authorization response"));
        assert!(!reports_success(
            "issuer mismatch in authorization response",
            refusal
        ));
    }
}
