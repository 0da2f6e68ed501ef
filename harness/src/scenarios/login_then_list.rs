//! `login_then_list`: mcp add → mcp list → mcp login → mcp list (stored tokens; each step a new process, not a reconnect check)

use mock_server::discovery::Credentials;
use std::time::Duration;

use crate::checks::{self, Check, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::drive::browser::ScriptedBrowser;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{add_server, settle, status_check, Ctx, Grace, Run, SERVER_NAME};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "login_then_list",
    describe: "mcp add → mcp list → mcp login → mcp list (stored tokens; each step a new process, not a reconnect check)",
    login_path: LoginPath::LoginCommand,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    login_then_list_from(run, client, ctx, State::Primed)
}

/// What the client did with the server before the login path: nothing (cold), or one connection
/// attempt that met the 401 and may have cached what it discovered (primed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Cold,
    Primed,
}

/// The login command, then `mcp list`: from the primed state (`login_then_list`: `mcp list`
/// first) or the cold one (`login_cold`: the login command right after adding the server).
pub(crate) fn login_then_list_from(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    ctx: &Ctx<'_>,
    state: State,
) -> Result<(), DriveError> {
    let env = ctx.env;
    add_server(run, client, env)?;
    if state == State::Primed {
        let before = client.server_status(env, SERVER_NAME)?;
        run.commands.push(client.reproduce(Step::ServerStatus));
        run.checks
            .push(status_check("needs-auth-before-login", &before, false));
    }
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    let (auth, screen) = client.login_command(env, SERVER_NAME, &mut browser)?;
    run.commands.push(client.reproduce(Step::LoginCommand {
        server: SERVER_NAME,
        note: "",
    }));
    run.final_screen = screen;
    let log = run.mock.received_requests()?;
    run.checks.push(checks::token_exchanged(&log));
    run.checks.push(if auth.succeeded {
        Check::pass(
            "login-succeeded",
            "`mcp login` reported success",
            vec![auth.client_message.clone()],
        )
    } else {
        Check::fail(
            "login-succeeded",
            "`mcp login` reported a failure",
            vec![auth.client_message.clone()],
        )
    });
    run.auth = Some(auth);
    let after = client.server_status(env, SERVER_NAME)?;
    run.commands.push(client.reproduce(Step::ServerStatus));
    run.checks
        .push(status_check("connected-after-login", &after, true));
    // `mcp list` has exited: its requests are all in the log.
    settle(
        run.mock,
        Duration::from_secs(5),
        Grace::ProcessEnded,
        |log| checks::tools_listed_after_token(log).verdict == Verdict::Pass,
    )?;
    let log = run.mock.received_requests()?;
    // Stored tokens used by a new process: evidence that the tokens work, not a reconnect.
    let mut stored = checks::reinitialized_after_token(&log);
    stored.name = "stored-token-initialize".to_owned();
    stored.summary = format!(
        "(a new `mcp list` process, not a reconnect) {}",
        stored.summary
    );
    run.checks.push(stored);
    // The stored tokens, used by the processes after `mcp login`.
    run.checks.push(checks::bearer_on_every_request(&log, None));
    Ok(())
}
