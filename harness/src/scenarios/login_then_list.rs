//! `login_then_list`: mcp add → mcp list → mcp login → mcp list (stored tokens; each step a new process, not a reconnect check)

use mock_server::discovery::Credentials;
use std::time::Duration;

use crate::checks::{self, Check, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::drive::browser::ScriptedBrowser;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{add_server, settle, status_check, Ctx, Grace, Run, SERVER_NAME};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "login_then_list",
    describe: "mcp add → mcp list → mcp login → mcp list (stored tokens; each step a new process, not a reconnect check)",
    login_path: LoginPath::LoginCommand,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Primed),
    faults: no_faults,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    login_then_list_from(run, client, ctx)
}

/// The login command, then `mcp list`, from the run's state: primed (`login_then_list`: the
/// shared add-server step runs `mcp list` first) or cold (`login_cold`, the same story as
/// `login_then_list~cold`: the login command right after adding the server).
pub(crate) fn login_then_list_from(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    ctx: &Ctx<'_>,
) -> Result<(), DriveError> {
    let env = ctx.env;
    add_server(run, client, env)?;
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
