//! `tools_changed`: log in via /mcp; a tool is added and tools/list_changed pushed; the client must list again and offer the new tool to the agent

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::lifecycle::{self, LifecycleEvent};
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "tools_changed",
    describe: "log in via /mcp; a tool is added and tools/list_changed pushed; the client must list again and offer the new tool to the agent",
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
        LifecycleEvent::ToolsChanged,
        ctx.options,
    )
}
