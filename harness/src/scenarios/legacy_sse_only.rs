//! `legacy_sse_only`: failure class 7, a server that speaks only the older HTTP+SSE transport
//! (MCP 2024-11-05) behind the usual OAuth. The client logs in in-session as in `slash_mcp`
//! (/mcp → Authenticate → consent); then its Streamable HTTP `POST` meets 405 and it must fall
//! back as Transports › "Backwards Compatibility" says: `GET` the server URL, take the
//! `endpoint` event's URL, and send `initialize` and `tools/list` there. A client without the
//! in-session login is not applicable by its login path, with that evidence. Not a reconnect
//! check of the usual kind: the reconnect checks' `initialize` answered 200 cannot happen here.

use mock_server::discovery::Credentials;

use crate::checks::legacy_transport;
use crate::checks::{token_exchanged, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::drive::browser::ScriptedBrowser;
use crate::scenarios::def::ScenarioDef;
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{
    add_server, client_reported_success, settle, Ctx, Grace, Run, FOLLOW_UP_QUIET,
    RECONNECT_TIMEOUT, SERVER_NAME,
};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "legacy_sse_only",
    describe: "a server that speaks only the older HTTP+SSE transport (2024-11-05): /mcp → Authenticate → consent, then POST gets 405 and the client must GET the stream, POST initialize and tools/list to its endpoint URL, without a loop or a storm",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Cold),
    faults: legacy_only,
    drive,
};

/// The server of both class-7 scenarios: the older HTTP+SSE transport only.
pub(crate) fn legacy_only() -> mock_server::Faults {
    mock_server::Faults {
        legacy_sse_only: true,
        ..Default::default()
    }
}

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(client.reproduce(Step::InSessionLogin {
        server: SERVER_NAME,
        allow_tools: false,
        then: "open the URL it prints",
    }));
    let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
    browser.skip_logged();
    let result = client.authenticate_in_session(&mut session, SERVER_NAME, &mut browser);
    // The log is the judge: the client's chance to fall back, until it reached the tools over
    // the old transport (at most the reconnect timeout), then the quiet, so that a loop shows.
    settle(
        run.mock,
        RECONNECT_TIMEOUT,
        Grace::Quiet(FOLLOW_UP_QUIET),
        |log| legacy_transport::fell_back_to_sse(log).verdict == Verdict::Pass,
    )?;
    run.final_screen = session.screen();
    session.terminate();
    let auth = result?;
    let log = run.mock.received_requests()?;
    run.checks.push(token_exchanged(&log));
    run.checks
        .extend(legacy_transport::legacy_transport_checks(&log));
    run.checks.push(client_reported_success(&auth));
    run.auth = Some(auth);
    Ok(())
}
