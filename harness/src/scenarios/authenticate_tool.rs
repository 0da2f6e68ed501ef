//! `authenticate_tool`: the agent calls the authenticate pseudo-tool, consent via the localhost callback; the same session must offer the server's tools to the model and run one

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::agent;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "authenticate_tool",
    describe: "the agent calls the authenticate pseudo-tool, consent via the localhost callback; the same session must offer the server's tools to the model and run one",
    login_path: LoginPath::AuthenticateTool,
    is_reconnect_check: true,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Cold),
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    agent::authenticate_tool(run, client, ctx.env, ctx.model, ctx.options, false)
}
