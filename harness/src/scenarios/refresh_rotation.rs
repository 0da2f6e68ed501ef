//! `refresh_rotation`: two expiries in a row, a call after each: the second refresh must not reuse the rotated refresh token

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::lifecycle::{self, LifecycleEvent};
use crate::scenarios::steps::{Ctx, Run};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "refresh_rotation",
    describe: "two expiries in a row, a call after each: the second refresh must not reuse the rotated refresh token",
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
        LifecycleEvent::RefreshRotation,
        ctx.options,
    )
}
