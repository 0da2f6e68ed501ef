//! `print_after_auth`: authenticate in a session, leave it, then `-p` in the same home must connect and list tools

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::agent;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "print_after_auth",
    describe: "authenticate in a session, leave it, then `-p` in the same home must connect and list tools",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Cold),
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    agent::print_after_auth(run, client, ctx.env, ctx.options)
}
