//! opencode (sst's `opencode-ai`) as a client under test, and the driver its fork Kilo shares
//! (`clients::kilo`): the two differ only in names, paths and environment prefixes ([`Flavor`]).
//!
//! opencode is configured by its own `opencode.json` (`$XDG_CONFIG_HOME/opencode/`), written by
//! the harness: a provider `@ai-sdk/openai-compatible` whose `baseURL` is the run's model
//! stand-in (Chat Completions), the model `mock/mock-model`, and each server as
//! `{"type": "remote", "url": …, "oauth": {"callbackPort": <a free port>}}`. The callback
//! listener is fixed at 127.0.0.1:19876 unless `oauth.callbackPort` is set, so each server added
//! gets a port free when it was added: parallel runs do not fight over one port.
//!
//! Login paths: `opencode mcp auth <server>` (no terminal needed; it opens the URL with
//! `xdg-open`, which the sandbox's shim hands to the scripted browser), and in a session the
//! app's authenticate. A session is `opencode serve`, the server process the TUI and the web app
//! run their sessions in (it holds the MCP connections), driven through the HTTP API they use:
//! the in-session login is `POST /mcp/<name>/auth/authenticate` (what the app's MCP toggle
//! calls: it opens the browser and answers once the server reconnected), and each prompt is a
//! `run --attach <server>` whose agent loop and MCP calls run in that server. The TUI's own
//! screens are not driven. Headless runs: `opencode run --format json -m mock/mock-model "…"`.

pub mod package;

pub use package::PACKAGE;

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::clients::catalog::ClientKind;
use crate::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, ModelWire, NeedsAuthState,
    PrintOutcome, RunEnv, ServerStatus, SessionOptions, Step,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::command::{CommandOutput, CommandSpec};
use crate::drive::terminal::{Key, TerminalSession};
use crate::store::versions::InstalledVersion;

/// Terminal size for `mcp auth`: wide enough that the authorize URL is not cut.
const ROWS: u16 = 50;
const COLS: u16 = 400;

/// Bound on a non-interactive subcommand (`mcp list`, `--help`): 1.18.33's `mcp list` takes
/// about 4 s here (it starts its server and connects to each MCP server).
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the client opening the browser after `mcp auth` starts: it connects, discovers and
/// registers first (about 4 s measured).
const BROWSER_TIMEOUT: Duration = Duration::from_secs(45);
/// Bound on the whole OAuth round trip once consent is given (the token exchange and one
/// reconnect).
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on `mcp auth` exiting once it printed its result ("Done").
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on a whole `opencode run`: start-up (about 4 s), the MCP connection and a few model
/// turns against the stand-in, which answers at once.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

/// Bound on `serve` printing the address it listens on (start-up takes about 2 s here).
const SERVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one request to the running server that does not wait for a person (status).
const API_TIMEOUT: Duration = Duration::from_secs(30);
/// What `serve` prints once it listens: `opencode server listening on http://127.0.0.1:<port>`.
const LISTENING: &str = "server listening on http://";

/// The provider and model names in the harness's config.
const PROVIDER: &str = "mock";
const MODEL: &str = "mock-model";
const API_KEY: &str = "sk-mock";

/// `mcp auth`: what it prints when it finishes (1.18.33's wording).
const AUTH_SUCCESS: &str = "Authentication successful";
const AUTH_FAILURES: &[&str] = &["Authentication failed", "Unexpected status:"];
/// `mcp auth` asks this (a yes/no question) when valid credentials are stored already.
const REAUTH_QUESTION: &str = "Re-authenticate?";

/// What differs between opencode and a fork of it.
#[derive(Debug)]
pub struct Flavor {
    /// The client's name in the harness (`opencode`).
    pub name: &'static str,
    /// The command a person types (`opencode`), for reproduce scripts and messages.
    pub command: &'static str,
    /// The config file, relative to HOME (under `$XDG_CONFIG_HOME`).
    pub config: &'static str,
    /// The OAuth token store, relative to HOME (under `$XDG_DATA_HOME`).
    pub tokens: &'static str,
    /// The prefix of its environment variables (`OPENCODE` in `OPENCODE_DISABLE_AUTOUPDATE`).
    pub env_prefix: &'static str,
    /// The config's `$schema`.
    pub schema: &'static str,
    /// More `DISABLE_*` switches of this flavor (after the prefix), beside the ones opencode has.
    pub also_disable: &'static [&'static str],
}

/// opencode's names.
pub static OPENCODE: Flavor = Flavor {
    name: "opencode",
    command: "opencode",
    config: ".config/opencode/opencode.json",
    tokens: ".local/share/opencode/mcp-auth.json",
    env_prefix: "OPENCODE",
    schema: "https://opencode.ai/config.json",
    also_disable: &[],
};

/// opencode in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "opencode",
    summary: "sst's opencode (OpenAI Chat Completions through @ai-sdk/openai-compatible)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::LoginCommand, LoginPath::SlashMcp],
    model_wire: ModelWire::OpenaiChat,
    configured_by: "$XDG_CONFIG_HOME/opencode/opencode.json written by the harness (`opencode mcp add --url` cannot set the `oauth.callbackPort` each run gives its server)",
    token_store: ".local/share/opencode/mcp-auth.json",
    make: |install| Box::new(Opencode::new(install)),
    features: None,
    reference: false,
};

/// The driver of opencode and of its forks.
pub struct Opencode {
    install: InstalledVersion,
    flavor: &'static Flavor,
    /// The running session's server, while one runs.
    served: RefCell<Option<Served>>,
    /// The `run --attach` processes the session's prompts started; ended with the session.
    prompts: RefCell<Vec<TerminalSession>>,
}

/// A running `serve`: the session the in-session scenarios judge.
#[derive(Debug, Clone)]
struct Served {
    /// `http://127.0.0.1:<port>`.
    url: String,
    /// The project directory its requests name (the sandbox's working directory).
    directory: String,
    /// How the session's `run --attach` processes are started: the session's command line.
    spec: CommandSpec,
}

impl Opencode {
    pub fn new(install: InstalledVersion) -> Opencode {
        Opencode::with_flavor(install, &OPENCODE)
    }

    /// The driver for a fork of opencode.
    pub fn with_flavor(install: InstalledVersion, flavor: &'static Flavor) -> Opencode {
        Opencode {
            install,
            flavor,
            served: RefCell::new(None),
            prompts: RefCell::new(Vec::new()),
        }
    }

    fn config_path(&self, env: &RunEnv<'_>) -> PathBuf {
        env.sandbox.home().join(self.flavor.config)
    }

    fn tokens_path(&self, env: &RunEnv<'_>) -> PathBuf {
        env.sandbox.home().join(self.flavor.tokens)
    }

    /// The environment variables the harness sets for every command (besides the sandbox's).
    fn own_env(&self) -> Vec<(String, String)> {
        // No update check or download, no model list from models.dev, no default plugins or
        // LSP servers fetched from npm, no sharing: nothing but the sandbox's servers is asked.
        [
            "DISABLE_AUTOUPDATE",
            "DISABLE_MODELS_FETCH",
            "DISABLE_DEFAULT_PLUGINS",
            "DISABLE_LSP_DOWNLOAD",
            "DISABLE_SHARE",
            "DISABLE_CLAUDE_CODE",
        ]
        .iter()
        .chain(self.flavor.also_disable)
        .map(|name| (format!("{}_{name}", self.flavor.env_prefix), "1".to_owned()))
        .collect()
    }

    fn command(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandSpec, DriveError> {
        // The config is read at start-up; make sure it exists even before a server is added.
        if !self.config_path(env).is_file() {
            self.write_config(env, &self.base_config(env))?;
        }
        let mut spec = self.install.command(args.iter().map(|a| (*a).to_owned()));
        spec.envs(&env.sandbox.client_env())
            .envs(&self.own_env())
            .cwd(env.sandbox.work_dir());
        Ok(spec)
    }

    fn run_unchecked(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandOutput, DriveError> {
        let spec = self.command(env, args)?;
        let out = spec.run(SUBCOMMAND_TIMEOUT)?;
        if out.timed_out {
            return Err(DriveError::Timeout {
                what: format!("`{}` to finish", spec.shell_line()),
                secs: SUBCOMMAND_TIMEOUT.as_secs_f64(),
                detail: format!("{}{}", out.stdout, out.stderr),
            });
        }
        Ok(out)
    }

    fn run(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandOutput, DriveError> {
        let out = self.run_unchecked(env, args)?;
        if out.status != Some(0) {
            return Err(DriveError::Failed {
                command: self.command(env, args)?.shell_line(),
                status: format!("exit {:?}", out.status),
                output: format!("{}{}", out.stdout, out.stderr),
            });
        }
        Ok(out)
    }

    /// The config the harness gives the client, without any MCP server.
    fn base_config(&self, env: &RunEnv<'_>) -> Value {
        let base_url = format!("{}/v1", env.model_api_url.trim_end_matches('/'));
        json!({
            "$schema": self.flavor.schema,
            "autoupdate": false,
            "share": "disabled",
            "model": format!("{PROVIDER}/{MODEL}"),
            "small_model": format!("{PROVIDER}/{MODEL}"),
            "provider": {
                PROVIDER: {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "Model stand-in",
                    "options": { "baseURL": base_url, "apiKey": API_KEY },
                    "models": { MODEL: { "name": MODEL } }
                }
            },
            "mcp": {}
        })
    }

    fn read_config(&self, env: &RunEnv<'_>) -> Result<Value, DriveError> {
        let path = self.config_path(env);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| DriveError::Unexpected {
                what: format!("{} is not JSON", path.display()),
                detail: format!("{e}: {text}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(self.base_config(env)),
            Err(e) => Err(DriveError::Setup(format!(
                "reading {}: {e}",
                path.display()
            ))),
        }
    }

    fn write_config(&self, env: &RunEnv<'_>, config: &Value) -> Result<(), DriveError> {
        let path = self.config_path(env);
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(
                &path,
                serde_json::to_vec_pretty(config).map_err(std::io::Error::other)?,
            )
        };
        write().map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
    }

    /// Adds `server` with the given `oauth` settings to the config.
    fn add_server(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        oauth: Value,
    ) -> Result<(), DriveError> {
        let mut config = self.read_config(env)?;
        let Some(root) = config.as_object_mut() else {
            return Err(DriveError::Setup(format!(
                "{} is not a JSON object",
                self.config_path(env).display()
            )));
        };
        let servers = root.entry("mcp").or_insert_with(|| json!({}));
        if !servers.is_object() {
            *servers = json!({});
        }
        servers[server] = json!({ "type": "remote", "url": url, "oauth": oauth });
        self.write_config(env, &config)
    }

    /// The token store's entry for `server`, and the store's text ("" when there is none).
    fn stored(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<(Option<Value>, String), DriveError> {
        let path = self.tokens_path(env);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, String::new())),
            Err(e) => {
                return Err(DriveError::Unexpected {
                    what: format!("reading {}", path.display()),
                    detail: e.to_string(),
                })
            }
        };
        let parsed: Value = serde_json::from_str(&text).map_err(|e| DriveError::Unexpected {
            what: format!("{} is not JSON", path.display()),
            detail: format!("{e}: {text}"),
        })?;
        Ok((parsed.get(server).cloned(), text))
    }

    /// The running session's server, or the error that says none runs.
    fn served(&self) -> Result<Served, DriveError> {
        self.served
            .borrow()
            .clone()
            .ok_or_else(|| DriveError::Unexpected {
                what: format!("no {} session is running", self.flavor.name),
                detail: "start_session must come first".to_owned(),
            })
    }

    /// A request to the running server's HTTP API (the one its TUI and web app use), bounded by
    /// `timeout`; the status and the body.
    fn api(
        served: &Served,
        method: reqwest::Method,
        path: &str,
        timeout: Duration,
    ) -> Result<(u16, String), DriveError> {
        let url = format!("{}{path}", served.url);
        let failed = |e: reqwest::Error| DriveError::Unexpected {
            what: format!("{method} {url}"),
            detail: e.to_string(),
        };
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(failed)?;
        let response = http
            .request(method.clone(), &url)
            .query(&[("directory", served.directory.as_str())])
            .send()
            .map_err(failed)?;
        let status = response.status().as_u16();
        let body = response.text().map_err(failed)?;
        Ok((status, body))
    }

    /// Ends every `run --attach` the session started.
    fn end_prompts(&self) {
        for mut prompt in self.prompts.borrow_mut().drain(..) {
            prompt.terminate();
        }
    }
}

impl Drop for Opencode {
    fn drop(&mut self) {
        self.end_prompts();
    }
}

/// A free loopback port, for a server's OAuth callback listener. It is free when asked; the
/// client binds it only while a login runs, so another process could take it in between, which
/// would show as a failed login that names the port, never as a wrong verdict.
fn free_port() -> Result<u16, DriveError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| DriveError::Setup(format!("finding a free loopback port: {e}")))
}

/// The first line of `text` holding `needle`, trimmed of the spinner's and the frame's marks.
fn line_with(text: &str, needle: &str) -> Option<String> {
    text.lines().find(|l| l.contains(needle)).map(|l| {
        l.trim()
            .trim_start_matches(['│', '◇', '■', '●', '▲'])
            .trim()
            .to_owned()
    })
}

/// The server's line in `mcp list` (`● ✓ mock connected`, `● ⚠ mock needs authentication`), and
/// the lines under it up to the next server, joined.
fn list_entry(stdout: &str, server: &str) -> Option<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines.iter().position(|l| {
        l.split_whitespace()
            .find(|w| w.chars().any(|c| c.is_alphanumeric()))
            == Some(server)
    })?;
    let mut entry = vec![lines[at].trim().to_owned()];
    for line in &lines[at + 1..] {
        let t = line.trim_start_matches(['│', ' ']).trim();
        if t.is_empty() || t.starts_with('●') || t.starts_with('└') {
            break;
        }
        entry.push(t.to_owned());
    }
    Some(entry.join(" "))
}

/// The status words 1.18.33's `mcp list` prints after the server's name.
fn status_of_entry(entry: &str) -> ServerStatus {
    let text = entry.to_owned();
    if entry.contains("needs authentication") {
        ServerStatus::NeedsAuth(text)
    } else if entry.contains("needs client registration") || entry.contains("failed") {
        ServerStatus::Failed(text)
    } else if entry.contains("connected") {
        ServerStatus::Connected(text)
    } else {
        ServerStatus::Unrecognised(text)
    }
}

/// What `run --format json` (one JSON event a line) says about `server`: `connected` when a call
/// of one of its tools completed; else, from the log on stderr (`--print-logs`), the status of
/// 1.18.33's warning `message="server unavailable" key=<server> type=remote status=needs_auth`
/// (`needs_auth` → `needs-auth`, anything else → `failed`); else `connected` when the run exited
/// 0 (the warning is logged for every server that did not connect). None when nothing said.
fn run_server_status(
    stdout: &str,
    stderr: &str,
    server: &str,
    exit: Option<i32>,
) -> Option<String> {
    let prefix = format!("{server}_");
    let mut status = None;
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if event["type"] != "tool_use" {
            continue;
        }
        let part = &event["part"];
        if !part["tool"]
            .as_str()
            .is_some_and(|t| t.starts_with(&prefix))
        {
            continue;
        }
        match part["state"]["status"].as_str() {
            Some("completed") => status = Some("connected".to_owned()),
            Some("error") if status.is_none() => status = Some("failed".to_owned()),
            _ => {}
        }
    }
    if status.as_deref() == Some("connected") {
        return status;
    }
    let key = format!("key={server} ");
    let unavailable = stderr
        .lines()
        .filter(|l| l.contains("server unavailable") && l.contains(&key))
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("status=")))
        .next_back();
    match unavailable {
        Some("needs_auth") => Some("needs-auth".to_owned()),
        Some(_) => Some("failed".to_owned()),
        None if status.is_some() => status,
        None if exit == Some(0) => Some("connected".to_owned()),
        None => None,
    }
}

impl ClientUnderTest for Opencode {
    fn name(&self) -> &'static str {
        self.flavor.name
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn prepare(&self, env: &RunEnv<'_>) -> Result<(), DriveError> {
        self.write_config(env, &self.base_config(env))
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        let cmd = self.flavor.command;
        let env = format!(
            "{0}_DISABLE_AUTOUPDATE=1 {0}_DISABLE_MODELS_FETCH=1",
            self.flavor.env_prefix
        );
        match step {
            Step::AddServer { server, url, client_id } => format!(
                "# the harness writes ~/{} (model provider: the model stand-in): \"mcp\": {{\"{server}\": {{\"type\": \"remote\", \"url\": \"{url}\", \"oauth\": {{{}\"callbackPort\": <a free port>}}}}}}",
                self.flavor.config,
                client_id.map(|(id, _)| format!("\"clientId\": \"{id}\", ")).unwrap_or_default()
            ),
            Step::ServerStatus => format!("{env} {cmd} mcp list"),
            Step::LoginCommand { server, note: "" } => {
                format!("{env} {cmd} mcp auth {server}    # it opens the URL with xdg-open")
            }
            Step::LoginCommand { server, note } => format!("{env} {cmd} mcp auth {server}    # {note}"),
            Step::InSessionLogin { server, then, .. } => format!(
                "{env} {cmd} serve --port 4096 &    # then: curl -X POST 'http://127.0.0.1:4096/mcp/{server}/auth/authenticate?directory='\"$PWD\"    # what the app's authenticate calls{}",
                if then.is_empty() { String::new() } else { format!("; {then}") }
            ),
            Step::SessionPrompt { prompt, .. } => format!(
                "{env} {cmd} run --attach http://127.0.0.1:4096 --dir \"$PWD\" --format json -m {PROVIDER}/{MODEL} '{prompt}'"
            ),
            Step::Print { prompt, .. } => format!(
                "{env} {cmd} run --format json --print-logs --log-level INFO -m {PROVIDER}/{MODEL} '{prompt}'"
            ),
        }
    }

    /// The `oauth.callbackPort` the harness wrote for the server (a free port per run).
    fn configured_callback_port(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<Option<u16>, DriveError> {
        let config = self.read_config(env)?;
        Ok(config
            .get("mcp")
            .and_then(|m| m.get(server))
            .and_then(|e| e.get("oauth"))
            .and_then(|o| o.get("callbackPort"))
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok()))
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        let port = free_port()?;
        self.add_server(env, server, url, json!({ "callbackPort": port }))
    }

    fn add_http_server_with_header(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        header: &str,
        value: &str,
    ) -> Result<(), DriveError> {
        // A remote server's `headers`; no `oauth` block, as a user writes it for an API key.
        self.add_http_server(env, server, url)?;
        let mut config = self.read_config(env)?;
        if let Some(entry) = config.get_mut("mcp").and_then(|m| m.get_mut(server)) {
            entry["headers"] = json!({ header: value });
            if let Some(o) = entry.as_object_mut() {
                o.remove("oauth");
            }
        }
        self.write_config(env, &config)
    }

    fn add_http_server_with_client_id(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        client_id: &str,
        callback_port: u16,
    ) -> Result<(), DriveError> {
        self.add_server(
            env,
            server,
            url,
            json!({ "clientId": client_id, "callbackPort": callback_port }),
        )
    }

    /// The config's `oauth` block has a `clientSecret` beside the `clientId` (the McpOAuth
    /// schema).
    fn add_http_server_with_client_secret(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        client_id: &str,
        client_secret: &str,
        callback_port: u16,
    ) -> Result<(), DriveError> {
        self.add_server(
            env,
            server,
            url,
            json!({
                "clientId": client_id,
                "clientSecret": client_secret,
                "callbackPort": callback_port
            }),
        )
    }

    fn server_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError> {
        let out = self.run(env, &["mcp", "list"])?;
        let text = format!("{}{}", out.stdout, out.stderr);
        Ok(match list_entry(&text, server) {
            Some(entry) => status_of_entry(&entry),
            None => ServerStatus::Unrecognised(text),
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
            LoginPath::LoginCommand => {
                let out = self.run_unchecked(env, &["mcp", "auth", "--help"])?;
                let text = format!("{}{}", out.stdout, out.stderr);
                if out.status == Some(0) && text.contains("authenticate") {
                    Ok(Ok(()))
                } else {
                    Ok(Err(Absent {
                        evidence: format!(
                            "`{} mcp auth --help` exited {:?} without describing an authentication: {}",
                            self.flavor.command,
                            out.status,
                            text.trim()
                        ),
                    }))
                }
            }
            LoginPath::AutomaticAtConnect => Ok(Err(Absent {
                evidence: format!(
                    "{0} never starts OAuth by itself: at the 401 its MCP client marks the \
                     server `needs_auth` (its connect path passes an `onRedirect` that does \
                     nothing) and tells the user \"Server \\\"<name>\\\" requires \
                     authentication. Run: {0} mcp auth <name>\"; `{0} run --print-logs` with no \
                     stored tokens logged `message=\"server unavailable\" key=mock type=remote \
                     status=needs_auth` and opened no browser (measured with 1.18.33)",
                    self.flavor.command
                ),
            })),
            // In a session: the app's authenticate (`POST /mcp/<name>/auth/authenticate` on the
            // running server). The agent scenarios earn "not applicable" from the model's
            // request, whose tool list is the evidence, so the pseudo-tool paths are not ruled
            // out here.
            LoginPath::SlashMcp | LoginPath::AuthenticateTool | LoginPath::PastedCallback => {
                Ok(Ok(()))
            }
        }
    }

    fn start_session_with(
        &self,
        env: &RunEnv<'_>,
        _options: &SessionOptions,
    ) -> Result<TerminalSession, DriveError> {
        // The session is `serve`: the server process the TUI and the web app run their sessions
        // in, which holds the MCP connections. It is driven through the HTTP API they use: its
        // in-session login is the app's `POST /mcp/<name>/auth/authenticate`, and each prompt a
        // `run --attach` that hands the prompt to this server (its agent loop and MCP calls run
        // here, not in the `run` process).
        self.end_prompts();
        let spec = self.command(env, &["serve", "--hostname", "127.0.0.1", "--port", "0"])?;
        let mut session = TerminalSession::spawn(&spec, ROWS, COLS)?;
        let screen = session.wait_for(
            &format!("`{} serve` to listen", self.flavor.command),
            SERVE_TIMEOUT,
            |s| s.contains(LISTENING),
        )?;
        let url = screen
            .lines()
            .find_map(|l| l.split_once(LISTENING).map(|(_, rest)| rest))
            .and_then(|rest| rest.split_whitespace().next())
            .map(|address| format!("http://{address}"))
            .ok_or_else(|| DriveError::Unexpected {
                what: format!("`{}` printed no address", spec.shell_line()),
                detail: screen.clone(),
            })?;
        let served = Served {
            url,
            directory: env.sandbox.work_dir().to_string_lossy().into_owned(),
            spec,
        };
        // The project is opened (and its MCP servers connected) on its first request, as when
        // the TUI starts.
        let (status, body) = Self::api(&served, reqwest::Method::GET, "/mcp", API_TIMEOUT)?;
        if status != 200 {
            session.terminate();
            return Err(DriveError::Unexpected {
                what: format!("GET {}/mcp answered {status}", served.url),
                detail: body,
            });
        }
        *self.served.borrow_mut() = Some(served);
        Ok(session)
    }

    fn send_prompt(&self, _session: &mut TerminalSession, text: &str) -> Result<(), DriveError> {
        let served = self.served()?;
        let model = format!("{PROVIDER}/{MODEL}");
        let mut spec = self.install.command(
            [
                "run",
                "--attach",
                served.url.as_str(),
                "--dir",
                served.directory.as_str(),
                "--format",
                "json",
                "-m",
                model.as_str(),
                text,
            ]
            .map(str::to_owned),
        );
        spec.envs(&served.spec.env);
        if let Some(dir) = &served.spec.cwd {
            spec.cwd(dir);
        }
        // Not waited for here: the turn's end is read from the model's requests, and a client
        // that re-authorizes mid-turn must have the browser answered meanwhile.
        let prompt = TerminalSession::spawn(&spec, ROWS, COLS)?;
        self.prompts.borrow_mut().push(prompt);
        Ok(())
    }

    fn allow_pending_tool_call(
        &self,
        _session: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError> {
        // 1.18.33 asks no permission for an MCP tool (its default for them is "allow"); a
        // question, were one asked, would stop the turn, which the turn's timeout reports.
        Ok(None)
    }

    fn exit_session(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        self.end_prompts();
        self.served.borrow_mut().take();
        // `serve` runs until it is stopped: Ctrl-C, as a person ends it.
        session.press(Key::CtrlC)?;
        if session.wait_exit(EXIT_TIMEOUT).is_err() {
            session.terminate();
        }
        Ok(())
    }

    fn mcp_tool_name(&self, server: &str, tool: &str) -> String {
        // opencode names an MCP tool `<server>_<tool>` (the model stand-in reads it back as
        // `mcp__<server>__<tool>`).
        format!("{server}_{tool}")
    }

    fn needs_auth_state(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<NeedsAuthState, DriveError> {
        // opencode keeps no needs-authentication cache: a server without stored tokens is the
        // one it finds needing authentication when it connects.
        let (entry, text) = self.stored(env, server)?;
        let has_tokens = entry.as_ref().is_some_and(|e| e.get("tokens").is_some());
        let evidence = if text.is_empty() {
            format!(
                "{} keeps no needs-auth cache; ~/{} does not exist, so {server} has no stored tokens",
                self.flavor.name, self.flavor.tokens
            )
        } else {
            format!(
                "{} keeps no needs-auth cache; ~/{} {} tokens for {server}",
                self.flavor.name,
                self.flavor.tokens,
                if has_tokens { "holds" } else { "holds no" }
            )
        };
        Ok(NeedsAuthState {
            names_server: !has_tokens,
            evidence,
        })
    }

    fn plant_needs_auth(&self, env: &RunEnv<'_>, server: &str) -> Result<(), DriveError> {
        // With no needs-auth cache to plant, the fault is the state the client reads as "needs
        // authentication": the server's stored tokens removed.
        let path = self.tokens_path(env);
        let (_, text) = self.stored(env, server)?;
        if text.is_empty() {
            return Ok(());
        }
        let mut parsed: serde_json::Map<String, Value> =
            serde_json::from_str(&text).map_err(|e| {
                DriveError::Setup(format!("{} is not a JSON object: {e}", path.display()))
            })?;
        if let Some(entry) = parsed.get_mut(server).and_then(Value::as_object_mut) {
            entry.remove("tokens");
        }
        std::fs::write(&path, Value::Object(parsed).to_string())
            .map_err(|e| DriveError::Setup(format!("planting {}: {e}", path.display())))
    }

    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        prompt: &str,
        _options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        let model = format!("{PROVIDER}/{MODEL}");
        let args = [
            "run",
            "--format",
            "json",
            "--print-logs",
            "--log-level",
            "INFO",
            "-m",
            model.as_str(),
            prompt,
        ];
        let spec = self.command(env, &args)?;
        let out = spec.run(PRINT_TIMEOUT)?;
        if out.timed_out {
            return Err(DriveError::Timeout {
                what: format!("`{}` to finish", spec.shell_line()),
                secs: PRINT_TIMEOUT.as_secs_f64(),
                detail: format!("{}{}", out.stdout, out.stderr),
            });
        }
        let first_line = out.stdout.lines().next().unwrap_or_default().to_owned();
        Ok(PrintOutcome {
            server_status: run_server_status(&out.stdout, &out.stderr, server, out.status),
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
        let served = self.served()?;
        // The app's "authenticate" (`mcp.auth.authenticate`): it starts the flow, opens the
        // browser and answers when the callback came and the server reconnected.
        let path = format!("/mcp/{server}/auth/authenticate");
        let request = {
            let served = served.clone();
            let path = path.clone();
            std::thread::spawn(move || {
                Self::api(
                    &served,
                    reqwest::Method::POST,
                    &path,
                    BROWSER_TIMEOUT + AUTH_TIMEOUT,
                )
            })
        };
        let url = match browser.wait_for_url(BROWSER_TIMEOUT) {
            Ok(url) => url,
            Err(e) => {
                let answer = if request.is_finished() {
                    request.join().ok().map(|r| format!("{r:?}"))
                } else {
                    None
                };
                return Err(DriveError::Unexpected {
                    what: format!("POST {}{path} did not open the browser", served.url),
                    detail: format!(
                        "{e}\nthe server answered: {}\nscreen:\n{}",
                        answer.unwrap_or_else(|| "nothing yet".to_owned()),
                        session.screen()
                    ),
                });
            }
        };
        let consent = browser.complete_consent(&url)?;
        let started = Instant::now();
        while !request.is_finished() && started.elapsed() < AUTH_TIMEOUT + BROWSER_TIMEOUT {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !request.is_finished() {
            return Err(DriveError::Timeout {
                what: format!("POST {}{path} to answer after the consent", served.url),
                secs: (AUTH_TIMEOUT + BROWSER_TIMEOUT).as_secs_f64(),
                detail: session.screen(),
            });
        }
        let (status, body) = request.join().map_err(|_| DriveError::Unexpected {
            what: "the authenticate request's thread".to_owned(),
            detail: "it panicked".to_owned(),
        })??;
        let connected = serde_json::from_str::<Value>(&body)
            .ok()
            .is_some_and(|v| v["status"] == "connected");
        Ok(AuthOutcome {
            consent,
            succeeded: status == 200 && connected,
            client_message: format!("POST {path} -> {status} {}", body.trim()),
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
        let spec = self.command(env, &["mcp", "auth", server])?;
        // `mcp auth` needs no terminal; one is used so its spinner's last state is readable and
        // it can be ended whatever happens.
        let mut session = TerminalSession::spawn(&spec, ROWS, COLS)?;
        let url = match browser.wait_for_url(BROWSER_TIMEOUT) {
            Ok(url) => url,
            Err(e) => {
                let screen = session.screen();
                session.terminate();
                if screen.contains(REAUTH_QUESTION) {
                    return Err(DriveError::Unexpected {
                        what: format!(
                            "`{} mcp auth {server}` asked whether to re-authenticate",
                            self.flavor.command
                        ),
                        detail: screen,
                    });
                }
                if let Some(failure) = AUTH_FAILURES.iter().find(|f| screen.contains(**f)) {
                    let message =
                        line_with(&screen, failure).unwrap_or_else(|| (*failure).to_owned());
                    return Err(DriveError::Failed {
                        command: spec.shell_line(),
                        status: message,
                        output: screen,
                    });
                }
                return Err(DriveError::Unexpected {
                    what: format!(
                        "`{} mcp auth {server}` did not open the browser",
                        self.flavor.command
                    ),
                    detail: format!("{e}\nscreen:\n{screen}"),
                });
            }
        };
        let consent = match browser.complete_consent(&url) {
            Ok(consent) => consent,
            Err(e) => {
                session.terminate();
                return Err(e.into());
            }
        };
        let mut words = vec![AUTH_SUCCESS];
        words.extend_from_slice(AUTH_FAILURES);
        let seen = session.wait_for_any(
            &format!("`{} mcp auth` to report its result", self.flavor.command),
            AUTH_TIMEOUT,
            &words,
        );
        let seen = match seen {
            Ok(seen) => seen,
            Err(e) => {
                session.terminate();
                return Err(e.into());
            }
        };
        let status = match session.wait_exit(EXIT_TIMEOUT) {
            Ok(status) => status,
            Err(_) => {
                session.press(Key::CtrlC)?;
                session.terminate();
                "did not exit; ended".to_owned()
            }
        };
        let screen = session.screen();
        let client_message = line_with(&screen, &seen).unwrap_or_else(|| seen.clone());
        Ok((
            AuthOutcome {
                consent,
                succeeded: seen == AUTH_SUCCESS && status == "exit code 0",
                client_message,
            },
            format!("{status}\n{screen}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_list_entries_read_as_statuses() {
        let out = "┌  MCP Servers\n│\n●  ⚠ mock needs authentication\n│      http://127.0.0.1:5/\n│\n└  1 server(s)\n";
        assert!(matches!(
            list_entry(out, "mock").map(|e| status_of_entry(&e)),
            Some(ServerStatus::NeedsAuth(_))
        ));
        let out = "●  ✓ mock connected (OAuth)\n│      http://127.0.0.1:5/\n";
        assert!(matches!(
            list_entry(out, "mock").map(|e| status_of_entry(&e)),
            Some(ServerStatus::Connected(_))
        ));
        let out =
            "●  ✗ mock failed\n│      SSE error: Non-200 status code (500)\n│      http://x/\n";
        let entry = list_entry(out, "mock").expect("an entry");
        assert!(entry.contains("Non-200"), "{entry}");
        assert!(matches!(status_of_entry(&entry), ServerStatus::Failed(_)));
        assert_eq!(list_entry(out, "other"), None);
    }

    #[test]
    fn run_events_read_as_a_server_status() {
        let call =
            r#"{"type":"tool_use","part":{"tool":"mock_hello","state":{"status":"completed"}}}"#;
        assert_eq!(
            run_server_status(call, "", "mock", Some(0)).as_deref(),
            Some("connected")
        );
        let other = r#"{"type":"tool_use","part":{"tool":"bash","state":{"status":"completed"}}}"#;
        assert_eq!(run_server_status(other, "", "mock", Some(1)), None);
        let log = "timestamp=… level=WARN run=4719920d message=\"server unavailable\" key=mock type=remote status=needs_auth\n";
        assert_eq!(
            run_server_status("", log, "mock", Some(0)).as_deref(),
            Some("needs-auth")
        );
        assert_eq!(run_server_status("", log, "other", Some(1)), None);
        assert_eq!(
            run_server_status("", "", "mock", Some(0)).as_deref(),
            Some("connected")
        );
    }
}
