//! `stored_token_rerun`: a headless run with no tokens logs in at the 401 by itself (as in
//! `login_at_connect`); then a second headless run in the same HOME must connect and list tools
//! with the stored token, without authorizing again. Stored tokens used by a new process: not a
//! reconnect check. A client that never logs in by itself earns "not applicable" with its evidence.

use mock_server::discovery::Credentials;
use mock_server::{AccessRecord, Phase};

use crate::checks::{self, Check, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, SessionOptions, Step};
use crate::scenarios::agent::PRINT_MODE_CONNECTS;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{
    add_server, settle, Ctx, Grace, Run, RECONNECT_TIMEOUT, SERVER_NAME,
};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "stored_token_rerun",
    describe: "a headless run logs in at the 401 by itself; a second run in the same home must list tools with the stored token and not authorize again",
    login_path: LoginPath::AutomaticAtConnect,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

/// The check that the second run did not go through the browser again.
pub const STORED_TOKEN_REUSED: &str = "stored-token-reused";

const PROMPT: &str = "Say hello.";

/// The second run used what the first stored: no authorization request and no
/// `authorization_code` exchange among `later` (the requests after the first run). (A refresh
/// would be fine; a new consent means the stored tokens were not used.)
pub fn stored_token_reused(later: &[&AccessRecord]) -> Check {
    let again: Vec<String> = later
        .iter()
        .filter(|r| {
            r.phase == Phase::Authorization
                || (r.phase == Phase::Token
                    && r.grant_type.as_deref() == Some("authorization_code"))
        })
        .map(|r| checks::evidence_line(r))
        .collect();
    if again.is_empty() {
        Check::pass(
            STORED_TOKEN_REUSED,
            "the second run authorized nothing anew: it used the stored tokens",
            vec![format!("{} request(s) in the second run", later.len())],
        )
    } else {
        Check::fail(
            STORED_TOKEN_REUSED,
            "the second run sent the person through authorization again instead of using the stored tokens",
            again,
        )
    }
}

/// The second run initialized (or discovered, 2026-07-28) and listed tools with a bearer, and
/// reported the server connected.
pub(crate) fn second_run_connects(later: &[&AccessRecord], status: Option<&str>) -> Check {
    let opened = later.iter().find(|r| {
        matches!(
            r.rpc_method.as_deref(),
            Some("initialize" | "server/discover")
        ) && checks::is_authenticated(r)
            && r.status == 200
    });
    let list = later.iter().find(|r| {
        r.rpc_method.as_deref() == Some("tools/list")
            && checks::is_authenticated(r)
            && r.status == 200
    });
    let mut evidence = vec![format!(
        "the second run: status of {SERVER_NAME} = {}",
        status.unwrap_or("(not reported)")
    )];
    evidence.extend(opened.map(|r| checks::evidence_line(r)));
    evidence.extend(list.map(|r| checks::evidence_line(r)));
    if status == Some("connected") && opened.is_some() && list.is_some() {
        Check::pass(
            PRINT_MODE_CONNECTS,
            "the second run connected and listed tools with the stored token",
            evidence,
        )
    } else {
        evidence.push(format!(
            "server saw {} request(s) during the second run",
            later.len()
        ));
        Check::fail(
            PRINT_MODE_CONNECTS,
            "the second run did not connect and list tools with the stored token",
            evidence,
        )
    }
}

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    add_server(run, client, env)?;
    let options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    // The login at connect, as `login_at_connect` drives it (a client that does it only when its
    // TUI starts gets its TUI here); the second run is headless for every client.
    let first = client.login_at_connect(env, SERVER_NAME, PROMPT, &options)?;
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: PROMPT,
    }));
    settle(run.mock, RECONNECT_TIMEOUT, Grace::ProcessEnded, |log| {
        checks::tools_listed_after_token(log).verdict == Verdict::Pass
    })?;
    let log = run.mock.received_requests()?;
    run.checks.push(checks::token_exchanged(&log));
    run.checks.push(checks::tools_listed_after_token(&log));
    if ctx.options.plant_needs_auth {
        client.plant_needs_auth(env, SERVER_NAME)?;
        run.commands.push(format!(
            "# fault: the client's stored tokens for {SERVER_NAME} were removed before the second run"
        ));
    }
    let boundary = log.last().map(|r| r.seq).unwrap_or(0);
    let second = client.print_mode(env, SERVER_NAME, PROMPT, &options)?;
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: PROMPT,
    }));
    settle(run.mock, RECONNECT_TIMEOUT, Grace::ProcessEnded, |_| true)?;
    let log = run.mock.received_requests()?;
    let later: Vec<&AccessRecord> = log.iter().filter(|r| r.seq > boundary).collect();
    run.checks
        .push(second_run_connects(&later, second.server_status.as_deref()));
    run.checks.push(stored_token_reused(&later));
    run.checks.push(checks::bearer_on_every_request(&log, None));
    run.final_screen = format!(
        "--- the first run ---\n{}\n--- the second run ---\n{}",
        first.output, second.output
    );
    run.print = Some(second);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_server::Bearer;

    fn record(seq: u64, path: &str, grant: Option<&str>) -> AccessRecord {
        AccessRecord {
            seq,
            at_ms: seq,
            method: "GET".to_owned(),
            path: path.to_owned(),
            phase: Phase::of_path(path),
            rpc_method: None,
            rpc_id: None,
            rpc_kind: None,
            tool_name: None,
            grant_type: grant.map(str::to_owned),
            client_id: None,
            bearer: Bearer::None,
            session_id: None,
            protocol_version: None,
            accept: None,
            user_agent: None,
            status: 200,
            error: None,
            meta_protocol_version: None,
            meta_client_capabilities: false,
            mcp_method_header: None,
            modern: false,
            negotiated: None,
            on_authorization_server: false,
            resource: None,
            redirect_uri: None,
            fault: None,
            api_key: None,
        }
    }

    #[test]
    fn a_second_run_that_authorizes_again_fails_and_a_refresh_does_not() {
        let refresh = record(10, mock_server::paths::TOKEN, Some("refresh_token"));
        assert_eq!(stored_token_reused(&[&refresh]).verdict, Verdict::Pass);
        // The negative control: a consent and a code exchange in the second run.
        let authorize = record(11, mock_server::paths::AUTHORIZE, None);
        let exchange = record(12, mock_server::paths::TOKEN, Some("authorization_code"));
        let check = stored_token_reused(&[&refresh, &authorize, &exchange]);
        assert_eq!(check.verdict, Verdict::Fail);
        assert_eq!(check.evidence.len(), 2, "{check:?}");
    }
}
