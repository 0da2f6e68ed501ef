//! `session_lost`: log in via /mcp; the server forgets the session (404); the client must initialize a new one and the call go through

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::lifecycle::{self, LifecycleEvent};
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "session_lost",
    describe: "log in via /mcp; the server forgets the session (404); the client must initialize a new one and the call go through",
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
        LifecycleEvent::SessionLost,
        ctx.options,
    )
}
