//! `headless_then_session` (failure class 4, headless and interactive agreeing, the direction
//! `print_after_auth` does not cover): a headless run with no tokens meets the 401 first (the
//! client may mark the server as needing authentication in its own cache), then the client logs
//! in without a session — at that 401 by itself where it does (as `stored_token_rerun`'s first
//! run), else through its login command — and then an interactive session in the same home must
//! connect with the stored token and list tools without authorizing again. The mark the headless
//! run left must not hold the session back.
//!
//! Rules: MCP Authorization › "Token Handling" (a client uses the tokens it holds for the server),
//! OAuth 2.1 §4.3.1 (stored tokens are refreshed, not re-obtained through a new consent).

use mock_server::discovery::Credentials;
use mock_server::{AccessRecord, Phase};

use crate::checks::{self, Check, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, SessionOptions, Step};
use crate::drive::browser::ScriptedBrowser;
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{
    add_server, login_path_absent, settle, status_check, Ctx, Grace, Run, FOLLOW_UP_QUIET,
    RECONNECT_TIMEOUT, SERVER_NAME,
};
use crate::scenarios::stored_token_rerun::stored_token_reused;

pub const DEF: ScenarioDef = ScenarioDef {
    name: "headless_then_session",
    describe: "a headless run meets the 401 without tokens, the client logs in without a session (at the 401 or with its login command), then an interactive session in the same home must list tools with the stored token, not authorize again, and not be held back by a needs-auth mark",
    // The login command, unless the client logs in by itself at the 401: see [`login_path_for`].
    login_path: LoginPath::LoginCommand,
    is_reconnect_check: false,
    credentials: Credentials::Oauth,
    login_state: None,
    faults: no_faults,
    drive,
};

/// The session's first MCP request carried a bearer: it started from the stored token.
pub const SESSION_USED_STORED_TOKEN: &str = "session-used-stored-token";
/// The session listed tools with a bearer.
pub const SESSION_LISTED_TOOLS: &str = "session-listed-tools";

const PROMPT: &str = "Say hello.";

/// The login path `scenario` takes on `client`: its own, except this story's, which takes
/// whichever login without a session the client has, as `stored_token_rerun` and `login_then_list`
/// do: at the 401 by itself where it does (Gemini CLI, Qwen Code), else the login command. The
/// run's gate and its report use it, so a client with neither earns "not applicable" with the
/// login command's evidence.
pub(crate) fn login_path_for(
    scenario: crate::scenarios::Scenario,
    client: &dyn ClientUnderTest,
    env: &crate::clients::RunEnv<'_>,
) -> Result<LoginPath, DriveError> {
    if scenario.name() != DEF.name {
        return Ok(scenario.login_path());
    }
    Ok(
        match client.has_login_path(env, LoginPath::AutomaticAtConnect)? {
            Ok(()) => LoginPath::AutomaticAtConnect,
            Err(_) => LoginPath::LoginCommand,
        },
    )
}

/// MCP Authorization › "Token Handling": a process that holds tokens for the server sends one
/// from its first request. Judged on the first MCP request among `later` (the session's).
pub fn session_used_stored_token(later: &[&AccessRecord]) -> Check {
    match later.iter().find(|r| r.phase == Phase::Mcp) {
        Some(first) if checks::is_authenticated(first) => Check::pass(
            SESSION_USED_STORED_TOKEN,
            "the session's first MCP request carried the stored token",
            vec![checks::evidence_line(first)],
        ),
        Some(first) => Check::fail(
            SESSION_USED_STORED_TOKEN,
            "the session's first MCP request carried no valid token: it did not start from the stored one",
            vec![checks::evidence_line(first)],
        ),
        None => Check::fail(
            SESSION_USED_STORED_TOKEN,
            "the session sent no MCP request at all (held back by a needs-authentication mark, or not connecting)",
            vec![format!("{} request(s) during the session", later.len())],
        ),
    }
}

/// The session listed the server's tools with a bearer (200).
pub fn session_listed_tools(later: &[&AccessRecord]) -> Check {
    let list = later.iter().find(|r| {
        r.phase == Phase::Mcp
            && r.rpc_method.as_deref() == Some("tools/list")
            && checks::is_authenticated(r)
            && r.status == 200
    });
    match list {
        Some(list) => Check::pass(
            SESSION_LISTED_TOOLS,
            "the session listed tools with the stored token",
            vec![checks::evidence_line(list)],
        ),
        None => {
            let mut evidence: Vec<String> = later
                .iter()
                .filter(|r| r.phase == Phase::Mcp)
                .map(|r| checks::evidence_line(r))
                .collect();
            evidence.push(format!("{} request(s) during the session", later.len()));
            Check::fail(
                SESSION_LISTED_TOOLS,
                "the session did not list tools with the stored token",
                evidence,
            )
        }
    }
}

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    // The story ends in an interactive session: a client without one (the reference clients)
    // earns "not applicable" with its own evidence before anything runs.
    if login_path_absent(run, client, env, LoginPath::SlashMcp)? {
        return Ok(());
    }
    add_server(run, client, env)?;
    let options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    let at_connect = login_path_for(run.scenario, client, env)? == LoginPath::AutomaticAtConnect;
    // The headless run that meets the 401 with no tokens. A client that logs in there by itself
    // does so now, and that run is the login too.
    let headless = if at_connect {
        client.login_at_connect(env, SERVER_NAME, PROMPT, &options)?
    } else {
        client.print_mode(env, SERVER_NAME, PROMPT, &options)?
    };
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: PROMPT,
    }));
    settle(run.mock, RECONNECT_TIMEOUT, Grace::ProcessEnded, |_| true)?;
    let marked = client.needs_auth_state(env, SERVER_NAME)?;
    run.commands.push(format!(
        "# after the headless run: the needs-auth state names {SERVER_NAME}: {} ({})",
        marked.names_server, marked.evidence
    ));
    let mut login_screen = String::new();
    if !at_connect {
        let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
        browser.skip_logged();
        let (auth, screen) = client.login_command(env, SERVER_NAME, &mut browser)?;
        run.commands.push(client.reproduce(Step::LoginCommand {
            server: SERVER_NAME,
            note: "after the headless run met the 401",
        }));
        login_screen = screen;
        run.checks.push(crate::scenarios::steps::login_check(
            "login-succeeded",
            "the login command",
            &auth,
        ));
        run.auth = Some(auth);
    }
    settle(run.mock, RECONNECT_TIMEOUT, Grace::ProcessEnded, |_| true)?;
    let log = run.mock.received_requests()?;
    run.checks.push(checks::token_exchanged(&log));
    if ctx.options.plant_needs_auth {
        client.plant_needs_auth(env, SERVER_NAME)?;
        run.commands.push(format!(
            "# fault: the needs-auth state was made to name {SERVER_NAME} before the session"
        ));
    }
    let before_session = client.needs_auth_state(env, SERVER_NAME)?;

    let boundary = log.last().map(|r| r.seq).unwrap_or(0);
    let mut session = client.start_session_with(env, &options)?;
    run.commands.push(client.reproduce(Step::SessionPrompt {
        server: SERVER_NAME,
        prompt: "(none: the session only connects)",
    }));
    let waited = settle(
        run.mock,
        RECONNECT_TIMEOUT,
        Grace::Quiet(FOLLOW_UP_QUIET),
        |log| {
            let later: Vec<&AccessRecord> = log.iter().filter(|r| r.seq > boundary).collect();
            session_listed_tools(&later).verdict == Verdict::Pass
        },
    );
    let session_screen = session.screen();
    let left = client.exit_session(&mut session);
    session.terminate();
    waited?;
    left?;
    let log = run.mock.received_requests()?;
    let later: Vec<&AccessRecord> = log.iter().filter(|r| r.seq > boundary).collect();
    let mut used = session_used_stored_token(&later);
    used.evidence.push(format!(
        "after the headless run, the needs-auth state named {SERVER_NAME}: {} ({})",
        marked.names_server, marked.evidence
    ));
    used.evidence.push(format!(
        "before the session, the needs-auth state named {SERVER_NAME}: {} ({})",
        before_session.names_server, before_session.evidence
    ));
    run.checks.push(used);
    run.checks.push(session_listed_tools(&later));
    run.checks.push(stored_token_reused(&later));
    // The client's own word after both modes: a fresh status process must find it connected.
    let status = client.server_status(env, SERVER_NAME)?;
    run.commands.push(client.reproduce(Step::ServerStatus));
    run.checks
        .push(status_check("connected-after-session", &status, true));
    run.final_screen = format!(
        "--- the headless run ---\n{}\n--- the login command ---\n{login_screen}\n--- the session ---\n{session_screen}",
        headless.output
    );
    run.print = Some(headless);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_server::Bearer;

    fn record(seq: u64, rpc: Option<&str>, bearer: Bearer, status: u16) -> AccessRecord {
        let mut r = crate::checks::test_record(seq, "POST", mock_server::paths::MCP, status);
        r.rpc_method = rpc.map(str::to_owned);
        r.bearer = bearer;
        r
    }

    fn valid() -> Bearer {
        Bearer::Valid {
            token_id: "t1".to_owned(),
        }
    }

    #[test]
    fn a_session_that_starts_with_the_stored_token_and_lists_tools_passes() {
        let init = record(1, Some("initialize"), valid(), 200);
        let list = record(2, Some("tools/list"), valid(), 200);
        let later = [&init, &list];
        assert_eq!(session_used_stored_token(&later).verdict, Verdict::Pass);
        assert_eq!(session_listed_tools(&later).verdict, Verdict::Pass);
    }

    #[test]
    fn a_session_that_starts_without_a_token_or_sends_nothing_fails() {
        // The negative controls: a first request with no bearer (the session ignored the stored
        // token, 401) and a session held back entirely (no MCP request).
        let bare = record(1, Some("initialize"), Bearer::None, 401);
        let check = session_used_stored_token(&[&bare]);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert_eq!(session_listed_tools(&[&bare]).verdict, Verdict::Fail);
        assert_eq!(session_used_stored_token(&[]).verdict, Verdict::Fail);
        assert_eq!(session_listed_tools(&[]).verdict, Verdict::Fail);
        // A listing refused with 401 is not a listing.
        let refused = record(2, Some("tools/list"), Bearer::None, 401);
        assert_eq!(session_listed_tools(&[&refused]).verdict, Verdict::Fail);
    }
}
