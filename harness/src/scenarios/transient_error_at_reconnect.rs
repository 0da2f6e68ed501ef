//! `transient_error_at_reconnect`: as slash_mcp, but the first authenticated MCP request after the token exchange gets 503: the same session must still initialize and list tools

use crate::clients::LoginPath;
use crate::scenarios::def::ScenarioDef;
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "transient_error_at_reconnect",
    describe: "as slash_mcp, but the first authenticated MCP request after the token exchange gets 503: the same session must still initialize and list tools",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: true,
    credentials: Credentials::Oauth,
    login_state: None,
    faults,
    drive: crate::scenarios::slash_mcp::DEF.drive,
};

/// One 503 on the first authenticated MCP request after the token exchange.
fn faults() -> mock_server::Faults {
    mock_server::Faults {
        mcp_errors: Some(mock_server::faults::McpErrors {
            status: 503,
            count: 1,
        }),
        ..mock_server::Faults::default()
    }
}
