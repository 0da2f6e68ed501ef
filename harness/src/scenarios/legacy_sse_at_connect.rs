//! `legacy_sse_at_connect`: failure class 7 on the other login path. The server speaks only the
//! older HTTP+SSE transport, as in `legacy_sse_only`; here the client logs in by itself when it
//! meets the 401 in one headless run (as in `login_at_connect`), and the same process must then
//! fall back and reach the tools over the old transport. It exists for the clients without an
//! in-session login (MCP Inspector's CLI, mcp-remote, whose `--transport http-first` default is
//! this very fallback); a client without either path is not applicable by its login path.

use mock_server::discovery::Credentials;

use crate::checks::{legacy_transport, token_exchanged, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::def::ScenarioDef;
use crate::scenarios::login_state::LoginState;
use crate::scenarios::steps::{Ctx, Run};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "legacy_sse_at_connect",
    describe: "a server that speaks only the older HTTP+SSE transport (2024-11-05); one headless run with no tokens: the client logs in at the 401, then POST gets 405 and the same process must GET the stream and POST initialize and tools/list to its endpoint URL",
    login_path: LoginPath::AutomaticAtConnect,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: Some(LoginState::Cold),
    faults: crate::scenarios::legacy_sse_only::legacy_only,
    drive,
};

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let log = crate::scenarios::login_at_connect::headless_login(run, client, ctx, |log| {
        legacy_transport::fell_back_to_sse(log).verdict == Verdict::Pass
    })?;
    run.checks.push(token_exchanged(&log));
    run.checks
        .extend(legacy_transport::legacy_transport_checks(&log));
    Ok(())
}
