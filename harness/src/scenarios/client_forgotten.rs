//! `client_forgotten`: mcp login; the server forgets its registered clients and the tokens expire; mcp list meets invalid_client; a second mcp login must register a new client and connect

use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::drive::browser::ScriptedBrowser;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{
    add_server, forget_clients_between_logins, login_check, refused_client_id_reused, status_check,
    Ctx, Run, SERVER_NAME,
};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "client_forgotten",
    describe: "mcp login; the server forgets its registered clients and the tokens expire; mcp list meets invalid_client; a second mcp login must register a new client and connect",
    login_path: LoginPath::LoginCommand,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

/// Failure class 5, the other half: after `invalid_client` a client must register again rather
/// than keep presenting a client ID the server no longer knows (RFC 6749 §5.2; MCP
/// Authorization › Dynamic Client Registration). The client only learns of it at the token
/// endpoint: an authorization request with an unknown client ID ends on an error page the
/// client never sees (RFC 6749 §4.1.2.1).
fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    // Fail early, before any login, when the server cannot be driven.
    run.in_process()?;
    add_server(run, client, env)?;
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    let (first, _) = client.login_command(env, SERVER_NAME, &mut browser)?;
    run.commands.push(client.reproduce(Step::LoginCommand {
        server: SERVER_NAME,
        note: "",
    }));
    run.checks.push(login_check(
        "first-login-succeeded",
        "the first `mcp login`",
        &first,
    ));
    forget_clients_between_logins(run, client, env)?;
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    // The first login's URL is still in the browser's log: wait for a new one.
    browser.skip_logged();
    let second = client.login_command(env, SERVER_NAME, &mut browser);
    run.commands.push(client.reproduce(Step::LoginCommand {
        server: SERVER_NAME,
        note: "again",
    }));
    match second {
        Ok((auth, screen)) => {
            run.final_screen = screen;
            run.checks.push(login_check(
                "second-login-succeeded",
                "the second `mcp login`",
                &auth,
            ));
            run.auth = Some(auth);
        }
        Err(error) => {
            let check = refused_client_id_reused(run, "second-login-succeeded", error)?;
            run.checks.push(check);
        }
    }
    let after = client.server_status(env, SERVER_NAME)?;
    run.commands.push(client.reproduce(Step::ServerStatus));
    run.checks
        .push(status_check("connected-after-second-login", &after, true));
    let log = run.mock.received_requests()?;
    run.checks
        .push(crate::checks::discovery::registration_reused(&log));
    run.checks
        .push(crate::scenarios::lifecycle::no_retry_loop_after_refusal(
            &log, 0,
        ));
    Ok(())
}
