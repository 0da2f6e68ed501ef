//! `resumed_after_expiry`: sign in through the in-session command and leave; then, as if hours
//! had passed, the server expires every access token (the refresh tokens stay good); a new
//! headless run in the same home must take the 401, refresh, and connect with the new token,
//! without sending the person through authorization again. Tokens surviving a restart (the
//! field's "it asks me to log in every morning"): not a reconnect check.

use mock_server::discovery::Credentials;
use mock_server::AccessRecord;

use crate::checks;
use crate::clients::{ClientUnderTest, DriveError, LoginPath, SessionOptions, Step};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::lifecycle::{no_refresh_storm, refreshed_after_401};
use crate::scenarios::steps::{
    add_server, client_reported_success, settle, slash_mcp_auth, Ctx, Grace, Run,
    RECONNECT_TIMEOUT, SERVER_NAME,
};
use crate::scenarios::stored_token_rerun::{second_run_connects, stored_token_reused};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "resumed_after_expiry",
    describe: "sign in in a session and leave; hours later every access token has expired: a new headless run must refresh and connect without a new authorization",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

const PROMPT: &str = "Say hello.";

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    // Fail early, before any login, when the server cannot be driven.
    run.in_process()?;
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(client.reproduce(Step::InSessionLogin {
        server: SERVER_NAME,
        allow_tools: false,
        then: "leave the session",
    }));
    let auth = slash_mcp_auth(run, client, env, &mut session);
    client.exit_session(&mut session)?;
    session.terminate();
    let auth = auth?;
    let log = run.mock.received_requests()?;
    run.checks.push(checks::token_exchanged(&log));
    run.checks.push(client_reported_success(&auth));
    run.auth = Some(auth);

    let expired = run.in_process()?.expire_access_tokens();
    run.commands.push(format!(
        "# event: hours later, the {expired} access token(s) have expired; the refresh tokens are good"
    ));
    let boundary = run
        .mock
        .received_requests()?
        .last()
        .map(|r| r.seq)
        .unwrap_or(0);
    let options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    let print = client.print_mode(env, SERVER_NAME, PROMPT, &options)?;
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: PROMPT,
    }));
    settle(run.mock, RECONNECT_TIMEOUT, Grace::ProcessEnded, |_| true)?;
    let log = run.mock.received_requests()?;
    let later: Vec<&AccessRecord> = log.iter().filter(|r| r.seq > boundary).collect();
    run.checks.push(refreshed_after_401(&log, boundary));
    run.checks.push(no_refresh_storm(&log, boundary, 1));
    run.checks
        .push(second_run_connects(&later, print.server_status.as_deref()));
    run.checks.push(stored_token_reused(&later));
    run.checks.push(checks::bearer_on_every_request(&log, None));
    run.final_screen = print.output.clone();
    run.print = Some(print);
    Ok(())
}
