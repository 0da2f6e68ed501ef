//! OpenAI's Codex CLI as a client under test.
//!
//! Codex is configured by its own `config.toml` (in `$CODEX_HOME`, here `<sandbox home>/.codex`),
//! written by the harness: `codex mcp add` would start the OAuth flow itself and block. The model
//! provider points at the run's model stand-in (OpenAI Responses at `<model api>/v1/responses`),
//! tokens are kept in `$CODEX_HOME/.credentials.json` (`mcp_oauth_credentials_store = "file"`),
//! and the working directory is trusted so no trust dialog appears.
//!
//! Login paths: `codex mcp login <server>` (no terminal needed; it calls `$BROWSER <url>`), and in
//! a running TUI session `/mcp login <server>` (what the harness's `SlashMcp` path means for
//! Codex: an in-session command), which signs in and reconnects the server at once. Codex offers
//! the model no authenticate pseudo-tool.

pub mod package;

pub use package::PACKAGE;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::clients::catalog::ClientKind;
use crate::clients::{
    Absent, AuthOutcome, ClientUnderTest, DriveError, LoginPath, ModelWire, NeedsAuthState,
    PrintOutcome, RunEnv, ServerStatus, SessionOptions, Step, STARTUP_TIMEOUT,
};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::command::{CommandOutput, CommandSpec};
use crate::drive::terminal::{Key, TerminalSession};
use crate::store::versions::InstalledVersion;

/// Terminal size for interactive runs: wide enough that URLs and menu lines are not cut.
const ROWS: u16 = 50;
const COLS: u16 = 200;

/// Bound on a non-interactive subcommand (`mcp list`, `--help`).
const SUBCOMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the whole OAuth round trip once consent is given.
const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the client opening the browser after it is asked to authenticate.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the composer reacting to keys.
const INPUT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bound on a whole `codex exec` run.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

/// The API key the model provider reads (`env_key`); only the model stand-in sees it.
const API_KEY_ENV: &str = "MOCK_API_KEY";
const API_KEY: &str = "sk-mock";
/// The model and provider names in the harness's config.
const MODEL: &str = "mock-model";
const PROVIDER: &str = "mock";

/// Where Codex keeps its OAuth tokens (relative to `$CODEX_HOME`) with the file store.
const CREDENTIALS: &str = ".credentials.json";
/// Where 0.171 records the pids of the app-server daemon it may leave running.
const DAEMON_DIR: &str = "app-server-daemon";

/// The composer's placeholder: the TUI is ready for a prompt.
const COMPOSER_READY: &[&str] = &["Ask Codex to do anything", "›"];
/// The trust question 0.100 asks when the working directory is not trusted in the config.
const TRUST_QUESTION: &str = "Do you trust the contents of this directory?";

/// `codex mcp login`: success and failure lines.
const LOGIN_SUCCESS: &str = "Successfully logged in to MCP server";
const LOGIN_FAILURE: &str = "Error:";

/// The usage text of the TUI's in-session login command, as 0.171.0's binary holds it
/// (`Usage: /mcp login <name> [--environment <id>]`); 0.161.0 has it, 0.157.0 and older do not.
const SLASH_MCP_LOGIN_MARK: &[u8] = b"/mcp login <name>";
/// The file, in the version's folder, caching whether the binary holds that text.
const SLASH_MCP_CACHE: &str = "harness-codex-slash-mcp-login.txt";

/// What `codex exec` says when a server marked `required` did not start.
const REQUIRED_FAILED: &str = "required MCP server";

/// Codex CLI in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "codex",
    summary: "OpenAI's Codex CLI (OpenAI Responses API)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::LoginCommand, LoginPath::SlashMcp],
    model_wire: ModelWire::OpenaiResponses,
    configured_by: "$CODEX_HOME/config.toml written by the harness (`codex mcp add` would start OAuth and block)",
    token_store: ".codex/.credentials.json (mcp_oauth_credentials_store = \"file\")",
    make: |install| Box::new(Codex::new(install)),
    features: None,
    reference: false,
};

pub struct Codex {
    install: InstalledVersion,
    /// Every `$CODEX_HOME` a session ran in: the daemons recorded there are ended at the latest
    /// when the driver goes.
    homes: RefCell<Vec<PathBuf>>,
    /// How the last session was started: a version without `/mcp login` signs in with
    /// `codex mcp login` in the same environment and starts the session again.
    session_spec: RefCell<Option<CommandSpec>>,
    /// Whether a version without `/mcp login` counts as having the in-session path, signing in
    /// with `codex mcp login` and a restarted session instead ([`LOGIN_RESTART_ENV`]).
    login_restart: bool,
}

/// `1` lets a version without `/mcp login` (0.157.0 and older) run the scenarios that log in
/// inside a session: it signs in with `codex mcp login` and the session is started again. What
/// follows the login (expiry, revocation, a lost session) is then judged as usual, which is what
/// bisecting the 0.147.0 refresh fix needs; the in-session login itself (`slash_mcp`) is not, as
/// the session that reconnects is a new one. Off, such a version is "not applicable" there.
pub const LOGIN_RESTART_ENV: &str = "HARNESS_CODEX_LOGIN_RESTART";

impl Codex {
    pub fn new(install: InstalledVersion) -> Codex {
        let login_restart = std::env::var(LOGIN_RESTART_ENV).is_ok_and(|v| v.trim() == "1");
        Codex {
            install,
            homes: RefCell::new(Vec::new()),
            session_spec: RefCell::new(None),
            login_restart,
        }
    }

    /// As [`Codex::new`], with a version that lacks `/mcp login` signing in by `codex mcp login`
    /// and a restarted session where a scenario logs in inside one ([`LOGIN_RESTART_ENV`]).
    pub fn with_login_restart(install: InstalledVersion) -> Codex {
        let mut codex = Codex::new(install);
        codex.login_restart = true;
        codex
    }

    fn codex_home(env: &RunEnv<'_>) -> PathBuf {
        env.sandbox.home().join(".codex")
    }

    /// The sandbox's environment plus what Codex needs: its home and the provider's key.
    fn client_env(env: &RunEnv<'_>) -> Vec<(String, String)> {
        let mut vars = env.sandbox.client_env();
        vars.push((
            "CODEX_HOME".to_owned(),
            Self::codex_home(env).to_string_lossy().into_owned(),
        ));
        vars.push((API_KEY_ENV.to_owned(), API_KEY.to_owned()));
        vars
    }

    fn command<S: AsRef<str>>(&self, env: &RunEnv<'_>, args: &[S]) -> CommandSpec {
        let mut spec = self
            .install
            .command(args.iter().map(|a| a.as_ref().to_owned()));
        spec.envs(&Self::client_env(env))
            .cwd(env.sandbox.work_dir());
        spec
    }

    fn run_unchecked(&self, env: &RunEnv<'_>, args: &[&str]) -> Result<CommandOutput, DriveError> {
        let spec = self.command(env, args);
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
                command: self.command(env, args).shell_line(),
                status: format!("exit {:?}", out.status),
                output: format!("{}{}", out.stdout, out.stderr),
            });
        }
        Ok(out)
    }

    /// The config the harness gives Codex, without any MCP server.
    fn base_config(env: &RunEnv<'_>) -> String {
        let model_base = format!("{}/v1", env.model_api_url.trim_end_matches('/'));
        let work = env.sandbox.work_dir().to_string_lossy().into_owned();
        format!(
            r#"# Written by the harness.
model = {model}
model_provider = {provider}
mcp_oauth_credentials_store = "file"
check_for_update_on_startup = false
experimental_use_rmcp_client = true

[analytics]
enabled = false

[features]
plugins = false
apps = false
remote_plugin = false
# Else the 0.171 TUI leaves an app-server daemon running.
daemon_auto_start = false

[model_providers.{provider_key}]
name = {provider}
base_url = {base}
wire_api = "responses"
env_key = {key_env}

[projects.{work}]
trust_level = "trusted"
"#,
            model = toml_string(MODEL),
            provider = toml_string(PROVIDER),
            provider_key = PROVIDER,
            base = toml_string(&model_base),
            key_env = toml_string(API_KEY_ENV),
            work = toml_string(&work),
        )
    }

    /// Whether the TUI binary holds the `/mcp login` command's usage text, with the evidence;
    /// cached in the version's folder (the binary is a few hundred MB).
    fn slash_mcp_login(&self) -> Result<(bool, String), DriveError> {
        let cache = self.install.dir.join(SLASH_MCP_CACHE);
        let mark = String::from_utf8_lossy(SLASH_MCP_LOGIN_MARK).into_owned();
        let evidence = |present: bool| {
            format!(
                "{} {} the TUI's in-session login usage text `{mark}` (0.171.0 has `Usage: /mcp login <name> [--environment <id>]`; cached in {})",
                self.install.program.display(),
                if present { "holds" } else { "does not hold" },
                cache.display()
            )
        };
        if let Ok(text) = std::fs::read_to_string(&cache) {
            match text.trim() {
                "present" => return Ok((true, evidence(true))),
                "absent" => return Ok((false, evidence(false))),
                _ => {}
            }
        }
        let bytes = std::fs::read(&self.install.program).map_err(|e| DriveError::Unexpected {
            what: format!("reading {}", self.install.program.display()),
            detail: e.to_string(),
        })?;
        let present = contains_bytes(&bytes, SLASH_MCP_LOGIN_MARK);
        let _ = std::fs::write(&cache, if present { "present\n" } else { "absent\n" });
        Ok((present, evidence(present)))
    }

    /// Ends the app-server daemons Codex recorded under `home`, by pid, if they are still Codex.
    fn end_daemons(home: &Path) {
        let dir = home.join(DAEMON_DIR);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pid") {
                continue;
            }
            let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok())
            else {
                continue;
            };
            // Only a process that is still Codex: a pid may have been reused.
            let is_codex = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("codex"))
                .unwrap_or(false);
            if pid > 1 && is_codex {
                eprintln!(
                    "harness: ending the Codex daemon {pid} ({})",
                    path.display()
                );
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
    }

    /// The credentials file's entries for `server` (`"<server>|<hash>"` keys), and its text.
    fn credentials(env: &RunEnv<'_>, server: &str) -> Result<(Vec<String>, String), DriveError> {
        let path = Self::codex_home(env).join(CREDENTIALS);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Vec::new(), String::new()))
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
                what: format!("{} is not JSON", path.display()),
                detail: format!("{e}: {text}"),
            })?;
        let keys = parsed
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, v)| {
                        k.split('|').next() == Some(server)
                            || v.get("server_name").and_then(|n| n.as_str()) == Some(server)
                    })
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        Ok((keys, text))
    }

    /// Runs `codex mcp login` (`spec`), consents in the scripted browser, and reads its result.
    fn login_with(
        spec: &CommandSpec,
        browser: &mut ScriptedBrowser,
    ) -> Result<(AuthOutcome, String), DriveError> {
        // `codex mcp login` needs no terminal; one is used so it can be ended whatever happens.
        let mut session = TerminalSession::spawn(spec, ROWS, COLS)?;
        let url = browser
            .wait_for_url(BROWSER_TIMEOUT)
            .map_err(|e| DriveError::Unexpected {
                what: "`codex mcp login` did not open the browser".to_owned(),
                detail: format!("{e}\nscreen:\n{}", session.screen()),
            })?;
        let consent = browser.complete_consent(&url)?;
        let seen = session.wait_for_any(
            "`codex mcp login` to report its result",
            AUTH_TIMEOUT,
            &[LOGIN_SUCCESS, LOGIN_FAILURE],
        )?;
        let status = session.wait_exit(Duration::from_secs(20))?;
        let screen = session.screen();
        let client_message = line_with(&screen, &seen).unwrap_or_else(|| seen.clone());
        Ok((
            AuthOutcome {
                consent,
                succeeded: seen == LOGIN_SUCCESS && status == "exit code 0",
                client_message,
            },
            format!("{status}\n{screen}"),
        ))
    }

    /// Answers the terminal's cursor-position queries (`ESC [ 6 n`) the TUI has sent since
    /// `answered` of them were answered; the harness's terminal emulator does not. 0.50.0 gives
    /// up at start-up without an answer ("The cursor position could not be read within a normal
    /// duration"). The answer is the top-left corner: the TUI only needs one to go on.
    fn answer_cursor_queries(
        session: &mut TerminalSession,
        answered: &mut usize,
    ) -> Result<(), DriveError> {
        const QUERY: &[u8] = b"\x1b[6n";
        let transcript = session.transcript();
        let asked = transcript
            .windows(QUERY.len())
            .filter(|w| *w == QUERY)
            .count();
        while *answered < asked {
            session.type_text("\x1b[1;1R")?;
            *answered += 1;
        }
        Ok(())
    }

    /// Starts the TUI from `spec` and waits for its composer.
    fn spawn_tui(spec: &CommandSpec) -> Result<TerminalSession, DriveError> {
        let mut session = TerminalSession::spawn(spec, ROWS, COLS)?;
        let started = Instant::now();
        let mut answered = 0;
        loop {
            // Short waits, so that a cursor-position query is answered while the TUI waits.
            let wait = session.wait_for(
                "the Codex composer (`› Ask Codex to do anything`)",
                Duration::from_millis(200).min(STARTUP_TIMEOUT.saturating_sub(started.elapsed())),
                |s| composer_ready(s) || s.contains(TRUST_QUESTION),
            );
            Self::answer_cursor_queries(&mut session, &mut answered)?;
            let screen = match wait {
                Ok(screen) => screen,
                Err(crate::drive::terminal::TerminalError::Timeout { .. })
                    if started.elapsed() < STARTUP_TIMEOUT =>
                {
                    continue
                }
                Err(e) => return Err(e.into()),
            };
            if screen.contains(TRUST_QUESTION) && !screen.contains(COMPOSER_READY[0]) {
                // 0.100 asks unless the project is trusted in the config; the first answer is
                // "Yes, allow".
                session.press(Key::Enter)?;
                session.wait_for("the trust question to close", INPUT_TIMEOUT, |s| {
                    !s.contains(TRUST_QUESTION)
                })?;
                continue;
            }
            return Ok(session);
        }
    }

    /// Types `text` into the composer and checks it shows; retyped when keys were dropped.
    fn type_into_composer(session: &mut TerminalSession, text: &str) -> Result<(), DriveError> {
        let probe: String = text.chars().take(40).collect();
        for _attempt in 0..5 {
            session.type_text(text)?;
            let shown = session.wait_for("the text in the composer", Duration::from_secs(4), |s| {
                composer_line(s).is_some_and(|l| l.contains(&probe))
            });
            if shown.is_ok() {
                return Ok(());
            }
            // Clear whatever made it into the composer.
            session.type_text("\x15")?;
        }
        session.wait_for("the text in the composer", INPUT_TIMEOUT, |s| {
            composer_line(s).is_some_and(|l| l.contains(&probe))
        })?;
        Ok(())
    }
}

impl Drop for Codex {
    fn drop(&mut self) {
        for home in self.homes.borrow().iter() {
            Codex::end_daemons(home);
        }
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, else quoted.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let mut at = 0;
    while let Some(found) = haystack[at..].iter().position(|&b| b == first) {
        let start = at + found;
        if haystack[start + 1..].starts_with(rest) {
            return true;
        }
        at = start + 1;
    }
    false
}

/// The composer's line (`› …`), the last one on screen.
fn composer_line(screen: &str) -> Option<&str> {
    screen
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('›'))
}

/// The composer is on screen and ready for input.
fn composer_ready(screen: &str) -> bool {
    screen.contains(COMPOSER_READY[0]) || composer_line(screen).is_some()
}

/// A line of `codex mcp list`'s table for `server` (its first column).
fn list_line<'a>(stdout: &'a str, server: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(server))
}

/// The server's status from its `codex mcp list` line.
fn status_of_line(line: &str) -> ServerStatus {
    let line = line.trim().to_owned();
    // The Auth column says `Not logged in` or `OAuth`. It reflects stored tokens only: 0.171.0
    // says `OAuth` even when the server has forgotten the client those tokens belong to.
    if line.contains("Not logged in") {
        ServerStatus::NeedsAuth(line)
    } else if line.contains("OAuth") {
        ServerStatus::Connected(line)
    } else if line.to_lowercase().contains("failed") || line.to_lowercase().contains("error") {
        ServerStatus::Failed(line)
    } else {
        ServerStatus::Unrecognised(line)
    }
}

/// What `codex exec --json` says about `server`: `connected` when a server marked required
/// started (exit 0) or one of its tool calls completed; `failed` or `needs-auth` from the
/// required-server error; None when nothing said.
fn exec_server_status(
    stdout: &str,
    stderr: &str,
    server: &str,
    exit: Option<i32>,
) -> Option<String> {
    let mut status = None;
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let item = &event["item"];
        if item["type"] == "mcp_tool_call" && item["server"] == server {
            match item["status"].as_str() {
                Some("completed") => status = Some("connected".to_owned()),
                Some("failed") if status.is_none() => status = Some("failed".to_owned()),
                _ => {}
            }
        }
    }
    let all = format!("{stdout}\n{stderr}");
    if let Some(line) = all
        .lines()
        .find(|l| l.contains(REQUIRED_FAILED) && l.contains(server))
    {
        let lower = line.to_lowercase();
        return Some(
            if ["login", "logged in", "auth", "401"]
                .iter()
                .any(|w| lower.contains(w))
            {
                "needs-auth"
            } else {
                "failed"
            }
            .to_owned(),
        );
    }
    if status.is_none() && exit == Some(0) {
        // The server was marked required: a run that exits 0 started it (initialize and
        // tools/list went through).
        status = Some("connected".to_owned());
    }
    status
}

/// The first line of `text` holding `needle`, trimmed of the TUI's bullets.
fn line_with(text: &str, needle: &str) -> Option<String> {
    let lower = needle.to_lowercase();
    text.lines()
        .find(|l| l.to_lowercase().contains(&lower))
        .map(|l| l.trim().trim_start_matches('•').trim().to_owned())
}

impl ClientUnderTest for Codex {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn version(&self) -> &str {
        &self.install.version
    }

    fn install(&self) -> &InstalledVersion {
        &self.install
    }

    fn prepare(&self, env: &RunEnv<'_>) -> Result<(), DriveError> {
        let home = Self::codex_home(env);
        let path = home.join("config.toml");
        std::fs::create_dir_all(&home)
            .and_then(|()| std::fs::write(&path, Self::base_config(env)))
            .map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
    }

    fn reproduce(&self, step: Step<'_>) -> String {
        const ENV: &str = "CODEX_HOME=$HOME/.codex MOCK_API_KEY=sk-mock";
        match step {
            Step::AddServer { server, url, .. } => format!(
                "printf '\\n[mcp_servers.{}]\\nurl = \"%s\"\\n' '{url}' >> \"$HOME/.codex/config.toml\"    # the harness writes the config (model provider: the model stand-in)",
                toml_key(server)
            ),
            Step::ServerStatus => format!("{ENV} codex mcp list"),
            Step::LoginCommand { server, note: "" } => {
                format!("{ENV} codex mcp login {server}    # open the URL it prints")
            }
            Step::LoginCommand { server, note } => {
                format!("{ENV} codex mcp login {server}    # {note}")
            }
            Step::InSessionLogin { server, then, .. } => format!(
                "{ENV} codex    # then: /mcp login {server}{}",
                if then.is_empty() {
                    String::new()
                } else {
                    format!("; {then}")
                }
            ),
            Step::SessionPrompt { prompt, .. } => {
                format!("{ENV} codex    # then type: {prompt}")
            }
            Step::Print { server, prompt } => format!(
                "{ENV} codex exec --skip-git-repo-check --json -c mcp_servers.{}.required=true '{prompt}'",
                toml_key(server)
            ),
        }
    }

    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError> {
        let home = Self::codex_home(env);
        let path = home.join("config.toml");
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::base_config(env),
            Err(e) => {
                return Err(DriveError::Setup(format!(
                    "reading {}: {e}",
                    path.display()
                )))
            }
        };
        config.push_str(&format!(
            "\n[mcp_servers.{}]\nurl = {}\n",
            toml_key(server),
            toml_string(url)
        ));
        std::fs::create_dir_all(&home)
            .and_then(|()| std::fs::write(&path, config))
            .map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
    }

    fn add_http_server_with_header(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        url: &str,
        header: &str,
        value: &str,
    ) -> Result<(), DriveError> {
        // Codex's config: `http_headers`, static headers of a streamable HTTP server.
        self.add_http_server(env, server, url)?;
        let path = Self::codex_home(env).join("config.toml");
        let mut config = std::fs::read_to_string(&path)
            .map_err(|e| DriveError::Setup(format!("reading {}: {e}", path.display())))?;
        config.push_str(&format!(
            "http_headers = {{ {} = {} }}\n",
            toml_string(header),
            toml_string(value)
        ));
        std::fs::write(&path, config)
            .map_err(|e| DriveError::Setup(format!("writing {}: {e}", path.display())))
    }

    fn server_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError> {
        let out = self.run(env, &["mcp", "list"])?;
        Ok(match list_line(&out.stdout, server) {
            Some(line) => status_of_line(line),
            None => ServerStatus::Unrecognised(format!("{}{}", out.stdout, out.stderr)),
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
                let out = self.run_unchecked(env, &["mcp", "login", "--help"])?;
                if out.status == Some(0) {
                    Ok(Ok(()))
                } else {
                    Ok(Err(Absent {
                        evidence: format!(
                            "`codex mcp login --help` exited {:?}: {}",
                            out.status,
                            format!("{}{}", out.stdout, out.stderr).trim()
                        ),
                    }))
                }
            }
            LoginPath::SlashMcp => {
                let (present, evidence) = self.slash_mcp_login()?;
                Ok(if present || self.login_restart {
                    Ok(())
                } else {
                    Err(Absent {
                        evidence: format!(
                            "{evidence}; {LOGIN_RESTART_ENV}=1 signs in with `codex mcp login` and restarts the session instead"
                        ),
                    })
                })
            }
            LoginPath::AutomaticAtConnect => Ok(Err(Absent {
                evidence: "Codex never starts OAuth by itself: without stored tokens it sends one \
                           `initialize`, meets the 401 and drops the server (`The mock MCP server \
                           is not logged in. Run `codex mcp login mock`.`), opening no browser \
                           (measured with 0.171.0)"
                    .to_owned(),
            })),
            // Codex offers the model no authenticate pseudo-tool (0.171.0 drops a server that
            // needs login at start-up: "The mock MCP server is not logged in. Run `codex mcp
            // login mock`."). The agent scenarios earn "not applicable" from a live session's
            // model request, whose tool list is the evidence, so the path is not ruled out here.
            LoginPath::AuthenticateTool | LoginPath::PastedCallback => Ok(Ok(())),
        }
    }

    fn start_session_with(
        &self,
        env: &RunEnv<'_>,
        _options: &SessionOptions,
    ) -> Result<TerminalSession, DriveError> {
        // MCP tool calls run without an approval question in 0.171.0 (the question, where a
        // version asks one, is answered by `allow_pending_tool_call`).
        let spec = self.command::<&str>(env, &[]);
        self.homes.borrow_mut().push(Self::codex_home(env));
        *self.session_spec.borrow_mut() = Some(spec.clone());
        Self::spawn_tui(&spec)
    }

    fn send_prompt(&self, session: &mut TerminalSession, text: &str) -> Result<(), DriveError> {
        Self::type_into_composer(session, text)?;
        // Enter as a key of its own: pasted with the text it would be part of the paste.
        std::thread::sleep(Duration::from_millis(150));
        session.press(Key::Enter)?;
        Ok(())
    }

    fn allow_pending_tool_call(
        &self,
        session: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError> {
        // Approval questions Codex may ask before a tool call, as 0.171.0's binary words them
        // (`Allow the <server> MCP server to run tool "<tool>"?`, `Approve app tool call?`); the
        // harness is the user who started the flow and allows it once (the first answer). 0.171.0
        // and 0.146.1 asked none in the runs measured.
        const QUESTIONS: &[&str] = &[
            "to run tool \"",
            "Approve app tool call?",
            "Would you like to run the following command",
        ];
        let screen = session.screen();
        // A question answered earlier stays in the transcript; one still open has taken the
        // composer's place.
        let Some(question) = QUESTIONS
            .iter()
            .find(|q| screen.contains(**q) && !screen.contains(COMPOSER_READY[0]))
        else {
            return Ok(None);
        };
        let asked = line_with(&screen, question).unwrap_or_else(|| (*question).to_owned());
        // The first answer, selected when the question opens, allows the call.
        session.press(Key::Enter)?;
        let closed = session.wait_for("the question to close", Duration::from_secs(5), |s| {
            !s.contains(question) || s.contains(COMPOSER_READY[0])
        });
        if closed.is_err() {
            return Err(DriveError::Unexpected {
                what: format!("the approval question {question:?} stayed open after Enter"),
                detail: session.screen(),
            });
        }
        Ok(Some(format!("{asked} → the first answer")))
    }

    fn exit_session(&self, session: &mut TerminalSession) -> Result<(), DriveError> {
        // `/quit` from the composer; one Ctrl-C on an empty composer also leaves.
        let typed = Self::type_into_composer(session, "/quit");
        if typed.is_ok() {
            std::thread::sleep(Duration::from_millis(150));
            session.press(Key::Enter)?;
        } else {
            session.press(Key::CtrlC)?;
        }
        if session.wait_exit(Duration::from_secs(10)).is_err() {
            session.press(Key::CtrlC)?;
            if session.wait_exit(Duration::from_secs(5)).is_err() {
                session.terminate();
            }
        }
        for home in self.homes.borrow().iter() {
            Codex::end_daemons(home);
        }
        Ok(())
    }

    fn mcp_tool_name(&self, server: &str, tool: &str) -> String {
        // Codex declares a server's tools inside the namespace `mcp__<server>`; the model view
        // names them canonically `mcp__<server>__<tool>` and sends a call back under the
        // namespace and name Codex declared.
        format!("mcp__{server}__{tool}")
    }

    fn needs_auth_state(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<NeedsAuthState, DriveError> {
        // Codex keeps no needs-authentication state: a server without stored tokens is the one
        // it treats as needing login (`mcp list`: `Not logged in`).
        let (keys, text) = Self::credentials(env, server)?;
        let evidence = if text.is_empty() {
            format!(
                "Codex keeps no needs-auth cache; $CODEX_HOME/{CREDENTIALS} does not exist, so {server} has no stored tokens"
            )
        } else {
            format!(
                "Codex keeps no needs-auth cache; $CODEX_HOME/{CREDENTIALS} holds tokens for {server}: {}",
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    keys.join(", ")
                }
            )
        };
        Ok(NeedsAuthState {
            names_server: keys.is_empty(),
            evidence,
        })
    }

    fn plant_needs_auth(&self, env: &RunEnv<'_>, server: &str) -> Result<(), DriveError> {
        // With no needs-auth cache to plant, the fault is the state Codex reads as "needs
        // login": the server's stored tokens removed.
        let path = Self::codex_home(env).join(CREDENTIALS);
        let (keys, text) = Self::credentials(env, server)?;
        if text.is_empty() {
            return Ok(());
        }
        let mut parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| {
                DriveError::Setup(format!("{} is not a JSON object: {e}", path.display()))
            })?;
        for key in keys {
            parsed.remove(&key);
        }
        std::fs::write(&path, serde_json::Value::Object(parsed).to_string())
            .map_err(|e| DriveError::Setup(format!("planting {}: {e}", path.display())))
    }

    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        prompt: &str,
        _options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        // The server is marked required for this run, so `exec` fails when it does not start:
        // its exit then says whether the stored tokens connected it.
        let required = format!("mcp_servers.{}.required=true", toml_key(server));
        let args = [
            "exec",
            "--skip-git-repo-check",
            "--json",
            "-c",
            required.as_str(),
            prompt,
        ];
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
        Ok(PrintOutcome {
            server_status: exec_server_status(&out.stdout, &out.stderr, server, out.status),
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
        let (present, evidence) = self.slash_mcp_login()?;
        if !present {
            // A version without `/mcp login` (0.157.0 and older) cannot sign in from inside a
            // session. With `LOGIN_RESTART_ENV` it signs in with `codex mcp login` in the
            // session's environment and the session is started again, so what follows the login
            // (expiry, revocation, a lost session) can still be judged on it; without it
            // `has_login_path` has already made the scenario "not applicable".
            let tui = self.session_spec.borrow().clone();
            let Some(tui) = tui.filter(|_| self.login_restart) else {
                return Err(DriveError::NoSuchPath {
                    path: "slash-mcp",
                    evidence,
                });
            };
            let mut login = CommandSpec::new(&tui.program);
            login.args(tui.args.iter().cloned());
            login.args(["mcp".to_owned(), "login".to_owned(), server.to_owned()]);
            login.envs(&tui.env);
            if let Some(dir) = &tui.cwd {
                login.cwd(dir);
            }
            session.terminate();
            let (mut auth, _screen) = Self::login_with(&login, browser)?;
            *session = Self::spawn_tui(&tui)?;
            auth.client_message = format!(
                "{} (this version has no `/mcp login`: signed in with `codex mcp login {server}` and started the session again)",
                auth.client_message
            );
            return Ok(auth);
        }
        let command = format!("/mcp login {server}");
        Self::type_into_composer(session, &command)?;
        // The slash-command popup may be open over the composer: one Escape would close it and
        // lose nothing, but Enter on the typed command runs it.
        std::thread::sleep(Duration::from_millis(150));
        session.press(Key::Enter)?;
        let url = browser
            .wait_for_url(BROWSER_TIMEOUT)
            .map_err(|e| DriveError::Unexpected {
                what: format!("`{command}` did not open the browser"),
                detail: format!("{e}\nscreen:\n{}", session.screen()),
            })?;
        let consent = browser.complete_consent(&url)?;
        let success = format!("Signed in to {server}");
        let failures = [
            "Failed to sign in",
            "failed to sign in",
            "Sign-in failed",
            "OAuth login failed",
            // 0.171.0 when the token exchange fails: "Failed to complete OAuth login for 'mock':
            // failed to handle OAuth callback: OAuth token exchange failed: …".
            "Failed to complete OAuth login",
            "Error:",
        ];
        let mut words: Vec<&str> = vec![success.as_str()];
        words.extend_from_slice(&failures);
        let seen =
            session.wait_for_any("Codex to report the sign-in's result", AUTH_TIMEOUT, &words)?;
        let screen = session.screen();
        let client_message = line_with(&screen, &seen).unwrap_or_else(|| seen.clone());
        Ok(AuthOutcome {
            consent,
            succeeded: seen == success,
            client_message,
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
        Self::login_with(&spec, browser)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_list_lines_read_as_statuses() {
        let table = "Name  Url                     Bearer Token Env Var  Status   Auth\n\
                     mock  http://127.0.0.1:5/mcp  -                     enabled  Not logged in\n";
        assert!(matches!(
            list_line(table, "mock").map(status_of_line),
            Some(ServerStatus::NeedsAuth(_))
        ));
        let table =
            "Name  Url  Bearer Token Env Var  Status  Auth\nmock  http://x  -  enabled  OAuth\n";
        assert!(matches!(
            list_line(table, "mock").map(status_of_line),
            Some(ServerStatus::Connected(_))
        ));
        assert_eq!(list_line(table, "other"), None);
    }

    #[test]
    fn exec_output_reads_as_a_server_status() {
        let call = r#"{"type":"item.completed","item":{"type":"mcp_tool_call","server":"mock","tool":"hello","status":"completed"}}"#;
        assert_eq!(
            exec_server_status(call, "", "mock", Some(0)).as_deref(),
            Some("connected")
        );
        assert_eq!(
            exec_server_status("", "", "mock", Some(0)).as_deref(),
            Some("connected")
        );
        assert_eq!(
            exec_server_status(
                "",
                "Error: required MCP servers failed to initialize: mock: handshaking with MCP server failed: … error: Auth required, when send initialize request",
                "mock",
                Some(1)
            )
            .as_deref(),
            Some("needs-auth")
        );
        assert_eq!(exec_server_status("", "", "mock", Some(1)), None);
    }

    #[test]
    fn toml_strings_and_keys_are_escaped() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_key("mock"), "mock");
        assert_eq!(toml_key("/tmp/x y"), r#""/tmp/x y""#);
    }

    #[test]
    fn byte_search_finds_the_mark() {
        assert!(contains_bytes(
            b"xx/mcp login <name> [--env]",
            SLASH_MCP_LOGIN_MARK
        ));
        assert!(!contains_bytes(b"/mcp logi", SLASH_MCP_LOGIN_MARK));
        assert!(!contains_bytes(b"", SLASH_MCP_LOGIN_MARK));
    }
}
