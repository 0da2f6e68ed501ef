//! The MCP Inspector's CLI (`mcp-inspector --cli`) as a client under test: a reference client.
//!
//! It has no model and no session: each run invokes one MCP method (`--method tools/list`) on the
//! server URL given on its command line and exits. When the server answers 401 it starts OAuth by
//! itself (RFC 9728 discovery, dynamic registration, PKCE), opens the authorization URL through
//! `BROWSER` (with `MCP_AUTO_OPEN_ENABLED=true`), takes the redirect on its callback listener and
//! goes on with the token: the harness's [`LoginPath::AutomaticAtConnect`]. A later run in the same
//! HOME uses the stored token (`~/.mcp-inspector/secrets.json`, a file rather than a keyring with
//! `MCP_INSPECTOR_SECRET_STORE=file`; the registration in `~/.mcp-inspector/storage/oauth.json`).
//!
//! The callback listener defaults to the fixed `127.0.0.1:6276`, so two runs at once (a matrix
//! with `-j 2`, two test binaries) would fight over it. The driver gives each sandbox its own free
//! loopback port instead (`MCP_OAUTH_CALLBACK_URL`, which `--help` documents beside
//! `--callback-url`), chosen once in [`ClientUnderTest::prepare`] so that every run of one
//! scenario registers and redirects to the same URI.
//!
//! What the Inspector's scenarios mean: `login_at_connect` is one listing run with no tokens;
//! `stored_token_rerun` adds a second listing run that must use the stored token. Everything that
//! needs an agent (a model asking for tools) or an interactive session is not applicable, with the
//! CLI's own `--help` as the evidence.

pub mod package;

pub use package::PACKAGE;

use std::cell::OnceCell;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::clients::headless::{run_consenting, HeadlessRun};
use crate::clients::kind::ClientKind;
use crate::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, ModelWire, NeedsAuthState,
    PrintOutcome, RunEnv, ServerStatus, SessionOptions, Step,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::terminal::TerminalSession;
use crate::store::versions::InstalledVersion;

/// Bound on `--help` and on runs that never start OAuth (`--stored-auth-only`,
/// `--list-stored-auth`): a node start-up and one connection to a loopback server.
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one listing run, OAuth included: discovery, registration, the scripted browser's
/// consent and the token exchange are loopback round trips (seconds); the CLI's own connect
/// timeout is 15 s.
const LISTING_TIMEOUT: Duration = Duration::from_secs(90);

/// Relative to HOME: where the driver keeps what it was told (the server's URL, the callback
/// port). The Inspector itself takes the URL on each command line.
const DRIVER_STATE: &str = ".harness-mcp-inspector.json";
/// Relative to HOME: the Inspector's secret store with `MCP_INSPECTOR_SECRET_STORE=file` (2.12.0:
/// the tokens, keyed by server URL; the discovery state and client registration are in
/// `.mcp-inspector/storage/oauth.json`).
const SECRETS: &str = ".mcp-inspector/secrets.json";

/// MCP Inspector's CLI in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "mcp-inspector",
    summary: "MCP Inspector's CLI, a reference client (no model: one MCP method per run)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::AutomaticAtConnect],
    model_wire: ModelWire::None,
    configured_by: "nothing to configure: the server URL is on each command line (`--cli <url>`)",
    token_store: ".mcp-inspector/secrets.json (MCP_INSPECTOR_SECRET_STORE=file; registration in .mcp-inspector/storage/oauth.json)",
    make: |install| Box::new(McpInspector::new(install)),
    features: None,
    reference: true,
};

pub struct McpInspector {
    install: InstalledVersion,
    /// `mcp-inspector --cli --help`, read once.
    help: OnceCell<String>,
}

/// What a reference client's driver remembers in the sandbox (in `file`, relative to HOME): the
/// servers it was given and the callback port chosen for the sandbox.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct DriverState {
    pub(crate) servers: std::collections::BTreeMap<String, String>,
    pub(crate) callback_port: Option<u16>,
    /// A static header per server (`Name: value`), for a server that is not OAuth.
    #[serde(default)]
    pub(crate) headers: std::collections::BTreeMap<String, String>,
    /// A pre-registered client per server (`client_id`, and `client_secret` for a confidential
    /// one), for a server without dynamic registration.
    #[serde(default)]
    pub(crate) client_info: std::collections::BTreeMap<String, serde_json::Value>,
}

pub(crate) fn read_state_in(env: &RunEnv<'_>, file: &str) -> Result<DriverState, DriveError> {
    let path = env.sandbox.home().join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| DriveError::Unexpected {
            what: format!("{} is not the driver's state", path.display()),
            detail: format!("{e}: {text}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DriverState::default()),
        Err(e) => Err(DriveError::Setup(format!(
            "reading {}: {e}",
            path.display()
        ))),
    }
}

pub(crate) fn write_state_in(
    env: &RunEnv<'_>,
    file: &str,
    state: &DriverState,
) -> Result<(), DriveError> {
    let path = env.sandbox.home().join(file);
    let text = serde_json::to_string_pretty(state)
        .map_err(|e| DriveError::Setup(format!("driver state: {e}")))?;
    std::fs::write(&path, text)
        .map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
}

fn read_state(env: &RunEnv<'_>) -> Result<DriverState, DriveError> {
    read_state_in(env, DRIVER_STATE)
}

fn write_state(env: &RunEnv<'_>, state: &DriverState) -> Result<(), DriveError> {
    write_state_in(env, DRIVER_STATE, state)
}

/// A loopback port nothing listens on now (the OS picks it; released at once for the client).
pub(crate) fn free_loopback_port() -> Result<u16, DriveError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| DriveError::Setup(format!("no free loopback port for the callback: {e}")))
}

/// The tools a `--format json` result of `tools/list` names, when stdout holds one.
fn listed_tools(stdout: &str) -> Option<Vec<String>> {
    // The first JSON object that starts a line (status lines may come before it, others after).
    let first_object = |at: usize| {
        serde_json::Deserializer::from_str(&stdout[at..])
            .into_iter::<Value>()
            .next()?
            .ok()
    };
    let value = stdout
        .match_indices('{')
        .filter(|(i, _)| *i == 0 || stdout[..*i].ends_with('\n'))
        .find_map(|(i, _)| first_object(i))?;
    // `--format json` (2.12.0) wraps the method's result: `{"result": {"tools": [...]}}`.
    let tools = value
        .pointer("/result/tools")
        .or_else(|| value.get("tools"))?
        .as_array()?;
    Some(
        tools
            .iter()
            .filter_map(|t| t.get("name").and_then(Value::as_str))
            .map(str::to_owned)
            .collect(),
    )
}

/// The last line of `text` that is not empty, trimmed (a CLI's closing word).
pub(crate) fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(nothing printed)")
        .to_owned()
}

impl McpInspector {
    pub fn new(install: InstalledVersion) -> McpInspector {
        McpInspector {
            install,
            help: OnceCell::new(),
        }
    }

    /// The sandbox's environment with what the Inspector needs: the browser opened at once, its
    /// secrets in a file under HOME, the callback on the sandbox's own port.
    fn client_env(&self, env: &RunEnv<'_>) -> Result<Vec<(String, String)>, DriveError> {
        let mut vars = env.sandbox.client_env();
        let mut set = vec![
            ("MCP_AUTO_OPEN_ENABLED", "true".to_owned()),
            ("MCP_INSPECTOR_SECRET_STORE", "file".to_owned()),
        ];
        if let Some(port) = read_state(env)?.callback_port {
            set.push((
                "MCP_OAUTH_CALLBACK_URL",
                format!("http://127.0.0.1:{port}/oauth/callback"),
            ));
        }
        for (k, v) in set {
            vars.retain(|(key, _)| key != k);
            vars.push((k.to_owned(), v));
        }
        Ok(vars)
    }

    fn spec(
        &self,
        env: &RunEnv<'_>,
        args: &[&str],
    ) -> Result<crate::drive::command::CommandSpec, DriveError> {
        let mut spec = self.install.command(
            std::iter::once("--cli".to_owned()).chain(args.iter().map(|a| (*a).to_owned())),
        );
        spec.envs(&self.client_env(env)?)
            .cwd(env.sandbox.work_dir());
        Ok(spec)
    }

    /// A run that never opens the browser (help, stored-auth queries), bounded.
    fn run_quiet(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<HeadlessRun, DriveError> {
        run_consenting(&self.spec(env, args)?, env, SUBCOMMAND_TIMEOUT)
    }

    fn url(&self, env: &RunEnv<'_>, server: &str) -> Result<String, DriveError> {
        read_state(env)?
            .servers
            .get(server)
            .cloned()
            .ok_or_else(|| {
                DriveError::Setup(format!(
                    "no server named {server} was added to this sandbox (add_http_server first)"
                ))
            })
    }

    /// `mcp-inspector --cli --help` of this version, read once.
    fn help(&self, env: &RunEnv<'_>) -> Result<&str, DriveError> {
        if let Some(help) = self.help.get() {
            return Ok(help);
        }
        let run = self.run_quiet(env, &["--help"])?;
        if run.status != Some(0) {
            return Err(DriveError::Failed {
                command: run.command.clone(),
                status: format!("exit {:?}", run.status),
                output: run.output(),
            });
        }
        Ok(self.help.get_or_init(|| run.output()))
    }

    /// The evidence that this version has no model and no session, from its `--help`; an error
    /// when the help shows something the driver does not know (a model option).
    fn no_agent_evidence(&self, env: &RunEnv<'_>) -> Result<String, DriveError> {
        let help = self.help(env)?;
        if ["--model", "--prompt <", "--agent"]
            .iter()
            .any(|o| help.contains(o))
        {
            return Err(DriveError::Unexpected {
                what:
                    "this version's --help offers a model or agent option the driver does not know"
                        .to_owned(),
                detail: help.to_owned(),
            });
        }
        let method = help
            .lines()
            .find(|l| l.trim_start().starts_with("--method"))
            .map(str::trim)
            .unwrap_or("(no --method line)");
        Ok(format!(
            "`mcp-inspector --cli --help` ({}): `{method}`, one MCP method per run, then it exits; \
             no model, prompt or agent option, so no agent is ever offered the server's tools and \
             there is no session to sign in from",
            self.install.version
        ))
    }

    /// One listing run: `tools/list` on the server, with OAuth at the 401 when it needs it.
    fn listing(&self, env: &RunEnv<'_>, server: &str) -> Result<HeadlessRun, DriveError> {
        let url = self.url(env, server)?;
        let header = read_state(env)?.headers.get(server).cloned();
        let mut args = vec![
            url.as_str(),
            "--transport",
            "http",
            "--method",
            "tools/list",
            "--format",
            "json",
        ];
        // `--header <headers...>` takes several values: last, so it swallows nothing else.
        if let Some(header) = &header {
            args.extend(["--header", header.as_str()]);
        }
        let spec = self.spec(env, &args)?;
        run_consenting(&spec, env, LISTING_TIMEOUT)
    }

    fn absent_login_command(&self, env: &RunEnv<'_>) -> Result<Absent, DriveError> {
        let help = self.help(env)?;
        if help.contains("login <") || help.lines().any(|l| l.trim_start().starts_with("login")) {
            return Err(DriveError::Unexpected {
                what: "this version's --help lists a login command the driver does not know"
                    .to_owned(),
                detail: help.to_owned(),
            });
        }
        let stored_only = help
            .lines()
            .find(|l| l.contains("--stored-auth-only"))
            .map(str::trim)
            .unwrap_or("");
        Ok(Absent {
            evidence: format!(
                "`mcp-inspector --cli --help` ({}) lists no login command: OAuth runs inside a method \
                 run when the server answers 401 ({stored_only} …)",
                self.install.version
            ),
        })
    }
}

impl ClientUnderTest for McpInspector {
    fn name(&self) -> &'static str {
        "mcp-inspector"
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn prepare(&self, env: &RunEnv<'_>) -> Result<(), DriveError> {
        let mut state = read_state(env)?;
        if state.callback_port.is_none() {
            state.callback_port = Some(free_loopback_port()?);
            write_state(env, &state)?;
        }
        Ok(())
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        match step {
            Step::AddServer { url, .. } => {
                format!("# nothing to configure: the URL goes on each command line ({url})")
            }
            Step::ServerStatus => {
                "mcp-inspector --cli <url> --method tools/list --stored-auth-only".to_owned()
            }
            Step::Print { .. } => "MCP_AUTO_OPEN_ENABLED=true MCP_INSPECTOR_SECRET_STORE=file \
                 mcp-inspector --cli <url> --transport http --method tools/list --format json"
                .to_owned(),
            other => format!("# mcp-inspector has no such step: {other:?}"),
        }
    }

    /// The callback port the driver gives every run on the command line.
    fn configured_callback_port(
        &self,
        env: &RunEnv<'_>,
        _server: &str,
    ) -> Result<Option<u16>, DriveError> {
        Ok(read_state(env)?.callback_port)
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        let mut state = read_state(env)?;
        state.servers.insert(server.to_owned(), url.to_owned());
        write_state(env, &state)
    }

    fn add_http_server_with_header(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        header: &str,
        value: &str,
    ) -> Result<(), DriveError> {
        let mut state = read_state(env)?;
        state.servers.insert(server.to_owned(), url.to_owned());
        state
            .headers
            .insert(server.to_owned(), format!("{header}: {value}"));
        write_state(env, &state)
    }

    fn server_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError> {
        // `--stored-auth-only`: "Never start interactive OAuth; use the shared store if present,
        // otherwise fail with auth_required."
        let url = self.url(env, server)?;
        let run = self.run_quiet(
            env,
            &[
                &url,
                "--transport",
                "http",
                "--method",
                "tools/list",
                "--format",
                "json",
                "--stored-auth-only",
            ],
        )?;
        let text = run.output();
        Ok(match listed_tools(&run.stdout) {
            Some(tools) if run.status == Some(0) => ServerStatus::Connected(format!(
                "listed {} tool(s): {}",
                tools.len(),
                tools.join(", ")
            )),
            _ if text.contains("auth_required") => ServerStatus::NeedsAuth(last_line(&text)),
            _ if run.status != Some(0) => ServerStatus::Failed(last_line(&text)),
            _ => ServerStatus::Unrecognised(text),
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
            LoginPath::AutomaticAtConnect => {
                let help = self.help(env)?;
                if help.contains("--callback-url") {
                    Ok(Ok(()))
                } else {
                    Ok(Err(Absent {
                        evidence: format!(
                            "`mcp-inspector --cli --help` ({}) has no OAuth options (no `--callback-url`)",
                            self.install.version
                        ),
                    }))
                }
            }
            LoginPath::LoginCommand => Ok(Err(self.absent_login_command(env)?)),
            LoginPath::SlashMcp | LoginPath::AuthenticateTool | LoginPath::PastedCallback => {
                Ok(Err(Absent {
                    evidence: self.no_agent_evidence(env)?,
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
            evidence: self.no_agent_evidence(env)?,
        })
    }

    fn send_prompt(&self, _session: &mut TerminalSession, _text: &str) -> Result<(), DriveError> {
        Err(DriveError::Setup(
            "mcp-inspector has no model to send a prompt to".to_owned(),
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
        server: &str,
    ) -> Result<NeedsAuthState, DriveError> {
        // The client's own word: `--list-stored-auth` prints the URLs it holds a token for.
        let url = self.url(env, server)?;
        let run = self.run_quiet(env, &["--list-stored-auth"])?;
        let names = run.stdout.contains(&url);
        Ok(NeedsAuthState {
            names_server: !names,
            evidence: format!(
                "`mcp-inspector --cli --list-stored-auth` (exit {:?}): {}",
                run.status,
                run.output().trim()
            ),
        })
    }

    fn plant_needs_auth(&self, env: &RunEnv<'_>, _server: &str) -> Result<(), DriveError> {
        // What makes the Inspector need a login again: its stored tokens gone (the secret
        // store; the registration in its OAuth state file stays).
        let file: PathBuf = env.sandbox.home().join(SECRETS);
        match std::fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DriveError::Setup(format!(
                "removing {}: {e}",
                file.display()
            ))),
        }
    }

    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        _prompt: &str,
        _options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        let run = self.listing(env, server)?;
        let tools = listed_tools(&run.stdout);
        let server_status = match (&tools, run.status) {
            (Some(_), Some(0)) => Some("connected".to_owned()),
            _ => Some("failed".to_owned()),
        };
        let first_line = format!(
            "{}; {}",
            match &tools {
                Some(t) => format!("listed {} tool(s): {}", t.len(), t.join(", ")),
                None => format!("no tool list: {}", last_line(&run.output())),
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
            output: run.output(),
        })
    }

    fn authenticate_in_session(
        &self,
        _session: &mut TerminalSession,
        _server: &str,
        _browser: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError> {
        Err(DriveError::Setup(
            "mcp-inspector has no session to authenticate in".to_owned(),
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
            evidence: self.absent_login_command(env)?.evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_clients_are_the_ones_without_a_model() {
        let reference: Vec<&str> = crate::clients::catalog::ALL
            .iter()
            .filter(|k| k.reference)
            .map(|k| k.name)
            .collect();
        assert_eq!(reference, ["mcp-inspector", "mcp-remote"]);
        for kind in crate::clients::catalog::ALL {
            assert_eq!(
                kind.reference,
                kind.model_wire == ModelWire::None,
                "{}",
                kind.name
            );
        }
    }

    #[test]
    fn the_tool_list_is_read_from_the_json_result() {
        let out = "{\"result\":{\"tools\":[{\"name\":\"hello\"},{\"name\":\"whoami\"}]}}\n[mcp-inspector] Secrets are stored unencrypted\n";
        assert_eq!(
            listed_tools(out),
            Some(vec!["hello".to_owned(), "whoami".to_owned()])
        );
        assert_eq!(
            listed_tools("Connecting…\n{\"result\": {\"tools\": []}}\n"),
            Some(Vec::new())
        );
        assert_eq!(listed_tools("{\"error\": \"auth_required\"}"), None);
        assert_eq!(listed_tools("not json"), None);
    }
}
