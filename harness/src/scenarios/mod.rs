//! Scenarios: one client, one mock server, one sandbox, one story, judged by named checks.
//!
//! Each scenario is one file defining a [`def::ScenarioDef`]; this file is the registry. Adding a
//! scenario is one file and two lines here. The stories share their steps (`steps.rs`) and two
//! engines: the agent's (`agent.rs`: the authenticate pseudo-tool, print mode) and the
//! lifecycle's (`lifecycle.rs`: what follows the token inside one live session).
//!
//! A driver error (a screen not recognised, a timeout, a crash) is recorded as a failing `driver`
//! check, never as "not applicable": only positive evidence that the client lacks a feature earns
//! that verdict.

pub mod agent;
pub mod authenticate_paste;
pub mod authenticate_tool;
pub mod callback_port_taken;
pub mod client_forgotten;
pub mod client_forgotten_in_session;
pub mod conformance;
pub mod def;
pub mod dropped_connection;
pub mod headless_then_session;
pub mod isolated;
pub mod legacy_sse_at_connect;
pub mod legacy_sse_only;
pub mod lifecycle;
pub mod login_at_connect;
pub mod login_cold;
pub mod login_state;
pub mod login_then_list;
pub mod observe;
pub mod pre_issued_token;
pub mod print_after_auth;
pub mod refresh_rotation;
pub mod resumed_after_expiry;
pub mod run;
pub mod scope_step_up;
pub mod server_restart;
pub mod session_lost;
pub mod shared_store_refresh_race;
pub mod slash_mcp;
pub mod slow_server;
pub mod static_api_key;
pub mod steps;
pub mod stored_token_rerun;
pub mod token_expiry;
pub mod token_revoked;
pub mod tools_changed;
pub mod transient_error_at_reconnect;
pub mod transient_errors;
pub mod variants;

pub use def::Scenario;
pub use run::{artifacts_dir, run, run_with, ScenarioReport};
pub use steps::{RunOptions, CLIENT_METADATA_URL_ENV, SERVER_NAME, STEP_UP_SCOPE};

impl Scenario {
    pub const SLASH_MCP: Scenario = Scenario::new(&slash_mcp::DEF);
    pub const LOGIN_THEN_LIST: Scenario = Scenario::new(&login_then_list::DEF);
    pub const AUTHENTICATE_TOOL: Scenario = Scenario::new(&authenticate_tool::DEF);
    pub const AUTHENTICATE_PASTE: Scenario = Scenario::new(&authenticate_paste::DEF);
    pub const PRINT_AFTER_AUTH: Scenario = Scenario::new(&print_after_auth::DEF);
    pub const TOKEN_EXPIRY: Scenario = Scenario::new(&token_expiry::DEF);
    pub const TOKEN_REVOKED: Scenario = Scenario::new(&token_revoked::DEF);
    pub const REFRESH_ROTATION: Scenario = Scenario::new(&refresh_rotation::DEF);
    pub const SESSION_LOST: Scenario = Scenario::new(&session_lost::DEF);
    pub const TOOLS_CHANGED: Scenario = Scenario::new(&tools_changed::DEF);
    pub const SERVER_RESTART: Scenario = Scenario::new(&server_restart::DEF);
    pub const SCOPE_STEP_UP: Scenario = Scenario::new(&scope_step_up::DEF);
    pub const CLIENT_FORGOTTEN: Scenario = Scenario::new(&client_forgotten::DEF);
    pub const CLIENT_FORGOTTEN_IN_SESSION: Scenario =
        Scenario::new(&client_forgotten_in_session::DEF);
    pub const TRANSIENT_ERRORS: Scenario = Scenario::new(&transient_errors::DEF);
    pub const SLOW_SERVER: Scenario = Scenario::new(&slow_server::DEF);
    pub const DROPPED_CONNECTION: Scenario = Scenario::new(&dropped_connection::DEF);
    pub const TRANSIENT_ERROR_AT_RECONNECT: Scenario =
        Scenario::new(&transient_error_at_reconnect::DEF);
    pub const LOGIN_AT_CONNECT: Scenario = Scenario::new(&login_at_connect::DEF);
    pub const STORED_TOKEN_RERUN: Scenario = Scenario::new(&stored_token_rerun::DEF);
    pub const HEADLESS_THEN_SESSION: Scenario = Scenario::new(&headless_then_session::DEF);
    pub const SHARED_STORE_REFRESH_RACE: Scenario = Scenario::new(&shared_store_refresh_race::DEF);
    pub const RESUMED_AFTER_EXPIRY: Scenario = Scenario::new(&resumed_after_expiry::DEF);
    pub const LOGIN_COLD: Scenario = Scenario::new(&login_cold::DEF);
    pub const STATIC_API_KEY: Scenario = Scenario::new(&static_api_key::DEF);
    pub const CALLBACK_PORT_TAKEN: Scenario = Scenario::new(&callback_port_taken::DEF);
    pub const LEGACY_SSE_ONLY: Scenario = Scenario::new(&legacy_sse_only::DEF);
    pub const LEGACY_SSE_AT_CONNECT: Scenario = Scenario::new(&legacy_sse_at_connect::DEF);
    /// Not in [`Scenario::ALL`]: only `--bearer-file` runs it (the proxy must hold a token).
    pub const PRE_ISSUED_TOKEN: Scenario = Scenario::new(&pre_issued_token::DEF);

    /// Every scenario, in the order tables show them.
    pub const ALL: [Scenario; 28] = [
        Scenario::SLASH_MCP,
        Scenario::LOGIN_THEN_LIST,
        Scenario::LOGIN_COLD,
        Scenario::AUTHENTICATE_TOOL,
        Scenario::AUTHENTICATE_PASTE,
        Scenario::PRINT_AFTER_AUTH,
        Scenario::TOKEN_EXPIRY,
        Scenario::TOKEN_REVOKED,
        Scenario::REFRESH_ROTATION,
        Scenario::SESSION_LOST,
        Scenario::TOOLS_CHANGED,
        Scenario::SERVER_RESTART,
        Scenario::SCOPE_STEP_UP,
        Scenario::CLIENT_FORGOTTEN,
        Scenario::CLIENT_FORGOTTEN_IN_SESSION,
        Scenario::TRANSIENT_ERRORS,
        Scenario::SLOW_SERVER,
        Scenario::DROPPED_CONNECTION,
        Scenario::TRANSIENT_ERROR_AT_RECONNECT,
        Scenario::LOGIN_AT_CONNECT,
        Scenario::STORED_TOKEN_RERUN,
        Scenario::HEADLESS_THEN_SESSION,
        Scenario::SHARED_STORE_REFRESH_RACE,
        Scenario::RESUMED_AFTER_EXPIRY,
        Scenario::STATIC_API_KEY,
        Scenario::CALLBACK_PORT_TAKEN,
        Scenario::LEGACY_SSE_ONLY,
        Scenario::LEGACY_SSE_AT_CONNECT,
    ];

    /// The scenarios whose story needs nothing of the server but the protocol, and so run
    /// against anyone's server (`harness run --server`): every other one drives the mock's
    /// lifecycle (expired or revoked tokens, lost sessions, restarts, faults) or knows its tools.
    pub const AGAINST_ANY_SERVER: [Scenario; 6] = [
        Scenario::SLASH_MCP,
        Scenario::LOGIN_THEN_LIST,
        Scenario::LOGIN_COLD,
        Scenario::PRINT_AFTER_AUTH,
        Scenario::LOGIN_AT_CONNECT,
        Scenario::STORED_TOKEN_RERUN,
    ];

    /// Whether the scenario runs against a server the harness does not control.
    pub fn runs_against_any_server(self) -> bool {
        Scenario::AGAINST_ANY_SERVER.contains(&self) || self == Scenario::PRE_ISSUED_TOKEN
    }

    /// The scenario named `name` (`slash_mcp`, or `slash-mcp`), or one of the conformance
    /// suite's (`conformance:auth/metadata-default`).
    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL
            .into_iter()
            .chain([Scenario::PRE_ISSUED_TOKEN])
            .find(|s| s.name() == name || s.name().replace('_', "-") == name)
            .or_else(|| conformance::parse(name))
    }
}
