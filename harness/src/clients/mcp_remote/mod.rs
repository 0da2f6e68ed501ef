//! mcp-remote's client (`mcp-remote-client`) as a client under test: a reference client.
//!
//! `mcp-remote` is the stdio bridge desktop clients start to reach a remote server; its package
//! also ships `mcp-remote-client <url> [callback-port]`, which does the same connection and OAuth
//! and, instead of bridging, lists the server's tools and exits. It has no model and no session.
//! When the server answers 401 it starts OAuth by itself, opens the authorization URL through
//! `BROWSER` and takes the redirect on `localhost:<callback-port>/oauth/callback`: the harness's
//! [`LoginPath::AutomaticAtConnect`]. Tokens and the registered client are kept under
//! `MCP_REMOTE_CONFIG_DIR` (here `~/.mcp-auth`), so a later run in the same HOME uses them.
//!
//! It quits before it lists tools when its stdin is at end of file (the bridge's peer gone), so
//! stdin is a pipe held open ([`crate::clients::headless`]). `--allow-http` lets it talk to the
//! loopback mock over plain HTTP. The callback port is chosen once per sandbox, free at the time,
//! so two runs at once never share one.

pub mod package;

pub use package::PACKAGE;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::clients::headless::{run_consenting, HeadlessRun};
use crate::clients::kind::ClientKind;
use crate::clients::mcp_inspector::{
    free_loopback_port, last_line, read_state_in, write_state_in, DriverState,
};
use crate::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, ModelWire, NeedsAuthState,
    PrintOutcome, RunEnv, ServerStatus, SessionOptions, Step,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::terminal::TerminalSession;
use crate::store::versions::InstalledVersion;

/// Bound on `--help`: a node start-up.
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one listing run, OAuth included: discovery, registration, the scripted browser's
/// consent and the token exchange are loopback round trips (seconds).
const LISTING_TIMEOUT: Duration = Duration::from_secs(90);

/// Relative to HOME: what the driver was told (the server's URL, the callback port).
const DRIVER_STATE: &str = ".harness-mcp-remote.json";
/// Relative to HOME: `MCP_REMOTE_CONFIG_DIR`, where tokens and client registrations live.
const CONFIG_DIR: &str = ".mcp-auth";

/// mcp-remote in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "mcp-remote",
    summary: "mcp-remote's client, the stdio bridge's connection, a reference client (no model)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::AutomaticAtConnect],
    model_wire: ModelWire::None,
    configured_by: "nothing to configure: the server URL is on each command line",
    token_store: ".mcp-auth/mcp-remote-<version>/<hash>_tokens.json (MCP_REMOTE_CONFIG_DIR)",
    make: |install| Box::new(McpRemote::new(install)),
    features: None,
    reference: true,
};

pub struct McpRemote {
    install: InstalledVersion,
    /// `mcp-remote-client --help`, read once.
    help: OnceCell<String>,
}

/// Every `*_tokens.json` under `dir`, however deep (one folder per mcp-remote version).
fn token_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(token_files(&path));
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("_tokens.json"))
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Tool names from `mcp-remote-client`'s output: it logs the `tools/list` result as JSON.
fn listed_tools(output: &str) -> Option<Vec<String>> {
    let at = output.find("\"tools\"")?;
    let start = output[..at].rfind('{')?;
    let mut stream =
        serde_json::Deserializer::from_str(&output[start..]).into_iter::<serde_json::Value>();
    let value = stream.next()?.ok()?;
    let tools = value.get("tools")?.as_array()?;
    Some(
        tools
            .iter()
            .filter_map(|t| t.get("name").and_then(serde_json::Value::as_str))
            .map(str::to_owned)
            .collect(),
    )
}

impl McpRemote {
    pub fn new(install: InstalledVersion) -> McpRemote {
        McpRemote {
            install,
            help: OnceCell::new(),
        }
    }

    fn client_env(&self, env: &RunEnv<'_>) -> Vec<(String, String)> {
        let mut vars = env.sandbox.client_env();
        let dir = env.sandbox.home().join(CONFIG_DIR);
        vars.retain(|(k, _)| k != "MCP_REMOTE_CONFIG_DIR");
        vars.push((
            "MCP_REMOTE_CONFIG_DIR".to_owned(),
            dir.to_string_lossy().into_owned(),
        ));
        vars
    }

    fn spec(&self, env: &RunEnv<'_>, args: &[&str]) -> crate::drive::command::CommandSpec {
        let mut spec = self.install.command(args.iter().map(|a| (*a).to_owned()));
        spec.envs(&self.client_env(env)).cwd(env.sandbox.work_dir());
        spec
    }

    fn state(env: &RunEnv<'_>) -> Result<DriverState, DriveError> {
        read_state_in(env, DRIVER_STATE)
    }

    fn url(env: &RunEnv<'_>, server: &str) -> Result<String, DriveError> {
        Self::state(env)?
            .servers
            .get(server)
            .cloned()
            .ok_or_else(|| {
                DriveError::Setup(format!(
                    "no server named {server} was added to this sandbox (add_http_server first)"
                ))
            })
    }

    /// `mcp-remote-client --help` of this version, read once (it prints its usage line).
    fn help(&self, env: &RunEnv<'_>) -> Result<&str, DriveError> {
        if let Some(help) = self.help.get() {
            return Ok(help);
        }
        let run = run_consenting(&self.spec(env, &["--help"]), env, SUBCOMMAND_TIMEOUT)?;
        Ok(self.help.get_or_init(|| run.output()))
    }

    fn usage(&self, env: &RunEnv<'_>) -> Result<String, DriveError> {
        let help = self.help(env)?;
        let usage = help
            .lines()
            .find(|l| l.contains("Usage:"))
            .map(str::trim)
            .ok_or_else(|| DriveError::Unexpected {
                what: "`mcp-remote-client --help` printed no usage line".to_owned(),
                detail: help.to_owned(),
            })?;
        if ["--model", "--prompt", "login"]
            .iter()
            .any(|o| usage.contains(o))
        {
            return Err(DriveError::Unexpected {
                what:
                    "this version's usage names a model, prompt or login the driver does not know"
                        .to_owned(),
                detail: help.to_owned(),
            });
        }
        Ok(usage.to_owned())
    }

    fn add_static_client(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        info: serde_json::Value,
    ) -> Result<(), DriveError> {
        let mut state = Self::state(env)?;
        state.servers.insert(server.to_owned(), url.to_owned());
        state.client_info.insert(server.to_owned(), info);
        write_state_in(env, DRIVER_STATE, &state)
    }

    fn listing(&self, env: &RunEnv<'_>, server: &str) -> Result<HeadlessRun, DriveError> {
        let url = Self::url(env, server)?;
        let port = Self::state(env)?
            .callback_port
            .ok_or_else(|| DriveError::Setup("prepare() chose no callback port".to_owned()))?
            .to_string();
        let header = Self::state(env)?.headers.get(server).cloned();
        let mut args = vec![url.as_str(), port.as_str(), "--allow-http"];
        // `--header Name:Value`, as mcp-remote's README writes it.
        let header = header.map(|h| h.replacen(": ", ":", 1));
        if let Some(header) = &header {
            args.extend(["--header", header.as_str()]);
        }
        // `--static-oauth-client-info @file`: from a file in the sandbox, so a secret stays off
        // the command line.
        let client_info = match Self::state(env)?.client_info.get(server) {
            Some(info) => {
                let path = env
                    .sandbox
                    .home()
                    .join(format!("{server}-client-info.json"));
                std::fs::write(&path, info.to_string()).map_err(|e| {
                    DriveError::Setup(format!("cannot write {}: {e}", path.display()))
                })?;
                Some(format!("@{}", path.display()))
            }
            None => None,
        };
        if let Some(file) = &client_info {
            args.extend(["--static-oauth-client-info", file.as_str()]);
        }
        run_consenting(&self.spec(env, &args), env, LISTING_TIMEOUT)
    }
}

impl ClientUnderTest for McpRemote {
    fn name(&self) -> &'static str {
        "mcp-remote"
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn prepare(&self, env: &RunEnv<'_>) -> Result<(), DriveError> {
        let mut state = Self::state(env)?;
        if state.callback_port.is_none() {
            state.callback_port = Some(free_loopback_port()?);
            write_state_in(env, DRIVER_STATE, &state)?;
        }
        Ok(())
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        match step {
            Step::AddServer { url, .. } => format!(
                "# nothing to configure: the URL goes on each command line ({url})"
            ),
            Step::Print { .. } => {
                "MCP_REMOTE_CONFIG_DIR=~/.mcp-auth mcp-remote-client <url> <callback-port> --allow-http < /dev/tty    # stdin kept open"
                    .to_owned()
            }
            other => format!("# mcp-remote has no such step: {other:?}"),
        }
    }

    /// The callback port the driver gives every run on the command line.
    fn configured_callback_port(
        &self,
        env: &RunEnv<'_>,
        _server: &str,
    ) -> Result<Option<u16>, DriveError> {
        Ok(Self::state(env)?.callback_port)
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        let mut state = Self::state(env)?;
        state.servers.insert(server.to_owned(), url.to_owned());
        write_state_in(env, DRIVER_STATE, &state)
    }

    fn add_http_server_with_header(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        header: &str,
        value: &str,
    ) -> Result<(), DriveError> {
        let mut state = Self::state(env)?;
        state.servers.insert(server.to_owned(), url.to_owned());
        state
            .headers
            .insert(server.to_owned(), format!("{header}: {value}"));
        write_state_in(env, DRIVER_STATE, &state)
    }

    /// `--static-oauth-client-info` (its README): the client information a server without
    /// dynamic registration gave out. The callback port is the one every run already uses.
    fn add_http_server_with_client_id(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        client_id: &str,
        _callback_port: u16,
    ) -> Result<(), DriveError> {
        self.add_static_client(
            env,
            server,
            url,
            serde_json::json!({ "client_id": client_id }),
        )
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
        let info = serde_json::json!({ "client_id": client_id, "client_secret": client_secret });
        self.add_static_client(env, server, url, info)
    }

    fn server_status(&self, env: &RunEnv<'_>, _server: &str) -> Result<ServerStatus, DriveError> {
        Err(DriveError::NoSuchPath {
            path: "login-command",
            evidence: format!(
                "mcp-remote has no status command ({}): every run connects, and logs in when it must",
                self.usage(env)?
            ),
        })
    }

    fn has_login_path(
        &self,
        env: &RunEnv<'_>,
        path: LoginPath,
    ) -> Result<Result<(), Absent>, DriveError> {
        let usage = self.usage(env)?;
        match path {
            // The header is written into the config; whether the driver can is the writer's answer.
            LoginPath::StaticHeader => Ok(Ok(())),
            LoginPath::AutomaticAtConnect => Ok(Ok(())),
            LoginPath::LoginCommand => Ok(Err(Absent {
                evidence: format!(
                    "`mcp-remote-client --help` ({}) has no login command, only `{usage}`: OAuth \
                     runs inside each connection when the server answers 401",
                    self.install.version
                ),
            })),
            LoginPath::SlashMcp | LoginPath::AuthenticateTool | LoginPath::PastedCallback => {
                Ok(Err(Absent {
                    evidence: format!(
                        "`mcp-remote-client --help` ({}): `{usage}`: it connects, lists the \
                         server's tools and exits; no model, prompt or agent, and no session to \
                         sign in from",
                        self.install.version
                    ),
                }))
            }
        }
    }

    fn start_session_with(
        &self,
        env: &RunEnv<'_>,
        _options: &SessionOptions,
    ) -> Result<TerminalSession, DriveError> {
        Err(DriveError::NoSuchPath {
            path: "slash-mcp",
            evidence: format!("mcp-remote has no session: {}", self.usage(env)?),
        })
    }

    fn send_prompt(&self, _session: &mut TerminalSession, _text: &str) -> Result<(), DriveError> {
        Err(DriveError::Setup(
            "mcp-remote has no model to send a prompt to".to_owned(),
        ))
    }

    fn allow_pending_tool_call(
        &self,
        _session: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError> {
        Ok(None)
    }

    fn exit_session(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        session.terminate();
        Ok(())
    }

    fn mcp_tool_name(&self, server: &str, tool: &str) -> String {
        format!("mcp__{server}__{tool}")
    }

    fn needs_auth_state(
        &self,
        env: &RunEnv<'_>,
        _server: &str,
    ) -> Result<NeedsAuthState, DriveError> {
        // mcp-remote keeps no needs-auth list: a server needs a login when no token file holds
        // an access token (one server per sandbox, so any file is the server's).
        let dir = env.sandbox.home().join(CONFIG_DIR);
        let files = token_files(&dir);
        let with_token: Vec<String> = files
            .iter()
            .filter(|f| {
                std::fs::read_to_string(f)
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| {
                        v.get("access_token")
                            .and_then(|a| a.as_str())
                            .map(|a| !a.is_empty())
                    })
                    .unwrap_or(false)
            })
            .map(|f| {
                f.strip_prefix(env.sandbox.home())
                    .unwrap_or(f)
                    .display()
                    .to_string()
            })
            .collect();
        Ok(NeedsAuthState {
            names_server: with_token.is_empty(),
            evidence: if with_token.is_empty() {
                format!(
                    "no token file with an access token under ~/{CONFIG_DIR} ({} token file(s))",
                    files.len()
                )
            } else {
                format!("access token stored in ~/{}", with_token.join(", ~/"))
            },
        })
    }

    fn plant_needs_auth(&self, env: &RunEnv<'_>, _server: &str) -> Result<(), DriveError> {
        // What makes mcp-remote log in again: its token files gone (the client registration it
        // keeps beside them stays).
        for file in token_files(&env.sandbox.home().join(CONFIG_DIR)) {
            std::fs::remove_file(&file)
                .map_err(|e| DriveError::Setup(format!("removing {}: {e}", file.display())))?;
        }
        Ok(())
    }

    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        _prompt: &str,
        _options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        let run = self.listing(env, server)?;
        let output = run.output();
        let tools = listed_tools(&output);
        let server_status = Some(
            if tools.is_some() {
                "connected"
            } else {
                "failed"
            }
            .to_owned(),
        );
        let first_line = format!(
            "{}; {}",
            match &tools {
                Some(t) => format!("listed {} tool(s): {}", t.len(), t.join(", ")),
                None => format!("no tool list: {}", last_line(&output)),
            },
            if run.opened_browser() {
                run.consents.join("; ")
            } else {
                "the browser was not opened".to_owned()
            }
        );
        Ok(PrintOutcome {
            server_status,
            first_line,
            exit: format!("{:?}", run.status),
            output,
        })
    }

    fn authenticate_in_session(
        &self,
        _session: &mut TerminalSession,
        _server: &str,
        _browser: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError> {
        Err(DriveError::Setup(
            "mcp-remote has no session to authenticate in".to_owned(),
        ))
    }

    fn login_command(
        &self,
        env: &RunEnv<'_>,
        _server: &str,
        _browser: &mut ScriptedBrowser,
    ) -> Result<(AuthOutcome, String), DriveError> {
        Err(DriveError::NoSuchPath {
            path: "login-command",
            evidence: format!("mcp-remote has no login command: {}", self.usage(env)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_list_is_read_from_the_logged_result() {
        let out = "[123] Connected\nTools: {\n  \"tools\": [\n    {\"name\": \"hello\", \"inputSchema\": {}}\n  ]\n}\nExiting OK\n";
        assert_eq!(listed_tools(out), Some(vec!["hello".to_owned()]));
        assert_eq!(listed_tools("Error: 401"), None);
    }
}
