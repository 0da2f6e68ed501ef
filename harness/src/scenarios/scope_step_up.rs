//! `scope_step_up`: log in via /mcp; tools/call answers 403 insufficient_scope naming a scope; the client must re-authorize with it once and the call go through

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::ScenarioDef;
use crate::scenarios::lifecycle::{self, LifecycleEvent};
use crate::scenarios::steps::{Ctx, Run, STEP_UP_SCOPE};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "scope_step_up",
    describe: "log in via /mcp; tools/call answers 403 insufficient_scope naming a scope; the client must re-authorize with it once and the call go through",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: true,
    credentials: Credentials::Oauth,
    login_state: None,
    faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    lifecycle::lifecycle(
        run,
        client,
        ctx.env,
        ctx.model,
        LifecycleEvent::ScopeStepUp,
        ctx.options,
    )
}

/// `tools/call` needs a scope the first token lacks.
fn faults() -> mock_server::Faults {
    mock_server::Faults {
        tools_call_scope: Some(STEP_UP_SCOPE.to_owned()),
        ..mock_server::Faults::default()
    }
}
