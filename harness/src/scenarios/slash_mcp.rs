//! `slash_mcp`: in-session reconnect: /mcp → Authenticate → consent; the same session must initialize and list tools

use crate::checks;
use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{
    add_server, client_reported_success, login_path_absent, slash_mcp_auth, Ctx, Run,
};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "slash_mcp",
    describe: "in-session reconnect: /mcp → Authenticate → consent; the same session must initialize and list tools",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: true,
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    if login_path_absent(run, client, env, LoginPath::SlashMcp)? {
        return Ok(());
    }
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(
        "claude    # then: /mcp → mock → Authenticate, and open the URL it prints".to_owned(),
    );
    let result = slash_mcp_auth(run, client, env, &mut session);
    run.final_screen = session.screen();
    session.terminate();
    let auth = result?;
    let log = run.mock.received_requests()?;
    run.checks.extend(checks::reconnect_checks(&log));
    run.checks.push(checks::bearer_on_every_request(&log, None));
    run.checks.push(client_reported_success(&auth));
    run.auth = Some(auth);
    Ok(())
}
