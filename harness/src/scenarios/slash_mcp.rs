//! `slash_mcp`: in-session reconnect: /mcp → Authenticate → consent; the same session must initialize and list tools

use crate::checks;
use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{
    add_server, client_reported_success, slash_mcp_auth, Ctx, Run, SERVER_NAME,
};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "slash_mcp",
    describe: "in-session reconnect: /mcp → Authenticate → consent; the same session must initialize and list tools",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: true,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Cold),
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(client.reproduce(Step::InSessionLogin {
        server: SERVER_NAME,
        allow_tools: false,
        then: "open the URL it prints",
    }));
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
