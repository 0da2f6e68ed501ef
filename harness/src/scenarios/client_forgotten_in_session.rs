//! `client_forgotten_in_session`: as client_forgotten through the /mcp menu: authenticate in a session; the server forgets its clients, tokens expire; a new session's /mcp → Authenticate must register a new client and connect

use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{
    add_server, client_reported_success, forget_clients_between_logins, refused_client_id_reused,
    slash_mcp_auth, Ctx, Run, SERVER_NAME,
};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "client_forgotten_in_session",
    describe: "as client_forgotten through the /mcp menu: authenticate in a session; the server forgets its clients, tokens expire; a new session's /mcp → Authenticate must register a new client and connect",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

/// Class 5's other half through the `/mcp` menu (see [`client_forgotten`]).
fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    run.in_process()?;
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(client.reproduce(Step::InSessionLogin {
        server: SERVER_NAME,
        allow_tools: false,
        then: "consent; then quit",
    }));
    let first = slash_mcp_auth(run, client, env, &mut session);
    session.terminate();
    let first = first?;
    let mut check = client_reported_success(&first);
    check.name = "first-login-succeeded".to_owned();
    run.checks.push(check);
    forget_clients_between_logins(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(client.reproduce(Step::InSessionLogin {
        server: SERVER_NAME,
        allow_tools: false,
        then: "again",
    }));
    let second = slash_mcp_auth(run, client, env, &mut session);
    run.final_screen = session.screen();
    session.terminate();
    match second {
        Ok(auth) => {
            let mut check = client_reported_success(&auth);
            check.name = "second-login-succeeded".to_owned();
            run.checks.push(check);
            run.auth = Some(auth);
        }
        Err(error) => {
            let check = refused_client_id_reused(run, "second-login-succeeded", error)?;
            run.checks.push(check);
        }
    }
    let log = run.mock.received_requests()?;
    run.checks
        .push(crate::checks::discovery::registration_reused(&log));
    run.checks
        .push(crate::scenarios::lifecycle::no_retry_loop_after_refusal(
            &log, 0,
        ));
    Ok(())
}
