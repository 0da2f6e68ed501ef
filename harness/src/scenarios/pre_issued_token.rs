//! `pre_issued_token`: mcp add → mcp list, the server's authorization never run: the recording
//! proxy adds a token given to the harness (`harness run --server <url> --bearer-file <file>`)
//! to every MCP request. For a server whose sign-in cannot be scripted: is the client connected,
//! and did it list the tools with the token? Not in [`super::Scenario::ALL`]: it needs a proxy
//! that holds a token, so `--bearer-file` runs it (and only it).

use std::time::Duration;

use mock_server::Phase;

use crate::checks::{self, Check};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, Step};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{add_server, settle, status_check, Ctx, Grace, Run, SERVER_NAME};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "pre_issued_token",
    describe:
        "mcp add → mcp list with a pre-issued token the proxy adds (--bearer-file; no OAuth flow)",
    // The client's own `mcp list` is the step; no login path of the client's is used, but the
    // runner asks for one: the command-line one is the nearest.
    login_path: LoginPath::LoginCommand,
    is_reconnect_check: false,
    faults: no_faults,
    // The token is a bearer the proxy adds; the server behind it is OAuth's.
    credentials: mock_server::discovery::Credentials::Oauth,
    login_state: None,
    drive,
};

pub const CONNECTED: &str = "connected-with-pre-issued-token";
pub const TOOLS_LISTED: &str = "tools-listed-with-pre-issued-token";

/// A `tools/list` the server answered 200 to a request that carried a bearer it accepted.
fn listed_with_token(log: &[mock_server::AccessRecord]) -> Option<&mock_server::AccessRecord> {
    log.iter().find(|r| {
        r.phase == Phase::Mcp
            && r.rpc_method.as_deref() == Some("tools/list")
            && r.status == 200
            && checks::is_authenticated(r)
    })
}

pub fn tools_listed_check(log: &[mock_server::AccessRecord]) -> Check {
    match listed_with_token(log) {
        Some(r) => Check::pass(
            TOOLS_LISTED,
            "the client listed the server's tools with the pre-issued token",
            vec![checks::evidence_line(r)],
        ),
        None => Check::fail(
            TOOLS_LISTED,
            "no tools/list with an accepted bearer was answered 200",
            log.iter()
                .filter(|r| r.phase == Phase::Mcp)
                .map(checks::evidence_line)
                .collect(),
        ),
    }
}

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    add_server(run, client, env)?;
    let status = client.server_status(env, SERVER_NAME)?;
    run.commands.push(client.reproduce(Step::ServerStatus));
    run.checks.push(status_check(CONNECTED, &status, true));
    settle(
        run.mock,
        Duration::from_secs(5),
        Grace::ProcessEnded,
        |log| listed_with_token(log).is_some(),
    )?;
    let log = run.mock.received_requests()?;
    run.checks.push(tools_listed_check(&log));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;
    use mock_server::Bearer;

    fn list(bearer: Bearer, status: u16) -> mock_server::AccessRecord {
        let mut r = crate::proxy::record::blank("POST", "/mcp", Phase::Mcp);
        r.rpc_method = Some("tools/list".into());
        r.bearer = bearer;
        r.status = status;
        r
    }

    #[test]
    fn tools_count_as_listed_only_with_an_accepted_bearer() {
        let valid = Bearer::Valid {
            token_id: "at-1".into(),
        };
        assert_eq!(
            tools_listed_check(&[list(valid.clone(), 200)]).verdict,
            Verdict::Pass
        );
        assert_eq!(
            tools_listed_check(&[list(Bearer::None, 200)]).verdict,
            Verdict::Fail
        );
        assert_eq!(
            tools_listed_check(&[list(Bearer::Unknown, 401)]).verdict,
            Verdict::Fail
        );
    }
}
