//! `callback_port_taken`: failure class 2, the callback. The client's fixed loopback callback
//! port (Qwen Code's 7777) is held by the harness, as another process would hold it, when the
//! person authenticates through the in-session command. Judged by
//! `callback-port-conflict-handled`: a clear error, or another port that the client registers;
//! never a hang. A client that picks a free port for each login has no port to take: not
//! applicable, with that as the evidence. Not a reconnect check.

use std::net::TcpListener;

use mock_server::discovery::Credentials;

use crate::checks::callback_port::{port_conflict_handled, LoginEnd};
use crate::checks::Check;
use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{
    add_server, login_path_absent, slash_mcp_auth, Ctx, Run, SERVER_NAME,
};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "callback_port_taken",
    describe: "the client's fixed callback port is held by another process when the person authenticates through the in-session command: a clear error or another registered port, never a hang",
    login_path: LoginPath::SlashMcp,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

/// Holds `port` on both loopback addresses (a client listening on `localhost` may take either);
/// the IPv6 one only where the machine has it.
fn hold(port: u16) -> Result<Vec<TcpListener>, DriveError> {
    let v4 = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
        DriveError::Setup(format!(
            "cannot hold the callback port 127.0.0.1:{port} ({e}): something else has it; end \
             it and run again"
        ))
    })?;
    let mut held = vec![v4];
    if let Ok(v6) = TcpListener::bind(("::1", port)) {
        held.push(v6);
    }
    Ok(held)
}

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    if login_path_absent(run, client, env, LoginPath::SlashMcp)? {
        return Ok(());
    }
    let Some(port) = client.fixed_callback_port() else {
        run.checks.push(Check::not_applicable(
            "fixed-callback-port",
            "the client has no fixed callback port to take",
            vec![format!(
                "{} listens for the OAuth callback on a loopback port it picks for each login \
                 (its driver names no fixed port; the redirect URIs it registers differ run to \
                 run), so there is no port for another process to hold",
                client.name()
            )],
        ));
        return Ok(());
    };
    add_server(run, client, env)?;
    let _held = hold(port)?;
    let mut session = client.start_session(env)?;
    run.commands.push(format!(
        "# another process listens on 127.0.0.1:{port} (and [::1]:{port})\n{}",
        client.reproduce(Step::InSessionLogin {
            server: SERVER_NAME,
            allow_tools: false,
            then: "open the URL it prints",
        })
    ));
    let result = slash_mcp_auth(run, client, env, &mut session);
    run.final_screen = session.screen();
    session.terminate();
    let end = match result {
        Ok(auth) => {
            let end = LoginEnd::Reported {
                succeeded: auth.succeeded,
                message: format!("{} | screen: {}", auth.client_message, run.final_screen),
            };
            run.auth = Some(auth);
            end
        }
        // The driver's bounded waits ran out: the client neither finished nor said why.
        Err(e @ (DriveError::Timeout { .. } | DriveError::Browser(_))) => LoginEnd::TimedOut {
            what: e.to_string(),
            screen: run.final_screen.clone(),
        },
        Err(e) => return Err(e),
    };
    let log = run.mock.received_requests()?;
    run.checks.push(port_conflict_handled(&log, port, &end));
    Ok(())
}
