//! `dropped_connection`: log in via /mcp; the next authenticated MCP request's connection is closed without a response; the client must recover or tell the agent, and the next call must work

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::lifecycle::{self, LifecycleEvent};
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "dropped_connection",
    describe: "log in via /mcp; the next authenticated MCP request's connection is closed without a response; the client must recover or tell the agent, and the next call must work",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: true,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    lifecycle::lifecycle(
        run,
        client,
        ctx.env,
        ctx.model,
        LifecycleEvent::DroppedConnection,
        ctx.options,
    )
}
