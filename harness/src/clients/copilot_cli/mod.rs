//! GitHub Copilot CLI as a client under test.
//!
//! Copilot CLI (a closed native executable) has no MCP login command (`copilot mcp --help`: list,
//! get, add, remove, enable, disable; `copilot login` signs in to GitHub, not to an MCP server).
//! Two login paths remain, both inside the interactive TUI:
//!
//! - **At start-up** ([`LoginPath::AutomaticAtConnect`]): when the TUI starts and an HTTP server
//!   answers 401, it runs discovery and dynamic registration and opens the browser by itself, with
//!   no command typed and no question asked (measured with 1.0.102: `server/discover` 401 →
//!   metadata → `POST /oauth/register` → `xdg-open <authorize URL>`, while the folder-trust box is
//!   still up). It starts OAuth on its own when it connects, which is what that path means; the
//!   login is done when its token file exists under `~/.copilot/mcp-oauth-config/`. `-p` does
//!   not do it: it reports the server `needs-auth` and goes on without it.
//! - **`/mcp auth <server>`** ([`LoginPath::SlashMcp`]): the in-session command its start-up line
//!   names ("MCP server 'mock' requires authentication. Use /mcp auth mock to connect."). While the
//!   start-up flow is still waiting for its callback, the command does not open the browser again:
//!   it shows the pending URL ("A browser authorization is already in progress for this server.
//!   Open the URL below to complete it."), and the driver opens that one, as a person would.
//!
//! The server is configured in `~/.copilot/mcp-config.json`, written directly (the same file
//! `copilot mcp add --transport http` writes). Tokens: `<hash>.json` (the registration, with
//! `serverUrl`) and `<hash>.tokens.json` beside it, plus a second `*.tokens.json` holding the
//! same access token. The browser is opened only through `xdg-open` (the sandbox's shim); the
//! callback listens on a random loopback port. The model is the run's stand-in, spoken to as an
//! OpenAI Chat Completions provider in offline mode (`COPILOT_OFFLINE=true`, no GitHub account).

pub mod package;

pub use package::PACKAGE;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::clients::kind::ClientKind;
use crate::clients::ModelWire;
use crate::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, NeedsAuthState, PrintOutcome,
    RunEnv, ServerStatus, SessionOptions, Step, STARTUP_TIMEOUT,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::command::{CommandOutput, CommandSpec};
use crate::drive::terminal::{Key, TerminalSession};
use crate::store::versions::InstalledVersion;

/// Terminal size for interactive runs: wide enough that boxes and most of a URL fit a line.
const ROWS: u16 = 50;
const COLS: u16 = 200;

/// The model every run names (the stand-in answers any name; BYOK needs one).
const MODEL: &str = "gpt-4o";

/// Bound on a subcommand (`mcp --help`, `--help`): 2 s measured, most of it the first start's
/// unpacking of its runtime into the fresh HOME.
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the client opening the browser by itself after it starts (measured: under 1 s after
/// its first screen; the rest is slack for a loaded 2-core machine).
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the OAuth round trip after consent: the token exchange and the token file follow the
/// callback within a second.
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on a box or command reacting to a key.
const MENU_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on a whole `-p` run (one scripted model turn or two, a tool call).
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound on a `-p` run reporting what it loaded (`session.mcp_servers_loaded`, under 1 s
/// measured, after the server's 401 or its `initialize`).
const STATUS_TIMEOUT: Duration = Duration::from_secs(60);

/// Relative to HOME.
const MCP_CONFIG: &str = ".copilot/mcp-config.json";
const OAUTH_DIR: &str = ".copilot/mcp-oauth-config";

/// The status line of an idle session ("Interactive · Manual Approval · / commands · ? help").
const IDLE_LINE: &str = "Interactive ·";
/// The folder-trust box every new session in a new folder asks first.
const TRUST_BOX: &str = "Confirm folder trust";
/// `/mcp auth` while the start-up flow waits: the pending URL is shown below this line.
const URL_BOX: &str = "copy this URL manually:";
const AUTH_SUCCESS: &str = "Authentication Successful";
/// The footer of the MCP panel `/mcp auth` returns to ("… · r refresh · esc close").
const PANEL_FOOTER: &str = "esc close";
const AUTH_FAILURE_WORDS: &[&str] = &[
    "authentication failed",
    "failed to authenticate",
    "authorization failed",
    "oauth error",
];

/// Copilot CLI in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "copilot-cli",
    summary: "GitHub Copilot CLI (native; BYOK model over OpenAI Chat Completions, offline)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::AutomaticAtConnect, LoginPath::SlashMcp],
    model_wire: ModelWire::OpenaiChat,
    configured_by: "~/.copilot/mcp-config.json, written directly (`mcpServers` with `type: http`)",
    token_store: ".copilot/mcp-oauth-config/<hash>.json and <hash>.tokens.json",
    make: |install| Box::new(CopilotCli::new(install)),
    features: None,
    reference: false,
};

pub struct CopilotCli {
    install: InstalledVersion,
}

fn contains_any(text: &str, words: &[&str]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w))
}

/// The line of `text` holding `needle` (case-insensitive), trimmed of box borders and marks.
fn line_with(text: &str, needle: &str) -> Option<String> {
    let needle = needle.to_lowercase();
    text.lines()
        .find(|l| l.to_lowercase().contains(&needle))
        .map(|l| {
            l.trim()
                .trim_matches(|c| c == '│' || c == '┃')
                .trim()
                .trim_start_matches(['●', '!', '✓', '✗', '◎'])
                .trim()
                .to_owned()
        })
}

/// The authorize URL `/mcp auth` shows in its box, joined across the box's wrapped lines.
fn url_in_box(screen: &str) -> Option<String> {
    let mut lines = screen.lines().skip_while(|l| !l.contains(URL_BOX)).skip(1);
    let mut url = String::new();
    for line in lines.by_ref() {
        let inner = line.trim().trim_matches('│').trim();
        if inner.is_empty() || inner.starts_with("Press ") || inner.starts_with('╰') {
            break;
        }
        url.push_str(inner);
    }
    url.starts_with("http").then_some(url)
}

impl CopilotCli {
    pub fn new(install: InstalledVersion) -> CopilotCli {
        CopilotCli { install }
    }

    fn config_path(env: &RunEnv<'_>) -> PathBuf {
        env.sandbox.home().join(MCP_CONFIG)
    }

    fn oauth_dir(env: &RunEnv<'_>) -> PathBuf {
        env.sandbox.home().join(OAUTH_DIR)
    }

    fn read_config(env: &RunEnv<'_>) -> Result<Value, DriveError> {
        let path = Self::config_path(env);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| DriveError::Unexpected {
                what: format!("{} is not JSON", path.display()),
                detail: format!("{e}: {text}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({"mcpServers": {}})),
            Err(e) => Err(DriveError::Setup(format!(
                "reading {}: {e}",
                path.display()
            ))),
        }
    }

    /// The URL configured for `server`.
    fn server_url(env: &RunEnv<'_>, server: &str) -> Result<String, DriveError> {
        Self::read_config(env)?
            .pointer(&format!("/mcpServers/{server}/url"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                DriveError::Setup(format!("~/{MCP_CONFIG} configures no server {server}"))
            })
    }

    /// The registration file (`<hash>.json`) whose `serverUrl` is `url`, and its tokens file.
    fn stored_files(env: &RunEnv<'_>, url: &str) -> Option<(PathBuf, PathBuf)> {
        let dir = Self::oauth_dir(env);
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p.to_string_lossy().ends_with(".tokens.json")
            })
            .find(|p| {
                std::fs::read_to_string(p)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .and_then(|v| {
                        v.get("serverUrl")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .is_some_and(|u| u == url)
            })
            .map(|registration| {
                let tokens = registration.with_extension("tokens.json");
                (registration, tokens)
            })
    }

    /// The stored access token for `url`, where there is one.
    fn stored_access_token(env: &RunEnv<'_>, url: &str) -> Option<String> {
        let (_, tokens) = Self::stored_files(env, url)?;
        let text = std::fs::read_to_string(tokens).ok()?;
        serde_json::from_str::<Value>(&text)
            .ok()?
            .get("accessToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }

    /// The sandbox's environment with what Copilot CLI needs: offline mode (no GitHub sign-in,
    /// telemetry or update check), the model stand-in as a BYOK Chat Completions provider, and
    /// no auto-update.
    fn client_env(&self, env: &RunEnv<'_>) -> Vec<(String, String)> {
        let mut vars = env.sandbox.client_env();
        let base = format!("{}/v1", env.model_api_url.trim_end_matches('/'));
        for (k, v) in [
            ("COPILOT_OFFLINE", "true".to_owned()),
            ("COPILOT_PROVIDER_BASE_URL", base),
            ("COPILOT_PROVIDER_API_KEY", "x".to_owned()),
            ("COPILOT_MODEL", MODEL.to_owned()),
            ("COPILOT_AUTO_UPDATE", "false".to_owned()),
        ] {
            vars.retain(|(key, _)| key != k);
            vars.push((k.to_owned(), v));
        }
        vars
    }

    fn command(&self, env: &RunEnv<'_>, args: &[&str]) -> CommandSpec {
        let mut spec = self.install.command(args.iter().map(|a| (*a).to_owned()));
        spec.envs(&self.client_env(env)).cwd(env.sandbox.work_dir());
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

    /// Starts the TUI with every tool allowed (the scenarios are about OAuth, not permission
    /// prompts) and the working folder trusted: `COPILOT_ALLOW_ALL` set to exactly "true" "trusts
    /// the working directory without prompting" (`copilot help environment`). Without it the
    /// folder-trust box comes up while the start-up login is under way, and answering it reloads
    /// the servers mid-flow: the number of unauthenticated `server/discover`s before the login
    /// then varies from run to run (seen with 1.0.102), and so would the snapshots.
    fn spawn_tui(&self, env: &RunEnv<'_>) -> Result<TerminalSession, DriveError> {
        let mut spec = self.command(env, &["--allow-all-tools", "--no-auto-update"]);
        spec.env("COPILOT_ALLOW_ALL", "true");
        Ok(TerminalSession::spawn(&spec, ROWS, COLS)?)
    }

    /// Answers the folder-trust box ("1. Yes", selected first) when it is up, and waits for the
    /// idle status line.
    fn settle_into_session(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        let screen = session.wait_for(
            "the folder-trust box or the session's status line",
            STARTUP_TIMEOUT,
            |s| s.contains(TRUST_BOX) || s.contains(IDLE_LINE),
        )?;
        if screen.contains(TRUST_BOX) {
            for _ in 0..3 {
                session.press(Key::Enter)?;
                if session
                    .wait_for(
                        "the folder-trust box to close",
                        Duration::from_secs(5),
                        |s| !s.contains(TRUST_BOX),
                    )
                    .is_ok()
                {
                    break;
                }
            }
        }
        session.wait_for("the session's status line", STARTUP_TIMEOUT, |s| {
            s.contains(IDLE_LINE) && !s.contains(TRUST_BOX)
        })?;
        Ok(())
    }

    /// Waits until the tokens file for `url` holds an access token.
    fn wait_for_token_file(&self, env: &RunEnv<'_>, url: &str) -> Option<String> {
        let started = Instant::now();
        while started.elapsed() < AUTH_TIMEOUT {
            if let Some(token) = Self::stored_access_token(env, url) {
                return Some(token);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Runs `copilot -p <prompt> --output-format json` (JSONL on stdout), handing each line to
    /// `stop`; the run is ended (its process group) when `stop` says so, or at `timeout`.
    fn prompt_run(
        &self,
        env: &RunEnv<'_>,
        prompt: &str,
        timeout: Duration,
        stop: impl Fn(&Value) -> bool,
    ) -> Result<(Option<i32>, Vec<Value>, String, bool), DriveError> {
        let spec = crate::drive::command::launch(&self.command(
            env,
            &[
                "-p",
                prompt,
                "--allow-all-tools",
                "--trust-folder",
                "--no-auto-update",
                "--output-format",
                "json",
            ],
        ));
        crate::console::command(&spec.shell_line());
        let mut cmd = std::process::Command::new(&spec.program);
        cmd.args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().cloned())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // Its own process group, so an early end reaches whatever it started.
            .process_group(0);
        if let Some(cwd) = &spec.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| DriveError::Setup(format!("cannot start `{}`: {e}", spec.shell_line())))?;
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take();
        let out_thread = std::thread::spawn(move || {
            let Some(out) = stdout else { return };
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = child.stderr.take();
        let err_thread = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut err) = stderr {
                let _ = std::io::Read::read_to_string(&mut err, &mut text);
            }
            text
        });
        let started = Instant::now();
        let mut events = Vec::new();
        let mut raw = String::new();
        let mut stopped = false;
        let end_group = |child: &mut std::process::Child| {
            let group = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
        };
        let status = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    raw.push_str(&line);
                    raw.push('\n');
                    if let Ok(event) = serde_json::from_str::<Value>(&line) {
                        let done = stop(&event);
                        events.push(event);
                        if done {
                            stopped = true;
                            end_group(&mut child);
                            break None;
                        }
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Output closed: the process is ending.
                    let status = child.wait().map_err(|e| DriveError::Setup(e.to_string()))?;
                    break status.code();
                }
            }
            if started.elapsed() >= timeout {
                end_group(&mut child);
                let _ = out_thread.join();
                return Err(DriveError::Timeout {
                    what: format!("`{}` to finish", spec.shell_line()),
                    secs: timeout.as_secs_f64(),
                    detail: raw,
                });
            }
        };
        // Whatever it left in its group ends with it.
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = out_thread.join();
        let stderr = err_thread.join().unwrap_or_default();
        Ok((status, events, format!("{raw}{stderr}"), stopped))
    }

    /// The server's status once the run has loaded its servers and the server's connection has
    /// settled: the latest status named by `session.mcp_servers_loaded` or
    /// `session.mcp_server_status_changed`, taken at the first point after the loaded event
    /// where it is no longer `pending` (the loaded event itself may say `pending` while the
    /// connection is under way). With its JSON line.
    fn settled_status(events: &[Value], server: &str) -> Option<(String, String)> {
        let mut loaded = false;
        let mut latest: Option<(String, String)> = None;
        for event in events {
            let status = match event.get("type").and_then(Value::as_str) {
                Some("session.mcp_servers_loaded") => {
                    loaded = true;
                    event
                        .pointer("/data/servers")
                        .and_then(Value::as_array)
                        .and_then(|servers| {
                            servers
                                .iter()
                                .find(|s| s.get("name").and_then(Value::as_str) == Some(server))
                        })
                        .and_then(|s| s.get("status").and_then(Value::as_str))
                }
                Some("session.mcp_server_status_changed")
                    if event.pointer("/data/serverName").and_then(Value::as_str)
                        == Some(server) =>
                {
                    event.pointer("/data/status").and_then(Value::as_str)
                }
                _ => None,
            };
            if let Some(status) = status {
                latest = Some((status.to_owned(), event.to_string()));
            }
            if loaded && latest.as_ref().is_some_and(|(s, _)| s != "pending") {
                return latest;
            }
        }
        latest
    }

    /// What `/mcp list` says of `server` ("• mock — connected"), asked again while it says the
    /// connection is under way, at most [`MENU_TIMEOUT`].
    fn listed_status(
        &self,
        session: &mut TerminalSession,
        server: &str,
    ) -> Result<String, DriveError> {
        let marker = format!("• {server} —");
        let started = Instant::now();
        loop {
            self.slash_command(session, "/mcp list")?;
            let shown = session.wait_for(
                "`/mcp list` to list the server",
                Duration::from_secs(5),
                |s| s.contains(&marker),
            );
            let line = shown
                .ok()
                .and_then(|screen| {
                    screen
                        .lines()
                        .rfind(|l| l.contains(&marker))
                        .map(|l| l.trim().trim_start_matches('•').trim().to_owned())
                })
                .unwrap_or_default();
            let settling = line.is_empty() || contains_any(&line, &["pending", "connecting"]);
            if !settling || started.elapsed() >= MENU_TIMEOUT {
                return Ok(if line.is_empty() {
                    format!("`/mcp list` did not list {server}")
                } else {
                    format!("`/mcp list`: {line}")
                });
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Closes the MCP panel `/mcp auth` leaves open ("… · esc close"), back to the input line.
    fn close_panel(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        for _ in 0..3 {
            if !session.screen().contains(PANEL_FOOTER) {
                break;
            }
            session.press(Key::Escape)?;
            let _ = session.wait_for("the MCP panel to close", Duration::from_secs(3), |s| {
                !s.contains(PANEL_FOOTER)
            });
        }
        session.wait_for("the session's status line", MENU_TIMEOUT, |s| {
            s.contains(IDLE_LINE) && !s.contains(PANEL_FOOTER)
        })?;
        Ok(())
    }

    /// Types a slash command and submits it once it shows in the input line.
    fn slash_command(
        &self,
        session: &mut TerminalSession,
        command: &str,
    ) -> Result<(), DriveError> {
        for _attempt in 0..5 {
            session.type_text(command)?;
            if session
                .wait_for(
                    "the command in the input line",
                    Duration::from_secs(4),
                    |s| s.contains(command),
                )
                .is_ok()
            {
                // Its completion menu takes a moment to follow the text.
                std::thread::sleep(Duration::from_millis(300));
                session.press(Key::Enter)?;
                return Ok(());
            }
            // Ctrl-U clears the line.
            session.type_text("\x15")?;
        }
        Err(DriveError::Unexpected {
            what: format!("{command:?} never showed in the input line"),
            detail: session.screen(),
        })
    }
}

impl ClientUnderTest for CopilotCli {
    fn name(&self) -> &'static str {
        "copilot-cli"
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        const ENV: &str = "COPILOT_OFFLINE=true COPILOT_PROVIDER_BASE_URL=<model>/v1 COPILOT_PROVIDER_API_KEY=x COPILOT_MODEL=gpt-4o";
        match step {
            Step::AddServer { server, url, .. } => format!(
                "# ~/.copilot/mcp-config.json: mcpServers.{server} = {{\"type\": \"http\", \"url\": \"{url}\", \"tools\": [\"*\"]}}"
            ),
            Step::ServerStatus => format!(
                "{ENV} copilot -p 'Say hello.' --output-format json    # read session.mcp_servers_loaded"
            ),
            Step::LoginCommand { .. } => "# Copilot CLI has no MCP login command".to_owned(),
            Step::InSessionLogin { server, then, .. } => format!(
                "{ENV} COPILOT_ALLOW_ALL=true copilot --allow-all-tools    # then: /mcp auth {server}{}",
                if then.is_empty() {
                    String::new()
                } else {
                    format!("; {then}")
                }
            ),
            Step::SessionPrompt { prompt, .. } => {
                format!("{ENV} COPILOT_ALLOW_ALL=true copilot --allow-all-tools    # then type: {prompt}")
            }
            Step::Print { prompt, .. } => format!(
                "{ENV} copilot -p '{prompt}' --allow-all-tools --trust-folder --output-format json"
            ),
        }
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        let mut config = Self::read_config(env)?;
        let servers = config
            .as_object_mut()
            .map(|o| o.entry("mcpServers").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| DriveError::Setup("mcp-config.json is not an object".to_owned()))?;
        servers.insert(
            server.to_owned(),
            json!({"type": "http", "url": url, "tools": ["*"]}),
        );
        let path = Self::config_path(env);
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(
                &path,
                serde_json::to_vec_pretty(&config).map_err(std::io::Error::other)?,
            )
        };
        write().map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
    }

    fn add_http_server_with_header(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        header: &str,
        value: &str,
    ) -> Result<(), DriveError> {
        // mcp-config.json's `headers` of an http server.
        let mut config = Self::read_config(env)?;
        let servers = config
            .as_object_mut()
            .map(|o| o.entry("mcpServers").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| DriveError::Setup("mcp-config.json is not an object".to_owned()))?;
        servers.insert(
            server.to_owned(),
            json!({"type": "http", "url": url, "headers": {header: value}, "tools": ["*"]}),
        );
        let path = Self::config_path(env);
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(
                &path,
                serde_json::to_vec_pretty(&config).map_err(std::io::Error::other)?,
            )
        };
        write().map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
    }

    fn server_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError> {
        // `copilot mcp list` and `mcp get` only read the configuration (no request reaches the
        // server), so the status is what a fresh `-p` run reports once it has loaded its servers;
        // the run is ended there, before it asks the model anything.
        let seen = std::cell::RefCell::new(Vec::new());
        let settled = |e: &Value| {
            let mut seen = seen.borrow_mut();
            seen.push(e.clone());
            Self::settled_status(&seen, server).is_some_and(|(s, _)| s != "pending")
                && seen.iter().any(|e| {
                    e.get("type").and_then(Value::as_str) == Some("session.mcp_servers_loaded")
                })
        };
        let (_, events, output, _) = self.prompt_run(env, "Say hello.", STATUS_TIMEOUT, settled)?;
        let Some((status, line)) = Self::settled_status(&events, server) else {
            return Ok(ServerStatus::Unrecognised(output));
        };
        Ok(match status.as_str() {
            "needs-auth" => ServerStatus::NeedsAuth(line),
            "connected" => ServerStatus::Connected(line),
            "failed" | "error" | "disconnected" => ServerStatus::Failed(line),
            _ => ServerStatus::Unrecognised(line),
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
            LoginPath::AutomaticAtConnect | LoginPath::SlashMcp => Ok(Ok(())),
            LoginPath::LoginCommand => {
                let out = self.run(env, &["mcp", "--help"])?;
                let help = format!("{}{}", out.stdout, out.stderr);
                let commands: Vec<String> = help
                    .lines()
                    .skip_while(|l| !l.trim_start().starts_with("Commands:"))
                    .skip(1)
                    .take_while(|l| !l.trim().is_empty())
                    .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                    .collect();
                if commands.iter().any(|c| c == "login" || c == "auth") {
                    return Err(DriveError::Unexpected {
                        what: "this version lists an MCP login command the driver does not know"
                            .to_owned(),
                        detail: help,
                    });
                }
                Ok(Err(Absent {
                    evidence: format!(
                        "`copilot mcp --help` ({}) lists no login command: {}",
                        self.install.version,
                        commands.join(", ")
                    ),
                }))
            }
            // Whether the model is offered an authenticate pseudo-tool shows in a live session's
            // model requests: the agent scenarios earn "not applicable" there, with the request as
            // evidence.
            LoginPath::AuthenticateTool | LoginPath::PastedCallback => Ok(Ok(())),
        }
    }

    fn start_session_with(
        &self,
        env: &RunEnv<'_>,
        _options: &SessionOptions,
    ) -> Result<TerminalSession, DriveError> {
        let mut session = self.spawn_tui(env)?;
        if let Err(e) = self.settle_into_session(&mut session) {
            session.terminate();
            return Err(e);
        }
        Ok(session)
    }

    fn send_prompt(&self, session: &mut TerminalSession, text: &str) -> Result<(), DriveError> {
        // Keys typed before the input line is ready are dropped: retype until the text shows.
        let probe: String = text.chars().take(40).collect();
        for _attempt in 0..5 {
            session.type_text(text)?;
            if session
                .wait_for(
                    "the prompt in the input line",
                    Duration::from_secs(4),
                    |s| s.contains(&probe),
                )
                .is_ok()
            {
                std::thread::sleep(Duration::from_millis(200));
                session.press(Key::Enter)?;
                return Ok(());
            }
            session.type_text("\x15")?;
        }
        Err(DriveError::Unexpected {
            what: format!("the prompt {probe:?} never showed in the input line"),
            detail: session.screen(),
        })
    }

    fn allow_pending_tool_call(
        &self,
        _session: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError> {
        // Sessions run with `--allow-all-tools`: nothing asks.
        Ok(None)
    }

    fn exit_session(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        let _ = self.slash_command(session, "/exit");
        if session.wait_exit(Duration::from_secs(10)).is_err() {
            session.press(Key::CtrlC)?;
            session.press(Key::CtrlC)?;
            if session.wait_exit(Duration::from_secs(5)).is_err() {
                session.terminate();
            }
        }
        Ok(())
    }

    fn mcp_tool_name(&self, server: &str, tool: &str) -> String {
        // The canonical name the model stand-in uses for every client; Copilot's wire name is
        // mapped to it (mock-server's model_api/naming.rs).
        format!("mcp__{server}__{tool}")
    }

    fn needs_auth_state(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<NeedsAuthState, DriveError> {
        // Copilot CLI keeps no needs-auth list: the server needs authentication when no token is
        // stored for its URL.
        let url = Self::server_url(env, server)?;
        let files = Self::stored_files(env, &url);
        let token = Self::stored_access_token(env, &url);
        Ok(NeedsAuthState {
            names_server: token.is_none(),
            evidence: match (&files, &token) {
                (Some((reg, tokens)), Some(_)) => format!(
                    "~/{OAUTH_DIR}: {} registers {url} and {} holds an access token",
                    file_name(reg),
                    file_name(tokens)
                ),
                (Some((reg, tokens)), None) => format!(
                    "~/{OAUTH_DIR}: {} registers {url}, but {} holds no access token",
                    file_name(reg),
                    file_name(tokens)
                ),
                (None, _) => format!("~/{OAUTH_DIR} holds no registration for {url}"),
            },
        })
    }

    fn plant_needs_auth(&self, env: &RunEnv<'_>, server: &str) -> Result<(), DriveError> {
        // The state that makes Copilot CLI treat the server as needing authentication: every
        // tokens file holding the server's access token removed (the registration stays).
        let url = Self::server_url(env, server)?;
        let token = Self::stored_access_token(env, &url);
        let dir = Self::oauth_dir(env);
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| DriveError::Setup(format!("planting in {}: {e}", dir.display())))?;
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            if !path.to_string_lossy().ends_with(".tokens.json") {
                continue;
            }
            let holds = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| {
                    v.get("accessToken")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            let ours = Self::stored_files(env, &url).is_some_and(|(_, t)| t == path);
            if ours || (token.is_some() && holds == token) {
                std::fs::remove_file(&path).map_err(|e| {
                    DriveError::Setup(format!("planting: removing {}: {e}", path.display()))
                })?;
            }
        }
        Ok(())
    }

    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        prompt: &str,
        _options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        let (status, events, output, _) = self.prompt_run(env, prompt, PRINT_TIMEOUT, |_| false)?;
        let loaded = Self::settled_status(&events, server);
        Ok(PrintOutcome {
            server_status: loaded.as_ref().map(|(s, _)| s.clone()),
            first_line: loaded
                .map(|(_, line)| line)
                .unwrap_or_else(|| "(no session.mcp_servers_loaded line)".to_owned()),
            exit: format!("{status:?}"),
            output,
        })
    }

    fn login_at_connect(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        _prompt: &str,
        _options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        // Copilot CLI logs in by itself only when its TUI starts (`-p` reports `needs-auth` and
        // goes on): start it, consent to the URL it opens, wait for its token file, then for the
        // session to settle, and leave.
        let url = Self::server_url(env, server)?;
        let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
        browser.skip_logged();
        let mut session = self.spawn_tui(env)?;
        let result = (|| -> Result<PrintOutcome, DriveError> {
            let authorize = browser.wait_for_url(BROWSER_TIMEOUT)?;
            let consent = browser.complete_consent(&authorize)?;
            let token = self.wait_for_token_file(env, &url);
            self.settle_into_session(&mut session)?;
            // The session's own word on the server once its connection has settled (`/mcp list`:
            // "• mock — connected"), before the session is left.
            let said = self.listed_status(&mut session, server)?;
            let screen = session.screen();
            Ok(PrintOutcome {
                // The session's word, where `/mcp list` gave one ("mock — connected").
                server_status: said
                    .rsplit_once('—')
                    .map(|(_, status)| status.trim().to_owned())
                    .or_else(|| token.is_none().then(|| "needs-auth".to_owned())),
                first_line: format!(
                    "the TUI opened the browser by itself; consent redirected to {} ({}); token file {}; the session says: {said}",
                    consent.callback_url,
                    consent.callback_status,
                    if token.is_some() { "written" } else { "never written" },
                ),
                exit: "left running until the end of the run".to_owned(),
                output: screen,
            })
        })();
        let _ = self.exit_session(&mut session);
        session.terminate();
        result
    }

    fn authenticate_in_session(
        &self,
        session: &mut TerminalSession,
        server: &str,
        browser: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError> {
        let command = format!("/mcp auth {server}");
        self.slash_command(session, &command)?;
        // Either the command opens the browser, or (the start-up flow still waiting) it shows the
        // pending URL: that one is opened, as a person would copy it.
        let started = Instant::now();
        let authorize = loop {
            if let Ok(url) = browser.wait_for_url(Duration::from_millis(100)) {
                break url;
            }
            let screen = session.screen();
            if let Some(url) = url_in_box(&screen) {
                break url;
            }
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
            if started.elapsed() >= BROWSER_TIMEOUT {
                return Err(DriveError::Timeout {
                    what: format!("`{command}` to open the browser or show its URL"),
                    secs: BROWSER_TIMEOUT.as_secs_f64(),
                    detail: screen,
                });
            }
        };
        let consent = browser.complete_consent(&authorize)?;
        let waited = session.wait_for(
            "the client to report the authentication's result",
            AUTH_TIMEOUT,
            |s| s.contains(AUTH_SUCCESS) || contains_any(s, AUTH_FAILURE_WORDS),
        );
        let screen = session.screen();
        let success = line_with(&screen, AUTH_SUCCESS);
        let failure = AUTH_FAILURE_WORDS
            .iter()
            .find_map(|w| line_with(&screen, w));
        if let Err(e) = waited {
            if success.is_none() && failure.is_none() {
                return Err(e.into());
            }
        }
        let detail = line_with(&screen, &format!("authenticated with {server}"));
        // "enter to continue" closes the result box, onto the MCP panel ("esc close").
        if screen.contains("enter to continue") {
            session.press(Key::Enter)?;
            let _ = session.wait_for("the result box to close", MENU_TIMEOUT, |s| {
                !s.contains("enter to continue")
            });
        }
        self.close_panel(session)?;
        let message = [success.clone(), detail, failure.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        Ok(AuthOutcome {
            consent,
            succeeded: success.is_some() && failure.is_none(),
            client_message: if message.is_empty() {
                "(the client printed no result)".to_owned()
            } else {
                message
            },
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
            Ok(()) => "Copilot CLI has no MCP login command".to_owned(),
        };
        Err(DriveError::NoSuchPath {
            path: "login-command",
            evidence,
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pending_url_is_joined_across_the_boxs_lines() {
        // 1.0.102, `/mcp auth mock` while the start-up flow waited (cut to a narrow box).
        let screen = " ◎ A browser authorization is already in progress for this server. Open the URL below to complete it.\n\
                      ╭──────────╮\n\
                      │ If your browser didn't open, copy this URL manually:      │\n\
                      │ http://127.0.0.1:5/oauth/authorize?response_type=code&sta │\n\
                      │ te=abc&scope=mcp                                          │\n\
                      │ Press c to copy this URL to the clipboard.                │\n\
                      ╰──────────╯\n";
        assert_eq!(
            url_in_box(screen).as_deref(),
            Some("http://127.0.0.1:5/oauth/authorize?response_type=code&state=abc&scope=mcp")
        );
        assert_eq!(url_in_box("no box here"), None);
    }

    #[test]
    fn the_status_is_read_once_the_servers_are_loaded_and_settled() {
        let events: Vec<Value> = [
            r#"{"type":"session.mcp_server_status_changed","data":{"serverName":"mock","status":"pending"}}"#,
            r#"{"type":"session.mcp_servers_loaded","data":{"servers":[{"name":"mock","status":"needs-auth"}]}}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
        assert_eq!(
            CopilotCli::settled_status(&events, "mock").map(|(s, _)| s),
            Some("needs-auth".to_owned())
        );
        assert_eq!(CopilotCli::settled_status(&events, "other"), None);
        // Loaded while still pending: the status settles with a later change.
        let events: Vec<Value> = [
            r#"{"type":"session.mcp_servers_loaded","data":{"servers":[{"name":"mock","status":"pending"}]}}"#,
            r#"{"type":"session.mcp_server_status_changed","data":{"serverName":"mock","status":"connected"}}"#,
            r#"{"type":"session.mcp_server_status_changed","data":{"serverName":"mock","status":"needs-auth"}}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
        assert_eq!(
            CopilotCli::settled_status(&events[..1], "mock").map(|(s, _)| s),
            Some("pending".to_owned())
        );
        assert_eq!(
            CopilotCli::settled_status(&events, "mock").map(|(s, _)| s),
            Some("connected".to_owned())
        );
    }
}
