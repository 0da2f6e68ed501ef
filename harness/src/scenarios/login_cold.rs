//! `login_cold`: mcp add → mcp login → mcp list. The login path from the cold state: nothing
//! has contacted the server before the login command, so nothing discovered is cached (its
//! primed twin, `login_then_list`, lists first). Not a reconnect check.

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::login_state::LoginState;
use crate::scenarios::login_then_list::login_then_list_from;
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "login_cold",
    describe: "mcp add → mcp login → mcp list: the login command from the cold state (nothing contacted the server first; login_then_list is the primed twin)",
    login_path: LoginPath::LoginCommand,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Cold),
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    login_then_list_from(run, client, ctx)
}
