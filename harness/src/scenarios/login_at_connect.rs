//! `login_at_connect`: add the server, then one headless run with no tokens: the client must start
//! OAuth by itself when it meets the 401 (answering its own question, if it asks one), and the
//! same process must connect with the new token and list the server's tools. A client that never
//! logs in by itself earns "not applicable" with its evidence.

use crate::checks::{self, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, SessionOptions, Step};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{
    add_server, settle, Ctx, Grace, Run, RECONNECT_TIMEOUT, SERVER_NAME,
};
use mock_server::discovery::Credentials;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "login_at_connect",
    describe: "one headless run with no tokens: the client must start OAuth by itself at the 401, then the same process initialize with the new token and list tools",
    login_path: LoginPath::AutomaticAtConnect,
    is_reconnect_check: true,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Cold),
    faults: no_faults,
    drive,
};

const PROMPT: &str = "Say hello.";

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let log = headless_login(run, client, ctx, |log| {
        checks::tools_listed_after_token(log).verdict == Verdict::Pass
    })?;
    run.checks.extend(checks::reconnect_checks(&log));
    run.checks.push(checks::bearer_on_every_request(&log, None));
    Ok(())
}

/// The story's steps, shared with `legacy_sse_at_connect`: add the server, one headless run that
/// must log in by itself, then the server's log once `done` holds or the run's bound has passed.
/// The run's output is the run's final screen.
pub(crate) fn headless_login(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    ctx: &Ctx<'_>,
    done: fn(&[mock_server::AccessRecord]) -> bool,
) -> Result<Vec<mock_server::AccessRecord>, DriveError> {
    let env = ctx.env;
    add_server(run, client, env)?;
    let options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    let print = client.login_at_connect(env, SERVER_NAME, PROMPT, &options)?;
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: PROMPT,
    }));
    run.final_screen = print.output.clone();
    run.print = Some(print);
    // The run has ended; whatever it did is in the log.
    settle(run.mock, RECONNECT_TIMEOUT, Grace::ProcessEnded, done)?;
    Ok(run.mock.received_requests()?)
}
