//! `authenticate_paste`: as authenticate_tool, but the callback URL is pasted back through the complete-authentication pseudo-tool (the report's way)

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::agent;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "authenticate_paste",
    describe: "as authenticate_tool, but the callback URL is pasted back through the complete-authentication pseudo-tool (the report's way)",
    login_path: LoginPath::PastedCallback,
    is_reconnect_check: true,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    agent::authenticate_tool(run, client, ctx.env, ctx.model, ctx.options, true)
}
