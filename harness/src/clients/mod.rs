//! The client under test, as scenarios see it. Claude Code is the first implementation; another
//! MCP client can be added by implementing this trait, without touching the scenarios.

pub mod catalog;
pub mod claude_code;
pub mod codex;
pub mod copilot_cli;
pub mod gemini_cli;
pub mod headless;
pub mod kilo;
pub mod kind;
pub mod mcp_inspector;
pub mod mcp_remote;
pub mod oauth_token_file;
pub mod opencode;
pub mod qwen_code;
pub mod settings_file;

use std::time::Duration;

use crate::drive::browser::{BrowserError, ConsentOutcome, ScriptedBrowser};
use crate::drive::command::CommandError;
use crate::drive::sandbox::Sandbox;
use crate::drive::terminal::{TerminalError, TerminalSession};
use crate::store::versions::InstalledVersion;

/// Where a run happens: the sandbox, and the run's model API stand-in.
pub struct RunEnv<'a> {
    pub sandbox: &'a Sandbox,
    pub model_api_url: String,
}

/// The ways a client can be made to authenticate to an MCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoginPath {
    /// Inside a running session, through the client's in-session command: Claude Code's `/mcp`
    /// menu, Codex's `/mcp login <server>`, Gemini CLI's `/mcp auth <server>`. (Named after the
    /// first client's; reports and expectations files know it as `slash-mcp`.)
    SlashMcp,
    /// A separate `mcp login` command.
    LoginCommand,
    /// The agent calls the authenticate pseudo-tool; the browser's callback reaches the client.
    AuthenticateTool,
    /// The agent calls the authenticate pseudo-tool; the callback URL is pasted back to it.
    PastedCallback,
    /// The client starts OAuth by itself when it connects and meets the 401 (Gemini CLI with
    /// `oauth.enabled`, in a headless run too).
    AutomaticAtConnect,
    /// No login at all: a static credential (an API-key header) written into the client's
    /// config for a server that is not OAuth.
    StaticHeader,
}

impl LoginPath {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginPath::SlashMcp => "slash-mcp",
            LoginPath::LoginCommand => "login-command",
            LoginPath::AuthenticateTool => "authenticate-tool",
            LoginPath::PastedCallback => "pasted-callback",
            LoginPath::AutomaticAtConnect => "automatic-at-connect",
            LoginPath::StaticHeader => "static-header",
        }
    }
}

/// The wire API a client's model requests speak (the model stand-in answers all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelWire {
    AnthropicMessages,
    OpenaiResponses,
    OpenaiChat,
    Gemini,
    /// No model at all (the reference clients).
    None,
}

impl ModelWire {
    /// For people: the API's name as its vendor writes it.
    pub fn describe(self) -> &'static str {
        match self {
            ModelWire::AnthropicMessages => "Anthropic Messages",
            ModelWire::OpenaiResponses => "OpenAI Responses",
            ModelWire::OpenaiChat => "OpenAI Chat Completions",
            ModelWire::Gemini => "Gemini streamGenerateContent",
            ModelWire::None => "none (no model)",
        }
    }
}

/// A login path the client lacks, with the evidence that shows it.
#[derive(Debug, Clone)]
pub struct Absent {
    pub evidence: String,
}

/// What the client says about a configured server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "line")]
pub enum ServerStatus {
    NeedsAuth(String),
    Connected(String),
    Failed(String),
    /// The server's line was missing or unreadable; the text is what was printed.
    Unrecognised(String),
}

/// The result of an authentication driven through the client.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuthOutcome {
    pub consent: ConsentOutcome,
    /// What the client printed when it finished (a success or a failure message).
    pub client_message: String,
    pub succeeded: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("scripted browser: {0}")]
    Browser(#[from] BrowserError),
    #[error("`{command}` failed ({status}):\n{output}")]
    Failed {
        command: String,
        status: String,
        output: String,
    },
    #[error("the client has no {path} login path: {evidence}")]
    NoSuchPath {
        path: &'static str,
        evidence: String,
    },
    #[error("cannot prepare the run: {0}")]
    Setup(String),
    #[error("timed out after {secs:.0} s waiting for {what}\n{detail}")]
    Timeout {
        what: String,
        secs: f64,
        detail: String,
    },
    #[error("{what}: {detail}")]
    Unexpected { what: String, detail: String },
    #[error("the mock server: {0}")]
    Mock(#[from] crate::mock::MockError),
}

/// How an interactive session is started.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// MCP servers whose tools the agent may call without a permission prompt.
    pub allowed_servers: Vec<String>,
}

/// What the client's own needs-authentication state says about a server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NeedsAuthState {
    pub names_server: bool,
    /// Where the state lives and what it holds.
    pub evidence: String,
}

/// A non-interactive (print mode) run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrintOutcome {
    /// The server's status as the run's first structured line reports it (`connected`, …).
    pub server_status: Option<String>,
    /// That first line, as printed.
    pub first_line: String,
    pub exit: String,
    pub output: String,
}

/// A step of a scenario as a person would type it, for the run's reproduce script. Each client
/// words its own commands; the scenarios only say which step they took.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// Configure the server; `client_id` and a fixed callback port where it has no registration.
    AddServer {
        server: &'a str,
        url: &'a str,
        client_id: Option<(&'a str, u16)>,
    },
    /// Ask the client what it makes of the server (`mcp list`).
    ServerStatus,
    /// The separate login command; `note` says what differs this time.
    LoginCommand { server: &'a str, note: &'a str },
    /// An interactive session in which the person authenticates through the client's in-session
    /// command; `then` says what follows.
    InSessionLogin {
        server: &'a str,
        allow_tools: bool,
        then: &'a str,
    },
    /// An interactive session with the server's tools allowed, and a prompt typed into it.
    SessionPrompt { server: &'a str, prompt: &'a str },
    /// A non-interactive run with one prompt.
    Print { server: &'a str, prompt: &'a str },
}

/// How long a client may take to show its first screen.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

pub trait ClientUnderTest {
    /// A short name for reports, e.g. `claude-code`.
    fn name(&self) -> &'static str;
    /// The exact version under test.
    fn version(&self) -> &str;
    /// The loopback port the client's OAuth callback always listens on, where it cannot be
    /// changed (Qwen Code: 7777). Two runs of such a client cannot overlap on one network
    /// namespace: `harness matrix -j` runs its cells one at a time.
    fn fixed_callback_port(&self) -> Option<u16> {
        None
    }
    /// The installed version being driven (its folder holds the feature cache).
    fn install(&self) -> &InstalledVersion;
    /// Readies a fresh sandbox before the first command (config files that answer start-up
    /// dialogs, say).
    fn prepare(&self, _env: &RunEnv<'_>) -> Result<(), DriveError> {
        Ok(())
    }
    /// `step` as this client's command line, for the run's reproduce script.
    fn reproduce(&self, step: Step<'_>) -> String {
        format!("# {} {step:?}", self.name())
    }
    /// Adds an HTTP (Streamable HTTP) MCP server to the sandbox's user-level config.
    fn add_http_server(&self, env: &RunEnv<'_>, server: &str, url: &str) -> Result<(), DriveError>;
    /// As [`ClientUnderTest::add_http_server`], for a server without dynamic registration: the
    /// client is given its OAuth client ID and a fixed callback port.
    fn add_http_server_with_client_id(
        &self,
        _env: &RunEnv<'_>,
        _server: &str,
        _url: &str,
        _client_id: &str,
        _callback_port: u16,
    ) -> Result<(), DriveError> {
        Err(DriveError::Setup(format!(
            "{} cannot be given an OAuth client ID",
            self.name()
        )))
    }
    /// The loopback callback port the person configured for `server` in this client (a config
    /// file's, or a command-line argument the driver gives every run), when there is one: every
    /// redirect URI must then be on it (`configured-callback-port-honoured`). `None` for a client
    /// that chooses its port at each login.
    fn configured_callback_port(
        &self,
        _env: &RunEnv<'_>,
        _server: &str,
    ) -> Result<Option<u16>, DriveError> {
        Ok(None)
    }
    /// As [`ClientUnderTest::add_http_server_with_client_id`], for a confidential client: the
    /// client is also given its client secret (a server that pre-registered the client with one).
    /// A client whose configuration has no secret says so with a setup error.
    fn add_http_server_with_client_secret(
        &self,
        _env: &RunEnv<'_>,
        _server: &str,
        _url: &str,
        _client_id: &str,
        _client_secret: &str,
        _callback_port: u16,
    ) -> Result<(), DriveError> {
        Err(DriveError::Setup(format!(
            "{} cannot be given an OAuth client secret",
            self.name()
        )))
    }
    /// As [`ClientUnderTest::add_http_server`], for a server that is not OAuth: the client's
    /// config sends `header: value` on every request. A client whose config has no header
    /// option says so with evidence ([`DriveError::NoSuchPath`]); one whose driver was not
    /// taught it fails the run (a setup error, never "not applicable").
    fn add_http_server_with_header(
        &self,
        _env: &RunEnv<'_>,
        _server: &str,
        _url: &str,
        _header: &str,
        _value: &str,
    ) -> Result<(), DriveError> {
        Err(DriveError::Setup(format!(
            "the {} driver cannot write a static header into its config yet",
            self.name()
        )))
    }
    /// The client's own view of the server's state, from a fresh process.
    fn server_status(&self, env: &RunEnv<'_>, server: &str) -> Result<ServerStatus, DriveError>;
    /// Whether this version has the login path, with the evidence either way.
    fn has_login_path(
        &self,
        env: &RunEnv<'_>,
        path: LoginPath,
    ) -> Result<Result<(), Absent>, DriveError>;
    /// Starts an interactive session in the sandbox's working directory.
    fn start_session(&self, env: &RunEnv<'_>) -> Result<TerminalSession, DriveError> {
        self.start_session_with(env, &SessionOptions::default())
    }
    /// Starts an interactive session with options.
    fn start_session_with(
        &self,
        env: &RunEnv<'_>,
        options: &SessionOptions,
    ) -> Result<TerminalSession, DriveError>;
    /// Types a prompt for the agent and submits it.
    fn send_prompt(&self, session: &mut TerminalSession, text: &str) -> Result<(), DriveError>;
    /// If the session is asking the user to allow a tool call, allows it (the harness is the
    /// user who started the flow) and returns what the question said.
    fn allow_pending_tool_call(
        &self,
        session: &mut TerminalSession,
    ) -> Result<Option<String>, DriveError>;
    /// Leaves the session the way a user would, then makes sure it is gone.
    fn exit_session(&self, session: &mut TerminalSession) -> Result<(), DriveError>;
    /// The name the agent sees for an MCP server's tool.
    fn mcp_tool_name(&self, server: &str, tool: &str) -> String;
    /// The pseudo-tool that starts authentication from the agent, where the client has one.
    /// (Claude Code's naming, `mcp__<server>__authenticate`, unless a client says otherwise: the
    /// agent scenarios look for it in the model's requests and earn "not applicable" without it.)
    fn authenticate_tool(&self, server: &str) -> String {
        self.mcp_tool_name(server, "authenticate")
    }
    /// The pseudo-tool that takes a pasted callback URL, where the client has one.
    fn complete_authentication_tool(&self, server: &str) -> String {
        self.mcp_tool_name(server, "complete_authentication")
    }
    /// The input for the complete-authentication pseudo-tool (Claude Code 2.1.331's schema:
    /// `{"callback_url": string}`, required, nothing else).
    fn complete_authentication_input(&self, callback_url: &str) -> serde_json::Value {
        serde_json::json!({ "callback_url": callback_url })
    }
    /// The client's persisted needs-authentication state for `server`.
    fn needs_auth_state(
        &self,
        env: &RunEnv<'_>,
        server: &str,
    ) -> Result<NeedsAuthState, DriveError>;
    /// What the client's credential store holds for `server`, for a report's evidence (presence
    /// and expiry, never the secrets). A driver not taught where its store is says so.
    fn stored_tokens(&self, _env: &RunEnv<'_>, _server: &str) -> Result<String, DriveError> {
        Ok(format!(
            "(the {} driver does not read its credential store yet)",
            self.name()
        ))
    }
    /// Marks `server` as needing authentication in the client's persisted state (a fault for
    /// negative controls).
    fn plant_needs_auth(&self, env: &RunEnv<'_>, server: &str) -> Result<(), DriveError>;
    /// Runs one prompt non-interactively and reports what the client says about `server`.
    fn print_mode(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        prompt: &str,
        options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError>;
    /// The run in which the client is to log in by itself at connect ([`LoginPath::AutomaticAtConnect`],
    /// the `login_at_connect` scenario), with no stored tokens. A headless run with one prompt
    /// where the client does it there (Gemini CLI); a client that does it only when its TUI
    /// starts (Copilot CLI) starts the TUI instead, consents to the URL it opens, and leaves.
    fn login_at_connect(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        prompt: &str,
        options: &SessionOptions,
    ) -> Result<PrintOutcome, DriveError> {
        self.print_mode(env, server, prompt, options)
    }
    /// Authenticates `server` from inside a running session (the `/mcp` menu).
    fn authenticate_in_session(
        &self,
        session: &mut TerminalSession,
        server: &str,
        browser: &mut ScriptedBrowser,
    ) -> Result<AuthOutcome, DriveError>;
    /// Authenticates `server` with the separate login command, under a terminal.
    fn login_command(
        &self,
        env: &RunEnv<'_>,
        server: &str,
        browser: &mut ScriptedBrowser,
    ) -> Result<(AuthOutcome, String), DriveError>;
}
